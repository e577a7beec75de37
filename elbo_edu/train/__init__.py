r"""The training loop: minibatches, Adam, KL warm-up, metrics, checkpoints, resume
(chapter 09, D9.4; KL annealing is chapter 11, D11.4).

One epoch is one pass over a fresh random permutation of the training set. For each minibatch the
model's :meth:`~elbo_edu.vae.VAE.loss_and_grads` gives the negative ELBO and its gradient, and
Adam updates the parameters in place. With ``kl_warmup_epochs = W`` the KL weight grows linearly
with the step counter, from 0 at the first step to the model's ``beta`` after ``W`` epochs
(:math:`\beta_t = \beta\min(1, t/(W S))`, ``S`` steps per epoch), a standard remedy for
posterior collapse.

The file reads top to bottom: :func:`train` (the epoch loop), :func:`train_epoch` (the step
loop), :func:`evaluate`, then the pieces they use: the training state and its checkpoint
(:class:`TrainState`, resume), and the signal handling. The run folder is
:class:`elbo_edu.train.run.RunFolder`.

Every random number (shuffling, the noise :math:`\varepsilon`, dynamic binarization) comes from
one ``numpy.random.Generator`` seeded by ``seed``; its state is part of the checkpoint, so that
training 2 epochs and training 1, stopping, and resuming for 1 more give bit-identical parameters
and metrics. An interrupted step is saved as not taken, with the generator's state from the start
of that step, so the resumed run redraws the same numbers. The test set is evaluated with its own
fixed-seed noise, so a test number never depends on how much training noise was drawn before it.
"""
from __future__ import annotations

import contextlib
import math
import numbers
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import kernels as K
from .._checks import check_positive_float, check_positive_int
from .checkpoint import (CheckpointError, check_training_checkpoint, load_checkpoint,
                         save_checkpoint)
from ..optim import Adam
from .run import RunFolder

__all__ = ["fit", "train", "train_epoch", "evaluate", "TrainState", "TrainingDiverged",
           "TrainingInterrupted", "kl_weight"]


class TrainingDiverged(RuntimeError):
    """The loss (on a training batch or the test set) became NaN or infinite; the last good
    checkpoint (if any) is left untouched."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) or SIGTERM during training; ``checkpoint`` is where the state was saved
    (or None), ``signum`` the signal (None for a KeyboardInterrupt raised by code); ``finished``
    is True when the signal came during the last epoch's evaluation or checkpoint (the run is
    then complete and saved)."""

    def __init__(self, message: str, checkpoint: Path | None = None, signum: int | None = None,
                 *, finished: bool = False):
        super().__init__(message)
        self.checkpoint = checkpoint
        self.signum = signum
        self.finished = finished


def kl_weight(step: int, beta: float, warmup_steps: int) -> float:
    """KL weight at global step ``step`` (0-based): ``beta * min(1, step / warmup_steps)``."""
    if warmup_steps <= 0:
        return beta
    return beta * min(1.0, step / warmup_steps)


