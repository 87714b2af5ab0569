"""Chunked elementwise kernels for applying fitted per-feature maps."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._config import effective_threads
from ._moments import iter_row_chunks

__all__ = ["affine_columns", "project_rows"]


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
    shift, factor, offset = terms
    n_rows, n_features = X.shape

    def apply(rows):
        src, dst = X[rows], out[rows]
        if shift is not None:
            np.subtract(src, shift, out=dst)
            src = dst
        if factor is not None:
            np.multiply(src, factor, out=dst)
            src = dst
        if offset is not None:
            np.add(src, offset, out=dst)
            src = dst
        if src is not dst:
            np.copyto(dst, src)
        if check_inf and np.isinf(dst).any():
            raise ValueError(
                "Input contains infinity; only NaN may mark missing values."
            )
        if bounds is not None:
            np.clip(dst, bounds[0], bounds[1], out=dst)

    _run_chunks(apply, list(iter_row_chunks(n_rows, n_features)))
    return out


def _run_chunks(work, chunks):
    """Run ``work`` on every chunk, on a thread pool when the input is large."""
    threads = effective_threads(len(chunks))
    if threads == 1:
        for rows in chunks:
            work(rows)
        return
    with ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(work, chunks):
            pass


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
