"""The teacher's path with nbgrader itself: build the course, generate the student version,
collect three submissions, autograde them into nbgrader's sqlite gradebook, read the grades.

* ``generate_assignment`` gives a student notebook without solution code or hidden tests;
* ``autograde`` gives the notebook with every solution full marks, the unmodified student
  notebook zero on every graded cell (with no grading error), and a notebook with one realistic
  mistake the loss of exactly that exercise's points, its feedback naming the mistake.

Two chapters run by default -- chapter 05 through the README's own commands (the teacher's path)
and chapter 04 -- and all thirteen in the slow test (``pytest -m slow``).
Skipped, with the reason, when nbgrader or jupytext is not installed.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("nbgrader", reason="nbgrader is not installed (pip install -e '.[course]')")
pytest.importorskip("jupytext", reason="jupytext is not installed (pip install -e '.[test]')")

from nbgrader.api import Gradebook  # noqa: E402

from elbo_edu.course.build import build_course  # noqa: E402
from elbo_edu.course.source import read_cells  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "chapters" / "src"

#: One realistic mistake per chapter: (solution cell id, replacement code, phrase of the feedback).
WRONG = {
    "01": ("ex01_1", "def gaussian_mle(x):\n    return np.mean(x), np.var(x, ddof=1)\n",
           "N-1"),
    "02": ("ex02_3", "def softmax_cross_entropy_grad(logits, y):\n"
                     "    e = np.exp(logits - logits.max(axis=1, keepdims=True))\n"
                     "    p = e / e.sum(axis=1, keepdims=True)\n"
                     "    p[np.arange(len(y)), y] -= 1.0\n    return p\n", "times too large"),
    "03": ("ex03_1", "def naive_log_evidence(log_lik):\n    return np.mean(log_lik)\n",
           "averaged the log-likelihoods"),
    "04": ("ex04_1", "def kl_discrete(p, q):\n    m = p > 0\n"
                     "    return np.sum(p[m] * np.log2(p[m] / q[m]))\n", "base 2"),
    "05": ("ex05_3", "def kl_std_normal_grad_mine(mu, logvar):\n"
                     "    return mu.copy(), np.exp(logvar) - 1.0\n", "factor 1/2"),
    "06": ("ex06_2", "def gaussian_entropy_mine(logvar):\n"
                     "    return 0.5 * (np.log(2 * np.pi) + 1.0) + logvar\n", "log sigma"),
    "07": ("ex07_2", "def bernoulli_log_lik(x, logits):\n"
                     "    return np.sum(x * logits - np.log(1 + np.exp(logits)), axis=-1)\n",
           "overflows"),
    "08": ("ex08_1", "def reparameterize_mine(mu, logvar, eps):\n"
                     "    return mu + np.exp(logvar) * eps\n", "variance"),
    "09": ("ex09_4", "def encoder_output_grad(dz, mu, logvar, eps, n):\n"
                     "    sigma = np.exp(0.5 * logvar)\n"
                     "    return np.concatenate([dz + mu, 0.5 * dz * sigma * eps"
                     " + 0.5 * (sigma ** 2 - 1)], axis=1)\n", "batch size"),
    "10": ("ex10_2", "def iwae_from_log_weights(log_w):\n    return log_w.mean(axis=0)\n",
           "ELBO"),
    "11": ("ex11_1", "def optimal_gamma(x, x_hat):\n"
                     "    return np.mean(np.sum((x - x_hat) ** 2, axis=1))\n", "summed over the D"),
    "12": ("ex12_1", "def iwae_value_and_grad(log_w, grad_log_w):\n"
                     "    top = log_w.max(axis=0)\n"
                     "    bound = top + np.log(np.mean(np.exp(log_w - top), axis=0))\n"
                     "    return bound, grad_log_w.mean(axis=0)\n", "same weight 1/K"),
    "13": ("ex13_3", "def free_bits_kl_and_grad(mu, logvar, lam):\n"
                     "    kl = 0.5 * (np.exp(logvar) + mu ** 2 - 1.0 - logvar)\n"
                     "    on = (kl.mean(axis=0) > lam) / len(mu)\n"
                     "    return (np.sum(np.mean(np.maximum(lam, kl), axis=0)), mu * on,\n"
                     "            0.5 * np.expm1(logvar) * on)\n", "each data point"),
}
README = ROOT / "README.md"
SOL = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    res = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course,
                         capture_output=True, text=True, timeout=1800)
    assert res.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{res.stdout}\n{res.stderr}"
    return res


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _submit(course: Path, student: str, name: str, nb) -> None:
    folder = course / "submitted" / student / name
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{name}.ipynb")


def _solved(release, source):
    """The release notebook with every solution cell filled in as in the source (markers off)."""
    nb = nbformat.from_dict(release)
    sol = {_meta(c).get("grade_id"): c.source for c in source.cells if _meta(c).get("solution")}
    for c in nb.cells:
        gid = _meta(c).get("grade_id")
        if _meta(c).get("solution"):
            c.source = "\n".join(ln for ln in sol[gid].splitlines()
                                 if ln.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
    return nb


def readme_teacher_commands() -> list[list[str]]:
    """The commands of the README's "Teaching a course" block, split into words."""
    text = README.read_text(encoding="utf-8").split("## Teaching a course", 1)[1]
    block = text.split("```bash", 1)[1].split("```", 1)[0]
    return [ln.split() for ln in block.splitlines() if ln.strip() and not ln.startswith("#")]