# ------------------------------------------------------------------------------- the epoch loop
def train(model, data, *, epochs: int, batch_size: int = 128, lr: float = 1e-3,
          kl_warmup_epochs: int = 0, seed: int = 0, out_dir=None, progress: bool = True,
          binarize: str | None = None, resume_from=None, eval_batch_size: int = 1000,
          eval_seed: int = 0, log=None, run_info: dict | None = None,
          overwrite: bool = False, objective: str = "elbo", k: int = 1,
          free_bits: float | None = None, adam_eps: float = 1e-8) -> list[dict]:
    """Train ``model`` with Adam on minibatches of ``data``; return the per-epoch metrics.

    Parameters
    ----------
    model : elbo_edu.vae.VAE
        Trained in place; its ``beta`` is the KL weight after warm-up.
    data : Dataset, (x_train, x_test) or x_train
        Rows are examples, (N, x_dim); ``x_test`` may be None (no test metrics).
    epochs : int
        Total number of epochs (when resuming, the count includes the epochs already done).
    batch_size, lr : minibatch size and Adam step size.
    kl_warmup_epochs : int
        Epochs over which the KL weight ramps linearly from 0 to ``model.beta`` (0: no warm-up).
    seed : int >= 0
        Seeds the generator of shuffling, noise and binarization.
    out_dir : path or None
        Run folder (:class:`~elbo_edu.train.run.RunFolder`: locked while training; ``config.json``,
        ``metrics.jsonl`` and ``checkpoint.npz`` written atomically after every epoch, from the
        first checkpoint on). None writes nothing.
    progress : bool
        A tqdm progress bar (shown only on a terminal or in a notebook).
    binarize : None, "dynamic" or "static"
        "dynamic" draws x ~ Bernoulli(grey levels) for every minibatch; "static" draws one
        binarization of the training set once (seed ``eval_seed``) and keeps it. Either way the
        test set is binarized once with ``eval_seed``.
    resume_from : path or None
        A run folder or checkpoint to continue from (model config and training settings must
        match); continues an interrupted epoch where it stopped.
    eval_batch_size, eval_seed : batch size and noise seed of the test evaluation.
    log : callable or None
        Called with each epoch's metrics dict (e.g. ``print``).
    run_info : dict or None
        Extra entries for ``config.json`` (the CLI records the data set there).
    overwrite : bool
        Replace a run already in ``out_dir`` (only once this run saves its first checkpoint).
    objective, k, free_bits : the training objective (:func:`elbo_edu.vae.objectives.make_objective`):
        ``"elbo"`` (the ``k``-sample ELBO), ``"iwae"`` (the IWAE_k bound) or ``"free-bits"``
        (the KL clamped at ``free_bits`` nats per dimension).
    adam_eps : float
        Adam's ε (1e-8 by default; the IWAE paper used 1e-4).

    Returns
    -------
    list of dict, one per epoch (all epochs of the run when resuming), with ``epoch``,
    ``objective``, ``train_loss``, ``train_recon``, ``train_kl`` (averages over the epoch's
    minibatches; for the ELBO loss = recon + beta*kl with the final beta, otherwise the mean of
    the objective's loss), ``test_loss``, ``test_recon``, ``test_kl`` (None without
    a test set), ``beta`` (the KL weight at the end of the epoch), ``steps``, ``seconds`` (wall
    time of the training pass; evaluation and checkpointing excluded) and ``backend`` (the
    kernels' backend that trained the epoch, ``"numba"`` or ``"numpy"``: a resumed run may
    change it).

    Raises
    ------
    ValueError
        A bad argument (named), a checkpoint that does not fit, ``epochs`` not above the epochs
        a resumed run has done, or an unusable ``out_dir`` (:class:`~elbo_edu.train.run.RunFolderError`).
    TrainingDiverged
        If a loss is NaN or infinite (the checkpoint of the last finished epoch is kept).
    TrainingInterrupted
        On Ctrl-C or SIGTERM, after saving the exact state (resume with ``resume_from=out_dir``).
    """
    settings = _check_settings(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                               kl_warmup_epochs=kl_warmup_epochs, binarize=binarize,
                               eval_batch_size=eval_batch_size, eval_seed=eval_seed,
                               objective=objective, k=k, free_bits=free_bits, adam_eps=adam_eps)
    x_train, x_test = _prepare_data(model, data, binarize, eval_seed)
    state = TrainState.start(model, settings, resume_from, info=run_info)
    run = None if out_dir is None else RunFolder(out_dir, resume=resume_from is not None and
                                                 _same_folder(out_dir, resume_from),
                                                 overwrite=overwrite)
    with contextlib.ExitStack() as stack:
        if run is not None:
            stack.enter_context(run)  # locked; config and metrics follow the first checkpoint
        signals = stack.enter_context(_StopSignals())
        stack.enter_context(np.errstate(over="ignore", invalid="ignore", divide="ignore"))
        try:
            for epoch in range(len(state.history), state.settings["epochs"]):
                if signals.count:  # a signal during the last epoch's evaluation: stop here
                    raise TrainingInterrupted(f"interrupted after epoch {epoch}",
                                              _save(state, run, signals), signals.signum)
                metrics = train_epoch(state, x_train, epoch, signals, run=run,
                                      progress=progress)
                with signals.deferred():  # a second signal waits for the epoch's checkpoint
                    if x_test is not None:
                        ev = _evaluate_or_stop(state, x_test, epoch, run)
                        metrics.update(test_loss=ev["loss"], test_recon=ev["recon"],
                                       test_kl=ev["kl"])
                    state.history.append(metrics)
                    _save(state, run, signals)
                if log is not None:
                    log(metrics)
            if signals.count:  # a signal during the last epoch's evaluation: never swallowed
                path = run.checkpoint_path if run is not None else None
                raise TrainingInterrupted(f"interrupted at the end of epoch {len(state.history)}"
                                          f", the last: the run is complete", path,
                                          signals.signum, finished=True)
        except TrainingInterrupted:
            raise
        except KeyboardInterrupt:  # a second signal between two epochs' steps
            raise _stopped_between_epochs(state, run, signals) from None
    return state.history


