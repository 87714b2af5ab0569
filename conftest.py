"""Test-session set-up shared by the test suite and the doctests."""

import importlib.util
import os

# scikit-learn's common checks include an array-API check that is skipped unless
# SciPy's array-API mode is on; it must be set before SciPy is first imported, so
# it goes here, ahead of every test module. With NumPy inputs the results are the
# same either way, so turning it on only makes the check run instead of skipping.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

# skprep/onnx.py imports skl2onnx at the top, so without the onnx extra its
# doctest collection would be an error instead of a skip (tests/test_onnx.py
# skips on its own).
collect_ignore = [] if importlib.util.find_spec("skl2onnx") else ["skprep/onnx.py"]
