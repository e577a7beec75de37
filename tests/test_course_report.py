"""The class report's parts that need no autograding (the whole report on a class of 24 students
autograded by nbgrader is ``test_course_nbgrader.py::test_class_report_counts_the_planted_slips``).
"""
from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest

from elbo_edu.course.report import class_report, mask_numbers, slips_in_cell


@pytest.mark.parametrize("sentence, masked", [
    ("off by the same constant +2.3e-08 at index 3", "off by the same constant … at index …"),
    ("shape (3, 1), expected (3,)", "shape (…, …), expected (…,)"),
    ("the answer is -0.5, you returned nan", "the answer is …, you returned …"),
    ("is a factor 1/2 missing?", "is a factor 1/2 missing?"),           # a formula keeps its
    ("the standard deviation is exp(logvar / 2).", "the standard deviation is exp(logvar / 2)."),
    ("Var = sum_k w_k (v_k + mu_k^2) - mean^2", "Var = sum_k w_k (v_k + mu_k^2) - mean^2"),
    ("You divided by N-1 in float32 at ex05_1", "You divided by N-1 in float32 at ex05_1"),
    ("7 times too large", "… times too large"),
])
def test_numbers_are_masked_but_formulas_kept(sentence, masked):
    assert mask_numbers(sentence) == masked


def test_slips_are_the_cross_lines_of_a_cell_each_once():
    cell = nbformat.v4.new_code_cell("check(f)")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="✓ part one: correct.\n"
                               "✗ off by 0.5 at index 2\n"),
        nbformat.v4.new_output("stream", name="stdout", text="✗ off by 0.7 at index 0\n"
                               "a line that mentions ✗ later\n"),
        nbformat.v4.new_output("error", ename="ExerciseError", evalue="off by 0.5 at index 2",
                               traceback=["✗ not from a stream"]),
    ]
    assert slips_in_cell(cell) == ["off by … at index …"]
    assert slips_in_cell(nbformat.v4.new_code_cell("x")) == []


def test_report_needs_a_gradebook(tmp_path):
    with pytest.raises(ValueError, match="^COURSE_DIR: no gradebook.db"):
        class_report(tmp_path)
    with pytest.raises(ValueError, match="^COURSE_DIR"):
        class_report(12)
    res = subprocess.run([sys.executable, "-c", "import sys; from elbo_edu.cli import main; "
                          "sys.exit(main())", "course", "report", str(tmp_path)],
                         capture_output=True, text=True)
    assert res.returncode == 2 and "nbgrader autograde" in res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
