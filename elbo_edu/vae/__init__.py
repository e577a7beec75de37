r"""The variational autoencoder, forward and backward written out by hand (chapters 08 and 09).

For a minibatch :math:`x_{1..N}` the model computes, row by row,

1. the encoder :math:`q_\phi(z\mid x) = \mathcal N(\mu, \operatorname{diag}\sigma^2)` with
   :math:`[\mu, \log\sigma^2] = \mathrm{MLP}_\phi(x)` (D9.1);
2. one reparameterized sample :math:`z = \mu + \sigma\odot\varepsilon`,
   :math:`\varepsilon\sim\mathcal N(0, I)` (D8.1);
3. the decoder output :math:`\mathrm{MLP}_\theta(z)` (logits or a mean) and the
   log-likelihood :math:`\log p_\theta(x\mid z)` (D7.1–D7.2, :mod:`elbo_edu.vae.likelihoods`);
4. the closed-form :math:`\mathrm{KL}(q_\phi(z\mid x)\,\Vert\,\mathcal N(0, I))` (D5.4);

and returns the negative ELBO averaged over the batch (D9.2), the KL weighted by ``beta``:

.. math:: \mathcal L = \frac1N\sum_n\Big[-\log p_\theta(x_n\mid z_n)
          + \beta\,\mathrm{KL}\big(q_\phi(z\mid x_n)\,\Vert\,p(z)\big)\Big].

The backward pass (D9.3) runs the chain rule in the opposite order: likelihood gradient with
respect to the decoder output, decoder backward to get :math:`\partial\mathcal L/\partial z`,
through the reparameterization (:math:`\partial z/\partial\mu = 1`,
:math:`\partial z/\partial\log\sigma^2 = \tfrac12\sigma\varepsilon`), plus the KL gradient
(D5.5), then encoder backward. Every piece is a function of :mod:`elbo_edu.distributions`,
:mod:`elbo_edu.vae.likelihoods` or :mod:`elbo_edu.nn` with its own gradient check, reached through
the backend seam (:mod:`elbo_edu.kernels`): with ``ELBO_EDU_BACKEND=numpy`` those readable
functions run themselves, with the default numba backend their fused twins. The loss and its
backward are :class:`elbo_edu.vae.objectives.ELBO` (the pieces are written once there, and the IWAE
bound, free bits and the conditional VAE are compositions of them); this file holds the model.

likelihoods  the decoder's observation models, each with its log-likelihood and gradient
objectives   the objective composed once: ELBO, IWAE_K, free bits
"""
from __future__ import annotations

import numbers
import numpy as np

from .. import distributions as D
from .. import kernels as K
from .. import nn
from .._checks import as_float_array, check_positive_float, check_positive_int, \
    check_probability_targets, check_rng
from .likelihoods import LIKELIHOODS, make_likelihood
from .objectives import ELBO, ELBOParts

__all__ = ["VAE", "ELBOParts", "HIDDEN_ACTIVATIONS"]

#: The hidden-layer activations a VAE accepts (names at the seam; the modules are
#: :data:`elbo_edu.nn.ACTIVATION_MODULES`).
HIDDEN_ACTIVATIONS = ("relu", "tanh", "leaky_relu", "softplus", "sigmoid")
LEARNED_VAR = ("scalar", "pixel")


