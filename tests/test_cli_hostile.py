"""Hostile input at the ``elbo-edu`` command line: each mistake ends in one line naming the flag
(or the file and the key), with the right exit status, no traceback and no warning, and nothing
of the user's is lost. Subprocess cases use the real command; in-process cases (``main``) inject
faults a subprocess cannot (a failing network, a full disk, a read-only folder) so that they are
tested on every machine.
"""
import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
from pathlib import Path

import numpy as np
import pytest
from test_cli import cli
from test_cli_faults import COMMAND, TIMEOUT, TINY, elbo, files, one_line

from elbo_edu.train import checkpoint as C
from elbo_edu.data.locate import CACHE_ENV, DATA_ENV


@pytest.fixture(scope="module")
def run1(tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile") / "run"
    assert elbo("train", *TINY, "--epochs", "1", "--out", out).returncode == 0
    return out


def in_process(capsys, *args):
    """``main(args)`` -> (exit status, stdout, stderr), SystemExit included."""
    return cli(args, capsys)


def one_line_err(err: str, *needles):
    err = err.strip()
    assert len(err.splitlines()) == 1, err
    for bad in ("Traceback", "Warning", "Errno"):
        assert bad not in err, err
    for needle in needles:
        assert needle in err, err
    return err


# ---------------------------------------------------------------- item 17: no abbreviated flags
@pytest.mark.parametrize("args,flag,meant", [
    (["train", "--epoch", "3"], "--epoch", "--epochs"),
    (["train", "--kl-warm", "5"], "--kl-warm", "--kl-warmup"),
    (["evaluate", "RUN", "--se", "1"], "--se", "--seed"),
    (["sample", "RUN", "--ou", "x.png"], "--ou", "--out"),
    (["gradcheck", "--to", "1e-3"], "--to", "--tol"),
])
def test_an_abbreviated_flag_is_one_clear_line(tmp_path, args, flag, meant):
    args = [str(tmp_path) if a == "RUN" else a for a in args]
    err = one_line(elbo(*args), 2, f"unrecognized arguments: {flag}", meant)
    assert err.startswith(f"elbo-edu {args[0]}: error:")
    assert not (tmp_path / "runs").exists()


def test_registered_subcommands_refuse_abbreviations_too(capsys):
    from elbo_edu import cli

    def add(sub):
        p = sub.add_parser("hostile-probe")
        p.add_argument("--verbose-level", type=int, default=0)
        p.set_defaults(func=lambda a: a.verbose_level)

    saved = list(cli.SUBCOMMANDS)
    try:
        cli.register_subcommand("hostile-probe", add)
        assert in_process(capsys, "hostile-probe", "--verbose-level", "3")[0] == 3
        code, _, err = in_process(capsys, "hostile-probe", "--verbose", "3")
        assert code == 2
        one_line_err(err, "unrecognized arguments: --verbose", "--verbose-level")
    finally:
        cli.SUBCOMMANDS[:] = saved
    for name, p in cli.build_parser().get_default("_subparsers").items():
        assert p.allow_abbrev is False, name


# ---------------------------------------------------------- item 16: MNIST without a network
def _offline_message(err):
    err = one_line_err(err, "no network", "--data-dir", "ELBO_EDU_DATA", "--data embedded")
    for api in ("load_dataset", "data_dir", "path/", "urlopen", "[Errno", "download=False"):
        assert api not in err, err
    return err


def test_offline_mnist_says_there_is_no_network(tmp_path, monkeypatch, capsys):
    """(In-process: the network is made unreachable by replacing ``urlopen``.)"""
    def offline(*a, **k):
        raise urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))

    monkeypatch.setattr("urllib.request.urlopen", offline)
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    code, _, err = in_process(capsys, "train", "--data", "mnist", "--out", tmp_path / "r")
    assert code == 2
    _offline_message(err)
    assert not (tmp_path / "r").exists() and not list((tmp_path / "cache").rglob("*.part"))


