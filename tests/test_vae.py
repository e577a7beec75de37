"""The VAE model: end-to-end gradient checks, identities between its pieces, dtype and input checks.

Chapters 08–09 (D8.1, D9.1–D9.3) and chapter 07 (D7.1–D7.5).
"""
import json

import numpy as np
import pytest

from elbo_edu import distributions as D
from elbo_edu.distributions import reparameterize, reparameterize_grad
from elbo_edu.gradcheck import check_function, check_vae
from elbo_edu.vae import VAE, ELBOParts

F64 = np.float64
CASES = [("bernoulli", "scalar", 1.0), ("bernoulli", "scalar", 0.3),
         ("continuous-bernoulli", "scalar", 1.0), ("gaussian", "scalar", 1.0),
         ("gaussian", "scalar", 4.0), ("gaussian-learned", "scalar", 1.0),
         ("gaussian-learned", "pixel", 0.5)]


def small(lik="bernoulli", learned_var="scalar", beta=1.0, seed=0, activation="tanh", **kw):
    rng = np.random.default_rng(seed)
    model = VAE(6, 3, (7, 5), lik, beta=beta, obs_var=0.5, learned_var=learned_var,
                activation=activation, dtype=F64, rng=rng, **kw)
    x = rng.uniform(size=(5, 6))
    eps = rng.standard_normal((5, 3))
    return model, x, eps


# ------------------------------------------------------------------------ gradients (D9.3)
@pytest.mark.parametrize("lik,learned_var,beta", CASES)
def test_end_to_end_gradcheck(backend, lik, learned_var, beta):
    model, x, eps = small(lik, learned_var, beta)
    report = check_vae(model, x, eps)
    assert len(report.rows) == len(model.params) and report.max_error < 1e-7, str(report)


def test_gradcheck_with_relu_away_from_kinks(backend):
    model, x, eps = small("bernoulli", activation="relu", seed=3)
    # precondition: every ReLU input is far from 0 compared with the step h = 1e-5, so the
    # finite difference never straddles a kink (otherwise the comparison means nothing)
    p = model.params
    h = x @ p["encoder.0.W"] + p["encoder.0.b"]                  # the ReLU inputs, by hand
    margins = [np.abs(h).min()]
    h = np.maximum(h, 0) @ p["encoder.2.W"] + p["encoder.2.b"]
    margins.append(np.abs(h).min())
    mu, logvar = model.encode(x)
    h = reparameterize(mu, logvar, eps) @ p["decoder.0.W"] + p["decoder.0.b"]
    margins.append(np.abs(h).min())
    h = np.maximum(h, 0) @ p["decoder.2.W"] + p["decoder.2.b"]
    margins.append(np.abs(h).min())
    assert min(margins) > 1e-3
    assert check_vae(model, x, eps).max_error < 1e-7


def test_reparameterize_gradcheck():
    rng = np.random.default_rng(1)
    mu, logvar, eps = (rng.standard_normal((4, 3)) for _ in range(3))
    rep = check_function("reparameterize", reparameterize, reparameterize_grad,
                         dict(mu=mu, logvar=logvar, eps=eps), rng=rng)
    assert rep.passed, str(rep)


def test_grads_are_zeroed_not_accumulated():
    model, x, eps = small()
    _, g1 = model.loss_and_grads(x, eps)
    g1 = {k: v.copy() for k, v in g1.items()}
    _, g2 = model.loss_and_grads(x, eps)
    assert all(np.array_equal(g1[k], g2[k]) for k in g1)
    assert set(g2) == set(model.params)


def test_beta_override_matches_model_beta():
    m1, x, eps = small(beta=0.3)
    m2, _, _ = small(beta=1.0)
    l1, g1 = m1.loss_and_grads(x, eps)
    g1 = {k: v.copy() for k, v in g1.items()}
    l2, g2 = m2.loss_and_grads(x, eps, beta=0.3)
    assert l1 == l2 and all(np.array_equal(g1[k], g2[k]) for k in g1)
    assert m2.beta == 1.0


