"""Activation normalization layers in NumPy, and estimators built on them."""

__all__ = []
