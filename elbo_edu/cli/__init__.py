"""The ``elbo-edu`` command line.

``elbo-edu train``      trains a VAE and writes a run folder (config, metrics, checkpoint, figures);
``elbo-edu evaluate``   reports a run's test negative ELBO and an importance-sampled log-likelihood;
``elbo-edu sample``     draws new data from a trained run and saves a picture;
``elbo-edu gradcheck``  checks every hand-written gradient of the package against finite
differences and prints the table (exit status 1 if any row fails);
``elbo-edu plot``       draws a run's figures again from its checkpoint and metrics.

Errors in the arguments or the data end with a one-line message that names the flag and exit
status 2, never a traceback or a warning; a diverging training run exits with status 1, Ctrl-C
with 130 and SIGTERM with 143 (after saving the exact state).

A subcommand is a function that adds its parser (``add(subparsers)``, setting ``func``) listed in
:data:`SUBCOMMANDS`; :func:`register_subcommand` adds one (the ``course`` command is added so).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
import time
import warnings
from pathlib import Path

__all__ = ["main", "build_parser", "register_subcommand", "SUBCOMMANDS"]

IMAGE_SETS = ("embedded", "mnist", "binarized-mnist")
#: toy 2-D data defaults: a Gaussian decoder whose fixed variance is about the data's noise
#: variance makes the decoder use z (with a learned variance the posterior collapses to the prior
#: and the samples ignore the data's shape); measured in tests/test_toy_samples.py
TOY_DEFAULTS = {"hidden": [64, 64], "z_dim": 2, "likelihood": "gaussian", "epochs": 20,
                "lr": 3e-3}
TOY_OBS_VAR = {"moons": 0.01, "ring": 0.01, "pinwheel": 0.01, "gaussian-mixture": 0.04}
#: the most images a sample figure holds (a larger --n is capped, with a note)
MAX_SAMPLE_IMAGES = 400
#: the most points a 2-D sample figure holds
MAX_SAMPLE_POINTS = 20_000
#: epochs of a run on image data when --epochs is not given: the quickstart (`elbo-edu train`
#: alone) takes well under 30 s on a quiet 2-core machine and its samples already show digits
IMAGE_EPOCHS = 5
#: rows shown in the reconstructions figure and the latent scatter plot
N_RECON, N_LATENT = 16, 2000
#: the most decoder outputs (samples x batch rows x data width) one training step may hold
MAX_STEP_ELEMENTS = 1 << 27
#: the most importance samples (K x images) one evaluation may take: 4x the literature's
#: IWAE_5000 on 10 000 test images (about 10 minutes for a 784-400-20 VAE on a 2-core laptop)
MAX_EVAL_SAMPLES = 200_000_000


class CLIError(Exception):
    """An error to report to the user as one line (no traceback)."""


class _Stopped(Exception):
    """A signal outside the training loop, reported as one line with status 128 + signum."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.signum = signum


