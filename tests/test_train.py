"""The training loop: metrics, warm-up, exact resume, Ctrl-C and NaN handling, checkpoints.

Chapter 09 (D9.4) and chapter 11 (D11.4, KL warm-up). Small synthetic data keep this fast.
"""
import json
import os
import signal

import numpy as np
import pytest

from elbo_edu.train import checkpoint as C
from elbo_edu.train import (TrainingDiverged, TrainingInterrupted, evaluate, kl_weight, train)
from elbo_edu.vae import VAE

KEYS = {"epoch", "train_loss", "train_recon", "train_kl", "test_loss", "test_recon", "test_kl",
        "beta", "steps", "seconds", "objective", "backend"}


def data(seed=0, n_train=200, n_test=60, d=12):
    rng = np.random.default_rng(seed)
    return (rng.uniform(size=(n_train, d)).astype(np.float32),
            rng.uniform(size=(n_test, d)).astype(np.float32))


def model(seed=0, **kw):
    return VAE(12, 3, (16,), rng=np.random.default_rng(seed), **kw)


def run(tmp_path, name, epochs, **kw):
    m = kw.pop("m", None) or model()
    hist = train(m, kw.pop("d", None) or data(), epochs=epochs, batch_size=32, seed=1,
                 out_dir=tmp_path / name, progress=False, **kw)
    return m, hist


def without_seconds(hist):
    return [{k: v for k, v in h.items() if k != "seconds"} for h in hist]


def same_params(a, b):
    return set(a.params) == set(b.params) and all(
        np.array_equal(a.params[k], b.params[k]) for k in a.params)


def test_run_folder_and_metrics(tmp_path):
    m, hist = run(tmp_path, "r", 3)
    out = tmp_path / "r"
    assert {p.name for p in out.iterdir()} == {"config.json", "metrics.jsonl", "checkpoint.npz"}
    lines = C.read_metrics(out)
    assert lines == json.loads(json.dumps(hist)) and len(hist) == 3
    for i, h in enumerate(hist):
        assert set(h) == KEYS and h["epoch"] == i + 1 and h["steps"] == 7  # ceil(200/32)
        assert h["seconds"] > 0
        assert h["train_loss"] == pytest.approx(h["train_recon"] + h["train_kl"], rel=1e-12)
        assert h["test_loss"] == pytest.approx(h["test_recon"] + h["test_kl"], rel=1e-12)
        assert h["train_kl"] >= 0 and h["test_kl"] >= 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"] == m.config() and cfg["train"]["batch_size"] == 32
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]


def test_training_lowers_the_loss():
    """D9.4: a few epochs on real digits (the subset shipped with the package) lower the test
    negative ELBO epoch after epoch, far below its value at initialisation."""
    from elbo_edu.data import load_dataset

    d = load_dataset("embedded")
    x_train, x_test = d.x_train[:2000], d.x_test[:500]
    m = VAE(784, 8, (64,), rng=np.random.default_rng(0))
    start = evaluate(m, x_test)["loss"]
    hist = train(m, (x_train, x_test), epochs=3, batch_size=64, lr=3e-3, progress=False)
    losses = [h["test_loss"] for h in hist]
    assert all(b < a for a, b in zip([start] + losses, losses))
    assert losses[-1] < 0.5 * start


def test_test_metrics_are_the_fixed_seed_evaluation(tmp_path):
    x_train, x_test = data()
    m, hist = run(tmp_path, "r", 2)
    ev = evaluate(m, x_test, seed=0)
    assert ev == {"loss": hist[-1]["test_loss"], "recon": hist[-1]["test_recon"],
                  "kl": hist[-1]["test_kl"]}
    # evaluate draws eps from default_rng(seed), batch after batch: recompute it by hand
    rng = np.random.default_rng(0)
    eps = rng.standard_normal((len(x_test), 3), dtype=np.float32)
    m.loss(x_test, eps)
    assert m.last.recon == pytest.approx(ev["recon"], rel=1e-6)
    assert m.last.kl == pytest.approx(ev["kl"], rel=1e-6)


