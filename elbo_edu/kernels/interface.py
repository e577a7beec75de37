r"""The backend interface: the element-wise operations of a training step, and nothing else.

A backend is an object with exactly these methods (same names, same signatures). Two exist:

* :class:`~elbo_edu.kernels.numpy_backend.NumpyBackend` (``"numpy"``): each operation *is* the
  package's readable function (:mod:`elbo_edu.distributions`, the activations of
  :data:`elbo_edu.special.ACTIVATIONS`, :func:`elbo_edu.kernels.numpy_backend.adam_update`),
  called on whole arrays;
* :class:`~elbo_edu.kernels.numba_backend.NumbaBackend` (``"numba"``, the default): the same
  operations as fused compiled loops, each documented as "the same as <readable function>, fused".

The operations receive arrays already checked by the public functions of :mod:`.api` (float32 or
float64, one dtype per call, C-contiguous, ``out`` arrays writeable) and activation *names*.
A subclass implements them all; :meth:`Backend.substitute` puts another function in place of one
operation for a while (how a course exercise can train the real VAE with a student's code).
"""
from __future__ import annotations

import contextlib
import inspect

from ..special import ACTIVATIONS

__all__ = ["Backend", "OPERATIONS", "ACTIVATION_NAMES"]

#: The activation names the seam accepts (the keys of :data:`elbo_edu.special.ACTIVATIONS`).
ACTIVATION_NAMES = tuple(ACTIVATIONS)

#: The operations of the interface, in the order a training step uses them.
OPERATIONS = ("in_unit_interval", "bias_act_forward", "reparam_kl", "bernoulli_loglik_grad",
              "continuous_bernoulli_loglik_grad", "gaussian_loglik_grad", "bias_act_backward",
              "reparam_kl_backward", "adam_update", "kde_log_density")


class Backend:
    """Interface of a backend (see the module docstring). Shapes: ``(N, K)`` a batch of rows."""

    name = ""

    # -- data check ---------------------------------------------------------------------------
    def in_unit_interval(self, x):
        """``True`` when every entry of ``x`` lies in [0, 1] (NaN does not)."""
        raise NotImplementedError

    # -- dense layer: bias + activation (chapter 02) ------------------------------------------
    def bias_act_forward(self, h, b, act, slope):
        """``h <- f(h + b)`` in place; ``h`` (N, K), ``b`` (K,); returns ``h``."""
        raise NotImplementedError

    def bias_act_backward(self, dy, y, act, slope, out):
        """``out <- dy * f'(pre)`` written through ``y = f(pre)``; returns ``(out, out.sum(0))``.
        ``out`` may be ``dy``."""
        raise NotImplementedError

    # -- likelihoods (chapter 07): log p per row and scale * gradient -------------------------
    def bernoulli_loglik_grad(self, x, logits, scale, out):
        """``(logp (N,), out)``: Bernoulli log-likelihood per row, ``out <- scale * dlogp/dlogits``.
        ``out`` may be ``logits``."""
        raise NotImplementedError

    def continuous_bernoulli_loglik_grad(self, x, logits, scale, out):
        """As :meth:`bernoulli_loglik_grad` for the continuous Bernoulli."""
        raise NotImplementedError

    def gaussian_loglik_grad(self, x, mean, logvar, scale, out):
        """``(logp (N,), out, dlogvar (K,))`` for ``N(x; mean, exp(logvar))``, ``logvar`` (K,)
        shared by the rows: ``out <- scale * dlogp/dmean``, ``dlogvar`` = scale * dlogp/dlogvar
        summed over the rows. ``out`` may be ``mean``."""
        raise NotImplementedError

    # -- reparameterization + KL to N(0, I) (chapters 05, 08) ---------------------------------
    def reparam_kl(self, mu, logvar, eps, out):
        """``(z, kl)``: ``out <- mu + exp(logvar/2) * eps``, ``kl`` (N,) = KL(q || N(0, I))."""
        raise NotImplementedError

    def reparam_kl_backward(self, dz, mu, logvar, eps, kl_scale, dmu_out, dlogvar_out):
        """Gradients of ``sum(dz * z) + kl_scale * sum(kl)``: ``(dmu, dlogvar)``."""
        raise NotImplementedError

    # -- optimizer ----------------------------------------------------------------------------
    def adam_update(self, groups, step, b1, b2, eps_hat):
        """One Adam update in place for each ``(p, g, m, v)`` of ``groups`` (bias corrections
        folded into ``step`` and ``eps_hat``; see :func:`elbo_edu.kernels.numpy_backend.adam_update`)."""
        raise NotImplementedError

    # -- evaluation ---------------------------------------------------------------------------
    def kde_log_density(self, x_eval, x_data, bandwidth):
        """Gaussian kernel density estimate: ``(M, d), (N, d), float -> (M,)`` (chapter 01)."""
        raise NotImplementedError

    # -- substitution -------------------------------------------------------------------------
    @contextlib.contextmanager
    def substitute(self, operation: str, function):
        """Run a block with ``function`` in place of one operation of this backend.

        ``function`` takes the operation's arguments (without ``self``), e.g.
        ``def my_bias_act_forward(h, b, act, slope): ...``; its parameters must have the same
        names as the operation's. Inside the ``with`` block every caller of the seam (the layers,
        the VAE, the optimizer) uses it; afterwards the backend's own method is back.

        Raises
        ------
        ValueError
            If ``operation`` is not one of :data:`OPERATIONS`, ``function`` is not callable or its
            parameters differ from the operation's.
        """
        if operation not in OPERATIONS:
            raise ValueError(f"operation: expected one of {OPERATIONS}, got {operation!r}")
        if not callable(function):
            raise ValueError(f"function: expected a callable, got {type(function).__name__}")
        want = list(inspect.signature(getattr(Backend, operation)).parameters)[1:]
        got = list(inspect.signature(function).parameters)
        if got != want:
            raise ValueError(f"function: expected parameters {want} (those of {operation}), "
                             f"got {got}")
        had = operation in vars(self)
        previous = vars(self).get(operation)
        setattr(self, operation, function)
        try:
            yield function
        finally:
            if had:
                setattr(self, operation, previous)
            else:
                delattr(self, operation)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
