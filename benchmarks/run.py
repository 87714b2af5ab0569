"""The benchmark suite: skprep side by side with the reference a user would pick.

    python benchmarks/run.py                 # everything, full sizes
    python benchmarks/run.py --quick         # small sizes, a smoke run
    python benchmarks/run.py --only scalers,pca
    python benchmarks/run.py --write docs/benchmarks.md

Every figure is the median of several repetitions measured in this run, printed
as a ratio against its reference (scikit-learn, dask-ml, or a hardware floor:
one read pass ``X.sum(axis=0)`` for fitting and one ``np.copyto`` for
transforming). Peak extra memory is measured with tracemalloc, which sees NumPy's
allocations, relative to the size of the input.
"""

import argparse
import importlib
import platform
import sys
import tracemalloc
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _timing import median_time  # noqa: E402


def peak_extra_bytes(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def scaler_rows(quick):
    from sklearn.preprocessing import MinMaxScaler as SkMinMaxScaler
    from sklearn.preprocessing import StandardScaler

    from skprep import MinMaxScaler, ZScoreScaler

    n = 100_000 if quick else 1_000_000
    rows = []
    for dtype in (np.float64, np.float32):
        X = np.random.default_rng(0).standard_normal((n, 100)).astype(dtype)
        scratch = np.empty_like(X)
        read_floor = median_time(lambda X=X: X.sum(axis=0))
        copy_floor = median_time(lambda X=X, s=scratch: np.copyto(s, X))
        for name, ours, ref in (
            ("ZScoreScaler", ZScoreScaler, StandardScaler),
            ("MinMaxScaler", MinMaxScaler, SkMinMaxScaler),
        ):
            fitted, ref_fitted = ours().fit(X), ref().fit(X)
            fit_s = median_time(lambda ours=ours, X=X: ours().fit(X))
            ref_fit_s = median_time(lambda ref=ref, X=X: ref().fit(X))
            tr_s = median_time(lambda f=fitted, X=X: f.transform(X))
            ref_tr_s = median_time(lambda f=ref_fitted, X=X: f.transform(X))
            fit_mem = peak_extra_bytes(lambda ours=ours, X=X: ours().fit(X)) / X.nbytes
            tr_mem = peak_extra_bytes(lambda f=fitted, X=X: f.transform(X)) / X.nbytes
            case = f"{name} {X.shape} {np.dtype(dtype).name}"
            rows += [
                {
                    "case": f"{case} fit",
                    "seconds": fit_s,
                    "vs scikit-learn": ref_fit_s / fit_s,
                    "vs floor": fit_s / read_floor,
                    "peak extra memory": fit_mem,
                },
                {
                    "case": f"{case} transform",
                    "seconds": tr_s,
                    "vs scikit-learn": ref_tr_s / tr_s,
                    "vs floor": tr_s / copy_floor,
                    "peak extra memory": tr_mem,
                },
            ]
    return rows


def pca_rows(quick):
    shapes = (
        [(20_000, 100), (1_000, 300)] if quick else [(200_000, 100), (5_000, 1_000)]
    )
    rows = []
    for shape in shapes:
        rng = np.random.default_rng(0)
        X = rng.standard_normal(shape) @ rng.standard_normal((shape[1], shape[1])) * 0.1
        rows += _pca_cases(X, k=10)
    return rows


def _pca_cases(X, k):
    from sklearn.decomposition import PCA as SkPCA

    from skprep import PCA, Whitening

    rows = []
    for solver, sk_solver in (
        ("eigh", "covariance_eigh"),
        ("svd", "full"),
        ("randomized", "randomized"),
    ):
        ours = median_time(lambda s=solver: PCA(k, solver=s, random_state=0).fit(X), 3)
        ref = median_time(
            lambda s=sk_solver: SkPCA(k, svd_solver=s, random_state=0).fit(X), 3
        )
        rows.append(
            {
                "case": f"PCA {solver} vs {sk_solver} {X.shape}",
                "seconds": ours,
                "vs scikit-learn": ref / ours,
            }
        )
    ours = median_time(lambda: Whitening("pca").fit(X), 3)
    ref = median_time(
        lambda: SkPCA(whiten=True, svd_solver="covariance_eigh").fit(X), 3
    )
    rows.append(
        {
            "case": f"Whitening(pca) vs PCA(whiten=True) {X.shape}",
            "seconds": ours,
            "vs scikit-learn": ref / ours,
        }
    )
    return rows


def external_rows(module_name, quick, label):
    try:
        module = importlib.import_module(module_name)
        found = module.run(quick=quick)
    except ImportError as exc:
        print(f"skipping {label}: {exc}")
        return []
    rows = []
    for row in found:
        entry = {"case": row["case"], "seconds": row["seconds"]}
        key = "vs dask-ml" if label == "dask" else "in elementwise passes"
        entry[key] = row["ratio"]
        rows.append(entry)
    return rows


SUITES = {
    "scalers": scaler_rows,
    "pca": pca_rows,
    "nn": lambda quick: external_rows("bench_nn", quick, "nn"),
    "dask": lambda quick: external_rows("bench_dask", quick, "dask"),
}


def machine():
    import sklearn
    from threadpoolctl import threadpool_info

    blas = ", ".join(
        sorted({f"{i['internal_api']} {i['version']}" for i in threadpool_info()})
    )
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    return (
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"NumPy {np.__version__}, scikit-learn {sklearn.__version__}; BLAS: {blas}"
    )


def table(rows):
    columns = ["case", "seconds"] + sorted(
        {k for r in rows for k in r} - {"case", "seconds"}
    )
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        cells = []
        for c in columns:
            v = r.get(c, "")
            if c == "peak extra memory" and v != "":
                cells.append(f"{100 * v:.2f}%")
            elif isinstance(v, float):
                cells.append(f"{v:.3f}" if c == "seconds" else f"{v:.2f}x")
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument(
        "--only", default=",".join(SUITES), help="comma-separated suites"
    )
    parser.add_argument("--write", metavar="PATH", help="also write a markdown report")
    args = parser.parse_args(argv)
    report = [f"Machine: {machine()}", ""]
    for name in args.only.split(","):
        rows = SUITES[name](args.quick)
        if rows:
            text = table(rows)
            print(f"\n## {name}\n{text}")
            report += [f"## {name}", "", text, ""]
    if args.write:
        command = "python benchmarks/run.py " + " ".join(argv or sys.argv[1:])
        Path(args.write).write_text(
            "# Benchmarks\n\nProduced by `"
            + command.strip()
            + "`.\n\n"
            + "\n".join(report)
        )


if __name__ == "__main__":
    main()
