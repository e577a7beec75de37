"""The layers of elbo_edu.nn: the module contract, gradient checks and bad input (D2.3–D2.4)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from elbo_edu import nn
from elbo_edu.gradcheck import DEFAULT_TOL, check_module

#: Property tests hunt for awkward inputs, including ones where a gradient is thousands of times
#: smaller than the function (a softmax close to one-hot, a summed log-variance gradient that
#: nearly cancels). There the 2-point stencil's rounding error ε|f|/h ≈ 1e-10·|f| swamps the
#: gradient, so these tests use the 4th-order stencil with h = 1e-4 (truncation O(h⁴) ≈ 1e-16,
#: rounding ≈ 1e-12·|f|): a more accurate reference, the same 1e-7 tolerance.
PRECISE = dict(h=1e-4, order=4)


F64 = np.float64
ACTIVATIONS = [nn.ReLU, lambda: nn.LeakyReLU(0.2), nn.Tanh, nn.Sigmoid, nn.Softplus, nn.Identity]


def activation_inputs(rng, shape):
    """|x| in [0.05, 3]: away from the ReLU kink at 0 (a difference step must not straddle it) and
    out of deep saturation, where tanh'(x) ~ 4e^{-2|x|} drops below the finite-difference rounding
    error ε|f|/h ≈ 1e-10 and no reference could resolve it."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.05, 3.0, size=shape)


@given(n=st.integers(1, 5), d_in=st.integers(1, 5), d_out=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_linear_gradients(n, d_in, d_out, seed):
    rng = np.random.default_rng(seed)
    layer = nn.Linear(d_in, d_out, rng=rng, dtype=F64)
    report = check_module(layer, rng.standard_normal((n, d_in)), rng=rng, verbose=False,
                          **PRECISE)
    assert [r.name for r in report.rows] == ["Linear dx", "Linear dW", "Linear db"]
    assert report.passed, str(report)


@pytest.mark.parametrize("make", ACTIVATIONS)
@given(n=st.integers(1, 5), d=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_activation_gradients(make, n, d, seed):
    rng = np.random.default_rng(seed)
    x = activation_inputs(rng, (n, d))
    report = check_module(make(), x, rng=rng, verbose=False, **PRECISE)
    assert report.passed, str(report)


@given(seed=st.integers(0, 2**16), widths=st.lists(st.integers(1, 5), min_size=2, max_size=4))
def test_sequential_gradients(seed, widths):
    rng = np.random.default_rng(seed)
    model = nn.mlp(widths, nn.Tanh, rng=rng, dtype=F64)
    report = check_module(model, rng.standard_normal((3, widths[0])), rng=rng, verbose=False,
                          **PRECISE)
    assert len(report.rows) == 1 + 2 * (len(widths) - 1)
    assert report.max_error < DEFAULT_TOL, str(report)


def test_activation_values():
    x = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_array_equal(nn.ReLU()(x), [[0, 0, 3]])
    np.testing.assert_allclose(nn.LeakyReLU(0.1)(x), [[-0.2, 0, 3]])
    np.testing.assert_allclose(nn.Sigmoid()(x), 1 / (1 + np.exp(-x)), rtol=1e-15)
    np.testing.assert_allclose(nn.Softplus()(x), np.log1p(np.exp(x)), rtol=1e-15)
    np.testing.assert_allclose(nn.Tanh()(x), np.tanh(x), rtol=1e-15)
    big = np.array([[-1e4, 1e4]])
    assert np.all(np.isfinite(nn.Sigmoid()(big))) and np.all(np.isfinite(nn.Softplus()(big)))
    np.testing.assert_array_equal(nn.Softplus()(big), [[0.0, 1e4]])


def test_contract_keys_shapes_and_dotted_names(rng):
    model = nn.Sequential(nn.Linear(4, 3, rng=rng), nn.ReLU(),
                          nn.Sequential(nn.Linear(3, 2, rng=rng), nn.Tanh()))
    assert list(model.params) == ["0.W", "0.b", "2.0.W", "2.0.b"]
    assert model.params.keys() == model.grads.keys()
    for k in model.params:
        assert model.params[k].shape == model.grads[k].shape
    # the flat dict holds the layers' own arrays, so an optimizer updating it updates the layers
    assert model.params["0.W"] is model[0].params["W"]
    assert model.grads["2.0.b"] is model[2][0].grads["b"]
    assert model.num_parameters() == 4 * 3 + 3 + 3 * 2 + 2


def test_backward_without_forward_raises(rng):
    for m in (nn.Linear(2, 2, rng=rng), nn.ReLU(), nn.Sequential(nn.Linear(2, 2, rng=rng))):
        with pytest.raises(RuntimeError, match="without a preceding forward"):
            m.backward(np.ones((1, 2), dtype=np.float32))


def test_backward_accumulates_and_zero_grad(rng):
    layer = nn.Linear(3, 2, rng=rng, dtype=F64)
    x, dy = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer.forward(x)
    layer.backward(dy)
    once = layer.grads["W"].copy()
    layer.forward(x)
    layer.backward(dy)
    np.testing.assert_allclose(layer.grads["W"], 2 * once, rtol=1e-15)
    grads_before = layer.grads["W"]
    layer.zero_grad()
    assert layer.grads["W"] is grads_before and not layer.grads["W"].any()


def test_linear_init_and_dtype(rng):
    layer = nn.Linear(100, 50, rng=rng)
    assert layer.params["W"].dtype == np.float32 and layer.params["W"].shape == (100, 50)
    assert np.abs(layer.params["W"]).max() <= 0.1 and np.abs(layer.params["b"]).max() <= 0.1
    # uniform on [-1/sqrt(n_in), 1/sqrt(n_in)]: variance 1/(3 n_in); 5000 draws -> SE about 2%
    assert abs(layer.params["W"].var() * 300 - 1) < 0.1
    y = layer(np.ones((2, 100)))  # float64 input is cast to the layer's float32
    assert y.dtype == np.float32
    assert nn.ReLU()(y).dtype == np.float32


@pytest.mark.parametrize("args, match", [((0, 3), "n_in"), ((3, -1), "n_out"), ((2.5, 3), "n_in"),
                                         ((True, 3), "n_in")])
def test_linear_rejects_bad_sizes(args, match):
    with pytest.raises(ValueError, match=match):
        nn.Linear(*args)


def test_bad_shapes_raise(rng):
    layer = nn.Linear(3, 2, rng=rng)
    with pytest.raises(ValueError, match=r"x: expected shape \(N, 3\)"):
        layer(np.ones((4, 5)))
    with pytest.raises(ValueError, match="x: expected shape"):
        layer(np.ones(3))
    layer(np.ones((4, 3)))
    with pytest.raises(ValueError, match="dy: expected shape"):
        layer.backward(np.ones((4, 3)))
    with pytest.raises(ValueError, match="slope"):
        nn.LeakyReLU(-1)
    with pytest.raises(ValueError, match="dtype"):
        nn.Linear(2, 2, dtype=np.int32)
    with pytest.raises(ValueError, match="modules"):
        nn.Sequential()


def test_softmax_cross_entropy_is_the_categorical_nll(rng):
    """D2.1: the loss is the mean of -log Cat(y; softmax(logits)); its gradient is (softmax - onehot)/N."""
    logits, y = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    loss, d = nn.softmax_cross_entropy(logits, y)
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(6), y])), rel=1e-14)
    np.testing.assert_allclose(d, (p - np.eye(4)[y]) / 6, rtol=1e-12, atol=1e-15)
    ce = nn.SoftmaxCrossEntropy()
    with pytest.raises(RuntimeError):
        ce.backward()
    assert ce(logits, y) == loss
    np.testing.assert_array_equal(ce.backward(), d)


