r"""Graders of the exercises of chapters 05-08 (Gaussian KL, ELBO, likelihoods, reparameterization).

Conventions as in the package: Gaussians by ``logvar`` :math:`=\log\sigma^2`; log-densities sum
over the last axis. Reference values come from quadrature, Python's ``math`` on scalars, or
finite differences -- never from the package function the student is re-writing.
"""
from __future__ import annotations

import math

import numpy as np

from .answers import ANSWERS
from ..grading import exercise, pair, as_result, check_close, check_gradient, check_shape, fail, ok, quad

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


def _kl_closed(mu, lv):                        # KL(N(mu, e^lv) || N(0, 1)), element-wise
    return 0.5 * (np.exp(lv) + mu * mu - 1.0 - lv)


def _kl_logsigma(mu1, lv1, mu2, lv2):          # the slip: logvar read as log sigma
    return lv2 - lv1 + (np.exp(2 * lv1) + (mu1 - mu2) ** 2) / (2 * np.exp(2 * lv2)) - 0.5


# ------------------------------------------------------------------------------ chapter 05
@exercise(*ANSWERS["ex05_1"])
def check_kl_normal_1d(kl_normal_1d, seed: int = 0) -> None:
    """``kl_normal_1d(mu1, logvar1, mu2, logvar2)``: element-wise KL between 1-D Gaussians (D5.3)."""
    rng = np.random.default_rng(seed)
    a = [rng.normal(0, 1, 5) for _ in range(4)]
    mu1, lv1, mu2, lv2 = a[0], 0.5 * a[1], a[2], 0.5 * a[3]
    want = np.array([kl_quad(*t) for t in zip(mu1, lv1, mu2, lv2)])
    got = kl_normal_1d(mu1.copy(), lv1.copy(), mu2.copy(), lv2.copy())
    swapped = np.array([kl_quad(*t) for t in zip(mu2, lv2, mu1, lv1)])
    check_close(got, want, "kl_normal_1d(mu1, logvar1, mu2, logvar2)", rtol=1e-8,
                shape_hint="The KL is element-wise here: no sum.",
                mistakes=[(swapped, "You computed KL(p2 || p1): the arguments are swapped."),
                          (_kl_logsigma(mu1, lv1, mu2, lv2),
                           "You read logvar as log sigma: sigma^2 = exp(logvar), not "
                           "exp(2 logvar).")])
    ok("kl_normal_1d")


@exercise(*ANSWERS["ex05_2"])
def check_kl_std_normal(kl_std_normal, seed: int = 0) -> None:
    """``kl_std_normal(mu, logvar) -> (N,)``: KL to N(0, I), summed over the last axis (D5.4)."""
    rng = np.random.default_rng(seed)
    n, z = 3, 4
    mu, lv = rng.normal(0, 1, (n, z)), rng.normal(0, 0.7, (n, z))
    want = np.array([[kl_quad(m, v, 0.0, 0.0) for m, v in zip(mr, vr)]
                     for mr, vr in zip(mu, lv)]).sum(axis=1)
    got = kl_std_normal(mu.copy(), lv.copy())
    check_close(got, want, "kl_std_normal(mu, logvar)", rtol=1e-8, n=z,
                shape_hint="Sum over the last axis (the latent dimensions): one KL per row.",
                mistakes=[(_kl_logsigma(mu, lv, 0, 0).sum(axis=1),
                           "You read logvar as log sigma: sigma^2 = exp(logvar).")])
    ok("kl_std_normal")


