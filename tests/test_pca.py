import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.model_selection import GridSearchCV

from skprep import PCA

SOLVERS = ["eigh", "svd", "randomized"]


def _low_rank_data(n, d, rank, seed, dtype=np.float64, noise=1e-3):
    rng = np.random.default_rng(seed)
    scales = np.geomspace(10, 1, rank)
    X = (rng.normal(size=(n, rank)) * scales) @ rng.normal(size=(rank, d))
    X += noise * rng.normal(size=(n, d)) + rng.normal(size=d) * 5
    return X.astype(dtype)


def _tolerance(dtype):
    return 1e-9 if dtype == np.float64 else 2e-3


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "shape, rank, k",
    [((400, 8), 8, 4), ((60, 200), 5, 5), ((300, 20), 3, 3)],
    ids=["tall", "wide", "rank-deficient"],
)
def test_solvers_agree(seed, dtype, shape, rank, k):
    X = _low_rank_data(*shape, rank, seed, dtype)
    fits = {
        s: PCA(n_components=k, solver=s, random_state=0, n_iter=7).fit(X)
        for s in SOLVERS
    }
    ref = fits["svd"]
    tol = _tolerance(dtype)
    for solver, pca in fits.items():
        assert_allclose(pca.explained_variance_, ref.explained_variance_, rtol=tol * 10)
        # Same sign convention for every solver: components agree, not only up to sign.
        assert_allclose(
            pca.components_, ref.components_, atol=tol * 100, err_msg=solver
        )
        assert_allclose(pca.mean_, X.mean(0, dtype=np.float64), rtol=1e-6)
        Z = pca.transform(X)
        assert Z.dtype == dtype


def test_eigh_is_the_textbook_method():
    X = _low_rank_data(200, 6, 6, 0)
    pca = PCA(solver="eigh").fit(X)
    centred = X - X.mean(0)
    C = centred.T @ centred / (len(X) - 1)
    values, vectors = np.linalg.eigh(C)
    assert_allclose(pca.explained_variance_, values[::-1], rtol=1e-10)
    # Components are eigenvectors of C (up to sign) and orthonormal.
    assert_allclose(np.abs(pca.components_ @ vectors[:, ::-1]), np.eye(6), atol=1e-8)
    assert_allclose(pca.components_ @ pca.components_.T, np.eye(6), atol=1e-12)
    assert_allclose(pca.transform(X), centred @ pca.components_.T, atol=1e-10)
    assert_allclose(
        pca.singular_values_, np.linalg.svd(centred, compute_uv=False), rtol=1e-9
    )
    assert_allclose(pca.explained_variance_ratio_.sum(), 1.0)


def test_signs_are_deterministic():
    X = _low_rank_data(100, 5, 5, 3)
    for solver in SOLVERS:
        comps = PCA(n_components=3, solver=solver, random_state=1).fit(X).components_
        pivots = np.argmax(np.abs(comps), axis=1)
        assert (comps[np.arange(3), pivots] > 0).all()


@pytest.mark.parametrize("chunks", [[50, 100, 250], [1, 2, 397], [5] * 80])
def test_partial_fit_in_chunks_equals_fit(chunks):
    X = _low_rank_data(400, 7, 7, 4) + 1e6
    whole = PCA(n_components=4, solver="eigh").fit(X)
    streamed = PCA(n_components=4, solver="eigh")
    start = 0
    for size in chunks:
        streamed.partial_fit(X[start : start + size])
        start += size
    for name in ("components_", "explained_variance_", "mean_", "singular_values_"):
        assert_allclose(
            getattr(streamed, name), getattr(whole, name), rtol=1e-9, atol=1e-9
        )
    assert streamed.n_samples_seen_ == whole.n_samples_seen_ == 400


def test_partial_fit_refuses_the_svd_solvers():
    with pytest.raises(ValueError, match="solver='eigh'"):
        PCA(solver="svd").partial_fit(np.ones((5, 2)))


def test_variance_fraction_picks_the_fewest_components():
    X = _low_rank_data(300, 10, 10, 5)
    full = PCA().fit(X)
    cumulative = np.cumsum(full.explained_variance_ratio_)
    for fraction in (0.5, 0.9, 0.99):
        pca = PCA(n_components=fraction, solver="svd").fit(X)
        k = pca.n_components_
        assert cumulative[k - 1] >= fraction
        assert k == 1 or cumulative[k - 2] < fraction


