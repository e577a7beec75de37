"""Hand-written neural-network layers with explicit backward passes (chapter 02).

Every layer follows the module contract of :class:`Module`: ``params``/``grads`` dicts,
``forward(x)``, ``backward(dy)``, ``zero_grad()``.
"""
from .activations import Identity, LeakyReLU, ReLU, Sigmoid, Softplus, Tanh, sigmoid, softplus
from .linear import Linear
from .losses import SoftmaxCrossEntropy, softmax_cross_entropy
from .module import Module
from .sequential import Sequential, mlp

__all__ = ["Module", "Linear", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Softplus", "Identity",
           "Sequential", "mlp", "SoftmaxCrossEntropy", "softmax_cross_entropy", "sigmoid",
           "softplus"]