# ------------------------------------------------------------- identities between the pieces
@pytest.mark.parametrize("lik,learned_var,beta", CASES)
def test_loss_is_recon_plus_beta_kl_from_the_pieces(lik, learned_var, beta):
    model, x, eps = small(lik, learned_var, beta)
    loss = model.loss(x, eps)
    mu, logvar = model.encode(x)
    z = mu + np.exp(0.5 * logvar) * eps
    recon = -np.mean(model.log_likelihood(x, model.decode(z)))
    kl = np.mean(D.kl_std_normal(mu, logvar))
    assert model.last == ELBOParts(loss, model.last.recon, model.last.kl)
    assert np.isclose(model.last.recon, recon, rtol=1e-13, atol=0)
    assert np.isclose(model.last.kl, kl, rtol=1e-13, atol=0)
    assert np.isclose(loss, recon + beta * kl, rtol=1e-13, atol=0)


def test_bernoulli_recon_is_binary_cross_entropy():
    model, x, eps = small("bernoulli")
    out = model.decode(model.reparameterize(*model.encode(x), eps))
    p = 1 / (1 + np.exp(-out))
    bce = -np.sum(x * np.log(p) + (1 - x) * np.log(1 - p), axis=1)
    np.testing.assert_allclose(-model.log_likelihood(x, out), bce, rtol=1e-12)


@pytest.mark.parametrize("c", [0.5, 2.0])
def test_fixed_gaussian_recon_is_weighted_squared_error(c):
    """D6.6 / D7.5: with variance c the loss is C ||x - xhat||^2 + KL + (D/2) log(2 pi c),
    C = 1/(2c); multiplied by 2c it is the squared error plus a KL weighted by beta = 2c."""
    rng = np.random.default_rng(0)
    model = VAE(6, 3, (7, 5), "gaussian", obs_var=c, activation="tanh", dtype=F64, rng=rng)
    x, eps = rng.uniform(size=(5, 6)), rng.standard_normal((5, 3))
    mu, logvar = model.encode(x)
    out = model.decode(model.reparameterize(mu, logvar, eps))
    se = np.sum((x - out) ** 2, axis=1)
    kl = D.kl_std_normal(mu, logvar)
    const = 0.5 * x.shape[1] * np.log(2 * np.pi * c)
    direct = se / (2 * c) + const
    np.testing.assert_allclose(-model.log_likelihood(x, out), direct, rtol=1e-12)
    loss = model.loss(x, eps)
    assert loss == pytest.approx(np.mean(se / (2 * c) + kl) + const, rel=1e-12)
    assert 2 * c * (loss - const) == pytest.approx(np.mean(se + 2 * c * kl), rel=1e-12)


def test_learned_scalar_variance_optimum_is_the_mean_squared_error():
    """D11.2: for fixed decoder output, d/dlog(gamma) of the loss vanishes at gamma = MSE."""
    model, x, eps = small("gaussian-learned", beta=1.0)
    out = model.decode(model.reparameterize(*model.encode(x), eps))
    model.params["log_gamma"][...] = np.log(np.mean((x - out) ** 2))
    _, grads = model.loss_and_grads(x, eps)
    loss_scale = abs(model.last.recon)
    assert abs(grads["log_gamma"]) < 1e-12 * max(loss_scale, 1.0)


def test_log_joint_is_log_likelihood_plus_prior_and_batches_over_k():
    """D7.4, for one latent per row and for K latents per row (batched)."""
    model, x, _ = small("gaussian-learned", "pixel")
    rng = np.random.default_rng(5)
    z = rng.standard_normal((4, 5, 3))
    lj = model.log_joint(x, z)
    assert lj.shape == (4, 5)
    for k in range(4):
        one = model.log_likelihood(x, model.decode(z[k])) + model.log_prior(z[k])
        np.testing.assert_allclose(lj[k], one, rtol=1e-13)
        np.testing.assert_allclose(model.log_joint(x, z[k]), one, rtol=1e-13)


