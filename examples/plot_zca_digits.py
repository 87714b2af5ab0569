"""
ZCA whitening of handwritten digits
===================================

ZCA whitening of the bundled 8x8 digits removes the correlations between
neighbouring pixels: what is left of each image is its local contrast, with the
smooth brightness shared by neighbours taken out. The rows of the ZCA matrix are
local centre-surround filters.
"""

import matplotlib.pyplot as plt
import numpy as np

from skprep import Whitening
from skprep.datasets import load_digits

X, y = load_digits()
zca = Whitening(method="zca", eps=0.1).fit(X)
Z = zca.transform(X)

fig, axes = plt.subplots(3, 8, figsize=(10, 4))
for i in range(8):
    axes[0, i].imshow(X[i].reshape(8, 8), cmap="gray_r")
    axes[1, i].imshow(Z[i].reshape(8, 8), cmap="gray_r")
    row = zca.whitening_matrix_[8 * i + 3].reshape(8, 8)
    limit = np.abs(row).max()
    axes[2, i].imshow(row, cmap="RdBu", vmin=-limit, vmax=limit)
for ax in axes.ravel():
    ax.set_xticks([])
    ax.set_yticks([])
axes[0, 0].set_ylabel("digit")
axes[1, 0].set_ylabel("ZCA")
axes[2, 0].set_ylabel("filter")
fig.tight_layout()

neighbour = np.corrcoef(X[:, 27], X[:, 28])[0, 1]
whitened = np.corrcoef(Z[:, 27], Z[:, 28])[0, 1]
print(f"neighbouring pixels' correlation: {neighbour:.2f} before, {whitened:.2f} after")

# %%
# Finding: neighbouring pixels that were strongly correlated are decorrelated,
# and each row of the ZCA matrix is a centre-surround filter around its pixel.
