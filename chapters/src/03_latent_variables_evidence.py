# %% [markdown]
# # Chapter 03 — Latent variables and the intractable evidence
#
# **Derivation steps covered:** D3.1, D3.2, D3.3, D3.4
#
# A latent-variable model explains each observation $x$ through an unobserved cause $z$: first
# draw $z$ from a simple prior, then draw $x$ from a distribution whose parameters a network
# computes from $z$. Such models can represent very complicated data distributions — but the
# probability they assign to a data point, the **evidence** $p(x)$, is an integral over every
# possible cause, and that integral is what makes learning and inference hard. This chapter makes
# the difficulty concrete: we compute the evidence exactly where we can (low dimension, by brute
# force on a grid), watch the obvious Monte-Carlo estimator fail as the dimension grows, and see
# why the posterior inherits the problem.
#
# Sources: the lecture notes "Variational Auto Encoders" §1.3 and §3, after Kingma & Welling,
# *An Introduction to Variational Autoencoders* (2019), §1.7–1.8, and Doersch, *Tutorial on
# Variational Autoencoders* (2016), Figures 2–3.

# %% demo=true
import itertools

import numpy as np

from elbo_edu.data import make_ring
from elbo_edu.distributions import std_normal_log_prob
from elbo_edu.estimators import evidence_bounds, naive_log_evidence
from elbo_edu.estimators.grid import log_integral, make_grid
from elbo_edu.models.linear_gaussian import LinearGaussian
from elbo_edu.plots import plot_naive_evidence_error, plot_ring_map
from elbo_edu.vae import VAE

rng = np.random.default_rng(3)

# %% [markdown]
# ## D3.1 — The evidence of a deep latent-variable model
#
# Take a 2-D latent $z\sim\mathcal N(0,I)$ and a decoder network that outputs one logit per pixel
# of a (tiny, 5-pixel) binary image, $p(x\mid z)=\prod_j\mathrm{Bernoulli}(x_j;\sigma(\ell_j(z)))$.
# The joint is easy to evaluate, $\log p(x,z)=\log p(x\mid z)+\log p(z)$, and the evidence
# marginalises the cause out:
#
# $$p(x)=\int p(x\mid z)\,p(z)\,dz .$$
#
# In two dimensions we can afford to do this integral on a grid (`elbo_edu.estimators.grid`: sum the
# joint over a fine lattice and multiply by the cell area). Then the result must be a probability
# distribution over the $2^5=32$ possible images — its total must be one, which is a strong test
# because every single image's evidence enters it.
#
# The model is the package's `VAE` with random weights; only its decoder and prior matter here.

# %% demo=true
dlvm = VAE(x_dim=5, z_dim=2, hidden=(16,), likelihood="bernoulli", activation="tanh",
           dtype=np.float64, rng=rng)
for k, p in dlvm.params.items():          # sharper weights make p(x | z) depend strongly on z
    p *= 3.0
images = np.array(list(itertools.product((0.0, 1.0), repeat=5)))          # all 32 images, (32, 5)
grid = make_grid(-7.0, 7.0, 281, dim=2)                                   # 281 x 281 latent points
z_grid = np.broadcast_to(grid.points[:, None, :], (len(grid.points), 32, 2))
log_joint = dlvm.log_joint(images, z_grid)                                # (G, 32)
log_px = log_integral(log_joint, grid)                                    # (32,)
total = np.exp(log_px).sum()
print(f"sum over all 32 images of p(x) = {total:.12f}")
assert abs(total - 1.0) < 1e-8   # the prior mass outside [-7, 7]^2 is ~1e-11

# %% [markdown]
# The total is one for *any* decoder whose $p(x\mid z)$ sums to one over images — it tests the
# quadrature and the normalisation of the Bernoulli, not the value of any single $p(x)$. So we also
# check single images against an estimate that shares nothing with the grid: the average of
# $p(x\mid z_s)$ over $10^6$ prior samples $z_s$ (unbiased for $p(x)$; its relative standard error
# $r$ comes from the samples), for the most and the least probable image.

