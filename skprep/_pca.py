"""Principal component analysis by covariance eigendecomposition or by SVD."""

from numbers import Integral, Real

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator
from scipy.special import gammaln
from sklearn.base import ClassNamePrefixFeaturesOutMixin
from sklearn.utils import assert_all_finite, check_random_state
from sklearn.utils.validation import validate_data

from ._base import MomentsEstimator, ProjectionMixin, check_fitted, warn
from ._compat import Interval, RealNotInt, StrOptions, _fit_context, _randomized_svd
from ._config import shared_blas
from ._dask import is_dask_collection
from ._linalg import (
    centred_svd,
    eigh_descending,
    rank_mask,
    sign_flips,
)
from ._moments import moments
from ._typing import Estimator, MatrixLike

__all__ = ["PCA"]

_FLOATS = [np.float64, np.float32]


class PCA(ClassNamePrefixFeaturesOutMixin, ProjectionMixin, MomentsEstimator):
    r"""Principal component analysis with a choice of exact or randomized solver.

    The data are centred with the training mean :math:`\mu` and projected on the
    leading eigenvectors of the sample covariance

    .. math::

        C = \frac{1}{n - 1} (X - \mu)^\top (X - \mu) = Q \Lambda Q^\top,
        \qquad Z = (X - \mu)\, Q_k,

    where :math:`Q_k` holds the eigenvectors of the :math:`k` largest eigenvalues.
    With ``whiten=True`` each component is further divided by
    :math:`\sqrt{\lambda_j}`, so the transformed training data have identity
    covariance.

    Parameters
    ----------
    n_components : int, float in (0, 1), "mle" or None, default=None
        Number of components to keep. A float keeps the fewest components whose
        explained variance ratios add up to at least that fraction (not with
        ``solver="randomized"``). ``"mle"`` maximises Minka's approximate
        evidence (needs ``n_samples >= n_features`` and the ``"eigh"`` or
        ``"svd"`` solver). None keeps ``min(n_samples, n_features)``.
        0 keeps none: the probabilistic model is then the isotropic Gaussian
        :math:`\mathcal{N}(\mu, \sigma^2 I)` with :math:`\sigma^2` the mean
        variance, and ``transform`` returns shape ``(n_samples, 0)``.
    solver : {"auto", "eigh", "svd", "randomized"}, default="auto"
        ``"eigh"`` accumulates the covariance through the streaming moments core
        (row chunks, exact Chan merges) and takes its symmetric
        eigendecomposition: one pass over the data, memory ``O(d^2)``, and
        ``partial_fit`` gives exactly the same model as ``fit``. ``"svd"`` takes the
        thin SVD of the centred data, better conditioned when the data are
        ill-conditioned (it never squares the condition number). ``"randomized"``
        uses a randomized SVD (Halko et al.), for many features and few components.
        ``"auto"`` picks ``"eigh"`` when ``n_features <= 1000`` and
        ``n_samples >= 10 * n_features`` (the covariance is small and cheap),
        ``"randomized"`` when ``n_components`` is an int below 80% of
        ``min(n_samples, n_features)`` and the larger dimension exceeds 500, and
        ``"svd"`` otherwise. ``partial_fit`` always uses ``"eigh"``.
    whiten : bool, default=False
        Divide each component by the square root of its explained variance.
        Components whose variance is zero up to roundoff (see ``rtol``) carry
        no training variance; their output is set to 0, as it is for the
        training rows, with a warning.
    rtol : float or None, default=None
        With ``whiten=True``, explained variances at most ``rtol`` times the
        largest count as zero. None: ``max(n_samples, n_features) * eps``
        (float64), the rule of ``numpy.linalg.matrix_rank`` and of
        :class:`Whitening`.
    random_state : int, RandomState instance or None, default=None
        Seed of the randomized solver.
    n_oversamples : int, default=10
        Extra random vectors of the randomized solver.
    n_iter : int or "auto", default="auto"
        Power iterations of the randomized solver. "auto": 7 when
        ``n_components`` is below a tenth of ``min(n_samples, n_features)``,
        4 otherwise (the rule and the random draws of scikit-learn's
        ``PCA(svd_solver="randomized")``, so both give the same components for
        the same integer ``random_state``).

    Attributes
    ----------
    components_ : ndarray of shape (`n_components_`, n_features)
        Principal axes, by decreasing explained variance. Sign convention: the
        entry of largest magnitude of each component is positive, whatever the
        solver.
    explained_variance_ : ndarray of shape (`n_components_`,)
        Variance along each component (eigenvalues of :math:`C`, ddof=1).
    explained_variance_ratio_ : ndarray of shape (`n_components_`,)
        Fraction of the total variance along each component.
    singular_values_ : ndarray of shape (`n_components_`,)
        Singular values of the centred data, :math:`\sqrt{(n - 1)\lambda_j}`.
    mean_ : ndarray of shape (n_features,)
        Training mean.
    n_components_ : int
        Number of components kept.
    noise_variance_ : float
        Mean of the discarded eigenvalues (probabilistic PCA noise, Tipping &
        Bishop 1999); 0 when none are discarded.
    n_samples_seen_ : int
        Rows seen in training.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when ``X`` was a DataFrame with string column names.

    See Also
    --------
    Whitening : Decorrelate all features, with PCA, ZCA, their correlation-based
        variants or Cholesky.

    Notes
    -----
    ``score`` and ``score_samples`` give the log-likelihood of the probabilistic
    PCA model :math:`\mathcal{N}(\mu, W W^\top + \sigma^2 I)`, so a grid search can
    choose ``n_components`` without labels. The decomposition is done in float64;
    float32 input gives float32 output.

    Sparse input (CSR/CSC) is centred implicitly and never densified; the
    ``"svd"`` solver refuses it (a ValueError naming the solvers that take it).

    References
    ----------
    T. P. Minka (2000). Automatic choice of dimensionality for PCA. Advances in
    Neural Information Processing Systems 13, 598-604.

    M. E. Tipping and C. M. Bishop (1999). Probabilistic principal component
    analysis. Journal of the Royal Statistical Society B, 61(3), 611-622.

    N. Halko, P. G. Martinsson and J. A. Tropp (2011). Finding structure with
    randomness. SIAM Review, 53(2), 217-288.

    Examples
    --------
    >>> import numpy as np
    >>> from skprep import PCA
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3)) @ np.array([[3, 0, 0], [1, 1, 0], [0, 0, 0.1]])
    >>> pca = PCA(n_components=2, solver="eigh").fit(X)
    >>> pca.explained_variance_ratio_.round(3)
    array([0.9..., 0.0...])
    >>> svd = PCA(n_components=2, solver="svd").fit(X)
    >>> bool(np.allclose(pca.components_, svd.components_))
    True
    >>> pca.transform(X).shape
    (500, 2)
    """

    _accept_sparse = True
    _fitted_attribute = "components_"

    _parameter_constraints: dict = {
        "n_components": [
            Interval(Integral, 0, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="neither"),
            StrOptions({"mle"}),
            None,
        ],
        "solver": [StrOptions({"auto", "eigh", "svd", "randomized"})],
        "whiten": ["boolean"],
        "rtol": [Interval(Real, 0, 1, closed="left"), None],
        "random_state": ["random_state"],
        "n_oversamples": [Interval(Integral, 0, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
    }

    def __init__(
        self,
        n_components=None,
        *,
        solver="auto",
        whiten=False,
        rtol=None,
        random_state=None,
        n_oversamples=10,
        n_iter="auto",
    ):
        self.n_components = n_components
        self.solver = solver
        self.whiten = whiten
        self.rtol = rtol
        self.random_state = random_state
        self.n_oversamples = n_oversamples
        self.n_iter = n_iter

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self: Estimator, X: MatrixLike, y: object = None) -> Estimator:
        """Fit the principal components of ``X`` (no sample weights: the
        components of a weighted null space would not be defined by the rows).

        Parameters
        ----------
        X : {array-like, sparse matrix, Dask array} of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        self : PCA
        """
        return self._fit(X, None, reset=True)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self: Estimator, X: MatrixLike, y: object = None) -> Estimator:
        """Merge one more batch into the covariance (``"eigh"`` solver only).

        Parameters
        ----------
        X : {array-like, sparse matrix, Dask array} of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        self : PCA
        """
        return self._fit(X, None, reset=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X: MatrixLike, y: object = None) -> MatrixLike:
        """Fit the model on ``X`` and return its component scores.

        The ``"svd"`` and ``"randomized"`` solvers return :math:`U S` from the
        factorisation itself rather than projecting ``X`` in a second pass; it
        equals ``transform(X)`` to roundoff.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        X_new : ndarray of shape (n_samples, `n_components_`)
            Same floating dtype as the input.
        """
        if is_dask_collection(X):
            return self._fit(X, None, reset=True).transform(X)
        validated, scores = self._fit_in_memory(X, None, scores=True)
        if scores is None:
            return self.transform(X)  # the input as given: it has the names
        X = validated
        if self.whiten:
            scores *= self._whitening_factors()
        return scores.astype(X.dtype, copy=False)

    def _fit(self, X, sample_weight, *, reset):
        if reset and not is_dask_collection(X):
            self._fit_in_memory(X, sample_weight)
            return self
        # partial_fit and Dask collections go through the covariance.
        if self.solver in ("svd", "randomized"):
            raise ValueError(
                f"{'partial_fit' if not reset else 'Fitting a Dask collection'} "
                f"needs the covariance-based solver; solver={self.solver!r} works "
                "on the whole data matrix. Use solver='eigh' (or 'auto')."
            )
        self.solver_ = "eigh"
        return super()._fit(X, sample_weight, reset=reset)

    def _fit_in_memory(self, X, sample_weight, scores=False):
        """``fit`` on in-memory ``X``; returns the validated ``X`` and the
        component scores :math:`U S` where the solver factorises the data
        (None for ``"eigh"``)."""
        self._reset()
        X = self._validate_batch(X, reset=True, min_samples=2)
        solver = self._resolve_solver(X)
        self.solver_ = solver
        if solver == "eigh":
            if isinstance(self.n_components, Integral):
                self._check_n_components(self.n_components, *X.shape)
            self._accumulate(moments(X, **self._moments_request()), whole=True)
            return X, None
        if not sp.issparse(X):
            assert_all_finite(X, input_name="X", estimator_name=type(self).__name__)
        return X, self._fit_svd(X, solver, scores)

    def _min_fit_samples(self):
        return 2

    def _moments_request(self):
        return {"var": False, "scatter": True}

    def _resolve_solver(self, X):
        n, d = X.shape
        sparse = sp.issparse(X)
        k = self.n_components
        solver = self.solver
        if solver == "auto":
            if d <= 1000 and (n >= 10 * d or sparse):
                solver = "eigh"
            elif sparse or (
                isinstance(k, Integral) and k < 0.8 * min(n, d) and max(n, d) > 500
            ):
                solver = "randomized"
            else:
                solver = "svd"
        if sparse and solver == "svd":
            raise ValueError(
                "solver='svd' factorises the dense data matrix and does not take "
                "sparse input; use solver='eigh' (covariance) or 'randomized' "
                "(implicit centring), or 'auto'."
            )
        if k == "mle":
            if solver == "randomized":
                raise ValueError(
                    "n_components='mle' needs the whole spectrum; use solver='eigh' "
                    "or 'svd' instead of 'randomized'."
                )
            if n < d:
                raise ValueError(
                    f"n_components='mle' needs n_samples >= n_features; got {n} < {d}."
                )
        return solver

    def _unready(self, stats):
        k = self.n_components
        if isinstance(k, Integral) and k > stats.n_features:
            self._check_n_components(k, stats.n_rows, stats.n_features)
        needed = max(2, k if isinstance(k, Integral) else 2)
        if stats.n_rows >= needed:
            return None
        return (
            f"it has seen {stats.n_rows} rows and needs at least {needed} "
            f"(two for a covariance, and n_components={k!r})."
        )

    def _derive_fitted(self, stats):
        """Eigh solver: everything follows from the merged covariance."""
        n = stats.n_rows
        covariance = stats.covariance(ddof=1)
        # A fixed number of components needs only the leading eigenpairs; the
        # ratios and the noise variance need the total, which is the trace.
        k = self.n_components
        leading = k if isinstance(k, Integral) and k > 0 else None
        eigenvalues, eigenvectors = eigh_descending(covariance, n_leading=leading)
        self.mean_ = stats.mean.copy()
        total = (
            eigenvalues.sum()
            if eigenvalues.size == covariance.shape[0]
            else max(float(np.trace(covariance)), 0.0)
        )
        self._set_spectrum(eigenvectors.T, eigenvalues, n, total_variance=total)

    def _fit_svd(self, X, solver, scores):
        """The ``"svd"`` and ``"randomized"`` solvers; with ``scores``, returns
        the component scores :math:`U S` of the kept components (else None)."""
        n, d = X.shape
        sparse = sp.issparse(X)
        # The mean and total variance from the statistics core: exact for a
        # constant feature, as with the "eigh" solver.
        stats = moments(X, var=True)
        self.mean_ = stats.mean
        total = float(stats.m2.sum()) / (n - 1)
        left = None
        if solver == "svd" and scores:
            # gesdd forms U, which the tall-skinny QR below never does.
            centred = np.asarray(X, dtype=np.float64) - self.mean_
            left, s, vt = scipy.linalg.svd(
                centred, full_matrices=False, check_finite=False, overwrite_a=True
            )
        elif solver == "svd":
            s, vt = centred_svd(X, self.mean_)
        else:
            k = min(n, d) if self.n_components is None else self.n_components
            if not isinstance(k, Integral):
                raise ValueError(
                    "solver='randomized' needs an integer n_components; got "
                    f"{k!r}. Use solver='svd' or 'eigh' for a variance fraction."
                )
            self._check_n_components(k, n, d)
            if sparse:
                operator = _centred_operator(X, self.mean_)
            else:
                operator = _scipy_blas_operator(
                    np.asarray(X, dtype=np.float64) - self.mean_
                )
            # SciPy's BLAS factorises while NumPy's or SciPy's multiplies, each
            # with its own thread pool: each keeps to half the cores
            # (benchmarks/bench_pca.py, the randomized rows).
            with shared_blas():
                left, s, vt = _randomized_svd(
                    operator,
                    k,
                    n_oversamples=self.n_oversamples,
                    n_iter=self.n_iter,
                    flip_sign=False,
                    random_state=check_random_state(self.random_state),
                )
        variances = s**2 / (n - 1)
        if solver == "svd":
            total = variances.sum()
        signs = sign_flips(vt)
        self._set_spectrum(vt * signs[:, None], variances, n, total_variance=total)
        if not scores:
            return None
        k = self.n_components_
        return left[:, :k] * (s[:k] * signs[:k])

    def _check_n_components(self, k, n, d):
        if k > min(n, d):
            raise ValueError(
                f"n_components={k} must be at most min(n_samples, n_features) = "
                f"min({n}, {d}) = {min(n, d)}."
            )

    def _set_spectrum(self, components, variances, n, *, total_variance):
        """Keep the leading components and derive every fitted attribute."""
        d = components.shape[1]
        rank_limit = min(n, d)
        k = self.n_components
        ratios_all = variances / total_variance if total_variance > 0 else variances * 0
        if k is None:
            k = rank_limit
        elif k == "mle":
            k = _minka_dimension(variances, n)
        elif not isinstance(k, Integral):
            # The fewest components whose ratios reach the requested fraction.
            k = int(np.searchsorted(np.cumsum(ratios_all), k, side="left") + 1)
            k = min(k, rank_limit)
        else:
            self._check_n_components(k, n, d)
        self.n_samples_seen_ = n
        self.n_components_ = k
        self.components_ = components[:k]
        self.explained_variance_ = variances[:k]
        self.explained_variance_ratio_ = ratios_all[:k]
        self.singular_values_ = np.sqrt(variances[:k] * (n - 1))
        discarded = rank_limit - k
        if discarded > 0:
            self.noise_variance_ = float(
                max(total_variance - variances[:k].sum(), 0.0) / discarded
            )
        else:
            self.noise_variance_ = 0.0
        self._n_features_out = k
        self._warn_null_components()

    def _whitening_factors(self):
        """``1 / sqrt(explained_variance_)``, and 0 for null components.

        A component whose variance is zero up to roundoff (the rank rule of
        :func:`~skprep._linalg.rank_mask`) has training output 0; new rows get
        0 there too instead of an arbitrary projection blown up by roundoff.
        """
        variances = self.explained_variance_
        keep = rank_mask(
            variances,
            self.rtol,
            n_samples=self.n_samples_seen_,
            n_features=self.n_features_in_,
        )
        factors = np.zeros_like(variances)
        factors[keep] = 1.0 / np.sqrt(variances[keep])
        return factors

    def _warn_null_components(self):
        null = self.n_components_ - int(np.count_nonzero(self._whitening_factors()))
        if self.whiten and null:
            warn(
                f"{null} of the {self.n_components_} components have zero variance "
                "up to roundoff (at most rtol times the largest): the data's rank "
                "is below n_components. Their whitened output is set to 0.",
            )

    def _projection(self):
        if self.whiten:
            return self.components_.T * self._whitening_factors()
        return self.components_.T

    def _reconstruction(self):
        if self.whiten:
            return self.components_ * np.sqrt(self.explained_variance_)[:, None]
        return self.components_

    def get_covariance(self) -> np.ndarray:
        r"""Model covariance :math:`W W^\top + \sigma^2 I` of probabilistic PCA.

        Returns
        -------
        ndarray of shape (n_features, n_features)
        """
        check_fitted(self)
        excess = np.clip(self.explained_variance_ - self.noise_variance_, 0.0, None)
        cov = (self.components_.T * excess) @ self.components_
        cov.flat[:: cov.shape[0] + 1] += self.noise_variance_
        return cov

    def get_precision(self) -> np.ndarray:
        """Inverse of :meth:`get_covariance` (pseudo-inverse when it is singular).

        Returns
        -------
        ndarray of shape (n_features, n_features)
        """
        return scipy.linalg.pinvh(self.get_covariance())

    def score_samples(self, X: MatrixLike) -> np.ndarray:
        """Log-likelihood of each row under the probabilistic PCA model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        variances, noise = self._model_variances()
        centred = X - self.mean_
        scores = centred @ self.components_.T
        mahalanobis = np.einsum("ij,ij->i", scores, scores / variances)
        d, k = X.shape[1], self.n_components_
        logdet = np.log(variances).sum()
        if k < d:
            # The part of each row off the components, formed explicitly: taking
            # it as |x|^2 - |scores|^2 would cancel when the noise is small.
            residual = centred - scores @ self.components_
            mahalanobis += np.einsum("ij,ij->i", residual, residual) / noise
            logdet += (d - k) * np.log(noise)
        return -0.5 * (d * np.log(2 * np.pi) + logdet + mahalanobis)

    def _model_variances(self):
        """Eigenvalues of :meth:`get_covariance`: per component, then the noise.

        The covariance of probabilistic PCA has the eigenvalue
        ``max(explained_variance_, noise_variance_)`` along each component and
        ``noise_variance_`` across the rest. Eigenvalues within roundoff of zero
        (rank-deficient data with no discarded variance) are raised to the
        roundoff level ``eps * d * largest`` with a warning: left alone, their
        sign -- hence whether the likelihood exists at all -- would depend on the
        last bits of the eigendecomposition, which differ between machines.
        """
        variances = np.maximum(self.explained_variance_, self.noise_variance_)
        noise = self.noise_variance_
        d = self.components_.shape[1]
        largest = max(float(variances.max(initial=0.0)), noise)
        floor = np.finfo(np.float64).eps * d * (largest if largest > 0 else 1.0)
        low = int((variances <= floor).sum())
        low += (d - self.n_components_) * (noise <= floor)
        if low:
            warn(
                f"The model covariance is singular to working precision ({low} of "
                f"its {d} variances are zero up to roundoff): the data's rank is "
                "below n_components, and no variance is left for the noise. Those "
                f"variances were raised to {floor:.3g}, so the log-likelihood is "
                "dominated by them; use n_components below the rank of the data "
                "for a meaningful score.",
            )
            variances = np.maximum(variances, floor)
            noise = max(noise, floor)
        return variances, noise

    def score(self, X: MatrixLike, y: object = None) -> float:
        """Average log-likelihood of the rows of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        float
        """
        return float(np.mean(self.score_samples(X)))


def _scipy_blas_operator(a):
    """C-ordered ``a`` as a LinearOperator whose products run in SciPy's BLAS
    (dgemm on ``a.T``, read in place), the library of the factorisations in
    scikit-learn's randomized SVD, rather than NumPy's (benchmarks/bench_pca.py,
    the randomized rows)."""
    gemm = scipy.linalg.blas.dgemm
    at = a.T  # Fortran-ordered: BLAS reads it without a copy
    return LinearOperator(
        a.shape,
        dtype=np.float64,
        matvec=lambda v: a @ v,
        matmat=lambda V: gemm(1.0, at, V, trans_a=True),
        rmatvec=lambda y: at @ y,
        rmatmat=lambda Y: gemm(1.0, at, Y),
    )


def _centred_operator(X, mean):
    """``X - 1 mean^T`` for sparse ``X``, as a LinearOperator: the randomized
    solver multiplies by it without the dense centred matrix ever existing."""
    return LinearOperator(
        X.shape,
        dtype=np.float64,
        matvec=lambda v: X @ v - mean @ v,
        matmat=lambda V: X @ V - mean @ V,
        rmatvec=lambda y: X.T @ y - mean * y.sum(),
        rmatmat=lambda Y: X.T @ Y - np.outer(mean, Y.sum(axis=0)),
    )


def _minka_log_evidence(spectrum, k, n):
    r"""Laplace approximation of :math:`\log p(X \mid k)` for probabilistic PCA.

    Minka (2000), "Automatic choice of dimensionality for PCA", eq. (30): with
    eigenvalues :math:`\lambda_1 \ge \dots \ge \lambda_d` of the sample
    covariance, :math:`v` the mean of the :math:`d - k` discarded ones and
    :math:`m = dk - k(k + 1)/2`,

    .. math::

        p(U) \prod_{j \le k} \lambda_j^{-n/2} v^{-n(d - k)/2}
        (2\pi)^{(m + k)/2} |A_Z|^{-1/2} n^{-k/2},

    where :math:`p(U) = 2^{-k} \prod_{i \le k} \Gamma((d - i + 1)/2)
    \pi^{-(d - i + 1)/2}` and :math:`|A_Z| = \prod_{i \le k} \prod_{j > i}
    n (\hat\lambda_j^{-1} - \hat\lambda_i^{-1}) (\lambda_i - \lambda_j)`,
    :math:`\hat\lambda` being the spectrum with the discarded eigenvalues
    replaced by :math:`v`. Returns -inf where an eigenvalue is zero.
    """
    d = spectrum.shape[0]
    kept = spectrum[:k]
    tiny = np.finfo(np.float64).eps
    if kept.min() <= tiny:
        return -np.inf
    v = max(spectrum[k:].sum() / (d - k), tiny)
    i = np.arange(1, k + 1)
    log_prior = -k * np.log(2.0) + np.sum(
        gammaln((d - i + 1) / 2.0) - (d - i + 1) / 2.0 * np.log(np.pi)
    )
    m = d * k - k * (k + 1) / 2.0
    hat = np.concatenate([kept, np.full(d - k, v)])
    rows, cols = np.triu_indices(d, 1)
    pairs = rows < k
    rows, cols = rows[pairs], cols[pairs]
    log_az = np.sum(
        np.log((1.0 / hat[cols] - 1.0 / hat[rows]) * (spectrum[rows] - spectrum[cols]))
        + np.log(n)
    )
    return (
        log_prior
        - n / 2.0 * np.log(kept).sum()
        - n * (d - k) / 2.0 * np.log(v)
        + (m + k) / 2.0 * np.log(2 * np.pi)
        - log_az / 2.0
        - k / 2.0 * np.log(n)
    )


def _minka_dimension(spectrum, n):
    """The ``k`` in ``[1, d - 1]`` of largest :func:`_minka_log_evidence`."""
    d = spectrum.shape[0]
    if d < 2:
        return d
    evidence = [_minka_log_evidence(spectrum, k, n) for k in range(1, d)]
    return int(np.argmax(evidence)) + 1
