r"""Free bits against KL warm-up, measured in active units (chapter 13, D13.3).

Free bits (Kingma et al., *Improved Variational Inference with Inverse Autoregressive Flow*, 2016)
replaces the KL term of the loss by

.. math:: \sum_{j=1}^{Z}\max\big(\lambda,\ \overline{\mathrm{KL}}_j\big),\qquad
          \overline{\mathrm{KL}}_j = \frac1N\sum_n\mathrm{KL}\big(q(z_j\mid x_n)\,\|\,\mathcal N(0,1)\big),

so each latent dimension may carry up to :math:`\lambda` nats (per minibatch average) for free:
below that its KL gets **no gradient**, and the encoder has no reason to shut the unit down.
Above it, the gradient is the ordinary one, :math:`\frac1N\partial\mathrm{KL}_{nj}` (chapter 05,
D5.5). KL warm-up (chapter 11, D11.4) instead multiplies the whole KL by a weight rising from 0
to 1. :func:`compare_collapse_remedies` trains the same VAE (same initial weights, data order and
noise) plainly, with warm-up and with free bits, and counts active units.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import distributions as D
from .._checks import as_float_array, check_positive_int, check_rng
from ..optim import Adam
from ..vae import reparameterize, reparameterize_grad
from .diagnostics import ActiveUnits, active_units, kl_per_dimension

__all__ = ["free_bits_kl", "free_bits_kl_grad", "free_bits_loss_and_grads", "CollapseRun",
           "compare_collapse_remedies"]


def _mu_lv(mu, logvar):
    mu, logvar = as_float_array(mu, "mu"), as_float_array(logvar, "logvar")
    if mu.ndim != 2 or logvar.shape != mu.shape:
        raise ValueError(f"logvar: expected the shape of mu (N, Z) = {mu.shape}, got {logvar.shape}")
    return mu, logvar


def free_bits_kl(mu, logvar, lam: float) -> float:
    r""":math:`\sum_j\max(\lambda, \overline{\mathrm{KL}}_j)` for ``mu``, ``logvar`` (N, Z)."""
    mu, logvar = _mu_lv(mu, logvar)
    if not np.isfinite(lam) or lam < 0:
        raise ValueError(f"lam: expected a finite number >= 0 (nats per dimension), got {lam!r}")
    zeros = np.zeros_like(mu)
    kl_bar = D.kl_normal(mu, logvar, zeros, zeros).mean(axis=0)     # (Z,)
    return float(np.maximum(lam, kl_bar).sum())


def free_bits_kl_grad(mu, logvar, lam: float):
    r"""``(dmu, dlogvar)`` (N, Z) of :func:`free_bits_kl`: the KL gradient :math:`\mu/N`,
    :math:`\tfrac12(\sigma^2-1)/N` in the dimensions whose batch-mean KL exceeds ``lam``, else 0."""
    mu, logvar = _mu_lv(mu, logvar)
    zeros = np.zeros_like(mu)
    kl_bar = D.kl_normal(mu, logvar, zeros, zeros).mean(axis=0)
    on = (kl_bar > lam).astype(mu.dtype) / mu.shape[0]              # (Z,)
    return mu * on, 0.5 * np.expm1(logvar) * on


def free_bits_loss_and_grads(model, x, lam: float, eps=None, rng=None, *, beta: float = 1.0):
    r"""Loss :math:`-\frac1N\sum_n\log p(x_n\mid z_n) + \beta\sum_j\max(\lambda,\overline{\mathrm{KL}}_j)`
    of a VAE-like ``model`` (public ``encoder``, ``decoder``, ``likelihood``; Bernoulli or fixed
    Gaussian) and its gradient, written into ``model.grads``. Returns ``(loss, recon, kl)`` where
    ``kl`` is the true mean KL (not the clamped one)."""
    if getattr(model.likelihood, "name", None) not in ("bernoulli", "gaussian"):
        raise ValueError("model: expected a 'bernoulli' or fixed 'gaussian' likelihood")
    x = as_float_array(x, "x").astype(model.dtype, copy=False)
    n, zd = x.shape[0], model.z_dim
    if eps is None:
        eps = (model.rng if rng is None else check_rng(rng)).standard_normal((n, zd), dtype=model.dtype)
    h = model.encoder.forward(x)
    mu, logvar = h[:, :zd], h[:, zd:]
    z = reparameterize(mu, logvar, eps)
    out = model.decoder.forward(z)
    log_px = model.likelihood.log_prob(x, out)
    recon = -float(log_px.mean())
    loss = recon + beta * free_bits_kl(mu, logvar, lam)
    model.zero_grad()
    t = model.dtype.type
    dout, _ = model.likelihood.log_prob_grad(x, out, grad_out=np.full(n, t(-1.0 / n)))
    dz = model.decoder.backward(dout)
    dmu, dlv, _ = reparameterize_grad(mu, logvar, eps, dz)
    kmu, klv = free_bits_kl_grad(mu, logvar, lam)
    model.encoder.backward(np.concatenate([dmu + beta * kmu, dlv + beta * klv], axis=1).astype(model.dtype),
                           input_grad=False)
    return loss, recon, float(D.kl_std_normal(mu, logvar).mean())


class CollapseRun(NamedTuple):
    """One run of :func:`compare_collapse_remedies`, measured on the test set."""
    remedy: str
    test_loss: float            # the negative ELBO on the test set (KL weight 1, nothing clamped)
    active: ActiveUnits
    kl_per_dim: np.ndarray


def compare_collapse_remedies(x_train, x_test, *, z_dim: int = 16, hidden=(128,), epochs: int = 10,
                              warmup_epochs: int = 5, free_bits: float = 0.25,
                              batch_size: int = 100, lr: float = 1e-3, seed: int = 0,
                              beta: float = 1.0, likelihood: str = "bernoulli",
                              obs_var: float = 1.0,
                              remedies=("none", "warmup", "free_bits")) -> dict:
    r"""Train one VAE (``likelihood``, ``obs_var`` as for :class:`~elbo_edu.vae.VAE`) per remedy from the same initial weights, data order and noise.

    ``"none"``: the ELBO with KL weight ``beta``; ``"warmup"``: KL weight :math:`\beta\min(1, t/T)` over the first
    ``warmup_epochs`` epochs (:func:`elbo_edu.train.kl_weight`); ``"free_bits"``: the loss of
    :func:`free_bits_loss_and_grads` with :math:`\lambda` = ``free_bits`` nats per dimension.
    Returns ``{remedy: CollapseRun}``.
    """
    from ..train import evaluate, kl_weight
    from ..vae import VAE

    x_train = as_float_array(x_train, "x_train").astype(np.float32, copy=False)
    epochs = check_positive_int(epochs, "epochs")
    unknown = set(remedies) - {"none", "warmup", "free_bits"}
    if unknown:
        raise ValueError(f"remedies: expected some of 'none', 'warmup', 'free_bits', got {sorted(unknown)}")
    steps_per_epoch = -(-x_train.shape[0] // batch_size)
    out = {}
    for remedy in remedies:
        model = VAE(x_train.shape[1], z_dim, hidden=hidden, likelihood=likelihood, obs_var=obs_var,
                    rng=np.random.default_rng(seed))
        rng = np.random.default_rng(seed + 1)
        opt = Adam(model.params, model.grads, lr=lr)
        step = 0
        for _ in range(epochs):
            order = rng.permutation(x_train.shape[0])
            for i in range(0, x_train.shape[0], batch_size):
                xb = x_train[order[i:i + batch_size]]
                eps = rng.standard_normal((xb.shape[0], z_dim), dtype=np.float32)
                if remedy == "free_bits":
                    free_bits_loss_and_grads(model, xb, free_bits, eps, beta=beta)
                else:
                    w = kl_weight(step, beta, warmup_epochs * steps_per_epoch if remedy == "warmup" else 0)
                    model.loss_and_grads(xb, eps, beta=w)
                opt.step()
                step += 1
        out[remedy] = CollapseRun(remedy, float(evaluate(model, x_test)["loss"]),
                                  active_units(model, x_test), kl_per_dimension(model, x_test))
    return out
