"""Figures for chapters 08-11: estimator variance, evaluation at test time, diagnosing VAEs.

Like the other figure modules these draw numbers computed elsewhere, return a
:class:`matplotlib.figure.Figure` and write it to ``path`` when given. Log-probabilities are
in nats.
"""
from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Ellipse

from .._checks import as_float_array, check_positive_float
from ._style import COLORS, NATS, check_1d, finish, new_figure, styled

__all__ = ["plot_posterior_grid", "plot_iwae_curve", "plot_estimator_variance",
           "plot_gamma_trace", "plot_active_units"]


def _increasing(x, name: str, *, min_size: int = 1) -> np.ndarray:
    arr = check_1d(x, name)
    if arr.size < min_size or np.any(np.diff(arr) <= 0):
        raise ValueError(f"{name}: expected at least {min_size} strictly increasing values")
    return arr


@styled
def _zoom_window(z1, z2, rel, mean, sigma, pad=0.25):
    """A square view holding the posterior's mass (``rel > 1e-3``) and q's 3σ box, padded by
    ``pad`` of its width and clipped to the grid: a posterior much narrower than the grid would
    otherwise be a dot in a large empty square."""
    jj, ii = np.nonzero(rel > 1e-3)
    lo = np.minimum([z1[ii].min(), z2[jj].min()], mean - 3 * sigma)
    hi = np.maximum([z1[ii].max(), z2[jj].max()], mean + 3 * sigma)
    centre, half = (lo + hi) / 2, (1 + pad) * np.max(hi - lo) / 2
    return ((max(centre[0] - half, z1[0]), min(centre[0] + half, z1[-1])),
            (max(centre[1] - half, z2[0]), min(centre[1] + half, z2[-1])))


def plot_posterior_grid(z1, z2, log_post, q_mean, q_logvar, path=None, *, zoom=True):
    """The true posterior on a grid with the Gaussian approximation's ellipses (D10.3).

    With a 2-D latent space ``p(z|x) ∝ p(x|z) p(z)`` can be tabulated on a grid and compared
    with the encoder's ``q(z|x) = N(μ, diag σ²)``: the 1σ and 2σ ellipses of ``q`` drawn on the
    true posterior's filled contours show where the approximation misses, which is the KL gap
    ``log p(x) − ELBO``.

    Parameters
    ----------
    z1 : array_like, shape (n1,)
        Increasing grid along ``z_1`` (horizontal).
    z2 : array_like, shape (n2,)
        Increasing grid along ``z_2`` (vertical).
    log_post : array_like, shape (n2, n1)
        ``log p(z|x)`` up to an additive constant, ``log_post[j, i]`` at ``(z1[i], z2[j])``
        (the layout of ``np.meshgrid(z1, z2)``).
    q_mean : array_like, shape (2,)
        ``μ`` of ``q(z|x)``.
    q_logvar : array_like, shape (2,)
        ``log σ²`` of ``q(z|x)``.
    path : str or Path, optional
    zoom : bool, default True
        Show only the square around the posterior's mass and q's 3σ box (with a margin);
        ``False`` shows the whole grid.

    Returns
    -------
    matplotlib.figure.Figure
        The contour axes and its colour bar axes; the ellipses are two patches.

    Examples
    --------
    >>> g = np.linspace(-3, 3, 121)
    >>> Z1, Z2 = np.meshgrid(g, g)
    >>> fig = plot_posterior_grid(g, g, -0.5 * (Z1**2 + Z2**2 + Z1 * Z2), [0, 0], [0, 0])
    """
    z1 = _increasing(z1, "z1", min_size=2)
    z2 = _increasing(z2, "z2", min_size=2)
    log_post = as_float_array(log_post, "log_post")
    if log_post.shape != (z2.size, z1.size):
        raise ValueError(f"log_post: expected shape (len(z2), len(z1)) = "
                         f"({z2.size}, {z1.size}), got {log_post.shape}")
    mean = check_1d(q_mean, "q_mean", size=2, size_of="a 2-D latent")
    logvar = check_1d(q_logvar, "q_logvar", size=2, size_of="a 2-D latent")
    rel = np.exp(log_post - log_post.max())      # posterior relative to its mode, in (0, 1]
    fig, ax = new_figure(figsize=(5.6, 4.6))
    filled = ax.contourf(z1, z2, rel, levels=np.linspace(0, 1, 11), cmap="Blues")
    fig.colorbar(filled, ax=ax, label=r"$p(z\,|\,x)\;/\;\max_z p(z\,|\,x)$")
    sigma = np.exp(0.5 * logvar)
    for k, style in ((1, "-"), (2, "--")):
        ax.add_patch(Ellipse(tuple(mean), 2 * k * sigma[0], 2 * k * sigma[1], fill=False,
                             ec=COLORS["vermillion"], lw=2, ls=style))
    j, i = np.unravel_index(np.argmax(log_post), log_post.shape)
    ax.plot(z1[i], z2[j], "+", color="black", markersize=11, mew=2)
    ax.plot(*mean, "x", color=COLORS["vermillion"], markersize=8, mew=2)
    handles = [Line2D([], [], color=COLORS["vermillion"], lw=2, ls="-",
                      label=r"$q(z\,|\,x)$: 1$\sigma$"),
               Line2D([], [], color=COLORS["vermillion"], lw=2, ls="--", label=r"2$\sigma$"),
               Line2D([], [], color="black", marker="+", ls="", markersize=10, mew=2,
                      label="posterior mode (grid)")]
    ax.legend(handles=handles, loc="upper left", fontsize=8)
    xlim, ylim = (_zoom_window(z1, z2, rel, mean, sigma) if zoom
                  else ((z1[0], z1[-1]), (z2[0], z2[-1])))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.grid(False)
    ax.set_xlabel(r"$z_1$")
    ax.set_ylabel(r"$z_2$")
    ax.set_title(r"True posterior $p(z\,|\,x)$ and its Gaussian $q(z\,|\,x)$")
    return finish(fig, path)


