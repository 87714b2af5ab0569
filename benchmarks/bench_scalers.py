"""Scalers against scikit-learn and against the hardware floor, one run.

``python benchmarks/bench_scalers.py`` (``--quick`` for 100,000 rows) times
``ZScoreScaler`` and ``MinMaxScaler`` ``fit`` and ``transform`` on 1,000,000 x 100
standard normal data in float64 and float32 next to scikit-learn's
``StandardScaler`` / ``MinMaxScaler`` and next to two floors measured in the same
run: one read pass (``X.sum(axis=0)``) for fitting and one copy into an existing
array (``np.copyto``) for transforming. A transform with ``copy=True`` must also
allocate its output, whose first touch costs the kernel page faults; the
``X.copy()`` floor row shows that cost.

Every time is the median of several repetitions. The times a ratio divides
are taken in alternating rounds, so the drift of a shared machine does not enter
the ratios: skprep's calls on both dtypes take turns with the floors, and each
of them takes turns with scikit-learn's for the "vs scikit-learn" ratio. The
two kinds of round are kept apart because a reference's large temporaries, once
freed, slow the calls after them on a virtual machine (measured: a float64 fit
of 36 ms alone took 41-61 ms, and once 252 ms, in rounds with
``StandardScaler``'s fits), which would put noise into the float32 speed-up
and the floor ratios. The floor rows come from their own rounds. Peak memory is
measured with tracemalloc (NumPy reports its allocations to it) as a fraction of
the input.
"""

import argparse
import contextlib
import os
import tracemalloc

import numpy as np
from _timing import interleaved_medians

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

    from skprep import MinMaxScaler, ZScoreScaler

    n_rows = 100_000 if quick else 1_000_000
    repeat = repeat or (3 if quick else 7)
    pairs = (
        ("ZScoreScaler", ZScoreScaler, "StandardScaler", StandardScaler),
        ("MinMaxScaler", MinMaxScaler, "MinMaxScaler", SkMinMaxScaler),
    )
    dtypes = (np.float64, np.float32)
    base = np.random.default_rng(0).standard_normal((n_rows, N_FEATURES))
    data = {dtype: base.astype(dtype) for dtype in dtypes}
    del base
    shapes = {
        dtype: f"{n_rows:,} x {N_FEATURES} {np.dtype(dtype).name}" for dtype in dtypes
    }
    floors = {dtype: _floors(data[dtype]) for dtype in dtypes}
    floor_times = interleaved_medians(
        {
            (dtype, kind): fn
            for dtype in dtypes
            for kind, (_, fn) in floors[dtype].items()
        },
        repeat,
    )
    rows = {
        dtype: [
            {
                "case": f"floor: {label}, {shapes[dtype]}",
                "seconds": floor_times[dtype, kind],
            }
            for kind, (label, _) in floors[dtype].items()
        ]
        for dtype in dtypes
    }
    for ours_name, Ours, ref_name, Ref in pairs:
        cases = {dtype: _cases(ours_name, Ours, Ref, data[dtype]) for dtype in dtypes}
        for what, floor_kind in cases[np.float64]:
            ours = {dtype: cases[dtype][what, floor_kind][0] for dtype in dtypes}
            refs = {dtype: cases[dtype][what, floor_kind][1] for dtype in dtypes}
            against = {dtype: floors[dtype][floor_kind][1] for dtype in dtypes}
            t, vs_floor, vs_ref = _measure(ours, against, refs, repeat)
            for dtype in dtypes:
                row = {
                    "case": f"{ours_name} {what} vs {ref_name}, {shapes[dtype]}",
                    "seconds": t[dtype],
                    "vs scikit-learn": vs_ref[dtype],
                    "vs floor": vs_floor[dtype],
                }
                if dtype == np.float32:
                    row["float32 speed-up"] = t[np.float64] / t[dtype]
                row["peak memory"] = peak_memory(ours[dtype]) / data[dtype].nbytes
                rows[dtype].append(row)
    # Free the inputs and buffers (the closures hold them) before the
    # far-from-origin data is made.
    del data, cases, ours, refs, against, floors
    return [row for dtype in dtypes for row in rows[dtype]] + _far_from_origin(
        n_rows, repeat
    )


