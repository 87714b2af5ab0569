"""Stateful normalization layers: parameters, gradients, running statistics, modes.

Each layer is a thin shell over a forward/backward pair of
:mod:`skprep.nn.functional`. Names and defaults follow PyTorch's documented
layers (``eps=1e-5``, ``momentum=0.1``, ``running = (1 - momentum) * running +
momentum * batch`` with the unbiased batch variance, ``momentum=None`` for a
cumulative average), so parameters and running statistics can move between the
two through ``state_dict``.

Parameters are stored in float64. ``forward`` computes in the dtype of its input
(parameters are cast), and ``backward`` returns the input gradient and fills
``grads`` in that dtype: float32 in, float32 out.
"""

import numpy as np
from sklearn.utils import check_random_state

from . import functional as F

__all__ = [
    "BatchNorm",
    "GroupNorm",
    "InstanceNorm",
    "Layer",
    "LayerNorm",
    "Linear",
    "WeightNormLinear",
]


class Layer:
    """Base class: parameter and gradient dicts, buffers, train/eval, state dicts.

    Subclasses fill ``self.params`` (name -> array) in ``__init__``, list the
    names of their non-learned state arrays in ``_buffers``, and implement
    ``forward`` and ``backward``; ``backward`` writes ``self.grads`` with the
    same keys as ``self.params``.
    """

    _buffers: tuple[str, ...] = ()

    def __init__(self):
        self.params = {}
        self.grads = {}
        self.training = True

    def forward(self, x):
        raise NotImplementedError

    def backward(self, dy):
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def train(self, mode=True):
        """Switch to training mode (``mode=False``: evaluation). Returns self."""
        self.training = bool(mode)
        return self

    def eval(self):
        """Switch to evaluation mode. Returns self."""
        return self.train(False)

    def zero_grad(self):
        """Reset every gradient to zeros."""
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def state_dict(self):
        """Copies of the parameters and buffers, by name."""
        state = {k: np.array(v, copy=True) for k, v in self.params.items()}
        for name in self._buffers:
            value = getattr(self, name)
            state[name] = None if value is None else np.array(value, copy=True)
        return state

    def load_state_dict(self, state):
        """Restore parameters and buffers from :meth:`state_dict` output."""
        expected = set(self.params) | set(self._buffers)
        if set(state) != expected:
            raise ValueError(
                f"State keys {sorted(state)} do not match this layer's "
                f"{sorted(expected)}."
            )
        for name, value in self.params.items():
            new = np.asarray(state[name])
            if new.shape != value.shape:
                raise ValueError(
                    f"State {name!r} has shape {new.shape}; this layer needs "
                    f"{value.shape}."
                )
            self.params[name] = np.array(new, dtype=value.dtype, copy=True)
        for name in self._buffers:
            value = state[name]
            setattr(self, name, None if value is None else np.array(value, copy=True))
        return self

    def _cast_grads(self, dtype, **grads):
        self.grads = {
            k: np.asarray(v, dtype=dtype) for k, v in grads.items() if v is not None
        }


def _affine_params(num_features, affine):
    if not affine:
        return {}
    return {"gamma": np.ones(num_features), "beta": np.zeros(num_features)}


class _RunningStats(Layer):
    """Running mean/variance bookkeeping shared by batch and instance norm."""

    _buffers = ("running_mean", "running_var", "num_batches_tracked")

    def _setup(self, num_features, eps, momentum, affine, track_running_stats):
        """Store the settings batch and instance norm share; create their state."""
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        self.params = _affine_params(num_features, affine)
        self._init_running(num_features, track_running_stats)

    def _init_running(self, num_features, track):
        if track:
            self.running_mean = np.zeros(num_features)
            self.running_var = np.ones(num_features)
            self.num_batches_tracked = np.array(0, dtype=np.int64)
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def _update_running(self, batch_mean, batch_var_unbiased):
        self.num_batches_tracked = self.num_batches_tracked + 1
        # momentum=None: a cumulative average of every batch seen so far.
        factor = (
            1.0 / float(self.num_batches_tracked)
            if self.momentum is None
            else self.momentum
        )
        self.running_mean = (1 - factor) * self.running_mean + factor * batch_mean
        self.running_var = (1 - factor) * self.running_var + factor * batch_var_unbiased

    def _gamma_beta(self):
        return self.params.get("gamma"), self.params.get("beta")