@pytest.mark.parametrize("solver", SOLVERS)
def test_whitened_training_output_has_identity_covariance(solver):
    X = _low_rank_data(500, 6, 6, 6)
    Z = PCA(n_components=4, whiten=True, solver=solver, random_state=0).fit_transform(X)
    assert_allclose(np.cov(Z.T), np.eye(4), atol=1e-6)


@pytest.mark.parametrize("whiten", [False, True])
def test_inverse_transform_round_trips(whiten):
    X = _low_rank_data(200, 6, 6, 7)
    pca = PCA(whiten=whiten).fit(X)
    assert_allclose(pca.inverse_transform(pca.transform(X)), X, atol=1e-9)
    # With fewer components the reconstruction is the projection on their span.
    pca3 = PCA(n_components=3, whiten=whiten).fit(X)
    rec = pca3.inverse_transform(pca3.transform(X))
    assert_allclose(pca3.transform(rec), pca3.transform(X), atol=1e-9)


def test_covariance_precision_and_probabilistic_score():
    X = _low_rank_data(400, 6, 6, 8, noise=0.5)
    pca = PCA(n_components=3).fit(X)
    cov = pca.get_covariance()
    assert_allclose(cov @ pca.get_precision(), np.eye(6), atol=1e-8)
    from scipy.stats import multivariate_normal

    expected = multivariate_normal(mean=pca.mean_, cov=cov).logpdf(X)
    assert_allclose(pca.score_samples(X), expected, rtol=1e-10)
    assert pca.score(X) == pytest.approx(expected.mean())


@pytest.mark.parametrize("n_components", [None, 4])
def test_score_of_rank_deficient_data_does_not_depend_on_roundoff_sign(n_components):
    # Rank 3 in 6 features: with 4 or more components no variance is left for
    # the noise and the smallest eigenvalues are zero up to roundoff, whose sign
    # differs between machines. The score must not depend on that sign.
    X = _low_rank_data(200, 6, 3, 10, noise=0.0)
    pca = PCA(n_components=n_components).fit(X)
    scores = []
    for tiny in (1e-20, -1e-20):
        pca.explained_variance_ = pca.explained_variance_.copy()
        pca.explained_variance_[-1] = tiny
        with pytest.warns(UserWarning, match="singular to working precision"):
            scores.append(pca.score_samples(X))
    assert np.isfinite(scores[0]).all()
    assert_array_equal(scores[0], scores[1])


