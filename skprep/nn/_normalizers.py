"""scikit-learn transformers built on the normalization layers."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .._compat import Interval, _fit_context
from .._dask import (
    as_array,
    dispatch_transform,
    floating_block,
    is_dask_collection,
    one_thread_task,
    record_features,
)
from .._typing import Estimator, MatrixLike
from . import functional as F
from ._batches import minibatches
from .layers import BatchNorm

__all__ = ["BatchNormalizer", "GroupNormalizer", "LayerNormalizer"]

_FLOATS = [np.float64, np.float32]


def _check_affine(value, n_features, name, default):
    if value is None:
        return np.full(n_features, default)
    value = np.asarray(value, dtype=np.float64)
    if value.shape != (n_features,) or not np.isfinite(value).all():
        raise ValueError(
            f"{name} must be None or a finite array of shape ({n_features},) "
            f"(one value per feature); got shape {value.shape}."
        )
    return value


class _AffineTransformer(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Base of the normalizers: ``gamma``/``beta`` checks and ``transform``;
    subclasses write ``fit`` and ``_normalize(X, gamma, beta)``."""

    def _affine(self, n_features):
        return (
            _check_affine(self.gamma, n_features, "gamma", 1.0),
            _check_affine(self.beta, n_features, "beta", 0.0),
        )

    @dispatch_transform
    def transform(self, X: MatrixLike) -> MatrixLike:
        """Normalise ``X``: batch norm with the running statistics (evaluation
        mode), layer and group norm each row on its own.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=_FLOATS, reset=False)
        gamma, beta = self._affine(X.shape[1])
        return self._normalize(X, gamma, beta)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class BatchNormalizer(_AffineTransformer):
    r"""Batch normalization as a transformer: running statistics from mini-batches.

    ``fit`` runs a :class:`~skprep.nn.BatchNorm` layer in training mode over the
    rows in mini-batches of ``batch_size``, so the running mean and variance are
    exactly what a network trained on these batches would hold; ``transform``
    applies evaluation mode,

    .. math::

        y = \gamma \frac{x - \hat{\mu}}{\sqrt{\hat{\sigma}^2 + \epsilon}} + \beta,

    with :math:`\hat{\mu}, \hat{\sigma}^2` the running statistics, so each output
    row depends on its own input row only.

    Parameters
    ----------
    batch_size : int, default=256
        Rows per training mini-batch. A last batch of fewer than
        ``batch_size / 2`` rows (or of one row, whose variance is undefined)
        joins the batch before, as in :class:`NormalizedMLPClassifier`.
    momentum : float or None, default=0.1
        ``running = (1 - momentum) * running + momentum * batch`` (unbiased batch
        variance); None averages all batches equally, which for equal batch sizes
        gives the data mean and the mean of the per-batch unbiased variances.
    eps : float, default=1e-5
    shuffle : bool, default=False
        Shuffle the rows before batching (with ``random_state``).
    random_state : int, RandomState instance or None, default=None
    gamma, beta : array-like of shape (n_features,) or None, default=None
        Learned scale and shift to apply (e.g. taken from a trained network);
        None means 1 and 0.

    Attributes
    ----------
    running_mean_, running_var_ : ndarray of shape (n_features,)
    num_batches_tracked_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)

    Examples
    --------
    >>> import numpy as np
    >>> from skprep.nn import BatchNormalizer
    >>> X = np.random.default_rng(0).normal(5.0, 2.0, size=(1000, 3))
    >>> bn = BatchNormalizer(batch_size=100, momentum=None).fit(X)
    >>> bn.num_batches_tracked_
    10
    >>> bool(np.allclose(bn.transform(X).mean(0), 0, atol=1e-12))
    True
    """

    _parameter_constraints: dict = {
        "batch_size": [Interval(Integral, 2, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="both"), None],
        "eps": [Interval(Real, 0, None, closed="neither")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "gamma": ["array-like", None],
        "beta": ["array-like", None],
    }

    def __init__(
        self,
        batch_size=256,
        *,
        momentum=0.1,
        eps=1e-5,
        shuffle=False,
        random_state=None,
        gamma=None,
        beta=None,
    ):
        self.batch_size = batch_size
        self.momentum = momentum
        self.eps = eps
        self.shuffle = shuffle
        self.random_state = random_state
        self.gamma = gamma
        self.beta = beta

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self: Estimator, X: MatrixLike, y: object = None) -> Estimator:
        """Run training-mode batch norm over ``X`` in mini-batches.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        self : BatchNormalizer
        """
        if is_dask_collection(X):
            return _dask_fit_batch_normalizer(self, X)
        for name in ("running_mean_", "running_var_", "num_batches_tracked_"):
            if hasattr(self, name):
                delattr(self, name)
        X = self._validate(X, reset=True)
        order = np.arange(X.shape[0])
        if self.shuffle:
            check_random_state(self.random_state).shuffle(order)
        for rows in minibatches(X.shape[0], self.batch_size, batch_norm=True):
            self._train_on(X[order[rows]])
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self: Estimator, X: MatrixLike, y: object = None) -> Estimator:
        """Run training-mode batch norm on one mini-batch ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), n_samples >= 2
        y : None
            Ignored.

        Returns
        -------
        self : BatchNormalizer
        """
        if is_dask_collection(X):
            return _dask_fit_batch_normalizer(self, X, reset=False)
        X = self._validate(X, reset=not hasattr(self, "running_mean_"))
        self._train_on(X)
        return self

    def _validate(self, X, reset):
        X = validate_data(self, X, dtype=_FLOATS, reset=reset)
        if X.shape[0] < 2:
            raise ValueError(
                "BatchNormalizer needs at least 2 samples per batch to compute batch "
                f"statistics; got {X.shape[0]} sample."
            )
        self._affine(X.shape[1])
        return X

    def _train_on(self, batch):
        layer = BatchNorm(
            batch.shape[1], eps=self.eps, momentum=self.momentum, affine=False
        )
        if hasattr(self, "running_mean_"):
            layer.running_mean = self.running_mean_
            layer.running_var = self.running_var_
            layer.num_batches_tracked = np.array(self.num_batches_tracked_)
        layer.forward(batch)
        self.running_mean_ = layer.running_mean
        self.running_var_ = layer.running_var
        self.num_batches_tracked_ = int(layer.num_batches_tracked)

    def _normalize(self, X, gamma, beta):
        y, _ = F.batch_norm_forward(
            X,
            gamma,
            beta,
            eps=self.eps,
            training=False,
            running_mean=self.running_mean_,
            running_var=self.running_var_,
        )
        return y


class LayerNormalizer(_AffineTransformer):
    r"""Layer normalization of each row over its features.

    .. math::

        y_i = \gamma \frac{x_i - \bar{x}_i}{\sqrt{s_i^2 + \epsilon}} + \beta,

    with the mean and biased variance of row :math:`i` alone: there are no
    training statistics, so ``fit`` only records the feature count and checks
    ``gamma`` and ``beta``.

    Parameters
    ----------
    eps : float, default=1e-5
    gamma, beta : array-like of shape (n_features,) or None, default=None
        Learned elementwise scale and shift; None means 1 and 0.

    Attributes
    ----------
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)

    Examples
    --------
    >>> import numpy as np
    >>> from skprep.nn import LayerNormalizer
    >>> LayerNormalizer(eps=0).fit_transform(np.array([[1.0, 3.0], [5.0, 15.0]]))
    array([[-1.,  1.],
           [-1.,  1.]])
    """

    _parameter_constraints: dict = {
        "eps": [Interval(Real, 0, None, closed="left")],
        "gamma": ["array-like", None],
        "beta": ["array-like", None],
    }

    def __init__(self, *, eps=1e-5, gamma=None, beta=None):
        self.eps = eps
        self.gamma = gamma
        self.beta = beta

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self: Estimator, X: MatrixLike, y: object = None) -> Estimator:
        """Record the number of features and check the affine parameters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        self
        """
        X = validate_data(self, X, dtype=_FLOATS, reset=True)
        self._check_width(X.shape[1])
        self._affine(X.shape[1])
        self.fitted_ = True
        return self

    def _check_width(self, n_features):
        """Hook for subclasses whose settings constrain the feature count."""

    def _normalize(self, X, gamma, beta):
        return F.layer_norm_forward(X, gamma, beta, eps=self.eps)[0]


class GroupNormalizer(LayerNormalizer):
    r"""Group normalization of each row: features split into ``num_groups`` groups.

    Each row's features are cut into ``num_groups`` consecutive groups of equal
    size, and each group is standardised with its own mean and biased variance;
    a per-feature ``gamma`` and ``beta`` follow. ``num_groups=1`` is
    :class:`LayerNormalizer`.

    Parameters
    ----------
    num_groups : int, default=1
        Must divide the number of features.
    eps : float, default=1e-5
    gamma, beta : array-like of shape (n_features,) or None, default=None

    Attributes
    ----------
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)

    Examples
    --------
    >>> import numpy as np
    >>> from skprep.nn import GroupNormalizer
    >>> X = np.array([[1.0, 3.0, 10.0, 30.0]])
    >>> GroupNormalizer(num_groups=2, eps=0).fit_transform(X)
    array([[-1.,  1., -1.,  1.]])
    """

    _parameter_constraints: dict = {
        **LayerNormalizer._parameter_constraints,
        "num_groups": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, num_groups=1, *, eps=1e-5, gamma=None, beta=None):
        super().__init__(eps=eps, gamma=gamma, beta=beta)
        self.num_groups = num_groups

    def _check_width(self, n_features):
        if n_features % self.num_groups:
            raise ValueError(
                f"num_groups={self.num_groups} must divide the number of features "
                f"({n_features})."
            )

    def _normalize(self, X, gamma, beta):
        return F.group_norm_forward(
            X, gamma, beta, num_groups=self.num_groups, eps=self.eps
        )[0]


@one_thread_task
def _batch_statistics(block, batch_size):
    """Per-mini-batch mean, biased variance and row count of one block."""
    block = floating_block(block)
    n = block.shape[0]
    stats = []
    for rows in minibatches(n, batch_size, batch_norm=True):
        part = block[rows]
        if part.shape[0] < 2:
            raise ValueError(
                "A Dask block holds a single row, which has no batch variance; "
                "rechunk so that every block has at least 2 rows."
            )
        stats.append((part.mean(axis=0), part.var(axis=0), part.shape[0]))
    return stats


def _dask_fit_batch_normalizer(est, X, *, reset=True):
    """Fit a :class:`~skprep.nn.BatchNormalizer` on a Dask collection.

    Mini-batches are cut within each block as ``fit`` cuts the whole array (a
    short last batch joins the batch before), their mean and variance are
    computed on the workers, and the running-average recurrence, which is
    sequential by nature, is replayed on the client over those small vectors in
    block order. The result equals ``fit`` on the in-memory data whenever the
    block sizes are multiples of ``batch_size``.
    """
    import dask

    if est.shuffle:
        raise ValueError("shuffle=True is not supported with Dask collections.")
    array, names = as_array(X)
    if reset or not hasattr(est, "running_mean_"):
        reset = True
    record_features(est, array.shape[1], names, reset)
    est._affine(array.shape[1])
    blocks = array.to_delayed().ravel()
    per_block = dask.compute(
        *[dask.delayed(_batch_statistics)(b, est.batch_size) for b in blocks]
    )
    layer = BatchNorm(array.shape[1], eps=est.eps, momentum=est.momentum, affine=False)
    if not reset:
        layer.running_mean, layer.running_var = est.running_mean_, est.running_var_
        layer.num_batches_tracked = np.array(est.num_batches_tracked_)
    for batch_mean, batch_var, count in (s for block in per_block for s in block):
        layer._update_running(batch_mean, batch_var, count)
    if int(layer.num_batches_tracked) == 0:
        raise ValueError("Found array with 0 sample(s); a minimum of 2 is required.")
    est.running_mean_ = layer.running_mean
    est.running_var_ = layer.running_var
    est.num_batches_tracked_ = int(layer.num_batches_tracked)
    return est
