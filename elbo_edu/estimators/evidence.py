r"""Monte-Carlo estimates of the evidence log p(x): naive (prior samples) and importance sampled.

Chapter 03 (D3.3) and chapter 10 (D10.2). Both estimators average importance weights
:math:`w_k = p(x, z_k)/r(z_k)` over samples :math:`z_k \sim r`:

* **naive** — the proposal is the prior, :math:`r = p(z)`, so :math:`w_k = p(x\mid z_k)`. Unbiased
  for :math:`p(x)`, but almost every prior sample explains x badly: in high dimension a handful of
  weights dominate and the relative error explodes;
* **importance sampled / IWAE** — the proposal is the encoder, :math:`r = q(z\mid x)`. The log of
  the average, :math:`\mathrm{IWAE}_K = \log\frac1K\sum_k w_k`, is a lower bound on
  :math:`\log p(x)` in expectation (Jensen) that rises with K
  (:math:`\mathrm{ELBO} = \mathbb E\,\mathrm{IWAE}_1 \le \mathbb E\,\mathrm{IWAE}_K \le \log p(x)`;
  Burda, Grosse & Salakhutdinov, *Importance Weighted Autoencoders*) and converges to it.

Both are computed in bounded memory: rows are processed in blocks and, for each block, the K
samples in chunks whose decoder output holds at most ``max_elements`` numbers; a streaming
log-sum-exp (running maximum and rescaled sums) merges the chunks, so K = 5000 over 10 000 MNIST
images never holds more than one chunk.
"""
from __future__ import annotations

from contextlib import ExitStack
from typing import NamedTuple

import numpy as np

from .._checks import as_float_array, check_positive_int
from ..distributions import reparameterize_unchecked, std_normal_log_prob_unchecked
from .chunks import log_joint_with_workspace, samples_per_chunk, score_chunks, thread_pool, \
    threads_for

#: Decoder outputs (samples x rows x data width) per chunk: 1 M float32 numbers = 4 MB, so that a
#: chunk's decoder output stays in the cache between the matrix product that writes it and the
#: likelihood that reads it. With 16 MB chunks every element-wise pass over the block (the output
#: bias, the log-likelihood) went to main memory: measured in benchmarks/bench_iwae.py.
CHUNK_ELEMENTS = 1 << 20

__all__ = ["CHUNK_ELEMENTS", "EvidenceEstimate", "evidence_bounds", "iwae_bound", "naive_log_evidence",
           "elbo_estimate", "log_weights"]


class EvidenceEstimate(NamedTuple):
    r"""Per-row summaries of K log-weights :math:`\ell_k = \log w_k` (each array (N,)).

    Attributes
    ----------
    log_evidence : :math:`\log\frac1K\sum_k w_k` (IWAE_K with the encoder proposal).
    mean_log_weight : :math:`\frac1K\sum_k \ell_k` (the Monte-Carlo ELBO with the encoder proposal).
    mean_log_weight_se : standard error of ``mean_log_weight``, :math:`\mathrm{sd}(\ell)/\sqrt K`.
    ess : effective sample size :math:`(\sum w)^2/\sum w^2`, in [1, K].
    rel_se : relative standard error of the average weight, :math:`\sqrt{1/\mathrm{ESS} - 1/K}`.
    k : the number of samples K.
    """
    log_evidence: np.ndarray
    mean_log_weight: np.ndarray
    mean_log_weight_se: np.ndarray
    ess: np.ndarray
    rel_se: np.ndarray
    k: int


