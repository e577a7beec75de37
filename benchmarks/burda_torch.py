r"""The yardstick for the reproduced-results page: Burda et al.'s VAE-k / IWAE-k in PyTorch.

*Importance Weighted Autoencoders* (Burda, Grosse & Salakhutdinov), Table 1, one stochastic layer:
784-200-200-50 encoder and 50-200-200-784 decoder, tanh, a Bernoulli decoder, dynamically
binarized MNIST, Adam with ε = 1e-4, the test negative log-likelihood estimated by IWAE_5000, and
the active units (covariance over x of E_q[z_u | x] above 1e-2). The objective is

* ``vae``: the k-sample average ELBO with the closed-form KL (k = 1 is the plain VAE);
* ``iwae``: :math:`\log\frac1k\sum_i w_i` with :math:`\log w_i = \log p(x|z_i) + \log p(z_i)
  - \log q(z_i|x)`, autograd's gradient.

The schedule is shortened to fit a shared two-core machine (``--epochs``, constant learning
rate ``--lr``, ``--batch-size``) and the test set to ``--n-test`` images. The data, the dynamic
binarization of the test set (one draw with ``numpy.random.default_rng(0)``, as ``elbo-edu train
--binarize dynamic`` does) and the random subset of test images (``--n-test`` rows drawn with
``default_rng(0)``, as ``elbo-edu evaluate --n``) are elbo_edu's, so both evaluate the same
binary images. PyTorch's own initialisation (``nn.Linear``'s default) and noise are used.

Usage::

    python benchmarks/burda_torch.py --objective iwae --k 5 --seed 1 --epochs 10 \
        --n-test 1000 --out /tmp/torch_iwae5_s1.json
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--objective", choices=("vae", "iwae"), default="vae")
    p.add_argument("--k", type=int, default=1, help="samples per example in training")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--adam-eps", type=float, default=1e-4)
    p.add_argument("--hidden", type=int, nargs="+", default=[200, 200])
    p.add_argument("--z-dim", type=int, default=50)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--eval-k", type=int, default=5000)
    p.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data-dir", default=str(HERE.parent.parent / "shared" / "data"))
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))

    import numpy as np
    import torch
    from torch import nn

    sys.path.insert(0, str(HERE.parent))
    from elbo_edu.data import binarize_dynamic, load_dataset, random_subset

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    data = load_dataset("mnist", data_dir=a.data_dir, download=False)
    x_train = torch.from_numpy(data.x_train)
    x_test = binarize_dynamic(data.x_test, np.random.default_rng(0))
    if a.n_test < len(x_test):
        x_test = random_subset(x_test, a.n_test, np.random.default_rng(0))
    x_test = torch.from_numpy(np.ascontiguousarray(x_test))

    def mlp(sizes):
        layers = []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(nn.Tanh())
        return nn.Sequential(*layers)

    z_dim = a.z_dim
    enc = mlp([784, *a.hidden, 2 * z_dim])
    dec = mlp([z_dim, *a.hidden[::-1], 784])
    params = list(enc.parameters()) + list(dec.parameters())
    opt = torch.optim.Adam(params, lr=a.lr, eps=a.adam_eps)
    half_log_2pi = 0.5 * math.log(2 * math.pi)

    def log_weights(x, k):
        """(k, N) log-weights and the closed-form KL (N,)."""
        h = enc(x)
        mu, logvar = h[:, :z_dim], h[:, z_dim:]
        eps = torch.randn((k,) + mu.shape)
        z = mu + torch.exp(0.5 * logvar) * eps
        logits = dec(z)
        log_px = -nn.functional.binary_cross_entropy_with_logits(
            logits, x.expand_as(logits), reduction="none").sum(-1)
        log_pz = (-0.5 * z * z - half_log_2pi).sum(-1)
        log_qz = (-0.5 * eps * eps - half_log_2pi - 0.5 * logvar).sum(-1)
        kl = 0.5 * (logvar.exp() + mu * mu - 1 - logvar).sum(-1)
        return log_px, log_px + log_pz - log_qz, kl

    def loss_fn(x):
        log_px, log_w, kl = log_weights(x, a.k)
        if a.objective == "vae":
            return (-log_px.mean(0) + kl).mean()
        return -(torch.logsumexp(log_w, 0) - math.log(a.k)).mean()

    gen = np.random.default_rng(a.seed)          # data order and training binarization
    seconds, history = [], []
    n = len(x_train)
    for epoch in range(a.epochs):
        t0 = time.perf_counter()
        order = torch.from_numpy(gen.permutation(n))
        total = 0.0
        for i in range(0, n, a.batch_size):
            idx = order[i:i + a.batch_size]
            xb = torch.bernoulli(x_train[idx])
            opt.zero_grad()
            loss = loss_fn(xb)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        seconds.append(time.perf_counter() - t0)
        history.append(total / n)
        print(f"epoch {epoch + 1} train {history[-1]:.3f} {seconds[-1]:.1f} s", flush=True)

    with torch.inference_mode():
        mus, nll, elbo = [], [], []
        for i in range(0, len(x_test), 10):
            xb = x_test[i:i + 10]
            lws = []
            for _ in range(0, a.eval_k, 500):
                _, lw, _ = log_weights(xb, min(500, a.eval_k))
                lws.append(lw.double())
            lw = torch.cat(lws)[:a.eval_k]
            nll.append(-(torch.logsumexp(lw, 0) - math.log(a.eval_k)))
            log_px, _, kl = log_weights(xb, 1)
            elbo.append(-(log_px[0] - kl).double())
            mus.append(enc(xb)[:, :z_dim].double())
        nll, elbo, mu = torch.cat(nll).numpy(), torch.cat(elbo).numpy(), torch.cat(mus).numpy()
    au = int((mu.var(axis=0) > 1e-2).sum())
    res = {"implementation": f"torch {torch.__version__}", "objective": a.objective, "k": a.k,
           "seed": a.seed, "epochs": a.epochs, "batch_size": a.batch_size, "lr": a.lr,
           "adam_eps": a.adam_eps, "hidden": a.hidden, "z_dim": z_dim, "eval_k": a.eval_k,
           "n_test": len(x_test), "test_nll": float(nll.mean()),
           "test_nll_se": float(nll.std(ddof=1) / math.sqrt(len(nll))),
           "test_neg_elbo": float(elbo.mean()), "active_units": au, "train_loss": history,
           "epoch_seconds": seconds, "threads": a.threads}
    Path(a.out).write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps({k: res[k] for k in ("objective", "k", "seed", "test_nll", "test_neg_elbo",
                                          "active_units")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
