r"""Numerical demonstrations for the errata page (``docs/errata.md``, slips E1–E15 of the notes).

Each function computes, with the package's own densities and models, the two numbers that tell
the slip from the correct statement, and returns them in a small named tuple; the errata page
prints them and ``tests/test_errata.py`` checks the claims.

========  ==========================================================================
E1        a directed model's joint is a **product** of conditionals (a sum of logs)
E2, E3    the ELBO holds **log**-likelihoods; with θ fixed log p(x) does not depend on φ
E4        the evidence integrates p(x|z) p(z), not p(z|x) p(z)
E5        KL needs two arguments: against the prior and the posterior it differs
E8        Jensen's inequality f(E X) ≥ E f(X) needs f concave; a convex f reverses it
E9        the minibatch sum of gradients is unbiased only after the factor N/M
E11       when θ moves, the ELBO can rise while log p(x) falls
E13       "information lost using Q for P" is KL(P ‖ Q), not KL(Q ‖ P)
E14       the posterior-expected log-joint needs θ_old (EM), else it is not maximum likelihood
========  ==========================================================================

E10, E12 and E15 are slips of wording or notation (E12 is shown by E5's demonstration).

The linear-Gaussian model used by E2–E5 is :class:`elbo_edu.models.LinearGaussian` (chapter 06),
where :math:`\log p(x)` and :math:`p(z\mid x)` are available in closed form.
"""
from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np

from .._checks import as_float_array, check_positive_int, check_rng
from ..special import logsumexp
from ..distributions import (bernoulli_log_prob, gaussian_log_prob, kl_std_normal,
                            std_normal_log_prob)

__all__ = [
    "FactorisationDemo", "factorisation_demo",
    "LogDroppedDemo", "log_dropped_demo",
    "FixedThetaDemo", "fixed_theta_demo",
    "IntegrandDemo", "integrand_demo",
    "KLArgumentDemo", "kl_argument_demo",
    "JensenDemo", "jensen_demo",
    "MinibatchScaleDemo", "minibatch_scale_demo",
    "MovingThetaDemo", "moving_theta_demo",
    "CodingLossDemo", "coding_loss_demo",
    "SameThetaDemo", "same_theta_demo",
    "demo_model",
]


# ------------------------------------------------------------------------------------------- E1
class FactorisationDemo(NamedTuple):
    """Totals over every configuration of a chain of binary variables (E1)."""
    total_product: float       #: Σ_x Π_j p(x_j | Pa(x_j)): 1 (a distribution)
    total_sum: float           #: Σ_x Σ_j p(x_j | Pa(x_j)): m·2^(m-1), not a distribution
    log_product_vs_sum_of_logs: float  #: max abs(log Π_j p_j − Σ_j log p_j) over configurations


def factorisation_demo(logits) -> FactorisationDemo:
    r"""E1: the joint of a directed chain :math:`x_1\to x_2\to\dots\to x_m` of binary variables.

    Variable :math:`j` is Bernoulli with logit ``logits[j, 0] + logits[j, 1] * x_{j-1}`` (the
    first one ignores ``logits[0, 1]``). Every one of the :math:`2^m` configurations is
    enumerated, each conditional evaluated with
    :func:`~elbo_edu.distributions.bernoulli_log_prob`, and both readings of the factorisation
    are summed over all configurations.

    Parameters
    ----------
    logits : array (m, 2), m ≥ 2

    Returns
    -------
    FactorisationDemo
    """
    logits = as_float_array(logits, "logits")
    if logits.ndim != 2 or logits.shape[1] != 2 or logits.shape[0] < 2 or logits.shape[0] > 16:
        raise ValueError(f"logits: expected shape (m, 2) with 2 <= m <= 16, got {logits.shape}")
    m = logits.shape[0]
    xs = np.array(list(itertools.product((0.0, 1.0), repeat=m)))          # (2^m, m)
    parent = np.concatenate([np.zeros((len(xs), 1)), xs[:, :-1]], axis=1)  # x_{j-1}, 0 for j=1
    lam = logits[:, 0] + logits[:, 1] * parent
    lam[:, 0] = logits[0, 0]
    # one log-factor per variable: a Bernoulli over a single event dimension
    log_f = np.stack([bernoulli_log_prob(xs[:, j:j + 1], lam[:, j:j + 1]) for j in range(m)], 1)
    product = np.prod(np.exp(log_f), axis=1)
    return FactorisationDemo(float(product.sum()), float(np.exp(log_f).sum()),
                             float(np.max(np.abs(np.log(product) - log_f.sum(axis=1)))))


