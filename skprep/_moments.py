"""Streaming sufficient statistics shared by every feature-normalization estimator.

Everything that ``fit``, ``partial_fit`` and the Dask path learn about a data set
is reduced here to one small :class:`Moments` record per batch of rows:

* ``weight``: per-feature sum of sample weights over non-missing values,
* ``n_observed``: per-feature number of non-missing values (unweighted),
* ``mean``: per-feature weighted mean,
* ``m2``: per-feature weighted sum of squared deviations from ``mean``,
* ``minimum`` / ``maximum``: per-feature extremes (NaN ignored),
* ``scatter``: the centred scatter matrix ``sum_i w_i (x_i - mean)(x_i - mean)^T``.

Two records merge exactly (Chan, Golub & LeVeque's pairwise update), so a data set
can be reduced in any number of pieces, in any order, on any machine, and the
result equals the one-shot reduction up to float64 roundoff. Each piece is centred
on its own mean before squaring, which keeps data far from the origin (mean 1e9,
std 1) accurate: no naive sum of squares is ever formed.

Dense input is processed in row chunks of about ``chunk_bytes`` so that no
temporary the size of the input is allocated; float32 chunks are promoted to
float64 one chunk at a time.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from ._config import effective_threads

__all__ = ["Moments", "chunk_row_count", "iter_row_chunks", "moments"]

# About 4 MiB of float64 per chunk: large enough for BLAS and ufunc loops to run at
# full speed, small enough to stay in cache and to keep the peak extra memory of a
# fit far below the size of the input.
DEFAULT_CHUNK_BYTES = 4 * 2**20


def chunk_row_count(n_features, chunk_bytes=DEFAULT_CHUNK_BYTES):
    """Number of rows whose float64 copy fits in ``chunk_bytes``."""
    return max(1, int(chunk_bytes) // (8 * max(1, int(n_features))))


def iter_row_chunks(n_rows, n_features, chunk_bytes=DEFAULT_CHUNK_BYTES):
    """Yield ``slice`` objects covering ``range(n_rows)`` in float64-sized chunks."""
    step = chunk_row_count(n_features, chunk_bytes)
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


@dataclass(frozen=True)
class Moments:
    """Mergeable per-feature sufficient statistics of a set of rows.

    Fields that were not requested are ``None``; :meth:`merge` keeps a field only
    when both sides have it. All arrays are float64 except ``n_observed``
    (int64).
    """

    n_rows: int
    n_observed: np.ndarray
    weight: np.ndarray
    mean: np.ndarray
    m2: np.ndarray | None = None
    minimum: np.ndarray | None = None
    maximum: np.ndarray | None = None
    scatter: np.ndarray | None = None

    @property
    def n_features(self):
        return self.mean.shape[0]

    @property
    def has_missing(self):
        """True when some feature missed a value in some row."""
        return bool(np.any(self.n_observed != self.n_rows))

    @classmethod
    def empty(cls, n_features, *, var=True, minmax=False, scatter=False):
        """The neutral element of :meth:`merge`: statistics of zero rows."""
        zeros = np.zeros(n_features)
        return cls(
            n_rows=0,
            n_observed=np.zeros(n_features, dtype=np.int64),
            weight=zeros,
            mean=zeros,
            m2=zeros if var else None,
            minimum=np.full(n_features, np.inf) if minmax else None,
            maximum=np.full(n_features, -np.inf) if minmax else None,
            scatter=np.zeros((n_features, n_features)) if scatter else None,
        )

    def merge(self, other):
        """Statistics of the union of the rows behind ``self`` and ``other``."""
        if other.n_features != self.n_features:
            raise ValueError(
                f"Cannot merge statistics of {other.n_features} features into "
                f"statistics of {self.n_features} features."
            )
        wa, wb = self.weight, other.weight
        w = wa + wb
        # Features with no weight yet keep mean 0 and contribute nothing.
        frac_b = np.divide(wb, w, out=np.zeros_like(w), where=w > 0)
        delta = other.mean - self.mean
        mean = self.mean + delta * frac_b
        cross = wa * frac_b  # = wa * wb / w, the Chan correction weight
        m2 = None
        if self.m2 is not None and other.m2 is not None:
            m2 = self.m2 + other.m2 + delta * delta * cross
        scatter = None
        if self.scatter is not None and other.scatter is not None:
            # The scatter matrix needs complete rows, so every feature shares the
            # same weights and one scalar correction applies to the whole matrix.
            scatter = self.scatter + other.scatter
            scatter += np.outer(delta, delta) * (cross[0] if cross.size else 0.0)
        minimum = maximum = None
        if self.minimum is not None and other.minimum is not None:
            minimum = np.fmin(self.minimum, other.minimum)
            maximum = np.fmax(self.maximum, other.maximum)
        return Moments(
            n_rows=self.n_rows + other.n_rows,
            n_observed=self.n_observed + other.n_observed,
            weight=w,
            mean=mean,
            m2=m2,
            minimum=minimum,
            maximum=maximum,
            scatter=scatter,
        )

    def variance(self, ddof=0):
        """Per-feature variance ``m2 / (weight - ddof)``; NaN where undefined."""
        denom = self.weight - ddof
        return np.divide(
            self.m2, denom, out=np.full_like(self.m2, np.nan), where=denom > 0
        )

    def covariance(self, ddof=1):
        """Covariance matrix ``scatter / (weight - ddof)`` of complete rows."""
        if self.scatter is None:
            raise ValueError("These statistics were reduced without a scatter matrix.")
        denom = (self.weight[0] if self.n_features else 0.0) - ddof
        if denom <= 0:
            raise ValueError(
                f"A covariance with ddof={ddof} needs more than {ddof} samples; "
                f"got {self.n_rows}."
            )
        return self.scatter / denom

    def observed_mean(self):
        """Per-feature mean with NaN for features that have not been observed."""
        return np.where(self.weight > 0, self.mean, np.nan)

    def astuple(self):
        """The fields in declaration order (for comparisons in tests and tools)."""
        return tuple(getattr(self, f.name) for f in fields(self))


def moments(
    X,
    sample_weight=None,
    *,
    var=True,
    minmax=False,
    scatter=False,
    chunk_bytes=DEFAULT_CHUNK_BYTES,
):
    """Reduce the rows of ``X`` to :class:`Moments`.

    Parameters
    ----------
    X : ndarray or scipy sparse matrix of shape (n_samples, n_features)
        Floating point data. NaN marks a missing value and is ignored; infinity
        is an error. Sparse input cannot ask for ``scatter``.
    sample_weight : ndarray of shape (n_samples,), default=None
        Non-negative frequency weights.
    var, minmax, scatter : bool
        Which statistics besides the count and mean to reduce.
    chunk_bytes : int
        Size of the float64 working chunk for dense input.

    Returns
    -------
    Moments
    """
    n_rows, n_features = X.shape
    if sp.issparse(X):
        if scatter:
            raise TypeError("A scatter matrix of sparse input is not supported.")
        return _sparse_moments(X, sample_weight, var=var, minmax=minmax)
    if scatter:
        # Each merge of scatter matrices costs O(d^2); chunks of at least d rows
        # keep that below the O(rows * d^2) of forming them.
        chunk_bytes = max(chunk_bytes, 8 * n_features * n_features)
    chunks = list(iter_row_chunks(n_rows, n_features, chunk_bytes))

    def reduce_chunk(rows):
        w = None if sample_weight is None else sample_weight[rows]
        return _dense_chunk_moments(X[rows], w, var=var, minmax=minmax, scatter=scatter)

    threads = effective_threads(len(chunks))
    if threads > 1:
        # Chunks are independent and NumPy releases the GIL; BLAS is held to one
        # thread per worker so the pool does not oversubscribe the cores.
        with threadpool_limits(limits=1), ThreadPoolExecutor(threads) as pool:
            parts = list(pool.map(reduce_chunk, chunks))
    else:
        parts = map(reduce_chunk, chunks)
    # Merging in row order makes the result independent of the thread count.
    total = Moments.empty(n_features, var=var, minmax=minmax, scatter=scatter)
    for part in parts:
        total = part if total.n_rows == 0 else total.merge(part)
    return total


def _dense_chunk_moments(chunk, w, *, var, minmax, scatter):
    """Moments of one in-cache chunk: centred on the chunk's own mean."""
    n_rows, n_features = chunk.shape
    values = chunk.astype(np.float64, copy=False)
    sums = values.sum(axis=0) if w is None else w @ values
    # A finite column sum proves the column holds no NaN and no infinity, so the
    # common case pays for one pass of validation that it needed for the mean.
    if np.isfinite(sums).all():
        n_observed = np.full(n_features, n_rows, dtype=np.int64)
        weight = np.full(n_features, n_rows if w is None else w.sum(), dtype=float)
        missing = None
    else:
        if np.isinf(values).any():
            raise ValueError(
                "Input contains infinity; only NaN may mark missing values."
            )
        missing = np.isnan(values)
        if scatter and missing.any():
            raise ValueError("Input contains NaN, which a covariance cannot ignore.")
        values = np.where(missing, 0.0, values)
        n_observed = n_rows - missing.sum(axis=0)
        weight = n_observed.astype(float) if w is None else w @ ~missing
        sums = values.sum(axis=0) if w is None else w @ values
    mean = np.divide(sums, weight, out=np.zeros(n_features), where=weight > 0)

    m2 = scatter_matrix = None
    if var or scatter:
        centred = values - mean
        if missing is not None:
            centred[missing] = 0.0
        weighted = centred if w is None else centred * w[:, None]
        if var:
            m2 = np.einsum("ij,ij->j", weighted, centred)
        if scatter:
            scatter_matrix = weighted.T @ centred
    minimum = maximum = None
    if minmax:
        # fmin/fmax skip NaN; reduce the original dtype, which is exact.
        minimum = np.fmin.reduce(chunk, axis=0).astype(np.float64)
        maximum = np.fmax.reduce(chunk, axis=0).astype(np.float64)
        if w is not None:
            # A zero-weight row does not belong to the data set.
            zero = w == 0
            if zero.any():
                kept = chunk[~zero]
                minimum = _masked_extreme(np.fmin, kept, n_features, np.inf)
                maximum = _masked_extreme(np.fmax, kept, n_features, -np.inf)
    return Moments(
        n_rows=n_rows,
        n_observed=n_observed,
        weight=weight,
        mean=mean,
        m2=m2,
        minimum=minimum,
        maximum=maximum,
        scatter=scatter_matrix,
    )


