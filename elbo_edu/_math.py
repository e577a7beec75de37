"""Numerically stable scalar functions shared by layers, densities and estimators."""
from __future__ import annotations

import numpy as np

__all__ = ["sigmoid", "softplus", "logsumexp"]


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function :math:`1/(1+e^{-x})` without overflow for large ``|x|``."""
    x = np.asarray(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def softplus(x: np.ndarray) -> np.ndarray:
    """:math:`\\log(1 + e^x)` computed as :math:`\\max(x,0) + \\log(1+e^{-|x|})` (never overflows)."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def logsumexp(a: np.ndarray, axis: int = -1) -> np.ndarray:
    """:math:`\\log\\sum e^{a}` along ``axis``, shifted by the maximum so nothing overflows."""
    a = np.asarray(a)
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(a - m), axis=axis))
