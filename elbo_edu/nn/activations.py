r"""Element-wise activations, each a module of its own so it can be gradient-checked alone
(chapter 02, D2.4).

Each backward multiplies the upstream gradient by the derivative of the activation, written in terms
of what forward already computed:

=========  ==========================================  ==========================================
module     forward :math:`y = f(x)`                    derivative :math:`f'(x)`
=========  ==========================================  ==========================================
ReLU       :math:`\max(x, 0)`                          :math:`[x > 0]`
LeakyReLU  :math:`x` if :math:`x>0` else :math:`ax`    :math:`1` or :math:`a`
Tanh       :math:`\tanh x`                             :math:`1 - y^2`
Sigmoid    :math:`1/(1+e^{-x})`                        :math:`y(1-y)`
Softplus   :math:`\log(1+e^{x})`                       :math:`\sigma(x)`
Identity   :math:`x`                                   :math:`1`
=========  ==========================================  ==========================================
"""
from __future__ import annotations

import numpy as np

from .._math import sigmoid, softplus
from .module import Module

__all__ = ["ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Softplus", "Identity", "sigmoid", "softplus"]


class _Elementwise(Module):
    """Shared plumbing: save what forward needs, check the upstream shape in backward.

    ``kernel`` names the same function in :data:`elbo_edu.kernels.ACTIVATIONS`, so a
    :class:`~elbo_edu.nn.Sequential` can fuse ``Linear -> activation`` into one kernel pass.
    """

    kernel: str | None = None
    slope = 0.01

    def __init__(self):
        super().__init__(np.float64)  # activations have no parameters; they keep the input dtype

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        y = self._f(x)
        self._save(x, y)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        x, y = self._saved()
        dy = self._check_dy(dy, x.shape)
        return dy * self._df(x, y)

    def _f(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def _df(self, x, y):  # pragma: no cover - abstract
        raise NotImplementedError


class ReLU(_Elementwise):
    """Rectified linear unit :math:`\\max(x, 0)` (derivative taken as 0 at 0)."""

    kernel = "relu"

    def _f(self, x):
        return np.maximum(x, 0)

    def _df(self, x, y):
        return (x > 0).astype(x.dtype)


class LeakyReLU(_Elementwise):
    """:math:`x` for positive inputs and ``slope * x`` otherwise."""

    kernel = "leaky_relu"

    def __init__(self, slope: float = 0.01):
        super().__init__()
        if not np.isfinite(slope) or slope < 0:
            raise ValueError(f"slope: expected a finite non-negative number, got {slope!r}")
        self.slope = float(slope)

    def _f(self, x):
        return np.where(x > 0, x, x * x.dtype.type(self.slope))

    def _df(self, x, y):
        return np.where(x > 0, x.dtype.type(1), x.dtype.type(self.slope))

    def __repr__(self):
        return f"LeakyReLU(slope={self.slope})"


class Tanh(_Elementwise):
    """Hyperbolic tangent; derivative :math:`1 - \\tanh^2 x`."""

    kernel = "tanh"

    def _f(self, x):
        return np.tanh(x)

    def _df(self, x, y):
        return 1 - y * y


class Sigmoid(_Elementwise):
    """Logistic function; derivative :math:`\\sigma(x)(1 - \\sigma(x))`."""

    kernel = "sigmoid"

    def _f(self, x):
        return sigmoid(x)

    def _df(self, x, y):
        return y * (1 - y)


class Softplus(_Elementwise):
    """:math:`\\log(1 + e^x)`, a smooth ReLU; derivative :math:`\\sigma(x)`."""

    kernel = "softplus"

    def _f(self, x):
        return softplus(x)

    def _df(self, x, y):
        return sigmoid(x)


class Identity(_Elementwise):
    """The identity map (useful as a placeholder output activation)."""

    kernel = "identity"

    def _f(self, x):
        return x

    def _df(self, x, y):
        return np.ones_like(x)
