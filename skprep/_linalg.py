"""Small numerical helpers shared by the scalers, PCA and whitening."""

import numpy as np

from ._config import single_threaded_blas

__all__ = [
    "constant_feature_mask",
    "deterministic_signs",
    "eigh_descending",
    "rank_mask",
    "safe_scale",
]


def constant_feature_mask(var, mean, n_samples):
    """Features whose variance is indistinguishable from roundoff.

    A feature whose values are all equal can still show a variance of a few ulps
    of its mean squared after centring in floating point. The bound below is the
    error of a centred two-pass variance: relative ``n * eps`` of the variance
    itself plus the squared error of the mean.
    """
    eps = np.finfo(np.float64).eps
    n = np.asarray(n_samples, dtype=np.float64)
    bound = n * eps * var + (n * np.abs(mean) * eps) ** 2
    return var <= bound


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


def eigh_descending(matrix):
    """Eigendecomposition of a symmetric PSD matrix, largest eigenvalue first.

    Eigenvalues that roundoff pushed below zero are clipped to 0, and each
    eigenvector's sign is fixed by :func:`deterministic_signs` (applied to the
    eigenvectors as rows), so the result does not depend on the LAPACK build.

    Parameters
    ----------
    matrix : ndarray of shape (n, n)
        Symmetric positive semi-definite (a covariance or correlation matrix).

    Returns
    -------
    eigenvalues : ndarray of shape (n,)
        Non-negative, sorted in descending order.
    eigenvectors : ndarray of shape (n, n)
        Orthonormal columns matching ``eigenvalues``.
    """
    if matrix.shape[0] <= _SMALL_EIGH:
        with single_threaded_blas():
            values, vectors = np.linalg.eigh(matrix)
    else:
        values, vectors = np.linalg.eigh(matrix)
    order = np.argsort(values)[::-1]
    values = np.clip(values[order], 0.0, None)
    vectors = deterministic_signs(vectors[:, order].T).T
    return values, vectors


def deterministic_signs(components):
    """Flip each row so that its entry of largest magnitude is positive.

    Principal directions are defined up to sign; this convention makes the eigh,
    SVD and randomized solvers (and any LAPACK) return the same components. Ties in
    magnitude are broken by the first index.

    Parameters
    ----------
    components : ndarray of shape (k, n)

    Returns
    -------
    ndarray of shape (k, n)
    """
    if components.size == 0:
        return components
    pivots = np.argmax(np.abs(components), axis=1)
    signs = np.sign(components[np.arange(components.shape[0]), pivots])
    signs[signs == 0] = 1.0
    return components * signs[:, None]


def rank_mask(eigenvalues, rtol):
    """Eigenvalues counted as nonzero: above ``rtol`` times the largest one.

    Parameters
    ----------
    eigenvalues : ndarray of shape (n,)
        Non-negative, descending.
    rtol : float
        Relative tolerance.

    Returns
    -------
    ndarray of bool, shape (n,)
    """
    if eigenvalues.size == 0 or eigenvalues[0] <= 0:
        return np.zeros(eigenvalues.shape, dtype=bool)
    return eigenvalues > rtol * eigenvalues[0]
