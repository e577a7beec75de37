r"""Graders of the exercises of chapters 09-11 (the VAE's pieces, IWAE, diagnostics).

The chapter-09 functions are the ones :func:`elbo_edu.course.substitute.student_functions` puts
into the package, so their contracts are those of the package's readable code:

* ``kl_and_grad(mu, logvar) -> (kl (N,), dmu, dlogvar)`` -- KL to N(0, I) per row and the
  gradient of ``kl.sum()``;
* ``reparameterize_backward(dz, mu, logvar, eps) -> (dmu, dlogvar)``;
* ``bernoulli_and_grad(x, logits) -> (logp (N,), dlogits)`` -- the gradient of ``logp.sum()``.
"""
from __future__ import annotations

import math

import numpy as np

from .answers import ANSWERS
from ..grading import exercise, pair, as_result, check_close, check_gradient, check_shape, fail, ok
from .gaussians import _bern_ref, _kl_closed, elbo_quad_1d, kl_quad, log_evidence_quad_1d

__all__ = ["check_kl_and_grad", "check_reparameterize_backward", "check_bernoulli_and_grad",
           "check_encoder_output_grad", "check_logsumexp", "check_iwae_from_log_weights",
           "check_log_weights_1d", "check_optimal_gamma", "check_active_units",
           "check_kl_per_dimension"]


def _tuple(res, k, what, names):
    if not (isinstance(res, (tuple, list)) and len(res) == k):
        fail(f"{what} should return {k} values ({names}).")
    return res


# ------------------------------------------------------------------------------ chapter 09
@exercise(*ANSWERS["ex09_1"])
def check_kl_and_grad(kl_and_grad, seed: int = 0) -> None:
    """The KL term of the VAE per row (checked by quadrature) and its gradient (finite
    differences)."""
    rng = np.random.default_rng(seed)
    mu, lv = rng.normal(0, 1, (3, 2)), rng.normal(0, 0.6, (3, 2))
    kl, dmu, dlv = _tuple(kl_and_grad(mu.copy(), lv.copy()), 3, "kl_and_grad(mu, logvar)",
                          "kl, dmu, dlogvar")
    want = np.array([sum(kl_quad(m, v, 0.0, 0.0) for m, v in zip(mr, vr))
                     for mr, vr in zip(mu, lv)])
    check_close(kl, want, "kl", rtol=1e-8, n=2, shape_hint="One KL per row (sum over the "
                                                            "latent dimensions).")
    check_gradient(dmu, lambda m: _kl_closed(m, lv).sum(), mu, "dmu")
    check_gradient(dlv, lambda v: _kl_closed(mu, v).sum(), lv, "dlogvar")
    ok("kl_and_grad")


@exercise(*ANSWERS["ex09_2"])
def check_reparameterize_backward(reparameterize_backward, seed: int = 0) -> None:
    """``(dmu, dlogvar)`` of ``sum(dz * (mu + exp(logvar/2) eps))`` by finite differences."""
    rng = np.random.default_rng(seed)
    mu, lv, eps, dz = (rng.normal(0, 1, (3, 2)) for _ in range(4))
    dmu, dlv = _tuple(reparameterize_backward(dz.copy(), mu.copy(), lv.copy(), eps.copy()), 2,
                      "reparameterize_backward(dz, mu, logvar, eps)", "dmu, dlogvar")
    z = lambda m, v: m + np.exp(0.5 * v) * eps  # noqa: E731
    check_gradient(dmu, lambda m: np.sum(dz * z(m, lv)), mu, "dmu")
    check_gradient(dlv, lambda v: np.sum(dz * z(mu, v)), lv, "dlogvar")
    ok("reparameterize_backward")


@exercise(*ANSWERS["ex09_3"])
def check_bernoulli_and_grad(bernoulli_and_grad, seed: int = 0) -> None:
    """``(logp rows, dlogits)``: stable log-likelihood and the gradient of its sum."""
    rng = np.random.default_rng(seed)
    x, logits = rng.random((3, 4)), rng.normal(0, 3, (3, 4))
    logits[1, 0] = 750.0
    logp, dl = _tuple(bernoulli_and_grad(x.copy(), logits.copy()), 2,
                      "bernoulli_and_grad(x, logits)", "logp, dlogits")
    check_close(logp, _bern_ref(x, logits).sum(axis=1), "logp", n=4,
                shape_hint="One log-likelihood per row.",
                nonfinite_hint="exp(750) overflows: log(1 + e^l) = max(l, 0) + log1p(exp(-|l|)).")
    logits[1, 0] = 2.5
    _, dl = bernoulli_and_grad(x.copy(), logits.copy())
    check_gradient(dl, lambda v: _bern_ref(x, v).sum(), logits, "dlogits")
    ok("bernoulli_and_grad")


