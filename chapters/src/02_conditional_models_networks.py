# %% [markdown]
# # Chapter 02 — Conditional models and neural networks
#
# **Derivation steps covered:** D2.1, D2.2, D2.3, D2.4
#
# A VAE's decoder is a *conditional* distribution $p_\theta(x\mid z)$ whose parameters are computed
# by a neural network. This chapter builds that idea from the ground up: a classifier is the
# simplest conditional model (a categorical distribution whose probabilities come from a network);
# a directed graphical model chains conditionals into a joint distribution; and every network is
# trained by backpropagation, which in `elbo_edu` is written by hand, layer by layer, and verified
# against finite differences.
#
# The chapter follows §1–1.2 of the lecture notes "Variational Auto Encoders" (after Kingma &
# Welling, *An Introduction to Variational Autoencoders*, 2019, §1.4–1.6).

# %% demo=true
import numpy as np
import matplotlib.pyplot as plt
from scipy import integrate

from elbo_edu import nn
from elbo_edu.data import make_moons
from elbo_edu.distributions import (
    bernoulli_log_prob, categorical_log_prob, categorical_log_prob_grad, gaussian_log_prob,
    gaussian_log_prob_grad, softmax,
)
from elbo_edu.experiments.errata import factorisation_demo
from elbo_edu.gradcheck import check_function, check_module, numerical_gradient, rel_error
from elbo_edu.optim import Adam

rng = np.random.default_rng(2)
F64 = np.float64

# %% [markdown]
# ## D2.1 — A categorical model $p(y\mid x)=\mathrm{Cat}(\mathrm{softmax}(\mathrm{NN}(x)))$
#
# A network maps an input $x$ to $K$ unconstrained numbers, the logits $\ell=\mathrm{NN}(x)$. The
# softmax turns them into a probability vector, $\pi_k=e^{\ell_k}/\sum_je^{\ell_j}$ — positive and
# summing to one for *any* logits — and the label is modelled as $y\sim\mathrm{Cat}(\pi)$:
#
# $$\log p(y\mid x)=\ell_y-\log\sum_{j=1}^Ke^{\ell_j}.$$
#
# Differentiating, $\partial\ell_y/\partial\ell_k=[k=y]$ and
# $\partial\log\sum_je^{\ell_j}/\partial\ell_k=\pi_k$, so the gradient of the loss
# $-\log p(y\mid x)$ with respect to the logits is remarkably simple:
#
# $$\frac{\partial\,(-\log p(y\mid x))}{\partial\ell}=\pi-\mathrm{onehot}(y).$$
#
# It is bounded in $[-1,1]$ and vanishes only when the model puts all its mass on the right class.

# %% demo=true
logits = rng.normal(0, 2, size=(6, 4))
y = rng.integers(0, 4, size=6)
probs = softmax(logits)
(dlogp,) = categorical_log_prob_grad(y, logits)                 # gradient of  log p
onehot = np.eye(4)[y]
print("gradient of -log p (first row):", np.round(-dlogp[0], 4), "  pi - onehot:",
      np.round(probs[0] - onehot[0], 4))
# the check that can fail: central finite differences of categorical_log_prob itself
report = check_function("categorical_log_prob", categorical_log_prob, categorical_log_prob_grad,
                        dict(y=y, logits=logits), rng=rng)
print(report)
assert report.passed

# %% [markdown]
# The formula is also numerically safe: the package shifts the logits by their maximum before
# exponentiating, so huge logits do not overflow.

# %% demo=true
big = np.array([[1000.0, 0.0, -1000.0]])
print(softmax(big), categorical_log_prob(np.array([1]), big))
assert np.isfinite(categorical_log_prob(np.array([1]), big)).all()
assert abs(categorical_log_prob(np.array([0]), big)[0]) < 1e-12   # log of a probability ~ 1

# %% [markdown]
# Now an actual network: a two-layer MLP with a tanh hidden layer classifies the two-moons data.
# Training minimises the average of $-\log p(y\mid x)$ (the softmax cross-entropy) with Adam; the
# backward pass starts from exactly the $(\pi-\mathrm{onehot})/N$ gradient above.

# %% demo=true
x_moons, y_moons = make_moons(400, rng, noise=0.15)
net = nn.mlp((2, 32, 2), nn.Tanh, rng=rng, dtype=F64)
opt = Adam(net.params, net.grads, lr=0.02)
losses = []
for step in range(300):
    net.zero_grad()
    loss, dlogits = nn.softmax_cross_entropy(net.forward(x_moons), y_moons)
    net.backward(dlogits)
    opt.step()
    losses.append(loss)
