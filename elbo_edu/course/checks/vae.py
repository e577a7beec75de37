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
from .gaussians import elbo_quad_1d, kl_quad, log_evidence_quad_1d
from .reference import bernoulli_log_prob_ref, kl_std_normal_ref, linear_gaussian_1d, logsumexp_fsum

__all__ = ["check_kl_and_grad", "check_reparameterize_backward", "check_bernoulli_and_grad",
           "check_encoder_output_grad", "check_logsumexp", "check_iwae_from_log_weights",
           "check_log_weights_1d", "check_optimal_gamma", "check_active_units",
           "check_kl_per_dimension"]


# ------------------------------------------------------------------------------ chapter 09
@exercise(*ANSWERS["ex09_1"])
def check_kl_and_grad(kl_and_grad, seed: int = 0) -> None:
    """The KL term of the VAE per row (checked by quadrature) and its gradient (finite
    differences)."""
    rng = np.random.default_rng(seed)
    n, z = int(rng.integers(2, 6)), int(rng.integers(3, 6))
    if n == z:
        n += 1
    mu, lv = rng.normal(0, 1, (n, z)), rng.normal(0, 0.6, (n, z))
    kl, dmu, dlv = pair(kl_and_grad(mu.copy(), lv.copy()), 3, "kl_and_grad(mu, logvar)",
                          "kl, dmu, dlogvar")
    per = np.array([[kl_quad(m, v, 0.0, 0.0) for m, v in zip(mr, vr)] for mr, vr in zip(mu, lv)])
    e = np.exp(lv)
    check_close(kl, per.sum(axis=1), "kl", rtol=1e-8, n=z, shape_hint="One KL per row (sum "
                "over the latent dimensions).", mistakes=[
        (per.mean(axis=1), f"kl is averaged over the {z} latent dimensions: the KL of a row sums "
                           "over them."),
        (np.sum(e + mu * mu - 1 - lv, axis=1), "kl lacks the factor 1/2."),
        (0.5 * np.sum(np.exp(2 * lv) + mu * mu - 1 - 2 * lv, axis=1),
         "kl reads logvar as log sigma: sigma^2 = exp(logvar)."),
        (0.5 * np.sum(e + mu * mu + 1 - lv, axis=1), "kl: the constant term has the wrong sign."),
        (0.5 * np.sum(e + mu * mu - 1 + lv, axis=1), "kl: the logvar term has the wrong sign.")])
    check_gradient(dmu, lambda m: kl_std_normal_ref(m, lv).sum(), mu, "dmu", n=n, mistakes=[
        (mu / n, "dmu is averaged over the batch: differentiate the sum of the KLs.")])
    check_gradient(dlv, lambda v: kl_std_normal_ref(mu, v).sum(), lv, "dlogvar", n=n, mistakes=[
        (e - 1, "dlogvar lacks the factor 1/2."),
        (0.5 * e, "dlogvar: the derivative of the -logvar term is missing."),
        (0.5 * (e + 1), "dlogvar: the derivative of the -logvar term has the wrong sign."),
        (np.exp(0.5 * lv) - np.exp(-0.5 * lv), "dlogvar is the derivative with respect to sigma: "
                                               "differentiate with respect to logvar."),
        ((e - 1) / (2 * n), "dlogvar is averaged over the batch: differentiate the sum.")])
    ok("kl_and_grad")


@exercise(*ANSWERS["ex09_2"], unused=(1,))
def check_reparameterize_backward(reparameterize_backward, seed: int = 0) -> None:
    """``(dmu, dlogvar)`` of ``sum(dz * (mu + exp(logvar/2) eps))`` by finite differences."""
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(2, 6)), int(rng.integers(2, 5)))
    mu, lv, eps, dz = (rng.normal(0, 1, shape) for _ in range(4))
    dmu, dlv = pair(reparameterize_backward(dz.copy(), mu.copy(), lv.copy(), eps.copy()), 2,
                      "reparameterize_backward(dz, mu, logvar, eps)", "dmu, dlogvar")
    z = lambda m, v: m + np.exp(0.5 * v) * eps  # noqa: E731
    sigma = np.exp(0.5 * lv)
    check_gradient(dmu, lambda m: np.sum(dz * z(m, lv)), mu, "dmu", mistakes=[
        (np.ones_like(mu), "dmu ignores the upstream gradient dz (the chain rule)."),
        (dz * sigma, "dmu has a factor sigma: z depends on mu with slope 1."),
        (mu, "dmu is mu: that is the KL's gradient, not the path through z."),
        (dz * eps, "dmu is the gradient for sigma's path: the two outputs are mixed up."),
        (0.5 * dz * sigma * eps, "dmu and dlogvar are swapped: return (dmu, dlogvar).")])
    check_gradient(dlv, lambda v: np.sum(dz * z(mu, v)), lv, "dlogvar", mistakes=[
        (dz * sigma * eps, "dlogvar lacks a factor 1/2 (the chain rule through exp(logvar/2))."),
        (0.5 * dz * np.exp(lv) * eps, "dlogvar uses the variance where the standard deviation "
                                      "belongs."),
        (0.5 * sigma * eps, "dlogvar ignores the upstream gradient dz (the chain rule)."),
        (0.5 * dz * sigma, "dlogvar lacks the factor eps."),
        (dz, "dlogvar is dz: that is the gradient with respect to mu."),
        (0.5 * dz * eps / sigma, "dlogvar divides by sigma where it multiplies.")])
    ok("reparameterize_backward")