@exercise(*ANSWERS["ex05_3"])
def check_kl_std_normal_grad(kl_std_normal_grad, seed: int = 0) -> None:
    """``kl_std_normal_grad(mu, logvar) -> (dmu, dlogvar)``: the gradient of the summed KL (D5.5)."""
    rng = np.random.default_rng(seed)
    mu, lv = rng.normal(0, 1, (3, 4)), rng.normal(0, 0.7, (3, 4))
    res = kl_std_normal_grad(mu.copy(), lv.copy())
    if not (isinstance(res, (tuple, list)) and len(res) == 2):
        fail("kl_std_normal_grad should return the pair (dmu, dlogvar).")
    sigma = np.exp(0.5 * lv)
    check_gradient(res[0], lambda m: _kl_closed(m, lv).sum(), mu, "dmu")
    check_gradient(res[1], lambda v: _kl_closed(mu, v).sum(), lv, "dlogvar", mistakes=[
        (sigma - 1 / sigma, "That is the derivative with respect to sigma: differentiate with "
                            "respect to logvar = log sigma^2.")])
    ok("kl_std_normal_grad")


# ------------------------------------------------------------------------------ chapter 06
def _model(seed):
    rng = np.random.default_rng(seed)
    return (float(rng.normal(1, 1)), 1.2 + rng.random(), 0.3, 0.4 + rng.random(),
            float(rng.normal(0, 0.5)), float(rng.normal(-0.5, 0.3)))   # x, w, b, s2, m, logvar


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
    x, w, b, s2, m, lv = _model(seed)
    want = elbo_quad_1d(x, w, b, s2, m, lv)
    v = math.exp(lv)
    got = elbo_linear_gaussian(x, w, b, s2, m, lv)
    check_close(got, want, "elbo_linear_gaussian(...)", rtol=1e-8, mistakes=[
        (want + w * w * v / (2 * s2), "You left out w^2 sigma^2 / (2 s2): E_q[(x - wz - b)^2] "
                                      "= (x - wm - b)^2 + w^2 sigma^2."),
        (want - 0.5 * (_L2PI + 1 + lv), "You left out the entropy of q (ELBO = E_q[log p(x,z)] "
                                        "+ H[q])."),
        (want + 0.5 * v, "You left out sigma^2/2 in E_q[z^2]/2 = (m^2 + sigma^2)/2.")])
    ok("elbo_linear_gaussian")


@exercise(*ANSWERS["ex06_2"])
def check_gaussian_entropy(gaussian_entropy, seed: int = 0) -> None:
    r"""``gaussian_entropy(logvar)``: element-wise :math:`H[\mathcal N(\mu, e^{\mathrm{logvar}})]`
    (D6.4), checked by quadrature of :math:`-\int q\log q`."""
    rng = np.random.default_rng(seed)
    lv = rng.normal(0, 1, 4)
    want = np.array([-quad(lambda t: np.exp(-0.5 * (_L2PI + v + t * t / math.exp(v))) *
                           (-0.5 * (_L2PI + v + t * t / math.exp(v))),
                           -14 * math.exp(0.5 * v), 14 * math.exp(0.5 * v)) for v in lv])
    got = gaussian_entropy(lv.copy())
    check_close(got, want, "gaussian_entropy(logvar)", rtol=1e-8, mistakes=[
        (0.5 * (_L2PI + 1) + lv, "You read logvar as log sigma: H = (log(2 pi e) + logvar) / 2.")])
    ok("gaussian_entropy")


@exercise(*ANSWERS["ex06_3"])
def check_elbo_gap(elbo_gap, seed: int = 0) -> None:
    r"""``elbo_gap(x, w, b, s2, m, logvar)``: :math:`\log p(x)-\mathrm{ELBO}
    =\mathrm{KL}(q\,\|\,p(z\mid x))` (D6.2), checked as a difference of two quadratures."""
    x, w, b, s2, m, lv = _model(seed)
    want = log_evidence_quad_1d(x, w, b, s2) - elbo_quad_1d(x, w, b, s2, m, lv)
    pv = s2 / (s2 + w * w)
    pm = pv * w * (x - b) / s2
    reverse = kl_quad(pm, math.log(pv), m, lv)
    got = elbo_gap(x, w, b, s2, m, lv)
    check_close(got, want, "elbo_gap(...)", rtol=1e-7, mistakes=[
        (reverse, "You computed KL(p(z|x) || q): the gap is KL(q || p(z|x)).")])
    if float(as_result(got, "elbo_gap")) < 0:
        fail("A gap below zero would make the ELBO exceed the evidence.")
    ok("elbo_gap")


