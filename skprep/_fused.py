"""Single-pass kernels compiled with numba (the optional ``fast`` extra).

Three kernels: the statistics of a chunk, the per-column affine map of the
scalers' ``transform``, and the search for infinity before an in-place one.
Each does in one read of the data what NumPy does in one pass per operation.

NumPy has no fused reduction: the mean, the sum of squares and the extremes of
a chunk each cost a pass, and a float32 chunk must first be cast to float64 for
accurate sums. A compiled loop does it all in one read of the chunk, converting
each value to float64 in a register. With numba absent, or with
``set_config(kernels="numpy")``, :mod:`skprep._moments` runs its NumPy passes
instead; both paths give the same statistics up to float64 roundoff.

The squares are summed about a shift ``K``, the value among the chunk's first
rows nearest to their mean, so that ``m2 = sum (x - K)^2 - n (mean - K)^2``
loses at most a few bits: Chan, Golub & LeVeque's condition number
``kappa^2 = 1 + (mean - K)^2 / var`` is then close to 1. A column whose
``kappa^2`` exceeds the NumPy path's bound, or any value that is NaN or
infinite, sends the chunk back to the exact NumPy passes, which also raise the
errors: this module only ever answers the common, clean case.
"""

import functools
import itertools

import numpy as np

from ._config import get_config

__all__ = [
    "affine_kernel",
    "chunk_kernel",
    "infinity_counter",
    "numba_available",
    "use_compiled",
]

# Shift rows: enough that the value nearest their mean is within a fraction of a
# standard deviation of the chunk's mean, few enough to cost nothing.
_SHIFT_ROWS = 64

# Below this many values a fit is over before compiling would pay, and the
# first compilation in a process costs about a second.
MIN_FUSED_VALUES = 2**16


