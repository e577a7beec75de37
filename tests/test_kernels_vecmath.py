"""The numba kernels' own exp, expm1 and log1p (``kernels._vecmath``), against exact references.

numba's kernels evaluate these functions as polynomials so that their loops vectorise; the NumPy
twins use NumPy's functions. Each float32 helper is compared with float64 NumPy on dense grids over
its whole float32 range, in units in the last place (ulp) of float32, and the float64 exp with long
double; then the float32 Bernoulli and reparameterization kernels with exact float64 evaluations of
what they compute.
"""
from __future__ import annotations

import numpy as np
import pytest

vm = pytest.importorskip("elbo_edu.kernels._vecmath")
nb = pytest.importorskip("elbo_edu.kernels.numba_backend").NumbaBackend()

f32 = np.float32


@pytest.fixture(scope="module")
def vec():
    """The scalar helpers applied elementwise by a compiled loop."""
    from numba import njit

    def elementwise(fn):
        @njit
        def apply(a):
            out = np.empty_like(a)
            for i in range(a.size):
                out[i] = fn(a[i])
            return out
        return apply

    return {name: elementwise(getattr(vm, name))
            for name in ("exp_f32", "exp_f64", "exp_nonpos_f32", "expm1_f32", "log1p_unit_f32",
                         "exp", "expm1")}


def ulps(approx, exact):
    """|approx - exact| in float32 ulps of the exact value (float64 arithmetic)."""
    spacing = np.spacing(np.abs(exact).astype(f32)).astype(np.float64)
    return np.abs(approx.astype(np.float64) - exact) / spacing


def test_exp_within_1_2_ulp_over_the_normal_range(vec):
    x = np.concatenate([np.linspace(-87.3, 88.7, 4_000_001, dtype=f32),
                        np.float32(2.0) ** -np.arange(1, 40, dtype=f32),
                        -np.float32(2.0) ** -np.arange(1, 40, dtype=f32)])       # near 0
    exact = np.exp(x.astype(np.float64))
    assert ulps(vec["exp_f32"](x), exact).max() <= 1.2


def test_exp_at_the_ends_of_the_range(vec):
    x = np.linspace(-110.0, -87.4, 100_001, dtype=f32)
    got = vec["exp_f32"](x).astype(np.float64)
    # below 2**-126 float32 only has absolute steps of 2**-149: at most one step off
    assert np.abs(got - np.exp(x.astype(np.float64))).max() <= 2.0 ** -149
    edge = vec["exp_f32"](np.array([0.0, -np.inf, np.inf, 88.72, 88.73, np.nan], dtype=f32))
    assert edge[0] == 1.0 and 0.0 <= edge[1] <= 2.0 ** -148 and edge[2] == np.inf
    assert np.isfinite(edge[3]) and edge[4] == np.inf and np.isnan(edge[5])


def test_exp_nonpos_is_exp_down_to_where_it_flushes_to_zero(vec):
    """The same bits as exp_f32 on [-87.68, 0]; exactly 0 below, where exp is under 8.4e-39;
    NaN stays NaN."""
    x = np.concatenate([np.linspace(-87.68, 0.0, 2_000_001, dtype=f32),
                        -np.float32(2.0) ** -np.arange(1, 149, dtype=f32)])
    assert np.array_equal(vec["exp_nonpos_f32"](x), vec["exp_f32"](x))
    low = np.concatenate([np.linspace(-200.0, -87.69, 10_001, dtype=f32), [-np.inf]]).astype(f32)
    assert not vec["exp_nonpos_f32"](low).any() and np.exp(-87.68) < 8.4e-39
    assert np.isnan(vec["exp_nonpos_f32"](np.array([np.nan], dtype=f32))[0])


def test_expm1_within_2_ulp_including_near_zero(vec):
    x = np.concatenate([np.linspace(-30, 88.7, 4_000_001, dtype=f32),
                        np.float32(2.0) ** -np.arange(1, 149, dtype=f32),
                        -np.float32(2.0) ** -np.arange(1, 149, dtype=f32)])
    exact = np.expm1(x.astype(np.float64))
    got = vec["expm1_f32"](x)
    assert ulps(got, exact).max() <= 2.0
    edge = vec["expm1_f32"](np.array([0.0, -np.inf, -200.0, np.inf, np.nan], dtype=f32))
    assert edge[0] == 0.0 and edge[1] == -1.0 and edge[2] == -1.0 and edge[3] == np.inf
    assert np.isnan(edge[4])


