"""Activation normalization in NumPy: pure functions, stateful layers, estimators.

:mod:`skprep.nn.functional` holds forward/backward pairs; the layers here wrap
them with parameters, gradients, running statistics and train/eval modes;
:class:`Sequential` composes them, and the estimators (the normalizer
transformers and the normalized MLPs) bring them to scikit-learn.
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
from .mlp import NormalizedMLPClassifier, NormalizedMLPRegressor
from .network import ReLU, Sequential, Tanh
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
    "NormalizedMLPClassifier",
    "NormalizedMLPRegressor",
    "ReLU",
    "Sequential",
    "Tanh",
    "WeightNormLinear",
    "functional",
]
