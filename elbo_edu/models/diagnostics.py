r"""Posterior-collapse diagnostics: active units, KL per latent dimension, KL warm-up (D11.4).

A latent dimension *collapses* when the encoder ignores the input along it: :math:`q(z_j\mid x)`
equals the prior for every x, its KL term is zero, and the decoder learns to do without it.
Two symptoms measure this:

* **active units** (Burda, Grosse & Salakhutdinov, *Importance Weighted Autoencoders*): dimension
  j is active when the posterior mean moves with the data,
  :math:`A_j = \operatorname{Var}_x\big(\mathbb E_{q(z\mid x)}[z_j]\big) > 0.01`;
* **KL per dimension**: :math:`\mathbb E_x\,\mathrm{KL}(q(z_j\mid x)\,\|\,\mathcal N(0,1))`, the
  nats each dimension carries (a collapsed one carries none).

KL warm-up (annealing) multiplies the KL term by a weight rising from 0 to 1 over the first epochs,
so the encoder can start to use the latents before the KL penalty pushes them back to the prior
(``elbo_edu.train.train(..., kl_warmup_epochs=...)``; chapter 11 compares the two schedules).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._checks import as_float_array, check_positive_int
from ..distributions import kl_normal

__all__ = ["ActiveUnits", "active_units", "kl_per_dimension"]


def _encode_all(model, x, batch_size: int):
    x = as_float_array(x, "x")
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"x: expected at least 2 rows of shape (N, x_dim), got {x.shape}")
    batch_size = check_positive_int(batch_size, "batch_size")
    mus, lvs = [], []
    for i in range(0, x.shape[0], batch_size):
        mu, lv = model.encode(x[i:i + batch_size])
        mus.append(np.array(mu, dtype=np.float64))
        lvs.append(np.array(lv, dtype=np.float64))
    return np.concatenate(mus), np.concatenate(lvs)


class ActiveUnits(NamedTuple):
    """``count`` of active dimensions, the boolean ``mask`` (z_dim,) and the ``variances`` (z_dim,)."""
    count: int
    mask: np.ndarray
    variances: np.ndarray


def active_units(model, x, *, threshold: float = 0.01, batch_size: int = 1000) -> ActiveUnits:
    r"""Dimensions whose posterior mean varies over the data: :math:`\operatorname{Var}_x(\mu_j(x)) > 0.01`.

    Parameters
    ----------
    model : VAE-like (``encode``)
    x : array (N, x_dim)
    threshold : float
    batch_size : int
        Rows per encoder call.
    """
    mu, _ = _encode_all(model, x, batch_size)
    var = mu.var(axis=0)
    mask = var > float(threshold)
    return ActiveUnits(int(mask.sum()), mask, var)


def kl_per_dimension(model, x, *, batch_size: int = 1000) -> np.ndarray:
    r""":math:`\frac1N\sum_n \mathrm{KL}(\mathcal N(\mu_{nj}, \sigma^2_{nj})\,\|\,\mathcal N(0,1))`
    for each latent dimension j, shape (z_dim,); sums to the model's average KL term."""
    mu, lv = _encode_all(model, x, batch_size)
    zeros = np.zeros_like(mu)
    return kl_normal(mu, lv, zeros, zeros).mean(axis=0)