def _stopped_between_epochs(state, run, signals) -> TrainingInterrupted:
    """A second signal outside a step (between two epochs): the last checkpoint is exact."""
    path = run.checkpoint_path if run is not None and run.checkpoint_path.is_file() else None
    where = f"; state saved in {path}" if path else ""
    return TrainingInterrupted(f"interrupted after epoch {len(state.history)}{where}", path,
                               signals.signum)


def train_epoch(state: "TrainState", x_train, epoch: int, signals=None, *, run=None,
                progress: bool = False) -> dict:
    """One pass over the training set (the step loop of :func:`train`): returns the epoch's
    metrics without the test entries, or raises :class:`TrainingInterrupted` (state saved) or
    :class:`TrainingDiverged`. ``state.partial`` (an interrupted epoch) is continued."""
    from ..data import binarize_dynamic

    model, opt, rng, s = state.model, state.opt, state.rng, state.settings
    objective = state.objective
    signals = signals if signals is not None else _StopSignals()
    n, bs = len(x_train), s["batch_size"]
    steps = math.ceil(n / bs)
    with signals.deferred():
        if state.partial is None:  # a fresh epoch: its order, drawn from the shared generator
            state.partial = {"perm": rng.permutation(n), "step": 0, "recon_sum": 0.0,
                             "kl_sum": 0.0, "loss_sum": 0.0, "seconds": 0.0}
        p = state.partial
        state.rng_at_step = rng.bit_generator.state
    bar = _progress_bar(progress, steps, p["step"], f"epoch {epoch + 1}/{s['epochs']}")
    t0 = time.perf_counter()
    try:  # (the bar is closed in `finally`)
        while p["step"] < steps:
            if signals.count:  # a signal during the previous step: stop between two steps
                raise KeyboardInterrupt
            idx = p["perm"][p["step"] * bs:(p["step"] + 1) * bs]
            xb = x_train[idx] if s["binarize"] != "dynamic" else binarize_dynamic(x_train[idx],
                                                                                   rng)
            beta = kl_weight(epoch * steps + p["step"], model.beta, s["kl_warmup_epochs"] * steps)
            kw = {"beta": beta} if getattr(objective, "uses_beta", True) else {}
            try:  # the data were checked: an error in here is an overflow inside the model
                loss, _ = objective.loss_and_grads(xb, rng=rng, **kw)
            except (ValueError, FloatingPointError):
                loss = float("nan")
            if not math.isfinite(loss):
                raise TrainingDiverged(_diverged(state, f"the loss became {loss} at epoch "
                                                 f"{epoch + 1}, step {p['step'] + 1}", run))
            with signals.deferred():  # the update and the bookkeeping happen whole, or not
                opt.step()
                p["recon_sum"] += objective.last.recon * len(idx)
                p["kl_sum"] += objective.last.kl * len(idx)
                p["loss_sum"] = p.get("loss_sum", 0.0) + loss * len(idx)
                p["step"] += 1
                state.rng_at_step = rng.bit_generator.state
            bar.update(1)
    except KeyboardInterrupt:
        with signals.deferred():
            p["seconds"] += time.perf_counter() - t0
            rng.bit_generator.state = state.rng_at_step  # the unfinished step drew nothing
            path = _save(state, run, signals)
        where = f"; state saved in {path}" if path else ""
        raise TrainingInterrupted(f"interrupted at epoch {epoch + 1}, step {p['step'] + 1}"
                                  f"{where}", path, signals.signum) from None
    finally:
        bar.close()
    p["seconds"] += time.perf_counter() - t0
    if not all(np.all(np.isfinite(v)) for v in model.params.values()):
        raise TrainingDiverged(_diverged(state, f"a parameter became NaN or infinite during "
                                         f"epoch {epoch + 1}", run))
    state.partial = None
    train_loss = (p["recon_sum"] + model.beta * p["kl_sum"]) / n if s["objective"] == "elbo" \
        else p["loss_sum"] / n
    return {"epoch": epoch + 1, "objective": s["objective"], "train_loss": train_loss,
            "train_recon": p["recon_sum"] / n, "train_kl": p["kl_sum"] / n,
            "test_loss": None, "test_recon": None, "test_kl": None,
            "beta": kl_weight(epoch * steps + steps - 1, model.beta,
                              s["kl_warmup_epochs"] * steps), "steps": steps,
            "seconds": p["seconds"], "backend": K.get_backend()}


