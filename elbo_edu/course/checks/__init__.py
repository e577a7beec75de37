"""The graders behind the autograded test cells of chapters 01-13 (one ``check_*`` per exercise).

A test cell is one line, e.g. ``check_kl_std_normal(kl_std_normal)``; hidden tests call the same
check with another ``seed``. See :mod:`elbo_edu.course.grading` for how failures are diagnosed.
"""
from .basics import *  # noqa: F401,F403
from .basics import __all__ as _a
from .beyond import *  # noqa: F401,F403
from .beyond import __all__ as _d
from .gaussians import *  # noqa: F401,F403
from .gaussians import __all__ as _b
from .vae import *  # noqa: F401,F403
from .vae import __all__ as _c

__all__ = [n for n in _a + _b + _c + _d if n.startswith("check_")]
