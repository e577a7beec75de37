# %% [markdown]
# # Chapter 07 — Likelihoods and the log-joint
#
# **Derivation steps covered:** D7.1, D7.2, D7.3, D7.4, D7.5
#
# Every form of the ELBO in chapter 06 is built from two log-densities evaluated at a sampled
# latent: the decoder's likelihood $\log p_\theta(x\mid z)$ and the prior $\log p(z)$; their sum is the
# log-joint. This chapter writes each one out for the models a VAE uses — a diagonal Gaussian for
# real-valued data, a Bernoulli for pixels in $[0, 1]$, the standard normal prior — checks the code
# against the formulas, and ends with the one modelling choice that quietly decides what a Gaussian
# VAE learns: the decoder variance $c$, which sets the weight $C=1/(2c)$ of the squared error
# against the KL term (Selega, *Notes on Derivation of the Variational Autoencoder Evidence Lower
# Bound Loss*). The lecture notes *Variational Auto Encoders* (following Kingma & Welling) spell out
# the log-joint computation this chapter checks.

# %% demo=true
import numpy as np
from scipy import integrate

from elbo_edu.special import sigmoid
from elbo_edu.data import load_dataset
from elbo_edu.distributions import (LOG_2PI, bernoulli_log_prob, gaussian_log_prob,
                                    kl_std_normal, std_normal_log_prob)
from elbo_edu.plots import plot_reconstructions, plot_tradeoff
from elbo_edu.train import train
from elbo_edu.vae import VAE

rng = np.random.default_rng(7)

# %% [markdown]
# ## D7.1 — The diagonal Gaussian log-likelihood
#
# A Gaussian with diagonal covariance makes the coordinates independent, so its density is a
# product of one-dimensional densities and its log a sum:
#
# $$\log\mathcal N\big(x;\mu,\operatorname{diag}\sigma^2\big)=\sum_{d=1}^{D}\log\mathcal N(x_d;\mu_d,\sigma_d^2)
#   =-\frac12\sum_{d=1}^{D}\Big[\log 2\pi+\log\sigma_d^2+\frac{(x_d-\mu_d)^2}{\sigma_d^2}\Big].$$
#
# Checks: the package's `gaussian_log_prob` equals the formula typed out here and the sum of $D$
# one-dimensional calls (to rounding), and a one-dimensional density integrates to 1 on a fine grid.

# %% demo=true
N, D = 5, 7
x, mean, logvar = rng.normal(size=(N, D)), rng.normal(size=(N, D)), rng.normal(size=(N, D))
package = gaussian_log_prob(x, mean, logvar)                              # (N,)
formula = -0.5 * np.sum(LOG_2PI + logvar + (x - mean) ** 2 / np.exp(logvar), axis=1)
per_dim = gaussian_log_prob(x[..., None], mean[..., None], logvar[..., None]).sum(axis=1)
assert np.allclose(package, formula, rtol=1e-13, atol=0)
assert np.allclose(package, per_dim, rtol=1e-13, atol=0)
t = np.linspace(-12, 12, 24001)[:, None]
mass = np.exp(gaussian_log_prob(t, 0.3, np.log(1.7))).sum() * (t[1, 0] - t[0, 0])
print(f"integral of a 1-D Gaussian density on a grid: {mass:.12f}")
assert abs(mass - 1) < 1e-10

# %% [markdown]
# ## D7.2 — The Bernoulli log-likelihood is minus the binary cross-entropy
#
# A pixel modelled as Bernoulli with probability $p_d=\sigma(\ell_d)$ (the decoder outputs the logit
# $\ell_d$) has $\log p(x_d)=x_d\log p_d+(1-x_d)\log(1-p_d)$ — minus the binary cross-entropy. Written
# naively this takes the log of a probability that can round to exactly 0 or 1. Using
# $\log\sigma(\ell)=\ell-\operatorname{softplus}(\ell)$ and $\log(1-\sigma(\ell))=-\operatorname{softplus}(\ell)$,
#
# $$\log p(x\mid\ell)=\sum_d\big[x_d\,\ell_d-\operatorname{softplus}(\ell_d)\big],\qquad
#   \operatorname{softplus}(\ell)=\max(\ell,0)+\log\!\big(1+e^{-|\ell|}\big),$$
#
# which is finite for every finite logit. Checks: agreement with the naive formula where that is
# safe, grey-level targets included, and finite values where the naive formula breaks.

# %% demo=true
xb = rng.uniform(size=(N, D))                      # grey levels: the formula accepts them (see below)
logits = rng.normal(0, 3, size=(N, D))
p = sigmoid(logits)
bce = -np.sum(xb * np.log(p) + (1 - xb) * np.log(1 - p), axis=1)
assert np.allclose(bernoulli_log_prob(xb, logits), -bce, rtol=1e-12, atol=0)