# ------------------------------------------------------------------------ the loop in memory
def fit(objective, data=None, *, epochs: int, batch_size: int | None = 128, lr=1e-3,
        rng: np.random.Generator | None = None, order_rng: np.random.Generator | None = None,
        adam_eps: float = 1e-8, beta=None, on_epoch=None) -> list:
    r"""Minimise ``objective`` with Adam over shuffled minibatches, in memory (no run folder).

    The loop every model and experiment of the package trains with (like CS231n's ``Solver``):
    one epoch is one pass over a fresh permutation of the rows; each step calls
    ``objective.loss_and_grads(*batch, rng=rng[, beta=...])`` and takes one Adam step on
    ``objective.params`` with ``objective.grads``. :func:`train` is the same loop with
    checkpoints, resume, metrics and signals.

    Parameters
    ----------
    objective : object with ``params``, ``grads`` and ``loss_and_grads``
        A model (``VAE``, ``CVAE``, ...) or an :class:`elbo_edu.vae.objectives.Objective`.
    data : array (N, ...), tuple of arrays sharing N, or None
        The rows (a tuple is indexed together, e.g. images and labels, and passed as separate
        arguments). None: a data-free objective, called ``loss_and_grads(rng=rng)`` once per
        "epoch" (``epochs`` is then the number of steps).
    epochs : int >= 1
    batch_size : int or None
        Rows per step (None: the whole data set, no shuffling).
    lr : float or callable
        Adam's step size, or ``lr(step) -> float`` for a schedule.
    rng : numpy.random.Generator or None
        Passed to ``loss_and_grads`` (the noise); also draws the data order unless ``order_rng``
        is given. None: no ``rng`` argument is passed.
    order_rng : numpy.random.Generator, optional
        A separate source of the data order (so that objectives drawing different amounts of
        noise still see the data in the same order).
    adam_eps : float
        Adam's ε.
    beta : callable or None
        ``beta(step) -> float``, the KL weight passed to every step (KL warm-up).
    on_epoch : callable or None
        ``on_epoch(objective)`` after every epoch; its return values are collected.

    Returns
    -------
    list : the mean training loss of each epoch, or, with ``on_epoch``, its return values.
    """
    epochs = check_positive_int(epochs, "epochs")
    schedule = lr if callable(lr) else None
    opt = Adam(objective.params, objective.grads,
               lr=schedule(0) if schedule is not None else check_positive_float(lr, "lr"),
               eps=adam_eps)
    arrays = None if data is None else (data if isinstance(data, tuple) else (data,))
    n = None if arrays is None else len(arrays[0])
    if arrays is not None and any(len(a) != n for a in arrays):
        raise ValueError(f"data: expected arrays with the same number of rows, got "
                         f"{[len(a) for a in arrays]}")
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
    order_rng = rng if order_rng is None else order_rng
    kw = {} if rng is None else {"rng": rng}
    history, step = [], 0
    for _ in range(epochs):
        total = 0.0
        if arrays is None:
            batches = [()]
        elif batch_size is None:
            batches = [arrays]
        else:
            order = order_rng.permutation(n)
            batches = (tuple(a[order[i:i + batch_size]] for a in arrays)
                       for i in range(0, n, batch_size))
        for batch in batches:
            if schedule is not None:
                opt.lr = schedule(step)
            extra = kw if beta is None else dict(kw, beta=beta(step))
            loss, _ = objective.loss_and_grads(*batch, **extra)
            opt.step()
            step += 1
            total += float(loss) * (len(batch[0]) if batch else 1)
        mean = total / (n if arrays is not None else 1)
        history.append(on_epoch(objective) if on_epoch is not None else mean)
    return history


