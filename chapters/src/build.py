"""Build the chapter notebooks from their plain-text sources (``chapters/src/NN_*.py``).

Each source is a Python file in the "percent" format understood by Jupytext, VS Code and Spyder:

* ``# %% [markdown]`` starts a Markdown cell; its lines carry a leading ``# `` that is removed;
* ``# %%`` starts a code cell.

The committed ``chapters/NN_*.ipynb`` are what students open; they are written **without outputs**
and with deterministic cell ids, so rebuilding an unchanged source gives a byte-identical notebook
(``tests/test_notebooks.py`` checks this). Usage::

    python chapters/src/build.py            # rebuild every notebook
    python chapters/src/build.py --check    # exit 1 if a notebook is out of date
    python chapters/src/build.py 01 05      # only the chapters whose names start so
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
CHAPTERS = HERE.parent

MARKDOWN = "# %% [markdown]"
CODE = "# %%"


def parse_percent(text: str) -> list[tuple[str, str]]:
    """Split a percent-format source into ``(kind, source)`` cells, kind in {"markdown", "code"}."""
    cells: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        stripped = line.rstrip()
        if stripped == MARKDOWN:
            cells.append(("markdown", []))
        elif stripped == CODE:
            cells.append(("code", []))
        elif cells:
            kind, body = cells[-1]
            if kind == "markdown":
                if line.startswith("# "):
                    line = line[2:]
                elif line.strip() in ("#", ""):
                    line = ""
                else:
                    raise ValueError(f"markdown line must start with '# ': {line!r}")
            body.append(line)
        elif line.strip() and not line.startswith('"""') and not line.startswith("#"):
            raise ValueError(f"text before the first cell marker: {line!r}")
    out = []
    for kind, body in cells:
        while body and not body[-1].strip():
            body.pop()
        while body and not body[0].strip():
            body.pop(0)
        if body:
            out.append((kind, "\n".join(body)))
    return out


def build_notebook(source: Path) -> nbformat.NotebookNode:
    """The notebook for one source file, outputs empty, cell ids ``<chapter>-<index>``."""
    nb = nbformat.v4.new_notebook()
    stem = source.stem.split("_")[0]
    for i, (kind, text) in enumerate(parse_percent(source.read_text(encoding="utf-8"))):
        cell = (nbformat.v4.new_markdown_cell(text) if kind == "markdown"
                else nbformat.v4.new_code_cell(text))
        cell["id"] = f"ch{stem}-{i:03d}"
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python",
                                 "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.validate(nb)
    return nb


def sources() -> list[Path]:
    """The chapter sources, ``NN_*.py`` in this folder, in chapter order."""
    return sorted(p for p in HERE.glob("[0-9][0-9]_*.py"))


def target(source: Path) -> Path:
    return CHAPTERS / (source.stem + ".ipynb")


def render(source: Path) -> str:
    return nbformat.writes(build_notebook(source)) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale notebooks")
    parser.add_argument("prefixes", nargs="*", help="chapter number prefixes, e.g. 01 05")
    args = parser.parse_args(argv)
    stale = []
    for src in sources():
        if args.prefixes and not any(src.name.startswith(p) for p in args.prefixes):
            continue
        text, dst = render(src), target(src)
        if dst.exists() and dst.read_text(encoding="utf-8") == text:
            continue
        stale.append(dst.name)
        if not args.check:
            dst.write_text(text, encoding="utf-8")
            print(f"wrote {dst.relative_to(CHAPTERS.parent)}")
    if args.check and stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
