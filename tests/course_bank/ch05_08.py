"""Answer bank, chapters 05-08 (see ``tests/course_bank/__init__.py``)."""
import math

import numpy as np
import scipy.special as sp
import scipy.stats as st

f32 = np.float32
L2PI = math.log(2 * math.pi)


def _kl1(m1, l1, m2, l2, half=0.5, c=-1.0, lsign=1.0, sq=True, den=None):
    den = np.exp(l2) if den is None else den
    return half * (lsign * (l2 - l1) + (np.exp(l1) + ((m1 - m2) ** 2 if sq else 0)) / den + c)


def kl1_ratio(m1, l1, m2, l2):
    r = np.exp(l1 - l2)
    return 0.5 * (r - 1 - np.log(r) + (m1 - m2) ** 2 / np.exp(l2))


def kl1_f32(m1, l1, m2, l2):
    m1, l1, m2, l2 = (np.asarray(a, dtype=f32) for a in (m1, l1, m2, l2))
    return f32(0.5) * (l2 - l1 + (np.exp(l1) + (m1 - m2) ** 2) / np.exp(l2) - f32(1))


def kl1_logsigma(m1, l1, m2, l2):
    s1, s2 = 0.5 * l1, 0.5 * l2
    return s2 - s1 + (np.exp(2 * s1) + (m1 - m2) ** 2) / (2 * np.exp(2 * s2)) - 0.5


def kls_expm1(mu, lv):
    return 0.5 * np.sum(np.expm1(lv) - lv + mu * mu, axis=-1)


def kls_f32(mu, lv):
    mu, lv = mu.astype(f32), lv.astype(f32)
    return f32(0.5) * np.sum(np.exp(lv) + mu * mu - f32(1) - lv, axis=-1)


def kls_einsum(mu, lv):
    return 0.5 * (np.einsum("nz,nz->n", mu, mu) + np.exp(lv).sum(-1) - lv.sum(-1) - lv.shape[-1])


def _kls(mu, lv, half=0.5, c=-1.0, ls=-1.0, m=1.0):
    return half * np.sum(np.exp(lv) + m * mu * mu + c + ls * lv, axis=-1)


BANK = {
    "ex05_1": ("check_kl_normal_1d", [kl1_ratio, kl1_f32, kl1_logsigma], [
        (lambda a, b, c, d: _kl1(c, d, a, b), "swapped"),
        (lambda a, b, c, d: _kl1(a, 2 * b, c, 2 * d), "log sigma"),
        (lambda a, b, c, d: _kl1(a, b, c, d, half=1.0, c=-1.0), "1/2 is missing on the whole"),
        (lambda a, b, c, d: _kl1(a, b, c, d, lsign=-1.0), "log-variance term has the wrong sign"),
        (lambda a, b, c, d: _kl1(a, b, c, d, c=0.0), "constant term is missing"),
        (lambda a, b, c, d: _kl1(a, b, c, d, sq=False), "squared difference"),
        (lambda a, b, c, d: _kl1(a, b, c, d, den=np.exp(b)), "first variance"),
        (lambda a, b, c, d: _kl1(a, b, c, d).sum(), "shape"),
    ]),
    "ex05_2": ("check_kl_std_normal", [kls_expm1, kls_f32, kls_einsum], [
        (lambda mu, lv: _kls(mu, lv).mean() * np.ones(len(mu)), "averaged the KL over the batch"),
        (lambda mu, lv: 0.5 * np.mean(np.exp(lv) + mu * mu - 1 - lv, axis=-1), "averaged over the"),
        (lambda mu, lv: _kls(mu, lv, half=1.0), "factor 1/2 is missing"),
        (lambda mu, lv: _kls(mu, lv, c=1.0), "constant term has the wrong sign"),
        (lambda mu, lv: _kls(mu, lv, ls=1.0), "logvar term has the wrong sign"),
        (lambda mu, lv: _kls(mu, lv, m=0.0), "mu term is missing"),
        (lambda mu, lv: _kls(mu, lv, c=0.0), "constant term is missing"),
        (lambda mu, lv: 0.5 * np.sum(np.exp(2 * lv) + mu * mu - 1 - 2 * lv, axis=-1), "log sigma"),
        (lambda mu, lv: 0.5 * (np.exp(lv) + mu * mu - 1 - lv), "shape"),
        (lambda mu, lv: 0.5 * np.sum(np.exp(lv) + mu * mu - 1 - lv, axis=0), "shape"),
    ]),
    "ex05_3": ("check_kl_std_normal_grad", [
        lambda mu, lv: (mu + 0.0, 0.5 * np.expm1(lv)),
        lambda mu, lv: (mu.astype(f32), f32(0.5) * (np.exp(lv.astype(f32)) - f32(1))),
        lambda mu, lv: (np.array(mu), (np.exp(lv) - 1) / 2)], [
        (lambda mu, lv: (mu, np.exp(lv) - 1), "factor 1/2"),
        (lambda mu, lv: (mu, np.exp(0.5 * lv) - np.exp(-0.5 * lv)), "with respect to sigma"),
        (lambda mu, lv: (mu, 0.5 * (np.exp(lv) + 1)), "wrong sign"),
        (lambda mu, lv: (mu, 0.5 * np.exp(lv)), "-logvar term is missing"),
        (lambda mu, lv: (mu / len(mu), 0.5 * np.expm1(lv)), "averaged over the batch"),
        (lambda mu, lv: (2 * mu, 0.5 * np.expm1(lv)), "dmu is twice"),
        (lambda mu, lv: (mu, 0.5 * (np.exp(lv) - 1 - lv)), "KL itself"),
        (lambda mu, lv: (mu, 0.5 * np.expm1(lv), 0), "2 values"),
    ]),
}


