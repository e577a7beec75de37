# %% [markdown]
# # Chapter 13 — Conditional and β-VAEs
#
# **Derivation steps covered:** D13.1, D13.2, D13.3
#
# Two practical questions close the course. How do we ask a VAE for a *particular* kind of output —
# "draw me a 7"? And what happens when the two terms of the ELBO are weighted differently? The
# first is answered by conditioning both networks on the label (Sohn, Lee & Yan, *Learning
# Structured Output Representation using Deep Conditional Generative Models*, 2015; Doersch,
# *Tutorial on Variational Autoencoders*, 2016, §4). The second by drawing every trained model as
# a point in the plane of **rate** (the KL term) and **distortion** (the reconstruction term)
# (Higgins et al., *β-VAE: Learning Basic Visual Concepts with a Constrained Variational Framework*,
# 2017; Alemi et al., *Fixing a Broken ELBO*, 2018). A heavy KL weight also shows the failure of
# chapter 11 at full strength — posterior collapse — and lets us measure two remedies against each
# other on the same model and seeds.
#
# As in chapter 12 the digits are subsampled to 14×14 pixels so that every experiment trains in
# seconds.

# %% demo=true
import numpy as np

from elbo_edu.data import load_dataset
from elbo_edu.gradcheck import GradCheckReport, numerical_gradient
from elbo_edu.models.cvae import CVAE, fit_cvae
from elbo_edu.models.digit_classifier import DigitClassifier
from elbo_edu.models.free_bits import compare_collapse_remedies, free_bits_loss_and_grads
from elbo_edu.models.linear_beta_vae import (fit_linear_beta_vae, linear_rate_distortion,
                                             optimal_rate_distortion)
from elbo_edu.experiments.rate_distortion import beta_sweep, chord_slopes, supporting_line_margins
from elbo_edu.plots import plot_active_units, plot_samples
from elbo_edu.plots.beyond_figures import plot_rate_distortion
from elbo_edu.vae import VAE

digits = load_dataset("embedded", n_train=3000, n_test=1000)


def small(x):
    """28x28 digits -> 14x14 (every other pixel), shape (N, 196)."""
    return np.ascontiguousarray(x.reshape(-1, 28, 28)[:, ::2, ::2].reshape(-1, 196))


x_train, x_test = small(digits.x_train), small(digits.x_test)
y_train, y_test = digits.y_train, digits.y_test
rng = np.random.default_rng(13)

# %% [markdown]
# ## D13.1 — The conditional VAE
#
# Give every distribution the label $y$ as an extra input: the prior stays $p(z)=\mathcal N(0,I)$,
# the decoder becomes $p_\theta(x\mid z,y)$ and the encoder $q_\phi(z\mid x,y)$. Chapter 06's argument
# goes through word for word with $y$ held fixed, and bounds the **conditional** evidence:
#
# $$\log p_\theta(x\mid y)=\log\int p_\theta(x\mid z,y)\,p(z)\,dz\ \ge\
#   \mathbb E_{q_\phi(z\mid x,y)}\big[\log p_\theta(x\mid z,y)\big]-\mathrm{KL}\big(q_\phi(z\mid x,y)\,\|\,p(z)\big).$$
#
# In code, "an extra input" is a one-hot vector $e_y$ concatenated to each network's input:
# encoder $[x,e_y]\mapsto[\mu,\log\sigma^2]$, decoder $[z,e_y]\mapsto$ Bernoulli logits. The backward
# pass is chapter 09's; the decoder's gradient with respect to its input has a $z$ part, which
# flows on through the reparameterization, and an $e_y$ part, which is dropped (the label is data).
# Because the decoder is told the class, $z$ is free to encode everything *else* — slant, stroke
# width, style — so a two-dimensional $z$ is enough. To generate a digit of class $y$: draw
# $z\sim\mathcal N(0,I)$ and decode $[z,e_y]$.
#
# Check: the whole conditional loss, gradient-checked end to end in float64.

# %% demo=true
tiny = CVAE(6, 3, 4, (7,), dtype=np.float64, rng=rng)
x_tiny, y_tiny, eps = rng.uniform(size=(5, 6)), rng.integers(0, 4, 5), rng.standard_normal((5, 3))
_, grads = tiny.loss_and_grads(x_tiny, y_tiny, eps)
analytic = {k: g.copy() for k, g in grads.items()}
report = GradCheckReport()
for name, p in tiny.params.items():
    report.add(name, analytic[name], numerical_gradient(lambda _: tiny.loss(x_tiny, y_tiny, eps), p, h=1e-5))
