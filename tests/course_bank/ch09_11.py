"""Answer bank, chapters 09-11 (see ``tests/course_bank/__init__.py``)."""
import math

import numpy as np
import scipy.special as sp

f32 = np.float32


def kg_expm1(mu, lv):
    return 0.5 * np.sum(np.expm1(lv) - lv + mu ** 2, axis=1), 1.0 * mu, 0.5 * np.expm1(lv)


def kg_f32(mu, lv):
    mu, lv = mu.astype(f32), lv.astype(f32)
    e = np.exp(lv)
    return f32(0.5) * np.sum(e + mu * mu - f32(1) - lv, axis=1), mu.copy(), f32(0.5) * (e - f32(1))


def _kg(mu, lv, half=0.5, dhalf=0.5, mean_z=False, dmu_scale=1.0):
    e = np.exp(lv)
    red = np.mean if mean_z else np.sum
    return half * red(e + mu * mu - 1 - lv, axis=1), dmu_scale * mu, dhalf * (e - 1)


def rb_f32(dz, mu, lv, eps):
    dz = dz.astype(f32)
    return dz, dz * f32(0.5) * np.exp(f32(0.5) * lv.astype(f32)) * eps.astype(f32)


def bg_scipy(x, l):
    return np.sum(x * sp.log_expit(l) + (1 - x) * sp.log_expit(-l), axis=1), x - sp.expit(l)


def bg_f32(x, l):
    x, l = x.astype(f32), l.astype(f32)
    e = np.exp(-np.abs(l))
    logp = np.sum(x * l - np.maximum(l, f32(0)) - np.log1p(e), axis=1)
    return logp, x - np.where(l >= 0, f32(1), e) / (f32(1) + e)


def bg_tanh(x, l):
    return np.sum(x * l - np.logaddexp(0.0, l), axis=1), x - 0.5 * (1 + np.tanh(0.5 * l))


def _bg(x, l, lp=None, g=None):
    lp = np.sum(x * l - np.logaddexp(0.0, l), axis=1) if lp is None else lp
    return lp, (x - sp.expit(l)) if g is None else g


def eog(dz, mu, lv, eps, n, kl_n=True, path=0.5, klh=0.5, with_dz=True, var_path=False):
    s = np.exp(0.5 * lv)
    d = n if kl_n else 1
    dmu = (dz if with_dz else 0) + mu / d
    p = path * dz * (np.exp(lv) if var_path else s) * eps
    return np.concatenate([dmu, p + klh * (np.exp(lv) - 1) / d], axis=1)


def eog_f32(dz, mu, lv, eps, n):
    dz, mu, lv, eps = (a.astype(f32) for a in (dz, mu, lv, eps))
    s = np.exp(f32(0.5) * lv)
    return np.hstack([dz + mu / f32(n), f32(0.5) * (dz * s * eps + (s * s - f32(1)) / f32(n))])


def eog_blocks(dz, mu, lv, eps, n):
    out = np.empty((mu.shape[0], 2 * mu.shape[1]))
    z = mu.shape[1]
    out[:, :z] = dz + mu / n
    out[:, z:] = 0.5 * dz * np.sqrt(np.exp(lv)) * eps + 0.5 * np.expm1(lv) / n
    return out


