r"""The one normalization core under batch, layer, group and instance norm.

Every layer views its input as ``(A, B, C, S)`` (a :class:`Layout`): statistics
are taken per ``b`` over ``a``, ``c`` and ``s``, and the affine parameters are
indexed by ``(b % P, c)``:

==============  ===================================  =====
layer           (A, B, C, S)                         P
==============  ===================================  =====
batch norm      (N, C, 1, prod(spatial))             C
layer norm      (1, prod(leading), prod(normalized), 1)  1
group norm      (1, N * G, C / G, prod(spatial))     G
instance norm   (1, N * C, 1, prod(spatial))         C
==============  ===================================  =====

Three steps make a forward and backward pass: :func:`statistics` (mean and
biased variance per ``b``), :func:`normalize` (``y = (x - mean) * inv_std *
gamma + beta``) and :func:`backward`, which takes the two reductions of the
gradient, ``sum g`` and ``sum g * x_hat`` with ``g = dy * gamma``, in one read
and then writes

.. math::

    dx = \frac{1}{\sigma}\Big(g - \overline{g} - \hat{x}\,\overline{g\hat{x}}\Big)

(the bars vanish when the statistics are fixed, as in evaluation mode). No
full-size ``x_hat`` is kept: the backward recomputes it from ``x``.

Each step has two implementations with one signature. The NumPy one below is
the specification: it writes the formulas as they read, in the working dtype
(NumPy's sums of float32 accumulate in float32). The compiled one
(:mod:`._compiled`, with numba, the ``fast`` extra) does each step in one read
of memory, summing in float64 and the centred squares in
cache-sized blocks merged exactly (Chan, Golub & LeVeque 1979). It runs where
skprep's other compiled kernels run (``SKPREP_KERNELS``, and once they have
paid for themselves: :data:`skprep._fused.LOAD_SECONDS`; float32 and float64
arrays), and the tests compare the two on the same data.

All statistics are float64 arrays of shape ``(B,)``; ``gamma`` and ``beta``
float64 arrays of shape ``(P, C)`` or None.
"""

import functools
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

from .._config import effective_threads
from .._fused import charge_numpy, use_compiled

__all__ = ["Layout", "backward", "normalize", "statistics", "working_dtype"]


class Layout(NamedTuple):
    """How an input is viewed by the core: ``(A, B, C, S)`` and ``P``."""

    A: int
    B: int
    C: int
    S: int
    P: int

    @property
    def count(self):
        """Values per statistic."""
        return self.A * self.C * self.S


def working_dtype(x, name="x"):
    """The dtype arrays are computed in for input ``x`` (see the dtype policy).

    float32 and float64 are kept; float16 is computed in float32, since its
    largest value (65504) is smaller than the sums of squares of ordinary
    batches; integers and booleans in float64, as NumPy's own reductions and
    scikit-learn do. Anything else raises TypeError.
    """
    dtype = np.asarray(x).dtype if not hasattr(x, "dtype") else x.dtype
    if dtype in (np.float32, np.float64):
        return dtype
    if dtype == np.float16:
        return np.dtype(np.float32)
    if dtype.kind in "biu":
        return np.dtype(np.float64)
    raise TypeError(
        f"{name} must hold real numbers (floating, integer or boolean); got dtype "
        f"{dtype}."
    )


def _compiled(*arrays):
    return all(a.dtype in (np.float32, np.float64) for a in arrays) and use_compiled(
        arrays[0]
    )


def _kernels():
    from ._compiled import kernels

    return kernels()


