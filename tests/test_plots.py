"""Tests of elbo_edu.plots: every figure is built from the arrays it was given, writes a real PNG,
and rejects malformed input with a ValueError naming the argument.

The figures are checked through what they hold (axes, lines, images, patches, texts) and, where
a figure encodes a computation (tile layout, manifold grid, PCA projection, ellipse radii), by
computing the same thing a second way.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse, Rectangle

from elbo_edu import plots
from elbo_edu.plots import (normal_quantile_grid, plot_active_units, plot_curves,
                            plot_density_2d, plot_elbo_gap, plot_estimator_variance,
                            plot_gamma_trace, plot_iwae_curve, plot_kl_fits, plot_latent_scatter,
                            plot_manifold, plot_naive_evidence_error, plot_points,
                            plot_posterior_grid, plot_quadrature_check, plot_reconstructions,
                            plot_ring_map, plot_samples, plot_samples_on_data, plot_tradeoff,
                            save_figure, tile_images)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _assert_png(path: Path) -> None:
    data = Path(path).read_bytes()
    assert len(data) > 1000 and data[:8] == PNG_SIGNATURE


def _main_axes(fig: Figure):
    """Axes that are not colour bars."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


# One realistic call per public function: (figure function, args, kwargs, number of axes)
_R = np.random.default_rng(0)
_IMGS = _R.random((10, 784))
_G = np.linspace(-3, 3, 41)
_G1, _G2 = np.meshgrid(_G, _G)
_METRICS = [dict(epoch=e, train_loss=150 / e + 100, test_loss=150 / e + 102,
                 train_recon=120 / e + 80, test_recon=120 / e + 81, train_kl=20 + e,
                 test_kl=20.5 + e, seconds=1.0) for e in range(1, 6)]
_KS = np.array([1, 2, 4, 8, 16])

CASES = {
    "reconstructions": (plot_reconstructions, (_IMGS, 1 - _IMGS), {"n": 6}, 2),
    "samples": (plot_samples, (_IMGS,), {"nrow": 5}, 1),
    "curves": (plot_curves, (_METRICS,), {}, 3),
    "latent_scatter": (plot_latent_scatter, (_R.normal(size=(300, 2)), _R.integers(0, 10, 300)),
                       {}, 1),
    "manifold": (plot_manifold, (lambda z: np.full((len(z), 784), 0.5),), {"n": 5}, 1),
    "points": (plot_points, (_R.normal(size=(200, 2)),), {}, 1),
    "samples_on_data": (plot_samples_on_data, (_R.normal(size=(200, 2)), _R.normal(size=(300, 2))),
                        {}, 1),
    "density_2d": (plot_density_2d, (_G, _G, np.exp(-(_G1**2 + _G2**2) / 2)), {}, 1),
    "ring_map": (plot_ring_map, (_R.normal(size=(300, 2)), _R.normal(size=(300, 2))), {}, 2),
    "naive_evidence": (plot_naive_evidence_error, ([1, 2, 4, 8], [0.01, 0.05, 0.3, 2.0]), {}, 1),
    "kl_fits": (plot_kl_fits, (_G, np.exp(-_G**2), np.exp(-_G**2 / 4), np.exp(-(_G - 1)**2)),
                {}, 1),
    "quadrature": (plot_quadrature_check, (["a", "b", "c"], [1.0, 2.0, 3.0],
                                           [1.0, 2.0 + 4e-16, 3.0 - 1e-15]), {}, 2),
    "elbo_gap": (plot_elbo_gap, (np.arange(30), -5.0, -5.0 - np.exp(-np.arange(30) / 5)), {}, 1),
    "tradeoff": (plot_tradeoff, ([0.01, 0.1, 1.0], [5.0, 20.0, 60.0], [40.0, 15.0, 1.0]), {}, 3),
    "posterior_grid": (plot_posterior_grid, (_G, _G, -(_G1**2 + _G2**2), [0.1, 0.2],
                                             [-1.0, -0.5]), {}, 1),
    "iwae": (plot_iwae_curve, (_KS, -90 - 4 / _KS), {"reference": -89.5}, 1),
    "estimator_variance": (plot_estimator_variance, (["score", "pathwise"], [40.0, 0.5]), {}, 1),
    "gamma_trace": (plot_gamma_trace, (np.arange(1, 11), 0.5 ** np.arange(10)), {}, 1),
    "active_units": (plot_active_units, ([2.0, 1e-4, 0.5, 0.0, 3e-3], 0.01), {}, 1),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_figure_returns_a_figure_and_writes_a_png(name, tmp_path):
    func, args, kwargs, n_axes = CASES[name]
    target = tmp_path / "sub" / f"{name}.png"
    fig = func(*args, path=target, **kwargs)
    assert isinstance(fig, Figure)
    assert len(_main_axes(fig)) == n_axes
    assert all(ax.get_title() or fig.get_suptitle() for ax in _main_axes(fig))
    _assert_png(target)
    assert [p.name for p in target.parent.iterdir()] == [target.name]   # no temp file left


def test_figures_without_path_write_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fig = plot_samples(_IMGS)
    assert isinstance(fig, Figure) and list(tmp_path.iterdir()) == []


def test_notebook_display_is_a_png():
    fig = plot_gamma_trace([1, 2, 3], [1.0, 0.1, 0.01])
    assert fig._repr_png_()[:8] == PNG_SIGNATURE


def test_no_pyplot_and_no_global_style_change():
    # In a fresh interpreter: building and saving every kind of figure never imports pyplot
    # (which would pick a GUI backend and keep figures alive globally).
    code = ("import sys, numpy as np, tempfile, os\n"
            "from elbo_edu.plots import plot_samples, plot_curves\n"
            "d = tempfile.mkdtemp()\n"
            "plot_samples(np.random.default_rng(0).random((4, 784)), path=os.path.join(d, 'a.png'))\n"
            "plot_curves([{'epoch': 1, 'train_loss': 1.0}], path=os.path.join(d, 'b.png'))\n"
            "assert 'matplotlib.pyplot' not in sys.modules\n")
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)
    before = dict(matplotlib.rcParams)
    plot_tradeoff([0.1, 1.0], [1.0, 2.0], [2.0, 1.0])
    assert dict(matplotlib.rcParams) == before


