"""Inputs people really have: sparse, near-constant, badly scaled, far from the
origin, float16, overflowing, rank-deficient, empty Dask partitions.

Every expected value is computed here, outside the code under test: exact sums
(``math.fsum``), a float64 reference on the same numbers, or a closed form.
"""

import contextlib
import math
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from skprep import PCA, MinMaxScaler, Whitening, ZScoreScaler
from skprep.datasets import load_breast_cancer

from ._settings import settings

KERNELS = ["numpy", "numba"]
METHODS = ["zca", "pca", "zca-cor", "pca-cor", "cholesky"]


def _exact_moments(x, w=None):
    """Weighted mean and biased variance of the non-NaN values of ``x`` (fsum)."""
    x = np.asarray(x, dtype=np.float64)
    w = np.ones_like(x) if w is None else np.asarray(w, dtype=np.float64)
    keep = ~np.isnan(x)
    x, w = x[keep], w[keep]
    total = math.fsum(w)
    if total == 0:
        return np.nan, np.nan
    mean = math.fsum(w * x) / total
    return mean, math.fsum(w * (x - mean) ** 2) / total


def _exact_columns(X, w=None):
    pairs = [_exact_moments(col, w) for col in np.asarray(X, dtype=np.float64).T]
    mean, var = (np.array(v) for v in zip(*pairs, strict=True))
    return mean, var


@pytest.fixture(params=KERNELS)
def kernels(request):
    if request.param == "numba":
        pytest.importorskip("numba")
    with settings(kernels=request.param):
        yield request.param


@contextlib.contextmanager
def _no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# --- 1. Sparse statistics ----------------------------------------------------

SPARSE_KINDS = [
    (fmt, container)
    for fmt in ("csr", "csc")
    for container in (sp.csr_matrix, sp.csr_array)
]


def _sparse(X, fmt, container):
    return container(X).asformat(fmt)


@pytest.mark.parametrize(("fmt", "container"), SPARSE_KINDS)
def test_sparse_batches_of_zeros_and_nan_do_not_crash(fmt, container):
    zeros = _sparse(np.zeros((4, 2)), fmt, container)
    fitted = ZScoreScaler(with_mean=False).fit(zeros)
    assert_array_equal(fitted.var_, [0.0, 0.0])
    assert_array_equal(fitted.scale_, [1.0, 1.0])

    nan = _sparse(np.full((4, 2), np.nan), fmt, container)
    fitted = ZScoreScaler(with_mean=False).fit(nan)
    assert np.isnan(fitted.var_).all() and np.isnan(fitted.mean_).all()
    assert_array_equal(fitted.scale_, [1.0, 1.0])

    # partial_fit: one all-zero row first, then real rows; equals the exact
    # statistics of all the rows.
    rest = np.array([[1.0, 0.0], [3.0, 2.0], [0.0, 5.0]])
    streamed = ZScoreScaler(with_mean=False)
    streamed.partial_fit(_sparse(np.zeros((1, 2)), fmt, container))
    streamed.partial_fit(_sparse(rest, fmt, container))
    mean, var = _exact_columns(np.vstack([np.zeros((1, 2)), rest]))
    assert_allclose(streamed.mean_, mean, rtol=1e-15)
    assert_allclose(streamed.var_, var, rtol=1e-15)


