r"""Dai & Wipf's observation: a learned decoder variance γ → 0 on manifold data (D11.2).

With a Gaussian decoder :math:`p(x\mid z) = \mathcal N(\hat x(z), \gamma I)` and γ learned, the
optimal γ for fixed reconstructions is the mean squared reconstruction error per pixel,
:math:`\gamma^\star = \frac1D\mathbb E\lVert x-\hat x\rVert^2`. When the data lie exactly on a
low-dimensional manifold that the decoder can reproduce, this error can be driven to zero, and
the objective rewards pushing γ down without end (each halving of γ gains
:math:`\tfrac{D-r}2\log 2` nats per point for an r-dimensional manifold: the r used posterior
variances must shrink with γ, which costs :math:`\tfrac r2\log 2` of the :math:`\tfrac D2\log 2`);
when the data carry noise of variance :math:`\sigma^2`
off the manifold, γ settles near :math:`\sigma^2` instead. (Dai & Wipf, *Diagnosing and Enhancing
VAE Models*.)

:func:`manifold_data` makes such data: a 2-D Gaussian latent sent into 10-D by a fixed smooth
nonlinear map. Chapter 11 trains the ``"gaussian-learned"`` VAE on it with and without noise and
records γ after every epoch.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_positive_int

__all__ = ["manifold_data"]

#: Centres of the four clusters of ``latent="clusters"`` (the corners of a square) and their spread.
CLUSTER_CENTRES = np.array([[2.0, 2.0], [-2.0, 2.0], [2.0, -2.0], [-2.0, -2.0]])
CLUSTER_STD = 0.25


def manifold_data(n: int, rng: np.random.Generator, *, ambient_dim: int = 10, noise: float = 0.0,
                  map_seed: int = 0, latent: str = "gaussian") -> np.ndarray:
    r"""Points on a 2-D manifold in ``ambient_dim`` dimensions, plus optional isotropic noise.

    .. math:: x = \tanh(Au + c) + \sigma\,\xi,\quad \xi\sim\mathcal N(0, I)

    with a fixed random :math:`A` (ambient_dim × 2) and :math:`c` drawn from ``map_seed`` (the same
    manifold for every call). The intrinsic coordinates ``u`` are :math:`\mathcal N(0, I_2)`
    (``latent="gaussian"``) or four well-separated clusters, :math:`u = m_k + 0.25\,\eta` with
    :math:`m_k` a random corner of the square :math:`(\pm2, \pm2)` (``latent="clusters"``: data
    whose codes cannot fill a Gaussian prior without holes, D11.3). Returns (n, ambient_dim).

    Raises
    ------
    ValueError
        ``n`` or ``ambient_dim`` not a positive integer, ``noise`` negative or not finite,
        ``latent`` not one of the two names.
    """
    n = check_positive_int(n, "n")
    ambient_dim = check_positive_int(ambient_dim, "ambient_dim")
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise: expected a standard deviation >= 0, got {noise!r}")
    g = np.random.default_rng(map_seed)
    a, c = g.standard_normal((ambient_dim, 2)), 0.5 * g.standard_normal(ambient_dim)
    if latent == "gaussian":
        u = rng.standard_normal((n, 2))
    elif latent == "clusters":
        u = CLUSTER_CENTRES[rng.integers(0, len(CLUSTER_CENTRES), n)] + CLUSTER_STD * rng.standard_normal((n, 2))
    else:
        raise ValueError(f"latent: expected 'gaussian' or 'clusters', got {latent!r}")
    x = np.tanh(u @ a.T + c)
    return x + noise * rng.standard_normal(x.shape) if noise > 0 else x
