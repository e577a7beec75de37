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
from ..optim import Adam

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
        """Minimise the cross-entropy; returns each epoch's mean training loss."""
        x, y = self._x(x), np.asarray(y)
        rng = np.random.default_rng(self.seed)
        opt = Adam(self.net.params, self.net.grads, lr=lr)
        hist = []
        for _ in range(check_positive_int(epochs, "epochs")):
            order, total = rng.permutation(len(x)), 0.0
            for i in range(0, len(x), batch_size):
                idx = order[i:i + batch_size]
                self.net.zero_grad()
                loss, dlogits = nn.softmax_cross_entropy(self.net.forward(x[idx]), y[idx])
                self.net.backward(dlogits.astype(np.float32))
                opt.step()
                total += loss * idx.size
            hist.append(total / len(x))
        return hist

    def predict(self, x) -> np.ndarray:
        """The most probable class of each row, (N,) integers."""
        return np.argmax(self.net.forward(self._x(x)), axis=1)

    def accuracy(self, x, y) -> float:
        """Fraction of rows whose predicted class equals ``y``."""
        return float(np.mean(self.predict(x) == np.asarray(y)))
