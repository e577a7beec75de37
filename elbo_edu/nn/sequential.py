"""A chain of modules applied in order; backward runs the chain in reverse (chapter 02, D2.4)."""
from __future__ import annotations

import numpy as np

from .module import Module

__all__ = ["Sequential"]


class Sequential(Module):
    """Compose modules: ``Sequential(Linear(2, 8), ReLU(), Linear(8, 1))``.

    Parameters appear under dotted names, the position of the layer first: ``0.W``, ``0.b``,
    ``2.W``, ... (a ``Sequential`` stored as ``encoder`` in a model gives ``encoder.0.W``).

    A ``Linear`` followed by an activation with a kernel (ReLU, Tanh, ...) runs as one fused step
    (:meth:`Linear.forward_act`): the same numbers, one pass over the memory instead of three.
    Each layer remains a module of its own and can still be called and checked alone.
    """

    def __init__(self, *modules: Module):
        dtypes = {m.dtype for m in modules if m.params}
        super().__init__(dtypes.pop() if len(dtypes) == 1 else np.float32)
        if not modules:
            raise ValueError("modules: expected at least one module")
        for i, m in enumerate(modules):
            self.add_module(str(i), m)
        self.layers = list(modules)
        self._plan = self._fusion_plan(self.layers)

    @staticmethod
    def _fusion_plan(layers):
        """Steps ``(layer, act)``: ``act`` is the kernel name of a fused following activation."""
        from .linear import Linear

        plan, i = [], 0
        while i < len(layers):
            m, nxt = layers[i], layers[i + 1] if i + 1 < len(layers) else None
            if isinstance(m, Linear) and "kernel" in type(nxt).__dict__:
                plan.append((m, nxt))
                i += 2
            else:
                plan.append((m, None))
                i += 1
        return plan

    def forward(self, x: np.ndarray) -> np.ndarray:
        for m, act in self._plan:
            x = m.forward(x) if act is None else m.forward_act(x, act.kernel, act.slope)
        return x

    def backward(self, dy: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """Run the chain backwards. ``input_grad=False`` (the input is data) lets a first
        ``Linear`` skip the gradient with respect to its input; then ``None`` is returned."""
        from .linear import Linear

        for i in range(len(self._plan) - 1, -1, -1):
            m, act = self._plan[i]
            skip = i == 0 and not input_grad and isinstance(m, Linear)
            if act is None:
                dy = m.backward(dy, input_grad=False) if skip else m.backward(dy)
            else:
                dy = m.backward_act(dy, input_grad=not skip)
        return dy

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]

    def __repr__(self) -> str:
        inner = ",\n".join(f"  ({i}): {m!r}" for i, m in enumerate(self.layers))
        return f"Sequential(\n{inner}\n)"


def mlp(sizes, activation=None, *, out_activation=None, rng=None, dtype=np.float32) -> Sequential:
    """Build ``Linear -> activation -> ... -> Linear`` for widths ``sizes = (n_in, h1, ..., n_out)``.

    ``activation`` is a zero-argument factory (a class such as ``ReLU``); ``out_activation``
    optionally follows the last layer.
    """
    from .activations import ReLU
    from .linear import Linear

    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes: expected at least an input and an output width, got {sizes}")
    activation = ReLU if activation is None else activation
    layers: list[Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(a, b, rng=rng, dtype=dtype))
        if i < len(sizes) - 2:
            layers.append(activation())
    if out_activation is not None:
        layers.append(out_activation())
    return Sequential(*layers)


__all__.append("mlp")
