"""skprep: scikit-learn compatible feature scaling, PCA, whitening and NumPy
activation normalization."""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import datasets as datasets
    from . import nn as nn
    from ._pca import PCA
    from ._scaling import MinMaxScaler, ZScoreScaler
    from ._whitening import Whitening

# The one place the version is written: setup.cfg reads it (attr:), and so do
# the documentation (CITATION.cff carries no version, so it cannot drift).
__version__ = "0.1.0.dev0"

# Kept sorted; every class listed here is picked up by the common estimator checks
# and by the command-line tool's --method list.
__all__ = [
    "MinMaxScaler",
    "PCA",
    "Whitening",
    "ZScoreScaler",
]

# Submodules loaded on first attribute access, so ``import skprep`` costs nothing
# for them while ``skprep.nn.BatchNorm`` works without a separate import.
_LAZY_SUBMODULES = ("datasets", "nn")
# The estimators too (they import scikit-learn, about a second): the command
# line starts, and answers Ctrl-C, before that cost is paid.
_LAZY_ESTIMATORS = {
    "MinMaxScaler": "._scaling",
    "PCA": "._pca",
    "Whitening": "._whitening",
    "ZScoreScaler": "._scaling",
}


def __getattr__(name: str) -> object:
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _LAZY_ESTIMATORS:
        module = importlib.import_module(_LAZY_ESTIMATORS[name], __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY_SUBMODULES, *_LAZY_ESTIMATORS})
