"""Choose the kernels and the thread count in a test (see ``skprep._config``)."""

import contextlib
import os

from threadpoolctl import threadpool_limits


@contextlib.contextmanager
def settings(kernels=None, n_jobs=None):
    """Run the block with ``SKPREP_KERNELS=kernels`` and at most ``n_jobs``
    threads (a threadpoolctl limit on the OpenMP runtime, which skprep's thread
    count follows); None leaves a setting as it is."""
    # Importing the thread rule loads scikit-learn's OpenMP runtime: a limit
    # set before any fit would otherwise find no runtime to limit.
    import skprep._config  # noqa: F401

    previous = os.environ.get("SKPREP_KERNELS")
    if kernels is not None:
        os.environ["SKPREP_KERNELS"] = kernels
    limit = (
        threadpool_limits(n_jobs, user_api="openmp")
        if n_jobs is not None
        else contextlib.nullcontext()
    )
    try:
        with limit:
            yield
    finally:
        if previous is None:
            os.environ.pop("SKPREP_KERNELS", None)
        else:
            os.environ["SKPREP_KERNELS"] = previous
