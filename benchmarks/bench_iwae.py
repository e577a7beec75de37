r"""IWAE evaluation at large K: elbo_edu's ``iwae_bound`` against the same computation in PyTorch
and in JAX, on the same weights, in one run.

The bound (chapter 10, D10.2), one value per test image,

.. math:: \mathrm{IWAE}_K(x) = \log\frac1K\sum_{k=1}^K\frac{p_\theta(x\mid z_k)\,p(z_k)}
          {q_\phi(z_k\mid x)},\qquad z_k = \mu + \sigma\odot\varepsilon_k,

for the 784-400-20 Bernoulli VAE in float32. elbo_edu runs its public
``elbo_edu.estimators.iwae_bound(model, x, k, rng=...)``; PyTorch (``inference_mode``) and JAX
(one ``jax.jit`` function per block of rows, a ``lax.scan`` over chunks of samples) compute the
same bound from the model's ``params`` dict. ``floor`` runs only the decoder's two matrix products
for the same chunks (the arithmetic no implementation avoids), as a yardstick for the others. All three hold at most one chunk of decoder outputs
at a time (``--max-elements`` numbers, 4 M by default: samples × rows × 784) and merge the chunks
with a running log-sum-exp, so memory stays bounded for any K and N.

The model is trained first for ``--train-epochs`` epochs by elbo_edu (numba backend, Adam 1e-3,
batch 128) so the weights are those of a real model. Each contender is run once untimed on the
first block of rows (numba's and XLA's compilation, thread pools) and then timed over all ``--n``
test images. Each draws its own noise, so the estimates differ by Monte-Carlo error only: for
each pair the per-image differences :math:`d_n` have mean :math:`\bar d` and standard error
:math:`s_d/\sqrt N`; the two agree when :math:`|\bar d| \le 4` standard errors (the script exits
with status 1 otherwise). The data's spread between images cancels in the paired difference.

Usage::

    python benchmarks/bench_iwae.py --n 10000 --k 5000 --threads 2 --out benchmarks/results/iwae.json
    python benchmarks/bench_iwae.py --n 200 --k 500 --train-epochs 1          # a quick check
"""
from __future__ import annotations

import argparse
import os
import sys

_p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
_p.add_argument("--n", type=int, default=10000, help="test images (the first N)")
_p.add_argument("--k", type=int, default=5000, help="importance samples per image")
_p.add_argument("--threads", type=int, default=2)
_p.add_argument("--rows", type=int, default=100, help="test images per block of the PyTorch "
                "and JAX versions (iwae_bound keeps its own default, 100)")
_p.add_argument("--max-elements", type=int, default=1 << 20,
                help="bound on samples x rows x 784 held at once by the PyTorch, JAX and floor "
                     "contenders (default 1 M, elbo_edu's own default CHUNK_ELEMENTS)")
_p.add_argument("--repeats", type=int, default=3,
                help="timed runs of every contender, in turns (the medians are reported)")
_p.add_argument("--train-epochs", type=int, default=2, help="epochs of training before evaluation")
_p.add_argument("--only", default="elbo_edu,elbo_edu_16mb,torch,jax,floor",
                help="comma-separated subset of elbo_edu,elbo_edu_16mb (the 4 M-number chunks "
                     "elbo_edu used before),torch,jax,floor")
_p.add_argument("--seed", type=int, default=1)
_p.add_argument("--data-dir", default=None, help="folder with the MNIST idx files "
                "(default ../shared/data/mnist beside the repository)")
_p.add_argument("--out", default=None, help="JSON output (default benchmarks/results/iwae.json)")
ARGS = _p.parse_args()
for _flag in ("n", "k", "threads", "rows", "max_elements", "repeats"):
    if getattr(ARGS, _flag) < 1:
        _p.error(f"--{_flag.replace('_', '-')}: expected a positive integer, "
                 f"got {getattr(ARGS, _flag)}")
if ARGS.train_epochs < 0:
    _p.error(f"--train-epochs: expected an integer >= 0, got {ARGS.train_epochs}")
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_v] = str(ARGS.threads)                       # before numpy / torch are imported
if ARGS.threads == 1:       # XLA (the JAX contender) otherwise uses a pool of every core
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen="
                               "false intra_op_parallelism_threads=1").strip()

import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _machine import describe, machine_info  # noqa: E402

