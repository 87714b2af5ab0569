"""The normalized MLPs: whole-network gradients, training semantics, sklearn use."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skprep import ZScoreScaler
from skprep.datasets import load_digits, load_wine
from skprep.nn import (
    BatchNorm,
    GroupNorm,
    LayerNorm,
    Linear,
    NormalizedMLPClassifier,
    NormalizedMLPRegressor,
    ReLU,
    Sequential,
    Tanh,
    WeightNormLinear,
)
from skprep.nn._optim import SGD, Adam
from skprep.nn.mlp import build_network

from .gradcheck import check_gradients, numerical_gradient

NORMALIZATIONS = ["batch", "layer", "group", "weight", None]


@pytest.fixture(autouse=True)
def _quiet_convergence():
    # Short training runs are the point of most tests here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def wine():
    X_train, X_test, y_train, y_test = load_wine(split=True)
    scaler = ZScoreScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


# --- the network and its pieces ----------------------------------------------------


@pytest.mark.parametrize("normalization", NORMALIZATIONS)
@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize(
    "estimator", [NormalizedMLPClassifier, NormalizedMLPRegressor], ids=["clf", "reg"]
)
def test_whole_network_gradients_match_finite_differences(
    estimator, normalization, activation
):
    """Loss + L2 penalty through every layer: analytic vs central differences."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 5))
    y = (
        rng.integers(0, 3, size=12)
        if estimator is NormalizedMLPClassifier
        else (rng.normal(size=(12, 2)))
    )
    # Groups of 4 units: with groups of 2 a unit sits within 1e-4 of a ReLU kink
    # for this seed, where finite differences are not differentiating anymore.
    model = estimator(
        (8, 8),
        normalization=normalization,
        num_groups=2,
        activation=activation,
        alpha=0.3,
        max_iter=1,
        random_state=0,
    ).fit(X, y)
    targets = model._targets(y, first=False, classes=None)
    params = model.network_.params
    # gamma and beta move away from 1 and 0 so that their gradients are generic.
    for value in params.values():
        value += 0.1 * rng.normal(size=value.shape)
    _, grads = model._loss_and_grads(X, targets)
    analytic = {key: np.array(grad, copy=True) for key, grad in grads.items()}
    loss = lambda: model._loss_and_grads(X, targets)[0]  # noqa: E731
    # A bias right before batch norm cannot change the loss: its gradient is zero
    # (an identity), which a relative comparison cannot judge; check it absolutely.
    vanishing = {k for k, g in analytic.items() if np.max(np.abs(g)) < 1e-12}
    assert vanishing == ({"0.bias", "3.bias"} if normalization == "batch" else set()), (
        vanishing
    )
    for key in vanishing:
        assert np.max(np.abs(numerical_gradient(loss, params[key], h=1e-5))) < 1e-9
    check_gradients(
        loss,
        {k: v for k, v in params.items() if k not in vanishing},
        {k: v for k, v in analytic.items() if k not in vanishing},
        # The loss is O(1) while some gradients are O(1e-4): a step of 1e-5
        # keeps the cancellation error (eps * loss / h) well below tol, and the
        # truncation error (h^2) too.
        tol=1e-6,
        h=1e-5,
    )


def test_input_gradient_of_a_normalized_network():
    rng = np.random.default_rng(1)
    net = build_network(4, [6, 6], 3, normalization="batch", random_state=0)
    x = rng.normal(size=(10, 4))
    weights = rng.normal(size=(10, 3))
    net.forward(x)
    dx = net.backward(weights)
    check_gradients(
        lambda: float(np.sum(net.forward(x) * weights)), {"x": x}, {"x": dx}
    )


def test_build_network_layout():
    net = build_network(5, [8, 4], 3, normalization="group", num_groups=2)
    kinds = [type(layer) for layer in net.layers]
    assert kinds == [Linear, GroupNorm, ReLU, Linear, GroupNorm, ReLU, Linear]
    net = build_network(5, [8], 2, normalization="weight", activation="tanh")
    assert [type(layer) for layer in net.layers] == [WeightNormLinear, Tanh, Linear]
    net = build_network(5, [8], 2, normalization="layer")
    assert isinstance(net.layers[1], LayerNorm)
    net = build_network(5, [8], 2, normalization=None)
    assert [type(layer) for layer in net.layers] == [Linear, ReLU, Linear]


