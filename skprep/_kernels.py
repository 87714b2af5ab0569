"""Chunked elementwise kernels for applying fitted per-feature maps."""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ._chunks import (
    Scratch,
    chunk_row_count,
    column_reduce,
    iter_row_chunks,
    quiet_probe,
    row_blocks,
    rowwise,
    run_blocks,
    tile_row,
)
from ._fused import affine_kernel, charge_numpy, infinity_counter
from ._moments import infinity_error

__all__ = ["affine_columns", "has_infinity", "overflow_error", "project_rows"]


def affine_columns(
    X, *, shift=None, factor=None, offset=None, bounds=None, out=None, check_inf=False
):
    """Compute ``(X - shift) * factor + offset`` column-wise, optionally clipped.

    The arithmetic is done in float64 whatever the dtype of ``X`` and rounded
    once, into ``out``: float32 data far from the origin keep their precision
    (a shift rounded to float32 would cost it), and float16 data do not
    overflow in the intermediates. The work is done chunk by chunk so every
    intermediate stays in cache and the only full-size array written is
    ``out``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Floating point data.
    shift, factor, offset : ndarray of shape (n_features,) or None
        Missing terms are skipped; the others are used in float64.
    bounds : tuple (low, high) or None
        Clip the result to this interval.
    out : ndarray like ``X`` or None
        Where to write; ``out=X`` works in place. A new array of the dtype of
        ``X`` when None.
    check_inf : bool
        Raise if the input holds infinity (False: the caller checked).

    Returns
    -------
    ndarray of the dtype of ``out``

    Raises
    ------
    ValueError
        If ``check_inf`` and ``X`` holds infinity, or if a result is finite in
        exact arithmetic but beyond the range of the output dtype (the message
        names the feature and the dtype).
    """
    if out is None:
        out = np.empty_like(X, order="C" if not X.flags.f_contiguous else "F")
    terms = [
        None if t is None else np.asarray(t, dtype=np.float64)
        for t in (shift, factor, offset)
    ]
    in_place = out is X
    # An input that the map overwrites, or whose infinity a clip would hide, is
    # tested before it is lost; elsewhere a result that is not finite sends the
    # check to the intact input.
    policy = _InfinityPolicy(
        test_input=check_inf and (in_place or bounds is not None),
        source_intact=check_inf and not in_place,
    )
    compiled = affine_kernel(X, out, shift=shift, factor=factor, offset=offset)
    if compiled is not None:
        apply = _compiled_map(compiled, X, out, terms, bounds, policy)
    else:
        apply = _numpy_map(X, out, terms, bounds, policy)
    # Each task writes one run of consecutive rows, so the pages of a new output
    # are first touched by the thread that fills them.
    with charge_numpy():
        run_blocks(apply, row_blocks(*X.shape))
    return out


@dataclass(frozen=True)
class _InfinityPolicy:
    test_input: bool  # test the input before it is lost
    source_intact: bool  # the input can still tell an infinity from an overflow


def _refuse_overflow(result, source=None):
    """Raise if ``result`` holds infinity: an infinite ``source`` (when given)
    or, from finite input, an overflow of the result's dtype."""
    if source is not None and np.isinf(source).any():
        raise infinity_error()
    overflow = np.isinf(result).any(axis=0)
    if overflow.any():
        raise overflow_error(result.dtype, np.flatnonzero(overflow))


