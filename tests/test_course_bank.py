"""The graders against the answer bank (``tests/course_bank``): every typical wrong answer fails
with its sentence on the visible and on hidden seeds, every differently written right answer and
every chapter solution passes, no grader crashes on odd returns, delegation is caught."""
import importlib
import re
from pathlib import Path

import numpy as np
import pytest

from elbo_edu.course import checks
from elbo_edu.course.grading import ExerciseError

from course_bank import BANK

SRC = Path(__file__).resolve().parents[1] / "chapters" / "src"
SEEDS = (0, 7, 2024)            # the visible seed and two more; each exercise's own hidden seed too


def _hidden_seeds():
    out = {}
    for f in sorted(SRC.glob("[01][0-9]_*.py")):
        for ex, body in re.findall(r'# %% grade="(ex\d\d_\d)".*?\n(.*?)(?=\n# %%|\Z)', f.read_text(), re.S):
            out[ex] = sorted({int(s) for s in re.findall(r"seed=(\d+)", body)})
    return out


HIDDEN = _hidden_seeds()


def _solutions():
    """Each exercise's instructor solution, executed from its chapter source."""
    out = {}
    for f in sorted(SRC.glob("[01][0-9]_*.py")):
        text = f.read_text()
        for ex, body in re.findall(r'# %% solution="(ex\d\d_\d)".*?\n(.*?)(?=\n# %%|\Z)', text, re.S):
            ns = {"np": np}
            exec(compile(body, f"{f.name}:{ex}", "exec"), ns)
            out[ex] = [v for v in ns.values() if getattr(v, "__code__", None) is not None and
                       v.__code__.co_filename == f"{f.name}:{ex}"][-1]
    return out


SOLUTIONS = _solutions()


def _seeds(ex):
    return tuple(sorted(set(SEEDS) | set(HIDDEN.get(ex, ()))))


def _cases(kind):
    for ex, (check, right, wrong) in sorted(BANK.items()):
        items = right if kind == "right" else wrong
        for i, item in enumerate(items):
            yield pytest.param(ex, check, item, id=f"{ex}-{kind}{i}")


def test_bank_covers_every_exercise():
    assert set(HIDDEN) == set(SOLUTIONS)
    assert len(HIDDEN) == 40
    missing = sorted(set(HIDDEN) - set(BANK))
    assert not missing, f"exercises without a bank entry: {missing}"
    for ex, (_, right, wrong) in BANK.items():
        assert len(right) >= 2 and len(wrong) >= 4, ex


@pytest.mark.parametrize("ex", sorted(SOLUTIONS))
def test_solution_passes_many_seeds(ex, capsys):
    check = getattr(checks, BANK[ex][0])
    for seed in sorted(set(range(6)) | set(_seeds(ex)) | {123456789}):
        check(SOLUTIONS[ex], seed=seed)
    assert "✗" not in capsys.readouterr().out


@pytest.mark.parametrize("ex, check, fn", list(_cases("right")))
def test_right_answer_passes(ex, check, fn):
    with np.errstate(all="ignore"):
        for seed in _seeds(ex):
            getattr(checks, check)(fn, seed=seed)


@pytest.mark.parametrize("ex, check, item", list(_cases("wrong")))
def test_wrong_answer_fails_with_its_sentence(ex, check, item, capsys):
    fn, pattern = item
    for seed in _seeds(ex):
        with np.errstate(all="ignore"), pytest.raises(ExerciseError) as info:
            getattr(checks, check)(fn, seed=seed)
        assert re.search(pattern, str(info.value), re.I), (seed, str(info.value))
        out = capsys.readouterr().out.strip().splitlines()
        assert len([l for l in out if l.startswith("✗ ")]) == 1, out


