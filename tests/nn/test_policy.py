"""The dtype policy, empty batches, mode-aware messages and argument checks.

References are written here in float64 NumPy from the layers' formulas, not
taken from the code under test.
"""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skprep.nn import (
    BNLSTM,
    BatchNorm,
    ConditionalBatchNorm,
    GroupNorm,
    InstanceNorm,
    LayerNorm,
    LayerNormLSTM,
    LayerNormRNN,
    Linear,
    WeightNormLinear,
)
from skprep.nn import functional as F


def _norm_reference(x, axes, gamma=1.0, beta=0.0, eps=1e-5):
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def test_issue_example_integer_batch_norm():
    layer = BatchNorm(2)
    layer.params["gamma"] = np.array([0.5, 1.0])
    x = np.array([[1, 4], [3, 8], [5, 0], [7, 2]], dtype=np.int64)
    y = layer.forward(x)
    mean = math.fsum([1, 3, 5, 7]) / 4
    var = math.fsum((v - mean) ** 2 for v in [1, 3, 5, 7]) / 4
    assert (mean, var) == (4.0, 5.0)
    expected = [0.5 * (v - 4) / math.sqrt(5 + 1e-5) for v in [1, 3, 5, 7]]
    assert y.dtype == np.float64
    assert_allclose(y[:, 0], expected, rtol=1e-14)
    assert layer.params["gamma"].dtype == layer.running_mean.dtype == np.float64
    assert_allclose(layer.running_mean, [0.4, 0.35])


RNG = np.random.default_rng(0)
X_INT = RNG.integers(-5, 9, size=(6, 4, 5))
GAMMA = RNG.normal(1.0, 0.3, size=4)
BETA = RNG.normal(0.0, 0.3, size=4)


def _with_affine(layer):
    layer.params["gamma"] = GAMMA.copy()
    layer.params["beta"] = BETA.copy()
    return layer


def _bn_eval():
    layer = _with_affine(BatchNorm(4)).eval()
    layer.running_mean = np.array([0.5, -1.0, 2.0, 0.0])
    layer.running_var = np.array([2.0, 0.5, 1e5, 1.0])
    return layer


INTEGER_CASES = {
    "BatchNorm train": (
        lambda: _with_affine(BatchNorm(4)),
        lambda x: _norm_reference(x, (0, 2), GAMMA[:, None], BETA[:, None]),
    ),
    "BatchNorm eval": (
        _bn_eval,
        lambda x: (
            GAMMA[:, None]
            * (x - np.array([0.5, -1.0, 2.0, 0.0])[:, None])
            / np.sqrt(np.array([2.0, 0.5, 1e5, 1.0])[:, None] + 1e-5)
            + BETA[:, None]
        ),
    ),
    "GroupNorm": (
        lambda: _with_affine(GroupNorm(2, 4)),
        lambda x: (
            _norm_reference(x.reshape(6, 2, 10), (2,)).reshape(x.shape) * GAMMA[:, None]
            + BETA[:, None]
        ),
    ),
    "InstanceNorm": (
        lambda: _with_affine(InstanceNorm(4, affine=True)),
        lambda x: _norm_reference(x, (2,), GAMMA[:, None], BETA[:, None]),
    ),
    "LayerNorm": (
        lambda: LayerNorm(5),
        lambda x: _norm_reference(x, (2,)),
    ),
}


@pytest.mark.parametrize("case", sorted(INTEGER_CASES))
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
def test_integer_and_boolean_input_is_computed_in_float64(case, dtype):
    make, reference = INTEGER_CASES[case]
    layer = make()
    x = (X_INT > 0) if dtype == np.bool_ else np.abs(X_INT).astype(dtype)
    y = layer.forward(x)
    assert y.dtype == np.float64
    assert_allclose(y, reference(x), rtol=1e-12, atol=1e-12)
    dx = layer.backward(np.ones_like(X_INT))
    assert dx.dtype == np.float64
    for array in [*layer.params.values(), *layer.grads.values()]:
        assert array.dtype == np.float64
    if getattr(layer, "running_var", None) is not None:
        assert layer.running_var.dtype == np.float64


