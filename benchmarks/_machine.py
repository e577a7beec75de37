"""What a benchmark figure was measured on: CPU model, core count, and NumPy's BLAS (shared).

The CPU model comes from ``/proc/cpuinfo`` (Linux) or :func:`platform.processor`; the BLAS
library, its version, thread count and the core type OpenBLAS picked for its kernels (e.g.
``SkylakeX``, ``Zen``) from ``threadpoolctl`` (installed by the ``[bench]`` extra). A timing is
meaningless without them: the project's machines change between CPU kinds.
"""
from __future__ import annotations

import os
import platform


def cpu_model() -> str:
    """The CPU's model name, e.g. ``'Intel(R) Xeon(R) Processor'``."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def blas_info() -> dict:
    """NumPy's BLAS as threadpoolctl sees it: ``{"library", "version", "threads", "core"}``."""
    import numpy  # noqa: F401  (threadpoolctl only sees libraries already loaded)
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return {"library": "unknown (pip install threadpoolctl)", "version": None,
                "threads": None, "core": None}
    for lib in threadpool_info():
        if lib.get("user_api") == "blas" and "numpy" in (lib.get("filepath") or "").lower():
            return {"library": lib.get("internal_api"), "version": lib.get("version"),
                    "threads": lib.get("num_threads"), "core": lib.get("architecture")}
    for lib in threadpool_info():
        if lib.get("user_api") == "blas":
            return {"library": lib.get("internal_api"), "version": lib.get("version"),
                    "threads": lib.get("num_threads"), "core": lib.get("architecture")}
    return {"library": None, "version": None, "threads": None, "core": None}


def machine_info() -> dict:
    """CPU model, logical CPUs, Python, and NumPy's BLAS (see :func:`blas_info`)."""
    return {"cpu": cpu_model(), "cpus": os.cpu_count(), "machine": platform.machine(),
            "python": platform.python_version(), "blas": blas_info()}


def describe(info: dict) -> str:
    """One line for the top of a benchmark's output (and beside every table)."""
    b = info["blas"]
    return (f"CPU {info['cpu']} ({info['cpus']} logical CPUs); NumPy BLAS {b['library']} "
            f"{b['version']}, core type {b['core']}, {b['threads']} threads")