# save_figure: atomic, permissions, formats
def test_save_figure_replaces_atomically_and_cleans_up_on_failure(tmp_path, monkeypatch):
    fig = plot_gamma_trace([1, 2], [1.0, 0.5])
    target = tmp_path / "fig.png"
    target.write_bytes(b"old")
    assert save_figure(fig, target) == target
    _assert_png(target)

    def broken(handle, **kwargs):
        handle.write(b"half a png")
        raise RuntimeError("disk full")

    good = target.read_bytes()
    monkeypatch.setattr(fig, "savefig", broken)
    with pytest.raises(RuntimeError):
        save_figure(fig, target)
    assert target.read_bytes() == good                  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["fig.png"]


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_saved_file_mode_follows_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = save_figure(plot_gamma_trace([1, 2], [1.0, 0.5]), tmp_path / "f.png")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("suffix, magic", [(".pdf", b"%PDF"), (".svg", b"<?xml")])
def test_save_figure_other_formats(tmp_path, suffix, magic):
    path = save_figure(plot_gamma_trace([1, 2], [1.0, 0.5]), tmp_path / f"f{suffix}")
    assert path.read_bytes()[:len(magic)] == magic


def test_save_figure_rejects_bad_arguments(tmp_path):
    fig = plot_gamma_trace([1, 2], [1.0, 0.5])
    with pytest.raises(ValueError, match="path"):
        save_figure(fig, tmp_path / "figure.jpg.txt")
    with pytest.raises(ValueError, match="path"):
        save_figure(fig, tmp_path / "no_suffix")
    with pytest.raises(ValueError, match="fig"):
        save_figure("not a figure", tmp_path / "f.png")


