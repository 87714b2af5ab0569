"""The benchmark suite: skprep side by side with the reference a user would pick.

    python benchmarks/run.py                     # everything, full sizes
    python benchmarks/run.py --quick             # small sizes, a smoke run
    python benchmarks/run.py --only scalers,pca  # some suites
    python benchmarks/run.py --write-docs        # also write docs/benchmarks.rst
    python benchmarks/run.py --write out.md      # also write a markdown report

Every figure is the median of several repetitions measured in this run, printed
as a ratio against its reference, whose repetitions alternate with skprep's:
scikit-learn (``vs scikit-learn``: how many times faster skprep is), dask-ml, or
a hardware floor measured in the same run (``vs floor``: how many floors skprep
takes; one read pass ``X.sum(axis=0)`` for fitting, one ``np.copyto`` for
transforming). Peak memory is measured with tracemalloc, which sees NumPy's
allocations, as a fraction of the input size.

The suites live in ``bench_scalers.py``, ``bench_pca.py``, ``bench_nn.py`` and
``bench_dask.py``, each exposing ``run(quick=False) -> list of dict rows``; a
suite whose module or dependencies cannot be imported is skipped with a line.
"""

import argparse
import importlib
import importlib.util
import os
import platform
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DOCS = HERE.parent / "docs"
sys.path.insert(0, str(HERE))

SUITES = {
    "scalers": "bench_scalers",
    "pca": "bench_pca",
    "nn": "bench_nn",
    "dask": "bench_dask",
    "cold": "bench_cold",
}
# Ratio columns of the external suites, which report a single "ratio".
RATIO_NAMES = {}


def run_suite(name, quick):
    try:
        module = importlib.import_module(SUITES[name])
        found = module.run(quick=quick)
    except ImportError as exc:
        print(f"skipping {name}: {exc}")
        return []
    rows = []
    for row in found:
        if "ratio" in row:
            entry = {"case": row["case"], "seconds": row["seconds"]}
            entry[RATIO_NAMES.get(name, "ratio")] = row["ratio"]
            rows.append(entry)
        else:
            rows.append(dict(row))
    return rows


def machine():
    """One line: CPU, cores, memory, Python, NumPy, scikit-learn, numba, BLAS."""
    import sklearn
    from threadpoolctl import threadpool_info

    cpu = platform.processor() or platform.machine()
    memory = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f", {int(line.split()[1]) / 2**20:.0f} GiB memory"
                break
    except OSError:
        pass
    blas = ", ".join(
        sorted(
            {
                f"{i['internal_api']} {i['version']} ({i['num_threads']} threads)"
                for i in threadpool_info()
                if i["user_api"] == "blas"
            }
        )
    )
    try:
        import numba

        compiled = f"numba {numba.__version__}"
    except ImportError:
        compiled = "no numba (NumPy kernels only)"
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}; Linux {platform.release()}; "
        f"Python {platform.python_version()}, NumPy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}, {compiled}; BLAS: {blas}"
    )


def _cell(column, value):
    if value == "" or (isinstance(value, float) and np.isnan(value)):
        return ""
    if column == "peak memory":
        return f"{100 * value:.1f}%"
    if column.endswith("seconds"):
        return f"{value:.4f}"
    if column.endswith("error"):
        return f"{value:.1e}"
    if isinstance(value, float):
        return f"{value:.2f}x"
    return str(value)


def _columns(rows):
    order = [
        "case",
        "seconds",
        "vs scikit-learn",
        "dask-ml seconds",
        "vs dask-ml",
        "PyTorch seconds",
        "vs PyTorch",
        "vs floor",
        "float32 speed-up",
        "peak memory",
    ]
    present = {k for r in rows for k in r}
    return [c for c in order if c in present] + sorted(present - set(order))


