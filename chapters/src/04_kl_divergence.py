# %% [markdown]
# # Chapter 04 — The Kullback–Leibler divergence
#
# **Derivation steps covered:** D4.1, D4.2, D4.3
#
# Variational inference replaces the intractable posterior of chapter 03 by the member of a simple
# family that is "closest" to it. Closeness is measured by the Kullback–Leibler divergence. This
# chapter establishes the three facts about it that the rest of the course relies on: it is never
# negative and vanishes only for identical distributions; it is not symmetric, and the direction
# we minimise decides what kind of approximation we get; and for continuous distributions it is an
# expectation, which can always be estimated by sampling even when no formula exists.
#
# Sources: the quick note "Variational autoencoders, Kullback-Leibler divergence and Evidence
# Lower Bound", the blog post "Auto-Encoding Variational Bayes — Variational Inference", and the
# notes "Kullback-Leibler Divergence in VAEs" (§3).

# %% demo=true
import numpy as np
from scipy import integrate

from elbo_edu.distributions import gaussian_log_prob, kl_normal
from elbo_edu.estimators.kl import (Mixture1D, fit_gaussian_kl, kl_discrete, mc_kl_normal,
                                    reverse_kl_descent)
from elbo_edu.gradcheck import numerical_gradient
from elbo_edu.plots import plot_kl_fits

rng = np.random.default_rng(4)

# %% [markdown]
# ## D4.1 — Discrete KL, and why it is never negative
#
# For probability vectors $P$ and $Q$ on the same $K$ outcomes,
#
# $$\mathrm{KL}(P\,\|\,Q)=\sum_{i}P(i)\log\frac{P(i)}{Q(i)} ,$$
#
# the expected extra surprise (in nats) of an observer who believes $Q$ while outcomes come from
# $P$. **Gibbs' inequality** says $\mathrm{KL}\ge0$. Proof via Jensen: $\log$ is concave, so the
# average of logs is at most the log of the average. Averaging over $P$,
#
# $$-\mathrm{KL}(P\,\|\,Q)=\sum_iP(i)\log\frac{Q(i)}{P(i)}\;\le\;\log\sum_iP(i)\frac{Q(i)}{P(i)}
#   =\log\sum_{i:P(i)>0}Q(i)\;\le\;\log1=0 .$$
#
# Jensen's inequality for a strictly concave function is an equality only when the averaged
# quantity is constant, i.e. $Q(i)/P(i)=c$ on the support of $P$; together with the last step
# (which needs $Q$ to put no mass outside that support) this forces $c=1$: **KL is zero exactly
# when $P=Q$.** We check the chain on many random pairs: KL is positive for $P\ne Q$ and zero for
# $P=Q$; and for a $P$ that leaves one outcome out, $-\mathrm{KL}(P\,\|\,Q)$ stays below
# $\log\sum_{i:P(i)>0}Q(i)$, a number computed from $Q$ alone and strictly negative there.

# %% demo=true
P = rng.dirichlet(np.ones(6), size=2000)          # 2000 random distributions over 6 outcomes
Q = rng.dirichlet(np.ones(6), size=2000)
kl = kl_discrete(P, Q)
assert np.allclose(kl, np.sum(P * np.log(P / Q), axis=1), atol=1e-13)     # the definition
assert np.all(kl > 0)                               # strictly positive for P != Q
# The chain with a P that leaves outcome 0 out, so that Q has mass where P has none: then
# -KL(P||Q) <= log Q(support of P) < 0, the right-hand side computed from Q alone.
P_cut = P.copy()
P_cut[:, 0] = 0.0
P_cut /= P_cut.sum(axis=1, keepdims=True)
log_q_support = np.log(Q[:, 1:].sum(axis=1))
assert np.all(-kl_discrete(P_cut, Q) <= log_q_support + 1e-15) and np.all(log_q_support < 0)
assert np.all(kl_discrete(P, P) == 0.0)             # zero for P = Q
print(f"min KL over 2000 random pairs: {kl.min():.2e};  KL(P||P) = {kl_discrete(P[:1], P[:1])[0]}")

# %% [markdown]
# Near $P=Q$ the divergence is quadratic, not linear, in the difference: for $Q=P+\delta$ with
# $\sum_i\delta_i=0$, a second-order expansion of $\log(1+\delta_i/P_i)$ gives
# $\mathrm{KL}(P\,\|\,Q)\approx\tfrac12\sum_i\delta_i^2/P_i$. That is why "KL is minimised at
# $P=Q$" comes with a zero gradient there.