def test_classifier_learns_a_separable_problem(rng):
    """A categorical model p(y|x) = Cat(softmax(NN(x))) fitted with the optimizer (D2.1, D2.3)."""
    from elbo_edu.optim import Adam

    x = rng.standard_normal((200, 2))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    model = nn.mlp((2, 16, 2), nn.Tanh, rng=rng, dtype=F64)
    opt = Adam(model.params, model.grads, lr=0.05)
    for _ in range(200):
        opt.zero_grad()
        _, d = nn.softmax_cross_entropy(model(x), y)
        model.backward(d)
        opt.step()
    assert np.mean(model(x).argmax(1) == y) > 0.97


@pytest.mark.parametrize("make", [lambda r: nn.Linear(3, 2, rng=r, dtype=np.float64),
                                  lambda r: nn.Dense(3, 2, "tanh", rng=r, dtype=np.float64),
                                  lambda r: nn.Tanh(),
                                  lambda r: nn.mlp((3, 4, 2), "relu", rng=r, dtype=np.float64)])
def test_a_backward_that_fails_on_a_bad_dy_keeps_the_forward_cache(rng, make):
    m = make(rng)
    x = rng.standard_normal((5, 3))
    y = m.forward(x)
    with pytest.raises(ValueError, match=r"^dy: expected shape"):
        m.backward(np.ones((5, 7)))
    dx = m.backward(np.ones_like(y))                  # the good dy still finds the cache
    assert dx.shape == x.shape
    with pytest.raises(RuntimeError, match="without a preceding forward"):
        m.backward(np.ones_like(y))                   # one forward, one backward


def test_dense_layer_names_what_it_fuses_and_rejects_bad_arguments(rng):
    d = nn.Dense(3, 2, "softplus", rng=rng)
    assert d.activation == "softplus" and "softplus" in repr(d)
    with pytest.raises(ValueError, match=r"^activation: expected one of"):
        nn.Dense(3, 2, "gelu")
    with pytest.raises(ValueError, match=r"^slope: expected"):
        nn.Dense(3, 2, "leaky_relu", slope=-1.0)
    with pytest.raises(ValueError, match=r"^dtype: expected float32 or float64"):
        nn.Dense(3, 2, dtype=np.float16)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_into_gives_forward_s_bits_in_arrays_it_reuses(rng, dtype):
    """Evaluation's forward pass: the same numbers as forward, written into arrays the workspace
    keeps for each layer (two layers of one shape must not share one: the second would
    overwrite its own input), nothing kept for a backward; modules without an ``out`` (an
    activation module) fall back to forward."""
    net = nn.Sequential(nn.mlp((5, 8, 8, 8), "tanh", rng=rng, dtype=dtype), nn.ReLU(),
                        nn.Linear(8, 3, rng=rng, dtype=dtype))
    x = rng.standard_normal((6, 5)).astype(dtype)
    ws = {}
    first = net.forward_into(x, ws)
    np.testing.assert_array_equal(first, net.forward(x))
    assert first.dtype == dtype and len(ws) == 4          # the four dense layers' outputs
    again = net.forward_into(2 * x, ws)
    assert again is first and len(ws) == 4                # the same arrays, overwritten
    np.testing.assert_array_equal(again, net.forward(2 * x))
    assert net.forward_into(x[:2], ws).shape == (2, 3) and len(ws) == 8   # a new shape, new arrays
    net.forward_into(x, ws)
    with pytest.raises(RuntimeError, match="without a preceding forward"):
        net.backward(np.ones((6, 3), dtype))
    with pytest.raises(ValueError, match=r"^x: expected shape \(N, 5\)"):
        net.forward_into(x[:, :4], ws)
