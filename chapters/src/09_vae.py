# %% [markdown]
# # Chapter 09 — The variational autoencoder
#
# **Derivation steps covered:** D9.1, D9.2, D9.3, D9.4
#
# All the parts are now on the table: the ELBO (chapter 06), the log-densities (chapter 07), the
# reparameterization trick (chapter 08) and the closed-form KL (chapter 05). A variational
# autoencoder puts them together with two neural networks: an **encoder** that turns each data point
# into the parameters of its own $q_\phi(z\mid x)$, and a **decoder** that turns a latent code into the
# parameters of $p_\theta(x\mid z)$. Both are trained at once by stochastic gradient ascent on the
# ELBO, which is why the same objective serves both inference and learning (Kingma & Welling, *An
# Introduction to Variational Autoencoders*; Doersch, *Tutorial on Variational Autoencoders*). This
# chapter writes the objective out, checks its hand-written gradient end to end against finite
# differences, and trains the model on MNIST digits.

# %%
import platform
import time

import numpy as np

from elbo_edu.data import binarize_dynamic, load_dataset
from elbo_edu.distributions import bernoulli_log_prob, kl_std_normal
from elbo_edu.gradcheck import GradCheckReport, numerical_gradient
from elbo_edu.plots import plot_curves, plot_reconstructions, plot_samples
from elbo_edu.optim import Adam
from elbo_edu.train import evaluate
from elbo_edu.vae import VAE

rng = np.random.default_rng(9)
digits = load_dataset("embedded")                  # 8 000 + 2 000 MNIST digits, shipped inside
print(digits)

# %% [markdown]
# ## D9.1 — Encoder and decoder
#
# The encoder is one network with $2Z$ outputs, read as the mean and the log-variance of a diagonal
# Gaussian:
#
# $$q_\phi(z\mid x)=\mathcal N\big(z;\ \mu_\phi(x),\ \operatorname{diag}\sigma^2_\phi(x)\big),\qquad
#   [\mu_\phi(x),\ \log\sigma^2_\phi(x)]=\mathrm{MLP}_\phi(x).$$
#
# Predicting $\log\sigma^2$ rather than $\sigma^2$ lets the network output any real number while the
# variance stays positive. The decoder is a second network from $z$ to the parameters of
# $p_\theta(x\mid z)$: for binary digits, one Bernoulli logit per pixel. One network serving every
# $x$ is called *amortised* inference: instead of optimising a separate $q$ for each data point, as
# in chapter 06, we learn a function that outputs it. Check: the shapes, the parameter names, and
# that `encode` is the encoder's output split into its two halves.

# %% demo=true
model = VAE(784, 20, hidden=(400,), likelihood="bernoulli", rng=np.random.default_rng(0))
x = digits.x_train[:64]
mu, logvar = model.encode(x)
logits = model.decode(mu)
print(sorted(model.params))
assert mu.shape == logvar.shape == (64, 20) and logits.shape == (64, 784)
assert model.params["encoder.2.W"].shape == (400, 40)           # 2 * z_dim outputs
h = model.encoder.forward(x)
assert np.array_equal(h[:, :20], mu) and np.array_equal(h[:, 20:], logvar)

# %% [markdown]
# ## D9.2 — One sample per data point, averaged over a minibatch
#
# For each data point $x_n$ of a minibatch of size $M$, draw one $\varepsilon_n\sim\mathcal N(0,I)$, set
# $z_n=\mu_\phi(x_n)+\sigma_\phi(x_n)\odot\varepsilon_n$ and estimate that point's ELBO with one sample of
# the reconstruction term and the exact KL:
#
# $$\widehat{\mathrm{ELBO}}(x_n)=\log p_\theta(x_n\mid z_n)-\mathrm{KL}\big(q_\phi(z\mid x_n)\,\|\,p(z)\big),
#   \qquad \text{loss}=-\frac1M\sum_{n=1}^{M}\widehat{\mathrm{ELBO}}(x_n).$$
#
# It is unbiased for the average ELBO of the minibatch, and the minibatch average is unbiased for the
# data-set average (chapter 01), so its gradient is an unbiased gradient of the objective. Check: the
# model's loss (computed by the backend's fused kernels) equals this formula computed here from
# its parts — $z=\mu+\sigma\odot\varepsilon$ by hand, chapter 07's Bernoulli density, chapter 05's
# KL — and so does each of the two terms the model reports.