# ------------------------------------------------------------------ delegation
def _delegating():
    import elbo_edu.distributions as D
    import elbo_edu.kernels.api as K
    from elbo_edu import special
    from elbo_edu.estimators.density_estimation import gaussian_mle
    from elbo_edu.distributions import kl_std_normal as kl
    from elbo_edu.kernels.numba_backend import NumbaBackend
    from elbo_edu.kernels.numpy_backend import NumpyBackend
    from elbo_edu.models.diagnostics import active_units
    from elbo_edu.models.posteriors import full_gaussian_entropy

    def via_numba_kernel(mu, lv):
        from elbo_edu.kernels import numba_backend as nb
        z, out = np.empty_like(mu), np.empty(len(mu))
        nb._reparam_kl(mu, lv, np.zeros_like(mu), z, out, 0.5)
        return out

    def grader_helper(mu, lv):
        from elbo_edu.course.checks.reference import kl_std_normal_ref
        return kl_std_normal_ref(mu, lv).sum(axis=1)

    return [
        ("ex05_2", lambda mu, lv: kl(mu, lv), "elbo_edu.distributions.kl_std_normal"),
        ("ex05_2", lambda mu, lv: importlib.import_module("elbo_edu.distributions").kl_std_normal(mu, lv),
         "elbo_edu.distributions.kl_std_normal"),
        ("ex05_2", lambda mu, lv: D.kl_normal(mu, lv, 0 * mu, 0 * lv).sum(-1), "elbo_edu.distributions.kl_normal"),
        ("ex05_2", lambda mu, lv: K.reparam_kl(mu, lv, 0 * mu)[1], "elbo_edu.kernels.api.reparam_kl"),
        ("ex05_2", lambda mu, lv: NumbaBackend().reparam_kl(mu, lv, 0 * mu, np.empty_like(mu))[1],
         "NumbaBackend.reparam_kl"),
        ("ex05_2", lambda mu, lv: NumpyBackend().reparam_kl(mu, lv, 0 * mu, np.empty_like(mu))[1],
         "NumpyBackend.reparam_kl"),
        ("ex05_2", via_numba_kernel, "_reparam_kl"),
        ("ex05_2", grader_helper, "grader's own reference"),
        ("ex09_1", lambda mu, lv: (kl(mu, lv),) + D.kl_std_normal_grad(mu, lv), "kl_std_normal"),
        ("ex10_1", lambda a, axis=0: special.logsumexp(a, axis=axis), "elbo_edu.special.logsumexp"),
        ("ex10_1", lambda a, axis=0: importlib.import_module("scipy.special").logsumexp(a, axis=axis),
         "scipy.special.logsumexp"),
        ("ex07_2", lambda x, l: D.bernoulli_log_prob(x, l), "bernoulli_log_prob"),
        ("ex08_1", lambda mu, lv, eps: D.reparameterize(mu, lv, eps), "reparameterize"),
        ("ex01_1", lambda x: gaussian_mle(x), "gaussian_mle"),
        ("ex11_2", lambda mu, threshold=0.01: active_units(mu, threshold), "active_units"),
        ("ex12_2", lambda L: full_gaussian_entropy(L), "full_gaussian_entropy"),
        ("ex13_2", lambda m, x, eps: (m.loss(x, eps), 0.0), "elbo_edu.vae.VAE.loss"),
    ]


@pytest.mark.parametrize("ex, fn, name", _delegating(), ids=lambda v: v if isinstance(v, str) else "")
def test_delegation_is_caught(ex, fn, name):
    with pytest.raises(ExerciseError, match=f"(?i)write it yourself: your function calls "
                                            f".*{re.escape(name)}"):
        getattr(checks, BANK[ex][0])(fn)


def test_every_check_declares_its_answers():
    for ex, (check, _, _) in BANK.items():
        fn = getattr(checks, check)
        assert hasattr(fn, "answers"), check
    assert "elbo_edu.distributions:kl_std_normal" in checks.check_kl_std_normal.answers


# ------------------------------------------------------------------ crash-proofing
class _Oops(Exception):
    pass


