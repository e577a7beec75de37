r"""The decoder's observation models p(x | z), each owning its log-likelihood and gradient
(chapter 07, D7.1, D7.2 and D7.5; the learned variance is chapter 11, D11.2).

A likelihood turns the decoder output ``out`` (shape ``(..., D)``) into a log-density of the data,
summed over the ``D`` data dimensions. Four models are provided:

``"bernoulli"``
    ``out`` are logits :math:`\ell`; :math:`\log p(x|z) = \sum_d x_d\ell_d - \operatorname{softplus}
    (\ell_d)`, i.e. minus the binary cross-entropy. Targets may be grey levels in [0, 1] (then it
    is not a normalised density of them).
``"continuous-bernoulli"``
    the same plus the log-normaliser :math:`\log C(\ell)` that makes it a density on [0, 1]
    (Loaiza-Ganem & Cunningham, *The continuous Bernoulli: fixing a pervasive error in variational
    autoencoders*).
``"gaussian"``
    ``out`` is the mean :math:`\hat x`; the variance is a fixed number :math:`c` (``obs_var``):
    :math:`\log p(x|z) = -\frac{1}{2c}\lVert x-\hat x\rVert^2 - \frac D2\log(2\pi c)`.
    The factor :math:`C = 1/(2c)` in front of the squared error is the balance between
    reconstruction and KL described in Selega's *Notes on Derivation of the Variational
    Autoencoder Evidence Lower Bound Loss* (D7.5).
``"gaussian-learned"``
    as above, but :math:`\log c = \log\gamma` is a trainable parameter: one scalar shared by every
    pixel (as in Dai & Wipf, *Diagnosing and Enhancing VAE Models*) or one per pixel.

Each model computes through one operation of the backend seam (:mod:`elbo_edu.kernels`), whose
NumPy version is the function of :mod:`elbo_edu.distributions` and whose numba version is its
fused twin: training (:meth:`Likelihood.loglik_and_grad`), evaluation, IWAE and grid quadrature
(:meth:`Likelihood.log_prob`) all run the same code.
"""
from __future__ import annotations

import numpy as np

from .. import kernels as K
from .._checks import as_density_array as as_float_array  # float32 or float64 only
from .._checks import check_finite, check_positive_float
from ..distributions import continuous_bernoulli_mean
from ..special import sigmoid

__all__ = ["LIKELIHOODS", "Likelihood", "Bernoulli", "ContinuousBernoulli", "Gaussian",
           "make_likelihood"]

LIKELIHOODS = ("bernoulli", "continuous-bernoulli", "gaussian", "gaussian-learned")


