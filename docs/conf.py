"""Sphinx configuration of the skprep documentation."""

import os

import skprep

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
]

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
}