def test_same_seed_same_run_other_seed_other_run(tmp_path):
    a, ha = run(tmp_path, "a", 1)
    b, hb = run(tmp_path, "b", 1)
    assert same_params(a, b) and without_seconds(ha) == without_seconds(hb)
    c = model()
    train(c, data(), epochs=1, batch_size=32, seed=2, progress=False)
    assert not same_params(a, c)


def test_resume_is_bitwise_exact(tmp_path):
    full, h_full = run(tmp_path, "full", 2)
    _, h1 = run(tmp_path, "part", 1)
    resumed, h2 = run(tmp_path, "part", 2, resume_from=tmp_path / "part")
    assert same_params(full, resumed)
    assert without_seconds(h2) == without_seconds(h_full)
    assert without_seconds(C.read_metrics(tmp_path / "part")) == without_seconds(h_full)
    # the optimizer state was restored too: one more epoch from each stays identical
    _, h3a = run(tmp_path, "full", 3, m=full, resume_from=tmp_path / "full")
    _, h3b = run(tmp_path, "part", 3, m=resumed, resume_from=tmp_path / "part")
    assert without_seconds(h3a) == without_seconds(h3b)


class Sabotage:
    """Wrap ``model.loss_and_grads`` to misbehave on call number ``at`` (0-based)."""

    def __init__(self, m, at, action):
        self.m, self.at, self.action, self.calls = m, at, action, 0
        self.orig = m.loss_and_grads
        m.loss_and_grads = self

    def __call__(self, *a, **kw):
        i, self.calls = self.calls, self.calls + 1
        if i == self.at:
            if self.action == "raise":
                raise KeyboardInterrupt
            if self.action == "signal":  # a real Ctrl-C in the middle of a step
                os.kill(os.getpid(), signal.SIGINT)
            if self.action == "nan":
                self.orig(*a, **kw)
                return float("nan"), self.m.grads
        return self.orig(*a, **kw)


@pytest.mark.parametrize("action", ["raise", "signal"])
def test_ctrl_c_saves_and_resume_is_exact(tmp_path, action):
    full, h_full = run(tmp_path, "full", 2)
    m = model()
    Sabotage(m, 7 + 3, action)  # epoch 2, step 4
    with pytest.raises(TrainingInterrupted) as info:
        run(tmp_path, "cut", 2, m=m)
    assert info.value.checkpoint == tmp_path / "cut" / "checkpoint.npz"
    meta = C.load_checkpoint(tmp_path / "cut").meta
    assert meta["epoch"] == 1 and meta["partial"]["step"] == (3 if action == "raise" else 4)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    fresh = model(seed=99)  # the weights come from the checkpoint
    _, h = run(tmp_path, "cut", 2, m=fresh, resume_from=tmp_path / "cut")
    assert same_params(full, fresh) and without_seconds(h) == without_seconds(h_full)


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    good, _ = run(tmp_path, "good", 1)
    m = model()
    Sabotage(m, 7 + 2, "nan")
    with pytest.raises(TrainingDiverged, match="nan at epoch 2, step 3"):
        run(tmp_path, "bad", 3, m=m)
    kept, ck = C.load_model(tmp_path / "bad")
    assert ck.meta["epoch"] == 1 and ck.meta["partial"] is None
    assert same_params(good, kept)
    assert len(C.read_metrics(tmp_path / "bad")) == 1
    assert isinstance(TrainingDiverged("x"), RuntimeError)


def test_kl_warmup_ramps_beta_linearly(tmp_path):
    assert kl_weight(0, 2.0, 10) == 0.0 and kl_weight(5, 2.0, 10) == 1.0
    assert kl_weight(10, 2.0, 10) == 2.0 and kl_weight(30, 2.0, 10) == 2.0
    assert kl_weight(3, 0.5, 0) == 0.5
    m = model(beta=0.5)
    seen = []
    orig = m.loss_and_grads
    m.loss_and_grads = lambda *a, **kw: (seen.append(kw["beta"]), orig(*a, **kw))[1]
    _, hist = run(tmp_path, "w", 3, m=m, kl_warmup_epochs=2)
    assert seen == [0.5 * min(1.0, t / 14) for t in range(21)]
    assert [h["beta"] for h in hist] == [0.5 * 6 / 14, 0.5 * 13 / 14, 0.5]
    assert hist[0]["train_loss"] == pytest.approx(hist[0]["train_recon"]
                                                  + 0.5 * hist[0]["train_kl"], rel=1e-12)


