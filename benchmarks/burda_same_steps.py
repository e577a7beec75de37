r"""Same weights, same batches, same noise: elbo_edu's training step against PyTorch's.

The reproduced-results page compares elbo_edu and PyTorch over seeds; this script removes the
seeds. Both start from elbo_edu's initial weights of Burda et al.'s 784-200-200-50 tanh
Bernoulli VAE, see the same dynamically binarized batches (drawn once by NumPy) and the same
reparameterization noise, and take ``--steps`` Adam steps (ε = ``--adam-eps``) on the negative
ELBO (``--objective elbo``) or the IWAE_k bound (``--objective iwae --k 5``). It prints the
relative difference of the first step's gradients (float32 rounding only, if the two compute
the same function), then the loss of both every ``--every`` steps and the largest relative
parameter difference: a systematic difference in the training dynamics would show as one loss
drifting above the other; float32 rounding shows as a small, sign-changing difference.

The two steps alternate in one process, so their wall times are measured in turns (the machine's
load hits both alike): the script ends with the median milliseconds of each step (forward,
backward and Adam; the batch and the noise are drawn outside the timed part) and their ratio.

Usage::

    python benchmarks/burda_same_steps.py --objective iwae --k 5 --steps 600
"""
from __future__ import annotations

import argparse
import math
import os
import time
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--objective", choices=("elbo", "iwae"), default="elbo")
    p.add_argument("--k", type=int, default=1)
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--every", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--adam-eps", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data-dir", default=str(HERE.parent.parent / "shared" / "data"))
    a = p.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    import numpy as np
    import torch
    from torch import nn

    sys.path.insert(0, str(HERE.parent))
    from elbo_edu.data import binarize_dynamic, load_dataset
    from elbo_edu.vae.objectives import make_objective
    from elbo_edu.optim import Adam
    from elbo_edu.vae import VAE

    torch.set_num_threads(1)
    x_all = load_dataset("mnist", data_dir=a.data_dir, download=False).x_train
    model = VAE(784, 50, (200, 200), activation="tanh", rng=np.random.default_rng(a.seed))
    objective = make_objective(model, a.objective, a.k)
    opt = Adam(model.params, model.grads, lr=1e-3, eps=a.adam_eps)

    def linear(prefix, i):
        W, b = model.params[f"{prefix}.{i}.W"], model.params[f"{prefix}.{i}.b"]
        layer = nn.Linear(*W.shape)
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(W.T.copy()))
            layer.bias.copy_(torch.from_numpy(b.copy()))
        return layer

    idx = sorted({int(k.split(".")[1]) for k in model.params if k.startswith("encoder.")})
    enc = nn.Sequential(*[m for i in idx for m in (linear("encoder", i), nn.Tanh())][:-1])
    idx = sorted({int(k.split(".")[1]) for k in model.params if k.startswith("decoder.")})
    dec = nn.Sequential(*[m for i in idx for m in (linear("decoder", i), nn.Tanh())][:-1])
    t_params = list(enc.parameters()) + list(dec.parameters())
    t_opt = torch.optim.Adam(t_params, lr=1e-3, eps=a.adam_eps)
    half_log_2pi = 0.5 * math.log(2 * math.pi)

    def torch_loss(x, eps):
        h = enc(x)
        mu, logvar = h[:, :50], h[:, 50:]
        z = mu + torch.exp(0.5 * logvar) * eps
        logits = dec(z)
        log_px = -nn.functional.binary_cross_entropy_with_logits(
            logits, x.expand_as(logits), reduction="none").sum(-1)
        if a.objective == "elbo":
            kl = 0.5 * (logvar.exp() + mu * mu - 1 - logvar).sum(-1)
            return (-log_px.mean(0) + kl).mean()
        log_w = log_px + (-0.5 * z * z - half_log_2pi).sum(-1) \
            - (-0.5 * eps * eps - half_log_2pi - 0.5 * logvar).sum(-1)
        return -(torch.logsumexp(log_w, 0) - math.log(a.k)).mean()

    ms_ee, ms_t = [], []
    gen = np.random.default_rng(a.seed + 1)
    order = gen.permutation(len(x_all))
    print(f"{a.objective} k={a.k}, Adam eps {a.adam_eps}: step, elbo_edu loss, torch loss, "
          f"max relative parameter difference")
    for step in range(a.steps):
        i = (step * a.batch_size) % len(x_all)
        xb = binarize_dynamic(x_all[order[i:i + a.batch_size]], gen)
        eps = gen.standard_normal((a.k, len(xb), 50), dtype=np.float32)
        t0 = time.perf_counter()
        loss, grads = objective.loss_and_grads(xb, eps if a.k > 1 else eps[0])
        opt.step()
        t1 = time.perf_counter()
        t_opt.zero_grad()
        t_loss = torch_loss(torch.from_numpy(xb), torch.from_numpy(eps))
        t_loss.backward()
        t_opt.step()
        t2 = time.perf_counter()
        ms_ee.append(1e3 * (t1 - t0))
        ms_t.append(1e3 * (t2 - t1))
        if step == 0:
            worst = 0.0
            for name, prm in zip([n for part in ("encoder", "decoder") for n in sorted(
                    (k for k in grads if k.startswith(part)),
                    key=lambda k: (int(k.split(".")[1]), k[-1] != "W"))], t_params):
                g_t = prm.grad.numpy().T if name.endswith("W") else prm.grad.numpy()
                worst = max(worst, float(np.abs(grads[name] - g_t).max()
                                         / (np.abs(g_t).max() + 1e-30)))
            print(f"first step: max relative gradient difference {worst:.2e} (before the "
                  f"updates; the updates follow the gradients)")
        if (step + 1) % a.every == 0:
            diff = 0.0
            names = [n for part in ("encoder", "decoder") for n in sorted(
                (k for k in model.params if k.startswith(part)),
                key=lambda k: (int(k.split(".")[1]), k[-1] != "W"))]
            for name, prm in zip(names, t_params):
                w_t = prm.detach().numpy().T if name.endswith("W") else prm.detach().numpy()
                diff = max(diff, float(np.abs(model.params[name] - w_t).max()
                                       / np.abs(w_t).max()))
            print(f"{step + 1:6d} {loss:10.4f} {t_loss.item():10.4f} {diff:.2e}", flush=True)
    ee, tt = float(np.median(ms_ee[10:] or ms_ee)), float(np.median(ms_t[10:] or ms_t))
    print(f"median step (first 10 excluded): elbo_edu {ee:.2f} ms, torch {tt:.2f} ms, "
          f"ratio {ee / tt:.2f} (one thread each, in turns)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
