"""Hand-written neural-network layers with explicit backward passes (chapter 02).

Every layer follows the module contract of :class:`Module`: ``params``/``grads`` dicts,
``forward(x)``, ``backward(dy)``, ``zero_grad()``. :class:`Dense` is the layer with a named,
fused activation that :func:`mlp` builds; :class:`Linear` and the activation modules are the
same pieces one at a time.
"""
from .activations import (ACTIVATION_MODULES, Activation, Identity, LeakyReLU, ReLU, Sigmoid,
                          Softplus, Tanh)
from .dense import Dense, mlp
from .linear import Linear
from .losses import SoftmaxCrossEntropy, softmax_cross_entropy
from .module import Module, Sequential

__all__ = ["Module", "Dense", "Linear", "Activation", "ReLU", "LeakyReLU", "Tanh", "Sigmoid",
           "Softplus", "Identity", "ACTIVATION_MODULES", "Sequential", "mlp",
           "SoftmaxCrossEntropy", "softmax_cross_entropy"]