class BatchNorm(_RunningStats):
    """Batch normalization over (N, C), (N, C, L) or (N, C, H, W).

    Parameters
    ----------
    num_features : int
        Number of channels C.
    eps : float, default=1e-5
    momentum : float or None, default=0.1
        Weight of the newest batch in the running statistics; None averages all
        batches equally.
    affine : bool, default=True
        Learn a per-channel scale ``gamma`` and shift ``beta``.
    track_running_stats : bool, default=True
        Keep running statistics for evaluation mode. Without them, evaluation
        mode also normalises with batch statistics.

    Examples
    --------
    >>> import numpy as np
    >>> from skprep.nn import BatchNorm
    >>> layer = BatchNorm(3)
    >>> x = np.random.default_rng(0).normal(2.0, 5.0, size=(64, 3))
    >>> y = layer.forward(x)
    >>> bool(np.allclose(y.mean(0), 0)), bool(np.allclose(y.var(0), 1, atol=1e-3))
    (True, True)
    >>> dx = layer.backward(np.ones_like(y))
    >>> sorted(layer.grads)
    ['beta', 'gamma']
    >>> layer.eval().forward(x[:1]).shape
    (1, 3)
    """

    def __init__(
        self,
        num_features,
        *,
        eps=1e-5,
        momentum=0.1,
        affine=True,
        track_running_stats=True,
    ):
        super().__init__()
        self._setup(num_features, eps, momentum, affine, track_running_stats)

    def forward(self, x):
        F._check_channels(x, self.num_features, type(self).__name__)
        gamma, beta = self._gamma_beta()
        use_batch = self.training or not self.track_running_stats
        y, self._cache = F.batch_norm_forward(
            x,
            gamma,
            beta,
            eps=self.eps,
            training=use_batch,
            running_mean=self.running_mean,
            running_var=self.running_var,
        )
        if self.training and self.track_running_stats:
            m = self._cache["count"]
            self._update_running(self._cache["mean"], self._cache["var"] * m / (m - 1))
        return y

    def backward(self, dy):
        dx, dgamma, dbeta = F.batch_norm_backward(dy, self._cache)
        self._cast_grads(dy.dtype, gamma=dgamma, beta=dbeta)
        return dx


class InstanceNorm(_RunningStats):
    """Instance normalization over (N, C, L) or (N, C, H, W): per sample and channel.

    Parameters
    ----------
    num_features : int
        Number of channels C.
    eps : float, default=1e-5
    momentum : float or None, default=0.1
    affine : bool, default=False
    track_running_stats : bool, default=False
        Keep running averages of the instance statistics (the mean over the batch
        of per-instance means and unbiased variances) and use them in evaluation
        mode.

    Examples
    --------
    >>> import numpy as np
    >>> from skprep.nn import InstanceNorm
    >>> y = InstanceNorm(2).forward(np.random.default_rng(0).normal(size=(4, 2, 10)))
    >>> bool(np.allclose(y.mean(axis=2), 0))
    True
    """

    def __init__(
        self,
        num_features,
        *,
        eps=1e-5,
        momentum=0.1,
        affine=False,
        track_running_stats=False,
    ):
        super().__init__()
        self._setup(num_features, eps, momentum, affine, track_running_stats)

    def forward(self, x):
        F._check_channels(x, self.num_features, type(self).__name__)
        gamma, beta = self._gamma_beta()
        use_input = self.training or not self.track_running_stats
        y, self._cache = F.instance_norm_forward(
            x,
            gamma,
            beta,
            eps=self.eps,
            use_input_stats=use_input,
            running_mean=self.running_mean,
            running_var=self.running_var,
        )
        if self.training and self.track_running_stats:
            m = int(np.prod(x.shape[2:]))
            unbiased = self._cache["var"] * m / (m - 1)
            self._update_running(self._cache["mean"].mean(0), unbiased.mean(0))
        return y

    def backward(self, dy):
        dx, dgamma, dbeta = F.instance_norm_backward(dy, self._cache)
        self._cast_grads(dy.dtype, gamma=dgamma, beta=dbeta)
        return dx


