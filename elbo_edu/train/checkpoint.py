"""Checkpoints and run folders: save a training state atomically, load it back exactly.

A run folder (what ``elbo-edu train --out DIR`` writes) holds

* ``config.json``     - the model's constructor arguments, the training settings, the data set;
* ``metrics.jsonl``   - one JSON object per finished epoch;
* ``checkpoint.npz``  - the state needed to continue bit for bit: the model's flat ``params``
  dict (keys ``param/encoder.0.W`` ...), the optimizer's state (``optim/m.encoder.0.W`` ...),
  extra arrays (``state/perm``: the shuffling order of an interrupted epoch) and one JSON string
  ``meta`` (model config, epoch counter, the random generator's state, the metrics history);
* PNG figures.

The checkpoint is written to a temporary file in the same folder, flushed to disk, then renamed
over the old one with :func:`os.replace` (atomic on POSIX and Windows): a crash or Ctrl-C during
the write leaves the previous checkpoint intact, never half a file.
"""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._checks.files import atomic_write, atomic_write_text
from .run import CHECKPOINT_NAME, CONFIG_NAME, METRICS_NAME

__all__ = ["CHECKPOINT_NAME", "CONFIG_NAME", "METRICS_NAME", "CheckpointError", "Checkpoint",
           "save_checkpoint", "load_checkpoint", "find_checkpoint", "atomic_write_text",
           "load_model", "read_metrics", "check_training_checkpoint"]

FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint or run folder is missing, unreadable or does not fit the model."""


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` returns: flat dicts of arrays and the JSON metadata."""
    params: dict[str, np.ndarray]
    optim: dict[str, np.ndarray] = field(default_factory=dict)
    state: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    path: Path | None = None


def save_checkpoint(path, params: dict, *, optim: dict | None = None, state: dict | None = None,
                    meta: dict | None = None) -> Path:
    """Write a checkpoint atomically and return its path.

    Parameters
    ----------
    path : path of the ``.npz`` file (or a run folder: ``checkpoint.npz`` inside it)
    params : dict name -> array, the model's ``params``
    optim : dict name -> array, an optimizer's ``state_dict()``
    state : dict name -> array, anything else (e.g. an interrupted epoch's permutation)
    meta : JSON-serialisable dict
    """
    path = Path(path)
    if path.is_dir() or not path.suffix:
        path = path / CHECKPOINT_NAME
    arrays = {f"param/{k}": np.asarray(v) for k, v in params.items()}
    arrays.update({f"optim/{k}": np.asarray(v) for k, v in (optim or {}).items()})
    arrays.update({f"state/{k}": np.asarray(v) for k, v in (state or {}).items()})
    arrays["meta"] = np.array(json.dumps({"format": FORMAT_VERSION, **(meta or {})}))
    return atomic_write(path, lambda f: np.savez(f, **arrays))


def find_checkpoint(path) -> Path:
    """The checkpoint file for ``path``: the file itself or ``checkpoint.npz`` in a run folder."""
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / CHECKPOINT_NAME
    if not p.is_file():
        raise CheckpointError(f"checkpoint: no checkpoint at {p} (expected a run folder written "
                              f"by 'elbo-edu train' or a {CHECKPOINT_NAME} file)")
    return p


