"""Names for the estimators' type hints."""

from typing import Any, TypeAlias, TypeVar

from sklearn.base import BaseEstimator

__all__ = ["Estimator", "MatrixLike"]

# fit and partial_fit return the estimator itself, typed as its own class
# (typing.Self needs Python 3.11).
Estimator = TypeVar("Estimator", bound=BaseEstimator)

# An estimator input or output: a NumPy array, anything np.asarray takes (lists,
# pandas DataFrames), a SciPy sparse matrix where the estimator accepts one, or
# a Dask collection (transformed lazily into one). No protocol covers them all
# and SciPy and Dask ship no type information, so type checkers treat it as
# Any; the name says what is meant.
MatrixLike: TypeAlias = Any
