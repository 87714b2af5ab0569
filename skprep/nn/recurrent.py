r"""Normalized recurrent layers with backpropagation through time.

* :class:`BNLSTM`: recurrent batch normalization (Cooijmans et al. 2016). Batch
  norm is applied separately to the input-to-hidden and hidden-to-hidden terms
  (scale only: the gate bias shifts) and to the cell state before the output
  non-linearity; statistics are kept per time step.
* :class:`LayerNormLSTM` and :class:`LayerNormRNN`: layer normalization (Ba, Kiros
  & Hinton 2016) over the hidden units of each sample and step, so any batch size
  and sequence length work.

Sequences are ``(T, N, D)``; outputs ``(T, N, H)``. Gates are ordered input,
forget, cell, output, as in PyTorch. All layers return ``out, state`` from
``forward`` and the input gradient from ``backward(d_out, d_state=None)``;
``backward`` fills ``grads`` and ``d_state`` (the gradient of the initial state).
"""

from collections.abc import Callable

import numpy as np
from sklearn.utils import check_random_state

from . import functional as F
from ._checks import check_int, check_real
from .layers import Layer, running_update

__all__ = ["BNLSTM", "LayerNormLSTM", "LayerNormRNN"]


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free logistic


def _uniform(rng, bound, shape):
    return rng.uniform(-bound, bound, size=shape)


def _check_sequence(x, input_size, name):
    """``x`` in its working dtype (see the dtype policy) and the output dtype."""
    x, out = F._prepare(x)
    if x.ndim != 3 or x.shape[2] != input_size:
        raise ValueError(
            f"{name} expects a sequence of shape (T, N, {input_size}); "
            f"got shape {x.shape}."
        )
    if x.shape[0] < 1:
        raise ValueError(f"{name} needs at least one time step; got shape {x.shape}.")
    return x, out


def _initial(state, n, hidden, dtype, count):
    if state is None:
        return tuple(np.zeros((n, hidden), dtype=dtype) for _ in range(count))
    parts = (state,) if count == 1 and not isinstance(state, tuple) else tuple(state)
    for part in parts:
        if np.shape(part) != (n, hidden):
            raise ValueError(
                f"Initial state must have shape ({n}, {hidden}); got {np.shape(part)}."
            )
    return tuple(np.asarray(p, dtype=dtype) for p in parts)


