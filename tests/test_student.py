"""The student version of a chapter (``elbo_edu.course.student``): stubs, visible tests, nothing
given away -- and the same cells nbgrader's own preprocessors produce."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from elbo_edu.course.source import nbgrader_notebook, published_notebook, read_cells, render
from elbo_edu.course.student import (remove_hidden_tests, student_notebook, student_view,
                                     stub_solution)

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "chapters" / "src").glob("[0-9][0-9]_*.py"))


def _regions(text: str, begin: str, end: str) -> list[str]:
    """The lines strictly between each ``begin`` and ``end`` marker line."""
    out, inside, block = [], False, []
    for line in text.splitlines():
        if begin in line:
            inside, block = True, []
        elif end in line:
            inside = False
            out.append("\n".join(block).strip())
        elif inside:
            block.append(line)
    return out


def test_stub_keeps_the_indentation_and_the_rest_of_the_cell():
    text = "def f(x):\n    '''doc'''\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n"
    assert stub_solution(text) == ("def f(x):\n    '''doc'''\n    # YOUR CODE HERE\n"
                                   "    raise NotImplementedError()\n")
    assert remove_hidden_tests("a\n### BEGIN HIDDEN TESTS\nb\n### END HIDDEN TESTS\nc") == "a\nc"


@pytest.mark.parametrize("text", ["### BEGIN SOLUTION\nx", "x\n### END SOLUTION",
                                  "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION"])
def test_unbalanced_regions_are_errors(text):
    with pytest.raises(ValueError, match="cell 7"):
        stub_solution(text, where="cell 7")


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_student_chapter_gives_nothing_away(source):
    """No solution region's code and no hidden test line of the source is in the student text;
    one stub per solution cell; every visible test line is there."""
    text = render(student_notebook(source))
    src = source.read_text(encoding="utf-8")
    cells = read_cells(source)
    solutions = _regions(src, "### BEGIN SOLUTION", "### END SOLUTION")
    hidden = _regions(src, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
    assert solutions and hidden
    nb = nbformat.reads(text, as_version=4)
    code = "\n".join(c.source for c in nb.cells)
    lines = {ln.strip() for ln in code.splitlines()}
    for block in solutions:
        assert block.strip() not in code, f"{source.name}: a solution is in the student text"
    for block in hidden:
        leaked = [ln.strip() for ln in block.splitlines() if ln.strip() in lines]
        assert not leaked, f"{source.name}: hidden test lines in the student text: {leaked}"
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and '"nbgrader"' not in text
    n_solutions = sum(c.solution is not None for c in cells)
    stubs = sum(c.source.count("raise NotImplementedError()") for c in nb.cells
                if c.cell_type == "code")
    assert stubs == n_solutions
    for c, cell in zip(cells, nb.cells):
        if c.grade is not None:
            visible = [ln for ln in c.text.split("### BEGIN HIDDEN TESTS")[0].splitlines()]
            assert cell.source.splitlines()[:len(visible)] == visible


@pytest.mark.parametrize("source", SOURCES[:3] + SOURCES[8:9], ids=lambda p: p.stem)
def test_student_cells_are_those_of_nbgraders_preprocessors(source):
    """nbgrader's ClearSolutions + ClearHiddenTests on the nbgrader source notebook give the
    same cell sources as :func:`student_notebook` (which does without nbgrader). The guard
    that skips demonstration cells while nbgrader grades belongs to the course's source
    notebook only, so it is left out of this comparison."""
    pytest.importorskip("nbgrader", reason="nbgrader is not installed")
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    nb = nbgrader_notebook(source, grading_guard=False)
    resources = {"language": "python"}
    nb, resources = ClearSolutions().preprocess(nb, resources)
    nb, resources = ClearHiddenTests().preprocess(nb, resources)
    ours = student_notebook(source)
    assert [c.source for c in ours.cells] == [c.source for c in nb.cells]


def test_student_view_of_an_executed_chapter(tmp_path):
    """Outputs of ordinary cells kept; solution and test cells stubbed, hidden tests gone,
    their outputs dropped; a stale executed copy refused."""
    source = SOURCES[4]
    full = published_notebook(source)
    for i, cell in enumerate(full.cells):
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"out {i}\n")]
            cell.execution_count = i
    view = student_view(full, source)
    student = student_notebook(source)
    assert [c.source for c in view.cells] == [c.source for c in student.cells]
    cells = read_cells(source)
    for i, (c, cell) in enumerate(zip(cells, view.cells)):
        if c.kind != "code":
            continue
        exercise = c.solution is not None or c.grade is not None
        assert (cell.outputs == []) == exercise, i
    stale = published_notebook(source)
    stale.cells[1].source += "\n# edited"
    with pytest.raises(ValueError, match="rebuild"):
        student_view(stale, source)
