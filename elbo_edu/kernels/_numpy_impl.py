r"""The NumPy twins of the numba kernels: the same maths with whole-array operations.

These are the reference implementations (short, readable, no compilation) and the ``"numpy"``
backend. Each function has exactly the signature of its numba twin in :mod:`._numba_impl`; the
public, validating wrappers live in :mod:`.api`. Inputs here are already checked: C-contiguous
float arrays of one dtype, constants as Python floats, ``act`` an activation code of
:data:`ACTIVATIONS`. Results are written in place where an ``out`` array is given.

The formulas are those of :mod:`elbo_edu.distributions` and :mod:`elbo_edu.nn` (the tests compare
them); they are derived in chapters 02 (activations), 05 (KL), 07 (likelihoods), 08
(reparameterization) and 01 (the kernel density estimate).
"""
from __future__ import annotations

import numpy as np

from .._math import logsumexp as _logsumexp

__all__ = ["ACTIVATIONS", "LOG_2PI", "bias_act_forward", "bias_act_backward",
           "bernoulli_loglik_grad", "gaussian_loglik_grad", "reparam_kl", "reparam_kl_backward",
           "adam_update", "adam_update_all", "in_unit_interval", "binarize", "logsumexp",
           "kde_log_density"]

#: Activation names and the integer codes the kernels branch on.
ACTIVATIONS = {"identity": 0, "relu": 1, "leaky_relu": 2, "tanh": 3, "sigmoid": 4, "softplus": 5}
LOG_2PI = float(np.log(2.0 * np.pi))


# ------------------------------------------------------------------ fused bias + activation
def bias_act_forward(h, b, act, slope):
    """``h <- f(h + b)`` in place; ``h`` (N, K), ``b`` (K,). Returns ``h``."""
    t = h.dtype.type
    np.add(h, b, out=h)
    if act == 1:
        np.maximum(h, t(0), out=h)
    elif act == 2:
        np.multiply(h, np.where(h > 0, t(1), t(slope)), out=h)
    elif act == 3:
        np.tanh(h, out=h)
    elif act == 4:
        e = np.exp(-np.abs(h))
        num = np.where(h >= 0, t(1), e)
        e += t(1)
        np.divide(num, e, out=h)
    elif act == 5:
        e = np.exp(-np.abs(h))
        np.maximum(h, t(0), out=h)
        h += np.log1p(e)
    return h


def bias_act_backward(dy, y, act, slope, out):
    r"""``dpre = dy * f'(pre)`` written with the output ``y = f(pre)``, and ``db = sum_n dpre``.

    ``f'`` in terms of ``y``: ReLU ``[y > 0]``; leaky ReLU ``1`` or ``slope``; tanh ``1 - y^2``;
    sigmoid ``y(1 - y)``; softplus :math:`\sigma(pre) = 1 - e^{-y}` (``-expm1(-y)``).
    ``out`` (may be ``dy`` itself) receives ``dpre``. Returns ``(dpre, db)``.
    """
    t = y.dtype.type
    if act == 0:
        if out is not dy:
            out[...] = dy
    elif act == 1:
        np.multiply(dy, y > 0, out=out)
    elif act == 2:
        np.multiply(dy, np.where(y > 0, t(1), t(slope)), out=out)
    elif act == 3:
        np.multiply(dy, t(1) - y * y, out=out)
    elif act == 4:
        np.multiply(dy, y * (t(1) - y), out=out)
    elif act == 5:
        np.multiply(dy, -np.expm1(-y), out=out)
    return out, out.sum(axis=0)


# ------------------------------------------------------------------ likelihoods (chapter 07)
def bernoulli_loglik_grad(x, logits, scale, out):
    r"""Row log-likelihoods :math:`\sum_d x\ell - \mathrm{softplus}(\ell)` and
    ``out = scale * (x - sigmoid(logits))`` in one call. ``out`` may be ``logits``."""
    t = logits.dtype.type
    e = np.exp(-np.abs(logits))                       # e^{-|l|}, never overflows
    terms = np.log1p(e)
    terms += np.maximum(logits, t(0))                 # softplus(l)
    np.subtract(x * logits, terms, out=terms)
    logp = terms.sum(axis=-1)
    num = np.where(logits >= 0, t(1), e)              # sigmoid(l) = num / (1 + e)
    e += t(1)
    np.divide(num, e, out=num)
    np.subtract(x, num, out=out)
    out *= t(scale)
    return logp, out


def gaussian_loglik_grad(x, mean, logvar, scale, dmean_out, dlogvar_out):
    r"""Row log-densities of :math:`\mathcal N(x; \mu, e^{\mathrm{logvar}})` and, times ``scale``,
    their gradients ``(x-mu)/var`` and ``((x-mu)^2/var - 1)/2``. Returns ``(logp, dmean, dlogvar)``."""
    t = x.dtype.type
    r = x - mean
    inv_var = np.exp(-logvar)
    np.multiply(r, inv_var, out=dmean_out)            # (x - mu) / var
    r *= dmean_out                                    # (x - mu)^2 / var
    logp = t(-0.5) * np.sum(t(LOG_2PI) + logvar + r, axis=-1)
    np.subtract(r, t(1), out=dlogvar_out)
    dlogvar_out *= t(0.5 * scale)
    dmean_out *= t(scale)
    return logp, dmean_out, dlogvar_out


