r"""Catch a student's function handing the exercise to the package: a dynamic call tracer.

While a grader runs the student's function, :class:`DelegationTracer` watches every Python call
(``sys.setprofile``; numba's compiled kernels report their calls to a profiler too, under the
code of their Python source, and so do their Python wrappers in :mod:`elbo_edu.kernels`). If the
student's code reaches one of the *answers* of the exercise -- the package's own implementation
of what it asks for, e.g. :func:`elbo_edu.distributions.kl_std_normal` -- the call is recorded,
whatever name it was called by (an alias, ``importlib``, a copy of the function object, a backend
method): functions are recognised by their code, not their name, and the source is never read.

Callables the grader itself hands to the student (a test function ``f``, a network, a model's
methods) are *allowed ancestors*: what runs inside them is the grader's business.

Answers are named ``"module:qualname"`` (``"elbo_edu.kernels.numba_backend:NumbaBackend.reparam_kl"``);
:func:`resolve` turns them into the code keys the tracer compares. A name that cannot be imported
(numba missing) is skipped. Python 3.12's ``sys.monitoring`` would be faster; ``sys.setprofile``
works on every supported version, and the student's functions are small.
"""
from __future__ import annotations

import functools
import importlib
import inspect
import sys
from types import CodeType

__all__ = ["DelegationTracer", "resolve", "code_key", "grader_helpers"]


def code_key(code: CodeType) -> tuple:
    """How a function is recognised: its file, first line and name (numba's frames use the same)."""
    return code.co_filename, code.co_firstlineno, code.co_name


def _codes_of(obj):
    """The code objects behind a function, method, numba dispatcher, property or class."""
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, functools.partial):
        obj = obj.func
    py = getattr(obj, "py_func", None)                     # a numba dispatcher
    if py is not None:
        obj = py
    obj = getattr(obj, "__func__", obj)                    # a bound method
    obj = inspect.unwrap(obj) if callable(obj) else obj
    code = getattr(obj, "__code__", None)
    if isinstance(code, CodeType):
        return [code]
    if isinstance(obj, type):                              # every method of a class
        out = []
        for v in vars(obj).values():
            if isinstance(v, property):
                v = v.fget
            if inspect.isfunction(v) or isinstance(v, (staticmethod, classmethod)):
                out += _codes_of(v)
        return out
    out = []                                               # an instance (a model): its methods
    if type(obj).__module__ == "builtins":
        return out
    for cls in type(obj).__mro__[:-1]:
        out += _codes_of(cls)
    return out


@functools.cache
def _resolve_one(name: str) -> tuple:
    module, _, qual = name.partition(":")
    try:
        obj = importlib.import_module(module)
    except ImportError:                                    # e.g. numba not installed
        return ()
    for part in qual.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return ()
    return tuple((code_key(c), f"{module}.{qual}") for c in _codes_of(obj))


def resolve(names) -> dict:
    """``{code key: dotted name}`` for answers named ``"module:qualname"``."""
    out = {}
    for name in names:
        out.update(_resolve_one(name))
    return out


@functools.cache
def _helpers() -> tuple:
    from . import checks, grading                           # noqa: F401 (loads every module)

    out = []
    for mod_name, mod in list(sys.modules.items()):
        if not (mod_name == "elbo_edu.course.grading" or
                mod_name.startswith("elbo_edu.course.checks")):
            continue
        for attr, v in vars(mod).items():
            if getattr(v, "__module__", None) == mod_name and (inspect.isfunction(v) or
                                                               inspect.isclass(v)):
                qual = f"{mod_name}.{attr}"
                out += [(code_key(c), qual) for c in _codes_of(v)]
    return tuple(out)


def grader_helpers() -> dict:
    """The graders' own reference functions: a student calling them delegates as well."""
    return dict(_helpers())


class DelegationTracer:
    """``with DelegationTracer(forbidden, allowed) as t: student(...)``; then ``t.hit`` is the
    dotted name of the first forbidden function reached (or ``None``).

    Parameters
    ----------
    forbidden : dict
        ``{code key: dotted name}`` (see :func:`resolve`).
    allowed : iterable of callables
        Grader-supplied callables; forbidden calls made (indirectly) from inside them are allowed.
    """

    def __init__(self, forbidden: dict, allowed=()):
        self.forbidden = forbidden
        self.allowed = {code_key(c) for a in allowed for c in _codes_of(a)}
        self.hit = None
        self._prev = None

    def _hook(self, frame, event, arg):
        if event != "call" or self.hit is not None:
            return
        c = frame.f_code
        name = self.forbidden.get((c.co_filename, c.co_firstlineno, c.co_name))
        if name is None:
            return
        f = frame.f_back
        while f is not None:
            if f.f_code is self._entry:
                break
            if code_key(f.f_code) in self.allowed:
                return
            f = f.f_back
        self.hit = name

    def __enter__(self):
        self._entry = sys._getframe(1).f_code
        self._prev = sys.getprofile()
        sys.setprofile(self._hook)
        return self

    def __exit__(self, *exc):
        sys.setprofile(self._prev)
        return False
