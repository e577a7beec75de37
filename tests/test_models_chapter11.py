"""Chapter 11 (D11.2–D11.4): learned decoder variance, two-stage VAE, collapse diagnostics."""
from __future__ import annotations

import numpy as np
import pytest

from elbo_edu.distributions import kl_std_normal, reparameterize
from elbo_edu.train import fit
from elbo_edu.models.diagnostics import active_units, kl_per_dimension
from elbo_edu.data.manifold import manifold_data
from elbo_edu.models.two_stage import TwoStageVAE, median_bandwidth, mmd2
from elbo_edu.vae import VAE


def _vae(rng, **kw):
    return VAE(12, 4, hidden=(16,), dtype=np.float64, rng=rng, **kw)


def test_active_units_detects_an_unused_dimension(rng):
    model = _vae(rng)
    last_w = sorted(k for k in model.params if k.startswith("encoder.") and k.endswith(".W"))[-1]
    last_b = last_w[:-1] + "b"
    model.params[last_w][:, 1] = 0.0          # mu_1 ignores x ...
    model.params[last_b][1] = 0.0
    x = rng.random((300, 12))
    au = active_units(model, x)
    assert not au.mask[1] and au.variances[1] == 0.0
    mu, _ = model.encode(x)
    np.testing.assert_allclose(au.variances, np.var(mu, axis=0), rtol=1e-12)
    assert au.count == int(np.sum(np.var(mu, axis=0) > 0.01))
    # a dimension whose mean is constant at 0 and variance at 1 is the prior: zero KL
    model.params[last_w][:, 1 + 4] = 0.0
    model.params[last_b][1 + 4] = 0.0
    assert kl_per_dimension(model, x)[1] == 0.0


def test_kl_per_dimension_matches_a_monte_carlo_estimate(rng):
    """Closed form per dimension against E_q[log q(z_j|x) - log N(z_j; 0, 1)] from samples."""
    model = _vae(rng)
    x = rng.random((50, 12))
    mu, lv = model.encode(x)
    per_dim = kl_per_dimension(model, x, batch_size=7)
    z = mu + np.exp(0.5 * lv) * rng.standard_normal((4000,) + mu.shape)
    log_ratio = (-0.5 * (z - mu) ** 2 / np.exp(lv) - 0.5 * lv) - (-0.5 * z ** 2)   # (S, 50, 4)
    mc = log_ratio.mean(axis=(0, 1))
    se = log_ratio.mean(axis=1).std(axis=0, ddof=1) / np.sqrt(len(log_ratio))
    assert per_dim.shape == (4,)
    assert np.all(np.abs(per_dim - mc) < 5 * se)
    # and the sum over dimensions is the model's KL term
    assert per_dim.sum() == pytest.approx(float(np.mean(kl_std_normal(mu, lv))), rel=1e-12)