@functools.cache
def numba_available():
    """Whether numba imports (it also refuses NumPy versions it does not know)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def use_compiled(X):
    """Whether the compiled kernels should handle dense ``X`` (the setting, the
    dtype, the size, and whether numba imports). Decided in the caller's thread:
    the settings are thread-local."""
    choice = get_config()["kernels"]
    if choice == "numba" and not numba_available():
        raise ImportError(
            "set_config(kernels='numba') needs numba: pip install 'skprep[fast]'."
        )
    if choice == "numpy" or X.dtype not in (np.float32, np.float64):
        return False
    if choice == "auto" and (X.size < MIN_FUSED_VALUES or not numba_available()):
        return False
    return True


def chunk_kernel(X, *, scatter, weighted):
    """The fused reducer of row chunks to use for ``X``, or None for the NumPy
    passes (see :func:`fused_chunk_moments`).

    Scatter matrices (BLAS forms them) and sample weights keep the NumPy path.
    """
    if not use_compiled(X) or scatter or weighted:
        return None
    # Built here, once, rather than raced for by the pool's workers.
    _reducers()
    _extremes_kernel()
    return fused_chunk_moments


def fused_chunk_moments(X, bounds, *, mean, var, minmax, max_kappa2):
    """Statistics of the chunks ``X[bounds[c]:bounds[c + 1]]``, in one compiled call.

    Returns one ``(chunk_mean, m2, minimum, maximum)`` per chunk, in float64
    (None for what was not asked for), in order up to the first chunk the pass
    declined: one holding a NaN or an infinity, or with a column too far from
    its shift for the one-pass sum of squares. The caller takes the exact NumPy
    path from there. A strided ``X`` is declined whole.
    """
    bounds = np.asarray(bounds, dtype=np.intp)
    n_chunks = len(bounds) - 1
    if not X.flags.c_contiguous or (np.diff(bounds) <= 0).any() or not (mean or minmax):
        return []
    # One compiled call for many chunks releases the GIL once and keeps the
    # per-chunk bookkeeping out of Python: one call per chunk cost the two
    # workers about 2 ms of a 22 ms float32 fit of 1e6 x 100.
    X = X[bounds[0] : bounds[-1]]
    bounds = bounds - bounds[0]
    n_features = X.shape[1]
    if not mean:
        out = np.empty((n_chunks, 2, n_features), dtype=X.dtype)
        answered = _extremes_kernel()(X, bounds, out)
        return [(None, None, *extremes) for extremes in out[:answered].astype(float)]
    out = np.empty((n_chunks, 4, n_features))
    kernel = _reducers()[(bool(var), bool(minmax), X.dtype == np.float32)]
    answered = kernel(X, bounds, max_kappa2, out)
    return [
        (
            chunk_mean,
            m2 if var else None,
            minimum if minmax else None,
            maximum if minmax else None,
        )
        for chunk_mean, m2, minimum, maximum in out[:answered]
    ]


@functools.cache
def _extremes_kernel():
    """Column minima and maxima of row chunks, in their own dtype."""

    def extremes(data, bounds, outs):
        for c in range(bounds.shape[0] - 1):
            x = data[bounds[c] : bounds[c + 1]]
            n_rows, n_features = x.shape
            # Row 0 seeds the extremes; a NaN or an infinity in it stays
            # non-finite and fails the check at the end.
            lo = x[0].copy()
            hi = x[0].copy()
            for i in range(1, n_rows):
                for j in range(n_features):
                    v = x[i, j]
                    # ``v - v`` is +0 for a finite v and NaN for NaN or
                    # infinity, and subtracting +0 leaves every value as it
                    # was (-0 too). So a non-finite value turns the extremes
                    # to NaN and keeps them there (a comparison with NaN keeps
                    # the NaN), and no separate probe is needed. Measured on
                    # 1e6 x 100, one thread: this loop vectorises, 42-53 ms
                    # float64 and 24-28 float32, where selects that test
                    # ``v != v`` themselves ran at 64-67 and 56-57.
                    poison = v - v
                    a = lo[j]
                    b = hi[j]
                    lo[j] = (v if v < a else a) - poison
                    hi[j] = (v if v > b else b) - poison
            for j in range(n_features):
                if not (np.isfinite(lo[j]) and np.isfinite(hi[j])):
                    return c
                outs[c, 0, j] = lo[j]
                outs[c, 1, j] = hi[j]
        return bounds.shape[0] - 1

    return _jit(extremes)


def affine_kernel(X, out, *, shift, factor, offset):
    """A compiled ``(x - shift) * factor + offset`` for ``X`` into ``out``, or None.

    The returned ``apply(x, out, shift, factor, offset, low, high, clip, probe)``
    writes one run of rows in one pass, clipping to ``[low, high]`` when
    ``clip``; when ``probe`` has a nonzero length it counts, per column, the
    results that are infinite before clipping (as the NumPy path tests them).
    Absent terms are compiled out, so the arithmetic is exactly the NumPy
    path's, operation for operation, in the dtype of ``X``. When ``out`` is
    ``X`` the kernel writes through ``x`` alone: given two arrays that overlap,
    the vectorised loop's overlap check fails and the scalar loop runs
    (measured: float32 in place 42 ms instead of about 20 for 1e6 x 100).
    """
    if not use_compiled(X):
        return None
    if not (X.flags.c_contiguous and out.flags.c_contiguous):
        return None
    key = (shift is not None, factor is not None, offset is not None, out is X)
    return _affine_kernels()[key]


def infinity_counter(X):
    """A compiled ``count(x, counts)`` adding each column's infinities, or None."""
    if not (use_compiled(X) and X.flags.c_contiguous):
        return None
    return _count_infinities()


@functools.cache
def _count_infinities():
    def count(x, counts):
        n_rows, n_features = x.shape
        for i in range(n_rows):
            for j in range(n_features):
                counts[j] += 1 if abs(x[i, j]) == np.inf else 0

    return _jit(count)


def _jit(function):
    """``numba.njit(nogil=True)`` of ``function``, cached on disk where possible."""
    import numba

    try:
        # Compiled once per machine, then loaded from numba's cache.
        return numba.njit(nogil=True, cache=True)(function)
    except RuntimeError:  # no writable cache location: compile per process
        return numba.njit(nogil=True)(function)


@functools.cache
def _affine_kernels():
    """The compiled affine maps, keyed by the terms present and ``in_place``."""

    def build(has_shift, has_factor, has_offset, in_place):
        def apply(x, out, shift, factor, offset, low, high, clip, probe):
            n_rows, n_features = x.shape
            check = probe.shape[0] > 0
            if in_place:
                out = x
            for i in range(n_rows):
                for j in range(n_features):
                    r = x[i, j]
                    if has_shift:
                        r = r - shift[j]
                    if has_factor:
                        r = r * factor[j]
                    if has_offset:
                        r = r + offset[j]
                    out[i, j] = r
                if check:  # before clipping, which would hide an infinity
                    for j in range(n_features):
                        probe[j] += 1 if abs(out[i, j]) == np.inf else 0
                if clip:
                    # np.clip's order; comparisons keep NaN as NaN.
                    for j in range(n_features):
                        r = out[i, j]
                        r = low if r < low else r
                        out[i, j] = high if r > high else r

        return _jit(apply)

    return {key: build(*key) for key in itertools.product((False, True), repeat=4)}


