r"""Models beside the VAE: exact references and diagnostics (chapters 06, 10, 11).

linear_gaussian  LinearGaussian: closed-form evidence, posterior, ELBO and KL (D6.2)
elbo_ascent      ascend_elbo: ELBO rising, KL to the posterior shrinking, log p(x) fixed (D6.5)
grid             quadrature evidence and posterior for a 2-D latent space (D10.3)
"""
from .elbo_ascent import ELBOTrajectory, ascend_elbo
from .grid import Grid, GridPosterior, grid_log_evidence, grid_posterior, log_integral, make_grid
from .linear_gaussian import LinearGaussian

__all__ = ["LinearGaussian", "ELBOTrajectory", "ascend_elbo", "Grid", "make_grid", "log_integral",
           "GridPosterior", "grid_posterior", "grid_log_evidence"]