# Image grids: the tiles are exactly the input images, in order
def test_tile_images_places_each_image_and_nan_gaps():
    imgs = np.arange(5 * 3 * 2, dtype=float).reshape(5, 3, 2)
    out = tile_images(imgs, ncol=2, pad=1)
    assert out.shape == (3 * 4 - 1, 2 * 3 - 1)
    for i in range(5):
        r, c = divmod(i, 2)
        np.testing.assert_array_equal(out[r * 4:r * 4 + 3, c * 3:c * 3 + 2], imgs[i])
    assert np.isnan(out[3]).all() and np.isnan(out[:, 2]).all()
    assert np.isnan(out[8:, 3:]).all()                  # the unused sixth cell


def test_reconstructions_show_inputs_above_reconstructions():
    x = _R.random((5, 12))
    x_rec = _R.random((5, 3, 4))
    fig = plot_reconstructions(x, x_rec, shape=(3, 4), n=4)
    top, bottom = (ax.images[0].get_array() for ax in fig.axes)
    for i in range(4):
        np.testing.assert_array_equal(top[:, i * 5:i * 5 + 4], x[i].reshape(3, 4))
        np.testing.assert_array_equal(bottom[:, i * 5:i * 5 + 4], x_rec[i])
    assert fig.axes[0].images[0].get_clim() == (0.0, 1.0)   # grey levels on a fixed scale


def test_samples_grid_has_nrow_images_per_row_and_scales_other_ranges():
    x = np.linspace(-2, 5, 7 * 4).reshape(7, 4)
    fig = plot_samples(x, shape=(2, 2), nrow=3)
    arr = fig.axes[0].images[0].get_array()
    assert arr.shape == (3 * 3 - 1, 3 * 3 - 1)
    assert fig.axes[0].images[0].get_clim() == (-2.0, 5.0)


def test_normal_quantile_grid_matches_scipy_and_spans():
    from scipy.stats import norm
    for n in (1, 2, 15):
        probs = np.linspace(0.05, 0.95, n) if n > 1 else [0.5]
        np.testing.assert_allclose(normal_quantile_grid(n), norm.ppf(probs), atol=1e-12)
    np.testing.assert_allclose(normal_quantile_grid(5, span=2.0), np.linspace(-2, 2, 5))
    np.testing.assert_allclose(normal_quantile_grid(3, span=(0.0, 1.0)), [0.0, 0.5, 1.0])
    for bad in (-1.0, (1.0, 0.0), (0.0, 1.0, 2.0)):
        with pytest.raises(ValueError, match="span"):
            normal_quantile_grid(3, span=bad)


@pytest.mark.parametrize("z_dim", [2, 4])
def test_manifold_tile_r_c_is_the_decoding_of_z1_c_and_z2_reversed_r(z_dim):
    n, seen = 4, {}

    def decode(z):
        seen["z"] = z.copy()
        return np.repeat((np.arange(len(z)) / len(z))[:, None], 6, axis=1)   # image i = i/N

    fig = plot_manifold(decode, n=n, shape=(2, 3), z_dim=z_dim)
    grid = normal_quantile_grid(n)
    z = seen["z"]
    assert z.shape == (n * n, z_dim) and np.all(z[:, 2:] == 0)
    arr = fig.axes[0].images[0].get_array()
    for r in range(n):
        for c in range(n):
            i = r * n + c
            assert z[i, 0] == grid[c] and z[i, 1] == grid[n - 1 - r]
            np.testing.assert_array_equal(arr[2 * r:2 * r + 2, 3 * c:3 * c + 3], i / (n * n))


# Curves and scatters: the plotted data are the given numbers
def test_curves_plot_the_records_and_skip_missing_keys():
    records = [{"epoch": 1, "train_loss": 10.0, "test_loss": 12.0},
               {"epoch": 2, "train_loss": 8.0},
               {"epoch": 3, "train_loss": 7.0, "test_loss": 9.0, "train_kl": None}]
    fig = plot_curves(records)
    assert len(fig.axes) == 1                           # no recon / KL keys: one panel
    train, test = fig.axes[0].get_lines()
    np.testing.assert_array_equal(train.get_xydata(), [[1, 10], [2, 8], [3, 7]])
    np.testing.assert_array_equal(test.get_xydata(), [[1, 12], [3, 9]])
    assert fig.axes[0].get_ylabel() == "nats per example"
    fig = plot_curves([{"train_kl": 3.0}, {"train_kl": 4.0}])       # numbered without epoch
    np.testing.assert_array_equal(fig.axes[0].get_lines()[0].get_xdata(), [1, 2])


