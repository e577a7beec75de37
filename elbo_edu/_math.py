"""Deprecated alias of :mod:`elbo_edu.special` (the public home of these functions)."""
from .special import LOG_2PI, flush_subnormal, logsumexp, sigmoid, softplus  # noqa: F401

__all__ = ["sigmoid", "softplus", "logsumexp"]
