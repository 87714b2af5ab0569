"""Write the bundled CSV files from the copies that scikit-learn ships.

A build tool, run by hand when the bundled data change (``python datasets/_make.py``);
the tests and the package only read the CSV files it wrote.
"""

from pathlib import Path

import numpy as np
from sklearn import datasets

HERE = Path(__file__).resolve().parent


def _write(name, bunch, feature_names, fmt):
    header = ",".join([*feature_names, "target"])
    table = np.column_stack([bunch.data, bunch.target])
    np.savetxt(
        HERE / f"{name}.csv", table, delimiter=",", header=header, comments="", fmt=fmt
    )


def main():
    wine = datasets.load_wine()
    _write("wine", wine, wine.feature_names, "%.6g")
    cancer = datasets.load_breast_cancer()
    names = [n.replace(" ", "_") for n in cancer.feature_names]
    _write("breast_cancer", cancer, names, "%.6g")
    digits = datasets.load_digits()
    _write(
        "digits", digits, [f"pixel_{r}_{c}" for r in range(8) for c in range(8)], "%d"
    )


if __name__ == "__main__":
    main()
