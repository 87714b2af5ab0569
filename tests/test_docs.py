"""The API reference lists every public name."""

from pathlib import Path

import pytest

import skprep
import skprep.datasets
import skprep.nn
from skprep.nn import functional

API = Path(__file__).resolve().parents[1] / "docs" / "api.rst"


@pytest.mark.parametrize(
    "module, skip",
    [
        (skprep, ()),
        (skprep.nn, ("functional",)),
        (functional, ()),
        (skprep.datasets, ()),
    ],
    ids=lambda m: getattr(m, "__name__", ""),
)
def test_every_public_name_is_in_the_api_reference(module, skip):
    listed = {line.strip() for line in API.read_text().splitlines()}
    missing = [
        name for name in module.__all__ if name not in skip and name not in listed
    ]
    assert not missing, f"add to docs/api.rst: {missing}"