# ------------------------------------------------------------------------------ chapter 07
@exercise(*ANSWERS["ex07_1"])
def check_gaussian_log_lik(gaussian_log_lik, seed: int = 0) -> None:
    """``gaussian_log_lik(x, mean, logvar) -> (N,)``: diagonal Gaussian, summed over D (D7.1)."""
    rng = np.random.default_rng(seed)
    x, mean, lv = rng.normal(0, 1, (3, 5)), rng.normal(0, 1, (3, 5)), rng.normal(0, 0.5, (3, 5))
    want = np.array([math.fsum(-0.5 * math.log(2 * math.pi * math.exp(v)) - (a - m) ** 2 /
                               (2 * math.exp(v)) for a, m, v in zip(xr, mr, vr))
                     for xr, mr, vr in zip(x, mean, lv)])
    got = gaussian_log_lik(x.copy(), mean.copy(), lv.copy())
    wrong = np.sum(-0.5 * (_L2PI + 2 * lv) - (x - mean) ** 2 / (2 * np.exp(2 * lv)), axis=1)
    check_close(got, want, "gaussian_log_lik(x, mean, logvar)", n=5,
                shape_hint="Sum over the last axis: one log-density per row.",
                mistakes=[(wrong, "You read logvar as log sigma: sigma^2 = exp(logvar).")])
    ok("gaussian_log_lik")


def _bern_ref(x, logits):
    # log p = x log sigmoid(l) + (1 - x) log sigmoid(-l), with log sigmoid(l) = -logaddexp(0, -l)
    return -(x * np.logaddexp(0.0, -logits) + (1 - x) * np.logaddexp(0.0, logits))


@exercise(*ANSWERS["ex07_2"])
def check_bernoulli_log_lik(bernoulli_log_lik, seed: int = 0) -> None:
    """``bernoulli_log_lik(x, logits) -> (N,)``: stable for any logit, summed over D (D7.2)."""
    rng = np.random.default_rng(seed)
    x = rng.random((3, 6))
    logits = rng.normal(0, 3, (3, 6))
    logits[0, :2] = [800.0, -800.0]                       # exp overflows in float64
    want = _bern_ref(x, logits).sum(axis=1)
    got = bernoulli_log_lik(x.copy(), logits.copy())
    check_close(got, want, "bernoulli_log_lik(x, logits)", n=6,
                shape_hint="Sum over the last axis: one log-likelihood per row.",
                nonfinite_hint="exp(800) overflows: write log(1 + e^l) as max(l, 0) + "
                               "log1p(exp(-|l|)).")
    ok("bernoulli_log_lik")


@exercise(*ANSWERS["ex07_3"])
def check_bernoulli_log_lik_grad(bernoulli_log_lik_grad, seed: int = 0) -> None:
    """``bernoulli_log_lik_grad(x, logits) -> (N, D)``: d/dlogits of the summed log-likelihood."""
    rng = np.random.default_rng(seed)
    x, logits = rng.random((3, 5)), rng.normal(0, 2, (3, 5))
    got = bernoulli_log_lik_grad(x.copy(), logits.copy())
    check_gradient(got, lambda v: _bern_ref(x, v).sum(), logits,
                   "bernoulli_log_lik_grad(x, logits)")
    ok("bernoulli_log_lik_grad")


