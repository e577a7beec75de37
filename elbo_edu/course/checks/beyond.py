r"""Graders of the exercises of chapters 12-13 (tighter bounds, richer posteriors, CVAE, β, free bits).

As everywhere in :mod:`elbo_edu.course.checks`, the reference values are computed here, not by the
package function the student re-writes: log-sum-exps with Python's ``math``, entropies from
``numpy.linalg.slogdet`` and Monte Carlo, Jacobian determinants from finite differences, KLs by
quadrature, gradients by central differences. Where a package *model* appears (a tiny float64
VAE or CVAE), it only supplies the networks, and its own loss is a second, independent reference.
Those models run on the NumPy backend (``_numpy_models``), whatever the notebook's backend.
"""
from __future__ import annotations

import math

import numpy as np

from .answers import ANSWERS
from ...kernels import use_backend
from ..grading import exercise, low_precision, pair, as_result, check_close, check_gradient, fail, ok
from .gaussians import kl_quad
from .reference import bernoulli_log_prob_ref, kl_std_normal_ref, logsumexp_fsum

__all__ = ["check_iwae_value_and_grad", "check_full_gaussian_entropy", "check_planar_logdet",
           "check_cvae_negative_elbo", "check_rate_distortion", "check_free_bits_kl"]

_OFFSET = -800.0                     # exp(-800) underflows to 0 in float64


def _lse_cols(a):                    # log-sum-exp over axis 0, numpy, max subtracted
    top = a.max(axis=0)
    return top + np.log(np.sum(np.exp(a - top), axis=0))


#: ``@_numpy_models``: the grader runs (and restores the backend after) on the NumPy backend, so
#: the tiny float64 package models it builds do too. The backends agree to 1e-12 in float64, so
#: the check is the same; but a first numba call in a fresh kernel loads numba's compiler and the
#: cached kernels (about a second, more on a busy machine; a cold cache compiles them), which was
#: most of the grading time of chapter 13.
_numpy_models = use_backend("numpy")


def _kl_quad_rows(mu, lv):           # (N, Z) -> (N, Z) element-wise KL to N(0, 1) by quadrature
    return np.array([[kl_quad(m, v, 0.0, 0.0) for m, v in zip(mr, vr)] for mr, vr in zip(mu, lv)])


