# %% [markdown]
# # Chapter 06 — The evidence lower bound
#
# **Derivation steps covered:** D6.1, D6.2, D6.3, D6.4, D6.5, D6.6
#
# Chapter 03 ended with a problem: the evidence $p_\theta(x)=\int p_\theta(x\mid z)\,p(z)\,dz$ of a
# latent-variable model is an integral we cannot do, and the posterior $p_\theta(z\mid x)$, whose
# normaliser it is, is out of reach with it. This chapter builds the quantity that replaces both: the
# **evidence lower bound** (ELBO). We derive it twice — once from Jensen's inequality, once as an exact
# identity that also says *how loose* the bound is — and rewrite it in the three forms met in the
# literature.
#
# To check every equation to the last digit we need a model where *nothing* is intractable. The
# linear-Gaussian model is such a model: it has the structure of a VAE (a Gaussian prior, a decoder,
# a Gaussian likelihood) but a linear decoder, so $p(x)$ and $p(z\mid x)$ are Gaussian and known in
# closed form. Every identity below is computed with independent formulas on both sides.
#
# Sources: Kingma & Welling, *An Introduction to Variational Autoencoders*; the notes
# *Kullback-Leibler Divergence in VAEs*; the blog post *Auto-Encoding Variational Bayes — Variational
# Inference* (energy and entropy); Selega, *Notes on Derivation of the Variational Autoencoder
# Evidence Lower Bound Loss* (the route to the squared-error loss).

# %% demo=true
import numpy as np
from scipy.stats import multivariate_normal

from elbo_edu.special import logsumexp
from elbo_edu.distributions import LOG_2PI, gaussian_entropy, kl_std_normal
from elbo_edu.estimators.grid import grid_log_evidence, make_grid
from elbo_edu.experiments import ascend_elbo
from elbo_edu.models import LinearGaussian
from elbo_edu.plots import plot_elbo_gap

rng = np.random.default_rng(6)

# %% [markdown]
# ## The test bench: a linear-Gaussian latent-variable model
#
# $$z\sim\mathcal N(0, I_K),\qquad x\mid z\sim\mathcal N(Wz+b,\ \sigma^2 I_D).$$
#
# A linear map of a Gaussian plus independent Gaussian noise is Gaussian, so the evidence is
# $p(x)=\mathcal N(x;\,b,\,WW^\top+\sigma^2 I)$. Completing the square in $\log p(x\mid z)+\log p(z)$
# gives the posterior $p(z\mid x)=\mathcal N\big(\Sigma W^\top(x-b)/\sigma^2,\ \Sigma\big)$ with precision
# $\Lambda=\Sigma^{-1}=I+W^\top W/\sigma^2$. We take $K=2$, so the closed-form evidence can first be
# confirmed by brute-force integration of $p(x, z)$ over a grid of $z$ values.

# %% demo=true
model = LinearGaussian.random(x_dim=6, z_dim=2, rng=rng, sigma2=0.4)
x = model.sample(5, rng)                           # five observations, shape (5, 6)
log_px = model.log_evidence(x)                     # closed form, (5,)
log_px_grid = grid_log_evidence(model, x, make_grid(-8, 8, 401))
print("closed form :", np.round(log_px, 10))
print("grid        :", np.round(log_px_grid, 10))
assert np.max(np.abs(log_px - log_px_grid)) < 1e-8   # quadrature error is far below this

# %% [markdown]
# ## D6.1 — A lower bound from Jensen's inequality
#
# Take any density $q(z\mid x)$ that is positive wherever $p(x, z)$ is, multiply and divide under the
# integral, and read the result as an expectation under $q$:
#
# $$\log p(x)=\log\int q(z\mid x)\,\frac{p(x,z)}{q(z\mid x)}\,dz
#   =\log \mathbb E_{q}\!\left[w\right],\qquad w=\frac{p(x,z)}{q(z\mid x)}.$$
#
# The logarithm is **concave**, so the log of an average is at least the average of the logs
# (Jensen's inequality; for a convex function it would go the other way — see erratum E8):
#
# $$\log p(x)=\log\mathbb E_q[w]\ \ge\ \mathbb E_q[\log w]
#   =\mathbb E_{q}\big[\log p(x,z)-\log q(z\mid x)\big]=:\mathrm{ELBO}(q).$$
#
# Check with samples from a deliberately poor $q$: the average weight estimates $p(x)$ itself
# (importance sampling, unbiased), the average log-weight estimates the ELBO, and the second is
# smaller. Tolerances are four standard errors of the sample means.

