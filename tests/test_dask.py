"""Fitting and transforming Dask collections."""

import pickle

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from skprep import PCA, MinMaxScaler, Whitening, ZScoreScaler
from skprep.nn import BatchNormalizer

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
dask = pytest.importorskip("dask")

ESTIMATORS = {
    "zscore": (ZScoreScaler, ("mean_", "var_", "scale_")),
    "minmax": (lambda: MinMaxScaler(feature_range=(-1, 1)), ("data_min_", "data_max_")),
    "pca": (
        lambda: PCA(n_components=3, solver="eigh"),
        ("components_", "explained_variance_", "mean_"),
    ),
    "whitening": (lambda: Whitening(method="zca"), ("whitening_matrix_", "mean_")),
    "whitening-pca-cor": (lambda: Whitening(method="pca-cor"), ("whitening_matrix_",)),
}


@pytest.fixture
def X():
    rng = np.random.default_rng(0)
    return rng.normal(size=(1003, 5)) @ rng.normal(size=(5, 5)) + 1e4


def _never_compute(*args, **kwargs):
    raise AssertionError("a computation was triggered")


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
@pytest.mark.parametrize(
    "chunks",
    [(250, 5), (97, 2), (1003, 5), (13, 5)],
    # "many": 78 blocks, so the merge tree has three levels.
    ids=["even", "uneven", "one", "many"],
)
def test_dask_array_fit_equals_in_memory_fit(X, name, chunks):
    make, attributes = ESTIMATORS[name]
    reference = make().fit(X)
    fitted = make().fit(da.from_array(X, chunks=chunks))
    for attr in attributes:
        assert_allclose(
            getattr(fitted, attr), getattr(reference, attr), rtol=1e-9, atol=1e-12
        )
    assert fitted.n_samples_seen_ == reference.n_samples_seen_ == 1003
    out = fitted.transform(da.from_array(X, chunks=chunks))
    assert isinstance(out, da.Array)
    assert_allclose(out.compute(), reference.transform(X), rtol=1e-9, atol=1e-9)
    back = fitted.inverse_transform(out)
    assert_allclose(
        back.compute(), reference.inverse_transform(reference.transform(X)), rtol=1e-9
    )


def test_partial_fit_with_dask_blocks_merges(X):
    streamed = ZScoreScaler()
    streamed.partial_fit(da.from_array(X[:500], chunks=100))
    streamed.partial_fit(X[500:])
    assert_allclose(streamed.mean_, X.mean(0), rtol=1e-12)
    assert streamed.n_samples_seen_ == 1003


def test_fit_computes_once_and_transform_is_lazy(X):
    calls = []

    def counting_get(dsk, keys, **kwargs):
        calls.append(1)
        return dask.get(dsk, keys, **kwargs)

    data = da.from_array(X, chunks=100)
    with dask.config.set(scheduler=counting_get):
        scaler = ZScoreScaler().fit(data)
    assert len(calls) == 1
    with dask.config.set(scheduler=_never_compute):
        out = scaler.transform(data)  # building the graph computes nothing
        frame = scaler.transform(dd.from_array(X, chunksize=100))
    assert_allclose(out.compute(), scaler.transform(X))
    assert_allclose(frame.compute().to_numpy(), scaler.transform(X))


def test_dataframe_partitions_with_nan_keep_column_names(X):
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d", "e"])
    frame.iloc[::7, 1] = np.nan
    ddf = dd.from_pandas(frame, npartitions=6)
    reference = ZScoreScaler().fit(frame)
    fitted = ZScoreScaler().fit(ddf)
    assert_allclose(fitted.mean_, reference.mean_, rtol=1e-12)
    assert_allclose(fitted.scale_, reference.scale_, rtol=1e-10)
    assert list(fitted.feature_names_in_) == list("abcde")
    out = fitted.transform(ddf)
    assert isinstance(out, dd.DataFrame) and list(out.columns) == list("abcde")
    result = out.compute()
    assert_allclose(
        result.to_numpy(), reference.transform(frame), rtol=1e-10, atol=1e-9
    )
    assert result["b"].isna().sum() == frame["b"].isna().sum()
    pca_out = (
        PCA(n_components=2, solver="eigh").fit(ddf.fillna(0)).transform(ddf.fillna(0))
    )
    assert list(pca_out.columns) == ["pca0", "pca1"]


def test_infinity_in_a_block_is_the_usual_error(X):
    X_inf = X.copy()
    X_inf[700, 3] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        ZScoreScaler().fit(da.from_array(X_inf, chunks=100))


def test_batch_normalizer_on_dask_equals_in_memory_when_blocks_align(X):
    reference = BatchNormalizer(batch_size=50).fit(X[:1000])
    fitted = BatchNormalizer(batch_size=50).fit(
        da.from_array(X[:1000], chunks=(200, 5))
    )
    assert_allclose(fitted.running_mean_, reference.running_mean_, rtol=1e-12)
    assert_allclose(fitted.running_var_, reference.running_var_, rtol=1e-12)
    assert fitted.num_batches_tracked_ == reference.num_batches_tracked_ == 20
    out = fitted.transform(da.from_array(X, chunks=(200, 5)))
    assert_allclose(out.compute(), reference.transform(X))


@pytest.mark.parametrize(
    "est, message",
    [
        (PCA(solver="svd"), "solver='eigh'"),
        (Whitening(shrinkage="ledoit-wolf"), "float shrinkage"),
        (BatchNormalizer(shuffle=True), "shuffle"),
    ],
)
def test_unsupported_options_are_named(X, est, message):
    with pytest.raises(ValueError, match=message):
        est.fit(da.from_array(X, chunks=100))


def test_weights_and_text_columns_are_refused(X):
    with pytest.raises(ValueError, match="sample_weight"):
        ZScoreScaler().fit(da.from_array(X, chunks=100), sample_weight=np.ones(1003))
    frame = dd.from_pandas(
        pd.DataFrame({"a": [1.0, 2.0], "s": ["x", "y"]}), npartitions=1
    )
    with pytest.raises(ValueError, match="not numeric"):
        ZScoreScaler().fit(frame)


def test_wrong_width_in_partial_fit(X):
    scaler = ZScoreScaler().fit(X)
    with pytest.raises(ValueError, match="5 features"):
        scaler.partial_fit(da.from_array(X[:, :3], chunks=100))


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_distributed_round_trip(X, client):
    data = da.from_array(X, chunks=(200, 5))
    for make, attributes in ESTIMATORS.values():
        fitted = make().fit(data)
        reference = make().fit(X)
        for attr in attributes:
            assert_allclose(getattr(fitted, attr), getattr(reference, attr), rtol=1e-9)
        # transform ships the fitted estimator to the worker processes by pickling.
        assert_allclose(
            fitted.transform(data).compute(),
            reference.transform(X),
            rtol=1e-9,
            atol=1e-9,
        )
    clone = pickle.loads(pickle.dumps(ZScoreScaler().fit(data)))
    assert_allclose(clone.mean_, X.mean(0), rtol=1e-12)