class Likelihood:
    """Interface of an observation model (see the module docstring).

    Attributes
    ----------
    name : str
        One of :data:`LIKELIHOODS`.
    targets_in_unit_interval : bool
        Whether the data must lie in [0, 1] (checked by the VAE).
    learned : bool
        Whether the model has a trainable log-variance (passed as ``logvar`` to the methods).
    """

    name = ""
    targets_in_unit_interval = False
    learned = False

    def loglik_and_grad(self, x, out, logvar=None, *, scale=1.0, grad_out=None, checked=True):
        """``log p(x | out)`` per row and ``scale`` times its gradients, in one pass.

        Parameters
        ----------
        x, out : float arrays (N, D) of one dtype, C-contiguous
        logvar : array () or (D,), the learned log-variance (only when :attr:`learned`)
        scale : float
            The upstream factor (``-1/N`` for the batch-mean negative ELBO).
        grad_out : array (N, D), optional
            Receives the gradient with respect to ``out``; may be ``out`` itself.
        checked : bool
            ``True`` (the default): through the checked public function of :mod:`elbo_edu.kernels`,
            which validates every argument and names a NaN or infinite one. ``False``: straight
            to the backend, for arrays the package built itself and already checked (the
            training step, :meth:`log_prob`): then ``x`` and ``out`` must be C-contiguous of one
            float dtype and shape, ``grad_out`` given, and a NaN gives a NaN result.

        Returns
        -------
        logp : (N,)
        dout : (N, D)
        dlogvar : array shaped like ``logvar`` (summed over the rows), or None
        """
        raise NotImplementedError  # pragma: no cover - abstract

    def log_prob(self, x, out, logvar=None, *, checked=True) -> np.ndarray:
        """``log p(x | out)`` summed over the last axis: ``x`` (N, D) or broadcasting to ``out``
        (..., N, D) -> (..., N). The same operation as training, its gradient discarded.

        ``checked=False`` skips the checks of ``x`` (its values, its range) for a caller that
        has made them (:meth:`elbo_edu.vae.VAE.log_joint`, once for all the samples); ``x``
        must then be a float array of ``out``'s dtype. A non-finite result is still traced to
        ``out`` or ``logvar``.

        Importance sampling calls this with ``out`` holding K decoder outputs per row of ``x``
        (K, N, D): ``x`` is then checked once and never copied K times; the K blocks go through
        :meth:`_log_prob_samples` with the same (N, D) targets (for the Bernoulli, one call of
        the seam's ``bernoulli_log_prob``; otherwise :meth:`loglik_and_grad` block by block).

        Raises
        ------
        ValueError
            ``x`` not broadcasting to ``out`` or (Bernoulli-type) outside [0, 1]; NaN or inf in
            ``out`` or ``logvar`` (looked for only when a result is not finite: finite arguments
            give finite log-probabilities).
        """
        out = as_float_array(out, "out", ndim_min=1, finite=False)
        if checked:
            x = as_float_array(x, "x", ndim_min=1)
        dt = np.result_type(x.dtype, out.dtype, np.float32)
        try:
            shape = np.broadcast_shapes(x.shape, out.shape)
        except ValueError:
            shape = None
        if shape != out.shape:
            raise ValueError(f"x: expected a shape that broadcasts to out's {out.shape}, "
                             f"got {x.shape}")
        if checked and self.targets_in_unit_interval and not K.in_unit_interval(x):
            raise ValueError("x: expected values in [0, 1]")
        if logvar is not None:
            logvar = np.asarray(logvar, dtype=dt)
        try:
            logp = self._log_prob_rows(x, out, logvar, dt)
        except ValueError:      # a readable function of the NumPy backend found the NaN first:
            check_finite(out, "out")          # name the caller's array, as the numba backend does
            raise
        if not np.isfinite(logp).all():
            check_finite(out, "out")
            if logvar is not None:
                check_finite(logvar, "logvar")
        return logp.reshape(out.shape[:-1])

    def _log_prob_rows(self, x, out, logvar, dt):
        """:meth:`log_prob` after its checks: the (..., N) log-probabilities."""
        d = out.shape[-1]
        if x.ndim == 2 and out.ndim > 2 and x.shape[1] == d:   # (N, D) targets, (..., N, D) outputs
            x2 = np.ascontiguousarray(x, dtype=dt)
            blocks = np.ascontiguousarray(out, dtype=dt).reshape((-1,) + x.shape)
        else:
            x2 = np.ascontiguousarray(np.broadcast_to(x, out.shape).reshape(-1, d), dtype=dt)
            blocks = np.ascontiguousarray(out.reshape(1, -1, d), dtype=dt)
        return self._log_prob_samples(x2, blocks, logvar)

    def _log_prob_samples(self, x, blocks, logvar):
        """``log p(x | blocks[s])`` (S, N) for targets ``x`` (N, D) and S decoder outputs
        ``blocks`` (S, N, D), both C-contiguous of one dtype: each block through
        :meth:`loglik_and_grad` (its gradient, scale 0, is not kept). A likelihood whose seam
        has an evaluation-only operation overrides this."""
        logp = np.empty(blocks.shape[:2], blocks.dtype)
        grad = np.empty_like(x)
        for s, block in enumerate(blocks):
            logp[s] = self.loglik_and_grad(x, block, logvar, scale=0.0, grad_out=grad,
                                           checked=False)[0]
        return logp

    def log_prob_grad(self, x, out, logvar=None, grad_out=None):
        """Vector-Jacobian products ``(d_out, d_logvar)`` of :meth:`log_prob` with one weight per row.

        The same operation as training (:meth:`loglik_and_grad`), for callers whose upstream
        gradient differs from row to row (the importance weights of the IWAE objective, chapter 12).

        Parameters
        ----------
        x : array broadcasting to ``out``
        out : array (..., D)
        logvar : array () or (D,), only for a learned variance
        grad_out : array (...), optional
            The weight of each row's log-likelihood (default 1). With a learned variance the
            weights must all be equal (``d_logvar`` is summed over the rows).

        Returns
        -------
        d_out : array (..., D)
        d_logvar : array shaped like ``logvar``, or None

        Raises
        ------
        ValueError
            ``grad_out`` of the wrong shape, or unequal weights with a learned variance.
        """
        out = as_float_array(out, "out", ndim_min=1)
        dt = np.result_type(out.dtype, np.float32)
        d = out.shape[-1]
        w = np.ones(out.shape[:-1], dt) if grad_out is None else np.asarray(grad_out, dt)
        if w.shape != out.shape[:-1]:
            raise ValueError(f"grad_out: expected shape {out.shape[:-1]}, got {w.shape}")
        uniform = w.size > 0 and bool(np.all(w == w.flat[0]))
        if self.learned and not uniform:
            raise ValueError("grad_out: a learned variance needs equal weights for every row")
        x2 = np.ascontiguousarray(np.broadcast_to(x, out.shape).reshape(-1, d), dtype=dt)
        out2 = np.ascontiguousarray(out.reshape(-1, d), dtype=dt)
        if logvar is not None:
            logvar = np.asarray(logvar, dtype=dt)
        scale = float(w.flat[0]) if uniform else 1.0
        _, dout, dlogvar = self.loglik_and_grad(x2, out2, logvar, scale=scale,
                                                grad_out=np.empty_like(out2))
        if not uniform:
            dout *= w.reshape(-1, 1)
        return dout.reshape(out.shape), dlogvar

    def mean(self, out: np.ndarray) -> np.ndarray:
        """The expected data point E[x | z] given the decoder output (same shape)."""
        raise NotImplementedError  # pragma: no cover - abstract


