"""The gradient checker itself: it must agree with known derivatives and catch a wrong backward."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from elbo_edu import nn
from elbo_edu.cli import main
from elbo_edu.gradcheck import (GradCheckReport, check_function, check_module, numerical_gradient,
                                numerical_vjp, rel_error)


def test_numerical_gradient_of_known_functions(rng):
    x = rng.standard_normal((3, 4))
    np.testing.assert_allclose(numerical_gradient(lambda v: np.sum(v ** 3), x), 3 * x ** 2,
                               rtol=1e-8, atol=1e-9)
    g4 = numerical_gradient(lambda v: np.sum(np.sin(v)), x, h=1e-3, order=4)
    assert rel_error(g4, np.cos(x)) < 1e-11
    x0 = x.copy()
    numerical_gradient(lambda v: np.sum(v), x)
    np.testing.assert_array_equal(x, x0)  # restored after perturbation


def test_numerical_vjp_matches_jacobian_transpose(rng):
    a, x, dy = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(3)
    assert rel_error(numerical_vjp(lambda v: a @ v, x, dy), a.T @ dy) < 1e-9


def test_rel_error_is_scale_aware():
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert rel_error([1e6, 1.0], [1e6, 1.001]) == pytest.approx(1e-9)
    assert rel_error([0.0], [0.0]) == 0.0
    with pytest.raises(ValueError, match="b: expected shape"):
        rel_error(np.ones(2), np.ones(3))


def test_bad_arguments():
    with pytest.raises(ValueError, match="x: expected a float64"):
        numerical_gradient(lambda v: 0.0, np.ones(3, dtype=np.float32))
    with pytest.raises(ValueError, match="h: expected a positive"):
        numerical_gradient(lambda v: 0.0, np.ones(3), h=0.0)
    with pytest.raises(ValueError, match="order"):
        numerical_gradient(lambda v: 0.0, np.ones(3), order=3)
    with pytest.raises(ValueError, match="module: expected float64"):
        check_module(nn.Linear(2, 2), np.ones((1, 2)), verbose=False)


class _WrongTanh(nn.Tanh):
    """A deliberately broken backward (forgets the square): the checker must flag it."""

    @staticmethod
    def derivative(y, slope=None):
        return 1 - y


def test_checker_catches_a_wrong_backward(rng):
    report = check_module(_WrongTanh(), rng.uniform(0.5, 2, (3, 3)), verbose=False)
    assert not report.passed and report.max_error > 0.01
    bad = check_function("bad", lambda x: np.sum(x ** 2, -1), lambda x, grad_out: (x * grad_out[:, None],),
                         dict(x=rng.standard_normal((2, 3))))
    assert not bad.passed


def test_report_table_lists_every_row(rng, capsys):
    report = check_module(nn.Linear(3, 2, rng=rng, dtype=np.float64), rng.standard_normal((4, 3)))
    out = capsys.readouterr().out
    assert "Linear dW" in out and "3/3 gradients agree" in out
    assert isinstance(report, GradCheckReport) and report.passed
    assert [r.shape for r in report.rows] == [(4, 3), (3, 2), (2,)]


def test_cli_gradcheck_every_row_passes(capsys):
    assert main(["gradcheck"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.rstrip().endswith(("yes", "NO"))]
    assert len(rows) >= 28 and all(r.rstrip().endswith("yes") for r in rows)
    for name in ("Linear dW", "Softplus dx", "bernoulli_log_prob dlogits", "kl_std_normal dlogvar",
                 "categorical_log_prob dlogits", "kl_normal dlogvar2"):
        assert name in out


def test_cli_as_installed_console_script():
    proc = subprocess.run([sys.executable, "-m", "elbo_edu.cli", "gradcheck", "--tol", "1e-7"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "gradients agree with finite differences" in proc.stdout


def test_cli_bad_arguments_give_one_line_and_nonzero_exit():
    proc = subprocess.run([sys.executable, "-m", "elbo_edu.cli", "gradcheck", "--seed", "x"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr and "--seed" in proc.stderr