# ---------------------------------------------------------------- chapter 06
def _elbo(x, w, b, s2, m, lv, rs=1.0, ps=1.0, ent=1.0, logsig=False):
    v = np.exp(2 * lv) if logsig else np.exp(lv)
    recon = -0.5 * (np.log(2 * np.pi * s2) + ((x - w * m - b) ** 2 + rs * w * w * v) / s2)
    prior = -0.5 * (np.log(2 * np.pi) + m * m + ps * v)
    hq = 0.5 * (np.log(2 * np.pi) + 1.0 + (2 * lv if logsig else lv))
    return recon + prior + ent * hq


def elbo_kl_form(x, w, b, s2, m, lv):
    v = np.exp(lv)
    recon = -0.5 * np.log(2 * np.pi * s2) - ((x - w * m - b) ** 2 + w * w * v) / (2 * s2)
    kl = 0.5 * (v + m * m - 1 - lv)
    return recon - kl


def elbo_f32(x, w, b, s2, m, lv):
    x, w, b, s2, m, lv = (f32(a) for a in (x, w, b, s2, m, lv))
    v = np.exp(lv)
    return (-f32(0.5) * (np.log(f32(2 * np.pi) * s2) + ((x - w * m - b) ** 2 + w * w * v) / s2)
            - f32(0.5) * (f32(np.log(2 * np.pi)) + m * m + v)
            + f32(0.5) * (f32(np.log(2 * np.pi) + 1) + lv))


def ent_scipy(lv):
    return st.norm(0, np.exp(0.5 * lv)).entropy()


def ent_f32(lv):
    return f32(0.5) * (f32(np.log(2 * np.pi * np.e)) + lv.astype(f32))


def _gap(x, w, b, s2, m, lv, post_mean=None, post_var=None, reverse=False):
    pv = s2 / (s2 + w * w) if post_var is None else post_var
    pm = pv * w * (x - b) / s2 if post_mean is None else post_mean
    if reverse:
        m, lv, pm, pv = pm, np.log(pv), m, np.exp(lv)
    v = np.exp(lv)
    return 0.5 * (np.log(pv) - lv + (v + (m - pm) ** 2) / pv - 1.0)


def gap_difference(x, w, b, s2, m, lv):                 # log p(x) - ELBO, both in closed form
    var = w * w + s2
    logp = -0.5 * (np.log(2 * np.pi * var) + (x - b) ** 2 / var)
    return logp - elbo_kl_form(x, w, b, s2, m, lv)


def gap_f32(x, w, b, s2, m, lv):
    x, w, b, s2, m, lv = (f32(a) for a in (x, w, b, s2, m, lv))
    pv = s2 / (s2 + w * w)
    pm = pv * w * (x - b) / s2
    return f32(0.5) * (np.log(pv) - lv + (np.exp(lv) + (m - pm) ** 2) / pv - f32(1))


