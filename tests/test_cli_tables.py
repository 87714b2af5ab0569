"""The ``skprep`` command on tables: which columns, chunked runs, file formats."""

import gzip
import math
import re
import zipfile
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from skprep.cli import main

from .cli_support import ROOT, error_line, missing_module, skprep

STRAY_CSV = """\
id,b,c,d,name
1,1.5,2,3.0,x
2,2.5,?,4.0,y
3,oops,4,"1,200.50",z
4,4.5,5,6.0,w
"""


def _zscore(column):
    """(x - mean) / std with the mean and the population std from math.fsum."""
    x = np.asarray(column, dtype=np.float64)
    mean = math.fsum(x) / len(x)
    std = math.sqrt(math.fsum((x - mean) ** 2) / len(x))
    return (x - mean) / std


def test_every_column_is_reported_with_the_reason_it_passes_through(tmp_path):
    (tmp_path / "t.csv").write_text(STRAY_CSV)
    result = skprep(
        "--train", "t.csv", "--apply", "t.csv", "--output-dir", "o", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "transformed (1): id" in out
    assert "b: text values, first at row 3: 'oops'" in out
    assert "c: text values, first at row 2: '?'" in out
    assert "d: text values, first at row 3: '1,200.50' (a thousands separator?" in out
    assert "name: text values, first at row 1: 'x'" in out
    # Pass-through columns are written exactly as they were read, in place.
    written = (tmp_path / "o" / "t.transformed.csv").read_text().splitlines()
    original = STRAY_CSV.splitlines()
    assert written[0] == original[0]
    for new, old in zip(written[1:], original[1:], strict=True):
        assert new.split(",", 1)[1] == old.split(",", 1)[1]


@pytest.mark.parametrize(
    "column, row, value", [("b", 3, "oops"), ("c", 2, "?"), ("d", 3, "1,200.50")]
)
def test_a_chosen_column_that_is_not_numeric_is_an_error(tmp_path, column, row, value):
    (tmp_path / "t.csv").write_text(STRAY_CSV)
    argv = [
        "--train",
        str(tmp_path / "t.csv"),
        "--columns",
        column,
        "--apply",
        str(tmp_path / "t.csv"),
        "--output-dir",
        str(tmp_path / "o"),
    ]
    if column == "b":  # once through the real command
        line = error_line(skprep(*argv, cwd=tmp_path))
    else:
        assert main(argv) == 1
        line = None
    if line is not None:
        assert (
            f"t.csv: column '{column}' is not numeric: row {row} holds {value!r}"
            in line
        )
    assert not (tmp_path / "o").exists()


def test_thousands_separator_makes_the_column_numeric(tmp_path, capsys):
    (tmp_path / "t.csv").write_text('a,d\n1,"1,200.50"\n2,"2,000"\n3,7\n')
    argv = [
        "--train",
        str(tmp_path / "t.csv"),
        "--apply",
        str(tmp_path / "t.csv"),
        "--thousands",
        ",",
        "--output-dir",
        str(tmp_path / "o"),
    ]
    assert main(argv) == 0
    written = pd.read_csv(tmp_path / "o" / "t.transformed.csv")
    np.testing.assert_allclose(written["d"], _zscore([1200.5, 2000, 7]), rtol=1e-13)


def test_columns_and_exclude_take_names_and_globs(tmp_path, capsys):
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(rng.normal(size=(40, 4)), columns=["x_1", "x_2", "y", "id"])
    frame.to_csv(tmp_path / "t.csv", index=False)
    result = skprep(
        "--train",
        "t.csv",
        "--apply",
        "t.csv",
        "--columns",
        "x_*",
        "y",
        "--exclude",
        "x_2",
        "--output-dir",
        "o",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "transformed (2): x_1, y" in result.stdout
    assert "x_2: excluded by --exclude" in result.stdout
    assert "id: not chosen by --columns" in result.stdout
    written = pd.read_csv(tmp_path / "o" / "t.transformed.csv")
    assert list(written.columns) == list(frame.columns)
    np.testing.assert_allclose(written["x_1"], _zscore(frame["x_1"]), rtol=1e-12)
    np.testing.assert_array_equal(written["x_2"], frame["x_2"])
    np.testing.assert_array_equal(written["id"], frame["id"])
    argv = [
        "--train",
        str(tmp_path / "t.csv"),
        "--columns",
        "z*",
        "--save-model",
        str(tmp_path / "m.skops"),
    ]
    assert main(argv) == 1
    assert "--columns 'z*' matches no column" in capsys.readouterr().err


def test_parquet_decimal_column_is_transformed_not_passed_through(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    prices = [Decimal("10.25"), Decimal("3.10"), None, Decimal("7.00")]
    table = pa.table(
        {
            "price": pa.array(prices, pa.decimal128(6, 2)),
            "when": pa.array([1, 2, 3, 4], pa.timestamp("s")),
            "q": pa.array([1, 2, 3, 5], pa.int32()),
        }
    )
    pq.write_table(table, tmp_path / "p.parquet")
    result = skprep(
        "--train",
        "p.parquet",
        "--apply",
        "p.parquet",
        "--output-dir",
        "o",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert (
        "transformed (2): price, q (decimal, read as float64: price)" in result.stdout
    )
    assert "when: dates or times, first at row 1" in result.stdout
    written = pq.read_table(tmp_path / "o" / "p.transformed.parquet")
    source = pq.read_schema(tmp_path / "p.parquet")
    assert written.schema.field("when").type == source.field("when").type
    assert written.column_names == ["price", "when", "q"]
    present = [float(p) for p in prices if p is not None]
    expected = _zscore(present)
    got = np.array(written.column("price").to_pylist(), dtype=float)
    np.testing.assert_allclose(got[[0, 1, 3]], expected, rtol=1e-13)
    assert np.isnan(got[2])


def test_saved_row_indexes_pass_through_and_headers_stay_as_written(tmp_path, capsys):
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame(
        {"a": [1.0, 4.0, 2.0], "b": [3.0, 3.5, 9.0]},
        index=pd.Index([10, 20, 30], name="id"),
    )
    frame.to_parquet(tmp_path / "p.parquet")  # the index is stored as a column
    frame.to_csv(tmp_path / "c.csv", index=True, index_label="")  # empty header cell
    (tmp_path / "d.csv").write_text("a,a,b\n1,2,x\n3,5,y\n")  # a repeated name
    for name in ("p.parquet", "c.csv", "d.csv"):
        path = str(tmp_path / name)
        argv = ["--train", path, "--apply", path, "--output-dir", str(tmp_path / "o")]
        assert main(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "id: the table's pandas index" in out
    assert "Unnamed: 0: no name in the header" in out
    written = pd.read_parquet(tmp_path / "o" / "p.transformed.parquet")
    assert written["id"].tolist() == [10, 20, 30]
    np.testing.assert_allclose(written["a"], _zscore(frame["a"]), rtol=1e-13)
    lines = (tmp_path / "o" / "c.transformed.csv").read_text().splitlines()
    assert lines[0] == ",a,b" and [line.split(",")[0] for line in lines[1:]] == [
        "10",
        "20",
        "30",
    ]
    lines = (tmp_path / "o" / "d.transformed.csv").read_text().splitlines()
    assert lines[0] == "a,a,b"
    np.testing.assert_allclose(
        [float(line.split(",")[1]) for line in lines[1:]], _zscore([2, 5]), rtol=1e-13
    )


def _wide_table(rows=4000, width=40, seed=3):
    """Several blocks of rows, a text column empty in the first chunks."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        rng.normal(100, 5, size=(rows, width)), columns=[f"f{i}" for i in range(width)]
    )
    frame.insert(3, "note", [""] * 50 + ["text"] * (rows - 50))
    frame.insert(0, "key", [f"r{i}" for i in range(rows)])
    return frame


@pytest.mark.parametrize(
    "suffix, method",
    [(".csv", "ZScoreScaler"), (".parquet", "PCA"), (".csv.gz", "Whitening")],
)
def test_chunked_and_whole_file_runs_write_the_same_bytes(
    tmp_path, suffix, method, monkeypatch, capsys
):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    frame = _wide_table()
    path = tmp_path / f"t{suffix}"
    if suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    outputs, reports = {}, {}
    for mode, extra in (("whole", []), ("chunked", ["--chunksize", "37"])):
        argv = [
            "--method",
            method,
            "--train",
            path.name,
            "--apply",
            path.name,
            "--output-dir",
            mode,
            *extra,
        ]
        if suffix == ".csv":  # through the real command; the others in-process
            result = skprep(*argv, cwd=tmp_path)
            assert result.returncode == 0, result.stderr
            stdout = result.stdout
        else:
            monkeypatch.chdir(tmp_path)
            assert main(argv) == 0
            stdout = capsys.readouterr().out
        outputs[mode] = (tmp_path / mode / f"t.transformed{suffix}").read_bytes()
        reports[mode] = [
            line
            for line in stdout.splitlines()
            if not line.startswith(("fitted", "wrote"))
        ]
    assert outputs["whole"] == outputs["chunked"]
    assert reports["whole"] == reports["chunked"]
    assert "note: text values, first at row 51: 'text'" in "\n".join(reports["whole"])
    if suffix == ".csv":
        written = pd.read_csv(
            tmp_path / "whole" / "t.transformed.csv", keep_default_na=False
        )
        assert list(written.columns) == list(frame.columns)
        assert (written["note"] == frame["note"]).all()
        for name in ("f0", "f39"):
            np.testing.assert_allclose(
                written[name], _zscore(frame[name]), rtol=1e-12, atol=1e-13
            )


def test_a_bad_value_late_in_a_table_gives_the_same_error_chunked_or_not(
    tmp_path, monkeypatch, capsys
):
    rng = np.random.default_rng(4)
    pd.DataFrame(rng.normal(size=(50, 2)), columns=["a", "b"]).to_csv(
        tmp_path / "train.csv", index=False
    )
    new = pd.DataFrame(rng.normal(size=(120, 2)), columns=["a", "b"]).astype(object)
    new.loc[89, "b"] = "oops"
    new.to_csv(tmp_path / "new.csv", index=False)
    lines = {}
    for mode, extra in (("whole", []), ("chunked", ["--chunksize", "20"])):
        argv = [
            "--train",
            "train.csv",
            "--apply",
            "new.csv",
            "--output-dir",
            mode,
            *extra,
        ]
        if mode == "whole":
            lines[mode] = error_line(skprep(*argv, cwd=tmp_path))
        else:
            monkeypatch.chdir(tmp_path)
            assert main(argv) == 1
            lines[mode] = capsys.readouterr().err.strip()
        # Nothing left behind, not even the temporary file.
        assert list((tmp_path / mode).iterdir()) == []
    assert lines["whole"] == lines["chunked"]
    assert "new.csv: column 'b' is not numeric: row 90 holds 'oops'" in lines["whole"]


def _write(frame, path, sep=",", decimal=".", compression=None):
    frame.to_csv(path, index=False, sep=sep, decimal=decimal, compression=compression)


@pytest.mark.parametrize(
    "name, options, reader",
    [
        ("t.csv.gz", [], {}),
        ("t.csv.bz2", [], {}),
        ("t.csv.zip", [], {}),
        ("t.tsv", [], {"sep": "\t"}),
        ("t.csv", ["--decimal", ","], {"sep": ";", "decimal": ","}),
        ("t.pipe.csv", ["--sep", "|"], {"sep": "|"}),
    ],
)
def test_compressed_and_separated_formats(tmp_path, name, options, reader, capsys):
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(rng.normal(3, 1, size=(30, 2)), columns=["a", "b"])
    frame.insert(1, "tag", list("xyz") * 10)
    path = tmp_path / name
    _write(
        frame,
        path,
        sep=reader.get("sep", ","),
        decimal=reader.get("decimal", "."),
        compression="infer",
    )
    argv = [
        "--train",
        str(path),
        "--apply",
        str(path),
        "--output-dir",
        str(tmp_path / "o"),
        *options,
    ]
    assert main(argv) == 0, capsys.readouterr().err
    stem, _, suffix = name.partition(".")
    if stem == "t" and suffix.startswith("pipe."):
        stem, suffix = "t.pipe", suffix[len("pipe.") :]
    out_name = f"{stem}.transformed.{suffix}"
    written = pd.read_csv(tmp_path / "o" / out_name, compression="infer", **reader)
    assert list(written.columns) == ["a", "tag", "b"]
    np.testing.assert_allclose(written["b"], _zscore(frame["b"]), rtol=1e-12)
    assert (written["tag"] == frame["tag"]).all()


def test_compressed_outputs_do_not_depend_on_time_or_temporary_names(tmp_path):
    frame = pd.DataFrame({"a": [1.0, 2.0, 4.0]})
    frame.to_csv(tmp_path / "t.csv.gz", index=False)
    frame.to_csv(tmp_path / "t.csv.zip", index=False)
    result = skprep(
        "--train",
        "t.csv.gz",
        "--apply",
        "t.csv.gz",
        "t.csv.zip",
        "--output-dir",
        "o",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    raw = (tmp_path / "o" / "t.transformed.csv.gz").read_bytes()
    assert raw[4:8] == b"\0\0\0\0"  # no time stamp: equal tables, equal files
    with gzip.open(tmp_path / "o" / "t.transformed.csv.gz", "rt") as handle:
        assert handle.readline() == "a\n"
    with zipfile.ZipFile(tmp_path / "o" / "t.transformed.csv.zip") as archive:
        assert archive.namelist() == ["t.transformed.csv"]


def test_parquet_without_pyarrow_names_the_extra_in_one_line(tmp_path):
    (tmp_path / "t.parquet").write_bytes(b"PAR1")
    shadow = missing_module(tmp_path / "shadow", "pyarrow")
    result = skprep(
        "--train", "t.parquet", "--save-model", "m.skops", cwd=tmp_path, shadow=shadow
    )
    line = error_line(result)
    assert 'pip install "skprep[parquet]"' in line and "t.parquet" in line


def test_readme_install_names_the_parquet_and_cli_extras():
    readme = (ROOT / "README.md").read_text()
    extras = re.findall(r'pip install "\.\[([a-z,]+)\]"', readme)
    assert any({"cli", "parquet"} <= set(found.split(",")) for found in extras)
    setup = (ROOT / "setup.cfg").read_text()
    for extra in ("cli", "parquet"):
        assert f"\n{extra} =\n" in setup


@pytest.mark.parametrize(
    "method, params, reason",
    [
        ("BatchNormalizer", [], "mini-batches"),
        ("LayerNormalizer", [], "no partial_fit"),
        ("PCA", ["--param", "solver='svd'"], "solver"),
        ("Whitening", ["--param", "shrinkage='ledoit-wolf'"], "ledoit-wolf"),
    ],
)
def test_methods_that_need_the_whole_table_refuse_chunks_and_fit_without(
    tmp_path, capsys, method, params, reason
):
    frame = pd.DataFrame(np.random.default_rng(6).normal(size=(60, 3)))
    frame.columns = ["a", "b", "c"]
    frame.to_csv(tmp_path / "t.csv", index=False)
    path = str(tmp_path / "t.csv")
    argv = ["--method", method, *params, "--train", path, "--apply", path]
    assert main([*argv, "--output-dir", str(tmp_path / "c"), "--chunksize", "7"]) == 2
    err = capsys.readouterr().err
    assert f"{method} cannot be fitted in chunks" in err and reason in err
    assert "drop --chunksize" in err and not (tmp_path / "c").exists()
    assert main([*argv, "--output-dir", str(tmp_path / "w")]) == 0
    assert (tmp_path / "w" / "t.transformed.csv").exists()


@pytest.mark.parametrize("chunksize", [[], ["--chunksize", "1"]], ids=["whole", "1"])
def test_a_ragged_row_is_named_by_its_data_row(tmp_path, capsys, chunksize):
    # Data row 3 (the header is not a row) has one field too many.
    (tmp_path / "t.csv").write_text("a,b,c\n1,2,3\n3,5,6\n4,4,4,9\n5,5,5\n")
    argv = ["--train", str(tmp_path / "t.csv"), "--save-model", str(tmp_path / "m")]
    assert main([*argv, *chunksize]) == 1
    assert capsys.readouterr().err == (
        f"skprep: error: {tmp_path / 't.csv'}: row 3 has 4 fields; the header has 3\n"
    )


def test_reasons_print_plain_values_not_numpy_reprs(tmp_path, capsys):
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "flag": [False, True, True]})
    frame.to_parquet(tmp_path / "t.parquet")
    frame.to_csv(tmp_path / "t.csv", index=False)
    for name in ("t.csv", "t.parquet"):
        argv = ["--train", str(tmp_path / name), "--apply", str(tmp_path / name)]
        assert main([*argv, "--output-dir", str(tmp_path / name[2:])]) == 0
        out = capsys.readouterr().out
        assert "flag: true/false values, first at row 1: False" in out
        assert "np." not in out
