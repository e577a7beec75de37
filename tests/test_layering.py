"""The map of docs/how_the_code_is_organised.md is true: every import statement of the package
(at the top of a module or inside a function) goes to the importer's own layer or one below it,
the top-level modules import each other without a cycle, and the page names every module."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "elbo_edu"
PAGE = ROOT / "docs" / "how_the_code_is_organised.md"


def layers_of_the_page() -> dict[str, int]:
    """``{top-level name: layer number}`` from the page's layer table (rows ``| N name | ...``)."""
    text = PAGE.read_text()
    section = text[text.index("## The layers of the house"):text.index("## Every module")]
    layers = {}
    for m in re.finditer(r"^\| (\d+) [^|]*\| ([^|]*) \|", section, flags=re.M):
        for name in re.findall(r"`([^`]+)`", m.group(2)):
            assert name not in layers, f"{name} is in two layers of the page"
            layers[name] = int(m.group(1))
    return layers


def top_level(module: str) -> str:
    """``elbo_edu.kernels.api`` -> ``kernels``; the package itself -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imports_of(path: Path) -> list[tuple[str, int]]:
    """The package modules that the file imports, each with the line of the import."""
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]   # also right for __init__.py
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(package[:len(package) - node.level + 1])
            if node.module:
                out.append((".".join(base + [node.module]), node.lineno))
            else:   # from . import a, b
                out.extend((".".join(base + [a.name]), node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("elbo_edu"):
            out.append((node.module, node.lineno))
        elif isinstance(node, ast.Import):
            out.extend((a.name, node.lineno) for a in node.names if a.name.startswith("elbo_edu"))
    return out


def edges() -> list[tuple[str, str, str]]:
    """``(importer, imported, where)`` between different top-level names of the package."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for target, line in imports_of(path):
            a, b = top_level(module), top_level(target)
            if a != b and b and b != "__version__":
                out.append((a, b, f"{path.relative_to(ROOT)}:{line}"))
    return out


def top_level_names() -> set[str]:
    return {p.stem for p in PACKAGE.iterdir()
            if (p.suffix == ".py" and p.stem != "__init__")
            or (p.is_dir() and (p / "__init__.py").exists())}


def test_the_page_places_every_top_level_module_in_one_layer():
    layers = layers_of_the_page()
    assert set(layers) == top_level_names()


def test_every_import_goes_to_the_same_layer_or_below():
    layers = layers_of_the_page()
    wrong = [f"{where}: {a} (layer {layers[a]}) imports {b} (layer {layers[b]})"
             for a, b, where in edges() if layers[b] > layers[a]]
    assert not wrong, "\n".join(wrong)


def test_the_top_level_modules_import_each_other_without_a_cycle():
    graph: dict[str, set[str]] = {}
    for a, b, _ in edges():
        graph.setdefault(a, set()).add(b)
    done, path = set(), []

    def visit(node):
        if node in path:
            pytest.fail("import cycle: " + " -> ".join(path[path.index(node):] + [node]))
        if node in done:
            return
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            visit(nxt)
        path.pop()
        done.add(node)

    for node in sorted(graph):
        visit(node)


def test_the_page_names_every_module():
    text = PAGE.read_text()
    start = text.index("## Every module")
    section = text[start:text.index("\n## ", start)]
    named = set(re.findall(r"`([\w/]+\.py)`", section))
    files = {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")}
    assert files - named == set(), "modules missing from the page"
    assert named - files == set(), "the page names modules that do not exist"


def test_the_package_docstring_names_every_top_level_module():
    import elbo_edu

    listed = set(re.findall(r"^ *(\w+)\s", elbo_edu.__doc__, flags=re.M))
    assert top_level_names() <= listed

