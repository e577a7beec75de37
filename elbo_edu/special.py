r"""Numerically stable elementary functions shared by layers, densities and estimators (public).

``sigmoid``, ``softplus`` and ``logsumexp`` never overflow for large arguments;
``flush_subnormal`` sets numbers below the smallest normal float to zero (see the README's
Performance section: subnormal arithmetic is many times slower on x86, so the hot loops never
keep one). The chapters import these from here.
"""
from __future__ import annotations

import numpy as np

__all__ = ["LOG_2PI", "sigmoid", "softplus", "logsumexp", "flush_subnormal"]

#: :math:`\log 2\pi`, the constant of every Gaussian log-density (defined here only).
LOG_2PI = float(np.log(2.0 * np.pi))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function :math:`1/(1+e^{-x})` without overflow for large ``|x|``."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):  # integers and booleans: a float result
        x = x.astype(np.float64)
    e = np.exp(-np.abs(x))                  # e^{-|x|} <= 1: never overflows
    return (np.where(x >= 0, 1, e) / (1 + e)).astype(x.dtype, copy=False)


def softplus(x: np.ndarray) -> np.ndarray:
    """:math:`\\log(1 + e^x)` computed as :math:`\\max(x,0) + \\log(1+e^{-|x|})` (never overflows)."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def logsumexp(a: np.ndarray, axis: int = -1) -> np.ndarray:
    """:math:`\\log\\sum e^{a}` along ``axis``, shifted by the maximum so nothing overflows.

    Every entry ``-inf`` gives ``-inf`` (the log of an empty sum), without a warning.

    Raises
    ------
    ValueError
        If ``a`` has no entry along ``axis`` (the sum would be empty), or ``axis`` is out of range.
    """
    a = np.asarray(a)
    if a.ndim == 0 or not -a.ndim <= axis < a.ndim:
        raise ValueError(f"axis: expected an axis of an array with {a.ndim} dimension(s), "
                         f"got {axis}")
    if a.shape[axis] == 0:
        raise ValueError(f"a: expected at least one value along axis {axis}, got shape {a.shape}")
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # log 0 = -inf, no warning
        return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(a - m), axis=axis))


def flush_subnormal(a: np.ndarray) -> np.ndarray:
    """Set every entry of the float array ``a`` with ``0 < |a| < np.finfo(a.dtype).tiny`` to zero,
    in place, and return ``a``. Normal numbers, zeros, infinities and NaN are left as they are."""
    tiny = np.finfo(a.dtype).tiny
    a[np.abs(a) < tiny] = 0
    return a
