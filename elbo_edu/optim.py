r"""Optimizers acting on a model's flat ``params``/``grads`` dictionaries, in place.

SGD with momentum (heavy ball):

.. math:: v \leftarrow \mu v + g,\qquad \theta \leftarrow \theta - \eta v

Adam (Kingma & Ba), with bias correction:

.. math:: m \leftarrow \beta_1 m + (1-\beta_1) g,\quad v \leftarrow \beta_2 v + (1-\beta_2) g^2,
          \quad \theta \leftarrow \theta - \eta\,\frac{m/(1-\beta_1^t)}{\sqrt{v/(1-\beta_2^t)}+\epsilon}

:class:`Adam` folds the bias corrections into the step size and hands every parameter to the
seam's ``adam_update`` (:mod:`elbo_edu.kernels`); the update itself is written once, readably, as
:func:`elbo_edu.kernels.numpy_backend.adam_update`, which the NumPy backend runs.
"""
from __future__ import annotations

import math

import numpy as np

from . import kernels as K
from ._checks import check_positive_float
from .kernels.numpy_backend import adam_update

__all__ = ["Optimizer", "SGD", "Adam"]


class Optimizer:
    """Base class: keeps references to the parameter and gradient arrays (updated in place)."""

    def __init__(self, params: dict, grads: dict, lr: float):
        if set(params) != set(grads):
            raise ValueError("grads: expected the same keys as params, "
                             f"got {sorted(set(grads) ^ set(params))} in only one of them")
        for k in params:
            if params[k].shape != grads[k].shape:
                raise ValueError(f"grads: expected shape {params[k].shape} for {k!r}, "
                                 f"got {grads[k].shape}")
        self.params, self.grads = params, grads
        self.lr = check_positive_float(lr, "lr")
        self.t = 0

    def zero_grad(self) -> None:
        for g in self.grads.values():
            g.fill(0)

    def step(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- checkpointing ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Everything needed to resume exactly, as a flat dict of arrays."""
        return {"t": np.array(self.t)}

    def load_state_dict(self, state: dict) -> None:
        self.t = int(state["t"])


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum ``momentum`` in [0, 1)."""

    def __init__(self, params: dict, grads: dict, lr: float = 1e-2, momentum: float = 0.0):
        super().__init__(params, grads, lr)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum: expected a number in [0, 1), got {momentum!r}")
        self.momentum = float(momentum)
        self.velocity = {k: np.zeros_like(p) for k, p in params.items()}

    def step(self) -> None:
        self.t += 1
        for k, p in self.params.items():
            v = self.velocity[k]
            v *= self.momentum
            v += self.grads[k]
            p -= p.dtype.type(self.lr) * v

    def state_dict(self):
        return {**super().state_dict(), **{f"velocity.{k}": v for k, v in self.velocity.items()}}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        for k in self.velocity:
            self.velocity[k][...] = state[f"velocity.{k}"]


class Adam(Optimizer):
    """Adam with bias-corrected moment estimates."""

    def __init__(self, params: dict, grads: dict, lr: float = 1e-3, betas=(0.9, 0.999),
                 eps: float = 1e-8):
        super().__init__(params, grads, lr)
        b1, b2 = betas
        for n, b in (("betas[0]", b1), ("betas[1]", b2)):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"{n}: expected a number in [0, 1), got {b!r}")
        self.beta1, self.beta2 = float(b1), float(b2)
        self.eps = check_positive_float(eps, "eps")
        self.m = {k: np.zeros_like(p) for k, p in params.items()}
        self.v = {k: np.zeros_like(p) for k, p in params.items()}
        self._cache = None                     # see _groups

    def step(self) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        # fold both bias corrections into the step size: lr * sqrt(1-b2^t) / (1-b1^t)
        step = self.lr * math.sqrt(1.0 - b2 ** self.t) / (1.0 - b1 ** self.t)
        eps_hat = self.eps * math.sqrt(1.0 - b2 ** self.t)
        fused, other = self._groups()
        # the seam's adam_update, one fused loop per parameter with the numba backend; called on
        # the backend object unchecked: _groups admits only arrays that meet its contract
        K.backend().adam_update(fused, step, b1, b2, eps_hat)
        for p, g, m, v in other:  # strided or mixed-dtype arrays handed in by the user
            adam_update(p, g.astype(p.dtype, copy=False), m, v, step, b1, b2, eps_hat)

    def _groups(self) -> tuple[list, list]:
        """``(p, g, m, v)`` per parameter, split into kernel-ready ones (one float dtype,
        C-contiguous, ``p`` writeable; ``m``, ``v`` are our own ``zeros_like(p)``) and the rest.
        Sorted once and reused while ``params`` and ``grads`` hold the same arrays."""
        cached = self._cache
        if cached is not None and all(self.params[k] is p and self.grads[k] is g
                                      for k, p, g in cached[0]):
            return cached[1], cached[2]
        fused, other, keys = [], [], []
        for k, p in self.params.items():
            g, m, v = self.grads[k], self.m[k], self.v[k]
            keys.append((k, p, g))
            ready = (p.dtype.char in "fd" and p.flags.c_contiguous and p.flags.writeable
                     and g.flags.c_contiguous and g.dtype == p.dtype)
            (fused if ready else other).append((p, g, m, v))
        self._cache = (keys, fused, other)
        return fused, other

    def state_dict(self):
        out = super().state_dict()
        out.update({f"m.{k}": a for k, a in self.m.items()})
        out.update({f"v.{k}": a for k, a in self.v.items()})
        return out

    def load_state_dict(self, state):
        super().load_state_dict(state)
        for k in self.m:
            self.m[k][...] = state[f"m.{k}"]
            self.v[k][...] = state[f"v.{k}"]
