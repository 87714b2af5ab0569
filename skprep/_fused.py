"""Single-pass kernels compiled with numba (the optional ``fast`` extra).

Four kernels: the statistics of a chunk, its extremes alone, the per-column
affine map of the scalers' ``transform``, and the search for infinity before
an in-place one.
Each does in one read of the data what NumPy does in one pass per operation.
This module decides when they run and wraps them; their loops live in
:mod:`skprep._compiled`, which imports numba and is loaded on first use.

NumPy has no fused reduction: the mean, the sum of squares and the extremes of
a chunk each cost a pass, and a float32 chunk must first be cast to float64 for
accurate sums. A compiled loop does it all in one read of the chunk, converting
each value to float64 in a register. With numba absent, with
``SKPREP_KERNELS=numpy``, or before the compiled kernels have paid for
themselves (:data:`LOAD_SECONDS`), :mod:`skprep._moments` runs its NumPy passes
instead; both paths give the same statistics up to float64 roundoff.

The squares are summed about a shift ``K``, the value among the chunk's first
rows nearest to their mean, so that ``m2 = sum (x - K)^2 - n (mean - K)^2``
loses at most a few bits: Chan, Golub & LeVeque's condition number
``kappa^2 = 1 + (mean - K)^2 / var`` is then close to 1. A column whose
``kappa^2`` exceeds the NumPy path's bound, or any value that is NaN or
infinite, sends the chunk back to the exact NumPy passes, which also raise the
errors: this module only ever answers the common, clean case.
"""

import contextlib
import functools
import importlib.util
import sys
import time

import numpy as np

from ._config import kernel_choice

__all__ = [
    "LOAD_SECONDS",
    "affine_kernel",
    "charge_numpy",
    "chunk_kernel",
    "infinity_counter",
    "numba_available",
    "use_compiled",
]

# Loading the compiled kernels costs a fresh process about a second -- numba's
# import and first dispatch (benchmarks/bench_cold.py) -- more than they save
# on one fit of in-memory data. With SKPREP_KERNELS=auto they are loaded only
# once the NumPy passes have cost the process that much time: the ski-rental
# rule, so the first fits in a fresh process or on a fresh Dask worker are never
# slower than NumPy's, and a process that keeps fitting moves to the compiled
# kernels having paid at most about twice the best total.
LOAD_SECONDS = 1.0
_numpy_seconds = 0.0


@functools.cache
def numba_available():
    """Whether numba imports (it also refuses NumPy versions it does not know)."""
    if importlib.util.find_spec("numba") is None:
        return False
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def _loaded():
    """Whether this process has loaded compiled kernels already."""
    return "skprep._compiled" in sys.modules or "skprep.nn._compiled" in sys.modules


def use_compiled(X):
    """Whether the compiled kernels should handle dense ``X``: the
    ``SKPREP_KERNELS`` setting, the dtype, whether they have paid for themselves
    (:data:`LOAD_SECONDS`), and whether numba imports."""
    choice = kernel_choice()
    if choice == "numpy" or X.dtype not in (np.float32, np.float64):
        return False
    if choice == "numba":
        if not numba_available():
            raise ImportError(
                "SKPREP_KERNELS=numba needs numba: pip install 'skprep[fast]'."
            )
        return True
    return (_loaded() or _numpy_seconds >= LOAD_SECONDS) and numba_available()


@contextlib.contextmanager
def charge_numpy():
    """Count the time of the block (a context manager or a decorator) towards
    loading the compiled kernels (:data:`LOAD_SECONDS`), while they are not
    loaded: until then every pass is a NumPy pass."""
    global _numpy_seconds
    start = time.perf_counter()
    try:
        yield
    finally:
        if not _loaded():
            _numpy_seconds += time.perf_counter() - start


def chunk_kernel(X, request, *, weighted):
    """The fused reducer ``reduce(X, bounds, max_kappa2)`` of row chunks for
    the statistics ``request`` names (its ``mean``, ``var``, ``minmax`` and
    ``scatter`` flags), or None for the NumPy passes (see
    :func:`fused_chunk_moments`).

    Scatter matrices (BLAS forms them), sample weights and arrays that are not
    C-contiguous (the loops read rows) keep the NumPy path.
    """
    if request.scatter or weighted or not X.flags.c_contiguous:
        return None
    if not use_compiled(X):
        return None
    # Built here, once, rather than raced for by the pool's workers.
    _compiled().reducers()
    _compiled().extremes_kernel()
    return functools.partial(
        fused_chunk_moments,
        mean=request.mean,
        var=request.var,
        minmax=request.minmax,
    )


def fused_chunk_moments(X, bounds, *, mean, var, minmax, max_kappa2):
    """Statistics of the chunks ``X[bounds[c]:bounds[c + 1]]``, in one compiled call.

    Returns one ``(chunk_mean, m2, minimum, maximum, mean_error)`` per chunk
    (``mean_error``: the rounding error of ``chunk_mean``), in float64
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
        answered = _compiled().extremes_kernel()(X, bounds, out)
        extremes = out[:answered].astype(float)
        return [(None, None, *pair, None) for pair in extremes]
    out = np.empty((n_chunks, 5, n_features))
    kernel = _compiled().reducers()[(bool(var), bool(minmax), X.dtype == np.float32)]
    answered = kernel(X, bounds, max_kappa2, out)
    return [
        (
            chunk_mean,
            m2 if var else None,
            minimum if minmax else None,
            maximum if minmax else None,
            mean_error,
        )
        for chunk_mean, m2, minimum, maximum, mean_error in out[:answered]
    ]


def affine_kernel(X, out, *, shift, factor, offset):
    """A compiled ``(x - shift) * factor + offset`` for ``X`` into ``out``, or None.

    The returned ``apply(x, out, shift, factor, offset, low, high, clip, check,
    counts)`` writes one run of rows in one pass, in float64 arithmetic rounded
    once into ``out``, clipping to ``[low, high]`` when ``clip``; ``counts``
    (2,) receives the number of infinite inputs (counted when ``check``) and
    of infinite outputs. Absent terms are compiled out. When ``out`` is ``X`` the
    kernel writes through ``x`` alone: given two arrays that overlap, the
    vectorised loop's overlap check fails and the scalar loop runs (measured:
    float32 in place 42 ms instead of about 20 for 1e6 x 100).
    """
    if not use_compiled(X) or out.dtype != X.dtype:
        return None
    if not (X.flags.c_contiguous and out.flags.c_contiguous):
        return None
    key = (shift is not None, factor is not None, offset is not None, out is X)
    return _compiled().affine_kernels()[key]


def infinity_counter(X):
    """A compiled ``count(x, counts)`` adding each column's infinities, or None."""
    if not (use_compiled(X) and X.flags.c_contiguous):
        return None
    return _compiled().count_infinities()


def _compiled():
    """:mod:`skprep._compiled`, imported on first use: it imports numba."""
    from . import _compiled

    return _compiled