class _LSTMBase(Layer):
    """The LSTM recurrence with pluggable normalizations of its three terms.

    Subclasses implement ``_norm(kind, a, t)`` -> (y, cache) for kind in
    ``"x"`` (input term), ``"h"`` (recurrent term) and ``"c"`` (cell state),
    with parameters ``gamma_<kind>`` and ``beta_c``, and name the functional
    backward of that normalization in ``_functional_backward``.
    """

    _extra_inputs = ("state",)
    _functional_backward: Callable[..., tuple]

    def _init_weights(self, input_size, hidden_size, random_state):
        input_size = check_int(input_size, "input_size")
        hidden_size = check_int(hidden_size, "hidden_size")
        self.input_size, self.hidden_size = input_size, hidden_size
        rng = check_random_state(random_state)
        bound = 1.0 / np.sqrt(hidden_size)
        bias = np.zeros(4 * hidden_size)
        bias[hidden_size : 2 * hidden_size] = 1.0  # forget gate open at the start
        self.params = {
            "W_x": _uniform(rng, bound, (4 * hidden_size, input_size)),
            "W_h": _uniform(rng, bound, (4 * hidden_size, hidden_size)),
            "bias": bias,
        }

    def forward(self, x, state=None):
        """Run the sequence.

        Parameters
        ----------
        x : ndarray of shape (T, N, input_size)
        state : tuple (h_0, c_0) of ndarrays of shape (N, hidden_size), or None
            Zeros when None.

        Returns
        -------
        out : ndarray of shape (T, N, hidden_size)
        (h_T, c_T) : tuple of ndarrays of shape (N, hidden_size)
        """
        x, out_dtype = _check_sequence(x, self.input_size, type(self).__name__)
        T, N, _ = x.shape
        H = self.hidden_size
        h, c = _initial(state, N, H, x.dtype, 2)
        W_x = self.params["W_x"].astype(x.dtype, copy=False)
        W_h = self.params["W_h"].astype(x.dtype, copy=False)
        bias = self.params["bias"].astype(x.dtype, copy=False)
        out = np.empty((T, N, H), dtype=x.dtype)
        steps = []
        for t in range(T):
            nx, cx = self._norm("x", x[t] @ W_x.T, t)
            nh, ch = self._norm("h", h @ W_h.T, t)
            z = nx + nh + bias
            i, f = _sigmoid(z[:, :H]), _sigmoid(z[:, H : 2 * H])
            g, o = np.tanh(z[:, 2 * H : 3 * H]), _sigmoid(z[:, 3 * H :])
            c_prev, h_prev = c, h
            c = f * c_prev + i * g
            nc, cc = self._norm("c", c, t)
            tc = np.tanh(nc)
            h = o * tc
            out[t] = h
            steps.append((x[t], h_prev, c_prev, i, f, g, o, tc, cx, ch, cc))
        self._cache = (steps, W_x, W_h, out_dtype)
        return out.astype(out_dtype, copy=False), (h, c)

    def backward(self, d_out, d_state=None):
        """Backpropagate through time.

        Parameters
        ----------
        d_out : ndarray of shape (T, N, hidden_size)
            Gradient of the loss with respect to ``out``.
        d_state : tuple (dh_T, dc_T) or None
            Gradient with respect to the final state, for stacked use.

        Returns
        -------
        dx : ndarray of shape (T, N, input_size)
            Also sets ``self.d_state = (dh_0, dc_0)`` and ``self.grads``.
        """
        steps, W_x, W_h, out_dtype = self._saved()
        d_out = np.asarray(d_out, dtype=W_x.dtype)
        grads = {
            k: np.zeros(v.shape, dtype=d_out.dtype) for k, v in self.params.items()
        }
        dh_next, dc_next = (
            (np.zeros_like(d_out[0]), np.zeros_like(d_out[0]))
            if d_state is None
            else (np.asarray(d_state[0]), np.asarray(d_state[1]))
        )
        dx = np.empty(d_out.shape[:2] + (self.input_size,), dtype=d_out.dtype)
        for t in range(len(steps) - 1, -1, -1):
            x_t, h_prev, c_prev, i, f, g, o, tc, cx, ch, cc = steps[t]
            dh = d_out[t] + dh_next
            do = dh * tc
            dnc = dh * o * (1.0 - tc * tc)
            dc, extra = self._norm_backward("c", dnc, cc)
            _add(grads, extra)
            dc = dc + dc_next
            dz = np.concatenate(
                [
                    dc * g * i * (1.0 - i),
                    dc * c_prev * f * (1.0 - f),
                    dc * i * (1.0 - g * g),
                    do * o * (1.0 - o),
                ],
                axis=1,
            )
            dc_next = dc * f
            grads["bias"] += dz.sum(axis=0)
            dax, extra = self._norm_backward("x", dz, cx)
            _add(grads, extra)
            dah, extra = self._norm_backward("h", dz, ch)
            _add(grads, extra)
            grads["W_x"] += dax.T @ x_t
            grads["W_h"] += dah.T @ h_prev
            dx[t] = dax @ W_x
            dh_next = dah @ W_h
        self.grads = grads
        self.d_state = (dh_next, dc_next)
        return dx.astype(out_dtype, copy=False)

    def _norm_backward(self, kind, dy, cache):
        """Backward of ``_norm``: (da, {parameter name: gradient})."""
        da, dgamma, dbeta = self._functional_backward(dy, cache)
        grads = {f"gamma_{kind}": dgamma}
        if kind == "c":
            grads["beta_c"] = dbeta
        return da, grads


def _add(grads, extra):
    for name, value in extra.items():
        grads[name] += value


