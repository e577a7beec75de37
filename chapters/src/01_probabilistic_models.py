# %% [markdown]
# # Chapter 01 — Probabilistic models and maximum likelihood
#
# **Derivation steps covered:** D1.1, D1.2, D1.3, D1.4, D1.5
#
# A variational autoencoder is, first of all, a probabilistic model of data fitted by maximum
# likelihood. Before any latent variable appears, this chapter collects the pieces that the rest of
# the course builds on: Bayes' rule (the posterior we will later have to approximate), two ways of
# turning samples into a density (a Gaussian fitted by maximum likelihood and a kernel density
# estimate), why the log-likelihood of independent data is a sum, and why that sum can be
# optimised with noisy minibatch gradients.
#
# The material follows the first section of the lecture notes "Variational Auto Encoders", which in
# turn follow Kingma & Welling, *An Introduction to Variational Autoencoders* (2019), §1. Every
# step is checked by computing both sides of the equation with the package and asserting that they
# agree to a stated tolerance.

# %% demo=true
import numpy as np
import matplotlib.pyplot as plt
from scipy import integrate

from elbo_edu.estimators.density_estimation import (
    fit_gaussian_ascent, gaussian_mle, heldout_bandwidth, kde_log_density, log_likelihood,
    log_likelihood_grad, minibatch_gradient, minibatch_gradients, scott_bandwidth,
    silverman_bandwidth,
)
from elbo_edu.distributions import gaussian_log_prob
from elbo_edu.gradcheck import numerical_gradient, rel_error
from elbo_edu.estimators.grid import log_integral, make_grid
from elbo_edu.models.linear_gaussian import LinearGaussian

rng = np.random.default_rng(1)

# %% [markdown]
# ## D1.1 — Bayes' rule for the posterior
#
# A model with an unobserved variable $z$ and an observed variable $x$ is specified by a prior
# $p(z)$ and a likelihood $p(x\mid z)$; their product is the joint $p(x,z)$. Writing the joint in
# the two possible orders, $p(x,z)=p(z\mid x)\,p(x)=p(x\mid z)\,p(z)$, and dividing by $p(x)$ gives
#
# $$p(z\mid x)=\frac{p(x,z)}{p(x)}=\frac{p(x\mid z)\,p(z)}{\int p(x\mid z')\,p(z')\,dz'} .$$
#
# The numerator is easy: it is the model. The denominator, the **evidence** $p(x)$, is an integral
# over every possible $z$ — keep an eye on it, it is the source of all the difficulty in chapter 03.
#
# We test the rule on the one latent-variable model where everything is known in closed form: the
# linear-Gaussian model $z\sim\mathcal N(0,1)$, $x\mid z\sim\mathcal N(wz+b,\sigma^2)$
# (`elbo_edu.models.LinearGaussian`, studied in depth in chapter 06). We evaluate the joint on a
# fine grid of $z$ values, integrate it numerically to get $p(x)$, divide, and compare with the
# exact posterior and evidence.

# %% demo=true
model = LinearGaussian(W=np.array([[1.5]]), b=np.array([0.5]), sigma2=0.4)
x = np.array([[2.0]])                                   # one observation, shape (N=1, D=1)

grid = make_grid(-10.0, 10.0, 4001, dim=1)              # z values, shape (G, 1)
log_joint = model.log_joint(x, grid.points[:, None, :])[:, 0]       # log p(x, z_g), shape (G,)
log_evidence_grid = float(log_integral(log_joint, grid))            # log of the integral over z
log_posterior_grid = log_joint - log_evidence_grid                  # Bayes' rule

post_mean, post_cov = model.posterior(x)
log_posterior_exact = gaussian_log_prob(grid.points, post_mean[0], np.log(post_cov[0]))