@exercise(*ANSWERS["ex09_3"])
def check_bernoulli_and_grad(bernoulli_and_grad, seed: int = 0) -> None:
    """``(logp rows, dlogits)``: stable log-likelihood and the gradient of its sum."""
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(2, 5)), int(rng.integers(3, 7))
    x, logits = rng.random((n, d)), rng.normal(0, 3, (n, d))
    logits[1, 0], logits[0, 1] = 750.0, -750.0
    logp, dl = pair(bernoulli_and_grad(x.copy(), logits.copy()), 2,
                      "bernoulli_and_grad(x, logits)", "logp, dlogits")
    sp = np.logaddexp(0.0, logits)
    check_close(logp, bernoulli_log_prob_ref(x, logits).sum(axis=1), "logp", n=d,
                shape_hint="One log-likelihood per row.",
                nonfinite_hint="exp(750) overflows: rewrite log(1 + e^l) so that nothing large "
                               "is exponentiated.", mistakes=[
        (np.sum(x * logits - np.logaddexp(0.0, -logits), axis=1),
         "logp: the log-normaliser has the wrong sign inside."),
        (np.sum(x * logits, axis=1), "logp: the log-normaliser is missing."),
        (np.sum((1 - x) * logits - sp, axis=1), "logp: you swapped x and 1 - x."),
        (np.sum(x * logits - np.maximum(logits, 0), axis=1),
         "logp: the log1p part of the stable softplus is missing.")])
    if not np.all(np.isfinite(as_result(dl, "dlogits"))):
        fail("dlogits contains nan or inf at logits of +-750: compute the sigmoid without "
             "exponentiating a large positive number.")
    logits[1, 0], logits[0, 1] = 2.5, -1.5
    _, dl = pair(bernoulli_and_grad(x.copy(), logits.copy()), 2,
                   "bernoulli_and_grad(x, logits)", "logp, dlogits")
    sig = 1 / (1 + np.exp(-logits))
    check_gradient(dl, lambda v: bernoulli_log_prob_ref(x, v).sum(), logits, "dlogits", n=n, mistakes=[
        (x - 1 + sig, "dlogits uses sigmoid(-l) where sigmoid(l) belongs."),
        (x - np.exp(logits), "dlogits uses e^l where the logistic sigmoid belongs."),
        (sig * (1 - sig), "dlogits is the derivative of the sigmoid, not of the "
                          "log-likelihood."),
        (-sig, "dlogits: the x term is missing.")])
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
        return np.sum(dz * (m + np.exp(0.5 * v) * eps)) + kl_std_normal_ref(m, v).sum() / n
    raw = encoder_output_grad(dz.copy(), mu.copy(), lv.copy(), eps.copy(), n)
    check_shape(as_result(raw, "encoder_output_grad(...)"), (n, 2 * zd), "encoder_output_grad(...)",
                "Concatenate [dmu, dlogvar] along axis 1, like the encoder's output.")
    sigma = np.exp(0.5 * lv)
    no_scale = np.concatenate([dz + mu, dz * 0.5 * sigma * eps + 0.5 * np.expm1(lv)], axis=1)
    cat = lambda a, b: np.concatenate([a, b], axis=1)  # noqa: E731
    kl_v = 0.5 * np.expm1(lv) / n
    path = 0.5 * dz * sigma * eps
    check_gradient(raw, loss, h, "encoder_output_grad(...)", mistakes=[
        (no_scale, "The KL part is not divided by the batch size n (the loss is a mean over the "
                   "batch)."),
        (cat(dz + mu / n, kl_v), "The logvar half lacks the path through z (the "
                                 "reparameterization)."),
        (cat(mu / n, path + kl_v), "The mu half lacks the path through z (dz)."),
        (cat(dz + mu / n, 2 * path + kl_v), "The path through z in the logvar half lacks its "
                                            "factor 1/2."),
        (cat(dz + mu / n, path + 2 * kl_v), "The KL part of the logvar half lacks its factor "
                                            "1/2."),
        (cat(dz, path), "The KL part is missing from both halves."),
        (cat(path + kl_v, dz + mu / n), "The two halves are swapped: the output is [dmu, "
                                        "dlogvar]."),
        (cat(dz + mu / n, 0.5 * dz * np.exp(lv) * eps + kl_v),
         "The logvar half uses the variance in the path through z.")])
    ok("encoder_output_grad")


