"""The ``skprep`` command: the demo, --describe, usage and data errors.

Each behaviour is checked through the real command (``python -m skprep`` in a
subprocess); parametrized siblings call :func:`skprep.cli.main` in-process, which
is the same code without the process start.
"""

import math
import re

import numpy as np
import pandas as pd
import pytest

from skprep import ZScoreScaler
from skprep.cli import main
from skprep.datasets import load_wine
from skprep.utils import all_estimators

from .cli_support import error_line, skprep, transform_argv


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(5, 2, size=(60, 3)), columns=["a", "b", "c"])
    frame.insert(1, "label", [f"k{i % 3}" for i in range(len(frame))])
    frame.to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[:20].to_csv(tmp_path / "test.csv", index=False)
    return frame


def _table_rows(out, heading):
    """The rows of the first table printed under ``heading`` in the demo report."""
    lines = out.splitlines()
    start = lines.index(heading) + 2  # the heading, then the column titles
    rows = []
    for line in lines[start:]:
        if not line.startswith("    "):
            break
        rows.append(line.split())
    return rows


def test_demo_reports_every_feature_and_prints_roundoff_as_zero(tmp_path):
    result = skprep(cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    X_train, _, _, _ = load_wine(as_frame=True, split=True, test_size=0.25)
    before = _table_rows(out, "  before (13 features)")
    after = _table_rows(out, "  after (13 features)")
    assert [row[0] for row in before] == list(X_train.columns)
    assert len(after) == X_train.shape[1] and "more" not in out
    for row, name in zip(before, X_train.columns, strict=True):
        column = X_train[name].to_numpy()
        assert float(row[1]) == float(f"{math.fsum(column) / len(column):.4g}")
    # Centred training data have mean zero up to roundoff: printed as 0, not 1e-16.
    assert all(row[1] == "0" for row in after)
    assert not re.search(r"e-1\d", out)


@pytest.mark.parametrize("name", [name for name, _ in all_estimators("transformer")])
def test_every_public_transformer_runs_on_the_default_data(name, capsys):
    assert main(["--method", name]) == 0
    assert f"{name} fitted" in capsys.readouterr().out


def test_help_documents_the_options_and_exit_statuses(tmp_path):
    result = skprep("--help", cwd=tmp_path)
    assert result.returncode == 0
    for option in (
        "--columns",
        "--exclude",
        "--overwrite",
        "--trust-pickle",
        "--describe",
        "--quiet",
        "--sep",
        "--decimal",
        "--thousands",
    ):
        assert option in result.stdout
    assert "2 usage error" in result.stdout and "130 interrupted" in result.stdout


def test_describe_lists_parameters_with_defaults_and_their_documentation(tmp_path):
    result = skprep("--describe", "zscore-scaler", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("ZScoreScaler: ")
    for key, value in ZScoreScaler().get_params().items():
        assert f"{key}={value!r}" in out
    # First sentences of the docstring's Parameters section.
    assert "Subtract the mean." in out
    assert "Divide by the standard deviation." in out
    assert "missing values: accepted" in out
    assert main(["--describe", "nope"]) == 2


def test_list_methods_names_every_transformer(capsys):
    assert main(["--list-methods"]) == 0
    out = capsys.readouterr().out
    for name, _ in all_estimators("transformer"):
        assert name in out


def test_usage_error_through_the_command_is_one_line_with_status_2(tmp_path):
    line = error_line(skprep("--chunksize", "0", "--oops", cwd=tmp_path), status=2)
    assert "--oops" in line or "--chunksize" in line


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--method", "nope"], "unknown method 'nope'"),
        (["--param", "bogus=1"], "no parameter 'bogus'.*with_mean"),
        (["--param", "novalue"], "KEY=VALUE"),
        (["--apply", "x.csv"], "needs a --train"),
        (["--train", "train.csv"], "nothing to write"),
        (["--load-model", "m.skops", "--train", "t.csv", "--apply", "x.csv"], "drop"),
        (["--load-model", "m.skops"], "needs tables to --apply"),
        (["--train", "t.csv", "--save-model", "m.joblib"], "skops"),
        (["--trust-pickle"], "--load-model"),
        (["--columns", "a"], "demo"),
        (["--sep", "ab"], "one character"),
        (["--param", "ddof=-1"], "--param: .*ddof"),
        (["--method", "pca", "--param", "n_components=nope"], "n_components"),
    ],
)
def test_usage_errors_exit_2_in_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("skprep: error:") and len(err.strip().splitlines()) == 1
    assert re.search(message, err)