# --------------------------------------------------------------------------- linear-Gaussian
def demo_model(rng: np.random.Generator, *, x_dim: int = 3, z_dim: int = 1, sigma2: float = 0.3):
    """A small random :class:`~elbo_edu.models.LinearGaussian` and one observation drawn from it.

    Returns
    -------
    model : LinearGaussian
    x : array (1, x_dim)
    """
    from ..models.linear_gaussian import LinearGaussian

    rng = check_rng(rng)
    W = rng.standard_normal((check_positive_int(x_dim, "x_dim"), check_positive_int(z_dim, "z_dim")))
    b = rng.standard_normal(x_dim)
    model = LinearGaussian(W, b, sigma2)
    z = rng.standard_normal((1, z_dim))
    x = z @ W.T + b + np.sqrt(sigma2) * rng.standard_normal((1, x_dim))
    return model, x


def _hermite(q_mean, q_logvar, n_nodes):
    """Gauss–Hermite nodes and weights for expectations under a 1-D Gaussian q."""
    t, w = np.polynomial.hermite_e.hermegauss(n_nodes)       # weight exp(-t²/2)
    z = q_mean + np.exp(0.5 * q_logvar) * t
    return z[:, None], w / np.sqrt(2 * np.pi)


# ------------------------------------------------------------------------------------------- E2
class LogDroppedDemo(NamedTuple):
    """Both sides of log p(x) = E_q[·] − KL(q‖p(z)) + KL(q‖p(z|x)), with and without the log (E2)."""
    log_evidence: float
    with_log: float      #: E_q[log p(x|z)] − KL(q‖p(z)) + KL(q‖p(z|x))
    without_log: float   #: E_q[p(x|z)] − KL(q‖p(z)) + KL(q‖p(z|x))


def log_dropped_demo(model, x, q_mean: float, q_logvar: float, n_nodes: int = 80) -> LogDroppedDemo:
    r"""E2: the data term of the ELBO is :math:`E_q[\log p(x\mid z)]`, not :math:`E_q[p(x\mid z)]`.

    For a one-dimensional latent the expectations under :math:`q = N(m, e^{\ell})` are computed by
    Gauss–Hermite quadrature with ``n_nodes`` nodes (exact for the quadratic
    :math:`\log p(x\mid z)`, accurate to rounding for the smooth :math:`p(x\mid z)`).

    Parameters
    ----------
    model : LinearGaussian with ``z_dim == 1``
    x : array (1, x_dim)
    q_mean, q_logvar : float
    """
    z, w = _hermite(float(q_mean), float(q_logvar), check_positive_int(n_nodes, "n_nodes"))
    xs = np.broadcast_to(x, (len(z), x.shape[-1]))
    log_lik = model.log_likelihood_z(xs, z)
    m, lv = np.array([[q_mean]]), np.array([[q_logvar]])
    kl_prior = float(kl_std_normal(m, lv)[0])
    kl_post = float(model.kl_to_posterior(x, m, lv)[0])
    return LogDroppedDemo(float(model.log_evidence(x)[0]),
                          float(w @ log_lik) - kl_prior + kl_post,
                          float(w @ np.exp(log_lik)) - kl_prior + kl_post)


# ------------------------------------------------------------------------------------------- E3
class FixedThetaDemo(NamedTuple):
    """log p(x), the ELBO and the gap for several q with θ fixed (E3); arrays of length n_q."""
    log_evidence: np.ndarray     #: log p(x) as reported next to each q (all equal)
    elbo: np.ndarray
    kl_to_posterior: np.ndarray
    kl_to_prior: np.ndarray


