"""PyTorch state-dict interchange, without PyTorch: the dicts are built from the
key names and shapes PyTorch documents for each module."""

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
    Sequential,
    WeightNormLinear,
)
from skprep.nn import functional as F

RNG = np.random.default_rng(0)


def _running(c):
    return {
        "running_mean": RNG.normal(size=c),
        "running_var": RNG.uniform(0.5, 2.0, size=c),
        "num_batches_tracked": np.array(7, dtype=np.int64),
    }


def _affine(shape):
    return {"weight": RNG.normal(1, 0.2, size=shape), "bias": RNG.normal(size=shape)}


def _norm(x, mean, var, weight=1.0, bias=0.0, eps=1e-5):
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _per_channel(v, ndim):
    return np.reshape(v, (1, -1) + (1,) * (ndim - 2))


# (skprep layer, PyTorch state dict by its documented names, input shape)
CASES = {
    "BatchNorm1d (N, C)": (lambda: BatchNorm(3), {**_affine(3), **_running(3)}, (5, 3)),
    "BatchNorm1d (N, C, L)": (
        lambda: BatchNorm(3),
        {**_affine(3), **_running(3)},
        (5, 3, 4),
    ),
    "BatchNorm2d": (lambda: BatchNorm(3), {**_affine(3), **_running(3)}, (2, 3, 4, 4)),
    "BatchNorm3d": (
        lambda: BatchNorm(3),
        {**_affine(3), **_running(3)},
        (2, 3, 2, 3, 2),
    ),
    "BatchNorm2d affine=False": (
        lambda: BatchNorm(3, affine=False),
        _running(3),
        (2, 3, 4, 4),
    ),
    "BatchNorm2d track_running_stats=False": (
        lambda: BatchNorm(3, track_running_stats=False),
        _affine(3),
        (2, 3, 4, 4),
    ),
    "InstanceNorm2d": (lambda: InstanceNorm(3), {}, (2, 3, 4, 4)),
    "InstanceNorm2d affine": (
        lambda: InstanceNorm(3, affine=True),
        _affine(3),
        (2, 3, 4, 4),
    ),
    "InstanceNorm1d tracked": (
        lambda: InstanceNorm(3, affine=True, track_running_stats=True),
        {**_affine(3), **_running(3)},
        (2, 3, 6),
    ),
    "GroupNorm": (lambda: GroupNorm(2, 4), _affine(4), (3, 4, 5)),
    "LayerNorm": (lambda: LayerNorm((3, 4)), _affine((3, 4)), (2, 3, 4)),
    "LayerNorm bias=False": (
        lambda: LayerNorm(4, bias=False),
        {"weight": RNG.normal(size=4)},
        (2, 4),
    ),
    "Linear": (
        lambda: Linear(4, 3),
        {"weight": RNG.normal(size=(3, 4)), "bias": RNG.normal(size=3)},
        (5, 4),
    ),
}


def _reference(name, state, x):
    """Eval-mode output from the PyTorch state, written from the formulas."""
    w, b = state.get("weight", 1.0), state.get("bias", 0.0)
    if name == "Linear":
        return x @ state["weight"].T + state["bias"]
    if name.startswith("LayerNorm"):
        axes = tuple(range(x.ndim - np.ndim(w), x.ndim)) if np.ndim(w) else (-1,)
        mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
        return _norm(x, mean, var, w, b)
    w, b = _per_channel(w, x.ndim), _per_channel(b, x.ndim)
    if "running_mean" in state:
        mean = _per_channel(state["running_mean"], x.ndim)
        var = _per_channel(state["running_var"], x.ndim)
        return _norm(x, mean, var, w, b)
    if name.startswith("GroupNorm"):
        g = x.reshape(x.shape[0], 2, -1)
        mean, var = g.mean(axis=2, keepdims=True), g.var(axis=2, keepdims=True)
        return _norm(g, mean, var).reshape(x.shape) * w + b
    axes = (0,) if name.startswith("BatchNorm") else ()
    axes += tuple(range(2, x.ndim))
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    return _norm(x, mean, var, w, b)


@pytest.mark.parametrize("name", sorted(CASES))
def test_loads_pytorch_names_and_exports_them_back(name):
    make, state, shape = CASES[name]
    layer = make().load_state_dict(state).eval()
    x = RNG.normal(size=shape)
    assert_allclose(layer.forward(x), _reference(name, state, x), rtol=1e-12)
    exported = layer.state_dict(format="torch")
    assert sorted(exported) == sorted(state)
    for key, value in state.items():
        assert exported[key].shape == np.shape(value)
        assert_array_equal(exported[key], value)