# %% demo=true
p0 = rng.dirichlet(np.ones(6))
direction = rng.normal(size=6)
direction -= direction.mean()                       # keeps the total at one
for t in (1e-2, 1e-3, 1e-4):
    delta = t * direction * p0.min()
    exact, approx = kl_discrete(p0, p0 + delta), 0.5 * np.sum(delta ** 2 / p0)
    print(f"t={t:.0e}: KL {exact:.6e}   quadratic approximation {approx:.6e}")
    assert abs(exact - approx) < 10 * t * approx   # the next term of the expansion is O(t) smaller

# %% [markdown]
# ## D4.2 — KL is not symmetric: forward and reverse fits
#
# In general $\mathrm{KL}(P\,\|\,Q)\neq\mathrm{KL}(Q\,\|\,P)$, so the KL is a *divergence*, not a
# distance. The asymmetry has practical consequences. Fit a single Gaussian $q$ to a bimodal
# target $p$:
#
# * **forward** $\min_q\mathrm{KL}(p\,\|\,q)=\min_q\mathbb E_p[\log p-\log q]$: wherever $p$ has
#   mass, $\log q$ must not be very negative, so $q$ spreads to *cover* both modes. For a Gaussian
#   $q$ only $-\mathbb E_p[\log q]=\tfrac12\log 2\pi s^2+\mathbb E_p[(x-m)^2]/(2s^2)$ depends on
#   $q$, and it depends on $p$ only through its first two moments; the minimiser matches the mean
#   and variance of $p$;
# * **reverse** $\min_q\mathrm{KL}(q\,\|\,p)=\min_q\mathbb E_q[\log q-\log p]$: $q$ is penalised for
#   mass where $p$ is small, so with well-separated modes it *seeks one mode* and ignores the
#   other. The reverse objective is not convex: it has several local minima (one per
#   well-separated mode, and a broad one centred between the modes), so a descent can stop at a
#   local optimum, and `fit_gaussian_kl` scans a grid before it descends. Only when $p$ itself is
#   Gaussian do the two directions give the same fit.
#
# Variational inference minimises the reverse direction $\mathrm{KL}(q\,\|\,p(z\mid x))$ (it needs
# expectations under $q$, which we can sample); expect VAE posteriors to be compact rather than
# covering.

# %% demo=true
Pa, Qa = np.array([0.9, 0.05, 0.05]), np.full(3, 1 / 3)
print(f"KL(P||Q) = {kl_discrete(Pa, Qa):.4f}   KL(Q||P) = {kl_discrete(Qa, Pa):.4f}")
assert abs(kl_discrete(Pa, Qa) - kl_discrete(Qa, Pa)) > 0.1
assert np.mean(np.abs(kl_discrete(P, Q) - kl_discrete(Q, P)) > 1e-3) > 0.9   # asymmetric as a rule

mixture = Mixture1D(weights=[0.5, 0.5], means=[-2.0, 2.0], stds=[0.6, 0.6])
fits = fit_gaussian_kl(mixture)


def quad(f):
    return integrate.quad(f, -15, 15, points=[-2, 0, 2], limit=400, epsabs=1e-12, epsrel=1e-11)[0]


def gauss(t, m, lv):
    return float(gaussian_log_prob(np.array([[t]]), m, lv)[0])


def forward_kl(m, lv):      # KL(p || q) by quadrature
    return quad(lambda t: np.exp(mixture.log_pdf(t)) * (mixture.log_pdf(t) - gauss(t, m, lv)))


def reverse_kl(m, lv):      # KL(q || p) by quadrature
    return quad(lambda t: np.exp(gauss(t, m, lv)) * (gauss(t, m, lv) - mixture.log_pdf(t)))


mix_mean = quad(lambda t: t * np.exp(mixture.log_pdf(t)))
mix_var = quad(lambda t: (t - mix_mean) ** 2 * np.exp(mixture.log_pdf(t)))
print("forward fit (mean, var):", fits.forward[0], np.exp(fits.forward[1]), "  moments of p:", mix_mean, mix_var)
print("reverse fit (mean, var):", fits.reverse[0], np.exp(fits.reverse[1]))
assert abs(fits.forward[0] - mix_mean) < 1e-9 and abs(np.exp(fits.forward[1]) - mix_var) < 1e-8
assert abs(abs(fits.reverse[0]) - 2.0) < 0.05 and abs(np.exp(0.5 * fits.reverse[1]) - 0.6) < 0.05

