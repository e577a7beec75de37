"""``elbo-edu course build``: a course folder is the teacher's, the sources come from a clone or an
sdist, hidden tests are drawn per term, demonstration cells skip while nbgrader grades.

No nbgrader run here (see ``test_course_nbgrader.py``): these tests only build folders.
"""
from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("jupytext", reason="jupytext is not installed (pip install -e '.[test]')")

from elbo_edu.course.build import MANIFEST, build_course, find_chapter_sources
from elbo_edu.course.source import (
    GRADING_GUARD,
    nbgrader_notebook,
    published_notebook,
    read_cells,
    term_seed,
)

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "chapters" / "src"
CH04 = sorted(SRC.glob("04_*.py"))[0]


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-c", "import sys; from elbo_edu.cli import main; "
                           "sys.exit(main())", *args], capture_output=True, text=True, cwd=cwd)


def _one_line_error(res, *phrases):
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr
    for p in phrases:
        assert p in res.stderr, (p, res.stderr)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------ the teacher's folder is safe
def test_rebuild_refused_without_force_and_keeps_what_the_teacher_owns(tmp_path):
    out = tmp_path / "course"
    build_course(out, SRC, only=["04"])
    manifest = json.loads((out / MANIFEST).read_text())["files"]
    assert "README.md" in manifest and "instructor/instructor_guide.md" in manifest
    assert manifest["source/ch04/ch04.ipynb"] == _sha(out / "source" / "ch04" / "ch04.ipynb")

    # the teacher edits two built files, adds one of their own; nbgrader's state appears
    (out / "README.md").write_text("my notes for this term\n")
    (out / "instructor" / "concept_answers.md").write_text("my answers\n")
    (out / "syllabus_2027.md").write_text("mine\n")
    nbgrader_state = {"gradebook.db": b"sqlite?", "submitted/ann/ch04/ch04.ipynb": b"{}",
                      "autograded/ann/ch04/ch04.ipynb": b"{1}", "feedback/ann/ch04/ch04.html": b"<"}
    for rel, data in nbgrader_state.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    with pytest.raises(ValueError, match="--force"):
        build_course(out, SRC, only=["04"])
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before   # untouched

    # --force: built files nobody changed are rewritten, the rest is kept and reported
    (out / "source" / "ch04" / "ch04.ipynb").unlink()              # a built file, deleted
    table = build_course(out, SRC, only=["04", "05"], force=True)
    assert sorted(table.kept) == ["README.md", "instructor/concept_answers.md"]
    assert "source/ch04/ch04.ipynb" in table.written and "source/ch05/ch05.ipynb" in table.written
    assert (out / "README.md").read_text() == "my notes for this term\n"
    assert (out / "instructor" / "concept_answers.md").read_text() == "my answers\n"
    assert (out / "syllabus_2027.md").read_text() == "mine\n"
    for rel, data in nbgrader_state.items():
        assert (out / rel).read_bytes() == data, rel
    # the edited files stay the teacher's in later builds, too
    again = build_course(out, SRC, only=["04", "05"], force=True)
    assert sorted(again.kept) == sorted(table.kept)


def test_force_keeps_files_no_build_recorded(tmp_path):
    """A folder with files of the same names that no build wrote (no manifest): all kept."""
    out = tmp_path / "course"
    (out / "instructor").mkdir(parents=True)
    (out / "README.md").write_text("a teacher's readme\n")
    (out / "instructor" / "instructor_guide.md").write_text("a teacher's guide\n")
    table = build_course(out, SRC, only=["04"], force=True)
    assert sorted(table.kept) == ["README.md", "instructor/instructor_guide.md"]
    assert (out / "README.md").read_text() == "a teacher's readme\n"
    assert (out / "source" / "ch04" / "ch04.ipynb").is_file()


