r"""The numba kernels: one fused loop per element-wise step, beside the NumPy twins of
:mod:`._numpy_impl` (same signatures, same formulas, same order of operations).

Rules followed by every kernel here:

* ``cache=True`` (compiled code is reused across sessions) and no blanket ``fastmath`` (it would
  let the compiler assume there are no NaNs or infinities, and break the checks that look for
  them). The one flag used is ``reassoc``, in one row-sum helper (``_vecmath.rowsum_f64``);
* constants are passed in already converted to the array's dtype (the Python wrappers below do
  ``t(0.5)``), so a float32 kernel never meets a float64 literal and never upcasts element-wise
  work to double. The only double-precision values are the scalar accumulators of the row sums
  (log-likelihoods, KL, the KDE), which keep those sums accurate to about one float32 rounding;
* the loops run over C-contiguous arrays in memory order, so LLVM can vectorise the simple ones
  (``error_model="numpy"``: no Python zero-division check inside the loops). Without Intel's SVML
  library numba calls the scalar libm for ``exp``/``log1p``, so loops containing them are not
  vectorised; NumPy's own SIMD ``exp`` is then faster per element (see the benchmarks). The
  float32 Bernoulli kernel, the largest element-wise step of training, therefore evaluates its
  ``exp`` and ``log1p`` as polynomials, and so do the float32 reparameterization kernels
  (:mod:`._vecmath`: within 2 ulp, tested over the whole float32 range);
* a loop never reads an array it writes under another name (``out`` may be ``logits``): LLVM
  then cannot prove the iterations independent and gives up vectorising.

Under ``NUMBA_DISABLE_JIT=1`` the same functions run as plain (slow) Python, which the tests use to
check them without a compiler.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._numpy_impl import ACTIVATIONS, LOG_2PI
from ._vecmath import exp, exp_f32, expm1, log1p_unit_f32, rowsum_f64

__all__ = ["ACTIVATIONS", "bias_act_forward", "bias_act_backward", "bernoulli_loglik_grad",
           "gaussian_loglik_grad", "reparam_kl", "reparam_kl_backward", "adam_update",
           "adam_update_all", "in_unit_interval", "binarize", "logsumexp", "kde_log_density"]

# error_model="numpy": a division by zero gives inf/nan as in NumPy instead of a Python
# ZeroDivisionError check on every division, which would keep LLVM from vectorising the loops
# (that check alone makes the Adam loop ten times slower).
_JIT = dict(cache=True, nogil=True, error_model="numpy")


# ------------------------------------------------------------------ fused bias + activation
@njit(**_JIT)
def _bias_act_fwd(h, b, act, slope, zero, one):
    n, k = h.shape
    for i in range(n):
        for j in range(k):
            v = h[i, j] + b[j]
            if act == 1:
                v = zero if v <= zero else v             # max(v, 0); NaN passes through
            elif act == 2:
                v = v * slope if v <= zero else v
            elif act == 3:
                v = np.tanh(v)
            elif act == 4:
                e = exp(-abs(v))
                v = (one if v >= zero else e) / (one + e)
            elif act == 5:
                v = (v if v > zero else zero) + np.log1p(np.exp(-abs(v)))
            h[i, j] = v


@njit(**_JIT)
def _bias_act_bwd(dy, y, act, slope, out, db, zero, one):
    n, k = dy.shape
    for j in range(k):
        db[j] = zero
    for i in range(n):
        # one branch per row, straight-line inner loops: LLVM vectorises each of them
        if act == 1:
            for j in range(k):
                g = dy[i, j] if y[i, j] > zero else dy[i, j] * zero
                out[i, j] = g
                db[j] += g
        elif act == 0:
            for j in range(k):
                out[i, j] = dy[i, j]
                db[j] += dy[i, j]
        else:
            for j in range(k):
                g = dy[i, j]
                yy = y[i, j]
                if act == 2:
                    g = g if yy > zero else g * slope
                elif act == 3:
                    g = g * (one - yy * yy)
                elif act == 4:
                    g = g * (yy * (one - yy))
                elif act == 5:
                    g = g * -expm1(-yy)
                out[i, j] = g
                db[j] += g


def bias_act_forward(h, b, act, slope):
    t = h.dtype.type
    _bias_act_fwd(h, b, act, t(slope), t(0), t(1))
    return h


def bias_act_backward(dy, y, act, slope, out):
    t = y.dtype.type
    db = np.empty(dy.shape[1], dtype=dy.dtype)
    _bias_act_bwd(dy, y, act, t(slope), out, db, t(0), t(1))
    return out, db


# ------------------------------------------------------------------ likelihoods (chapter 07)
@njit(**_JIT)
def _bernoulli(x, logits, e, terms, scale, out, zero, one):
    """Given e = exp(-|l|) and terms = log1p(e): terms <- x l - softplus(l), out <- s (x - sigma)."""
    n, d = x.shape
    for i in range(n):
        for j in range(d):
            lg = logits[i, j]
            xx = x[i, j]
            ee = e[i, j]
            terms[i, j] = xx * lg - ((lg if lg > zero else zero) + terms[i, j])
            out[i, j] = scale * (xx - (one if lg >= zero else ee) / (one + ee))


# The float32 path: one vectorised pass per row, exp and log1p as polynomials (._vecmath).
@njit(**_JIT)
def _bernoulli_f32(x, logits, scale, out, logp):
    """terms = x l - softplus(l) summed per row into logp, out = s (x - sigmoid(l)); float32."""
    n, d = x.shape
    zero, one = np.float32(0), np.float32(1)
    row = np.empty(d, np.float32)      # this row's logits: ``out`` may be ``logits`` itself, and a
    terms = np.empty(d, np.float32)    # loop that writes an array it also reads is not vectorised
    for i in range(n):
        for j in range(d):
            row[j] = logits[i, j]
        for j in range(d):
            lg = row[j]
            xx = x[i, j]
            e = exp_f32(-abs(lg))                                     # e^{-|l|}
            terms[j] = xx * lg - ((lg if lg > zero else zero) + log1p_unit_f32(e))
            out[i, j] = scale * (xx - (one if lg >= zero else e) / (one + e))
        logp[i] = rowsum_f64(terms)


def bernoulli_loglik_grad(x, logits, scale, out):
    t = logits.dtype.type
    if logits.dtype == np.float32:
        logp = np.empty(x.shape[0], dtype=np.float32)
        _bernoulli_f32(x, logits, t(scale), out, logp)
        return logp, out
    # float64: NumPy's exp and log1p (libm accuracy, which the 1e-12 agreement with the twin
    # needs), then one fused numba loop for the rest
    e = np.abs(logits)
    np.negative(e, out=e)
    np.exp(e, out=e)                                      # e^{-|l|}, never overflows
    terms = np.log1p(e)
    _bernoulli(x, logits, e, terms, t(scale), out, t(0), t(1))
    return terms.sum(axis=-1), out


@njit(**_JIT)
def _gaussian(x, mean, logvar, scale, half_scale, dmean, dlogvar, logp, one, log2pi):
    n, d = x.shape
    terms = np.empty(d, x.dtype)         # a row's terms, summed after the (vectorised) loop
    for i in range(n):
        for j in range(d):
            lv = logvar[i, j]
            iv = exp(-lv)
            r = x[i, j] - mean[i, j]
            ri = r * iv
            r2 = r * ri
            terms[j] = log2pi + lv + r2
            dmean[i, j] = scale * ri
            dlogvar[i, j] = half_scale * (r2 - one)
        logp[i] = -0.5 * rowsum_f64(terms)


def gaussian_loglik_grad(x, mean, logvar, scale, dmean_out, dlogvar_out):
    t = x.dtype.type
    logp = np.empty(x.shape[0], dtype=x.dtype)
    _gaussian(x, mean, logvar, t(scale), t(0.5 * scale), dmean_out, dlogvar_out, logp, t(1),
              t(LOG_2PI))
    return logp, dmean_out, dlogvar_out


# ---------------------------------------------------- reparameterization + KL (chapters 05, 08)
@njit(**_JIT)
def _reparam_kl(mu, logvar, eps, z, kl, half):
    n, d = mu.shape
    terms = np.empty(d, mu.dtype)        # KL terms of a row, summed after the (vectorised) loop
    for i in range(n):
        for j in range(d):
            m = mu[i, j]
            lv = logvar[i, j]
            z[i, j] = m + exp(half * lv) * eps[i, j]
            terms[j] = expm1(lv) - lv + m * m
        kl[i] = 0.5 * rowsum_f64(terms)


def reparam_kl(mu, logvar, eps, z_out):
    t = mu.dtype.type
    kl = np.empty(mu.shape[0], dtype=mu.dtype)
    _reparam_kl(mu, logvar, eps, z_out, kl, t(0.5))
    return z_out, kl


@njit(**_JIT)
def _reparam_kl_bwd(dz, mu, logvar, eps, kl_scale, dmu, dlogvar, half):
    n, d = mu.shape
    for i in range(n):
        for j in range(d):
            g = dz[i, j]
            lv = logvar[i, j]
            dmu[i, j] = mu[i, j] * kl_scale + g
            dlogvar[i, j] = half * (exp(half * lv) * eps[i, j] * g + kl_scale * expm1(lv))


def reparam_kl_backward(dz, mu, logvar, eps, kl_scale, dmu_out, dlogvar_out):
    t = mu.dtype.type
    _reparam_kl_bwd(dz, mu, logvar, eps, t(kl_scale), dmu_out, dlogvar_out, t(0.5))
    return dmu_out, dlogvar_out


# ------------------------------------------------------------------------------ Adam
@njit(**_JIT)
def _adam(p, g, m, v, step, b1, c1, b2, c2, eps_hat):
    size = p.size
    pf, gf, mf, vf = (p.reshape(size), g.reshape(size), m.reshape(size),
                      v.reshape(size))
    for i in range(pf.size):
        gi = gf[i]
        mi = mf[i] * b1 + c1 * gi
        vi = vf[i] * b2 + c2 * (gi * gi)
        mf[i] = mi
        vf[i] = vi
        pf[i] -= step * mi / (np.sqrt(vi) + eps_hat)


def adam_update(p, g, m, v, step, b1, b2, eps_hat):
    adam_update_all(((p, g, m, v),), step, b1, b2, eps_hat)


def adam_update_all(groups, step, b1, b2, eps_hat):
    """:func:`adam_update` for each ``(p, g, m, v)`` of ``groups`` (checked by the caller), the
    scalars converted once per dtype: an optimizer step is one loop of kernel calls."""
    consts: dict = {}
    for p, g, m, v in groups:
        c = consts.get(p.dtype)
        if c is None:
            t = p.dtype.type
            c = consts[p.dtype] = (t(step), t(b1), t(1.0 - b1), t(b2), t(1.0 - b2), t(eps_hat))
        _adam(p, g, m, v, *c)


# ------------------------------------------------------------------------- data checks
@njit(**_JIT)
def _in_unit_interval(x, zero, one):
    xf = x.reshape(x.size)
    ok = True
    for i in range(xf.size):           # no early exit: the loop vectorises, one pass
        v = xf[i]
        ok &= (v >= zero) & (v <= one)  # False for NaN
    return ok


def in_unit_interval(x):
    t = x.dtype.type
    return bool(_in_unit_interval(x, t(0), t(1)))


# ------------------------------------------------------------------------- binarization
@njit(**_JIT)
def _binarize(x, u, out, zero, one):
    size = x.size
    xf, uf, of = x.reshape(size), u.reshape(size), out.reshape(size)
    for i in range(xf.size):
        of[i] = one if uf[i] < xf[i] else zero


def binarize(x, u, out):
    t = out.dtype.type
    _binarize(x, u, out, t(0), t(1))
    return out


# ------------------------------------------------------------------------- evaluation
@njit(**_JIT)
def _logsumexp0(a, out, zero):
    k, n = a.shape
    mx = np.full(n, -np.inf).astype(a.dtype)
    for r in range(k):
        for j in range(n):
            if a[r, j] > mx[j] or math.isnan(a[r, j]):
                mx[j] = a[r, j]
    for j in range(n):
        if not np.isfinite(mx[j]):
            mx[j] = zero
        out[j] = zero
    for r in range(k):
        for j in range(n):
            out[j] += np.exp(a[r, j] - mx[j])
    for j in range(n):
        out[j] = mx[j] + np.log(out[j])


def logsumexp(a):
    out = np.empty(a.shape[1], dtype=a.dtype)
    _logsumexp0(a, out, a.dtype.type(0))
    return out


@njit(parallel=True, **_JIT)
def _kde(x_eval, x_data_t, coef, const, out):
    """Rows of ``x_eval`` in parallel; for each, passes over all data points that vectorise:
    squared distances one coordinate at a time (``x_data_t`` is (d, N), each coordinate
    contiguous), the scaled maximum, the shifted exponentials (:func:`._vecmath.exp`), their sum."""
    m, d = x_eval.shape
    n = x_data_t.shape[1]
    for i in prange(m):
        s = np.empty(n, dtype=x_eval.dtype)
        xi, col = x_eval[i, 0], x_data_t[0]
        for r in range(n):
            diff = xi - col[r]
            s[r] = diff * diff
        for k in range(1, d):
            xi, col = x_eval[i, k], x_data_t[k]
            for r in range(n):
                diff = xi - col[r]
                s[r] += diff * diff
        mx = coef * s[0]                                  # same dtype as s: no upcast below
        for r in range(n):
            v = coef * s[r]
            s[r] = v
            mx = v if v > mx else mx
        for r in range(n):
            s[r] = exp(s[r] - mx)
        out[i] = mx + np.log(rowsum_f64(s)) + const


def kde_log_density(x_eval, x_data, bandwidth):
    t = x_eval.dtype.type
    (m, d), n = x_eval.shape, x_data.shape[0]
    const = -np.log(n) - d * np.log(bandwidth) - 0.5 * d * LOG_2PI
    out = np.empty(m, dtype=x_eval.dtype)
    _kde(x_eval, np.ascontiguousarray(x_data.T), t(-0.5 / (bandwidth * bandwidth)), float(const),
         out)
    return out
