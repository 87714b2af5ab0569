import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skprep.nn import BNLSTM, LayerNormLSTM, LayerNormRNN

from .gradcheck import check_gradients


def _randomise(layer, seed=0, scale=0.3):
    rng = np.random.default_rng(seed)
    for name in layer.params:
        layer.params[name] = layer.params[name] + rng.normal(
            0, scale, layer.params[name].shape
        )
    return layer


def _gradcheck_sequence(layer, x, state, final_grad):
    rng = np.random.default_rng(5)
    out, final = layer.forward(x, state)
    d_out = rng.normal(size=out.shape)
    d_final = (
        tuple(rng.normal(size=s.shape) for s in final)
        if isinstance(final, tuple)
        else rng.normal(size=final.shape)
    )

    def loss():
        out, final = layer.forward(x, state)
        total = np.sum(out * d_out)
        if final_grad:
            parts = final if isinstance(final, tuple) else (final,)
            grads = d_final if isinstance(d_final, tuple) else (d_final,)
            total += sum(np.sum(p * g) for p, g in zip(parts, grads, strict=True))
        return float(total)

    loss()
    dx = layer.backward(d_out, d_final if final_grad else None)
    states = state if isinstance(state, tuple) else (state,)
    d_states = layer.d_state if isinstance(layer.d_state, tuple) else (layer.d_state,)
    arrays = {"x": x, **{f"state{i}": s for i, s in enumerate(states)}, **layer.params}
    grads = {"x": dx, **{f"state{i}": d for i, d in enumerate(d_states)}, **layer.grads}
    check_gradients(loss, arrays, grads)


@pytest.mark.parametrize("final_grad", [False, True])
def test_bn_lstm_gradients_through_time(final_grad):
    rng = np.random.default_rng(0)
    layer = _randomise(BNLSTM(2, 3, random_state=0), scale=0.2)
    x = rng.normal(size=(4, 3, 2))
    state = (rng.normal(size=(3, 3)), rng.normal(size=(3, 3)))
    _gradcheck_sequence(layer, x, state, final_grad)


@pytest.mark.parametrize("final_grad", [False, True])
def test_layer_norm_lstm_gradients_through_time(final_grad):
    rng = np.random.default_rng(1)
    layer = _randomise(LayerNormLSTM(3, 3, random_state=1))
    x = rng.normal(size=(4, 2, 3))
    state = (rng.normal(size=(2, 3)), rng.normal(size=(2, 3)))
    _gradcheck_sequence(layer, x, state, final_grad)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("final_grad", [False, True])
def test_layer_norm_rnn_gradients_through_time(nonlinearity, final_grad):
    rng = np.random.default_rng(2)
    layer = _randomise(LayerNormRNN(2, 4, nonlinearity=nonlinearity, random_state=2))
    x = rng.normal(size=(4, 3, 2))
    _gradcheck_sequence(layer, x, rng.normal(size=(3, 4)), final_grad)


def test_bn_lstm_defaults_follow_the_paper():
    layer = BNLSTM(2, 3)
    for name in ("gamma_x", "gamma_h", "gamma_c"):
        assert_array_equal(layer.params[name], 0.1)
    assert_array_equal(layer.params["beta_c"], 0.0)
    assert "beta_x" not in layer.params and "beta_h" not in layer.params


def test_bn_lstm_keeps_statistics_per_time_step():
    rng = np.random.default_rng(3)
    layer = BNLSTM(2, 3, random_state=0, momentum=None)
    # Time steps with very different input scales get different statistics.
    x = rng.normal(size=(3, 16, 2)) * np.array([1.0, 10.0, 100.0])[:, None, None]
    layer.forward(x)
    assert layer.running_mean_x.shape == (3, 12)
    spread = layer.running_var_x.mean(axis=1)
    assert spread[0] < spread[1] < spread[2]
    assert_array_equal(layer.steps_tracked, [1, 1, 1])


