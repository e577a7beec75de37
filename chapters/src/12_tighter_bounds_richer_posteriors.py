# %% [markdown]
# # Chapter 12 — Tighter bounds and richer posteriors
#
# **Derivation steps covered:** D12.1, D12.2, D12.3
#
# The VAE of chapters 09–11 maximises the ELBO with a diagonal Gaussian $q$ produced by one
# encoder for all data points. Each of those three choices leaves nats on the table, and this
# chapter measures each one. First the bound itself: the importance-weighted bound of chapter 10
# can be *trained* instead of only evaluated (Burda, Grosse & Salakhutdinov, *Importance Weighted
# Autoencoders*, 2016). Then the gap $\log p(x)-\mathrm{ELBO}$ of a trained model is split into
# what the diagonal family costs and what sharing one encoder costs (Cremer, Li & Duvenaud,
# *Inference Suboptimality in Variational Autoencoders*, 2018). Finally a richer family: a
# Gaussian with a full covariance matrix, which removes the mean-field floor of chapter 06
# exactly, and one layer of a normalising flow (Rezende & Mohamed, *Variational Inference with
# Normalizing Flows*, 2015) for posteriors that are not Gaussian at all.
#
# To keep the chapter fast the digits are subsampled to 14×14 pixels; nothing in the code
# depends on the image size.

# %% demo=true
import numpy as np

from elbo_edu.data import load_dataset
from elbo_edu.estimators import elbo_estimate, iwae_bound
from elbo_edu.estimators.iwae_objective import fit_iwae, iwae_loss, iwae_loss_and_grads, iwae_objective
from elbo_edu.models.flows import PlanarFlow, fit_planar_flow, tanh_ridge_log_density
from elbo_edu.gradcheck import GradCheckReport, numerical_gradient
from elbo_edu.estimators.grid import grid_posterior, make_grid
from elbo_edu.models import LinearGaussian
from elbo_edu.models.gap_decomposition import decompose_gap, grid_kl_gaussian_grad
from elbo_edu.plots import plot_density_2d
from elbo_edu.plots.beyond_figures import plot_gap_decomposition
from elbo_edu.models.posteriors import (cholesky_factor, cholesky_factor_grad, fit_full_covariance,
                                        fit_full_gaussian_by_quadrature, full_gaussian_log_prob,
                                        full_gaussian_sample, kl_full_gaussians, lg_full_elbo,
                                        lg_full_elbo_grad)
from elbo_edu.train import train
from elbo_edu.vae import VAE

digits = load_dataset("embedded", n_train=1500, n_test=200)


def small(x):
    """28x28 digits -> 14x14 (every other pixel), shape (N, 196)."""
    return np.ascontiguousarray(x.reshape(-1, 28, 28)[:, ::2, ::2].reshape(-1, 196))


x_train, x_test = small(digits.x_train), small(digits.x_test)
print(x_train.shape, x_test.shape)

# %% [markdown]
# ## D12.1 — The importance-weighted bound as a training objective
#
# With $z_k=\mu_\phi(x)+\sigma_\phi(x)\odot\varepsilon_k$ and weights $w_k=p_\theta(x,z_k)/q_\phi(z_k\mid x)$,
# chapter 10 showed that $\mathcal L_K=\log\frac1K\sum_k w_k$ is, in expectation, a lower bound on
# $\log p(x)$ that tightens as $K$ grows, and equals the ELBO at $K=1$. Nothing stops us from
# maximising $\mathcal L_K$ instead of the ELBO. Its gradient, with the noise held fixed, is the
# derivative of a log-sum-exp:
#
# $$\nabla\mathcal L_K=\frac{\sum_k w_k\,\nabla\log w_k}{\sum_j w_j}=\sum_k\tilde w_k\,\nabla\log w_k,
#   \qquad \tilde w_k=\operatorname{softmax}_k(\log w_1,\dots,\log w_K).$$
#
# So every sample contributes its own one-sample ELBO gradient $\nabla\log w_k$ (chapter 09),
# scaled by its *normalised* weight: samples that explain $x$ well dominate. One detail differs
# from chapter 09, which used the closed-form KL: here $\log q$ is evaluated at the reparameterized
# sample, and as a function of $(\mu,\log\sigma^2)$ it equals
# $-\tfrac12\lVert\varepsilon_k\rVert^2-\tfrac12\sum_j\log\sigma^2_j+\text{const}$ — it adds $+\tfrac12$
# per dimension to $\partial\log w_k/\partial\log\sigma^2$ and nothing to $\partial/\partial\mu$.
#
# Checks: every parameter's gradient against central differences in float64; and the formula
# itself, by computing each $\nabla\log w_k$ alone (a $K=1$ call on that sample) and forming the
# weighted sum.

