"""Hostile input to the densities and the stable elementary functions: half precision is
refused, NaN or infinite input fails the same way on both backends, extreme input never leaks a
NumPy RuntimeWarning, and an empty log-sum-exp names its argument."""
import warnings

import numpy as np
import pytest

from elbo_edu import distributions as D
from elbo_edu import kernels as K
from elbo_edu.vae import likelihoods as L
from elbo_edu import special as S


# ------------------------------------------------------------------ item 3: no float16 densities
@pytest.mark.parametrize("call", [
    lambda a, b: D.bernoulli_log_prob(np.ones_like(a), b),
    lambda a, b: D.gaussian_log_prob(a, b, b),
    lambda a, b: D.std_normal_log_prob(a),
    lambda a, b: D.kl_std_normal(a, b),
    lambda a, b: D.kl_normal(a, b, a, b),
    lambda a, b: D.continuous_bernoulli_log_prob(np.ones_like(a), b),
    lambda a, b: D.bernoulli_log_prob_grad(np.ones_like(a), b),
    lambda a, b: L.make_likelihood("bernoulli").log_prob(np.ones_like(a), b),
])
def test_half_precision_is_refused(call):
    a = np.full((1, 784), 0.5, np.float16)
    b = np.full((1, 784), -153.0, np.float16)
    with pytest.raises(ValueError, match="expected float32 or float64 values, got float16"):
        call(a, b)


def test_the_refused_float16_value_was_wrong_and_float32_is_right():
    """What the check prevents: -153 * 784 = -120 000 nats overflows float16 to -inf."""
    x = np.ones((1, 784))
    logits = np.full((1, 784), -153.0)
    with np.errstate(over="ignore"):
        half = np.sum((x * logits - S.softplus(logits)).astype(np.float16), axis=-1)
    assert np.isneginf(half)
    value = D.bernoulli_log_prob(x.astype(np.float32), logits.astype(np.float32))
    assert value.dtype == np.float32 and np.isclose(value[0], -784 * 153.0, rtol=1e-6)


# --------------------------------------------------- item 4: non-finite input, both backends
def _infinite(where, shape=(3, 4)):
    a = np.zeros(shape)
    a[1, 2] = where
    return a


CASES = {
    "bernoulli": (lambda lg: K.bernoulli_loglik_grad(np.zeros((3, 4)), lg), "logits"),
    "bernoulli in place": (lambda lg: K.bernoulli_loglik_grad(np.zeros((3, 4)), lg, out=lg),
                           "logits"),
    "continuous": (lambda lg: K.continuous_bernoulli_loglik_grad(np.zeros((3, 4)), lg),
                   "logits"),
    "gaussian mean": (lambda m: K.gaussian_loglik_grad(np.zeros((3, 4)), m, np.zeros(4)),
                      "mean"),
    "gaussian x": (lambda x: K.gaussian_loglik_grad(x, np.zeros((3, 4)), np.zeros(4)), "x"),
    "reparam mu": (lambda mu: K.reparam_kl(mu, np.zeros((3, 4)), np.zeros((3, 4))), "mu"),
    "reparam logvar": (lambda lv: K.reparam_kl(np.zeros((3, 4)), lv, np.zeros((3, 4))),
                       "logvar"),
    "reparam eps": (lambda e: K.reparam_kl(np.zeros((3, 4)), np.zeros((3, 4)), e), "eps"),
}


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("case", sorted(CASES))
def test_non_finite_input_raises_the_same_on_both_backends(backend, value, case):
    call, name = CASES[case]
    with K.use_backend(backend), warnings.catch_warnings():
        # (under NUMBA_DISABLE_JIT=1 the kernels run as Python and NumPy may warn first)
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError, match=f"^{name}: expected finite values"):
            call(_infinite(value))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_finite_extreme_input_is_not_refused(backend):
    """The check looks at the result only: huge but finite logits still give a finite value."""
    x = np.ones((2, 3))
    with K.use_backend(backend):
        logp, _ = K.bernoulli_loglik_grad(x, np.full((2, 3), -1e300))
    assert np.all(np.isfinite(logp)) and logp[0] < -1e300


# -------------------------------------------- item 15: no RuntimeWarning from public functions
EXTREME = [0.0, 1e-310, -1e-310, 1e30, -1e30, 1e300, -1e300, 750.0, -750.0, 90.0, -90.0]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,n", [
    ("kl_std_normal", 2), ("kl_std_normal_grad", 2), ("std_normal_log_prob", 1),
    ("std_normal_log_prob_grad", 1), ("reparameterize", 3), ("kl_normal", 4),
    ("gaussian_log_prob", 3), ("bernoulli_log_prob", 2), ("gaussian_entropy", 1),
    ("continuous_bernoulli_log_norm", 1), ("continuous_bernoulli_mean", 1), ("log_softmax", 1),
])
def test_no_runtime_warning_at_extreme_inputs(name, n, dtype):
    f = getattr(D, name)
    rng = np.random.default_rng(0)
    with warnings.catch_warnings(), np.errstate(over="ignore"):
        values = np.array(EXTREME).astype(dtype)  # (the cast itself overflows float32)
    values = values[np.isfinite(values)]
    for _ in range(60):
        args = [rng.choice(values, size=(2, 3)) for _ in range(n)]
        if name == "bernoulli_log_prob":
            args[0] = rng.integers(0, 2, size=(2, 3)).astype(dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            f(*args)


@pytest.mark.parametrize("x,want", [([-np.inf, -np.inf], -np.inf), ([np.inf, 1.0], np.inf),
                                    ([-1e308, 1e308], 1e308), ([np.nan, 0.0], np.nan),
                                    ([-800.0, -800.0], -800.0 + np.log(2.0))])
def test_logsumexp_is_silent_and_right_at_the_limits(x, want):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = S.logsumexp(np.array(x))
    assert (np.isnan(got) and np.isnan(want)) or got == pytest.approx(want, rel=1e-15)


@pytest.mark.parametrize("x", [[-1e308, 1e308, 800.0, -800.0, 0.0], [np.inf, -np.inf]])
def test_sigmoid_and_softplus_are_silent_at_the_limits(x):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s, sp = S.sigmoid(np.array(x)), S.softplus(np.array(x))
    assert np.all((s >= 0) & (s <= 1)) and np.all(sp >= 0)


def test_sigmoid_of_integers_is_a_float():
    assert S.sigmoid(np.array([0, 2])) == pytest.approx([0.5, 1 / (1 + np.exp(-2))])


# -------------------------------------------------------------- item 14: an empty log-sum-exp
def test_logsumexp_of_nothing_names_the_argument():
    with pytest.raises(ValueError, match=r"a: expected at least one value along axis -1"):
        S.logsumexp(np.array([]))
    with pytest.raises(ValueError, match=r"a: expected at least one value along axis 1"):
        S.logsumexp(np.zeros((3, 0)), axis=1)
    with pytest.raises(ValueError, match=r"axis: "):
        S.logsumexp(np.zeros(3), axis=2)
    assert S.logsumexp(np.zeros((0, 3))).shape == (0,)