# %% demo=true
for j in (int(np.argmax(log_px)), int(np.argmin(log_px))):
    est = evidence_bounds(dlvm, images[j:j + 1], 1_000_000, proposal="prior",
                          rng=np.random.default_rng(31))
    print(f"image {images[j]}: grid p(x) = {np.exp(log_px[j]):.6f}   "
          f"Monte Carlo {np.exp(est.log_evidence[0]):.6f} (relative SE {est.rel_se[0]:.1e})")
    assert abs(np.exp(est.log_evidence[0] - log_px[j]) - 1) < 4 * est.rel_se[0]

# %% [markdown]
# ## D3.2 — A simple latent variable and a fixed map can make a complicated distribution
#
# Why should such a model be expressive? Because any distribution in $d$ dimensions can be produced
# by pushing $d$ independent normal variables through a sufficiently complicated function; a
# neural decoder *learns* that function. Doersch's example makes the point without any learning:
#
# $$g(z)=\frac{z}{10}+\frac{z}{\lVert z\rVert},\qquad z\sim\mathcal N(0,I_2).$$
#
# $g$ keeps the direction of $z$ and sets the length to $1+\lVert z\rVert/10$, so the Gaussian blob
# becomes a thin ring. The radius has a distribution we can derive: $\lVert z\rVert^2$ is
# $\chi^2_2$, i.e. $\Pr(\lVert z\rVert\le t)=1-e^{-t^2/2}$, hence
# $\Pr(\lVert x\rVert\le 1+t/10)=1-e^{-t^2/2}$. We check the map pointwise and the radius
# distribution with a Kolmogorov–Smirnov distance: for $n$ samples, distances above
# $1.95/\sqrt n$ occur with probability about 0.1 % when the distribution is right.

# %% demo=true
x_ring, z_lat = make_ring(4000, rng, return_latent=True)
radius, zn = np.linalg.norm(x_ring, axis=1), np.linalg.norm(z_lat, axis=1)
assert np.max(np.abs(radius - (1 + zn / 10))) < 1e-14
assert np.max(np.abs(x_ring / radius[:, None] - z_lat / zn[:, None])) < 1e-14   # same direction

r_sorted = np.sort(radius)
cdf = 1 - np.exp(-0.5 * (10 * (r_sorted - 1)) ** 2)
n = len(r_sorted)
ks = max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n))
print(f"KS distance {ks:.4f}   (0.1 % critical value {1.95 / np.sqrt(n):.4f})")
assert ks < 1.95 / np.sqrt(n)

# %% demo=true
plot_ring_map(z_lat, x_ring)

# %% [markdown]
# ## D3.3 — The naive Monte-Carlo evidence is unbiased, and useless in high dimension
#
# The evidence is an expectation under the prior, $p(x)=\mathbb E_{z\sim p(z)}[p(x\mid z)]$, so the
# obvious estimator samples the prior:
#
# $$\hat p(x)=\frac1n\sum_{i=1}^n p(x\mid z_i),\qquad z_i\sim p(z).$$
#
# It is **unbiased** — each term has expectation $p(x)$. But most prior samples are causes that
# explain $x$ badly: $p(x\mid z)$ is large only in a small region around the true posterior, and the
# prior's chance of hitting that region shrinks exponentially with the latent dimension. The
# average is then dominated by rare lucky samples and its *relative* error explodes.
#
# We measure this where the exact answer is known: the linear-Gaussian model
# $z\sim\mathcal N(0,I_d)$, $x\mid z\sim\mathcal N(z,\sigma^2I_d)$ with $\sigma^2=0.5$, for which
# $p(x)=\mathcal N(x;0,(1+\sigma^2)I)$. (`naive_log_evidence` returns $\log\hat p(x)$, the log of
# the average, computed stably.)
#
# First unbiasedness in $d=1$: the mean of many independent estimates $\hat p(x)/p(x)$ must be
# within 4 standard errors (estimated from the repetitions) of one.

# %% demo=true
model1 = LinearGaussian(np.eye(1), np.zeros(1), sigma2=0.5)
x1 = model1.sample(1, rng)
reps = 2000
ratio = np.exp(naive_log_evidence(model1, np.repeat(x1, reps, axis=0), 50, rng)
               - model1.log_evidence(x1)[0])                         # (reps,) values of p_hat / p