def test_integer_linear_and_weight_norm_linear():
    x = RNG.integers(-3, 4, size=(5, 4))
    dense = Linear(4, 3, random_state=0)
    dense.params["weight"] = RNG.uniform(-0.4, 0.4, size=(3, 4))
    assert_allclose(
        dense.forward(x), x @ dense.params["weight"].T + dense.params["bias"]
    )
    wn = WeightNormLinear(4, 3, random_state=0)
    wn.params["g"] = np.array([0.5, 2.0, 1.5])
    v = wn.params["v"]
    w = wn.params["g"][:, None] * v / np.sqrt((v * v).sum(axis=1, keepdims=True))
    y = wn.forward(x)
    assert y.dtype == np.float64
    assert_allclose(y, x @ w.T + wn.params["bias"], rtol=1e-13)
    wn.backward(np.ones_like(y))
    assert all(v.dtype == np.float64 for v in [*wn.params.values(), *wn.grads.values()])


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda: BNLSTM(3, 4, random_state=0), (4, 5, 3)),
        (lambda: LayerNormLSTM(3, 4, random_state=0), (4, 5, 3)),
        (lambda: LayerNormRNN(3, 4, random_state=0), (4, 5, 3)),
    ],
)
def test_recurrent_layers_follow_the_policy(make, shape):
    # Reference: the same layer on the float64 values (gradient-checked elsewhere).
    x = RNG.integers(-2, 3, size=shape)
    ints, floats = make(), make()
    assert_allclose(ints.forward(x)[0], floats.forward(x.astype(np.float64))[0])
    half = make()
    out16, _ = half.forward(x.astype(np.float16))
    assert out16.dtype == np.float16
    assert_allclose(out16, floats.forward(x.astype(np.float64))[0], atol=2e-3)
    dx = half.backward(np.ones(out16.shape, dtype=np.float16))
    assert dx.dtype == np.float16
    assert all(g.dtype == np.float32 for g in half.grads.values())
    assert all(p.dtype == np.float64 for p in half.params.values())


def test_conditional_batch_norm_integer_and_float16():
    x = RNG.integers(0, 6, size=(8, 3, 2))
    c = RNG.integers(0, 2, size=(8, 2))
    layer = ConditionalBatchNorm(3, 2)
    layer.params["W_gamma"] = RNG.normal(0, 0.5, size=(2, 3))
    gamma = 1.0 + c @ layer.params["W_gamma"]
    y = layer.forward(x, c)
    assert y.dtype == np.float64
    assert_allclose(y, _norm_reference(x, (0, 2)) * gamma[:, :, None], rtol=1e-12)
    y16 = layer.forward(x.astype(np.float16), c.astype(np.float16))
    assert y16.dtype == np.float16
    dx, dc = layer.backward(np.ones_like(y16))
    assert dx.dtype == np.float16
    assert all(p.dtype == np.float64 for p in layer.params.values())


def test_issue_example_float16_batch_norm():
    x = np.random.default_rng(1).standard_normal((256, 2, 16, 16)).astype(np.float16)
    layer = BatchNorm(2)
    y = layer.forward(x)
    assert y.dtype == np.float16
    assert_allclose(y, _norm_reference(x, (0, 2, 3)), atol=4e-3)
    x64 = x.astype(np.float64)
    unbiased = x64.var(axis=(0, 2, 3), ddof=1)
    assert_allclose(layer.running_var, 0.9 + 0.1 * unbiased, rtol=1e-12)
    assert layer.running_var.dtype == np.float64
    dx = layer.backward(np.ones_like(y))
    assert dx.dtype == np.float16 and np.isfinite(dx).all()
    assert all(g.dtype == np.float32 for g in layer.grads.values())
    # Evaluation with a running variance beyond float16's range.
    layer.eval()
    layer.running_var = np.array([1e5, 4.0])
    layer.running_mean = np.array([10.0, 0.0])
    y = layer.forward(x)
    expected = (x64 - np.array([10.0, 0.0])[:, None, None]) / np.sqrt(
        np.array([1e5, 4.0])[:, None, None] + 1e-5
    )
    assert np.isfinite(y).all()
    assert_allclose(y, expected, atol=2e-3)


