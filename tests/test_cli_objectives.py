"""``elbo-edu train --objective elbo|iwae|free-bits --k K`` and ``evaluate``'s NLL, its standard
error and the active units: run folders, bit-for-bit resume and one-line errors."""
import json

import numpy as np
import pytest

from elbo_edu.train import checkpoint as C
from elbo_edu.cli import main

# 2-D toy data and a small network: a run of a few seconds
FAST = ["--data", "moons", "--hidden", "16", "16", "--activation", "tanh", "--no-progress",
        "--no-plots", "--seed", "4", "--adam-eps", "1e-4"]


def cli(args, capsys):
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def _strip(run):
    return [{k: v for k, v in h.items() if k != "seconds"} for h in C.read_metrics(run)]


@pytest.mark.parametrize("objective", [["--objective", "elbo", "--k", "3"],
                                       ["--objective", "iwae", "--k", "4"],
                                       ["--objective", "free-bits", "--free-bits", "0.3"]])
def test_every_objective_trains_records_itself_and_resumes_bit_for_bit(objective, tmp_path,
                                                                        capsys):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert cli(["train", *FAST, *objective, "--epochs", "2", "--out", whole], capsys)[0] == 0
    assert cli(["train", *FAST, *objective, "--epochs", "1", "--out", cut], capsys)[0] == 0
    code, _, err = cli(["train", "--resume", cut, "--epochs", "2", "--no-progress",
                        "--no-plots"], capsys)
    assert code == 0, err
    name = objective[1]
    assert _strip(cut) == _strip(whole) and len(_strip(whole)) == 2
    assert all(h["objective"] == name for h in C.read_metrics(whole))
    cfg = json.loads((whole / "config.json").read_text())
    assert cfg["train"]["objective"] == name and cfg["train"]["adam_eps"] == 1e-4
    a, b = C.load_model(cut)[0], C.load_model(whole)[0]
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    code, out, _ = cli(["evaluate", whole, "--k", "20", "--no-progress"], capsys)
    ev = json.loads((whole / "evaluation.json").read_text())
    assert code == 0 and ev["objective"] == name and ev["iwae_nll_se"] > 0
    assert 0 <= ev["active_units"] <= 2 and "active units" in out and "+-" in out


@pytest.mark.parametrize("args,needle", [
    (["--free-bits", "0.2"], "--free-bits"),
    (["--objective", "free-bits"], "--objective"),
    (["--objective", "iwae", "--beta", "2"], "--beta"),
    (["--objective", "iwae", "--kl-warmup", "2"], "--kl-warmup"),
    (["--objective", "iwae", "--likelihood", "gaussian-learned"], "--objective"),
    (["--binarize", "dynamic", "--likelihood", "gaussian"], "--binarize"),
    (["--k", "0"], "--k"),
    (["--k", "100000", "--batch-size", "128"], "--k"),
    (["--adam-eps", "0"], "--adam-eps"),
    (["--objective", "elbow"], "--objective"),
])
def test_bad_combinations_are_one_line_naming_the_flag(args, needle, tmp_path, capsys):
    code, out, err = cli(["train", *args, "--out", tmp_path / "r"], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and needle in lines[0], err
    assert not (tmp_path / "r").exists()


def test_evaluate_bounds_k_times_n_in_one_line(tmp_path, capsys):
    run = tmp_path / "r"
    assert cli(["train", *FAST, "--epochs", "1", "--out", run], capsys)[0] == 0
    code, out, err = cli(["evaluate", run, "--k", "100000000000"], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "--k" in lines[0] and "--n" in lines[0], err
