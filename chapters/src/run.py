"""Execute chapter notebooks from a fresh kernel and report the wall time of each.

Usage::

    python chapters/src/run.py                  # every chapters/NN_*.ipynb
    python chapters/src/run.py 03 05            # only the chapters whose names start so
    python chapters/src/run.py --save DIR 05    # also write the executed copies into DIR

The committed notebooks stay untouched (outputs are never written back). A notebook fails if any
cell raises, in particular any ``assert`` of a derivation check.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

CHAPTERS = Path(__file__).resolve().parents[1]


def run(path: Path, timeout: int = 600) -> tuple[nbformat.NotebookNode, float]:
    """Execute ``path`` in a new ``python3`` kernel (working directory: ``chapters/``)."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb, time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prefixes", nargs="*", help="chapter number prefixes, e.g. 01 05")
    parser.add_argument("--save", type=Path, help="folder for the executed copies")
    args = parser.parse_args(argv)
    paths = sorted(CHAPTERS.glob("[0-9][0-9]_*.ipynb"))
    if args.prefixes:
        paths = [p for p in paths if any(p.name.startswith(x) for x in args.prefixes)]
    failed = 0
    for p in paths:
        try:
            nb, seconds = run(p)
        except Exception as exc:  # report and continue with the next chapter
            failed += 1
            print(f"{p.name:45s} FAILED: {type(exc).__name__}: {str(exc)[-2000:]}")
            continue
        print(f"{p.name:45s} {seconds:6.1f} s")
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, args.save / p.name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