def test_config_gives_grading_kernels_one_blas_thread_unless_set(tmp_path):
    """nbgrader's kernels inherit its environment: one BLAS thread each (threads waiting on each
    other on a shared machine made grader cells ten times slower), a teacher's own setting kept."""
    pytest.importorskip("nbgrader", reason="the configuration imports nbgrader")
    out = tmp_path / "course"
    build_course(out, SRC, only=["04"])
    code = ("import os, runpy\n"
            "from traitlets.config import Config\n"
            "runpy.run_path('nbgrader_config.py', {'get_config': Config})\n"
            "print([os.environ.get(v) for v in "
            "('OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS', 'OMP_NUM_THREADS')])\n")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    env["OMP_NUM_THREADS"] = "2"
    res = subprocess.run([sys.executable, "-c", code], cwd=out, env=env, capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["['1',", "'1',", "'2']"], res.stdout


def test_cli_refuses_existing_folder_empty_path_and_reports_kept(tmp_path):
    _one_line_error(_cli("course", "build", ""), "OUT", "empty")
    assert not (tmp_path / "nbgrader_config.py").exists()
    res = _cli("course", "build", "", cwd=tmp_path)
    _one_line_error(res, "OUT")
    assert list(tmp_path.iterdir()) == []                       # nothing written into the cwd
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "notes.txt").write_text("x")
    _one_line_error(_cli("course", "build", str(tmp_path / "c"), "--only", "04"), "--force")
    res = _cli("course", "build", str(tmp_path / "c"), "--only", "04", "--force")
    assert res.returncode == 0, res.stderr
    (tmp_path / "c" / "README.md").write_text("edited")
    res = _cli("course", "build", str(tmp_path / "c"), "--only", "04", "--force")
    assert res.returncode == 0 and "kept 1 file(s)" in res.stdout and "README.md" in res.stdout
    _one_line_error(_cli("course", "build", str(tmp_path / "d"), "--hidden-seed", "-3"),
                    "--hidden-seed")


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"^OUT: expected a folder path .* int 123"):
        build_course(123)
    with pytest.raises(ValueError, match="^OUT: the path is empty"):
        build_course("")
    with pytest.raises(ValueError, match="^--chapters: expected a folder path"):
        build_course("x", 4.5)
    with pytest.raises(ValueError, match="^--hidden-seed"):
        nbgrader_notebook(CH04, hidden_seed=-1)
    with pytest.raises(ValueError, match="^--hidden-seed"):
        nbgrader_notebook(CH04, hidden_seed=True)


def test_non_utf8_source_is_one_line_naming_the_file(tmp_path):
    src = tmp_path / "chapters" / "src"
    src.mkdir(parents=True)
    shutil.copytree(ROOT / "chapters" / "instructor", tmp_path / "chapters" / "instructor")
    (src / "04_kl.py").write_bytes(CH04.read_bytes().replace(b"# %% [markdown]",
                                                             b"# %% [markdown]\n# caf\xe9", 1))
    with pytest.raises(ValueError, match=r"04_kl\.py: not UTF-8 text \(byte \d+"):
        build_course(tmp_path / "c", src)
    res = _cli("course", "build", str(tmp_path / "c"), "--chapters", str(src))
    _one_line_error(res, "04_kl.py", "UTF-8")


# ------------------------------------------------------------------ where the sources come from
def test_sources_from_an_unpacked_sdist_layout(tmp_path):
    """``--chapters`` takes ``chapters/src`` (or ``chapters/``) of any copy of the sources."""
    copy = tmp_path / "elbo_edu-0.1.0" / "chapters"
    (copy / "src").mkdir(parents=True)
    shutil.copy(CH04, copy / "src")
    shutil.copytree(ROOT / "chapters" / "instructor", copy / "instructor")
    for given in (copy / "src", copy):
        out = tmp_path / f"c{len(given.parts)}"
        res = _cli("course", "build", str(out), "--chapters", str(given), cwd=tmp_path)
        assert res.returncode == 0 and "1 assignments (ch04)" in res.stdout, res.stderr
        assert (out / "instructor" / "problem_solutions.md").read_bytes() == \
            (copy / "instructor" / "problem_solutions.md").read_bytes()
    shutil.rmtree(copy / "instructor")
    res = _cli("course", "build", str(tmp_path / "c9"), "--chapters", str(copy / "src"))
    _one_line_error(res, "--chapters", "instructor")


def test_installed_without_sources_says_where_to_get_them(tmp_path, monkeypatch):
    """Installed from a wheel there is no chapters/src beside the package: one line saying to
    use the source distribution or the repository, naming no site-packages folder."""
    from elbo_edu.course import build

    monkeypatch.setattr(build, "HERE", tmp_path / "site-packages" / "elbo_edu" / "course")
    with pytest.raises(ValueError) as err:
        find_chapter_sources(None)
    msg = str(err.value)
    assert msg.startswith("--chapters:") and "\n" not in msg
    assert "source distribution" in msg and "repository" in msg and "site-packages" not in msg