huge = np.array([[800.0, -800.0, 40.0]])
target = np.array([[0.0, 1.0, 1.0]])
with np.errstate(divide="ignore", invalid="ignore"):
    naive = np.sum(target * np.log(sigmoid(huge)) + (1 - target) * np.log(1 - sigmoid(huge)))
stable = bernoulli_log_prob(target, huge)[0]
print(f"naive: {naive}   stable: {stable}")
assert not np.isfinite(naive) and np.isfinite(stable)
assert abs(stable - (-800.0 - 800.0 - np.log1p(np.exp(-40.0)))) < 1e-9   # two certain misses + one hit

# %% [markdown]
# **Grey levels are accepted, but then the Bernoulli is not a density.** The formula
# $x\ell-\operatorname{softplus}(\ell)$ is defined for any $x\in[0,1]$, and the package accepts grey
# levels (PyTorch's VAE example trains on them). But the Bernoulli is a distribution on the two
# points $\{0,1\}$. Read as a function of $x\in[0,1]$, $\lambda^x(1-\lambda)^{1-x}$ with
# $\lambda=\sigma(\ell)$ does not integrate to one — its integral is $(2\lambda-1)/\log\frac{\lambda}{1-\lambda}$
# (¹⁄₂ at $\lambda=\tfrac12$), always below one. A loss computed this way on grey-level images is a
# cross-entropy in nats, **not** a negative log-likelihood: it cannot be compared with the
# log-likelihoods of the literature, which are measured on binarized digits (dynamic binarization
# during training, or the statically binarized MNIST). The normalised version is the **continuous
# Bernoulli** (Loaiza-Ganem & Cunningham, *The continuous Bernoulli: fixing a pervasive error in
# variational autoencoders*):
#
# $$p(x\mid\lambda)=C(\lambda)\,\lambda^x(1-\lambda)^{1-x},\qquad
#   C(\lambda)=\frac{2\,\operatorname{artanh}(1-2\lambda)}{1-2\lambda}\ (\lambda\ne\tfrac12),\quad C(\tfrac12)=2 .$$
#
# Check by quadrature over $x\in[0,1]$: the Bernoulli "density" integrates to the value above, well
# short of one, and with the factor $C(\lambda)$ it integrates to one.

# %% demo=true
for ell in (-4.0, -1.0, 0.0, 0.5, 3.0):
    lam = sigmoid(ell)
    mass = integrate.quad(lambda t: np.exp(bernoulli_log_prob(np.array([[t]]), np.array([[ell]]))[0]),
                          0, 1, epsabs=1e-13)[0]
    formula = 0.5 if ell == 0 else (2 * lam - 1) / np.log(lam / (1 - lam))
    C = 2.0 if ell == 0 else 2 * np.arctanh(1 - 2 * lam) / (1 - 2 * lam)
    print(f"logit {ell:+.1f}: integral over [0, 1] {mass:.6f} (formula {formula:.6f});  "
          f"times C(lambda) = {C * mass:.12f}")
    assert abs(mass - formula) < 1e-10 and mass < 0.6            # not a density on [0, 1]
    assert abs(C * mass - 1) < 1e-10                              # the continuous Bernoulli is

# %% [markdown]
# ## D7.3 — The standard normal prior
#
# Setting $\mu=0$ and $\sigma^2=1$ in D7.1 leaves
#
# $$\log\mathcal N(z;0,I)=-\frac{D}{2}\log 2\pi-\frac12\lVert z\rVert^2 .$$

# %% demo=true
z = rng.normal(size=(N, 3))
prior = std_normal_log_prob(z)
assert np.allclose(prior, -1.5 * LOG_2PI - 0.5 * np.sum(z ** 2, axis=1), rtol=1e-14, atol=0)
assert np.allclose(prior, gaussian_log_prob(z, 0.0, 0.0), rtol=1e-14, atol=0)

# %% [markdown]
# ## D7.4 — The log-joint
#
# The generative model draws $z$ from the prior and then $x$ from the decoder, so
# $p(x,z)=p(x\mid z)\,p(z)$ and
#
# $$\log p(x,z)=\log p(x\mid z)+\log p(z).$$
#
# A VAE evaluates it for a whole batch at once, and — for importance sampling in chapter 10 — for
# $K$ latent samples per data point, $z$ of shape $(K, N, Z)$. Check: the batched log-joint equals
# decoder likelihood plus prior computed one sample at a time.

