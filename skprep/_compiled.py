"""The compiled loops behind :mod:`skprep._fused` (imports numba).

:mod:`skprep._fused` decides when these run and wraps them; this module holds
the loops themselves, built on first use and cached on disk by numba. It is
imported only once the compiled kernels are chosen, so that skprep imports
without numba and small fits never load it.

Every loop here reads its rows once, front to back. The loops that only read
(the statistics, the extremes, the search for infinity) also ask the memory
system for the rows a little ahead with :func:`prefetch` (see
``_PREFETCH_BYTES``); the affine map, which also writes a stream, ran 2-5%
slower with the same requests and makes none.
"""

import functools
import itertools

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

# How far ahead of the row being read the loops ask for data, and the cache line
# their requests step by. The hardware prefetcher alone kept the statistics loop
# below the speed of a bare read, float32 (twice the arithmetic per byte) most of
# all. 1e6 x 100, two threads, the loop alone, two runs: float32 18.3-18.7 ms
# without requests, 16.3-17.6 with them; float64 29.6-31.8 and 27.6-29.6; the
# extremes alone, float32 15.4-16.1 and 14.0-14.9. In a first trial, requests
# 4, 8 and 16 rows of 400 bytes ahead did equally well, 32 rows worse.
_PREFETCH_BYTES = 4096
_CACHE_LINE = 64


@intrinsic
def prefetch(typingctx, array, index):
    """Ask for the cache line holding ``array[index]`` (a 1-d C array), for
    reading; a hint with no effect on results."""
    signature = types.void(array, index)

    def codegen(context, builder, sig, args):
        array_type = sig.args[0]
        data = context.make_array(array_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(
            context, builder, array_type, data, [args[1]], wraparound=False
        )
        byte_pointer = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        function = builder.module.declare_intrinsic(
            "llvm.prefetch",
            [byte_pointer],
            ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]),
        )
        # Read (0), keep in all cache levels (3), data cache (1).
        builder.call(
            function,
            [
                builder.bitcast(pointer, byte_pointer),
                ir.Constant(i32, 0),
                ir.Constant(i32, 3),
                ir.Constant(i32, 1),
            ],
        )
        return context.get_dummy_value()

    return signature, codegen


def _jit(function):
    """``numba.njit(nogil=True)`` of ``function``, cached on disk where possible."""
    try:
        # Compiled once per machine, then loaded from numba's cache.
        return numba.njit(nogil=True, cache=True)(function)
    except RuntimeError:  # no writable cache location: compile per process
        return numba.njit(nogil=True)(function)