# ---------------------------------------------------- reparameterization + KL (chapters 05, 08)
def reparam_kl(mu, logvar, eps, z_out):
    r"""``z = mu + exp(logvar/2) * eps`` and the rows of KL(N(mu, var) || N(0, I)),
    :math:`\tfrac12\sum_d(\mathrm{expm1}(\mathrm{logvar}) - \mathrm{logvar} + \mu^2)`."""
    t = mu.dtype.type
    np.multiply(np.exp(t(0.5) * logvar), eps, out=z_out)
    z_out += mu
    kl = t(0.5) * np.sum(np.expm1(logvar) - logvar + mu * mu, axis=-1)
    return z_out, kl


def reparam_kl_backward(dz, mu, logvar, eps, kl_scale, dmu_out, dlogvar_out):
    r"""Gradients through ``z`` and ``kl_scale * KL``: ``dmu = dz + kl_scale * mu``,
    ``dlogvar = (dz * sigma * eps + kl_scale * expm1(logvar)) / 2``."""
    t = mu.dtype.type
    np.multiply(mu, t(kl_scale), out=dmu_out)
    dmu_out += dz
    np.multiply(np.exp(t(0.5) * logvar) * eps, dz, out=dlogvar_out)
    dlogvar_out += t(kl_scale) * np.expm1(logvar)
    dlogvar_out *= t(0.5)
    return dmu_out, dlogvar_out


# ------------------------------------------------------------------------------ Adam
def adam_update(p, g, m, v, step, b1, b2, eps_hat):
    r"""One Adam step in place, bias corrections folded into ``step`` and ``eps_hat``:
    ``m = b1 m + (1-b1) g``, ``v = b2 v + (1-b2) g^2``, ``p -= step * m / (sqrt(v) + eps_hat)``."""
    t = p.dtype.type
    m *= t(b1)
    m += t(1.0 - b1) * g
    v *= t(b2)
    v += t(1.0 - b2) * (g * g)
    denom = np.sqrt(v)
    denom += t(eps_hat)
    p -= np.divide(t(step) * m, denom, out=denom)


def adam_update_all(groups, step, b1, b2, eps_hat):
    """:func:`adam_update` for each ``(p, g, m, v)`` of ``groups`` (checked by the caller)."""
    for p, g, m, v in groups:
        adam_update(p, g, m, v, step, b1, b2, eps_hat)


# ------------------------------------------------------------------------- data checks
def in_unit_interval(x):
    """True when every entry of ``x`` is in [0, 1]; NaN is not (min and max propagate it, and it
    fails both comparisons)."""
    return bool(x.size == 0 or (np.min(x) >= 0 and np.max(x) <= 1))


# ------------------------------------------------------------------------- binarization
def binarize(x, u, out):
    """``out = 1.0 where u < x else 0.0`` (a Bernoulli(x) sample from uniforms ``u``)."""
    np.less(u, x, out=out)
    return out


# ------------------------------------------------------------------------- evaluation
def logsumexp(a):
    """:math:`\\log\\sum_k e^{a_k}` over axis 0 of a 2-D array ``a`` (K, N) -> (N,)."""
    return _logsumexp(a, axis=0)


def kde_log_density(x_eval, x_data, bandwidth):
    r"""Gaussian-kernel density estimate at each row of ``x_eval`` (chapter 01, D1.3):

    .. math:: \log\hat p(x) = \log\frac{1}{N h^d}\sum_{i=1}^N (2\pi)^{-d/2}
              \exp\Big(-\frac{\lVert x - x_i\rVert^2}{2h^2}\Big)

    evaluated in chunks of rows so memory stays bounded; squared distances are accumulated one
    coordinate at a time (exact differences, no :math:`\lVert x\rVert^2 - 2x\cdot x_i` cancellation).
    """
    t = x_eval.dtype.type
    (m, d), n = x_eval.shape, x_data.shape[0]
    coef = t(-0.5 / (bandwidth * bandwidth))
    const = -np.log(n) - d * np.log(bandwidth) - 0.5 * d * LOG_2PI
    out = np.empty(m, dtype=x_eval.dtype)
    chunk = max(1, (1 << 21) // max(n, 1))
    for start in range(0, m, chunk):
        xe = x_eval[start:start + chunk]
        sq = np.zeros((xe.shape[0], n), dtype=x_eval.dtype)
        for k in range(d):
            diff = np.subtract.outer(xe[:, k], x_data[:, k])
            diff *= diff
            sq += diff
        sq *= coef
        out[start:start + chunk] = _logsumexp(sq, axis=1) + t(const)
    return out
