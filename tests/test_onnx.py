"""ONNX export: onnxruntime runs each converted estimator like its ``transform``.

The reference is ``transform`` on float64 input; the ONNX graphs run in float32
(and float64) on held-out rows that include rows far outside the training range.
"""

import numpy as np
import pytest

pytest.importorskip("skl2onnx", reason="needs the onnx extra")
ort = pytest.importorskip("onnxruntime", reason="needs the onnx extra")

import onnx  # noqa: E402
from skl2onnx import to_onnx  # noqa: E402
from skl2onnx.common.data_types import Int64TensorType  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

import skprep.onnx  # noqa: E402, F401
from skprep import PCA, MinMaxScaler, Whitening, ZScoreScaler  # noqa: E402
from skprep.datasets import load_wine  # noqa: E402
from skprep.nn import BatchNormalizer, GroupNormalizer, LayerNormalizer  # noqa: E402

N_FEATURES = 6


def _data(n_train=300, seed=0):
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(N_FEATURES, N_FEATURES))
    offset = rng.uniform(-50, 50, size=N_FEATURES)
    X_train = rng.normal(size=(n_train, N_FEATURES)) @ mixing + offset
    near = rng.normal(size=(40, N_FEATURES)) @ mixing + offset
    # Far outside the training range: 100 training standard deviations out.
    far = 100 * rng.normal(size=(10, N_FEATURES)) @ mixing + offset
    return X_train, np.vstack([near, far])


def _id(value):
    return " ".join(repr(value).split())


def _run(onx, X):
    session = ort.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return session.run(None, {session.get_inputs()[0].name: X})


def _assert_matches(est, X_train, X_test, dtype, rtol):
    onx = to_onnx(est, X_train[:1].astype(dtype))
    onnx.checker.check_model(onx, full_check=True)
    (got,) = _run(onx, X_test.astype(dtype))
    assert got.dtype == dtype
    expected = est.transform(X_test)
    scale = np.nanmax(np.abs(expected))
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * scale)


CASES = [
    MinMaxScaler(),
    MinMaxScaler(feature_range=(-1, 2)),
    MinMaxScaler(feature_range=(-1, 2), clip=True),
    ZScoreScaler(),
    ZScoreScaler(ddof=1),
    ZScoreScaler(with_mean=False),
    ZScoreScaler(with_std=False),
    ZScoreScaler(with_mean=False, with_std=False),
    *[
        PCA(n_components=3, solver=solver, whiten=whiten, random_state=0)
        for solver in ("auto", "eigh", "svd", "randomized")
        for whiten in (False, True)
    ],
    PCA(n_components=0.9, whiten=True),
    *[
        Whitening(method=method, **settings)
        for method in ("zca", "pca", "zca-cor", "pca-cor", "cholesky")
        for settings in (
            {},
            {"eps": 1e-2},
            {"shrinkage": 0.3},
            {"shrinkage": "ledoit-wolf"},
        )
    ],
    BatchNormalizer(batch_size=32),
    BatchNormalizer(batch_size=32, momentum=None, eps=1e-2),
    BatchNormalizer(
        batch_size=32, gamma=np.arange(1.0, 7.0), beta=np.linspace(-1, 1, 6)
    ),
    LayerNormalizer(),
    LayerNormalizer(eps=1.0, gamma=np.arange(1.0, 7.0), beta=np.linspace(-1, 1, 6)),
    *[GroupNormalizer(num_groups=g) for g in (1, 2, 3, 6)],
    GroupNormalizer(num_groups=2, gamma=-np.arange(1.0, 7.0), beta=np.ones(6)),
]


@pytest.mark.parametrize("est", CASES, ids=_id)
def test_onnx_float32_graph_matches_transform(est):
    X_train, X_test = _data()
    est.fit(X_train)
    _assert_matches(est, X_train, X_test, np.float32, rtol=1e-5)


@pytest.mark.parametrize("est", CASES[::3], ids=_id)
def test_onnx_float64_graph_matches_transform(est):
    X_train, X_test = _data()
    est.fit(X_train)
    _assert_matches(est, X_train, X_test, np.float64, rtol=1e-12)


@pytest.mark.parametrize(
    "est",
    [
        PCA(whiten=True),
        Whitening(method="zca"),
        Whitening(method="pca-cor"),
        Whitening(method="cholesky", eps=1e-3),
    ],
    ids=_id,
)
def test_rank_deficient_fit_exports_its_truncation(est):
    # Fewer rows than features and a duplicated column: the fitted maps truncate
    # or regularise the rank; the graph must carry that over to new rows.
    X_train, X_test = _data(n_train=4)
    X_train[:, 5] = X_train[:, 0]
    est.fit(X_train)
    _assert_matches(est, X_train, X_test, np.float32, rtol=1e-5)


