"""Real MNIST from the four standard idx files: find, verify, download, load.

Lookup order (see :mod:`elbo_edu.data.locate`): the ``path`` argument, ``$ELBO_EDU_DATA``, the
user cache ``~/.cache/elbo_edu/mnist``, then a download from :data:`MNIST_MIRRORS` into that cache.
Each file may be plain or gzip-compressed; its *decompressed* content must match the published
SHA-256 in :data:`MNIST_SHA256`. A bad file in your own folder is an error (we never touch it);
a bad file in the cache is deleted and downloaded again.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ._common import check_choice, image_dtype, to_image_dtype
from .checksum import read_verified
from .download import NoNetwork, download_from_mirrors
from .errors import DataError
from .idx import parse_idx
from .locate import DATA_ENV, default_cache_dir, find_file, search_dirs

__all__ = ["MNIST_FILES", "MNIST_SHA256", "MNIST_MIRRORS", "fetch_mnist_file", "load_mnist"]

#: split -> (images file, labels file), names without ``.gz``
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
#: SHA-256 of each decompressed file (public constants of the data set)
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
#: public mirrors serving ``<name>.gz``, tried in order
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
_IMAGES_MAGIC, _LABELS_MAGIC = 2051, 2049


def _locate_and_read(name, *, path, cache_dir, download, mirrors, sha256, timeout, progress):
    """Return ``(file, decompressed bytes)`` of the MNIST file ``name``, verified."""
    table = dict(MNIST_SHA256)
    if sha256 is not None:
        if not isinstance(sha256, Mapping):
            raise ValueError(f"sha256: expected a mapping {{file name: hex digest}}, "
                             f"got {type(sha256).__name__}")
        table.update(sha256)
    expected = table.get(name)
    candidates = (name, name + ".gz")
    dirs = search_dirs(path, "mnist")
    found = find_file(candidates, dirs)
    if found is not None:  # the user's own copy: verify, never modify
        return found, read_verified(found, expected)

    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir("mnist")
    cached = find_file(candidates, [cache])
    if cached is not None:
        try:
            return cached, read_verified(cached, expected)
        except DataError:
            if not download:
                raise
            with contextlib.suppress(FileNotFoundError):
                os.unlink(cached)  # our own cache: replace the bad copy

    searched = ", ".join(str(d) for d in [*dirs, cache]) or "(nowhere)"
    hint = (f"put the idx files (plain or .gz) in a folder and pass it as path/data_dir or set "
            f"{DATA_ENV}; or use the embedded subset, load_dataset('embedded')")
    if not download:
        raise DataError(f"{name}: not found (looked in {searched}) and download=False; {hint}")
    try:
        dest = download_from_mirrors(name + ".gz", cache / (name + ".gz"),
                                     MNIST_MIRRORS if mirrors is None else mirrors,
                                     sha256=expected, timeout=timeout, progress=progress)
    except NoNetwork:
        raise DataError(f"{name}: not found (looked in {searched}) and there is no network "
                        f"connection to download it; {hint}") from None
    except DataError as exc:
        raise DataError(f"{name}: not found (looked in {searched}) and the download failed; "
                        f"{hint}.\n{exc}") from None
    return dest, read_verified(dest, expected)


def fetch_mnist_file(name: str, *, path=None, cache_dir=None, download: bool = True,
                     mirrors: Sequence[str] | None = None,
                     sha256: Mapping[str, str] | None = None, timeout: float = 30.0,
                     progress: bool = False) -> Path:
    """Find (or download) one MNIST file and verify it; return where it is.

    Parameters
    ----------
    name : str
        A key of :data:`MNIST_SHA256` (no ``.gz``), e.g. ``"t10k-labels-idx1-ubyte"``.
    path : path or None
        A folder searched first (the file may also be in ``path/mnist``).
    cache_dir : path or None
        The cache folder; default ``~/.cache/elbo_edu/mnist`` (see :func:`~.locate.cache_root`).
    download : bool
        Download into the cache when the file is nowhere else.
    mirrors : sequence of str or None
        Base URLs to try; default :data:`MNIST_MIRRORS` (tests pass a local server).
    sha256 : mapping or None
        ``{name: hex}`` entries overriding :data:`MNIST_SHA256`.
    timeout : float
        Network timeout in seconds.
    progress : bool
        Show a download progress bar.

    Raises
    ------
    DataError
        Naming the file, if it is nowhere and cannot be downloaded, or fails its checksum.
    """
    check_choice(name, "name", tuple(MNIST_SHA256))
    found, _ = _locate_and_read(name, path=path, cache_dir=cache_dir, download=download,
                                mirrors=mirrors, sha256=sha256, timeout=timeout,
                                progress=progress)
    return found


def _parse_checked(data: bytes, file: Path, magic: int, ndim: int) -> np.ndarray:
    got = int.from_bytes(data[:4], "big")
    if got != magic:
        kind = "images" if magic == _IMAGES_MAGIC else "labels"
        raise DataError(f"{file}: expected the MNIST {kind} magic number {magic} "
                        f"(0x{magic:08x}), got {got} (0x{got:08x})")
    arr = parse_idx(data, name=str(file))
    if arr.ndim != ndim or (ndim == 3 and arr.shape[1:] != (28, 28)):
        raise DataError(f"{file}: unexpected MNIST array shape {arr.shape}")
    return arr


def load_mnist(path=None, *, split: str = "train", dtype=np.float32, cache_dir=None,
               download: bool = True, mirrors: Sequence[str] | None = None,
               sha256: Mapping[str, str] | None = None, timeout: float = 30.0,
               progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Load one split of MNIST (chapter 09, D9.4: training the VAE on MNIST).

    Parameters
    ----------
    path : path or None
        A folder holding the idx files (or a ``mnist`` sub-folder); searched first.
    split : {"train", "test"}
        60 000 training or 10 000 test images.
    dtype : dtype
        ``np.uint8`` for raw pixels 0..255, or a float type for grey levels ``x / 255`` in [0, 1].
    cache_dir, download, mirrors, sha256, timeout, progress
        As in :func:`fetch_mnist_file`.

    Returns
    -------
    images : ndarray, shape (n, 784), ``dtype``
        One flattened 28 × 28 image per row, row-major.
    labels : ndarray, shape (n,), int64
        The digit 0..9 of each row.

    Raises
    ------
    DataError
        If a file is missing and cannot be downloaded, fails its checksum, or is malformed.
    """
    check_choice(split, "split", tuple(MNIST_FILES))
    dt = image_dtype(dtype)
    opts = dict(path=path, cache_dir=cache_dir, download=download, mirrors=mirrors,
                sha256=sha256, timeout=timeout, progress=progress)
    images_name, labels_name = MNIST_FILES[split]
    file, data = _locate_and_read(images_name, **opts)
    images = _parse_checked(data, file, _IMAGES_MAGIC, 3)
    del data
    file, data = _locate_and_read(labels_name, **opts)
    labels = _parse_checked(data, file, _LABELS_MAGIC, 1)
    if labels.shape[0] != images.shape[0]:
        raise DataError(f"{file}: {labels.shape[0]} labels for {images.shape[0]} images")
    if labels.size and labels.max() > 9:
        raise DataError(f"{file}: labels must be digits 0..9, found {labels.max()}")
    return to_image_dtype(images.reshape(len(images), 784), dt), labels.astype(np.int64)
