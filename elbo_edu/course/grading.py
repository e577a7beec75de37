r"""The building blocks of the exercise graders: compare, diagnose, say what is wrong in one sentence.

Every autograded test cell of a chapter calls one ``check_*`` function of
:mod:`elbo_edu.course.checks`. Those compare the student's result with values computed
**independently** of the package -- by quadrature (:func:`quad`), by central finite differences
(:func:`fd_gradient`) or by a closed form evaluated another way -- and, when the values disagree,
look for the usual slips before giving up:

* a wrong **shape** (a sum over the wrong axis, a missing ``keepdims``);
* a wrong **sign**; a **missing or extra factor** :math:`\tfrac12`;
* a **sum instead of a mean** (or the reverse) over ``n`` items;
* a **missing constant** such as :math:`\tfrac12\log 2\pi`;
* ``nan``/``inf`` where the answer is finite (an overflow in ``exp``);
* the chapter-specific slips a check passes in ``mistakes`` (``logvar`` read as
  :math:`\log\sigma`, arguments swapped, ...).

A failure raises :class:`ExerciseError` (an ``AssertionError``, so nbgrader scores the cell 0),
whose message is that one sentence; it is also printed, so it is the first thing the student sees.
"""
from __future__ import annotations

from typing import Callable, Iterable

import numpy as np

from ..gradcheck import numerical_gradient, rel_error

__all__ = ["ExerciseError", "fail", "ok", "as_result", "check_shape", "check_close",
           "check_gradient", "fd_gradient", "quad", "GRAD_TOL"]

#: Relative error (scale-aware, :func:`elbo_edu.gradcheck.rel_error`) a gradient must reach.
GRAD_TOL = 1e-7


class ExerciseError(AssertionError):
    """An exercise's result is wrong; the message says what, in one sentence."""


def fail(sentence: str):
    """Print ``sentence`` and raise :class:`ExerciseError` with it."""
    print("✗ " + sentence)
    raise ExerciseError(sentence)


def ok(what: str) -> None:
    """Report a passed check."""
    print(f"✓ {what}: correct.")


def as_result(value, what: str) -> np.ndarray:
    """The student's return value as a float64 array, or a clear failure if it is not numeric."""
    if value is None:
        fail(f"{what} is None: did you forget the `return` statement?")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        fail(f"{what} should be numbers (an array or a float), got {type(value).__name__}.")
    return arr


def check_shape(got: np.ndarray, shape: tuple, what: str, hint: str = "") -> None:
    """Fail with a sentence naming both shapes if ``got.shape != shape``."""
    if got.shape != tuple(shape):
        extra = f" {hint}" if hint else ""
        fail(f"{what} has shape {got.shape}, expected {tuple(shape)}.{extra}")


def _close(a, b, rtol, atol) -> bool:
    return a.shape == b.shape and bool(np.all(np.isfinite(a) == np.isfinite(b))) and \
        bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))


def _diagnose(got, want, what, n):
    """A sentence for the usual slips (sign, factor 1/2, sum vs mean, constant), or None."""
    factors = [(-1.0, f"{what} has the wrong sign."),
               (2.0, f"{what} is twice the expected value: is a factor 1/2 missing?"),
               (0.5, f"{what} is half the expected value: is there an extra factor 1/2?"),
               (-2.0, f"{what} has the wrong sign and is twice too large (a missing 1/2?)."),
               (-0.5, f"{what} has the wrong sign and is half the expected size.")]
    if n and n > 1:
        factors += [(float(n), f"{what} is {n} times too large: did you sum over the {n} items "
                               f"where the mean was asked for?"),
                    (1.0 / n, f"{what} is {n} times too small: did you average over the {n} "
                              f"items where the sum was asked for?")]
    for c, sentence in factors:
        if _close(got, c * want, 1e-6, 1e-9):
            return sentence
    d = got - want
    if d.size > 1 and np.all(np.isfinite(d)) and np.ptp(d) < 1e-6 * (1 + np.abs(d).max()) \
            and abs(d.flat[0]) > 1e-8:
        return (f"{what} is off by the same constant {d.flat[0]:+.6g} everywhere: "
                f"a normalising term (such as log 2π/2 or log n) is missing or extra.")
    return None


