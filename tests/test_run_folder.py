"""The run folder and the faults of the Python training API (issue 14, items 1-6, 9, 10, 16).

Each test names the kind of fault it covers. Tiny models and data keep this fast.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from elbo_edu.train import checkpoint as C
from elbo_edu.train.run import RunFolder, RunFolderError, describe_os_error
from elbo_edu.train import TrainingDiverged, evaluate, train
from elbo_edu.vae import VAE


def data(seed=0, n_train=40, n_test=12, d=6):
    rng = np.random.default_rng(seed)
    return (rng.uniform(size=(n_train, d)).astype(np.float32),
            rng.uniform(size=(n_test, d)).astype(np.float32))


def model(seed=0, **kw):
    return VAE(6, 2, (8,), rng=np.random.default_rng(seed), **kw)


def fit(out, epochs=1, m=None, **kw):
    return train(m or model(), kw.pop("d", None) or data(), epochs=epochs, batch_size=8,
                 seed=kw.pop("seed", 1), out_dir=out, progress=False, **kw)


def snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


# ------------------------------------------------------------------ item 1: no silent overwrite
def test_an_existing_run_is_refused_and_left_intact(tmp_path):
    fit(tmp_path / "r")
    before = snapshot(tmp_path / "r")
    with pytest.raises(RunFolderError, match=r"already holds a run.*--resume .*--overwrite"):
        fit(tmp_path / "r", seed=2)
    assert snapshot(tmp_path / "r") == before


def test_overwrite_waits_for_the_first_checkpoint(tmp_path):
    fit(tmp_path / "r")
    before = snapshot(tmp_path / "r")
    m = model()
    m.loss_and_grads = lambda *a, **kw: (float("nan"), m.grads)  # fails at step 1
    with pytest.raises(TrainingDiverged):
        fit(tmp_path / "r", m=m, overwrite=True, seed=2)
    assert snapshot(tmp_path / "r") == before  # the old run is not destroyed
    hist = fit(tmp_path / "r", overwrite=True, seed=2, epochs=2)
    cfg = json.loads((tmp_path / "r" / "config.json").read_text())
    assert cfg["train"]["seed"] == 2 and cfg["train"]["epochs"] == 2
    assert C.read_metrics(tmp_path / "r") == json.loads(json.dumps(hist))
    assert C.load_checkpoint(tmp_path / "r").meta["train"]["seed"] == 2


def test_a_run_that_never_checkpoints_leaves_no_folder(tmp_path):
    m = model()
    m.loss_and_grads = lambda *a, **kw: (float("inf"), m.grads)
    with pytest.raises(TrainingDiverged):
        fit(tmp_path / "new", m=m)
    assert not (tmp_path / "new").exists()
    fit(tmp_path / "new")  # the same folder is then free for a new run
    assert {"config.json", "metrics.jsonl", "checkpoint.npz"} <= set(os.listdir(tmp_path / "new"))


# ------------------------------------------------------------------------------- item 2: lock
def test_a_locked_folder_is_refused(tmp_path):
    with RunFolder(tmp_path / "r") as held:
        assert held.lock_path.is_file()
        with pytest.raises(RunFolderError, match=f"in use by another training \\(process "
                                                 f"{os.getpid()}"):
            fit(tmp_path / "r")
    assert not (tmp_path / "r" / ".lock").exists()
    fit(tmp_path / "r")
    assert not (tmp_path / "r" / ".lock").exists()  # released after the run


def test_the_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = int(proc.stdout)
    import socket
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / ".lock").write_text(f"{dead} {socket.gethostname()}\n")
    fit(tmp_path / "r")
    assert (tmp_path / "r" / "checkpoint.npz").is_file()
    assert not (tmp_path / "r" / ".lock").exists()


def test_a_lock_of_another_machine_is_respected(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / ".lock").write_text("1 some-other-host\n")
    with pytest.raises(RunFolderError, match="process 1 on some-other-host"):
        fit(tmp_path / "r")


# --------------------------------------------------------------------- item 3: bad folder names
@pytest.mark.parametrize("out", ["", "   "])
def test_an_empty_out_dir_is_refused(out, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="out_dir: expected a folder name"):
        fit(out)
    assert os.listdir(tmp_path) == []


def test_an_out_dir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(RunFolderError, match="out_dir: .* exists and is not a folder"):
        fit(tmp_path / "f")


# ------------------------------------------------------------------ item 4: nothing to resume
@pytest.mark.parametrize("epochs", [1, 2])
def test_resuming_a_finished_run_is_an_error(tmp_path, epochs):
    fit(tmp_path / "r", epochs=2)
    before = snapshot(tmp_path / "r")
    with pytest.raises(ValueError, match=r"epochs: the run in .* has 2 epochs and epochs is "
                                         r"the new total; expected more than 2"):
        fit(tmp_path / "r", epochs=epochs, resume_from=tmp_path / "r")
    assert snapshot(tmp_path / "r") == before


# ------------------------------------------------------- item 6: the config describes the run
def test_resuming_with_another_lr_is_refused_and_the_config_kept(tmp_path):
    fit(tmp_path / "r", lr=1e-3)
    before = snapshot(tmp_path / "r")
    with pytest.raises(ValueError, match=r"resume_from: the run used lr=0.001; resuming with "
                                         r"lr=0.5"):
        fit(tmp_path / "r", epochs=2, lr=0.5, resume_from=tmp_path / "r")
    assert snapshot(tmp_path / "r") == before
    fit(tmp_path / "r", epochs=2, lr=1e-3, resume_from=tmp_path / "r")
    cfg = json.loads((tmp_path / "r" / "config.json").read_text())
    ck = C.load_checkpoint(tmp_path / "r").meta
    assert cfg["train"] == ck["train"] and cfg["train"]["lr"] == 1e-3
    assert cfg["train"]["epochs"] == 2 and cfg["model"] == ck["model"]


# ------------------------------------------- item 9: damaged checkpoints and missing metadata
def _rewrite(path, drop_meta=None, drop_optim=None):
    ck = C.load_checkpoint(path)
    meta = {k: v for k, v in ck.meta.items() if k != drop_meta}
    optim = {k: v for k, v in ck.optim.items() if k != drop_optim}
    C.save_checkpoint(path, ck.params, optim=optim, state=ck.state, meta=meta)


@pytest.mark.parametrize("drop_meta,drop_optim,needle", [
    ("model", None, "has no 'model' entry"), ("rng_state", None, "has no 'rng_state' entry"),
    ("train", None, "has no 'train' entry"), ("history", None, "has no 'history' entry"),
    (None, "t", "has no optimizer step counter"),
])
def test_checkpoint_metadata_missing_a_key(tmp_path, drop_meta, drop_optim, needle):
    fit(tmp_path / "r")
    _rewrite(tmp_path / "r" / "checkpoint.npz", drop_meta, drop_optim)
    with pytest.raises(C.CheckpointError, match=needle):
        fit(tmp_path / "r", epochs=2, resume_from=tmp_path / "r")


def test_a_damaged_checkpoint_never_mentions_allow_pickle(tmp_path):
    bad = tmp_path / "checkpoint.npz"
    np.savez(bad, meta=np.array([{"a": 1}], dtype=object), **{"param/w": np.zeros(2)})
    with pytest.raises(C.CheckpointError) as info:
        C.load_checkpoint(bad)
    assert "corrupt or not a checkpoint" in str(info.value)
    assert "pickle" not in str(info.value)
    bad.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(C.CheckpointError, match="corrupt or not a checkpoint"):
        C.load_checkpoint(bad)


def test_a_full_disk_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    fit(tmp_path / "r")
    before = (tmp_path / "r" / "checkpoint.npz").read_bytes()
    import errno

    def full(f, **arrays):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", full)
    with pytest.raises(RunFolderError) as info:
        fit(tmp_path / "r", epochs=2, resume_from=tmp_path / "r")
    msg = str(info.value)
    assert "the disk is full" in msg and "was kept" in msg and "Errno" not in msg
    assert (tmp_path / "r" / "checkpoint.npz").read_bytes() == before
    assert not [p for p in (tmp_path / "r").iterdir() if p.name.endswith(".tmp")]


def test_describe_os_error_has_no_errno_text():
    import errno
    for code in (errno.ENOSPC, errno.EEXIST, errno.EACCES, errno.EROFS, 12345):
        text = describe_os_error(OSError(code, "Some error", "/x/y"))
        assert "Errno" not in text and "/x/y" in text
    # the hidden temporary file of an atomic write is reported as its destination
    text = describe_os_error(OSError(errno.ENOSPC, "x", "/r/.checkpoint.npz.77.0a1b2c3d.tmp"))
    assert text == "the disk is full (writing /r/checkpoint.npz)"


# ----------------------------------------------------- item 10: overflow on the evaluation path
def test_evaluate_reports_an_overflow_as_a_divergence():
    m = VAE(6, 2, (8,), likelihood="gaussian", rng=np.random.default_rng(0))
    x = np.full((4, 6), 1e30, np.float32)  # finite data whose squared error overflows float32
    with pytest.raises(TrainingDiverged, match="not finite on rows 1-4"):
        evaluate(m, x)


def test_an_overflow_only_on_the_test_set_stops_training_cleanly(tmp_path):
    m = VAE(6, 2, (8,), likelihood="gaussian", rng=np.random.default_rng(0))
    x_train, x_test = data()
    x_test[3] = 1e30
    with pytest.raises(TrainingDiverged, match=r"test loss is not finite after epoch 1"):
        fit(tmp_path / "r", m=m, d=(x_train, x_test))


def test_evaluate_rejects_empty_data():
    with pytest.raises(ValueError, match="x: expected at least one row"):
        evaluate(model(), np.zeros((0, 6), np.float32))


# -------------------------------------------------------------------------- item 16: the seed
@pytest.mark.parametrize("kw", [dict(seed=-1), dict(seed="abc"), dict(seed=1.5),
                                dict(eval_seed=-2), dict(eval_batch_size=0)])
def test_bad_seeds_are_named(kw):
    name = next(iter(kw))
    with pytest.raises(ValueError, match=f"^{name}: expected"):
        train(model(), data(), epochs=1, progress=False, **kw)


def test_empty_test_set_is_named():
    x_train, _ = data()
    with pytest.raises(ValueError, match="data.x_test: expected at least one row"):
        train(model(), (x_train, x_train[:0]), epochs=1, progress=False)


# ------------------------------------------------- item 5: a stop between two epochs' steps
def test_an_interrupt_between_epochs_is_reported_with_the_checkpoint(tmp_path):
    from elbo_edu.train import TrainingInterrupted

    full = model()
    fit(tmp_path / "full", epochs=3, m=full)

    def stop_after_first(metrics):
        if metrics["epoch"] == 1:
            raise KeyboardInterrupt  # e.g. Ctrl-C twice while the epoch line is printed

    with pytest.raises(TrainingInterrupted, match="interrupted after epoch 1") as info:
        fit(tmp_path / "cut", epochs=3, log=stop_after_first)
    assert info.value.checkpoint == tmp_path / "cut" / "checkpoint.npz"
    resumed = model(seed=5)
    fit(tmp_path / "cut", epochs=3, m=resumed, resume_from=tmp_path / "cut")
    assert all(np.array_equal(full.params[k], resumed.params[k]) for k in full.params)


def test_a_swap_that_fails_keeps_both_runs(tmp_path, monkeypatch):
    """(--overwrite into a folder that cannot be renamed, e.g. a mount point.)"""
    import errno

    from elbo_edu.train import run as R
    fit(tmp_path / "r")
    before = snapshot(tmp_path / "r")

    def busy(a, b):
        raise OSError(errno.EBUSY, "Device or resource busy", str(b))

    monkeypatch.setattr(R, "_exchange", busy)
    with pytest.raises(RunFolderError, match=r"could not replace the run in .*old run is "
                                             r"unchanged; the new run is in"):
        fit(tmp_path / "r", overwrite=True, seed=2)
    assert snapshot(tmp_path / "r") == before
    (staged,) = [p for p in tmp_path.iterdir() if p.name.startswith(".r.new.")]
    assert C.load_checkpoint(staged).meta["train"]["seed"] == 2
