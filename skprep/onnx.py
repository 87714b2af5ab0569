"""Export skprep transformers to ONNX with skl2onnx.

Importing this module registers a shape calculator and a converter with
skl2onnx for :class:`~skprep.MinMaxScaler`, :class:`~skprep.ZScoreScaler`,
:class:`~skprep.PCA`, :class:`~skprep.Whitening` and the evaluation-mode
:class:`~skprep.nn.BatchNormalizer`, :class:`~skprep.nn.LayerNormalizer` and
:class:`~skprep.nn.GroupNormalizer`. After that, ``skl2onnx.to_onnx`` converts
these estimators alone or as steps of a scikit-learn pipeline::

    import skprep.onnx  # noqa: F401  (registers the converters)
    from skl2onnx import to_onnx

    onx = to_onnx(pipeline, X_train[:1].astype(np.float32))
    with open("pipeline.onnx", "wb") as f:
        f.write(onx.SerializeToString())

Each graph computes what ``transform`` computes, from the same fitted
attributes and with the same formula, in the input's precision (float32 or
float64; the constants are cast to it as ``transform`` casts them):

==============================  ===============================================
estimator                       ONNX graph
==============================  ===============================================
``MinMaxScaler``                ``(X - data_min_) * scale_ + a``, clipped to
                                ``feature_range`` when ``clip=True``
``ZScoreScaler``                ``(X - mean_) * (1 / scale_)``
``PCA``                         ``(X - mean_) @ components_.T``, each column
                                divided by its standard deviation when
                                ``whiten=True``
``Whitening``                   ``(X - mean_) @ whitening_matrix_.T``
``BatchNormalizer``             ``X * s + t`` with ``s = gamma / sqrt(running_var_
                                + eps)`` and ``t = beta - running_mean_ * s``
``LayerNormalizer``,            per row and group: mean and biased variance as
``GroupNormalizer``             matrix products with a group-averaging matrix,
                                then ``gamma * (x - mean) / sqrt(var + eps) +
                                beta``
==============================  ===============================================

Subtracting the mean before the matrix product (rather than folding it into one
bias after it) keeps data far from the origin as exact as ``transform`` does.

**NaN and infinity.** An ONNX graph cannot raise on the data it receives, so the
checks that ``transform`` makes are not part of the graph. The scalers keep NaN
as NaN in the same cell, exactly as their ``transform`` does. ``PCA``,
``Whitening`` and the normalizers refuse NaN in ``transform``; in ONNX a NaN in
a row makes that row's outputs NaN (only the cell itself for
``BatchNormalizer``) and leaves the other rows untouched. Infinity, which every
``transform`` refuses, comes out as infinity or NaN. Check inputs before the
graph where this matters.

The converters are registered once per process; importing the module again is
harmless. Requires the ``onnx`` extra: ``pip install "skprep[onnx]"``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

try:
    from onnx import TensorProto
    from skl2onnx import update_registered_converter
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "skprep.onnx needs skl2onnx and onnx; install them with "
        "pip install 'skprep[onnx]'."
    ) from exc

from ._pca import PCA
from ._scaling import MinMaxScaler, ZScoreScaler
from ._whitening import Whitening
from .nn import BatchNormalizer, GroupNormalizer, LayerNormalizer

__all__: list[str] = []


class _Graph:
    """Appends nodes for one skl2onnx operator; constants in the input's dtype."""

    def __init__(self, scope: Any, operator: Any, container: Any) -> None:
        self.scope = scope
        self.container = container
        self.input: str = operator.inputs[0].full_name
        self.output: str = operator.outputs[0].full_name
        if isinstance(operator.inputs[0].type, DoubleTensorType):
            self.dtype: type[np.floating] = np.float64
            self.proto = TensorProto.DOUBLE
        else:
            self.dtype = np.float32
            self.proto = TensorProto.FLOAT

    def constant(self, hint: str, value: Any) -> str:
        value = np.asarray(value).astype(self.dtype)
        name: str = self.scope.get_unique_variable_name(hint)
        self.container.add_initializer(
            name, self.proto, list(value.shape), value.ravel().tolist()
        )
        return name

    def node(self, op: str, *inputs: str) -> str:
        output: str = self.scope.get_unique_variable_name(op.lower())
        self.container.add_node(
            op, list(inputs), [output], name=self.scope.get_unique_operator_name(op)
        )
        return output

    def finish(self, result: str) -> None:
        """Route ``result`` to the operator's output name."""
        self.container.add_node(
            "Identity",
            [result],
            [self.output],
            name=self.scope.get_unique_operator_name("Identity"),
        )


def _n_outputs(estimator: Any) -> int:
    return int(getattr(estimator, "n_components_", estimator.n_features_in_))


