r"""Exact evidence and posterior of a low-dimensional latent model by quadrature on a grid.

Chapters 01, 03, 06 and 10 (D10.2, D10.3). With a 2-D latent space the integral
:math:`p(x) = \int p(x\mid z)p(z)\,dz` can be done by brute force: evaluate the log-joint on a
fine regular grid and sum, :math:`\log p(x) \approx \operatorname{logsumexp}_g \log p(x, z_g) +
\log\Delta` (:math:`\Delta` the cell area). The same numbers normalised give the true posterior
:math:`p(z_g\mid x) = p(x,z_g)/p(x)` on the grid, hence the true gap
:math:`\mathrm{KL}(q\,\|\,p(z\mid x))` of the encoder. For a smooth integrand that vanishes at the
grid's edges this rule (trapezoid = midpoint) converges faster than any power of the spacing.

The helpers :func:`make_grid` and :func:`log_integral` are generic (chapter 01 uses them to check
that a KDE integrates to one). The model functions need only the evaluation contract of
:class:`elbo_edu.vae.VAE`: ``encode(x)``, ``log_joint(x, z)`` with z (S, N, K), ``log_q``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._checks import as_float_array, check_positive_int
from ..special import logsumexp

__all__ = ["Grid", "make_grid", "log_integral", "GridPosterior", "grid_posterior",
           "grid_log_evidence"]


class Grid(NamedTuple):
    """A regular grid: ``points`` (G, dim), the ``log_cell`` volume, the 1-D ``axis`` and ``shape``."""
    points: np.ndarray
    log_cell: float
    axis: np.ndarray
    shape: tuple


def make_grid(lo: float = -4.0, hi: float = 4.0, n: int = 101, dim: int = 2) -> Grid:
    """``n`` equally spaced values on [lo, hi] along each of ``dim`` axes (G = n**dim points).

    Cell volume :math:`((hi-lo)/(n-1))^{dim}`; row-major order, so ``values.reshape(shape)``
    gives an image with ``axis`` along each dimension (the last axis varies fastest).
    """
    n, dim = check_positive_int(n, "n"), check_positive_int(dim, "dim")
    if n < 2:
        raise ValueError(f"n: expected at least 2 points per axis, got {n}")
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        raise ValueError(f"hi: expected finite bounds with hi > lo, got lo={lo!r}, hi={hi!r}")
    axis = np.linspace(lo, hi, n)
    mesh = np.meshgrid(*([axis] * dim), indexing="ij")
    points = np.stack([m.ravel() for m in mesh], axis=1)
    return Grid(points, dim * float(np.log((hi - lo) / (n - 1))), axis, (n,) * dim)


def log_integral(log_values, grid: Grid, axis: int = 0) -> np.ndarray:
    r""":math:`\log\int f \approx \operatorname{logsumexp}_g \log f(z_g) + \log\Delta` along ``axis``."""
    return logsumexp(np.asarray(log_values, dtype=np.float64), axis=axis) + grid.log_cell


class GridPosterior(NamedTuple):
    r"""What :func:`grid_posterior` computes for N data points on G grid points.

    Attributes
    ----------
    log_evidence : array (N,)
        Quadrature :math:`\log p(x)`.
    log_posterior : array (G, N)
        Normalised :math:`\log p(z_g\mid x)` (a density: multiply ``exp`` by the cell area for mass).
    log_q : array (G, N)
        :math:`\log q(z_g\mid x)` of the model's encoder.
    kl_q_posterior : array (N,)
        :math:`\mathrm{KL}(q\,\|\,p(z\mid x))` by quadrature.
    q_mass : array (N,)
        :math:`\int q` on the grid (close to 1 when the grid covers q; a coverage check).
    """
    log_evidence: np.ndarray
    log_posterior: np.ndarray
    log_q: np.ndarray
    kl_q_posterior: np.ndarray
    q_mass: np.ndarray


def _x(model, x):
    x = as_float_array(x, "x")
    if x.ndim != 2:
        raise ValueError(f"x: expected shape (N, x_dim), got {x.shape}")
    return x.astype(getattr(model, "dtype", x.dtype), copy=False)


def _grid_log_joint(model, x, grid: Grid, max_elements: int) -> np.ndarray:
    """log p(x, z_g) for every grid point and row, (G, N), in chunks of grid points."""
    if not isinstance(grid, Grid):
        raise ValueError(f"grid: expected an elbo_edu.models.Grid (see make_grid), got {type(grid).__name__}")
    pts = grid.points
    n, d = x.shape
    chunk = max(1, int(max_elements) // max(1, n * d))
    out = np.empty((pts.shape[0], n))
    dtype = x.dtype
    for s in range(0, pts.shape[0], chunk):
        z = np.ascontiguousarray(np.broadcast_to(pts[s:s + chunk, None, :],
                                                 (min(chunk, pts.shape[0] - s), n, pts.shape[1])),
                                 dtype=dtype)
        out[s:s + chunk] = model.log_joint(x, z)
    return out


def grid_log_evidence(model, x, grid: Grid | None = None, *, max_elements: int = 1 << 22) -> np.ndarray:
    r"""Quadrature :math:`\log p(x) = \log\int p(x\mid z)p(z)dz` on a 2-D latent grid (D10.3).

    Parameters
    ----------
    model : VAE-like
        ``log_joint(x, z)`` with z (S, N, K); K must equal ``grid.points.shape[1]``.
    x : array (N, x_dim)
    grid : Grid, optional
        Default ``make_grid(-4, 4, 101)``, which holds all but about 1e-4 of the prior's mass;
        check ``grid_posterior(...).q_mass`` to see that it also covers the encoder's q.
    max_elements : int
        Bound on S·N·x_dim per decoder call (memory).

    Returns
    -------
    array (N,)
    """
    x = _x(model, x)
    grid = make_grid() if grid is None else grid
    return log_integral(_grid_log_joint(model, x, grid, max_elements), grid)


def grid_posterior(model, x, grid: Grid | None = None, *, max_elements: int = 1 << 22) -> GridPosterior:
    r"""True posterior on a grid and the encoder's gap :math:`\mathrm{KL}(q\,\|\,p(z\mid x))` (D10.3).

    .. math:: \log p(z_g\mid x) = \log p(x, z_g) - \log p(x),\qquad
              \mathrm{KL} \approx \Delta\sum_g q(z_g)\big[\log q(z_g) - \log p(z_g\mid x)\big]

    The identity :math:`\log p(x) - \mathrm{ELBO} = \mathrm{KL}(q\,\|\,p(z\mid x))` then compares
    this KL with the grid evidence minus a Monte-Carlo ELBO.
    """
    x = _x(model, x)
    grid = make_grid() if grid is None else grid
    lj = _grid_log_joint(model, x, grid, max_elements)
    log_px = log_integral(lj, grid)
    log_post = lj - log_px
    mu, logvar = model.encode(x)
    z = np.broadcast_to(grid.points[:, None, :], (grid.points.shape[0],) + mu.shape)
    lq = np.asarray(model.log_q(z.astype(np.float64), np.asarray(mu, np.float64),
                                np.asarray(logvar, np.float64)), dtype=np.float64)
    q = np.exp(lq + grid.log_cell)
    kl = np.sum(q * (lq - log_post), axis=0)
    return GridPosterior(log_px, log_post, lq, kl, q.sum(axis=0))
