# %% [markdown]
# # Chapter 11 — Diagnosing and enhancing VAEs
#
# **Derivation steps covered:** D11.1, D11.2, D11.3, D11.4
#
# A VAE that trains without errors can still be a poor generative model in ways the loss curve does
# not show. This chapter follows Dai & Wipf, *Diagnosing and Enhancing VAE Models*: we write the
# objective as an average over the data distribution, look at what a **learned** decoder variance
# does when the data lie on a low-dimensional manifold, repair the mismatch between the codes and
# the prior with a **second VAE**, and count how many latent dimensions a trained model actually
# uses (posterior collapse), with KL warm-up as the usual countermeasure.
#
# Small experiments only: 10-dimensional data on a 2-dimensional manifold, where the effects are
# sharp and training takes seconds, and a short MNIST run for the collapse diagnostics.

# %%
import numpy as np

from elbo_edu.data import load_dataset
from elbo_edu.distributions import LOG_2PI, kl_std_normal
from elbo_edu.models import (LinearGaussian, active_units, compare_kl_warmup, gamma_shrinkage_demo,
                             kl_per_dimension, manifold_data, two_stage_demo)
from elbo_edu.plots import plot_active_units, plot_gamma_trace, plot_points

rng = np.random.default_rng(11)

# %% [markdown]
# ## D11.1 — The objective, averaged over the data distribution
#
# Maximum likelihood asks for $\theta$ minimising $\int-\log p_\theta(x)\,\mu_{gt}(dx)$, the average
# negative log-evidence under the ground-truth data distribution $\mu_{gt}$; in practice the
# integral is an average over the training set. Replacing each $-\log p_\theta(x)$ by the negative
# ELBO gives the canonical VAE objective,
#
# $$\mathcal L(\theta,\phi)=\int\Big\{-\mathbb E_{q_\phi(z\mid x)}\big[\log p_\theta(x\mid z)\big]
#   +\mathrm{KL}\big(q_\phi(z\mid x)\,\|\,p(z)\big)\Big\}\,\mu_{gt}(dx)
#   =\int-\log p_\theta(x)\,\mu_{gt}(dx)+\int\mathrm{KL}\big(q_\phi(z\mid x)\,\|\,p_\theta(z\mid x)\big)\,\mu_{gt}(dx),$$
#
# the second form by chapter 06 (D6.2), point by point. So $\mathcal L$ is an upper bound on the
# average negative log-likelihood, loose by the *average* gap. (The notes write the KL here without
# its second argument — erratum E5 — and the evidence with the wrong integrand — erratum E4.)
#
# Check in a linear-Gaussian world where everything is exact: take the data distribution to be the
# model itself, $\mu_{gt}=p_\theta(x)=\mathcal N(b, WW^\top+\sigma^2I)$. Then
# $\int-\log p_\theta\,d\mu_{gt}$ is the entropy of that Gaussian,
# $\tfrac12\log\det\big(2\pi e\,(WW^\top+\sigma^2I)\big)$, and with the best diagonal encoder the gap is
# the same for every $x$ (chapter 06, D6.5). A sample average over 20 000 data points must match
# the entropy within 4 standard errors, and the average objective must exceed the average negative
# log-evidence by exactly the gap.

# %%
lg = LinearGaussian.random(x_dim=6, z_dim=2, rng=rng, sigma2=0.4)
x_data = lg.sample(20_000, rng)                             # draws from mu_gt
q_mean, q_logvar = lg.encode(x_data)                         # the best diagonal encoder
nll = -lg.log_evidence(x_data)
objective = -lg.elbo(x_data, q_mean, q_logvar)
cov_x = lg.W @ lg.W.T + lg.sigma2 * np.eye(6)
entropy = 0.5 * (6 * (LOG_2PI + 1) + np.linalg.slogdet(cov_x)[1])
gap = lg.kl_to_posterior(x_data[:1], q_mean[:1], q_logvar[:1])[0]
print(f"average -log p(x) {nll.mean():.4f}  (entropy of the data {entropy:.4f})")
print(f"average objective {objective.mean():.4f}  = average -log p(x) + gap {gap:.4f}")
assert abs(nll.mean() - entropy) < 4 * nll.std(ddof=1) / np.sqrt(len(nll))
assert abs(objective.mean() - nll.mean() - gap) < 1e-9 * abs(objective.mean())

