r"""Softmax cross-entropy: the loss of a categorical model p(y|x) = Cat(softmax(NN(x)))
(chapter 02, D2.1).

The mean negative log-likelihood over a batch of N rows and its gradient with respect to the logits:

.. math:: L = -\frac1N\sum_n \log\mathrm{softmax}(\ell_n)_{y_n},\qquad
          \frac{\partial L}{\partial \ell_n} = \frac1N\big(\mathrm{softmax}(\ell_n)
          - \mathrm{onehot}(y_n)\big)

The log-probability itself lives in :mod:`elbo_edu.distributions` (one source of truth).
"""
from __future__ import annotations

import numpy as np

from ..distributions import categorical_log_prob, categorical_log_prob_grad

__all__ = ["SoftmaxCrossEntropy", "softmax_cross_entropy"]


def softmax_cross_entropy(logits, y):
    """Mean cross-entropy and its gradient.

    Parameters
    ----------
    logits : array (N, K)
    y : int array (N,)

    Returns
    -------
    loss : float
    dlogits : array (N, K)
    """
    logits = np.asarray(logits)
    if logits.ndim != 2:
        raise ValueError(f"logits: expected shape (N, K), got {logits.shape}")
    n = logits.shape[0]
    loss = -float(np.mean(categorical_log_prob(y, logits)))
    (dlogits,) = categorical_log_prob_grad(y, logits, grad_out=np.full(n, -1.0 / n))
    return loss, dlogits


class SoftmaxCrossEntropy:
    """Loss object: ``loss = ce.forward(logits, y)`` then ``dlogits = ce.backward()``."""

    def __init__(self):
        self._dlogits = None

    def forward(self, logits, y) -> float:
        loss, self._dlogits = softmax_cross_entropy(logits, y)
        return loss

    __call__ = forward

    def backward(self) -> np.ndarray:
        if self._dlogits is None:
            raise RuntimeError("SoftmaxCrossEntropy.backward called without a preceding forward")
        d, self._dlogits = self._dlogits, None
        return d
