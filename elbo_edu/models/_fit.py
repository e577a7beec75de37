"""A minimal Adam loop for the small demonstrations of chapter 11 (no checkpoints, no logging).

The full training loop with progress, warm-up and checkpoints is :func:`elbo_edu.train.train`; this
one exists so a demonstration can record a quantity (such as the decoder variance γ) after every
epoch and stay a few lines long.
"""
from __future__ import annotations

import numpy as np

from ..optim import Adam


def fit(model, x, *, epochs: int, batch_size: int, lr: float, rng: np.random.Generator,
        on_epoch=None) -> list:
    """Minimise ``model.loss`` over shuffled minibatches of ``x`` with Adam.

    ``on_epoch(model)`` (optional) is called after every epoch; its return values are collected
    and returned as a list.
    """
    opt = Adam(model.params, model.grads, lr=lr)
    record = []
    for _ in range(epochs):
        order = rng.permutation(x.shape[0])
        for i in range(0, x.shape[0], batch_size):
            model.loss_and_grads(x[order[i:i + batch_size]], rng=rng)
            opt.step()
        if on_epoch is not None:
            record.append(on_epoch(model))
    return record
