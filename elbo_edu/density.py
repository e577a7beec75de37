"""Old name of :mod:`elbo_edu.density_estimation` (kept importable; it was too easily confused
with :mod:`elbo_edu.distributions`)."""
from .density_estimation import *  # noqa: F401,F403
from .density_estimation import __all__  # noqa: F401