def test_sequential_shares_arrays_and_round_trips_state():
    net = Sequential(Linear(3, 4, random_state=0), BatchNorm(4), ReLU())
    net.params["1.gamma"][:] = 2.0  # in place: the layer sees it
    assert np.all(net.layers[1].params["gamma"] == 2.0)
    net.forward(np.random.default_rng(0).normal(size=(8, 3)))
    state = net.state_dict()
    assert "1.running_mean" in state
    other = Sequential(Linear(3, 4, random_state=1), BatchNorm(4), ReLU())
    other.load_state_dict(state)
    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[key], value)
    with pytest.raises(ValueError, match="names no layer"):
        other.load_state_dict({"7.weight": np.zeros(1)})
    with pytest.raises(TypeError, match="Layer instances"):
        Sequential(Linear(3, 4), "relu")
    assert not net.eval().layers[1].training and not net.training


def test_activation_gradients():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(5, 4))
    weights = rng.normal(size=(5, 4))
    for layer in (ReLU(), Tanh()):
        layer.forward(x)
        dx = layer.backward(weights)
        check_gradients(
            lambda layer=layer: float(np.sum(layer.forward(x) * weights)),
            {"x": x},
            {"x": dx},
        )


def test_sgd_momentum_matches_its_recurrence():
    param = {"w": np.array([1.0, -2.0])}
    grads = [np.array([0.5, 1.0]), np.array([-1.0, 0.25])]
    sgd = SGD(0.1, momentum=0.9, nesterov=False)
    velocity, expected = np.zeros(2), param["w"].copy()
    for grad in grads:
        sgd.step(param, {"w": grad})
        velocity = 0.9 * velocity - 0.1 * grad
        expected = expected + velocity
    np.testing.assert_allclose(param["w"], expected, rtol=1e-15)


def test_adam_first_step_is_learning_rate_times_sign():
    # After one step the bias-corrected ratio m / sqrt(v) is sign(grad).
    param = {"w": np.zeros(3)}
    Adam(0.01, epsilon=1e-12).step(param, {"w": np.array([3.0, -0.2, 1e-3])})
    np.testing.assert_allclose(param["w"], [-0.01, 0.01, -0.01], rtol=1e-6)


@pytest.mark.parametrize("optimizer", [SGD(0.05), Adam(0.05)], ids=["sgd", "adam"])
def test_optimizers_minimise_a_quadratic(optimizer):
    target = np.array([1.0, -3.0, 2.0])
    param = {"w": np.zeros(3)}
    for _ in range(500):
        optimizer.step(param, {"w": param["w"] - target})
    np.testing.assert_allclose(param["w"], target, atol=1e-3)


# --- estimator semantics -------------------------------------------------------------


@pytest.mark.parametrize("normalization", NORMALIZATIONS)
def test_classifier_learns_wine(wine, normalization):
    X_train, X_test, y_train, y_test = wine
    clf = NormalizedMLPClassifier(
        (16,), normalization=normalization, batch_size=16, max_iter=30, random_state=0
    ).fit(X_train, y_train)
    assert clf.score(X_test, y_test) > 0.9
    proba = clf.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.log(proba), clf.predict_log_proba(X_test))
    assert len(clf.loss_curve_) == clf.n_iter_
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


@pytest.mark.parametrize("normalization", ["batch", "layer", "group"])
def test_gamma_and_beta_are_learned(wine, normalization):
    X_train, _, y_train, _ = wine
    clf = NormalizedMLPClassifier(
        (8,), normalization=normalization, num_groups=2, max_iter=5, random_state=0
    ).fit(X_train, y_train)
    norm = clf.network_.layers[1]
    assert not np.allclose(norm.params["gamma"], 1.0)
    assert not np.allclose(norm.params["beta"], 0.0)