BANK.update({
    "ex06_1": ("check_elbo_linear_gaussian", [elbo_kl_form, elbo_f32,
                                              lambda *a: float(_elbo(*a))], [
        (lambda *a: _elbo(*a, rs=0.0), "reconstruction term ignores the spread"),
        (lambda *a: _elbo(*a, ent=0.0), "entropy of q is missing"),
        (lambda *a: _elbo(*a, ps=0.0), "log-prior ignores the spread"),
        (lambda *a: _elbo(*a, rs=0.0, ps=0.0), "Both expectations"),
        (lambda *a: _elbo(*a, ent=-1.0), "entropy of q has the wrong sign"),
        (lambda *a: _elbo(*a, logsig=True), "log sigma"),
        (lambda x, w, b, s2, m, lv: _elbo(x, w, b, s2, m, lv) + 0.5 * np.log(2 * np.pi * s2),
         "log-normaliser"),
        (lambda x, w, b, s2, m, lv: -_elbo(x, w, b, s2, m, lv), "wrong sign"),
    ]),
    "ex06_2": ("check_gaussian_entropy", [ent_scipy, ent_f32,
                                          lambda lv: 0.5 * np.log(2 * np.pi * np.e * np.exp(lv))], [
        (lambda lv: 0.5 * (np.log(2 * np.pi) + 1) + lv, "log sigma"),
        (lambda lv: 0.5 * (np.log(2 * np.pi) + lv), "the e of"),
        (lambda lv: 0.5 * lv, "constant term is missing"),
        (lambda lv: -0.5 * (np.log(2 * np.pi) + 1 + lv), "wrong sign"),
        (lambda lv: 0.5 * (np.log(2 * np.pi) + 1 + np.exp(lv)), "variance itself"),
        (lambda lv: np.full_like(lv, 0.5 * (np.log(2 * np.pi) + 1)), "ignores its argument lv"),
        (lambda lv: np.sum(0.5 * (np.log(2 * np.pi) + 1 + lv)), "shape"),
    ]),
    "ex06_3": ("check_elbo_gap", [gap_difference, gap_f32,
                                  lambda x, w, b, s2, m, lv: float(_gap(x, w, b, s2, m, lv))], [
        (lambda *a: _gap(*a, reverse=True), "other way round"),
        (lambda x, w, b, s2, m, lv: 0.5 * (np.exp(lv) + m * m - 1 - lv), "to the prior"),
        (lambda *a: -_gap(*a), "wrong sign"),
        (lambda x, w, b, s2, m, lv: _gap(x, w, b, s2, m, lv, post_var=s2 / w ** 2, post_mean=(x - b) / w), "forgets the prior"),
        (lambda x, w, b, s2, m, lv: _gap(x, w, b, s2, m, lv, post_mean=w * x / (s2 + w * w)), "offset b"),
        (lambda x, w, b, s2, m, lv: -0.5 * (np.log(2 * np.pi * (w * w + s2)) + (x - b) ** 2 / (w * w + s2)),
         "log-evidence alone"),
        (lambda x, w, b, s2, m, lv: -elbo_kl_form(x, w, b, s2, m, lv), "negative ELBO"),
    ]),
})


# ---------------------------------------------------------------- chapter 07
def gll_scipy(x, mean, lv):
    return st.norm.logpdf(x, mean, np.exp(0.5 * lv)).sum(axis=-1)


def gll_f32(x, mean, lv):
    x, mean, lv = x.astype(f32), mean.astype(f32), lv.astype(f32)
    return -f32(0.5) * np.sum(f32(np.log(2 * np.pi)) + lv + (x - mean) ** 2 * np.exp(-lv), axis=-1)


def _gll(x, m, lv, sq=0.5, lh=0.5, div=None, const="dim"):
    div = np.exp(lv) if div is None else div
    r = np.sum(-lh * lv - sq * (x - m) ** 2 / div, axis=-1)
    return r - 0.5 * L2PI * (x.shape[-1] if const == "dim" else 1)


def bll_logaddexp(x, l):
    return np.sum(x * l - np.logaddexp(0.0, l), axis=-1)


