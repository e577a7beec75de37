r"""Vectorisable ``exp``, ``expm1`` and ``log1p`` for the numba kernels.

numba compiles ``np.exp``, ``np.expm1`` and ``np.log1p`` into calls to the scalar C library (it
has no vector math library without Intel's SVML), and a loop that calls a function is not
vectorised. The functions here are plain arithmetic that LLVM turns into vector instructions
(16 float32 or 8 float64 lanes with AVX-512):

* :func:`exp_f32` within 1.2 ulp, :func:`expm1_f32` within 2 ulp (relative, also near 0) and
  :func:`log1p_unit_f32` within 1.6 ulp on [0, 1]; :func:`exp_f64` within 1 ulp of float64;
  :func:`exp_nonpos_f32` is :func:`exp_f32` for the arguments ≤ 0 of the Bernoulli kernels
  (their :math:`e^{-|l|}`), a few instructions shorter, 0 below -87.68;
  ``tests/test_kernels_vecmath.py`` measures them over their whole ranges, against float64
  (for float32) and against long double (for float64);
* :func:`exp` chooses by type when a kernel is compiled (:func:`exp_f32` or :func:`exp_f64`), and
  :func:`expm1` (:func:`expm1_f32` for float32, NumPy's libm ``expm1`` for float64). The float64
  kernels must agree with the NumPy twins to 1e-12, which a 1-ulp ``exp`` does by four orders of
  magnitude. Run as plain Python (``NUMBA_DISABLE_JIT=1``) they are NumPy's functions.

The method (Cody and Waite's range reduction) is the textbook one: write
:math:`x = k\ln 2 + f` with integer :math:`k` and :math:`|f|\le\tfrac12\ln 2`, evaluate the Taylor
polynomial of :math:`e^f`, and multiply by :math:`2^k`, built from its exponent bits.
"""
from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import overload

__all__ = ["exp", "expm1", "exp_f32", "exp_f64", "exp_nonpos_f32", "expm1_f32", "log1p_unit_f32",
           "rowsum_f64"]

# "contract": a multiply followed by an add may become one FMA instruction (rounded once); the
# polynomials below are chains of them. The accuracy tests hold with and without it
_JIT = dict(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})
_LOG2E = 1.4426950408889634
_LN2_HI, _LN2_LO = 0.693359375, -2.1219444005469057e-4   # ln 2 = HI + LO; k * HI is exact
_X_MIN, _X_MAX = -103.0, 89.0       # exp(-103) < 2**-148 rounds to the last subnormal step or 0;
                                    # exp(89) > 3.4e38 overflows to inf, as it should


@njit(**_JIT)
def _pow2(k):
    """``2**k`` for an integer-valued float32 ``k`` in [-127, 128] (128 gives inf, -127 gives 0):
    the exponent field written directly."""
    return np.int32((np.int32(k) + np.int32(127)) << np.int32(23)).view(np.float32)


@njit(**_JIT)
def _reduce(x):
    """``(k, f, s1, s2)``: ``x = k ln2 + f``, ``|f| <= ln2/2``, and ``2**k = s1 * s2``, two exact
    powers of two (one alone would not reach the subnormals or 2**128). NaN propagates."""
    x = x if not x < np.float32(_X_MIN) else np.float32(_X_MIN)
    x = x if not x > np.float32(_X_MAX) else np.float32(_X_MAX)
    k = np.floor(x * np.float32(_LOG2E) + np.float32(0.5))
    f = (x - k * np.float32(_LN2_HI)) - k * np.float32(_LN2_LO)
    k1 = np.floor(k * np.float32(0.5))
    return k, f, _pow2(k1), _pow2(k - k1)


@njit(**_JIT)
def _expm1_poly(f):
    """:math:`e^f - 1` for :math:`|f|\\le\\tfrac12\\ln 2`: Taylor to :math:`f^8` (remainder
    below 2e-10 relative)."""
    return f + f * f * (np.float32(1 / 2) + f * (np.float32(1 / 6) + f * (np.float32(1 / 24) + f * (
        np.float32(1 / 120) + f * (np.float32(1 / 720) + f * (np.float32(1 / 5040) + f * (
            np.float32(1 / 40320))))))))


@njit(**_JIT)
def exp_f32(x):
    """``exp(x)`` for float32 ``x``: overflow gives inf, underflow the subnormals and then 0
    (within one subnormal step), NaN stays NaN."""
    _, f, s1, s2 = _reduce(x)
    return (np.float32(1) + _expm1_poly(f)) * s1 * s2


@njit(**_JIT)
def exp_nonpos_f32(x):
    """``exp(x)`` for float32 ``x <= 0``: the same bits as :func:`exp_f32` down to ``-87.68``
    and exactly 0 below (where the exact value is under 8.4e-39), so that ``2**k`` is one
    power of two built once: with ``x`` clamped at -88, ``k >= -127``, and ``k = -127`` makes
    the exponent field, hence the power, 0. Used for :math:`e^{-|l|}` in the Bernoulli kernels,
    where a value under 8.4e-39 counts for nothing and sigmoid(-inf) must still be 0. NaN
    stays NaN; positive ``x`` is not supported (overflow is not handled)."""
    x = x if not x < np.float32(-88.0) else np.float32(-88.0)
    k = np.floor(x * np.float32(_LOG2E) + np.float32(0.5))
    f = (x - k * np.float32(_LN2_HI)) - k * np.float32(_LN2_LO)
    return (np.float32(1) + _expm1_poly(f)) * _pow2(k)