def test_prediction_depends_on_its_own_row_only(wine):
    X_train, X_test, y_train, _ = wine
    clf = NormalizedMLPClassifier((16,), max_iter=10, random_state=0)
    clf.fit(X_train, y_train)
    together = clf.predict_proba(X_test)
    alone = np.vstack([clf.predict_proba(X_test[i : i + 1]) for i in range(5)])
    np.testing.assert_allclose(alone, together[:5], rtol=1e-12)
    # ... because evaluation mode uses the running statistics learned in training.
    bn = clf.network_.layers[1]
    assert bn.num_batches_tracked == clf.n_iter_ * 1  # one batch of < 200 rows
    assert not np.allclose(bn.running_mean, 0.0)


def test_warm_start_continues_exactly_where_fit_stopped(wine):
    X_train, X_test, y_train, _ = wine
    settings = dict(max_iter=4, tol=0.0, random_state=0, batch_size=32)
    once = NormalizedMLPClassifier((8,), **{**settings, "max_iter": 8}).fit(
        X_train, y_train
    )
    twice = NormalizedMLPClassifier((8,), warm_start=True, **settings)
    twice.fit(X_train, y_train).fit(X_train, y_train)
    assert twice.n_iter_ == once.n_iter_ == 8
    np.testing.assert_allclose(twice.loss_curve_, once.loss_curve_, rtol=1e-12)
    np.testing.assert_allclose(
        twice.predict_proba(X_test), once.predict_proba(X_test), rtol=1e-12
    )
    twice.set_params(hidden_layer_sizes=(4,))
    with pytest.raises(ValueError, match="cannot change"):
        twice.fit(X_train, y_train)


def test_partial_fit_is_one_epoch_of_fit(wine):
    X_train, X_test, y_train, _ = wine
    settings = dict(shuffle=False, batch_size=40, random_state=0, tol=0.0)
    fitted = NormalizedMLPClassifier((8,), max_iter=3, **settings).fit(X_train, y_train)
    stepped = NormalizedMLPClassifier((8,), **settings)
    for _ in range(3):
        stepped.partial_fit(X_train, y_train, classes=np.unique(y_train))
    np.testing.assert_allclose(stepped.loss_curve_, fitted.loss_curve_, rtol=1e-12)
    np.testing.assert_allclose(
        stepped.predict_proba(X_test), fitted.predict_proba(X_test), rtol=1e-12
    )


def test_partial_fit_labels(wine):
    X_train, _, y_train, _ = wine
    clf = NormalizedMLPClassifier((8,))
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X_train, y_train)
    clf.partial_fit(X_train[:20], y_train[:20], classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"labels \[7\] that are not in classes_"):
        clf.partial_fit(X_train[:2], np.array([0, 7]))


def test_early_stopping_keeps_the_best_network(wine):
    X_train, _, y_train, _ = wine
    clf = NormalizedMLPClassifier(
        (8,),
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=3,
        max_iter=200,
        random_state=0,
    ).fit(X_train, y_train)
    assert len(clf.validation_scores_) == clf.n_iter_ < 200
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None
    with pytest.raises(ValueError, match="validation sample"):
        NormalizedMLPClassifier(early_stopping=True, validation_fraction=0.01).fit(
            X_train[:60], y_train[:60]
        )


def test_training_loss_stopping_rule(wine):
    X_train, _, y_train, _ = wine
    # With a tolerance no epoch can beat, every epoch after the first (which sets
    # the best loss) counts, and training stops when the count exceeds
    # n_iter_no_change: after n_iter_no_change + 2 epochs.
    clf = NormalizedMLPClassifier((8,), tol=1e9, n_iter_no_change=2, random_state=0)
    assert clf.fit(X_train, y_train).n_iter_ == 4
    with pytest.warns(ConvergenceWarning, match="maximum iterations"):
        warnings.simplefilter("always", ConvergenceWarning)
        NormalizedMLPClassifier((8,), max_iter=2).fit(X_train, y_train)


def test_verbose_prints_the_loss(wine, capsys):
    X_train, _, y_train, _ = wine
    NormalizedMLPClassifier((4,), max_iter=2, verbose=True).fit(X_train, y_train)
    assert "Iteration 2, loss = " in capsys.readouterr().out