class BNLSTM(_LSTMBase):
    r"""LSTM with recurrent batch normalization (Cooijmans et al. 2016).

    .. math::

        (i, f, g, o) = \mathrm{BN}(W_h h_{t-1}; \gamma_h)
                       + \mathrm{BN}(W_x x_t; \gamma_x) + b,\quad
        c_t = \sigma(f) \odot c_{t-1} + \sigma(i) \odot \tanh(g),\quad
        h_t = \sigma(o) \odot \tanh(\mathrm{BN}(c_t; \gamma_c, \beta_c)).

    The two pre-activation terms get a scale but no shift (the bias ``b`` already
    shifts). Every time step keeps its own running statistics. A sequence longer
    at inference than any seen in training uses the statistics of the last
    trained time step; with ``max_time_steps`` set, steps beyond it share the
    statistics of the last one in training too.

    Parameters
    ----------
    input_size, hidden_size : int
    max_time_steps : int or None, default=None
        Number of time steps with their own statistics; None grows the table as
        longer training sequences arrive.
    gamma_init : float, default=0.1
        Initial batch-norm scale, as the paper recommends (a unit scale saturates
        the gates).
    eps : float, default=1e-5
        Added to the variance; must be >= 0. eps=0 is allowed, as in PyTorch: a
        zero variance then gives NaN or infinite outputs and a RuntimeWarning.
    momentum : float or None, default=0.1
        Running-statistics rule of :class:`~skprep.nn.BatchNorm`, per time step;
        None averages all batches of a step equally.
    random_state : int, RandomState instance or None, default=None

    Attributes
    ----------
    params : dict
        ``W_x`` (4H, D), ``W_h`` (4H, H), ``bias`` (4H,) with the forget gate's
        part initialised to 1, ``gamma_x``, ``gamma_h`` (4H,), ``gamma_c``,
        ``beta_c`` (H,).
    running_mean_x, running_var_x, running_mean_h, running_var_h : ndarray (T_stats, 4H)
    running_mean_c, running_var_c : ndarray (T_stats, H)
    steps_tracked : ndarray of shape (T_stats,)
        Training batches seen at each time step.

    References
    ----------
    T. Cooijmans, N. Ballas, C. Laurent, C. Gulcehre and A. Courville (2017).
    Recurrent batch normalization. ICLR.

    Examples
    --------
    >>> import numpy as np
    >>> from skprep.nn import BNLSTM
    >>> lstm = BNLSTM(3, 4, random_state=0)
    >>> x = np.random.default_rng(0).normal(size=(5, 8, 3))
    >>> out, (h, c) = lstm.forward(x)
    >>> out.shape, h.shape
    ((5, 8, 4), (8, 4))
    >>> dx = lstm.backward(np.ones_like(out))
    >>> dx.shape
    (5, 8, 3)
    >>> lstm.eval().forward(np.zeros((9, 1, 3)))[0].shape  # longer than trained
    (9, 1, 4)
    """

    _functional_backward = staticmethod(F.batch_norm_backward)
    _buffers = (
        "running_mean_x",
        "running_var_x",
        "running_mean_h",
        "running_var_h",
        "running_mean_c",
        "running_var_c",
        "steps_tracked",
    )

    def __init__(
        self,
        input_size,
        hidden_size,
        *,
        max_time_steps=None,
        gamma_init=0.1,
        eps=1e-5,
        momentum=0.1,
        random_state=None,
    ):
        super().__init__()
        if max_time_steps is not None:
            max_time_steps = check_int(max_time_steps, "max_time_steps")
        self.max_time_steps = max_time_steps
        self.gamma_init = check_real(gamma_init, "gamma_init")
        self.eps = check_real(eps, "eps", low=0.0)
        self.momentum = check_real(momentum, "momentum", low=0.0, high=1.0, none=True)
        self._init_weights(input_size, hidden_size, random_state)
        H = hidden_size
        self.params.update(
            gamma_x=np.full(4 * H, gamma_init),
            gamma_h=np.full(4 * H, gamma_init),
            gamma_c=np.full(H, gamma_init),
            beta_c=np.zeros(H),
        )
        rows = max_time_steps or 1
        widths = {"x": 4 * H, "h": 4 * H, "c": H}
        for kind, width in widths.items():
            setattr(self, f"running_mean_{kind}", np.zeros((rows, width)))
            setattr(self, f"running_var_{kind}", np.ones((rows, width)))
        self.steps_tracked = np.zeros(rows, dtype=np.int64)

    def _expected_shape(self, name, current):
        # Without max_time_steps the tables grow with the sequences seen, so a
        # state may hold any number of rows.
        if name in self._buffers and self.max_time_steps is None:
            return (None,) + current.shape[1:]
        return current.shape

    def _stat_row(self, t):
        """Row of the statistics table used at step ``t``."""
        if self.training:
            if self.max_time_steps is None and t >= self.steps_tracked.shape[0]:
                self._grow(t + 1)
            return min(t, self.steps_tracked.shape[0] - 1)
        trained = int(np.count_nonzero(self.steps_tracked))
        return min(t, max(trained, 1) - 1)

    def _grow(self, rows):
        extra = rows - self.steps_tracked.shape[0]
        for kind in "xhc":
            mean = getattr(self, f"running_mean_{kind}")
            var = getattr(self, f"running_var_{kind}")
            grown_mean = np.vstack([mean, np.zeros((extra, mean.shape[1]))])
            grown_var = np.vstack([var, np.ones((extra, var.shape[1]))])
            setattr(self, f"running_mean_{kind}", grown_mean)
            setattr(self, f"running_var_{kind}", grown_var)
        self.steps_tracked = np.concatenate(
            [self.steps_tracked, np.zeros(extra, np.int64)]
        )

    def _norm(self, kind, a, t):
        row = self._stat_row(t)
        mean = getattr(self, f"running_mean_{kind}")
        var = getattr(self, f"running_var_{kind}")
        gamma = self.params[f"gamma_{kind}"]
        beta = self.params["beta_c"] if kind == "c" else None
        y, cache = F.batch_norm_forward(
            a,
            gamma,
            beta,
            eps=self.eps,
            training=self.training,
            running_mean=mean[row],
            running_var=var[row],
        )
        if self.training:
            # The cell term is normalised last in a step, so its counter still
            # holds the batches seen before this one for all three terms.
            mean[row], var[row] = running_update(
                mean[row],
                var[row],
                cache["mean"],
                cache["var"],
                count=cache["count"],
                momentum=self.momentum,
                batches_seen=int(self.steps_tracked[row]) + 1,
            )
            if kind == "c":
                self.steps_tracked[row] += 1
        return y, cache


