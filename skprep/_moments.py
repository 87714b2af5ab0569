"""Streaming sufficient statistics shared by every feature-normalization estimator.

Everything that ``fit``, ``partial_fit`` and the Dask path learn about a data set
is reduced here to one small :class:`Moments` record per batch of rows:

* ``weight``: per-feature sum of sample weights over non-missing values,
* ``n_observed``: per-feature number of non-missing values (unweighted),
* ``mean``: per-feature weighted mean,
* ``m2``: per-feature weighted sum of squared deviations from ``mean``,
* ``minimum`` / ``maximum``: per-feature extremes (NaN ignored),
* ``scatter``: the centred scatter matrix ``sum_i w_i (x_i - mean)(x_i - mean)^T``,
* ``mean_error``: the rounding error of ``mean``, carried by the merges.

Two records merge exactly (Chan, Golub & LeVeque's pairwise update), so a data set
can be reduced in any number of pieces, in any order, on any machine, and the
result equals the one-shot reduction up to float64 roundoff. Squares are summed
about zero or about a value of the data only where Chan, Golub & LeVeque's
condition number bounds the rounding of ``m2 = sum (x - K)^2 - n (mean - K)^2``
to a few bits; elsewhere each piece is centred on its own mean before squaring,
which keeps data far from the origin (mean 1e9, std 1) accurate. A constant
feature has m2 = 0 exactly.

Dense input is processed in row chunks of about ``chunk_bytes`` so that no
temporary the size of the input is allocated; float32 chunks are promoted to
float64 one chunk at a time.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, fields, replace

import numpy as np
import scipy.sparse as sp
from scipy.linalg.blas import dsyrk

from ._chunks import (
    DEFAULT_CHUNK_BYTES,
    Scratch,
    chunk_row_count,
    column_reduce,
    column_sum_of_squares,
    quiet_probe,
    row_blocks,
    rowwise,
    run_blocks,
)
from ._fused import charge_numpy, chunk_kernel

__all__ = ["Moments", "infinity_error", "moments"]


def _gram_upper(a):
    """The upper triangle of ``a.T @ a`` in float64 (SciPy's BLAS syrk); zeros below.

    For scatter matrices formed outside our thread pool, where BLAS runs its own
    threads: SciPy's BLAS is the library of the eigendecomposition that follows
    in PCA and whitening. NumPy and SciPy each bundle an OpenBLAS with its own
    thread pool, whose threads spin for a while after a call; alternating
    between the two left each pool's spinners competing with the other's
    workers (measured: PCA fit on 5,000 x 1,000 data 190 ms with the products in
    NumPy, 85 ms in SciPy). Inside our pool NumPy's matmul is used instead:
    SciPy's BLAS wrappers hold the GIL, which serialised two workers (2x slower).
    """
    # A C-ordered (n, d) array is a Fortran-ordered (d, n) one: passing ``a.T``
    # with trans=0 lets syrk read it in place.
    return dsyrk(1.0, a.T, trans=0)


def _matmul_gram(a):
    return a.T @ a


def _symmetrize_upper(c):
    """Full symmetric matrix from :func:`_gram_upper`'s triangle (zeros below)."""
    full = c + c.T
    full[np.diag_indices_from(full)] *= 0.5  # the diagonal was added to itself
    return full


def _gram(a):
    """``a.T @ a`` in float64, exactly symmetric, through SciPy's BLAS."""
    return _symmetrize_upper(_gram_upper(np.asarray(a, dtype=np.float64)))


# Largest condition number kappa^2 = sum(x^2) / sum((x - mean)^2) of a chunk's
# column for which the variance is taken from one pass of sums of squares.
_ONE_PASS_MAX_KAPPA2 = 16.0


@dataclass(frozen=True)
class Moments:
    """Mergeable per-feature sufficient statistics of a set of rows.

    Fields that were not requested are ``None`` (``mean`` too, when only the
    extremes were asked for); :meth:`merge` keeps a field only when both sides
    have it. All arrays are float64 except ``n_observed`` (int64).

    ``mean_error`` is the rounding error of ``mean`` (the exact mean is about
    ``mean + mean_error``; None stands for zeros): the merges carry it, so
    that data far from the origin (mean 1e9, std 1) merge to a variance
    accurate to roundoff rather than to the rounding of their means.
    """

    n_rows: int
    n_observed: np.ndarray
    weight: np.ndarray
    mean: np.ndarray | None
    m2: np.ndarray | None = None
    minimum: np.ndarray | None = None
    maximum: np.ndarray | None = None
    scatter: np.ndarray | None = None
    mean_error: np.ndarray | None = None

    @property
    def n_features(self):
        return self.n_observed.shape[0]

    @property
    def has_missing(self):
        """True when some feature missed a value in some row."""
        return bool(np.any(self.n_observed != self.n_rows))

    @classmethod
    def empty(cls, n_features, *, var=True, minmax=False, scatter=False, mean=True):
        """The neutral element of :meth:`merge`: statistics of zero rows."""
        zeros = np.zeros(n_features)
        return cls(
            n_rows=0,
            n_observed=np.zeros(n_features, dtype=np.int64),
            weight=zeros,
            mean=zeros if (mean or var or scatter) else None,
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
        scatter = None
        if self.scatter is not None and other.scatter is not None:
            scatter = self.scatter + other.scatter
        return _combine_chunks([self, other], scatter, np.zeros(2, dtype=bool))

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

    def check_finite(self, feature_names=None):
        """Raise ValueError if a statistic of an observed feature overflowed.

        Finite data can still have a sum, a sum of squares or a range beyond
        float64 (values near 1e308); the statistics are then infinite or NaN,
        and a scale derived from them would be silently wrong.
        """
        with np.errstate(over="ignore", invalid="ignore"):
            values = [self.mean, self.m2]
            if self.minimum is not None:
                values.append(self.maximum - self.minimum)
            if self.scatter is not None:
                values.append(self.scatter.sum(axis=0))
        bad = np.zeros(self.n_features, dtype=bool)
        for value in values:
            if value is not None:
                bad |= ~np.isfinite(value)
        bad &= self.weight > 0
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            name = f"{feature_names[j]!r}" if feature_names is not None else str(j)
            raise ValueError(
                f"The statistics of feature {name} overflow float64: its values "
                "are too large in magnitude to sum or square; divide the feature "
                "by a power of ten before fitting."
            )

    def astuple(self):
        """The statistics in declaration order, without ``mean_error`` (for
        comparisons in tests and tools)."""
        return tuple(
            getattr(self, f.name) for f in fields(self) if f.name != "mean_error"
        )


def _error_of(stats):
    return np.zeros(stats.n_features) if stats.mean_error is None else stats.mean_error


def _two_sum(a, b):
    """``a + b`` rounded, and its rounding error, exactly (Knuth's TwoSum)."""
    total = a + b
    back = total - a
    return total, (a - (total - back)) + (b - back)


def moments(
    X,
    sample_weight=None,
    *,
    var=True,
    minmax=False,
    scatter=False,
    chunk_bytes=None,
    mean=True,
):
    """Reduce the rows of ``X`` to :class:`Moments`.

    Parameters
    ----------
    X : ndarray or scipy sparse matrix of shape (n_samples, n_features)
        Floating point data. NaN marks a missing value and is ignored (except
        by a scatter matrix, which refuses it); infinity is an error.
    sample_weight : ndarray of shape (n_samples,), default=None
        Non-negative frequency weights.
    var, minmax, scatter : bool
        Which statistics besides the count and mean to reduce.
    chunk_bytes : int, default=None
        Size of the float64 working chunk for dense input; None:
        ``DEFAULT_CHUNK_BYTES``, twice that for the compiled pass (which makes
        no working copy), and at least two rows per feature for a scatter
        matrix.
    mean : bool, default=True
        Reduce the mean. ``var`` and ``scatter`` imply it; with ``mean=False``
        and only ``minmax`` the extremes alone are computed (``Moments.mean`` is
        then None).

    Returns
    -------
    Moments

    Notes
    -----
    Dense rows are reduced chunk by chunk in float64 (the compiled pass widens
    float32 values in registers, the NumPy passes cast each chunk in cache;
    :func:`_chunk_stats`), chunks are combined with the exact k-way form of
    Chan's update, ``M2 = sum_c M2_c + sum_c w_c (mean_c - mean)^2``, in
    blocks of consecutive chunks fixed by the data's shape and the kernels in
    use, and the blocks are merged in row order. Blocks run on threads for large inputs
    (see :mod:`skprep._config`); the result does not depend on the thread count.
    """
    request = _Request(bool(mean or var or scatter), var, minmax, scatter)
    if sp.issparse(X):
        with np.errstate(over="ignore", invalid="ignore"):
            stats = _sparse_moments(
                X, sample_weight, var=var, minmax=minmax, scatter=scatter
            )
        return stats if request.mean else replace(stats, mean=None)
    return _dense_moments(X, sample_weight, request, chunk_bytes)


@dataclass(frozen=True)
class _Request:
    """Which statistics to reduce (``mean`` is implied by the others)."""

    mean: bool
    var: bool
    minmax: bool
    scatter: bool


def _dense_moments(X, sample_weight, request, chunk_bytes):
    n_rows, n_features = X.shape
    fused = chunk_kernel(X, request, weighted=sample_weight is not None)
    if chunk_bytes is None:
        # The compiled pass makes no working copy, so its chunks cost no
        # memory; longer ones amortise its per-chunk shift and call
        # (benchmarks/bench_scalers.py, "ZScoreScaler fit" rows).
        chunk_bytes = DEFAULT_CHUNK_BYTES if fused is None else 2 * DEFAULT_CHUNK_BYTES
    min_rows = 1
    if request.scatter:
        # BLAS products of a couple of d rows and more run at full speed, and
        # every block ends in O(d^2) work (symmetrizing, merging): chunks of at
        # least 2 d rows, blocks of at least 16 d rows keep that a small share
        # of the O(rows d^2) products (benchmarks/bench_pca.py, 5,000 x 1,000).
        chunk_bytes = max(chunk_bytes, 8 * 2 * n_features * n_features)
        min_rows = 16 * n_features
    blocks = row_blocks(n_rows, n_features, chunk_bytes, min_rows=min_rows)
    # Which library forms the products (see _gram_upper): SciPy's syrk for a
    # single block, which never goes to the threads; NumPy's matmul for
    # several, whether or not they run in parallel. The choice follows the
    # blocks, never the thread count: the two libraries' kernels may round
    # differently, and the result must be the same for every thread count.
    upper_only = request.scatter and sample_weight is None and len(blocks) == 1
    reducer = _BlockReducer(
        X,
        sample_weight,
        request,
        fused,
        chunk_row_count(n_features, chunk_bytes),
        upper_only,
    )
    with charge_numpy():
        results = run_blocks(
            reducer, blocks, blas=request.scatter or sample_weight is not None
        )
    if not results:
        return Moments.empty(n_features, **asdict(request))
    with np.errstate(over="ignore", invalid="ignore"):
        return functools.reduce(Moments.merge, results)


class _BlockReducer:
    """Reduces one block of consecutive row chunks to :class:`Moments`."""

    def __init__(self, X, sample_weight, request, fused, step, upper_only):
        self.X = X
        self.sample_weight = sample_weight
        self.request = request
        self.fused = fused
        self.step = step
        # Scatter matrices as upper triangles (SciPy's syrk), completed once
        # per block, or whole (NumPy's matmul).
        self.upper_only = upper_only
        self.gram = _gram_upper if upper_only else _matmul_gram

    def __call__(self, block):
        # Overflow (values near 1e308) is reported by Moments.check_finite.
        with np.errstate(over="ignore", invalid="ignore"):
            return self._reduce(block)

    def _reduce(self, block):
        X, w, request = self.X, self.sample_weight, self.request
        parts = [] if self.fused is None else _fused_parts(self.fused, X, block)
        scratch = Scratch(self.step, X.shape[1])
        scatter = None  # the chunks' scatter matrices, summed as we go
        about_zero = [False] * len(parts)
        # A chunk the compiled pass declined (mostly: it holds NaN) was read
        # for nothing; data with missing values tend to have them throughout,
        # so the rest of the block goes straight to the NumPy passes. Likewise
        # data too far from the origin for sums about zero tend to be so in
        # every chunk: after one refusal the block stops trying them
        # (benchmarks/bench_scalers.py, "mean 1e3 std 1 (NumPy centred pass)").
        try_zero = True
        for rows in block[len(parts) :]:
            part, chunk_scatter, try_zero = _chunk_stats(
                X[rows],
                None if w is None else w[rows],
                scratch,
                request,
                self.gram,
                try_zero,
            )
            parts.append(part)
            about_zero.append(try_zero)
            if scatter is None:
                scatter = chunk_scatter
            elif chunk_scatter is not None:
                scatter += chunk_scatter
        if self.upper_only and scatter is not None:
            scatter = _symmetrize_upper(scatter)
        return _combine_chunks(parts, scatter, np.array(about_zero))


def _fused_parts(fused, X, block):
    """Statistics of the block's leading chunks from the compiled single pass,
    up to the first chunk it declined (see _fused)."""
    bounds = [rows.start for rows in block] + [block[-1].stop]
    answered = fused(X, bounds, max_kappa2=_ONE_PASS_MAX_KAPPA2)
    n_features = X.shape[1]
    return [
        Moments(
            int(n),
            np.full(n_features, n),
            np.full(n_features, float(n)),
            *found[:4],
            mean_error=found[4],
        )
        for n, found in zip(np.diff(bounds), answered, strict=False)
    ]


def infinity_error():
    """The one error for infinity in the data, wherever it is found."""
    return ValueError("Input contains infinity; only NaN may mark missing values.")


def _chunk_stats(chunk, w, scratch, request, gram, try_zero=True):
    """One in-cache chunk reduced to :class:`Moments`, its scatter matrix (or
    None; the upper triangle only when ``gram`` is :func:`_gram_upper`), and
    whether its squares were summed about zero (see :func:`_combine_chunks`);
    ``try_zero=False`` goes straight to the sums about the chunk's values."""
    n_rows, n_features = chunk.shape
    values, sums, extremes, missing, weight = _first_passes(chunk, w, scratch, request)
    if missing is None:
        n_observed = np.full(n_features, n_rows)
    else:
        n_observed = n_rows - missing.sum(axis=0)
    mean = mean_error = m2 = scatter = minimum = maximum = None
    if request.mean:
        mean = np.divide(sums, weight, out=np.zeros(n_features), where=weight > 0)
    about_zero = try_zero and w is None and missing is None
    about_zero = about_zero and (request.var or request.scatter)
    if about_zero:
        m2 = _m2_from_sums(values, None, sums, mean)  # one pass, no centred copy
        about_zero = m2 is not None
    if about_zero and request.scatter:
        scatter = gram(values)
    elif request.scatter or (request.var and m2 is None):
        mean, mean_error, m2, scatter = _centred_spread(
            values, w, missing, weight, scratch, request, gram
        )
    if not request.var:
        m2 = None
    if request.minmax:
        minimum, maximum = _kept_extremes(chunk, w, extremes)
    part = Moments(
        n_rows, n_observed, weight, mean, m2, minimum, maximum, None, mean_error
    )
    return part, scatter, about_zero


def _first_passes(chunk, w, scratch, request):
    """The chunk as float64 values, its column sums and extremes, its NaN mask
    (None when clean) and each column's weight of observed values.

    A finite column sum (or finite extremes) proves a column free of NaN and
    infinity, so the common case pays no separate pass of validation.
    """
    values = sums = extremes = None
    clean = False
    if request.mean:
        values = _as_float64(chunk, scratch)
        with quiet_probe():
            sums = column_reduce(np.add, values) if w is None else w @ values
        clean = bool(np.isfinite(sums).all())
    if request.minmax and (not request.mean or clean):
        # minimum/maximum propagate NaN, so finite extremes also prove a column
        # clean when the mean was not asked for.
        extremes = (column_reduce(np.minimum, chunk), column_reduce(np.maximum, chunk))
        clean = clean or bool(np.isfinite(extremes).all())
    if clean:
        n_rows, n_features = chunk.shape
        weight = np.full(n_features, n_rows if w is None else w.sum(), dtype=float)
        return values, sums, extremes, None, weight
    missing, weight = _missing_and_weight(chunk, w, request)
    if request.mean:
        values = np.where(missing, 0.0, chunk).astype(np.float64, copy=False)
        sums = values.sum(axis=0) if w is None else w @ values
    if request.minmax:
        # fmin/fmax skip NaN; an all-NaN column gives NaN.
        extremes = (np.fmin.reduce(chunk, axis=0), np.fmax.reduce(chunk, axis=0))
    return values, sums, extremes, missing, weight


def _as_float64(chunk, scratch):
    if chunk.dtype == np.float64:
        return chunk
    values = scratch(chunk.shape[0])
    np.copyto(values, chunk)  # float32 -> float64, in cache
    return values


def _missing_and_weight(chunk, w, request):
    """The NaN mask of a chunk whose probe was not finite, and each column's
    weight of observed values; raises on infinity (and on NaN for a scatter)."""
    if np.isinf(chunk).any():
        raise infinity_error()
    missing = np.isnan(chunk)
    if request.scatter and missing.any():
        raise ValueError("Input contains NaN, which a covariance cannot ignore.")
    if w is None:
        return missing, (chunk.shape[0] - missing.sum(axis=0)).astype(float)
    return missing, w @ ~missing


def _m2_from_sums(shifted, w, sums, mean):
    """m2 from sums about a shift ``K`` in one pass, or None where that is unsafe.

    ``shifted`` holds ``x - K``, ``sums`` its (weighted) column sums and
    ``mean`` their mean; ``m2 = sum (x - K)^2 - sums * mean``. Rounding in the
    subtraction grows with kappa^2 = sum (x - K)^2 / m2 (Chan, Golub &
    LeVeque's condition number): columns with kappa^2 <= _ONE_PASS_MAX_KAPPA2
    (K within about 4 standard deviations of the mean) lose at most 4 bits,
    and need no second centring pass.
    """
    with quiet_probe():
        if w is None:
            sumsq = column_sum_of_squares(shifted)
        else:
            sumsq = np.einsum("ij,ij->j", shifted * w[:, None], shifted)
    m2 = sumsq - sums * mean
    safe = (
        np.isfinite(sumsq).all()
        and (m2 >= 0).all()
        and (m2 * _ONE_PASS_MAX_KAPPA2 >= sumsq).all()
    )
    return m2 if safe else None


def _centred_spread(values, w, missing, weight, scratch, request, gram):
    """The mean, m2 and scatter matrix of a chunk about its own values.

    Each column is shifted by its first counted value (observed, of positive
    weight): identical values give
    exactly zero deviations, so a constant column has m2 = 0 and its mean is
    that value, exactly. m2 comes from sums about that value where that is
    safe (:func:`_m2_from_sums`), else, as the scatter matrix always does, from
    a second centring about the mean of what is left.
    """
    n_rows, n_features = values.shape
    counted = None if missing is None else ~missing
    if w is not None and (w == 0).any():
        # A zero-weight row is not part of the data: no shift from it.
        counted = (w > 0)[:, None] if counted is None else counted & (w > 0)[:, None]
    if counted is None:
        shift = values[0].copy()
    else:
        shift = values[np.argmax(counted, axis=0), np.arange(n_features)]
    centred = rowwise(np.subtract, values, shift, out=scratch(n_rows))
    if missing is not None:
        centred[missing] = 0.0
    sums = column_reduce(np.add, centred) if w is None else w @ centred
    offset = np.divide(sums, weight, out=np.zeros(n_features), where=weight > 0)
    m2 = None
    if not request.scatter:
        m2 = _m2_from_sums(centred, w, sums, offset)
        if m2 is not None or not request.var:
            return *_two_sum(shift, offset), m2, None
    rowwise(np.subtract, centred, offset, out=centred)
    if missing is not None:
        centred[missing] = 0.0
    weighted = centred if w is None else centred * w[:, None]
    if request.var and w is None:
        m2 = column_sum_of_squares(centred)
    elif request.var:
        m2 = np.einsum("ij,ij->j", weighted, centred)
    scatter = None
    if request.scatter:
        scatter = gram(centred) if w is None else weighted.T @ centred
    return *_two_sum(shift, offset), m2, scatter


def _kept_extremes(chunk, w, extremes):
    """The extremes as float64, over the rows of positive weight only."""
    minimum, maximum = (e.astype(np.float64) for e in extremes)
    if w is not None and (w == 0).any():
        # A zero-weight row does not belong to the data set.
        kept = chunk[w != 0]
        minimum = _masked_extreme(np.fmin, kept, chunk.shape[1], np.inf)
        maximum = _masked_extreme(np.fmax, kept, chunk.shape[1], -np.inf)
    return minimum, maximum


def _masked_extreme(ufunc, rows, n_features, neutral):
    if rows.shape[0] == 0:
        return np.full(n_features, neutral)
    return ufunc.reduce(rows, axis=0).astype(np.float64)


def _combine_chunks(parts, scatter, about_zero):
    """Exact k-way merge of statistics (vectorised Chan update), of a block's
    chunks or of two records (:meth:`Moments.merge`); a statistic is kept
    when every part has it.

    ``scatter`` is the sum of the parts' scatter matrices, each about its
    part's mean, or about zero where ``about_zero`` says so: such a part's
    matrix is ``G_c = S_c + n_c m_c m_c^T``. Means merge about the first
    observed one, with their rounding errors, so equal means (a constant
    column) merge to exactly that mean, a part of no weight changes nothing,
    and data far from the origin keep their precision. The corrections ``sum_c w_c d_c
    d_c^T`` and ``sum_c n_c m_c m_c^T`` are each formed as ``B^T B`` (BLAS
    syrk), exactly symmetric.
    """

    def every(name):
        return all(getattr(p, name) is not None for p in parts)

    n_features = parts[0].n_features
    weights = np.array([p.weight for p in parts])
    weight = weights.sum(axis=0)
    mean = mean_error = m2 = minimum = maximum = None
    if every("mean"):
        means = np.array([p.mean for p in parts])
        base = means[np.argmax(weights > 0, axis=0), np.arange(n_features)]
        # Chunk means relative to the base, with their rounding errors: small
        # numbers, accurate to roundoff however far the data are from 0.
        relative = (means - base) + np.array([_error_of(p) for p in parts])
        relative[weights == 0] = 0.0  # a part of no weight holds no mean
        offset = np.divide(
            (weights * relative).sum(axis=0),
            weight,
            out=np.zeros(n_features),
            where=weight > 0,
        )
        mean, mean_error = _two_sum(base, offset)
        deviation = relative - offset
        if every("m2"):
            m2 = np.sum([p.m2 for p in parts], axis=0)
            m2 += (weights * deviation * deviation).sum(axis=0)
        if scatter is not None:
            # Complete rows: one weight per chunk, shared by every feature.
            if about_zero.all():
                # The corrections then add up to -W mean mean^T: one rank-one
                # update, symmetric as formed, instead of two d x d products
                # (benchmarks/bench_pca.py, the 5,000 x 1,000 eigh rows).
                scatter -= weights[:, :1].sum() * np.multiply.outer(mean, mean)
            else:
                root = np.sqrt(weights[:, :1])
                scatter += _gram(deviation * root)
                if about_zero.any():
                    scatter -= _gram(means[about_zero] * root[about_zero])
    if every("minimum"):
        minimum = np.fmin.reduce(np.array([p.minimum for p in parts]), axis=0)
        maximum = np.fmax.reduce(np.array([p.maximum for p in parts]), axis=0)
    n_observed = np.sum([p.n_observed for p in parts], axis=0)
    n_rows = sum(p.n_rows for p in parts)
    return Moments(
        n_rows, n_observed, weight, mean, m2, minimum, maximum, scatter, mean_error
    )


def _sparse_moments(X, sample_weight, *, var, minmax, scatter=False):
    """Moments of a sparse matrix; implicit zeros are observed values.

    The scatter matrix is centred implicitly, ``X^T W X - w mean mean^T`` from
    the sparse product, so no dense copy of ``X`` is made; as for any product
    about zero, columns whose mean is many standard deviations from 0 lose
    precision in proportion (sparse data rarely are).

    Every weight is summed from the entries it belongs to: the weight of a
    column's implicit zeros is taken as the total minus its stored entries' only
    when the column has implicit zeros at all (counted exactly), so a fully
    stored column never gets a weight out of a difference of two sums.
    """
    n_rows, n_features = X.shape
    coo = X.tocoo()
    data = coo.data.astype(np.float64, copy=False)
    if np.isinf(data).any():
        raise infinity_error()
    w_rows = np.ones(n_rows) if sample_weight is None else sample_weight
    nan = np.isnan(data)
    col, row, data = coo.col[~nan], coo.row[~nan], data[~nan]
    w_entries = w_rows[row]

    def column_sums(values=None, columns=col):
        # bincount of no entries is an int64 array; the sums are float64.
        return np.bincount(columns, weights=values, minlength=n_features).astype(
            np.float64
        )

    n_observed = n_rows - column_sums(columns=coo.col[nan]).astype(np.int64)
    implicit = n_observed - column_sums().astype(np.int64)  # implicit zeros
    stored_weight = column_sums(w_entries)
    observed_weight = w_rows.sum() - column_sums(w_rows[coo.row[nan]], coo.col[nan])
    implicit_weight = np.where(
        implicit > 0, np.clip(observed_weight - stored_weight, 0.0, None), 0.0
    )
    # With sample weights, the difference of two sums loses more than 6 bits
    # where the implicit zeros hold under 1/64 of a column's weight: there,
    # their own weights are summed (such nearly full columns are few in sparse
    # data). Unit weights sum to integers, exactly.
    few = np.flatnonzero((implicit > 0) & (implicit_weight < observed_weight / 64))
    if few.size and sample_weight is not None:
        csc = X.tocsc()
        for j in few:
            implicit_rows = np.ones(n_rows, dtype=bool)
            # Stored values, NaN included, are not implicit zeros.
            implicit_rows[csc.indices[csc.indptr[j] : csc.indptr[j + 1]]] = False
            implicit_weight[j] = math.fsum(w_rows[implicit_rows])
    weight = stored_weight + implicit_weight
    # Sums about a stored value of each fully stored column (zero for the
    # others), so that identical values give exactly their value as the mean.
    shift = np.zeros(n_features)
    shift[col] = data
    shift[implicit > 0] = 0.0
    shifted = data - shift[col]
    offset = np.divide(
        column_sums(w_entries * shifted),
        weight,
        out=np.zeros(n_features),
        where=weight > 0,
    )
    mean, mean_error = _two_sum(shift, offset)

    m2 = None
    if var:
        # Stored entries contribute w (x - mean)^2, the implicit zeros w mean^2.
        dev = shifted - offset[col]
        m2 = column_sums(w_entries * dev * dev) + implicit_weight * mean * mean
    minimum = maximum = None
    if minmax:
        minimum = np.full(n_features, np.inf)
        maximum = np.full(n_features, -np.inf)
        np.fmin.at(minimum, col, data)
        np.fmax.at(maximum, col, data)
        has_zero = implicit > 0
        minimum = np.where(has_zero, np.fmin(minimum, 0.0), minimum)
        maximum = np.where(has_zero, np.fmax(maximum, 0.0), maximum)
    scatter = _sparse_scatter(X, sample_weight, mean, weight) if scatter else None
    return Moments(
        n_rows, n_observed, weight, mean, m2, minimum, maximum, scatter, mean_error
    )


def _sparse_scatter(X, sample_weight, mean, weight):
    if np.isnan(X.data).any():
        raise ValueError("Input contains NaN, which a covariance cannot ignore.")
    X = X.astype(np.float64)
    weighted = X
    if sample_weight is not None:
        weighted = sp.csr_matrix(X.multiply(sample_weight[:, None]))
    gram = (X.T @ weighted).toarray()
    gram = 0.5 * (gram + gram.T)  # the sparse product sums (i, j) and (j, i) apart
    total = weight[0] if weight.size else 0.0
    return gram - total * np.multiply.outer(mean, mean)
