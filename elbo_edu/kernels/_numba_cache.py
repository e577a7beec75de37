"""Where numba keeps its compiled kernels, when the usual places cannot be written.

The numba kernels are compiled with ``cache=True``: the machine code is kept on disk and reused
by the next session. numba looks for a writable folder beside the package's source
(``__pycache__``), then in the user's cache folder (``~/.cache/numba``); when neither can be
written (a package installed read-only, a read-only or missing home folder: a container, a
shared teaching server) it refuses to decorate the function at all. :func:`configure` is called
before the kernels are defined and then chooses, in order:

1. the folder in the environment variable ``NUMBA_CACHE_DIR``, when set (numba's own setting:
   set it to choose the folder yourself);
2. numba's usual places, when one of them can be written (nothing changes);
3. a private folder in the system's temporary directory, ``elbo_edu-numba-<user id>``;
4. no cache at all: every session compiles the kernels again (a few seconds), but it runs.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["configure", "writable"]

_done: dict = {}


def writable(folder: Path) -> bool:
    """True if ``folder`` exists or can be created, and a file can be created in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _numba_places() -> list[Path]:
    from numba.misc.appdirs import user_cache_dir

    return [Path(__file__).parent / "__pycache__", Path(user_cache_dir("numba"))]


def configure() -> str:
    """Make sure numba has a cache folder it can write, or no cache; returns the choice (one of
    ``"environment"``, ``"numba"``, the fallback folder's path, ``"none"``). Idempotent."""
    if "choice" in _done:
        return _done["choice"]
    from numba.core import config

    if os.environ.get("NUMBA_CACHE_DIR"):
        choice = "environment"
    elif any(writable(p) for p in _numba_places()):
        choice = "numba"
    else:
        uid = os.getuid() if hasattr(os, "getuid") else "user"
        fallback = Path(tempfile.gettempdir()) / f"elbo_edu-numba-{uid}"
        if writable(fallback):
            config.CACHE_DIR = str(fallback)
            choice = str(fallback)
        else:  # nowhere to write: compile in every session instead of failing
            from numba.core.dispatcher import Dispatcher
            Dispatcher.enable_caching = lambda self: None
            choice = "none"
    _done["choice"] = choice
    return choice
