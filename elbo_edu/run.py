"""The run folder: where one training run keeps its config, metrics and checkpoint (chapter 09).

A run folder holds ``config.json`` (what trains: the model and the training settings),
``metrics.jsonl`` (one JSON object per finished epoch), ``checkpoint.npz`` (everything needed to
continue bit for bit) and the PNG figures. The folder is the user's data, so :class:`RunFolder`
protects it:

* it is **locked** for the life of the run (a ``.lock`` file holding the process id): a second
  training into the same folder stops with one line instead of interleaving two runs; the lock of
  a process that no longer exists is recognised as stale and taken over;
* an existing run is **never overwritten unasked**: a new run into a folder that already holds one
  is refused unless it resumes that run or ``overwrite=True`` is given;
* with ``overwrite=True`` the old run is replaced only when the new run writes its first
  checkpoint, so a run that fails before that leaves the old one as it was;
* every file is written atomically (:func:`elbo_edu._io.atomic_write`): a crash, a full disk or a
  Ctrl-C during a write keeps the previous version of the file.

Examples
--------
>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as tmp, RunFolder(pathlib.Path(tmp) / "r") as run:
...     run.save_config({"lr": 0.001})
...     _ = run.save_checkpoint(lambda p: p.write_bytes(b"state") and p)
...     sorted(p.name for p in run.path.iterdir())
['.lock', 'checkpoint.npz', 'config.json', 'metrics.jsonl']
"""
from __future__ import annotations

import errno
import json
import os
import re
import socket
from pathlib import Path

from ._io import atomic_write_text

__all__ = ["RunFolder", "RunFolderError", "RUN_FILES", "describe_os_error"]

CHECKPOINT_NAME = "checkpoint.npz"
CONFIG_NAME = "config.json"
METRICS_NAME = "metrics.jsonl"
LOCK_NAME = ".lock"
#: the files that make a folder a run folder (figures and evaluations belong to the run too)
RUN_FILES = (CONFIG_NAME, METRICS_NAME, CHECKPOINT_NAME)
_RUN_EXTRAS = ("evaluation.json", "curves.png", "reconstructions.png", "samples.png",
               "latent.png", "manifold.png")


class RunFolderError(ValueError):
    """The run folder cannot be used: it holds another run, it is locked, or writing failed."""


def describe_os_error(exc: OSError) -> str:
    """One plain sentence for a file-system error (no ``[Errno N]`` text).

    >>> describe_os_error(OSError(errno.ENOSPC, "No space left on device", "x.npz"))
    'the disk is full (writing x.npz)'
    >>> describe_os_error(OSError(errno.ENOENT, "No such file", "/d/.x.png.1234.00ff00ff.tmp"))
    'no such file or folder (writing /d/x.png)'
    """
    what = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
            errno.EACCES: "permission denied", errno.EPERM: "permission denied",
            errno.EROFS: "the file system is read-only", errno.EEXIST: "a file is in the way",
            errno.ENOTDIR: "a file is in the way", errno.ENOENT: "no such file or folder",
            errno.EISDIR: "a folder is in the way", errno.ENAMETOOLONG: "the name is too long",
            }.get(exc.errno, (exc.strerror or type(exc).__name__).lower())
    where = exc.filename
    if where:  # name the destination, not the hidden temporary file of an atomic write
        p = Path(where)
        m = re.fullmatch(r"\.(.+)\.\d+\.[0-9a-f]+\.tmp", p.name)
        where = p.with_name(m.group(1)) if m else p
    return f"{what} (writing {where})" if where else what


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, and belongs to someone else
        return True
    except OSError:  # pragma: no cover - e.g. an invalid pid on some systems
        return False
    return True


