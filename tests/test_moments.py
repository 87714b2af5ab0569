"""The streaming-moments core: exact merges, chunking and threading invariance,
accuracy far from the origin, NaN, weights, sparse input and infinity.

Every test runs twice: with the NumPy passes and with the compiled single pass
(the ``fast`` extra, which the test extra installs), so both keep every contract.
"""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from skprep._chunks import chunk_row_count, iter_row_chunks
from skprep._kernels import affine_columns, has_infinity
from skprep._moments import Moments, moments

from ._settings import settings


@pytest.fixture(autouse=True, params=["numpy", "numba"])
def kernels(request):
    with settings(kernels=request.param):
        yield request.param


ALL = {"var": True, "minmax": True, "scatter": True}
# Chunks of 3 rows of 7 float64 features: many chunks and a ragged last one.
TINY = 8 * 7 * 3


def _data(seed=0, n=1001, d=7, loc=3.0):
    rng = np.random.default_rng(seed)
    return rng.normal(loc, 2.0, size=(n, d)) * rng.uniform(0.1, 10, size=d)


def _assert_same(a, b, rtol=1e-12):
    assert a.n_rows == b.n_rows
    assert_array_equal(a.n_observed, b.n_observed)
    for name in ("weight", "mean", "m2", "minimum", "maximum", "scatter"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            scale = np.abs(y).max() if y.size else 1.0
            assert_allclose(x, y, rtol=rtol, atol=rtol * scale, err_msg=name)


def test_one_shot_statistics_match_numpy():
    X = _data()
    m = moments(X, **ALL)
    assert m.n_rows == X.shape[0]
    assert_allclose(m.mean, np.mean(X, axis=0), rtol=1e-13)
    assert_allclose(m.variance(ddof=0), np.var(X, axis=0), rtol=1e-12)
    assert_allclose(m.variance(ddof=1), np.var(X, axis=0, ddof=1), rtol=1e-12)
    assert_allclose(m.covariance(ddof=1), np.cov(X, rowvar=False), rtol=1e-11)
    assert_array_equal(m.minimum, X.min(axis=0))
    assert_array_equal(m.maximum, X.max(axis=0))


@pytest.mark.parametrize("chunk_bytes", [8, TINY, 8 * 7 * 64, 2**30])
def test_chunk_size_does_not_change_the_statistics(chunk_bytes):
    X = _data(1)
    reference = moments(X, **ALL)
    _assert_same(moments(X, **ALL, chunk_bytes=chunk_bytes), reference)
    assert_allclose(
        moments(X, chunk_bytes=chunk_bytes).variance(), np.var(X, axis=0), rtol=1e-12
    )


@pytest.mark.parametrize("cut", [0, 1, 500, 1000, 1001])
def test_merge_of_two_parts_equals_the_whole(cut):
    X = _data(2)
    whole = moments(X, **ALL)
    left = moments(X[:cut], **ALL)
    right = moments(X[cut:], **ALL)
    _assert_same(left.merge(right), whole)
    _assert_same(right.merge(left), whole)  # order of the parts does not matter


def test_merge_is_associative_and_empty_is_neutral():
    X = _data(3, n=300)
    a, b, c = (moments(X[s], **ALL) for s in (slice(0, 50), slice(50, 51), slice(51)))
    _assert_same(a.merge(b).merge(c), a.merge(b.merge(c)))
    empty = Moments.empty(X.shape[1], var=True, minmax=True, scatter=True)
    _assert_same(empty.merge(a), a, rtol=0)
    _assert_same(a.merge(empty), a, rtol=0)


def test_merge_refuses_a_different_feature_count():
    with pytest.raises(ValueError, match="3 features"):
        moments(np.ones((4, 2))).merge(moments(np.ones((4, 3))))


def test_many_single_row_merges_equal_one_shot():
    X = _data(4, n=200, d=3)
    total = Moments.empty(3, var=True, minmax=True, scatter=True)
    for row in X:
        total = total.merge(moments(row[None, :], **ALL))
    _assert_same(total, moments(X, **ALL), rtol=1e-11)


# Means near 1e9 carry a rounding error of about 1e-7 each, and every merge of
# 3-row chunks feeds the difference of two such means into m2.
@pytest.mark.parametrize(("chunk_bytes", "rtol"), [(TINY, 1e-7), (2**30, 1e-9)])
def test_far_from_origin_matches_exact_sums(chunk_bytes, rtol):
    rng = np.random.default_rng(5)
    X = 1e9 + rng.standard_normal((20_000, 3))
    m = moments(X, chunk_bytes=chunk_bytes)
    exact_mean = [math.fsum(col) / len(col) for col in X.T]
    exact_m2 = [
        math.fsum((col - mu) ** 2) for col, mu in zip(X.T, exact_mean, strict=True)
    ]
    assert_allclose(m.mean, exact_mean, rtol=1e-14)
    assert_allclose(m.m2, exact_m2, rtol=rtol)


def test_far_from_origin_float32_matches_exact_sums():
    rng = np.random.default_rng(6)
    X = (1e4 + rng.standard_normal((30_000, 3))).astype(np.float32)
    m = moments(X, minmax=True, chunk_bytes=8 * 3 * 1000)
    X64 = X.astype(np.float64)  # exact: every float32 is a float64
    exact_mean = [math.fsum(col) / len(col) for col in X64.T]
    exact_m2 = [
        math.fsum((col - mu) ** 2) for col, mu in zip(X64.T, exact_mean, strict=True)
    ]
    assert_allclose(m.mean, exact_mean, rtol=1e-14)
    assert_allclose(m.m2, exact_m2, rtol=1e-9)
    assert m.minimum.dtype == np.float64
    assert_array_equal(m.minimum, X64.min(axis=0))


def test_float32_gives_the_statistics_of_its_float64_copy():
    X = _data(7).astype(np.float32)
    for chunk_bytes in (TINY, 2**30):
        _assert_same(
            moments(X, **ALL, chunk_bytes=chunk_bytes),
            moments(X.astype(np.float64), **ALL),
            rtol=1e-11,
        )


def test_nan_is_ignored_per_feature():
    X = _data(8, n=400, d=4)
    X[::3, 1] = np.nan
    X[5, 3] = np.nan
    m = moments(X, minmax=True, chunk_bytes=8 * 4 * 10)
    assert_array_equal(m.n_observed, (~np.isnan(X)).sum(axis=0))
    assert m.has_missing
    assert_allclose(m.mean, np.nanmean(X, axis=0), rtol=1e-13)
    assert_allclose(m.variance(), np.nanvar(X, axis=0), rtol=1e-12)
    assert_array_equal(m.minimum, np.nanmin(X, axis=0))
    assert_array_equal(m.maximum, np.nanmax(X, axis=0))
    assert not moments(_data(8)).has_missing


def test_a_column_missing_from_a_whole_chunk():
    X = _data(9, n=100, d=3)
    X[:40, 0] = np.nan  # the first chunks see no value of feature 0 at all
    m = moments(X, minmax=True, chunk_bytes=8 * 3 * 10)
    assert_allclose(m.mean[0], np.nanmean(X[:, 0]), rtol=1e-13)
    assert_allclose(m.variance()[0], np.nanvar(X[:, 0]), rtol=1e-12)
    assert m.minimum[0] == np.nanmin(X[:, 0])


def test_scatter_refuses_nan():
    X = _data(10, n=50, d=3)
    X[7, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        moments(X, var=False, scatter=True)


@pytest.mark.parametrize("value", [np.inf, -np.inf])
@pytest.mark.parametrize("where", [0, 517, 1000])
@pytest.mark.parametrize("request_", [{}, {"var": False, "minmax": True}, ALL])
def test_infinity_is_an_error_wherever_it_is(value, where, request_):
    X = _data(11)
    X[where, 4] = value
    with pytest.raises(ValueError, match="infinity"):
        moments(X, chunk_bytes=8 * 7 * 100, **request_)


def test_infinity_next_to_nan_is_still_an_error():
    X = _data(12, n=50, d=3)
    X[3, 1] = np.nan
    X[4, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        moments(X, minmax=True)


def test_frequency_weights_equal_repeated_rows():
    X = _data(13, n=300, d=4)
    w = np.random.default_rng(13).integers(0, 4, size=300)
    repeated = np.repeat(X, w, axis=0)
    weighted = moments(X, w.astype(float), **ALL, chunk_bytes=8 * 4 * 7)
    expected = moments(repeated, **ALL)
    for name in ("weight", "mean", "m2", "minimum", "maximum", "scatter"):
        assert_allclose(
            getattr(weighted, name), getattr(expected, name), rtol=1e-11, err_msg=name
        )


def test_weights_with_nan():
    X = _data(14, n=200, d=3)
    X[::5, 0] = np.nan
    w = np.random.default_rng(14).uniform(0, 2, size=200)
    m = moments(X, w, chunk_bytes=8 * 3 * 9)
    keep = ~np.isnan(X[:, 0])
    mean0 = np.average(X[keep, 0], weights=w[keep])
    assert_allclose(m.weight[0], w[keep].sum(), rtol=1e-13)
    assert_allclose(m.mean[0], mean0, rtol=1e-13)
    assert_allclose(m.m2[0], np.sum(w[keep] * (X[keep, 0] - mean0) ** 2), rtol=1e-11)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_equals_dense(fmt):
    rng = np.random.default_rng(15)
    dense = rng.normal(size=(300, 6)) * (rng.uniform(size=(300, 6)) < 0.2)
    dense[4, 2] = np.nan
    X = sp.random(300, 6, density=0, format=fmt) + sp.csr_array(dense)
    X = X.asformat(fmt)
    w = rng.uniform(0, 2, size=300)
    for weights in (None, w):
        _assert_same(
            moments(X, weights, minmax=True),
            moments(dense, weights, minmax=True),
            rtol=1e-12,
        )


def test_sparse_infinity_and_nan_in_a_scatter_are_refused():
    X = sp.csr_array(np.array([[0.0, 1.0], [np.inf, 0.0]]))
    with pytest.raises(ValueError, match="infinity"):
        moments(X)
    with pytest.raises(ValueError, match="NaN"):
        moments(sp.csr_array(np.array([[0.0, np.nan], [1.0, 0.0]])), scatter=True)


@pytest.mark.parametrize("weighted", [False, True])
def test_sparse_scatter_equals_the_dense_centred_products(weighted):
    rng = np.random.default_rng(3)
    dense = rng.normal(size=(50, 4)) * (rng.random((50, 4)) < 0.4)
    w = rng.uniform(0, 2, size=50) if weighted else np.ones(50)
    mean = (w @ dense) / w.sum()
    expected = (dense - mean).T @ ((dense - mean) * w[:, None])
    stats = moments(sp.csr_array(dense), None if not weighted else w, scatter=True)
    assert_allclose(stats.scatter, expected, rtol=1e-12, atol=1e-12)
    assert_array_equal(stats.scatter, stats.scatter.T)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_threads_give_bitwise_the_same_statistics(dtype):
    X = _data(16, n=3000).astype(dtype)
    X[::11, 2] = np.nan
    w = np.random.default_rng(16).uniform(0, 2, size=3000)
    results = []
    for n_jobs in (1, 2, 3):
        with settings(n_jobs=n_jobs):
            results.append(moments(X, w, minmax=True, chunk_bytes=TINY * 10))
    for other in results[1:]:
        for a, b in zip(results[0].astuple(), other.astuple(), strict=True):
            assert_array_equal(a, b)


def test_row_chunks_cover_every_row_once():
    assert chunk_row_count(100, 8 * 100 * 5) == 5
    assert chunk_row_count(10**9, 8) == 1
    seen = np.concatenate(
        [np.arange(12)[s] for s in iter_row_chunks(12, 2, chunk_bytes=8 * 2 * 5)]
    )
    assert_array_equal(seen, np.arange(12))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_affine_kernel_matches_the_formula(dtype, n_jobs):
    rng = np.random.default_rng(17)
    X = rng.normal(size=(5003, 5)).astype(dtype)
    X[3, 1] = np.nan
    shift, factor, offset = rng.normal(size=(3, 5))
    # float64 arithmetic, one rounding to the dtype of X
    wide = X.astype(np.float64)
    expected = ((wide - shift) * factor + offset).astype(dtype)
    with settings(n_jobs=n_jobs):
        out = affine_columns(X, shift=shift, factor=factor, offset=offset)
        clipped = affine_columns(X, factor=factor, bounds=(-0.5, 0.5))
        in_place = X.copy()
        same = affine_columns(in_place, shift=shift, out=in_place)
    assert out.dtype == dtype
    rtol = 1e-6 if dtype == np.float32 else 1e-15
    assert_allclose(out, expected, rtol=rtol, atol=rtol)
    assert_allclose(clipped, np.clip(wide * factor, -0.5, 0.5).astype(dtype), rtol=rtol)
    assert same is in_place
    assert_allclose(in_place, (wide - shift).astype(dtype), rtol=rtol)


def test_affine_kernel_finds_infinity():
    X = np.ones((100, 3))
    X[60, 2] = -np.inf
    with pytest.raises(ValueError, match="infinity"):
        affine_columns(X, factor=np.ones(3), check_inf=True)


def test_extremes_alone_skip_the_mean_and_still_merge():
    X = _data(18, n=500, d=4)
    X[7, 2] = np.nan
    m = moments(X, var=False, minmax=True, mean=False, chunk_bytes=8 * 4 * 30)
    assert m.mean is None and m.m2 is None
    assert_array_equal(m.minimum, np.nanmin(X, axis=0))
    assert_array_equal(m.maximum, np.nanmax(X, axis=0))
    assert_array_equal(m.n_observed, (~np.isnan(X)).sum(axis=0))
    halves = moments(X[:200], var=False, minmax=True, mean=False).merge(
        moments(X[200:], var=False, minmax=True, mean=False)
    )
    assert_array_equal(halves.maximum, m.maximum)
    assert halves.mean is None
    X[9, 1] = -np.inf
    with pytest.raises(ValueError, match="infinity"):
        moments(X, var=False, minmax=True, mean=False)


def test_chunks_near_and_far_from_the_origin_in_one_data_set():
    # Centred chunks take the one-pass sum of squares, offset ones the exact
    # centred pass; together they must still give the exact statistics.
    rng = np.random.default_rng(19)
    X = rng.standard_normal((6000, 2))
    X[3000:] += 1e6
    X[:, 1] = 0.1  # constant: never the one-pass formula
    m = moments(X, chunk_bytes=8 * 2 * 500)
    for j, col in enumerate(X.T):
        mu = math.fsum(col) / len(col)
        assert_allclose(m.mean[j], mu, rtol=1e-14)
        assert_allclose(m.m2[j], math.fsum((col - mu) ** 2), rtol=1e-9, atol=1e-20)
    assert m.variance()[1] < 1e-25  # exactly constant up to the roundoff of 0.1


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_has_infinity_scans_every_chunk(n_jobs):
    X = np.random.default_rng(20).normal(size=(40_000, 6))
    X[::13, 2] = np.nan
    with settings(n_jobs=n_jobs):
        assert not has_infinity(X)
        X[39_999, 5] = np.inf
        assert has_infinity(X)
        X[39_999, 5] = 1e308  # sums overflow, but nothing is infinite
        X[39_998, 5] = 1e308
        assert not has_infinity(X)


def test_scatter_with_chunks_near_and_far_from_the_origin():
    # Chunks near the origin sum products about zero, far ones centre first;
    # blocks mixing both must still give the covariance, exactly symmetric.
    rng = np.random.default_rng(21)
    X = rng.standard_normal((4000, 5)) @ rng.standard_normal((5, 5))
    X[2500:] += 1e5
    reference = np.cov(X - X.mean(axis=0), rowvar=False)
    for chunk_bytes in (8 * 5 * 100, 8 * 5 * 700, 2**30):
        m = moments(X, var=True, scatter=True, chunk_bytes=chunk_bytes)
        assert_allclose(m.covariance(ddof=1), reference, rtol=1e-9, atol=1e-9)
        assert_array_equal(m.scatter, m.scatter.T)
        assert_allclose(np.diag(m.scatter), m.m2, rtol=1e-9)
