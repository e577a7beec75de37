r"""Fused element-wise kernels for training and evaluation, with a backend switch.

Matrix products stay in NumPy (``@`` goes to BLAS). Everything else in a training step is
element-wise work that NumPy would spread over several passes and temporary arrays; each kernel
here does it in one loop. Every kernel exists twice with the same signature and the same formulas:

* ``"numba"`` (default): compiled loops (:mod:`._numba_impl`), ``cache=True``, no fastmath;
* ``"numpy"``: whole-array NumPy twins (:mod:`._numpy_impl`), the readable reference.

Pick one with :func:`set_backend` (or the context manager :func:`use_backend`), or with the
environment variable ``ELBO_EDU_BACKEND=numba|numpy`` before the first kernel call. The tests run
both and require them to agree (float64 to 1e-12, float32 to 1e-5, relative), and the twins to
agree with :mod:`elbo_edu.distributions`. numba is only imported when a numba kernel first runs.

API (``(N, K)`` is a batch of rows; all arrays of one call share one float dtype)
---------------------------------------------------------------------------------
``bias_act_forward(h, b, act="relu", *, slope=0.01) -> h``
    ``h <- f(h + b)`` in place, right after ``h = x @ W`` (chapter 02).
``bias_act_backward(dy, y, act="relu", *, slope=0.01, out=None) -> (dpre, db)``
    ``dpre = dy * f'(pre)`` written with ``y = f(pre)``; ``db = dpre.sum(0)``; ``out`` may be ``dy``.
``bernoulli_loglik_grad(x, logits, *, scale=1.0, out=None) -> (logp (N,), dlogits)``
    ``logp_n = sum_d x l - softplus(l)``; ``dlogits = scale * (x - sigmoid(l))`` (chapter 07).
``gaussian_loglik_grad(x, mean, logvar, *, scale=1.0, out=None) -> (logp, dmean, dlogvar)``
    diagonal Gaussian, gradients times ``scale`` (chapter 07).
``reparam_kl(mu, logvar, eps, *, out=None) -> (z, kl (N,))``
    ``z = mu + exp(logvar/2) eps`` and KL(q || N(0, I)) per row (chapters 05, 08).
``reparam_kl_backward(dz, mu, logvar, eps, *, kl_scale=1.0, out=None) -> (dmu, dlogvar)``
    through ``z`` and ``kl_scale * KL``.
``adam_update(p, g, m, v, step, b1, b2, eps_hat) -> None``
    one fused Adam step in place (bias corrections folded into ``step``, ``eps_hat``).
``in_unit_interval(x) -> bool``
    every entry in [0, 1], NaN not: the per-batch check of a Bernoulli model, one pass.
``binarize(x, u, *, out=None) -> b``
    dynamic binarization ``[u < x]``.
``logsumexp(a, axis=0)``
    over the samples axis, stable (chapter 10).
``kde_log_density(x_eval (M, d), x_data (N, d), bandwidth) -> (M,)``
    Gaussian kernel density estimate, ``log[(1/(N h^d)) sum_i N((x - x_i)/h; 0, I)]`` (chapter 01).
``get_backend()``, ``set_backend(name)``, ``use_backend(name)``, ``warmup()``
    the switch, and a call that compiles everything up front (for a notebook's first cell).
"""
from ._backend import BACKENDS, ENV_VAR, backend_module, get_backend, set_backend
from ._numpy_impl import ACTIVATIONS
from .api import (adam_update, bernoulli_loglik_grad, bias_act_backward, bias_act_forward,
                  binarize, gaussian_loglik_grad, in_unit_interval, kde_log_density, logsumexp,
                  reparam_kl, reparam_kl_backward, use_backend, warmup)

__all__ = ["BACKENDS", "ENV_VAR", "ACTIVATIONS", "get_backend", "set_backend", "use_backend",
           "backend_module", "warmup",
           "bias_act_forward", "bias_act_backward", "bernoulli_loglik_grad",
           "gaussian_loglik_grad", "reparam_kl", "reparam_kl_backward", "adam_update",
           "in_unit_interval", "binarize", "logsumexp", "kde_log_density"]
