r"""The VAE objectives, composed from one set of pieces (chapters 09, 12 and 13).

Every objective of the course runs the same four steps on a minibatch :math:`x_{1..N}` with
noise :math:`\varepsilon` of shape (K, N, Z), and their backward in the opposite order:

1. **encode** :math:`[\mu, \log\sigma^2] = \mathrm{MLP}_\phi(x)` (D9.1);
2. **reparameterize + KL**: :math:`z_{kn} = \mu_n + \sigma_n\odot\varepsilon_{kn}` and the
   closed-form :math:`\mathrm{KL}_n = \mathrm{KL}(q(z\mid x_n)\,\|\,\mathcal N(0, I))`
   (D8.1, D5.4; :func:`elbo_edu.kernels.reparam_kl`);
3. **decode** the K·N samples, :math:`\mathrm{MLP}_\theta(z)`;
4. the **likelihood** :math:`\log p(x_n\mid z_{kn})` with its gradient, one (N, D) block per
   sample index k (D7.1–D7.2; :meth:`elbo_edu.vae.likelihoods.Likelihood.loglik_and_grad`).

What distinguishes the objectives is small, and it is all this module says about them:

* :class:`ELBO` — the K-sample average
  :math:`\mathcal L = \frac1N\sum_n\big[-\frac1K\sum_k\log p(x_n\mid z_{kn}) + \beta\,\mathrm{KL}_n\big]`
  (K = 1 is chapter 09's negative ELBO): every sample has the weight :math:`1/(NK)`;
* :class:`IWAE` — a different **weighting**: :math:`\mathcal L = -\frac1N\sum_n\log\frac1K\sum_k w_{kn}`,
  :math:`\log w = \log p(x\mid z) + \log p(z) - \log q(z\mid x)` (D12.1), whose gradient weights
  sample k by its normalised importance weight :math:`\tilde w_{kn}/N` and whose KL is the
  Monte-Carlo one (:math:`\partial\log p(z)/\partial z = -z`; :math:`-\log q` at
  :math:`z(\varepsilon)` adds :math:`\tfrac12` per dimension to :math:`\partial/\partial\log\sigma^2`);
* :class:`FreeBits` — a **clamp** of the KL: :math:`\beta\sum_j\max(\lambda, \overline{\mathrm{KL}}_j)`
  with :math:`\overline{\mathrm{KL}}_j` the batch mean of dimension j's KL; below
  :math:`\lambda` a dimension gets no KL gradient (D13.3);
* the conditional VAE (:class:`elbo_edu.models.cvae.CVAE`) — a **conditioning input**: any of
  them with ``cond`` (N, C) appended to the encoder's input and to every decoder input; the
  decoder's input gradient is cut to its z part (D13.1).

:func:`objective_terms` is the one function that runs the pieces; the classes only choose its
arguments and draw the noise. Each objective's gradient is checked by finite differences in
``tests/test_objectives.py``, on both backends.
"""
from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from .. import distributions as D
from .. import kernels as K
from .._checks import as_float_array, check_positive_int, check_rng

__all__ = ["ELBOParts", "ObjectiveTerms", "objective_terms", "free_bits_kl", "free_bits_kl_grad",
           "Objective", "ELBO", "IWAE", "FreeBits", "OBJECTIVES", "make_objective"]


class ELBOParts(NamedTuple):
    """The pieces of the last loss evaluated, in nats per example (floats).

    ``recon`` is the mean of :math:`-\\log p(x\\mid z)`, ``kl`` the mean KL to the prior and
    ``loss`` the objective's value (``recon + beta * kl`` for the ELBO).
    """
    loss: float
    recon: float
    kl: float


class ObjectiveTerms(NamedTuple):
    """What :func:`objective_terms` computed, in nats per example (floats) unless stated.

    ``loss`` is the minimised number; ``recon`` the mean of :math:`-\\log p(x\\mid z)` over rows
    and samples; ``kl`` the mean closed-form KL (never clamped); ``bound`` (N,) the per-row
    objective (:math:`-`loss per row: the K-sample ELBO or :math:`\\mathrm{IWAE}_K`, float64);
    ``log_w`` (K, N) the log-weights (importance weighting only, else None).
    """
    loss: float
    recon: float
    kl: float
    bound: np.ndarray
    log_w: np.ndarray | None