# ---------------------------------------------------------------------------------- evaluation
def evaluate(model, x, *, batch_size: int = 1000, seed: int = 0) -> dict:
    """Negative ELBO of ``x`` with reproducible noise (``eps`` from ``default_rng(seed)``).

    Parameters
    ----------
    model : elbo_edu.vae.VAE
    x : array (N, x_dim), N >= 1
    batch_size : rows per forward pass (memory only; the numbers do not depend on it beyond
        the order in which the noise is drawn)
    seed : int >= 0, seed of the noise

    Returns
    -------
    dict with ``loss`` (= recon + beta*kl), ``recon`` and ``kl``, in nats per example.

    Raises
    ------
    ValueError
        ``x`` is empty or not valid input of the model; a bad ``batch_size`` or ``seed``.
    TrainingDiverged
        The model's outputs overflow on ``x`` (the negative ELBO is not finite): the same report
        as a diverging training step.
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    seed = _check_seed(seed, "seed")
    x = model.check_input(x, "x")
    if len(x) == 0:
        raise ValueError("x: expected at least one row, got 0")
    rng = np.random.default_rng(seed)
    recon = kl = 0.0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for i in range(0, len(x), batch_size):
            xb = x[i:i + batch_size]
            try:  # the input was checked above: a failure here is an overflow in the model
                loss = model.loss(xb, rng=rng)
            except (ValueError, FloatingPointError):
                loss = float("nan")
            if not math.isfinite(loss):
                raise TrainingDiverged(f"the negative ELBO is not finite on rows {i + 1}-"
                                       f"{i + len(xb)} of the evaluated data: the model's "
                                       f"outputs overflow")
            recon += model.last.recon * len(xb)
            kl += model.last.kl * len(xb)
    n = len(x)
    return {"loss": (recon + model.beta * kl) / n, "recon": recon / n, "kl": kl / n}


def _evaluate_or_stop(state, x_test, epoch: int, run) -> dict:
    s = state.settings
    try:
        return evaluate(state.model, x_test, batch_size=s["eval_batch_size"], seed=s["eval_seed"])
    except TrainingDiverged as exc:
        raise TrainingDiverged(_diverged(state, f"the test loss is not finite after epoch "
                                         f"{epoch + 1} ({exc})", run)) from None


def _diverged(state, what: str, run) -> str:
    """The divergence message: what happened, what was kept, and the likely cause."""
    done = len(state.history)
    kept = (f"The checkpoint of epoch {done} is kept in {run.path}. "
            if run is not None and done and run.checkpoint_path.is_file() else "")
    return f"{what}; training stopped. {kept}{divergence_cause(state.model, state.settings)}"


def divergence_cause(model, settings: dict) -> str:
    """The likely cause of a divergence, read from the configuration (one sentence)."""
    lr = settings["lr"]
    if model.likelihood.name in ("gaussian", "gaussian-learned") and model.obs_var < 1e-4:
        return (f"Likely cause: obs_var={model.obs_var:g} is tiny; the Gaussian likelihood "
                f"divides the squared error by it. Try obs_var=1 (or 0.1).")
    if lr > 1e-2:
        return f"Likely cause: lr={lr:g} is large. Try lr=1e-3."
    return f"Try a smaller learning rate (lr={lr:g}) or check the data."


# ------------------------------------------------------------------- state, checkpoint, resume
@dataclass
class TrainState:
    """Everything that changes during training and goes into a checkpoint.

    ``partial`` is an unfinished epoch (``perm``, ``step`` = steps done, the loss sums and the
    seconds) or None; ``rng_at_step`` is the generator's state at the start of the current step.
    """
    model: object
    opt: Adam
    objective: object
    rng: np.random.Generator
    settings: dict
    history: list = field(default_factory=list)
    partial: dict | None = None
    rng_at_step: dict | None = None
    info: dict = field(default_factory=dict)

    @classmethod
    def start(cls, model, settings: dict, resume_from=None, info=None) -> "TrainState":
        """A fresh state, or the state saved in ``resume_from`` (checked against ``model`` and
        ``settings``). ``info``: extra entries of the config and the checkpoint's metadata."""
        from ..vae.objectives import make_objective

        objective = make_objective(model, settings["objective"], settings["k"],
                                   settings["free_bits"])
        if objective.name == "elbo" and objective.k == 1:
            objective = model    # the same objective, through the model's own method
        state = cls(model, Adam(model.params, model.grads, lr=settings["lr"],
                                eps=settings["adam_eps"]), objective,
                    np.random.default_rng(settings["seed"]), dict(settings),
                    info=dict(info or {}))
        if resume_from is not None:
            state._resume(load_checkpoint(resume_from), resume_from)
        return state

    def _resume(self, ck, source) -> None:
        meta = check_training_checkpoint(ck).meta  # names the file and any damaged entry
        if meta["model"] != self.model.config():
            raise ValueError(f"resume_from: the checkpoint was made for the model "
                             f"{meta['model']}, not {self.model.config()}")
        old = meta["train"]
        for key in ("batch_size", "lr", "kl_warmup_epochs", "binarize", "eval_batch_size",
                    "eval_seed", "objective", "k", "free_bits", "adam_eps"):
            if old.get(key, SETTING_DEFAULTS.get(key)) != self.settings[key]:
                raise ValueError(f"resume_from: the run used {key}={old.get(key)!r}; resuming "
                                 f"with {key}={self.settings[key]!r} would not continue it")
        done = len(meta["history"])
        if self.settings["epochs"] <= done:
            raise ValueError(f"epochs: the run in {source} has {done} epochs and epochs is the "
                             f"new total; expected more than {done} (e.g. {done + 5})")
        self.settings["seed"] = old.get("seed", self.settings["seed"])
        try:
            self.model.load_params(ck.params)
            self.opt.load_state_dict(ck.optim)
            self.rng.bit_generator.state = meta["rng_state"]
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(f"checkpoint: {ck.path} does not fit the model or is damaged "
                                  f"({type(exc).__name__}: {exc})") from None
        self.history = list(meta["history"])
        if meta.get("partial") is not None:
            if "perm" not in ck.state:
                raise CheckpointError(f"checkpoint: {ck.path} has an unfinished epoch without "
                                      f"its order (damaged)")
            self.partial = dict(meta["partial"], perm=ck.state["perm"])

    def checkpoint_contents(self) -> dict:
        """Keyword arguments of :func:`~elbo_edu.train.checkpoint.save_checkpoint` for this state."""
        part = self.partial
        meta_part = None if part is None else {k: v for k, v in part.items() if k != "perm"}
        rng_state = self.rng_at_step if part is not None else self.rng.bit_generator.state
        meta = {"model": self.model.config(), "train": self.settings,
                "epoch": len(self.history), "rng_state": rng_state, "history": self.history,
                "partial": meta_part, **self.info}
        return {"params": self.model.params, "optim": self.opt.state_dict(),
                "state": {} if part is None else {"perm": part["perm"]}, "meta": meta}