class Bernoulli(Likelihood):
    r"""Independent Bernoulli pixels parameterised by logits (chapter 07, D7.2):
    :func:`elbo_edu.distributions.bernoulli_log_prob` through
    :func:`elbo_edu.kernels.bernoulli_loglik_grad`.

    .. math:: \log p(x\mid\ell) = \sum_d x_d\ell_d - \operatorname{softplus}(\ell_d),\qquad
              \frac{\partial}{\partial\ell_d} = x_d - \sigma(\ell_d)
    """

    name = "bernoulli"
    targets_in_unit_interval = True

    def loglik_and_grad(self, x, out, logvar=None, *, scale=1.0, grad_out=None, checked=True):
        if checked:
            logp, dout = K.bernoulli_loglik_grad(x, out, scale=scale, out=grad_out)
        else:
            logp, dout = K.backend().bernoulli_loglik_grad(x, out, float(scale), grad_out)
        return logp, dout, None

    def _log_prob_samples(self, x, blocks, logvar):
        # one call for all S blocks, no gradient: the evaluation operation of the seam
        return K.backend().bernoulli_log_prob(x, blocks, np.empty(blocks.shape[:2], x.dtype))

    def mean(self, out):
        return sigmoid(out)

    def __repr__(self):
        return "Bernoulli()"


