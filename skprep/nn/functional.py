r"""Pure forward/backward pairs of the activation normalization methods.

Every ``*_forward`` returns ``(output, cache)`` and the matching ``*_backward``
takes the upstream gradient and that cache. Nothing here keeps state: running
statistics, parameters and modes live in :mod:`skprep.nn.layers`.

All normalizations share one core. With statistics over a set of axes,

.. math::

    \hat{x} = (x - \mu)\,/\sqrt{\sigma^2 + \epsilon}, \qquad
    \frac{\partial L}{\partial x} = \frac{1}{\sqrt{\sigma^2 + \epsilon}}
    \Big(g - \overline{g} - \hat{x}\,\overline{g\,\hat{x}}\Big),

where :math:`g = \partial L / \partial \hat{x}` and the bars are means over the
same axes. Batch norm takes them over everything but the channel axis, layer norm
over the trailing axes, group norm over channel groups of one sample, instance
norm over the spatial axes of one sample and channel.

Arrays are computed in the dtype of ``x``: float32 input gives float32 output and
gradients.
"""

import numpy as np

__all__ = [
    "batch_norm_backward",
    "batch_norm_forward",
    "group_norm_backward",
    "group_norm_forward",
    "instance_norm_backward",
    "instance_norm_forward",
    "layer_norm_backward",
    "layer_norm_forward",
    "linear_backward",
    "linear_forward",
    "weight_norm_backward",
    "weight_norm_forward",
]


# --- the shared core ------------------------------------------------------------------


def _mean_of_product(a, b, axes):
    """``np.mean(a * b, axis=axes, keepdims=True)`` without the full-size product."""
    letters = "abcdefghijklmnopqrstuvwxyz"[: a.ndim]
    kept = "".join(letters[i] for i in range(a.ndim) if i not in axes)
    total = np.einsum(f"{letters},{letters}->{kept}", a, b, optimize=False)
    count = np.prod([a.shape[i] for i in axes])
    shape = tuple(1 if i in axes else a.shape[i] for i in range(a.ndim))
    return (total / count).reshape(shape).astype(a.dtype, copy=False)


def _normalize(x, axes, eps):
    """Standardise ``x`` over ``axes``; return x_hat, mean, biased var, 1/std."""
    mean = x.mean(axis=axes, keepdims=True)
    centred = x - mean
    var = _mean_of_product(centred, centred, axes)
    inv_std = 1.0 / np.sqrt(var + eps)
    centred *= inv_std  # reuse the buffer: it becomes x_hat
    return centred, mean, var, inv_std


def _normalize_backward(d_xhat, x_hat, inv_std, axes):
    """Gradient through the standardisation, given dL/dx_hat."""
    mean_d = d_xhat.mean(axis=axes, keepdims=True)
    mean_dx = _mean_of_product(d_xhat, x_hat, axes)
    dx = d_xhat - mean_d
    dx -= x_hat * mean_dx
    dx *= inv_std
    return dx


def _channel_shape(x):
    """Broadcast shape of a per-channel vector against ``x`` of shape (N, C, ...)."""
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def _as(param, dtype, shape=None):
    if param is None:
        return None
    param = np.asarray(param, dtype=dtype)
    return param if shape is None else param.reshape(shape)


def _affine(x_hat, gamma, beta):
    y = x_hat * gamma if gamma is not None else x_hat.copy()
    if beta is not None:
        y += beta
    return y


def _check_channels(x, num_channels, name):
    if x.ndim < 2:
        raise ValueError(
            f"{name} expects input of shape (N, C, ...) with at least 2 dimensions; "
            f"got shape {x.shape}."
        )
    if num_channels is not None and x.shape[1] != num_channels:
        raise ValueError(
            f"{name} expects {num_channels} channels on axis 1; got {x.shape[1]} "
            f"(input shape {x.shape})."
        )


# --- batch normalization --------------------------------------------------------------


