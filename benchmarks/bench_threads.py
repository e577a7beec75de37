"""Why the element-wise work of a training step runs on one core: the measurements behind it.

A training step alternates BLAS matrix products (OpenBLAS, all cores) with element-wise passes
(the numba kernels, one core). The largest pass is Adam over all 650 k weights of the 784-400-20
VAE: it reads four float32 arrays and writes three, 18 MB per step. This script measures, in one
process per setting and with the CPU model printed:

1. ``adam``: the fused Adam kernel against the same loop without the square root and division
   (``copy-like``): equal times mean the pass is bound by memory traffic, not arithmetic;
2. ``adam alone``: Adam run on one thread, and split into one contiguous half per thread (a
   worker thread from ``concurrent.futures``; the kernels release the GIL), with nothing else
   running: what a second core could give;
3. ``adam after a GEMM``: the same two variants, each right after a two-thread matrix product of
   the step's size, as in training. OpenBLAS's worker threads do not sleep after a product: they
   spin, yielding, for about 2**28 cycles (``OPENBLAS_THREAD_TIMEOUT``, default 28), so a
   second thread started then competes with a spinning one for the other core;
4. the same in a subprocess with ``OPENBLAS_THREAD_TIMEOUT=4`` (workers sleep at once): if the
   split pays again there, the spinning is what took the second core;
5. the other way to use both cores, data parallelism: the floor's eleven products (``_floor.py``)
   on the whole batch with two-thread BLAS, against two threads each running them on half the
   batch with one-thread BLAS (plus adding the two halves' big weight gradients), each in a
   subprocess started with its ``OPENBLAS_NUM_THREADS``.

Usage::

    python benchmarks/bench_threads.py            # about a minute
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

_p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
_p.add_argument("--reps", type=int, default=200, help="calls per timed block")
_p.add_argument("--blocks", type=int, default=9, help="timed blocks (the median is reported)")
_p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
_p.add_argument("--floor", choices=("blas2", "halves"), help=argparse.SUPPRESS)
ARGS = _p.parse_args()
if ARGS.floor == "halves":
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
for _v in ("OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_v, "2")

import statistics  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _floor import make_floor_step  # noqa: E402
from _machine import describe, machine_info  # noqa: E402

from elbo_edu.kernels.numba_backend import _adam  # noqa: E402


@njit(cache=True, nogil=True, error_model="numpy")
def _copy_like(p, g, m, v, step, b1, c1, b2, c2, eps_hat, zero, tiny):
    """Adam's loads and stores and multiply-adds, without the square root and the division."""
    for i in range(p.size):
        gi = g[i]
        mi = m[i] * b1 + c1 * gi
        vi = v[i] * b2 + c2 * (gi * gi)
        m[i] = mi
        v[i] = vi
        p[i] -= step * mi * vi


