"""Central finite differences in float64, for checking analytic backward passes."""

import numpy as np


def numerical_gradient(loss, array, h=1e-6):
    """d loss() / d array by central differences, perturbing ``array`` in place.

    Parameters
    ----------
    loss : callable with no arguments returning a float
        Reads ``array`` (and anything else) each time it is called.
    array : ndarray of float64
        Perturbed element by element and restored.
    h : float
        Step.

    Returns
    -------
    ndarray like ``array``
    """
    grad = np.zeros_like(array)
    flat, gflat = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + h
        up = loss()
        flat[i] = saved - h
        down = loss()
        flat[i] = saved
        gflat[i] = (up - down) / (2 * h)
    return grad


def relative_error(analytic, numeric):
    """Largest absolute difference relative to the largest gradient entry.

    Normwise rather than elementwise: entries that are zero up to roundoff (a
    gradient that cancels) would otherwise turn finite-difference noise of order
    1e-10 into a large "relative" error.
    """
    analytic, numeric = np.asarray(analytic), np.asarray(numeric)
    scale = max(np.max(np.abs(analytic)), np.max(np.abs(numeric)), 1e-12)
    return float(np.max(np.abs(analytic - numeric)) / scale)


def check_gradients(run, arrays, analytic, *, tol=1e-7, h=1e-6):
    """Compare analytic gradients with finite differences of ``run``.

    Parameters
    ----------
    run : callable with no arguments returning the scalar loss
    arrays : dict name -> float64 ndarray
        The inputs ``run`` reads, perturbed in place.
    analytic : dict name -> ndarray
        Analytic gradients for the same names.
    tol : float
        Largest relative error accepted.

    Raises
    ------
    AssertionError
        Naming the worst array and its error.
    """
    assert set(arrays) == set(analytic), (sorted(arrays), sorted(analytic))
    for name, array in arrays.items():
        assert array.dtype == np.float64, (
            f"{name} must be float64 for finite differences"
        )
        numeric = numerical_gradient(run, array, h=h)
        error = relative_error(analytic[name], numeric)
        assert error < tol, (
            f"gradient of {name}: relative error {error:.2e} >= {tol:.0e}"
        )