def _masked_extreme(ufunc, rows, n_features, neutral):
    if rows.shape[0] == 0:
        return np.full(n_features, neutral)
    return ufunc.reduce(rows, axis=0).astype(np.float64)


def _sparse_moments(X, sample_weight, *, var, minmax):
    """Moments of a sparse matrix; implicit zeros are observed values."""
    n_rows, n_features = X.shape
    coo = X.tocoo()
    data = coo.data.astype(np.float64, copy=False)
    if np.isinf(data).any():
        raise ValueError("Input contains infinity; only NaN may mark missing values.")
    w_rows = np.ones(n_rows) if sample_weight is None else sample_weight
    w_entries = w_rows[coo.row]
    nan = np.isnan(data)
    col, data, w_entries = coo.col[~nan], data[~nan], w_entries[~nan]
    nan_cols = coo.col[nan]

    n_observed = n_rows - np.bincount(nan_cols, minlength=n_features).astype(np.int64)
    weight = w_rows.sum() - np.bincount(
        nan_cols, weights=w_rows[coo.row[nan]], minlength=n_features
    )
    sums = np.bincount(col, weights=w_entries * data, minlength=n_features)
    mean = np.divide(sums, weight, out=np.zeros(n_features), where=weight > 0)

    m2 = None
    if var:
        # Stored entries contribute (x - mean)^2; the implicit zeros, whose total
        # weight is what the stored entries leave over, contribute mean^2 each.
        dev = data - mean[col]
        stored_weight = np.bincount(col, weights=w_entries, minlength=n_features)
        m2 = np.bincount(col, weights=w_entries * dev * dev, minlength=n_features)
        m2 += np.clip(weight - stored_weight, 0.0, None) * mean * mean
    minimum = maximum = None
    if minmax:
        dense_part = np.zeros(n_features)
        minimum = np.full(n_features, np.inf)
        maximum = np.full(n_features, -np.inf)
        np.fmin.at(minimum, col, data)
        np.fmax.at(maximum, col, data)
        stored = np.bincount(col, minlength=n_features)
        has_zero = stored < n_observed
        minimum = np.where(has_zero, np.fmin(minimum, dense_part), minimum)
        maximum = np.where(has_zero, np.fmax(maximum, dense_part), maximum)
    return Moments(
        n_rows=n_rows,
        n_observed=n_observed,
        weight=weight,
        mean=mean,
        m2=m2,
        minimum=minimum,
        maximum=maximum,
    )
