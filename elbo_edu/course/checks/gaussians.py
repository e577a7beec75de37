r"""Graders of the exercises of chapters 05-08 (Gaussian KL, ELBO, likelihoods, reparameterization).

Conventions as in the package: Gaussians by ``logvar`` :math:`=\log\sigma^2`; log-densities sum
over the last axis. Reference values come from quadrature, Python's ``math`` on scalars, or
finite differences -- never from the package function the student is re-writing.
"""
from __future__ import annotations

import math

import numpy as np

from .answers import ANSWERS
from ..grading import exercise, pair, as_result, check_close, check_gradient, fail, ok, quad
from .reference import bernoulli_log_prob_ref, kl_std_normal_ref, linear_gaussian_1d

__all__ = ["check_kl_normal_1d", "check_kl_std_normal", "check_kl_std_normal_grad",
           "check_elbo_linear_gaussian", "check_gaussian_entropy", "check_elbo_gap",
           "check_gaussian_log_lik", "check_bernoulli_log_lik", "check_bernoulli_log_lik_grad",
           "check_reparameterize", "check_reparameterize_grad", "check_score_function_grad",
           "kl_quad", "elbo_quad_1d", "log_evidence_quad_1d"]

_L2PI = math.log(2 * math.pi)


def kl_quad(mu1, lv1, mu2, lv2) -> float:
    r""":math:`\mathrm{KL}(\mathcal N(\mu_1,e^{lv_1})\,\|\,\mathcal N(\mu_2,e^{lv_2}))` by Simpson
    quadrature of :math:`\int p_1(\log p_1-\log p_2)` over :math:`\mu_1\pm 14\sigma_1`."""
    s1 = math.exp(0.5 * lv1)

    def f(t):
        l1 = -0.5 * (_L2PI + lv1 + (t - mu1) ** 2 / math.exp(lv1))
        l2 = -0.5 * (_L2PI + lv2 + (t - mu2) ** 2 / math.exp(lv2))
        return np.exp(l1) * (l1 - l2)
    return quad(f, mu1 - 14 * s1, mu1 + 14 * s1)


def _kl_logsigma(mu1, lv1, mu2, lv2):          # the slip: logvar read as log sigma
    return lv2 - lv1 + (np.exp(2 * lv1) + (mu1 - mu2) ** 2) / (2 * np.exp(2 * lv2)) - 0.5


# ------------------------------------------------------------------------------ chapter 05
@exercise(*ANSWERS["ex05_1"])
def check_kl_normal_1d(kl_normal_1d, seed: int = 0) -> None:
    """``kl_normal_1d(mu1, logvar1, mu2, logvar2)``: element-wise KL between 1-D Gaussians (D5.3)."""
    rng = np.random.default_rng(seed)
    k = int(rng.integers(4, 8))
    a = [rng.normal(0, 1, k) for _ in range(4)]
    mu1, lv1, mu2, lv2 = a[0], 0.7 * a[1], a[2], 0.7 * a[3]
    want = np.array([kl_quad(*t) for t in zip(mu1, lv1, mu2, lv2)])
    v1, v2 = np.exp(lv1), np.exp(lv2)
    got = kl_normal_1d(mu1.copy(), lv1.copy(), mu2.copy(), lv2.copy())
    swapped = np.array([kl_quad(*t) for t in zip(mu2, lv2, mu1, lv1)])
    check_close(got, want, "kl_normal_1d(mu1, logvar1, mu2, logvar2)", rtol=1e-8,
                shape_hint="The KL is element-wise here: no sum.",
                mistakes=[(swapped, "You computed KL(p2 || p1): the arguments are swapped."),
                          (_kl_logsigma(mu1, lv1, mu2, lv2),
                           "You read logvar as log sigma: sigma^2 = exp(logvar), not "
                           "exp(2 logvar)."),
                          (lv2 - lv1 + (v1 + (mu1 - mu2) ** 2) / v2 - 1,
                           "The factor 1/2 is missing on the whole KL."),
                          (0.5 * (lv2 - lv1 + (v1 + (mu1 - mu2) ** 2) / v2) - 1,
                           "The constant term lacks its factor 1/2."),
                          (0.5 * (2 * (lv2 - lv1) + (v1 + (mu1 - mu2) ** 2) / v2 - 1),
                           "The log-variance term has an extra factor 2 (a missing 1/2)."),
                          (0.5 * (lv1 - lv2 + (v1 + (mu1 - mu2) ** 2) / v2 - 1),
                           "The log-variance term has the wrong sign."),
                          (0.5 * (lv2 - lv1 + (v1 + (mu1 - mu2) ** 2) / v2 + 1),
                           "The constant term has the wrong sign."),
                          (0.5 * (lv2 - lv1 + (v1 + (mu1 - mu2) ** 2) / v2),
                           "The constant term is missing."),
                          (0.5 * (lv2 - lv1 + v1 / v2 - 1),
                           "The squared difference of the means is missing."),
                          (0.5 * (lv2 - lv1 + (v1 + (mu1 - mu2) ** 2) / v1 - 1),
                           "You divided by the first variance: the quadratic term is measured "
                           "in the second distribution's variance.")])
    ok("kl_normal_1d")


