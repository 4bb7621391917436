"""Shared test fixtures.

Seeds are pinned by default; set IDEALNETS_FRESH_SEEDS=1 to run the
stochastic tests on fresh random seeds (the printed seed reproduces a run).
"""
from __future__ import annotations

import os
import zlib

import numpy as np
import pytest



@pytest.fixture
def seed(request) -> int:
    if os.environ.get("IDEALNETS_FRESH_SEEDS"):
        s = int(np.random.SeedSequence().entropy % (2**31))
    else:
        s = zlib.crc32(request.node.nodeid.encode()) % (2**31)
    print(f"seed={s}")
    return s


@pytest.fixture
def rng(seed) -> np.random.Generator:
    return np.random.default_rng(seed)


# Hypothesis profiles: small and fast in the default suite, larger under
# `make test-slow` (IDEALNETS_HYPOTHESIS=slow). Property tests use
# `@given(...)` without their own max_examples so the profile decides.
try:
    from hypothesis import HealthCheck, settings

    settings.register_profile("default", max_examples=25, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("slow", max_examples=300, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile(os.environ.get("IDEALNETS_HYPOTHESIS", "default"))
except ImportError:  # hypothesis is a test dependency (setup.py extras "test")
    pass
