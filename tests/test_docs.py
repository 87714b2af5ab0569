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


DOCS = API.parent


def test_landing_page_example_runs_and_prints_what_the_page_says(capsys):
    text = (DOCS / "index.rst").read_text()
    block = text.split(".. code-block:: python\n\n", 1)[1]
    lines = []
    for line in block.splitlines():
        if line and not line.startswith("    "):
            break
        lines.append(line[4:])
    code = "\n".join(lines).strip()
    assert len([line for line in code.splitlines() if line.strip()]) <= 10
    exec(compile(code, str(DOCS / "index.rst"), "exec"), {})
    printed = capsys.readouterr().out.strip()
    assert f"which prints ``{printed}``" in text


def test_changelog_is_part_of_the_site():
    assert "{include} ../CHANGES.md" in (DOCS / "changes.md").read_text()
    assert "   changes\n" in (DOCS / "index.rst").read_text()