@exercise(*ANSWERS["ex05_2"])
def check_kl_std_normal(kl_std_normal, seed: int = 0) -> None:
    """``kl_std_normal(mu, logvar) -> (N,)``: KL to N(0, I), summed over the last axis (D5.4)."""
    rng = np.random.default_rng(seed)
    n, z = int(rng.integers(2, 6)), int(rng.integers(3, 6))
    mu, lv = rng.normal(0, 1, (n, z)), rng.normal(0, 0.7, (n, z))
    per = np.array([[kl_quad(m, v, 0.0, 0.0) for m, v in zip(mr, vr)] for mr, vr in zip(mu, lv)])
    want = per.sum(axis=1)
    e = np.exp(lv)
    got = kl_std_normal(mu.copy(), lv.copy())
    check_close(got, want, "kl_std_normal(mu, logvar)", rtol=1e-8, n=z,
                shape_hint="Sum over the last axis (the latent dimensions): one KL per row.",
                mistakes=[(_kl_logsigma(mu, lv, 0, 0).sum(axis=1),
                           "You read logvar as log sigma: sigma^2 = exp(logvar)."),
                          (per.mean(axis=1), f"You averaged over the {z} latent dimensions: the "
                                             "KL of a row sums over them."),
                          (np.full(n, want.mean()), "You averaged the KL over the batch: the "
                                                    "exercise asks for one KL per row."),
                          (np.sum(e + mu * mu - 1 - lv, axis=1), "The factor 1/2 is missing."),
                          (0.5 * np.sum(e + mu * mu + 1 - lv, axis=1), "The constant term has "
                                                                      "the wrong sign."),
                          (0.5 * np.sum(e + mu * mu - 1 + lv, axis=1), "The logvar term has "
                                                                      "the wrong sign."),
                          (0.5 * np.sum(e - 1 - lv, axis=1), "The mu term is missing."),
                          (0.5 * np.sum(e + mu * mu - lv, axis=1), "The constant term is "
                                                                   "missing.")])
    ok("kl_std_normal")


@exercise(*ANSWERS["ex05_3"])
def check_kl_std_normal_grad(kl_std_normal_grad, seed: int = 0) -> None:
    """``kl_std_normal_grad(mu, logvar) -> (dmu, dlogvar)``: the gradient of the summed KL (D5.5)."""
    rng = np.random.default_rng(seed)
    n, z = int(rng.integers(2, 6)), int(rng.integers(3, 6))
    mu, lv = rng.normal(0, 1, (n, z)), rng.normal(0, 0.7, (n, z))
    res = pair(kl_std_normal_grad(mu.copy(), lv.copy()), 2, "kl_std_normal_grad(mu, logvar)",
               "dmu, dlogvar")
    sigma, e = np.exp(0.5 * lv), np.exp(lv)
    check_gradient(res[0], lambda m: kl_std_normal_ref(m, lv).sum(), mu, "dmu", n=n, mistakes=[
        (mu / n, "dmu is averaged over the batch: the exercise differentiates the sum of the "
                 "KLs.")])
    check_gradient(res[1], lambda v: kl_std_normal_ref(mu, v).sum(), lv, "dlogvar", n=n, mistakes=[
        (sigma - 1 / sigma, "That is the derivative with respect to sigma: differentiate with "
                            "respect to logvar."),
        (0.5 * (e - 1 - lv), "dlogvar is the KL itself (without its mu term), not its "
                             "derivative."),
        (0.5 * (1 - 1 / e), "dlogvar looks like a derivative with respect to the variance "
                            "taken the wrong way: differentiate with respect to logvar."),
        (e - 1, "dlogvar is twice the expected value: is a factor 1/2 missing?"),
        (0.5 * (e + 1), "The derivative of the -logvar term has the wrong sign."),
        (0.5 * e, "The derivative of the -logvar term is missing.")])
    ok("kl_std_normal_grad")