# %% demo=true
eps = rng.standard_normal((64, 20)).astype(np.float32)
loss = model.loss(x, eps)
z = mu + np.exp(0.5 * logvar) * eps
recon_by_hand = -np.mean(bernoulli_log_prob(x, model.decode(z)))
kl_by_hand = np.mean(kl_std_normal(mu, logvar))
print(f"loss {loss:.4f}: recon {model.last.recon:.4f} (by hand {recon_by_hand:.4f}), "
      f"KL {model.last.kl:.4f} (by hand {kl_by_hand:.4f})")
assert abs(loss - (recon_by_hand + kl_by_hand)) < 1e-5 * abs(loss)       # float32 rounding
assert abs(model.last.recon - recon_by_hand) < 1e-5 * abs(recon_by_hand)
assert abs(model.last.kl - kl_by_hand) < 1e-5 * abs(kl_by_hand)

# %% [markdown]
# ## D9.3 — The whole negative ELBO, backpropagated by hand and checked
#
# The backward pass runs the forward pass in reverse, one local derivative at a time:
#
# 1. reconstruction: $\partial(-\log p)/\partial\ell=\sigma(\ell)-x$ per pixel (chapter 07), times $1/M$;
# 2. through the decoder layers to $\partial/\partial z$ (chapter 02);
# 3. through $z=\mu+\sigma\varepsilon$: $\partial z/\partial\mu=1$, $\partial z/\partial\log\sigma^2=\tfrac12\sigma\varepsilon$ (chapter 08);
# 4. plus the KL's own derivatives $\mu$ and $\tfrac12(\sigma^2-1)$, times $\beta/M$ (chapter 05);
# 5. through the encoder layers to every weight.
#
# Every one of these pieces was checked alone. Here the assembled gradient of **every parameter**
# is compared with central finite differences of the loss, in float64 with the noise $\varepsilon$
# held fixed. To keep the number of loss evaluations small the digits are subsampled to 14×14 and
# the network is narrow — the code path is the same as for the full model.
#
# One numerical detail: the loss is a sum over 196 pixels (about $10^2$ nats) while the first
# layer's gradients are small, so the rounding error of a difference quotient,
# $\approx\epsilon_{\text{mach}}\lvert\text{loss}\rvert/h$, is what limits the check at the usual
# $h=10^{-6}$. The fourth-order central stencil
# $\big[-f(x+2h)+8f(x+h)-8f(x-h)+f(x-2h)\big]/12h$ has truncation error $O(h^4)$, so it can use
# $h=10^{-4}$, which makes the rounding error a hundred times smaller.

# %% demo=true
x_small = digits.x_train[:6].reshape(6, 28, 28)[:, ::2, ::2].reshape(6, 196).astype(np.float64)
small = VAE(196, 3, hidden=(12,), likelihood="bernoulli", dtype=np.float64,
            rng=np.random.default_rng(1))
eps_small = rng.standard_normal((6, 3))
_, grads = small.loss_and_grads(x_small, eps_small)
analytic = {k: g.copy() for k, g in grads.items()}
report = GradCheckReport()
for name, p in small.params.items():
    numeric = numerical_gradient(lambda _: small.loss(x_small, eps_small), p, h=1e-4, order=4)
    report.add(name, analytic[name], numeric)
print(report)
assert report.passed and report.max_error < 1e-7

# %% [markdown]
# ## D9.4 — Training on MNIST
#
# Training is minibatch stochastic gradient descent on the loss with Adam: shuffle, take 128 digits,
# draw their noise, compute loss and gradient, step. The whole loop is ten lines of the public API
# (`VAE.loss_and_grads`, `Adam.step`); `elbo_edu.train.train` is the same loop with checkpoints,
# resuming and a run folder. One detail matters for the reported training loss: 8 000 is not a
# multiple of 128, so the last minibatch of an epoch is smaller, and a plain average of the batch
# means would count its digits more than the others. Each batch mean is weighted by its size, as
# `train` does, so the epoch's number is the average over digits. We use the 8 000 digits shipped with the package so the chapter runs
# offline in seconds; `load_dataset("mnist")` gives the full 60 000 with no other change.
#
# **Which data the Bernoulli decoder sees matters for what the loss means.** PyTorch's example
# feeds the grey levels directly as Bernoulli targets. That trains, but the Bernoulli is a
# distribution on $\{0,1\}$: on grey levels its "log-likelihood" is a cross-entropy, not the log of
# a density on $[0,1]$ (chapter 07), so the number in nats is **not** $-\log p(x)$ and cannot be
# compared with published log-likelihoods. Here every minibatch is **dynamically binarized** (a
# fresh $x\sim\mathrm{Bernoulli}(\text{grey levels})$ each time), and the test set is binarized once,
# so the test loss is a genuine negative ELBO, an upper bound on $-\log p(x)$ of binary digits.
#
# Checks that can fail: after training the test negative ELBO beats, by a wide margin, the best
# model that ignores all dependence between pixels — independent Bernoulli pixels with the training
# frequencies, whose test negative log-likelihood is exact — and the untrained network; and the
# test loss falls over the first epochs (from epoch 1 to 4 and from 4 to 8; single epochs may
# fluctuate by a fraction of a nat, so we do not claim a fall at every epoch).

