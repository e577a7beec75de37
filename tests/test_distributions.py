"""Log-densities and KL divergences: gradients, normalisation, closed forms against quadrature,
properties of the KL, stability and bad input (D2.1, D5.1–D5.5, D7.1–D7.3)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate

from elbo_edu import distributions as D
from elbo_edu.gradcheck import DEFAULT_TOL, check_function

#: Property tests hunt for awkward inputs, including ones where a gradient is thousands of times
#: smaller than the function (a softmax close to one-hot, a summed log-variance gradient that
#: nearly cancels). There the 2-point stencil's rounding error ε|f|/h ≈ 1e-10·|f| swamps the
#: gradient, so these tests use the 4th-order stencil with h = 1e-4 (truncation O(h⁴) ≈ 1e-16,
#: rounding ≈ 1e-12·|f|): a more accurate reference, the same 1e-7 tolerance.
PRECISE = dict(h=1e-4, order=4)


shapes = st.tuples(st.integers(1, 4), st.integers(1, 5))
seeds = st.integers(0, 2**16)


# ----------------------------------------------------------------------------------- gradients
@given(shape=shapes, seed=seeds)
def test_gaussian_log_prob_gradients(shape, seed):
    rng = np.random.default_rng(seed)
    x, mean, logvar = (rng.standard_normal(shape) for _ in range(3))
    r = check_function("g", D.gaussian_log_prob, D.gaussian_log_prob_grad,
                       dict(x=x, mean=mean, logvar=logvar), rng=rng, **PRECISE)
    assert len(r.rows) == 3 and r.max_error < DEFAULT_TOL, str(r)


@given(shape=shapes, seed=seeds)
def test_gaussian_log_prob_gradients_with_a_shared_logvar(shape, seed):
    """A single log-variance broadcast over every pixel (the learned-γ decoder): gradients sum.

    The summed gradient 0.5·Σ(r²−1) can be thousands of times smaller than f itself, where the
    2-point stencil's rounding error ε|f|/h dominates; the 4th-order stencil with h=1e-4 keeps the
    reference accurate to ~1e-11 relative (the tolerance is unchanged)."""
    rng = np.random.default_rng(seed)
    x, mean = rng.standard_normal(shape), rng.standard_normal(shape)
    for logvar in (np.array(rng.standard_normal()), rng.standard_normal(shape[-1:])):
        r = check_function("g", D.gaussian_log_prob, D.gaussian_log_prob_grad,
                           dict(x=x, mean=mean, logvar=logvar), rng=rng, **PRECISE)
        assert r.rows[2].shape == logvar.shape and r.max_error < DEFAULT_TOL, str(r)


@given(shape=shapes, seed=seeds)
def test_std_normal_log_prob_gradient(shape, seed):
    rng = np.random.default_rng(seed)
    r = check_function("n", D.std_normal_log_prob, D.std_normal_log_prob_grad,
                       dict(z=rng.standard_normal(shape)), rng=rng, **PRECISE)
    assert r.max_error < DEFAULT_TOL, str(r)


@given(shape=shapes, seed=seeds, binary=st.booleans())
def test_bernoulli_log_prob_gradients(shape, seed, binary):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, shape).astype(float) if binary else rng.uniform(size=shape)
    r = check_function("b", D.bernoulli_log_prob, D.bernoulli_log_prob_grad,
                       dict(x=x, logits=3 * rng.standard_normal(shape)), wrt=["logits"],
                       rng=rng, **PRECISE)
    assert r.max_error < DEFAULT_TOL, str(r)


@given(shape=shapes, seed=seeds)
def test_categorical_log_prob_gradient(shape, seed):
    rng = np.random.default_rng(seed)
    n, k = shape[0], shape[1] + 1
    r = check_function("c", D.categorical_log_prob, D.categorical_log_prob_grad,
                       dict(y=rng.integers(0, k, n), logits=2 * rng.standard_normal((n, k))),
                       rng=rng, **PRECISE)
    assert r.max_error < DEFAULT_TOL, str(r)


@given(shape=shapes, seed=seeds)
def test_kl_gradients(shape, seed):
    rng = np.random.default_rng(seed)
    a, b, c, d = (rng.standard_normal(shape) for _ in range(4))
    r = check_function("kl", D.kl_normal, D.kl_normal_grad, dict(mu1=a, logvar1=b, mu2=c, logvar2=d),
                       rng=rng, **PRECISE)
    r.extend(check_function("kl0", D.kl_std_normal, D.kl_std_normal_grad, dict(mu=a, logvar=b),
                            rng=rng, **PRECISE))
    assert len(r.rows) == 6 and r.max_error < DEFAULT_TOL, str(r)


# ------------------------------------------------------------------------------- normalisation
@pytest.mark.parametrize("mean, logvar", [(0.0, 0.0), (1.5, -2.0), (-3.0, 1.2)])
def test_gaussian_integrates_to_one(mean, logvar):
    s = np.exp(0.5 * logvar)
    val, _ = integrate.quad(lambda t: np.exp(D.gaussian_log_prob([t], [mean], [logvar])),
                            mean - 12 * s, mean + 12 * s, epsabs=1e-13)
    assert val == pytest.approx(1.0, abs=1e-10)


def test_std_normal_matches_gaussian_with_zero_parameters(rng):
    """D7.3: log N(z; 0, I) = -(D/2) log 2 pi - |z|^2 / 2, against that formula written here and
    against scipy's multivariate normal (neither uses the package), and against the package's
    diagonal Gaussian with zero parameters."""
    from scipy.stats import multivariate_normal

    z = rng.standard_normal((5, 3))
    closed = -1.5 * np.log(2 * np.pi) - 0.5 * np.sum(z * z, axis=1)
    np.testing.assert_allclose(D.std_normal_log_prob(z), closed, rtol=1e-14)
    np.testing.assert_allclose(D.std_normal_log_prob(z), multivariate_normal(np.zeros(3)).logpdf(z),
                               rtol=1e-13)
    np.testing.assert_allclose(D.std_normal_log_prob(z), D.gaussian_log_prob(z, 0 * z, 0 * z),
                               rtol=1e-15)


def test_bernoulli_and_categorical_sum_to_one(rng):
    logits = rng.standard_normal(4)
    assert np.exp(D.bernoulli_log_prob([[0.0]], [[logits[0]]])) + \
        np.exp(D.bernoulli_log_prob([[1.0]], [[logits[0]]])) == pytest.approx(1.0, abs=1e-15)
    # over all 2^3 binary vectors of a 3-pixel image
    xs = np.array([[(i >> j) & 1 for j in range(3)] for i in range(8)], dtype=float)
    assert np.exp(D.bernoulli_log_prob(xs, np.tile(logits[:3], (8, 1)))).sum() == \
        pytest.approx(1.0, abs=1e-14)
    lp = D.categorical_log_prob(np.arange(4), np.tile(logits, (4, 1)))
    assert np.exp(lp).sum() == pytest.approx(1.0, abs=1e-15)


def test_bernoulli_is_minus_binary_cross_entropy(rng):
    """D7.2: from logits, log p = -BCE(x, sigmoid(logits)) also for grey-level targets."""
    x, logits = rng.uniform(size=(3, 6)), rng.standard_normal((3, 6))
    p = 1 / (1 + np.exp(-logits))
    bce = -(x * np.log(p) + (1 - x) * np.log1p(-p)).sum(-1)
    np.testing.assert_allclose(D.bernoulli_log_prob(x, logits), -bce, rtol=1e-13)


def test_bernoulli_is_stable_for_huge_logits():
    logits = np.array([[1e4, -1e4, 1e4, -1e4, 0.0]])
    x = np.array([[1.0, 0.0, 0.0, 1.0, 0.5]])
    lp = D.bernoulli_log_prob(x, logits)
    # exact: 0, 0, -1e4, -1e4, 0.5*0 - log 2 (each softplus(±1e4) is 1e4 or 0 to double precision)
    assert np.isfinite(lp).all() and lp[0] == pytest.approx(-2e4 - np.log(2), rel=1e-15)
    (dl,) = D.bernoulli_log_prob_grad(x, logits)
    np.testing.assert_array_equal(dl, [[0.0, 0.0, -1.0, 1.0, 0.0]])


# --------------------------------------------------------------------- KL: closed form (D5.1–D5.4)
def _quad(f, lo, hi):
    return integrate.quad(f, lo, hi, epsabs=1e-13, epsrel=1e-13, limit=200)[0]


@pytest.mark.parametrize("m1, lv1, m2, lv2", [(0.0, 0.0, 0.0, 0.0), (1.0, -1.0, -0.5, 0.7),
                                              (-2.0, 1.0, 0.3, -0.4), (0.2, -3.0, 0.0, 0.0)])
def test_kl_normal_against_quadrature(m1, lv1, m2, lv2):
    """KL = ∫ p1 log p1 - ∫ p1 log p2, each term by quadrature (D5.1, D5.2, D5.3)."""
    def logp(t, m, lv):
        return D.gaussian_log_prob([t], [m], [lv])

    s1 = np.exp(0.5 * lv1)
    lo, hi = m1 - 15 * s1, m1 + 15 * s1
    neg_entropy = _quad(lambda t: np.exp(logp(t, m1, lv1)) * logp(t, m1, lv1), lo, hi)
    cross = -_quad(lambda t: np.exp(logp(t, m1, lv1)) * logp(t, m2, lv2), lo, hi)
    assert neg_entropy == pytest.approx(-0.5 * (np.log(2 * np.pi) + lv1 + 1), abs=1e-10)    # D5.1
    assert neg_entropy == pytest.approx(-D.gaussian_entropy([lv1]), abs=1e-10)
    s2sq = np.exp(lv2)
    assert cross == pytest.approx(0.5 * np.log(2 * np.pi * s2sq) + (np.exp(lv1) + (m1 - m2) ** 2)
                                  / (2 * s2sq), abs=1e-10)                                    # D5.2
    kl = D.kl_normal([m1], [lv1], [m2], [lv2])[0]
    assert kl == pytest.approx(neg_entropy + cross, abs=1e-10)                                # D5.3


def test_kl_std_normal_sums_independent_dimensions(rng):
    """D5.4: against N(0, I) the KL of a diagonal Gaussian is the sum of 1-D KLs."""
    mu, lv = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    np.testing.assert_allclose(D.kl_std_normal(mu, lv), D.kl_normal(mu, lv, 0 * mu, 0 * lv).sum(-1),
                               rtol=1e-14)
    np.testing.assert_allclose(D.kl_std_normal(mu, lv),
                               0.5 * (np.exp(lv) + mu ** 2 - lv - 1).sum(-1), rtol=1e-12)


def test_kl_std_normal_2d_against_quadrature():
    """D5.4: the closed form, summed over two independent dimensions, against a 2-D adaptive
    quadrature of the definition with both densities written out here (not the package's)."""
    mu, lv = np.array([0.3, -0.8]), np.array([-0.5, 0.4])
    s = np.exp(0.5 * lv)

    def integrand(b, a):
        z = np.array([a, b])
        log_q = float(np.sum(-0.5 * np.log(2 * np.pi) - 0.5 * lv - 0.5 * ((z - mu) / s) ** 2))
        log_p = float(np.sum(-0.5 * np.log(2 * np.pi) - 0.5 * z ** 2))
        return np.exp(log_q) * (log_q - log_p)
    val, _ = integrate.dblquad(integrand, mu[0] - 10 * s[0], mu[0] + 10 * s[0],
                               mu[1] - 10 * s[1], mu[1] + 10 * s[1], epsabs=1e-11)
    assert D.kl_std_normal(mu, lv) == pytest.approx(val, abs=1e-8)


# ------------------------------------------------------------------------- KL: properties (D4.1)
@given(seed=seeds)
def test_kl_nonnegative_zero_iff_equal_and_not_symmetric(seed):
    rng = np.random.default_rng(seed)
    a, b, c, d = (rng.standard_normal(20) for _ in range(4))
    assert np.all(D.kl_normal(a, b, c, d) > 0)
    np.testing.assert_array_equal(D.kl_normal(a, b, a, b), 0.0)
    np.testing.assert_array_equal(D.kl_std_normal(np.zeros((2, 3)), np.zeros((2, 3))), 0.0)
    # different variances make KL(p||q) != KL(q||p)
    assert np.all(np.abs(D.kl_normal(a, b, c, d) - D.kl_normal(c, d, a, b)) > 0)


def test_kl_keeps_precision_for_nearby_gaussians():
    """The expm1 form stays accurate where the textbook formula cancels catastrophically."""
    d = 1e-9
    exact = 0.5 * (d * d / 2 + d ** 3 / 6)  # expm1(d) - d to third order
    assert D.kl_normal([0.0], [d], [0.0], [0.0])[0] == pytest.approx(exact, rel=1e-6)


# --------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, match", [
    (lambda: D.gaussian_log_prob(np.ones((2, 3)), np.ones((3, 3)), np.ones((2, 3))), "mean"),
    (lambda: D.gaussian_log_prob(np.ones((2, 3)), np.ones((2, 3)), np.ones((2, 4))), "logvar"),
    (lambda: D.gaussian_log_prob(np.ones((1, 3)), np.ones((2, 3)), np.ones((1, 3))), "mean"),
    (lambda: D.gaussian_log_prob([[np.nan]], [[0.0]], [[0.0]]), "x: expected finite"),
    (lambda: D.bernoulli_log_prob([[1.5]], [[0.0]]), r"x: expected values in \[0, 1\]"),
    (lambda: D.bernoulli_log_prob([[-0.1]], [[0.0]]), r"x: expected values in \[0, 1\]"),
    (lambda: D.bernoulli_log_prob([[1.0]], [[np.inf]]), "logits: expected finite"),
    (lambda: D.kl_normal(np.ones(3), np.ones(3), np.ones(2), np.ones(3)), "mu2"),
    (lambda: D.kl_std_normal(np.ones((2, 3)), np.ones((3, 2))), "logvar"),
    (lambda: D.kl_std_normal(np.ones((2, 3)), np.full((2, 3), np.nan)), "logvar"),
    (lambda: D.categorical_log_prob(np.array([0.5]), np.ones((1, 3))), "y: expected integer"),
    (lambda: D.categorical_log_prob(np.array([3]), np.ones((1, 3))), r"y: expected labels in \[0, 2\]"),
    (lambda: D.categorical_log_prob(np.array([0, 1]), np.ones((1, 3))), "y: expected shape"),
    (lambda: D.std_normal_log_prob_grad(np.ones((2, 3)), grad_out=np.ones(3)), "grad_out"),
    (lambda: D.std_normal_log_prob("abc"), "z: expected a numeric array"),
])
def test_bad_input_raises_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------- continuous Bernoulli (D7.2)
@pytest.mark.parametrize("logit", [-40.0, -3.0, -0.3, -0.05, 0.0, 1e-7, 0.0999, 0.1, 0.7, 25.0])
def test_continuous_bernoulli_integrates_to_one_and_has_its_mean(logit):
    """Quadrature over [0, 1] of exp(log p(x | logit)): mass 1 and mean E[x], computed apart."""
    def density(t):
        return float(np.exp(D.continuous_bernoulli_log_prob(np.array([[t]]),
                                                          np.array([[logit]]))[0]))
    mass, _ = integrate.quad(density, 0.0, 1.0, epsabs=1e-13, epsrel=1e-12)
    mean, _ = integrate.quad(lambda t: t * density(t), 0.0, 1.0, epsabs=1e-13, epsrel=1e-12)
    assert mass == pytest.approx(1.0, abs=1e-10)
    assert float(D.continuous_bernoulli_mean(np.array(logit))) == pytest.approx(mean, abs=1e-10)


