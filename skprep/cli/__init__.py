"""The ``skprep`` command: fit a transformer on a training table, apply it to others.

Run ``skprep --help`` for the options. With no input paths it fits the chosen
transformer on the training part of a bundled dataset and prints a before/after
report for the training and the held-out part.

Exit statuses: 0 success, 1 a data, file or model error, 2 a command line that
cannot be carried out, 130 interrupted (Ctrl-C). Every error is one line on
stderr, ``skprep: error: ...``.
"""

import argparse
import ast
import functools
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone

from .. import __version__
from .._compat import validate_params
from ..datasets import list_datasets
from . import _models, _report, _tables
from ._errors import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CLIError,
    UsageError,
    one_line,
)
from ._progress import Progress, tqdm_missing_note

__all__ = ["build_parser", "main"]

_DESCRIPTION = """\
Fit a transformer on a training table and apply it to other tables. The
statistics come from the training table only. Inputs are CSV or TSV files (also
gzip, bz2 or zip compressed) or Parquet files.

Every run says which columns it transforms and which pass through, and why. By
default every numeric column is transformed; --columns and --exclude choose
(names or glob patterns), and a chosen column that is not numeric is an error.
Outputs are written as <name>.transformed.<ext>, complete or not at all, with
the input's columns in their order; existing files are kept unless --overwrite.
Fitted transformers are saved in the skops format and loaded trusting only the
types skprep writes.

With no --train path, the transformer is fitted on the training part of a bundled
dataset and a report compares the training and held-out parts before and after.

exit status: 0 success, 1 data, file or model error, 2 usage error,
130 interrupted (Ctrl-C)."""

_EPILOG = """\
examples:
  skprep                                        demo on the bundled wine data
  skprep --describe Whitening                   a method's parameters
  skprep --method Whitening --param method=zca  another transformer, one parameter
  skprep --train train.csv --apply test.csv --save-model model.skops
  skprep --train t.csv --apply a.csv --columns 'x_*' --exclude x_id
  skprep --load-model model.skops --apply new.parquet --output-dir out/
  skprep --train big.csv.gz --apply big.csv.gz --chunksize 100000
"""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (its default prints the usage too)."""

    def error(self, message):
        self.exit(
            EXIT_USAGE, f"skprep: error: {one_line(message)} (see skprep --help)\n"
        )


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number of rows, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive number of rows: {value}")
    return value


def _char(text):
    text = {"\\t": "\t", "tab": "\t"}.get(text, text)
    if len(text) != 1:
        raise argparse.ArgumentTypeError(f"expected one character, got {text!r}")
    return text


def build_parser():
    """The argument parser of the ``skprep`` command (used for the docs too)."""
    parser = _Parser(
        prog="skprep",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"skprep {__version__}")
    method = parser.add_argument_group("the transformer")
    method.add_argument(
        "--method",
        help="transformer to fit, by class name (case and - or _ ignored); "
        "see --list-methods (default: ZScoreScaler)",
    )
    method.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a parameter of the transformer; VALUE is read as a Python "
        "literal when it is one (3, 0.5, (-1, 1), None, True), else as a string",
    )
    method.add_argument(
        "--list-methods", action="store_true", help="list the transformers"
    )
    method.add_argument(
        "--describe",
        metavar="METHOD",
        help="list a transformer's parameters with their defaults and exit",
    )
    files = parser.add_argument_group("tables")
    files.add_argument("--train", metavar="PATH", help="training table")
    files.add_argument(
        "--apply",
        metavar="PATH",
        nargs="+",
        default=[],
        help="tables to transform with the fitted transformer",
    )
    files.add_argument(
        "--columns",
        metavar="NAME",
        nargs="+",
        action="extend",
        help="transform only these columns of the training table (names or glob "
        "patterns such as 'x_*'); each must be numeric",
    )
    files.add_argument(
        "--exclude",
        metavar="NAME",
        nargs="+",
        action="extend",
        help="pass these columns through untransformed (names or glob patterns)",
    )
    files.add_argument(
        "--sep",
        type=_char,
        metavar="CHAR",
        help="CSV field separator (default: tab for .tsv, else ',', ';' or tab, "
        "whichever the header line holds most)",
    )
    files.add_argument(
        "--decimal",
        type=_char,
        metavar="CHAR",
        default=".",
        help="decimal mark of CSV numbers, e.g. ',' (default: '.')",
    )
    files.add_argument(
        "--thousands",
        type=_char,
        metavar="CHAR",
        help="thousands separator of CSV numbers, e.g. ',' (default: none)",
    )
    files.add_argument(
        "--chunksize",
        type=_positive_int,
        metavar="ROWS",
        help="read tables this many rows at a time, so a table larger than memory "
        "can be processed; the output is the same as without it",
    )
    outputs = parser.add_argument_group("outputs and models")
    outputs.add_argument(
        "--output-dir",
        metavar="DIR",
        help="where transformed tables go (default: the current directory)",
    )
    outputs.add_argument(
        "--overwrite",
        action="store_true",
        help="replace existing output and model files (default: refuse)",
    )
    outputs.add_argument(
        "--save-model",
        metavar="PATH",
        help="save the fitted transformer in the skops format (name it .skops)",
    )
    outputs.add_argument(
        "--load-model",
        metavar="PATH",
        help="apply a saved transformer instead of fitting one",
    )
    outputs.add_argument(
        "--trust-pickle",
        action="store_true",
        help="let --load-model read a pickle/joblib file; unpickling runs any code "
        "the file's author put in it",
    )
    outputs.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print nothing but errors (no report, no progress bar)",
    )
    demo = parser.add_argument_group("the demo (no --train)")
    demo.add_argument(
        "--dataset",
        default="wine",
        choices=list_datasets(),
        help="bundled dataset for the run without --train (default: wine)",
    )
    demo.add_argument(
        "--test-size",
        type=float,
        default=0.25,
        help="held-out fraction of the bundled dataset (default: 0.25)",
    )
    return parser


def main(argv=None):
    """Run the command line; return the exit status.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        0 on success, 1 for a data, file or model error, 2 for a usage error,
        130 when interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        return exc.code
    try:
        with warnings.catch_warnings():
            # Library warnings become one-line notes (none with --quiet), never
            # Python's two lines with a source line of skprep's code.
            warnings.simplefilter("ignore" if args.quiet else "default")
            warnings.showwarning = _note
            return _dispatch(args)
    except UsageError as exc:
        _error(f"{exc} (see skprep --help)")
        return EXIT_USAGE
    except CLIError as exc:
        _error(str(exc))
        return EXIT_ERROR
    except BrokenPipeError:
        # The reader of stdout went away (``skprep ... | head``): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
    except KeyboardInterrupt:
        _error("interrupted; no output file was left half-written", prefix="")
        return EXIT_INTERRUPTED
    except (ValueError, TypeError, OSError, KeyError) as exc:
        # What the transformers and the file system say about bad values or paths.
        _error(str(exc) or type(exc).__name__)
        return EXIT_ERROR