# ------------------------------------------------------------------------------ chapter 06
def _log_joint(z, x, w, b, s2):
    return -0.5 * (_L2PI + math.log(s2) + (x - w * z - b) ** 2 / s2) - 0.5 * (_L2PI + z * z)


def elbo_quad_1d(x, w, b, s2, m, lv) -> float:
    r"""ELBO of the 1-D linear-Gaussian model by quadrature: :math:`\int q(\log p(x,z)-\log q)`."""
    s = math.exp(0.5 * lv)

    def f(z):
        lq = -0.5 * (_L2PI + lv + (z - m) ** 2 / math.exp(lv))
        return np.exp(lq) * (_log_joint(z, x, w, b, s2) - lq)
    return quad(f, m - 14 * s, m + 14 * s)


def log_evidence_quad_1d(x, w, b, s2) -> float:
    """log p(x) of the 1-D linear-Gaussian model by quadrature over z."""
    return math.log(quad(lambda z: np.exp(_log_joint(z, x, w, b, s2)), -16, 16))


@exercise(*ANSWERS["ex06_1"])
def check_elbo_linear_gaussian(elbo_linear_gaussian, seed: int = 0) -> None:
    r"""``elbo_linear_gaussian(x, w, b, s2, m, logvar)``: the ELBO in closed form for
    :math:`z\sim\mathcal N(0,1)`, :math:`x\mid z\sim\mathcal N(wz+b,s^2)`,
    :math:`q=\mathcal N(m, e^{\mathrm{logvar}})` (D6.3), checked by quadrature."""
    x, w, b, s2, m, lv = linear_gaussian_1d(seed)
    want = elbo_quad_1d(x, w, b, s2, m, lv)
    v = math.exp(lv)
    got = elbo_linear_gaussian(x, w, b, s2, m, lv)
    check_close(got, want, "elbo_linear_gaussian(...)", rtol=1e-8, mistakes=[
        (want + w * w * v / (2 * s2), "Your expected reconstruction term ignores the spread of "
                                      "q: it is evaluated at z = m only."),
        (want - 0.5 * (_L2PI + 1 + lv), "The entropy of q is missing."),
        (want + 0.5 * v, "Your expected log-prior ignores the spread of q: it is evaluated at "
                         "z = m only."),
        (want + w * w * v / (2 * s2) + 0.5 * v, "Both expectations ignore the spread of q: they "
                                                "are evaluated at z = m only."),
        (want - (_L2PI + 1 + lv), "The entropy of q has the wrong sign."),
        (want - 0.5 * lv, "The entropy uses logvar as log sigma (a factor 1/2 missing on "
                          "logvar)."),
        (want + 0.5 * (math.log(s2) + _L2PI), "The reconstruction term lacks its "
                                              "log-normaliser."),
        (want + w * w * (v - math.exp(2 * lv)) / (2 * s2) + 0.5 * (v - math.exp(2 * lv))
         + 0.5 * lv, "You read logvar as log sigma: sigma^2 = exp(logvar).")])
    ok("elbo_linear_gaussian")


