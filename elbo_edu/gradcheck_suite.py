"""Every hand-written gradient of the package, checked by finite differences in one call.

``elbo-edu gradcheck`` prints the table this builds; a teacher runs it to verify an installation.
Each *case* is a function ``case(rng) -> GradCheckReport``; the cases are listed in :data:`CASES`,
in the order the chapters introduce them.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from . import distributions as D
from . import nn
from .gradcheck import DEFAULT_TOL, GradCheckReport, check_function, check_module

__all__ = ["CASES", "run_all"]

F64 = np.float64


def _modules(rng: np.random.Generator) -> GradCheckReport:
    report = GradCheckReport()
    x = rng.standard_normal((5, 4))
    layers = {
        "Linear": nn.Linear(4, 3, rng=rng, dtype=F64),
        "ReLU": nn.ReLU(), "LeakyReLU": nn.LeakyReLU(0.1), "Tanh": nn.Tanh(),
        "Sigmoid": nn.Sigmoid(), "Softplus": nn.Softplus(), "Identity": nn.Identity(),
        "Sequential": nn.mlp((4, 6, 3), nn.Tanh, rng=rng, dtype=F64),
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
                                 dict(x=rng.uniform(size=(n, d)), logits=2 * mean), rng=rng))
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


CASES: list[Callable[[np.random.Generator], GradCheckReport]] = [
    _modules, _softmax_ce, _densities, _kls,
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
