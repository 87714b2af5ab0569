import multiprocessing
import threading
import time

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import skprep
from skprep import MinMaxScaler, ZScoreScaler
from skprep._moments import moments, run_blocks


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


def _blocks(n):
    return [[slice(i, i + 1)] for i in range(n)]


def test_the_thread_pool_is_kept_between_calls():
    def worker(block):
        return threading.current_thread()

    used = set()
    with skprep.config_context(n_jobs=2):
        for _ in range(5):
            used.update(run_blocks(worker, _blocks(16)))
    # A pool per call would start at least one new thread each time.
    assert threading.current_thread() not in used
    assert 1 <= len(used) <= 2


def test_every_block_runs_before_the_first_error_is_raised():
    done = []

    def work(block):
        index = block[0].start
        if index in (3, 5):
            raise ValueError(f"block {index}")
        time.sleep(0.001)
        done.append(index)

    with skprep.config_context(n_jobs=2):
        with pytest.raises(ValueError, match="block 3"):
            run_blocks(work, _blocks(12))
    assert sorted(done) == [i for i in range(12) if i not in (3, 5)]


def test_blocks_run_from_a_worker_run_in_that_worker():
    # Waiting on the pool from inside it could wait forever.
    def outer(block):
        return set(run_blocks(lambda b: threading.current_thread(), _blocks(8)))

    with skprep.config_context(n_jobs=2):
        for blas in (False, True):
            inner = run_blocks(outer, _blocks(8), blas=blas)
            assert all(len(threads) == 1 for threads in inner)


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs fork"
)
def test_a_forked_child_starts_its_own_pool():
    X = np.random.default_rng(2).normal(size=(200_000, 8))
    with skprep.config_context(n_jobs=2):
        expected = ZScoreScaler().fit(X).transform(X)  # the parent's pool exists
        with multiprocessing.get_context("fork").Pool(1) as pool:
            result = pool.apply_async(_fit_transform, (X,)).get(timeout=60)
    assert_array_equal(result, expected)


def _fit_transform(X):
    with skprep.config_context(n_jobs=2):
        return ZScoreScaler().fit(X).transform(X)
