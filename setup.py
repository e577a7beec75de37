"""Build hook: the wheel carries the chapters as students get them, made at build time.

Everything else is declared in ``setup.cfg``. When a wheel is built (from a clone or from the
sdist), the student version of every chapter source ``chapters/src/NN_*.py`` -- exercises as
stubs with their visible tests, no solution, no hidden test
(:func:`elbo_edu.course.student.student_notebook`) -- is written into the wheel's
``elbo_edu/course/notebooks/``, where ``elbo-edu chapters OUT`` finds it. No copy is kept in the
repository: the sources are the one truth. This needs Jupytext (``pyproject.toml`` lists it
among the build requirements); an editable install skips it (``elbo-edu chapters`` then reads
the clone's committed ``chapters/``).
"""
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


def write_student_chapters(target: Path) -> list[Path]:
    """Write ``NN_*.ipynb`` (the student chapters, no outputs) into ``target``."""
    sys.path.insert(0, str(ROOT))      # elbo_edu.course.{source,student} import no dependency
    try:
        from elbo_edu.course.source import chapter_sources, render
        from elbo_edu.course.student import student_notebook
    finally:
        sys.path.remove(str(ROOT))
    sources = chapter_sources(ROOT / "chapters" / "src")
    if not sources:
        raise RuntimeError(f"no chapter sources (NN_*.py) in {ROOT / 'chapters' / 'src'}")
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for src in sources:
        path = target / (src.stem + ".ipynb")
        path.write_text(render(student_notebook(src)), encoding="utf-8")
        written.append(path)
    return written


class BuildWithChapters(build_py):
    """``build_py`` plus the student chapters in ``elbo_edu/course/notebooks/``."""

    def run(self):
        super().run()
        if not getattr(self, "editable_mode", False):
            write_student_chapters(Path(self.build_lib) / "elbo_edu" / "course" / "notebooks")


setup(cmdclass={"build_py": BuildWithChapters})