print(report)
assert report.passed and report.max_error < 1e-7

# %% [markdown]
# Train on 3 000 labelled digits, then ask for 30 of each class. Whether a generated image "is a
# 7" is judged by a separate softmax classifier (chapter 02) trained on the real digits only.
# Checks: the judge is accurate on real held-out digits (> 85 %), and it recognises the requested
# class in more than 90 % of the generated digits overall and in more than 70 % for every class.

# %% demo=true
cvae = CVAE(196, 2, 10, (128,), rng=np.random.default_rng(0))
hist = fit_cvae(cvae, x_train, y_train, epochs=6, batch_size=100, lr=3e-3, seed=0)
judge = DigitClassifier(196, seed=0)
judge.fit(x_train, y_train, epochs=10)
wanted = np.repeat(np.arange(10), 30)
generated = cvae.sample(wanted, np.random.default_rng(1))
per_class = np.array([np.mean(judge.predict(generated[wanted == c]) == c) for c in range(10)])
print(f"conditional negative ELBO per epoch: {np.round(hist, 1)}")
print(f"judge on real test digits: {judge.accuracy(x_test, y_test):.3f}")
print(f"generated digits recognised as requested: {np.mean(per_class):.3f};  per class {np.round(per_class, 2)}")
assert judge.accuracy(x_test, y_test) > 0.85
assert np.mean(per_class) > 0.9 and per_class.min() > 0.7

# %% [markdown]
# Each row asks for one digit, 0 to 9; each column uses the same $z$ for every row, so a column
# shows one "style" written as ten different digits.

# %% demo=true
z_styles = np.random.default_rng(2).standard_normal((10, 2)).astype(np.float32)
rows = [1 / (1 + np.exp(-cvae.decode(z_styles, np.full(10, c)))) for c in range(10)]
plot_samples(np.concatenate(rows), shape=(14, 14), nrow=10)

# %% [markdown]
# ## D13.2 — β and the rate–distortion plane
#
# Write the two terms of the negative ELBO, averaged over the data, as
#
# $$R=\mathbb E_x\,\mathrm{KL}\big(q(z\mid x)\,\|\,p(z)\big)\quad\text{(rate)},\qquad
#   D=-\mathbb E_x\,\mathbb E_{q(z\mid x)}\log p(x\mid z)\quad\text{(distortion)},$$
#
# so $-\mathrm{ELBO}=D+R$. The rate is the number of nats the code spends on each image, the
# distortion what is lost in reconstructing it. A β-VAE minimises $D+\beta R$: $\beta>1$ makes
# information in $z$ expensive, $\beta<1$ cheap. In the $(R,D)$ plane the lines $D+R=\text{const}$ are
# lines of equal ELBO, slope $-1$; the lines $D+\beta R=\text{const}$ have slope $-\beta$.
#
# Suppose the achievable $(R,D)$ pairs have a convex lower boundary $D(R)$, the frontier. Minimising
# $D+\beta R$ slides a line of slope $-\beta$ up from below until it touches the frontier, so the
# optimum is where the frontier's tangent has slope $-\beta$: $dD/dR=-\beta$. Only at $\beta=1$ is that
# line an ELBO line.
#
# **The tangent relation, to high precision.** It needs models that really sit at their optimum,
# so first a β-VAE where everything is computable: independent Gaussian coordinates
# $x_j\sim\mathcal N(0,v_j)$, encoder $q(z_j\mid x)=\mathcal N(a_jx_j,s_j^2)$, decoder
# $p(x_j\mid z)=\mathcal N(w_jz_j,\sigma^2)$. Averaged over the data, $R$ and $D$ are closed-form
# (`elbo_edu.models.linear_beta_vae`), and so is their optimum: coordinate $j$ gets rate
# $\tfrac12\log\big(v_j/(\beta\sigma^2)\big)$ if $v_j>\beta\sigma^2$ and **nothing** otherwise — the
# coordinate collapses, exactly the failure of D13.3 below, here with a reason: its signal is not
# worth its price. We *train* the model by gradient descent with the hand-written gradient (checked
# against finite differences), for each β and for $\beta(1\pm10^{-4})$. Checks: the trained
# $(R,D)$ equals the closed-form optimum; the central-difference slope of the trained frontier equals
# $-\beta$ to a relative $10^{-6}$; the collapsed coordinates are exactly those with $v_j\le\beta\sigma^2$.

