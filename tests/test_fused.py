"""The compiled kernels (``skprep._fused``). The statistics pass, when it
answers, agrees with the NumPy passes; when it must not answer (NaN, infinity,
a column far from its shift), it declines and the NumPy path decides. The affine
map is bitwise the NumPy path's. And the setting chooses them."""

import math
import os
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import skprep
from skprep import _fused
from skprep._kernels import affine_columns, has_infinity
from skprep._moments import _ONE_PASS_MAX_KAPPA2, _Request, moments

from ._settings import settings

pytest.importorskip("numba")  # installed by the test extra; see test_setup below


def _fused_stats(chunk, mean=True, var=True, minmax=True):
    """The compiled pass over ``chunk`` as one chunk: (mean, m2, minimum,
    maximum), or None if it declined."""
    answered = _fused.fused_chunk_moments(
        chunk,
        [0, len(chunk)],
        mean=mean,
        var=var,
        minmax=minmax,
        max_kappa2=_ONE_PASS_MAX_KAPPA2,
    )
    return answered[0][:4] if answered else None  # without the mean's error


def _exact_mean_and_m2(X):
    """Column means and sums of squared deviations, correctly rounded sums."""
    X = np.asarray(X, dtype=np.float64)
    mean = np.array([math.fsum(col) / len(col) for col in X.T])
    m2 = [math.fsum((col - mu) ** 2) for col, mu in zip(X.T, mean, strict=True)]
    return mean, np.array(m2)


def _data(seed=0, n=1000, d=9, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.normal(3.0, 2.0, size=(n, d)) * rng.uniform(0.1, 10, size=d)
    return X.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [1, 2, 63, 64, 65, 1000])
def test_one_chunk_agrees_with_exact_sums(dtype, n):
    X = _data(n=n, dtype=dtype)
    mean, m2, minimum, maximum = _fused_stats(X)
    X64 = X.astype(np.float64)
    exact_mean, exact_m2 = _exact_mean_and_m2(X64)
    assert_allclose(mean, exact_mean, rtol=1e-14)
    assert_allclose(m2, exact_m2, rtol=1e-12, atol=1e-12 * X64.var() * n)
    assert_array_equal(minimum, X64.min(axis=0))
    assert_array_equal(maximum, X64.max(axis=0))
    assert minimum.dtype == np.float64


