"""Fitting on a Dask array: skprep against dask-ml on the same LocalCluster.

``python benchmarks/bench_dask.py`` fits a 2,000,000 x 100 float64 array held in
250,000-row chunks on a 2-worker ``LocalCluster`` (``--quick``: 200,000 rows in
25,000-row chunks). The data are generated on the workers and persisted first, so
both libraries read the same in-cluster blocks. dask-ml is a benchmark-only
reference (``pip install dask-ml``); a reference that cannot be imported is
skipped with a line.
"""

import argparse

from _timing import median_time


def run(quick=False, repeat=3):
    """Return a list of dict rows: case, skprep seconds, dask-ml seconds, ratio."""
    import dask.array as da
    from distributed import Client, LocalCluster

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
            ours_s = median_time(lambda ours=ours: ours().fit(X), repeat)
            ref_s = (
                median_time(lambda reference=reference: reference().fit(X), repeat)
                if reference
                else float("nan")
            )
            rows.append(
                {
                    "benchmark": "dask",
                    "case": f"{name} {X.shape}",
                    "seconds": ours_s,
                    "reference": "dask-ml",
                    "reference_seconds": ref_s,
                    "ratio": ref_s / ours_s,
                }
            )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200,000 rows")
    args = parser.parse_args(argv)
    print(f"{'case':<58} {'skprep s':>9} {'dask-ml s':>10} {'speed-up':>9}")
    for row in run(quick=args.quick):
        print(
            f"{row['case']:<58} {row['seconds']:9.3f} {row['reference_seconds']:10.3f} "
            f"{row['ratio']:8.1f}x"
        )


if __name__ == "__main__":
    main()
