"""Sphinx configuration of the skprep documentation."""

import importlib.util
import os
from pathlib import Path

import skprep
from skprep.cli import build_parser

project = "skprep"
author = "the skprep developers"
copyright = "2026, the skprep developers"
release = version = skprep.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

# Mathematics is typeset by a copy of MathJax 3 served with the site, never
# fetched from a CDN, so the pages render offline. The django-static-mathjax
# package (docs extra) carries MathJax's files; tex-svg.js draws the glyphs as
# SVG paths, so this one file needs no font files beside it.
_mathjax_package = importlib.util.find_spec("mathjax")
if _mathjax_package is None or not _mathjax_package.submodule_search_locations:
    raise RuntimeError(
        "The docs need MathJax from the docs extra: pip install '.[docs]' "
        "(package django-static-mathjax)."
    )
_MATHJAX = (
    Path(_mathjax_package.submodule_search_locations[0])
    / "static"
    / "mathjax"
    / "es5"
    / "tex-svg.js"
)
html_static_path = [str(_MATHJAX)]
mathjax_path = _MATHJAX.name

autosummary_generate = True
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
templates_path = []
exclude_patterns = [
    "_build",
    "benchmarks.md",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
]

# The numpydoc docstrings give each parameter's type in words; hints in the
# signatures would repeat them less clearly (array-likes are typed Any).
autodoc_typehints = "none"

html_theme = "pydata_sphinx_theme"
html_title = "skprep"
html_theme_options = {"navigation_with_keys": False}

os.environ.setdefault("MPLBACKEND", "Agg")
sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    # The computation-time tables load jQuery and DataTables from CDNs; the
    # site must work offline (each example still shows its own running time).
    "write_computation_times": False,
}

# The CLI page shows the tool's real --help text, regenerated on every build.
Path(__file__).with_name("generated_cli_help.txt").write_text(
    build_parser().format_help(), encoding="utf-8"
)
