"""Where the data loaders look for files: an explicit folder, ``$ELBO_EDU_DATA``, a user cache.

The lookup order of every real data set (see ``DESIGN.md``, section "Data") is

1. the folder passed as ``path`` (or ``data_dir``),
2. the folder named by the environment variable ``ELBO_EDU_DATA``,
3. the user cache folder :func:`cache_root` ``/ <data set>``,
4. (MNIST only) a download from a public mirror into that cache folder.

In the first two, the files may sit in the folder itself or in a sub-folder named after the data
set, so ``ELBO_EDU_DATA=.../data`` works for a tree holding ``mnist/`` and ``binarized_mnist/``.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["DATA_ENV", "CACHE_ENV", "cache_root", "default_cache_dir", "search_dirs", "find_file"]

#: environment variable naming a folder of data files, searched after an explicit path
DATA_ENV = "ELBO_EDU_DATA"
#: environment variable overriding the cache root (``~/.cache/elbo_edu``); used by the tests
CACHE_ENV = "ELBO_EDU_CACHE"


def cache_root() -> Path:
    """The root of the user cache: ``$ELBO_EDU_CACHE``, else ``$XDG_CACHE_HOME/elbo_edu``,
    else ``%LOCALAPPDATA%/elbo_edu`` on Windows, else ``~/.cache/elbo_edu``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "elbo_edu"
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "elbo_edu"
    return Path.home() / ".cache" / "elbo_edu"


def default_cache_dir(dataset: str) -> Path:
    """The cache folder of one data set, e.g. ``~/.cache/elbo_edu/mnist``."""
    return cache_root() / dataset


def search_dirs(path, dataset: str, *, name: str = "path") -> list[Path]:
    """The folders searched before the cache, in order (steps 1 and 2 above).

    Raises
    ------
    ValueError
        If ``path`` is given but is not an existing folder (most likely a typo); the message
        starts with ``name``, the argument's name at the caller.
    """
    bases = []
    if path is not None:
        base = Path(path).expanduser()
        if not base.is_dir():
            raise ValueError(f"{name}: {base} is not an existing folder")
        bases.append(base)
    if os.environ.get(DATA_ENV):
        bases.append(Path(os.environ[DATA_ENV]).expanduser())
    return [d for base in bases for d in (base, base / dataset)]


def find_file(names, dirs) -> Path | None:
    """The first existing file ``dir / name`` over ``dirs`` (outer loop) and ``names``, or None."""
    for d in dirs:
        for name in names:
            if (d / name).is_file():
                return d / name
    return None
