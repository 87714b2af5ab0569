"""Argument checks shared by the layers: what NumPy users pass is accepted.

Python and NumPy scalars (and 0-d arrays) of the right kind, tuples, lists and
1-d arrays for shapes; anything else raises a one-line error naming the
argument. Booleans are not accepted as numbers, nor numbers as booleans.
"""

import numbers
import operator

import numpy as np

__all__ = ["check_bool", "check_int", "check_real", "check_shape"]


def _is_bool(value):
    return isinstance(value, (bool, np.bool_)) or (
        isinstance(value, np.ndarray) and value.dtype == bool
    )


def check_int(value, name, minimum=1):
    """``value`` as a Python int >= ``minimum``; TypeError or ValueError otherwise."""
    try:
        if _is_bool(value):
            raise TypeError
        number = operator.index(value)
    except TypeError:
        raise TypeError(
            f"{name} must be an integer; got {value!r} of type {type(value).__name__}."
        ) from None
    if number < minimum:
        raise ValueError(f"{name} must be at least {minimum}; got {number}.")
    return number


def check_real(value, name, *, low=None, high=None, low_open=False, none=False):
    """``value`` as a finite Python float in the given range (None if allowed)."""
    if value is None and none:
        return None
    real = isinstance(value, numbers.Real) or (
        isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf"
    )
    if not real or _is_bool(value):
        allowed = "a real number or None" if none else "a real number"
        raise TypeError(
            f"{name} must be {allowed}; got {value!r} of type {type(value).__name__}."
        )
    number = float(value)
    below = low is not None and (number <= low if low_open else number < low)
    if not np.isfinite(number) or below or (high is not None and number > high):
        upper = "inf)" if high is None else f"{high}]"
        bounds = f"{'(' if low_open else '['}{low}, {upper}"
        raise ValueError(f"{name} must be finite and in {bounds}; got {number}.")
    return number


def check_bool(value, name):
    """``value`` as a Python bool; TypeError for anything but a bool."""
    if not _is_bool(value) or np.ndim(value) != 0:
        raise TypeError(
            f"{name} must be True or False; got {value!r} of type "
            f"{type(value).__name__}."
        )
    return bool(value)


def check_shape(value, name):
    """An int or a sequence of positive ints as a tuple of Python ints."""
    if isinstance(value, (tuple, list)) or (
        isinstance(value, np.ndarray) and value.ndim == 1
    ):
        if len(value) == 0:
            raise ValueError(f"{name} must name at least one axis; got {value!r}.")
        return tuple(check_int(v, f"{name}[{i}]") for i, v in enumerate(value))
    try:
        return (check_int(value, name),)
    except TypeError:
        raise TypeError(
            f"{name} must be an integer or a tuple or list of integers; got "
            f"{value!r} of type {type(value).__name__}."
        ) from None
