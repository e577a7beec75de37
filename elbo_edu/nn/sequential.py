"""A chain of modules applied in order; backward runs the chain in reverse (chapter 02, D2.4)."""
from __future__ import annotations

import numpy as np

from .dense import Dense
from .module import Module

__all__ = ["Sequential", "mlp"]


class Sequential(Module):
    """Compose modules: ``Sequential(Linear(2, 8), ReLU(), Linear(8, 1))``.

    Parameters appear under dotted names, the position of the layer first: ``0.W``, ``0.b``,
    ``2.W``, ... (a ``Sequential`` stored as ``encoder`` in a model gives ``encoder.0.W``).
    A dict ``{name: module}`` gives the names explicitly (see :func:`mlp`).
    """

    def __init__(self, *modules):
        if len(modules) == 1 and isinstance(modules[0], dict):
            named = {str(k): m for k, m in modules[0].items()}
        else:
            named = {str(i): m for i, m in enumerate(modules)}
        dtypes = {m.dtype for m in named.values() if isinstance(m, Module) and m.params}
        super().__init__(dtypes.pop() if len(dtypes) == 1 else np.float32)
        if not named:
            raise ValueError("modules: expected at least one module")
        for name, m in named.items():
            self.add_module(name, m)
        self.layers = list(named.values())

    def forward(self, x: np.ndarray) -> np.ndarray:
        for m in self.layers:
            x = m.forward(x)
        return x

    def backward(self, dy: np.ndarray, *, input_grad: bool = True,
                 overwrite: bool = False) -> np.ndarray | None:
        """Run the chain backwards.

        ``input_grad=False`` (the input is data) lets a first dense layer skip the gradient with
        respect to its input; then ``None`` is returned. ``overwrite=True`` replaces the
        gradients instead of adding to them: dense layers and nested chains write them
        (:meth:`Dense.backward`), any other module is zeroed first.
        """
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            m = self.layers[i]
            kw = {"input_grad": False} if i == 0 and not input_grad and isinstance(
                m, (Dense, Sequential)) else {}
            if isinstance(m, (Dense, Sequential)):
                dy = m.backward(dy, overwrite=overwrite, **kw)
            else:
                if overwrite:
                    m.zero_grad()
                dy = m.backward(dy)
        return dy

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]

    def __repr__(self) -> str:
        inner = ",\n".join(f"  ({k}): {m!r}" for k, m in self._children.items())
        return f"Sequential(\n{inner}\n)"


def mlp(sizes, activation="relu", *, out_activation="identity", slope=0.01, rng=None,
        dtype=np.float32) -> Sequential:
    """Dense layers of widths ``sizes = (n_in, h1, ..., n_out)``: ``activation`` after every
    hidden layer, ``out_activation`` after the last.

    The layers are named by their position in the equivalent unfused chain
    ``Linear, act, Linear, act, ..., Linear``: ``0``, ``2``, ``4``, ... so the parameter names
    (``0.W``, ``2.W``, ...) and checkpoints are those of that chain.

    ``activation`` and ``out_activation`` are names (:data:`elbo_edu.nn.ACTIVATION_MODULES`); an
    activation class with a ``name`` (e.g. ``ReLU``) is accepted too.
    """
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes: expected at least an input and an output width, got {sizes}")
    activation = "relu" if activation is None else getattr(activation, "name", activation)
    out_activation = ("identity" if out_activation is None
                      else getattr(out_activation, "name", out_activation))
    layers, pos = {}, 0
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        act = activation if i < len(sizes) - 2 else out_activation
        layers[str(pos)] = Dense(a, b, act, slope=slope, rng=rng, dtype=dtype)
        pos += 2
    return Sequential(layers)
