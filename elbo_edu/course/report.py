"""``elbo-edu course report COURSE_DIR``: the class report a teacher reads before the next lecture.

nbgrader's gradebook holds each student's score per graded cell; it does not say *why* points
were lost. The graders do: a failed check prints exactly one line starting with ``✗ `` (see
:func:`elbo_edu.course.grading.fail`) into the autograded notebook. This module reads both --
the gradebook through nbgrader's :class:`~nbgrader.api.Gradebook` API and the notebooks in
``autograded/<student>/<assignment>/`` -- and gives, per exercise,

* the mean score over the students who submitted the assignment, and
* how many students made each diagnosed slip, most common first.

Slips are grouped by their sentence with the numbers masked (``…``), so "off by 0.92 at index 3"
and "off by 1.4 at index 0" are one slip; numbers inside a formula (``1/2``, ``mu^2``) are kept,
since they name the slip. A graded cell that lost points without a ``✗`` line is counted as "not attempted"
(its stub's ``NotImplementedError``) or as "raised <ErrorName>".
"""
from __future__ import annotations

import csv
import io
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "NOT_ATTEMPTED",
    "ExerciseReport",
    "class_report",
    "format_report",
    "mask_numbers",
    "slips_in_cell",
    "write_report",
]

FAIL_MARK = "✗ "
NOT_ATTEMPTED = "not attempted (the stub's NotImplementedError)"
_NUMBER = re.compile(r"(?<![\w.+\-])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])"
                     r"|(?<![\w.])(?:nan|inf)(?![\w.])")
_OPERATORS = "^/*"


def mask_numbers(sentence: str) -> str:
    """``sentence`` with each number that is a value replaced by ``…``.

    A number written as part of a formula -- next to ``^``, ``/`` or ``*``, as in ``1/2``,
    ``mu^2``, ``exp(logvar / 2)`` -- is kept, as are digits inside words (``float32``, ``N-1``).
    """
    def value(m: re.Match) -> str:
        before = sentence[:m.start()].rstrip()[-1:]
        after = sentence[m.end():].lstrip()[:1]
        return m.group(0) if (before and before in _OPERATORS) or (after and after in
                                                                    _OPERATORS) else "…"

    return _NUMBER.sub(value, sentence).strip()


def slips_in_cell(cell) -> list[str]:
    """The masked ``✗`` sentences an executed notebook cell printed (each once, in order)."""
    found = []
    for output in cell.get("outputs", []):
        text = output.get("text", "") if output.get("output_type") == "stream" else ""
        for line in text.splitlines():
            if line.startswith(FAIL_MARK):
                s = mask_numbers(line[len(FAIL_MARK):])
                if s not in found:
                    found.append(s)
    return found


def _error_name(cell) -> str | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return output.get("ename") or "an error"
    return None


@dataclass
class ExerciseReport:
    """One exercise of the class: ``mean`` score of ``max_score`` over ``students`` submissions;
    ``slips`` maps each masked sentence to the number of students whose test cell printed it."""
    assignment: str
    exercise: str
    max_score: float
    students: int
    mean: float
    slips: Counter = field(default_factory=Counter)


def _exercise_name(grade_cell_name: str) -> str:
    return grade_cell_name.removesuffix("_test")


