r"""Log-densities and Kullback–Leibler divergences, each beside its analytic gradient.

Conventions (used across the package):

* Gaussians are parameterised by ``logvar`` :math:`=\log\sigma^2`; Bernoullis by ``logits``.
* A log-density sums over the **last axis** (the event dimensions) and returns one value per row:
  inputs of shape ``(..., D)`` give an output of shape ``(...)``.
* Parameters may broadcast *up to* the shape of the data ``x`` (e.g. a single ``logvar`` shared by
  every pixel) but never the other way round; the gradient of a broadcast parameter is summed back
  to that parameter's own shape.
* Every ``*_grad`` function takes the same arguments plus ``grad_out`` (the upstream gradient, one
  value per output element, default ones) and returns a tuple of vector–Jacobian products, one per
  differentiable argument, in argument order (data that is discrete or bounded — Bernoulli
  targets, class labels — gets none).
* The functions that the NumPy backend of :mod:`elbo_edu.kernels` runs are each split in two: the
  public function checks its arguments (``ValueError`` naming the argument: dtype, shape,
  finiteness, targets in [0, 1]) and calls its core ``<name>_unchecked``, which holds the formula
  and takes arrays already checked. The backend calls the cores on the arrays of a training step,
  which the package built itself, so a step makes no pass over its data only to check it.

Derived in chapter 05 (the KL terms, D5.1–D5.5) and chapter 07 (the likelihoods, D7.1–D7.3); the
categorical model is chapter 02 (D2.1).
"""
from __future__ import annotations

import numpy as np

# (float32 and float64 only: a log-density in float16 rounds to -inf long before it is small)
from ._checks import as_density_array as as_float_array
from ._checks import check_probability_targets, check_same_shape
from .special import LOG_2PI, logsumexp, sigmoid, softplus

__all__ = [
    "LOG_2PI",
    "gaussian_log_prob", "gaussian_log_prob_grad",
    "std_normal_log_prob", "std_normal_log_prob_grad",
    "bernoulli_log_prob", "bernoulli_log_prob_grad",
    "categorical_log_prob", "categorical_log_prob_grad", "log_softmax", "softmax",
    "kl_normal", "kl_normal_grad",
    "kl_std_normal", "kl_std_normal_grad",
    "gaussian_entropy", "standardized_residual",
    "continuous_bernoulli_log_norm", "continuous_bernoulli_log_norm_grad",
    "continuous_bernoulli_log_prob", "continuous_bernoulli_log_prob_grad",
    "continuous_bernoulli_mean",
    "reparameterize", "reparameterize_grad",
    # the unchecked cores that the NumPy backend of the seam runs (see each checked function)
    "gaussian_log_prob_unchecked", "gaussian_log_prob_grad_unchecked",
    "bernoulli_log_prob_unchecked", "bernoulli_log_prob_grad_unchecked",
    "continuous_bernoulli_log_norm_unchecked", "continuous_bernoulli_log_norm_grad_unchecked",
    "continuous_bernoulli_log_prob_unchecked", "continuous_bernoulli_log_prob_grad_unchecked",
    "reparameterize_unchecked", "reparameterize_grad_unchecked",
    "kl_std_normal_unchecked", "kl_std_normal_grad_unchecked",
]


# --------------------------------------------------------------------------------------- helpers
def _data(x, name="x"):
    return as_float_array(x, name, ndim_min=1)


def _param_like(p, name, x):
    """Check that parameter ``p`` broadcasts to ``x.shape`` without changing it."""
    p = as_float_array(p, name)
    try:
        out_shape = np.broadcast_shapes(p.shape, x.shape)
    except ValueError:
        out_shape = None
    if out_shape != x.shape:
        raise ValueError(f"{name}: expected a shape that broadcasts to x's shape {x.shape}, "
                         f"got {p.shape}")
    return p


def _unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``g`` down to ``shape`` (the adjoint of broadcasting)."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead))) if lead else g
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


