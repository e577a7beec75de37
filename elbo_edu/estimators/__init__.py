r"""Estimators: densities from samples, and Monte-Carlo estimators around the ELBO (chapters 01, 03,
04, 08, 10).

density_estimation  Gaussian maximum likelihood and kernel density estimation with bandwidth selection
evidence            naive Monte-Carlo evidence, importance sampling / IWAE bound, Monte-Carlo ELBO
chunks              the K samples of importance sampling scored chunk by chunk, in threads
gradients           score-function (REINFORCE) and pathwise (reparameterization) gradient estimators
kl                  discrete KL, Monte-Carlo KL, forward vs reverse KL fits to a mixture
grid                quadrature evidence and posterior on a regular grid of a low-dimensional latent (D10.3)
iwae_objective      the IWAE_K training objective and its gradient (D12.1)
"""
from .evidence import (EvidenceEstimate, elbo_estimate, evidence_bounds, iwae_bound,
                       log_weights, naive_log_evidence)
from .gradients import GradientSamples, Quadratic, pathwise_gradient, score_function_gradient
from .grid import Grid, GridPosterior, grid_log_evidence, grid_posterior, log_integral, make_grid
from .kl import KLFits, Mixture1D, fit_gaussian_kl, kl_discrete, mc_kl_normal

__all__ = ["EvidenceEstimate", "evidence_bounds", "iwae_bound", "naive_log_evidence",
           "elbo_estimate", "log_weights", "GradientSamples", "score_function_gradient", "pathwise_gradient",
           "Quadratic", "kl_discrete", "mc_kl_normal", "Mixture1D", "KLFits", "fit_gaussian_kl",
           "Grid", "make_grid", "log_integral", "GridPosterior", "grid_posterior", "grid_log_evidence"]
