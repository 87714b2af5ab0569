"""scikit-learn's estimator checks over every public skprep estimator.

The list is discovered from the public modules, so a new estimator is checked as
soon as it is exported; nothing here needs editing, and no check is expected to
fail.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skprep.utils import all_estimators


def _instances():
    for _, cls in all_estimators():
        # Estimators may offer small settings that keep the checks fast (a few
        # training epochs); the defaults are checked otherwise.
        factory = getattr(cls, "_instance_for_checks", None)
        yield factory() if factory is not None else cls()


@parametrize_with_checks(list(_instances()))
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
