"""The teacher's path with nbgrader itself: build the course, generate the student version,
collect three submissions, autograde them into nbgrader's sqlite gradebook, read the grades.

* ``generate_assignment`` gives a student notebook without solution code or hidden tests;
* ``autograde`` gives the notebook with every solution full marks, the unmodified student
  notebook zero on every graded cell (with no grading error), and a notebook with one realistic
  mistake the loss of exactly that exercise's points, its feedback naming the mistake.

Two chapters run by default -- chapter 05 through the README's own commands (the teacher's path)
and chapter 04 with a term's hidden seed -- and all thirteen in the slow test (``pytest -m
slow``), with the class report on 24 fake students and the graders' harder cases (a delegating
submission, a float32 solution).
Skipped, with the reason, when nbgrader or jupytext is not installed.
"""
from __future__ import annotations

import csv
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


#: jupyter_client picks a free port for a kernel and the kernel binds it a moment later; another
#: process on the machine (a second test run, any notebook server) can take it in between, and
#: the kernel dies with this message. Nothing of the package is involved, so such a run is tried
#: again (twice at most); any other failure fails the test at once.
PORT_RACE = "Address already in use"


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    for _ in range(3):
        res = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course,
                             capture_output=True, text=True, timeout=1800)
        if res.returncode == 0 or PORT_RACE not in res.stdout + res.stderr:
            break
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


def _run_chapter(tmp_path: Path, nn: str, readme: bool = False,
                 hidden_seed: int | None = None) -> None:
    """The round trip for chapter ``nn``; with ``readme`` the README's own commands are run;
    ``hidden_seed`` draws the term's hidden tests."""
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
        table = build_course(course, SRC, only=[nn], hidden_seed=hidden_seed)
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
    if hidden_seed is not None:                  # the feedback page, maths from the course folder
        _nbgrader(course, "generate_feedback", name, "--student", "wrong")
        page = course / "feedback" / "wrong" / name / f"{name}.html"
        html = page.read_text(encoding="utf-8")
        scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
        assert scripts == ["../../../mathjax/tex-svg-full.js"], scripts     # no CDN
        assert (page.parent / scripts[0]).resolve().stat().st_size > 1_000_000
        assert "tex2jax" not in html and phrase in html


# ---------------------------------------------------------------------------- the fake class
#: Planted slips of a class of 24 students over chapters 04 and 08: for each exercise, the wrong
#: bodies (``None``: the stub left as handed out) and how many students hand each in. The other
#: students hand in the solution.
CLASS = 24
SLIPS = {
    "ch04": {
        "ex04_1": [("def kl_discrete(p, q):\n    m = p > 0\n"
                    "    return np.sum(p[m] * np.log2(p[m] / q[m]))\n", 6),
                   ("def kl_discrete(p, q):\n    m = q > 0\n"
                    "    return np.sum(q[m] * np.log(q[m] / p[m]))\n", 3)],
        "ex04_2": [("def mc_kl_gaussian(mu1, logvar1, mu2, logvar2, eps):\n"
                    "    x = mu1 + np.exp(logvar1) * eps\n"
                    "    lp1 = -0.5 * (np.log(2 * np.pi) + logvar1 + (x - mu1) ** 2 / np.exp(logvar1))\n"
                    "    lp2 = -0.5 * (np.log(2 * np.pi) + logvar2 + (x - mu2) ** 2 / np.exp(logvar2))\n"
                    "    return np.mean(lp1 - lp2)\n", 4)],
        "ex04_3": [("def moment_match(weights, means, variances):\n"
                    "    return np.sum(weights * means), np.sum(weights * variances)\n", 5),
                   (None, 2)],
    },
    "ch08": {
        "ex08_1": [("def reparameterize_mine(mu, logvar, eps):\n"
                    "    return mu + np.exp(logvar) * eps\n", 7)],
        "ex08_2": [("def reparameterize_grad_mine(mu, logvar, eps, dz):\n"
                    "    return dz.copy(), dz * np.exp(0.5 * logvar) * eps\n", 5)],
        "ex08_3": [("def score_function_grad(f, mu, logvar, eps):\n"
                    "    z = mu + np.exp(0.5 * logvar) * eps\n"
                    "    return np.mean(f(z) * (z - mu) / np.exp(0.5 * logvar))\n", 3)],
    },
}


def _planted(assignment: str) -> dict[str, dict[str, str | None]]:
    """``{student: {exercise: wrong body or None}}``: the slips of one assignment, spread over
    the class (each exercise's slips start at another student, so students mix slips)."""
    plan = {f"s{i:02d}": {} for i in range(CLASS)}
    students = sorted(plan)
    for k, (exercise, slips) in enumerate(SLIPS[assignment].items()):
        order = students[5 * k:] + students[:5 * k]
        for code, n in slips:
            for s in order[:n]:
                plan[s][exercise] = code
            order = order[n:]
    return plan