def fixed_theta_demo(model, x, q_means, q_logvars) -> FixedThetaDemo:
    r"""E3: with θ fixed, log p(x) is one number whatever q is; the ELBO is highest where q is the
    **posterior**, not the prior.

    Parameters
    ----------
    model : LinearGaussian
    x : array (1, x_dim)
    q_means, q_logvars : arrays (n_q, z_dim), one candidate q per row
    """
    q_means = as_float_array(q_means, "q_means", ndim_min=2)
    q_logvars = as_float_array(q_logvars, "q_logvars", ndim_min=2)
    xs = np.repeat(np.asarray(x, dtype=np.float64), len(q_means), axis=0)
    return FixedThetaDemo(model.log_evidence(xs), model.elbo(xs, q_means, q_logvars),
                          model.kl_to_posterior(xs, q_means, q_logvars),
                          kl_std_normal(q_means, q_logvars))


# ------------------------------------------------------------------------------------------- E4
class IntegrandDemo(NamedTuple):
    """The evidence and the two candidate integrals, by quadrature over a 1-D latent (E4)."""
    log_evidence: float          #: closed form
    log_correct: float           #: log ∫ p(x|z) p(z) dz
    log_slip: float              #: log ∫ p(z|x) p(z) dz


def integrand_demo(model, x, half_width: float = 12.0, n_grid: int = 4001) -> IntegrandDemo:
    """E4: only :math:`p(x\\mid z)p(z)` integrates to the evidence (trapezoid rule on a grid)."""
    z = np.linspace(-half_width, half_width, check_positive_int(n_grid, "n_grid"))[:, None]
    dz = z[1, 0] - z[0, 0]
    xs = np.broadcast_to(x, (len(z), x.shape[-1]))
    log_joint = model.log_joint(xs, z)
    post_mean, post_cov = model.posterior(x)                   # closed form, not via p(x)
    log_post = gaussian_log_prob(z, post_mean, np.log(post_cov[0]))
    log_w = np.full(len(z), np.log(dz))
    log_w[[0, -1]] -= np.log(2.0)                              # trapezoid end weights
    return IntegrandDemo(float(model.log_evidence(x)[0]), float(logsumexp(log_joint + log_w)),
                         float(logsumexp(log_post + std_normal_log_prob(z) + log_w)))


# ------------------------------------------------------------------------------------------- E5
class KLArgumentDemo(NamedTuple):
    """KL of one q against two different second arguments (E5)."""
    kl_to_prior: float
    kl_to_posterior: float


def kl_argument_demo(model, x, q_mean, q_logvar) -> KLArgumentDemo:
    """E5: ``KL[q]`` is not defined until the second distribution is named."""
    q_mean = as_float_array(q_mean, "q_mean", ndim_min=2)
    q_logvar = as_float_array(q_logvar, "q_logvar", ndim_min=2)
    return KLArgumentDemo(float(kl_std_normal(q_mean, q_logvar)[0]),
                          float(model.kl_to_posterior(x, q_mean, q_logvar)[0]))


# ------------------------------------------------------------------------------------------- E8
class JensenDemo(NamedTuple):
    """f(E Y) and E f(Y) for a concave and a convex f, from samples and exactly (E8)."""
    log_of_mean: float           #: log E[X] from samples, X = e^Y
    mean_of_log: float           #: E[log X] = E[Y] from samples
    exp_of_mean: float           #: exp(E[Y]) from samples
    mean_of_exp: float           #: E[exp Y] from samples
    exact_log_of_mean: float     #: μ + s²/2
    exact_mean_of_log: float     #: μ
    std_err_mean_of_exp: float   #: standard error of the sample mean of e^Y


def jensen_demo(rng: np.random.Generator, mu: float = 0.0, s: float = 1.0,
                n: int = 100_000) -> JensenDemo:
    r"""E8: with :math:`Y\sim N(\mu, s^2)` and :math:`X = e^Y` (log-normal),
    the concave log gives :math:`\log E[X] = \mu + s^2/2 \ge E[\log X] = \mu`, while the convex
    exp gives the reverse, :math:`e^{E[Y]} = e^{\mu} \le E[e^{Y}] = e^{\mu+s^2/2}`.
    """
    rng = check_rng(rng)
    y = mu + float(s) * rng.standard_normal(check_positive_int(n, "n"))
    ex = np.exp(y)
    return JensenDemo(float(np.log(ex.mean())), float(y.mean()), float(np.exp(y.mean())),
                      float(ex.mean()), mu + s * s / 2, float(mu),
                      float(ex.std(ddof=1) / np.sqrt(n)))


