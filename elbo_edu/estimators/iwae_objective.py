r"""The importance-weighted bound as a *training* objective, with its gradient by hand (chapter 12, D12.1).

Burda, Grosse & Salakhutdinov, *Importance Weighted Autoencoders* (2016), train a VAE on

.. math:: \mathcal L_K(x) = \log\frac1K\sum_{k=1}^K w_k,\qquad
          w_k = \frac{p_\theta(x, z_k)}{q_\phi(z_k\mid x)},\qquad
          z_k = \mu_\phi(x) + \sigma_\phi(x)\odot\varepsilon_k,

instead of the ELBO (the case K = 1). Its gradient with the noise held fixed is the chain rule
through a log-sum-exp:

.. math:: \nabla\mathcal L_K = \sum_k \tilde w_k\,\nabla\log w_k,\qquad
          \tilde w_k = \frac{w_k}{\sum_j w_j}\ \text{(a softmax of the log-weights over k)},

so each sample's ordinary one-sample ELBO gradient is weighted by its normalised importance
weight. For one sample the derivatives of :math:`\log w_k` are those of chapter 09, with one
difference: :math:`\log q` is evaluated at the reparameterized sample, so as a function of
:math:`(\mu, \log\sigma^2)` it is :math:`-\tfrac12\lVert\varepsilon_k\rVert^2
-\tfrac12\sum_j\log\sigma_j^2 + \text{const}`; it adds :math:`+\tfrac12` per dimension to
:math:`\partial\log w_k/\partial\log\sigma^2` and nothing to :math:`\partial/\partial\mu`.

The functions use only the public pieces of :class:`elbo_edu.vae.VAE` (``encoder`` and
``decoder`` modules with forward/backward, ``likelihood``), so any model with that interface works.
The observation model must not have a learned variance (Bernoulli or fixed Gaussian).
"""
from __future__ import annotations

import numpy as np

from .. import distributions as D
from .._checks import as_float_array, check_positive_float, check_positive_int, check_rng
from ..optim import Adam
from ..vae import reparameterize_grad

__all__ = ["iwae_objective", "iwae_loss", "iwae_loss_and_grads", "fit_iwae"]


def _inputs(model, x, k, eps, rng):
    if getattr(model.likelihood, "name", None) not in ("bernoulli", "gaussian"):
        raise ValueError("model: expected a VAE with a 'bernoulli' or fixed 'gaussian' likelihood, "
                         f"got {getattr(model.likelihood, 'name', model.likelihood)!r}")
    k = check_positive_int(k, "k")
    x = as_float_array(x, "x")
    if x.ndim != 2 or x.shape[1] != model.x_dim or x.shape[0] == 0:
        raise ValueError(f"x: expected a non-empty array of shape (N, {model.x_dim}), got {x.shape}")
    if model.likelihood.targets_in_unit_interval and (x.min() < 0 or x.max() > 1):
        raise ValueError("x: expected Bernoulli targets in [0, 1]")
    x = x.astype(model.dtype, copy=False)
    shape = (k, x.shape[0], model.z_dim)
    if eps is None:
        rng = model.rng if rng is None else check_rng(rng)
        eps = rng.standard_normal(shape, dtype=model.dtype)
    else:
        eps = as_float_array(eps, "eps")
        if eps.shape != shape:
            raise ValueError(f"eps: expected shape {shape} (k, N, z_dim), got {eps.shape}")
        eps = eps.astype(model.dtype, copy=False)
    return x, k, eps