class ContinuousBernoulli(Likelihood):
    r"""The continuous Bernoulli on [0, 1] per pixel, parameterised by logits (chapter 07):
    :func:`elbo_edu.distributions.continuous_bernoulli_log_prob` through
    :func:`elbo_edu.kernels.continuous_bernoulli_loglik_grad`.

    .. math:: \log p(x\mid\ell) = \sum_d x_d\ell_d - \operatorname{softplus}(\ell_d)
              + \log C(\ell_d),\qquad C(\ell) = \frac{\ell}{\tanh(\ell/2)}
    """

    name = "continuous-bernoulli"
    targets_in_unit_interval = True

    def loglik_and_grad(self, x, out, logvar=None, *, scale=1.0, grad_out=None, checked=True):
        if checked:
            logp, dout = K.continuous_bernoulli_loglik_grad(x, out, scale=scale, out=grad_out)
        else:
            logp, dout = K.backend().continuous_bernoulli_loglik_grad(x, out, float(scale),
                                                                      grad_out)
        return logp, dout, None

    def mean(self, out):
        return continuous_bernoulli_mean(out)

    def __repr__(self):
        return "ContinuousBernoulli()"


class Gaussian(Likelihood):
    r"""Diagonal Gaussian around the decoder output (chapter 07, D7.1 and D7.5):
    :func:`elbo_edu.distributions.gaussian_log_prob` through
    :func:`elbo_edu.kernels.gaussian_loglik_grad`.

    .. math:: \log p(x\mid\hat x) = -\frac12\sum_d\Big[\log 2\pi + \log c_d
              + \frac{(x_d-\hat x_d)^2}{c_d}\Big],\qquad
              \frac{\partial}{\partial\hat x_d} = \frac{x_d - \hat x_d}{c_d},\qquad
              \frac{\partial}{\partial\log c_d} = \frac12\Big(\frac{(x_d-\hat x_d)^2}{c_d}-1\Big)

    Parameters
    ----------
    obs_var : float, optional
        The fixed variance :math:`c` (used when the variance is not learned).
    learned : bool
        If True the caller passes the trainable ``logvar`` (shape ``()`` or ``(D,)``) to every
        method and receives its gradient from :meth:`loglik_and_grad`.
    """

    def __init__(self, obs_var: float = 1.0, *, learned: bool = False):
        self.obs_var = check_positive_float(obs_var, "obs_var")
        self.learned = bool(learned)
        self.name = "gaussian-learned" if self.learned else "gaussian"

    def loglik_and_grad(self, x, out, logvar=None, *, scale=1.0, grad_out=None, checked=True):
        if self.learned:
            if logvar is None:
                raise ValueError("logvar: expected the learned log-variance, got None")
            lv = np.asarray(logvar)
        else:
            lv = np.asarray(np.log(self.obs_var))
        shape = lv.shape
        if checked:
            lv = np.broadcast_to(lv.astype(x.dtype, copy=False), (x.shape[-1],))
            logp, dout, dlv = K.gaussian_loglik_grad(x, out, lv, scale=scale, out=grad_out)
        else:   # the backend takes one C-contiguous log-variance per dimension
            lv = np.ascontiguousarray(np.broadcast_to(lv.astype(x.dtype, copy=False),
                                                      (x.shape[-1],)))
            logp, dout, dlv = K.backend().gaussian_loglik_grad(x, out, lv, float(scale), grad_out)
        if not self.learned:
            return logp, dout, None
        return logp, dout, (dlv.sum() if shape == () else dlv).reshape(shape)

    def mean(self, out):
        return np.asarray(out)

    def __repr__(self):
        return "Gaussian(learned=True)" if self.learned else f"Gaussian(obs_var={self.obs_var})"


def make_likelihood(name: str, obs_var: float = 1.0) -> Likelihood:
    """Build the observation model called ``name`` (one of :data:`LIKELIHOODS`)."""
    if name == "bernoulli":
        return Bernoulli()
    if name == "continuous-bernoulli":
        return ContinuousBernoulli()
    if name == "gaussian":
        return Gaussian(obs_var)
    if name == "gaussian-learned":
        return Gaussian(obs_var, learned=True)
    raise ValueError(f"likelihood: expected one of {', '.join(map(repr, LIKELIHOODS))}, "
                     f"got {name!r}")
