"""The gradient-check rows of chapters 12 and 13 are in ``elbo-edu gradcheck`` and all pass."""
from __future__ import annotations

import numpy as np

from elbo_edu.gradcheck import GradCheckReport
from elbo_edu.gradcheck.cases_ch12_13 import chapter12_13_cases
from elbo_edu.gradcheck.suite import CASES


def test_every_row_passes_and_every_case_contributes():
    rng = np.random.default_rng(0)
    report = GradCheckReport()
    for case in chapter12_13_cases():
        report.extend(case(rng))
    print(report)
    assert report.rows and report.max_error < 1e-7
    names = " ".join(r.name for r in report.rows)
    for part in ("IWAE K=5", "full-covariance ELBO", "PlanarFlow", "grid KL", "CVAE", "free bits"):
        assert part in names
    assert len(chapter12_13_cases()) == 6
    assert all(case in CASES for case in chapter12_13_cases())    # elbo-edu gradcheck runs them
