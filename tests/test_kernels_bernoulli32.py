"""The float32 Bernoulli kernel's own exp and log1p, checked against float64 over their whole range.

The numba backend evaluates ``exp(-|l|)`` and ``log1p(e)`` of the float32 Bernoulli kernel as
polynomials (so that the loop vectorises); the NumPy twin uses NumPy's functions. Here each helper
is compared with float64 NumPy on dense grids, in units in the last place (ulp) of float32, and the
whole kernel with an exact float64 evaluation of the log-likelihood and its gradient.
"""
from __future__ import annotations

import numpy as np
import pytest

nb = pytest.importorskip("elbo_edu.kernels._numba_impl")

f32 = np.float32


@pytest.fixture(scope="module")
def vec():
    """The scalar helpers applied elementwise by a compiled loop (or by Python without a JIT)."""
    from numba import njit

    @njit
    def exp_neg(a):
        out = np.empty_like(a)
        for i in range(a.size):
            out[i] = nb._exp_neg_f32(a[i])
        return out

    @njit
    def log1p_unit(e):
        out = np.empty_like(e)
        for i in range(e.size):
            out[i] = nb._log1p_unit_f32(e[i])
        return out

    return exp_neg, log1p_unit


def ulps(approx, exact):
    """|approx - exact| in float32 ulps of the exact value (float64 arithmetic)."""
    spacing = np.spacing(np.abs(exact).astype(f32)).astype(np.float64)
    return np.abs(approx.astype(np.float64) - exact) / spacing


def test_exp_neg_within_1_2_ulp_over_the_normal_range(vec):
    exp_neg, _ = vec
    a = np.concatenate([np.linspace(0, 87.3, 2_000_001, dtype=f32),
                        np.float32(2.0) ** -np.arange(1, 40, dtype=f32)])   # tiny arguments
    exact = np.exp(-a.astype(np.float64))
    assert ulps(exp_neg(a), exact).max() <= 1.2


def test_exp_neg_in_the_subnormal_range_and_at_the_edges(vec):
    exp_neg, _ = vec
    a = np.linspace(87.4, 110.0, 100_001, dtype=f32)
    got = exp_neg(a).astype(np.float64)
    exact = np.exp(-a.astype(np.float64))
    # below 2**-126 float32 only has absolute steps of 2**-149: at most one step off
    assert np.abs(got - exact).max() <= 2.0 ** -149
    edge = exp_neg(np.array([0.0, np.inf, np.nan], dtype=f32))
    assert edge[0] == 1.0 and 0.0 <= edge[1] <= 2.0 ** -148 and np.isnan(edge[2])


def test_log1p_unit_within_2_ulp_including_tiny_arguments(vec):
    _, log1p_unit = vec
    e = np.concatenate([np.linspace(0, 1, 1_000_001, dtype=f32),
                        np.float32(2.0) ** -np.arange(1, 149, dtype=f32)])
    got = log1p_unit(e)
    exact = np.log1p(e.astype(np.float64))
    nz = exact > 0
    assert got[~nz].tolist() == [0.0] * int((~nz).sum())
    assert ulps(got[nz], exact[nz]).max() <= 2.0


def _exact(x, logits, scale):
    x, l = x.astype(np.float64), logits.astype(np.float64)
    logp = (x * l - (np.maximum(l, 0) + np.log1p(np.exp(-np.abs(l))))).sum(axis=1)
    with np.errstate(over="ignore"):  # exp(-l) = inf for l << 0, and 1 / (1 + inf) = 0, exactly
        sigmoid = 1 / (1 + np.exp(-l))
    return logp, scale * (x - sigmoid)


@pytest.mark.parametrize("alias", [False, True], ids=["separate-out", "out-is-logits"])
def test_kernel_matches_float64_from_tiny_to_huge_logits(alias):
    rng = np.random.default_rng(3)
    n, d = 16, 300
    logits = (rng.standard_normal((n, d)) * rng.choice([1e-6, 1, 8, 40, 200], (n, d))).astype(f32)
    logits[0, :6] = [0.0, -0.0, 1e-30, -1e-30, 1e4, -1e4]
    x = (rng.random((n, d)) < 0.3).astype(f32)
    x[1] = rng.random(d).astype(f32)                           # grey levels are allowed
    scale = -1.0 / n
    logp_ref, grad_ref = _exact(x, logits, scale)
    out = logits.copy() if alias else np.empty_like(logits)
    logp, grad = nb.bernoulli_loglik_grad(x, out if alias else logits, scale, out)
    assert logp.dtype == grad.dtype == np.float32
    # one float32 rounding of each row sum (the terms are summed in float64)
    np.testing.assert_allclose(logp, logp_ref, rtol=2e-7, atol=1e-30)
    # each gradient within a float32 rounding of the largest: x - sigmoid cancels when x ~ sigmoid
    np.testing.assert_allclose(grad, grad_ref, rtol=0, atol=2 * np.finfo(f32).eps / n)


def test_kernel_propagates_nan_and_infinity():
    x = np.array([[0.0, 1.0, 1.0, 0.0]], dtype=f32)
    logp, grad = nb.bernoulli_loglik_grad(x, np.array([[0.5, np.nan, 1.0, 2.0]], dtype=f32), -1.0,
                                          np.empty_like(x))
    assert np.isnan(logp[0]) and np.isnan(grad[0, 1]) and np.isfinite(grad[0, [0, 2, 3]]).all()
    logp, grad = nb.bernoulli_loglik_grad(x, np.array([[-np.inf, np.inf, 1.0, 2.0]], dtype=f32),
                                          -1.0, np.empty_like(x))
    # sigmoid(-inf) = 0 and sigmoid(+inf) = 1 up to exp(-103) < 2**-148, the last float32 step
    assert np.abs(grad[0, :2]).max() <= 2.0 ** -149
