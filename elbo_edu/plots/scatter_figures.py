"""Point clouds in two dimensions: latent codes, toy data sets and densities on a grid.

Used for the 2-D latent space of chapter 10 (D10.4) and the toy 2-D data sets. All functions
take arrays and return a :class:`matplotlib.figure.Figure` (also written to ``path`` if given).
"""
from __future__ import annotations

import numpy as np
from matplotlib import patheffects

from .._checks import as_float_array
from ._style import CATEGORICAL, COLORS, check_1d, finish, new_figure, styled

__all__ = ["plot_latent_scatter", "plot_points", "plot_density_2d"]

_MAX_CLASSES = len(CATEGORICAL)


def _points(x, name: str, *, min_dim: int = 2, exact: bool = False) -> np.ndarray:
    arr = as_float_array(x, name)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] < min_dim \
            or (exact and arr.shape[1] != min_dim):
        want = f"(n, {min_dim})" if exact else f"(n, d) with d >= {min_dim}"
        raise ValueError(f"{name}: expected points of shape {want}, got {arr.shape}")
    return arr


def _marker_size(n: int) -> float:
    # Large clouds get small, translucent dots so density stays visible.
    return float(np.clip(2000.0 / np.sqrt(n), 2.0, 25.0))


def _labels(labels, n: int):
    arr = as_float_array(labels, "labels")
    if arr.shape != (n,):
        raise ValueError(f"labels: expected shape ({n},) (one per point), got {arr.shape}")
    return arr


def _draw_classes(fig, ax, xy: np.ndarray, labels, title_word: str, *,
                  annotate: bool) -> None:
    """Scatter ``xy`` coloured by ``labels``: discrete legend for <= 10 integer classes.

    With ``annotate`` each class label is also written at its median point, in black with a
    white outline, so the clusters can be read without telling colours apart.
    """
    n = len(xy)
    size = _marker_size(n)
    if labels is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=size, color=COLORS["blue"], alpha=0.6,
                   linewidths=0, rasterized=n > 2000)
        return
    classes = np.unique(labels)
    integer = bool(np.all(labels == np.round(labels)))
    if integer and len(classes) <= _MAX_CLASSES:
        outline = [patheffects.withStroke(linewidth=3, foreground="white")]
        order = np.random.default_rng(0).permutation(n)     # no class painted last over all
        colors = np.empty(n, dtype=object)
        for k, cls in enumerate(classes):
            colors[labels == cls] = CATEGORICAL[k]
        ax.scatter(xy[order, 0], xy[order, 1], s=size, c=list(colors[order]), alpha=0.6,
                   linewidths=0, rasterized=n > 2000)
        for k, cls in enumerate(classes):
            centre = np.median(xy[labels == cls], axis=0)
            ax.scatter([], [], s=30, color=CATEGORICAL[k], label=f"{int(cls)}")
            if annotate:
                ax.text(centre[0], centre[1], f"{int(cls)}", ha="center", va="center",
                        fontsize=11, fontweight="bold", color="black", path_effects=outline)
        ax.legend(title=title_word, loc="center left", bbox_to_anchor=(1.01, 0.5),
                  frameon=False, handletextpad=0.2)
    else:
        sc = ax.scatter(xy[:, 0], xy[:, 1], s=size, c=labels, cmap="viridis", alpha=0.7,
                        linewidths=0, rasterized=n > 2000)
        fig.colorbar(sc, ax=ax, label=title_word)


@styled
def plot_latent_scatter(z, labels=None, path=None):
    """Latent means of a data set, coloured by class (chapter 10, D10.4).

    With up to ten integer classes (the digits) each class has its own colour-blind-safe
    colour, a legend entry and its label written at the class median; other labels get a
    continuous colour bar. Latent spaces with more than two dimensions are shown in the plane
    of their first two principal components (the directions of largest spread).

    Parameters
    ----------
    z : array_like, shape (n, d), d >= 2
        Encoder means ``μ(x)``, one row per data point.
    labels : array_like, shape (n,), optional
        Class of each point (e.g. the digit).
    path : str or Path, optional

    Returns
    -------
    matplotlib.figure.Figure
        One scatter axes (plus a colour bar axes for continuous labels).

    Examples
    --------
    >>> mu, _ = model.encode(x_test)                                  # doctest: +SKIP
    >>> fig = plot_latent_scatter(mu, y_test, path="latent.png")     # doctest: +SKIP
    """
    z = _points(z, "z")
    labels = None if labels is None else _labels(labels, len(z))
    if z.shape[1] == 2:
        xy, axis_names, title = z, (r"$z_1$", r"$z_2$"), "Latent means"
    else:
        centred = z - z.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        xy = centred @ vt[:2].T
        axis_names = ("principal component 1", "principal component 2")
        title = f"Latent means ({z.shape[1]}-D, projected)"
    fig, ax = new_figure(figsize=(5.6, 4.6))
    _draw_classes(fig, ax, xy, labels, "label", annotate=True)
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(title)
    return finish(fig, path)