print(f"log p(x): grid {log_evidence_grid:.12f}   exact {float(model.log_evidence(x)[0]):.12f}")
assert abs(log_evidence_grid - model.log_evidence(x)[0]) < 1e-10
# compare densities where the posterior has non-negligible mass (|log p| would amplify rounding far out)
inside = log_posterior_exact > -30
assert np.max(np.abs(log_posterior_grid[inside] - log_posterior_exact[inside])) < 1e-9
# the product rule both ways: p(z|x) p(x) = p(x|z) p(z)
lhs = log_posterior_exact + model.log_evidence(x)[0]
rhs = model.log_likelihood_z(x, grid.points[:, None, :])[:, 0] - 0.5 * (np.log(2 * np.pi) + grid.points[:, 0] ** 2)
assert np.max(np.abs(lhs - rhs)) < 1e-9

# %% [markdown]
# ## D1.2 — Maximum likelihood for a Gaussian: closed form and gradient ascent
#
# Given data $x_1,\dots,x_N\in\mathbb R^d$, a diagonal Gaussian assigns the log-likelihood
#
# $$\ell(\mu,s)=\sum_{i=1}^N\sum_{j=1}^d-\tfrac12\Big[\log 2\pi+s_j+(x_{ij}-\mu_j)^2e^{-s_j}\Big],
#   \qquad s_j=\log\sigma_j^2 .$$
#
# Its gradient is
# $\partial\ell/\partial\mu_j=\sum_i(x_{ij}-\mu_j)/\sigma_j^2$ and
# $\partial\ell/\partial s_j=\tfrac12\sum_i\big[(x_{ij}-\mu_j)^2/\sigma_j^2-1\big]$. Setting both to
# zero gives the **closed form**: the sample mean $\hat\mu=\frac1N\sum_ix_i$ and the sample variance
# with divisor $N$, $\hat\sigma_j^2=\frac1N\sum_i(x_{ij}-\hat\mu_j)^2$.
#
# When no closed form exists (the usual case for neural networks) we climb the gradient instead.
# For this model both routes must arrive at the same point. First the hand-written gradient is
# checked against finite differences, then the two fits are compared.

# %% demo=true
true_mean, true_sd = np.array([1.0, -2.0]), np.array([0.8, 1.5])
data = true_mean + true_sd * rng.standard_normal((500, 2))

mean0, logvar0 = np.array([0.3, 0.1]), np.array([-0.2, 0.4])
dmean, dlogvar = log_likelihood_grad(data, mean0, logvar0)
num_dmean = numerical_gradient(lambda m: log_likelihood(data, m, logvar0), mean0.copy())
num_dlogvar = numerical_gradient(lambda s: log_likelihood(data, mean0, s), logvar0.copy())
print(f"gradient check: rel. error {rel_error(dmean, num_dmean):.1e} (mean), "
      f"{rel_error(dlogvar, num_dlogvar):.1e} (logvar)")
assert rel_error(dmean, num_dmean) < 1e-7 and rel_error(dlogvar, num_dlogvar) < 1e-7

# %% demo=true
mle_mean, mle_logvar = gaussian_mle(data)
fit = fit_gaussian_ascent(data, lr=0.3, steps=400)
print("closed form :", mle_mean, np.exp(mle_logvar))
print("gradient asc:", fit.mean, np.exp(fit.logvar))
assert np.allclose(mle_mean, data.mean(axis=0), atol=1e-14)
assert np.allclose(np.exp(mle_logvar), data.var(axis=0), rtol=1e-12)      # divisor N (ddof=0)
assert np.max(np.abs(fit.mean - mle_mean)) < 1e-8
assert np.max(np.abs(fit.logvar - mle_logvar)) < 1e-8
assert np.all(np.diff(fit.history) >= -1e-12)          # every ascent step raised the likelihood
g_mean, g_logvar = log_likelihood_grad(data, mle_mean, mle_logvar)
assert np.max(np.abs(np.concatenate([g_mean, g_logvar]))) < 1e-9   # stationary point

# %% demo=true
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.plot(fit.history, label="gradient ascent")
ax.axhline(log_likelihood(data, mle_mean, mle_logvar) / len(data), color="k", ls="--",
           label="closed-form maximum")
ax.set_xlabel("step"); ax.set_ylabel("average log-likelihood"); ax.set_xscale("symlog")
ax.legend(); fig.tight_layout()