# ------------------------------------------------------------------------------- the clamp
def _mu_lv(mu, logvar):
    mu, logvar = as_float_array(mu, "mu"), as_float_array(logvar, "logvar")
    if mu.ndim != 2 or logvar.shape != mu.shape:
        raise ValueError(f"logvar: expected the shape of mu (N, Z) = {mu.shape}, got {logvar.shape}")
    return mu, logvar


def _check_lam(lam) -> float:
    if isinstance(lam, bool) or not isinstance(lam, numbers.Real) or not np.isfinite(lam) \
            or lam < 0:
        raise ValueError(f"lam: expected a finite number >= 0 (nats per dimension), got {lam!r}")
    return float(lam)


def _kl_bar(mu, logvar) -> np.ndarray:
    zeros = np.zeros_like(mu)
    return D.kl_normal(mu, logvar, zeros, zeros).mean(axis=0)      # (Z,)


def free_bits_kl(mu, logvar, lam: float) -> float:
    r""":math:`\sum_j\max(\lambda, \overline{\mathrm{KL}}_j)` for ``mu``, ``logvar`` (N, Z) (D13.3).

    Raises ``ValueError`` for ``lam`` not a finite number >= 0 or mismatched shapes."""
    mu, logvar = _mu_lv(mu, logvar)
    return float(np.maximum(_check_lam(lam), _kl_bar(mu, logvar)).sum())


def free_bits_kl_grad(mu, logvar, lam: float):
    r"""``(dmu, dlogvar)`` (N, Z) of :func:`free_bits_kl`: the KL gradient :math:`\mu/N`,
    :math:`\tfrac12(\sigma^2-1)/N` in the dimensions whose batch-mean KL exceeds ``lam``, else 0."""
    mu, logvar = _mu_lv(mu, logvar)
    on = (_kl_bar(mu, logvar) > _check_lam(lam)).astype(mu.dtype) / mu.shape[0]   # (Z,)
    return mu * on, 0.5 * np.expm1(logvar) * on


# ------------------------------------------------------------------------------- the pieces
def _encode(model, x, cond):
    """Step 1: ``(mu, logvar)`` (N, Z) from ``[x, cond]``, each C-contiguous (for the backend)."""
    h = model.encoder.forward(x if cond is None else np.concatenate([x, cond], axis=1))
    return np.ascontiguousarray(h[:, :model.z_dim]), np.ascontiguousarray(h[:, model.z_dim:])


def _decode(model, z, cond, k: int):
    """Step 3: decoder outputs (K·N, D) of ``z`` (K·N, Z), each row with its ``cond``."""
    if cond is not None:
        z = np.concatenate([z, np.tile(cond, (k, 1))], axis=1)
    return model.decoder.forward(z)


def _tile(a, k: int):
    """(N, Z) -> (K·N, Z), sample-major (row k·N + n is row n); ``a`` itself for K = 1."""
    return a if k == 1 else np.tile(a, (k, 1))