@pytest.mark.parametrize(
    "option",
    [
        ["--columns", "a"],
        ["--exclude", "a"],
        ["--chunksize", "10"],
        ["--output-dir", "o"],
        ["--sep", ";"],
        ["--thousands", "_"],
        ["--decimal", ","],
    ],
)
def test_the_demo_names_every_table_option_it_refuses(option, capsys):
    assert main(option) == 2
    err = capsys.readouterr().err
    assert f"{option[0]} concern --train/--apply tables" in err


def test_the_demo_accepts_options_at_their_default_value(capsys):
    # --decimal . is the default: the demo runs (it refuses --decimal ,).
    assert main(["--decimal", ".", "--quiet"]) == 0


@pytest.mark.parametrize(
    "option",
    [
        ["--train", "t.csv"],
        ["--method", "pca"],
        ["--param", "with_mean=False"],
        ["--columns", "a"],
        ["--exclude", "a"],
        ["--save-model", "m.skops"],
    ],
)
def test_load_model_names_every_fitting_option_it_refuses(option, capsys):
    assert main(["--load-model", "m.skops", "--apply", "x.csv", *option]) == 2
    err = capsys.readouterr().err
    assert f"as it is; drop {option[0]}" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--train", "missing.csv", "--save-model", "m.skops"], "missing.csv: no such"),
        (["--train", "table.txt", "--save-model", "m.skops"], "not a table"),
        (["--train", "empty.csv", "--save-model", "m.skops"], "no rows"),
        (["--train", "text.csv", "--save-model", "m.skops"], "no numeric column"),
    ],
)
def test_data_errors_exit_1_in_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "table.txt").write_text("a\n1\n")
    (tmp_path / "empty.csv").write_text("a,b\n")
    (tmp_path / "text.csv").write_text("name\nx\ny\n")
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("skprep: error:") and len(err.strip().splitlines()) == 1
    assert re.search(message, err)
    assert not (tmp_path / "m.skops").exists()


@pytest.mark.parametrize(
    "options, message",
    [
        (["--method", "pca", "--param", "n_components=nope"], "n_components"),
        (["--method", "pca", "--param", "solver='lu'"], "solver"),
        (["--decimal", ".", "--thousands", "."], "--thousands and --decimal"),
        (["--sep", ";", "--decimal", ";"], "--sep and --decimal"),
        (["--method", "BatchNormalizer", "--chunksize", "100"], "mini-batches"),
        (["--method", "LayerNormalizer", "--chunksize", "100"], "no partial_fit"),
        (["--method", "PCA", "--param", "solver=svd", "--chunksize", "100"], "svd"),
        (
            ["--method", "Whitening", "--param", "shrinkage=ledoit-wolf"]
            + ["--chunksize", "100"],
            "ledoit-wolf",
        ),
    ],
)
def test_usage_errors_on_tables_exit_2_before_reading_the_data(
    options, message, tmp_path, monkeypatch, capsys
):
    # Reading past the header of this table fails (exit 1): a 2 means the
    # command line was refused before the data were read.
    (tmp_path / "t.csv").write_text("a,b\n1,2\n3,4,5,6\n")
    monkeypatch.chdir(tmp_path)
    assert main(["--train", "t.csv", "--apply", "t.csv", *options]) == 2
    err = capsys.readouterr().err
    assert err.startswith("skprep: error:") and len(err.strip().splitlines()) == 1
    assert re.search(message, err), err
    # One pair of parentheses at most: the hint at the end.
    assert err.count("(") <= 2 and "((" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


def test_missing_apply_file_is_reported_before_the_fit(table, tmp_path):
    result = skprep(
        "--train",
        "train.csv",
        "--apply",
        "test.csv",
        "nowhere/gone.csv",
        "--save-model",
        "m.skops",
        cwd=tmp_path,
    )
    line = error_line(result)
    assert "nowhere/gone.csv: no such file" in line
    assert "fitted" not in result.stdout
    assert not (tmp_path / "m.skops").exists()
    assert not (tmp_path / "test.transformed.csv").exists()


