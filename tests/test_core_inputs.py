"""The statistics core on hard inputs, through the public estimators.

Zero weights next to far-away rows, huge constants after missing batches,
data far from the origin, thread counts with BLAS products, sparse columns
whose implicit zeros carry little weight, subnormal spreads, and inputs left
untouched. Expected values never come from skprep: they come from
``math.fsum`` (exactly rounded sums), closed forms, or the definition applied
to the rows that carry weight.
"""

import math
import os
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

import skprep
from skprep._config import effective_threads

from ._settings import settings

KERNELS = ["numpy", "numba"]


@pytest.fixture(params=KERNELS)
def kernels(request):
    with settings(kernels=request.param):
        yield request.param


def fsum_moments(col, w=None):
    """Mean and m2 = sum w (x - mean)^2 of a float64 column, to about eps.

    The mean comes from ``math.fsum`` (exactly rounded); deviations from a
    float64 value near the data are exact (Sterbenz) for data far from zero
    and rounded once otherwise; their squares are rounded once each and
    summed exactly. The correction for the mean's rounding is exact too.
    """
    col = np.asarray(col, dtype=np.float64)
    if w is None:
        w = np.ones_like(col)
    total = math.fsum(w)
    m = math.fsum(w * col) / total
    d = col - m
    s = math.fsum(w * d)
    return m + s / total, math.fsum(w * d * d) - s * s / total, total


def _relative(a, b):
    return float(np.max(np.abs(np.asarray(a) - b) / np.abs(b)))


# --------------------------------------------------------------------------
# Zero sample weights: rows with weight 0 do not belong to the data set, so
# they must not change a single statistic, whatever values they hold.
# --------------------------------------------------------------------------


def test_a_zero_weight_row_far_away_does_not_cost_precision(kernels):
    # Row 0 has weight 0 and lies at 1e12; the others are N(0, 1). The
    # statistics must be those of rows 1.. (computed with fsum), to 1e-12.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 3))
    X[0] = 1e12
    w = np.ones(1000)
    w[0] = 0.0
    scaler = skprep.ZScoreScaler().fit(X, sample_weight=w)
    for j in range(3):
        mean, m2, total = fsum_moments(X[1:, j])
        assert abs(scaler.mean_[j] - mean) <= 1e-12 * math.sqrt(m2 / total), j
        assert_allclose(scaler.var_[j], m2 / total, rtol=1e-12)


def test_a_constant_column_stays_exact_next_to_a_zero_weight_row(kernels):
    # Every row of positive weight holds 0.1: mean_ must be 0.1, var_ 0.
    X = np.full((10, 2), 0.1)
    X[0] = 1e9
    w = np.ones(10)
    w[0] = 0.0
    scaler = skprep.ZScoreScaler().fit(X, sample_weight=w)
    assert_array_equal(scaler.mean_, [0.1, 0.1])
    assert_array_equal(scaler.var_, [0.0, 0.0])
    whitening = skprep.Whitening().fit(X, sample_weight=w)
    assert_array_equal(whitening.mean_, [0.1, 0.1])
    assert_array_equal(whitening.covariance_, np.zeros((2, 2)))


def test_a_leading_block_of_zero_weight_keeps_a_constant_column_exact(kernels):
    # 200,000 x 10: several chunks and blocks. The first 60,000 rows (more than
    # a whole block) have weight 0 and hold 3.7; every weighted row holds 0.1.
    n = 200_000
    X = np.full((n, 10), 0.1)
    X[:60_000] = 3.7
    w = np.ones(n)
    w[:60_000] = 0.0
    scaler = skprep.ZScoreScaler().fit(X, sample_weight=w)
    assert_array_equal(scaler.mean_, np.full(10, 0.1))
    assert_array_equal(scaler.var_, np.zeros(10))


def test_a_leading_block_of_zero_weight_far_away_costs_no_precision(kernels):
    # Zero-weight rows at 1e9 first; the weighted rows are N(0, 1).
    n = 200_000
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n, 4))
    X[:60_000] = 1e9
    w = np.ones(n)
    w[:60_000] = 0.0
    scaler = skprep.ZScoreScaler().fit(X, sample_weight=w)
    for j in range(4):
        mean, m2, total = fsum_moments(X[60_000:, j])
        assert abs(scaler.mean_[j] - mean) <= 1e-12, j
        assert_allclose(scaler.var_[j], m2 / total, rtol=1e-12)


def test_min_max_ignores_zero_weight_rows(kernels):
    X = np.array([[-100.0, 5.0], [1.0, 2.0], [3.0, 4.0], [np.nan, 1e9]])
    w = np.array([0.0, 1.0, 1.0, 0.0])
    scaler = skprep.MinMaxScaler().fit(X, sample_weight=w)
    assert_array_equal(scaler.data_min_, [1.0, 2.0])
    assert_array_equal(scaler.data_max_, [3.0, 4.0])


# --------------------------------------------------------------------------
# Huge magnitudes: a constant column of 1e200 has mean 1e200 and variance 0,
# representable; it must not turn into an overflow error or a NaN because a
# batch or chunk had no observed value of it.
# --------------------------------------------------------------------------