# %% [markdown]
# ## D1.3 — A nonparametric density: the kernel density estimate integrates to one
#
# Instead of choosing a family, put a small bump on every data point. With a kernel $K$ that is
# itself a density (here the standard normal) and a bandwidth $h>0$,
#
# $$\hat p(x)=\frac1{N h^d}\sum_{i=1}^N K\!\Big(\frac{x-x_i}{h}\Big).$$
#
# Why is this a density? Substituting $u=(x-x_i)/h$ turns each term's integral into
# $\int K(u)\,du=1$ (the Jacobian $h^d$ cancels the prefactor), and the average of $N$ ones is
# one. We check this by quadrature in 1-D (adaptive) and 2-D (a fine grid), for the bandwidth rules
# the package offers: Scott's, Silverman's, and the one that maximises the likelihood of
# held-out points.

# %% demo=true
data1 = np.concatenate([rng.normal(-2, 0.5, 150), rng.normal(1.5, 1.0, 250)])[:, None]
train, val = data1[:300], data1[300:]
h_held, scores = heldout_bandwidth(train, val, np.geomspace(0.05, 2.0, 25))
bandwidths = {"Scott": scott_bandwidth(train), "Silverman": silverman_bandwidth(train),
              "held-out": h_held, "narrow": 0.05}
for name, h in bandwidths.items():
    f = lambda t, h=h: float(np.exp(kde_log_density(np.array([[t]]), train, h))[0])
    mass, err = integrate.quad(f, -12, 12, points=sorted(train[:, 0])[::15], limit=500,
                               epsabs=1e-12, epsrel=1e-10)
    print(f"{name:10s} h = {h:.4f}   integral = {mass:.12f}")
    assert abs(mass - 1.0) < 1e-8

# %% demo=true
data2 = np.column_stack([data1[:300, 0], 0.5 * data1[:300, 0] + rng.normal(0, 0.7, 300)])
h2 = scott_bandwidth(data2)
g2 = make_grid(-10.0, 10.0, 501, dim=2)               # spacing 0.04, well below h
log_mass = log_integral(kde_log_density(g2.points, data2, h2), g2)
print(f"2-D KDE, h = {h2:.3f}: integral over the grid = {np.exp(log_mass):.12f}")
assert abs(np.exp(log_mass) - 1.0) < 1e-8

# %% [markdown]
# The bandwidth controls the fit: too narrow and every point is its own spike (the density is very
# high at the training points — their log-likelihood grows without bound as $h\to0$ — and near zero
# between them, so held-out points score badly), too wide and the two modes blur into one. The
# held-out score picks a value in between.

# %% demo=true
t = np.linspace(-5, 6, 600)[:, None]
fig, ax = plt.subplots(figsize=(6, 3.4))
ax.hist(train[:, 0], bins=40, density=True, color="0.85", label="training data")
for name, h in bandwidths.items():
    ax.plot(t[:, 0], np.exp(kde_log_density(t, train, h)), label=f"KDE, {name} (h={h:.2f})")
m, s = gaussian_mle(train)
ax.plot(t[:, 0], np.exp(gaussian_log_prob(t, m, s)), "k--", label="Gaussian MLE")
ax.set_ylim(0, 0.8); ax.set_xlabel("x"); ax.set_ylabel("density"); ax.legend(fontsize=7)
fig.tight_layout()

# %% [markdown]
# ## D1.4 — The i.i.d. log-likelihood is a sum over data points
#
# If the data points are independent draws from the same model, the probability of the whole
# data set is the product of the individual densities, and the log turns that product into a sum:
#
# $$\log p_\theta(x_1,\dots,x_N)=\log\prod_{i=1}^N p_\theta(x_i)=\sum_{i=1}^N\log p_\theta(x_i).$$
#
# Two consequences. The gradient of a sum is a sum of per-point gradients (D1.5 exploits that).
# And it is the sum of logs that a computer can evaluate: a product of a few thousand densities
# below one underflows to exactly 0 in floating point, while the sum of their logs is an ordinary
# number.

