"""Turning grey levels into binary pixels, for the Bernoulli likelihood.

Three conventions appear in the VAE literature (chapter 07, D7.2: the Bernoulli likelihood):

* **dynamic**: a fresh Bernoulli sample ``x_bin ~ Bernoulli(x)`` every time a batch is used, so
  the model sees many binarizations of each image (a mild regularizer);
* **static, sampled**: one Bernoulli sample drawn once with a fixed seed and kept - what the
  published "binarized MNIST" is (see :mod:`elbo_edu.data.binarized_mnist`);
* **static, thresholded**: ``x > 0.5``, deterministic.

Likelihood numbers are only comparable between models trained and tested with the same one.
"""
from __future__ import annotations

import numbers

import numpy as np

from .._checks import as_float_array, check_probability_targets
from ._common import check_rng

__all__ = ["binarize_dynamic", "binarize_static", "binarize_static_sample"]


def _grey_levels(x) -> np.ndarray:
    arr = as_float_array(x, "x")
    check_probability_targets(arr, "x")
    return arr


def binarize_dynamic(x, rng: np.random.Generator) -> np.ndarray:
    """Draw ``b ~ Bernoulli(x)`` element-wise; a new sample on every call.

    Parameters
    ----------
    x : array_like, shape (...), values in [0, 1]
        Grey levels, read as the probability that a pixel is on.
    rng : numpy.random.Generator
        The source of randomness.

    Returns
    -------
    ndarray, shape of ``x``
        0.0 / 1.0 in the float dtype of ``x`` (float64 for integer input), with
        ``E[b] = x`` exactly: ``b = 1`` iff ``u < x`` for ``u ~ Uniform[0, 1)``.
    """
    arr = _grey_levels(x)
    check_rng(rng)
    u = rng.random(arr.shape, dtype=np.float32 if arr.dtype == np.float32 else np.float64)
    return (u < arr).astype(arr.dtype)


def binarize_static(x, threshold: float = 0.5) -> np.ndarray:
    """Deterministic binarization ``b = 1[x > threshold]``.

    Parameters
    ----------
    x : array_like, shape (...), values in [0, 1]
    threshold : float in [0, 1)

    Returns
    -------
    ndarray, shape of ``x``, 0.0 / 1.0 in the float dtype of ``x``.
    """
    arr = _grey_levels(x)
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) \
            or not 0 <= threshold < 1:
        raise ValueError(f"threshold: expected a number in [0, 1), got {threshold!r}")
    return (arr > threshold).astype(arr.dtype)


def binarize_static_sample(x, seed: int = 0) -> np.ndarray:
    """One Bernoulli sample with a fixed seed: the same binary array on every call.

    Equivalent to ``binarize_dynamic(x, np.random.default_rng(seed))``; use it to binarize a data
    set once, like the published statically binarized MNIST.
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
    return binarize_dynamic(x, np.random.default_rng(seed))
