"""A read-only package folder and a read-only home: importing and running the numba kernels never
fails on numba's cache (a fallback folder, or no cache), and ``NUMBA_CACHE_DIR`` is respected."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import elbo_edu

PACKAGE = Path(elbo_edu.__file__).parent
RUN_KERNEL = ("import numpy as np\n"
              "from elbo_edu.kernels import api\n"
              "api.set_backend('numba')\n"
              "logp, _ = api.bernoulli_loglik_grad(np.zeros((2, 3)), np.zeros((2, 3)))\n"
              "assert np.allclose(logp, -3 * np.log(2))\n"
              "from elbo_edu.kernels import _numba_cache\n"
              "print(_numba_cache.configure())\n")


def run(code, tmp_path, *, pythonpath=None, **env):
    environ = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR",
                                                                 "NUMBA_DISABLE_JIT")}
    environ.update(HOME=str(tmp_path / "home"), TMPDIR=str(tmp_path / "tmp"),
                   PYTHONDONTWRITEBYTECODE="1", **env)
    if pythonpath is not None:
        environ["PYTHONPATH"] = str(pythonpath)
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=environ, cwd=tmp_path, timeout=600)


def _unwritable(*places):
    """Code that makes numba's usual places (or every place) look unwritable."""
    return ("from pathlib import Path\n"
            "import elbo_edu.kernels._numba_cache as nc\n"
            "real = nc.writable\n"
            f"nc.writable = lambda p: False if {places!r} == ('all',) or "
            "p in nc._numba_places() else real(p)\n")


def test_unwritable_numba_places_fall_back_to_a_private_temporary_folder(tmp_path):
    proc = run(_unwritable("numba") + RUN_KERNEL, tmp_path)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    folder = Path(proc.stdout.strip())
    assert folder.parent == tmp_path / "tmp" and folder.name.startswith("elbo_edu-numba-")
    assert any(folder.rglob("*.nbi"))  # the compiled kernels were cached there


def test_nothing_writable_runs_without_a_cache(tmp_path):
    proc = run(_unwritable("all") + RUN_KERNEL, tmp_path)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout.strip() == "none"


def test_numba_cache_dir_is_respected(tmp_path):
    proc = run(RUN_KERNEL, tmp_path, NUMBA_CACHE_DIR=str(tmp_path / "mine"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "environment" and any((tmp_path / "mine").rglob("*.nbi"))


def test_a_read_only_install_and_home(tmp_path):
    """The real thing, where the test may mount read-only folders (root on Linux)."""
    copy, home = tmp_path / "pkg", tmp_path / "home"
    copy.mkdir()
    home.mkdir()
    shutil.copytree(PACKAGE, copy / "elbo_edu",
                    ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    mounted = []
    try:
        for folder in (copy, home):
            ok = subprocess.run(["mount", "--bind", str(folder), str(folder)],
                                capture_output=True).returncode == 0
            if ok:
                mounted.append(folder)
                ok = subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)],
                                    capture_output=True).returncode == 0
            if not ok:
                pytest.skip("cannot mount read-only folders here (needs root)")
        proc = run(RUN_KERNEL + "import elbo_edu\nassert elbo_edu.__file__.startswith("
                   f"{str(copy)!r})\n", tmp_path, pythonpath=copy)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stdout.strip().startswith(str(tmp_path / "tmp"))
    finally:
        for folder in mounted:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True)
