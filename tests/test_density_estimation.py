"""Chapter 01 (D1.2–D1.5): Gaussian maximum likelihood and kernel density estimation."""
from __future__ import annotations

import numpy as np
import pytest

from elbo_edu.estimators import density_estimation as D
from elbo_edu.distributions import gaussian_log_prob
from elbo_edu.gradcheck import numerical_gradient, rel_error
from elbo_edu.estimators.grid import log_integral, make_grid


@pytest.fixture
def data(rng):
    return rng.normal(loc=[1.0, -2.0, 0.5], scale=[2.0, 0.5, 1.0], size=(400, 3))


# ----------------------------------------------------------------------------- MLE (D1.2, D1.4)
def test_iid_log_likelihood_is_sum_over_points(data, rng):
    """D1.4: the data set's log-likelihood is the sum of the per-point log-densities, each
    written out here from the Gaussian formula; and the log of the product of scipy's densities."""
    from scipy.stats import norm

    mean, logvar = rng.standard_normal(3), rng.standard_normal(3)
    per_point = [-0.5 * np.sum(np.log(2 * np.pi) + logvar + (x - mean) ** 2 / np.exp(logvar))
                 for x in data]
    assert D.log_likelihood(data, mean, logvar) == pytest.approx(sum(per_point), rel=1e-13)
    # ... and the product of the densities (scipy's), computed on a small subset
    dens = np.prod(norm.pdf(data[:20], loc=mean, scale=np.exp(0.5 * logvar)))
    assert np.log(dens) == pytest.approx(D.log_likelihood(data[:20], mean, logvar), rel=1e-12)


def test_log_likelihood_gradient_matches_finite_differences(data, rng):
    mean, logvar = rng.standard_normal(3), 0.3 * rng.standard_normal(3)
    dmean, dlogvar = D.log_likelihood_grad(data, mean, logvar)
    num_mean = numerical_gradient(lambda m: D.log_likelihood(data, m, logvar), mean.copy())
    num_lv = numerical_gradient(lambda lv: D.log_likelihood(data, mean, lv), logvar.copy())
    assert rel_error(dmean, num_mean) < 1e-7
    assert rel_error(dlogvar, num_lv) < 1e-7


def test_closed_form_mle_is_a_stationary_maximum(data):
    mean, logvar = D.gaussian_mle(data)
    np.testing.assert_allclose(mean, data.mean(0), rtol=1e-14)
    np.testing.assert_allclose(np.exp(logvar), data.var(0), rtol=1e-13)   # ddof = 0
    dmean, dlogvar = D.log_likelihood_grad(data, mean, logvar)
    assert np.max(np.abs(dmean)) < 1e-10 and np.max(np.abs(dlogvar)) < 1e-10
    best = D.log_likelihood(data, mean, logvar)
    for delta in (1e-3, -1e-3):
        assert D.log_likelihood(data, mean + delta, logvar) < best
        assert D.log_likelihood(data, mean, logvar + delta) < best


def test_gradient_ascent_agrees_with_closed_form(data):
    fit = D.fit_gaussian_ascent(data, lr=0.2, steps=800)
    mean, logvar = D.gaussian_mle(data)
    np.testing.assert_allclose(fit.mean, mean, atol=1e-9)
    np.testing.assert_allclose(fit.logvar, logvar, atol=1e-9)
    assert np.all(np.diff(fit.history) > -1e-12)             # monotone ascent at this step size
    assert fit.history[-1] == pytest.approx(D.log_likelihood(data, mean, logvar) / len(data), abs=1e-12)


