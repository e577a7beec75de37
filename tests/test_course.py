"""Course mode without nbgrader runs: the chapter-source markup, the course folder, the graders'
diagnoses, the substitution of a student's functions, and the ``elbo-edu course`` command line.
(``test_course_nbgrader.py`` runs nbgrader itself.)"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("jupytext", reason="jupytext is not installed (pip install -e '.[test]')")

from elbo_edu.course import checks  # noqa: E402
from elbo_edu.course.build import build_course  # noqa: E402
from elbo_edu.course.grading import ExerciseError, check_close, quad  # noqa: E402
from elbo_edu.course.source import (chapter_sources, exercise_table, nbgrader_notebook,  # noqa
                                    published_notebook, read_cells, render)
from elbo_edu.course.substitute import student_functions  # noqa: E402
from elbo_edu.kernels import get_backend  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "chapters" / "src"
SOURCES = chapter_sources(SRC)
COURSE = [s for s in SOURCES if s.name[:2] <= "13"]        # the course's chapters, ch01 ... ch13

SAMPLE = '''# %% [markdown]
# # Chapter 99 — test

# %%
import numpy as np

# %% solution="ex99_1"
def f(x):
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION

# %% grade="ex99_1" points=3
assert f(1) == 2
### BEGIN HIDDEN TESTS
assert f(2) == 4
### END HIDDEN TESTS
'''


def _write(tmp_path, text, name="99_sample.py"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# ------------------------------------------------------------------------------ chapter sources
def test_markup_becomes_nbgrader_metadata(tmp_path):
    src = _write(tmp_path, SAMPLE)
    nb = nbgrader_notebook(src)
    meta = [c.metadata.get("nbgrader") for c in nb.cells]
    assert meta[:2] == [None, None]
    assert meta[2] == {"grade": False, "grade_id": "ex99_1", "locked": False,
                       "schema_version": 3, "solution": True, "task": False}
    assert meta[3] == {"grade": True, "grade_id": "ex99_1_test", "locked": True, "points": 3,
                       "schema_version": 3, "solution": False, "task": False}
    assert "### BEGIN SOLUTION" in nb.cells[2].source
    assert [c.id for c in nb.cells] == ["ch99-000", "ch99-001", "ch99-002", "ch99-003"]


def test_published_chapter_has_solutions_without_markup(tmp_path):
    nb = published_notebook(_write(tmp_path, SAMPLE))
    text = render(nb)
    assert "return 2 * x" in text and "assert f(2) == 4" in text
    assert "BEGIN" not in text and "nbgrader" not in text
    assert render(published_notebook(_write(tmp_path, SAMPLE))) == text      # byte-stable


@pytest.mark.parametrize("bad, message", [
    (SAMPLE.replace('    ### END SOLUTION\n', ''), "needs '### BEGIN SOLUTION'"),
    (SAMPLE.replace(' points=3', ''), "needs points="),
    (SAMPLE.replace('grade="ex99_1" points=3', 'grade="ex 99" points=3'), "must be letters"),
    (SAMPLE.replace('# %%\nimport numpy', '# %%\n### BEGIN HIDDEN TESTS\nimport numpy'),
     "hidden-test markers outside"),
    (SAMPLE + '\n# %% grade="ex99_1" points=1\nassert True\n', "used twice"),
])
def test_malformed_markup_is_a_clear_error(tmp_path, bad, message):
    with pytest.raises(ValueError, match=message):
        read_cells(_write(tmp_path, bad))


def test_every_chapter_has_at_least_three_graded_exercises():
    counts = {s.name[:2]: len(exercise_table(s)) for s in COURSE}
    assert sorted(counts) == [f"{i:02d}" for i in range(1, 14)]
    assert all(n >= 3 for n in counts.values()), counts
    assert sum(counts.values()) >= 39
    for s in SOURCES:                          # each graded exercise has its solution cell
        cells = read_cells(s)
        assert {c.grade for c in cells if c.grade} == {c.solution for c in cells if c.solution}


def test_exercises_are_appended_after_try_this():
    for s in COURSE:
        cells = read_cells(s)
        heads = [i for i, c in enumerate(cells) if c.kind == "markdown"
                 and c.text.startswith("## Exercises")]
        tries = [i for i, c in enumerate(cells) if c.kind == "markdown" and "## Try this" in c.text]
        assert len(heads) == 1 and tries and tries[-1] < heads[0], s.name
        assert all(not (c.solution or c.grade) for c in cells[:heads[0]]), s.name


# ------------------------------------------------------------------------------ course folder
def test_build_course_layout_and_refusal(tmp_path):
    out = tmp_path / "course"
    table = build_course(out, SRC, only=["05", "9"])
    assert list(table) == ["ch05", "ch09"]
    assert (out / "nbgrader_config.py").is_file() and (out / "README.md").is_file()
    assert (out / "source" / "ch09" / "ch09.ipynb").is_file()
    for f in ("instructor_guide.md", "try_this_solutions.md", "problem_solutions.md",
              "concept_answers.md"):
        assert (out / "instructor" / f).stat().st_size > 1000, f
    with pytest.raises(ValueError, match="--force"):
        build_course(out, SRC)
    build_course(out, SRC, only=["01"], force=True)
    with pytest.raises(ValueError, match="--only"):
        build_course(tmp_path / "other", SRC, only=["42"])
    with pytest.raises(ValueError, match="--chapters"):
        build_course(tmp_path / "other", tmp_path / "nothing")


def test_try_this_solutions_cover_every_chapter():
    text = (ROOT / "chapters" / "instructor" / "try_this_solutions.md").read_text()
    for s in COURSE:
        assert f"## Chapter {s.name[:2]}" in text, s.name


def test_solutions_are_not_on_the_site():
    site = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").rglob("*.md"))
    assert "BEGIN SOLUTION" not in site
    assert "try_this_solutions" not in site and "problem_solutions.md\n" not in site
    assert "include} ../../chapters/instructor/instructor_guide.md" in site
    for secret in ("problem_solutions", "concept_answers", "try_this_solutions"):
        assert f"instructor/{secret}.md" not in site


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-c", "import sys; from elbo_edu.cli import main; "
                           "sys.exit(main())", *args], capture_output=True, text=True, cwd=cwd)


def test_cli_course_build_and_errors(tmp_path):
    res = _cli("course", "build", str(tmp_path / "c"), "--only", "04")
    assert res.returncode == 0 and "1 assignments (ch04)" in res.stdout, res.stderr
    for args, flag in [(("course", "build", str(tmp_path / "c")), "--force"),
                       (("course", "build", str(tmp_path / "d"), "--only", "77"), "--only"),
                       (("course", "build", str(tmp_path / "d"), "--chapters",
                         str(tmp_path / "none")), "--chapters"),
                       (("course",), "ACTION")]:
        res = _cli(*args)
        assert res.returncode == 2 and flag in res.stderr, res.stderr
        assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------------------ graders
def test_quadrature_is_accurate():
    assert abs(quad(lambda t: np.exp(-t * t / 2) / np.sqrt(2 * np.pi), -12, 12) - 1) < 1e-12


@pytest.mark.parametrize("factor, phrase", [(-1, "wrong sign"), (2, "factor 1/2 missing"),
                                            (0.5, "extra factor 1/2"), (7, "sum over the 7")])
def test_generic_diagnoses(factor, phrase, capsys):
    want = np.array([0.3, -1.2, 2.5])
    with pytest.raises(ExerciseError, match=phrase):
        check_close(factor * want, want, "it", n=7)
    assert phrase in capsys.readouterr().out                  # printed, too


def test_shape_and_nonfinite_diagnoses():
    with pytest.raises(ExerciseError, match=r"shape \(3, 1\), expected \(3,\)"):
        check_close(np.zeros((3, 1)), np.ones(3), "it")
    with pytest.raises(ExerciseError, match="nan or inf"):
        check_close(np.array([np.inf]), np.ones(1), "it")
    with pytest.raises(ExerciseError, match="None"):
        check_close(None, np.ones(1), "it")
    with pytest.raises(ExerciseError, match="off by the same constant"):
        check_close(np.array([1.0, 2.0]) + 0.9189, np.array([1.0, 2.0]), "it")


def _kl(mu, lv):
    return 0.5 * np.sum(np.exp(lv) + mu ** 2 - 1 - lv, axis=-1)


WRONG = [
    (checks.check_gaussian_mle, lambda x: (x.mean(), x.var(ddof=1)), "N-1"),
    (checks.check_kde_log_density,
     lambda xe, xd, h: np.log(np.mean(np.exp(-0.5 * ((xe[:, None] - xd) / h) ** 2), axis=1)
                              / np.sqrt(2 * np.pi * h * h)), "nan or inf"),
    (checks.check_kl_discrete, lambda p, q: np.sum(q * np.log(q / p)), "swapped"),
    (checks.check_kl_discrete, lambda p, q: np.sum(p * np.log(p / q)), "contributes 0"),
    (checks.check_kl_std_normal, lambda mu, lv: 0.5 * (np.exp(lv) + mu ** 2 - 1 - lv),
     "Sum over the last axis"),
    (checks.check_kl_std_normal_grad, lambda mu, lv: (mu, np.exp(lv) - 1), "factor 1/2"),
    (checks.check_kl_normal_1d,
     lambda m1, l1, m2, l2: l2 - l1 + (np.exp(2 * l1) + (m1 - m2) ** 2) / (2 * np.exp(2 * l2)) - .5,
     "log sigma"),
    (checks.check_reparameterize, lambda mu, lv, eps: mu + np.exp(lv) * eps, "variance"),
    (checks.check_bernoulli_log_lik,
     lambda x, l: np.sum(x * l - np.log1p(np.exp(l)), axis=-1), "overflows"),
    (checks.check_bernoulli_log_lik_grad, lambda x, l: 1 / (1 + np.exp(-l)) - x, "wrong sign"),
    (checks.check_iwae_from_log_weights, lambda lw: lw.mean(axis=0), "ELBO"),
    (checks.check_optimal_gamma, lambda x, xh: np.sum((x - xh) ** 2) / len(x),
     "summed over the D"),
    (checks.check_kl_per_dimension, lambda mu, lv: np.sum(0.5 * (np.exp(lv) + mu ** 2 - 1 - lv),
                                                          axis=0), "times too large"),
    (checks.check_active_units, lambda mu, threshold=0.01: int(np.sum(mu.var(axis=1) > threshold)),
     "axis 1"),
    (checks.check_softmax_cross_entropy_grad,
     lambda l, y: (np.exp(l) / np.exp(l).sum(1, keepdims=True) - np.eye(l.shape[1])[y]),
     "times too large"),
    (checks.check_linear_backward, lambda dy, x, W: (dy @ W.T, dy.T @ x, dy.sum(0)), "shape of W"),
    (checks.check_encoder_output_grad,
     lambda dz, mu, lv, eps, n: np.concatenate([dz + mu / n, 0.5 * np.expm1(lv) / n], axis=1),
     "path through z"),
    # chapters 12-13: a dropped log K, the wrong axis, a missing 1/2, a sign error, ...
    (checks.check_iwae_value_and_grad,
     lambda lw, g: (lw.max(0) + np.log(np.sum(np.exp(lw - lw.max(0)), 0)), g.mean(0)), "log K"),
    (checks.check_iwae_value_and_grad, lambda lw, g: (np.log(np.mean(np.exp(lw), 0)), g.mean(0)),
     "underflows"),
    (checks.check_iwae_value_and_grad, lambda lw, g: (_iwae(lw), g.mean(0)), "same weight 1/K"),
    (checks.check_iwae_value_and_grad,
     lambda lw, g: (_iwae(lw), np.sum(_softmax(lw, 1)[..., None] * g, 0)), "axis 1"),
    (checks.check_full_gaussian_entropy,
     lambda L: 0.5 * len(L) * np.log(2 * np.pi * np.e) + 2 * np.sum(np.log(np.diag(L))),
     "factor 1/2"),
    (checks.check_full_gaussian_entropy,
     lambda L: 0.5 * len(L) * np.log(2 * np.pi * np.e) + 0.5 * np.sum(np.log(np.diag(L @ L.T))),
     "mean-field"),
    (checks.check_full_gaussian_entropy,
     lambda L: 0.5 * (np.log(2 * np.pi) + 1.0) + np.log(np.diag(L)), "one number"),
    (checks.check_planar_logdet,
     lambda z, u, w, b: np.log(np.abs(1 + np.tanh(z @ w + b) * (u @ w))), "tanh itself"),
    (checks.check_planar_logdet,
     lambda z, u, w, b: np.log(1 + (1 - np.tanh(z @ w + b) ** 2) * (u @ w)), "absolute value"),
    (checks.check_planar_logdet,
     lambda z, u, w, b: -np.log(np.abs(1 + (1 - np.tanh(z @ w + b) ** 2) * (u @ w))),
     "wrong sign"),
    (checks.check_cvae_negative_elbo, lambda enc, dec, x, y, eps, c: _cvae(enc, dec, x, y, eps, c,
                                                                           label_first=True),
     "label before the data"),
    (checks.check_cvae_negative_elbo,
     lambda enc, dec, x, y, eps, c: _cvae(enc, dec, x, y, eps, c) * len(x), "summed over the"),
    (checks.check_cvae_negative_elbo,
     lambda enc, dec, x, y, eps, c: dec(np.zeros((len(x), 2))), "decoder received"),
    (checks.check_rate_distortion, lambda m, x, eps: _rd(m, x, eps)[::-1], "(distortion, rate)"),
    (checks.check_rate_distortion, lambda m, x, eps: (_rd(m, x, eps)[0], -_rd(m, x, eps)[1]),
     "wrong sign"),
    (checks.check_free_bits_kl, lambda mu, lv, lam: _free_bits(mu, lv, lam, per_point=True),
     "each data point"),
    (checks.check_free_bits_kl, lambda mu, lv, lam: _free_bits(mu, lv, lam, half=1.0),
     "factor 1/2"),
    (checks.check_free_bits_kl, lambda mu, lv, lam: _free_bits(mu, lv, lam, mask=False),
     "no gradient"),
]


def _softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _iwae(lw):
    return lw.max(0) + np.log(np.mean(np.exp(lw - lw.max(0)), 0))


def _cvae(enc, dec, x, y, eps, c, label_first=False):
    e = np.eye(c)[y]
    cat = (lambda a, b: np.concatenate([b, a], 1)) if label_first else \
        (lambda a, b: np.concatenate([a, b], 1))
    h = enc(cat(x, e))
    zd = h.shape[1] // 2
    mu, lv = h[:, :zd], h[:, zd:]
    logits = dec(cat(mu + np.exp(0.5 * lv) * eps, e))
    return np.mean(_kl(mu, lv) - np.sum(x * logits - np.logaddexp(0, logits), axis=1))


def _rd(model, x, eps):
    mu, lv = model.encode(x)
    logits = model.decode(mu + np.exp(0.5 * lv) * eps)
    return np.mean(_kl(mu, lv)), -np.mean(np.sum(x * logits - np.logaddexp(0, logits), axis=1))


def _free_bits(mu, lv, lam, per_point=False, half=0.5, mask=True):
    per = 0.5 * (np.exp(lv) + mu ** 2 - 1 - lv)
    on = (per.mean(0) > lam) / len(mu) if mask else np.full(mu.shape[1], 1 / len(mu))
    value = np.maximum(lam, per).mean(0).sum() if per_point else np.maximum(lam, per.mean(0)).sum()
    return value, mu * on, half * np.expm1(lv) * on


@pytest.mark.parametrize("check", [checks.check_iwae_value_and_grad,
                                   checks.check_full_gaussian_entropy, checks.check_planar_logdet,
                                   checks.check_cvae_negative_elbo, checks.check_rate_distortion,
                                   checks.check_free_bits_kl], ids=lambda c: c.__name__)
def test_chapter_12_13_solutions_get_full_marks(check, capsys):
    """The solutions written in the chapter sources pass their graders (visible and hidden
    seeds); the graders say "correct" and nothing else."""
    ns: dict = {"np": np}
    for src in SOURCES[11:13]:
        for cell in read_cells(src):
            if cell.solution:
                exec(cell.text, ns)                                  # noqa: S102
    name = {"check_iwae_value_and_grad": "iwae_value_and_grad",
            "check_full_gaussian_entropy": "full_gaussian_entropy_mine",
            "check_planar_logdet": "planar_logdet", "check_cvae_negative_elbo": "cvae_negative_elbo",
            "check_rate_distortion": "rate_distortion",
            "check_free_bits_kl": "free_bits_kl_and_grad"}[check.__name__]
    for seed in (0, 1, 2, 121, 122, 123, 131, 132, 133):
        check(ns[name], seed=seed)
    out = capsys.readouterr().out
    assert out.count("correct.") == 9 and "✗" not in out


@pytest.mark.parametrize("check, wrong, phrase", WRONG, ids=lambda v: getattr(v, "__name__", ""))
def test_a_wrong_function_gets_its_sentence(check, wrong, phrase):
    with np.errstate(all="ignore"), pytest.raises(ExerciseError, match=phrase):
        check(wrong)


def test_every_check_is_used_by_a_chapter():
    text = "\n".join(s.read_text(encoding="utf-8") for s in SOURCES)
    unused = [name for name in checks.__all__ if f"{name}(" not in text]
    assert not unused, unused


# ------------------------------------------------------------------------------ substitution
def _good():
    return dict(
        kl_and_grad=lambda mu, lv: (_kl(mu, lv), mu.copy(), 0.5 * np.expm1(lv)),
        reparameterize_backward=lambda dz, mu, lv, eps: (dz.copy(), 0.5 * dz * np.exp(.5 * lv)
                                                         * eps),
        bernoulli_and_grad=lambda x, l: (np.sum(x * l - np.logaddexp(0, l), axis=-1),
                                         x - 1 / (1 + np.exp(-l))))


def test_student_functions_pass_the_gradient_check_and_are_used():
    before = get_backend()
    with student_functions(**_good()) as sub:
        assert get_backend() == "numpy"
        report = sub.gradient_check()
    assert report.passed and report.max_error < 1e-7
    assert min(sub.calls.values()) > 0 and len(sub.calls) == 3
    assert get_backend() == before


@pytest.mark.parametrize("name, wrong, rows", [
    ("reparameterize_backward", lambda dz, mu, lv, eps: (dz, dz * np.exp(.5 * lv) * eps),
     "encoder"),
    ("kl_and_grad", lambda mu, lv: (_kl(mu, lv), mu, np.expm1(lv)), "encoder"),
    ("bernoulli_and_grad", lambda x, l: (np.sum(x * l - np.logaddexp(0, l), axis=-1),
                                         1 / (1 + np.exp(-l)) - x), "decoder"),
])
def test_one_wrong_student_function_fails_the_gradient_check(name, wrong, rows):
    funcs = _good()
    funcs[name] = wrong
    with student_functions(**funcs) as sub:
        report = sub.gradient_check()
    assert not report.passed
    assert any(r.name.startswith(rows) and not r.passed for r in report.rows)


def test_substitution_is_undone_after_an_error():
    from elbo_edu import kernels
    with kernels.use_backend("numpy"):
        be = kernels.backend()
        saved = (be.reparam_kl, be.reparam_kl_backward, be.bernoulli_loglik_grad)
    with pytest.raises(RuntimeError):
        with student_functions(**_good()):
            raise RuntimeError("boom")
    with kernels.use_backend("numpy"):
        be = kernels.backend()
        assert (be.reparam_kl, be.reparam_kl_backward, be.bernoulli_loglik_grad) == saved


@pytest.mark.parametrize("kwargs, message", [({"kl": abs}, "kl: expected one of"),
                                             ({"kl_and_grad": 3}, "kl_and_grad: expected a func")])
def test_student_functions_reject_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        with student_functions(**kwargs):
            pass


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_nbgrader_source_notebook_is_byte_stable(source):
    first = render(nbgrader_notebook(source))
    assert first == render(nbgrader_notebook(source))
    assert '"outputs": []' in first and '"execution_count": 1' not in first


def test_student_version_has_no_solution_code():
    pytest.importorskip("nbgrader", reason="nbgrader is not installed")
    from elbo_edu.course.student import student_notebook
    src = COURSE[4]
    text = render(student_notebook(src))
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    assert "seed=51" not in text and "np.exp(logvar1)" not in text
    stubs = [c for c in read_cells(src) if c.solution]
    assert text.count("raise NotImplementedError()") >= len(stubs)


def test_syllabus_and_readme_state_the_points_of_the_chapter_sources():
    """The points per chapter in the syllabus table and the totals in the README and the syllabus
    are those of the chapter sources' graded cells."""
    tables = {s.name[:2]: exercise_table(s) for s in COURSE}
    syllabus = (ROOT / "docs" / "course" / "syllabus.md").read_text(encoding="utf-8")
    for nn, table in tables.items():
        row = [ln for ln in syllabus.splitlines() if ln.startswith("| ")
               and ln.split("|")[2].strip().startswith(f"{nn} ")]              # chapter column
        assert row and f"({sum(p for _, p in table):g})" in row[0], (nn, row)
    n, total = sum(len(t) for t in tables.values()), sum(p for t in tables.values() for _, p in t)
    assert f"{n} functions and {total:g} points" in syllabus
    assert f"({n} in all,\n{total:g} points" in (ROOT / "README.md").read_text(encoding="utf-8")
