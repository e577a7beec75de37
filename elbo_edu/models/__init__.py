r"""Models beside the VAE: exact references and diagnostics (chapters 06, 11, 12, 13).

linear_gaussian    LinearGaussian: closed-form evidence, posterior, ELBO and KL (D6.2)
diagnostics        active units and KL per latent dimension (D11.4)
two_stage          TwoStageVAE and the MMD sample-quality score (D11.3)
posteriors         the full-covariance Gaussian posterior, Cholesky-parameterised (D12.3)
gap_decomposition  the inference gap split into approximation and amortisation gaps (D12.2)
cvae               the conditional VAE (D13.1)
digit_classifier   a softmax classifier that judges generated digits (D13.1)
linear_beta_vae    a β-VAE whose rate and distortion are closed-form (D13.2)
free_bits          free bits against KL warm-up (D13.3)
flows              a planar normalising-flow layer and its fit to a 2-D target (D12.3)

The chapter-11 modules import the VAE lazily, so this package loads without it.
"""
from .diagnostics import ActiveUnits, active_units, kl_per_dimension
from .linear_gaussian import LinearGaussian
from .two_stage import TwoStageVAE, median_bandwidth, mmd2

__all__ = ["LinearGaussian", "ActiveUnits", "active_units", "kl_per_dimension", "TwoStageVAE",
           "mmd2", "median_bandwidth"]
