"""Static checks of the committed chapter notebooks (``test_chapters_execute.py`` runs them).

* committed without outputs or execution counts (students run them; diffs stay readable);
* a title, the derivation steps (D-ids) covered, at least one ``assert`` in the section of every
  D-id, and a closing "Try this" list of experiments;
* every D-id that ``DERIVATIONS.md`` assigns to a chapter is covered by that chapter's notebook
  (skipped when the shared folder beside the repository is absent, as on a user's fresh clone);
* notebooks built from a plain-text source in ``chapters/src`` are in sync with it, and they are
  the student version: exercises as stubs, no solution, no hidden test, no nbgrader markup.

The conventions are documented in ``docs/CONTRIBUTING_DOCS.md``.
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
SHARED = Path(__file__).resolve().parents[2] / "shared"
NOTEBOOKS = sorted(CHAPTERS.glob("[0-9][0-9]_*.ipynb"))
DID = re.compile(r"\bD(\d+)\.(\d+)\b")
ASSERT = re.compile(r"^\s*assert\b", re.MULTILINE)

pytestmark = pytest.mark.skipif(not NOTEBOOKS, reason="no chapter notebooks committed yet")


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _ids(text: str) -> list[str]:
    return [f"D{a}.{b}" for a, b in DID.findall(text)]


def _headings(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("#")]


def _chapter(path: Path) -> int:
    return int(path.name[:2])


def covered_ids(nb) -> list[str]:
    """The D-ids named in the first (title) cell, in order, without repeats."""
    return list(dict.fromkeys(_ids(nb.cells[0].source)))


def asserts_per_id(nb) -> dict[str, int]:
    """Number of code cells with an ``assert`` under each D-id heading.

    A Markdown heading that names one or more D-ids opens their section; the section runs to the
    next heading that names D-ids (headings without D-ids, like "Try this", close it too).
    """
    counts: dict[str, int] = {}
    current: list[str] = []
    for cell in nb.cells[1:]:
        if cell.cell_type == "markdown":
            for head in _headings(cell.source):
                current = list(dict.fromkeys(_ids(head)))
        elif cell.cell_type == "code" and ASSERT.search(cell.source):
            for d in current:
                counts[d] = counts.get(d, 0) + 1
    return counts


def derivation_table() -> dict[int, list[str]]:
    """Chapter number -> D-ids, parsed from the shared DERIVATIONS.md table."""
    table: dict[int, list[str]] = {}
    for line in (SHARED / "DERIVATIONS.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"\|\s*(\d\d)\s", line)
        if m:
            table[int(m.group(1))] = list(dict.fromkeys(_ids(line.split("|")[2])))
    return table


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    nb = _read(path)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; strip them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_title_and_derivation_ids(path):
    nb = _read(path)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), \
        f"{path.name}: the first cell must be a Markdown title ('# Chapter ...')"
    ids = covered_ids(nb)
    assert ids, f"{path.name}: the title cell must list the D-ids it covers"
    wrong = [d for d in ids if int(d[1:].split(".")[0]) != _chapter(path)]
    assert not wrong, f"{path.name}: D-ids {wrong} belong to another chapter"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_step_is_checked_by_an_assert(path):
    nb = _read(path)
    counts = asserts_per_id(nb)
    missing = [d for d in covered_ids(nb) if counts.get(d, 0) < 1]
    assert not missing, f"{path.name}: no asserting code cell under the heading of {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_ends_with_try_this(path):
    nb = _read(path)
    cells = [c for c in nb.cells if c.cell_type == "markdown"
             and any("try this" in h.lower() for h in _headings(c.source))]
    assert cells, f"{path.name}: no 'Try this' section"
    items = re.findall(r"^\s*(?:\d+\.|[-*])\s+\S", cells[-1].source, re.MULTILINE)
    assert len(items) >= 2, f"{path.name}: the 'Try this' section needs a list of experiments"


@pytest.mark.skipif(not (SHARED / "DERIVATIONS.md").is_file(),
                    reason="shared DERIVATIONS.md not found beside the repository")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_covers_its_row_of_the_derivation_map(path):
    """The steps of the shared DERIVATIONS.md; for the chapters written beyond it (12, 13), the
    steps that the project's own docs/derivation_map.md gives them."""
    chapter = _chapter(path)
    expected = derivation_table().get(chapter)
    if expected is None:
        rows = (ROOT / "docs" / "derivation_map.md").read_text(encoding="utf-8").splitlines()
        expected = [m.group(1) for m in (re.match(rf"^\|\s*(D{chapter}\.\d+)\s*\|", r) for r in rows) if m]
    assert expected, f"{path.name}: chapter {chapter:02d} is neither in DERIVATIONS.md nor in the map"
    missing = sorted(set(expected) - set(covered_ids(_read(path))))
    assert not missing, f"{path.name}: does not cover {missing}"


def _builder():
    spec = importlib.util.spec_from_file_location("chapters_build", CHAPTERS / "src" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BUILD_SOURCES = sorted((CHAPTERS / "src").glob("[0-9][0-9]_*.py"))


@pytest.mark.parametrize("source", BUILD_SOURCES, ids=lambda p: p.stem)
def test_notebook_matches_its_source(source):
    build = _builder()
    target = build.target(source)
    assert target.is_file(), f"{target.name} missing: run python chapters/src/build.py"
    assert target.read_text(encoding="utf-8") == build.render(source), \
        f"{target.name} is out of date with {source.name}: run python chapters/src/build.py"


def test_parser_finds_sections_and_asserts():
    """The structure check itself, on a small notebook built in memory."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Title\n\nSteps: D9.1, D9.2"),
                nbformat.v4.new_markdown_cell("## D9.1 first\ntext"),
                nbformat.v4.new_code_cell("x = 1\nassert x == 1"),
                nbformat.v4.new_markdown_cell("## D9.2 second"),
                nbformat.v4.new_code_cell("y = 2  # no check here"),
                nbformat.v4.new_markdown_cell("## Try this\n1. a\n2. b")]
    assert covered_ids(nb) == ["D9.1", "D9.2"]
    assert asserts_per_id(nb) == {"D9.1": 1}


def test_build_check_passes_from_the_command_line():
    """``python chapters/src/build.py --check`` (Jupytext parses the sources) exits 0."""
    import subprocess
    import sys
    pytest.importorskip("jupytext", reason="jupytext is not installed (pip install -e '.[test]')")
    res = subprocess.run([sys.executable, str(CHAPTERS / "src" / "build.py"), "--check"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_committed_chapters_are_student_versions():
    """Each committed chapter has one stub per exercise and no nbgrader markup (that nothing of a
    solution or hidden test is left is checked against the sources in ``test_student.py``)."""
    for path in NOTEBOOKS:
        text = path.read_text(encoding="utf-8")
        assert "### BEGIN SOLUTION" not in text and "### BEGIN HIDDEN TESTS" not in text, path.name
        assert '"nbgrader"' not in text, path.name
        source = CHAPTERS / "src" / (path.stem + ".py")
        n = source.read_text(encoding="utf-8").count('# %% solution="')
        stubs = sum(c.source.count("raise NotImplementedError()") for c in _read(path).cells
                    if c.cell_type == "code")
        assert n > 0 and stubs == n, (path.name, n, stubs)
