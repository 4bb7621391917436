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