@styled
def plot_points(x, path=None, labels=None, *, title="Data", axis_labels=(r"$x_1$", r"$x_2$")):
    """A 2-D point cloud, e.g. a toy data set or samples of a trained model.

    Parameters
    ----------
    x : array_like, shape (n, 2)
    path : str or Path, optional
    labels : array_like, shape (n,), optional
        Class of each point (colours as in :func:`plot_latent_scatter`).
    title : str
    axis_labels : (str, str)

    Returns
    -------
    matplotlib.figure.Figure
        One axes, equal aspect.

    Examples
    --------
    >>> from elbo_edu.data import make_moons
    >>> x, y = make_moons(500, rng)                                  # doctest: +SKIP
    >>> fig = plot_points(x, labels=y, title="two moons")           # doctest: +SKIP
    """
    x = _points(x, "x", exact=True)
    labels = None if labels is None else _labels(labels, len(x))
    fig, ax = new_figure(figsize=(4.8, 4.2))
    _draw_classes(fig, ax, x, labels, "label", annotate=False)
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(title)
    return finish(fig, path)


@styled
def plot_samples_on_data(samples, data, path=None, *, title="Samples over the data",
                         axis_labels=(r"$x_1$", r"$x_2$")):
    """A model's 2-D samples drawn over the data they should match (chapter 10, D10.1).

    Parameters
    ----------
    samples : array_like, shape (n, 2)
        Points drawn from the model (orange, on top).
    data : array_like, shape (m, 2)
        Points of the data set (grey, underneath), e.g. the test set.
    path : str or Path, optional
    title : str
    axis_labels : (str, str)

    Returns
    -------
    matplotlib.figure.Figure
        One axes, equal aspect, with a legend naming the two clouds.
    """
    samples = _points(samples, "samples", exact=True)
    data = _points(data, "data", exact=True)
    fig, ax = new_figure(figsize=(4.8, 4.2))
    ax.scatter(data[:, 0], data[:, 1], s=_marker_size(len(data)) / 2, color="0.45",
               alpha=0.5, linewidths=0, rasterized=len(data) > 2000, label=f"data ({len(data)})")
    ax.scatter(samples[:, 0], samples[:, 1], s=_marker_size(len(samples)) / 4,
               color=COLORS["vermillion"], alpha=0.5, linewidths=0,
               rasterized=len(samples) > 2000, label=f"samples ({len(samples)})")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False,
              markerscale=2)
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(title)
    return finish(fig, path)


@styled
def plot_density_2d(x1, x2, density, path=None, *, points=None, title="Density",
                    colorbar_label="density", axis_labels=(r"$x_1$", r"$x_2$")):
    """A function tabulated on a 2-D grid, optionally with points on top.

    Parameters
    ----------
    x1 : array_like, shape (n1,)
        Increasing grid coordinates along the horizontal axis.
    x2 : array_like, shape (n2,)
        Increasing grid coordinates along the vertical axis.
    density : array_like, shape (n2, n1)
        ``density[j, i]`` is the value at ``(x1[i], x2[j])`` - the layout of
        ``np.meshgrid(x1, x2)``. A density, a log-density, anything finite.
    path : str or Path, optional
    points : array_like, shape (m, 2), optional
        Drawn as small white-edged dots (e.g. the training data).
    title, colorbar_label : str
    axis_labels : (str, str)

    Returns
    -------
    matplotlib.figure.Figure
        The image axes and its colour bar axes.

    Examples
    --------
    >>> g = np.linspace(-3, 3, 200)
    >>> X1, X2 = np.meshgrid(g, g)
    >>> fig = plot_density_2d(g, g, np.exp(-(X1**2 + X2**2) / 2) / (2 * np.pi))
    """
    x1 = _grid_axis(x1, "x1")
    x2 = _grid_axis(x2, "x2")
    values = as_float_array(density, "density")
    if values.shape != (len(x2), len(x1)):
        raise ValueError(f"density: expected shape (len(x2), len(x1)) = "
                         f"({len(x2)}, {len(x1)}), got {values.shape}")
    fig, ax = new_figure(figsize=(5.2, 4.2))
    mesh = ax.pcolormesh(x1, x2, values, shading="nearest", cmap="viridis", rasterized=True)
    fig.colorbar(mesh, ax=ax, label=colorbar_label)
    if points is not None:
        pts = _points(points, "points", exact=True)
        ax.scatter(pts[:, 0], pts[:, 1], s=min(8.0, _marker_size(len(pts))),
                   color=COLORS["orange"], edgecolors="white", linewidths=0.3, alpha=0.8)
        ax.set_xlim(x1[0], x1[-1])
        ax.set_ylim(x2[0], x2[-1])
    ax.grid(False)
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.set_aspect("equal")
    ax.set_title(title)
    return finish(fig, path)


def _grid_axis(values, name: str) -> np.ndarray:
    arr = check_1d(values, name)
    if arr.size < 2 or np.any(np.diff(arr) <= 0):
        raise ValueError(f"{name}: expected at least 2 strictly increasing grid coordinates")
    return arr

