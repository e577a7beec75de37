"""The backend switch: which implementation of the kernels runs, "numba" or "numpy".

The choice is read once from the environment variable ``ELBO_EDU_BACKEND`` (default ``"numba"``)
and can be changed at any time with :func:`set_backend`. numba itself is imported only when a
numba kernel is first needed, so ``import elbo_edu`` stays fast.
"""
from __future__ import annotations

import importlib
import os
from types import ModuleType

__all__ = ["BACKENDS", "ENV_VAR", "get_backend", "set_backend", "backend_module"]

BACKENDS = ("numba", "numpy")
ENV_VAR = "ELBO_EDU_BACKEND"

_MODULES = {"numba": "._numba_impl", "numpy": "._numpy_impl"}
_state: dict = {"name": None, "module": None}


def _check_name(name, what: str) -> str:
    if not isinstance(name, str) or name.strip().lower() not in BACKENDS:
        raise ValueError(f"{what}: expected one of {BACKENDS}, got {name!r}")
    return name.strip().lower()


def get_backend() -> str:
    """The name of the active backend, ``"numba"`` or ``"numpy"``."""
    if _state["name"] is None:
        _state["name"] = _check_name(os.environ.get(ENV_VAR, "numba"), ENV_VAR)
    return _state["name"]


def set_backend(name: str) -> str:
    """Select the backend for every later kernel call; returns the previous one.

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`BACKENDS`, or numba cannot be imported.
    """
    name = _check_name(name, "name")
    previous = get_backend()
    _load(name)  # fail now, not at the first kernel call
    _state["name"], _state["module"] = name, None
    return previous


def _load(name: str) -> ModuleType:
    try:
        return importlib.import_module(_MODULES[name], __package__)
    except ImportError as exc:  # pragma: no cover - numba is a hard dependency
        raise ValueError(f"name: the {name!r} backend is unavailable ({exc})") from exc


def backend_module(name: str | None = None) -> ModuleType:
    """The module implementing the kernels of backend ``name`` (default: the active one)."""
    if name is not None:
        return _load(_check_name(name, "name"))
    mod = _state["module"]
    if mod is None:
        mod = _state["module"] = _load(get_backend())
    return mod