# %% demo=true
v, s2 = np.array([4.0, 2.5, 1.3, 0.7, 0.35, 0.15]), 0.2
betas, d = np.array([0.25, 0.5, 1.0, 2.0, 4.0]), 1e-4
a, log_s2, w = fit_linear_beta_vae(v, s2, np.concatenate([betas, betas * (1 + d), betas * (1 - d)]))
rate_lin, dist_lin = linear_rate_distortion(v, s2, a, log_s2, w)
best = np.array([optimal_rate_distortion(v, s2, b) for b in betas])
slope = (dist_lin[5:10] - dist_lin[10:]) / (rate_lin[5:10] - rate_lin[10:])
for b, r, dd, sl in zip(betas, rate_lin, dist_lin, slope):
    print(f"beta = {b:4.2f}: trained R = {r:.6f}, D = {dd:.6f};  slope of the frontier {sl:.8f}")
assert np.allclose(rate_lin[:5], best[:, 0], rtol=0, atol=1e-6)
assert np.allclose(dist_lin[:5], best[:, 1], rtol=0, atol=1e-6)
assert np.all(np.abs(slope / -betas - 1) < 1e-6)
assert np.array_equal(np.exp(log_s2[:5]) > 1 - 1e-6, v[None, :] <= betas[:, None] * s2)

# %% [markdown]
# **On digits.** The same sweep with the MNIST VAE: five values of β, same initial weights and data
# order, $(R,D)$ measured on the training digits whose $D+\beta R$ was minimised. The picture has the
# shape the theory predicts — rate falls and distortion rises as β grows (checked) — but a few
# epochs of stochastic training do not put each model *exactly* on its optimum. The supporting-line
# form of the tangent relation, $D_j+\beta_iR_j\ge D_i+\beta_iR_i$ for every other model $j$, is printed
# as margins; over seeds 0–2 of this budget the worst margin ranged from +0.23 down to −0.51 nats, so
# on digits it is an illustration, not a check. The linear model above is where the relation is
# verified.

# %% demo=true
sweep = beta_sweep(x_train[:2000], x_train[:1000], list(betas), z_dim=8, hidden=(128,), epochs=6,
                   lr=2e-3, seed=0)
margins = supporting_line_margins(sweep.betas, sweep.rate, sweep.distortion)
for b, r, dd in zip(sweep.betas, sweep.rate, sweep.distortion):
    print(f"beta = {b:4.2f}:  rate {r:6.2f}  distortion {dd:6.2f}  -ELBO {r + dd:6.2f} nats")
print("chord slopes between neighbours:", np.round(chord_slopes(sweep.rate, sweep.distortion), 2))
print("worst margin of each supporting line:",
      np.round((margins + np.diag(np.full(5, np.inf))).min(1), 3))
assert np.all(np.diff(sweep.rate) < 0) and np.all(np.diff(sweep.distortion) > 0)

# %% demo=true
plot_rate_distortion(sweep.betas, sweep.rate, sweep.distortion)

# %% [markdown]
# ## D13.3 — Posterior collapse, and two remedies measured
#
# At $\beta=4$ the KL is expensive enough that the encoder gives up: the rate of the digit sweep is
# a fraction of a nat and almost every latent dimension carries nothing (chapter 11, D11.4). Two standard
# remedies:
#
# * **KL warm-up**: multiply the KL by a weight rising linearly from 0 to β over the first epochs, so
#   the code is used before it is charged for (chapter 11);
# * **free bits** (Kingma et al., *Improved Variational Inference with Inverse Autoregressive Flow*,
#   2016): replace the KL term by $\beta\sum_j\max\big(\lambda,\overline{\mathrm{KL}}_j\big)$, with
#   $\overline{\mathrm{KL}}_j$ the minibatch-average KL of dimension $j$. Below $\lambda$ nats a dimension
#   gets no KL gradient at all, so nothing pushes it back to the prior; above, the gradient is the
#   ordinary one. The derivative of $\max(\lambda,\cdot)$ is an indicator, so the hand-written
#   gradient is the chapter 05 KL gradient masked by dimension.
#
# Checks: the free-bits loss gradient against finite differences; then the same 16-dimensional
# VAE at $\beta=4$ trained three ways from the same initial weights, data order and noise, with the
# active units counted ($\operatorname{Var}_x\mu_j(x)>0.01$, chapter 11). Over seeds 0–4 on both
# backends (identical counts on the two) free bits kept all 16 units active in every run, the plain
# objective 2–7 and warm-up 1–7; the smallest lead of free bits was 9 units, and its test negative
# ELBO was 3.0–4.2 nats worse than the plain objective's. The check asserts what held in every run,
# with room: a lead of at least 6 units, and a worse test ELBO.

