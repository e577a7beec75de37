r"""Two unbiased estimators of :math:`\nabla_{\mu,\log\sigma^2}\,\mathbb E_{q}[f(z)]` (chapter 08, D8.2).

For :math:`q = \mathcal N(\mu, \operatorname{diag}\sigma^2)`:

* **score function** (REINFORCE, likelihood ratio) — differentiate the density, not f:
  :math:`\nabla\mathbb E_q[f] = \mathbb E_q[f(z)\,\nabla\log q(z)]`, with
  :math:`\partial_\mu\log q = (z-\mu)/\sigma^2 = \varepsilon/\sigma` and
  :math:`\partial_{\log\sigma^2}\log q = \tfrac12(\varepsilon^2 - 1)`. Needs only values of f, but
  its variance grows with :math:`f^2` (a constant baseline b, replacing f by f − b, keeps it
  unbiased because :math:`\mathbb E_q[\nabla\log q] = 0`);
* **pathwise** (reparameterization) — write :math:`z = \mu + \sigma\varepsilon` and differentiate
  through f: :math:`\partial_\mu = \mathbb E[\nabla f(z)]`,
  :math:`\partial_{\log\sigma^2} = \mathbb E[\nabla f(z)\odot\tfrac12\sigma\varepsilon]` (D8.1).
  Needs :math:`\nabla f`, and usually has far lower variance.

Both return every single-sample estimate, so the chapter can show their means agree with the exact
gradient and compare their variances. :class:`Quadratic` supplies an f whose expectation and exact
gradient are known in closed form.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from .._checks import as_float_array, check_positive_int, check_same_shape

__all__ = ["GradientSamples", "score_function_gradient", "pathwise_gradient", "Quadratic"]


class GradientSamples(NamedTuple):
    """Per-sample gradient estimates, arrays (S, D) each; ``mean``/``variance`` summarise them."""
    d_mu: np.ndarray
    d_logvar: np.ndarray

    @property
    def mean(self):
        """``(d_mu, d_logvar)`` averaged over the S samples, each (D,)."""
        return self.d_mu.mean(axis=0), self.d_logvar.mean(axis=0)

    @property
    def variance(self):
        """Per-coordinate variance of a single-sample estimate (ddof=1), each (D,)."""
        return self.d_mu.var(axis=0, ddof=1), self.d_logvar.var(axis=0, ddof=1)

    @property
    def standard_error(self):
        """Standard error of :attr:`mean`: sqrt(variance / S), each (D,)."""
        s = self.d_mu.shape[0]
        return tuple(np.sqrt(v / s) for v in self.variance)


def _setup(mu, logvar, n_samples, rng, eps):
    mu = as_float_array(mu, "mu").astype(np.float64)
    logvar = as_float_array(logvar, "logvar").astype(np.float64)
    if mu.ndim != 1:
        raise ValueError(f"mu: expected a 1-D array (D,), got shape {mu.shape}")
    check_same_shape(mu=mu, logvar=logvar)
    if eps is None:
        n_samples = check_positive_int(n_samples, "n_samples")
        if not isinstance(rng, np.random.Generator):
            raise ValueError("rng: expected a numpy.random.Generator (or pass eps)")
        eps = rng.standard_normal((n_samples, mu.size))
    else:
        eps = as_float_array(eps, "eps").astype(np.float64)
        if eps.ndim != 2 or eps.shape[1] != mu.size:
            raise ValueError(f"eps: expected shape (S, {mu.size}), got {eps.shape}")
    sd = np.exp(0.5 * logvar)
    return mu, logvar, sd, eps, mu + sd * eps


def score_function_gradient(f: Callable, mu, logvar, n_samples: int | None = None,
                            rng: np.random.Generator | None = None, *, eps=None,
                            baseline: float = 0.0) -> GradientSamples:
    r"""Score-function (REINFORCE) estimates of :math:`\nabla\mathbb E_q[f(z)]` (D8.2).

    .. math:: \hat g_\mu = (f(z)-b)\,\frac{\varepsilon}{\sigma},\qquad
              \hat g_{\log\sigma^2} = (f(z)-b)\,\tfrac12(\varepsilon^2-1),\qquad
              z = \mu + \sigma\varepsilon

    Parameters
    ----------
    f : callable
        ``f(z)`` for z (S, D) -> (S,).
    mu, logvar : arrays (D,)
    n_samples : int
        S (ignored when ``eps`` is given).
    rng : numpy.random.Generator
    eps : array (S, D), optional
        The standard-normal noise, for reproducible comparisons (the same ε for both estimators).
    baseline : float
        Constant b subtracted from f (keeps the estimator unbiased, changes its variance).

    Returns
    -------
    GradientSamples
    """
    mu, logvar, sd, eps, z = _setup(mu, logvar, n_samples, rng, eps)
    fz = np.asarray(f(z), dtype=np.float64)
    if fz.shape != (z.shape[0],):
        raise ValueError(f"f: expected f(z) of shape ({z.shape[0]},), got {fz.shape}")
    w = (fz - float(baseline))[:, None]
    return GradientSamples(w * eps / sd, w * 0.5 * (eps * eps - 1.0))


def pathwise_gradient(grad_f: Callable, mu, logvar, n_samples: int | None = None,
                      rng: np.random.Generator | None = None, *, eps=None) -> GradientSamples:
    r"""Pathwise (reparameterization) estimates of :math:`\nabla\mathbb E_q[f(z)]` (D8.1–D8.2).

    .. math:: \hat g_\mu = \nabla f(z),\qquad
              \hat g_{\log\sigma^2} = \nabla f(z)\odot\tfrac12\sigma\varepsilon,\qquad
              z = \mu + \sigma\varepsilon

    Parameters
    ----------
    grad_f : callable
        ``grad_f(z)`` for z (S, D) -> (S, D), the gradient of f at each sample.
    mu, logvar, n_samples, rng, eps :
        As in :func:`score_function_gradient`.

    Returns
    -------
    GradientSamples
    """
    mu, logvar, sd, eps, z = _setup(mu, logvar, n_samples, rng, eps)
    g = np.asarray(grad_f(z), dtype=np.float64)
    if g.shape != z.shape:
        raise ValueError(f"grad_f: expected grad_f(z) of shape {z.shape}, got {g.shape}")
    return GradientSamples(g, g * 0.5 * sd * eps)


class Quadratic:
    r"""A test function with closed-form Gaussian expectation (D8.2):
    :math:`f(z) = \sum_d a_d z_d^2 + c_d z_d`.

    .. math:: \mathbb E_q[f] = \sum_d a_d(\mu_d^2+\sigma_d^2) + c_d\mu_d,\qquad
              \partial_{\mu_d} = 2a_d\mu_d + c_d,\qquad \partial_{\log\sigma_d^2} = a_d\sigma_d^2

    Parameters
    ----------
    a, c : arrays (D,)
    """

    def __init__(self, a, c):
        self.a = as_float_array(a, "a").astype(np.float64)
        self.c = as_float_array(c, "c").astype(np.float64)
        if self.a.ndim != 1:
            raise ValueError(f"a: expected a 1-D array, got shape {self.a.shape}")
        check_same_shape(a=self.a, c=self.c)

    def __call__(self, z):
        """f(z): (S, D) -> (S,)."""
        return np.asarray(z) ** 2 @ self.a + np.asarray(z) @ self.c

    def grad(self, z):
        """∇f(z): (S, D) -> (S, D)."""
        return 2.0 * self.a * np.asarray(z) + self.c

    def expectation(self, mu, logvar) -> float:
        """Exact :math:`\\mathbb E_{\\mathcal N(\\mu,\\sigma^2)}[f]`."""
        return float(np.sum(self.a * (mu ** 2 + np.exp(logvar)) + self.c * mu))

    def expectation_grad(self, mu, logvar):
        """Exact gradient of :meth:`expectation` w.r.t. ``(mu, logvar)``, each (D,)."""
        return 2.0 * self.a * mu + self.c, self.a * np.exp(logvar)
