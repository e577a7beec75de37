r"""Reference values the graders of several chapters share, computed independently of the
package function a student re-writes (closed forms in NumPy, exact sums in Python's ``math``).

* :func:`kl_std_normal_ref` -- :math:`\mathrm{KL}(\mathcal N(\mu,e^{lv})\,\|\,\mathcal N(0,1))`
  element-wise (chapter 05, D5.4);
* :func:`bernoulli_log_prob_ref` -- the Bernoulli log-likelihood of logits, element-wise
  (chapter 07, D7.2);
* :func:`logsumexp_fsum` -- :math:`\log\sum_k e^{v_k}` of a list of floats with ``math.fsum``
  (chapter 10, D10.2);
* :func:`linear_gaussian_1d` -- a 1-D linear-Gaussian model and a Gaussian :math:`q` drawn from
  a seed (chapters 06 and 10).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["kl_std_normal_ref", "bernoulli_log_prob_ref", "logsumexp_fsum", "linear_gaussian_1d"]


def kl_std_normal_ref(mu, lv):
    r""":math:`\tfrac12(e^{lv}+\mu^2-1-lv)`, element-wise; ``mu``, ``lv`` arrays of one shape."""
    return 0.5 * (np.exp(lv) + mu * mu - 1.0 - lv)


def bernoulli_log_prob_ref(x, logits):
    r""":math:`x\log\sigma(l)+(1-x)\log\sigma(-l)` element-wise, with
    :math:`\log\sigma(l) = -\log(1+e^{-l})` by ``np.logaddexp`` (stable for any logit)."""
    return -(x * np.logaddexp(0.0, -logits) + (1 - x) * np.logaddexp(0.0, logits))


def logsumexp_fsum(values) -> float:
    r""":math:`m+\log\sum_k e^{v_k-m}`, :math:`m=\max_k v_k`, summed exactly by ``math.fsum``."""
    m = max(values)
    return m + math.log(math.fsum(math.exp(v - m) for v in values))


def linear_gaussian_1d(seed):
    """``(x, w, b, s2, m, logvar)``: an observation, the model :math:`x = wz + b + \\mathcal N(0,
    s^2)` with :math:`z\\sim\\mathcal N(0,1)`, and a Gaussian :math:`q(z)=\\mathcal N(m, e^{logvar})`,
    all drawn from ``seed`` (``|w|`` in [1.2, 2.2), ``s2`` in [0.4, 1.4))."""
    rng = np.random.default_rng(seed)
    return (float(rng.normal(1, 1)), (1.2 + rng.random()) * rng.choice([-1.0, 1.0]),
            float(rng.normal(0, 1)), 0.4 + rng.random(),
            float(rng.normal(0, 0.5)), float(rng.normal(-0.5, 0.3)))   # x, w, b, s2, m, logvar
