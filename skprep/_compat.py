"""The one place where skprep reaches into scikit-learn's private API.

``_fit_context`` runs parameter validation (``_parameter_constraints``) once per
public fitting call and skips it for nested estimators; scikit-learn exposes it only
privately. Keeping the import here means a rename upstream is a one-line fix.
"""

from sklearn.base import _fit_context

__all__ = ["_fit_context"]

# Converts and checks ``sample_weight`` against ``X`` the way every scikit-learn
# estimator does (shape, dtype, non-negativity on request).
from sklearn.utils.validation import _check_sample_weight

__all__ += ["_check_sample_weight"]

# Resolves ``input_features`` against ``feature_names_in_`` for
# ``get_feature_names_out`` exactly as scikit-learn's own transformers do.
from sklearn.utils.validation import _check_feature_names_in  # noqa: E402

__all__ += ["_check_feature_names_in"]

# scikit-learn's randomized SVD without input validation, which refuses the
# LinearOperator that centres sparse input implicitly (scikit-learn's own PCA
# calls it for the same reason).
from sklearn.utils.extmath import _randomized_svd  # noqa: E402

__all__ += ["_randomized_svd"]

# The constraint types of ``_parameter_constraints``, which scikit-learn's
# parameter validation (run by ``_fit_context``) reads.
from sklearn.utils._param_validation import (  # noqa: E402
    Interval,
    RealNotInt,
    StrOptions,
)

__all__ += ["Interval", "RealNotInt", "StrOptions"]

# scikit-learn's thread count for its own OpenMP code (OMP_NUM_THREADS, a
# threadpoolctl limit, or the usable cores), which joblib's workers lower to
# their share of the cores: skprep's threads follow the same rule.
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads  # noqa: E402

__all__ += ["_openmp_effective_n_threads"]


def validate_params(estimator):
    """Check ``estimator``'s parameters against its ``_parameter_constraints``
    now, as ``fit`` would (scikit-learn's private ``_validate_params``)."""
    estimator._validate_params()


__all__ += ["validate_params"]
