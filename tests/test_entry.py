"""The package imports light, and the command answers an early Ctrl-C."""

import os
import signal
import subprocess
import sys
import time

import pytest


def test_importing_skprep_does_not_import_scikit_learn():
    code = "import sys, skprep; print('sklearn' in sys.modules); skprep.PCA"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
def test_ctrl_c_while_the_tool_starts_exits_130_with_one_line():
    # Interrupt during the heavy imports: at most a few tenths of a second in.
    process = subprocess.Popen(
        [sys.executable, "-m", "skprep", "--list-methods"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.15)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    if process.returncode == 0:
        pytest.skip("the tool finished before the signal arrived")
    assert process.returncode == 130, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "interrupted" in lines[0], stderr
    assert "Traceback" not in stderr