def objective_terms(model, x, eps, *, weighting: str = "mean", beta: float = 1.0,
                    free_bits: float | None = None, cond=None,
                    backward: bool = False) -> ObjectiveTerms:
    r"""Run the four pieces forward and, with ``backward``, their backward (module docstring).

    Parameters
    ----------
    model : VAE-like
        ``encoder`` and ``decoder`` (Sequentials with ``forward``/``backward(dy,
        overwrite=)``), ``likelihood``, ``z_dim``, ``dtype``, ``grads`` and, for a learned
        decoder variance, ``_logvar`` (the ``log_gamma`` parameter).
    x : array (N, D) of the model's dtype, C-contiguous, already checked
    eps : array (K, N, Z) of the model's dtype
    weighting : {"mean", "importance"}
        ``"mean"``: the K-sample ELBO (each sample weight :math:`1/(NK)`, closed-form KL);
        ``"importance"``: the IWAE_K bound (weights :math:`\tilde w_{kn}/N`, Monte-Carlo KL).
    beta : float
        KL weight (``"mean"`` only).
    free_bits : float or None
        :math:`\lambda` of the clamped KL (``"mean"`` only).
    cond : array (N, C) or None
        Conditioning input of both networks.
    backward : bool
        Replace ``model.grads`` by the gradient of ``loss`` (every entry is written).

    Returns
    -------
    ObjectiveTerms
    """
    k, n, zd = eps.shape
    be = K.backend()    # unchecked: every array here is built or checked by the package
    mu, logvar = _encode(model, x, cond)                                   # (N, Z) each
    mu_k, lv_k = _tile(mu, k), _tile(logvar, k)
    eps2 = eps.reshape(k * n, zd)
    z, kl_rows = be.reparam_kl(mu_k, lv_k, eps2, np.empty_like(mu_k))      # (KN, Z), (KN,)
    kl_n = kl_rows[:n]
    out = _decode(model, z, cond, k)                                       # (KN, D)
    importance = weighting == "importance"
    # step 4, one (N, D) block per sample; d(loss)/d(out) may overwrite the decoder output
    scale = (1.0 if importance else -1.0 / (n * k)) if backward else 0.0
    lik_lv = getattr(model, "_logvar", None)
    log_px = np.empty((k, n), dtype=out.dtype)
    dlv_lik = None
    blocks = out.reshape(k, n, -1)
    for s in range(k):
        log_px[s], _, dlv = model.likelihood.loglik_and_grad(x, blocks[s], lik_lv, scale=scale,
                                                             grad_out=blocks[s], checked=False)
        dlv_lik = dlv if dlv_lik is None else dlv_lik + dlv
    recon = -float(log_px.sum(dtype=np.float64)) / (n * k)
    kl_mean = float(kl_n.sum()) / n
    log_w = None
    if importance:
        # log p(z) - log q(z|x) at z = mu + sigma*eps: -|z|^2/2 + |eps|^2/2 + sum(logvar)/2
        lpq = 0.5 * (np.sum(np.square(eps, dtype=np.float64), axis=-1)
                     - np.sum(np.square(z.reshape(k, n, zd), dtype=np.float64), axis=-1)
                     + np.sum(logvar, axis=-1, dtype=np.float64))
        log_w = log_px.astype(np.float64) + lpq                             # (K, N)
        top = log_w.max(axis=0)
        w = np.exp(log_w - top)
        bound = top + np.log(w.mean(axis=0))
        loss = -float(bound.mean())
    else:
        # the per-row ELBO, summed in float64 and kept in the model's dtype
        bound = (log_px.mean(axis=0, dtype=np.float64) - kl_n).astype(out.dtype, copy=False)
        loss = recon + beta * (kl_mean if free_bits is None else free_bits_kl(mu, logvar,
                                                                               free_bits))
    if not backward:
        model.clear_cache()
        return ObjectiveTerms(loss, recon, kl_mean, bound, log_w)
    if dlv_lik is not None:                                # a learned decoder variance
        model.grads["log_gamma"][...] = dlv_lik
    dt = out.dtype.type
    if importance:
        # the likelihood gradients were taken with scale 1: weight sample k of row n by
        # g_kn = d loss / d log w_kn = -w~_kn / N before the decoder's backward
        g = (-(w / w.sum(axis=0)) / n).astype(out.dtype)                  # (K, N)
        blocks *= g[..., None]                                             # (views of out)
    dz = model.decoder.backward(out, overwrite=True)                       # (KN, Z [+ C])
    if cond is not None:
        dz = np.ascontiguousarray(dz[:, :zd])
    if importance:
        dz = (dz.reshape(k, n, zd) - g[..., None] * z.reshape(k, n, zd)).reshape(k * n, zd)
        kl_scale = 0.0
    else:
        kl_scale = 0.0 if free_bits is not None else beta / (n * k)
    dmu, dlogvar = be.reparam_kl_backward(dz, mu_k, lv_k, eps2, float(dt(kl_scale)),
                                          np.empty_like(mu_k), np.empty_like(mu_k))
    if k > 1:
        dmu, dlogvar = dmu.reshape(k, n, zd).sum(axis=0), dlogvar.reshape(k, n, zd).sum(axis=0)
    if importance:
        dlogvar = dlogvar + (0.5 * g.sum(axis=0))[:, None]                # -log q(z(eps)): +1/2
    elif free_bits is not None:
        fmu, flv = free_bits_kl_grad(mu, logvar, free_bits)
        dmu, dlogvar = dmu + beta * fmu, dlogvar + beta * flv
    model.encoder.backward(np.concatenate([dmu, dlogvar], axis=1).astype(out.dtype, copy=False),
                           input_grad=False, overwrite=True)
    return ObjectiveTerms(loss, recon, kl_mean, bound, log_w)


