# %% [markdown]
# # Chapter 10 — Test time: generation and evaluation
#
# **Derivation steps covered:** D10.1, D10.2, D10.3, D10.4
#
# A trained VAE is used in two ways. As a **generator** it needs only the decoder and the prior: the
# encoder, indispensable during training, is thrown away (the test-time picture of Doersch,
# *Tutorial on Variational Autoencoders*). As a **density model** it should be judged by
# $\log p_\theta(x)$ on held-out data — the very quantity we could not compute. This chapter shows how
# importance sampling with the encoder as proposal gives a family of bounds that climb towards it,
# and then, for a model with a two-dimensional latent space, computes $\log p_\theta(x)$ and the true
# posterior by brute-force quadrature, so that the gap of chapter 06,
# $\log p(x)-\mathrm{ELBO}=\mathrm{KL}(q\,\|\,p(z\mid x))$, can finally be *seen* on a real model.
#
# Everything below uses one Bernoulli VAE with $Z=2$, trained for a few seconds on the 8 000 digits
# shipped with the package.

# %%
import numpy as np

from elbo_edu.special import sigmoid
from elbo_edu.data import load_dataset
from elbo_edu.estimators import elbo_estimate, iwae_bound
from elbo_edu.models import grid_posterior, make_grid
from elbo_edu.plots import (plot_iwae_curve, plot_latent_scatter, plot_manifold,
                            plot_posterior_grid, plot_samples)
from elbo_edu.train import train
from elbo_edu.vae import VAE

digits = load_dataset("embedded")
model = VAE(784, 2, hidden=(256,), likelihood="bernoulli", rng=np.random.default_rng(0))
metrics = train(model, digits, epochs=10, batch_size=128, lr=2e-3, seed=0, progress=False)
print(f"test negative ELBO after {len(metrics)} epochs: {metrics[-1]['test_loss']:.1f} nats")
x_eval = digits.x_test[:40]                         # the digits we evaluate on

# %% [markdown]
# ## D10.1 — Generation: prior in, decoder out
#
# The generative model is $z\sim\mathcal N(0, I)$, $x\sim p_\theta(x\mid z)$. To draw new digits we
# sample $z$ from the prior and pass it through the decoder; we show the Bernoulli means
# $\sigma(\ell_\theta(z))$ rather than random 0/1 pixels. No data point and no encoder is involved.
# Check: `sample` is exactly "standard normal noise through the decoder, then the sigmoid".

# %%
samples = model.sample(64, np.random.default_rng(10))
z = np.random.default_rng(10).standard_normal((64, 2), dtype=np.float32)
assert np.allclose(samples, sigmoid(model.decode(z)), rtol=0, atol=1e-6)
plot_samples(samples, nrow=8)

# %% [markdown]
# ## D10.2 — Importance sampling: IWAE bounds rising towards $\log p(x)$
#
# Draw $K$ samples $z_1,\dots,z_K$ from the encoder's $q(z\mid x)$ and average the importance weights
# $w_k=p(x,z_k)/q(z_k\mid x)$. The average is an unbiased estimate of $p(x)$ (chapter 06, D6.1), but
# its logarithm is not: by Jensen,
#
# $$\mathrm{IWAE}_K:=\mathbb E\Big[\log\frac1K\sum_{k=1}^{K}w_k\Big]\ \le\ \log\mathbb E\Big[\frac1K\sum_k w_k\Big]=\log p(x).$$
#
# At $K=1$ this is exactly the ELBO. As $K$ grows the average of the weights concentrates around
# $p(x)$, so the bound climbs towards $\log p(x)$; one can show it never decreases in $K$ (an average of
# $K+1$ weights is itself an average of its leave-one-out averages of $K$ weights, and the log is
# concave). Checks on 40 test digits, with 4-standard-error tolerances computed from the spread over
# digits: $\mathrm{IWAE}_1$ matches a many-sample ELBO, and $\mathrm{IWAE}_{1024}$ lies above that ELBO.
# (A single-sample $\mathrm{IWAE}_1$ is too noisy to show a rise of a few nats on 40 digits; the
# 2000-sample ELBO estimates the same expectation with little noise.)

# %%
ks = [1, 4, 16, 64, 256, 1024]
rng = np.random.default_rng(11)
iwae = np.stack([iwae_bound(model, x_eval, k, rng=rng) for k in ks])          # (len(ks), 40)
elbo = elbo_estimate(model, x_eval, 2000, rng=rng)                             # (40,)
for k, row in zip(ks, iwae):
    print(f"K = {k:5d}   IWAE_K = {row.mean():8.3f} nats")