@exercise(*ANSWERS["ex06_2"])
def check_gaussian_entropy(gaussian_entropy, seed: int = 0) -> None:
    r"""``gaussian_entropy(logvar)``: element-wise :math:`H[\mathcal N(\mu, e^{\mathrm{logvar}})]`
    (D6.4), checked by quadrature of :math:`-\int q\log q`."""
    rng = np.random.default_rng(seed)
    lv = rng.normal(0, 1.5, int(rng.integers(3, 7)))
    want = np.array([-quad(lambda t: np.exp(-0.5 * (_L2PI + v + t * t / math.exp(v))) *
                           (-0.5 * (_L2PI + v + t * t / math.exp(v))),
                           -14 * math.exp(0.5 * v), 14 * math.exp(0.5 * v)) for v in lv])
    got = gaussian_entropy(lv.copy())
    check_close(got, want, "gaussian_entropy(logvar)", rtol=1e-8, mistakes=[
        (0.5 * (_L2PI + 1) + lv, "You read logvar as log sigma: sigma^2 = exp(logvar)."),
        (0.5 * (_L2PI + 1) + 0.25 * lv, "The logvar term has an extra factor 1/2."),
        (0.5 * (_L2PI + lv), "The constant lacks the e of log(2 pi e) (the +1)."),
        (0.5 * (math.log(2) + 1 + lv), "The constant uses log 2 where log 2 pi belongs."),
        (0.5 * lv, "The constant term is missing."),
        (-0.5 * (_L2PI + 1 + lv), "The entropy has the wrong sign: it is -E[log q]."),
        (0.5 * (_L2PI + 1 + np.exp(lv)), "You used the variance itself where its log belongs.")])
    ok("gaussian_entropy")


@exercise(*ANSWERS["ex06_3"])
def check_elbo_gap(elbo_gap, seed: int = 0) -> None:
    r"""``elbo_gap(x, w, b, s2, m, logvar)``: :math:`\log p(x)-\mathrm{ELBO}
    =\mathrm{KL}(q\,\|\,p(z\mid x))` (D6.2), checked as a difference of two quadratures."""
    x, w, b, s2, m, lv = linear_gaussian_1d(seed)
    want = log_evidence_quad_1d(x, w, b, s2) - elbo_quad_1d(x, w, b, s2, m, lv)
    pv = s2 / (s2 + w * w)
    pm = pv * w * (x - b) / s2
    reverse = kl_quad(pm, math.log(pv), m, lv)
    got = elbo_gap(x, w, b, s2, m, lv)
    elbo = elbo_quad_1d(x, w, b, s2, m, lv)
    logp = log_evidence_quad_1d(x, w, b, s2)
    check_close(got, want, "elbo_gap(...)", rtol=1e-7, mistakes=[
        (reverse, "You computed KL(p(z|x) || q): the direction is the other way round."),
        (kl_quad(m, lv, 0.0, 0.0), "You computed the KL from q to the prior: the gap is measured "
                                   "to the posterior."),
        (-want, "The gap has the wrong sign: it is the evidence minus the ELBO."),
        (kl_quad(m, lv, pm * s2 / (s2 + w * w) / pv, math.log(pv)),
         "Your posterior mean is off."),
        (kl_quad(m, lv, (x - b) / w, math.log(s2 / w ** 2)), "Your posterior forgets the prior."),
        (kl_quad(m, lv, w * x / (s2 + w * w), math.log(pv)), "Your posterior mean ignores the "
                                                              "offset b."),
        (logp, "You returned the log-evidence alone: the ELBO is not subtracted."),
        (-elbo, "You returned the negative ELBO: the log-evidence is missing.")])
    if float(as_result(got, "elbo_gap")) < 0:
        fail("A gap below zero would make the ELBO exceed the evidence.")
    ok("elbo_gap")