# %% demo=true
small = data[:20]
per_point = gaussian_log_prob(small, mle_mean, mle_logvar)              # (20,)
as_product = np.log(np.prod(np.exp(per_point)))
assert abs(log_likelihood(small, mle_mean, mle_logvar) - per_point.sum()) < 1e-12
assert abs(as_product - per_point.sum()) < 1e-10
# the whole data set seen as one long vector with independent coordinates: the same number
one_vector = gaussian_log_prob(small.reshape(1, -1), np.tile(mle_mean, 20), np.tile(mle_logvar, 20))
assert abs(one_vector[0] - per_point.sum()) < 1e-10

many = true_mean + true_sd * rng.standard_normal((5000, 2))
dens = np.exp(gaussian_log_prob(many, mle_mean, mle_logvar))
print("product of 5000 densities:", np.prod(dens), "   sum of logs:", log_likelihood(many, mle_mean, mle_logvar))
assert np.prod(dens) == 0.0 and np.isfinite(log_likelihood(many, mle_mean, mle_logvar))

# %% [markdown]
# ## D1.5 — The rescaled minibatch gradient is unbiased
#
# Let $g_i=\nabla_\theta\log p_\theta(x_i)$, so the full gradient is $G=\sum_{i=1}^Ng_i$. Draw a
# minibatch $B$ of $M$ distinct indices uniformly at random and form
# $\hat G=\frac NM\sum_{i\in B}g_i$. Every index lands in the batch with probability $M/N$, so by
# linearity of expectation
#
# $$\mathbb E[\hat G]=\frac NM\sum_{i=1}^N\Pr(i\in B)\,g_i=\frac NM\cdot\frac MN\sum_{i=1}^N g_i=G .$$
#
# The factor $N/M$ is what makes the estimate unbiased: the lecture notes call the plain minibatch
# sum $\sum_{i\in B}g_i$ an unbiased estimate of $G$, but they omit $N/M$, and without it the
# expectation is $\frac MN G$ (erratum E9; the package's unscaled control shows the bias).
# Averaging over the batch instead, $\frac1M\sum_{i\in B}g_i$, is unbiased for the *mean*
# gradient $G/N$ — the same direction, which is what training loops use.
#
# Two checks. (a) *Exactly*: if the batches of one shuffled epoch partition the data, the average of
# their $N/M$ rescaled gradients is $G$ up to rounding. (b) *Statistically*: the average of $K$
# independent minibatch gradients is within a few standard errors of $G$. The standard error of
# each component is estimated from the $K$ draws as $\mathrm{sd}/\sqrt K$; with a fixed seed we
# allow 4 standard errors (a two-sided normal tail of about $6\times10^{-5}$ per component).

# %% demo=true
theta_mean, theta_logvar = np.array([0.5, -1.0]), np.array([0.2, 1.0])   # not the optimum
full = np.concatenate(log_likelihood_grad(data, theta_mean, theta_logvar))

N, M = len(data), 50
perm = rng.permutation(N)
epoch = [np.concatenate(minibatch_gradient(data, theta_mean, theta_logvar, perm[k:k + M]))
         for k in range(0, N, M)]
print("epoch average:", np.mean(epoch, axis=0), "\nfull gradient:", full)
assert rel_error(np.mean(epoch, axis=0), full) < 1e-12

K = 4000
draws = minibatch_gradients(data, theta_mean, theta_logvar, M, K, rng)      # (K, 4)
se = draws.std(axis=0, ddof=1) / np.sqrt(K)
z_scores = (draws.mean(axis=0) - full) / se
print("z-scores of the minibatch average:", np.round(z_scores, 2))
assert np.all(np.abs(z_scores) < 4)

# %% demo=true
# The price of the cheap estimate is noise, which shrinks as the batch grows (and is zero at M = N).
spread = {m: minibatch_gradients(data, theta_mean, theta_logvar, m, 400, rng).std(axis=0).mean()
          for m in (10, 50, 250, 500)}
print({m: round(s, 3) for m, s in spread.items()})
assert spread[10] > spread[50] > spread[250] > spread[500] and spread[500] < 1e-9

