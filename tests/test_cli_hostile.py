"""Hostile input at the ``elbo-edu`` command line: each mistake ends in one line naming the flag
(or the file and the key), with the right exit status, no traceback and no warning, and nothing
of the user's is lost. Subprocess cases use the real command; in-process cases (``main``) inject
faults a subprocess cannot (a failing network, a full disk, a read-only folder) so that they are
tested on every machine.
"""
import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
from pathlib import Path

import numpy as np
import pytest
from test_cli import cli
from test_cli_faults import COMMAND, TIMEOUT, TINY, elbo, files, one_line
from test_cli_faults import tiny_run as run1  # noqa: F401 (a fixture)

from elbo_edu import checkpoint as C
from elbo_edu.cli import main
from elbo_edu.data.locate import CACHE_ENV, DATA_ENV


def in_process(capsys, *args):
    """``main(args)`` -> (exit status, stdout, stderr), SystemExit included."""
    return cli(args, capsys)


def one_line_err(err: str, *needles):
    err = err.strip()
    assert len(err.splitlines()) == 1, err
    for bad in ("Traceback", "Warning", "Errno"):
        assert bad not in err, err
    for needle in needles:
        assert needle in err, err
    return err


# ---------------------------------------------------------------- item 17: no abbreviated flags
@pytest.mark.parametrize("args,flag,meant", [
    (["train", "--epoch", "3"], "--epoch", "--epochs"),
    (["train", "--kl-warm", "5"], "--kl-warm", "--kl-warmup"),
    (["evaluate", "RUN", "--se", "1"], "--se", "--seed"),
    (["sample", "RUN", "--ou", "x.png"], "--ou", "--out"),
    (["gradcheck", "--to", "1e-3"], "--to", "--tol"),
])
def test_an_abbreviated_flag_is_one_clear_line(tmp_path, args, flag, meant):
    args = [str(tmp_path) if a == "RUN" else a for a in args]
    err = one_line(elbo(*args), 2, f"unrecognized arguments: {flag}", meant)
    assert err.startswith(f"elbo-edu {args[0]}: error:")
    assert not (tmp_path / "runs").exists()


def test_registered_subcommands_refuse_abbreviations_too(capsys):
    from elbo_edu import cli

    def add(sub):
        p = sub.add_parser("hostile-probe")
        p.add_argument("--verbose-level", type=int, default=0)
        p.set_defaults(func=lambda a: a.verbose_level)

    saved = list(cli.SUBCOMMANDS)
    try:
        cli.register_subcommand("hostile-probe", add)
        assert in_process(capsys, "hostile-probe", "--verbose-level", "3")[0] == 3
        code, _, err = in_process(capsys, "hostile-probe", "--verbose", "3")
        assert code == 2
        one_line_err(err, "unrecognized arguments: --verbose", "--verbose-level")
    finally:
        cli.SUBCOMMANDS[:] = saved
    for name, p in cli.build_parser().get_default("_subparsers").items():
        assert p.allow_abbrev is False, name


# ---------------------------------------------------------- item 16: MNIST without a network
def _offline_message(err):
    err = one_line_err(err, "no network", "--data-dir", "ELBO_EDU_DATA", "--data embedded")
    for api in ("load_dataset", "data_dir", "path/", "urlopen", "[Errno", "download=False"):
        assert api not in err, err
    return err


def test_offline_mnist_says_there_is_no_network(tmp_path, monkeypatch, capsys):
    """(In-process: the network is made unreachable by replacing ``urlopen``.)"""
    def offline(*a, **k):
        raise urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))

    monkeypatch.setattr("urllib.request.urlopen", offline)
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    code, _, err = in_process(capsys, "train", "--data", "mnist", "--out", tmp_path / "r")
    assert code == 2
    _offline_message(err)
    assert not (tmp_path / "r").exists() and not list((tmp_path / "cache").rglob("*.part"))


def test_offline_mnist_in_a_network_namespace(tmp_path):
    """The real command with no network at all (a fresh network namespace, where allowed)."""
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-n", "true"],
                                         capture_output=True).returncode != 0:
        pytest.skip("cannot create a network namespace here (needs unshare -n and privileges)")
    env = dict(os.environ, **{CACHE_ENV: str(tmp_path / "cache")})
    env.pop(DATA_ENV, None)
    proc = subprocess.run([unshare, "-n", *COMMAND, "train", "--data", "mnist", "--out",
                           str(tmp_path / "r")], capture_output=True, text=True, env=env,
                          timeout=TIMEOUT)
    assert proc.returncode == 2, proc.stderr
    _offline_message(proc.stderr)
