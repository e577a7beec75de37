"""Shared test configuration: hypothesis profiles, the location of the shared data, and the
``backend`` and ``dtype`` fixtures that run a test once per kernel backend and floating type."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from elbo_edu import kernels as K

settings.register_profile("default", deadline=None, max_examples=25,
                          suppress_health_check=[HealthCheck.too_slow])
# In CI the examples are derived from the test's name, so a red run can be reproduced exactly.
settings.register_profile("ci", deadline=None, max_examples=25, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
# `python -m pytest --hypothesis-profile=thorough` hunts much longer for a counterexample.
settings.register_profile("thorough", deadline=None, max_examples=500,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "default")

#: ``../shared/data`` beside the repository root: present in this project's CI, absent on a user's
#: fresh clone (tests that need it skip).
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture
def shared_mnist_dir() -> Path:
    d = SHARED_DATA / "mnist"
    if not (d / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"the full MNIST files are not present at {d} (only in the project's own CI)")
    return d


@pytest.fixture(params=K.BACKENDS)
def backend(request) -> str:
    """The test runs once per kernel backend (``"numba"``, ``"numpy"``), with that backend in use
    for the whole test; the fixture's value is its name."""
    with K.use_backend(request.param):
        yield request.param


@pytest.fixture(params=[np.float64, np.float32], ids=["float64", "float32"], scope="session")
def dtype(request) -> type:
    """The test runs once in float64 (the gradient checks' type) and once in float32 (training's)."""
    return request.param
