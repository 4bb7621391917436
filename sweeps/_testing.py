"""Small importable sweep functions for the reliability tests and the sweep benchmark.

They live in the package (not in ``tests/``) so that worker processes of any
cluster that has idealnets installed can import them by name.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np

__all__ = ["toy", "sleepy", "noop", "busy", "fail_at", "die_once"]


def toy(a: float, b: int, seed: int) -> dict:
    """A deterministic pseudo-random computation: a scalar and an array (bit-for-bit reproducible)."""
    rng = np.random.default_rng([seed, 12345])
    x = rng.standard_normal(64)
    return {"y": float(np.sum(np.sin(a * x + b))), "curve": np.cumsum(a * x)[::8] + b}


def sleepy(a: float, seed: int, delay: float = 0.05) -> dict:
    """Sleeps ``delay`` seconds (a stand-in for real work), then returns ``a * (seed + 1)``."""
    time.sleep(delay)
    return {"y": a * (seed + 1.0)}


def noop(i: int, seed: int) -> dict:
    """Returns at once: the per-task overhead of the runner."""
    return {"y": float(i + seed)}


def busy(i: int, seed: int, work: int = 200) -> dict:
    """CPU-bound work: ``work`` rounds of a 20 000-element NumPy sin/cumsum (about 0.1 ms each)."""
    x = np.linspace(0.0, 1.0 + i + seed, 20_000)
    acc = 0.0
    for _ in range(int(work)):
        x = np.sin(x) + 0.5
        acc += float(np.cumsum(x)[-1])
    return {"y": acc}


def fail_at(a: float, seed: int, bad: float = 2.0) -> dict:
    """Raises ValueError at ``a == bad``."""
    if a == bad:
        raise ValueError(f"a == {bad} is not allowed here")
    return {"y": 2.0 * a + seed}


def die_once(a: float, seed: int, marker: str = "") -> dict:
    """Kills its own worker process (SIGKILL) the first time it runs ``a == 3``; else like :func:`sleepy`.

    ``marker`` is a file path; its existence records that the kill happened.
    Each call appends one line to ``marker + '.calls'`` so tests can count executions.
    """
    with open(marker + ".calls", "a", encoding="utf-8") as f:
        f.write(f"{a} {seed} {os.getpid()}\n")
    if a == 3 and not Path(marker).exists():
        Path(marker).write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.1)
    return {"y": a * (seed + 1.0), "pid_independent": np.arange(3) * a}