def bll_f32(x, l):
    x, l = x.astype(f32), l.astype(f32)
    return np.sum(x * l - np.maximum(l, f32(0)) - np.log1p(np.exp(-np.abs(l))), axis=-1)


def bll_logexpit(x, l):
    return np.sum(x * sp.log_expit(l) + (1 - x) * sp.log_expit(-l), axis=-1)


def blg_expit(x, l):
    return x - sp.expit(l)


def blg_f32(x, l):
    return x.astype(f32) - f32(1) / (f32(1) + np.exp(-l.astype(f32)))


BANK.update({
    "ex07_1": ("check_gaussian_log_lik", [gll_scipy, gll_f32,
                                          lambda x, m, lv: np.array([sum(-0.5 * (L2PI + b + (a - c) ** 2 / math.exp(b)) for a, c, b in zip(*r)) for r in zip(x, m, lv)])], [
        (lambda x, m, lv: -0.5 * np.sum(L2PI + 2 * lv + (x - m) ** 2 / np.exp(2 * lv), axis=-1), "log sigma"),
        (lambda x, m, lv: _gll(x, m, lv, sq=1.0), "squared-error term lacks"),
        (lambda x, m, lv: _gll(x, m, lv, lh=1.0), "logvar term lacks"),
        (lambda x, m, lv: _gll(x, m, lv, div=np.exp(0.5 * lv)), "standard deviation"),
        (lambda x, m, lv: _gll(x, m, lv, div=np.exp(-lv)), "multiplied the squared error"),
        (lambda x, m, lv: _gll(x, m, lv, const="row"), "once per row"),
        (lambda x, m, lv: _gll(x, m, lv) / x.shape[-1], "times too small"),
        (lambda x, m, lv: -0.5 * (L2PI + lv + (x - m) ** 2 / np.exp(lv)), "shape"),
    ]),
    "ex07_2": ("check_bernoulli_log_lik", [bll_logaddexp, bll_f32, bll_logexpit], [
        (lambda x, l: np.sum(x * l - np.log(1 + np.exp(l)), axis=-1), "overflows"),
        (lambda x, l: np.sum(x * l - np.logaddexp(0.0, -l), axis=-1), "wrong sign inside"),
        (lambda x, l: np.sum(x * l, axis=-1), "log-normaliser is missing"),
        (lambda x, l: np.sum((1 - x) * l - np.logaddexp(0.0, l), axis=-1), "swapped x"),
        (lambda x, l: np.sum(x * l - np.maximum(l, 0), axis=-1), "log1p part"),
        (lambda x, l: np.sum(x * np.log(sp.expit(l)) + (1 - x) * np.log(1 - sp.expit(l)), axis=-1),
         "nan or inf"),
        (lambda x, l: np.mean(x * l - np.logaddexp(0.0, l), axis=-1), "times too small"),
        (lambda x, l: x * l - np.logaddexp(0.0, l), "shape"),
    ]),
    "ex07_3": ("check_bernoulli_log_lik_grad", [blg_expit, blg_f32,
                                                lambda x, l: x - 0.5 * (1 + np.tanh(0.5 * l))], [
        (lambda x, l: sp.expit(l) - x, "wrong sign"),
        (lambda x, l: x - sp.expit(-l), "sigmoid\\(-l\\)"),
        (lambda x, l: x - np.exp(l), "e\\^l"),
        (lambda x, l: x * (1 - sp.expit(l)), "x = 1 part"),
        (lambda x, l: sp.expit(l) * (1 - sp.expit(l)), "derivative of the sigmoid"),
        (lambda x, l: -sp.expit(l), "x term"),
        (lambda x, l: (x - sp.expit(l)) / x.shape[1], "averaged over the"),
        (lambda x, l: np.sum(x - sp.expit(l), axis=1), "shape"),
    ]),
})


# ---------------------------------------------------------------- chapter 08
def rp_sqrt(mu, lv, eps):
    return mu + np.sqrt(np.exp(lv)) * eps


def rp_f32(mu, lv, eps):
    return mu.astype(f32) + np.exp(f32(0.5) * lv.astype(f32)) * eps.astype(f32)


def rpg_f32(mu, lv, eps, dz):
    dz = dz.astype(f32)
    return dz, f32(0.5) * dz * np.exp(f32(0.5) * lv.astype(f32)) * eps.astype(f32)