# ------------------------------------------------------------------------------ chapter 10
@exercise(*ANSWERS["ex10_1"])
def check_logsumexp(logsumexp, seed: int = 0) -> None:
    """``logsumexp(a, axis=0)``: stable for values of any size (D10.2)."""
    rng = np.random.default_rng(seed)
    k, m = int(rng.integers(6, 9)), int(rng.integers(3, 6))     # k != m: the axis matters
    a = rng.normal(0, 3, (k, m))
    a[:, 0] += 1000.0                                     # overflows
    a[:, 1] -= 1000.0                                     # underflows
    want = np.array([logsumexp_fsum(list(col)) for col in a.T])
    top = a.max(axis=0)
    mistakes = [(top, "You returned the maximum only: the log of the sum of the shifted "
                      "exponentials is missing."),
                (top + np.log(np.mean(np.exp(a - top), axis=0)), "You took the mean where the "
                                                                 "sum belongs (log K too little)."),
                (np.log(np.sum(np.exp(a - top), axis=0)), "You subtracted the maximum but did "
                                                          "not add it back."),
                (a.max() + np.log(np.sum(np.exp(a - a.max()), axis=0)),
                 "You shifted by the largest value of the whole array: shift by the maximum "
                 "along the axis, or columns far below it underflow.")]
    got = logsumexp(a.copy(), axis=0)
    check_close(got, want, "logsumexp(a, axis=0)", shape_hint="Reduce over the given axis.",
                nonfinite_hint="Shift the values along the axis before exponentiating.",
                mistakes=mistakes)
    got1 = logsumexp(a.T.copy(), axis=1)
    check_close(got1, want, "logsumexp(a, axis=1)", shape_hint="Honour the axis argument.",
                nonfinite_hint="Shift the values along the axis before exponentiating.",
                mistakes=mistakes)
    ok("logsumexp")


@exercise(*ANSWERS["ex10_2"])
def check_iwae_from_log_weights(iwae_from_log_weights, seed: int = 0) -> None:
    r"""``iwae_from_log_weights(log_w) -> (N,)``: :math:`\log\frac1K\sum_k w_k` over axis 0 of a
    ``(K, N)`` array of log-weights (D10.2)."""
    rng = np.random.default_rng(seed)
    k, n = int(rng.integers(5, 12)), int(rng.integers(3, 7))
    log_w = rng.normal(rng.uniform(-1100, -800), 3, (k, n))      # exp underflows to 0
    want = np.array([logsumexp_fsum(list(col)) - math.log(k) for col in log_w.T])
    got = iwae_from_log_weights(log_w.copy())
    check_close(got, want, "iwae_from_log_weights(log_w)", shape_hint="One bound per column "
                "(data point): reduce over axis 0, the K samples.",
                nonfinite_hint="exp(-800) underflows to 0: work in log space (log-sum-exp).",
                mistakes=[(log_w.mean(axis=0), "You averaged the log-weights: that is the ELBO, "
                                               "not the log of the average weight."),
                          (want + math.log(k), "You returned the log of the sum: log K is "
                                               "missing for the mean."),
                          (log_w.max(axis=0), "You kept only the largest weight of each column."),
                          (np.array([logsumexp_fsum(list(r)) - math.log(n) for r in log_w]).mean()
                           * np.ones(n), "You reduced over axis 1 (the data points)."),
                          (want - math.log(k), "You subtracted log K twice.")])
    ok("iwae_from_log_weights")