# %% demo=true
x_test_bin = binarize_dynamic(digits.x_test, np.random.default_rng(0))
start = evaluate(model, x_test_bin)["loss"]
opt = Adam(model.params, model.grads, lr=1e-3)
rng_train = np.random.default_rng(0)
metrics = []
for epoch in range(1, 9):
    perm = rng_train.permutation(len(digits.x_train))             # a new shuffle every epoch
    total = 0.0
    for i in range(0, len(perm), 128):
        xb = binarize_dynamic(digits.x_train[perm[i:i + 128]], rng_train)
        total += model.loss_and_grads(xb, rng=rng_train)[0] * len(xb)   # fills model.grads
        opt.step()
    metrics.append({"epoch": epoch, "train_loss": total / len(perm),       # per digit
                    **{f"test_{k}": v for k, v in evaluate(model, x_test_bin).items()}})
    print(f"epoch {epoch}  test negative ELBO {metrics[-1]['test_loss']:7.2f}  "
          f"(recon {metrics[-1]['test_recon']:6.2f}, KL {metrics[-1]['test_kl']:5.2f})")

# the baseline: independent pixels, p_j = training frequency (smoothed), exact test NLL
freq = (digits.x_train.astype(np.float64).sum(0) + 1) / (len(digits.x_train) + 2)
baseline = -np.mean(bernoulli_log_prob(x_test_bin.astype(np.float64), np.log(freq / (1 - freq))))
test = [m["test_loss"] for m in metrics]
print(f"untrained {start:.1f} nats; independent pixels {baseline:.1f} nats; VAE {test[-1]:.1f} nats")
assert test[-1] < baseline - 30 and test[-1] < start - 300      # measured: see the printout
assert test[7] < test[3] < test[0]

# %% demo=true
plot_curves(metrics)

# %% [markdown]
# Reconstructions decode the posterior mean $\mu_\phi(x)$ of held-out digits (top row: input; bottom:
# the Bernoulli means $\sigma(\ell)$). Samples decode $z\sim\mathcal N(0, I)$: the encoder is not used
# at all, which is chapter 10's subject.

# %% demo=true
plot_reconstructions(digits.x_test[:8], model.reconstruct(digits.x_test[:8]))

# %% demo=true
plot_samples(model.sample(32, np.random.default_rng(1)), nrow=8)