@exercise(*ANSWERS["ex09_4"])
def check_encoder_output_grad(encoder_output_grad, seed: int = 0) -> None:
    r"""``encoder_output_grad(dz, mu, logvar, eps, n) -> (N, 2Z)``: the gradient, with respect
    to the encoder output :math:`h=[\mu,\log\sigma^2]`, of
    :math:`\sum dz\cdot z(h) + \frac1n\sum_{\text{rows}}\mathrm{KL}(h)` -- the step that joins
    the decoder's gradient ``dz`` (already divided by the batch size) with the KL (D9.3)."""
    rng = np.random.default_rng(seed)
    n, zd = 4, 3
    mu, lv, eps = rng.normal(0, 1, (n, zd)), rng.normal(0, 0.5, (n, zd)), rng.normal(0, 1, (n, zd))
    dz = rng.normal(0, 1, (n, zd)) / n
    h = np.concatenate([mu, lv], axis=1)

    def loss(hh):
        m, v = hh[:, :zd], hh[:, zd:]
        return np.sum(dz * (m + np.exp(0.5 * v) * eps)) + _kl_closed(m, v).sum() / n
    got = as_result(encoder_output_grad(dz.copy(), mu.copy(), lv.copy(), eps.copy(), n), "dh")
    check_shape(got, (n, 2 * zd), "encoder_output_grad(...)",
                "Concatenate [dmu, dlogvar] along axis 1, like the encoder's output.")
    sigma = np.exp(0.5 * lv)
    no_scale = np.concatenate([dz + mu, dz * 0.5 * sigma * eps + 0.5 * np.expm1(lv)], axis=1)
    check_gradient(got, loss, h, "encoder_output_grad(...)", mistakes=[
        (no_scale, "The KL part must be divided by the batch size n, like the reconstruction "
                   "(the loss is a mean over the batch)."),
        (np.concatenate([dz + mu / n, 0.5 * np.expm1(lv) / n], axis=1),
         "dlogvar lacks the path through z: add dz * sigma * eps / 2.")])
    ok("encoder_output_grad")


# ------------------------------------------------------------------------------ chapter 10
def _lse_py(values) -> float:
    m = max(values)
    return m + math.log(math.fsum(math.exp(v - m) for v in values))


