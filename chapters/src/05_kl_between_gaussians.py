# %% [markdown]
# # Chapter 05 — The KL divergence between two Gaussians
#
# **Derivation steps covered:** D5.1, D5.2, D5.3, D5.4, D5.5
#
# The VAE objective contains one KL term, between the encoder's Gaussian
# $q(z\mid x)=\mathcal N(\mu,\operatorname{diag}\sigma^2)$ and the prior $\mathcal N(0, I)$. Because
# both are Gaussian, that term has a closed form, and the closed form is what makes the VAE loss
# cheap and low-variance. This chapter derives it one line at a time and checks **every line**
# against numerical integration (adaptive quadrature from SciPy, which knows nothing about
# Gaussians), then checks the gradients that backpropagation will need against finite differences.
#
# The derivation follows A. Selega, *Notes on Derivation of the Variational Autoencoder Evidence
# Lower Bound Loss* (2022), §3–4; Kingma & Welling, *An Introduction to Variational Autoencoders*
# (2019) give the same result in their appendix.
#
# Throughout, $p_1=\mathcal N(\mu_1,\sigma_1^2)$ and $p_2=\mathcal N(\mu_2,\sigma_2^2)$ are 1-D, and —
# as everywhere in `elbo_edu` — a Gaussian is stored by its mean and its **log-variance**
# $\log\sigma^2$.

# %% demo=true
import numpy as np
from scipy import integrate

from elbo_edu.distributions import (
    LOG_2PI, gaussian_entropy, gaussian_log_prob, kl_normal, kl_normal_grad, kl_std_normal,
    kl_std_normal_grad,
)
from elbo_edu.gradcheck import check_function, numerical_gradient, rel_error
from elbo_edu.plots import plot_quadrature_check

rng = np.random.default_rng(5)


def log_density(x, mu, logvar):
    """log N(x; mu, exp(logvar)) for a scalar x, through the package's Gaussian log-density."""
    return float(gaussian_log_prob(np.array([[x]]), mu, logvar)[0])


def expect_under(mu, logvar, g):
    """E_{N(mu, exp(logvar))}[g(x)] by adaptive quadrature over mu ± 20 sigma."""
    s = np.exp(0.5 * logvar)
    val, err = integrate.quad(lambda x: np.exp(log_density(x, mu, logvar)) * g(x),
                              mu - 20 * s, mu + 20 * s, epsabs=1e-13, epsrel=1e-12, limit=200)
    return val


# A few pairs of Gaussians (mu1, logvar1, mu2, logvar2) to test every line on.
pairs = [(0.0, 0.0, 0.0, 0.0), (0.3, -1.0, -0.5, 0.7), (2.0, 1.2, -1.0, -0.4)]
pairs += [tuple(v) for v in rng.normal(0.0, 1.0, size=(3, 4))]
TOL = 1e-9  # quadrature is accurate to ~1e-12 here; 1e-9 leaves room for rounding in the sums
rows = []   # (label, closed form, quadrature) of every checked line, for the figure after D5.3

# %% [markdown]
# ## D5.1 — The first term: $\int p_1\log p_1$ (minus the entropy)
#
# Write the density as $p_1(x)=\frac1{Z_1}\exp\!\big(-\frac{(x-\mu_1)^2}{2\sigma_1^2}\big)$ with
# $Z_1=\sqrt{2\pi\sigma_1^2}$. Taking the log splits it into a constant and a quadratic:
#
# $$\int p_1\log p_1\,dx = -\log Z_1\underbrace{\int p_1\,dx}_{=1}
#   \;-\;\frac{1}{2\sigma_1^2}\underbrace{\int p_1(x)\,(x-\mu_1)^2\,dx}_{=\sigma_1^2}.$$
#
# The second integral is the variance of $p_1$ by definition, so the whole quadratic term collapses
# to $\tfrac12$ and
#
# $$\int p_1\log p_1\,dx = -\tfrac12\big(\log 2\pi\sigma_1^2 + 1\big).$$
#
# This is minus the (differential) entropy of $p_1$, which the package provides as
# `gaussian_entropy`. We check the formula, the package and the integral against each other.

