r"""The affine layer :math:`y = xW + b` and its backward pass (chapter 02, D2.3–D2.4).

A :class:`~elbo_edu.nn.Dense` layer without activation; see there for the formulas.
"""
from __future__ import annotations

import numpy as np

from .dense import Dense

__all__ = ["Linear"]


class Linear(Dense):
    r"""Affine map :math:`y = xW + b`, ``W`` (n_in, n_out), ``b`` (n_out,).

    Backward: :math:`\partial W = x^\top dy`, :math:`\partial b = \sum_n dy_n`,
    :math:`\partial x = dy\,W^\top`. Parameters as :class:`~elbo_edu.nn.Dense`.
    """

    def __init__(self, n_in: int, n_out: int, *, rng: np.random.Generator | None = None,
                 dtype=np.float32):
        super().__init__(n_in, n_out, "identity", rng=rng, dtype=dtype)

    def __repr__(self) -> str:
        return f"Linear({self.n_in}, {self.n_out}, dtype={self.dtype.name})"
