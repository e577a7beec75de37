"""The distributions as a user gets them: ``python -m build`` makes a complete sdist and a clean
wheel, and the wheel works in a fresh virtual environment with nothing else present.

The wheel is built from the sdist (``python -m build``'s default), so a file the sdist lacks
breaks the wheel build. The fresh environment sees the test environment's packages
(a ``.pth`` line; the wheel installed ``--no-deps``): offline and quick, while
``elbo_edu`` itself comes only from the wheel (checked).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from test_student import _regions     # the lines between each pair of markers

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "chapters" / "src").glob("[0-9][0-9]_*.py"))
COMMITTED = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
INSTRUCTOR = sorted((ROOT / "chapters" / "instructor").glob("*.md"))
pytest.importorskip("build", reason="the 'build' package is not installed")


def _run(cmd, cwd, env=None, timeout=900):
    res = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=timeout)
    assert res.returncode == 0, \
        f"{cmd}: exit {res.returncode}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT], cwd=ROOT)
    wheel, = out.glob("elbo_edu-*.whl")
    sdist, = out.glob("elbo_edu-*.tar.gz")
    return wheel, sdist


def test_the_wheel_holds_the_package_and_the_student_chapters_only(dist):
    wheel, _ = dist
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        texts = {n: z.read(n).decode("utf-8", "replace") for n in names
                 if n.endswith((".py", ".ipynb", ".md", ".txt", ".cfg", ".json"))}
        notebooks = {Path(n).name: z.read(n) for n in names
                     if n.startswith("elbo_edu/course/notebooks/")}
    tops = {n.split("/")[0] for n in names}
    assert tops == {"elbo_edu", wheel.name.split("-py3")[0] + ".dist-info"}, tops
    assert not [n for n in names if n.endswith(".md") or "/tests/" in n or "test_" in n], names
    # the thirteen chapters, byte for byte the committed student notebooks
    assert sorted(notebooks) == [p.name for p in COMMITTED] and len(notebooks) == 13
    for p in COMMITTED:
        assert notebooks[p.name] == p.read_bytes(), p.name
    # no hidden test of any chapter source in any file of the wheel, and no solution region in
    # any file but the package's modules (which implement, readably, what several exercises ask
    # for: that is the library; the graders' delegation check stops a student calling it)
    for src in SOURCES:
        text = src.read_text(encoding="utf-8")
        solutions = _regions(text, "### BEGIN SOLUTION", "### END SOLUTION")
        hidden = [ln.strip() for block in _regions(text, "### BEGIN HIDDEN TESTS",
                                                   "### END HIDDEN TESTS")
                  for ln in block.splitlines() if ln.strip()]
        assert solutions and hidden
        for name, body in texts.items():
            found = [s for s in hidden + ([] if name.endswith(".py") else solutions) if s in body]
            assert not found, f"{name} holds a solution or hidden test of {src.name}: {found[0]!r}"
    # nor an instructor answer file
    assert INSTRUCTOR
    for md in INSTRUCTOR:
        first = next(ln for ln in md.read_text(encoding="utf-8").splitlines() if len(ln) > 40)
        assert not any(first in body for body in texts.values()), md.name


def test_the_sdist_is_complete_and_twine_accepts_both(dist):
    wheel, sdist = dist
    with tarfile.open(sdist) as t:
        names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    for need in ["README.md", "LICENSE", "setup.cfg", "setup.py", "pyproject.toml",
                 "docs/conf.py", "docs/index.md", "tests/test_wheel.py", ".ci/run",
                 "chapters/src/build.py"] + [f"chapters/src/{s.name}" for s in SOURCES] + [
                 f"chapters/{p.name}" for p in COMMITTED] + [
                 f"chapters/instructor/{p.name}" for p in INSTRUCTOR]:
        assert need in names, need
    assert not [n for n in names if n.startswith(("docs/_build", "docs/chapters/"))]
    pytest.importorskip("twine", reason="twine is not installed")
    res = _run([sys.executable, "-m", "twine", "check", "--strict", wheel, sdist], cwd=ROOT)
    assert res.stdout.count("PASSED") == 2, res.stdout


def test_a_fresh_environment_runs_from_the_wheel_alone(dist, tmp_path):
    """pip install the wheel; elbo-edu chapters; one chapter to its stubs; course build from
    the unpacked sdist's chapters/src; elbo-edu train --epochs 1 -- in an empty folder."""
    import nbformat

    wheel, sdist = dist
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=tmp_path)
    bindir = venv / "bin"
    # the dependencies: this environment's site-packages, after the fresh one's (a plain path
    # line in a .pth file: the .pth files found there, e.g. an editable install, are not run)
    import site
    purelib, = (venv / "lib").glob("python*/site-packages")
    (purelib / "zz_test_dependencies.pth").write_text(
        "".join(p + "\n" for p in site.getsitepackages()), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}", MPLBACKEND="Agg")
    py = bindir / "python"
    _run([py, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", wheel],
         cwd=tmp_path, env=env)
    work = tmp_path / "empty"
    work.mkdir()
    where = _run([py, "-c", "import elbo_edu; print(elbo_edu.__file__)"], cwd=work, env=env)
    assert where.stdout.strip().startswith(str(venv)), where.stdout

    res = _run([bindir / "elbo-edu", "chapters", "notes"], cwd=work, env=env)
    assert res.stdout.splitlines()[-1] == "next: jupyter lab notes"
    notes = sorted((work / "notes").glob("*.ipynb"))
    assert [p.name for p in notes] == [p.name for p in COMMITTED]

    # one chapter, executed from a clean kernel of the fresh environment, runs to its stubs
    chapter = work / "notes" / COMMITTED[4].name
    executed = work / "executed.ipynb"
    _run([py, "-c", "import sys, nbformat; from nbclient import NotebookClient\n"
          "nb = nbformat.read(sys.argv[1], as_version=4)\n"
          "NotebookClient(nb, timeout=600, kernel_name='python3', allow_errors=True,\n"
          "               resources={'metadata': {'path': 'notes'}}).execute()\n"
          "nbformat.write(nb, sys.argv[2])", chapter, executed], cwd=work, env=env)
    from test_chapters_execute import RUN    # chapters/src/run.py, as the chapter tests load it

    nb = nbformat.read(executed, as_version=4)
    assert not RUN.stub_errors(nb, SOURCES[4])
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors and {e.ename for e in errors} <= {"NotImplementedError", "ExerciseError",
                                                     "AssertionError"}

    # the teacher's path: the course from the sdist's chapter sources
    with tarfile.open(sdist) as t:
        t.extractall(tmp_path / "sdist", filter="data")
    src, = (tmp_path / "sdist").glob("elbo_edu-*/chapters/src")
    res = _run([bindir / "elbo-edu", "course", "build", "course", "--chapters", src],
               cwd=work, env=env)
    assigned = sorted(p.name for p in (work / "course" / "source").iterdir())
    assert assigned == [f"ch{i:02d}" for i in range(1, 14)], assigned

    res = _run([bindir / "elbo-edu", "train", "--epochs", "1", "--out", "run"], cwd=work, env=env)
    assert (work / "run" / "metrics.jsonl").read_text().count("\n") == 1
    assert list((work / "run").glob("*.png")), res.stdout