class LayerNormLSTM(_LSTMBase):
    r"""LSTM with layer normalization (Ba, Kiros & Hinton 2016).

    .. math::

        (i, f, g, o) = \mathrm{LN}(W_h h_{t-1}; \alpha_h)
                       + \mathrm{LN}(W_x x_t; \alpha_x) + b,\quad
        h_t = \sigma(o) \odot \tanh(\mathrm{LN}(c_t; \alpha_c, \beta_c)),

    each LN over the units of one sample at one step, so there are no batch or
    time statistics: batch size 1 and any sequence length work, and training and
    evaluation behave the same.

    Parameters
    ----------
    input_size, hidden_size : int
    eps : float, default=1e-5
        Added to the variance; must be >= 0. eps=0 is allowed, as in PyTorch: a
        zero variance then gives NaN or infinite outputs and a RuntimeWarning.
    random_state : int, RandomState instance or None, default=None

    References
    ----------
    J. L. Ba, J. R. Kiros and G. E. Hinton (2016). Layer normalization.
    arXiv:1607.06450.

    Examples
    --------
    >>> import numpy as np
    >>> from skprep.nn import LayerNormLSTM
    >>> out, (h, c) = LayerNormLSTM(2, 3, random_state=0).forward(np.ones((4, 1, 2)))
    >>> out.shape
    (4, 1, 3)
    """

    _functional_backward = staticmethod(F.layer_norm_backward)

    def __init__(self, input_size, hidden_size, *, eps=1e-5, random_state=None):
        super().__init__()
        self.eps = check_real(eps, "eps", low=0.0)
        self._init_weights(input_size, hidden_size, random_state)
        H = hidden_size
        self.params.update(
            gamma_x=np.ones(4 * H),
            gamma_h=np.ones(4 * H),
            gamma_c=np.ones(H),
            beta_c=np.zeros(H),
        )

    def _norm(self, kind, a, t):
        beta = self.params["beta_c"] if kind == "c" else None
        return F.layer_norm_forward(a, self.params[f"gamma_{kind}"], beta, eps=self.eps)


