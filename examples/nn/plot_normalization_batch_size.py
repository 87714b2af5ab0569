"""
Batch norm needs large batches; group and layer norm do not
===========================================================

Batch normalization estimates its statistics from the mini-batch, and a batch
of two or four rows estimates them badly; group and layer normalization compute
them per sample, so the batch size does not enter (Wu & He, 2018). Here the
same two-layer perceptron is trained on the digits data with every
normalization and batch sizes from 2 to 64 (Adam, ten epochs, three seeds), and
scored on held-out data.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skprep.datasets import load_digits
from skprep.nn import NormalizedMLPClassifier

X_train, X_test, y_train, y_test = load_digits(split=True)
X_train, X_test = X_train / 16, X_test / 16

# A fixed budget of ten epochs for every run.
warnings.filterwarnings("ignore", category=ConvergenceWarning)
BATCH_SIZES = (2, 4, 8, 16, 32, 64)
NORMALIZATIONS = {
    "batch": "batch norm",
    "group": "group norm (8 groups)",
    "layer": "layer norm",
    None: "no normalization",
}
SEEDS = (0, 1, 2)

accuracy = {}
for normalization in NORMALIZATIONS:
    for batch_size in BATCH_SIZES:
        scores = [
            NormalizedMLPClassifier(
                (64, 64),
                normalization=normalization,
                num_groups=8,
                batch_size=batch_size,
                max_iter=10,
                tol=0.0,
                n_iter_no_change=10,
                random_state=seed,
            )
            .fit(X_train, y_train)
            .score(X_test, y_test)
            for seed in SEEDS
        ]
        accuracy[normalization, batch_size] = np.mean(scores)

# %%
# Test accuracy against batch size:

fig, ax = plt.subplots(figsize=(6.5, 4))
for normalization, label in NORMALIZATIONS.items():
    ax.plot(
        BATCH_SIZES,
        [accuracy[normalization, b] for b in BATCH_SIZES],
        marker="o",
        label=label,
    )
ax.set_xscale("log", base=2)
ax.set_xticks(BATCH_SIZES, [str(b) for b in BATCH_SIZES])
ax.set_xlabel("batch size")
ax.set_ylabel(f"test accuracy (mean of {len(SEEDS)} seeds)")
ax.grid(alpha=0.3)
ax.legend()
fig.tight_layout()

# %%
# The same numbers:

print(f"{'batch size':>22}" + "".join(f"{b:>7}" for b in BATCH_SIZES))
for normalization, label in NORMALIZATIONS.items():
    print(
        f"{label:>22}"
        + "".join(f"{accuracy[normalization, b]:>7.3f}" for b in BATCH_SIZES)
    )

# %%
# **Finding:** batch norm loses accuracy as the batch shrinks to a few rows,
# while group norm, layer norm and the plain network hold theirs at every
# batch size.