accuracy = np.mean(np.argmax(net.forward(x_moons), axis=1) == y_moons)
print(f"loss {losses[0]:.3f} -> {losses[-1]:.3f}, training accuracy {accuracy:.3f}")
# the starting loss of an untrained 2-class model is near log 2; training must beat chance clearly
assert losses[-1] < 0.25 * losses[0] and accuracy > 0.9

# %% demo=true
g = np.linspace(-1.8, 2.8, 200)
gx, gy = np.meshgrid(g, np.linspace(-1.3, 1.8, 150))
p1 = softmax(net.forward(np.column_stack([gx.ravel(), gy.ravel()])))[:, 1].reshape(gx.shape)
fig, ax = plt.subplots(figsize=(5.5, 3.6))
cs = ax.contourf(gx, gy, p1, levels=20, cmap="RdBu_r", alpha=0.7)
ax.scatter(*x_moons.T, c=y_moons, cmap="RdBu_r", s=8, edgecolors="k", linewidths=0.2)
fig.colorbar(cs, label="p(y = 1 | x)"); ax.set_title("A categorical model with a neural network")
fig.tight_layout()

# %% [markdown]
# ## D2.2 — A directed model factorises into conditionals
#
# A directed acyclic graph over variables $x_1,\dots,x_m$ gives each variable a set of parents
# $\mathrm{Pa}(x_j)$. The model is specified by one conditional per variable, and the joint
# distribution is their **product** (the chain rule of probability, with each conditional
# simplified to depend only on the parents):
#
# $$p(x_1,\dots,x_m)=\prod_{j=1}^m p(x_j\mid\mathrm{Pa}(x_j)),\qquad
#   \log p(x_1,\dots,x_m)=\sum_{j=1}^m\log p(x_j\mid\mathrm{Pa}(x_j)).$$
#
# (The lecture notes write this with a sum of the conditionals themselves; that is a slip — see
# the errata page, E1.) We enumerate all configurations of a small binary network
# $x_1\to x_2$, $\{x_1,x_2\}\to x_3$, each conditional a Bernoulli whose logit depends on the
# parents, and check that the product is a distribution, that summing out the last variable leaves
# the product of the remaining conditionals, and that the conditionals read back from the joint —
# $p(x_3=1\mid x_1,x_2)=p(x_1,x_2,1)/p(x_1,x_2)$, by counting — are the ones the model was built
# from, $\sigma(\text{logit})=1/(1+e^{-\text{logit}})$, written out here. (The log of the joint is
# then the sum of the log-factors: that is how `joint` is computed, so it needs no check.)

# %% demo=true
configs = np.array([[a, b, c] for a in (0, 1) for b in (0, 1) for c in (0, 1)], dtype=F64)  # (8, 3)
w = rng.normal(size=6)
logit = np.column_stack([np.full(8, w[0]),                                  # p(x1)
                         w[1] + w[2] * configs[:, 0],                       # p(x2 | x1)
                         w[3] + w[4] * configs[:, 0] + w[5] * configs[:, 1]])  # p(x3 | x1, x2)
log_factors = np.column_stack([bernoulli_log_prob(configs[:, j:j + 1], logit[:, j:j + 1])
                               for j in range(3)])                          # (8, 3)
joint = np.exp(log_factors).prod(axis=1)
assert abs(joint.sum() - 1.0) < 1e-14                                        # a distribution
p3_from_joint = joint[1::2] / (joint[0::2] + joint[1::2])                     # p(x3=1 | x1, x2)
assert np.allclose(p3_from_joint, 1 / (1 + np.exp(-logit[1::2, 2])), rtol=0, atol=1e-14)
# summing out x3 leaves p(x1) p(x2 | x1): its conditional sums to one for each parent value
marg12 = joint.reshape(4, 2).sum(axis=1)
assert np.allclose(marg12, np.exp(log_factors[::2, :2]).prod(axis=1), atol=1e-15)
print("joint over the 8 configurations:", np.round(joint, 4), " total", joint.sum())

# %% demo=true
# The slip E1 in numbers: the *sum* of the conditionals of a 4-variable chain is not a distribution.
demo = factorisation_demo(rng.normal(size=(4, 2)))
print(demo)
assert abs(demo.total_product - 1.0) < 1e-12 and abs(demo.total_sum - 4 * 2 ** 3) < 1e-9
assert demo.log_product_vs_sum_of_logs < 1e-12