# %% demo=true
fb = VAE(6, 3, (7,), activation="tanh", dtype=np.float64, rng=rng)
x_fb, eps_fb = rng.uniform(size=(5, 6)), rng.standard_normal((5, 3))
free_bits_loss_and_grads(fb, x_fb, 0.12, eps_fb, beta=4.0)
analytic = {k: g.copy() for k, g in fb.grads.items()}
fb_check = GradCheckReport()
for name, p in fb.params.items():
    fb_check.add(name, analytic[name], numerical_gradient(
        lambda _: free_bits_loss_and_grads(fb, x_fb, 0.12, eps_fb, beta=4.0)[0], p, h=1e-5))
print(fb_check)
assert fb_check.passed and fb_check.max_error < 1e-7

runs = compare_collapse_remedies(x_train[:1500], x_test, z_dim=16, hidden=(64,), epochs=5,
                                 warmup_epochs=3, free_bits=0.5, beta=4.0, lr=3e-3, seed=0)
for key, r in runs.items():
    print(f"{key:9s}  active units {r.active.count:2d}/16   KL {r.kl_per_dim.sum():5.2f} nats   "
          f"test negative ELBO {r.test_loss:6.2f}")
others = max(runs["none"].active.count, runs["warmup"].active.count)
assert runs["free_bits"].active.count >= others + 6
assert runs["free_bits"].test_loss > runs["none"].test_loss

# %% [markdown]
# Free bits keeps the units open, but look at the price: the test negative ELBO of the free-bits
# model is *worse*. The encoder spends up to $\lambda$ nats per unit that are free under the training
# loss, whether or not they buy as much reconstruction as they cost in the true KL.
#
# Warm-up, on this model, does not reliably do either. Over the same five seeds it ended with more
# active units than the plain objective once (7 against 3), fewer once (1 against 2) and the same
# number three times; trained for 10 epochs instead of 5, it had more in two seeds (8 against 0,
# 3 against 2) and fewer in three (0 against 2, 6 against 8, 1 against 2). Its test negative ELBO
# was 0.5–1.2 nats worse after 5 epochs (three of them spent at a KL weight below β) and within
# ±0.4 nats of the plain objective's after 10. A ramp changes where the units are at the end of
# it, not the pressure that follows it: once the weight is β, the collapse of chapter 11 goes on
# as it would have, from whatever point the ramp left. One seed's picture, below, shows only one
# of these outcomes.

# %% demo=true
plot_active_units(runs["free_bits"].active.variances, threshold=0.01,
                  ylabel=r"$\mathrm{Var}_x\,\mu_j(x)$ (free bits, $\beta$ = 4)")

# %% demo=true
plot_active_units(runs["warmup"].active.variances, threshold=0.01,
                  ylabel=r"$\mathrm{Var}_x\,\mu_j(x)$ (warm-up, $\beta$ = 4)")

# %% [markdown]
# ## Try this
#
# 1. Give the conditional VAE a wrong label on purpose: encode a 3 with $y=3$, then decode its $z$
#    with $y=8$. What carries over from the 3?
# 2. Add β = 0.1 and β = 8 to the sweep. Where do the new points land, and do the supporting-line
#    margins stay non-negative?
# 3. Estimate the frontier's slope at β = 1 from a finer sweep around it (β = 0.8, 0.9, 1.1, 1.25)
#    and compare with −1.
# 4. Run the collapse comparison at β = 1 and at β = 2, and with `free_bits` = 0.1 and 1.0, over
#    seeds 0–4: does warm-up change the number of active units the same way in every seed at any
#    β, and what does each λ cost in test ELBO?

# %% [markdown]
# ## Exercises
#
# Write each function below in place of `raise NotImplementedError()`, then run the cell after it:
# it grades your function against quadrature, finite differences and the package's own models
# and, if something is off, says in one sentence what. Points are in each heading.

# %%
from elbo_edu.course.checks import (check_cvae_negative_elbo, check_free_bits_kl,
                                    check_rate_distortion)

