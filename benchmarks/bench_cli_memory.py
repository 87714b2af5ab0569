"""Peak memory of the ``skprep`` command on a large CSV, chunked and whole.

    python benchmarks/bench_cli_memory.py                 # 1,000,000 rows
    python benchmarks/bench_cli_memory.py --rows 200000   # quicker

Writes a CSV of ``--rows`` rows (10 numeric columns and one text column) to a
temporary folder, then runs ``python -m skprep --train big.csv --apply big.csv``
with ``--chunksize`` and without, each in its own process with stderr on a
pseudo-terminal so the progress bar runs as it would for a person. Each run's
peak resident memory (the child's ``ru_maxrss``) is printed beside two
references measured in the same run: the interpreter with skprep and pandas
imported (the floor no run goes below) and the whole-file run. The last
progress-bar lines of the chunked run are printed as the terminal shows them.
"""

import argparse
import fcntl
import os
import pty
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

# Runs the command given after it as a child and prints the child's peak RSS in
# KiB (Linux reports ru_maxrss in KiB), so each measurement has a fresh maximum.
_WRAPPER = """\
import resource, subprocess, sys
status = subprocess.call(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, status, file=sys.stdout)
"""


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), env.get("PYTHONPATH")])
    )
    return env


def _measure(command, cwd):
    """(peak RSS in MiB, exit status, seconds, terminal text) of ``command``."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", _WRAPPER, *command],
        cwd=cwd,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=slave,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    os.close(slave)
    screen = []

    def drain():
        while True:
            try:
                data = os.read(master, 1 << 16)
            except OSError:
                return
            if not data:
                return
            screen.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    out, _ = process.communicate()
    seconds = time.perf_counter() - started
    reader.join(timeout=10)
    os.close(master)
    last = out.strip().splitlines()[-1].split()
    return int(last[0]) / 1024, int(last[1]), seconds, b"".join(screen).decode()


def _visible(text):
    return [
        line.split("\r")[-1]
        for line in text.replace("\r\n", "\n").split("\n")
        if line.split("\r")[-1].strip()
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunksize", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.csv"
        rng = np.random.default_rng(0)
        frame = pd.DataFrame(
            rng.normal(50, 10, size=(args.rows, 10)),
            columns=[f"x{i}" for i in range(10)],
        )
        frame.insert(5, "city", rng.choice(["Lyon", "Oslo", "Quito"], args.rows))
        frame.to_csv(path, index=False)
        size = path.stat().st_size / 2**20
        del frame
        print(f"table: {args.rows:,} rows x 11 columns, {size:.0f} MiB of CSV")
        floor, *_ = _measure(
            [sys.executable, "-c", "import pandas, skprep.cli, tqdm"], folder
        )
        runs = {}
        for name, extra in (
            ("chunked", ["--chunksize", str(args.chunksize), "--output-dir", "c"]),
            ("whole file", ["--output-dir", "w"]),
        ):
            command = [
                sys.executable,
                "-m",
                "skprep",
                "--train",
                "big.csv",
                "--apply",
                "big.csv",
                *extra,
            ]
            runs[name] = _measure(command, folder)
            assert runs[name][1] == 0, runs[name][3]
        same = (Path(folder) / "c" / "big.transformed.csv").read_bytes() == (
            Path(folder) / "w" / "big.transformed.csv"
        ).read_bytes()
    print(f"{'run':<12} {'peak RSS':>10} {'above floor':>12} {'time':>8}")
    print(f"{'floor':<12} {floor:>7.0f} MiB {'':>12} {'':>8}  (imports only)")
    for name, (peak, _, seconds, _) in runs.items():
        print(f"{name:<12} {peak:>7.0f} MiB {peak - floor:>8.0f} MiB {seconds:>7.1f}s")
    chunked, whole = runs["chunked"][0] - floor, runs["whole file"][0] - floor
    print(f"chunked / whole file, above the floor: {chunked / whole:.2f}")
    print(f"outputs byte-identical: {same}")
    print("\nthe chunked run's terminal (stderr), as left on screen:")
    for line in _visible(runs["chunked"][3]):
        print("  " + line)


if __name__ == "__main__":
    main()
