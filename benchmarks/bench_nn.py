"""Forward+backward timings of the skprep.nn layers, side by side with PyTorch CPU.

Run ``python benchmarks/bench_nn.py`` (``--quick`` for small shapes). Each row is
the median of several rounds of one forward and one backward pass (input and
parameter gradients). Two references are measured in the same run, their calls
alternating with skprep's, so the drift of a shared machine cancels in the
ratios:

- ``vs PyTorch``: skprep's time divided by PyTorch's for the same layer, shape
  and dtype, PyTorch on the same two threads (``torch.set_num_threads(2)``;
  skprep's elementwise passes run on one thread, its matrix products on the
  BLAS threads). PyTorch is optional: without it the column stays empty.
- ``vs floor``: skprep's time divided by one elementwise pass
  ``np.multiply(x, 1, out=buffer)`` over the same array (a read and a write),
  so the figure counts how many memory passes the layer costs.

Each round calls every function once untimed, then times it ``per_round``
times. PyTorch's OpenMP threads keep spinning for a while after a call, so a
call timed right after PyTorch's shares the cores with them: on two cores,
BatchNorm (4096, 1024) float32 took 18 ms per call timed that way and 7.6 ms
with the spinning switched off (``OMP_WAIT_POLICY=PASSIVE``, which in turn
slows PyTorch itself by up to 2x).
"""

import argparse
import time

import numpy as np

from skprep.nn import BatchNorm, GroupNorm, InstanceNorm, LayerNorm, WeightNormLinear

# (name, skprep layer, PyTorch module or None, shape); the PyTorch factory takes
# the torch module and returns the layer of the same name and settings.
FULL = [
    (
        "BatchNorm (N, C)",
        lambda: BatchNorm(1024),
        lambda t: t.nn.BatchNorm1d(1024),
        (4096, 1024),
    ),
    (
        "BatchNorm (N, C, H, W)",
        lambda: BatchNorm(64),
        lambda t: t.nn.BatchNorm2d(64),
        (32, 64, 56, 56),
    ),
    (
        "GroupNorm 32 groups",
        lambda: GroupNorm(32, 64),
        lambda t: t.nn.GroupNorm(32, 64),
        (32, 64, 56, 56),
    ),
    (
        "LayerNorm last axis",
        lambda: LayerNorm(1024),
        lambda t: t.nn.LayerNorm(1024),
        (4096, 1024),
    ),
    (
        "BatchNorm eval (N, C, H, W)",
        lambda: BatchNorm(64).eval(),
        lambda t: t.nn.BatchNorm2d(64).eval(),
        (32, 64, 56, 56),
    ),
    (
        "InstanceNorm (N, C, H, W)",
        lambda: InstanceNorm(64),
        lambda t: t.nn.InstanceNorm2d(64),
        (32, 64, 56, 56),
    ),
    (
        "WeightNormLinear 1024->1024",
        lambda: WeightNormLinear(1024, 1024),
        lambda t: t.nn.utils.parametrizations.weight_norm(t.nn.Linear(1024, 1024)),
        (4096, 1024),
    ),
]
QUICK = [
    (
        "BatchNorm (N, C)",
        lambda: BatchNorm(64),
        lambda t: t.nn.BatchNorm1d(64),
        (512, 64),
    ),
    (
        "BatchNorm (N, C, H, W)",
        lambda: BatchNorm(8),
        lambda t: t.nn.BatchNorm2d(8),
        (8, 8, 16, 16),
    ),
    (
        "GroupNorm 4 groups",
        lambda: GroupNorm(4, 8),
        lambda t: t.nn.GroupNorm(4, 8),
        (8, 8, 16, 16),
    ),
    (
        "LayerNorm last axis",
        lambda: LayerNorm(64),
        lambda t: t.nn.LayerNorm(64),
        (512, 64),
    ),
]
DTYPES = (np.float32, np.float64)
# Only the first four cases (the targets) are timed in float64 too.
FLOAT64_CASES = 4


def blocked_medians(fns, rounds=7, per_round=3):
    """Median time per call of each function in ``fns``, by key.

    Rounds alternate between the functions, so drift of a shared machine lands
    on all of them alike; within a round each function runs once untimed (the
    other library's threads settle) and then ``per_round`` timed times.
    """
    times = {key: [] for key in fns}
    for _ in range(rounds):
        for key, fn in fns.items():
            fn()
            for _ in range(per_round):
                start = time.perf_counter()
                fn()
                times[key].append(time.perf_counter() - start)
    return {key: float(np.median(t)) for key, t in times.items()}


def _torch():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(2)
    return torch


def _torch_step(torch, make, x, dy):
    module = make(torch)
    module = module.double() if x.dtype == np.float64 else module.float()
    tx = torch.from_numpy(x).requires_grad_()
    tdy = torch.from_numpy(dy)

    def step():
        tx.grad = None
        module.zero_grad(set_to_none=True)
        module(tx).backward(tdy)

    return step


def run(quick=False, repeat=7):
    """Time every layer; return a list of dict rows."""
    torch = _torch()
    rng = np.random.default_rng(0)
    rows = []
    cases = QUICK if quick else FULL
    for dtype in DTYPES:
        chosen = cases if dtype == np.float32 else cases[:FLOAT64_CASES]
        for name, make, make_torch, shape in chosen:
            layer = make()
            x = rng.standard_normal(shape).astype(dtype)
            dy = rng.standard_normal(layer.forward(x).shape).astype(dtype)

            def step(layer=layer, x=x, dy=dy):
                layer.forward(x)
                layer.backward(dy)

            scratch = np.empty_like(x)

            def one_pass(x=x, scratch=scratch):
                np.multiply(x, 1.0, out=scratch)

            fns = {"step": step, "floor": one_pass}
            if torch is not None:
                fns["torch"] = _torch_step(torch, make_torch, x, dy)
            times = blocked_medians(fns, rounds=repeat)
            row = {
                "case": f"{name} {shape} {np.dtype(dtype).name}",
                "seconds": times["step"],
                "vs floor": times["step"] / times["floor"],
            }
            if torch is not None:
                row["PyTorch seconds"] = times["torch"]
                row["vs PyTorch"] = times["step"] / times["torch"]
            rows.append(row)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small shapes")
    parser.add_argument("--repeat", type=int, default=7, help="rounds per case")
    args = parser.parse_args(argv)
    print(
        f"{'layer, shape, dtype':<58} {'fwd+bwd ms':>10} {'torch ms':>9} "
        f"{'vs torch':>8} {'vs pass':>8}"
    )
    for row in run(quick=args.quick, repeat=args.repeat):
        torch_ms = row.get("PyTorch seconds", float("nan")) * 1e3
        print(
            f"{row['case']:<58} {row['seconds'] * 1e3:10.2f} {torch_ms:9.2f} "
            f"{row.get('vs PyTorch', float('nan')):8.2f} {row['vs floor']:8.1f}"
        )


if __name__ == "__main__":
    main()