# ------------------------------------------------------------------------------- objectives
class Objective:
    r"""An objective bound to a model: ``loss_and_grads(x, rng=..., beta=...) -> (loss, grads)``.

    The interface the training loop (:func:`elbo_edu.train.fit`, :func:`elbo_edu.train.train`)
    calls. ``params`` and ``grads`` are the model's; :attr:`last` holds the last call's
    ``ELBOParts`` (loss, recon, kl). Subclasses set :attr:`name` and :meth:`_arguments`.

    Parameters
    ----------
    model : VAE-like (see :func:`objective_terms`)
    k : int >= 1
        Samples per example.
    """
    name = ""
    #: the KL weight beta matters (KL warm-up can act on it)
    uses_beta = True

    def __init__(self, model, k: int = 1):
        self.model = model
        self.k = check_positive_int(k, "k")
        self.last = None

    @property
    def params(self):
        return self.model.params

    @property
    def grads(self):
        return self.model.grads

    def config(self) -> dict:
        """The objective's settings, JSON-serialisable (``make_objective(model, **config)``)."""
        return {"objective": self.name, "k": self.k}

    def _arguments(self, beta) -> dict:            # pragma: no cover - abstract
        raise NotImplementedError

    def _noise(self, n: int, eps, rng) -> np.ndarray:
        m = self.model
        k, shape = self.k, (self.k, n, m.z_dim)
        if eps is None:
            rng = m.rng if rng is None else check_rng(rng)
            eps = rng.standard_normal((n, m.z_dim) if k == 1 else shape, dtype=m.dtype)
        else:
            eps = as_float_array(eps, "eps")
            if eps.shape == shape[1:] and k == 1:
                pass
            elif eps.shape != shape:
                want = f"{shape[1:]} (N, z_dim)" if k == 1 else f"{shape} (k, N, z_dim)"
                raise ValueError(f"eps: expected shape {want}, got {eps.shape}")
            eps = np.ascontiguousarray(eps, dtype=m.dtype)
        return eps.reshape(shape)

    def terms(self, x, eps=None, rng=None, *, beta=None, cond=None,
              backward: bool = False) -> ObjectiveTerms:
        """Check ``x`` (the model's :meth:`check_input`), draw the noise and run
        :func:`objective_terms`; sets :attr:`last` (and ``model.last``)."""
        m = self.model
        x = m.check_input(x)
        if x.shape[0] == 0:
            raise ValueError(f"x: expected a batch of at least one row, got shape {x.shape}")
        eps = self._noise(x.shape[0], eps, rng)
        t = objective_terms(m, x, eps, cond=cond, backward=backward, **self._arguments(beta))
        self.last = m.last = ELBOParts(t.loss, t.recon, t.kl)
        return t

    def loss(self, x, eps=None, rng=None, *, beta=None, cond=None) -> float:
        """The objective's loss on ``x`` (nats per example)."""
        return self.terms(x, eps, rng, beta=beta, cond=cond).loss

    def loss_and_grads(self, x, eps=None, rng=None, *, beta=None, cond=None):
        """``(loss, grads)``: the loss and its gradient, ``grads`` being the model's dict with
        every array replaced."""
        return self.terms(x, eps, rng, beta=beta, cond=cond, backward=True).loss, self.grads

    def __repr__(self):
        return f"{type(self).__name__}(k={self.k})"