@styled
def plot_iwae_curve(ks, estimates, stderr=None, reference=None, path=None, *,
                    reference_label=r"$\log p(x)$", ylabel=None):
    """The importance-weighted bound IWAE_K rising towards log p(x) (chapter 10, D10.2).

    ``IWAE_K = E[log (1/K) Σ_k p(x, z_k) / q(z_k|x)]`` with ``z_k ~ q(z|x)`` equals the ELBO at
    ``K = 1``, never decreases with ``K``, and tends to ``log p(x)``.

    Parameters
    ----------
    ks : array_like of int, shape (m,)
        Increasing numbers of importance samples (drawn on a log2 axis).
    estimates : array_like, shape (m,)
        The bound for each ``K``, in nats (e.g. averaged over a test set).
    stderr : array_like, shape (m,), optional
        Standard errors, drawn as ±1 error bars.
    reference : float, optional
        A horizontal line, e.g. the exact ``log p(x)`` of a tractable model.
    path : str or Path, optional
    reference_label : str, keyword-only
    ylabel : str, keyword-only
        Default "nats per example"; e.g. ``"IWAE_K − log p(x) (nats)"`` when ``estimates`` are
        differences from each example's own ``log p(x)`` (then ``reference=0``).

    Returns
    -------
    matplotlib.figure.Figure
        One axes.

    Examples
    --------
    >>> fig = plot_iwae_curve([1, 4, 16, 64], [-95.1, -93.0, -92.2, -91.9], reference=-91.5)
    """
    ks = _increasing(ks, "ks")
    if np.any(ks < 1) or np.any(ks != np.round(ks)):
        raise ValueError("ks: expected positive whole numbers of samples")
    est = check_1d(estimates, "estimates", size=ks.size, size_of="ks")
    fig, ax = new_figure(figsize=(5.6, 3.9))
    if stderr is not None:
        err = check_1d(stderr, "stderr", size=ks.size, size_of="ks")
        if np.any(err < 0):
            raise ValueError("stderr: expected non-negative standard errors")
        ax.errorbar(ks, est, yerr=err, fmt="o-", color=COLORS["blue"], capsize=3,
                    label=r"IWAE$_K$ $\pm$ 1 s.e.")
    else:
        ax.plot(ks, est, "o-", color=COLORS["blue"], label=r"IWAE$_K$")
    if reference is not None:
        ref = as_float_array(reference, "reference")
        if ref.ndim != 0:
            raise ValueError(f"reference: expected a single number, got shape {ref.shape}")
        ax.axhline(float(ref), color=COLORS["black"], ls="--", lw=1.5, label=reference_label)
    ax.set_xscale("log", base=2)
    ax.set_xticks(ks, [f"{int(k)}" for k in ks])
    ax.minorticks_off()
    ax.set_xlabel(r"number of importance samples $K$")
    ax.set_ylabel(f"{NATS} per example" if ylabel is None else ylabel)
    ax.set_title(r"IWAE$_K$: ELBO at $K=1$, tighter as $K$ grows")
    ax.legend(loc="lower right")
    return finish(fig, path)


