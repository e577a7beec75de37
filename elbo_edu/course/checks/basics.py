r"""Graders of the exercises of chapters 01-04 (likelihood, networks, evidence, KL divergence).

Each ``check_*`` takes the student's function (and a ``seed`` for fresh inputs, used by the hidden
tests), computes the answer independently of :mod:`elbo_edu` -- with Python's ``math`` on scalars,
quadrature, or finite differences -- and passes silently or fails with one sentence
(:func:`elbo_edu.course.grading.fail`).
"""
from __future__ import annotations

import math

import numpy as np

from .answers import ANSWERS
from ..grading import exercise, pair, as_result, check_close, check_gradient, check_shape, fail, ok, quad

__all__ = ["check_gaussian_mle", "check_kde_log_density", "check_minibatch_gradient",
           "check_linear_backward", "check_softmax_cross_entropy",
           "check_softmax_cross_entropy_grad", "check_naive_log_evidence",
           "check_log_evidence_1d", "check_posterior_1d", "check_kl_discrete",
           "check_mc_kl_gaussian", "check_moment_match"]


def _pair(result, what):
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        fail(f"{what} should return a pair (mean, variance), got {type(result).__name__}.")
    return result


def _lse(values) -> float:
    m = max(values)
    return m + math.log(math.fsum(math.exp(v - m) for v in values))


def _log_normal(x, mean, var) -> float:
    return -0.5 * (math.log(2 * math.pi * var) + (x - mean) ** 2 / var)