def test_manifold_data_lies_on_a_fixed_2d_surface(rng):
    a = manifold_data(500, np.random.default_rng(1))
    b = manifold_data(500, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    # the Jacobian of the map has rank 2: local tangent spaces are 2-D (SVD of a tiny neighbourhood)
    x = manifold_data(20000, rng)
    near = x[np.argsort(np.sum((x - x[0]) ** 2, 1))[:30]] - x[0]
    s = np.linalg.svd(near, compute_uv=False)
    assert s[2] < 0.05 * s[1]
    noisy = manifold_data(20000, np.random.default_rng(1), noise=0.1) - \
        manifold_data(20000, np.random.default_rng(1))
    assert noisy.std() != 0
    with pytest.raises(ValueError, match="noise"):
        manifold_data(5, rng, noise=-1.0)
    with pytest.raises(ValueError, match="latent"):
        manifold_data(5, rng, latent="ring")
    # the clustered coordinates: four groups, so pairwise distances are bimodal
    c = manifold_data(400, np.random.default_rng(2), latent="clusters")
    assert c.shape == (400, 10) and np.isfinite(c).all()


def _gamma_trace(noise, epochs=20, seed=0):
    x = manifold_data(2000, np.random.default_rng(seed), noise=noise)
    model = VAE(10, 2, hidden=(64, 64), likelihood="gaussian-learned", activation="tanh",
                dtype=np.float64, rng=np.random.default_rng(seed))
    return np.array(fit(model, x, epochs=epochs, batch_size=50, lr=1e-2,
                        rng=np.random.default_rng(seed + 1),
                        on_epoch=lambda m: float(np.exp(m.params["log_gamma"]))))


def test_gamma_shrinks_without_noise_and_settles_near_the_noise_variance():
    clean, noisy = _gamma_trace(0.0), _gamma_trace(0.1)
    assert clean[-1] < clean[0] / 50
    # with noise sigma = 0.1 the optimum is at least the noise variance (plus leftover error)
    assert 0.01 * 0.8 < noisy[-1] < 0.01 * 3
    assert clean[-1] < noisy[-1] / 3


def test_mmd_is_unbiased_zero_for_equal_distributions(rng):
    # 200 independent estimates for equal distributions: mean within 4 standard errors of 0
    vals = np.array([mmd2(rng.standard_normal((60, 3)), rng.standard_normal((60, 3)), 1.0)
                     for _ in range(200)])
    assert abs(vals.mean()) < 4 * vals.std(ddof=1) / np.sqrt(len(vals))
    shifted = mmd2(rng.standard_normal((200, 3)), rng.standard_normal((200, 3)) + 1.0)
    assert shifted > 10 * vals.std()
    x, y = rng.standard_normal((5, 2)), rng.standard_normal((7, 2))
    kxx = np.exp(-0.5 * ((x[:, None] - x[None]) ** 2).sum(-1))
    kyy = np.exp(-0.5 * ((y[:, None] - y[None]) ** 2).sum(-1))
    kxy = np.exp(-0.5 * ((x[:, None] - y[None]) ** 2).sum(-1))
    ref = (kxx.sum() - 5) / 20 + (kyy.sum() - 7) / 42 - 2 * kxy.mean()
    assert mmd2(x, y, 1.0) == pytest.approx(ref, rel=1e-12)
    assert median_bandwidth(x, y) > 0


def _two_stage_scores(seed):
    """Chapter 11's D11.3 experiment: MMD^2 of prior draws and of second-stage codes to q(z)."""
    rng = np.random.default_rng(seed)
    x_train = manifold_data(3000, rng, noise=0.02, latent="clusters")
    x_test = manifold_data(1000, rng, noise=0.02, latent="clusters")
    first = VAE(10, 4, hidden=(64, 64), likelihood="gaussian-learned", activation="tanh",
                dtype=np.float64, rng=np.random.default_rng(seed))
    fit(first, x_train, epochs=40, batch_size=50, lr=1e-2, rng=np.random.default_rng(seed + 1))
    model = TwoStageVAE.fit(first, x_train, epochs=40, seed=seed)
    mu, lv = first.encode(x_test)
    draw = np.random.default_rng(seed + 2)
    z_test = reparameterize(mu, lv, draw.standard_normal(mu.shape))
    h = median_bandwidth(z_test, z_test)
    prior, two = [], []
    for _ in range(10):
        ref = z_test[draw.choice(len(z_test), 500, replace=False)]
        prior.append(mmd2(draw.standard_normal((500, 4)), ref, h))
        two.append(mmd2(model.sample_codes(500, draw), ref, h))
    return np.array(prior), np.array(two), model, kl_per_dimension(first, x_test)


def test_two_stage_brings_the_codes_closer_to_the_aggregate_posterior():
    # A training run is a chaotic map: a change in the last bit of one operation (another CPU's
    # BLAS kernels, an FMA) gives a different run, as a different seed does. So the claims are
    # checked on three seeds with thresholds that held in every one of 16 runs (seeds 0-7 on both
    # backends, this round; chapter 11, D11.3): the second stage's MMD^2 was below the prior's by
    # a factor of about 2-140 (or negative: an unbiased estimate of ~0), the paired improvement
    # was 1.3-144 standard errors (one run of 16 under 4), the two largest KL terms carried
    # 71-99.7 % of the KL and gamma ended at 0.005-0.012.
    significant = 0
    for seed in (0, 1, 2):
        prior, two, model, kl_dims = _two_stage_scores(seed=seed)
        diff = prior - two
        significant += diff.mean() > 4 * diff.std(ddof=1) / np.sqrt(len(diff))
        assert two.mean() < prior.mean()            # closer to q(z) than the prior's draws
        # a 2-D manifold: two of the four latent dimensions carry most of the KL
        assert np.sort(kl_dims)[-2:].sum() > 0.5 * kl_dims.sum()
        assert np.exp(model.first.params["log_gamma"]) < 0.05   # gamma fell far below its start
        assert model.sample(5, np.random.default_rng(0)).shape == (5, 10)
    assert significant >= 2


def test_two_stage_is_trained_on_draws_not_means(rng, monkeypatch):
    """In a dimension the encoder ignores (mu = 0, logvar = 0) the training codes are N(0, 1)."""
    import elbo_edu.models.two_stage as two_stage

    first = _vae(rng)
    last_w = sorted(k for k in first.params if k.startswith("encoder.") and k.endswith(".W"))[-1]
    last_b = last_w[:-1] + "b"
    for j in (1, 1 + 4):                        # mean and log-variance outputs of dimension 1
        first.params[last_w][:, j] = 0.0
        first.params[last_b][j] = 0.0
    seen = {}
    monkeypatch.setattr(two_stage, "fit", lambda model, codes, **kw: seen.setdefault("codes", codes))
    TwoStageVAE.fit(first, rng.random((400, 12)), epochs=1, draws_per_point=3)
    codes = seen["codes"]
    assert codes.shape == (1200, 4)
    assert abs(codes[:, 1].std() - 1.0) < 0.1 and abs(codes[:, 1].mean()) < 0.15


def test_two_stage_bad_input(rng):
    with pytest.raises(ValueError, match="second"):
        TwoStageVAE(_vae(rng), VAE(3, 2, hidden=(4,), rng=rng))
    with pytest.raises(ValueError, match="bandwidth"):
        mmd2(np.zeros((3, 2)), np.ones((3, 2)), bandwidth=-1.0)
