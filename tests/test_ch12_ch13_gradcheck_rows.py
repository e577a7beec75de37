"""The gradient-check rows of chapters 12 and 13 (for ``elbo-edu gradcheck``) all pass."""
from __future__ import annotations

from elbo_edu.gradcheck_extra import chapter12_13_cases, check_chapters_12_13


def test_every_row_passes_and_every_case_contributes():
    report = check_chapters_12_13(seed=0)
    print(report)
    assert report.passed and report.max_error < 1e-7
    names = " ".join(r.name for r in report.rows)
    for part in ("IWAE K=5", "full-covariance ELBO", "PlanarFlow", "grid KL", "CVAE", "free bits"):
        assert part in names
    assert len(chapter12_13_cases()) == 6
