"""``elbo-edu course build OUT``: an nbgrader course folder made from the chapter sources.

Layout written::

    OUT/nbgrader_config.py          course id, a cell timeout, offline maths in the feedback
    OUT/source/ch01/ch01.ipynb      the nbgrader source notebooks (assignments ch01 ... ch13):
    ...                             the whole chapter, exercises marked for nbgrader
    OUT/source/ch13/ch13.ipynb
    OUT/instructor/                 solutions to every "Try this", the written problems with
                                    solutions, answers to the concept questions, the guide
    OUT/templates/                  nbgrader's feedback page, with MathJax from OUT/mathjax/
    OUT/mathjax/tex-svg-full.js     MathJax, so the feedback's maths renders offline
    OUT/README.md                   the teacher's next commands
    OUT/.elbo_edu_build.json        what the build wrote, with a SHA-256 of each file

A course folder holds a teacher's edits and nbgrader's gradebook, so the build refuses a folder
that is not empty unless ``force`` is given, and even then writes only the files above: a file
that differs from what the last build wrote (the teacher edited it) is kept and reported, and
``gradebook.db``, ``submitted/``, ``autograded/`` and ``feedback/`` are never touched (only
``release=True`` asks nbgrader itself to generate the student versions into ``release/``).

Then, inside ``OUT``: ``nbgrader generate_assignment ch05`` makes the student version in
``release/ch05/``; submissions go to ``submitted/<student>/ch05/ch05.ipynb``; and
``nbgrader autograde ch05`` grades them into ``gradebook.db``.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from .source import chapter_sources, exercise_table, nbgrader_notebook, render

__all__ = [
    "INSTRUCTOR_FILES",
    "MANIFEST",
    "NBGRADER_OWNED",
    "CourseTable",
    "assignment_name",
    "build_course",
    "find_chapter_sources",
]

HERE = Path(__file__).resolve().parent
#: The instructor-only files copied into ``OUT/instructor``; they live in ``chapters/instructor``,
#: beside the chapter sources (never in the package, so a student's install does not carry them).
INSTRUCTOR_FILES = ("instructor_guide.md", "try_this_solutions.md", "problem_solutions.md",
                    "concept_answers.md")
#: The build's record of what it wrote: ``{"files": {relative path: sha256 hex}}``.
MANIFEST = ".elbo_edu_build.json"
#: What nbgrader keeps in a course folder: the build never writes there.
NBGRADER_OWNED = ("gradebook.db", "release", "submitted", "autograded", "feedback")
#: Where to get the chapter sources when the package was installed from a wheel.
GET_SOURCES = ("the chapter sources are not installed with the package: unpack the source "
               "distribution (pip download elbo_edu --no-deps --no-binary :all:) or clone the "
               "repository, and pass --chapters <that folder>/chapters/src")

CONFIG = '''"""nbgrader configuration of the elbo_edu course (written by `elbo-edu course build`)."""
import os

import nbgrader

c = get_config()  # noqa: F821 - provided by nbgrader

c.CourseDirectory.course_id = "elbo_edu"
# Demonstration cells skip while nbgrader grades, so a submission takes seconds; a slow student
# function still gets a few minutes per cell before it counts as an error.
c.Execute.timeout = 300
# Each submission's kernel inherits this environment: one BLAS thread per kernel. The graders'
# arrays are small, and on a shared machine OpenBLAS's threads wait for each other (one grader
# cell took 1.7 s instead of 0.1 s). Set the variable before calling nbgrader to choose otherwise.
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
'''
#: Appended to :data:`CONFIG` when the bundled MathJax is installed (the ``course`` extra).
CONFIG_FEEDBACK = '''
# Feedback pages: nbgrader's own template, with MathJax loaded from mathjax/ in this folder
# instead of a CDN (templates/elbo_edu_feedback/mathjax.html.j2), so maths renders offline.
c.HTMLExporter.template_name = "elbo_edu_feedback"
c.HTMLExporter.extra_template_basedirs = [
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates"),
    os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader",
                 "templates"),
]
'''

#: ``templates/elbo_edu_feedback/``: nbgrader's feedback template with a MathJax 3 loader that
#: reads the bundled copy. Feedback pages sit in ``feedback/<student>/<assignment>/``, three
#: levels below the course folder.
FEEDBACK_CONF = '{\n  "base_template": "feedback",\n  "mimetypes": {"text/html": true}\n}\n'
FEEDBACK_MATHJAX = '''{#- MathJax for nbgrader's feedback pages, from the course folder's own copy (no CDN). -#}
{%- macro mathjax(url="../../../mathjax/tex-svg-full.js") -%}
    <script>
    window.MathJax = {
        tex: {inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]], processEscapes: true,
              tags: "ams"},
        svg: {fontCache: "global"}
    };
    </script>
    <script src="../../../mathjax/tex-svg-full.js" id="MathJax-script" async></script>
{%- endmacro %}
'''
MATHJAX_FILE = "tex-svg-full.js"       # one self-contained file: TeX input, SVG output, fonts

README = """# elbo_edu course folder