BANK = {
    "ex09_1": ("check_kl_and_grad", [kg_expm1, kg_f32,
                                     lambda mu, lv: (np.einsum("nz->n", 0.5 * (np.exp(lv) + mu * mu - 1 - lv)), mu, (np.exp(lv) - 1) / 2)], [
        (lambda mu, lv: _kg(mu, lv, mean_z=True), "averaged over the"),
        (lambda mu, lv: _kg(mu, lv, dhalf=1.0), "dlogvar lacks the factor 1/2"),
        (lambda mu, lv: _kg(mu, lv, half=1.0), "kl lacks the factor 1/2"),
        (lambda mu, lv: (_kg(mu, lv)[0], mu, 0.5 * np.exp(lv)), "-logvar term is missing"),
        (lambda mu, lv: (_kg(mu, lv)[0], mu / len(mu), _kg(mu, lv)[2]), "dmu is averaged"),
        (lambda mu, lv: (0.5 * np.sum(np.exp(2 * lv) + mu * mu - 1 - 2 * lv, axis=1), mu, 0.5 * np.expm1(lv)),
         "log sigma"),
        (lambda mu, lv: (_kg(mu, lv)[0], mu, np.exp(0.5 * lv) - np.exp(-0.5 * lv)), "respect to sigma"),
        (lambda mu, lv: _kg(mu, lv)[:2], "3 values"),
    ]),
    "ex09_2": ("check_reparameterize_backward", [
        rb_f32, lambda dz, mu, lv, eps: (dz + 0.0, 0.5 * dz * eps * np.sqrt(np.exp(lv)))], [
        (lambda dz, mu, lv, eps: (dz, dz * np.exp(0.5 * lv) * eps), "factor 1/2"),
        (lambda dz, mu, lv, eps: (dz, 0.5 * dz * np.exp(lv) * eps), "variance where"),
        (lambda dz, mu, lv, eps: (dz, 0.5 * np.exp(0.5 * lv) * eps), "ignores the upstream"),
        (lambda dz, mu, lv, eps: (np.ones_like(dz), 0.5 * dz * np.exp(0.5 * lv) * eps), "dmu ignores"),
        (lambda dz, mu, lv, eps: (dz, 0.5 * dz * np.exp(0.5 * lv)), "factor eps"),
        (lambda dz, mu, lv, eps: (mu, 0.5 * dz * np.exp(0.5 * lv) * eps), "KL's gradient"),
        (lambda dz, mu, lv, eps: (0.5 * dz * np.exp(0.5 * lv) * eps, dz), "swapped"),
        (lambda dz, mu, lv, eps: (dz, 0.5 * dz * eps / np.exp(0.5 * lv)), "divides by sigma"),
    ]),
    "ex09_3": ("check_bernoulli_and_grad", [bg_scipy, bg_f32, bg_tanh], [
        (lambda x, l: _bg(x, l, lp=np.sum(x * l - np.log1p(np.exp(l)), axis=1)), "overflows"),
        (lambda x, l: _bg(x, l, lp=np.sum(x * l - np.logaddexp(0.0, -l), axis=1)), "wrong sign inside"),
        (lambda x, l: _bg(x, l, lp=np.sum(x * l, axis=1)), "log-normaliser is missing"),
        (lambda x, l: _bg(x, l, g=sp.expit(l) - x), "wrong sign"),
        (lambda x, l: _bg(x, l, g=x - 1 / (1 + np.exp(-l)) if np.all(np.abs(l) < 700) else x - np.exp(l) / (1 + np.exp(l))),
         "nan or inf"),
        (lambda x, l: _bg(x, l, g=x - sp.expit(-l)), "sigmoid\\(-l\\)"),
        (lambda x, l: _bg(x, l, g=sp.expit(l) * (1 - sp.expit(l))), "derivative of the sigmoid"),
        (lambda x, l: _bg(x, l, lp=np.sum(x * l - np.logaddexp(0.0, l))), "shape"),
        (lambda x, l: _bg(x, l, lp=np.mean(x * l - np.logaddexp(0.0, l), axis=1)), "times too small"),
    ]),
    "ex09_4": ("check_encoder_output_grad", [eog_f32, eog_blocks], [
        (lambda *a: eog(*a, kl_n=False), "not divided by the batch size"),
        (lambda *a: eog(*a, path=0.0), "lacks the path through z"),
        (lambda *a: eog(*a, path=1.0), "path through z in the logvar half lacks its factor 1/2"),
        (lambda *a: eog(*a, klh=1.0), "KL part of the logvar half lacks"),
        (lambda *a: eog(*a, with_dz=False), "mu half lacks the path"),
        (lambda *a: eog(*a, var_path=True), "uses the variance"),
        (lambda dz, mu, lv, eps, n: np.concatenate([dz, 0.5 * dz * np.exp(0.5 * lv) * eps], axis=1), "KL part is missing"),
        (lambda dz, mu, lv, eps, n: (dz + mu / n, 0.5 * dz * np.exp(0.5 * lv) * eps + 0.5 * np.expm1(lv) / n), "should be numbers|shape|cannot use"),
    ]),
}


# ---------------------------------------------------------------- chapter 10
def lse_scipy_free(a, axis=0):
    return np.logaddexp.reduce(a, axis=axis)


