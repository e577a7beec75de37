"""Seconds per training epoch of the MNIST VAE: numba backend, NumPy backend, PyTorch, GEMM floor.

The configuration is PyTorch's examples/vae: 784-400-20 MLP encoder and decoder, ReLU, Bernoulli
likelihood on grey-level MNIST, Adam with learning rate 1e-3, batch 128, float32. All contenders
run in this one process with the same thread count, and their epochs are interleaved (epoch 1 of
each, then epoch 2 of each, ...), so a busy machine slows them all alike. Reported: the median of
the per-epoch training times (evaluation excluded), ratios, and the test loss (negative ELBO in
nats per example, one sample of z per image) after the last epoch.

(d) "floor" runs only the eleven matrix products of a forward+backward pass at the same shapes,
into preallocated outputs: no element-wise work, no optimizer, no Python layers.

Usage::

    python benchmarks/bench_train.py --epochs 3 --threads 2 --out benchmarks/results/train.json
"""
from __future__ import annotations

import argparse
import os
import sys

_p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
_p.add_argument("--epochs", type=int, default=3)
_p.add_argument("--threads", type=int, default=2)
_p.add_argument("--batch-size", type=int, default=128)
_p.add_argument("--data-dir", default=None, help="folder with the MNIST idx files "
                "(default ../shared/data/mnist beside the repository)")
_p.add_argument("--only", default="numba,numpy,torch,floor",
                help="comma-separated subset of numba,numpy,torch,floor")
_p.add_argument("--seed", type=int, default=1)
_p.add_argument("--out", default=None, help="JSON output (default benchmarks/results/train.json)")
ARGS = _p.parse_args()
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_v] = str(ARGS.threads)                       # before numpy / torch are imported

import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _floor import make_floor_step  # noqa: E402
from _torch_vae import make_torch_contender  # noqa: E402

from elbo_edu import kernels as K  # noqa: E402
from elbo_edu.data import load_mnist  # noqa: E402
from elbo_edu.optim import Adam  # noqa: E402
from elbo_edu.vae import VAE  # noqa: E402


def batches(n, bs, rng):
    perm = rng.permutation(n)
    return [perm[i:i + bs] for i in range(0, n, bs)]


def numpy_contender(backend, seed):
    """(train_epoch(order) -> seconds, test_loss(x_test) -> float) for our VAE on ``backend``."""
    rng = np.random.default_rng(seed)
    model = VAE(784, 20, hidden=(400,), likelihood="bernoulli", dtype=np.float32, rng=rng)
    opt = Adam(model.params, model.grads, lr=1e-3)

    def epoch(x, order):
        with K.use_backend(backend):
            t0 = time.perf_counter()
            for idx in order:
                model.loss_and_grads(x[idx])
                opt.step()
            return time.perf_counter() - t0

    def test_loss(x):
        with K.use_backend(backend):
            erng = np.random.default_rng(seed + 1)
            tot = sum(model.loss(x[i:i + 1000], rng=erng) * len(x[i:i + 1000])
                      for i in range(0, len(x), 1000))
        return tot / len(x)

    if backend == "numba":
        with K.use_backend("numba"):
            K.warmup(dtypes=(np.float32,))
    return epoch, test_loss


def floor_contender(bs, seed):
    """The matrix products of one forward + backward step, float32, preallocated outputs."""
    step = make_floor_step(seed)

    def epoch(x, order):
        t0 = time.perf_counter()
        for idx in order:
            step(x[idx])
        return time.perf_counter() - t0

    return epoch, None


def main():
    data_dir = ARGS.data_dir or HERE.parents[1] / "shared" / "data" / "mnist"
    x_train, _ = load_mnist(data_dir, split="train", download=False)
    x_test, _ = load_mnist(data_dir, split="test", download=False)
    names = [s.strip() for s in ARGS.only.split(",") if s.strip()]
    contenders = {}
    # torch first: its bundled OpenMP runtime must start its thread pool before numba's OpenMP
    # layer starts another one (K.warmup runs a parallel kernel), or torch runs about 4x slower
    # for the rest of the process (two GNU OpenMP runtimes in one process, pytorch issue 98836)
    for name in sorted(names, key=lambda n: n != "torch"):
        if name in ("numba", "numpy"):
            contenders[name] = numpy_contender(name, ARGS.seed)
        elif name == "floor":
            contenders[name] = floor_contender(ARGS.batch_size, ARGS.seed)
        elif name == "torch":
            c = make_torch_contender(ARGS.threads, ARGS.seed)
            if c is None:
                print("torch is not installed: skipping (pip install elbo_edu[bench])")
                continue
            contenders[name] = c
        else:
            raise SystemExit(f"--only: unknown contender {name!r}")
    contenders = {n: contenders[n] for n in names if n in contenders}
    times = {n: [] for n in contenders}
    order_rng = np.random.default_rng(ARGS.seed)
    for ep in range(ARGS.epochs):
        order = batches(len(x_train), ARGS.batch_size, order_rng)
        for name, (epoch, _) in contenders.items():
            times[name].append(epoch(x_train, order))
            print(f"epoch {ep + 1} {name:6s} {times[name][-1]:7.2f} s", flush=True)
    rows = {}
    for name, (_, test_loss) in contenders.items():
        rows[name] = {"seconds_per_epoch": statistics.median(times[name]),
                      "epoch_seconds": times[name],
                      "test_loss": None if test_loss is None else float(test_loss(x_test))}
    ref = {k: rows[k]["seconds_per_epoch"] for k in rows}
    for name, row in rows.items():
        row["vs_torch"] = row["seconds_per_epoch"] / ref["torch"] if "torch" in ref else None
        row["vs_floor"] = row["seconds_per_epoch"] / ref["floor"] if "floor" in ref else None
    result = {"config": {"epochs": ARGS.epochs, "threads": ARGS.threads,
                         "batch_size": ARGS.batch_size, "seed": ARGS.seed,
                         "python": platform.python_version(), "numpy": np.__version__,
                         "machine": platform.machine(), "cpus": os.cpu_count()},
              "results": rows}
    print("\n| contender | s / epoch (median) | × PyTorch | × GEMM floor | test loss |")
    print("|---|---|---|---|---|")
    fmt = lambda v, f: "–" if v is None else format(v, f)  # noqa: E731
    for name, row in rows.items():
        print(f"| {name} | {row['seconds_per_epoch']:.2f} | {fmt(row['vs_torch'], '.2f')} | "
              f"{fmt(row['vs_floor'], '.2f')} | {fmt(row['test_loss'], '.2f')} |")
    out = Path(ARGS.out) if ARGS.out else HERE / "results" / "train.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
