"""Backward passes of skprep.nn.functional against finite differences and identities."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skprep.nn import functional as F

from .gradcheck import check_gradients

LAYOUTS = [(6, 3), (4, 3, 5), (3, 2, 3, 4)]


def _rng(seed=0):
    return np.random.default_rng(seed)


def _affine(c, affine, rng):
    if not affine:
        return None, None
    return rng.normal(1.0, 0.3, size=c), rng.normal(size=c)


def _check(forward, backward, x, gamma, beta, **kw):
    rng = _rng(1)
    y, _ = forward(x, gamma, beta, **kw)
    dout = rng.normal(size=y.shape)

    def loss():
        return float(np.sum(forward(x, gamma, beta, **kw)[0] * dout))

    _, cache = forward(x, gamma, beta, **kw)
    dx, dgamma, dbeta = backward(dout, cache)
    arrays, grads = {"x": x}, {"x": dx}
    if gamma is not None:
        arrays.update(gamma=gamma, beta=beta)
        grads.update(gamma=dgamma, beta=dbeta)
    else:
        assert dgamma is None and dbeta is None
    check_gradients(loss, arrays, grads)
    return dx


@pytest.mark.parametrize("shape", LAYOUTS)
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradients(shape, affine, training):
    rng = _rng()
    x = rng.normal(2.0, 3.0, size=shape)
    gamma, beta = _affine(shape[1], affine, rng)
    stats = {
        "running_mean": rng.normal(size=shape[1]),
        "running_var": rng.uniform(0.5, 2, shape[1]),
    }
    dx = _check(
        F.batch_norm_forward,
        F.batch_norm_backward,
        x,
        gamma,
        beta,
        training=training,
        **stats,
    )
    if training:
        # Batch statistics make dx sum to zero over the reduced axes.
        axes = (0,) + tuple(range(2, x.ndim))
        assert_allclose(dx.sum(axis=axes), 0.0, atol=1e-10)


@pytest.mark.parametrize("shape, ndim", [((5, 4), 1), ((3, 4, 5), 1), ((2, 3, 4), 2)])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_gradients(shape, ndim, affine):
    rng = _rng()
    x = rng.normal(size=shape)
    trailing = shape[len(shape) - ndim :]
    gamma = rng.normal(1, 0.3, size=trailing) if affine else None
    beta = rng.normal(size=trailing) if affine else None
    _check(
        F.layer_norm_forward,
        F.layer_norm_backward,
        x,
        gamma,
        beta,
        normalized_ndim=ndim,
    )


# Groups of two values standardise to exactly +-1 whatever x is, so their input
# gradient is pure eps-roundoff; every case here has at least four values a group.
GROUP_CASES = [
    (shape, groups)
    for shape in [(4, 12), (3, 6, 4), (2, 6, 3, 2)]
    for groups in [1, 2, 3, 6]
    if np.prod(shape[1:]) // groups >= 4
]


@pytest.mark.parametrize("shape, groups", GROUP_CASES)
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_gradients(shape, groups, affine):
    rng = _rng()
    x = rng.normal(size=shape)
    gamma, beta = _affine(shape[1], affine, rng)
    _check(
        F.group_norm_forward, F.group_norm_backward, x, gamma, beta, num_groups=groups
    )


@pytest.mark.parametrize("shape", [(3, 2, 5), (2, 3, 2, 3)])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("use_input_stats", [True, False])
def test_instance_norm_gradients(shape, affine, use_input_stats):
    rng = _rng()
    x = rng.normal(size=shape)
    gamma, beta = _affine(shape[1], affine, rng)
    _check(
        F.instance_norm_forward,
        F.instance_norm_backward,
        x,
        gamma,
        beta,
        use_input_stats=use_input_stats,
        running_mean=rng.normal(size=shape[1]),
        running_var=rng.uniform(0.5, 2, shape[1]),
    )


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_gradients(dim):
    rng = _rng()
    v = rng.normal(size=(4, 3))
    g = rng.normal(size=() if dim is None else v.shape[dim])
    g = np.atleast_1d(g).astype(float) if dim is not None else np.array(1.7)
    dout = rng.normal(size=v.shape)

    def loss():
        return float(np.sum(F.weight_norm_forward(v, g, dim=dim)[0] * dout))

    w, cache = F.weight_norm_forward(v, g, dim=dim)
    dv, dg = F.weight_norm_backward(dout, cache)
    assert dg.shape == g.shape
    check_gradients(loss, {"v": v, "g": g}, {"v": dv, "g": dg})
    # The formula itself.
    if dim == 0:
        assert_allclose(w, g[:, None] * v / np.linalg.norm(v, axis=1, keepdims=True))


def test_linear_gradients():
    rng = _rng()
    x, w, b = rng.normal(size=(5, 3)), rng.normal(size=(4, 3)), rng.normal(size=4)
    dout = rng.normal(size=(5, 4))

    def loss():
        return float(np.sum(F.linear_forward(x, w, b)[0] * dout))

    _, cache = F.linear_forward(x, w, b)
    dx, dw, db = F.linear_backward(dout, cache)
    check_gradients(loss, {"x": x, "w": w, "b": b}, {"x": dx, "w": dw, "b": db})


# --- identities -------------------------------------------------------------------


@pytest.mark.parametrize("shape", LAYOUTS)
def test_batch_norm_output_is_standardised_per_channel(shape):
    x = _rng().normal(5.0, 4.0, size=shape)
    y, cache = F.batch_norm_forward(x, None, None, eps=0.0)
    axes = (0,) + tuple(range(2, x.ndim))
    assert_allclose(y.mean(axis=axes), 0.0, atol=1e-12)
    assert_allclose(y.var(axis=axes), 1.0, rtol=1e-12)
    assert_allclose(cache["mean"], x.mean(axis=axes))
    assert_allclose(cache["var"], x.var(axis=axes))


def test_group_norm_with_one_group_equals_layer_norm_over_channels():
    rng = _rng()
    x = rng.normal(size=(7, 5))
    gamma, beta = rng.normal(size=5), rng.normal(size=5)
    gn, _ = F.group_norm_forward(x, gamma, beta, num_groups=1)
    ln, _ = F.layer_norm_forward(x, gamma, beta)
    assert_allclose(gn, ln, rtol=1e-12, atol=1e-12)


def test_instance_norm_equals_group_norm_with_one_channel_per_group():
    x = _rng().normal(size=(3, 4, 6))
    inst, _ = F.instance_norm_forward(x, None, None)
    grp, _ = F.group_norm_forward(x, None, None, num_groups=4)
    assert_allclose(inst, grp)
    assert_allclose(inst.mean(axis=2), 0.0, atol=1e-12)


def test_eval_batch_norm_is_one_affine_map_per_channel():
    rng = _rng()
    x = rng.normal(size=(8, 3, 4))
    mean, var = rng.normal(size=3), rng.uniform(1, 2, 3)
    gamma, beta = rng.normal(size=3), rng.normal(size=3)
    y, _ = F.batch_norm_forward(
        x, gamma, beta, training=False, running_mean=mean, running_var=var
    )
    expected = (x - mean[:, None]) / np.sqrt(var[:, None] + 1e-5) * gamma[
        :, None
    ] + beta[:, None]
    assert_allclose(y, expected, rtol=1e-12)
    # One sample's output ignores the rest of the batch.
    single, _ = F.batch_norm_forward(
        x[:1], gamma, beta, training=False, running_mean=mean, running_var=var
    )
    assert_allclose(single, y[:1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(dtype):
    x = _rng().normal(size=(4, 3, 2)).astype(dtype)
    for forward, backward, kw in [
        (F.batch_norm_forward, F.batch_norm_backward, {}),
        (F.group_norm_forward, F.group_norm_backward, {"num_groups": 3}),
        (F.instance_norm_forward, F.instance_norm_backward, {}),
    ]:
        y, cache = forward(x, np.ones(3), np.zeros(3), **kw)
        dx, dg, db = backward(np.ones_like(y), cache)
        assert y.dtype == dx.dtype == dg.dtype == db.dtype == dtype
    y, cache = F.layer_norm_forward(x, np.ones(2), np.zeros(2))
    assert y.dtype == F.layer_norm_backward(y, cache)[0].dtype == dtype


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: F.batch_norm_forward(np.ones((1, 3)), None, None),
            "more than 1 value",
        ),
        (lambda: F.batch_norm_forward(np.ones(3), None, None), "at least 2 dimensions"),
        (lambda: F.batch_norm_forward(np.ones((4, 3)), np.ones(2), None), "2 channels"),
        (
            lambda: F.batch_norm_forward(np.ones((4, 3)), None, None, training=False),
            "running_mean",
        ),
        (
            lambda: F.group_norm_forward(np.ones((2, 6)), None, None, num_groups=4),
            "divide",
        ),
        (
            lambda: F.layer_norm_forward(np.ones((2, 3)), np.ones(4), None),
            "trailing shape",
        ),
        (lambda: F.instance_norm_forward(np.ones((2, 3)), None, None), "spatial"),
        (
            lambda: F.instance_norm_forward(np.ones((2, 3, 1)), None, None),
            "spatial element",
        ),
    ],
)
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


LEADING = [(), (5,), (2, 3), (2, 1, 3)]


@pytest.mark.parametrize("leading", LEADING)
@pytest.mark.parametrize("bias", [True, False])
def test_linear_takes_any_leading_axes(leading, bias):
    rng = _rng(7)
    x, w = rng.normal(size=leading + (3,)), rng.normal(size=(4, 3))
    b = rng.normal(size=4) if bias else None
    dout = rng.normal(size=leading + (4,))
    y, cache = F.linear_forward(x, w, b)
    # Reference: y[..., o] = sum_i x[..., i] w[o, i] + b[o], summed with fsum.
    expected = np.zeros(leading + (4,))
    for index in np.ndindex(*leading):
        for o in range(4):
            terms = [x[index + (i,)] * w[o, i] for i in range(3)]
            expected[index + (o,)] = math.fsum(terms + ([b[o]] if bias else []))
    assert_allclose(y, expected, rtol=1e-13, atol=1e-14)

    def loss():
        return float(np.sum(F.linear_forward(x, w, b)[0] * dout))

    dx, dw, db = F.linear_backward(dout, cache)
    assert dx.shape == x.shape and dw.shape == w.shape
    arrays, grads = {"x": x, "w": w}, {"x": dx, "w": dw}
    if bias:
        arrays["b"], grads["b"] = b, db
    else:
        assert db is None
    check_gradients(loss, arrays, grads)


def test_linear_with_empty_leading_axes_gives_zero_gradients():
    w, b = _rng().normal(size=(4, 3)), np.zeros(4)
    y, cache = F.linear_forward(np.ones((2, 0, 3)), w, b)
    assert y.shape == (2, 0, 4)
    dx, dw, db = F.linear_backward(np.ones((2, 0, 4)), cache)
    assert dx.shape == (2, 0, 3)
    assert_array_equal(dw, np.zeros((4, 3)))
    assert_array_equal(db, np.zeros(4))


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: F.linear_forward(np.float64(1.0), np.ones((2, 1)), None),
            r"\(\*, 1\)",
        ),
        (
            lambda: F.linear_forward(np.ones((2, 3, 4)), np.ones((2, 3)), None),
            "(2, 3, 4)",
        ),
        (lambda: F.linear_forward(np.ones(3), np.ones(3), None), "w must have shape"),
        (
            lambda: F.linear_forward(np.ones(3), np.ones((2, 3)), np.ones(3)),
            "b has shape",
        ),
        (
            lambda: F.linear_backward(
                np.ones((2, 2)),
                F.linear_forward(np.ones((2, 1, 3)), np.ones((2, 3)), None)[1],
            ),
            r"forward output had shape \(2, 1, 2\)",
        ),
    ],
)
def test_linear_bad_shapes_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
