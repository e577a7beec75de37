"""The student version of a chapter: exercises as stubs, hidden tests removed, nothing else.

What a student opens -- the committed ``chapters/NN_*.ipynb``, the chapter pages of the
documentation site and their ``.ipynb`` downloads, what ``elbo-edu chapters`` writes, the wheel --
is this version of the chapter source ``chapters/src/NN_*.py``:

* in a solution cell (``# %% solution="exNN_k"``) the lines from ``### BEGIN SOLUTION`` to
  ``### END SOLUTION`` become ``# YOUR CODE HERE`` and ``raise NotImplementedError()``, indented
  as the ``BEGIN`` line was;
* in a test cell (``# %% grade="exNN_k" points=P``) the lines from ``### BEGIN HIDDEN TESTS`` to
  ``### END HIDDEN TESTS`` are removed; the visible test stays;
* every other cell is the published chapter's cell, unchanged.

These are nbgrader's own conventions (its ``ClearSolutions`` and ``ClearHiddenTests``
preprocessors do the same; ``tests/test_student.py`` compares the two), written here without
nbgrader, so the package can build the student chapters from Jupytext and nbformat alone -- at
wheel build time, with no course tools installed. Cell ids are those of the published chapter
(``chNN-iii``), so cell ``i`` of the student version is cell ``i`` of the full one, and the result
is byte-deterministic (:func:`elbo_edu.course.source.render`).
"""
from __future__ import annotations

from pathlib import Path

from .source import _new_notebook, _stem, read_cells

__all__ = ["student_notebook", "student_view", "stub_solution", "remove_hidden_tests",
           "CODE_STUB"]

#: what replaces a solution region (nbgrader's ``ClearSolutions.code_stub`` for Python)
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")


def _region(text: str, begin: str, end: str, replace, where: str) -> str:
    """Apply ``replace(begin_line) -> list of lines`` to every ``begin`` ... ``end`` region."""
    out, inside = [], False
    for line in text.split("\n"):
        if begin in line:
            if inside:
                raise ValueError(f"{where}: {begin!r} inside an open region")
            inside = True
            out.extend(replace(line))
        elif end in line:
            if not inside:
                raise ValueError(f"{where}: {end!r} without {begin!r}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: {begin!r} is never closed by {end!r}")
    return "\n".join(out)


def stub_solution(text: str, where: str = "cell") -> str:
    """``text`` with each ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region replaced by
    :data:`CODE_STUB`, indented as the ``BEGIN`` line.

    Raises
    ------
    ValueError
        If the regions are unbalanced or nested (``where`` names the cell in the message).
    """
    def stub(line):
        indent = line[:len(line) - len(line.lstrip())]
        return [indent + s for s in CODE_STUB]

    return _region(text, "BEGIN SOLUTION", "END SOLUTION", stub, where)


def remove_hidden_tests(text: str, where: str = "cell") -> str:
    """``text`` without its ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` regions.

    Raises
    ------
    ValueError
        If the regions are unbalanced or nested.
    """
    return _region(text, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", lambda line: [], where)


def _student_cells(source: Path):
    """The cells of a chapter source with solutions stubbed and hidden tests removed."""
    cells = read_cells(source)
    for i, c in enumerate(cells):
        where = f"{Path(source).name}, cell {i}"
        if c.solution is not None:
            c.text = stub_solution(c.text, where)
        elif c.grade is not None:
            c.text = remove_hidden_tests(c.text, where)
    return cells


def student_notebook(source: Path):
    """The student notebook of a chapter source ``NN_*.py``, without outputs.

    Needs only Jupytext and nbformat (no nbgrader).

    Raises
    ------
    ValueError
        If the source's exercise markup is malformed.
    """
    return _new_notebook(_stem(source), _student_cells(source), nbgrader=False)


def student_view(executed, source: Path):
    """The student version of ``executed``, an executed copy of the *published* chapter of
    ``source`` (solutions in): its outputs, except that solution cells get the stub and no
    output, and test cells lose their hidden tests and their output.

    This is how the documentation site shows a chapter's figures and numbers without executing
    it a second time and without a solution or hidden test on the page.

    Raises
    ------
    ValueError
        If ``executed`` is not a copy of this source's published chapter (different cells).
    """
    import copy

    from .source import published_notebook

    full, cells = published_notebook(source), _student_cells(source)
    if len(executed.cells) != len(full.cells) or any(
            e.get("id") != f.get("id") or e.source != f.source
            for e, f in zip(executed.cells, full.cells)):
        raise ValueError(f"executed: not a copy of the published chapter of "
                         f"{Path(source).name} as it is now (rebuild and execute it again)")
    nb = copy.deepcopy(executed)
    for cell, c in zip(nb.cells, cells):
        if c.solution is not None or c.grade is not None:
            cell.source = c.text
            cell.outputs = []
            cell.execution_count = None
    return nb
