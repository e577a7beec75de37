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

from .._checks import as_float_array, check_positive_int
from ..vae.objectives import FreeBits, free_bits_kl, free_bits_kl_grad
from .diagnostics import ActiveUnits, active_units, kl_per_dimension

__all__ = ["free_bits_kl", "free_bits_kl_grad", "free_bits_loss_and_grads", "CollapseRun",
           "compare_collapse_remedies"]


def free_bits_loss_and_grads(model, x, lam: float, eps=None, rng=None, *, beta: float = 1.0):
    r"""Loss :math:`-\frac1N\sum_n\log p(x_n\mid z_n) + \beta\sum_j\max(\lambda,\overline{\mathrm{KL}}_j)`
    of a VAE-like ``model`` and its gradient, written into ``model.grads``
    (:class:`elbo_edu.vae.objectives.FreeBits`: chapter 09's pieces with the KL clamped).
    Returns ``(loss, recon, kl)`` where ``kl`` is the true mean KL (not the clamped one)."""
    try:
        objective = FreeBits(model, 1, lam)
    except ValueError:
        raise ValueError(f"lam: expected a finite number >= 0 (nats per dimension), "
                         f"got {lam!r}") from None
    t = objective.terms(x, eps, rng, beta=beta, backward=True)
    return t.loss, t.recon, t.kl


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
    Every run is :func:`elbo_edu.train.fit`. Returns ``{remedy: CollapseRun}``.
    """
    from ..train import evaluate, fit, kl_weight
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
        warm = warmup_epochs * steps_per_epoch if remedy == "warmup" else 0
        objective = FreeBits(model, 1, free_bits) if remedy == "free_bits" else model
        fit(objective, x_train, epochs=epochs, batch_size=batch_size, lr=lr,
            rng=np.random.default_rng(seed + 1), beta=lambda step: kl_weight(step, beta, warm))
        out[remedy] = CollapseRun(remedy, float(evaluate(model, x_test)["loss"]),
                                  active_units(model, x_test), kl_per_dimension(model, x_test))
    return out
