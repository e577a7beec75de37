r"""The ``"numpy"`` backend: every operation of the seam is the package's readable function.

Nothing here is a second copy of a formula: each method calls the function a student reads in
:mod:`elbo_edu.special` (the activations and their derivatives, :data:`~elbo_edu.special.ACTIVATIONS`,
which :mod:`elbo_edu.nn.activations` wraps as modules) or :mod:`elbo_edu.distributions`
(log-densities, KL, the reparameterization of chapter 08; their ``*_unchecked`` cores, as the
arguments were checked by the public seam or built by the package), and writes the result where
the interface asks for it. The two formulas with no home below the seam are written here, once:
:func:`adam_update` (one Adam step, which :class:`elbo_edu.optim.Adam` hands to the seam) and
the kernel density estimate. Gradients are flushed of subnormal numbers
(:func:`elbo_edu.special.flush_subnormal`), as the numba kernels do.
"""
from __future__ import annotations

import numpy as np

from .. import distributions as D
from ..special import ACTIVATIONS, LOG_2PI, flush_subnormal, logsumexp
from .interface import Backend

__all__ = ["NumpyBackend", "adam_update"]

#: A NaN or inf output gives a NaN log-likelihood silently, as in the numba kernels; the
#: likelihood that called names the array (:meth:`elbo_edu.vae.likelihoods.Likelihood.log_prob`).
_QUIET = dict(invalid="ignore", over="ignore")


def adam_update(p, g, m, v, step, b1, b2, eps_hat) -> None:
    r"""One Adam update of ``p`` and its moments ``m``, ``v``, in place (chapter 09; the readable
    reference of the seam's ``adam_update``, used by :class:`elbo_edu.optim.Adam`; the numba
    backend fuses it into one loop).

    .. math:: m \leftarrow \beta_1 m + (1-\beta_1)g,\quad v \leftarrow \beta_2 v + (1-\beta_2)g^2,
              \quad p \leftarrow p - m\cdot\frac{\text{step}}{\sqrt v + \hat\epsilon}

    with the bias corrections folded into ``step`` :math:`=\eta\sqrt{1-\beta_2^t}/(1-\beta_1^t)`
    and ``eps_hat`` :math:`=\epsilon\sqrt{1-\beta_2^t}`. ``p``, ``g``, ``m``, ``v``: arrays of
    one shape and float dtype.

    No subnormal number is kept or computed on the way (:func:`elbo_edu.special.flush_subnormal`;
    on x86 an operation that meets one takes a slow path, chapter 09's aside):

    * the moments are flushed to zero below the smallest normal number ``tiny``: for a weight
      whose gradient stays zero they decay geometrically and would otherwise become subnormal;
    * the update is computed as ``m * (step / (sqrt(v) + eps_hat))``, not ``step * m / ...``:
      for a moment between ``tiny`` and ``tiny / step`` (about 65 zero-gradient steps of every
      blank pixel's weights) the product ``step * m`` would be subnormal although ``m`` is not;
    * an update below ``tiny`` is flushed too (it could only change a weight smaller than
      ``2**24 * tiny`` in magnitude).
    """
    t = p.dtype.type
    m *= t(b1)
    m += t(1.0 - b1) * g
    flush_subnormal(m)
    v *= t(b2)
    v += t(1.0 - b2) * (g * g)
    flush_subnormal(v)
    update = np.asarray(m * (t(step) / (np.sqrt(v) + t(eps_hat))))   # 0-d stays an array
    p -= flush_subnormal(update)


def _rows(value, x):
    """One upstream weight per row of ``x``, in its dtype."""
    return np.full(x.shape[0], value, dtype=x.dtype)


class NumpyBackend(Backend):
    """The readable reference backend (see the module docstring)."""

    name = "numpy"

    def in_unit_interval(self, x):
        return bool(x.size == 0 or (np.min(x) >= 0 and np.max(x) <= 1))

    def bias_act_forward(self, h, b, act, slope):
        np.add(h, b, out=h)
        h[...] = ACTIVATIONS[act][0](h, slope)
        return h

    def bias_act_backward(self, dy, y, act, slope, out):
        np.multiply(dy, ACTIVATIONS[act][1](y, slope), out=out)
        return out, out.sum(axis=0)

    def bernoulli_loglik_grad(self, x, logits, scale, out):
        with np.errstate(**_QUIET):
            logp = D.bernoulli_log_prob_unchecked(x, logits)
            (d,) = D.bernoulli_log_prob_grad_unchecked(x, logits, _rows(scale, x))
        out[...] = d
        return logp, flush_subnormal(out)

    def bernoulli_log_prob(self, x, logits, out):
        with np.errstate(**_QUIET):
            out[...] = D.bernoulli_log_prob_unchecked(x, logits)
        return out

    def continuous_bernoulli_loglik_grad(self, x, logits, scale, out):
        with np.errstate(**_QUIET):
            logp = D.continuous_bernoulli_log_prob_unchecked(x, logits)
            (d,) = D.continuous_bernoulli_log_prob_grad_unchecked(x, logits, _rows(scale, x))
        out[...] = d
        return logp, flush_subnormal(out)

    def gaussian_loglik_grad(self, x, mean, logvar, scale, out):
        with np.errstate(**_QUIET):
            logp = D.gaussian_log_prob_unchecked(x, mean, logvar)
            _, dmean, dlogvar = D.gaussian_log_prob_grad_unchecked(x, mean, logvar, _rows(scale, x))
        out[...] = dmean
        return logp, flush_subnormal(out), dlogvar

    def reparam_kl(self, mu, logvar, eps, out):
        with np.errstate(**_QUIET):  # non-finite input: the public seam names it on the way out
            out[...] = D.reparameterize_unchecked(mu, logvar, eps)
            return out, D.kl_std_normal_unchecked(mu, logvar)

    def reparam_kl_backward(self, dz, mu, logvar, eps, kl_scale, dmu_out, dlogvar_out):
        with np.errstate(**_QUIET):
            dmu, dlogvar, _ = D.reparameterize_grad_unchecked(mu, logvar, eps, dz)
            dmu_kl, dlogvar_kl = D.kl_std_normal_grad_unchecked(mu, logvar, _rows(kl_scale, mu))
        np.add(dmu, dmu_kl, out=dmu_out)
        np.add(dlogvar, dlogvar_kl, out=dlogvar_out)
        return dmu_out, dlogvar_out

    def adam_update(self, groups, step, b1, b2, eps_hat):
        for p, g, m, v in groups:
            adam_update(p, g, m, v, step, b1, b2, eps_hat)

    def kde_log_density(self, x_eval, x_data, bandwidth):
        r"""Gaussian-kernel density estimate at each row of ``x_eval`` (chapter 01, D1.3):

        .. math:: \log\hat p(x) = \log\frac{1}{N h^d}\sum_{i=1}^N (2\pi)^{-d/2}
                  \exp\Big(-\frac{\lVert x - x_i\rVert^2}{2h^2}\Big)

        in chunks of rows so memory stays bounded; squared distances one coordinate at a time
        (exact differences, no :math:`\lVert x\rVert^2 - 2x\cdot x_i` cancellation).
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
            out[start:start + chunk] = logsumexp(sq, axis=1) + t(const)
        return out
