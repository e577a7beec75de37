"""Shared plumbing for the figures: a headless figure factory, one style, atomic saving.

Nothing here touches :mod:`matplotlib.pyplot`: figures are plain :class:`matplotlib.figure.Figure`
objects, so they work on a server without a display, never pop up a window, and are not
collected by pyplot's global figure list (no "too many open figures" warnings in a training
loop). In a notebook the figure shows itself when it is the last value of a cell.

Colours come from the colour-blind-safe palettes of Okabe & Ito (*Color Universal Design*) and
Paul Tol (*Colour Schemes*, "muted"); continuous data use the perceptually uniform ``viridis``.
"""
from __future__ import annotations

import functools
import io
import os
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from .._checks import as_float_array, check_positive_int
from .._checks.files import atomic_write

__all__ = [
    "COLORS", "TRAIN_COLOR", "TEST_COLOR", "CATEGORICAL", "STYLE", "NATS",
    "new_figure", "save_figure", "styled", "finish", "as_images", "tile_images", "check_1d",
]

#: Okabe-Ito colours by name.
COLORS = {
    "blue": "#0072B2", "vermillion": "#D55E00", "green": "#009E73", "orange": "#E69F00",
    "sky": "#56B4E9", "purple": "#CC79A7", "yellow": "#F0E442", "black": "#000000",
    "grey": "#8C8C8C",
}
TRAIN_COLOR = COLORS["blue"]
TEST_COLOR = COLORS["vermillion"]
#: Ten colours for the ten digits: Paul Tol's nine "muted" colours plus a dark grey.
CATEGORICAL = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933",
               "#DDCC77", "#CC6677", "#882255", "#AA4499", "#555555")
#: The unit of every log-probability axis.
NATS = "nats"

#: rcParams applied (temporarily, never globally) while a figure is being built.
STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 120,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.framealpha": 0.9,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.8,
    "lines.markersize": 5,
    "image.cmap": "viridis",
    "axes.prop_cycle": matplotlib.cycler(color=[COLORS[k] for k in
                                                ("blue", "vermillion", "green", "orange",
                                                 "sky", "purple", "black")]),
}

_FORMATS = ("png", "pdf", "svg")


class _NotebookFigure(Figure):
    """A ``Figure`` that renders itself as a PNG in Jupyter without importing pyplot."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", bbox_inches="tight")
        return buf.getvalue()


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize=(5.0, 3.6), **subplot_kw):
    """Create a headless figure with a grid of axes and constrained (tight) layout.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : Axes or ndarray of Axes
        A single ``Axes`` for a 1 x 1 grid, else the array from ``Figure.subplots``.
    """
    fig = _NotebookFigure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=True, **subplot_kw)
    return fig, axes


def save_figure(fig: Figure, path) -> Path:
    """Write ``fig`` to ``path`` atomically and return the path.

    The image is rendered into a temporary file in the destination folder and then moved over
    ``path`` with :func:`os.replace`, so a reader (or a crash half way) never sees a partial
    file. The format follows the suffix: ``.png`` (the default use), ``.pdf`` or ``.svg``.
    Missing parent folders are created.

    Raises
    ------
    ValueError
        If ``fig`` is not a Figure or the suffix of ``path`` is not one of the formats above.
    """
    if not isinstance(fig, Figure):
        raise ValueError(f"fig: expected a matplotlib Figure, got {type(fig).__name__}")
    try:
        path = Path(os.fspath(path))
    except TypeError as exc:
        raise ValueError(f"path: expected a file path, got {type(path).__name__}") from exc
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in _FORMATS:
        raise ValueError(f"path: expected a file name ending in one of "
                         f"{', '.join('.' + f for f in _FORMATS)}, got {str(path)!r}")
    return atomic_write(path, lambda handle: fig.savefig(handle, format=fmt))


def styled(func):
    """Decorator: build the figure inside ``matplotlib.rc_context(STYLE)`` (no global change)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(STYLE):
            return func(*args, **kwargs)
    return wrapper


def finish(fig: Figure, path) -> Figure:
    """Save ``fig`` when ``path`` is not None, then return it (the last line of every plot)."""
    if path is not None:
        save_figure(fig, path)
    return fig


def check_1d(x, name: str, *, size: int | None = None, size_of: str | None = None,
             finite: bool = True) -> np.ndarray:
    """Return ``x`` as a non-empty 1-D float array, optionally of a given length."""
    arr = as_float_array(x, name, finite=finite)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name}: expected a non-empty 1-D array, got shape {arr.shape}")
    if size is not None and arr.size != size:
        raise ValueError(f"{name}: expected length {size} (the length of {size_of}), "
                         f"got {arr.size}")
    return arr


def as_images(x, name: str, shape) -> np.ndarray:
    """Return a batch of images as an array of shape (n, H, W).

    ``x`` may be flat, shape (n, H*W), or already (n, H, W); ``shape`` is (H, W).
    """
    if (not isinstance(shape, (tuple, list)) or len(shape) != 2
            or not all(isinstance(s, (int, np.integer)) and s > 0 for s in shape)):
        raise ValueError(f"shape: expected a pair of positive integers (H, W), got {shape!r}")
    h, w = int(shape[0]), int(shape[1])
    arr = as_float_array(x, name)
    if arr.ndim == 2 and arr.shape[1] == h * w:
        arr = arr.reshape(-1, h, w)
    if arr.ndim != 3 or arr.shape[1:] != (h, w) or arr.shape[0] == 0:
        raise ValueError(f"{name}: expected images of shape (n, {h * w}) or (n, {h}, {w}) "
                         f"with n >= 1, got {arr.shape}")
    return arr


def tile_images(images: np.ndarray, ncol: int, pad: int = 1) -> np.ndarray:
    """Tile (n, H, W) images row by row into one 2-D array, ``ncol`` images per row.

    Gaps between tiles (``pad`` pixels) and unused cells are NaN, so ``imshow`` draws them in
    the colour map's "bad" colour: one image, crisp separators, one ``Axes``.

    Returns
    -------
    ndarray, shape (nrow*(H+pad)-pad, ncol*(W+pad)-pad) with ``nrow = ceil(n / ncol)``
    """
    ncol = check_positive_int(ncol, "ncol")
    n, h, w = images.shape
    ncol = min(ncol, n)
    nrow = -(-n // ncol)
    out = np.full((nrow * (h + pad) - pad, ncol * (w + pad) - pad), np.nan)
    for i in range(n):
        r, c = divmod(i, ncol)
        out[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = images[i]
    return out
