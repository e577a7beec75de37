"""A trained VAE with a 2-D latent: grid evidence vs ELBO and IWAE_K (D10.2, D10.3).

Tolerances: Monte-Carlo quantities are compared within 4 standard errors (two-sided normal tail
6e-5), the standard error measured from the samples; the grid quadrature error is checked
separately by refining the grid, and the margin granted to it is that measured difference x 10.
"""
from __future__ import annotations

import numpy as np
import pytest

from elbo_edu.data import load_dataset
from elbo_edu.special import logsumexp
from elbo_edu.estimators import evidence_bounds, log_weights
from elbo_edu.models import grid_log_evidence, grid_posterior, make_grid
from elbo_edu.train import train
from elbo_edu.vae import VAE

GRID = make_grid(-6.0, 6.0, 97)


@pytest.fixture(scope="module")
def trained():
    data = load_dataset("embedded", n_train=1000, n_test=100)
    model = VAE(784, 2, hidden=(64,), dtype=np.float64, rng=np.random.default_rng(0))
    train(model, (data.x_train, None), epochs=6, batch_size=64, lr=2e-3, progress=False, seed=0)
    x = data.x_test[:3]
    return model, x, grid_posterior(model, x, GRID)


def test_grid_is_fine_and_wide_enough(trained):
    model, x, gp = trained
    finer = grid_log_evidence(model, x, make_grid(-7.5, 7.5, 181))
    quad_err = np.max(np.abs(finer - gp.log_evidence))
    assert quad_err < 1e-3
    assert np.all(gp.q_mass > 0.99)
    post_mass = np.exp(gp.log_posterior + GRID.log_cell).sum(0)
    np.testing.assert_allclose(post_mass, 1.0, rtol=1e-12)   # normalised by construction


def test_gap_equals_kl_to_the_grid_posterior(trained):
    """log p(x) - ELBO = KL(q || p(z|x)): grid evidence minus a Monte-Carlo ELBO vs grid KL."""
    model, x, gp = trained
    est = evidence_bounds(model, x, 4000, rng=np.random.default_rng(1))
    gap = gp.log_evidence - est.mean_log_weight
    # margin: 4 standard errors of the Monte-Carlo ELBO plus 10x the measured quadrature error
    assert np.all(np.abs(gap - gp.kl_q_posterior) < 4 * est.mean_log_weight_se + 1e-2)
    assert np.all(gp.kl_q_posterior > 0)


def test_elbo_le_iwae_k_le_grid_evidence(trained):
    model, x, gp = trained
    reps = 200
    # one draw of 200 x 100 weights per row; IWAE_k replicates are disjoint groups of k weights
    lw = log_weights(model, x, reps * 100, rng=np.random.default_rng(2))
    means, ses = [], []
    for k in (1, 10, 100):
        r = logsumexp(lw.reshape(-1, k, lw.shape[1]), axis=1) - np.log(k)
        means.append(r.mean(0))
        ses.append(r.std(0, ddof=1) / np.sqrt(len(r)))
    # the replicates of different k share samples, positively correlated: comparing with the
    # root-sum-square of the two standard errors is conservative
    for lo, hi, se_lo, se_hi in zip(means, means[1:], ses, ses[1:]):
        assert np.all(hi - lo > -4 * np.hypot(se_lo, se_hi))
    assert np.all(means[-1] - gp.log_evidence < 4 * ses[-1] + 1e-2)
    # and it really is a different number: IWAE_100 recovers most of the gap
    assert np.all(gp.log_evidence - means[-1] < 0.5 * (gp.log_evidence - means[0]))


def test_closed_form_elbo_matches_model_loss(trained):
    """The VAE's loss (closed-form KL) and the Monte-Carlo ELBO = E[IWAE_1] estimate the same
    quantity."""
    model, x, _ = trained
    rng = np.random.default_rng(3)
    losses = np.array([model.loss(x[i:i + 1], rng=rng) for i in range(len(x)) for _ in range(300)])
    losses = losses.reshape(len(x), 300)
    est = evidence_bounds(model, x, 4000, rng=rng)
    se = np.hypot(losses.std(1, ddof=1) / np.sqrt(300), est.mean_log_weight_se)
    assert np.all(np.abs(-losses.mean(1) - est.mean_log_weight) < 4 * se)
