"""skprep: scikit-learn compatible feature scaling, PCA, whitening and NumPy
activation normalization."""

import importlib
from typing import TYPE_CHECKING

from ._pca import PCA
from ._scaling import MinMaxScaler, ZScoreScaler
from ._whitening import Whitening

if TYPE_CHECKING:
    from . import datasets as datasets
    from . import nn as nn

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


def __getattr__(name: str) -> object:
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY_SUBMODULES})