# %% [markdown]
# ### Aside — numbers too small to be normal
#
# A float32 number has an 8-bit exponent, so the smallest *normal* positive value is
# $2^{-126}\approx 1.2\times10^{-38}$ (`np.finfo(np.float32).tiny`). Below it the format keeps going
# with *subnormal* numbers, which give up precision bit by bit down to $2^{-149}$. They are correct
# but, on many x86 processors, an arithmetic operation that meets one takes a slow path in
# microcode, many times slower than the ordinary one. How much slower depends on the processor:
# on Intel cores the penalty is large, on recent AMD cores (such as the Zen 4 EPYC the package is
# tested on) a multiplication with subnormal inputs costs about the same as a normal one. The
# last cell of this aside measures it on your machine and prints the processor's name.
#
# Training produces them without any bug. A pixel that is blank in every digit of a minibatch
# contributes a zero row to $x^\top$, so the gradient of all 400 first-layer weights of that pixel
# is exactly 0 on that step. Adam's first moment then only decays, $m \leftarrow 0.9\,m$, and after
# $k$ such steps a moment of size $m_0$ has become $0.9^k m_0$: it crosses into the subnormal range
# after $k = \lceil \log(\text{tiny}/m_0) / \log 0.9 \rceil$ steps — about 740 for $m_0 = 10^{-4}$.
# Border pixels are blank in nearly every batch, so this is the fate of a large share of the
# first layer's moments. Worse, the decay never finishes: the subnormals are the multiples
# $n\cdot2^{-149}$, and $0.9\,n$ rounds back to $n$ for $n\le 4$, so a moment that reaches one of
# the four smallest subnormals stays there for good. The package's Adam therefore sets any moment below `tiny` to zero as it
# updates it (`elbo_edu.special.flush_subnormal`, in both backends): a normal value is unchanged to
# the last bit, and a subnormal one would have contributed less than $10^{-38}$ anyway.
#
# Flushing the moments is not the whole story. The textbook update multiplies the moment by the
# step size, about $10^{-3}$: for a moment between tiny and tiny$/10^{-3}$ (the last 65 or so of its
# zero-gradient steps before the flush) the product $\text{step}\cdot m$ is subnormal although $m$
# is not. The package writes the update as $m\cdot\big(\text{step}/(\sqrt v+\hat\epsilon)\big)$:
# the factor multiplying $m$ exceeds 1 for every weight whose $\sqrt v$ is well below the step
# size, and there the product stays normal; where $\sqrt v$ is larger it can still be subnormal,
# and such an update is flushed like the moments (it could only move a weight smaller than
# $2^{24}\cdot$tiny). The check below counts both products over the 1 200 steps. In real training,
# where $v$ remembers real gradients, this reordering took the slow 15 % of the first layer's Adam
# calls on the README's Intel machine from 2–4 ms to 0.3 ms.
#
# Checks that can fail: the step count from the formula matches repeated multiplication; the
# blank pixels of the last batch really got zero gradients; over 1 200 zero-gradient steps the
# unflushed textbook update holds subnormal moments, ends with them stuck at the four smallest
# subnormals, while the package's update never holds one; every value the textbook update
# keeps normal is identical in both; and the package's order of the update meets fewer subnormal
# products than $\text{step}\cdot m$ would.

# %% demo=true
from elbo_edu.kernels.numpy_backend import adam_update

tiny = np.finfo(np.float32).tiny
m0 = np.float32(1e-4)
k_formula = int(np.ceil(np.log(tiny / m0) / np.log(0.9)))
value, k_repeated = m0, 0
while value >= tiny:
    value, k_repeated = np.float32(value * np.float32(0.9)), k_repeated + 1
print(f"m0 = 1e-4 becomes subnormal after {k_repeated} zero-gradient steps (formula: {k_formula})")
assert abs(k_repeated - k_formula) <= 1

blank = (xb == 0).all(axis=0)                    # pixels blank in all digits of the last batch
assert np.all(model.grads["encoder.0.W"][blank] == 0)
print(f"{blank.sum()} of 784 pixels blank in the last batch: {400 * blank.sum()} first-layer "
      f"weights with gradient exactly 0")

is_subnormal = lambda a: (a != 0) & (np.abs(a) < tiny)                  # noqa: E731
f32 = np.float32
m_book = opt.m["encoder.0.W"].copy()             # the textbook update, no flush
m_ours, v_ours = m_book.copy(), opt.v["encoder.0.W"].copy()
p_ours, zero_grad = model.params["encoder.0.W"].copy(), np.zeros_like(m_book)
worst, product_subnormal, update_subnormal = 0, 0, 0
for k in range(1, 1201):
    m_book = f32(0.9) * m_book
    adam_update(p_ours, zero_grad, m_ours, v_ours, step=1e-3, b1=0.9, b2=0.999, eps_hat=1e-8)
    assert not is_subnormal(m_ours).any()        # the package's moments: never subnormal
    product_subnormal += int(is_subnormal(f32(1e-3) * m_ours).sum())         # textbook order
    update_subnormal += int(is_subnormal(m_ours * (f32(1e-3) / (np.sqrt(v_ours) + f32(1e-8))))
                            .sum())                                         # the package's order
    normal = ~is_subnormal(m_book)
    assert np.array_equal(m_ours[normal], m_book[normal])
    worst = max(worst, int(is_subnormal(m_book).sum()))
    if k % 300 == 0:
        print(f"after {k:4d} steps: textbook update {is_subnormal(m_book).sum():7d} subnormal "
              f"moments, the package's 0")
assert worst > 0
print(f"subnormal products over the 1200 steps: step * m {product_subnormal}, "
      f"the package's order {update_subnormal}")