# ------------------------------------------------------------------------------ chapter 12
@exercise(*ANSWERS["ex12_1"])
def check_iwae_value_and_grad(iwae_value_and_grad, seed: int = 0) -> None:
    r"""``iwae_value_and_grad(log_w, grad_log_w) -> (bound (N,), grad (N, P))`` (D12.1):
    :math:`\mathcal L=\log\frac1K\sum_k w_k` per column of ``log_w`` (K, N) and its gradient
    :math:`\sum_k\tilde w_k\nabla\log w_k` from the per-sample gradients ``grad_log_w`` (K, N, P).

    The log-weights are smooth functions of parameters :math:`\theta_n` (one row per data point),
    :math:`\log w_{kn}=c+\delta_{kn}+a_{kn}^\top\theta_n-\tfrac12 s_{kn}\lVert\theta_n\rVert^2`
    with :math:`c=-800`, so the gradient is compared with central differences of the bound (the
    constant :math:`c` drops out of the gradient and is left out of the differences).
    """
    rng = np.random.default_rng(seed)
    k, n, p = int(rng.integers(4, 9)), int(rng.integers(2, 5)), int(rng.integers(2, 5))
    delta, a = rng.normal(0, 2, (k, n)), rng.normal(0, 1, (k, n, p))
    s, theta = rng.uniform(0.5, 1.5, (k, n)), rng.normal(0, 0.5, (n, p))

    def shifted(t):                                            # log w - c, (K, N)
        return delta + np.einsum("knp,np->kn", a, t) - 0.5 * s * np.sum(t * t, axis=1)

    log_w = _OFFSET + shifted(theta)
    grad_log_w = a - s[..., None] * theta[None]                # (K, N, P)
    bound, grad = pair(iwae_value_and_grad(log_w.copy(), grad_log_w.copy()), 2,
                         "iwae_value_and_grad(log_w, grad_log_w)", "bound, grad")
    want = np.array([logsumexp_fsum(list(col)) - math.log(k) for col in log_w.T])
    check_close(bound, want, "the bound", shape_hint="One bound per column (data point): reduce "
                "over axis 0, the K samples.",
                nonfinite_hint="exp(-800) underflows to 0: shift each column before "
                               "exponentiating.",
                mistakes=[(log_w.mean(axis=0), "You averaged the log-weights: that is the ELBO, "
                                               "not the log of the average weight."),
                          (want + math.log(k), "The bound is the log of the sum of the weights: "
                                               "log K is missing for the mean."),
                          (log_w.max(axis=0), "The bound keeps only the largest weight of each "
                                              "column.")])
    wt = np.exp(log_w - log_w.max(axis=0))
    wrong_axis = np.exp(log_w - log_w.max(axis=1, keepdims=True))
    wrong_axis /= wrong_axis.sum(axis=1, keepdims=True)
    check_gradient(grad, lambda t: _lse_cols(shifted(t)).sum(), theta, "the gradient", n=k,
                   scale=abs(_OFFSET) * max(1.0, float(np.abs(grad_log_w).max())), mistakes=[
        (grad_log_w.mean(axis=0), "You gave every sample the same weight 1/K (the gradient of "
                                  "the ELBO): the samples are weighted by their importance."),
        (np.sum(wrong_axis[..., None] * grad_log_w, axis=0),
         "You normalised the weights over the data points (axis 1): normalise each column over "
         "the K samples."),
        (np.sum(wt[..., None] * grad_log_w, axis=0) / k,
         "Your weights are scaled by the largest weight and divided by K: they are not "
         "normalised to sum to 1."),
        (np.sum(wt[..., None] * grad_log_w, axis=0),
         "Your weights are scaled by the largest weight but not normalised to sum to 1."),
        (-np.sum((wt / wt.sum(axis=0))[..., None] * grad_log_w, axis=0),
         "The gradient has the wrong sign.")])
    ok("iwae_value_and_grad")


def _lower(rng, k):
    return np.tril(rng.normal(0, 0.8, (k, k)), -1) + np.diag(np.exp(rng.normal(0, 0.5, k)))