def _trained(make, shape):
    layer = make()
    for name in layer.params:
        layer.params[name] = layer.params[name] + RNG.normal(
            0, 0.3, layer.params[name].shape
        )
    for _ in range(3):
        y = layer.forward(RNG.normal(1.0, 2.0, size=shape))
        layer.backward(np.ones_like(y))
    return layer


@pytest.mark.parametrize("name", sorted(CASES))
def test_round_trip_leaves_eval_outputs_bitwise_unchanged(name):
    make, _, shape = CASES[name]
    layer = _trained(make, shape)
    x = RNG.normal(size=shape)
    before = layer.eval().forward(x)
    twin = make().load_state_dict(layer.state_dict(format="torch")).eval()
    assert_array_equal(twin.forward(x), before)
    back = make().load_state_dict(twin.state_dict()).eval()
    assert_array_equal(back.forward(x), before)


@pytest.mark.parametrize(
    "g_key, v_key",
    [
        ("weight_g", "weight_v"),
        ("parametrizations.weight.original0", "parametrizations.weight.original1"),
    ],
)
def test_weight_norm_loads_both_pytorch_forms(g_key, v_key):
    g, v, bias = RNG.uniform(0.5, 2, size=(3, 1)), RNG.normal(size=(3, 4)), np.ones(3)
    layer = WeightNormLinear(4, 3).load_state_dict({g_key: g, v_key: v, "bias": bias})
    w = g * v / np.sqrt((v * v).sum(axis=1, keepdims=True))
    x = RNG.normal(size=(5, 4))
    assert_allclose(layer.forward(x), x @ w.T + bias, rtol=1e-13)
    exported = layer.state_dict(format="torch")
    assert exported["parametrizations.weight.original0"].shape == (3, 1)
    assert_array_equal(exported["parametrizations.weight.original0"], g)
    assert_array_equal(exported["parametrizations.weight.original1"], v)
    twin = WeightNormLinear(4, 3).load_state_dict(exported)
    assert_array_equal(twin.forward(x), layer.forward(x))


@pytest.mark.parametrize(
    "make, state, words",
    [
        (
            lambda: BatchNorm(3),
            {**_affine(3), **_running(3), "running_var": np.ones(1)},
            ["'running_var'", r"\(1,\)", r"\(3,\)"],
        ),
        (
            lambda: BatchNorm(3),
            {**_affine(3), **_running(3), "num_batches_tracked": np.zeros(1)},
            ["'num_batches_tracked'", r"\(1,\)", r"\(\)"],
        ),
        (
            lambda: LayerNorm((3, 4)),
            _affine((4, 3)),
            ["'weight'", r"\(4, 3\)", r"\(3, 4\)"],
        ),
        (
            lambda: WeightNormLinear(4, 3),
            {"weight_g": np.ones(3), "weight_v": np.ones((3, 4)), "bias": np.ones(3)},
            ["'weight_g'", r"\(3,\)", r"\(3, 1\)"],
        ),
        (lambda: BatchNorm(3), {**_affine(3)}, ["missing", "running_mean"]),
        (
            lambda: BatchNorm(3, track_running_stats=False),
            {**_affine(3), **_running(3)},
            ["unexpected", "running_mean"],
        ),
        (lambda: GroupNorm(2, 4), {**_affine(4), "weight_x": 1}, ["weight_x"]),
    ],
)
def test_mismatches_name_the_key_and_both_shapes(make, state, words):
    layer = make()
    before = layer.state_dict()
    with pytest.raises(ValueError) as info:
        layer.load_state_dict(state)
    for word in words:
        assert info.match(word)
    for key, value in layer.state_dict().items():  # nothing half-loaded
        if value is not None:
            assert_array_equal(value, before[key])


def test_non_numeric_state_is_refused():
    with pytest.raises(TypeError, match="'weight'"):
        GroupNorm(2, 4).load_state_dict({"weight": ["a"] * 4, "bias": np.zeros(4)})


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="format"):
        BatchNorm(2).state_dict(format="keras")


@pytest.mark.parametrize(
    "layer",
    [ConditionalBatchNorm(3, 2), BNLSTM(2, 3), LayerNormLSTM(2, 3), LayerNormRNN(2, 3)],
)
def test_layers_without_a_pytorch_counterpart_say_so(layer):
    with pytest.raises(ValueError, match="no PyTorch counterpart"):
        layer.state_dict(format="torch")
    assert layer.state_dict()  # skprep's names still work


