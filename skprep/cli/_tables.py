"""Reading and writing tables for the command: formats, column plans, blocks.

A run decides once, from the training table (or from a loaded model), which
columns are transformed; every later read declares those columns as float64 and
reads every other column as it is written, so a run in chunks and a run on the
whole file see the same values. Rows are then fitted and transformed in blocks
cut at the same rows whatever the read size (see :func:`block_rows`), so the two
runs also round alike and write the same bytes.
"""

import bz2
import csv
import gzip
import io
import os
import re
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import (
    is_bool_dtype,
    is_datetime64_any_dtype,
    is_numeric_dtype,
    is_timedelta64_dtype,
)

from ._errors import CLIError

# pandas' documented default ``na_values``. Transformed columns read these as
# missing; pass-through columns keep them as written.
_NA_STRINGS = (
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
)

_COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".zip": "zip"}
_TEXT_SUFFIXES = {".csv": ",", ".tsv": "\t"}
_PARQUET_SUFFIXES = (".parquet", ".pq")
_SEPARATORS = (",", ";", "\t")

# Values per block of rows that is fitted or transformed at once. Its size bounds
# the memory of a block; that it does not follow --chunksize is what makes a
# chunked run round exactly like a whole-file run.
_BLOCK_VALUES = 1 << 16

SUPPORTED = ".csv, .tsv (each also .gz, .bz2 or .zip) or .parquet"