@exercise(*ANSWERS["ex12_2"])
def check_full_gaussian_entropy(full_gaussian_entropy, seed: int = 0) -> None:
    r"""``full_gaussian_entropy(L) -> float``: the entropy of :math:`\mathcal N(m, LL^\top)` for a
    lower-triangular ``L`` (K, K) with a positive diagonal (D12.3); checked against
    :math:`\tfrac12\log\det(2\pi e\,LL^\top)` by ``slogdet`` and against a Monte-Carlo estimate
    :math:`-\frac1S\sum_s\log q(z_s)`."""
    rng = np.random.default_rng(seed)
    what = "full_gaussian_entropy(L)"

    def one(L):
        raw = full_gaussian_entropy(L.copy())
        v = as_result(raw, what)
        if v.size != 1:
            fail(f"{what} returned an array of shape {v.shape}: the entropy of the whole "
                 "distribution is one number (sum over the dimensions).")
        return np.asarray(raw).reshape(())

    Ls = [_lower(rng, 3) for _ in range(4)]
    got = np.stack([one(L) for L in Ls])
    want = np.array([0.5 * np.linalg.slogdet(2 * np.pi * np.e * L @ L.T)[1] for L in Ls])
    const = 1.5 * (math.log(2 * math.pi) + 1)
    logdiag = np.array([np.sum(np.log(np.diag(L))) for L in Ls])
    mean_field = np.array([0.5 * np.sum(np.log(np.diag(L @ L.T))) for L in Ls])
    check_close(got, want, what, rtol=1e-10, mistakes=[
        (const + 2 * logdiag, "The log-determinant term lacks its factor 1/2."),
        (const + mean_field, "You used the diagonal of the covariance L L^T (a mean-field "
                             "entropy): the off-diagonal correlations change the determinant."),
        (const - logdiag, "The log-determinant term has the wrong sign: a wider Gaussian has a "
                          "larger entropy."),
        (0.5 * (math.log(2 * math.pi) + 1) + logdiag, "The constant counts one dimension only: "
                                                       "it grows with K."),
        (1.5 * math.log(2 * math.pi) + logdiag, "The constant lacks the e of log(2 pi e)."),
        (logdiag, "The constant term is missing."),
        (const + 0.5 * logdiag, "The log-determinant term has an extra factor 1/2.")])
    L5 = _lower(rng, 5)                                        # another K: no hard-coded K/2
    logdiag5 = np.sum(np.log(np.diag(L5)))
    check_close(one(L5), 0.5 * np.linalg.slogdet(2 * np.pi * np.e * L5 @ L5.T)[1],
                f"{what} for K = 5", rtol=1e-10, mistakes=[
        (const + logdiag5, "You hard-coded K = 3 in the constant: take K from the shape of L.")])
    L = Ls[0]                                                  # Monte Carlo: H = -E_q log q
    eps = rng.standard_normal((40_000, 3))
    r = np.linalg.solve(L, (eps @ L.T).T)                      # L^{-1}(z - m), (3, S)
    log_q = -0.5 * (3 * math.log(2 * math.pi) + np.sum(r * r, axis=0)) - logdiag[0]
    mc, se = -log_q.mean(), log_q.std(ddof=1) / math.sqrt(log_q.size)
    if abs(got[0] - mc) > 4 * se:
        fail(f"Monte Carlo gives H = {mc:.4f} +- {se:.4f} for the first L, you returned "
             f"{got[0]:.4f}.")
    ok("full_gaussian_entropy")


def _jacobian_logdet(z, u, w, b, h=1e-5):
    """log|det df/dz| of the planar map per row, by central differences of f and slogdet."""
    f = lambda v: v + u * math.tanh(float(w @ v) + b)  # noqa: E731
    out = []
    for row in z:
        J = np.empty((row.size, row.size))
        for j in range(row.size):
            e = np.zeros(row.size)
            e[j] = h
            J[:, j] = (f(row + e) - f(row - e)) / (2 * h)
        out.append(np.linalg.slogdet(J)[1])
    return np.array(out)


