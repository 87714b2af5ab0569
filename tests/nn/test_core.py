"""The compiled normalization steps against the NumPy reference, and gradients
through the compiled path by central differences."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from skprep.nn import functional as F

from .._settings import settings
from .gradcheck import check_gradients

pytest.importorskip("numba")

RNG = np.random.default_rng(0)


def _cases(c):
    gamma, beta = RNG.normal(1, 0.3, c), RNG.normal(0, 0.3, c)
    mean, var = RNG.normal(size=c), RNG.uniform(0.5, 2, c)
    return {
        "batch (N, C)": (
            lambda x: F.batch_norm_forward(x, gamma, beta),
            F.batch_norm_backward,
        ),
        "batch eval": (
            lambda x: F.batch_norm_forward(
                x, gamma, beta, training=False, running_mean=mean, running_var=var
            ),
            F.batch_norm_backward,
        ),
        "group": (
            lambda x: F.group_norm_forward(x, gamma, beta, num_groups=2),
            F.group_norm_backward,
        ),
        "group, no affine": (
            lambda x: F.group_norm_forward(x, None, None, num_groups=c),
            F.group_norm_backward,
        ),
        "instance": (
            lambda x: F.instance_norm_forward(x, gamma, beta),
            F.instance_norm_backward,
        ),
        "layer": (
            lambda x: F.layer_norm_forward(
                x, np.full(x.shape[-1], 1.5), np.full(x.shape[-1], 0.25)
            ),
            F.layer_norm_backward,
        ),
    }


SHAPES = {
    "batch (N, C)": [(41, 6), (7, 6, 9)],
    "batch eval": [(40, 6), (7, 6, 9)],
    "group": [(5, 6, 11), (5, 6)],
    "group, no affine": [(5, 6, 11)],
    "instance": [(5, 6, 11)],
    "layer": [(40, 6), (3, 5, 6)],
}


def _both(forward, backward, x, dy, **config):
    results = {}
    for kernels in ("numpy", "numba"):
        with settings(kernels=kernels, **config):
            y, cache = forward(x)
            results[kernels] = (y, *backward(dy, cache))
    return results


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", sorted(SHAPES))
def test_compiled_steps_match_the_reference(case, dtype):
    for shape in SHAPES[case]:
        forward, backward = _cases(shape[1])[case]
        # Far from the origin (as far as the dtype's resolution allows): a
        # one-pass sum of squares would lose the variance.
        centre = 10.0 if dtype == np.float32 else 1e6
        x = RNG.normal(centre, 1.0, size=shape).astype(dtype)
        dy = RNG.normal(size=shape).astype(dtype)
        results = _both(forward, backward, x, dy)
        tol = 1e-5 if dtype == np.float32 else 1e-9
        for ref, got in zip(results["numpy"], results["numba"], strict=True):
            if ref is None:
                assert got is None
                continue
            assert got.dtype == ref.dtype
            assert_allclose(got, ref, rtol=tol, atol=tol * np.abs(ref).max())


@pytest.mark.parametrize("case", ["batch (N, C)", "group", "layer", "instance"])
def test_threaded_split_matches_the_reference(case):
    # 2 MiB and more with n_jobs=2: split over rows (batch, layer) or samples.
    shape = {
        "batch (N, C)": (4096, 64),
        "group": (64, 6, 700),
        "layer": (4096, 64),
        "instance": (64, 6, 700),
    }[case]
    forward, backward = _cases(shape[1])[case]
    x, dy = RNG.normal(3.0, 2.0, size=shape), RNG.normal(size=shape)
    results = _both(forward, backward, x, dy, n_jobs=2)
    for ref, got in zip(results["numpy"], results["numba"], strict=True):
        assert_allclose(got, ref, rtol=1e-10, atol=1e-12 * np.abs(ref).max())


@pytest.mark.parametrize("case", sorted(SHAPES))
def test_compiled_gradients_by_finite_differences(case):
    shape = SHAPES[case][0]
    forward, backward = _cases(shape[1])[case]
    x = RNG.normal(2.0, 1.5, size=shape)
    dout = RNG.normal(size=shape)
    with settings(kernels="numba"):

        def loss():
            return float(np.sum(forward(x)[0] * dout))

        _, cache = forward(x)
        dx = backward(dout, cache)[0]
        check_gradients(loss, {"x": x}, {"x": dx})