# %% demo=true
x1 = x[:1]                                         # one observation, shape (1, 6)
post_mean, post_cov = model.posterior(x1)           # exact posterior N(post_mean, post_cov)
q_mean = post_mean + np.array([[0.6, -0.4]])       # q: shifted and too wide, on purpose
q_logvar = np.log(np.diag(post_cov))[None] + np.array([[0.7, 0.4]])
S = 200_000
z = q_mean + np.exp(0.5 * q_logvar) * rng.standard_normal((S, 1, 2))     # (S, 1, 2)
log_w = (model.log_joint(x1, z) - model.log_q(z, q_mean, q_logvar))[:, 0]  # (S,)

log_mean_w = logsumexp(log_w) - np.log(S)          # log of the average weight
mean_log_w = log_w.mean()                          # average of the log-weights
print(f"log E_q[w] ~ {log_mean_w:.5f}   log p(x) = {log_px[0]:.5f}")
print(f"E_q[log w] ~ {mean_log_w:.5f}   ELBO     = {model.elbo(x1, q_mean, q_logvar)[0]:.5f}")

w = np.exp(log_w - log_px[0])                      # weights relative to p(x): mean should be 1
assert abs(w.mean() - 1) < 4 * w.std() / np.sqrt(S)
assert abs(mean_log_w - model.elbo(x1, q_mean, q_logvar)[0]) < 4 * log_w.std() / np.sqrt(S)
# Jensen itself, on the closed-form values (the sample averages above would satisfy
# mean(log w) <= log mean(w) for *any* numbers, so they cannot test the bound):
assert model.elbo(x1, q_mean, q_logvar)[0] < log_px[0]

# %% [markdown]
# ## D6.2 — The exact identity: the gap is a KL divergence
#
# Jensen says *that* the ELBO is below $\log p(x)$; Bayes' rule says *by how much*. Substitute
# $p(x,z)=p(z\mid x)\,p(x)$ inside the ELBO:
#
# $$\mathrm{ELBO}(q)=\mathbb E_q\big[\log p(x)+\log p(z\mid x)-\log q(z\mid x)\big]
#   =\log p(x)-\mathrm{KL}\big(q(z\mid x)\,\|\,p(z\mid x)\big),$$
#
# because $\log p(x)$ does not depend on $z$ and comes out of the expectation. So
#
# $$\boxed{\ \log p(x)=\mathrm{ELBO}(q)+\mathrm{KL}\big(q(z\mid x)\,\|\,p(z\mid x)\big)\ }$$
#
# for **every** $q$. Since KL $\ge 0$ (chapter 04) this contains D6.1, and it says that the bound is
# tight exactly when $q$ is the posterior. In the linear-Gaussian model all three terms have closed
# forms computed by *different* formulas: the evidence from a Cholesky factor of
# $WW^\top+\sigma^2I$, the ELBO from expected log-densities, the KL between two Gaussians from the
# posterior precision. We check the identity for 200 random diagonal Gaussians $q$.

# %% demo=true
n_q = 200
xs = np.repeat(x1, n_q, axis=0)
qm = rng.normal(0, 2, size=(n_q, 2))
qlv = rng.normal(0, 1.5, size=(n_q, 2))
lhs = model.log_evidence(xs)
rhs = model.elbo(xs, qm, qlv) + model.kl_to_posterior(xs, qm, qlv)
err = np.max(np.abs(lhs - rhs) / np.abs(lhs))
print(f"largest relative mismatch over {n_q} q's: {err:.1e}")
assert err < 1e-12                                 # rounding only: machine precision
assert np.all(model.kl_to_posterior(xs, qm, qlv) >= 0)

# %% [markdown]
# ## D6.3 — Reconstruction minus regularisation
#
# Now split the joint the other way, $p(x,z)=p(x\mid z)\,p(z)$:
#
# $$\mathrm{ELBO}(q)=\mathbb E_q[\log p(x\mid z)]-\mathbb E_q\!\left[\log\frac{q(z\mid x)}{p(z)}\right]
#   =\underbrace{\mathbb E_q[\log p(x\mid z)]}_{\text{reconstruction}}
#    -\underbrace{\mathrm{KL}\big(q(z\mid x)\,\|\,p(z)\big)}_{\text{closed form, chapter 05}}.$$
#
# This is the form a VAE optimises: the first term is estimated with samples of $z$, the second
# is exact. (Some notes drop the log in the first term — erratum E2.) The check: a Monte-Carlo
# reconstruction term plus the closed-form KL reproduces the closed-form ELBO within 4 standard
# errors.

