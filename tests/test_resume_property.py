"""Exact resume after an interruption at any point (issue 14, item 5).

A property test over 64 random interrupt points: a real signal (SIGINT or SIGTERM, sent to this
process with ``os.kill``) once or twice, before a step's forward pass, after its backward pass,
inside the Adam update or inside the test evaluation. The run stops with
:class:`TrainingInterrupted`, a fresh model resumes from the run folder, and the result must be
bit-identical to an uninterrupted run: parameters, optimizer state, random state and metrics.
"""
import os
import signal

import numpy as np
import pytest

from elbo_edu.train import checkpoint as C
from elbo_edu.optim import Adam
from elbo_edu.train import TrainingInterrupted, train
from elbo_edu.vae import VAE

EPOCHS, BATCH, N_TRAIN = 3, 8, 40  # 5 steps per epoch, 15 in all
STEPS = EPOCHS * N_TRAIN // BATCH
PHASES = ("before", "after", "adam", "eval")


def data():
    rng = np.random.default_rng(5)
    return (rng.uniform(size=(N_TRAIN, 6)).astype(np.float32),
            rng.uniform(size=(10, 6)).astype(np.float32))


def model(seed=0):
    return VAE(6, 2, (8,), rng=np.random.default_rng(seed))


def fit(m, out, **kw):
    return train(m, data(), epochs=EPOCHS, batch_size=BATCH, seed=3, out_dir=out,
                 progress=False, binarize="dynamic", kl_warmup_epochs=1, **kw)


def final_state(run):
    ck = C.load_checkpoint(run)
    hist = [{k: v for k, v in h.items() if k != "seconds"} for h in C.read_metrics(run)]
    return ck, hist


def _cases(n=64):
    rng = np.random.default_rng(2026)
    cases = []
    for i in range(n):
        phase = PHASES[i % len(PHASES)]
        at = int(rng.integers(0, EPOCHS if phase == "eval" else STEPS))
        cases.append((phase, at, int(rng.integers(1, 3)),
                      (signal.SIGINT, signal.SIGTERM)[int(rng.integers(0, 2))]))
    return cases


CASES = _cases()


def test_the_cases_cover_every_kind():
    assert len(CASES) >= 50
    kinds = {(p, n, s) for p, _, n, s in CASES}
    assert kinds == {(p, n, s) for p in PHASES for n in (1, 2)
                     for s in (signal.SIGINT, signal.SIGTERM)}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "run"
    fit(model(), out)
    return final_state(out)


class Signals:
    """Send ``count`` signals ``signum`` to this process at call number ``at`` of ``target``."""

    def __init__(self, at, count, signum):
        self.at, self.count, self.signum, self.calls = at, count, signum, 0

    def fire(self):
        i, self.calls = self.calls, self.calls + 1
        if i == self.at:
            for _ in range(self.count):
                os.kill(os.getpid(), self.signum)


@pytest.mark.parametrize("phase,at,count,signum", CASES,
                         ids=[f"{p}-{a}-{n}x{signal.Signals(s).name}" for p, a, n, s in CASES])
def test_interrupt_anywhere_then_resume_is_bit_identical(tmp_path, monkeypatch, reference,
                                                         phase, at, count, signum):
    m = model()
    sig = Signals(at, count, signum)
    if phase in ("before", "after"):
        orig = m.loss_and_grads

        def hooked(*a, **kw):
            if phase == "before":
                sig.fire()
            out = orig(*a, **kw)
            if phase == "after":
                sig.fire()
            return out
        m.loss_and_grads = hooked
    elif phase == "adam":
        step = Adam.step

        def hooked_step(self):
            sig.fire()
            step(self)
        monkeypatch.setattr(Adam, "step", hooked_step)
    else:  # the test pass after epoch `at` (evaluate calls model.loss once: 10 test rows)
        orig_loss = m.loss

        def hooked_loss(*a, **kw):
            sig.fire()
            return orig_loss(*a, **kw)
        m.loss = hooked_loss

    run = tmp_path / "run"
    try:
        fit(m, run)
        interrupted = None
    except TrainingInterrupted as exc:
        interrupted = exc
    # a signal that can only act after the last step (one signal, or any number inside the
    # Adam update or the last evaluation) lets the run finish: it is reported (the caller exits
    # as signalled, saying the run is complete), and there is nothing to resume
    last = (phase == "eval" and at == EPOCHS - 1) or (phase != "eval" and at == STEPS - 1
                                                      and (count == 1 or phase == "adam"))
    if interrupted is None or interrupted.finished:
        assert last, "the signals were ignored" if interrupted is None else \
            "an unfinished run was reported as finished"
        assert interrupted is not None, "a signal after the last step went unreported"
    else:
        assert interrupted.signum == signum and interrupted.checkpoint == run / "checkpoint.npz"
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
        monkeypatch.undo()
        fit(model(seed=99), run, resume_from=run)  # a different init: all comes from the run
    ck, hist = final_state(run)
    ref_ck, ref_hist = reference
    assert hist == ref_hist
    assert ck.meta["rng_state"] == ref_ck.meta["rng_state"]
    assert ck.meta["epoch"] == EPOCHS and ck.meta["partial"] is None
    for name in ("params", "optim"):
        a, b = getattr(ck, name), getattr(ref_ck, name)
        assert set(a) == set(b) and all(np.array_equal(a[k], b[k]) for k in a), name
