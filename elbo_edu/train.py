r"""The training loop: minibatches, Adam, KL warm-up, metrics, checkpoints, resume
(chapter 09, D9.4; KL annealing is chapter 11, D11.4).

One epoch is one pass over a fresh random permutation of the training set. For each minibatch the
model's :meth:`~elbo_edu.vae.VAE.loss_and_grads` gives the negative ELBO and its gradient, and
Adam updates the parameters in place. With ``kl_warmup_epochs = W`` the KL weight grows linearly
with the step counter, from 0 at the first step to the model's ``beta`` after ``W`` epochs
(:math:`\beta_t = \beta\min(1, t/(W S))`, ``S`` steps per epoch), a standard remedy for
posterior collapse.

Every random number (shuffling, the noise :math:`\varepsilon`, dynamic binarization) comes from
one ``numpy.random.Generator`` seeded by ``seed``; its state is part of the checkpoint, so that
training 2 epochs and training 1, stopping, and resuming for 1 more give bit-identical parameters
and metrics. The test set is evaluated with its own fixed-seed noise, so a test number never
depends on how much training noise was drawn before it.
"""
from __future__ import annotations

import json
import math
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np

from ._checks import check_positive_float, check_positive_int
from .checkpoint import (CHECKPOINT_NAME, CONFIG_NAME, METRICS_NAME, atomic_write_text,
                         load_checkpoint, save_checkpoint)
from .optim import Adam

__all__ = ["train", "evaluate", "TrainingDiverged", "TrainingInterrupted", "kl_weight"]


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint (if any) is left untouched."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training; ``checkpoint`` is where the state was saved (or None)."""

    def __init__(self, message: str, checkpoint: Path | None = None):
        super().__init__(message)
        self.checkpoint = checkpoint


def kl_weight(step: int, beta: float, warmup_steps: int) -> float:
    """KL weight at global step ``step`` (0-based): ``beta * min(1, step / warmup_steps)``."""
    if warmup_steps <= 0:
        return beta
    return beta * min(1.0, step / warmup_steps)


