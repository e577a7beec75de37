"""The delegation check's answer lists name functions that exist.

A grader fails a student's function that calls the package's own answer; it finds those answers
by the names listed in :data:`elbo_edu.course.checks.answers.ANSWERS`. A name that no longer
resolves (a function renamed or moved) would be skipped silently and let a delegating answer pass,
so every name must resolve to at least one code object.
"""
import importlib.util

import pytest

from elbo_edu.course.checks.answers import ANSWERS
from elbo_edu.course.tracer import resolve

NAMES = sorted({name for names in ANSWERS.values() for name in names})


@pytest.mark.parametrize("name", NAMES)
def test_every_declared_answer_resolves(name):
    if name.startswith("elbo_edu.kernels.numba_backend") and importlib.util.find_spec("numba") is None:
        pytest.skip("numba is not installed")
    assert resolve([name]), f"{name} names no function: update the answer list after a move"
