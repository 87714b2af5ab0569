"""Plumbing shared by every estimator fitted from streaming moments."""

import numpy as np

__all__ = ["StreamingMomentsMixin"]


class StreamingMomentsMixin:
    """``fit``/``partial_fit`` bookkeeping over :class:`~skprep._moments.Moments`.

    An estimator says which statistics it needs in ``_moments_request()`` (the
    keyword arguments of :func:`~skprep._moments.moments`) and derives its fitted
    attributes from the merged record in ``_derive_fitted(stats)``. The merged
    statistics are kept in ``_moments`` so that ``partial_fit`` and the Dask path
    continue from exactly what ``fit`` saw, whichever way the rows arrived.
    """

    def _reset(self):
        if hasattr(self, "_moments"):
            del self._moments

    def _moments_request(self):
        raise NotImplementedError

    def _derive_fitted(self, stats):
        raise NotImplementedError

    def _ready(self, stats):
        """Whether ``stats`` hold enough rows to derive the fitted attributes."""
        return True

    def _accumulate(self, batch):
        """Merge one batch of statistics and refresh the fitted attributes.

        Estimators that need a minimum number of rows (a covariance needs two)
        keep accumulating until ``_ready`` says so, so streaming one row at a time
        works; until then they are not fitted.
        """
        previous = getattr(self, "_moments", None)
        with np.errstate(over="ignore", invalid="ignore"):
            merged = batch if previous is None else previous.merge(batch)
        merged.check_finite(getattr(self, "feature_names_in_", None))
        self._moments = merged
        if self._ready(self._moments):
            self._derive_fitted(self._moments)
        return self