@functools.cache
def _reducers():
    """The compiled reducers of row chunks, keyed by (squares, extremes, paired
    rows); built on first use."""

    def build(squares, extremes, paired):
        # ``squares``, ``extremes`` and ``paired`` are closure constants: numba
        # compiles each variant with the unused code removed.
        def reduce_chunks(data, bounds, max_kappa2, outs):
            n_features = data.shape[1]
            shift = np.empty(n_features)
            sums = np.empty(n_features)
            sq = np.empty(n_features)
            lo = np.empty(n_features)
            hi = np.empty(n_features)
            for c in range(bounds.shape[0] - 1):
                x = data[bounds[c] : bounds[c + 1]]
                n_rows = x.shape[0]
                shift[:] = 0.0
                sums[:] = 0.0
                sq[:] = 0.0
                lo[:] = np.inf
                hi[:] = -np.inf
                if squares:
                    # The shift is the value among the first rows nearest to
                    # their mean: close to the chunk's mean, and a value of
                    # the data, so a constant column gives exact zeros (and
                    # m2 = 0 exactly).
                    n_first = min(n_rows, _SHIFT_ROWS)
                    for i in range(n_first):
                        for j in range(n_features):
                            sums[j] += np.float64(x[i, j])
                    for j in range(n_features):
                        if not np.isfinite(sums[j]):
                            return c
                        centre = sums[j] / n_first
                        best = np.inf
                        for i in range(n_first):
                            gap = abs(np.float64(x[i, j]) - centre)
                            if gap < best:
                                best = gap
                                shift[j] = x[i, j]
                        sums[j] = 0.0
                # One short loop per pair of accumulators, each over a row
                # that sits in L1: a loop storing to more arrays needs more
                # runtime overlap checks than LLVM's vectoriser makes, and
                # runs scalar.
                first_single = 0
                if paired:
                    # float32 halves the bytes read, and its loop is bound by
                    # the loads and stores of the accumulators, not by memory:
                    # taking rows two at a time halves those. Each column still
                    # adds row i, then row i + 1, as the one-row loop does, so
                    # the sums are bitwise those of the float64 copy. Measured
                    # on 1e6 x 100, two threads: float32 25 -> 20 ms; the same
                    # loop slowed float64 (from memory) from 37 to 56 ms.
                    first_single = n_rows - n_rows % 2
                    for i in range(0, first_single, 2):
                        if squares:
                            for j in range(n_features):
                                t = np.float64(x[i, j]) - shift[j]
                                u = np.float64(x[i + 1, j]) - shift[j]
                                sums[j] = (sums[j] + t) + u
                                sq[j] = (sq[j] + t * t) + u * u
                        else:
                            for j in range(n_features):
                                t = np.float64(x[i, j])
                                u = np.float64(x[i + 1, j])
                                sums[j] = (sums[j] + t) + u
                        if extremes:
                            for j in range(n_features):
                                v = np.float64(x[i, j])
                                w = np.float64(x[i + 1, j])
                                a = lo[j]
                                b = hi[j]
                                a = v if v < a else a
                                b = v if v > b else b
                                lo[j] = w if w < a else a
                                hi[j] = w if w > b else b
                for i in range(first_single, n_rows):
                    if squares:
                        for j in range(n_features):
                            t = np.float64(x[i, j]) - shift[j]
                            sums[j] += t
                            sq[j] += t * t
                    else:
                        for j in range(n_features):
                            sums[j] += np.float64(x[i, j])
                    if extremes:
                        # Comparison selects vectorise; they skip NaN, which
                        # reaches ``sums`` and sends the chunk back.
                        for j in range(n_features):
                            v = np.float64(x[i, j])
                            a = lo[j]
                            b = hi[j]
                            lo[j] = v if v < a else a
                            hi[j] = v if v > b else b
                for j in range(n_features):
                    if not np.isfinite(sums[j]):
                        return c  # NaN, infinity, or overflow
                    outs[c, 0, j] = shift[j] + sums[j] / n_rows
                    if squares:
                        # sum (x - K)^2 - (sum (x - K))^2 / n: exact for a
                        # constant column; refused where the subtraction would
                        # cancel.
                        m2 = sq[j] - sums[j] * (sums[j] / n_rows)
                        exact = m2 >= 0 and m2 * max_kappa2 >= sq[j]
                        if not (np.isfinite(sq[j]) and exact):
                            return c
                        outs[c, 1, j] = m2
                    outs[c, 2, j] = lo[j]
                    outs[c, 3, j] = hi[j]
            return bounds.shape[0] - 1

        return _jit(reduce_chunks)

    return {key: build(*key) for key in itertools.product((False, True), repeat=3)}
