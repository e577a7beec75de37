r"""Graders of the exercises of chapters 01-04 (likelihood, networks, evidence, KL divergence).

Each ``check_*`` takes the student's function (and a ``seed`` for fresh inputs, used by the hidden
tests), computes the answer independently of :mod:`elbo_edu` -- with Python's ``math`` on scalars,
quadrature, or finite differences -- and passes silently or fails with one sentence
(:func:`elbo_edu.course.grading.fail`).
"""
from __future__ import annotations

import math

import numpy as np

from ..grading import (as_result, check_close, check_gradient, check_shape, exercise, fail,
                       low_precision, ok, pair, quad)
from .answers import ANSWERS

__all__ = ["check_gaussian_mle", "check_kde_log_density", "check_minibatch_gradient",
           "check_linear_backward", "check_softmax_cross_entropy",
           "check_softmax_cross_entropy_grad", "check_naive_log_evidence",
           "check_log_evidence_1d", "check_posterior_1d", "check_kl_discrete",
           "check_mc_kl_gaussian", "check_moment_match"]


def _pair(result, what):
    return pair(result, 2, what, "mean, variance")


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
    x = rng.normal(rng.uniform(-3, 3), rng.uniform(0.5, 3), size=int(rng.integers(8, 30)))
    n = len(x)
    mean = math.fsum(x) / n
    var = math.fsum((v - mean) ** 2 for v in x) / n
    m, v = _pair(gaussian_mle(x.copy()), "gaussian_mle(x)")
    check_close(m, mean, "the mean", n=n, mistakes=[
        (var, "You returned (variance, mean): the exercise asks for the pair (mean, var)."),
        (float(np.median(x)), "You returned the median: the maximum-likelihood location of a "
                              "Gaussian is another statistic.")])
    check_close(v, var, "the variance", n=n, mistakes=[
        (var * n / (n - 1), "You divided by N-1 (the unbiased estimate): the maximum-likelihood "
                            "variance does not use Bessel's correction."),
        (math.sqrt(var), "You returned the standard deviation: the exercise asks for the "
                         "variance sigma^2."),
        (math.fsum(x * x) / n, "Your variance is taken about 0, not about the sample mean."),
        (math.sqrt(var * n / (n - 1)), "You returned the unbiased standard deviation: the "
                                       "exercise asks for the maximum-likelihood variance.")])
    ok("gaussian_mle")


@exercise(*ANSWERS["ex01_2"])
def check_kde_log_density(kde_log_density, seed: int = 0) -> None:
    r"""``kde_log_density(x_eval, x_data, bandwidth) -> (M,)``: the log of the 1-D Gaussian kernel
    density estimate :math:`\frac1N\sum_i\mathcal N(x; x_i, h^2)` (D1.3)."""
    rng = np.random.default_rng(seed)
    data = rng.normal(rng.uniform(-1, 1), 1.0, size=int(rng.integers(9, 16)))
    h = 0.25 + 0.5 * rng.random()
    x_eval = np.concatenate([rng.uniform(-3, 3, size=6), [data[0] + 60 * h]])   # one far away
    nd = len(data)

    def kde(var, norm=True, mean=True):
        return np.array([_lse([_log_normal(x, d, var) - (0 if norm else -0.5 * math.log(
            2 * math.pi * var)) for d in data]) - (math.log(nd) if mean else 0) for x in x_eval])
    want = kde(h * h)
    got = kde_log_density(x_eval.copy(), data.copy(), h)
    check_close(got, want, "kde_log_density(x_eval, x_data, bandwidth)", n=nd,
                shape_hint="One log-density per evaluation point.",
                nonfinite_hint="Far from the data every kernel underflows to 0: combine the "
                               "log-kernels in log space (log-sum-exp).",
                mistakes=[(kde(h * h, mean=False),
                           "You summed the kernels: the estimate averages them (log N is "
                           "missing)."),
                          (kde(h), "You used the bandwidth h as the kernel's variance: it is "
                                   "its standard deviation."),
                          (kde(h * h, norm=False), "Your kernels are not normalised: the "
                                                   "Gaussian's normalising constant is missing."),
                          (kde(h * h, norm=False, mean=False),
                           "Your kernels are not normalised and you summed them instead of "
                           "averaging.")])
    mass = quad(lambda t: np.exp(as_result(kde_log_density(t, data.copy(), h), "the density")),
                -12, 12)
    if abs(mass - 1) > 1e-4:
        fail(f"Your density integrates to {mass:.6f}, not 1.")
    ok("kde_log_density")


