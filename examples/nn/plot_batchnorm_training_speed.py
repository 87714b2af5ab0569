"""
Batch normalization makes training faster
=========================================

Two four-layer perceptrons, identical but for a :class:`~skprep.nn.BatchNorm`
after every hidden dense layer, are trained by SGD with momentum on the digits
data at a moderate and at a high learning rate. The training loss is recorded
after every epoch (``loss_curve_``).
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skprep.datasets import load_digits
from skprep.nn import NormalizedMLPClassifier

X_train, X_test, y_train, y_test = load_digits(split=True)
X_train, X_test = X_train / 16, X_test / 16  # pixel intensities 0..16 -> 0..1

# A fixed budget of epochs for every network, so that the curves compare.
warnings.filterwarnings("ignore", category=ConvergenceWarning)
EPOCHS = 30
LEARNING_RATES = (0.01, 0.1)
runs = {}
for lr in LEARNING_RATES:
    for normalization in ("batch", None):
        clf = NormalizedMLPClassifier(
            (64, 64, 64, 64),
            normalization=normalization,
            solver="sgd",
            momentum=0.9,
            learning_rate_init=lr,
            batch_size=64,
            max_iter=EPOCHS,
            tol=0.0,
            n_iter_no_change=EPOCHS,  # train every epoch, no early stop
            random_state=0,
        ).fit(X_train, y_train)
        runs[lr, normalization] = clf

# %%
# The loss curves, one panel per learning rate.

fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
for ax, lr in zip(axes, LEARNING_RATES, strict=True):
    for normalization, label in (("batch", "batch norm"), (None, "no normalization")):
        curve = runs[lr, normalization].loss_curve_
        ax.plot(np.arange(1, len(curve) + 1), curve, label=label)
    ax.set_yscale("log")
    ax.set_title(f"SGD, momentum 0.9, learning rate {lr}")
    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3)
axes[0].set_ylabel("training loss (cross-entropy)")
axes[0].legend()
fig.tight_layout()

# %%
# Epochs until the training loss first falls below 0.1, the final loss, and the
# accuracy on the held-out quarter of the data:

print(
    f"{'learning rate':>13} {'network':>16} {'epochs to 0.1':>13} "
    f"{'final loss':>10} {'test accuracy':>13}"
)
for (lr, normalization), clf in runs.items():
    curve = np.asarray(clf.loss_curve_)
    below = np.flatnonzero(curve < 0.1)
    reached = str(below[0] + 1) if below.size else "never"
    name = "batch norm" if normalization else "no normalization"
    print(
        f"{lr:>13} {name:>16} {reached:>13} {curve[-1]:>10.4f} "
        f"{clf.score(X_test, y_test):>13.3f}"
    )

# %%
# **Finding:** with batch normalization the loss falls below 0.1 within a few
# epochs at either learning rate, while the plain network needs several times
# longer at the moderate rate and does not train at all at the high one.