def batch_norm_forward(
    x, gamma, beta, *, eps=1e-5, training=True, running_mean=None, running_var=None
):
    r"""Batch normalization: statistics per channel over the batch and spatial axes.

    Parameters
    ----------
    x : ndarray of shape (N, C) or (N, C, \*spatial)
    gamma, beta : ndarray of shape (C,) or None
        Affine parameters; None skips the scale or the shift.
    eps : float, default=1e-5
        Added to the variance.
    training : bool, default=True
        True: normalise with the batch mean and biased batch variance. False:
        with ``running_mean`` and ``running_var`` (required then), a single
        fused affine pass.
    running_mean, running_var : ndarray of shape (C,) or None
        Statistics for ``training=False``.

    Returns
    -------
    y : ndarray like ``x``
    cache : dict
        For :func:`batch_norm_backward`; in training mode ``cache["mean"]`` and
        ``cache["var"]`` (shape (C,), biased) and ``cache["count"]`` (elements per
        channel) let a layer update running statistics.

    Examples
    --------
    >>> import numpy as np
    >>> from skprep.nn.functional import batch_norm_forward, batch_norm_backward
    >>> x = np.array([[1.0, 10.0], [3.0, 30.0]])
    >>> y, cache = batch_norm_forward(x, np.ones(2), np.zeros(2), eps=0.0)
    >>> y
    array([[-1., -1.],
           [ 1.,  1.]])
    >>> dx, dgamma, dbeta = batch_norm_backward(np.ones_like(x), cache)
    >>> dbeta
    array([2., 2.])
    """
    _check_channels(x, None if gamma is None else np.shape(gamma)[0], "batch norm")
    shape = _channel_shape(x)
    axes = (0,) + tuple(range(2, x.ndim))
    g = _as(gamma, x.dtype, shape)
    b = _as(beta, x.dtype, shape)
    if not training:
        if running_mean is None or running_var is None:
            raise ValueError("Evaluation mode needs running_mean and running_var.")
        inv_std = (1.0 / np.sqrt(np.asarray(running_var, dtype=x.dtype) + eps)).reshape(
            shape
        )
        mean = np.asarray(running_mean, dtype=x.dtype).reshape(shape)
        scale = inv_std if g is None else inv_std * g
        shift = -mean * scale if b is None else b - mean * scale
        y = x * scale
        y += shift
        cache = {
            "mode": "eval",
            "x": x,
            "mean": mean,
            "inv_std": inv_std,
            "gamma": g,
            "has_beta": b is not None,
            "axes": axes,
        }
        return y, cache
    count = x.size // x.shape[1]
    if count < 2:
        raise ValueError(
            "Expected more than 1 value per channel when training (batch size "
            f"{x.shape[0]}, input shape {x.shape}); batch statistics of one value "
            "are undefined."
        )
    x_hat, mean, var, inv_std = _normalize(x, axes, eps)
    y = _affine(x_hat, g, b)
    cache = {
        "mode": "train",
        "x_hat": x_hat,
        "inv_std": inv_std,
        "gamma": g,
        "has_beta": b is not None,
        "axes": axes,
        "mean": mean.reshape(-1),
        "var": var.reshape(-1),
        "count": count,
    }
    return y, cache


def batch_norm_backward(dy, cache):
    """Gradients of :func:`batch_norm_forward`.

    Parameters
    ----------
    dy : ndarray like the forward output
    cache : dict from :func:`batch_norm_forward`

    Returns
    -------
    dx : ndarray like ``dy``
    dgamma, dbeta : ndarray of shape (C,) or None
        None for an absent affine parameter.
    """
    axes, g = cache["axes"], cache["gamma"]
    if cache["mode"] == "eval":
        x_hat = (cache["x"] - cache["mean"]) * cache["inv_std"]
        scale = cache["inv_std"] if g is None else cache["inv_std"] * g
        dx = dy * scale
    else:
        x_hat = cache["x_hat"]
        dx = _normalize_backward(
            dy if g is None else dy * g, x_hat, cache["inv_std"], axes
        )
    dgamma = None if g is None else np.sum(dy * x_hat, axis=axes)
    dbeta = np.sum(dy, axis=axes) if cache["has_beta"] else None
    return dx, dgamma, dbeta


# --- layer normalization --------------------------------------------------------------


def layer_norm_forward(x, gamma, beta, *, normalized_ndim=1, eps=1e-5):
    """Layer normalization: statistics over the trailing ``normalized_ndim`` axes.

    Parameters
    ----------
    x : ndarray of shape (\\*leading, \\*normalized_shape)
    gamma, beta : ndarray of shape normalized_shape or None
        Elementwise affine parameters.
    normalized_ndim : int, default=1
        How many trailing axes form one normalised group.
    eps : float, default=1e-5

    Returns
    -------
    y : ndarray like ``x``
    cache : dict
        ``cache["mean"]`` and ``cache["var"]`` have shape ``leading``.

    Examples
    --------
    >>> import numpy as np
    >>> from skprep.nn.functional import layer_norm_forward
    >>> y, _ = layer_norm_forward(np.array([[1.0, 3.0], [10.0, 30.0]]), None, None,
    ...                           eps=0.0)
    >>> y
    array([[-1.,  1.],
           [-1.,  1.]])
    """
    if not 1 <= normalized_ndim <= x.ndim:
        raise ValueError(
            f"normalized_ndim must be between 1 and x.ndim={x.ndim}; "
            f"got {normalized_ndim}."
        )
    axes = tuple(range(x.ndim - normalized_ndim, x.ndim))
    trailing = x.shape[x.ndim - normalized_ndim :]
    for name, p in (("gamma", gamma), ("beta", beta)):
        if p is not None and np.shape(p) != trailing:
            raise ValueError(
                f"layer norm {name} has shape {np.shape(p)}, but the normalised "
                f"trailing shape of the input is {trailing}."
            )
    x_hat, mean, var, inv_std = _normalize(x, axes, eps)
    g, b = _as(gamma, x.dtype), _as(beta, x.dtype)
    y = _affine(x_hat, g, b)
    lead = x.shape[: x.ndim - normalized_ndim]
    cache = {
        "x_hat": x_hat,
        "inv_std": inv_std,
        "gamma": g,
        "has_beta": b is not None,
        "axes": axes,
        "mean": mean.reshape(lead),
        "var": var.reshape(lead),
    }
    return y, cache


