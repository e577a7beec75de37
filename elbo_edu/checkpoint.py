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

from ._io import atomic_write, atomic_write_text
from .run import CHECKPOINT_NAME, CONFIG_NAME, METRICS_NAME

__all__ = ["CHECKPOINT_NAME", "CONFIG_NAME", "METRICS_NAME", "CheckpointError", "Checkpoint",
           "save_checkpoint", "load_checkpoint", "find_checkpoint", "atomic_write_text",
           "load_model", "read_metrics"]

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
    from .vae import VAE

    ck = load_checkpoint(path)
    cfg = ck.meta.get("model")
    if not isinstance(cfg, dict):
        raise CheckpointError(f"checkpoint: {ck.path} has no model configuration")
    try:
        model = VAE.from_config(cfg, rng=np.random.default_rng(0))
        model.load_params(ck.params)
    except ValueError as exc:
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