# ------------------------------------------------------------------------------ chapter 07
@exercise(*ANSWERS["ex07_1"])
def check_gaussian_log_lik(gaussian_log_lik, seed: int = 0) -> None:
    """``gaussian_log_lik(x, mean, logvar) -> (N,)``: diagonal Gaussian, summed over D (D7.1)."""
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(2, 6)), int(rng.integers(3, 8))
    x, mean, lv = rng.normal(0, 1, (n, d)), rng.normal(0, 1, (n, d)), rng.normal(0, 0.7, (n, d))
    want = np.array([math.fsum(-0.5 * math.log(2 * math.pi * math.exp(v)) - (a - m) ** 2 /
                               (2 * math.exp(v)) for a, m, v in zip(xr, mr, vr))
                     for xr, mr, vr in zip(x, mean, lv)])
    got = gaussian_log_lik(x.copy(), mean.copy(), lv.copy())
    wrong = np.sum(-0.5 * (_L2PI + 2 * lv) - (x - mean) ** 2 / (2 * np.exp(2 * lv)), axis=1)
    r2, e = (x - mean) ** 2, np.exp(lv)
    check_close(got, want, "gaussian_log_lik(x, mean, logvar)", n=d,
                shape_hint="Sum over the last axis: one log-density per row.",
                mistakes=[(wrong, "You read logvar as log sigma: sigma^2 = exp(logvar)."),
                          (np.sum(-0.5 * (_L2PI + lv) - r2 / e, axis=1),
                           "The squared-error term lacks its factor 1/2."),
                          (np.sum(-0.5 * _L2PI - lv - r2 / (2 * e), axis=1),
                           "The logvar term lacks its factor 1/2."),
                          (np.sum(-0.5 * (_L2PI + lv) - r2 * e / 2, axis=1),
                           "You multiplied the squared error by the variance where it is "
                           "divided."),
                          (np.sum(-0.5 * (_L2PI + lv) - r2 / (2 * np.exp(0.5 * lv)), axis=1),
                           "You divided the squared error by the standard deviation, not the "
                           "variance."),
                          (np.sum(-0.5 * lv - r2 / (2 * e), axis=1) - 0.5 * _L2PI,
                           "The log 2 pi term is counted once per row instead of once per "
                           "dimension.")])
    ok("gaussian_log_lik")


@exercise(*ANSWERS["ex07_2"])
def check_bernoulli_log_lik(bernoulli_log_lik, seed: int = 0) -> None:
    """``bernoulli_log_lik(x, logits) -> (N,)``: stable for any logit, summed over D (D7.2)."""
    rng = np.random.default_rng(seed)
    x = rng.random((3, 6))
    logits = rng.normal(0, 3, (3, 6))
    logits[0, :2] = [800.0, -800.0]                       # exp overflows in float64
    want = bernoulli_log_prob_ref(x, logits).sum(axis=1)
    got = bernoulli_log_lik(x.copy(), logits.copy())
    sp = np.logaddexp(0.0, logits)
    check_close(got, want, "bernoulli_log_lik(x, logits)", n=6,
                shape_hint="Sum over the last axis: one log-likelihood per row.",
                nonfinite_hint="exp(800) overflows: rewrite log(1 + e^l) so that nothing "
                               "large is exponentiated.",
                mistakes=[(np.sum(x * logits - np.logaddexp(0.0, -logits), axis=1),
                           "The log-normaliser has the wrong sign inside: it is log(1 + e^l) "
                           "that is subtracted."),
                          (np.sum(x * logits, axis=1),
                           "The log-normaliser is missing."),
                          (np.sum((1 - x) * logits - sp, axis=1),
                           "You swapped x and 1 - x: the logit is the log-odds of x = 1."),
                          (np.sum(x * logits - np.maximum(logits, 0), axis=1),
                           "The log1p part of the stable softplus is missing."),
                          (np.sum(x * logits - np.maximum(logits, 0) - np.log1p(np.exp(logits)),
                                  axis=1), "Your stable softplus uses exp(l) where the "
                                           "exponent must never be positive."),
                          (np.sum(x * np.log(np.clip(1 / (1 + np.exp(-logits)), 1e-300, None))
                                  + (1 - x) * np.log(np.clip(1 - 1 / (1 + np.exp(-logits)),
                                                             1e-300, None)), axis=1),
                           "log(sigmoid) is computed as the log of a rounded probability: at "
                           "logits of +-800 it loses everything; stay in log space.")])
    ok("bernoulli_log_lik")


