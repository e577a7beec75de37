"""The module contract every layer of the package follows (chapter 02, D2.4).

A module holds its parameters in ``params`` and their gradients in ``grads`` (two dicts with the
same keys and array shapes). ``forward(x)`` computes the output and remembers what the backward pass
needs; ``backward(dy)`` receives the gradient of the loss with respect to the output, **adds** the
gradients of the parameters into ``grads`` and returns the gradient with respect to the input. This
is the chain rule written out by hand, one layer at a time: no automatic differentiation.
"""
from __future__ import annotations

import numpy as np

__all__ = ["Module"]


class Module:
    """Base class of all layers.

    Attributes
    ----------
    params : dict[str, ndarray]
        The trainable arrays, updated in place by an optimizer.
    grads : dict[str, ndarray]
        Gradients with the same keys and shapes as ``params``; ``backward`` accumulates into them.
    dtype : numpy dtype
        The floating-point type of the parameters and of the computation.
    """

    def __init__(self, dtype=np.float32):
        self.dtype = np.dtype(dtype)
        if not np.issubdtype(self.dtype, np.floating):
            raise ValueError(f"dtype: expected a floating-point dtype, got {self.dtype}")
        self._own_params: dict[str, np.ndarray] = {}
        self._own_grads: dict[str, np.ndarray] = {}
        self._children: dict[str, Module] = {}
        self._cache = None

    # -- parameters: own ones plus the children's under dotted names ---------------------------
    @property
    def params(self) -> dict[str, np.ndarray]:
        """All trainable arrays, the children's under dotted names (``encoder.0.W``)."""
        return self._collect("_own_params", "params")

    @property
    def grads(self) -> dict[str, np.ndarray]:
        """Gradients, same keys and shapes as :attr:`params`."""
        return self._collect("_own_grads", "grads")

    def _collect(self, own: str, attr: str) -> dict[str, np.ndarray]:
        out = dict(getattr(self, own))
        for cname, child in self._children.items():
            for k, v in getattr(child, attr).items():
                out[f"{cname}.{k}"] = v
        return out

    def add_module(self, name: str, module: "Module") -> "Module":
        """Register ``module`` as a child whose parameters appear under ``name.``."""
        if not isinstance(module, Module):
            raise ValueError(f"module: expected an elbo_edu.nn.Module, got {type(module).__name__}")
        self._children[str(name)] = module
        return module

    def children(self) -> dict[str, "Module"]:
        """The registered sub-modules, by name."""
        return dict(self._children)

    # -- the contract -------------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Compute the output for input ``x`` and keep what ``backward`` needs."""
        raise NotImplementedError

    def backward(self, dy: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Accumulate parameter gradients and return the gradient with respect to the input."""
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def zero_grad(self) -> None:
        """Set every gradient to zero, in place (the arrays stay the same objects)."""
        for g in self.grads.values():
            g.fill(0)

    # -- helpers for subclasses ---------------------------------------------------------------
    def _add_param(self, name: str, value: np.ndarray) -> None:
        """Register a parameter and a zero gradient of the same shape and dtype."""
        # a C-ordered copy of the parameter's own shape (0-d scalars stay 0-d)
        self._own_params[name] = np.array(value, dtype=self.dtype, order="C")
        self._own_grads[name] = np.zeros_like(self._own_params[name])

    def _save(self, *arrays) -> None:
        self._cache = arrays

    def _saved(self):
        """Return what ``forward`` saved, or raise if there was no forward pass."""
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called without a preceding forward")
        cache, self._cache = self._cache, None
        return cache

    def _check_dy(self, dy: np.ndarray, shape: tuple) -> np.ndarray:
        dy = np.asarray(dy)
        if dy.shape != shape:
            raise ValueError(f"dy: expected shape {shape} (the shape of the forward output), "
                             f"got {dy.shape}")
        return dy

    def num_parameters(self) -> int:
        """Total number of scalar parameters."""
        return int(sum(p.size for p in self.params.values()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
