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
    dict(name="mean_for_sum_in_iid_log_likelihood", did="D1.4", slip="mean instead of sum",
         file="elbo_edu/estimators/density_estimation.py",
         old="return float(np.sum(gaussian_log_prob(x, mean, logvar)))",
         new="return float(np.mean(gaussian_log_prob(x, mean, logvar)))",
         tests=["tests/test_density_estimation.py::test_iid_log_likelihood_is_sum_over_points"],
         chapter="01_probabilistic_models.py"),
    dict(name="bernoulli_probability_of_the_other_class", did="D2.2", slip="sigma(-logit) for p(x=1)",
         file="elbo_edu/distributions.py",
         old="return np.sum(x * logits - softplus(logits), axis=-1)",
         new="return np.sum(-x * logits - softplus(-logits), axis=-1)",
         tests=["tests/test_errata.py::test_directed_model_joint_gives_back_its_conditionals"],
         chapter="02_conditional_models_networks.py"),
    dict(name="prior_not_divided_out_in_naive_evidence", did="D3.3", slip="dropped log p(z)",
         file="elbo_edu/estimators/evidence.py",
         old="lw = np.asarray(model.log_joint(xb, eps), dtype=np.float64) - log_n_eps",
         new="lw = np.asarray(model.log_joint(xb, eps), dtype=np.float64)",
         tests=["tests/test_estimators.py::test_naive_relative_error_explodes_with_dimension"],
         chapter=None),
    dict(name="std_for_variance_in_forward_fit", did="D4.2", slip="std for variance",
         file="elbo_edu/estimators/kl.py",
         old="fwd = (mixture.mean(), float(np.log(mixture.var())))",
         new="fwd = (mixture.mean(), float(np.log(np.sqrt(mixture.var()))))",
         tests=["tests/test_estimators_gradients_kl.py::test_each_fit_wins_its_own_direction"],
         chapter="04_kl_divergence.py"),
    dict(name="half_the_discrete_kl", did="D4.1", slip="factor 1/2",
         file="elbo_edu/estimators/kl.py",
         old="terms = np.where(p > 0, p * (np.log(np.where(p > 0, p, 1.0)) - np.log(q)), 0.0)",
         new="terms = np.where(p > 0, 0.5 * p * (np.log(np.where(p > 0, p, 1.0)) - np.log(q)), 0.0)",
         tests=["tests/test_estimators_gradients_kl.py::test_discrete_kl_conventions_and_asymmetry"],
         chapter="04_kl_divergence.py"),
    dict(name="dropped_trace_term_in_linear_gaussian_elbo", did="D6.3", slip="dropped trace term",
         file="elbo_edu/models/linear_gaussian.py",
         old="+ (np.sum(resid ** 2, axis=1) + s2 @ col2) / self.sigma2)",
         new="+ np.sum(resid ** 2, axis=1) / self.sigma2)",
         tests=["tests/test_identities.py::test_elbo_is_reconstruction_minus_kl_to_prior"],
         chapter="06_evidence_lower_bound.py"),
    dict(name="missing_dimension_in_std_normal", did="D7.3", slip="missing D in the normaliser",
         file="elbo_edu/distributions.py",
         old="return -0.5 * (z.shape[-1] * LOG_2PI + np.sum(z * z, axis=-1))",
         new="return -0.5 * (LOG_2PI + np.sum(z * z, axis=-1))",
         tests=["tests/test_distributions.py::test_std_normal_matches_gaussian_with_zero_parameters"],
         chapter="07_likelihoods_log_joint.py"),
    dict(name="kl_summed_not_averaged_in_vae_loss", did="D9.2", slip="KL summed over the batch",
         file="elbo_edu/vae/objectives.py",
         old="    kl_mean = float(kl_n.sum()) / n",
         new="    kl_mean = float(kl_n.sum())",
         tests=["tests/test_vae.py::test_loss_is_recon_plus_beta_kl_from_the_pieces"],
         chapter="09_vae.py"),
    dict(name="dropped_trace_in_kl_to_posterior", did="D11.1", slip="dropped trace term",
         file="elbo_edu/models/linear_gaussian.py",
         old="return 0.5 * (tr + maha - self.z_dim - np.sum(lv, axis=1) - logdet_prec)",
         new="return 0.5 * (maha - np.sum(lv, axis=1) - logdet_prec)",
         tests=["tests/test_models_vae_grid.py::test_average_objective_is_nll_plus_average_gap_in_a_linear_gaussian_world"],  # noqa: E501
         chapter="11_diagnosing_enhancing.py"),
    dict(name="q_star_after_three_steps", did="D12.2", slip="q* not optimised",
         file="elbo_edu/models/gap_decomposition.py",
         old="    fit(objective, None, epochs=steps, lr=lambda t: lr * decay ** t)",
         new="    fit(objective, None, epochs=min(steps, 3), lr=lambda t: lr * decay ** t)",
         tests=["tests/test_gap_decomposition.py::test_inference_gap_is_approximation_plus_amortisation"],
         chapter="12_tighter_bounds_richer_posteriors.py"),
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
