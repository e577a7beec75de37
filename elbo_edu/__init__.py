"""elbo_edu: the variational autoencoder derived step by step, every step verified in NumPy.

Modules and sub-packages, from the bottom layer up (each package's docstring lists its modules;
``docs/how_the_code_is_organised.md`` draws the map)::

    _checks        argument validation (a ValueError naming the argument); atomic file writes
    special        stable elementary functions (sigmoid, softplus, logsumexp); the activations
    distributions  log-densities and KL divergences with analytic gradients; reparameterize
    data           MNIST, the embedded subset, binarization, toy and manifold data
    plots          the figures
    kernels        the backend seam: the element-wise operations, a NumPy and a numba backend
    nn             hand-written layers with explicit backward passes
    optim          SGD with momentum, Adam
    vae            the variational autoencoder; its observation models; its objective composed once
                    (ELBO, IWAE_K, free bits)
    estimators     density estimation, Monte-Carlo evidence and IWAE, gradient estimators, grids
    train          the training loop, the run folder, checkpoints
    models         tractable and extra models: linear-Gaussian, two-stage VAE, CVAE, a planar flow, ...
    experiments    measured demonstrations: ELBO ascent, rate-distortion, the errata numbers
    gradcheck      finite-difference gradient checks
    course         course mode on nbgrader
    cli            the elbo-edu command line and its subcommands
"""
__version__ = "0.1.0"
