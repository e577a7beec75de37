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

The operations are declared once, in :data:`~elbo_edu.kernels.interface.TABLE`; the list below
is made from it. ``(N, K)`` is a batch of rows; the arrays of one call share one float dtype.
"""
from . import api
from .api import (BACKENDS, ENV_VAR, backend, get_backend, set_backend, substitute,
                  use_backend, warmup)
from .interface import ACTIVATION_NAMES, OPERATIONS, TABLE, Backend

# the checked public function of each operation of the table, under the operation's name
globals().update({name: fn for name, (fn, _) in api.PUBLIC.items()})

if __doc__:                      # (None under python -OO)
    __doc__ += "\nOperations:\n\n" + "\n".join(
        f"* ``{op.name}``: {op.summary}; the same as {op.readable} (chapter {op.chapter})."
        for op in TABLE) + "\n"

__all__ = ["BACKENDS", "ENV_VAR", "ACTIVATION_NAMES", "OPERATIONS", "TABLE", "Backend", "backend",
           "get_backend", "set_backend", "use_backend", "substitute", "warmup"]
__all__.extend(OPERATIONS)
