"""Figures of images a VAE reads and writes: reconstructions, samples, the 2-D latent manifold.

Each function takes arrays (or, for the manifold, a decoder callable), returns a
:class:`matplotlib.figure.Figure` and, when ``path`` is given, also writes it there atomically.
Images may be flat, shape (n, H*W), or (n, H, W); grey levels in [0, 1] are drawn on a fixed
black-to-white scale (so a faint sample *looks* faint), anything else is scaled to its range.
"""
from __future__ import annotations

import statistics

import matplotlib
import numpy as np

from .._checks import as_float_array, check_positive_int
from ._style import as_images, finish, new_figure, styled, tile_images

__all__ = ["plot_reconstructions", "plot_samples", "plot_manifold", "normal_quantile_grid"]

_TILE_INCHES = 0.85     # the side of one 28x28 digit on screen: readable, not wasteful
_MAX_WIDTH = 10.0


def _value_range(*arrays) -> tuple[float, float]:
    lo = min(float(np.min(a)) for a in arrays)
    hi = max(float(np.max(a)) for a in arrays)
    if lo >= 0.0 and hi <= 1.0:
        return 0.0, 1.0
    return (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)


def _show_tiles(ax, tiled: np.ndarray, vmin: float, vmax: float) -> None:
    cmap = matplotlib.colormaps["gray"].with_extremes(bad="white")
    ax.imshow(tiled, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)


def _check_count(n, name: str, available: int) -> int:
    return min(check_positive_int(n, name), available)


@styled
def plot_reconstructions(x, x_rec, path=None, shape=(28, 28), n=8):
    """Inputs on the top row, their reconstructions on the row below (chapter 09, D9.4).

    Parameters
    ----------
    x : array_like, shape (N, H*W) or (N, H, W)
        Input images.
    x_rec : array_like, same shape as ``x``
        The decoder's output for each input, e.g. the Bernoulli means ``sigmoid(logits)``.
    path : str or Path, optional
        Where to write the PNG.
    shape : (int, int)
        Image height and width.
    n : int
        How many pairs to show (the first ``n``; fewer if ``N < n``).

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: the input row and the reconstruction row.

    Examples
    --------
    >>> fig = plot_reconstructions(x_test[:8], model.reconstruct(x_test[:8]))  # doctest: +SKIP
    """
    imgs = as_images(x, "x", shape)
    recs = as_images(x_rec, "x_rec", shape)
    if recs.shape != imgs.shape:
        raise ValueError(f"x_rec: expected the shape of x, {np.shape(x)}, got {np.shape(x_rec)}")
    n = _check_count(n, "n", len(imgs))
    vmin, vmax = _value_range(imgs[:n], recs[:n])
    aspect = shape[0] / shape[1]
    width = min(_TILE_INCHES * n + 1.2, _MAX_WIDTH)
    height = 2 * (width - 1.2) / n * aspect + 0.6
    fig, axes = new_figure(2, 1, figsize=(width, height))
    for ax, batch, label in zip(axes, (imgs, recs), ("input", "reconstruction")):
        _show_tiles(ax, tile_images(batch[:n], ncol=n), vmin, vmax)
        ax.set_ylabel(label, rotation=0, ha="right", va="center")
    fig.suptitle("Inputs and their reconstructions")
    return finish(fig, path)


