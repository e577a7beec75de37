r"""One planar normalising-flow layer, forward and backward by hand (chapter 12, D12.3).

Rezende & Mohamed, *Variational Inference with Normalizing Flows* (2015): an invertible map

.. math:: f(z) = z + u\,\tanh(w^\top z + b),\qquad
          \log\Big|\det\frac{\partial f}{\partial z}\Big| = \log\big|1 + u^\top\psi(z)\big|,\quad
          \psi(z) = (1-\tanh^2(w^\top z+b))\,w,

turns a sample :math:`z_0\sim q_0` into :math:`z_1 = f(z_0)` whose density follows from the change
of variables, :math:`\log q_1(z_1) = \log q_0(z_0) - \log|\det\partial f/\partial z_0|`. (The map
is invertible when :math:`u^\top w\ge -1`; the layer does not enforce it, the chapter's fits stay
inside that region and :meth:`PlanarFlow.invertible` reports it.)

Backward, with :math:`a = w^\top z + b`, :math:`t = \tanh a`, :math:`t' = 1-t^2`,
:math:`t'' = -2tt'`, :math:`c = 1 + t'\,u^\top w` and upstream gradients :math:`\bar y`
(for :math:`f`) and :math:`\bar\ell` (for the log-determinant):

.. math:: \bar a = t'\,u^\top\bar y + \bar\ell\,\frac{t''\,u^\top w}{c},\qquad
          \bar z = \bar y + \bar a\,w,\qquad \bar u = t\,\bar y + \bar\ell\,\frac{t'}{c}\,w,\qquad
          \bar w = \bar a\,z + \bar\ell\,\frac{t'}{c}\,u,\qquad \bar b = \bar a

(summed over the rows for the parameters).

:func:`fit_planar_flow` uses the layer as a variational posterior for a target log-density known
up to a constant: :math:`\mathrm{ELBO} = \mathbb E_{q_0}[\log\tilde p(f(z_0)) + \log|\det|] + H(q_0)`.
"""
from __future__ import annotations

import numpy as np

from .._checks import as_float_array, check_positive_int
from ..distributions import gaussian_entropy
from ..nn import Module
from ..distributions import reparameterize, reparameterize_grad

__all__ = ["PlanarFlow", "tanh_ridge_log_density", "fit_planar_flow"]


class PlanarFlow(Module):
    r"""The planar layer :math:`f(z) = z + u\tanh(w^\top z + b)` in K dimensions.

    ``forward(z)`` (N, K) -> (N, K) and keeps the per-row log-determinant in :attr:`logdet` (N,);
    ``backward(dy, dlogdet=None)`` adds into ``grads`` (``u``, ``w``, ``b``) and returns dz (N, K).
    """

    def __init__(self, dim: int, *, rng: np.random.Generator | None = None, scale: float = 0.1,
                 dtype=np.float64):
        super().__init__(dtype)
        self.dim = check_positive_int(dim, "dim")
        rng = np.random.default_rng() if rng is None else rng
        self._add_param("u", scale * rng.standard_normal(self.dim))
        self._add_param("w", scale * rng.standard_normal(self.dim))
        self._add_param("b", np.zeros(1))
        self.logdet: np.ndarray | None = None

    def invertible(self) -> bool:
        r"""Whether :math:`u^\top w \ge -1` (then f is invertible)."""
        return bool(self.params["u"] @ self.params["w"] >= -1.0)

    def forward(self, z):
        z = as_float_array(z, "z").astype(self.dtype, copy=False)
        if z.ndim != 2 or z.shape[1] != self.dim:
            raise ValueError(f"z: expected shape (N, {self.dim}), got {z.shape}")
        u, w, b = self._own_params["u"], self._own_params["w"], self._own_params["b"]
        t = np.tanh(z @ w + b)                                  # (N,)
        dt = 1.0 - t * t
        c = 1.0 + dt * (u @ w)
        self.logdet = np.log(np.abs(c))
        self._save(z, t, dt, c)
        return z + t[:, None] * u

    def backward(self, dy, dlogdet=None):
        z, t, dt, c = self._saved()
        dy = self._check_dy(dy, z.shape)
        dl = np.zeros(z.shape[0]) if dlogdet is None else np.broadcast_to(
            as_float_array(dlogdet, "dlogdet"), (z.shape[0],))
        u, w = self._own_params["u"], self._own_params["w"]
        uw = u @ w
        ddt = -2.0 * t * dt                                     # d(1 - tanh^2)/da
        da = dt * (dy @ u) + dl * ddt * uw / c                  # (N,)
        r = dl * dt / c                                         # d logdet / d(u.w), per row
        self._own_grads["u"] += t @ dy + r.sum() * w
        self._own_grads["w"] += da @ z + r.sum() * u
        self._own_grads["b"] += da.sum()
        return dy + da[:, None] * w

    def __repr__(self):
        return f"PlanarFlow(dim={self.dim})"