def test_latent_scatter_legend_for_digits_and_colourbar_for_continuous():
    z = _R.normal(size=(500, 2))
    fig = plot_latent_scatter(z, np.arange(500) % 10)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [str(d) for d in range(10)]
    np.testing.assert_array_equal(np.sort(ax.collections[0].get_offsets(), axis=0),
                                  np.sort(z, axis=0))
    fig = plot_latent_scatter(z, _R.random(500))
    assert len(fig.axes) == 2 and fig.axes[1].get_label() == "<colorbar>"


def test_latent_scatter_projects_onto_principal_components():
    z = _R.normal(size=(400, 5)) * np.array([3.0, 0.2, 2.0, 0.1, 0.5])
    fig = plot_latent_scatter(z)
    xy = np.asarray(fig.axes[0].collections[0].get_offsets())
    # Other side: the two largest eigenvalues of the sample covariance are the variances of the
    # projected coordinates, and the coordinates are uncorrelated.
    eig = np.sort(np.linalg.eigvalsh(np.cov(z.T)))[::-1][:2]
    np.testing.assert_allclose(np.cov(xy.T), np.diag(eig), atol=1e-10)


def test_points_and_density_draw_what_they_are_given():
    x = _R.normal(size=(50, 2))
    fig = plot_points(x, labels=np.arange(50) % 2)
    assert len(fig.axes[0].get_legend().get_texts()) == 2
    assert not fig.axes[0].texts                        # toy sets: no class-median labels
    dens = np.exp(-(_G1**2 + _G2**2))
    fig = plot_density_2d(_G, _G, dens, points=x)
    mesh = fig.axes[0].collections[0]
    np.testing.assert_array_equal(np.asarray(mesh.get_array()).reshape(dens.shape), dens)
    assert isinstance(fig.axes[0].collections[1], PathCollection)


def test_samples_on_data_draws_the_data_under_the_samples():
    samples, data = _R.normal(size=(40, 2)), _R.normal(size=(70, 2)) + 5
    ax = plot_samples_on_data(samples, data).axes[0]
    under, over = ax.collections
    np.testing.assert_array_equal(under.get_offsets(), data)
    np.testing.assert_array_equal(over.get_offsets(), samples)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["data (70)", "samples (40)"]
    with pytest.raises(ValueError, match="data: expected points of shape"):
        plot_samples_on_data(samples, np.zeros((5, 3)))


# Derivation figures
def test_ring_map_panels_hold_z_and_x():
    from elbo_edu.data import make_ring
    x, z = make_ring(200, np.random.default_rng(1), return_latent=True)
    fig = plot_ring_map(z, x)
    for ax, pts in zip(fig.axes, (z, x)):
        np.testing.assert_array_equal(ax.collections[0].get_offsets(), pts)


def test_naive_evidence_with_repetitions_draws_the_median():
    err = np.array([[0.1, 0.2, 0.3], [1.0, 2.0, 4.0]])
    fig = plot_naive_evidence_error([1, 2], err, n_samples=100)
    lines = fig.axes[0].get_lines()
    assert any(np.array_equal(ln.get_ydata(), [0.2, 2.0]) for ln in lines)
    assert fig.axes[0].get_yscale() == "log" and "100" in fig.axes[0].get_title()


def test_elbo_gap_is_shaded_between_the_curves():
    steps = np.arange(10)
    elbo = -3.0 - np.exp(-steps)
    fig = plot_elbo_gap(steps, -3.0, elbo)
    ax = fig.axes[0]
    assert any(isinstance(c, PolyCollection) for c in ax.collections)
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), np.full(10, -3.0))
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), elbo)
    assert any("KL" in t.get_text() for t in ax.texts)


def test_quadrature_check_reports_each_difference():
    fig = plot_quadrature_check(["p", "q"], [1.0, 2.0], [1.0, 2.0 + 2 ** -51])
    texts = [t.get_text() for t in fig.axes[1].texts]
    assert texts == ["0 (identical)", f"{2 ** -51:.1e}"]


