r"""Maximising the ELBO over q with the model fixed: the gap picture of chapter 06 (D6.5).

With the generative model fixed, :math:`\log p(x)` does not depend on q at all, so every gain in
the ELBO is a loss in :math:`\mathrm{KL}(q\,\|\,p(z\mid x)) = \log p(x) - \mathrm{ELBO}`: gradient
ascent on q closes the gap (erratum E3: it moves q towards the *posterior*, not the prior). For a
diagonal q and a linear-Gaussian model the ascent converges to the posterior mean and to the
mean-field variances :math:`1/\Lambda_{kk}`; the remaining gap is the KL from the best diagonal
Gaussian to the correlated posterior.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._checks import check_positive_float, check_positive_int
from ..models.linear_gaussian import LinearGaussian

__all__ = ["ELBOTrajectory", "ascend_elbo"]


class ELBOTrajectory(NamedTuple):
    """Per-step values of :func:`ascend_elbo`, each array (steps + 1, N); final q (N, K) each."""
    log_evidence: np.ndarray
    elbo: np.ndarray
    kl: np.ndarray
    q_mean: np.ndarray
    q_logvar: np.ndarray


def ascend_elbo(model: LinearGaussian, x, q_mean0=None, q_logvar0=None, *, lr: float | None = None,
                lr_logvar: float = 1.0, steps: int = 200) -> ELBOTrajectory:
    r"""Gradient ascent on the closed-form ELBO over a diagonal Gaussian q (chapter 06, D6.5).

    :math:`m \leftarrow m + \eta\,\nabla_m\mathrm{ELBO}`, :math:`\log s^2 \leftarrow \log s^2 + \eta_s\nabla_{\log s^2}\mathrm{ELBO}` using
    :meth:`LinearGaussian.elbo_grad`; records :math:`\log p(x)` (constant), the ELBO (rising) and
    :math:`\mathrm{KL}(q\,\|\,p(z\mid x))` (falling) before every step and after the last.

    Parameters
    ----------
    model : LinearGaussian
    x : array (N, D)
    q_mean0, q_logvar0 : arrays (N, K), optional
        Start of the ascent (default: the prior, m = 0 and log s² = 0).
    lr : float, optional
        Step size. The ELBO is a concave quadratic in m with Hessian :math:`-\Lambda`, so the mean
        converges only for ``lr < 2 / λ_max(Λ)``; the default ``1 / λ_max(Λ)`` is safe.
    lr_logvar : float
        Step size of the log-variances. Each one's curvature at the optimum is 1/2 whatever the
        model, so a step of 1 halves its error every iteration (it must stay below 4).
    steps : int

    Returns
    -------
    ELBOTrajectory
    """
    if not isinstance(model, LinearGaussian):
        raise ValueError(f"model: expected a LinearGaussian, got {type(model).__name__}")
    x = model.check_x(x)
    lr = 1.0 / np.linalg.eigvalsh(model.precision)[-1] if lr is None else check_positive_float(lr, "lr")
    lr_logvar = check_positive_float(lr_logvar, "lr_logvar")
    steps = check_positive_int(steps, "steps")
    shape = (x.shape[0], model.z_dim)
    m = np.zeros(shape) if q_mean0 is None else np.array(q_mean0, dtype=np.float64)
    lv = np.zeros(shape) if q_logvar0 is None else np.array(q_logvar0, dtype=np.float64)
    m, lv = model.check_q(x, m, lv)
    log_px = model.log_evidence(x)
    elbo = np.empty((steps + 1, x.shape[0]))
    kl = np.empty_like(elbo)
    for t in range(steps + 1):
        elbo[t] = model.elbo(x, m, lv)
        kl[t] = model.kl_to_posterior(x, m, lv)
        if t < steps:
            dm, dlv = model.elbo_grad(x, m, lv)
            m, lv = m + lr * dm, lv + lr_logvar * dlv
    return ELBOTrajectory(np.broadcast_to(log_px, elbo.shape).copy(), elbo, kl, m, lv)
