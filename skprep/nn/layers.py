"""Stateful normalization layers: parameters, gradients, running statistics, modes.

Each layer is a thin shell over a forward/backward pair of
:mod:`skprep.nn.functional`. Names and defaults follow PyTorch's documented
layers (``eps=1e-5``, ``momentum=0.1``, ``running = (1 - momentum) * running +
momentum * batch`` with the unbiased batch variance, ``momentum=None`` for a
cumulative average), so parameters and running statistics can move between the
two through ``state_dict``.

Dtype policy (the same for every layer, see :mod:`skprep.nn.functional`):
parameters and running statistics are float64 and keep that dtype whatever the
input. float32 and float64 inputs are computed in their own dtype; float16 is
computed in float32 and returned as float16; integers and booleans are computed
in float64; any other dtype raises TypeError. Statistics are accumulated in at
least the working dtype (float64 in the compiled kernels) and returned as
float64. ``grads`` hold the working dtype (float32 for float16 and float32
input, float64 otherwise).

``state_dict()`` and ``load_state_dict`` use skprep's names (``gamma``,
``beta``, ``v``, ``g``); ``state_dict(format="torch")`` gives PyTorch's names
and shapes for the layers PyTorch has (``weight``, ``bias``, ``running_mean``,
``running_var``, ``num_batches_tracked``; weight norm's
``parametrizations.weight.original0`` of shape (out, 1) and ``original1``), and
``load_state_dict`` accepts either form, plus the older ``weight_g`` /
``weight_v`` of ``torch.nn.utils.weight_norm``.
"""

from collections.abc import Callable

import numpy as np
from sklearn.utils import check_random_state

from . import _core
from . import functional as F
from ._checks import check_bool, check_int, check_real, check_shape

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
    # skprep's names of parameters and buffers -> PyTorch's, where they differ.
    _torch_keys: dict[str, str] = {}
    # Whether PyTorch has a module with this state (state_dict(format="torch")).
    _torch_counterpart = False
    # What forward takes besides x (a condition, a recurrent state): such a
    # layer cannot be chained by Sequential, which passes x alone.
    _extra_inputs: tuple[str, ...] = ()

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
        self.training = check_bool(mode, "mode")
        return self

    def eval(self):
        """Switch to evaluation mode. Returns self."""
        return self.train(False)

    def zero_grad(self):
        """Reset every gradient to zeros."""
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def state_dict(self, format="skprep"):
        """Copies of the parameters and buffers, by name.

        Parameters
        ----------
        format : {"skprep", "torch"}, default="skprep"
            ``"skprep"``: skprep's names, with None for buffers a layer does
            not keep. ``"torch"``: the names and shapes of the PyTorch module
            of the same name (absent buffers left out), ready for
            ``torch_module.load_state_dict({k: torch.from_numpy(v) ...})``.

        Returns
        -------
        dict of str to ndarray (or None)

        Raises
        ------
        ValueError
            For ``format="torch"`` on a layer PyTorch has no module for
            (conditional batch norm, the normalized recurrent layers).
        """
        if format not in ("skprep", "torch"):
            raise ValueError(f"format must be 'skprep' or 'torch'; got {format!r}.")
        state = {k: np.array(v, copy=True) for k, v in self.params.items()}
        for name in self._buffers:
            value = getattr(self, name)
            state[name] = None if value is None else np.array(value, copy=True)
        if format == "torch" and state and not self._torch_counterpart:
            raise ValueError(
                f"{type(self).__name__} has no PyTorch counterpart; use "
                "state_dict() for skprep's names."
            )
        if format == "torch":
            state = {
                self._torch_keys.get(k, k): self._torch_value(k, v)
                for k, v in state.items()
                if v is not None
            }
        return state

    def _torch_value(self, name, value):
        """``value`` in PyTorch's shape (hook for weight norm's ``g``)."""
        return value

    def _from_torch(self, state):
        """``state`` with PyTorch's names replaced by skprep's: (state, the key
        each skprep name came from)."""
        inverse = {t: k for k, t in self._torch_keys.items()}
        renamed, source = {}, {}
        for key, value in state.items():
            name = inverse.get(key, key) if key not in self._own_names() else key
            if name in renamed:
                raise ValueError(
                    f"State keys {source[name]!r} and {key!r} both give {name!r}."
                )
            renamed[name], source[name] = value, key
        return renamed, source

    def _own_names(self):
        return set(self.params) | set(self._buffers)

    def _expected_shape(self, name, current):
        """Shape a loaded ``name`` must have; None entries are free."""
        return current.shape

    def load_state_dict(self, state):
        """Restore parameters and buffers from a state dict.

        Accepts :meth:`state_dict` output in either format (PyTorch's names and
        shapes too). Every key is checked before anything is changed.

        Raises
        ------
        ValueError
            On missing or unexpected keys (naming them), a value whose shape
            differs from what the layer needs (naming the key and both shapes),
            a running mean or variance that is NaN or infinite, a negative
            running variance, or a batch count that is not a whole number >= 0
            (naming the key). A missing ``num_batches_tracked`` is not an error:
            as in PyTorch (checkpoints from before 0.4.1), it loads as 0.
        TypeError
            On a value that does not hold real numbers.
        """
        state, source = self._from_torch(dict(state))
        current = dict(self.params)
        current.update(
            {n: getattr(self, n) for n in self._buffers if getattr(self, n) is not None}
        )
        given = {k for k, v in state.items() if v is not None}
        # A None entry is fine for a buffer this layer does not keep.
        stray_none = {
            k for k, v in state.items() if v is None and k not in self._buffers
        }
        missing = sorted(set(current) - given)
        unexpected = sorted(source[k] for k in (given - set(current)) | stray_none)
        if missing or unexpected:
            raise ValueError(
                f"State keys do not match {type(self).__name__}: missing "
                f"{missing}, unexpected {unexpected} (expected "
                f"{sorted(current)})."
            )
        loaded = {}
        for name, value in current.items():
            key = source[name]
            new = np.asarray(state[name])
            if new.dtype.kind not in "biuf":
                raise TypeError(
                    f"State {key!r} must hold real numbers; got dtype {new.dtype}."
                )
            want = self._expected_shape(name, value)
            if len(want) != new.ndim or any(
                w is not None and w != n for w, n in zip(want, new.shape, strict=True)
            ):
                raise ValueError(
                    f"State {key!r} has shape {new.shape}; this layer needs "
                    f"{tuple('any' if w is None else w for w in want)}."
                )
            _check_state_values(name, key, new)
            loaded[name] = np.array(new, dtype=value.dtype, copy=True)
        for name, value in loaded.items():
            if name in self.params:
                self.params[name] = value
            else:
                setattr(self, name, value)
        return self

    def _saved(self, name="_cache"):
        """What the last ``forward`` kept for ``backward``; a one-line error
        when ``forward`` has not run."""
        try:
            return getattr(self, name)
        except AttributeError:
            raise RuntimeError(
                f"{type(self).__name__}.backward needs a forward pass first: call "
                "forward on the batch (in training mode to train) before backward."
            ) from None

    def _cast_grads(self, dy, **grads):
        """Store the parameter gradients in the working dtype of ``dy``."""
        work = _core.working_dtype(dy, "dy")
        self.grads = {
            k: np.asarray(v, dtype=work) for k, v in grads.items() if v is not None
        }


