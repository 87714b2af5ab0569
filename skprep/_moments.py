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

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, fields

import numpy as np
import scipy.sparse as sp
from scipy.linalg.blas import dsyrk

from ._config import effective_threads, single_threaded_blas
from ._fused import charge_numpy, chunk_kernel

__all__ = ["Moments", "chunk_row_count", "iter_row_chunks", "moments"]

# 4 MiB of float64 per chunk: the passes after the first read from memory mostly
# run from cache, and the peak extra memory of a fit stays far below the input
# size. Measured with 1e6 x 100 data and two threads: on a 2-core Xeon 1 MiB was
# 10-20% slower than 2 MiB and 4 MiB no faster; on a 2-core EPYC (512 KiB L2,
# large L3) 2 MiB was 1.2-1.5x slower than 4 MiB (float32 min/max 50 vs 34 ms),
# because every chunk costs the two workers a few GIL hand-offs.
DEFAULT_CHUNK_BYTES = 4 * 2**20

# The float64 working copy of a float32 chunk is a fit's only sizeable extra
# memory, one per thread. 3 MiB keeps two of them under 2% of a 1e6 x 100
# float32 input (4 MiB: 2.2%) at the same speed (mean and variance of that input:
# 69 ms median with 3 MiB, 70 ms with 4 MiB).
CAST_CHUNK_BYTES = 3 * 2**20

# The compiled pass (skprep._fused) makes no working copy, so its chunks cost no
# memory; each amortises the choice of its shift and, when the pass was called
# once per chunk, the Python work around the call (about 25 us a chunk, and the
# GIL it held). 1e6 x 100, two threads, mean and variance, a call per chunk:
# float64 40 ms with 4 MiB chunks, 39 with 8; float32 27-32 ms, 24-29 with 8.
# Larger chunks were no faster and would leave inputs below 128 MiB on one
# thread (threads start at 8 chunks).
FUSED_CHUNK_BYTES = 8 * 2**20

# Reductions along axis 0 of a C-ordered (rows, d) chunk run an inner loop of
# only d elements per row. Viewing ``_FOLD`` consecutive rows as one row of
# ``_FOLD * d`` elements gives the SIMD loops 16 times longer runs (about twice
# as fast for d = 100); the ``_FOLD`` partial results are folded afterwards.
_FOLD = 16

# Consecutive chunks reduced by one task. The blocks are fixed by the data shape
# alone, never by the thread count, and merged in row order, so the result is
# bitwise the same with any number of threads.
_MAX_CHUNKS_PER_BLOCK = 32

# Largest condition number kappa^2 = sum(x^2) / sum((x - mean)^2) of a chunk's
# column for which the variance is taken from one pass of sums of squares.
_ONE_PASS_MAX_KAPPA2 = 16.0