class _Signalled(BaseException):
    """SIGINT or SIGTERM outside the training loop (which handles its own): see
    :func:`_signals_raise`."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _signals_raise():
    """Within the block, SIGINT and SIGTERM raise :class:`_Signalled` (the training loop installs
    its own handlers and restores these), so that a signal just before or after training is
    reported, with the right exit status, instead of being lost or killing the process."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise _Signalled(signum)

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit status 2), and a flag is never
    abbreviated: ``--epoch 3`` is an unknown flag, not ``--epochs 3`` (with prefix matching a
    flag added later would silently change what an old command line means)."""

    def __init__(self, *args, **kwargs):
        kwargs["allow_abbrev"] = False  # for every subcommand too (they are built by this class)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}{self._did_you_mean(message)} "
                     f"(see '{self.prog} --help')\n")

    def _did_you_mean(self, message: str) -> str:
        import difflib

        m = re.match(r"unrecognized arguments: (--[\w-]+)", message)
        if not m:
            return ""
        flags, parsers = [], [self]
        while parsers:  # this parser's flags and those of its own subcommands
            for a in parsers.pop()._actions:
                flags += [o for o in a.option_strings if o.startswith("--")]
                if isinstance(a, argparse._SubParsersAction):
                    parsers += list(a.choices.values())
        close = sorted({f for f in flags if f.startswith(m.group(1))}) or \
            difflib.get_close_matches(m.group(1), flags, n=1, cutoff=0.75)
        return f"; did you mean {' or '.join(close[:3])}?" if close else ""


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


def _path(s: str) -> str:
    if not s.strip():
        raise argparse.ArgumentTypeError("expected a path, got an empty string")
    return s


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
    from ..data import load_dataset

    kw = {"download": download} if name == "mnist" else {}
    return load_dataset(name, data_dir=data_dir, dtype=dtype, **kw)


def _absolute(path) -> str | None:
    """A folder as an absolute path, so the run can be evaluated or resumed from anywhere."""
    return None if path is None else str(Path(path).expanduser().resolve())


def _print_epoch(m: dict) -> None:
    test = "" if m["test_loss"] is None else \
        f"  test {m['test_loss']:8.2f} (recon {m['test_recon']:.2f}, KL {m['test_kl']:.2f})"
    print(f"epoch {m['epoch']:3d}  train {m['train_loss']:8.2f}{test}  beta {m['beta']:.3g}  "
          f"{m['seconds']:.2f} s", flush=True)


def _train_args(args) -> tuple[dict, dict, dict]:
    """(model config, training settings, run info) from the flags or, with --resume, the run."""
    import numpy as np

    if args.resume is not None:
        from ..train.checkpoint import check_training_checkpoint, load_checkpoint

        # (a damaged entry is named with the file, never blamed on a flag the user did not give)
        meta = check_training_checkpoint(load_checkpoint(args.resume)).meta
        given = [f for f in ("data", "likelihood", "hidden", "z_dim", "batch_size", "lr", "beta",
                             "kl_warmup", "seed", "dtype", "binarize", "activation", "obs_var",
                             "learned_var", "objective", "k", "free_bits", "adam_eps")
                 if getattr(args, f) is not None]
        if given:
            print("elbo-edu train: note: with --resume the run's own settings are used; ignoring "
                  + ", ".join("--" + g.replace("_", "-") for g in given), file=sys.stderr)
        settings = dict(meta["train"])
        if args.epochs is not None:
            settings["epochs"] = args.epochs
        info = {"data": meta.get("data", "embedded"),
                "data_dir": _absolute(args.data_dir) or meta.get("data_dir")}
        return meta["model"], settings, info

    data = args.data or "embedded"
    image = data in IMAGE_SETS
    toy = {} if image else TOY_DEFAULTS
    cfg = {"hidden": list(args.hidden or toy.get("hidden", [400])),
           "z_dim": args.z_dim or toy.get("z_dim", 20),
           "likelihood": args.likelihood or toy.get("likelihood", "bernoulli"),
           "beta": 1.0 if args.beta is None else args.beta,
           "obs_var": args.obs_var if args.obs_var is not None else TOY_OBS_VAR.get(data, 1.0),
           "learned_var": args.learned_var or "scalar",
           "activation": args.activation or "relu",
           "dtype": np.dtype(args.dtype or "float32").name}
    settings = {"epochs": args.epochs or toy.get("epochs", IMAGE_EPOCHS),
                "batch_size": args.batch_size or 128,
                "lr": args.lr or toy.get("lr", 1e-3), "kl_warmup_epochs": args.kl_warmup or 0,
                "seed": 0 if args.seed is None else args.seed,
                "binarize": None if args.binarize in (None, "none") else args.binarize,
                "objective": args.objective or "elbo", "k": args.k or 1,
                "free_bits": args.free_bits,
                "adam_eps": 1e-8 if args.adam_eps is None else args.adam_eps}
    _check_objective_flags(args, cfg, settings)
    return cfg, settings, {"data": data, "data_dir": _absolute(args.data_dir)}


def _check_objective_flags(args, cfg: dict, settings: dict) -> None:
    """The combinations of --objective, --k, --free-bits, --beta, --kl-warmup, --likelihood and
    --binarize that cannot train: one CLIError naming the flag."""
    objective = settings["objective"]
    if args.free_bits is not None and objective != "free-bits":
        raise CLIError(f"--free-bits: only --objective free-bits clamps the KL (got --objective "
                       f"{objective})")
    if objective == "free-bits" and args.free_bits is None:
        raise CLIError("--objective: free-bits needs --free-bits LAMBDA (nats per latent "
                       "dimension, e.g. 0.25)")
    if objective == "iwae":
        for flag, value in (("--beta", args.beta), ("--kl-warmup", args.kl_warmup)):
            if value is not None:
                raise CLIError(f"{flag}: the IWAE bound has no KL weight (use --objective elbo "
                               f"or free-bits)")
        if cfg["likelihood"] == "gaussian-learned":
            raise CLIError("--objective: iwae needs a likelihood without a learned variance "
                           "(not --likelihood gaussian-learned)")
    if settings["binarize"] is not None and cfg["likelihood"] not in ("bernoulli",
                                                                     "continuous-bernoulli"):
        raise CLIError(f"--binarize: binary pixels need --likelihood bernoulli (got "
                       f"{cfg['likelihood']})")
    width = 784 if args.data in IMAGE_SETS or args.data is None else 2
    elements = settings["k"] * settings["batch_size"] * max(width, *cfg["hidden"])
    if settings["k"] > 1 and elements > MAX_STEP_ELEMENTS:  # (one sample: the memory estimate)
        raise CLIError(f"--k: {settings['k']} samples x {settings['batch_size']} rows x {width} "
                       f"values = {elements:.3g} numbers per step is more than this command "
                       f"holds ({MAX_STEP_ELEMENTS:.3g}); lower --k or --batch-size")


def _cmd_train(args) -> int:
    import numpy as np

    from ..train import train
    from ..vae import VAE

    if args.resume is not None and args.overwrite:
        raise CLIError("--overwrite: cannot be combined with --resume (resuming continues the "
                       "run in its folder)")
    cfg, settings, info = _train_args(args)
    data = _load_data(info["data"], info["data_dir"], np.dtype(cfg["dtype"]),
                      download=not args.no_download)
    cfg = dict(cfg, x_dim=data.x_dim)
    _check_memory(cfg, min(settings["batch_size"], len(data.x_train)), args)
    out = _run_dir(args.out if args.out is not None or args.resume is None
                   else (args.resume if Path(args.resume).is_dir()
                         else str(Path(args.resume).parent)))
    model = VAE.from_config(cfg, rng=np.random.default_rng(settings["seed"]))
    objective = settings.get("objective", "elbo")
    what = objective + (f", k={settings['k']}" if settings.get("k", 1) != 1 else "") + (
        f", free bits {settings['free_bits']:g}" if objective == "free-bits" else "")
    print(f"training {model!r} ({what}) on {data!r} -> {out}", flush=True)
    redraw = f"draw the figures with: elbo-edu plot {out}"
    history = None
    try:
        with _signals_raise():
            history = train(model, data, epochs=settings["epochs"],
                            batch_size=settings["batch_size"], lr=settings["lr"],
                            kl_warmup_epochs=settings["kl_warmup_epochs"], seed=settings["seed"],
                            out_dir=out, progress=not args.no_progress,
                            binarize=settings["binarize"], resume_from=args.resume,
                            log=_print_epoch, run_info=info, overwrite=args.overwrite,
                            objective=objective, k=settings.get("k", 1),
                            free_bits=settings.get("free_bits"),
                            adam_eps=settings.get("adam_eps", 1e-8))
            if not args.no_plots and history:
                for name in _figures(model, data, history, out, settings["seed"]):
                    print(f"wrote {out / name}")
    except OSError as exc:
        if history is None:
            raise
        from ..train.run import describe_os_error  # the run is saved; only a figure is missing
        raise CLIError(f"{describe_os_error(exc)}; the run itself is saved in {out} "
                       f"({redraw})") from None
    except _Signalled as exc:
        if history is None:  # before the training loop took the signals over
            raise _Stopped("interrupted before training started; nothing was saved",
                           exc.signum) from None
        raise _Stopped(f"interrupted while drawing the figures; the run is complete and saved "
                       f"in {out} ({redraw})", exc.signum) from None
    print(f"run saved in {out}  (elbo-edu evaluate {out}; elbo-edu sample {out})")
    return 0


def _check_memory(cfg: dict, batch_size: int, args) -> None:
    """Refuse, in one line naming the flag, a model that cannot fit in memory (before the
    allocation fails deep inside NumPy)."""
    from ._memory import available_bytes, format_bytes, vae_training_bytes

    need, have = vae_training_bytes(cfg, batch_size), available_bytes()
    if have is None or need <= have:
        return
    if args.resume is not None:
        flag = f"--resume {args.resume}"
    else:  # blame the flag whose default would help most
        smaller = {"--hidden": dict(cfg, hidden=[400] * len(cfg["hidden"])),
                   "--z-dim": dict(cfg, z_dim=20)}
        need_without = {f: vae_training_bytes(c, batch_size) for f, c in smaller.items()}
        need_without["--batch-size"] = vae_training_bytes(cfg, 128)
        flag = min(need_without, key=need_without.get)
        value = {"--hidden": " ".join(map(str, cfg["hidden"])), "--z-dim": cfg["z_dim"],
                 "--batch-size": batch_size}[flag]
        flag = f"{flag} {value}"
    raise CLIError(f"{flag}: the model would need at least {format_bytes(need)} of memory "
                   f"(weights, gradients, Adam's moments and one batch's activations); this "
                   f"computer has {format_bytes(have)} available")


def _image_shape(x_dim: int):
    side = int(round(x_dim ** 0.5))
    return (side, side) if side * side == x_dim else None


def _figures(model, data, history, out: Path, seed: int) -> list[str]:
    """The run's PNG figures; the data rows shown are a seeded random subset (not the first
    rows: a data set sorted by class would show one class only)."""
    import numpy as np

    from .. import plots
    from ..data import random_subset

    rng = np.random.default_rng(seed)
    written = []

    def save(name, fn, *a, **kw):
        getattr(plots, fn)(*a, path=out / name, **kw)
        written.append(name)

    save("curves.png", "plot_curves", history)
    shape = _image_shape(model.x_dim)
    x_all = data.x_test if data.x_test is not None else data.x_train
    y_all = data.y_test if data.x_test is not None else getattr(data, "y_train", None)
    x = random_subset(x_all, N_RECON, np.random.default_rng(seed))
    if shape is not None:
        save("reconstructions.png", "plot_reconstructions", x, model.reconstruct(x), shape=shape)
        save("samples.png", "plot_samples", model.sample(64, rng), shape=shape)
    elif model.x_dim == 2:
        save("samples.png", "plot_samples_on_data", model.sample(2000, rng),
             random_subset(x_all, 2000, np.random.default_rng(seed)))
    if model.z_dim == 2:
        xs, ys = random_subset(x_all, N_LATENT, np.random.default_rng(seed), y_all)
        save("latent.png", "plot_latent_scatter", model.encode(xs)[0], ys)
        if shape is not None:
            save("manifold.png", "plot_manifold",
                 lambda z: model.likelihood.mean(model.decode(z)), shape=shape)
    return written


# --------------------------------------------------------------------------- evaluate, sample
def _cmd_evaluate(args) -> int:
    import numpy as np

    from ..train.checkpoint import atomic_write_text, load_model
    from ..data import random_subset
    from ..estimators import evidence_bounds
    from ..models.diagnostics import active_units
    from ..train import evaluate

    model, ck = load_model(args.run)
    meta = ck.meta
    data = _load_data(meta.get("data", "embedded"), args.data_dir or meta.get("data_dir"),
                      model.dtype, download=not args.no_download)
    settings = meta.get("train", {})
    eval_seed = settings.get("eval_seed", 0)
    x = data.x_test
    if settings.get("binarize") in ("dynamic", "static"):
        from ..data import binarize_dynamic
        x = binarize_dynamic(x, np.random.default_rng(eval_seed))
    subset = args.n is not None and args.n < len(x)
    if subset:  # a seeded random subset: the first rows may be one class only
        x = random_subset(x, args.n, np.random.default_rng(args.seed))
    n = len(x)
    if args.k * n > MAX_EVAL_SAMPLES:
        raise CLIError(f"--k: {args.k} samples x {n} test images = {args.k * n:.3g} decoder "
                       f"passes is more than one evaluation takes ({MAX_EVAL_SAMPLES:.3g}, "
                       f"about 4x IWAE_5000 on 10 000 images); lower --k or evaluate fewer "
                       f"images with --n")
    ev = evaluate(model, x, seed=eval_seed)
    show = not args.no_progress and bool(getattr(sys.stderr, "isatty", lambda: False)())
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        est = evidence_bounds(model, x, args.k, rng=np.random.default_rng(args.seed),
                              progress=show)
    log_px = est.log_evidence
    nll = -float(np.mean(log_px))
    if not np.isfinite(nll):
        from ..train import TrainingDiverged
        raise TrainingDiverged("the importance-sampled log-likelihood is not finite: the "
                               "model's outputs overflow")
    nll_se = float(np.std(log_px, ddof=1) / np.sqrt(n)) if n > 1 else None
    au = active_units(model, x) if n > 1 else None
    result = {"n": int(n), "k": args.k, "subset_seed": args.seed if subset else None,
              "objective": settings.get("objective", "elbo"),
              "test_loss": ev["loss"], "test_recon": ev["recon"], "test_kl": ev["kl"],
              "iwae_nll": nll, "iwae_nll_se": nll_se,
              "active_units": None if au is None else au.count,
              "active_units_threshold": 0.01, "epoch": meta.get("epoch")}
    which = f"{n} random test examples (--seed {args.seed})" if subset else \
        f"{n} test examples"
    print(f"run {args.run} (epoch {meta.get('epoch')}, trained on "
          f"{result['objective']}), {which}")
    print(f"  negative ELBO             {ev['loss']:10.3f} nats  (recon {ev['recon']:.3f}, "
          f"KL {ev['kl']:.3f})")
    se = "" if nll_se is None else f" +- {nll_se:.3f}"
    print(f"  -log p(x), IWAE K={args.k:<5d} {nll:10.3f}{se} nats  (gap to the ELBO "
          f"{ev['loss'] - nll:.3f})")
    if au is not None:
        print(f"  active units              {au.count:4d} of {model.z_dim}  (variance over x of "
              f"E_q[z_j|x] above 0.01)")
    run = Path(args.run)
    if run.is_dir():
        try:
            atomic_write_text(run / "evaluation.json", json.dumps(result, indent=2) + "\n")
        except OSError as exc:  # a read-only run: the results above stand, only unsaved
            from ..train.run import describe_os_error
            print(f"elbo-edu evaluate: note: the results above were not saved: could not write "
                  f"{run / 'evaluation.json'}: {describe_os_error(exc, run / 'evaluation.json')}",
                  file=sys.stderr)
    return 0


def _cmd_sample(args) -> int:
    import numpy as np

    from .. import plots
    from ..train.checkpoint import load_model

    if args.out is not None and Path(args.out).suffix.lower() not in (".png", ".pdf", ".svg"):
        raise CLIError(f"--out: expected a file name ending in .png, .pdf or .svg, "
                       f"got {args.out!r}")
    model, ck = load_model(args.run)
    run = Path(args.run)
    out = Path(args.out) if args.out else (run if run.is_dir() else run.parent) / "samples.png"
    shape = _image_shape(model.x_dim)
    if shape is None and model.x_dim != 2:
        raise CLIError(f"cannot draw {model.x_dim}-dimensional samples (neither an image nor 2-D)")
    cap = MAX_SAMPLE_IMAGES if shape is not None else MAX_SAMPLE_POINTS
    n = min(args.n, cap)
    if n < args.n:
        print(f"elbo-edu sample: note: --n {args.n} is more than one figure can show; drawing "
              f"{n} samples", file=sys.stderr)
    x = model.sample(n, np.random.default_rng(args.seed))
    if shape is not None:
        plots.plot_samples(x, path=out, shape=shape, nrow=int(np.ceil(np.sqrt(n))))
    else:
        data = _toy_overlay(ck.meta, args.seed)
        if data is None:
            plots.plot_points(x, path=out, title="Samples")
        else:
            plots.plot_samples_on_data(x, data, path=out)
    print(f"wrote {n} samples to {out}")
    return 0


def _toy_overlay(meta: dict, seed: int):
    """Test points of a toy run's data set, for the sample figure (None if not a toy set)."""
    import numpy as np

    from ..data import random_subset

    name = meta.get("data")
    if name in IMAGE_SETS or name is None:
        return None
    try:
        data = _load_data(name, None, np.float64)
    except ValueError:
        return None
    return random_subset(data.x_test, 2000, np.random.default_rng(seed))