@pytest.mark.parametrize(
    "make, axes",
    [
        (lambda: LayerNorm(16), (3,)),
        (lambda: GroupNorm(2, 4), None),
        (lambda: InstanceNorm(4), (2, 3)),
    ],
)
def test_float16_per_sample_norms(make, axes):
    x = (300 * np.random.default_rng(2).standard_normal((8, 4, 16, 16))).astype(
        np.float16
    )
    y = make().forward(x)
    assert y.dtype == np.float16
    if axes is None:
        ref = _norm_reference(x.reshape(8, 2, -1), (2,)).reshape(x.shape)
    else:
        ref = _norm_reference(x, axes)
    assert_allclose(y, ref, atol=4e-3)


@pytest.mark.parametrize("dtype", [np.complex128, object, "U3"])
def test_other_dtypes_are_refused(dtype):
    x = np.ones((4, 3), dtype=dtype)
    for layer in (BatchNorm(3), LayerNorm(3), Linear(3, 2)):
        with pytest.raises(TypeError, match="real numbers"):
            layer.forward(x)


# --- empty and degenerate batches -------------------------------------------


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda: GroupNorm(2, 4), (0, 4, 5)),
        (lambda: GroupNorm(2, 4), (0, 4)),
        (lambda: InstanceNorm(4, affine=True), (0, 4, 5)),
        (lambda: InstanceNorm(4, track_running_stats=True), (0, 4, 5, 5)),
        (lambda: LayerNorm(5), (0, 5)),
        (lambda: LayerNorm((3, 5)), (2, 0, 3, 5)),
    ],
)
def test_per_sample_norms_accept_empty_batches(make, shape):
    layer = make()
    before = layer.state_dict()
    y = layer.forward(np.zeros(shape))
    assert y.shape == shape
    dx = layer.backward(np.zeros(shape))
    assert dx.shape == shape
    for name, grad in layer.grads.items():
        assert_array_equal(grad, np.zeros_like(layer.params[name]))
    for key, value in layer.state_dict().items():  # nothing was seen
        assert_array_equal(value, before[key])


def test_batch_norm_messages_say_the_real_mode():
    with pytest.raises(ValueError, match="evaluation mode without running") as info:
        BatchNorm(3, track_running_stats=False).eval().forward(np.ones((1, 3)))
    assert "when training" not in str(info.value)
    with pytest.raises(ValueError, match="when training"):
        BatchNorm(3).forward(np.ones((1, 3)))
    # Eval with running statistics needs no batch statistics at all.
    assert BatchNorm(3).eval().forward(np.ones((1, 3))).shape == (1, 3)


@pytest.mark.parametrize("cls", [BatchNorm, InstanceNorm])
def test_turning_track_running_stats_on_allocates_the_buffers(cls):
    layer = cls(2, track_running_stats=False)
    assert layer.running_mean is None
    layer.track_running_stats = True
    x = np.random.default_rng(3).normal(3.0, 2.0, size=(5, 2, 4))
    layer.forward(x)
    axes = (0, 2) if cls is BatchNorm else (2,)
    batch_mean = x.mean(axis=axes)
    if cls is InstanceNorm:
        batch_mean = batch_mean.mean(axis=0)
    assert_allclose(layer.running_mean, 0.1 * batch_mean)
    assert int(layer.num_batches_tracked) == 1
    with pytest.raises(TypeError, match="track_running_stats"):
        layer.track_running_stats = "yes"


# --- arguments: what NumPy users pass is accepted, the rest named -------------