def test_sequential_uses_pytorch_prefixes():
    net = Sequential(Linear(4, 3, random_state=0), BatchNorm(3))
    state = net.state_dict(format="torch")
    assert sorted(state) == [
        "0.bias",
        "0.weight",
        "1.bias",
        "1.num_batches_tracked",
        "1.running_mean",
        "1.running_var",
        "1.weight",
    ]
    twin = Sequential(Linear(4, 3, random_state=1), BatchNorm(3)).load_state_dict(state)
    x = RNG.normal(size=(6, 4))
    assert_array_equal(twin.eval().forward(x), net.eval().forward(x))


def _tracking_layers():
    return {
        "BatchNorm": BatchNorm(3),
        "InstanceNorm": InstanceNorm(3, track_running_stats=True),
        "ConditionalBatchNorm": ConditionalBatchNorm(3, 2),
    }


@pytest.mark.parametrize(
    "name, format",
    [
        (n, f)
        for n in sorted(_tracking_layers())
        for f in ("torch", "skprep")
        if not (n == "ConditionalBatchNorm" and f == "torch")
    ],  # no PyTorch module
)
def test_state_without_num_batches_tracked_loads_with_count_zero(name, format):
    layer = _tracking_layers()[name]
    layer.num_batches_tracked = np.array(5, dtype=np.int64)  # must be reset
    state = layer.state_dict(format=format)
    state["running_mean"] = np.array([1.0, 2.0, 3.0])
    state["running_var"] = np.array([4.0, 0.25, 1.0])
    del state["num_batches_tracked"]
    kept = {k: np.array(v, copy=True) for k, v in state.items()}
    layer.load_state_dict(state)
    assert layer.num_batches_tracked == 0
    assert layer.num_batches_tracked.dtype == np.int64
    assert_array_equal(layer.running_var, [4.0, 0.25, 1.0])
    assert sorted(state) == sorted(kept)  # the caller's dict is not changed
    # With momentum=None the count weighs the next batch: after a count of 0
    # the running mean is that batch's mean exactly (1 / (0 + 1) = 1).
    if name == "BatchNorm":
        layer.momentum = None
        x = np.arange(12.0).reshape(4, 3)
        layer.train().forward(x)
        assert_allclose(layer.running_mean, [4.5, 5.5, 6.5], rtol=1e-15)


@pytest.mark.parametrize("name", sorted(_tracking_layers()))
@pytest.mark.parametrize(
    "key, value, words",
    [
        ("running_var", [1.0, -0.5, 1.0], "'running_var' holds a negative variance"),
        ("running_var", [1.0, np.nan, 1.0], "'running_var' holds NaN"),
        ("running_var", [1.0, np.inf, 1.0], "'running_var' holds NaN or infinite"),
        ("running_mean", [np.nan, 0.0, 0.0], "'running_mean' holds NaN"),
        ("num_batches_tracked", -1, "'num_batches_tracked' must hold whole"),
        ("num_batches_tracked", 2.5, "'num_batches_tracked' must hold whole"),
    ],
)
def test_bad_running_statistics_are_refused_naming_the_key(name, key, value, words):
    layer = _tracking_layers()[name]
    before = layer.state_dict()
    state = dict(before, **{key: np.asarray(value)})
    with pytest.raises(ValueError, match=words) as e:
        layer.load_state_dict(state)
    assert "\n" not in str(e.value)
    for k, v in layer.state_dict().items():  # nothing was half-loaded
        assert_array_equal(v, before[k])


def test_bn_lstm_refuses_negative_running_variances_by_key():
    layer = BNLSTM(2, 2)
    state = layer.state_dict()
    state["running_var_h"] = -state["running_var_h"]
    with pytest.raises(ValueError, match="'running_var_h' holds a negative"):
        layer.load_state_dict(state)


@pytest.mark.parametrize(
    "running_var, words",
    [
        ([1.0, -1e-12], "running_var is negative for channel 1"),
        ([np.nan, 1.0], "running_var is NaN or infinite for channel 0"),
    ],
)
def test_functional_eval_refuses_bad_running_variances(running_var, words):
    x = np.ones((3, 2, 4))
    with pytest.raises(ValueError, match=words):
        F.batch_norm_forward(
            x,
            None,
            None,
            training=False,
            running_mean=np.zeros(2),
            running_var=np.array(running_var),
        )
    with pytest.raises(ValueError, match=words):
        F.instance_norm_forward(
            x,
            None,
            None,
            use_input_stats=False,
            running_mean=np.zeros(2),
            running_var=np.array(running_var),
        )
    layer = BatchNorm(2).eval()
    layer.running_var = np.array(running_var)  # assigned directly, not loaded
    with pytest.raises(ValueError, match=words):
        layer.forward(x)
