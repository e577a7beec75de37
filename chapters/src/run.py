"""Execute chapters from a fresh kernel and report the wall time of each.

Usage::

    python chapters/src/run.py                  # every chapter, full version (solutions in)
    python chapters/src/run.py 03 05            # only the chapters whose names start so
    python chapters/src/run.py --save DIR 05    # also write the executed copies into DIR
    python chapters/src/run.py --student 05     # the student version: only its stubs may raise

The *full* version of a chapter is built from its source ``chapters/src/NN_*.py`` with the
solutions in (:func:`elbo_edu.course.source.published_notebook`); it fails if any cell raises, in
particular any ``assert`` of a derivation check. The *student* version is the committed
``chapters/NN_*.ipynb`` (:func:`elbo_edu.course.student.student_notebook`); it is executed with
errors allowed and passes if every error comes from an exercise stub's ``NotImplementedError``
(see :func:`stub_errors`). Nothing is written back into ``chapters/``.

``tests/test_chapters_execute.py`` executes every chapter once per test run through
:func:`execute_both` (the full chapter, then in the same kernel the student version of its
exercise section) and keeps the executed full copies in :data:`EXECUTED`
(``docs/_build/executed``), from which the documentation build makes the student pages without
executing again.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

CHAPTERS = Path(__file__).resolve().parents[1]
SRC = CHAPTERS / "src"
#: where the tests leave the executed full chapters for the documentation build
EXECUTED = CHAPTERS.parent / "docs" / "_build" / "executed"


def sources(prefixes=()) -> list[Path]:
    """The chapter sources ``NN_*.py``, in chapter order, those starting with ``prefixes``."""
    paths = sorted(SRC.glob("[0-9][0-9]_*.py"))
    return [p for p in paths if not prefixes or any(p.name.startswith(x) for x in prefixes)]


def full_notebook(source: Path):
    """The chapter with its solutions (what the derivation checks run on), without outputs."""
    from elbo_edu.course.source import published_notebook

    return published_notebook(source)


def student_notebook(source: Path):
    """The chapter as students get it (the committed notebook), without outputs."""
    from elbo_edu.course.student import student_notebook as _student

    return _student(source)


def execute(nb, timeout: int = 600, allow_errors: bool = False):
    """Execute ``nb`` in place in a new ``python3`` kernel whose working directory is
    ``chapters/``; return ``(nb, seconds)``. Without ``allow_errors`` the first cell that raises
    stops it with :class:`nbclient.exceptions.CellExecutionError`."""
    from nbclient import NotebookClient

    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
                   resources={"metadata": {"path": str(CHAPTERS)}}).execute()
    return nb, time.perf_counter() - start


#: run in the kernel right before the exercise section, and right after the full chapter: the
#: names the full exercise section defined are removed before its student version runs
_SNAPSHOT = "__names_before_exercises = set(globals())"
_RESTORE = ("for _name in set(globals()) - __names_before_exercises - {'_name'}:\n"
            "    del globals()[_name]")


def execute_both(source: Path, timeout: int = 600):
    """Execute the full chapter from a fresh kernel, then the student version of its exercise
    section in the same kernel; return ``(full, student, seconds)``, both executed.

    The two versions are the same up to the first exercise cell (checked), so the student
    version is not executed from the start again: at that cell the kernel's names are recorded;
    after the full chapter every name defined since is deleted, and the student cells from there
    on run with errors allowed (a stub's ``NotImplementedError`` must not stop them). A name
    that only a solution defines is therefore missing, as it is for a student.

    Raises
    ------
    nbclient.exceptions.CellExecutionError
        If a cell of the full chapter raises.
    """
    import copy

    import nbformat
    from nbclient import NotebookClient

    full, student = full_notebook(source), student_notebook(source)
    start = next(i for i, (a, b) in enumerate(zip(full.cells, student.cells))
                 if a.source != b.source)
    client = NotebookClient(full, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(CHAPTERS)}})
    begin = time.perf_counter()
    client.reset_execution_trackers()

    def aside(code: str, index: int) -> None:          # nbclient stores a cell at its index
        keep = client.nb.cells[index]
        client.execute_cell(nbformat.v4.new_code_cell(code), index, store_history=False)
        client.nb.cells[index] = keep

    with client.setup_kernel():
        for i, cell in enumerate(full.cells):
            if i == start:
                aside(_SNAPSHOT, i)
            client.execute_cell(cell, i, execution_count=client.code_cells_executed + 1)
        aside(_RESTORE, start)
        tail = copy.deepcopy(student)
        tail.cells[:start] = copy.deepcopy(full.cells[:start])
        client.nb, client.allow_errors = tail, True
        for i in range(start, len(tail.cells)):
            client.execute_cell(tail.cells[i], i, execution_count=client.code_cells_executed + 1)
    return full, tail, time.perf_counter() - begin


def _errors(cell) -> list:
    return [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]


def stub_errors(executed, source: Path) -> list[str]:
    """What is wrong with an executed *student* chapter: one line per cell whose error is not
    an exercise stub's, or per stub whose test cell did not fail. Empty when it ran as it should.

    A cell may raise ``NotImplementedError`` (a stub, or a cell using the student's function);
    an exercise's test cell must fail, with ``NotImplementedError`` in its traceback (a grader
    may wrap the stub's exception in its own); any other error in any cell is a defect.
    """
    from elbo_edu.course.source import read_cells

    cells = read_cells(source)
    problems = []
    for i, (cell, c) in enumerate(zip(executed.cells, cells)):
        for err in _errors(cell):
            text = err.get("ename", "") + " " + err.get("evalue", "") + " ".join(
                err.get("traceback", []))
            if err.get("ename") == "NotImplementedError":
                continue
            if c.grade is not None and "NotImplementedError" in text:
                continue
            problems.append(f"cell {i}: {err.get('ename')}: {err.get('evalue', '')[:200]}")
        if c.grade is not None and not _errors(cell):
            problems.append(f"cell {i}: the test of {c.grade} passed on the stub")
    return problems


def main(argv=None) -> int:
    import nbformat

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prefixes", nargs="*", help="chapter number prefixes, e.g. 01 05")
    parser.add_argument("--save", type=Path, help="folder for the executed copies")
    parser.add_argument("--student", action="store_true",
                        help="execute the student version (only stubs may raise)")
    args = parser.parse_args(argv)
    failed = 0
    for src in sources(args.prefixes):
        name = src.stem + ".ipynb"
        try:
            if args.student:
                nb, seconds = execute(student_notebook(src), allow_errors=True)
                problems = stub_errors(nb, src)
                if problems:
                    raise RuntimeError("; ".join(problems))
            else:
                nb, seconds = execute(full_notebook(src))
        except Exception as exc:  # report and continue with the next chapter
            failed += 1
            print(f"{name:45s} FAILED: {type(exc).__name__}: {str(exc)[-2000:]}")
            continue
        print(f"{name:45s} {seconds:6.1f} s")
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, args.save / name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
