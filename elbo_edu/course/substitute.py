r"""Your code trains the model: put a student's functions in place of the package's.

Inside ``with student_functions(...)`` the package runs on its **NumPy backend** (the readable
reference) and the operations of a VAE training step that the student wrote in chapter 09 are
taken from the student's functions instead of the package's:

* ``kl_and_grad(mu, logvar) -> (kl, dmu, dlogvar)``, ``kl`` of shape (N,): replaces the KL
  of ``reparam_kl`` and its gradient in ``reparam_kl_backward`` (chapter 05);
* ``reparameterize_backward(dz, mu, logvar, eps) -> (dmu, dlogvar)``: replaces the path through
  :math:`z=\mu+\sigma\varepsilon` in ``reparam_kl_backward`` (chapter 08);
* ``bernoulli_and_grad(x, logits) -> (logp, dlogits)``, ``logp`` of shape (N,): replaces
  ``bernoulli_loglik_grad``, which the Bernoulli likelihood runs in training and evaluation
  (chapter 07).

Any subset may be given; the rest stays the package's. Everything is restored on exit (also
after an exception), including the backend that was active before. Example (chapter 09)::

    from elbo_edu.course.substitute import student_functions

    with student_functions(kl_and_grad=kl_and_grad, bernoulli_and_grad=bernoulli_and_grad,
                           reparameterize_backward=reparameterize_backward) as sub:
        report = sub.gradient_check()          # a small float64 VAE, every parameter
        print(report)
        metrics = train(model, digits, epochs=1, progress=False)
    print(sub.calls)                           # how often each of your functions ran

How: built on the backend seam (see "How the code is organised" in the documentation). The
student's functions are wrapped into the signatures of the seam's operations ``reparam_kl``,
``reparam_kl_backward`` and ``bernoulli_loglik_grad`` and put in place with
``kernels.substitute(operation, function)`` inside ``kernels.use_backend("numpy")``; the seam
restores the backend's own methods when the block ends. The numba backend is never touched.
"""
from __future__ import annotations

import contextlib
from collections import Counter

import numpy as np

from .. import kernels as _K

__all__ = ["student_functions", "Substitution", "SUBSTITUTABLE"]

#: The names a student can substitute, with the package operation each one replaces.
SUBSTITUTABLE = {"kl_and_grad": "reparam_kl / reparam_kl_backward (KL part)",
                 "reparameterize_backward": "reparam_kl_backward (path through z)",
                 "bernoulli_and_grad": "bernoulli_loglik_grad"}


class Substitution:
    """What ``with student_functions(...) as sub`` gives: ``sub.calls`` counts the calls of each
    student function; :meth:`gradient_check` checks a whole VAE's gradient with them in place."""

    def __init__(self, funcs: dict):
        self.funcs = funcs
        self.calls: Counter = Counter()

    def _call(self, name, *args):
        self.calls[name] += 1
        return self.funcs[name](*args)

    def gradient_check(self, seed: int = 0, tol: float = 1e-7):
        """Every parameter gradient of a small float64 Bernoulli VAE (12-5-2), with the student's
        functions in place, against central finite differences of its loss (chapter 09, D9.3).

        Returns
        -------
        elbo_edu.gradcheck.GradCheckReport
            ``report.passed`` is True when every relative error is below ``tol``.
        """
        from ..gradcheck import GradCheckReport, numerical_gradient
        from ..vae import VAE

        rng = np.random.default_rng(seed)
        model = VAE(12, 2, hidden=(5,), likelihood="bernoulli", dtype=np.float64, rng=rng)
        x, eps = rng.random((4, 12)), rng.standard_normal((4, 2))
        _, grads = model.loss_and_grads(x, eps)
        analytic = {k: g.copy() for k, g in grads.items()}
        report = GradCheckReport(tol=tol)
        for name, p in model.params.items():
            report.add(name, analytic[name], numerical_gradient(lambda _: model.loss(x, eps), p))
        return report


def _patches(sub: Substitution, impl) -> dict:
    """The replacement functions, with the NumPy backend's signatures."""
    f = sub.funcs
    new = {}
    if "kl_and_grad" in f or "reparameterize_backward" in f:
        old_fwd, old_bwd = impl.reparam_kl, impl.reparam_kl_backward

        def reparam_kl(mu, logvar, eps, out):
            z_out, kl = old_fwd(mu, logvar, eps, out)
            if "kl_and_grad" in f:
                kl = np.asarray(sub._call("kl_and_grad", mu, logvar)[0], dtype=mu.dtype)
            return z_out, kl

        def reparam_kl_backward(dz, mu, logvar, eps, kl_scale, dmu_out, dlogvar_out):
            # dmu = (path through z) + kl_scale * dKL/dmu, each from the student or the package
            if "reparameterize_backward" in f:
                dmu_z, dlv_z = sub._call("reparameterize_backward", dz, mu, logvar, eps)
            else:
                dmu_z, dlv_z = old_bwd(dz, mu, logvar, eps, 0.0, np.empty_like(mu),
                                       np.empty_like(mu))
            if "kl_and_grad" in f:
                _, dmu_k, dlv_k = sub._call("kl_and_grad", mu, logvar)
                dmu_k, dlv_k = kl_scale * np.asarray(dmu_k), kl_scale * np.asarray(dlv_k)
            else:
                dmu_k, dlv_k = old_bwd(np.zeros_like(dz), mu, logvar, eps, kl_scale,
                                       np.empty_like(mu), np.empty_like(mu))
            dmu, dlv = np.add(dmu_z, dmu_k), np.add(dlv_z, dlv_k)
            dmu_out[...], dlogvar_out[...] = dmu, dlv
            return dmu_out, dlogvar_out
        new.update(reparam_kl=reparam_kl, reparam_kl_backward=reparam_kl_backward)
    if "bernoulli_and_grad" in f:
        def bernoulli_loglik_grad(x, logits, scale, out):
            logp, dl = sub._call("bernoulli_and_grad", x, logits)
            logp = np.asarray(logp, dtype=logits.dtype)
            np.multiply(np.asarray(dl, dtype=logits.dtype), logits.dtype.type(scale), out=out)
            return logp, out
        new["bernoulli_loglik_grad"] = bernoulli_loglik_grad
    return new


@contextlib.contextmanager
def student_functions(**funcs):
    """Run the block on the NumPy backend with the student's functions in place (see the module
    docstring for the names and contracts).

    Raises
    ------
    ValueError
        If a name is not one of :data:`SUBSTITUTABLE` or a value is not callable.
    """
    for name, fn in funcs.items():
        if name not in SUBSTITUTABLE:
            raise ValueError(f"{name}: expected one of {sorted(SUBSTITUTABLE)}")
        if not callable(fn):
            raise ValueError(f"{name}: expected a function, got {type(fn).__name__}")
    sub = Substitution(dict(funcs))
    with contextlib.ExitStack() as stack:
        stack.enter_context(_K.use_backend("numpy"))
        for op, fn in _patches(sub, _K.backend()).items():
            stack.enter_context(_K.substitute(op, fn))
        yield sub
