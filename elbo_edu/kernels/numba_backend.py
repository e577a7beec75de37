r"""The ``"numba"`` backend: the operations of the seam as fused compiled loops.

Each kernel computes the same numbers as a readable function of the package (named in its
docstring: "the same as ``<function>``, fused"); the tests compare the two backends operation by
operation (float64 to 1e-12, float32 to 1e-5, relative). Rules followed by every kernel here:

* ``cache=True`` (compiled code is reused across sessions) and no blanket ``fastmath`` (it would
  let the compiler assume there are no NaNs or infinities, and break the checks that look for
  them). Two flags are used: ``reassoc`` in one row-sum helper (``_vecmath.rowsum_f64``), and
  ``contract`` (a multiply and an add fused into one FMA, rounded once) in :mod:`._vecmath`'s
  polynomials and the float32 Bernoulli kernels, whose results move by at most about an ulp;
* constants are passed in already converted to the array's dtype, so a float32 kernel never
  meets a float64 literal and never upcasts element-wise work to double. The only double-precision
  values are the scalar accumulators of the row sums (log-likelihoods, KL, the KDE);
* the loops run over C-contiguous arrays in memory order, so LLVM can vectorise the simple ones
  (``error_model="numpy"``: no Python zero-division check inside the loops). Without Intel's SVML
  numba calls the scalar libm for ``exp``/``log1p``, so the float32 Bernoulli and
  reparameterization kernels evaluate them as polynomials (:mod:`._vecmath`: within 2 ulp);
* a loop never reads an array it writes under another name (``out`` may be ``logits``);
* gradients and Adam's moments are flushed to zero below the smallest normal number (``tiny``),
  like :func:`elbo_edu.special.flush_subnormal` in the readable code.

Activation names are turned into the integer codes the loops branch on here, and only here.
Under ``NUMBA_DISABLE_JIT=1`` the same functions run as plain (slow) Python.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .. import distributions as D
from ._numba_cache import configure as _configure_numba_cache
from ..special import LOG_2PI

_configure_numba_cache()  # before any kernel is defined (a read-only install, a read-only HOME)
from ._vecmath import exp, exp_nonpos_f32, expm1, log1p_unit_f32, rowsum_f64  # noqa: E402
from .interface import Backend  # noqa: E402

__all__ = ["NumbaBackend"]

# The loops branch on an integer per activation (numba compiles no dict of strings); the codes
# are named here, and only the methods below turn a name of the seam into its code.
IDENTITY, RELU, LEAKY_RELU, TANH, SIGMOID, SOFTPLUS = range(6)
_CODES = {"identity": IDENTITY, "relu": RELU, "leaky_relu": LEAKY_RELU, "tanh": TANH,
          "sigmoid": SIGMOID, "softplus": SOFTPLUS}
# error_model="numpy": a division by zero gives inf/nan as in NumPy instead of a Python
# ZeroDivisionError check on every division, which would keep LLVM from vectorising the loops.
_JIT = dict(cache=True, nogil=True, error_model="numpy")
# the float32 Bernoulli kernels may also fuse a multiply and an add into one FMA instruction
# (rounded once instead of twice): 27 % faster here, results within an ulp of the unfused ones,
# which the tests' float32 tolerances allow. Not for Adam, which must match the NumPy update
# bit for bit (tests/test_subnormal.py)
_JIT_FMA = dict(_JIT, fastmath={"contract"})


# ------------------------------------------------------------------ fused bias + activation
@njit(**_JIT)
def _bias_act_fwd(h, b, act, slope, zero, one):
    n, k = h.shape
    for i in range(n):
        for j in range(k):
            v = h[i, j] + b[j]
            if act == RELU:
                v = zero if v <= zero else v             # max(v, 0); NaN passes through
            elif act == LEAKY_RELU:
                v = v * slope if v <= zero else v
            elif act == TANH:
                v = np.tanh(v)
            elif act == SIGMOID:
                e = exp(-abs(v))
                v = (one if v >= zero else e) / (one + e)
            elif act == SOFTPLUS:
                v = (v if v > zero else zero) + np.log1p(np.exp(-abs(v)))
            h[i, j] = v


@njit(**_JIT)
def _bias_act_bwd(dy, y, act, slope, out, db, zero, one):
    n, k = dy.shape
    for j in range(k):
        db[j] = zero
    for i in range(n):
        # one branch per row, straight-line inner loops: LLVM vectorises each of them
        if act == RELU:
            for j in range(k):
                g = dy[i, j] if y[i, j] > zero else dy[i, j] * zero
                out[i, j] = g
                db[j] += g
        elif act == IDENTITY:
            for j in range(k):
                out[i, j] = dy[i, j]
                db[j] += dy[i, j]
        else:
            for j in range(k):
                g = dy[i, j]
                yy = y[i, j]
                if act == LEAKY_RELU:
                    g = g if yy > zero else g * slope
                elif act == TANH:
                    g = g * (one - yy * yy)
                elif act == SIGMOID:
                    g = g * (yy * (one - yy))
                elif act == SOFTPLUS:
                    g = g * -expm1(-yy)
                out[i, j] = g
                db[j] += g


# ------------------------------------------------------------------ likelihoods (chapter 07)
@njit(**_JIT)
def _bernoulli(x, logits, e, terms, scale, out, zero, one, tiny):
    """Given e = exp(-|l|) and terms = log1p(e): terms <- x l - softplus(l), out <- s (x - sigma)."""
    n, d = x.shape
    for i in range(n):
        for j in range(d):
            lg = logits[i, j]
            xx = x[i, j]
            ee = e[i, j]
            terms[i, j] = xx * lg - ((lg if lg > zero else zero) + terms[i, j])
            g = scale * (xx - (one if lg >= zero else ee) / (one + ee))
            out[i, j] = zero if abs(g) < tiny else g


@njit(**_JIT_FMA)
def _bernoulli_f32(x, logits, scale, out, logp, tiny):
    """terms = x l - softplus(l) summed per row into logp, out = s (x - sigmoid(l)); float32."""
    n, d = x.shape
    zero, one = np.float32(0), np.float32(1)
    row = np.empty(d, np.float32)      # this row's logits: ``out`` may be ``logits`` itself
    terms = np.empty(d, np.float32)
    for i in range(n):
        for j in range(d):
            row[j] = logits[i, j]
        for j in range(d):
            lg = row[j]
            xx = x[i, j]
            e = exp_nonpos_f32(-abs(lg))                              # e^{-|l|}
            terms[j] = xx * lg - ((lg if lg > zero else zero) + log1p_unit_f32(e))
            g = scale * (xx - (one if lg >= zero else e) / (one + e))
            out[i, j] = zero if abs(g) < tiny else g
        logp[i] = rowsum_f64(terms)


@njit(**_JIT_FMA)
def _bernoulli_logp_f32(x, logits, logp):
    """logp[s, i] = sum_d x[i, d] l[s, i, d] - softplus(l[s, i, d]); float32, the targets x (N, D)
    shared by the S blocks of logits (S, N, D) (evaluation: no gradient, no sigmoid)."""
    n_s, n, d = logits.shape
    zero = np.float32(0)
    terms = np.empty(d, np.float32)
    for s in range(n_s):
        for i in range(n):
            for j in range(d):
                lg = logits[s, i, j]
                terms[j] = x[i, j] * lg - ((lg if lg > zero else zero) + log1p_unit_f32(
                    exp_nonpos_f32(-abs(lg))))
            logp[s, i] = rowsum_f64(terms)


@njit(**_JIT)
def _cb_log_norm(lg, small, c, k):
    """log C(l) and d log C / dl of the continuous Bernoulli (Taylor series below ``small``, with
    the coefficients ``c``, ``k`` of distributions.CB_LOG_NORM_SERIES and _GRAD_SERIES)."""
    a = abs(lg)
    if a < small:
        t = a * a
        ln = np.log(2.0) + t * (c[0] + t * (c[1] + t * (c[2] + t * c[3])))
        d = a * (k[0] + t * (k[1] + t * (k[2] + t * k[3])))
    else:
        e = np.exp(-a)
        ln = np.log(a) - np.log(-np.expm1(-a)) + np.log1p(e)
        d = 1 / a - 2 * e / (-np.expm1(-a) * (1 + e))
    return ln, (d if lg >= 0 else -d)


@njit(**_JIT)
def _continuous_bernoulli(x, logits, scale, out, logp, small, c, k, tiny):
    n, dim = x.shape
    terms = np.empty(dim, np.float64)
    for i in range(n):
        for j in range(dim):
            lg = np.float64(logits[i, j])
            xx = np.float64(x[i, j])
            e = np.exp(-abs(lg))
            ln, dln = _cb_log_norm(lg, small, c, k)
            terms[j] = xx * lg - ((lg if lg > 0 else 0.0) + np.log1p(e)) + ln
            sig = (1.0 if lg >= 0 else e) / (1.0 + e)
            g = scale * (xx - sig + dln)
            out[i, j] = 0.0 if abs(g) < tiny else g
        logp[i] = terms.sum()


@njit(**_JIT)
def _gaussian(x, mean, logvar, scale, half_scale, out, dlogvar, logp, zero, one, log2pi, half):
    """logvar (D,) shared by the rows; z = (x - mean) / sigma without 0*inf (see
    distributions.standardized_residual); dlogvar summed over the rows."""
    n, d = x.shape
    inv_std = np.empty(d, x.dtype)
    for j in range(d):
        inv_std[j] = exp(-half * logvar[j])
        dlogvar[j] = zero
    terms = np.empty(d, x.dtype)
    for i in range(n):
        for j in range(d):
            s = inv_std[j]
            xx, mm = x[i, j], mean[i, j]
            r = xx - mm
            if r == zero:
                z = zero
            elif np.isfinite(r):
                z = r * s
            else:
                z = (half * xx - half * mm) * (s + s)
            z2 = z * z
            terms[j] = z2
            g = zero if z == zero else scale * (z * s)
            out[i, j] = g
            dlogvar[j] += half_scale * (z2 - one)
        quad = rowsum_f64(terms)
        lin = 0.0
        for j in range(d):
            lin += logvar[j] + log2pi
        logp[i] = -np.inf if quad == np.inf else -0.5 * (lin + quad)


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


@njit(**_JIT)
def _reparam_kl_bwd(dz, mu, logvar, eps, kl_scale, dmu, dlogvar, half):
    n, d = mu.shape
    for i in range(n):
        for j in range(d):
            g = dz[i, j]
            lv = logvar[i, j]
            dmu[i, j] = mu[i, j] * kl_scale + g
            dlogvar[i, j] = half * (exp(half * lv) * eps[i, j] * g + kl_scale * expm1(lv))


# ------------------------------------------------------------------------------ Adam
@njit(**_JIT)
def _adam(p, g, m, v, step, b1, c1, b2, c2, eps_hat, zero, tiny):
    size = p.size
    pf, gf, mf, vf = (p.reshape(size), g.reshape(size), m.reshape(size),
                      v.reshape(size))
    for i in range(pf.size):
        gi = gf[i]
        mi = mf[i] * b1 + c1 * gi
        vi = vf[i] * b2 + c2 * (gi * gi)
        mi = zero if abs(mi) < tiny else mi
        vi = zero if vi < tiny else vi
        mf[i] = mi
        vf[i] = vi
        ui = mi * (step / (np.sqrt(vi) + eps_hat))   # not step * mi: that can be subnormal
        pf[i] -= zero if abs(ui) < tiny else ui


# ------------------------------------------------------------------------- data checks
@njit(**_JIT)
def _in_unit_interval(x, zero, one):
    xf = x.reshape(x.size)
    ok = True
    for i in range(xf.size):           # no early exit: the loop vectorises, one pass
        v = xf[i]
        ok &= (v >= zero) & (v <= one)  # False for NaN
    return ok


# ------------------------------------------------------------------------- evaluation
@njit(parallel=True, **_JIT)
def _kde(x_eval, x_data_t, coef, const, out):
    """Rows of ``x_eval`` in parallel; for each, vectorised passes over all data points."""
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


class NumbaBackend(Backend):
    """The fused kernels (see the module docstring); same signatures as
    :class:`~elbo_edu.kernels.numpy_backend.NumpyBackend`."""

    name = "numba"

    def in_unit_interval(self, x):
        """The same as ``NumpyBackend.in_unit_interval``, in one pass."""
        t = x.dtype.type
        return bool(_in_unit_interval(x, t(0), t(1)))

    def bias_act_forward(self, h, b, act, slope):
        """The same as ``h + b`` then ``special.ACTIVATIONS[act][0]`` (the function), fused."""
        t = h.dtype.type
        _bias_act_fwd(h, b, _CODES[act], t(slope), t(0), t(1))
        return h

    def bias_act_backward(self, dy, y, act, slope, out):
        """The same as ``dy * special.ACTIVATIONS[act][1](y)`` (the derivative) and its column sums, fused."""
        t = y.dtype.type
        db = np.empty(dy.shape[1], dtype=dy.dtype)
        _bias_act_bwd(dy, y, _CODES[act], t(slope), out, db, t(0), t(1))
        return out, db

    def bernoulli_loglik_grad(self, x, logits, scale, out):
        """The same as ``distributions.bernoulli_log_prob`` and ``bernoulli_log_prob_grad``,
        fused."""
        t = logits.dtype.type
        tiny = t(np.finfo(logits.dtype).tiny)
        if logits.dtype == np.float32:
            logp = np.empty(x.shape[0], dtype=np.float32)
            if scale == 0.0:                  # evaluation: the gradient s (x - sigma) is zero
                _bernoulli_logp_f32(x, logits.reshape((1,) + logits.shape), logp.reshape(1, -1))
                out[...] = 0.0
            else:
                _bernoulli_f32(x, logits, t(scale), out, logp, tiny)
            return logp, out
        # float64: NumPy's exp and log1p (libm accuracy, which the 1e-12 agreement needs), then
        # one fused numba loop for the rest
        e = np.abs(logits)
        np.negative(e, out=e)
        np.exp(e, out=e)                                      # e^{-|l|}, never overflows
        terms = np.log1p(e)
        _bernoulli(x, logits, e, terms, t(scale), out, t(0), t(1), tiny)
        return terms.sum(axis=-1), out

    def bernoulli_log_prob(self, x, logits, out):
        """The same as ``distributions.bernoulli_log_prob`` with ``x`` broadcast over the samples,
        fused (float32; float64 runs NumPy's ``exp`` and ``log1p`` as above)."""
        if logits.dtype == np.float32:
            _bernoulli_logp_f32(x, logits, out)
            return out
        with np.errstate(invalid="ignore"):   # a NaN or inf logit: NaN, named by the caller
            e = np.abs(logits)
            np.negative(e, out=e)
            np.exp(e, out=e)
            np.log1p(e, out=e)                                # log(1 + e^{-|l|})
            e += np.maximum(logits, 0.0)                      # softplus(l)
            out[...] = np.sum(x * logits - e, axis=-1)
        return out

    def continuous_bernoulli_loglik_grad(self, x, logits, scale, out):
        """The same as ``distributions.continuous_bernoulli_log_prob`` and its ``_grad``, fused
        (computed in float64 and rounded once)."""
        logp = np.empty(x.shape[0], dtype=np.float64)
        _continuous_bernoulli(x, logits, float(scale), out, logp, D.CB_TAYLOR_BELOW,
                              D.CB_LOG_NORM_SERIES, D.CB_LOG_NORM_GRAD_SERIES,
                              float(np.finfo(x.dtype).tiny))
        return logp.astype(x.dtype), out

    def gaussian_loglik_grad(self, x, mean, logvar, scale, out):
        """The same as ``distributions.gaussian_log_prob`` and ``gaussian_log_prob_grad`` (with
        ``logvar`` shared by the rows), fused."""
        t = x.dtype.type
        logp = np.empty(x.shape[0], dtype=x.dtype)
        dlogvar = np.empty(x.shape[1], dtype=x.dtype)
        _gaussian(x, mean, logvar, t(scale), t(0.5 * scale), out, dlogvar, logp, t(0), t(1),
                  t(LOG_2PI), t(0.5))
        return logp, out, dlogvar

    def reparam_kl(self, mu, logvar, eps, out):
        """The same as ``distributions.reparameterize`` and ``kl_std_normal``, fused."""
        t = mu.dtype.type
        kl = np.empty(mu.shape[0], dtype=mu.dtype)
        _reparam_kl(mu, logvar, eps, out, kl, t(0.5))
        return out, kl

    def reparam_kl_backward(self, dz, mu, logvar, eps, kl_scale, dmu_out, dlogvar_out):
        """The same as ``distributions.reparameterize_grad`` plus ``kl_std_normal_grad``, fused."""
        t = mu.dtype.type
        _reparam_kl_bwd(dz, mu, logvar, eps, t(kl_scale), dmu_out, dlogvar_out, t(0.5))
        return dmu_out, dlogvar_out

    def adam_update(self, groups, step, b1, b2, eps_hat):
        """The same as ``numpy_backend.adam_update`` for each group, fused (scalars converted once)."""
        consts: dict = {}
        for p, g, m, v in groups:
            c = consts.get(p.dtype)
            if c is None:
                t = p.dtype.type
                c = consts[p.dtype] = (t(step), t(b1), t(1.0 - b1), t(b2), t(1.0 - b2),
                                       t(eps_hat), t(0), t(np.finfo(p.dtype).tiny))
            _adam(p, g, m, v, *c)

    def kde_log_density(self, x_eval, x_data, bandwidth):
        """The same as ``NumpyBackend.kde_log_density``, rows in parallel."""
        t = x_eval.dtype.type
        (m, d), n = x_eval.shape, x_data.shape[0]
        const = -np.log(n) - d * np.log(bandwidth) - 0.5 * d * LOG_2PI
        out = np.empty(m, dtype=x_eval.dtype)
        _kde(x_eval, np.ascontiguousarray(x_data.T), t(-0.5 / (bandwidth * bandwidth)),
             float(const), out)
        return out