# %% demo=true
for mu1, lv1, _, _ in pairs:
    quad = expect_under(mu1, lv1, lambda x: log_density(x, mu1, lv1))
    formula = -0.5 * (LOG_2PI + lv1 + 1.0)
    package = -gaussian_entropy(np.array([lv1]))
    assert abs(quad - formula) < TOL, (quad, formula)
    assert abs(package - formula) < 1e-14
    print(f"logvar1={lv1:+.3f}:  quadrature {quad:+.12f}   formula {formula:+.12f}")
    rows.append((f"D5.1  int p1 log p1, logvar1={lv1:.2f}", formula, quad))

# %% [markdown]
# The two parts of the argument can also be checked on their own: $p_1$ integrates to one and its
# second central moment is $\sigma_1^2$.

# %% demo=true
mu1, lv1 = pairs[1][:2]
mass = expect_under(mu1, lv1, lambda x: 1.0)
second_moment = expect_under(mu1, lv1, lambda x: (x - mu1) ** 2)
assert abs(mass - 1.0) < TOL
assert abs(second_moment - np.exp(lv1)) < TOL
print(f"mass {mass:.12f}   E[(x-mu1)^2] {second_moment:.12f}   sigma1^2 {np.exp(lv1):.12f}")

# %% [markdown]
# ## D5.2 — The second term: $-\int p_1\log p_2$ (the cross-entropy)
#
# The same trick, with the normaliser and the quadratic of $p_2$ but the weights of $p_1$:
#
# $$-\int p_1\log p_2\,dx = \log Z_2 + \frac{1}{2\sigma_2^2}\int p_1(x)\,(x-\mu_2)^2\,dx .$$
#
# Now the quadratic is centred at $\mu_2$, not at the mean of $p_1$. Expanding
# $x-\mu_2=(x-\mu_1)+(\mu_1-\mu_2)$, the cross term integrates to zero, leaving
# $\int p_1(x-\mu_2)^2dx=\sigma_1^2+(\mu_1-\mu_2)^2$ — "variance plus squared bias". Hence
#
# $$-\int p_1\log p_2\,dx = \tfrac12\log 2\pi\sigma_2^2 + \frac{\sigma_1^2+(\mu_1-\mu_2)^2}{2\sigma_2^2}.$$

# %% demo=true
for mu1, lv1, mu2, lv2 in pairs:
    bias_var = expect_under(mu1, lv1, lambda x: (x - mu2) ** 2)
    assert abs(bias_var - (np.exp(lv1) + (mu1 - mu2) ** 2)) < TOL * max(1.0, bias_var)
    quad = -expect_under(mu1, lv1, lambda x: log_density(x, mu2, lv2))
    formula = 0.5 * (LOG_2PI + lv2) + (np.exp(lv1) + (mu1 - mu2) ** 2) / (2 * np.exp(lv2))
    assert abs(quad - formula) < TOL * max(1.0, abs(formula)), (quad, formula)
    print(f"cross-entropy: quadrature {quad:.12f}   formula {formula:.12f}")
    rows.append((f"D5.2  -int p1 log p2, pair ({mu1:.2f}, {lv1:.2f}, {mu2:.2f}, {lv2:.2f})", formula, quad))

# %% [markdown]
# ## D5.3 — Adding the two: the KL divergence between two Gaussians
#
# $\mathrm{KL}(p_1\,\|\,p_2)=\int p_1\log p_1-\int p_1\log p_2$. Adding D5.1 and D5.2, the
# $\log 2\pi$ terms cancel and the two log-variances combine into a log-ratio of standard
# deviations:
#
# $$\mathrm{KL}(p_1\,\|\,p_2)=\log\frac{\sigma_2}{\sigma_1}+\frac{\sigma_1^2+(\mu_1-\mu_2)^2}{2\sigma_2^2}-\frac12 .$$
#
# `elbo_edu.distributions.kl_normal(mu1, logvar1, mu2, logvar2)` evaluates it element-wise. We
# compare it with this formula and with a direct quadrature of $\int p_1\log(p_1/p_2)$.

# %% demo=true
for mu1, lv1, mu2, lv2 in pairs:
    s1, s2 = np.exp(0.5 * lv1), np.exp(0.5 * lv2)
    formula = np.log(s2 / s1) + (s1 ** 2 + (mu1 - mu2) ** 2) / (2 * s2 ** 2) - 0.5
    quad = expect_under(mu1, lv1, lambda x: log_density(x, mu1, lv1) - log_density(x, mu2, lv2))
    package = float(kl_normal(np.array(mu1), np.array(lv1), np.array(mu2), np.array(lv2)))
    assert abs(quad - formula) < TOL * max(1.0, formula), (quad, formula)
    assert abs(package - formula) < 1e-12 * max(1.0, formula)
    assert package >= 0.0
    print(f"KL: quadrature {quad:.12f}   formula {formula:.12f}   kl_normal {package:.12f}")
    rows.append((f"D5.3  KL, pair ({mu1:.2f}, {lv1:.2f}, {mu2:.2f}, {lv2:.2f})", package, quad))

