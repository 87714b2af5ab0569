"""Timing helpers shared by the benchmark scripts."""

import time

import numpy as np


def interleaved_medians(fns, repeat=5, warmup=True):
    """Median wall time of each function in the dict ``fns``, by key.

    The calls alternate: each round calls every function once, in order. On a
    shared machine whose speed drifts over seconds, a slow phase then lands on
    every function alike, so the ratios between them (the figures the suite
    reports) stay fair, where timing one function's repetitions after the
    other's would put the drift into the ratio.
    """
    if warmup:
        for fn in fns.values():
            fn()  # page faults, caches, lazy imports, compilation
    times = {key: [] for key in fns}
    for _ in range(repeat):
        for key, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    return {key: float(np.median(t)) for key, t in times.items()}


def median_time(fn, repeat=5, warmup=True):
    """Median wall time of ``fn()`` over ``repeat`` calls, after one warm-up call."""
    return interleaved_medians({None: fn}, repeat, warmup)[None]