def sf_loop(f, mu, lv, eps):
    var = math.exp(lv)
    zs = [mu + math.sqrt(var) * e for e in eps]
    return sum(float(f(z)) * (z - mu) / var for z in zs) / len(zs)


def sf_eps(f, mu, lv, eps):
    s = np.exp(0.5 * lv)
    return np.mean(f(mu + s * eps) * eps) / s


def sf_f32(f, mu, lv, eps):
    s = f32(np.exp(0.5 * lv))
    z = f32(mu) + s * eps.astype(f32)
    return np.mean(f(z) * (z - f32(mu)) / (s * s))


BANK.update({
    "ex08_1": ("check_reparameterize", [rp_sqrt, rp_f32,
                                        lambda mu, lv, eps: mu + eps * np.exp(lv) ** 0.5], [
        (lambda mu, lv, eps: mu + np.exp(lv) * eps, "variance"),
        (lambda mu, lv, eps: mu + lv * eps, "logvar itself"),
        (lambda mu, lv, eps: mu * np.exp(0.5 * lv) + eps, "scaled mu"),
        (lambda mu, lv, eps: np.exp(0.5 * lv) * eps, "mu is missing"),
        (lambda mu, lv, eps: mu + np.exp(0.5 * lv), "eps is missing"),
        (lambda mu, lv, eps: mu + np.exp(2 * lv) * eps, "off by a power"),
        (lambda mu, lv, eps: mu + 0.8 * eps, "ignores its argument lv"),
    ]),
    "ex08_2": ("check_reparameterize_grad", [
        rpg_f32, lambda mu, lv, eps, dz: (dz * 1.0, dz * eps * np.sqrt(np.exp(lv)) / 2)], [
        (lambda mu, lv, eps, dz: (dz, dz * np.exp(0.5 * lv) * eps), "twice"),
        (lambda mu, lv, eps, dz: (dz, 0.5 * dz * np.exp(lv) * eps), "variance where"),
        (lambda mu, lv, eps, dz: (dz, 0.5 * np.exp(0.5 * lv) * eps), "dlogvar ignores the upstream"),
        (lambda mu, lv, eps, dz: (np.ones_like(mu), 0.5 * dz * np.exp(0.5 * lv) * eps), "dmu ignores"),
        (lambda mu, lv, eps, dz: (dz, 0.5 * dz * np.exp(0.5 * lv)), "factor eps"),
        (lambda mu, lv, eps, dz: (dz * np.exp(0.5 * lv), 0.5 * dz * np.exp(0.5 * lv) * eps), "factor sigma"),
        (lambda mu, lv, eps, dz: (dz, -0.5 * dz * np.exp(0.5 * lv) * eps), "wrong sign"),
        (lambda mu, lv, eps, dz: (dz, 0.5 * dz * eps / np.exp(0.5 * lv)), "divides by sigma"),
    ]),
    "ex08_3": ("check_score_function_grad", [sf_loop, sf_eps, sf_f32], [
        (lambda f, mu, lv, eps: np.mean(f(mu + np.exp(0.5 * lv) * eps) * eps), "standard deviation where"),
        (lambda f, mu, lv, eps: np.mean(f(mu + np.exp(0.5 * lv) * eps) * eps * np.exp(0.5 * lv)),
         "does not divide"),
        (lambda f, mu, lv, eps: np.mean(f(mu + np.exp(0.5 * lv) * eps) * eps * np.exp(1.5 * lv)),
         "multiplies by the variance"),
        (lambda f, mu, lv, eps: np.mean(2 * (mu + np.exp(0.5 * lv) * eps) + np.cos(mu + np.exp(0.5 * lv) * eps)),
         "pathwise"),
        (lambda f, mu, lv, eps: -np.mean(f(mu + np.exp(0.5 * lv) * eps) * eps) / np.exp(0.5 * lv), "wrong sign"),
        (lambda f, mu, lv, eps: np.sum(f(mu + np.exp(0.5 * lv) * eps) * eps) / np.exp(0.5 * lv), "times too large"),
        (lambda f, mu, lv, eps: np.mean(eps) / np.exp(0.5 * lv), "f\\(z\\) is missing"),
    ]),
})