# %% demo=true
z = q_mean + np.exp(0.5 * q_logvar) * rng.standard_normal((S, 1, 2))
rec = model.log_likelihood_z(x1, z)[:, 0]          # log p(x | z_s), (S,)
elbo_mc = rec.mean() - kl_std_normal(q_mean, q_logvar)[0]
elbo_exact = model.elbo(x1, q_mean, q_logvar)[0]
print(f"reconstruction - KL = {elbo_mc:.5f}   closed-form ELBO = {elbo_exact:.5f}")
assert abs(elbo_mc - elbo_exact) < 4 * rec.std() / np.sqrt(S)

# %% [markdown]
# ## D6.4 — Energy plus entropy
#
# Keep the joint together instead and separate $\log q$:
#
# $$\mathrm{ELBO}(q)=\underbrace{\mathbb E_q[\log p(x,z)]}_{\text{energy}}
#    +\underbrace{\big(-\mathbb E_q[\log q(z\mid x)]\big)}_{\text{entropy }H[q]}.$$
#
# The energy pulls $q$ to where the joint is large; the entropy rewards spreading out, so $q$ does
# not collapse onto the single best $z$. For a diagonal Gaussian the entropy is
# $\tfrac12\sum_k(\log 2\pi+1+\log\sigma_k^2)$. Check: the Monte-Carlo energy plus this entropy gives
# the ELBO, and the Monte-Carlo entropy agrees with the formula (both within 4 standard errors).

# %% demo=true
energy = model.log_joint(x1, z)[:, 0]
neg_log_q = -model.log_q(z, q_mean, q_logvar)[:, 0]
H = gaussian_entropy(q_logvar)[0]
print(f"energy + entropy = {energy.mean() + H:.5f}   ELBO = {elbo_exact:.5f}")
assert abs(energy.mean() + H - elbo_exact) < 4 * energy.std() / np.sqrt(S)
assert abs(neg_log_q.mean() - H) < 4 * neg_log_q.std() / np.sqrt(S)

# %% [markdown]
# ## D6.5 — With θ fixed, q moves the bound, not the evidence
#
# Read the identity of D6.2 with the model parameters $\theta$ held fixed and only the variational
# parameters $\phi$ (here: the mean and log-variance of $q$) changing. The left side,
# $\log p_\theta(x)$, contains no $\phi$ at all. So every nat the ELBO gains is a nat taken off
# $\mathrm{KL}(q\,\|\,p(z\mid x))$: maximising the ELBO over $\phi$ pulls $q$ towards the
# **posterior** and tightens the bound, while $\log p_\theta(x)$ stays where it is (erratum E3 is
# about a sentence that says otherwise).
#
# We run gradient ascent on the exact ELBO over a diagonal $q$, starting at the prior. The posterior
# here has correlated coordinates, which no diagonal Gaussian can match: the ascent stops at the
# best diagonal $q$ (variances $1/\Lambda_{kk}$), and the gap that remains is
# $\mathrm{KL}(q^\star\,\|\,p(z\mid x))=\tfrac12\big(\sum_k\log\Lambda_{kk}-\log\lvert\Lambda\rvert\big)$.

