"""Global settings: how many threads the chunked kernels may use."""

import functools
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from threadpoolctl import ThreadpoolController

__all__ = ["config_context", "get_config", "set_config"]

_settings = threading.local()
_DEFAULTS = {"n_jobs": None, "kernels": "auto"}
_KERNELS = ("auto", "numpy", "numba")


def _current():
    if not hasattr(_settings, "values"):
        _settings.values = dict(_DEFAULTS)
    return _settings.values


def get_config() -> dict[str, Any]:
    """Current settings as a dict (a copy).

    Examples
    --------
    >>> import skprep
    >>> skprep.get_config()
    {'n_jobs': None, 'kernels': 'auto'}
    """
    return dict(_current())


def set_config(
    n_jobs: int | None = None,
    kernels: Literal["auto", "numpy", "numba"] | None = None,
) -> None:
    """Set how many threads the chunked statistics and transforms may use, and how.

    Parameters
    ----------
    n_jobs : int or None
        Threads over row chunks (NumPy releases the GIL, so chunks run truly in
        parallel). None: up to ``os.cpu_count()`` (at most 8) once the input spans
        several chunks, one thread for small inputs where threads cost more than
        they save. 1 disables threading; -1 means all cores.
    kernels : {"auto", "numpy", "numba"} or None
        What reduces dense chunks to their mean, variance and extremes, and
        runs the scalers' transforms. ``"numba"``: one compiled pass per chunk
        (the optional ``fast`` extra, ``pip install "skprep[fast]"``); an
        ImportError when numba is missing. ``"numpy"``: one NumPy pass per
        operation. ``"auto"`` (the default): numba when it imports and the
        input holds at least 65,536 values. Both give the same statistics up
        to float64 roundoff and bitwise the same transforms. None leaves the
        setting as it is.

    Examples
    --------
    >>> import skprep
    >>> skprep.set_config(n_jobs=1)
    >>> skprep.get_config()["n_jobs"]
    1
    >>> skprep.set_config(n_jobs=None)
    """
    if n_jobs is not None and (
        not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1
    ):
        raise ValueError(
            f"n_jobs must be None, -1 or a positive integer; got {n_jobs!r}."
        )
    if kernels is not None and kernels not in _KERNELS:
        raise ValueError(
            f"kernels must be one of {', '.join(map(repr, _KERNELS))} or None; "
            f"got {kernels!r}."
        )
    settings = _current()
    settings["n_jobs"] = n_jobs
    if kernels is not None:
        settings["kernels"] = kernels


@contextmanager
def config_context(**settings: Any) -> Iterator[None]:
    """Temporarily change settings (see :func:`set_config`).

    Examples
    --------
    >>> import skprep
    >>> with skprep.config_context(n_jobs=2):
    ...     skprep.get_config()["n_jobs"]
    2
    """
    previous = get_config()
    set_config(**{**previous, **settings})
    try:
        yield
    finally:
        set_config(**previous)


@functools.cache
def _blas_controller():
    # Finding the loaded BLAS libraries reads /proc/self/maps (about 1 ms); the
    # libraries do not change once NumPy is imported, so look them up once.
    return ThreadpoolController()


def single_threaded_blas():
    """Context manager holding BLAS (and OpenMP) to one thread.

    For work that is either already spread over our own thread pool, or too
    small for BLAS threads to pay: waking OpenBLAS's pool for a small call
    leaves its threads spinning for a while afterwards, competing for the cores
    with whatever runs next.
    """
    return _blas_controller().limit(limits=1)


def effective_threads(n_chunks):
    """Threads to use for ``n_chunks`` independent chunks."""
    n_jobs = _current()["n_jobs"]
    cores = os.cpu_count() or 1
    if n_jobs is None:
        n_jobs = min(cores, 8) if n_chunks >= 8 else 1
    elif n_jobs == -1:
        n_jobs = cores
    return max(1, min(n_jobs, n_chunks))
