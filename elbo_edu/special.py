r"""Numerically stable elementary functions shared by layers, densities and estimators (public).

``sigmoid``, ``softplus`` and ``logsumexp`` never overflow for large arguments; the activations
of chapter 02 are written here once, each beside its derivative (expressed through the output
``y = f(x)``, so a backward pass needs only what forward returned), and :data:`ACTIVATIONS` maps
their names to the pair — :mod:`elbo_edu.nn.activations` wraps them as modules and the NumPy
backend of :mod:`elbo_edu.kernels` runs them;
``flush_subnormal`` sets numbers below the smallest normal float to zero (see the README's
Performance section: subnormal arithmetic is many times slower on x86, so the hot loops never
keep one). The chapters import these from here.
"""
from __future__ import annotations

import numpy as np

__all__ = ["LOG_2PI", "sigmoid", "softplus", "logsumexp", "flush_subnormal", "ACTIVATIONS",
           "identity", "identity_derivative", "relu", "relu_derivative", "leaky_relu",
           "leaky_relu_derivative", "tanh", "tanh_derivative", "sigmoid_derivative",
           "softplus_derivative"]

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


# ------------------------------------------------------------- activations (chapter 02, D2.4)
# Each ``f(x, slope)`` and ``f_derivative(y, slope)`` with y = f(x); ``slope`` is used by
# leaky_relu only (the others accept it so that every activation has one signature).
def identity(x, slope=None):
    """:math:`f(x) = x`."""
    return x


def identity_derivative(y, slope=None):
    """:math:`f'(x) = 1`."""
    return np.ones_like(y)


def relu(x, slope=None):
    """:math:`f(x) = \\max(x, 0)`."""
    return np.maximum(x, x.dtype.type(0))


def relu_derivative(y, slope=None):
    """:math:`f'(x) = [y > 0]` (taken as 0 at the kink)."""
    return (y > 0).astype(y.dtype)


def leaky_relu(x, slope):
    """:math:`f(x) = x` for :math:`x > 0`, ``slope * x`` otherwise."""
    return np.where(x > 0, x, x * x.dtype.type(slope))


def leaky_relu_derivative(y, slope):
    """:math:`f'(x) = 1` if :math:`y > 0`, else ``slope``."""
    return np.where(y > 0, y.dtype.type(1), y.dtype.type(slope))


def tanh(x, slope=None):
    """:math:`f(x) = \\tanh x`."""
    return np.tanh(x)


def tanh_derivative(y, slope=None):
    """:math:`f'(x) = 1 - y^2`."""
    return 1 - y * y


def sigmoid_derivative(y, slope=None):
    """Of :func:`sigmoid`: :math:`f'(x) = y(1 - y)`."""
    return y * (1 - y)


def softplus_derivative(y, slope=None):
    """Of :func:`softplus`: :math:`f'(x) = \\sigma(x) = 1 - e^{-y}`."""
    return -np.expm1(-y)


#: The activations by their name at the seam: ``name -> (function, derivative)``.
ACTIVATIONS = {
    "identity": (identity, identity_derivative),
    "relu": (relu, relu_derivative),
    "leaky_relu": (leaky_relu, leaky_relu_derivative),
    "tanh": (tanh, tanh_derivative),
    "sigmoid": (lambda x, slope=None: sigmoid(x), sigmoid_derivative),
    "softplus": (lambda x, slope=None: softplus(x), softplus_derivative),
}