# %% demo=true
traj = ascend_elbo(model, x1, lr=0.05, steps=250)
logp_t, elbo_t, kl_t = traj.log_evidence[:, 0], traj.elbo[:, 0], traj.kl[:, 0]
print(f"log p(x): {logp_t[0]:.6f} -> {logp_t[-1]:.6f}")
print(f"ELBO    : {elbo_t[0]:.6f} -> {elbo_t[-1]:.6f}")
print(f"gap     : {kl_t[0]:.6f} -> {kl_t[-1]:.6f}")
Lam = model.precision
floor = 0.5 * (np.sum(np.log(np.diag(Lam))) - np.linalg.slogdet(Lam)[1])
# The evidence never moves: ELBO and KL are two separate formulas of the moving q, and their sum
# stays put along the path, at the value of log p(x) that scipy computes from N(b, WW^T + s^2 I).
logp_scipy = multivariate_normal(model.b, model.W @ model.W.T + model.sigma2 * np.eye(model.x_dim)).logpdf(x1[0])
assert np.ptp(elbo_t + kl_t) < 1e-12 * abs(logp_scipy)
assert abs(logp_t[0] - logp_scipy) < 1e-12 * abs(logp_scipy)
assert np.all(np.diff(elbo_t) >= -1e-12)                      # the bound only rises
assert elbo_t[-1] - elbo_t[0] > 0.1 and kl_t[-1] < kl_t[0] - 0.1   # and it does move
assert np.max(np.abs(elbo_t + kl_t - logp_scipy)) < 1e-12 * abs(logp_scipy)   # D6.2 along the path
assert abs(kl_t[-1] - floor) < 1e-6 * max(1.0, kl_t[0])       # the mean-field floor

# %% demo=true
plot_elbo_gap(np.arange(len(elbo_t)), logp_t[0], elbo_t)

# %% [markdown]
# ## D6.6 — From KL to the posterior to "weighted squared error + KL"
#
# Selega's notes reach the VAE loss from the other end: start from the quantity we would like to
# make small, $\mathrm{KL}(q\,\|\,p(z\mid x))$, and expand the posterior with Bayes' rule,
#
# $$\mathrm{KL}\big(q\,\|\,p(z\mid x)\big)=\mathbb E_q\big[\log q(z\mid x)-\log p(x\mid z)-\log p(z)\big]+\log p(x)
#   =\mathrm{KL}\big(q\,\|\,p(z)\big)-\mathbb E_q[\log p(x\mid z)]+\log p(x).$$
#
# With a Gaussian likelihood $p(x\mid z)=\mathcal N(f(z),\,cI)$ the middle term is
# $-\mathbb E_q[\log p(x\mid z)]=\frac1{2c}\mathbb E_q\lVert x-f(z)\rVert^2+\frac D2\log 2\pi c$, so
#
# $$\mathrm{KL}\big(q\,\|\,p(z\mid x)\big)
#   =\underbrace{C\,\mathbb E_q\lVert x-\hat x\rVert^2+\mathrm{KL}\big(q\,\|\,p(z)\big)}_{\text{the loss}}
#   +\underbrace{\log p(x)+\tfrac D2\log 2\pi c}_{\text{independent of }q},\qquad C=\frac1{2c}.$$
#
# Minimising the loss over $q$ is therefore the same as minimising the KL to the posterior. In the
# linear-Gaussian model ($f(z)=Wz+b$, $c=\sigma^2$) the expected squared error has a closed form: for
# $q=\mathcal N(m,\operatorname{diag}s^2)$,
# $\mathbb E_q\lVert x-Wz-b\rVert^2=\lVert x-b-Wm\rVert^2+\sum_k s_k^2\lVert W_{:k}\rVert^2$.
# Check: "KL to the posterior minus the loss" is the same number for 200 different $q$'s, and that
# number is $\log p(x)+\frac D2\log 2\pi c$.

# %% demo=true
c = model.sigma2
C = 1 / (2 * c)
sq_err = (np.sum((xs - model.b - qm @ model.W.T) ** 2, axis=1)
          + np.exp(qlv) @ np.sum(model.W ** 2, axis=0))
loss = C * sq_err + kl_std_normal(qm, qlv)
offset = model.kl_to_posterior(xs, qm, qlv) - loss
const = log_px[0] + 0.5 * model.x_dim * (LOG_2PI + np.log(c))
print(f"offset over {n_q} q's: min {offset.min():.10f}, max {offset.max():.10f}; "
      f"log p(x) + D/2 log 2 pi c = {const:.10f}")
assert np.max(np.abs(offset - const)) < 1e-10 * np.max(np.abs(loss))

