"""Threads and kernels follow settings that reach worker processes."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest
from joblib import Parallel, delayed
from numpy.testing import assert_array_equal

from skprep import MinMaxScaler, ZScoreScaler
from skprep._chunks import run_blocks
from skprep._config import effective_threads, kernel_choice
from skprep._moments import moments

from ._settings import settings


def test_thread_count_does_not_change_the_statistics():
    X = np.random.default_rng(0).normal(3.0, 2.0, size=(5000, 7))
    results = []
    for n_jobs in (1, 2):
        with settings(n_jobs=n_jobs):
            results.append(
                moments(X, var=True, minmax=True, scatter=True, chunk_bytes=8 * 7 * 50)
            )
    for a, b in zip(results[0].astuple(), results[1].astuple(), strict=True):
        assert_array_equal(a, b)  # merged in row order: bitwise identical


def test_thread_count_does_not_change_transform():
    X = np.random.default_rng(1).normal(size=(200_000, 8))
    with settings(n_jobs=1):
        single = ZScoreScaler().fit(X).transform(X)
    with settings(n_jobs=2):
        threaded = ZScoreScaler().fit(X).transform(X)
    assert_array_equal(single, threaded)


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


def test_every_block_runs_before_the_first_error_is_raised():
    done = []

    def work(block):
        index = block[0].start
        if index in (3, 5):
            raise ValueError(f"block {index}")
        time.sleep(0.001)
        done.append(index)

    with settings(n_jobs=2):
        with pytest.raises(ValueError, match="block 3"):
            run_blocks(work, _blocks(12))
    assert sorted(done) == [i for i in range(12) if i not in (3, 5)]


def test_threads_follow_omp_num_threads():
    code = "from skprep._config import effective_threads; print(effective_threads(100))"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )
    assert out.stdout.strip() == "1", out.stderr
    with settings(n_jobs=1):
        assert effective_threads(100) == 1
    assert effective_threads(1) == 1


def _worker_threads():
    from skprep._config import effective_threads

    return effective_threads(100)


def test_joblib_workers_get_their_share_of_the_cores():
    # GridSearchCV(n_jobs=k) runs its fits in joblib workers: each gets
    # cpu_count // k threads, so k workers do not oversubscribe the cores.
    cores = os.cpu_count() or 1
    shares = Parallel(n_jobs=2)(delayed(_worker_threads)() for _ in range(2))
    assert all(share == max(1, cores // 2) for share in shares)


def test_kernel_setting_is_validated_and_named(monkeypatch):
    monkeypatch.setenv("SKPREP_KERNELS", "cython")
    with pytest.raises(ValueError, match="SKPREP_KERNELS"):
        kernel_choice()
    with pytest.raises(ValueError, match="SKPREP_KERNELS"):
        ZScoreScaler().fit(np.ones((70_000, 1)))
    monkeypatch.setenv("SKPREP_KERNELS", "NumPy")
    assert kernel_choice() == "numpy"
    monkeypatch.delenv("SKPREP_KERNELS")
    assert kernel_choice() == "auto"


@pytest.mark.skipif(
    "fork" not in __import__("multiprocessing").get_all_start_methods(),
    reason="needs fork",
)
def test_a_forked_child_starts_its_own_thread_pool():
    import multiprocessing

    X = np.random.default_rng(2).normal(size=(200_000, 8))
    with settings(n_jobs=2):
        expected = ZScoreScaler().fit(X).transform(X)  # the parent's pool exists
        with multiprocessing.get_context("fork").Pool(1) as pool:
            result = pool.apply_async(_fit_transform, (X,)).get(timeout=60)
    assert_array_equal(result, expected)


def _fit_transform(X):
    return ZScoreScaler().fit(X).transform(X)
