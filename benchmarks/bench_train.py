"""Seconds per training epoch of the MNIST VAE: numba, NumPy, PyTorch, JAX and the GEMM floor.

The configuration is PyTorch's examples/vae: 784-400-20 MLP encoder and decoder, ReLU, Bernoulli
likelihood on grey-level MNIST, Adam with learning rate 1e-3, batch 128, float32. All contenders
run in this one process with the same thread count, and their epochs are interleaved (epoch 1 of
each, then epoch 2 of each, ...), so a busy machine slows them all alike; every contender sees
the same minibatches in the same order.

* ``numba`` / ``numpy``: elbo_edu's VAE and Adam on each kernel backend;
* ``torch``: PyTorch's own example VAE (``_torch_vae.py``);
* ``jax``: the same model in JAX, the whole step (noise, forward, backward, optax Adam) one
  jit-compiled function (``_jax_vae.py``); with ``--threads 1`` it is held to one thread through
  ``XLA_FLAGS``, otherwise XLA's pool has a thread per core (on a 2-core machine: 2);
* ``floor``: only the eleven matrix products of a forward+backward pass at the same shapes, into
  preallocated outputs: no element-wise work, no optimizer, no Python layers.

Reported for each contender: the first-epoch, median and last-epoch training time (evaluation
excluded) and the drift last/first; the median's ratio to PyTorch, JAX and the floor (the issue's
targets for numba: <= 0.55, <= 0.85, <= 1.30, drift <= 1.1); and the test loss (negative ELBO in
nats per example, one sample of z per image) after the last epoch. The CPU model and the core
type OpenBLAS chose are printed with every figure and stored in the JSON output.

Usage::

    python benchmarks/bench_train.py --epochs 5 --threads 2 --out benchmarks/results/train.json
    python benchmarks/bench_train.py --epochs 1 --max-batches 50     # a quick end-to-end check
"""
from __future__ import annotations

import argparse
import os
import sys

_p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
_p.add_argument("--epochs", type=int, default=5)
_p.add_argument("--threads", type=int, default=2)
_p.add_argument("--batch-size", type=int, default=128)
_p.add_argument("--data-dir", default=None, help="folder with the MNIST idx files "
                "(default ../shared/data/mnist beside the repository)")
_p.add_argument("--max-batches", type=int, default=None,
                help="train on only the first N minibatches of each epoch (quick checks)")
_p.add_argument("--only", default="numba,numpy,torch,jax,floor",
                help="comma-separated subset of numba,numpy,torch,jax,floor")
_p.add_argument("--seed", type=int, default=1)
_p.add_argument("--out", default=None, help="JSON output (default benchmarks/results/train.json)")
ARGS = _p.parse_args()
for _flag, _val in (("--epochs", ARGS.epochs), ("--threads", ARGS.threads),
                    ("--batch-size", ARGS.batch_size), ("--max-batches", ARGS.max_batches)):
    if _val is not None and _val < 1:
        _p.error(f"{_flag}: expected a positive integer, got {_val}")
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_v] = str(ARGS.threads)                       # before numpy / torch are imported
if ARGS.threads == 1:       # XLA (the JAX contender) otherwise uses a pool of every core
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen="
                               "false intra_op_parallelism_threads=1").strip()

import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _floor import make_floor_step  # noqa: E402
from _jax_vae import make_jax_contender  # noqa: E402
from _machine import describe, machine_info  # noqa: E402
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


TARGETS = {"torch": 0.55, "jax": 0.85, "floor": 1.30}       # issue 15: numba's median / theirs


def summarise(times: list) -> dict:
    """First, median and last epoch time and the drift last / first."""
    return {"first": times[0], "median": statistics.median(times), "last": times[-1],
            "drift": times[-1] / times[0], "epoch_seconds": times}


