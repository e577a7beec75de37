"""The matrix-product floor of one training step of the 784-400-20 VAE (shared by the benchmarks).

The eleven float32 products of a forward + backward pass at the step's shapes, into preallocated
outputs, the first layer without its input gradient: no element-wise work, no optimizer, no Python
layers. Whatever a real step costs beyond this is overhead that could, in principle, be removed.
"""
from __future__ import annotations

import numpy as np


def make_floor_step(seed: int = 1, x_dim: int = 784, hidden: int = 400, z_dim: int = 20):
    """``step(xb)`` running the eleven products for a batch ``xb`` of shape (N, x_dim)."""
    rng = np.random.default_rng(seed)
    f32 = np.float32
    w1 = rng.standard_normal((x_dim, hidden)).astype(f32)
    w2 = rng.standard_normal((hidden, 2 * z_dim)).astype(f32)
    w3 = rng.standard_normal((z_dim, hidden)).astype(f32)
    w4 = rng.standard_normal((hidden, x_dim)).astype(f32)
    bufs: dict = {}

    def buf(name, shape):
        if bufs.get(name) is None or bufs[name].shape != shape:
            bufs[name] = np.empty(shape, f32)
        return bufs[name]

    def step(xb):
        n = xb.shape[0]
        h1 = np.matmul(xb, w1, out=buf("h1", (n, hidden)))
        e = np.matmul(h1, w2, out=buf("e", (n, 2 * z_dim)))
        z = np.ascontiguousarray(e[:, :z_dim])
        h3 = np.matmul(z, w3, out=buf("h3", (n, hidden)))
        lo = np.matmul(h3, w4, out=buf("lo", (n, x_dim)))
        np.matmul(h3.T, lo, out=buf("g4", w4.shape))             # dW4
        d3 = np.matmul(lo, w4.T, out=buf("d3", (n, hidden)))    # dh3
        np.matmul(z.T, d3, out=buf("g3", w3.shape))             # dW3
        dz = np.matmul(d3, w3.T, out=buf("dz", (n, z_dim)))     # dz
        de = np.concatenate([dz, dz], axis=1)
        np.matmul(h1.T, de, out=buf("g2", w2.shape))            # dW2
        d1 = np.matmul(de, w2.T, out=buf("d1", (n, hidden)))    # dh1
        np.matmul(xb.T, d1, out=buf("g1", w1.shape))            # dW1

    return step