@exercise(*ANSWERS["ex10_3"])
def check_log_weights_1d(log_weights_1d, seed: int = 0) -> None:
    r"""``log_weights_1d(x, z, w, b, s2, m, logvar)``: :math:`\log p(x,z)-\log q(z)` for the 1-D
    linear-Gaussian model, one per sample ``z``; averaged as IWAE with many samples it must reach
    the log-evidence computed by quadrature."""
    rng = np.random.default_rng(seed)
    x, w, b, s2, m, lv = linear_gaussian_1d(seed)
    z = m + math.exp(0.5 * lv) * rng.standard_normal(int(rng.integers(5, 10)))
    za = np.asarray(z)
    lpx = -0.5 * (math.log(2 * math.pi * s2) + (x - w * za - b) ** 2 / s2)
    lpz = -0.5 * (math.log(2 * math.pi) + za * za)
    lq = -0.5 * (math.log(2 * math.pi) + lv + (za - m) ** 2 / math.exp(lv))
    want = np.array([-0.5 * (math.log(2 * math.pi * s2) + (x - w * t - b) ** 2 / s2)
                     - 0.5 * (math.log(2 * math.pi) + t * t)
                     + 0.5 * (math.log(2 * math.pi) + lv + (t - m) ** 2 / math.exp(lv))
                     for t in z])
    got = log_weights_1d(x, z.copy(), w, b, s2, m, lv)
    check_close(got, want, "log_weights_1d(...)", shape_hint="One log-weight per sample z.",
                mistakes=[(lpx + lpz, "log q(z) is not subtracted."),
                          (lpx - lq, "The log-prior log p(z) is missing."),
                          (lpz - lq, "The log-likelihood log p(x | z) is missing."),
                          (lpx + lpz + lq, "log q(z) is added where it is subtracted."),
                          (lpx + lpz - (-0.5 * (math.log(2 * math.pi) + 2 * lv + (za - m) ** 2
                                                / math.exp(2 * lv))),
                           "Your log q reads logvar as log sigma: sigma^2 = exp(logvar)."),
                          (-(lpx + lpz - lq), "The log-weight has the wrong sign.")])
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
    n, d = int(rng.integers(4, 9)), int(rng.integers(3, 8))
    if n == d:
        n += 1
    x, xh = rng.random((n, d)), rng.random((n, d))
    want = math.fsum(((x - xh) ** 2).ravel()) / (n * d)
    got = optimal_gamma(x.copy(), xh.copy())
    check_close(got, want, "optimal_gamma(x, x_hat)", shape_hint="Return one number.",
                mistakes=[(want * d, "You summed over the D dimensions: gamma* is per "
                                     "dimension."),
                          (want * n, "You summed over the N data points where the mean belongs."),
                          (want * n * d, "You summed the squared errors instead of averaging "
                                         "them."),
                          (math.sqrt(want), "You returned a standard deviation: gamma is a "
                                            "variance."),
                          (float(np.mean(np.abs(x - xh))), "You averaged absolute errors: gamma "
                                                           "is a variance (squared errors)."),
                          (float(np.mean(x - xh) ** 2), "You squared the mean error instead of "
                                                        "averaging the squared errors."),
                          (want / 2, "gamma* has an extra factor 1/2.")])
    g = float(as_result(got, "gamma"))
    r2 = float(((x - xh) ** 2).sum())
    dl = -0.5 * n * d / g + 0.5 * r2 / g ** 2                 # d/dgamma of the log-likelihood
    if abs(dl) > 1e-6 * n * d / g:
        fail(f"The log-likelihood's derivative at your gamma is {dl:.3g}, not 0.")
    ok("optimal_gamma")


_ACTIVE_SLIPS = (
    ("default", "Your function ignores its threshold argument: it counts with 0.01 whatever "
                "threshold it is given."),
    ("mean", "You thresholded the mean of mu: activity is how much mu varies over the data."),
    ("axis1", "You took the variance over axis 1 (the latent dimensions): take it over the "
              "data points."),
    ("inactive", "You counted the inactive units (variance below the threshold)."),
    ("sd", "You compared the standard deviation with the threshold: the threshold is on the "
           "variance."),
    ("about0", "Your variance is taken about 0, not about each dimension's mean."))


