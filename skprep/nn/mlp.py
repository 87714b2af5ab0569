"""Multilayer perceptrons whose hidden layers are normalized: scikit-learn estimators.

The network is a :class:`~skprep.nn.Sequential` of the package's own layers,

``[Linear -> Norm -> activation] * len(hidden_layer_sizes) -> Linear``

(``WeightNormLinear -> activation`` per hidden layer for weight normalization),
trained by mini-batch gradient descent through the layers' backward passes, so
every normalization layer learns its own ``gamma`` and ``beta``. Predictions run
the network in evaluation mode: batch norm uses its running statistics, and a
prediction depends on its own row only.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .._compat import Interval, StrOptions, _fit_context
from ._batches import minibatches
from ._losses import half_squared_error, softmax_cross_entropy
from ._optim import SGD, Adam
from .layers import BatchNorm, GroupNorm, LayerNorm, Linear, WeightNormLinear
from .network import ReLU, Sequential, Tanh

__all__ = ["NormalizedMLPClassifier", "NormalizedMLPRegressor"]

_FLOATS = [np.float64, np.float32]
_ACTIVATIONS = {"relu": ReLU, "tanh": Tanh}
# Parameter names of weight matrices, the only parameters the L2 penalty reaches
# (as in scikit-learn's MLP: biases, gamma and beta are not penalised; for weight
# normalization the direction v carries the weights).
_PENALISED = ("weight", "v")


def build_network(
    n_features,
    hidden_layer_sizes,
    n_outputs,
    *,
    normalization="batch",
    num_groups=4,
    activation="relu",
    norm_momentum=0.1,
    norm_eps=1e-5,
    random_state=None,
):
    """The network a :class:`NormalizedMLPClassifier` or regressor trains.

    Weights start from Glorot's uniform initialisation, as in scikit-learn's
    MLP; with weight normalization ``g`` starts at the row norms of ``v``.

    Returns
    -------
    Sequential
    """
    rng = check_random_state(random_state)
    layers = []
    width = n_features
    for size in hidden_layer_sizes:
        kind = WeightNormLinear if normalization == "weight" else Linear
        dense = kind(width, size, random_state=rng)
        _glorot(dense, rng)
        layers.append(dense)
        if normalization == "batch":
            layers.append(BatchNorm(size, eps=norm_eps, momentum=norm_momentum))
        elif normalization == "layer":
            layers.append(LayerNorm(size, eps=norm_eps))
        elif normalization == "group":
            layers.append(GroupNorm(num_groups, size, eps=norm_eps))
        layers.append(_ACTIVATIONS[activation]())
        width = size
    output = Linear(width, n_outputs, random_state=rng)
    _glorot(output, rng)
    layers.append(output)
    return Sequential(*layers)


def _glorot(dense, rng):
    fan_out, fan_in = dense.out_features, dense.in_features
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    weight = rng.uniform(-bound, bound, size=(fan_out, fan_in))
    if "v" in dense.params:
        dense.params["v"] = weight
        dense.params["g"] = np.linalg.norm(weight, axis=1)
    else:
        dense.params["weight"] = weight
    if "bias" in dense.params:
        dense.params["bias"] = rng.uniform(-bound, bound, size=fan_out)


class _BaseNormalizedMLP(BaseEstimator):
    """Training loop, validation and bookkeeping shared by classifier and regressor.

    Subclasses provide ``_validate_xy``, ``_targets`` (encode y for the loss),
    ``_loss`` (output, targets -> loss, d_output) and ``_out_activation``; the
    validation score of ``early_stopping`` is their ``score`` (accuracy or R^2,
    as in scikit-learn).
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "normalization": [StrOptions({"batch", "layer", "group", "weight"}), None],
        "num_groups": [Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(_ACTIVATIONS))],
        "solver": [StrOptions({"adam", "sgd"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "norm_momentum": [Interval(Real, 0, 1, closed="both"), None],
        "norm_eps": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
        normalization="batch",
        num_groups=4,
        activation="relu",
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate_init=1e-3,
        momentum=0.9,
        nesterovs_momentum=True,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        norm_momentum=0.1,
        norm_eps=1e-5,
        max_iter=200,
        shuffle=True,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        random_state=None,
        verbose=False,
        warm_start=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.normalization = normalization
        self.num_groups = num_groups
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.norm_momentum = norm_momentum
        self.norm_eps = norm_eps
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    @classmethod
    def _instance_for_checks(cls):
        # A small, quickly trained network for scikit-learn's estimator checks.
        return cls(
            hidden_layer_sizes=(16,),
            learning_rate_init=1e-2,
            max_iter=100,
            random_state=0,
        )

    # --- fitting ---------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the network on ``X`` and ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Class labels (classifier, one column) or real targets (regressor).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, incremental=False)

    def _hidden_sizes(self):
        sizes = np.atleast_1d(np.asarray(self.hidden_layer_sizes))
        if sizes.ndim != 1 or not all(
            isinstance(s, Integral | np.integer) and s >= 1 for s in sizes.tolist()
        ):
            raise ValueError(
                "hidden_layer_sizes must be a positive int or a sequence of positive "
                f"ints; got {self.hidden_layer_sizes!r}."
            )
        sizes = [int(s) for s in sizes]
        if self.normalization == "group":
            bad = [s for s in sizes if s % self.num_groups]
            if bad:
                raise ValueError(
                    f"normalization='group' with num_groups={self.num_groups} needs "
                    f"hidden layer sizes divisible by {self.num_groups}; got {bad}."
                )
        return sizes

    def _fit(self, X, y, *, incremental, classes=None):
        first = not hasattr(self, "network_") or not (incremental or self.warm_start)
        sizes = self._hidden_sizes()
        X, y = self._validate_xy(X, y, reset=first)
        if self.normalization == "batch" and X.shape[0] < 2:
            raise ValueError(
                "normalization='batch' needs at least 2 samples to compute batch "
                f"statistics; got {X.shape[0]} sample."
            )
        targets = self._targets(y, first=first, classes=classes).astype(X.dtype)
        if first:
            self._rng = check_random_state(self.random_state)
        elif self._hidden != sizes or self._settings != self._network_settings():
            raise ValueError(
                "warm_start and partial_fit continue the network they fitted; "
                "hidden_layer_sizes, normalization, num_groups and activation "
                "cannot change in between (set warm_start=False to refit)."
            )
        # partial_fit makes one pass and never stops early (as in scikit-learn).
        early = self.early_stopping and not incremental
        X_val = y_val = None
        if early:
            X, targets, X_val, y_val = self._split_validation(X, targets, y)
        batch_size = self._batch_size(X.shape[0])
        if first:
            self._initialize(X, targets, sizes, batch_size)
        if incremental:
            self._train_epoch(X, targets, batch_size)
            return self
        self._reset_stopping(early)
        for _ in range(self.max_iter):
            self._train_epoch(X, targets, batch_size)
            if self._converged(X_val, y_val):
                if self.verbose:
                    print(self._stop_message())
                break
        else:
            warnings.warn(
                f"Stochastic optimizer: maximum iterations ({self.max_iter}) "
                "reached and the optimization has not converged yet.",
                ConvergenceWarning,
                stacklevel=3,
            )
        if early:
            self.network_.load_state_dict(self._best_state)
            del self._best_state
        return self

    def _network_settings(self):
        return (self.normalization, self.num_groups, self.activation)

    def _batch_size(self, n_rows):
        if self.batch_size == "auto":
            return min(200, n_rows)
        if self.batch_size > n_rows:
            warnings.warn(
                f"batch_size={self.batch_size} is larger than the {n_rows} training "
                "samples; using one batch of all samples.",
                UserWarning,
                stacklevel=4,
            )
        return min(self.batch_size, n_rows)

    def _split_validation(self, X, targets, y):
        n_validation = int(np.ceil(self.validation_fraction * X.shape[0]))
        if n_validation < 2:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} of {X.shape[0]} "
                f"samples leaves {n_validation} validation sample; early_stopping "
                "needs at least 2."
            )
        stratify = y if isinstance(self, ClassifierMixin) else None
        X, X_val, targets, _, _, y_val = train_test_split(
            X,
            targets,
            y,
            test_size=self.validation_fraction,
            random_state=self._rng,
            stratify=stratify,
        )
        return X, targets, X_val, y_val

    def _initialize(self, X, targets, sizes, batch_size):
        self._hidden = sizes
        self._settings = self._network_settings()
        self.n_outputs_ = targets.shape[1]
        self.out_activation_ = self._out_activation
        self.n_layers_ = len(sizes) + 2
        self.network_ = build_network(
            X.shape[1],
            sizes,
            self.n_outputs_,
            normalization=self.normalization,
            num_groups=self.num_groups,
            activation=self.activation,
            norm_momentum=self.norm_momentum,
            norm_eps=self.norm_eps,
            random_state=self._rng,
        )
        if self.normalization == "weight":
            # Salimans & Kingma's data-dependent initialisation on one batch: each
            # hidden unit starts with zero mean and unit variance on real data.
            batch = X[self._rng.choice(X.shape[0], batch_size, replace=False)]
            for layer in self.network_.layers:
                if isinstance(layer, WeightNormLinear):
                    layer.data_init(batch)
                batch = layer.forward(batch)
        if self.solver == "adam":
            self._optimizer = Adam(
                self.learning_rate_init,
                beta_1=self.beta_1,
                beta_2=self.beta_2,
                epsilon=self.epsilon,
            )
        else:
            self._optimizer = SGD(
                self.learning_rate_init,
                momentum=self.momentum,
                nesterov=self.nesterovs_momentum,
            )
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self.validation_scores_ = None
        self.best_validation_score_ = None
        self.best_loss_ = np.inf

    def _reset_stopping(self, early):
        """Start the stopping rule afresh for a call to ``fit``."""
        self._no_improvement_count = 0
        if early:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        elif self.best_loss_ is None:
            self.best_loss_ = np.inf

    def _train_epoch(self, X, targets, batch_size):
        n_rows = X.shape[0]
        order = self._rng.permutation(n_rows) if self.shuffle else np.arange(n_rows)
        total = 0.0
        self.network_.train()
        batch_norm = self.normalization == "batch"
        for batch in minibatches(n_rows, batch_size, batch_norm=batch_norm):
            rows = order[batch]
            total += self._train_step(X[rows], targets[rows]) * rows.shape[0]
        self.loss_ = total / n_rows
        self.loss_curve_.append(self.loss_)
        self.n_iter_ += 1
        self.t_ += n_rows
        if self.verbose:
            print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")

    def _train_step(self, X, targets):
        """One gradient step on one mini-batch; returns the penalised batch loss."""
        loss, grads = self._loss_and_grads(X, targets)
        self._optimizer.step(self.network_.params, grads)
        return loss

    def _loss_and_grads(self, X, targets):
        """Penalised loss of one training-mode batch and its gradient by name."""
        network = self.network_
        loss, d_output = self._loss(network.forward(X), targets)
        network.backward(d_output)
        grads = network.grads
        if self.alpha:
            scale = self.alpha / X.shape[0]
            for key, param in network.params.items():
                if key.rpartition(".")[2] in _PENALISED:
                    loss += 0.5 * scale * float(np.sum(param * param))
                    grads[key] = grads[key] + scale * param
        return loss, grads

    def _converged(self, X_val, y_val):
        """Update the no-improvement count (scikit-learn's rule) and test it."""
        if X_val is not None:
            score = self.score(X_val, y_val)
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {score:.6f}")
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_state = self.network_.state_dict()
        else:
            if self.loss_ > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            self.best_loss_ = min(self.best_loss_, self.loss_)
        return self._no_improvement_count > self.n_iter_no_change

    def _stop_message(self):
        quantity = "Validation score" if self.early_stopping else "Training loss"
        return (
            f"{quantity} did not improve more than tol={self.tol} for "
            f"{self.n_iter_no_change} consecutive epochs. Stopping."
        )

    # --- prediction ------------------------------------------------------------------

    def _forward_eval(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=_FLOATS, reset=False)
        self.network_.eval()
        return self.network_.forward(X)

    @property
    def coefs_(self):
        """Weight matrices, ``coefs_[i]`` of shape (fan_in, fan_out), as in sklearn."""
        check_is_fitted(self)
        return [
            (layer.weight if "v" in layer.params else layer.params["weight"]).T
            for layer in self._dense_layers()
        ]

    @property
    def intercepts_(self):
        """Bias vectors of the dense layers, ``intercepts_[i]`` of shape (fan_out,)."""
        check_is_fitted(self)
        return [layer.params["bias"] for layer in self._dense_layers()]

    def _dense_layers(self):
        return [
            layer
            for layer in self.network_.layers
            if isinstance(layer, Linear)  # WeightNormLinear included
        ]


_SHARED_PARAMETERS = """\
    hidden_layer_sizes : int or sequence of int, default=(100,)
        Widths of the hidden layers.
    normalization : {"batch", "layer", "group", "weight"} or None, default="batch"
        Normalization of every hidden layer: :class:`BatchNorm`,
        :class:`LayerNorm` or :class:`GroupNorm` between the dense layer and the
        activation (each with learned ``gamma`` and ``beta``), or
        :class:`WeightNormLinear` dense layers (with data-dependent
        initialisation); None for a plain network.
    num_groups : int, default=4
        Groups of ``normalization="group"``; must divide every hidden width.
    activation : {"relu", "tanh"}, default="relu"
    solver : {"adam", "sgd"}, default="adam"
        Adam, or stochastic gradient descent with ``momentum``.
    alpha : float, default=1e-4
        L2 penalty on the weight matrices, ``alpha / (2 * batch) * ||W||^2``.
    batch_size : int or "auto", default="auto"
        Mini-batch size; "auto" is ``min(200, n_samples)``. With batch
        normalization a last batch of fewer than ``batch_size / 2`` rows joins
        the batch before (a few rows give too noisy batch statistics).
    learning_rate_init : float, default=1e-3
    momentum : float, default=0.9
        Momentum of ``solver="sgd"``.
    nesterovs_momentum : bool, default=True
        Nesterov momentum for ``solver="sgd"``.
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's moment decay rates and numerical guard.
    norm_momentum : float or None, default=0.1
        Momentum of batch normalization's running statistics (PyTorch's meaning;
        None: cumulative average).
    norm_eps : float, default=1e-5
        Variance guard of the normalization layers.
    max_iter : int, default=200
        Maximum number of epochs.
    shuffle : bool, default=True
        Reshuffle the rows before each epoch.
    tol : float, default=1e-4
        Training stops when the training loss (or, with ``early_stopping``, the
        validation score) has not improved by ``tol`` for more than
        ``n_iter_no_change`` consecutive epochs.
    n_iter_no_change : int, default=10
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified for
        the classifier), stop on its score and keep the best network.
    validation_fraction : float, default=0.1
    random_state : int, RandomState instance or None, default=None
        Initial weights, shuffling and the validation split.
    verbose : bool, default=False
        Print the loss after every epoch.
    warm_start : bool, default=False
        ``fit`` continues the fitted network (and optimizer state) instead of
        starting afresh."""

_SHARED_ATTRIBUTES = """\
    network_ : Sequential
        The trained network; ``network_.layers`` holds the dense, normalization
        and activation layers with their parameters and running statistics.
    loss_ : float
        Training loss (with penalty) of the last epoch.
    loss_curve_ : list of float
        Training loss of every epoch.
    best_loss_ : float or None
        Lowest training loss (None with ``early_stopping``).
    validation_scores_ : list of float or None
        Validation score of every epoch with ``early_stopping``.
    best_validation_score_ : float or None
    n_iter_ : int
        Epochs run.
    t_ : int
        Training samples seen.
    n_layers_ : int
        Number of layers counting input and output, as in scikit-learn.
    n_outputs_ : int
    coefs_, intercepts_ : list of ndarray
        Effective weights (fan_in, fan_out) and biases of the dense layers.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)"""


class NormalizedMLPClassifier(ClassifierMixin, _BaseNormalizedMLP):
    __doc__ = f"""Multilayer perceptron classifier with normalized hidden layers.

    Trained on the softmax cross-entropy by mini-batch Adam or SGD with
    momentum through the layers' own backward passes; predictions use evaluation
    mode (batch norm's running statistics), so each depends on its own row only.

    Parameters
    ----------
{_SHARED_PARAMETERS}

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
{_SHARED_ATTRIBUTES}
    out_activation_ : str
        "softmax" (two outputs for two classes).

    See Also
    --------
    NormalizedMLPRegressor
    sklearn.neural_network.MLPClassifier : the same parameters without
        normalization.

    References
    ----------
    Ioffe & Szegedy (2015), Batch normalization; Ba, Kiros & Hinton (2016), Layer
    normalization; Wu & He (2018), Group normalization; Salimans & Kingma (2016),
    Weight normalization.

    Examples
    --------
    >>> from skprep.datasets import load_digits
    >>> from skprep.nn import NormalizedMLPClassifier
    >>> X_train, X_test, y_train, y_test = load_digits(split=True)
    >>> clf = NormalizedMLPClassifier((64,), normalization="batch", max_iter=30,
    ...                               random_state=0).fit(X_train / 16, y_train)
    >>> clf.score(X_test / 16, y_test) > 0.9
    True
    >>> clf.predict_proba(X_test[:2] / 16).shape
    (2, 10)
    """

    _out_activation = "softmax"
    _loss = staticmethod(softmax_cross_entropy)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """One epoch of mini-batch updates on ``X``, ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            Every label the classifier will see; required on the first call.

        Returns
        -------
        self : NormalizedMLPClassifier
        """
        if not hasattr(self, "network_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        return self._fit(X, y, incremental=True, classes=classes)

    def _validate_xy(self, X, y, reset):
        X, y = validate_data(self, X, y, dtype=_FLOATS, reset=reset)
        check_classification_targets(y)
        return X, y

    def _targets(self, y, *, first, classes):
        if first:
            self.classes_ = np.unique(y if classes is None else np.asarray(classes))
            if self.classes_.shape[0] < 2:
                raise ValueError(
                    "NormalizedMLPClassifier needs samples of at least 2 classes; "
                    f"got 1 class ({self.classes_[0]!r})."
                )
        unseen = np.setdiff1d(y, self.classes_)
        if unseen.size:
            raise ValueError(
                f"y contains labels {unseen.tolist()} that are not in classes_ "
                f"{self.classes_.tolist()}."
            )
        index = np.searchsorted(self.classes_, y)
        onehot = np.zeros((y.shape[0], self.classes_.shape[0]))
        onehot[np.arange(y.shape[0]), index] = 1.0
        return onehot

    def predict_proba(self, X):
        """Class probabilities from the network in evaluation mode.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        return softmax(self._forward_eval(X), axis=1)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        return log_softmax(self._forward_eval(X), axis=1)

    def predict(self, X):
        """Most probable class of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        logits = self._forward_eval(X)  # checks fitted-ness before classes_ is read
        return self.classes_[np.argmax(logits, axis=1)]

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of :meth:`predict` on ``X`` against ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        return super().score(X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        return tags


class NormalizedMLPRegressor(RegressorMixin, _BaseNormalizedMLP):
    __doc__ = f"""Multilayer perceptron regressor with normalized hidden layers.

    Trained on half the mean squared error by mini-batch Adam or SGD with
    momentum through the layers' own backward passes; predictions use evaluation
    mode, so each depends on its own row only. Targets may have several columns.

    Parameters
    ----------
{_SHARED_PARAMETERS}

    Attributes
    ----------
{_SHARED_ATTRIBUTES}
    out_activation_ : str
        "identity".

    See Also
    --------
    NormalizedMLPClassifier
    sklearn.neural_network.MLPRegressor : the same parameters without
        normalization.

    Examples
    --------
    >>> import numpy as np
    >>> from skprep.nn import NormalizedMLPRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3))
    >>> y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2]
    >>> reg = NormalizedMLPRegressor((32, 32), normalization="layer", max_iter=100,
    ...                              learning_rate_init=1e-2, random_state=0)
    >>> reg.fit(X[:400], y[:400]).score(X[400:], y[400:]) > 0.8
    True
    """

    _out_activation = "identity"
    _loss = staticmethod(half_squared_error)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y):
        """One epoch of mini-batch updates on ``X``, ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)

        Returns
        -------
        self : NormalizedMLPRegressor
        """
        return self._fit(X, y, incremental=True)

    def _validate_xy(self, X, y, reset):
        return validate_data(
            self, X, y, dtype=_FLOATS, multi_output=True, y_numeric=True, reset=reset
        )

    def _targets(self, y, *, first, classes):
        targets = y.reshape(-1, 1) if y.ndim == 1 else y
        if not first and targets.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {targets.shape[1]} targets; this network was fitted with "
                f"{self.n_outputs_}."
            )
        return targets

    def predict(self, X):
        """Network output in evaluation mode.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        output = self._forward_eval(X)
        return output.ravel() if output.shape[1] == 1 else output

    def score(self, X, y, sample_weight=None):
        """Coefficient of determination R^2 of :meth:`predict` on ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        return super().score(X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
