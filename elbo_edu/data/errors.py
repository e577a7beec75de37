"""The one exception type of :mod:`elbo_edu.data`.

``DataError`` is a ``ValueError``, so code that already catches ``ValueError`` for bad input also
catches a missing, corrupt or unverifiable data file. Its message always names the file and says
what was expected and what was found.
"""
from __future__ import annotations

__all__ = ["DataError"]


class DataError(ValueError):
    """A data file is missing, corrupt, truncated, or does not match its known SHA-256."""