class RunFolder:
    """One training run's folder: creation, the lock, the file paths and atomic writes.

    Parameters
    ----------
    path : str or Path
        The folder (created if missing, with its parents). ``""`` is refused: it would write the
        run into the current directory.
    resume : bool
        True when this run continues the run already in ``path`` (its files are expected).
    overwrite : bool
        Replace a run already in ``path``, but only once this run writes its first checkpoint.

    Raises
    ------
    RunFolderError
        ``path`` is empty, is a file, holds a run (without ``resume`` or ``overwrite``), or is
        locked by a running training.
    """

    def __init__(self, path, *, resume: bool = False, overwrite: bool = False):
        if isinstance(path, str) and not path.strip():
            raise RunFolderError("out_dir: expected a folder name, got an empty string")
        if not isinstance(path, (str, os.PathLike)):
            raise RunFolderError(f"out_dir: expected a path, got {type(path).__name__}")
        self.path = Path(path).expanduser()
        self.resume, self.overwrite = bool(resume), bool(overwrite)
        self.created = False
        self._locked = False
        self._pending_replace = False  # overwrite: the old run is still there
        self._checkpointed = False  # config and metrics wait for the first checkpoint
        self._config: dict = {}
        self._history: list[dict] = []

    # -- paths ---------------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_NAME

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS_NAME

    @property
    def checkpoint_path(self) -> Path:
        return self.path / CHECKPOINT_NAME

    @property
    def lock_path(self) -> Path:
        return self.path / LOCK_NAME

    def holds_run(self) -> bool:
        """True if the folder already holds (part of) a run."""
        return any((self.path / name).exists() for name in RUN_FILES)

    # -- life cycle ----------------------------------------------------------------------------
    def open(self) -> "RunFolder":
        """Create the folder if needed, take the lock, refuse an existing run (see the class)."""
        if self.path.exists() and not self.path.is_dir():
            raise RunFolderError(f"out_dir: {self.path} exists and is not a folder")
        if not self.path.exists():
            try:
                self.path.mkdir(parents=True)
            except FileExistsError:  # created at the same moment by someone else
                pass
            except OSError as exc:
                raise RunFolderError(f"out_dir: cannot create {self.path}: "
                                     f"{describe_os_error(exc)}") from None
            else:
                self.created = True
        self._lock()
        try:
            if self.holds_run() and not self.resume:
                if not self.overwrite:
                    raise RunFolderError(
                        f"out_dir: {self.path} already holds a run; continue it with "
                        f"--resume {self.path}, or pass --overwrite to replace it (the old run "
                        f"is kept until the new one saves its first checkpoint)")
                self._pending_replace = True
        except BaseException:
            self.close()
            raise
        return self

    def _lock(self) -> None:
        me = f"{os.getpid()} {socket.gethostname()}\n"
        for _ in range(3):
            try:
                fd = os.open(self.lock_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                if self._lock_is_stale():
                    self.lock_path.unlink(missing_ok=True)
                    continue
                raise RunFolderError(
                    f"out_dir: {self.path} is in use by another training ({self._lock_owner()}); "
                    f"wait for it to finish or choose another folder (if no training is "
                    f"running, delete {self.lock_path})") from None
            except OSError as exc:
                raise RunFolderError(f"out_dir: cannot lock {self.path}: "
                                     f"{describe_os_error(exc)}") from None
            with os.fdopen(fd, "w") as f:
                f.write(me)
            self._locked = True
            return
        raise RunFolderError(f"out_dir: could not lock {self.path}")  # pragma: no cover

    def _lock_owner(self) -> str:
        try:
            pid, host = self.lock_path.read_text().split()
            return f"process {pid} on {host}"
        except (OSError, ValueError):
            return "unknown process"

    def _lock_is_stale(self) -> bool:
        """A lock whose process is gone (on this machine) no longer protects anything."""
        try:
            pid, host = self.lock_path.read_text().split()
            pid = int(pid)
        except FileNotFoundError:
            return True
        except (OSError, ValueError):
            return False  # half-written by a process starting right now: treat as held
        return host == socket.gethostname() and not _pid_alive(pid)

    def close(self) -> None:
        """Release the lock; remove the folder again if this run created it and wrote nothing."""
        if self._locked:
            self.lock_path.unlink(missing_ok=True)
            self._locked = False
        if self.created and self.path.is_dir() and not any(self.path.iterdir()):
            self.path.rmdir()
            self.created = False

    def __enter__(self) -> "RunFolder":
        return self.open()

    def __exit__(self, *exc) -> bool:
        self.close()
        return False

    # -- writing -------------------------------------------------------------------------------
    @property
    def replacing(self) -> bool:
        """True while an old run is still in the folder, waiting to be replaced."""
        return self._pending_replace and self.holds_run()

    def _write(self, path: Path, write) -> Path:
        try:
            return write()
        except OSError as exc:
            kept = " (the previous version of the file was kept)" if path.exists() else ""
            raise RunFolderError(f"could not write {path}: {describe_os_error(exc)}{kept}") \
                from None

    def save_config(self, config: dict) -> None:
        """Write ``config.json``. Until this run's first checkpoint the config is only kept in
        memory: a run that fails before its first checkpoint writes nothing."""
        self._config = config
        if self._checkpointed:
            self._write(self.config_path, lambda: atomic_write_text(
                self.config_path, json.dumps(config, indent=2) + "\n"))

    def save_metrics(self, history: list[dict]) -> None:
        """Rewrite ``metrics.jsonl`` with one line per epoch of ``history`` (deferred like the
        config until the first checkpoint)."""
        self._history = list(history)
        if self._checkpointed:
            text = "".join(json.dumps(h) + "\n" for h in history)
            self._write(self.metrics_path, lambda: atomic_write_text(self.metrics_path, text))

    def save_checkpoint(self, save) -> Path:
        """Write the checkpoint with ``save(path) -> path``. The first checkpoint of the run is
        the moment an old run (``overwrite``) goes: its figures and evaluation are removed, and
        the new config and metrics are written after the checkpoint."""
        first = not self._checkpointed
        if first and self._pending_replace:
            for name in _RUN_EXTRAS:
                (self.path / name).unlink(missing_ok=True)
        path = self._write(self.checkpoint_path, lambda: save(self.checkpoint_path))
        if first:
            self._checkpointed, self._pending_replace = True, False
            self.save_config(self._config)
            self.save_metrics(self._history)
        return path
