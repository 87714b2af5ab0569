"""The ``skprep`` command's outputs: complete or absent, no clashes, progress."""

import fcntl
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time

import numpy as np
import pandas as pd
import pytest

from skprep.cli import main

from .cli_support import command_env, error_line, missing_module, skprep, transform_argv


def _small(path, rows=40, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 3)), columns=["a", "b", "c"])
    frame.insert(1, "tag", [f"t{i}" for i in range(rows)])
    frame.to_csv(path, index=False)
    return frame


def test_two_inputs_with_one_output_name_are_refused_before_any_work(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    _small(tmp_path / "x" / "t.csv")
    _small(tmp_path / "y" / "t.csv", seed=1)
    result = skprep(
        "--train",
        "x/t.csv",
        "--apply",
        "x/t.csv",
        "y/t.csv",
        "--output-dir",
        "out",
        "--overwrite",
        cwd=tmp_path,
    )
    line = error_line(result)
    assert "x/t.csv and y/t.csv would both be written to out/t.transformed.csv" in line
    assert result.stdout == "" and not (tmp_path / "out").exists()
    # Not a terminal: no progress bar on stderr.
    assert "\r" not in result.stderr


def test_existing_outputs_are_kept_unless_overwrite(tmp_path, capsys):
    _small(tmp_path / "t.csv")
    out = tmp_path / "o" / "t.transformed.csv"
    out.parent.mkdir()
    out.write_text("precious\n")
    argv = transform_argv(tmp_path, train="t.csv", apply="t.csv")
    assert main(argv) == 1
    assert "t.transformed.csv: exists; pass --overwrite" in capsys.readouterr().err
    assert out.read_text() == "precious\n"
    assert main([*argv, "--overwrite"]) == 0
    assert out.read_text().startswith("a,tag,b,c\n")
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask
    assert sorted(p.name for p in out.parent.iterdir()) == ["t.transformed.csv"]


def test_an_output_never_replaces_an_input(tmp_path, capsys):
    _small(tmp_path / "t.csv")
    _small(tmp_path / "t.transformed.csv")
    before = (tmp_path / "t.transformed.csv").read_bytes()
    argv = [
        "--train",
        str(tmp_path / "t.csv"),
        "--apply",
        str(tmp_path / "t.csv"),
        str(tmp_path / "t.transformed.csv"),
        "--output-dir",
        str(tmp_path),
        "--overwrite",
    ]
    assert main(argv) == 1
    assert "is an input of this run" in capsys.readouterr().err
    assert (tmp_path / "t.transformed.csv").read_bytes() == before


def test_pass_through_columns_keep_their_places(tmp_path, capsys):
    frame = _small(tmp_path / "t.csv")
    frame.insert(0, "id", [f"i{k}" for k in range(len(frame))])
    frame.to_csv(tmp_path / "t.csv", index=False)
    for method, expected in (
        ("MinMaxScaler", ["id", "a", "tag", "b", "c"]),
        ("PCA", ["id", "pca0", "pca1", "pca2", "tag"]),
    ):
        argv = [
            "--method",
            method,
            "--train",
            str(tmp_path / "t.csv"),
            "--apply",
            str(tmp_path / "t.csv"),
            "--output-dir",
            str(tmp_path / method),
        ]
        assert main(argv) == 0, capsys.readouterr().err
        written = pd.read_csv(tmp_path / method / "t.transformed.csv")
        assert list(written.columns) == expected
        assert (written["tag"] == frame["tag"]).all()


def test_ctrl_c_exits_130_in_one_line_and_leaves_no_partial_file(tmp_path):
    rng = np.random.default_rng(0)
    # 64 columns make blocks of 1024 rows, so the output is being written while
    # the small chunks are still read.
    frame = pd.DataFrame(rng.normal(size=(8_000, 64)).round(3))
    frame.columns = [f"c{i}" for i in range(64)]
    frame.iloc[:100].to_csv(tmp_path / "train.csv", index=False)
    frame.to_csv(tmp_path / "big.csv", index=False)
    out = tmp_path / "out"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "skprep",
            "--train",
            "train.csv",
            "--apply",
            "big.csv",
            "--chunksize",
            "2",
            "--output-dir",
            "out",
        ],
        cwd=tmp_path,
        env=command_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        parts = list(out.glob(".*.part")) if out.exists() else []
        if parts and parts[0].stat().st_size > 0:
            break
        time.sleep(0.01)
    assert process.poll() is None, "the run ended before it could be interrupted"
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert stderr.strip().splitlines() == [
        "skprep: interrupted; no output file was left half-written"
    ]
    assert list(out.iterdir()) == []