def _note(message, category, *_):
    sys.stdout.flush()
    print(f"skprep: note: {one_line(message)}", file=sys.stderr, flush=True)


def _error(message, prefix="error: "):
    sys.stdout.flush()
    print(f"skprep: {prefix}{one_line(message)}", file=sys.stderr, flush=True)


class _Say:
    """Prints the run's report to stdout, or nothing with --quiet."""

    def __init__(self, quiet):
        self.quiet = quiet

    def __call__(self, text=""):
        if not self.quiet:
            print(text, flush=True)


def _dispatch(args):
    say = _Say(args.quiet)
    if args.list_methods:
        for name, cls in _report.transformers().items():
            print(f"{name:<24} {_report.summary_line(cls)}")
        return EXIT_OK
    if args.describe:
        print(_report.describe(_find_method(args.describe, "--describe")))
        return EXIT_OK
    _check_usage(args)
    note = tqdm_missing_note(not args.quiet)
    if note and (args.train or args.load_model):
        print(note, file=sys.stderr)
    if not args.train and not args.load_model:
        return _run_demo(args, _make_estimator(args.method, args.param), say)
    return _run_files(args, say)


# What --load-model refuses: it applies a saved transformer as it is.
_FIT_OPTIONS = "--train --method --param --columns --exclude --save-model".split()
# What concerns only --train/--apply tables: the demo refuses it.
_TABLE_OPTIONS = (
    "--columns --exclude --chunksize --output-dir --sep --thousands --decimal".split()
)


@functools.cache
def _defaults():
    return vars(build_parser().parse_args([]))


def _given(args, options):
    """Those of ``options`` (as spelled on the command line) that ``args`` sets
    to something other than the option's default."""
    dests = {option: option.lstrip("-").replace("-", "_") for option in options}
    defaults = _defaults()
    return [
        option
        for option, dest in dests.items()
        if getattr(args, dest) != defaults[dest]
    ]


