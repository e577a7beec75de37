"""The linear-Gaussian reference model (D6.2, D6.5) and grid quadrature on it (D10.3)."""
from __future__ import annotations

import numpy as np
import pytest

from elbo_edu.distributions import gaussian_log_prob, std_normal_log_prob
from elbo_edu.gradcheck import numerical_gradient, rel_error
from elbo_edu.estimators.grid import grid_log_evidence, grid_posterior, make_grid
from elbo_edu.experiments import ascend_elbo
from elbo_edu.models import LinearGaussian


@pytest.fixture
def model(rng):
    return LinearGaussian.random(5, 3, rng, sigma2=0.4)


@pytest.fixture
def x(model, rng):
    return model.sample(6, rng)


def _random_q(rng, n, k):
    return rng.standard_normal((n, k)), 0.7 * rng.standard_normal((n, k))


def test_log_evidence_against_a_dense_gaussian_formula(model, x):
    cov = model.W @ model.W.T + model.sigma2 * np.eye(model.x_dim)
    d = x - model.b
    ref = -0.5 * (np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov), d)
                  + np.linalg.slogdet(2 * np.pi * cov)[1])
    np.testing.assert_allclose(model.log_evidence(x), ref, rtol=1e-12)


def test_posterior_is_bayes_rule(model, x, rng):
    """log p(z|x) = log p(x|z) + log p(z) - log p(x) at random z (D1.1)."""
    mean, cov = model.posterior(x)
    z = rng.standard_normal((4,) + mean.shape)
    chol = np.linalg.cholesky(cov)
    r = np.linalg.solve(chol, (z - mean)[..., None])[..., 0]
    log_post = -0.5 * (np.sum(r ** 2, -1) + 2 * np.sum(np.log(np.diag(chol)))
                       + model.z_dim * np.log(2 * np.pi))
    bayes = model.log_joint(x, z) - model.log_evidence(x)
    np.testing.assert_allclose(log_post, bayes, rtol=1e-11)


def test_log_evidence_minus_elbo_is_kl_to_posterior(model, x, rng):
    """D6.2 for random diagonal q, to 1e-10: the two sides come from different formulas."""
    for _ in range(5):
        m, lv = _random_q(rng, *x.shape[:1], model.z_dim)
        gap = model.log_evidence(x) - model.elbo(x, m, lv)
        np.testing.assert_allclose(gap, model.kl_to_posterior(x, m, lv), atol=1e-10, rtol=0)
        assert np.all(gap > 0)


def test_closed_form_elbo_against_monte_carlo(model, x, rng):
    m, lv = _random_q(rng, x.shape[0], model.z_dim)
    z = m + np.exp(0.5 * lv) * rng.standard_normal((20000,) + m.shape)
    vals = model.log_joint(x, z) - gaussian_log_prob(z, m, lv)
    se = vals.std(0, ddof=1) / np.sqrt(len(vals))
    assert np.all(np.abs(vals.mean(0) - model.elbo(x, m, lv)) < 4 * se)   # 4 standard errors


def test_elbo_gradient_matches_finite_differences(model, x, rng):
    m, lv = _random_q(rng, x.shape[0], model.z_dim)
    dm, dlv = model.elbo_grad(x, m, lv)
    # each row's ELBO depends only on its own q, so the gradient of the sum is the per-row gradient
    assert rel_error(dm, numerical_gradient(lambda v: model.elbo(x, v, lv).sum(), m.copy())) < 1e-7
    assert rel_error(dlv, numerical_gradient(lambda v: model.elbo(x, m, v).sum(), lv.copy())) < 1e-7


def test_elbo_ascent_recovers_mean_and_mean_field_variance(model, x):
    tr = ascend_elbo(model, x, steps=800)
    mean, _ = model.posterior(x)
    np.testing.assert_allclose(tr.q_mean, mean, atol=1e-8)
    np.testing.assert_allclose(np.exp(tr.q_logvar), np.broadcast_to(1 / np.diag(model.precision),
                                                                     mean.shape), rtol=1e-8)
    # log p(x) constant, ELBO non-decreasing, gap = KL shrinking, identity at every step
    assert np.ptp(tr.log_evidence, axis=0).max() == 0.0
    assert np.all(np.diff(tr.elbo, axis=0) > -1e-12)
    assert np.all(np.diff(tr.kl, axis=0) < 1e-12)
    np.testing.assert_allclose(tr.log_evidence - tr.elbo, tr.kl, atol=1e-10)
    # the remaining gap is the KL from the best diagonal Gaussian to the correlated posterior
    np.testing.assert_allclose(tr.kl[-1], model.kl_to_posterior(x, mean, model.encode(x)[1]),
                               atol=1e-12)
    assert np.all(tr.kl[-1] > 0) and np.all(tr.kl[-1] < tr.kl[0])


def test_mean_field_optimum_has_no_better_diagonal_neighbour(model, x, rng):
    m, lv = model.encode(x)
    best = model.elbo(x, m, lv)
    for _ in range(10):
        dm, dlv = 1e-3 * rng.standard_normal(m.shape), 1e-3 * rng.standard_normal(lv.shape)
        assert np.all(model.elbo(x, m + dm, lv + dlv) < best)


def test_sample_matches_model_moments(model):
    rng = np.random.default_rng(0)
    n = 40_000
    xs, zs = model.sample(n, rng, return_latent=True)
    # mean: each coordinate's standard error is sqrt(var/n); allow 4 of them
    se = np.sqrt(np.diag(model.W @ model.W.T) + model.sigma2) / np.sqrt(n)
    assert np.all(np.abs(xs.mean(0) - model.b) < 4 * se)
    np.testing.assert_allclose(model.log_joint(xs[:5], zs[:5]),
                               model.log_likelihood_z(xs[:5], zs[:5]) + std_normal_log_prob(zs[:5]))


def test_grid_quadrature_recovers_exact_evidence_posterior_and_kl(rng):
    m = LinearGaussian.random(4, 2, rng, sigma2=0.5)
    x = m.sample(3, rng)
    grid = make_grid(-6, 6, 241)
    gp = grid_posterior(m, x, grid)
    np.testing.assert_allclose(gp.log_evidence, m.log_evidence(x), atol=1e-10)
    np.testing.assert_allclose(grid_log_evidence(m, x, grid, max_elements=50), gp.log_evidence,
                               rtol=1e-13)
    q_mean, q_logvar = m.encode(x)
    np.testing.assert_allclose(gp.kl_q_posterior, m.kl_to_posterior(x, q_mean, q_logvar), atol=1e-9)
    np.testing.assert_allclose(gp.q_mass, 1.0, atol=1e-10)
    post_mean, _ = m.posterior(x)
    mass = np.exp(gp.log_posterior + grid.log_cell)
    np.testing.assert_allclose(mass.T @ grid.points, post_mean, atol=1e-9)


def test_bad_input(model, x):
    with pytest.raises(ValueError, match="b"):
        LinearGaussian(np.ones((3, 2)), np.ones(2), 1.0)
    with pytest.raises(ValueError, match="sigma2"):
        LinearGaussian(np.ones((3, 2)), np.ones(3), 0.0)
    with pytest.raises(ValueError, match="x"):
        model.log_evidence(x[:, :2])
    with pytest.raises(ValueError, match="q_logvar"):
        model.elbo(x, np.zeros((6, 3)), np.zeros((6, 2)))
    with pytest.raises(ValueError, match="model"):
        ascend_elbo("nope", x)
    with pytest.raises(ValueError, match="grid"):
        grid_log_evidence(model, x, grid=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="n"):
        make_grid(-1, 1, 1)