def _active_inputs(rng):
    """A threshold, encoder means ``mu`` (N, Z) whose per-dimension variances are clearly above
    or below it, and the counts the right rule and each slip of ``_ACTIVE_SLIPS`` give -- drawn
    until they all differ, so that every slip is told apart (and no constant passes)."""
    for _ in range(200):
        z = int(rng.integers(6, 13))
        threshold = float(10 ** rng.uniform(-2.5, -0.7))
        ratio = 10 ** (rng.uniform(0.3, 1.5, z) * rng.choice([-1.0, 1.0], z))
        n = int(rng.integers(200, 400))
        raw = rng.standard_normal((n, z))
        raw = (raw - raw.mean(axis=0)) / raw.std(axis=0)      # variance exactly 1 per column
        big = rng.random(z) < 0.6
        offset = np.where(big, rng.normal(0, 3, z), rng.uniform(-0.3, 0.3, z) * threshold)
        mu = raw * np.sqrt(threshold * ratio) + offset
        var = np.mean((mu - mu.mean(axis=0)) ** 2, axis=0)    # two-pass; each far from threshold
        want = int(np.sum(var > threshold))
        counts = {"want": want, "default": int(np.sum(var > 0.01)),
                  "mean": int(np.sum(np.abs(mu.mean(axis=0)) > threshold)),
                  "axis1": int(np.sum(mu.var(axis=1) > threshold)), "inactive": z - want,
                  "sd": int(np.sum(np.sqrt(var) > threshold)),
                  "about0": int(np.sum(np.mean(mu * mu, axis=0) > threshold))}
        if len(set(counts.values())) == len(counts):
            return threshold, mu, counts
    return threshold, mu, counts


@exercise(*ANSWERS["ex11_2"])
def check_active_units(active_units, seed: int = 0) -> None:
    r"""``active_units(mu, threshold=0.01) -> int``: the number of latent dimensions whose
    encoder mean varies over the data, :math:`\mathrm{Var}_x(\mu_d(x)) > \text{threshold}`
    (D11.4); ``mu`` is ``(N, Z)``."""
    rng = np.random.default_rng(seed)
    failed = []                                  # (returned, counts, result for a constant mu)
    for _ in range(3):                           # three inputs: thresholds and scales per seed
        threshold, mu, counts = _active_inputs(rng)
        got = active_units(mu.copy(), threshold=threshold)
        if isinstance(got, np.ndarray) and got.ndim > 0:
            fail(f"active_units returned an array of shape {got.shape}: return the count "
                 f"(an int).")
        g = as_result(got, "active_units(mu, threshold)")
        if g.size != 1 or not np.isfinite(g).all() or float(g) != round(float(g)):
            fail("active_units should return a count (an int).")
        g = int(round(float(g)))
        if g != counts["want"]:
            still = as_result(active_units(np.zeros_like(mu) + mu.mean(axis=0),
                                           threshold=threshold), "active_units(mu, threshold)")
            failed.append((g, counts, float(still) if still.size == 1 else None, threshold))
    if not failed:
        ok("active_units")
        return
    for key, sentence in _ACTIVE_SLIPS:          # a slip explains every input it failed on
        if all(g == c[key] for g, c, _, _ in failed):
            fail(sentence)
    if all(g == still and g != 0 for g, _, still, _ in failed):
        fail(f"active_units returns {failed[0][0]} also for a mu that does not vary at all: the "
             f"count must come from mu and the threshold.")
    g, _, _, threshold = failed[0]
    fail(f"active_units returned {g}, but another number of dimensions is active here "
         f"(threshold {threshold:.3g}).")



@exercise(*ANSWERS["ex11_3"])
def check_kl_per_dimension(kl_per_dimension, seed: int = 0) -> None:
    """``kl_per_dimension(mu, logvar) -> (Z,)``: the KL of each latent dimension, averaged over
    the batch (D11.4); checked by quadrature."""
    rng = np.random.default_rng(seed)
    n, z = int(rng.integers(3, 7)), int(rng.integers(2, 6))
    if n == z:
        n += 1
    mu, lv = rng.normal(0, 1, (n, z)), rng.normal(0, 0.5, (n, z))
    per = np.array([[kl_quad(mu[i, j], lv[i, j], 0.0, 0.0) for j in range(z)] for i in range(n)])
    got = kl_per_dimension(mu.copy(), lv.copy())
    e = np.exp(lv)
    check_close(got, per.mean(axis=0), "kl_per_dimension(mu, logvar)", rtol=1e-8, n=n,
                shape_hint="Average over the batch (axis 0): one value per latent dimension.",
                mistakes=[(np.mean(e + mu * mu - 1 - lv, axis=0), "The factor 1/2 is missing."),
                          (0.5 * np.mean(np.exp(2 * lv) + mu * mu - 1 - 2 * lv, axis=0),
                           "You read logvar as log sigma: sigma^2 = exp(logvar)."),
                          (0.5 * np.mean(e + mu * mu + 1 - lv, axis=0),
                           "The constant term has the wrong sign."),
                          (0.5 * np.mean(e - 1 - lv, axis=0), "The mu term is missing."),
                          (0.5 * np.mean(e + mu * mu - 1 + lv, axis=0),
                           "The logvar term has the wrong sign.")])
    ok("kl_per_dimension")
