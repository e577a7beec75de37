# %% [markdown]
# # Chapter 08 — The reparameterization trick
#
# **Derivation steps covered:** D8.1, D8.2, D8.3
#
# The ELBO of chapter 06 is an expectation under $q_\phi(z\mid x)$, and training needs its gradient
# with respect to $\phi$ — the parameters of the very distribution we average over. A sample
# $z\sim q_\phi$ is a number drawn at random; it has no derivative with respect to $\phi$. This chapter
# shows two ways out. The **score-function** estimator differentiates the density instead of the
# sample; the **pathwise** estimator (the reparameterization trick of Kingma & Welling, *An
# Introduction to Variational Autoencoders*, and of Doersch, *Tutorial on Variational Autoencoders*)
# rewrites the sample as a differentiable function of $\phi$ and of noise that does not depend on
# $\phi$. Both are unbiased; we measure how differently they scatter. Finally we compare the two
# ways of handling the KL term inside the objective: closed form or sampled.

# %% demo=true
import numpy as np

from elbo_edu.data import load_dataset
from elbo_edu.distributions import kl_std_normal, reparameterize, reparameterize_grad
from elbo_edu.estimators import Quadratic, mc_kl_normal, pathwise_gradient, score_function_gradient
from elbo_edu.gradcheck import check_function
from elbo_edu.plots import plot_estimator_variance
from elbo_edu.vae import VAE

rng = np.random.default_rng(8)

# %% [markdown]
# ## D8.1 — Sampling as a differentiable map
#
# If $\varepsilon\sim\mathcal N(0, I)$ then $z=\mu+\sigma\odot\varepsilon$ has exactly the distribution
# $\mathcal N(\mu,\operatorname{diag}\sigma^2)$: shifting and scaling a standard normal gives a normal
# with that mean and standard deviation. The randomness now sits in $\varepsilon$, which does not
# depend on the parameters, and $z$ is an ordinary function of $(\mu,\log\sigma^2)$. With
# $\sigma=e^{\frac12\log\sigma^2}$ its partial derivatives are
#
# $$\frac{\partial z}{\partial\mu}=1,\qquad
#   \frac{\partial z}{\partial\log\sigma^2}=\tfrac12\,e^{\frac12\log\sigma^2}\,\varepsilon=\tfrac12\sigma\varepsilon,$$
#
# element by element. Two checks: the samples have the intended mean and variance (within 4
# standard errors), and the hand-written vector–Jacobian products agree with central finite
# differences (relative error below $10^{-7}$, float64).

# %% demo=true
mu, logvar = np.array([1.5, -0.5, 0.0]), np.array([0.4, -1.2, 0.0])
S = 100_000
z = reparameterize(np.broadcast_to(mu, (S, 3)), np.broadcast_to(logvar, (S, 3)),
                   rng.standard_normal((S, 3)))
var = np.exp(logvar)
print("sample mean", z.mean(0).round(4), "  target", mu)
print("sample var ", z.var(0).round(4), "  target", var.round(4))
assert np.all(np.abs(z.mean(0) - mu) < 4 * np.sqrt(var / S))
assert np.all(np.abs(z.var(0) - var) < 4 * var * np.sqrt(2 / S))   # SE of a sample variance

report = check_function("reparameterize", reparameterize,
                        lambda mu, logvar, eps, grad_out: reparameterize_grad(mu, logvar, eps, grad_out),
                        {"mu": rng.normal(size=(4, 3)), "logvar": rng.normal(size=(4, 3)),
                         "eps": rng.normal(size=(4, 3))}, rng=rng)
print(report)
assert report.passed

# %% [markdown]
# ## D8.2 — Score function against pathwise: both unbiased, very different variances
#
# We want $\nabla_{\mu,\log\sigma^2}\,\mathbb E_{q}[f(z)]$ for $q=\mathcal N(\mu,\operatorname{diag}\sigma^2)$.
#
# **Score function.** Move the gradient onto the density and use
# $\nabla q=q\,\nabla\log q$:
# $\nabla\mathbb E_q[f]=\int f\,\nabla q\,dz=\mathbb E_q\big[f(z)\,\nabla\log q(z)\big]$, with
# $\partial_\mu\log q=\varepsilon/\sigma$ and $\partial_{\log\sigma^2}\log q=\tfrac12(\varepsilon^2-1)$.
# It needs only *values* of $f$. Because $\mathbb E_q[\nabla\log q]=0$, subtracting any constant
# baseline $b$ from $f$ keeps it unbiased.
#
# **Pathwise.** Write the expectation over $\varepsilon$ and differentiate inside it (D8.1):
# $\nabla_\mu\mathbb E[f(\mu+\sigma\varepsilon)]=\mathbb E[\nabla f(z)]$ and
# $\nabla_{\log\sigma^2}=\mathbb E[\nabla f(z)\odot\tfrac12\sigma\varepsilon]$. It needs $\nabla f$ —
# which backpropagation through the decoder supplies.
#
# With a quadratic $f(z)=\sum_d a_dz_d^2+c_dz_d$ the exact gradient is known
# ($\partial_{\mu_d}=2a_d\mu_d+c_d$, $\partial_{\log\sigma^2_d}=a_d\sigma_d^2$). Using the **same**
# noise for both estimators, each average must land within 4 standard errors of it; then we compare
# the variances of a single-sample estimate.
#
# Two caveats. The baseline used here, $b=\mathbb E_q[f]$, is an **oracle**: it is the exact
# expectation we are trying to differentiate, available only because $f$ is a known quadratic. In
# practice a baseline is itself estimated (a running average of $f$, or a learned function), and
# does less. And pathwise is **not always** the lower-variance estimator: it wins here because $f$
# is smooth with a gradient of moderate size; for an $f$ whose gradient is large where its value
# changes little (e.g. $f(z)=\sin(\omega z)$ with a large $\omega$) the score function can do
# better — the cell after the plot shows one such case.

