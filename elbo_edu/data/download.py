"""Atomic, verified downloads with the standard library (``urllib``).

A download goes to a temporary file *in the destination folder*; only after the whole body has
arrived, its length matches ``Content-Length`` and the SHA-256 of its decompressed content
matches, is it renamed onto the destination with ``os.replace`` (atomic on one file system). On
any failure - network error, HTTP error, truncation, corrupt gzip, checksum mismatch, even
Ctrl-C - the temporary file is removed, so the cache never holds half a file.
"""
from __future__ import annotations

import contextlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from .checksum import read_verified
from .errors import DataError

__all__ = ["download_verified", "download_from_mirrors", "NoNetwork"]

_CHUNK = 1 << 16


def download_verified(url: str, dest: str | os.PathLike, *, sha256: str | None = None,
                      timeout: float = 30.0, progress: bool = False) -> Path:
    """Download ``url`` to ``dest`` atomically, verifying the decompressed SHA-256.

    Parameters
    ----------
    url : str
        What to fetch (``http``, ``https`` or ``file`` URL).
    dest : path
        The final file; its folder is created if needed.
    sha256 : str or None
        Expected SHA-256 (hex) of the content after gzip decompression; None checks only that a
        gzip body decompresses.
    timeout : float
        Seconds to wait for the server on connect and on each read.
    progress : bool
        Show a ``tqdm`` progress bar.

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    DataError
        Naming the URL: on a network or HTTP error, a truncated body, a corrupt gzip stream or a
        checksum mismatch. ``dest`` is then left untouched and no temporary file remains.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            _fetch(url, f, timeout=timeout, progress=progress, label=dest.name)
        try:
            read_verified(tmp, sha256)
        except DataError as exc:  # re-label: the temporary name means nothing to the user
            raise DataError(str(exc).replace(tmp, url, 1)) from None
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return dest


def _fetch(url: str, f, *, timeout: float, progress: bool, label: str) -> None:
    """Stream the body of ``url`` into the open binary file ``f``; raise DataError on failure."""
    request = urllib.request.Request(url, headers={"User-Agent": "elbo_edu"})
    got, total, bar = 0, None, None
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if progress:
                from tqdm.auto import tqdm
                bar = tqdm(total=total, unit="B", unit_scale=True, desc=label, leave=False)
            while chunk := response.read(_CHUNK):
                f.write(chunk)
                got += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
    except http.client.IncompleteRead as exc:
        raise DataError(f"{url}: truncated download: got {got + len(exc.partial)} of "
                        f"{total} bytes") from None
    except urllib.error.HTTPError as exc:
        raise DataError(f"{url}: download failed ({exc})") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, OSError):  # the server was never reached
            raise NoNetwork(f"{url}: no network connection ({_reason(exc.reason)})") from None
        raise DataError(f"{url}: download failed ({exc.reason})") from None
    except (http.client.HTTPException, OSError) as exc:
        raise DataError(f"{url}: download failed ({_reason(exc)})") from None
    finally:
        if bar is not None:
            bar.close()
    if total is not None and got != total:
        raise DataError(f"{url}: truncated download: got {got} of {total} bytes")


class NoNetwork(DataError):
    """No server could be reached (no network, name resolution failed, connection refused)."""


def _reason(exc: BaseException) -> str:
    """An OS error's text without its ``[Errno N]`` prefix."""
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def download_from_mirrors(filename: str, dest: str | os.PathLike, mirrors, *,
                          sha256: str | None = None, timeout: float = 30.0,
                          progress: bool = False) -> Path:
    """Try ``mirror + filename`` for each mirror in turn until one download verifies.

    Parameters
    ----------
    filename : str
        The name on the server, e.g. ``"t10k-labels-idx1-ubyte.gz"``.
    dest : path
        Where the verified file goes.
    mirrors : sequence of str
        Base URLs, tried in order (a missing trailing ``/`` is added).

    Raises
    ------
    NoNetwork
        (a :class:`DataError`) if no mirror could be reached at all: the network is down.
    DataError
        If every mirror fails; the message lists each mirror's error.
    """
    errors, offline = [], True
    for base in mirrors:
        url = base if base.endswith("/") else base + "/"
        try:
            return download_verified(url + filename, dest, sha256=sha256, timeout=timeout,
                                     progress=progress)
        except DataError as exc:
            errors.append(str(exc))
            offline = offline and isinstance(exc, NoNetwork)
    if not errors:
        raise DataError(f"{filename}: no mirror to download from (mirrors is empty)")
    if offline:  # one reason for all: say it once
        raise NoNetwork(f"{filename}: there is no network connection (none of the "
                        f"{len(errors)} mirrors could be reached: {errors[0].split(' (', 1)[-1]}")
    raise DataError(f"{filename}: every mirror failed:\n  " + "\n  ".join(errors))
