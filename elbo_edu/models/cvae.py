r"""The conditional VAE: encoder and decoder both see a label (chapter 13, D13.1).

Sohn, Lee & Yan, *Learning Structured Output Representation using Deep Conditional Generative
Models* (2015); Doersch, *Tutorial on Variational Autoencoders* (2016), §4. With a label y
(one-hot :math:`e_y` of C classes) the model is :math:`z\sim\mathcal N(0,I)`,
:math:`x\mid z,y\sim p_\theta(x\mid z,y)`, the approximate posterior is :math:`q_\phi(z\mid x,y)`,
and the same steps as chapter 06 bound the *conditional* evidence:

.. math:: \log p_\theta(x\mid y)\ \ge\ \mathbb E_{q_\phi(z\mid x,y)}\big[\log p_\theta(x\mid z,y)\big]
          - \mathrm{KL}\big(q_\phi(z\mid x,y)\,\|\,p(z)\big).

The networks are chapter 09's with the one-hot label concatenated to their input:
encoder :math:`[x, e_y]\to[\mu,\log\sigma^2]`, decoder :math:`[z, e_y]\to` Bernoulli logits.
The loss and its backward are chapter 09's pieces with a conditioning input
(:func:`elbo_edu.vae.objectives.objective_terms` with ``cond``): the decoder's input gradient is split
and only its z part is passed on (the label is data). To generate a digit of class y: draw :math:`z\sim\mathcal N(0,I)`
and decode :math:`[z, e_y]`.
"""
from __future__ import annotations

import numpy as np

from .. import nn, special
from .._checks import as_float_array, check_positive_int, check_probability_targets, check_rng
from ..vae.likelihoods import make_likelihood
from ..vae.objectives import ELBO

__all__ = ["CVAE", "one_hot", "fit_cvae"]


def one_hot(y, n_classes: int, dtype=np.float32) -> np.ndarray:
    """Integer labels (N,) in ``[0, n_classes)`` -> one-hot rows (N, n_classes)."""
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y: expected a 1-D array of integer labels, got dtype {y.dtype}, "
                         f"shape {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"y: expected labels in [0, {n_classes}), got values in "
                         f"[{y.min()}, {y.max()}]")
    out = np.zeros((y.size, n_classes), dtype=dtype)
    out[np.arange(y.size), y] = 1
    return out


class CVAE(nn.Module):
    r"""Conditional VAE with Bernoulli pixels (D13.1).

    Parameters
    ----------
    x_dim, z_dim, n_classes : int
    hidden : tuple of int
        Encoder widths; the decoder mirrors them.
    dtype, rng : as for :class:`elbo_edu.vae.VAE`.

    Attributes
    ----------
    encoder : Sequential ``(N, x_dim + C) -> (N, 2 z_dim)``
    decoder : Sequential ``(N, z_dim + C) -> (N, x_dim)`` (logits)
    """

    def __init__(self, x_dim: int, z_dim: int, n_classes: int = 10, hidden=(256,), *,
                 dtype=np.float32, rng: np.random.Generator | None = None):
        super().__init__(dtype)
        self.x_dim, self.z_dim = check_positive_int(x_dim, "x_dim"), check_positive_int(z_dim, "z_dim")
        self.n_classes = check_positive_int(n_classes, "n_classes")
        self.hidden = tuple(check_positive_int(h, "hidden") for h in hidden)
        self.rng = np.random.default_rng() if rng is None else check_rng(rng)
        c = self.n_classes
        self.encoder = self.add_module("encoder", nn.mlp(
            (self.x_dim + c, *self.hidden, 2 * self.z_dim), nn.ReLU, rng=self.rng, dtype=self.dtype))
        self.decoder = self.add_module("decoder", nn.mlp(
            (self.z_dim + c, *self.hidden[::-1], self.x_dim), nn.ReLU, rng=self.rng, dtype=self.dtype))
        self.likelihood = make_likelihood("bernoulli")
        self.beta = 1.0
        self.last = None
        self.last_recon: float | None = None      # the two terms of the last loss, nats per example
        self.last_kl: float | None = None

    # -- inputs ------------------------------------------------------------------------------
    def _xy(self, x, y):
        x = self.check_input(x)
        e = one_hot(y, self.n_classes, self.dtype)
        if e.shape[0] != x.shape[0]:
            raise ValueError(f"y: expected {x.shape[0]} labels (one per row of x), got {e.shape[0]}")
        return x, e

    # -- the pieces --------------------------------------------------------------------------
    def encode(self, x, y):
        """``(mu, logvar)`` of :math:`q(z\\mid x, y)`, each (N, z_dim)."""
        x, e = self._xy(x, y)
        h = self.encoder.forward(np.concatenate([x, e], axis=1))
        return h[:, :self.z_dim], h[:, self.z_dim:]

    def decode(self, z, y):
        """Bernoulli logits of :math:`p(x\\mid z, y)`: ``z`` (N, z_dim), ``y`` (N,) -> (N, x_dim)."""
        z = as_float_array(z, "z").astype(self.dtype, copy=False)
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z: expected shape (N, {self.z_dim}), got {z.shape}")
        e = one_hot(y, self.n_classes, self.dtype)
        if e.shape[0] != z.shape[0]:
            raise ValueError(f"y: expected {z.shape[0]} labels (one per row of z), got {e.shape[0]}")
        return self.decoder.forward(np.concatenate([z, e], axis=1))

    def sample(self, y, rng=None) -> np.ndarray:
        """One digit per label in ``y`` (N,): :math:`z\\sim\\mathcal N(0,I)` decoded with its label,
        returned as Bernoulli means (N, x_dim)."""
        y = np.asarray(y)
        rng = self.rng if rng is None else check_rng(rng)
        z = rng.standard_normal((y.size, self.z_dim), dtype=self.dtype)
        return special.sigmoid(self.decode(z, y))

    # -- the objective: chapter 09's pieces with a conditioning input (elbo_edu.vae.objectives) ----
    def check_input(self, x, name: str = "x") -> np.ndarray:
        """``x`` (N, x_dim) checked (values in [0, 1]) as a C-contiguous array of the model's dtype."""
        x = as_float_array(x, name)
        if x.ndim != 2 or x.shape[1] != self.x_dim:
            raise ValueError(f"{name}: expected shape (N, {self.x_dim}), got {x.shape}")
        check_probability_targets(x, name)
        return np.ascontiguousarray(x, dtype=self.dtype)

    def loss(self, x, y, eps=None, rng=None) -> float:
        """Negative conditional ELBO averaged over the batch (one sample of z per row)."""
        return self._objective(x, y, eps, rng, backward=False)

    def loss_and_grads(self, x, y, eps=None, rng=None):
        """:meth:`loss` and its gradient, written into ``grads``; returns ``(loss, grads)``."""
        return self._objective(x, y, eps, rng, backward=True), self.grads

    def _objective(self, x, y, eps, rng, backward: bool) -> float:
        x, e = self._xy(x, y)
        t = ELBO(self).terms(x, eps, rng, cond=e, backward=backward)
        self.last_recon, self.last_kl = t.recon, t.kl
        return t.loss


def fit_cvae(model: CVAE, x, y, *, epochs: int, batch_size: int = 128, lr: float = 1e-3,
             seed: int = 0) -> list:
    """Adam on the negative conditional ELBO (:func:`elbo_edu.train.fit`); returns the mean
    training loss of each epoch."""
    from ..train import fit

    return fit(model, (np.asarray(x, dtype=model.dtype), np.asarray(y)), epochs=epochs,
               batch_size=batch_size, lr=lr, rng=np.random.default_rng(seed))