def test_score_of_full_rank_data_does_not_warn():
    X = _low_rank_data(300, 5, 5, 11, noise=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for k in (None, 2):
            assert np.isfinite(PCA(n_components=k).fit(X).score(X))


def test_grid_search_chooses_n_components_without_labels():
    rng = np.random.default_rng(9)
    latent = rng.normal(size=(600, 3)) * [5.0, 3.0, 2.0]
    X = latent @ rng.normal(size=(3, 10)) + rng.normal(size=(600, 10))
    search = GridSearchCV(PCA(), {"n_components": [1, 2, 3, 5, 8]}, cv=3).fit(X)
    assert search.best_params_["n_components"] == 3


def test_transform_rows_are_independent_and_fit_attributes_fixed():
    X = _low_rank_data(300, 5, 5, 10)
    pca = PCA(n_components=3, whiten=True).fit(X[:200])
    components = pca.components_.copy()
    batch = pca.transform(X[200:])
    rows = np.vstack([pca.transform(X[i : i + 1]) for i in range(200, 300)])
    assert_allclose(batch, rows, rtol=1e-12, atol=1e-12)
    assert_array_equal(pca.components_, components)


def test_feature_names_and_pandas_output():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(_low_rank_data(100, 4, 4, 11), columns=list("abcd"))
    pca = PCA(n_components=2).set_output(transform="pandas").fit(X)
    out = pca.transform(X)
    assert list(out.columns) == ["pca0", "pca1"]


@pytest.mark.parametrize(
    "params, X, message",
    [
        ({"n_components": 5, "solver": "svd"}, np.ones((4, 3)), "at most min"),
        ({"n_components": 0.5, "solver": "randomized"}, np.ones((10, 3)), "integer"),
        ({"n_components": 1.5}, np.ones((10, 3)), "n_components"),
        ({"solver": "qr"}, np.ones((10, 3)), "solver"),
        ({}, np.ones((1, 3)), "1 sample"),
    ],
)
def test_bad_input_is_named(params, X, message):
    with pytest.raises(ValueError, match=message):
        PCA(**params).fit(X)


def test_wrong_feature_count_at_transform():
    pca = PCA(n_components=2).fit(_low_rank_data(50, 4, 4, 12))
    with pytest.raises(ValueError, match="4 features"):
        pca.transform(np.ones((3, 5)))
    with pytest.raises(ValueError, match="2 components"):
        pca.inverse_transform(np.ones((3, 3)))


@pytest.mark.parametrize("solver", ["eigh", "svd", "randomized"])
@pytest.mark.parametrize(
    "bad, message", [(np.nan, "NaN"), (np.inf, "infinity"), (-np.inf, "infinity")]
)
def test_nan_and_infinity_are_refused_by_every_solver(solver, bad, message):
    X = np.random.default_rng(0).normal(size=(60, 5))
    X[17, 3] = bad
    with pytest.raises(ValueError, match=message):
        PCA(n_components=2, solver=solver, random_state=0).fit(X)
    if solver == "eigh":
        with pytest.raises(ValueError, match=message):
            PCA(n_components=2).partial_fit(X)


@pytest.mark.parametrize("shape", [(600, 80), (40, 80)], ids=["tall", "wide"])
def test_few_leading_eigenpairs_equal_the_full_decomposition(shape):
    # n_components=4 of 80 features takes only the leading eigenpairs (LAPACK's
    # subset driver); everything derived must match the full decomposition.
    X = _low_rank_data(*shape, rank=10, seed=5)
    few = PCA(n_components=4, solver="eigh").fit(X)
    full = PCA(n_components=None, solver="eigh").fit(X)
    assert_allclose(few.explained_variance_, full.explained_variance_[:4], rtol=1e-10)
    assert_allclose(few.components_, full.components_[:4], atol=1e-8)
    assert_allclose(
        few.explained_variance_ratio_, full.explained_variance_ratio_[:4], rtol=1e-10
    )
    discarded = full.explained_variance_[4 : min(shape)]
    assert_allclose(few.noise_variance_, discarded.mean(), rtol=1e-8)
    assert_allclose(few.score(X), PCA(4, solver="svd").fit(X).score(X), rtol=1e-8)


def test_randomized_solver_leaves_the_blas_thread_settings_as_it_found_them():
    # The solver holds BLAS to one thread while it runs; the thread counts,
    # defaults or the caller's own limit, must be back afterwards.
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads():
        return [lib["num_threads"] for lib in threadpool_info()]

    X = _low_rank_data(400, 80, rank=10, seed=3, noise=0.1)
    before = blas_threads()
    PCA(5, solver="randomized", random_state=0).fit(X)
    assert blas_threads() == before
    with threadpool_limits(limits=2, user_api="blas"):
        inside = blas_threads()
        PCA(5, solver="randomized", random_state=0).fit(X)
        assert blas_threads() == inside
    assert blas_threads() == before


@pytest.mark.parametrize("shape", [(500, 60), (60, 500)], ids=["tall", "wide"])
@pytest.mark.parametrize("n_iter", ["auto", 1, 5])
def test_randomized_solver_matches_scikit_learn_draw_for_draw(shape, n_iter):
    from sklearn.decomposition import PCA as SkPCA

    X = _low_rank_data(*shape, rank=20, seed=6, noise=0.5)
    before = X.copy()
    ours = PCA(8, solver="randomized", n_iter=n_iter, random_state=2).fit(X)
    ref = SkPCA(8, svd_solver="randomized", iterated_power=n_iter, random_state=2)
    ref.fit(X)
    assert_array_equal(X, before)
    assert_allclose(ours.explained_variance_, ref.explained_variance_, rtol=1e-10)
    assert_allclose(np.abs(ours.components_), np.abs(ref.components_), atol=1e-8)
    if n_iter == 1:
        # One power iteration is visibly approximate, so the agreement above is
        # the same algorithm and draws, not two exact SVDs.
        exact = PCA(8, solver="svd").fit(X).explained_variance_
        assert np.max(np.abs(ours.explained_variance_ - exact) / exact) > 1e-6