def markdown_table(rows):
    columns = _columns(rows)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        cells = [_cell(c, r.get(c, "")) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def rst_table(rows):
    columns = _columns(rows)
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for cells in [columns] + [[_cell(c, r.get(c, "")) for c in columns] for r in rows]:
        lines.append(f"   * - {cells[0]}")
        lines += [f"     - {cell}" if cell else "     -" for cell in cells[1:]]
    return "\n".join(lines)


RST_INTRO = """\
Benchmarks
==========

Produced by ``{command}`` on the machine below; every figure is the median of
several repetitions measured in the same run. The times a ratio divides are
taken in alternating rounds, so the drift of a shared machine does not enter it.
For the scalers, skprep's calls on both dtypes take turns with the floors, and
each takes turns with scikit-learn's in rounds of its own: a reference's large
temporaries, once freed, slow the calls after them on a virtual machine.

- ``vs scikit-learn``: scikit-learn's time divided by skprep's (above 1: skprep
  is faster). The reference is the estimator a user would otherwise pick:
  ``StandardScaler``/``MinMaxScaler``, ``PCA`` with the matching ``svd_solver``,
  ``PCA(whiten=True)``.
- ``vs floor``: skprep's time divided by a hardware floor measured in the same
  run, one read pass ``X.sum(axis=0)`` for ``fit`` and one copy into an existing
  array ``np.copyto`` for ``transform`` (both single-threaded NumPy). A
  ``copy=True`` transform must also allocate its output; the kernel's page
  faults on that new memory are the difference between the ``np.copyto`` and
  ``X.copy()`` floor rows.
- ``vs dask-ml``: dask-ml's time divided by skprep's on the same 2-worker
  ``LocalCluster`` and the same persisted blocks; there the floor is one Dask
  reduction reading every block once, ``X.sum(axis=0).compute()``.
- ``vs PyTorch`` (nn): skprep's forward+backward time divided by PyTorch CPU's
  for the same layer, shape and dtype, PyTorch on two threads
  (``torch.set_num_threads(2)``); below 1 means skprep is faster. PyTorch is
  optional: without it the column is empty. The nn ``vs floor`` is in units of
  one elementwise pass ``np.multiply(x, 1, out=buffer)``.
- ``float32 speed-up``: the float64 time of the same case divided by the float32
  time.
- ``peak memory``: the largest amount of memory allocated during the call
  (tracemalloc), as a fraction of the input; a ``copy=True`` transform's output
  alone is 100%.
- The statistics and transforms run on threads over row chunks (as many as
  scikit-learn gives its OpenMP code: the cores here); scikit-learn's scalers
  are single-threaded, its PCA uses the multi-threaded BLAS.
- With numba installed (the ``fast`` extra; the test extra installs it too),
  means, variances and the scalers' transforms run compiled single-pass
  kernels; the ``(kernels='numpy')`` row is the same fit on the NumPy passes.
  The machine line says whether numba was there.

Machine: {machine}

Reproduce with ``pip install -e .[test] dask-ml`` (dask-ml only for the Dask
rows) then ``{command}`` (about ten minutes on two cores; ``--quick`` for a smoke
run).
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument(
        "--only", default=",".join(SUITES), help="comma-separated suites"
    )
    parser.add_argument("--write", metavar="PATH", help="also write a markdown report")
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help="also write docs/benchmarks.rst (and docs/benchmarks.md)",
    )
    args = parser.parse_args(argv)
    if importlib.util.find_spec("numba") is not None:
        # The compiled kernels in their steady state: the default "auto" loads
        # them once a process has spent a second in the NumPy passes, which the
        # first rounds here would otherwise straddle. bench_cold.py measures the
        # first fit of a fresh process.
        os.environ.setdefault("SKPREP_KERNELS", "numba")
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = set(names) - set(SUITES)
    if unknown:
        parser.error(f"unknown suites {sorted(unknown)}; choose from {list(SUITES)}")
    command = " ".join(["python benchmarks/run.py", *(argv or sys.argv[1:])])
    described = machine()
    print(f"Machine: {described}")
    results = []
    for name in names:
        rows = run_suite(name, args.quick)
        if rows:
            print(f"\n## {name}\n{markdown_table(rows)}", flush=True)
            results.append((name, rows))
    markdown = [f"# Benchmarks\n\nProduced by `{command}`.\n\nMachine: {described}\n"]
    markdown += [f"## {name}\n\n{markdown_table(rows)}\n" for name, rows in results]
    if args.write:
        Path(args.write).write_text("\n".join(markdown))
    if args.write_docs:
        rst = [RST_INTRO.format(command=command, machine=described)]
        for name, rows in results:
            rst += [f"{name}\n{'-' * len(name)}\n", rst_table(rows), ""]
        (DOCS / "benchmarks.rst").write_text("\n".join(rst))
        (DOCS / "benchmarks.md").write_text("\n".join(markdown))


if __name__ == "__main__":
    main()