@exercise(*ANSWERS["ex12_3"])
def check_planar_logdet(planar_logdet, seed: int = 0) -> None:
    r"""``planar_logdet(z, u, w, b) -> (N,)``: :math:`\log\lvert\det\partial f/\partial z\rvert` of
    :math:`f(z)=z+u\tanh(w^\top z+b)` for each row of ``z`` (D12.3), compared with the log of
    the determinant of a Jacobian computed by central differences. A second layer has
    :math:`u^\top w<-1`, where the determinant is negative for some rows."""
    rng = np.random.default_rng(seed)
    k, what = 3, "planar_logdet(z, u, w, b)"
    u, w, b = rng.normal(0, 1, k), rng.normal(0, 1, k), float(rng.normal(0, 0.5))
    if u @ w < -0.5:
        u = -u                                                 # invertible: u.w >= -1
    z = rng.normal(0, 1, (6, k))
    a = z @ w + b
    dt, uw = 1 - np.tanh(a) ** 2, float(u @ w)
    got = planar_logdet(z.copy(), u.copy(), w.copy(), b)
    check_close(got, _jacobian_logdet(z, u, w, b), what, rtol=1e-7, atol=1e-8,
                shape_hint="One log-determinant per row of z.", mistakes=[
        (np.log(np.abs(1 + np.tanh(a) * uw)), "You used tanh itself where its derivative "
                                              "belongs."),
        (np.log(np.abs(1 + dt)), "The factor u^T w is missing from the determinant."),
        (1 + dt * uw, "You returned the determinant itself: return its log."),
        (np.log(np.abs(1 + dt * float(u @ u))), "The determinant has u^T u where u^T w "
                                                "belongs."),
        (np.log(np.abs(1 + dt * float(w @ w))), "The determinant has w^T w where u^T w "
                                                "belongs."),
        (np.log(np.abs(dt * uw)), "The identity's contribution (the 1) is missing from the "
                                  "determinant."),
        (np.log(np.abs(1 - dt * uw)), "The Jacobian term has the wrong sign."),
        (np.log(np.abs(1 + (1 - np.tanh(z @ w) ** 2) * uw)), "The bias b is missing inside "
                                                               "tanh.")])
    # a non-invertible layer: u^T w = -2.5, rows placed where 1 + u^T psi is clearly + or -
    u2 = -2.5 * w / (w @ w)
    a2 = np.array([-2.2, -1.6, -0.3, 0.1, 0.4, 1.8]) * rng.choice([-1.0, 1.0]) + \
        rng.uniform(-0.05, 0.05, 6)
    ortho = rng.normal(0, 1, (6, k))
    ortho -= np.outer(ortho @ w, w) / (w @ w)
    z2 = np.outer(a2 - b, w) / (w @ w) + ortho
    got2 = planar_logdet(z2.copy(), u2.copy(), w.copy(), b)
    check_close(got2, _jacobian_logdet(z2, u2, w, b), what + " with u^T w = -2.5", rtol=1e-7,
                atol=1e-8, nonfinite_hint="Here the determinant is negative for some rows: the "
                "log-determinant is the log of its absolute value.")
    ok("planar_logdet")