def test_offline_mnist_in_a_network_namespace(tmp_path):
    """The real command with no network at all (a fresh network namespace, where allowed)."""
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-n", "true"],
                                         capture_output=True).returncode != 0:
        pytest.skip("cannot create a network namespace here (needs unshare -n and privileges)")
    env = dict(os.environ, **{CACHE_ENV: str(tmp_path / "cache")})
    env.pop(DATA_ENV, None)
    proc = subprocess.run([unshare, "-n", *COMMAND, "train", "--data", "mnist", "--out",
                           str(tmp_path / "r")], capture_output=True, text=True, env=env,
                          timeout=TIMEOUT)
    assert proc.returncode == 2, proc.stderr
    _offline_message(proc.stderr)


# --------------------------------------------------------- item 5: a model too large for memory
@pytest.mark.parametrize("flag,value", [("--hidden", "100000000"), ("--z-dim", "10000000000"),
                                        ("--hidden", "400 400 1000000000")])
def test_a_huge_model_is_refused_naming_the_flag(tmp_path, flag, value):
    run = tmp_path / "r"
    err = one_line(elbo("train", *TINY, flag, *value.split(), "--out", run), 2,
                   f"{flag} {value}:", "memory", absent=("MemoryError",))
    assert "available" in err and not run.exists()


def test_the_estimate_counts_weights_four_times_and_a_batch():
    from elbo_edu.cli._memory import vae_training_bytes

    cfg = {"x_dim": 784, "z_dim": 20, "hidden": [400], "dtype": "float32"}
    weights = 785 * 400 + 401 * 40 + 21 * 400 + 401 * 784
    assert vae_training_bytes(cfg, 128, 0) == 4 * (4 * weights + 128 * 3 * (784 + 400 + 40 + 20
                                                                          + 400 + 784))
    assert vae_training_bytes(dict(cfg, dtype="float64"), 128, 0) == \
        2 * vae_training_bytes(cfg, 128, 0)


def test_out_of_memory_anyway_is_one_line(tmp_path, monkeypatch, capsys):
    """(In-process: the estimate passes and the allocation fails regardless.)"""
    from elbo_edu import vae

    def no_memory(*a, **k):
        raise MemoryError

    monkeypatch.setattr(vae.VAE, "from_config", classmethod(no_memory))
    code, _, err = in_process(capsys, "train", *TINY, "--out", tmp_path / "r")
    assert code == 2
    one_line_err(err, "out of memory", "--hidden", "--batch-size")


# -------------------------------------------- items 6, 8, 14: damaged checkpoints, NaN weights
def _damaged(run1, tmp_path, name, **meta):
    ck = C.load_checkpoint(run1)
    path = tmp_path / name
    C.save_checkpoint(path / "checkpoint.npz", ck.params, optim=ck.optim, state=ck.state,
                      meta=dict(ck.meta, **meta))
    return path


@pytest.mark.parametrize("name,key", [
    ("history_int", "'history'"), ("history_item", "'history[0]'"),
    ("batch_size", "'train.batch_size'"), ("lr", "'train.lr'"), ("epoch", "'epoch'"),
    ("rng", "'rng_state'"), ("partial", "'partial'"), ("hidden", "'model.hidden'"),
    ("likelihood", "'model.likelihood'"), ("train_list", "'train'"),
])
def test_a_damaged_checkpoint_names_the_file_and_the_key(run1, tmp_path, name, key):
    ck = C.load_checkpoint(run1)
    meta = {"history_int": dict(history=5), "history_item": dict(history=[{"epoch": "x"}]),
            "batch_size": dict(train=dict(ck.meta["train"], batch_size="x")),
            "lr": dict(train=dict(ck.meta["train"], lr=-1)), "epoch": dict(epoch="1"),
            "rng": dict(rng_state=3), "partial": dict(partial=[1]),
            "hidden": dict(model=dict(ck.meta["model"], hidden="x")),
            "likelihood": dict(model=dict(ck.meta["model"], likelihood="poisson")),
            "train_list": dict(train=[1])}[name]
    bad = _damaged(run1, tmp_path, name, **meta)
    err = one_line(elbo("train", "--resume", bad, "--epochs", "3", "--no-progress"), 2,
                   f"{bad / 'checkpoint.npz'} is damaged", key,
                   absent=("TypeError", "--batch-size", "--lr ", "--hidden"))
    assert "'train." not in key or "should be" in err
    if name in ("hidden", "likelihood", "batch_size", "train_list"):  # what evaluate reads
        one_line(elbo("evaluate", bad, "--k", "2"), 2, key)