def _cmd_gradcheck(args) -> int:
    from ..gradcheck import run_all

    report = run_all(seed=args.seed, tol=args.tol)
    print(report)
    return 0 if report.passed else 1


# ------------------------------------------------------------------------------------- parser
def _add_train(sub) -> None:
    from ..data import DATASET_NAMES
    from ..vae.likelihoods import LIKELIHOODS
    from ..vae import HIDDEN_ACTIVATIONS

    t = sub.add_parser(
        "train", help="train a VAE and write a run folder",
        description="Train a VAE with Adam and write a run folder: config.json, metrics.jsonl "
                    "(one line per epoch), checkpoint.npz (rewritten atomically every epoch) and "
                    "PNG figures. Without arguments: the MNIST subset shipped with the package, "
                    f"784-400-20 with a Bernoulli decoder, {IMAGE_EPOCHS} epochs (under 30 s). The "
                    "run folder is locked while training and an existing run is never "
                    "replaced unless --overwrite is given.",
        epilog="Image data defaults: --likelihood bernoulli --hidden 400 --z-dim 20 --lr 1e-3 "
               f"--epochs {IMAGE_EPOCHS}. 2-D toy data defaults: --likelihood gaussian "
               "--obs-var 0.01 (0.04 for gaussian-mixture: about the data's noise variance) "
               "--hidden 64 64 --z-dim 2 --lr 3e-3 --epochs 20. With --resume RUN the run's own model and training "
               "settings are used; --epochs is the new total and training continues exactly "
               "where it stopped. Ctrl-C or SIGTERM saves the exact state first.")
    t.add_argument("--data", choices=DATASET_NAMES, default=None,
                   help="data set (default embedded: 8000/2000 MNIST digits inside the package)")
    t.add_argument("--data-dir", metavar="DIR", type=_path, default=None,
                   help="folder holding the MNIST / binarized MNIST files")
    t.add_argument("--no-download", action="store_true",
                   help="never download MNIST; fail if the files are not found")
    t.add_argument("--likelihood", choices=LIKELIHOODS, default=None, help="decoder p(x|z)")
    t.add_argument("--hidden", type=_positive_int, nargs="+", metavar="N", default=None,
                   help="hidden widths of the encoder (the decoder mirrors them)")
    t.add_argument("--z-dim", type=_positive_int, default=None, help="latent dimension")
    t.add_argument("--activation", choices=HIDDEN_ACTIVATIONS, default=None,
                   help="hidden activation of every layer (default relu)")
    t.add_argument("--obs-var", type=_float(0, True), default=None,
                   help="variance c of the 'gaussian' likelihood; initial gamma of "
                        "'gaussian-learned' (default 1; 0.01 or 0.04 for toy data)")
    t.add_argument("--learned-var", choices=("scalar", "pixel"), default=None,
                   help="one learned variance, or one per pixel (default scalar)")
    t.add_argument("--beta", type=_float(0, False), default=None, help="KL weight (default 1)")
    t.add_argument("--kl-warmup", type=_nonneg_int, metavar="E", default=None,
                   help="epochs over which the KL weight ramps from 0 to beta (default 0)")
    t.add_argument("--batch-size", type=_positive_int, default=None, help="default 128")
    t.add_argument("--lr", type=_float(0, True), default=None,
                   help="Adam step (default 1e-3; 3e-3 for toy data)")
    t.add_argument("--epochs", type=_positive_int, default=None,
                   help=f"default {IMAGE_EPOCHS} (20 for toy data); with --resume, the new total")
    t.add_argument("--binarize", choices=("none", "dynamic", "static"), default=None,
                   help="'dynamic': a fresh Bernoulli draw of every training batch; 'static': "
                        "one draw of the training set, kept (default none: grey levels)")
    t.add_argument("--objective", choices=("elbo", "iwae", "free-bits"), default=None,
                   help="training objective: the k-sample ELBO (default), the IWAE_k bound, "
                        "or the ELBO with free bits (--free-bits)")
    t.add_argument("--k", type=_positive_int, default=None,
                   help="samples per example: the k-sample average ELBO, or IWAE_k (default 1)")
    t.add_argument("--free-bits", type=_float(0, False), metavar="LAMBDA", default=None,
                   help="nats per latent dimension the KL gets for free (--objective free-bits)")
    t.add_argument("--adam-eps", type=_float(0, True), metavar="EPS", default=None,
                   help="Adam's epsilon (default 1e-8; the IWAE paper used 1e-4)")
    t.add_argument("--seed", type=_nonneg_int, default=None,
                   help="seed of weights, shuffling and noise (default 0)")
    t.add_argument("--dtype", choices=("float32", "float64"), default=None,
                   help="floating type (default float32)")
    t.add_argument("--out", metavar="DIR", type=_path, default=None,
                   help="run folder (default runs/<timestamp>); must not hold a run already")
    t.add_argument("--overwrite", action="store_true",
                   help="replace the run in --out (only once the new run saves its first "
                        "checkpoint)")
    t.add_argument("--resume", metavar="RUN", type=_path, default=None,
                   help="continue the run in this folder (or checkpoint file)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--no-plots", action="store_true", help="do not write PNG figures")
    t.set_defaults(func=_cmd_train)


