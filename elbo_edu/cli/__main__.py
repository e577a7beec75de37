"""``python -m elbo_edu.cli``: the same as the ``elbo-edu`` console script."""
import sys

from . import main

sys.exit(main())