se = ratio.std(ddof=1) / np.sqrt(reps)
print(f"mean of p_hat/p = {ratio.mean():.4f} +- {se:.4f}")
assert abs(ratio.mean() - 1.0) < 4 * se

# %% [markdown]
# Now the relative error $|\hat p(x)-p(x)|/p(x)$ as the dimension grows, with $n=1000$ prior
# samples per estimate and 20 independent estimates per dimension. In 1-D the estimate is accurate
# to a few percent; by $d\approx 20$ the typical error is as large as $p(x)$ itself (and, because
# the estimate is usually far too *small*, its log is off by many nats).

# %% demo=true
dims, n_samples, repeats = [1, 2, 4, 8, 16, 32], 1000, 20
rel_err = np.empty((len(dims), repeats))
for i, d in enumerate(dims):
    model_d = LinearGaussian(np.eye(d), np.zeros(d), sigma2=0.5)
    x_d = model_d.sample(1, rng)
    est = naive_log_evidence(model_d, np.repeat(x_d, repeats, axis=0), n_samples, rng)
    rel_err[i] = np.abs(np.expm1(est - model_d.log_evidence(x_d)[0]))
median = np.median(rel_err, axis=1)
print(dict(zip(dims, np.round(median, 3))))
assert median[0] < 0.1 and median[-1] > 0.5 and median[-1] > 20 * median[0]

# %% demo=true
plot_naive_evidence_error(dims, rel_err, n_samples=n_samples)

# %% [markdown]
# The estimator can report its own trouble: with importance weights $w_i=p(x\mid z_i)$, the
# *effective sample size* $(\sum w_i)^2/\sum w_i^2$ says how many samples actually carry the
# average. It collapses towards 1 as $d$ grows.

# %% demo=true
ess = [float(evidence_bounds(LinearGaussian(np.eye(d), np.zeros(d), sigma2=0.5),
                             LinearGaussian(np.eye(d), np.zeros(d), sigma2=0.5).sample(1, rng),
                             n_samples, proposal="prior", rng=rng).ess[0]) for d in dims]
print("effective sample size out of", n_samples, ":", dict(zip(dims, np.round(ess, 1))))
assert ess[0] > 100 and ess[-1] < 10

# %% [markdown]
# ## D3.4 — The posterior is intractable because the evidence is
#
# Bayes' rule (chapter 01) gives the posterior over causes,
#
# $$p(z\mid x)=\frac{p(x,z)}{p(x)} .$$
#
# The numerator is cheap for any $z$; the denominator is exactly the integral of D3.1. Without it
# we know the posterior only *up to a constant*: the shape, but not the height, and hence no
# probabilities, no expectations, no samples by simple means. On the 2-D grid we can still divide
# by $p(x)$ and obtain a proper density; dividing by anything else does not integrate to one.
# The grid, though, needs $m^d$ points for $m$ points per axis — fine for $d=2$, hopeless for the
# $d=20$ latent space of the MNIST VAE. This is the gap that variational inference fills: instead
# of the exact posterior, fit a tractable $q(z\mid x)$ (chapters 04–06).

# %% demo=true
j = int(np.argmax(log_px))                       # the most probable image
log_post = log_joint[:, j] - log_px[j]           # Bayes' rule on the grid
w_grid = np.exp(log_post + grid.log_cell)        # posterior probability of each grid cell
post_mean_grid = w_grid @ grid.points
# the same posterior mean from prior samples weighted by p(x | z) (self-normalised importance
# sampling): it never divides by the grid's p(x)
zs = np.random.default_rng(32).standard_normal((400_000, 1, 2))
lw = dlvm.log_joint(images[j:j + 1], zs)[:, 0] - std_normal_log_prob(zs[:, 0])   # log p(x | z_s)
ws = np.exp(lw - lw.max())
ws /= ws.sum()
post_mean_mc = ws @ zs[:, 0]
se_mc = np.sqrt(ws ** 2 @ (zs[:, 0] - post_mean_mc) ** 2)           # delta-method standard error
print(f"image {images[j]}: posterior mean on the grid {np.round(post_mean_grid, 4)}, "
      f"by weighted prior samples {np.round(post_mean_mc, 4)} +- {np.round(se_mc, 4)}")
