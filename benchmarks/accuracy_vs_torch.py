"""Test loss after 10 epochs: elbo_edu against PyTorch's example VAE, over several seeds.

Both train the configuration of PyTorch's examples/vae (784-400-20, ReLU, Bernoulli likelihood on
grey-level MNIST, Adam 1e-3, batch 128) on the same data, each with its own seeded
initialisation, minibatch order and noise. Reported: the test negative ELBO (nats per example, one sample of z per image)
of every run, and mean and standard deviation per implementation — so a single run's distance
from a reference number can be read against the seed-to-seed spread of the reference itself.

Usage::

    python benchmarks/accuracy_vs_torch.py --seeds 1 2 3 4 5 --out accuracy.json
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
p.add_argument("--epochs", type=int, default=10)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--data-dir", default=str(HERE.parents[1] / "shared" / "data" / "mnist"))
p.add_argument("--out", default=None, help="JSON output file")
args = p.parse_args()
for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[v] = str(args.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, str(HERE))
from _torch_vae import make_torch_contender  # noqa: E402

from elbo_edu.data import load_dataset  # noqa: E402
from elbo_edu.train import train  # noqa: E402
from elbo_edu.vae import VAE  # noqa: E402

data = load_dataset("mnist", data_dir=args.data_dir)
results = {"torch": [], "elbo_edu": []}
for seed in args.seeds:
    contender = make_torch_contender(args.threads, seed)
    if contender is not None:
        epoch, test_loss = contender
        rng = np.random.default_rng(seed)
        for _ in range(args.epochs):
            perm = rng.permutation(len(data.x_train))
            epoch(data.x_train, [perm[i:i + 128] for i in range(0, len(perm), 128)])
        results["torch"].append(test_loss(data.x_test))
    model = VAE(784, 20, hidden=(400,), rng=np.random.default_rng(seed))
    history = train(model, data, epochs=args.epochs, batch_size=128, lr=1e-3, seed=seed,
                    progress=False)
    results["elbo_edu"].append(history[-1]["test_loss"])
    print(f"seed {seed}: " + "  ".join(f"{k} {v[-1]:.3f}" for k, v in results.items() if v),
          flush=True)
summary = {k: {"runs": v, "mean": statistics.mean(v), "sd": statistics.stdev(v) if len(v) > 1 else 0.0}
           for k, v in results.items() if v}
print(json.dumps(summary, indent=2))
if args.out:
    Path(args.out).write_text(json.dumps(summary, indent=2))
