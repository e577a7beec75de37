"""The two figures of chapters 12 and 13: they draw what they are given and reject bad input."""
from __future__ import annotations

import numpy as np
import pytest

from elbo_edu.plots.beyond_figures import plot_gap_decomposition, plot_rate_distortion


def test_gap_figure_stacks_the_two_gaps(tmp_path):
    a, b, c = np.array([0.1, 0.2]), np.array([0.3, 0.1]), np.array([0.42, 0.28])
    fig = plot_gap_decomposition(a, b, c, path=tmp_path / "gap.png", stderr=[0.01, 0.02])
    bars = fig.axes[0].patches
    assert len(bars) == 4                                   # two stacks of two
    tops = sorted(p.get_y() + p.get_height() for p in bars)
    assert np.allclose(tops[-2:], sorted(a + b))
    assert (tmp_path / "gap.png").stat().st_size > 0
    with pytest.raises(ValueError, match="amortisation"):
        plot_gap_decomposition(a, b[:1], c)


def test_rate_distortion_figure_places_the_measured_points(tmp_path):
    betas, r, d = [0.5, 1.0, 2.0], [4.0, 2.0, 0.5], [40.0, 41.5, 43.5]
    fig = plot_rate_distortion(betas, r, d, path=tmp_path / "rd.png")
    line = [ln for ln in fig.axes[0].lines if ln.get_marker() == "o"][0]
    assert np.allclose(line.get_xdata(), r) and np.allclose(line.get_ydata(), d)
    with pytest.raises(ValueError, match="distortion"):
        plot_rate_distortion(betas, r, d[:2])
