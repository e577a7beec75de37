r"""Density estimation from samples: Gaussian maximum likelihood and kernel density estimation.

Chapter 01 (D1.2–D1.5). Two ways to turn data :math:`x_1,\dots,x_N \in \mathbb R^d` into a density:

* **parametric** — a diagonal Gaussian :math:`\mathcal N(\mu, \operatorname{diag}\sigma^2)` whose
  parameters maximise the i.i.d. log-likelihood. The maximiser has a closed form (sample mean and
  the biased sample variance), and plain gradient ascent on ``(mean, logvar)`` finds the same point;
* **nonparametric** — the Gaussian kernel density estimate
  :math:`\hat p(x) = \frac1N\sum_i \mathcal N(x; x_i, h^2 I)`, a mixture with one bump per data
  point, whose only knob is the bandwidth :math:`h` (Scott's rule, Silverman's rule, or the value
  that maximises the likelihood of held-out data).

The log-likelihood of i.i.d. data is a **sum** over points (D1.4), so its gradient is a sum too,
and a random minibatch of ``M`` points rescaled by ``N/M`` is an unbiased estimate of it (D1.5).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._checks import as_float_array, check_ndim, check_positive_float, check_positive_int
from ..distributions import gaussian_log_prob, gaussian_log_prob_grad

from ..kernels import kde_log_density as _kde_kernel  # the seam: numba kernel or NumPy backend

__all__ = [
    "gaussian_mle", "log_likelihood", "log_likelihood_grad", "GaussianFit", "fit_gaussian_ascent",
    "minibatch_gradient", "minibatch_gradients",
    "kde_log_density", "scott_bandwidth", "silverman_bandwidth", "heldout_bandwidth",
]


def _data(x, name="x"):
    x = as_float_array(x, name)
    check_ndim(x, name, 2)
    if x.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one data point, got shape {x.shape}")
    return x


def _params(x, mean, logvar):
    mean = as_float_array(mean, "mean")
    logvar = as_float_array(logvar, "logvar")
    for a, n in ((mean, "mean"), (logvar, "logvar")):
        if a.shape != (x.shape[1],):
            raise ValueError(f"{n}: expected shape ({x.shape[1]},) (one value per data dimension), "
                             f"got {a.shape}")
    return mean, logvar


# ------------------------------------------------------------------- Gaussian maximum likelihood
def gaussian_mle(x):
    r"""Closed-form maximum-likelihood diagonal Gaussian (chapter 01, D1.2).

    Setting the gradient of :func:`log_likelihood` to zero gives
    :math:`\hat\mu = \frac1N\sum_i x_i` and :math:`\hat\sigma^2_j = \frac1N\sum_i (x_{ij}-\hat\mu_j)^2`
    (the *biased* variance: dividing by ``N``, not ``N - 1``).

    Parameters
    ----------
    x : array (N, d)

    Returns
    -------
    mean, logvar : arrays (d,)
    """
    x = _data(x)
    mean = x.mean(axis=0)
    var = ((x - mean) ** 2).mean(axis=0)
    if np.any(var <= 0):
        raise ValueError("x: expected data that vary in every dimension (a zero variance has no log)")
    return mean, np.log(var)


def log_likelihood(x, mean, logvar) -> float:
    r"""i.i.d. log-likelihood :math:`\sum_{i=1}^N \log\mathcal N(x_i;\mu,\operatorname{diag}\sigma^2)`
    (chapter 01, D1.4): independence turns the product of densities into a sum of logs.

    ``x``: (N, d); ``mean``, ``logvar``: (d,). Returns a float.
    """
    x = _data(x)
    mean, logvar = _params(x, mean, logvar)
    return float(np.sum(gaussian_log_prob(x, mean, logvar)))


def log_likelihood_grad(x, mean, logvar):
    r"""Gradient of :func:`log_likelihood` with respect to ``mean`` and ``logvar`` (D1.2).

    .. math:: \nabla_\mu = \sum_i \frac{x_i-\mu}{\sigma^2},\qquad
              \nabla_{\log\sigma^2} = \tfrac12\sum_i\Big(\frac{(x_i-\mu)^2}{\sigma^2}-1\Big)

    Returns
    -------
    dmean, dlogvar : arrays (d,)
    """
    x = _data(x)
    mean, logvar = _params(x, mean, logvar)
    _, dmean, dlogvar = gaussian_log_prob_grad(x, mean, logvar)
    return dmean, dlogvar


class GaussianFit(NamedTuple):
    """Result of :func:`fit_gaussian_ascent`: final parameters and the per-step average log-likelihood."""
    mean: np.ndarray
    logvar: np.ndarray
    history: np.ndarray


def fit_gaussian_ascent(x, *, lr: float = 0.2, steps: int = 500, mean0=None, logvar0=None) -> GaussianFit:
    r"""Maximum likelihood by gradient ascent on ``(mean, logvar)`` (chapter 01, D1.2).

    Each step moves along the gradient of the *average* log-likelihood (the sum divided by ``N``,
    so the step size does not depend on the number of points):
    :math:`\theta \leftarrow \theta + \eta\,\frac1N\nabla_\theta\sum_i\log p(x_i\mid\theta)`.
    Starts from the standard normal unless ``mean0``/``logvar0`` are given; it converges to
    :func:`gaussian_mle` (the log-likelihood is concave in the mean and, for fixed mean, in
    :math:`\log\sigma^2`).

    Parameters
    ----------
    x : array (N, d)
    lr : float
        Step size :math:`\eta`. Near the optimum the mean contracts by :math:`1-\eta/\sigma_j^2`
        per step, so it must stay below :math:`2\sigma_j^2` (the smallest variance) to converge.
    steps : int
    mean0, logvar0 : arrays (d,), optional

    Returns
    -------
    GaussianFit
        ``mean``, ``logvar`` (d,) and ``history`` (steps + 1,) — the average log-likelihood before
        each step and after the last.
    """
    x = _data(x).astype(np.float64)
    lr = check_positive_float(lr, "lr")
    steps = check_positive_int(steps, "steps")
    d = x.shape[1]
    mean = np.zeros(d) if mean0 is None else np.array(mean0, dtype=np.float64)
    logvar = np.zeros(d) if logvar0 is None else np.array(logvar0, dtype=np.float64)
    mean, logvar = _params(x, mean, logvar)
    n = x.shape[0]
    history = np.empty(steps + 1)
    for t in range(steps):
        history[t] = log_likelihood(x, mean, logvar) / n
        dmean, dlogvar = log_likelihood_grad(x, mean, logvar)
        mean = mean + lr * dmean / n
        logvar = logvar + lr * dlogvar / n
    history[steps] = log_likelihood(x, mean, logvar) / n
    return GaussianFit(mean, logvar, history)


# ------------------------------------------------------------------------- minibatch gradients
def minibatch_gradient(x, mean, logvar, idx):
    r"""Minibatch estimate of the full-data gradient of :func:`log_likelihood` (chapter 01, D1.5).

    .. math:: \hat g = \frac NM \sum_{i\in B}\nabla_\theta \log p(x_i\mid\theta),\qquad
              \mathbb E_B[\hat g] = \nabla_\theta\sum_{i=1}^N\log p(x_i\mid\theta)

    when the batch :math:`B` of :math:`M` indices is drawn uniformly (with or without
    replacement): the expected *number of times* a point appears in the batch is :math:`M/N`
    (with replacement a point may appear more than once, so this is an expected count, not a
    probability of being in the batch), and the factor :math:`N/M` undoes it, which makes
    :math:`\hat g` unbiased.

    Parameters
    ----------
    x : array (N, d)
    mean, logvar : arrays (d,)
    idx : int array (M,)
        Indices of the minibatch rows.

    Returns
    -------
    dmean, dlogvar : arrays (d,)
    """
    x = _data(x)
    idx = np.asarray(idx)
    if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"idx: expected a non-empty 1-D integer array, got shape {idx.shape} "
                         f"and dtype {idx.dtype}")
    if idx.min() < 0 or idx.max() >= x.shape[0]:
        raise ValueError(f"idx: expected indices in [0, {x.shape[0] - 1}], got range "
                         f"[{idx.min()}, {idx.max()}]")
    scale = x.shape[0] / idx.size
    dmean, dlogvar = log_likelihood_grad(x[idx], mean, logvar)
    return scale * dmean, scale * dlogvar


def minibatch_gradients(x, mean, logvar, batch_size: int, n_batches: int, rng: np.random.Generator):
    """Many independent minibatch gradients (batches drawn without replacement within each batch).

    Returns
    -------
    array (n_batches, 2 d)
        Row ``r`` is ``concatenate(minibatch_gradient(...))`` for the ``r``-th random batch; its
        column means estimate the full gradient and its column standard deviations show the noise.
    """
    x = _data(x)
    batch_size = check_positive_int(batch_size, "batch_size")
    n_batches = check_positive_int(n_batches, "n_batches")
    if batch_size > x.shape[0]:
        raise ValueError(f"batch_size: expected at most N = {x.shape[0]}, got {batch_size}")
    out = np.empty((n_batches, 2 * x.shape[1]))
    for r in range(n_batches):
        idx = rng.choice(x.shape[0], size=batch_size, replace=False)
        out[r] = np.concatenate(minibatch_gradient(x, mean, logvar, idx))
    return out


# ------------------------------------------------------------------ kernel density estimation
def kde_log_density(x_eval, x_data, bandwidth: float) -> np.ndarray:
    r"""Log-density of the Gaussian kernel density estimate (chapter 01, D1.3).

    .. math:: \log\hat p(x) = \log\frac{1}{N h^d}\sum_{i=1}^N K\Big(\frac{x-x_i}{h}\Big)
              = \operatorname{logsumexp}_i\Big(-\frac{\lVert x-x_i\rVert^2}{2h^2}\Big)
                - \log N - \frac d2\log(2\pi h^2)

    with the standard normal kernel :math:`K(u)=(2\pi)^{-d/2}e^{-\lVert u\rVert^2/2}`. Each
    kernel integrates to one, so the average does too. Computed by the fused kernel
    ``elbo_edu.kernels.kde_log_density`` (numba or NumPy backend).

    Parameters
    ----------
    x_eval : array (M, d)
    x_data : array (N, d)
    bandwidth : float > 0

    Returns
    -------
    array (M,)
    """
    x_eval = _data(x_eval, "x_eval")
    x_data = _data(x_data, "x_data")
    if x_eval.shape[1] != x_data.shape[1]:
        raise ValueError(f"x_eval: expected {x_data.shape[1]} columns (like x_data), "
                         f"got shape {x_eval.shape}")
    h = check_positive_float(bandwidth, "bandwidth")
    dtype = np.result_type(x_eval.dtype, x_data.dtype)
    x_eval, x_data = x_eval.astype(dtype, copy=False), x_data.astype(dtype, copy=False)
    return _kde_kernel(np.ascontiguousarray(x_eval), np.ascontiguousarray(x_data), h)


def _spread(x):
    """The single scale of an isotropic kernel: root mean of the per-dimension variances (ddof=1)."""
    if x.shape[0] < 2:
        raise ValueError(f"x: expected at least 2 data points to measure the spread, got {x.shape[0]}")
    s = float(np.sqrt(np.mean(np.var(x, axis=0, ddof=1))))
    if s <= 0:
        raise ValueError("x: expected data with a non-zero spread")
    return s


def scott_bandwidth(x) -> float:
    r"""Scott's rule :math:`h = \hat\sigma\,N^{-1/(d+4)}` (chapter 01, D1.3).

    :math:`\hat\sigma` is the root mean of the per-dimension sample variances (one isotropic
    bandwidth). In 1-D this is the bandwidth of ``scipy.stats.gaussian_kde(x, "scott")``.
    ``x``: (N, d).
    """
    x = _data(x)
    n, d = x.shape
    return _spread(x) * n ** (-1.0 / (d + 4))


def silverman_bandwidth(x) -> float:
    r"""Silverman's rule :math:`h = \hat\sigma\,\big(\tfrac{4}{(d+2)N}\big)^{1/(d+4)}` (D1.3).

    The bandwidth minimising the asymptotic mean integrated squared error when the data are
    Gaussian; in 1-D it is :math:`1.06\,\hat\sigma N^{-1/5}`. ``x``: (N, d).
    """
    x = _data(x)
    n, d = x.shape
    return _spread(x) * (4.0 / ((d + 2) * n)) ** (1.0 / (d + 4))


def heldout_bandwidth(x_train, x_val, bandwidths):
    r"""Bandwidth maximising the average held-out log-density (D1.3): a grid search.

    A bandwidth chosen on the training points themselves would shrink to zero (each point's own
    bump dominates); scoring on separate points penalises both over- and under-smoothing.

    Parameters
    ----------
    x_train : array (N, d)
    x_val : array (M, d)
    bandwidths : array (B,) of positive floats

    Returns
    -------
    best : float
    scores : array (B,)
        Mean of :func:`kde_log_density` over ``x_val`` for each bandwidth.
    """
    bw = as_float_array(bandwidths, "bandwidths", ndim_min=1)
    if bw.ndim != 1 or bw.size == 0 or np.any(bw <= 0):
        raise ValueError("bandwidths: expected a non-empty 1-D array of positive numbers")
    scores = np.array([np.mean(kde_log_density(x_val, x_train, float(h))) for h in bw])
    return float(bw[int(np.argmax(scores))]), scores