assert update_subnormal < product_subnormal
stuck = m_book[is_subnormal(m_book)] / f32(2.0 ** -149)       # in units of the smallest subnormal
assert stuck.size > 0 and set(np.unique(np.abs(stuck))) <= {1.0, 2.0, 3.0, 4.0}
assert np.array_equal(f32(0.9) * m_book, m_book)               # a fixed point: they never decay

# what they cost on this processor (a measurement, not a check): one multiplication pass, the
# output written once before timing (its first use would pay for mapping the memory), the two
# kinds of input timed in turns and the median taken
def processor_name():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            return next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


inputs = {"normal": np.full(1_000_000, 1e-30, np.float32), "subnormal": np.full(1_000_000, 1e-40, np.float32)}
out = np.empty_like(inputs["normal"])
np.multiply(inputs["normal"], f32(0.9), out=out)                  # touch every page of out
times = {name: [] for name in inputs}
for _ in range(15):
    for name, arr in inputs.items():
        t0 = time.perf_counter()
        np.multiply(arr, f32(0.9), out=out)
        times[name].append(time.perf_counter() - t0)
ms = {name: 1e3 * float(np.median(t)) for name, t in times.items()}
print(f"on {processor_name()}: normal inputs {ms['normal']:.2f} ms, subnormal {ms['subnormal']:.2f} ms "
      f"per million (ratio {ms['subnormal'] / ms['normal']:.1f})")

# %% [markdown]
# ## Try this
#
# 1. Train on the full MNIST set (`load_dataset("mnist")`) for 10 epochs with `train`, once on grey
#    levels (as PyTorch's example, about 105 nats) and once with `binarize="dynamic"`, and print
#    both test losses after every epoch. Which of the two is lower, and at which epochs? Only the
#    second is a bound on a log-likelihood: why? Compute $\sum_j H(g_j)$, the binary entropy
#    $-g\log g-(1-g)\log(1-g)$ of each test digit's grey levels summed over pixels, and explain
#    what it says about the first number. For numbers comparable with the literature, train and
#    evaluate on the statically binarized MNIST (`load_dataset("binarized-mnist")`) and report
#    IWAE bounds (chapter 10).
# 2. Set `z_dim` to 2 and draw the encoder means of the test digits coloured by label
#    (`plot_latent_scatter`): which digits overlap?
# 3. Break the backward pass on purpose (for instance drop the $\tfrac12$ of step 3 in a copy of the
#    code) and watch which rows of the gradient check fail.
# 4. Drop the `binarize_dynamic` call in the loop (grey-level targets) and compare the
#    reconstructions: what changes when the targets are strictly 0 or 1?

# %% [markdown]
# ## Exercises
#
# Write the three pieces of a VAE training step that the earlier chapters derived, and the step
# that joins them; each test cell grades one function against quadrature or finite differences and
# says in one sentence what is wrong. Then the last cell **trains a VAE with your functions in place
# of the package's** (on the NumPy backend) and checks the whole model's gradient with them.

# %%
from elbo_edu.course.checks import (check_bernoulli_and_grad, check_encoder_output_grad,
                                    check_kl_and_grad, check_reparameterize_backward)
from elbo_edu.course.grading import fail
from elbo_edu.course.substitute import student_functions
from elbo_edu.train import train                   # the package's loop, for the last cell

# %% [markdown]
# ### Exercise 9.1 — The KL term and its gradient (3 points)
#
# For `mu`, `logvar` `(N, Z)` return `(kl, dmu, dlogvar)`: the `(N,)` values
# $\mathrm{KL}(q(z\mid x_n)\,\|\,\mathcal N(0,I))$ and the gradients of their **sum**.

# %% solution="ex09_1"
def kl_and_grad(mu, logvar):
    """Per-row KL to N(0, I) and the gradients of its sum: (kl (N,), dmu, dlogvar)."""
    ### BEGIN SOLUTION
    var = np.exp(logvar)
    return 0.5 * np.sum(var + mu * mu - 1.0 - logvar, axis=-1), mu.copy(), 0.5 * (var - 1.0)
    ### END SOLUTION

# %% grade="ex09_1" points=3
check_kl_and_grad(kl_and_grad)
### BEGIN HIDDEN TESTS
check_kl_and_grad(kl_and_grad, seed=91)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 9.2 — Backward through the reparameterization (2 points)
#
# Given `dz` $=\partial L/\partial z$ for $z=\mu+e^{\mathrm{logvar}/2}\varepsilon$, return
# `(dmu, dlogvar)`.

