"""``elbo-edu chapters OUT``: the student notebooks written, a student's edits never lost."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from elbo_edu.cli import main
from elbo_edu.course.chapters import shipped_chapters

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))


def test_writes_the_thirteen_student_chapters(tmp_path, capsys):
    out = tmp_path / "notes"
    assert main(["chapters", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == f"next: jupyter lab {out}"
    written = sorted(out.glob("*.ipynb"))
    assert [p.name for p in written] == [p.name for p in COMMITTED] and len(written) == 13
    for mine, ref in zip(written, COMMITTED):
        assert mine.read_bytes() == ref.read_bytes()           # the student version, unchanged
        nb = nbformat.read(mine, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert not any(c.outputs or c.execution_count for c in code), mine.name
        assert any("raise NotImplementedError()" in c.source for c in code), mine.name


def test_an_edited_notebook_is_kept_unless_force(tmp_path, capsys):
    out = tmp_path / "notes"
    assert main(["chapters", str(out)]) == 0
    edited = out / COMMITTED[4].name
    edited.write_text(edited.read_text(encoding="utf-8").replace("YOUR CODE HERE", "mine"),
                      encoding="utf-8")
    (out / COMMITTED[0].name).unlink()
    capsys.readouterr()
    assert main(["chapters", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--force" in err and edited.name in err, err
    assert "mine" in edited.read_text(encoding="utf-8")
    assert not (out / COMMITTED[0].name).exists()              # nothing at all was written
    assert main(["chapters", str(out), "--force"]) == 0
    assert edited.read_bytes() == COMMITTED[4].read_bytes()
    assert (out / COMMITTED[0].name).read_bytes() == COMMITTED[0].read_bytes()


def test_unchanged_notebooks_are_reported_not_rewritten(tmp_path, capsys):
    out = tmp_path / "notes"
    main(["chapters", str(out)])
    capsys.readouterr()
    assert main(["chapters", str(out)]) == 0
    assert "wrote 0 chapter notebooks" in capsys.readouterr().out


def test_out_that_is_a_file_is_one_line(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["chapters", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("elbo-edu chapters: error: OUT: ") and err.count("\n") == 1


def test_a_clone_ships_its_committed_chapters():
    assert [p.name for p in shipped_chapters()] == [p.name for p in COMMITTED]


def test_an_installation_without_chapters_says_how_to_get_them(monkeypatch, tmp_path):
    import elbo_edu.course.chapters as mod

    monkeypatch.setattr(mod, "__file__", str(tmp_path / "a" / "b" / "chapters.py"))
    with pytest.raises(ValueError, match="install it from a wheel"):
        shipped_chapters()
