"""Chapter 13, D13.2: β, the rate-distortion plane and the tangent relation."""
from __future__ import annotations

import numpy as np
import pytest

from elbo_edu.data import load_dataset
from elbo_edu.models.rate_distortion import (beta_sweep, chord_slopes, rate_distortion,
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


def test_each_model_minimises_its_own_weighted_objective():
    """The chapter's sweep (2000 digits, 6 epochs). Measured margins (smallest off-diagonal
    entry per row) for seeds 0-2 are in the report; the tolerance -0.1 nats is the Monte-Carlo
    noise of the measured (R, D)."""
    digits = load_dataset("embedded", n_train=2000, n_test=10)
    x = np.ascontiguousarray(digits.x_train.reshape(-1, 28, 28)[:, ::2, ::2].reshape(-1, 196))
    sweep = beta_sweep(x, x[:1000], [0.25, 0.5, 1.0, 2.0, 4.0], z_dim=8, hidden=(128,),
                       epochs=6, lr=2e-3, seed=0)
    m = supporting_line_margins(sweep.betas, sweep.rate, sweep.distortion)
    print("margins", np.round(m, 3))
    assert m.min() > -0.1
    slopes = chord_slopes(sweep.rate, sweep.distortion)
    assert np.all(slopes <= -sweep.betas[:-1]) and np.all(slopes >= -sweep.betas[1:])
    assert np.all(np.diff(sweep.rate) < 0)