# ------------------------------------------------------------------------------ chapter 08
@exercise(*ANSWERS["ex08_1"])
def check_reparameterize(reparameterize, seed: int = 0) -> None:
    r"""``reparameterize(mu, logvar, eps)``: :math:`z=\mu+\sigma\varepsilon` (D8.1); its samples
    must also have mean ``mu`` and variance ``exp(logvar)``."""
    rng = np.random.default_rng(seed)
    mu, lv, eps = rng.normal(0, 1, (4, 3)), rng.normal(0, 0.5, (4, 3)), rng.standard_normal((4, 3))
    want = mu + np.sqrt(np.exp(lv)) * eps
    got = reparameterize(mu.copy(), lv.copy(), eps.copy())
    check_close(got, want, "reparameterize(mu, logvar, eps)", mistakes=[
        (mu + np.exp(lv) * eps, "You scaled eps by the variance exp(logvar): the standard "
                                "deviation is exp(logvar / 2)."),
        (mu + lv * eps, "You scaled eps by logvar itself: sigma = exp(logvar / 2).")])
    big = rng.standard_normal((100_000, 1))
    z = as_result(reparameterize(np.full((100_000, 1), 0.7), np.full((100_000, 1), -0.4), big),
                  "z")
    if abs(z.mean() - 0.7) > 0.02 or abs(z.var() / math.exp(-0.4) - 1) > 0.03:
        fail(f"100 000 samples have mean {z.mean():.3f} and variance {z.var():.3f}, expected "
             f"0.7 and {math.exp(-0.4):.3f}.")
    ok("reparameterize")


@exercise(*ANSWERS["ex08_2"])
def check_reparameterize_grad(reparameterize_grad, seed: int = 0) -> None:
    """``reparameterize_grad(mu, logvar, eps, dz) -> (dmu, dlogvar)``: the vector-Jacobian
    products of z = mu + exp(logvar/2) eps (D8.1), checked by finite differences."""
    rng = np.random.default_rng(seed)
    mu, lv, eps, dz = (rng.normal(0, 1, (4, 3)) for _ in range(4))
    res = reparameterize_grad(mu.copy(), lv.copy(), eps.copy(), dz.copy())
    if not (isinstance(res, (tuple, list)) and len(res) == 2):
        fail("reparameterize_grad should return the pair (dmu, dlogvar).")
    z = lambda m, v: m + np.exp(0.5 * v) * eps  # noqa: E731
    check_gradient(res[0], lambda m: np.sum(dz * z(m, lv)), mu, "dmu")
    check_gradient(res[1], lambda v: np.sum(dz * z(mu, v)), lv, "dlogvar", mistakes=[
        (dz * np.exp(lv) * eps, "dlogvar uses the variance: d sigma / d logvar = sigma / 2.")])
    ok("reparameterize_grad")


@exercise(*ANSWERS["ex08_3"])
def check_score_function_grad(score_function_grad, seed: int = 0) -> None:
    r"""``score_function_grad(f, mu, logvar, eps)``: the score-function estimate of
    :math:`\partial_\mu E_{z\sim\mathcal N(\mu,\sigma^2)}[f(z)]`,
    :math:`\frac1K\sum_k f(z_k)(z_k-\mu)/\sigma^2` with :math:`z_k=\mu+\sigma\varepsilon_k` (D8.2)."""
    rng = np.random.default_rng(seed)
    mu, lv = 0.6, math.log(0.5)
    f = lambda z: z * z + np.sin(z)  # noqa: E731
    eps = rng.standard_normal(30)
    s = math.exp(0.5 * lv)
    zs = [mu + s * e for e in eps]
    want = math.fsum((z * z + math.sin(z)) * (z - mu) / s ** 2 for z in zs) / len(zs)
    wrong = math.fsum((z * z + math.sin(z)) * (z - mu) / s for z in zs) / len(zs)
    got = score_function_grad(f, mu, lv, eps.copy())
    check_close(got, want, "score_function_grad(f, mu, logvar, eps)", n=len(eps), mistakes=[
        (wrong, "The score of a Gaussian divides by the variance: (z - mu) / sigma^2.")])
    big = rng.standard_normal(400_000)
    est = float(as_result(score_function_grad(f, mu, lv, big), "the estimate"))
    exact = 2 * mu + math.cos(mu) * math.exp(-0.5 * s * s)   # d/dmu of mu^2+s^2+sin(mu)e^{-s^2/2}
    if abs(est - exact) > 0.05:
        fail(f"With 400 000 samples your estimate is {est:.4f}, the exact gradient {exact:.4f}.")
    ok("score_function_grad")