@styled
def plot_estimator_variance(names, variances, path=None, *, ylabel="variance of the estimate"):
    """Variances of gradient estimators side by side on a log axis (chapter 08, D8.2).

    Both the score-function (REINFORCE) estimator ``f(z) ∇ log q(z)`` and the pathwise
    (reparameterised) estimator ``∇ f(μ + σ ε)`` are unbiased; the bars compare how much each
    scatters around the true gradient. Each bar is labelled with its value.

    Parameters
    ----------
    names : sequence of str, length m
    variances : array_like, shape (m,)
        Positive variances (per single-sample estimate, or of the averaged estimator).
    path : str or Path, optional
    ylabel : str, keyword-only

    Returns
    -------
    matplotlib.figure.Figure
        One axes with ``m`` bars.

    Examples
    --------
    >>> fig = plot_estimator_variance(["score function", "pathwise"], [41.3, 0.52])
    """
    if isinstance(names, str) or not all(isinstance(s, str) for s in names) or not names:
        raise ValueError("names: expected a non-empty sequence of strings")
    names = list(names)
    var = check_1d(variances, "variances", size=len(names), size_of="names")
    if np.any(var <= 0):
        raise ValueError("variances: expected positive values (log scale)")
    palette = [COLORS[c] for c in ("vermillion", "blue", "green", "orange", "sky", "purple")]
    fig, ax = new_figure(figsize=(max(4.2, 1.3 * len(names) + 1.6), 3.8))
    pos = np.arange(len(names))
    ax.bar(pos, var, color=[palette[i % len(palette)] for i in pos], width=0.6)
    for x, v in zip(pos, var):
        ax.text(x, v * 1.15, f"{v:.3g}", ha="center", va="bottom", fontsize=9)
    ax.set_yscale("log")
    ax.set_ylim(var.min() / 3, var.max() * 6)
    ax.set_xticks(pos, names)
    ax.grid(False, axis="x")
    ax.set_ylabel(ylabel)
    ax.set_title("Gradient estimators: same mean, different variance")
    return finish(fig, path)


