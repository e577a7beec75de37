"""Sphinx configuration of the elbo_edu documentation site (Sphinx + myst-nb).

Build (warnings are errors)::

    pip install -e ".[docs]"
    python -m sphinx -W --keep-going -b html docs docs/_build/html

The chapter pages are the **student version** of each chapter (exercises as stubs with their
visible tests, no solution, no hidden test) *with* the outputs of the full chapter: figures and
numbers of every derivation check. The tests execute every full chapter once
(``tests/test_chapters_execute.py``) and leave the executed copies in ``docs/_build/executed/``;
this build turns each into its student view (:func:`elbo_edu.course.student.student_view`:
solution code replaced by the stub, the outputs of exercise cells dropped, hidden tests removed)
and writes it to ``docs/chapters/`` (generated, git-ignored) for myst-nb, whose own execution is
off. A chapter whose executed copy is missing or stale (its source changed since) is executed
here first, from a fresh kernel, and the copy kept for the next build. A chapter that raises fails
the build. A page's ``.ipynb`` download is that student notebook. See ``docs/CONTRIBUTING_DOCS.md``
for adding pages.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent


def _chapter_runner():
    """``chapters/src/run.py`` (the executor the tests use) as a module."""
    path = ROOT / "chapters" / "src" / "run.py"
    spec = importlib.util.spec_from_file_location("chapters_run", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_chapter_pages() -> None:
    """Write ``docs/chapters/NN_*.ipynb``: the student view of each executed full chapter.

    The environment variable ``ELBO_EDU_DOCS_CHAPTERS`` (e.g. ``"01 02 05"``) restricts the
    build to those chapters, for a quick local preview; unset, every chapter is included.
    """
    import nbformat

    from elbo_edu.course.student import student_view

    run = _chapter_runner()
    target = DOCS / "chapters"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir()
    for source in run.sources(os.environ.get("ELBO_EDU_DOCS_CHAPTERS", "").split()):
        cached = run.EXECUTED / (source.stem + ".ipynb")
        view = None
        if cached.is_file():
            try:
                view = student_view(nbformat.read(cached, as_version=4), source)
            except ValueError:                         # stale: the source changed since
                view = None
        if view is None:
            print(f"executing {source.stem} (no current executed copy in {run.EXECUTED})")
            executed, _ = run.execute(run.full_notebook(source))
            run.EXECUTED.mkdir(parents=True, exist_ok=True)
            nbformat.write(executed, cached)
            view = student_view(executed, source)
        nbformat.write(view, target / (source.stem + ".ipynb"))


_write_chapter_pages()

# -- the derivation map's links ------------------------------------------------------------------
# Each row of derivation_map.md names a step (D-id), its chapter section and the test that checks
# it. At build time each chapter heading that names a D-id gets a target ``step-dN-k``, each test
# the map names gets a section on a generated page ``docs/tests/<file>.md`` (its source), and the
# map's two cells become links to them. The committed map stays plain text (tests parse it).
_DID = re.compile(r"\bD(\d+)\.(\d+)\b")
_ROW = re.compile(r"^(\|\s*(D\d+\.\d+)\s*\|.*\|)\s*`(\d\d)_\*\.ipynb`[^|]*\|"
                  r"\s*`tests/([\w]+)\.py::([\w.]+)`\s*\|\s*$")


def _step_label(d_id: str) -> str:
    return "step-" + d_id.lower().replace(".", "-")


def _test_label(stem: str, name: str) -> str:
    return f"test-{stem}-{name}".lower().replace("_", "-").replace(".", "-")


def _write_test_pages() -> None:
    """``docs/tests/<test file>.md``: the source of every test the derivation map names."""
    tests: dict[str, list[str]] = {}
    for line in (DOCS / "derivation_map.md").read_text(encoding="utf-8").splitlines():
        m = _ROW.match(line)
        if m and m.group(5) not in tests.setdefault(m.group(4), []):
            tests[m.group(4)].append(m.group(5))
    target = DOCS / "tests"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir()
    for stem, names in tests.items():
        parts = ["---\norphan: true\n---\n", f"# `tests/{stem}.py`\n",
                 "The tests of this file that the {doc}`../derivation_map` names.\n"]
        for name in names:
            parts.append(f"({_test_label(stem, name)})=\n## `{name}`\n\n"
                         f"```{{literalinclude}} ../../tests/{stem}.py\n:language: python\n"
                         f":pyobject: {name}\n```\n")
        (target / f"{stem}.md").write_text("\n".join(parts), encoding="utf-8")


_write_test_pages()


def _link_steps(app, docname, source):
    """Targets before the D-id headings of the chapter pages; links in the derivation map."""
    if docname.startswith("chapters/"):
        nb, seen = json.loads(source[0]), set()
        for cell in nb["cells"][1:]:
            if cell["cell_type"] != "markdown":
                continue
            text = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            lines = []
            for line in text.split("\n"):
                if re.match(r"^#{2,6} ", line):
                    for a, b in _DID.findall(line):
                        if f"D{a}.{b}" not in seen:
                            seen.add(f"D{a}.{b}")
                            lines += ["", f"({_step_label(f'D{a}.{b}')})="]
                lines.append(line)
            cell["source"] = "\n".join(lines)
        source[0] = json.dumps(nb)
    elif docname == "derivation_map":
        rows = []
        for line in source[0].split("\n"):
            m = _ROW.match(line)
            if m:
                head, d_id, nn, stem, name = m.groups()
                line = (f"{head} {{ref}}`chapter {nn}, § {d_id} <{_step_label(d_id)}>` | "
                        f"{{ref}}`{stem}::{name} <{_test_label(stem, name)}>` |")
            rows.append(line)
        source[0] = "\n".join(rows)


def setup(app):
    app.connect("source-read", _link_steps)


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
exclude_patterns = ["_build", "CONTRIBUTING_DOCS.md", "**.ipynb_checkpoints", "Thumbs.db",
                    ".DS_Store"]
templates_path = ["_templates"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"

# -- MyST / myst-nb ------------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
nb_execution_mode = "off"            # the chapter pages carry their outputs (see above)
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
html_theme = "sphinx_book_theme"     # Jupyter Book's theme
html_title = f"elbo_edu {release}"
html_static_path = ["_static"]
html_css_files = ["fit.css"]          # code and wide equations fit the page, no sideways scroll
html_js_files = ["fit.js"]
html_theme_options = {
    "use_download_button": True,      # .ipynb (the student notebook) / source / pdf
    "use_fullscreen_button": True,
    "show_toc_level": 2,
    "home_page_in_toc": True,
    "navigation_with_keys": False,
}
