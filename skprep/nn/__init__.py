"""Activation normalization in NumPy: pure functions, stateful layers, estimators.

:mod:`skprep.nn.functional` holds forward/backward pairs; the layers here wrap
them with parameters, gradients, running statistics and train/eval modes.
"""

from . import functional
from ._normalizers import BatchNormalizer, GroupNormalizer, LayerNormalizer
from .conditional import ConditionalBatchNorm
from .layers import (
    BatchNorm,
    GroupNorm,
    InstanceNorm,
    Layer,
    LayerNorm,
    Linear,
    WeightNormLinear,
)
from .recurrent import BNLSTM, LayerNormLSTM, LayerNormRNN

# Kept sorted. Estimators listed here are picked up by the common checks and the
# command-line tool.
__all__ = [
    "BNLSTM",
    "BatchNorm",
    "BatchNormalizer",
    "ConditionalBatchNorm",
    "GroupNorm",
    "GroupNormalizer",
    "InstanceNorm",
    "Layer",
    "LayerNorm",
    "LayerNormLSTM",
    "LayerNormRNN",
    "LayerNormalizer",
    "Linear",
    "WeightNormLinear",
    "functional",
]
