import numpy as np
import pytest
from numpy.testing import assert_array_equal

import skprep
from skprep import MinMaxScaler, ZScoreScaler
from skprep._moments import moments


def test_thread_count_does_not_change_the_statistics():
    X = np.random.default_rng(0).normal(3.0, 2.0, size=(5000, 7))
    results = []
    for n_jobs in (1, 2, 4):
        with skprep.config_context(n_jobs=n_jobs):
            results.append(
                moments(X, var=True, minmax=True, scatter=True, chunk_bytes=8 * 7 * 50)
            )
    for other in results[1:]:
        for a, b in zip(results[0].astuple(), other.astuple(), strict=True):
            assert_array_equal(a, b)  # merged in row order: bitwise identical


def test_thread_count_does_not_change_transform():
    X = np.random.default_rng(1).normal(size=(200_000, 8))
    with skprep.config_context(n_jobs=1):
        single = ZScoreScaler().fit(X).transform(X)
    with skprep.config_context(n_jobs=2):
        threaded = ZScoreScaler().fit(X).transform(X)
    assert_array_equal(single, threaded)


def test_config_context_restores_and_validates():
    assert skprep.get_config() == {"n_jobs": None, "kernels": "auto"}
    with skprep.config_context(n_jobs=3, kernels="numpy"):
        assert skprep.get_config() == {"n_jobs": 3, "kernels": "numpy"}
        skprep.set_config(n_jobs=2)  # kernels=None leaves the kernels alone
        assert skprep.get_config() == {"n_jobs": 2, "kernels": "numpy"}
    assert skprep.get_config() == {"n_jobs": None, "kernels": "auto"}
    with pytest.raises(ValueError, match="n_jobs"):
        skprep.set_config(n_jobs=0)
    with pytest.raises(ValueError, match="kernels must be one of"):
        skprep.set_config(kernels="cython")
    assert skprep.get_config() == {"n_jobs": None, "kernels": "auto"}


@pytest.mark.parametrize("Scaler", [ZScoreScaler, MinMaxScaler])
@pytest.mark.parametrize("copy", [True, False])
def test_infinity_found_by_the_kernel_leaves_the_input_alone(Scaler, copy):
    X = np.random.default_rng(2).normal(size=(100, 3))
    scaler = Scaler(copy=copy).fit(X)
    bad = X.copy()
    bad[57, 1] = np.inf
    before = bad.copy()
    with pytest.raises(ValueError, match="infinity"):
        scaler.transform(bad)
    assert_array_equal(bad, before)
