r"""The backend seam: the element-wise operations of a training step, behind one interface.

Matrix products stay in NumPy (``@`` goes to BLAS). The rest of a training step is element-wise
work, and every piece of it goes through the functions below. Each checks its arguments and
calls the same-named operation of the active **backend object**
(:class:`~elbo_edu.kernels.interface.Backend`):

* ``"numpy"`` (:class:`~elbo_edu.kernels.numpy_backend.NumpyBackend`): the package's readable
  functions themselves (:mod:`elbo_edu.distributions`, the activations of :mod:`elbo_edu.special`,
  :func:`~elbo_edu.kernels.numpy_backend.adam_update`) — what a student reads is what runs;
* ``"numba"`` (:class:`~elbo_edu.kernels.numba_backend.NumbaBackend`, the default): the same
  operations as fused compiled loops, each documented as "the same as <function>, fused".

Pick one with :func:`set_backend` (or the context manager :func:`use_backend`), or with the
environment variable ``ELBO_EDU_BACKEND=numba|numpy`` before the first call. The tests run both
and require them to agree (float64 to 1e-12, float32 to 1e-5, relative). :func:`substitute` puts
another function in place of one operation for a ``with`` block.

Operations (``(N, K)`` is a batch of rows; the arrays of one call share one float dtype):

* ``bias_act_forward(h, b, act="relu", *, slope=0.01) -> h``: ``h <- f(h + b)`` in place, right
  after ``h = x @ W`` (chapter 02);
* ``bias_act_backward(dy, y, act="relu", *, slope=0.01, out=None) -> (dpre, db)``:
  ``dpre = dy * f'(pre)`` written with ``y = f(pre)``, ``db = dpre.sum(0)``;
* ``bernoulli_loglik_grad(x, logits, *, scale=1.0, out=None) -> (logp (N,), dlogits)``,
  ``continuous_bernoulli_loglik_grad`` (the same arguments) and
  ``gaussian_loglik_grad(x, mean, logvar (D,), *, scale=1.0, out=None) -> (logp, dmean,
  dlogvar (D,))``: the log-likelihood per row and ``scale`` times its gradients (chapter 07);
* ``reparam_kl(mu, logvar, eps, *, out=None) -> (z, kl (N,))`` and
  ``reparam_kl_backward(dz, mu, logvar, eps, *, kl_scale=1.0, out=None) -> (dmu, dlogvar)``:
  ``z = mu + exp(logvar/2) eps`` and KL(q || N(0, I)) per row, and back (chapters 05, 08);
* ``adam_update(groups, step, b1, b2, eps_hat) -> None``: one Adam step in place for each
  ``(p, g, m, v)``;
* ``in_unit_interval(x) -> bool``: every entry in [0, 1], NaN not (the per-batch check of a
  Bernoulli model, one pass);
* ``kde_log_density(x_eval (M, d), x_data (N, d), bandwidth) -> (M,)``: the Gaussian kernel
  density estimate (chapter 01).
"""
from .api import (BACKENDS, ENV_VAR, adam_update, backend, get_backend, set_backend, bernoulli_loglik_grad, bias_act_backward, bias_act_forward,
                  continuous_bernoulli_loglik_grad, gaussian_loglik_grad, in_unit_interval,
                  kde_log_density, reparam_kl, reparam_kl_backward, substitute, use_backend,
                  warmup)
from .interface import ACTIVATION_NAMES, OPERATIONS, Backend

__all__ = ["BACKENDS", "ENV_VAR", "ACTIVATION_NAMES", "OPERATIONS", "Backend", "backend",
           "get_backend", "set_backend", "use_backend", "substitute", "warmup",
           "bias_act_forward", "bias_act_backward", "bernoulli_loglik_grad",
           "continuous_bernoulli_loglik_grad", "gaussian_loglik_grad", "reparam_kl",
           "reparam_kl_backward", "adam_update", "in_unit_interval", "kde_log_density"]