def test_nan_weights_are_refused_by_name(run1, tmp_path):
    ck = C.load_checkpoint(run1)
    params = dict(ck.params)
    params["decoder.0.W"] = params["decoder.0.W"] * np.nan
    bad = tmp_path / "nan"
    C.save_checkpoint(bad / "checkpoint.npz", params, optim=ck.optim, meta=ck.meta)
    for cmd in (["sample", bad], ["evaluate", bad], ["train", "--resume", bad, "--epochs", "3"]):
        one_line(elbo(*cmd), 2, "is damaged", "'decoder.0.W' holds NaN", absent=(" x:", "`x`"))


def test_load_params_refuses_nan_and_leaves_the_model_as_it_was(run1):
    model, ck = C.load_model(run1)
    before = {k: v.copy() for k, v in model.params.items()}
    params = {k: v.copy() for k, v in ck.params.items()}
    params[sorted(params)[-1]][...] = np.inf
    with pytest.raises(ValueError, match=f"params: '{sorted(params)[-1]}' holds NaN or inf"):
        model.load_params(params)
    assert all(np.array_equal(before[k], model.params[k]) for k in before)


# ---------------------------------------------- items 2, 7: a full disk, --overwrite, the lock
@pytest.fixture
def small_disk(tmp_path):
    """A 400 KiB tmpfs, where the test may mount one (root on Linux); skipped elsewhere."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mount = shutil.which("mount")
    proc = subprocess.run([mount or "mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs",
                           str(disk)], capture_output=True, text=True) if mount else None
    if proc is None or proc.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root); the injected-ENOSPC tests "
                    "cover the same logic")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def _fill(disk, leave_kib):
    """Fill ``disk`` but ``leave_kib`` KiB."""
    free = shutil.disk_usage(disk).free
    with open(disk / "filler", "wb") as f:
        try:
            f.write(b"\0" * max(free - leave_kib * 1024, 0))
        except OSError:
            pass


def _leftovers(folder):
    parent = Path(folder).parent
    return [p.name for p in parent.iterdir() if p.name.startswith(f".{Path(folder).name}.")]


@pytest.mark.parametrize("leave_kib", [6, 10])  # no room for the new lock / the checkpoint
def test_overwrite_on_a_full_disk_keeps_the_old_run_whole(small_disk, leave_kib):
    run = small_disk / "r"
    assert elbo("train", *TINY[:-1], "--epochs", "1", "--out", run).returncode == 0
    (run / "evaluation.json").write_text("{}\n")
    before = files(run)
    assert {"curves.png", "samples.png", "evaluation.json"} <= set(before)
    _fill(small_disk, leave_kib)
    err = one_line(elbo("train", *TINY, "--epochs", "1", "--seed", "5", "--out", run,
                        "--overwrite"), 2, "the disk is full", f"{run}/", "unchanged",
                   absent=("was kept", ".new."))
    assert any(name in err for name in ("checkpoint.npz", "metrics.jsonl", "config.json",
                                        ".lock"))
    assert files(run) == before and not _leftovers(run)
    (small_disk / "filler").unlink()
    assert elbo("train", *TINY, "--epochs", "1", "--seed", "5", "--out", run,
                "--overwrite").returncode == 0
    assert json.loads((run / "config.json").read_text())["train"]["seed"] == 5
    assert not (run / "evaluation.json").exists() and not _leftovers(run)


def test_a_full_disk_names_the_file_and_leaves_no_lock(small_disk):
    _fill(small_disk, 0)
    run = small_disk / "r"
    one_line(elbo("train", *TINY, "--epochs", "1", "--out", run), 2, "the disk is full",
             str(run))
    assert not (run / ".lock").exists()
    (small_disk / "filler").unlink()
    assert elbo("train", *TINY, "--epochs", "1", "--out", run).returncode == 0


def test_figures_on_a_full_disk_name_the_file_and_say_the_run_is_saved(tmp_path, monkeypatch,
                                                                       capsys):
    """(In-process: the disk fills up when the first figure is written.)"""
    from elbo_edu.plots import _style

    def full(fig, path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(_style, "atomic_write", lambda path, write: full(None, path))
    run = tmp_path / "r"
    code, _, err = in_process(capsys, "train", *TINY[:-1], "--epochs", "1", "--out", run)
    assert code == 2
    one_line_err(err, "the disk is full", str(run / "curves.png"), f"saved in {run}",
                 f"elbo-edu plot {run}")
    assert C.load_checkpoint(run).meta["epoch"] == 1


def _enospc(*a, **k):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_overwrite_with_no_room_for_the_checkpoint_injected(tmp_path, monkeypatch, capsys):
    """(In-process, everywhere: the new checkpoint's write fails with ENOSPC.)"""
    run = tmp_path / "r"
    assert in_process(capsys, "train", *TINY[:-1], "--epochs", "1", "--out", run)[0] == 0
    (run / "notes.txt").write_text("mine\n")
    before = files(run)
    monkeypatch.setattr(np, "savez", _enospc)
    code, _, err = in_process(capsys, "train", *TINY, "--epochs", "1", "--seed", "5",
                              "--out", run, "--overwrite")
    assert code == 2
    one_line_err(err, f"could not write {run / 'checkpoint.npz'}: the disk is full",
                 "unchanged")
    assert "was kept" not in err and files(run) == before and not _leftovers(run)
    monkeypatch.undo()
    assert in_process(capsys, "train", *TINY, "--epochs", "1", "--seed", "5", "--out", run,
                      "--overwrite")[0] == 0
    assert (run / "notes.txt").read_text() == "mine\n"  # the user's own file moved along
    assert not (run / "curves.png").exists() and not _leftovers(run)


def test_a_lock_that_cannot_be_written_is_not_left_behind(tmp_path, monkeypatch):
    from elbo_edu.train.run import RunFolder, RunFolderError

    monkeypatch.setattr(os, "pwrite", _enospc)
    with pytest.raises(RunFolderError, match=r"cannot lock .*the disk is full \(writing .*\.lock"):
        RunFolder(tmp_path / "r").open()
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("text", ["", "garbage", "12"])
def test_a_lock_left_behind_is_taken_over_empty_or_not(run1, tmp_path, text):
    run = tmp_path / "r"
    shutil.copytree(run1, run)
    (run / ".lock").write_text(text)
    proc = elbo("train", "--resume", run, "--epochs", "2", "--no-progress", "--no-plots")
    assert proc.returncode == 0, proc.stderr
    assert not (run / ".lock").exists()


def test_a_lock_held_by_a_live_process_is_respected_even_if_empty(tmp_path):
    run = tmp_path / "r"
    run.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time; "
         f"fd = os.open({str(run / '.lock')!r}, os.O_RDWR | os.O_CREAT); "
         "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        one_line(elbo("train", *TINY, "--epochs", "1", "--out", run), 2, "in use by another "
                 "training")
    finally:
        holder.kill()
        holder.wait()
    assert elbo("train", *TINY, "--epochs", "1", "--out", run).returncode == 0