def _add_evaluate(sub) -> None:
    e = sub.add_parser("evaluate", help="test negative ELBO and IWAE log-likelihood of a run",
                       description="Evaluate a trained run on its test set: the negative ELBO "
                                   "(fixed-seed noise, as in training) and -log p(x) estimated "
                                   "by importance sampling with K samples per example (IWAE).")
    e.add_argument("run", metavar="RUN", type=_path, help="run folder (or checkpoint file)")
    e.add_argument("--k", type=_positive_int, default=100,
                   help="importance samples per test image (default 100; the literature's "
                        "test log-likelihoods use 5000)")
    e.add_argument("--n", type=_positive_int, default=None,
                   help="evaluate N test examples drawn at random with --seed (default all)")
    e.add_argument("--data-dir", metavar="DIR", type=_path, default=None,
                   help="where the data files are")
    e.add_argument("--no-download", action="store_true", help="never download MNIST")
    e.add_argument("--seed", type=_nonneg_int, default=0,
                   help="seed of the importance samples and of the --n subset (default 0)")
    e.add_argument("--no-progress", action="store_true", help="no progress bar")
    e.set_defaults(func=_cmd_evaluate)


def _add_sample(sub) -> None:
    s = sub.add_parser("sample", help="draw samples from a trained run and save a picture",
                       description="Draw z ~ N(0, I), decode, and save the decoded means as a "
                                   "PNG (an image grid, or for 2-D data a scatter plot over "
                                   "the data).")
    s.add_argument("run", metavar="RUN", type=_path, help="run folder (or checkpoint file)")
    s.add_argument("--n", type=_positive_int, default=64,
                   help=f"number of samples (default 64; at most {MAX_SAMPLE_IMAGES} images or "
                        f"{MAX_SAMPLE_POINTS} points are drawn)")
    s.add_argument("--out", metavar="PNG", type=_path, default=None,
                   help="default RUN/samples.png")
    s.add_argument("--seed", type=_nonneg_int, default=0, help="seed of z (default 0)")
    s.set_defaults(func=_cmd_sample)


