"""Evaluation with many samples per row (issue 15, item 4): ``Likelihood.log_prob`` on (K, N, D)
decoder outputs takes the (N, D) targets once (no K-fold copy) and gives exactly what one call on
the materialised, broadcast targets gives; the Bernoulli kernel's scale-0
path (no gradient wanted) returns the same log-probabilities as the training path."""
from __future__ import annotations

import numpy as np
import pytest

from elbo_edu import distributions as D
from elbo_edu import kernels as K
from elbo_edu.vae.likelihoods import make_likelihood
from elbo_edu.vae import VAE

LIKELIHOODS = ["bernoulli", "continuous-bernoulli", "gaussian"]


def _data(rng, dtype, k=7, n=5, d=9):
    x = rng.uniform(0.0, 1.0, (n, d)).astype(dtype)
    out = (3.0 * rng.standard_normal((k, n, d))).astype(dtype)
    return x, out


@pytest.mark.parametrize("name", LIKELIHOODS)
def test_blocks_equal_one_call_on_the_broadcast_targets(rng, backend, dtype, name):
    lik = make_likelihood(name)
    x, out = _data(rng, dtype)
    got = lik.log_prob(x, out)
    k, n, d = out.shape
    flat_x = np.ascontiguousarray(np.broadcast_to(x, out.shape).reshape(-1, d))
    want, _, _ = lik.loglik_and_grad(flat_x, np.ascontiguousarray(out.reshape(-1, d)),
                                     scale=0.0)
    assert got.shape == (k, n)
    np.testing.assert_array_equal(got, want.reshape(k, n))


def test_bernoulli_blocks_equal_the_readable_formula(rng, dtype):
    x, out = _data(rng, dtype)
    got = make_likelihood("bernoulli").log_prob(x, out)
    want = D.bernoulli_log_prob(np.broadcast_to(x, out.shape), out.astype(np.float64))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_a_single_row_of_targets_broadcasts_over_the_rows(rng):
    x, out = _data(rng, np.float64)
    lik = make_likelihood("bernoulli")
    got = lik.log_prob(x[:1], out)
    want = lik.log_prob(np.broadcast_to(x[:1], out.shape[1:]).copy(), out)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", LIKELIHOODS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("blocks", [True, False])
def test_a_non_finite_output_is_named_the_same_by_both_backends(rng, backend, dtype, name, bad,
                                                               blocks):
    x, out = _data(rng, dtype)
    if not blocks:                                  # one (N, D) output, the 2-D path
        out = out[0].copy()
        out[2, 4] = bad
    else:
        out[3, 2, 4] = bad
    with pytest.raises(ValueError, match=r"^out: expected finite values"):
        make_likelihood(name).log_prob(x, out)


def test_targets_that_do_not_broadcast_are_named(rng):
    x, out = _data(rng, np.float32)
    with pytest.raises(ValueError, match=r"^x: expected a shape that broadcasts"):
        make_likelihood("bernoulli").log_prob(x[:, :4], out)
    with pytest.raises(ValueError, match=r"^x: expected values in \[0, 1\]"):
        make_likelihood("bernoulli").log_prob(x + 2.0, out)


def test_bernoulli_scale_zero_gives_the_training_log_probabilities(rng, backend, dtype):
    x = (rng.uniform(size=(6, 300)) < 0.3).astype(dtype)
    logits = (4.0 * rng.standard_normal((6, 300))).astype(dtype)
    logp_eval, grad = K.bernoulli_loglik_grad(x, logits, scale=0.0)
    logp_train, _ = K.bernoulli_loglik_grad(x, logits, scale=-1.0 / 6)
    np.testing.assert_array_equal(logp_eval, logp_train)
    np.testing.assert_array_equal(grad, np.zeros_like(grad))


def test_iwae_of_a_model_is_unchanged_by_the_block_path(rng):
    """The estimator through log_joint equals the same bound computed by hand from the pieces."""
    from elbo_edu.estimators import iwae_bound
    model = VAE(12, 3, hidden=(8,), dtype=np.float64, rng=np.random.default_rng(4))
    x = (rng.uniform(size=(4, 12)) < 0.5).astype(np.float64)
    k = 6
    got = iwae_bound(model, x, k, rng=np.random.default_rng(9))
    eps = np.random.default_rng(9).standard_normal((k, 4, 3))
    mu, logvar = model.encode(x)
    z = mu + np.exp(0.5 * logvar) * eps
    logits = model.decode(z)
    log_px = (x * logits - np.logaddexp(0.0, logits)).sum(-1)
    log_pz = D.std_normal_log_prob(z)
    log_q = D.gaussian_log_prob(z, mu, logvar)
    lw = log_px + log_pz - log_q
    want = np.logaddexp.reduce(lw, axis=0) - np.log(k)
    np.testing.assert_allclose(got, want, rtol=1e-10)
