"""The run folder: where one training run keeps its config, metrics and checkpoint (chapter 09).

A run folder holds ``config.json`` (what trains: the model and the training settings),
``metrics.jsonl`` (one JSON object per finished epoch), ``checkpoint.npz`` (everything needed to
continue bit for bit) and the PNG figures. The folder is the user's data, so :class:`RunFolder`
protects it:

* it is **locked** for the life of the run (a ``.lock`` file, held with ``flock`` and holding the
  process id): a second training into the same folder stops with one line instead of
  interleaving two runs; the operating system releases the lock when its process ends, however it
  ends, so a lock left behind (empty, or naming a process that is gone) is taken over;
* an existing run is **never overwritten unasked**: a new run into a folder that already holds one
  is refused unless it resumes that run or ``overwrite=True`` is given;
* with ``overwrite=True`` the new run is written beside the old one, and replaces it whole, in one
  atomic swap, once its first checkpoint, config and metrics are written: a run that fails before
  that (a full disk, a divergence, a crash) leaves the old one exactly as it was;
* every file is written atomically (:func:`elbo_edu._checks.files.atomic_write`): a crash, a full disk or a
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

import ctypes
import errno
import json
import os
import re
import secrets
import shutil
import socket
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: the lock file's text decides
    fcntl = None

from .._checks.files import atomic_write_text

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


def describe_os_error(exc: OSError, file=None) -> str:
    """One plain sentence for a file-system error (no ``[Errno N]`` text), naming the file.

    ``file`` is the file being written when the caller knows it (the error itself may name none,
    as a failing ``write`` does); the sentence then leaves out a file name the caller already gives.

    >>> describe_os_error(OSError(errno.ENOSPC, "No space left on device", "x.npz"))
    'the disk is full (writing x.npz)'
    >>> describe_os_error(OSError(errno.ENOENT, "No such file", "/d/.x.png.1234.00ff00ff.tmp"))
    'no such file or folder (writing /d/x.png)'
    >>> describe_os_error(OSError(errno.ENOSPC, "No space left on device"), "r/x.npz")
    'the disk is full'
    """
    what = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
            errno.EACCES: "permission denied", errno.EPERM: "permission denied",
            errno.EROFS: "the file system is read-only", errno.EEXIST: "a file is in the way",
            errno.ENOTDIR: "a file is in the way", errno.ENOENT: "no such file or folder",
            errno.EISDIR: "a folder is in the way", errno.ENAMETOOLONG: "the name is too long",
            }.get(exc.errno, (exc.strerror or type(exc).__name__).lower())
    where = exc.filename
    if where:  # name the destination, not the hidden temporary file or folder of a write
        p = Path(where)
        m = re.fullmatch(r"\.(.+)\.\d+\.[0-9a-f]+\.tmp", p.name)
        p = p.with_name(m.group(1)) if m else p
        where = Path(*(re.sub(r"^\.(.+)\.new\.\d+\.[0-9a-f]+$", r"\1", part)
                       for part in p.parts))
    if where and (file is None or Path(where) != Path(file)):
        return f"{what} (writing {where})"
    return what


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


def _try_flock(fd: int) -> bool | None:
    """Take an exclusive advisory lock on ``fd`` without waiting: True if taken, False if another
    process holds it, None where the system has no ``flock`` (the lock file's text decides)."""
    if fcntl is None:  # pragma: no cover - Windows
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:  # pragma: no cover - a file system without flock
        return None
    return True


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False where
    the system or file system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), str(b))


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
        Replace a run already in ``path``. The new run is written into a hidden sibling folder
        (``.NAME.new.*``); when its first checkpoint, config and metrics are there, the two
        folders are swapped in one atomic rename (two renames where the system cannot swap), and
        the old run is deleted. Files in ``path`` that are not part of a run move along into
        the new folder. Until then the old run stays as it was, whatever fails.

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
        self._lock_fd: int | None = None  # the lock of self.path (held with flock)
        self._locked = False
        self._staging: Path | None = None  # overwrite: the new run's folder until the swap
        self._staging_lock_fd: int | None = None
        self._checkpointed = False  # config and metrics wait for the first checkpoint
        self._config: dict = {}
        self._history: list[dict] = []

    # -- paths ---------------------------------------------------------------------------------
    @property
    def _dir(self) -> Path:
        """The folder written to: the staging folder while an old run waits to be replaced."""
        return self._staging if self._staging is not None else self.path

    @property
    def config_path(self) -> Path:
        return self._dir / CONFIG_NAME

    @property
    def metrics_path(self) -> Path:
        return self._dir / METRICS_NAME

    @property
    def checkpoint_path(self) -> Path:
        return self._dir / CHECKPOINT_NAME

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
        try:
            self._lock_fd = self._lock(self.path)
            self._locked = True
            if self.holds_run() and not self.resume:
                if not self.overwrite:
                    raise RunFolderError(
                        f"out_dir: {self.path} already holds a run; continue it with "
                        f"--resume {self.path}, or pass --overwrite to replace it (the old run "
                        f"is kept until the new one has saved its first checkpoint)")
                self._open_staging()
        except BaseException:
            self.close()
            raise
        return self

    def _open_staging(self) -> None:
        name = f".{self.path.name}.new.{os.getpid()}.{secrets.token_hex(4)}"
        staging = self.path.parent / name
        try:
            staging.mkdir()
        except OSError as exc:
            raise RunFolderError(f"out_dir: cannot prepare the new run beside {self.path}: "
                                 f"{describe_os_error(exc)} (the run in {self.path} is "
                                 f"unchanged)") from None
        self._staging = staging
        try:
            self._staging_lock_fd = self._lock(staging)
        except RunFolderError as exc:  # (a full disk): said without the staging folder's name
            why = str(exc).rpartition(f"{staging}: ")[2]
            raise RunFolderError(f"out_dir: cannot prepare the new run beside {self.path}: "
                                 f"{why} (the run in {self.path} is unchanged)") from None

    def _lock(self, folder: Path) -> int:
        """Lock ``folder`` (its ``.lock`` file, flock-ed and holding our process id); return the
        open descriptor. A lock nobody holds is taken over, whether its file is empty or names a
        process that is gone; a lock naming another machine is respected (flock may not reach
        across a network file system)."""
        path, me = folder / LOCK_NAME, f"{os.getpid()} {socket.gethostname()}\n"
        for _ in range(5):
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise RunFolderError(f"out_dir: cannot lock {folder}: "
                                     f"{describe_os_error(exc)}") from None
            try:
                taken = _try_flock(fd)
                text = os.pread(fd, 256, 0).decode("utf-8", "replace")
                if taken is False or (taken is None and not self._stale(text)) or \
                        self._elsewhere(text):
                    raise RunFolderError(
                        f"out_dir: {folder} is in use by another training "
                        f"({self._owner(text)}); wait for it to finish or choose another folder "
                        f"(if no training is running, delete {path})")
                if os.fstat(fd).st_ino != os.stat(path).st_ino:  # released and removed meanwhile
                    os.close(fd)
                    continue
                os.ftruncate(fd, 0)
                os.pwrite(fd, me.encode(), 0)
                return fd
            except FileNotFoundError:  # removed by its owner between open and stat
                os.close(fd)
                continue
            except OSError as exc:  # e.g. a full disk: leave no empty lock behind
                os.close(fd)
                path.unlink(missing_ok=True)
                named = exc if exc.filename else OSError(exc.errno, exc.strerror, str(path))
                raise RunFolderError(f"out_dir: cannot lock {folder}: "
                                     f"{describe_os_error(named)}") from None
            except BaseException:
                os.close(fd)
                raise
        raise RunFolderError(f"out_dir: could not lock {folder}")  # pragma: no cover

    @staticmethod
    def _owner(text: str) -> str:
        try:
            pid, host = text.split()
            return f"process {pid} on {host}"
        except ValueError:
            return "unknown process"

    @staticmethod
    def _elsewhere(text: str) -> bool:
        """The lock names a process on another machine."""
        parts = text.split()
        return len(parts) == 2 and parts[1] != socket.gethostname()

    @staticmethod
    def _stale(text: str) -> bool:
        """(Without flock) a lock is stale when empty or its process is gone."""
        try:
            pid, host = text.split()
            return host == socket.gethostname() and not _pid_alive(int(pid))
        except ValueError:
            return True

    def close(self) -> None:
        """Release the lock; remove a staging folder that was never swapped in, and the folder
        itself if this run created it and wrote nothing."""
        if self._staging is not None:
            _remove_tree(self._staging)
            self._staging = None
        for attr in ("_staging_lock_fd", "_lock_fd"):
            fd = getattr(self, attr)
            if fd is not None:
                if attr == "_lock_fd":
                    self.lock_path.unlink(missing_ok=True)
                os.close(fd)
                setattr(self, attr, None)
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
        return self._staging is not None

    def _write(self, path: Path, write) -> Path:
        try:
            return write()
        except OSError as exc:
            shown = self.path / path.name  # the staging folder means nothing to the user
            if self.replacing:
                kept = f" (the run already in {self.path} is unchanged)"
            else:
                kept = " (the previous version of the file was kept)" if path.exists() else ""
            raise RunFolderError(f"could not write {shown}: "
                                 f"{describe_os_error(exc, shown)}{kept}") from None

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
        """Write the checkpoint with ``save(path) -> path``. After the first checkpoint of the
        run the config and the metrics follow, and (``overwrite``) the new run then replaces the
        old one whole."""
        first = not self._checkpointed
        path = self._write(self.checkpoint_path, lambda: save(self.checkpoint_path))
        if first:
            self._checkpointed = True
            try:
                self.save_config(self._config)
                self.save_metrics(self._history)
            except BaseException:
                self._checkpointed = False
                raise
            if self._staging is not None:
                self._swap_in()
                path = self.checkpoint_path
        return path

    def _swap_in(self) -> None:
        """Replace the old run by the staged new one (see the class)."""
        staging, old = self._staging, self.path
        try:
            for p in old.iterdir():  # the user's own files stay in the folder
                if p.name not in (*RUN_FILES, *_RUN_EXTRAS, LOCK_NAME) and \
                        not (staging / p.name).exists():
                    os.rename(p, staging / p.name)
            if _exchange(staging, old):
                gone = staging
            else:  # two renames: for an instant the folder is at neither name
                gone = old.parent / f".{old.name}.old.{os.getpid()}.{secrets.token_hex(4)}"
                os.rename(old, gone)
                os.rename(staging, old)
        except OSError as exc:  # (e.g. the folder is a mount point): keep both runs
            self._staging = None  # so that close() leaves the new run where it is
            raise RunFolderError(f"could not replace the run in {old}: "
                                 f"{describe_os_error(exc)} (the old run is unchanged; the new "
                                 f"run is in {staging})") from None
        self._staging = None
        old_lock, self._lock_fd, self._staging_lock_fd = self._lock_fd, self._staging_lock_fd, None
        _remove_tree(gone)
        if old_lock is not None:
            os.close(old_lock)


def _remove_tree(folder: Path) -> None:
    """Delete a folder this module made (a staging folder, or an old run it replaced)."""
    shutil.rmtree(folder, ignore_errors=True)