def chunk_row_count(n_features, chunk_bytes=DEFAULT_CHUNK_BYTES):
    """Number of rows whose float64 copy fits in ``chunk_bytes``."""
    return max(1, int(chunk_bytes) // (8 * max(1, int(n_features))))


def iter_row_chunks(n_rows, n_features, chunk_bytes=DEFAULT_CHUNK_BYTES):
    """Yield ``slice`` objects covering ``range(n_rows)`` in float64-sized chunks."""
    step = chunk_row_count(n_features, chunk_bytes)
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def row_blocks(
    n_rows, n_features, chunk_bytes=DEFAULT_CHUNK_BYTES, n_blocks=16, min_rows=1
):
    """Group the row chunks into about ``n_blocks`` runs of consecutive chunks.

    Returns a list of lists of ``slice``, one task each, of at least
    ``min_rows`` rows where the data allow; the grouping depends on the
    arguments only, never on the thread count.
    """
    chunks = list(iter_row_chunks(n_rows, n_features, chunk_bytes))
    per_block = max(1, min(_MAX_CHUNKS_PER_BLOCK, -(-len(chunks) // n_blocks)))
    per_block = max(per_block, -(-min_rows // chunk_row_count(n_features, chunk_bytes)))
    return [chunks[i : i + per_block] for i in range(0, len(chunks), per_block)]


def block_threads(blocks):
    """Threads :func:`run_blocks` will use for ``blocks``."""
    n_chunks = sum(len(block) for block in blocks)
    return min(effective_threads(n_chunks), len(blocks))


def run_blocks(work, blocks, *, blas=False):
    """``[work(block) for block in blocks]``, on threads for large inputs.

    NumPy releases the GIL in its loops, so blocks run truly in parallel. With
    ``blas=True`` each worker's BLAS is held to one thread so that the threads
    do not oversubscribe the cores. Every block has run when this returns, even
    if one raised (the first error in block order is raised). Blocks run from
    inside a worker run in that worker.
    """
    threads = block_threads(blocks)
    if threads <= 1 or getattr(_in_worker, "flag", False):
        return [work(block) for block in blocks]
    pool = ThreadPoolExecutor(threads, initializer=_mark_worker)
    with single_threaded_blas() if blas else contextlib.nullcontext(), pool:
        futures = [pool.submit(work, block) for block in blocks]
        wait(futures)
    return [future.result() for future in futures]


_in_worker = threading.local()


def _mark_worker():
    _in_worker.flag = True


def _folded(a):
    """Split C-ordered ``a`` into a ``(q // _FOLD, _FOLD * d)`` view and the rest."""
    n_rows, n_features = a.shape
    q = n_rows - n_rows % _FOLD
    if q == 0 or not a.flags.c_contiguous:
        return None, a
    return a[:q].reshape(q // _FOLD, _FOLD * n_features), a[q:]


def quiet_probe():
    """Silence overflow in sums that only probe for NaN and infinity.

    A probe that overflows (or meets +inf and -inf) is not finite and sends the
    chunk to the exact element-wise tests, which decide.
    """
    return np.errstate(over="ignore", invalid="ignore")


def column_reduce(ufunc, a):
    """``ufunc.reduce(a, axis=0)`` with long inner loops (see ``_FOLD``)."""
    head, tail = _folded(a)
    if head is None:
        return ufunc.reduce(a, axis=0)
    out = ufunc.reduce(ufunc.reduce(head, axis=0).reshape(_FOLD, -1), axis=0)
    if tail.shape[0]:
        ufunc(out, ufunc.reduce(tail, axis=0), out=out)
    return out


def _column_sum_of_squares(a):
    head, tail = _folded(a)
    if head is None:
        return np.einsum("ij,ij->j", a, a)
    out = np.einsum("ij,ij->j", head, head).reshape(_FOLD, -1).sum(axis=0)
    if tail.shape[0]:
        out += np.einsum("ij,ij->j", tail, tail)
    return out


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


def tile_row(vector):
    """``vector`` repeated ``_FOLD`` times, to pass to :func:`rowwise`."""
    return np.tile(vector, _FOLD)


def rowwise(ufunc, a, vector, out, tiled=None):
    """``ufunc(a, vector, out=out)`` for a per-column ``vector``, long inner loops.

    ``tiled`` is ``tile_row(vector)`` when the caller has it already.
    """
    head, tail = _folded(a)
    out_head, out_tail = _folded(out)
    if head is None or out_head is None:
        return ufunc(a, vector, out=out)
    ufunc(head, tile_row(vector) if tiled is None else tiled, out=out_head)
    if tail.shape[0]:
        ufunc(tail, vector, out=out_tail)
    return out


@dataclass(frozen=True)
class Moments:
    """Mergeable per-feature sufficient statistics of a set of rows.

    Fields that were not requested are ``None`` (``mean`` too, when only the
    extremes were asked for); :meth:`merge` keeps a field only when both sides
    have it. All arrays are float64 except ``n_observed`` (int64).
    """

    n_rows: int
    n_observed: np.ndarray
    weight: np.ndarray
    mean: np.ndarray | None
    m2: np.ndarray | None = None
    minimum: np.ndarray | None = None
    maximum: np.ndarray | None = None
    scatter: np.ndarray | None = None

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
        wa, wb = self.weight, other.weight
        w = wa + wb
        mean = m2 = scatter = None
        if self.mean is not None and other.mean is not None:
            # Features with no weight yet keep mean 0 and contribute nothing.
            frac_b = np.divide(wb, w, out=np.zeros_like(w), where=w > 0)
            delta = other.mean - self.mean
            mean = self.mean + delta * frac_b
            cross = wa * frac_b  # = wa * wb / w, the Chan correction weight
            if self.m2 is not None and other.m2 is not None:
                m2 = self.m2 + other.m2 + delta * delta * cross
            if self.scatter is not None and other.scatter is not None:
                # The scatter matrix needs complete rows, so every feature shares
                # the same weights and one scalar correction applies to it all.
                scatter = self.scatter + other.scatter
                correction = np.multiply.outer(delta, delta)
                correction *= cross[0] if cross.size else 0.0
                scatter += correction
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
        """The fields in declaration order (for comparisons in tests and tools)."""
        return tuple(getattr(self, f.name) for f in fields(self))


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
        Floating point data. NaN marks a missing value and is ignored; infinity
        is an error. Sparse input cannot ask for ``scatter``.
    sample_weight : ndarray of shape (n_samples,), default=None
        Non-negative frequency weights.
    var, minmax, scatter : bool
        Which statistics besides the count and mean to reduce.
    chunk_bytes : int, default=None
        Size of the float64 working chunk for dense input. None:
        ``DEFAULT_CHUNK_BYTES``, or ``CAST_CHUNK_BYTES`` when float32 chunks are
        cast to float64 for the sums, or ``FUSED_CHUNK_BYTES`` when the
        compiled pass reduces the chunks.
    mean : bool, default=True
        Reduce the mean. ``var`` and ``scatter`` imply it; with ``mean=False``
        and only ``minmax`` the extremes alone are computed (``Moments.mean`` is
        then None).

    Returns
    -------
    Moments

    Notes
    -----
    Dense rows are reduced chunk by chunk: each chunk is centred on its own mean
    in float64 (float32 chunks are cast in cache first), chunks are combined
    with the exact k-way form of Chan's update, ``M2 = sum_c M2_c + sum_c w_c
    (mean_c - mean)^2``, in fixed blocks of consecutive chunks, and the blocks
    are merged in row order. Blocks run on a thread pool for large inputs (see
    see :mod:`skprep._config`); the result does not depend on the thread count.
    """
    n_rows, n_features = X.shape
    mean = bool(mean or var or scatter)
    if sp.issparse(X):
        with np.errstate(over="ignore", invalid="ignore"):
            stats = _sparse_moments(
                X, sample_weight, var=var, minmax=minmax, scatter=scatter
            )
        return stats if mean else _without_mean(stats)
    fused = chunk_kernel(X, scatter=scatter, weighted=sample_weight is not None)
    if chunk_bytes is None:
        if fused is not None:
            chunk_bytes = FUSED_CHUNK_BYTES
        elif mean and X.dtype != np.float64:  # float32 chunks are cast
            chunk_bytes = CAST_CHUNK_BYTES
        else:
            chunk_bytes = DEFAULT_CHUNK_BYTES
    if scatter:
        # syrk needs chunks of a couple of d rows to run at full speed (at d =
        # 1,000: five 1,000-row products took 41 ms, one 5,000-row product 16).
        chunk_bytes = max(chunk_bytes, 16 * n_features * n_features)
    request = {"mean": mean, "var": var, "minmax": minmax, "scatter": scatter}
    step = chunk_row_count(n_features, chunk_bytes)

    def reduce_block(block):
        # Overflow (values near 1e308) is reported by Moments.check_finite.
        with np.errstate(over="ignore", invalid="ignore"):
            return _reduce_block(block)

    def _reduce_block(block):
        scratch = _Scratch(step, n_features)
        # Scatter matrices summed as we go, one d-by-d accumulator each for the
        # chunks centred on their mean and for those summed about zero.
        sums = {True: None, False: None}
        parts = [] if fused is None else _fused_parts(fused, X, block, **request)
        # A chunk the compiled pass declined (mostly: it holds NaN) was read
        # for nothing; data with missing values tend to have them throughout,
        # so the rest of the block goes straight to the NumPy passes.
        for rows in block[len(parts) :]:
            w = None if sample_weight is None else sample_weight[rows]
            part = _dense_chunk_moments(
                X[rows], w, scratch, triangles=triangles, **request
            )
            if scatter:
                chunk_scatter = part[-1]
                raw = part[-2]
                part[-1] = None
                if sums[raw] is None:
                    sums[raw] = chunk_scatter
                else:
                    sums[raw] += chunk_scatter
            parts.append(part)
        if triangles:
            sums = {
                k: v if v is None else _symmetrize_upper(v) for k, v in sums.items()
            }
        return _combine_chunks(parts, sums[False], sums[True], **request)

    # With a scatter matrix every block ends in O(d^2) work (symmetrizing,
    # centring, merging: about 8 ms per block at d = 1,000), so fewer, longer
    # blocks, each of at least 16 d rows to keep that a small share of its
    # O(rows d^2) products.
    blocks = row_blocks(
        n_rows,
        n_features,
        chunk_bytes,
        n_blocks=4 if scatter else 16,
        min_rows=16 * n_features if scatter else 1,
    )
    # Which library forms the products (see _gram_upper): SciPy's syrk for a
    # single block, which never goes to the pool; NumPy's matmul for several,
    # whether or not they run in parallel. The choice follows the blocks, never
    # the thread count: the two libraries' kernels may round differently, and
    # the result must be the same for every n_jobs.
    triangles = scatter and sample_weight is None and len(blocks) == 1
    with charge_numpy():
        results = run_blocks(
            reduce_block, blocks, blas=scatter or sample_weight is not None
        )
    total = Moments.empty(n_features, **request)
    with np.errstate(over="ignore", invalid="ignore"):
        for part in results:
            total = part if total.n_rows == 0 else total.merge(part)
    return total


def _without_mean(stats):
    return Moments(
        n_rows=stats.n_rows,
        n_observed=stats.n_observed,
        weight=stats.weight,
        mean=None,
        minimum=stats.minimum,
        maximum=stats.maximum,
    )


class _Scratch:
    """A float64 working chunk, allocated on first use and reused after."""

    def __init__(self, n_rows, n_features):
        self.shape = (n_rows, n_features)
        self.buffer = None

    def __call__(self, n_rows):
        if self.buffer is None:
            self.buffer = np.empty(self.shape)
        return self.buffer[:n_rows]


def _fused_parts(fused, X, block, *, mean, var, minmax, scatter):
    """Statistics of the block's leading chunks from the compiled single pass,
    up to the first chunk it declined (see _fused)."""
    bounds = [rows.start for rows in block] + [block[-1].stop]
    answered = fused(
        X, bounds, mean=mean, var=var, minmax=minmax, max_kappa2=_ONE_PASS_MAX_KAPPA2
    )
    parts = []
    # Only the leading chunks the pass answered have statistics.
    for rows, stats in zip(block, answered, strict=False):
        n_rows = rows.stop - rows.start
        parts.append([n_rows, None, np.full(X.shape[1], float(n_rows)), *stats])
    return parts


def infinity_error():
    """The one error for infinity in the data, wherever it is found."""
    return ValueError("Input contains infinity; only NaN may mark missing values.")


def _dense_chunk_moments(
    chunk, w, scratch, *, mean, var, minmax, scatter, triangles=False
):
    """Statistics of one in-cache chunk, centred on the chunk's own mean.

    Returns the list ``[n_rows, n_observed, weight, mean, m2, minimum, maximum]``
    (``None`` where not requested or when nothing is missing: ``n_observed``),
    followed by the chunk's scatter matrix when ``scatter`` (its upper triangle
    only when ``triangles``; see :func:`_gram_upper`).
    """
    gram = _gram_upper if triangles else _matmul_gram
    n_rows, n_features = chunk.shape
    values = sums = minimum = maximum = None
    clean = False  # nothing reduced yet proves the chunk free of NaN and infinity
    if mean:
        if chunk.dtype == np.float64:
            values = chunk
        else:
            values = scratch(n_rows)
            np.copyto(values, chunk)  # float32 -> float64, in cache
        with quiet_probe():
            sums = column_reduce(np.add, values) if w is None else w @ values
        # A finite column sum proves the column holds no NaN and no infinity, so
        # the common case pays for one pass of validation that the mean needed.
        clean = bool(np.isfinite(sums).all())
    if minmax and (not mean or clean):
        # minimum/maximum propagate NaN, so finite extremes also prove a column
        # clean when the mean was not asked for.
        minimum = column_reduce(np.minimum, chunk)
        maximum = column_reduce(np.maximum, chunk)
        if not mean:
            clean = bool(np.isfinite(minimum).all() and np.isfinite(maximum).all())

    missing = None
    if clean:
        weight = np.full(n_features, n_rows if w is None else w.sum(), dtype=float)
    else:
        if np.isinf(chunk).any():
            raise infinity_error()
        missing = np.isnan(chunk)
        if scatter and missing.any():
            raise ValueError("Input contains NaN, which a covariance cannot ignore.")
        weight = (n_rows - missing.sum(axis=0)).astype(float)
        if w is not None:
            weight = w @ ~missing
        if mean:
            values = np.where(missing, 0.0, chunk).astype(np.float64, copy=False)
            sums = values.sum(axis=0) if w is None else w @ values
        if minmax:
            # fmin/fmax skip NaN; an all-NaN column gives NaN.
            minimum = np.fmin.reduce(chunk, axis=0)
            maximum = np.fmax.reduce(chunk, axis=0)
    n_observed = None if missing is None else n_rows - missing.sum(axis=0)

    chunk_mean = m2 = chunk_scatter = None
    raw = False
    if mean:
        chunk_mean = np.divide(sums, weight, out=np.zeros(n_features), where=weight > 0)
    centre = var or scatter
    if centre and w is None and missing is None:
        # One pass over the in-cache chunk where that is safe: sums of squares
        # and products about zero equal m2 + n * mean^2 (and scatter + n * mean
        # mean^T), and rounding in the subtraction grows with kappa^2 = sumsq /
        # m2 (Chan, Golub & LeVeque's condition number; for the off-diagonal
        # products with kappa_j * kappa_k). Columns with kappa^2 <=
        # _ONE_PASS_MAX_KAPPA2 (|mean| below about 4 standard deviations) lose at
        # most 4 bits this way, and the chunk needs no centred copy; any other
        # column -- far from the origin, or constant -- sends the chunk to the
        # exact centred pass below.
        with quiet_probe():
            sumsq = _column_sum_of_squares(values)
        one_pass_m2 = sumsq - sums * chunk_mean
        if (
            np.isfinite(sumsq).all()
            and (one_pass_m2 * _ONE_PASS_MAX_KAPPA2 >= sumsq).all()
            and (one_pass_m2 > 0).all()
        ):
            if var:
                m2 = one_pass_m2
            if scatter:
                # Products about zero (BLAS syrk); the n * mean mean^T term is
                # taken off once per block in _combine_chunks.
                chunk_scatter = gram(values)
                raw = True
            centre = False  # done
    if centre:
        # Two passes about a value of the chunk itself (each column's first
        # observed value): identical values then give exactly zero deviations,
        # so a constant column has m2 = 0 and its mean is that value, exactly.
        if missing is None:
            shift = values[0].copy()
        else:
            first = np.argmax(~missing, axis=0)
            shift = values[first, np.arange(n_features)]
        centred = rowwise(np.subtract, values, shift, out=scratch(n_rows))
        if missing is not None:
            centred[missing] = 0.0
        offset = column_reduce(np.add, centred) if w is None else w @ centred
        offset = np.divide(offset, weight, out=np.zeros(n_features), where=weight > 0)
        chunk_mean = shift + offset
        rowwise(np.subtract, centred, offset, out=centred)
        if missing is not None:
            centred[missing] = 0.0
        if w is None:
            if var:
                m2 = _column_sum_of_squares(centred)
            if scatter:
                chunk_scatter = gram(centred)
        else:
            weighted = centred * w[:, None]
            if var:
                m2 = np.einsum("ij,ij->j", weighted, centred)
            if scatter:
                chunk_scatter = weighted.T @ centred
    if minmax:
        minimum = minimum.astype(np.float64)
        maximum = maximum.astype(np.float64)
        if w is not None and (w == 0).any():
            # A zero-weight row does not belong to the data set.
            kept = chunk[w != 0]
            minimum = _masked_extreme(np.fmin, kept, n_features, np.inf)
            maximum = _masked_extreme(np.fmax, kept, n_features, -np.inf)
    part = [n_rows, n_observed, weight, chunk_mean, m2, minimum, maximum]
    if scatter:
        part += [raw, chunk_scatter]
    return part


def _combine_chunks(parts, centred_sum, raw_sum, *, mean, var, minmax, scatter):
    """Exact k-way merge of per-chunk statistics (vectorised Chan update)."""
    n_rows = sum(p[0] for p in parts)
    n_features = parts[0][2].shape[0]
    n_observed = np.full(n_features, n_rows, dtype=np.int64)
    for part in parts:
        if part[1] is not None:  # this chunk missed some values
            n_observed -= part[0] - part[1]
    weights = np.array([p[2] for p in parts])
    weight = weights.sum(axis=0)
    total_mean = m2 = total_scatter = minimum = maximum = None
    if mean:
        means = np.array([p[3] for p in parts])
        # About the first observed chunk mean, so that equal chunk means (a
        # constant column) merge to exactly that mean.
        base = means[np.argmax(weights > 0, axis=0), np.arange(n_features)]
        total_mean = base + np.divide(
            (weights * (means - base)).sum(axis=0),
            weight,
            out=np.zeros(n_features),
            where=weight > 0,
        )
        deviation = means - total_mean
        if var:
            m2 = np.sum([p[4] for p in parts], axis=0)
            m2 += (weights * deviation * deviation).sum(axis=0)
        if scatter:
            # Complete rows: one weight per chunk, shared by every feature.
            # S = sum_c S_c + sum_c w_c d_c d_c^T, where a chunk summed about
            # zero contributes S_c = G_c - n_c m_c m_c^T. Each correction is
            # formed as B^T B (BLAS syrk) so the result stays exactly symmetric.
            if centred_sum is None:
                # Every chunk summed about zero: the corrections add up to
                # -N mu mu^T, one rank-one update (symmetric as formed).
                total_scatter = raw_sum
                total_scatter -= weight[0] * np.multiply.outer(total_mean, total_mean)
            else:
                root = np.sqrt(weights[:, :1])
                spread = deviation * root
                total_scatter = _gram(spread)
                total_scatter += centred_sum
                if raw_sum is not None:
                    raw = np.array([p[7] for p in parts])
                    offsets = means[raw] * root[raw]
                    total_scatter += raw_sum
                    total_scatter -= _gram(offsets)
    if minmax:
        minimum = np.fmin.reduce(np.array([p[5] for p in parts]), axis=0)
        maximum = np.fmax.reduce(np.array([p[6] for p in parts]), axis=0)
    return Moments(
        n_rows=n_rows,
        n_observed=n_observed,
        weight=weight,
        mean=total_mean,
        m2=m2,
        minimum=minimum,
        maximum=maximum,
        scatter=total_scatter,
    )


def _masked_extreme(ufunc, rows, n_features, neutral):
    if rows.shape[0] == 0:
        return np.full(n_features, neutral)
    return ufunc.reduce(rows, axis=0).astype(np.float64)


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
    mean = shift + offset

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
    return Moments(
        n_rows=n_rows,
        n_observed=n_observed,
        weight=weight,
        mean=mean,
        m2=m2,
        minimum=minimum,
        maximum=maximum,
        scatter=_sparse_scatter(X, sample_weight, mean, weight) if scatter else None,
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