def _add_gradcheck(sub) -> None:
    g = sub.add_parser("gradcheck", help="check every analytic gradient by finite differences",
                       description="Check every hand-written gradient of the package (layers, "
                                   "log-densities, KL divergences, the VAE) against central finite "
                                   "differences in float64 and print a table.")
    g.add_argument("--seed", type=_nonneg_int, default=0,
                   help="seed of the random test inputs (default 0)")
    g.add_argument("--tol", type=_float(0, True), default=1e-7,
                   help="pass threshold on the relative error, a number > 0 (default 1e-7)")
    g.set_defaults(func=_cmd_gradcheck)


#: (name, add) pairs: ``add(subparsers)`` adds the subcommand's parser and sets ``func``
SUBCOMMANDS: list = [("train", _add_train), ("evaluate", _add_evaluate),
                     ("sample", _add_sample), ("gradcheck", _add_gradcheck)]


def register_subcommand(name: str, add) -> None:
    """Add (or replace) a subcommand: ``add(subparsers)`` creates its parser and sets
    ``func(args) -> exit status``; its errors get the same one-line treatment."""
    SUBCOMMANDS[:] = [(n, a) for n, a in SUBCOMMANDS if n != name] + [(name, add)]


def _add_course(sub) -> None:
    from ..course.cli import add_course_parser   # elbo-edu course build OUT (nbgrader folder)
    add_course_parser(sub)


