"""Answer bank, chapters 01-04 (see ``tests/course_bank/__init__.py``)."""
import math

import numpy as np
import scipy.special as sp
import scipy.stats as st

f32 = np.float32


# ---------------------------------------------------------------- 01.1 gaussian_mle
def mle_fsum(x):
    m = math.fsum(x) / len(x)
    return m, math.fsum((v - m) ** 2 for v in x) / len(x)


def mle_f32(x):
    x = x.astype(f32)
    return x.mean(), x.var()


def mle_moments(x):
    return np.mean(x), np.mean(x * x) - np.mean(x) ** 2


# ---------------------------------------------------------------- 01.2 kde
def kde_scipy(x_eval, x_data, h):
    lk = st.norm.logpdf(x_eval[:, None], loc=x_data[None, :], scale=h)
    return sp.logsumexp(lk, axis=1) - np.log(len(x_data))


def kde_f32(x_eval, x_data, h):
    d = (x_eval[:, None] - x_data[None, :]).astype(f32) / f32(h)
    lk = -f32(0.5) * d * d - f32(np.log(np.sqrt(2 * np.pi) * h))
    top = lk.max(axis=1, keepdims=True)
    return top[:, 0] + np.log(np.mean(np.exp(lk - top), axis=1))


def kde_loop(x_eval, x_data, h):
    out = []
    for x in np.atleast_1d(x_eval):
        lk = [-0.5 * ((x - d) / h) ** 2 - math.log(h * math.sqrt(2 * math.pi)) for d in x_data]
        out.append(np.logaddexp.reduce(lk) - math.log(len(x_data)))
    return np.array(out)


def _kde(x_eval, x_data, var, norm=True, mean=True, stable=True):
    lk = -0.5 * (x_eval[:, None] - x_data[None, :]) ** 2 / var
    if norm:
        lk = lk - 0.5 * np.log(2 * np.pi * var)
    r = sp.logsumexp(lk, axis=1) if stable else np.log(np.sum(np.exp(lk), axis=1))
    return r - np.log(len(x_data)) if mean else r


# ---------------------------------------------------------------- 01.3 minibatch gradient
def mb_mean(x_batch, n_total, mean, var):
    return n_total * np.mean(x_batch - mean) / var


def mb_f32(x_batch, n_total, mean, var):
    return f32(n_total) / f32(len(x_batch)) * np.sum((x_batch.astype(f32) - f32(mean)) / f32(var))


BANK = {
    "ex01_1": ("check_gaussian_mle", [mle_fsum, mle_f32, mle_moments], [
        (lambda x: (x.mean(), x.var(ddof=1)), "N-1"),
        (lambda x: (x.mean(), x.std()), "standard deviation"),
        (lambda x: (x.mean(), np.mean(x * x)), "about 0"),
        (lambda x: (x.var(), x.mean()), r"\(variance, mean\)"),
        (lambda x: (0.0, 1.0), "ignores its argument x"),
        (lambda x: (np.median(x), x.var()), "median"),
        (lambda x: (x.mean(), x.std(ddof=1)), "unbiased standard deviation"),
    ]),
    "ex01_2": ("check_kde_log_density", [kde_scipy, kde_f32, kde_loop], [
        (lambda xe, xd, h: _kde(xe, xd, h * h, mean=False), "summed the kernels"),
        (lambda xe, xd, h: _kde(xe, xd, h), "variance"),
        (lambda xe, xd, h: _kde(xe, xd, h * h, norm=False), "not normalised"),
        (lambda xe, xd, h: _kde(xe, xd, h * h, stable=False), "log-sum-exp"),
        (lambda xe, xd, h: np.zeros(len(xe)), "same value whatever"),
        (lambda xe, xd, h: _kde(xe, xd, 0.5, norm=True), "ignores its argument h"),
        (lambda xe, xd, h: _kde(xe, xd, h * h).mean(), "shape"),
    ]),
    "ex01_3": ("check_minibatch_gradient", [mb_mean, mb_f32,
                                             lambda xb, n, m, v: sum((t - m) / v for t in xb) * n / len(xb)], [
        (lambda xb, n, m, v: np.sum((xb - m) / v), "did not rescale"),
        (lambda xb, n, m, v: np.mean((xb - m) / v), "averaged over the minibatch"),
        (lambda xb, n, m, v: np.sum((xb - m) / v) / n, "divided by N"),
        (lambda xb, n, m, v: n / len(xb) * np.sum((xb - m) / np.sqrt(v)), "standard deviation"),
        (lambda xb, n, m, v: n / len(xb) * np.sum((m - xb) / v), "wrong sign"),
        (lambda xb, n, m, v: 24 / 6 * np.sum((xb - m) / v), "ignores its argument n"),
        (lambda xb, n, m, v: 4.0 * np.sum((xb - 0.2) / 1.7), "ignores its argument (n|m|v)"),
    ]),
}


