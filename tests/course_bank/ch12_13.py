"""Answer bank, chapters 12-13 (see ``tests/course_bank/__init__.py``)."""
import math

import numpy as np
import scipy.special as sp

f32 = np.float32


def iw_scipy(lw, g):
    wt = sp.softmax(lw, axis=0)
    return sp.logsumexp(lw, axis=0) - np.log(len(lw)), np.einsum("kn,knp->np", wt, g)


def iw_f32(lw, g):
    lw, g = lw.astype(f32), g.astype(f32)
    top = lw.max(axis=0)
    w = np.exp(lw - top)
    return top + np.log(w.mean(axis=0)), np.sum((w / w.sum(axis=0))[..., None] * g, axis=0)


def _iw(lw, g, bound=None, weights="norm"):
    top = lw.max(axis=0)
    w = np.exp(lw - top)
    b = top + np.log(w.mean(axis=0)) if bound is None else bound
    if weights == "norm":
        wt = w / w.sum(axis=0)
    elif weights == "uniform":
        wt = np.full_like(w, 1.0 / len(lw))
    elif weights == "raw":
        wt = w
    elif weights == "rawk":
        wt = w / len(lw)
    elif weights == "axis1":
        e = np.exp(lw - lw.max(axis=1, keepdims=True))
        wt = e / e.sum(axis=1, keepdims=True)
    return b, np.sum(wt[..., None] * g, axis=0)


def fge_slogdet(L):
    k = L.shape[0]
    return 0.5 * np.linalg.slogdet(2 * np.pi * np.e * (L @ L.T))[1] + 0 * k


def fge_f32(L):
    L = L.astype(f32)
    return f32(0.5) * L.shape[0] * f32(np.log(2 * np.pi) + 1) + np.sum(np.log(np.diag(L)))


def fge_loop(L):
    return sum(0.5 * (math.log(2 * math.pi) + 1) + math.log(L[i, i]) for i in range(len(L)))


def _fge(L, half=0.5, const=True, kfix=None, e=True, sign=1.0, mf=False):
    k = L.shape[0] if kfix is None else kfix
    c = 0.5 * k * (np.log(2 * np.pi) + (1 if e else 0)) if const else 0.0
    ld = 0.5 * np.sum(np.log(np.diag(L @ L.T))) if mf else np.sum(np.log(np.diag(L)))
    return c + sign * 2 * half * ld


def pl_f32(z, u, w, b):
    z, u, w = z.astype(f32), u.astype(f32), w.astype(f32)
    t = np.tanh(z @ w + f32(b))
    return np.log(np.abs(f32(1) + (f32(1) - t * t) * (u @ w)))


def pl_cosh(z, u, w, b):
    return np.log(np.abs(1 + (u @ w) / np.cosh(z @ w + b) ** 2))


def pl_slogdet(z, u, w, b):
    out = []
    for row in z:
        psi = (1 - np.tanh(row @ w + b) ** 2) * w
        out.append(np.linalg.slogdet(np.eye(len(u)) + np.outer(u, psi))[1])
    return np.array(out)


def _pl(z, u, w, b, d=True, uw=None, one=1.0, sign=1.0, bias=True, log=True):
    a = z @ w + (b if bias else 0.0)
    t = (1 - np.tanh(a) ** 2) if d else np.tanh(a)
    det = one + sign * t * (u @ w if uw is None else uw)
    return np.log(np.abs(det)) if log else det