def evaluate(model, x, *, batch_size: int = 1000, seed: int = 0) -> dict:
    """Negative ELBO of ``x`` with reproducible noise (``eps`` from ``default_rng(seed)``).

    Parameters
    ----------
    model : elbo_edu.vae.VAE
    x : array (N, x_dim)
    batch_size : rows per forward pass (memory only; the numbers do not depend on it beyond
        the order in which the noise is drawn)
    seed : seed of the noise

    Returns
    -------
    dict with ``loss`` (= recon + beta*kl), ``recon`` and ``kl``, in nats per example.
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    x = model._check_x(x, "x")
    rng = np.random.default_rng(seed)
    recon = kl = 0.0
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size]
        model.loss(xb, rng=rng)
        recon += model.last.recon * len(xb)
        kl += model.last.kl * len(xb)
    n = max(len(x), 1)
    return {"loss": (recon + model.beta * kl) / n, "recon": recon / n, "kl": kl / n}


def _split(data):
    """Accept a Dataset (``x_train``/``x_test``), a ``(x_train, x_test)`` pair or one array."""
    if hasattr(data, "x_train"):
        return data.x_train, getattr(data, "x_test", None)
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data[0], data[1]
    if isinstance(data, np.ndarray):
        return data, None
    raise ValueError("data: expected a Dataset (with x_train and x_test), a pair "
                     f"(x_train, x_test) or an array, got {type(data).__name__}")


def _show_progress(progress: bool) -> bool:
    if not progress:
        return False
    if "ipykernel" in sys.modules:  # a notebook: tqdm.auto draws a widget there
        return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def train(model, data, *, epochs: int, batch_size: int = 128, lr: float = 1e-3,
          kl_warmup_epochs: int = 0, seed: int = 0, out_dir=None, progress: bool = True,
          binarize: str | None = None, resume_from=None, eval_batch_size: int = 1000,
          eval_seed: int = 0, log=None, run_info: dict | None = None) -> list[dict]:
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
    seed : int
        Seeds the generator of shuffling, noise and binarization.
    out_dir : path or None
        Run folder: ``config.json``, ``metrics.jsonl`` and ``checkpoint.npz`` (rewritten
        atomically after every epoch). None writes nothing.
    progress : bool
        A tqdm progress bar (shown only on a terminal or in a notebook).
    binarize : None or "dynamic"
        "dynamic" draws x ~ Bernoulli(grey levels) for every minibatch; the test set is
        binarized once with ``eval_seed``.
    resume_from : path or None
        A run folder or checkpoint to continue from (model config and training settings must
        match); continues an interrupted epoch where it stopped.
    eval_batch_size, eval_seed : batch size and noise seed of the test evaluation.
    log : callable or None
        Called with each epoch's metrics dict (e.g. ``print``).
    run_info : dict or None
        Extra entries for ``config.json`` (the CLI records the data set there).

    Returns
    -------
    list of dict, one per epoch (all epochs of the run when resuming), with ``epoch``,
    ``train_loss``, ``train_recon``, ``train_kl`` (averages over the epoch's minibatches, loss =
    recon + beta*kl with the final beta), ``test_loss``, ``test_recon``, ``test_kl`` (None without
    a test set), ``beta`` (the KL weight at the end of the epoch), ``steps`` and ``seconds`` (wall
    time of the training pass; evaluation and checkpointing excluded).

    Raises
    ------
    TrainingDiverged
        If a loss is NaN or infinite (the checkpoint of the last finished epoch is kept).
    TrainingInterrupted
        On Ctrl-C, after saving the exact state (resume with ``resume_from=out_dir``).
    """
    from .data import binarize_dynamic

    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    lr = check_positive_float(lr, "lr")
    if isinstance(kl_warmup_epochs, bool) or not isinstance(kl_warmup_epochs, int) \
            or kl_warmup_epochs < 0:
        raise ValueError(f"kl_warmup_epochs: expected an integer >= 0, got {kl_warmup_epochs!r}")
    if binarize not in (None, "dynamic"):
        raise ValueError(f"binarize: expected None or 'dynamic', got {binarize!r}")
    x_train, x_test = _split(data)
    x_train = model._check_x(x_train, "data.x_train")
    if len(x_train) == 0:
        raise ValueError("data.x_train: expected at least one row, got 0")
    if x_test is not None:
        x_test = model._check_x(x_test, "data.x_test")
        if binarize == "dynamic":
            x_test = binarize_dynamic(x_test, np.random.default_rng(eval_seed))

    settings = {"epochs": epochs, "batch_size": batch_size, "lr": lr,
                "kl_warmup_epochs": kl_warmup_epochs, "seed": seed, "binarize": binarize,
                "eval_batch_size": eval_batch_size, "eval_seed": eval_seed}
    rng = np.random.default_rng(seed)
    opt = Adam(model.params, model.grads, lr=lr)
    history: list[dict] = []
    partial = None
    if resume_from is not None:
        ck = load_checkpoint(resume_from)
        if ck.meta.get("model") != model.config():
            raise ValueError(f"resume_from: the checkpoint was made for the model "
                             f"{ck.meta.get('model')}, not {model.config()}")
        old = ck.meta.get("train", {})
        for key in ("batch_size", "kl_warmup_epochs", "binarize", "eval_batch_size", "eval_seed"):
            if old.get(key) != settings[key]:
                raise ValueError(f"resume_from: the run used {key}={old.get(key)!r}; resuming "
                                 f"with {key}={settings[key]!r} would not continue it")
        settings["seed"] = old.get("seed", seed)
        model.load_params(ck.params)
        opt.load_state_dict(ck.optim)
        rng.bit_generator.state = ck.meta["rng_state"]
        history = list(ck.meta.get("history", []))
        partial = ck.meta.get("partial")
        if partial is not None:
            partial = dict(partial, perm=ck.state["perm"])

    out = None if out_dir is None else Path(out_dir).expanduser()
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / CONFIG_NAME, json.dumps(
            {"model": model.config(), "train": settings, **(run_info or {})}, indent=2) + "\n")
        # the checkpoint is the source of truth: rewrite the metrics it knows about
        atomic_write_text(out / METRICS_NAME, "".join(json.dumps(h) + "\n" for h in history))

    def checkpoint(epoch_done: int, part: dict | None) -> Path | None:
        if out is None:
            return None
        state = {}
        meta_part = None
        if part is not None:
            state["perm"] = part["perm"]
            meta_part = {k: v for k, v in part.items() if k != "perm"}
        meta = {"model": model.config(), "train": settings, "epoch": epoch_done,
                "rng_state": rng.bit_generator.state, "history": history, "partial": meta_part,
                **(run_info or {})}
        return save_checkpoint(out / CHECKPOINT_NAME, model.params, optim=opt.state_dict(),
                               state=state, meta=meta)

    n = len(x_train)
    steps = math.ceil(n / batch_size)
    warmup_steps = kl_warmup_epochs * steps
    show = _show_progress(progress)
    if show:
        from tqdm.auto import tqdm  # a widget in a notebook, text on a terminal
    else:
        from tqdm import tqdm  # disabled below; plain tqdm never asks for ipywidgets
    start = len(history)
    with _DeferredCtrlC() as ctrl_c:
        for epoch in range(start, epochs):
            if partial is not None:
                perm, first = partial["perm"], partial["step"]
                recon_sum, kl_sum = partial["recon_sum"], partial["kl_sum"]
                seconds = partial["seconds"]
                partial = None
            else:
                perm, first = rng.permutation(n), 0
                recon_sum = kl_sum = seconds = 0.0
            bar = tqdm(total=steps, initial=first, desc=f"epoch {epoch + 1}/{epochs}",
                       unit="batch", disable=not show, leave=False, file=sys.stderr)
            t0 = time.perf_counter()
            step = first
            beta = kl_weight(epoch * steps + step, model.beta, warmup_steps)
            try:
                for step in range(first, steps):
                    if ctrl_c.pressed:  # a Ctrl-C during the previous step: stop between steps
                        raise KeyboardInterrupt
                    idx = perm[step * batch_size:(step + 1) * batch_size]
                    xb = x_train[idx]
                    if binarize == "dynamic":
                        xb = binarize_dynamic(xb, rng)
                    beta = kl_weight(epoch * steps + step, model.beta, warmup_steps)
                    loss, _ = model.loss_and_grads(xb, rng=rng, beta=beta)
                    if not math.isfinite(loss):
                        raise TrainingDiverged(
                            f"the loss became {loss} at epoch {epoch + 1}, step {step + 1}; "
                            f"training stopped. " + (f"The checkpoint of epoch {epoch} is kept in "
                                                     f"{out}. " if out is not None and epoch > 0
                                                     else "") + f"Try a smaller learning rate "
                            f"(lr={lr:g}) or check the data.")
                    opt.step()
                    recon_sum += model.last.recon * len(idx)
                    kl_sum += model.last.kl * len(idx)
                    if show:
                        bar.update(1)
                        if step % 10 == 0:
                            bar.set_postfix(loss=f"{loss:.2f}")
            except KeyboardInterrupt:
                bar.close()
                seconds += time.perf_counter() - t0
                # the step that was running did not finish (or had not started): resume from it
                path = checkpoint(epoch, {"perm": perm, "step": step, "recon_sum": recon_sum,
                                          "kl_sum": kl_sum, "seconds": seconds}) \
                    if _step_is_clean(opt, epoch, steps, step) else None
                where = f"; state saved in {path}" if path else ""
                raise TrainingInterrupted(
                    f"interrupted at epoch {epoch + 1}, step {step + 1}{where}", path) from None
            seconds += time.perf_counter() - t0
            bar.close()
            if not all(np.all(np.isfinite(p)) for p in model.params.values()):
                raise TrainingDiverged(
                    f"a parameter became NaN or infinite during epoch {epoch + 1}; training "
                    f"stopped (try a smaller learning rate, lr={lr:g})")
            metrics = {"epoch": epoch + 1,
                       "train_loss": (recon_sum + model.beta * kl_sum) / n,
                       "train_recon": recon_sum / n, "train_kl": kl_sum / n,
                       "test_loss": None, "test_recon": None, "test_kl": None,
                       "beta": beta, "steps": steps, "seconds": seconds}
            if x_test is not None:
                ev = evaluate(model, x_test, batch_size=eval_batch_size, seed=eval_seed)
                metrics.update(test_loss=ev["loss"], test_recon=ev["recon"], test_kl=ev["kl"])
            history.append(metrics)
            if out is not None:
                with open(out / METRICS_NAME, "a") as f:
                    f.write(json.dumps(metrics) + "\n")
                checkpoint(epoch + 1, None)
            if log is not None:
                log(metrics)
    return history


class _DeferredCtrlC:
    """Within the block, Ctrl-C (SIGINT) only raises a flag, checked between two steps, so the
    state saved on interruption is never half an Adam update. A second Ctrl-C interrupts at once.
    Outside the main thread (where handlers cannot be installed) this does nothing."""

    def __init__(self):
        self.pressed = False
        self._old = None

    def _handler(self, signum, frame):
        if self.pressed:
            raise KeyboardInterrupt
        self.pressed = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        return False


def _step_is_clean(opt, epoch: int, steps: int, step: int) -> bool:
    """True when the optimizer has taken exactly the steps before ``step`` of this epoch.

    Ctrl-C can land between ``loss_and_grads`` and ``opt.step()`` or in the middle of the Adam
    update; only a state where the step counter says "step not taken" is saved, so a resumed run
    redoes that step from scratch. A half-applied update is never saved.
    """
    return opt.t == epoch * steps + step
