"""Small argument checks shared by the data loaders (private).

The package-wide checks live in :mod:`elbo_edu._checks`; these are the few that only the data
code needs: a split name and the dtype of returned images (``check_rng`` is re-exported).
"""
from __future__ import annotations

import numpy as np

from .._checks import check_rng  # noqa: F401  (re-exported for the data modules)

__all__ = ["check_rng", "check_choice", "image_dtype", "to_image_dtype"]


def check_choice(value, name: str, choices) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ``ValueError`` listing them."""
    if value not in choices:
        raise ValueError(f"{name}: expected one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def image_dtype(dtype, name: str = "dtype") -> np.dtype:
    """Check the dtype asked of an image loader: ``uint8`` (raw) or a floating type."""
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise ValueError(f"{name}: expected a NumPy dtype, got {dtype!r}") from exc
    if dt != np.uint8 and not np.issubdtype(dt, np.floating):
        raise ValueError(f"{name}: expected np.uint8 (raw 0..255) or a floating dtype "
                         f"(grey levels in [0, 1]), got {dt}")
    return dt


def to_image_dtype(x: np.ndarray, dtype: np.dtype, scale: float = 255.0) -> np.ndarray:
    """Return a new array: uint8 pixels ``x`` as they are (``dtype`` uint8) or ``x / scale``.

    Use ``scale=255`` for grey levels and ``scale=1`` for pixels that are already 0/1.
    """
    if dtype == np.uint8:
        return np.array(x, dtype=np.uint8, copy=True)
    out = x.astype(dtype)
    if scale != 1:
        out /= dtype.type(scale)  # divide (not multiply by 1/255): 255 maps to exactly 1.0
    return out