class GroupNorm(Layer):
    """Group normalization: per sample, statistics over groups of channels.

    Parameters
    ----------
    num_groups : int
        Must divide ``num_channels``.
    num_channels : int
    eps : float, default=1e-5
    affine : bool, default=True
        Per-channel ``gamma`` and ``beta``.

    Examples
    --------
    >>> import numpy as np
    >>> from skprep.nn import GroupNorm
    >>> layer = GroupNorm(2, 4)
    >>> layer.forward(np.random.default_rng(0).normal(size=(3, 4, 5))).shape
    (3, 4, 5)
    """

    def __init__(self, num_groups, num_channels, *, eps=1e-5, affine=True):
        super().__init__()
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(
                f"num_groups={num_groups} must divide num_channels={num_channels}."
            )
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        self.params = _affine_params(num_channels, affine)

    def forward(self, x):
        F._check_channels(x, self.num_channels, "GroupNorm")
        y, self._cache = F.group_norm_forward(
            x,
            self.params.get("gamma"),
            self.params.get("beta"),
            num_groups=self.num_groups,
            eps=self.eps,
        )
        return y

    def backward(self, dy):
        dx, dgamma, dbeta = F.group_norm_backward(dy, self._cache)
        self._cast_grads(dy.dtype, gamma=dgamma, beta=dbeta)
        return dx


class LayerNorm(Layer):
    """Layer normalization over the trailing ``normalized_shape`` axes.

    Parameters
    ----------
    normalized_shape : int or tuple of int
        Shape of the trailing axes normalised together.
    eps : float, default=1e-5
    elementwise_affine : bool, default=True
        Learn ``gamma`` (and ``beta``) of shape ``normalized_shape``.
    bias : bool, default=True
        Learn ``beta`` when ``elementwise_affine``.

    Examples
    --------
    >>> import numpy as np
    >>> from skprep.nn import LayerNorm
    >>> y = LayerNorm(4).forward(np.array([[1.0, 2.0, 3.0, 4.0]]))
    >>> bool(np.isclose(y.mean(), 0)), y.shape
    (True, (1, 4))
    """

    def __init__(
        self, normalized_shape, *, eps=1e-5, elementwise_affine=True, bias=True
    ):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        self.bias = bias
        if elementwise_affine:
            self.params["gamma"] = np.ones(self.normalized_shape)
            if bias:
                self.params["beta"] = np.zeros(self.normalized_shape)

    def forward(self, x):
        k = len(self.normalized_shape)
        if x.ndim < k or x.shape[x.ndim - k :] != self.normalized_shape:
            raise ValueError(
                "LayerNorm expects input whose trailing shape is "
                f"{self.normalized_shape}; "
                f"got shape {x.shape}."
            )
        y, self._cache = F.layer_norm_forward(
            x,
            self.params.get("gamma"),
            self.params.get("beta"),
            normalized_ndim=k,
            eps=self.eps,
        )
        return y

    def backward(self, dy):
        dx, dgamma, dbeta = F.layer_norm_backward(dy, self._cache)
        self._cast_grads(dy.dtype, gamma=dgamma, beta=dbeta)
        return dx


def _check_features(x, in_features, name):
    if x.ndim != 2 or x.shape[1] != in_features:
        raise ValueError(
            f"{name} expects input of shape (N, {in_features}); got shape {x.shape}."
        )


