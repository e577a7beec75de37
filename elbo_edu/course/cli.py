"""The ``elbo-edu course`` sub-command (hooked into :mod:`elbo_edu.cli` by one call).

``elbo-edu course build OUT [--chapters DIR] [--only NN ...] [--force]`` writes an nbgrader course
folder (see :mod:`elbo_edu.course.build`). Errors are ``ValueError``\\ s naming the flag; the main
CLI prints them as one line and exits with status 2.
"""
from __future__ import annotations

__all__ = ["add_course_parser"]


def _cmd_build(args) -> int:
    from .build import build_course

    table = build_course(args.out, args.chapters, only=args.only, force=args.force)
    n = sum(len(v) for v in table.values())
    pts = sum(p for v in table.values() for _, p in v)
    print(f"wrote {args.out}: {len(table)} assignments ({', '.join(table)}), {n} graded "
          f"exercises, {pts:g} points; next: cd {args.out} && nbgrader generate_assignment "
          f"{next(iter(table))}")
    return 0


def add_course_parser(sub) -> None:
    """Add ``course`` (with its ``build`` action) to the main parser's sub-parsers ``sub``."""
    c = sub.add_parser("course", help="course mode: build an nbgrader course folder",
                       description="Course mode: exercises with hidden solutions, autograded "
                                   "by nbgrader (pip install -e \".[course]\").")
    actions = c.add_subparsers(dest="course_command", metavar="ACTION")
    actions.required = True
    b = actions.add_parser("build", help="write OUT/nbgrader_config.py, OUT/source/chNN/, "
                                         "OUT/instructor/",
                           description="Write an nbgrader course folder from the chapter "
                                       "sources: one assignment chNN per chapter.")
    b.add_argument("out", metavar="OUT", help="the course folder to write")
    b.add_argument("--chapters", metavar="DIR", default=None,
                   help="folder of the chapter sources (default: the repository's chapters/src)")
    b.add_argument("--only", metavar="NN", nargs="+", default=None,
                   help="only these chapters, e.g. --only 05 09")
    b.add_argument("--force", action="store_true",
                   help="rebuild source/ and instructor/ of an existing course folder")
    b.set_defaults(func=_cmd_build)