def test_posterior_ellipses_have_1_and_2_sigma_radii():
    logvar = np.array([-1.0, 0.4])
    fig = plot_posterior_grid(_G, _G, -(_G1**2 + _G2**2), [0.3, -0.2], logvar)
    ellipses = [p for p in fig.axes[0].patches if isinstance(p, Ellipse)]
    sigma = np.sqrt(np.exp(logvar))
    for k, e in zip((1, 2), ellipses):
        np.testing.assert_allclose([e.width, e.height], 2 * k * sigma)
        np.testing.assert_allclose(e.center, [0.3, -0.2])


def test_iwae_curve_error_bars_and_reference():
    fig = plot_iwae_curve(_KS, -90 - 4 / _KS, stderr=np.full(5, 0.1), reference=-89.0)
    ax = fig.axes[0]
    assert len(ax.containers) == 1                      # the errorbar container
    assert any(np.all(np.asarray(ln.get_ydata()) == -89.0) for ln in ax.get_lines())
    assert ax.get_xscale() == "log"


def test_active_units_counts_and_colours():
    kl = np.array([2.0, 1e-4, 0.5, 0.0, 3e-3])
    fig = plot_active_units(kl, 0.01, sort=False)
    ax = fig.axes[0]
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == 5 and ax.get_title().startswith("2 of 5")
    active = [matplotlib.colors.to_hex(b.get_facecolor()) == plots._style.COLORS["blue"].lower()
              for b in bars]
    assert active == list(kl > 0.01)


def test_estimator_variance_and_gamma_values():
    fig = plot_estimator_variance(["a", "b", "c"], [3.0, 0.3, 30.0])
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights == [3.0, 0.3, 30.0]
    fig = plot_gamma_trace([1, 2, 3], [1.0, 0.1, 0.01])
    assert fig.axes[0].get_yscale() == "log"


