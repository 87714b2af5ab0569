"""Timing helper shared by the benchmark scripts."""

import time

import numpy as np


def median_time(fn, repeat=5, warmup=True):
    """Median wall time of ``fn()`` over ``repeat`` calls, after one warm-up call."""
    if warmup:
        fn()  # page faults, caches, lazy imports
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))