# %% [markdown]
# ## Try this
#
# 1. Replace the poor $q$ of D6.1 by the posterior mean with the mean-field variances
#    (`model.encode(x1)`): how close do $\log\mathbb E_q[w]$ and $\mathbb E_q[\log w]$ get?
# 2. Change `x_dim` (2, 6, 20, 100) in `LinearGaussian.random` and watch the floor of the gap in
#    D6.5: it *falls* (averaged over 5 000 seeds of `LinearGaussian.random`, 0.169 ± 0.003 nats
#    at `x_dim=2`, 0.087 at 6, 0.026 at 20 and 0.0052 at 100; single models scatter widely around
#    these means, the median is about half of each), because the
#    columns of a random $W$ become nearly orthogonal as $D$ grows, so $\Lambda=I+W^\top W/\sigma^2$
#    becomes nearly diagonal. Now shrink `sigma2` instead: does the floor grow? Why can a diagonal
#    $q$ never reach it while $\Lambda$ has off-diagonal terms?
# 3. In D6.5, start the ascent somewhere else (`q_mean0=...`): does it end at the same ELBO?
# 4. Take a step size `lr` above $2/\lambda_{\max}(\Lambda)$ and explain what the plot shows.
# 5. In D6.6, change $c$ by building a model with another `sigma2`; which of the two parts of the
#    loss grows when $c$ shrinks?

# %% [markdown]
# ## Exercises
#
# Write each function below in place of `raise NotImplementedError()`, then run the cell after it:
# it grades your function against numerical integration and, if something is off, says in one
# sentence what. Points are in each heading. The model is the one-dimensional linear-Gaussian
# model $z\sim\mathcal N(0,1)$, $x\mid z\sim\mathcal N(wz+b,\,s^2)$, with
# $q(z)=\mathcal N(m,\,e^{\mathrm{logvar}})$.

# %%
from elbo_edu.course.checks import (check_elbo_gap, check_elbo_linear_gaussian,
                                    check_gaussian_entropy)

# %% [markdown]
# ### Exercise 6.1 — The ELBO in closed form (3 points)
#
# Return $\mathbb E_q[\log p(x\mid z)]+\mathbb E_q[\log p(z)]+H[q]$ for scalars.

# %% solution="ex06_1"
def elbo_linear_gaussian(x, w, b, s2, m, logvar):
    """The ELBO of the 1-D linear-Gaussian model for q = N(m, e^logvar)."""
    ### BEGIN SOLUTION
    v = np.exp(logvar)
    recon = -0.5 * (np.log(2 * np.pi * s2) + ((x - w * m - b) ** 2 + w * w * v) / s2)
    prior = -0.5 * (np.log(2 * np.pi) + m * m + v)
    entropy = 0.5 * (np.log(2 * np.pi) + 1.0 + logvar)
    return recon + prior + entropy
    ### END SOLUTION

# %% grade="ex06_1" points=3
check_elbo_linear_gaussian(elbo_linear_gaussian)
### BEGIN HIDDEN TESTS
check_elbo_linear_gaussian(elbo_linear_gaussian, seed=61)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 6.2 — The entropy of a Gaussian (2 points)
#
# Return $H[\mathcal N(\mu, e^{\mathrm{logvar}})]$ element-wise.

# %% solution="ex06_2"
def gaussian_entropy_mine(logvar):
    """Entropy of N(mu, e^logvar), element-wise (it does not depend on mu)."""
    ### BEGIN SOLUTION
    return 0.5 * (np.log(2 * np.pi) + 1.0 + logvar)
    ### END SOLUTION

# %% grade="ex06_2" points=2
check_gaussian_entropy(gaussian_entropy_mine)
### BEGIN HIDDEN TESTS
check_gaussian_entropy(gaussian_entropy_mine, seed=62)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 6.3 — The gap (3 points)
#
# Return $\log p(x)-\mathrm{ELBO}$ without computing either term: it is a KL divergence between two
# Gaussians you know in closed form.

# %% solution="ex06_3"
def elbo_gap(x, w, b, s2, m, logvar):
    """log p(x) - ELBO(q) = KL(q || p(z | x)) for the 1-D linear-Gaussian model."""
    ### BEGIN SOLUTION
    pv = s2 / (s2 + w * w)                       # posterior variance
    pm = pv * w * (x - b) / s2                   # posterior mean
    v = np.exp(logvar)
    return 0.5 * (np.log(pv) - logvar + (v + (m - pm) ** 2) / pv - 1.0)
    ### END SOLUTION

# %% grade="ex06_3" points=3
check_elbo_gap(elbo_gap)
### BEGIN HIDDEN TESTS
check_elbo_gap(elbo_gap, seed=63)
### END HIDDEN TESTS
