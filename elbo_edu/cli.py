"""The ``elbo-edu`` command line.

``elbo-edu gradcheck`` checks every hand-written gradient of the package against finite
differences and prints the table (exit status 1 if any row fails).

Errors in the arguments end with a one-line message and exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import sys

__all__ = ["main", "build_parser"]


class CLIError(Exception):
    """An error to report to the user as one line (no traceback)."""


def _cmd_gradcheck(args) -> int:
    from .gradcheck_suite import run_all

    report = run_all(seed=args.seed, tol=args.tol)
    print(report)
    return 0 if report.passed else 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="elbo-edu",
        description="The variational autoencoder derived step by step, every step verified.")
    from . import __version__
    p.add_argument("--version", action="version", version=f"elbo-edu {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    g = sub.add_parser("gradcheck", help="check every analytic gradient by finite differences",
                       description="Check every hand-written gradient of the package (layers, "
                                   "log-densities, KL divergences, the VAE) against central finite "
                                   "differences in float64 and print a table.")
    g.add_argument("--seed", type=int, default=0, help="seed of the random test inputs (default 0)")
    g.add_argument("--tol", type=float, default=1e-7,
                   help="pass threshold on the relative error (default 1e-7)")
    g.set_defaults(func=_cmd_gradcheck)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CLIError, ValueError, OSError) as exc:
        print(f"elbo-edu {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"elbo-edu {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
