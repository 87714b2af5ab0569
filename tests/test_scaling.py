"""Behaviour of MinMaxScaler and ZScoreScaler beyond scikit-learn's common checks."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import make_pipeline

from skprep import MinMaxScaler, ZScoreScaler

SCALERS = [MinMaxScaler, ZScoreScaler]


@pytest.fixture
def X():
    rng = np.random.default_rng(0)
    return rng.normal(loc=[0.0, 5.0, -3.0], scale=[1.0, 10.0, 0.1], size=(200, 3))


# --- the formulas -----------------------------------------------------------------


@pytest.mark.parametrize("feature_range", [(0, 1), (-1, 1), (2.5, 7.0)])
def test_minmax_maps_training_extremes_to_feature_range(X, feature_range):
    a, b = feature_range
    scaler = MinMaxScaler(feature_range=feature_range).fit(X)
    Xt = scaler.transform(X)
    assert_allclose(Xt.min(axis=0), a, atol=1e-12)
    assert_allclose(Xt.max(axis=0), b, atol=1e-12)
    expected = a + (X - X.min(0)) * (b - a) / (X.max(0) - X.min(0))
    assert_allclose(Xt, expected, rtol=1e-12, atol=1e-12)
    assert_allclose(Xt, X * scaler.scale_ + scaler.min_, atol=1e-12)
    assert_array_equal(scaler.data_range_, X.max(0) - X.min(0))
    assert scaler.n_samples_seen_ == X.shape[0]


def test_minmax_clip_bounds_new_data(X):
    X_new = np.vstack([X.min(0) - 10, X.max(0) + 10])
    unclipped = MinMaxScaler(feature_range=(-1, 1)).fit(X).transform(X_new)
    clipped = MinMaxScaler(feature_range=(-1, 1), clip=True).fit(X).transform(X_new)
    assert (unclipped[0] < -1).all() and (unclipped[1] > 1).all()
    assert_array_equal(clipped, np.array([[-1.0] * 3, [1.0] * 3]))


@pytest.mark.parametrize("bad", [(1, 1), (2, 0), (0, 1, 2), ("a", "b")])
def test_minmax_rejects_bad_feature_range(X, bad):
    with pytest.raises(ValueError, match="feature_range"):
        MinMaxScaler(feature_range=bad).fit(X)


@pytest.mark.parametrize("ddof", [0, 1, 2.5])
def test_zscore_matches_numpy_mean_and_std(X, ddof):
    scaler = ZScoreScaler(ddof=ddof).fit(X)
    assert_allclose(scaler.mean_, X.mean(0), rtol=1e-13)
    assert_allclose(scaler.var_, X.var(0, ddof=ddof), rtol=1e-12)
    assert_allclose(scaler.scale_, X.std(0, ddof=ddof), rtol=1e-12)
    Xt = scaler.transform(X)
    assert_allclose(Xt, (X - X.mean(0)) / X.std(0, ddof=ddof), rtol=1e-11, atol=1e-12)
    assert_allclose(Xt.std(0, ddof=ddof), 1.0, rtol=1e-12)


def test_zscore_without_mean_or_std(X):
    only_centre = ZScoreScaler(with_std=False).fit(X)
    assert only_centre.var_ is None and only_centre.scale_ is None
    assert_allclose(only_centre.transform(X), X - X.mean(0), atol=1e-12)
    only_scale = ZScoreScaler(with_mean=False).fit(X)
    assert_allclose(only_scale.transform(X), X / X.std(0), rtol=1e-12)


def test_zscore_sample_weight_equals_repetition(X):
    weights = np.random.default_rng(1).integers(0, 4, size=X.shape[0])
    weighted = ZScoreScaler(ddof=1).fit(X, sample_weight=weights)
    repeated = ZScoreScaler(ddof=1).fit(np.repeat(X, weights, axis=0))
    assert_allclose(weighted.mean_, repeated.mean_, rtol=1e-12)
    assert_allclose(weighted.var_, repeated.var_, rtol=1e-11)


def test_zscore_rejects_negative_sample_weight(X):
    with pytest.raises(ValueError, match="[Nn]egative"):
        ZScoreScaler().fit(X, sample_weight=-np.ones(X.shape[0]))


@pytest.mark.parametrize("Scaler", SCALERS)
def test_inverse_transform_round_trips(X, Scaler):
    scaler = Scaler().fit(X)
    assert_allclose(scaler.inverse_transform(scaler.transform(X)), X, atol=1e-12)


# --- streaming: partial_fit in chunks equals one fit ------------------------------


@settings(max_examples=25, deadline=None)
@given(
    cuts=st.lists(st.integers(min_value=1, max_value=59), max_size=6),
    nan_fraction=st.sampled_from([0.0, 0.2]),
    seed=st.integers(0, 2**16),
)
def test_partial_fit_in_any_chunks_equals_fit(cuts, nan_fraction, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=3.0, scale=2.0, size=(60, 4))
    X[rng.random(X.shape) < nan_fraction] = np.nan
    X[0] = 1.0  # every feature observed at least once
    bounds = [0, *sorted(set(cuts)), 60]
    for Scaler in SCALERS:
        whole = Scaler().fit(X)
        streamed = Scaler()
        for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
            streamed.partial_fit(X[start:stop])
        for name in ("mean_", "var_", "scale_", "data_min_", "data_max_"):
            if hasattr(whole, name):
                assert_allclose(
                    getattr(streamed, name), getattr(whole, name), rtol=1e-12
                )
        assert_array_equal(streamed.n_samples_seen_, whole.n_samples_seen_)


def test_fit_resets_what_partial_fit_accumulated(X):
    scaler = ZScoreScaler().partial_fit(X + 100)
    scaler.fit(X)
    assert_allclose(scaler.mean_, X.mean(0), rtol=1e-13)
    assert scaler.n_samples_seen_ == X.shape[0]


# --- dtypes, NaN, inf, constant features, data far from the origin ----------------


@pytest.mark.parametrize("Scaler", SCALERS)
def test_float32_stays_float32(X, Scaler):
    X32 = X.astype(np.float32)
    scaler = Scaler().fit(X32)
    out = scaler.transform(X32)
    assert out.dtype == np.float32
    assert scaler.inverse_transform(out).dtype == np.float32
    # The statistics are accumulated in float64 even for float32 input.
    reference = Scaler().fit(X32.astype(np.float64))
    assert_allclose(
        out, reference.transform(X32.astype(np.float64)), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize("Scaler", SCALERS)
def test_nan_ignored_in_fit_and_kept_in_output(X, Scaler):
    X_nan = X.copy()
    X_nan[::7, 1] = np.nan
    scaler = Scaler().fit(X_nan)
    clean = Scaler().fit(X_nan[~np.isnan(X_nan[:, 1])])
    for name in ("mean_", "scale_", "data_min_", "data_max_"):
        if hasattr(scaler, name):
            assert_allclose(getattr(scaler, name)[1], getattr(clean, name)[1])
    out = scaler.transform(X_nan)
    assert_array_equal(np.isnan(out), np.isnan(X_nan))
    expected_counts = [X.shape[0], np.sum(~np.isnan(X_nan[:, 1])), X.shape[0]]
    assert_array_equal(scaler.n_samples_seen_, expected_counts)


@pytest.mark.parametrize("Scaler", SCALERS)
@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinity_is_a_clear_error(X, Scaler, value):
    X_inf = X.copy()
    X_inf[3, 2] = value
    with pytest.raises(ValueError, match="infinity"):
        Scaler().fit(X_inf)
    scaler = Scaler().fit(X)
    with pytest.raises(ValueError, match="infinity"):
        scaler.transform(X_inf)


@pytest.mark.parametrize("Scaler", SCALERS)
def test_constant_feature_gets_unit_scale_without_warnings(X, Scaler):
    X_const = X.copy()
    X_const[:, 1] = 0.1  # 0.1 is not exact in binary: roundoff must not matter
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scaler = Scaler().fit(X_const)
        out = scaler.transform(X_const)
    assert np.isfinite(out).all()
    assert scaler.scale_[1] == pytest.approx(1.0 if Scaler is ZScoreScaler else 1.0)
    assert_allclose(out[:, 1], out[0, 1])


def test_data_far_from_origin_keeps_full_precision():
    rng = np.random.default_rng(3)
    X = 1e9 + rng.standard_normal((50_000, 2))
    scaler = ZScoreScaler().fit(X)
    exact_mean = np.array([math.fsum(col) / X.shape[0] for col in X.T])
    exact_std = np.array(
        [
            math.sqrt(math.fsum((col - m) ** 2) / X.shape[0])
            for col, m in zip(X.T, exact_mean, strict=True)
        ]
    )
    assert_allclose(scaler.mean_, exact_mean, rtol=1e-14)
    assert_allclose(scaler.scale_, exact_std, rtol=1e-9)
    # The naive one-pass formula fails badly here; the scaler must not be it.
    naive_var = np.mean(X**2, axis=0) - np.mean(X, axis=0) ** 2
    assert np.abs(naive_var / exact_std**2 - 1).max() > 1e-3


# --- copy semantics ---------------------------------------------------------------


@pytest.mark.parametrize("Scaler", SCALERS)
def test_copy_true_never_mutates_input(X, Scaler):
    X_before = X.copy()
    frame = pd.DataFrame(X, columns=list("abc"))
    frame_before = frame.copy()
    scaler = Scaler().fit(X)
    scaler.transform(X)
    scaler.inverse_transform(X)
    scaler.fit_transform(frame)
    assert_array_equal(X, X_before)
    pd.testing.assert_frame_equal(frame, frame_before)


@pytest.mark.parametrize("Scaler", SCALERS)
def test_copy_false_works_in_place(X, Scaler):
    scaler = Scaler(copy=False).fit(X)
    expected = Scaler().fit(X).transform(X)
    target = X.copy()
    out = scaler.transform(target)
    assert out is target
    assert_allclose(target, expected)


def test_zscore_sparse_scaling_without_centring():
    rng = np.random.default_rng(4)
    dense = rng.normal(size=(40, 5)) * (rng.random((40, 5)) < 0.3)
    X = sp.csr_matrix(dense)
    scaler = ZScoreScaler(with_mean=False).fit(X)
    assert_allclose(scaler.mean_, dense.mean(0), atol=1e-14)
    assert_allclose(scaler.var_, dense.var(0), rtol=1e-12)
    out = scaler.transform(X)
    assert sp.issparse(out)
    assert_allclose(out.toarray(), dense / dense.std(0), rtol=1e-12)
    assert_allclose(X.toarray(), dense)  # copy=True left the input alone
    assert_allclose(scaler.inverse_transform(out).toarray(), dense, atol=1e-12)


def test_zscore_refuses_to_centre_sparse_input():
    X = sp.random(20, 3, density=0.5, format="csr", random_state=0)
    with pytest.raises(ValueError, match="Cannot centre sparse input"):
        ZScoreScaler().fit(X)
    with pytest.raises(ValueError, match="Cannot centre sparse input"):
        ZScoreScaler(with_mean=False).fit(X).set_params(with_mean=True).transform(X)


# --- statistics come from the training data only ---------------------------------


@pytest.mark.parametrize("Scaler", SCALERS)
def test_transform_never_changes_fitted_attributes(X, Scaler):
    scaler = Scaler().fit(X)
    before = {k: np.copy(v) for k, v in vars(scaler).items() if k.endswith("_")}
    scaler.transform(X * 1000 + 7)
    for key, value in before.items():
        assert_array_equal(getattr(scaler, key), value)


@pytest.mark.parametrize("Scaler", SCALERS)
def test_each_output_row_depends_on_its_input_row_only(X, Scaler):
    scaler = Scaler().fit(X[:100])
    batch = scaler.transform(X[100:])
    rows = np.vstack([scaler.transform(X[i : i + 1]) for i in range(100, 200)])
    assert_array_equal(batch, rows)


@pytest.mark.parametrize("Scaler", SCALERS)
def test_cross_validation_uses_each_folds_training_statistics(X, Scaler):
    y = X @ np.array([1.0, -2.0, 0.5])
    result = cross_validate(
        make_pipeline(Scaler(), Ridge()),
        X,
        y,
        cv=KFold(4, shuffle=True, random_state=0),
        return_estimator=True,
        return_indices=True,
    )
    for pipe, train in zip(
        result["estimator"], result["indices"]["train"], strict=True
    ):
        fitted = pipe[0]
        if Scaler is ZScoreScaler:
            assert_allclose(fitted.mean_, X[train].mean(0), rtol=1e-12)
        else:
            assert_array_equal(fitted.data_min_, X[train].min(0))
            assert_array_equal(fitted.data_max_, X[train].max(0))


# --- bad input --------------------------------------------------------------------


@pytest.mark.parametrize("Scaler", SCALERS)
def test_wrong_feature_count_at_transform(X, Scaler):
    scaler = Scaler().fit(X)
    with pytest.raises(ValueError, match="3 features"):
        scaler.transform(X[:, :2])


@pytest.mark.parametrize("Scaler", SCALERS)
@pytest.mark.parametrize(
    "bad, message",
    [
        (np.empty((0, 3)), "0 sample"),
        (np.ones((2, 3, 4)), "dim 3"),
        (np.ones((4, 2)) + 1j, "[Cc]omplex"),
        (pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}), "convert|numeric"),
    ],
)
def test_bad_input_is_named(Scaler, bad, message):
    with pytest.raises(ValueError, match=message):
        Scaler().fit(bad)


@pytest.mark.parametrize(
    "estimator",
    [
        ZScoreScaler(ddof=-1),
        ZScoreScaler(with_mean="yes"),
        MinMaxScaler(feature_range=[0, 1]),
        MinMaxScaler(clip=1),
    ],
)
def test_bad_parameters_are_caught(X, estimator):
    with pytest.raises(ValueError, match="parameter"):
        estimator.fit(X)


# --- pandas, ColumnTransformer, GridSearchCV -------------------------------------


@pytest.mark.parametrize("Scaler", SCALERS)
def test_pandas_in_and_out(X, Scaler):
    frame = pd.DataFrame(X, columns=["height", "weight", "age"], index=range(10, 210))
    scaler = Scaler().set_output(transform="pandas").fit(frame)
    out = scaler.transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["height", "weight", "age"]
    assert_array_equal(out.index, frame.index)
    assert_array_equal(scaler.feature_names_in_, ["height", "weight", "age"])
    assert_array_equal(scaler.get_feature_names_out(), ["height", "weight", "age"])


def test_column_transformer_with_pandas_output(X):
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["city"] = ["Oslo", "Lima"] * 100
    ct = ColumnTransformer(
        [("z", ZScoreScaler(), ["a", "b"]), ("mm", MinMaxScaler((-1, 1)), ["c"])],
        remainder="passthrough",
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    out = ct.fit_transform(frame)
    assert list(out.columns) == ["a", "b", "c", "city"]
    assert_allclose(out[["a", "b"]].mean(), 0.0, atol=1e-12)
    assert out["c"].min() == pytest.approx(-1) and out["c"].max() == pytest.approx(1)
    assert (out["city"] == frame["city"]).all()


def test_grid_search_over_a_scaler_parameter(X):
    y = (X[:, 0] + 0.1 * X[:, 1] > 0).astype(int)
    search = GridSearchCV(
        make_pipeline(MinMaxScaler(), LogisticRegression()),
        {
            "minmaxscaler__feature_range": [(0, 1), (-1, 1)],
            "minmaxscaler__clip": [False, True],
        },
        cv=3,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_score_ > 0.8
