"""CPU and CUDA give the same trajectories (float64), where both start from the same tensors.

Skipped when torch sees no CUDA device. Trainers that take their initial
state and data from the caller are compared pathwise; float64 GD over a few
hundred steps accumulates ~steps x 1e-16 relative rounding differences
(different BLAS/reduction orders), so PATH_RTOL = 1e-9 leaves a wide margin
while still catching any real device-dependent bug (those are O(1)).
Trainers that draw their randomness on the device (committee inputs, MLP
weights) use different CPU/CUDA streams; their ensemble means must agree
within STAT_SIGMAS standard errors.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

PATH_RTOL = 1e-9
STAT_SIGMAS = 5.0


def _bench():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("bench_gpu", Path(__file__).resolve().parents[1] / "benchmarks" / "gpu.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("name", ["run_deep_linear", "run_linear", "run_deep_students"])
def test_cpu_equals_cuda_pathwise(name):
    fn = getattr(_bench(), name)
    a, b = fn("cpu", 4, 300), fn("cuda", 4, 300)
    for k in a:
        x, y = np.asarray(a[k], float), np.asarray(b[k], float)
        assert np.all(np.isfinite(y))
        assert np.max(np.abs(x - y)) <= PATH_RTOL * np.max(np.abs(x)), k


@pytest.mark.parametrize("name, key", [("run_committee", "eps"), ("run_mlp", "losses")])
def test_cpu_and_cuda_agree_statistically(name, key):
    fn = getattr(_bench(), name)
    a, b = fn("cpu", 128, 1000), fn("cuda", 128, 1000)
    x = np.asarray(a[key], float).reshape(128, -1)[:, -1]
    y = np.asarray(b[key], float).reshape(128, -1)[:, -1]
    se = math.sqrt(x.var(ddof=1) / x.size + y.var(ddof=1) / y.size)
    assert abs(x.mean() - y.mean()) < STAT_SIGMAS * se + 1e-12