@exercise(*ANSWERS["ex01_3"])
def check_minibatch_gradient(minibatch_gradient, seed: int = 0) -> None:
    r"""``minibatch_gradient(x_batch, n_total, mean, var)``: the estimate of the full-data
    gradient with respect to the mean that is unbiased over the choice of minibatch (D1.5)."""
    rng = np.random.default_rng(seed)
    m = int(rng.integers(3, 8))
    n = m * int(rng.integers(3, 7))
    x = rng.normal(rng.uniform(-2, 2), 1.5, size=n)
    mean, var = float(rng.normal(0, 1)), float(rng.uniform(0.5, 3))
    full = math.fsum((v - mean) / var for v in x)           # gradient of the full log-likelihood
    one = x[:m]
    got = minibatch_gradient(one.copy(), n, mean, var)
    s = math.fsum((v - mean) / var for v in one)
    what = "minibatch_gradient(x_batch, n_total, mean, var)"
    check_close(got, n / m * s, what, shape_hint="Return one number.", mistakes=[
        (s, "You did not rescale: the minibatch sum covers only M of the N terms."),
        (s / m, "You averaged over the minibatch without scaling up to the N points."),
        (s / n, "You divided by N: the scale goes the other way (N terms estimated from M)."),
        (n / m * s * math.sqrt(var), "You divided by the standard deviation, not the variance."),
        (n / m * s * var, "You multiplied by the variance where the gradient divides by it."),
        (-n / m * s, "The gradient has the wrong sign: differentiate log p, not -log p, with "
                     "respect to the mean.")])
    perm = rng.permutation(n)
    ests = [minibatch_gradient(x[perm[i:i + m]], n, mean, var) for i in range(0, n, m)]
    avg = np.mean([float(as_result(e, what)) for e in ests])
    tol = 64 * max(low_precision(e) for e in ests) * max(1.0, abs(full), n * abs(avg))
    if abs(avg - full) > tol:
        fail(f"Averaged over a partition into minibatches your estimates give {avg:.6g}, the "
             f"full gradient is {full:.6g}: the estimator is biased.")
    ok("minibatch_gradient")


# ------------------------------------------------------------------------------ chapter 02
@exercise(*ANSWERS["ex02_1"])
def check_linear_backward(linear_backward, seed: int = 0) -> None:
    """``linear_backward(dy, x, W) -> (dx, dW, db)`` for ``y = x @ W + b`` (D2.4)."""
    rng = np.random.default_rng(seed)
    n, i, o = int(rng.integers(4, 8)), int(rng.integers(2, 6)), int(rng.integers(2, 6))
    if i == o:
        o += 1
    x, W, b = rng.standard_normal((n, i)), rng.standard_normal((i, o)), rng.standard_normal(o)
    dy = rng.standard_normal((n, o))
    dx, dW, db = pair(linear_backward(dy.copy(), x.copy(), W.copy()), 3,
                      "linear_backward(dy, x, W)", "dx, dW, db")
    check_shape(as_result(dx, "dx"), x.shape, "dx", "It has the shape of x: check which factor "
                                                    "is transposed.")
    check_gradient(dx, lambda v: np.sum(dy * (v @ W + b)), x, "dx", n=n)
    check_shape(as_result(dW, "dW"), W.shape, "dW", "It has the shape of W: check the order and "
                                                    "the transposes of the product.")
    check_gradient(dW, lambda v: np.sum(dy * (x @ v + b)), W, "dW", n=n)
    check_gradient(db, lambda v: np.sum(dy * (x @ W + v)), b, "db", n=n, mistakes=[
        (dy.mean(axis=0), "db is averaged over the batch: the bias is added to every row.")])
    ok("linear_backward")


