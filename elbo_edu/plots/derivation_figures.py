"""Figures for the derivation chapters 03-07: from the latent-variable picture to the ELBO.

Every function draws numbers the chapter has already computed (it never evaluates a model),
returns a :class:`matplotlib.figure.Figure` and writes it to ``path`` when one is given.
Log-probabilities are in nats.
"""
from __future__ import annotations

import numpy as np

from .._checks import as_float_array, check_same_shape
from ._style import COLORS, NATS, check_1d, finish, new_figure, styled

__all__ = ["plot_ring_map", "plot_naive_evidence_error", "plot_kl_fits",
           "plot_quadrature_check", "plot_elbo_gap", "plot_tradeoff"]


def _pairs(x, name: str) -> np.ndarray:
    arr = as_float_array(x, name)
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
        raise ValueError(f"{name}: expected points of shape (n, 2), got {arr.shape}")
    return arr


def _check_positive(arr: np.ndarray, name: str, why: str = "log scale") -> None:
    if np.any(arr <= 0):
        raise ValueError(f"{name}: expected positive values ({why}), found {np.min(arr):g}")


@styled
def plot_ring_map(z, x, path=None):
    """Gaussian samples next to their image under ``g(z) = z/10 + z/‖z‖`` (chapter 03, D3.2).

    A deterministic function of a simple latent variable can produce a complicated data
    distribution (Doersch, *Tutorial on Variational Autoencoders*, fig. 2). Each point is
    coloured by the angle of its ``z``, a cyclic colour map, so one can follow where it lands.

    Parameters
    ----------
    z : array_like, shape (n, 2)
        Samples of ``N(0, I)``.
    x : array_like, shape (n, 2)
        Their images ``g(z)``, e.g. from :func:`elbo_edu.data.ring_map`.
    path : str or Path, optional

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: the latent samples and the ring.

    Examples
    --------
    >>> from elbo_edu.data import make_ring
    >>> x, z = make_ring(2000, np.random.default_rng(0), return_latent=True)
    >>> fig = plot_ring_map(z, x)
    """
    z = _pairs(z, "z")
    x = _pairs(x, "x")
    check_same_shape(z=z, x=x)
    angle = np.arctan2(z[:, 1], z[:, 0])
    size = float(np.clip(1500.0 / np.sqrt(len(z)), 2.0, 20.0))
    fig, axes = new_figure(1, 2, figsize=(8.4, 4.2))
    titles = (r"latent samples $z \sim \mathcal{N}(0, I)$",
              r"data $x = g(z) = z/10 + z/\|z\|$")
    for ax, pts, title, sym in zip(axes, (z, x), titles, ("z", "x")):
        ax.scatter(pts[:, 0], pts[:, 1], c=angle, cmap="twilight", vmin=-np.pi, vmax=np.pi,
                   s=size, linewidths=0, alpha=0.8, rasterized=len(pts) > 2000)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_title(title)
        ax.set_xlabel(f"${sym}_1$")
        ax.set_ylabel(f"${sym}_2$")
    fig.suptitle("A deterministic map turns a Gaussian into a ring "
                 "(colour: angle of z)", fontsize=10)
    return finish(fig, path)


@styled
def plot_naive_evidence_error(dims, rel_errors, path=None, *, n_samples=None):
    """Relative error of the naive Monte-Carlo evidence estimate vs latent dimension (D3.3).

    The estimate ``p̂(x) = (1/n) Σ_i p(x | z_i)`` with ``z_i ~ p(z)`` is unbiased, but almost
    every prior sample misses the small region where ``p(x|z)`` is large, so its relative
    error ``|p̂(x) − p(x)| / p(x)`` grows roughly exponentially with the dimension of ``z``.

    Parameters
    ----------
    dims : array_like, shape (m,)
        Latent dimensions.
    rel_errors : array_like, shape (m,) or (m, r)
        Positive relative errors; with ``r`` repetitions per dimension each repetition is a
        faint dot and the line joins the medians.
    path : str or Path, optional
    n_samples : int, optional, keyword-only
        The ``n`` of the estimator, quoted in the title.

    Returns
    -------
    matplotlib.figure.Figure
        One axes with a logarithmic error axis and a reference line at 100 %.

    Examples
    --------
    >>> fig = plot_naive_evidence_error([1, 2, 4, 8], [0.01, 0.03, 0.2, 1.5], n_samples=1000)
    """
    dims = check_1d(dims, "dims")
    err = as_float_array(rel_errors, "rel_errors")
    if err.ndim not in (1, 2) or err.shape[0] != dims.size or err.size == 0:
        raise ValueError(f"rel_errors: expected shape ({dims.size},) or ({dims.size}, r) "
                         f"(one row per entry of dims), got {err.shape}")
    _check_positive(err, "rel_errors")
    fig, ax = new_figure(figsize=(5.4, 3.8))
    if err.ndim == 2:
        ax.plot(np.repeat(dims, err.shape[1]), err.ravel(), "o", color=COLORS["sky"],
                alpha=0.35, markersize=3, label="one estimate")
        err = np.median(err, axis=1)
    ax.plot(dims, err, "o-", color=COLORS["blue"], label="relative error (median)"
            if np.ndim(rel_errors) == 2 else "relative error")
    ax.axhline(1.0, color=COLORS["vermillion"], ls="--", lw=1.2,
               label=r"error as large as $p(x)$ itself")
    ax.set_yscale("log")
    ax.set_ylim(top=3 * max(1.0, float(np.max(rel_errors))))    # the 100 % line never at the edge
    ax.set_xlabel(r"latent dimension $d$")
    ax.set_ylabel(r"$|\hat p(x) - p(x)|\;/\;p(x)$")
    title = "Naive Monte-Carlo evidence estimate"
    ax.set_title(title + (f" (n = {n_samples:,})" if n_samples is not None else ""))
    if np.all(dims == np.round(dims)):
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="lower right", fontsize=8)    # errors grow with d: that corner stays empty
    return finish(fig, path)