# ------------------------------------------------------------------------------------ the model
class VAE(nn.Module):
    r"""A variational autoencoder with MLP encoder and decoder (chapter 09, D9.1–D9.3).

    Parameters
    ----------
    x_dim, z_dim : int
        Data and latent widths.
    hidden : int or sequence of int, default (400,)
        Hidden widths of the encoder; the decoder mirrors them (``z -> hidden[::-1] -> x``).
    likelihood : {"bernoulli", "continuous-bernoulli", "gaussian", "gaussian-learned"}
        Observation model, see :mod:`elbo_edu.vae.likelihoods`. Bernoulli targets must lie in [0, 1].
    beta : float, default 1
        Weight of the KL term (1 gives the ELBO; chapter 11 uses other values).
    obs_var : float, default 1
        The fixed variance :math:`c` of the ``"gaussian"`` likelihood, and the initial
        :math:`\gamma` of ``"gaussian-learned"``.
    learned_var : {"scalar", "pixel"}
        Shape of the learned log-variance ``log_gamma``: ``()`` or ``(x_dim,)``.
    activation : {"relu", "tanh", "leaky_relu", "softplus", "sigmoid"}
    dtype : float32 or float64
        Every parameter and every intermediate array has this type (no silent upcast); any other
        dtype (e.g. float16) is a ``ValueError``.
    rng : numpy.random.Generator, optional
        Initial weights; afterwards the default source of ``eps`` and of samples (when
        :meth:`loss`, :meth:`loss_and_grads` or :meth:`sample` get no ``rng`` of their own).
        Without it the model draws from a fresh *unseeded* generator: its weights and noise
        differ on every run. Pass one for reproducible results.

    Attributes
    ----------
    encoder : Sequential ``(N, x_dim) -> (N, 2*z_dim)``, the columns being ``[mu, logvar]``.
    decoder : Sequential ``(N, z_dim) -> (N, x_dim)``.
    params, grads : flat dicts ``encoder.0.W``, ..., ``decoder.2.b`` (+ ``log_gamma``).
    last : ELBOParts or None
        Filled by every :meth:`loss` / :meth:`loss_and_grads` call.
    """

    def __init__(self, x_dim: int, z_dim: int, hidden=(400,), likelihood: str = "bernoulli", *,
                 beta: float = 1.0, obs_var: float = 1.0, learned_var: str = "scalar",
                 activation: str = "relu", dtype=np.float32,
                 rng: np.random.Generator | None = None):
        super().__init__(dtype)
        self.x_dim = check_positive_int(x_dim, "x_dim")
        self.z_dim = check_positive_int(z_dim, "z_dim")
        if isinstance(hidden, numbers.Integral):
            hidden = (hidden,)
        try:
            hidden = tuple(hidden)
        except TypeError as exc:
            raise ValueError(f"hidden: expected a sequence of positive integers, got {hidden!r}") \
                from exc
        self.hidden = tuple(check_positive_int(h, "hidden") for h in hidden)
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood: expected one of {', '.join(map(repr, LIKELIHOODS))}, "
                             f"got {likelihood!r}")
        self.likelihood = make_likelihood(likelihood, obs_var)
        self.beta = self._check_beta(beta)
        self.obs_var = check_positive_float(obs_var, "obs_var")
        if learned_var not in LEARNED_VAR:
            raise ValueError(f"learned_var: expected 'scalar' or 'pixel', got {learned_var!r}")
        self.learned_var = learned_var
        if activation not in HIDDEN_ACTIVATIONS:
            raise ValueError(f"activation: expected one of "
                             f"{', '.join(map(repr, HIDDEN_ACTIVATIONS))}, got {activation!r}")
        self.activation = activation
        self.rng = np.random.default_rng() if rng is None else check_rng(rng)
        # dense layers with the activation fused: encoder.0, encoder.2, ... (nn.mlp)
        self.encoder = self.add_module("encoder", nn.mlp(
            (self.x_dim, *self.hidden, 2 * self.z_dim), activation, rng=rng, dtype=self.dtype))
        self.decoder = self.add_module("decoder", nn.mlp(
            (self.z_dim, *self.hidden[::-1], self.x_dim), activation, rng=rng, dtype=self.dtype))
        if self.likelihood.name == "gaussian-learned":
            shape = () if learned_var == "scalar" else (self.x_dim,)
            self._add_param("log_gamma", np.full(shape, np.log(self.obs_var)))
        self.last: ELBOParts | None = None

    # -- argument checks ----------------------------------------------------------------------
    @staticmethod
    def _check_beta(beta) -> float:
        if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not np.isfinite(beta) \
                or beta < 0:
            raise ValueError(f"beta: expected a finite number >= 0, got {beta!r}")
        return float(beta)

    def check_input(self, x, name: str = "x") -> np.ndarray:
        """Validate a data batch and return it as a C-contiguous (N, x_dim) array of the model's
        dtype (a copy only when needed).

        Raises
        ------
        ValueError
            Naming ``name``: not numeric, NaN or inf, not of shape (N, x_dim), or (Bernoulli-type
            likelihoods) values outside [0, 1].
        """
        if (isinstance(x, np.ndarray) and x.dtype == self.dtype and x.ndim == 2
                and x.shape[1] == self.x_dim and x.size and x.flags.c_contiguous):
            # the training path's check, one pass (NaN and +-inf fail "in [0, 1]"); any failure
            # falls through to the checks below, which name the problem
            if (K.backend().in_unit_interval(x) if self.likelihood.targets_in_unit_interval
                    else np.isfinite(x).all()):
                return x
        x = as_float_array(x, name)
        if x.ndim != 2 or x.shape[1] != self.x_dim:
            raise ValueError(f"{name}: expected shape (N, {self.x_dim}), got {x.shape}")
        if self.likelihood.targets_in_unit_interval:
            check_probability_targets(x, name)
        return np.ascontiguousarray(x, dtype=self.dtype)

    def _check_z(self, z, name: str = "z") -> np.ndarray:
        z = as_float_array(z, name, ndim_min=2)
        if z.shape[-1] != self.z_dim:
            raise ValueError(f"{name}: expected shape (..., {self.z_dim}), got {z.shape}")
        return z.astype(self.dtype, copy=False)

    def _rng(self, rng) -> np.random.Generator:
        return self.rng if rng is None else check_rng(rng)

    @property
    def _logvar(self):
        """The learned decoder log-variance ``log_gamma``, or None."""
        return self._own_params.get("log_gamma")

    # -- the pieces ---------------------------------------------------------------------------
    def encode(self, x):
        """``x`` (N, x_dim) -> ``(mu, logvar)``, each (N, z_dim) (D9.1)."""
        h = self.encoder.forward(self.check_input(x))
        return h[:, :self.z_dim], h[:, self.z_dim:]

    def decode(self, z):
        """``z`` (..., z_dim) -> decoder output (..., x_dim): logits (Bernoulli) or mean."""
        return self._decoded(self._check_z(z))

    def _decoded(self, z, workspace=None):
        """:meth:`decode` of an already checked ``z`` (into ``workspace``'s arrays if given)."""
        z2 = z.reshape(-1, self.z_dim)
        out = self.decoder.forward(z2) if workspace is None else \
            self.decoder.forward_into(z2, workspace)
        return out.reshape(z.shape[:-1] + (self.x_dim,))

    def reparameterize(self, mu, logvar, eps):
        """:func:`elbo_edu.distributions.reparameterize`: ``z = mu + exp(0.5*logvar) * eps``
        (D8.1)."""
        return D.reparameterize(mu, logvar, eps)

    def log_likelihood(self, x, out):
        """``log p(x | z)`` from the decoder output: ``x`` (N, x_dim), ``out`` (..., N, x_dim)
        -> (..., N) (D7.1–D7.2)."""
        x = self.check_input(x)
        out = as_float_array(out, "out", ndim_min=2, finite=False)   # see Likelihood.log_prob
        if out.shape[-2:] != x.shape:
            raise ValueError(f"out: expected shape (..., {x.shape[0]}, {self.x_dim}), "
                             f"got {out.shape}")
        return self.likelihood.log_prob(x, out, self._logvar)

    def log_prior(self, z):
        """``log N(z; 0, I)``: (..., z_dim) -> (...) (D7.3)."""
        return D.std_normal_log_prob(self._check_z(z))

    def log_joint(self, x, z, *, workspace: dict | None = None):
        """``log p(x, z) = log p(x|z) + log p(z)`` for ``z`` (N, z_dim) or (K, N, z_dim);
        returns (N,) or (K, N) (D7.4).

        ``workspace``: a dict (one per thread) in which the decoder keeps its outputs between
        calls (:meth:`elbo_edu.nn.Module.forward_into`): importance sampling passes one so
        that its thousands of chunks reuse the same megabytes instead of fresh ones."""
        x = self.check_input(x)
        z = self._check_z(z)
        if z.shape[-2] != x.shape[0]:
            raise ValueError(f"z: expected shape (..., {x.shape[0]}, {self.z_dim}) (one latent per "
                             f"row of x), got {z.shape}")
        # x and z are checked once here; importance sampling calls this for every chunk of samples
        return (self.likelihood.log_prob(x, self._decoded(z, workspace), self._logvar,
                                         checked=False)
                + D.std_normal_log_prob_unchecked(z))

    def log_q(self, z, mu, logvar):
        """``log q(z | x) = log N(z; mu, diag exp(logvar))``: ``z`` (..., N, z_dim) with
        ``mu``, ``logvar`` (N, z_dim) -> (..., N) (D9.1)."""
        return D.gaussian_log_prob(self._check_z(z), mu, logvar)

    # -- the objective ------------------------------------------------------------------------
    def loss(self, x, eps=None, rng=None, *, beta: float | None = None) -> float:
        """Negative ELBO, averaged over the batch (D9.2). ``eps`` (N, z_dim) fixes the noise;
        otherwise it is drawn from ``rng`` (default: the model's generator). ``beta`` overrides
        the model's KL weight for this call (KL warm-up). Sets :attr:`last`.

        Raises
        ------
        ValueError
            For a bad batch (:meth:`check_input`; an empty one too), ``eps`` or ``beta``.
        """
        return self._objective(x, eps, rng, beta, backward=False)

    def loss_and_grads(self, x, eps=None, rng=None, *, beta: float | None = None):
        """Like :meth:`loss`, and backpropagate (D9.3): returns ``(loss, grads)``, ``grads``
        being the model's flat gradient dict, its arrays *replaced* by this batch's gradients."""
        loss = self._objective(x, eps, rng, beta, backward=True)
        return loss, self.grads

    def _objective(self, x, eps, rng, beta, backward: bool) -> float:
        # the pieces and their backward are written once, in elbo_edu.vae.objectives
        beta = self.beta if beta is None else self._check_beta(beta)
        return ELBO(self).terms(x, eps, rng, beta=beta, backward=backward).loss

    # -- test time ----------------------------------------------------------------------------
    def sample(self, n: int, rng=None) -> np.ndarray:
        """``n`` draws z ~ N(0, I) decoded to their means (Bernoulli: probabilities),
        shape (n, x_dim) (D10.1)."""
        n = check_positive_int(n, "n")
        z = self._rng(rng).standard_normal((n, self.z_dim), dtype=self.dtype)
        return self.likelihood.mean(self.decode(z))

    def reconstruct(self, x) -> np.ndarray:
        """Decode the posterior mean of each row: (N, x_dim) -> (N, x_dim) (D9.4)."""
        mu, _ = self.encode(x)
        return self.likelihood.mean(self.decode(mu))

    # -- persistence --------------------------------------------------------------------------
    def config(self) -> dict:
        """The constructor arguments as a JSON-serialisable dict (see :meth:`from_config`)."""
        return {"x_dim": self.x_dim, "z_dim": self.z_dim, "hidden": list(self.hidden),
                "likelihood": self.likelihood.name, "beta": self.beta, "obs_var": self.obs_var,
                "learned_var": self.learned_var, "activation": self.activation,
                "dtype": self.dtype.name}

    @classmethod
    def from_config(cls, cfg: dict, rng: np.random.Generator | None = None) -> "VAE":
        """Build a freshly initialised model from :meth:`config`'s output."""
        if not isinstance(cfg, dict):
            raise ValueError(f"cfg: expected a dict, got {type(cfg).__name__}")
        known = {"x_dim", "z_dim", "hidden", "likelihood", "beta", "obs_var", "learned_var",
                 "activation", "dtype"}
        unknown = set(cfg) - known
        if unknown:
            raise ValueError(f"cfg: unknown key(s) {sorted(unknown)}; expected some of "
                             f"{sorted(known)}")
        missing = {"x_dim", "z_dim"} - set(cfg)
        if missing:
            raise ValueError(f"cfg: missing key(s) {sorted(missing)}")
        kw = dict(cfg)
        try:
            kw["dtype"] = np.dtype(kw.get("dtype", "float32"))
        except TypeError as exc:
            raise ValueError(f"cfg: expected a NumPy dtype name under 'dtype', "
                             f"got {cfg.get('dtype')!r}") from exc
        x_dim, z_dim = kw.pop("x_dim"), kw.pop("z_dim")
        return cls(x_dim, z_dim, rng=rng, **kw)

    def load_params(self, params: dict) -> None:
        """Copy ``params`` (name -> array, e.g. from a checkpoint) into the model, in place.

        Raises
        ------
        ValueError
            If the keys or a shape differ, or an array holds NaN or infinity (the model is then
            left as it was)."""
        own = self.params
        if set(params) != set(own):
            raise ValueError(f"params: expected the keys {sorted(own)}, got {sorted(params)}")
        for k, p in own.items():
            a = np.asarray(params[k])
            if a.shape != p.shape:
                raise ValueError(f"params: expected shape {p.shape} for {k!r}, got {a.shape}")
            if not np.all(np.isfinite(a)):  # checked before any array is copied in
                raise ValueError(f"params: {k!r} holds NaN or infinite values")
        for k, p in own.items():
            p[...] = params[k]

    def __repr__(self) -> str:
        return (f"VAE(x_dim={self.x_dim}, z_dim={self.z_dim}, hidden={self.hidden}, "
                f"likelihood={self.likelihood.name!r}, beta={self.beta}, dtype={self.dtype.name})")