def _xent_rows(logits, y):
    return [_lse(list(row)) - row[k] for row, k in zip(logits.tolist(), y.tolist())]


@exercise(*ANSWERS["ex02_2"])
def check_softmax_cross_entropy(softmax_cross_entropy, seed: int = 0) -> None:
    """``softmax_cross_entropy(logits, y) -> float``: the mean over rows of
    ``-log softmax(logits)[y]`` (D2.1), stable for large logits."""
    rng = np.random.default_rng(seed)
    n, c = int(rng.integers(4, 9)), int(rng.integers(3, 6))
    logits = rng.standard_normal((n, c)) * 3
    logits[0] += 900.0                                       # exp would overflow
    y = rng.integers(0, c, size=n)
    rows = _xent_rows(logits, y)
    want = math.fsum(rows) / n
    got = softmax_cross_entropy(logits.copy(), y.copy())
    picked = logits[np.arange(n), y]
    col = [_lse(list(logits[:, j])) for j in range(c)]
    check_close(got, want, "softmax_cross_entropy(logits, y)", n=n,
                shape_hint="Return one number (the mean over the rows).",
                nonfinite_hint="exp(900) overflows: shift each row before exponentiating.",
                mistakes=[(-float(picked.mean()), "The log-normaliser (the log of the softmax's "
                                                  "denominator) is missing."),
                          (float(np.mean([col[k] - picked[r] for r, k in enumerate(y)])),
                           "You normalised the softmax over axis 0 (the rows): normalise each "
                           "row over the classes."),
                          (float(np.mean([_lse(list(r)) for r in logits])),
                           "You left out the logit of the true class.")])
    ok("softmax_cross_entropy")


@exercise(*ANSWERS["ex02_3"])
def check_softmax_cross_entropy_grad(softmax_cross_entropy_grad, seed: int = 0) -> None:
    """``softmax_cross_entropy_grad(logits, y) -> (N, C)``: the gradient of the mean loss."""
    rng = np.random.default_rng(seed)
    n, c = int(rng.integers(4, 9)), int(rng.integers(3, 6))
    logits = rng.standard_normal((n, c)) * 2
    y = rng.integers(0, c, size=n)
    got = softmax_cross_entropy_grad(logits.copy(), y.copy())
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    onehot = np.eye(c)[y]
    e0 = np.exp(logits - logits.max(axis=0))
    p0 = e0 / e0.sum(axis=0)
    check_gradient(got, lambda v: math.fsum(_xent_rows(v, y)) / n, logits,
                   "softmax_cross_entropy_grad(logits, y)", n=n, mistakes=[
        (p / n, "The label's term is missing: the gradient of -logit_y is not included."),
        ((p0 - onehot) / n, "You normalised the softmax over axis 0 (the rows): normalise each "
                            "row over the classes."),
        (-onehot / n, "The log-normaliser's gradient (the softmax) is missing.")])
    ok("softmax_cross_entropy_grad")


# ------------------------------------------------------------------------------ chapter 03
@exercise(*ANSWERS["ex03_1"])
def check_naive_log_evidence(naive_log_evidence, seed: int = 0) -> None:
    r"""``naive_log_evidence(log_lik) -> float``: :math:`\log\frac1K\sum_k e^{\ell_k}` for
    ``log_lik[k] = log p(x | z_k)``, ``z_k ~ p(z)`` (D3.3), stable for very negative values."""
    rng = np.random.default_rng(seed)
    k = int(rng.integers(20, 80))
    log_lik = rng.normal(rng.uniform(-1300, -900), rng.uniform(1, 6), size=k)   # exp underflows
    want = _lse(list(log_lik)) - math.log(k)
    got = naive_log_evidence(log_lik.copy())
    check_close(got, want, "naive_log_evidence(log_lik)", shape_hint="Return one number.",
                nonfinite_hint="exp(-1000) underflows to 0: work in log space (log-sum-exp).",
                mistakes=[(want + math.log(k), "You returned the log of the sum: the estimate "
                                               "is the log of the mean, so log K is missing."),
                          (want - math.log(k), "You subtracted log K twice."),
                          (float(log_lik.mean()), "You averaged the log-likelihoods: that is "
                                                  "E[log p], a lower bound, not log E[p]."),
                          (float(log_lik.max()), "You returned the largest log-likelihood "
                                                 "only: the other terms are missing."),
                          (float(log_lik.max()) - math.log(k),
                           "You kept only the largest term of the sum.")])
    ok("naive_log_evidence")