# %% [markdown]
# Every line checked so far at a glance: the closed form against quadrature (left), and their
# absolute difference (right), which sits at the level of floating-point rounding.

# %% demo=true
labels, closed, quads = zip(*rows)
plot_quadrature_check(list(labels), np.array(closed), np.array(quads))

# %% [markdown]
# The formula is right, but it is not the best way to *compute* the KL. When the two Gaussians are
# close, $\log(\sigma_2/\sigma_1)$, $\sigma_1^2/(2\sigma_2^2)$ and $-\tfrac12$ are all of order one
# and nearly cancel. With $\delta=\log\sigma_1^2-\log\sigma_2^2$ the same quantity is
# $\tfrac12\big[(e^{\delta}-1)-\delta+(\mu_1-\mu_2)^2/\sigma_2^2\big]$, and `numpy.expm1` evaluates
# $e^\delta-1$ without cancellation; `kl_normal` uses that form. For small $\delta$ the KL behaves
# like $\delta^2/4$ (Taylor expansion), which we can use as a reference:

# %% demo=true
for delta in [1e-2, 1e-5, 1e-8]:
    naive = np.log(np.exp(-0.5 * delta)) + np.exp(delta) / 2 - 0.5
    package = float(kl_normal(np.array(0.0), np.array(delta), np.array(0.0), np.array(0.0)))
    series = delta ** 2 / 4 + delta ** 3 / 12 + delta ** 4 / 48  # Taylor series of the KL in delta
    print(f"delta={delta:.0e}:  naive {naive:.6e}   kl_normal {package:.6e}   series {series:.6e}")
    assert abs(package - series) <= 1e-6 * series  # relative error of the 3-term series < delta^3

# %% [markdown]
# ## D5.4 — Against the standard normal prior, summed over dimensions
#
# Put $\mu_2=0$, $\sigma_2=1$ and write $\mu,\sigma^2$ for the encoder's outputs:
#
# $$\mathrm{KL}\big(\mathcal N(\mu,\sigma^2)\,\|\,\mathcal N(0,1)\big)
#   = -\log\sigma + \frac{\sigma^2+\mu^2}{2} - \frac12 = \frac12\big(\sigma^2+\mu^2-\log\sigma^2-1\big).$$
#
# The encoder's Gaussian is diagonal and so is the prior, so both densities are products over the
# $D$ latent dimensions. The log of a product is a sum, and the expectation of a sum of functions
# each of one coordinate is the sum of 1-D expectations, so
#
# $$\mathrm{KL}\big(\mathcal N(\mu,\operatorname{diag}\sigma^2)\,\|\,\mathcal N(0,I)\big)
#   = \frac12\sum_{d=1}^D\big(\sigma_d^2+\mu_d^2-\log\sigma_d^2-1\big),$$
#
# which is `kl_std_normal(mu, logvar)` (it sums over the last axis). We check it per dimension by
# quadrature, against `kl_normal` with a zero/zero second argument, and once with a genuine 2-D
# integral, so that "sum over dimensions" is tested rather than assumed.

# %% demo=true
mu, logvar = rng.normal(0, 1, size=4), rng.normal(0, 0.7, size=4)
per_dim = [expect_under(m, lv, lambda x, m=m, lv=lv: log_density(x, m, lv) - log_density(x, 0.0, 0.0))
           for m, lv in zip(mu, logvar)]
closed = 0.5 * (np.exp(logvar) + mu ** 2 - logvar - 1)
total = float(kl_std_normal(mu[None], logvar[None])[0])
assert np.max(np.abs(np.array(per_dim) - closed)) < TOL
assert abs(total - closed.sum()) < 1e-12
assert abs(total - kl_normal(mu, logvar, np.zeros(4), np.zeros(4)).sum()) < 1e-12
print("per dimension (quadrature):", np.round(per_dim, 10))
print("kl_std_normal:", total, "  sum of quadratures:", sum(per_dim))