# each fit wins its own direction (both KLs of both fits by adaptive quadrature)
table = {name: (forward_kl(*fit), reverse_kl(*fit))
         for name, fit in (("forward fit", fits.forward), ("reverse fit", fits.reverse))}
for name, (f, r) in table.items():
    print(f"{name}:  KL(p||q) = {f:.6f}   KL(q||p) = {r:.6f}")
assert table["forward fit"][0] < table["reverse fit"][0]
assert table["reverse fit"][1] < table["forward fit"][1]
# the package reports the same four numbers (its own quadrature rule, independent of scipy's)
for name, key in (("forward fit", "forward_fit"), ("reverse fit", "reverse_fit")):
    assert abs(fits.forward_kl[key] - table[name][0]) < 1e-8
    assert abs(fits.reverse_kl[key] - table[name][1]) < 1e-8

# both fits are stationary points of their objective (finite differences of the quadratures)
g_fwd = numerical_gradient(lambda th: forward_kl(*th), np.array(fits.forward), h=1e-4)
g_rev = numerical_gradient(lambda th: reverse_kl(*th), np.array(fits.reverse), h=1e-4)
g_mode = numerical_gradient(lambda th: reverse_kl(*th), np.array([-2.0, np.log(0.36)]), h=1e-4)
print("gradient at the forward fit:", g_fwd, "  at the reverse fit:", g_rev,
      "  at the mode's own (mean, logvar):", g_mode)
# Finite differences of a quadrature with h = 1e-4 resolve gradients down to ~1e-8; a point that
# is not stationary, such as the component's own parameters, has a gradient far larger.
assert np.max(np.abs(g_fwd)) < 1e-6 and np.max(np.abs(g_rev)) < 1e-6
assert np.max(np.abs(g_mode)) > 100 * np.max(np.abs(g_rev))

# %% [markdown]
# **Several local optima.** A descent on the reverse KL started at the centre, $m=0$ with the
# mixture's variance, stops at a broad Gaussian centred between the modes. Symmetry alone puts its
# mean at 0, so "it stopped at 0" says nothing; what makes it a local *minimum* is positive
# curvature, checked below with a finite-difference Hessian of scipy's quadrature. It is one at
# every separation tried, from modes that almost merge to modes far apart. The overlap decides
# which minimum is the global one: at $\pm1.5$ the broad Gaussian has the *lower* reverse KL, and
# mode seeking is then only a local optimum; at $\pm3$ and $\pm6$ a mode wins by far. Checks: the
# Hessian at the centred end point is positive definite at each separation; at $\pm1.5$ the descent
# from the left mode stays on it and ends with a KL higher by more than 0.1 nats, and
# `fit_gaussian_kl` finds the lower one; even with overlapping modes the two directions still
# disagree (the reverse fit is narrower than the moment-matched forward fit).

# %% demo=true
def reverse_kl_to(target, m, lv):
    """KL(N(m, e^lv) || target) by scipy's adaptive quadrature over +-14 standard deviations."""
    def g(t):
        lq = gauss(t, m, lv)
        return np.exp(lq) * (lq - target.log_pdf(t))
    s = np.exp(0.5 * lv)
    return integrate.quad(g, m - 14 * s, m + 14 * s, limit=400, epsabs=1e-13, epsrel=1e-12)[0]


def hessian(f, th, h=1e-3):
    """Central second differences of f at th (2,): a (2, 2) matrix."""
    e = np.eye(2) * h
    return np.array([[(f(th + e[i] + e[j]) - f(th + e[i] - e[j]) - f(th - e[i] + e[j])
                       + f(th - e[i] - e[j])) / (4 * h * h) for j in range(2)] for i in range(2)])


for a in (0.6, 1.5, 3.0, 6.0):
    target = Mixture1D(weights=[0.5, 0.5], means=[-a, a], stds=[0.6, 0.6])
    m_c, lv_c, kl_c = reverse_kl_descent(target, 0.0, np.log(target.var()))
    m_m, lv_m, kl_m = reverse_kl_descent(target, -a, np.log(0.36))
    curvature = np.linalg.eigvalsh(hessian(lambda th: reverse_kl_to(target, *th), np.array([m_c, lv_c])))
    print(f"modes at +-{a}: centre var {np.exp(lv_c):6.3f} KL {kl_c:7.4f} (Hessian eigenvalues "
          f"{curvature.round(3)});  from the mode: mean {m_m:+.3f} KL {kl_m:.4f}")
    assert curvature.min() > 0.01                           # a local minimum, not only symmetric