def test_log_q_is_the_encoder_gaussian():
    model, x, eps = small()
    mu, logvar = model.encode(x)
    z = model.reparameterize(mu, logvar, eps)
    direct = -0.5 * np.sum(np.log(2 * np.pi) + logvar + eps ** 2, axis=1)
    np.testing.assert_allclose(model.log_q(z, mu, logvar), direct, rtol=1e-12)


def test_two_forms_of_the_elbo_agree_in_expectation():
    """D6.1 vs D6.3: E_q[log p(x,z) - log q(z|x)] = E_q[log p(x|z)] - KL(q || p(z)).

    Both sides are estimated with the same 20000 draws; their difference is a mean of
    log p(z) - log q(z|x) + KL, which has expectation 0. Tolerance: 4 standard errors of that
    difference (estimated from the draws), so a correct model fails with probability < 1e-4.
    """
    model, x, _ = small("bernoulli", seed=2)
    mu, logvar = model.encode(x)
    rng = np.random.default_rng(7)
    k = 20000
    z = mu + np.exp(0.5 * logvar) * rng.standard_normal((k,) + mu.shape)
    lhs = model.log_joint(x, z) - model.log_q(z, mu, logvar)              # (K, N)
    rhs = model.log_likelihood(x, model.decode(z)) - D.kl_std_normal(mu, logvar)
    diff = lhs - rhs
    se = diff.std(axis=0, ddof=1) / np.sqrt(k)
    assert np.all(np.abs(diff.mean(axis=0)) < 4 * se)


def test_adam_steps_lower_the_loss():
    from elbo_edu.optim import Adam

    model, x, eps = small("bernoulli", seed=4)
    opt = Adam(model.params, model.grads, lr=1e-2)
    first = model.loss(x, eps)
    for _ in range(50):
        model.loss_and_grads(x, eps)
        opt.step()
    assert model.loss(x, eps) < first


# ------------------------------------------------------------------------- shapes and dtypes
def test_parameter_names_and_shapes():
    m = VAE(784, 20, hidden=(400,), rng=np.random.default_rng(0))
    assert {k: v.shape for k, v in m.params.items()} == {
        "encoder.0.W": (784, 400), "encoder.0.b": (400,), "encoder.2.W": (400, 40),
        "encoder.2.b": (40,), "decoder.0.W": (20, 400), "decoder.0.b": (400,),
        "decoder.2.W": (400, 784), "decoder.2.b": (784,)}
    assert VAE(5, 2, 3, "gaussian-learned", rng=np.random.default_rng(0)).params["log_gamma"] \
        .shape == ()
    assert VAE(5, 2, 3, "gaussian-learned", learned_var="pixel",
               rng=np.random.default_rng(0)).params["log_gamma"].shape == (5,)


@pytest.mark.parametrize("lik", ["bernoulli", "gaussian", "gaussian-learned"])
def test_float32_path_stays_float32(lik):
    rng = np.random.default_rng(0)
    m = VAE(12, 4, (8,), lik, rng=rng)
    x = rng.uniform(size=(6, 12))  # float64 input is cast down, not the model up
    loss, grads = m.loss_and_grads(x)
    assert isinstance(loss, float) and np.isfinite(loss)
    assert all(g.dtype == np.float32 for g in grads.values())
    assert all(p.dtype == np.float32 for p in m.params.values())
    mu, logvar = m.encode(x)
    assert mu.dtype == logvar.dtype == np.float32
    assert m.decode(mu).dtype == np.float32
    assert m.sample(3, rng).dtype == np.float32 and m.reconstruct(x).dtype == np.float32
    assert m.log_joint(x, rng.standard_normal((2, 6, 4))).dtype == np.float32


