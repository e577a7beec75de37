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
    ``### END HIDDEN TESTS`` run when grading but are removed from the student's copy. A hidden
    test calls its check with a literal ``seed=<int>``; a course built with a term's hidden seed
    replaces each literal by :func:`term_seed` of the two.
``# %% demo=true``
    a **demonstration cell** (it trains a model, draws a figure, runs a slow check) that no graded
    cell depends on. In the nbgrader source notebook its statements go under
    ``if not _grading:``, with ``_grading = os.environ.get("NBGRADER_EXECUTION")`` -- nbgrader sets
    that variable while it autogrades or validates -- so a submission is graded in seconds; the
    cell's imports stay in front, and a last expression (a figure) is still displayed. The
    student running the notebook sees the cell run as usual; the published chapter shows it
    unchanged.

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

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "GRADING_GUARD",
    "MARKERS",
    "Cell",
    "chapter_sources",
    "exercise_table",
    "nbgrader_notebook",
    "published_notebook",
    "read_cells",
    "render",
    "term_seed",
]

MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS",
           "### END HIDDEN TESTS")
_GRADE_ID = re.compile(r"^[A-Za-z0-9_-]+$")
_SEED = re.compile(r"\bseed\s*=\s*(\d+)\b")
#: The first lines of a demonstration cell in the nbgrader source notebook (after the cell's own
#: imports): nbgrader sets ``NBGRADER_EXECUTION`` while it autogrades or validates. The cell's
#: statements follow under ``if not _grading:``; a last expression, which the notebook displays
#: (a figure), becomes ``None if _grading else (expression)`` so that it is still displayed.
GRADING_GUARD = ("import os\n"
                 "_grading = os.environ.get(\"NBGRADER_EXECUTION\")  # set while nbgrader grades: "
                 "skip\n")


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

    try:
        text = Path(source).read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{source}: not UTF-8 text (byte {err.start} is "
                         f"{err.object[err.start:err.start + 1]!r}); save the chapter source as "
                         "UTF-8") from None
    nb = jupytext.reads(text, fmt="py:percent")
    cells, seen = [], set()
    for i, c in enumerate(nb.cells):
        if not c.source.strip():
            continue
        meta = dict(c.metadata)
        cell = Cell(c.cell_type, c.source, meta.pop("solution", None), meta.pop("grade", None),
                    float(meta.pop("points", 0) or 0), meta)
        where = f"{Path(source).name}, cell {i}"
        if "demo" in meta and (meta["demo"] is not True or cell.kind != "code"
                               or cell.solution or cell.grade):
            raise ValueError(f"{where}: demo=true marks a code cell that is neither a solution "
                             "nor a test")
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


def term_seed(hidden_seed: int, literal: int) -> int:
    """The seed a hidden test uses in a term drawn with ``hidden_seed``.

    ``int(sha256("elbo_edu hidden seed {hidden_seed} {literal}")[:4]) mod 2**31``: deterministic,
    different for each literal of a chapter, and not computable without the term's seed.
    """
    digest = hashlib.sha256(f"elbo_edu hidden seed {hidden_seed} {literal}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 2 ** 31


def _reseed(text: str, hidden_seed: int) -> str:
    """Replace each literal ``seed=<int>`` between the hidden-test markers by its term seed."""
    lines, hidden = text.splitlines(), False
    for k, line in enumerate(lines):
        if line.strip() in ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"):
            hidden = line.strip().startswith("### BEGIN")
        elif hidden:
            lines[k] = _SEED.sub(lambda m: f"seed={term_seed(hidden_seed, int(m.group(1)))}",
                                 line)
    return "\n".join(lines)


def _string_lines(text: str) -> set[int]:
    """Line numbers (1-based) that continue a multi-line string: indenting them would change it."""
    import ast

    inside = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.Constant, ast.JoinedStr)) and node.end_lineno > node.lineno:
            if isinstance(node, ast.JoinedStr) or isinstance(node.value, (str, bytes)):
                inside.update(range(node.lineno + 1, node.end_lineno + 1))
    return inside


