r"""Finite-difference gradient checking (chapter 02, D2.4; used in every chapter).

An analytic gradient is trusted only after it agrees with central differences in float64:

.. math:: \frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h},

whose error is :math:`O(h^2)` from truncation plus :math:`O(\epsilon_{\text{mach}}|f|/h)` from
rounding; with :math:`h = 10^{-6}` both are around :math:`10^{-10}` relative for well-scaled
functions, far below the :data:`DEFAULT_TOL` of :math:`10^{-7}`.

Non-scalar outputs are checked through vector–Jacobian products: for a random upstream gradient
:math:`g`, the analytic ``backward(g)`` is compared with the numerical gradient of
:math:`\sum_k g_k f_k(x)` — exactly the quantity backpropagation computes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = ["DEFAULT_TOL", "numerical_gradient", "numerical_vjp", "rel_error", "GradCheckRow",
           "GradCheckReport", "check_module", "check_function"]

DEFAULT_TOL = 1e-7


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-6,
                       order: int = 2) -> np.ndarray:
    r"""Central-difference gradient of a scalar function.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``. ``x`` is perturbed **in place** (and restored), so ``f`` may also read
        it through a closure, e.g. when ``x`` is a parameter array of a module.
    x : float64 array, any shape
    h : float
        Step size.
    order : {2, 4}
        Accuracy order of the central stencil. ``2`` is :math:`(f(x+h)-f(x-h))/2h`; ``4`` is
        :math:`(-f(x+2h) + 8f(x+h) - 8f(x-h) + f(x-2h))/12h`, whose truncation error is
        :math:`O(h^4)`, so a larger ``h`` (say ``1e-4``) can be used and the rounding error
        :math:`\epsilon|f|/h` shrinks: useful when a gradient is much smaller than ``f`` itself.

    Returns
    -------
    array shaped like ``x``
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise ValueError("x: expected a float64 numpy array (finite differences need double precision)")
    if not (h > 0):
        raise ValueError(f"h: expected a positive step, got {h!r}")
    if order not in (2, 4):
        raise ValueError(f"order: expected 2 or 4, got {order!r}")
    offsets, weights = ((1, -1), (1, -1)) if order == 2 else ((2, 1, -1, -2), (-1, 8, -8, 1))
    denom = 2 * h if order == 2 else 12 * h
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("x: expected a contiguous array that can be perturbed in place")
    for i in range(flat.size):
        old = flat[i]
        acc = 0.0
        for k, w in zip(offsets, weights):
            flat[i] = old + k * h
            acc += w * float(f(x))
        flat[i] = old
        gflat[i] = acc / denom
    return grad


def numerical_vjp(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dy: np.ndarray,
                  h: float = 1e-6, order: int = 2) -> np.ndarray:
    r"""Numerical vector–Jacobian product :math:`\nabla_x \sum_k dy_k f_k(x)`."""
    dy = np.asarray(dy, dtype=np.float64)
    return numerical_gradient(lambda v: float(np.sum(np.asarray(f(v)) * dy)), x, h, order)


