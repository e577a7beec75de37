"""The same VAE as PyTorch's example (``_torch_vae.py``), written in JAX: one jit-compiled step.

784-400-20 encoder, 20-400-784 decoder, ReLU, Bernoulli likelihood on the logits (the binary
cross-entropy summed over pixels and over the batch) plus the closed-form KL, PyTorch's
``nn.Linear`` initialisation, optax Adam with learning rate 1e-3, float32. The whole training
step (noise, forward, ``jax.value_and_grad``, Adam) is one ``jax.jit`` function, compiled for
the full and the last, shorter batch before any epoch is timed; an epoch's time ends with
``block_until_ready`` (JAX dispatches asynchronously). Only used by the benchmarks: JAX is never
a runtime or test dependency of elbo_edu (install it with the ``bench`` extra).
"""
from __future__ import annotations

import time


def make_jax_contender(seed: int, batch_size: int = 128, n_train: int = 60000):
    """``(epoch(x, order) -> seconds, test_loss(x) -> float)``, or ``None`` without jax/optax."""
    try:
        import jax
        import jax.numpy as jnp
        import optax
    except ImportError:
        return None
    import numpy as np

    sizes = {"fc1": (784, 400), "fc21": (400, 20), "fc22": (400, 20), "fc3": (20, 400),
             "fc4": (400, 784)}
    rng = np.random.default_rng(seed)
    params = {}
    for name, (n_in, n_out) in sizes.items():     # torch.nn.Linear's U(-1/sqrt(n_in), ...)
        bound = 1.0 / np.sqrt(n_in)
        params[name] = {"W": jnp.asarray(rng.uniform(-bound, bound, (n_in, n_out)), jnp.float32),
                        "b": jnp.asarray(rng.uniform(-bound, bound, n_out), jnp.float32)}
    opt = optax.adam(1e-3)

    def loss_fn(p, x, eps):
        h1 = jax.nn.relu(x @ p["fc1"]["W"] + p["fc1"]["b"])
        mu = h1 @ p["fc21"]["W"] + p["fc21"]["b"]
        logvar = h1 @ p["fc22"]["W"] + p["fc22"]["b"]
        z = mu + jnp.exp(0.5 * logvar) * eps
        logits = jax.nn.relu(z @ p["fc3"]["W"] + p["fc3"]["b"]) @ p["fc4"]["W"] + p["fc4"]["b"]
        bce = optax.sigmoid_binary_cross_entropy(logits, x).sum()
        kld = -0.5 * jnp.sum(1.0 + logvar - mu ** 2 - jnp.exp(logvar))
        return bce + kld

    @jax.jit
    def step(p, state, x, key):
        key, sub = jax.random.split(key)
        eps = jax.random.normal(sub, (x.shape[0], 20), jnp.float32)
        loss, g = jax.value_and_grad(loss_fn)(p, x, eps)
        updates, state = opt.update(g, state, p)
        return optax.apply_updates(p, updates), state, key, loss

    @jax.jit
    def eval_loss(p, x, key):
        eps = jax.random.normal(key, (x.shape[0], 20), jnp.float32)
        return loss_fn(p, x, eps)

    st = {"p": params, "state": opt.init(params), "key": jax.random.PRNGKey(seed)}
    for n in {batch_size, n_train % batch_size or batch_size}:        # compile before timing
        jax.block_until_ready(step(params, st["state"], jnp.zeros((n, 784), jnp.float32),
                                   st["key"]))

    def epoch(x, order):
        t0 = time.perf_counter()
        p, state, key = st["p"], st["state"], st["key"]
        for idx in order:
            p, state, key, _ = step(p, state, x[idx], key)
        jax.block_until_ready(p)
        dt = time.perf_counter() - t0
        st.update(p=p, state=state, key=key)
        return dt

    def test_loss(x):
        key, tot = jax.random.PRNGKey(seed + 1), 0.0
        for i in range(0, len(x), 1000):
            key, sub = jax.random.split(key)
            tot += float(eval_loss(st["p"], x[i:i + 1000], sub))
        return tot / len(x)

    return epoch, test_loss