def test_partial_fit_after_a_batch_missing_a_huge_constant_column(kernels):
    first = np.array([[np.nan, 1.0], [np.nan, 2.0]])
    second = np.array([[1e200, 1.0], [1e200, 2.0]])
    scaler = skprep.ZScoreScaler().partial_fit(first).partial_fit(second)
    assert_array_equal(scaler.mean_, [1e200, 1.5])
    assert_array_equal(scaler.var_, [0.0, 0.25])


def test_fit_with_leading_chunks_missing_a_huge_constant_column(kernels):
    # NaN in the first 110,000 rows covers at least one whole chunk on both
    # paths (4 MiB NumPy chunks, 8 MiB compiled ones, of 10 float64 features).
    n = 250_000
    X = np.ones((n, 10))
    X[:, 0] = 1e200
    X[:110_000, 0] = np.nan
    scaler = skprep.ZScoreScaler().fit(X)
    assert scaler.mean_[0] == 1e200
    assert scaler.var_[0] == 0.0


def test_a_constant_column_at_the_top_of_float64_is_exact(kernels):
    X = np.full((5, 2), 1e308)
    X[:, 1] = -1.7e308
    scaler = skprep.ZScoreScaler().fit(X)
    assert_array_equal(scaler.mean_, [1e308, -1.7e308])
    assert_array_equal(scaler.var_, [0.0, 0.0])
    assert_array_equal(scaler.transform(X), np.zeros((5, 2)))


# --------------------------------------------------------------------------
# Far from the origin: float64 data exactly representable at 1e9 have an exact
# variance; a two-pass float64 computation gets it to ~1e-15 (np.var on the
# same data: 2e-15), so "same statistics as centred data" means ~1e-12 at most.
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def far_data():
    rng = np.random.default_rng(2)
    n = 1_000_000
    X = 1e9 + rng.normal(size=(n, 3))
    X[:, 1] = rng.normal(size=n)  # a near-origin column in the same array
    return X


def test_variance_far_from_the_origin_to_1e12(kernels, far_data):
    X = far_data
    scaler = skprep.ZScoreScaler().fit(X)
    for j in range(X.shape[1]):
        _, m2, total = fsum_moments(X[:, j])
        assert_allclose(scaler.var_[j], m2 / total, rtol=1e-12, err_msg=str(j))


def test_kernels_agree_far_from_the_origin(far_data):
    fitted = {}
    for kernels in KERNELS:
        with settings(kernels=kernels):
            fitted[kernels] = skprep.ZScoreScaler().fit(far_data).var_
    assert_allclose(fitted["numpy"], fitted["numba"], rtol=1e-12)


def _reference_covariance(X):
    """Covariance about the fsum mean: deviations exact (Sterbenz) where the
    data are far from 0; products summed by BLAS in float64 (~1e-15 here)."""
    mean = np.array([math.fsum(X[:, j]) / X.shape[0] for j in range(X.shape[1])])
    centred = X - mean
    return centred.T @ centred / (X.shape[0] - 1)


def test_scatter_of_mixed_near_and_far_columns(kernels):
    rng = np.random.default_rng(3)
    n = 200_000
    X = rng.normal(size=(n, 10)) @ rng.normal(size=(10, 10))
    X[:, :5] += 1e9
    reference = _reference_covariance(X)
    scale = np.sqrt(np.outer(np.diag(reference), np.diag(reference)))
    for estimator in (skprep.Whitening(), skprep.PCA(solver="eigh")):
        estimator.fit(X)
        if isinstance(estimator, skprep.PCA):
            # The covariance PCA decomposed (its merged statistics).
            covariance = estimator._moments.covariance(ddof=1)
        else:
            covariance = estimator.covariance_
        assert_array_equal(covariance, covariance.T)
        error = np.max(np.abs(covariance - reference) / scale)
        assert error <= 1e-12, (type(estimator).__name__, error)