def _odd_returns():
    def raises(*a, **k):
        raise _Oops("the student's own bug")
    return [lambda *a, **k: None, lambda *a, **k: 0.0, lambda *a, **k: np.nan,
            lambda *a, **k: np.zeros((2, 3)), lambda *a, **k: [1, 2], lambda *a, **k: (1.0,),
            lambda *a, **k: (np.ones(3),) * 4, lambda *a, **k: "a string",
            lambda *a, **k: {"a": 1}, lambda *a, **k: (x for x in range(3)),
            lambda *a, **k: (None, None, None), lambda *a, **k: np.array(["x", "y"]),
            lambda *a, **k: np.inf, lambda *a, **k: -1, lambda *a, **k: object(), raises]


@pytest.mark.parametrize("check", sorted(checks.__all__))
def test_no_grader_crashes_on_odd_returns(check, capsys):
    for fn in _odd_returns():
        with np.errstate(all="ignore"):
            try:
                getattr(checks, check)(fn, seed=3)
            except ExerciseError:
                lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("✗ ")]
                assert len(lines) == 1
            except _Oops:
                pass                                    # the student's exception, unchanged
            else:
                pytest.fail(f"{check} passed a function returning nonsense")


def test_failure_renders_as_its_sentence_and_names_the_students_function(capsys):
    def my_kl(mu, lv):
        return 0.5 * np.sum(np.exp(lv) + mu * mu - 1 - lv, axis=-1) * 2
    with pytest.raises(ExerciseError) as info:
        checks.check_kl_std_normal(my_kl)
    assert info.value._render_traceback_() == []          # IPython shows no traceback
    out = capsys.readouterr().out.strip().splitlines()
    assert out == ["✗ " + str(info.value)]
    assert str(info.value) == "my_kl: the factor 1/2 is missing."
    with pytest.raises(ExerciseError, match=r"^my_kl\(mu, logvar\) has shape"):
        checks.check_kl_std_normal(_named("my_kl", lambda mu, lv: np.zeros(1)))


def _named(name, fn):
    fn.__name__ = name
    return fn


def test_seed_must_be_a_non_negative_int():
    for bad in (-1, 1.5, "3", None, True):
        with pytest.raises(ValueError, match="seed"):
            checks.check_kl_std_normal(SOLUTIONS["ex05_2"], seed=bad)


def test_float64_result_that_is_only_float32_accurate_is_told_so():
    def rounded(mu, lv):
        kl = 0.5 * np.sum(np.exp(lv) + mu * mu - 1 - lv, axis=-1)
        return kl.astype(np.float32).astype(np.float64)
    with pytest.raises(ExerciseError, match="compute in float64"):
        checks.check_kl_std_normal(rounded)


# ------------------------------------------------------------------ chapter 09's training cell
def _chapter_09_training_cell():
    text = (SRC / "09_vae.py").read_text()
    start = text.index("with student_functions(")
    end = text.find("\n# %%", start)
    return text[start:end if end > 0 else len(text)]


def test_chapter_09_training_cell_stops_on_wrong_student_code(capsys):
    from elbo_edu.course.grading import fail
    from elbo_edu.course.substitute import student_functions
    ns = {"np": np, "fail": fail, "student_functions": student_functions,
          "reparameterize_backward": SOLUTIONS["ex09_2"], "bernoulli_and_grad": SOLUTIONS["ex09_3"]}

    def kl_and_grad(mu, lv):                                  # dlogvar without its 1/2
        e = np.exp(lv)
        return 0.5 * np.sum(e + mu * mu - 1 - lv, axis=-1), mu.copy(), e - 1.0
    ns["kl_and_grad"] = kl_and_grad
    with pytest.raises(ExerciseError, match="disagrees with finite differences.*9.1-9.3"):
        exec(_chapter_09_training_cell(), ns)
    assert "✗ With your functions in place" in capsys.readouterr().out


def test_a_value_instead_of_a_function_is_one_sentence(capsys):
    with pytest.raises(ExerciseError, match="takes the function you wrote, got float"):
        checks.check_kl_std_normal(0.5)
    assert capsys.readouterr().out.startswith("✗ ")