def test_continuous_bernoulli_log_norm_matches_the_definition():
    """log C(lambda) = log(2 artanh(1 - 2 lambda) / (1 - 2 lambda)) in the lambda form, away from
    1/2 where that form is well conditioned; the logit form must agree on both sides of 0.1."""
    lam = np.array([0.01, 0.2, 0.45, 0.47, 0.53, 0.6, 0.9, 0.999])
    logits = np.log(lam) - np.log1p(-lam)
    ref = np.log(2 * np.arctanh(1 - 2 * lam) / (1 - 2 * lam))
    np.testing.assert_allclose(D.continuous_bernoulli_log_norm(logits), ref, rtol=1e-12)
    assert D.continuous_bernoulli_log_norm(np.array(0.0)) == pytest.approx(np.log(2), rel=1e-15)


@pytest.mark.parametrize("center", [0.0, 0.1, 0.5, 3.0])
def test_continuous_bernoulli_gradient_by_finite_differences(rng, center):
    """Including logits near 0 (the Taylor branch) and straddling the switch at |logit| = 0.1."""
    x = rng.uniform(0, 1, (4, 5))
    logits = center + rng.uniform(-0.06, 0.06, (4, 5))
    rep = check_function("continuous_bernoulli_log_prob", D.continuous_bernoulli_log_prob,
                         D.continuous_bernoulli_log_prob_grad, dict(x=x, logits=logits),
                         wrt=["logits"], rng=rng)
    assert rep.passed and rep.max_error < 1e-7, str(rep)
