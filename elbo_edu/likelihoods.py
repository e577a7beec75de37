r"""The decoder's observation models p(x | z), each with the gradient backpropagation needs
(chapter 07, D7.1, D7.2 and D7.5; the learned variance is chapter 11, D11.2).

A likelihood turns the decoder output ``out`` (shape ``(..., D)``) into a log-density of the data,
summed over the ``D`` data dimensions. Three models are provided:

``"bernoulli"``
    ``out`` are logits :math:`\ell`; :math:`\log p(x|z) = \sum_d x_d\ell_d - \operatorname{softplus}
    (\ell_d)`, i.e. minus the binary cross-entropy. Targets may be grey levels in [0, 1].
``"gaussian"``
    ``out`` is the mean :math:`\hat x`; the variance is a fixed number :math:`c` (``obs_var``):
    :math:`\log p(x|z) = -\frac{1}{2c}\lVert x-\hat x\rVert^2 - \frac D2\log(2\pi c)`.
    The factor :math:`C = 1/(2c)` in front of the squared error is the balance between
    reconstruction and KL described in Selega's *Notes on Derivation of the Variational
    Autoencoder Evidence Lower Bound Loss* (D7.5).
``"gaussian-learned"``
    as above, but :math:`\log c = \log\gamma` is a trainable parameter: one scalar shared by every
    pixel (as in Dai & Wipf, *Diagnosing and Enhancing VAE Models*) or one per pixel.

The densities themselves are those of :mod:`elbo_edu.distributions` (one source of truth); this
module only fixes which argument plays which role and exposes the two gradients the VAE needs,
with respect to the decoder output and to the log-variance.
"""
from __future__ import annotations

import numpy as np

from . import distributions as D
from ._checks import check_positive_float
from ._math import sigmoid

__all__ = ["LIKELIHOODS", "Likelihood", "Bernoulli", "Gaussian", "make_likelihood"]

LIKELIHOODS = ("bernoulli", "gaussian", "gaussian-learned")


class Likelihood:
    """Interface of an observation model (see the module docstring).

    Attributes
    ----------
    name : str
        One of :data:`LIKELIHOODS`.
    targets_in_unit_interval : bool
        Whether the data must lie in [0, 1] (checked by the VAE).
    """

    name = ""
    targets_in_unit_interval = False

    def log_prob(self, x: np.ndarray, out: np.ndarray, log_var=None) -> np.ndarray:
        """``log p(x | out)`` summed over the last axis: ``(..., D) -> (...)``."""
        raise NotImplementedError  # pragma: no cover - abstract

    def log_prob_grad(self, x, out, log_var=None, grad_out=None):
        """Vector–Jacobian products ``(d_out, d_log_var)`` of :meth:`log_prob`.

        ``grad_out`` has shape ``(...)`` (one weight per row); ``d_log_var`` is ``None`` when the
        variance is not a parameter.
        """
        raise NotImplementedError  # pragma: no cover - abstract

    def mean(self, out: np.ndarray) -> np.ndarray:
        """The expected data point E[x | z] given the decoder output (same shape)."""
        raise NotImplementedError  # pragma: no cover - abstract


class Bernoulli(Likelihood):
    r"""Independent Bernoulli pixels parameterised by logits (chapter 07, D7.2).

    .. math:: \log p(x\mid\ell) = \sum_d x_d\ell_d - \operatorname{softplus}(\ell_d),\qquad
              \frac{\partial}{\partial\ell_d} = x_d - \sigma(\ell_d)
    """

    name = "bernoulli"
    targets_in_unit_interval = True

    def log_prob(self, x, out, log_var=None):
        return D.bernoulli_log_prob(x, out)

    def log_prob_grad(self, x, out, log_var=None, grad_out=None):
        (dlogits,) = D.bernoulli_log_prob_grad(x, out, grad_out=grad_out)
        return dlogits, None

    def mean(self, out):
        return sigmoid(out)

    def __repr__(self):
        return "Bernoulli()"


class Gaussian(Likelihood):
    r"""Diagonal Gaussian around the decoder output (chapter 07, D7.1 and D7.5).

    .. math:: \log p(x\mid\hat x) = -\frac12\sum_d\Big[\log 2\pi + \log c_d
              + \frac{(x_d-\hat x_d)^2}{c_d}\Big],\qquad
              \frac{\partial}{\partial\hat x_d} = \frac{x_d - \hat x_d}{c_d},\qquad
              \frac{\partial}{\partial\log c_d} = \frac12\Big(\frac{(x_d-\hat x_d)^2}{c_d}-1\Big)

    Parameters
    ----------
    obs_var : float, optional
        The fixed variance :math:`c` (used when ``log_var`` is not passed to the methods).
    learned : bool
        If True the caller passes the trainable ``log_var`` (shape ``()`` or ``(D,)``) to every
        method and receives its gradient from :meth:`log_prob_grad`.
    """

    def __init__(self, obs_var: float = 1.0, *, learned: bool = False):
        self.obs_var = check_positive_float(obs_var, "obs_var")
        self.learned = bool(learned)
        self.name = "gaussian-learned" if self.learned else "gaussian"

    def _log_var(self, log_var, dtype):
        if self.learned:
            if log_var is None:
                raise ValueError("log_var: expected the learned log-variance, got None")
            return log_var
        return np.asarray(np.log(self.obs_var), dtype=dtype)

    def log_prob(self, x, out, log_var=None):
        return D.gaussian_log_prob(x, out, self._log_var(log_var, np.asarray(out).dtype))

    def log_prob_grad(self, x, out, log_var=None, grad_out=None):
        lv = self._log_var(log_var, np.asarray(out).dtype)
        _, dmean, dlog_var = D.gaussian_log_prob_grad(x, out, lv, grad_out=grad_out)
        return dmean, (dlog_var if self.learned else None)

    def mean(self, out):
        return np.asarray(out)

    def __repr__(self):
        return f"Gaussian(learned=True)" if self.learned else f"Gaussian(obs_var={self.obs_var})"


def make_likelihood(name: str, obs_var: float = 1.0) -> Likelihood:
    """Build the observation model called ``name`` (one of :data:`LIKELIHOODS`)."""
    if name == "bernoulli":
        return Bernoulli()
    if name == "gaussian":
        return Gaussian(obs_var)
    if name == "gaussian-learned":
        return Gaussian(obs_var, learned=True)
    raise ValueError(f"likelihood: expected one of {', '.join(map(repr, LIKELIHOODS))}, "
                     f"got {name!r}")
