"""elbo_edu: the variational autoencoder derived step by step, every step verified in NumPy.

Sub-modules
-----------
nn             hand-written layers with explicit backward passes
distributions  log-densities and KL divergences with analytic gradients
gradcheck      finite-difference gradient checks
optim          SGD with momentum, Adam
"""
__version__ = "0.1.0"