def _check_usage(args):
    """Refuse contradictory or incomplete command lines before any work."""
    if args.load_model:
        conflicts = _given(args, _FIT_OPTIONS)
        if conflicts:
            raise UsageError(
                f"--load-model applies a saved transformer as it is; drop "
                f"{', '.join(conflicts)}"
            )
        if not args.apply:
            raise UsageError("--load-model needs tables to --apply it to")
    elif args.trust_pickle:
        raise UsageError("--trust-pickle only concerns --load-model")
    if args.train and not args.apply and not args.save_model:
        raise UsageError(
            "--train without --apply or --save-model has nothing to write; add "
            "--apply TABLE ... or --save-model PATH.skops"
        )
    if not args.train and not args.load_model:
        if args.apply:
            raise UsageError("--apply needs a --train table or a --load-model file")
        table_only = _given(args, _TABLE_OPTIONS)
        if table_only:
            raise UsageError(
                f"{', '.join(table_only)} concern --train/--apply tables; the demo "
                "on bundled data takes none"
            )
    # A thousands separator may equal the field separator: such numbers are quoted.
    for option, char in (("--sep", args.sep), ("--thousands", args.thousands)):
        if char == args.decimal:
            raise UsageError(
                f"{option} and --decimal are both {char!r}; they must differ"
            )
    if args.save_model:
        _models.check_save_path(args.save_model)


# --- choosing and configuring the transformer -----------------------------------------


def _canonical(name):
    return name.replace("-", "").replace("_", "").lower()


def _find_method(method, option):
    found = {_canonical(name): cls for name, cls in _report.transformers().items()}
    cls = found.get(_canonical(method))
    if cls is None:
        raise UsageError(
            f"{option}: unknown method {method!r}; choose one of: "
            f"{', '.join(_report.transformers())}"
        )
    return cls


def _make_estimator(method, params):
    cls = _find_method(method or "ZScoreScaler", "--method")
    estimator = cls()
    valid = estimator.get_params(deep=False)
    settings = {}
    for item in params:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--param expects KEY=VALUE, got {item!r}")
        if key not in valid:
            raise UsageError(
                f"{cls.__name__} has no parameter {key!r}; valid parameters: "
                f"{', '.join(sorted(valid)) or '(none)'} (skprep --describe "
                f"{cls.__name__})"
            )
        settings[key] = _parse_value(text)
    estimator.set_params(**settings)
    try:
        # scikit-learn's parameter constraints, checked now rather than by fit
        # after the whole table has been read.
        validate_params(estimator)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"--param: {one_line(exc)}") from None
    return estimator


def _parse_value(text):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


# --- runs on files --------------------------------------------------------------------


def _run_files(args, say):
    # Everything that can be checked without the data is checked before the fit:
    # the inputs, the extras they need, and where every output will go.
    options = dict(sep=args.sep, decimal=args.decimal, thousands=args.thousands)
    train_fmt = _tables.table_format(args.train, **options) if args.train else None
    inputs = [(Path(p), _tables.table_format(p, **options)) for p in args.apply]
    for path, fmt in [(args.train, train_fmt), *inputs]:
        if fmt is not None and fmt.kind == "parquet":
            _tables.require_pyarrow(path)
    if args.save_model:
        _models.require_skops("--save-model")
    targets = _plan_outputs(args, inputs)

    if args.load_model:
        estimator = _models.load_model(args.load_model, args.trust_pickle)
        say(f"loaded {type(estimator).__name__} from {args.load_model}")
    else:
        estimator = _make_estimator(args.method, args.param)
        if args.chunksize is not None:
            width = len(_tables.read_header(Path(args.train), train_fmt))
            streams = _streams(estimator, width)
            if streams is not True:
                raise UsageError(
                    f"--chunksize: {type(estimator).__name__} cannot be fitted in "
                    f"chunks: {streams.rstrip('.')}; drop --chunksize"
                )
        _fit_file(estimator, Path(args.train), train_fmt, args, say)
        if args.save_model:
            with _tables.atomic_output(args.save_model, args.overwrite) as temporary:
                _models.save_model(estimator, temporary)
            say(f"saved the fitted transformer to {args.save_model}")

    for (path, fmt), target in zip(inputs, targets, strict=True):
        _transform_file(estimator, path, fmt, target, args, say)
    return EXIT_OK