def _floors(X):
    """The hardware floors for ``X``: kind -> (label, function)."""
    scratch = np.empty_like(X)
    return {
        "read": ("one read pass X.sum(axis=0)", lambda: X.sum(axis=0)),
        "copy": ("one copy np.copyto", lambda: np.copyto(scratch, X)),
        "alloc": ("new array + copy X.copy()", lambda: X.copy()),
    }


@contextlib.contextmanager
def kernels_set_to(kernels):
    """Run the block with ``SKPREP_KERNELS=kernels`` (see skprep._config)."""
    previous = os.environ.get("SKPREP_KERNELS")
    os.environ["SKPREP_KERNELS"] = kernels
    try:
        yield
    finally:
        if previous is None:
            del os.environ["SKPREP_KERNELS"]
        else:
            os.environ["SKPREP_KERNELS"] = previous


def _cases(ours_name, Ours, Ref, X):
    """(what, floor kind) -> (our call, scikit-learn's call) for one dtype."""
    from skprep._fused import numba_available

    ours, ref = Ours().fit(X), Ref().fit(X)
    cases = {
        ("fit", "read"): (lambda: Ours().fit(X), lambda: Ref().fit(X)),
    }
    if ours_name == "ZScoreScaler" and numba_available():
        # The same fit on the NumPy passes, for the compiled pass's gain.
        def numpy_fit():
            with kernels_set_to("numpy"):
                return Ours().fit(X)

        cases["fit (kernels='numpy')", "read"] = (numpy_fit, lambda: Ref().fit(X))
    cases["transform", "copy"] = (lambda: ours.transform(X), lambda: ref.transform(X))
    # In place: each call overwrites the buffer it was given. Both scalers map
    # the data to a fixed range, so repeated calls stay on ordinary (not
    # denormal) numbers.
    ours_in_place = Ours(copy=False).fit(X)
    ref_in_place = Ref(copy=False).fit(X)
    buffer, ref_buffer = X.copy(), X.copy()
    cases["transform copy=False", "copy"] = (
        lambda: ours_in_place.transform(buffer),
        lambda: ref_in_place.transform(ref_buffer),
    )
    return cases


def _far_from_origin(n_rows, repeat):
    """Columns whose mean is far from their spread, on both kernels."""
    from sklearn.preprocessing import StandardScaler

    from skprep import ZScoreScaler

    X = 1e3 + np.random.default_rng(1).standard_normal((n_rows, N_FEATURES))

    def fit_with(kernels):
        def fit():
            with kernels_set_to(kernels):
                return ZScoreScaler().fit(X)

        return fit

    # The NumPy passes centre such columns exactly (a second pass); the
    # compiled pass sums about a shift near the mean and needs no second pass.
    kinds = (("numpy", "NumPy centred pass"), ("auto", "default"))
    ours = {kernels: fit_with(kernels) for kernels, _ in kinds}
    t, vs_floor, vs_ref = _measure(
        ours,
        dict.fromkeys(ours, lambda: X.sum(axis=0)),
        dict.fromkeys(ours, lambda: StandardScaler().fit(X)),
        repeat,
    )
    return [
        {
            "case": f"ZScoreScaler fit, mean 1e3 std 1 ({how}), "
            f"{n_rows:,} x {N_FEATURES} float64",
            "seconds": t[kernels],
            "vs scikit-learn": vs_ref[kernels],
            "vs floor": vs_floor[kernels],
        }
        for kernels, how in kinds
    ]


def _measure(ours, floors, refs, repeat):
    """Our times and their ratios to the floors and to the references.

    ``ours``, ``floors`` and ``refs`` map the same keys to our call, the floor
    it is held against and the reference's call. Our calls take turns with the
    floors in one set of rounds (our times, ``vs floor``, and any ratio between
    our calls come from these), and each takes turns with its reference in
    rounds of its own (``vs scikit-learn``). Returns three dicts by key: our
    seconds, our time over the floor's, the reference's time over ours.
    """
    calls = {("ours", key): fn for key, fn in ours.items()}
    calls.update({("floor", key): fn for key, fn in floors.items()})
    t = interleaved_medians(calls, repeat)
    vs_ref = {}
    for key, ref in refs.items():
        pair = interleaved_medians({"ours": ours[key], "ref": ref}, repeat)
        vs_ref[key] = pair["ref"] / pair["ours"]
    return (
        {key: t["ours", key] for key in ours},
        {key: t["ours", key] / t["floor", key] for key in ours},
        vs_ref,
    )


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