def _insert(line: str, col: int, text: str) -> str:
    """``line`` with ``text`` inserted at the UTF-8 byte offset ``col`` (as :mod:`ast` counts)."""
    raw = line.encode("utf-8")
    return raw[:col].decode("utf-8") + text + raw[col:].decode("utf-8")


def _guarded(text: str) -> str:
    """A demonstration cell's code behind :data:`GRADING_GUARD`: its top-level imports stay in
    front (the names they bind exist while nbgrader grades), its statements go under
    ``if not _grading:``, and a displayed last expression stays displayed."""
    import ast

    tree = ast.parse(text)
    imports, stmts = set(), []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.update(range(node.lineno, node.end_lineno + 1))
        else:
            stmts.append(node)
    if not stmts:
        return text                                # nothing to skip (only imports or comments)
    lines = text.splitlines()
    last = stmts[-1]
    shown = isinstance(last, ast.Expr) and not lines[last.end_lineno - 1].encode(
        "utf-8")[last.end_col_offset:].decode("utf-8").strip().startswith(";")
    others_end = max([n.end_lineno for n in tree.body if n is not last], default=0)
    shown = shown and others_end < last.lineno        # not sharing a line (`ax.legend(); fig`)
    tail = set(range(last.lineno, last.end_lineno + 1)) if shown else set()
    keep = _string_lines(text)
    rest = [(k, ln) for k, ln in enumerate(lines, start=1) if k not in imports | tail]
    out = [lines[k - 1] for k in sorted(imports)] + GRADING_GUARD.splitlines()
    if len(stmts) > 1 or not shown:
        body = [ln if (k in keep or not ln.strip()) else "    " + ln for k, ln in rest]
        while body and not body[0].strip():
            body.pop(0)
        while body and not body[-1].strip():
            body.pop()
        out += ["if not _grading:"] + body
    else:
        out += [ln for _, ln in rest if ln.strip()]           # comments only
    if shown:
        block = lines[last.lineno - 1:last.end_lineno]
        block[-1] = _insert(block[-1], last.end_col_offset, ")")
        block[0] = _insert(block[0], last.col_offset, "None if _grading else (")
        out += block
    return "\n".join(out)


def _new_notebook(stem: str, cells: list[Cell], nbgrader: bool, hidden_seed: int | None = None,
                  guard: bool = True):
    import nbformat

    nb = nbformat.v4.new_notebook()
    for i, c in enumerate(cells):
        text = c.text if nbgrader else _strip_markers(c.text)
        if nbgrader and c.grade is not None and hidden_seed is not None:
            text = _reseed(text, hidden_seed)
        if nbgrader and guard and c.extra.get("demo"):
            text = _guarded(text)
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


def nbgrader_notebook(source: Path, *, hidden_seed: int | None = None, grading_guard: bool = True):
    """The nbgrader *source* notebook of the chapter (assignment ``chNN``).

    Demonstration cells (``demo=true``) are wrapped so that they skip while nbgrader grades
    (``grading_guard=False`` leaves them as written, as in the student's chapter). With
    ``hidden_seed`` (this term's seed, a non-negative int) every literal ``seed=<int>`` of a hidden
    test becomes :func:`term_seed` ``(hidden_seed, literal)``.

    Raises
    ------
    ValueError
        If ``hidden_seed`` is not a non-negative integer, or the source is malformed.
    """
    if hidden_seed is not None and (isinstance(hidden_seed, bool) or not isinstance(
            hidden_seed, int) or hidden_seed < 0):
        raise ValueError(f"--hidden-seed: expected a non-negative integer, got {hidden_seed!r}")
    return _new_notebook(_stem(source), read_cells(source), nbgrader=True,
                         hidden_seed=hidden_seed, guard=grading_guard)


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
