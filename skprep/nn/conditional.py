r"""Conditional batch normalization: gamma and beta predicted from a conditioning input.

.. math::

    y = \hat{x} \odot \gamma(c) + \beta(c), \qquad
    \gamma(c) = \gamma_0 + c\, W_\gamma, \qquad \beta(c) = \beta_0 + c\, W_\beta,

where :math:`\hat{x}` is batch-normalised ``x`` (batch statistics in training,
running statistics in evaluation). Predicting *deltas* added to base parameters
follows de Vries et al. (2017); with the maps at zero the layer is plain batch
norm, which is how it starts. FiLM (Perez et al. 2017) is the same form.
"""

import numpy as np

from . import _core
from . import functional as F
from ._checks import check_int
from .layers import _RunningStats

__all__ = ["ConditionalBatchNorm"]


class ConditionalBatchNorm(_RunningStats):
    """Batch norm whose per-channel scale and shift are linear in a condition ``c``.

    Parameters
    ----------
    num_features : int
        Channels C of ``x`` of shape (N, C) or (N, C, \\*spatial).
    cond_features : int
        Width D of the conditioning input ``c`` of shape (N, D).
    eps : float, default=1e-5
        Added to the variance; must be >= 0. eps=0 is allowed, as in PyTorch: a
        zero variance then gives NaN or infinite outputs and a RuntimeWarning.
    momentum : float or None, default=0.1
        Running-statistics rule of :class:`~skprep.nn.BatchNorm`.

    Attributes
    ----------
    params : dict
        ``"gamma"``, ``"beta"`` (C,): base scale and shift (1 and 0);
        ``"W_gamma"``, ``"W_beta"`` (D, C): the maps predicting their deltas,
        initialised to zero.
    running_mean, running_var : ndarray of shape (C,)
    num_batches_tracked : ndarray (int)

    References
    ----------
    H. de Vries, F. Strub, J. Mary, H. Larochelle, O. Pietquin and A. Courville
    (2017). Modulating early visual processing by language. NeurIPS.

    E. Perez, F. Strub, H. de Vries, V. Dumoulin and A. Courville (2018). FiLM:
    visual reasoning with a general conditioning layer. AAAI.

    Examples
    --------
    >>> import numpy as np
    >>> from skprep.nn import ConditionalBatchNorm
    >>> rng = np.random.default_rng(0)
    >>> layer = ConditionalBatchNorm(3, 2)
    >>> x, c = rng.normal(size=(8, 3, 4, 4)), rng.normal(size=(8, 2))
    >>> y = layer.forward(x, c)
    >>> dx, dc = layer.backward(np.ones_like(y))
    >>> dx.shape, dc.shape, sorted(layer.grads)
    ((8, 3, 4, 4), (8, 2), ['W_beta', 'W_gamma', 'beta', 'gamma'])
    """

    _torch_counterpart = False  # PyTorch has no conditional batch norm module

    _extra_inputs = ("c",)

    def __init__(self, num_features, cond_features, *, eps=1e-5, momentum=0.1):
        super().__init__(num_features, eps=eps, momentum=momentum)
        self.cond_features = check_int(cond_features, "cond_features")
        shape = (self.cond_features, self.num_features)
        self.params.update(W_gamma=np.zeros(shape), W_beta=np.zeros(shape))

    def conditioned_parameters(self, c):
        """Per-sample ``gamma(c)`` and ``beta(c)``, each of shape (N, C)."""
        c = np.asarray(c)
        work = _core.working_dtype(c, "c")
        gamma = self.params["gamma"] + c @ self.params["W_gamma"]
        beta = self.params["beta"] + c @ self.params["W_beta"]
        return gamma.astype(work, copy=False), beta.astype(work, copy=False)

    def forward(self, x, c):
        F._check_channels(x, self.num_features, "ConditionalBatchNorm")
        x, out_dtype = F._prepare(x)
        c = np.asarray(c)
        _core.working_dtype(c, "c")
        if c.ndim != 2 or c.shape != (x.shape[0], self.cond_features):
            raise ValueError(
                "ConditionalBatchNorm expects c of shape "
                f"(N, {self.cond_features}) with "
                f"N={x.shape[0]} matching x; got shape {c.shape}."
            )
        x_hat, norm_cache = F.batch_norm_forward(
            x,
            None,
            None,
            eps=self.eps,
            training=self.training,
            running_mean=self.running_mean,
            running_var=self.running_var,
        )
        if self.training:
            self._update_running(
                norm_cache["mean"], norm_cache["var"], norm_cache["count"]
            )
        gamma, beta = self.conditioned_parameters(c.astype(x.dtype, copy=False))
        shape = x.shape[:2] + (1,) * (x.ndim - 2)
        y = x_hat * gamma.reshape(shape)
        y += beta.reshape(shape)
        self._cache = (x_hat, norm_cache, gamma.reshape(shape), c, out_dtype)
        return y.astype(out_dtype, copy=False)

    def backward(self, dy):
        """Return ``(dx, dc)`` and fill ``grads``."""
        x_hat, norm_cache, gamma, c, out_dtype = self._saved()
        dy = np.asarray(dy, dtype=x_hat.dtype)
        c = c.astype(x_hat.dtype, copy=False)
        spatial = tuple(range(2, dy.ndim))
        d_gamma_c = np.sum(dy * x_hat, axis=spatial)  # (N, C)
        d_beta_c = np.sum(dy, axis=spatial)
        dx, _, _ = F.batch_norm_backward(dy * gamma, norm_cache)
        dc = d_gamma_c @ self.params["W_gamma"].T.astype(dy.dtype)
        dc += d_beta_c @ self.params["W_beta"].T.astype(dy.dtype)
        self._cast_grads(
            dy,
            gamma=d_gamma_c.sum(0),
            beta=d_beta_c.sum(0),
            W_gamma=c.T @ d_gamma_c,
            W_beta=c.T @ d_beta_c,
        )
        return dx.astype(out_dtype, copy=False), dc