close = Mixture1D(weights=[0.5, 0.5], means=[-1.5, 1.5], stds=[0.6, 0.6])
m_mode, lv_mode, _ = reverse_kl_descent(close, -1.5, np.log(0.36))
m_ctr, lv_ctr, _ = reverse_kl_descent(close, 0.0, np.log(close.var()))
kl_mode, kl_ctr = reverse_kl_to(close, m_mode, lv_mode), reverse_kl_to(close, m_ctr, lv_ctr)
fits_close = fit_gaussian_kl(close)
print(f"+-1.5 from the left mode: mean {m_mode:+.3f}, var {np.exp(lv_mode):.3f}, KL(q||p) {kl_mode:.4f}")
print(f"+-1.5 from the centre   : mean {m_ctr:+.3f}, var {np.exp(lv_ctr):.3f}, KL(q||p) {kl_ctr:.4f}")
print(f"fit_gaussian_kl         : mean {fits_close.reverse[0]:+.3f}, var {np.exp(fits_close.reverse[1]):.3f};"
      f"  forward fit var {np.exp(fits_close.forward[1]):.3f}")
assert m_mode < -1.0                                          # a second stationary point, on the mode
assert kl_ctr < kl_mode - 0.1                                 # the mode is only a local optimum
assert abs(reverse_kl_to(close, *fits_close.reverse) - kl_ctr) < 1e-8   # the package finds the global one
assert np.exp(fits_close.forward[1]) > np.exp(fits_close.reverse[1]) + 0.3

# %% demo=true
t_grid = np.linspace(-5, 5, 801)
plot_kl_fits(t_grid, np.exp(mixture.log_pdf(t_grid)),
             np.exp(gaussian_log_prob(t_grid[:, None], *fits.forward)),
             np.exp(gaussian_log_prob(t_grid[:, None], *fits.reverse)))

# %% [markdown]
# ## D4.3 — Continuous KL is an expectation, so it can be estimated by sampling
#
# For densities the sum becomes an integral, and the integral is an expectation under the first
# argument:
#
# $$\mathrm{KL}(q\,\|\,p)=\int q(z)\log\frac{q(z)}{p(z)}\,dz=\mathbb E_{z\sim q}\big[\log q(z)-\log p(z)\big]
#   \approx\frac1S\sum_{s=1}^S\big[\log q(z_s)-\log p(z_s)\big],\quad z_s\sim q .$$
#
# The Monte-Carlo average is unbiased, and its standard error shrinks like $1/\sqrt S$. It needs
# only samples from $q$ and the two log-densities — no closed form. Individual terms can be
# negative (a sample where $p$ happens to exceed $q$); only their expectation is guaranteed to be
# non-negative.
#
# First against the Gaussian closed form of chapter 05 (`kl_normal`), with a tolerance of 4
# standard errors, estimated from the samples themselves:

# %% demo=true
mu1, lv1 = rng.normal(size=3), rng.normal(0, 0.5, size=3)
mu2, lv2 = rng.normal(size=3), rng.normal(0, 0.5, size=3)
exact = float(kl_normal(mu1, lv1, mu2, lv2).sum())
for S in (10, 100, 1_000, 10_000, 100_000):
    est, se = mc_kl_normal(mu1, lv1, mu2, lv2, S, rng)
    print(f"S={S:>6}: estimate {est:.4f} +- {se:.4f}   (closed form {exact:.4f})")
    assert abs(est - exact) < 4 * se

z = mu1 + np.exp(0.5 * lv1) * rng.standard_normal((1000, 3))
terms = gaussian_log_prob(z, mu1, lv1) - gaussian_log_prob(z, mu2, lv2)
print(f"fraction of negative single-sample terms: {np.mean(terms < 0):.2f}")
assert np.any(terms < 0) and exact > 0

# %% [markdown]
# And where no formula exists: the reverse KL between the Gaussian fit and the mixture of D4.2,
# estimated by sampling the Gaussian, against the quadrature value.

# %% demo=true
m_r, lv_r = fits.reverse
zs = m_r + np.exp(0.5 * lv_r) * rng.standard_normal(200_000)
terms = gaussian_log_prob(zs[:, None], m_r, lv_r) - mixture.log_pdf(zs)
est, se = terms.mean(), terms.std(ddof=1) / np.sqrt(len(zs))
print(f"Monte Carlo {est:.5f} +- {se:.5f}   quadrature {reverse_kl(m_r, lv_r):.5f}")
assert abs(est - reverse_kl(m_r, lv_r)) < 4 * se