# %% [markdown]
# ## Try this
#
# 1. D1.1: move the observation far into the tail (`x = [[8.0]]`). The posterior moves right and
#    the grid still gives the exact evidence — until it stops covering the posterior. Shrink the
#    grid to `make_grid(-3, 3, ...)` and watch the assert fail.
# 2. D1.2: raise `lr` in `fit_gaussian_ascent` to 1.0, 1.5, 3.0. The update of the mean multiplies
#    its error by $1-\eta/\sigma^2$ each step, so it converges only while $\eta<2\sigma^2$: find
#    the value at which the history stops rising, and relate it to the smaller of the two variances.
# 3. D1.3: compare `heldout_bandwidth` with Scott's rule on the bimodal data, then on 300 points
#    from a single Gaussian. Which rule is better when its Gaussian assumption is wrong?
# 4. D1.4: compute the product of densities in float32 (`dens.astype(np.float32)`): how many data
#    points does it take to underflow?
# 5. D1.5: replace `M = 50` by `M = 1` and count how many minibatch draws are needed before the
#    z-scores stay below 4. The estimator is still unbiased; only its variance changed.

# %% [markdown]
# ## Exercises
#
# Write each function below in place of `raise NotImplementedError()`, then run the cell after it:
# that cell grades your function against values computed independently (by quadrature, finite
# differences or a closed form evaluated another way) and, if something is off, says in one
# sentence what. The points of each exercise are in its heading.

# %%
from elbo_edu.course.checks import (check_gaussian_mle, check_kde_log_density,
                                    check_minibatch_gradient)

# %% [markdown]
# ### Exercise 1.1 — Gaussian maximum likelihood (2 points)
#
# Return the maximum-likelihood estimates $(\hat\mu, \hat\sigma^2)$ of a univariate Gaussian for the
# sample `x` of shape `(N,)`, as the pair `(mean, var)` of floats.

# %% solution="ex01_1"
def gaussian_mle(x):
    """Maximum-likelihood mean and variance of the 1-D sample ``x`` (N,)."""
    ### BEGIN SOLUTION
    mean = np.mean(x)
    return mean, np.mean((x - mean) ** 2)
    ### END SOLUTION

# %% grade="ex01_1" points=2
check_gaussian_mle(gaussian_mle)
### BEGIN HIDDEN TESTS
check_gaussian_mle(gaussian_mle, seed=11)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 1.2 — The kernel density estimate (3 points)
#
# Return $\log\hat p(x)=\log\frac1N\sum_{i=1}^N\mathcal N(x;\,x_i,\,h^2)$ for each point of `x_eval`
# `(M,)`, given the data `x_data` `(N,)` and the bandwidth $h$. It must stay finite far from every
# data point, where each kernel underflows to zero.

# %% solution="ex01_2"
def kde_log_density(x_eval, x_data, bandwidth):
    """Log of the 1-D Gaussian KDE at ``x_eval`` (M,) from ``x_data`` (N,): returns (M,)."""
    ### BEGIN SOLUTION
    h = bandwidth
    log_k = (-0.5 * ((x_eval[:, None] - x_data[None, :]) / h) ** 2
             - 0.5 * np.log(2 * np.pi * h * h))                       # (M, N)
    top = log_k.max(axis=1, keepdims=True)
    return top[:, 0] + np.log(np.mean(np.exp(log_k - top), axis=1))
    ### END SOLUTION

# %% grade="ex01_2" points=3
check_kde_log_density(kde_log_density)
### BEGIN HIDDEN TESTS
check_kde_log_density(kde_log_density, seed=12)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 1.3 — The rescaled minibatch gradient (2 points)
#
# The log-likelihood of $N$ points is a sum, so its gradient with respect to $\mu$ is
# $\sum_{i=1}^N(x_i-\mu)/\sigma^2$. Return the estimate of it from a minibatch `x_batch` of $M$
# points that is unbiased over the choice of minibatch.

# %% solution="ex01_3"
def minibatch_gradient(x_batch, n_total, mean, var):
    """Unbiased minibatch estimate of d/dmean of the full-data Gaussian log-likelihood."""
    ### BEGIN SOLUTION
    return n_total / len(x_batch) * np.sum((x_batch - mean) / var)
    ### END SOLUTION

# %% grade="ex01_3" points=2
check_minibatch_gradient(minibatch_gradient)
### BEGIN HIDDEN TESTS
check_minibatch_gradient(minibatch_gradient, seed=13)
### END HIDDEN TESTS
