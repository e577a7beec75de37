r"""The dense layer :math:`y = f(xW + b)`: an affine map and the activation it fuses, named
(chapter 02, D2.3–D2.4).

``Dense(n_in, n_out, activation="relu")`` says what it fuses: the matrix product goes to BLAS,
then the bias and the activation are applied in place by one operation of the backend seam
(the operation of :func:`elbo_edu.kernels.bias_act_forward`, called on the backend object
directly: the layer's own arrays need no argument check), whose NumPy version runs the
activation's readable ``function`` and whose numba version is the same formulas in one loop. It is what
:func:`mlp` (below) builds; :class:`~elbo_edu.nn.Linear` is ``Dense`` without activation.
"""
from __future__ import annotations

import numpy as np

from .. import kernels as K
from .._checks import check_positive_int
from .module import Module, Sequential, workspace_array

__all__ = ["Dense", "mlp"]


class Dense(Module):
    r"""Affine map followed by an element-wise activation, :math:`y = f(xW + b)`.

    Parameters
    ----------
    n_in, n_out : int
        Input and output widths.
    activation : str, default "identity"
        One of :data:`elbo_edu.nn.ACTIVATION_MODULES` (``"identity"``, ``"relu"``,
        ``"leaky_relu"``, ``"tanh"``, ``"sigmoid"``, ``"softplus"``).
    slope : float, default 0.01
        The negative-side slope of ``"leaky_relu"``.
    rng : numpy.random.Generator, optional
        Source of the initial weights (a fresh default generator if omitted).
    dtype : float32 (default) or float64
        Type of the parameters; inputs are cast to it.

    Notes
    -----
    Initialisation follows PyTorch's ``nn.Linear``: every entry of ``W`` (shape ``(n_in, n_out)``)
    and ``b`` (shape ``(n_out,)``) is uniform on :math:`[-1/\sqrt{n_{in}}, 1/\sqrt{n_{in}}]`.

    Backward, for an upstream gradient ``dy`` of shape ``(N, n_out)``, with
    :math:`\partial pre = dy\odot f'(pre)` (:func:`elbo_edu.kernels.bias_act_backward`):

    .. math:: \partial W = x^\top \partial pre,\quad \partial b = \textstyle\sum_n \partial pre_n,
              \quad \partial x = \partial pre\, W^\top.

    Raises
    ------
    ValueError
        For a bad width, activation name, slope or dtype.
    """

    overwrites_grads = True

    def __init__(self, n_in: int, n_out: int, activation: str = "identity", *,
                 slope: float = 0.01, rng: np.random.Generator | None = None, dtype=np.float32):
        super().__init__(dtype)
        self.n_in = check_positive_int(n_in, "n_in")
        self.n_out = check_positive_int(n_out, "n_out")
        if activation not in K.ACTIVATION_NAMES:
            raise ValueError(f"activation: expected one of {K.ACTIVATION_NAMES}, "
                             f"got {activation!r}")
        if not (np.isfinite(slope) and slope >= 0):
            raise ValueError(f"slope: expected a finite non-negative number, got {slope!r}")
        self.activation, self.slope = activation, float(slope)
        rng = np.random.default_rng() if rng is None else rng
        bound = 1.0 / np.sqrt(self.n_in)
        self._add_param("W", rng.uniform(-bound, bound, size=(self.n_in, self.n_out)))
        self._add_param("b", rng.uniform(-bound, bound, size=(self.n_out,)))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``x``: (N, n_in) -> ``y = f(x W + b)``: (N, n_out)."""
        x = self._checked(x)
        y = self._bias_act(x @ self._own_params["W"])     # fresh, C-contiguous, self.dtype
        self._save(x, y)
        return y

    def forward_into(self, x: np.ndarray, workspace: dict) -> np.ndarray:
        """:meth:`forward` into an (N, n_out) array kept in ``workspace``
        (:func:`elbo_edu.nn.module.workspace_array`), nothing kept for a backward."""
        x = self._checked(x)
        y = workspace_array(workspace, self, (x.shape[0], self.n_out), self.dtype)
        return self._bias_act(np.matmul(x, self._own_params["W"], out=y))

    def _checked(self, x) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ValueError(f"x: expected shape (N, {self.n_in}), got {x.shape}")
        return x.astype(self.dtype, copy=False)

    def _bias_act(self, y):
        # the backend directly: y and b are this layer's own arrays, which meet the seam's
        # contract by construction (the public kernels.bias_act_forward would check them again)
        K.backend().bias_act_forward(y, self._own_params["b"], self.activation, self.slope)
        return y

    def backward(self, dy: np.ndarray, *, input_grad: bool = True,
                 overwrite: bool = False) -> np.ndarray | None:
        r"""``dy``: (N, n_out) -> ``dx``: (N, n_in); adds :math:`x^\top\partial pre` and
        :math:`\sum_n\partial pre_n` into ``grads``.

        ``overwrite=True`` *writes* the gradients instead of adding them (for a caller that
        replaces all gradients, e.g. :meth:`elbo_edu.vae.VAE.loss_and_grads`: no zero-fill and no
        temporary for the product, measured about 8 % of a VAE training step).
        ``input_grad=False`` skips :math:`\partial pre\,W^\top` and returns ``None`` (a first
        layer, whose input is data: that product is a fifth of a VAE step's arithmetic).
        """
        x, y = self._saved()
        dy = self._check_dy(dy, y.shape)
        if dy.dtype != self.dtype or not dy.flags.c_contiguous:
            dy = np.ascontiguousarray(dy, dtype=self.dtype)
        if self.activation == "identity":
            dpre, db = dy, dy.sum(axis=0)
        else:
            # unchecked as in forward: dy was just made C-contiguous in self.dtype, y is ours
            dpre, db = K.backend().bias_act_backward(dy, y, self.activation, self.slope,
                                                     np.empty_like(y))
        gW, gb = self._own_grads["W"], self._own_grads["b"]
        if overwrite:
            np.matmul(x.T, dpre, out=gW)
            gb[...] = db
        else:
            gW += x.T @ dpre
            gb += db
        self._release()
        return dpre @ self._own_params["W"].T if input_grad else None

    def __repr__(self) -> str:
        act = "" if self.activation == "identity" else f", activation={self.activation!r}"
        return f"Dense({self.n_in}, {self.n_out}{act}, dtype={self.dtype.name})"


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
