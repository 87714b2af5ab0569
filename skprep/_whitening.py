"""Whitening: the Kessy-Lewin-Strimmer family of decorrelating transforms."""

from numbers import Real

import numpy as np
import scipy.linalg
from sklearn.covariance import ledoit_wolf_shrinkage

from ._base import MomentsEstimator, ProjectionMixin, check_fitted, warn
from ._compat import Interval, StrOptions, _check_feature_names_in
from ._dask import is_dask_collection
from ._linalg import eigh_descending, moment_constant_features, rank_mask, safe_scale
from ._moments import moments

__all__ = ["Whitening"]

_FLOATS = [np.float64, np.float32]
_ONE_TO_ONE = ("zca", "zca-cor", "cholesky")


class Whitening(ProjectionMixin, MomentsEstimator):
    r"""Decorrelate features: training output has zero mean and identity covariance.

    A whitening matrix :math:`W` maps centred data to :math:`z = W (x - \mu)` with
    :math:`\operatorname{cov}(z) = W \Sigma W^\top = I`. Every such :math:`W`
    satisfies :math:`W^\top W = \Sigma^{-1}`; they differ by a rotation, and each
    method picks the rotation that is optimal for one criterion (Kessy, Lewin &
    Strimmer 2018). With :math:`\Sigma = U \Lambda U^\top`, the correlation matrix
    :math:`P = V^{-1/2} \Sigma V^{-1/2} = G \Theta G^\top` and
    :math:`V = \operatorname{diag}(\Sigma)`:

    ``"zca"``
        :math:`W = \Sigma^{-1/2} = U \Lambda^{-1/2} U^\top` (symmetric). The
        whitened data are as close as possible to the original: it maximises the
        trace of the cross-covariance :math:`\Phi = \operatorname{cov}(z, x)`.
    ``"pca"``
        :math:`W = \Lambda^{-1/2} U^\top`. Maximal compression: the first
        :math:`k` whitened components carry as much squared cross-covariance with
        :math:`x` as any :math:`k` whitened components can.
    ``"zca-cor"``
        :math:`W = P^{-1/2} V^{-1/2}`; maximises the trace of the
        cross-correlation :math:`\Psi = \operatorname{cor}(z, x)`. Invariant to
        rescaling any input feature.
    ``"pca-cor"``
        :math:`W = \Theta^{-1/2} G^\top V^{-1/2}`; maximal compression of the
        cross-correlation; invariant to rescaling.
    ``"cholesky"``
        :math:`W = L^\top` where :math:`L L^\top = \Sigma^{-1}` is the Cholesky
        factorisation of the precision with :math:`L` lower triangular. :math:`W`
        is upper triangular with a positive diagonal and the cross-covariance
        :math:`\Phi = L^{-1}` is lower triangular: the first whitened feature only
        depends on the first feature, the second on the first two, and so on.

    Eigenvector signs follow one convention (largest-magnitude entry positive),
    so ``"pca"`` and ``"pca-cor"`` are deterministic.

    Parameters
    ----------
    method : {"zca", "pca", "zca-cor", "pca-cor", "cholesky"}, default="zca"
        Which whitening matrix to use.
    eps : float, default=0.0
        Regulariser added to the eigenvalues: ``"zca"`` uses
        :math:`(\Sigma + \epsilon I)^{-1/2}`, ``"pca"``
        :math:`(\Lambda + \epsilon I)^{-1/2} U^\top`, the ``-cor`` methods the same
        on :math:`P`, ``"cholesky"`` factorises :math:`(\Sigma + \epsilon I)^{-1}`.
        With ``eps > 0`` the whitened training data no longer have identity
        covariance but :math:`U \operatorname{diag}(\lambda_j / (\lambda_j +
        \epsilon)) U^\top` (ZCA; the diagonal alone for PCA): directions with
        variance well above ``eps`` are whitened, weaker ones are damped instead
        of amplified.
    shrinkage : None, "ledoit-wolf" or float in [0, 1], default=None
        Shrink the covariance towards a scaled identity before decomposing it:
        :math:`(1 - s)\Sigma + s\,\tfrac{\operatorname{tr}\Sigma}{p} I`.
        ``"ledoit-wolf"`` estimates :math:`s` from the training data (it needs
        the rows themselves, so it is available in ``fit`` but not in
        ``partial_fit``).
    rtol : float or None, default=None
        Eigenvalues at most ``rtol`` times the largest are treated as zero: their
        directions carry no training variance, so they are dropped (rank
        truncation, with a warning that says how many) rather than multiplied by
        :math:`1/\sqrt{\lambda}`. None: ``max(n_samples, n_features) * eps``
        (float64), the roundoff level of the covariance and its decomposition,
        as in ``numpy.linalg.matrix_rank``; the same rule as
        ``PCA(whiten=True)``.
    ddof : int, default=1
        Degrees of freedom of the covariance (``np.cov``'s default); the whitened
        training data have identity covariance at the same ``ddof``.
    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Training mean.
    covariance_ : ndarray of shape (n_features, n_features)
        Training covariance after shrinkage.
    shrinkage_ : float
        Shrinkage intensity used (0 without shrinkage).
    whitening_matrix_ : ndarray of shape (`n_components_`, n_features)
        :math:`W`; ``transform(X) = (X - mean_) @ whitening_matrix_.T``.
    colouring_matrix_ : ndarray of shape (n_features, `n_components_`)
        Inverse map used by ``inverse_transform`` (the pseudo-inverse of
        :math:`W`).
    rank_ : int
        Number of eigenvalues above ``rtol`` times the largest.
    n_components_ : int
        Output columns: ``n_features`` for ``"zca"``, ``"zca-cor"`` and
        ``"cholesky"``, ``rank_`` for ``"pca"`` and ``"pca-cor"``.
    n_samples_seen_ : int
        Rows seen in training.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when ``X`` was a DataFrame with string column names.

    See Also
    --------
    PCA : Principal components, optionally whitened and truncated.

    Notes
    -----
    Singular covariance (fewer rows than features, constant or duplicated
    columns): directions whose eigenvalue is below ``rtol`` times the largest are
    dropped. New rows are projected on the retained directions, so their output
    stays finite and of the same scale as the training output; the covariance of
    the whitened training data is then the identity on the retained subspace
    (the projector :math:`U_r U_r^\top` for the ZCA methods). ``"cholesky"``
    needs a positive definite matrix and raises a clear error on singular
    covariance unless ``eps`` or ``shrinkage`` is set. Constant features are not
    rescaled by the ``-cor`` methods (scale 1). The decomposition is done in
    float64; float32 input gives float32 output.

    References
    ----------
    A. Kessy, A. Lewin and K. Strimmer (2018). Optimal whitening and
    decorrelation. The American Statistician, 72(4), 309-314.

    Examples
    --------
    >>> import numpy as np
    >>> from skprep import Whitening
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(1000, 2)) @ np.array([[2.0, 1.5], [0.0, 0.5]])
    >>> Z = Whitening(method="zca").fit_transform(X)
    >>> bool(np.allclose(np.cov(Z.T), np.eye(2)))
    True
    >>> w = Whitening(method="zca").fit(X).whitening_matrix_
    >>> bool(np.allclose(w, w.T))
    True
    """

    _fitted_attribute = "whitening_matrix_"

    _parameter_constraints: dict = {
        "method": [StrOptions({"zca", "pca", "zca-cor", "pca-cor", "cholesky"})],
        "eps": [Interval(Real, 0, None, closed="left")],
        "shrinkage": [
            None,
            StrOptions({"ledoit-wolf"}),
            Interval(Real, 0, 1, closed="both"),
        ],
        "rtol": [Interval(Real, 0, 1, closed="left"), None],
        "ddof": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, method="zca", *, eps=0.0, shrinkage=None, rtol=None, ddof=1):
        self.method = method
        self.eps = eps
        self.shrinkage = shrinkage
        self.rtol = rtol
        self.ddof = ddof

    def _fit(self, X, sample_weight, *, reset):
        if self.shrinkage != "ledoit-wolf":
            return super()._fit(X, sample_weight, reset=reset)
        if not reset or is_dask_collection(X) or sample_weight is not None:
            raise ValueError(
                "shrinkage='ledoit-wolf' estimates its intensity from all the "
                "unweighted rows at once, so it is available in an in-memory fit "
                "only, not in partial_fit, on a Dask collection or with "
                "sample_weight; pass a float shrinkage instead."
            )
        self._reset()
        X = self._validate_batch(X, reset=True, min_samples=self._min_fit_samples())
        stats = moments(X, **self._moments_request())  # refuses NaN and infinity
        # The optimal intensity needs fourth moments, which only the rows have.
        centred = np.asarray(X, dtype=np.float64) - stats.mean
        self._fit_shrinkage = float(
            ledoit_wolf_shrinkage(centred, assume_centered=True)
        )
        return self._accumulate(stats, whole=True)

    def _min_fit_samples(self):
        return int(self.ddof) + 1

    def _moments_request(self):
        return {"var": False, "scatter": True}

    def _unready(self, stats):
        total = float(stats.weight[0]) if stats.n_features else 0.0
        if total > self.ddof:
            return None
        return (
            f"a covariance with ddof={self.ddof} needs a total sample weight (rows, "
            f"without sample_weight) above {self.ddof}; it has {total:g}."
        )

    def _derive_fitted(self, stats):
        n = stats.n_rows
        cov = stats.covariance(ddof=self.ddof)
        s = self._shrinkage_intensity()
        if s > 0:
            target = np.trace(cov) / cov.shape[0]
            cov = (1.0 - s) * cov
            cov.flat[:: cov.shape[0] + 1] += s * target
        self.n_samples_seen_ = n
        self.mean_ = stats.mean.copy()
        self.covariance_ = cov
        self.shrinkage_ = s
        whitening, colouring, rank = _whitening_matrices(
            cov, self.method, eps=self.eps, rtol=self.rtol, mean=stats.mean, n_samples=n
        )
        p = cov.shape[0]
        if rank < p and self.method != "cholesky":
            warn(
                f"The training covariance has numerical rank {rank} of {p}: "
                f"{p - rank} of its eigenvalues are zero up to roundoff (at most "
                "rtol times the largest), so their directions carry no training "
                "variance and are dropped. Fewer rows than features, constant or "
                "duplicated columns cause this.",
            )
        self.whitening_matrix_ = whitening
        self.colouring_matrix_ = colouring
        self.rank_ = rank
        self.n_components_ = whitening.shape[0]

    def _shrinkage_intensity(self):
        if self.shrinkage is None:
            return 0.0
        if self.shrinkage == "ledoit-wolf":
            return self._fit_shrinkage
        return float(self.shrinkage)

    def _projection(self):
        return self.whitening_matrix_.T

    def _reconstruction(self):
        return self.colouring_matrix_.T

    def get_feature_names_out(self, input_features=None):
        """Output feature names.

        The methods that keep one output per input feature (``"zca"``,
        ``"zca-cor"``, ``"cholesky"``) keep the input names; ``"pca"`` and
        ``"pca-cor"`` name their components ``whitening0``, ``whitening1``, ...

        Parameters
        ----------
        input_features : array-like of str or None
            Input names; ``feature_names_in_`` (or ``x0``, ``x1``, ...) when None.

        Returns
        -------
        ndarray of str
        """
        check_fitted(self)
        names = _check_feature_names_in(self, input_features)
        if self.method in _ONE_TO_ONE:
            return names
        return np.asarray(
            [f"whitening{i}" for i in range(self.n_components_)], dtype=object
        )


