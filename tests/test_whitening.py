import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import ortho_group
from sklearn.covariance import ledoit_wolf_shrinkage
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from skprep import Whitening

METHODS = ["zca", "pca", "zca-cor", "pca-cor", "cholesky"]


@pytest.fixture
def X():
    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(5, 5)) * [1.0, 3.0, 0.5, 10.0, 2.0]
    return rng.normal(size=(800, 5)) @ mixing + [1.0, -2.0, 100.0, 0.0, 5.0]


def _cross_covariance(Z, X):
    Zc, Xc = Z - Z.mean(0), X - X.mean(0)
    return Zc.T @ Xc / (len(X) - 1)


def _cross_correlation(Z, X):
    return _cross_covariance(Z, X) / X.std(0, ddof=1)


@pytest.mark.parametrize("method", METHODS)
def test_whitened_training_data_have_identity_covariance(X, method):
    w = Whitening(method=method).fit(X)
    Z = w.transform(X)
    assert_allclose(Z.mean(0), 0.0, atol=1e-10)
    assert_allclose(np.cov(Z.T, ddof=1), np.eye(5), atol=1e-9)
    W = w.whitening_matrix_
    assert_allclose(W.T @ W, np.linalg.inv(np.cov(X.T)), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("ddof", [0, 1])
def test_identity_holds_at_the_chosen_ddof(X, ddof):
    Z = Whitening(ddof=ddof).fit_transform(X)
    assert_allclose(np.cov(Z.T, ddof=ddof), np.eye(5), atol=1e-9)


def test_zca_matrix_is_symmetric(X):
    for method in ("zca",):
        W = Whitening(method=method).fit(X).whitening_matrix_
        assert_allclose(W, W.T, atol=1e-12)


def _rotations(seed, count=20):
    return [ortho_group.rvs(5, random_state=seed + i) for i in range(count)]


def test_zca_maximises_the_trace_of_the_cross_covariance(X):
    fits = {m: Whitening(method=m).fit(X) for m in METHODS}
    best = np.trace(_cross_covariance(fits["zca"].transform(X), X))
    Z = fits["zca"].transform(X)
    for m, w in fits.items():
        assert np.trace(_cross_covariance(w.transform(X), X)) <= best + 1e-9, m
    for Q in _rotations(1):
        assert np.trace(_cross_covariance(Z @ Q.T, X)) <= best + 1e-9


def test_zca_cor_maximises_the_trace_of_the_cross_correlation(X):
    fits = {m: Whitening(method=m).fit(X) for m in METHODS}
    Z = fits["zca-cor"].transform(X)
    best = np.trace(_cross_correlation(Z, X))
    for m, w in fits.items():
        assert np.trace(_cross_correlation(w.transform(X), X)) <= best + 1e-9, m
    for Q in _rotations(2):
        assert np.trace(_cross_correlation(Z @ Q.T, X)) <= best + 1e-9


@pytest.mark.parametrize(
    "method, cross", [("pca", _cross_covariance), ("pca-cor", _cross_correlation)]
)
def test_pca_methods_compress_maximally(X, method, cross):
    def profile(Z):
        return np.cumsum((cross(Z, X) ** 2).sum(axis=1))

    Z = Whitening(method=method).fit_transform(X)
    best = profile(Z)
    assert_allclose(best[-1], profile(Whitening(method="zca").fit_transform(X))[-1])
    for Q in _rotations(3):
        assert (profile(Z @ Q.T) <= best + 1e-9).all()
    for other in METHODS:
        assert (profile(Whitening(method=other).fit_transform(X)) <= best + 1e-9).all()


def test_cholesky_matrix_is_upper_triangular_with_lower_triangular_cross_covariance(X):
    w = Whitening(method="cholesky").fit(X)
    W = w.whitening_matrix_
    assert_allclose(np.tril(W, -1), 0.0, atol=1e-14)
    assert (np.diag(W) > 0).all()
    phi = _cross_covariance(w.transform(X), X)
    assert_allclose(np.triu(phi, 1), 0.0, atol=1e-9)
    L = np.linalg.cholesky(np.linalg.inv(np.cov(X.T)))
    assert_allclose(W, L.T, rtol=1e-8)


@pytest.mark.parametrize("method", ["zca-cor", "pca-cor"])
def test_correlation_methods_are_invariant_to_rescaling_a_feature(X, method):
    scaled = X * [1.0, 1000.0, 1e-3, 1.0, 7.0]
    assert_allclose(
        Whitening(method=method).fit_transform(scaled),
        Whitening(method=method).fit_transform(X),
        atol=1e-9,
    )
    # The covariance-based ZCA is not: this is what the -cor variants buy.
    assert not np.allclose(
        Whitening(method="zca").fit_transform(scaled), Whitening().fit_transform(X)
    )


@pytest.mark.parametrize("method", METHODS)
def test_inverse_transform_colours_back(X, method):
    w = Whitening(method=method).fit(X)
    assert_allclose(w.inverse_transform(w.transform(X)), X, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_partial_fit_in_chunks_equals_fit(X, method):
    whole = Whitening(method=method).fit(X)
    streamed = Whitening(method=method)
    for start in range(0, 800, 130):
        streamed.partial_fit(X[start : start + 130])
    assert_allclose(streamed.whitening_matrix_, whole.whitening_matrix_, rtol=1e-9)
    assert_allclose(streamed.mean_, whole.mean_, rtol=1e-12)


def _singular_cases():
    rng = np.random.default_rng(5)
    wide = rng.normal(size=(30, 6)) @ rng.normal(size=(6, 50))  # n < p, rank 6
    duplicated = rng.normal(size=(200, 4))
    duplicated = np.column_stack([duplicated, duplicated[:, 1], duplicated[:, 2] * 3])
    constant = np.column_stack([rng.normal(size=(200, 3)), np.full(200, 0.7)])
    return {"n<p": wide, "duplicated": duplicated, "constant": constant}


@pytest.mark.parametrize("method", ["zca", "pca", "zca-cor", "pca-cor"])
@pytest.mark.parametrize("case", ["n<p", "duplicated", "constant"])
def test_singular_covariance_keeps_new_rows_finite_and_on_scale(method, case):
    data = _singular_cases()[case]
    train, rng = data, np.random.default_rng(6)
    # Held-out rows with a component off the training span.
    new = data[:20] + 0.1 * rng.normal(size=(20, data.shape[1])) * data.std()
    w = Whitening(method=method).fit(train)
    Z_train, Z_new = w.transform(train), w.transform(new)
    assert np.isfinite(Z_new).all()
    assert np.abs(Z_new).max() < 20 * np.abs(Z_train).max()
    assert w.rank_ < data.shape[1]
    # On the retained directions the training output is white.
    cov = np.cov(Z_train.T)
    assert_allclose(cov @ cov, cov, atol=1e-8)  # a projector
    assert_allclose(np.trace(cov), w.rank_, rtol=1e-8)


def test_cholesky_on_singular_covariance_needs_regularisation():
    data = _singular_cases()["duplicated"]
    with pytest.raises(ValueError, match="singular.*eps"):
        Whitening(method="cholesky").fit(data)
    Z = Whitening(method="cholesky", eps=1e-3).fit(data).transform(data)
    assert np.isfinite(Z).all()


@pytest.mark.parametrize("eps", [0.1, 1.0])
def test_eps_damps_weak_directions_as_documented(X, eps):
    w = Whitening(method="zca", eps=eps).fit(X)
    Z = w.transform(X)
    values, vectors = np.linalg.eigh(np.cov(X.T))
    expected = (vectors * (values / (values + eps))) @ vectors.T
    assert_allclose(np.cov(Z.T), expected, atol=1e-9)
    pca = Whitening(method="pca", eps=eps).fit(X)
    assert_allclose(
        np.cov(pca.transform(X).T),
        np.diag(np.sort(values / (values + eps))[::-1]),
        atol=1e-9,
    )


def test_shrinkage(X):
    s = 0.3
    w = Whitening(shrinkage=s).fit(X)
    cov = np.cov(X.T)
    expected = (1 - s) * cov + s * np.trace(cov) / 5 * np.eye(5)
    assert_allclose(w.covariance_, expected, rtol=1e-12)
    assert_allclose(
        w.whitening_matrix_.T @ w.whitening_matrix_, np.linalg.inv(expected), rtol=1e-8
    )
    lw = Whitening(shrinkage="ledoit-wolf").fit(X)
    assert lw.shrinkage_ == pytest.approx(ledoit_wolf_shrinkage(X - X.mean(0)))
    with pytest.raises(ValueError, match="fit only"):
        Whitening(shrinkage="ledoit-wolf").partial_fit(X)


@pytest.mark.parametrize("method", METHODS)
def test_float32_in_float32_out(X, method):
    X32 = X.astype(np.float32)
    w = Whitening(method=method).fit(X32)
    Z = w.transform(X32)
    assert Z.dtype == np.float32 and w.inverse_transform(Z).dtype == np.float32
    assert w.whitening_matrix_.dtype == np.float64
    assert_allclose(np.cov(Z.astype(np.float64).T), np.eye(5), atol=1e-4)


@pytest.mark.parametrize("method", METHODS)
def test_rows_transform_independently(X, method):
    w = Whitening(method=method).fit(X[:600])
    before = w.whitening_matrix_.copy()
    batch = w.transform(X[600:])
    rows = np.vstack([w.transform(X[i : i + 1]) for i in range(600, 800)])
    assert_allclose(batch, rows, rtol=1e-12, atol=1e-12)
    assert_array_equal(w.whitening_matrix_, before)


def test_feature_names_and_pandas_output(X):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=list("abcde"))
    out = Whitening(method="zca").set_output(transform="pandas").fit_transform(frame)
    assert list(out.columns) == list("abcde")
    out = Whitening(method="pca").set_output(transform="pandas").fit_transform(frame)
    assert list(out.columns) == [f"whitening{i}" for i in range(5)]


def test_grid_search_over_method_in_a_pipeline():
    from skprep.datasets import load_wine

    X, y = load_wine()
    search = GridSearchCV(
        Pipeline([("white", Whitening()), ("clf", LogisticRegression(max_iter=2000))]),
        {"white__method": METHODS},
        cv=3,
    ).fit(X, y)
    assert search.best_params_["white__method"] in METHODS
    assert search.best_score_ > 0.9
    assert len(search.cv_results_["params"]) == len(METHODS)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"method": "svd"}, "method"),
        ({"eps": -1}, "eps"),
        ({"shrinkage": 2.0}, "shrinkage"),
    ],
)
def test_bad_parameters_are_named(X, params, message):
    with pytest.raises(ValueError, match=message):
        Whitening(**params).fit(X)


def test_wrong_width_is_named(X):
    w = Whitening().fit(X)
    with pytest.raises(ValueError, match="5 features"):
        w.transform(X[:, :4])
    with pytest.raises(ValueError, match="outputs 5"):
        w.inverse_transform(X[:, :4])


@pytest.mark.parametrize("shrinkage", [None, "ledoit-wolf"])
@pytest.mark.parametrize(
    "bad, message", [(np.nan, "NaN"), (np.inf, "infinity"), (-np.inf, "infinity")]
)
def test_nan_and_infinity_are_refused(shrinkage, bad, message):
    X = np.random.default_rng(0).normal(size=(60, 5))
    X[17, 3] = bad
    with pytest.raises(ValueError, match=message):
        Whitening(shrinkage=shrinkage).fit(X)
    with pytest.raises(ValueError, match=message):
        Whitening().partial_fit(X)
