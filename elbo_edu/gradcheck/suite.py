"""Every hand-written gradient of the package, checked by finite differences in one call.

``elbo-edu gradcheck`` prints the table this builds; a teacher runs it to verify an installation.
Each *case* is a function ``case(rng) -> GradCheckReport``; the cases are listed in :data:`CASES`,
in the order the chapters introduce them.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .. import distributions as D
from .. import nn
from .core import DEFAULT_TOL, GradCheckReport, GradCheckRow, check_function, check_module
from .core import numerical_gradient
from .cases_ch12_13 import chapter12_13_cases

__all__ = ["CASES", "run_all", "check_vae"]

F64 = np.float64


def _modules(rng: np.random.Generator) -> GradCheckReport:
    report = GradCheckReport()
    x = rng.standard_normal((5, 4))
    layers = {
        "Linear": nn.Linear(4, 3, rng=rng, dtype=F64),
        "ReLU": nn.ReLU(), "LeakyReLU": nn.LeakyReLU(0.1), "Tanh": nn.Tanh(),
        "Sigmoid": nn.Sigmoid(), "Softplus": nn.Softplus(), "Identity": nn.Identity(),
        "Dense(tanh)": nn.Dense(4, 3, "tanh", rng=rng, dtype=F64),
        "Sequential": nn.mlp((4, 6, 3), "tanh", rng=rng, dtype=F64),
    }
    for name, m in layers.items():
        report.extend(check_module(m, x, rng=rng, name=name, verbose=False))
    return report


def _densities(rng: np.random.Generator) -> GradCheckReport:
    n, d = 4, 3
    x, mean, logvar = (rng.standard_normal((n, d)) for _ in range(3))
    report = GradCheckReport()
    report.extend(check_function("gaussian_log_prob", D.gaussian_log_prob, D.gaussian_log_prob_grad,
                                 dict(x=x, mean=mean, logvar=logvar), rng=rng))
    report.extend(check_function("std_normal_log_prob", D.std_normal_log_prob,
                                 D.std_normal_log_prob_grad, dict(z=x), rng=rng))
    report.extend(check_function("bernoulli_log_prob", D.bernoulli_log_prob,
                                 D.bernoulli_log_prob_grad,
                                 dict(x=rng.uniform(size=(n, d)), logits=2 * mean), wrt=["logits"],
                                 rng=rng))
    # logits near 0 too: the log-normaliser's Taylor branch (|logit| < 0.1)
    cb_logits = np.concatenate([2 * mean[:2], 0.05 * mean[2:]])
    report.extend(check_function("continuous_bernoulli_log_prob",
                                 D.continuous_bernoulli_log_prob,
                                 D.continuous_bernoulli_log_prob_grad,
                                 dict(x=rng.uniform(size=(n, d)), logits=cb_logits),
                                 wrt=["logits"], rng=rng))
    report.extend(check_function("categorical_log_prob", D.categorical_log_prob,
                                 D.categorical_log_prob_grad,
                                 dict(y=rng.integers(0, d, size=n), logits=2 * mean), rng=rng))
    return report


def _kls(rng: np.random.Generator) -> GradCheckReport:
    a, b, c, e = (rng.standard_normal((4, 3)) for _ in range(4))
    report = GradCheckReport()
    report.extend(check_function("kl_normal", D.kl_normal, D.kl_normal_grad,
                                 dict(mu1=a, logvar1=b, mu2=c, logvar2=e), rng=rng))
    report.extend(check_function("kl_std_normal", D.kl_std_normal, D.kl_std_normal_grad,
                                 dict(mu=a, logvar=b), rng=rng))
    return report


def _softmax_ce(rng: np.random.Generator) -> GradCheckReport:
    logits, y = rng.standard_normal((5, 4)), rng.integers(0, 4, size=5)
    report = GradCheckReport()
    report.extend(check_function(
        "softmax_cross_entropy",
        lambda logits: np.array(nn.softmax_cross_entropy(logits, y)[0]),
        lambda logits, grad_out: (grad_out * nn.softmax_cross_entropy(logits, y)[1],),
        dict(logits=logits), rng=rng))
    return report


def check_vae(model, x, eps, *, h: float = 1e-5, name: str | None = None) -> GradCheckReport:
    """Compare ``model.loss_and_grads(x, eps)`` with central differences of ``model.loss``.

    One row per parameter array (``VAE d(encoder.0.W)``, ...), each compared on its own scale;
    ``report.max_error`` is the worst. The step ``h = 1e-5`` (not 1e-6): the first layers'
    gradients are ~100x smaller than the loss, so rounding error eps_mach*|loss|/h dominates at
    1e-6; at 1e-5 it is 10x smaller while the O(h^2) truncation error is still below 1e-9.
    """
    _, grads = model.loss_and_grads(x, eps)
    analytic = {k: g.copy() for k, g in grads.items()}
    report = GradCheckReport()
    prefix = name or "VAE"
    for k, p in model.params.items():
        report.add(f"{prefix} d({k})", analytic[k],
                   numerical_gradient(lambda _: model.loss(x, eps), p, h))
    return report


def _worst_row(report: GradCheckReport, name: str) -> GradCheckRow:
    """Summarise a report as its worst row, renamed ``name (worst of N arrays: d<param>)``."""
    worst = max(report.rows, key=lambda r: r.max_rel_error)
    param = worst.name.rsplit(" ", 1)[-1]
    return GradCheckRow(f"{name} (worst of {len(report.rows)} arrays: {param})", worst.shape,
                        worst.max_rel_error, worst.passed)


def _vae(rng: np.random.Generator) -> GradCheckReport:
    from ..distributions import reparameterize, reparameterize_grad
    from ..vae import VAE

    report = GradCheckReport()
    mu, logvar, eps = (rng.standard_normal((4, 3)) for _ in range(3))
    report.extend(check_function("reparameterize", reparameterize, reparameterize_grad,
                                 dict(mu=mu, logvar=logvar, eps=eps), rng=rng))
    n, d, k = 5, 6, 3
    x = rng.uniform(size=(n, d))  # grey levels: valid Bernoulli targets and Gaussian data
    # tanh, not ReLU: a ReLU input within h of its kink makes the difference quotient meaningless
    # for some seeds; ReLU's own backward is checked alone above.
    for lik, learned_var, beta in (("bernoulli", "scalar", 1.0), ("bernoulli", "scalar", 0.25),
                                   ("continuous-bernoulli", "scalar", 1.0),
                                   ("gaussian", "scalar", 2.0),
                                   ("gaussian-learned", "scalar", 1.0),
                                   ("gaussian-learned", "pixel", 0.5)):
        model = VAE(d, k, (7, 5), lik, beta=beta, obs_var=0.5, learned_var=learned_var,
                    activation="tanh", dtype=F64, rng=rng)
        tag = lik + (f"/{learned_var}" if lik == "gaussian-learned" else "")
        rows = check_vae(model, x, rng.standard_normal((n, k)), name=f"VAE {tag} beta={beta:g}")
        if (lik, beta) == ("bernoulli", 1.0):   # the model chapter 09 trains: every array
            report.extend(rows)
        else:                                    # the other configurations: their worst array
            report.rows.append(_worst_row(rows, f"VAE {tag} beta={beta:g}"))
    return report


CASES: list[Callable[[np.random.Generator], GradCheckReport]] = [
    _modules, _softmax_ce, _densities, _kls, _vae, *chapter12_13_cases(),
]


def run_all(seed: int = 0, tol: float = DEFAULT_TOL) -> GradCheckReport:
    """Run every registered case with one seeded generator and return the combined table."""
    rng = np.random.default_rng(seed)
    report = GradCheckReport(tol=tol)
    for case in CASES:
        part = case(rng)
        for row in part.rows:
            row.passed = row.max_rel_error < tol
        report.extend(part)
    return report