def _whitening_matrices(cov, method, *, eps, rtol, mean, n_samples):
    """Whitening matrix, its pseudo-inverse and the numerical rank.

    Parameters
    ----------
    cov : ndarray of shape (p, p)
        Covariance (after shrinkage).
    method : str
    eps, rtol : float
    mean : ndarray of shape (p,)
        Training mean, for the constant-feature test.
    n_samples : int
        Training rows, for the rank tolerance.

    Returns
    -------
    whitening : ndarray of shape (k, p)
    colouring : ndarray of shape (p, k)
    rank : int
    """
    p = cov.shape[0]
    if method == "cholesky":
        return _cholesky_matrices(cov, eps=eps, rtol=rtol, n_samples=n_samples)
    if method.endswith("-cor"):
        variances = np.diag(cov).copy()
        # Constant features keep scale 1: their row and column of the correlation
        # matrix are zero, so they fall into the dropped null space below.
        scale = safe_scale(
            np.sqrt(variances), moment_constant_features(variances, mean)
        )
        target = cov / np.outer(scale, scale)
    else:
        scale = np.ones(p)
        target = cov
    values, vectors = eigh_descending(target)
    keep = rank_mask(values, rtol, n_samples=n_samples, n_features=p)
    rank = int(keep.sum())
    values, vectors = values[keep], vectors[:, keep]
    root = np.sqrt(values + eps)
    if method.startswith("zca"):
        whitening = (vectors / root) @ vectors.T
        colouring = (vectors * root) @ vectors.T
    else:
        whitening = vectors.T / root[:, None]
        colouring = vectors * root
    # Fold the standardisation of the -cor methods into the matrices.
    whitening = whitening / scale
    colouring = colouring * scale[:, None]
    return whitening, colouring, rank


def _cholesky_matrices(cov, *, eps, rtol, n_samples):
    p = cov.shape[0]
    values, _ = eigh_descending(cov)
    rank = int(rank_mask(values, rtol, n_samples=n_samples, n_features=p).sum())
    regularised = cov + eps * np.eye(p)
    if rank < p and eps == 0:
        raise ValueError(
            f"The training covariance is singular (numerical rank {rank} < {p} "
            "features), and Cholesky whitening needs a positive definite matrix. Set "
            "eps > 0 or shrinkage, or use a method that truncates the rank "
            "(zca, pca, zca-cor, pca-cor)."
        )
    # Write cov = U U^T with U upper triangular (the Cholesky factor of the
    # row- and column-reversed matrix, reversed back). Then inv(cov) = U^-T U^-1,
    # so W = U^-1 is upper triangular with W^T W = inv(cov): W = L^T for the
    # lower Cholesky factor L of the precision, and U itself colours.
    lower_of_reversed = scipy.linalg.cholesky(regularised[::-1, ::-1], lower=True)
    upper = lower_of_reversed[::-1, ::-1]
    whitening = scipy.linalg.solve_triangular(upper, np.eye(p), lower=False)
    return whitening, upper, rank
