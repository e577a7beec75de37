r"""The linear-Gaussian latent-variable model: a VAE whose every quantity has a closed form.

Chapter 06 (D6.2, D6.5). The generative model is

.. math:: z \sim \mathcal N(0, I_K),\qquad x\mid z \sim \mathcal N(Wz + b, \sigma^2 I_D),

so the evidence is Gaussian, :math:`p(x) = \mathcal N(x; b, WW^\top + \sigma^2 I)`, and so is the
posterior :math:`p(z\mid x) = \mathcal N(\Sigma W^\top(x-b)/\sigma^2,\ \Sigma)` with precision
:math:`\Lambda = \Sigma^{-1} = I + W^\top W/\sigma^2`. For a diagonal Gaussian
:math:`q = \mathcal N(m, \operatorname{diag}s^2)` the ELBO is closed-form as well, so the identity
:math:`\log p(x) = \mathrm{ELBO}(q) + \mathrm{KL}(q\,\|\,p(z\mid x))` can be checked to rounding
error, and the ELBO can be maximised over ``q`` by exact gradient ascent.

The class also speaks the VAE's evaluation contract (``encode``, ``log_joint``, ``log_q``), with
the optimal diagonal Gaussian as its "encoder", so the estimators of :mod:`elbo_edu.estimators`
can be tested against an exact :math:`\log p(x)`.
"""
from __future__ import annotations

import numpy as np

from .._checks import as_float_array, check_ndim, check_positive_float, check_positive_int
from ..distributions import (LOG_2PI, gaussian_entropy, gaussian_log_prob, std_normal_log_prob)

__all__ = ["LinearGaussian"]


