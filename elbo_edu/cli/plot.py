"""``elbo-edu plot RUN``: draw a run's figures again from its checkpoint and metrics.

The figures of a run (``curves.png``, ``reconstructions.png``, ``samples.png`` and, for a 2-D
latent space, ``latent.png`` and ``manifold.png``; for 2-D data the samples over the data) are
drawn by ``elbo-edu train`` at the end of training. When that did not happen (Ctrl-C while they
were drawn, a full disk, ``--no-plots``), this command draws the same figures from what the run
folder keeps: the model from ``checkpoint.npz``, the curves from ``metrics.jsonl`` (or the
checkpoint's own copy of the history), the data set named in the checkpoint, and the run's seed,
so the pictures are the ones training would have drawn. Every file is written atomically.

Registered with :func:`elbo_edu.cli.register_subcommand`.
"""
from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["add_plot_parser", "run_plot"]


def add_plot_parser(sub) -> None:
    """Add the ``plot`` subcommand to the ``elbo-edu`` subparsers."""
    from . import _path

    p = sub.add_parser(
        "plot", help="draw a run's figures again (curves, reconstructions, samples)",
        description="Draw the figures of a trained run again from its checkpoint and metrics: "
                    "the same figures 'elbo-edu train' draws at the end of training, written "
                    "atomically into the run folder (or --out).")
    p.add_argument("run", metavar="RUN", type=_path, help="run folder (or checkpoint file)")
    p.add_argument("--out", metavar="DIR", type=_path, default=None,
                   help="folder for the figures (default: the run folder)")
    p.add_argument("--data-dir", metavar="DIR", type=_path, default=None,
                   help="where the data files are (default: the run's own setting)")
    p.add_argument("--no-download", action="store_true", help="never download MNIST")
    p.set_defaults(func=run_plot)


def _history(run: Path, ck) -> list[dict]:
    """The per-epoch metrics: ``metrics.jsonl`` if the run folder has it, else the copy kept in
    the checkpoint (the two agree; the checkpoint's is there even when the file is not)."""
    from ..train.checkpoint import read_metrics

    if run.is_dir() and (run / "metrics.jsonl").is_file():
        return read_metrics(run)
    history = ck.meta.get("history")
    return history if isinstance(history, list) else []


def run_plot(args) -> int:
    """Draw the figures; returns the exit status (0)."""
    from ..train.checkpoint import load_model
    from . import CLIError, _figures, _load_data
    from ..train.run import describe_os_error

    model, ck = load_model(args.run)
    run = Path(args.run).expanduser()
    folder = run if run.is_dir() else run.parent
    out = Path(args.out).expanduser() if args.out is not None else folder
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out: {out} exists and is not a folder")
    history = _history(folder, ck)
    if not history:
        raise CLIError(f"{args.run}: the run has no finished epoch yet, so there are no curves "
                       f"to draw (continue it with: elbo-edu train --resume {folder})")
    meta = ck.meta
    data = _load_data(meta.get("data", "embedded"), args.data_dir or meta.get("data_dir"),
                      model.dtype, download=not args.no_download)
    if data.x_dim != model.x_dim:
        raise CLIError(f"{args.run}: the model has {model.x_dim} inputs but the data set "
                       f"{meta.get('data')!r} has {data.x_dim} (a different --data-dir?)")
    seed = meta.get("train", {}).get("seed", 0)
    try:
        out.mkdir(parents=True, exist_ok=True)
        names = _figures(model, data, history, out, seed)
    except OSError as exc:
        raise CLIError(f"could not draw the figures: {describe_os_error(exc)}") from None
    for name in names:
        print(f"wrote {out / name}")
    if not names:  # pragma: no cover - curves are always drawn
        print("nothing to draw", file=sys.stderr)
    return 0