def _evidence_quad(x, w, b, s2):
    return math.log(quad(lambda z: np.exp(-0.5 * (np.log(2 * np.pi * s2) + (x - w * z - b) ** 2
                                                  / s2) - 0.5 * (np.log(2 * np.pi) + z * z)),
                         -14, 14))


def _lg_params(rng):
    return (float(rng.uniform(0.8, 2.2)) * rng.choice([-1.0, 1.0]), float(rng.normal(0, 1)),
            float(rng.uniform(0.3, 1.6)))


@exercise(*ANSWERS["ex03_2"])
def check_log_evidence_1d(log_evidence_1d, seed: int = 0) -> None:
    r"""``log_evidence_1d(x, w, b, s2)`` for :math:`z\sim\mathcal N(0,1)`,
    :math:`x\mid z\sim\mathcal N(wz+b, s^2)`, element-wise in ``x`` (D3.1, D3.4)."""
    rng = np.random.default_rng(seed)
    w, b, s2 = _lg_params(rng)
    x = rng.normal(b, 2.0, size=int(rng.integers(4, 8)))
    want = np.array([_evidence_quad(v, w, b, s2) for v in x])
    got = log_evidence_1d(x.copy(), w, b, s2)
    mk = lambda var, c=b: np.array([_log_normal(v, c, var) for v in x])  # noqa: E731
    v = w * w + s2
    check_close(got, want, "log_evidence_1d(x, w, b, s2)", rtol=1e-8,
                shape_hint="One log-evidence per x.", mistakes=[
                    (mk(w * w), "Your variance leaves out the noise s2."),
                    (mk(s2), "Your variance leaves out the part the latent z contributes."),
                    (mk(abs(w) + s2), "The latent's part of your variance is linear in w: it "
                                      "scales with the square of w."),
                    (mk(v, 0.0), "Your mean ignores the offset b."),
                    (mk(math.sqrt(v)), "You used a standard deviation where the density "
                                       "needs the variance."),
                    (mk(v) - 0.5 * math.log(2 * math.pi * v) , "The log-normaliser is counted "
                                                               "twice."),
                    (-(x - b) ** 2 / (2 * v), "The Gaussian's log-normaliser is missing.")])
    ok("log_evidence_1d")


@exercise(*ANSWERS["ex03_3"])
def check_posterior_1d(posterior_1d, seed: int = 0) -> None:
    r"""``posterior_1d(x, w, b, s2) -> (mean, var)`` of :math:`p(z\mid x)` for the model of
    :func:`check_log_evidence_1d`, checked against the moments of the posterior by quadrature."""
    rng = np.random.default_rng(seed)
    w, b, s2 = _lg_params(rng)
    x = float(rng.normal(b, 2.0))
    joint = lambda z: np.exp(-0.5 * ((x - w * z - b) ** 2 / s2 + z * z))  # noqa: E731
    z0 = quad(joint, -14, 14)
    mean = quad(lambda z: z * joint(z), -14, 14) / z0
    var = quad(lambda z: (z - mean) ** 2 * joint(z), -14, 14) / z0
    m, v = _pair(posterior_1d(x, w, b, s2), "posterior_1d(x, w, b, s2)")
    check_close(v, var, "the posterior variance", rtol=1e-8, mistakes=[
        (mean, "You returned (variance, mean): the exercise asks for the pair (mean, var)."),
        (s2 / w ** 2, "Your variance forgets the prior: it is the likelihood's alone."),
        (1 / (1 + abs(w) / s2), "The likelihood's precision in your variance is linear in w: "
                                "it scales with the square of w."),
        (1 + w * w / s2, "You returned the posterior precision: the variance is its inverse."),
        (s2 / (1 + w * w), "You mixed up which variance sits where in the precisions.")])
    check_close(m, mean, "the posterior mean", rtol=1e-8, atol=1e-10, mistakes=[
        ((x - b) / w, "Your mean forgets the prior: it is not pulled towards 0."),
        (var * w * x / s2, "Your mean ignores the offset b."),
        (var * (x - b) / s2, "Your mean lacks the factor w of the likelihood's slope."),
        (var * w * (x - b), "Your mean lacks the division by the noise variance s2."),
        (w * (x - b) / s2, "Your mean is not multiplied by the posterior variance.")])
    ok("posterior_1d")