def _save(state: TrainState, run, signals) -> Path | None:
    """Checkpoint ``state`` into ``run`` (nothing without a run folder); then the metrics."""
    if run is None:
        return None
    c = state.checkpoint_contents()
    with signals.deferred():
        run.save_config({"model": state.model.config(), "train": state.settings, **state.info})
        run.save_metrics(state.history)
        path = run.save_checkpoint(lambda p: save_checkpoint(p, **c))
    return path


# --------------------------------------------------------------------------- arguments, data
def _check_seed(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name}: expected an integer >= 0, got {value!r}")
    return int(value)


#: settings a run made before they existed used implicitly
SETTING_DEFAULTS = {"objective": "elbo", "k": 1, "free_bits": None, "adam_eps": 1e-8}


def _check_settings(**s) -> dict:
    s["epochs"] = check_positive_int(s["epochs"], "epochs")
    s["batch_size"] = check_positive_int(s["batch_size"], "batch_size")
    s["lr"] = check_positive_float(s["lr"], "lr")
    s["kl_warmup_epochs"] = _check_seed(s["kl_warmup_epochs"], "kl_warmup_epochs")
    s["seed"] = _check_seed(s["seed"], "seed")
    s["eval_batch_size"] = check_positive_int(s["eval_batch_size"], "eval_batch_size")
    s["eval_seed"] = _check_seed(s["eval_seed"], "eval_seed")
    if s["binarize"] not in (None, "dynamic", "static"):
        raise ValueError(f"binarize: expected None, 'dynamic' or 'static', got {s['binarize']!r}")
    s["k"] = check_positive_int(s["k"], "k")
    s["adam_eps"] = check_positive_float(s["adam_eps"], "adam_eps")
    if s["free_bits"] is not None:
        s["free_bits"] = float(s["free_bits"])
    return {k: s[k] for k in ("epochs", "batch_size", "lr", "kl_warmup_epochs", "seed",
                              "binarize", "eval_batch_size", "eval_seed", "objective", "k",
                              "free_bits", "adam_eps")}


