"""Every chapter executed from a fresh kernel: the full version once, the student version too.

* The **full** chapter (solutions in, built from ``chapters/src/NN_*.py``) must run without an
  error: every derivation check (``assert``) and every exercise test passes with the solutions.
  The executed copy is kept in ``docs/_build/executed/`` so that the documentation build shows
  its outputs on the student pages instead of executing every chapter a second time.
* The **student** chapter (the committed ``chapters/NN_*.ipynb``) must run to its stubs: the only
  errors are the stubs' ``NotImplementedError`` and every exercise test fails on its stub.

``python chapters/src/run.py NN`` (or ``--student NN``) does the same for one chapter by hand.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("nbclient", reason="nbclient is not installed (pip install -e '.[test]')")
pytest.importorskip("jupytext", reason="jupytext is not installed (pip install -e '.[test]')")


def _runner():
    path = ROOT / "chapters" / "src" / "run.py"
    spec = importlib.util.spec_from_file_location("chapters_run", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RUN = _runner()
SOURCES = RUN.sources()


def _save(nb, name: str) -> None:
    """Write the executed notebook atomically into the cache folder the docs build reads."""
    import nbformat

    RUN.EXECUTED.mkdir(parents=True, exist_ok=True)
    tmp = RUN.EXECUTED / f".{name}.{os.getpid()}.tmp"
    nbformat.write(nb, tmp)
    os.replace(tmp, RUN.EXECUTED / name)


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_full_chapter_runs_from_a_fresh_kernel(source):
    nb, _ = RUN.execute(RUN.full_notebook(source))      # raises on the first failing cell
    _save(nb, source.stem + ".ipynb")


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_student_chapter_runs_to_its_stubs(source):
    nb, _ = RUN.execute(RUN.student_notebook(source), allow_errors=True)
    problems = RUN.stub_errors(nb, source)
    assert not problems, f"{source.stem} (student version): " + "; ".join(problems)


def test_stub_errors_names_a_foreign_error_and_a_passing_stub(tmp_path):
    """The student-run check itself, on a small chapter: a stub's NotImplementedError is
    accepted; a ZeroDivisionError elsewhere, and a test cell that passes on the stub, are not."""
    import nbformat

    src = tmp_path / "01_tiny.py"
    src.write_text('# %% [markdown]\n# # Tiny\n\n# %% solution="ex01_1"\ndef f(x):\n'
                   '    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n\n'
                   '# %% grade="ex01_1" points=1\nassert f(2) == 2\n\n'
                   '# %%\ny = 1 / 0\n', encoding="utf-8")
    from elbo_edu.course.student import student_notebook

    nb = student_notebook(src)
    run, _ = RUN.execute(nbformat.from_dict(nb), allow_errors=True)
    assert RUN.stub_errors(run, src) == ["cell 3: ZeroDivisionError: division by zero"]
    nb.cells[2].source = "pass"                          # a test that cannot fail
    nb.cells[3].source = "y = 1"
    run, _ = RUN.execute(nb, allow_errors=True)
    assert RUN.stub_errors(run, src) == ["cell 2: the test of ex01_1 passed on the stub"]