# %% demo=true
rng = np.random.default_rng(12)
tiny = VAE(6, 3, (7, 5), "bernoulli", activation="tanh", dtype=np.float64, rng=rng)
x_tiny, eps = rng.uniform(size=(4, 6)), rng.standard_normal((5, 4, 3))
_, grads = iwae_loss_and_grads(tiny, x_tiny, 5, eps)
analytic = {k: g.copy() for k, g in grads.items()}
report = GradCheckReport()
for name, p in tiny.params.items():
    report.add(name, analytic[name], numerical_gradient(lambda _: iwae_loss(tiny, x_tiny, 5, eps), p, h=1e-5))
print(report)
assert report.passed and report.max_error < 1e-7

x1, e1 = x_tiny[:1], eps[:, :1]
_, log_w = iwae_objective(tiny, x1, 5, e1)
w_tilde = np.exp(log_w[:, 0] - log_w[:, 0].max())
w_tilde /= w_tilde.sum()
one_at_a_time = {k: np.zeros_like(p) for k, p in tiny.params.items()}
for j in range(5):
    _, g = iwae_loss_and_grads(tiny, x1, 1, e1[j:j + 1])
    for k in one_at_a_time:
        one_at_a_time[k] += w_tilde[j] * g[k]
_, g = iwae_loss_and_grads(tiny, x1, 5, e1)
print("normalised weights:", np.round(w_tilde, 3))
assert all(np.allclose(g[k], one_at_a_time[k], rtol=1e-12, atol=1e-14) for k in g)

# %% [markdown]
# Now train the same network three times on the same 1 500 digits — same initial weights, the
# same minibatches in the same order (`fit_iwae` draws the data order and the noise from two
# separate generators; the noise itself cannot be shared, since $K=50$ draws fifty times as much)
# — with $K=1$ (a VAE whose KL is estimated by sampling), $K=5$ and $K=50$, and judge
# each model by $\mathrm{IWAE}_{5000}$ on 40 held-out digits — a bound so tight that it stands in
# for $\log p(x)$. Burda et al. report that larger training $K$ gives a better density model.
# Check: the $K=50$ model beats the $K=1$ model by more than 4 standard errors of the paired
# per-digit difference. (Over seeds 0–4 on both backends the gain was 2.2–3.5 nats, 5.7–6.9
# standard errors, and the $K=50$ model's ELBO was 5.1–6.2 nats worse than the $K=1$ model's.)
#
# The encoder's own ELBO is printed too, and tells the other half of the story: the $K=50$
# model's ELBO is *worse*. The IWAE objective only needs *some* of the $K$ samples to land well,
# so it stops pushing $q$ to be a good posterior on its own; Rainforth et al., *Tighter Variational
# Bounds are Not Necessarily Better* (2018), show that the encoder's gradient signal-to-noise
# ratio even decays as $K$ grows.

# %% demo=true
x_eval = x_test[:40]
bounds, elbos = {}, {}
for k in (1, 5, 50):
    model = VAE(196, 8, hidden=(64,), rng=np.random.default_rng(0))
    hist = fit_iwae(model, x_train, k, epochs=5, batch_size=100, lr=3e-3, seed=0)
    bounds[k] = iwae_bound(model, x_eval, 5000, rng=np.random.default_rng(1))
    elbos[k] = elbo_estimate(model, x_eval, 200, rng=np.random.default_rng(2))
    print(f"trained with K = {k:2d}: final training loss {hist[-1]:6.2f}   "
          f"test IWAE_5000 {bounds[k].mean():7.2f}   test ELBO {elbos[k].mean():7.2f} nats")