@pytest.mark.parametrize("n", [1, 2, 999, 1000])
@pytest.mark.parametrize("var, minmax", [(True, True), (True, False), (False, False)])
def test_float32_gets_bitwise_the_statistics_of_its_float64_copy(n, var, minmax):
    # float32 takes rows two at a time and float64 one at a time; each column
    # must still add its rows one after the other, in the same order.
    X = _data(1, n=n, dtype=np.float32)
    request = {"var": var, "minmax": minmax}
    single = _fused_stats(X, **request)
    double = _fused_stats(X.astype(np.float64), **request)
    for a, b in zip(single, double, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            assert_array_equal(a, b)


def test_only_what_was_asked_for_is_returned():
    X = _data(2)
    mean, m2, minimum, maximum = _fused_stats(X, var=False, minmax=False)
    assert m2 is None and minimum is None and maximum is None
    assert_allclose(mean, X.mean(axis=0), rtol=1e-14)
    mean, m2, minimum, maximum = _fused_stats(X, minmax=False)
    assert minimum is None and maximum is None
    assert_allclose(m2 / len(X), X.var(axis=0), rtol=1e-12)


def test_constant_columns_have_exactly_zero_spread():
    # 0.5 and -7 are their own means exactly: the pass answers. The mean of
    # 64 copies of 0.1 may round, and then the pass declines.
    X = np.tile([0.5, -7.0, 0.0], (500, 1))
    mean, m2, _, _ = _fused_stats(X)
    assert_array_equal(m2, 0.0)
    assert_array_equal(mean, X[0])
    X = np.tile([0.1, 1e9 + 0.3], (500, 1))
    with settings(kernels="numba"):
        m = moments(X)
    assert_array_equal(m.m2, 0.0)
    assert_array_equal(m.mean, X[0])


def test_far_from_the_origin_stays_accurate():
    X = 1e9 + np.random.default_rng(3).standard_normal((5000, 3))
    mean, m2, _, _ = _fused_stats(X)
    exact_mean, exact_m2 = _exact_mean_and_m2(X)
    assert_allclose(mean, exact_mean, rtol=1e-15)
    assert_allclose(m2, exact_m2, rtol=1e-9)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("row", [0, 70, 999])
def test_nan_or_infinity_anywhere_declines(value, row):
    X = _data(4)
    X[row, 5] = value
    assert _fused_stats(X) is None
    assert _fused_stats(X, var=False) is None


def test_a_column_far_from_its_shift_declines_and_numpy_decides():
    # The first rows sit about 8 standard deviations below the chunk's mean,
    # so the sum of squares about them would cancel; the pass must refuse.
    rest = 1e6 + np.random.default_rng(5).standard_normal(4000 - 64)
    x = np.concatenate([np.zeros(64), rest])
    X = np.column_stack([x, np.ones_like(x)])
    assert _fused_stats(X) is None
    with settings(kernels="numba"):
        m = moments(X, minmax=True)
    assert_allclose(m.m2, _exact_mean_and_m2(X)[1], rtol=1e-12)


def test_a_view_with_strides_declines():
    X = np.asfortranarray(_data(6))
    assert _fused_stats(X) is None
    assert _fused_stats(_data(6)[:, ::2]) is None


REQUESTS = [
    {"mean": True, "var": True, "minmax": True},
    {"mean": True, "var": True, "minmax": False},
    {"mean": True, "var": False, "minmax": False},
    {"mean": False, "var": False, "minmax": True},
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("request_", REQUESTS)
def test_a_run_of_chunks_answers_each_as_alone_up_to_the_first_declined(
    dtype, request_
):
    X = _data(17, n=1000, dtype=dtype)
    bounds = [100, 400, 401, 700, 1000]  # a one-row chunk; rows 0-99 left out

    def run():
        return _fused.fused_chunk_moments(
            X, bounds, max_kappa2=_ONE_PASS_MAX_KAPPA2, **request_
        )

    together = run()
    assert len(together) == 4
    for c, stats in enumerate(together):
        alone = _fused_stats(X[bounds[c] : bounds[c + 1]], **request_)
        for a, b in zip(stats[:4], alone, strict=True):
            assert (a is None) == (b is None)
            if a is not None:
                assert_array_equal(a, b)
    X[550, 2] = np.nan  # in the third chunk
    assert len(run()) == 2
    X[0, 2] = np.nan  # outside every chunk
    X[550, 2] = 1.0
    assert len(run()) == 4


def test_a_fit_over_many_blocks_agrees_with_the_numpy_passes():
    X = _data(7, n=20_000)
    with settings(kernels="numba"):
        fast = moments(X, minmax=True, chunk_bytes=8 * 9 * 1000)
    with settings(kernels="numpy"):
        slow = moments(X, minmax=True, chunk_bytes=8 * 9 * 1000)
    for a, b in zip(fast.astuple(), slow.astuple(), strict=True):
        if isinstance(a, np.ndarray):
            assert_allclose(a, b, rtol=1e-12, atol=1e-12 * np.abs(b).max())
        else:
            assert a == b


def test_a_declined_chunk_in_a_block_gives_the_numpy_statistics():
    X = _data(12, n=20_000)
    X[0, 3] = np.nan  # in the first chunk of the first block
    X[15_000, 5] = np.nan  # and in a later block
    with settings(kernels="numba"):
        fast = moments(X, chunk_bytes=8 * 9 * 1000)
    with settings(kernels="numpy"):
        slow = moments(X, chunk_bytes=8 * 9 * 1000)
    assert_array_equal(fast.n_observed, slow.n_observed)
    assert_allclose(fast.mean, slow.mean, rtol=1e-13)
    assert_allclose(fast.m2, slow.m2, rtol=1e-12)


def test_scatter_weights_integers_and_strides_keep_the_numpy_passes():
    X = np.zeros((1000, 3))

    def kernel(X, scatter, weighted):
        request = _Request(mean=True, var=True, minmax=False, scatter=scatter)
        return _fused.chunk_kernel(X, request, weighted=weighted)

    with settings(kernels="numba"):
        assert kernel(X, scatter=False, weighted=False)
        assert not kernel(X, scatter=True, weighted=False)
        assert not kernel(X, scatter=False, weighted=True)
        ints = X.astype(np.int64)
        assert not kernel(ints, scatter=False, weighted=False)
        assert not kernel(np.asfortranarray(X), scatter=False, weighted=False)
    with settings(kernels="numpy"):
        assert not kernel(X, scatter=False, weighted=False)


def test_auto_loads_the_compiled_kernels_once_the_numpy_passes_paid_for_them():
    # In a fresh process the first fits take the NumPy passes and do not even
    # import numba; once they have cost LOAD_SECONDS, auto loads the kernels.
    code = (
        "import sys, numpy as np\n"
        "from skprep import ZScoreScaler, _fused\n"
        "X = np.random.default_rng(0).normal(size=(100_000, 10))\n"
        "ZScoreScaler().fit(X)\n"
        "print('numba' in sys.modules, _fused._numpy_seconds > 0)\n"
        "_fused._numpy_seconds = _fused.LOAD_SECONDS\n"
        "ZScoreScaler().fit(X)\n"
        "print('skprep._compiled' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "SKPREP_KERNELS"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env
    )
    assert out.stdout.split() == ["False", "True", "True"], out.stderr


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 501])
def test_extremes_alone_are_exact(dtype, n):
    X = _data(14, n=n, dtype=dtype)
    _, _, minimum, maximum = _fused_stats(X, mean=False, var=False)
    assert minimum.dtype == np.float64
    assert_array_equal(minimum, X.min(axis=0))
    assert_array_equal(maximum, X.max(axis=0))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_extremes_alone_keep_the_sign_of_zero(dtype):
    # The NaN-carrying term is subtracted, not added: -0 + 0 would be +0.
    X = np.zeros((300, 3), dtype=dtype)
    X[:, 0] = -0.0
    X[:, 1] = -1.0
    X[:, 2] = 1.0
    _, _, minimum, maximum = _fused_stats(X, mean=False, var=False)
    assert_array_equal(np.signbit(minimum), [True, True, False])
    assert_array_equal(np.signbit(maximum), [True, True, False])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("row", [0, 1, 2, 499, 500])
