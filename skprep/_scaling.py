"""Per-feature affine scalers: min-max and z-score."""

from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import OneToOneFeatureMixin
from sklearn.utils.validation import FLOAT_DTYPES, validate_data

from ._base import MomentsEstimator, check_fitted, warn
from ._compat import Interval
from ._dask import dispatch_transform
from ._kernels import affine_columns, has_infinity, overflow_error
from ._linalg import constant_features, moment_constant_features, safe_scale
from ._moments import infinity_error
from ._typing import MatrixLike

__all__ = ["MinMaxScaler", "ZScoreScaler"]


def _apply(X, original, copy, **terms):
    """Run the affine kernel in place when that cannot touch the caller's array."""
    owns_buffer = not np.may_share_memory(X, original)
    in_place = (owns_buffer or not copy) and X.flags.writeable
    checked = in_place and X is original
    if checked and has_infinity(X):
        # Working in place on the caller's array: refuse before writing into it.
        raise infinity_error()
    # Otherwise the kernel finds infinity on its in-cache result chunks.
    return affine_columns(
        X, out=X if in_place else None, check_inf=not checked, **terms
    )


def _name(estimator, j):
    """Feature ``j`` as a user names it: its column name, else its index."""
    names = getattr(estimator, "feature_names_in_", None)
    return repr(str(names[j])) if names is not None else str(j)


def _scale_sparse_columns(X, factor, copy):
    """Multiply each column of a CSR/CSC matrix by ``factor``, in float64.

    The stored values are computed in float64 and rounded once to their dtype,
    as the dense kernels do; implicit zeros stay implicit.
    """
    if np.isinf(X.data).any():
        raise infinity_error()
    X = X.copy() if copy else X
    if X.format == "csr":
        per_entry = factor[X.indices]
    else:  # csc: the column of each stored value follows from indptr
        per_entry = np.repeat(factor, np.diff(X.indptr))
    with np.errstate(over="ignore"):
        X.data[...] = X.data * per_entry
    overflow = np.isinf(X.data)
    if overflow.any():
        columns = (
            X.indices
            if X.format == "csr"
            else np.repeat(np.arange(X.shape[1]), np.diff(X.indptr))
        )
        raise overflow_error(X.dtype, columns[overflow])
    return X