# ------------------------------------------------------------------------------ chapter 13
@exercise(*ANSWERS["ex13_1"])
@_numpy_models
def check_cvae_negative_elbo(cvae_negative_elbo, seed: int = 0) -> None:
    r"""``cvae_negative_elbo(encoder, decoder, x, y, eps, n_classes) -> float`` (D13.1): the
    negative conditional ELBO averaged over the batch, for networks ``encoder([x, e_y]) ->
    [mu, logvar]`` and ``decoder([z, e_y]) -> logits``. Checked with small tanh networks of the
    grader's own (KL by quadrature, stable Bernoulli), then on a float64 package CVAE against
    its ``loss``."""
    rng = np.random.default_rng(seed)
    n, xd, zd, c, hd = int(rng.integers(4, 8)), int(rng.integers(4, 8)), int(rng.integers(2, 4)), \
        int(rng.integers(3, 6)), 5
    w1, w2 = rng.normal(0, 0.5, (xd + c, hd)), rng.normal(0, 0.7, (hd, 2 * zd))
    v1, v2 = rng.normal(0, 0.8, (zd + c, hd)), rng.normal(0, 1.5, (hd, xd))

    def guard(name, width, arrays):
        def net(inp):
            inp = np.asarray(inp, dtype=np.float64)
            if inp.ndim != 2 or inp.shape != (n, width):
                fail(f"{name} received an input of shape {inp.shape}, expected ({n}, {width}): "
                     f"concatenate {arrays} with the one-hot labels (N, {c}) along axis 1.")
            return raw[name](inp)
        return net

    raw = {"encoder": lambda i: np.tanh(i @ w1) @ w2, "decoder": lambda i: np.tanh(i @ v1) @ v2}
    x, eps = rng.random((n, xd)), rng.standard_normal((n, zd))
    y = rng.permutation(np.arange(n) % c)
    e = np.eye(c)[y]

    def reference(first_label=False, decode_mean=False):
        cat = (lambda p, q: np.concatenate([q, p], axis=1)) if first_label else \
            (lambda p, q: np.concatenate([p, q], axis=1))
        h = raw["encoder"](cat(x, e))
        mu, lv = h[:, :zd], h[:, zd:]
        z = mu if decode_mean else mu + np.exp(0.5 * lv) * eps
        logp = bernoulli_log_prob_ref(x, raw["decoder"](cat(z, e))).sum(axis=1)
        return mu, lv, logp

    mu, lv, logp = reference()
    kl = _kl_quad_rows(mu, lv).sum(axis=1)
    want = float(np.mean(kl - logp))
    got = cvae_negative_elbo(guard("encoder", xd + c, "x"), guard("decoder", zd + c, "z"),
                             x.copy(), y.copy(), eps.copy(), c)
    m2, l2, lp2 = reference(first_label=True)
    _, _, lp3 = reference(decode_mean=True)
    check_close(got, want, "cvae_negative_elbo(...)", rtol=1e-8, n=n,
                shape_hint="Return one number: the mean over the batch.", mistakes=[
        (np.mean(kl_std_normal_ref(m2, l2).sum(axis=1) - lp2),
         "You put the one-hot label before the data: the networks take [x, e_y] and [z, e_y]."),
        (np.mean(-kl - logp), "You subtracted the KL: the negative ELBO is -E log p(x|z,y) + KL."),
        (np.mean(kl - lp3), "You decoded the mean mu instead of the sample z."),
        (float(np.mean(-logp)), "The KL term is missing."),
        (float(np.mean(kl)), "The reconstruction term is missing."),
        (float(np.mean(0.5 * kl - logp)), "The KL has an extra factor 1/2."),
        (float(np.mean(2 * kl - logp)), "The KL lacks its factor 1/2."),
        (float(np.sum(kl - logp)), f"You summed over the {n} examples where the mean belongs."),
        (float(np.mean(kl + logp)), "The reconstruction term has the wrong sign."),
        (float(np.mean(0.5 * np.sum(np.exp(2 * lv) + mu ** 2 - 1 - 2 * lv, axis=1) - logp)),
         "The KL reads logvar as log sigma: sigma^2 = exp(logvar).")])
    from ...models.cvae import CVAE                               # the package's own loss

    model = CVAE(xd, zd, c, (7,), dtype=np.float64, rng=rng)
    raw = cvae_negative_elbo(model.encoder.forward, model.decoder.forward, x.copy(), y.copy(),
                             eps.copy(), c)
    got = float(as_result(raw, "the loss").reshape(-1)[0])
    ref = model.loss(x, y, eps)
    if abs(got - ref) > max(1e-10, 64 * low_precision(raw) * xd) * max(1.0, abs(ref)):
        fail(f"On a package CVAE your function gives {got:.10f}, its loss() {ref:.10f}.")
    ok("cvae_negative_elbo")