@styled
def plot_samples(x, path=None, shape=(28, 28), nrow=8):
    """A grid of images, e.g. decoder means for ``z ~ N(0, I)`` (chapter 10, D10.1).

    Parameters
    ----------
    x : array_like, shape (N, H*W) or (N, H, W)
    path : str or Path, optional
    shape : (int, int)
        Image height and width.
    nrow : int
        Images per row of the grid (as in ``torchvision.utils.make_grid``); the grid has
        ``ceil(N / nrow)`` rows.

    Returns
    -------
    matplotlib.figure.Figure
        One axes holding the tiled grid.

    Examples
    --------
    >>> fig = plot_samples(model.sample(64, rng), path="samples.png")  # doctest: +SKIP
    """
    imgs = as_images(x, "x", shape)
    ncol = _check_count(nrow, "nrow", len(imgs))
    rows = -(-len(imgs) // ncol)
    aspect = shape[0] / shape[1]
    tile = min(_TILE_INCHES, (_MAX_WIDTH - 0.4) / ncol)
    fig, ax = new_figure(figsize=(tile * ncol + 0.4, tile * rows * aspect + 0.6))
    _show_tiles(ax, tile_images(imgs, ncol=ncol), *_value_range(imgs))
    ax.set_title(f"{len(imgs)} samples")
    return finish(fig, path)


def normal_quantile_grid(n: int, span=None) -> np.ndarray:
    """The 1-D coordinates of the manifold grid.

    With ``span=None`` these are standard-normal quantiles ``Φ⁻¹(p)`` for ``p`` evenly spaced in
    [0.05, 0.95], so each row and column of the grid covers an equal share of the prior's mass
    (the construction of the manifold figures in *Auto-Encoding Variational Bayes*). A number
    ``s`` gives ``n`` evenly spaced points in [-s, s]; a pair ``(lo, hi)`` points in [lo, hi].

    Returns
    -------
    ndarray, shape (n,), increasing
    """
    n = check_positive_int(n, "n")
    if span is None:
        probs = np.linspace(0.05, 0.95, n) if n > 1 else np.array([0.5])
        inv_cdf = statistics.NormalDist().inv_cdf
        return np.array([inv_cdf(float(p)) for p in probs])
    arr = as_float_array(span, "span")
    if arr.ndim == 0 and arr > 0:
        lo, hi = -float(arr), float(arr)
    elif arr.shape == (2,) and arr[0] < arr[1]:
        lo, hi = float(arr[0]), float(arr[1])
    else:
        raise ValueError(f"span: expected None, a positive number or an increasing pair "
                         f"(lo, hi), got {span!r}")
    return np.linspace(lo, hi, n)


@styled
def plot_manifold(decode_fn, path=None, n=15, shape=(28, 28), span=None, *, z_dim=2):
    """Decode an ``n x n`` grid of latent points and tile the images (chapter 10, D10.4).

    The grid varies the first two latent coordinates over :func:`normal_quantile_grid`;
    ``z₁`` grows to the right and ``z₂`` upwards, like the axes of a latent scatter plot.
    Any further coordinates (``z_dim > 2``) are held at the prior mean, 0.

    Parameters
    ----------
    decode_fn : callable
        Maps latent points of shape (n*n, z_dim) to images of shape (n*n, H*W) or
        (n*n, H, W), e.g. the decoder's Bernoulli means.
    path : str or Path, optional
    n : int
        Grid points per axis.
    shape : (int, int)
        Image height and width.
    span : None, float or (float, float)
        The grid's extent, see :func:`normal_quantile_grid`.
    z_dim : int, keyword-only
        The latent dimension the decoder expects (>= 2).

    Returns
    -------
    matplotlib.figure.Figure
        One axes; its ticks give the ``z`` value at the centre of each tile.

    Examples
    --------
    >>> fig = plot_manifold(lambda z: sigmoid(model.decode(z)), n=15)  # doctest: +SKIP
    """
    if not callable(decode_fn):
        raise ValueError(f"decode_fn: expected a callable mapping z to images, "
                         f"got {type(decode_fn).__name__}")
    z_dim = check_positive_int(z_dim, "z_dim")
    if z_dim < 2:
        raise ValueError(f"z_dim: expected at least 2 latent dimensions, got {z_dim}")
    n = check_positive_int(n, "n")
    grid = normal_quantile_grid(n, span)
    z = np.zeros((n * n, z_dim))
    # Row r of the picture is z2 = grid[n-1-r] (top = largest), column c is z1 = grid[c].
    z[:, 0] = np.tile(grid, n)
    z[:, 1] = np.repeat(grid[::-1], n)
    imgs = as_images(decode_fn(z), "decode_fn(z)", shape)
    if len(imgs) != n * n:
        raise ValueError(f"decode_fn(z): expected {n * n} images (one per grid point), "
                         f"got {len(imgs)}")
    h, w = int(shape[0]), int(shape[1])
    side = min(7.0, max(3.0, 0.42 * n))
    fig, ax = new_figure(figsize=(side + 0.9, side * (h / w) + 0.9))
    _show_tiles(ax, tile_images(imgs, ncol=n, pad=0), *_value_range(imgs))
    step = max(1, -(-n // 7))               # at most about seven labelled ticks per axis
    idx = np.arange(0, n, step)
    ax.set_xticks(idx * w + (w - 1) / 2, [f"{v:.1f}" for v in grid[idx]])
    ax.set_yticks(idx * h + (h - 1) / 2, [f"{v:.1f}" for v in grid[::-1][idx]])
    ax.set_xlabel(r"$z_1$")
    ax.set_ylabel(r"$z_2$")
    where = ("prior quantiles 5%-95%" if span is None
             else f"z from {grid[0]:.2g} to {grid[-1]:.2g}")
    rest = (rf", $z_3 = \ldots = z_{{{z_dim}}} = 0$" if z_dim > 3
            else ", $z_3 = 0$" if z_dim == 3 else "")
    ax.set_title(f"Decoded latent grid ({where}{rest})")
    return finish(fig, path)
