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


def _expected_loglik(m, x, q_mean, q_logvar, nodes=8):
    """E_q[log p(x|z)] by a tensor Gauss-Hermite rule over q's 2 latent dimensions: the Gaussian
    log-density evaluated at the nodes z = mean + s * t, no closed-form trace term (exact here,
    the integrand being a quadratic in z)."""
    t, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    t1, t2 = (a.ravel() for a in np.meshgrid(t, t, indexing="ij"))
    weight = np.outer(w, w).ravel()
    s = np.exp(0.5 * q_logvar)
    out = np.zeros(len(x))
    for a, b, wt in zip(t1, t2, weight):
        z = q_mean + s * np.array([a, b])
        out += wt * gaussian_log_prob(x, z @ m.W.T + m.b, np.log(m.sigma2))
    return out


def test_elbo_is_reconstruction_minus_kl_to_prior(setup):
    """D6.3: ELBO = E_q[log p(x|z)] - KL(q || p(z)); the left side is the model's closed form
    (expected log-joint + entropy), the right a quadrature of the decoder's log-density minus
    chapter 05's KL."""
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


def test_network_outputs_the_parameters_of_a_density():
    """D2.3: (μ(x), log σ²(x)) = NN(x) makes p(y|x) = N(y; μ(x), σ²(x)) a density in y for every x
    (quadrature), and the gradient of Σ log p(y|x) reaches the network's weights (finite
    differences through the network)."""
    from scipy import integrate

    from elbo_edu.distributions import gaussian_log_prob_grad
    from elbo_edu.gradcheck import numerical_gradient, rel_error
    from elbo_edu.nn import Linear, Sequential, Tanh

    rng = np.random.default_rng(23)
    net = Sequential(Linear(3, 8, rng=rng, dtype=np.float64), Tanh(),
                     Linear(8, 2, rng=rng, dtype=np.float64))
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 1))
    out = net.forward(x)
    for i in range(5):
        mass = integrate.quad(lambda t: np.exp(gaussian_log_prob([[t]], out[i, :1], out[i, 1:])[0]),
                              -np.inf, np.inf)[0]
        assert abs(mass - 1) < 1e-9

    def total(_=None):
        o = net.forward(x)
        return float(np.sum(gaussian_log_prob(y, o[:, :1], o[:, 1:])))

    o = net.forward(x)
    _, dmean, dlogvar = gaussian_log_prob_grad(y, o[:, :1], o[:, 1:])
    net.zero_grad()
    net.backward(np.concatenate([dmean, dlogvar], axis=1))
    for name, p in net.params.items():
        assert rel_error(net.grads[name], numerical_gradient(total, p)) < 1e-7, name


def test_negative_entropy_of_a_gaussian_by_quadrature():
    """D5.1: ∫ p log p = −½(log 2πσ² + 1), against scipy's adaptive quadrature of the definition."""
    from scipy import integrate

    for mean, logvar in ((0.0, 0.0), (1.3, -2.0), (-4.0, 3.1)):
        def integrand(t):
            lp = gaussian_log_prob([[t]], mean, logvar)[0]
            return np.exp(lp) * lp
        s = np.exp(0.5 * logvar)
        quad = integrate.quad(integrand, mean - 40 * s, mean + 40 * s, points=[mean], limit=200,
                              epsabs=1e-13)[0]
        assert abs(quad - (-float(gaussian_entropy(np.array([logvar]))))) < 1e-10
        assert abs(quad - (-0.5 * (np.log(2 * np.pi) + logvar + 1))) < 1e-10


def test_diagonal_gaussian_log_density_is_a_sum_of_one_dimensional_terms(rng):
    """D7.1: log N(x; μ, diag σ²) = Σ_d log N(x_d; μ_d, σ_d²), each term from scipy.stats.norm."""
    from scipy.stats import norm

    x, mean, logvar = rng.standard_normal((3, 6, 5))
    ref = norm.logpdf(x, mean, np.exp(0.5 * logvar)).sum(axis=1)
    np.testing.assert_allclose(gaussian_log_prob(x, mean, logvar), ref, rtol=1e-13)


def test_kl_to_posterior_minus_weighted_squared_error_is_constant_in_q(setup, rng):
    """D6.6: KL(q ‖ p(z|x)) − [C E_q‖x − Wz − b‖² + KL(q ‖ p(z))] = log p(x) + D/2 log 2πc for
    every q; the expected squared error is estimated by Monte Carlo (not the closed form)."""
    m, x, _, _ = setup
    x1 = np.repeat(x[:1], 6, axis=0)
    qm, qlv = rng.normal(0, 1.5, (6, 2)), rng.normal(0, 1, (6, 2))
    z = qm + np.exp(0.5 * qlv) * rng.standard_normal((200_000, 6, 2))
    sq = np.sum((x1 - z @ m.W.T - m.b) ** 2, axis=-1)                     # (S, 6)
    loss = sq.mean(0) / (2 * m.sigma2) + kl_std_normal(qm, qlv)
    se = sq.std(0, ddof=1) / np.sqrt(len(sq)) / (2 * m.sigma2)
    const = m.log_evidence(x[:1])[0] + 0.5 * m.x_dim * np.log(2 * np.pi * m.sigma2)
    assert np.all(np.abs(m.kl_to_posterior(x1, qm, qlv) - loss - const) < 4 * se)
    assert np.ptp(loss) > 1.0                                   # the q's differ


def test_single_image_evidence_against_prior_samples():
    """D3.1 for one image: p(x) = ∫ p(x|z) p(z) dz on a grid against the average of p(x|z_s)
    over 10⁶ prior samples (unbiased; 4 relative standard errors)."""
    from elbo_edu.estimators import evidence_bounds
    from elbo_edu.estimators.grid import log_integral, make_grid
    from elbo_edu.vae import VAE

    dlvm = VAE(5, 2, hidden=(16,), likelihood="bernoulli", activation="tanh", dtype=np.float64,
               rng=np.random.default_rng(3))
    for p in dlvm.params.values():
        p *= 3.0
    x = np.array([[1.0, 0.0, 1.0, 1.0, 0.0]])
    grid = make_grid(-7.0, 7.0, 281, dim=2)
    log_px = log_integral(dlvm.log_joint(x, grid.points[:, None, :]), grid)[0]
    est = evidence_bounds(dlvm, x, 1_000_000, proposal="prior", rng=np.random.default_rng(5))
    assert est.rel_se[0] < 0.01
    assert abs(np.exp(est.log_evidence[0] - log_px) - 1) < 4 * est.rel_se[0]