# %% [markdown]
# ## Try this
#
# 1. D4.1: give $Q$ a zero where $P$ is positive (`Q = [0.5, 0.5, 0.0]`, `P = [0.4, 0.4, 0.2]`).
#    What does `kl_discrete(P, Q)` return, and what does `kl_discrete(Q, P)` return? Relate the
#    answer to the two fits of D4.2.
# 2. D4.2: move the modes closer (`means=[-0.6, 0.6]`, a unimodal mixture). Both fits are now
#    centred; compare their variances. Why do they still differ, and for which $p$ would they
#    coincide?
# 3. D4.2: make the mixture unequal (`weights=[0.8, 0.2]`). Which mode does the reverse fit pick,
#    and does `fit_gaussian_kl` ever land on the smaller one?
# 4. D4.3: estimate the KL in the *other* direction, sampling from the second Gaussian. Which
#    direction has the larger standard error for the same $S$, and why?
# 5. D4.3: take two Gaussians with very different variances (`lv1 = 3`, `lv2 = -3`). How many
#    samples are needed for a 1 % relative error?

# %% [markdown]
# ## Exercises
#
# Write each function below in place of `raise NotImplementedError()`, then run the cell after it:
# it grades your function against exact arithmetic or quadrature and, if something is off, says in
# one sentence what. Points are in each heading.

# %%
from elbo_edu.course.checks import check_kl_discrete, check_mc_kl_gaussian, check_moment_match

# %% [markdown]
# ### Exercise 4.1 — Discrete KL (2 points)
#
# Return $\mathrm{KL}(p\,\|\,q)=\sum_i p_i\log(p_i/q_i)$ in nats for probability vectors `p`, `q`;
# entries with $p_i=0$ contribute $0$.

# %% solution="ex04_1"
def kl_discrete(p, q):
    """KL(p || q) of two probability vectors, in nats (0 log 0 = 0)."""
    ### BEGIN SOLUTION
    m = p > 0
    return np.sum(p[m] * np.log(p[m] / q[m]))
    ### END SOLUTION

# %% grade="ex04_1" points=2
check_kl_discrete(kl_discrete)
### BEGIN HIDDEN TESTS
check_kl_discrete(kl_discrete, seed=41)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 4.2 — A Monte-Carlo KL between two Gaussians (2 points)
#
# With $x_k=\mu_1+\sigma_1\varepsilon_k$ for the given standard-normal `eps` `(K,)`, return
# $\frac1K\sum_k[\log p_1(x_k)-\log p_2(x_k)]$, where $p_j=\mathcal N(\mu_j, e^{\mathrm{logvar}_j})$.

# %% solution="ex04_2"
def mc_kl_gaussian(mu1, logvar1, mu2, logvar2, eps):
    """Monte-Carlo estimate of KL(N(mu1, e^logvar1) || N(mu2, e^logvar2)) from samples eps."""
    ### BEGIN SOLUTION
    x = mu1 + np.exp(0.5 * logvar1) * eps
    log_p1 = -0.5 * (np.log(2 * np.pi) + logvar1 + (x - mu1) ** 2 / np.exp(logvar1))
    log_p2 = -0.5 * (np.log(2 * np.pi) + logvar2 + (x - mu2) ** 2 / np.exp(logvar2))
    return np.mean(log_p1 - log_p2)
    ### END SOLUTION

# %% grade="ex04_2" points=2
check_mc_kl_gaussian(mc_kl_gaussian)
### BEGIN HIDDEN TESTS
check_mc_kl_gaussian(mc_kl_gaussian, seed=42)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 4.3 — The forward-KL fit to a mixture (3 points)
#
# The Gaussian $q$ that minimises $\mathrm{KL}(p\,\|\,q)$ matches the mean and the variance of $p$.
# Return them for a 1-D Gaussian mixture with component `weights`, `means` and `variances`
# (each `(C,)`), as the pair `(mean, var)`.

# %% solution="ex04_3"
def moment_match(weights, means, variances):
    """Mean and variance of the mixture sum_c w_c N(means_c, variances_c)."""
    ### BEGIN SOLUTION
    mean = np.sum(weights * means)
    return mean, np.sum(weights * (variances + means ** 2)) - mean ** 2
    ### END SOLUTION

# %% grade="ex04_3" points=3
check_moment_match(moment_match)
### BEGIN HIDDEN TESTS
check_moment_match(moment_match, seed=43)
### END HIDDEN TESTS
