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


def cpu_family() -> str | None:
    """``"family F model M"`` from ``/proc/cpuinfo`` (the model name alone may not tell an AMD
    Zen 4, family 25, from a Zen 5, family 26), or None."""
    fields = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() in ("cpu family", "model") and key.strip() not in fields:
                    fields[key.strip()] = value.strip()
                if not line.strip():
                    break
    except OSError:
        return None
    if "cpu family" not in fields:
        return None
    return f"family {fields['cpu family']} model {fields.get('model', '?')}"


def machine_info() -> dict:
    """CPU model and family, logical CPUs, Python, NumPy's BLAS (see :func:`blas_info`), and
    ``OPENBLAS_CORETYPE`` when it forces OpenBLAS's kernels (some machines set it to an older
    core type, e.g. Haswell's AVX2 kernels on an AVX-512 CPU: about half the speed of its own)."""
    return {"cpu": cpu_model(), "cpu_family": cpu_family(), "cpus": os.cpu_count(),
            "machine": platform.machine(), "python": platform.python_version(),
            "blas": blas_info(), "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE")}


def describe(info: dict) -> str:
    """One line for the top of a benchmark's output (and beside every table)."""
    b = info["blas"]
    family = f", {info['cpu_family']}" if info.get("cpu_family") else ""
    forced = (f" (forced by OPENBLAS_CORETYPE={info['openblas_coretype']})"
              if info.get("openblas_coretype") else "")
    return (f"CPU {info['cpu']}{family} ({info['cpus']} logical CPUs); NumPy BLAS "
            f"{b['library']} {b['version']}, core type {b['core']}{forced}, {b['threads']} threads")