def tanh_ridge_log_density(z, scale: float = 2.0, sd: float = 0.3):
    r"""A normalised 2-D target that bends: :math:`z_1\sim\mathcal N(0,1)`,
    :math:`z_2\mid z_1\sim\mathcal N(s\tanh z_1, \mathrm{sd}^2)`.

    Its log-normaliser is 0, so :math:`-\mathrm{ELBO}(q) = \mathrm{KL}(q\,\|\,p)`. One planar layer
    with :math:`w = (1,0)`, :math:`u = (0,s)`, :math:`b = 0` applied to
    :math:`\mathcal N(0,\operatorname{diag}(1,\mathrm{sd}^2))` reproduces it exactly; no Gaussian can.

    Returns ``(log_p (N,), dlog_p/dz (N, 2))``.
    """
    z = as_float_array(z, "z")
    if z.ndim != 2 or z.shape[1] != 2:
        raise ValueError(f"z: expected shape (N, 2), got {z.shape}")
    t = np.tanh(z[:, 0])
    r = (z[:, 1] - scale * t) / sd
    logp = -np.log(2 * np.pi) - np.log(sd) - 0.5 * z[:, 0] ** 2 - 0.5 * r * r
    g = np.empty_like(z)
    g[:, 1] = -r / sd
    g[:, 0] = -z[:, 0] + (r / sd) * scale * (1 - t * t)
    return logp, g


class _PlanarFlowELBO:
    """The negative ELBO of :func:`fit_planar_flow` as an objective of :func:`elbo_edu.train.fit`:
    ``params``/``grads`` (``m``, ``logvar`` and ``flow.*``) and ``loss_and_grads(rng=...)``,
    one fresh batch of noise per call."""

    def __init__(self, log_target, dim: int, batch: int, layer):
        self.log_target, self.dim, self.batch, self.layer = log_target, dim, batch, layer
        self.q = {"m": np.zeros(dim), "logvar": np.zeros(dim)}
        self._dq = {k: np.zeros_like(v) for k, v in self.q.items()}
        self.params, self.grads = dict(self.q), dict(self._dq)
        if layer is not None:
            self.params.update({f"flow.{k}": v for k, v in layer.params.items()})
            self.grads.update({f"flow.{k}": v for k, v in layer.grads.items()})

    def loss_and_grads(self, rng):
        q, dq, layer, batch = self.q, self._dq, self.layer, self.batch
        eps = rng.standard_normal((batch, self.dim))
        mu, lv = np.broadcast_to(q["m"], eps.shape), np.broadcast_to(q["logvar"], eps.shape)
        z0 = reparameterize(mu, lv, eps)
        z1 = layer.forward(z0) if layer is not None else z0
        logp, dz1 = self.log_target(z1)
        logdet = layer.logdet if layer is not None else 0.0
        elbo = float(np.mean(logp + logdet) + gaussian_entropy(q["logvar"]))
        # minimise -ELBO: upstream gradients -1/batch for log p and for the log-determinant
        g = -dz1 / batch
        if layer is not None:
            layer.zero_grad()
            g = layer.backward(g, dlogdet=np.full(batch, -1.0 / batch))
        dmu, dlv, _ = reparameterize_grad(mu, lv, eps, g)
        dq["m"][...] = dmu.sum(axis=0)
        dq["logvar"][...] = dlv.sum(axis=0) - 0.5                # -dH/dlogvar
        return -elbo, self.grads


def fit_planar_flow(log_target, *, dim: int = 2, flow: bool = True, steps: int = 3000,
                    batch: int = 256, lr: float = 0.01, seed: int = 0):
    r"""Fit :math:`q = f_\#\mathcal N(m, \operatorname{diag}e^{\ell})` (or the Gaussian alone,
    ``flow=False``) to ``log_target(z) -> (log p, dlog p/dz)`` by Adam on reparameterized ELBO
    gradients (``batch`` samples per step; :func:`elbo_edu.train.fit` without data).

    Returns ``(params, flow_layer_or_None, elbo_trace (steps,))``, ``params`` = {"m", "logvar"}.
    """
    from ..train import fit

    steps, batch, dim = (check_positive_int(v, n) for v, n in
                         ((steps, "steps"), (batch, "batch"), (dim, "dim")))
    rng = np.random.default_rng(seed)
    layer = PlanarFlow(dim, rng=rng) if flow else None
    objective = _PlanarFlowELBO(log_target, dim, batch, layer)
    trace = -np.array(fit(objective, None, epochs=steps, lr=lr, rng=rng))
    return objective.q, layer, trace
