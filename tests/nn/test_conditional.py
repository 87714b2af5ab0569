import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skprep.nn import BatchNorm, ConditionalBatchNorm

from .gradcheck import check_gradients


def _randomised(layer, seed=0):
    rng = np.random.default_rng(seed)
    for name in layer.params:
        layer.params[name] = layer.params[name] + rng.normal(
            0, 0.3, layer.params[name].shape
        )
    return layer


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 2, 3)])
@pytest.mark.parametrize("training", [True, False])
def test_gradients_for_x_c_and_the_map(shape, training):
    rng = np.random.default_rng(1)
    layer = _randomised(ConditionalBatchNorm(3, 2))
    x, c = rng.normal(size=shape), rng.normal(size=(shape[0], 2))
    layer.forward(x, c)  # running statistics for eval mode
    layer.train(training)
    dout = rng.normal(size=shape)
    frozen = (layer.running_mean.copy(), layer.running_var.copy())

    def loss():
        # Training mode updates the running statistics; keep every evaluation
        # on the same ones so eval mode sees a fixed function.
        layer.running_mean, layer.running_var = (a.copy() for a in frozen)
        return float(np.sum(layer.forward(x, c) * dout))

    loss()
    dx, dc = layer.backward(dout)
    check_gradients(
        loss, {"x": x, "c": c, **layer.params}, {"x": dx, "c": dc, **layer.grads}
    )


def test_zero_maps_make_it_plain_batch_norm():
    rng = np.random.default_rng(2)
    x, c = rng.normal(size=(8, 4, 3)), rng.normal(size=(8, 5))
    conditional, plain = ConditionalBatchNorm(4, 5), BatchNorm(4)
    assert_allclose(conditional.forward(x, c), plain.forward(x))
    assert_allclose(conditional.running_mean, plain.running_mean)
    assert_allclose(conditional.running_var, plain.running_var)


def test_gamma_and_beta_follow_the_condition():
    layer = ConditionalBatchNorm(2, 1)
    layer.params["W_gamma"][:] = [[2.0, 0.0]]
    layer.params["W_beta"][:] = [[0.0, 5.0]]
    gamma, beta = layer.conditioned_parameters(np.array([[1.0], [3.0]]))
    assert_array_equal(gamma, [[3.0, 1.0], [7.0, 1.0]])
    assert_array_equal(beta, [[0.0, 5.0], [0.0, 15.0]])


def test_eval_mode_uses_running_statistics_per_sample():
    rng = np.random.default_rng(3)
    layer = _randomised(ConditionalBatchNorm(3, 2))
    for _ in range(4):
        layer.forward(rng.normal(size=(16, 3)), rng.normal(size=(16, 2)))
    layer.eval()
    x, c = rng.normal(size=(10, 3)), rng.normal(size=(10, 2))
    batch = layer.forward(x, c)
    alone = np.vstack([layer.forward(x[i : i + 1], c[i : i + 1]) for i in range(10)])
    assert_allclose(batch, alone, rtol=1e-12)


def test_state_round_trip_and_errors():
    layer = _randomised(ConditionalBatchNorm(3, 2))
    layer.forward(np.random.default_rng(4).normal(size=(5, 3)), np.ones((5, 2)))
    twin = ConditionalBatchNorm(3, 2).load_state_dict(layer.state_dict())
    for key, value in layer.state_dict().items():
        assert_array_equal(twin.state_dict()[key], value)
    with pytest.raises(ValueError, match=r"c of shape \(N, 2\)"):
        layer.forward(np.ones((5, 3)), np.ones((4, 2)))
    with pytest.raises(ValueError, match="3 channels"):
        layer.forward(np.ones((5, 4)), np.ones((5, 2)))