def _shape_calculator(operator: Any) -> None:
    estimator = operator.raw_operator
    check_is_fitted(estimator)
    input_type = operator.inputs[0].type
    name = type(estimator).__name__
    if not isinstance(input_type, FloatTensorType | DoubleTensorType):
        raise TypeError(
            f"{name} converts float32 or float64 input only; got "
            f"{type(input_type).__name__}."
        )
    shape = input_type.shape
    if len(shape) != 2 or shape[1] not in (None, estimator.n_features_in_):
        raise ValueError(
            f"{name} was fitted on {estimator.n_features_in_} features, but the "
            f"ONNX input has shape {list(shape)}."
        )
    operator.outputs[0].type = type(input_type)([shape[0], _n_outputs(estimator)])


def _affine_steps(g: _Graph, x: str, *, shift=None, factor=None, offset=None) -> str:
    """``(x - shift) * factor + offset``, skipping absent terms, as ``transform``."""
    for op, hint, term in (
        ("Sub", "shift", shift),
        ("Mul", "factor", factor),
        ("Add", "offset", offset),
    ):
        if term is not None:
            x = g.node(op, x, g.constant(hint, term))
    return x


def _convert_min_max_scaler(scope: Any, operator: Any, container: Any) -> None:
    est = operator.raw_operator
    g = _Graph(scope, operator, container)
    low, high = est._bounds()
    y = _affine_steps(
        g,
        g.input,
        shift=est.data_min_,
        factor=est.scale_,
        offset=None if low == 0 else np.full(est.n_features_in_, low),
    )
    if est.clip:
        # Max and Min keep NaN, as np.clip does in transform.
        y = g.node("Max", y, g.constant("low", low))
        y = g.node("Min", y, g.constant("high", high))
    g.finish(y)


def _convert_zscore_scaler(scope: Any, operator: Any, container: Any) -> None:
    est = operator.raw_operator
    g = _Graph(scope, operator, container)
    y = _affine_steps(
        g,
        g.input,
        shift=est.mean_ if est.with_mean else None,
        factor=1.0 / est.scale_ if est.with_std else None,
    )
    g.finish(y)


def _project(scope: Any, operator: Any, container: Any, matrix: Any) -> None:
    est = operator.raw_operator
    g = _Graph(scope, operator, container)
    centred = g.node("Sub", g.input, g.constant("mean", est.mean_))
    g.finish(g.node("MatMul", centred, g.constant("matrix", matrix)))


def _convert_pca(scope: Any, operator: Any, container: Any) -> None:
    est = operator.raw_operator
    matrix = est.components_.T
    if est.whiten:
        matrix = matrix * est._whitening_factors()
    _project(scope, operator, container, matrix)


def _convert_whitening(scope: Any, operator: Any, container: Any) -> None:
    _project(scope, operator, container, operator.raw_operator.whitening_matrix_.T)


def _convert_batch_normalizer(scope: Any, operator: Any, container: Any) -> None:
    est = operator.raw_operator
    g = _Graph(scope, operator, container)
    gamma, beta = est._affine(est.n_features_in_)
    # The same casts and operations as batch_norm_forward in evaluation mode.
    dtype = g.dtype
    inv_std = 1.0 / np.sqrt(est.running_var_.astype(dtype) + dtype(est.eps))
    scale = inv_std * gamma.astype(dtype)
    shift = beta.astype(dtype) - est.running_mean_.astype(dtype) * scale
    y = g.node("Mul", g.input, g.constant("scale", scale))
    g.finish(g.node("Add", y, g.constant("shift", shift)))


def _convert_group_normalizer(scope: Any, operator: Any, container: Any) -> None:
    est = operator.raw_operator
    g = _Graph(scope, operator, container)
    d = est.n_features_in_
    groups = getattr(est, "num_groups", 1)
    gamma, beta = est._affine(d)
    # member[j, k] = 1 when feature j is in group k; the groups are consecutive
    # and of equal size, as in group_norm_forward's reshape.
    member = np.repeat(np.eye(groups), d // groups, axis=0)
    average = g.constant("average", member / (d // groups))
    spread = g.constant("spread", member.T)
    mean = g.node("MatMul", g.input, average)
    centred = g.node("Sub", g.input, g.node("MatMul", mean, spread))
    var = g.node("MatMul", g.node("Mul", centred, centred), average)
    std = g.node("Sqrt", g.node("Add", var, g.constant("eps", est.eps)))
    inv_std = g.node("MatMul", g.node("Reciprocal", std), spread)
    x_hat = g.node("Mul", centred, inv_std)
    y = g.node("Mul", x_hat, g.constant("gamma", gamma))
    g.finish(g.node("Add", y, g.constant("beta", beta)))


_CONVERTERS = {
    MinMaxScaler: _convert_min_max_scaler,
    ZScoreScaler: _convert_zscore_scaler,
    PCA: _convert_pca,
    Whitening: _convert_whitening,
    BatchNormalizer: _convert_batch_normalizer,
    LayerNormalizer: _convert_group_normalizer,
    GroupNormalizer: _convert_group_normalizer,
}

for _cls, _converter in _CONVERTERS.items():
    update_registered_converter(
        _cls, f"Skprep{_cls.__name__}", _shape_calculator, _converter
    )