@styled
def plot_kl_fits(x_grid, p, q_forward, q_reverse, path=None):
    """A bimodal target with its forward-KL and reverse-KL Gaussian fits (chapter 04, D4.2).

    Minimising ``KL(p‖q) = E_p[log p − log q]`` punishes ``q`` wherever ``p`` has mass, so the
    fit spreads over both modes (mass-covering); minimising ``KL(q‖p)`` punishes ``q`` wherever
    ``p`` is small, so the fit settles on one mode (mode-seeking).

    Parameters
    ----------
    x_grid : array_like, shape (m,)
        Increasing grid.
    p, q_forward, q_reverse : array_like, shape (m,)
        Non-negative densities on the grid: the target, ``argmin_q KL(p‖q)`` and
        ``argmin_q KL(q‖p)``.
    path : str or Path, optional

    Returns
    -------
    matplotlib.figure.Figure
        One axes: the shaded target and two lines.
    """
    x = check_1d(x_grid, "x_grid")
    if x.size < 2 or np.any(np.diff(x) <= 0):
        raise ValueError("x_grid: expected at least 2 strictly increasing values")
    curves = {}
    for name, values in (("p", p), ("q_forward", q_forward), ("q_reverse", q_reverse)):
        curves[name] = check_1d(values, name, size=x.size, size_of="x_grid")
        if np.any(curves[name] < 0):
            raise ValueError(f"{name}: expected a non-negative density")
    fig, ax = new_figure(figsize=(6.4, 3.9))
    ax.fill_between(x, curves["p"], color=COLORS["grey"], alpha=0.35, lw=0)
    ax.plot(x, curves["p"], color="0.35", lw=1.2, label=r"target $p$ (bimodal)")
    ax.plot(x, curves["q_forward"], color=COLORS["blue"],
            label=r"$q$ minimising $\mathrm{KL}(p\,\|\,q)$: mass-covering")
    ax.plot(x, curves["q_reverse"], "--", color=COLORS["vermillion"],
            label=r"$q$ minimising $\mathrm{KL}(q\,\|\,p)$: mode-seeking")
    ax.set_xlabel(r"$x$")
    ax.set_ylabel("density")
    ax.set_ylim(0, 1.3 * max(float(np.max(v)) for v in curves.values()))
    ax.set_xlim(x[0], x[-1])
    ax.set_title("KL is not symmetric: forward and reverse Gaussian fits")
    ax.legend(loc="upper left")
    return finish(fig, path)