# ---------------------------------------------------------------- chapter 02
def lb_einsum(dy, x, W):
    return np.einsum("no,io->ni", dy, W), np.einsum("ni,no->io", x, dy), np.einsum("no->o", dy)


def lb_f32(dy, x, W):
    dy, x, W = dy.astype(f32), x.astype(f32), W.astype(f32)
    return dy @ W.T, x.T @ dy, dy.sum(axis=0)


def xent_scipy(logits, y):
    return np.mean(sp.logsumexp(logits, axis=1) - logits[np.arange(len(y)), y])


def xent_f32(logits, y):
    a = logits.astype(f32)
    a = a - a.max(axis=1, keepdims=True)
    return -np.mean(a[np.arange(len(y)), y] - np.log(np.exp(a).sum(axis=1)))


def xent_logaddexp(logits, y):
    return np.mean([np.logaddexp.reduce(r) - r[k] for r, k in zip(logits, y)])


def _softmax(a, axis=1):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def xg_onehot(logits, y):
    return (sp.softmax(logits, axis=1) - np.eye(logits.shape[1])[y]) / len(y)


def xg_f32(logits, y):
    p = _softmax(logits.astype(f32))
    p[np.arange(len(y)), y] -= f32(1)
    return p / f32(len(y))


BANK.update({
    "ex02_1": ("check_linear_backward", [lb_einsum, lb_f32,
                                         lambda dy, x, W: ((W @ dy.T).T, (dy.T @ x).T, np.ones(len(dy)) @ dy)], [
        (lambda dy, x, W: (dy @ W.T, x.T @ dy, dy.mean(axis=0)), "averaged over the batch"),
        (lambda dy, x, W: (dy @ W.T, x.T @ dy / len(dy), dy.sum(axis=0)), "dW is .* times too small"),
        (lambda dy, x, W: (-dy @ W.T, x.T @ dy, dy.sum(axis=0)), "dx has the wrong sign"),
        (lambda dy, x, W: (dy @ W.T, dy.T @ x, dy.sum(axis=0)), "dW has shape"),
        (lambda dy, x, W: (dy @ W.T, x.T @ dy, dy.sum(axis=1)), "db has shape"),
        (lambda dy, x, W: (dy @ W.T, x.T @ dy), "3 values"),
        (lambda dy, x, W: (np.zeros_like(x), np.zeros_like(W), np.zeros(W.shape[1])), "same value whatever"),
    ]),
    "ex02_2": ("check_softmax_cross_entropy", [xent_scipy, xent_f32, xent_logaddexp], [
        (lambda a, y: np.mean(np.log(np.exp(a).sum(1)) - a[np.arange(len(y)), y]), "overflows"),
        (lambda a, y: np.sum(sp.logsumexp(a, axis=1) - a[np.arange(len(y)), y]), "times too large"),
        (lambda a, y: -np.mean(a[np.arange(len(y)), y]), "log-normaliser"),
        (lambda a, y: np.mean(sp.logsumexp(a, axis=0)[y] - a[np.arange(len(y)), y]), "axis 0"),
        (lambda a, y: np.mean(a[np.arange(len(y)), y] - sp.logsumexp(a, axis=1)), "wrong sign"),
        (lambda a, y: sp.logsumexp(a, axis=1) - a[np.arange(len(y)), y], "shape"),
        (lambda a, y: np.mean(sp.logsumexp(a, axis=1)), "true class"),
    ]),
    "ex02_3": ("check_softmax_cross_entropy_grad", [xg_onehot, xg_f32,
                                                    lambda a, y: (_softmax(a) - (np.arange(a.shape[1]) == y[:, None])) / len(y)], [
        (lambda a, y: _softmax(a) - np.eye(a.shape[1])[y], "times too large"),
        (lambda a, y: (np.eye(a.shape[1])[y] - _softmax(a)) / len(y), "wrong sign"),
        (lambda a, y: _softmax(a) / len(y), "label's term"),
        (lambda a, y: (_softmax(a, axis=0) - np.eye(a.shape[1])[y]) / len(y), "axis 0"),
        (lambda a, y: -np.eye(a.shape[1])[y] / len(y), "softmax"),
        (lambda a, y: (_softmax(a) - np.eye(a.shape[1])[y]).sum(0), "shape"),
    ]),
})