@pytest.mark.parametrize(("fmt", "container"), SPARSE_KINDS)
@pytest.mark.parametrize("weighted", [False, True])
def test_sparse_statistics_match_exact_sums_and_the_dense_path(
    fmt, container, weighted
):
    rng = np.random.default_rng(1)
    X = rng.normal(3.0, 2.0, size=(300, 6))
    X[rng.random(X.shape) < 0.6] = 0.0  # implicit zeros
    X[rng.random(X.shape) < 0.05] = np.nan
    X[:, 3] = 2.5  # fully stored constant column
    X[:, 4] = 0.0  # empty column
    X[:, 5] = np.nan  # never observed
    w = rng.uniform(0, 2, size=300) if weighted else None
    sparse = ZScoreScaler(with_mean=False).fit(_sparse(X, fmt, container), None, w)
    dense = ZScoreScaler(with_mean=False).fit(X, None, w)
    mean, var = _exact_columns(X, w)
    for fitted in (sparse, dense):
        assert_allclose(fitted.mean_, mean, rtol=1e-13, equal_nan=True)
        assert_allclose(fitted.var_, var, rtol=1e-12, atol=0, equal_nan=True)
        assert fitted.var_[3] == 0.0 and fitted.var_[4] == 0.0
        assert_array_equal(fitted.scale_[3:], [1.0, 1.0, 1.0])


@pytest.mark.parametrize(("fmt", "container"), SPARSE_KINDS)
@pytest.mark.parametrize("dense", [False, True])
def test_weighted_constant_feature_has_scale_one(fmt, container, dense):
    X = np.ones((100, 1))
    w = np.random.RandomState(0).uniform(0, 2, 100)
    data = X if dense else _sparse(X, fmt, container)
    scaler = ZScoreScaler(with_mean=False).fit(data, sample_weight=w)
    assert_array_equal(scaler.scale_, [1.0])
    assert scaler.var_[0] == 0.0
    out = scaler.transform(data)
    assert_array_equal(out.toarray() if sp.issparse(out) else out, X)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_float32_transform_rounds_once(fmt):
    rng = np.random.default_rng(2)
    X = sp.random(200, 5, density=0.3, format=fmt, random_state=3, dtype=np.float32)
    X.data = (X.data * 7 + 1e3).astype(np.float32)
    scaler = ZScoreScaler(with_mean=False).fit(X)
    out = scaler.transform(X)
    assert out.dtype == np.float32
    expected = (X.toarray().astype(np.float64) / scaler.scale_).astype(np.float32)
    assert_array_equal(out.toarray(), expected)
    back = scaler.inverse_transform(out)
    expected = (out.toarray().astype(np.float64) * scaler.scale_).astype(np.float32)
    assert_array_equal(back.toarray(), expected)
    assert rng is not None


# --- 2. When is a feature constant? ------------------------------------------


@pytest.mark.parametrize("n", [10_000, 1_000_000])
def test_far_from_the_origin_is_not_constant_at_any_row_count(kernels, n):
    x = 1.7e9 + 0.3 * np.random.default_rng(4).standard_normal((n, 1))
    mean, var = _exact_columns(x)
    fitted = ZScoreScaler().fit(x)
    assert_allclose(fitted.mean_, mean, rtol=1e-15)
    assert_allclose(fitted.var_, var, rtol=1e-9)
    assert_allclose(fitted.scale_, np.sqrt(var), rtol=1e-9)
    out = fitted.transform(x)
    assert_allclose(out.std(), 1.0, rtol=1e-6)


@pytest.mark.parametrize("unit", [1e-11, 1.0, 1e11])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_uniform_weights_change_nothing(kernels, unit, dtype):
    x = np.random.default_rng(5).normal(50, 10, size=(10_000, 1)).astype(dtype)
    mean, var = _exact_columns(x)
    fitted = ZScoreScaler().fit(x, sample_weight=np.full(10_000, unit))
    assert_allclose(fitted.mean_, mean, rtol=1e-14)
    assert_allclose(fitted.var_, var, rtol=1e-12)
    assert_allclose(fitted.scale_, np.sqrt(var), rtol=1e-12)


