import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from skprep import MinMaxScaler, ZScoreScaler
from skprep.cli import main
from skprep.utils import all_estimators


@pytest.fixture
def tables(tmp_path):
    rng = np.random.default_rng(0)
    train = pd.DataFrame(rng.normal(5, 2, size=(300, 3)), columns=["a", "b", "c"])
    test = pd.DataFrame(rng.normal(5, 2, size=(80, 3)), columns=["a", "b", "c"])
    for frame in (train, test):
        frame.insert(1, "label", [f"k{i % 3}" for i in range(len(frame))])
    paths = {"train": tmp_path / "train.csv", "test": tmp_path / "test.csv"}
    train.to_csv(paths["train"], index=False)
    test.to_csv(paths["test"], index=False)
    return train, test, paths


def test_default_run_prints_the_train_and_test_report(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "ZScoreScaler fitted on the training part" in out
    for heading in ("train", "test (held out)", "before", "after", "mean", "std"):
        assert heading in out


@pytest.mark.parametrize("name", [name for name, _ in all_estimators("transformer")])
def test_every_public_transformer_runs_on_the_default_data(name, capsys):
    assert main(["--method", name]) == 0
    assert f"{name} fitted" in capsys.readouterr().out


def test_help_through_python_dash_m():
    result = subprocess.run(
        [sys.executable, "-m", "skprep", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "--method" in result.stdout and "--chunksize" in result.stdout


def test_csv_output_equals_direct_fit_and_keeps_text_columns(tables, tmp_path):
    train, test, paths = tables
    out_dir = tmp_path / "out"
    args = ["--train", str(paths["train"]), "--apply", str(paths["test"])]
    assert main([*args, "--output-dir", str(out_dir)]) == 0
    written = pd.read_csv(out_dir / "test.transformed.csv")
    assert list(written.columns) == ["a", "label", "b", "c"]
    assert (written["label"] == test["label"]).all()
    numeric = ["a", "b", "c"]
    expected = ZScoreScaler().fit(train[numeric]).transform(test[numeric])
    assert_allclose(written[numeric].to_numpy(), expected, rtol=1e-12)


def test_parquet_in_and_out(tables, tmp_path):
    pytest.importorskip("pyarrow")
    train, test, _ = tables
    train.to_parquet(tmp_path / "train.parquet")
    test.to_parquet(tmp_path / "test.parquet")
    args = [
        "--train",
        str(tmp_path / "train.parquet"),
        "--apply",
        str(tmp_path / "test.parquet"),
    ]
    assert main([*args, "--method", "MinMaxScaler", "--output-dir", str(tmp_path)]) == 0
    written = pd.read_parquet(tmp_path / "test.transformed.parquet")
    expected = (
        MinMaxScaler().fit(train[["a", "b", "c"]]).transform(test[["a", "b", "c"]])
    )
    assert_allclose(written[["a", "b", "c"]].to_numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("method", ["ZScoreScaler", "MinMaxScaler"])
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_chunked_run_equals_whole_table_run(tables, tmp_path, method, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    train, test, _ = tables
    paths = {}
    for name, frame in (("train", train), ("test", test)):
        paths[name] = tmp_path / f"{name}{suffix}"
        frame.to_csv(
            paths[name], index=False
        ) if suffix == ".csv" else frame.to_parquet(paths[name])
    read = pd.read_csv if suffix == ".csv" else pd.read_parquet
    results = {}
    for mode, extra in (("whole", []), ("chunked", ["--chunksize", "37"])):
        out_dir = tmp_path / mode
        model = tmp_path / f"{mode}.joblib"
        argv = [
            "--method",
            method,
            "--train",
            str(paths["train"]),
            "--apply",
            str(paths["test"]),
            "--output-dir",
            str(out_dir),
            "--save-model",
            str(model),
        ]
        assert main(argv + extra) == 0
        results[mode] = (
            read(out_dir / f"test.transformed{suffix}"),
            joblib.load(model),
        )
    (whole, whole_model), (chunked, chunked_model) = (
        results["whole"],
        results["chunked"],
    )
    pd.testing.assert_frame_equal(whole, chunked, rtol=1e-12)
    assert whole_model.n_samples_seen_ == chunked_model.n_samples_seen_ == len(train)


def test_saved_model_applies_later_and_depends_on_training_table_only(tables, tmp_path):
    train, test, paths = tables
    model = tmp_path / "model.joblib"
    assert (
        main(
            [
                "--train",
                str(paths["train"]),
                "--apply",
                str(paths["test"]),
                "--save-model",
                str(model),
                "--output-dir",
                str(tmp_path / "first"),
            ]
        )
        == 0
    )
    fitted = joblib.load(model)
    assert_allclose(fitted.mean_, train[["a", "b", "c"]].mean().to_numpy(), rtol=1e-12)
    # A different table to apply to leaves the learned statistics alone.
    shifted = test.assign(a=test["a"] + 1000)
    shifted.to_csv(tmp_path / "shifted.csv", index=False)
    model2 = tmp_path / "model2.joblib"
    assert (
        main(
            [
                "--train",
                str(paths["train"]),
                "--apply",
                str(tmp_path / "shifted.csv"),
                "--save-model",
                str(model2),
                "--output-dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert_allclose(joblib.load(model2).mean_, fitted.mean_, rtol=0)
    # Loading applies without refitting.
    assert (
        main(
            [
                "--load-model",
                str(model),
                "--apply",
                str(paths["test"]),
                "--output-dir",
                str(tmp_path / "again"),
            ]
        )
        == 0
    )
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "again" / "test.transformed.csv"),
        pd.read_csv(tmp_path / "first" / "test.transformed.csv"),
    )


def test_param_values_are_parsed_as_literals(tables, tmp_path):
    _, _, paths = tables
    model = tmp_path / "m.joblib"
    argv = [
        "--method",
        "minmax-scaler",
        "--param",
        "feature_range=(-1, 1)",
        "--param",
        "clip=True",
        "--train",
        str(paths["train"]),
        "--save-model",
        str(model),
    ]
    assert main(argv) == 0
    fitted = joblib.load(model)
    assert fitted.feature_range == (-1, 1) and fitted.clip is True


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--method", "nope"], "unknown method 'nope'"),
        (["--param", "bogus=1"], "no parameter 'bogus'.*with_mean"),
        (["--param", "novalue"], "KEY=VALUE"),
        (["--train", "missing.csv"], "missing.csv: no such file"),
        (["--train", "table.txt"], "expected a .csv or .parquet"),
        (["--apply", "x.csv"], "needs a --train"),
        (["--param", "ddof=-1"], "ddof"),
    ],
)
def test_user_errors_are_one_line_messages(
    argv, message, capsys, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "table.txt").write_text("a\n1\n")
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("skprep: error:") and len(err.strip().splitlines()) == 1
    assert pytest.importorskip("re").search(message, err)


def test_empty_and_text_only_tables_are_refused(tmp_path, capsys):
    (tmp_path / "empty.csv").write_text("a,b\n")
    (tmp_path / "text.csv").write_text("name\nx\ny\n")
    assert main(["--train", str(tmp_path / "empty.csv")]) == 1
    assert "no rows" in capsys.readouterr().err
    assert main(["--train", str(tmp_path / "text.csv")]) == 1
    assert "no numeric columns" in capsys.readouterr().err


def test_list_methods_names_every_transformer(capsys):
    assert main(["--list-methods"]) == 0
    out = capsys.readouterr().out
    for name, _ in all_estimators("transformer"):
        assert name in out
