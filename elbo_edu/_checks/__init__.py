"""Input validation shared by the whole package.

Every public function checks its arguments with these helpers, so that bad input fails early with a
``ValueError`` that names the argument and says what was expected, instead of being silently
broadcast into a wrong answer. :mod:`elbo_edu._checks.files` writes files atomically.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "as_float_array",
    "as_density_array",
    "check_finite",
    "check_same_shape",
    "check_positive_int",
    "check_positive_float",
    "check_ndim",
    "check_probability_targets",
    "check_rng",
]


def as_float_array(x, name: str, *, ndim_min: int = 0, finite: bool = True) -> np.ndarray:
    """Return ``x`` as a floating-point array (float32 stays float32, integers become float64).

    Raises
    ------
    ValueError
        If ``x`` is not numeric, has fewer than ``ndim_min`` dimensions, or (with ``finite``)
        contains NaN or infinity.
    """
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - numpy raises many types here
        raise ValueError(f"{name}: expected a numeric array, got {type(x).__name__}") from exc
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"{name}: expected a real array, got dtype {arr.dtype}")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    if arr.ndim < ndim_min:
        raise ValueError(f"{name}: expected an array with at least {ndim_min} dimension(s), "
                         f"got shape {arr.shape}")
    if finite:
        check_finite(arr, name)
    return arr


def as_density_array(x, name: str, **kwargs) -> np.ndarray:
    """:func:`as_float_array` for log-densities and their gradients: float32 or float64 only.

    float16 is refused, as the layers refuse it: its largest number is 65 504, so a log-density
    summed over 784 pixels rounds to -inf (e.g. -120 000 nats) and a KL overflows.

    Raises
    ------
    ValueError
        As :func:`as_float_array`, and for any other floating type (float16, longdouble).
    """
    arr = as_float_array(x, name, **kwargs)
    if arr.dtype not in (np.float32, np.float64):
        raise ValueError(f"{name}: expected float32 or float64 values, got {arr.dtype} (half "
                         f"precision cannot hold a log-density; convert with .astype(np.float32))")
    return arr


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` if ``arr`` holds NaN or infinity."""
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: expected finite values, found NaN or inf")


def check_same_shape(**arrays: np.ndarray) -> None:
    """Raise ``ValueError`` unless all keyword arrays have one shape (no silent broadcasting)."""
    items = list(arrays.items())
    ref_name, ref = items[0]
    for name, arr in items[1:]:
        if np.shape(arr) != np.shape(ref):
            raise ValueError(f"{name}: expected shape {np.shape(ref)} (the shape of {ref_name}), "
                             f"got {np.shape(arr)}")


def check_ndim(arr: np.ndarray, name: str, ndim: int) -> None:
    """Raise ``ValueError`` unless ``arr.ndim == ndim``."""
    if np.ndim(arr) != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D array, got shape {np.shape(arr)}")


def check_positive_int(value, name: str) -> int:
    """Return ``value`` as ``int`` if it is a whole number > 0, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


def check_positive_float(value, name: str) -> float:
    """Return ``value`` as ``float`` if it is a finite number > 0, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) \
            or value <= 0:
        raise ValueError(f"{name}: expected a finite positive number, got {value!r}")
    return float(value)


def check_probability_targets(x: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` unless every entry of ``x`` lies in [0, 1] (binary or grey levels)."""
    if x.size and (np.min(x) < 0 or np.max(x) > 1):
        raise ValueError(f"{name}: expected values in [0, 1], got range "
                         f"[{np.min(x):g}, {np.max(x):g}]")


def check_rng(rng, name: str = "rng") -> np.random.Generator:
    """Return ``rng`` if it is a ``numpy.random.Generator``, else raise ``ValueError``."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"{name}: expected a numpy.random.Generator "
                         f"(e.g. np.random.default_rng(0)), got {type(rng).__name__}")
    return rng
