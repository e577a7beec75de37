"""Every chapter executed from a fresh kernel: the full version once, the student version too.

* The **full** chapter (solutions in, built from ``chapters/src/NN_*.py``) must run without an
  error: every derivation check (``assert``) and every exercise test passes with the solutions.
  The executed copy is kept in ``docs/_build/executed/`` so that the documentation build shows
  its outputs on the student pages instead of executing every chapter a second time.
* The **student** chapter (the committed ``chapters/NN_*.ipynb``) must run to its stubs: the only
  errors are the stubs' ``NotImplementedError`` and every exercise test fails on its stub. The
  two versions agree up to the exercise section, so only that section's student version is run,
  in the same kernel, after the names the full section defined are deleted
  (``run.execute_both``); ``tests/test_wheel.py`` runs one student chapter from a fresh kernel.

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
def test_chapter_runs_full_and_to_its_stubs(source):
    """One execution per chapter: the full version from a fresh kernel (raises on the first
    failing cell), then in the same kernel the student version of the exercise section."""
    full, student, _ = RUN.execute_both(source)
    _save(full, source.stem + ".ipynb")
    problems = RUN.stub_errors(student, source)
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


def test_the_student_section_does_not_see_what_only_a_solution_defined(tmp_path):
    """execute_both: a later cell that needs a name only the solution defines fails in the
    student version, as it would for a student; the full version passes."""
    src = tmp_path / "01_tiny.py"
    src.write_text('# %% [markdown]\n# # Tiny\n\n# %%\na = 1\n\n# %% solution="ex01_1"\n'
                   '### BEGIN SOLUTION\ndef f(x):\n    return x + a\nsecret = 7\n'
                   '### END SOLUTION\n\n# %% grade="ex01_1" points=1\nassert f(2) == 3\n\n'
                   '# %%\nprint(a + secret)\n', encoding="utf-8")
    full, student, _ = RUN.execute_both(src)
    assert full.cells[-1].outputs[0].text == "8\n"
    assert RUN.stub_errors(student, src) == ["cell 3: NameError: name 'f' is not defined",
                                             "cell 4: NameError: name 'secret' is not defined"]