def test_log1p_unit_within_1_6_ulp_for_every_float32_in_the_unit_interval():
    """All 1 065 353 217 float32 numbers in [0, 1], one by one, against float64's log1p (a few
    seconds in a compiled loop): the worst error in ulp of the exact value, and 0 at 0."""
    from numba import njit

    log1p = vm.log1p_unit_f32

    @njit
    def worst():
        top = np.int32(np.float32(1.0).view(np.int32))
        w = 0.0
        for i in range(top + 1):
            e = np.int32(i).view(np.float32)
            got, exact = np.float64(log1p(e)), np.log1p(np.float64(e))
            if exact == 0.0:
                w = max(w, np.inf if got != 0.0 else 0.0)
            else:
                w = max(w, abs(got - exact) / np.float64(np.spacing(np.float32(exact))))
        return w

    assert worst() <= 1.6


def test_dispatch_by_type(vec):
    """exp: the polynomials of each type; expm1: the float32 polynomial, or the C library for
    float64 (within an ulp of NumPy's)."""
    x64 = np.linspace(-20, 20, 10_001)
    assert np.array_equal(vec["exp"](x64), vec["exp_f64"](x64))
    np.testing.assert_allclose(vec["expm1"](x64), np.expm1(x64), rtol=2.3e-16, atol=0)
    x32 = x64.astype(f32)
    assert np.array_equal(vec["exp"](x32), vec["exp_f32"](x32))
    assert np.array_equal(vec["expm1"](x32), vec["expm1_f32"](x32))


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 63,
                    reason="needs an 80-bit long double as the exact reference (x86-64)")
def test_exp_f64_within_1_ulp_over_its_range(vec):
    """Against long double (64-bit mantissa): within 1 float64 ulp from the smallest normal result
    to the largest, and near 0; subnormal results within one 2**-1074 step; the edges exact."""
    rng = np.random.default_rng(0)
    x = np.concatenate([np.linspace(-708.3, 709.7, 4_000_001), rng.uniform(-30, 30, 1_000_000),
                        2.0 ** -np.arange(1, 60), -(2.0 ** -np.arange(1, 60))])
    exact = np.exp(x.astype(np.longdouble))
    spacing = np.spacing(exact.astype(np.float64)).astype(np.longdouble)
    assert (np.abs(vec["exp_f64"](x).astype(np.longdouble) - exact) / spacing).max() <= 1.0
    tiny = np.linspace(-745.2, -708.4, 200_001)
    err = np.abs(vec["exp_f64"](tiny).astype(np.longdouble) - np.exp(tiny.astype(np.longdouble)))
    assert err.max() <= np.longdouble(2.0) ** -1074
    edge = vec["exp_f64"](np.array([0.0, -np.inf, np.inf, 709.78, 709.79, np.nan, -1000.0]))
    assert edge[0] == 1.0 and edge[1] == 0.0 and edge[2] == np.inf and np.isfinite(edge[3])
    assert edge[4] == np.inf and np.isnan(edge[5]) and edge[6] == 0.0


def test_rowsum_is_a_float64_sum():
    a = np.random.default_rng(0).standard_normal(1001).astype(f32)
    assert vm.rowsum_f64(a) == pytest.approx(float(np.sum(a.astype(np.float64))), rel=1e-14)


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


def test_reparam_kernels_match_float64():
    """z, KL_n and their backward in float32 against float64 evaluations of the same formulas."""
    rng = np.random.default_rng(5)
    n, d = 64, 20
    mu = rng.standard_normal((n, d)).astype(f32)
    logvar = (rng.standard_normal((n, d)) * rng.choice([1e-6, 1e-2, 1, 5], (n, d))).astype(f32)
    eps, dz = (rng.standard_normal((n, d)).astype(f32) for _ in range(2))
    z, kl = nb.reparam_kl(mu, logvar, eps, np.empty_like(mu))
    m, lv, e, g = (a.astype(np.float64) for a in (mu, logvar, eps, dz))
    np.testing.assert_allclose(z, m + np.exp(lv / 2) * e, rtol=3e-7, atol=1e-7)
    np.testing.assert_allclose(kl, 0.5 * (np.expm1(lv) - lv + m * m).sum(axis=1), rtol=3e-7)
    dmu, dlv = nb.reparam_kl_backward(dz, mu, logvar, eps, 0.5, np.empty_like(mu),
                                      np.empty_like(mu))
    np.testing.assert_allclose(dmu, g + 0.5 * m, rtol=3e-7, atol=1e-7)
    np.testing.assert_allclose(dlv, 0.5 * (np.exp(lv / 2) * e * g + 0.5 * np.expm1(lv)),
                               rtol=1e-6, atol=1e-7)
