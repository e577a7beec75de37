"""Start-up costs, each in a fresh interpreter: ``import elbo_edu``, and the first training step
with a cold and with a warm numba cache.

* ``import elbo_edu``: the package alone (its ``__init__`` imports no sub-module);
* ``import training modules``: ``elbo_edu`` with ``nn``, ``optim``, ``vae`` and ``kernels``,
  NumPy included: what a training script imports before its first step;
* ``first step``: one ``loss_and_grads`` + ``Adam.step`` of the 784-400-20 VAE on a batch of 128
  (float32, numba backend), timed by itself: with a cold cache this is where numba compiles the
  kernels the step needs; ``to first step`` is the whole path from the first import to the end of
  that step (imports, model construction, step).

The cold case points ``NUMBA_CACHE_DIR`` at an empty temporary folder, so every kernel the step
needs is compiled from scratch; the warm case uses the normal cache, filled beforehand. The
backend is forced to numba (``ELBO_EDU_BACKEND``) in every child process, so an inherited
``ELBO_EDU_BACKEND=numpy`` cannot turn the cold measurement into a measurement of nothing.
Reports the median of ``--repeat`` fresh processes.

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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe, machine_info  # noqa: E402

IMPORT_PKG = "import time; t = time.perf_counter(); import elbo_edu; print(time.perf_counter() - t)"
IMPORT = ("import time; t = time.perf_counter(); import elbo_edu, elbo_edu.nn, elbo_edu.optim, "
          "elbo_edu.vae, elbo_edu.kernels; print(time.perf_counter() - t)")
FIRST_STEP = """
import time; t0 = time.perf_counter()
import numpy as np
from elbo_edu.vae import VAE
from elbo_edu.optim import Adam
rng = np.random.default_rng(0)
m = VAE(784, 20, hidden=(400,), rng=rng)
opt = Adam(m.params, m.grads, lr=1e-3)
x = rng.uniform(0, 1, (128, 784)).astype(np.float32)
t1 = time.perf_counter()
m.loss_and_grads(x)
opt.step()
t2 = time.perf_counter()
print(t2 - t1, t2 - t0)
"""


def run(code: str, **env) -> list[float]:
    """Run ``code`` in a fresh interpreter; the numbers of its last output line."""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "ELBO_EDU_BACKEND": "numba", **env})
    if res.returncode:
        raise SystemExit(f"child process failed:\n{res.stderr}")
    return [float(v) for v in res.stdout.strip().splitlines()[-1].split()]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", default=None)
    args = p.parse_args()
    if args.repeat < 1:
        p.error(f"--repeat: expected a positive integer, got {args.repeat}")
    info = machine_info()
    print(describe(info), flush=True)
    run(FIRST_STEP)                                   # make sure the normal cache is warm
    res = {"import_elbo_edu": [run(IMPORT_PKG)[0] for _ in range(args.repeat)],
           "import_training_modules": [run(IMPORT)[0] for _ in range(args.repeat)]}
    warm = [run(FIRST_STEP) for _ in range(args.repeat)]
    cold = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as d:
            cold.append(run(FIRST_STEP, NUMBA_CACHE_DIR=d))
    res["first_step_warm_cache"] = [w[0] for w in warm]
    res["to_first_step_warm_cache"] = [w[1] for w in warm]
    res["first_step_cold_cache"] = [c[0] for c in cold]
    res["to_first_step_cold_cache"] = [c[1] for c in cold]
    summary = {k: statistics.median(v) for k, v in res.items()}
    print(f"\n{describe(info)}\n\n| start-up (fresh process, median of {args.repeat}) "
          "| seconds |\n|---|---|")
    for k, v in summary.items():
        print(f"| {k.replace('_', ' ')} | {v:.3f} |")
    out = Path(args.out) if args.out else Path(__file__).resolve().parent / "results" / \
        "startup.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": info, "median_seconds": summary, "all_seconds": res},
                              indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
