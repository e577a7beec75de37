"""SHA-256 verification of data files, on the *decompressed* bytes.

The checksum is taken after gzip decompression because the compressed bytes of the same content
differ between mirrors and compressors, while the content does not (see the MNIST README).
"""
from __future__ import annotations

import hashlib
import os

from .errors import DataError
from .idx import read_bytes

__all__ = ["sha256_hex", "check_sha256", "read_verified"]


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of ``data`` as 64 lower-case hex digits."""
    return hashlib.sha256(data).hexdigest()


def check_sha256(data: bytes, expected: str | None, *, name: str) -> None:
    """Raise :class:`DataError` naming ``name`` unless ``sha256(data) == expected``.

    ``expected=None`` skips the check (a file with no known checksum).
    """
    if expected is None:
        return
    got = sha256_hex(data)
    if got != expected.lower():
        raise DataError(f"{name}: SHA-256 mismatch of the decompressed content: expected "
                        f"{expected.lower()}, got {got} (the file is corrupt, truncated or a "
                        f"different file)")


def read_verified(path: str | os.PathLike, expected: str | None) -> bytes:
    """Read ``path`` (decompressing gzip) and check its SHA-256; return the decompressed bytes."""
    data = read_bytes(path)
    check_sha256(data, expected, name=str(path))
    return data
