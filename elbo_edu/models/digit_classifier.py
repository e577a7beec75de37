r"""A small softmax classifier used as an independent judge of generated digits (chapter 13, D13.1).

A network :math:`p(y\mid x) = \mathrm{Cat}(\mathrm{softmax}(\mathrm{MLP}(x)))` trained by Adam on
the mean cross-entropy (chapter 02, D2.1). It never sees a generated image during training, so
"the conditional VAE asked for a 7 produced something this classifier calls a 7" is a check that
can fail.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from .._checks import as_float_array, check_positive_int

__all__ = ["DigitClassifier"]


class DigitClassifier:
    """``fit(x, y)`` then ``predict(x)`` (N,) or ``accuracy(x, y)``; ``net`` is an ``nn.mlp``."""

    def __init__(self, x_dim: int, n_classes: int = 10, hidden=(128,), *, seed: int = 0):
        self.x_dim, self.n_classes = check_positive_int(x_dim, "x_dim"), check_positive_int(n_classes, "n_classes")
        self.seed = int(seed)
        self.net = nn.mlp((self.x_dim, *hidden, self.n_classes), nn.ReLU,
                          rng=np.random.default_rng(seed), dtype=np.float32)

    def _x(self, x):
        x = as_float_array(x, "x")
        if x.ndim != 2 or x.shape[1] != self.x_dim:
            raise ValueError(f"x: expected shape (N, {self.x_dim}), got {x.shape}")
        return x.astype(np.float32, copy=False)

    def fit(self, x, y, *, epochs: int = 5, batch_size: int = 128, lr: float = 1e-3) -> list:
        """Minimise the cross-entropy by :func:`elbo_edu.train.fit`; returns each epoch's mean
        training loss."""
        from ..train import fit

        return fit(self, (self._x(x), np.asarray(y)), epochs=epochs, batch_size=batch_size,
                   lr=lr, order_rng=np.random.default_rng(self.seed))

    @property
    def params(self):
        return self.net.params

    @property
    def grads(self):
        return self.net.grads

    def loss_and_grads(self, x, y):
        """Mean cross-entropy of a batch and its gradient (``net.grads``, replaced)."""
        self.net.zero_grad()
        loss, dlogits = nn.softmax_cross_entropy(self.net.forward(x), y)
        self.net.backward(dlogits.astype(np.float32))
        return loss, self.net.grads

    def predict(self, x) -> np.ndarray:
        """The most probable class of each row, (N,) integers."""
        return np.argmax(self.net.forward(self._x(x)), axis=1)

    def accuracy(self, x, y) -> float:
        """Fraction of rows whose predicted class equals ``y``."""
        return float(np.mean(self.predict(x) == np.asarray(y)))