def _check_state_values(name, key, value):
    """Refuse loaded buffers that would give NaN outputs or a wrong count.

    Running means must be finite and running variances finite and >= 0 (a
    negative one makes ``sqrt(var + eps)`` NaN); batch counters must be whole
    numbers >= 0 (they set the momentum=None average and would be truncated).
    """
    if name.startswith(("running_mean", "running_var")):
        if not np.isfinite(value).all():
            raise ValueError(f"State {key!r} holds NaN or infinite values.")
        if name.startswith("running_var") and (value < 0).any():
            raise ValueError(
                f"State {key!r} holds a negative variance ({float(value.min())}); "
                "variances must be >= 0."
            )
    elif name in ("num_batches_tracked", "steps_tracked"):
        if (
            not (np.isfinite(value).all() and (value == np.round(value)).all())
            or (value < 0).any()
        ):
            raise ValueError(
                f"State {key!r} must hold whole numbers >= 0 (a count of batches)."
            )


def running_update(
    running_mean, running_var, batch_mean, batch_var, *, count, momentum, batches_seen
):
    """The running-statistics rule of PyTorch's batch norm, written once.

    ``batch_var`` is the biased variance over ``count`` values, as the batch was
    normalised with; the running variance takes the unbiased one,
    ``batch_var * count / (count - 1)``. Then ``running = (1 - m) * running + m
    * batch`` with ``m = momentum``, or ``m = 1 / batches_seen`` (a cumulative
    average of the batches seen, this one included) when ``momentum`` is None.

    Returns
    -------
    running_mean, running_var : ndarray
        New arrays, float64, of the shape of the running ones.
    """
    factor = 1.0 / batches_seen if momentum is None else momentum
    unbiased = np.asarray(batch_var, dtype=np.float64) * (count / (count - 1))
    mean = (1 - factor) * running_mean + factor * np.asarray(batch_mean)
    return mean, (1 - factor) * running_var + factor * unbiased


