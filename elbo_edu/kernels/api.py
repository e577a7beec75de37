"""The public operations of the seam: check the arguments, then call the active backend object.

The switch lives here too: the backend is read once from the environment variable
``ELBO_EDU_BACKEND`` (default ``"numba"``) and can be changed at any time with
:func:`set_backend` / :func:`use_backend`. numba itself is imported only when the numba backend is
first needed, so ``import elbo_edu`` stays fast.

The checks are cheap (types, dtypes, shapes, contiguity, never a pass over the data) because these
functions sit on the hot path of every training step. Arrays written in place must already be
C-contiguous arrays of the right dtype; read-only inputs are made contiguous if needed. Mixed
dtypes are an error rather than a silent upcast (float32 training must stay float32).
"""
from __future__ import annotations

import contextlib
import numbers
import os
import time

import numpy as np

from .._checks import as_float_array, check_positive_float
from .interface import ACTIVATION_NAMES, OPERATIONS, TABLE, Backend
from .numpy_backend import NumpyBackend

__all__ = ["BACKENDS", "ENV_VAR", "get_backend", "set_backend", "use_backend", "backend",
           "warmup", "substitute"]
__all__.extend(OPERATIONS)      # the checked public function of each operation of the table

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


# ----------------------------------------------------------------------------- the switch
BACKENDS = ("numba", "numpy")
ENV_VAR = "ELBO_EDU_BACKEND"

_state: dict = {"name": None, "object": None}
_objects: dict = {}


def _check_name(name, what: str) -> str:
    if not isinstance(name, str) or name.strip().lower() not in BACKENDS:
        raise ValueError(f"{what}: expected one of {BACKENDS}, got {name!r}")
    return name.strip().lower()


def get_backend() -> str:
    """The name of the active backend, ``"numba"`` or ``"numpy"``."""
    if _state["name"] is None:
        _state["name"] = _check_name(os.environ.get(ENV_VAR, "numba"), ENV_VAR)
    return _state["name"]


def set_backend(name: str) -> str:
    """Select the backend for every later operation; returns the previous one's name.

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`BACKENDS`, or numba cannot be imported.
    """
    name = _check_name(name, "name")
    previous = get_backend()
    _load(name)  # fail now, not at the first operation
    _state["name"], _state["object"] = name, None
    return previous


def _load(name: str) -> Backend:
    obj = _objects.get(name)
    if obj is None:
        if name == "numpy":
            obj = NumpyBackend()
        else:
            try:   # numba is imported when first needed (``import elbo_edu`` stays fast)
                from .numba_backend import NumbaBackend
            except ImportError as exc:  # pragma: no cover - numba is a hard dependency
                raise ValueError(f"name: the {name!r} backend is unavailable ({exc})") from exc
            obj = NumbaBackend()
        _objects[name] = obj
    return obj


def backend(name: str | None = None) -> Backend:
    """The backend object ``name`` (default: the active one). One object per backend, so an
    operation substituted on it (:meth:`Backend.substitute`) is seen by every caller."""
    if name is not None:
        return _load(_check_name(name, "name"))
    obj = _state["object"]
    if obj is None:
        obj = _state["object"] = _load(get_backend())
    return obj


@contextlib.contextmanager
def use_backend(name: str):
    """``with use_backend("numpy"): ...`` runs the block with another backend, then restores."""
    previous = set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


# -------------------------------------------------------------- the checked public functions
#: operation name -> (its checked public function, the argument tuples that compile it in warmup)
PUBLIC: dict = {}


def _operation(warmup_args):
    """Register the decorated function as the checked public function of the operation of
    :data:`~elbo_edu.kernels.interface.TABLE` with its name. ``warmup_args(a, b, c)`` gives the
    argument tuples with which :func:`warmup` calls it, from three (3, 4) arrays of one dtype."""
    def register(fn):
        if fn.__name__ not in OPERATIONS:
            raise ValueError(f"{fn.__name__}: not an operation of the table {OPERATIONS}")
        PUBLIC[fn.__name__] = (fn, warmup_args)
        return fn
    return register


# ----------------------------------------------------------------------------- validation
def _float(a, name):
    if not isinstance(a, np.ndarray) or a.dtype not in _FLOATS:
        raise ValueError(f"{name}: expected a float32 or float64 numpy array, got "
                         f"{getattr(a, 'dtype', type(a).__name__)}")
    return a