def test_dynamic_binarization_feeds_binary_batches(tmp_path):
    m = model()
    batches = []
    orig = m.loss_and_grads
    m.loss_and_grads = lambda x, **kw: (batches.append(x.copy()), orig(x, **kw))[1]
    run(tmp_path, "b", 1, m=m, binarize="dynamic")
    assert all(np.isin(b, (0, 1)).all() for b in batches)
    assert sum(len(b) for b in batches) == 200


def test_data_forms_and_no_test_set(tmp_path):
    x_train, x_test = data()
    hist = train(model(), x_train, epochs=1, batch_size=64, progress=False)
    assert hist[0]["test_loss"] is None and hist[0]["steps"] == 4

    class DS:
        pass
    ds = DS()
    ds.x_train, ds.x_test = x_train, x_test
    assert train(model(), ds, epochs=1, progress=False)[0]["test_loss"] is not None


def test_float64_training(tmp_path):
    m = model(dtype=np.float64)
    x_train, x_test = data()
    hist = train(m, (x_train.astype(np.float64), x_test), epochs=1, progress=False)
    assert np.isfinite(hist[0]["test_loss"]) and m.params["decoder.0.W"].dtype == np.float64


@pytest.mark.parametrize("kw,name", [
    (dict(epochs=0), "epochs"), (dict(batch_size=-3), "batch_size"), (dict(lr=0.0), "lr"),
    (dict(kl_warmup_epochs=-1), "kl_warmup_epochs"), (dict(binarize="threshold"), "binarize"),
    (dict(data="nope"), "data"), (dict(data=np.zeros((5, 11))), "data.x_train"),
    (dict(data=(np.zeros((5, 12)), np.full((5, 12), 2.0))), "data.x_test"),
])
def test_bad_arguments(kw, name):
    args = dict(epochs=1, data=data())
    args.update(kw)
    with pytest.raises(ValueError, match=name):
        train(model(), args.pop("data"), progress=False, **args)


def test_resume_checks(tmp_path):
    run(tmp_path, "r", 1)
    with pytest.raises(ValueError, match="batch_size"):
        train(model(), data(), epochs=2, batch_size=16, seed=1, progress=False,
              resume_from=tmp_path / "r")
    with pytest.raises(ValueError, match="resume_from: the checkpoint was made for the model"):
        train(VAE(12, 4, (16,), rng=np.random.default_rng(0)), data(), epochs=2, batch_size=32,
              progress=False, resume_from=tmp_path / "r")
    with pytest.raises(C.CheckpointError, match="no checkpoint"):
        train(model(), data(), epochs=1, progress=False, resume_from=tmp_path / "missing")


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    run(tmp_path, "r", 1)
    path = tmp_path / "r" / "checkpoint.npz"
    before = path.read_bytes()

    def broken(f, **arrays):
        f.write(b"half a zip file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        C.save_checkpoint(path, {"w": np.zeros(3)})
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    bad = tmp_path / "checkpoint.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(C.CheckpointError, match="corrupt or not a checkpoint"):
        C.load_checkpoint(tmp_path)
    np.savez(bad, a=np.zeros(2))
    with pytest.raises(C.CheckpointError, match="not an elbo_edu checkpoint"):
        C.load_model(bad)


def test_load_model_round_trip(tmp_path):
    m, hist = run(tmp_path, "r", 1)
    loaded, ck = C.load_model(tmp_path / "r")
    assert same_params(m, loaded) and loaded.config() == m.config()
    assert ck.meta["history"] == json.loads(json.dumps(hist))


def test_each_epoch_records_the_backend_that_trained_it(tmp_path):
    """A run resumed on the other backend says so epoch by epoch in metrics.jsonl."""
    from elbo_edu import kernels as K

    with K.use_backend("numpy"):
        run(tmp_path, "r", 1)
    with K.use_backend("numba"):
        _, hist = run(tmp_path, "r", 2, resume_from=tmp_path / "r")
    assert [h["backend"] for h in hist] == ["numpy", "numba"]
    assert [h["backend"] for h in C.read_metrics(tmp_path / "r")] == ["numpy", "numba"]