def check_close(got, want, what: str, *, rtol: float = 1e-7, atol: float = 1e-10,
                mistakes: Iterable[tuple[np.ndarray, str]] = (), n: int | None = None,
                shape_hint: str = "", nonfinite_hint: str = "") -> None:
    """Pass if ``got`` equals ``want`` (within ``rtol``/``atol``), else fail with one sentence.

    Parameters
    ----------
    got : the student's value (anything ``np.asarray`` takes)
    want : float array, the independently computed answer
    what : str, how the sentence names the value (e.g. "kl_std_normal(mu, logvar)")
    mistakes : pairs ``(wrong_value, sentence)``: if ``got`` matches ``wrong_value`` the sentence
        is the diagnosis (checked before the generic ones)
    n : number of items a sum/mean runs over, for the "sum instead of mean" diagnosis
    shape_hint, nonfinite_hint : appended to the shape / nan-inf failure sentences

    Raises
    ------
    ExerciseError
        With the diagnosis sentence.
    """
    got = as_result(got, what)
    want = np.asarray(want, dtype=np.float64)
    check_shape(got, want.shape, what, shape_hint)
    if not np.all(np.isfinite(got)) and np.all(np.isfinite(want)):
        fail(f"{what} contains nan or inf where the answer is finite."
             + (f" {nonfinite_hint}" if nonfinite_hint else ""))
    if _close(got, want, rtol, atol):
        return
    for wrong, sentence in mistakes:
        wrong = np.asarray(wrong, dtype=np.float64)
        if wrong.shape == want.shape and _close(got, wrong, 1e-6, 1e-9):
            fail(sentence)
    sentence = _diagnose(got, want, what, n)
    if sentence:
        fail(sentence)
    i = int(np.argmax(np.abs(np.nan_to_num(got - want, nan=np.inf)).ravel()))
    idx = np.unravel_index(i, want.shape) if want.shape else ()
    fail(f"{what} is wrong: at index {tuple(int(k) for k in idx)} the answer is "
         f"{want.ravel()[i]:.8g}, you returned {got.ravel()[i]:.8g}.")


def fd_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central finite differences of a scalar function in float64 (a copy of ``x`` is used)."""
    x = np.array(x, dtype=np.float64)
    return numerical_gradient(lambda _: float(f(x)), x, h=h)


def check_gradient(got, f: Callable[[np.ndarray], float], x: np.ndarray, what: str, *,
                   mistakes: Iterable[tuple[np.ndarray, str]] = (), n: int | None = None) -> None:
    """Compare a gradient with central finite differences of the scalar ``f`` at ``x``.

    The target is the project's bar: scale-aware relative error below :data:`GRAD_TOL`; on
    failure the usual slips are diagnosed against the finite-difference value.
    """
    want = fd_gradient(f, x)
    g = as_result(got, what)
    check_shape(g, want.shape, what, "A gradient has the shape of the variable it is taken with "
                                     "respect to.")
    if np.all(np.isfinite(g)) and rel_error(g, want) < GRAD_TOL:
        return
    check_close(g, want, what, rtol=1e-5, atol=1e-7, mistakes=mistakes, n=n)
    fail(f"{what} is close to, but not within {GRAD_TOL:g} relative error of, the finite "
         f"differences (error {rel_error(g, want):.2g}): compute it in float64.")


def quad(f: Callable[[np.ndarray], np.ndarray], lo: float, hi: float, n: int = 20001) -> float:
    r"""Composite Simpson rule for :math:`\int_{lo}^{hi} f(t)\,dt` on ``n`` (odd) points.

    ``f`` is evaluated once on the whole grid (vectorised). Error :math:`O(h^4)`; for smooth
    integrands that decay at the ends (densities) it is below 1e-10 with the default grid.
    """
    if n % 2 == 0:
        n += 1
    t = np.linspace(lo, hi, n)
    y = np.asarray(f(t), dtype=np.float64)
    w = np.ones(n)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    return float((hi - lo) / (n - 1) / 3.0 * np.dot(w, y))