def _plan_outputs(args, inputs):
    """Where each input's output goes; refuse clashes and existing files."""
    folder = Path(args.output_dir or ".")
    if inputs:
        _check_folder("--output-dir", folder, folder)
    if args.save_model:
        _check_folder("--save-model", args.save_model, Path(args.save_model).parent)
    targets = [folder / _tables.output_name(p, fmt) for p, fmt in inputs]
    resolved = {}
    given = {}
    for i, text in enumerate(args.apply):
        first = given.setdefault(Path(text).resolve(), i)
        if first != i:
            same = args.apply[first]
            twice = text if same == text else f"{same} and {text}"
            raise UsageError(f"--apply: {twice} given twice; give each table once")
    for (path, _), target in zip(inputs, targets, strict=True):
        key = target.resolve()
        if key in resolved:
            raise CLIError(
                f"{resolved[key]} and {path} would both be written to {target}; "
                "apply them in separate runs with different --output-dir"
            )
        resolved[key] = path
    reads = {Path(p).resolve() for p in [args.train, *args.apply] if p}
    if args.load_model:
        reads.add(Path(args.load_model).resolve())
    writes = list(targets) + ([Path(args.save_model)] if args.save_model else [])
    for target in writes:
        if target.resolve() in reads:
            raise CLIError(f"{target}: is an input of this run; not overwriting it")
        if not args.overwrite and target.exists():
            raise CLIError(f"{target}: exists; pass --overwrite to replace it")
    if args.save_model and Path(args.save_model).resolve() in resolved:
        raise CLIError(f"{args.save_model}: is also an output table of this run")
    return targets