@styled
def plot_quadrature_check(labels, closed_form, quadrature, path=None):
    """Closed-form values against numerical quadrature, and their differences (chapter 05).

    Left: each value pair as a point on the ``y = x`` line (numbered when there are at most
    ten). Right: the absolute
    difference on a log axis, which for a correct formula sits near float64 round-off
    (machine epsilon ``2.2e-16`` times the size of the values), far below any slip.

    Parameters
    ----------
    labels : sequence of str, length m
        What each value is, e.g. ``"KL(N(1, 2) || N(0, 1))"``.
    closed_form, quadrature : array_like, shape (m,)
    path : str or Path, optional

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: the y = x scatter and the horizontal bars of differences.
    """
    if isinstance(labels, str) or not all(isinstance(s, str) for s in labels):
        raise ValueError("labels: expected a sequence of strings")
    labels = list(labels)
    if not labels:
        raise ValueError("labels: expected at least one entry")
    exact = check_1d(closed_form, "closed_form", size=len(labels), size_of="labels")
    quad = check_1d(quadrature, "quadrature", size=len(labels), size_of="labels")
    diff = np.abs(exact - quad)
    eps = np.finfo(np.float64).eps
    floor = eps * 1e-2
    m = len(labels)
    # Room for the longest label (about 0.068 inch per character at 9 pt) beside the bars.
    label_inches = 0.068 * max(len(s) for s in labels) + 0.3
    fig, (ax_l, ax_r) = new_figure(1, 2, figsize=(3.6 + label_inches + 4.0,
                                                  max(3.6, 0.8 + 0.3 * m)),
                                   width_ratios=(3.4, 4.0))
    lo, hi = float(min(exact.min(), quad.min())), float(max(exact.max(), quad.max()))
    margin = 0.08 * (hi - lo) if hi > lo else max(abs(hi), 1.0) * 0.1
    line = np.array([lo - margin, hi + margin])
    ax_l.plot(line, line, color="0.55", lw=1, label="y = x")
    ax_l.plot(exact, quad, "o", color=COLORS["blue"], label="values")
    for i in range(m if m <= 10 else 0):      # beyond ten numbers the labels would collide
        ax_l.annotate(str(i + 1), (exact[i], quad[i]), xytext=(5, -10),
                      textcoords="offset points", fontsize=8)
    ax_l.set_xlim(*line)
    ax_l.set_ylim(*line)
    ax_l.set_aspect("equal")
    ax_l.set_xlabel("closed form")
    ax_l.set_ylabel("quadrature")
    ax_l.set_title("Closed form vs quadrature")
    ax_l.legend(loc="upper left")
    rows = np.arange(m)[::-1]
    left = floor / 3                       # identical pairs get no bar, just the text "0"
    ax_r.barh(rows, np.where(diff > 0, np.maximum(diff, floor) - left, 0.0), left=left,
              color=COLORS["green"], height=0.6)
    ax_r.axvline(eps, color=COLORS["vermillion"], ls="--", lw=1.2)
    for row, d in zip(rows, diff):
        ax_r.text(max(d, floor) * 1.6, row, f"{d:.1e}" if d > 0 else "0 (identical)",
                  va="center", fontsize=8)
    ax_r.set_xscale("log")
    ax_r.set_xlim(left, max(1e-12, float(diff.max()) * 1e3))
    ax_r.set_yticks(rows, [f"{i + 1}: {s}" for i, s in enumerate(labels)])
    ax_r.grid(False, axis="y")
    ax_r.set_xlabel("|closed form − quadrature|   (dashed: float64 machine ε)")
    ax_r.set_title("Absolute difference")
    return finish(fig, path)


@styled
def plot_elbo_gap(steps, log_evidence, elbo, path=None):
    """The gap picture: log p(x) stays flat while the ELBO climbs (chapter 06, D6.5).

    With the model ``θ`` fixed, ``log p(x) = ELBO(φ) + KL(q_φ(z|x) ‖ p(z|x))`` (D6.2), and
    ``log p(x)`` does not depend on ``φ``: every nat the ELBO gains is a nat less of KL
    between the approximate and the true posterior. The shaded band is that KL.

    Parameters
    ----------
    steps : array_like, shape (m,)
        Optimisation steps (increasing).
    log_evidence : float or array_like, shape (m,)
        ``log p(x)`` in nats; a single number when ``θ`` is fixed.
    elbo : array_like, shape (m,)
        The ELBO at each step, in nats.
    path : str or Path, optional

    Returns
    -------
    matplotlib.figure.Figure
        One axes with two lines and the shaded, labelled gap.

    Examples
    --------
    >>> steps = np.arange(50)
    >>> fig = plot_elbo_gap(steps, -3.2, -3.2 - 2.0 * np.exp(-steps / 10))
    """
    steps = check_1d(steps, "steps")
    if steps.size < 2 or np.any(np.diff(steps) <= 0):
        raise ValueError("steps: expected at least 2 strictly increasing values")
    elbo = check_1d(elbo, "elbo", size=steps.size, size_of="steps")
    logp = as_float_array(log_evidence, "log_evidence")
    if logp.ndim == 0:
        logp = np.full(steps.size, float(logp))
    elif logp.shape != steps.shape:
        raise ValueError(f"log_evidence: expected a number or shape {steps.shape} "
                         f"(the shape of steps), got {logp.shape}")
    fig, ax = new_figure(figsize=(6.2, 3.9))
    ax.fill_between(steps, elbo, logp, color=COLORS["orange"], alpha=0.3, lw=0)
    ax.plot(steps, logp, color=COLORS["black"], lw=2, label=r"$\log p(x)$")
    ax.plot(steps, elbo, color=COLORS["blue"], label=r"ELBO $\mathcal{L}(q)$")
    # Measure the gap where it has closed to half its largest size (visible, off the edge)
    # and write the label in the empty lower middle of the axes, pointing at that arrow.
    gap = logp - elbo
    i = int(np.argmax(gap <= 0.5 * gap.max())) if gap.max() > 0 else 0
    i = min(max(i, 1), steps.size - 1)
    ax.annotate("", xy=(steps[i], logp[i]), xytext=(steps[i], elbo[i]),
                arrowprops=dict(arrowstyle="<->", color="0.25", lw=1.2,
                                shrinkA=0, shrinkB=0))
    ax.annotate(r"gap $= \mathrm{KL}(q(z\,|\,x)\,\|\,p(z\,|\,x))$",
                xy=(steps[i], 0.5 * (logp[i] + elbo[i])), xytext=(0.42, 0.3),
                textcoords="axes fraction", fontsize=10, va="center",
                arrowprops=dict(arrowstyle="->", color="0.4", lw=1,
                                connectionstyle="arc3,rad=0.2"))
    span = float(max(logp.max(), elbo.max()) - min(logp.min(), elbo.min())) or 1.0
    ax.set_ylim(min(logp.min(), elbo.min()) - 0.08 * span,
                max(logp.max(), elbo.max()) + 0.2 * span)
    ax.set_xlim(steps[0], steps[-1])
    ax.set_xlabel(r"optimisation step (over $\phi$, with $\theta$ fixed)")
    ax.set_ylabel(NATS)
    ax.set_title("The ELBO rises towards a fixed log-evidence")
    ax.legend(loc="lower right")
    return finish(fig, path)


