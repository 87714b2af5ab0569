"""
Train-only statistics versus leakage in cross-validation
========================================================

A scaler learns statistics (here the extremes of :class:`~skprep.MinMaxScaler`)
from the rows passed to ``fit``. Inside a cross-validation, that has to be the
training folds only: in production the model meets rows that took no part in
any statistic. Scaling the whole table first and cross-validating afterwards
lets every validation fold take part in its own scaling, a leak.

This example compares the two protocols on small training sets drawn from the
bundled breast-cancer table, scored against a large untouched test set:

* **inside**: ``cross_val_score(make_pipeline(MinMaxScaler(), SVC()), X, y)``,
  the scaler refitted on each training fold;
* **outside**: ``cross_val_score(SVC(), MinMaxScaler().fit_transform(X), y)``,
  the scaler fitted once on all rows, validation folds included.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import (
    StratifiedKFold,
    cross_val_score,
    train_test_split,
)
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC

from skprep import MinMaxScaler
from skprep.datasets import load_breast_cancer

X, y = load_breast_cancer()
n_repeats, n_train = 20, 40

bias = {"inside": [], "outside": []}
outside_range = {"inside": [], "outside": [], "test set": []}
for seed in range(n_repeats):
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, train_size=n_train, stratify=y, random_state=seed
    )
    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    # What the model really scores on rows it has never seen.
    truth = make_pipeline(MinMaxScaler(), SVC()).fit(X_train, y_train)
    truth = truth.score(X_test, y_test)

    inside = cross_val_score(
        make_pipeline(MinMaxScaler(), SVC()), X_train, y_train, cv=cv
    )
    leaked = MinMaxScaler().fit_transform(X_train)
    outside = cross_val_score(SVC(), leaked, y_train, cv=cv)
    bias["inside"].append(inside.mean() - truth)
    bias["outside"].append(outside.mean() - truth)

    # How the validation rows look to the model under each protocol: the
    # fraction of their scaled values outside the [0, 1] training range.
    for train, valid in cv.split(X_train, y_train):
        honest = MinMaxScaler().fit(X_train[train]).transform(X_train[valid])
        out_of_range = (honest < 0) | (honest > 1)
        outside_range["inside"].append(out_of_range.mean())
        out_of_range = (leaked[valid] < 0) | (leaked[valid] > 1)
        outside_range["outside"].append(out_of_range.mean())
    deployed = MinMaxScaler().fit(X_train).transform(X_test)
    outside_range["test set"].append(((deployed < 0) | (deployed > 1)).mean())

# %%
# The cross-validated score minus the score on the untouched test set, and the
# share of scaled values that fall outside [0, 1]:

difference = np.subtract(bias["outside"], bias["inside"])
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
left.boxplot(
    [bias["inside"], bias["outside"], difference],
    tick_labels=["inside", "outside", "outside - inside\n(same split)"],
)
left.axhline(0, color="black", linewidth=1)
left.set_ylabel("accuracy")
left.set_title("CV estimate minus test accuracy")
right.boxplot(
    [100 * np.asarray(v) for v in outside_range.values()],
    tick_labels=[
        "validation folds,\ninside",
        "validation folds,\noutside",
        "untouched\ntest set",
    ],
)
right.set_ylabel("% of scaled values outside [0, 1]")
right.set_title("What the model is shown")

print(f"mean bias inside:  {np.mean(bias['inside']):+.4f}")
print(f"mean bias outside: {np.mean(bias['outside']):+.4f}")
print(
    f"outside - inside: {difference.mean():+.4f} "
    f"(standard error {difference.std(ddof=1) / np.sqrt(n_repeats):.4f})"
)
for name, values in outside_range.items():
    print(f"{name:>9}: {100 * np.mean(values):.2f}% of values outside [0, 1]")

# %%
# With the scaler outside the cross-validation, no validation value ever leaves
# the [0, 1] range, because the validation rows helped set it; on the untouched
# test set, as in production, some do, and the pipeline's validation folds show
# the model the same thing. Both estimates fall below the test accuracy here
# (each fold trains on 32 rows, the final model on 40); compared on the same
# split, the leaked estimate is the more optimistic one. The gap is small for a
# min-max scaler and an SVM, and grows with
# statistics that depend more on the rows left out (fewer rows, heavier tails,
# statistics that use the target). The pipeline is the protocol that needs no
# such judgement: it keeps every statistic train-only by construction.
