"""Atomic file writes, shared by checkpoints, run metadata and figures.

A file is written to a fresh hidden temporary file beside its destination, flushed to disk and
then moved over the destination with :func:`os.replace` (atomic on one file system): a reader, a
crash or a Ctrl-C never sees half a file, and on any failure the old file stays as it was and the
temporary file is removed. An ``OSError`` (a full disk, say) names the destination.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import BinaryIO, Callable

__all__ = ["atomic_write", "atomic_write_text"]


def _create_temp(path: Path) -> tuple[int, Path]:
    """Open a new hidden file beside ``path`` with mode 0o666 minus the umask, like a plain open.

    (``tempfile.mkstemp`` would create it 0o600, and ``os.replace`` keeps that mode, leaving a file
    only its owner can read.)
    """
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file beside {path}")


def atomic_write(path, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(binary_file)`` on a temporary file, then move it over ``path``.

    Missing parent folders are created. Returns ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno is not None and exc.filename in (None, str(tmp)):  # name the destination
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))