def test_extremes_alone_decline_nan_and_infinity_in_any_row(dtype, value, row):
    X = _data(15, n=501, dtype=dtype)
    X[row, 4] = value
    assert _fused_stats(X, mean=False, var=False) is None


def test_extremes_alone_are_the_exact_extremes_on_both_paths():
    X = _data(16, n=20_000)
    for kernels in ("numba", "numpy"):
        with settings(kernels=kernels):
            fast = moments(X, var=False, minmax=True, mean=False)
            scaler = skprep.MinMaxScaler().fit(X)
        assert_array_equal(fast.minimum, X.min(axis=0))
        assert_array_equal(fast.maximum, X.max(axis=0))
        assert_array_equal(scaler.data_min_, X.min(axis=0))


def test_asking_for_numba_without_it_names_the_extra(monkeypatch):
    monkeypatch.setattr(_fused, "numba_available", lambda: False)
    X = np.zeros((10, 2))
    with settings(kernels="numba"):
        with pytest.raises(ImportError, match=r"skprep\[fast\]"):
            skprep.ZScoreScaler().fit(X)
    with settings(kernels="auto"):
        skprep.ZScoreScaler().fit(np.zeros((100_000, 2)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_scaler_fits_agree_across_kernels_and_threads(dtype):
    X = _data(8, n=50_000, d=20, dtype=dtype)
    fitted = {}
    for kernels in ("numpy", "numba"):
        for n_jobs in (1, 2):
            with settings(kernels=kernels, n_jobs=n_jobs):
                scaler = skprep.ZScoreScaler().fit(X)
            fitted[kernels, n_jobs] = (scaler.mean_, scaler.var_)
    for kernels in ("numpy", "numba"):  # threads never change a bit
        for a, b in zip(fitted[kernels, 1], fitted[kernels, 2], strict=True):
            assert_array_equal(a, b)
    for a, b in zip(fitted["numpy", 1], fitted["numba", 1], strict=True):
        assert_allclose(a, b, rtol=1e-12)


def test_a_float32_fit_is_bitwise_the_fit_of_its_float64_copy():
    X = _data(18, n=20_001, d=20, dtype=np.float32)
    X[15_000, 3] = np.nan  # one block takes the NumPy passes from there
    with settings(kernels="numba"):
        single, double = (
            moments(data, chunk_bytes=8 * 20 * 999)
            for data in (X, X.astype(np.float64))
        )
    for a, b in zip(single.astuple(), double.astuple(), strict=True):
        assert_array_equal(a, b)


def _both_kernels(function):
    results = []
    for kernels in ("numpy", "numba"):
        with settings(kernels=kernels):
            results.append(function())
    return results


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("terms", range(8))
@pytest.mark.parametrize("bounds", [None, (-0.5, 0.25)])
def test_affine_map_is_bitwise_the_numpy_path(dtype, terms, bounds):
    rng = np.random.default_rng(9)
    X = rng.normal(size=(3001, 7)).astype(dtype)
    X[5, 2], X[6, 3], X[7, 4] = np.nan, -0.0, 0.0
    shift, factor, offset = rng.normal(size=(3, 7))
    kwargs = {
        "shift": shift if terms & 1 else None,
        "factor": factor if terms & 2 else None,
        "offset": offset if terms & 4 else None,
        "bounds": bounds,
        "check_inf": True,
    }
    numpy_out, compiled_out = _both_kernels(lambda: affine_columns(X, **kwargs))
    for kernels in ("numpy", "numba"):  # in place: one array read and written
        buffer = X.copy()
        with settings(kernels=kernels):
            assert affine_columns(buffer, out=buffer, **kwargs) is buffer
        assert_array_equal(buffer, numpy_out)
        assert_array_equal(np.signbit(buffer), np.signbit(numpy_out))
    assert compiled_out.dtype == dtype
    assert_array_equal(compiled_out, numpy_out)
    assert_array_equal(np.signbit(compiled_out), np.signbit(numpy_out))
    assert np.isnan(compiled_out[5, 2])  # clipping keeps NaN


@pytest.mark.parametrize("kernels", ["numpy", "numba"])
@pytest.mark.parametrize("clip", [False, True])
def test_affine_map_tells_infinite_input_from_overflow(kernels, clip):
    bounds = (0.0, 1.0) if clip else None
    X = np.ones((4000, 3))
    X[3500, 1] = -np.inf
    with settings(kernels=kernels):
        with pytest.raises(ValueError, match="Input contains infinity"):
            affine_columns(X, factor=np.ones(3), bounds=bounds, check_inf=True)
        in_place = X.copy()
        with pytest.raises(ValueError, match="Input contains infinity"):
            affine_columns(in_place, factor=np.ones(3), out=in_place, check_inf=True)
    # A finite input whose result is beyond float64: an overflow, named as such,
    # unless the clip brings it back in range (its true value is above the bound).
    X = np.ones((4000, 3))
    X[3500, 1] = 1e300
    factor = np.array([1.0, 1e10, 1.0])
    with settings(kernels=kernels):
        if clip:
            out = affine_columns(X, factor=factor, bounds=bounds, check_inf=True)
            assert out[3500, 1] == 1.0
        else:
            with pytest.raises(ValueError, match="feature 1 overflow float64"):
                affine_columns(X, factor=factor, check_inf=True)


def test_affine_map_of_fortran_data_takes_the_numpy_path():
    X = np.asfortranarray(np.random.default_rng(10).normal(size=(500, 4)))
    assert _fused.affine_kernel(X, X, shift=None, factor=None, offset=None) is None
    numpy_out, compiled_out = _both_kernels(
        lambda: affine_columns(X, shift=np.ones(4), factor=np.full(4, 2.0))
    )
    assert compiled_out.flags.f_contiguous
    assert_array_equal(compiled_out, numpy_out)


@pytest.mark.parametrize("Scaler", [skprep.ZScoreScaler, skprep.MinMaxScaler])
@pytest.mark.parametrize("copy", [True, False])
def test_scaler_transforms_agree_across_kernels(Scaler, copy):
    X = _data(11, n=40_000, d=10, dtype=np.float32)
    scaler = Scaler(copy=copy).fit(X)
    numpy_out, compiled_out = _both_kernels(lambda: scaler.transform(X.copy()))
    assert_array_equal(compiled_out, numpy_out)
    assert_array_equal(
        *_both_kernels(lambda: scaler.inverse_transform(numpy_out.copy()))
    )


@pytest.mark.parametrize("order", ["C", "F"])
def test_the_infinity_search_counts_compiled_on_row_major_data(order):
    X = np.asarray(np.random.default_rng(13).normal(size=(3000, 4)), order=order)
    X[7, 1] = np.nan
    with settings(kernels="numba"):
        counter = _fused.infinity_counter(X)
        assert (counter is None) == (order == "F")
        assert not has_infinity(X)
        X[2999, 3] = -np.inf
        assert has_infinity(X)
    if counter is not None:
        counts = np.zeros(4, dtype=np.int64)
        counter(X, counts)
        assert_array_equal(counts, [0, 0, 0, 1])
