"""The student version of a chapter, made by nbgrader's own preprocessors (no course folder).

``nbgrader generate_assignment`` is the way to hand out an assignment (it also records it in
the gradebook). For the documentation site, which offers every chapter's student version for
download, the same two steps are applied directly: nbgrader's ``ClearSolutions`` (each
``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region becomes ``raise NotImplementedError()``) and
``ClearHiddenTests`` (hidden-test regions are removed).
"""
from __future__ import annotations

from pathlib import Path

from .source import nbgrader_notebook

__all__ = ["student_notebook"]


def student_notebook(source: Path):
    """The student notebook of a chapter source ``NN_*.py`` (requires nbgrader).

    Raises
    ------
    ImportError
        If nbgrader is not installed (``pip install -e ".[course]"``).
    """
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    nb = nbgrader_notebook(source)
    resources: dict = {}
    nb, resources = ClearSolutions().preprocess(nb, resources)
    nb, resources = ClearHiddenTests().preprocess(nb, resources)
    return nb