def layer_norm_backward(dy, cache):
    """Gradients of :func:`layer_norm_forward`: ``(dx, dgamma, dbeta)``."""
    axes, g, x_hat = cache["axes"], cache["gamma"], cache["x_hat"]
    dx = _normalize_backward(dy if g is None else dy * g, x_hat, cache["inv_std"], axes)
    leading = tuple(range(dy.ndim - len(axes)))
    dgamma = None if g is None else np.sum(dy * x_hat, axis=leading)
    dbeta = np.sum(dy, axis=leading) if cache["has_beta"] else None
    return dx, dgamma, dbeta


# --- group and instance normalization -------------------------------------------------


def group_norm_forward(x, gamma, beta, *, num_groups, eps=1e-5):
    """Group normalization: per sample, statistics over groups of channels.

    Parameters
    ----------
    x : ndarray of shape (N, C) or (N, C, \\*spatial)
    gamma, beta : ndarray of shape (C,) or None
        Per-channel affine parameters.
    num_groups : int
        Must divide C. ``num_groups=1`` is layer norm over (C, \\*spatial);
        ``num_groups=C`` is instance norm.
    eps : float, default=1e-5

    Returns
    -------
    y : ndarray like ``x``
    cache : dict
        ``cache["mean"]`` and ``cache["var"]`` have shape (N, num_groups).

    Examples
    --------
    >>> import numpy as np
    >>> from skprep.nn.functional import group_norm_forward
    >>> x = np.arange(8.0).reshape(1, 4, 2)
    >>> y, cache = group_norm_forward(x, None, None, num_groups=2)
    >>> cache["mean"]
    array([[1.5, 5.5]])
    """
    _check_channels(x, None, "group norm")
    n, c = x.shape[:2]
    if num_groups < 1 or c % num_groups:
        raise ValueError(
            f"num_groups={num_groups} must divide the number of channels C={c}."
        )
    grouped = x.reshape(n, num_groups, -1)
    x_hat, mean, var, inv_std = _normalize(grouped, (2,), eps)
    shape = _channel_shape(x)
    g, b = _as(gamma, x.dtype, shape), _as(beta, x.dtype, shape)
    x_hat = x_hat.reshape(x.shape)
    y = _affine(x_hat, g, b)
    cache = {
        "x_hat": x_hat,
        "inv_std": inv_std,
        "gamma": g,
        "has_beta": b is not None,
        "num_groups": num_groups,
        "mean": mean.reshape(n, num_groups),
        "var": var.reshape(n, num_groups),
    }
    return y, cache


def group_norm_backward(dy, cache):
    """Gradients of :func:`group_norm_forward`: ``(dx, dgamma, dbeta)``."""
    g, x_hat, groups = cache["gamma"], cache["x_hat"], cache["num_groups"]
    n = dy.shape[0]
    d_xhat = dy if g is None else dy * g
    dx = _normalize_backward(
        d_xhat.reshape(n, groups, -1),
        x_hat.reshape(n, groups, -1),
        cache["inv_std"],
        (2,),
    ).reshape(dy.shape)
    axes = (0,) + tuple(range(2, dy.ndim))
    dgamma = None if g is None else np.sum(dy * x_hat, axis=axes)
    dbeta = np.sum(dy, axis=axes) if cache["has_beta"] else None
    return dx, dgamma, dbeta


