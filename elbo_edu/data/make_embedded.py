"""Rebuild the embedded MNIST subset ``embedded_mnist.npz`` from the real idx files.

Run from a checkout::

    python -m elbo_edu.data.make_embedded --source ../shared/data/mnist

It draws, with ``numpy.random.default_rng(EMBEDDED_SEED)``, exactly 800 training images of each
digit from the 60 000 training images and 200 test images of each digit from the 10 000 test
images (sampling without replacement, stratified by label), shuffles each split, and stores

=============  ==============  =====================================================
key            shape / dtype   content
=============  ==============  =====================================================
x_train        (8000, 784) u1  raw pixels 0..255
y_train        (8000,) u1      digits
x_test         (2000, 784) u1
y_test         (2000,) u1
train_index    (8000,) u2      row of each image in ``train-images-idx3-ubyte``
test_index     (2000,) u2      row in ``t10k-images-idx3-ubyte``
seed           () i8           ``EMBEDDED_SEED``
=============  ==============  =====================================================

with ``np.savez_compressed`` (about 1.7 MB: 10 000 images is what fits the 2 MB budget for
package data; 10 000 + 2 000 would need 2.01 MB). The arrays are reproducible bit for bit; the
zip container's time stamps are not.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .mnist import load_mnist

__all__ = ["EMBEDDED_SEED", "TRAIN_PER_CLASS", "TEST_PER_CLASS", "stratified_indices",
           "make_embedded_arrays", "main"]

EMBEDDED_SEED = 0
TRAIN_PER_CLASS = 800
TEST_PER_CLASS = 200


def stratified_indices(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """``per_class`` row indices of each label 0..9 (without replacement), in random order.

    Parameters
    ----------
    labels : ndarray, shape (n,)
    per_class : int
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (10 * per_class,), int64
    """
    picks = [rng.choice(np.flatnonzero(labels == c), per_class, replace=False)
             for c in range(10)]
    return rng.permutation(np.concatenate(picks))


def make_embedded_arrays(source=None, *, seed: int = EMBEDDED_SEED,
                         download: bool = False) -> dict[str, np.ndarray]:
    """The arrays of the embedded subset, drawn from the MNIST files found via ``source``."""
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {"seed": np.array(seed, dtype=np.int64)}
    for split, per_class in (("train", TRAIN_PER_CLASS), ("test", TEST_PER_CLASS)):
        x, y = load_mnist(source, split=split, dtype=np.uint8, download=download)
        idx = stratified_indices(y, per_class, rng)
        out[f"x_{split}"] = x[idx]
        out[f"y_{split}"] = y[idx].astype(np.uint8)
        out[f"{split}_index"] = idx.astype(np.uint16)
    return out


def main(argv=None) -> None:
    """Command line: ``python -m elbo_edu.data.make_embedded [--source DIR] [--out FILE]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=None,
                        help="folder with the MNIST idx files (default: the usual lookup)")
    parser.add_argument("--out", default=str(Path(__file__).with_name("embedded_mnist.npz")),
                        help="output .npz (default: the package's own copy)")
    parser.add_argument("--seed", type=int, default=EMBEDDED_SEED)
    parser.add_argument("--download", action="store_true", help="allow downloading MNIST")
    args = parser.parse_args(argv)
    arrays = make_embedded_arrays(args.source, seed=args.seed, download=args.download)
    np.savez_compressed(args.out, **arrays)


if __name__ == "__main__":  # pragma: no cover
    main()
