"""Row chunks, the threads that run over them, and NumPy passes over a chunk.

Dense data are processed in row chunks small enough for the passes after the
first to run from cache, grouped into blocks of consecutive chunks fixed by the
data shape alone; :func:`run_blocks` runs the blocks on a few threads (NumPy
releases the GIL in its loops). The helpers below them reduce or transform a
C-ordered chunk with long inner loops.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

from ._config import effective_threads, in_one_thread, single_threaded_blas

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "Scratch",
    "chunk_row_count",
    "column_reduce",
    "column_sum_of_squares",
    "iter_row_chunks",
    "quiet_probe",
    "row_blocks",
    "rowwise",
    "run_blocks",
    "tile_row",
]

# 4 MiB of float64 per chunk: the passes after the first read from memory mostly
# run from cache, and the peak extra memory of a fit stays far below the input
# size. Measured with 1e6 x 100 data and two threads: on a 2-core Xeon 1 MiB was
# 10-20% slower than 2 MiB and 4 MiB no faster; on a 2-core EPYC (512 KiB L2,
# large L3) 2 MiB was 1.2-1.5x slower than 4 MiB (float32 min/max 50 vs 34 ms),
# because every chunk costs the two workers a few GIL hand-offs.
DEFAULT_CHUNK_BYTES = 4 * 2**20

# Reductions along axis 0 of a C-ordered (rows, d) chunk run an inner loop of
# only d elements per row. Viewing ``_FOLD`` consecutive rows as one row of
# ``_FOLD * d`` elements gives the SIMD loops 16 times longer runs (about twice
# as fast for d = 100); the ``_FOLD`` partial results are folded afterwards.
_FOLD = 16


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
    arguments only, never on the thread count, and blocks are merged in row
    order, so a result is bitwise the same with any number of threads.
    """
    chunks = list(iter_row_chunks(n_rows, n_features, chunk_bytes))
    per_block = max(
        -(-len(chunks) // n_blocks),
        -(-min_rows // chunk_row_count(n_features, chunk_bytes)),
        1,
    )
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
    in_worker = getattr(_in_worker, "flag", False)
    if threads <= 1 and blas and len(blocks) > 1 and not (in_worker or in_one_thread()):
        # BLAS on one thread, as in the workers: its sums then do not depend
        # on how many threads run the blocks, and neither does the result.
        # (Not inside a Dask task, whose threads share the one BLAS setting.)
        with single_threaded_blas():
            return [work(block) for block in blocks]
    if threads <= 1 or in_worker:
        return [work(block) for block in blocks]
    if blas:
        # BLAS work starts threads of its own each call: on threads kept from
        # call to call, PCA(solver="eigh") fits of 200,000 x 100 took 100-106
        # ms instead of 76-86 (benchmarks/bench_pca.py, the eigh rows).
        pool = ThreadPoolExecutor(threads, initializer=_mark_worker)
        with single_threaded_blas(), pool:
            futures = [pool.submit(work, block) for block in blocks]
            wait(futures)
    else:
        futures = [_pool(threads).submit(work, block) for block in blocks]
        wait(futures)
    return [future.result() for future in futures]


# Thread pools by size, kept for the life of the process: starting two
# threads per call cost a MinMaxScaler fit of 1e6 x 100 float32 about 1.6 ms
# of 14 (benchmarks/bench_scalers.py, "MinMaxScaler fit" float32).
_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()
_in_worker = threading.local()


def _mark_worker():
    _in_worker.flag = True


def _pool(threads):
    with _pools_lock:
        if threads not in _pools:
            _pools[threads] = ThreadPoolExecutor(
                threads, thread_name_prefix="skprep", initializer=_mark_worker
            )
        return _pools[threads]


def _forget_pools():
    # A forked child has none of its parent's threads (and a lock another
    # thread held at the fork stays held): it starts its own pools.
    global _pools_lock
    _pools.clear()
    _pools_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools)


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


def column_sum_of_squares(a):
    head, tail = _folded(a)
    if head is None:
        return np.einsum("ij,ij->j", a, a)
    out = np.einsum("ij,ij->j", head, head).reshape(_FOLD, -1).sum(axis=0)
    if tail.shape[0]:
        out += np.einsum("ij,ij->j", tail, tail)
    return out


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


class Scratch:
    """A float64 working chunk, allocated on first use and reused after."""

    def __init__(self, n_rows, n_features):
        self.shape = (n_rows, n_features)
        self.buffer = None

    def __call__(self, n_rows):
        if self.buffer is None:
            self.buffer = np.empty(self.shape)
        return self.buffer[:n_rows]