@pytest.mark.parametrize("layout", ["near_then_far", "far_then_near", "kappa_edge"])
def test_scatter_when_chunks_change_between_near_and_far(kernels, layout):
    # Passing probe: chunks summed about zero next to chunks centred on their
    # own mean, and columns right at the one-pass bound (mean 3.5 std).
    rng = np.random.default_rng(4)
    n = 200_000
    X = rng.normal(size=(n, 10)) @ rng.normal(size=(10, 10))
    if layout == "near_then_far":
        X[n // 2 :] += 1e6
    elif layout == "far_then_near":
        X[: n // 2] += 1e6
    else:
        X += 3.5 * X.std(axis=0)
    reference = _reference_covariance(X)
    scale = np.sqrt(np.outer(np.diag(reference), np.diag(reference)))
    covariance = skprep.Whitening().fit(X).covariance_
    assert_array_equal(covariance, covariance.T)
    assert np.max(np.abs(covariance - reference) / scale) <= 1e-12


# --------------------------------------------------------------------------
# Threads: "the result does not depend on the thread count" (bitwise).
# --------------------------------------------------------------------------


def test_thread_count_does_not_change_weighted_or_scatter_statistics():
    if (os.cpu_count() or 1) < 2:
        pytest.skip("needs two cores to run two threads")
    rng = np.random.default_rng(5)
    X = rng.normal(size=(120_000, 100))
    w = rng.uniform(0, 2, size=120_000)
    fitted = {}
    for n_jobs in (1, 2):
        with settings(kernels="numpy", n_jobs=n_jobs):
            assert effective_threads(100) == n_jobs
            fitted[n_jobs] = (
                skprep.ZScoreScaler().fit(X, sample_weight=w).var_,
                skprep.Whitening().fit(X, sample_weight=w).covariance_,
                skprep.PCA(solver="eigh").fit(X)._moments.scatter,
            )
    for name, a, b in zip(
        ("var", "weighted cov", "cov"), fitted[1], fitted[2], strict=True
    ):
        assert_array_equal(a, b, err_msg=name)


# --------------------------------------------------------------------------
# Sparse input with weights.
# --------------------------------------------------------------------------


def test_sparse_weight_of_implicit_zeros_is_not_a_difference_of_sums():
    # One implicit zero of weight 1e-4 among 10,000 stored ones of weight 1:
    # the variance comes from that zero alone. The dense path gets it.
    n = 10_000
    col = np.ones(n)
    col[0] = 0.0
    w = np.ones(n)
    w[0] = 1e-4
    _, m2, total = fsum_moments(col, w)
    dense = skprep.ZScoreScaler(with_mean=False).fit(col[:, None], sample_weight=w)
    assert_allclose(dense.var_, [m2 / total], rtol=1e-12)
    for fmt in ("csr", "csc"):
        Xs = sp.csr_matrix(col[:, None]).asformat(fmt)
        scaler = skprep.ZScoreScaler(with_mean=False).fit(Xs, sample_weight=w)
        assert_allclose(scaler.var_, [m2 / total], rtol=1e-12, err_msg=fmt)


# --------------------------------------------------------------------------
# Tiny values: squares of deviations below ~1e-154 are subnormal or zero.
# --------------------------------------------------------------------------


def test_a_subnormal_variance_is_accurate_or_warned_about(kernels):
    # Values 1, 2, 3 times 1e-160: std sqrt(2/3) * 1e-160, a normal float64;
    # the variance 6.67e-321 is subnormal (about 11 significant bits).
    X = np.array([[1e-160], [2e-160], [3e-160]])
    expected = math.sqrt(2 / 3) * 1e-160
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scaler = skprep.ZScoreScaler().fit(X)
    accurate = abs(scaler.scale_[0] / expected - 1) <= 1e-12
    assert accurate or caught, (scaler.scale_[0], expected)


# --------------------------------------------------------------------------
# PCA's SVD solvers: the mean of a constant column is that value.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("solver", ["eigh", "svd", "randomized"])
def test_pca_mean_of_a_constant_column_is_exact(solver):
    rng = np.random.default_rng(6)
    X = rng.normal(size=(1000, 4))
    X[:, 1] = 0.1
    pca = skprep.PCA(n_components=3, solver=solver, random_state=0).fit(X)
    assert pca.mean_[1] == 0.1


# --------------------------------------------------------------------------
# Inputs are never mutated with copy=True (passing probe over dtypes/layouts).
# --------------------------------------------------------------------------


def _layouts():
    rng = np.random.default_rng(7)
    base = rng.normal(5, 2, size=(3000, 6))
    return {
        "f64_C": base.copy(),
        "f64_F": np.asfortranarray(base),
        "f32_C": base.astype(np.float32),
        "f32_F": np.asfortranarray(base.astype(np.float32)),
        "f16": base.astype(np.float16),
        "int64": np.round(base * 100).astype(np.int64),
        "strided": np.repeat(base, 2, axis=1)[:, ::2],
    }


ESTIMATORS = {
    "zscore": lambda: skprep.ZScoreScaler(),
    "minmax_clip": lambda: skprep.MinMaxScaler(feature_range=(-2, 3), clip=True),
    "pca_eigh_whiten": lambda: skprep.PCA(solver="eigh", whiten=True),
    "pca_svd": lambda: skprep.PCA(solver="svd"),
    "pca_randomized": lambda: skprep.PCA(3, solver="randomized", random_state=0),
    "zca": lambda: skprep.Whitening(method="zca"),
    "cholesky": lambda: skprep.Whitening(method="cholesky"),
    "pca_cor": lambda: skprep.Whitening(method="pca-cor"),
}


@pytest.mark.parametrize("layout", sorted(_layouts()))
@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_fit_and_transform_leave_the_input_alone(kernels, layout, name):
    X = _layouts()[layout]
    before = X.copy(order="K")
    estimator = ESTIMATORS[name]().fit(X)
    Z = estimator.transform(X)
    estimator.inverse_transform(Z)
    assert_array_equal(X, before)
    assert np.isfinite(Z).all()
