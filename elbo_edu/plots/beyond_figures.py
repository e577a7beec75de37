"""Figures of chapters 12 and 13: the split of the inference gap and the rate-distortion plane.

Both functions return a :class:`matplotlib.figure.Figure` (shown as the last value of a notebook
cell) and write it to ``path`` when one is given, like the rest of :mod:`elbo_edu.plots`.
"""
from __future__ import annotations

import numpy as np

from ._style import COLORS, check_1d, finish, new_figure, styled

__all__ = ["plot_gap_decomposition", "plot_rate_distortion"]


@styled
def plot_gap_decomposition(approximation, amortisation, inference, path=None, *, stderr=None):
    r"""Stacked bars approximation + amortisation gap per data point, with the independently
    measured inference gap as a dot (and its ±2 standard-error bar) on top (chapter 12, D12.2).

    Parameters
    ----------
    approximation, amortisation, inference : array_like (N,)
        Gaps in nats.
    stderr : array_like (N,), optional
        Standard error of ``inference``.
    """
    a = check_1d(approximation, "approximation")
    b = check_1d(amortisation, "amortisation", size=a.size, size_of="approximation")
    c = check_1d(inference, "inference", size=a.size, size_of="approximation")
    idx = np.arange(a.size)
    fig, ax = new_figure(figsize=(5.6, 3.4))
    ax.bar(idx, a, color=COLORS["sky"], label="approximation gap  KL(q* || p(z|x))")
    ax.bar(idx, b, bottom=a, color=COLORS["orange"], label="amortisation gap  ELBO(q*) - ELBO(q)")
    err = None if stderr is None else 2 * check_1d(stderr, "stderr", size=a.size, size_of="approximation")
    ax.errorbar(idx, c, yerr=err, fmt="o", color=COLORS["black"], ms=5, capsize=3,
                label=r"inference gap  $\log p(x)$ - ELBO(q), measured alone")
    ax.set_xticks(idx)
    ax.set_xlabel("test digit")
    ax.set_ylabel("nats")
    ax.set_title("Where the ELBO's gap comes from")
    ax.legend(fontsize="small", loc="upper left")
    ax.set_ylim(0, 1.35 * max(float(np.max(a + b)), float(np.max(c))))
    return finish(fig, path)


@styled
def plot_rate_distortion(betas, rate, distortion, path=None):
    r"""Measured (rate, distortion) points of a β sweep, the lines of equal ELBO (slope −1,
    dotted) and, through each point, the line of slope −β it should support (chapter 13, D13.2).

    Parameters
    ----------
    betas, rate, distortion : array_like (B,)
        Rate and distortion in nats per example.
    """
    b = check_1d(betas, "betas")
    r = check_1d(rate, "rate", size=b.size, size_of="betas")
    d = check_1d(distortion, "distortion", size=b.size, size_of="betas")
    fig, ax = new_figure(figsize=(5.6, 4.0))
    r_hi = 1.15 * float(r.max()) + 0.5
    rr = np.linspace(0, r_hi, 50)
    lo, hi = float(d.min()) - 1.0, float(d.max()) + 2.0
    for level in np.linspace(lo + float(r.min()), hi + r_hi, 7):        # D + R = -ELBO
        ax.plot(rr, level - rr, ":", color=COLORS["grey"], lw=0.8)
    ax.plot([], [], ":", color=COLORS["grey"], label="equal ELBO: D + R = const")
    for bi, ri, di in zip(b, r, d):
        hw = min(1.2, 1.2 / bi)                     # at most 1.2 nats along either axis
        span = np.linspace(max(0.0, ri - hw), min(r_hi, ri + hw), 2)
        ax.plot(span, di - bi * (span - ri), "-", color=COLORS["sky"], lw=2)
    ax.plot([], [], "-", color=COLORS["sky"], label=r"slope $-\beta$ through each point")
    ax.plot(r, d, "o-", color=COLORS["vermillion"], label="trained models")
    for bi, ri, di in zip(b, r, d):
        ax.annotate(rf"$\beta$={bi:g}", (ri, di), textcoords="offset points", xytext=(6, 4),
                    fontsize="small")
    ax.set_xlim(0, r_hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("rate R = E KL(q(z|x) || p(z))  (nats)")
    ax.set_ylabel(r"distortion D = $-$E log p(x|z)  (nats)")
    ax.set_title("The rate-distortion plane")
    ax.legend(fontsize="small", loc="upper right")
    return finish(fig, path)
