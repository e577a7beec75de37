"""Independent blocks of work on the machine's cores (evaluation with many samples).

Importance sampling evaluates the likelihood of K decoder outputs per data row: K independent
blocks. :func:`run_blocks` gives each thread a contiguous range of them. The numba kernels release
Python's GIL (``nogil=True``) and so do NumPy's element-wise functions on large arrays, so the
threads really run at once; each block is computed exactly as it would be alone, so the results
do not depend on the number of threads.

The number of threads is numba's (``NUMBA_NUM_THREADS``, :func:`numba.set_num_threads`): one
setting for all of the package's parallel work. The training step does not use this: its
element-wise operations are short (0.1-0.5 ms) and run between matrix products whose BLAS threads
keep the other cores busy-waiting, so a second thread measured no faster there (README,
Performance).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

__all__ = ["num_threads", "run_blocks"]

_POOL: list = [None]


def num_threads() -> int:
    """Threads for parallel work: numba's setting (at least 1)."""
    import numba
    return max(1, int(numba.get_num_threads()))


def run_blocks(fn, n: int, threads: int | None = None) -> None:
    """Call ``fn(lo, hi)`` on contiguous ranges covering ``range(n)``, one per thread.

    The calling thread takes the first range and the others go to a small pool of worker threads
    (started on first use); returns when all are done and re-raises the first exception.

    Parameters
    ----------
    fn : callable ``(lo, hi) -> None``
        Must touch only its own part of any output.
    n : int >= 0
    threads : int, optional
        Default :func:`num_threads`; never more than ``n``.
    """
    parts = min(num_threads() if threads is None else int(threads), n)
    if parts <= 1:
        if n > 0:
            fn(0, n)
        return
    bounds = [(n * c) // parts for c in range(parts + 1)]
    pool = _POOL[0]
    if pool is None or pool._max_workers < parts - 1:
        pool = _POOL[0] = ThreadPoolExecutor(parts - 1, thread_name_prefix="elbo_edu")
    futures = [pool.submit(fn, bounds[c], bounds[c + 1]) for c in range(1, parts)]
    try:
        fn(bounds[0], bounds[1])
    finally:
        for fut in futures:
            fut.result()
