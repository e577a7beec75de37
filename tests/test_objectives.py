"""elbo_edu.vae.objectives: every composed objective's gradient by finite differences, on both backends,
and each composition against a direct computation of its formula."""
from __future__ import annotations

import numpy as np
import pytest

from elbo_edu import kernels
from elbo_edu.distributions import bernoulli_log_prob, gaussian_log_prob, kl_std_normal, \
    std_normal_log_prob
from elbo_edu.gradcheck import numerical_gradient, rel_error
from elbo_edu.models.cvae import CVAE
from elbo_edu.vae.objectives import ELBO, IWAE, FreeBits, make_objective
from elbo_edu.vae import VAE

BACKENDS = ("numpy", "numba")


def _vae(lik="bernoulli", seed=0):
    # tanh: a ReLU kink within h of an input would spoil the difference quotient
    return VAE(6, 3, (7, 5), lik, obs_var=0.5, activation="tanh", dtype=np.float64,
               rng=np.random.default_rng(seed))


def _check(objective, x, eps, **kw):
    _, grads = objective.loss_and_grads(x, eps, **kw)
    analytic = {n: g.copy() for n, g in grads.items()}
    for name, p in objective.params.items():
        numeric = numerical_gradient(lambda _: objective.loss(x, eps, **kw), p, h=1e-5)
        assert rel_error(analytic[name], numeric) < 1e-7, name


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("lik", ["bernoulli", "gaussian", "gaussian-learned",
                                 "continuous-bernoulli"])
