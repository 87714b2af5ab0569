"""What users of scikit-learn's PCA expect: sparse input, n_components="mle",
and fit_transform from the factorisation. Expected values come from dense
float64 references (numpy.linalg) and from Minka's criterion written out term by
term here."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from skprep import PCA


def _sparse_data(fmt="csr", dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    dense = rng.normal(size=(300, 12)) @ np.diag(np.linspace(3, 0.5, 12))
    dense[rng.random(dense.shape) < 0.7] = 0.0
    return sp.csr_matrix(dense.astype(dtype)).asformat(fmt), dense


def _reference(dense):
    centred = dense - dense.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    return s**2 / (len(dense) - 1), vt


def _aligned(components, reference):
    """Components up to sign, as |cosines| with the reference rows."""
    return np.abs(np.sum(components * reference[: len(components)], axis=1))


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["eigh", "randomized", "auto"])
def test_sparse_fit_equals_the_dense_fit_on_the_densified_data(fmt, dtype, solver):
    X, dense = _sparse_data(fmt, dtype)
    dense = X.toarray().astype(np.float64)
    variances, vt = _reference(dense)
    pca = PCA(5, solver=solver, random_state=0, n_iter=20).fit(X)
    assert_allclose(pca.mean_, dense.mean(axis=0), rtol=1e-12)
    assert_allclose(pca.explained_variance_, variances[:5], rtol=1e-10)
    assert_allclose(_aligned(pca.components_, vt), 1.0, atol=1e-10)
    dense_pca = PCA(5, solver="svd").fit(dense)
    assert_allclose(pca.components_, dense_pca.components_, atol=1e-10)
    out = pca.transform(X)
    assert out.dtype == dtype
    tol = 1e-10 if dtype == np.float64 else 1e-5
    assert_allclose(out, dense_pca.transform(dense), rtol=tol, atol=tol)


def test_sparse_partial_fit_equals_the_dense_fit():
    X, _ = _sparse_data("csr")
    dense = X.toarray()
    streamed = PCA(4, solver="eigh")
    for rows in np.array_split(np.arange(300), 7):
        streamed.partial_fit(X[rows])
    variances, vt = _reference(dense)
    assert_allclose(streamed.explained_variance_, variances[:4], rtol=1e-10)
    assert_allclose(_aligned(streamed.components_, vt), 1.0, atol=1e-10)


def test_sparse_input_is_not_densified_by_the_randomized_solver(monkeypatch):
    X, _ = _sparse_data("csr")

    def refuse(*args, **kwargs):
        raise AssertionError("the sparse matrix was densified")

    monkeypatch.setattr(type(X), "toarray", refuse)
    monkeypatch.setattr(type(X), "todense", refuse)
    PCA(3, solver="randomized", random_state=0).fit(X).transform(X)
    PCA(3, solver="eigh").fit(X).transform(X)


def test_the_svd_solver_refuses_sparse_input_naming_the_solvers_that_take_it():
    X, _ = _sparse_data("csr")
    with pytest.raises(ValueError, match="'eigh'.*'randomized'"):
        PCA(3, solver="svd").fit(X)


def _minka_by_the_formula(spectrum, k, n):
    """Minka (2000), eq. (30), each factor as written, in log space, with loops."""
    d = len(spectrum)
    v = sum(spectrum[k:]) / (d - k)
    log_pu = -k * math.log(2)
    for i in range(1, k + 1):
        log_pu += math.lgamma((d - i + 1) / 2) - (d - i + 1) / 2 * math.log(math.pi)
    hat = list(spectrum[:k]) + [v] * (d - k)
    log_az = 0.0
    for i in range(k):
        for j in range(i + 1, d):
            log_az += math.log(
                n * (1 / hat[j] - 1 / hat[i]) * (spectrum[i] - spectrum[j])
            )
    m = d * k - k * (k + 1) / 2
    return (
        log_pu
        - n / 2 * sum(math.log(x) for x in spectrum[:k])
        - n * (d - k) / 2 * math.log(v)
        + (m + k) / 2 * math.log(2 * math.pi)
        - log_az / 2
        - k / 2 * math.log(n)
    )


@pytest.mark.parametrize("solver", ["eigh", "svd"])
def test_mle_picks_the_maximum_of_minkas_criterion(solver):
    rng = np.random.default_rng(1)
    n, d = 200, 8
    signal = rng.normal(size=(n, 3)) @ rng.normal(size=(3, d)) * 3
    X = signal + rng.normal(size=(n, d)) * 0.5
    spectrum = list(np.linalg.eigvalsh(np.cov(X.T))[::-1])
    evidence = [_minka_by_the_formula(spectrum, k, n) for k in range(1, d)]
    expected = int(np.argmax(evidence)) + 1
    assert expected == 3  # the data's own dimension
    pca = PCA("mle", solver=solver).fit(X)
    assert pca.n_components_ == expected
    from skprep._pca import _minka_log_evidence

    ours = [_minka_log_evidence(np.array(spectrum), k, n) for k in range(1, d)]
    assert_allclose(ours, evidence, rtol=1e-12)
    assert np.isfinite(pca.score(X))


def test_mle_refuses_what_it_cannot_do():
    X = np.random.default_rng(2).normal(size=(5, 8))
    with pytest.raises(ValueError, match="n_samples >= n_features"):
        PCA("mle").fit(X)
    with pytest.raises(ValueError, match="'randomized'"):
        PCA("mle", solver="randomized").fit(np.ones((20, 3)) + np.eye(20, 3))


@pytest.mark.parametrize("solver", ["svd", "randomized"])
@pytest.mark.parametrize("whiten", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fit_transform_returns_u_s_equal_to_transform(solver, whiten, dtype):
    rng = np.random.default_rng(3)
    X = (rng.normal(size=(400, 10)) @ rng.normal(size=(10, 10)) + 5).astype(dtype)
    pca = PCA(4, solver=solver, whiten=whiten, random_state=0)
    scores = pca.fit_transform(X)
    assert scores.dtype == dtype and scores.shape == (400, 4)
    tol = 1e-9 if dtype == np.float64 else 2e-5
    assert_allclose(scores, pca.transform(X), rtol=tol, atol=tol * np.abs(scores).max())


def test_fit_transform_of_sparse_input_equals_transform():
    X, _ = _sparse_data("csc")
    pca = PCA(4, solver="randomized", random_state=0)
    assert_allclose(pca.fit_transform(X), pca.transform(X), rtol=1e-9, atol=1e-12)
