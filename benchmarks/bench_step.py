"""Milliseconds per training step of the MNIST VAE against the matrix-product floor, in one process.

A finer, quicker companion of ``bench_train.py``: the step (``loss_and_grads`` + Adam, float32,
784-400-20, batch 128) and the floor's eleven products (``_floor.py``) run alternately in blocks of
``--steps`` batches, ``--blocks`` times; reported are the medians of both, wall clock and process
CPU time, and their ratio. CPU time is the steadier number on a shared machine with one thread (with
two threads it also counts BLAS's idle worker spinning). ``--profile`` prints cProfile's top entries
of the step instead (the matrix products have no entry of their own: they are inside
``Dense.forward`` / ``Dense.backward``). ``--trace`` prints every block: on a shared machine
the blocks fall into a quiet and a contended mode (see the README's Performance section), and
the Adam column shows which.

Usage::

    python benchmarks/bench_step.py --threads 1
    python benchmarks/bench_step.py --threads 2 --backend numpy
"""
from __future__ import annotations

import argparse
import os

_p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
_p.add_argument("--threads", type=int, default=1)
_p.add_argument("--backend", default="numba", choices=("numba", "numpy"))
_p.add_argument("--steps", type=int, default=40, help="batches per timed block")
_p.add_argument("--blocks", type=int, default=9)
_p.add_argument("--profile", action="store_true")
_p.add_argument("--trace", action="store_true",
                help="print every block: step, its Adam update, floor (ms per step) and ratio")
ARGS = _p.parse_args()
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_v] = str(ARGS.threads)                       # before numpy is imported

import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _floor import make_floor_step  # noqa: E402
from _machine import describe, machine_info  # noqa: E402

from elbo_edu import kernels as K  # noqa: E402
from elbo_edu.data import load_dataset, load_mnist  # noqa: E402
from elbo_edu.optim import Adam  # noqa: E402
from elbo_edu.vae import VAE  # noqa: E402


def batches(n_batches, bs=128):
    mnist = HERE.parents[1] / "shared" / "data" / "mnist"
    try:
        x, _ = load_mnist(mnist, split="train", download=False)
    except Exception:  # noqa: BLE001 - no shared data: the embedded subset is enough here
        x = load_dataset("embedded").x_train
    x = np.ascontiguousarray(x, dtype=np.float32)
    idx = np.random.default_rng(0).permutation(len(x))
    return [x[idx[(i * bs) % (len(x) - bs):][:bs]] for i in range(n_batches)]


def main():
    K.set_backend(ARGS.backend)
    K.warmup(dtypes=(np.float32,))
    xs = batches(ARGS.steps)
    model = VAE(784, 20, hidden=(400,), dtype=np.float32, rng=np.random.default_rng(1))
    opt = Adam(model.params, model.grads, lr=1e-3)
    rng = np.random.default_rng(2)

    adam_ms: list = []

    def step(xb):
        model.loss_and_grads(xb, rng=rng)
        opt.step()

    def traced_step(xb):               # the same, timing the Adam update (only with --trace)
        model.loss_and_grads(xb, rng=rng)
        t0 = time.perf_counter()
        opt.step()
        adam_ms.append((time.perf_counter() - t0) * 1e3)

    floor = make_floor_step(1)
    for xb in xs[:10]:
        step(xb)
        floor(xb)
    if ARGS.profile:
        import cProfile
        import pstats
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(5):
            for xb in xs:
                step(xb)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(20)
        return
    res = {"step": ([], []), "floor": ([], [])}
    if ARGS.trace:
        print(" block  step ms  (Adam)  floor ms  ratio")
    for b in range(ARGS.blocks):
        adam_ms.clear()
        for name, fn in (("step", traced_step if ARGS.trace else step), ("floor", floor)):
            t, c = time.perf_counter(), time.process_time()
            for xb in xs:
                fn(xb)
            res[name][0].append((time.perf_counter() - t) / len(xs) * 1e3)
            res[name][1].append((time.process_time() - c) / len(xs) * 1e3)
        if ARGS.trace:
            s, f = res["step"][0][-1], res["floor"][0][-1]
            print(f" {b + 1:5d}  {s:7.2f}  ({statistics.median(adam_ms):.2f})  {f:8.2f}  "
                  f"{s / f:5.3f}", flush=True)
    med = {k: (statistics.median(w), statistics.median(c)) for k, (w, c) in res.items()}
    print(describe(machine_info()))
    print(f"threads={ARGS.threads} backend={ARGS.backend}  (medians of {ARGS.blocks} blocks of "
          f"{len(xs)} steps, ms per step)")
    for k, (w, c) in med.items():
        print(f"  {k:5s}  wall {w:6.2f}  cpu {c:6.2f}")
    print(f"  ratio  wall {med['step'][0] / med['floor'][0]:6.3f}  "
          f"cpu {med['step'][1] / med['floor'][1]:6.3f}")


if __name__ == "__main__":
    main()
