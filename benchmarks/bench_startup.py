"""Start-up costs: ``import elbo_edu`` with a warm cache, and the first training step with a cold
and with a warm numba cache (each in a fresh interpreter).

The cold case points ``NUMBA_CACHE_DIR`` at an empty temporary folder, so every kernel the step
needs is compiled from scratch; the warm case uses the normal cache, filled by the cold run's
sibling. Reports the median of ``--repeat`` fresh processes.

Usage::

    python benchmarks/bench_startup.py --out benchmarks/results/startup.json
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

IMPORT = ("import time; t = time.perf_counter(); import elbo_edu, elbo_edu.nn, elbo_edu.optim, "
          "elbo_edu.vae, elbo_edu.kernels; print(time.perf_counter() - t)")
FIRST_STEP = """
import time; t = time.perf_counter()
import numpy as np
from elbo_edu.vae import VAE
from elbo_edu.optim import Adam
rng = np.random.default_rng(0)
m = VAE(784, 20, hidden=(400,), rng=rng)
opt = Adam(m.params, m.grads, lr=1e-3)
m.loss_and_grads(rng.uniform(0, 1, (128, 784)).astype(np.float32))
opt.step()
print(time.perf_counter() - t)
"""


def run(code: str, **env) -> float:
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, **env}, check=True)
    return float(res.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", default=None)
    args = p.parse_args()
    run(FIRST_STEP)                                   # make sure the normal cache is warm
    res = {"import_warm": [run(IMPORT) for _ in range(args.repeat)],
           "first_step_warm": [run(FIRST_STEP) for _ in range(args.repeat)], "first_step_cold": []}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as d:
            res["first_step_cold"].append(run(FIRST_STEP, NUMBA_CACHE_DIR=d))
    summary = {k: statistics.median(v) for k, v in res.items()}
    print("| start-up (fresh process) | seconds (median) |\n|---|---|")
    for k, v in summary.items():
        print(f"| {k.replace('_', ' ')} | {v:.2f} |")
    out = Path(args.out) if args.out else Path(__file__).resolve().parent / "results" / \
        "startup.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"median_seconds": summary, "all_seconds": res}, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
