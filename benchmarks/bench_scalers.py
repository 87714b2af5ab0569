"""Scalers against scikit-learn and against the hardware floor, one run.

``python benchmarks/bench_scalers.py`` (``--quick`` for 100,000 rows) times
``ZScoreScaler`` and ``MinMaxScaler`` ``fit`` and ``transform`` on 1,000,000 x 100
standard normal data in float64 and float32 next to scikit-learn's
``StandardScaler`` / ``MinMaxScaler`` and next to two floors measured in the same
run: one read pass (``X.sum(axis=0)``) for fitting and one copy into an existing
array (``np.copyto``) for transforming. A transform with ``copy=True`` must also
allocate its output, whose first touch costs the kernel page faults; the
``X.copy()`` floor row shows that cost.

Every time is the median of several repetitions. Peak memory is measured with
tracemalloc (NumPy reports its allocations to it) as a fraction of the input.
"""

import argparse
import tracemalloc

import numpy as np
from _timing import median_time

N_FEATURES = 100


def peak_memory(fn):
    """Peak bytes allocated while ``fn()`` runs (tracemalloc)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run(quick=False, repeat=None):
    """Return a list of dict rows (case, seconds, ratios, peak memory)."""
    from sklearn.preprocessing import MinMaxScaler as SkMinMaxScaler
    from sklearn.preprocessing import StandardScaler

    from skprep import MinMaxScaler, ZScoreScaler, config_context
    from skprep._fused import numba_available

    n_rows = 100_000 if quick else 1_000_000
    repeat = repeat or (3 if quick else 7)
    pairs = (
        ("ZScoreScaler", ZScoreScaler, "StandardScaler", StandardScaler),
        ("MinMaxScaler", MinMaxScaler, "MinMaxScaler", SkMinMaxScaler),
    )
    rows, seconds64 = [], {}
    for dtype in (np.float64, np.float32):
        name = np.dtype(dtype).name
        X = np.random.default_rng(0).standard_normal((n_rows, N_FEATURES))
        X = X.astype(dtype)
        shape = f"{n_rows:,} x {N_FEATURES} {name}"
        scratch = np.empty_like(X)
        read_floor = median_time(lambda X=X: X.sum(axis=0), repeat)
        copy_floor = median_time(lambda X=X, s=scratch: np.copyto(s, X), repeat)
        alloc_floor = median_time(lambda X=X: X.copy(), repeat)
        rows += [
            {
                "case": f"floor: one read pass X.sum(axis=0), {shape}",
                "seconds": read_floor,
            },
            {"case": f"floor: one copy np.copyto, {shape}", "seconds": copy_floor},
            {
                "case": f"floor: new array + copy X.copy(), {shape}",
                "seconds": alloc_floor,
            },
        ]
        for ours_name, Ours, ref_name, Ref in pairs:
            ours, ref = Ours().fit(X), Ref().fit(X)
            cases = [
                (
                    "fit",
                    lambda Ours=Ours, X=X: Ours().fit(X),
                    lambda Ref=Ref, X=X: Ref().fit(X),
                    read_floor,
                ),
                (
                    "transform",
                    lambda f=ours, X=X: f.transform(X),
                    lambda f=ref, X=X: f.transform(X),
                    copy_floor,
                ),
            ]
            if ours_name == "ZScoreScaler" and numba_available():
                # The same fit on the NumPy passes, for the compiled pass's gain.
                def numpy_fit(Ours=Ours, X=X):
                    with config_context(kernels="numpy"):
                        return Ours().fit(X)

                cases.insert(
                    1, ("fit (kernels='numpy')", numpy_fit, cases[0][2], read_floor)
                )
            # In place: each call overwrites the buffer it was given. Both
            # scalers map the data to a fixed range, so repeated calls stay on
            # ordinary (not denormal) numbers.
            ours_in_place = Ours(copy=False).fit(X)
            ref_in_place = Ref(copy=False).fit(X)
            buffer, ref_buffer = X.copy(), X.copy()
            cases.append(
                (
                    "transform copy=False",
                    lambda f=ours_in_place, b=buffer: f.transform(b),
                    lambda f=ref_in_place, b=ref_buffer: f.transform(b),
                    copy_floor,
                )
            )
            for what, ours_fn, ref_fn, floor in cases:
                key = (ours_name, what)
                t = median_time(ours_fn, repeat)
                t_ref = median_time(ref_fn, repeat)
                row = {
                    "case": f"{ours_name} {what} vs {ref_name}, {shape}",
                    "seconds": t,
                    "vs scikit-learn": t_ref / t,
                    "vs floor": t / floor,
                    "peak memory": peak_memory(ours_fn) / X.nbytes,
                }
                if dtype == np.float64:
                    seconds64[key] = t
                else:
                    row["float32 speed-up"] = seconds64[key] / t
                rows.append(row)
        del X, scratch
    rows += _far_from_origin(n_rows, repeat)
    return rows


def _far_from_origin(n_rows, repeat):
    """Columns whose mean is far from their spread, on both kernels."""
    from sklearn.preprocessing import StandardScaler

    from skprep import ZScoreScaler, config_context

    X = 1e3 + np.random.default_rng(1).standard_normal((n_rows, N_FEATURES))
    t_ref = median_time(lambda: StandardScaler().fit(X), repeat)
    floor = median_time(lambda: X.sum(axis=0), repeat)
    rows = []
    # The NumPy passes centre such columns exactly (a second pass); the
    # compiled pass sums about a shift near the mean and needs no second pass.
    for kernels, how in (("numpy", "NumPy centred pass"), ("auto", "default")):
        with config_context(kernels=kernels):
            t = median_time(lambda: ZScoreScaler().fit(X), repeat)
        rows.append(
            {
                "case": f"ZScoreScaler fit, mean 1e3 std 1 ({how}), "
                f"{n_rows:,} x {N_FEATURES} float64",
                "seconds": t,
                "vs scikit-learn": t_ref / t,
                "vs floor": t / floor,
            }
        )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 rows")
    args = parser.parse_args(argv)
    for row in run(quick=args.quick):
        extras = ", ".join(
            f"{k} {v:.2f}" for k, v in row.items() if k not in ("case", "seconds")
        )
        print(f"{row['case']:<72} {row['seconds']:8.4f} s  {extras}")


if __name__ == "__main__":
    main()