def _check_folder(option, given, folder):
    """Refuse a folder that cannot be made or written in; a missing one is made
    when its first file is written, for --output-dir and --save-model alike."""
    folder = Path(folder)
    for existing in [folder, *folder.parents]:
        if existing.exists():
            break
    if not existing.is_dir():
        raise CLIError(f"{option} {given}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CLIError(f"{option} {given}: no permission to write in {existing}")


def _report_plan(say, plan, role):
    rows = f"{plan.rows:,} rows, " if plan.rows is not None else ""
    say(f"{plan.path} ({role}): {rows}{len(plan.columns)} columns")
    decimals = [
        c
        for c in plan.chosen
        if plan.scans.get(c) is not None and plan.scans[c].decimal
    ]
    note = f" (decimal, read as float64: {', '.join(decimals)})" if decimals else ""
    say(f"  transformed ({len(plan.chosen)}): {', '.join(plan.chosen)}{note}")
    if plan.passed:
        say(f"  passed through ({len(plan.passed)}):")
        for name, why in plan.passed.items():
            say(f"    {name}: {why}")


def _fit_file(estimator, path, fmt, args, say):
    method = type(estimator).__name__
    with Progress(f"reading {path.name}", not args.quiet) as bar:
        names, scans, rows = _tables.scan_table(path, fmt, args.chunksize, bar)
    plan = _tables.plan_training_table(
        path, fmt, names, scans, rows, args.columns or [], args.exclude or []
    )
    _report_plan(say, plan, "training")
    allow_nan = _report.accepts_nan(estimator)
    nan_methods = () if allow_nan else _report.nan_methods()
    first_missing = {
        c: scans[c].first_missing for c in plan.chosen if scans[c].first_missing
    }
    if first_missing and not allow_nan:
        # From the pass over the whole table: every column with gaps, not only
        # those of the first block that has one.
        raise CLIError(
            _tables.missing_message(path, first_missing, method, nan_methods)
        )
    # Refused before any read when --chunksize is given (see _run_files).
    streams = args.chunksize is not None or _streams(estimator, len(plan.chosen))
    started = time.monotonic()
    with Progress(f"fitting {path.name}", not args.quiet) as bar:
        chunks = _tables.read_chunks(plan, args.chunksize, bar)
        n_rows = _tables.block_rows(len(plan.chosen))
        if streams is True:
            for start, block in _tables.blocks(chunks, n_rows):
                _tables.check_values(
                    path, block, start, plan.chosen, allow_nan, method, nan_methods
                )
                estimator.partial_fit(block[plan.chosen])
        else:
            frame = pd.concat([chunk[plan.chosen] for _, chunk in chunks])
            _tables.check_values(
                path, frame, 0, plan.chosen, allow_nan, method, nan_methods
            )
            estimator.fit(frame)
    say(
        f"fitted {method} on {path} ({plan.rows:,} rows) in "
        f"{time.monotonic() - started:.1f} s"
    )
    return plan


def _streams(estimator, n_features):
    """True if fitting block by block gives ``fit``'s model, else why not.

    The moments-based estimators merge exact statistics, so their
    ``partial_fit`` over blocks is ``fit``; the others (mini-batch training, or
    a solver that needs every row) are fitted on the whole table.
    """
    from .._base import MomentsEstimator

    if not hasattr(estimator, "partial_fit"):
        return "it has no partial_fit"
    if not isinstance(estimator, MomentsEstimator):
        return "its partial_fit trains on mini-batches, which is not the same fit"
    # A small probe finds the settings under which partial_fit is refused (an
    # SVD solver, Ledoit-Wolf shrinkage) before any data is read; its width is
    # capped because those refusals do not depend on it.
    n_features = max(1, min(n_features, 16))
    probe = np.random.default_rng(0).normal(size=(n_features + 2, n_features))
    try:
        clone(estimator).partial_fit(probe)
    except (ValueError, TypeError) as exc:
        try:
            clone(estimator).fit(probe)
        except (ValueError, TypeError):
            return True  # not about chunks (e.g. n_components); the real fit says
        return one_line(exc)
    return True


def _transform_file(estimator, path, fmt, target, args, say):
    method = type(estimator).__name__
    names = _tables.read_header(path, fmt)
    model_columns = [str(c) for c in estimator.feature_names_in_]
    plan = _tables.plan_from_model(path, fmt, names, model_columns)
    names_out = [str(c) for c in estimator.get_feature_names_out()]
    spec = _tables.layout(plan.columns, plan.chosen, names_out)
    _report_plan(say, plan, "to transform")
    allow_nan = _report.accepts_nan(estimator)
    nan_methods = _report.nan_methods() if not allow_nan else ()
    # Pass-through columns keep their header cells; new columns have new names.
    renamed = {
        name: cell
        for name, cell in _tables.header_as_written(path, fmt, names).items()
        if name not in plan.chosen or names_out == plan.chosen
    }
    member = target.name.removesuffix(".zip")
    started = time.monotonic()
    rows = 0
    with (
        _tables.atomic_output(target, args.overwrite) as temporary,
        Progress(f"transforming {path.name}", not args.quiet) as bar,
        _tables.TableWriter(temporary, fmt, member, renamed) as writer,
    ):
        chunks = _tables.read_chunks(plan, args.chunksize, bar)
        n_rows = _tables.block_rows(len(plan.chosen))
        for start, block in _tables.blocks(chunks, n_rows):
            _tables.check_values(
                path, block, start, plan.chosen, allow_nan, method, nan_methods
            )
            values = np.asarray(estimator.transform(block[plan.chosen]))
            writer.write(_tables.assemble(block, values, spec))
            rows += len(block)
    say(f"wrote {target} ({rows:,} rows) in {time.monotonic() - started:.1f} s")


# --- the demo -------------------------------------------------------------------------


def _run_demo(args, estimator, say):
    from .. import datasets

    if args.save_model:
        _models.require_skops("--save-model")
        _check_folder("--save-model", args.save_model, Path(args.save_model).parent)
        if not args.overwrite and Path(args.save_model).exists():
            raise CLIError(f"{args.save_model}: exists; pass --overwrite to replace it")
    loader = getattr(datasets, f"load_{args.dataset}")
    X_train, X_test, _, _ = loader(as_frame=True, split=True, test_size=args.test_size)
    estimator.fit(X_train)
    names_out = list(estimator.get_feature_names_out())
    say(
        f"skprep {__version__}: {type(estimator).__name__} fitted on the training part "
        f"of the bundled {args.dataset!r} data ({X_train.shape[0]} rows, "
        f"{X_train.shape[1]} features); held-out part: {X_test.shape[0]} rows.\n"
        "Statistics are learned from the training rows only."
    )
    for title, frame in (("train", X_train), ("test (held out)", X_test)):
        after = estimator.transform(frame)
        for line in _report.report(title, frame, after, list(frame.columns), names_out):
            say(line)
    if args.save_model:
        with _tables.atomic_output(args.save_model, args.overwrite) as temporary:
            _models.save_model(estimator, temporary)
        say(f"\nsaved the fitted transformer to {args.save_model}")
    return EXIT_OK
