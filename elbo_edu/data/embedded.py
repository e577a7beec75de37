"""The embedded default: a small MNIST subset shipped inside the package.

``embedded_mnist.npz`` (about 1.7 MB) holds 8 000 training and 2 000 test images, 800 and 200 of
each digit, drawn with a fixed seed from the real MNIST files by
:mod:`elbo_edu.data.make_embedded`. It makes ``elbo-edu train`` and the chapters work offline on a
fresh install; numbers measured on it are *not* comparable with full-MNIST results.
"""
from __future__ import annotations

import functools
import importlib.resources

import numpy as np

from ._common import check_choice, image_dtype, to_image_dtype

__all__ = ["EMBEDDED_FILE", "EMBEDDED_SIZES", "load_embedded"]

EMBEDDED_FILE = "embedded_mnist.npz"
#: split -> number of images
EMBEDDED_SIZES = {"train": 8_000, "test": 2_000}


@functools.lru_cache(maxsize=1)
def _raw() -> dict[str, np.ndarray]:
    ref = importlib.resources.files(__package__).joinpath(EMBEDDED_FILE)
    with importlib.resources.as_file(ref) as file, np.load(file) as archive:
        return {key: archive[key] for key in archive.files}


def load_embedded(split: str = "train", *, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Load one split of the embedded MNIST subset.

    Parameters
    ----------
    split : {"train", "test"}
    dtype : dtype
        ``np.uint8`` for raw pixels 0..255, or a float type for grey levels ``x / 255`` in [0, 1].

    Returns
    -------
    images : ndarray, shape (8000, 784) for "train", (2000, 784) for "test"
    labels : ndarray, shape (n,), int64, digits 0..9 (every digit equally often)
    """
    check_choice(split, "split", tuple(EMBEDDED_SIZES))
    dt = image_dtype(dtype)
    raw = _raw()
    return to_image_dtype(raw[f"x_{split}"], dt), raw[f"y_{split}"].astype(np.int64)
