r"""The inference gap split into an approximation gap and an amortisation gap (chapter 12, D12.2).

Cremer, Li & Duvenaud, *Inference Suboptimality in Variational Autoencoders* (2018). For a data
point x, an encoder's :math:`q_\phi(z\mid x)` and the best diagonal Gaussian
:math:`q^\star_x = \arg\max_q \mathrm{ELBO}(q)` for that one point,

.. math:: \underbrace{\log p(x) - \mathrm{ELBO}(q_\phi)}_{\text{inference gap}}
          = \underbrace{\log p(x) - \mathrm{ELBO}(q^\star_x)}_{\text{approximation gap}}
          + \underbrace{\mathrm{ELBO}(q^\star_x) - \mathrm{ELBO}(q_\phi)}_{\text{amortisation gap}}.

The approximation gap is what the *family* (diagonal Gaussians) costs; the amortisation gap is
what sharing one network over all data points costs. With a 2-D latent space the true posterior
is known on a grid (chapter 10, D10.3), so :math:`q^\star_x` can be found by minimising
:math:`\mathrm{KL}(q\,\|\,p(z\mid x))` computed by quadrature, with its gradient (a Gaussian's
:math:`\partial q/\partial m = q\,(z-m)/s^2`, :math:`\partial q/\partial\log s^2_j =
\tfrac12 q\,((z_j-m_j)^2/s_j^2-1)`, and :math:`\partial H/\partial\log s_j^2 = \tfrac12`):

.. math:: \frac{\partial\,\mathrm{KL}}{\partial m} = -\Delta\sum_g q_g\,\log p(z_g\mid x)\,\frac{z_g-m}{s^2},\qquad
          \frac{\partial\,\mathrm{KL}}{\partial\log s_j^2} = -\Delta\sum_g q_g\,\log p(z_g\mid x)\,
          \tfrac12\Big(\frac{(z_{gj}-m_j)^2}{s_j^2}-1\Big) - \tfrac12.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._checks import as_float_array, check_positive_int
from ..distributions import gaussian_entropy, gaussian_log_prob
from ..estimators.grid import Grid, grid_posterior

__all__ = ["grid_kl_gaussian", "grid_kl_gaussian_grad", "best_gaussian_on_grid", "grid_mass",
           "GapDecomposition",
           "mc_elbo_common", "decompose_gap"]


def _q_on_grid(grid: Grid, m, logvar):
    z = grid.points[:, None, :]                                     # (G, 1, 2)
    lq = gaussian_log_prob(np.broadcast_to(z, (z.shape[0],) + m.shape), m, logvar)   # (G, N)
    return z, lq, np.exp(lq + grid.log_cell)                        # q_g * cell area


def grid_kl_gaussian(log_post, grid: Grid, m, logvar) -> np.ndarray:
    r""":math:`\mathrm{KL}(\mathcal N(m,\operatorname{diag}e^{\ell})\,\|\,p(z\mid x))` by quadrature.

    ``log_post`` (G, N) is the grid posterior density (e.g. ``grid_posterior(...).log_posterior``);
    ``m``, ``logvar`` (N, 2). Returns (N,). Uses the closed-form entropy of q, so only the
    cross-entropy term is a grid sum.
    """
    m, logvar = as_float_array(m, "m"), as_float_array(logvar, "logvar")
    _, _, qd = _q_on_grid(grid, m, logvar)
    return -np.sum(qd * log_post, axis=0) - gaussian_entropy(logvar)


def grid_kl_gaussian_grad(log_post, grid: Grid, m, logvar):
    """Gradient of :func:`grid_kl_gaussian` with respect to ``m`` and ``logvar``, each (N, 2)."""
    m, logvar = as_float_array(m, "m"), as_float_array(logvar, "logvar")
    z, _, qd = _q_on_grid(grid, m, logvar)
    u = (z - m) * np.exp(-logvar)                                   # (G, N, 2): (z - m)/s^2
    w = (qd * log_post)[..., None]                                  # (G, N, 1)
    dm = -np.sum(w * u, axis=0)
    dlv = -np.sum(w * 0.5 * (u * (z - m) - 1.0), axis=0) - 0.5
    return dm, dlv


class _GridKL:
    """:func:`grid_kl_gaussian` of ``(m, logvar)`` as an objective of :func:`elbo_edu.train.fit`."""

    def __init__(self, log_post, grid: Grid, m0, logvar0):
        self.log_post, self.grid = log_post, grid
        self.params = {"m": np.array(m0, dtype=np.float64),
                       "logvar": np.array(logvar0, dtype=np.float64)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def loss_and_grads(self):
        p, g = self.params, self.grads
        g["m"][...], g["logvar"][...] = grid_kl_gaussian_grad(self.log_post, self.grid, p["m"],
                                                              p["logvar"])
        return float("nan"), g        # the loss is not needed along the way (one grid pass less)


def best_gaussian_on_grid(log_post, grid: Grid, m0, logvar0, *, steps: int = 400,
                          lr: float = 0.05, decay: float = 0.998):
    r"""Per-point optimum :math:`q^\star_x` of the diagonal family: Adam on :func:`grid_kl_gaussian`
    from ``(m0, logvar0)`` (N, 2) (the encoder's q is a good start), the step shrinking by
    ``decay`` each iteration so the iterates settle instead of hovering around the optimum
    (:func:`elbo_edu.train.fit` without data, a learning-rate schedule).
    Returns ``(m, logvar, kl)``. Check :func:`grid_mass` of the result: the quadrature KL means
    nothing for a q whose mass leaves the grid."""
    from ..train import fit

    steps = check_positive_int(steps, "steps")
    objective = _GridKL(log_post, grid, m0, logvar0)
    fit(objective, None, epochs=steps, lr=lambda t: lr * decay ** t)
    p = objective.params
    return p["m"], p["logvar"], grid_kl_gaussian(log_post, grid, p["m"], p["logvar"])


def grid_mass(grid: Grid, m, logvar) -> np.ndarray:
    r""":math:`\int q` over the grid for each row (N,): close to 1 when the grid covers q."""
    m, logvar = as_float_array(m, "m"), as_float_array(logvar, "logvar")
    return _q_on_grid(grid, m, logvar)[2].sum(axis=0)


def mc_elbo_common(model, x, qs, eps):
    r"""Monte-Carlo ELBOs of several diagonal Gaussians with **common random numbers**.

    ``qs`` is a list of ``(m, logvar)`` pairs (N, Z); every one uses the same noise ``eps``
    (S, N, Z): :math:`\mathrm{ELBO}(q)\approx\frac1S\sum_s\log p(x, m+s\,\varepsilon_s) + H(q)`.
    Returns an array (len(qs), S, N) of the per-sample terms (average over axis 1 for the ELBO),
    so differences between the q's can be averaged sample by sample (low variance).
    """
    out = []
    for m, lv in qs:
        z = np.asarray(m) + np.exp(0.5 * np.asarray(lv)) * eps
        lj = np.asarray(model.log_joint(x, z.astype(getattr(model, "dtype", z.dtype))), np.float64)
        out.append(lj + gaussian_entropy(np.asarray(lv, np.float64)))
    return np.stack(out)


class GapDecomposition(NamedTuple):
    """Per-point results of :func:`decompose_gap` (arrays (N,) unless stated)."""
    log_evidence: np.ndarray
    inference_gap: np.ndarray       # log p(x) - MC ELBO(encoder q), independent noise
    inference_gap_se: np.ndarray
    approximation_gap: np.ndarray   # KL(q* || p(z|x)) on the grid
    amortisation_gap: np.ndarray    # MC ELBO(q*) - MC ELBO(encoder q), common noise
    amortisation_gap_se: np.ndarray
    best_mean: np.ndarray           # (N, 2)
    best_logvar: np.ndarray         # (N, 2)
    encoder_kl: np.ndarray          # KL(encoder q || p(z|x)) on the grid
    grid_mass: np.ndarray           # (2, N): mass of q* and of the encoder's q on the grid


def decompose_gap(model, x, grid: Grid, *, n_samples: int = 2000, steps: int = 400,
                  rng: np.random.Generator) -> GapDecomposition:
    r"""Measure the three gaps of the module docstring for the rows of ``x`` (N, x_dim).

    The two sides of *inference = approximation + amortisation* come from different
    computations: the left from the grid evidence and a Monte-Carlo ELBO of the encoder's q with
    its own noise; the right from a quadrature KL of :math:`q^\star` and a common-noise
    Monte-Carlo difference of ELBOs. Standard errors are over the ``n_samples`` draws.
    """
    n_samples = check_positive_int(n_samples, "n_samples")
    gp = grid_posterior(model, x, grid)
    mu, lv = (np.asarray(a, np.float64) for a in model.encode(x))
    m_star, lv_star, approx = best_gaussian_on_grid(gp.log_posterior, grid, mu, lv, steps=steps)
    shape = (n_samples,) + mu.shape
    terms = mc_elbo_common(model, x, [(mu, lv)], rng.standard_normal(shape))[0]
    inf_gap = gp.log_evidence - terms.mean(0)
    inf_se = terms.std(0, ddof=1) / np.sqrt(n_samples)
    both = mc_elbo_common(model, x, [(m_star, lv_star), (mu, lv)], rng.standard_normal(shape))
    diff = both[0] - both[1]
    return GapDecomposition(gp.log_evidence, inf_gap, inf_se, approx, diff.mean(0),
                            diff.std(0, ddof=1) / np.sqrt(n_samples), m_star, lv_star,
                            gp.kl_q_posterior,
                            np.stack([grid_mass(grid, m_star, lv_star), gp.q_mass]))