# %% demo=true
vae = VAE(D, 3, hidden=(16,), likelihood="bernoulli", dtype=np.float64, rng=rng)
zk = rng.normal(size=(4, N, 3))                    # K = 4 samples per row
batched = vae.log_joint(xb, zk)                    # (4, N)
by_hand = np.stack([vae.log_likelihood(xb, vae.decode(zk[k])) + std_normal_log_prob(zk[k])
                    for k in range(4)])
assert batched.shape == (4, N)
assert np.allclose(batched, by_hand, rtol=1e-13, atol=0)

# %% [markdown]
# ## D7.5 — The decoder variance $c$ weights reconstruction against KL
#
# With a Gaussian decoder of fixed variance $c$, $p(x\mid z)=\mathcal N(\hat x, cI)$ with
# $\hat x=f_\theta(z)$, the negative ELBO of one data point is
#
# $$-\mathrm{ELBO}=\mathbb E_q\!\left[\frac{\lVert x-\hat x\rVert^2}{2c}\right]+\mathrm{KL}\big(q\,\|\,p(z)\big)
#   +\frac D2\log 2\pi c
#   =C\,\mathbb E_q\lVert x-\hat x\rVert^2+\mathrm{KL}\big(q\,\|\,p(z)\big)+\text{const},\qquad C=\frac1{2c}.$$
#
# Multiplying by the positive number $2c$ does not move the minimum, so it is the same as minimising
# $\mathbb E_q\lVert x-\hat x\rVert^2+2c\cdot\mathrm{KL}$: a fixed variance **is** a weight $\beta=2c$
# on the KL (compare the β-VAE of Higgins et al., *β-VAE: Learning Basic Visual Concepts with a
# Constrained Variational Framework*, which sets such a weight on purpose). Checks on a float64 VAE with fixed noise: the loss
# equals the right-hand side, and its gradient equals $C$ times the gradient of the model with
# $c=\tfrac12$ and $\beta=2c$.

# %% demo=true
x_img = load_dataset("embedded").x_train[:16].astype(np.float64)
c = 0.05
gauss = VAE(784, 4, hidden=(32,), likelihood="gaussian", obs_var=c, dtype=np.float64,
            rng=np.random.default_rng(1))
eps = rng.standard_normal((16, 4))
loss_c, grads_c = gauss.loss_and_grads(x_img, eps)
grads_c = {k: g.copy() for k, g in grads_c.items()}
m, lv = gauss.encode(x_img)
x_hat = gauss.decode(gauss.reparameterize(m, lv, eps))
sq = np.sum((x_img - x_hat) ** 2, axis=1)
rhs = np.mean(sq / (2 * c) + kl_std_normal(m, lv)) + 0.5 * 784 * (LOG_2PI + np.log(c))
print(f"loss with c = {c}: {loss_c:.10f}   C*||x - x_hat||^2 + KL + const: {rhs:.10f}")
assert abs(loss_c - rhs) < 1e-12 * abs(rhs)

beta_model = VAE(784, 4, hidden=(32,), likelihood="gaussian", obs_var=0.5, beta=2 * c,
                 dtype=np.float64, rng=np.random.default_rng(2))
beta_model.load_params(gauss.params)
_, grads_b = beta_model.loss_and_grads(x_img, eps)
worst = max(np.max(np.abs(grads_c[k] - grads_b[k] / (2 * c))) / np.max(np.abs(grads_c[k]))
            for k in grads_c)
print(f"largest relative difference of the gradients: {worst:.1e}")
assert worst < 1e-10

# %% [markdown]
# ### The trade-off, trained
#
# Now the effect of $c$ on what is learned. We train small Gaussian VAEs on the embedded MNIST
# subset with four values of $c$, a decade apart, and measure on held-out digits the squared
# reconstruction error and the KL. A small $c$ (large $C$) buys sharp reconstructions with a lot of
# information in the code (a large KL); a large $c$ lets the KL win: blurry, average-looking digits
# and a code that says almost nothing. Check: as $c$ grows the KL falls at every step, and the
# error at the largest $c$ is well above the error at the smallest. (Between the two smallest
# values the error barely moves: after a few seconds of training this small decoder, not the weight $C$, is
# what limits the reconstructions.)