register_subcommand("course", _add_course)


def _add_chapters(sub) -> None:
    from ..course.chapters import add_chapters_parser   # elbo-edu chapters OUT (student notebooks)
    add_chapters_parser(sub)


register_subcommand("chapters", _add_chapters)


def _add_plot(sub) -> None:
    from .plot import add_plot_parser  # elbo-edu plot RUN (redraw a run's figures)
    add_plot_parser(sub)


register_subcommand("plot", _add_plot)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="elbo-edu",
        description="The variational autoencoder derived step by step, every step verified.")
    from .. import __version__
    p.add_argument("--version", action="version", version=f"elbo-edu {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for _, add in SUBCOMMANDS:
        add(sub)
    for parser in sub.choices.values():  # a subcommand built with another parser class too
        parser.allow_abbrev = False
    p.set_defaults(_subparsers=sub.choices)
    return p


# ------------------------------------------------------------------------------------ messages
#: API argument names as they appear in messages -> the flag a CLI user knows
_FLAG_NAMES = [
    (r"path/data_dir", "--data-dir"), (r"data_dir", "--data-dir"), (r"out_dir", "--out"),
    (r"resume_from", "--resume"), (r"obs_var", "--obs-var"), (r"kl_warmup_epochs", "--kl-warmup"),
    (r"batch_size", "--batch-size"), (r"lr", "--lr"), (r"epochs(?=[:=]| is)", "--epochs"),
    (r"download=False", "--no-download"), (r"load_dataset\('embedded'\)", "--data embedded"),
]


def cli_message(text: str) -> str:
    """A message of the Python API worded for the command line: API argument names become the
    flags (``obs_var=1e-300`` -> ``--obs-var 1e-300``), and it is one line."""
    text = " ".join(str(text).split())
    for name, flag in _FLAG_NAMES:
        text = re.sub(r"(?<![-\w./])" + name + r"=(?=[^\s=])", flag + " ", text)
        text = re.sub(r"(?<![-\w./])" + name + r"(?![\w/-]|\.\w)", flag, text)
    return text


def _error_line(command: str, exc: BaseException) -> str:
    from ..train.run import describe_os_error

    if isinstance(exc, OSError) and not isinstance(exc, ValueError):
        text = describe_os_error(exc)
    else:
        text = cli_message(str(exc))
    return f"elbo-edu {command}: error: {text}"


def main(argv: list[str] | None = None) -> int:
    """The command line (``argv`` None: ``sys.argv``); returns the exit status."""
    status = _main(argv)
    if argv is None:  # the real command: a signal while Python shuts down exits at once
        _exit_on_signal(status)
    return status


def _exit_on_signal(status: int) -> None:
    """From here on SIGINT or SIGTERM end the process with status 128 + signum, without running
    the exit handlers (which would print a KeyboardInterrupt traceback from inside one)."""
    import os
    import signal

    def handler(signum, frame):
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(128 + signum)

    with contextlib.suppress(ValueError):  # not the main thread
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, handler)


