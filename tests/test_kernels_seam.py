"""The seam itself: one interface, two backends with the same signatures, the NumPy backend built
from the readable functions, and a documented way to put another function in place of one
operation (what a course exercise uses)."""
from __future__ import annotations

import inspect
import re

import numpy as np
import pytest

from elbo_edu import kernels as K
from elbo_edu import nn
from elbo_edu import special as S
from elbo_edu.kernels.interface import Backend
from elbo_edu.kernels.numba_backend import NumbaBackend
from elbo_edu.kernels.numpy_backend import NumpyBackend
from elbo_edu.optim import Adam
from elbo_edu.vae import VAE


@pytest.mark.parametrize("op", K.OPERATIONS)
def test_both_backends_implement_every_operation_with_the_interface_signature(op):
    want = inspect.signature(getattr(Backend, op))
    for cls in (NumpyBackend, NumbaBackend):
        impl = getattr(cls, op)
        assert impl is not getattr(Backend, op), f"{cls.__name__} does not implement {op}"
        assert inspect.signature(impl) == want, (cls.__name__, op)


def test_the_table_declares_each_operation_once_and_everything_follows():
    """The interface's methods, the checked public functions and the docs page's table are the
    operations of kernels.interface.TABLE, each once."""
    from pathlib import Path

    from elbo_edu.kernels import api

    assert len(set(K.OPERATIONS)) == len(K.OPERATIONS) == len(K.TABLE)
    assert set(api.PUBLIC) == set(K.OPERATIONS)
    for op in K.TABLE:
        assert getattr(K, op.name) is api.PUBLIC[op.name][0]
        params = list(inspect.signature(getattr(Backend, op.name)).parameters)[1:]
        assert tuple(params) == op.arguments
    page = (Path(__file__).resolve().parents[1] / "docs" / "how_the_code_is_organised.md").read_text()
    seam = page[page.index("## The seam"):page.index("\n## ", page.index("## The seam"))]
    rows = re.findall(r"^\| ((?:`\w+`(?:, )?)+) \|", seam, flags=re.M)
    assert sorted(n for r in rows for n in re.findall(r"`(\w+)`", r)) == sorted(K.OPERATIONS)


def test_the_interface_lists_exactly_the_public_operations():
    public_methods = {n for n, v in vars(Backend).items()
                      if callable(v) and not n.startswith("_") and n != "substitute"}
    assert public_methods == set(K.OPERATIONS)
    for op in K.OPERATIONS:
        assert callable(getattr(K, op))                  # each has its checked public function


@pytest.mark.parametrize("op", K.OPERATIONS)
def test_every_numba_kernel_names_the_function_it_fuses(op):
    doc = inspect.getdoc(getattr(NumbaBackend, op))
    assert doc and doc.startswith("The same as"), (op, doc)


def test_the_activation_names_are_the_activation_modules():
    from elbo_edu.kernels import numba_backend

    assert set(K.ACTIVATION_NAMES) == set(nn.ACTIVATION_MODULES) == set(numba_backend._CODES)
    for name, cls in nn.ACTIVATION_MODULES.items():
        assert cls.name == name


def test_the_numpy_backend_runs_the_readable_functions(monkeypatch):
    """Replacing a readable function changes what the NumPy backend computes (it is not a copy)."""
    from elbo_edu import distributions as D

    calls = []
    real = D.bernoulli_log_prob_unchecked          # the core of bernoulli_log_prob
    monkeypatch.setattr(D, "bernoulli_log_prob_unchecked",
                        lambda x, l: calls.append(1) or real(x, l))
    real_f, real_d = S.ACTIVATIONS["tanh"]
    monkeypatch.setitem(S.ACTIVATIONS, "tanh", (lambda x, s: calls.append(2) or real_f(x, s), real_d))
    model = VAE(6, 2, hidden=(5,), activation="tanh", dtype=np.float64,
                rng=np.random.default_rng(0))
    with K.use_backend("numpy"):
        model.loss_and_grads(np.full((3, 6), 0.5))
    assert calls.count(1) == 1 and calls.count(2) == 2   # one likelihood, two hidden layers


def test_substitute_puts_a_function_in_place_of_one_operation(backend):
    model = VAE(6, 2, hidden=(5,), dtype=np.float64, rng=np.random.default_rng(0))
    opt = Adam(model.params, model.grads, lr=1e-2)
    x, eps = np.full((3, 6), 0.25), np.zeros((3, 2))
    seen = []

    def my_bias_act_forward(h, b, act, slope):          # a student's version: the formula
        seen.append(act)
        h += b
        h[...] = np.maximum(h, 0) if act == "relu" else h
        return h

    ref = model.loss(x, eps)
    with K.substitute("bias_act_forward", my_bias_act_forward) as fn:
        assert fn is my_bias_act_forward
        got = model.loss(x, eps)
        model.loss_and_grads(x, eps)
        opt.step()                                   # the other operations still run
    assert seen == ["relu", "identity"] * 2 + ["relu", "identity"] * 2
    n = len(seen)
    model.loss(x, eps)
    assert len(seen) == n                            # the backend's own method is back
    assert got == pytest.approx(ref, rel=1e-12)


@pytest.mark.parametrize("op, fn, match", [
    ("gelu", lambda h, b, act, slope: h, "operation"),
    ("bias_act_forward", 3, "function"),
    ("bias_act_forward", lambda h, b, act: h, "function"),
])
def test_substitute_rejects_a_wrong_operation_or_signature(op, fn, match):
    with pytest.raises(ValueError, match=rf"^{match}\b"):
        with K.substitute(op, fn):
            pass


@pytest.mark.parametrize("objective", ["elbo", "iwae", "free-bits"])
@pytest.mark.parametrize("likelihood", ["bernoulli", "continuous-bernoulli", "gaussian",
                                        "gaussian-learned"])
def test_a_training_step_calls_the_backend_unchecked(backend, objective, likelihood):
    """The package's own hot path (the layers, the objective, the likelihood, Adam) hands its own
    arrays straight to the backend: a training step runs no checked public function of
    kernels.* (each would re-check what the package built itself, on every step)."""
    import sys

    from elbo_edu.kernels import api
    from elbo_edu.vae.objectives import make_objective

    if objective == "iwae" and likelihood == "gaussian-learned":
        pytest.skip("the IWAE objective refuses a learned variance")
    rng = np.random.default_rng(0)
    model = VAE(6, 2, hidden=(5,), likelihood=likelihood, rng=rng)
    obj = make_objective(model, objective, k=3 if objective == "iwae" else 1,
                         free_bits=0.1 if objective == "free-bits" else None)
    opt = Adam(model.params, model.grads, lr=1e-3)
    x = rng.uniform(0.05, 0.95, (4, 6))
    checked = {fn.__code__ for fn, _ in api.PUBLIC.values()}
    seen = []

    def profile(frame, event, arg):
        if event == "call" and frame.f_code in checked:
            seen.append(frame.f_code.co_name)

    obj.loss_and_grads(x)                                  # compile outside the trace
    sys.setprofile(profile)
    try:
        obj.loss_and_grads(x)
        opt.step()
    finally:
        sys.setprofile(None)
    assert seen == []