# %% demo=true
# A true 2-D integral of q(z) log(q(z)/p(z)) over a box of +-12 standard deviations.
mu2d, lv2d = mu[:2], logvar[:2]
sd = np.exp(0.5 * lv2d)


def log_ratio_2d(z2, z1):
    z = np.array([[z1, z2]])
    return float(gaussian_log_prob(z, mu2d, lv2d)[0]) - float(gaussian_log_prob(z, 0.0, 0.0)[0])


kl2d, _ = integrate.dblquad(lambda z2, z1: np.exp(float(gaussian_log_prob(np.array([[z1, z2]]), mu2d, lv2d)[0]))
                            * log_ratio_2d(z2, z1),
                            mu2d[0] - 12 * sd[0], mu2d[0] + 12 * sd[0],
                            mu2d[1] - 12 * sd[1], mu2d[1] + 12 * sd[1], epsabs=1e-11, epsrel=1e-10)
pkg2d = float(kl_std_normal(mu2d[None], lv2d[None])[0])
assert abs(kl2d - pkg2d) < 1e-8, (kl2d, pkg2d)
print(f"2-D quadrature {kl2d:.10f}   kl_std_normal {pkg2d:.10f}")

# %% [markdown]
# ## D5.5 — The gradients backpropagation needs
#
# The encoder outputs $\mu$ and $s=\log\sigma^2$; the loss contains
# $\tfrac12\sum_d(e^{s_d}+\mu_d^2-s_d-1)$. Each coordinate appears in one term only, so the
# gradient is element-wise:
#
# $$\frac{\partial\,\mathrm{KL}}{\partial\mu_d}=\mu_d,\qquad
#   \frac{\partial\,\mathrm{KL}}{\partial\log\sigma_d^2}=\tfrac12\big(\sigma_d^2-1\big).$$
#
# Both vanish exactly at the prior ($\mu=0$, $\sigma=1$), where the KL has its minimum. Note how
# simple the log-variance gradient is: parameterising by $\log\sigma^2$ avoids the $1/\sigma$ terms
# that a $\sigma$-parameterisation produces and keeps $\sigma^2>0$ without constraints.
#
# For the general pair (`kl_normal`), differentiating D5.3 gives
# $\partial_{\mu_1}=(\mu_1-\mu_2)/\sigma_2^2=-\partial_{\mu_2}$,
# $\partial_{\log\sigma_1^2}=\tfrac12(\sigma_1^2/\sigma_2^2-1)$ and
# $\partial_{\log\sigma_2^2}=\tfrac12\big(1-(\sigma_1^2+(\mu_1-\mu_2)^2)/\sigma_2^2\big)$.
#
# Both hand-written gradient functions are checked against central finite differences in float64
# (`elbo_edu.gradcheck`, pass threshold: relative error $<10^{-7}$) — a comparison with the formula
# typed again would repeat the code under test on both sides.

# %% demo=true
mu_b, lv_b = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
dmu, dlv = kl_std_normal_grad(mu_b, lv_b)

# the same derivative by central differences of the summed KL
num_dmu = numerical_gradient(lambda m: kl_std_normal(m, lv_b).sum(), mu_b.copy())
num_dlv = numerical_gradient(lambda s: kl_std_normal(mu_b, s).sum(), lv_b.copy())
print(f"rel. error d/dmu {rel_error(dmu, num_dmu):.1e}   d/dlogvar {rel_error(dlv, num_dlv):.1e}")
assert rel_error(dmu, num_dmu) < 1e-7 and rel_error(dlv, num_dlv) < 1e-7

# %% demo=true
report = check_function("kl_std_normal", kl_std_normal, kl_std_normal_grad,
                        dict(mu=mu_b, logvar=lv_b), rng=rng)
report.extend(check_function("kl_normal", kl_normal, kl_normal_grad,
                             dict(mu1=mu_b, logvar1=lv_b, mu2=rng.normal(size=(5, 3)),
                                  logvar2=rng.normal(size=(5, 3))), rng=rng))
print(report)
assert report.passed

# %% demo=true
# At the prior the KL and both gradients are exactly zero.
zero = np.zeros((1, 3))
assert kl_std_normal(zero, zero)[0] == 0.0
assert not np.any(np.concatenate(kl_std_normal_grad(zero, zero)))