BANK = {
    "ex12_1": ("check_iwae_value_and_grad", [iw_scipy, iw_f32], [
        (lambda lw, g: _iw(lw, g, weights="uniform"), "same weight 1/K"),
        (lambda lw, g: _iw(lw, g, weights="axis1"), "axis 1"),
        (lambda lw, g: _iw(lw, g, weights="raw"), "not normalised"),
        (lambda lw, g: _iw(lw, g, weights="rawk"), "divided by K"),
        (lambda lw, g: _iw(lw, g, bound=lw.mean(axis=0)), "ELBO"),
        (lambda lw, g: _iw(lw, g, bound=sp.logsumexp(lw, axis=0)), "log K is missing"),
        (lambda lw, g: (np.log(np.mean(np.exp(lw), axis=0)), _iw(lw, g)[1]), "underflows"),
        (lambda lw, g: (_iw(lw, g)[0], -_iw(lw, g)[1]), "wrong sign"),
        (lambda lw, g: _iw(lw, g)[0], "2 values"),
    ]),
    "ex12_2": ("check_full_gaussian_entropy", [fge_slogdet, fge_f32, fge_loop], [
        (lambda L: _fge(L, half=1.0), "lacks its factor 1/2"),
        (lambda L: _fge(L, mf=True), "mean-field"),
        (lambda L: _fge(L, sign=-1.0), "wrong sign"),
        (lambda L: _fge(L, kfix=1), "one dimension"),
        (lambda L: _fge(L, e=False), "the e of"),
        (lambda L: _fge(L, const=False), "constant term is missing"),
        (lambda L: _fge(L, kfix=3), "hard-coded K = 3"),
        (lambda L: _fge(L, half=0.25), "extra factor 1/2"),
        (lambda L: 0.5 * (np.log(2 * np.pi) + 1) + np.log(np.diag(L)), "shape"),
    ]),
    "ex12_3": ("check_planar_logdet", [pl_f32, pl_cosh, pl_slogdet], [
        (lambda z, u, w, b: _pl(z, u, w, b, d=False), "tanh itself"),
        (lambda z, u, w, b: _pl(z, u, w, b, uw=1.0), "factor u\\^T w is missing"),
        (lambda z, u, w, b: _pl(z, u, w, b, log=False), "determinant itself"),
        (lambda z, u, w, b: _pl(z, u, w, b, uw=u @ u), "u\\^T u"),
        (lambda z, u, w, b: _pl(z, u, w, b, uw=w @ w), "w\\^T w"),
        (lambda z, u, w, b: _pl(z, u, w, b, one=0.0), "the 1"),
        (lambda z, u, w, b: _pl(z, u, w, b, sign=-1.0), "wrong sign"),
        (lambda z, u, w, b: _pl(z, u, w, b, bias=False), "bias b"),
        (lambda z, u, w, b: np.log(1 + (1 - np.tanh(z @ w + b) ** 2) * (u @ w)), "absolute value|nan or inf"),
    ]),
}


# ---------------------------------------------------------------- chapter 13
def _enc_dec(encoder, decoder, x, y, eps, c, first=False, decode_mean=False, logsig=False, eps_var=False):
    e = np.eye(c)[y]
    cat = (lambda p: np.concatenate([e, p], axis=1)) if first else (lambda p: np.concatenate([p, e], axis=1))
    h = encoder(cat(x))
    zd = h.shape[1] // 2
    mu, lv = h[:, :zd], h[:, zd:]
    z = mu if decode_mean else mu + np.exp(lv if eps_var else 0.5 * lv) * eps
    logits = decoder(cat(z))
    logp = np.sum(x * logits - np.logaddexp(0.0, logits), axis=1)
    if logsig:
        kl = 0.5 * np.sum(np.exp(2 * lv) + mu ** 2 - 1 - 2 * lv, axis=1)
    else:
        kl = 0.5 * np.sum(np.exp(lv) + mu ** 2 - 1 - lv, axis=1)
    return kl, logp


def cv_ok(*a):
    kl, logp = _enc_dec(*a)
    return np.mean(kl - logp)


def cv_f32(encoder, decoder, x, y, eps, c):
    e = np.eye(c)[y]
    h = encoder(np.hstack([x, e]))
    zd = h.shape[1] // 2
    mu, lv = h[:, :zd].astype(f32), h[:, zd:].astype(f32)
    z = mu + np.exp(f32(0.5) * lv) * eps.astype(f32)
    logits = np.asarray(decoder(np.hstack([z, e])), dtype=f32)
    xx = x.astype(f32)
    logp = np.sum(xx * logits - np.maximum(logits, f32(0)) - np.log1p(np.exp(-np.abs(logits))), axis=1)
    kl = f32(0.5) * np.sum(np.exp(lv) + mu * mu - f32(1) - lv, axis=1)
    return np.mean(kl - logp)


