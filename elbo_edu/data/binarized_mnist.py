"""The statically binarized MNIST of the likelihood tables (50 000 / 10 000 / 10 000).

The file ``binarized_mnist.npz`` holds the arrays ``train``, ``valid`` and ``test``; each row is
one image's 784 binary pixels packed 8 to a byte with ``np.packbits(..., axis=1)`` (98 bytes), and
``np.unpackbits(a, axis=1)`` restores the 0/1 pixels. It is the fixed binarization used by e.g.
Burda et al. (IWAE, 2015). There are no labels.

There is **no download** for this file: pass its location (the file or its folder) as ``path``, or
put it in ``$ELBO_EDU_DATA`` (or ``$ELBO_EDU_DATA/binarized_mnist``) or the cache folder
``~/.cache/elbo_edu/binarized_mnist``.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ._common import check_choice, image_dtype, to_image_dtype
from .errors import DataError
from .locate import DATA_ENV, default_cache_dir, find_file, search_dirs

__all__ = ["BINARIZED_MNIST_FILE", "BINARIZED_MNIST_SPLITS", "find_binarized_mnist",
           "load_binarized_mnist"]

BINARIZED_MNIST_FILE = "binarized_mnist.npz"
#: split -> number of rows in the published file
BINARIZED_MNIST_SPLITS = {"train": 50_000, "valid": 10_000, "test": 10_000}


def find_binarized_mnist(path=None) -> Path:
    """Return the location of ``binarized_mnist.npz``.

    ``path`` may be the file itself or a folder; then ``$ELBO_EDU_DATA`` and the cache folder are
    searched (each also in a ``binarized_mnist`` sub-folder).

    Raises
    ------
    DataError
        If the file is nowhere; it is never downloaded.
    """
    if path is not None and Path(path).expanduser().is_file():
        return Path(path).expanduser()
    dirs = search_dirs(path, "binarized_mnist") + [default_cache_dir("binarized_mnist")]
    found = find_file([BINARIZED_MNIST_FILE], dirs)
    if found is None:
        raise DataError(f"{BINARIZED_MNIST_FILE}: not found (looked in "
                        f"{', '.join(map(str, dirs))}). This file is not downloaded "
                        f"automatically: pass its path or folder as path/data_dir, or set "
                        f"{DATA_ENV} to the folder holding it")
    return found


def load_binarized_mnist(path=None, *, split: str = "train", dtype=np.float32) -> np.ndarray:
    """Load one split of the statically binarized MNIST.

    Parameters
    ----------
    path : path or None
        The ``.npz`` file or a folder holding it; see :func:`find_binarized_mnist`.
    split : {"train", "valid", "test"}
    dtype : dtype
        ``np.uint8`` or a float type; the values are 0 and 1 either way.

    Returns
    -------
    ndarray, shape (n, 784)
        n = 50 000, 10 000, 10 000 for the published file.

    Raises
    ------
    DataError
        If the file is missing, not a valid ``.npz``, lacks ``split`` or has rows of the wrong size.
    """
    check_choice(split, "split", tuple(BINARIZED_MNIST_SPLITS))
    dt = image_dtype(dtype)
    file = find_binarized_mnist(path)
    try:
        with np.load(file) as archive:
            if split not in archive.files:
                raise DataError(f"{file}: no array {split!r} (has {archive.files})")
            packed = archive[split]
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{file}: not a readable .npz file ({exc})") from exc
    if packed.dtype != np.uint8 or packed.ndim != 2 or packed.shape[1] != 98:
        raise DataError(f"{file}: {split!r} should be bit-packed rows, uint8 of shape (n, 98), "
                        f"got {packed.dtype} {packed.shape}")
    return to_image_dtype(np.unpackbits(packed, axis=1), dt, scale=1.0)
