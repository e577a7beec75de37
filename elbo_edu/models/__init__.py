r"""Models beside the VAE: exact references and diagnostics (chapters 06, 10, 11).

linear_gaussian  LinearGaussian: closed-form evidence, posterior, ELBO and KL (D6.2)
elbo_ascent      ascend_elbo: ELBO rising, KL to the posterior shrinking, log p(x) fixed (D6.5)
grid             (moved to elbo_edu.estimators.grid; the names are re-exported here)
manifold         2-D manifold data in 10-D; the learned decoder variance shrinking (D11.2)
two_stage        TwoStageVAE and the MMD sample-quality score (D11.3)
diagnostics      active units, KL per dimension, KL warm-up comparison (D11.4)

The chapter-11 modules import the VAE lazily, so this package loads without it.
"""
from .elbo_ascent import ELBOTrajectory, ascend_elbo
from ..estimators.grid import Grid, GridPosterior, grid_log_evidence, grid_posterior, log_integral, make_grid
from .diagnostics import ActiveUnits, WarmupResult, active_units, compare_kl_warmup, kl_per_dimension
from .linear_gaussian import LinearGaussian
from .manifold import gamma_shrinkage_demo, manifold_data
from .two_stage import TwoStageVAE, median_bandwidth, mmd2, two_stage_demo

__all__ = ["LinearGaussian", "ELBOTrajectory", "ascend_elbo", "Grid", "make_grid", "log_integral",
           "GridPosterior", "grid_posterior", "grid_log_evidence", "ActiveUnits", "active_units",
           "kl_per_dimension", "WarmupResult", "compare_kl_warmup", "manifold_data",
           "gamma_shrinkage_demo", "TwoStageVAE", "mmd2", "median_bandwidth", "two_stage_demo"]