class _StreamingLogWeights:
    """Running log-sum-exp, sum of squares of weights, and moments of log-weights for n rows."""

    def __init__(self, n: int):
        self.m = np.full(n, -np.inf)      # running maximum of the log-weights
        self.s1 = np.zeros(n)             # sum exp(l - m)
        self.s2 = np.zeros(n)             # sum exp(2 (l - m))
        self.t1 = np.zeros(n)             # sum l
        self.t2 = np.zeros(n)             # sum l^2  (around the first chunk's mean, for stability)
        self.shift = None
        self.k = 0

    def update(self, lw: np.ndarray) -> None:
        lw = np.asarray(lw, dtype=np.float64)            # (kc, n)
        if not np.all(np.isfinite(lw)):
            raise FloatingPointError("non-finite log-weight: the model produced NaN or inf")
        new_m = np.maximum(self.m, lw.max(axis=0))
        scale = np.exp(self.m - new_m)
        e = np.exp(lw - new_m)
        self.s1 = self.s1 * scale + e.sum(axis=0)
        self.s2 = self.s2 * scale ** 2 + (e * e).sum(axis=0)
        self.m = new_m
        if self.shift is None:
            self.shift = lw.mean(axis=0)
        c = lw - self.shift
        self.t1 += c.sum(axis=0)
        self.t2 += (c * c).sum(axis=0)
        self.k += lw.shape[0]

    def result(self):
        k = self.k
        mean_c = self.t1 / k
        var = np.maximum(self.t2 / k - mean_c ** 2, 0.0) * (k / (k - 1) if k > 1 else 0.0)
        ess = self.s1 ** 2 / self.s2
        return (self.m + np.log(self.s1) - np.log(k), self.shift + mean_c, np.sqrt(var / k), ess,
                np.sqrt(np.maximum(1.0 / ess - 1.0 / k, 0.0)))


def _encoded(model, x):
    """``(mu, logvar)`` (N, z_dim) of the encoder, checked once here (float arrays of one shape)
    so that every chunk of samples can reparameterize them unchecked
    (:func:`elbo_edu.distributions.reparameterize_unchecked`, broadcasting over the samples). A
    NaN shows up as a non-finite log-weight (:class:`_StreamingLogWeights`)."""
    mu, logvar = model.encode(x)
    mu = as_float_array(mu, "mu", finite=False)
    logvar = as_float_array(logvar, "logvar", finite=False)
    if mu.shape != logvar.shape or mu.shape[0] != x.shape[0]:
        raise ValueError(f"model: expected encode(x) to give mu and logvar of shape "
                         f"({x.shape[0]}, z_dim), got {mu.shape} and {logvar.shape}")
    return mu, logvar


def _progress(total: int, enabled: bool, desc: str):
    if not enabled:
        return None
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="sample", unit_scale=True)