# %% solution="ex09_2"
def reparameterize_backward(dz, mu, logvar, eps):
    """(dL/dmu, dL/dlogvar) through z = mu + exp(logvar / 2) * eps."""
    ### BEGIN SOLUTION
    return dz.copy(), 0.5 * dz * np.exp(0.5 * logvar) * eps
    ### END SOLUTION

# %% grade="ex09_2" points=2
check_reparameterize_backward(reparameterize_backward)
### BEGIN HIDDEN TESTS
check_reparameterize_backward(reparameterize_backward, seed=92)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 9.3 — The Bernoulli likelihood and its gradient (3 points)
#
# For targets `x` and decoder `logits` `(N, D)` return `(logp, dlogits)`: the `(N,)` row
# log-likelihoods (finite for any logit) and the gradient of their **sum**.

# %% solution="ex09_3"
def bernoulli_and_grad(x, logits):
    """Row log-likelihoods of Bernoulli(sigmoid(logits)) and d(sum)/dlogits."""
    ### BEGIN SOLUTION
    e = np.exp(-np.abs(logits))
    logp = np.sum(x * logits - np.maximum(logits, 0) - np.log1p(e), axis=-1)
    sig = np.where(logits >= 0, 1.0, e) / (1.0 + e)
    return logp, x - sig
    ### END SOLUTION

# %% grade="ex09_3" points=3
check_bernoulli_and_grad(bernoulli_and_grad)
### BEGIN HIDDEN TESTS
check_bernoulli_and_grad(bernoulli_and_grad, seed=93)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 9.4 — Joining the decoder's gradient with the KL's (3 points)
#
# Step 4 of the backward pass above: the decoder hands back `dz` (already divided by the batch size
# `n`); the loss also holds $\frac1n\sum_n\mathrm{KL}_n$. Return the gradient with respect to the
# encoder output $h=[\mu,\ \mathrm{logvar}]$, shape `(N, 2Z)`. (Write it out; do not call your
# functions above, so that this exercise is graded on its own.)

# %% solution="ex09_4"
def encoder_output_grad(dz, mu, logvar, eps, n):
    """d/d[mu, logvar] of sum(dz * z) + sum(KL) / n, as one (N, 2Z) array."""
    ### BEGIN SOLUTION
    sigma = np.exp(0.5 * logvar)
    dmu = dz + mu / n
    dlogvar = 0.5 * dz * sigma * eps + 0.5 * (sigma * sigma - 1.0) / n
    return np.concatenate([dmu, dlogvar], axis=1)
    ### END SOLUTION

# %% grade="ex09_4" points=3
check_encoder_output_grad(encoder_output_grad)
### BEGIN HIDDEN TESTS
check_encoder_output_grad(encoder_output_grad, seed=94)
### END HIDDEN TESTS

# %% [markdown]
# ### Your code trains the model
#
# Inside `student_functions(...)` the package runs on its NumPy backend with **your** KL, your
# gradient through the reparameterization and your likelihood in place of its own
# (`elbo_edu.course.substitute`). First the gradient of a whole small VAE is checked against finite
# differences with your pieces in place; then a small VAE trains on 600 digits for two epochs, and
# `sub.calls` counts how often your functions ran. (This cell is not graded: it shows what your
# functions do inside the real model, and stops with one sentence if that gradient check fails.)

# %%
with student_functions(kl_and_grad=kl_and_grad, reparameterize_backward=reparameterize_backward,
                       bernoulli_and_grad=bernoulli_and_grad) as sub:
    student_report = sub.gradient_check()
    print(student_report)
    if not student_report.passed:                   # wrong student code stops here, in a sentence
        worst = max(student_report.rows, key=lambda r: r.max_rel_error)
        fail(f"With your functions in place the VAE's gradient disagrees with finite differences "
             f"(worst: {worst.name}, relative error {worst.max_rel_error:.1e}): check exercises "
             f"9.1-9.3.")
    mine = VAE(784, 8, hidden=(16,), likelihood="bernoulli", rng=np.random.default_rng(3))
    before = evaluate(mine, digits.x_test[:200])["loss"]
    history = train(mine, (digits.x_train[:600], digits.x_test[:200]), epochs=2, batch_size=50,
                    lr=3e-3, seed=0, progress=False)
print(f"gradient check with your functions: {'PASSED' if student_report.passed else 'FAILED'}")
assert history[-1]["test_loss"] < before                  # your functions trained the model
print(f"test loss {before:.1f} -> {history[-1]['test_loss']:.1f} nats; your functions ran "
      f"{dict(sub.calls)} times")
