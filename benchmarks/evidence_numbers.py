"""Numbers for the closing note: test ELBO vs IWAE_K on MNIST, and grid log p(x) for a 2-D latent.

1. The PyTorch-example configuration (784-400-20, Bernoulli on grey levels, Adam 1e-3, batch 128,
   10 epochs, full MNIST): the test negative ELBO (closed-form KL, one noise draw, as reported by
   training), the Monte-Carlo ELBO and IWAE_K (K = 5000) from the same K samples per test image,
   and the gap IWAE_K - ELBO.
2. A 784-400-2 model with the same settings: on test images, grid log p(x) (quadrature on a
   201 x 201 grid) against the ELBO and IWAE_k for k = 1, 10, 100, 1000, and the grid KL(q || p(z|x)).

Usage::

    python benchmarks/evidence_numbers.py --out evidence_numbers.json          # everything
    python benchmarks/evidence_numbers.py --n-iwae 100 --n-grid 20 --epochs 1  # a quick look

The data are read from ``../shared/data/mnist`` beside the repository (or ``--data-dir``). Time
is measured on 100 images before the full IWAE pass and the extrapolation printed.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from elbo_edu.data import load_dataset
from elbo_edu.estimators import evidence_bounds
from elbo_edu.estimators.grid import grid_posterior, make_grid
from elbo_edu.train import evaluate, train
from elbo_edu.vae import VAE

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _train(data, z_dim, epochs, seed):
    model = VAE(784, z_dim, hidden=(400,), likelihood="bernoulli", dtype=np.float32,
                rng=np.random.default_rng(seed))
    t = time.perf_counter()
    hist = train(model, data, epochs=epochs, batch_size=128, lr=1e-3, seed=seed, progress=False,
                 log=lambda m: print(f"  epoch {m['epoch']}: train {m['train_loss']:.2f} "
                                     f"test {m['test_loss']:.2f} ({m['seconds']:.1f} s)", flush=True))
    return model, hist, time.perf_counter() - t


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=str(DEFAULT_DATA))
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--k", type=int, default=5000)
    p.add_argument("--n-iwae", type=int, default=10000, help="test images for IWAE_K")
    p.add_argument("--n-grid", type=int, default=200, help="test images for the grid check")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--skip-iwae", action="store_true")
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    res = {"config": vars(a)}
    data = load_dataset("mnist", data_dir=a.data_dir, download=False)
    x_test = data.x_test

    # ---------------------------------------------------------------- z = 2: grid vs IWAE_k
    print("z_dim = 2 model", flush=True)
    m2, hist2, secs = _train(data, 2, a.epochs, a.seed)
    xg = x_test[:a.n_grid]
    t = time.perf_counter()
    grid = make_grid(-8, 8, 201)
    gp = grid_posterior(m2, xg, grid)
    res["z2"] = {"train_seconds": secs, "test_loss": hist2[-1]["test_loss"],
                 "grid_seconds": time.perf_counter() - t, "n_images": len(xg),
                 "grid_log_px": float(gp.log_evidence.mean()),
                 "grid_kl_q_posterior": float(gp.kl_q_posterior.mean()),
                 "q_mass_min": float(gp.q_mass.min())}
    rng = np.random.default_rng(a.seed)
    for k in (1, 10, 100, 1000):
        est = evidence_bounds(m2, xg, k, rng=rng)
        res["z2"][f"iwae_{k}"] = float(est.log_evidence.mean())
        if k == 1000:
            res["z2"]["elbo_mc"] = float(est.mean_log_weight.mean())
            res["z2"]["gap_grid_minus_elbo"] = float((gp.log_evidence - est.mean_log_weight).mean())
    print(json.dumps(res["z2"], indent=1), flush=True)

    # ------------------------------------------------------- z = 20: ELBO vs IWAE_5000
    print("z_dim = 20 model (PyTorch example configuration)", flush=True)
    m20, hist20, secs = _train(data, 20, a.epochs, a.seed)
    ev = evaluate(m20, x_test)
    res["z20"] = {"train_seconds": secs, "epoch_seconds": [h["seconds"] for h in hist20],
                  "test_loss": ev["loss"], "test_recon": ev["recon"], "test_kl": ev["kl"]}
    if not a.skip_iwae:
        t = time.perf_counter()
        evidence_bounds(m20, x_test[:100], a.k, rng=np.random.default_rng(0))
        per100 = time.perf_counter() - t
        res["z20"]["iwae_seconds_per_100_images"] = per100
        print(f"IWAE_{a.k} on 100 images: {per100:.1f} s -> {per100 * a.n_iwae / 100 / 60:.1f} min "
              f"for {a.n_iwae}", flush=True)
        t = time.perf_counter()
        est = evidence_bounds(m20, x_test[:a.n_iwae], a.k, rng=np.random.default_rng(a.seed),
                              progress=True)
        res["z20"].update(
            iwae_seconds=time.perf_counter() - t, iwae_n_images=a.n_iwae, iwae_k=a.k,
            iwae=float(est.log_evidence.mean()), elbo_mc=float(est.mean_log_weight.mean()),
            elbo_mc_se=float(np.sqrt(np.mean(est.mean_log_weight_se ** 2) / a.n_iwae)),
            gap=float((est.log_evidence - est.mean_log_weight).mean()),
            median_ess=float(np.median(est.ess)))
    print(json.dumps(res["z20"], indent=1), flush=True)
    if a.out:
        Path(a.out).write_text(json.dumps(res, indent=1))
    return res


if __name__ == "__main__":
    main()
