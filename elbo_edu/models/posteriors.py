r"""A full-covariance Gaussian posterior, Cholesky-parameterised, with its gradients by hand (chapter 12, D12.3).

:math:`q(z) = \mathcal N(m, LL^\top)` with :math:`L` lower-triangular and a positive diagonal.
The free parameters are the mean ``m`` (K,) and an unconstrained square matrix ``raw`` (K, K):
its strict lower triangle is copied into :math:`L` and its diagonal is the *log* of
:math:`L`'s diagonal, so every real ``raw`` gives a valid covariance.

* sample (reparameterization): :math:`z = m + L\varepsilon`, :math:`\varepsilon\sim\mathcal N(0,I)`;
  for an upstream gradient :math:`g = \partial f/\partial z`,
  :math:`\partial f/\partial m = g` and :math:`\partial f/\partial L = \operatorname{tril}(g\,\varepsilon^\top)`;
* entropy: :math:`H = \tfrac K2\log(2\pi e) + \sum_i\log L_{ii}`, so
  :math:`\partial H/\partial\,\mathrm{raw}_{ii} = 1` and the off-diagonal entries do not enter;
* log-density: :math:`\log q(z) = -\tfrac K2\log2\pi - \sum_i\log L_{ii} - \tfrac12\lVert L^{-1}(z-m)\rVert^2`.

For the linear-Gaussian model of chapter 06 the ELBO of such a q is closed-form,

.. math:: \mathrm{ELBO} = -\tfrac D2\log2\pi\sigma^2 - \frac{\lVert x-b-Wm\rVert^2
          + \operatorname{tr}(W S W^\top)}{2\sigma^2} - \tfrac K2\log2\pi
          - \tfrac12(\lVert m\rVert^2 + \operatorname{tr}S) + H,\qquad S = LL^\top,

with gradient :math:`\nabla_m = W^\top(x-b-Wm)/\sigma^2 - m` and
:math:`\nabla_L = -\Lambda L + \operatorname{diag}(1/L_{ii})` (lower triangle), where
:math:`\Lambda = I + W^\top W/\sigma^2` is the posterior precision. It vanishes exactly at
:math:`m` = the posterior mean and :math:`LL^\top = \Lambda^{-1}`: a full-covariance q reaches the
posterior, and the gap that a diagonal q cannot close (chapter 06, D6.5) goes to zero.
"""
from __future__ import annotations

import numpy as np

from .._checks import as_float_array, check_positive_int
from ..distributions import LOG_2PI

__all__ = ["cholesky_factor", "cholesky_factor_grad", "raw_from_cholesky", "full_gaussian_sample",
           "full_gaussian_sample_grad", "full_gaussian_entropy", "full_gaussian_entropy_grad",
           "full_gaussian_log_prob", "kl_full_gaussians", "lg_full_elbo", "lg_full_elbo_grad",
           "lg_reparam_elbo_grad", "fit_full_covariance", "fit_full_gaussian_by_quadrature"]


def _square(raw, name="raw") -> np.ndarray:
    raw = as_float_array(raw, name)
    if raw.ndim != 2 or raw.shape[0] != raw.shape[1]:
        raise ValueError(f"{name}: expected a square (K, K) array, got shape {raw.shape}")
    return raw


def cholesky_factor(raw) -> np.ndarray:
    r"""``raw`` (K, K) -> :math:`L` (K, K): strict lower triangle of ``raw``, ``exp`` of its diagonal."""
    raw = _square(raw)
    return np.tril(raw, -1) + np.diag(np.exp(np.diag(raw)))


def cholesky_factor_grad(raw, dL) -> np.ndarray:
    r"""Vector–Jacobian product of :func:`cholesky_factor`: the strict lower triangle of ``dL``
    passes through; the diagonal is multiplied by :math:`\partial L_{ii}/\partial\mathrm{raw}_{ii}
    = L_{ii}`; the upper triangle gets 0. Returns (K, K)."""
    raw = _square(raw)
    dL = _square(dL, "dL")
    if dL.shape != raw.shape:
        raise ValueError(f"dL: expected shape {raw.shape}, got {dL.shape}")
    return np.tril(dL, -1) + np.diag(np.diag(dL) * np.exp(np.diag(raw)))


def raw_from_cholesky(L) -> np.ndarray:
    """Inverse of :func:`cholesky_factor` for a lower-triangular ``L`` with positive diagonal."""
    L = _square(L, "L")
    d = np.diag(L)
    if np.any(d <= 0):
        raise ValueError("L: expected a positive diagonal")
    return np.tril(L, -1) + np.diag(np.log(d))


def full_gaussian_sample(m, L, eps) -> np.ndarray:
    r""":math:`z = m + L\varepsilon` for ``eps`` (..., K); returns (..., K)."""
    L = _square(L, "L")
    return as_float_array(m, "m") + as_float_array(eps, "eps") @ L.T