def _run_on_a_terminal(args, cwd, shadow=None):
    """Run the command with stderr on a pseudo-terminal; return (status, stdout,
    the terminal's text)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "skprep", *args],
        cwd=cwd,
        env=command_env(shadow),
        stdout=subprocess.PIPE,
        stderr=slave,
        text=True,
    )
    os.close(slave)
    received = []

    def drain():
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # the terminal closed with the process
                return
            if not data:
                return
            received.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    stdout, _ = process.communicate(timeout=120)
    reader.join(timeout=30)
    os.close(master)
    return process.returncode, stdout, b"".join(received).decode()


def _visible_lines(text):
    """What stays on screen: of each line, the part after its last carriage return."""
    return [line.split("\r")[-1] for line in text.replace("\r\n", "\n").split("\n")]


@pytest.mark.parametrize("chunked", [False, True], ids=["whole", "chunked"])
def test_progress_bar_on_a_terminal_shows_rows_rate_and_time_left(tmp_path, chunked):
    _small(tmp_path / "t.csv", rows=3000)
    extra = ["--chunksize", "500"] if chunked else []
    status, stdout, screen = _run_on_a_terminal(
        ["--train", "t.csv", "--apply", "t.csv", "--output-dir", "o", *extra],
        tmp_path,
    )
    assert status == 0, screen
    finished = [line for line in _visible_lines(screen) if "100%" in line]
    assert [line.split(":")[0] for line in finished] == [
        "reading t.csv",
        "fitting t.csv",
        "transforming t.csv",
    ]  # each bar ends once, at 100%
    for line in finished:
        assert "3,000 rows" in line and "rows/s" in line
        assert re.search(r"\[\d\d:\d\d<\d\d:\d\d\]", line), line
    assert "wrote o/t.transformed.csv" in stdout


def test_quiet_prints_nothing_on_a_terminal_and_errors_still_show(tmp_path):
    _small(tmp_path / "t.csv", rows=300)
    args = ["--train", "t.csv", "--apply", "t.csv", "--output-dir", "o", "--quiet"]
    status, stdout, screen = _run_on_a_terminal(args, tmp_path)
    assert (status, stdout, screen) == (0, "", "")
    status, stdout, screen = _run_on_a_terminal(args, tmp_path)
    assert status == 1 and stdout == ""
    assert screen.strip().startswith("skprep: error: o/t.transformed.csv: exists")


def test_without_tqdm_the_run_says_so_in_one_line_and_works(tmp_path):
    _small(tmp_path / "t.csv", rows=100)
    shadow = missing_module(tmp_path / "shadow", "tqdm")
    status, stdout, screen = _run_on_a_terminal(
        ["--train", "t.csv", "--apply", "t.csv", "--output-dir", "o"],
        tmp_path,
        shadow=shadow,
    )
    assert status == 0
    assert screen.strip().splitlines() == [
        'skprep: note: no progress bar without tqdm; pip install "skprep[cli]"'
    ]
    assert (tmp_path / "o" / "t.transformed.csv").exists()


def test_output_dir_is_made_when_missing_and_refused_under_a_file(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    _small(tmp_path / "t.csv")
    argv = ["--train", "t.csv", "--apply", "t.csv", "-q"]
    assert main([*argv, "--output-dir", "o1/deeper"]) == 0
    assert (tmp_path / "o1" / "deeper" / "t.transformed.csv").exists()
    # The output file itself as a folder, and a folder below it.
    for folder in ("o1/deeper/t.transformed.csv", "o1/deeper/t.transformed.csv/x"):
        assert main([*argv, "--output-dir", folder, "--overwrite"]) == 1
        err = capsys.readouterr().err
        assert err.strip() == (
            f"skprep: error: --output-dir {folder}: "
            "o1/deeper/t.transformed.csv is a file, not a folder"
        )
    assert [p.name for p in tmp_path.glob("**/.*.part")] == []


def test_the_same_table_given_twice_to_apply_is_a_usage_error(tmp_path, capsys):
    _small(tmp_path / "t.csv")
    _small(tmp_path / "u.csv")
    t = str(tmp_path / "t.csv")
    argv = ["--train", t, "--output-dir", str(tmp_path / "o")]
    assert main([*argv, "--apply", t, str(tmp_path / "u.csv"), t]) == 2
    assert f"--apply: {t} given twice" in capsys.readouterr().err
    other = f"{tmp_path}/./t.csv"
    assert main([*argv, "--apply", t, other]) == 2
    assert f"--apply: {t} and {other} given twice" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