def _sentence(check, code: str) -> str:
    """The masked ``✗`` sentence ``check`` prints for the planted ``code``, run here directly."""
    import contextlib
    import io

    import numpy as np

    from elbo_edu.course.grading import ExerciseError
    from elbo_edu.course.report import mask_numbers

    space = {"np": np}
    exec(code, space)                                       # noqa: S102 - the planted slip
    [fn] = [v for k, v in space.items() if callable(v) and k != "np"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(ExerciseError):
        check(fn)
    [line] = [ln for ln in out.getvalue().splitlines() if ln.startswith("✗ ")]
    return mask_numbers(line[2:])


@pytest.mark.slow
def test_class_report_counts_the_planted_slips(tmp_path):
    """24 students, two chapters, the slips above: autograded by nbgrader (48 submissions, a few
    minutes), then the report's counts, means, CSV and figure are those planted."""
    from elbo_edu.course import checks
    from elbo_edu.course.report import NOT_ATTEMPTED, class_report

    course = tmp_path / "course"
    table = build_course(course, SRC, only=["04", "08"], release=True)   # generate_assignment
    points = {e: p for ex in table.values() for e, p in ex}
    expected_slips, expected_mean = {}, {}
    for name in SLIPS:
        source = nbformat.read(course / "source" / name / f"{name}.ipynb", as_version=4)
        release = nbformat.read(course / "release" / name / f"{name}.ipynb", as_version=4)
        for student, wrong in _planted(name).items():
            nb = _solved(release, source)
            for cell in nb.cells:
                gid = _meta(cell).get("grade_id")
                if gid in wrong:
                    cell.source = wrong[gid] if wrong[gid] is not None else next(
                        c.source for c in release.cells if _meta(c).get("grade_id") == gid)
            _submit(course, student, name, nb)
        for exercise, slips in SLIPS[name].items():
            check = next(getattr(checks, c) for c in dir(checks) if c.startswith("check_") and
                         f"{c}(" in "".join(cell.source for cell in source.cells
                                             if _meta(cell).get("grade_id") == f"{exercise}_test"))
            counts = {}
            for code, n in slips:
                key = NOT_ATTEMPTED if code is None else _sentence(check, code)
                counts[key] = counts.get(key, 0) + n
            expected_slips[exercise] = counts
            lost = sum(n for _, n in slips)
            expected_mean[exercise] = points[exercise] * (CLASS - lost) / CLASS
        _nbgrader(course, "autograde", name)

    report = class_report(course)
    assert [r.exercise for r in report] == list(points)
    for r in report:
        assert r.students == CLASS, (r.exercise, r.students)
        assert r.mean == pytest.approx(expected_mean[r.exercise]), r.exercise
        assert dict(r.slips) == expected_slips[r.exercise], (r.exercise, dict(r.slips))
        counts = [n for _, n in r.slips.most_common()]
        assert counts == sorted(counts, reverse=True)
    # the CLI: the table printed most common first, the CSV and the figure written
    res = subprocess.run([sys.executable, "-c", "import sys; from elbo_edu.cli import main; "
                          "sys.exit(main())", "course", "report", str(course)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    block = res.stdout.split("ch04 ex04_1:", 1)[1].split("ch04 ex04_2:", 1)[0]
    [(n1, s1), (n2, s2)] = [(int(ln.split()[0]), ln.split(None, 1)[1])
                            for ln in block.strip().splitlines()[1:]]
    assert (n1, n2) == (6, 3) and "log base" in s1 and "swapped" in s2
    rows = list(csv.DictReader((course / "class_report.csv").open(encoding="utf-8")))
    assert {(r["exercise"], r["slip"], int(r["students_with_slip"])) for r in rows if r["slip"]} \
        == {(e, s, n) for e, c in expected_slips.items() for s, n in c.items()}
    png = (course / "class_report.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_readme_teacher_path_ch05(tmp_path):
    """The README's commands, literally: build, generate ch05, collect, autograde ch05."""
    _run_chapter(tmp_path, "05", readme=True)


def test_nbgrader_round_trip_ch04(tmp_path):
    """With this term's hidden seeds: the solutions still get full marks, the slip still loses."""
    _run_chapter(tmp_path, "04", hidden_seed=2027)


#: Submissions the graders must judge as a teacher would: (solution cell, code, points kept:
#: "all" or 0 on that exercise). A function that hands the work to the package's own
#: implementation loses the exercise; a right answer computed in float32 keeps its points.
JUDGED = {
    "delegating": ("ex05_2", "def kl_std_normal_mine(mu, logvar):\n"
                             "    from elbo_edu.distributions import kl_std_normal\n"
                             "    return kl_std_normal(mu, logvar)\n", 0),
    "float32": ("ex05_2", "def kl_std_normal_mine(mu, logvar):\n"
                          "    mu, logvar = mu.astype(np.float32), logvar.astype(np.float32)\n"
                          "    return 0.5 * np.sum(np.exp(logvar) + mu * mu - 1 - logvar, "
                          "axis=-1)\n", "all"),
}


def test_judged_submissions_ch05(tmp_path):
    """Through nbgrader itself: a submission that hands exercise 5.2 to the package's own
    ``kl_std_normal`` scores 0 on it (and full marks elsewhere); the same exercise computed in
    float32 keeps every point."""
    course = tmp_path / "course"
    table = build_course(course, SRC, only=["05"], release=True)
    exercises = dict(table["ch05"])
    source = nbformat.read(course / "source" / "ch05" / "ch05.ipynb", as_version=4)
    release = nbformat.read(course / "release" / "ch05" / "ch05.ipynb", as_version=4)
    for student, (gid, code, _) in JUDGED.items():
        nb = _solved(release, source)
        [cell] = [c for c in nb.cells if _meta(c).get("grade_id") == gid]
        cell.source = code
        _submit(course, student, "ch05", nb)
    _nbgrader(course, "autograde", "ch05")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student, (gid, _, kept) in JUDGED.items():
            got = {g: gb.find_grade(f"{g}_test", "ch05", "ch05", student).score for g in exercises}
            want = {g: (exercises[g] if g != gid or kept == "all" else 0) for g in exercises}
            assert got == want, (student, got)


@pytest.mark.slow
@pytest.mark.parametrize("nn", sorted(WRONG))
def test_nbgrader_round_trip_every_chapter(tmp_path, nn):
    _run_chapter(tmp_path, nn)