# %% [markdown]
# ## D11.2 — A learned decoder variance collapses on a manifold
#
# Let the Gaussian decoder learn its variance: $p_\theta(x\mid z)=\mathcal N(\hat x_\theta(z),\ \gamma I)$
# with one scalar $\gamma$. For fixed reconstructions, the terms of the objective that involve
# $\gamma$ are $\frac1{2\gamma}\mathbb E\lVert x-\hat x\rVert^2+\frac D2\log\gamma$, minimised at
# $\gamma^\star=\frac1D\mathbb E\lVert x-\hat x\rVert^2$: the optimal variance is the mean squared
# reconstruction error per coordinate. If the data lie *exactly* on an $r$-dimensional manifold and
# the decoder can reproduce it, that error — and with it $\gamma$ — can be driven towards 0, and every
# halving of $\gamma$ is rewarded with $\frac D2\log 2$ nats: the objective is unbounded below. With
# noise of variance $\sigma^2$ off the manifold, $\gamma$ settles near $\sigma^2$ instead.
#
# Below: data on a 2-D manifold in 10-D, without noise and with noise $\sigma=0.1$
# ($\sigma^2=0.01$). Checks: without noise $\gamma$ is still falling at the end of training and ends
# far below the noisy run; with noise it levels off within a small factor of $\sigma^2$.

# %%
gammas = gamma_shrinkage_demo(noise_levels=(0.0, 0.1), epochs=40)
clean, noisy = gammas[0.0], gammas[0.1]
print(f"gamma after 10/20/40 epochs, no noise : {clean[[9, 19, 39]].round(5)}")
print(f"gamma after 10/20/40 epochs, sigma=0.1: {noisy[[9, 19, 39]].round(5)}")
assert clean[-1] < 0.5 * clean[19] and clean[-1] < 0.2 * noisy[-1]
assert 0.01 / 2 < noisy[-1] < 0.01 * 5 and abs(np.log(noisy[-1] / noisy[29])) < np.log(1.5)

# %%
plot_gamma_trace(np.arange(1, len(clean) + 1), clean)

# %% [markdown]
# ## D11.3 — The two-stage VAE
#
# When $\gamma\to0$ the first VAE reconstructs the manifold well, but nothing forces the codes of
# the data, the *aggregate posterior* $q_\phi(z)=\frac1N\sum_n q_\phi(z\mid x_n)$, to fill the prior
# $\mathcal N(0,I)$ evenly. Decoding prior samples that land where no data point was encoded gives
# points off the data. Dai & Wipf's remedy is a second, small VAE trained on the first one's codes
# $u_n=\mu_\phi(x_n)$: to sample, draw $z_2\sim\mathcal N(0,I)$, decode it to a code $u$, and decode $u$
# with the first decoder. The second stage has a low-dimensional, well-behaved target, and it learns
# where the codes really are.
#
# Sample quality is scored by the squared maximum mean discrepancy (MMD², a kernel two-sample
# statistic: 0 in expectation when the two samples come from one distribution) between generated
# points and held-out data, over 20 paired draws. Check: the two-stage sampler improves on the
# first stage by more than 4 standard errors of the paired difference.

# %%
ts = two_stage_demo(seed=0)
print(f"MMD^2 to held-out data: first stage {ts['mmd_first'].mean():.5f}, two-stage "
      f"{ts['mmd_two_stage'].mean():.5f}, fresh data {ts['mmd_data'].mean():.5f}")
print(f"improvement {ts['improvement']:.5f} +- {ts['improvement_se']:.5f};  "
      f"gamma of the first stage {ts['gamma_first']:.4f}")
assert ts["improvement"] > 4 * ts["improvement_se"]

# %%
draw = np.random.default_rng(3)
x_ref = manifold_data(1500, draw, noise=0.02)
plot_points(x_ref[:, :2], title="Held-out data (coordinates 1-2 of 10)")

# %%
plot_points(ts["model"].first.sample(1500, draw)[:, :2], title="First stage: prior samples")

# %%
plot_points(ts["model"].sample(1500, draw)[:, :2], title="Two-stage samples")

# %% [markdown]
# ## D11.4 — Posterior collapse: active units, KL per dimension, KL warm-up
#
# A latent dimension $j$ is *collapsed* when $q_\phi(z_j\mid x)\approx p(z_j)$ for every $x$: it
# carries no information about the data, its share of the KL is near 0, and the decoder ignores it.
# Two diagnostics: the **active units**, dimensions whose posterior mean varies across the data,
# $\operatorname{Var}_x\big(\mu_j(x)\big)>0.01$; and the **KL per dimension**, averaged over the data,
# which adds up to the model's KL term because the KL of a diagonal Gaussian is a sum over
# dimensions (chapter 05, D5.4).
#
# The first stage of D11.3 has 4 latent dimensions for data with 2 degrees of freedom. Dai & Wipf
# predict that, with $\gamma\to0$, it uses exactly as many dimensions as the manifold has and
# switches the rest off. Checks: 2 active units; the KL per dimension adds up to the average KL.

# %%
first = ts["model"].first
x_eval = manifold_data(1000, np.random.default_rng(5), noise=0.02)
au = active_units(first, x_eval)
kl_dims = kl_per_dimension(first, x_eval)
mu, logvar = first.encode(x_eval)
print(f"active units: {au.count} of {first.z_dim}; Var(mu_j) = {au.variances.round(4)}")
print(f"KL per dimension: {kl_dims.round(3)}")
assert au.count == 2
assert abs(kl_dims.sum() - kl_std_normal(mu, logvar).mean()) < 1e-10 * kl_dims.sum()

