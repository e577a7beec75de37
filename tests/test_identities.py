"""The ELBO's identities, both sides computed independently (D6.1, D6.3, D6.4, D3.1).

The linear-Gaussian model supplies exact values: the closed-form ELBO of
:meth:`LinearGaussian.elbo` (expected log-joint + entropy) is compared with the reconstruction-
minus-KL form built from :mod:`elbo_edu.distributions`, and with Monte-Carlo estimates.
"""
from __future__ import annotations

import numpy as np
import pytest

from elbo_edu.distributions import (gaussian_entropy, gaussian_log_prob, kl_std_normal,
                                    std_normal_log_prob)
from elbo_edu.estimators import naive_log_evidence
from elbo_edu.models import LinearGaussian


@pytest.fixture
def setup(rng):
    m = LinearGaussian.random(4, 2, rng, sigma2=0.3)
    x = m.sample(5, rng)
    q_mean, q_logvar = rng.standard_normal((5, 2)), 0.5 * rng.standard_normal((5, 2))
    return m, x, q_mean, q_logvar


def _expected_loglik(m, x, q_mean, q_logvar):
    """E_q[log p(x|z)] in closed form from the Gaussian log-density at the mean plus a trace term."""
    at_mean = gaussian_log_prob(x, q_mean @ m.W.T + m.b, np.log(m.sigma2))
    return at_mean - 0.5 * np.exp(q_logvar) @ np.sum(m.W ** 2, 0) / m.sigma2


def test_elbo_is_reconstruction_minus_kl_to_prior(setup):
    """D6.3: ELBO = E_q[log p(x|z)] - KL(q || p(z))."""
    m, x, q_mean, q_logvar = setup
    rhs = _expected_loglik(m, x, q_mean, q_logvar) - kl_std_normal(q_mean, q_logvar)
    np.testing.assert_allclose(m.elbo(x, q_mean, q_logvar), rhs, rtol=1e-12)


def test_elbo_is_energy_plus_entropy(setup, rng):
    """D6.4: ELBO = E_q[log p(x, z)] + H(q); the energy term estimated by Monte Carlo."""
    m, x, q_mean, q_logvar = setup
    z = q_mean + np.exp(0.5 * q_logvar) * rng.standard_normal((40_000,) + q_mean.shape)
    energy = m.log_joint(x, z)
    se = energy.std(0, ddof=1) / np.sqrt(len(energy))
    rhs = energy.mean(0) + gaussian_entropy(q_logvar)
    assert np.all(np.abs(m.elbo(x, q_mean, q_logvar) - rhs) < 4 * se)   # 4 standard errors
    # the entropy itself: H(q) = -E_q[log q]
    lq = gaussian_log_prob(z, q_mean, q_logvar)
    assert np.all(np.abs(-lq.mean(0) - gaussian_entropy(q_logvar))
                  < 4 * lq.std(0, ddof=1) / np.sqrt(len(lq)))


def test_jensen_gap(setup):
    """D6.1: log p(x) >= ELBO for every q, with equality only at the posterior (here unreachable
    by a diagonal q, because the posterior is correlated)."""
    m, x, q_mean, q_logvar = setup
    assert np.all(m.log_evidence(x) > m.elbo(x, q_mean, q_logvar))
    mean, logvar = m.encode(x)
    assert np.all(m.log_evidence(x) - m.elbo(x, mean, logvar) < m.log_evidence(x)
                  - m.elbo(x, q_mean, q_logvar))


def test_evidence_is_the_prior_average_of_the_likelihood(rng):
    """D3.1: p(x) = ∫ p(x|z) p(z) dz; the prior-sample average converges to the exact value."""
    m = LinearGaussian.random(2, 1, rng, sigma2=1.0)
    x = m.sample(3, rng)
    reps = np.array([naive_log_evidence(m, x, 5000, rng=rng) for _ in range(40)])
    ratio = np.exp(reps - m.log_evidence(x))
    assert np.all(np.abs(ratio.mean(0) - 1) < 4 * ratio.std(0, ddof=1) / np.sqrt(len(ratio)))


def test_log_joint_is_likelihood_plus_prior(setup, rng):
    """D7.4 for the reference model: log p(x, z) = log p(x|z) + log N(z; 0, I)."""
    m, x, _, _ = setup
    z = rng.standard_normal((3, 5, 2))
    ref = gaussian_log_prob(np.broadcast_to(x, (3, 5, 4)), z @ m.W.T + m.b, np.log(m.sigma2)) \
        + std_normal_log_prob(z)
    np.testing.assert_allclose(m.log_joint(x, z), ref, rtol=1e-14)


def test_mean_field_floor_falls_with_x_dim():
    """Chapter 06 "Try this" 2: for LinearGaussian.random the floor of the gap left by the best
    diagonal q *falls* as x_dim grows (random columns of W become nearly orthogonal).

    The floor is measured as KL(q* || p(z|x)) at the best diagonal q* (posterior mean, variances
    1/Λ_kk), by the model's KL formula, not by the closed-form floor ½(Σ log Λ_kk − log|Λ|).
    """
    def floor(x_dim):
        out = []
        for seed in range(10):
            r = np.random.default_rng(seed)
            m = LinearGaussian.random(x_dim, 2, r)
            x = m.sample(1, r)
            mean, _ = m.posterior(x)
            out.append(m.kl_to_posterior(x, mean, m.mean_field_logvar()[None])[0])
        return np.mean(out)

    f2, f100 = floor(2), floor(100)
    assert f2 > 0.1 and f100 < 0.02 and f2 > 10 * f100      # measured: about 0.19 and 0.006