# ---------------------------------------------------------------- chapter 03
def nle_scipy(ll):
    return sp.logsumexp(ll) - np.log(len(ll))


def nle_f32(ll):
    ll = ll.astype(f32)
    top = ll.max()
    return top + np.log(np.mean(np.exp(ll - top)))


def le_scipy(x, w, b, s2):
    return st.norm.logpdf(x, loc=b, scale=np.sqrt(w * w + s2))


def le_f32(x, w, b, s2):
    x, v = x.astype(f32), f32(w * w + s2)
    return -f32(0.5) * (np.log(f32(2 * np.pi) * v) + (x - f32(b)) ** 2 / v)


def post_precision(x, w, b, s2):
    prec = 1.0 + w * w / s2
    return (w * (x - b) / s2) / prec, 1.0 / prec


def post_f32(x, w, b, s2):
    x, w, b, s2 = f32(x), f32(w), f32(b), f32(s2)
    v = s2 / (s2 + w * w)
    return v * w * (x - b) / s2, v


def _le(x, var, c):
    return -0.5 * (np.log(2 * np.pi * var) + (x - c) ** 2 / var)


BANK.update({
    "ex03_1": ("check_naive_log_evidence", [nle_scipy, nle_f32,
                                            lambda ll: np.logaddexp.reduce(ll) - math.log(len(ll))], [
        (lambda ll: np.log(np.mean(np.exp(ll))), "underflows"),
        (lambda ll: sp.logsumexp(ll), "log K is missing"),
        (lambda ll: np.mean(ll), "lower bound"),
        (lambda ll: np.max(ll), "largest log-likelihood"),
        (lambda ll: np.max(ll) - np.log(len(ll)), "largest term"),
        (lambda ll: sp.logsumexp(ll) - 2 * np.log(len(ll)), "twice"),
        (lambda ll: -1000.0, "ignores its argument ll"),
    ]),
    "ex03_2": ("check_log_evidence_1d", [le_scipy, le_f32,
                                         lambda x, w, b, s2: -0.5 * np.log(2 * np.pi) - 0.5 * np.log(w ** 2 + s2) - (x - b) ** 2 / (2 * (w ** 2 + s2))], [
        (lambda x, w, b, s2: _le(x, s2, b), "latent z"),
        (lambda x, w, b, s2: _le(x, w * w, b), "noise s2"),
        (lambda x, w, b, s2: _le(x, w + s2, b) if w > 0 else _le(x, -w + s2, b), "linear in w"),
        (lambda x, w, b, s2: _le(x, w * w + s2, 0.0), "offset b"),
        (lambda x, w, b, s2: _le(x, np.sqrt(w * w + s2), b), "standard deviation"),
        (lambda x, w, b, s2: -(x - b) ** 2 / (2 * (w * w + s2)), "log-normaliser"),
        (lambda x, w, b, s2: -np.log(2 * np.pi * (w * w + s2)) - (x - b) ** 2 / (2 * (w * w + s2)),
         "counted twice"),
        (lambda x, w, b, s2: _le(x, 1.0 + 0.4, b), "ignores its argument (w|s2)"),
    ]),
    "ex03_3": ("check_posterior_1d", [post_precision, post_f32,
                                      lambda x, w, b, s2: ((x - b) * w / (s2 + w * w), s2 / (s2 + w * w))], [
        (lambda x, w, b, s2: ((x - b) / w, s2 / w ** 2), "forgets the prior"),
        (lambda x, w, b, s2: (w * x / (s2 + w * w), s2 / (s2 + w * w)), "offset b"),
        (lambda x, w, b, s2: (w * (x - b) / (s2 + w * w), 1 + w * w / s2), "precision"),
        (lambda x, w, b, s2: (s2 / (s2 + w * w), w * (x - b) / (s2 + w * w)), r"\(variance, mean\)"),
        (lambda x, w, b, s2: (w * (x - b) / s2, s2 / (s2 + w * w)), "not multiplied by the posterior"),
        (lambda x, w, b, s2: ((x - b) / (s2 + w * w), s2 / (s2 + w * w)), "factor w"),
        (lambda x, w, b, s2: (0.0, 1.0), "same value whatever"),
    ]),
})


# ---------------------------------------------------------------- chapter 04
def kl_rel_entr(p, q):
    return np.sum(sp.rel_entr(p, q))


def kl_f32(p, q):
    p, q = p.astype(f32), q.astype(f32)
    m = p > 0
    return np.sum(p[m] * (np.log(p[m]) - np.log(q[m])))


def kl_where(p, q):
    return np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0) / q), 0.0))