def test_sample_decodes_prior_draws():
    """D10.1: a sample is the decoder's mean at z ~ N(0, I); the encoder plays no part."""
    rng = np.random.default_rng(0)
    m = VAE(10, 2, (6,), rng=rng)
    s = m.sample(5, np.random.default_rng(4))
    z = np.random.default_rng(4).standard_normal((5, 2), dtype=np.float32)
    np.testing.assert_allclose(s, 1 / (1 + np.exp(-m.decode(z))), rtol=1e-6)  # float32
    m.encoder.layers[0].params["W"][...] = np.nan  # the encoder is not used
    np.testing.assert_array_equal(m.sample(5, np.random.default_rng(4)), s)


def test_encode_decode_shapes():
    """D9.1: the encoder gives (mu, logvar), the two halves of its output; the decoder maps
    (..., z_dim) to (..., x_dim)."""
    model, x, eps = small("gaussian-learned")
    mu, logvar = model.encode(x)
    h = model.encoder.forward(x)
    assert mu.shape == logvar.shape == (5, 3)
    np.testing.assert_array_equal(np.concatenate([mu, logvar], axis=1), h)
    assert model.decode(mu).shape == (5, 6)
    assert model.decode(np.zeros((4, 5, 3))).shape == (4, 5, 6)


def test_loss_matches_by_hand_negative_elbo():
    """D9.2: the loss equals the negative ELBO written out with plain NumPy formulas."""
    model, x, eps = small("bernoulli", beta=1.0)
    p = model.params
    h = np.tanh(np.tanh(x @ p["encoder.0.W"] + p["encoder.0.b"]) @ p["encoder.2.W"]
                + p["encoder.2.b"]) @ p["encoder.4.W"] + p["encoder.4.b"]
    mu, logvar = h[:, :3], h[:, 3:]
    z = mu + np.exp(logvar / 2) * eps
    logits = np.tanh(np.tanh(z @ p["decoder.0.W"] + p["decoder.0.b"]) @ p["decoder.2.W"]
                     + p["decoder.2.b"]) @ p["decoder.4.W"] + p["decoder.4.b"]
    prob = 1 / (1 + np.exp(-logits))
    bce = -np.sum(x * np.log(prob) + (1 - x) * np.log(1 - prob), axis=1)
    kl = -0.5 * np.sum(1 + logvar - mu ** 2 - np.exp(logvar), axis=1)
    assert model.loss(x, eps) == pytest.approx(np.mean(bce + kl), rel=1e-12)


def test_sample_and_reconstruct():
    rng = np.random.default_rng(0)
    m = VAE(10, 2, (6,), rng=rng)
    s = m.sample(7, rng)
    assert s.shape == (7, 10) and np.all((s >= 0) & (s <= 1))
    assert m.reconstruct(rng.uniform(size=(3, 10))).shape == (3, 10)
    assert np.array_equal(m.sample(4, np.random.default_rng(9)),
                          m.sample(4, np.random.default_rng(9)))


def test_eps_from_rng_is_reproducible():
    model, x, _ = small()
    a = model.loss(x, rng=np.random.default_rng(3))
    b = model.loss(x, rng=np.random.default_rng(3))
    assert a == b


def test_config_round_trip():
    m = VAE(9, 2, (5, 4), "gaussian-learned", beta=0.5, obs_var=0.1, learned_var="pixel",
            activation="tanh", dtype=F64, rng=np.random.default_rng(0))
    cfg = json.loads(json.dumps(m.config()))
    m2 = VAE.from_config(cfg, rng=np.random.default_rng(1))
    assert m2.config() == m.config()
    m2.load_params({k: v.copy() for k, v in m.params.items()})
    x = np.random.default_rng(2).uniform(size=(3, 9))
    eps = np.random.default_rng(3).standard_normal((3, 2))
    assert m.loss(x, eps) == m2.loss(x, eps)


