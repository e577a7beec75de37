"""The real ``elbo-edu`` command, in a subprocess, against every kind of fault of issue 14.

Each case checks the exit status and that stderr is one line naming the flag, with no traceback,
no warning and no ``[Errno N]`` text. Runs are tiny (the ring data, 8 hidden units, batches of
500: 20 steps an epoch).
"""
import json
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from elbo_edu.train import checkpoint as C

_SCRIPT = Path(sys.executable).with_name("elbo-edu")
COMMAND = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "elbo_edu.cli"]
TINY = ["--data", "ring", "--hidden", "8", "--batch-size", "500", "--no-progress", "--no-plots"]
TIMEOUT = 300


def elbo(*args, cwd=None):
    return subprocess.run([*COMMAND, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=TIMEOUT)


def one_line(proc, code, *needles, absent=()):
    err = proc.stderr.strip()
    assert proc.returncode == code, (proc.returncode, err)
    assert len(err.splitlines()) == 1, err
    for bad in ("Traceback", "Warning", "Errno", "warn(", *absent):
        assert bad not in err, err
    for needle in needles:
        assert needle in err, err
    return err


def files(run):
    return {p.name: p.read_bytes() for p in Path(run).iterdir()}


def strip(hist):
    return [{k: v for k, v in h.items() if k != "seconds"} for h in hist]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    proc = elbo("train", *TINY, "--epochs", "1", "--out", out)
    assert proc.returncode == 0, proc.stderr
    return out


# ------------------------------------------------------------------------ item 1: overwriting
def test_an_existing_run_is_refused(tiny_run):
    before = files(tiny_run)
    one_line(elbo("train", *TINY, "--epochs", "1", "--out", tiny_run), 2,
             f"--resume {tiny_run}", "--overwrite")
    assert files(tiny_run) == before


def test_overwrite_keeps_the_old_run_until_the_new_one_checkpoints(tmp_path):
    run = tmp_path / "r"
    assert elbo("train", *TINY, "--epochs", "1", "--out", run).returncode == 0
    before = files(run)
    one_line(elbo("train", *TINY, "--epochs", "1", "--lr", "1e3", "--out", run, "--overwrite"),
             1, "--lr")  # diverges before its first checkpoint
    assert files(run) == before
    assert elbo("train", *TINY, "--epochs", "1", "--seed", "7", "--out", run,
                "--overwrite").returncode == 0
    assert json.loads((run / "config.json").read_text())["train"]["seed"] == 7
    one_line(elbo("train", "--resume", run, "--overwrite"), 2, "--overwrite")


# --------------------------------------------------- items 2 and 5: the lock, signals, resume
def _start(run, *extra):
    proc = subprocess.Popen([*COMMAND, "train", *TINY, "--epochs", "100000", "--out", str(run),
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:  # wait for a finished epoch: the loop is running
        line = proc.stdout.readline()
        if line.startswith("epoch"):
            return proc
        assert line, proc.stderr.read()
    raise AssertionError("training did not start")


@pytest.mark.parametrize("signum,count", [(signal.SIGTERM, 1), (signal.SIGINT, 1),
                                          (signal.SIGINT, 2), (signal.SIGTERM, 2)])
def test_a_signal_saves_and_resume_matches_an_uninterrupted_run(tmp_path, signum, count):
    run = tmp_path / "r"
    proc = _start(run)
    if signum == signal.SIGTERM and count == 1:  # the folder is locked meanwhile
        one_line(elbo("train", *TINY, "--epochs", "1", "--out", run), 2, "in use by another "
                 f"training (process {proc.pid}")
    for _ in range(count):
        proc.send_signal(signum)
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 128 + signum, err
    assert f"--resume {run}" in err and "Traceback" not in err and not (run / ".lock").exists()
    done = C.load_checkpoint(run).meta["epoch"]
    assert elbo("train", "--resume", run, "--epochs", done + 2, "--no-progress",
                "--no-plots").returncode == 0
    ref = tmp_path / "ref"
    assert elbo("train", *TINY, "--epochs", done + 2, "--out", ref).returncode == 0
    assert strip(C.read_metrics(run)) == strip(C.read_metrics(ref))
    a, b = C.load_checkpoint(run), C.load_checkpoint(ref)
    assert a.meta["rng_state"] == b.meta["rng_state"]
    for k in a.params:
        assert np.array_equal(a.params[k], b.params[k])
    for k in a.optim:
        assert np.array_equal(a.optim[k], b.optim[k])


# ------------------------------------------------------------- items 3, 4: folders and epochs
@pytest.mark.parametrize("args,flag", [
    (["train", "--out", ""], "--out"), (["train", "--resume", ""], "--resume"),
    (["train", "--data-dir", " "], "--data-dir"), (["evaluate", ""], "RUN"),
    (["sample", "RUN", "--out", ""], "--out"),
])
def test_empty_paths_are_refused(args, flag, tmp_path):
    one_line(elbo(*args, cwd=tmp_path), 2, flag, "empty")
    assert os.listdir(tmp_path) == []


def test_sample_out_with_an_unknown_format(tiny_run, tmp_path):
    one_line(elbo("sample", tiny_run, "--out", tmp_path / "x.xyz"), 2, "--out: expected a file "
             "name ending in .png", absent=("path:",))


def test_out_naming_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    one_line(elbo("train", *TINY, "--epochs", "1", "--out", tmp_path / "f"), 2,
             "--out", "exists and is not a folder")


@pytest.mark.parametrize("extra", [[], ["--epochs", "1"]])
def test_resuming_a_finished_run(tiny_run, extra):
    before = files(tiny_run)
    one_line(elbo("train", "--resume", tiny_run, *extra, "--no-progress"), 2,
             "has 1 epochs", "--epochs is the new total", "more than 1")
    assert files(tiny_run) == before


# -------------------------------------------------------------------- item 7: no warning leaks
def test_a_large_lr_diverges_with_one_line(tmp_path):
    one_line(elbo("train", *TINY, "--epochs", "1", "--lr", "1e3", "--out", tmp_path / "r"), 1,
             "--lr 1000", "Likely cause")
    assert not (tmp_path / "r").exists()  # nothing was checkpointed: no folder is left


def test_a_tiny_obs_var_is_named_as_the_cause(tmp_path):
    err = one_line(elbo("train", *TINY, "--epochs", "1", "--likelihood", "gaussian",
                        "--obs-var", "1e-300", "--out", tmp_path / "r"), 1, "--obs-var 1e-300")
    assert "--lr" not in err


# --------------------------------------------------------- item 8: every flag of every command
@pytest.mark.parametrize("args,flag", [
    (["gradcheck", "--tol", "-1"], "--tol"), (["gradcheck", "--tol", "0"], "--tol"),
    (["gradcheck", "--tol", "nan"], "--tol"), (["gradcheck", "--tol", "inf"], "--tol"),
    (["gradcheck", "--seed", "-1"], "--seed"), (["gradcheck", "--seed", "x"], "--seed"),
    (["evaluate", "RUN", "--seed", "-1"], "--seed"), (["evaluate", "RUN", "--n", "0"], "--n"),
    (["sample", "RUN", "--seed", "1.5"], "--seed"), (["train", "--obs-var", "0"], "--obs-var"),
    (["train", "--kl-warmup", "-1"], "--kl-warmup"), (["train", "--seed", "-1"], "--seed"),
])
def test_every_flag_is_validated(args, flag):
    one_line(elbo(*args), 2, f"argument {flag}")


# ----------------------------------------------------------------- item 9: messages for users
def test_missing_mnist_names_flags_not_api_arguments(tmp_path):
    err = one_line(elbo("train", "--data", "mnist", "--data-dir", tmp_path, "--no-download",
                        "--no-progress"), 2, "--data-dir", "--data embedded")
    for api in ("data_dir", "path/", "load_dataset", "download=False"):
        assert api not in err


def test_damaged_checkpoints_are_one_line(tmp_path, tiny_run):
    pickled = tmp_path / "damaged"
    pickled.mkdir()
    np.savez(pickled / "checkpoint.npz", meta=np.array([{"x": 1}], dtype=object),
             **{"param/w": np.zeros(2)})
    for cmd in (["evaluate", pickled], ["sample", pickled], ["train", "--resume", pickled]):
        one_line(elbo(*cmd), 2, "corrupt or not a checkpoint", absent=("allow_pickle", "pickle="))
    ck = C.load_checkpoint(tiny_run)
    for key in ("model", "rng_state", "train"):
        bad = tmp_path / f"no_{key}"
        C.save_checkpoint(bad / "checkpoint.npz", ck.params, optim=ck.optim,
                          meta={k: v for k, v in ck.meta.items() if k != key})
        one_line(elbo("train", "--resume", bad, "--epochs", "3", "--no-progress"), 2,
                 f"'{key}'", absent=("KeyError",))
    bad = tmp_path / "no_t"
    C.save_checkpoint(bad / "checkpoint.npz", ck.params, meta=ck.meta,
                      optim={k: v for k, v in ck.optim.items() if k != "t"})
    one_line(elbo("train", "--resume", bad, "--epochs", "3", "--no-progress"), 2,
             "optimizer step counter")


def test_a_full_disk_says_what_was_kept(tmp_path, monkeypatch, capsys):
    """(In-process: the disk is made full by replacing the writer.)"""
    import errno

    from elbo_edu.cli import main
    run = tmp_path / "r"
    assert main(["train", *TINY, "--epochs", "1", "--out", str(run)]) == 0
    before = (run / "checkpoint.npz").read_bytes()
    capsys.readouterr()

    def full(f, **arrays):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", full)
    assert main(["train", "--resume", str(run), "--epochs", "2", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Errno" not in err
    assert "the disk is full" in err and "was kept" in err
    assert (run / "checkpoint.npz").read_bytes() == before


# -------------------------------------------------------- item 10: overflow when evaluating
def test_evaluating_an_overflowing_model_is_one_line(tmp_path, tiny_run):
    ck = C.load_checkpoint(tiny_run)
    params = {k: (v * np.float32(1e20) if k.startswith("decoder") else v)
              for k, v in ck.params.items()}
    C.save_checkpoint(tmp_path / "checkpoint.npz", params, optim=ck.optim, meta=ck.meta)
    one_line(elbo("evaluate", tmp_path, "--k", "2", "--n", "20"), 1, "overflow",
             absent=("logits", "mean:"))


# --------------------------------------------- items 11, 12: seeded subsets, absolute paths
def test_evaluate_n_scores_a_seeded_random_subset(tiny_run):
    from elbo_edu.data import load_dataset, random_rows
    from elbo_edu.train import evaluate

    proc = elbo("evaluate", tiny_run, "--k", "2", "--n", "40", "--seed", "4")
    assert proc.returncode == 0, proc.stderr
    res = json.loads((tiny_run / "evaluation.json").read_text())
    model, _ = C.load_model(tiny_run)
    x = load_dataset("ring").x_test
    rows = random_rows(len(x), 40, np.random.default_rng(4))
    assert res["n"] == 40 and res["subset_seed"] == 4 and rows.max() > 40
    assert res["test_loss"] == evaluate(model, x[rows])["loss"]


def test_a_relative_data_dir_is_stored_absolute(tmp_path):
    (tmp_path / "data").mkdir()
    proc = elbo("train", *TINY, "--epochs", "1", "--data-dir", "data", "--out", "r",
                cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    cfg = json.loads((tmp_path / "r" / "config.json").read_text())
    assert cfg["data_dir"] == str((tmp_path / "data").resolve())
    assert C.load_checkpoint(tmp_path / "r").meta["data_dir"] == cfg["data_dir"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert elbo("evaluate", tmp_path / "r", "--k", "2", "--n", "10",
                cwd=elsewhere).returncode == 0


# --------------------------------------------------------------- item 13: a bounded figure
def _png_size(path):
    head = Path(path).read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_sample_many_images_is_capped(tmp_path):
    run = tmp_path / "img"
    assert elbo("train", "--hidden", "8", "--z-dim", "2", "--epochs", "1", "--batch-size",
                "1000", "--no-progress", "--no-plots", "--out", run).returncode == 0
    proc = elbo("sample", run, "--n", "100000")
    assert proc.returncode == 0 and "--n 100000" in proc.stderr and "400" in proc.stderr
    w, h = _png_size(run / "samples.png")
    assert w < 3000 and h < 3000 and 0.5 < w / h < 2
    proc = elbo("sample", run, "--n", "9", "--out", tmp_path / "nine.png")
    assert proc.returncode == 0 and proc.stderr == ""


def test_sample_many_points_is_capped(tiny_run, tmp_path):
    proc = elbo("sample", tiny_run, "--n", "10000000", "--out", tmp_path / "p.png")
    assert proc.returncode == 0 and "20000" in proc.stdout
    w, h = _png_size(tmp_path / "p.png")
    assert w < 3000 and h < 3000