@njit(**_JIT)
def expm1_f32(x):
    """``exp(x) - 1`` for float32 ``x``, with relative accuracy near 0 (where ``exp(x) - 1``
    would cancel): :math:`2^k(e^f - 1) + (2^k - 1)`, the second term exact."""
    k, f, s1, s2 = _reduce(x)
    q = _expm1_poly(f)
    if k == np.float32(0):
        return q
    if k > np.float32(24):        # the -1 is below half an ulp; 2**k alone may overflow (k = 128)
        return s1 * (s2 * (np.float32(1) + q))
    s = s1 * s2
    return s * q + (s - np.float32(1))


# float64: fdlibm's split of ln 2 (the high part has 32 trailing zero bits, so k * HI is exact)
_LN2_HI_D, _LN2_LO_D = 6.93147180369123816490e-01, 1.90821492927058770002e-10
_X_MIN_D, _X_MAX_D = -746.0, 710.0  # exp(-746) < 2**-1075 rounds to 0; exp(710) overflows


@njit(**_JIT)
def _pow2_f64(k):
    """``2**k`` for an integer-valued float64 ``k`` in [-1022, 1024] (1024 gives inf)."""
    return np.int64((np.int64(k) + np.int64(1023)) << np.int64(52)).view(np.float64)


@njit(**_JIT)
def exp_f64(x):
    r"""``exp(x)`` for float64 ``x``, within 1 ulp: Cody–Waite reduction, the Taylor polynomial of
    :math:`e^f - 1` to :math:`f^{13}` (remainder below 5e-18 relative for
    :math:`|f|\le\tfrac12\ln 2`), :math:`2^k` as two exact factors. Overflow gives inf,
    underflow the subnormals and then 0, NaN stays NaN."""
    x = x if not x < _X_MIN_D else _X_MIN_D
    x = x if not x > _X_MAX_D else _X_MAX_D
    k = np.floor(x * _LOG2E + 0.5)
    f = (x - k * _LN2_HI_D) - k * _LN2_LO_D
    q = f + f * f * (1 / 2 + f * (1 / 6 + f * (1 / 24 + f * (1 / 120 + f * (1 / 720 + f * (
        1 / 5040 + f * (1 / 40320 + f * (1 / 362880 + f * (1 / 3628800 + f * (
            1 / 39916800 + f * (1 / 479001600 + f * (1 / 6227020800))))))))))))
    k1 = np.floor(k * 0.5)
    return (1.0 + q) * _pow2_f64(k1) * _pow2_f64(k - k1)


# log1p(e) / e on [0, 1]: the polynomial of degree 9 interpolating it at the Chebyshev points of
# [0, 1] (numpy.polynomial.Chebyshev.interpolate), in powers of e, each coefficient rounded to
# float32 and the first set to exactly 1
_LOG1P_Q = (1.0, -0.49999892711639404, 0.33329710364341736, -0.24951615929603577,
            0.1966327428817749, -0.1526966691017151, 0.10543623566627502, -0.05637361481785774,
            0.019542528316378593, -0.0031760570127516985)


@njit(**_JIT)
def log1p_unit_f32(e):
    r"""``log1p(e)`` for float32 ``e`` in [0, 1]: :math:`e\,q(e)`, ``q`` a polynomial of degree 9
    close to :math:`\log(1+e)/e`: within 1.6 ulp for every float32 in [0, 1] (the tests check
    each one). No division, so a loop of it vectorises into multiply-adds only; the relative
    accuracy holds for tiny ``e`` too, where log1p(e) ~ e."""
    c = _LOG1P_Q
    q = np.float32(c[8]) + e * np.float32(c[9])
    q = np.float32(c[7]) + e * q
    q = np.float32(c[6]) + e * q
    q = np.float32(c[5]) + e * q
    q = np.float32(c[4]) + e * q
    q = np.float32(c[3]) + e * q
    q = np.float32(c[2]) + e * q
    q = np.float32(c[1]) + e * q
    return e * (np.float32(c[0]) + e * q)


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
def rowsum_f64(a):
    """Sum of a 1-D float32 or float64 array in float64. ``reassoc`` (used only here) lets LLVM
    keep partial sums in vector lanes; without it the sum is one chain of dependent additions,
    slower than all the rest of a Bernoulli row."""
    s = 0.0
    for j in range(a.size):
        s += np.float64(a[j])
    return s


# ------------------------------------------------------------------ dispatch by type
def exp(x):
    """``exp`` in a kernel: :func:`exp_f32` for float32, :func:`exp_f64` for float64."""
    return np.exp(x)


def expm1(x):
    """``expm1`` in a kernel: :func:`expm1_f32` for float32, ``np.expm1`` otherwise."""
    return np.expm1(x)


@overload(exp, jit_options=_JIT)
def _exp_typed(x):
    if x == types.float32:
        return lambda x: exp_f32(x)
    if x == types.float64:
        return lambda x: exp_f64(x)
    return lambda x: np.exp(x)


@overload(expm1, jit_options=_JIT)
def _expm1_typed(x):
    if x == types.float32:
        return lambda x: expm1_f32(x)
    return lambda x: np.expm1(x)
