"""``python -m elbo_edu.cli``: the same as the ``elbo-edu`` console script."""
import sys

from . import main

if __name__ == "__main__":  # (imported, e.g. by the API docs, it does nothing)
    sys.exit(main())