d1 = iwae[0] - elbo
assert abs(d1.mean()) < 4 * d1.std(ddof=1) / np.sqrt(len(d1)) + 1e-9
rise = iwae[-1] - elbo
assert rise.mean() > 4 * rise.std(ddof=1) / np.sqrt(len(rise))

# %% [markdown]
# ## D10.3 — The gap, measured: the true posterior on a grid
#
# With only two latent dimensions, $p(x)=\int p(x\mid z)p(z)\,dz$ can be computed by brute force:
# evaluate $\log p(x,z)$ on a fine grid of $z$ values and sum, $\log p(x)\approx\log\sum_g p(x,z_g)+\log\Delta$
# with $\Delta$ the area of a grid cell. Divided by it, the same numbers are the **true posterior**
# $p(z_g\mid x)$, and the KL from the encoder's $q$ to it is a sum over the grid too. Chapter 06 proved
# $\log p(x)-\mathrm{ELBO}=\mathrm{KL}(q\,\|\,p(z\mid x))$; here both sides are computed
# independently — the left from the grid evidence and a Monte-Carlo ELBO, the right from the grid
# posterior — for a trained network where nothing is Gaussian but $q$. Checks: the grid covers $q$
# (its mass on the grid is 1), the identity holds within 4 standard errors of the ELBO estimate (plus
# $10^{-3}$ nats for the quadrature), and no IWAE bound of D10.2 lies above the grid evidence
# (on average over these digits, within 4 standard errors).

# %%
grid = make_grid(-4, 4, 161)                        # 161 x 161 points, spacing 0.05
n_grid = 6                                          # the quadrature costs 26 000 decodes per digit
gp = grid_posterior(model, x_eval[:n_grid], grid)
gap = gp.log_evidence - elbo[:n_grid]
elbo_samples = np.stack([elbo_estimate(model, x_eval[:n_grid], 1, rng=rng) for _ in range(400)])
se = elbo_samples.std(0, ddof=1) / np.sqrt(2000)    # standard error of the 2000-sample ELBO
for i in range(n_grid):
    print(f"digit {i}: log p(x) = {gp.log_evidence[i]:8.3f}   ELBO = {elbo[i]:8.3f}   "
          f"gap = {gap[i]:.3f}   KL(q || p(z|x)) on the grid = {gp.kl_q_posterior[i]:.3f}")
assert np.all(np.abs(gp.q_mass - 1) < 1e-3)
assert np.all(np.abs(gap - gp.kl_q_posterior) < 4 * se + 1e-3)
below = iwae[:, :n_grid] - gp.log_evidence          # (len(ks), n_grid): IWAE_K - log p(x)
assert np.all(below.mean(1) < 4 * below.std(1, ddof=1) / np.sqrt(n_grid))

# %% [markdown]
# The filled contours are the true posterior of a test digit, the ellipses the encoder's $q$ (one
# and two standard deviations). Where the posterior is skewed, curved or has two lobes, a diagonal
# Gaussian cannot follow it, and the KL printed above is the price.

# %%
n = len(grid.axis)


def posterior_figure(i):
    """Grid posterior of test digit i (rows: z2, columns: z1) with q's ellipses."""
    mu, logvar = model.encode(x_eval[i:i + 1])
    log_post = gp.log_posterior[:, i].reshape(n, n).T
    return plot_posterior_grid(grid.axis, grid.axis, log_post, mu[0], logvar[0])


posterior_figure(0)

# %%
posterior_figure(int(np.argmax(gp.kl_q_posterior)))       # the digit with the largest gap

