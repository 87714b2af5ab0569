"""Packaging: lazy submodules, type information shipped, one version."""

import configparser
import re
import subprocess
import sys
from pathlib import Path

import skprep

ROOT = Path(__file__).resolve().parents[1]


def _run(code):
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()


def test_import_skprep_leaves_nn_unloaded_until_touched():
    before, after, layer = _run(
        "import sys, skprep\n"
        "print('skprep.nn' in sys.modules)\n"
        "BatchNorm = skprep.nn.BatchNorm\n"
        "print('skprep.nn' in sys.modules)\n"
        "print(BatchNorm.__module__)\n"
    )
    assert (before, after, layer) == ("False", "True", "skprep.nn.layers")


def test_lazy_submodules_are_listed_and_unknown_names_still_fail():
    assert {"nn", "datasets"} <= set(dir(skprep))
    assert skprep.datasets.load_wine()[0].shape == (178, 13)
    try:
        skprep.not_a_submodule  # noqa: B018
    except AttributeError as exc:
        assert "not_a_submodule" in str(exc)
    else:  # pragma: no cover - the assertion below reports it
        raise AssertionError("skprep.not_a_submodule did not raise AttributeError")


def test_type_information_is_shipped_with_the_package():
    assert (ROOT / "skprep" / "py.typed").is_file()
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    patterns = [p.strip() for p in cfg["options.package_data"]["skprep"].split(",")]
    assert "py.typed" in patterns


def test_version_is_written_once():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    assert cfg["metadata"]["version"].strip() == "attr: skprep.__version__"
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+|rc\d+)?", skprep.__version__)
    # Top-level keys of the YAML file (no YAML parser among the dependencies).
    citation = re.findall(r"^([a-z-]+):", (ROOT / "CITATION.cff").read_text(), re.M)
    assert "version" not in citation
    assert {"cff-version", "message", "title", "authors"} <= set(citation)


def test_onnx_module_without_its_extra_says_what_to_install():
    code = (
        "import sys\n"
        "sys.modules['skl2onnx'] = None  # as if the onnx extra were absent\n"
        "try:\n"
        "    import skprep.onnx\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True
    )
    assert "pip install 'skprep[onnx]'" in result.stdout, result.stderr
