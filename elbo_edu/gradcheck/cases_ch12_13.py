"""Gradient-check rows for chapters 12 and 13, in the format of :mod:`elbo_edu.gradcheck.suite`.

:func:`chapter12_13_cases` returns the cases (``case(rng) -> GradCheckReport``) so they can be
listed in :data:`elbo_edu.gradcheck.suite.CASES` (``elbo-edu gradcheck`` runs them with the rest).
"""
from __future__ import annotations

import numpy as np

from .core import GradCheckReport, check_function, numerical_gradient

__all__ = ["chapter12_13_cases"]

F64 = np.float64


def _iwae_objective(rng: np.random.Generator) -> GradCheckReport:
    from ..estimators.iwae_objective import iwae_loss, iwae_loss_and_grads
    from ..vae import VAE

    report = GradCheckReport()
    for k in (1, 5):
        model = VAE(6, 3, (7, 5), "bernoulli", activation="tanh", dtype=F64, rng=rng)
        x, eps = rng.uniform(size=(4, 6)), rng.standard_normal((k, 4, 3))
        _, grads = iwae_loss_and_grads(model, x, k, eps)
        analytic = {n: g.copy() for n, g in grads.items()}
        for n, p in model.params.items():
            report.add(f"IWAE K={k} d({n})", analytic[n],
                       numerical_gradient(lambda _: iwae_loss(model, x, k, eps), p, h=1e-5))
    return report


def _full_covariance(rng: np.random.Generator) -> GradCheckReport:
    from ..models import LinearGaussian
    from ..models.posteriors import (cholesky_factor, cholesky_factor_grad, full_gaussian_entropy,
                             full_gaussian_entropy_grad, full_gaussian_sample,
                             full_gaussian_sample_grad, lg_full_elbo, lg_full_elbo_grad)

    report = GradCheckReport()
    raw, eps, m = rng.standard_normal((3, 3)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    report.extend(check_function("cholesky_factor", cholesky_factor,
                                 lambda raw, grad_out: (cholesky_factor_grad(raw, grad_out),),
                                 dict(raw=raw), rng=rng))
    L = cholesky_factor(raw)
    report.extend(check_function("full_gaussian_sample",
                                 lambda m, L: full_gaussian_sample(m, np.tril(L), eps),
                                 lambda m, L, grad_out: full_gaussian_sample_grad(eps, grad_out),
                                 dict(m=m, L=L), rng=rng))
    report.add("full_gaussian_entropy dL", full_gaussian_entropy_grad(L),
               numerical_gradient(lambda _: full_gaussian_entropy(L), L))
    lg = LinearGaussian.random(5, 3, rng, sigma2=0.4)
    x = lg.sample(1, rng)[0]
    dm, dL = lg_full_elbo_grad(lg, x, m, L)
    f = lambda _: lg_full_elbo(lg, x, m, cholesky_factor(raw))
    report.add("full-covariance ELBO dm", dm, numerical_gradient(f, m))
    report.add("full-covariance ELBO draw", cholesky_factor_grad(raw, dL), numerical_gradient(f, raw))
    return report


def _planar_flow(rng: np.random.Generator) -> GradCheckReport:
    from ..models.flows import PlanarFlow

    report = GradCheckReport()
    flow = PlanarFlow(3, rng=rng, scale=1.0)
    z, dy, dl = rng.standard_normal((5, 3)), rng.standard_normal((5, 3)), rng.standard_normal(5)
    flow.zero_grad()
    flow.forward(z)
    dz = flow.backward(dy, dl)

    def f(_):
        return float(np.sum(flow.forward(z) * dy) + np.sum(flow.logdet * dl))

    for n, p in flow.params.items():
        report.add(f"PlanarFlow (with log-det) d{n}", flow.grads[n].copy(), numerical_gradient(f, p))
    report.add("PlanarFlow (with log-det) dz", dz, numerical_gradient(f, z))
    return report


def _grid_kl(rng: np.random.Generator) -> GradCheckReport:
    from ..estimators.grid import make_grid
    from ..models.gap_decomposition import grid_kl_gaussian, grid_kl_gaussian_grad

    grid = make_grid(-5, 5, 81)
    z = grid.points
    lp = -0.5 * z[:, 0] ** 2 - 0.5 * ((z[:, 1] - 0.5 * z[:, 0] ** 2 + 1) / 0.6) ** 2
    log_post = (lp - np.log(np.sum(np.exp(lp))) - grid.log_cell)[:, None]
    m, lv = 0.3 * rng.standard_normal((1, 2)), 0.2 * rng.standard_normal((1, 2))
    dm, dlv = grid_kl_gaussian_grad(log_post, grid, m, lv)
    f = lambda _: float(grid_kl_gaussian(log_post, grid, m, lv).sum())
    report = GradCheckReport()
    report.add("grid KL(q || p(z|x)) dm", dm, numerical_gradient(f, m))
    report.add("grid KL(q || p(z|x)) dlogvar", dlv, numerical_gradient(f, lv))
    return report


def _cvae(rng: np.random.Generator) -> GradCheckReport:
    from ..models.cvae import CVAE

    model = CVAE(6, 3, 4, (7,), dtype=F64, rng=rng)
    x, y, eps = rng.uniform(size=(5, 6)), rng.integers(0, 4, 5), rng.standard_normal((5, 3))
    _, grads = model.loss_and_grads(x, y, eps)
    analytic = {n: g.copy() for n, g in grads.items()}
    report = GradCheckReport()
    for n, p in model.params.items():
        report.add(f"CVAE d({n})", analytic[n],
                   numerical_gradient(lambda _: model.loss(x, y, eps), p, h=1e-5))
    return report


def _free_bits(rng: np.random.Generator) -> GradCheckReport:
    from ..models.free_bits import free_bits_loss_and_grads
    from ..vae import VAE

    model = VAE(6, 3, (7,), activation="tanh", dtype=F64, rng=rng)
    x, eps = rng.uniform(size=(5, 6)), rng.standard_normal((5, 3))
    free_bits_loss_and_grads(model, x, 0.12, eps, beta=4.0)
    analytic = {n: g.copy() for n, g in model.grads.items()}
    report = GradCheckReport()
    for n, p in model.params.items():
        f = lambda _: free_bits_loss_and_grads(model, x, 0.12, eps, beta=4.0)[0]
        report.add(f"free bits beta=4 d({n})", analytic[n], numerical_gradient(f, p, h=1e-5))
    return report


def chapter12_13_cases() -> list:
    """The cases, in chapter order: IWAE objective, full covariance, planar flow, grid KL (ch. 12);
    conditional VAE, free bits (ch. 13)."""
    return [_iwae_objective, _full_covariance, _planar_flow, _grid_kl, _cvae, _free_bits]