def _affine_params(num_features, affine):
    if not affine:
        return {}
    return {"gamma": np.ones(num_features), "beta": np.zeros(num_features)}


def _describe_mode(layer):
    """The mode a batch-statistics error happens in, in words."""
    if layer.training:
        return "when training"
    return (
        "in evaluation mode without running statistics "
        "(track_running_stats=False normalises with the batch)"
    )


class _Normalization(Layer):
    """Base of the norm layers: optional ``gamma`` and ``beta`` (PyTorch's
    ``weight`` and ``bias``), and a backward through the functional pair of the
    layer's forward, which subclasses name in ``_functional_backward``."""

    _torch_keys = {"gamma": "weight", "beta": "bias"}
    _torch_counterpart = True
    _functional_backward: Callable[..., tuple]

    def backward(self, dy):
        dx, dgamma, dbeta = self._functional_backward(dy, self._saved())
        self._cast_grads(dy, gamma=dgamma, beta=dbeta)
        return dx


class _RunningStats(_Normalization):
    """Settings and running mean/variance bookkeeping of the batch-norm family.

    ``__init__`` takes :class:`BatchNorm`'s arguments and defaults (PyTorch's
    ``_NormBase``); instance and conditional batch norm pass their own.
    """

    _buffers = ("running_mean", "running_var", "num_batches_tracked")

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
        self.num_features = check_int(num_features, "num_features")
        self.eps = check_real(eps, "eps", low=0.0)
        self.momentum = check_real(momentum, "momentum", low=0.0, high=1.0, none=True)
        self.affine = check_bool(affine, "affine")
        self.params = _affine_params(self.num_features, self.affine)
        self.running_mean = self.running_var = self.num_batches_tracked = None
        self.track_running_stats = track_running_stats

    @property
    def track_running_stats(self):
        """Whether running statistics are kept. Turning it on allocates them
        (mean 0, variance 1, no batch seen) when the layer has none; turning it
        off keeps them, unused, as PyTorch does."""
        return self._track_running_stats

    @track_running_stats.setter
    def track_running_stats(self, value):
        self._track_running_stats = check_bool(value, "track_running_stats")
        if self._track_running_stats and self.running_mean is None:
            self._init_running(self.num_features, True)

    def _init_running(self, num_features, track):
        if track:
            self.running_mean = np.zeros(num_features)
            self.running_var = np.ones(num_features)
            self.num_batches_tracked = np.array(0, dtype=np.int64)
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def _update_running(self, batch_mean, batch_var, count):
        self.num_batches_tracked = self.num_batches_tracked + 1
        self.running_mean, self.running_var = running_update(
            self.running_mean,
            self.running_var,
            batch_mean,
            batch_var,
            count=count,
            momentum=self.momentum,
            batches_seen=int(self.num_batches_tracked),
        )

    def _gamma_beta(self):
        return self.params.get("gamma"), self.params.get("beta")

    def _from_torch(self, state):
        # Checkpoints from before PyTorch 0.4.1 have no num_batches_tracked;
        # PyTorch loads them with a count of 0, and so do we.
        if self.num_batches_tracked is not None and "num_batches_tracked" not in state:
            state["num_batches_tracked"] = np.array(0, dtype=np.int64)
        return super()._from_torch(state)


class BatchNorm(_RunningStats):
    """Batch normalization over (N, C), (N, C, L) or (N, C, H, W).

    Parameters
    ----------
    num_features : int
        Number of channels C.
    eps : float, default=1e-5
        Added to the variance; must be >= 0. eps=0 is allowed, as in PyTorch: a
        zero variance then gives NaN or infinite outputs and a RuntimeWarning.
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

    _functional_backward = staticmethod(F.batch_norm_backward)

    def forward(self, x):
        F._check_channels(x, self.num_features, type(self).__name__)
        gamma, beta = self._gamma_beta()
        use_batch = self.training or not self.track_running_stats
        shape = np.shape(x)
        if use_batch and int(np.prod(shape)) // shape[1] < 2:
            raise ValueError(
                f"Expected more than 1 value per channel {_describe_mode(self)} "
                f"(batch size {shape[0]}, input shape {shape}); batch statistics "
                "of one value are undefined."
            )
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
            cache = self._cache
            self._update_running(cache["mean"], cache["var"], cache["count"])
        return y


class InstanceNorm(_RunningStats):
    """Instance normalization over (N, C, L) or (N, C, H, W): per sample and channel.

    Parameters
    ----------
    num_features, eps, momentum
        As in :class:`BatchNorm` (same defaults).
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

    _functional_backward = staticmethod(F.instance_norm_backward)

    def __init__(
        self,
        num_features,
        *,
        eps=1e-5,
        momentum=0.1,
        affine=False,
        track_running_stats=False,
    ):
        # PyTorch's defaults for instance norm: no affine, no running statistics.
        super().__init__(
            num_features,
            eps=eps,
            momentum=momentum,
            affine=affine,
            track_running_stats=track_running_stats,
        )

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
        if self.training and self.track_running_stats and np.shape(x)[0] > 0:
            m = int(np.prod(np.shape(x)[2:]))
            cache = self._cache
            self._update_running(cache["mean"].mean(0), cache["var"].mean(0), m)
        return y


