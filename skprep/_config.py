"""How many threads the chunked kernels use, and which kernels run.

Both follow settings that reach the worker processes of joblib (``GridSearchCV
(n_jobs=...)``) and Dask, so that parallel model selection does not
oversubscribe the cores:

* Threads follow scikit-learn's rule for its own OpenMP code: the
  ``OMP_NUM_THREADS`` environment variable, else a ``threadpoolctl`` limit on
  the OpenMP runtime, else the usable cores. joblib gives each of its workers
  its share of the cores through ``OMP_NUM_THREADS``.
* Kernels follow the environment variable ``SKPREP_KERNELS``: ``auto`` (the
  default), ``numpy`` or ``numba`` (see :mod:`skprep._fused`); it is read at
  each call and inherited by worker processes.
"""

import contextlib
import functools
import os
import threading

from threadpoolctl import ThreadpoolController

from ._compat import _openmp_effective_n_threads

__all__ = [
    "KERNELS",
    "effective_threads",
    "in_one_thread",
    "kernel_choice",
    "one_thread",
    "shared_blas",
    "single_threaded_blas",
]

KERNELS = ("auto", "numpy", "numba")

_local = threading.local()


def in_one_thread():
    """Whether the calling thread runs inside :func:`one_thread`."""
    return getattr(_local, "cap", None) == 1


def effective_threads(n_tasks):
    """Threads to use for ``n_tasks`` independent tasks."""
    cap = getattr(_local, "cap", None) or _openmp_effective_n_threads()
    return max(1, min(cap, n_tasks))


@contextlib.contextmanager
def one_thread():
    """Run the block on the calling thread alone (inside a Dask task, whose
    scheduler already keeps every core busy)."""
    previous = getattr(_local, "cap", None)
    _local.cap = 1
    try:
        yield
    finally:
        _local.cap = previous


def kernel_choice():
    """The ``SKPREP_KERNELS`` setting; a ValueError naming it if it is not valid."""
    choice = os.environ.get("SKPREP_KERNELS", "auto").strip().lower() or "auto"
    if choice not in KERNELS:
        raise ValueError(
            f"The environment variable SKPREP_KERNELS must be one of "
            f"{', '.join(KERNELS)}; got {os.environ['SKPREP_KERNELS']!r}."
        )
    return choice


@functools.cache
def _blas_controller():
    # Finding the loaded BLAS libraries reads /proc/self/maps (about 1 ms); the
    # libraries do not change once NumPy is imported, so look them up once.
    return ThreadpoolController()


def single_threaded_blas(threads=1):
    """Context manager holding BLAS (and OpenMP) to ``threads`` threads.

    For work already spread over our own threads, or too small for BLAS threads
    to pay: waking OpenBLAS's pool for a small call leaves its threads spinning
    for a while afterwards, competing for the cores with whatever runs next.
    """
    return _blas_controller().limit(limits=threads)


def shared_blas():
    """Context manager giving each loaded BLAS half the usable cores.

    NumPy and SciPy each bundle an OpenBLAS with its own thread pool; code that
    alternates between the two leaves one pool's spinning threads competing
    with the other's workers, unless each keeps to its share of the cores.
    """
    return single_threaded_blas(max(1, effective_threads(os.cpu_count() or 1) // 2))