def _prepare_data(model, data, binarize, eval_seed):
    """Checked ``(x_train, x_test)`` from a Dataset, a pair or one array (test may be None)."""
    from ..data import binarize_dynamic, binarize_static_sample

    if hasattr(data, "x_train"):
        x_train, x_test = data.x_train, getattr(data, "x_test", None)
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        x_train, x_test = data
    elif isinstance(data, np.ndarray):
        x_train, x_test = data, None
    else:
        raise ValueError("data: expected a Dataset (with x_train and x_test), a pair "
                         f"(x_train, x_test) or an array, got {type(data).__name__}")
    x_train = model.check_input(x_train, "data.x_train")
    if len(x_train) == 0:
        raise ValueError("data.x_train: expected at least one row, got 0")
    if binarize is not None and not model.likelihood.targets_in_unit_interval:
        raise ValueError(f"binarize: binary targets need a Bernoulli-type likelihood, not "
                         f"{model.likelihood.name!r}")
    if binarize == "static":
        x_train = binarize_static_sample(x_train, seed=eval_seed)
    if x_test is not None:
        x_test = model.check_input(x_test, "data.x_test")
        if len(x_test) == 0:
            raise ValueError("data.x_test: expected at least one row (or None), got 0")
        if binarize is not None:
            x_test = binarize_dynamic(x_test, np.random.default_rng(eval_seed))
    return x_train, x_test


def _same_folder(out_dir, resume_from) -> bool:
    a, b = Path(out_dir).expanduser(), Path(resume_from).expanduser()
    if b.suffix and not b.is_dir():
        b = b.parent
    return a.resolve() == b.resolve()


def _progress_bar(progress: bool, total: int, initial: int, desc: str):
    show = bool(progress) and ("ipykernel" in sys.modules  # a notebook: tqdm.auto draws a widget
                               or bool(getattr(sys.stderr, "isatty", lambda: False)()))
    if show:
        from tqdm.auto import tqdm
    else:
        from tqdm import tqdm  # disabled; plain tqdm never asks for ipywidgets
    return tqdm(total=total, initial=initial, desc=desc, unit="batch", disable=not show,
                leave=False, file=sys.stderr)


# ------------------------------------------------------------------------------------- signals
class _StopSignals:
    """Within the block, Ctrl-C (SIGINT) and SIGTERM only count, and the loop stops between two
    steps. A second signal stops at once (a ``KeyboardInterrupt`` inside the step; the step is
    then redone on resume), except inside :meth:`deferred` sections (the Adam update and its
    bookkeeping, the checkpoint), which always finish. Outside the main thread (where handlers
    cannot be installed) this only counts signals delivered by code."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.count = 0
        self.signum: int | None = None
        self._critical = 0
        self._old: dict = {}

    def _handler(self, signum, frame):
        self.count += 1
        if self.signum is None:
            self.signum = signum
        if self.count >= 2 and not self._critical:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def deferred(self):
        """A section that a second signal does not cut (it stops after the section instead)."""
        self._critical += 1
        try:
            yield
        finally:
            self._critical -= 1

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for s in self.SIGNALS:
                self._old[s] = signal.signal(s, self._handler)
        return self

    def __exit__(self, *exc):
        for s, old in self._old.items():
            signal.signal(s, old)
        self._old = {}
        return False
