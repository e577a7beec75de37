r"""β and the rate–distortion plane (chapter 13, D13.2).

Alemi et al., *Fixing a Broken ELBO* (2018); Higgins et al., *β-VAE* (2017). Split the negative
ELBO of a data set into

.. math:: R = \mathbb E_x\,\mathrm{KL}\big(q(z\mid x)\,\|\,p(z)\big)\ \text{(rate)},\qquad
          D = -\mathbb E_x\,\mathbb E_{q(z\mid x)}\log p(x\mid z)\ \text{(distortion)},

so :math:`-\mathrm{ELBO} = D + R`: every line :math:`D + R = \text{const}` in the (R, D) plane is a
line of equal ELBO, of slope −1. Training with a KL weight β minimises :math:`D + \beta R`. If
the achievable points form a convex frontier :math:`D(R)`, the minimiser of :math:`D + \beta R` is
where the frontier's tangent has slope :math:`-\beta`: every other achievable point lies on or above
the line of slope −β through it,

.. math:: D_j + \beta_i R_j \ \ge\ D_i + \beta_i R_i\qquad\text{for all } j

(the *supporting-line* form of the tangent relation, which needs no derivative of a measured
curve). :func:`supporting_line_margins` computes the left side minus the right side for every
pair; :func:`chord_slopes` the slopes between neighbouring points, which must lie between the
neighbours' :math:`-\beta`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._checks import as_float_array, check_positive_int

__all__ = ["RDPoints", "rate_distortion", "beta_sweep", "supporting_line_margins", "chord_slopes"]


class RDPoints(NamedTuple):
    """Arrays (B,) over a β sweep: ``betas``, ``rate`` and ``distortion`` in nats per example,
    and the models (list)."""
    betas: np.ndarray
    rate: np.ndarray
    distortion: np.ndarray
    models: list


def rate_distortion(model, x, *, n_samples: int = 4, seed: int = 0):
    r"""``(R, D)`` of a VAE on ``x``: mean KL to the prior and mean :math:`-\log p(x\mid z)`,
    averaged over ``n_samples`` independent noise draws (:func:`elbo_edu.train.evaluate`)."""
    from ..train import evaluate

    n_samples = check_positive_int(n_samples, "n_samples")
    runs = [evaluate(model, x, seed=seed + s) for s in range(n_samples)]
    return float(np.mean([r["kl"] for r in runs])), float(np.mean([r["recon"] for r in runs]))


def beta_sweep(x_train, x_eval, betas, *, z_dim: int = 8, hidden=(128,), epochs: int = 6,
               batch_size: int = 100, lr: float = 2e-3, seed: int = 0, n_samples: int = 4) -> RDPoints:
    r"""Train one Bernoulli VAE per β (same initial weights and data order) and measure (R, D)
    on ``x_eval`` (the training points are the natural choice: it is their :math:`D+\beta R` that
    was minimised)."""
    from ..train import train
    from ..vae import VAE

    betas = np.asarray(betas, dtype=np.float64)
    if betas.ndim != 1 or betas.size < 2 or np.any(betas <= 0):
        raise ValueError(f"betas: expected at least two positive values, got {betas!r}")
    x_train = as_float_array(x_train, "x_train").astype(np.float32, copy=False)
    rates, dists, models = [], [], []
    for b in betas:
        model = VAE(x_train.shape[1], z_dim, hidden=hidden, beta=float(b),
                    rng=np.random.default_rng(seed))
        train(model, x_train, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, progress=False)
        r, d = rate_distortion(model, x_eval, n_samples=n_samples)
        rates.append(r)
        dists.append(d)
        models.append(model)
    return RDPoints(betas, np.array(rates), np.array(dists), models)


def supporting_line_margins(betas, rate, distortion) -> np.ndarray:
    r"""Matrix (B, B): entry (i, j) is :math:`(D_j + \beta_i R_j) - (D_i + \beta_i R_i)`, how far
    point j lies above the line of slope :math:`-\beta_i` through point i (≥ 0 when point i is the
    minimiser of :math:`D + \beta_i R` among the measured points; the diagonal is 0)."""
    b, r, d = (as_float_array(a, n) for a, n in ((betas, "betas"), (rate, "rate"),
                                                 (distortion, "distortion")))
    if not (b.shape == r.shape == d.shape) or b.ndim != 1:
        raise ValueError(f"rate: expected betas, rate and distortion of one shape (B,), got "
                         f"{b.shape}, {r.shape}, {d.shape}")
    obj = d[None, :] + b[:, None] * r[None, :]
    return obj - np.diag(obj)[:, None]


def chord_slopes(rate, distortion) -> np.ndarray:
    r"""Slopes :math:`(D_{i+1}-D_i)/(R_{i+1}-R_i)` between consecutive points, (B-1,)."""
    r, d = as_float_array(rate, "rate"), as_float_array(distortion, "distortion")
    return np.diff(d) / np.diff(r)