@exercise(*ANSWERS["ex07_3"])
def check_bernoulli_log_lik_grad(bernoulli_log_lik_grad, seed: int = 0) -> None:
    """``bernoulli_log_lik_grad(x, logits) -> (N, D)``: d/dlogits of the summed log-likelihood."""
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(2, 6)), int(rng.integers(3, 8))
    x, logits = rng.random((n, d)), rng.normal(0, 2, (n, d))
    got = bernoulli_log_lik_grad(x.copy(), logits.copy())
    sig = 1 / (1 + np.exp(-logits))
    check_gradient(got, lambda v: bernoulli_log_prob_ref(x, v).sum(), logits,
                   "bernoulli_log_lik_grad(x, logits)", n=n, mistakes=[
        (x - 1 + sig, "You used sigmoid(-l) where sigmoid(l) belongs."),
        (x - np.exp(logits), "You used e^l where the logistic sigmoid belongs."),
        (x * (1 - sig), "Only the x = 1 part of the derivative is there."),
        (sig * (1 - sig), "You returned the derivative of the sigmoid: differentiate the "
                          "log-likelihood."),
        (-sig, "The x term of the derivative is missing."),
        ((x - sig) / d, f"You averaged over the {d} dimensions: the log-likelihood sums "
                        f"over them.")])
    ok("bernoulli_log_lik_grad")


# ------------------------------------------------------------------------------ chapter 08
@exercise(*ANSWERS["ex08_1"])
def check_reparameterize(reparameterize, seed: int = 0) -> None:
    r"""``reparameterize(mu, logvar, eps)``: :math:`z=\mu+\sigma\varepsilon` (D8.1); its samples
    must also have mean ``mu`` and variance ``exp(logvar)``."""
    rng = np.random.default_rng(seed)
    n, z = int(rng.integers(2, 6)), int(rng.integers(2, 5))
    mu, lv, eps = rng.normal(0, 1, (n, z)), rng.normal(0, 0.8, (n, z)), rng.standard_normal((n, z))
    want = mu + np.sqrt(np.exp(lv)) * eps
    got = reparameterize(mu.copy(), lv.copy(), eps.copy())
    check_close(got, want, "reparameterize(mu, logvar, eps)", mistakes=[
        (mu + np.exp(lv) * eps, "You scaled eps by the variance exp(logvar): the standard "
                                "deviation is exp(logvar / 2)."),
        (mu + lv * eps, "You scaled eps by logvar itself, not by a standard deviation."),
        (mu + np.exp(2 * lv) * eps, "The scale of eps is off by a power: it is the standard "
                                    "deviation, from logvar = log sigma^2."),
        (mu * np.exp(0.5 * lv) + eps, "You scaled mu instead of eps."),
        (mu - np.exp(0.5 * lv) * eps, "The noise enters with the wrong sign (it still has mean "
                                      "0, but the gradient checks downstream will disagree)."),
        (np.exp(0.5 * lv) * eps, "mu is missing: the samples are not centred at the mean."),
        (mu + np.exp(0.5 * lv), "eps is missing: the sample is deterministic.")])
    big = rng.standard_normal((100_000, 1))
    m0, l0 = float(rng.normal(0, 1)), float(rng.uniform(-1, 1))
    z = as_result(reparameterize(np.full((100_000, 1), m0), np.full((100_000, 1), l0), big), "z")
    if abs(z.mean() - m0) > 0.02 or abs(z.var() / math.exp(l0) - 1) > 0.03:
        fail(f"100 000 samples have mean {z.mean():.3f} and variance {z.var():.3f}, expected "
             f"{m0:.3f} and {math.exp(l0):.3f}.")
    ok("reparameterize")