class LayerNormRNN(Layer):
    r"""Elman RNN with layer normalization (Ba, Kiros & Hinton 2016).

    .. math::

        a_t = W_{hh} h_{t-1} + W_{xh} x_t, \qquad
        h_t = f\Big(\frac{g}{\sigma_t} \odot (a_t - \mu_t) + b\Big),

    with :math:`\mu_t, \sigma_t` the mean and standard deviation of :math:`a_t`
    over the hidden units of one sample.

    Parameters
    ----------
    input_size, hidden_size : int
    nonlinearity : {"tanh", "relu"}, default="tanh"
    eps : float, default=1e-5
        Added to the variance; must be >= 0. eps=0 is allowed, as in PyTorch: a
        zero variance then gives NaN or infinite outputs and a RuntimeWarning.
    random_state : int, RandomState instance or None, default=None

    Examples
    --------
    >>> import numpy as np
    >>> from skprep.nn import LayerNormRNN
    >>> rnn = LayerNormRNN(2, 5, random_state=0)
    >>> out, h = rnn.forward(np.ones((3, 1, 2)))
    >>> out.shape, h.shape
    ((3, 1, 5), (1, 5))
    """

    _extra_inputs = ("state",)

    def __init__(
        self,
        input_size,
        hidden_size,
        *,
        nonlinearity="tanh",
        eps=1e-5,
        random_state=None,
    ):
        super().__init__()
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"nonlinearity must be 'tanh' or 'relu'; got {nonlinearity!r}."
            )
        input_size = check_int(input_size, "input_size")
        hidden_size = check_int(hidden_size, "hidden_size")
        self.input_size, self.hidden_size = input_size, hidden_size
        self.nonlinearity = nonlinearity
        self.eps = check_real(eps, "eps", low=0.0)
        rng = check_random_state(random_state)
        bound = 1.0 / np.sqrt(hidden_size)
        self.params = {
            "W_xh": _uniform(rng, bound, (hidden_size, input_size)),
            "W_hh": _uniform(rng, bound, (hidden_size, hidden_size)),
            "gamma": np.ones(hidden_size),
            "beta": np.zeros(hidden_size),
        }

    def forward(self, x, state=None):
        """Run the sequence: ``out, h_T`` for ``x`` of shape (T, N, input_size)."""
        x, out_dtype = _check_sequence(x, self.input_size, "LayerNormRNN")
        T, N, _ = x.shape
        (h,) = _initial(state, N, self.hidden_size, x.dtype, 1)
        W_xh = self.params["W_xh"].astype(x.dtype, copy=False)
        W_hh = self.params["W_hh"].astype(x.dtype, copy=False)
        out = np.empty((T, N, self.hidden_size), dtype=x.dtype)
        steps = []
        for t in range(T):
            a = h @ W_hh.T + x[t] @ W_xh.T
            y, cache = F.layer_norm_forward(
                a, self.params["gamma"], self.params["beta"], eps=self.eps
            )
            h_prev = h
            h = np.tanh(y) if self.nonlinearity == "tanh" else np.maximum(y, 0)
            out[t] = h
            steps.append((x[t], h_prev, h, y, cache))
        self._cache = (steps, W_xh, W_hh, out_dtype)
        return out.astype(out_dtype, copy=False), h

    def backward(self, d_out, d_state=None):
        """Backpropagate through time; ``d_state`` is the gradient of ``h_T``.

        Returns ``dx`` of shape (T, N, input_size) and sets ``self.d_state``
        (gradient of ``h_0``) and ``self.grads``.
        """
        steps, W_xh, W_hh, out_dtype = self._saved()
        d_out = np.asarray(d_out, dtype=W_xh.dtype)
        grads = {
            k: np.zeros(v.shape, dtype=d_out.dtype) for k, v in self.params.items()
        }
        dh_next = np.zeros_like(d_out[0]) if d_state is None else np.asarray(d_state)
        dx = np.empty(d_out.shape[:2] + (self.input_size,), dtype=d_out.dtype)
        for t in range(len(steps) - 1, -1, -1):
            x_t, h_prev, h, y, cache = steps[t]
            dh = d_out[t] + dh_next
            dy = dh * (1.0 - h * h) if self.nonlinearity == "tanh" else dh * (y > 0)
            da, dgamma, dbeta = F.layer_norm_backward(dy, cache)
            grads["gamma"] += dgamma
            grads["beta"] += dbeta
            grads["W_xh"] += da.T @ x_t
            grads["W_hh"] += da.T @ h_prev
            dx[t] = da @ W_xh
            dh_next = da @ W_hh
        self.grads = grads
        self.d_state = dh_next
        return dx.astype(out_dtype, copy=False)
