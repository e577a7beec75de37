r"""A β-VAE whose rate and distortion are closed-form: the tangent relation to high precision (chapter 13, D13.2).

Data :math:`x\in\mathbb R^d` with independent coordinates :math:`x_j\sim\mathcal N(0, v_j)`; one latent
per coordinate, encoder :math:`q(z_j\mid x) = \mathcal N(a_jx_j, s_j^2)`, decoder
:math:`p(x_j\mid z) = \mathcal N(w_jz_j, \sigma^2)` with a fixed :math:`\sigma^2`, prior
:math:`\mathcal N(0, 1)`. Averaged over the data, per coordinate,

.. math:: R_j = \tfrac12\big(s_j^2 + a_j^2v_j - 1 - \log s_j^2\big),\qquad
          D_j = \tfrac12\log2\pi\sigma^2 + \frac{(1-w_ja_j)^2v_j + w_j^2s_j^2}{2\sigma^2},

with gradients :math:`\partial R_j/\partial a_j = a_jv_j`, :math:`\partial R_j/\partial\log s_j^2 =
\tfrac12(s_j^2-1)`, :math:`\partial D_j/\partial a_j = -w_j(1-w_ja_j)v_j/\sigma^2`,
:math:`\partial D_j/\partial w_j = \big(w_js_j^2 - a_j(1-w_ja_j)v_j\big)/\sigma^2`,
:math:`\partial D_j/\partial\log s_j^2 = w_j^2s_j^2/(2\sigma^2)`.

Minimising :math:`D + \beta R` (eliminate :math:`w`, then :math:`s^2`) gives the Gaussian
rate-distortion trade-off, coordinate by coordinate:
:math:`R_j = \tfrac12\log\big(v_j/(\beta\sigma^2)\big)` when :math:`v_j > \beta\sigma^2` and
:math:`R_j = 0` (**collapse**) otherwise, with distortion term
:math:`\min(v_j, \beta\sigma^2)/(2\sigma^2)`; so along the frontier :math:`dD/dR = -\beta`.
:func:`fit_linear_beta_vae` finds the optimum by plain gradient descent (it does not use these
formulas), which is what the chapter compares with them.
"""
from __future__ import annotations

import numpy as np

from .._checks import as_float_array, check_positive_float, check_positive_int
from ..distributions import LOG_2PI

__all__ = ["linear_rate_distortion", "linear_rate_distortion_grad", "fit_linear_beta_vae",
           "optimal_rate_distortion"]


def _args(v, sigma2):
    v = as_float_array(v, "v")
    if v.ndim != 1 or np.any(v <= 0):
        raise ValueError(f"v: expected a 1-D array of positive variances, got {v!r}")
    return v, check_positive_float(sigma2, "sigma2")


def linear_rate_distortion(v, sigma2, a, log_s2, w):
    r"""``(R, D)``: rate and distortion summed over the coordinates (the last axis), in nats per
    example; parameters (..., d) give arrays (...)."""
    v, sigma2 = _args(v, sigma2)
    s2 = np.exp(log_s2)
    rate = 0.5 * (s2 + a * a * v - 1.0 - log_s2)
    dist = 0.5 * (LOG_2PI + np.log(sigma2)) + ((1 - w * a) ** 2 * v + w * w * s2) / (2 * sigma2)
    return rate.sum(axis=-1), dist.sum(axis=-1)


def linear_rate_distortion_grad(v, sigma2, beta, a, log_s2, w):
    r"""Gradient of :math:`D + \beta R` with respect to ``(a, log_s2, w)``, each (d,)."""
    v, sigma2 = _args(v, sigma2)
    s2 = np.exp(log_s2)
    r = 1 - w * a
    da = -w * r * v / sigma2 + beta * a * v
    dls = w * w * s2 / (2 * sigma2) + beta * 0.5 * (s2 - 1.0)
    dw = (w * s2 - a * r * v) / sigma2
    return da, dls, dw


def fit_linear_beta_vae(v, sigma2, beta, *, steps: int = 30000, lr: float = 0.3, seed: int = 0):
    r"""Gradient descent on :math:`D + \beta R` from a random start; returns ``(a, log_s2, w)``.

    ``beta`` may be a 1-D array of B values: the B problems are solved side by side and each
    returned array is (B, d) (otherwise (d,)).

    Coordinate j takes steps of ``lr`` :math:`\cdot\,\sigma^2/(\max(v_j,\sigma^2)(1+\beta))`, below
    the inverse of its curvature (the coordinates are independent problems).
    """
    v, sigma2 = _args(v, sigma2)
    b = as_float_array(beta, "beta")
    if b.ndim > 1 or np.any(b <= 0):
        raise ValueError(f"beta: expected a positive number or a 1-D array of them, got {beta!r}")
    b = b[:, None] if b.ndim == 1 else b
    steps = check_positive_int(steps, "steps")
    lr = check_positive_float(lr, "lr") * sigma2 / (np.maximum(v, sigma2) * (1 + b))
    rng = np.random.default_rng(seed)
    a, ls, w = 0.5 + 0.1 * rng.standard_normal((3,) + np.broadcast_shapes(b.shape, v.shape))
    ls = ls - 0.5
    for _ in range(steps):
        da, dls, dw = linear_rate_distortion_grad(v, sigma2, b, a, ls, w)
        a, ls, w = a - lr * da, ls - lr * dls, w - lr * dw
    return a, ls, w


def optimal_rate_distortion(v, sigma2, beta):
    r"""The closed-form optimum of the module docstring: ``(R, D)`` for one β."""
    v, sigma2 = _args(v, sigma2)
    beta = check_positive_float(beta, "beta")
    rate = 0.5 * np.log(np.maximum(v / (beta * sigma2), 1.0))
    dist = 0.5 * (LOG_2PI + np.log(sigma2)) + np.minimum(v, beta * sigma2) / (2 * sigma2)
    return float(rate.sum()), float(dist.sum())
