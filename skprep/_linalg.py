"""Small numerical helpers shared by the scalers, PCA and whitening."""

import numpy as np
import scipy.linalg

from ._chunks import DEFAULT_CHUNK_BYTES, row_blocks, run_blocks
from ._config import single_threaded_blas

__all__ = [
    "centred_svd",
    "constant_features",
    "deterministic_signs",
    "eigh_descending",
    "moment_constant_features",
    "rank_mask",
    "sign_flips",
    "safe_scale",
]


# A feature is constant when its spread is within this many units of float64
# roundoff of its own values: identical values (spread exactly 0), or values
# that differ only in their last bits. The test is relative to the values'
# magnitude alone, so it does not depend on the number of rows, on the units of
# the sample weights, or on how far from the origin the data lie.
CONSTANT_RTOL = 10 * np.finfo(np.float64).eps


def constant_features(spread, magnitude):
    """Features whose spread is at the roundoff level of their own values.

    The one rule every estimator uses to decide that a feature carries no
    variation (and so is not divided by its spread): ``spread <= CONSTANT_RTOL *
    magnitude``, with ``CONSTANT_RTOL = 10 * eps`` (float64). The scalers pass
    the standard deviation and the root mean square ``sqrt(mean^2 + var)``
    (z-score, ``-cor`` whitening), or the range and ``max(|min|, |max|)``
    (min-max). A NaN spread (a feature never observed) is not constant.

    Parameters
    ----------
    spread, magnitude : ndarray of shape (n_features,)
        Non-negative.

    Returns
    -------
    ndarray of bool, shape (n_features,)
    """
    return np.asarray(spread) <= CONSTANT_RTOL * np.asarray(magnitude)


def moment_constant_features(variance, mean):
    """:func:`constant_features` from a variance and a mean."""
    variance = np.asarray(variance, dtype=np.float64)
    with np.errstate(over="ignore"):
        magnitude = np.sqrt(np.asarray(mean) ** 2 + variance)
    return constant_features(np.sqrt(variance), magnitude)


def safe_scale(scale, constant):
    """Replace the scale of constant features by 1 so that dividing is a no-op.

    Parameters
    ----------
    scale : ndarray of shape (n_features,)
    constant : ndarray of bool, shape (n_features,)

    Returns
    -------
    ndarray of shape (n_features,)
        A copy of ``scale`` with 1.0 wherever ``constant`` is true or the scale is
        not a positive finite number.
    """
    scale = np.array(scale, dtype=np.float64, copy=True)
    bad = constant | ~np.isfinite(scale) | (scale <= 0)
    scale[bad] = 1.0
    return scale


# Up to this size a symmetric eigendecomposition is as fast on one BLAS thread
# as on two (measured: 0.6 ms at 100, 6 ms at 300, on 2 cores), and keeping
# OpenBLAS's pool asleep made a whole PCA fit on 200,000 x 100 data 1.6x faster:
# woken threads keep spinning into the next chunked pass over the data.
_SMALL_EIGH = 300


# A few leading eigenpairs come cheaper from LAPACK's subset driver (MRRR) than
# the whole decomposition while they are at most this fraction of the order
# (measured at n = 1000: 10 pairs 32 ms, 100 pairs 63 ms, all 94 ms; at n = 300
# 100 pairs already cost more than all 300).
_LEADING_FRACTION = 0.1


def eigh_descending(matrix, n_leading=None):
    """Eigendecomposition of a symmetric PSD matrix, largest eigenvalue first.

    Eigenvalues that roundoff pushed below zero are clipped to 0, and each
    eigenvector's sign is fixed by :func:`deterministic_signs` (applied to the
    eigenvectors as rows), so the result does not depend on the LAPACK build.

    Parameters
    ----------
    matrix : ndarray of shape (n, n)
        Symmetric positive semi-definite (a covariance or correlation matrix).
    n_leading : int, default=None
        Only the ``n_leading`` largest eigenpairs are needed. When they are few
        (at most a tenth of ``n``) only those are computed; otherwise all are
        and the caller slices. None: all.

    Returns
    -------
    eigenvalues : ndarray of shape (m,)
        Non-negative, sorted in descending order; ``m`` is ``n`` or
        ``n_leading``.
    eigenvectors : ndarray of shape (n, m)
        Orthonormal columns matching ``eigenvalues``.
    """
    n = matrix.shape[0]
    if n_leading is not None and 0 < n_leading <= _LEADING_FRACTION * n:
        subset = {"subset_by_index": [n - n_leading, n - 1]}
    else:
        subset = {}
    if n <= _SMALL_EIGH:
        with single_threaded_blas():
            values, vectors = _symmetric_eigh(matrix, subset)
    else:
        values, vectors = _symmetric_eigh(matrix, subset)
    order = np.argsort(values)[::-1]
    values = np.clip(values[order], 0.0, None)
    vectors = deterministic_signs(vectors[:, order].T).T
    return values, vectors