def main():
    info = machine_info()
    print(describe(info), flush=True)
    data_dir = ARGS.data_dir or HERE.parents[1] / "shared" / "data" / "mnist"
    x_train, _ = load_mnist(data_dir, split="train", download=False)
    x_test, _ = load_mnist(data_dir, split="test", download=False)
    names = [s.strip() for s in ARGS.only.split(",") if s.strip()]
    known = ("numba", "numpy", "torch", "jax", "floor")
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise SystemExit(f"--only: expected a comma-separated subset of {','.join(known)}, "
                         f"got {ARGS.only!r}")
    n_batches = -(-len(x_train) // ARGS.batch_size)
    if ARGS.max_batches is not None:
        n_batches = min(n_batches, ARGS.max_batches)
    contenders = {}
    # torch first: its bundled OpenMP runtime must start its thread pool before numba's OpenMP
    # layer starts another one (K.warmup runs a parallel kernel), or torch runs about 4x slower
    # for the rest of the process (two GNU OpenMP runtimes in one process, pytorch issue 98836)
    for name in sorted(names, key=lambda n: n != "torch"):
        if name in ("numba", "numpy"):
            contenders[name] = numpy_contender(name, ARGS.seed)
        elif name == "floor":
            contenders[name] = floor_contender(ARGS.batch_size, ARGS.seed)
        elif name in ("torch", "jax"):
            c = make_torch_contender(ARGS.threads, ARGS.seed) if name == "torch" else \
                make_jax_contender(ARGS.seed, ARGS.batch_size, len(x_train))
            if c is None:
                print(f"{name} is not installed: skipping (pip install -e '.[bench]')")
                continue
            contenders[name] = c
    contenders = {n: contenders[n] for n in names if n in contenders}
    times = {n: [] for n in contenders}
    order_rng = np.random.default_rng(ARGS.seed)
    for ep in range(ARGS.epochs):
        order = batches(len(x_train), ARGS.batch_size, order_rng)[:n_batches]
        for name, (epoch, _) in contenders.items():
            times[name].append(epoch(x_train, order))
            print(f"epoch {ep + 1} {name:6s} {times[name][-1]:7.2f} s", flush=True)
    rows = {}
    for name, (_, test_loss) in contenders.items():
        rows[name] = {**summarise(times[name]),
                      "test_loss": None if test_loss is None else float(test_loss(x_test))}
    for name, row in rows.items():
        row["ratios"] = {ref: row["median"] / rows[ref]["median"]
                         for ref in ("torch", "jax", "floor") if ref in rows}
    targets = {}
    if "numba" in rows:
        r = rows["numba"]
        targets = {f"median vs {ref}": {"ratio": r["ratios"][ref], "target": t,
                                        "met": r["ratios"][ref] <= t}
                   for ref, t in TARGETS.items() if ref in r["ratios"]}
        targets["drift last/first"] = {"ratio": r["drift"], "target": 1.1,
                                       "met": r["drift"] <= 1.1}
    result = {"machine": info,
              "config": {"epochs": ARGS.epochs, "threads": ARGS.threads,
                         "batch_size": ARGS.batch_size, "batches_per_epoch": n_batches,
                         "seed": ARGS.seed, "numpy": np.__version__,
                         "versions": versions(contenders)},
              "results": rows, "numba_targets": targets}
    fmt = lambda v, f: "–" if v is None else format(v, f)  # noqa: E731
    print(f"\n{describe(info)}\n{ARGS.epochs} epochs of {n_batches} batches of "
          f"{ARGS.batch_size}, {ARGS.threads} threads; seconds per epoch\n")
    print("| contender | first | median | last | last/first | × PyTorch | × JAX | × floor "
          "| test loss |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        rt = row["ratios"]
        print(f"| {name} | {row['first']:.2f} | {row['median']:.2f} | {row['last']:.2f} | "
              f"{row['drift']:.2f} | {fmt(rt.get('torch'), '.2f')} | {fmt(rt.get('jax'), '.2f')} "
              f"| {fmt(rt.get('floor'), '.2f')} | {fmt(row['test_loss'], '.2f')} |")
    if targets:
        print("\nnumba backend against the targets of issue 15:")
        for k, v in targets.items():
            print(f"  {k}: {v['ratio']:.2f} (target <= {v['target']}) "
                  f"{'met' if v['met'] else 'NOT met'}")
    out = Path(ARGS.out) if ARGS.out else HERE / "results" / "train.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten {out}")


def versions(contenders) -> dict:
    """Versions of the frameworks that ran."""
    out = {}
    for mod in ("numba", "torch", "jax", "optax"):
        if mod in contenders or (mod == "optax" and "jax" in contenders):
            out[mod] = __import__(mod).__version__
    return out


if __name__ == "__main__":
    main()