class Linear(Layer):
    """Dense layer ``y = x @ weight.T + bias`` with PyTorch's default initialisation.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool, default=True
    random_state : int, RandomState instance or None, default=None

    Examples
    --------
    >>> import numpy as np
    >>> from skprep.nn import Linear
    >>> Linear(3, 2, random_state=0).forward(np.ones((5, 3))).shape
    (5, 2)
    """

    def __init__(self, in_features, out_features, *, bias=True, random_state=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        rng = check_random_state(random_state)
        bound = 1.0 / np.sqrt(in_features)
        self.params["weight"] = rng.uniform(
            -bound, bound, size=(out_features, in_features)
        )
        if bias:
            self.params["bias"] = rng.uniform(-bound, bound, size=out_features)

    def forward(self, x):
        _check_features(x, self.in_features, "Linear")
        y, self._cache = F.linear_forward(
            x, self.params["weight"], self.params.get("bias")
        )
        return y

    def backward(self, dy):
        dx, dw, db = F.linear_backward(dy, self._cache)
        self._cast_grads(dy.dtype, weight=dw, bias=db)
        return dx


class WeightNormLinear(Layer):
    """Dense layer with weight normalization, ``w = g * v / ||v||`` per output row.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool, default=True
    random_state : int, RandomState instance or None, default=None

    Attributes
    ----------
    params : dict
        ``"v"`` (out_features, in_features), ``"g"`` (out_features,) initialised to
        the row norms of ``v`` (so that ``w == v`` at first), ``"bias"``.

    Examples
    --------
    >>> import numpy as np
    >>> from skprep.nn import WeightNormLinear
    >>> layer = WeightNormLinear(4, 3, random_state=0)
    >>> x = np.random.default_rng(1).normal(size=(256, 4))
    >>> y = layer.data_init(x).forward(x)
    >>> bool(np.allclose(y.mean(0), 0)), bool(np.allclose(y.std(0), 1))
    (True, True)
    """

    def __init__(self, in_features, out_features, *, bias=True, random_state=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        rng = check_random_state(random_state)
        bound = 1.0 / np.sqrt(in_features)
        v = rng.uniform(-bound, bound, size=(out_features, in_features))
        self.params["v"] = v
        self.params["g"] = np.linalg.norm(v, axis=1)
        if bias:
            self.params["bias"] = rng.uniform(-bound, bound, size=out_features)

    @property
    def weight(self):
        """The effective weight ``g * v / ||v||``."""
        return F.weight_norm_forward(self.params["v"], self.params["g"], dim=0)[0]

    def forward(self, x):
        _check_features(x, self.in_features, "WeightNormLinear")
        v = np.asarray(self.params["v"], dtype=x.dtype)
        w, self._wn_cache = F.weight_norm_forward(v, self.params["g"], dim=0)
        y, self._cache = F.linear_forward(x, w, self.params.get("bias"))
        return y

    def backward(self, dy):
        dx, dw, db = F.linear_backward(dy, self._cache)
        dv, dg = F.weight_norm_backward(dw, self._wn_cache)
        self._cast_grads(dy.dtype, v=dv, g=dg, bias=db)
        return dx

    def data_init(self, x, eps=1e-8):
        """Data-dependent initialisation (Salimans & Kingma 2016).

        Sets ``g`` and ``bias`` so that the layer's outputs on ``x`` have zero mean
        and unit variance per output unit, keeping the direction ``v``.

        Parameters
        ----------
        x : ndarray of shape (N, in_features)
            A representative batch.
        eps : float, default=1e-8
            Guards against a zero standard deviation.

        Returns
        -------
        self
        """
        _check_features(x, self.in_features, "WeightNormLinear")
        v = self.params["v"]
        t = (
            np.asarray(x, dtype=np.float64)
            @ (v / np.linalg.norm(v, axis=1, keepdims=True)).T
        )
        mean, std = t.mean(axis=0), t.std(axis=0)
        self.params["g"] = 1.0 / (std + eps)
        if "bias" in self.params:
            self.params["bias"] = -mean / (std + eps)
        return self
