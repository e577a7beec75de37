"""The seam: numba and NumPy backends agree operation by operation (each test names the readable
function the numba kernel mirrors), the NumPy backend is those readable functions, every kernel
gradient passes a finite-difference check, and bad arguments name themselves.

Agreement tolerances (relative): 1e-12 in float64, 1e-5 in float32. Both backends do the same
operations in nearly the same order; what differs is summation order (row sums of up to a few
hundred terms) and the libm used for exp/log1p, each worth a few units in the last place.
"""
from __future__ import annotations

import numpy as np
import pytest

from elbo_edu import distributions as D
from elbo_edu import kernels as K
from elbo_edu import nn
from elbo_edu.gradcheck import numerical_gradient, rel_error
from elbo_edu.kernels import use_backend

RTOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}
ACTS = list(K.ACTIVATION_NAMES)


def close(a, b, dtype):
    """Element-wise relative agreement, with the scale of ``b`` as the floor for near-zero values."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    tol = RTOL[np.dtype(dtype)]
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(np.max(np.abs(b), initial=0), 1e-300))


def both(fn, *args, **kw):
    """Call ``fn`` under each backend on fresh copies of the arrays; return (numba, numpy)."""
    out = []
    for name in ("numba", "numpy"):
        copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        with use_backend(name):
            out.append(fn(*copies, **kw))
    return out


def arrays(rng, dtype, shape=(7, 5), n=3, lo=-3.0, hi=3.0):
    return [rng.uniform(lo, hi, shape).astype(dtype) for _ in range(n)]


# ----------------------------------------------------------------- backends agree ("agree")
@pytest.mark.parametrize("act", ACTS)
def test_agree_bias_act(rng, dtype, act):
    """numba ``bias_act_*`` mirrors the pair ``special.ACTIVATIONS[act]`` (function, derivative)."""
    h, dy, _ = arrays(rng, dtype)
    b = rng.uniform(-1, 1, 5).astype(dtype)
    y_nb, y_np = both(K.bias_act_forward, h, b, act, slope=0.1)
    close(y_nb, y_np, dtype)
    (d_nb, db_nb), (d_np, db_np) = both(K.bias_act_backward, dy, y_np, act, slope=0.1)
    close(d_nb, d_np, dtype)
    close(db_nb, db_np, dtype)
    assert y_nb.dtype == d_nb.dtype == db_nb.dtype == dtype


def test_agree_likelihoods_and_reparam(rng, dtype):
    """numba kernels mirror ``distributions.bernoulli_log_prob(_grad)``,
    ``continuous_bernoulli_log_prob(_grad)``, ``gaussian_log_prob(_grad)``,
    ``reparameterize(_grad)`` + ``kl_std_normal(_grad)``."""
    x = rng.uniform(0, 1, (6, 9)).astype(dtype)
    logits, mean, logvar = arrays(rng, dtype, (6, 9))
    logits[0, :4] = [0.0, 0.03, -0.09, 0.11]        # the continuous Bernoulli's Taylor branch
    for r_nb, r_np in zip(*both(K.bernoulli_loglik_grad, x, logits, scale=-0.25)):
        close(r_nb, r_np, dtype)
    for r_nb, r_np in zip(*both(K.continuous_bernoulli_loglik_grad, x, logits, scale=-0.25)):
        close(r_nb, r_np, dtype)
    for r_nb, r_np in zip(*both(K.gaussian_loglik_grad, x, mean, logvar[0], scale=0.5)):
        close(r_nb, r_np, dtype)
    mu, lv, eps = arrays(rng, dtype, (6, 4))
    for r_nb, r_np in zip(*both(K.reparam_kl, mu, lv, eps)):
        close(r_nb, r_np, dtype)
    dz = rng.standard_normal((6, 4)).astype(dtype)
    for r_nb, r_np in zip(*both(K.reparam_kl_backward, dz, mu, lv, eps, kl_scale=0.3)):
        close(r_nb, r_np, dtype)


def test_agree_bernoulli_log_prob_of_samples(rng, dtype):
    """numba's evaluation kernel mirrors ``distributions.bernoulli_log_prob`` with the targets
    broadcast over the samples; logits up to |l| = 100 (softplus's two branches, e^{-|l|}
    underflowing to the subnormals and to 0)."""
    x = (rng.uniform(0, 1, (5, 9)) < 0.4).astype(dtype)
    x[0] = rng.uniform(0, 1, 9)                          # grey levels are targets too
    logits = rng.uniform(-8, 8, (4, 5, 9)).astype(dtype)
    logits[0, 0, :6] = [0.0, -100.0, 100.0, -90.0, 40.0, -17.5]
    close(*both(K.bernoulli_log_prob, x, logits), dtype)


def test_agree_adam_kde(rng, dtype):
    """numba ``adam_update`` mirrors ``optim.adam_update``; ``kde_log_density`` the NumPy one."""
    p, g, m = arrays(rng, dtype, (4, 6))
    v = rng.uniform(0, 2, (4, 6)).astype(dtype)
    res = []
    for name in ("numba", "numpy"):
        arrs = [a.copy() for a in (p, g, m, v)]
        with use_backend(name):
            K.adam_update([tuple(arrs)], 1e-3, 0.9, 0.999, 1e-8)
        res.append(arrs)
    for a_nb, a_np in zip(*res):
        close(a_nb, a_np, dtype)
    xe, xd = (rng.standard_normal((n, 2)).astype(dtype) for n in (13, 57))
    close(*both(K.kde_log_density, xe, xd, 0.4), dtype)


def test_in_unit_interval_both_backends_on_edge_values(rng, dtype):
    """True exactly when every entry is in [0, 1]: the ends count, NaN and +-inf do not, and one
    bad entry anywhere (first, last, in a strided view) is found."""
    x = rng.uniform(0, 1, (9, 13)).astype(dtype)
    x[0, 0], x[-1, -1] = 0.0, 1.0
    cases = {"unit": (x, True), "-0.0": (np.full((2, 3), -0.0, dtype), True),
             "empty": (np.empty((0, 4), dtype), True), "3-d": (x.reshape(3, 3, 13), True),
             "strided": (x[:, ::2], True)}
    for (i, j), bad in zip([(0, 0), (4, 7), (8, 12), (2, 5), (6, 1)],
                           [np.nan, np.inf, -np.inf, 1 + 1e-6, -1e-30]):
        y = x.copy()
        y[i, j] = bad
        cases[f"{bad} at {(i, j)}"] = (y, False)
    y = x.copy()
    y[3, 2] = 2.0
    cases["bad entry in the strided view"] = (y[:, ::2], False)
    for label, (a, want) in cases.items():
        for name in ("numba", "numpy"):
            with use_backend(name):
                got = K.in_unit_interval(a)
            assert got is want, (label, name)


# ------------------------------------------------- the twins equal the reference formulas
def test_bias_act_equals_the_nn_layers(rng, backend):
    acts = {"identity": nn.Identity(), "relu": nn.ReLU(), "leaky_relu": nn.LeakyReLU(0.1),
            "tanh": nn.Tanh(), "sigmoid": nn.Sigmoid(), "softplus": nn.Softplus()}
    h, dy, _ = arrays(rng, np.float64)
    b = rng.uniform(-1, 1, 5)
    for name, layer in acts.items():
        y = K.bias_act_forward(h.copy(), b, name, slope=0.1)
        close(y, layer.forward(h + b), np.float64)
        dpre, db = K.bias_act_backward(dy, y, name, slope=0.1)
        ref = layer.backward(dy)
        close(dpre, ref, np.float64)
        close(db, ref.sum(axis=0), np.float64)


def test_likelihood_kernels_equal_distributions(rng, backend, dtype):
    x = rng.uniform(0, 1, (6, 9)).astype(dtype)
    logits, mean, logvar = arrays(rng, dtype, (6, 9))
    logp, dl = K.bernoulli_loglik_grad(x, logits, scale=-0.5)
    close(logp, D.bernoulli_log_prob(x, logits), dtype)
    close(dl, -0.5 * D.bernoulli_log_prob_grad(x, logits)[-1], dtype)
    samples = np.stack([logits, -2 * logits, logits + 1])          # (S, N, D), S = 3
    rows = K.bernoulli_log_prob(x, samples)
    assert rows.shape == (3, 6) and rows.dtype == np.dtype(dtype)
    for s in range(3):   # sample by sample, through the scalar definition in float64
        x64, l64 = x.astype(np.float64), samples[s].astype(np.float64)
        want = np.sum(x64 * l64 - np.logaddexp(0.0, l64), axis=-1)
        close(rows[s], want, dtype)
    logp, dl = K.continuous_bernoulli_loglik_grad(x, logits, scale=-0.5)
    close(logp, D.continuous_bernoulli_log_prob(x, logits), dtype)
    close(dl, -0.5 * D.continuous_bernoulli_log_prob_grad(x, logits)[-1], dtype)
    lv = logvar[0]
    logp, dm, dlv = K.gaussian_loglik_grad(x, mean, lv, scale=2.0)
    _, rdm, rdlv = D.gaussian_log_prob_grad(x, mean, lv)
    close(logp, D.gaussian_log_prob(x, mean, lv), dtype)
    close(dm, 2 * rdm, dtype)
    close(dlv, 2 * rdlv, dtype)


def test_reparam_kl_equals_distributions(rng, backend):
    mu, lv, eps = arrays(rng, np.float64, (6, 4))
    dz = rng.standard_normal((6, 4))
    z, kl = K.reparam_kl(mu, lv, eps)
    dmu, dlv = K.reparam_kl_backward(dz, mu, lv, eps, kl_scale=0.7)
    close(z, mu + np.exp(0.5 * lv) * eps, np.float64)
    close(kl, D.kl_std_normal(mu, lv), np.float64)
    kmu, klv = D.kl_std_normal_grad(mu, lv, grad_out=np.full(6, 0.7))
    close(dmu, dz + kmu, np.float64)
    close(dlv, dz * 0.5 * np.exp(0.5 * lv) * eps + klv, np.float64)


def test_adam_kernel_equals_the_textbook_update(rng, backend):
    """The folded form (step, eps_hat) against Adam written with explicit bias-corrected moments."""
    p, g, m = arrays(rng, np.float64, (3, 4))
    v = rng.uniform(0, 2, (3, 4))
    lr, b1, b2, eps, t = 1e-3, 0.9, 0.999, 1e-8, 7
    m_new, v_new = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
    m_hat, v_hat = m_new / (1 - b1 ** t), v_new / (1 - b2 ** t)
    p_new = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    step = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
    K.adam_update([(p, g, m, v)], step, b1, b2, eps * np.sqrt(1 - b2 ** t))
    close(m, m_new, np.float64)
    close(v, v_new, np.float64)
    close(p, p_new, np.float64)


def test_kde_equals_the_definition(rng, backend):
    """Direct sum of Gaussian kernels (product of 1-D normal densities), in float64."""
    xe, xd, h = rng.standard_normal((9, 3)), rng.standard_normal((40, 3)), 0.6
    u = (xe[:, None, :] - xd[None, :, :]) / h
    dens = np.prod(np.exp(-0.5 * u * u) / np.sqrt(2 * np.pi), axis=-1).sum(axis=1) / (40 * h ** 3)
    close(K.kde_log_density(xe, xd, h), np.log(dens), np.float64)
    one_d = K.kde_log_density(xe[:, 0], xd[:, 0], h)      # (M,) means d = 1
    u1 = (xe[:, :1] - xd[None, :, 0]) / h
    close(one_d, np.log(np.exp(-0.5 * u1 ** 2).sum(1) / (np.sqrt(2 * np.pi) * 40 * h)), np.float64)


def test_kde_integrates_to_one_in_1d(rng):
    """D1.3: the estimate is a density. Trapezoid rule on a grid covering all the mass."""
    xd = rng.standard_normal(25)
    grid = np.linspace(-9, 9, 4001)
    dens = np.exp(K.kde_log_density(grid, xd, 0.5))
    assert abs(np.sum((dens[1:] + dens[:-1]) / 2) * (grid[1] - grid[0]) - 1) < 1e-9


# --------------------------------------------------- finite-difference gradient checks
def _gradcheck(f, x, analytic):
    assert rel_error(analytic, numerical_gradient(f, x)) < 1e-7


def test_kernel_gradients_by_finite_differences(rng, backend):
    x = rng.uniform(0, 1, (3, 4))
    lg, mean, lv = arrays(rng, np.float64, (3, 4), lo=-2, hi=2)
    _, dl = K.bernoulli_loglik_grad(x, lg)
    _gradcheck(lambda a: K.bernoulli_loglik_grad(x, a)[0].sum(), lg, dl)
    lg_cb = lg.copy()
    lg_cb[0] = [0.0, 0.02, -0.07, 0.099]                  # the Taylor branch near logit 0
    _, dl = K.continuous_bernoulli_loglik_grad(x, lg_cb)
    _gradcheck(lambda a: K.continuous_bernoulli_loglik_grad(x, a)[0].sum(), lg_cb, dl)
    _, dm, dlv = K.gaussian_loglik_grad(x, mean, lv[0])
    _gradcheck(lambda a: K.gaussian_loglik_grad(x, a, lv[0])[0].sum(), mean, dm)
    _gradcheck(lambda a: K.gaussian_loglik_grad(x, mean, a)[0].sum(), lv[0], dlv)
    eps, dz = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))

    def obj(m, v):
        z, kl = K.reparam_kl(m, v, eps)
        return np.sum(dz * z) + 0.3 * kl.sum()
    dmu, dlogv = K.reparam_kl_backward(dz, mean, lv, eps, kl_scale=0.3)
    _gradcheck(lambda a: obj(a, lv), mean, dmu)
    _gradcheck(lambda a: obj(mean, a), lv, dlogv)
    b, w = rng.uniform(-1, 1, 4), rng.standard_normal((3, 4))
    pre = rng.uniform(-2, 2, (3, 4))
    pre[np.abs(pre + b) < 0.05] += 0.2                     # keep away from the ReLU kinks
    for act in ACTS:
        y = K.bias_act_forward(pre.copy(), b, act, slope=0.1)
        dpre, db = K.bias_act_backward(w, y, act, slope=0.1)
        f = lambda a: np.sum(w * K.bias_act_forward(a.copy(), b, act, slope=0.1))  # noqa: E731
        _gradcheck(f, pre, dpre)
        _gradcheck(lambda bb: np.sum(w * K.bias_act_forward(pre.copy(), bb, act, slope=0.1)),
                   b, db)


# ------------------------------------------------------------------- in place, validation
def test_in_place_outputs_reuse_the_given_arrays(rng):
    x = rng.uniform(0, 1, (3, 4)).astype(np.float32)
    lg = rng.standard_normal((3, 4)).astype(np.float32)
    _, d = K.bernoulli_loglik_grad(x, lg, out=lg)
    assert d is lg
    dy = rng.standard_normal((3, 4)).astype(np.float32)
    y = K.bias_act_forward(dy.copy(), np.zeros(4, np.float32))
    dpre, _ = K.bias_act_backward(dy, y, out=dy)
    assert dpre is dy


@pytest.mark.parametrize("call, name", [
    (lambda a, b: K.bias_act_forward(a, b[0], "gelu"), "act"),
    (lambda a, b: K.bias_act_forward(a, b[0, :2]), "b"),
    (lambda a, b: K.bias_act_forward(a, b[0].astype(np.float32)), "b"),
    (lambda a, b: K.bias_act_forward(a.T, b[:, 0]), "h"),
    (lambda a, b: K.bias_act_forward(a.tolist(), b[0]), "h"),
    (lambda a, b: K.bias_act_backward(a, b[:2]), "dy"),
    (lambda a, b: K.bernoulli_loglik_grad(a, b.astype(np.float32)), "logits"),
    (lambda a, b: K.bernoulli_loglik_grad(a, b, scale=np.nan), "scale"),
    (lambda a, b: K.gaussian_loglik_grad(a, b, b[:1]), "logvar"),
    (lambda a, b: K.continuous_bernoulli_loglik_grad(a, b[:2]), "logits"),
    (lambda a, b: K.bernoulli_log_prob(a, b), "logits"),
    (lambda a, b: K.bernoulli_log_prob(a, b[None, :2]), "logits"),
    (lambda a, b: K.bernoulli_log_prob(a, b[None].astype(np.float32)), "logits"),
    (lambda a, b: K.bernoulli_log_prob(a, b[None], out=np.empty((1, 4))), "out"),
    (lambda a, b: K.bernoulli_log_prob(a, np.where(b > 0.5, np.nan, b)[None]), "logits"),
    (lambda a, b: K.bernoulli_log_prob(a[:, :, None], b[None]), "x"),
    (lambda a, b: K.reparam_kl(a, b, b, out=np.empty((3, 3))), "out"),
    (lambda a, b: K.adam_update([(a, b, b.copy(), b.copy())], 1e-3, 0.9, "x", 1e-8), "b2"),
    (lambda a, b: K.adam_update([(a, b[:, :2], b.copy(), b.copy())], 1e-3, 0.9, 0.9, 1e-8),
     r"groups\[0\]\.g"),
    (lambda a, b: K.in_unit_interval(a.tolist()), "x"),
    (lambda a, b: K.kde_log_density(a, b, 0.0), "bandwidth"),
    (lambda a, b: K.kde_log_density(a, b[:, :2], 1.0), "x_data"),
    (lambda a, b: K.kde_log_density(a, b[:0], 1.0), "x_data"),
])
def test_bad_arguments_raise_value_error_naming_them(rng, call, name):
    a, b = rng.uniform(0, 1, (3, 4)), rng.uniform(0, 1, (3, 4))
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call(a, b)