def mckl_scipy(mu1, lv1, mu2, lv2, eps):
    x = mu1 + np.exp(0.5 * lv1) * eps
    return np.mean(st.norm.logpdf(x, mu1, np.exp(0.5 * lv1)) - st.norm.logpdf(x, mu2, np.exp(0.5 * lv2)))


def mckl_f32(mu1, lv1, mu2, lv2, eps):
    eps = eps.astype(f32)
    x = f32(mu1) + f32(np.exp(0.5 * lv1)) * eps
    d = (f32(lv2) - f32(lv1) - (x - f32(mu1)) ** 2 / f32(np.exp(lv1))
         + (x - f32(mu2)) ** 2 / f32(np.exp(lv2)))
    return f32(0.5) * np.mean(d)


def mckl_eps(mu1, lv1, mu2, lv2, eps):            # (x - mu1)^2 / var1 is eps^2
    x = mu1 + np.exp(0.5 * lv1) * eps
    return np.mean(0.5 * (lv2 - lv1) - 0.5 * eps ** 2 + 0.5 * (x - mu2) ** 2 / np.exp(lv2))


def _mckl(mu1, lv1, mu2, lv2, eps, s):
    x = mu1 + s * eps
    return np.mean(-0.5 * (lv1 + (x - mu1) ** 2 / np.exp(lv1)) + 0.5 * (lv2 + (x - mu2) ** 2 / np.exp(lv2)))


def mm_average(w, m, v):
    mean = np.average(m, weights=w)
    return mean, np.average((m - mean) ** 2 + v, weights=w)


def mm_f32(w, m, v):
    w, m, v = w.astype(f32), m.astype(f32), v.astype(f32)
    mean = np.sum(w * m)
    return mean, np.sum(w * (v + (m - mean) ** 2))


BANK.update({
    "ex04_1": ("check_kl_discrete", [kl_rel_entr, kl_f32, kl_where, lambda p, q: st.entropy(p, q)], [
        (lambda p, q: np.sum(q * np.log(q / p)), "swapped"),
        (lambda p, q: np.sum(p * np.log2(p / q)), "base 2"),
        (lambda p, q: np.sum(p * np.log10(p / q)), "base 10"),
        (lambda p, q: np.sum(p * np.log(p / q)), "contributes 0"),
        (lambda p, q: np.sum(np.log(p / q)), "not weighted"),
        (lambda p, q: np.sum(q * np.log(p / q)), "by q instead"),
        (lambda p, q: np.sum(p * np.log(q / p)), "wrong sign"),
        (lambda p, q: p * np.log(p / q), "shape"),
    ]),
    "ex04_2": ("check_mc_kl_gaussian", [mckl_scipy, mckl_f32, mckl_eps], [
        (lambda a, b, c, d, e: _mckl(a, b, c, d, e, np.exp(b)), "variance"),
        (lambda a, b, c, d, e: _mckl(a, b, c, d, e, 1.0), "did not scale"),
        (lambda a, b, c, d, e: _mckl(a, b, c, d, e, np.exp(0.5 * d)), "of p2"),
        (lambda a, b, c, d, e: -_mckl(a, b, c, d, e, np.exp(0.5 * b)), "wrong sign"),
        (lambda a, b, c, d, e: len(e) * _mckl(a, b, c, d, e, np.exp(0.5 * b)), "times too large"),
        (lambda a, b, c, d, e: _mckl(a, b, c, d, e, b), "logvar1 itself"),
        (lambda a, b, c, d, e: 0.5 * (d - b + (np.exp(b) + (a - c) ** 2) / np.exp(d) - 1), "ignores its argument e"),
    ]),
    "ex04_3": ("check_moment_match", [mm_average, mm_f32,
                                      lambda w, m, v: (w @ m, w @ (v + m * m) - (w @ m) ** 2)], [
        (lambda w, m, v: (m.mean(), w @ (v + m * m) - (w @ m) ** 2), "ignores the weights"),
        (lambda w, m, v: (w @ m, w @ v), "spread of the component means"),
        (lambda w, m, v: (w @ m, w @ (v + m * m)), "about 0"),
        (lambda w, m, v: (w @ m, w @ m ** 2 - (w @ m) ** 2), "own variances"),
        (lambda w, m, v: (w @ m, np.var(m) + v.mean()), "ignores the weights"),
        (lambda w, m, v: (w @ (v + m * m) - (w @ m) ** 2, w @ m), r"\(variance, mean\)"),
        (lambda w, m, v: (w @ m, w @ (v + m * m) - m.mean() ** 2), "mean you subtract"),
    ]),
})
