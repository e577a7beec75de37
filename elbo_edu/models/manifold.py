r"""Dai & Wipf's observation: a learned decoder variance γ → 0 on manifold data (D11.2).

With a Gaussian decoder :math:`p(x\mid z) = \mathcal N(\hat x(z), \gamma I)` and γ learned, the
optimal γ for fixed reconstructions is the mean squared reconstruction error per pixel,
:math:`\gamma^\star = \frac1D\mathbb E\lVert x-\hat x\rVert^2`. When the data lie exactly on a
low-dimensional manifold that the decoder can reproduce, this error can be driven to zero, and
the objective rewards pushing γ down without end (each halving of γ gains
:math:`\tfrac D2\log 2` nats per point); when the data carry noise of variance :math:`\sigma^2`
off the manifold, γ settles near :math:`\sigma^2` instead. (Dai & Wipf, *Diagnosing and Enhancing
VAE Models*.)

:func:`manifold_data` makes such data: a 2-D Gaussian latent sent into 10-D by a fixed smooth
nonlinear map; :func:`gamma_shrinkage_demo` trains the ``"gaussian-learned"`` VAE on it with and
without noise and records γ after every epoch.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_positive_int
from ._fit import fit

__all__ = ["manifold_data", "gamma_shrinkage_demo"]


def manifold_data(n: int, rng: np.random.Generator, *, ambient_dim: int = 10, noise: float = 0.0,
                  map_seed: int = 0) -> np.ndarray:
    r"""Points on a 2-D manifold in ``ambient_dim`` dimensions, plus optional isotropic noise.

    .. math:: u\sim\mathcal N(0, I_2),\qquad x = \tanh(Au + c) + \sigma\,\xi,\quad \xi\sim\mathcal N(0, I)

    with a fixed random :math:`A` (ambient_dim × 2) and :math:`c` drawn from ``map_seed`` (the same
    manifold for every call). Returns (n, ambient_dim).
    """
    n = check_positive_int(n, "n")
    ambient_dim = check_positive_int(ambient_dim, "ambient_dim")
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise: expected a standard deviation >= 0, got {noise!r}")
    g = np.random.default_rng(map_seed)
    a, c = g.standard_normal((ambient_dim, 2)), 0.5 * g.standard_normal(ambient_dim)
    x = np.tanh(rng.standard_normal((n, 2)) @ a.T + c)
    return x + noise * rng.standard_normal(x.shape) if noise > 0 else x


def gamma_shrinkage_demo(*, noise_levels=(0.0, 0.1), n: int = 2000, epochs: int = 40,
                         z_dim: int = 2, hidden=(64, 64), lr: float = 1e-2, batch_size: int = 50,
                         seed: int = 0) -> dict:
    r"""Train a ``"gaussian-learned"`` VAE (scalar γ) on :func:`manifold_data` per noise level (D11.2).

    Returns
    -------
    dict
        ``{noise: array (epochs,)}`` of γ = exp(log_gamma) after each epoch. Without noise γ keeps
        falling (towards 0); with noise σ it levels off near σ² (at most a few times above it,
        the gap being the reconstruction error the small decoder has left).
    """
    from ..vae import VAE

    epochs = check_positive_int(epochs, "epochs")
    out = {}
    for noise in noise_levels:
        rng = np.random.default_rng(seed)
        x = manifold_data(n, rng, noise=float(noise))
        model = VAE(x.shape[1], z_dim, hidden=hidden, likelihood="gaussian-learned",
                    activation="tanh", dtype=np.float64, rng=np.random.default_rng(seed))
        gammas = fit(model, x, epochs=epochs, batch_size=batch_size, lr=lr, rng=rng,
                     on_epoch=lambda m: float(np.exp(m.params["log_gamma"])))
        out[float(noise)] = np.array(gammas)
    return out
