"""Figures for the chapters and for ``elbo-edu train``: matplotlib only, no pyplot, no display.

Every function takes arrays (or a decoder callable), returns a
:class:`matplotlib.figure.Figure` - it shows itself as the last value of a notebook cell - and,
when ``path`` is given, also writes the image there atomically (see :func:`save_figure`).

Modules, one concept each:

* :mod:`.vae_figures` - images: :func:`plot_reconstructions`, :func:`plot_samples`,
  :func:`plot_manifold`;
* :mod:`.curves` - :func:`plot_curves` from the per-epoch ``metrics.jsonl`` records;
* :mod:`.scatter_figures` - 2-D point clouds: :func:`plot_latent_scatter`,
  :func:`plot_points`, :func:`plot_density_2d`;
* :mod:`.derivation_figures` - chapters 03-07: :func:`plot_ring_map`,
  :func:`plot_naive_evidence_error`, :func:`plot_kl_fits`, :func:`plot_quadrature_check`,
  :func:`plot_elbo_gap`, :func:`plot_tradeoff`;
* :mod:`.evaluation_figures` - chapters 08-11: :func:`plot_estimator_variance`,
  :func:`plot_iwae_curve`, :func:`plot_posterior_grid`, :func:`plot_gamma_trace`,
  :func:`plot_active_units`;
* :mod:`._style` - the shared figure factory, colours and :func:`save_figure`.

Example
-------
>>> import numpy as np
>>> from elbo_edu.plots import plot_samples
>>> fig = plot_samples(np.random.default_rng(0).random((16, 784)), nrow=8)
>>> len(fig.axes)
1
"""
from ._style import save_figure, tile_images
from .curves import plot_curves
from .derivation_figures import (plot_elbo_gap, plot_kl_fits, plot_naive_evidence_error,
                                 plot_quadrature_check, plot_ring_map, plot_tradeoff)
from .evaluation_figures import (plot_active_units, plot_estimator_variance, plot_gamma_trace,
                                 plot_iwae_curve, plot_posterior_grid)
from .scatter_figures import (plot_density_2d, plot_latent_scatter, plot_points,
                              plot_samples_on_data)
from .vae_figures import normal_quantile_grid, plot_manifold, plot_reconstructions, plot_samples

__all__ = [
    "save_figure", "tile_images", "normal_quantile_grid",
    "plot_reconstructions", "plot_samples", "plot_curves", "plot_latent_scatter",
    "plot_manifold", "plot_points", "plot_samples_on_data", "plot_density_2d",
    "plot_ring_map", "plot_naive_evidence_error", "plot_kl_fits", "plot_quadrature_check",
    "plot_elbo_gap", "plot_tradeoff",
    "plot_posterior_grid", "plot_iwae_curve", "plot_estimator_variance", "plot_gamma_trace",
    "plot_active_units",
]
