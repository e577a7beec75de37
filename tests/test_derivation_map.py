"""docs/derivation_map.md agrees with the chapter notebooks and the tests it names.

* every D-id of the map is mentioned in its chapter notebook;
* every D-id a chapter notebook mentions is in the map (and belongs to that chapter);
* every test the map names is a test function defined in the named file;
* the map lists every step of the shared DERIVATIONS.md (when that file is present), and its
  other steps belong to the chapters written beyond it (12 and 13), never to one of its chapters.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAP = ROOT / "docs" / "derivation_map.md"
CHAPTERS = ROOT / "chapters"
SHARED_DERIVATIONS = Path(__file__).resolve().parents[2] / "shared" / "DERIVATIONS.md"

D_ID = re.compile(r"(?<![\w.])D(\d{1,2})\.(\d{1,2})(?![\d])")
ROW = re.compile(r"^\|\s*(D\d+\.\d+)\s*\|(.*)\|\s*`([^`]+\.ipynb)`[^|]*\|\s*`([^`]+)`\s*\|\s*$")


def _parse_map() -> dict[str, tuple[str, str]]:
    """D-id -> (notebook pattern, 'tests/file.py::function')."""
    rows = {}
    for line in MAP.read_text(encoding="utf-8").splitlines():
        if re.match(r"^\|\s*D\d", line):
            m = ROW.match(line)
            assert m, f"malformed derivation-map row: {line!r}"
            d_id, _, notebook, test = m.groups()
            assert d_id not in rows, f"{d_id} is listed twice"
            rows[d_id] = (notebook, test)
    return rows


ROWS = _parse_map()


def _chapter(d_id: str) -> int:
    return int(D_ID.match(d_id).group(1))


def _notebook_text(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return "\n".join("".join(c.get("source", "")) for c in nb["cells"])


def _notebooks(pattern: str) -> list[Path]:
    return sorted(CHAPTERS.glob(pattern))


def _mentioned(text: str) -> set[str]:
    return {f"D{a}.{b}" for a, b in D_ID.findall(text)}


def test_map_is_well_formed_and_ordered():
    assert len(ROWS) >= 40
    for d_id, (notebook, test) in ROWS.items():
        assert notebook.startswith(f"{_chapter(d_id):02d}_"), f"{d_id} sits in {notebook}"
        assert re.fullmatch(r"tests/test_\w+\.py::test_\w+", test), f"{d_id}: bad test {test!r}"
    keys = [tuple(map(int, k[1:].split("."))) for k in ROWS]
    assert keys == sorted(keys)


def test_map_lists_every_step_of_the_shared_derivations():
    if not SHARED_DERIVATIONS.exists():
        pytest.skip(f"the shared DERIVATIONS.md is not present at {SHARED_DERIVATIONS}")
    table = [line for line in SHARED_DERIVATIONS.read_text(encoding="utf-8").splitlines()
             if re.match(r"^\| \d\d ", line)]
    expected = set().union(*(_mentioned(line) for line in table))
    assert expected <= set(ROWS), f"steps missing from the map: {sorted(expected - set(ROWS))}"
    shared_chapters = {int(line[2:4]) for line in table}
    beyond = sorted(d for d in set(ROWS) - expected if _chapter(d) in shared_chapters)
    assert not beyond, f"steps in the map that the shared derivations do not have: {beyond}"


@pytest.mark.parametrize("d_id", sorted(ROWS, key=lambda k: tuple(map(int, k[1:].split(".")))))
def test_each_step_is_covered_by_its_chapter_notebook(d_id):
    notebook, _ = ROWS[d_id]
    paths = _notebooks(notebook)
    assert len(paths) == 1, f"{d_id}: expected one notebook matching chapters/{notebook}, found {paths}"
    assert d_id in _mentioned(_notebook_text(paths[0])), f"{paths[0].name} does not mention {d_id}"


def test_notebooks_mention_only_mapped_steps_of_their_own_chapter():
    notebooks = sorted(CHAPTERS.glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        pytest.skip("no chapter notebooks yet")
    for path in notebooks:
        unknown = _mentioned(_notebook_text(path)) - set(ROWS)
        assert not unknown, f"{path.name} names steps missing from the map: {sorted(unknown)}"


@pytest.mark.parametrize("test", sorted({t for _, t in ROWS.values()}))
def test_each_named_test_exists(test):
    file, func = test.split("::")
    path = ROOT / file
    assert path.exists(), f"{file} does not exist"
    assert re.search(rf"^\s*def {func}\(", path.read_text(encoding="utf-8"), flags=re.M), \
        f"{file} defines no test function {func}"
