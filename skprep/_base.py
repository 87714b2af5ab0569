"""The family base classes: one fit flow for every estimator fitted from
streaming moments, and one transform for the projections (PCA, whitening).

Data flow one way: validate a batch -> reduce it to a
:class:`~skprep._moments.Moments` record -> merge it into what was seen before ->
derive the fitted attributes -> ``transform`` reads those attributes only. An
estimator writes only its own parts:

* ``_moments_request()``: which statistics to reduce (the keyword arguments of
  :func:`~skprep._moments.moments`);
* ``_derive_fitted(stats)``: its fitted attributes from the merged record;
* optionally ``_check_params()`` (parameter checks beyond
  ``_parameter_constraints``), ``_validate_batch(X, reset)`` and
  ``_unready(stats)`` (why the rows seen so far cannot give a model yet).
"""

import sys
import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._compat import _check_sample_weight, _fit_context
from ._dask import dask_fit, dispatch_transform, is_dask_collection
from ._kernels import project_rows
from ._moments import moments
from ._typing import Estimator, MatrixLike

__all__ = ["MomentsEstimator", "ProjectionMixin", "check_fitted", "warn"]

# float16 is computed in float64 and returned as float16 (see _kernels).
_FLOATS = [np.float64, np.float32, np.float16]


class MomentsEstimator(TransformerMixin, BaseEstimator):
    """``fit`` and ``partial_fit`` over :class:`~skprep._moments.Moments`.

    The merged statistics are kept in ``_moments``, so that ``partial_fit`` and
    the Dask path continue from exactly what ``fit`` saw, whichever way the rows
    arrived.
    """

    _accept_sparse = False
    # An attribute every fit (of any solver) sets.
    _fitted_attribute = "_moments"

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self: Estimator,
        X: MatrixLike,
        y: object = None,
        sample_weight: MatrixLike | None = None,
    ) -> Estimator:
        """Learn the statistics of ``X`` and derive the fitted attributes.

        Parameters
        ----------
        X : {array-like, sparse matrix, Dask array} of shape (n_samples, n_features)
            Training data (sparse where the estimator's tags allow it).
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative frequency weights: a weight of 2 counts a row twice, 0
            leaves it out. Not supported with Dask collections.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, sample_weight, reset=True)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(
        self: Estimator,
        X: MatrixLike,
        y: object = None,
        sample_weight: MatrixLike | None = None,
    ) -> Estimator:
        """Merge one more batch of rows into the statistics seen so far.

        After any number of batches the estimator equals ``fit`` on all of
        them (to float64 roundoff). Batches may be single rows; an estimator
        that needs several rows (a covariance needs two) is fitted once it has
        seen them.

        Parameters
        ----------
        X : {array-like, sparse matrix, Dask array} of shape (n_samples, n_features)
            A batch of training data.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative frequency weights of the batch's rows.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit(X, sample_weight, reset=False)

    def _fit(self, X, sample_weight, *, reset):
        """The template method: check, validate, reduce, merge, derive."""
        self._check_params()
        if is_dask_collection(X):
            return dask_fit(self, X, reset=reset, sample_weight=sample_weight)
        if reset:
            self._reset()
        first = not hasattr(self, "_moments")
        min_samples = self._min_fit_samples() if reset else 1
        X = self._validate_batch(X, reset=first, min_samples=min_samples)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
        batch = moments(X, sample_weight, **self._moments_request())
        return self._accumulate(batch, whole=reset)

    def _check_params(self):
        """Checks of parameters that ``_parameter_constraints`` cannot express."""

    def _min_fit_samples(self):
        """Rows ``fit`` needs; ``partial_fit`` accumulates from one."""
        return 1

    def _validate_batch(self, X, reset, min_samples=1):
        # NaN and infinity are found by the moments core on its way through the
        # data, which spares validation a pass.
        return validate_data(
            self,
            X,
            accept_sparse=("csr", "csc") if self._accept_sparse else False,
            dtype=_FLOATS,
            ensure_min_samples=min_samples,
            ensure_all_finite=False,
            reset=reset,
        )

    def _reset(self):
        if hasattr(self, "_moments"):
            del self._moments

    def _moments_request(self):
        raise NotImplementedError

    def _derive_fitted(self, stats):
        raise NotImplementedError

    def _unready(self, stats):
        """Why ``stats`` cannot give a model yet (a sentence), or None."""
        return None

    def _accumulate(self, batch, *, whole):
        """Merge one batch of statistics and refresh the fitted attributes.

        ``fit`` (``whole``) raises ValueError when its rows cannot give a
        model; ``partial_fit`` keeps accumulating until they can, and until
        then the estimator is not fitted, and says why.
        """
        previous = getattr(self, "_moments", None)
        with np.errstate(over="ignore", invalid="ignore"):
            merged = batch if previous is None else previous.merge(batch)
        merged.check_finite(getattr(self, "feature_names_in_", None))
        self._moments = merged
        self._not_fitted_because = self._unready(merged)
        if self._not_fitted_because is None:
            self._derive_fitted(merged)
        elif whole:
            reason = self._not_fitted_because
            raise ValueError(reason[:1].upper() + reason[1:])
        return self

    def __sklearn_is_fitted__(self):
        return (
            hasattr(self, self._fitted_attribute)
            and getattr(self, "_not_fitted_because", None) is None
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = self._accept_sparse
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def check_fitted(estimator):
    """``check_is_fitted``, saying why when ``partial_fit`` has not yet seen
    enough rows."""
    reason = getattr(estimator, "_not_fitted_because", None)
    msg = None
    if reason is not None:
        msg = f"This %(name)s instance is not fitted yet: {reason}"
    check_is_fitted(estimator, msg=msg)


def warn(message, category=UserWarning):
    """``warnings.warn`` pointing at the first caller outside skprep and
    scikit-learn (whose ``_fit_context`` wraps every ``fit``)."""
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_globals.get("__name__", "").startswith(
        ("skprep.", "sklearn.")
    ):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


class ProjectionMixin(TransformerMixin):
    """``transform`` and ``inverse_transform`` of a fitted linear projection.

    ``transform(X) = (X - mean_) @ self._projection()`` and
    ``inverse_transform(Z) = Z @ self._reconstruction() + mean_``, each computed
    in float64 chunk by chunk and rounded once into the input's dtype
    (:func:`~skprep._kernels.project_rows`).
    """

    _accept_sparse = False

    def _projection(self):
        """The (n_features, n_components_) matrix of ``transform``."""
        raise NotImplementedError

    def _reconstruction(self):
        """The (n_components_, n_features) matrix of ``inverse_transform``."""
        raise NotImplementedError

    @dispatch_transform
    def transform(self, X: MatrixLike) -> MatrixLike:
        """Project ``X`` with the training mean and the fitted matrix.

        Parameters
        ----------
        X : {array-like, Dask collection} of shape (n_samples, n_features)
            Sparse input is accepted by PCA.

        Returns
        -------
        X_new : ndarray of shape (n_samples, `n_components_`)
            Same floating dtype as the input.
        """
        check_fitted(self)
        X = validate_data(
            self,
            X,
            accept_sparse=("csr", "csc") if self._accept_sparse else False,
            dtype=_FLOATS,
            reset=False,
        )
        return project_rows(X, shift=self.mean_, matrix=self._projection())

    @dispatch_transform
    def inverse_transform(self, X: MatrixLike) -> MatrixLike:
        """Map transformed data back to the feature space.

        Parameters
        ----------
        X : {array-like, Dask collection} of shape (n_samples, `n_components_`)

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            Exact for training-like rows; the part of a row that lay in a
            discarded direction cannot be recovered.
        """
        check_fitted(self)
        Z = check_array(X, dtype=_FLOATS, ensure_min_features=0)
        if Z.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {Z.shape[1]} columns, but this {type(self).__name__} outputs "
                f"{self.n_components_} components; inverse_transform takes "
                "transformed data."
            )
        return project_rows(Z, matrix=self._reconstruction(), offset=self.mean_)
