"""The backend switch: which backend object runs the operations, "numba" or "numpy".

The choice is read once from the environment variable ``ELBO_EDU_BACKEND`` (default ``"numba"``)
and can be changed at any time with :func:`set_backend`. numba itself is imported only when the
numba backend is first needed, so ``import elbo_edu`` stays fast.
"""
from __future__ import annotations

import importlib

import os

from .interface import Backend

__all__ = ["BACKENDS", "ENV_VAR", "get_backend", "set_backend", "backend"]

BACKENDS = ("numba", "numpy")
ENV_VAR = "ELBO_EDU_BACKEND"

_CLASSES = {"numba": (".numba_backend", "NumbaBackend"), "numpy": (".numpy_backend", "NumpyBackend")}
_state: dict = {"name": None, "object": None}
_objects: dict = {}


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
    """Select the backend for every later operation; returns the previous one's name.

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`BACKENDS`, or numba cannot be imported.
    """
    name = _check_name(name, "name")
    previous = get_backend()
    _load(name)  # fail now, not at the first operation
    _state["name"], _state["object"] = name, None
    return previous


def _load(name: str) -> Backend:
    obj = _objects.get(name)
    if obj is None:
        module, cls = _CLASSES[name]
        try:
            obj = _objects[name] = getattr(importlib.import_module(module, __package__), cls)()
        except ImportError as exc:  # pragma: no cover - numba is a hard dependency
            raise ValueError(f"name: the {name!r} backend is unavailable ({exc})") from exc
    return obj


def backend(name: str | None = None) -> Backend:
    """The backend object ``name`` (default: the active one). One object per backend, so an
    operation substituted on it (:meth:`Backend.substitute`) is seen by every caller."""
    if name is not None:
        return _load(_check_name(name, "name"))
    obj = _state["object"]
    if obj is None:
        obj = _state["object"] = _load(get_backend())
    return obj