def rel_error(a, b) -> float:
    r"""Scale-aware relative error :math:`\max|a-b| / \max(\max|a|, \max|b|, 10^{-8})`.

    Measured against the largest entry rather than entry by entry, so that entries that are tiny
    compared with the rest of the gradient do not turn rounding noise into a false alarm.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"b: expected shape {a.shape} (the shape of a), got {b.shape}")
    if a.size == 0:
        return 0.0
    scale = max(np.max(np.abs(a)), np.max(np.abs(b)), 1e-8)
    return float(np.max(np.abs(a - b)) / scale)


@dataclass
class GradCheckRow:
    """One compared gradient: what, its shape, the relative error and the verdict."""
    name: str
    shape: tuple
    max_rel_error: float
    passed: bool


@dataclass
class GradCheckReport:
    """A table of :class:`GradCheckRow`; ``str(report)`` formats it, ``report.passed`` sums it up."""
    rows: list[GradCheckRow] = field(default_factory=list)
    tol: float = DEFAULT_TOL

    def add(self, name: str, analytic, numeric) -> GradCheckRow:
        err = rel_error(analytic, numeric)
        row = GradCheckRow(name, tuple(np.shape(analytic)), err, bool(err < self.tol))
        self.rows.append(row)
        return row

    def extend(self, other: "GradCheckReport") -> "GradCheckReport":
        self.rows.extend(other.rows)
        return self

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rows)

    @property
    def max_error(self) -> float:
        return max((r.max_rel_error for r in self.rows), default=0.0)

    def __str__(self) -> str:
        w = max([len(r.name) for r in self.rows] + [4])
        head = f"{'name':<{w}}  {'shape':<14}  {'max rel error':>13}  pass"
        lines = [head, "-" * len(head)]
        for r in self.rows:
            lines.append(f"{r.name:<{w}}  {str(r.shape):<14}  {r.max_rel_error:>13.2e}  "
                         f"{'yes' if r.passed else 'NO'}")
        n_ok = sum(r.passed for r in self.rows)
        lines.append(f"{n_ok}/{len(self.rows)} gradients agree with finite differences "
                     f"(tolerance {self.tol:.0e})")
        return "\n".join(lines)


def check_module(module, x, *, dy=None, rng: np.random.Generator | None = None, h: float = 1e-6,
                 order: int = 2, tol: float = DEFAULT_TOL, name: str | None = None, verbose: bool = True) -> GradCheckReport:
    """Compare a module's ``backward`` with finite differences, for the input and every parameter.

    Parameters
    ----------
    module : elbo_edu.nn.Module
        Built with ``dtype=np.float64``.
    x : array (N, ...)
        Input; converted to float64.
    dy : array, optional
        Upstream gradient (default: standard normal of the output's shape).
    rng : numpy.random.Generator, optional
    h, tol : float
        Finite-difference step and pass threshold.
    order : {2, 4}
        Accuracy order of the central stencil (see :func:`numerical_gradient`).
    name : str, optional
        Prefix of the row names (default: the class name).
    verbose : bool
        Print the table.

    Returns
    -------
    GradCheckReport
        One row for ``dx`` and one per parameter.
    """
    if module.params and any(p.dtype != np.float64 for p in module.params.values()):
        raise ValueError("module: expected float64 parameters for a gradient check "
                         "(build it with dtype=np.float64)")
    x = np.array(x, dtype=np.float64)
    rng = np.random.default_rng(0) if rng is None else rng
    y = module.forward(x)
    dy = rng.standard_normal(np.shape(y)) if dy is None else np.asarray(dy, dtype=np.float64)
    module.zero_grad()
    module.forward(x)
    dx = module.backward(dy)
    prefix = name or type(module).__name__
    report = GradCheckReport(tol=tol)

    def f(_):
        return float(np.sum(module.forward(x) * dy))

    report.add(f"{prefix} dx", dx, numerical_gradient(f, x, h, order))
    analytic = {k: g.copy() for k, g in module.grads.items()}
    for k, p in module.params.items():
        report.add(f"{prefix} d{k}", analytic[k], numerical_gradient(f, p, h, order))
    module.clear_cache()
    if verbose:
        print(report)
    return report


def check_function(name: str, f: Callable, grad_f: Callable, args: dict, *, wrt=None,
                   grad_out=None, rng: np.random.Generator | None = None, h: float = 1e-6,
                   order: int = 2, tol: float = DEFAULT_TOL,
                   verbose: bool = False) -> GradCheckReport:
    """Check a function against its hand-written gradient function.

    ``f(**args)`` returns an array; ``grad_f(**args, grad_out=g)`` returns a tuple with one
    gradient per name in ``wrt`` (default: every float argument), in that order. Other arguments
    (integer labels, Bernoulli targets) are held fixed.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    args = {k: (np.array(v, dtype=np.float64) if np.asarray(v).dtype.kind == "f" else v)
            for k, v in args.items()}
    out = np.asarray(f(**args))
    g = rng.standard_normal(out.shape) if grad_out is None else np.asarray(grad_out, np.float64)
    analytic = grad_f(**args, grad_out=g)
    report = GradCheckReport(tol=tol)
    if wrt is None:
        wrt = [k for k, v in args.items() if isinstance(v, np.ndarray) and v.dtype == np.float64]
    if len(analytic) != len(wrt):
        raise ValueError(f"grad_f: expected {len(wrt)} gradients ({list(wrt)}), got {len(analytic)}")
    for k, a in zip(wrt, analytic):
        num = numerical_vjp(lambda _: f(**args), args[k], g, h, order)
        report.add(f"{name} d{k}", a, num)
    if verbose:
        print(report)
    return report