def iwae_objective(model, x, k: int, eps=None, rng=None, *, backward: bool = False):
    r"""Per-row :math:`\mathcal L_K(x)` and, if ``backward``, the gradient of the mean loss.

    Parameters
    ----------
    model : VAE-like (``encoder``, ``decoder``, ``likelihood``, ``x_dim``, ``z_dim``, ``dtype``)
    x : array (N, x_dim)
    k : int
        Number of importance samples K.
    eps : array (K, N, z_dim), optional
        The noise; drawn from ``rng`` (default: the model's generator) when omitted.
    backward : bool
        Accumulate :math:`\partial(-\tfrac1N\sum_n\mathcal L_K(x_n))` into ``model.grads``
        (zeroed first).

    Returns
    -------
    bound : array (N,)
        :math:`\log\frac1K\sum_k w_k` for each row.
    log_w : array (K, N)
        The log-weights :math:`\log p(x, z_k) - \log q(z_k\mid x)`.

    Raises
    ------
    ValueError
        For a learned-variance likelihood, a bad ``k``, or ``x``/``eps`` of the wrong shape.
    """
    x, k, eps = _inputs(model, x, k, eps, rng)
    n, z_dim = x.shape[0], model.z_dim
    h = model.encoder.forward(x)                                    # (N, 2Z)
    mu, logvar = h[:, :z_dim], h[:, z_dim:]
    sd = np.exp(0.5 * logvar)
    z = mu + sd * eps                                               # (K, N, Z)
    out = model.decoder.forward(z.reshape(k * n, z_dim)).reshape(k, n, model.x_dim)
    xb = np.broadcast_to(x, out.shape)
    log_px = model.likelihood.log_prob(xb, out)                     # (K, N)
    log_w = log_px + D.std_normal_log_prob(z) - D.gaussian_log_prob(z, mu, logvar)
    top = log_w.max(axis=0)
    w = np.exp(log_w - top)                                         # (K, N), max 1
    bound = top + np.log(w.mean(axis=0))
    if backward:
        model.zero_grad()
        g = -(w / w.sum(axis=0)) / n                                # d loss / d log w_k = -w~_k / N
        dout, _ = model.likelihood.log_prob_grad(xb, out, grad_out=g)
        dz = model.decoder.backward(dout.reshape(k * n, model.x_dim)).reshape(k, n, z_dim)
        dz = dz - g[..., None] * z                                  # log p(z): d/dz = -z
        dmu, dlogvar, _ = reparameterize_grad(np.broadcast_to(mu, eps.shape),     # D8.1, per
                                              np.broadcast_to(logvar, eps.shape), eps, dz)  # sample
        dmu = dmu.sum(axis=0)
        dlogvar = dlogvar.sum(axis=0) + 0.5 * g.sum(axis=0)[:, None]   # -log q at z(eps): +1/2
        model.encoder.backward(np.concatenate([dmu, dlogvar], axis=1), input_grad=False)
    return bound.astype(np.float64), log_w.astype(np.float64)


def iwae_loss(model, x, k: int, eps=None, rng=None) -> float:
    r"""Mean negative bound :math:`-\frac1N\sum_n\mathcal L_K(x_n)` (nats per example)."""
    bound, _ = iwae_objective(model, x, k, eps, rng)
    return -float(bound.mean())


def iwae_loss_and_grads(model, x, k: int, eps=None, rng=None):
    r""":func:`iwae_loss` and its gradient :math:`-\frac1N\sum_n\sum_k\tilde w_{kn}\nabla\log w_{kn}`.

    Returns ``(loss, grads)``, ``grads`` being ``model.grads`` (filled in place).
    """
    bound, _ = iwae_objective(model, x, k, eps, rng, backward=True)
    return -float(bound.mean()), model.grads


def fit_iwae(model, x, k: int, *, epochs: int, batch_size: int = 100, lr: float = 1e-3,
             seed: int = 0) -> list:
    r"""Train ``model`` in place with Adam on :math:`-\mathcal L_K` (K = 1 is the VAE with a
    Monte-Carlo KL). Returns the mean training loss of each epoch (weighted by batch size).

    The data order and the noise come from two separate generators, ``default_rng([seed, 0])``
    and ``default_rng([seed, 1])``: runs with the same seed and different K see the same
    minibatches in the same order, whatever K, while their noise (K draws per digit) differs.
    """
    epochs, batch_size = check_positive_int(epochs, "epochs"), check_positive_int(batch_size, "batch_size")
    lr = check_positive_float(lr, "lr")
    x = as_float_array(x, "x").astype(model.dtype, copy=False)
    order_rng, noise_rng = np.random.default_rng([seed, 0]), np.random.default_rng([seed, 1])
    opt = Adam(model.params, model.grads, lr=lr)
    history = []
    for _ in range(epochs):
        order, total = order_rng.permutation(x.shape[0]), 0.0
        for i in range(0, x.shape[0], batch_size):
            xb = x[order[i:i + batch_size]]
            loss, _ = iwae_loss_and_grads(model, xb, k, rng=noise_rng)
            opt.step()
            total += loss * xb.shape[0]
        history.append(total / x.shape[0])
    return history