# %% demo=true
f = Quadratic(a=np.array([1.0, -0.5, 2.0]), c=np.array([3.0, 1.0, -2.0]))
eps = rng.standard_normal((S, 3))
sf = score_function_gradient(f, mu, logvar, eps=eps)
sf_b = score_function_gradient(f, mu, logvar, eps=eps, baseline=f.expectation(mu, logvar))
pw = pathwise_gradient(f.grad, mu, logvar, eps=eps)
exact = f.expectation_grad(mu, logvar)
for name, est in (("score", sf), ("score+baseline", sf_b), ("pathwise", pw)):
    for got, se, want in zip(est.mean, est.standard_error, exact):
        assert np.all(np.abs(got - want) < 4 * se + 1e-12), name
var_sf, var_sfb, var_pw = (float(np.sum(e.variance[0])) for e in (sf, sf_b, pw))
print(f"variance of the mu-gradient (summed over dims): score {var_sf:.1f}, "
      f"score+baseline {var_sfb:.1f}, pathwise {var_pw:.2f}  (ratio {var_sf / var_pw:.0f}x)")
assert var_pw < var_sfb < var_sf

# %% demo=true
plot_estimator_variance(["score function", "score function\n+ baseline", "pathwise"],
                        [var_sf, var_sfb, var_pw])

# %% demo=true
# A case where pathwise loses: f(z) = sin(w z) in one dimension, q = N(0, 1), w = 10 (the expected
# value is exp(-w^2/2) sin(0) ~ 0, its derivative in mu is w exp(-w^2/2) ~ 2e-21). The pathwise
# samples w cos(w z) have variance ~ w^2 / 2 = 50; the score-function samples sin(w z) * z
# have variance E[sin^2(w z) z^2] ~ 1/2.
w_hi = 10.0
e1 = rng.standard_normal(200_000)
pathwise_samples = w_hi * np.cos(w_hi * e1)                 # d/dmu f(mu + sigma eps) at mu = 0, sigma = 1
score_samples = np.sin(w_hi * e1) * e1                       # f(z) * d/dmu log q(z) at mu = 0
print(f"sin(10 z): variance pathwise {pathwise_samples.var():.1f}, score function {score_samples.var():.2f}")
assert score_samples.var() < 0.1 * pathwise_samples.var()
for smp in (pathwise_samples, score_samples):               # both unbiased for ~0
    assert abs(smp.mean()) < 4 * smp.std() / np.sqrt(len(smp))

# %% [markdown]
# ## D8.3 — The KL term: closed form or Monte Carlo
#
# The ELBO's regulariser $\mathrm{KL}(q\,\|\,p(z))$ is itself an expectation,
# $\mathbb E_q[\log q(z\mid x)-\log p(z)]$, so it could be estimated with the same samples as the
# reconstruction term. For a Gaussian $q$ and a standard normal prior chapter 05 gave it in closed
# form, $\tfrac12\sum_d(\sigma_d^2+\mu_d^2-\log\sigma_d^2-1)$, which removes that term's sampling
# noise altogether. First, the Monte-Carlo KL agrees with the closed form within 4 standard errors:

# %% demo=true
kl_mc, kl_se = mc_kl_normal(mu, logvar, np.zeros(3), np.zeros(3), S, rng)
kl_exact = float(kl_std_normal(mu[None], logvar[None])[0])
print(f"Monte-Carlo KL {kl_mc:.4f} +- {kl_se:.4f}   closed form {kl_exact:.4f}")
assert abs(kl_mc - kl_exact) < 4 * kl_se

