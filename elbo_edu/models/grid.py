"""Moved to :mod:`elbo_edu.estimators.grid` (grid quadrature is an estimator, not a model).

Kept so that ``from elbo_edu.models.grid import ...`` still works.
"""
from ..estimators.grid import (Grid, GridPosterior, grid_log_evidence, grid_posterior,  # noqa: F401
                               log_integral, make_grid)

__all__ = ["Grid", "make_grid", "log_integral", "GridPosterior", "grid_posterior",
           "grid_log_evidence"]