gain = bounds[50] - bounds[1]
se = gain.std(ddof=1) / np.sqrt(gain.size)
print(f"IWAE_5000 gain of K = 50 over K = 1: {gain.mean():.2f} +- {se:.2f} nats")
assert gain.mean() > 4 * se

# %% [markdown]
# ## D12.2 — The gap, split: approximation and amortisation
#
# For a data point $x$ let $q^\star_x$ be the **best diagonal Gaussian for that one point** — the
# maximiser of its ELBO, found by optimising its mean and log-variance directly, as in chapter 06.
# The encoder's $q_\phi(z\mid x)$ can be no better, and the identity
#
# $$\underbrace{\log p(x)-\mathrm{ELBO}(q_\phi)}_{\text{inference gap}}
#   =\underbrace{\log p(x)-\mathrm{ELBO}(q^\star_x)}_{\text{approximation gap}}
#   +\underbrace{\mathrm{ELBO}(q^\star_x)-\mathrm{ELBO}(q_\phi)}_{\text{amortisation gap}}$$
#
# separates two causes: the family is too poor (no diagonal Gaussian fits the posterior), or the
# encoder is (one network cannot output each point's best member). With a 2-D latent space the
# true posterior is available on a grid (chapter 10, D10.3), and $q^\star_x$ is found by minimising
# $\mathrm{KL}(q\,\|\,p(z\mid x))$ by quadrature, with the gradient of a Gaussian expectation,
# $\partial_m\mathbb E_q[f]=\mathbb E_q[f\,(z-m)/s^2]$ (written out in
# `elbo_edu.models.gap_decomposition`).
#
# The identity is a tautology when all three terms come from one set of numbers, so the two sides
# are computed separately: the **left** from the grid evidence minus a Monte-Carlo ELBO of the
# encoder's $q$ (2 000 samples); the **right** from the quadrature KL of $q^\star_x$ plus a
# Monte-Carlo difference of the two ELBOs using common noise (another 2 000 samples).
#
# Even so, the sum telescopes for *any* $q^\star_x$: a $q^\star_x$ from three optimiser steps
# satisfies it just as well, with an approximation gap several times too large and an
# amortisation gap too small. What makes the split mean something is that $q^\star_x$ is the
# optimum, so that is checked too, by its first-order condition: the gradient of the grid KL with
# respect to $(m,\log s^2)$ at $q^\star_x$ must vanish. (Over seeds 0–4 its largest entry after
# 300 steps was at most $5\times10^{-5}$; after 3 steps it was at least 0.15 for every digit.)
# Checks: the grid holds both $q$'s (mass 1), $q^\star_x$ is stationary (gradient below
# $10^{-3}$), both gaps on the
# right are non-negative, and the two sides agree within 4 standard errors plus
# $2\times10^{-3}$ nats of quadrature.

# %% demo=true
vae2 = VAE(196, 2, hidden=(64,), rng=np.random.default_rng(0))
train(vae2, x_train, epochs=4, batch_size=100, lr=3e-3, seed=0, progress=False)
gaps = decompose_gap(vae2, x_test[:6], make_grid(-6, 6, 161), n_samples=2000, steps=300,
                     rng=np.random.default_rng(3))
right = gaps.approximation_gap + gaps.amortisation_gap
se = np.hypot(gaps.inference_gap_se, gaps.amortisation_gap_se)
for i in range(6):
    print(f"digit {i}: inference {gaps.inference_gap[i]:.3f} = approximation "
          f"{gaps.approximation_gap[i]:.3f} + amortisation {gaps.amortisation_gap[i]:.3f} "
          f"(= {right[i]:.3f}, se {se[i]:.3f})")