# %%
# the activity measure of the definition above, Var_x(mu_j(x)), against its threshold 0.01
plot_active_units(au.variances, threshold=0.01, ylabel=r"$\mathrm{Var}_x\,\mu_j(x)$")

# %% [markdown]
# Collapse is also a training-dynamics problem: early on the decoder is poor, the reconstruction
# term gives the encoder little reason to put information in $z$, and the KL term pulls every
# $q(z_j\mid x)$ to the prior — some units never recover. **KL warm-up** (annealing) multiplies the KL
# by a weight that rises linearly from 0 to 1 over the first epochs, so the code is used before it
# is penalised. We train the same MNIST VAE (16 latent dimensions, same initial weights and data
# order) with and without a 4-epoch warm-up and compare the diagnostics; on this short run the
# difference is small — try the experiments below to make it larger. Check: for each run, the KL
# per dimension adds up to the test KL the training loop reported.

# %%
mnist = load_dataset("embedded", n_train=3000, n_test=1000)
runs = compare_kl_warmup(mnist.x_train, mnist.x_test, z_dim=16, hidden=(256,), epochs=8,
                         warmup_epochs=4, lr=2e-3)
for key, r in runs.items():
    print(f"{key:7s} test loss {r.test_loss:7.2f}  active units {r.active.count:2d}/16  "
          f"KL {r.kl_per_dim.sum():5.2f} nats")
    assert abs(r.kl_per_dim.sum() - r.history[-1]["test_kl"]) < 1e-3 * r.kl_per_dim.sum()

# %%
plot_active_units(runs["none"].active.variances, threshold=0.01,
                  ylabel=r"$\mathrm{Var}_x\,\mu_j(x)$ (no warm-up)")

# %% [markdown]
# ## Try this
#
# 1. In D11.2 add a third noise level (0.03) and check that $\gamma$ settles near $0.03^2$.
# 2. Run the two-stage demo with `z_dim=8`: how many units stay active, and does the second stage
#    still help?
# 3. Train the MNIST comparison with `z_dim=32` and 20 epochs, or with a KL weight above 1
#    (`VAE(..., beta=4)` and `train`): when do units start to collapse, and does warm-up save them?
# 4. Replace the scalar $\gamma$ by one variance per pixel (`learned_var="pixel"`) in D11.2: which
#    coordinates' variances collapse first?

# %% [markdown]
# ## Exercises
#
# Write each function below in place of `raise NotImplementedError()`, then run the cell after it:
# it grades your function against exact arithmetic, a vanishing derivative or quadrature and, if
# something is off, says in one sentence what. Points are in each heading.

# %%
from elbo_edu.course.checks import check_active_units, check_kl_per_dimension, check_optimal_gamma

# %% [markdown]
# ### Exercise 11.1 — The optimal decoder variance γ (2 points)
#
# For data `x` and reconstructions `x_hat` `(N, D)`, return the $\gamma$ that maximises
# $\sum_{n,d}\log\mathcal N(x_{nd};\hat x_{nd},\gamma)$.

# %% solution="ex11_1"
def optimal_gamma(x, x_hat):
    """gamma* = E||x - x_hat||^2 / D, a float."""
    ### BEGIN SOLUTION
    return np.mean((x - x_hat) ** 2)
    ### END SOLUTION

# %% grade="ex11_1" points=2
check_optimal_gamma(optimal_gamma)
### BEGIN HIDDEN TESTS
check_optimal_gamma(optimal_gamma, seed=111)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 11.2 — Active units (2 points)
#
# `mu` `(N, Z)` holds the encoder means of $N$ data points. Return the number of latent dimensions
# whose mean varies over the data by more than `threshold` (variance over the data points).

# %% solution="ex11_2"
def active_units_mine(mu, threshold=0.01):
    """Number of dimensions d with Var_n(mu[n, d]) > threshold (an int)."""
    ### BEGIN SOLUTION
    return int(np.sum(np.var(mu, axis=0) > threshold))
    ### END SOLUTION

# %% grade="ex11_2" points=2
check_active_units(active_units_mine)
### BEGIN HIDDEN TESTS
check_active_units(active_units_mine, seed=112)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 11.3 — KL per latent dimension (2 points)
#
# Return the KL to the prior of each latent dimension, averaged over the batch: `(Z,)` from
# `mu`, `logvar` `(N, Z)`. Dimensions with a KL near zero are the collapsed ones.

# %% solution="ex11_3"
def kl_per_dimension(mu, logvar):
    """Batch-mean KL of each latent dimension, (Z,)."""
    ### BEGIN SOLUTION
    return np.mean(0.5 * (np.exp(logvar) + mu * mu - 1.0 - logvar), axis=0)
    ### END SOLUTION

# %% grade="ex11_3" points=2
check_kl_per_dimension(kl_per_dimension)
### BEGIN HIDDEN TESTS
check_kl_per_dimension(kl_per_dimension, seed=113)
### END HIDDEN TESTS
