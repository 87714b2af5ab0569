"""Model files of the ``skprep`` command: skops by default, pickles only if trusted."""

import pickle
import zipfile

import joblib
import numpy as np
import pandas as pd
import pytest

from skprep import ZScoreScaler
from skprep.cli import main

from .cli_support import error_line, missing_module, skprep, transform_argv

sio = pytest.importorskip("skops.io")


@pytest.fixture
def tables(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(5, 2, size=(50, 2)), columns=["a", "b"])
    frame.insert(1, "tag", [f"k{i}" for i in range(50)])
    frame.to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[:10].to_csv(tmp_path / "new.csv", index=False)
    return frame


def test_saved_model_is_skops_and_applies_like_the_fit(tables, tmp_path):
    result = skprep(
        "--train",
        "train.csv",
        "--apply",
        "new.csv",
        "--save-model",
        "m.skops",
        "--output-dir",
        "fit",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert zipfile.is_zipfile(tmp_path / "m.skops")
    loaded = sio.load(
        tmp_path / "m.skops", trusted=sio.get_untrusted_types(file=tmp_path / "m.skops")
    )
    reference = ZScoreScaler().fit(tables[["a", "b"]])
    np.testing.assert_allclose(loaded.mean_, reference.mean_, rtol=1e-14)
    result = skprep(
        "--load-model",
        "m.skops",
        "--apply",
        "new.csv",
        "--output-dir",
        "load",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "load" / "new.transformed.csv").read_bytes() == (
        tmp_path / "fit" / "new.transformed.csv"
    ).read_bytes()


class _CreatesAFile:
    """Unpickling this calls open(path, "w"): a stand-in for any code a pickle runs."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_pickle_that_runs_code_is_refused_without_trust_pickle(tables, tmp_path):
    marker = tmp_path / "created-by-the-pickle"
    (tmp_path / "evil.joblib").write_bytes(pickle.dumps(_CreatesAFile(marker)))
    args = ["--load-model", "evil.joblib", "--apply", "new.csv", "--output-dir", "o"]
    line = error_line(skprep(*args, cwd=tmp_path))
    assert "evil.joblib" in line and "--trust-pickle" in line
    assert not marker.exists()
    # The file really runs code when unpickled: with the flag, it does.
    line = error_line(skprep(*args, "--trust-pickle", cwd=tmp_path))
    assert marker.exists() and "not a transformer" in line
    assert not (tmp_path / "o").exists()


def test_a_trusted_pickle_of_a_fitted_transformer_loads(tables, tmp_path, capsys):
    joblib.dump(ZScoreScaler().fit(tables[["a", "b"]]), tmp_path / "m.joblib")
    argv = transform_argv(tmp_path, model="m.joblib")
    assert main(argv) == 1
    assert main([*argv, "--trust-pickle"]) == 0
    written = pd.read_csv(tmp_path / "o" / "new.transformed.csv")
    x = tables["a"].to_numpy()
    expected = (x[:10] - x.mean()) / x.std()
    np.testing.assert_allclose(written["a"], expected, rtol=1e-12)


def test_a_skops_file_with_types_skprep_does_not_write_is_refused(
    tables, tmp_path, capsys
):
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit(tables[["a"]], tables["b"])
    sio.dump(model, tmp_path / "other.skops")
    argv = transform_argv(tmp_path, model="other.skops")
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "refused" in err and "sklearn.linear_model._base.LinearRegression" in err
    assert len(err.strip().splitlines()) == 1
    # A skops model of skprep's own types inside a scikit-learn pipeline loads.
    from sklearn.pipeline import make_pipeline

    from skprep import PCA

    pipe = make_pipeline(ZScoreScaler(), PCA(n_components=1)).fit(tables[["a", "b"]])
    sio.dump(pipe, tmp_path / "pipe.skops")
    argv[1] = str(tmp_path / "pipe.skops")
    assert main(argv) == 0, capsys.readouterr().err
    assert list(pd.read_csv(tmp_path / "o" / "new.transformed.csv").columns) == [
        "pca0",
        "tag",
    ]


def test_existing_model_file_is_kept_unless_overwrite(tables, tmp_path, capsys):
    (tmp_path / "m.skops").write_text("old")
    argv = [
        "--train",
        str(tmp_path / "train.csv"),
        "--save-model",
        str(tmp_path / "m.skops"),
    ]
    assert main(argv) == 1
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert (tmp_path / "m.skops").read_text() == "old"
    assert main([*argv, "--overwrite"]) == 0
    assert zipfile.is_zipfile(tmp_path / "m.skops")


def test_saving_without_skops_names_the_extra_before_fitting(tables, tmp_path):
    shadow = missing_module(tmp_path / "shadow", "skops")
    result = skprep(
        "--train", "train.csv", "--save-model", "m.skops", cwd=tmp_path, shadow=shadow
    )
    line = error_line(result)
    assert 'pip install "skprep[cli]"' in line
    assert "fitted" not in result.stdout and not (tmp_path / "m.skops").exists()


@pytest.mark.parametrize(
    "content",
    [b"d,x_a,x_b\n1,2,3\n", b"", b"x\x9c not zlib", b"\x80\x07 no such protocol"],
    ids=["csv", "empty", "x-text", "bad-protocol"],
)
def test_a_file_that_is_not_a_pickle_is_never_unpickled(
    tables, tmp_path, monkeypatch, capsys, content
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.joblib").write_bytes(content)
    args = ["--load-model", "model.joblib", "--apply", "new.csv", "--output-dir", "o"]
    for extra in ([], ["--trust-pickle"]):
        assert main([*args, *extra]) == 1
        err = capsys.readouterr().err
        assert err.strip() == (
            "skprep: error: model.joblib: not a skops model and not a pickle/joblib "
            "file"
        )
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("compress", [0, 3, "gzip", "bz2", "xz", "lzma"])
def test_joblib_files_plain_or_compressed_are_recognised_as_pickles(
    tables, tmp_path, capsys, compress
):
    joblib.dump(
        ZScoreScaler().fit(tables[["a", "b"]]), tmp_path / "m.joblib", compress=compress
    )
    argv = transform_argv(tmp_path, model="m.joblib")
    assert main(argv) == 1
    assert "--trust-pickle" in capsys.readouterr().err
    assert main([*argv, "--trust-pickle"]) == 0


def test_save_model_into_a_missing_folder_makes_it(tables, tmp_path):
    result = skprep(
        "--train", "train.csv", "--save-model", "new/sub/m.skops", "-q", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert zipfile.is_zipfile(tmp_path / "new" / "sub" / "m.skops")


@pytest.mark.parametrize("demo", [False, True], ids=["files", "demo"])
def test_save_model_under_a_file_is_refused_before_the_fit(
    tables, tmp_path, monkeypatch, capsys, demo
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    # A fit would fail on this training table: the refusal comes before it.
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n3,x\n")
    train = [] if demo else ["--train", "bad.csv", "--columns", "b"]
    assert main([*train, "--save-model", "afile/m.skops"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        "skprep: error: --save-model afile/m.skops: afile is a file, not a folder"
    )
    assert [p.name for p in tmp_path.glob("**/*.part")] == []
