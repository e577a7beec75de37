"""No subnormal number survives the hot loops (issue 15): Adam's moments and the likelihood
gradients are flushed to zero below the smallest normal number, in both backends, and every value
that is normal is bit-for-bit what the unflushed update gives."""
from __future__ import annotations

import numpy as np

from elbo_edu import kernels as K
from elbo_edu.optim import Adam


def subnormal(a):
    a = np.asarray(a)
    return (a != 0) & (np.abs(a) < np.finfo(a.dtype).tiny)


def unflushed_adam(p, g, m, v, step, b1, b2, eps_hat):
    """The update written out without any flush (the same operations in the same order)."""
    t = p.dtype.type
    m = m * t(b1) + t(1 - b1) * g
    v = v * t(b2) + t(1 - b2) * (g * g)
    return p - m * (t(step) / (np.sqrt(v) + t(eps_hat))), m, v


def test_adam_with_zero_gradients_never_keeps_a_subnormal_moment(backend, dtype):
    tiny = np.finfo(dtype).tiny
    params = {"w": np.linspace(-1, 1, 12).astype(dtype).reshape(3, 4)}
    grads = {"w": np.zeros((3, 4), dtype)}
    opt = Adam(params, grads, lr=1e-3)
    opt.m["w"][...] = 40 * tiny          # decays geometrically with a zero gradient: without
    opt.v["w"][...] = 3e3 * tiny         # the flush both would be subnormal within ~40 / ~8000 steps
    m_ref, v_ref = opt.m["w"].astype(np.float64), opt.v["w"].astype(np.float64)
    went_subnormal = False
    for _ in range(9000):
        opt.step()
        m_ref, v_ref = 0.9 * m_ref, 0.999 * v_ref
        went_subnormal |= bool(np.any((m_ref < tiny) & (m_ref > 0)))
        for a in (opt.m["w"], opt.v["w"], params["w"]):
            assert not subnormal(a).any()
    assert went_subnormal                # the test did reach the range the flush is for
    assert np.all(opt.m["w"] == 0) and np.all(opt.v["w"] == 0)


def test_adam_flush_changes_no_normal_value(rng, backend, dtype):
    tiny = np.finfo(dtype).tiny
    shape = (50, 40)
    scale = rng.choice([1.0, 1e-3, 2 * tiny, 1.2 * tiny, 1.05 * tiny], size=shape)
    m = (rng.standard_normal(shape) * scale).astype(dtype)
    v = (rng.uniform(0.5, 2, shape) * scale).astype(dtype)
    g = (rng.standard_normal(shape) * rng.choice([0.0, 1.0, tiny], size=shape)).astype(dtype)
    p = rng.standard_normal(shape).astype(dtype)
    args = (0.01, 0.9, 0.999, 1e-8)
    p_ref, m_ref, v_ref = unflushed_adam(p, g, m, v, *args)
    assert subnormal(m_ref).any() and subnormal(v_ref).any()     # the case is exercised
    K.adam_update([(p, g, m, v)], *args)
    for got, ref in ((m, m_ref), (v, v_ref)):
        normal = ~subnormal(ref)
        np.testing.assert_array_equal(got[normal], ref[normal])
        assert np.all(got[~normal] == 0)
    keep = ~subnormal(m_ref) & ~subnormal(v_ref)       # p moves by m / sqrt(v): compare where
    np.testing.assert_array_equal(p[keep], p_ref[keep])  # neither moment was flushed


def test_adam_update_of_a_moment_near_tiny_is_exact(backend, dtype):
    """A normal moment just above ``tiny`` gives a normal update, computed to a few ulp.

    Written ``step * m / (sqrt(v) + eps_hat)``, the product ``step * m`` of a moment between
    ``tiny`` and ``tiny / step`` is subnormal (slow on x86, and it keeps only a few significant
    bits). The package computes ``m * (step / (sqrt(v) + eps_hat))``. With ``p = 0`` the new weight
    is minus the update exactly, so its relative error against float64 (whose exponent range holds
    every intermediate as a normal number) measures whether precision was lost on the way."""
    tiny, ulp = np.finfo(dtype).tiny, np.finfo(dtype).eps
    m0 = tiny * np.array([1.5, 3.0, 10.0, 100.0], dtype=np.float64)   # after the 0.9 decay: normal
    step, b1, b2, eps_hat = 1e-3, 0.9, 0.999, 1e-12
    v0 = np.full(4, 1e-8)                                             # sqrt(v) ~ 1e-4: ratio ~ 10
    p, g = np.zeros(4, dtype), np.zeros(4, dtype)
    m, v = m0.astype(dtype), v0.astype(dtype)
    t = np.float64
    m_new = m.astype(t) * t(dtype(b1))                                 # the exact decayed moments
    v_new = v.astype(t) * t(dtype(b2))
    exact = -m_new * (step / (np.sqrt(v_new) + eps_hat))
    assert np.all(np.abs(step * m_new) < tiny)         # the textbook order would go subnormal here
    K.adam_update([(p, g, m, v)], step, b1, b2, eps_hat)
    assert not subnormal(p).any() and np.all(p != 0)
    np.testing.assert_allclose(p.astype(t), exact, rtol=8 * ulp, atol=0)
    textbook = (-(dtype(step) * m) / (np.sqrt(v) + dtype(eps_hat))).astype(t)   # for contrast
    assert np.max(np.abs(textbook / exact - 1)) > 100 * ulp


def test_adam_flushes_an_update_below_tiny(backend, dtype):
    """An update that would itself be subnormal (tiny moment, large v) leaves the weight alone."""
    tiny = np.finfo(dtype).tiny
    p, g = np.array([0.0, 0.5], dtype), np.zeros(2, dtype)
    m, v = np.full(2, 2 * tiny, dtype), np.full(2, 1.0, dtype)   # update ~ 1.8 tiny * 1e-3
    K.adam_update([(p, g, m, v)], 1e-3, 0.9, 0.999, 1e-8)
    assert np.array_equal(p, np.array([0.0, 0.5], dtype))          # -0.0 == 0.0 as well
    assert not subnormal(p).any() and np.all(m > 0)


def test_likelihood_gradients_are_flushed(backend, dtype):
    big = 100.0 if dtype == np.float32 else 740.0       # sigmoid(-big) is subnormal
    x = np.array([[0.0, 1.0, 0.0, 0.5]], dtype)
    logits = np.array([[-big, big, -3.0, 0.0]], dtype)
    _, d = K.bernoulli_loglik_grad(x, logits)
    _, dc = K.continuous_bernoulli_loglik_grad(x, logits)
    for grad in (d, dc):
        assert not subnormal(grad).any()
    assert d[0, 0] == 0 and d[0, 2] != 0
