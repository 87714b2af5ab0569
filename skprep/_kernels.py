"""Chunked elementwise kernels for applying fitted per-feature maps."""

import numpy as np

from ._fused import affine_kernel, infinity_counter
from ._moments import (
    column_reduce,
    infinity_error,
    iter_row_chunks,
    quiet_probe,
    row_blocks,
    rowwise,
    run_blocks,
    tile_row,
)

__all__ = ["affine_columns", "has_infinity", "project_rows"]


def affine_columns(
    X, *, shift=None, factor=None, offset=None, bounds=None, out=None, check_inf=False
):
    """Compute ``(X - shift) * factor + offset`` column-wise, optionally clipped.

    The work is done chunk by chunk so every intermediate stays in cache and the
    only full-size array written is ``out``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    shift, factor, offset : ndarray of shape (n_features,) or None
        Missing terms are skipped. They are cast to ``X.dtype`` so float32 data
        runs float32 loops.
    bounds : tuple (low, high) or None
        Clip the result to this interval.
    out : ndarray like ``X`` or None
        Where to write; ``out=X`` works in place. A new array when None.
    check_inf : bool
        Raise if the input holds infinity. With finite nonzero factors an infinite
        output entry means an infinite input entry, so the test runs on the
        in-cache result chunk instead of costing a separate pass over ``X``.

    Returns
    -------
    ndarray of the dtype of ``X``
    """
    dtype = X.dtype
    if out is None:
        out = np.empty_like(X, order="C" if not X.flags.f_contiguous else "F")
    terms = [
        None if t is None else np.asarray(t, dtype=dtype)
        for t in (shift, factor, offset)
    ]
    compiled = affine_kernel(X, out, shift=shift, factor=factor, offset=offset)
    if compiled is not None:
        _apply_compiled(compiled, X, out, terms, bounds, check_inf)
        return out
    # Each per-column term repeated for long inner loops (see rowwise).
    steps = [
        (ufunc, term, tile_row(term))
        for ufunc, term in zip((np.subtract, np.multiply, np.add), terms, strict=True)
        if term is not None
    ]
    n_rows, n_features = X.shape

    def apply(block):
        for rows in block:
            src, dst = X[rows], out[rows]
            for ufunc, term, tiled in steps:
                rowwise(ufunc, src, term, out=dst, tiled=tiled)
                src = dst
            if src is not dst:
                np.copyto(dst, src)
            # A finite column sum of the in-cache result proves it free of
            # infinity; only a NaN (allowed) or an overflow needs the exact test.
            if check_inf:
                with quiet_probe():
                    probe = column_reduce(np.add, dst)
            if check_inf and not np.isfinite(probe).all() and np.isinf(dst).any():
                raise infinity_error()
            if bounds is not None:
                np.clip(dst, bounds[0], bounds[1], out=dst)

    # Each task writes one run of consecutive rows, so the pages of a new output
    # are first touched by the thread that fills them.
    run_blocks(apply, row_blocks(n_rows, n_features))
    return out


def _apply_compiled(compiled, X, out, terms, bounds, check_inf):
    """:func:`affine_columns` through a compiled kernel: one call per block of rows."""
    dtype = X.dtype
    n_rows, n_features = X.shape
    neutral = np.zeros(n_features, dtype=dtype)  # stands in for an absent term
    shift, factor, offset = (neutral if t is None else t for t in terms)
    low, high = (dtype.type(b) for b in (bounds or (0, 0)))  # unused without bounds

    def apply(block):
        rows = slice(block[0].start, block[-1].stop)
        src, dst = X[rows], out[rows]
        probe = np.zeros(n_features if check_inf else 0, dtype=dtype)
        compiled(src, dst, shift, factor, offset, low, high, bounds is not None, probe)
        if check_inf and probe.any():
            raise infinity_error()

    run_blocks(apply, row_blocks(n_rows, n_features))


def has_infinity(X):
    """Whether dense ``X`` holds +-inf, in one threaded read pass, no temporary.

    A finite column sum of a chunk proves the chunk free of infinity; only
    chunks whose sum is not finite (NaN, infinity, or overflow) are tested
    element by element. The compiled kernel, where it runs, counts the
    infinities of each block in its one pass instead.
    """
    counter = infinity_counter(X)
    if counter is not None:

        def count(block):
            counts = np.zeros(X.shape[1], dtype=np.int64)
            counter(X[block[0].start : block[-1].stop], counts)
            return counts.any()

        return any(run_blocks(count, row_blocks(*X.shape)))

    def scan(block):
        for rows in block:
            chunk = X[rows]
            with quiet_probe():
                probe = column_reduce(np.add, chunk)
            if not np.isfinite(probe).all():
                if np.isinf(chunk).any():
                    return True
        return False

    return any(run_blocks(scan, row_blocks(*X.shape)))


def project_rows(X, *, shift, matrix, out=None):
    """Compute ``(X - shift) @ matrix`` chunk by chunk.

    Centring happens on an in-cache chunk, so no centred copy of ``X`` is ever
    made; the only full-size array written is the result.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    shift : ndarray of shape (n_features,)
    matrix : ndarray of shape (n_features, n_outputs)
    out : ndarray of shape (n_samples, n_outputs) or None

    Returns
    -------
    ndarray of shape (n_samples, n_outputs), dtype of ``X``
    """
    dtype = X.dtype
    shift = np.asarray(shift, dtype=dtype)
    matrix = np.asarray(matrix, dtype=dtype)
    if out is None:
        out = np.empty((X.shape[0], matrix.shape[1]), dtype=dtype)
    for rows in iter_row_chunks(X.shape[0], max(X.shape[1], matrix.shape[1])):
        np.matmul(X[rows] - shift, matrix, out=out[rows])
    return out
