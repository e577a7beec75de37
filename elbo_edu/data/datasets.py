"""One entry point for every data set: ``load_dataset(name)`` -> :class:`Dataset`.

This is what the training loop and the CLI call::

    data = load_dataset("embedded")                      # offline default, 8 000 / 2 000 digits
    data = load_dataset("mnist", data_dir="../shared/data")
    data = load_dataset("moons", rng=np.random.default_rng(1))
    batch = data.x_train[i:i + 128]

Images come as grey levels in [0, 1] (feed them to a Bernoulli likelihood directly, or binarize
with :mod:`elbo_edu.data.binarize`); toy sets come as real-valued 2-D points.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._checks import check_positive_int
from ._common import check_rng
from .binarized_mnist import load_binarized_mnist
from .embedded import load_embedded
from .mnist import load_mnist
from .toy import make_gaussian_mixture, make_moons, make_pinwheel, make_ring

__all__ = ["Dataset", "DATASET_NAMES", "load_dataset"]

DATASET_NAMES = ("embedded", "mnist", "binarized-mnist", "moons", "ring", "pinwheel",
                 "gaussian-mixture")
_IMAGE_SETS = ("embedded", "mnist", "binarized-mnist")
_TOY = {"moons": make_moons, "ring": make_ring, "pinwheel": make_pinwheel,
        "gaussian-mixture": make_gaussian_mixture}
_TOY_SIZES = (10_000, 2_000)


@dataclass(frozen=True, repr=False, eq=False)
class Dataset:
    """A train/test pair of arrays, one example per row.

    Attributes
    ----------
    name : str
        The name given to :func:`load_dataset`.
    x_train : ndarray, shape (n_train, d)
    x_test : ndarray, shape (n_test, d)
    y_train, y_test : ndarray of shape (n,), int64, or None
        Labels (digits, moon, arm or component), None where there are none.
    x_valid : ndarray, shape (n_valid, d), or None
        A validation split, only for ``"binarized-mnist"``.
    """

    name: str
    x_train: np.ndarray
    x_test: np.ndarray
    y_train: np.ndarray | None = None
    y_test: np.ndarray | None = None
    x_valid: np.ndarray | None = None

    @property
    def x_dim(self) -> int:
        """The number of columns d (784 for the images, 2 for the toy sets)."""
        return self.x_train.shape[1]

    def __repr__(self) -> str:
        parts = [f"{k}={getattr(self, k).shape}" for k in
                 ("x_train", "x_test", "y_train", "y_test", "x_valid")
                 if getattr(self, k) is not None]
        return f"Dataset({self.name!r}, {', '.join(parts)}, dtype={self.x_train.dtype})"


def _head(a, n):
    """The first ``n`` rows as a new array (a view would keep the whole set alive)."""
    return a if a is None or n is None else a[:n].copy()


def load_dataset(name: str, *, data_dir=None, dtype=np.float32, rng=None,
                 n_train: int | None = None, n_test: int | None = None,
                 download: bool = True, progress: bool = False) -> Dataset:
    """Load a data set by name.

    Parameters
    ----------
    name : str
        One of :data:`DATASET_NAMES` (``_`` and ``-`` are interchangeable, case ignored):

        * ``"embedded"``: the MNIST subset inside the package, 8 000 train / 2 000 test, labels;
        * ``"mnist"``: full MNIST, 60 000 / 10 000, labels (found or downloaded, see
          :func:`~elbo_edu.data.mnist.load_mnist`);
        * ``"binarized-mnist"``: the static binarization, 50 000 / 10 000 (test), plus
          ``x_valid`` 10 000, no labels, never downloaded;
        * ``"moons"``, ``"ring"``, ``"pinwheel"``, ``"gaussian-mixture"``: 2-D toy sets,
          10 000 / 2 000 points by default (the ring has no labels).
    data_dir : path or None
        A folder searched first for the real data sets (the files, or ``mnist/`` and
        ``binarized_mnist/`` sub-folders); ignored by the others.
    dtype : dtype
        Float type of ``x_*`` (``np.uint8`` also works for the image sets).
    rng : numpy.random.Generator or None
        Draws the toy sets (train first, then test); None means ``np.random.default_rng(0)``,
        the same data every time. Unused by the image sets.
    n_train, n_test : int or None
        Number of rows: for the toy sets the sample sizes; for the image sets the first rows are
        kept (None keeps all).
    download, progress : bool
        Passed to :func:`~elbo_edu.data.mnist.load_mnist` for ``"mnist"``.

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        On an unknown name (the message lists the valid ones) or bad arguments.
    DataError
        If the files of a real data set cannot be found, downloaded or verified.
    """
    key = name.strip().lower().replace("_", "-") if isinstance(name, str) else name
    if key not in DATASET_NAMES:
        raise ValueError(f"name: unknown data set {name!r}; expected one of "
                         f"{', '.join(DATASET_NAMES)}")
    for value, arg in ((n_train, "n_train"), (n_test, "n_test")):
        if value is not None:
            check_positive_int(value, arg)
    if key in _TOY:
        dt = np.dtype(dtype)
        if not np.issubdtype(dt, np.floating):
            raise ValueError(f"dtype: the toy sets need a floating dtype, got {dt}")
        rng = np.random.default_rng(0) if rng is None else check_rng(rng)
        parts = [_TOY[key](n, rng) for n in (n_train or _TOY_SIZES[0], n_test or _TOY_SIZES[1])]
        if key == "ring":
            return Dataset(key, parts[0].astype(dt), parts[1].astype(dt))
        (xa, ya), (xb, yb) = parts
        return Dataset(key, xa.astype(dt), xb.astype(dt), ya, yb)

    if data_dir is not None and key != "embedded" and not (
            Path(data_dir).expanduser().is_dir()
            or (key == "binarized-mnist" and Path(data_dir).expanduser().is_file())):
        raise ValueError(f"data_dir: {data_dir} is not an existing folder")
    if key == "embedded":
        (xa, ya), (xb, yb) = (load_embedded(s, dtype=dtype) for s in ("train", "test"))
        xv = None
    elif key == "mnist":
        (xa, ya), (xb, yb) = (load_mnist(data_dir, split=s, dtype=dtype, download=download,
                                         progress=progress) for s in ("train", "test"))
        xv = None
    else:
        xa, xv, xb = (load_binarized_mnist(data_dir, split=s, dtype=dtype)
                      for s in ("train", "valid", "test"))
        ya = yb = None
    return Dataset(key, _head(xa, n_train), _head(xb, n_test), _head(ya, n_train),
                   _head(yb, n_test), _head(xv, n_test))
