"""``elbo-edu plot RUN`` draws the figures training would have drawn, from the run folder."""
import shutil

import pytest
from test_cli_faults import TINY, elbo, one_line

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("plot") / "img"
    proc = elbo("train", "--epochs", "1", "--hidden", "32", "--z-dim", "2", "--no-progress",
                "--seed", "3", "--out", out)
    assert proc.returncode == 0, proc.stderr
    return out


FIGURES = {"curves.png", "reconstructions.png", "samples.png", "latent.png", "manifold.png"}


@pytest.mark.parametrize("keep", [("checkpoint.npz", "metrics.jsonl", "config.json"),
                                  ("checkpoint.npz",)])
def test_plot_redraws_exactly_the_figures_of_training(image_run, tmp_path, keep):
    run = tmp_path / "run"
    run.mkdir()
    for name in keep:
        shutil.copy(image_run / name, run / name)
    proc = elbo("plot", run)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert {p.name for p in run.glob("*.png")} == FIGURES
    for name in FIGURES:  # the same model, data rows and seed: the same picture, byte for byte
        assert (run / name).read_bytes() == (image_run / name).read_bytes(), name
        assert f"wrote {run / name}" in proc.stdout
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]


def test_plot_into_another_folder_and_for_2d_data(tmp_path):
    run = tmp_path / "ring"
    assert elbo("train", *TINY, "--epochs", "1", "--out", run).returncode == 0
    proc = elbo("plot", run / "checkpoint.npz", "--out", tmp_path / "figs")
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in (tmp_path / "figs").iterdir()} == {"curves.png", "samples.png",
                                                               "latent.png"}
    assert all(p.read_bytes()[:8] == PNG for p in (tmp_path / "figs").iterdir())
    assert not list(run.glob("*.png"))  # --no-plots run: plot wrote only to --out


@pytest.mark.parametrize("args,needle", [
    (["plot", "MISSING"], "no checkpoint at"),
    (["plot", "RUN", "--out", "RUN/config.json"], "--out:"),
    (["plot", "RUN", "--outt", "x"], "did you mean --out"),
])
def test_plot_errors_are_one_line(image_run, tmp_path, args, needle):
    args = [a.replace("RUN", str(image_run)).replace("MISSING", str(tmp_path / "none"))
            for a in args]
    one_line(elbo(*args), 2, needle)