grid2 = make_grid(-6, 6, 161)
dm_star, dlv_star = grid_kl_gaussian_grad(grid_posterior(vae2, x_test[:6], grid2).log_posterior, grid2,
                                          gaps.best_mean, gaps.best_logvar)
stationarity = max(np.abs(dm_star).max(), np.abs(dlv_star).max())
print(f"largest gradient of the grid KL at q*: {stationarity:.1e}")
assert np.all(np.abs(gaps.grid_mass - 1) < 1e-3) and stationarity < 1e-3
assert np.all(gaps.approximation_gap > 0)
assert np.all(gaps.amortisation_gap > -4 * gaps.amortisation_gap_se)
assert np.all(np.abs(gaps.inference_gap - right) < 4 * se + 2e-3)

# %% demo=true
plot_gap_decomposition(gaps.approximation_gap, gaps.amortisation_gap, gaps.inference_gap,
                       stderr=gaps.inference_gap_se)

# %% [markdown]
# ## D12.3 — A full-covariance posterior closes the mean-field floor; one flow layer can go further
#
# **Full covariance.** Chapter 06 found that in the linear-Gaussian model no diagonal $q$ reaches
# the posterior: the gap stops at the *mean-field floor*
# $\tfrac12\big(\sum_k\log\Lambda_{kk}-\log\det\Lambda\big)$, $\Lambda$ the posterior precision.
# Let $q=\mathcal N(m, LL^\top)$ with $L$ lower-triangular and a positive diagonal (we store the
# strict lower triangle as it is and the diagonal as $\log L_{ii}$, so every real parameter is valid).
# Its pieces, by hand:
#
# * sample: $z=m+L\varepsilon$, so for an upstream gradient $g=\partial f/\partial z$,
#   $\partial f/\partial m=g$ and $\partial f/\partial L=\operatorname{tril}(g\,\varepsilon^\top)$;
# * entropy: $\log\det(LL^\top)=2\sum_i\log L_{ii}$, so $H=\tfrac K2\log(2\pi e)+\sum_i\log L_{ii}$ and
#   $\partial H/\partial L=\operatorname{diag}(1/L_{ii})$;
# * for the linear-Gaussian log-joint, $\nabla_z\log p(x,z)=W^\top(x-b-Wz)/\sigma^2-z$; averaged over
#   $\varepsilon$ the reparameterization gradient becomes $\nabla_m=W^\top(x-b-Wm)/\sigma^2-m$ and
#   $\nabla_L=\operatorname{tril}(-\Lambda L)+\operatorname{diag}(1/L_{ii})$.
#
# The gradient vanishes where $m$ is the posterior mean and $LL^\top=\Lambda^{-1}$: the family
# contains the posterior. Checks, on chapter 06's model and first data point: the ELBO gradient
# against finite differences; $\log p(x)-\mathrm{ELBO}(q)=\mathrm{KL}(q\,\|\,p(z\mid x))$ for a random
# full-covariance $q$, both sides computed independently; and gradient ascent from $q=\mathcal N(0,I)$
# that ends with a gap below $10^{-10}$ nats while the diagonal family's floor stays above 0.1.

# %% demo=true
rng6 = np.random.default_rng(6)                          # chapter 06's model and data
lg = LinearGaussian.random(x_dim=6, z_dim=2, rng=rng6, sigma2=0.4)
x0 = lg.sample(5, rng6)[0]
log_px = lg.log_evidence(x0[None])[0]
post_mean, post_cov = lg.posterior(x0[None])
Lam = lg.precision
floor = 0.5 * (np.sum(np.log(np.diag(Lam))) - np.linalg.slogdet(Lam)[1])

m_r, raw_r = rng.standard_normal(2), rng.standard_normal((2, 2))
dm, dL = lg_full_elbo_grad(lg, x0, m_r, cholesky_factor(raw_r))
f = lambda _: lg_full_elbo(lg, x0, m_r, cholesky_factor(raw_r))
check = GradCheckReport()
check.add("dELBO/dm", dm, numerical_gradient(f, m_r))
check.add("dELBO/draw", cholesky_factor_grad(raw_r, dL), numerical_gradient(f, raw_r))
print(check)
assert check.passed and check.max_error < 1e-7

