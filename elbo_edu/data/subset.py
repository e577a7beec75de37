"""A seeded random subset of rows, for everything that shows or scores part of a data set.

The first rows of a data set are not a fair sample of it: the statically binarized MNIST, for
one, is sorted by class, so its first 16 test images are all zeros. Figures and partial
evaluations therefore take rows at random, from a generator seeded by the caller, so the same
seed shows the same rows.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_positive_int
from ._common import check_rng

__all__ = ["random_subset", "random_rows"]


def random_rows(n_rows: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``min(n, n_rows)`` distinct rows drawn at random, in increasing order.

    Parameters
    ----------
    n_rows : int >= 0, rows available
    n : int > 0, rows wanted (all rows, in order, when ``n >= n_rows``)
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of int64, shape (min(n, n_rows),)
    """
    n = check_positive_int(n, "n")
    check_rng(rng)
    if n >= n_rows:
        return np.arange(n_rows)
    return np.sort(rng.choice(n_rows, size=n, replace=False))


def random_subset(x, n: int, rng: np.random.Generator, *extra):
    """``min(n, len(x))`` random rows of ``x`` (and the same rows of every array in ``extra``).

    Returns ``x[idx]`` alone, or the tuple ``(x[idx], *(e[idx] for e in extra))``; an entry of
    ``extra`` that is None stays None.

    >>> x = np.arange(10)[:, None]
    >>> random_subset(x, 3, np.random.default_rng(0)).ravel().tolist()
    [5, 6, 9]
    """
    idx = random_rows(len(x), n, rng)
    if not extra:
        return x[idx]
    return (x[idx], *(None if e is None else e[idx] for e in extra))