def test_missing_values_name_the_columns_and_the_methods_that_take_them(tmp_path):
    frame = pd.DataFrame(
        {
            "a": [1.0, 2.0, np.nan, 4.0],
            "b": [1.0, 5.0, 2.0, 0.5],
            "c": [np.nan] + [1.0] * 3,
        }
    )
    frame.to_csv(tmp_path / "gaps.csv", index=False)
    line = error_line(
        skprep(
            "--method",
            "PCA",
            "--train",
            "gaps.csv",
            "--apply",
            "gaps.csv",
            "--output-dir",
            "out",
            cwd=tmp_path,
        )
    )
    assert "gaps.csv" in line and "'a' (first at row 3)" in line
    assert "'c' (first at row 1)" in line and "'b'" not in line
    nan_methods = [
        name
        for name, cls in all_estimators("transformer")
        if cls().__sklearn_tags__().input_tags.allow_nan
    ]
    assert nan_methods and f"methods that do: {', '.join(nan_methods)}" in line
    assert "PCA does not accept missing values" in line
    # A method that takes them keeps them, as empty fields, and scales the rest.
    gaps = str(tmp_path / "gaps.csv")
    argv = ["--train", gaps, "--apply", gaps, "--output-dir", str(tmp_path / "out")]
    assert main(argv) == 0
    written = pd.read_csv(tmp_path / "out" / "gaps.transformed.csv")
    present = frame["a"].dropna().to_numpy()
    mean = math.fsum(present) / len(present)
    std = math.sqrt(math.fsum((present - mean) ** 2) / len(present))
    np.testing.assert_allclose(written["a"], (frame["a"] - mean) / std, rtol=1e-13)
    assert written["a"].isna().tolist() == frame["a"].isna().tolist()


def test_missing_values_in_a_table_to_apply_are_found_per_row(tmp_path, capsys):
    rng = np.random.default_rng(1)
    pd.DataFrame(rng.normal(size=(30, 2)), columns=["a", "b"]).to_csv(
        tmp_path / "train.csv", index=False
    )
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.0, np.nan, 1.0]}).to_csv(
        tmp_path / "new.csv", index=False
    )
    argv = transform_argv(tmp_path, train="train.csv", method="Whitening")
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "new.csv: missing values in column 'b' (first at row 2)" in err
    assert not (tmp_path / "o" / "new.transformed.csv").exists()


def test_infinity_is_refused_with_its_row(tmp_path, capsys):
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["4", "inf", "6"]}).to_csv(
        tmp_path / "t.csv", index=False
    )
    assert (
        main(
            [
                "--train",
                str(tmp_path / "t.csv"),
                "--save-model",
                str(tmp_path / "m.skops"),
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "column 'b' holds inf at row 2" in err


def test_gaps_filling_a_whole_chunk_are_found_chunked_or_not(tmp_path, capsys):
    # Column a has gaps only in the last 1,000 rows, a chunk of their own with
    # --chunksize 1000; column b has one at row 5.
    a = [str(i % 97) for i in range(40_000)] + [""] * 1000
    b = [str(i % 13) for i in range(41_000)]
    b[4] = ""
    lines = ["a,b"] + [f"{x},{y}" for x, y in zip(a, b, strict=True)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    errors = []
    for extra in ([], ["--chunksize", "1000"]):
        argv = [
            *transform_argv(tmp_path, train="t.csv", apply="t.csv", method="PCA"),
            *extra,
        ]
        assert main(argv) == 1
        errors.append(capsys.readouterr().err)
    assert errors[0] == errors[1]
    assert "columns 'a' (first at row 40001), 'b' (first at row 5)" in errors[0]


def test_library_warnings_are_one_line_notes_and_silent_with_quiet(tmp_path, capsys):
    # Collinear columns: Whitening warns that the covariance is rank-deficient.
    (tmp_path / "t.csv").write_text("a,b,c\n1,2,3\n2,4,6\n3,6,9\n4,8,11\n")
    argv = ["--method", "Whitening", "--train", str(tmp_path / "t.csv")]
    argv += ["--save-model", str(tmp_path / "m.skops")]
    assert main(argv) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("skprep: note: ")
    assert "rank" in err[0] and ".py" not in err[0]
    assert main([*argv, "--overwrite", "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("name", [name for name, _ in all_estimators("transformer")])
def test_describe_prints_plain_text_whole_sentences(name, capsys):
    assert main(["--describe", name]) == 0
    out = capsys.readouterr().out
    assert "``" not in out and ":math:" not in out and ":class:" not in out
    assert "..." not in out
    # Every parameter's text ends its sentence (wrapped lines are continuations).
    entries = re.split(r"\n  (?=\w+=)", out.split("KEY=VALUE):\n", 1)[-1])
    for entry in entries:
        text = " ".join(entry.split()[1:])
        assert not text or text.endswith((".", ")", ":")), entry