def _inp(a, name, like, like_name, shape=None):
    """A read-only input with the dtype of ``like`` (and ``shape``, default ``like.shape``)."""
    if not isinstance(a, np.ndarray) or a.dtype != like.dtype:
        raise ValueError(f"{name}: expected a {like.dtype} array (the dtype of {like_name}), got "
                         f"{getattr(a, 'dtype', type(a).__name__)}")
    shape = like.shape if shape is None else shape
    if a.shape != shape:
        raise ValueError(f"{name}: expected shape {shape}, got {a.shape}")
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def _outp(a, name, like, like_name):
    """An array written in place: C-contiguous, dtype and shape of ``like``."""
    _inp(a, name, like, like_name)
    if not (a.flags.c_contiguous and a.flags.writeable):
        raise ValueError(f"{name}: expected a writeable C-contiguous array (it is written in place)")
    return a


def _two_d(a, name):
    _float(a, name)
    if a.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array (N, D), got shape {a.shape}")
    return a


def _act(act, slope):
    if act not in ACTIVATION_NAMES:
        raise ValueError(f"act: expected one of {ACTIVATION_NAMES}, got {act!r}")
    if act == "leaky_relu" and not (np.isfinite(slope) and slope >= 0):
        raise ValueError(f"slope: expected a finite non-negative number, got {slope!r}")
    return float(slope)


def _scalar(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name}: expected a finite real number, got {value!r}")
    return float(value)


def _raise_like_readable(rows, inputs, aliased=None):
    """Make the fused kernels fail as the readable functions do on NaN or infinite input.

    The readable functions raise ``ValueError`` naming the argument; a fused kernel would return
    NaN or infinity instead. Only the per-row results ``rows`` (N values) are looked at on the
    way out; the inputs are scanned only when one of them is not finite. ``inputs`` are
    ``(name, array)`` pairs in the order the readable function checks them; ``aliased`` names an
    input the kernel overwrote with its output (then, with every other input finite, a finite
    input always gives finite rows, so that input is the one to blame).
    """
    if np.all(np.isfinite(rows)):
        return
    for name, a in inputs:
        if name != aliased:
            as_float_array(a, name)
    if aliased is not None:
        raise ValueError(f"{aliased}: expected finite values, found NaN or inf")


# ---------------------------------------------------------------- fused bias + activation
@_operation(lambda a, b, c: [(a.copy(), b[0], act) for act in ACTIVATION_NAMES])
def bias_act_forward(h, b, act="relu", *, slope=0.01):
    r"""Add the bias and apply the activation, in place: ``h <- f(h + b)`` (chapter 02, D2.4).

    Called right after the matrix product ``h = x @ W`` of a linear layer, so the pre-activation
    never needs an array of its own.

    Parameters
    ----------
    h : float array (N, K), C-contiguous, overwritten
    b : array (K,), dtype of ``h``
    act : {"identity", "relu", "leaky_relu", "tanh", "sigmoid", "softplus"}
    slope : float
        The negative-side slope of ``"leaky_relu"``.

    Returns
    -------
    h : the same array, now :math:`f(h + b)`
    """
    slope = _act(act, slope)
    _outp(_two_d(h, "h"), "h", h, "h")
    b = _inp(b, "b", h, "h", (h.shape[1],))
    return backend().bias_act_forward(h, b, act, slope)


@_operation(lambda a, b, c: [(c, a, act) for act in ACTIVATION_NAMES])
def bias_act_backward(dy, y, act="relu", *, slope=0.01, out=None):
    r"""Backward of :func:`bias_act_forward`: :math:`\partial pre = dy\odot f'(pre)`,
    :math:`\partial b = \sum_n \partial pre_n`, with :math:`f'` written through the output ``y``
    (ReLU :math:`[y>0]`, tanh :math:`1-y^2`, sigmoid :math:`y(1-y)`, softplus :math:`1-e^{-y}`).

    Parameters
    ----------
    dy, y : float arrays (N, K) of one dtype
    out : array (N, K), optional
        Receives ``dpre``; may be ``dy`` itself (then no new array is made).

    Returns
    -------
    dpre : (N, K)
    db : (K,)
    """
    slope = _act(act, slope)
    _two_d(y, "y")
    dy = _inp(dy, "dy", y, "y")
    out = np.empty_like(y) if out is None else _outp(out, "out", y, "y")
    return backend().bias_act_backward(dy, y, act, slope, out)


