"""The project's own promises: the README's commands and the CI script agree."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _quickstart_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section)


def test_quickstart_has_exactly_two_commands():
    cmds = _quickstart_commands()
    assert len(cmds) == 2, cmds
    assert "elbo-edu" in cmds[0] and "pytest" in cmds[1]


def test_ci_runs_the_readmes_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert _quickstart_commands()[1] in ci
    assert "set -euo pipefail" in ci and "venv" in ci


def test_nothing_names_a_path_of_this_machine():
    offenders = []
    for p in ROOT.rglob("*"):
        if p.is_file() and p.suffix in {".py", ".md", ".cfg", ".toml", ".ipynb", ".txt"} \
                and not {".git", "_build", ".ipynb_checkpoints"} & set(p.parts):
            text = p.read_text(errors="ignore")
            if re.search(r"/work/|/root/|/home/\w+/", text) and p.name != "test_project.py":
                offenders.append(str(p.relative_to(ROOT)))
    assert not offenders, offenders


def test_every_python_source_compiles_without_warnings():
    """An invalid escape sequence in a docstring (``"\\le"`` where ``r"\\le"`` was meant) is a
    warning today and a syntax error in a later Python, and it garbles the rendered docs."""
    import warnings

    files = [p for top in ("elbo_edu", "tests", "benchmarks", "chapters", "docs")
             for p in (ROOT / top).rglob("*.py") if "_build" not in p.parts]
    assert len(files) > 40
    for p in files:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            compile(p.read_text(encoding="utf-8"), str(p), "exec")


def test_readme_is_short_and_its_synopsis_names_every_choice():
    """The README stays a two-minute read, and its CLI synopsis lists every likelihood and data
    set the parser accepts."""
    from elbo_edu.data import DATASET_NAMES
    from elbo_edu.vae.likelihoods import LIKELIHOODS

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) < 190
    synopsis = readme.split("## The command line", 1)[1].split("```bash", 1)[1].split("```")[0]
    for flag, names in (("--likelihood", LIKELIHOODS), ("--data", DATASET_NAMES)):
        listed = re.search(re.escape(flag) + r" ([\w|-]+)", synopsis).group(1).split("|")
        assert sorted(listed) == sorted(names), (flag, listed)


def test_readme_and_docs_speak_of_the_package_not_its_history():
    pattern = re.compile(r"\bissues? #?\d+|\bthis round\b|\blast round\b|\bearlier round\b|"
                         r"\bsession\b", re.IGNORECASE)
    pages = [ROOT / "README.md"] + [p for p in (ROOT / "docs").rglob("*.md")
                                    if not {"_build", "chapters", "tests", "generated"}
                                    & set(p.relative_to(ROOT / "docs").parts[:-1])]
    assert len(pages) > 10
    found = [(p.name, m.group(0)) for p in pages
             for m in pattern.finditer(p.read_text(encoding="utf-8"))]
    assert not found, found
