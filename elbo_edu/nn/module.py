"""The module contract every layer of the package follows, and the chain of modules
:class:`Sequential` (chapter 02, D2.4).

A module holds its parameters in ``params`` and their gradients in ``grads`` (two dicts with the
same keys and array shapes). ``forward(x)`` computes the output and remembers what the backward pass
needs; ``backward(dy)`` receives the gradient of the loss with respect to the output, **adds** the
gradients of the parameters into ``grads`` and returns the gradient with respect to the input. This
is the chain rule written out by hand, one layer at a time: no automatic differentiation.
"""
from __future__ import annotations

import numpy as np

__all__ = ["Module", "Sequential"]


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
        try:
            self.dtype = np.dtype(dtype)
        except TypeError as exc:
            raise ValueError(f"dtype: expected float32 or float64, got {dtype!r}") from exc
        if self.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"dtype: expected float32 or float64, got {self.dtype}")
        self._own_params: dict[str, np.ndarray] = {}
        self._own_grads: dict[str, np.ndarray] = {}
        self._children: dict[str, Module] = {}
        self._cache = None
        self._flat: dict[str, tuple] = {}  # cached flat params/grads dicts, see _collect

    # -- parameters: own ones plus the children's under dotted names ---------------------------
    @property
    def params(self) -> dict[str, np.ndarray]:
        """All trainable arrays, the children's under dotted names (``encoder.0.W``)."""
        return self._collect("_own_params", "params")

    @property
    def grads(self) -> dict[str, np.ndarray]:
        """Gradients, same keys and shapes as :attr:`params`."""
        return self._collect("_own_grads", "grads")

    # bumped whenever any module anywhere registers a parameter or a child: a cached flat dict
    # is valid while the counter has not moved (parents need no notification from children)
    _structure_version = 0

    def _collect(self, own: str, attr: str) -> dict[str, np.ndarray]:
        hit = self._flat.get(attr)
        if hit is None or hit[0] != Module._structure_version:
            out = dict(getattr(self, own))
            for cname, child in self._children.items():
                for k, v in getattr(child, attr).items():
                    out[f"{cname}.{k}"] = v
            hit = self._flat[attr] = (Module._structure_version, out)
        return dict(hit[1])  # a copy: the caller may change the dict, not our cache

    def add_module(self, name: str, module: "Module") -> "Module":
        """Register ``module`` as a child whose parameters appear under ``name.``."""
        if not isinstance(module, Module):
            raise ValueError(f"module: expected an elbo_edu.nn.Module, got {type(module).__name__}")
        self._children[str(name)] = module
        Module._structure_version += 1
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

    def forward_into(self, x: np.ndarray, workspace: dict) -> np.ndarray:
        """:meth:`forward` for evaluation: nothing is kept for a backward, and a module that can
        writes its output into an array kept in ``workspace`` (a dict the caller owns, see
        :func:`workspace_array`), reused by the next call of the same shape instead of a fresh
        one. The result lives in ``workspace`` until that next call overwrites it. Here: plain
        :meth:`forward`, its cache dropped."""
        y = self.forward(x)
        self.clear_cache()
        return y

    #: True for modules whose ``backward`` also takes ``overwrite=`` and ``input_grad=``
    #: (:class:`~elbo_edu.nn.Dense`, :class:`Sequential`; see :meth:`Sequential.backward`)
    overwrites_grads = False

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def zero_grad(self) -> None:
        """Set every gradient to zero, in place (the arrays stay the same objects)."""
        for g in self._own_grads.values():
            g.fill(0)
        for child in self._children.values():
            child.zero_grad()

    def clear_cache(self) -> None:
        """Drop what the last ``forward`` kept for ``backward`` (here and in every child): for a
        forward pass that no backward will follow, so its arrays can be freed."""
        self._cache = None
        for child in self._children.values():
            child.clear_cache()

    # -- helpers for subclasses ---------------------------------------------------------------
    def _add_param(self, name: str, value: np.ndarray) -> None:
        """Register a parameter and a zero gradient of the same shape and dtype."""
        # a C-ordered copy of the parameter's own shape (0-d scalars stay 0-d)
        self._own_params[name] = np.array(value, dtype=self.dtype, order="C")
        self._own_grads[name] = np.zeros_like(self._own_params[name])
        Module._structure_version += 1

    def _save(self, *arrays) -> None:
        self._cache = arrays

    def _saved(self):
        """Return what ``forward`` saved, or raise if there was no forward pass. The cache stays
        until the backward has succeeded (:meth:`_release`): a backward that fails on a bad
        ``dy`` can be called again with a good one."""
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called without a preceding forward")
        return self._cache

    def _release(self) -> None:
        """Called at the end of a successful backward: one forward, one backward."""
        self._cache = None

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


def workspace_array(workspace: dict, owner, shape: tuple, dtype) -> np.ndarray:
    """An uninitialised array of ``shape`` and ``dtype`` kept in ``workspace`` for ``owner``: the
    same array for every call with the same owner, shape and dtype.

    Evaluation loops (importance sampling scores K samples per image in chunks) call a network
    thousands of times with arrays of a few megabytes. Fresh arrays of that size come from the
    operating system each time, which maps and zeroes their pages (on a 2-core AMD EPYC: 0.4 M
    page faults and a sixth of the run time in the kernel for 300 images at K = 5000); an array
    kept between calls is already mapped. One workspace per thread: two threads writing into
    the same arrays would overwrite each other's results.
    """
    key = (id(owner), tuple(shape), np.dtype(dtype).str)
    a = workspace.get(key)
    if a is None:
        a = workspace[key] = np.empty(shape, dtype)
    return a


class Sequential(Module):
    """Compose modules: ``Sequential(Linear(2, 8), ReLU(), Linear(8, 1))``.

    Parameters appear under dotted names, the position of the layer first: ``0.W``, ``0.b``,
    ``2.W``, ... (a ``Sequential`` stored as ``encoder`` in a model gives ``encoder.0.W``).
    A dict ``{name: module}`` gives the names explicitly (see :func:`mlp`).
    """

    overwrites_grads = True

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

    def forward_into(self, x: np.ndarray, workspace: dict) -> np.ndarray:
        for m in self.layers:
            x = m.forward_into(x, workspace)
        return x

    def backward(self, dy: np.ndarray, *, input_grad: bool = True,
                 overwrite: bool = False) -> np.ndarray | None:
        """Run the chain backwards.

        ``input_grad=False`` (the input is data) lets a first dense layer skip the gradient with
        respect to its input; then ``None`` is returned. ``overwrite=True`` replaces the
        gradients instead of adding to them: modules whose backward takes ``overwrite=`` and
        ``input_grad=`` (``overwrites_grads``: dense layers, nested chains) write them, any
        other module is zeroed first and keeps its plain ``backward(dy)``.
        """
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            m = self.layers[i]
            kw = {"input_grad": False} if i == 0 and not input_grad else {}
            if m.overwrites_grads:
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