@exercise(*ANSWERS["ex13_2"])
@_numpy_models
def check_rate_distortion(rate_distortion, seed: int = 0) -> None:
    r"""``rate_distortion(model, x, eps) -> (rate, distortion)`` (D13.2) for a Bernoulli VAE:
    :math:`R=\frac1N\sum_n\mathrm{KL}(q(z\mid x_n)\,\|\,p(z))` (checked by quadrature) and
    :math:`D=-\frac1N\sum_n\log p(x_n\mid z_n)` at :math:`z_n=\mu_n+\sigma_n\varepsilon_n` (stable
    Bernoulli); then :math:`R+D` must be the model's own negative ELBO on the same noise."""
    from ...vae import VAE

    rng = np.random.default_rng(seed)
    n, xd, zd = 5, 6, 3
    model = VAE(xd, zd, (7,), "bernoulli", activation="tanh", dtype=np.float64, rng=rng)
    for p in model.params.values():                           # a model with something to encode
        p *= 2.0
    x, eps = rng.random((n, xd)), rng.standard_normal((n, zd))
    rate_d, dist_d = pair(rate_distortion(model, x.copy(), eps.copy()), 2,
                            "rate_distortion(model, x, eps)", "rate, distortion")
    mu, lv = model.encode(x)
    per = _kl_quad_rows(mu, lv)                                # (N, Z)
    want_r = float(per.sum(axis=1).mean())
    logp = bernoulli_log_prob_ref(x, model.decode(mu + np.exp(0.5 * lv) * eps))      # (N, D)
    want_d = -float(logp.sum(axis=1).mean())
    ra, da = as_result(rate_d, "the rate"), as_result(dist_d, "the distortion")
    for v, name in ((ra, "the rate"), (da, "the distortion")):
        if v.size != 1:
            fail(f"{name} has shape {v.shape}: return one number per term, the mean over the "
                 f"batch.")
    r, d = float(ra.reshape(())), float(da.reshape(()))
    low = max(low_precision(rate_d), low_precision(dist_d))
    if abs(r - want_d) < 1e-8 and abs(d - want_r) < 1e-8:
        fail("You returned (distortion, rate): return (rate, distortion).")
    check_close(rate_d, want_r, "the rate", rtol=1e-8, n=n, mistakes=[
        (per.sum(axis=0).mean(), "You summed the KL over the batch and averaged over the latent "
                                 "dimensions: sum over the dimensions (axis 1), average over the "
                                 "data points (axis 0)."),
        (kl_std_normal_ref(mu, lv).mean(), "You averaged the KL over the latent dimensions too: the rate "
                                    "sums over them."),
        (np.mean(np.sum(0.5 * (np.exp(2 * lv) + mu * mu - 1 - 2 * lv), axis=1)),
         "You read logvar as log sigma: sigma^2 = exp(logvar)."),
        (float(per.sum()), f"You summed the rate over the {n} examples where the mean belongs."),
        (2 * want_r, "The rate lacks the KL's factor 1/2."),
        (float(np.mean(np.sum(0.5 * (np.exp(lv) - 1 - lv), axis=1))), "The rate lacks the mu "
                                                                       "term of the KL.")])
    decoded_mean = -float(bernoulli_log_prob_ref(x, model.decode(mu)).sum(axis=1).mean())
    logits = model.decode(mu + np.exp(0.5 * lv) * eps)
    check_close(dist_d, want_d, "the distortion", rtol=1e-8, n=n, mistakes=[
        (decoded_mean, "You decoded the mean mu: the distortion is measured at the sample z."),
        (-float(logp.mean()), "You averaged -log p(x|z) over the pixels too: it sums over the "
                              "pixels."),
        (-want_d, "The distortion has the wrong sign: it is a negative log-likelihood."),
        (-float(logp.sum()), f"You summed the distortion over the {n} examples where the mean "
                             f"belongs."),
        (-float(bernoulli_log_prob_ref(x, model.decode(mu + np.exp(lv) * eps)).sum(axis=1).mean()),
         "Your sample z scales eps by the variance where the standard deviation belongs."),
        (-float(np.mean(np.sum(x * logits, axis=1))), "The Bernoulli log-normaliser is missing "
                                                       "from the distortion.")])
    loss = model.loss(x, eps)
    if abs(r + d - loss) > max(1e-9, 64 * low * xd) * max(1.0, abs(loss)):
        fail(f"rate + distortion = {r + d:.10f}, but the model's negative ELBO on the same noise "
             f"is {loss:.10f}.")
    ok("rate_distortion")


def _free_bits_inputs(rng, lam):
    scales = np.array([1.2, 0.06, 0.9, 0.03, 1.5])
    while True:                                                # every KL_j clearly off lambda
        mu = rng.normal(0, 1, (6, 5)) * scales
        lv = rng.normal(0, 0.4, (6, 5)) * scales
        kl_bar = kl_std_normal_ref(mu, lv).mean(axis=0)
        if np.all(np.abs(kl_bar - lam) > 0.05):
            return mu, lv