# ------------------------------------------------------------------------------ chapter 04
def _simplex(rng, k):
    p = rng.random(k) + 0.05
    return p / p.sum()


@exercise(*ANSWERS["ex04_1"])
def check_kl_discrete(kl_discrete, seed: int = 0) -> None:
    r"""``kl_discrete(p, q) -> float``: :math:`\sum_i p_i\log(p_i/q_i)`, with
    :math:`0\log 0 = 0` (D4.1)."""
    rng = np.random.default_rng(seed)
    k = int(rng.integers(4, 9))
    p, q = _simplex(rng, k), _simplex(rng, k)
    want = math.fsum(a * math.log(a / c) for a, c in zip(p, q))
    swapped = math.fsum(c * math.log(c / a) for a, c in zip(p, q))
    what = "kl_discrete(p, q)"
    check_close(kl_discrete(p.copy(), q.copy()), want, what,
                shape_hint="Return one number: the sum over the entries.", mistakes=[
                    (swapped, "You computed KL(q || p): the arguments are swapped."),
                    (want / math.log(2), "You used log base 2 (bits): use the natural log "
                                         "(nats)."),
                    (want / math.log(10), "You used log base 10: use the natural log (nats)."),
                    (float(np.sum(np.log(p / q))), "The terms are not weighted by p."),
                    (float(np.sum(q * np.log(p / q))), "You weighted the terms by q instead "
                                                       "of p.")])
    p[int(rng.integers(0, k))] = 0.0                           # 0 log 0 = 0
    p /= p.sum()
    want = math.fsum(a * math.log(a / c) for a, c in zip(p, q) if a > 0)
    check_close(kl_discrete(p.copy(), q.copy()), want, f"{what} with a zero in p",
                nonfinite_hint="An entry with p_i = 0 contributes 0: leave it out of the sum.")
    ok("kl_discrete")


def _mc_kl(mu1, lv1, mu2, lv2, eps, scale=None, stat=np.mean):
    x = mu1 + (math.exp(0.5 * lv1) if scale is None else scale) * eps
    return float(stat(-0.5 * (lv1 + (x - mu1) ** 2 / math.exp(lv1))
                      + 0.5 * (lv2 + (x - mu2) ** 2 / math.exp(lv2))))


