"""Small real datasets bundled with skprep.

The tables live in the package (``skprep/datasets/data``) so they load after a
plain ``pip install``; ``datasets/README.md`` in the source tree gives each one's
source and licence.
"""

from collections.abc import Callable
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

__all__ = [
    "dataset_path",
    "list_datasets",
    "load_breast_cancer",
    "load_digits",
    "load_wine",
]

if TYPE_CHECKING:
    from importlib.abc import Traversable

_TARGET = "target"


def list_datasets() -> list[str]:
    """Names of the bundled datasets.

    Returns
    -------
    list of str

    Examples
    --------
    >>> from skprep.datasets import list_datasets
    >>> list_datasets()
    ['breast_cancer', 'digits', 'wine']
    """
    folder = resources.files(__name__).joinpath("data")
    return sorted(
        p.name[: -len(".csv")] for p in folder.iterdir() if p.name.endswith(".csv")
    )


def dataset_path(name: str) -> "Traversable":
    """Path of a bundled dataset's CSV file.

    Parameters
    ----------
    name : str
        One of :func:`list_datasets`.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> from skprep.datasets import dataset_path
    >>> dataset_path("wine").name
    'wine.csv'
    """
    available = list_datasets()
    if name not in available:
        raise ValueError(
            f"Unknown dataset {name!r}; available: {', '.join(available)}."
        )
    return resources.files(__name__).joinpath("data").joinpath(f"{name}.csv")


def _load(name, *, as_frame, split, test_size, random_state):
    with resources.as_file(dataset_path(name)) as path:
        frame = pd.read_csv(path)
    X = frame.drop(columns=_TARGET).astype(np.float64)
    y = frame[_TARGET].astype(np.int64)
    if not as_frame:
        X, y = X.to_numpy(), y.to_numpy()
    if not split:
        return X, y
    return train_test_split(
        X, y, test_size=test_size, random_state=random_state, stratify=y
    )


_LOADER_DOC = """Load the bundled {title} dataset ({shape}).

    {what}

    Parameters
    ----------
    as_frame : bool, default=False
        Return a DataFrame of features (named columns) and a Series of labels
        instead of NumPy arrays.
    split : bool, default=False
        Return a stratified, reproducible train/test split instead of the whole
        table.
    test_size : float, default=0.25
        Fraction of rows in the test part when ``split=True``.
    random_state : int, default=0
        Seed of the split.

    Returns
    -------
    (X, y) or (X_train, X_test, y_train, y_test)
        Features as float64, labels as int64.

    Examples
    --------
    >>> from skprep.datasets import load_{name}
    >>> X, y = load_{name}()
    >>> X.shape
    {shape}
    >>> X_train, X_test, y_train, y_test = load_{name}(split=True)
    >>> X_train.shape[0] + X_test.shape[0] == X.shape[0]
    True
    """


def _make_loader(name: str, title: str, shape: str, what: str) -> Callable[..., Any]:
    def loader(
        *,
        as_frame: bool = False,
        split: bool = False,
        test_size: float = 0.25,
        random_state: int = 0,
    ) -> tuple[Any, ...]:
        return _load(
            name,
            as_frame=as_frame,
            split=split,
            test_size=test_size,
            random_state=random_state,
        )

    loader.__name__ = loader.__qualname__ = f"load_{name}"
    loader.__doc__ = _LOADER_DOC.format(name=name, title=title, shape=shape, what=what)
    return loader


load_wine = _make_loader(
    "wine",
    "wine recognition",
    "(178, 13)",
    "Chemical analysis of 178 wines from three cultivars; the target is the cultivar.",
)
load_breast_cancer = _make_loader(
    "breast_cancer",
    "breast cancer Wisconsin (diagnostic)",
    "(569, 30)",
    "Thirty features of cell nuclei; the target is 0 for malignant, 1 for benign.",
)
load_digits = _make_loader(
    "digits",
    "handwritten digits",
    "(1797, 64)",
    "8x8 images of handwritten digits flattened row by row, pixel values 0-16; the "
    "target is the digit.",
)
