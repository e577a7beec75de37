"""``elbo-edu train | evaluate | sample``: run folders, resume, and one-line errors."""
import json
import subprocess
import sys

import numpy as np
import pytest

from elbo_edu.train import checkpoint as C
from elbo_edu.cli import main

SMALL = ["--epochs", "1", "--hidden", "32", "--z-dim", "2", "--no-progress", "--seed", "3"]


def cli(args, capsys):
    """Run ``main(args)``; return (exit status, stdout, stderr). argparse errors exit via
    SystemExit, which is part of the command's behaviour."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "img"
    assert main(["train", *SMALL, "--out", str(out)]) == 0
    return out


def test_train_writes_the_run_folder(image_run):
    names = {p.name for p in image_run.iterdir()}
    assert {"config.json", "metrics.jsonl", "checkpoint.npz", "curves.png", "reconstructions.png",
            "samples.png", "latent.png", "manifold.png"} <= names
    cfg = json.loads((image_run / "config.json").read_text())
    assert cfg["data"] == "embedded" and cfg["model"]["x_dim"] == 784
    assert cfg["model"]["hidden"] == [32] and cfg["model"]["z_dim"] == 2
    assert cfg["model"]["likelihood"] == "bernoulli" and cfg["train"]["seed"] == 3
    (m,) = C.read_metrics(image_run)
    for key in ("epoch", "train_loss", "test_loss", "train_recon", "train_kl", "test_recon",
                "test_kl", "seconds"):
        assert isinstance(m[key], (int, float))
    assert all((image_run / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
               for n in names if n.endswith(".png"))


def test_resume_continues_exactly(tmp_path, capsys):
    small = [*SMALL[2:], "--data", "moons", "--no-plots"]  # 2-D data: a fast run
    assert cli(["train", *small, "--epochs", "2", "--out", tmp_path / "two"], capsys)[0] == 0
    cut = tmp_path / "cut"
    assert cli(["train", *small, "--epochs", "1", "--out", cut], capsys)[0] == 0
    code, out, err = cli(["train", "--resume", cut, "--epochs", "2", "--no-progress",
                          "--no-plots", "--lr", "0.5"], capsys)
    assert code == 0 and "ignoring --lr" in err
    strip = [{k: v for k, v in h.items() if k != "seconds"} for h in C.read_metrics(cut)]
    ref = [{k: v for k, v in h.items() if k != "seconds"} for h in C.read_metrics(tmp_path / "two")]
    assert strip == ref and len(ref) == 2
    a, _ = C.load_model(cut)
    b, _ = C.load_model(tmp_path / "two")
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)


def test_evaluate_and_sample(image_run, tmp_path, capsys):
    code, out, _ = cli(["evaluate", image_run, "--k", "5", "--n", "40"], capsys)
    assert code == 0 and "negative ELBO" in out and "IWAE K=5" in out
    res = json.loads((image_run / "evaluation.json").read_text())
    assert res["n"] == 40 and res["k"] == 5 and np.isfinite(res["iwae_nll"])
    assert res["test_loss"] == pytest.approx(res["test_recon"] + res["test_kl"], rel=1e-12)
    png = tmp_path / "s.png"
    code, out, _ = cli(["sample", image_run, "--n", "9", "--out", png], capsys)
    assert code == 0 and png.read_bytes()[:4] == b"\x89PNG"


def test_toy_data_defaults(tmp_path, capsys):
    out = tmp_path / "moons"
    code, _, _ = cli(["train", "--data", "moons", "--epochs", "1", "--hidden", "16",
                      "--no-progress", "--out", out], capsys)
    assert code == 0
    cfg = json.loads((out / "config.json").read_text())["model"]
    assert cfg["likelihood"] == "gaussian" and cfg["obs_var"] == 0.01 and cfg["z_dim"] == 2 and cfg["x_dim"] == 2
    assert {"samples.png", "latent.png", "curves.png"} <= {p.name for p in out.iterdir()}
    assert cli(["evaluate", out, "--k", "3", "--n", "50"], capsys)[0] == 0
    assert cli(["sample", out, "--n", "100"], capsys)[0] == 0


def test_default_run_folder_is_timestamped(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = cli(["train", "--data", "ring", "--epochs", "1", "--hidden", "8",
                        "--no-progress", "--no-plots"], capsys)
    assert code == 0
    (run,) = (tmp_path / "runs").iterdir()
    assert (run / "checkpoint.npz").is_file() and str(run.name)[:2] == "20"


@pytest.mark.parametrize("args,needle", [
    (["train", "--batch-size", "-1"], "--batch-size"),
    (["train", "--epochs", "0"], "--epochs"),
    (["train", "--hidden", "400", "0"], "--hidden"),
    (["train", "--z-dim", "two"], "--z-dim"),
    (["train", "--likelihood", "poisson"], "--likelihood"),
    (["train", "--lr", "nan"], "--lr"),
    (["train", "--beta", "-1"], "--beta"),
    (["train", "--data", "cifar"], "--data"),
    (["evaluate", "RUN", "--k", "0"], "--k"),
    (["sample", "RUN", "--n", "-5"], "--n"),
])
def test_bad_arguments_one_line(args, needle, capsys):
    code, out, err = cli(args, capsys)
    assert code == 2 and needle in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_missing_data_and_checkpoints_one_line(tmp_path, capsys):
    cases = [
        (["train", "--data", "mnist", "--data-dir", tmp_path / "nowhere", "--no-progress"],
         "--data-dir:"),
        (["evaluate", tmp_path / "norun"], "no checkpoint"),
        (["sample", tmp_path / "norun"], "no checkpoint"),
        (["train", "--resume", tmp_path / "norun"], "no checkpoint"),
    ]
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "checkpoint.npz").write_bytes(b"garbage")
    cases.append((["evaluate", tmp_path / "junk"], "corrupt"))
    for args, needle in cases:
        code, out, err = cli(args, capsys)
        assert code == 2, args
        assert needle in err and len(err.strip().splitlines()) == 1, err


def test_divergence_and_interrupt_exit_cleanly(tmp_path, capsys, monkeypatch):
    from elbo_edu import train as T

    def diverge(*a, **kw):
        raise T.TrainingDiverged("the loss became nan at epoch 2, step 3")

    monkeypatch.setattr(T, "train", diverge)
    code, _, err = cli(["train", "--data", "ring", "--no-progress", "--out", tmp_path], capsys)
    assert code == 1 and "loss became nan" in err and len(err.strip().splitlines()) == 1

    def interrupt(*a, **kw):
        raise T.TrainingInterrupted("interrupted at epoch 1, step 2",
                                    tmp_path / "checkpoint.npz")

    monkeypatch.setattr(T, "train", interrupt)
    code, _, err = cli(["train", "--data", "ring", "--no-progress", "--out", tmp_path], capsys)
    assert code == 130 and "--resume" in err and "Traceback" not in err


def test_help_lists_every_flag(capsys):
    code, out, _ = cli(["train", "--help"], capsys)
    assert code == 0
    for flag in ("--data", "--data-dir", "--likelihood", "--hidden", "--z-dim", "--batch-size",
                 "--lr", "--epochs", "--beta", "--kl-warmup", "--seed", "--out", "--resume",
                 "--no-progress", "--dtype", "binarized-mnist", "gaussian-learned"):
        assert flag in out
    for sub, flags in (("evaluate", ("--k", "--data-dir")), ("sample", ("--n", "--out"))):
        code, out, _ = cli([sub, "--help"], capsys)
        assert code == 0 and all(f in out for f in flags)


def test_console_script_error_has_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "elbo_edu.cli", "train", "--hidden", "-3"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "--hidden" in proc.stderr


def test_figures_show_random_rows_not_the_first_ones(tmp_path, monkeypatch):
    """Issue 14, item 11: a test set sorted by class (like binarized MNIST) must not give a
    reconstructions figure or a latent plot of one class."""
    from elbo_edu import cli as CLI
    from elbo_edu import plots
    from elbo_edu.data import Dataset
    from elbo_edu.vae import VAE

    y = np.repeat(np.arange(10), 50)
    x = (np.random.default_rng(0).uniform(size=(500, 16)) * 0.5
         + y[:, None] / 20).astype(np.float32)
    data = Dataset("sorted", x, x, y, y)
    seen = {}
    for name in ("plot_curves", "plot_reconstructions", "plot_samples", "plot_latent_scatter",
                 "plot_manifold"):
        monkeypatch.setattr(plots, name, lambda *a, _n=name, **kw: seen.setdefault(_n, a))
    model = VAE(16, 2, (8,), rng=np.random.default_rng(0))
    CLI._figures(model, data, [], tmp_path, seed=3)
    shown = seen["plot_reconstructions"][0]
    rows = [int(np.flatnonzero((x == r).all(axis=1))[0]) for r in shown]
    assert len(shown) == CLI.N_RECON and len(set(y[rows])) >= 5
    z, labels = seen["plot_latent_scatter"]
    assert len(set(labels)) == 10
    again = {}
    monkeypatch.setattr(plots, "plot_reconstructions", lambda *a, **kw: again.setdefault("r", a))
    CLI._figures(model, data, [], tmp_path, seed=3)
    assert np.array_equal(again["r"][0], shown)  # the same seed shows the same rows