def cv_onehot_loop(encoder, decoder, x, y, eps, c):
    e = np.zeros((len(y), c))
    e[np.arange(len(y)), y] = 1.0
    h = encoder(np.concatenate([x, e], axis=1))
    mu, lv = np.split(h, 2, axis=1)
    z = mu + np.sqrt(np.exp(lv)) * eps
    logits = decoder(np.concatenate([z, e], axis=1))
    logp = np.sum(x * sp.log_expit(logits) + (1 - x) * sp.log_expit(-logits), axis=1)
    return float(np.mean(0.5 * np.sum(np.expm1(lv) - lv + mu * mu, axis=1) - logp))


def _cv(f):
    def g(*a):
        return f(*_enc_dec(*a))
    return g


def _rd_parts(model, x, eps, eps_var=False, mean_z=False):
    mu, lv = model.encode(x)
    z = mu if mean_z else mu + np.exp(lv if eps_var else 0.5 * lv) * eps
    logits = model.decode(z)
    kl = 0.5 * (np.exp(lv) + mu ** 2 - 1 - lv)
    lp = x * logits - np.logaddexp(0.0, logits)
    return kl, lp, mu, lv, logits


def rd_ok(model, x, eps):
    kl, lp, *_ = _rd_parts(model, x, eps)
    return kl.sum(1).mean(), -lp.sum(1).mean()


def rd_f32(model, x, eps):
    mu, lv = model.encode(x)
    mu, lv = mu.astype(f32), lv.astype(f32)
    logits = np.asarray(model.decode((mu + np.exp(f32(0.5) * lv) * eps.astype(f32)).astype(np.float64)),
                        dtype=f32)
    xx = x.astype(f32)
    rate = np.mean(f32(0.5) * np.sum(np.exp(lv) + mu * mu - f32(1) - lv, axis=1))
    dist = -np.mean(np.sum(xx * logits - np.logaddexp(f32(0), logits), axis=1))
    return rate, dist


def _fb(mu, lv, lam, per_point=False, half=0.5, mask=True, scale=True, op=np.maximum, red="mean"):
    n = mu.shape[0]
    kl = half * (np.exp(lv) + mu ** 2 - 1 - lv)
    kl_bar = kl.mean(axis=0) if red == "mean" else kl.sum(axis=0)
    value = np.maximum(lam, kl).mean(axis=0).sum() if per_point else op(lam, kl_bar).sum()
    on = (kl_bar > lam) if mask else np.ones_like(kl_bar, dtype=bool)
    d = n if scale else 1
    return value, mu * on / d, 2 * half * 0.5 * np.expm1(lv) * on / d


def fb_f32(mu, lv, lam):
    mu, lv = mu.astype(f32), lv.astype(f32)
    n = f32(mu.shape[0])
    kl_bar = np.mean(f32(0.5) * (np.exp(lv) + mu * mu - f32(1) - lv), axis=0)
    on = (kl_bar > f32(lam)).astype(f32) / n
    return np.sum(np.maximum(f32(lam), kl_bar)), mu * on, f32(0.5) * np.expm1(lv) * on


def fb_where(mu, lv, lam):
    kl_bar = (0.5 * (np.exp(lv) + mu ** 2 - 1 - lv)).mean(0)
    active = kl_bar > lam
    n = len(mu)
    value = float(np.where(active, kl_bar, lam).sum())
    return value, np.where(active, mu / n, 0.0), np.where(active, 0.5 * np.expm1(lv) / n, 0.0)


