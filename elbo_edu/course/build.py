"""``elbo-edu course build OUT``: an nbgrader course folder made from the chapter sources.

Layout written (nothing else in ``OUT`` is touched, so a course in progress keeps its gradebook,
releases and submissions)::

    OUT/nbgrader_config.py          course id, a generous cell timeout
    OUT/source/ch01/ch01.ipynb      the nbgrader source notebooks (assignments ch01 ... ch13):
    ...                             the whole chapter, exercises marked for nbgrader
    OUT/source/ch13/ch13.ipynb
    OUT/instructor/                 solutions to every "Try this", the written problems with
                                    solutions, answers to the concept questions, the guide
    OUT/README.md                   the teacher's next commands

Then, inside ``OUT``: ``nbgrader generate_assignment ch05`` makes the student version in
``release/ch05/``; submissions go to ``submitted/<student>/ch05/ch05.ipynb``; and
``nbgrader autograde ch05`` grades them into ``gradebook.db``.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from .source import chapter_sources, exercise_table, nbgrader_notebook, render

__all__ = ["build_course", "find_chapter_sources", "INSTRUCTOR_FILES", "assignment_name"]

HERE = Path(__file__).resolve().parent
#: The instructor-only files copied into ``OUT/instructor``; they live in ``chapters/instructor``,
#: beside the chapter sources (never in the package, so a student's install does not carry them).
INSTRUCTOR_FILES = ("instructor_guide.md", "try_this_solutions.md", "problem_solutions.md",
                    "concept_answers.md")

CONFIG = '''"""nbgrader configuration of the elbo_edu course (written by `elbo-edu course build`)."""
c = get_config()  # noqa: F821 - provided by nbgrader

c.CourseDirectory.course_id = "elbo_edu"
# Autograding runs each whole chapter; a chapter trains small models, so allow minutes per cell.
c.Execute.timeout = 600
'''

README = """# elbo_edu course folder

Made by `elbo-edu course build`. Run nbgrader from this folder:

    nbgrader generate_assignment ch05     # student version -> release/ch05/ch05.ipynb
    # hand out release/ch05/ch05.ipynb; collect each student's file into
    #   submitted/<student_id>/ch05/ch05.ipynb
    nbgrader autograde ch05                # scores -> gradebook.db
    nbgrader generate_feedback ch05        # optional: HTML feedback per student

Solutions, answers and the instructor guide are in `instructor/` (do not hand that out).

| assignment | exercises (points) |
|---|---|
{table}
"""


def assignment_name(source: Path) -> str:
    """``chNN`` for a chapter source ``NN_*.py``."""
    return "ch" + Path(source).name[:2]


def find_chapter_sources(chapters: str | Path | None = None) -> Path:
    """The folder of chapter sources: ``chapters`` if given, else ``chapters/src`` of the
    repository this package was installed from (an editable install from a clone).

    Raises
    ------
    ValueError
        If the folder holds no ``NN_*.py`` source.
    """
    if chapters is None:
        path = HERE.parents[1] / "chapters" / "src"
    else:
        path = Path(chapters).expanduser()
        if (path / "src").is_dir() and not chapter_sources(path):
            path = path / "src"
    if not chapter_sources(path):
        raise ValueError(f"--chapters: no chapter sources (NN_*.py) in {path}; pass the "
                         "repository's chapters/src folder")
    return path


def build_course(out: str | Path, chapters: str | Path | None = None, *,
                 only: list[str] | None = None, force: bool = False) -> dict:
    """Write the course folder; return ``{assignment: [(exercise, points), ...]}``.

    Parameters
    ----------
    out : folder to write (created if needed)
    chapters : folder of the chapter sources (default: see :func:`find_chapter_sources`)
    only : chapter numbers (``["05", "09"]``) to include; default every chapter with exercises
    force : overwrite a course folder built before (its ``source/`` and ``instructor/``)

    Raises
    ------
    ValueError
        If ``out`` already holds a built course and ``force`` is false, if ``only`` names no
        chapter, or if a chapter source's exercise markup is malformed.
    """
    src_dir = find_chapter_sources(chapters)
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise ValueError(f"OUT: {out} exists and is not a folder")
    if (out / "nbgrader_config.py").exists() and not force:
        raise ValueError(f"OUT: {out} already holds a course (nbgrader_config.py); use --force "
                         "to rebuild its source/ and instructor/ folders")
    sources = [s for s in chapter_sources(src_dir) if exercise_table(s)]   # chapters with exercises
    if only:
        want = {str(x).zfill(2) for x in only}
        sources = [s for s in sources if s.name[:2] in want]
        if not sources:
            raise ValueError(f"--only: no chapter with exercises among {sorted(want)}")
    table = {}
    out.mkdir(parents=True, exist_ok=True)
    for src in sources:
        name = assignment_name(src)
        folder = out / "source" / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.ipynb").write_text(render(nbgrader_notebook(src)), encoding="utf-8")
        table[name] = exercise_table(src)
    instr = out / "instructor"
    instr.mkdir(exist_ok=True)
    for fname in INSTRUCTOR_FILES:
        shutil.copyfile(src_dir.parent / "instructor" / fname, instr / fname)
    (out / "nbgrader_config.py").write_text(CONFIG, encoding="utf-8")
    rows = "\n".join(f"| {a} | " + ", ".join(f"{e} ({p:g})" for e, p in ex) + " |"
                     for a, ex in table.items())
    (out / "README.md").write_text(README.format(table=rows), encoding="utf-8")
    return table
