"""The ``skprep`` command: fit a transformer on a training table, apply it to others.

Run ``skprep --help`` for the options. With no input paths it fits the chosen
transformer on the training part of a bundled dataset and prints a before/after
report for the training and the held-out part.
"""

import argparse
import ast
import os
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from . import __version__
from ._moments import moments
from .datasets import list_datasets
from .utils import all_estimators

__all__ = ["main"]

_DESCRIPTION = """\
Fit a transformer on a training table and apply it to other tables. The
statistics come from the training table only. Inputs are CSV or Parquet files;
numeric columns are transformed, other columns pass through untouched (at their
original positions when the transformer maps each column to one column, otherwise
ahead of the transformed columns). Outputs are written as <name>.transformed.<ext>
and the fitted transformer can be saved with joblib and applied later.

With no --train path, the transformer is fitted on the training part of a bundled
dataset and a report compares the training and held-out parts before and after."""

_EPILOG = """\
examples:
  skprep                                        demo on the bundled wine data
  skprep --method Whitening --param method=zca  another transformer, one parameter
  skprep --train train.csv --apply test.csv --save-model model.joblib
  skprep --load-model model.joblib --apply new.parquet --output-dir out/
  skprep --train big.csv --apply big.csv --chunksize 100000   larger than memory
"""

_REPORT_FEATURES = 12


class CLIError(Exception):
    """A user error: reported on one line, exit status 1."""