# %% [markdown]
# Inside a VAE objective, per data point and per noise draw, the two versions are
#
# $$\hat{\mathcal L}_{\text{closed}}=\log p(x\mid z)-\mathrm{KL}(q\,\|\,p(z)),\qquad
#   \hat{\mathcal L}_{\text{MC}}=\log p(x\mid z)+\log p(z)-\log q(z\mid x),\qquad z=\mu+\sigma\varepsilon.$$
#
# Both have the same expectation, the ELBO. Which one scatters less is an empirical question: the
# closed form removes the KL's own noise, but the sampled KL is correlated with the reconstruction
# term, and when $q$ equals the true posterior $\hat{\mathcal L}_{\text{MC}}=\log p(x)$ for every sample.
# We measure it on an untrained VAE and a few MNIST digits (means agree within 4 standard errors of
# their difference).

# %% demo=true
data = load_dataset("embedded")
xb = data.x_train[:8].astype(np.float64)
vae = VAE(784, 8, hidden=(64,), dtype=np.float64, rng=np.random.default_rng(0))
m, lv = vae.encode(xb)
K = 4000
zs = m + np.exp(0.5 * lv) * rng.standard_normal((K,) + m.shape)     # (K, 8 digits, 8)
rec = vae.log_likelihood(xb, vae.decode(zs))                          # (K, 8)
closed = rec - kl_std_normal(m, lv)
sampled = rec + vae.log_prior(zs) - vae.log_q(zs, m, lv)
diff = closed - sampled
assert np.all(np.abs(diff.mean(0)) < 4 * diff.std(0, ddof=1) / np.sqrt(K))
print("per-digit variance, closed-form KL:", closed.var(0).round(2))
print("per-digit variance, sampled KL    :", sampled.var(0).round(2))

# %% [markdown]
# ## Try this
#
# 1. Give $f$ a large constant offset (add 100 to it): what happens to the score-function variance,
#    and to the pathwise one? Why does a baseline help?
# 2. Raise the latent dimension of D8.2 to 50 (random `a`, `c`): how does the variance ratio grow?
# 3. Replace the quadratic by $f(z)=\lVert z\rVert$ (write its gradient by hand) and repeat D8.2.
# 4. In D8.3, train the VAE for a few hundred steps first (chapter 09) and measure again: does the
#    sampled KL become competitive as $q$ approaches the posterior?

# %% [markdown]
# ## Exercises
#
# Write each function below in place of `raise NotImplementedError()`, then run the cell after it:
# it grades your function against finite differences, exact arithmetic and many samples and, if
# something is off, says in one sentence what. Points are in each heading.

# %%
from elbo_edu.course.checks import (check_reparameterize, check_reparameterize_grad,
                                    check_score_function_grad)

# %% [markdown]
# ### Exercise 8.1 — The reparameterization (2 points)
#
# Return $z=\mu+\sigma\odot\varepsilon$ with $\sigma=e^{\mathrm{logvar}/2}$ (all arrays of one shape).

# %% solution="ex08_1"
def reparameterize_mine(mu, logvar, eps):
    """A sample z of N(mu, exp(logvar)) made from the standard-normal noise eps; shape of mu."""
    ### BEGIN SOLUTION
    return mu + np.exp(0.5 * logvar) * eps
    ### END SOLUTION

# %% grade="ex08_1" points=2
check_reparameterize(reparameterize_mine)
### BEGIN HIDDEN TESTS
check_reparameterize(reparameterize_mine, seed=81)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 8.2 — Its gradient (3 points)
#
# Given the upstream gradient `dz` $=\partial L/\partial z$, return `(dmu, dlogvar)`.

# %% solution="ex08_2"
def reparameterize_grad_mine(mu, logvar, eps, dz):
    """(dL/dmu, dL/dlogvar) for z = mu + exp(logvar / 2) * eps and dL/dz = dz."""
    ### BEGIN SOLUTION
    return dz.copy(), dz * 0.5 * np.exp(0.5 * logvar) * eps
    ### END SOLUTION

# %% grade="ex08_2" points=3
check_reparameterize_grad(reparameterize_grad_mine)
### BEGIN HIDDEN TESTS
check_reparameterize_grad(reparameterize_grad_mine, seed=82)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 8.3 — The score-function estimator (3 points)
#
# For scalars $\mu$, `logvar`, samples $z_k=\mu+\sigma\varepsilon_k$ and a function `f` that maps an
# array to an array, return the score-function estimate of $\partial_\mu\,\mathbb E_q[f(z)]$:
# $\frac1K\sum_k f(z_k)\,\partial_\mu\log q(z_k)$.

# %% solution="ex08_3"
def score_function_grad(f, mu, logvar, eps):
    """Score-function (REINFORCE) estimate of d/dmu E_{N(mu, e^logvar)}[f(z)]."""
    ### BEGIN SOLUTION
    z = mu + np.exp(0.5 * logvar) * eps
    return np.mean(f(z) * (z - mu) / np.exp(logvar))
    ### END SOLUTION

# %% grade="ex08_3" points=3
check_score_function_grad(score_function_grad)
### BEGIN HIDDEN TESTS
check_score_function_grad(score_function_grad, seed=83)
### END HIDDEN TESTS
