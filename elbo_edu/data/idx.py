"""Read and write the idx format of the MNIST files (plain or gzip-compressed).

An idx file is a tiny header followed by the raw array, all big-endian::

    bytes 0-1        0x00 0x00
    byte  2          the element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                     0x0D float32, 0x0E float64
    byte  3          the number of dimensions d
    4 bytes × d      the size of each dimension (unsigned 32-bit)
    the data         prod(sizes) elements in C order

Read as one big-endian 32-bit integer, the first four bytes are the *magic number*: 2051
(``0x00000803``) for the MNIST images (uint8, shape ``(n, 28, 28)``) and 2049 (``0x00000801``) for
the labels (uint8, shape ``(n,)``). Anything that does not match is rejected with a
:class:`~elbo_edu.data.errors.DataError` that names the file.
"""
from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from .errors import DataError

__all__ = ["IDX_TYPES", "read_bytes", "parse_idx", "read_idx", "encode_idx", "write_idx"]

#: idx type code -> big-endian NumPy dtype
IDX_TYPES = {
    0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(path: str | os.PathLike) -> bytes:
    """Return the content of ``path``, decompressed if the file is gzip (sniffed, not by name).

    Raises
    ------
    DataError
        If the gzip stream is corrupt or truncated.
    """
    raw = Path(path).read_bytes()
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise DataError(f"{path}: corrupt or truncated gzip file ({exc})") from exc


def parse_idx(data: bytes, *, name: str = "idx data") -> np.ndarray:
    """Decode the bytes of one (decompressed) idx file into an array.

    Parameters
    ----------
    data : bytes
        The whole file.
    name : str
        What to call the data in error messages (usually the file name).

    Returns
    -------
    ndarray
        A new, writable array in native byte order, of the shape given in the header.

    Raises
    ------
    DataError
        On a bad magic number, an unknown type code, or a size that disagrees with the header
        (truncated file or trailing bytes).
    """
    if len(data) < 4:
        raise DataError(f"{name}: too short for an idx header ({len(data)} bytes)")
    magic = int.from_bytes(data[:4], "big")
    if data[0] != 0 or data[1] != 0 or data[2] not in IDX_TYPES or data[3] == 0:
        raise DataError(f"{name}: bad idx magic number 0x{magic:08x}; expected 0x0000TTDD with a "
                        f"known type TT and DD >= 1 dimensions (MNIST: 0x00000803 images, "
                        f"0x00000801 labels)")
    dtype, ndim = IDX_TYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{name}: truncated idx header: {ndim} dimensions need {header} bytes, "
                        f"the file has {len(data)}")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    count = math.prod(shape)
    expected = header + count * dtype.itemsize
    if len(data) < expected:
        raise DataError(f"{name}: truncated idx file: shape {shape} needs {expected} bytes, "
                        f"got {len(data)}")
    if len(data) > expected:
        raise DataError(f"{name}: {len(data) - expected} unexpected trailing bytes after the "
                        f"idx data of shape {shape}")
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an idx file (plain or ``.gz``) into an array; see :func:`parse_idx`."""
    return parse_idx(read_bytes(path), name=str(path))


def encode_idx(array) -> bytes:
    """Return the idx bytes of ``array`` (the inverse of :func:`parse_idx`).

    Raises
    ------
    ValueError
        If the dtype has no idx type code or the array is 0-dimensional.
    """
    arr = np.asarray(array)
    codes = {dt.newbyteorder("="): code for code, dt in IDX_TYPES.items()}
    if arr.dtype.newbyteorder("=") not in codes:
        raise ValueError(f"array: dtype {arr.dtype} has no idx type code; expected one of "
                         f"{', '.join(str(d) for d in codes)}")
    if not 1 <= arr.ndim <= 255:
        raise ValueError(f"array: expected 1 to 255 dimensions, got shape {arr.shape}")
    code = codes[arr.dtype.newbyteorder("=")]
    head = bytes([0, 0, code, arr.ndim]) + b"".join(n.to_bytes(4, "big") for n in arr.shape)
    return head + np.ascontiguousarray(arr, dtype=IDX_TYPES[code]).tobytes()


def write_idx(path: str | os.PathLike, array) -> None:
    """Write ``array`` as an idx file, gzip-compressed if ``path`` ends in ``.gz``."""
    data = encode_idx(array)
    if str(path).endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    Path(path).write_bytes(data)