L_r = cholesky_factor(raw_r)
lhs = log_px - lg_full_elbo(lg, x0, m_r, L_r)
rhs = kl_full_gaussians(m_r, L_r @ L_r.T, post_mean[0], post_cov)
print(f"random q: log p(x) - ELBO = {lhs:.12f},  KL(q || p(z|x)) = {rhs:.12f}")
assert abs(lhs - rhs) < 1e-10 * max(1.0, abs(lhs))

m_fit, L_fit, trace = fit_full_covariance(lg, x0, steps=800)
print(f"mean-field floor {floor:.4f} nats;  full-covariance gap after ascent "
      f"{log_px - trace[-1]:.2e} nats")
assert floor > 0.1 and abs(log_px - trace[-1]) < 1e-10
assert np.allclose(L_fit @ L_fit.T, post_cov, rtol=0, atol=1e-10)

# %% [markdown]
# **One planar flow layer.** A Gaussian, however full its covariance, cannot bend. A normalising
# flow pushes a simple $q_0$ through an invertible map $f$ and keeps track of the density by the
# change of variables, $\log q_1(f(z_0))=\log q_0(z_0)-\log\lvert\det\partial f/\partial z_0\rvert$.
# The planar layer is
#
# $$f(z)=z+u\tanh(w^\top z+b),\qquad \det\frac{\partial f}{\partial z}=1+(1-\tanh^2(w^\top z+b))\,u^\top w$$
#
# (a rank-one update of the identity, whose determinant is one scalar by the matrix determinant
# lemma). Its backward pass, log-determinant included, is written out in `elbo_edu.models.flows`; the
# check below compares all of it with finite differences, and the log-determinant with the log of
# a numerically differentiated Jacobian.
#
# As a target we take a bent 2-D density with a known normaliser, $z_1\sim\mathcal N(0,1)$,
# $z_2\mid z_1\sim\mathcal N(2\tanh z_1,\,0.3^2)$, so $-\mathrm{ELBO}$ is exactly the KL to it. A
# diagonal Gaussian and a Gaussian followed by one planar layer are fitted by Adam on
# reparameterized ELBO gradients. The yardstick is the best *full-covariance* Gaussian of the
# first half of this section, fitted without Monte-Carlo noise: its ELBO is an expectation under
# $q$, computed with a Gauss–Hermite rule through $z=m+L\varepsilon$
# (`fit_full_gaussian_by_quadrature`, the same sample and entropy gradients as above). A tilted
# ellipse follows the ridge's average slope, which is worth a lot, but it cannot bend.
#
# A random start does not always find the bend. Over seeds 0–9 of this fit (1 200 steps), six
# starts found the exact map (KL below 0.03 nats); three stopped at 0.31–0.35 nats and one at
# 0.50 nats (with $u^\top w<-1$, no longer invertible), no better than the best full-covariance
# Gaussian's 0.307. The seed below is one of the six. Checks: the diagonal Gaussian's KL stays
# above 1.5 nats; the full-covariance Gaussian's KL is confirmed by a Monte-Carlo KL from $10^5$
# fresh draws through its log-density, within 4 standard errors (the package's tests also reach
# the same optimum with another parameterisation and optimiser); and the flow beats it by more
# than 0.2 nats — the check fails for a flow stuck in one of the local optima, and for any Gaussian.

# %% demo=true
flow = PlanarFlow(2, rng=np.random.default_rng(5), scale=1.0)
z0, dy, dl = rng.standard_normal((5, 2)), rng.standard_normal((5, 2)), rng.standard_normal(5)
flow.zero_grad()
flow.forward(z0)
dz = flow.backward(dy, dl)
logdet = flow.logdet.copy()


def flow_objective(_):
    return float(np.sum(flow.forward(z0) * dy) + np.sum(flow.logdet * dl))