def load_checkpoint(path) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` (a run folder or the file)."""
    p = find_checkpoint(path)
    try:
        with np.load(p, allow_pickle=False) as z:
            ck = Checkpoint({}, path=p)
            for key in z.files:
                kind, _, name = key.partition("/")
                if key == "meta":
                    ck.meta = json.loads(str(z[key][()]))
                elif kind in ("param", "optim", "state") and name:
                    getattr(ck, {"param": "params"}.get(kind, kind))[name] = z[key]
    except PermissionError:
        raise CheckpointError(f"checkpoint: cannot read {p}: permission denied") from None
    except (OSError, ValueError, zipfile.BadZipFile, KeyError, EOFError, UnicodeDecodeError):
        # (the library's own text would suggest allow_pickle=, which is never the remedy)
        raise CheckpointError(f"checkpoint: cannot read {p}: corrupt or not a checkpoint "
                              f"(damaged, truncated, or not written by elbo_edu)") from None
    if not ck.params or not isinstance(ck.meta, dict) or "format" not in ck.meta:
        raise CheckpointError(f"checkpoint: {p} is not an elbo_edu checkpoint (no parameters "
                              f"or metadata)")
    return ck


def load_model(path):
    """Rebuild the trained VAE of a run folder (or checkpoint file).

    Returns
    -------
    (model, checkpoint) : the :class:`~elbo_edu.vae.VAE` with the saved parameters, and the
    :class:`Checkpoint` (its ``meta`` holds the model config, training settings and history).
    """
    from ..vae import VAE

    ck = load_checkpoint(path)
    cfg = ck.meta.get("model")
    if not isinstance(cfg, dict):
        raise CheckpointError(f"checkpoint: {ck.path} has no model configuration")
    check_training_checkpoint(ck, resumable=False)
    try:
        model = VAE.from_config(cfg, rng=np.random.default_rng(0))
        model.load_params(ck.params)
    except MemoryError:
        raise CheckpointError(f"checkpoint: {ck.path} describes a model too large for this "
                              f"computer's memory") from None
    except ValueError as exc:
        text = str(exc)
        if text.startswith("params: "):  # the weights themselves
            raise CheckpointError(f"checkpoint: {ck.path} is damaged: its parameter "
                                  f"{text[len('params: '):]}") from None
        raise CheckpointError(f"checkpoint: {ck.path} does not describe a valid model: "
                              f"{exc}") from None
    return model, ck


def read_metrics(run) -> list[dict]:
    """The per-epoch metrics of a run folder (``metrics.jsonl``), as a list of dicts."""
    p = Path(run).expanduser() / METRICS_NAME
    if not p.is_file():
        raise CheckpointError(f"run: no {METRICS_NAME} in {Path(run)}")
    try:
        return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]
    except (ValueError, OSError):
        raise CheckpointError(f"run: {p} is damaged (not one JSON object per line)") from None


def _bad_entry(ck, key: str, expected: str, got) -> CheckpointError:
    shown = repr(got)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return CheckpointError(f"checkpoint: {ck.path} is damaged: its entry {key!r} should be "
                           f"{expected}, got {shown}")


def _is_int(v, low: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= low


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v


#: training settings in a checkpoint: key -> (what it should be, test)
_SETTINGS = {
    "epochs": ("a positive integer", lambda v: _is_int(v, 1)),
    "batch_size": ("a positive integer", lambda v: _is_int(v, 1)),
    "lr": ("a positive number", lambda v: _is_number(v) and 0 < v < float("inf")),
    "kl_warmup_epochs": ("an integer >= 0", lambda v: _is_int(v, 0)),
    "seed": ("an integer >= 0", lambda v: _is_int(v, 0)),
    "binarize": ("null or 'dynamic'", lambda v: v in (None, "dynamic")),
    "eval_batch_size": ("a positive integer", lambda v: _is_int(v, 1)),
    "eval_seed": ("an integer >= 0", lambda v: _is_int(v, 0)),
}


def check_training_checkpoint(ck: Checkpoint, *, resumable: bool = True) -> Checkpoint:
    """Check that a checkpoint holds a resumable training state, naming the file and the key of
    the first damaged entry (rather than a flag the user never gave, or a ``TypeError`` deep in
    the training loop).

    Checked: the entries ``model`` (a model configuration :class:`~elbo_edu.vae.VAE` accepts),
    ``train`` (the settings, each of its type), ``history`` (one dict per finished epoch,
    numbered 1, 2, ...), ``epoch`` (their count), ``rng_state``, ``partial`` (an unfinished
    epoch or null) and the optimizer's step counter.

    With ``resumable=False`` only what evaluating or sampling reads is checked: ``model``, the
    parameters, and ``train`` if present.

    Raises
    ------
    CheckpointError
        Naming ``ck.path`` and the entry, e.g. ``'train.batch_size'`` or ``'history[3]'``.
    """
    meta = ck.meta
    if not resumable:
        _check_model_entry(ck)
        _check_params(ck)
        if "train" in meta:
            _check_train_entry(ck)
        return ck
    for key in ("model", "train", "rng_state", "history", "epoch"):
        if key not in meta:
            raise CheckpointError(f"checkpoint: {ck.path} has no {key!r} entry (damaged, or not "
                                  f"written by elbo_edu's training)")
    if "t" not in ck.optim:
        raise CheckpointError(f"checkpoint: {ck.path} has no optimizer step counter (damaged, "
                              f"or not written by elbo_edu's training)")
    _check_model_entry(ck)
    _check_params(ck)
    _check_train_entry(ck)
    history = meta["history"]
    if not isinstance(history, list):
        raise _bad_entry(ck, "history", "a list with one entry per finished epoch", history)
    for i, h in enumerate(history):
        if not isinstance(h, dict) or h.get("epoch") != i + 1 or not all(
                _is_number(h.get(k)) for k in ("train_loss", "seconds")):
            raise _bad_entry(ck, f"history[{i}]", f"the metrics of epoch {i + 1} (a dict with "
                             f"'epoch': {i + 1}, 'train_loss', 'seconds', ...)", h)
    if meta["epoch"] != len(history) or isinstance(meta["epoch"], bool):
        raise _bad_entry(ck, "epoch", f"{len(history)} (the number of epochs in 'history')",
                         meta["epoch"])
    if not isinstance(meta["rng_state"], dict):
        raise _bad_entry(ck, "rng_state", "a random generator's state (a dict)",
                         meta["rng_state"])
    part = meta.get("partial")
    if part is not None and not (isinstance(part, dict) and _is_int(part.get("step"), 0) and all(
            _is_number(part.get(k)) for k in ("recon_sum", "kl_sum", "seconds"))):
        raise _bad_entry(ck, "partial", "null or an unfinished epoch (a dict with 'step', "
                         "'recon_sum', 'kl_sum', 'seconds')", part)
    return ck


def _check_train_entry(ck: Checkpoint) -> dict:
    train = ck.meta["train"]
    if not isinstance(train, dict):
        raise _bad_entry(ck, "train", "a dict of training settings", train)
    for key, (expected, ok) in _SETTINGS.items():
        if key in train and not ok(train[key]):
            raise _bad_entry(ck, f"train.{key}", expected, train[key])
    return train


def _check_params(ck: Checkpoint) -> None:
    for name, a in ck.params.items():
        if not (np.issubdtype(a.dtype, np.number) and np.all(np.isfinite(a))):
            raise CheckpointError(f"checkpoint: {ck.path} is damaged: its parameter {name!r} "
                                  f"holds NaN or infinite values")


def _check_model_entry(ck: Checkpoint) -> dict:
    """The ``model`` entry, checked by building the model it describes (no weights loaded)."""
    from ..vae import VAE

    cfg = ck.meta.get("model")
    if not isinstance(cfg, dict):
        raise _bad_entry(ck, "model", "a model configuration (a dict)", cfg)
    try:
        VAE.from_config(dict(cfg, hidden=[1] * len(cfg["hidden"]), x_dim=1, z_dim=1)
                        if _shapes_ok(cfg) else cfg, rng=np.random.default_rng(0))
    except (ValueError, TypeError, MemoryError) as exc:
        name, _, why = str(exc).partition(": ")
        key = f"model.{name}" if name.isidentifier() and name in cfg else "model"
        raise CheckpointError(f"checkpoint: {ck.path} is damaged: its entry {key!r} is not "
                              f"valid ({why or exc})") from None
    return cfg


def _shapes_ok(cfg: dict) -> bool:
    """True if the sizes in ``cfg`` are plain positive integers (then the check builds a tiny
    model of the same kind instead of allocating the real one)."""
    hidden = cfg.get("hidden")
    return (all(_is_int(cfg.get(k), 1) for k in ("x_dim", "z_dim"))
            and isinstance(hidden, list) and all(_is_int(h, 1) for h in hidden))