# ------------------------------------------------------------------------------------------- E9
class MinibatchScaleDemo(NamedTuple):
    """The full-data gradient against the average of many minibatch sums, with and without N/M (E9)."""
    full: np.ndarray             #: ∇ Σ_i log p(x_i), shape (2d,)
    scaled_mean: np.ndarray      #: average of (N/M) Σ_{i∈B} ∇ log p(x_i) over the batches
    unscaled_mean: np.ndarray    #: average of Σ_{i∈B} ∇ log p(x_i): tends to (M/N)·full
    standard_error: np.ndarray   #: standard error of ``scaled_mean`` per coordinate


def minibatch_scale_demo(x, mean, logvar, batch_size: int, n_batches: int,
                         rng: np.random.Generator) -> MinibatchScaleDemo:
    r"""E9: the minibatch sum :math:`\sum_{i\in B}\nabla\log p(x_i)` is unbiased for the full-data
    gradient only after the factor :math:`N/M`; without it its expectation is :math:`\frac MN`
    times the full gradient (chapter 01, D1.5).

    Parameters
    ----------
    x : array (N, d); mean, logvar : arrays (d,) — a diagonal Gaussian model
    batch_size, n_batches : int
    rng : numpy.random.Generator
    """
    from ..estimators.density_estimation import log_likelihood_grad, minibatch_gradients

    rng = check_rng(rng)
    x = as_float_array(x, "x", ndim_min=2)
    draws = minibatch_gradients(x, mean, logvar, batch_size, n_batches, rng)   # scaled by N/M
    full = np.concatenate(log_likelihood_grad(x, mean, logvar))
    scale = batch_size / x.shape[0]
    return MinibatchScaleDemo(full, draws.mean(0), scale * draws.mean(0),
                              draws.std(0, ddof=1) / np.sqrt(n_batches))


# ------------------------------------------------------------------------------------------ E11
class MovingThetaDemo(NamedTuple):
    """One step of θ (the offset b) up the ELBO, with q fixed (E11)."""
    elbo_before: float
    elbo_after: float
    log_evidence_before: float
    log_evidence_after: float


def moving_theta_demo(model, x, q_mean, q_logvar, step: float = 0.05) -> MovingThetaDemo:
    r"""E11: when θ moves, the ELBO can rise while :math:`\log p_\theta(x)` falls.

    Start from the offset :math:`b = x - W m_x` that maximises :math:`\log p_\theta(x)` over b
    (the evidence :math:`N(x; b, WW^\top + \sigma^2 I)` peaks at :math:`b = x`; we use b = x), keep
    q fixed and take one gradient step on the closed-form ELBO in b,
    :math:`\nabla_b\mathrm{ELBO} = (x - b - Wm)/\sigma^2`. The ELBO rises; the evidence, already
    at its maximum over b, can only fall. Only :math:`\log p \ge \mathrm{ELBO}` is guaranteed.

    Parameters
    ----------
    model : LinearGaussian (only ``W`` and ``sigma2`` are used)
    x : array (1, x_dim)
    q_mean, q_logvar : arrays (1, z_dim), with ``W @ q_mean`` not zero
    step : float
    """
    from ..models.linear_gaussian import LinearGaussian

    x = as_float_array(x, "x", ndim_min=2)
    q_mean = as_float_array(q_mean, "q_mean", ndim_min=2)
    q_logvar = as_float_array(q_logvar, "q_logvar", ndim_min=2)
    before = LinearGaussian(model.W, x[0].copy(), model.sigma2)
    grad_b = (x[0] - before.b - before.W @ q_mean[0]) / before.sigma2
    after = LinearGaussian(model.W, before.b + float(step) * grad_b, model.sigma2)
    return MovingThetaDemo(float(before.elbo(x, q_mean, q_logvar)[0]),
                           float(after.elbo(x, q_mean, q_logvar)[0]),
                           float(before.log_evidence(x)[0]), float(after.log_evidence(x)[0]))


# ------------------------------------------------------------------------------------------ E13
class CodingLossDemo(NamedTuple):
    """Extra nats of coding outcomes of P with a code built for Q, against both KL directions (E13)."""
    extra_nats: float            #: Monte-Carlo mean of log P(x) − log Q(x), x ~ P
    standard_error: float
    kl_p_q: float                #: KL(P ‖ Q) = Σ P log(P/Q)
    kl_q_p: float                #: KL(Q ‖ P) = Σ Q log(Q/P)


