"""Tests of elbo_edu.data: idx reader, MNIST lookup and verification, binarized MNIST, the embedded
subset, binarization, toy sets and load_dataset. The download path is in test_data_download.py."""
from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from elbo_edu.data import (
    BINARIZED_MNIST_SPLITS, CACHE_ENV, DATA_ENV, MNIST_FILES, DataError, load_binarized_mnist,
    load_dataset, load_mnist, parse_idx, read_idx, write_idx,
)
from elbo_edu.data.idx import IDX_TYPES, encode_idx

# The repository's copy of the real files sits beside the repo root (../shared); a fresh clone of
# the package does not have it, and those tests skip (MNIST: the conftest fixture shared_mnist_dir).
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_binarized = pytest.mark.skipif(
    not (SHARED / "binarized_mnist" / "binarized_mnist.npz").is_file(),
    reason="binarized_mnist.npz not found at ../shared/data/binarized_mnist")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    """No test sees the user's ELBO_EDU_DATA or writes to the user's cache."""
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))


def _fake_mnist(folder: Path, split="test", n=5, seed=0, gz=True):
    """Write a tiny synthetic MNIST split; return (images, labels, sha256 table)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    sums = {}
    for name, arr in zip(MNIST_FILES[split], (images, labels), strict=True):
        write_idx(folder / (name + (".gz" if gz else "")), arr)
        sums[name] = hashlib.sha256(encode_idx(arr)).hexdigest()
    return images, labels, sums


# ----------------------------------------------------------------------------------- idx format
@given(st.sampled_from(sorted(IDX_TYPES)).flatmap(lambda code: hnp.arrays(
    IDX_TYPES[code].newbyteorder("="), hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
    elements={"allow_nan": False} if IDX_TYPES[code].kind == "f" else None)))
def test_idx_round_trip_in_memory(arr):
    out = parse_idx(encode_idx(arr))
    assert out.dtype == arr.dtype.newbyteorder("=") and out.shape == arr.shape
    np.testing.assert_array_equal(out, arr)
    assert out.flags.writeable


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip_on_disk(tmp_path, suffix):
    arr = np.arange(2 * 3 * 4, dtype=np.int32).reshape(2, 3, 4) - 7
    write_idx(tmp_path / f"a{suffix}", arr)
    np.testing.assert_array_equal(read_idx(tmp_path / f"a{suffix}"), arr)
    assert (tmp_path / f"a{suffix}").read_bytes()[:2] == (b"\x1f\x8b" if suffix else b"\0\0")


@pytest.mark.parametrize("head, match", [
    (b"\x01\x00\x08\x01", "magic"), (b"\x00\x00\x07\x01", "magic"), (b"\x00\x00\x08\x00", "magic"),
    (b"\x00\x00", "too short"), (b"\x00\x00\x08\x03\x00\x00", "truncated idx header"),
])
def test_idx_bad_header_rejected(head, match):
    with pytest.raises(DataError, match=match):
        parse_idx(head, name="f.idx")


def test_idx_truncated_and_trailing_rejected(tmp_path):
    data = encode_idx(np.zeros((4, 28, 28), np.uint8))
    with pytest.raises(DataError, match=r"truncated idx file: shape \(4, 28, 28\)"):
        parse_idx(data[:-1], name="x")
    with pytest.raises(DataError, match="3 unexpected trailing bytes"):
        parse_idx(data + b"abc", name="x")
    (tmp_path / "t.gz").write_bytes(gzip.compress(data)[:-20])
    with pytest.raises(DataError, match="t.gz: corrupt or truncated gzip"):
        read_idx(tmp_path / "t.gz")


def test_idx_encode_rejects_unsupported():
    with pytest.raises(ValueError, match="array: dtype bool"):
        encode_idx(np.zeros(3, bool))
    with pytest.raises(ValueError, match="array: expected 1 to 255 dimensions"):
        encode_idx(np.uint8(3))
    assert issubclass(DataError, ValueError)


# ------------------------------------------------------------------------ MNIST on a local disk
def test_load_mnist_synthetic_dtypes(tmp_path):
    images, labels, sums = _fake_mnist(tmp_path / "d")
    x, y = load_mnist(tmp_path / "d", split="test", sha256=sums, download=False)
    assert x.shape == (5, 784) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(x, images.reshape(5, 784) / 255, rtol=1e-6)
    np.testing.assert_array_equal(y, labels)
    raw, _ = load_mnist(tmp_path / "d", split="test", sha256=sums, dtype=np.uint8, download=False)
    np.testing.assert_array_equal(raw, images.reshape(5, 784))
    x64, _ = load_mnist(tmp_path / "d", split="test", sha256=sums, dtype=np.float64,
                        download=False)
    assert x64.dtype == np.float64 and x64.max() <= 1.0


def test_load_mnist_plain_files_and_subfolder(tmp_path):
    _, labels, sums = _fake_mnist(tmp_path / "d" / "mnist", gz=False)
    _, y = load_mnist(tmp_path / "d", split="test", sha256=sums, download=False)
    np.testing.assert_array_equal(y, labels)


def test_checksum_mismatch_names_file_and_keeps_it(tmp_path):
    _, _, sums = _fake_mnist(tmp_path / "d")
    bad = dict(sums, **{"t10k-images-idx3-ubyte": "0" * 64})
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz: SHA-256 mismatch") as info:
        load_mnist(tmp_path / "d", split="test", sha256=bad, download=False)
    assert "0" * 64 in str(info.value) and sums["t10k-images-idx3-ubyte"] in str(info.value)
    assert (tmp_path / "d" / "t10k-images-idx3-ubyte.gz").is_file()  # the user's file is kept


def test_builtin_sums_reject_synthetic_files(tmp_path):
    _fake_mnist(tmp_path / "d")
    with pytest.raises(DataError, match="SHA-256 mismatch"):
        load_mnist(tmp_path / "d", split="test", download=False)


def test_swapped_files_and_bad_labels_rejected(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    img, lab = MNIST_FILES["test"]
    write_idx(d / img, np.zeros(3, np.uint8))  # a labels file where the images should be
    write_idx(d / lab, np.array([1, 2, 12], np.uint8))
    sums = {n: hashlib.sha256((d / n).read_bytes()).hexdigest() for n in (img, lab)}
    with pytest.raises(DataError, match="images magic number 2051.*got 2049"):
        load_mnist(d, split="test", sha256=sums, download=False)
    write_idx(d / img, np.zeros((3, 28, 28), np.uint8))
    sums[img] = hashlib.sha256((d / img).read_bytes()).hexdigest()
    with pytest.raises(DataError, match="digits 0..9, found 12"):
        load_mnist(d, split="test", sha256=sums, download=False)
    write_idx(d / lab, np.array([1, 2], np.uint8))
    sums[lab] = hashlib.sha256((d / lab).read_bytes()).hexdigest()
    with pytest.raises(DataError, match="2 labels for 3 images"):
        load_mnist(d, split="test", sha256=sums, download=False)


def test_lookup_order_path_then_env_then_cache(tmp_path, monkeypatch):
    _, y_path, s_path = _fake_mnist(tmp_path / "p", seed=1)
    _, y_env, s_env = _fake_mnist(tmp_path / "e" / "mnist", seed=2)
    _, y_cache, s_cache = _fake_mnist(tmp_path / "cache" / "mnist", seed=3)
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "e"))
    sums = {**s_path}
    assert np.array_equal(load_mnist(tmp_path / "p", split="test", sha256=sums,
                                     download=False)[1], y_path)
    assert np.array_equal(load_mnist(split="test", sha256=s_env, download=False)[1], y_env)
    monkeypatch.delenv(DATA_ENV)
    assert np.array_equal(load_mnist(split="test", sha256=s_cache, download=False)[1], y_cache)


def test_nothing_found_without_download(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte: not found.*download=False") as e:
        load_mnist(tmp_path / "empty", split="test", download=False)
    assert str(tmp_path / "empty") in str(e.value) and "embedded" in str(e.value)


def test_load_mnist_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="path: .* is not an existing folder"):
        load_mnist(tmp_path / "nope", download=False)
    with pytest.raises(ValueError, match="split: expected one of 'train', 'test'"):
        load_mnist(split="valid")
    with pytest.raises(ValueError, match="dtype: expected np.uint8"):
        load_mnist(dtype=np.int32)
    with pytest.raises(ValueError, match="sha256: expected a mapping"):
        load_mnist(tmp_path, sha256="abc", download=False)


def test_real_mnist_test_split_verifies(shared_mnist_dir):
    x, y = load_mnist(shared_mnist_dir, split="test", download=False)
    assert x.shape == (10000, 784) and y.shape == (10000,)
    assert np.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert x.min() == 0.0 and x.max() == 1.0


# --------------------------------------------------------------------------- binarized MNIST
def test_binarized_mnist_synthetic(tmp_path):
    bits = (np.random.default_rng(0).random((6, 784)) < 0.3).astype(np.uint8)
    np.savez(tmp_path / "binarized_mnist.npz", train=np.packbits(bits, axis=1),
             valid=np.packbits(bits[:2], axis=1), test=np.zeros((3, 97), np.uint8))
    x = load_binarized_mnist(tmp_path, split="train")
    assert x.dtype == np.float32 and x.shape == (6, 784)
    np.testing.assert_array_equal(x, bits)
    np.testing.assert_array_equal(load_binarized_mnist(tmp_path / "binarized_mnist.npz",
                                                       split="valid", dtype=np.uint8), bits[:2])
    with pytest.raises(DataError, match=r"uint8 of shape \(n, 98\)"):
        load_binarized_mnist(tmp_path, split="test")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "binarized_mnist.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a readable .npz"):
        load_binarized_mnist(tmp_path / "b")


def test_binarized_mnist_missing_says_no_download(tmp_path):
    with pytest.raises(DataError, match="not downloaded automatically"):
        load_binarized_mnist(tmp_path)
    with pytest.raises(DataError, match="not downloaded automatically"):
        load_dataset("binarized-mnist")


@needs_binarized
def test_real_binarized_mnist():
    data = load_dataset("binarized-mnist", data_dir=SHARED)
    sizes = (len(data.x_train), len(data.x_valid), len(data.x_test))
    assert sizes == tuple(BINARIZED_MNIST_SPLITS.values()) == (50000, 10000, 10000)
    assert set(np.unique(data.x_test)) == {0.0, 1.0} and data.y_train is None
    assert 0.1 < data.x_train.mean() < 0.2