class LinearGaussian:
    r"""z ~ N(0, I_K), x | z ~ N(W z + b, sigma2 I_D) (chapter 06).

    Parameters
    ----------
    W : array (D, K)
    b : array (D,)
    sigma2 : float > 0
        Observation noise variance.
    """

    def __init__(self, W, b, sigma2: float):
        W = as_float_array(W, "W").astype(np.float64)
        check_ndim(W, "W", 2)
        b = as_float_array(b, "b").astype(np.float64)
        if b.shape != (W.shape[0],):
            raise ValueError(f"b: expected shape ({W.shape[0]},) (one offset per row of W), got {b.shape}")
        self.W, self.b = W, b
        self.sigma2 = check_positive_float(sigma2, "sigma2")
        self.x_dim, self.z_dim = W.shape
        # posterior precision Λ = I + WᵀW/σ², shared by every x; its inverse Σ and Cholesky factors
        self.precision = np.eye(self.z_dim) + W.T @ W / self.sigma2
        self.post_cov = np.linalg.inv(self.precision)
        self.post_cov = 0.5 * (self.post_cov + self.post_cov.T)
        self._marg_chol = np.linalg.cholesky(W @ W.T + self.sigma2 * np.eye(self.x_dim))

    @classmethod
    def random(cls, x_dim: int, z_dim: int, rng: np.random.Generator, *, sigma2: float = 0.5,
               scale: float = 1.0) -> "LinearGaussian":
        """A model with N(0, scale²) weights and offsets (for tests and demonstrations)."""
        x_dim, z_dim = check_positive_int(x_dim, "x_dim"), check_positive_int(z_dim, "z_dim")
        scale = check_positive_float(scale, "scale")
        return cls(scale * rng.standard_normal((x_dim, z_dim)), scale * rng.standard_normal(x_dim),
                   sigma2)

    # ------------------------------------------------------------------------------ checks
    def check_x(self, x) -> np.ndarray:
        """``x`` as a float64 array of shape (N, x_dim); ``ValueError`` naming ``x`` otherwise."""
        x = as_float_array(x, "x").astype(np.float64, copy=False)
        if x.ndim != 2 or x.shape[1] != self.x_dim:
            raise ValueError(f"x: expected shape (N, {self.x_dim}), got {x.shape}")
        return x

    def check_q(self, x, q_mean, q_logvar) -> list:
        """``[q_mean, q_logvar]`` as float64 arrays of shape (N, z_dim), one row per row of the
        checked ``x``; ``ValueError`` naming the argument otherwise."""
        shape = (x.shape[0], self.z_dim)
        out = []
        for a, n in ((q_mean, "q_mean"), (q_logvar, "q_logvar")):
            a = as_float_array(a, n).astype(np.float64, copy=False)
            if a.shape != shape:
                raise ValueError(f"{n}: expected shape {shape} (one row per row of x), got {a.shape}")
            out.append(a)
        return out

    # ---------------------------------------------------------------------- exact quantities
    def log_evidence(self, x) -> np.ndarray:
        r"""Exact :math:`\log p(x) = \log\mathcal N(x; b, WW^\top+\sigma^2 I)` (D6.2).

        ``x``: (N, D) -> (N,). Uses the Cholesky factor :math:`LL^\top` of the covariance:
        :math:`-\tfrac12\lVert L^{-1}(x-b)\rVert^2 - \sum\log L_{ii} - \tfrac D2\log 2\pi`.
        """
        x = self.check_x(x)
        r = np.linalg.solve(self._marg_chol, (x - self.b).T)
        logdet = 2.0 * np.sum(np.log(np.diag(self._marg_chol)))
        return -0.5 * (np.sum(r * r, axis=0) + logdet + self.x_dim * LOG_2PI)

    def posterior(self, x):
        r"""Exact posterior :math:`p(z\mid x) = \mathcal N(\Sigma W^\top(x-b)/\sigma^2, \Sigma)`.

        Returns
        -------
        mean : array (N, K)
        cov : array (K, K)
            :math:`\Sigma = (I + W^\top W/\sigma^2)^{-1}`, the same for every x.
        """
        x = self.check_x(x)
        mean = (x - self.b) @ self.W @ self.post_cov / self.sigma2
        return mean, self.post_cov.copy()

    def mean_field_logvar(self) -> np.ndarray:
        r"""Log-variances of the best diagonal q: :math:`s_k^2 = 1/\Lambda_{kk}` (D6.5), shape (K,)."""
        return -np.log(np.diag(self.precision))

    def elbo(self, x, q_mean, q_logvar) -> np.ndarray:
        r"""Closed-form ELBO for :math:`q = \mathcal N(m, \operatorname{diag}s^2)` (D6.2–D6.4).

        .. math:: \mathrm{ELBO} = -\frac D2\log 2\pi\sigma^2
                  - \frac{\lVert x-b-Wm\rVert^2 + \sum_k s_k^2\lVert W_{:k}\rVert^2}{2\sigma^2}
                  - \frac K2\log 2\pi - \frac{\lVert m\rVert^2 + \sum_k s_k^2}{2} + H(q)

        (expected log-likelihood + expected log-prior + entropy). ``x``: (N, D); ``q_mean``,
        ``q_logvar``: (N, K) -> (N,).
        """
        x = self.check_x(x)
        m, lv = self.check_q(x, q_mean, q_logvar)
        s2 = np.exp(lv)
        col2 = np.sum(self.W ** 2, axis=0)
        resid = x - self.b - m @ self.W.T
        e_loglik = -0.5 * (self.x_dim * (LOG_2PI + np.log(self.sigma2))
                           + (np.sum(resid ** 2, axis=1) + s2 @ col2) / self.sigma2)
        e_logprior = -0.5 * (self.z_dim * LOG_2PI + np.sum(m ** 2 + s2, axis=1))
        return e_loglik + e_logprior + gaussian_entropy(lv)

    def elbo_grad(self, x, q_mean, q_logvar):
        r"""Gradient of :meth:`elbo` (each row's ELBO w.r.t. its own q) (D6.5).

        .. math:: \nabla_m = W^\top(x-b-Wm)/\sigma^2 - m,\qquad
                  \nabla_{\log s_k^2} = \tfrac12 - \tfrac12 s_k^2\Lambda_{kk}

        Both vanish exactly at the posterior mean and at :math:`s_k^2 = 1/\Lambda_{kk}`.

        Returns
        -------
        dq_mean, dq_logvar : arrays (N, K)
        """
        x = self.check_x(x)
        m, lv = self.check_q(x, q_mean, q_logvar)
        resid = x - self.b - m @ self.W.T
        dm = resid @ self.W / self.sigma2 - m
        dlv = 0.5 - 0.5 * np.exp(lv) * np.diag(self.precision)
        return dm, dlv

    def kl_to_posterior(self, x, q_mean, q_logvar) -> np.ndarray:
        r""":math:`\mathrm{KL}(q\,\|\,p(z\mid x))` between Gaussians, computed directly (D6.2).

        .. math:: \tfrac12\big[\operatorname{tr}(\Lambda S) + (\mu-m)^\top\Lambda(\mu-m) - K
                  - \log|S| - \log|\Lambda|\big]

        with :math:`S = \operatorname{diag}s^2`. Independent of :meth:`elbo`, so the two sides of
        :math:`\log p(x) - \mathrm{ELBO} = \mathrm{KL}` are computed by different formulas.
        Returns (N,).
        """
        x = self.check_x(x)
        m, lv = self.check_q(x, q_mean, q_logvar)
        mu, _ = self.posterior(x)
        d = mu - m
        maha = np.einsum("ni,ij,nj->n", d, self.precision, d)
        logdet_prec = np.linalg.slogdet(self.precision)[1]
        tr = np.exp(lv) @ np.diag(self.precision)
        return 0.5 * (tr + maha - self.z_dim - np.sum(lv, axis=1) - logdet_prec)

    def sample(self, n: int, rng: np.random.Generator, *, return_latent: bool = False):
        """Draw ``n`` points x (n, D) from the model (and their latents z (n, K) if asked)."""
        n = check_positive_int(n, "n")
        z = rng.standard_normal((n, self.z_dim))
        x = z @ self.W.T + self.b + np.sqrt(self.sigma2) * rng.standard_normal((n, self.x_dim))
        return (x, z) if return_latent else x

    # --------------------------------------------- the VAE evaluation contract (for estimators)
    def encode(self, x):
        """The best diagonal Gaussian q: posterior mean and mean-field log-variances, each (N, K)."""
        mean, _ = self.posterior(x)
        return mean, np.broadcast_to(self.mean_field_logvar(), mean.shape).copy()

    def log_likelihood_z(self, x, z) -> np.ndarray:
        r""":math:`\log p(x\mid z)` for ``x`` (N, D) and ``z`` (N, K) or (S, N, K) -> (N,) or (S, N)."""
        z = as_float_array(z, "z", ndim_min=2)
        if z.shape[-1] != self.z_dim:
            raise ValueError(f"z: expected a last axis of size {self.z_dim}, got shape {z.shape}")
        x = self.check_x(x)
        mean = z @ self.W.T + self.b
        return gaussian_log_prob(np.broadcast_to(x, mean.shape), mean, np.log(self.sigma2))

    def log_joint(self, x, z) -> np.ndarray:
        r""":math:`\log p(x, z) = \log p(x\mid z) + \log p(z)` (D7.4); z (N, K) or (S, N, K)."""
        return self.log_likelihood_z(x, z) + std_normal_log_prob(z)

    def log_q(self, z, mu, logvar) -> np.ndarray:
        """Log-density of the diagonal Gaussian q at z (..., K) -> (...)."""
        return gaussian_log_prob(z, mu, logvar)

    def __repr__(self) -> str:
        return f"LinearGaussian(x_dim={self.x_dim}, z_dim={self.z_dim}, sigma2={self.sigma2:g})"
