"""Kernel density estimate on 10 000 x 10 000 points: the numba kernel against the NumPy twin.

Both compute :func:`elbo_edu.kernels.kde_log_density` (Gaussian kernel, every evaluation point
against every data point, a stable log-sum-exp); the NumPy twin is vectorised over chunks of
evaluation rows. Reports the median of ``--repeat`` runs per backend and the largest relative
difference between the two answers.

Usage::

    python benchmarks/bench_kde.py --n 10000 --dim 2 --threads 2 --out benchmarks/results/kde.json
"""
from __future__ import annotations

import argparse
import os

_p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
_p.add_argument("--n", type=int, default=10_000, help="evaluation points = data points = n")
_p.add_argument("--dim", type=int, default=2)
_p.add_argument("--dtype", default="float64", choices=("float32", "float64"))
_p.add_argument("--repeat", type=int, default=3)
_p.add_argument("--threads", type=int, default=2)
_p.add_argument("--out", default=None, help="JSON output (default benchmarks/results/kde.json)")
ARGS = _p.parse_args()
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_v] = str(ARGS.threads)

import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from elbo_edu import kernels as K  # noqa: E402


def main():
    rng = np.random.default_rng(0)
    x_data = rng.standard_normal((ARGS.n, ARGS.dim)).astype(ARGS.dtype)
    x_eval = rng.standard_normal((ARGS.n, ARGS.dim)).astype(ARGS.dtype)
    h = 0.2
    with K.use_backend("numba"):
        K.kde_log_density(x_eval[:10], x_data[:10], h)           # compile (or load the cache)
    rows, answers = {}, {}
    for backend in ("numba", "numpy"):
        times = []
        with K.use_backend(backend):
            for _ in range(ARGS.repeat):
                t0 = time.perf_counter()
                answers[backend] = K.kde_log_density(x_eval, x_data, h)
                times.append(time.perf_counter() - t0)
        rows[backend] = {"seconds": statistics.median(times), "all_seconds": times}
        print(f"{backend:6s} {rows[backend]['seconds']:.3f} s", flush=True)
    a, b = answers["numba"].astype(np.float64), answers["numpy"].astype(np.float64)
    max_rel = float(np.max(np.abs(a - b) / np.abs(b)))
    speedup = rows["numpy"]["seconds"] / rows["numba"]["seconds"]
    result = {"config": vars(ARGS) | {"bandwidth": h}, "results": rows,
              "numpy_over_numba": speedup, "max_rel_difference": max_rel}
    print(f"\n| KDE {ARGS.n} x {ARGS.n}, d={ARGS.dim}, {ARGS.dtype} | seconds (median of "
          f"{ARGS.repeat}) |\n|---|---|")
    for k, r in rows.items():
        print(f"| {k} | {r['seconds']:.3f} |")
    print(f"\nnumba is {speedup:.1f}x faster; largest relative difference {max_rel:.1e}")
    out = Path(ARGS.out) if ARGS.out else Path(__file__).resolve().parent / "results" / "kde.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