@styled
def plot_tradeoff(cs, recon, kl, path=None, *, recon_label=r"$\|x - \hat x\|^2$ per example"):
    """Reconstruction against KL as the decoder variance ``c`` varies (chapter 07, D7.5).

    A Gaussian decoder ``N(x; x̂, c I)`` turns ``−log p(x|z)`` into ``C ‖x − x̂‖²`` plus a
    constant with ``C = 1/(2c)``: a small ``c`` weights reconstruction heavily (low error,
    large KL), a large ``c`` lets the KL term win (blurry reconstructions, small KL) - the
    same dial as a β on the KL. The top axes of the first two panels give ``C``.

    Parameters
    ----------
    cs : array_like, shape (m,)
        Positive decoder variances.
    recon : array_like, shape (m,)
        Reconstruction error of the model trained with each ``c``.
    kl : array_like, shape (m,)
        Its KL term, in nats per example.
    path : str or Path, optional
    recon_label : str, keyword-only
        Axis label of the reconstruction error.

    Returns
    -------
    matplotlib.figure.Figure
        Three axes: error vs c, KL vs c, and KL vs error (the trade-off curve).
    """
    cs = check_1d(cs, "cs")
    _check_positive(cs, "cs", "variances")
    recon = check_1d(recon, "recon", size=cs.size, size_of="cs")
    kl = check_1d(kl, "kl", size=cs.size, size_of="cs")
    order = np.argsort(cs)
    cs, recon, kl = cs[order], recon[order], kl[order]
    fig, axes = new_figure(1, 3, figsize=(11.4, 3.7))

    def to_weight(c):
        with np.errstate(divide="ignore", invalid="ignore"):
            return 1.0 / (2.0 * np.asarray(c, dtype=float))

    for ax, values, label, color in ((axes[0], recon, recon_label, COLORS["blue"]),
                                     (axes[1], kl, rf"KL ({NATS} per example)",
                                      COLORS["vermillion"])):
        ax.plot(cs, values, "o-", color=color)
        ax.set_xscale("log")
        ax.set_xlabel(r"decoder variance $c$")
        ax.set_ylabel(label)
        top = ax.secondary_xaxis("top", functions=(to_weight, to_weight))
        top.set_xlabel(r"weight $C = 1/(2c)$")
    axes[0].set_title("Reconstruction error", fontsize=10)
    axes[1].set_title("KL term", fontsize=10)
    ax = axes[2]
    ax.plot(recon, kl, "o-", color=COLORS["green"])
    mid = 0.5 * (recon.min() + recon.max())
    # Label a point only if it is not crowded by the last labelled one (in axes fractions).
    u = (recon - recon.min()) / (np.ptp(recon) or 1.0)
    v = (kl - kl.min()) / (np.ptp(kl) or 1.0)
    last = None
    for i, (c, r, k) in enumerate(zip(cs, recon, kl)):
        if last is not None and np.hypot(u[i] - u[last], v[i] - v[last]) < 0.08:
            continue
        last = i
        right = r > mid                        # labels point inwards, never off the axes
        ax.annotate(f"c={c:g}", (r, k), xytext=(-6 if right else 6, 5),
                    textcoords="offset points", fontsize=8, ha="right" if right else "left")
    ax.margins(x=0.08, y=0.1)
    ax.set_xlabel(recon_label)
    ax.set_ylabel(rf"KL ({NATS} per example)")
    ax.set_title("The trade-off", fontsize=10)
    return finish(fig, path)
