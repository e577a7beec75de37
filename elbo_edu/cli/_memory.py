"""How much memory a VAE needs, estimated before it is built (so that a huge ``--hidden`` or
``--z-dim`` is refused in one sentence instead of failing deep inside NumPy).

The estimate counts what training keeps: the weights and biases of the encoder
``x_dim -> hidden... -> 2 z_dim`` and the mirrored decoder, four times (the parameters, their
gradients and Adam's two moment arrays), plus a few copies of one batch's activations. It is a
lower bound of the real use, good enough to tell "fits" from "cannot possibly fit".
"""
from __future__ import annotations

import os
from itertools import pairwise

import numpy as np

__all__ = ["available_bytes", "format_bytes", "vae_training_bytes"]

#: arrays of one batch kept per layer width (the output, its gradient, a temporary)
_ACTIVATION_COPIES = 3


def _widths(cfg: dict) -> tuple[list[int], list[int]]:
    hidden = list(cfg.get("hidden", [400]))
    enc = [cfg["x_dim"], *hidden, 2 * cfg["z_dim"]]
    dec = [cfg["z_dim"], *hidden[::-1], cfg["x_dim"]]
    return enc, dec


def vae_training_bytes(cfg: dict, batch_size: int, eval_batch_size: int = 1000) -> int:
    """Bytes needed to train the VAE of ``cfg`` (:meth:`elbo_edu.vae.VAE.config` keys
    ``x_dim``, ``z_dim``, ``hidden``, ``dtype``) with minibatches of ``batch_size`` rows and a
    test evaluation in batches of ``eval_batch_size`` rows (Python integers: no overflow)."""
    item = np.dtype(cfg.get("dtype", "float32")).itemsize
    enc, dec = _widths(cfg)
    weights = sum((a + 1) * b for layers in (enc, dec) for a, b in pairwise(layers))
    rows = max(int(batch_size), int(eval_batch_size))
    activations = rows * (sum(enc) + sum(dec)) * _ACTIVATION_COPIES
    return item * (4 * weights + activations)


def available_bytes() -> int | None:
    """Memory available to a new allocation (Linux ``MemAvailable``; else the physical memory;
    None where neither is known)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return None


def format_bytes(n: float) -> str:
    """``1.5e9`` -> ``'1.4 GiB'`` (binary units)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.3g} PiB"  # pragma: no cover
