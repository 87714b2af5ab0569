import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal

from skprep import datasets

LOADERS = {
    "wine": (datasets.load_wine, (178, 13), 3),
    "breast_cancer": (datasets.load_breast_cancer, (569, 30), 2),
    "digits": (datasets.load_digits, (1797, 64), 10),
}


def test_list_datasets_matches_loaders():
    assert datasets.list_datasets() == sorted(LOADERS)


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_loader_shapes_types_and_labels(name):
    loader, shape, n_classes = LOADERS[name]
    X, y = loader()
    assert X.shape == shape and X.dtype == np.float64
    assert y.shape == (shape[0],) and y.dtype == np.int64
    assert np.isfinite(X).all()
    assert len(np.unique(y)) == n_classes


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_as_frame_has_named_columns_and_same_values(name):
    loader, shape, _ = LOADERS[name]
    X_frame, y_series = loader(as_frame=True)
    X, y = loader()
    assert isinstance(X_frame, pd.DataFrame) and isinstance(y_series, pd.Series)
    assert "target" not in X_frame.columns and X_frame.columns.is_unique
    assert_array_equal(X_frame.to_numpy(), X)
    assert_array_equal(y_series.to_numpy(), y)


def test_split_is_stratified_reproducible_and_disjoint():
    X, y = datasets.load_wine()
    first = datasets.load_wine(split=True, test_size=0.3, random_state=1)
    second = datasets.load_wine(split=True, test_size=0.3, random_state=1)
    for a, b in zip(first, second, strict=True):
        assert_array_equal(a, b)
    X_train, X_test, y_train, y_test = first
    assert X_train.shape[0] + X_test.shape[0] == X.shape[0]
    assert X_test.shape[0] == pytest.approx(0.3 * X.shape[0], abs=1)
    # Stratified: class proportions agree to within one sample per class.
    for label in np.unique(y):
        share = np.mean(y == label)
        assert abs(np.sum(y_test == label) - share * len(y_test)) <= 1
    # No row appears in both parts.
    rows = {tuple(r) for r in X_train}
    assert not any(tuple(r) in rows for r in X_test)


def test_unknown_dataset_is_named():
    with pytest.raises(ValueError, match="Unknown dataset 'iris'.*wine"):
        datasets.dataset_path("iris")