# %% [markdown]
# ## D2.3 — Networks output the parameters of a distribution
#
# The same pattern as D2.1 works for any distribution: a network computes the distribution's
# parameters $\eta=\mathrm{NN}(\mathrm{Pa}(x))$ from the parents, and the log-likelihood of the
# child is evaluated with those parameters. For a real-valued $y$ given $x$ we let a network output
# a mean and a log-variance, $(\mu(x),\log\sigma^2(x))=\mathrm{NN}(x)$, and set
# $p(y\mid x)=\mathcal N(y;\mu(x),\sigma^2(x))$ — the log-variance output needs no constraint,
# $\sigma^2=e^{\log\sigma^2}$ is positive automatically. This is exactly the shape of the VAE's
# encoder (chapter 09).
#
# Two checks: for each $x$ the network's output defines a proper density in $y$ (it integrates to
# one), and the gradient of $\sum_i\log p(y_i\mid x_i)$ with respect to every weight, obtained by
# feeding the distribution's gradient into the network's backward pass (the chain rule), matches
# finite differences.

# %% demo=true
head = nn.mlp((1, 16, 2), nn.Tanh, rng=rng, dtype=F64)
xs = rng.uniform(-2, 2, size=(8, 1))
ys = np.sin(2 * xs) + 0.3 * rng.standard_normal((8, 1))


def nll_parts(x):
    out = head.forward(x)
    return out[:, :1], out[:, 1:]                    # mean (N, 1), logvar (N, 1)


mean_x, logvar_x = nll_parts(np.array([[0.7]]))
mass, _ = integrate.quad(lambda t: np.exp(gaussian_log_prob(np.array([[t]]), mean_x, logvar_x))[0],
                         -np.inf, np.inf, epsabs=1e-13)
assert abs(mass - 1.0) < 1e-10

# backprop: d logp / d(mean, logvar) from the distribution, then through the network
head.zero_grad()
mean, logvar = nll_parts(xs)
_, dmean, dlogvar = gaussian_log_prob_grad(ys, mean, logvar)
head.backward(np.concatenate([dmean, dlogvar], axis=1))
analytic = {k: v.copy() for k, v in head.grads.items()}


def total_logp(_):
    m, s = nll_parts(xs)
    return float(gaussian_log_prob(ys, m, s).sum())


errors = {k: rel_error(analytic[k], numerical_gradient(total_logp, p)) for k, p in head.params.items()}
print({k: f"{e:.1e}" for k, e in errors.items()})
assert max(errors.values()) < 1e-7

# %% [markdown]
# ## D2.4 — Backpropagation through Linear and activation layers
#
# Every layer in `elbo_edu.nn` obeys one contract: `forward(x)` remembers what it needs,
# `backward(dy)` receives $\partial L/\partial y$, **adds** the parameter gradients into `grads`,
# and returns $\partial L/\partial x$. For the affine layer $y=xW+b$ (rows are examples) the chain
# rule gives
#
# $$\frac{\partial L}{\partial W}=x^\top\frac{\partial L}{\partial y},\qquad
#   \frac{\partial L}{\partial b}=\sum_n\frac{\partial L}{\partial y_n},\qquad
#   \frac{\partial L}{\partial x}=\frac{\partial L}{\partial y}W^\top,$$
#
# and an element-wise activation $y=f(x)$ multiplies the upstream gradient by $f'(x)$:
# $\mathbb 1[x>0]$ for ReLU, $1-y^2$ for tanh, $y(1-y)$ for the sigmoid, $\sigma(x)$ for softplus.
# A `Sequential` calls the layers' backward passes in reverse order.
#
# First the three Linear formulas, written out against the module's own gradients; then every
# layer type, and a whole MLP, against central finite differences (`check_module`, float64,
# relative error below $10^{-7}$).

# %% demo=true
lin = nn.Linear(4, 3, rng=rng, dtype=F64)
x4, dy = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
lin.zero_grad()
lin.forward(x4)
dx = lin.backward(dy)
assert np.allclose(lin.grads["W"], x4.T @ dy, atol=1e-14)
assert np.allclose(lin.grads["b"], dy.sum(axis=0), atol=1e-14)
assert np.allclose(dx, dy @ lin.params["W"].T, atol=1e-14)