@pytest.mark.parametrize("value", [1e-10, -3.3, 0.1, 1.7e9, 0.0])
@pytest.mark.parametrize("n", [10, 100_003])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("missing", [False, True])
def test_identical_values_have_exactly_zero_spread(
    kernels, value, n, weighted, missing
):
    rng = np.random.default_rng(6)
    X = np.column_stack([np.full(n, value), rng.normal(size=n)])
    if missing:
        X[rng.random(n) < 0.1, 0] = np.nan
        X[0, 0] = np.nan  # not even the first row
    w = rng.uniform(0.5, 2, size=n) if weighted else None
    fitted = ZScoreScaler().fit(X, sample_weight=w)
    assert fitted.mean_[0] == value
    assert fitted.var_[0] == 0.0
    assert fitted.scale_[0] == 1.0
    half = n // 2  # partial_fit merges keep the exact zero
    streamed = ZScoreScaler().partial_fit(X[:half]).partial_fit(X[half:])
    assert streamed.var_[0] == 0.0 and streamed.mean_[0] == value
    if not weighted:
        minmax = MinMaxScaler(feature_range=(-2, 3)).fit(X)
        assert minmax.data_range_[0] == 0.0 and minmax.scale_[0] == 5.0


def test_spread_at_the_roundoff_level_of_the_values_is_constant(kernels):
    # Values that differ in their last bits only: the result of arithmetic on
    # identical numbers, not a signal.
    rng = np.random.default_rng(7)
    ulps = rng.integers(0, 3, size=(1000, 1))
    x = 1.0 + ulps * np.finfo(np.float64).eps
    assert ZScoreScaler().fit(x).scale_[0] == 1.0
    minmax = MinMaxScaler().fit(x)
    assert minmax.scale_[0] == 1.0
    # A spread a thousand times the roundoff is data and is scaled.
    y = 1.0 + ulps * 1e4 * np.finfo(np.float64).eps
    mean, var = _exact_columns(y)
    assert_allclose(ZScoreScaler().fit(y).scale_, np.sqrt(var), rtol=1e-6)
    span = math.fsum([y.max(), -y.min()])
    assert_allclose(MinMaxScaler().fit(y).scale_, 1.0 / span, rtol=1e-12)


@pytest.mark.parametrize("method", ["zca-cor", "pca-cor"])
def test_correlation_whitening_leaves_a_constant_column_unscaled(method):
    rng = np.random.default_rng(8)
    X = rng.normal(size=(500, 3)) @ rng.normal(size=(3, 3))
    X = np.column_stack([X, np.full(500, 1.7e9)])
    with pytest.warns(UserWarning, match="numerical rank 3 of 4"):
        w = Whitening(method).fit(X)
    Z = w.transform(X)
    assert np.isfinite(Z).all()
    cov = np.cov(Z.T)
    white = np.diag(cov) > 0.5
    assert white.sum() == 3 and w.rank_ == 3
    assert_allclose(cov, np.diag(white.astype(float)), atol=1e-9)


# --- 3. Rank decisions -----------------------------------------------------


@pytest.fixture(scope="module")
def breast_cancer():
    X_train, X_test, _, _ = load_breast_cancer(split=True)
    return np.asarray(X_train, dtype=np.float64), np.asarray(X_test, dtype=np.float64)


@pytest.mark.parametrize("method", METHODS)
def test_full_rank_data_are_whitened_to_the_identity(breast_cancer, method):
    X, _ = breast_cancer
    assert np.linalg.matrix_rank(X - X.mean(0)) == 30  # independent check
    with _no_warnings():
        w = Whitening(method).fit(X)
    Z = w.transform(X)
    assert w.rank_ == 30 and Z.shape == (X.shape[0], 30)
    assert_allclose(np.cov(Z.T), np.eye(30), atol=1e-6)


def test_pca_whitening_of_full_rank_data_is_the_identity(breast_cancer):
    X, _ = breast_cancer
    for solver in ("eigh", "svd"):
        with _no_warnings():
            Z = PCA(whiten=True, solver=solver).fit_transform(X)
        assert_allclose(np.cov(Z.T), np.eye(30), atol=1e-6)


def test_rank_tolerance_is_user_settable(breast_cancer):
    X, _ = breast_cancer
    eigenvalues = np.linalg.eigvalsh(np.cov(X.T))
    expected = int((eigenvalues > 1e-6 * eigenvalues.max()).sum())
    assert expected < 30
    with pytest.warns(UserWarning, match=f"rank {expected} of 30"):
        w = Whitening("zca", rtol=1e-6).fit(X)
    assert w.rank_ == expected