@exercise(*ANSWERS["ex10_1"])
def check_logsumexp(logsumexp, seed: int = 0) -> None:
    """``logsumexp(a, axis=0)``: stable for values of any size (D10.2)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 3, (5, 3))
    a[:, 0] += 1000.0                                     # overflows
    a[:, 1] -= 1000.0                                     # underflows
    want = np.array([_lse_py(list(col)) for col in a.T])
    got = logsumexp(a.copy(), axis=0)
    check_close(got, want, "logsumexp(a, axis=0)", shape_hint="Reduce over the given axis.",
                nonfinite_hint="Subtract the maximum along the axis before exponentiating.")
    got1 = logsumexp(a.T.copy(), axis=1)
    check_close(got1, want, "logsumexp(a, axis=1)", shape_hint="Honour the axis argument.")
    ok("logsumexp")


@exercise(*ANSWERS["ex10_2"])
def check_iwae_from_log_weights(iwae_from_log_weights, seed: int = 0) -> None:
    r"""``iwae_from_log_weights(log_w) -> (N,)``: :math:`\log\frac1K\sum_k w_k` over axis 0 of a
    ``(K, N)`` array of log-weights (D10.2)."""
    rng = np.random.default_rng(seed)
    k, n = 8, 4
    log_w = rng.normal(-300, 2, (k, n))
    want = np.array([_lse_py(list(col)) - math.log(k) for col in log_w.T])
    got = iwae_from_log_weights(log_w.copy())
    check_close(got, want, "iwae_from_log_weights(log_w)", shape_hint="One bound per column "
                "(data point): reduce over axis 0, the K samples.",
                nonfinite_hint="exp(-300) is tiny: use a log-sum-exp.",
                mistakes=[(log_w.mean(axis=0), "You averaged the log-weights: that is the ELBO, "
                                               "not the log of the average weight."),
                          (want + math.log(k), "You returned log-sum-exp: subtract log K for "
                                               "the mean.")])
    ok("iwae_from_log_weights")


@exercise(*ANSWERS["ex10_3"])
def check_log_weights_1d(log_weights_1d, seed: int = 0) -> None:
    r"""``log_weights_1d(x, z, w, b, s2, m, logvar)``: :math:`\log p(x,z)-\log q(z)` for the 1-D
    linear-Gaussian model, one per sample ``z``; averaged as IWAE with many samples it must reach
    the log-evidence computed by quadrature."""
    rng = np.random.default_rng(seed)
    x, w, b, s2, m, lv = float(rng.normal(1, 1)), 1.4, 0.3, 0.8, 0.2, -0.4
    z = m + math.exp(0.5 * lv) * rng.standard_normal(6)
    want = np.array([-0.5 * (math.log(2 * math.pi * s2) + (x - w * t - b) ** 2 / s2)
                     - 0.5 * (math.log(2 * math.pi) + t * t)
                     + 0.5 * (math.log(2 * math.pi) + lv + (t - m) ** 2 / math.exp(lv))
                     for t in z])
    got = log_weights_1d(x, z.copy(), w, b, s2, m, lv)
    check_close(got, want, "log_weights_1d(...)", shape_hint="One log-weight per sample z.")
    zs = m + math.exp(0.5 * lv) * rng.standard_normal(200_000)
    lw = as_result(log_weights_1d(x, zs, w, b, s2, m, lv), "log-weights")
    iwae = lw.max() + math.log(np.mean(np.exp(lw - lw.max())))
    exact = log_evidence_quad_1d(x, w, b, s2)
    elbo = elbo_quad_1d(x, w, b, s2, m, lv)
    if abs(iwae - exact) > 0.02 + 0.1 * (exact - elbo):
        fail(f"IWAE with 200 000 of your weights gives {iwae:.4f}, log p(x) = {exact:.4f}.")
    ok("log_weights_1d")


# ------------------------------------------------------------------------------ chapter 11
@exercise(*ANSWERS["ex11_1"])
def check_optimal_gamma(optimal_gamma, seed: int = 0) -> None:
    r"""``optimal_gamma(x, x_hat) -> float``: the :math:`\gamma` maximising
    :math:`\sum_{n,d}\log\mathcal N(x_{nd};\hat x_{nd},\gamma)`, :math:`E\|x-\hat x\|^2/D`
    (D11.2); the derivative of that log-likelihood must vanish there."""
    rng = np.random.default_rng(seed)
    n, d = 6, 5
    x, xh = rng.random((n, d)), rng.random((n, d))
    want = math.fsum(((x - xh) ** 2).ravel()) / (n * d)
    got = optimal_gamma(x.copy(), xh.copy())
    check_close(got, want, "optimal_gamma(x, x_hat)", shape_hint="Return one number.",
                mistakes=[(want * d, "You summed over the D dimensions: gamma* is the squared "
                                     "error per dimension, E||x - x_hat||^2 / D."),
                          (want * n * d, "You summed instead of averaging: divide by N * D."),
                          (math.sqrt(want), "You returned a standard deviation: gamma is a "
                                            "variance.")])
    g = float(as_result(got, "gamma"))
    r2 = float(((x - xh) ** 2).sum())
    dl = -0.5 * n * d / g + 0.5 * r2 / g ** 2                 # d/dgamma of the log-likelihood
    if abs(dl) > 1e-6 * n * d / g:
        fail(f"The log-likelihood's derivative at your gamma is {dl:.3g}, not 0.")
    ok("optimal_gamma")


@exercise(*ANSWERS["ex11_2"])
def check_active_units(active_units, seed: int = 0) -> None:
    r"""``active_units(mu, threshold=0.01) -> int``: the number of latent dimensions whose
    encoder mean varies over the data, :math:`\mathrm{Var}_x(\mu_d(x)) > \text{threshold}`
    (D11.4); ``mu`` is ``(N, Z)``."""
    rng = np.random.default_rng(seed)
    scales = np.array([1.0, 0.01, 0.5, 0.001, 2.0, 0.05])
    mu = rng.standard_normal((200, 6)) * scales + rng.normal(0, 3, 6)   # big offsets
    var = [math.fsum((v - math.fsum(col) / len(col)) ** 2 for v in col) / len(col)
           for col in mu.T.tolist()]
    want = sum(v > 0.01 for v in var)
    got = active_units(mu.copy(), threshold=0.01)
    if isinstance(got, np.ndarray) and got.ndim > 0:
        fail(f"active_units returned an array of shape {got.shape}: return the count (an int).")
    got = int(as_result(got, "active_units(mu)"))
    if got == want:
        ok("active_units")
        return
    if got == sum(abs(m) > 0.01 for m in mu.mean(axis=0)):
        fail("You thresholded the mean of mu: activity is the variance of mu over the data.")
    if got == int(np.sum(mu.var(axis=1) > 0.01)):
        fail("You took the variance over axis 1 (the latent dimensions): take it over axis 0, "
             "the data points.")
    if got == len(var) - want:
        fail("You counted the inactive units (variance below the threshold).")
    fail(f"active_units returned {got}, but {want} dimensions have variance above 0.01.")


@exercise(*ANSWERS["ex11_3"])
def check_kl_per_dimension(kl_per_dimension, seed: int = 0) -> None:
    """``kl_per_dimension(mu, logvar) -> (Z,)``: the KL of each latent dimension, averaged over
    the batch (D11.4); checked by quadrature."""
    rng = np.random.default_rng(seed)
    n, z = 4, 3
    mu, lv = rng.normal(0, 1, (n, z)), rng.normal(0, 0.5, (n, z))
    per = np.array([[kl_quad(mu[i, j], lv[i, j], 0.0, 0.0) for j in range(z)] for i in range(n)])
    got = kl_per_dimension(mu.copy(), lv.copy())
    check_close(got, per.mean(axis=0), "kl_per_dimension(mu, logvar)", rtol=1e-8, n=n,
                shape_hint="Average over the batch (axis 0): one value per latent dimension.")
    ok("kl_per_dimension")