Made by `elbo-edu course build`. Run nbgrader from this folder:

    nbgrader generate_assignment ch05     # student version -> release/ch05/ch05.ipynb
    # hand out release/ch05/ch05.ipynb; collect each student's file into
    #   submitted/<student_id>/ch05/ch05.ipynb
    nbgrader autograde ch05                # scores -> gradebook.db
    nbgrader generate_feedback ch05        # optional: HTML feedback per student
    elbo-edu course report .               # per exercise: mean score, the slips students made

Solutions, answers and the instructor guide are in `instructor/` (do not hand that out).
{seed}
| assignment | exercises (points) |
|---|---|
{table}
"""


class CourseTable(dict):
    """``{assignment: [(exercise, points), ...]}`` as returned by :func:`build_course`, with

    ``written`` the files (relative to the course folder) this build wrote, and ``kept`` those
    it left alone because the teacher changed them after the last build (or they predate it).
    """
    written: list[str]
    kept: list[str]


def assignment_name(source: Path) -> str:
    """``chNN`` for a chapter source ``NN_*.py``."""
    return "ch" + Path(source).name[:2]


def _as_path(value, name: str) -> Path:
    if not isinstance(value, (str, os.PathLike)):
        raise ValueError(f"{name}: expected a folder path (str or os.PathLike), got "
                         f"{type(value).__name__} {value!r}")
    if not os.fspath(value):
        raise ValueError(f"{name}: the path is empty (that would be the current folder); "
                         "name the folder")
    return Path(value).expanduser()


def find_chapter_sources(chapters: str | Path | None = None) -> Path:
    """The folder of chapter sources: ``chapters`` if given (``chapters/src`` or its parent), else
    ``chapters/src`` of the repository this package runs from (a clone or an unpacked sdist).

    Raises
    ------
    ValueError
        If the folder holds no ``NN_*.py`` source; installed from a wheel with ``chapters``
        not given, the message says where to get the sources.
    """
    if chapters is None:
        path = HERE.parents[1] / "chapters" / "src"
        if not chapter_sources(path):
            raise ValueError(f"--chapters: {GET_SOURCES}")
        return path
    path = _as_path(chapters, "--chapters")
    if (path / "src").is_dir() and not chapter_sources(path):
        path = path / "src"
    if not chapter_sources(path):
        raise ValueError(f"--chapters: no chapter sources (NN_*.py) in {path}; pass the "
                         "chapters/src folder of the source distribution or a clone")
    return path


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_manifest(out: Path) -> dict:
    try:
        files = json.loads((out / MANIFEST).read_text(encoding="utf-8"))["files"]
        return {str(k): str(v) for k, v in files.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _mathjax_source() -> Path | None:
    """The bundled MathJax file of ``sphinx-mathjax-offline`` (the docs' copy), if installed."""
    from importlib.util import find_spec

    spec = find_spec("sphinx-mathjax-offline")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "static" / "mathjax" / MATHJAX_FILE
    return path if path.is_file() else None


def _planned_files(src_dir: Path, sources: list[Path], hidden_seed: int | None,
                   table: dict) -> dict[str, bytes]:
    """Every file the build writes: ``{path relative to OUT: content}``."""
    files: dict[str, bytes] = {}
    for src in sources:
        name = assignment_name(src)
        nb = nbgrader_notebook(src, hidden_seed=hidden_seed)
        files[f"source/{name}/{name}.ipynb"] = render(nb).encode("utf-8")
        table[name] = exercise_table(src)
    instr = src_dir.parent / "instructor"
    missing = [f for f in INSTRUCTOR_FILES if not (instr / f).is_file()]
    if missing:
        raise ValueError(f"--chapters: the instructor files {', '.join(missing)} are not in "
                         f"{instr} (beside the chapter sources)")
    for fname in INSTRUCTOR_FILES:
        files[f"instructor/{fname}"] = (instr / fname).read_bytes()
    mathjax = _mathjax_source()
    files["nbgrader_config.py"] = (CONFIG + (CONFIG_FEEDBACK if mathjax else "")).encode("utf-8")
    if mathjax is not None:                    # else nbgrader's own feedback page (MathJax: CDN)
        files["templates/elbo_edu_feedback/conf.json"] = FEEDBACK_CONF.encode("utf-8")
        files["templates/elbo_edu_feedback/mathjax.html.j2"] = FEEDBACK_MATHJAX.encode("utf-8")
        files[f"mathjax/{MATHJAX_FILE}"] = mathjax.read_bytes()
    rows = "\n".join(f"| {a} | " + ", ".join(f"{e} ({p:g})" for e, p in ex) + " |"
                     for a, ex in table.items())
    seed = ("" if hidden_seed is None else
            f"\nThe hidden tests use this term's seed {hidden_seed} (`--hidden-seed`).\n")
    files["README.md"] = README.format(table=rows, seed=seed).encode("utf-8")
    return files


def build_course(out: str | Path, chapters: str | Path | None = None, *,
                 only: list[str] | None = None, force: bool = False,
                 hidden_seed: int | None = None, release: bool = False) -> CourseTable:
    """Write the course folder; return ``{assignment: [(exercise, points), ...]}``
    (a :class:`CourseTable`, which also lists the files written and kept).

    Parameters
    ----------
    out : folder to write (created if needed; must be empty unless ``force``)
    chapters : folder of the chapter sources (default: see :func:`find_chapter_sources`); the
        instructor files are read from ``instructor/`` beside it
    only : chapter numbers (``["05", "09"]``) to include; default every chapter with exercises
    force : rebuild in a folder that is not empty: files the last build wrote and nobody changed
        are rewritten; everything else (edited files, nbgrader's gradebook and folders) is kept
    hidden_seed : this term's seed (non-negative int): each hidden test's literal ``seed=<int>``
        becomes :func:`elbo_edu.course.source.term_seed` of the two
    release : then run ``nbgrader generate_assignment`` for every assignment (in ``out``)

    Raises
    ------
    ValueError
        If ``out`` or ``chapters`` is not a path, ``out`` is not empty and ``force`` is false,
        ``only`` names no chapter, a chapter source is malformed or not UTF-8, or nbgrader fails
        to generate an assignment.
    """
    out = _as_path(out, "OUT")
    src_dir = find_chapter_sources(chapters)
    if out.exists() and not out.is_dir():
        raise ValueError(f"OUT: {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        what = "a course" if (out / "nbgrader_config.py").exists() else "files"
        raise ValueError(f"OUT: {out} already holds {what}; use --force to rebuild it (files you "
                         "edited, the gradebook and submissions are kept)")
    sources = [s for s in chapter_sources(src_dir) if exercise_table(s)]   # chapters with exercises
    if only:
        want = {str(x).zfill(2) for x in only}
        sources = [s for s in sources if s.name[:2] in want]
        if not sources:
            raise ValueError(f"--only: no chapter with exercises among {sorted(want)}")
    table = CourseTable()
    files = _planned_files(src_dir, sources, hidden_seed, table)
    recorded = _read_manifest(out)
    manifest, table.written, table.kept = dict(recorded), [], []
    for rel, data in files.items():
        path = out / rel
        assert rel.split("/")[0] not in NBGRADER_OWNED, rel
        if path.exists() and (rel not in recorded or _sha(path.read_bytes()) != recorded[rel]):
            table.kept.append(rel)                     # not ours any more: the teacher's file
            continue
        _write_atomic(path, data)
        manifest[rel] = _sha(data)
        table.written.append(rel)
    _write_atomic(out / MANIFEST, (json.dumps({"files": manifest}, indent=1, sort_keys=True)
                                   + "\n").encode("utf-8"))
    if release:
        for name in table:
            _generate(out, name, force)
    return table


def _generate(out: Path, name: str, force: bool) -> None:
    """``nbgrader generate_assignment name`` inside ``out``."""
    cmd = [sys.executable, "-m", "nbgrader", "generate_assignment", name]
    res = subprocess.run(cmd + (["--force"] if force else []), cwd=out, capture_output=True,
                         text=True)
    if res.returncode != 0:
        lines = [ln for ln in (res.stderr + res.stdout).splitlines() if "ERROR" in ln or
                 "Error" in ln] or (res.stderr + res.stdout).strip().splitlines() or ["no output"]
        raise ValueError(f"--release: nbgrader generate_assignment {name} failed: "
                         f"{lines[-1].strip()}")