@pytest.mark.parametrize(
    "est", [MinMaxScaler(clip=True), ZScoreScaler()], ids=lambda e: type(e).__name__
)
def test_scalers_keep_nan_in_its_cell_like_transform(est):
    X_train, X_test = _data()
    X_train[::7, 1] = np.nan
    X_test[::5, 2] = np.nan
    est.fit(X_train)
    (got,) = _run(to_onnx(est, X_train[:1].astype(np.float32)), X_test.astype("f4"))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(X_test))
    _assert_matches(est, X_train, X_test, np.float32, rtol=1e-5)


@pytest.mark.parametrize(
    "est, nan_spreads_over_row",
    [
        (PCA(n_components=3), True),
        (Whitening(), True),
        (LayerNormalizer(), True),
        (GroupNormalizer(num_groups=3), True),
        (BatchNormalizer(batch_size=32), False),
    ],
    ids=lambda p: type(p).__name__ if not isinstance(p, bool) else "",
)
def test_nan_refused_by_transform_gives_nan_only_in_its_row(est, nan_spreads_over_row):
    X_train, X_test = _data()
    est.fit(X_train)
    X_test[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.transform(X_test)
    (got,) = _run(to_onnx(est, X_train[:1].astype(np.float32)), X_test.astype("f4"))
    bad = np.isnan(got)
    if nan_spreads_over_row:
        assert bad[3].all()
    else:
        assert np.flatnonzero(bad[3]).tolist() == [1]
    assert not np.delete(bad, 3, axis=0).any()
    clean = np.delete(np.arange(len(X_test)), 3)
    expected = est.transform(X_test[clean])
    np.testing.assert_allclose(
        got[clean], expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max()
    )


def test_infinity_refused_by_transform_passes_through_the_graph():
    X_train, X_test = _data()
    est = ZScoreScaler().fit(X_train)
    X_test[0, 0] = np.inf
    with pytest.raises(ValueError, match="nfinity"):
        est.transform(X_test)
    (got,) = _run(to_onnx(est, X_train[:1].astype(np.float32)), X_test.astype("f4"))
    assert got[0, 0] == np.inf
    assert np.isfinite(got[1:]).all() and np.isfinite(got[0, 1:]).all()


@pytest.mark.parametrize(
    "first_steps",
    [
        [ZScoreScaler(), PCA(5)],
        [MinMaxScaler(), Whitening(method="zca-cor", shrinkage="ledoit-wolf")],
        [BatchNormalizer(batch_size=16), PCA(5, whiten=True, solver="svd")],
    ],
    ids=["zscore-pca", "minmax-whitening", "batchnorm-pca"],
)
def test_pipeline_exports_with_same_predictions(first_steps):
    X_train, X_test, y_train, _ = load_wine(split=True)
    centre = X_train.mean(axis=0)
    # Held-out rows, then the same rows pushed ten times further from the centre.
    X_new = np.vstack([X_test, centre + 10 * (X_test - centre)])
    clf = LogisticRegression(max_iter=1000)
    model = make_pipeline(*first_steps, clf).fit(X_train, y_train)
    onx = to_onnx(
        model,
        X_train[:1].astype(np.float32),
        options={id(clf): {"zipmap": False}},
    )
    labels, proba = _run(onx, X_new.astype(np.float32))
    np.testing.assert_array_equal(labels, model.predict(X_new))
    np.testing.assert_allclose(proba, model.predict_proba(X_new), rtol=0, atol=1e-5)

    features = model[:-1]
    (got,) = _run(to_onnx(features, X_train[:1].astype(np.float32)), X_new.astype("f4"))
    expected = features.transform(X_new)
    np.testing.assert_allclose(
        got, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max()
    )


def test_conversion_errors_name_the_problem():
    X_train, _ = _data()
    with pytest.raises(NotFittedError):
        to_onnx(ZScoreScaler(), X_train[:1].astype(np.float32))
    est = PCA(2).fit(X_train)
    with pytest.raises(ValueError, match="fitted on 6 features.*shape"):
        to_onnx(est, X_train[:1, :4].astype(np.float32))
    with pytest.raises(TypeError, match="float32 or float64 input only"):
        to_onnx(est, initial_types=[("X", Int64TensorType([None, 6]))])
