"""The package finds its bundled data when imported from outside the source tree."""

import os
import subprocess
import sys

import pytest


def test_bundled_data_loads_from_the_installed_package(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    probe = subprocess.run(
        [sys.executable, "-c", "import skprep; print(skprep.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        pytest.skip("skprep is not installed; only the source tree is importable")
    code = (
        "import skprep.datasets as d\n"
        "for name in d.list_datasets():\n"
        "    X, y = getattr(d, 'load_' + name)()\n"
        "    print(name, X.shape)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "wine (178, 13)" in result.stdout
    assert "digits (1797, 64)" in result.stdout
    assert "breast_cancer (569, 30)" in result.stdout
