"""float32 end to end: no array of a float32 training step is upcast to float64.

A tracer watches every function of the package while one training step runs (forward, backward,
Adam update) and inspects every array it sees: each local variable when a function returns and each
return value. Any floating-point array that is not float32 fails the test, with the place it was
found. This catches a float64 literal or a float64 temporary anywhere on the path, not just in the
final parameters.
"""
from __future__ import annotations

import sys

import numpy as np

from elbo_edu import kernels as K
from elbo_edu.optim import Adam
from elbo_edu.vae import VAE

PKG = "elbo_edu"


def _arrays(value):
    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from _arrays(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _arrays(v)


class UpcastTracer:
    """``sys.settrace`` hook recording every non-float32 floating array seen inside the package."""

    def __init__(self):
        self.bad: list[str] = []
        self.seen = 0

    def _check(self, where, name, value):
        for a in _arrays(value):
            self.seen += 1
            if np.issubdtype(a.dtype, np.floating) and a.dtype != np.float32:
                self.bad.append(f"{where}: {name} has dtype {a.dtype} shape {a.shape}")

    def __call__(self, frame, event, arg):
        if PKG not in frame.f_code.co_filename:
            return None
        return self._local

    def _local(self, frame, event, arg):
        if event == "return":
            where = f"{frame.f_code.co_filename.split(PKG)[-1]}:{frame.f_code.co_name}"
            for name, value in frame.f_locals.items():
                self._check(where, name, value)
            self._check(where, "<return>", arg)
        return self._local


def _model_and_batch(seed=0):
    rng = np.random.default_rng(seed)
    model = VAE(784, 20, hidden=(64,), dtype=np.float32, rng=rng)
    x = rng.uniform(0, 1, (32, 784)).astype(np.float32)
    return model, x, rng


def test_no_array_of_a_float32_training_step_is_upcast(backend):
    model, x, rng = _model_and_batch()
    opt = Adam(model.params, model.grads, lr=1e-3)
    model.loss_and_grads(x, rng=rng)                   # compile / warm up outside the trace
    opt.step()
    tracer = UpcastTracer()
    sys.settrace(tracer)
    try:
        model.loss_and_grads(x, rng=rng)
        opt.step()
    finally:
        sys.settrace(None)
    assert tracer.seen > 50, "the tracer saw too few arrays: is it hooked in?"
    assert not tracer.bad, "float64 arrays in a float32 step:\n" + "\n".join(tracer.bad[:20])
    state = [model.params, model.grads, opt.m, opt.v]
    for d in state:
        for k, a in d.items():
            assert a.dtype == np.float32, k


def test_the_tracer_catches_an_upcast():
    """The detector itself works: a float64 temporary inside a package function is reported."""
    from elbo_edu import distributions as D

    tracer = UpcastTracer()
    sys.settrace(tracer)
    try:
        D.kl_std_normal(np.zeros((2, 3), np.float32), np.zeros((2, 3), np.float64))
    finally:
        sys.settrace(None)
    assert any("float64" in b for b in tracer.bad)


def test_float32_kernels_return_float32(backend):
    rng = np.random.default_rng(1)
    a, b, c = (rng.uniform(0.1, 0.9, (4, 5)).astype(np.float32) for _ in range(3))
    outs = [K.bias_act_forward(a.copy(), b[0], "softplus"),
            *K.bias_act_backward(a, b, "tanh"), *K.bernoulli_loglik_grad(a, b),
            *K.continuous_bernoulli_loglik_grad(a, b),
            *K.gaussian_loglik_grad(a, b, c[0]), *K.reparam_kl(a, b, c),
            *K.reparam_kl_backward(a, b, c, a), K.kde_log_density(a, b, 0.5)]
    assert all(o.dtype == np.float32 for o in outs)
