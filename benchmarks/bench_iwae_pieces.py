"""Where IWAE_K's time beyond the decoder's matrix products goes: each piece of one chunk alone.

For one block of 100 binarized test images and a chunk of ``kk`` samples (13 = elbo_edu's chunk
of 1 M decoder outputs, 53 = the 4 M-number chunk it used before), the pieces of
``elbo_edu.estimators.iwae_bound`` are timed in turns, ``--repeats`` times, medians reported:

a. the floor: the decoder's two products into preallocated outputs;
b. the same products into fresh arrays (what ``Dense.forward`` does);
c. ``decoder.forward`` (products, bias + ReLU, output bias);
d. the output-bias pass alone; e. bias + ReLU of the hidden layer alone;
f. the Bernoulli log-likelihood of the chunk (``Likelihood.log_prob``, one (N, D) block per sample);
g. ``VAE.log_joint`` (c + f + checks + log p(z));
h. the noise, the reparameterization and log q; i. the streaming log-sum-exp.

784-400-20 ReLU VAE with freshly initialised weights, float32, one thread. Usage::

    python benchmarks/bench_iwae_pieces.py --repeats 15
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
_p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
_p.add_argument("--repeats", type=int, default=15)
_p.add_argument("--data-dir", default=str(HERE.parents[1] / "shared" / "data" / "mnist"))
ARGS = _p.parse_args()
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_v] = "1"

import numpy as np  # noqa: E402

from elbo_edu import kernels as K  # noqa: E402
from elbo_edu.data import load_mnist  # noqa: E402
from elbo_edu.distributions import reparameterize, std_normal_log_prob  # noqa: E402
from elbo_edu.estimators.evidence import _StreamingLogWeights  # noqa: E402
from elbo_edu.vae import VAE  # noqa: E402


def main() -> None:
    x, _ = load_mnist(ARGS.data_dir, split="test", download=False)
    x = np.ascontiguousarray(x[:100] > 0.5, np.float32)
    m = VAE(784, 20, (400,), rng=np.random.default_rng(0))
    rng = np.random.default_rng(0)
    mu, lv = (np.array(a) for a in m.encode(x))
    w1, b1 = m.params["decoder.0.W"], m.params["decoder.0.b"]
    w2, b2 = m.params["decoder.2.W"], m.params["decoder.2.b"]
    res: dict = {}

    def timed(name, f):
        t0 = time.perf_counter()
        f()
        res.setdefault(name, []).append(time.perf_counter() - t0)

    for kk in (13, 53):
        rows = kk * 100
        h, o = np.empty((rows, 400), np.float32), np.empty((rows, 784), np.float32)
        for _ in range(ARGS.repeats):
            eps = rng.standard_normal((kk, 100, 20), dtype=np.float32)
            z = reparameterize(np.broadcast_to(mu, eps.shape), np.broadcast_to(lv, eps.shape), eps)
            z2 = z.reshape(rows, 20)
            timed(f"{kk} a floor (out=)", lambda: (np.matmul(z2, w1, out=h), np.matmul(h, w2, out=o)))
            timed(f"{kk} b products, fresh", lambda: (z2 @ w1) @ w2)
            timed(f"{kk} c decoder.forward", lambda: m.decoder.forward(z2))
            out = m.decoder.forward(z2)
            m.clear_cache()
            timed(f"{kk} d output bias", lambda: K.bias_act_forward(o, b2, "identity"))
            timed(f"{kk} e hidden bias+relu", lambda: K.bias_act_forward(h, b1, "relu"))
            timed(f"{kk} f log-likelihood", lambda: m.likelihood.log_prob(x, out.reshape(kk, 100, 784)))
            timed(f"{kk} g log_joint", lambda: m.log_joint(x, z))
            timed(f"{kk} h noise, z, log q", lambda: (
                rng.standard_normal((kk, 100, 20), dtype=np.float32),
                reparameterize(np.broadcast_to(mu, eps.shape), np.broadcast_to(lv, eps.shape), eps),
                std_normal_log_prob(eps.astype(np.float64))))
            acc, lw = _StreamingLogWeights(100), rng.standard_normal((kk, 100)) - 100
            timed(f"{kk} i log-sum-exp", lambda: acc.update(lw))
    for name, v in sorted(res.items()):
        floor = np.median(res[name.split()[0] + " a floor (out=)"])
        print(f"{name:28s} {np.median(v) * 1e3:9.2f} ms  {np.median(v) / floor:6.3f} x floor")


if __name__ == "__main__":
    main()