def _beta(model, beta) -> float:
    """``beta``, or the model's own KL weight (1 for a model without one), checked."""
    if beta is None:
        return float(getattr(model, "beta", 1.0))
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not np.isfinite(beta) \
            or beta < 0:
        raise ValueError(f"beta: expected a finite number >= 0, got {beta!r}")
    return float(beta)


class ELBO(Objective):
    r"""The negative K-sample ELBO, :math:`\frac1N\sum_n[-\frac1K\sum_k\log p(x_n\mid z_{kn})
    + \beta\,\mathrm{KL}_n]` (chapter 09 for K = 1). ``beta`` defaults to the model's."""
    name = "elbo"

    def _arguments(self, beta):
        return {"weighting": "mean", "beta": _beta(self.model, beta)}


class IWAE(Objective):
    r"""The negative importance-weighted bound :math:`-\frac1N\sum_n\log\frac1K\sum_k w_{kn}`
    (chapter 12, D12.1) with its hand-written gradient. Needs a likelihood without a learned
    variance; the KL weight does not apply (``beta`` is refused)."""
    name = "iwae"
    uses_beta = False

    def __init__(self, model, k: int = 1):
        lik = getattr(model.likelihood, "name", None)
        if getattr(model.likelihood, "learned", False) or lik == "gaussian-learned":
            raise ValueError(f"model: the IWAE objective needs a likelihood without a learned "
                             f"variance, got {lik!r}")
        super().__init__(model, k)

    def _arguments(self, beta):
        if beta is not None and beta != 1.0:
            raise ValueError(f"beta: the IWAE bound has no KL weight; expected None or 1, "
                             f"got {beta!r}")
        return {"weighting": "importance"}


class FreeBits(Objective):
    r"""The K-sample reconstruction term plus the clamped KL
    :math:`\beta\sum_j\max(\lambda, \overline{\mathrm{KL}}_j)` (chapter 13, D13.3)."""
    name = "free-bits"

    def __init__(self, model, k: int = 1, free_bits: float = 0.25):
        super().__init__(model, k)
        try:
            self.free_bits = _check_lam(free_bits)
        except ValueError:
            raise ValueError(f"free_bits: expected a finite number >= 0 (nats per dimension), "
                             f"got {free_bits!r}") from None

    def config(self):
        return dict(super().config(), free_bits=self.free_bits)

    def _arguments(self, beta):
        return {"weighting": "mean", "beta": _beta(self.model, beta),
                "free_bits": self.free_bits}

    def __repr__(self):
        return f"FreeBits(k={self.k}, free_bits={self.free_bits:g})"


#: objective name -> class (the CLI's ``--objective`` choices)
OBJECTIVES = {"elbo": ELBO, "iwae": IWAE, "free-bits": FreeBits}


def make_objective(model, objective: str = "elbo", k: int = 1,
                   free_bits: float | None = None) -> Objective:
    """The objective called ``objective`` (a key of :data:`OBJECTIVES`) for ``model``.

    Raises
    ------
    ValueError
        An unknown name, a bad ``k``, ``free_bits`` given for another objective or missing
        for ``"free-bits"``, or a model the objective does not fit.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective: expected one of {', '.join(map(repr, OBJECTIVES))}, "
                         f"got {objective!r}")
    if objective == "free-bits":
        if free_bits is None:
            raise ValueError("free_bits: the 'free-bits' objective needs lambda (nats per "
                             "dimension), got None")
        return FreeBits(model, k, free_bits)
    if free_bits is not None:
        raise ValueError(f"free_bits: only the 'free-bits' objective clamps the KL; got "
                         f"free_bits={free_bits!r} with objective {objective!r}")
    return OBJECTIVES[objective](model, k)