@pytest.mark.parametrize(
    "params, X, y, match",
    [
        ({"normalization": "batch"}, [[1.0, 2.0]], [0], "at least 2 samples"),
        ({"normalization": None}, [[1.0], [2.0]], [0, 0], "at least 2 classes"),
        (
            {"normalization": "group", "num_groups": 3, "hidden_layer_sizes": (8,)},
            [[1.0], [2.0]],
            [0, 1],
            "divisible by 3",
        ),
        ({"hidden_layer_sizes": (4, 0)}, [[1.0], [2.0]], [0, 1], "positive"),
        ({"normalization": "bogus"}, [[1.0], [2.0]], [0, 1], "normalization"),
    ],
)
def test_bad_settings_and_data_are_named(params, X, y, match):
    with pytest.raises(ValueError, match=match):
        NormalizedMLPClassifier(**params).fit(np.array(X), np.array(y))


def test_batch_size_larger_than_data_warns(wine):
    X_train, _, y_train, _ = wine
    with pytest.warns(UserWarning, match="larger than the 133 training samples"):
        NormalizedMLPClassifier((4,), batch_size=500, max_iter=1).fit(X_train, y_train)


def test_float32_stays_float32(wine):
    X_train, X_test, y_train, _ = wine
    clf = NormalizedMLPClassifier((8,), max_iter=5, random_state=0)
    clf.fit(X_train.astype(np.float32), y_train)
    assert clf.predict_proba(X_test.astype(np.float32)).dtype == np.float32
    reg = NormalizedMLPRegressor((8,), max_iter=5, random_state=0)
    reg.fit(X_train.astype(np.float32), X_train[:, 0].astype(np.float32))
    assert reg.predict(X_test.astype(np.float32)).dtype == np.float32


def test_regressor_multi_output_and_fit_quality():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4))
    Y = np.column_stack([np.sin(X[:, 0]), X[:, 1] * X[:, 2]])
    reg = NormalizedMLPRegressor(
        (32, 32), learning_rate_init=1e-2, max_iter=150, random_state=0
    ).fit(X[:300], Y[:300])
    assert reg.predict(X[300:]).shape == (100, 2)
    assert reg.score(X[300:], Y[300:]) > 0.8
    assert [c.shape for c in reg.coefs_] == [(4, 32), (32, 32), (32, 2)]
    assert [b.shape for b in reg.intercepts_] == [(32,), (32,), (2,)]
    with pytest.raises(ValueError, match="y has 1 targets"):
        reg.partial_fit(X[:10], Y[:10, 0])


def test_sgd_solver_trains(wine):
    X_train, X_test, y_train, y_test = wine
    clf = NormalizedMLPClassifier(
        (16,), solver="sgd", learning_rate_init=0.05, max_iter=50, random_state=0
    ).fit(X_train, y_train)
    assert clf.score(X_test, y_test) > 0.9


def test_grid_search_over_normalization_and_batch_size():
    X_train, X_test, y_train, y_test = load_digits(split=True)
    search = GridSearchCV(
        make_pipeline(
            ZScoreScaler(),
            NormalizedMLPClassifier((32,), max_iter=15, random_state=0),
        ),
        {
            "normalizedmlpclassifier__normalization": ["batch", "layer", None],
            "normalizedmlpclassifier__batch_size": [32, 128],
        },
        cv=3,
        error_score="raise",
    ).fit(X_train[:600], y_train[:600])
    assert len(search.cv_results_["params"]) == 6
    assert search.best_score_ > 0.85
    assert search.score(X_test, y_test) > 0.85


def test_dataframe_in_a_pipeline(wine):
    X_frame, y = load_wine(as_frame=True)
    model = make_pipeline(
        ZScoreScaler().set_output(transform="pandas"),
        NormalizedMLPClassifier((8,), normalization="layer", random_state=0),
    ).fit(X_frame, y)
    clf = model[-1]
    assert list(clf.feature_names_in_) == list(X_frame.columns)
    assert isinstance(X_frame, pd.DataFrame) and model.score(X_frame, y) > 0.9


def test_clone_and_refit_are_reproducible(wine):
    X_train, X_test, y_train, _ = wine
    clf = NormalizedMLPClassifier((8,), max_iter=5, random_state=3)
    first = clf.fit(X_train, y_train).predict_proba(X_test)
    again = clone(clf).fit(X_train, y_train).predict_proba(X_test)
    np.testing.assert_array_equal(first, again)
