"""Build the chapter notebooks from their plain-text sources (``chapters/src/NN_*.py``).

Each source is a Python file in the "percent" format of Jupytext (also read by VS Code and
Spyder), parsed with :mod:`jupytext` itself:

* ``# %% [markdown]`` starts a Markdown cell; its lines carry a leading ``# `` that is removed;
* ``# %%`` starts a code cell; ``# %% solution="ex05_2"`` and ``# %% grade="ex05_2" points=2``
  mark an exercise's solution cell and its autograded test cell (nbgrader markup, see
  :mod:`elbo_edu.course.source`).

The committed ``chapters/NN_*.ipynb`` are the *student* chapters
(:func:`elbo_edu.course.student.student_notebook`): each exercise's solution region replaced by
``raise NotImplementedError()``, hidden tests removed, nbgrader markers gone. They are written
**without outputs** and with deterministic cell ids, so rebuilding an unchanged source gives a
byte-identical notebook (``tests/test_notebooks.py`` checks this). The solutions stay in the
sources; the full chapter (solutions in) is what the tests execute
(``tests/test_chapters_execute.py``), and the nbgrader source notebooks are made from the same
sources by ``elbo-edu course build OUT``. The wheel's copy of the student chapters is written by
the same function at build time (``setup.py``).
Usage::

    python chapters/src/build.py            # rebuild every notebook
    python chapters/src/build.py --check    # exit 1 if a notebook is out of date
    python chapters/src/build.py 01 05      # only the chapters whose names start so
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from elbo_edu.course.source import chapter_sources
from elbo_edu.course.source import render as _render
from elbo_edu.course.student import student_notebook

HERE = Path(__file__).resolve().parent
CHAPTERS = HERE.parent


def build_notebook(source: Path):
    """The student notebook for one source file, outputs empty, cell ids ``ch<NN>-<index>``."""
    return student_notebook(source)


def sources() -> list[Path]:
    """The chapter sources, ``NN_*.py`` in this folder, in chapter order."""
    return chapter_sources(HERE)


def target(source: Path) -> Path:
    return CHAPTERS / (source.stem + ".ipynb")


def render(source: Path) -> str:
    return _render(build_notebook(source))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale notebooks")
    parser.add_argument("prefixes", nargs="*", help="chapter number prefixes, e.g. 01 05")
    args = parser.parse_args(argv)
    stale = []
    for src in sources():
        if args.prefixes and not any(src.name.startswith(p) for p in args.prefixes):
            continue
        text, dst = render(src), target(src)
        if dst.exists() and dst.read_text(encoding="utf-8") == text:
            continue
        stale.append(dst.name)
        if not args.check:
            dst.write_text(text, encoding="utf-8")
            print(f"wrote {dst.relative_to(CHAPTERS.parent)}")
    if args.check and stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
