r"""Finite-difference gradient checks (chapter 02, D2.4; used in every chapter).

core           numerical gradient and vector-Jacobian product, relative error, ``check_module``,
               ``check_function`` and the report table they fill
suite          every hand-written gradient of the package in one call (``run_all``, what
               ``elbo-edu gradcheck`` prints), and ``check_vae`` for a whole model
cases_ch12_13  the rows of chapters 12 and 13 (IWAE objective, full covariance, planar flow,
               grid KL, CVAE, free bits) that ``suite`` lists with the rest
"""
from .core import (DEFAULT_TOL, GradCheckReport, GradCheckRow, check_function, check_module,
                   numerical_gradient, numerical_vjp, rel_error)
from .suite import CASES, check_vae, run_all

__all__ = ["DEFAULT_TOL", "numerical_gradient", "numerical_vjp", "rel_error", "GradCheckRow",
           "GradCheckReport", "check_module", "check_function", "CASES", "run_all", "check_vae"]