@exercise(*ANSWERS["ex04_2"])
def check_mc_kl_gaussian(mc_kl_gaussian, seed: int = 0) -> None:
    r"""``mc_kl_gaussian(mu1, logvar1, mu2, logvar2, eps) -> float``: the Monte-Carlo estimate
    :math:`\frac1K\sum_k[\log p_1(x_k)-\log p_2(x_k)]`, :math:`x_k=\mu_1+\sigma_1\varepsilon_k`
    (D4.3); it must also approach the KL computed by quadrature as K grows."""
    rng = np.random.default_rng(seed)
    mu1, mu2 = float(rng.normal(0, 1)), float(rng.normal(0, 1))
    lv1, lv2 = float(rng.uniform(-1, 0.2)), float(rng.uniform(0.3, 1.2))
    eps = rng.standard_normal(int(rng.integers(30, 60)))
    k = len(eps)
    want = math.fsum(_log_normal(mu1 + math.exp(0.5 * lv1) * e, mu1, math.exp(lv1))
                     - _log_normal(mu1 + math.exp(0.5 * lv1) * e, mu2, math.exp(lv2))
                     for e in eps) / k
    args = (mu1, lv1, mu2, lv2, eps)
    got = mc_kl_gaussian(mu1, lv1, mu2, lv2, eps.copy())
    check_close(got, want, "mc_kl_gaussian(mu1, logvar1, mu2, logvar2, eps)", n=k,
                shape_hint="Return one number (the average over the samples).",
                mistakes=[(_mc_kl(*args, scale=math.exp(lv1)),
                           "You scaled eps by exp(logvar1), the variance: x_k needs the "
                           "standard deviation."),
                          (_mc_kl(*args, scale=1.0), "You did not scale eps: the samples must "
                                                     "come from p1."),
                          (_mc_kl(*args, scale=math.exp(0.5 * lv2)),
                           "You sampled with the standard deviation of p2: the samples come "
                           "from p1."),
                          (_mc_kl(*args, scale=lv1), "You scaled eps by logvar1 itself, not by "
                                                     "a standard deviation.")])
    big = rng.standard_normal(200_000)
    est = float(as_result(mc_kl_gaussian(mu1, lv1, mu2, lv2, big), "the estimate"))
    p1 = lambda t: np.exp(-0.5 * (np.log(2 * np.pi) + lv1 + (t - mu1) ** 2 / math.exp(lv1)))  # noqa
    exact = quad(lambda t: p1(t) * (np.log(p1(t) + 1e-300) + 0.5 * (np.log(2 * np.pi) + lv2
                                    + (t - mu2) ** 2 / math.exp(lv2))), -15 + mu1, 15 + mu1)
    if abs(est - exact) > 0.02 + 5 * abs(exact) / math.sqrt(200_000):
        fail(f"With 200 000 samples your estimate is {est:.4f}, the KL by quadrature {exact:.4f}.")
    ok("mc_kl_gaussian")


@exercise(*ANSWERS["ex04_3"])
def check_moment_match(moment_match, seed: int = 0) -> None:
    r"""``moment_match(weights, means, variances) -> (mean, var)``: the Gaussian that minimises
    the forward KL to a 1-D Gaussian mixture matches its mean and variance (D4.2)."""
    rng = np.random.default_rng(seed)
    c = int(rng.integers(2, 6))
    w = rng.random(c) + 0.2
    w /= w.sum()
    mus, vs = rng.normal(0, 2, size=c), 0.2 + rng.random(c)
    dens = lambda t: sum(wi * np.exp(-0.5 * (t - m) ** 2 / v) / np.sqrt(2 * np.pi * v)  # noqa
                         for wi, m, v in zip(w, mus, vs))
    mean = quad(lambda t: t * dens(t), -25, 25)
    var = quad(lambda t: (t - mean) ** 2 * dens(t), -25, 25)
    m, v = _pair(moment_match(w.copy(), mus.copy(), vs.copy()), "moment_match")
    check_close(m, mean, "the mean", rtol=1e-8, mistakes=[
        (var, "You returned (variance, mean): the exercise asks for the pair (mean, var)."),
        (float(mus.mean()), "Your mean ignores the weights."),
        (float(np.sum(mus)), "Your mean ignores the weights (and sums the component means).")])
    check_close(v, var, "the variance", rtol=1e-8, mistakes=[
        (float(w @ vs), "Your variance leaves out the spread of the component means."),
        (float(w @ (vs + mus ** 2)), "Your variance is taken about 0: the squared mixture mean "
                                     "is not subtracted."),
        (float(w @ mus ** 2 - mean ** 2), "Your variance leaves out the components' own "
                                          "variances."),
        (float(np.var(mus) + vs.mean()), "Your variance ignores the weights."),
        (float(w @ (vs + mus ** 2) - mus.mean() ** 2), "The mean you subtract ignores the "
                                                       "weights.")])
    ok("moment_match")