@exercise(*ANSWERS["ex08_2"], unused=(0,))
def check_reparameterize_grad(reparameterize_grad, seed: int = 0) -> None:
    """``reparameterize_grad(mu, logvar, eps, dz) -> (dmu, dlogvar)``: the vector-Jacobian
    products of z = mu + exp(logvar/2) eps (D8.1), checked by finite differences."""
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(2, 6)), int(rng.integers(2, 5)))
    mu, lv, eps, dz = (rng.normal(0, 1, shape) for _ in range(4))
    res = pair(reparameterize_grad(mu.copy(), lv.copy(), eps.copy(), dz.copy()), 2,
               "reparameterize_grad(mu, logvar, eps, dz)", "dmu, dlogvar")
    z = lambda m, v: m + np.exp(0.5 * v) * eps  # noqa: E731
    sigma = np.exp(0.5 * lv)
    check_gradient(res[0], lambda m: np.sum(dz * z(m, lv)), mu, "dmu", mistakes=[
        (np.ones_like(mu), "dmu ignores the upstream gradient dz (the chain rule)."),
        (dz * sigma, "dmu has a factor sigma: z depends on mu with slope 1.")])
    check_gradient(res[1], lambda v: np.sum(dz * z(mu, v)), lv, "dlogvar", mistakes=[
        (dz * np.exp(lv) * eps * 0.5, "dlogvar uses the variance where the standard deviation "
                                      "belongs."),
        (dz * np.exp(lv) * eps, "dlogvar uses the variance where the standard deviation "
                                "belongs, and lacks a factor 1/2."),
        (0.5 * sigma * eps, "dlogvar ignores the upstream gradient dz (the chain rule)."),
        (0.5 * dz * sigma, "dlogvar lacks the factor eps."),
        (dz * eps / (2 * sigma), "dlogvar divides by sigma where it multiplies.")])
    ok("reparameterize_grad")


@exercise(*ANSWERS["ex08_3"])
def check_score_function_grad(score_function_grad, seed: int = 0) -> None:
    r"""``score_function_grad(f, mu, logvar, eps)``: the score-function estimate of
    :math:`\partial_\mu E_{z\sim\mathcal N(\mu,\sigma^2)}[f(z)]`,
    :math:`\frac1K\sum_k f(z_k)(z_k-\mu)/\sigma^2` with :math:`z_k=\mu+\sigma\varepsilon_k` (D8.2)."""
    rng = np.random.default_rng(seed)
    mu, lv = float(rng.normal(0, 1)), float(rng.uniform(-1.2, 0.3))
    f = lambda z: z * z + np.sin(z)  # noqa: E731
    eps = rng.standard_normal(int(rng.integers(20, 50)))
    s = math.exp(0.5 * lv)
    zs = [mu + s * e for e in eps]
    want = math.fsum((z * z + math.sin(z)) * (z - mu) / s ** 2 for z in zs) / len(zs)
    wrong = math.fsum((z * z + math.sin(z)) * (z - mu) / s for z in zs) / len(zs)
    got = score_function_grad(f, mu, lv, eps.copy())
    fz = np.array([z * z + math.sin(z) for z in zs])
    za = np.array(zs)
    check_close(got, want, "score_function_grad(f, mu, logvar, eps)", n=len(eps), mistakes=[
        (wrong, "Your score divides by the standard deviation where the variance belongs."),
        (float(np.mean(fz * (za - mu))), "Your score does not divide by the variance."),
        (float(np.mean((za - mu) / s ** 2)), "f(z) is missing from your estimate: the score "
                                             "is only its weight."),
        (float(np.mean(fz * (za - mu) * math.exp(lv))), "Your score multiplies by the variance "
                                                        "where it divides."),
        (float(np.mean(2 * za + np.cos(za))), "You returned the pathwise estimate (the average "
                                              "of f'(z)): the exercise asks for the "
                                              "score-function one."),
        (float(np.mean(fz * (mu - za) / math.exp(lv))), "The score has the wrong sign.")])
    big = rng.standard_normal(400_000)
    est = float(as_result(score_function_grad(f, mu, lv, big), "the estimate"))
    exact = 2 * mu + math.cos(mu) * math.exp(-0.5 * s * s)   # d/dmu of mu^2+s^2+sin(mu)e^{-s^2/2}
    if abs(est - exact) > 0.05:
        fail(f"With 400 000 samples your estimate is {est:.4f}, the exact gradient {exact:.4f}.")
    ok("score_function_grad")
