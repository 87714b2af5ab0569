"""Discovery of skprep's public estimators."""

import importlib
import inspect
from typing import Literal

from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

__all__ = ["all_estimators"]

# Modules whose ``__all__`` is the public surface. A new estimator becomes visible
# to the common tests and the command-line tool by being exported from one of them.
_PUBLIC_MODULES = ("skprep", "skprep.nn")


def all_estimators(
    type_filter: Literal["transformer", "classifier", "regressor"] | None = None,
) -> list[tuple[str, type]]:
    """List skprep's public estimators as ``(name, class)`` pairs, sorted by name.

    Parameters
    ----------
    type_filter : {"transformer", "classifier", "regressor"} or None
        Keep only estimators of that kind.

    Returns
    -------
    list of (str, type)

    Examples
    --------
    >>> from skprep import ZScoreScaler
    >>> from skprep.utils import all_estimators
    >>> ("ZScoreScaler", ZScoreScaler) in all_estimators("transformer")
    True
    """
    found = {}
    for module_name in _PUBLIC_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # pragma: no cover - a submodule not built yet
            continue
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseEstimator)
                and not inspect.isabstract(obj)
                and not name.startswith("_")
            ):
                found[name] = obj
    checks = {
        "transformer": lambda c: hasattr(c, "transform"),
        "classifier": lambda c: issubclass(c, ClassifierMixin),
        "regressor": lambda c: issubclass(c, RegressorMixin),
    }
    if type_filter is not None:
        if type_filter not in checks:
            raise ValueError(
                f"type_filter must be one of {sorted(checks)} or None; "
                f"got {type_filter!r}."
            )
        found = {n: c for n, c in found.items() if checks[type_filter](c)}
    return sorted(found.items())