# %% demo=true
data = load_dataset("embedded", n_train=4000, n_test=500)
cs = [0.003, 0.03, 0.3, 3.0]
sq_err, kls, recons = [], [], []
for c in cs:
    model = VAE(784, 8, hidden=(128,), likelihood="gaussian", obs_var=c,
                rng=np.random.default_rng(0))
    train(model, data, epochs=8, batch_size=128, lr=2e-3, seed=0, progress=False)
    m, lv = model.encode(data.x_test)
    x_rec = model.reconstruct(data.x_test)
    sq_err.append(float(np.mean(np.sum((data.x_test - x_rec) ** 2, axis=1))))
    kls.append(float(np.mean(kl_std_normal(m, lv))))
    recons.append(x_rec)
    print(f"c = {c:<6} C = {1 / (2 * c):7.1f}   ||x - x_hat||^2 = {sq_err[-1]:6.2f}   "
          f"KL = {kls[-1]:6.2f} nats")
assert np.all(np.diff(kls) < 0) and sq_err[-1] > 1.5 * sq_err[0]

# %% demo=true
plot_tradeoff(cs, sq_err, kls)

# %% demo=true
plot_reconstructions(data.x_test, recons[0], n=8)    # c = 0.003: sharp

# %% demo=true
plot_reconstructions(data.x_test, recons[-1], n=8)   # c = 3: the KL term wins

# %% [markdown]
# ## Try this
#
# 1. Add a fifth value of $c$ below 0.003: does the KL keep growing, and does the test error keep
#    falling? (Think about over-fitting the 4 000 training digits.)
# 2. Train a Bernoulli VAE on the same digits and compare its reconstructions with the Gaussian
#    ones at $c=0.03$: which $c$ makes the two look alike?
# 3. Check D7.5 with `beta`: train with $c=\tfrac12$ and `beta = 2*c` for one of the $c$ above and
#    compare the final KL with the fixed-variance run.
# 4. Push the logits of D7.2 to $\pm 10^6$: which expression still works?

# %% [markdown]
# ## Exercises
#
# Write each function below in place of `raise NotImplementedError()`, then run the cell after it:
# it grades your function against scalar arithmetic or finite differences and, if something is off,
# says in one sentence what. Points are in each heading. As in the package, a log-density sums over
# the last axis and returns one value per row.

# %%
from elbo_edu.course.checks import (check_bernoulli_log_lik, check_bernoulli_log_lik_grad,
                                    check_gaussian_log_lik)

# %% [markdown]
# ### Exercise 7.1 — The diagonal Gaussian log-likelihood (2 points)
#
# Return $\log\mathcal N(x_n;\,\mu_n,\,\operatorname{diag}e^{\mathrm{logvar}_n})$ for rows of `x`,
# `mean`, `logvar` `(N, D)`: shape `(N,)`.

# %% solution="ex07_1"
def gaussian_log_lik(x, mean, logvar):
    """Row log-densities of a diagonal Gaussian, (N,)."""
    ### BEGIN SOLUTION
    return -0.5 * np.sum(np.log(2 * np.pi) + logvar + (x - mean) ** 2 / np.exp(logvar), axis=-1)
    ### END SOLUTION

# %% grade="ex07_1" points=2
check_gaussian_log_lik(gaussian_log_lik)
### BEGIN HIDDEN TESTS
check_gaussian_log_lik(gaussian_log_lik, seed=71)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 7.2 — The Bernoulli log-likelihood from logits, stably (3 points)
#
# Return $\sum_d\big[x_d\ell_d-\log(1+e^{\ell_d})\big]$ per row for targets `x` in $[0,1]$ and
# `logits` `(N, D)`. It must be finite for logits of $\pm 800$.

# %% solution="ex07_2"
def bernoulli_log_lik(x, logits):
    """Row log-likelihoods of Bernoulli(sigmoid(logits)) targets x, (N,)."""
    ### BEGIN SOLUTION
    softplus = np.maximum(logits, 0) + np.log1p(np.exp(-np.abs(logits)))
    return np.sum(x * logits - softplus, axis=-1)
    ### END SOLUTION

# %% grade="ex07_2" points=3
check_bernoulli_log_lik(bernoulli_log_lik)
### BEGIN HIDDEN TESTS
check_bernoulli_log_lik(bernoulli_log_lik, seed=72)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 7.3 — Its gradient (2 points)
#
# Return the gradient of the **sum** of those log-likelihoods with respect to `logits`, `(N, D)`.

# %% solution="ex07_3"
def bernoulli_log_lik_grad(x, logits):
    """d/dlogits of sum_n log p(x_n | logits_n), (N, D)."""
    ### BEGIN SOLUTION
    return x - 1.0 / (1.0 + np.exp(-logits))
    ### END SOLUTION

# %% grade="ex07_3" points=2
check_bernoulli_log_lik_grad(bernoulli_log_lik_grad)
### BEGIN HIDDEN TESTS
check_bernoulli_log_lik_grad(bernoulli_log_lik_grad, seed=73)
### END HIDDEN TESTS
