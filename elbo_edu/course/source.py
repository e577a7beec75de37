"""One chapter source, three notebooks: the published chapter, the nbgrader source, the student's.

A chapter source ``chapters/src/NN_*.py`` is a Python file in Jupytext's *percent* format, read
with :mod:`jupytext` itself. Exercise cells carry two extra pieces of cell metadata, written on
the cell marker line in Jupytext's ``key=value`` syntax:

``# %% solution="ex05_2"``
    a **solution cell**: the function the student writes. The code between the lines
    ``### BEGIN SOLUTION`` and ``### END SOLUTION`` is the solution; nbgrader replaces it with
    ``raise NotImplementedError()`` in the student's copy.
``# %% grade="ex05_2" points=2``
    an **autograded test cell** worth ``points``. Lines between ``### BEGIN HIDDEN TESTS`` and
    ``### END HIDDEN TESTS`` run when grading but are removed from the student's copy.

From this one source come

* :func:`published_notebook` -- the full chapter the tests execute: solutions and hidden tests
  in, the four marker lines and the exercise metadata removed (students get
  :func:`elbo_edu.course.student.student_notebook`, committed in ``chapters/``);
* :func:`nbgrader_notebook` -- the *source* notebook of an nbgrader assignment (the same cells,
  the markers kept, nbgrader's cell metadata ``{"solution", "grade", "locked", "points",
  "grade_id", "schema_version"}`` written);
* the student notebook, made from the nbgrader source by ``nbgrader generate_assignment``.

Both notebooks are written without outputs and with deterministic cell ids (``chNN-iii``), so a
rebuild of an unchanged source is byte-identical.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Cell", "read_cells", "published_notebook", "nbgrader_notebook", "render",
           "chapter_sources", "exercise_table", "MARKERS"]

MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS",
           "### END HIDDEN TESTS")
_GRADE_ID = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass
class Cell:
    """One cell of a chapter source: ``kind`` is ``"markdown"`` or ``"code"``; ``solution`` and
    ``grade`` name the exercise (or are ``None``); ``points`` is the test cell's score."""
    kind: str
    text: str
    solution: str | None = None
    grade: str | None = None
    points: float = 0.0
    extra: dict = field(default_factory=dict)


def _check_cell(cell: Cell, where: str) -> None:
    lines = {ln.strip() for ln in cell.text.splitlines()}
    sol = {"### BEGIN SOLUTION", "### END SOLUTION"} & lines
    hidden = {"### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"} & lines
    for name in (cell.solution, cell.grade):
        if name is not None and not (isinstance(name, str) and _GRADE_ID.match(name)):
            raise ValueError(f"{where}: exercise name {name!r} must be letters, digits, _ or -")
    if cell.solution is not None and cell.grade is not None:
        raise ValueError(f"{where}: a cell is either a solution or a test, not both")
    if cell.solution is not None and len(sol) != 2:
        raise ValueError(f"{where}: solution cell {cell.solution!r} needs '### BEGIN SOLUTION' "
                         "and '### END SOLUTION' lines")
    if cell.solution is None and sol:
        raise ValueError(f"{where}: solution markers outside a solution=... cell")
    if hidden and cell.grade is None:
        raise ValueError(f"{where}: hidden-test markers outside a grade=... cell")
    if cell.grade is not None and not (cell.points > 0):
        raise ValueError(f"{where}: test cell {cell.grade!r} needs points=<positive number>")


def read_cells(source: Path) -> list[Cell]:
    """Parse a percent-format chapter source with Jupytext; empty cells are dropped.

    Raises
    ------
    ValueError
        If exercise metadata is malformed (see the module docstring) or a name repeats.
    """
    import jupytext  # the [test], [docs] and [course] extras install it

    nb = jupytext.reads(Path(source).read_text(encoding="utf-8"), fmt="py:percent")
    cells, seen = [], set()
    for i, c in enumerate(nb.cells):
        if not c.source.strip():
            continue
        meta = dict(c.metadata)
        cell = Cell(c.cell_type, c.source, meta.pop("solution", None), meta.pop("grade", None),
                    float(meta.pop("points", 0) or 0), meta)
        where = f"{Path(source).name}, cell {i}"
        _check_cell(cell, where)
        for key in (("s", cell.solution), ("g", cell.grade)):
            if key[1] is not None:
                if key in seen:
                    raise ValueError(f"{where}: exercise name {key[1]!r} used twice")
                seen.add(key)
        cells.append(cell)
    return cells


def _strip_markers(text: str) -> str:
    return "\n".join(ln for ln in text.splitlines() if ln.strip() not in MARKERS)


def _new_notebook(stem: str, cells: list[Cell], nbgrader: bool):
    import nbformat

    nb = nbformat.v4.new_notebook()
    for i, c in enumerate(cells):
        text = c.text if nbgrader else _strip_markers(c.text)
        cell = (nbformat.v4.new_markdown_cell(text) if c.kind == "markdown"
                else nbformat.v4.new_code_cell(text))
        cell["id"] = f"ch{stem}-{i:03d}"
        if nbgrader and (c.solution or c.grade):
            meta = {"grade": c.grade is not None, "grade_id": c.solution or f"{c.grade}_test",
                    "locked": c.grade is not None, "schema_version": 3,
                    "solution": c.solution is not None, "task": False}
            if c.grade is not None:
                p = c.points
                meta["points"] = int(p) if p == int(p) else p
            cell["metadata"]["nbgrader"] = meta
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python",
                                 "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.validate(nb)
    return nb


def _stem(source: Path) -> str:
    return Path(source).stem.split("_")[0]


def published_notebook(source: Path):
    """The full chapter: solutions and hidden tests in, markers and exercise metadata removed.

    This is the version the tests execute (every derivation check with the solutions in place)
    and the one the documentation site's student pages are derived from
    (:func:`elbo_edu.course.student.student_view`); students get
    :func:`elbo_edu.course.student.student_notebook`, never this one.
    """
    return _new_notebook(_stem(source), read_cells(source), nbgrader=False)


def nbgrader_notebook(source: Path):
    """The nbgrader *source* notebook of the chapter (assignment ``chNN``)."""
    return _new_notebook(_stem(source), read_cells(source), nbgrader=True)


def render(nb) -> str:
    """The notebook as the text written to disk (``nbformat.writes`` plus a final newline)."""
    import nbformat

    return nbformat.writes(nb) + "\n"


def chapter_sources(src_dir: Path) -> list[Path]:
    """The chapter sources ``NN_*.py`` of ``src_dir``, in chapter order."""
    return sorted(p for p in Path(src_dir).glob("[0-9][0-9]_*.py"))


def exercise_table(source: Path) -> list[tuple[str, float]]:
    """``(exercise name, points)`` of every graded test cell of a chapter source, in order."""
    return [(c.grade, c.points) for c in read_cells(source) if c.grade is not None]