def lse_f32(a, axis=0):
    a = np.asarray(a, dtype=f32)
    top = a.max(axis=axis, keepdims=True)
    return (top + np.log(np.exp(a - top).sum(axis=axis, keepdims=True))).squeeze(axis)


def lse_moveaxis(a, axis=0):
    b = np.moveaxis(a, axis, 0)
    top = b.max(axis=0)
    return top + np.log(np.sum(np.exp(b - top), axis=0))


def iw_scipy(lw):
    return sp.logsumexp(lw, axis=0) - np.log(lw.shape[0])


def iw_f32(lw):
    lw = lw.astype(f32)
    top = lw.max(axis=0)
    return top + np.log(np.mean(np.exp(lw - top), axis=0))


def lw_scipy(x, z, w, b, s2, m, lv):
    from scipy.stats import norm
    return norm.logpdf(x, w * z + b, np.sqrt(s2)) + norm.logpdf(z) - norm.logpdf(z, m, np.exp(0.5 * lv))


def lw_f32(x, z, w, b, s2, m, lv):
    z = z.astype(f32)
    x, w, b, s2, m, lv = (f32(a) for a in (x, w, b, s2, m, lv))
    c = f32(np.log(2 * np.pi))
    return (-f32(0.5) * (c + np.log(s2) + (x - w * z - b) ** 2 / s2) - f32(0.5) * (c + z * z)
            + f32(0.5) * (c + lv + (z - m) ** 2 / np.exp(lv)))


def _lw(x, z, w, b, s2, m, lv, px=1, pz=1, q=-1, logsig=False):
    lpx = -0.5 * (np.log(2 * np.pi * s2) + (x - w * z - b) ** 2 / s2)
    lpz = -0.5 * (np.log(2 * np.pi) + z * z)
    v = 2 * lv if logsig else lv
    lq = -0.5 * (np.log(2 * np.pi) + v + (z - m) ** 2 / np.exp(v))
    return px * lpx + pz * lpz + q * lq


BANK.update({
    "ex10_1": ("check_logsumexp", [lse_scipy_free, lse_f32, lse_moveaxis], [
        (lambda a, axis=0: np.log(np.sum(np.exp(a), axis=axis)), "nan or inf"),
        (lambda a, axis=0: np.max(a, axis=axis), "maximum only"),
        (lambda a, axis=0: np.max(a, axis=axis) + np.log(np.mean(np.exp(a - np.max(a, axis=axis, keepdims=True)), axis=axis)),
         "mean where the sum"),
        (lambda a, axis=0: np.log(np.sum(np.exp(a - np.max(a, axis=axis, keepdims=True)), axis=axis)), "add it back"),
        (lambda a, axis=0: a.max() + np.log(np.sum(np.exp(a - a.max()), axis=axis)), "whole array|nan or inf"),
        (lambda a, axis=0: lse_moveaxis(a, 0), "axis"),
        (lambda a, axis=0: lse_moveaxis(a, axis).sum(), "shape"),
    ]),
    "ex10_2": ("check_iwae_from_log_weights", [iw_scipy, iw_f32,
                                               lambda lw: np.logaddexp.reduce(lw, axis=0) - math.log(len(lw))], [
        (lambda lw: np.log(np.mean(np.exp(lw), axis=0)), "underflows"),
        (lambda lw: lw.mean(axis=0), "ELBO"),
        (lambda lw: sp.logsumexp(lw, axis=0), "log K is"),
        (lambda lw: lw.max(axis=0), "largest weight"),
        (lambda lw: sp.logsumexp(lw, axis=1) - np.log(lw.shape[1]), "shape"),
        (lambda lw: sp.logsumexp(lw, axis=0) - 2 * np.log(len(lw)), "twice"),
        (lambda lw: np.full(lw.shape[1], -900.0), "ignores its argument lw"),
    ]),
    "ex10_3": ("check_log_weights_1d", [lw_scipy, lw_f32,
                                        lambda *a: _lw(*a) + 0.0], [
        (lambda *a: _lw(*a, q=0), "not subtracted"),
        (lambda *a: _lw(*a, pz=0), "log-prior"),
        (lambda *a: _lw(*a, px=0), "log-likelihood"),
        (lambda *a: _lw(*a, q=1), "added where"),
        (lambda *a: _lw(*a, logsig=True), "log sigma"),
        (lambda *a: -_lw(*a), "wrong sign"),
        (lambda *a: np.mean(_lw(*a)), "shape"),
    ]),
})