def _numpy_map(X, out, terms, bounds, policy):
    """The per-block task of :func:`affine_columns` as NumPy passes over chunks
    in cache."""
    # Each per-column term repeated for long inner loops (see rowwise).
    steps = [
        (ufunc, term, tile_row(term))
        for ufunc, term in zip((np.subtract, np.multiply, np.add), terms, strict=True)
        if term is not None
    ]
    # float64 results go straight into ``out``, unless the input is needed
    # after the result is written (to tell an infinite input from an overflow).
    direct = out.dtype == np.float64 and not (policy.test_input and out is X)

    def apply(block):
        scratch = Scratch(chunk_row_count(X.shape[1]), X.shape[1])
        # Overflow is not a warning here: check_result names it.
        with np.errstate(over="ignore", invalid="ignore"):
            for rows in block:
                src, dst = X[rows], out[rows]
                work = dst if direct else scratch(src.shape[0])
                result = src
                for ufunc, term, tiled in steps:
                    result = rowwise(ufunc, result, term, out=work, tiled=tiled)
                if result is not work:
                    np.copyto(work, result)
                if policy.test_input and _not_finite(work) and np.isinf(src).any():
                    raise infinity_error()
                if bounds is not None:
                    np.clip(work, bounds[0], bounds[1], out=work)
                if work is not dst:
                    np.copyto(dst, work)
                if _not_finite(dst):
                    _refuse_overflow(dst, src if policy.source_intact else None)

    return apply


def _not_finite(a):
    """Whether ``a`` holds NaN or infinity, from one in-cache column sum."""
    with quiet_probe():
        return not np.isfinite(column_reduce(np.add, a)).all()


def _compiled_map(compiled, X, out, terms, bounds, policy):
    """The per-block task of :func:`affine_columns` as one compiled call."""
    neutral = np.zeros(X.shape[1])  # stands in for an absent term
    shift, factor, offset = (neutral if t is None else t for t in terms)
    low, high = (float(b) for b in (bounds or (0, 0)))  # unused without bounds

    def apply(block):
        rows = slice(block[0].start, block[-1].stop)
        counts = np.zeros(2, dtype=np.int64)
        compiled(
            X[rows],
            out[rows],
            shift,
            factor,
            offset,
            low,
            high,
            bounds is not None,
            policy.test_input,
            counts,
        )
        if counts[0]:
            raise infinity_error()
        if counts[1]:
            _refuse_overflow(out[rows], X[rows] if policy.source_intact else None)

    return apply


def overflow_error(dtype, features):
    """The error for transformed values beyond the range of the output dtype."""
    dtype = np.dtype(dtype)
    advice = (
        "rescale the input"
        if dtype == np.float64
        else "transform a wider floating dtype (e.g. X.astype(np.float64))"
    )
    return ValueError(
        f"The transformed values of feature {int(features[0])} overflow "
        f"{dtype.name} (largest finite value {np.finfo(dtype).max:.4g}); the input "
        f"is finite: {advice}."
    )


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

    with charge_numpy():
        return any(run_blocks(scan, row_blocks(*X.shape)))


def project_rows(X, *, matrix, shift=None, offset=None):
    """Compute ``(X - shift) @ matrix + offset`` chunk by chunk, in float64.

    Each row chunk is centred and multiplied in float64 in cache and rounded
    once into the output, which has the dtype of ``X``: no centred copy of
    ``X`` is made, and float32 data far from the origin keep their precision.
    A sparse ``X`` is never centred: ``X @ matrix - shift @ matrix``.

    Parameters
    ----------
    X : ndarray or CSR/CSC matrix of shape (n_samples, n_features)
    matrix : ndarray of shape (n_features, n_outputs)
    shift : ndarray of shape (n_features,) or None
    offset : ndarray of shape (n_outputs,) or None

    Returns
    -------
    ndarray of shape (n_samples, n_outputs), dtype of ``X``

    Raises
    ------
    ValueError
        If a result is beyond the range of the output dtype.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    sparse = sp.issparse(X)
    constant = np.zeros(matrix.shape[1])
    if sparse and shift is not None:
        constant -= shift @ matrix
    if offset is not None:
        constant += offset
    out = np.empty((X.shape[0], matrix.shape[1]), dtype=X.dtype)
    for rows in iter_row_chunks(X.shape[0], max(X.shape[1], matrix.shape[1], 1)):
        with np.errstate(over="ignore", invalid="ignore"):
            if sparse:
                result = X[rows].astype(np.float64) @ matrix
            else:
                chunk = np.asarray(X[rows], dtype=np.float64)
                result = (chunk if shift is None else chunk - shift) @ matrix
            result += constant
            out[rows] = result
        if _not_finite(out[rows]):
            _refuse_overflow(out[rows])
    return out
