"""Sphinx configuration of the elbo_edu documentation site (Sphinx + myst-nb).

Build (warnings are errors)::

    pip install -e ".[docs]"
    python -m sphinx -W --keep-going -b html docs docs/_build/html

The chapter notebooks live in ``chapters/`` at the repository root. Sphinx only reads files below
``docs/``, so each build first copies ``chapters/NN_*.ipynb`` into ``docs/chapters/`` (a generated
folder, ignored by git); myst-nb then executes them (cached in ``docs/_build/.jupyter_cache``
until a notebook changes) and renders them with their outputs and figures. A notebook that raises
fails the build. See ``docs/CONTRIBUTING_DOCS.md`` for adding pages.

Each chapter page's download menu (sphinx-book-theme) offers the chapter notebook and its
**student version**: the exercises' solutions and hidden tests removed by nbgrader's own
preprocessors (:func:`elbo_edu.course.student.student_notebook`), written at build time into
``docs/_student/student/`` (generated, git-ignored) and served from ``_static/student/``.
Solutions to the exercises' "Try this" items and problems are never on the site.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent


def _copy_chapters() -> None:
    """Mirror ``chapters/NN_*.ipynb`` into ``docs/chapters`` (stale copies removed).

    The environment variable ``ELBO_EDU_DOCS_CHAPTERS`` (e.g. ``"01 02 05"``) restricts the
    build to those chapters, for a quick local preview; unset, every chapter is included.
    """
    target = DOCS / "chapters"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir()
    only = os.environ.get("ELBO_EDU_DOCS_CHAPTERS", "").split()
    for nb in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb")):
        if not only or nb.name[:2] in only:
            shutil.copy2(nb, target / nb.name)


_copy_chapters()


def _write_student_versions() -> dict[str, str]:
    """Write ``docs/_student/student/NN_*_student.ipynb``; return ``{page name: file name}``."""
    target = DOCS / "_student" / "student"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    from elbo_edu.course.source import exercise_table, render
    from elbo_edu.course.student import student_notebook

    pages = {}
    for nb in sorted((DOCS / "chapters").glob("[0-9][0-9]_*.ipynb")):
        src = ROOT / "chapters" / "src" / (nb.stem + ".py")
        if src.is_file() and exercise_table(src):                # a chapter with exercises
            name = f"{nb.stem}_student.ipynb"
            (target / name).write_text(render(student_notebook(src)), encoding="utf-8")
            pages[f"chapters/{nb.stem}"] = name
    return pages


STUDENT_VERSIONS = _write_student_versions()


def _add_student_download(app, pagename, templatename, context, doctree):
    """Add "student .ipynb" to the download menu of a chapter page (after the theme's buttons)."""
    name = STUDENT_VERSIONS.get(pagename)
    if not name:
        return
    for group in context.get("header_buttons", []):
        if group.get("label") == "download-buttons":
            group["buttons"].insert(1, {
                "type": "link", "url": context["pathto"](f"_static/student/{name}", 1),
                "text": "student .ipynb", "icon": "fas fa-user-graduate",
                "tooltip": "Download the student version (exercises to solve)",
                "label": "download-student-button"})


def setup(app):
    app.connect("html-page-context", _add_student_download, priority=502)

# -- project -------------------------------------------------------------------------------------
project = "elbo_edu"
author = "elbo_edu developers"
copyright = "elbo_edu developers, MIT licence"
try:
    from elbo_edu import __version__ as release
except ImportError:  # pragma: no cover - the package must be installed to build the API pages
    release = "unknown"
version = release

extensions = [
    "myst_nb",                    # Markdown pages and executed notebooks
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",        # NumPy-style docstrings
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",     # serve the bundled MathJax: equations render without network
]
exclude_patterns = ["_build", "_student", "CONTRIBUTING_DOCS.md", "**.ipynb_checkpoints", "Thumbs.db",
                    ".DS_Store"]
templates_path = ["_templates"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"

# -- MyST / myst-nb ------------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
nb_execution_mode = "cache"          # execute on the first build, re-use until a notebook changes
nb_execution_cache_path = str(DOCS / "_build" / ".jupyter_cache")
nb_execution_timeout = 600           # seconds per cell
nb_execution_raise_on_error = True   # a failing derivation check fails the build
nb_execution_show_tb = True
nb_merge_streams = True

# -- API reference -------------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "show-inheritance": True, "ignore-module-all": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_preserve_defaults = False   # True cannot show f-string defaults
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False
napoleon_use_ivar = True   # "Attributes" as fields: no duplicates of the autodoc members

# -- HTML ----------------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"     # Jupyter Book's theme: wide code cells scroll, never clip
html_title = f"elbo_edu {release}"
html_static_path = ["_student"]       # the student notebooks, served as _static/student/*.ipynb
html_theme_options = {
    "use_download_button": True,      # .ipynb / source / pdf, plus "student .ipynb" (above)
    "use_fullscreen_button": True,
    "show_toc_level": 2,
    "home_page_in_toc": True,
    "navigation_with_keys": False,
}