# Bad input: ValueError naming the argument
_BAD = [
    (plot_reconstructions, (_IMGS, _IMGS[:5]), {}, "x_rec"),
    (plot_reconstructions, (_IMGS[:, :100], _IMGS[:, :100]), {}, "x"),
    (plot_reconstructions, (_IMGS, _IMGS), {"n": 0}, "n"),
    (plot_samples, (_IMGS,), {"shape": (28,)}, "shape"),
    (plot_samples, (_IMGS,), {"nrow": 2.5}, "nrow"),
    (plot_samples, (np.full((2, 784), np.nan),), {}, "x"),
    (plot_curves, ({"train_loss": 1.0},), {}, "metrics"),
    (plot_curves, ([],), {}, "metrics"),
    (plot_curves, ([{"epoch": 1, "seconds": 2.0}],), {}, "metrics"),
    (plot_curves, ([{"train_loss": "high"}],), {}, r"metrics\[0\]\['train_loss'\]"),
    (plot_curves, ([{"train_loss": 1.0}, 3],), {}, r"metrics\[1\]"),
    (plot_latent_scatter, (np.zeros((10, 1)),), {}, "z"),
    (plot_latent_scatter, (np.zeros((10, 2)), np.zeros(9)), {}, "labels"),
    (plot_manifold, ("not callable",), {}, "decode_fn"),
    (plot_manifold, (lambda z: np.zeros((len(z) - 1, 784)),), {"n": 3}, "decode_fn"),
    (plot_manifold, (lambda z: np.zeros((len(z), 784)),), {"z_dim": 1}, "z_dim"),
    (plot_points, (np.zeros((10, 3)),), {}, "x"),
    (plot_density_2d, (_G, _G, np.zeros((3, 3))), {}, "density"),
    (plot_density_2d, (_G[::-1], _G, np.zeros((41, 41))), {}, "x1"),
    (plot_ring_map, (np.zeros((5, 2)), np.zeros((4, 2))), {}, "x"),
    (plot_ring_map, (np.zeros((5, 3)), np.zeros((5, 3))), {}, "z"),
    (plot_naive_evidence_error, ([1, 2], [0.1]), {}, "rel_errors"),
    (plot_naive_evidence_error, ([1, 2], [0.1, 0.0]), {}, "rel_errors"),
    (plot_kl_fits, (_G, np.ones(41), np.ones(5), np.ones(41)), {}, "q_forward"),
    (plot_kl_fits, (_G, -np.ones(41), np.ones(41), np.ones(41)), {}, "p"),
    (plot_quadrature_check, (["a"], [1.0, 2.0], [1.0, 2.0]), {}, "closed_form"),
    (plot_quadrature_check, ("ab", [1.0, 2.0], [1.0, 2.0]), {}, "labels"),
    (plot_elbo_gap, (np.arange(5), np.zeros(4), np.zeros(5)), {}, "log_evidence"),
    (plot_elbo_gap, (np.arange(5), 0.0, np.zeros(6)), {}, "elbo"),
    (plot_elbo_gap, ([0.0], 0.0, [0.0]), {}, "steps"),
    (plot_tradeoff, ([0.0, 1.0], [1.0, 2.0], [1.0, 2.0]), {}, "cs"),
    (plot_tradeoff, ([0.1, 1.0], [1.0, 2.0], [1.0]), {}, "kl"),
    (plot_posterior_grid, (_G, _G, np.zeros((41, 40)), [0, 0], [0, 0]), {}, "log_post"),
    (plot_posterior_grid, (_G, _G, np.zeros((41, 41)), [0, 0, 0], [0, 0]), {}, "q_mean"),
    (plot_posterior_grid, (_G, _G, np.zeros((41, 41)), [0, 0], [[0, 0]]), {}, "q_logvar"),
    (plot_iwae_curve, ([1, 2.5, 4], [1.0, 2.0, 3.0]), {}, "ks"),
    (plot_iwae_curve, ([1, 2], [1.0, 2.0]), {"stderr": [0.1]}, "stderr"),
    (plot_iwae_curve, ([1, 2], [1.0, 2.0]), {"reference": [1.0, 2.0]}, "reference"),
    (plot_estimator_variance, (["a", "b"], [1.0, -1.0]), {}, "variances"),
    (plot_estimator_variance, ([1, 2], [1.0, 1.0]), {}, "names"),
    (plot_gamma_trace, ([1, 2, 3], [1.0, 0.0, 1.0]), {}, "gamma"),
    (plot_gamma_trace, ([1, 1, 3], [1.0, 1.0, 1.0]), {}, "epochs"),
    (plot_active_units, ([1.0, -0.1], 0.01), {}, "kl_per_dim"),
    (plot_active_units, ([1.0, 0.1], 0.0), {}, "threshold"),
]


@pytest.mark.parametrize("func, args, kwargs, name", _BAD,
                         ids=[f"{f.__name__}-{i}" for i, (f, *_r) in enumerate(_BAD)])
def test_bad_input_names_the_argument(func, args, kwargs, name):
    with pytest.raises(ValueError, match=f"^{name}"):
        func(*args, **kwargs)


def test_posterior_grid_zooms_to_the_mass_and_q():
    """A posterior much narrower than the grid is shown in a window holding its mass and q's 3σ."""
    g = np.linspace(-4, 4, 161)
    z1, z2 = np.meshgrid(g, g)
    log_post = -0.5 * ((z1 - 2.0) ** 2 + (z2 + 1.0) ** 2) / 0.1 ** 2
    mean, logvar = np.array([1.7, -1.0]), np.log([0.05 ** 2, 0.05 ** 2])
    ax = plot_posterior_grid(g, g, log_post, mean, logvar).axes[0]
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert x1 - x0 < 2.0 and y1 - y0 < 2.0                       # zoomed in from a width of 8
    rel = np.exp(log_post - log_post.max())
    inside = (z1 >= x0) & (z1 <= x1) & (z2 >= y0) & (z2 <= y1)
    assert rel[~inside].max() < 1e-3                             # the mass is in view
    assert x0 < mean[0] - 3 * 0.05 and x1 > mean[0] + 3 * 0.05   # and so is q's 3σ box
    full = plot_posterior_grid(g, g, log_post, mean, logvar, zoom=False).axes[0]
    assert full.get_xlim() == (-4.0, 4.0) and full.get_ylim() == (-4.0, 4.0)
