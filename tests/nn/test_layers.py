"""Stateful layers: running statistics, modes, state dicts, dtypes, gradients."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skprep import nn
from skprep.nn import (
    BatchNorm,
    GroupNorm,
    InstanceNorm,
    LayerNorm,
    Linear,
    WeightNormLinear,
)

from .gradcheck import check_gradients


def _rng(seed=0):
    return np.random.default_rng(seed)


def _layer_gradcheck(layer, x):
    dout = _rng(1).normal(size=layer.forward(x).shape)

    def loss():
        return float(np.sum(layer.forward(x) * dout))

    layer.forward(x)
    dx = layer.backward(dout)
    arrays = {"x": x, **layer.params}
    grads = {"x": dx, **layer.grads}
    check_gradients(loss, arrays, grads)


LAYERS = [
    (lambda: BatchNorm(3), (6, 3, 4)),
    (lambda: BatchNorm(3, affine=False), (6, 3)),
    (lambda: GroupNorm(2, 4), (3, 4, 5)),
    (lambda: LayerNorm((3, 4)), (2, 3, 4)),
    (lambda: LayerNorm(5, bias=False), (4, 5)),
    (lambda: InstanceNorm(2, affine=True), (3, 2, 5)),
    (lambda: Linear(4, 3, random_state=0), (5, 4)),
    (lambda: WeightNormLinear(4, 3, random_state=0), (5, 4)),
]


@pytest.mark.parametrize("make, shape", LAYERS)
def test_layer_gradients_through_params(make, shape):
    layer = make()
    for name in layer.params:  # randomise so gamma=1, beta=0 is not special
        layer.params[name] = layer.params[name] + _rng(2).normal(
            0, 0.2, layer.params[name].shape
        )
    _layer_gradcheck(layer, _rng().normal(size=shape))
    assert set(layer.grads) == set(layer.params)


@pytest.mark.parametrize("shape", [(8, 3), (8, 3, 5), (4, 3, 2, 2)])
def test_batch_norm_eval_mode_gradients(shape):
    layer = BatchNorm(3)
    x = _rng().normal(size=shape)
    layer.forward(x)  # populate running statistics
    layer.eval()
    _layer_gradcheck(layer, x)


def test_running_statistics_follow_the_momentum_rule():
    layer = BatchNorm(2, momentum=0.1)
    rng = _rng()
    expected_mean, expected_var = np.zeros(2), np.ones(2)
    for _ in range(3):
        x = rng.normal(3.0, 2.0, size=(10, 2, 4))
        layer.forward(x)
        batch_mean = x.mean(axis=(0, 2))
        batch_var = x.var(axis=(0, 2), ddof=1)  # unbiased, as PyTorch documents
        expected_mean = 0.9 * expected_mean + 0.1 * batch_mean
        expected_var = 0.9 * expected_var + 0.1 * batch_var
    assert_allclose(layer.running_mean, expected_mean, rtol=1e-12)
    assert_allclose(layer.running_var, expected_var, rtol=1e-12)
    assert layer.num_batches_tracked == 3


def test_momentum_none_is_the_plain_average_of_batch_statistics():
    layer = BatchNorm(3, momentum=None)
    rng = _rng()
    batches = [rng.normal(i, 1 + i, size=(5 + i, 3)) for i in range(4)]
    for x in batches:
        layer.forward(x)
    assert_allclose(layer.running_mean, np.mean([x.mean(0) for x in batches], axis=0))
    assert_allclose(
        layer.running_var, np.mean([x.var(0, ddof=1) for x in batches], axis=0)
    )


def test_eval_output_of_a_sample_does_not_depend_on_the_batch():
    layer = BatchNorm(3)
    rng = _rng()
    for _ in range(5):
        layer.forward(rng.normal(size=(16, 3, 2)))
    layer.eval()
    x = rng.normal(size=(10, 3, 2))
    batch = layer.forward(x)
    alone = np.concatenate([layer.forward(x[i : i + 1]) for i in range(10)])
    assert_allclose(batch, alone, rtol=1e-12)
    other = layer.forward(np.concatenate([x[:1], rng.normal(50, 9, size=(9, 3, 2))]))
    assert_allclose(other[:1], batch[:1], rtol=1e-12)


def test_without_tracked_statistics_eval_uses_the_batch():
    layer = BatchNorm(2, track_running_stats=False).eval()
    assert layer.running_mean is None
    y = layer.forward(_rng().normal(4, 2, size=(20, 2)))
    assert_allclose(y.mean(0), 0.0, atol=1e-12)


def test_instance_norm_tracks_and_uses_running_statistics():
    layer = InstanceNorm(2, track_running_stats=True, momentum=None)
    x = _rng().normal(2.0, 3.0, size=(4, 2, 6))
    layer.forward(x)
    assert_allclose(layer.running_mean, x.mean(axis=2).mean(0))
    assert_allclose(layer.running_var, x.var(axis=2, ddof=1).mean(0))
    y = layer.eval().forward(x)
    expected = (x - layer.running_mean[:, None]) / np.sqrt(
        layer.running_var[:, None] + 1e-5
    )
    assert_allclose(y, expected)


@pytest.mark.parametrize("make, shape", LAYERS)
def test_state_dict_round_trips_exactly(make, shape):
    layer = make()
    x = _rng().normal(size=shape)
    layer.forward(x)
    for name in layer.params:
        layer.params[name] = layer.params[name] + 0.5
    state = layer.state_dict()
    twin = make()
    twin.load_state_dict(state)
    for key, value in layer.state_dict().items():
        assert_array_equal(twin.state_dict()[key], value)
    assert_array_equal(twin.eval().forward(x), layer.eval().forward(x))
    # The state is a copy: changing it later does not reach the layer.
    for value in state.values():
        if value is not None:
            value += 1
    for key, value in layer.state_dict().items():
        if value is not None:
            assert not np.array_equal(value, state[key])


def test_load_state_dict_rejects_mismatches():
    with pytest.raises(ValueError, match="keys"):
        BatchNorm(2).load_state_dict({"gamma": np.ones(2)})
    state = BatchNorm(3).state_dict()
    with pytest.raises(ValueError, match="shape"):
        BatchNorm(2).load_state_dict(state)


@pytest.mark.parametrize("make, shape", LAYERS)
def test_float32_in_float32_out_and_gradients(make, shape):
    layer = make()
    x = _rng().normal(size=shape).astype(np.float32)
    y = layer.forward(x)
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads.values())


def test_each_layer_holds_its_own_parameters():
    first, second = BatchNorm(3), BatchNorm(3)
    first.params["gamma"] += 1.0
    assert_array_equal(second.params["gamma"], np.ones(3))
    x = _rng().normal(size=(8, 3))
    first.forward(x)
    first.backward(np.ones((8, 3)))
    assert not hasattr(second, "_cache") and second.grads == {}


def test_weight_norm_initial_g_is_the_row_norm_and_weight_equals_v():
    layer = WeightNormLinear(5, 3, random_state=0)
    assert_allclose(layer.params["g"], np.linalg.norm(layer.params["v"], axis=1))
    assert_allclose(layer.weight, layer.params["v"])


def test_weight_norm_data_init_standardises_outputs():
    layer = WeightNormLinear(6, 4, random_state=1)
    x = _rng(3).normal(3.0, 2.0, size=(500, 6))
    y = layer.data_init(x).forward(x)
    assert_allclose(y.mean(0), 0.0, atol=1e-10)
    assert_allclose(y.std(0), 1.0, rtol=1e-6)


def test_train_and_eval_switch_modes():
    layer = BatchNorm(2)
    assert layer.training
    assert layer.eval() is layer and not layer.training
    assert layer.train() is layer and layer.training


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: BatchNorm(3).forward(np.ones((4, 2))), "3 channels"),
        (lambda: BatchNorm(3).forward(np.ones(3)), "at least 2 dimensions"),
        (lambda: BatchNorm(3).forward(np.ones((1, 3))), "more than 1 value"),
        (lambda: GroupNorm(4, 6), "divide"),
        (lambda: GroupNorm(2, 4).forward(np.ones((2, 6, 3))), "4 channels"),
        (lambda: LayerNorm(4).forward(np.ones((2, 5))), "trailing shape"),
        (lambda: InstanceNorm(2).forward(np.ones((3, 2))), "spatial"),
        (lambda: WeightNormLinear(3, 2).forward(np.ones((2, 4))), r"\(\*, 3\)"),
    ],
)
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def _every_layer_with_a_backward():
    from skprep.nn import (
        BNLSTM,
        ConditionalBatchNorm,
        LayerNormLSTM,
        LayerNormRNN,
        ReLU,
        Sequential,
        Tanh,
    )

    return [
        (BatchNorm(4), (6, 4)),
        (InstanceNorm(4), (2, 4, 3)),
        (GroupNorm(2, 4), (2, 4)),
        (LayerNorm(4), (2, 4)),
        (Linear(4, 4), (2, 4)),
        (WeightNormLinear(4, 4), (2, 4)),
        (ConditionalBatchNorm(4, 2), (6, 4)),
        (BNLSTM(4, 4), (3, 2, 4)),
        (LayerNormLSTM(4, 4), (3, 2, 4)),
        (LayerNormRNN(4, 4), (3, 2, 4)),
        (ReLU(), (2, 4)),
        (Tanh(), (2, 4)),
        (Sequential(Linear(4, 4), ReLU()), (2, 4)),
    ]


@pytest.mark.parametrize(
    "layer, shape",
    _every_layer_with_a_backward(),
    ids=lambda v: type(v).__name__ if not isinstance(v, tuple) else str(v),
)
def test_backward_before_forward_says_so(layer, shape):
    message = r"\.backward needs a forward pass first"
    with pytest.raises(RuntimeError, match=message) as e:
        layer.backward(np.ones(shape[:2] + (4,)))
    assert "\n" not in str(e.value)
    assert layer.grads == {}


def _norm_makers():
    from skprep.nn import BNLSTM, ConditionalBatchNorm, LayerNormLSTM, LayerNormRNN

    return {
        "BatchNorm": lambda eps: BatchNorm(2, eps=eps),
        "InstanceNorm": lambda eps: InstanceNorm(2, eps=eps),
        "GroupNorm": lambda eps: GroupNorm(1, 2, eps=eps),
        "LayerNorm": lambda eps: LayerNorm(2, eps=eps),
        "ConditionalBatchNorm": lambda eps: ConditionalBatchNorm(2, 1, eps=eps),
        "BNLSTM": lambda eps: BNLSTM(2, 2, eps=eps),
        "LayerNormLSTM": lambda eps: LayerNormLSTM(2, 2, eps=eps),
        "LayerNormRNN": lambda eps: LayerNormRNN(2, 2, eps=eps),
    }


@pytest.mark.parametrize("name", sorted(_norm_makers()))
def test_every_norm_accepts_eps_zero_and_refuses_negative_eps(name):
    make = _norm_makers()[name]
    assert make(0).eps == 0.0
    assert make(np.float32(0)).eps == 0.0
    with pytest.raises(ValueError, match=r"eps must be finite and in \[0.0, inf\)"):
        make(-1e-3)


# Layer, input, and the axes its statistics are taken over (per the layer's
# definition, written out here rather than read from the code).
EPS_ZERO_CASES = {
    "BatchNorm": (lambda: BatchNorm(2, eps=0), (0, 2)),
    "InstanceNorm": (lambda: InstanceNorm(2, eps=0), (2,)),
    "GroupNorm": (lambda: GroupNorm(1, 2, eps=0), (1, 2)),
    "LayerNorm": (lambda: LayerNorm(3, eps=0), (2,)),
}


@pytest.mark.parametrize("name", sorted(EPS_ZERO_CASES))
def test_eps_zero_normalises_by_the_exact_standard_deviation(name):
    make, axes = EPS_ZERO_CASES[name]
    x = _rng(4).normal(5.0, 3.0, size=(4, 2, 3))
    mean = x.mean(axis=axes, keepdims=True)
    std = np.sqrt(((x - mean) ** 2).mean(axis=axes, keepdims=True))
    assert_allclose(make().forward(x), (x - mean) / std, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(EPS_ZERO_CASES))
def test_eps_zero_with_a_constant_group_warns_and_gives_nan_as_pytorch(name):
    make, axes = EPS_ZERO_CASES[name]
    layer = make()
    x = _rng(4).normal(size=(4, 2, 3))
    x[0] = 7.0  # sample 0 constant: every statistic that only sees it is 0
    x[:, 0] = 7.0  # channel 0 constant: batch norm's statistic for it is 0
    with pytest.warns(RuntimeWarning, match="Zero variance with eps=0"):
        y = layer.forward(x)
    constant = x.std(axis=axes, keepdims=True) == 0
    assert constant.any() and not constant.all()
    assert np.isnan(np.where(constant, y, np.nan)).all()
    assert np.isfinite(np.where(constant, 0.0, y)).all()
    with pytest.warns(RuntimeWarning):
        layer.forward(x)
    dx = layer.backward(np.ones_like(y))
    assert np.isnan(np.where(constant, dx, np.nan)).all()


def test_eps_zero_in_eval_mode_with_zero_running_variance_warns():
    layer = BatchNorm(2, eps=0).eval()
    layer.running_var = np.array([0.0, 4.0])
    with pytest.warns(RuntimeWarning, match="1 of 2"):
        y = layer.forward(np.array([[1.0, 2.0], [3.0, 6.0]]))
    assert not np.isfinite(y[:, 0]).any()
    assert_allclose(y[:, 1], [1.0, 3.0])


DENSE = {
    "Linear": lambda: Linear(4, 3, random_state=0),
    "WeightNormLinear": lambda: WeightNormLinear(4, 3, random_state=0),
}


@pytest.mark.parametrize("name", sorted(DENSE))
@pytest.mark.parametrize("leading", [(), (5,), (2, 3), (2, 1, 3)])
def test_dense_layers_take_any_leading_axes(name, leading):
    layer = DENSE[name]()
    for key in layer.params:  # away from the initial w == v
        layer.params[key] = layer.params[key] + _rng(2).normal(
            0, 0.2, layer.params[key].shape
        )
    x = _rng(5).normal(size=leading + (4,))
    # Reference weight from its definition: w = g * v / ||v|| per output row.
    if name == "Linear":
        w = layer.params["weight"]
    else:
        v, g = layer.params["v"], layer.params["g"]
        w = g[:, None] * v / np.sqrt(np.sum(v * v, axis=1, keepdims=True))
    expected = np.einsum("...i,oi->...o", x, w) + layer.params["bias"]
    y = layer.forward(x)
    assert y.shape == leading + (3,)
    assert_allclose(y, expected, rtol=1e-12, atol=1e-13)
    _layer_gradcheck(layer, x)
    # The same rows flattened into one batch give the same gradients.
    flat = DENSE[name]()
    flat.load_state_dict(layer.state_dict())
    dy = _rng(6).normal(size=leading + (3,))
    layer.forward(x)
    dx = layer.backward(dy)
    flat.forward(x.reshape(-1, 4))
    dx_flat = flat.backward(dy.reshape(-1, 3))
    assert_allclose(dx, dx_flat.reshape(x.shape), rtol=1e-14)
    for key in layer.grads:
        assert_allclose(layer.grads[key], flat.grads[key], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(DENSE))
def test_dense_layers_keep_float32_with_leading_axes(name):
    layer = DENSE[name]()
    x = _rng().normal(size=(2, 3, 4)).astype(np.float32)
    y = layer.forward(x)
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == np.float32 and dx.shape == x.shape
    assert all(g.dtype == np.float32 for g in layer.grads.values())


@pytest.mark.parametrize("name", sorted(DENSE))
def test_dense_layers_name_bad_shapes(name):
    layer = DENSE[name]()
    with pytest.raises(ValueError, match=r"\(\*, 4\); got shape \(\)"):
        layer.forward(np.float64(1.0))
    with pytest.raises(ValueError, match=r"\(\*, 4\); got shape \(2, 4, 3\)"):
        layer.forward(np.ones((2, 4, 3)))
    layer.forward(np.ones((2, 5, 4)))
    with pytest.raises(ValueError, match=r"forward output had shape \(2, 5, 3\)"):
        layer.backward(np.ones((10, 3)))


def test_weight_norm_data_init_counts_every_leading_axis_as_a_sample():
    layer = WeightNormLinear(6, 4, random_state=1)
    x = _rng(3).normal(3.0, 2.0, size=(20, 25, 6))
    y = layer.data_init(x).forward(x)
    assert_allclose(y.mean(axis=(0, 1)), 0.0, atol=1e-10)
    assert_allclose(y.std(axis=(0, 1)), 1.0, rtol=1e-6)


@pytest.mark.parametrize(
    "make, extra",
    [
        (lambda: nn.ConditionalBatchNorm(3, 2), "c"),
        (lambda: nn.BNLSTM(3, 4), "state"),
        (lambda: nn.LayerNormRNN(3, 4), "state"),
    ],
    ids=["conditional", "bnlstm", "rnn"],
)
def test_sequential_refuses_layers_that_take_more_than_x(make, extra):
    with pytest.raises(TypeError, match=f"also takes {extra}"):
        nn.Sequential(nn.Linear(3, 3, random_state=0), make())


def test_running_update_is_pytorchs_rule():
    from skprep.nn.layers import running_update

    running_mean, running_var = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    batch_mean, batch_var = np.array([5.0, 6.0]), np.array([0.5, 2.0])
    count = 4
    mean, var = running_update(
        running_mean,
        running_var,
        batch_mean,
        batch_var,
        count=count,
        momentum=0.1,
        batches_seen=7,
    )
    assert_allclose(mean, 0.9 * running_mean + 0.1 * batch_mean, rtol=1e-15)
    assert_allclose(var, 0.9 * running_var + 0.1 * batch_var * 4 / 3, rtol=1e-15)
    # momentum=None: the cumulative average over the batches seen, this one in.
    mean, var = running_update(
        running_mean,
        running_var,
        batch_mean,
        batch_var,
        count=count,
        momentum=None,
        batches_seen=4,
    )
    assert_allclose(mean, (3 * running_mean + batch_mean) / 4, rtol=1e-15)
    assert_allclose(var, (3 * running_var + batch_var * 4 / 3) / 4, rtol=1e-15)
