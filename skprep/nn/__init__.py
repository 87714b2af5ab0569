"""Activation normalization in NumPy: pure functions, stateful layers, estimators.

:mod:`skprep.nn.functional` holds forward/backward pairs; the layers here wrap
them with parameters, gradients, running statistics and train/eval modes.
"""

from . import functional
from .layers import (
    BatchNorm,
    GroupNorm,
    InstanceNorm,
    Layer,
    LayerNorm,
    Linear,
    WeightNormLinear,
)

# Kept sorted. Estimators listed here are picked up by the common checks and the
# command-line tool.
__all__ = [
    "BatchNorm",
    "GroupNorm",
    "InstanceNorm",
    "Layer",
    "LayerNorm",
    "Linear",
    "WeightNormLinear",
    "functional",
]
