"""Tests of the embedded subset, binarization, the toy 2-D sets and load_dataset."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from elbo_edu.data import (
    CACHE_ENV, DATA_ENV, DATASET_NAMES, EMBEDDED_SIZES, Dataset, binarize_dynamic,
    binarize_static, binarize_static_sample, load_dataset, load_embedded, make_gaussian_mixture,
    make_moons, make_pinwheel, make_ring, ring_map,
)
from elbo_edu.data.embedded import EMBEDDED_FILE

TOYS = {"ring": make_ring, "moons": make_moons, "pinwheel": make_pinwheel,
        "gaussian-mixture": make_gaussian_mixture}


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))


# ----------------------------------------------------------------------------- embedded subset
def test_embedded_shapes_values_labels():
    for split, n in EMBEDDED_SIZES.items():
        x, y = load_embedded(split)
        assert x.shape == (n, 784) and x.dtype == np.float32 and y.shape == (n,)
        assert x.min() == 0.0 and x.max() == 1.0
        assert np.bincount(y).tolist() == [n // 10] * 10  # all ten digits, stratified
    assert (8000, 2000) == tuple(EMBEDDED_SIZES.values())


def test_embedded_returns_fresh_arrays():
    raw, _ = load_embedded("test", dtype=np.uint8)
    raw[:] = 0
    again, _ = load_embedded("test", dtype=np.uint8)
    assert again.dtype == np.uint8 and again.max() == 255


def test_embedded_file_is_small():
    import elbo_edu.data
    size = (Path(elbo_edu.data.__file__).parent / EMBEDDED_FILE).stat().st_size
    assert size <= 2_000_000


def test_embedded_is_reproducible_from_the_real_files(shared_mnist_dir):
    from elbo_edu.data.make_embedded import make_embedded_arrays
    fresh = make_embedded_arrays(shared_mnist_dir)
    with np.load(Path(__file__).resolve().parents[1] / "elbo_edu" / "data" / EMBEDDED_FILE) as z:
        assert sorted(z.files) == sorted(fresh)
        for key in z.files:
            np.testing.assert_array_equal(z[key], fresh[key], err_msg=key)


# ------------------------------------------------------------------------------- binarization
@given(hnp.arrays(st.sampled_from([np.float32, np.float64]), hnp.array_shapes(max_dims=3),
                  elements=st.floats(0, 1, width=32)), st.integers(0, 2**32 - 1))
def test_binarize_values_are_bits(x, seed):
    for b in (binarize_dynamic(x, np.random.default_rng(seed)), binarize_static(x),
              binarize_static_sample(x, seed)):
        assert b.shape == x.shape and b.dtype == x.dtype
        assert np.isin(b, (0, 1)).all()
        assert (b[x == 1] == 1).all() and (b[x == 0] == 0).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binarize_dynamic_mean_matches_grey_level(dtype):
    p = np.linspace(0, 1, 11, dtype=dtype)
    draws = binarize_dynamic(np.tile(p, (20_000, 1)), np.random.default_rng(0))
    se = np.sqrt(p * (1 - p) / len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - p) <= 5 * se + 1e-12)


def test_binarize_dynamic_resamples_static_does_not():
    x, _ = load_embedded("test")
    rng = np.random.default_rng(0)
    assert not np.array_equal(binarize_dynamic(x[:10], rng), binarize_dynamic(x[:10], rng))
    np.testing.assert_array_equal(binarize_static_sample(x[:10], 3),
                                  binarize_static_sample(x[:10], 3))
    np.testing.assert_array_equal(binarize_static(x[:10], 0.25), (x[:10] > 0.25))


def test_binarize_argument_errors():
    with pytest.raises(ValueError, match=r"x: expected values in \[0, 1\]"):
        binarize_static(np.array([0.0, 255.0]))
    with pytest.raises(ValueError, match="rng: expected a numpy.random.Generator"):
        binarize_dynamic(np.zeros(3), 0)
    with pytest.raises(ValueError, match="threshold"):
        binarize_static(np.zeros(3), 1.5)
    with pytest.raises(ValueError, match="seed"):
        binarize_static_sample(np.zeros(3), -1)


# --------------------------------------------------------------------------------- toy sets
@given(st.sampled_from(sorted(TOYS)), st.integers(1, 300), st.integers(0, 2**32 - 1))
def test_toy_shapes_and_determinism(name, n, seed):
    a = TOYS[name](n, np.random.default_rng(seed))
    b = TOYS[name](n, np.random.default_rng(seed))
    xa = a if name == "ring" else a[0]
    assert xa.shape == (n, 2) and xa.dtype == np.float64 and np.isfinite(xa).all()
    np.testing.assert_array_equal(xa, b if name == "ring" else b[0])
    if name != "ring":
        assert a[1].shape == (n,) and a[1].dtype == np.int64 and a[1].min() >= 0


def test_toy_seeds_differ_and_labels_cover_classes():
    assert not np.array_equal(make_moons(50, np.random.default_rng(0))[0],
                              make_moons(50, np.random.default_rng(1))[0])
    assert np.bincount(make_moons(101, np.random.default_rng(0))[1]).tolist() == [50, 51]
    assert set(make_pinwheel(500, np.random.default_rng(0), n_arms=3)[1]) == {0, 1, 2}
    x, y = make_gaussian_mixture(2000, np.random.default_rng(0), n_components=4, radius=3,
                                 std=0.1)
    means = np.array([x[y == k].mean(axis=0) for k in range(4)])
    np.testing.assert_allclose(means, [[3, 0], [0, 3], [-3, 0], [0, -3]], atol=0.05)


def test_ring_map_puts_points_near_radius_one():
    x, z = make_ring(5000, np.random.default_rng(0), return_latent=True)
    r = np.linalg.norm(x, axis=1)
    np.testing.assert_allclose(r, 1 + np.linalg.norm(z, axis=1) / 10, rtol=1e-12)
    assert r.min() >= 1.0 and abs(np.median(r) - 1.12) < 0.02  # median ‖z‖ of N(0, I_2) ≈ 1.18
    np.testing.assert_array_equal(ring_map(np.zeros((1, 2))), [[0.0, 0.0]])


def test_toy_argument_errors():
    with pytest.raises(ValueError, match="n: expected a positive integer"):
        make_moons(0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="rng: expected a numpy.random.Generator"):
        make_ring(10, 0)
    with pytest.raises(ValueError, match="noise"):
        make_moons(10, np.random.default_rng(0), noise=-1)
    with pytest.raises(ValueError, match=r"z: expected shape \(n, 2\)"):
        ring_map(np.zeros(3))


# ------------------------------------------------------------------------------ load_dataset
def test_load_dataset_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown data set 'cifar'") as info:
        load_dataset("cifar")
    assert all(name in str(info.value) for name in DATASET_NAMES)


@pytest.mark.parametrize("name", ["moons", "ring", "pinwheel", "Gaussian_Mixture"])
def test_load_dataset_toy(name):
    d = load_dataset(name, n_train=300, n_test=100, dtype=np.float64)
    assert isinstance(d, Dataset) and d.name == name.lower().replace("_", "-")
    assert d.x_train.shape == (300, 2) and d.x_test.shape == (100, 2) and d.x_dim == 2
    assert d.x_train.dtype == np.float64 and (d.y_train is None) == (name == "ring")
    np.testing.assert_array_equal(d.x_train, load_dataset(name, n_train=300, n_test=100,
                                                          dtype=np.float64).x_train)
    other = load_dataset(name, n_train=300, n_test=100, rng=np.random.default_rng(5))
    assert not np.allclose(other.x_train, d.x_train)


def test_load_dataset_embedded_default_and_head():
    d = load_dataset("embedded")
    assert d.x_train.shape == (8000, 784) and d.x_test.shape == (2000, 784) and d.x_dim == 784
    assert "embedded" in repr(d) and "(8000, 784)" in repr(d)
    small = load_dataset("embedded", n_train=100, n_test=10, dtype=np.float64)
    assert small.x_train.shape == (100, 784) and small.y_test.shape == (10,)
    np.testing.assert_array_equal(small.y_train, d.y_train[:100])


def test_load_dataset_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="data_dir: .* is not an existing folder"):
        load_dataset("mnist", data_dir=tmp_path / "nope")
    with pytest.raises(ValueError, match="n_train"):
        load_dataset("moons", n_train=0)
    with pytest.raises(ValueError, match="dtype"):
        load_dataset("moons", dtype=np.int64)
    with pytest.raises(ValueError, match="rng"):
        load_dataset("ring", rng=3)


def test_load_dataset_mnist_from_data_dir(shared_mnist_dir):
    d = load_dataset("mnist", data_dir=shared_mnist_dir.parent, download=False)
    assert d.x_train.shape == (60000, 784) and d.x_test.shape == (10000, 784)
    assert d.x_train.dtype == np.float32 and 0 <= d.x_train.min() and d.x_train.max() <= 1
    assert set(np.unique(d.y_train)) == set(range(10))