def test_numpy_scalars_tuples_and_lists_are_accepted():
    layer = BatchNorm(
        np.int64(3), eps=np.float32(1e-3), momentum=np.float64(0.2), affine=np.True_
    )
    assert (layer.num_features, layer.momentum) == (3, pytest.approx(0.2))
    assert type(layer.num_features) is int
    assert LayerNorm([3, np.int32(4)]).normalized_shape == (3, 4)
    assert LayerNorm(np.array([2, 2])).params["gamma"].shape == (2, 2)
    assert GroupNorm(np.int8(2), np.uint16(4)).num_groups == 2
    assert Linear(np.int64(2), 3).params["weight"].shape == (3, 2)
    assert BNLSTM(2, 3, max_time_steps=np.int64(4)).max_time_steps == 4
    assert BatchNorm(np.array(2)).num_features == 2
    assert BatchNorm(2, momentum=None).momentum is None
    x = np.arange(24.0).reshape(2, 4, 3)
    y, _ = F.group_norm_forward(x, None, None, num_groups=np.int64(2))
    assert y.shape == x.shape
    y, _ = F.layer_norm_forward(x, None, None, normalized_ndim=np.int32(2), eps=0)
    assert y.shape == x.shape


ONES = np.ones((2, 4, 3))


@pytest.mark.parametrize(
    "call, error, name",
    [
        (lambda: BatchNorm(3.0), TypeError, "num_features"),
        (lambda: BatchNorm("3"), TypeError, "num_features"),
        (lambda: BatchNorm(True), TypeError, "num_features"),
        (lambda: BatchNorm(0), ValueError, "num_features"),
        (lambda: BatchNorm(3, eps="1e-5"), TypeError, "eps"),
        (lambda: BatchNorm(3, eps=-1.0), ValueError, "eps"),
        (lambda: BatchNorm(3, momentum=2), ValueError, "momentum"),
        (lambda: BatchNorm(3, momentum="0.1"), TypeError, "momentum"),
        (lambda: BatchNorm(3, affine="no"), TypeError, "affine"),
        (lambda: BatchNorm(3, affine=1), TypeError, "affine"),
        (lambda: InstanceNorm(3, track_running_stats=None), TypeError, "track_"),
        (lambda: LayerNorm("4"), TypeError, "normalized_shape"),
        (lambda: LayerNorm((3, 2.5)), TypeError, r"normalized_shape\[1\]"),
        (lambda: LayerNorm(()), ValueError, "normalized_shape"),
        (lambda: LayerNorm(4, elementwise_affine=None), TypeError, "elementwise"),
        (lambda: GroupNorm(2.0, 4), TypeError, "num_groups"),
        (lambda: GroupNorm(2, 4, eps=-1e-9), ValueError, "eps"),
        (lambda: Linear(3, None), TypeError, "out_features"),
        (lambda: WeightNormLinear(3, 2, bias="yes"), TypeError, "bias"),
        (lambda: BNLSTM(2, 3, max_time_steps=1.5), TypeError, "max_time_steps"),
        (lambda: BNLSTM(2, 3, gamma_init="0.1"), TypeError, "gamma_init"),
        (lambda: LayerNormLSTM(2, [3]), TypeError, "hidden_size"),
        (lambda: LayerNormRNN(2, 3, eps=None), TypeError, "eps"),
        (lambda: ConditionalBatchNorm(3, "2"), TypeError, "cond_features"),
        (lambda: BatchNorm(3).train("yes"), TypeError, "mode"),
        (
            lambda: F.group_norm_forward(
                np.ones((2, 4, 3)), None, None, num_groups=2.0
            ),
            TypeError,
            "num_groups",
        ),
        (
            lambda: F.layer_norm_forward(
                np.ones((2, 4)), None, None, normalized_ndim="1"
            ),
            TypeError,
            "normalized_ndim",
        ),
        (
            lambda: F.layer_norm_forward(np.ones((2, 4)), None, None, eps="0"),
            TypeError,
            "eps",
        ),
    ],
)
def test_bad_arguments_are_named(call, error, name):
    with pytest.raises(error, match=name):
        call()