# ------------------------------------------------------------------------------ chapter 01
@exercise(*ANSWERS["ex01_1"])
def check_gaussian_mle(gaussian_mle, seed: int = 0) -> None:
    """``gaussian_mle(x) -> (mean, var)``: the maximum-likelihood mean and variance (D1.2)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(1.5, 2.0, size=int(rng.integers(20, 60)))
    n = len(x)
    mean = math.fsum(x) / n
    var = math.fsum((v - mean) ** 2 for v in x) / n
    m, v = _pair(gaussian_mle(x.copy()), "gaussian_mle(x)")
    check_close(m, mean, "the mean", n=n)
    check_close(v, var, "the variance", n=n, mistakes=[
        (var * n / (n - 1), "You divided by N-1 (the unbiased estimate): the maximum-likelihood "
                            "variance divides by N."),
        (math.sqrt(var), "You returned the standard deviation: the exercise asks for the "
                         "variance sigma^2."),
        (math.fsum(x * x) / n, "You forgot to subtract the mean: the variance is the mean of "
                               "(x - mean)^2.")])
    ok("gaussian_mle")


@exercise(*ANSWERS["ex01_2"])
def check_kde_log_density(kde_log_density, seed: int = 0) -> None:
    r"""``kde_log_density(x_eval, x_data, bandwidth) -> (M,)``: the log of the 1-D Gaussian kernel
    density estimate :math:`\frac1N\sum_i\mathcal N(x; x_i, h^2)` (D1.3)."""
    rng = np.random.default_rng(seed)
    data = rng.normal(0.0, 1.0, size=12)
    h = 0.3 + 0.2 * rng.random()
    x_eval = np.concatenate([rng.uniform(-3, 3, size=6), [data[0] + 50 * h]])   # one far away
    want = np.array([_lse([_log_normal(x, d, h * h) for d in data]) - math.log(len(data))
                     for x in x_eval])
    got = kde_log_density(x_eval.copy(), data.copy(), h)
    wrong_var = np.array([_lse([_log_normal(x, d, h) for d in data]) - math.log(len(data))
                          for x in x_eval])
    check_close(got, want, "kde_log_density(x_eval, x_data, bandwidth)", n=len(data),
                shape_hint="One log-density per evaluation point.",
                nonfinite_hint="Far from the data every kernel underflows to 0: combine the "
                               "log-kernels with a log-sum-exp (subtract the maximum first).",
                mistakes=[(want + math.log(len(data)),
                           "You summed the kernels: the estimate averages them (divide by N, "
                           "i.e. subtract log N)."),
                          (wrong_var, "You used the bandwidth h as the kernel's variance: it is "
                                      "its standard deviation (variance h^2).")])
    mass = quad(lambda t: np.exp(np.asarray(kde_log_density(t, data.copy(), h))), -12, 12)
    if abs(mass - 1) > 1e-6:
        fail(f"Your density integrates to {mass:.6f}, not 1.")
    ok("kde_log_density")


@exercise(*ANSWERS["ex01_3"])
def check_minibatch_gradient(minibatch_gradient, seed: int = 0) -> None:
    r"""``minibatch_gradient(x_batch, n_total, mean, var)``: the rescaled minibatch estimate
    :math:`\frac NM\sum_{i\in B}(x_i-\mu)/\sigma^2` of the full-data gradient (D1.5)."""
    rng = np.random.default_rng(seed)
    n, m = 24, 6
    x = rng.normal(0.5, 1.5, size=n)
    mean, var = 0.2, 1.7
    full = math.fsum((v - mean) / var for v in x)           # gradient of the full log-likelihood
    one = x[:m]
    got = minibatch_gradient(one.copy(), n, mean, var)
    want = n / m * math.fsum((v - mean) / var for v in one)
    check_close(got, want, "minibatch_gradient(x_batch, n_total, mean, var)", mistakes=[
        (want * m / n, "You did not rescale by N/M: the minibatch sum estimates only M/N of "
                       "the full gradient."),
        (want / n, "You averaged over the minibatch without multiplying by N: the estimate of "
                   "the full-data gradient is (N/M) times the minibatch sum.")])
    perm = rng.permutation(n)
    avg = np.mean([float(as_result(minibatch_gradient(x[perm[i:i + m]], n, mean, var), "it"))
                   for i in range(0, n, m)])
    if abs(avg - full) > 1e-9 * max(1.0, abs(full)):
        fail(f"Averaged over a partition into minibatches your estimates give {avg:.6g}, the "
             f"full gradient is {full:.6g}: the estimator is biased.")
    ok("minibatch_gradient")


# ------------------------------------------------------------------------------ chapter 02
@exercise(*ANSWERS["ex02_1"])
def check_linear_backward(linear_backward, seed: int = 0) -> None:
    """``linear_backward(dy, x, W) -> (dx, dW, db)`` for ``y = x @ W + b`` (D2.4)."""
    rng = np.random.default_rng(seed)
    n, i, o = 5, 4, 3
    x, W, b = rng.standard_normal((n, i)), rng.standard_normal((i, o)), rng.standard_normal(o)
    dy = rng.standard_normal((n, o))
    res = linear_backward(dy.copy(), x.copy(), W.copy())
    if not (isinstance(res, (tuple, list)) and len(res) == 3):
        fail("linear_backward should return three arrays (dx, dW, db).")
    dx, dW, db = res
    check_gradient(dx, lambda v: np.sum(dy * (v @ W + b)), x, "dx")
    check_shape(as_result(dW, "dW"), W.shape, "dW", "It has the shape of W: x.T @ dy.")
    check_gradient(dW, lambda v: np.sum(dy * (x @ v + b)), W, "dW")
    check_gradient(db, lambda v: np.sum(dy * (x @ W + v)), b, "db", n=n, mistakes=[
        (dy.mean(axis=0), "db is the mean of dy over the batch: the bias is added to every row, "
                          "so its gradient is the sum.")])
    ok("linear_backward")


def _xent_rows(logits, y):
    return [_lse(list(row)) - row[k] for row, k in zip(logits.tolist(), y.tolist())]


@exercise(*ANSWERS["ex02_2"])
def check_softmax_cross_entropy(softmax_cross_entropy, seed: int = 0) -> None:
    """``softmax_cross_entropy(logits, y) -> float``: the mean over rows of
    ``-log softmax(logits)[y]`` (D2.1), stable for large logits."""
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((6, 4)) * 3
    logits[0] += 900.0                                       # exp would overflow
    y = rng.integers(0, 4, size=6)
    want = math.fsum(_xent_rows(logits, y)) / len(y)
    got = softmax_cross_entropy(logits.copy(), y.copy())
    check_close(got, want, "softmax_cross_entropy(logits, y)", n=len(y),
                shape_hint="Return one number (the mean over the rows).",
                nonfinite_hint="exp(900) overflows: subtract each row's maximum before "
                               "exponentiating.")
    ok("softmax_cross_entropy")


@exercise(*ANSWERS["ex02_3"])
def check_softmax_cross_entropy_grad(softmax_cross_entropy_grad, seed: int = 0) -> None:
    """``softmax_cross_entropy_grad(logits, y) -> (N, C)``: the gradient of the mean loss."""
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((5, 4)) * 2
    y = rng.integers(0, 4, size=5)
    got = softmax_cross_entropy_grad(logits.copy(), y.copy())
    check_gradient(got, lambda v: math.fsum(_xent_rows(v, y)) / len(y), logits,
                   "softmax_cross_entropy_grad(logits, y)", n=len(y))
    ok("softmax_cross_entropy_grad")


# ------------------------------------------------------------------------------ chapter 03
@exercise(*ANSWERS["ex03_1"])
def check_naive_log_evidence(naive_log_evidence, seed: int = 0) -> None:
    r"""``naive_log_evidence(log_lik) -> float``: :math:`\log\frac1K\sum_k e^{\ell_k}` for
    ``log_lik[k] = log p(x | z_k)``, ``z_k ~ p(z)`` (D3.3), stable for very negative values."""
    rng = np.random.default_rng(seed)
    log_lik = rng.normal(-1200.0, 5.0, size=50)               # exp underflows to 0
    want = _lse(list(log_lik)) - math.log(len(log_lik))
    got = naive_log_evidence(log_lik.copy())
    check_close(got, want, "naive_log_evidence(log_lik)", shape_hint="Return one number.",
                nonfinite_hint="exp(-1200) underflows to 0: subtract the maximum before "
                               "exponentiating (log-sum-exp).",
                mistakes=[(want + math.log(len(log_lik)),
                           "You returned log(sum of e^l): the evidence is the mean, so subtract "
                           "log K."),
                          (log_lik.mean(), "You averaged the log-likelihoods: that is E[log p], "
                                           "a lower bound, not log E[p].")])
    ok("naive_log_evidence")


def _evidence_quad(x, w, b, s2):
    return math.log(quad(lambda z: np.exp(-0.5 * (np.log(2 * np.pi * s2) + (x - w * z - b) ** 2
                                                  / s2) - 0.5 * (np.log(2 * np.pi) + z * z)),
                         -14, 14))


@exercise(*ANSWERS["ex03_2"])
def check_log_evidence_1d(log_evidence_1d, seed: int = 0) -> None:
    r"""``log_evidence_1d(x, w, b, s2)`` for :math:`z\sim\mathcal N(0,1)`,
    :math:`x\mid z\sim\mathcal N(wz+b, s^2)`, element-wise in ``x`` (D3.1, D3.4)."""
    rng = np.random.default_rng(seed)
    w, b, s2 = 1.3 + rng.random(), 0.4, 0.5 + rng.random()
    x = rng.normal(b, 2.0, size=5)
    want = np.array([_evidence_quad(v, w, b, s2) for v in x])
    got = log_evidence_1d(x.copy(), w, b, s2)
    mk = lambda var: np.array([_log_normal(v, b, var) for v in x])  # noqa: E731
    check_close(got, want, "log_evidence_1d(x, w, b, s2)", rtol=1e-8,
                shape_hint="One log-evidence per x.", mistakes=[
                    (mk(w * w), "You left out the noise variance s2: Var[x] = w^2 + s2."),
                    (mk(s2), "You left out the latent's contribution w^2 to the variance."),
                    (mk(w + s2), "You used w instead of w^2 in the variance w^2 + s2.")])
    ok("log_evidence_1d")


@exercise(*ANSWERS["ex03_3"])
def check_posterior_1d(posterior_1d, seed: int = 0) -> None:
    r"""``posterior_1d(x, w, b, s2) -> (mean, var)`` of :math:`p(z\mid x)` for the model of
    :func:`check_log_evidence_1d`, checked against the moments of the posterior by quadrature."""
    rng = np.random.default_rng(seed)
    w, b, s2 = 0.8 + rng.random(), -0.3, 0.4 + rng.random()
    x = float(rng.normal(b, 2.0))
    joint = lambda z: np.exp(-0.5 * ((x - w * z - b) ** 2 / s2 + z * z))  # noqa: E731
    z0 = quad(joint, -14, 14)
    mean = quad(lambda z: z * joint(z), -14, 14) / z0
    var = quad(lambda z: (z - mean) ** 2 * joint(z), -14, 14) / z0
    m, v = _pair(posterior_1d(x, w, b, s2), "posterior_1d(x, w, b, s2)")
    check_close(v, var, "the posterior variance", rtol=1e-8, mistakes=[
        (s2 / w ** 2, "Your variance forgets the prior: the precisions add, 1/var = 1 + w^2/s2.")])
    check_close(m, mean, "the posterior mean", rtol=1e-8, atol=1e-10, mistakes=[
        ((x - b) / w, "Your mean forgets the prior: it is var * w (x - b) / s2, pulled towards 0.")])
    ok("posterior_1d")


# ------------------------------------------------------------------------------ chapter 04
@exercise(*ANSWERS["ex04_1"])
def check_kl_discrete(kl_discrete, seed: int = 0) -> None:
    r"""``kl_discrete(p, q) -> float``: :math:`\sum_i p_i\log(p_i/q_i)`, with
    :math:`0\log 0 = 0` (D4.1)."""
    rng = np.random.default_rng(seed)
    p, q = rng.random(6) + 0.05, rng.random(6) + 0.05
    p, q = p / p.sum(), q / q.sum()
    want = math.fsum(a * math.log(a / c) for a, c in zip(p, q))
    swapped = math.fsum(c * math.log(c / a) for a, c in zip(p, q))
    check_close(kl_discrete(p.copy(), q.copy()), want, "kl_discrete(p, q)",
                shape_hint="Return one number.", mistakes=[
                    (swapped, "You computed KL(q || p): the arguments are swapped."),
                    (want / math.log(2), "You used log base 2 (bits): use the natural log "
                                         "(nats).")])
    p[2] = 0.0                                                # 0 log 0 = 0
    p /= p.sum()
    want = math.fsum(a * math.log(a / c) for a, c in zip(p, q) if a > 0)
    check_close(kl_discrete(p.copy(), q.copy()), want, "kl_discrete(p, q) with a zero in p",
                nonfinite_hint="0 log 0 counts as 0: leave the terms with p_i = 0 out.")
    ok("kl_discrete")


@exercise(*ANSWERS["ex04_2"])
def check_mc_kl_gaussian(mc_kl_gaussian, seed: int = 0) -> None:
    r"""``mc_kl_gaussian(mu1, logvar1, mu2, logvar2, eps) -> float``: the Monte-Carlo estimate
    :math:`\frac1K\sum_k[\log p_1(x_k)-\log p_2(x_k)]`, :math:`x_k=\mu_1+\sigma_1\varepsilon_k`
    (D4.3); it must also approach the KL computed by quadrature as K grows."""
    rng = np.random.default_rng(seed)
    mu1, lv1, mu2, lv2 = 0.3, math.log(0.8), -0.5, math.log(1.9)
    eps = rng.standard_normal(40)
    xs = [mu1 + math.exp(0.5 * lv1) * e for e in eps]
    want = math.fsum(_log_normal(x, mu1, math.exp(lv1)) - _log_normal(x, mu2, math.exp(lv2))
                     for x in xs) / len(xs)
    xs_var = [mu1 + math.exp(lv1) * e for e in eps]
    wrong = math.fsum(_log_normal(x, mu1, math.exp(lv1)) - _log_normal(x, mu2, math.exp(lv2))
                      for x in xs_var) / len(xs)
    got = mc_kl_gaussian(mu1, lv1, mu2, lv2, eps.copy())
    check_close(got, want, "mc_kl_gaussian(mu1, logvar1, mu2, logvar2, eps)", n=len(eps),
                shape_hint="Return one number (the average over the samples).",
                mistakes=[(wrong, "You scaled eps by exp(logvar), the variance: the standard "
                                  "deviation is exp(logvar / 2).")])
    big = rng.standard_normal(200_000)
    est = float(as_result(mc_kl_gaussian(mu1, lv1, mu2, lv2, big), "the estimate"))
    p1 = lambda t: np.exp(-0.5 * (np.log(2 * np.pi) + lv1 + (t - mu1) ** 2 / math.exp(lv1)))  # noqa
    exact = quad(lambda t: p1(t) * (np.log(p1(t) + 1e-300) + 0.5 * (np.log(2 * np.pi) + lv2
                                    + (t - mu2) ** 2 / math.exp(lv2))), -15, 15)
    if abs(est - exact) > 0.02:
        fail(f"With 200 000 samples your estimate is {est:.4f}, the KL by quadrature {exact:.4f}.")
    ok("mc_kl_gaussian")


@exercise(*ANSWERS["ex04_3"])
def check_moment_match(moment_match, seed: int = 0) -> None:
    r"""``moment_match(weights, means, variances) -> (mean, var)``: the Gaussian that minimises
    the forward KL to a 1-D Gaussian mixture matches its mean and variance (D4.2)."""
    rng = np.random.default_rng(seed)
    w = rng.random(3) + 0.2
    w /= w.sum()
    mus, vs = rng.normal(0, 2, size=3), 0.2 + rng.random(3)
    dens = lambda t: sum(wi * np.exp(-0.5 * (t - m) ** 2 / v) / np.sqrt(2 * np.pi * v)  # noqa
                         for wi, m, v in zip(w, mus, vs))
    mean = quad(lambda t: t * dens(t), -25, 25)
    var = quad(lambda t: (t - mean) ** 2 * dens(t), -25, 25)
    m, v = _pair(moment_match(w.copy(), mus.copy(), vs.copy()), "moment_match")
    check_close(m, mean, "the mean", rtol=1e-8, mistakes=[
        (mus.mean(), "Your mean ignores the weights: it is sum_k w_k mu_k.")])
    check_close(v, var, "the variance", rtol=1e-8, mistakes=[
        (float(w @ vs), "Your variance leaves out the spread of the component means: "
                        "Var = sum_k w_k (v_k + mu_k^2) - mean^2.")])
    ok("moment_match")