def coding_loss_demo(p, q, n: int, rng: np.random.Generator) -> CodingLossDemo:
    r"""E13: "the information lost when Q is used while the truth is P" is
    :math:`\mathrm{KL}(P\,\|\,Q)=\sum P\log(P/Q)`: sample outcomes from P and average the extra
    code length :math:`\log P(x) - \log Q(x)`; the average estimates KL(P ‖ Q), not KL(Q ‖ P).

    Parameters
    ----------
    p, q : arrays (K,), probability vectors
    n : int, number of outcomes drawn from p
    rng : numpy.random.Generator
    """
    from ..estimators.kl import kl_discrete

    rng = check_rng(rng)
    p = as_float_array(p, "p", ndim_min=1).astype(np.float64)
    q = as_float_array(q, "q", ndim_min=1).astype(np.float64)
    kl_pq, kl_qp = float(kl_discrete(p, q)), float(kl_discrete(q, p))
    k = rng.choice(p.size, size=check_positive_int(n, "n"), p=p)
    extra = np.log(p[k]) - np.log(q[k])
    return CodingLossDemo(float(extra.mean()), float(extra.std(ddof=1) / np.sqrt(n)), kl_pq, kl_qp)


# ------------------------------------------------------------------------------------------ E14
class SameThetaDemo(NamedTuple):
    """Maximisers over the weight w of three objectives of a 1-D linear-Gaussian model (E14)."""
    w_max_likelihood: float      #: argmax_w Σ log p_w(x_i)
    w_same_theta: float          #: argmax_w Σ E_{p_w(z|x_i)}[log p_w(x_i, z)]  (θ inside and out)
    w_em_step: float             #: argmax_w Σ E_{p_{w_old}(z|x_i)}[log p_w(x_i, z)], w_old = ML


def same_theta_demo(x, sigma2: float = 0.5, w_grid=None) -> SameThetaDemo:
    r"""E14: the posterior expectation of the log-joint needs :math:`\theta_{\text{old}}`.

    Model :math:`z\sim N(0,1)`, :math:`x\mid z\sim N(wz, \sigma^2)`. Since
    :math:`\mathbb E_{p_\theta(z|x)}[\log p_\theta(x,z)] = \log p_\theta(x) - H[p_\theta(z\mid x)]`,
    maximising it with the *same* θ in the expectation also rewards a low posterior entropy and
    moves away from maximum likelihood. With :math:`\theta_{\text{old}}` frozen (the EM
    Q-function) the maximum-likelihood point is a fixed point. All three maximised on ``w_grid``
    (default: 20 001 points on [0.01, 5]) in closed form.

    Parameters
    ----------
    x : array (N,), data
    sigma2 : float, the fixed noise variance
    """
    x = as_float_array(x, "x", ndim_min=1).astype(np.float64).ravel()
    w = np.linspace(0.01, 5.0, 20001) if w_grid is None else as_float_array(w_grid, "w_grid")
    s2 = float(sigma2)
    sxx, n = float(x @ x), x.size

    def post(wv):                            # posterior N(m_i, v) of z given x_i
        v = 1.0 / (1.0 + wv ** 2 / s2)
        return np.multiply.outer(wv * v / s2, x), v

    def q_fn(wv, m, v):                      # Σ_i E_{N(m_i, v)}[log N(x_i; w z, s2) + log N(z; 0, 1)]
        e_sq = sxx - 2 * wv * (m @ x) + wv ** 2 * (np.sum(m ** 2, -1) + n * v)
        return (-0.5 * n * np.log(2 * np.pi * s2) - e_sq / (2 * s2)
                - 0.5 * n * np.log(2 * np.pi) - 0.5 * (np.sum(m ** 2, -1) + n * v))

    loglik = -0.5 * (n * np.log(2 * np.pi * (w ** 2 + s2)) + sxx / (w ** 2 + s2))
    m_all, v_all = post(w)
    same = q_fn(w, m_all, v_all)
    w_ml = float(w[np.argmax(loglik)])
    m_old, v_old = post(np.array(w_ml))
    em = q_fn(w, m_old, v_old)
    return SameThetaDemo(w_ml, float(w[np.argmax(same)]), float(w[np.argmax(em)]))