@styled
def plot_gamma_trace(epochs, gamma, path=None):
    """The learned decoder variance γ over training, on a log axis (chapter 11, D11.2).

    With ``p(x|z) = N(x; x̂(z), γ I)`` and data on a low-dimensional manifold, the optimum
    drives γ towards 0 (Dai & Wipf, *Diagnosing and Enhancing VAE Models*): the trace keeps
    falling instead of levelling off.

    Parameters
    ----------
    epochs : array_like, shape (m,)
        Increasing epochs (or steps).
    gamma : array_like, shape (m,)
        Positive γ at each epoch.
    path : str or Path, optional

    Returns
    -------
    matplotlib.figure.Figure
        One axes.

    Examples
    --------
    >>> fig = plot_gamma_trace(np.arange(1, 31), 0.5 * 0.8 ** np.arange(30))
    """
    epochs = _increasing(epochs, "epochs")
    gamma = check_1d(gamma, "gamma", size=epochs.size, size_of="epochs")
    if np.any(gamma <= 0):
        raise ValueError("gamma: expected positive variances")
    fig, ax = new_figure(figsize=(5.4, 3.7))
    ax.plot(epochs, gamma, "o-" if epochs.size <= 40 else "-", color=COLORS["purple"],
            markersize=3.5)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(r"decoder variance $\gamma$")
    ax.set_title(r"Learned $\gamma$ heads to 0 on manifold data")
    return finish(fig, path)


@styled
def plot_active_units(kl_per_dim, threshold, path=None, *, sort=True,
                      ylabel=rf"KL per dimension ({NATS})"):
    """Per-dimension KL of the latent units, active ones highlighted (chapter 11, D11.4).

    A collapsed unit has ``q(z_j|x) ≈ p(z_j)`` for every ``x``: its average KL is near 0 and it
    carries no information. Units above ``threshold`` count as active. Any other per-unit
    activity measure (e.g. ``Cov_x E_q[z_j]`` of *Importance Weighted Autoencoders*) works too.

    Parameters
    ----------
    kl_per_dim : array_like, shape (d,)
        Non-negative KL (or activity) of each latent dimension, averaged over data.
    threshold : float
        Positive activity threshold.
    path : str or Path, optional
    sort : bool, keyword-only
        Order the bars from most to least active (tick labels keep the dimension index).
    ylabel : str, keyword-only

    Returns
    -------
    matplotlib.figure.Figure
        One axes with ``d`` bars and the threshold line; the title counts the active units.

    Examples
    --------
    >>> fig = plot_active_units([2.1, 1.7, 1e-4, 3e-5, 0.9], threshold=0.01)
    """
    kl = check_1d(kl_per_dim, "kl_per_dim")
    if np.any(kl < 0):
        raise ValueError("kl_per_dim: expected non-negative values")
    threshold = check_positive_float(threshold, "threshold")
    order = np.argsort(-kl, kind="stable") if sort else np.arange(kl.size)
    values = kl[order]
    active = values > threshold
    positive = values[values > 0]
    floor = min(threshold, positive.min() if positive.size else threshold) / 10
    fig, ax = new_figure(figsize=(min(11.0, max(4.6, 0.28 * kl.size + 1.8)), 3.7))
    pos = np.arange(kl.size)
    ax.bar(pos, np.maximum(values, floor), bottom=0, width=0.75,
           color=np.where(active, COLORS["blue"], COLORS["grey"]))
    ax.axhline(threshold, color=COLORS["vermillion"], ls="--", lw=1.3,
               label=f"threshold {threshold:g}")
    ax.set_yscale("log")
    ax.set_ylim(floor / 2, max(values.max(), threshold) * 3)
    ax.set_xlim(-0.6, kl.size - 0.4)
    step = max(1, -(-kl.size // 32))
    ax.set_xticks(pos[::step], [str(j) for j in order[::step]],
                  fontsize=8 if kl.size > 16 else 9)
    ax.grid(False, axis="x")
    ax.set_xlabel("latent dimension" + (" (sorted by activity)" if sort else ""))
    ax.set_ylabel(ylabel)
    ax.set_title(f"{int(active.sum())} of {kl.size} latent units active")
    ax.legend(handles=[Line2D([], [], color=COLORS["blue"], lw=6, label="active"),
                       Line2D([], [], color=COLORS["grey"], lw=6, label="inactive"),
                       Line2D([], [], color=COLORS["vermillion"], ls="--",
                              label=f"threshold {threshold:g}")],
              loc="upper right", fontsize=8)
    return finish(fig, path)
