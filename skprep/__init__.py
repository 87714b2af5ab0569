"""skprep: scikit-learn compatible feature scaling, PCA, whitening and NumPy
activation normalization."""

from ._config import config_context, get_config, set_config
from ._pca import PCA
from ._scaling import MinMaxScaler, ZScoreScaler
from ._whitening import Whitening

__version__ = "0.1.0.dev0"

# Kept sorted; every class listed here is picked up by the common estimator checks
# and by the command-line tool's --method list.
__all__ = [
    "MinMaxScaler",
    "PCA",
    "Whitening",
    "ZScoreScaler",
    "config_context",
    "get_config",
    "set_config",
]