# ------------------------------------------------------------------- likelihoods (chapter 07)
@_operation(lambda a, b, c: [(a, b)])
def bernoulli_loglik_grad(x, logits, *, scale=1.0, out=None):
    r"""Bernoulli log-likelihood per row and its gradient, in one pass (chapter 07, D7.2).

    .. math:: \log p(x_n\mid\ell_n) = \sum_d x_{nd}\ell_{nd} - \operatorname{softplus}(\ell_{nd}),
              \qquad \text{out} = s\,(x - \sigma(\ell))

    Parameters
    ----------
    x : float array (N, D), targets in [0, 1] (not checked here: a pass over the data)
    logits : array (N, D), dtype of ``x``
    scale : float
        ``s``, the upstream factor (``-1/N`` for the gradient of the batch-mean negative ELBO).
    out : array (N, D), optional; may be ``logits`` itself.

    Returns
    -------
    logp : (N,)
    dlogits : (N, D)
    """
    _two_d(x, "x")
    logits = _inp(logits, "logits", x, "x")
    out = np.empty_like(x) if out is None else _outp(out, "out", x, "x")
    aliased = "logits" if np.may_share_memory(out, logits) else None
    result = backend().bernoulli_loglik_grad(x, logits, _scalar(scale, "scale"), out)
    _raise_like_readable(result[0], (("x", x), ("logits", logits)), aliased)
    return result


@_operation(lambda a, b, c: [(a, np.stack([b, c]))])
def bernoulli_log_prob(x, logits, *, out=None):
    r"""The Bernoulli log-likelihood per row of each of S decoder outputs, no gradient
    (chapter 07, D7.2; the evaluation half of :func:`bernoulli_loglik_grad`, for importance
    sampling, chapter 10).

    .. math:: \log p(x_n\mid\ell_{sn}) = \sum_d x_{nd}\ell_{snd} - \operatorname{softplus}(\ell_{snd})

    Parameters
    ----------
    x : float array (N, D), targets in [0, 1] (not checked here: a pass over the data)
    logits : array (S, N, D), dtype of ``x``: S outputs for every row of ``x``
    out : array (S, N), optional

    Returns
    -------
    logp : (S, N)
    """
    _two_d(x, "x")
    if not isinstance(logits, np.ndarray) or logits.ndim != 3:
        raise ValueError(f"logits: expected an array of shape (S, {x.shape[0]}, {x.shape[1]}), "
                         f"got {getattr(logits, 'shape', type(logits).__name__)}")
    logits = _inp(logits, "logits", x, "x", (logits.shape[0],) + x.shape)
    rows = np.empty(logits.shape[:2], x.dtype)
    out = rows if out is None else _outp(out, "out", rows, "the (S, N) log-likelihoods")
    result = backend().bernoulli_log_prob(x, logits, out)
    _raise_like_readable(result.ravel(), (("x", x), ("logits", logits)))
    return result


@_operation(lambda a, b, c: [(a, b)])
def continuous_bernoulli_loglik_grad(x, logits, *, scale=1.0, out=None):
    r"""Continuous-Bernoulli log-density per row and ``scale`` times its gradient (chapter 07;
    :func:`elbo_edu.distributions.continuous_bernoulli_log_prob`).

    .. math:: \log p(x_n\mid\ell_n) = \sum_d x_{nd}\ell_{nd} - \operatorname{softplus}(\ell_{nd})
              + \log C(\ell_{nd}),\qquad \text{out} = s\,(x - \mathbb E[x\mid\ell])

    Arguments and returns as :func:`bernoulli_loglik_grad`.
    """
    _two_d(x, "x")
    logits = _inp(logits, "logits", x, "x")
    out = np.empty_like(x) if out is None else _outp(out, "out", x, "x")
    aliased = "logits" if np.may_share_memory(out, logits) else None
    result = backend().continuous_bernoulli_loglik_grad(x, logits, _scalar(scale, "scale"), out)
    _raise_like_readable(result[0], (("x", x), ("logits", logits)), aliased)
    return result