assert np.all(np.abs(post_mean_grid - post_mean_mc) < 4 * se_mc)
for d in (2, 20, 784):
    print(f"d = {d:4d}: a grid with 281 points per axis has 10^{d * np.log10(281):.0f} points")

# %% [markdown]
# ## Try this
#
# 1. D3.1: shrink the grid to `make_grid(-3, 3, 61, dim=2)`. How far from one is the total now, and
#    which source of error dominates — the cut-off tails or the coarse spacing?
# 2. D3.2: replace the map by `z / 2 + z / np.linalg.norm(z, axis=1, keepdims=True)`. How does the
#    ring's thickness change, and what is the new radius distribution?
# 3. D3.3: set `sigma2=5.0` (a very noisy decoder). The likelihood becomes broad, the prior samples
#    hit it more often, and the naive estimator survives to higher dimensions — check with the plot.
# 4. D3.3: increase `n_samples` tenfold. By how much does the error at $d=4$ fall, and at $d=32$?
#    (An unbiased estimator's error falls like $1/\sqrt n$ only once $n$ is large enough to sample
#    the important region at all.)
# 5. D3.4: plot `np.exp(log_post).reshape(grid.shape)` with `elbo_edu.plots.plot_density_2d` for
#    two different images. Is the posterior anything like a Gaussian?

# %% [markdown]
# ## Exercises
#
# Write each function below in place of `raise NotImplementedError()`, then run the cell after it:
# it grades your function against quadrature or exact arithmetic and, if something is off, says in
# one sentence what. Points are in each heading. The model of Exercises 3.2 and 3.3 is the
# one-dimensional linear-Gaussian model $z\sim\mathcal N(0,1)$, $x\mid z\sim\mathcal N(wz+b,\,s^2)$.

# %%
from elbo_edu.course.checks import (check_log_evidence_1d, check_naive_log_evidence,
                                    check_posterior_1d)

# %% [markdown]
# ### Exercise 3.1 — The naive Monte-Carlo evidence (2 points)
#
# Given `log_lik[k]` $=\log p(x\mid z_k)$ for $K$ draws $z_k\sim p(z)$, return the estimate
# $\log\frac1K\sum_k p(x\mid z_k)$. The values can be near $-1000$, where $e^{\ell}$ is 0 in floating
# point: work in log space.

# %% solution="ex03_1"
def naive_log_evidence(log_lik):
    """log of the mean of exp(log_lik) over its K entries, computed stably; a float."""
    ### BEGIN SOLUTION
    top = np.max(log_lik)
    return top + np.log(np.mean(np.exp(log_lik - top)))
    ### END SOLUTION

# %% grade="ex03_1" points=2
check_naive_log_evidence(naive_log_evidence)
### BEGIN HIDDEN TESTS
check_naive_log_evidence(naive_log_evidence, seed=31)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3.2 — The exact evidence of the linear-Gaussian model (2 points)
#
# Return $\log p(x)$ for every entry of `x` (same shape), in closed form.

# %% solution="ex03_2"
def log_evidence_1d(x, w, b, s2):
    """log p(x) of z ~ N(0, 1), x | z ~ N(w z + b, s2), element-wise in x."""
    ### BEGIN SOLUTION
    var = w * w + s2
    return -0.5 * (np.log(2 * np.pi * var) + (x - b) ** 2 / var)
    ### END SOLUTION

# %% grade="ex03_2" points=2
check_log_evidence_1d(log_evidence_1d)
### BEGIN HIDDEN TESTS
check_log_evidence_1d(log_evidence_1d, seed=32)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3.3 — Its posterior (3 points)
#
# Return the mean and the variance of $p(z\mid x)$ for a scalar `x`, as the pair `(mean, var)`.

# %% solution="ex03_3"
def posterior_1d(x, w, b, s2):
    """Mean and variance of p(z | x) for the 1-D linear-Gaussian model."""
    ### BEGIN SOLUTION
    var = 1.0 / (1.0 + w * w / s2)
    return var * w * (x - b) / s2, var
    ### END SOLUTION

# %% grade="ex03_3" points=3
check_posterior_1d(posterior_1d)
### BEGIN HIDDEN TESTS
check_posterior_1d(posterior_1d, seed=33)
### END HIDDEN TESTS
