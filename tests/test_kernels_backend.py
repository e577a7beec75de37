"""The backend switch (function, context manager, environment variable), the numba kernels run as
plain Python under ``NUMBA_DISABLE_JIT=1``, and the cheap import."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from elbo_edu import kernels as K

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str, **env) -> subprocess.CompletedProcess:
    full = {**os.environ, **env}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=full, cwd=ROOT, timeout=300)


def test_set_backend_returns_previous_and_use_backend_restores():
    start = K.get_backend()
    other = "numpy" if start == "numba" else "numba"
    assert K.set_backend(other) == start
    assert K.get_backend() == other
    with K.use_backend(start):
        assert K.get_backend() == start
    assert K.get_backend() == other
    K.set_backend(start)


@pytest.mark.parametrize("bad", ["cuda", "", None, 3])
def test_set_backend_rejects_unknown_names(bad):
    with pytest.raises(ValueError, match=r"^name: expected one of"):
        K.set_backend(bad)


def test_environment_variable_selects_the_backend():
    code = "from elbo_edu import kernels as K; print(K.get_backend())"
    assert _run(code, ELBO_EDU_BACKEND="numpy").stdout.strip() == "numpy"
    assert _run(code, ELBO_EDU_BACKEND=" NumBa ").stdout.strip() == "numba"
    bad = _run(code, ELBO_EDU_BACKEND="fortran")
    assert bad.returncode != 0 and "ELBO_EDU_BACKEND: expected one of" in bad.stderr


def test_importing_the_package_does_not_import_numba():
    code = ("import sys, elbo_edu, elbo_edu.kernels, elbo_edu.nn, elbo_edu.optim, elbo_edu.vae; "
            "print('numba' in sys.modules)")
    res = _run(code)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False"


def test_kernels_pass_without_the_jit():
    """The numba kernels as plain Python (``NUMBA_DISABLE_JIT=1``) still agree with the twins and
    pass the gradient checks: the small-array subset of ``test_kernels.py``."""
    res = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "tests" / "test_kernels.py"), "-q",
         "-p", "no:cacheprovider", "-k", "agree or gradients or equal"],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
        env={**os.environ, "NUMBA_DISABLE_JIT": "1"})
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert " passed" in res.stdout


def test_warmup_compiles_and_is_a_no_op_for_numpy():
    with K.use_backend("numpy"):
        assert K.warmup() == 0.0
    with K.use_backend("numba"):
        assert K.warmup(dtypes=("float32",)) >= 0.0