BANK.update({
    "ex13_1": ("check_cvae_negative_elbo", [cv_f32, cv_onehot_loop, cv_ok], [
        (lambda enc, dec, x, y, eps, c: cv_ok(enc, dec, x, y, eps, c) if False else np.mean(np.subtract(*_enc_dec(enc, dec, x, y, eps, c, first=True))),
         "before the data|received an input"),
        (_cv(lambda kl, lp: np.mean(-kl - lp)), "subtracted the KL"),
        (lambda enc, dec, x, y, eps, c: np.mean(np.subtract(*_enc_dec(enc, dec, x, y, eps, c, decode_mean=True))), "decoded the mean"),
        (_cv(lambda kl, lp: np.mean(-lp)), "KL term is missing"),
        (_cv(lambda kl, lp: np.mean(kl)), "reconstruction term is missing"),
        (_cv(lambda kl, lp: np.mean(2 * kl - lp)), "lacks its factor 1/2"),
        (_cv(lambda kl, lp: np.sum(kl - lp)), "summed over the"),
        (_cv(lambda kl, lp: np.mean(kl + lp)), "reconstruction term has the wrong sign"),
        (lambda enc, dec, x, y, eps, c: np.mean(np.subtract(*_enc_dec(enc, dec, x, y, eps, c, logsig=True))), "log sigma"),
        (lambda enc, dec, x, y, eps, c: cv_ok(enc, dec, x, y, eps, c) * np.ones(len(x)), "shape|one number"),
        (lambda enc, dec, x, y, eps, c: enc(x), "received an input"),
    ]),
    "ex13_2": ("check_rate_distortion", [rd_ok, rd_f32,
                                         lambda m, x, eps: tuple(float(v) for v in rd_ok(m, x, eps))], [
        (lambda m, x, eps: rd_ok(m, x, eps)[::-1], r"\(distortion, rate\)"),
        (lambda m, x, eps: (_rd_parts(m, x, eps)[0].sum(1), -_rd_parts(m, x, eps)[1].sum(1)), "shape"),
        (lambda m, x, eps: (_rd_parts(m, x, eps)[0].mean(), rd_ok(m, x, eps)[1]), "averaged the KL over the latent"),
        (lambda m, x, eps: (rd_ok(m, x, eps)[0], -_rd_parts(m, x, eps, mean_z=True)[1].sum(1).mean()), "decoded the mean"),
        (lambda m, x, eps: (rd_ok(m, x, eps)[0], -_rd_parts(m, x, eps)[1].mean()), "over the pixels"),
        (lambda m, x, eps: (rd_ok(m, x, eps)[0], -rd_ok(m, x, eps)[1]), "distortion has the wrong sign"),
        (lambda m, x, eps: (rd_ok(m, x, eps)[0], -_rd_parts(m, x, eps, eps_var=True)[1].sum(1).mean()), "variance where"),
        (lambda m, x, eps: (_rd_parts(m, x, eps)[0].sum(), rd_ok(m, x, eps)[1]), "summed the rate"),
        (lambda m, x, eps: (2 * rd_ok(m, x, eps)[0], rd_ok(m, x, eps)[1]), "factor 1/2"),
        (lambda m, x, eps: rd_ok(m, x, eps)[0], "2 values"),
    ]),
    "ex13_3": ("check_free_bits_kl", [fb_f32, fb_where], [
        (lambda mu, lv, lam: _fb(mu, lv, lam, per_point=True), "each data point"),
        (lambda mu, lv, lam: _fb(mu, lv, lam, op=np.minimum), "not min"),
        (lambda mu, lv, lam: _fb(mu, lv, 0.0), "plain KL"),
        (lambda mu, lv, lam: _fb(mu, lv, lam, red="sum"), "summed each dimension"),
        (lambda mu, lv, lam: _fb(mu, lv, lam, mask=False), "mask them out"),
        (lambda mu, lv, lam: (_fb(mu, lv, lam)[0], _fb(mu, lv, lam)[1] * 0 + mu * (~(((0.5 * (np.exp(lv) + mu ** 2 - 1 - lv)).mean(0)) > lam)) / len(mu), _fb(mu, lv, lam)[2]),
         "wrong dimensions"),
        (lambda mu, lv, lam: (_fb(mu, lv, lam)[0], _fb(mu, lv, lam)[1], 2 * _fb(mu, lv, lam)[2]), "factor 1/2"),
        (lambda mu, lv, lam: _fb(mu, lv, lam, scale=False), "batch size"),
        (lambda mu, lv, lam: (np.maximum(lam, (0.5 * (np.exp(lv) + mu ** 2 - 1 - lv)).mean(0)).mean(),) + _fb(mu, lv, lam)[1:], "averaged over the dimensions"),
        (lambda mu, lv, lam: _fb(mu, lv, lam)[:2], "3 values"),
    ]),
})