def _view5(x, layout):
    A, B, C, S, P = layout
    return x.reshape(A, B // P, P, C, S)


# The compiled steps split arrays of at least 8 parts of this size over threads,
# as skprep's other chunked kernels do (:func:`skprep._config.effective_threads`).
# Batch norm on (4096, 1024) float32, forward and backward: 10.1 ms on one
# thread, 5.6 ms on two.
_PART_BYTES = 2**20

_AXES = (0, 3, 4)  # the reduced axes of the 5-d view
_PARAM_AXES = (0, 1, 4)  # the axes a parameter gradient sums over
# einsum subscripts summing a product of two 5-d views into per-b and
# per-parameter arrays, without the full-size product.
_PER_B = "qrstu,qrstu->rs"
_PER_PARAM = "qrstu,qrstu->st"


def _sum_of_products(a, b, subscripts):
    return np.einsum(subscripts, a, b, optimize=False)


def _per_b(v, layout):
    return v.reshape(1, layout.B // layout.P, layout.P, 1, 1)


def _per_param(p, layout):
    return p.reshape(1, 1, layout.P, layout.C, 1)


def _parts(x, layout):
    """How the compiled steps split ``x`` over threads: (axis, bounds), along
    rows ``a`` (axis 0) or along ``b`` (axis 1) in whole multiples of P."""
    threads = effective_threads(x.nbytes // _PART_BYTES)
    A, B, _, _, P = layout
    if threads > 1 and A >= threads:
        return 0, np.linspace(0, A, threads + 1).astype(int)
    if threads > 1 and B // P >= threads:
        return 1, np.linspace(0, B // P, threads + 1).astype(int) * P
    return 0, np.array([0, A])


def _run(calls):
    """Run the thunks ``calls`` (nogil kernels), on the pool when more than one."""
    if len(calls) == 1:
        return [calls[0]()]
    return [f.result() for f in [_pool(len(calls)).submit(c) for c in calls]]


@functools.cache
def _pool(threads):
    return ThreadPoolExecutor(threads, thread_name_prefix="skprep-nn")


def _view(x, layout):
    """The 2-d (A, B) view for columns, else the 3-d (A, B, C * S) view."""
    A, B, C, S, _ = layout
    x = np.ascontiguousarray(x)
    return x.reshape(A, B) if C * S == 1 else x.reshape(A, B, C * S)


def _cut(axis, lo, hi, *arrays):
    """Each array's part: rows lo:hi of a data array for axis 0; entries lo:hi of
    per-b vectors (and axis 1 of data arrays) for axis 1."""
    out = []
    for a in arrays:
        if a.ndim >= 2:
            out.append(a[lo:hi] if axis == 0 else a[:, lo:hi])
        else:
            out.append(a if axis == 0 else a[lo:hi])
    return out


@charge_numpy()
def statistics(x, layout):
    """Mean and biased variance per ``b``, float64 arrays of shape (B,).

    An empty ``x`` gives zeros (no statistic is used then).
    """
    if x.size == 0:
        return np.zeros(layout.B), np.zeros(layout.B)
    A, B, C, S, _ = layout
    if _compiled(x):
        v = _view(x, layout)
        kernel = _kernels()["stats_columns" if C * S == 1 else "stats_runs"]
        axis, bounds = _parts(x, layout)
        parts = []
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            mean, m2 = (np.empty(B), np.empty(B)) if axis == 0 else (None, None)
            if axis == 1:
                mean, m2 = np.empty(hi - lo), np.empty(hi - lo)
            xv = _cut(axis, lo, hi, v)[0]
            parts.append((xv, mean, m2))
        _run([functools.partial(kernel, *part) for part in parts])
        if axis == 1:
            mean = np.concatenate([p[1] for p in parts])
            m2 = np.concatenate([p[2] for p in parts])
            return mean, m2 / layout.count
        # Chan et al.'s merge of the row parts' means and centred sums.
        n, mean, m2 = 0, np.zeros(B), np.zeros(B)
        for xv, part_mean, part_m2 in parts:
            k = xv.shape[0] * C * S
            delta = part_mean - mean
            mean = mean + delta * (k / (n + k))
            m2 = m2 + part_m2 + delta * delta * (n * k / (n + k))
            n += k
        return mean, m2 / layout.count
    x5 = _view5(x, layout)
    mean = x5.mean(axis=_AXES, keepdims=True)
    centred = x5 - mean
    var = _sum_of_products(centred, centred, _PER_B) / layout.count
    return mean.reshape(B).astype(np.float64), var.reshape(B).astype(np.float64)


def _tables(layout, gamma, beta):
    shape = (layout.P, layout.C)
    gamma = np.ones(shape) if gamma is None else gamma
    beta = np.zeros(shape) if beta is None else beta
    return gamma, beta


@charge_numpy()
def normalize(x, layout, mean, inv_std, gamma, beta, out_dtype):
    """``(x - mean) * inv_std * gamma + beta`` in ``out_dtype``, shaped like ``x``."""
    if x.size == 0:
        return np.empty(x.shape, dtype=out_dtype)
    A, B, C, S, P = layout
    if _compiled(x):
        v = _view(x, layout)
        out = np.empty(x.shape, dtype=x.dtype)
        o = out.reshape(v.shape)
        g, b = _tables(layout, gamma, beta)
        axis, bounds = _parts(x, layout)
        calls = []
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            if C * S == 1:
                rows = np.arange(B) % P
                scale, shift = inv_std * g[rows, 0], b[rows, 0]
                args = _cut(axis, lo, hi, v, mean, scale, shift, o)
                calls.append(functools.partial(_kernels()["apply_columns"], *args))
            else:
                xv, m, i, ov = _cut(axis, lo, hi, v, mean, inv_std, o)
                calls.append(
                    functools.partial(_kernels()["apply_runs"], xv, m, i, g, b, S, ov)
                )
        _run(calls)
        return out.astype(out_dtype, copy=False)
    w = x.dtype
    y = _view5(x, layout) - _per_b(mean, layout).astype(w)  # the only new array
    y *= _per_b(inv_std, layout).astype(w)
    if gamma is not None:
        y *= _per_param(gamma, layout).astype(w)
    if beta is not None:
        y += _per_param(beta, layout).astype(w)
    return y.reshape(x.shape).astype(out_dtype, copy=False)


@charge_numpy()
def backward(dy, x, layout, mean, inv_std, gamma, *, batch_statistics, out_dtype):
    """Gradients of :func:`normalize` (composed with :func:`statistics` when
    ``batch_statistics``): ``dx`` in ``out_dtype``, ``dgamma`` and ``dbeta`` as
    float64 arrays of shape (P, C)."""
    A, B, C, S, P = layout
    if x.size == 0:
        return np.empty(x.shape, dtype=out_dtype), np.zeros((P, C)), np.zeros((P, C))
    count = layout.count
    if _compiled(x, dy) and dy.dtype == x.dtype:
        v, dv = _view(x, layout), _view(dy, layout)
        g, _ = _tables(layout, gamma, None)
        dx = np.empty(x.shape, dtype=x.dtype)
        dxv = dx.reshape(v.shape)
        axis, bounds = _parts(x, layout)
        pieces = list(zip(bounds[:-1], bounds[1:], strict=True))
        columns = C * S == 1
        if columns:
            rows = np.arange(B) % P
            g = g[rows, 0]
        # Pass 1: the reductions, one read of x and dy.
        calls, outs = [], []
        for lo, hi in pieces:
            width = B if axis == 0 else hi - lo
            sums, dg, db = np.zeros((2, width)), np.zeros((P, C)), np.zeros((P, C))
            xv, dyv, m, i = _cut(axis, lo, hi, v, dv, mean, inv_std)
            if columns:
                kernel = functools.partial(
                    _kernels()["backward_sums_columns"], dyv, xv, m, i, sums[0], sums[1]
                )
            else:
                kernel = functools.partial(
                    _kernels()["backward_sums_runs"], dyv, xv, m, i, g, S, sums, dg, db
                )
            calls.append(kernel)
            outs.append((sums, dg, db))
        _run(calls)
        if axis == 0:
            sums = sum(o[0] for o in outs)
        else:
            sums = np.concatenate([o[0] for o in outs], axis=1)
        if columns:  # the kernel summed dy and dy * x_hat; gamma applies here
            dgamma = sums[1].reshape(B // P, P).sum(axis=0).reshape(P, 1)
            dbeta = sums[0].reshape(B // P, P).sum(axis=0).reshape(P, 1)
            sums = sums * g
        else:
            dgamma = sum(o[1] for o in outs)
            dbeta = sum(o[2] for o in outs)
        mean_g, mean_gx = sums / count if batch_statistics else np.zeros((2, B))
        # Pass 2: dx, one more read of x and dy.
        name = "backward_apply_columns" if columns else "backward_apply_runs"
        calls = []
        for lo, hi in pieces:
            if columns:
                args = _cut(axis, lo, hi, dv, v, mean, inv_std, g, mean_g, mean_gx, dxv)
            else:
                dyv, xv, m, i, mg, mgx, dxp = _cut(
                    axis, lo, hi, dv, v, mean, inv_std, mean_g, mean_gx, dxv
                )
                args = (dyv, xv, m, i, g, S, mg, mgx, dxp)
            calls.append(functools.partial(_kernels()[name], *args))
        _run(calls)
        return dx.astype(out_dtype, copy=False), dgamma, dbeta
    w = x.dtype
    dy5 = _view5(dy, layout)
    inv = _per_b(inv_std, layout).astype(w)
    x_hat = _view5(x, layout) - _per_b(mean, layout).astype(w)
    x_hat *= inv
    dgamma = _sum_of_products(dy5, x_hat, _PER_PARAM).astype(np.float64)
    dbeta = dy5.sum(axis=_PARAM_AXES, dtype=np.float64)
    if gamma is None:
        dx = dy5.copy()
    else:
        dx = dy5 * _per_param(gamma, layout).astype(w)
    if batch_statistics:
        mean_g = dx.mean(axis=_AXES, keepdims=True)
        mean_gx = _sum_of_products(dx, x_hat, _PER_B) / layout.count
        dx -= mean_g
        x_hat *= mean_gx.reshape(mean_g.shape)
        dx -= x_hat
    dx *= inv
    return dx.reshape(x.shape).astype(out_dtype, copy=False), dgamma, dbeta