def _elbo_edu(cwd: Path, *args: str) -> None:
    res = subprocess.run([sys.executable, "-c", "import sys; from elbo_edu.cli import main; "
                          "sys.exit(main())", *args], cwd=cwd, capture_output=True, text=True)
    assert res.returncode == 0, f"elbo-edu {' '.join(args)} failed:\n{res.stdout}{res.stderr}"


def _run_chapter(tmp_path: Path, nn: str, readme: bool = False) -> None:
    """The round trip for chapter ``nn``; with ``readme`` the README's own commands are run."""
    name = f"ch{nn}"
    course = tmp_path / "course"
    if readme:
        cmds = readme_teacher_commands()
        assert [c[:2] for c in cmds] == [["pip", "install"], ["elbo-edu", "course"], ["cd", "course"],
                                         ["nbgrader", "generate_assignment"],
                                         ["nbgrader", "autograde"]], cmds
        assert cmds[1] == ["elbo-edu", "course", "build", "course/"] and cmds[3][2] == name
        _elbo_edu(tmp_path, *cmds[1][1:])               # pip install: this environment is it
        table = {name: [(c.grade, c.points) for c in read_cells(sorted(SRC.glob(f"{nn}_*.py"))[0])
                        if c.grade]}
    else:
        table = build_course(course, SRC, only=[nn])
    exercises = dict(table[name])
    assert len(exercises) >= 3
    source = nbformat.read(course / "source" / name / f"{name}.ipynb", as_version=4)

    _nbgrader(course, *(cmds[3][1:] if readme else ["generate_assignment", name]))
    release = nbformat.read(course / "release" / name / f"{name}.ipynb", as_version=4)
    text = nbformat.writes(release)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS"):
        assert marker not in text, f"{name}: the student notebook still contains {marker!r}"
    hidden = [ln for c in source.cells for ln in
              "".join(HIDDEN.findall(c.source)).splitlines() if ln.strip()]
    assert hidden and not [ln for ln in hidden if ln in text], f"{name}: hidden tests handed out"
    for cell in source.cells:
        if _meta(cell).get("solution"):
            for line in SOL.search(cell.source).group(1).splitlines():
                if line.strip() and not line.strip().startswith("#"):
                    assert line not in text, f"{name}: solution line {line!r} was handed out"
    stubs = [c for c in release.cells if _meta(c).get("solution")]
    assert len(stubs) == len(exercises) and all("raise NotImplementedError()" in c.source
                                                for c in stubs)

    good = _solved(release, source)
    wrong_id, wrong_code, phrase = WRONG[nn]
    wrong = _solved(release, source)
    [cell] = [c for c in wrong.cells if _meta(c).get("grade_id") == wrong_id]
    cell.source = wrong_code
    _submit(course, "good", name, good)
    _submit(course, "blank", name, release)
    _submit(course, "wrong", name, wrong)
    _nbgrader(course, *(cmds[4][1:] if readme else ["autograde", name]))

    total = sum(exercises.values())
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        scores = {s: gb.find_submission(name, s).score for s in ("good", "blank", "wrong")}
        per_cell = {s: {g: gb.find_grade(f"{g}_test", name, name, s).score for g in exercises}
                    for s in ("blank", "wrong")}
        needs_manual = [s for s in ("good", "blank", "wrong")
                        if gb.find_submission(name, s).needs_manual_grade]
    assert scores["good"] == pytest.approx(total), f"{name}: solutions scored {scores}"
    assert all(v == 0 for v in per_cell["blank"].values()), per_cell["blank"]
    assert scores["blank"] == 0
    assert not needs_manual, f"{name}: grading errors (manual grade needed) for {needs_manual}"
    lost = {g: exercises[g] - v for g, v in per_cell["wrong"].items() if v != exercises[g]}
    assert lost == {wrong_id: exercises[wrong_id]}, f"{name}: the wrong submission lost {lost}"
    assert scores["wrong"] == pytest.approx(total - exercises[wrong_id])
    graded = nbformat.read(course / "autograded" / "wrong" / name / f"{name}.ipynb", as_version=4)
    [test] = [c for c in graded.cells if _meta(c).get("grade_id") == f"{wrong_id}_test"]
    said = " ".join(o.get("text", "") + " ".join(o.get("traceback", [])) for o in test.outputs)
    assert phrase in said, f"{name}: the feedback does not say {phrase!r}: {said[-500:]}"


def test_readme_teacher_path_ch05(tmp_path):
    """The README's commands, literally: build, generate ch05, collect, autograde ch05."""
    _run_chapter(tmp_path, "05", readme=True)


def test_nbgrader_round_trip_ch04(tmp_path):
    _run_chapter(tmp_path, "04")


@pytest.mark.slow
@pytest.mark.parametrize("nn", sorted(WRONG))
def test_nbgrader_round_trip_every_chapter(tmp_path, nn):
    _run_chapter(tmp_path, nn)
