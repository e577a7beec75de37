"""The affine layer y = x W + b and its backward pass (chapter 02, D2.3–D2.4)."""
from __future__ import annotations

import numpy as np

from .._checks import check_positive_int
from ..kernels import backend_module
from ..kernels.api import _act
from .module import Module

__all__ = ["Linear"]


class Linear(Module):
    r"""Affine map :math:`y = xW + b`.

    Parameters
    ----------
    n_in, n_out : int
        Input and output widths.
    rng : numpy.random.Generator, optional
        Source of the initial weights (a fresh default generator if omitted).
    dtype : numpy dtype, default float32
        Type of the parameters; inputs are cast to it.

    Notes
    -----
    Initialisation follows PyTorch's ``nn.Linear``: every entry of ``W`` (shape ``(n_in, n_out)``)
    and ``b`` (shape ``(n_out,)``) is uniform on :math:`[-1/\sqrt{n_{in}}, 1/\sqrt{n_{in}}]`.

    Backward, for an upstream gradient ``dy`` of shape ``(N, n_out)``:

    .. math:: \partial W = x^\top dy,\quad \partial b = \textstyle\sum_n dy_n,\quad
              \partial x = dy\, W^\top.

    :meth:`forward_act` / :meth:`backward_act` fuse a following element-wise activation into the
    layer (bias and activation in one kernel pass over the matrix product, see
    :mod:`elbo_edu.kernels`); :class:`~elbo_edu.nn.Sequential` uses them for ``Linear -> act``.

    After :meth:`zero_grad` the gradients are exactly zero, so the first backward *writes*
    :math:`x^\top dy` straight into ``grads['W']`` (the product's output buffer) instead of
    computing it into a temporary and adding: the same numbers, one pass over 2·n_in·n_out
    floats less. Later backwards add, as the module contract says.
    """

    _writes_grads = True

    def __init__(self, n_in: int, n_out: int, *, rng: np.random.Generator | None = None,
                 dtype=np.float32):
        super().__init__(dtype)
        self.n_in = check_positive_int(n_in, "n_in")
        self.n_out = check_positive_int(n_out, "n_out")
        rng = np.random.default_rng() if rng is None else rng
        bound = 1.0 / np.sqrt(self.n_in)
        self._add_param("W", rng.uniform(-bound, bound, size=(self.n_in, self.n_out)))
        self._add_param("b", rng.uniform(-bound, bound, size=(self.n_out,)))

    def _input(self, x) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ValueError(f"x: expected shape (N, {self.n_in}), got {x.shape}")
        return x.astype(self.dtype, copy=False)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``x``: (N, n_in) -> (N, n_out)."""
        return self.forward_act(x, "identity")

    def backward(self, dy: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """``dy``: (N, n_out) -> dx: (N, n_in); adds into ``grads['W']`` and ``grads['b']``.

        ``input_grad=False`` skips the product :math:`dy\\,W^\\top` and returns ``None`` (for a
        first layer, whose input is data: that product is a fifth of a VAE step's arithmetic)."""
        return self.backward_act(dy, input_grad=input_grad)

    def forward_act(self, x: np.ndarray, act: str = "identity", slope: float = 0.01) -> np.ndarray:
        """``y = f(x W + b)`` with ``f`` one of :data:`elbo_edu.kernels.ACTIVATIONS`: the product
        goes to BLAS, the bias and ``f`` are applied in place by one kernel."""
        code = _act(act, slope)
        x = self._input(x)
        y = x @ self._own_params["W"]          # fresh, C-contiguous, self.dtype: kernel-ready
        backend_module().bias_act_forward(y, self._own_params["b"], code, float(slope))
        self._save(x, y, code, float(slope))
        return y

    def backward_act(self, dy: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """Backward of :meth:`forward_act` (or of :meth:`forward`): ``dy`` (N, n_out) ->
        ``dx`` (N, n_in), adding :math:`x^\\top\\partial pre` and :math:`\\sum_n\\partial pre_n`
        into the gradients."""
        x, y, code, slope = self._saved()
        dy = self._check_dy(dy, y.shape)
        if dy.dtype != self.dtype or not dy.flags.c_contiguous:
            dy = np.ascontiguousarray(dy, dtype=self.dtype)
        if code == 0:
            dpre, db = dy, dy.sum(axis=0)
        else:
            dpre, db = backend_module().bias_act_backward(dy, y, code, slope, np.empty_like(y))
        gW, gb = self._own_grads["W"], self._own_grads["b"]
        if self._grads_zero:                   # 0 + a == a: write, no temporary, no extra pass
            np.matmul(x.T, dpre, out=gW)
            gb[...] = db
            self._grads_zero = False
        else:
            gW += x.T @ dpre
            gb += db
        return dpre @ self._own_params["W"].T if input_grad else None

    def __repr__(self) -> str:
        return f"Linear({self.n_in}, {self.n_out}, dtype={self.dtype.name})"
