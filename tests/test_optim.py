"""SGD with momentum and Adam reach the known minimum of a quadratic; state round-trips exactly."""
from __future__ import annotations

import numpy as np
import pytest

from elbo_edu.optim import SGD, Adam


def _quadratic(rng, dtype=np.float64):
    """f(x) = ½ (x − c)ᵀ A (x − c), A symmetric positive definite: the minimum is x = c."""
    m = rng.standard_normal((4, 4))
    a = m @ m.T / 4 + np.eye(4)
    c = rng.standard_normal(4)
    params = {"x": np.zeros(4, dtype=dtype)}
    grads = {"x": np.zeros(4, dtype=dtype)}

    def compute_grad():
        grads["x"][...] = a @ (params["x"] - c)

    return params, grads, compute_grad, c


@pytest.mark.parametrize("make", [lambda p, g: SGD(p, g, lr=0.1, momentum=0.9),
                                  lambda p, g: SGD(p, g, lr=0.1),
                                  lambda p, g: Adam(p, g, lr=0.01)])
def test_optimizers_reach_the_minimum_of_a_quadratic(rng, make):
    params, grads, compute_grad, c = _quadratic(rng)
    opt = make(params, grads)
    for _ in range(3000):
        opt.zero_grad()
        compute_grad()
        opt.step()
    np.testing.assert_allclose(params["x"], c, atol=1e-6)


def test_adam_first_step_is_lr_times_sign(rng):
    """With bias correction the first Adam step has size lr in every coordinate (|g| >> eps)."""
    p = {"w": rng.standard_normal(5)}
    g = {"w": rng.standard_normal(5)}
    p0 = p["w"].copy()
    Adam(p, g, lr=0.01).step()
    np.testing.assert_allclose(p0 - p["w"], 0.01 * np.sign(g["w"]), rtol=1e-6)


@pytest.mark.parametrize("hyper", [{}, {"lr": 0.05, "betas": (0.8, 0.9), "eps": 1e-3}],
                         ids=["defaults", "other-betas-eps"])
def test_adam_equals_the_textbook_formula(rng, backend, hyper):
    """Every kind of parameter the package hands Adam takes the textbook step, written out here in
    float64: float32 and float64 arrays, a gradient of another dtype, a strided view (updated in
    place), a 0-d scalar (the learned log-variance log_gamma), and a gradient array replaced in
    the dict between steps (the optimizer's cached grouping notices the swap)."""
    lr, (b1, b2), eps = hyper.get("lr", 1e-3), hyper.get("betas", (0.9, 0.999)), hyper.get("eps", 1e-8)
    base = rng.standard_normal((3, 8))
    params = {"a": rng.standard_normal((2, 3)).astype(np.float32), "b": rng.standard_normal(4),
              "strided": base[:, ::2], "s": np.array(0.5)}
    grads = {"a": np.zeros((2, 3), np.float32), "b": np.zeros(4, np.float32),
             "strided": np.zeros((3, 4)), "s": np.array(0.0)}
    ref = {k: p.astype(np.float64) for k, p in params.items()}
    m = {k: np.zeros(p.shape) for k, p in params.items()}
    v = {k: np.zeros(p.shape) for k, p in params.items()}
    opt = Adam(params, grads, **hyper)
    for t in range(1, 6):
        if t == 3:
            grads["a"] = np.zeros((2, 3), np.float32)   # a new array under the same key
        for k in grads:
            grads[k][...] = rng.standard_normal(grads[k].shape)
        opt.step()
        for k in params:
            g = grads[k].astype(params[k].dtype).astype(np.float64)
            m[k] = b1 * m[k] + (1 - b1) * g
            v[k] = b2 * v[k] + (1 - b2) * g * g
            ref[k] = ref[k] - lr * (m[k] / (1 - b1 ** t)) / (np.sqrt(v[k] / (1 - b2 ** t)) + eps)
            rtol = 1e-5 if params[k].dtype == np.float32 else 1e-12
            np.testing.assert_allclose(params[k], ref[k], rtol=rtol, err_msg=f"{k}, t={t}")
    assert params["strided"].base is base                   # updated in place, still a view
    assert params["s"].shape == () and params["a"].dtype == np.float32


@pytest.mark.parametrize("cls", [SGD, Adam])
def test_state_dict_resumes_exactly(rng, cls):
    def run(steps, opt_state=None, start=None):
        p = {"w": np.ones(3) if start is None else start.copy()}
        g = {"w": np.zeros(3)}
        opt = cls(p, g, lr=0.05, **({"momentum": 0.5} if cls is SGD else {}))
        if opt_state is not None:
            opt.load_state_dict(opt_state)
        for _ in range(steps):
            g["w"][...] = p["w"] ** 2 - 0.5
            opt.step()
        return p["w"], {k: np.copy(v) for k, v in opt.state_dict().items()}

    full, _ = run(6)
    half, state = run(3)
    resumed, _ = run(3, state, half)
    np.testing.assert_array_equal(full, resumed)


def test_float32_parameters_stay_float32(rng):
    p = {"w": rng.standard_normal(4).astype(np.float32)}
    g = {"w": rng.standard_normal(4).astype(np.float32)}
    for opt in (SGD(p, g, momentum=0.9), Adam(p, g)):
        opt.step()
        assert p["w"].dtype == np.float32


@pytest.mark.parametrize("kwargs, match", [({"lr": -1.0}, "lr"), ({"lr": np.nan}, "lr"),
                                           ({"betas": (1.0, 0.9)}, r"betas\[0\]"),
                                           ({"eps": 0.0}, "eps")])
def test_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Adam({"w": np.zeros(2)}, {"w": np.zeros(2)}, **kwargs)


def test_mismatched_params_and_grads():
    with pytest.raises(ValueError, match="grads"):
        SGD({"w": np.zeros(2)}, {"v": np.zeros(2)})
    with pytest.raises(ValueError, match="grads: expected shape"):
        SGD({"w": np.zeros(2)}, {"w": np.zeros(3)})
    with pytest.raises(ValueError, match="momentum"):
        SGD({"w": np.zeros(2)}, {"w": np.zeros(2)}, momentum=1.0)