@_operation(lambda a, b, c: [(a, b, c[0])])
def gaussian_loglik_grad(x, mean, logvar, *, scale=1.0, out=None):
    r"""Diagonal-Gaussian log-density per row and ``scale`` times its gradients (chapter 07, D7.1),
    the log-variance shared by the rows (a decoder's fixed or learned variance).

    .. math:: \log\mathcal N(x;\mu,\sigma^2) = -\tfrac12\sum_d\big[\log 2\pi + \log\sigma_d^2
              + (x_d-\mu_d)^2/\sigma_d^2\big]

    Parameters
    ----------
    x, mean : float arrays (N, D) of one dtype
    logvar : array (D,) or scalar (shared by every dimension), dtype of ``x``
    scale : float
    out : array (N, D), optional, receives ``dmean``; may be ``mean`` itself.

    Returns
    -------
    logp : (N,)
    dmean : (N, D) = s (x - mu) / var
    dlogvar : (D,) = s sum_n ((x - mu)^2 / var - 1) / 2
    """
    _two_d(x, "x")
    mean = _inp(mean, "mean", x, "x")
    if isinstance(logvar, np.ndarray) and logvar.dtype == x.dtype and logvar.ndim == 0:
        logvar = np.full(x.shape[1], logvar, dtype=x.dtype)
    logvar = _inp(logvar, "logvar", x, "x", (x.shape[1],))
    out = np.empty_like(x) if out is None else _outp(out, "out", x, "x")
    shared = np.may_share_memory(out, mean)  # then a non-finite mean cannot be told apart
    result = backend().gaussian_loglik_grad(x, mean, logvar, _scalar(scale, "scale"), out)
    _raise_like_readable(result[0], (("x", x), ("logvar", logvar))
                         + (() if shared else (("mean", mean),)))
    return result


# ---------------------------------------------------- reparameterization + KL (chapters 05, 08)
@_operation(lambda a, b, c: [(a, b, c)])
def reparam_kl(mu, logvar, eps, *, out=None):
    r"""The reparameterized sample and the KL to the prior, per row (D8.1 and D5.4).

    .. math:: z = \mu + e^{\mathrm{logvar}/2}\odot\varepsilon,\qquad
              \mathrm{KL}_n = \tfrac12\sum_d\big(\sigma_{nd}^2 + \mu_{nd}^2 - \log\sigma_{nd}^2 - 1\big)

    Parameters
    ----------
    mu, logvar, eps : float arrays (N, Z) of one dtype
    out : array (N, Z), optional, receives ``z``

    Returns
    -------
    z : (N, Z)
    kl : (N,)
    """
    mu = np.ascontiguousarray(_two_d(mu, "mu"))   # a strided view would not vectorise
    logvar, eps = _inp(logvar, "logvar", mu, "mu"), _inp(eps, "eps", mu, "mu")
    out = np.empty_like(mu) if out is None else _outp(out, "out", mu, "mu")
    z, kl = backend().reparam_kl(mu, logvar, eps, out)
    if not np.may_share_memory(z, mu):  # (N, Z): small next to the layers around it
        for rows in (kl, z):
            _raise_like_readable(rows, (("mu", mu), ("logvar", logvar), ("eps", eps)))
    return z, kl


@_operation(lambda a, b, c: [(a, b, c, a)])
def reparam_kl_backward(dz, mu, logvar, eps, *, kl_scale=1.0, out=None):
    r"""Backward of :func:`reparam_kl` for the loss ``dz . z + kl_scale * sum_n KL_n`` (D8.1, D5.5).

    .. math:: \partial\mu = dz + k\,\mu,\qquad
              \partial\,\mathrm{logvar} = \tfrac12\big(dz\odot\sigma\odot\varepsilon
              + k\,(\sigma^2 - 1)\big)

    Returns
    -------
    dmu, dlogvar : (N, Z)
    """
    mu = np.ascontiguousarray(_two_d(mu, "mu"))
    dz = _inp(dz, "dz", mu, "mu")
    logvar, eps = _inp(logvar, "logvar", mu, "mu"), _inp(eps, "eps", mu, "mu")
    if out is None:
        out = (np.empty_like(mu), np.empty_like(mu))
    dmu, dlv = _outp(out[0], "out[0]", mu, "mu"), _outp(out[1], "out[1]", mu, "mu")
    return backend().reparam_kl_backward(dz, mu, logvar, eps,
                                                _scalar(kl_scale, "kl_scale"), dmu, dlv)