flow_check = GradCheckReport()
for name, p in flow.params.items():
    flow_check.add(f"planar d{name}", flow.grads[name].copy(), numerical_gradient(flow_objective, p))
flow_check.add("planar dz", dz, numerical_gradient(flow_objective, z0))
print(flow_check)
assert flow_check.passed and flow_check.max_error < 1e-7
J = np.stack([numerical_gradient(lambda v: flow.forward(v[None])[0, i], z0[0].copy()) for i in range(2)])
assert abs(logdet[0] - np.log(abs(np.linalg.det(J)))) < 1e-8

q_flow, layer, trace_flow = fit_planar_flow(tanh_ridge_log_density, steps=1200, batch=128,
                                            lr=0.02, seed=1)
q_gauss, _, trace_gauss = fit_planar_flow(tanh_ridge_log_density, flow=False, steps=1200,
                                          batch=128, lr=0.02, seed=1)
m_full, L_full, trace_full = fit_full_gaussian_by_quadrature(tanh_ridge_log_density)
kl_flow, kl_gauss, kl_full = -trace_flow[-200:].mean(), -trace_gauss[-200:].mean(), -trace_full[-1]
draws = full_gaussian_sample(m_full, L_full, np.random.default_rng(8).standard_normal((100_000, 2)))
log_ratio = full_gaussian_log_prob(draws, m_full, L_full) - tanh_ridge_log_density(draws)[0]
kl_full_mc, kl_full_se = log_ratio.mean(), log_ratio.std(ddof=1) / np.sqrt(log_ratio.size)
print(f"KL(q || target): diagonal Gaussian {kl_gauss:.3f} nats, best full-covariance Gaussian "
      f"{kl_full:.4f} (Monte Carlo {kl_full_mc:.4f} +- {kl_full_se:.4f}), Gaussian + one planar layer "
      f"{kl_flow:.3f} nats;  u = {np.round(layer.params['u'], 2)}, w = {np.round(layer.params['w'], 2)}")
assert kl_gauss > 1.5 and abs(kl_full - kl_full_mc) < 4 * kl_full_se
assert kl_flow < kl_full - 0.2 and layer.invertible()

# %% [markdown]
# The target's density with 400 draws from the fitted flow on top: the samples follow the bend
# that no Gaussian can.

# %% demo=true
axis = np.linspace(-3.5, 3.5, 141)
zz = np.stack(np.meshgrid(axis, axis), axis=-1).reshape(-1, 2)
density = np.exp(tanh_ridge_log_density(zz)[0]).reshape(141, 141)
draw = np.random.default_rng(7).standard_normal((400, 2))
samples = layer.forward(q_flow["m"] + np.exp(0.5 * q_flow["logvar"]) * draw)
plot_density_2d(axis, axis, density, points=samples, title="Target density and planar-flow samples",
                axis_labels=(r"$z_1$", r"$z_2$"))

# %% [markdown]
# ## Try this
#
# 1. Train with $K=50$ for twice as many epochs and compare the test ELBO and $\mathrm{IWAE}_{5000}$
#    with the $K=1$ model trained for the same *time* (not the same number of epochs).
# 2. Replace the encoder's gradient by the "sticking the landing" variant — drop the score term
#    of $\log q$, its direct dependence on $(\mu,\log\sigma^2)$ at a fixed $z_k$ — and check with
#    finite differences which terms you removed. (The "doubly reparameterized" estimator is a
#    different change: it rewrites the score term through $z_k$ instead of dropping it, which
#    turns the weights $\tilde w_k$ of the path term into $\tilde w_k^2$.)
# 3. In D12.2, train `vae2` for 20 epochs instead of 4: which of the two gaps shrinks?
# 4. Fit the planar flow from seeds 0–9 and print each final KL beside the best full-covariance
#    Gaussian's: how many starts find the exact map, and how many end no better than an ellipse?
#    Stack two layers (apply `PlanarFlow` twice, in a loop of your own) and count again.