def _main(argv: list[str] | None) -> int:
    from ..train import TrainingDiverged, TrainingInterrupted

    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # reported by the subcommand, which can name its own flags
        args._subparsers[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    with warnings.catch_warnings(), contextlib.ExitStack() as stack:
        # the messages below say what happened; NumPy's warnings would only repeat it in code
        warnings.simplefilter("ignore", RuntimeWarning)
        import numpy as np
        stack.enter_context(np.errstate(over="ignore", invalid="ignore", divide="ignore"))
        try:
            return int(args.func(args) or 0)
        except TrainingDiverged as exc:
            print(_error_line(args.command, exc), file=sys.stderr)
            return 1
        except TrainingInterrupted as exc:
            run = exc.checkpoint.parent if exc.checkpoint is not None else None
            if getattr(exc, "finished", False):
                hint = f" and saved in {run} (draw the figures with: elbo-edu plot {run})" \
                    if run is not None else ""
            else:
                hint = f"; continue with: elbo-edu train --resume {run}" if run else ""
            print(f"elbo-edu {args.command}: {cli_message(str(exc))}{hint}", file=sys.stderr)
            return 128 + (exc.signum or 2)
        except _Stopped as exc:
            print(f"elbo-edu {args.command}: {exc}", file=sys.stderr)
            return 128 + exc.signum
        except (CLIError, ValueError, OSError) as exc:
            print(_error_line(args.command, exc), file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(f"elbo-edu {args.command}: interrupted", file=sys.stderr)
            return 130
        except MemoryError:  # the estimates above passed, and yet an allocation failed
            print(f"elbo-edu {args.command}: error: out of memory; try a smaller --hidden, "
                  f"--z-dim, --batch-size (or --k, --n when evaluating)", file=sys.stderr)
            return 2