class GroupNorm(_Normalization):
    """Group normalization: per sample, statistics over groups of channels.

    Parameters
    ----------
    num_groups : int
        Must divide ``num_channels``.
    num_channels : int
    eps : float, default=1e-5
        Added to the variance; must be >= 0. eps=0 is allowed, as in PyTorch: a
        zero variance then gives NaN or infinite outputs and a RuntimeWarning.
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

    _functional_backward = staticmethod(F.group_norm_backward)

    def __init__(self, num_groups, num_channels, *, eps=1e-5, affine=True):
        super().__init__()
        num_groups = check_int(num_groups, "num_groups")
        num_channels = check_int(num_channels, "num_channels")
        if num_channels % num_groups:
            raise ValueError(
                f"num_groups={num_groups} must divide num_channels={num_channels}."
            )
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = check_real(eps, "eps", low=0.0)
        self.affine = check_bool(affine, "affine")
        self.params = _affine_params(num_channels, self.affine)

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


class LayerNorm(_Normalization):
    """Layer normalization over the trailing ``normalized_shape`` axes.

    Parameters
    ----------
    normalized_shape : int or tuple of int
        Shape of the trailing axes normalised together.
    eps : float, default=1e-5
        Added to the variance; must be >= 0. eps=0 is allowed, as in PyTorch: a
        zero variance then gives NaN or infinite outputs and a RuntimeWarning.
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

    _functional_backward = staticmethod(F.layer_norm_backward)

    def __init__(
        self, normalized_shape, *, eps=1e-5, elementwise_affine=True, bias=True
    ):
        super().__init__()
        self.normalized_shape = check_shape(normalized_shape, "normalized_shape")
        self.eps = check_real(eps, "eps", low=0.0)
        self.elementwise_affine = check_bool(elementwise_affine, "elementwise_affine")
        self.bias = check_bool(bias, "bias")
        if self.elementwise_affine:
            self.params["gamma"] = np.ones(self.normalized_shape)
            if self.bias:
                self.params["beta"] = np.zeros(self.normalized_shape)

    def forward(self, x):
        k = len(self.normalized_shape)
        shape = np.shape(x)
        if len(shape) < k or shape[len(shape) - k :] != self.normalized_shape:
            raise ValueError(
                "LayerNorm expects input whose trailing shape is "
                f"{self.normalized_shape}; got shape {shape}."
            )
        y, self._cache = F.layer_norm_forward(
            x,
            self.params.get("gamma"),
            self.params.get("beta"),
            normalized_ndim=k,
            eps=self.eps,
        )
        return y


def _check_features(x, in_features, name):
    if np.ndim(x) < 1 or np.shape(x)[-1] != in_features:
        raise ValueError(
            f"{name} expects input of shape (*, {in_features}); got shape "
            f"{np.shape(x)}."
        )


class Linear(Layer):
    """Dense layer ``y = x @ weight.T + bias`` with PyTorch's default initialisation.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool, default=True
    random_state : int, RandomState instance or None, default=None

    Notes
    -----
    Shapes, as ``torch.nn.Linear``: ``forward`` takes ``x`` of shape
    ``(*, in_features)`` (any leading axes, or none) and returns
    ``(*, out_features)``; ``backward`` takes ``dy`` of the output's shape,
    returns ``dx`` of the input's shape, and sums the parameter gradients over
    every leading axis. A last axis other than ``in_features`` or a 0-d input
    raises ValueError.

    Examples
    --------
    >>> import numpy as np
    >>> from skprep.nn import Linear
    >>> Linear(3, 2, random_state=0).forward(np.ones((5, 3))).shape
    (5, 2)
    """

    _torch_counterpart = True

    def __init__(self, in_features, out_features, *, bias=True, random_state=None):
        super().__init__()
        in_features = check_int(in_features, "in_features")
        out_features = check_int(out_features, "out_features")
        bias = check_bool(bias, "bias")
        self.in_features, self.out_features = in_features, out_features
        rng = check_random_state(random_state)
        bound = 1.0 / np.sqrt(in_features)
        self.params["weight"] = rng.uniform(
            -bound, bound, size=(out_features, in_features)
        )
        if bias:
            self.params["bias"] = rng.uniform(-bound, bound, size=out_features)

    def forward(self, x):
        _check_features(x, self.in_features, type(self).__name__)
        y, self._cache = F.linear_forward(
            x, self.params["weight"], self.params.get("bias")
        )
        return y

    def backward(self, dy):
        dx, dw, db = F.linear_backward(dy, self._saved())
        self._cast_grads(dy, weight=dw, bias=db)
        return dx


