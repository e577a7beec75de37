"""Scoring the K samples of importance sampling chunk by chunk, in bounded memory and in threads.

:func:`elbo_edu.estimators.evidence_bounds` (chapters 03 and 10) splits the K samples of each
block of rows into chunks of at most ``max_elements`` decoder outputs (:func:`samples_per_chunk`)
and scores them here: the noise of each chunk is drawn from the caller's generator in chunk
order, and with more than one thread (:func:`threads_for`, :func:`thread_pool`) several chunks
are scored at once while this thread draws the next noise (:func:`score_chunks`), so the result
is the same to the last bit for any number of threads. Each thread decodes into arrays it keeps
(:func:`log_joint_with_workspace`) rather than fresh ones.
"""
from __future__ import annotations

import inspect
import threading
from collections import deque
from contextlib import ExitStack

__all__ = ["PARALLEL_MIN_ELEMENTS", "samples_per_chunk", "threads_for", "score_chunks",
           "thread_pool", "log_joint_with_workspace"]


def samples_per_chunk(k: int, rows: int, width: int, max_elements: int) -> int:
    """Samples per chunk (1 to ``k``) so that samples x ``rows`` x ``width`` stays within
    ``max_elements``."""
    return max(1, min(k, max_elements // (rows * width)))


#: Decoder outputs per chunk below which scoring chunks in parallel threads does not pay.
PARALLEL_MIN_ELEMENTS = 1 << 18


def threads_for(workers, is_fn: bool, n_chunks: int, chunk_elements: int) -> int:
    """The threads for :func:`score_chunks`: ``workers`` if given, else NumPy's BLAS thread
    count for large chunks of a model object (a user's callable may not be thread-safe)."""
    if workers is None:
        if is_fn or chunk_elements < PARALLEL_MIN_ELEMENTS:
            return 1
        workers = _blas_threads()
    return max(1, min(workers, n_chunks))


def _blas_threads() -> int:
    """How many threads NumPy's BLAS uses (threadpoolctl), 1 if it cannot be told."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - a dependency of the package
        return 1
    counts = [i.get("num_threads") or 1 for i in threadpool_info() if i.get("user_api") == "blas"]
    return max(counts, default=1)


def score_chunks(score, sizes, shape, dtype, rng, pool=None, workers: int = 1):
    """Yield ``score(eps)`` for noise chunks of ``sizes[i]`` samples (each ``(size, *shape)``),
    in order. The noise is drawn from ``rng`` in that order whatever the threads; with a
    ``pool`` of ``workers`` threads that many chunks are scored at once (NumPy's matrix products
    and the numba kernels release the GIL) while this thread draws the noise of the next
    chunk: a worker that finishes takes the next chunk at once."""
    if pool is None:
        for size in sizes:
            yield score(rng.standard_normal((size,) + shape, dtype=dtype))
        return
    pending, todo = deque(), iter(sizes)
    for size in todo:                      # one chunk more than workers: none of them waits
        pending.append(pool.submit(score, rng.standard_normal((size,) + shape, dtype=dtype)))
        if len(pending) > workers:
            break
    while pending:
        lw = pending.popleft().result()
        size = next(todo, None)
        if size is not None:
            pending.append(pool.submit(score, rng.standard_normal((size,) + shape, dtype=dtype)))
        yield lw


def thread_pool(stack: ExitStack, workers: int):
    """A pool of ``workers`` threads scoring chunks, each with one-thread BLAS, for the whole
    call (also the encoder's products run on one thread then: a second BLAS thread woken by
    them would spin beside the workers), or None for ``workers == 1``."""
    if workers == 1:
        return None
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    stack.enter_context(threadpool_limits(limits=1, user_api="blas"))
    return stack.enter_context(ThreadPoolExecutor(workers))


def log_joint_with_workspace(model):
    """``model.log_joint``, given a workspace per thread (:func:`elbo_edu.nn.module.workspace_array`)
    when it takes one: then no chunk allocates fresh megabytes for the decoder's outputs."""
    try:
        takes_workspace = "workspace" in inspect.signature(model.log_joint).parameters
    except (TypeError, ValueError):     # pragma: no cover - a callable without a signature
        takes_workspace = False
    if not takes_workspace:
        return model.log_joint
    local = threading.local()

    def log_joint(x, z):
        ws = getattr(local, "workspace", None)
        if ws is None:
            ws = local.workspace = {}
        return model.log_joint(x, z, workspace=ws)
    return log_joint
