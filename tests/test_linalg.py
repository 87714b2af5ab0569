"""The shared decompositions: exact SVD by tall-skinny QR, randomized SVD, eigh."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skprep import PCA
from skprep._linalg import centred_svd, eigh_descending

from ._settings import settings


def _with_spectrum(n, singular_values, seed, offset=3.0):
    """Rows whose centred matrix has exactly the given singular values."""
    rng = np.random.default_rng(seed)
    d = len(singular_values)
    left = rng.normal(size=(n, d))
    left -= left.mean(axis=0)  # centred columns stay centred after QR
    left, _ = np.linalg.qr(left)
    right, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return (left * singular_values) @ right.T + offset, right.T


@pytest.mark.parametrize(
    "shape, chunk_bytes",
    [
        ((300, 7), None),  # one chunk
        ((300, 7), 8 * 7 * 40),  # 40-row chunks: several blocks of stacked R
        ((300, 7), 8 * 7 * 3),  # chunks shorter than d: R factors of 3 rows
        ((7, 7), None),
        ((5, 40), None),  # fewer rows than columns: gesdd
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_centred_svd_equals_svd_of_the_centred_matrix(shape, chunk_bytes, dtype):
    X = np.random.default_rng(1).normal(size=shape).astype(dtype) + 10
    before = X.copy()
    mean = X.mean(axis=0, dtype=np.float64)
    s, vt = centred_svd(X, mean, chunk_bytes=chunk_bytes)
    _, s_ref, vt_ref = np.linalg.svd(X.astype(np.float64) - mean, full_matrices=False)
    assert_array_equal(X, before)
    assert s.shape == (min(shape),) and vt.shape == (min(shape), shape[1])
    assert_allclose(s, s_ref, rtol=1e-12, atol=1e-12 * s_ref[0])
    # Right singular vectors agree up to sign (the spectrum is simple).
    assert_allclose(np.abs(vt @ vt_ref.T), np.eye(min(shape)), atol=1e-9)


def test_centred_svd_does_not_depend_on_the_thread_count():
    X = np.random.default_rng(2).normal(size=(2000, 6))
    mean = X.mean(axis=0)
    with settings(n_jobs=1):
        one = centred_svd(X, mean, chunk_bytes=8 * 6 * 50)
    with settings(n_jobs=2):
        two = centred_svd(X, mean, chunk_bytes=8 * 6 * 50)
    for a, b in zip(one, two, strict=True):
        assert_array_equal(a, b)


def test_svd_solver_keeps_small_singular_values_that_the_covariance_loses():
    # Singular values over seven decades: the covariance squares the condition
    # number (1e14), the QR route does not.
    singular_values = np.geomspace(1.0, 1e-7, 6)
    X, _ = _with_spectrum(500, singular_values, seed=3)
    svd = PCA(solver="svd").fit(X)
    assert_allclose(svd.singular_values_, singular_values, rtol=1e-7)
    eigh = PCA(solver="eigh").fit(X)
    eigh_error = np.abs(eigh.singular_values_ / singular_values - 1).max()
    assert eigh_error > 1e-4  # the comparison above is not vacuous


@pytest.mark.parametrize("shape", [(400, 50), (50, 400)], ids=["tall", "wide"])
def test_randomized_pca_is_exact_on_a_matrix_of_lower_rank(shape):
    # With at least rank-many test vectors the range is found exactly.
    rng = np.random.default_rng(4)
    A = rng.normal(size=(shape[0], 6)) @ rng.normal(size=(6, shape[1]))
    before = A.copy()
    pca = PCA(4, solver="randomized", n_oversamples=2, n_iter=0, random_state=0)
    pca.fit(A)
    _, s_ref, vt_ref = np.linalg.svd(A - A.mean(axis=0), full_matrices=False)
    assert_array_equal(A, before)
    assert_allclose(pca.singular_values_, s_ref[:4], rtol=1e-10)
    assert_allclose(np.abs(pca.components_ @ vt_ref[:4].T), np.eye(4), atol=1e-8)


def test_leading_eigenpairs_are_the_largest_of_the_full_decomposition():
    rng = np.random.default_rng(5)
    B = rng.normal(size=(200, 100))
    C = B.T @ B
    values, vectors = eigh_descending(C)
    few_values, few_vectors = eigh_descending(C, n_leading=5)
    assert few_values.shape == (5,) and few_vectors.shape == (100, 5)
    assert_allclose(few_values, values[:5], rtol=1e-12)
    assert_allclose(few_vectors, vectors[:, :5], atol=1e-10)  # same sign rule
    assert_allclose(C @ few_vectors, few_vectors * few_values, atol=1e-9 * values[0])
