"""Chapter 13, D13.2: β, the rate-distortion plane and the tangent relation."""
from __future__ import annotations

import numpy as np
import pytest

from elbo_edu.data import load_dataset
from elbo_edu.gradcheck import numerical_gradient, rel_error
from elbo_edu.models.linear_beta_vae import (fit_linear_beta_vae, linear_rate_distortion,
                                             linear_rate_distortion_grad, optimal_rate_distortion)
from elbo_edu.experiments.rate_distortion import (beta_sweep, chord_slopes, rate_distortion,
                                                  supporting_line_margins)
from elbo_edu.train import evaluate
from elbo_edu.vae import VAE


def _frontier_points(betas, c=50.0):
    """On the convex frontier D(R) = c exp(-R) the minimiser of D + beta R is R = log(c/beta),
    where D'(R) = -beta, i.e. D = beta."""
    betas = np.asarray(betas, dtype=float)
    return np.log(c / betas), betas.copy()


def test_margins_are_nonnegative_exactly_on_a_convex_frontier():
    betas = np.array([0.25, 0.5, 1.0, 2.0, 4.0])
    r, d = _frontier_points(betas)
    m = supporting_line_margins(betas, r, d)
    assert np.allclose(np.diag(m), 0) and m.min() > -1e-12
    assert np.all(np.delete(m, np.arange(0, 25, 6)) > 0)          # strictly above off the diagonal
    slopes = chord_slopes(r, d)
    assert np.all(slopes <= -betas[:-1]) and np.all(slopes >= -betas[1:])


def test_a_point_off_the_frontier_gives_a_negative_margin():
    betas = np.array([0.5, 1.0, 2.0])
    r, d = _frontier_points(betas)
    d[1] += 1.0                                                   # the beta = 1 model underfits
    m = supporting_line_margins(betas, r, d)
    assert m[1].min() < 0


def test_rate_and_distortion_add_up_to_the_negative_elbo(rng):
    model = VAE(10, 2, (8,), rng=rng)
    x = rng.uniform(size=(50, 10)).astype(np.float32)
    r, d = rate_distortion(model, x, n_samples=1, seed=3)
    e = evaluate(model, x, seed=3)
    assert abs(r + d - e["loss"]) < 1e-5 * abs(e["loss"])


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="rate"):
        supporting_line_margins([1.0, 2.0], [1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="betas"):
        beta_sweep(np.zeros((4, 3)), np.zeros((4, 3)), [1.0])


def test_linear_beta_vae_gradient_matches_finite_differences(rng):
    v, s2, beta = np.array([3.0, 1.0, 0.2]), 0.3, 1.7
    a, ls, w = rng.standard_normal((3, 3))
    grads = linear_rate_distortion_grad(v, s2, beta, a, ls, w)
    f = lambda _: float(np.dot([beta, 1.0], linear_rate_distortion(v, s2, a, ls, w)))
    for g, p in zip(grads, (a, ls, w)):
        assert rel_error(g, numerical_gradient(f, p)) < 1e-7


def test_trained_linear_beta_vae_sits_on_the_frontier_with_slope_minus_beta():
    """Gradient descent (no formula) lands on the closed-form optimum, and the frontier traced by
    training at beta(1 +- 1e-4) has slope -beta: measured relative error 3.3e-9, the delta^2/3 of
    the central difference."""
    v, s2 = np.array([4.0, 2.5, 1.3, 0.7, 0.35, 0.15]), 0.2
    betas, d = np.array([0.25, 0.5, 1.0, 2.0, 4.0]), 1e-4
    a, ls, w = fit_linear_beta_vae(v, s2, np.concatenate([betas, betas * (1 + d), betas * (1 - d)]))
    rate, dist = linear_rate_distortion(v, s2, a, ls, w)
    best = np.array([optimal_rate_distortion(v, s2, b) for b in betas])
    assert np.allclose(rate[:5], best[:, 0], rtol=0, atol=1e-6)
    assert np.allclose(dist[:5], best[:, 1], rtol=0, atol=1e-6)
    slope = (dist[5:10] - dist[10:]) / (rate[5:10] - rate[10:])
    assert np.all(np.abs(slope / -betas - 1) < 1e-6)
    collapsed = np.exp(ls[:5]) > 1 - 1e-6                  # q(z_j|x) = the prior
    assert np.array_equal(collapsed, v[None, :] <= betas[:, None] * s2)


def test_beta_sweep_on_digits_trades_rate_for_distortion():
    """Measured on seeds 0-2 with this configuration: rate falls and distortion rises with beta
    at every step (the smallest steps: 0.37 nats of rate, 0.74 nats of distortion)."""
    digits = load_dataset("embedded", n_train=2000, n_test=10)
    x = np.ascontiguousarray(digits.x_train.reshape(-1, 28, 28)[:, ::2, ::2].reshape(-1, 196))
    sweep = beta_sweep(x, x[:1000], [0.25, 0.5, 1.0, 2.0, 4.0], z_dim=8, hidden=(128,),
                       epochs=6, lr=2e-3, seed=0)
    print("rate", np.round(sweep.rate, 2), "distortion", np.round(sweep.distortion, 2))
    assert np.all(np.diff(sweep.rate) < 0) and np.all(np.diff(sweep.distortion) > 0)