@pytest.mark.parametrize("k", [1, 3])
def test_k_sample_elbo_gradient(backend, lik, k, rng):
    model = _vae(lik)
    x = rng.uniform(size=(4, 6))
    eps = rng.standard_normal((k, 4, 3) if k > 1 else (4, 3))
    with kernels.use_backend(backend):
        _check(ELBO(model, k), x, eps, beta=0.7)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("lik", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("k", [1, 4])
def test_iwae_gradient(backend, lik, k, rng):
    model = _vae(lik)
    x = rng.uniform(size=(4, 6))
    with kernels.use_backend(backend):
        _check(IWAE(model, k), x, rng.standard_normal((k, 4, 3)))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("k", [1, 2])
def test_free_bits_gradient(backend, k, rng):
    model = _vae()
    x = rng.uniform(size=(5, 6))
    eps = rng.standard_normal((k, 5, 3))
    obj = FreeBits(model, k, free_bits=0.12)
    with kernels.use_backend(backend):
        mu, lv = model.encode(x)
        kl_bar = (0.5 * (np.exp(lv) + mu ** 2 - 1 - lv)).mean(axis=0)
        # the check means something only if some dimensions are clamped and some are not
        assert (kl_bar > 0.12).any() and (kl_bar < 0.12).any(), kl_bar
        _check(obj, x, eps, beta=4.0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("k", [1, 3])
def test_conditioned_gradient(backend, k, rng):
    model = CVAE(6, 3, n_classes=4, hidden=(5,), dtype=np.float64, rng=np.random.default_rng(1))
    x, y = rng.uniform(size=(4, 6)), np.array([0, 3, 1, 3])
    eps = rng.standard_normal((k, 4, 3) if k > 1 else (4, 3))
    cond = np.eye(4)[y]
    with kernels.use_backend(backend):
        for obj in (ELBO(model, k), IWAE(model, k)):
            _check(obj, x, eps, cond=cond)


def test_k_sample_elbo_is_the_mean_of_one_sample_elbos(rng):
    model = _vae()
    x, eps = rng.uniform(size=(5, 6)), rng.standard_normal((3, 5, 3))
    direct = np.mean([ELBO(model).loss(x, e) for e in eps])
    assert abs(ELBO(model, 3).loss(x, eps) - direct) < 1e-12 * abs(direct)


def test_iwae_is_log_mean_exp_of_independently_computed_weights(rng):
    model = _vae()
    x, eps = rng.uniform(size=(5, 6)), rng.standard_normal((4, 5, 3))
    mu, lv = model.encode(x)
    z = mu + np.exp(0.5 * lv) * eps
    log_w = (bernoulli_log_prob(np.broadcast_to(x, (4, 5, 6)), model.decode(z)) + std_normal_log_prob(z)
             - gaussian_log_prob(z, mu, lv))
    direct = -np.mean(np.log(np.mean(np.exp(log_w), axis=0)))
    t = IWAE(model, 4).terms(x, eps)
    assert abs(t.loss - direct) < 1e-12 * abs(direct)
    assert np.allclose(t.log_w, log_w, rtol=1e-12, atol=0)


def test_free_bits_with_lambda_zero_is_the_elbo(rng):
    model = _vae()
    x, eps = rng.uniform(size=(5, 6)), rng.standard_normal((5, 3))
    elbo = ELBO(model).loss_and_grads(x, eps)[1]
    g_elbo = {n: g.copy() for n, g in elbo.items()}
    loss_fb, g_fb = FreeBits(model, free_bits=0.0).loss_and_grads(x, eps)
    assert abs(loss_fb - ELBO(model).loss(x, eps)) < 1e-12 * abs(loss_fb)
    for n in g_elbo:
        assert rel_error(g_fb[n], g_elbo[n]) < 1e-12, n


def test_conditioning_is_the_cvae_formula(rng):
    model = CVAE(6, 3, n_classes=4, hidden=(5,), dtype=np.float64, rng=np.random.default_rng(1))
    x, y, eps = rng.uniform(size=(4, 6)), np.array([0, 3, 1, 3]), rng.standard_normal((4, 3))
    e = np.eye(4)[y]
    h = model.encoder.forward(np.concatenate([x, e], axis=1))
    mu, lv = h[:, :3], h[:, 3:]
    logits = model.decoder.forward(np.concatenate([mu + np.exp(0.5 * lv) * eps, e], axis=1))
    direct = np.mean(-bernoulli_log_prob(x, logits) + kl_std_normal(mu, lv))
    assert abs(model.loss(x, y, eps) - direct) < 1e-12 * abs(direct)


def test_make_objective_names_the_bad_argument():
    model = _vae()
    with pytest.raises(ValueError, match="objective"):
        make_objective(model, "elbow")
    with pytest.raises(ValueError, match="free_bits"):
        make_objective(model, "free-bits")
    with pytest.raises(ValueError, match="free_bits"):
        make_objective(model, "iwae", 5, free_bits=0.1)
    with pytest.raises(ValueError, match="k"):
        make_objective(model, "iwae", 0)
    with pytest.raises(ValueError, match="learned variance"):
        make_objective(_vae("gaussian-learned"), "iwae", 2)
    with pytest.raises(ValueError, match="eps"):
        IWAE(model, 2).loss(np.full((3, 6), 0.5), np.zeros((3, 3)))


class _Recorder:
    """An objective that records its batches and draws ``draws`` normals per call."""

    def __init__(self, draws):
        self.draws, self.seen = draws, []
        self.params = {"w": np.zeros(2)}
        self.grads = {"w": np.zeros(2)}

    def loss_and_grads(self, x, rng):
        self.seen.append(x.copy())
        rng.standard_normal(self.draws)
        self.grads["w"][...] = self.params["w"] - 1.0
        return float(np.sum((self.params["w"] - 1.0) ** 2) / 2), self.grads


def test_fit_with_an_order_generator_gives_every_objective_the_same_batches():
    from elbo_edu.train import fit

    x = np.arange(40.0).reshape(20, 2)
    runs = []
    for draws in (1, 7):
        r = _Recorder(draws)
        fit(r, x, epochs=3, batch_size=6, rng=np.random.default_rng(0),
            order_rng=np.random.default_rng(1))
        runs.append(r.seen)
    assert all(np.array_equal(a, b) for a, b in zip(*runs)) and len(runs[0]) == 12
    shared = []
    for draws in (1, 7):        # one generator for both: the orders part after the first epoch
        r = _Recorder(draws)
        fit(r, x, epochs=2, batch_size=6, rng=np.random.default_rng(0))
        shared.append(r.seen)
    assert not all(np.array_equal(a, b) for a, b in zip(*shared))


def test_fit_minimises_and_returns_epoch_means():
    from elbo_edu.train import fit

    r = _Recorder(0)
    hist = fit(r, np.zeros((10, 2)), epochs=40, batch_size=5, lr=0.05,
               rng=np.random.default_rng(0))
    assert len(hist) == 40 and hist[-1] < 1e-3 * hist[0]
    with pytest.raises(ValueError, match="data"):
        fit(r, (np.zeros((10, 2)), np.zeros(9)), epochs=1, rng=np.random.default_rng(0))