# ------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs,name", [
    (dict(x_dim=0), "x_dim"), (dict(z_dim=-1), "z_dim"), (dict(hidden=(4, 0)), "hidden"),
    (dict(hidden="big"), "hidden"), (dict(likelihood="poisson"), "likelihood"),
    (dict(beta=-1.0), "beta"), (dict(beta=float("nan")), "beta"), (dict(obs_var=0.0), "obs_var"),
    (dict(learned_var="row"), "learned_var"), (dict(activation="gelu"), "activation"),
    (dict(dtype=np.int32), "dtype"), (dict(rng=0), "rng"),
])
def test_bad_constructor_arguments(kwargs, name):
    args = dict(x_dim=4, z_dim=2, hidden=(3,))
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        VAE(args.pop("x_dim"), args.pop("z_dim"), **args)


def test_bad_inputs_name_the_argument():
    model, x, eps = small()
    with pytest.raises(ValueError, match=r"x: expected shape \(N, 6\)"):
        model.loss(x[:, :5], eps)
    with pytest.raises(ValueError, match="x: expected shape"):
        model.loss(x[0], eps)
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="x: expected finite"):
        model.loss_and_grads(bad, eps)
    with pytest.raises(ValueError, match=r"x: expected values in \[0, 1\]"):
        model.loss(x + 1, eps)
    with pytest.raises(ValueError, match="eps: expected shape"):
        model.loss(x, eps[:, :2])
    with pytest.raises(ValueError, match="eps: expected shape"):
        model.loss(x, eps[:4])
    with pytest.raises(ValueError, match="rng"):
        model.loss(x, rng=42)
    with pytest.raises(ValueError, match="z: expected shape"):
        model.decode(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="z: expected shape"):
        model.log_joint(x, np.zeros((3, 2, 3)))
    with pytest.raises(ValueError, match="n: expected a positive integer"):
        model.sample(0)
    with pytest.raises(ValueError, match="cfg"):
        VAE.from_config({"x_dim": 3, "z_dim": 2, "colour": "red"})
    with pytest.raises(ValueError, match="params"):
        model.load_params({"encoder.0.W": np.zeros((6, 7))})


def test_gaussian_accepts_targets_outside_unit_interval():
    model, x, eps = small("gaussian")
    assert np.isfinite(model.loss(3 * x - 1, eps))


# ------------------------------------------------------------------ bad input (issue 14 item 16)
@pytest.mark.parametrize("method", ["loss", "loss_and_grads"])
def test_an_empty_batch_is_a_value_error_naming_x(method):
    model, _, _ = small()
    with pytest.raises(ValueError, match=r"^x: expected a batch of at least one row"):
        getattr(model, method)(np.empty((0, 6)))


@pytest.mark.parametrize("dtype", [np.float16, np.int32, "complex128"])
def test_a_dtype_other_than_float32_or_float64_is_rejected_at_construction(dtype):
    with pytest.raises(ValueError, match=r"^dtype: expected float32 or float64"):
        VAE(6, 3, (7,), dtype=dtype)


def test_check_input_is_public_and_names_the_argument():
    model, x, _ = small()
    assert model.check_input(x) is x                      # a valid float64 batch: no copy
    got = model.check_input(x.astype(np.float32).T.T[:, :])
    assert got.dtype == F64 and got.flags.c_contiguous
    with pytest.raises(ValueError, match=r"^data\.x_test: expected shape \(N, 6\)"):
        model.check_input(np.zeros((2, 5)), "data.x_test")
    with pytest.raises(ValueError, match=r"^batch: expected values in \[0, 1\]"):
        model.check_input(np.full((2, 6), 2.0), "batch")


def test_continuous_bernoulli_vae_loss_is_its_negative_elbo():
    """The model's loss against the pieces computed by hand from distributions."""
    model, x, eps = small("continuous-bernoulli")
    mu, logvar = model.encode(x)
    out = model.decode(reparameterize(mu, logvar, eps))
    ref = np.mean(-D.continuous_bernoulli_log_prob(x, out) + D.kl_std_normal(mu, logvar))
    assert model.loss(x, eps) == pytest.approx(ref, rel=1e-12)
    means = model.sample(4, rng=np.random.default_rng(0))
    assert np.all((means > 0) & (means < 1))
