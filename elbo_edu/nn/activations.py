r"""Element-wise activations, each a module of its own so it can be gradient-checked alone
(chapter 02, D2.4).

Each activation is two formulas, ``function(x, slope)`` and ``derivative(y, slope)``, written
once in :mod:`elbo_edu.special` (:data:`~elbo_edu.special.ACTIVATIONS`) and used here as the
module's static methods; the derivative is expressed through the *output* :math:`y = f(x)`, so
backward needs only what forward returned. The NumPy backend of :mod:`elbo_edu.kernels` runs the
same two functions (a :class:`~elbo_edu.nn.Dense` layer's ``activation=`` argument names one of
them), the numba backend fuses the same formulas into the bias addition.

=========  ==========================================  ==========================================
module     forward :math:`y = f(x)`                    derivative :math:`f'(x)` through :math:`y`
=========  ==========================================  ==========================================
ReLU       :math:`\max(x, 0)`                          :math:`[y > 0]`
LeakyReLU  :math:`x` if :math:`x>0` else :math:`ax`    :math:`1` if :math:`y>0` else :math:`a`
Tanh       :math:`\tanh x`                             :math:`1 - y^2`
Sigmoid    :math:`1/(1+e^{-x})`                        :math:`y(1-y)`
Softplus   :math:`\log(1+e^{x})`                       :math:`\sigma(x) = 1 - e^{-y}`
Identity   :math:`x`                                   :math:`1`
=========  ==========================================  ==========================================
"""
from __future__ import annotations

import numpy as np

from .. import special as S
from .module import Module

__all__ = ["Activation", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Softplus", "Identity",
           "ACTIVATION_MODULES"]


class Activation(Module):
    """An element-wise activation module: ``forward`` applies :meth:`function`, ``backward``
    multiplies by :meth:`derivative` of the saved output. ``name`` is its name at the seam."""

    name = ""
    slope = 0.01

    def __init__(self):
        super().__init__(np.float64)  # activations have no parameters; they keep the input dtype

    @staticmethod
    def function(x, slope):  # pragma: no cover - abstract
        """:math:`y = f(x)`, element-wise."""
        raise NotImplementedError

    @staticmethod
    def derivative(y, slope):  # pragma: no cover - abstract
        """:math:`f'(x)` written through :math:`y = f(x)`, element-wise."""
        raise NotImplementedError

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = self.function(np.asarray(x), self.slope)
        self._save(y)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        (y,) = self._saved()
        dy = self._check_dy(dy, y.shape)
        dx = dy * self.derivative(y, self.slope)
        self._release()
        return dx


class ReLU(Activation):
    """Rectified linear unit :math:`\\max(x, 0)` (derivative taken as 0 at 0)."""

    name = "relu"
    function, derivative = map(staticmethod, S.ACTIVATIONS["relu"])


class LeakyReLU(Activation):
    """:math:`x` for positive inputs and ``slope * x`` otherwise."""

    name = "leaky_relu"
    function, derivative = map(staticmethod, S.ACTIVATIONS["leaky_relu"])

    def __init__(self, slope: float = 0.01):
        super().__init__()
        if not np.isfinite(slope) or slope < 0:
            raise ValueError(f"slope: expected a finite non-negative number, got {slope!r}")
        self.slope = float(slope)

    def __repr__(self):
        return f"LeakyReLU(slope={self.slope})"


class Tanh(Activation):
    """Hyperbolic tangent; derivative :math:`1 - \\tanh^2 x`."""

    name = "tanh"
    function, derivative = map(staticmethod, S.ACTIVATIONS["tanh"])


class Sigmoid(Activation):
    """Logistic function; derivative :math:`\\sigma(x)(1 - \\sigma(x))`."""

    name = "sigmoid"
    function, derivative = map(staticmethod, S.ACTIVATIONS["sigmoid"])


class Softplus(Activation):
    """:math:`\\log(1 + e^x)`, a smooth ReLU; derivative :math:`\\sigma(x) = 1 - e^{-y}`."""

    name = "softplus"
    function, derivative = map(staticmethod, S.ACTIVATIONS["softplus"])


class Identity(Activation):
    """The identity map (useful as a placeholder output activation)."""

    name = "identity"
    function, derivative = map(staticmethod, S.ACTIVATIONS["identity"])


#: Activation modules by their name at the seam (``Dense(..., activation=name)``).
ACTIVATION_MODULES = {cls.name: cls for cls in (Identity, ReLU, LeakyReLU, Tanh, Sigmoid,
                                                Softplus)}
