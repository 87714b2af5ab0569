"""Running the real ``skprep`` command on files a test writes."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def command_env(extra_path=None):
    """The environment of a child process that imports this checkout's skprep."""
    env = dict(os.environ)
    paths = [str(ROOT)] + ([str(extra_path)] if extra_path else [])
    if extra_path:
        paths.reverse()  # a stand-in module must shadow the installed one
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.pop("COLUMNS", None)
    return env


def skprep(*args, cwd, shadow=None, timeout=120):
    """Run ``python -m skprep ARGS`` in ``cwd``; ``shadow`` is a folder put first on
    the import path (modules there stand in for installed packages)."""
    return subprocess.run(
        [sys.executable, "-m", "skprep", *map(str, args)],
        cwd=cwd,
        env=command_env(shadow),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def error_line(result, status=1):
    """Check that ``result`` failed with ``status`` and one stderr line; return it."""
    assert result.returncode == status, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("skprep: error: "), lines[0]
    return lines[0]


def missing_module(folder, *names):
    """Make ``folder`` hold stand-ins for ``names`` that fail to import."""
    for name in names:
        package = Path(folder) / name
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text(
            f"raise ImportError({f'No module named {name} (test stand-in)'!r})\n"
        )
    return folder


def transform_argv(tmp_path, *, train=None, model=None, apply="new.csv", method=None):
    """The command line that fits ``train`` (or loads ``model``) and transforms
    ``apply`` into the folder ``o``, all in ``tmp_path``."""
    argv = [] if method is None else ["--method", method]
    if train is not None:
        argv += ["--train", str(tmp_path / train)]
    if model is not None:
        argv += ["--load-model", str(tmp_path / model)]
    return [
        *argv,
        "--apply",
        str(tmp_path / apply),
        "--output-dir",
        str(tmp_path / "o"),
    ]
