r"""Models beside the VAE: exact references and diagnostics (chapters 06, 10, 11).

linear_gaussian  LinearGaussian: closed-form evidence, posterior, ELBO and KL (D6.2)
elbo_ascent      ascend_elbo: ELBO rising, KL to the posterior shrinking, log p(x) fixed (D6.5)
grid             (moved to elbo_edu.estimators.grid; the names are re-exported here)
manifold         2-D manifold data in 10-D, Gaussian or clustered intrinsic coordinates (D11.2, D11.3)
two_stage        TwoStageVAE and the MMD sample-quality score (D11.3)
diagnostics      active units and KL per dimension (D11.4)

The chapter-11 modules import the VAE lazily, so this package loads without it.
"""
from .elbo_ascent import ELBOTrajectory, ascend_elbo
from ..estimators.grid import Grid, GridPosterior, grid_log_evidence, grid_posterior, log_integral, make_grid
from .diagnostics import ActiveUnits, active_units, kl_per_dimension
from .linear_gaussian import LinearGaussian
from .manifold import manifold_data
from .two_stage import TwoStageVAE, median_bandwidth, mmd2

__all__ = ["LinearGaussian", "ELBOTrajectory", "ascend_elbo", "Grid", "make_grid", "log_integral",
           "GridPosterior", "grid_posterior", "grid_log_evidence", "ActiveUnits", "active_units",
           "kl_per_dimension", "manifold_data", "TwoStageVAE", "mmd2", "median_bandwidth"]