# %% [markdown]
# ## Exercises
#
# Write each function below in place of `raise NotImplementedError()`, then run the cell after it:
# it grades your function against finite differences, determinants computed another way or Monte
# Carlo and, if something is off, says in one sentence what. Points are in each heading.

# %%
from elbo_edu.course.checks import (check_full_gaussian_entropy, check_iwae_value_and_grad,
                                    check_planar_logdet)

# %% [markdown]
# ### Exercise 12.1 — The IWAE bound and its gradient (3 points)
#
# `log_w` `(K, N)` holds $K$ log-weights $\log w_{kn}$ for each of $N$ data points, and
# `grad_log_w` `(K, N, P)` the gradient of each one with respect to $P$ parameters. Return the pair
# `(bound, grad)`: the $N$ bounds $\log\frac1K\sum_k w_{kn}$ and the $N$ gradients
# $\sum_k\tilde w_{kn}\nabla\log w_{kn}$, shape `(N, P)`. The grader's log-weights are near $-800$,
# where `np.exp` gives exactly 0, so both parts must be computed with the largest log-weight of
# each column taken out first.

# %% solution="ex12_1"
def iwae_value_and_grad(log_w, grad_log_w):
    """IWAE bound (N,) and its gradient (N, P) from log-weights (K, N) and their gradients (K, N, P)."""
    ### BEGIN SOLUTION
    top = log_w.max(axis=0)
    w = np.exp(log_w - top)                       # the largest weight of each column is 1
    bound = top + np.log(w.mean(axis=0))
    w_tilde = w / w.sum(axis=0)                   # normalised weights, a softmax over k
    return bound, np.sum(w_tilde[..., None] * grad_log_w, axis=0)
    ### END SOLUTION

# %% grade="ex12_1" points=3
check_iwae_value_and_grad(iwae_value_and_grad)
### BEGIN HIDDEN TESTS
check_iwae_value_and_grad(iwae_value_and_grad, seed=121)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 12.2 — The entropy of a full-covariance Gaussian (2 points)
#
# For a lower-triangular `L` `(K, K)` with a positive diagonal, return the entropy of
# $\mathcal N(m, LL^\top)$ in nats (one number; it does not depend on $m$). Use the triangular
# structure rather than a general determinant.

# %% solution="ex12_2"
def full_gaussian_entropy_mine(L):
    """H[N(m, L L^T)] for a lower-triangular L with positive diagonal, a float."""
    ### BEGIN SOLUTION
    k = L.shape[0]
    return 0.5 * k * (np.log(2 * np.pi) + 1.0) + np.sum(np.log(np.diag(L)))
    ### END SOLUTION

# %% grade="ex12_2" points=2
check_full_gaussian_entropy(full_gaussian_entropy_mine)
### BEGIN HIDDEN TESTS
check_full_gaussian_entropy(full_gaussian_entropy_mine, seed=122)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 12.3 — The planar layer's log-determinant (3 points)
#
# For rows `z` `(N, K)` and the layer $f(z)=z+u\tanh(w^\top z+b)$ (`u`, `w` of shape `(K,)`, `b` a
# number), return $\log\lvert\det\partial f/\partial z\rvert$ for every row, shape `(N,)`. The grader
# differentiates $f$ numerically and takes the log-determinant of that Jacobian; it also tries a
# layer with $u^\top w<-1$, where the determinant changes sign from row to row.

# %% solution="ex12_3"
def planar_logdet(z, u, w, b):
    """log |det df/dz| of the planar layer f(z) = z + u tanh(w.z + b) for each row of z: (N,)."""
    ### BEGIN SOLUTION
    dt = 1.0 - np.tanh(z @ w + b) ** 2
    return np.log(np.abs(1.0 + dt * (u @ w)))
    ### END SOLUTION

# %% grade="ex12_3" points=3
check_planar_logdet(planar_logdet)
### BEGIN HIDDEN TESTS
check_planar_logdet(planar_logdet, seed=123)
### END HIDDEN TESTS
