"""
Choosing ``n_components`` with the PCA log-likelihood
=====================================================

:meth:`skprep.PCA.score` is the average log-likelihood of rows under the
probabilistic PCA model fitted on the training data (Tipping and Bishop, 1999):
a Gaussian with covariance :math:`W W^\\top + \\sigma^2 I`, where the
:math:`k` leading components span :math:`W` and :math:`\\sigma^2` is the mean
variance of the discarded directions. Because ``score`` is the estimator's
own score, :class:`~sklearn.model_selection.GridSearchCV` over ``n_components``
needs no ``scoring`` argument: it keeps the value with the highest held-out
log-likelihood.

The data here have a known answer: 10 latent factors seen through 40 noisy
features. On the training rows the log-likelihood keeps rising with every
component (the model fits its own noise); on held-out folds it peaks at the
true rank.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV

from skprep import PCA

rng = np.random.default_rng(0)
n_samples, n_features, rank = 500, 40, 10
factors = rng.normal(size=(n_samples, rank))
loadings = rng.normal(size=(rank, n_features))
X = factors @ loadings + rng.normal(scale=1.0, size=(n_samples, n_features))

candidates = np.arange(1, 31)
search = GridSearchCV(
    PCA(solver="eigh"),
    {"n_components": candidates},
    cv=5,
    return_train_score=True,
)
search.fit(X)

# %%
# The cross-validated log-likelihood per row, with one standard deviation over
# the five folds, and the same on the training folds:

results = search.cv_results_
best = search.best_params_["n_components"]
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
ax.plot(
    candidates, results["mean_train_score"], "--", color="gray", label="training folds"
)
ax.errorbar(
    candidates,
    results["mean_test_score"],
    yerr=results["std_test_score"],
    marker="o",
    markersize=3,
    capsize=2,
    label="held-out folds",
)
ax.axvline(rank, color="tab:green", linewidth=1, label=f"true rank ({rank})")
ax.axvline(best, color="tab:red", linestyle=":", label=f"chosen ({best})")
ax.set_xlabel("n_components")
ax.set_ylabel("average log-likelihood per row")
ax.legend()

print(f"best n_components: {best}")
print(f"held-out log-likelihood at the best: {search.best_score_:.3f}")

# %%
# Past the true rank the extra components describe noise in the training
# folds, which lowers the likelihood of new rows; below it, the model puts real
# structure into the isotropic noise term. The refitted ``search.best_estimator_``
# is a PCA with the chosen number of components, ready for ``transform``.