@exercise(*ANSWERS["ex13_3"])
def check_free_bits_kl(free_bits_kl_and_grad, seed: int = 0) -> None:
    r"""``free_bits_kl_and_grad(mu, logvar, lam) -> (value, dmu, dlogvar)`` (D13.3):
    :math:`\sum_j\max(\lambda,\overline{\mathrm{KL}}_j)` with :math:`\overline{\mathrm{KL}}_j` the
    batch-average KL of dimension j (quadrature), its gradient by central differences, and an
    exact zero gradient in every dimension below :math:`\lambda`."""
    rng = np.random.default_rng(seed)
    lam = float(rng.uniform(0.15, 0.45))
    mu, lv = _free_bits_inputs(rng, lam)
    n = mu.shape[0]
    value, dmu, dlv = pair(free_bits_kl_and_grad(mu.copy(), lv.copy(), lam), 3,
                             "free_bits_kl_and_grad(mu, logvar, lam)", "value, dmu, dlogvar")
    per = _kl_quad_rows(mu, lv)
    kl_bar = per.mean(axis=0)
    check_close(value, np.maximum(lam, kl_bar).sum(), "the free-bits KL", rtol=1e-8,
                shape_hint="Return one number: the sum over the dimensions.", mistakes=[
        (np.maximum(lam, per).mean(axis=0).sum(), "You clamped each data point's KL at lambda: "
         "free bits clamps the batch-average KL of each dimension."),
        (np.minimum(lam, kl_bar).sum(), "Free bits takes max(lambda, KL_j), not min."),
        (kl_bar.sum(), "You returned the plain KL: a dimension whose batch-average KL is below "
                       "lambda counts as lambda."),
        (np.maximum(lam, per.sum(axis=0)).sum(), "You summed each dimension's KL over the batch "
                                                 "where its average belongs."),
        (np.maximum(lam, kl_bar).mean(), "You averaged over the dimensions where the free-bits "
                                         "KL sums over them."),
        (np.maximum(lam, 2 * kl_bar).sum(), "The KL lacks its factor 1/2.")])
    below = kl_bar < lam
    on = (~below) / n
    f = lambda m, v: np.maximum(lam, kl_std_normal_ref(m, v).mean(axis=0)).sum()  # noqa: E731
    flipped = "You masked the wrong dimensions: the gradient is zero where KL_j < lambda and " \
              "the ordinary KL gradient where KL_j > lambda."
    check_gradient(dmu, lambda m: f(m, lv), mu, "dmu", n=n, mistakes=[
        (mu / n, "The dimensions whose batch-average KL is below lambda must get no gradient: "
                 "mask them out."),
        (mu * below / n, flipped),
        (mu * (~below), "dmu is not divided by the batch size (the KL_j are batch averages).")])
    check_gradient(dlv, lambda v: f(mu, v), lv, "dlogvar", n=n, mistakes=[
        (0.5 * np.expm1(lv) / n, "The dimensions whose batch-average KL is below lambda must "
                                 "get no gradient: mask them out."),
        (0.5 * np.expm1(lv) * below / n, flipped),
        (np.expm1(lv) * on, "dlogvar lacks the factor 1/2."),
        (0.5 * np.expm1(lv) * (~below), "dlogvar is not divided by the batch size (the KL_j "
                                        "are batch averages)."),
        (0.5 * np.exp(lv) * on, "dlogvar: the derivative of the -logvar term is missing.")])
    for name, g in (("dmu", dmu), ("dlogvar", dlv)):
        g = as_result(g, name)
        if np.any(g[:, below] != 0):
            j = int(np.flatnonzero(below & np.any(g != 0, axis=0))[0])
            fail(f"Dimension {j} has batch-average KL {kl_bar[j]:.3f} < lambda = {lam}: its "
                 f"{name} must be exactly 0, nothing may push it back to the prior.")
    ok("free_bits_kl_and_grad")
