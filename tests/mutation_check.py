"""Mutation check: plant one realistic slip at a time and require the D-id's checks to catch it.

Not part of the default test run (pytest collects only ``test_*.py``). Run it by hand::

    python tests/mutation_check.py                 # the D-id's tests only
    python tests/mutation_check.py --notebooks     # also the chapter's own asserts (slower)
    python tests/mutation_check.py --only half_in_kl_std_normal

For every mutant the repository is copied to a temporary folder, the slip is planted there (the
working tree is never touched), and the tests that ``docs/derivation_map.md`` names for that step
are run with the readable NumPy backend (``ELBO_EDU_BACKEND=numpy``, so the code a student reads is
the code that runs). A mutant is **killed** when at least one of its checks fails. A slip whose
source text is not found (exactly once) is reported as an ERROR, never skipped: the code may have
been restructured, and the table must then be brought up to date. The exit status is 0 only when
the unmutated copy passes and every mutant is killed.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# name, D-id, file, original text, slipped text, tests, chapter source (for --notebooks)
MUTANTS = [
    dict(name="half_in_kl_std_normal", did="D5.4", slip="missing 1/2",
         file="elbo_edu/distributions.py",
         old="return 0.5 * np.sum(np.expm1(logvar) - logvar + mu * mu, axis=-1)",
         new="return np.sum(np.expm1(logvar) - logvar + mu * mu, axis=-1)",
         tests=["tests/test_distributions.py::test_kl_std_normal_sums_independent_dimensions",
                "tests/test_distributions.py::test_kl_std_normal_2d_against_quadrature"],
         chapter="05_kl_between_gaussians.py"),
    dict(name="half_in_reparameterize", did="D8.1", slip="missing 1/2",
         file="elbo_edu/distributions.py",
         old="return mu + np.exp(0.5 * logvar) * eps",
         new="return mu + np.exp(logvar) * eps",
         tests=["tests/test_vae.py::test_reparameterize_gradcheck"],
         chapter="08_reparameterization.py"),
    dict(name="dropped_log_k_in_iwae", did="D10.2", slip="dropped log K",
         file="elbo_edu/estimators/evidence.py",
         old="self.m + np.log(self.s1) - np.log(k)",
         new="self.m + np.log(self.s1)",
         tests=["tests/test_estimators.py::test_elbo_le_iwae_k_le_log_evidence_in_expectation",
                "tests/test_estimators.py::test_iwae_is_exact_when_q_is_the_posterior"],
         chapter=None),
    dict(name="unscaled_minibatch_gradient", did="D1.5", slip="unscaled minibatch gradient",
         file="elbo_edu/estimators/density_estimation.py",
         old="scale = x.shape[0] / idx.size",
         new="scale = 1.0",
         tests=["tests/test_density_estimation.py::test_minibatch_gradient_is_unbiased"],
         chapter="01_probabilistic_models.py"),
    dict(name="swapped_variance_in_kl_normal", did="D5.3", slip="swapped variance",
         file="elbo_edu/distributions.py",
         old="z, _ = standardized_residual(mu1, mu2, logvar2)\n    with",
         new="z, _ = standardized_residual(mu1, mu2, logvar1)\n    with",
         tests=["tests/test_distributions.py::test_kl_normal_against_quadrature"],
         chapter="05_kl_between_gaussians.py"),
    dict(name="dropped_log_in_entropy", did="D5.1", slip="dropped log",
         file="elbo_edu/distributions.py",
         old="return 0.5 * np.sum(LOG_2PI + 1.0 + logvar, axis=-1)",
         new="return 0.5 * np.sum(LOG_2PI + 1.0 + 0.0 * logvar, axis=-1)",
         tests=["tests/test_identities.py::test_negative_entropy_of_a_gaussian_by_quadrature"],
         chapter="05_kl_between_gaussians.py"),
    dict(name="reversed_kl_in_monte_carlo", did="D4.3", slip="reversed KL argument",
         file="elbo_edu/estimators/kl.py",
         old="diff = gaussian_log_prob(z, mu1, logvar1) - gaussian_log_prob(z, mu2, logvar2)",
         new="z = mu2 + np.exp(0.5 * logvar2) * rng.standard_normal((n, mu1.size))\n"
             "    diff = gaussian_log_prob(z, mu2, logvar2) - gaussian_log_prob(z, mu1, logvar1)",
         tests=["tests/test_estimators_gradients_kl.py::test_mc_kl_matches_closed_form"],
         chapter="04_kl_divergence.py"),
    dict(name="reversed_kl_in_discrete", did="D4.1", slip="reversed KL argument",
         file="elbo_edu/estimators/kl.py",
         old="return np.sum(terms, axis=-1)",
         new="p, q = q, p\n    with np.errstate(divide='ignore'):\n"
             "        terms = np.where(p > 0, p * (np.log(np.where(p > 0, p, 1.0)) - np.log(q)), 0.0)\n"
             "    return np.sum(terms, axis=-1)",
         tests=["tests/test_estimators_gradients_kl.py::test_discrete_kl_conventions_and_asymmetry"],
         chapter="04_kl_divergence.py"),
]

IGNORE = shutil.ignore_patterns(".git", "__pycache__", "*.pyc", "_build", "build", "*.egg-info",
                                ".pytest_cache", "runs", "bench_out")


def _copy(dest: Path) -> Path:
    repo = dest / "repo"
    shutil.copytree(ROOT, repo, ignore=IGNORE)
    return repo


def _env(repo: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(repo) + os.pathsep + env.get("PYTHONPATH", "")
    env["ELBO_EDU_BACKEND"] = "numpy"
    env["MPLBACKEND"] = "Agg"
    return env


def _run(cmd, repo: Path, timeout: int) -> tuple[int, str]:
    try:
        p = subprocess.run(cmd, cwd=repo, env=_env(repo), capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return -1, "timeout"
    return p.returncode, (p.stdout + p.stderr)[-2000:]


def _pytest(repo: Path, tests: list[str]) -> tuple[int, str]:
    return _run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                 "-o", "addopts=", *tests], repo, timeout=1200)


def _check_import(repo: Path) -> None:
    code, out = _run([sys.executable, "-c", "import elbo_edu; print(elbo_edu.__file__)"], repo, 120)
    if code != 0 or not out.strip().splitlines()[-1].startswith(str(repo)):
        raise SystemExit(f"ERROR: the copy's elbo_edu is not the one imported ({out.strip()})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notebooks", action="store_true",
                    help="also run the chapter source of each mutant's step (its asserts)")
    ap.add_argument("--only", nargs="*", default=None, help="mutant names to run")
    args = ap.parse_args(argv)
    mutants = [m for m in MUTANTS if args.only is None or m["name"] in args.only]
    if args.only and len(mutants) != len(args.only):
        raise SystemExit(f"--only: unknown mutant among {args.only}")

    rows, ok = [], True
    with tempfile.TemporaryDirectory(prefix="elbo_edu_mutation_") as tmp:
        clean = _copy(Path(tmp) / "clean")
        _check_import(clean)
        all_tests = sorted({t for m in mutants for t in m["tests"]})
        code, out = _pytest(clean, all_tests)
        if code != 0:
            print(out)
            print("ERROR: the unmutated copy fails its own checks; fix that first")
            return 2
        for m in mutants:
            work = Path(tmp) / m["name"]
            repo = _copy(work)
            path = repo / m["file"]
            text = path.read_text(encoding="utf-8") if path.exists() else ""
            count = text.count(m["old"])
            if count != 1:
                rows.append((m, "ERROR", f"slip site found {count} times in {m['file']}", "-"))
                ok = False
                shutil.rmtree(work, ignore_errors=True)
                continue
            path.write_text(text.replace(m["old"], m["new"]), encoding="utf-8")
            code, out = _pytest(repo, m["tests"])
            verdict = "killed" if code == 1 else ("ERROR" if code not in (0, 1) else "SURVIVED")
            detail = "tests fail" if code == 1 else (out.strip().splitlines()[-1] if out.strip() else "")
            nb = "-"
            if args.notebooks and m["chapter"]:
                ncode, nout = _run([sys.executable, f"chapters/src/{m['chapter']}"], repo, 1200)
                nb = "killed" if ncode != 0 and "Error" in nout else ("SURVIVED" if ncode == 0 else "ERROR")
                if nb != "killed":
                    ok = False
            if verdict != "killed":
                ok = False
            rows.append((m, verdict, detail, nb))
            shutil.rmtree(work, ignore_errors=True)

    print(f"\n{'mutant':32s} {'D-id':6s} {'slip':28s} {'tests':9s} {'notebook':9s}")
    for m, verdict, detail, nb in rows:
        print(f"{m['name']:32s} {m['did']:6s} {m['slip']:28s} {verdict:9s} {nb:9s}"
              + ("" if verdict == "killed" else f"  ({detail})"))
    killed = sum(r[1] == "killed" for r in rows)
    print(f"\n{killed}/{len(rows)} mutants killed by their tests")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
