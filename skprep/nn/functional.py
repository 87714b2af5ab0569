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

Dtype policy, the same for every function here and every layer:

================  ==================  ===============  ======================
input dtype       computed in         output, ``dx``   parameter gradients
================  ==================  ===============  ======================
float64           float64             float64          float64
float32           float32             float32          float32
float16           float32             float16          float32
integer, bool     float64             float64          float64
other             TypeError           .                .
================  ==================  ===============  ======================

Statistics (means, variances, the backward's sums) are accumulated in float64
by the compiled kernels (numba, the ``fast`` extra) and in the working dtype by
the NumPy path, so never in float16; they are returned as float64. Integers are
computed in float64 rather than refused because NumPy's reductions and
scikit-learn treat them so, and images and counts arrive as integers; their
values are exact in float64 up to 2**53.
Parameters and running statistics are read as float64 whatever the input.
"""

import contextlib
import warnings

import numpy as np

from . import _core
from ._checks import check_int, check_real

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


def _prepare(x, name="x"):
    """``x`` as an array of its working dtype, and the dtype outputs take."""
    x = np.asarray(x)
    work = _core.working_dtype(x, name)
    out = x.dtype if x.dtype == np.float16 else work
    return x.astype(work, copy=False), out


def _table(param, layout, name, shape):
    """A parameter as the core's float64 (P, C) table, after checking its shape."""
    if param is None:
        return None
    param = np.asarray(param)
    _core.working_dtype(param, name)
    if param.shape != shape:
        raise ValueError(f"{name} has shape {param.shape}; expected {shape}.")
    return param.astype(np.float64).reshape(layout.P, layout.C)


def _forward(x, layout, gamma, beta, eps, out_dtype, stats=None, param_shape=None):
    """Normalise ``x`` (working dtype) with its own statistics, or with ``stats``
    = (mean, var) when given; return y and the cache of :func:`_backward`."""
    eps = check_real(eps, "eps", low=0.0)
    batch = stats is None
    mean, var = _core.statistics(x, layout) if batch else stats
    with np.errstate(divide="ignore"):
        inv_std = 1.0 / np.sqrt(var + eps)
    _warn_zero_variance(inv_std)
    with _zero_variance_said(inv_std):
        y = _core.normalize(x, layout, mean, inv_std, gamma, beta, out_dtype)
    cache = {
        "x": x,
        "layout": layout,
        "mean": mean,
        "var": var,
        "inv_std": inv_std,
        "gamma": gamma,
        "has_beta": beta is not None,
        "batch": batch,
        "out_dtype": out_dtype,
        "param_shape": param_shape,
    }
    return y, cache


def _warn_zero_variance(inv_std):
    """Warn once per call where ``var + eps`` is 0 (only with eps=0): PyTorch
    allows eps=0 and gives NaN or infinite outputs there, and so do we."""
    bad = np.flatnonzero(~np.isfinite(inv_std))
    if bad.size:
        warnings.warn(
            f"Zero variance with eps=0 in {bad.size} of {inv_std.size} normalised "
            f"groups (first: flat index {bad[0]}); their outputs and gradients "
            "are NaN or infinite, as in PyTorch. Use eps > 0 to avoid this.",
            RuntimeWarning,
            stacklevel=4,
        )


def _zero_variance_said(inv_std):
    """NumPy's own warnings silenced where the one above has been given: 0 * inf
    is NaN by intent there, and one warning per call is enough."""
    if np.isfinite(inv_std).all():
        return contextlib.nullcontext()
    return np.errstate(invalid="ignore", over="ignore")


def _backward(dy, cache):
    x = cache["x"]
    dy = np.asarray(dy)
    _core.working_dtype(dy, "dy")
    if dy.shape != x.shape:
        raise ValueError(
            f"dy has shape {dy.shape}; the forward output had shape {x.shape}."
        )
    with _zero_variance_said(cache["inv_std"]):
        dx, dgamma, dbeta = _core.backward(
            dy.astype(x.dtype, copy=False),
            x,
            cache["layout"],
            cache["mean"].reshape(-1),
            cache["inv_std"],
            cache["gamma"],
            batch_statistics=cache["batch"],
            out_dtype=cache["out_dtype"],
        )
    shape = cache["param_shape"]
    dgamma = None if cache["gamma"] is None else dgamma.reshape(shape).astype(x.dtype)
    dbeta = dbeta.reshape(shape).astype(x.dtype) if cache["has_beta"] else None
    return dx, dgamma, dbeta


def _check_channels(x, num_channels, name):
    if np.ndim(x) < 2:
        raise ValueError(
            f"{name} expects input of shape (N, C, ...) with at least 2 dimensions; "
            f"got shape {np.shape(x)}."
        )
    if num_channels is not None and np.shape(x)[1] != num_channels:
        raise ValueError(
            f"{name} expects {num_channels} channels on axis 1; got "
            f"{np.shape(x)[1]} (input shape {np.shape(x)})."
        )


def _spatial(x):
    return int(np.prod(x.shape[2:], dtype=np.int64))


# --- batch normalization --------------------------------------------------------------


def batch_norm_forward(
    x, gamma, beta, *, eps=1e-5, training=True, running_mean=None, running_var=None
):
    r"""Batch normalization: statistics per channel over the batch and spatial axes.

    Parameters
    ----------
    x : ndarray of shape (N, C) or (N, C, \*spatial)
        Any real dtype; see the module's dtype policy.
    gamma, beta : ndarray of shape (C,) or None
        Affine parameters; None skips the scale or the shift.
    eps : float, default=1e-5
        Added to the variance; must be >= 0. eps=0 is allowed, as in PyTorch: a
        zero variance then gives NaN or infinite outputs and a RuntimeWarning.
    training : bool, default=True
        True: normalise with the batch mean and biased batch variance. False:
        with ``running_mean`` and ``running_var`` (required then).
    running_mean, running_var : ndarray of shape (C,) or None
        Statistics for ``training=False``: finite, and the variance >= 0.

    Returns
    -------
    y : ndarray like ``x``
    cache : dict
        For :func:`batch_norm_backward`; ``cache["mean"]`` and ``cache["var"]``
        (float64, shape (C,); the batch's biased statistics in training mode)
        and ``cache["count"]`` (values per channel) let a layer update running
        statistics.

    Raises
    ------
    ValueError
        On a shape mismatch, in training mode with at most one value per
        channel (a batch variance of one value is undefined), or in evaluation
        mode with a NaN or infinite running statistic or a negative running
        variance (naming the argument and channel).
    TypeError
        On a dtype that is not real numbers.

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
    x, out = _prepare(x)
    _check_channels(x, None if gamma is None else np.shape(gamma)[0], "batch norm")
    n, c = x.shape[:2]
    layout = _core.Layout(n, c, 1, _spatial(x), c)
    g = _table(gamma, layout, "gamma", (c,))
    b = _table(beta, layout, "beta", (c,))
    if training:
        stats = None
        if layout.count < 2:
            raise ValueError(
                "Expected more than 1 value per channel when training (batch size "
                f"{n}, input shape {x.shape}); batch statistics of one value "
                "are undefined."
            )
    else:
        if running_mean is None or running_var is None:
            raise ValueError("Evaluation mode needs running_mean and running_var.")
        stats = (
            _running(running_mean, c, "running_mean"),
            _running(running_var, c, "running_var"),
        )
    y, cache = _forward(x, layout, g, b, eps, out, stats, (c,))
    cache["count"] = layout.count
    return y, cache


def _running(value, c, name):
    value = np.asarray(value, dtype=np.float64)
    if value.shape != (c,):
        raise ValueError(f"{name} has shape {value.shape}; expected ({c},).")
    if not np.isfinite(value).all():
        bad = int(np.flatnonzero(~np.isfinite(value))[0])
        raise ValueError(f"{name} is NaN or infinite for channel {bad}.")
    if name == "running_var" and (value < 0).any():
        bad = int(np.flatnonzero(value < 0)[0])
        raise ValueError(
            f"running_var is negative for channel {bad} ({value[bad]!r}); "
            "variances must be >= 0."
        )
    return value


def batch_norm_backward(dy, cache):
    """Gradients of :func:`batch_norm_forward`.

    Parameters
    ----------
    dy : ndarray like the forward output
    cache : dict from :func:`batch_norm_forward`

    Returns
    -------
    dx : ndarray like the forward output
    dgamma, dbeta : ndarray of shape (C,) or None
        In the working dtype (float32 for float16 and float32 input, float64
        otherwise); None for an absent affine parameter.
    """
    return _backward(dy, cache)


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
        Added to the variance; must be >= 0. eps=0 is allowed, as in PyTorch: a
        zero variance then gives NaN or infinite outputs and a RuntimeWarning.

    Returns
    -------
    y : ndarray like ``x``
    cache : dict
        ``cache["mean"]`` and ``cache["var"]`` (float64) have shape ``leading``.

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
    x, out = _prepare(x)
    normalized_ndim = check_int(normalized_ndim, "normalized_ndim")
    if not 1 <= normalized_ndim <= x.ndim:
        raise ValueError(
            f"normalized_ndim must be between 1 and x.ndim={x.ndim}; "
            f"got {normalized_ndim}."
        )
    lead = x.shape[: x.ndim - normalized_ndim]
    trailing = x.shape[x.ndim - normalized_ndim :]
    k = int(np.prod(trailing, dtype=np.int64))
    layout = _core.Layout(1, int(np.prod(lead, dtype=np.int64)), k, 1, 1)
    for name, p in (("gamma", gamma), ("beta", beta)):
        if p is not None and np.shape(p) != trailing:
            raise ValueError(
                f"layer norm {name} has shape {np.shape(p)}, but the normalised "
                f"trailing shape of the input is {trailing}."
            )
    g = _table(gamma, layout, "gamma", trailing)
    b = _table(beta, layout, "beta", trailing)
    y, cache = _forward(x, layout, g, b, eps, out, None, trailing)
    cache["mean"] = cache["mean"].reshape(lead)
    cache["var"] = cache["var"].reshape(lead)
    return y, cache


def layer_norm_backward(dy, cache):
    """Gradients of :func:`layer_norm_forward`: ``(dx, dgamma, dbeta)``."""
    return _backward(dy, cache)


# --- group and instance normalization -------------------------------------------------


def group_norm_forward(x, gamma, beta, *, num_groups, eps=1e-5):
    """Group normalization: per sample, statistics over groups of channels.

    Parameters
    ----------
    x : ndarray of shape (N, C) or (N, C, \\*spatial)
        N may be 0: the output is then empty too.
    gamma, beta : ndarray of shape (C,) or None
        Per-channel affine parameters.
    num_groups : int
        Must divide C. ``num_groups=1`` is layer norm over (C, \\*spatial);
        ``num_groups=C`` is instance norm.
    eps : float, default=1e-5
        Added to the variance; must be >= 0. eps=0 is allowed, as in PyTorch: a
        zero variance then gives NaN or infinite outputs and a RuntimeWarning.

    Returns
    -------
    y : ndarray like ``x``
    cache : dict
        ``cache["mean"]`` and ``cache["var"]`` (float64) have shape
        (N, num_groups).

    Examples
    --------
    >>> import numpy as np
    >>> from skprep.nn.functional import group_norm_forward
    >>> x = np.arange(8.0).reshape(1, 4, 2)
    >>> y, cache = group_norm_forward(x, None, None, num_groups=2)
    >>> cache["mean"]
    array([[1.5, 5.5]])
    """
    x, out = _prepare(x)
    _check_channels(x, None, "group norm")
    n, c = x.shape[:2]
    num_groups = check_int(num_groups, "num_groups")
    if c % num_groups:
        raise ValueError(
            f"num_groups={num_groups} must divide the number of channels C={c}."
        )
    layout = _core.Layout(1, n * num_groups, c // num_groups, _spatial(x), num_groups)
    g = _table(gamma, layout, "gamma", (c,))
    b = _table(beta, layout, "beta", (c,))
    y, cache = _forward(x, layout, g, b, eps, out, None, (c,))
    cache["mean"] = cache["mean"].reshape(n, num_groups)
    cache["var"] = cache["var"].reshape(n, num_groups)
    return y, cache


def group_norm_backward(dy, cache):
    """Gradients of :func:`group_norm_forward`: ``(dx, dgamma, dbeta)``."""
    return _backward(dy, cache)


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
        N may be 0: the output is then empty too.
    gamma, beta : ndarray of shape (C,) or None
    eps : float, default=1e-5
        Added to the variance; must be >= 0. eps=0 is allowed, as in PyTorch: a
        zero variance then gives NaN or infinite outputs and a RuntimeWarning.
    use_input_stats : bool, default=True
        True: each instance's own statistics (group norm with one channel per
        group). False: per-channel ``running_mean``/``running_var``, as in
        evaluation mode with tracked statistics.
    running_mean, running_var : ndarray of shape (C,) or None
        Finite, and the variance >= 0 (ValueError naming the channel otherwise).

    Returns
    -------
    y : ndarray like ``x``
    cache : dict
        With input statistics, ``cache["mean"]`` and ``cache["var"]`` (float64)
        have shape (N, C).
    """
    _check_channels(x, None, "instance norm")
    if np.ndim(x) < 3:
        raise ValueError(
            "instance norm expects (N, C, *spatial) with a spatial axis; "
            f"got shape {np.shape(x)}."
        )
    if not use_input_stats:
        return batch_norm_forward(
            x,
            gamma,
            beta,
            eps=eps,
            training=False,
            running_mean=running_mean,
            running_var=running_var,
        )
    if int(np.prod(np.shape(x)[2:])) < 2:
        raise ValueError(
            "Expected more than 1 spatial element per channel when using instance "
            f"statistics; got input shape {np.shape(x)}."
        )
    return group_norm_forward(x, gamma, beta, num_groups=np.shape(x)[1], eps=eps)


def instance_norm_backward(dy, cache):
    """Gradients of :func:`instance_norm_forward`: ``(dx, dgamma, dbeta)``."""
    return _backward(dy, cache)


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
    """Dense layer ``y = x @ w.T + b`` over the last axis, as ``torch.nn.Linear``.

    Parameters
    ----------
    x : ndarray of shape (\\*, in_features)
        Any number of leading axes (none: a single vector); any real dtype (see
        the dtype policy above).
    w : ndarray of shape (out_features, in_features)
    b : ndarray of shape (out_features,) or None

    Returns
    -------
    y : ndarray of shape (\\*, out_features)
        The leading axes of ``x`` kept.
    cache : dict

    Raises
    ------
    ValueError
        If ``x`` is 0-d or its last axis is not ``in_features``, or ``w`` or
        ``b`` has the wrong shape (naming the argument and the shapes).
    TypeError
        On a dtype that is not real numbers.
    """
    x, out = _prepare(x)
    w = np.asarray(w)
    _core.working_dtype(w, "w")
    if w.ndim != 2:
        raise ValueError(
            f"w must have shape (out_features, in_features); got {w.shape}."
        )
    n_out, n_in = w.shape
    if x.ndim < 1 or x.shape[-1] != n_in:
        raise ValueError(f"linear expects x of shape (*, {n_in}); got shape {x.shape}.")
    if b is not None and np.shape(b) != (n_out,):
        raise ValueError(f"b has shape {np.shape(b)}; expected ({n_out},).")
    w = w.astype(x.dtype, copy=False)
    rows = x.reshape(-1, n_in)  # the leading axes as one batch axis
    y = rows @ w.T
    if b is not None:
        y += np.asarray(b, dtype=x.dtype)
    y = y.reshape(x.shape[:-1] + (n_out,))
    return y.astype(out, copy=False), {
        "x": rows,
        "x_shape": x.shape,
        "w": w,
        "has_bias": b is not None,
        "out_dtype": out,
    }


def linear_backward(dy, cache):
    """Gradients of :func:`linear_forward`.

    Parameters
    ----------
    dy : ndarray of shape (\\*, out_features)
        Shaped like the forward output.
    cache : dict from :func:`linear_forward`

    Returns
    -------
    dx : ndarray of shape (\\*, in_features)
    dw : ndarray of shape (out_features, in_features)
        Summed over every leading axis.
    db : ndarray of shape (out_features,) or None
    """
    dy = np.asarray(dy)
    _core.working_dtype(dy, "dy")
    x, w = cache["x"], cache["w"]
    expected = cache["x_shape"][:-1] + (w.shape[0],)
    if dy.shape != expected:
        raise ValueError(
            f"dy has shape {dy.shape}; the forward output had shape {expected}."
        )
    dy = dy.astype(x.dtype, copy=False).reshape(-1, w.shape[0])
    dx = (dy @ w).reshape(cache["x_shape"])
    dw = dy.T @ x
    db = dy.sum(axis=0) if cache["has_bias"] else None
    return dx.astype(cache["out_dtype"], copy=False), dw, db
