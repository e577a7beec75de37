"""Chapter 12, D12.3: one planar flow layer, its log-determinant and its gradients."""
from __future__ import annotations

import numpy as np
import pytest

from elbo_edu.gradcheck import numerical_gradient, rel_error
from elbo_edu.flows import PlanarFlow, fit_planar_flow, tanh_ridge_log_density
from elbo_edu.estimators.grid import log_integral, make_grid


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


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_planar_layer_beats_every_gaussian_on_the_tanh_ridge(seed):
    """The target's log-normaliser is 0, so -ELBO is the KL to it. Measured for seeds 0-2 after
    1200 steps: the Gaussian fit stays at 1.675-1.682 nats; the flow ends at 0.003 nats when it
    finds the exact map (seed 1) and at 0.33-0.37 nats in the local optimum other starts reach."""
    q, _, flow_trace = fit_planar_flow(tanh_ridge_log_density, steps=1200, batch=128, lr=0.02,
                                       seed=seed)
    _, _, gauss_trace = fit_planar_flow(tanh_ridge_log_density, flow=False, steps=1200, batch=128,
                                        lr=0.02, seed=seed)
    kl_flow, kl_gauss = -flow_trace[-200:].mean(), -gauss_trace[-200:].mean()
    print(f"seed {seed}: KL flow {kl_flow:.3f}, KL Gaussian {kl_gauss:.3f}")
    assert kl_gauss > 1.5 and kl_flow < 0.6
