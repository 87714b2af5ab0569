"""Fitting on a Dask array: skprep against dask-ml on the same LocalCluster.

``python benchmarks/bench_dask.py`` fits a 2,000,000 x 100 float64 array held in
250,000-row chunks on a 2-worker ``LocalCluster`` (``--quick``: 200,000 rows in
25,000-row chunks). The data are generated on the workers and persisted first, so
both libraries read the same in-cluster blocks. dask-ml is a benchmark-only
reference (``pip install dask-ml``); a reference that cannot be imported is
skipped with a line.

The floor measured in the same run is one Dask reduction that reads every block
once, ``X.sum(axis=0)``: no fit can be faster than reading its data, so ``vs
floor`` (skprep's time over the floor's) says how much room is left, and a
reference that is itself within k floors cannot be beaten by more than k times.
"""

import argparse

from _timing import interleaved_medians, median_time


def run(quick=False, repeat=3):
    """Return dict rows: case, skprep seconds, ``vs dask-ml``, ``vs floor``."""
    import dask.array as da
    from distributed import Client, LocalCluster, wait

    from skprep import PCA, MinMaxScaler, ZScoreScaler

    n_rows, chunk = (200_000, 25_000) if quick else (2_000_000, 250_000)
    try:
        import dask_ml.decomposition as dml_decomposition
        import dask_ml.preprocessing as dml_preprocessing
    except ImportError:
        dml_preprocessing = dml_decomposition = None
        print("dask-ml is not installed: skipping the reference (pip install dask-ml)")
    rows = []
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster),
    ):
        X = da.random.default_rng(0).standard_normal((n_rows, 100), chunks=(chunk, 100))
        X = X.persist()
        wait(X)

        def read_pass():
            X.sum(axis=0).compute()

        floor_s = median_time(read_pass, repeat)
        rows.append(
            {
                "case": f"floor: one read pass X.sum(axis=0) {X.shape}",
                "seconds": floor_s,
                "dask-ml seconds": float("nan"),
                "vs dask-ml": float("nan"),
                "vs floor": 1.0,
            }
        )
        cases = [
            (
                "ZScoreScaler vs StandardScaler",
                ZScoreScaler,
                dml_preprocessing and dml_preprocessing.StandardScaler,
            ),
            (
                "MinMaxScaler vs MinMaxScaler",
                MinMaxScaler,
                dml_preprocessing and dml_preprocessing.MinMaxScaler,
            ),
            (
                "PCA(eigh, 10) vs PCA(tsqr, 10)",
                lambda: PCA(10, solver="eigh"),
                dml_decomposition
                and (lambda: dml_decomposition.PCA(10, svd_solver="full")),
            ),
        ]
        for name, ours, reference in cases:
            calls = {"ours": lambda ours=ours: ours().fit(X), "floor": read_pass}
            if reference:
                calls["ref"] = lambda reference=reference: reference().fit(X)
            times = interleaved_medians(calls, repeat)
            ours_s, ref_s = times["ours"], times.get("ref", float("nan"))
            rows.append(
                {
                    "case": f"{name} {X.shape}",
                    "seconds": ours_s,
                    "dask-ml seconds": ref_s,
                    "vs dask-ml": ref_s / ours_s,
                    "vs floor": ours_s / times["floor"],
                }
            )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200,000 rows")
    args = parser.parse_args(argv)
    print(
        f"{'case':<58} {'skprep s':>9} {'dask-ml s':>10} {'vs dask-ml':>11} "
        f"{'vs floor':>9}"
    )
    for row in run(quick=args.quick):
        print(
            f"{row['case']:<58} {row['seconds']:9.3f} {row['dask-ml seconds']:10.3f} "
            f"{row['vs dask-ml']:10.1f}x {row['vs floor']:8.2f}x"
        )


if __name__ == "__main__":
    main()