class _MomentsScaler(OneToOneFeatureMixin, MomentsEstimator):
    """Validation shared by the per-feature scalers."""

    def _validate_transform_input(self, X):
        check_fitted(self)
        return validate_data(
            self,
            X,
            reset=False,
            accept_sparse=("csr", "csc") if self._accept_sparse else False,
            dtype=FLOAT_DTYPES,
            # Infinity is caught by the transform kernels on each in-cache chunk.
            ensure_all_finite=False,
            copy=False,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class MinMaxScaler(_MomentsScaler):
    r"""Rescale each feature to ``feature_range`` using the training extremes.

    .. math::

        x' = a + (x - \min_{\text{train}})
             \frac{b - a}{\max_{\text{train}} - \min_{\text{train}}}

    The minimum and maximum come from the data passed to ``fit`` (or all the
    batches passed to ``partial_fit``) only; ``transform`` applies them to any
    later data, whose values may therefore fall outside ``[a, b]`` unless
    ``clip=True``.

    Parameters
    ----------
    feature_range : tuple (a, b), default=(0, 1)
        Target interval; ``a < b`` is required.
    copy : bool, default=True
        If False, ``transform`` overwrites a float ndarray input in place.
    clip : bool, default=False
        Clip transformed values to ``feature_range``.

    Attributes
    ----------
    data_min_ : ndarray of shape (n_features,)
        Per-feature minimum seen in training, NaN ignored.
    data_max_ : ndarray of shape (n_features,)
        Per-feature maximum seen in training, NaN ignored.
    data_range_ : ndarray of shape (n_features,)
        ``data_max_ - data_min_``.
    scale_ : ndarray of shape (n_features,)
        ``(b - a) / data_range_``; a constant feature gets ``b - a`` (range 1),
        so it maps to ``a`` instead of dividing by zero.
    min_ : ndarray of shape (n_features,)
        ``a - data_min_ * scale_``, so that ``transform(X) == X * scale_ + min_``.
    n_samples_seen_ : int or ndarray of shape (n_features,)
        Rows seen; per-feature counts of non-missing values if any were missing.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when ``X`` was a DataFrame with string column names.

    See Also
    --------
    ZScoreScaler : Centre and scale to unit variance.

    Notes
    -----
    NaN values are ignored when fitting and kept as NaN by ``transform``.
    Infinity is refused. The statistics are reduced in row chunks through the
    shared streaming core, so ``partial_fit`` over any split of the rows gives
    exactly the same scaler as one ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from skprep import MinMaxScaler
    >>> X_train = np.array([[0.0, 10.0], [5.0, 20.0], [10.0, 30.0]])
    >>> scaler = MinMaxScaler(feature_range=(-1, 1)).fit(X_train)
    >>> scaler.transform([[5.0, 40.0]])
    array([[0., 2.]])
    >>> MinMaxScaler(feature_range=(-1, 1), clip=True).fit(X_train).transform(
    ...     [[5.0, 40.0]])
    array([[0., 1.]])
    """

    _parameter_constraints: dict = {
        "feature_range": [tuple],
        "copy": ["boolean"],
        "clip": ["boolean"],
    }

    def __init__(self, feature_range=(0, 1), *, copy=True, clip=False):
        self.feature_range = feature_range
        self.copy = copy
        self.clip = clip

    def _moments_request(self):
        # The extremes alone: no mean, so fitting is two in-cache reductions.
        return {"var": False, "minmax": True, "mean": False}

    def _check_params(self):
        low, high = self._bounds()
        if not (low < high and np.isfinite(high - low)):
            raise ValueError(
                "feature_range must be (a, b) with a < b and a finite width b - a; "
                f"got {tuple(self.feature_range)!r}."
            )

    def _bounds(self):
        try:
            low, high = (float(v) for v in self.feature_range)
        except (TypeError, ValueError):
            raise ValueError(
                "feature_range must be a pair of numbers (a, b); got "
                f"{self.feature_range!r}."
            ) from None
        return low, high

    def _derive_fitted(self, stats):
        low, high = self._bounds()
        self.n_samples_seen_ = (
            stats.n_observed.copy() if stats.has_missing else stats.n_rows
        )
        self.data_min_ = stats.minimum
        self.data_max_ = stats.maximum
        self.data_range_ = stats.maximum - stats.minimum
        magnitude = np.fmax(np.abs(stats.minimum), np.abs(stats.maximum))
        constant = constant_features(self.data_range_, magnitude)
        with np.errstate(over="ignore", divide="ignore"):
            self.scale_ = (high - low) / safe_scale(self.data_range_, constant)
        tiny = ~np.isfinite(self.scale_)
        if tiny.any():
            j = int(np.flatnonzero(tiny)[0])
            raise ValueError(
                f"The range of feature {_name(self, j)} ({self.data_range_[j]:.3g}) "
                "is too small to divide by in float64; multiply the feature by a "
                "power of ten before fitting."
            )
        self.min_ = low - self.data_min_ * self.scale_

    @dispatch_transform
    def transform(self, X: MatrixLike) -> MatrixLike:
        """Scale ``X`` with the training minimum and maximum.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to scale; NaN stays NaN.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
            Same floating dtype as the validated input.
        """
        original = X
        X = self._validate_transform_input(X)
        low, high = self._bounds()
        # Subtracting the minimum first keeps data far from the origin exact.
        # Adding a zero lower bound would cost a pass over the output for nothing.
        return _apply(
            X,
            original,
            self.copy,
            shift=self.data_min_,
            factor=self.scale_,
            offset=None if low == 0 else np.full(self.n_features_in_, low),
            bounds=(low, high) if self.clip else None,
        )

    @dispatch_transform
    def inverse_transform(self, X: MatrixLike) -> MatrixLike:
        """Map scaled data back to the original units.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Scaled data.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
        """
        original = X
        X = self._validate_transform_input(X)
        low, _ = self._bounds()
        return _apply(
            X,
            original,
            self.copy,
            shift=np.full(self.n_features_in_, low),
            factor=1.0 / self.scale_,
            offset=self.data_min_,
        )


class ZScoreScaler(_MomentsScaler):
    r"""Centre each feature on its training mean and divide by its training std.

    .. math::

        x' = \frac{x - \bar{x}_{\text{train}}}{s_{\text{train}}},
        \qquad
        s^2_{\text{train}} = \frac{1}{n - \text{ddof}} \sum_i (x_i - \bar{x})^2

    With the default ``ddof=0`` the standard deviation is the biased (population)
    one, as in scikit-learn's ``StandardScaler``, so transformed training data
    have unit variance under ``np.var``; ``ddof=1`` uses the unbiased estimate.

    Parameters
    ----------
    copy : bool, default=True
        If False, ``transform`` overwrites a float ndarray input in place.
    with_mean : bool, default=True
        Subtract the mean. Must be False for sparse input (centring would make it
        dense).
    with_std : bool, default=True
        Divide by the standard deviation.
    ddof : float, default=0
        Delta degrees of freedom of the variance: ``m2 / (n - ddof)``, where with
        ``sample_weight`` ``n`` is the sum of the weights (frequency weights).

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Per-feature (weighted) mean of the training data, NaN ignored.
    var_ : ndarray of shape (n_features,) or None
        Per-feature variance with the chosen ``ddof``; None if ``with_std=False``.
    scale_ : ndarray of shape (n_features,) or None
        ``sqrt(var_)``, with 1 for constant features (they are only centred);
        None if ``with_std=False``.
    n_samples_seen_ : int or ndarray of shape (n_features,)
        Rows seen; per-feature counts of non-missing values if any were missing.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when ``X`` was a DataFrame with string column names.

    See Also
    --------
    MinMaxScaler : Rescale to a fixed interval.
    Whitening : Also remove the correlations between features.

    Notes
    -----
    The statistics are reduced through the shared streaming core: each row chunk
    gives its mean and sum of squared deviations (summed about zero or about a
    value of the chunk only where that loses no more than a few bits, else
    centred), and chunks are merged with Chan's update carrying each mean's
    rounding error, so data far from the origin keep full precision and
    ``partial_fit`` in any number of batches equals one ``fit``. NaN values are
    ignored when fitting and kept as NaN by ``transform``; infinity is refused.

    Examples
    --------
    >>> import numpy as np
    >>> from skprep import ZScoreScaler
    >>> X_train = np.array([[1.0, -1.0], [3.0, 1.0]])
    >>> scaler = ZScoreScaler().fit(X_train)
    >>> scaler.mean_, scaler.scale_
    (array([2., 0.]), array([1., 1.]))
    >>> scaler.transform([[2.0, 3.0]])
    array([[0., 3.]])
    """

    _parameter_constraints: dict = {
        "copy": ["boolean"],
        "with_mean": ["boolean"],
        "with_std": ["boolean"],
        "ddof": [Interval(Real, 0, None, closed="left")],
    }
    _accept_sparse = True

    def __init__(self, *, copy=True, with_mean=True, with_std=True, ddof=0):
        self.copy = copy
        self.with_mean = with_mean
        self.with_std = with_std
        self.ddof = ddof

    def _moments_request(self):
        return {"var": True}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Sparse input is accepted only when it will not be centred.
        tags.input_tags.sparse = not self.with_mean
        return tags

    def _validate_batch(self, X, reset, min_samples=1):
        X = super()._validate_batch(X, reset, min_samples)
        self._refuse_sparse_centring(X)
        return X

    def _unready(self, stats):
        if not self.with_std or self.ddof == 0:
            return None
        short = (stats.weight > 0) & (stats.weight <= self.ddof)
        if not short.any():
            return None
        j = int(np.flatnonzero(short)[0])
        return (
            f"the variance of feature {_name(self, j)} with ddof={self.ddof} needs "
            f"a total sample weight (non-missing rows, without sample_weight) above "
            f"{self.ddof}; it has {stats.weight[j]:g}."
        )

    def _refuse_sparse_centring(self, X):
        if sp.issparse(X) and self.with_mean:
            raise ValueError(
                "Cannot centre sparse input: subtracting the mean would make it "
                "dense. Pass with_mean=False to only scale it, or convert it with "
                "X.toarray() if it fits in memory."
            )

    def _derive_fitted(self, stats):
        self.n_samples_seen_ = (
            stats.n_observed.copy() if stats.has_missing else stats.n_rows
        )
        self.mean_ = stats.observed_mean()
        if self.with_std:
            self.var_ = stats.variance(self.ddof)
            constant = moment_constant_features(self.var_, stats.mean)
            self.scale_ = safe_scale(np.sqrt(self.var_), constant)
            # Deviations below about 1e-154 square to subnormal numbers or zero
            # in float64: a variance below the smallest normal number lost
            # digits, and a zero variance of values this small may be an
            # underflow rather than a constant.
            magnitude = np.abs(stats.mean)
            tiny = (self.var_ > 0) | ((magnitude > 0) & (magnitude < 1e-140))
            tiny &= self.var_ < np.finfo(np.float64).tiny
            if tiny.any():
                j = int(np.flatnonzero(tiny)[0])
                warn(
                    f"Feature {_name(self, j)} has values of magnitude "
                    f"{magnitude[j]:.1e} with a spread so small that squared "
                    "deviations underflow float64 (below about 1e-154 they lose "
                    "digits or read as 0): its scale is inaccurate or treated as "
                    "constant. Multiply it by a power of ten first."
                )
        else:
            self.var_ = None
            self.scale_ = None

    @dispatch_transform
    def transform(self, X: MatrixLike) -> MatrixLike:
        """Standardise ``X`` with the training mean and standard deviation.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to scale; NaN stays NaN.

        Returns
        -------
        X_new : {ndarray, sparse matrix} of shape (n_samples, n_features)
        """
        original = X
        X = self._validate_transform_input(X)
        if sp.issparse(X):
            self._refuse_sparse_centring(X)
            factor = 1.0 / self.scale_ if self.with_std else np.ones(X.shape[1])
            return _scale_sparse_columns(X, factor, self.copy)
        return _apply(
            X,
            original,
            self.copy,
            shift=self.mean_ if self.with_mean else None,
            factor=1.0 / self.scale_ if self.with_std else None,
        )

    @dispatch_transform
    def inverse_transform(self, X: MatrixLike) -> MatrixLike:
        """Undo the standardisation.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Standardised data.

        Returns
        -------
        X_original : {ndarray, sparse matrix} of shape (n_samples, n_features)
        """
        original = X
        X = self._validate_transform_input(X)
        if sp.issparse(X):
            self._refuse_sparse_centring(X)
            factor = self.scale_ if self.with_std else np.ones(X.shape[1])
            return _scale_sparse_columns(X, factor, self.copy)
        return _apply(
            X,
            original,
            self.copy,
            factor=self.scale_ if self.with_std else None,
            offset=self.mean_ if self.with_mean else None,
        )