def test_bn_lstm_longer_inference_sequence_uses_the_last_trained_step():
    rng = np.random.default_rng(4)
    layer = BNLSTM(2, 3, random_state=0)
    for _ in range(3):
        layer.forward(rng.normal(size=(3, 8, 2)))
    layer.eval()
    long_x = rng.normal(size=(6, 2, 2))
    out, _ = layer.forward(long_x)
    assert np.isfinite(out).all()
    # A twin whose statistics table is explicitly extended with copies of the last
    # trained row gives the same outputs.
    twin = BNLSTM(2, 3, max_time_steps=6, random_state=0)
    state = layer.state_dict()
    for key in list(state):
        if key.startswith("running_"):
            state[key] = np.vstack([state[key], np.repeat(state[key][-1:], 3, axis=0)])
    state["steps_tracked"] = np.full(6, 3)
    twin.load_state_dict(state)
    assert_allclose(twin.eval().forward(long_x)[0], out, rtol=1e-12)


def test_bn_lstm_eval_output_depends_on_the_sample_only():
    rng = np.random.default_rng(5)
    layer = BNLSTM(2, 3, random_state=0)
    layer.forward(rng.normal(size=(4, 10, 2)))
    layer.eval()
    x = rng.normal(size=(4, 5, 2))
    batch, _ = layer.forward(x)
    alone = np.concatenate(
        [layer.forward(x[:, i : i + 1])[0] for i in range(5)], axis=1
    )
    assert_allclose(batch, alone, rtol=1e-12)


def test_bn_lstm_max_time_steps_shares_the_last_row_in_training():
    layer = BNLSTM(2, 3, max_time_steps=2, random_state=0)
    layer.forward(np.random.default_rng(6).normal(size=(5, 4, 2)))
    assert layer.running_mean_c.shape == (2, 3)
    assert_array_equal(layer.steps_tracked, [1, 4])


@pytest.mark.parametrize("length", [1, 2, 7])
def test_layer_norm_rnn_works_with_batch_size_one_and_any_length(length):
    rng = np.random.default_rng(7)
    rnn = LayerNormRNN(3, 4, random_state=0)
    x = rng.normal(size=(length, 5, 3))
    out, h = rnn.forward(x)
    assert out.shape == (length, 5, 4) and h.shape == (5, 4)
    alone = np.concatenate([rnn.forward(x[:, i : i + 1])[0] for i in range(5)], axis=1)
    assert_allclose(out, alone, rtol=1e-12)  # no batch statistics
    lstm = LayerNormLSTM(3, 4, random_state=0)
    assert lstm.forward(x[:, :1])[0].shape == (length, 1, 4)


@pytest.mark.parametrize(
    "make",
    [
        lambda: BNLSTM(2, 3, random_state=0),
        lambda: LayerNormLSTM(2, 3, random_state=0),
        lambda: LayerNormRNN(2, 3, random_state=0),
    ],
)
def test_state_dict_round_trip(make):
    rng = np.random.default_rng(8)
    layer = _randomise(make())
    x = rng.normal(size=(3, 4, 2))
    layer.forward(x)
    twin = make().load_state_dict(layer.state_dict())
    layer.eval()
    twin.eval()
    assert_array_equal(twin.forward(x)[0], layer.forward(x)[0])


def test_float32_stays_float32():
    x = np.random.default_rng(9).normal(size=(3, 4, 2)).astype(np.float32)
    for layer in (BNLSTM(2, 3), LayerNormLSTM(2, 3), LayerNormRNN(2, 3)):
        out, _ = layer.forward(x)
        dx = layer.backward(np.ones_like(out))
        assert out.dtype == dx.dtype == np.float32
        assert all(g.dtype == np.float32 for g in layer.grads.values())


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: LayerNormRNN(2, 3).forward(np.ones((3, 4))), r"\(T, N, 2\)"),
        (lambda: BNLSTM(2, 3).forward(np.ones((3, 4, 5))), r"\(T, N, 2\)"),
        (lambda: BNLSTM(2, 3).forward(np.ones((3, 1, 2))), "more than 1 value"),
        (
            lambda: LayerNormLSTM(2, 3).forward(
                np.ones((3, 4, 2)), (np.ones((4, 2)),) * 2
            ),
            "Initial state",
        ),
        (lambda: LayerNormRNN(2, 3, nonlinearity="gelu"), "nonlinearity"),
    ],
)
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
