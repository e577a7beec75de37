"""The ``elbo-edu`` command line.

``elbo-edu train``      trains a VAE and writes a run folder (config, metrics, checkpoint, figures);
``elbo-edu evaluate``   reports a run's test negative ELBO and an importance-sampled log-likelihood;
``elbo-edu sample``     draws new data from a trained run and saves a picture;
``elbo-edu gradcheck``  checks every hand-written gradient of the package against finite
differences and prints the table (exit status 1 if any row fails).

Errors in the arguments or the data end with a one-line message and exit status 2, never a
traceback; a diverging training run exits with status 1, Ctrl-C with 130 (after saving).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

__all__ = ["main", "build_parser"]

IMAGE_SETS = ("embedded", "mnist", "binarized-mnist")


class CLIError(Exception):
    """An error to report to the user as one line (no traceback)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# ----------------------------------------------------------------------------- argument types
def _positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {s!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {s!r}")
    return v


def _nonneg_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {s!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {s!r}")
    return v


def _float(lower: float, strict: bool):
    def parse(s: str) -> float:
        try:
            v = float(s)
        except ValueError:
            v = float("nan")
        if not (v > lower if strict else v >= lower) or v != v or v == float("inf"):
            raise argparse.ArgumentTypeError(
                f"expected a finite number {'>' if strict else '>='} {lower:g}, got {s!r}")
        return v
    return parse


# -------------------------------------------------------------------------------------- train
def _run_dir(out: str | None) -> Path:
    if out is not None:
        return Path(out).expanduser()
    base = Path("runs") / time.strftime("%Y%m%d-%H%M%S")
    path, i = base, 1
    while path.exists():
        path, i = Path(f"{base}-{i}"), i + 1
    return path


def _load_data(name: str, data_dir, dtype, download: bool = True):
    from .data import load_dataset

    kw = {"download": download} if name == "mnist" else {}
    return load_dataset(name, data_dir=data_dir, dtype=dtype, **kw)


def _print_epoch(m: dict) -> None:
    test = "" if m["test_loss"] is None else \
        f"  test {m['test_loss']:8.2f} (recon {m['test_recon']:.2f}, KL {m['test_kl']:.2f})"
    print(f"epoch {m['epoch']:3d}  train {m['train_loss']:8.2f}{test}  beta {m['beta']:.3g}  "
          f"{m['seconds']:.2f} s", flush=True)


def _train_args(args) -> tuple[dict, dict, dict]:
    """(model config, training settings, run info) from the flags or, with --resume, the run."""
    import numpy as np

    if args.resume is not None:
        from .checkpoint import load_checkpoint

        meta = load_checkpoint(args.resume).meta
        given = [f for f in ("data", "likelihood", "hidden", "z_dim", "batch_size", "lr", "beta",
                             "kl_warmup", "seed", "dtype", "binarize", "activation")
                 if getattr(args, f) is not None]
        if given:
            print("elbo-edu train: note: with --resume the run's own settings are used; ignoring "
                  + ", ".join("--" + g.replace("_", "-") for g in given), file=sys.stderr)
        settings = dict(meta.get("train", {}))
        if args.epochs is not None:
            settings["epochs"] = args.epochs
        info = {"data": meta.get("data", "embedded"),
                "data_dir": args.data_dir or meta.get("data_dir")}
        return meta["model"], settings, info

    data = args.data or "embedded"
    image = data in IMAGE_SETS
    cfg = {"hidden": list(args.hidden or ([400] if image else [64, 64])),
           "z_dim": args.z_dim or (20 if image else 2),
           "likelihood": args.likelihood or ("bernoulli" if image else "gaussian-learned"),
           "beta": 1.0 if args.beta is None else args.beta,
           "obs_var": args.obs_var, "learned_var": args.learned_var,
           "activation": args.activation or "relu",
           "dtype": np.dtype(args.dtype or "float32").name}
    settings = {"epochs": args.epochs or 10, "batch_size": args.batch_size or 128,
                "lr": args.lr or 1e-3, "kl_warmup_epochs": args.kl_warmup or 0,
                "seed": 0 if args.seed is None else args.seed,
                "binarize": None if args.binarize in (None, "none") else args.binarize}
    return cfg, settings, {"data": data, "data_dir": args.data_dir}


def _cmd_train(args) -> int:
    import numpy as np

    from .train import train
    from .vae import VAE

    cfg, settings, info = _train_args(args)
    data = _load_data(info["data"], info["data_dir"], np.dtype(cfg["dtype"]),
                      download=not args.no_download)
    cfg = dict(cfg, x_dim=data.x_dim)
    out = _run_dir(args.out if args.out is not None or args.resume is None
                   else (args.resume if Path(args.resume).is_dir()
                         else str(Path(args.resume).parent)))
    model = VAE.from_config(cfg, rng=np.random.default_rng(settings["seed"]))
    print(f"training {model!r} on {data!r} -> {out}", flush=True)
    run_info = {"data": info["data"],
                "data_dir": None if info["data_dir"] is None else str(info["data_dir"])}
    history = train(model, data, epochs=settings["epochs"], batch_size=settings["batch_size"],
                    lr=settings["lr"], kl_warmup_epochs=settings["kl_warmup_epochs"],
                    seed=settings["seed"], out_dir=out, progress=not args.no_progress,
                    binarize=settings["binarize"], resume_from=args.resume, log=_print_epoch,
                    run_info=run_info)
    if not args.no_plots and history:
        for name in _figures(model, data, history, out, settings["seed"]):
            print(f"wrote {out / name}")
    print(f"run saved in {out}  (elbo-edu evaluate {out}; elbo-edu sample {out})")
    return 0


def _image_shape(x_dim: int):
    side = int(round(x_dim ** 0.5))
    return (side, side) if side * side == x_dim else None


def _figures(model, data, history, out: Path, seed: int) -> list[str]:
    """The run's PNG figures (skipped quietly if the plotting module is not available)."""
    import numpy as np

    try:
        from . import plots
    except ImportError:  # pragma: no cover - plots is part of the package
        return []
    rng = np.random.default_rng(seed)
    written = []

    def save(name, fn, *a, **kw):
        if hasattr(plots, fn):
            getattr(plots, fn)(*a, path=out / name, **kw)
            written.append(name)

    save("curves.png", "plot_curves", history)
    shape = _image_shape(model.x_dim)
    x = data.x_test[:16] if data.x_test is not None else data.x_train[:16]
    if shape is not None:
        save("reconstructions.png", "plot_reconstructions", x, model.reconstruct(x), shape=shape)
        save("samples.png", "plot_samples", model.sample(64, rng), shape=shape)
    elif model.x_dim == 2:
        save("samples.png", "plot_points", model.sample(2000, rng), title="Samples")
    if model.z_dim == 2:
        xs = data.x_test[:2000] if data.x_test is not None else data.x_train[:2000]
        ys = data.y_test[:2000] if getattr(data, "y_test", None) is not None else None
        save("latent.png", "plot_latent_scatter", model.encode(xs)[0], ys)
        if shape is not None:
            save("manifold.png", "plot_manifold",
                 lambda z: model.likelihood.mean(model.decode(z)), shape=shape)
    return written


# --------------------------------------------------------------------------- evaluate, sample
def _cmd_evaluate(args) -> int:
    import numpy as np

    from .checkpoint import atomic_write_text, load_model
    from .estimators import iwae_bound
    from .train import evaluate

    model, ck = load_model(args.run)
    meta = ck.meta
    data = _load_data(meta.get("data", "embedded"), args.data_dir or meta.get("data_dir"),
                      model.dtype, download=not args.no_download)
    x = data.x_test if args.n is None else data.x_test[:args.n]
    settings = meta.get("train", {})
    eval_seed = settings.get("eval_seed", 0)
    if settings.get("binarize") == "dynamic":
        from .data import binarize_dynamic
        x = binarize_dynamic(x, np.random.default_rng(eval_seed))
    ev = evaluate(model, x, seed=eval_seed)
    log_px = iwae_bound(model, x, args.k, rng=np.random.default_rng(args.seed))
    nll = -float(np.mean(log_px))
    result = {"n": int(len(x)), "k": args.k, "test_loss": ev["loss"], "test_recon": ev["recon"],
              "test_kl": ev["kl"], "iwae_nll": nll, "epoch": meta.get("epoch")}
    print(f"run {args.run} (epoch {meta.get('epoch')}), {len(x)} test examples")
    print(f"  negative ELBO             {ev['loss']:10.3f} nats  (recon {ev['recon']:.3f}, "
          f"KL {ev['kl']:.3f})")
    print(f"  -log p(x), IWAE K={args.k:<5d} {nll:10.3f} nats  (gap to the ELBO "
          f"{ev['loss'] - nll:.3f})")
    run = Path(args.run)
    if run.is_dir():
        atomic_write_text(run / "evaluation.json", json.dumps(result, indent=2) + "\n")
    return 0


def _cmd_sample(args) -> int:
    import numpy as np

    from . import plots
    from .checkpoint import load_model

    model, _ = load_model(args.run)
    run = Path(args.run)
    out = Path(args.out) if args.out else (run if run.is_dir() else run.parent) / "samples.png"
    x = model.sample(args.n, np.random.default_rng(args.seed))
    shape = _image_shape(model.x_dim)
    if shape is not None:
        plots.plot_samples(x, path=out, shape=shape, nrow=min(args.n, 8))
    elif model.x_dim == 2:
        plots.plot_points(x, path=out, title="Samples")
    else:
        raise CLIError(f"cannot draw {model.x_dim}-dimensional samples (neither an image nor 2-D)")
    print(f"wrote {args.n} samples to {out}")
    return 0


def _cmd_gradcheck(args) -> int:
    from .gradcheck_suite import run_all

    report = run_all(seed=args.seed, tol=args.tol)
    print(report)
    return 0 if report.passed else 1


# ------------------------------------------------------------------------------------- parser
def _add_train(sub) -> None:
    from .data import DATASET_NAMES
    from .likelihoods import LIKELIHOODS
    from .vae import ACTIVATIONS

    t = sub.add_parser(
        "train", help="train a VAE and write a run folder",
        description="Train a VAE with Adam and write a run folder: config.json, metrics.jsonl "
                    "(one line per epoch), checkpoint.npz (rewritten atomically every epoch) and "
                    "PNG figures. Without arguments: the MNIST subset shipped with the package, "
                    "784-400-20 with a Bernoulli decoder, 10 epochs (well under a minute).",
        epilog="Image data defaults: --likelihood bernoulli --hidden 400 --z-dim 20. 2-D toy "
               "data defaults: --likelihood gaussian-learned --hidden 64 64 --z-dim 2. With "
               "--resume RUN the run's own model and training settings are used; --epochs is "
               "the new total and training continues exactly where it stopped.")
    t.add_argument("--data", choices=DATASET_NAMES, default=None,
                   help="data set (default embedded: 8000/2000 MNIST digits inside the package)")
    t.add_argument("--data-dir", metavar="DIR", default=None,
                   help="folder holding the MNIST / binarized MNIST files")
    t.add_argument("--no-download", action="store_true",
                   help="never download MNIST; fail if the files are not found")
    t.add_argument("--likelihood", choices=LIKELIHOODS, default=None, help="decoder p(x|z)")
    t.add_argument("--hidden", type=_positive_int, nargs="+", metavar="N", default=None,
                   help="hidden widths of the encoder (the decoder mirrors them)")
    t.add_argument("--z-dim", type=_positive_int, default=None, help="latent dimension")
    t.add_argument("--activation", choices=tuple(ACTIVATIONS), default=None,
                   help="hidden activation (default relu)")
    t.add_argument("--obs-var", type=_float(0, True), default=1.0,
                   help="variance c of the 'gaussian' likelihood; initial gamma of "
                        "'gaussian-learned' (default 1)")
    t.add_argument("--learned-var", choices=("scalar", "pixel"), default="scalar",
                   help="one learned variance, or one per pixel (default scalar)")
    t.add_argument("--beta", type=_float(0, False), default=None, help="KL weight (default 1)")
    t.add_argument("--kl-warmup", type=_nonneg_int, metavar="E", default=None,
                   help="epochs over which the KL weight ramps from 0 to beta (default 0)")
    t.add_argument("--batch-size", type=_positive_int, default=None, help="default 128")
    t.add_argument("--lr", type=_float(0, True), default=None, help="Adam step (default 1e-3)")
    t.add_argument("--epochs", type=_positive_int, default=None, help="default 10")
    t.add_argument("--binarize", choices=("none", "dynamic"), default=None,
                   help="'dynamic': a fresh Bernoulli draw of every training batch")
    t.add_argument("--seed", type=_nonneg_int, default=None,
                   help="seed of weights, shuffling and noise (default 0)")
    t.add_argument("--dtype", choices=("float32", "float64"), default=None,
                   help="floating type (default float32)")
    t.add_argument("--out", metavar="DIR", default=None,
                   help="run folder (default runs/<timestamp>)")
    t.add_argument("--resume", metavar="RUN", default=None,
                   help="continue the run in this folder (or checkpoint file)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--no-plots", action="store_true", help="do not write PNG figures")
    t.set_defaults(func=_cmd_train)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="elbo-edu",
        description="The variational autoencoder derived step by step, every step verified.")
    from . import __version__
    p.add_argument("--version", action="version", version=f"elbo-edu {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _add_train(sub)

    e = sub.add_parser("evaluate", help="test negative ELBO and IWAE log-likelihood of a run",
                       description="Evaluate a trained run on its test set: the negative ELBO "
                                   "(fixed-seed noise, as in training) and -log p(x) estimated "
                                   "by importance sampling with K samples per example (IWAE).")
    e.add_argument("run", metavar="RUN", help="run folder (or checkpoint file)")
    e.add_argument("--k", type=_positive_int, default=100, help="importance samples (default 100)")
    e.add_argument("--n", type=_positive_int, default=None,
                   help="evaluate only the first N test examples (default all)")
    e.add_argument("--data-dir", metavar="DIR", default=None, help="where the data files are")
    e.add_argument("--no-download", action="store_true", help="never download MNIST")
    e.add_argument("--seed", type=_nonneg_int, default=0, help="seed of the importance samples")
    e.set_defaults(func=_cmd_evaluate)

    s = sub.add_parser("sample", help="draw samples from a trained run and save a picture",
                       description="Draw z ~ N(0, I), decode, and save the decoded means as a "
                                   "PNG (an image grid, or a scatter plot for 2-D data).")
    s.add_argument("run", metavar="RUN", help="run folder (or checkpoint file)")
    s.add_argument("--n", type=_positive_int, default=64, help="number of samples (default 64)")
    s.add_argument("--out", metavar="PNG", default=None, help="default RUN/samples.png")
    s.add_argument("--seed", type=_nonneg_int, default=0, help="seed of z (default 0)")
    s.set_defaults(func=_cmd_sample)

    g = sub.add_parser("gradcheck", help="check every analytic gradient by finite differences",
                       description="Check every hand-written gradient of the package (layers, "
                                   "log-densities, KL divergences, the VAE) against central finite "
                                   "differences in float64 and print a table.")
    g.add_argument("--seed", type=int, default=0, help="seed of the random test inputs (default 0)")
    g.add_argument("--tol", type=float, default=1e-7,
                   help="pass threshold on the relative error (default 1e-7)")
    g.set_defaults(func=_cmd_gradcheck)

    from .course.cli import add_course_parser
    add_course_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    from .train import TrainingDiverged, TrainingInterrupted

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except TrainingDiverged as exc:
        print(f"elbo-edu {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except TrainingInterrupted as exc:
        hint = f"; continue with: elbo-edu train --resume {exc.checkpoint.parent}" \
            if exc.checkpoint is not None else ""
        print(f"elbo-edu {args.command}: {exc}{hint}", file=sys.stderr)
        return 130
    except (CLIError, ValueError, OSError) as exc:
        print(f"elbo-edu {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"elbo-edu {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
