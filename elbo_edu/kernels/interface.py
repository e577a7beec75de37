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
from typing import NamedTuple

from ..special import ACTIVATIONS

__all__ = ["Backend", "Operation", "TABLE", "OPERATIONS", "ACTIVATION_NAMES"]

#: The activation names the seam accepts (the keys of :data:`elbo_edu.special.ACTIVATIONS`).
ACTIVATION_NAMES = tuple(ACTIVATIONS)


class Operation(NamedTuple):
    """One operation of the seam, declared once (:data:`TABLE`)."""

    name: str
    arguments: tuple    #: the names of the backend method's parameters, after ``self``
    summary: str        #: what it computes, with the array shapes
    readable: str       #: the readable function(s) it is: what the NumPy backend runs
    chapter: str        #: the chapter that derives it


#: The seam, declared once, in the order a training step uses the operations. The interface's
#: methods below, :data:`OPERATIONS`, the checked public functions of :mod:`.api` (each
#: registered under its operation's name), :func:`~elbo_edu.kernels.warmup` and the list in
#: :mod:`elbo_edu.kernels`' docstring all follow from it; the docs page's table is tested
#: against it.
TABLE = (
    Operation("in_unit_interval", ("x",),
              "``True`` when every entry of ``x`` lies in [0, 1] (NaN does not), in one pass",
              "``np.min(x) >= 0 and np.max(x) <= 1``", "07"),
    Operation("bias_act_forward", ("h", "b", "act", "slope"),
              "``h <- f(h + b)`` in place, ``h`` (N, K), ``b`` (K,); returns ``h``",
              "``h + b``, then the activation ``special.ACTIVATIONS[act][0]``", "02"),
    Operation("reparam_kl", ("mu", "logvar", "eps", "out"),
              "``(z, kl)``: ``out <- mu + exp(logvar/2) * eps`` (N, Z) and KL(q || N(0, I)) per "
              "row (N,)", "``distributions.reparameterize`` and ``kl_std_normal``", "05, 08"),
    Operation("bernoulli_loglik_grad", ("x", "logits", "scale", "out"),
              "``(logp (N,), out)``: the Bernoulli log-likelihood per row and ``out <- scale * "
              "dlogp/dlogits``; ``out`` may be ``logits``",
              "``distributions.bernoulli_log_prob`` and ``bernoulli_log_prob_grad``", "07"),
    Operation("bernoulli_log_prob", ("x", "logits", "out"),
              "``out <- log p(x | logits)`` (S, N): the Bernoulli log-likelihood per row of each "
              "of S decoder outputs ``logits`` (S, N, D) of the targets ``x`` (N, D); no gradient "
              "(evaluation and importance sampling)",
              "``distributions.bernoulli_log_prob`` (``x`` broadcast over the samples)", "07, 10"),
    Operation("continuous_bernoulli_loglik_grad", ("x", "logits", "scale", "out"),
              "as ``bernoulli_loglik_grad`` for the continuous Bernoulli",
              "``distributions.continuous_bernoulli_log_prob`` and its ``_grad``", "07"),
    Operation("gaussian_loglik_grad", ("x", "mean", "logvar", "scale", "out"),
              "``(logp (N,), out, dlogvar (K,))`` for ``N(x; mean, exp(logvar))`` with ``logvar`` "
              "(K,) shared by the rows: ``out <- scale * dlogp/dmean``, ``dlogvar`` the scaled "
              "gradient summed over the rows; ``out`` may be ``mean``",
              "``distributions.gaussian_log_prob`` and ``gaussian_log_prob_grad``", "07"),
    Operation("bias_act_backward", ("dy", "y", "act", "slope", "out"),
              "``out <- dy * f'(pre)`` written through ``y = f(pre)``; returns "
              "``(out, out.sum(0))``; ``out`` may be ``dy``",
              "``dy *`` the derivative ``special.ACTIVATIONS[act][1](y)``", "02"),
    Operation("reparam_kl_backward", ("dz", "mu", "logvar", "eps", "kl_scale", "dmu_out",
                                      "dlogvar_out"),
              "``(dmu, dlogvar)``: the gradients of ``sum(dz * z) + kl_scale * sum(kl)``",
              "``distributions.reparameterize_grad`` plus ``kl_std_normal_grad``", "05, 08"),
    Operation("adam_update", ("groups", "step", "b1", "b2", "eps_hat"),
              "one Adam update in place for each ``(p, g, m, v)`` of ``groups``, the bias "
              "corrections folded into ``step`` and ``eps_hat``",
              "``kernels.numpy_backend.adam_update``", "09"),
    Operation("kde_log_density", ("x_eval", "x_data", "bandwidth"),
              "the Gaussian kernel density estimate: ``(M, d), (N, d), float -> (M,)``",
              "``NumpyBackend.kde_log_density`` (written once there)", "01"),
)

#: The names of the operations, in the order of :data:`TABLE`.
OPERATIONS = tuple(op.name for op in TABLE)


def _abstract(op: Operation):
    """The interface's method for ``op``: its signature and docstring, no implementation."""
    def method(self, *args):
        raise NotImplementedError(f"{type(self).__name__} does not implement {op.name}")
    method.__name__ = method.__qualname__ = op.name
    method.__doc__ = f"{op.summary} (the same as {op.readable}; chapter {op.chapter})."
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    method.__signature__ = inspect.Signature(
        [inspect.Parameter(n, kind) for n in ("self",) + op.arguments])
    return method


class Backend:
    """Interface of a backend (see the module docstring): one method per operation of
    :data:`TABLE`, with its parameters. Shapes: ``(N, K)`` a batch of rows."""

    name = ""

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


for _op in TABLE:
    setattr(Backend, _op.name, _abstract(_op))
