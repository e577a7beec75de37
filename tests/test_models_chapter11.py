"""Chapter 11 (D11.2–D11.4): learned decoder variance, two-stage VAE, collapse diagnostics."""
from __future__ import annotations

import numpy as np
import pytest

from elbo_edu.distributions import kl_std_normal
from elbo_edu.models.diagnostics import active_units, compare_kl_warmup, kl_per_dimension
from elbo_edu.models.manifold import gamma_shrinkage_demo, manifold_data
from elbo_edu.models.two_stage import TwoStageVAE, median_bandwidth, mmd2, two_stage_demo
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


def test_kl_per_dimension_sums_to_the_kl_term(rng):
    model = _vae(rng)
    x = rng.random((50, 12))
    mu, lv = model.encode(x)
    per_dim = kl_per_dimension(model, x, batch_size=7)
    assert per_dim.shape == (4,) and np.all(per_dim >= 0)
    assert per_dim.sum() == pytest.approx(float(np.mean(kl_std_normal(mu, lv))), rel=1e-12)


def test_compare_kl_warmup_runs_both_schedules(rng):
    x = (rng.random((256, 12)) < 0.3).astype(np.float32)
    res = compare_kl_warmup(x[:200], x[200:], z_dim=3, hidden=(16,), epochs=2, warmup_epochs=2,
                            batch_size=32)
    assert set(res) == {"none", "warmup"}
    assert res["warmup"].history[0]["beta"] < 1.0 == res["none"].history[0]["beta"]
    for r in res.values():
        assert np.isfinite(r.test_loss) and r.kl_per_dim.shape == (3,)
        assert 0 <= r.active.count <= 3


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


def test_gamma_shrinks_without_noise_and_settles_near_the_noise_variance():
    g = gamma_shrinkage_demo(noise_levels=(0.0, 0.1), epochs=20)
    clean, noisy = g[0.0], g[0.1]
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


def test_two_stage_improves_sample_quality():
    res = two_stage_demo(n_draws=10)
    # paired differences over 10 held-out draws: the improvement exceeds 4 standard errors
    assert res["improvement"] > 4 * res["improvement_se"]
    assert res["mmd_two_stage"].mean() < res["mmd_first"].mean()
    assert res["gamma_first"] < 0.02 * 3          # noise 0.02: gamma shrank far below its start (1)
    assert res["model"].sample(5, np.random.default_rng(0)).shape == (5, 10)


def test_two_stage_bad_input(rng):
    with pytest.raises(ValueError, match="second"):
        TwoStageVAE(_vae(rng), VAE(3, 2, hidden=(4,), rng=rng))
    with pytest.raises(ValueError, match="bandwidth"):
        mmd2(np.zeros((3, 2)), np.ones((3, 2)), bandwidth=-1.0)
