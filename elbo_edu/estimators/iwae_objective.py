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

The bound is :class:`elbo_edu.vae.objectives.IWAE`: chapter 09's pieces (encode, reparameterize,
decode, likelihood, and their backward) with the importance weighting, written once in
:func:`elbo_edu.vae.objectives.objective_terms`; this module keeps the chapter's function names. Any
VAE-like model works (``encoder``, ``decoder``, ``likelihood``, ``check_input``); the observation
model must not have a learned variance (Bernoulli or fixed Gaussian).
"""
from __future__ import annotations

import numpy as np

from .._checks import as_float_array, check_positive_int
from ..vae.objectives import IWAE

__all__ = ["iwae_objective", "iwae_loss", "iwae_loss_and_grads", "fit_iwae"]


def _objective(model, k) -> IWAE:
    if getattr(model.likelihood, "name", None) not in ("bernoulli", "gaussian"):
        raise ValueError("model: expected a VAE with a 'bernoulli' or fixed 'gaussian' likelihood, "
                         f"got {getattr(model.likelihood, 'name', model.likelihood)!r}")
    return IWAE(model, k)


def _eps(eps, k):
    """A (K, N, Z) noise array, so that ``k = 1`` takes the same (1, N, Z) shape as any k."""
    if eps is None:
        return None
    eps = as_float_array(eps, "eps")
    if eps.ndim != 3 or eps.shape[0] != k:
        raise ValueError(f"eps: expected shape (k, N, z_dim) with k = {k}, got {eps.shape}")
    return eps


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
        Write :math:`\partial(-\tfrac1N\sum_n\mathcal L_K(x_n))` into ``model.grads``
        (every entry replaced).

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
    k = check_positive_int(k, "k")
    t = _objective(model, k).terms(x, _eps(eps, k), rng, backward=backward)
    return t.bound.astype(np.float64), t.log_w


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
             seed: int = 0, adam_eps: float = 1e-8) -> list:
    r"""Train ``model`` in place with Adam on :math:`-\mathcal L_K` (K = 1 is the VAE with a
    Monte-Carlo KL), by :func:`elbo_edu.train.fit`. The data order and the noise come from two
    generators spawned from ``seed``, so runs with different K see the data in the same order
    (the noise they draw differs in amount). Returns the mean training loss of each epoch.
    """
    from ..train import fit

    k = check_positive_int(k, "k")
    x = as_float_array(x, "x").astype(model.dtype, copy=False)
    order_seed, noise_seed = np.random.SeedSequence(seed).spawn(2)
    return fit(_objective(model, k), x, epochs=epochs, batch_size=batch_size, lr=lr,
               rng=np.random.default_rng(noise_seed), order_rng=np.random.default_rng(order_seed),
               adam_eps=adam_eps)