def full_gaussian_sample_grad(eps, grad_out):
    r"""``(dm, dL)`` of :func:`full_gaussian_sample` for ``grad_out`` (..., K):
    :math:`\sum g` over the leading axes and :math:`\operatorname{tril}(\sum g\,\varepsilon^\top)`."""
    eps = as_float_array(eps, "eps")
    g = as_float_array(grad_out, "grad_out")
    if g.shape != eps.shape:
        raise ValueError(f"grad_out: expected shape {eps.shape} (the shape of eps), got {g.shape}")
    k = eps.shape[-1]
    g2, e2 = g.reshape(-1, k), eps.reshape(-1, k)
    return g2.sum(axis=0), np.tril(g2.T @ e2)


def full_gaussian_entropy(L) -> float:
    r""":math:`H = \tfrac K2(\log2\pi + 1) + \sum_i\log L_{ii}` (nats)."""
    L = _square(L, "L")
    return 0.5 * L.shape[0] * (LOG_2PI + 1.0) + float(np.sum(np.log(np.diag(L))))


def full_gaussian_entropy_grad(L) -> np.ndarray:
    r""":math:`\partial H/\partial L = \operatorname{diag}(1/L_{ii})`, (K, K)."""
    L = _square(L, "L")
    return np.diag(1.0 / np.diag(L))


def full_gaussian_log_prob(z, m, L) -> np.ndarray:
    r""":math:`\log\mathcal N(z; m, LL^\top)` for ``z`` (..., K) -> (...), by a triangular solve."""
    L = _square(L, "L")
    z = as_float_array(z, "z")
    r = np.linalg.solve(L, (z - m).reshape(-1, L.shape[0]).T)       # (K, M)
    logdet = np.sum(np.log(np.diag(L)))
    out = -0.5 * (L.shape[0] * LOG_2PI + np.sum(r * r, axis=0)) - logdet
    return out.reshape(z.shape[:-1])


def kl_full_gaussians(m1, S1, m2, S2) -> float:
    r""":math:`\mathrm{KL}(\mathcal N(m_1,S_1)\,\|\,\mathcal N(m_2,S_2)) = \tfrac12\big[\operatorname{tr}
    (S_2^{-1}S_1) + (m_2-m_1)^\top S_2^{-1}(m_2-m_1) - K + \log\det S_2 - \log\det S_1\big]`."""
    S1, S2 = _square(S1, "S1"), _square(S2, "S2")
    d = as_float_array(m2, "m2") - as_float_array(m1, "m1")
    inv2 = np.linalg.inv(S2)
    return 0.5 * float(np.trace(inv2 @ S1) + d @ inv2 @ d - S1.shape[0]
                       + np.linalg.slogdet(S2)[1] - np.linalg.slogdet(S1)[1])


# ------------------------------------------------------------- the linear-Gaussian model (ch. 06)
def _lg_args(model, x, m, L):
    x = as_float_array(x, "x")
    if x.shape != (model.x_dim,):
        raise ValueError(f"x: expected one data point of shape ({model.x_dim},), got {x.shape}")
    m = as_float_array(m, "m")
    if m.shape != (model.z_dim,):
        raise ValueError(f"m: expected shape ({model.z_dim},), got {m.shape}")
    L = _square(L, "L")
    if L.shape != (model.z_dim,) * 2:
        raise ValueError(f"L: expected shape {(model.z_dim,) * 2}, got {L.shape}")
    return x, m, L


def lg_full_elbo(model, x, m, L) -> float:
    r"""Closed-form ELBO of :math:`q = \mathcal N(m, LL^\top)` for one point ``x`` (D,) of a
    :class:`~elbo_edu.models.LinearGaussian` (see the module docstring)."""
    x, m, L = _lg_args(model, x, m, L)
    W, b, s2 = model.W, model.b, model.sigma2
    S = L @ L.T
    r = x - b - W @ m
    e_loglik = -0.5 * (model.x_dim * (LOG_2PI + np.log(s2)) + (r @ r + np.trace(W @ S @ W.T)) / s2)
    e_logprior = -0.5 * (model.z_dim * LOG_2PI + m @ m + np.trace(S))
    return float(e_loglik + e_logprior + full_gaussian_entropy(L))


def lg_full_elbo_grad(model, x, m, L):
    r"""Exact gradient of :func:`lg_full_elbo`: ``(dm (K,), dL (K, K) lower-triangular)``."""
    x, m, L = _lg_args(model, x, m, L)
    dm = model.W.T @ (x - model.b - model.W @ m) / model.sigma2 - m
    dL = np.tril(-model.precision @ L) + full_gaussian_entropy_grad(L)
    return dm, dL