def main() -> dict:
    f32 = np.float32
    n = 784 * 400 * 2 + 400 * 40 + 20 * 400 + 40 + 400 + 784 + 400       # the VAE's weights
    rng = np.random.default_rng(0)
    p, g = rng.standard_normal(n).astype(f32), (1e-3 * rng.standard_normal(n)).astype(f32)
    m, v = np.zeros(n, f32), np.zeros(n, f32)
    consts = (f32(1e-9), f32(0.9), f32(0.1), f32(0.999), f32(0.001), f32(1e-8), f32(0),
              f32(np.finfo(f32).tiny))
    pool = ThreadPoolExecutor(1)
    half = (n // 2 + 15) // 16 * 16

    def one(kernel=_adam):
        kernel(p, g, m, v, *consts)

    def split():
        fut = pool.submit(_adam, p[half:], g[half:], m[half:], v[half:], *consts)
        _adam(p[:half], g[:half], m[:half], v[:half], *consts)
        fut.result()

    a = rng.standard_normal((128, 784)).astype(f32)
    w = rng.standard_normal((784, 400)).astype(f32)

    def ms(fn, gemm=False):
        """Median over blocks of the time of ``fn`` alone (the GEMM before it is not timed)."""
        for _ in range(10):
            fn()
        out = []
        for _ in range(ARGS.blocks):
            tot = 0.0
            for _ in range(ARGS.reps):
                if gemm:
                    a @ w
                t0 = time.perf_counter()
                fn()
                tot += time.perf_counter() - t0
            out.append(tot / ARGS.reps * 1e3)
        return statistics.median(out)

    res = {"adam": ms(one), "copy-like": ms(lambda: one(_copy_like)),
           "adam alone, 1 thread": ms(one), "adam alone, 2 threads": ms(split),
           "adam after a GEMM, 1 thread": ms(one, gemm=True),
           "adam after a GEMM, 2 threads": ms(split, gemm=True)}
    res["bytes per Adam call (MB)"] = 7 * 4 * n / 1e6
    return res


def floor_ms(mode: str) -> float:
    """ms per step of the floor's products: ``blas2`` the whole batch, ``halves`` two threads."""
    x = (np.random.default_rng(0).random((128, 784)) < 0.3).astype(np.float32)
    if mode == "blas2":
        whole = make_floor_step(1)

        def step():
            whole(x)
    else:
        first, second = make_floor_step(1), make_floor_step(1)
        pool = ThreadPoolExecutor(1)
        g_a, g_b = np.zeros((784, 400), np.float32), np.zeros((784, 400), np.float32)

        def step():
            fut = pool.submit(second, x[64:])
            first(x[:64])
            fut.result()
            np.add(g_a, g_b, out=g_a)          # the two halves' gradients of W1 and of W4
            np.add(g_a, g_b, out=g_a)
    for _ in range(50):
        step()
    out = []
    for _ in range(ARGS.blocks):
        t0 = time.perf_counter()
        for _ in range(ARGS.reps // 4):
            step()
        out.append((time.perf_counter() - t0) / (ARGS.reps // 4) * 1e3)
    return statistics.median(out)


def child(*flags, **env) -> dict:
    run = subprocess.run([sys.executable, __file__, "--child", "--reps", str(ARGS.reps),
                          "--blocks", str(ARGS.blocks), *flags], env={**os.environ, **env},
                         capture_output=True, text=True, check=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    if ARGS.floor:
        print(json.dumps({"floor": floor_ms(ARGS.floor)}))
        sys.exit(0)
    out = main()
    if ARGS.child:
        print(json.dumps(out))
        sys.exit(0)
    sleeping = child(OPENBLAS_THREAD_TIMEOUT="4")
    whole = child("--floor", "blas2")["floor"]
    halves = child("--floor", "halves")["floor"]
    print(describe(machine_info()))
    print(f"Adam over the 784-400-20 VAE's weights ({out['bytes per Adam call (MB)']:.1f} MB "
          f"moved per call), ms per call, median of {ARGS.blocks} blocks of {ARGS.reps}\n")
    print("| measurement | OpenBLAS default (workers spin) | OPENBLAS_THREAD_TIMEOUT=4 |")
    print("|---|---|---|")
    for key in ("adam", "copy-like", "adam alone, 1 thread", "adam alone, 2 threads",
                "adam after a GEMM, 1 thread", "adam after a GEMM, 2 threads"):
        print(f"| {key} | {out[key]:.3f} | {sleeping[key]:.3f} |")
    gain = out["adam alone, 1 thread"] / out["adam alone, 2 threads"]
    gain_gemm = out["adam after a GEMM, 1 thread"] / out["adam after a GEMM, 2 threads"]
    gain_sleep = sleeping["adam after a GEMM, 1 thread"] / sleeping["adam after a GEMM, 2 threads"]
    print(f"\nspeed-up of the 2-thread split: alone {gain:.2f}x; after a GEMM {gain_gemm:.2f}x; "
          f"after a GEMM with OpenBLAS's workers sleeping {gain_sleep:.2f}x")
    print(f"bandwidth of the 1-thread Adam: {out['bytes per Adam call (MB)'] / out['adam']:.1f} "
          f"GB/s")
    print(f"\nthe floor's products per step: whole batch, 2-thread BLAS {whole:.3f} ms; two "
          f"threads on half batches, 1-thread BLAS {halves:.3f} ms ({halves / whole:.2f}x)")
