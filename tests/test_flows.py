"""Chapter 12, D12.3: one planar flow layer, its log-determinant and its gradients."""
from __future__ import annotations

import numpy as np
import pytest

from elbo_edu.gradcheck import numerical_gradient, rel_error
from elbo_edu.models.flows import PlanarFlow, fit_planar_flow, tanh_ridge_log_density
from elbo_edu.estimators.grid import log_integral, make_grid
from elbo_edu.models.posteriors import (fit_full_gaussian_by_quadrature, full_gaussian_log_prob,
                                        full_gaussian_sample)


def test_planar_flow_gradients_with_log_determinant(rng):
    f = PlanarFlow(3, rng=rng, scale=1.0)
    z, dy, dl = rng.standard_normal((5, 3)), rng.standard_normal((5, 3)), rng.standard_normal(5)
    f.zero_grad()
    f.forward(z)
    dz = f.backward(dy, dl)

    def objective(_):
        y = f.forward(z)
        return float(np.sum(y * dy) + np.sum(f.logdet * dl))

    for name, p in f.params.items():
        assert rel_error(f.grads[name], numerical_gradient(objective, p)) < 1e-7, name
    assert rel_error(dz, numerical_gradient(objective, z)) < 1e-7


def test_log_determinant_matches_the_numerical_jacobian(rng):
    f = PlanarFlow(3, rng=rng, scale=1.0)
    z = rng.standard_normal((4, 3))
    f.forward(z)
    logdet = f.logdet.copy()
    for n in range(4):
        J = np.stack([numerical_gradient(lambda v: f.forward(v[None])[0, i], z[n].copy())
                      for i in range(3)])
        assert abs(logdet[n] - np.log(abs(np.linalg.det(J)))) < 1e-8


def test_backward_without_forward_raises():
    with pytest.raises(RuntimeError):
        PlanarFlow(2, rng=np.random.default_rng(0)).backward(np.zeros((1, 2)))


def test_tanh_ridge_target_is_normalised_and_its_gradient_is_right(rng):
    grid = make_grid(-8, 8, 401)
    logp, _ = tanh_ridge_log_density(grid.points)
    assert abs(log_integral(logp, grid)) < 1e-6
    z = rng.standard_normal((4, 2))
    _, g = tanh_ridge_log_density(z)
    num = numerical_gradient(lambda v: tanh_ridge_log_density(v)[0].sum(), z)
    assert rel_error(g, num) < 1e-7


def _kl_to_tanh_ridge_scipy():
    """The best full-covariance Gaussian by another route: q written as z1 ~ N(m1, a^2),
    z2 | z1 ~ N(m2 + c (z1 - m1), d^2), so E_q[log p] needs only a 1-D expectation over z1 (a
    200-node Gauss-Hermite rule), minimised by scipy's Nelder-Mead. Returns the minimum KL."""
    optimize = pytest.importorskip("scipy.optimize")
    t, w = np.polynomial.hermite_e.hermegauss(200)
    w = w / w.sum()

    def kl(theta):
        m1, m2, log_a, c, log_d = theta
        a, d = np.exp(log_a), np.exp(log_d)
        z1 = m1 + a * t
        mean2 = m2 + c * (z1 - m1)
        e_logp = w @ (-np.log(2 * np.pi) - np.log(0.3) - 0.5 * z1 ** 2
                      - ((mean2 - 2 * np.tanh(z1)) ** 2 + d * d) / (2 * 0.09))
        return -(e_logp + np.log(2 * np.pi * np.e) + log_a + log_d)

    res = optimize.minimize(kl, [0.1, -0.1, 0.0, 1.0, -1.0], method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 40_000})
    return res.fun


def test_best_full_covariance_gaussian_on_the_tanh_ridge():
    """The quadrature fit against an independent optimisation (another parameterisation, rule
    and optimiser, :func:`_kl_to_tanh_ridge_scipy`), and its KL against a Monte-Carlo KL of the
    same q from fresh draws through the log-density (another code path than the entropy).
    Measured: 0.3071379 nats both ways (difference < 1e-9); Monte Carlo within 1 standard error."""
    m, L, trace = fit_full_gaussian_by_quadrature(tanh_ridge_log_density)
    z = full_gaussian_sample(m, L, np.random.default_rng(3).standard_normal((200_000, 2)))
    log_ratio = full_gaussian_log_prob(z, m, L) - tanh_ridge_log_density(z)[0]
    se = log_ratio.std(ddof=1) / np.sqrt(log_ratio.size)
    assert abs(-trace[-1] - log_ratio.mean()) < 4 * se
    assert abs(-trace[-1] - _kl_to_tanh_ridge_scipy()) < 1e-6
    assert abs(L[1, 0]) > 0.5                                      # tilted, not diagonal


@pytest.mark.parametrize("seed", [1, 3])
def test_one_planar_layer_beats_the_best_gaussian_from_a_start_that_finds_the_map(seed):
    """The target's log-normaliser is 0, so -ELBO is the KL to it. Measured over seeds 0-9 after
    1200 steps (both backends): the diagonal Gaussian 1.66-1.69 nats, the best full-covariance
    Gaussian 0.307; the flow below 0.03 nats for seeds 1, 3, 5, 7, 8, 9 and at 0.31-0.50 (no
    better than the full-covariance Gaussian) for seeds 0, 2, 4, 6. The assert fails for a flow
    in those local optima, and for any Gaussian."""
    _, layer, flow_trace = fit_planar_flow(tanh_ridge_log_density, steps=1200, batch=128, lr=0.02,
                                           seed=seed)
    _, _, gauss_trace = fit_planar_flow(tanh_ridge_log_density, flow=False, steps=1200, batch=128,
                                        lr=0.02, seed=seed)
    kl_full = -fit_full_gaussian_by_quadrature(tanh_ridge_log_density)[2][-1]
    kl_flow, kl_gauss = -flow_trace[-200:].mean(), -gauss_trace[-200:].mean()
    print(f"seed {seed}: KL flow {kl_flow:.3f}, full-covariance {kl_full:.3f}, diagonal {kl_gauss:.3f}")
    assert kl_gauss > 1.5 and kl_flow < kl_full - 0.2 and layer.invertible()


@pytest.mark.parametrize("seed", [0, 2])
def test_a_stuck_flow_is_no_better_than_the_best_gaussian(seed):
    """The other side of the claim, so that the chapter states it: from these starts one layer
    stops in a local optimum (0.31-0.35 nats), within 0.05 nats of the full-covariance Gaussian."""
    _, _, flow_trace = fit_planar_flow(tanh_ridge_log_density, steps=1200, batch=128, lr=0.02,
                                       seed=seed)
    kl_full = -fit_full_gaussian_by_quadrature(tanh_ridge_log_density)[2][-1]
    assert kl_full - 0.05 < -flow_trace[-200:].mean() < kl_full + 0.1