# %% [markdown]
# ## Try this
#
# 1. In D5.3, push $\sigma_2$ towards zero (`logvar2 = -20`) with $\mu_1\neq\mu_2$: the KL grows
#    like $(\mu_1-\mu_2)^2/(2\sigma_2^2)$. Which term dominates, and why does quadrature need more
#    subintervals (`limit`) to keep up?
# 2. Replace `kl_normal` in the small-$\delta$ cell by the textbook formula of D5.3 evaluated in
#    float32 (`np.float32` inputs). At which $\delta$ does it first return 0 or a negative number?
# 3. Swap the arguments: compute `kl_normal(mu2, lv2, mu1, lv1)` for the pairs above. The two
#    directions differ unless the variances are equal — chapter 04 explains what that asymmetry
#    does to a fitted distribution.
# 4. In D5.5, run `check_function` with `h=1e-3` and with `h=1e-10`. At `h=1e-10` every row gets
#    worse (rounding error, about $\epsilon_{\text{mach}}\lvert f\rvert/h$). At `h=1e-3` the
#    log-variance rows get worse but the $\mu$ rows get *better* than at the default step: why?
#    (Write the KL as a function of $\mu$ alone, and the error of a central difference.)
# 5. Set one entry of `logvar` to `+30`: `kl_std_normal` is still finite, while $e^{30}$ makes the
#    KL astronomically large. What does this mean for an encoder whose log-variance is not bounded?

# %% [markdown]
# ## Exercises
#
# Write each function below in place of `raise NotImplementedError()`, then run the cell after it:
# it grades your function against numerical integration of the KL or finite differences and, if
# something is off, says in one sentence what. Points are in each heading. Gaussians are given by
# their mean and `logvar` $=\log\sigma^2$.

# %%
from elbo_edu.course.checks import (check_kl_normal_1d, check_kl_std_normal,
                                    check_kl_std_normal_grad)

# %% [markdown]
# ### Exercise 5.1 — KL between two Gaussians (3 points)
#
# Return $\mathrm{KL}\big(\mathcal N(\mu_1,\sigma_1^2)\,\|\,\mathcal N(\mu_2,\sigma_2^2)\big)$
# element-wise (all four arguments have one shape; no sum).

# %% solution="ex05_1"
def kl_normal_1d(mu1, logvar1, mu2, logvar2):
    """Element-wise KL(N(mu1, e^logvar1) || N(mu2, e^logvar2))."""
    ### BEGIN SOLUTION
    return 0.5 * (logvar2 - logvar1 + (np.exp(logvar1) + (mu1 - mu2) ** 2) / np.exp(logvar2)
                  - 1.0)
    ### END SOLUTION

# %% grade="ex05_1" points=3
check_kl_normal_1d(kl_normal_1d)
### BEGIN HIDDEN TESTS
check_kl_normal_1d(kl_normal_1d, seed=51)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 5.2 — KL to the standard normal prior (2 points)
#
# For `mu`, `logvar` of shape `(N, Z)` return the `(N,)` values
# $\mathrm{KL}\big(\mathcal N(\mu_n,\operatorname{diag}\sigma_n^2)\,\|\,\mathcal N(0,I)\big)$.

# %% solution="ex05_2"
def kl_std_normal_mine(mu, logvar):
    """KL to N(0, I) of each row of (mu, logvar) (N, Z): returns (N,)."""
    ### BEGIN SOLUTION
    return 0.5 * np.sum(np.exp(logvar) + mu ** 2 - 1.0 - logvar, axis=-1)
    ### END SOLUTION

# %% grade="ex05_2" points=2
check_kl_std_normal(kl_std_normal_mine)
### BEGIN HIDDEN TESTS
check_kl_std_normal(kl_std_normal_mine, seed=52)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 5.3 — Its gradient (3 points)
#
# Return `(dmu, dlogvar)`, the gradients of the **sum** of those KL values with respect to `mu` and
# `logvar` (each `(N, Z)`).

# %% solution="ex05_3"
def kl_std_normal_grad_mine(mu, logvar):
    """Gradients (dmu, dlogvar) of sum_n KL_n."""
    ### BEGIN SOLUTION
    return mu.copy(), 0.5 * (np.exp(logvar) - 1.0)
    ### END SOLUTION

# %% grade="ex05_3" points=3
check_kl_std_normal_grad(kl_std_normal_grad_mine)
### BEGIN HIDDEN TESTS
check_kl_std_normal_grad(kl_std_normal_grad_mine, seed=53)
### END HIDDEN TESTS