# ------------------------------------------------------------------------------- Adam
@_operation(lambda a, b, c: [([(a.copy(), b, c.copy(), c.copy())], 1e-3, 0.9, 0.999, 1e-8)])
def adam_update(groups, step, b1, b2, eps_hat):
    r"""One Adam update in place for each ``(p, g, m, v)`` of ``groups``
    (:func:`elbo_edu.kernels.numpy_backend.adam_update`, fused by the numba backend).

    .. math:: m \leftarrow \beta_1 m + (1-\beta_1)g,\quad v \leftarrow \beta_2 v + (1-\beta_2)g^2,
              \quad p \leftarrow p - m\cdot\frac{\text{step}}{\sqrt v + \hat\epsilon}

    with the bias corrections folded into ``step`` and ``eps_hat`` (see
    :class:`elbo_edu.optim.Adam`); ``m``, ``v`` and the update are flushed to zero below the
    smallest normal number. The four arrays of a group: one shape and float dtype, C-contiguous,
    ``p``, ``m``, ``v`` writeable.
    """
    checked = []
    for i, grp in enumerate(groups):
        if not isinstance(grp, (tuple, list)) or len(grp) != 4:
            raise ValueError(f"groups[{i}]: expected a tuple (p, g, m, v)")
        p, g, m, v = grp
        _float(p, f"groups[{i}].p")
        _outp(p, f"groups[{i}].p", p, "p")
        g = _inp(g, f"groups[{i}].g", p, "p")
        _outp(m, f"groups[{i}].m", p, "p")
        _outp(v, f"groups[{i}].v", p, "p")
        checked.append((p, g, m, v))
    backend().adam_update(checked, _scalar(step, "step"), _scalar(b1, "b1"), _scalar(b2, "b2"),
                          _scalar(eps_hat, "eps_hat"))


# ------------------------------------------------------------------------- data checks
@_operation(lambda a, b, c: [(a,)])
def in_unit_interval(x) -> bool:
    """``True`` when every entry of the float array ``x`` lies in [0, 1] (NaN does not), in one
    pass: the check a Bernoulli model runs on each training batch (chapter 07)."""
    _float(x, "x")
    return backend().in_unit_interval(x if x.flags.c_contiguous else np.ascontiguousarray(x))


# ------------------------------------------------------------------------- evaluation
@_operation(lambda a, b, c: [(a, b, 0.5)])
def kde_log_density(x_eval, x_data, bandwidth):
    r"""Log of the Gaussian kernel density estimate at each row of ``x_eval`` (chapter 01, D1.3).

    .. math:: \log\hat p(x) = \log\Big[\frac{1}{N h^d}\sum_{i=1}^N
              \mathcal N\big((x - x_i)/h;\,0, I\big)\Big]

    Parameters
    ----------
    x_eval : array (M, d) (or (M,) when d = 1)
    x_data : array (N, d) (or (N,)), N >= 1
    bandwidth : float > 0
        ``h``.

    Returns
    -------
    array (M,), in the common dtype of the inputs
    """
    xe = as_float_array(x_eval, "x_eval", ndim_min=1)
    xd = as_float_array(x_data, "x_data", ndim_min=1)
    h = check_positive_float(bandwidth, "bandwidth")
    xe, xd = (a.reshape(-1, 1) if a.ndim == 1 else a for a in (xe, xd))
    for a, name in ((xe, "x_eval"), (xd, "x_data")):
        if a.ndim != 2:
            raise ValueError(f"{name}: expected shape (n, d), got {a.shape}")
    if xd.shape[0] == 0:
        raise ValueError("x_data: expected at least one data point, got 0 rows")
    if xe.shape[1] != xd.shape[1]:
        raise ValueError(f"x_data: expected {xe.shape[1]} columns (as x_eval), got {xd.shape[1]}")
    dt = np.result_type(xe.dtype, xd.dtype)
    xe = np.ascontiguousarray(xe, dtype=dt)
    xd = np.ascontiguousarray(xd, dtype=dt)
    return backend().kde_log_density(xe, xd, h)


# ------------------------------------------------------------------------- utilities
def substitute(operation: str, function):
    """``with substitute("bias_act_forward", my_function): ...`` runs the block with
    ``my_function`` in place of one operation of the active backend
    (:meth:`elbo_edu.kernels.interface.Backend.substitute`; the public checks above still run)."""
    return backend().substitute(operation, function)


def warmup(dtypes=(np.float32, np.float64)) -> float:
    """Compile (or load from numba's cache) every kernel for ``dtypes``; returns the seconds spent.

    A notebook's first cell can call this so the first training step is not slowed down by
    compilation. Does nothing (returns 0.0) when the active backend is ``"numpy"``.
    """
    if get_backend() != "numba":
        return 0.0
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    for dt in dtypes:
        a, b, c = (rng.uniform(0.1, 0.9, (3, 4)).astype(dt) for _ in range(3))
        for op in TABLE:
            fn, warmup_args = PUBLIC[op.name]
            for args in warmup_args(a, b, c):
                fn(*args)
    return time.perf_counter() - t0
