"""Data for the chapters: real MNIST, the embedded subset, binarization, toy 2-D sets.

The one call most code needs is :func:`load_dataset`::

    from elbo_edu.data import load_dataset
    data = load_dataset("embedded")       # works offline: shipped with the package
    data.x_train.shape                    # (8000, 784), float32 grey levels in [0, 1]

Modules, one concept each:

* :mod:`.idx` - the idx file format; :mod:`.checksum` - SHA-256 of decompressed content;
  :mod:`.download` - atomic verified downloads; :mod:`.locate` - path / ``ELBO_EDU_DATA`` / cache;
* :mod:`.mnist` - full MNIST; :mod:`.binarized_mnist` - the static binarization of the
  literature; :mod:`.embedded` (+ :mod:`.make_embedded`) - the shipped subset;
* :mod:`.binarize` - dynamic and static binarization; :mod:`.toy` - 2-D sets; :mod:`.manifold` -
  2-D manifold data in 10-D (chapter 11);
* :mod:`.datasets` - :func:`load_dataset` and :class:`Dataset`; :mod:`.subset` - seeded random
  rows for figures and partial evaluations.
"""
from .binarize import binarize_dynamic, binarize_static, binarize_static_sample
from .binarized_mnist import BINARIZED_MNIST_SPLITS, find_binarized_mnist, load_binarized_mnist
from .checksum import sha256_hex
from .datasets import DATASET_NAMES, Dataset, load_dataset
from .embedded import EMBEDDED_SIZES, load_embedded
from .errors import DataError
from .idx import parse_idx, read_idx, write_idx
from .locate import CACHE_ENV, DATA_ENV, cache_root
from .mnist import MNIST_FILES, MNIST_MIRRORS, MNIST_SHA256, fetch_mnist_file, load_mnist
from .subset import random_rows, random_subset
from .toy import make_gaussian_mixture, make_moons, make_pinwheel, make_ring, ring_map

__all__ = [
    "load_dataset", "Dataset", "DATASET_NAMES", "DataError",
    "load_mnist", "fetch_mnist_file", "MNIST_FILES", "MNIST_SHA256", "MNIST_MIRRORS",
    "load_binarized_mnist", "find_binarized_mnist", "BINARIZED_MNIST_SPLITS",
    "load_embedded", "EMBEDDED_SIZES",
    "binarize_dynamic", "binarize_static", "binarize_static_sample",
    "make_ring", "ring_map", "make_moons", "make_pinwheel", "make_gaussian_mixture",
    "read_idx", "parse_idx", "write_idx", "sha256_hex",
    "DATA_ENV", "CACHE_ENV", "cache_root", "random_subset", "random_rows",
]