def block_rows(n_features):
    """Rows per block for ``n_features`` transformed columns (at least one)."""
    return max(1, _BLOCK_VALUES // max(1, n_features))


@dataclass(frozen=True)
class TableFormat:
    """How one file is read and how its output is written."""

    kind: str  # "csv" or "parquet"
    suffix: str  # the whole suffix, kept for the output: ".csv.gz", ".parquet"
    compression: str | None = None
    sep: str = ","
    decimal: str = "."
    thousands: str | None = None


def table_format(path, sep=None, decimal=".", thousands=None):
    """Check that ``path`` is a readable table and work out how to read it.

    Raises
    ------
    CLIError
        If the suffix is not a supported format or the file does not exist.
    """
    path = Path(path)
    name = path.name.lower()
    compression = None
    stem_suffix = Path(name).suffix
    if stem_suffix in _COMPRESSIONS:
        compression = _COMPRESSIONS[stem_suffix]
        stem_suffix = Path(name[: -len(stem_suffix)]).suffix
    if stem_suffix in _PARQUET_SUFFIXES and compression is None:
        kind = "parquet"
    elif stem_suffix in _TEXT_SUFFIXES:
        kind = "csv"
    else:
        raise CLIError(f"{path}: not a table skprep reads; expected {SUPPORTED}")
    if not path.is_file():
        raise CLIError(f"{path}: no such file")
    suffix = stem_suffix + ("" if compression is None else Path(name).suffix)
    if kind == "parquet":
        return TableFormat("parquet", suffix)
    if sep is None:
        sep = _TEXT_SUFFIXES[stem_suffix]
        if stem_suffix == ".csv":
            sep = _sniff_separator(path, compression)
    # A thousands separator may equal the field separator: such numbers are quoted.
    if sep == decimal or thousands == decimal:
        raise CLIError(
            f"{path}: the decimal mark {decimal!r} must differ from the separator "
            f"{sep!r} and the thousands separator {thousands!r}"
        )
    return TableFormat("csv", suffix, compression, sep, decimal, thousands)


def _sniff_separator(path, compression):
    """The most frequent of ``,``, ``;`` and tab in the header line; ``,`` if none."""
    with open_binary(path, compression) as (handle, _):
        header = handle.readline(1 << 20).decode("utf-8", errors="replace")
    counts = {sep: _count_unquoted(header, sep) for sep in _SEPARATORS}
    best = max(_SEPARATORS, key=lambda sep: counts[sep])  # ties keep ","
    return best if counts[best] else ","


def _count_unquoted(line, char):
    count, quoted = 0, False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == char and not quoted:
            count += 1
    return count


def output_name(path, fmt):
    """``<stem>.transformed<suffix>``, e.g. ``test.transformed.csv.gz``."""
    name = Path(path).name
    cut = len(name) - len(fmt.suffix)
    return f"{name[:cut]}.transformed{name[cut:]}"


# --- opening files --------------------------------------------------------------------


@contextmanager
def open_binary(path, compression):
    """Yield ``(handle, raw)``: a decompressed binary stream and the file under it.

    ``raw.tell()`` over the file size is how far the reading has come.
    """
    with open(path, "rb") as raw:
        if compression is None:
            yield raw, raw
        elif compression == "gzip":
            with gzip.GzipFile(fileobj=raw, mode="rb") as handle:
                yield handle, raw
        elif compression == "bz2":
            with bz2.BZ2File(raw, "rb") as handle:
                yield handle, raw
        else:
            try:
                archive = zipfile.ZipFile(raw)
            except zipfile.BadZipFile as exc:
                raise CLIError(f"{path}: not a zip archive ({exc})") from None
            with archive:
                members = [m for m in archive.namelist() if not m.endswith("/")]
                if len(members) != 1:
                    raise CLIError(
                        f"{path}: a zipped table must hold exactly one file; "
                        f"it holds {len(members)}"
                    )
                with archive.open(members[0]) as handle:
                    yield handle, raw


def require_pyarrow(path):
    """Import pyarrow for ``path`` or say in one line which extra brings it."""
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise CLIError(
            f"{path}: Parquet needs pyarrow; install it with "
            'pip install "skprep[parquet]"'
        ) from None


def read_header(path, fmt):
    """The column names of a table, in order, without reading its rows."""
    if fmt.kind == "parquet":
        import pyarrow.parquet as pq

        return list(pq.ParquetFile(path).schema_arrow.names)
    with open_binary(path, fmt.compression) as (handle, _):
        try:
            frame = pd.read_csv(handle, sep=fmt.sep, nrows=0)
        except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
            raise CLIError(f"{path}: cannot read the header: {exc}") from None
    return [str(name) for name in frame.columns]


def header_as_written(path, fmt, names):
    """``{pandas name: header cell}`` for a CSV whose header pandas renamed.

    pandas names an empty header cell ``Unnamed: 0`` and a repeated name
    ``a.1``; the output's header keeps the cells as they were.
    """
    if fmt.kind != "csv":
        return {}
    with open_binary(path, fmt.compression) as (handle, _):
        text = io.TextIOWrapper(handle, encoding="utf-8", errors="replace", newline="")
        cells = next(csv.reader(text, delimiter=fmt.sep), [])
        text.detach()
    if len(cells) != len(names):
        return {}
    return {name: cell for name, cell in zip(names, cells, strict=True) if name != cell}


def pandas_index_columns(path, fmt):
    """Names of the columns holding a pandas index saved into a Parquet file."""
    if fmt.kind != "parquet":
        return []
    import pyarrow.parquet as pq

    metadata = pq.read_schema(path).pandas_metadata or {}
    return [c for c in metadata.get("index_columns", []) if isinstance(c, str)]


class _Reader:
    """Chunks of a table and how far the reading has come.

    ``total_rows`` is known up front for Parquet, after the read for a whole
    file, and otherwise from an earlier pass (``known_rows``).
    """

    def __init__(self, path, fmt, chunksize, known_rows=None):
        self.path, self.fmt, self.chunksize = path, fmt, chunksize
        self.total_rows = known_rows
        self._raw = None
        self._size = max(os.path.getsize(path), 1)

    def fraction(self, rows_done):
        if self.total_rows:
            return min(rows_done / self.total_rows, 1.0)
        if self._raw is None or self._raw.closed:
            return 0.0
        return min(self._raw.tell() / self._size, 1.0)

    def csv_chunks(self, **read_kwargs):
        fmt = self.fmt
        kwargs = dict(sep=fmt.sep, decimal=fmt.decimal, thousands=fmt.thousands)
        kwargs.update(read_kwargs)
        with open_binary(self.path, fmt.compression) as (handle, raw):
            self._raw = raw
            try:
                if self.chunksize is None:
                    frame = pd.read_csv(handle, **kwargs)
                    self.total_rows = len(frame)
                    yield frame
                else:
                    with pd.read_csv(handle, chunksize=self.chunksize, **kwargs) as it:
                        yield from it
            except pd.errors.ParserError as exc:
                raise CLIError(f"{self.path}: {_ragged(exc)}") from None

    def parquet_chunks(self, columns=None):
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(self.path)
        self.total_rows = parquet.metadata.num_rows
        if self.chunksize is None:
            batches = [parquet.read(columns=columns)]
        else:
            batches = parquet.iter_batches(batch_size=self.chunksize, columns=columns)
        for batch in batches:
            # ArrowDtype keeps every column's exact type (decimals, timestamps)
            # for the way back to Parquet; a stored pandas index stays a column.
            yield batch.to_pandas(types_mapper=pd.ArrowDtype, ignore_metadata=True)


def _ragged(exc):
    """pandas' message about a row with too many fields, in data rows.

    pandas counts lines from the header (line 1); the command counts data rows
    from 1, as in every other message.
    """
    text = str(exc)
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if found is None:
        return f"cannot read the table: {text.strip()}"
    fields, line, saw = map(int, found.groups())
    return f"row {line - 1} has {saw} fields; the header has {fields}"


# --- deciding the columns -------------------------------------------------------------


@dataclass
class ColumnScan:
    """What a pass over the table learned about one column."""

    name: str
    kind: str = "empty"  # "empty", "numeric", "bool", "dates", "text"
    first_bad: tuple | None = None  # (row, value) of the first non-number
    first_missing: int | None = None
    first_infinite: int | None = None
    decimal: bool = False  # a Parquet decimal column, read as float64
    index: bool = False  # the pandas index stored in a Parquet file


@dataclass
class Plan:
    """The columns of a table: which are transformed, and why the rest are not."""

    path: Path
    fmt: TableFormat
    columns: list
    chosen: list
    passed: dict = field(default_factory=dict)  # name -> reason
    rows: int | None = None
    scans: dict = field(default_factory=dict)


def _to_float(series, fmt):
    """``series`` as float64 and a mask of the entries that are not numbers.

    Missing entries become NaN and are not in the mask.
    """
    missing = series.isna().to_numpy()
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return series.to_numpy(dtype=np.float64), np.zeros(len(series), bool)
    if (
        is_bool_dtype(dtype)
        or is_datetime64_any_dtype(dtype)
        or (
            is_timedelta64_dtype(dtype)
            or (isinstance(dtype, pd.ArrowDtype) and dtype.kind == "m")
        )
    ):
        return np.full(len(series), np.nan), ~missing
    if is_numeric_dtype(dtype):
        if isinstance(dtype, pd.ArrowDtype) and dtype.kind == "O":
            # Decimals: float() of each value rounds correctly; Arrow's cast may not.
            values = np.array(
                [np.nan if pd.isna(v) else float(v) for v in series.tolist()],
                dtype=np.float64,
            )
            return values, np.zeros(len(series), bool)
        return series.to_numpy(dtype=np.float64, na_value=np.nan), np.zeros(
            len(series), bool
        )
    text = series.astype("string")
    if fmt.thousands:
        text = text.str.replace(fmt.thousands, "", regex=False)
    if fmt.decimal != ".":
        text = text.str.replace(fmt.decimal, ".", regex=False)
    values = pd.to_numeric(text, errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    # A blank string is a missing value, as an empty CSV field is.
    blank = text.str.strip().eq("").to_numpy(dtype=bool, na_value=False)
    return values, np.isnan(values) & ~missing & ~blank


def _kind(series, bad):
    dtype = series.dtype
    if is_bool_dtype(dtype):
        return "bool"
    if (
        is_datetime64_any_dtype(dtype)
        or is_timedelta64_dtype(dtype)
        or (isinstance(dtype, pd.ArrowDtype) and dtype.kind == "m")
    ):
        return "dates"
    return "text" if bad.any() else "numeric"


def _scan_chunk(scans, frame, start, fmt):
    for name in frame.columns:
        series = frame[name]
        scan = scans[str(name)]
        if series.isna().all():
            if scan.first_missing is None:
                scan.first_missing = start + 1
            continue
        values, bad = _to_float(series, fmt)
        kind = _kind(series, bad)
        if kind == "numeric":
            if scan.kind == "empty":
                scan.kind = "numeric"
            scan.decimal |= isinstance(series.dtype, pd.ArrowDtype) and (
                series.dtype.kind == "O"
            )
            missing = np.flatnonzero(np.isnan(values))
            if missing.size and scan.first_missing is None:
                scan.first_missing = start + int(missing[0]) + 1
            infinite = np.flatnonzero(np.isinf(values))
            if infinite.size and scan.first_infinite is None:
                scan.first_infinite = start + int(infinite[0]) + 1
        elif scan.first_bad is None:  # the first non-number found decides the kind
            if kind != "text":
                bad = ~series.isna().to_numpy()
            position = int(np.flatnonzero(bad)[0])
            scan.kind = kind
            scan.first_bad = (start + position + 1, series.iloc[position])


def scan_table(path, fmt, chunksize, progress):
    """Read the whole table once and classify every column (:class:`ColumnScan`)."""
    names = read_header(path, fmt)
    scans = {name: ColumnScan(name) for name in names}
    for name in pandas_index_columns(path, fmt):
        scans[name].index = True
    reader = _Reader(path, fmt, chunksize)
    chunks = (
        reader.parquet_chunks()
        if fmt.kind == "parquet"
        else reader.csv_chunks(dtype=None, low_memory=False)
    )
    rows = 0
    for chunk in chunks:
        chunk.columns = [str(c) for c in chunk.columns]
        _scan_chunk(scans, chunk, rows, fmt)
        rows += len(chunk)
        progress.update(rows, reader.fraction(rows))
    return names, scans, rows


def _hint(value, fmt):
    """A hint for a number written with separators the read was not told about."""
    text = str(value)
    if fmt.kind != "csv" or "," not in text:
        return ""
    if fmt.thousands is None and _parses(text.replace(",", "")) and "." in text:
        return " (a thousands separator? try --thousands ,)"
    if fmt.decimal == "." and text.count(",") == 1 and _parses(text.replace(",", ".")):
        return " (a decimal comma? try --decimal , with --sep ;)"
    return ""


def _parses(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def reason(scan, fmt):
    """Why a column is not transformed, in a few words."""
    if scan.kind == "empty":
        return "no values"
    row, value = scan.first_bad
    if scan.kind == "bool":
        return f"true/false values, first at row {row}: {_plain(value)!r}"
    if scan.kind == "dates":
        return f"dates or times, first at row {row}: {str(value)!r}"
    return f"text values, first at row {row}: {str(value)!r}{_hint(value, fmt)}"


def _plain(value):
    """A NumPy scalar as the Python value it holds (``True``, not ``np.True_``)."""
    return value.item() if isinstance(value, np.generic) else value


def _unnamed(name, fmt):
    """pandas names a CSV column whose header cell is empty ``Unnamed: <i>``."""
    return fmt.kind == "csv" and re.fullmatch(r"Unnamed: \d+", name) is not None


def _match(patterns, names, option, path):
    found = set()
    for pattern in patterns:
        hits = {name for name in names if fnmatchcase(name, pattern)}
        if not hits:
            raise CLIError(
                f"{path}: {option} {pattern!r} matches no column; the columns are: "
                f"{', '.join(names)}"
            )
        found |= hits
    return found


def plan_training_table(path, fmt, names, scans, rows, columns, exclude):
    """Choose the transformed columns of the training table.

    Without ``columns`` every numeric column is chosen and the rest pass through
    with a reason; a column named or matched by ``columns`` must be numeric.

    Raises
    ------
    CLIError
        If a chosen column holds something other than numbers, a pattern matches
        nothing, or no column is left to transform.
    """
    if rows == 0:
        raise CLIError(f"{path}: the table has no rows")
    named = _match(columns, names, "--columns", path) if columns else None
    excluded = _match(exclude, names, "--exclude", path) if exclude else set()
    chosen, passed = [], {}
    for name in names:
        scan = scans[name]
        if name in excluded:
            passed[name] = "excluded by --exclude"
        elif named is not None and name not in named:
            passed[name] = "not chosen by --columns"
        elif scan.index and named is None:
            passed[name] = "the table's pandas index (choose it with --columns)"
        elif _unnamed(name, fmt) and named is None:
            passed[name] = (
                "no name in the header, often a saved row index "
                "(choose it with --columns)"
            )
        elif scan.kind == "numeric":
            chosen.append(name)
        elif named is not None:
            if scan.kind == "empty":
                raise CLIError(f"{path}: column {name!r} has no values")
            row, value = scan.first_bad
            raise CLIError(
                f"{path}: column {name!r} is not numeric: row {row} holds "
                f"{str(value)!r}{_hint(value, fmt)}"
            )
        else:
            passed[name] = reason(scan, fmt)
    if not chosen:
        raise CLIError(
            f"{path}: no numeric column to transform"
            + (
                f" ({'; '.join(f'{k}: {v}' for k, v in passed.items())})"
                if passed
                else ""
            )
        )
    return Plan(Path(path), fmt, names, chosen, passed, rows, scans)


def plan_from_model(path, fmt, names, model_columns):
    """The plan of a table to apply a fitted model to: the model's columns.

    Raises
    ------
    CLIError
        If the table lacks one of the model's columns.
    """
    missing = [c for c in model_columns if c not in names]
    if missing:
        raise CLIError(
            f"{path}: lacks the model's column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(c) for c in missing)}"
        )
    passed = {n: "not a column of the model" for n in names if n not in model_columns}
    return Plan(Path(path), fmt, names, list(model_columns), passed)


# --- reading the data -----------------------------------------------------------------


def read_chunks(plan, chunksize, progress):
    """Yield ``(start_row, frame)``: chosen columns float64, others as written.

    Raises
    ------
    CLIError
        Naming the file, column, row and value of the first entry of a chosen
        column that is not a number.
    """
    fmt = plan.fmt
    reader = _Reader(plan.path, fmt, chunksize, known_rows=plan.rows)
    if fmt.kind == "parquet":
        chunks = reader.parquet_chunks()
    else:
        chosen = set(plan.chosen)
        chunks = reader.csv_chunks(
            dtype={n: (np.float64 if n in chosen else str) for n in plan.columns},
            keep_default_na=False,
            na_values={n: list(_NA_STRINGS) for n in plan.chosen},
        )
    start = 0
    try:
        for frame in chunks:
            frame.columns = [str(c) for c in frame.columns]
            if fmt.kind == "parquet":
                for name in plan.chosen:
                    values, bad = _to_float(frame[name], fmt)
                    if bad.any():
                        _raise_not_numeric(plan, name, start, frame[name], bad)
                    frame[name] = values
            yield start, frame
            start += len(frame)
            progress.update(start, reader.fraction(start))
    except ValueError as exc:
        if isinstance(exc, CLIError) or fmt.kind != "csv":
            raise
        # The parser says only that some value did not convert; find where.
        _locate_bad_value(plan, exc)
    if start == 0:
        raise CLIError(f"{plan.path}: the table has no rows")


def _raise_not_numeric(plan, name, start, series, bad):
    position = int(np.flatnonzero(bad)[0])
    value = series.iloc[position]
    raise CLIError(
        f"{plan.path}: column {name!r} is not numeric: row {start + position + 1} "
        f"holds {str(value)!r}{_hint(value, plan.fmt)}"
    )


def _locate_bad_value(plan, exc):
    reader = _Reader(plan.path, plan.fmt, 1 << 16)
    start = 0
    first = None
    for frame in reader.csv_chunks(
        usecols=plan.chosen,
        dtype=str,
        keep_default_na=False,
        na_values={n: list(_NA_STRINGS) for n in plan.chosen},
    ):
        for name in plan.chosen:
            _, bad = _to_float(frame[name], plan.fmt)
            if bad.any():
                row = start + int(np.flatnonzero(bad)[0])
                if first is None or row < first[0]:
                    first = (row, name, frame[name])
        if first is not None:
            row, name, series = first
            mask = np.zeros(len(series), bool)
            mask[row - start] = True
            _raise_not_numeric(plan, name, start, series, mask)
        start += len(frame)
    raise CLIError(f"{plan.path}: a transformed column is not numeric: {exc}")


def blocks(chunks, n_rows):
    """Re-cut ``(start, frame)`` chunks into blocks of ``n_rows`` rows, last shorter."""
    pending, pending_rows, block_start = [], 0, 0
    for _, frame in chunks:
        pending.append(frame)
        pending_rows += len(frame)
        while pending_rows >= n_rows:
            whole = pending[0] if len(pending) == 1 else pd.concat(pending)
            yield block_start, whole.iloc[:n_rows]
            block_start += n_rows
            rest = whole.iloc[n_rows:]
            pending, pending_rows = ([rest] if len(rest) else []), len(rest)
    if pending_rows:
        yield block_start, pending[0] if len(pending) == 1 else pd.concat(pending)


def check_values(path, block, start, columns, allow_nan, method, nan_methods):
    """Refuse infinity always, and missing values when ``allow_nan`` is False.

    Raises
    ------
    CLIError
        Naming the file, the columns and the first row concerned.
    """
    values = block[columns].to_numpy(dtype=np.float64)
    infinite = np.isinf(values)
    if infinite.any():
        row, col = np.argwhere(infinite)[0]
        raise CLIError(
            f"{path}: column {columns[col]!r} holds {values[row, col]} at row "
            f"{start + row + 1}; transformers need finite numbers"
        )
    if not allow_nan:
        missing = np.isnan(values)
        if missing.any():
            first = {
                columns[j]: start + int(np.flatnonzero(missing[:, j])[0]) + 1
                for j in np.flatnonzero(missing.any(axis=0))
            }
            raise CLIError(missing_message(path, first, method, nan_methods))


def missing_message(path, first_rows, method, nan_methods):
    """The one-line error for missing values given to ``method``."""
    where = ", ".join(
        f"{name!r} (first at row {row})" for name, row in first_rows.items()
    )
    plural = "s" if len(first_rows) > 1 else ""
    return (
        f"{path}: missing values in column{plural} {where}; {method} does not accept "
        f"missing values; methods that do: {', '.join(nan_methods) or 'none'} "
        "(or --exclude the column, or fill the gaps first)"
    )


def layout(columns, chosen, names_out):
    """Output columns in order: ``(name, source)`` with source ``"out", i`` or ``"in"``.

    A transformer that maps each column to one keeps every column in place; one
    that makes new columns puts them where its first input column was. Pass-through
    columns keep their order.

    Raises
    ------
    CLIError
        If an output column would take the name of a pass-through column.
    """
    chosen_set = set(chosen)
    kept = [c for c in columns if c not in chosen_set]
    clash = sorted(set(kept) & set(names_out))
    if clash:
        raise CLIError(
            f"the transformer's output column{'s' if len(clash) > 1 else ''} "
            f"{', '.join(map(repr, clash))} would replace pass-through columns of the "
            "same name; --exclude them or rename them"
        )
    if list(names_out) == list(chosen):
        index = {name: i for i, name in enumerate(chosen)}
        return [(c, ("out", index[c]) if c in index else ("in", None)) for c in columns]
    spec, placed = [], False
    for c in columns:
        if c in chosen_set:
            if not placed:
                spec.extend((name, ("out", i)) for i, name in enumerate(names_out))
                placed = True
        else:
            spec.append((c, ("in", None)))
    return spec


def assemble(block, values, spec):
    """The output frame of one block, in the order given by :func:`layout`."""
    data = {}
    for name, (source, index) in spec:
        data[name] = values[:, index] if source == "out" else block[name]
    return pd.DataFrame(data, index=block.index)


# --- writing --------------------------------------------------------------------------


@contextmanager
def atomic_output(target, overwrite):
    """Yield a temporary path beside ``target``; rename it to ``target`` on success.

    On any failure or interruption the temporary file is removed, so ``target``
    is either complete or untouched.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".part"
        )
    except OSError as exc:
        # Named by the file the user asked for, not the temporary one.
        raise CLIError(f"{target}: cannot write: {exc.strerror}") from None
    os.close(fd)
    try:
        yield Path(temporary)
        if not overwrite and target.exists():
            raise CLIError(f"{target}: appeared during the run; not replaced")
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        # mkstemp makes the file private; give it the permissions of a new file.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class TableWriter:
    """Write blocks to one CSV (maybe compressed) or Parquet file."""

    def __init__(self, path, fmt, member, renamed=None):
        self.path, self.fmt, self._member = path, fmt, member
        self._renamed = renamed or {}
        self._stack = []
        self._text = None
        self._parquet = None
        self._schema = None

    def __enter__(self):
        if self.fmt.kind == "csv":
            raw = open(self.path, "wb")
            self._stack.append(raw)
            handle = raw
            if self.fmt.compression == "gzip":
                # No time stamp and no name in the header: equal tables, equal bytes.
                handle = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)
                self._stack.append(handle)
            elif self.fmt.compression == "bz2":
                handle = bz2.BZ2File(raw, "wb")
                self._stack.append(handle)
            elif self.fmt.compression == "zip":
                archive = zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED)
                self._stack.append(archive)
                info = zipfile.ZipInfo(self._member, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                handle = archive.open(info, "w", force_zip64=True)
                self._stack.append(handle)
            self._text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
        return self

    def write(self, frame):
        if self.fmt.kind == "csv":
            frame.to_csv(
                self._text,
                sep=self.fmt.sep,
                decimal=self.fmt.decimal,
                index=False,
                header=False
                if self._started()
                else [self._renamed.get(c, c) for c in frame.columns],
                lineterminator="\n",
            )
            self._wrote = True
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False)
        if self._parquet is None:
            self._schema = table.schema
            self._parquet = pq.ParquetWriter(self.path, self._schema)
        self._parquet.write_table(table)

    def _started(self):
        return getattr(self, "_wrote", False)

    def __exit__(self, *exc):
        if self._text is not None:
            self._text.flush()
            self._text.detach()
        if self._parquet is not None:
            self._parquet.close()
        for handle in reversed(self._stack):
            handle.close()
        return False