def _prefetch_until(flat, fetched, stop):
    """Ask for the lines of ``flat[fetched:stop]`` (clipped to ``flat``) not
    yet asked for; returns the new ``fetched``."""
    step = max(1, _CACHE_LINE // flat.itemsize)
    stop = min(stop, flat.shape[0])
    while fetched < stop:
        prefetch(flat, fetched)
        fetched += step
    return fetched


prefetch_until = _jit(_prefetch_until)


# Shift rows: enough that the value nearest their mean is within a fraction of a
# standard deviation of the chunk's mean, few enough to cost nothing.
_SHIFT_ROWS = 64


@functools.cache
def extremes_kernel():
    """Column minima and maxima of row chunks, in their own dtype."""

    def extremes(data, bounds, outs):
        n_features = data.shape[1]
        flat = data.reshape(data.shape[0] * n_features)
        ahead = _PREFETCH_BYTES // data.itemsize
        fetched = 0
        for c in range(bounds.shape[0] - 1):
            x = data[bounds[c] : bounds[c + 1]]
            n_rows = x.shape[0]
            # Row 0 seeds the extremes; a NaN or an infinity in it stays
            # non-finite and fails the check at the end.
            lo = x[0].copy()
            hi = x[0].copy()
            for i in range(1, n_rows):
                end = (bounds[c] + i + 1) * n_features
                fetched = prefetch_until(flat, fetched, end + ahead)
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


@functools.cache
def reducers():
    """The compiled reducers of row chunks, keyed by (squares, extremes, paired
    rows); built on first use."""
    return {key: _reducer(*key) for key in itertools.product((False, True), repeat=3)}


def _inline(function):
    """A jitted helper that numba inlines into its callers (no call per row)."""
    return numba.njit(inline="always", nogil=True)(function)


def _reducer(squares, extremes, paired):
    """One reducer variant. ``squares``, ``extremes`` and ``paired`` are closure
    constants: numba compiles each variant with the unused code removed."""
    add_row = _row_step(squares, extremes, pair=False)
    add_pair = _row_step(squares, extremes, pair=True)
    finish = _finish_step(squares)

    def reduce_chunks(data, bounds, max_kappa2, outs):
        n_features = data.shape[1]
        flat = data.reshape(data.shape[0] * n_features)
        ahead = _PREFETCH_BYTES // data.itemsize
        fetched = 0
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
            if squares and not _choose_shift(x, shift, sums):
                return c
            # float32 halves the bytes read, and its loop is bound by the loads
            # and stores of the accumulators, not by memory: taking rows two at
            # a time halves those (1e6 x 100, two threads: 25 -> 20 ms; the
            # same loop slowed float64 from 37 to 56 ms, so it keeps one row).
            first_single = n_rows - n_rows % 2 if paired else 0
            start = bounds[c] * n_features
            for i in range(0, first_single, 2):
                end = start + (i + 2) * n_features
                fetched = prefetch_until(flat, fetched, end + ahead)
                add_pair(x, i, shift, sums, sq, lo, hi)
            for i in range(first_single, n_rows):
                end = start + (i + 1) * n_features
                fetched = prefetch_until(flat, fetched, end + ahead)
                add_row(x, i, shift, sums, sq, lo, hi)
            if not finish(n_rows, shift, sums, sq, lo, hi, max_kappa2, outs[c]):
                return c
        return bounds.shape[0] - 1

    return _jit(reduce_chunks)


@_inline
def _choose_shift(x, shift, sums):
    """Set ``shift`` to the value among the first rows nearest to their mean:
    close to the chunk's mean, and a value of the data, so a constant column
    gives exact zeros (and m2 = 0 exactly). False if a sum is not finite."""
    n_features = x.shape[1]
    n_first = min(x.shape[0], _SHIFT_ROWS)
    for i in range(n_first):
        for j in range(n_features):
            sums[j] += np.float64(x[i, j])
    for j in range(n_features):
        if not np.isfinite(sums[j]):
            return False
        centre = sums[j] / n_first
        best = np.inf
        for i in range(n_first):
            gap = abs(np.float64(x[i, j]) - centre)
            if gap < best:
                best = gap
                shift[j] = x[i, j]
        sums[j] = 0.0
    return True


def _row_step(squares, extremes, pair):
    """The step adding row ``i`` (and row ``i + 1`` when ``pair``) to the
    accumulators; the flags are closure constants, compiled out where false.

    A pair still adds row i, then row i + 1, to each column, as two one-row
    steps would, so the sums are bitwise those of two one-row steps. One short
    loop per pair of accumulators, each over rows that sit in L1: a loop storing
    to more arrays needs more runtime overlap checks than LLVM's vectoriser
    makes, and runs scalar.
    """

    def add_rows(x, i, shift, sums, sq, lo, hi):
        n_features = x.shape[1]
        if squares:
            for j in range(n_features):
                t = np.float64(x[i, j]) - shift[j]
                total = sums[j] + t
                total_sq = sq[j] + t * t
                if pair:
                    u = np.float64(x[i + 1, j]) - shift[j]
                    total += u
                    total_sq += u * u
                sums[j] = total
                sq[j] = total_sq
        else:
            for j in range(n_features):
                total = sums[j] + np.float64(x[i, j])
                if pair:
                    total += np.float64(x[i + 1, j])
                sums[j] = total
        if extremes:
            # Comparison selects vectorise; they skip NaN, which reaches
            # ``sums`` and sends the chunk back.
            for j in range(n_features):
                v = np.float64(x[i, j])
                a = lo[j]
                b = hi[j]
                a = v if v < a else a
                b = v if v > b else b
                if pair:
                    w = np.float64(x[i + 1, j])
                    a = w if w < a else a
                    b = w if w > b else b
                lo[j] = a
                hi[j] = b

    return _inline(add_rows)


def _finish_step(squares):
    def finish(n_rows, shift, sums, sq, lo, hi, max_kappa2, out):
        """Write (mean, m2, min, max, mean error) into ``out``; False where the
        chunk must go back to the NumPy passes (NaN, infinity, overflow,
        cancellation)."""
        for j in range(sums.shape[0]):
            if not np.isfinite(sums[j]):
                return False
            offset = sums[j] / n_rows
            mean = shift[j] + offset
            out[0, j] = mean
            # The rounding error of that mean, exactly (Knuth's TwoSum).
            back = mean - shift[j]
            out[4, j] = (shift[j] - (mean - back)) + (offset - back)
            if squares:
                # sum (x - K)^2 - (sum (x - K))^2 / n: exact for a constant
                # column; refused where the subtraction would cancel.
                m2 = sq[j] - sums[j] * (sums[j] / n_rows)
                exact = m2 >= 0 and m2 * max_kappa2 >= sq[j]
                if not (np.isfinite(sq[j]) and exact):
                    return False
                out[1, j] = m2
            out[2, j] = lo[j]
            out[3, j] = hi[j]
        return True

    return _inline(finish)


@functools.cache
def affine_kernels():
    """The compiled affine maps, keyed by the terms present and ``in_place``."""

    def build(has_shift, has_factor, has_offset, in_place):
        def apply(x, out, shift, factor, offset, low, high, clip, check, counts):
            # Arithmetic in float64, one rounding on the store into ``out``.
            # ``counts[0]`` counts the infinite inputs (when ``check``: read
            # before the store, which may overwrite them, and before the clip,
            # which would hide them); ``counts[1]`` the infinite results.
            n_rows, n_features = x.shape
            if in_place:
                out = x
            n_in = 0
            n_out = 0
            for i in range(n_rows):
                if check:
                    for j in range(n_features):
                        n_in += 1 if abs(x[i, j]) == np.inf else 0
                for j in range(n_features):
                    r = np.float64(x[i, j])
                    if has_shift:
                        r = r - shift[j]
                    if has_factor:
                        r = r * factor[j]
                    if has_offset:
                        r = r + offset[j]
                    if clip:
                        # np.clip's order; comparisons keep NaN as NaN.
                        r = low if r < low else r
                        r = high if r > high else r
                    out[i, j] = r
                for j in range(n_features):
                    n_out += 1 if abs(out[i, j]) == np.inf else 0
            counts[0] = n_in
            counts[1] = n_out

        return _jit(apply)

    return {key: build(*key) for key in itertools.product((False, True), repeat=4)}


@functools.cache
def count_infinities():
    def count(x, counts):
        n_rows, n_features = x.shape
        flat = x.reshape(n_rows * n_features)
        ahead = _PREFETCH_BYTES // x.itemsize
        fetched = 0
        for i in range(n_rows):
            fetched = prefetch_until(flat, fetched, (i + 1) * n_features + ahead)
            for j in range(n_features):
                counts[j] += 1 if abs(x[i, j]) == np.inf else 0

    return _jit(count)
