"""The kernels wired into the layers: the dense layers ``mlp`` builds (activation fused) give the
same outputs and gradients as the chain ``Linear, activation module, Linear, ...`` called one by
one; skipping the input gradient of a
first layer changes nothing else; Adam through the kernel equals Adam written out; the VAE's
fused training path equals its unfused pieces."""
from __future__ import annotations

import numpy as np
import pytest

from elbo_edu import distributions as D
from elbo_edu import nn
from elbo_edu.vae import VAE

ACTS = ["relu", "tanh", "sigmoid", "softplus", "identity", "leaky_relu"]


def _unfused(seq, act, slope):
    """The same network as ``Linear, activation module, Linear, ...`` with the same arrays."""
    chain = []
    for i, dense in enumerate(seq.layers):
        lin = nn.Linear(dense.n_in, dense.n_out, dtype=dense.dtype)
        lin.params["W"][...], lin.params["b"][...] = dense.params["W"], dense.params["b"]
        chain.append(lin)
        if i < len(seq.layers) - 1:
            cls = nn.ACTIVATION_MODULES[act]
            chain.append(cls(slope) if act == "leaky_relu" else cls())
    return nn.Sequential(*chain)


@pytest.mark.parametrize("act", ACTS)
def test_dense_mlp_equals_the_unfused_chain(rng, backend, act):
    seq = nn.mlp((5, 7, 6, 3), act, slope=0.2, rng=rng, dtype=np.float64)
    assert [type(m) for m in seq.layers] == [nn.Dense] * 3
    assert [m.activation for m in seq.layers] == [act, act, "identity"]
    ref = _unfused(seq, act, 0.2)
    assert list(ref.params) == list(seq.params)          # 0.W, 0.b, 2.W, 2.b, 4.W, 4.b
    x, dy = rng.standard_normal((4, 5)), rng.standard_normal((4, 3))
    y_fused = seq.forward(x)
    dx_fused = seq.backward(dy)
    y_ref = ref.forward(x)
    dx_ref = ref.backward(dy)
    np.testing.assert_allclose(y_fused, y_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dx_fused, dx_ref, rtol=1e-12, atol=1e-14)
    for k, g in seq.grads.items():
        np.testing.assert_allclose(g, ref.grads[k], rtol=1e-12, atol=1e-14)


def test_skipping_the_input_gradient_keeps_the_parameter_gradients(rng):
    seq = nn.mlp((5, 7, 3), "relu", rng=rng, dtype=np.float64)
    x, dy = rng.standard_normal((4, 5)), rng.standard_normal((4, 3))
    seq.forward(x)
    assert seq.backward(dy).shape == (4, 5)
    full = {k: v.copy() for k, v in seq.grads.items()}
    seq.zero_grad()
    seq.forward(x)
    assert seq.backward(dy, input_grad=False) is None
    for k, g in seq.grads.items():
        np.testing.assert_array_equal(g, full[k])
    lin = nn.Linear(5, 3, rng=rng, dtype=np.float64)
    lin.forward(x)
    assert lin.backward(dy, input_grad=False) is None


def test_vae_fused_loss_equals_the_pieces(rng, backend):
    """The fused training path (reparam+KL and Bernoulli kernels) against distributions."""
    model = VAE(12, 3, hidden=(8,), dtype=np.float64, rng=rng)
    x = rng.uniform(0, 1, (5, 12))
    eps = rng.standard_normal((5, 3))
    loss, _ = model.loss_and_grads(x, eps=eps)
    h = x
    for m in model.encoder.layers:
        h = m.forward(h)
    mu, lv = h[:, :3], h[:, 3:]
    out = model.decoder.forward(mu + np.exp(0.5 * lv) * eps)
    ref = np.mean(-D.bernoulli_log_prob(x, out) + D.kl_std_normal(mu, lv))
    np.testing.assert_allclose(loss, ref, rtol=1e-12)
    np.testing.assert_allclose(model.loss(x, eps=eps), ref, rtol=1e-12)