from elbo_edu import kernels as K  # noqa: E402
from elbo_edu.data import load_mnist  # noqa: E402
from elbo_edu.estimators import iwae_bound  # noqa: E402
from elbo_edu.optim import Adam  # noqa: E402
from elbo_edu.vae import VAE  # noqa: E402

LOG_2PI = math.log(2.0 * math.pi)


def chunk_size(rows: int, k: int) -> int:
    """Samples per chunk so that one chunk's decoder output holds <= max_elements numbers."""
    return max(1, min(k, ARGS.max_elements // (rows * 784)))


def mlp_layers(params: dict, part: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(W, b), ...]`` of ``part`` (``"encoder"`` / ``"decoder"``) in order."""
    idx = sorted(int(k.split(".")[1]) for k in params if k.startswith(part + ".")
                 and k.endswith(".W"))
    return [(params[f"{part}.{i}.W"], params[f"{part}.{i}.b"]) for i in idx]


# ---------------------------------------------------------------------------------- contenders
def elbo_edu_contender(model, max_elements=None):
    kw = {} if max_elements is None else {"max_elements": max_elements}

    def run(x, k, seed):
        with K.use_backend("numba"):
            return iwae_bound(model, x, k, rng=np.random.default_rng(seed), **kw)
    return run


def start_torch() -> None:
    """Set torch's thread count and start its OpenMP pool (a no-op without torch)."""
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(ARGS.threads)
    with torch.inference_mode():
        torch.zeros(128, 784) @ torch.zeros(784, 400)


def torch_contender(params: dict, z_dim: int):
    """The same bound written in PyTorch (float32, ``inference_mode``), or ``None``."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None
    start_torch()
    enc = [(torch.from_numpy(W), torch.from_numpy(b)) for W, b in mlp_layers(params, "encoder")]
    dec = [(torch.from_numpy(W), torch.from_numpy(b)) for W, b in mlp_layers(params, "decoder")]

    def mlp(layers, h):
        for j, (W, b) in enumerate(layers):
            h = torch.addmm(b, h, W)
            if j < len(layers) - 1:
                h = F.relu(h)
        return h

    def run(x, k, seed):
        gen = torch.Generator().manual_seed(seed)
        xt = torch.from_numpy(np.ascontiguousarray(x))
        out = []
        with torch.inference_mode():
            for r0 in range(0, len(xt), ARGS.rows):
                xb = xt[r0:r0 + ARGS.rows]
                nb = xb.shape[0]
                h = mlp(enc, xb)
                mu, logvar = h[:, :z_dim], h[:, z_dim:]
                std = torch.exp(0.5 * logvar)
                log_q_const = -0.5 * (LOG_2PI + logvar).sum(-1)            # (nb,)
                acc = torch.full((nb,), -math.inf, dtype=torch.float64)
                kc = chunk_size(nb, k)
                for k0 in range(0, k, kc):
                    kk = min(kc, k - k0)
                    eps = torch.randn((kk, nb, z_dim), generator=gen)
                    z = mu + std * eps
                    logits = mlp(dec, z.reshape(-1, z_dim)).reshape(kk, nb, 784)
                    log_px = -F.binary_cross_entropy_with_logits(
                        logits, xb.expand(kk, nb, 784), reduction="none").sum(-1)
                    log_pz = -0.5 * (LOG_2PI * z_dim + (z * z).sum(-1))
                    log_q = log_q_const - 0.5 * (eps * eps).sum(-1)
                    lw = (log_px + log_pz - log_q).double()                # (kk, nb)
                    acc = torch.logaddexp(acc, torch.logsumexp(lw, 0))
                out.append(acc - math.log(k))
        return torch.cat(out).numpy()

    return run


def jax_contender(params: dict, z_dim: int):
    """The same bound in JAX: per block of rows one jit function scanning over sample chunks."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    enc = [(jnp.asarray(W), jnp.asarray(b)) for W, b in mlp_layers(params, "encoder")]
    dec = [(jnp.asarray(W), jnp.asarray(b)) for W, b in mlp_layers(params, "decoder")]

    def mlp(layers, h):
        for j, (W, b) in enumerate(layers):
            h = h @ W + b
            if j < len(layers) - 1:
                h = jax.nn.relu(h)
        return h

    def chunk_lse(xb, mu, std, log_q_const, key, kk):
        eps = jax.random.normal(key, (kk, xb.shape[0], z_dim), jnp.float32)
        z = mu + std * eps
        logits = mlp(dec, z.reshape(-1, z_dim)).reshape(kk, xb.shape[0], 784)
        log_px = jnp.sum(xb * logits - jax.nn.softplus(logits), axis=-1)
        log_pz = -0.5 * (LOG_2PI * z_dim + jnp.sum(z * z, axis=-1))
        log_q = log_q_const - 0.5 * jnp.sum(eps * eps, axis=-1)
        return jax.nn.logsumexp(log_px + log_pz - log_q, axis=0)          # (nb,)

    def block(xb, key, k):
        nb = xb.shape[0]
        h = mlp(enc, xb)
        mu, logvar = h[:, :z_dim], h[:, z_dim:]
        std = jnp.exp(0.5 * logvar)
        log_q_const = -0.5 * jnp.sum(LOG_2PI + logvar, axis=-1)
        kc = chunk_size(nb, k)
        n_full, rest = divmod(k, kc)
        keys = jax.random.split(key, n_full + 1)

        def body(acc, key):
            return jnp.logaddexp(acc, chunk_lse(xb, mu, std, log_q_const, key, kc)), None

        acc, _ = jax.lax.scan(body, jnp.full((nb,), -jnp.inf, jnp.float32), keys[:n_full])
        if rest:
            acc = jnp.logaddexp(acc, chunk_lse(xb, mu, std, log_q_const, keys[n_full], rest))
        return acc - math.log(k)

    block_jit = jax.jit(block, static_argnums=2)

    def run(x, k, seed):
        key = jax.random.PRNGKey(seed)
        out = []
        for r0 in range(0, len(x), ARGS.rows):
            key, sub = jax.random.split(key)
            out.append(block_jit(jnp.asarray(x[r0:r0 + ARGS.rows]), sub, k))
        return np.asarray(jnp.concatenate(out), dtype=np.float64)

    return run


def floor_contender(params: dict, z_dim: int):
    """The decoder's two matrix products for every chunk, into preallocated outputs: no noise,
    no activation, no likelihood, no log-sum-exp. Any implementation of the bound does at least
    this arithmetic (2 x 20 x 400 + 2 x 400 x 784 flops per sample); returns no estimate."""
    (w1, _), (w2, _) = mlp_layers(params, "decoder")
    bufs: dict = {}

    def buf(name, shape):
        if bufs.get(name) is None or bufs[name].shape != shape:
            bufs[name] = np.empty(shape, np.float32)
        return bufs[name]

    def run(x, k, seed):
        z = np.random.default_rng(seed).standard_normal((chunk_size(ARGS.rows, k) * ARGS.rows,
                                                         z_dim)).astype(np.float32)
        for r0 in range(0, len(x), ARGS.rows):
            nb = len(x[r0:r0 + ARGS.rows])
            kc = chunk_size(nb, k)
            for k0 in range(0, k, kc):
                m = min(kc, k - k0) * nb
                h = np.matmul(z[:m], w1, out=buf("h", (m, w1.shape[1])))
                np.matmul(h, w2, out=buf("o", (m, w2.shape[1])))
        return None

    return run


# ------------------------------------------------------------------------------------- driver
def train_model(x_train, epochs: int, seed: int) -> VAE:
    rng = np.random.default_rng(seed)
    model = VAE(784, 20, hidden=(400,), likelihood="bernoulli", dtype=np.float32, rng=rng)
    opt = Adam(model.params, model.grads, lr=1e-3)
    with K.use_backend("numba"):
        for ep in range(epochs):
            perm = rng.permutation(len(x_train))
            for i in range(0, len(perm), 128):
                model.loss_and_grads(x_train[perm[i:i + 128]])
                opt.step()
            print(f"trained epoch {ep + 1}: train loss of the last batch {model.last.loss:.2f}",
                  flush=True)
    return model


def agreement(a: np.ndarray, b: np.ndarray) -> dict:
    """Paired comparison of two per-image estimates: mean difference and its standard error."""
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    se = float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else float("inf")
    mean = float(d.mean())
    z = mean / se if se > 0 else (0.0 if mean == 0 else float("inf"))
    return {"mean_difference": mean, "standard_error": se, "z": z, "agree": abs(z) <= 4.0}


def main() -> int:
    info = machine_info()
    print(describe(info), flush=True)
    names = [s.strip() for s in ARGS.only.split(",") if s.strip()]
    known = ("elbo_edu", "elbo_edu_16mb", "torch", "jax", "floor")
    if not names or any(n not in known for n in names):
        _p.error(f"--only: expected a comma-separated subset of {','.join(known)}")
    data_dir = ARGS.data_dir or HERE.parents[1] / "shared" / "data" / "mnist"
    x_train, _ = load_mnist(data_dir, split="train", download=False)
    x_test, _ = load_mnist(data_dir, split="test", download=False)
    x = np.ascontiguousarray(x_test[:ARGS.n], dtype=np.float32)
    if "torch" in names:
        start_torch()       # PyTorch's OpenMP pool must start before numba's (bench_train.py)
    model = train_model(x_train, ARGS.train_epochs, ARGS.seed)
    contenders = {}
    params = {k: np.array(v, dtype=np.float32) for k, v in model.params.items()}
    for name in names:
        c = elbo_edu_contender(model) if name == "elbo_edu" else \
            elbo_edu_contender(model, 1 << 22) if name == "elbo_edu_16mb" else \
            torch_contender(params, model.z_dim) if name == "torch" else \
            floor_contender(params, model.z_dim) if name == "floor" else \
            jax_contender(params, model.z_dim)
        if c is None:
            print(f"{name} is not installed: skipping (pip install -e '.[bench]')")
        else:
            contenders[name] = c
    est, times = {}, {name: [] for name in contenders}
    for i, (name, run) in enumerate(contenders.items()):
        run(x[:ARGS.rows], ARGS.k, ARGS.seed + 100 + i)            # compile, warm up (untimed)
    for r in range(ARGS.repeats):          # in turns: a busy spell of the machine hits all
        for i, (name, run) in enumerate(contenders.items()):
            t0 = time.perf_counter()
            value = run(x, ARGS.k, ARGS.seed + 10 * (i + 1))
            times[name].append(time.perf_counter() - t0)
            if value is not None and r == 0:
                est[name] = value
            print(f"turn {r + 1} {name:14s} {times[name][-1]:8.2f} s" + (
                "" if value is None or r else f"   mean IWAE_{ARGS.k} {value.mean():.4f} nats"),
                flush=True)
    secs = {name: float(np.median(t)) for name, t in times.items()}
    pairs = {f"{a} - {b}": agreement(est[a], est[b])
             for i, a in enumerate(est) for b in list(est)[i + 1:]}
    ok = all(p["agree"] for p in pairs.values())
    print(f"\n{describe(info)}\n{ARGS.n} test images, K = {ARGS.k}, {ARGS.threads} threads, "
          f"model trained {ARGS.train_epochs} epochs, medians of {ARGS.repeats} runs in turns\n")
    print("| implementation | seconds | × PyTorch | × JAX | × floor | mean IWAE (nats) |")
    print("|---|---|---|---|---|---|")
    fmt = lambda v, f=".2f": "–" if v is None else format(v, f)  # noqa: E731
    rows = {}
    for name in secs:
        rows[name] = {"seconds": secs[name], "runs_seconds": times[name],
                      "mean_iwae": float(est[name].mean()) if name in est else None,
                      **{f"vs_{ref}": secs[name] / secs[ref] if ref in secs else None
                         for ref in ("torch", "jax", "floor")}}
        print(f"| {name} | {secs[name]:.2f} | {fmt(rows[name]['vs_torch'])} | "
              f"{fmt(rows[name]['vs_jax'])} | {fmt(rows[name]['vs_floor'])} | "
              f"{fmt(rows[name]['mean_iwae'], '.4f')} |")
    print("\npaired differences of the per-image estimates (Monte-Carlo error only):")
    for k, p in pairs.items():
        print(f"  {k}: {p['mean_difference']:+.5f} ± {p['standard_error']:.5f} nats "
              f"(z = {p['z']:+.2f}) {'agree' if p['agree'] else 'DISAGREE'}")
    out = Path(ARGS.out) if ARGS.out else HERE / "results" / "iwae.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": info, "config": {k: getattr(ARGS, k) for k in (
        "n", "k", "threads", "rows", "max_elements", "train_epochs", "seed", "repeats")},
        "results": rows, "agreement": pairs}, indent=2) + "\n")
    print(f"written {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