def instance_norm_forward(
    x,
    gamma,
    beta,
    *,
    eps=1e-5,
    use_input_stats=True,
    running_mean=None,
    running_var=None,
):
    """Instance normalization: per sample and channel, over the spatial axes.

    Parameters
    ----------
    x : ndarray of shape (N, C, \\*spatial), at least one spatial axis
    gamma, beta : ndarray of shape (C,) or None
    eps : float, default=1e-5
    use_input_stats : bool, default=True
        True: each instance's own statistics (group norm with one channel per
        group). False: per-channel ``running_mean``/``running_var``, as in
        evaluation mode with tracked statistics.
    running_mean, running_var : ndarray of shape (C,) or None

    Returns
    -------
    y : ndarray like ``x``
    cache : dict
        With input statistics, ``cache["mean"]`` and ``cache["var"]`` have shape
        (N, C).
    """
    _check_channels(x, None, "instance norm")
    if x.ndim < 3:
        raise ValueError(
            "instance norm expects (N, C, *spatial) with a spatial axis; "
            f"got shape {x.shape}."
        )
    if not use_input_stats:
        y, cache = batch_norm_forward(
            x,
            gamma,
            beta,
            eps=eps,
            training=False,
            running_mean=running_mean,
            running_var=running_var,
        )
        return y, {"kind": "running", "inner": cache}
    if int(np.prod(x.shape[2:])) < 2:
        raise ValueError(
            "Expected more than 1 spatial element per channel when using instance "
            f"statistics; got input shape {x.shape}."
        )
    y, cache = group_norm_forward(x, gamma, beta, num_groups=x.shape[1], eps=eps)
    return y, {
        "kind": "instance",
        "inner": cache,
        "mean": cache["mean"],
        "var": cache["var"],
    }


def instance_norm_backward(dy, cache):
    """Gradients of :func:`instance_norm_forward`: ``(dx, dgamma, dbeta)``."""
    if cache["kind"] == "running":
        return batch_norm_backward(dy, cache["inner"])
    return group_norm_backward(dy, cache["inner"])


# --- weight normalization and the dense layer -----------------------------------------


def weight_norm_forward(v, g, *, dim=0):
    r"""Weight normalization :math:`w = g\, v / \lVert v \rVert`.

    Parameters
    ----------
    v : ndarray
        Direction parameter, e.g. (out_features, in_features).
    g : ndarray of shape (v.shape[dim],), or a scalar when ``dim`` is None
        Magnitude parameter.
    dim : int or None, default=0
        Axis kept by the norm: ``dim=0`` gives one norm per output row (as in
        PyTorch); None normalises the whole tensor.

    Returns
    -------
    w : ndarray like ``v``
    cache : dict

    Examples
    --------
    >>> import numpy as np
    >>> from skprep.nn.functional import weight_norm_forward
    >>> v = np.array([[3.0, 4.0], [1.0, 0.0]])
    >>> w, _ = weight_norm_forward(v, np.array([10.0, 2.0]))
    >>> w
    array([[6., 8.],
           [2., 0.]])
    """
    if dim is None:
        axes = tuple(range(v.ndim))
        shape = (1,) * v.ndim
    else:
        dim = dim % v.ndim
        axes = tuple(a for a in range(v.ndim) if a != dim)
        shape = tuple(v.shape[dim] if a == dim else 1 for a in range(v.ndim))
    norm = np.sqrt(np.sum(v * v, axis=axes, keepdims=True))
    direction = v / norm
    g_b = np.reshape(np.asarray(g, dtype=v.dtype), shape)
    return g_b * direction, {
        "direction": direction,
        "norm": norm,
        "g": g_b,
        "axes": axes,
        "g_shape": np.shape(g),
    }


def weight_norm_backward(dw, cache):
    """Gradients of :func:`weight_norm_forward`: ``(dv, dg)``."""
    u, axes = cache["direction"], cache["axes"]
    dg = np.sum(dw * u, axis=axes, keepdims=True)
    dv = (cache["g"] / cache["norm"]) * (dw - u * dg)
    return dv, dg.reshape(cache["g_shape"])


def linear_forward(x, w, b):
    """Dense layer ``y = x @ w.T + b``.

    Parameters
    ----------
    x : ndarray of shape (N, in_features)
    w : ndarray of shape (out_features, in_features)
    b : ndarray of shape (out_features,) or None

    Returns
    -------
    y : ndarray of shape (N, out_features)
    cache : dict
    """
    w = np.asarray(w, dtype=x.dtype)
    y = x @ w.T
    if b is not None:
        y += np.asarray(b, dtype=x.dtype)
    return y, {"x": x, "w": w, "has_bias": b is not None}


def linear_backward(dy, cache):
    """Gradients of :func:`linear_forward`: ``(dx, dw, db)``."""
    dx = dy @ cache["w"]
    dw = dy.T @ cache["x"]
    db = dy.sum(axis=0) if cache["has_bias"] else None
    return dx, dw, db
