"""Forward+backward timings of the skprep.nn layers on standard shapes (float32).

Run ``python benchmarks/bench_nn.py`` (``--quick`` for small shapes). Each row is
the median of several repetitions of one forward and one backward pass, with the
throughput against a reference measured in the same run: one elementwise
``np.multiply`` over the same array (a pass that reads and writes it once), so
the figure says how many memory passes the layer costs.
"""

import argparse

import numpy as np
from _timing import interleaved_medians

from skprep.nn import BatchNorm, GroupNorm, InstanceNorm, LayerNorm, WeightNormLinear

FULL = [
    ("BatchNorm (N, C)", lambda: BatchNorm(1024), (4096, 1024)),
    ("BatchNorm (N, C, H, W)", lambda: BatchNorm(64), (32, 64, 56, 56)),
    ("BatchNorm eval (N, C, H, W)", lambda: BatchNorm(64).eval(), (32, 64, 56, 56)),
    ("GroupNorm 32 groups", lambda: GroupNorm(32, 64), (32, 64, 56, 56)),
    ("LayerNorm last axis", lambda: LayerNorm(1024), (4096, 1024)),
    ("InstanceNorm (N, C, H, W)", lambda: InstanceNorm(64), (32, 64, 56, 56)),
    ("WeightNormLinear 1024->1024", lambda: WeightNormLinear(1024, 1024), (4096, 1024)),
]
QUICK = [
    ("BatchNorm (N, C)", lambda: BatchNorm(64), (512, 64)),
    ("BatchNorm (N, C, H, W)", lambda: BatchNorm(8), (8, 8, 16, 16)),
    ("GroupNorm 4 groups", lambda: GroupNorm(4, 8), (8, 8, 16, 16)),
    ("LayerNorm last axis", lambda: LayerNorm(64), (512, 64)),
    ("InstanceNorm (N, C, H, W)", lambda: InstanceNorm(8), (8, 8, 16, 16)),
    ("WeightNormLinear 64->64", lambda: WeightNormLinear(64, 64), (512, 64)),
]


def run(quick=False, repeat=5):
    """Time every layer; return a list of dict rows."""
    rng = np.random.default_rng(0)
    rows = []
    for name, make, shape in QUICK if quick else FULL:
        layer = make()
        x = rng.standard_normal(shape, dtype=np.float32)
        dy = rng.standard_normal(layer.forward(x).shape, dtype=np.float32)

        def step(layer=layer, x=x, dy=dy):
            layer.forward(x)
            layer.backward(dy)

        scratch = np.empty_like(x)

        def one_pass(x=x, scratch=scratch):
            np.multiply(x, 1.0, out=scratch)

        times = interleaved_medians({"step": step, "floor": one_pass}, repeat)
        seconds, floor = times["step"], times["floor"]
        rows.append(
            {
                "benchmark": "nn",
                "case": f"{name} {shape}",
                "seconds": seconds,
                "reference": "one elementwise pass",
                "reference_seconds": floor,
                "ratio": seconds / floor,
            }
        )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small shapes")
    args = parser.parse_args(argv)
    print(f"{'layer, shape (float32)':<52} {'fwd+bwd ms':>11} {'x one pass':>11}")
    for row in run(quick=args.quick):
        print(f"{row['case']:<52} {row['seconds'] * 1e3:11.2f} {row['ratio']:11.1f}")


if __name__ == "__main__":
    main()
