"""Seeded random subsets (issue 14, item 11): what a figure shows or a partial evaluation scores
is a fair sample of the data, not its first rows."""
import numpy as np
import pytest

from elbo_edu.data import random_rows, random_subset


def test_random_rows_are_distinct_sorted_and_seeded():
    a = random_rows(1000, 50, np.random.default_rng(3))
    b = random_rows(1000, 50, np.random.default_rng(3))
    assert np.array_equal(a, b) and len(np.unique(a)) == 50 and np.all(np.diff(a) > 0)
    assert not np.array_equal(a, random_rows(1000, 50, np.random.default_rng(4)))
    assert np.array_equal(random_rows(7, 50, np.random.default_rng(0)), np.arange(7))


def test_a_subset_of_class_sorted_data_holds_many_classes():
    labels = np.repeat(np.arange(10), 1000)  # sorted by class, like binarized MNIST
    x = labels[:, None].astype(float)
    for seed in range(5):
        xs, ys = random_subset(x, 16, np.random.default_rng(seed), labels)
        assert np.array_equal(xs[:, 0], ys) and len(np.unique(ys)) >= 5
    # the first 16 rows would be one class
    assert len(np.unique(labels[:16])) == 1


def test_every_row_is_equally_likely():
    counts = np.zeros(20)
    rng = np.random.default_rng(0)
    for _ in range(2000):
        counts[random_rows(20, 5, rng)] += 1
    expected = 2000 * 5 / 20
    assert np.all(np.abs(counts - expected) < 6 * np.sqrt(expected))  # 6 sigma


def test_none_extras_stay_none_and_bad_n_is_named():
    x = np.arange(10)[:, None]
    xs, ys = random_subset(x, 3, np.random.default_rng(0), None)
    assert ys is None and len(xs) == 3
    with pytest.raises(ValueError, match="^n: expected a positive integer"):
        random_subset(x, 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="rng"):
        random_subset(x, 2, 0)