def test_grid_search_over_methods_scores_every_method(breast_cancer):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    X_train, _, y_train, _ = load_breast_cancer(split=True)
    search = GridSearchCV(
        make_pipeline(Whitening(), LogisticRegression(max_iter=2000)),
        {"whitening__method": METHODS},
        cv=3,
    ).fit(X_train, y_train)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all() and (scores > 0.8).all()


def _rank_deficient_cases():
    rng = np.random.default_rng(9)
    base = rng.normal(size=(400, 4)) @ rng.normal(size=(4, 4))
    duplicated = np.column_stack([base, base[:, :2]])  # rank 4 of 6
    constant = np.column_stack([base, np.full(400, 3.0)])  # rank 4 of 5
    wide = rng.normal(size=(12, 20))  # n < p: rank 11
    return {"duplicated": duplicated, "constant": constant, "wide": wide}


@pytest.mark.parametrize("case", sorted(_rank_deficient_cases()))
@pytest.mark.parametrize("method", METHODS[:4])
def test_rank_deficient_data_warn_and_keep_new_rows_on_the_training_scale(case, method):
    X = _rank_deficient_cases()[case]
    train, held_out = X[: len(X) // 2 + 1], X[len(X) // 2 + 1 :]
    with pytest.warns(UserWarning, match="numerical rank"):
        w = Whitening(method).fit(train)
    expected_rank = np.linalg.matrix_rank(train - train.mean(0))
    assert w.rank_ == expected_rank
    Z_train, Z_new = w.transform(train), w.transform(held_out)
    assert np.isfinite(Z_new).all()
    if case != "wide":  # held-out rows lie in the training span
        assert np.abs(Z_new).max() < 10 * np.abs(Z_train).max()
    # Training rows are white on the retained subspace.
    cov = np.cov(Z_train.T)
    assert_allclose(cov, cov @ cov, atol=1e-8)  # a projector
    assert_allclose(np.trace(cov), expected_rank, rtol=1e-8)


def test_cholesky_refuses_singular_covariance_with_a_clear_error():
    X = _rank_deficient_cases()["duplicated"]
    with pytest.raises(ValueError, match=r"numerical rank 4 < 6"):
        Whitening("cholesky").fit(X)
    Z = Whitening("cholesky", eps=1e-3).fit(X).transform(X)
    assert np.isfinite(Z).all()


def test_pca_whitening_zeroes_null_components_with_a_warning():
    X = _rank_deficient_cases()["wide"]  # 12 rows: rank 11 after centring
    with pytest.warns(UserWarning, match="1 of the 12 components"):
        pca = PCA(whiten=True, solver="svd").fit(X)
    new = np.random.default_rng(10).normal(size=(5, 20))
    Z = pca.transform(new)
    assert np.isfinite(Z).all()
    assert_array_equal(Z[:, -1], 0.0)
    assert_allclose(np.cov(pca.transform(X)[:, :11].T), np.eye(11), atol=1e-8)


# --- 4. Arithmetic precision of the learned map ------------------------------


def _estimators_for_precision():
    return {
        "zscore": ZScoreScaler(),
        "minmax": MinMaxScaler(feature_range=(-1, 1)),
        "pca-eigh": PCA(2, solver="eigh"),
        "pca-svd": PCA(2, solver="svd"),
        "pca-whiten": PCA(3, solver="eigh", whiten=True),
        **{f"whitening-{m}": Whitening(m) for m in METHODS},
    }


@pytest.mark.parametrize("name", sorted(_estimators_for_precision()))
def test_float32_far_from_the_origin_rounds_only_at_the_end(kernels, name):
    rng = np.random.default_rng(11)
    X32 = (1e6 + rng.standard_normal((1000, 3)) * [1, 0.5, 0.1]).astype(np.float32)
    X64 = X32.astype(np.float64)
    est = _estimators_for_precision()[name]
    fitted32 = type(est)(**est.get_params()).fit(X32)
    fitted64 = type(est)(**est.get_params()).fit(X64)
    out32, out64 = fitted32.transform(X32), fitted64.transform(X64)
    assert out32.dtype == np.float32
    # The float64 result rounded once: within an ulp of each value.
    tolerance = 2 * np.finfo(np.float32).eps * np.abs(out64).max()
    assert np.abs(out32 - out64).max() <= tolerance
    back32, back64 = (
        fitted32.inverse_transform(out32),
        fitted64.inverse_transform(out64),
    )
    assert back32.dtype == np.float32
    assert np.abs(back32 - back64).max() <= 4 * np.finfo(np.float32).eps * 1e6


def test_float16_is_computed_wide_and_returned_as_float16(kernels):
    x = np.arange(11, dtype=np.float16)[:, None]
    out = MinMaxScaler(feature_range=(-60000, 60000)).fit_transform(x)
    assert out.dtype == np.float16
    assert_array_equal(out[:, 0], np.array([-60000 + 12000 * k for k in range(11)]))
    rng = np.random.default_rng(12)
    y = rng.normal(300, 20, size=(50, 2)).astype(np.float16)
    scaler = ZScoreScaler().fit(y)
    mean, var = _exact_columns(y)
    expected = ((y.astype(np.float64) - mean) / np.sqrt(var)).astype(np.float16)
    assert_array_equal(scaler.transform(y), expected)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_a_result_beyond_the_output_dtype_is_named_as_an_overflow(kernels, dtype):
    biggest = float(np.finfo(dtype).max)
    scaler = MinMaxScaler(feature_range=(0, biggest / 2)).fit([[0.0, 0.0], [1.0, 1.0]])
    X = np.array([[0.5, 0.5], [0.5, 3.0]], dtype=dtype)
    with pytest.raises(ValueError, match=f"feature 1 overflow {np.dtype(dtype).name}"):
        scaler.transform(X)
    clipped = MinMaxScaler(feature_range=(0, biggest / 2), clip=True)
    assert np.isfinite(clipped.fit([[0.0, 0.0], [1.0, 1.0]]).transform(X)).all()


OVERFLOWING = np.array([[1e308, 1.0], [-1e308, 2.0], [1e308, 3.0]])


@pytest.mark.parametrize(
    "make",
    [
        ZScoreScaler,
        MinMaxScaler,
        lambda: PCA(solver="eigh"),
        Whitening,
        lambda: Whitening("zca-cor"),
    ],
    ids=["zscore", "minmax", "pca", "zca", "zca-cor"],
)
def test_statistics_that_overflow_float64_are_an_error(kernels, make):
    with pytest.raises(ValueError, match="feature 0 overflow float64"):
        make().fit(OVERFLOWING)
    frame = pd.DataFrame(OVERFLOWING, columns=["huge", "small"])
    with pytest.raises(ValueError, match="feature 'huge' overflow float64"):
        make().fit(frame)
    # Two finite batches whose merge overflows.
    with pytest.raises(ValueError, match="feature 0 overflow float64"):
        make().partial_fit(OVERFLOWING[:2]).partial_fit(OVERFLOWING[2:] * -1)


def test_sparse_statistics_that_overflow_are_an_error():
    X = sp.csr_matrix(OVERFLOWING)
    with pytest.raises(ValueError, match="feature 0 overflow float64"):
        ZScoreScaler(with_mean=False).fit(X)


# --- 5. PCA parameters -------------------------------------------------------


def test_randomized_pca_with_no_n_components_keeps_all():
    X = np.random.default_rng(13).normal(size=(20, 4)) @ np.diag([4.0, 3, 2, 1])
    pca = PCA(solver="randomized", random_state=0).fit(X)
    assert pca.n_components_ == 4
    eigenvalues = np.sort(np.linalg.eigvalsh(np.cov(X.T)))[::-1]
    assert_allclose(pca.explained_variance_, eigenvalues, rtol=1e-8)


@pytest.mark.parametrize("solver", ["eigh", "svd", "randomized"])
def test_zero_components_is_the_isotropic_gaussian(solver):
    rng = np.random.default_rng(14)
    X = rng.normal(size=(200, 5)) * [1, 2, 3, 4, 5] + 10
    X_new = rng.normal(size=(30, 5))
    pca = PCA(0, solver=solver, random_state=0).fit(X)
    assert pca.transform(X_new).shape == (30, 0)
    assert pca.get_feature_names_out().shape == (0,)
    assert_allclose(pca.inverse_transform(np.empty((3, 0))), np.tile(X.mean(0), (3, 1)))
    sigma2 = math.fsum(np.var(X, axis=0, ddof=1)) / 5
    centred = X_new - X.mean(0)
    expected = -0.5 * (
        5 * np.log(2 * np.pi * sigma2) + (centred**2).sum(axis=1) / sigma2
    )
    assert_allclose(pca.noise_variance_, sigma2, rtol=1e-12)
    assert_allclose(pca.score_samples(X_new), expected, rtol=1e-12)


def test_grid_search_over_n_components_includes_zero():
    from sklearn.model_selection import GridSearchCV

    X = np.random.default_rng(15).normal(size=(300, 4))
    search = GridSearchCV(PCA(solver="eigh"), {"n_components": [0, 1, 2, 3, 4]}, cv=3)
    search.fit(X)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


# --- 6. Dask collections with empty partitions -------------------------------


def _transformers():
    from skprep.utils import all_estimators

    return [name for name, _ in all_estimators("transformer")]


@pytest.mark.parametrize("name", _transformers())
def test_empty_dask_partitions_map_to_empty_partitions(name):
    dd = pytest.importorskip("dask.dataframe")
    da = pytest.importorskip("dask.array")
    from skprep.utils import all_estimators

    Estimator = dict(all_estimators())[name]
    rng = np.random.default_rng(16)
    df = pd.DataFrame(rng.normal(size=(60, 4)), columns=list("abcd"))
    df["a"] = np.arange(60.0)
    ddf = dd.from_pandas(df, npartitions=4)
    kept = ddf[ddf.a > 40]  # the first partitions are now empty
    assert (kept.map_partitions(len).compute() == 0).sum() >= 2

    est = Estimator().fit(df)
    out = est.transform(kept).compute()
    expected = est.transform(df[df.a > 40])
    assert_allclose(np.asarray(out), np.asarray(expected), rtol=1e-12)
    if hasattr(est, "inverse_transform"):
        back = est.inverse_transform(est.transform(kept)).compute()
        named = pd.DataFrame(np.asarray(expected), columns=est.get_feature_names_out())
        assert_allclose(np.asarray(back), est.inverse_transform(named), rtol=1e-10)

    X = df.to_numpy()
    est = Estimator().fit(X)
    blocks = da.concatenate(
        [da.from_array(X[:0]), da.from_array(X[:30]), da.from_array(X[30:30])]
        + [da.from_array(X[30:])]
    )
    arr = est.transform(blocks).compute()
    assert arr.shape == (60, len(est.get_feature_names_out()))
    assert_allclose(arr, est.transform(X), rtol=1e-12)


@pytest.mark.parametrize("name", ["MinMaxScaler", "PCA", "Whitening", "ZScoreScaler"])
def test_a_fit_that_sees_empty_partitions_equals_the_fit_without(name):
    dd = pytest.importorskip("dask.dataframe")
    from skprep.utils import all_estimators

    Estimator = dict(all_estimators())[name]
    rng = np.random.default_rng(17)
    df = pd.DataFrame(rng.normal(size=(80, 3)) + 1e3, columns=list("abc"))
    df["a"] = np.arange(80.0)
    ddf = dd.from_pandas(df, npartitions=4)
    fitted = Estimator().fit(ddf[ddf.a > 50])
    reference = Estimator().fit(df[df.a > 50])
    assert_allclose(fitted.transform(df), reference.transform(df), rtol=1e-10)


# --- 7. Found by a fresh user ------------------------------------------------


def test_a_variance_with_too_little_weight_for_its_ddof_is_refused():
    X = np.array([[1.0], [2.0], [3.0], [4.0]])
    with pytest.raises(ValueError, match="ddof=1 needs a total sample weight"):
        ZScoreScaler(ddof=1).fit(X, sample_weight=np.full(4, 0.25))
    with pytest.raises(ValueError, match="ddof=2 .* it has 2"):
        ZScoreScaler(ddof=2).fit(X[:2])
    with pytest.raises(ValueError, match="ddof=1 needs a total sample weight .* 1"):
        Whitening().fit(X, sample_weight=np.full(4, 0.25))
    # Streaming: not fitted until enough weight, and saying why.
    from sklearn.exceptions import NotFittedError

    streamed = ZScoreScaler(ddof=1).partial_fit(X[:1])
    with pytest.raises(NotFittedError, match="needs a total sample weight"):
        streamed.transform(X)
    streamed.partial_fit(X[1:])
    mean, var = _exact_columns(X)
    assert_allclose(streamed.var_, var * 4 / 3, rtol=1e-15)


def test_partial_fit_with_too_few_rows_for_n_components_says_so():
    from sklearn.exceptions import NotFittedError

    X = np.random.default_rng(20).normal(size=(8, 6))
    pca = PCA(5).partial_fit(X[:2])
    with pytest.raises(NotFittedError, match="seen 2 rows and needs at least 5"):
        pca.transform(X)
    assert pca.partial_fit(X[2:]).transform(X).shape == (8, 5)


def test_pca_fit_transform_of_a_dataframe_warns_about_nothing():
    frame = pd.DataFrame(np.random.default_rng(21).random((50, 3)), columns=list("abc"))
    for solver in ("eigh", "svd", "randomized"):
        with _no_warnings():
            out = PCA(2, solver=solver, random_state=0).fit_transform(frame)
        assert out.shape == (50, 2)


@pytest.mark.parametrize("make", [lambda: PCA(3), Whitening])
def test_projections_return_float16_for_float16(make):
    X = np.random.default_rng(22).random((50, 4)).astype(np.float16)
    est = make()
    out = est.fit_transform(X)
    assert out.dtype == np.float16
    reference = type(est)(**est.get_params()).fit(X.astype(np.float64))
    assert_allclose(
        out, reference.transform(X.astype(np.float64)), rtol=2e-3, atol=2e-3
    )
    assert est.inverse_transform(out).dtype == np.float16


def test_ranges_too_small_to_divide_by_and_infinite_bounds_are_refused():
    with pytest.raises(ValueError, match="feature 0 .* too small to divide by"):
        MinMaxScaler().fit([[0.0], [1e-310]])
    with pytest.raises(ValueError, match="finite width"):
        MinMaxScaler(feature_range=(0, np.inf)).fit([[0.0], [1.0]])
    with pytest.raises(ValueError, match="finite width"):
        MinMaxScaler(feature_range=(-1e308, 1e308)).fit([[0.0], [1.0]])


def test_tiny_values_whose_squares_underflow_warn():
    x = np.random.default_rng(23).standard_normal((100, 1)) * 1e-200
    with pytest.warns(UserWarning, match="underflow float64") as record:
        ZScoreScaler().fit(x)
    assert record[0].filename == __file__  # points at the caller, not skprep
    y = np.random.default_rng(23).standard_normal((100, 1)) * 1e-120
    assert_allclose(ZScoreScaler().fit(y).scale_, y.std(), rtol=1e-12)


def test_rank_warnings_point_at_the_caller():
    X = np.random.default_rng(24).normal(size=(5, 8))
    with pytest.warns(UserWarning, match="numerical rank") as record:
        Whitening().fit(X)
    assert record[0].filename == __file__
