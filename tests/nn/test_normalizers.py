import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skprep.nn import BatchNorm, BatchNormalizer, GroupNormalizer, LayerNormalizer
from skprep.nn._batches import minibatches


@pytest.fixture
def X():
    return np.random.default_rng(0).normal(
        [1.0, -5.0, 20.0, 0.0], [1.0, 3.0, 0.5, 9.0], (301, 4)
    )


def test_running_statistics_are_those_of_a_layer_trained_on_the_same_batches(X):
    bn = BatchNormalizer(batch_size=64, momentum=0.1).fit(X)
    layer = BatchNorm(4, affine=False)
    for start in range(0, 301, 64):
        layer.forward(X[start : start + 64])
    assert_allclose(bn.running_mean_, layer.running_mean, rtol=1e-12)
    assert_allclose(bn.running_var_, layer.running_var, rtol=1e-12)
    assert bn.num_batches_tracked_ == 5


def test_a_one_row_tail_joins_the_previous_batch(X):
    bn = BatchNormalizer(batch_size=100).fit(X)  # 301 rows: 100, 100, 101
    assert bn.num_batches_tracked_ == 3
    layer = BatchNorm(4, affine=False)
    for rows in (slice(0, 100), slice(100, 200), slice(200, 301)):
        layer.forward(X[rows])
    assert_allclose(bn.running_var_, layer.running_var, rtol=1e-12)


def test_cumulative_momentum_recovers_the_data_mean(X):
    bn = BatchNormalizer(batch_size=43, momentum=None).fit(X[:301])  # 7 equal batches
    assert_allclose(bn.running_mean_, X.mean(0), rtol=1e-12)


def test_partial_fit_equals_fit_over_the_same_batches(X):
    whole = BatchNormalizer(batch_size=50).fit(X[:300])
    streamed = BatchNormalizer(batch_size=50)
    for start in range(0, 300, 50):
        streamed.partial_fit(X[start : start + 50])
    assert_allclose(streamed.running_mean_, whole.running_mean_)
    assert_allclose(streamed.running_var_, whole.running_var_)


def test_transform_is_eval_mode_with_the_given_affine(X):
    gamma, beta = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.0, -1.0, 1.0, 0.5])
    bn = BatchNormalizer(batch_size=32, gamma=gamma, beta=beta).fit(X)
    out = bn.transform(X)
    expected = (X - bn.running_mean_) / np.sqrt(bn.running_var_ + 1e-5) * gamma + beta
    assert_allclose(out, expected, rtol=1e-12)
    rows = np.vstack([bn.transform(X[i : i + 1]) for i in range(20)])
    assert_allclose(rows, out[:20], rtol=1e-12)


def test_shuffle_is_reproducible(X):
    a = BatchNormalizer(batch_size=30, shuffle=True, random_state=0).fit(X)
    b = BatchNormalizer(batch_size=30, shuffle=True, random_state=0).fit(X)
    c = BatchNormalizer(batch_size=30).fit(X)
    assert_array_equal(a.running_var_, b.running_var_)
    assert not np.allclose(a.running_var_, c.running_var_)


def test_layer_and_group_normalizers(X):
    ln = LayerNormalizer().fit_transform(X)
    expected = (X - X.mean(1, keepdims=True)) / np.sqrt(X.var(1, keepdims=True) + 1e-5)
    assert_allclose(ln, expected, rtol=1e-12)
    assert_allclose(GroupNormalizer(num_groups=1).fit_transform(X), ln)
    g2 = GroupNormalizer(num_groups=2).fit_transform(X)
    assert_allclose(g2[:, :2], LayerNormalizer().fit_transform(X[:, :2]))
    assert_allclose(g2[:, 2:], LayerNormalizer().fit_transform(X[:, 2:]))


@pytest.mark.parametrize("Est", [BatchNormalizer, LayerNormalizer, GroupNormalizer])
def test_float32_stays_float32(X, Est):
    out = Est().fit(X.astype(np.float32)).transform(X.astype(np.float32))
    assert out.dtype == np.float32


@pytest.mark.parametrize(
    "est, message",
    [
        (BatchNormalizer(gamma=[1.0, 2.0]), r"gamma must be .* shape \(4,\)"),
        (LayerNormalizer(beta=np.ones(3)), r"beta must be .* shape \(4,\)"),
        (GroupNormalizer(num_groups=3), "must divide the number of features"),
        (BatchNormalizer(batch_size=1), "batch_size"),
    ],
)
def test_bad_parameters_are_named(X, est, message):
    with pytest.raises(ValueError, match=message):
        est.fit(X)


def test_single_sample_fit_is_refused():
    with pytest.raises(ValueError, match="1 sample"):
        BatchNormalizer().fit(np.ones((1, 3)))


def test_grid_search_in_a_pipeline():
    from skprep.datasets import load_wine

    X, y = load_wine()
    search = GridSearchCV(
        make_pipeline(BatchNormalizer(), LogisticRegression(max_iter=1000)),
        {
            "batchnormalizer__batch_size": [16, 64],
            "batchnormalizer__momentum": [0.1, None],
        },
        cv=3,
    ).fit(X, y)
    assert search.best_score_ > 0.9


@pytest.mark.parametrize(
    "n_rows, batch_size, sizes",
    [
        (301, 100, [100, 100, 101]),  # one row: no variance
        (345, 100, [100, 100, 145]),  # 45 < 50 rows: too few for batch statistics
        (350, 100, [100, 100, 100, 50]),  # half a batch is kept
        (5, 2, [2, 3]),
        (1, 4, [1]),
    ],
)
def test_short_last_batches_join_the_one_before(n_rows, batch_size, sizes):
    got = minibatches(n_rows, batch_size, batch_norm=True)
    assert [s.stop - s.start for s in got] == sizes
    assert got[0].start == 0 and got[-1].stop == n_rows
    plain = minibatches(n_rows, batch_size)
    assert sum(s.stop - s.start for s in plain) == n_rows
    assert all(s.stop - s.start == batch_size for s in plain[:-1])