# %% demo=true
x_test = rng.standard_normal((6, 4))
x_test[np.abs(x_test) < 1e-3] += 0.1      # keep away from ReLU's kink, where no derivative exists
layers = {"Linear": nn.Linear(4, 3, rng=rng, dtype=F64), "ReLU": nn.ReLU(), "Tanh": nn.Tanh(),
          "Sigmoid": nn.Sigmoid(), "Softplus": nn.Softplus(), "LeakyReLU": nn.LeakyReLU(0.1),
          "MLP 4-8-8-3": nn.mlp((4, 8, 8, 3), nn.Tanh, rng=rng, dtype=F64)}
reports = [check_module(layer, x_test, rng=rng, name=name, verbose=False) for name, layer in layers.items()]
full = reports[0]
for r in reports[1:]:
    full.extend(r)
print(full)
assert full.passed

# %% [markdown]
# ## Try this
#
# 1. D2.1: train the moons classifier with `nn.ReLU` instead of `nn.Tanh`, or with 4 hidden units
#    instead of 32. How does the decision boundary change, and how low does the loss get?
# 2. D2.1: set every logit of a row to the same value. What is the gradient
#    $\pi-\mathrm{onehot}(y)$, and why does an untrained classifier start near a loss of $\log K$?
# 3. D2.2: add a fourth variable with parents $\{x_2,x_3\}$. The total of the product is still 1;
#    what does the total of the *sum* of conditionals grow to?
# 4. D2.3: make the network's second output $\sigma$ itself (a Linear output, no log and no
#    positivity constraint). Find inputs for which that output is zero or negative: what do
#    `gaussian_log_prob` and the integral check give there? How does reading the output as
#    $\log\sigma^2$ avoid the problem for every input?
# 5. D2.4: run `check_module(nn.ReLU(), np.array([[0.0, 1e-7]]))`. Which entries fail? Compare the
#    inputs with the step of `numerical_gradient`, and say why the failure does not matter when
#    training.

# %% [markdown]
# ## Exercises
#
# Write each function below in place of `raise NotImplementedError()`, then run the cell after it:
# it grades your function against finite differences or values computed another way and, if
# something is off, says in one sentence what. Points are in each heading.

# %%
from elbo_edu.course.checks import (check_linear_backward, check_softmax_cross_entropy,
                                    check_softmax_cross_entropy_grad)

# %% [markdown]
# ### Exercise 2.1 — The backward pass of a linear layer (3 points)
#
# For $y = xW + b$ with `x` `(N, I)`, `W` `(I, O)`, `b` `(O,)` and the upstream gradient `dy`
# `(N, O)`, return `(dx, dW, db)`, the gradients of $\sum dy\odot y$.

# %% solution="ex02_1"
def linear_backward(dy, x, W):
    """Gradients (dx (N, I), dW (I, O), db (O,)) of sum(dy * (x @ W + b))."""
    ### BEGIN SOLUTION
    return dy @ W.T, x.T @ dy, dy.sum(axis=0)
    ### END SOLUTION

# %% grade="ex02_1" points=3
check_linear_backward(linear_backward)
### BEGIN HIDDEN TESTS
check_linear_backward(linear_backward, seed=21)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2.2 — Softmax cross-entropy (2 points)
#
# Return the mean over the $N$ rows of $-\log\operatorname{softmax}(\ell_n)_{y_n}$ for `logits`
# `(N, C)` and integer labels `y` `(N,)`. It must not overflow when a logit is about 1000.

# %% solution="ex02_2"
def softmax_cross_entropy(logits, y):
    """Mean negative log-probability of the labels ``y`` under softmax(``logits``)."""
    ### BEGIN SOLUTION
    top = logits.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    return np.mean(log_norm - logits[np.arange(len(y)), y])
    ### END SOLUTION

# %% grade="ex02_2" points=2
check_softmax_cross_entropy(softmax_cross_entropy)
### BEGIN HIDDEN TESTS
check_softmax_cross_entropy(softmax_cross_entropy, seed=22)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2.3 — Its gradient (2 points)
#
# Return the gradient of the mean loss of Exercise 2.2 with respect to `logits`, shape `(N, C)`.

# %% solution="ex02_3"
def softmax_cross_entropy_grad(logits, y):
    """d/dlogits of the mean softmax cross-entropy, (N, C)."""
    ### BEGIN SOLUTION
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0
    return p / len(y)
    ### END SOLUTION

# %% grade="ex02_3" points=2
check_softmax_cross_entropy_grad(softmax_cross_entropy_grad)
### BEGIN HIDDEN TESTS
check_softmax_cross_entropy_grad(softmax_cross_entropy_grad, seed=23)
### END HIDDEN TESTS
