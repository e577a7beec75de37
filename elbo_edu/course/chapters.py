"""``elbo-edu chapters OUT``: copy the thirteen chapter notebooks, as students get them, into OUT.

The notebooks are the student version of each chapter (:mod:`elbo_edu.course.student`: every
exercise a stub raising ``NotImplementedError`` with its visible test, no solution, no hidden
test), without outputs. An installed wheel carries them in ``elbo_edu/course/notebooks/`` (written
when the wheel is built, see ``setup.py``); an editable install from a clone reads the clone's
committed ``chapters/NN_*.ipynb``, which are the same files.

A notebook already in OUT is left alone when it is identical, and never replaced when it differs
(a student's work) unless ``--force`` is given; then nothing at all is written, and the message
names the first such notebook and the flag.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["shipped_chapters", "write_chapters", "add_chapters_parser"]

_PATTERN = "[0-9][0-9]_*.ipynb"


def shipped_chapters() -> list[Path]:
    """The student chapter notebooks of this installation, in chapter order.

    Raises
    ------
    ValueError
        If the installation holds none (neither a wheel's copy nor a clone's ``chapters/``).
    """
    here = Path(__file__).resolve().parent
    for folder in (here / "notebooks", here.parents[1] / "chapters"):
        found = sorted(folder.glob(_PATTERN))
        if found:
            return found
    raise ValueError("this installation of elbo_edu holds no chapter notebooks; install it "
                     "from a wheel (pip install elbo_edu-*.whl) or from a clone (pip install -e .)")


def write_chapters(out, force: bool = False) -> tuple[list[Path], list[Path]]:
    """Write the student chapters into the folder ``out`` (created if needed).

    Returns
    -------
    (written, unchanged) : the notebooks written and those already identical in ``out``.

    Raises
    ------
    ValueError
        If ``out`` is a file, or (without ``force``) a notebook in ``out`` differs from the
        shipped one: nothing is written then.
    """
    from .._checks.files import atomic_write_text

    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise ValueError(f"OUT: {out} is a file, not a folder")
    plan, edited = [], []
    for src in shipped_chapters():
        text = src.read_text(encoding="utf-8")
        dst = out / src.name
        if dst.exists():
            if dst.read_bytes() == text.encode("utf-8"):
                plan.append((dst, None))
                continue
            edited.append(dst)
        plan.append((dst, text))
    if edited and not force:
        more = f" (and {len(edited) - 1} more)" if len(edited) > 1 else ""
        raise ValueError(f"--force: {edited[0]}{more} differs from the chapter as shipped (your "
                         "edits?); nothing was written; pass --force to replace it, or choose "
                         "another OUT folder")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for dst, text in plan:
        if text is not None:
            atomic_write_text(dst, text)
            written.append(dst)
    return written, [dst for dst, text in plan if text is None]


def _cmd_chapters(args) -> int:
    written, unchanged = write_chapters(args.out, force=args.force)
    note = f" ({len(unchanged)} already there, unchanged)" if unchanged else ""
    n = len(written)
    print(f"wrote {n} chapter notebook{'' if n == 1 else 's'} to {args.out}{note}; each "
          "exercise is a stub for you to write")
    print(f"next: jupyter lab {args.out}")
    return 0


def add_chapters_parser(sub) -> None:
    """Add ``chapters OUT [--force]`` to the main parser's sub-parsers ``sub``."""
    c = sub.add_parser(
        "chapters", help="write the 13 chapter notebooks (exercises to solve) into a folder",
        description="Write the thirteen chapter notebooks into OUT, without outputs, each "
                    "exercise a stub for you to write with its test. A notebook already in OUT "
                    "that differs (your work) is never replaced unless --force is given.")
    c.add_argument("out", metavar="OUT", help="folder to write the notebooks into")
    c.add_argument("--force", action="store_true",
                   help="replace notebooks in OUT that differ from the shipped chapters")
    c.set_defaults(func=_cmd_chapters)
