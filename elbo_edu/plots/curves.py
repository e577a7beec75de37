"""Training curves from the per-epoch metric records that ``elbo-edu train`` writes.

A record is one dict per epoch, as stored line by line in ``metrics.jsonl``. The loss is the
negative ELBO, ``−ELBO = −E_q[log p(x|z)] + KL(q(z|x) ‖ p(z))`` in nats per example
(chapter 06, D6.3), so the three panels drawn here add up: loss = reconstruction + KL.
"""
from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np

from ._style import NATS, TEST_COLOR, TRAIN_COLOR, finish, new_figure, styled

__all__ = ["plot_curves", "CURVE_PANELS"]

#: (key stem, panel title) for each panel, in order; a panel is drawn when any of its keys exists.
CURVE_PANELS = (
    ("loss", r"negative ELBO  $-\mathcal{L}$"),
    ("recon", r"reconstruction  $-\mathbb{E}_q[\log p(x\,|\,z)]$"),
    ("kl", r"$\mathrm{KL}(q(z\,|\,x)\,\|\,p(z))$"),
)


def _series(metrics, key: str):
    """(epochs, values) of the records that hold ``key`` with a non-None value."""
    xs, ys = [], []
    for i, record in enumerate(metrics):
        value = record.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"metrics[{i}][{key!r}]: expected a number, got {value!r}")
        epoch = record.get("epoch", i + 1)
        if isinstance(epoch, bool) or not isinstance(epoch, numbers.Real):
            raise ValueError(f"metrics[{i}]['epoch']: expected a number, got {epoch!r}")
        xs.append(float(epoch))
        ys.append(float(value))
    return np.array(xs), np.array(ys)


def _fmt(value: float) -> str:
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3g}"


@styled
def plot_curves(metrics, path=None):
    """Train and test curves of the negative ELBO, reconstruction term and KL term.

    Parameters
    ----------
    metrics : list of dict
        One record per epoch with any of the keys ``epoch``, ``train_loss``, ``test_loss``,
        ``train_recon``, ``test_recon``, ``train_kl``, ``test_kl`` (values in nats per
        example). Missing keys or ``None`` values are skipped; without ``epoch`` the records
        are numbered 1, 2, ...
    path : str or Path, optional
        Where to write the PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per quantity present (up to three), each with a train (solid) and a test
        (dashed) line where available.

    Examples
    --------
    >>> import json
    >>> records = [json.loads(line) for line in open("run/metrics.jsonl")]  # doctest: +SKIP
    >>> fig = plot_curves(records, path="run/curves.png")                    # doctest: +SKIP
    """
    if isinstance(metrics, Mapping) or not isinstance(metrics, (list, tuple)) or not metrics:
        raise ValueError(f"metrics: expected a non-empty list of per-epoch dicts, "
                         f"got {type(metrics).__name__}")
    for i, record in enumerate(metrics):
        if not isinstance(record, Mapping):
            raise ValueError(f"metrics[{i}]: expected a dict, got {type(record).__name__}")
    panels = []
    for stem, title in CURVE_PANELS:
        lines = [(split, *_series(metrics, f"{split}_{stem}")) for split in ("train", "test")]
        lines = [line for line in lines if line[1].size]
        if lines:
            panels.append((title, lines))
    if not panels:
        raise ValueError("metrics: no record holds any of train_loss, test_loss, train_recon, "
                         "test_recon, train_kl, test_kl")
    fig, axes = new_figure(1, len(panels), figsize=(3.6 * len(panels) + 0.4, 3.3))
    axes = np.atleast_1d(axes)
    for ax, (title, lines) in zip(axes, panels):
        for split, xs, ys in lines:
            color, style = (TRAIN_COLOR, "-") if split == "train" else (TEST_COLOR, "--")
            marker = "o" if len(xs) <= 30 else None
            ax.plot(xs, ys, style, color=color, marker=marker, markersize=3.5,
                    label=f"{split} (last: {_fmt(ys[-1])})")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"{NATS} per example")
        ax.legend()
        if all(float(x).is_integer() for _, xs, _ in lines for x in xs):
            ax.xaxis.get_major_locator().set_params(integer=True)
    return finish(fig, path)
