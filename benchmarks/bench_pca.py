"""PCA and whitening against scikit-learn's PCA, one run.

``python benchmarks/bench_pca.py`` (``--quick`` for small shapes) fits ``PCA``
with each solver next to scikit-learn's ``PCA`` with the matching
``svd_solver`` (eigh / covariance_eigh, svd / full, randomized / randomized) on
tall (200,000 x 100) and wide (5,000 x 1,000) correlated float64 data, and
``Whitening(method="pca")`` next to ``PCA(whiten=True)``. Each PCA row also
gives both libraries' largest relative error of the 10 explained variances
against the exact eigenvalues of the covariance, so speeds are compared at the
accuracy each reaches.
"""

import argparse

import numpy as np
from _timing import interleaved_medians

N_COMPONENTS = 10


def _data(shape):
    rng = np.random.default_rng(0)
    n, d = shape
    return rng.standard_normal(shape) @ rng.standard_normal((d, d)) * 0.1


def _error(explained_variance, exact):
    return float(np.max(np.abs(explained_variance - exact) / exact))


def run(quick=False, repeat=None):
    """Return a list of dict rows (case, seconds, ratio, agreement)."""
    from sklearn.decomposition import PCA as SkPCA

    try:
        from skprep import PCA, Whitening
    except ImportError as exc:
        print(f"skipping pca: {exc}")
        return []
    repeat = repeat or (3 if quick else 5)
    shapes = (
        [(20_000, 100), (1_000, 300)] if quick else [(200_000, 100), (5_000, 1_000)]
    )
    rows = []
    for shape in shapes:
        X = _data(shape)
        # The exact leading eigenvalues of the covariance, for the accuracy
        # columns: largest relative error of the explained variances.
        exact = np.linalg.eigvalsh(np.cov(X, rowvar=False))[::-1][:N_COMPONENTS]
        label = f"{shape[0]:,} x {shape[1]:,}"
        for solver, sk_solver in (
            ("eigh", "covariance_eigh"),
            ("svd", "full"),
            ("randomized", "randomized"),
        ):

            def ours(s=solver, X=X):
                return PCA(N_COMPONENTS, solver=s, random_state=0).fit(X)

            def ref(s=sk_solver, X=X):
                return SkPCA(N_COMPONENTS, svd_solver=s, random_state=0).fit(X)

            times = interleaved_medians({"ours": ours, "ref": ref}, repeat)
            t, t_ref = times["ours"], times["ref"]
            rows.append(
                {
                    "case": f"PCA {solver} vs PCA(svd_solver={sk_solver!r}), {label}",
                    "seconds": t,
                    "vs scikit-learn": t_ref / t,
                    "error": _error(ours().explained_variance_, exact),
                    "scikit-learn error": _error(ref().explained_variance_, exact),
                }
            )

        def whiten(X=X):
            return Whitening("pca").fit(X)

        def ref_whiten(X=X):
            return SkPCA(whiten=True, svd_solver="covariance_eigh").fit(X)

        times = interleaved_medians({"ours": whiten, "ref": ref_whiten}, repeat)
        t, t_ref = times["ours"], times["ref"]
        rows.append(
            {
                "case": f"Whitening('pca') vs PCA(whiten=True), {label}",
                "seconds": t,
                "vs scikit-learn": t_ref / t,
            }
        )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small shapes")
    args = parser.parse_args(argv)
    for row in run(quick=args.quick):
        extras = ", ".join(
            f"{k} {v:.3g}" for k, v in row.items() if k not in ("case", "seconds")
        )
        print(f"{row['case']:<64} {row['seconds']:8.4f} s  {extras}")


if __name__ == "__main__":
    main()