def _symmetric_eigh(matrix, subset):
    # SciPy's LAPACK throughout, the library that formed the covariance (see
    # skprep._moments._gram_upper): divide and conquer for the whole spectrum,
    # MRRR for a few leading pairs.
    driver = "evr" if subset else "evd"
    return scipy.linalg.eigh(matrix, check_finite=False, driver=driver, **subset)


def sign_flips(components):
    """Per-row signs that make each row's entry of largest magnitude positive.

    Principal directions are defined up to sign; this convention makes the eigh,
    SVD and randomized solvers (and any LAPACK) return the same components. Ties
    in magnitude are broken by the first index.

    Parameters
    ----------
    components : ndarray of shape (k, n)

    Returns
    -------
    ndarray of shape (k,)
        +1 or -1 per row.
    """
    if components.size == 0:
        return np.ones(components.shape[0])
    pivots = np.argmax(np.abs(components), axis=1)
    signs = np.sign(components[np.arange(components.shape[0]), pivots])
    signs[signs == 0] = 1.0
    return signs


def deterministic_signs(components):
    """``components`` with each row flipped by :func:`sign_flips`.

    Parameters
    ----------
    components : ndarray of shape (k, n)

    Returns
    -------
    ndarray of shape (k, n)
    """
    return components * sign_flips(components)[:, None]


def rank_mask(eigenvalues, rtol, *, n_samples, n_features):
    """Eigenvalues of a covariance that are nonzero beyond roundoff.

    The numerical-rank rule of ``np.linalg.matrix_rank``: an eigenvalue counts
    when it exceeds ``rtol`` times the largest, with ``rtol = max(n_samples,
    n_features) * eps`` (float64) by default, the roundoff level of a
    covariance summed over ``n_samples`` rows and decomposed at order
    ``n_features``. PCA's whitening and every :class:`~skprep.Whitening`
    method decide their rank with it.

    Parameters
    ----------
    eigenvalues : ndarray of shape (n,)
        Non-negative, descending.
    rtol : float or None
        Relative tolerance; None for the default above.
    n_samples, n_features : int
        Shape of the training data behind the covariance.

    Returns
    -------
    ndarray of bool, shape (n,)
    """
    if rtol is None:
        rtol = max(n_samples, n_features) * np.finfo(np.float64).eps
    if eigenvalues.size == 0 or eigenvalues[0] <= 0:
        return np.zeros(eigenvalues.shape, dtype=bool)
    return eigenvalues > rtol * eigenvalues[0]


def _stacked_r(factors):
    """R factor of the rows of ``factors`` (R factors) stacked on each other."""
    if len(factors) == 1:
        return factors[0]
    return np.linalg.qr(np.vstack(factors), mode="r")


def centred_svd(X, mean, *, chunk_bytes=None):
    """Singular values and right singular vectors of ``X - mean``, exactly.

    With at least as many rows as columns, ``X - mean`` is reduced to the
    ``d``-by-``d`` triangular factor R of its QR decomposition by a tall-skinny
    QR: each row chunk is centred in cache and factored, the chunks' R factors
    are stacked and factored again (by blocks on the thread pool, then once
    more), and the SVD of R gives the result, since ``X - mean = Q R`` shares R's
    singular values and right singular vectors. Householder QR is backward
    stable, so this is as accurate as an SVD of the whole matrix (the
    condition number is never squared, as it is by a covariance), without
    forming the left singular vectors or a centred copy of ``X`` (on 200,000 x
    100 data 3x faster than LAPACK's gesdd on the centred matrix). With fewer
    rows than columns the centred matrix goes to gesdd directly.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Finite values; any floating dtype (chunks are promoted to float64).
    mean : ndarray of shape (d,)
    chunk_bytes : int, default=None
        Float64 size of a row chunk; None: the default chunk size (4 MiB),
        and at least ``8 d`` rows.

    Returns
    -------
    singular_values : ndarray of shape (min(n, d),)
        Descending.
    components : ndarray of shape (min(n, d), d)
        Right singular vectors as rows, signs as LAPACK leaves them.
    """
    n, d = X.shape
    if n < d:
        centred = np.asarray(X, dtype=np.float64) - mean
        _, s, vt = scipy.linalg.svd(
            centred, full_matrices=False, check_finite=False, overwrite_a=True
        )
        return s, vt
    if chunk_bytes is None:
        # Chunks of at least 8 d rows, so each factorisation does real work for
        # the d-by-d factor it leaves.
        chunk_bytes = max(DEFAULT_CHUNK_BYTES, 64 * d * d)

    def reduce_block(block):
        return _stacked_r(
            [
                np.linalg.qr(np.subtract(X[rows], mean, dtype=np.float64), mode="r")
                for rows in block
            ]
        )

    blocks = row_blocks(n, d, chunk_bytes)
    factors = run_blocks(reduce_block, blocks, blas=True)
    _, s, vt = np.linalg.svd(_stacked_r(factors), full_matrices=False)
    return s, vt
