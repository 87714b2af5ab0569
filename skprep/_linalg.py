"""Small numerical helpers shared by the scalers, PCA and whitening."""

import numpy as np

__all__ = ["constant_feature_mask", "safe_scale"]


def constant_feature_mask(var, mean, n_samples):
    """Features whose variance is indistinguishable from roundoff.

    A feature whose values are all equal can still show a variance of a few ulps
    of its mean squared after centring in floating point. The bound below is the
    error of a centred two-pass variance: relative ``n * eps`` of the variance
    itself plus the squared error of the mean.
    """
    eps = np.finfo(np.float64).eps
    n = np.asarray(n_samples, dtype=np.float64)
    bound = n * eps * var + (n * np.abs(mean) * eps) ** 2
    return var <= bound


def safe_scale(scale, constant):
    """Replace the scale of constant features by 1 so that dividing is a no-op.

    Parameters
    ----------
    scale : ndarray of shape (n_features,)
    constant : ndarray of bool, shape (n_features,)

    Returns
    -------
    ndarray of shape (n_features,)
        A copy of ``scale`` with 1.0 wherever ``constant`` is true or the scale is
        not a positive finite number.
    """
    scale = np.array(scale, dtype=np.float64, copy=True)
    bad = constant | ~np.isfinite(scale) | (scale <= 0)
    scale[bad] = 1.0
    return scale