def evidence_bounds(model, x, k: int, *, proposal: str = "encoder", z_dim: int | None = None,
                    rng: np.random.Generator | None = None, batch_size: int | None = None,
                    max_elements: int = CHUNK_ELEMENTS, progress: bool = False,
                    workers: int | None = None) -> EvidenceEstimate:
    r"""Importance-weighted summaries of K samples per row (D3.3, D10.2).

    .. math:: \log w_k = \log p(x, z_k) - \log r(z_k),\qquad z_k = \mu + \sigma\odot\varepsilon_k
              \ (\text{encoder}),\quad z_k = \varepsilon_k\ (\text{prior}),\quad
              \varepsilon_k\sim\mathcal N(0, I)

    With the encoder proposal :math:`\log r(z_k) = \log\mathcal N(\varepsilon_k; 0, I) -
    \tfrac12\sum_j\log\sigma_j^2` (change of variables) is computed from the noise itself (no
    division by a tiny σ); ``z`` is :func:`elbo_edu.distributions.reparameterize`.

    Parameters
    ----------
    model : VAE-like, or callable
        Needs ``log_joint(x, z)`` for z of shape (S, N, z_dim) and, for ``proposal="encoder"``,
        ``encode(x) -> (mu, logvar)``. With ``proposal="prior"`` it may instead be a callable
        ``log_likelihood(x, z) -> (S, N)`` (then give ``z_dim``).
    x : array (N, x_dim)
    k : int
        Samples per row.
    proposal : {"encoder", "prior"}
    z_dim : int, optional
        Latent width, needed only for a callable ``model``.
    rng : numpy.random.Generator, optional
        Source of ε (default: the model's own ``rng``).
    batch_size : int, optional
        Rows per block (default: all rows up to 100).
    max_elements : int
        Bound on samples × rows × x_dim per decoder call (default :data:`CHUNK_ELEMENTS`, 1 M
        float32 = 4 MB).
    progress : bool
        Show a tqdm bar counting row-samples.
    workers : int, optional
        Threads that score chunks of samples at the same time, each with one-thread BLAS
        (default: as many as NumPy's BLAS has threads, when the chunks are large enough to gain;
        ``1``: one chunk after another). The noise is drawn and the chunks are merged in the
        same order whatever the number, so the result is the same to the last bit.

    Returns
    -------
    EvidenceEstimate
    """
    if proposal not in ("encoder", "prior"):
        raise ValueError(f"proposal: expected 'encoder' or 'prior', got {proposal!r}")
    k = check_positive_int(k, "k")
    max_elements = check_positive_int(max_elements, "max_elements")
    is_fn = not hasattr(model, "log_joint")
    if is_fn and (proposal != "prior" or not callable(model)):
        raise ValueError("model: expected a model with log_joint(x, z) (and encode(x) for the "
                         "encoder proposal), or a callable log_likelihood(x, z) with proposal='prior'")
    if is_fn:
        if z_dim is None:
            raise ValueError("z_dim: expected the latent width when model is a callable")
        z_dim = check_positive_int(z_dim, "z_dim")
    else:
        z_dim = int(model.z_dim)
    x = as_float_array(x, "x")
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"x: expected a non-empty array of shape (N, x_dim), got {x.shape}")
    dtype = np.dtype(getattr(model, "dtype", x.dtype))
    x = x.astype(dtype, copy=False)
    if rng is None:
        rng = getattr(model, "rng", None)
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng: expected a numpy.random.Generator (the model has no rng of its own)")
    n, d = x.shape
    rows = min(n, 100) if batch_size is None else min(n, check_positive_int(batch_size, "batch_size"))
    if workers is not None:
        workers = check_positive_int(workers, "workers")
    bar = _progress(n * k, progress, f"{'IWAE' if proposal == 'encoder' else 'naive'} K={k}")
    out = [np.empty(n) for _ in range(5)]
    log_joint = None if is_fn else log_joint_with_workspace(model)
    kc = samples_per_chunk(k, rows, max(d, z_dim), max_elements)      # the first block's
    threads = threads_for(workers, is_fn, -(-k // kc), kc * rows * d)
    with ExitStack() as stack:
        pool = thread_pool(stack, threads)
        if bar is not None:
            stack.callback(bar.close)
        for r0 in range(0, n, rows):
            xb = x[r0:r0 + rows]
            nb = xb.shape[0]
            if proposal == "encoder":
                mu, logvar = _encoded(model, xb)
                half_logdet = 0.5 * np.sum(logvar.astype(np.float64), axis=-1)

            def chunk_log_weights(eps):
                """(kk, nb) float64 log-weights of one chunk of noise eps (kk, nb, z_dim)."""
                kk = eps.shape[0]
                log_n_eps = std_normal_log_prob_unchecked(eps).astype(np.float64)
                if proposal == "encoder":
                    with np.errstate(over="ignore", invalid="ignore"):  # then lw is not finite
                        z = reparameterize_unchecked(mu, logvar, eps)  # (kk, nb, z_dim)
                    lw = np.asarray(log_joint(xb, z), dtype=np.float64) - (
                        log_n_eps - half_logdet)
                elif is_fn:
                    lw = model(xb, eps)
                else:  # log p(x|z) = log p(x, z) - log p(z)
                    lw = np.asarray(log_joint(xb, eps), dtype=np.float64) - log_n_eps
                lw = np.asarray(lw, dtype=np.float64)
                if lw.shape != (kk, nb):
                    raise ValueError(f"model: expected log-weights of shape {(kk, nb)} (samples, "
                                     f"rows), got {lw.shape}")
                return lw

            kc = samples_per_chunk(k, nb, max(d, z_dim), max_elements)
            sizes = [min(kc, k - k0) for k0 in range(0, k, kc)]
            acc = _StreamingLogWeights(nb)
            for lw in score_chunks(chunk_log_weights, sizes, (nb, z_dim), dtype, rng, pool,
                                   threads):
                acc.update(lw)
                if bar is not None:
                    bar.update(lw.size)
            for o, v in zip(out, acc.result()):
                o[r0:r0 + nb] = v
    return EvidenceEstimate(*out, k)


def iwae_bound(model, x, k: int, rng: np.random.Generator | None = None, *,
               batch_size: int | None = None, max_elements: int = CHUNK_ELEMENTS,
               progress: bool = False, workers: int | None = None) -> np.ndarray:
    r"""Importance-weighted estimate :math:`\mathrm{IWAE}_K = \log\frac1K\sum_{k=1}^K
    \frac{p(x, z_k)}{q(z_k\mid x)}`, :math:`z_k\sim q(z\mid x)`, one value per row (D10.2).

    A stochastic lower bound on :math:`\log p(x)`: its expectation rises with K, equals the ELBO at
    K = 1 and tends to :math:`\log p(x)`. Memory stays bounded for any K and N (see
    :func:`evidence_bounds` for the arguments).

    Parameters
    ----------
    model : VAE-like (``encode``, ``log_joint``)
    x : array (N, x_dim)
    k : int
    rng : numpy.random.Generator, optional

    Returns
    -------
    array (N,)
    """
    return evidence_bounds(model, x, k, rng=rng, batch_size=batch_size,
                           max_elements=max_elements, progress=progress,
                           workers=workers).log_evidence


def naive_log_evidence(model, x, k: int, rng: np.random.Generator | None = None, *,
                       z_dim: int | None = None, batch_size: int | None = None,
                       max_elements: int = CHUNK_ELEMENTS, progress: bool = False) -> np.ndarray:
    r"""Naive Monte-Carlo evidence :math:`\log\frac1K\sum_k p(x\mid z_k)`, :math:`z_k\sim p(z)` (D3.3).

    ``model`` is a VAE-like object (``log_joint``) or a callable ``log_likelihood(x, z)`` taking z
    of shape (S, N, z_dim) and returning (S, N) (then pass ``z_dim``). The average of the weights
    is unbiased for :math:`p(x)`; its relative standard error is ``evidence_bounds(...,
    proposal="prior").rel_se``. Returns (N,).
    """
    return evidence_bounds(model, x, k, proposal="prior", z_dim=z_dim, rng=rng,
                           batch_size=batch_size, max_elements=max_elements,
                           progress=progress).log_evidence


def elbo_estimate(model, x, k: int = 1, rng: np.random.Generator | None = None, **kwargs) -> np.ndarray:
    r"""Monte-Carlo ELBO :math:`\frac1K\sum_k[\log p(x,z_k) - \log q(z_k\mid x)]` per row (D6.1, D9.2).

    Unbiased for the ELBO for every K (more samples only lower its variance). Returns (N,).
    """
    return evidence_bounds(model, x, k, rng=rng, **kwargs).mean_log_weight


def log_weights(model, x, k: int, rng: np.random.Generator | None = None, *,
                proposal: str = "encoder", max_elements: int = CHUNK_ELEMENTS) -> np.ndarray:
    r"""All K log importance weights :math:`\log p(x,z_k) - \log r(z_k)` per row, (K, N) (D10.2).

    For looking at the weights themselves (their spread, the effective sample size) or for
    forming many independent :math:`\mathrm{IWAE}_k` values from disjoint groups of one draw.
    Holds the whole (K, N) matrix and one (K, N, x_dim) decoder output: meant for small K·N; use
    :func:`evidence_bounds` for large ones. Same noise stream as :func:`evidence_bounds` with one
    row block and one chunk.
    """
    if proposal not in ("encoder", "prior"):
        raise ValueError(f"proposal: expected 'encoder' or 'prior', got {proposal!r}")
    k = check_positive_int(k, "k")
    if not hasattr(model, "log_joint"):
        raise ValueError("model: expected a model with log_joint(x, z) and encode(x)")
    x = as_float_array(x, "x")
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"x: expected a non-empty array of shape (N, x_dim), got {x.shape}")
    dtype = np.dtype(getattr(model, "dtype", x.dtype))
    x = x.astype(dtype, copy=False)
    rng = getattr(model, "rng", None) if rng is None else rng
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng: expected a numpy.random.Generator (the model has no rng of its own)")
    z_dim = int(model.z_dim)
    n, d = x.shape
    if proposal == "encoder":
        mu, logvar = _encoded(model, x)
        half_logdet = 0.5 * np.sum(logvar.astype(np.float64), axis=-1)
    out = np.empty((k, n))
    kc = max(1, min(k, int(max_elements) // (n * max(d, z_dim))))
    for k0 in range(0, k, kc):       # chunks along the sample axis: same stream as one big draw
        eps = rng.standard_normal((min(kc, k - k0), n, z_dim), dtype=dtype)
        log_n_eps = std_normal_log_prob_unchecked(eps).astype(np.float64)
        if proposal == "prior":
            out[k0:k0 + kc] = np.asarray(model.log_joint(x, eps), np.float64) - log_n_eps
        else:
            with np.errstate(over="ignore", invalid="ignore"):
                z = reparameterize_unchecked(mu, logvar, eps)
            out[k0:k0 + kc] = np.asarray(model.log_joint(x, z), np.float64) - (
                log_n_eps - half_logdet)
    return out