class WeightNormLinear(Linear):
    """Dense layer with weight normalization, ``w = g * v / ||v||`` per output row.

    A :class:`Linear` whose weight is parametrized by a direction ``v`` and a
    norm ``g``, as ``torch.nn.utils.parametrizations.weight_norm(Linear(...))``.

    Parameters
    ----------
    in_features, out_features, bias, random_state
        As in :class:`Linear`.

    Attributes
    ----------
    params : dict
        ``"v"`` (out_features, in_features), ``"g"`` (out_features,) initialised to
        the row norms of ``v`` (so that ``w == v`` at first), ``"bias"``.

    Notes
    -----
    Shapes and errors as :class:`Linear`: ``x`` of shape ``(*, in_features)``,
    output ``(*, out_features)``, gradients summed over the leading axes.

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
        super().__init__(
            in_features, out_features, bias=bias, random_state=random_state
        )
        # Linear's initial weight becomes the direction v (so w == v at first).
        v = self.params.pop("weight")
        self.params = {"v": v, "g": np.linalg.norm(v, axis=1), **self.params}

    # PyTorch's torch.nn.utils.parametrizations.weight_norm names; g is (out, 1).
    _torch_keys = {
        "g": "parametrizations.weight.original0",
        "v": "parametrizations.weight.original1",
    }
    # The older torch.nn.utils.weight_norm names, accepted when loading.
    _legacy_torch_keys = {"g": "weight_g", "v": "weight_v"}

    def _torch_value(self, name, value):
        return value.reshape(-1, 1) if name == "g" else value

    def _from_torch(self, state):
        for key in (self._torch_keys["g"], self._legacy_torch_keys["g"]):
            if key in state and state[key] is not None:
                g = np.asarray(state[key])
                if g.shape != (self.out_features, 1):
                    raise ValueError(
                        f"State {key!r} has shape {g.shape}; this layer needs "
                        f"({self.out_features}, 1)."
                    )
                state[key] = g.reshape(-1)
        for name, key in self._legacy_torch_keys.items():
            if key in state:
                state[self._torch_keys[name]] = state.pop(key)
        return super()._from_torch(state)

    @property
    def weight(self):
        """The effective weight ``g * v / ||v||``."""
        return F.weight_norm_forward(self.params["v"], self.params["g"], dim=0)[0]

    def forward(self, x):
        _check_features(x, self.in_features, type(self).__name__)
        v = np.asarray(self.params["v"], dtype=_core.working_dtype(x))
        w, self._wn_cache = F.weight_norm_forward(v, self.params["g"], dim=0)
        y, self._cache = F.linear_forward(x, w, self.params.get("bias"))
        return y

    def backward(self, dy):
        dx, dw, db = F.linear_backward(dy, self._saved())
        dv, dg = F.weight_norm_backward(dw, self._saved("_wn_cache"))
        self._cast_grads(dy, v=dv, g=dg, bias=db)
        return dx

    def data_init(self, x, eps=1e-8):
        """Data-dependent initialisation (Salimans & Kingma 2016).

        Sets ``g`` and ``bias`` so that the layer's outputs on ``x`` have zero mean
        and unit variance per output unit, keeping the direction ``v``.

        Parameters
        ----------
        x : ndarray of shape (\\*, in_features)
            A representative batch; every leading axis counts as a sample.
        eps : float, default=1e-8
            Guards against a zero standard deviation.

        Returns
        -------
        self
        """
        _check_features(x, self.in_features, type(self).__name__)
        v = self.params["v"]
        t = (
            np.asarray(x, dtype=np.float64).reshape(-1, self.in_features)
            @ (v / np.linalg.norm(v, axis=1, keepdims=True)).T
        )
        mean, std = t.mean(axis=0), t.std(axis=0)
        self.params["g"] = 1.0 / (std + eps)
        if "bias" in self.params:
            self.params["bias"] = -mean / (std + eps)
        return self
