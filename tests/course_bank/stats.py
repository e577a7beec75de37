"""Bank statistics: ``python tests/course_bank/stats.py`` (from the repository root).

Prints, over the visible, hidden and further seeds of every exercise, how many wrong answers are
caught and right ones (with the chapter solutions) accepted, and the share of rejections whose
sentence names a specific slip rather than a generic "is wrong"; then each generic rejection.
"""
import contextlib
import io
import json
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_bank import BANK  # noqa: E402
from test_course_bank import SOLUTIONS, _seeds  # noqa: E402

from elbo_edu.course import checks  # noqa: E402
from elbo_edu.course.grading import ExerciseError  # noqa: E402

GENERIC = re.compile(r"is wrong: |returned something the grader cannot use|another number of "
                     r"dimensions")


def _run(check, fn, seed):
    try:
        with contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
            check(fn, seed=seed)
    except ExerciseError as e:
        return str(e)
    return None


def main():
    s = dict(wrong_runs=0, wrong_caught=0, right_runs=0, right_accepted=0, specific=0)
    generic, problems = [], []
    for ex, (name, right, wrong) in sorted(BANK.items()):
        check = getattr(checks, name)
        for fn in right + [SOLUTIONS[ex]]:
            for seed in _seeds(ex):
                s["right_runs"] += 1
                msg = _run(check, fn, seed)
                s["right_accepted"] += msg is None
                if msg:
                    problems.append(("rejected right", ex, seed, msg))
        for fn, _ in wrong:
            for seed in _seeds(ex):
                s["wrong_runs"] += 1
                msg = _run(check, fn, seed)
                if msg is None:
                    problems.append(("passed wrong", ex, seed, ""))
                    continue
                s["wrong_caught"] += 1
                if GENERIC.search(msg):
                    generic.append((ex, seed, msg))
                else:
                    s["specific"] += 1
    s["wrong_answers"] = sum(len(w) for _, _, w in BANK.values())
    s["right_answers"] = sum(len(r) for _, r, _ in BANK.values())
    s["specific_share"] = round(s["specific"] / max(1, s["wrong_caught"]), 4)
    print(json.dumps(s))
    for p in problems + generic:
        print(*p)


if __name__ == "__main__":
    main()