def main(argv=None):
    """Run the command line; return the exit status.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.list_methods:
            _print_methods()
            return 0
        return _run(args)
    except CLIError as exc:
        print(f"skprep: error: {exc}", file=sys.stderr)
        return 1
    except (ValueError, TypeError, OSError, KeyError) as exc:
        print(f"skprep: error: {exc}", file=sys.stderr)
        return 1


def build_parser():
    """The argument parser of the ``skprep`` command (used for the docs too)."""
    parser = argparse.ArgumentParser(
        prog="skprep",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"skprep {__version__}")
    parser.add_argument(
        "--method",
        default="ZScoreScaler",
        help="transformer to fit, by class name (case and - or _ ignored); "
        "see --list-methods (default: ZScoreScaler)",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a parameter of the transformer; VALUE is read as a Python "
        "literal when it is one (3, 0.5, (-1, 1), None, True), else as a string",
    )
    parser.add_argument(
        "--list-methods", action="store_true", help="list the transformers"
    )
    parser.add_argument(
        "--train", metavar="PATH", help="training table (CSV or Parquet)"
    )
    parser.add_argument(
        "--apply",
        metavar="PATH",
        nargs="+",
        default=[],
        help="tables to transform with the fitted transformer",
    )
    parser.add_argument(
        "--output-dir",
        metavar="DIR",
        help="where transformed tables go (default: the current directory)",
    )
    parser.add_argument(
        "--save-model", metavar="PATH", help="save the fitted transformer"
    )
    parser.add_argument(
        "--load-model",
        metavar="PATH",
        help="apply a saved transformer instead of fitting",
    )
    parser.add_argument(
        "--chunksize",
        type=int,
        metavar="ROWS",
        help="read tables in chunks of this many rows; fitting then uses partial_fit, "
        "so a table larger than memory can be processed",
    )
    parser.add_argument(
        "--dataset",
        default="wine",
        choices=list_datasets(),
        help="bundled dataset for the run without --train (default: wine)",
    )
    parser.add_argument(
        "--test-size",
        type=float,
        default=0.25,
        help="held-out fraction of the bundled dataset (default: 0.25)",
    )
    return parser


# --- choosing and configuring the transformer --------------------------------------


def _canonical(name):
    return name.replace("-", "").replace("_", "").lower()


def _transformers():
    return dict(all_estimators("transformer"))


def _print_methods():
    for name, cls in _transformers().items():
        summary = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        print(f"{name:<24} {summary}")


def _make_estimator(method, params):
    by_key = {_canonical(name): cls for name, cls in _transformers().items()}
    cls = by_key.get(_canonical(method))
    if cls is None:
        raise CLIError(
            f"unknown method {method!r}; choose one of: {', '.join(_transformers())}"
        )
    estimator = cls()
    valid = estimator.get_params(deep=False)
    settings = {}
    for item in params:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CLIError(f"--param expects KEY=VALUE, got {item!r}")
        if key not in valid:
            raise CLIError(
                f"{cls.__name__} has no parameter {key!r}; valid parameters: "
                f"{', '.join(sorted(valid)) or '(none)'}"
            )
        settings[key] = _parse_value(text)
    return estimator.set_params(**settings)


def _parse_value(text):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


# --- reading and writing tables ----------------------------------------------------


def _check_format(path):
    suffix = Path(path).suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise CLIError(f"{path}: expected a .csv or .parquet file")
    if not Path(path).is_file():
        raise CLIError(f"{path}: no such file")
    return "csv" if suffix == ".csv" else "parquet"


def _read_table(path):
    kind = _check_format(path)
    frame = pd.read_csv(path) if kind == "csv" else pd.read_parquet(path)
    if frame.shape[0] == 0:
        raise CLIError(f"{path}: the table has no rows")
    return frame


def _iter_chunks(path, chunksize, progress):
    """Yield DataFrame chunks of ``path`` and report progress by bytes read."""
    kind = _check_format(path)
    size = max(os.path.getsize(path), 1)
    if kind == "csv":
        with open(path, "rb") as handle:
            for chunk in pd.read_csv(handle, chunksize=chunksize):
                progress(min(handle.tell() / size, 1.0))
                yield chunk
    else:
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        total = max(parquet.metadata.num_rows, 1)
        done = 0
        for batch in parquet.iter_batches(batch_size=chunksize):
            done += batch.num_rows
            progress(done / total)
            yield batch.to_pandas()
    progress(1.0)


def _numeric_columns(frame):
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    numeric = [c for c in numeric if not pd.api.types.is_bool_dtype(frame[c])]
    if not numeric:
        raise CLIError("the table has no numeric columns to transform")
    return numeric


def _output_path(path, output_dir):
    path = Path(path)
    folder = Path(output_dir) if output_dir else Path.cwd()
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{path.stem}.transformed{path.suffix}"


class _TableWriter:
    """Write a table whole or chunk by chunk, as CSV or Parquet by file name."""

    def __init__(self, path):
        self.path = Path(path)
        self._parquet = None
        self._started = False

    def write(self, frame):
        if self.path.suffix.lower() == ".csv":
            frame.to_csv(
                self.path,
                mode="a" if self._started else "w",
                index=False,
                header=not self._started,
            )
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, table.schema)
            self._parquet.write_table(table)
        self._started = True

    def close(self):
        if self._parquet is not None:
            self._parquet.close()


# --- applying a fitted transformer to a table ---------------------------------------


def _apply(estimator, frame):
    """Transform the numeric columns the estimator was fitted on; keep the rest."""
    columns = list(getattr(estimator, "feature_names_in_", []))
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise CLIError(f"the table lacks the training columns {missing}")
    others = [c for c in frame.columns if c not in columns]
    values = estimator.transform(frame[columns])
    names = list(estimator.get_feature_names_out())
    out = pd.DataFrame(np.asarray(values), columns=names, index=frame.index)
    if names == columns:
        for name in others:
            out.insert(list(frame.columns).index(name), name, frame[name])
        return out
    return pd.concat([frame[others], out], axis=1)


def _progress_bar(label):
    if not sys.stderr.isatty():
        return lambda fraction: None

    def show(fraction):
        filled = int(30 * fraction)
        sys.stderr.write(
            f"\r{label:<28} [{'#' * filled}{'.' * (30 - filled)}] {fraction:4.0%}"
        )
        if fraction >= 1.0:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def _fit(estimator, path, chunksize):
    if chunksize is None:
        frame = _read_table(path)
        estimator.fit(frame[_numeric_columns(frame)])
        return estimator
    if not hasattr(estimator, "partial_fit"):
        raise CLIError(
            f"{type(estimator).__name__} has no partial_fit, so it needs the whole "
            "training table at once; drop --chunksize"
        )
    seen = False
    for chunk in _iter_chunks(
        path, chunksize, _progress_bar(f"fitting {Path(path).name}")
    ):
        estimator.partial_fit(chunk[_numeric_columns(chunk)])
        seen = True
    if not seen:
        raise CLIError(f"{path}: the table has no rows")
    return estimator


def _transform_file(estimator, path, output_dir, chunksize):
    target = _output_path(path, output_dir)
    writer = _TableWriter(target)
    try:
        if chunksize is None:
            writer.write(_apply(estimator, _read_table(path)))
        else:
            bar = _progress_bar(f"transforming {Path(path).name}")
            for chunk in _iter_chunks(path, chunksize, bar):
                writer.write(_apply(estimator, chunk))
    finally:
        writer.close()
    return target


# --- the report -----------------------------------------------------------------------


def _summary(values, names):
    stats = moments(np.asarray(values, dtype=np.float64), var=True, minmax=True)
    return pd.DataFrame(
        {
            "mean": stats.observed_mean(),
            "std": np.sqrt(stats.variance(ddof=0)),
            "min": stats.minimum,
            "max": stats.maximum,
        },
        index=names,
    )


def _print_report(title, before, after, names_in, names_out):
    print(f"\n{title}")
    for label, table in (
        ("before", _summary(before, names_in)),
        ("after", _summary(after, names_out)),
    ):
        shown = table.head(_REPORT_FEATURES)
        print(f"  {label} ({table.shape[0]} features)")
        text = shown.to_string(float_format=lambda v: f"{v: .4g}")
        print("\n".join("    " + line for line in text.splitlines()))
        if table.shape[0] > _REPORT_FEATURES:
            print(f"    ... {table.shape[0] - _REPORT_FEATURES} more")


def _run_demo(args, estimator):
    from . import datasets

    loader = getattr(datasets, f"load_{args.dataset}")
    X_train, X_test, _, _ = loader(as_frame=True, split=True, test_size=args.test_size)
    estimator.fit(X_train)
    names_out = list(estimator.get_feature_names_out())
    print(
        f"skprep {__version__}: {type(estimator).__name__} fitted on the training part "
        f"of the bundled {args.dataset!r} data ({X_train.shape[0]} rows, "
        f"{X_train.shape[1]} features); held-out part: {X_test.shape[0]} rows.\n"
        "Statistics are learned from the training rows only."
    )
    for title, frame in (("train", X_train), ("test (held out)", X_test)):
        after = estimator.transform(frame)
        _print_report(title, frame, after, list(frame.columns), names_out)
    if args.save_model:
        joblib.dump(estimator, args.save_model)
        print(f"\nsaved the fitted transformer to {args.save_model}")
    return 0


def _run(args):
    if args.chunksize is not None and args.chunksize < 1:
        raise CLIError("--chunksize must be a positive number of rows")
    if args.load_model:
        if args.train:
            raise CLIError("--load-model applies a saved transformer; drop --train")
        if not args.apply:
            raise CLIError("--load-model needs tables to --apply it to")
        estimator = joblib.load(args.load_model)
    else:
        estimator = _make_estimator(args.method, args.param)
        if not args.train:
            if args.apply:
                raise CLIError("--apply needs a --train table (or --load-model)")
            return _run_demo(args, estimator)
        _fit(estimator, args.train, args.chunksize)
        print(f"fitted {type(estimator).__name__} on {args.train}")
        if args.save_model:
            joblib.dump(estimator, args.save_model)
            print(f"saved the fitted transformer to {args.save_model}")
    for path in args.apply:
        target = _transform_file(estimator, path, args.output_dir, args.chunksize)
        print(f"wrote {target}")
    return 0
