"""Toy 2-D data sets, generated in code from an explicit ``numpy.random.Generator``.

Small enough to plot every point and to compute things exactly: the ring is chapter 03's picture
(D3.2), the others serve 2-D density estimation (chapter 01, D1.3) and small latent-variable
experiments. Each function returns float64 points of shape (n, 2), and integer labels of shape
(n,) where the set has natural classes. The same generator state gives the same data.
"""
from __future__ import annotations

import numbers

import numpy as np

from .._checks import check_positive_float, check_positive_int
from ._common import check_rng

__all__ = ["ring_map", "make_ring", "make_moons", "make_pinwheel", "make_gaussian_mixture"]


def _check_real(value, name: str, *, nonnegative: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) \
            or (nonnegative and value < 0):
        raise ValueError(f"{name}: expected a finite{' non-negative' if nonnegative else ''} "
                         f"number, got {value!r}")
    return float(value)


def ring_map(z) -> np.ndarray:
    """Doersch's map of a standard normal onto a ring, ``g(z) = z / 10 + z / ‖z‖`` (ch. 03, D3.2).

    Parameters
    ----------
    z : array_like, shape (n, 2)

    Returns
    -------
    ndarray, shape (n, 2)
        Points at radius ``‖z‖/10 + 1``: a ring around the unit circle. (Doersch, *Tutorial on
        Variational Autoencoders*, 2016, Figure 2: a deterministic function turns a simple latent
        distribution into a complicated data distribution.) ``z = 0`` maps to 0.
    """
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] != 2:
        raise ValueError(f"z: expected shape (n, 2), got {z.shape}")
    norm = np.linalg.norm(z, axis=1, keepdims=True)
    return z / 10 + np.divide(z, norm, out=np.zeros_like(z), where=norm > 0)


def make_ring(n: int, rng: np.random.Generator, *, return_latent: bool = False):
    """Sample ``x = ring_map(z)`` with ``z ~ N(0, I_2)``.

    Returns
    -------
    x : ndarray, shape (n, 2)
    z : ndarray, shape (n, 2)
        Only with ``return_latent=True``: the latent points that generated ``x``.
    """
    n = check_positive_int(n, "n")
    z = check_rng(rng).standard_normal((n, 2))
    x = ring_map(z)
    return (x, z) if return_latent else x


def make_moons(n: int, rng: np.random.Generator, *, noise: float = 0.1):
    """Two interleaved half circles, like scikit-learn's ``make_moons``.

    Class 0: ``(cos t, sin t)``; class 1: ``(1 - cos t, 1/2 - sin t)``; ``t ~ Uniform[0, π]``;
    plus isotropic Gaussian noise of standard deviation ``noise``.

    Returns
    -------
    x : ndarray, shape (n, 2)
    y : ndarray, shape (n,), int64 in {0, 1} (n // 2 zeros, the rest ones, shuffled)
    """
    n = check_positive_int(n, "n")
    noise = _check_real(noise, "noise", nonnegative=True)
    check_rng(rng)
    y = rng.permutation(np.arange(n) >= n // 2).astype(np.int64)
    t = rng.uniform(0.0, np.pi, n)
    x = np.where(y[:, None] == 0,
                 np.stack([np.cos(t), np.sin(t)], axis=1),
                 np.stack([1 - np.cos(t), 0.5 - np.sin(t)], axis=1))
    return x + noise * rng.standard_normal((n, 2)), y


def make_pinwheel(n: int, rng: np.random.Generator, *, n_arms: int = 5,
                  radial_std: float = 0.3, tangential_std: float = 0.05, rate: float = 0.25):
    """Curved arms spiralling out of the origin (Johnson et al., *Composing graphical models with
    neural networks*, 2016).

    A point of arm ``k`` starts as ``(1 + radial_std·e1, tangential_std·e2)`` with
    ``e ~ N(0, I)`` and is rotated by ``2πk / n_arms + rate · exp(first coordinate)``, so arms
    bend more the further out they reach. (Johnson et al. also multiply by 10; we keep radius ~1.)

    Returns
    -------
    x : ndarray, shape (n, 2)
    y : ndarray, shape (n,), int64, the arm 0..n_arms-1 (drawn uniformly)
    """
    n = check_positive_int(n, "n")
    n_arms = check_positive_int(n_arms, "n_arms")
    radial_std = check_positive_float(radial_std, "radial_std")
    tangential_std = check_positive_float(tangential_std, "tangential_std")
    rate = _check_real(rate, "rate")
    check_rng(rng)
    y = rng.integers(0, n_arms, n)
    f = rng.standard_normal((n, 2)) * np.array([radial_std, tangential_std])
    f[:, 0] += 1.0
    angle = 2 * np.pi * y / n_arms + rate * np.exp(f[:, 0])
    c, s = np.cos(angle), np.sin(angle)
    x = np.stack([c * f[:, 0] - s * f[:, 1], s * f[:, 0] + c * f[:, 1]], axis=1)
    return x, y.astype(np.int64)


def make_gaussian_mixture(n: int, rng: np.random.Generator, *, n_components: int = 8,
                          radius: float = 2.0, std: float = 0.2):
    """An equal-weight mixture of isotropic Gaussians centred on a circle.

    Component ``k`` has mean ``radius · (cos 2πk/K, sin 2πk/K)`` and covariance ``std² I``:
    a multi-modal density that a single Gaussian cannot fit.

    Returns
    -------
    x : ndarray, shape (n, 2)
    y : ndarray, shape (n,), int64, the component 0..K-1 of each point
    """
    n = check_positive_int(n, "n")
    k = check_positive_int(n_components, "n_components")
    radius = check_positive_float(radius, "radius")
    std = check_positive_float(std, "std")
    check_rng(rng)
    y = rng.integers(0, k, n)
    angle = 2 * np.pi * np.arange(k) / k
    means = radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return means[y] + std * rng.standard_normal((n, 2)), y.astype(np.int64)