def lg_reparam_elbo_grad(model, x, m, L, eps):
    r"""Reparameterization estimate of the ELBO gradient from noise ``eps`` (S, K):

    .. math:: \hat\nabla_m = \frac1S\sum_s g_s,\quad \hat\nabla_L = \frac1S\sum_s
              \operatorname{tril}(g_s\varepsilon_s^\top) + \operatorname{diag}(1/L_{ii}),\qquad
              g_s = \nabla_z\log p(x, z)\big|_{z_s = m + L\varepsilon_s}
              = W^\top(x-b-Wz_s)/\sigma^2 - z_s.

    Unbiased for :func:`lg_full_elbo_grad` (the expectation over ``eps`` equals it).
    """
    x, m, L = _lg_args(model, x, m, L)
    eps = as_float_array(eps, "eps")
    if eps.ndim != 2 or eps.shape[1] != model.z_dim:
        raise ValueError(f"eps: expected shape (S, {model.z_dim}), got {eps.shape}")
    z = full_gaussian_sample(m, L, eps)                                 # (S, K)
    g = (x - model.b - z @ model.W.T) @ model.W / model.sigma2 - z     # (S, K)
    dm, dL = full_gaussian_sample_grad(eps, g)
    s = eps.shape[0]
    return dm / s, dL / s + full_gaussian_entropy_grad(L)


def fit_full_covariance(model, x, *, steps: int = 1000, lr: float | None = None, m0=None, raw0=None):
    r"""Gradient ascent on :func:`lg_full_elbo` over ``(m, raw)`` with the exact gradient.

    The step defaults to :math:`1/\lambda_{\max}(\Lambda)` (the curvature of the ELBO in m).
    Returns ``(m, L, history)`` with the ELBO after every step in ``history`` (steps,).
    """
    steps = check_positive_int(steps, "steps")
    k = model.z_dim
    m = np.zeros(k) if m0 is None else np.array(m0, dtype=np.float64)
    raw = np.zeros((k, k)) if raw0 is None else np.array(raw0, dtype=np.float64)
    lr = 1.0 / np.linalg.eigvalsh(model.precision)[-1] if lr is None else float(lr)
    hist = np.empty(steps)
    for t in range(steps):
        L = cholesky_factor(raw)
        dm, dL = lg_full_elbo_grad(model, x, m, L)
        m = m + lr * dm
        raw = raw + lr * cholesky_factor_grad(raw, dL)
        hist[t] = lg_full_elbo(model, x, m, cholesky_factor(raw))
    return m, cholesky_factor(raw), hist


# ----------------------------------------------- any 2-D target with a gradient (ch. 12, D12.3)
def fit_full_gaussian_by_quadrature(log_target, *, dim: int = 2, nodes: int = 24, steps: int = 1000,
                                    lr: float = 0.03):
    r"""The best full-covariance Gaussian :math:`q=\mathcal N(m, LL^\top)` for an unnormalised
    ``log_target(z) -> (log p (M,), dlog p/dz (M, K))``, by Adam on a *deterministic* ELBO.

    The expectation is a tensor Gauss–Hermite rule with ``nodes`` points per axis (``dim`` ≤ 3):
    :math:`\mathbb E_q[\log p]\approx\sum_i w_i\log p(m+L\varepsilon_i)`, so the ELBO
    :math:`\sum_i w_i\log p(m+L\varepsilon_i) + H[q]` and its gradient (through
    :func:`full_gaussian_sample_grad`, :func:`full_gaussian_entropy_grad`,
    :func:`cholesky_factor_grad`) carry no Monte-Carlo noise. For a normalised target,
    :math:`-\mathrm{ELBO} = \mathrm{KL}(q\,\|\,p)`. Starts from :math:`\mathcal N(0, I)`.

    Returns ``(m (K,), L (K, K), elbo_trace (steps,))``; ``elbo_trace[t]`` is the ELBO before
    step ``t``. Raises ``ValueError`` for a ``dim`` outside 1..3 or non-positive counts.
    """
    from ..optim import Adam

    dim, nodes, steps = (check_positive_int(v, n) for v, n in ((dim, "dim"), (nodes, "nodes"), (steps, "steps")))
    if dim > 3:
        raise ValueError(f"dim: expected 1, 2 or 3 (a tensor rule has nodes**dim points), got {dim}")
    t, w = np.polynomial.hermite_e.hermegauss(nodes)               # weight exp(-t^2/2)
    w = w / w.sum()
    eps = np.stack(np.meshgrid(*([t] * dim), indexing="ij"), axis=-1).reshape(-1, dim)
    weight = np.prod(np.stack(np.meshgrid(*([w] * dim), indexing="ij"), axis=-1).reshape(-1, dim), axis=1)
    params = {"m": np.zeros(dim), "raw": np.zeros((dim, dim))}
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    opt = Adam(params, grads, lr=lr)
    trace = np.empty(steps)
    for s in range(steps):
        L = cholesky_factor(params["raw"])
        logp, dz = log_target(full_gaussian_sample(params["m"], L, eps))
        trace[s] = float(weight @ logp) + full_gaussian_entropy(L)
        dm, dL = full_gaussian_sample_grad(eps, weight[:, None] * dz)
        grads["m"][...] = -dm                                       # Adam minimises -ELBO
        grads["raw"][...] = -cholesky_factor_grad(params["raw"], dL + full_gaussian_entropy_grad(L))
        opt.step()
    return params["m"].copy(), cholesky_factor(params["raw"]), trace