def class_report(course_dir: str | Path) -> list[ExerciseReport]:
    """The report of every autograded exercise in the course folder ``course_dir``.

    Raises
    ------
    ValueError
        If ``course_dir`` is not a path or holds no ``gradebook.db`` (run ``nbgrader autograde``
        first), or if nbgrader is not installed.
    """
    import nbformat

    if not isinstance(course_dir, (str, os.PathLike)) or not os.fspath(course_dir):
        raise ValueError(f"COURSE_DIR: expected a course folder path, got {course_dir!r}")
    course = Path(course_dir).expanduser()
    db = course / "gradebook.db"
    if not db.is_file():
        raise ValueError(f"COURSE_DIR: no gradebook.db in {course}; run nbgrader autograde there "
                         "first")
    try:
        from nbgrader.api import Gradebook, MissingEntry
    except ImportError:
        raise ValueError("course report needs nbgrader: pip install -e \".[course]\"") from None
    rows: list[ExerciseReport] = []
    with Gradebook(f"sqlite:///{db}") as gb:
        for assignment in sorted(gb.assignments, key=lambda a: a.name):
            for notebook in assignment.notebooks:
                cells = sorted(notebook.grade_cells, key=lambda c: c.name)
                reports = {c.name: ExerciseReport(assignment.name, _exercise_name(c.name),
                                                  float(c.max_score), 0, 0.0) for c in cells}
                totals = Counter()
                for sub in notebook.submissions:
                    student = sub.student.id
                    path = (course / "autograded" / student / assignment.name
                            / f"{notebook.name}.ipynb")
                    graded = {}
                    if path.is_file():
                        nb = nbformat.read(path, as_version=4)
                        graded = {c.metadata.get("nbgrader", {}).get("grade_id"): c
                                  for c in nb.cells}
                    for cell in cells:
                        try:
                            grade = gb.find_grade(cell.name, notebook.name, assignment.name,
                                                  student)
                        except MissingEntry:
                            continue
                        rep = reports[cell.name]
                        rep.students += 1
                        score = float(grade.score or 0.0)
                        totals[cell.name] += score
                        if score >= rep.max_score or cell.name not in graded:
                            continue
                        said = slips_in_cell(graded[cell.name])
                        if not said:
                            name = _error_name(graded[cell.name])
                            said = [NOT_ATTEMPTED if name == "NotImplementedError"
                                    else f"raised {name}" if name else "lost points, no message"]
                        rep.slips.update(said)
                for name, rep in reports.items():
                    rep.mean = totals[name] / rep.students if rep.students else float("nan")
                    rows.append(rep)
    return rows


def format_report(report: list[ExerciseReport]) -> str:
    """The table printed by ``elbo-edu course report``: one block per exercise."""
    lines = []
    for rep in report:
        lines.append(f"{rep.assignment} {rep.exercise}: mean {rep.mean:.2f} of "
                     f"{rep.max_score:g} points over {rep.students} students")
        for sentence, n in rep.slips.most_common():
            lines.append(f"  {n:4d}  {sentence}")
    return "\n".join(lines) if lines else "no autograded submissions in the gradebook"


def _csv_text(report: list[ExerciseReport]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["assignment", "exercise", "max_score", "students", "mean_score", "slip",
                "students_with_slip"])
    for rep in report:
        slips = rep.slips.most_common() or [("", 0)]
        for sentence, n in slips:
            w.writerow([rep.assignment, rep.exercise, f"{rep.max_score:g}", rep.students,
                        f"{rep.mean:.4f}", sentence, n])
    return buf.getvalue()


def _short(text: str, width: int = 70) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def write_report(report: list[ExerciseReport], out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``class_report.csv`` and ``class_report.png`` into ``out_dir``; return their paths.

    The figure: left, each exercise's mean score as a share of its points; right, the most common
    slips of the class (students per slip), labelled with their exercise.
    """
    from matplotlib.figure import (
        Figure,  # no pyplot: the caller's backend is left alone
    )

    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    csv_path, png_path = out / "class_report.csv", out / "class_report.png"
    tmp = csv_path.with_name(f".{csv_path.name}.tmp{os.getpid()}")
    tmp.write_text(_csv_text(report), encoding="utf-8")
    os.replace(tmp, csv_path)

    slips = sorted(((n, f"{r.exercise}: {_short(s)}") for r in report
                    for s, n in r.slips.items() if s != NOT_ATTEMPTED),
                   key=lambda t: (-t[0], t[1]))[:15]
    height = max(3.0, 0.32 * max(len(report), len(slips)) + 1.2)
    fig = Figure(figsize=(14, height))
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 2.2]})
    names = [f"{r.exercise}" for r in report][::-1]
    shares = [100 * r.mean / r.max_score if r.students else 0.0 for r in report][::-1]
    left.barh(names, shares, color="#4c72b0")
    left.set_xlim(0, 100)
    left.set_xlabel("mean score (% of the exercise's points)")
    left.set_title("score per exercise")
    for y, v in enumerate(shares):
        left.text(min(v + 1, 88), y, f"{v:.0f}%", va="center", fontsize=8)
    if slips:
        counts, labels = zip(*slips[::-1])
        right.barh(range(len(slips)), counts, color="#dd8452")
        right.set_yticks(range(len(slips)), labels, fontsize=8)
        right.set_xlabel("students")
        right.xaxis.get_major_locator().set_params(integer=True)
    else:
        right.text(0.5, 0.5, "no diagnosed slips", ha="center", va="center")
        right.set_yticks([])
    n_students = max((r.students for r in report), default=0)
    right.set_title(f"the most common slips ({n_students} students)")
    fig.tight_layout()
    tmp = png_path.with_name(f".{png_path.name}.tmp{os.getpid()}.png")
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, png_path)
    return csv_path, png_path