# ------------------------------------------------------------------ hidden seeds, demo cells
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.DOTALL)


def _hidden_seeds(nb) -> list[int]:
    return [int(s) for c in nb.cells for block in HIDDEN.findall(c.source)
            for s in re.findall(r"\bseed=(\d+)", block)]


def test_hidden_seed_rewrites_every_hidden_literal_deterministically():
    for src in sorted(SRC.glob("[0-9][0-9]_*.py")):
        plain = nbgrader_notebook(src)
        literals = _hidden_seeds(plain)
        assert literals, src.name                               # each chapter has hidden tests
        term = nbgrader_notebook(src, hidden_seed=2027)
        assert _hidden_seeds(term) == [term_seed(2027, s) for s in literals]
        assert _hidden_seeds(nbgrader_notebook(src, hidden_seed=2027)) == _hidden_seeds(term)
        other = _hidden_seeds(nbgrader_notebook(src, hidden_seed=2028))
        assert all(a != b for a, b in zip(other, _hidden_seeds(term))), src.name
        # only the hidden tests change: every other cell is the same text
        changed = [i for i, (a, b) in enumerate(zip(plain.cells, term.cells))
                   if a.source != b.source]
        assert all("### BEGIN HIDDEN TESTS" in plain.cells[i].source for i in changed)
    seeds = {term_seed(n, lit) for n in range(50) for lit in (11, 12, 13)}
    assert len(seeds) == 150 and all(0 <= s < 2 ** 31 for s in seeds)


def test_course_build_hidden_seed_reaches_the_source_notebook(tmp_path):
    res = _cli("course", "build", str(tmp_path / "c"), "--only", "04", "--hidden-seed", "7")
    assert res.returncode == 0, res.stderr
    text = (tmp_path / "c" / "source" / "ch04" / "ch04.ipynb").read_text()
    import nbformat
    want = [term_seed(7, s) for s in _hidden_seeds(nbgrader_notebook(CH04))]
    assert _hidden_seeds(nbformat.reads(text, as_version=4)) == want
    assert "seed 7" in (tmp_path / "c" / "README.md").read_text()


def test_demo_cells_are_guarded_only_in_the_nbgrader_source(monkeypatch):
    """While nbgrader grades, a demonstration cell runs its imports and nothing else; the
    published chapter shows it as written; a last expression (a figure) stays the cell's last
    expression, so the notebook still displays it."""
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    n_demo = 0
    for src in sorted(SRC.glob("[0-9][0-9]_*.py")):
        cells = read_cells(src)
        graded, published = nbgrader_notebook(src), published_notebook(src)
        assert sum(bool(c.extra.get("demo")) for c in cells) >= 5, src.name
        for i, (c, g, p) in enumerate(zip(cells, graded.cells, published.cells)):
            assert p.source == (c.text if c.extra.get("demo") else p.source)
            if not c.extra.get("demo"):
                assert "NBGRADER_EXECUTION" not in g.source, (src.name, i)
                continue
            n_demo += 1
            assert GRADING_GUARD in g.source + "\n", (src.name, i)
            original = ast.parse(c.text).body
            imported = {(a.asname or a.name).split(".")[0] for s in original
                        if isinstance(s, (ast.Import, ast.ImportFrom)) for a in s.names}
            space: dict = {}
            exec(compile(g.source, f"{src.name}:{i}", "exec"), space)    # noqa: S102
            assert set(space) - {"__builtins__"} == imported | {"os", "_grading"}, (src.name, i)
            alone = len(original) < 2 or original[-2].end_lineno < original[-1].lineno
            if isinstance(original[-1], ast.Expr) and alone and not c.text.rstrip().endswith(";"):
                last = ast.parse(g.source).body[-1]
                assert isinstance(last, ast.Expr) and isinstance(last.value, ast.IfExp)
                assert ast.dump(last.value.orelse) == ast.dump(original[-1].value)
    assert n_demo >= 100


def test_demo_marker_on_a_graded_cell_is_refused(tmp_path):
    bad = tmp_path / "01_x.py"
    bad.write_text('# %% solution="ex01_1" demo=true\ndef f():\n    ### BEGIN SOLUTION\n'
                   '    return 1\n    ### END SOLUTION\n', encoding="utf-8")
    with pytest.raises(ValueError, match="demo=true"):
        read_cells(bad)