# ---------------------------------------------------------------------- minibatch (D1.5)
def test_minibatch_gradient_is_unbiased(data, rng):
    mean, logvar = np.array([0.0, 0.0, 0.0]), np.array([0.5, -0.5, 0.0])
    full = np.concatenate(D.log_likelihood_grad(data, mean, logvar))
    g = D.minibatch_gradients(data, mean, logvar, batch_size=16, n_batches=4000, rng=rng)
    se = g.std(axis=0, ddof=1) / np.sqrt(len(g))
    # each coordinate's average of 4000 independent estimates is within 4 standard errors
    # (two-sided normal tail 6e-5 per coordinate; 6 coordinates)
    assert np.all(np.abs(g.mean(axis=0) - full) < 4 * se)
    # without the N/M factor the estimate is biased by M/N: far outside the error bars
    unscaled = g * 16 / len(data)
    assert np.any(np.abs(unscaled.mean(axis=0) - full) > 20 * se)


def test_minibatch_of_everything_is_the_full_gradient(data):
    mean, logvar = np.zeros(3), np.zeros(3)
    got = D.minibatch_gradient(data, mean, logvar, np.arange(len(data)))
    for a, b in zip(got, D.log_likelihood_grad(data, mean, logvar)):
        np.testing.assert_allclose(a, b, rtol=1e-14)


# ------------------------------------------------------------------------------- KDE (D1.3)
def test_kde_is_the_average_of_gaussian_bumps(rng):
    x_data, x_eval, h = rng.standard_normal((30, 2)), rng.standard_normal((5, 2)), 0.4
    direct = np.log(np.mean([np.exp(gaussian_log_prob(x_eval, xi, 2 * np.log(h))) for xi in x_data],
                            axis=0))
    np.testing.assert_allclose(D.kde_log_density(x_eval, x_data, h), direct, rtol=1e-12)


def test_bandwidth_rules_match_scipy_in_1d(rng):
    stats = pytest.importorskip("scipy.stats")
    x = 3.0 * rng.standard_normal((250, 1)) + 1.0
    ev = np.linspace(-10, 10, 9)
    for rule, fn in (("scott", D.scott_bandwidth), ("silverman", D.silverman_bandwidth)):
        ref = stats.gaussian_kde(x[:, 0], bw_method=rule).logpdf(ev)
        np.testing.assert_allclose(D.kde_log_density(ev[:, None], x, fn(x)), ref, rtol=1e-10)


@pytest.mark.parametrize("dim", [1, 2])
def test_kde_integrates_to_one(rng, dim):
    x = rng.standard_normal((50, dim)) * [1.0, 0.5][:dim]
    h = D.scott_bandwidth(x)
    lo, hi = x.min() - 10 * h, x.max() + 10 * h
    grid = make_grid(lo, hi, 4001 if dim == 1 else 301, dim=dim)
    total = np.exp(log_integral(D.kde_log_density(grid.points, x, h), grid))
    # trapezoid rule on a smooth integrand vanishing (to < 1e-20) at the edges: error ~ rounding
    assert total == pytest.approx(1.0, abs=1e-10)


def test_heldout_bandwidth_beats_extremes(rng):
    x = rng.standard_normal((600, 2))
    train, val = x[:400], x[400:]
    bws = np.geomspace(0.02, 5.0, 25)
    best, scores = D.heldout_bandwidth(train, val, bws)
    assert scores[0] < scores.max() and scores[-1] < scores.max()
    assert best == bws[np.argmax(scores)]
    # for Gaussian data, the held-out choice lands within a factor 2 of Silverman's rule
    assert 0.5 < best / D.silverman_bandwidth(train) < 2.0


def test_bad_input_names_the_argument(rng):
    x = rng.standard_normal((10, 2))
    with pytest.raises(ValueError, match="bandwidth"):
        D.kde_log_density(x, x, 0.0)
    with pytest.raises(ValueError, match="x_eval"):
        D.kde_log_density(x[:, :1], x, 1.0)
    with pytest.raises(ValueError, match="mean"):
        D.log_likelihood(x, np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="idx"):
        D.minibatch_gradient(x, np.zeros(2), np.zeros(2), np.array([0, 10]))
    with pytest.raises(ValueError, match="bandwidths"):
        D.heldout_bandwidth(x, x, [1.0, -1.0])
    with pytest.raises(ValueError, match="batch_size"):
        D.minibatch_gradients(x, np.zeros(2), np.zeros(2), 11, 3, rng)
