"""Accuracy of two densities against 50-digit references (mpmath), elbo_edu beside torch.distributions.

1. The continuous Bernoulli log-density log p(x | logit) for |logit| from 30 to 700, x on [0, 1]:
   reference log C + x log(lam) + (1 - x) log(1 - lam) with log C = log(l / tanh(l / 2)).
2. KL(N(mu1, s1^2) || N(mu2, s2^2)) for nearly equal Gaussians, parameters differing by d
   (1000 random pairs per d), relative error against the exact value of the float inputs.

Usage::

    python benchmarks/density_accuracy_vs_torch.py [--out accuracy.json]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--out", default=None, help="JSON output file")
args = p.parse_args()

import mpmath  # noqa: E402
import torch  # noqa: E402

from elbo_edu.distributions import continuous_bernoulli_log_prob, kl_normal  # noqa: E402

mpmath.mp.dps = 50
f64 = torch.float64


def cb_reference(x, logit):
    x, l = mpmath.mpf(x), mpmath.mpf(logit)
    log_c = mpmath.log(l / mpmath.tanh(l / 2))
    return float(log_c - x * mpmath.log1p(mpmath.e ** (-l)) - (1 - x) * mpmath.log1p(mpmath.e ** l))


out = {"torch": torch.__version__, "continuous_bernoulli": [], "kl_normal": []}
for logit in (5.0, 20.0, 30.0, 35.0, 40.0, 50.0, 100.0, 200.0, 500.0, 700.0, -40.0, -100.0, -500.0):
    ours, theirs = [], []
    for x in np.linspace(0, 1, 11):
        ref = cb_reference(x, logit)
        ours.append(float(continuous_bernoulli_log_prob(np.array([[x]]), np.array([[logit]]))[0]) - ref)
        cb = torch.distributions.ContinuousBernoulli(logits=torch.tensor(logit, dtype=f64))
        theirs.append(float(cb.log_prob(torch.tensor(x, dtype=f64))) - ref)
    row = {"logit": logit, "elbo_edu_max_abs_error": max(map(abs, ours)),
           "torch_max_abs_error": max(map(abs, theirs))}
    out["continuous_bernoulli"].append(row)
    print(f"continuous Bernoulli, logit {logit:6.0f}: elbo_edu {row['elbo_edu_max_abs_error']:.1e} nats, "
          f"torch {row['torch_max_abs_error']:.3g} nats")

rng = np.random.default_rng(0)
for d in (1e-3, 1e-5, 1e-7, 1e-8, 1e-9):
    ours, theirs = [], []
    for _ in range(1000):
        mu1, lv1 = rng.normal(), rng.normal()
        mu2, lv2 = mu1 + d * rng.normal(), lv1 + d * rng.normal()
        m1, l1, m2, l2 = map(mpmath.mpf, (mu1, lv1, mu2, lv2))
        ref = float((l2 - l1) / 2 + (mpmath.e ** l1 + (m1 - m2) ** 2) / (2 * mpmath.e ** l2) - mpmath.mpf(1) / 2)
        ours.append(abs(float(kl_normal(np.array(mu1), np.array(lv1), np.array(mu2), np.array(lv2))) - ref) / ref)
        t = lambda v: torch.tensor(v, dtype=f64)  # noqa: E731
        kl = torch.distributions.kl_divergence(torch.distributions.Normal(t(mu1), t(np.exp(lv1 / 2))),
                                               torch.distributions.Normal(t(mu2), t(np.exp(lv2 / 2))))
        theirs.append(abs(float(kl) - ref) / ref)
    row = {"d": d, "elbo_edu_median_rel_error": float(np.median(ours)), "elbo_edu_max_rel_error": max(ours),
           "torch_median_rel_error": float(np.median(theirs)), "torch_max_rel_error": max(theirs)}
    out["kl_normal"].append(row)
    print(f"KL, parameters {d:.0e} apart: relative error elbo_edu median {row['elbo_edu_median_rel_error']:.1e} "
          f"(max {row['elbo_edu_max_rel_error']:.1e}), torch median {row['torch_median_rel_error']:.1e} "
          f"(max {row['torch_max_rel_error']:.1e})")
if args.out:
    Path(args.out).write_text(json.dumps(out, indent=2))
