"""The ``elbo-edu course`` sub-command (hooked into :mod:`elbo_edu.cli` by one call).

``elbo-edu course build OUT [--chapters DIR] [--only NN ...] [--hidden-seed N] [--release]
[--force]`` writes an nbgrader course folder (see :mod:`elbo_edu.course.build`);
``elbo-edu course report COURSE_DIR [--out DIR]`` prints the class report from nbgrader's
gradebook (see :mod:`elbo_edu.course.report`). Errors are ``ValueError``\\ s naming the flag; the
main CLI prints them as one line and exits with status 2.
"""
from __future__ import annotations

import argparse

__all__ = ["add_course_parser"]


def _cmd_build(args) -> int:
    from .build import build_course

    table = build_course(args.out, args.chapters, only=args.only, force=args.force,
                         hidden_seed=args.hidden_seed, release=args.release)
    n = sum(len(v) for v in table.values())
    pts = sum(p for v in table.values() for _, p in v)
    first = next(iter(table))
    nxt = (f"hand out release/{first}/{first}.ipynb, collect submitted/<student>/{first}/, then "
           f"cd {args.out} && nbgrader autograde {first}" if args.release else
           f"cd {args.out} && nbgrader generate_assignment {first}")
    print(f"wrote {args.out}: {len(table)} assignments ({', '.join(table)}), {n} graded "
          f"exercises, {pts:g} points" + (", released" if args.release else "") + f"; next: {nxt}")
    if table.kept:
        print(f"kept {len(table.kept)} file(s) changed since the last build (delete one to get "
              f"the built version): {', '.join(table.kept)}")
    return 0


def _cmd_report(args) -> int:
    from .report import class_report, format_report, write_report

    report = class_report(args.course_dir)
    print(format_report(report))
    csv_path, png_path = write_report(report, args.out or args.course_dir)
    print(f"wrote {csv_path} and {png_path}")
    return 0


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def add_course_parser(sub) -> None:
    """Add ``course`` (with its ``build`` and ``report`` actions) to the main parser's
    sub-parsers ``sub``."""
    c = sub.add_parser("course", help="course mode: build an nbgrader course folder, report",
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
                   help="chapters/src of the source distribution or a clone (default: the "
                        "repository this package runs from)")
    b.add_argument("--only", metavar="NN", nargs="+", default=None,
                   help="only these chapters, e.g. --only 05 09")
    b.add_argument("--hidden-seed", metavar="N", type=_seed, default=None,
                   help="this term's seed: every hidden test's seed=<int> becomes a seed drawn "
                        "from N and that literal")
    b.add_argument("--release", action="store_true",
                   help="then run nbgrader generate_assignment for every assignment")
    b.add_argument("--force", action="store_true",
                   help="rebuild in a folder that is not empty: files you edited, gradebook.db, "
                        "submitted/, autograded/ and feedback/ are kept")
    b.set_defaults(func=_cmd_build)
    r = actions.add_parser("report", help="the class report: mean score and slips per exercise",
                           description="Read nbgrader's gradebook and the autograded notebooks "
                                       "of COURSE_DIR; print per exercise the mean score and "
                                       "how many students made each diagnosed slip; write "
                                       "class_report.csv and class_report.png.")
    r.add_argument("course_dir", metavar="COURSE_DIR", help="the course folder (gradebook.db)")
    r.add_argument("--out", metavar="DIR", default=None,
                   help="folder for class_report.csv and .png (default: COURSE_DIR)")
    r.set_defaults(func=_cmd_report)
