"""Chapter 12, D12.3: the full-covariance Gaussian posterior (Cholesky-parameterised)."""
from __future__ import annotations

import numpy as np
import pytest

from elbo_edu.distributions import LOG_2PI
from elbo_edu.gradcheck import check_function, numerical_gradient, rel_error
from elbo_edu.models import LinearGaussian
from elbo_edu.models.posteriors import (cholesky_factor, cholesky_factor_grad, fit_full_covariance,
                                        full_gaussian_entropy, full_gaussian_entropy_grad,
                                 full_gaussian_log_prob, full_gaussian_sample,
                                 full_gaussian_sample_grad, kl_full_gaussians, lg_full_elbo,
                                 lg_full_elbo_grad, lg_reparam_elbo_grad, raw_from_cholesky)


def _problem(rng, x_dim=6, z_dim=3):
    lg = LinearGaussian.random(x_dim, z_dim, rng, sigma2=0.4)
    return lg, lg.sample(1, rng)[0]


def test_cholesky_factor_is_lower_triangular_with_positive_diagonal_and_invertible(rng):
    raw = rng.standard_normal((4, 4))
    L = cholesky_factor(raw)
    assert np.array_equal(L, np.tril(L)) and np.all(np.diag(L) > 0)
    assert np.allclose(raw_from_cholesky(L), np.tril(raw), rtol=0, atol=1e-14)
    # the factor of S = L L^T computed by numpy's Cholesky is the same L
    assert np.allclose(np.linalg.cholesky(L @ L.T), L, rtol=0, atol=1e-12)


def test_parameterisation_and_sample_gradients(rng):
    raw, eps, m = rng.standard_normal((3, 3)), rng.standard_normal((5, 3)), rng.standard_normal(3)
    r = check_function("cholesky_factor", cholesky_factor,
                       lambda raw, grad_out: (cholesky_factor_grad(raw, grad_out),),
                       dict(raw=raw), rng=rng)
    assert r.passed, str(r)
    L = cholesky_factor(raw)
    r = check_function("full_gaussian_sample", lambda m, L: full_gaussian_sample(m, np.tril(L), eps),
                       lambda m, L, grad_out: full_gaussian_sample_grad(eps, grad_out),
                       dict(m=m, L=L), rng=rng)
    assert r.passed, str(r)
    num = numerical_gradient(lambda _: full_gaussian_entropy(L), L)
    assert rel_error(full_gaussian_entropy_grad(L), num) < 1e-7


def test_entropy_and_log_prob_against_dense_formulas(rng):
    L = cholesky_factor(rng.standard_normal((3, 3)))
    S = L @ L.T
    assert abs(full_gaussian_entropy(L) - 0.5 * np.linalg.slogdet(2 * np.pi * np.e * S)[1]) < 1e-12
    z, m = rng.standard_normal((4, 3)), rng.standard_normal(3)
    d = z - m
    dense = -0.5 * (3 * LOG_2PI + np.linalg.slogdet(S)[1]
                    + np.einsum("ni,ij,nj->n", d, np.linalg.inv(S), d))
    assert np.allclose(full_gaussian_log_prob(z, m, L), dense, rtol=1e-12, atol=1e-12)


def test_full_elbo_gradient_matches_finite_differences(rng):
    lg, x = _problem(rng)
    m, raw = rng.standard_normal(3), 0.3 * rng.standard_normal((3, 3))
    dm, dL = lg_full_elbo_grad(lg, x, m, cholesky_factor(raw))
    num_m = numerical_gradient(lambda _: lg_full_elbo(lg, x, m, cholesky_factor(raw)), m)
    num_raw = numerical_gradient(lambda _: lg_full_elbo(lg, x, m, cholesky_factor(raw)), raw)
    assert rel_error(dm, num_m) < 1e-7
    assert rel_error(cholesky_factor_grad(raw, dL), num_raw) < 1e-7


def test_diagonal_factor_gives_the_mean_field_elbo_of_chapter_06(rng):
    lg, x = _problem(rng)
    m, lv = rng.standard_normal(3), rng.standard_normal(3)
    ours = lg_full_elbo(lg, x, m, np.diag(np.exp(0.5 * lv)))
    assert abs(ours - lg.elbo(x[None], m[None], lv[None])[0]) < 1e-12 * abs(ours)


def test_log_evidence_minus_full_elbo_is_the_kl_to_the_posterior(rng):
    lg, x = _problem(rng)
    mean, cov = lg.posterior(x[None])
    for _ in range(5):
        m, L = rng.standard_normal(3), cholesky_factor(rng.standard_normal((3, 3)))
        lhs = lg.log_evidence(x[None])[0] - lg_full_elbo(lg, x, m, L)
        rhs = kl_full_gaussians(m, L @ L.T, mean[0], cov)
        assert lhs > 0 and abs(lhs - rhs) < 1e-10 * max(1.0, abs(lhs))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_full_covariance_closes_the_mean_field_floor(seed):
    rng = np.random.default_rng(seed)
    lg, x = _problem(rng)
    mean, cov = lg.posterior(x[None])
    floor = lg.kl_to_posterior(x[None], mean, lg.mean_field_logvar()[None])[0]
    m, L, hist = fit_full_covariance(lg, x, steps=1000)
    gap = lg.log_evidence(x[None])[0] - hist[-1]
    assert floor > 1e-2                       # the diagonal family cannot reach the posterior
    assert abs(gap) < 1e-10                   # the full family does, to rounding error
    assert np.allclose(L @ L.T, cov, rtol=0, atol=1e-10) and np.allclose(m, mean[0], atol=1e-10)
    assert np.all(np.diff(hist) > -1e-12)     # ascent: the ELBO never goes down


def test_reparameterization_gradient_is_unbiased(rng):
    lg, x = _problem(rng)
    m, L = rng.standard_normal(3), cholesky_factor(0.5 * rng.standard_normal((3, 3)))
    exact_m, exact_L = lg_full_elbo_grad(lg, x, m, L)
    draws = [lg_reparam_elbo_grad(lg, x, m, L, rng.standard_normal((1, 3))) for _ in range(4000)]
    gm, gL = np.array([d[0] for d in draws]), np.array([d[1] for d in draws])
    for est, exact in ((gm, exact_m), (gL, exact_L)):
        se = est.std(0, ddof=1) / np.sqrt(len(est)) + 1e-12
        assert np.all(np.abs(est.mean(0) - exact) < 5 * se)


def test_bad_shapes_raise(rng):
    lg, x = _problem(rng)
    with pytest.raises(ValueError, match="raw"):
        cholesky_factor(np.ones((2, 3)))
    with pytest.raises(ValueError, match="m"):
        lg_full_elbo(lg, x, np.zeros(2), np.eye(3))
    with pytest.raises(ValueError, match="L"):
        raw_from_cholesky(-np.eye(2))
