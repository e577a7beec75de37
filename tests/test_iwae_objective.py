"""Chapter 12, D12.1: the IWAE bound as a training objective, its hand-written gradient."""
from __future__ import annotations

import numpy as np
import pytest

from elbo_edu.data import load_dataset
from elbo_edu.distributions import gaussian_log_prob
from elbo_edu.estimators import elbo_estimate, iwae_bound
from elbo_edu.estimators.iwae_objective import fit_iwae, iwae_loss, iwae_loss_and_grads, iwae_objective
from elbo_edu.gradcheck import numerical_gradient, rel_error
from elbo_edu.vae import VAE


def _model(lik="bernoulli", seed=0):
    # tanh: a ReLU kink within h of an input would spoil the difference quotient
    return VAE(6, 3, (7, 5), lik, obs_var=0.5, activation="tanh", dtype=np.float64,
               rng=np.random.default_rng(seed))


@pytest.mark.parametrize("lik", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("k", [1, 4])
def test_iwae_gradient_matches_finite_differences(lik, k, rng):
    model = _model(lik)
    x, eps = rng.uniform(size=(4, 6)), rng.standard_normal((k, 4, 3))
    _, grads = iwae_loss_and_grads(model, x, k, eps)
    analytic = {n: g.copy() for n, g in grads.items()}
    for name, p in model.params.items():
        numeric = numerical_gradient(lambda _: iwae_loss(model, x, k, eps), p, h=1e-5)
        assert rel_error(analytic[name], numeric) < 1e-7, name


def test_k1_is_the_one_sample_elbo_with_monte_carlo_kl(rng):
    model = _model()
    x, eps = rng.uniform(size=(5, 6)), rng.standard_normal((1, 5, 3))
    mu, logvar = model.encode(x)
    z = mu + np.exp(0.5 * logvar) * eps[0]
    direct = -np.mean(model.log_joint(x, z) - gaussian_log_prob(z, mu, logvar))
    assert abs(iwae_loss(model, x, 1, eps) - direct) < 1e-12 * abs(direct)


def test_gradient_is_the_normalised_weight_average_of_one_sample_gradients(rng):
    """grad log (1/K) sum w_k = sum_k w~_k grad log w_k, each grad log w_k computed alone (K=1)."""
    model, k = _model(seed=3), 5
    x, eps = rng.uniform(size=(1, 6)), rng.standard_normal((k, 1, 3))
    _, log_w = iwae_objective(model, x, k, eps)
    wt = np.exp(log_w[:, 0] - log_w[:, 0].max())
    wt /= wt.sum()
    combined = {n: np.zeros_like(p) for n, p in model.params.items()}
    for j in range(k):
        _, g = iwae_loss_and_grads(model, x, 1, eps[j:j + 1])
        for n in combined:
            combined[n] += wt[j] * g[n]
    _, g = iwae_loss_and_grads(model, x, k, eps)
    for n in combined:
        assert rel_error(g[n], combined[n]) < 1e-12, n


def test_bound_matches_the_evaluation_estimator_for_the_same_noise(rng):
    model = _model()
    x = rng.uniform(size=(3, 6))
    ours = iwae_objective(model, x, 7, rng=np.random.default_rng(4))[0]
    # the estimator of chapter 10 draws its noise the same way: (K, N, Z) standard normals
    theirs = iwae_bound(model, x, 7, rng=np.random.default_rng(4))
    assert np.allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_bad_inputs_raise_clear_errors(rng):
    model = _model()
    x = rng.uniform(size=(3, 6))
    with pytest.raises(ValueError, match="eps"):
        iwae_loss(model, x, 2, rng.standard_normal((3, 3, 3)))
    with pytest.raises(ValueError, match="k"):
        iwae_loss(model, x, 0)
    with pytest.raises(ValueError, match="x"):
        iwae_loss(model, rng.uniform(size=(3, 5)), 2)
    learned = VAE(6, 3, (5,), "gaussian-learned", dtype=np.float64, rng=rng)
    with pytest.raises(ValueError, match="model"):
        iwae_loss(learned, x, 2)


def _small(x):
    return np.ascontiguousarray(x.reshape(-1, 28, 28)[:, ::2, ::2].reshape(-1, 196))


@pytest.mark.parametrize("seed", [0, 1])
def test_training_with_more_samples_raises_the_test_log_likelihood(seed):
    """Burda et al.'s claim, on a small budget: K = 20 beats K = 1 on a test IWAE_1000 while the
    encoder's ELBO does not improve (the signal-to-noise remark). Measured over seeds 0-4 on both
    backends (200 test digits, paired): IWAE gain 2.36-3.20 nats against 4 standard errors of
    0.67-0.80; ELBO change -3.03 to -5.32 nats against 4 standard errors of 0.50-0.95."""
    digits = load_dataset("embedded", n_train=1500, n_test=200)
    x_train, x_test = _small(digits.x_train), _small(digits.x_test)
    bounds, elbos = {}, {}
    for k in (1, 20):
        model = VAE(196, 8, hidden=(64,), rng=np.random.default_rng(seed))
        fit_iwae(model, x_train, k, epochs=5, batch_size=100, lr=3e-3, seed=seed)
        bounds[k] = iwae_bound(model, x_test, 1000, rng=np.random.default_rng(10 + seed))
        elbos[k] = elbo_estimate(model, x_test, 100, rng=np.random.default_rng(20 + seed))
    d = bounds[20] - bounds[1]
    e = elbos[20] - elbos[1]
    print(f"seed {seed}: IWAE gain {d.mean():.3f} (4 se {4 * d.std(ddof=1) / np.sqrt(d.size):.3f}), "
          f"ELBO change {e.mean():.3f} (4 se {4 * e.std(ddof=1) / np.sqrt(e.size):.3f})")
    assert d.mean() > 4 * d.std(ddof=1) / np.sqrt(d.size)
    assert e.mean() < 4 * e.std(ddof=1) / np.sqrt(e.size)


def test_fit_iwae_sees_the_same_minibatches_whatever_k(monkeypatch):
    """Same seed, different K: the same rows in the same order in every epoch (the data order has
    its own generator; the K-dependent noise draws must not shift it)."""
    import elbo_edu.estimators.iwae_objective as mod
    import elbo_edu.train as train_mod

    seen = {}
    real_fit = train_mod.fit

    def recording_fit(objective, *args, **kwargs):       # every minibatch the objective is given
        real = objective.loss_and_grads

        def loss_and_grads(xb, *a, **kw):
            seen.setdefault(objective.k, []).append(xb[:, 0].copy())
            return real(xb, *a, **kw)
        objective.loss_and_grads = loss_and_grads
        return real_fit(objective, *args, **kwargs)

    monkeypatch.setattr(train_mod, "fit", recording_fit)
    x = np.random.default_rng(0).uniform(size=(30, 6))
    x[:, 0] = np.arange(30)                                          # row ids in column 0
    for k in (1, 5):
        mod.fit_iwae(_model("gaussian"), x, k, epochs=3, batch_size=10, lr=1e-3, seed=4)
    assert len(seen[1]) == len(seen[5]) == 9
    assert all(np.array_equal(a, b) for a, b in zip(seen[1], seen[5]))