# ---------------------------------------------------------- item 13: evaluating a read-only run
def _check_unsaved_evaluation(code, out, err, run):
    assert code == 0, err
    assert "negative ELBO" in out and "IWAE" in out
    one_line_err(err, "not saved", str(run / "evaluation.json"))
    assert not (run / "evaluation.json").exists()


def test_evaluate_on_a_read_only_run_prints_and_says_it_was_not_saved(run1, tmp_path,
                                                                     monkeypatch, capsys):
    """(In-process, everywhere: the write fails as on a read-only file system.)"""
    from elbo_edu.train import checkpoint

    def read_only(path, text):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    run = tmp_path / "r"
    shutil.copytree(run1, run)
    monkeypatch.setattr(checkpoint, "atomic_write_text", read_only)
    code, out, err = in_process(capsys, "evaluate", run, "--k", "2")
    _check_unsaved_evaluation(code, out, err, run)
    assert "read-only" in err


def test_evaluate_on_a_read_only_mount(run1, small_disk):
    run = small_disk / "r"
    shutil.copytree(run1, run)
    if subprocess.run(["mount", "-o", "remount,ro", str(small_disk)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot remount the tmpfs read-only here")
    proc = elbo("evaluate", run, "--k", "2")
    _check_unsaved_evaluation(proc.returncode, proc.stdout, proc.stderr, run)


# --------------------------------------------------- item 12: a signal at the very end of training
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_the_last_evaluation_is_not_swallowed(tmp_path, monkeypatch, capsys,
                                                              signum):
    """(In-process: the signal arrives while the last epoch's test loss is computed.)"""
    from elbo_edu import train as T

    original = T._evaluate_or_stop

    def evaluate_then_signal(state, x_test, epoch, run):
        if epoch + 1 == state.settings["epochs"]:
            os.kill(os.getpid(), signum)
        return original(state, x_test, epoch, run)

    monkeypatch.setattr(T, "_evaluate_or_stop", evaluate_then_signal)
    run = tmp_path / "r"
    code, _, err = in_process(capsys, "train", *TINY, "--epochs", "2", "--out", run)
    assert code == 128 + signum
    one_line_err(err, "the run is complete", f"saved in {run}", f"elbo-edu plot {run}")
    assert "--resume" not in err and C.load_checkpoint(run).meta["epoch"] == 2
    assert len(C.read_metrics(run)) == 2 and not (run / ".lock").exists()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_drawing_the_figures_says_the_run_is_saved(tmp_path, monkeypatch,
                                                                  capsys, signum):
    from elbo_edu import cli

    def figures_then_signal(*a, **k):
        os.kill(os.getpid(), signum)
        time.sleep(5)  # (the handler raises at once)
        raise AssertionError("the signal did not stop the figures")

    monkeypatch.setattr(cli, "_figures", figures_then_signal)
    run = tmp_path / "r"
    code, _, err = in_process(capsys, "train", *TINY[:-1], "--epochs", "1", "--out", run)
    assert code == 128 + signum
    one_line_err(err, "while drawing the figures", f"complete and saved in {run}",
                 f"elbo-edu plot {run}")
    assert C.load_checkpoint(run).meta["epoch"] == 1


def test_a_signal_while_python_shuts_down_prints_no_traceback(run1, tmp_path):
    """A signal during the exit handlers ends the command at once, with 128 + signum."""
    code = ("import atexit, os, signal, sys\n"
            "atexit.register(lambda: os.kill(os.getpid(), signal.SIGINT))\n"
            "from elbo_edu.cli import main\n"
            f"sys.argv = ['elbo-edu', 'sample', {str(run1)!r}, '--out', "
            f"{str(tmp_path / 's.png')!r}]\n"
            "sys.exit(main())\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr
    assert proc.returncode == 128 + signal.SIGINT and (tmp_path / "s.png").is_file()