def _rows_upstream(grad_out, out_shape, dtype):
    """The upstream gradient of a core (one value per row, or ``None`` for ones), expanded over
    the summed last axis; unchecked."""
    if grad_out is None:
        return np.ones(out_shape + (1,), dtype=dtype)
    return np.asarray(grad_out)[..., None]


def _upstream(grad_out, out_shape, dtype):
    """The upstream gradient per output element, expanded over the summed last axis."""
    if grad_out is None:
        return np.ones(out_shape + (1,), dtype=dtype)
    g = as_float_array(grad_out, "grad_out")
    if g.shape != out_shape:
        raise ValueError(f"grad_out: expected shape {out_shape} (one value per row), got {g.shape}")
    return g[..., None]


# ------------------------------------------------------------------------ Gaussian (D7.1, D7.3)
def standardized_residual(x, mean, logvar):
    r"""The residual in standard deviations, :math:`z = (x-\mu)/\sigma`, and :math:`1/\sigma`.

    Computed as :math:`(x-\mu)\,e^{-\log\sigma^2/2}` so that it stays exact at extreme but finite
    inputs: ``z = 0`` where ``x == mean`` even when :math:`1/\sigma` overflows to infinity (no
    :math:`0\cdot\infty`), and a difference ``x - mean`` that overflows is taken in halves.
    Returns ``(z, inv_std)``, broadcast to the shape of ``x``.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        inv_std = np.exp(-0.5 * logvar)
        r = x - mean
        halves = (0.5 * x - 0.5 * mean) * (2 * inv_std)        # only where r overflowed
        z = np.where(r == 0, 0, np.where(np.isfinite(r), r * inv_std, halves))
    return z.astype(np.result_type(x, mean, logvar), copy=False), inv_std


def _gaussian_sum(x, logvar, z2):
    """:math:`-\\tfrac12\\sum_d(\\log 2\\pi + \\log\\sigma_d^2 + z_d^2)`, with ``-inf`` (a zero
    density) where the quadratic part alone is infinite: never :math:`\\infty - \\infty`."""
    quad = np.sum(z2, axis=-1)
    lin = np.sum(np.broadcast_to(logvar, x.shape), axis=-1)
    with np.errstate(invalid="ignore"):
        out = -0.5 * (x.shape[-1] * LOG_2PI + lin + quad)
    return np.where(np.isposinf(quad), -np.inf, out).astype(out.dtype, copy=False)


def gaussian_log_prob(x, mean, logvar) -> np.ndarray:
    r"""Log-density of a diagonal Gaussian, summed over the last axis (chapter 07, D7.1).

    .. math:: \log\mathcal N(x;\mu,\sigma^2) = -\tfrac12\sum_d\Big[\log 2\pi + \log\sigma_d^2
              + \frac{(x_d-\mu_d)^2}{\sigma_d^2}\Big]

    The quadratic term is :math:`z^2` with :math:`z` from :func:`standardized_residual`, so the
    result is never NaN for finite inputs (``x == mean`` with ``logvar = -1e4`` gives the large
    finite value, not :math:`0\cdot\infty`).

    Parameters
    ----------
    x : array (..., D)
    mean, logvar : arrays broadcasting to (..., D)

    Returns
    -------
    array (...)
    """
    x = _data(x)
    mean, logvar = _param_like(mean, "mean", x), _param_like(logvar, "logvar", x)
    return gaussian_log_prob_unchecked(x, mean, logvar)


def gaussian_log_prob_unchecked(x, mean, logvar) -> np.ndarray:
    """:func:`gaussian_log_prob` without its argument checks, on arrays already checked (the NumPy
    backend of :mod:`elbo_edu.kernels` runs this on arrays the package built)."""
    z, _ = standardized_residual(x, mean, logvar)
    with np.errstate(over="ignore"):
        return _gaussian_sum(x, logvar, z * z)


def gaussian_log_prob_grad(x, mean, logvar, grad_out=None):
    r"""Gradients of :func:`gaussian_log_prob` with respect to ``x``, ``mean`` and ``logvar``.

    .. math:: \partial_x = -\frac{x-\mu}{\sigma^2},\quad \partial_\mu = \frac{x-\mu}{\sigma^2}
              = \frac{z}{\sigma},\quad \partial_{\log\sigma^2} = \tfrac12\big(z^2 - 1\big)

    (``z`` = 0 gives a zero mean gradient even where :math:`1/\sigma` is infinite.)

    Returns
    -------
    (dx, dmean, dlogvar) : arrays shaped like the arguments
    """
    x = _data(x)
    mean, logvar = _param_like(mean, "mean", x), _param_like(logvar, "logvar", x)
    _upstream(grad_out, x.shape[:-1], x.dtype)
    return gaussian_log_prob_grad_unchecked(x, mean, logvar, grad_out)


def gaussian_log_prob_grad_unchecked(x, mean, logvar, grad_out=None):
    """:func:`gaussian_log_prob_grad` without its argument checks, on arrays already checked (the NumPy
    backend of :mod:`elbo_edu.kernels` runs this on arrays the package built)."""
    g = _rows_upstream(grad_out, x.shape[:-1], x.dtype)
    z, inv_std = standardized_residual(x, mean, logvar)
    with np.errstate(over="ignore", invalid="ignore"):
        dmean = g * np.where(z == 0, 0, z * inv_std).astype(z.dtype, copy=False)
        dlogvar = g * (0.5 * (z * z - 1))
    return -dmean, _unbroadcast(dmean, mean.shape), _unbroadcast(dlogvar, logvar.shape)


def std_normal_log_prob(z) -> np.ndarray:
    r"""Log-density of the standard normal prior, summed over the last axis (chapter 07, D7.3).

    .. math:: \log\mathcal N(z;0,I) = -\tfrac D2\log 2\pi - \tfrac12\lVert z\rVert^2

    ``z``: (..., D) -> (...).
    """
    return std_normal_log_prob_unchecked(_data(z, "z"))


def std_normal_log_prob_unchecked(z) -> np.ndarray:
    """:func:`std_normal_log_prob` without its argument checks, on a float array already checked
    (the VAE's :meth:`~elbo_edu.vae.VAE.log_joint` and importance sampling run it on every chunk
    of samples)."""
    with np.errstate(over="ignore"):  # a huge z gives -inf, the right limit, without a warning
        # ||z||^2 of each row: einsum multiplies and adds in one pass (np.sum(z * z, axis=-1)
        # makes z * z first and reduces a short last axis slowly)
        return -0.5 * (z.shape[-1] * LOG_2PI + np.einsum("...d,...d->...", z, z))


def std_normal_log_prob_grad(z, grad_out=None):
    """Gradient of :func:`std_normal_log_prob`: :math:`-z` (times the upstream gradient)."""
    z = _data(z, "z")
    return (-_upstream(grad_out, z.shape[:-1], z.dtype) * z,)


def gaussian_entropy(logvar) -> np.ndarray:
    r"""Entropy of a diagonal Gaussian, summed over the last axis (chapter 05, D5.1; chapter 06, D6.4).

    .. math:: H = \tfrac12\sum_d(\log 2\pi + 1 + \log\sigma_d^2)
    """
    logvar = _data(logvar, "logvar")
    return 0.5 * np.sum(LOG_2PI + 1.0 + logvar, axis=-1)


# ------------------------------------------------------------------------------ Bernoulli (D7.2)
def bernoulli_log_prob(x, logits) -> np.ndarray:
    r"""Bernoulli log-likelihood from logits, summed over the last axis (chapter 07, D7.2).

    .. math:: \log p(x\mid\ell) = \sum_d x_d\ell_d - \operatorname{softplus}(\ell_d)
              = -\mathrm{BCE}(x, \sigma(\ell))

    Computed as :math:`x\ell - \max(\ell,0) - \log(1+e^{-|\ell|})`, finite for any finite logit
    (no :math:`\log 0`). ``x`` may hold grey levels in [0, 1] (the "continuous Bernoulli target"
    of PyTorch's example); then this is minus the binary cross-entropy, not a normalised density.

    Parameters
    ----------
    x : array (..., D), values in [0, 1]
    logits : array broadcasting to (..., D)
    """
    x = _data(x)
    check_probability_targets(x, "x")
    logits = _param_like(logits, "logits", x)
    return bernoulli_log_prob_unchecked(x, logits)


def bernoulli_log_prob_unchecked(x, logits) -> np.ndarray:
    """:func:`bernoulli_log_prob` without its argument checks, on arrays already checked (the NumPy
    backend of :mod:`elbo_edu.kernels` runs this on arrays the package built)."""
    return np.sum(x * logits - softplus(logits), axis=-1)


def bernoulli_log_prob_grad(x, logits, grad_out=None):
    r"""Gradient of :func:`bernoulli_log_prob` with respect to the logits:
    :math:`\partial_\ell = x - \sigma(\ell)`.

    ``x`` is data (binary or grey levels), not a parameter, so no gradient is returned for it.

    Returns
    -------
    (dlogits,)
    """
    x = _data(x)
    check_probability_targets(x, "x")
    logits = _param_like(logits, "logits", x)
    _upstream(grad_out, x.shape[:-1], x.dtype)
    return bernoulli_log_prob_grad_unchecked(x, logits, grad_out)


def bernoulli_log_prob_grad_unchecked(x, logits, grad_out=None):
    """:func:`bernoulli_log_prob_grad` without its argument checks, on arrays already checked (the NumPy
    backend of :mod:`elbo_edu.kernels` runs this on arrays the package built)."""
    g = _rows_upstream(grad_out, x.shape[:-1], x.dtype)
    return (_unbroadcast(g * (x - sigmoid(logits)), logits.shape),)


# ------------------------------------------------------------------- continuous Bernoulli (D7.2)
#: below this absolute value of the logit the log-normaliser and its derivative use their
#: Taylor series
CB_TAYLOR_BELOW = 0.1
#: the Taylor coefficients of ``log C(l) - log 2`` in powers of ``t = l**2`` (t, t^2, t^3, t^4),
#: and of ``d log C / dl`` divided by ``|l|`` (1, t, t^2, t^3); the numba kernel uses these too
CB_LOG_NORM_SERIES = (1 / 12, -7 / 1440, 31 / 90720, -127 / 4838400)
CB_LOG_NORM_GRAD_SERIES = (1 / 6, -7 / 360, 31 / 15120, -127 / 604800)


def continuous_bernoulli_log_norm(logits) -> np.ndarray:
    r"""Log-normaliser :math:`\log C(\lambda)` of the continuous Bernoulli, from the logit
    :math:`\ell` of :math:`\lambda = \sigma(\ell)`, element-wise (Loaiza-Ganem & Cunningham,
    *The continuous Bernoulli: fixing a pervasive error in variational autoencoders*).

    .. math:: C(\lambda) = \frac{2\,\operatorname{artanh}(1-2\lambda)}{1-2\lambda}
              = \frac{\ell}{\tanh(\ell/2)},\qquad
              \log C = \log|\ell| - \log(1-e^{-|\ell|}) + \log(1+e^{-|\ell|})

    (with :math:`1-2\lambda = -\tanh(\ell/2)` and :math:`\operatorname{artanh}(1-2\lambda) =
    -\ell/2`). The closed form is 0/0 at :math:`\ell = 0` (:math:`\lambda = 1/2`), so for
    :math:`|\ell| <` :data:`CB_TAYLOR_BELOW` the Taylor series is used:
    :math:`\log C = \log 2 + \ell^2/12 - 7\ell^4/1440 + 31\ell^6/90720 - 127\ell^8/4838400`.
    """
    return continuous_bernoulli_log_norm_unchecked(as_float_array(logits, "logits"))


def continuous_bernoulli_log_norm_unchecked(lg) -> np.ndarray:
    """:func:`continuous_bernoulli_log_norm` without its argument checks, on arrays already checked (the NumPy
    backend of :mod:`elbo_edu.kernels` runs this on arrays the package built)."""
    a = np.abs(lg)
    small = a < CB_TAYLOR_BELOW
    a_big = np.where(small, 1, a)            # keeps log(0) out of the branch not taken
    e = np.exp(-a_big)
    closed = np.log(a_big) - np.log(-np.expm1(-a_big)) + np.log1p(e)
    a = np.where(small, a, 0)                # and overflow out of the series not taken
    t = a * a
    c = CB_LOG_NORM_SERIES
    series = np.log(2.0) + t * (c[0] + t * (c[1] + t * (c[2] + t * c[3])))
    return np.where(small, series, closed).astype(lg.dtype, copy=False)


def continuous_bernoulli_log_norm_grad(logits) -> np.ndarray:
    r"""Derivative of :func:`continuous_bernoulli_log_norm`, element-wise:

    .. math:: \frac{d\log C}{d\ell} = \frac1\ell - \frac1{\sinh\ell}
              \approx \frac\ell6 - \frac{7\ell^3}{360} + \frac{31\ell^5}{15120}
              - \frac{127\ell^7}{604800}\ (|\ell| < \texttt{CB\_TAYLOR\_BELOW})

    (the closed form cancels catastrophically near 0; :math:`1/\sinh|\ell| =
    2e^{-|\ell|}/((1-e^{-|\ell|})(1+e^{-|\ell|}))` never overflows).
    """
    return continuous_bernoulli_log_norm_grad_unchecked(as_float_array(logits, "logits"))


def continuous_bernoulli_log_norm_grad_unchecked(lg) -> np.ndarray:
    """:func:`continuous_bernoulli_log_norm_grad` without its argument checks, on arrays already checked (the NumPy
    backend of :mod:`elbo_edu.kernels` runs this on arrays the package built)."""
    a = np.abs(lg)
    small = a < CB_TAYLOR_BELOW
    a_big = np.where(small, 1, a)
    e = np.exp(-a_big)
    closed = 1 / a_big - 2 * e / (-np.expm1(-a_big) * (1 + e))
    a = np.where(small, a, 0)
    t = a * a
    c = CB_LOG_NORM_GRAD_SERIES
    series = a * (c[0] + t * (c[1] + t * (c[2] + t * c[3])))
    return (np.sign(lg) * np.where(small, series, closed)).astype(lg.dtype, copy=False)


def continuous_bernoulli_log_prob(x, logits) -> np.ndarray:
    r"""Continuous-Bernoulli log-density of ``x`` in [0, 1], summed over the last axis
    (chapter 07, D7.2, the normalised version of the Bernoulli "likelihood" of grey levels).

    .. math:: \log p(x\mid\ell) = \sum_d x_d\ell_d - \operatorname{softplus}(\ell_d)
              + \log C(\ell_d)

    i.e. :func:`bernoulli_log_prob` plus the log-normaliser
    (:func:`continuous_bernoulli_log_norm`); it integrates to 1 over :math:`[0, 1]^D`.
    """
    x = _data(x)
    check_probability_targets(x, "x")
    logits = _param_like(logits, "logits", x)
    return continuous_bernoulli_log_prob_unchecked(x, logits)


def continuous_bernoulli_log_prob_unchecked(x, logits) -> np.ndarray:
    """:func:`continuous_bernoulli_log_prob` without its argument checks, on arrays already checked (the NumPy
    backend of :mod:`elbo_edu.kernels` runs this on arrays the package built)."""
    return bernoulli_log_prob_unchecked(x, logits) + np.sum(
        np.broadcast_to(continuous_bernoulli_log_norm_unchecked(logits), x.shape), axis=-1)


def continuous_bernoulli_log_prob_grad(x, logits, grad_out=None):
    r"""Gradient of :func:`continuous_bernoulli_log_prob` with respect to the logits:
    :math:`x - \sigma(\ell) + \frac{d\log C}{d\ell} = x - \mathbb E[x\mid\ell]`.

    Returns
    -------
    (dlogits,)
    """
    x = _data(x)
    check_probability_targets(x, "x")
    logits = _param_like(logits, "logits", x)
    _upstream(grad_out, x.shape[:-1], x.dtype)
    return continuous_bernoulli_log_prob_grad_unchecked(x, logits, grad_out)


def continuous_bernoulli_log_prob_grad_unchecked(x, logits, grad_out=None):
    """:func:`continuous_bernoulli_log_prob_grad` without its argument checks, on arrays already checked (the NumPy
    backend of :mod:`elbo_edu.kernels` runs this on arrays the package built)."""
    g = _rows_upstream(grad_out, x.shape[:-1], x.dtype)
    (dbern,) = bernoulli_log_prob_grad_unchecked(x, logits, grad_out)
    dnorm = g * continuous_bernoulli_log_norm_grad_unchecked(logits)
    return (dbern + _unbroadcast(dnorm, logits.shape),)


def continuous_bernoulli_mean(logits) -> np.ndarray:
    r"""Mean of the continuous Bernoulli, element-wise: :math:`\mathbb E[x] = \sigma(\ell) -
    \frac{d\log C}{d\ell} = \frac{1}{1-e^{-\ell}} - \frac1\ell` (1/2 at :math:`\ell = 0`)."""
    lg = as_float_array(logits, "logits")
    return (sigmoid(lg) - continuous_bernoulli_log_norm_grad(lg)).astype(lg.dtype, copy=False)


# ------------------------------------------------ reparameterization (chapter 08, D8.1)
def reparameterize(mu, logvar, eps) -> np.ndarray:
    r""":math:`z = \mu + e^{\frac12\log\sigma^2}\odot\varepsilon` (chapter 08, D8.1): a draw of
    :math:`\mathcal N(\mu, \operatorname{diag}\sigma^2)` written as a differentiable function of
    the parameters and of standard-normal noise :math:`\varepsilon`.

    ``mu``, ``logvar``, ``eps``: arrays of one shape ``(..., Z)``; returns ``z`` of that shape.
    """
    mu, logvar, eps = _reparam_args(mu, logvar, eps)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is the caller's to see: inf
        return reparameterize_unchecked(mu, logvar, eps)


def reparameterize_unchecked(mu, logvar, eps) -> np.ndarray:
    """:func:`reparameterize` without its argument checks, on arrays already checked (the NumPy
    backend of :mod:`elbo_edu.kernels` runs this on arrays the package built)."""
    return mu + np.exp(0.5 * logvar) * eps


def reparameterize_grad(mu, logvar, eps, grad_out):
    r"""Vector–Jacobian products of :func:`reparameterize` (chapter 08, D8.1).

    .. math:: \frac{\partial z}{\partial\mu} = 1,\qquad
              \frac{\partial z}{\partial\log\sigma^2} = \tfrac12\sigma\varepsilon,\qquad
              \frac{\partial z}{\partial\varepsilon} = \sigma

    Returns
    -------
    (dmu, dlogvar, deps) : arrays shaped like ``grad_out``
    """
    mu, logvar, eps = _reparam_args(mu, logvar, eps)
    g = as_float_array(grad_out, "grad_out")
    if g.shape != mu.shape:
        raise ValueError(f"grad_out: expected shape {mu.shape} (the shape of z), got {g.shape}")
    with np.errstate(over="ignore", invalid="ignore"):
        return reparameterize_grad_unchecked(mu, logvar, eps, g)


def reparameterize_grad_unchecked(mu, logvar, eps, grad_out):
    """:func:`reparameterize_grad` without its argument checks, on arrays already checked (the NumPy
    backend of :mod:`elbo_edu.kernels` runs this on arrays the package built)."""
    g = grad_out
    sigma = np.exp(0.5 * logvar)
    return g, g * (0.5 * sigma * eps), g * sigma


def _reparam_args(mu, logvar, eps):
    mu, logvar, eps = (as_float_array(a, n) for a, n in
                       ((mu, "mu"), (logvar, "logvar"), (eps, "eps")))
    for name, a in (("logvar", logvar), ("eps", eps)):
        if a.shape != mu.shape:
            raise ValueError(f"{name}: expected shape {mu.shape} (the shape of mu), got {a.shape}")
    return mu, logvar, eps


# ---------------------------------------------------------------------------- categorical (D2.1)
def log_softmax(logits) -> np.ndarray:
    """Stable :math:`\\ell_k - \\log\\sum_j e^{\\ell_j}` over the last axis."""
    logits = _data(logits, "logits")
    return logits - logsumexp(logits, axis=-1)[..., None]


def softmax(logits) -> np.ndarray:
    """:math:`e^{\\ell_k}/\\sum_j e^{\\ell_j}` over the last axis, without overflow."""
    return np.exp(log_softmax(logits))


def _labels(y, logits):
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y: expected integer class labels, got dtype {y.dtype}")
    if y.shape != logits.shape[:-1]:
        raise ValueError(f"y: expected shape {logits.shape[:-1]} (logits without the class axis), "
                         f"got {y.shape}")
    k = logits.shape[-1]
    if y.size and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"y: expected labels in [0, {k - 1}], got range [{y.min()}, {y.max()}]")
    return y


def categorical_log_prob(y, logits) -> np.ndarray:
    r"""Log-probability of class ``y`` under :math:`\mathrm{Cat}(\mathrm{softmax}(\ell))`
    (chapter 02, D2.1).

    .. math:: \log p(y\mid\ell) = \ell_y - \log\sum_k e^{\ell_k}

    Parameters
    ----------
    y : int array (...)
    logits : array (..., K)

    Returns
    -------
    array (...)
    """
    logits = _data(logits, "logits")
    y = _labels(y, logits)
    return np.take_along_axis(log_softmax(logits), y[..., None], axis=-1)[..., 0]


def categorical_log_prob_grad(y, logits, grad_out=None):
    r"""Gradient of :func:`categorical_log_prob` w.r.t. the logits:
    :math:`\mathrm{onehot}(y) - \mathrm{softmax}(\ell)`.

    Returns
    -------
    (dlogits,)
    """
    logits = _data(logits, "logits")
    y = _labels(y, logits)
    g = _upstream(grad_out, logits.shape[:-1], logits.dtype)
    d = -softmax(logits)
    np.put_along_axis(d, y[..., None], np.take_along_axis(d, y[..., None], axis=-1) + 1, axis=-1)
    return (g * d,)


# ---------------------------------------------------------------------------------- KL (D5.3–5)
def _kl_args(mu1, logvar1, mu2, logvar2):
    mu1 = as_float_array(mu1, "mu1")
    logvar1, mu2, logvar2 = (as_float_array(a, n) for a, n in
                             ((logvar1, "logvar1"), (mu2, "mu2"), (logvar2, "logvar2")))
    check_same_shape(mu1=mu1, logvar1=logvar1, mu2=mu2, logvar2=logvar2)
    return mu1, logvar1, mu2, logvar2


def _expm1_minus(d):
    r""":math:`e^d - 1 - d` (>= 0), exactly 0 at ``d = 0``; ``+inf`` where ``d`` overflowed to
    ``+inf`` (never :math:`\infty - \infty`)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(np.isposinf(d), np.inf, np.expm1(d) - d).astype(d.dtype, copy=False)


def kl_normal(mu1, logvar1, mu2, logvar2) -> np.ndarray:
    r"""KL(N(μ1, σ1²) ‖ N(μ2, σ2²)) element-wise (chapter 05, D5.3).

    .. math:: \mathrm{KL} = \log\frac{\sigma_2}{\sigma_1} + \frac{\sigma_1^2+(\mu_1-\mu_2)^2}
              {2\sigma_2^2} - \frac12
              = \tfrac12\big[e^{\delta} - 1 - \delta + z^2\big],
              \quad \delta = \log\sigma_1^2 - \log\sigma_2^2,\quad z = (\mu_1-\mu_2)/\sigma_2

    The second form (computed with ``expm1``) is exactly 0 when the two Gaussians are equal and
    keeps full relative precision for nearby ones; both terms are >= 0 and :math:`z` comes from
    :func:`standardized_residual`, so no input gives NaN. All four arrays must have one shape.
    """
    mu1, logvar1, mu2, logvar2 = _kl_args(mu1, logvar1, mu2, logvar2)
    z, _ = standardized_residual(mu1, mu2, logvar2)
    with np.errstate(over="ignore"):
        return 0.5 * (_expm1_minus(logvar1 - logvar2) + z * z)


def kl_normal_grad(mu1, logvar1, mu2, logvar2, grad_out=None):
    r"""Gradients of :func:`kl_normal` (element-wise; ``grad_out`` has the same shape).

    .. math:: \partial_{\mu_1} = \frac{\mu_1-\mu_2}{\sigma_2^2} = -\partial_{\mu_2},\quad
              \partial_{\log\sigma_1^2} = \tfrac12\Big(\frac{\sigma_1^2}{\sigma_2^2}-1\Big),\quad
              \partial_{\log\sigma_2^2} = \tfrac12\Big(1-\frac{\sigma_1^2+(\mu_1-\mu_2)^2}
              {\sigma_2^2}\Big)

    Returns
    -------
    (dmu1, dlogvar1, dmu2, dlogvar2)
    """
    mu1, logvar1, mu2, logvar2 = _kl_args(mu1, logvar1, mu2, logvar2)
    g = 1.0 if grad_out is None else as_float_array(grad_out, "grad_out")
    if grad_out is not None:
        check_same_shape(mu1=mu1, grad_out=g)
    z, inv_std2 = standardized_residual(mu1, mu2, logvar2)
    with np.errstate(over="ignore", invalid="ignore"):
        dmu1 = g * np.where(z == 0, 0, z * inv_std2)
        ratio_m1 = np.expm1(logvar1 - logvar2)
        dlv1 = g * 0.5 * ratio_m1
        dlv2 = g * 0.5 * (-ratio_m1 - z * z)
    return dmu1, dlv1, -dmu1, dlv2


def _std_args(mu, logvar):
    mu = as_float_array(mu, "mu", ndim_min=1)
    logvar = as_float_array(logvar, "logvar", ndim_min=1)
    check_same_shape(mu=mu, logvar=logvar)
    return mu, logvar


def kl_std_normal(mu, logvar) -> np.ndarray:
    r"""KL(N(μ, diag σ²) ‖ N(0, I)), summed over the last axis (chapter 05, D5.4).

    .. math:: \mathrm{KL} = \tfrac12\sum_d\big(\sigma_d^2 + \mu_d^2 - \log\sigma_d^2 - 1\big)

    ``mu``, ``logvar``: (..., D) -> (...). Computed with ``expm1`` so it is exactly 0 at the prior.
    """
    mu, logvar = _std_args(mu, logvar)
    with np.errstate(over="ignore"):  # a huge logvar or mu gives +inf without a warning
        return kl_std_normal_unchecked(mu, logvar)


def kl_std_normal_unchecked(mu, logvar) -> np.ndarray:
    """:func:`kl_std_normal` without its argument checks, on arrays already checked (the NumPy
    backend of :mod:`elbo_edu.kernels` runs this on arrays the package built)."""
    return 0.5 * np.sum(np.expm1(logvar) - logvar + mu * mu, axis=-1)


def kl_std_normal_grad(mu, logvar, grad_out=None):
    r"""Gradients of :func:`kl_std_normal` (chapter 05, D5.5):
    :math:`\partial_\mu = \mu`, :math:`\partial_{\log\sigma^2} = \tfrac12(\sigma^2 - 1)`.

    Returns
    -------
    (dmu, dlogvar)
    """
    mu, logvar = _std_args(mu, logvar)
    _upstream(grad_out, mu.shape[:-1], mu.dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        return kl_std_normal_grad_unchecked(mu, logvar, grad_out)


def kl_std_normal_grad_unchecked(mu, logvar, grad_out=None):
    """:func:`kl_std_normal_grad` without its argument checks, on arrays already checked (the NumPy
    backend of :mod:`elbo_edu.kernels` runs this on arrays the package built)."""
    g = _rows_upstream(grad_out, mu.shape[:-1], mu.dtype)
    return g * mu, g * 0.5 * np.expm1(logvar)