# %%
# IWAE_K - log p(x) for the six grid digits: pairing each bound with its own digit's evidence
# removes the digit-to-digit spread (tens of nats), so the error bars show estimator noise only.
# Every K gets the same budget of 1024 samples per digit: 1024/K independent IWAE_K draws, averaged.
x_grid = x_eval[:n_grid]
draws = [np.stack([iwae_bound(model, x_grid, k, rng=rng) for _ in range(1024 // k)])
         - gp.log_evidence for k in ks]                      # each (1024/K, n_grid)
below_avg = np.array([d.mean() for d in draws])
below_se = np.array([d.mean(0).std(ddof=1) / np.sqrt(n_grid) for d in draws])
print("IWAE_K - log p(x):", np.round(below_avg, 3))
assert np.all(np.diff(below_avg) > -4 * np.hypot(below_se[1:], below_se[:-1]))   # rises in K
plot_iwae_curve(ks, below_avg, stderr=below_se, reference=0.0,
                reference_label=r"$\log p(x)$ (grid), the limit",
                ylabel=r"IWAE$_K - \log p(x)$ (nats, mean of 6 digits)")

# %% [markdown]
# ## D10.4 — The latent space: manifold and interpolation
#
# With $Z=2$ the whole generative model fits in one picture: decode a regular grid of latent points
# and tile the images. The grid is laid out on quantiles of the standard normal, so equal steps in
# the picture are equal steps in *prior probability*. Next to it, the encoder means of the test
# digits coloured by label show which regions belong to which digit. Finally a straight line
# between the codes of two test digits, decoded: check that its end points are exactly the two
# reconstructions.

# %%
plot_manifold(lambda zz: sigmoid(model.decode(zz.astype(np.float32))), n=15)

# %%
mu_test, _ = model.encode(digits.x_test)
plot_latent_scatter(mu_test, digits.y_test)

# %%
a, b = model.encode(digits.x_test[[3, 4]])[0]
t = np.linspace(0, 1, 10, dtype=np.float32)[:, None]
path = sigmoid(model.decode((1 - t) * a + t * b))
assert np.allclose(path[[0, -1]], model.reconstruct(digits.x_test[[3, 4]]), atol=1e-6)
plot_samples(path, nrow=10)

# %% [markdown]
# ## Try this
#
# 1. Use the prior instead of the encoder as the proposal (`evidence_bounds(..., proposal="prior")`,
#    chapter 03): how many samples does it need to match $\mathrm{IWAE}_{64}$?
# 2. Train the model longer: does the average gap $\mathrm{KL}(q\,\|\,p(z\mid x))$ shrink, grow or
#    stay? (The decoder also adapts to the encoder — the "amortisation gap".)
# 3. Find a digit whose grid posterior has two modes. What does the encoder do with it?
# 4. Interpolate between two digits of the same class and of different classes: where does the
#    path leave the data?

# %% [markdown]
# ## Exercises
#
# Write each function below in place of `raise NotImplementedError()`, then run the cell after it:
# it grades your function against exact arithmetic or quadrature and, if something is off, says in
# one sentence what. Points are in each heading.

# %%
from elbo_edu.course.checks import (check_iwae_from_log_weights, check_log_weights_1d,
                                    check_logsumexp)

# %% [markdown]
# ### Exercise 10.1 — A stable log-sum-exp (2 points)
#
# Return $\log\sum_i e^{a_i}$ along `axis`; it must be finite when entries are $\pm1000$.

# %% solution="ex10_1"
def logsumexp_mine(a, axis=0):
    """log(sum(exp(a), axis)) without overflow or underflow."""
    ### BEGIN SOLUTION
    top = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(top, axis=axis) + np.log(np.sum(np.exp(a - top), axis=axis))
    ### END SOLUTION

# %% grade="ex10_1" points=2
check_logsumexp(logsumexp_mine)
### BEGIN HIDDEN TESTS
check_logsumexp(logsumexp_mine, seed=101)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 10.2 — The IWAE bound from log-weights (2 points)
#
# `log_w` has shape `(K, N)`: $K$ log importance weights $\log p(x_n,z_k)-\log q(z_k\mid x_n)$ for
# each of $N$ data points. Return the $N$ bounds $\log\frac1K\sum_k w_{kn}$.

# %% solution="ex10_2"
def iwae_from_log_weights(log_w):
    """IWAE bound per data point, (N,), from log-weights (K, N)."""
    ### BEGIN SOLUTION
    top = log_w.max(axis=0)
    return top + np.log(np.mean(np.exp(log_w - top), axis=0))
    ### END SOLUTION

# %% grade="ex10_2" points=2
check_iwae_from_log_weights(iwae_from_log_weights)
### BEGIN HIDDEN TESTS
check_iwae_from_log_weights(iwae_from_log_weights, seed=102)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 10.3 — Importance weights of the linear-Gaussian model (3 points)
#
# For $z\sim\mathcal N(0,1)$, $x\mid z\sim\mathcal N(wz+b,s^2)$ and the proposal
# $q=\mathcal N(m,e^{\mathrm{logvar}})$, return $\log p(x,z_k)-\log q(z_k)$ for every sample in `z`.
# The grader also averages many of your weights as IWAE and compares with the exact $\log p(x)$.

# %% solution="ex10_3"
def log_weights_1d(x, z, w, b, s2, m, logvar):
    """log p(x, z) - log q(z) for each sample z (K,)."""
    ### BEGIN SOLUTION
    log_px_z = -0.5 * (np.log(2 * np.pi * s2) + (x - w * z - b) ** 2 / s2)
    log_pz = -0.5 * (np.log(2 * np.pi) + z * z)
    log_q = -0.5 * (np.log(2 * np.pi) + logvar + (z - m) ** 2 / np.exp(logvar))
    return log_px_z + log_pz - log_q
    ### END SOLUTION

# %% grade="ex10_3" points=3
check_log_weights_1d(log_weights_1d)
### BEGIN HIDDEN TESTS
check_log_weights_1d(log_weights_1d, seed=103)
### END HIDDEN TESTS