# %% [markdown]
# ### Exercise 13.1 — The conditional negative ELBO (3 points)
#
# `encoder` and `decoder` are functions of one array: `encoder` maps $[x, e_y]$ `(N, D + C)` to
# $[\mu,\log\sigma^2]$ `(N, 2Z)`, and `decoder` maps $[z, e_y]$ `(N, Z + C)` to Bernoulli logits
# `(N, D)`, where $e_y$ is the one-hot row of label `y` among `n_classes` $=C$ classes (data first,
# label second). With the noise `eps` `(N, Z)`, return the negative conditional ELBO averaged over
# the batch: $\frac1N\sum_n\big[-\log p(x_n\mid z_n,y_n)+\mathrm{KL}(q(z\mid x_n,y_n)\,\|\,\mathcal N(0,I))\big]$
# with $z_n=\mu_n+\sigma_n\varepsilon_n$. The grader also runs your function on the networks of a
# package `CVAE` and compares with its `loss`.

# %% solution="ex13_1"
def cvae_negative_elbo(encoder, decoder, x, y, eps, n_classes):
    """Negative conditional ELBO, mean over the batch, one sample of z per row (a float)."""
    ### BEGIN SOLUTION
    e = np.eye(n_classes)[y]                                  # one-hot labels (N, C)
    h = encoder(np.concatenate([x, e], axis=1))
    z_dim = h.shape[1] // 2
    mu, logvar = h[:, :z_dim], h[:, z_dim:]
    z = mu + np.exp(0.5 * logvar) * eps
    logits = decoder(np.concatenate([z, e], axis=1))
    log_px = np.sum(x * logits - np.logaddexp(0.0, logits), axis=1)
    kl = 0.5 * np.sum(np.exp(logvar) + mu ** 2 - 1.0 - logvar, axis=1)
    return np.mean(kl - log_px)
    ### END SOLUTION

# %% grade="ex13_1" points=3
check_cvae_negative_elbo(cvae_negative_elbo)
### BEGIN HIDDEN TESTS
check_cvae_negative_elbo(cvae_negative_elbo, seed=131)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 13.2 — Rate and distortion of a batch (2 points)
#
# For a Bernoulli `VAE` `model` (use `model.encode(x) -> (mu, logvar)` and
# `model.decode(z) -> logits`), a batch `x` `(N, D)` and noise `eps` `(N, Z)`, return the pair
# `(rate, distortion)`: the batch-mean KL to the prior and the batch-mean $-\log p(x\mid z)$ at
# $z=\mu+\sigma\varepsilon$. The grader checks that their sum is the model's negative ELBO on the same
# noise.

# %% solution="ex13_2"
def rate_distortion(model, x, eps):
    """(rate, distortion) in nats per example."""
    ### BEGIN SOLUTION
    mu, logvar = model.encode(x)
    logits = model.decode(mu + np.exp(0.5 * logvar) * eps)
    rate = np.mean(0.5 * np.sum(np.exp(logvar) + mu ** 2 - 1.0 - logvar, axis=1))
    distortion = -np.mean(np.sum(x * logits - np.logaddexp(0.0, logits), axis=1))
    return rate, distortion
    ### END SOLUTION

# %% grade="ex13_2" points=2
check_rate_distortion(rate_distortion)
### BEGIN HIDDEN TESTS
check_rate_distortion(rate_distortion, seed=132)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 13.3 — The free-bits KL and its gradient (3 points)
#
# For encoder outputs `mu`, `logvar` `(N, Z)` and $\lambda$ = `lam` nats, return the triple
# `(value, dmu, dlogvar)`: $\sum_j\max(\lambda,\overline{\mathrm{KL}}_j)$, where
# $\overline{\mathrm{KL}}_j$ is the batch average of dimension $j$'s KL to $\mathcal N(0,1)$, and its
# gradient with respect to `mu` and `logvar` (each `(N, Z)`). A dimension below $\lambda$ must get a
# gradient of exactly zero.

# %% solution="ex13_3"
def free_bits_kl_and_grad(mu, logvar, lam):
    """sum_j max(lam, mean_n KL_nj) and its gradients (dmu, dlogvar), each (N, Z)."""
    ### BEGIN SOLUTION
    n = mu.shape[0]
    kl_bar = np.mean(0.5 * (np.exp(logvar) + mu ** 2 - 1.0 - logvar), axis=0)     # (Z,)
    on = (kl_bar > lam) / n                                    # 1/N where the KL counts, else 0
    return np.sum(np.maximum(lam, kl_bar)), mu * on, 0.5 * np.expm1(logvar) * on
    ### END SOLUTION

# %% grade="ex13_3" points=3
check_free_bits_kl(free_bits_kl_and_grad)
### BEGIN HIDDEN TESTS
check_free_bits_kl(free_bits_kl_and_grad, seed=133)
### END HIDDEN TESTS