# ---------------------------------------------------------------- chapter 11
def au_ddof(mu, threshold=0.01):
    return int(np.count_nonzero(np.var(mu, axis=0) > threshold))


def au_loop(mu, threshold=0.01):
    n = 0
    for col in mu.T:
        c = col - col.mean()
        n += float(c @ c) / len(c) > threshold
    return n


BANK.update({
    "ex11_1": ("check_optimal_gamma", [
        lambda x, xh: float(np.sum((x - xh) ** 2) / x.size),
        lambda x, xh: np.mean(np.square(x.astype(f32) - xh.astype(f32))),
        lambda x, xh: np.linalg.norm(x - xh) ** 2 / x.size], [
        (lambda x, xh: np.mean(np.sum((x - xh) ** 2, axis=1)), "summed over the D"),
        (lambda x, xh: np.sum((x - xh) ** 2), "instead of averaging"),
        (lambda x, xh: np.sqrt(np.mean((x - xh) ** 2)), "standard deviation"),
        (lambda x, xh: np.mean(np.abs(x - xh)), "absolute errors"),
        (lambda x, xh: np.mean(x - xh) ** 2, "mean error"),
        (lambda x, xh: 0.5 * np.mean((x - xh) ** 2), "extra factor 1/2"),
        (lambda x, xh: np.mean((x - xh) ** 2, axis=0), "shape"),
        (lambda x, xh: np.sum(np.mean((x - xh) ** 2, axis=1)), "summed over the N"),
    ]),
    "ex11_2": ("check_active_units", [au_ddof, au_loop,
                                      lambda mu, threshold=0.01: int((np.std(mu, axis=0) ** 2 > threshold).sum())], [
        (lambda mu, threshold=0.01: 3, "does not vary"),
        (lambda mu, threshold=0.01: mu.shape[1] // 2, "does not vary"),
        (lambda mu, threshold=0.01: int(np.sum(np.var(mu, axis=0) > 0.01)), "threshold argument|counted"),
        (lambda mu, threshold=0.01: int(np.sum(np.var(mu, axis=1) > threshold)), "axis 1"),
        (lambda mu, threshold=0.01: int(np.sum(np.var(mu, axis=0) < threshold)), "inactive"),
        (lambda mu, threshold=0.01: int(np.sum(np.std(mu, axis=0) > threshold)), "standard deviation"),
        (lambda mu, threshold=0.01: int(np.sum(np.abs(mu.mean(axis=0)) > threshold)), "mean of mu"),
        (lambda mu, threshold=0.01: np.var(mu, axis=0) > threshold, "array of shape"),
        (lambda mu, threshold=0.01: int(np.sum(np.mean(mu * mu, axis=0) > threshold)), "about 0|mean of mu"),
    ]),
    "ex11_3": ("check_kl_per_dimension", [
        lambda mu, lv: 0.5 * np.mean(np.expm1(lv) - lv + mu * mu, axis=0),
        lambda mu, lv: f32(0.5) * np.mean(np.exp(lv.astype(f32)) + mu.astype(f32) ** 2 - f32(1) - lv.astype(f32), axis=0),
        lambda mu, lv: np.einsum("nz->z", 0.5 * (np.exp(lv) + mu * mu - 1 - lv)) / len(mu)], [
        (lambda mu, lv: 0.5 * np.sum(np.exp(lv) + mu * mu - 1 - lv, axis=0), "times too large"),
        (lambda mu, lv: 0.5 * np.mean(np.exp(lv) + mu * mu - 1 - lv, axis=1), "shape"),
        (lambda mu, lv: np.mean(np.exp(lv) + mu * mu - 1 - lv, axis=0), "factor 1/2"),
        (lambda mu, lv: 0.5 * np.mean(np.exp(2 * lv) + mu * mu - 1 - 2 * lv, axis=0), "log sigma"),
        (lambda mu, lv: 0.5 * np.mean(np.exp(lv) + mu * mu + 1 - lv, axis=0), "constant term"),
        (lambda mu, lv: 0.5 * np.mean(np.exp(lv) - 1 - lv, axis=0), "mu term"),
        (lambda mu, lv: 0.5 * np.mean(np.exp(lv) + mu * mu - 1 + lv, axis=0), "logvar term"),
    ]),
})
