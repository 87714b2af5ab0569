"""
Batch norm's moving averages matter at inference
================================================

In training mode batch normalization standardises each mini-batch with that
batch's own mean and variance, and keeps running averages of them on the side.
At prediction time :class:`~skprep.nn.NormalizedMLPClassifier` runs in
evaluation mode: the running averages replace the batch statistics, so a
prediction depends on its own row only.

What if a network used the statistics of the test batch instead? Below, one
trained network predicts the held-out digits twice: in evaluation mode, and with
the batch statistics of test batches of 2 to 450 rows (one row has no
batch variance, and batch norm refuses it) (its batch-norm layers set
to ``track_running_stats=False``, PyTorch's switch for exactly this).
"""

import copy
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skprep.datasets import load_digits
from skprep.nn import BatchNorm, NormalizedMLPClassifier

X_train, X_test, y_train, y_test = load_digits(split=True)
X_train, X_test = X_train / 16, X_test / 16

warnings.filterwarnings("ignore", category=ConvergenceWarning)  # a fixed budget
clf = NormalizedMLPClassifier(
    (64, 64), normalization="batch", batch_size=64, max_iter=30, random_state=0
).fit(X_train, y_train)
eval_accuracy = clf.score(X_test, y_test)

# The same weights, normalising with whatever batch they are given.
batch_stats = copy.deepcopy(clf.network_)
for layer in batch_stats.layers:
    if isinstance(layer, BatchNorm):
        layer.track_running_stats = False
batch_stats.eval()


def batch_stat_predictions(order, batch_size):
    """Labels predicted for X_test[order], batch by batch, in the original order."""
    labels = np.empty(len(order), dtype=clf.classes_.dtype)
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        labels[rows] = clf.classes_[batch_stats.forward(X_test[rows]).argmax(axis=1)]
    return labels


rng = np.random.default_rng(0)
shuffled = rng.permutation(len(y_test))
by_class = np.argsort(y_test, kind="stable")  # batches of (mostly) one digit
BATCH_SIZES = (2, 4, 8, 16, 32, 64, 450)
random_batches = [
    np.mean(batch_stat_predictions(shuffled, b) == y_test) for b in BATCH_SIZES
]
sorted_batches = [
    np.mean(batch_stat_predictions(by_class, b) == y_test) for b in BATCH_SIZES
]
# With batch statistics a row's label depends on its companions: reshuffle.
again = batch_stat_predictions(rng.permutation(len(y_test)), 8)
changed = np.mean(again != batch_stat_predictions(shuffled, 8))

# %%
# Accuracy on the held-out data:

fig, ax = plt.subplots(figsize=(6.5, 4))
ax.axhline(eval_accuracy, color="black", label="evaluation mode (running averages)")
ax.plot(
    BATCH_SIZES, random_batches, marker="o", label="batch statistics, random batches"
)
ax.plot(
    BATCH_SIZES,
    sorted_batches,
    marker="s",
    label="batch statistics, batches sorted by class",
)
ax.set_xscale("log", base=2)
ax.set_xticks(BATCH_SIZES, [str(b) for b in BATCH_SIZES])
ax.set_xlabel("test batch size")
ax.set_ylabel("test accuracy")
ax.set_ylim(0, 1.02)
ax.grid(alpha=0.3)
ax.legend(loc="lower right")
fig.tight_layout()

print(f"evaluation mode (running averages): {eval_accuracy:.3f}")
print(f"{'test batch size':>28}" + "".join(f"{b:>7}" for b in BATCH_SIZES))
print(
    f"{'batch statistics, random':>28}" + "".join(f"{a:>7.3f}" for a in random_batches)
)
print(
    f"{'batch statistics, by class':>28}"
    + "".join(f"{a:>7.3f}" for a in sorted_batches)
)
print(f"labels that change when batches of 8 are reshuffled: {changed:.1%}")

# %%
# **Finding:** the running averages give the best accuracy with every row
# predicted on its own, while batch statistics lose accuracy on small batches,
# make a row's label depend on its companions, and fall apart when a batch
# holds one class.
