"""The shortcuts of the training hot path change no number and no contract: a backward with
``overwrite=True`` writes what adding to zeros would give and a plain one adds; the VAE's
overwriting backward ignores whatever the gradient arrays held before; the cached flat ``params``/``grads`` dicts follow
new children and parameters; Adam's direct kernel call and its NumPy fallback agree; the VAE's
two-pass check of ``x`` still rejects NaN, infinities and values outside [0, 1] by name."""
from __future__ import annotations

import numpy as np
import pytest

from elbo_edu import nn
from elbo_edu.optim import Adam
from elbo_edu.vae import VAE


@pytest.mark.parametrize("act", ["identity", "relu", "tanh"])
def test_overwriting_backward_writes_then_plain_backwards_add(rng, backend, act):
    lin = nn.Dense(6, 5, act, rng=rng, dtype=np.float64)
    x, dy = rng.standard_normal((4, 6)), rng.standard_normal((4, 5))
    lin.grads["W"][...] = 3.0                      # stale numbers that overwrite replaces
    lin.grads["b"][...] = -2.0
    y = lin.forward(x)
    lin.backward(dy, overwrite=True)
    first = {k: g.copy() for k, g in lin.grads.items()}
    lin.forward(x)
    lin.backward(dy)
    # both sides computed here: dpre = dy * f'(pre) written with y, then x^T dpre and sum_n dpre
    dpre = dy * {"identity": np.ones_like(y), "relu": (y > 0) * 1.0, "tanh": 1 - y * y}[act]
    np.testing.assert_allclose(first["W"], x.T @ dpre, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(first["b"], dpre.sum(axis=0), rtol=1e-13, atol=1e-15)
    for k, g in lin.grads.items():                     # a + a == 2a exactly in floating point
        np.testing.assert_array_equal(g, 2 * first[k])


def test_backward_without_zero_grad_adds_to_what_is_there(rng):
    lin = nn.Linear(3, 2, rng=rng, dtype=np.float64)
    x, dy = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    lin.grads["W"][...] = 1.5                          # never zeroed: the contract says "adds"
    lin.forward(x)
    lin.backward(dy)
    np.testing.assert_allclose(lin.grads["W"], 1.5 + x.T @ dy, rtol=1e-13)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian-learned"])
def test_loss_and_grads_ignores_stale_gradients(rng, likelihood):
    """The VAE's backward overwrites the gradients: garbage left in the gradient arrays, or a
    previous call, must not leak into the result."""
    a = VAE(7, 2, hidden=(5,), likelihood=likelihood, dtype=np.float64,
            rng=np.random.default_rng(3))
    b = VAE(7, 2, hidden=(5,), likelihood=likelihood, dtype=np.float64,
            rng=np.random.default_rng(3))
    x, eps = rng.uniform(0, 1, (4, 7)), rng.standard_normal((4, 2))
    for g in a.grads.values():
        g[...] = 7.0
    la, ga = a.loss_and_grads(x, eps=eps)
    la2, ga2 = a.loss_and_grads(x, eps=eps)           # called twice: no accumulation
    lb, gb = b.loss_and_grads(x, eps=eps)
    assert la == lb == la2
    assert set(ga) == set(gb)
    for k in gb:
        np.testing.assert_array_equal(ga[k], gb[k])
        np.testing.assert_array_equal(ga2[k], gb[k])


def test_flat_dicts_follow_new_children_and_parameters(rng):
    seq = nn.Sequential(nn.Linear(2, 3, rng=rng), nn.ReLU())
    outer = nn.Module()
    outer.add_module("body", seq)
    first = outer.params
    assert sorted(first) == ["body.0.W", "body.0.b"]
    first.pop("body.0.W")                              # a caller's change stays in its own copy
    assert "body.0.W" in outer.params
    seq.add_module("extra", nn.Linear(3, 1, rng=rng))  # a grandchild registered afterwards
    seq._add_param("scale", np.ones(2))
    assert sorted(outer.params) == sorted(outer.grads) == \
        ["body.0.W", "body.0.b", "body.extra.W", "body.extra.b", "body.scale"]
    assert outer.params["body.extra.W"] is seq.children()["extra"].params["W"]
    assert outer.grads["body.0.W"] is seq[0].grads["W"]  # the same arrays, not copies


def test_adam_kernel_call_equals_the_fallback_for_strided_arrays(rng, backend):
    base = rng.standard_normal((4, 6))
    grads = [rng.standard_normal((4, 3)) for _ in range(4)]
    fast_p, slow_p = {"w": base[:, ::2].copy()}, {"w": base[:, ::2]}   # the second is strided
    assert not slow_p["w"].flags.c_contiguous
    fast_g, slow_g = {"w": np.zeros((4, 3))}, {"w": np.zeros((4, 3))}
    fast, slow = Adam(fast_p, fast_g, lr=1e-2), Adam(slow_p, slow_g, lr=1e-2)
    for g in grads:
        fast_g["w"][...] = g
        slow_g["w"][...] = g
        fast.step()
        slow.step()
    np.testing.assert_allclose(fast_p["w"], slow_p["w"], rtol=1e-12)
    np.testing.assert_allclose(base[:, ::2], slow_p["w"], rtol=0)   # updated in place


@pytest.mark.parametrize("value, match", [(np.nan, "x: expected finite"),
                                          (np.inf, "x: expected finite"),
                                          (-np.inf, "x: expected finite"),
                                          (1.5, r"x: expected values in \[0, 1\]"),
                                          (-0.25, r"x: expected values in \[0, 1\]")])
def test_the_fast_check_of_x_still_names_the_problem(rng, dtype, value, match):
    model = VAE(5, 2, hidden=(4,), dtype=dtype, rng=rng)
    x = rng.uniform(0, 1, (3, 5)).astype(dtype)
    model.loss_and_grads(x)                            # the valid batch passes the fast check
    x[1, 2] = value
    with pytest.raises(ValueError, match=match):
        model.loss_and_grads(x)
