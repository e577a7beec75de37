r"""Experiments: drivers that combine the package's models and estimators into one measured
demonstration (chapters 06, 13 and the errata page). They hold no formula of their own.

elbo_ascent      ascend_elbo: the model fixed, the ELBO rises as KL(q || posterior) shrinks (D6.5)
rate_distortion  rate and distortion of a trained VAE, the β sweep, the tangent relation (D13.2)
errata           the numbers that tell each slip of the source notes from the correct statement
"""
from .elbo_ascent import ELBOTrajectory, ascend_elbo
from .rate_distortion import (RDPoints, beta_sweep, chord_slopes, rate_distortion,
                              supporting_line_margins)

__all__ = ["ELBOTrajectory", "ascend_elbo", "RDPoints", "rate_distortion", "beta_sweep",
           "supporting_line_margins", "chord_slopes"]
