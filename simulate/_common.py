"""Shared machinery for batched ensemble training (torch only, no plotting).

Every simulation module trains an *ensemble* of E networks as one batched
tensor program. The helpers here fix the conventions they share: the device
(``cuda`` when available, else ``cpu``), explicit randomness through a seeded
``torch.Generator``, log-spaced recording steps, progress bars, and a loud
failure when training diverges.
"""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np
import torch

__all__ = [
    "DivergenceError",
    "resolve_device",
    "make_generator",
    "record_steps",
    "progress",
    "check_finite",
    "as_tensor",
]


class DivergenceError(FloatingPointError):
    """Training produced NaN or inf (typically a learning rate above the stable limit)."""


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None`` or ``"auto"`` -> ``cuda`` when available, else ``cpu``."""
    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested but torch sees no CUDA device")
    return device


def make_generator(seed: int, device: torch.device) -> torch.Generator:
    """A seeded generator on ``device`` (randomness is always explicit)."""
    if not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g


def record_steps(steps: int, record: int | Iterable[int] | None = 50, *, log: bool = True) -> np.ndarray:
    """Sorted unique step indices at which to record, always including 0 and ``steps``.

    ``record`` is either a number of (log-spaced, or linear with ``log=False``)
    points, or an explicit iterable of step indices in ``[0, steps]``.
    """
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")
    if record is None:
        record = 50
    if isinstance(record, (int, np.integer)):
        if record < 2:
            raise ValueError(f"record must ask for at least 2 points, got {record}")
        if log and steps > 0:
            pts = np.unique(np.round(np.logspace(0, math.log10(max(steps, 1)), int(record) - 1)).astype(int))
            pts = np.concatenate([[0], pts])
        else:
            pts = np.round(np.linspace(0, steps, int(record))).astype(int)
    else:
        pts = np.asarray(list(record), dtype=int)
        if pts.size and (pts.min() < 0 or pts.max() > steps):
            raise ValueError(f"record steps must lie in [0, {steps}]")
    return np.unique(np.concatenate([[0, steps], pts])).astype(int)


def progress(total: int, desc: str, disable: bool | None = None):
    """A tqdm progress bar (shown on terminals, silent in logs unless forced)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=disable, leave=False, mininterval=0.5)


def check_finite(x: torch.Tensor, *, lr: float, lr_max: float | None, step: int, what: str = "weights") -> None:
    """Raise :class:`DivergenceError` naming the learning rate and the stable limit."""
    if not bool(torch.isfinite(x).all()):
        limit = f"the stable limit is about {lr_max:.4g}" if lr_max is not None else "no stable limit was computed"
        raise DivergenceError(
            f"training diverged at step {step}: {what} became NaN/inf with lr={lr:.4g} ({limit}). "
            "Lower the learning rate."
        )


def as_tensor(a, *, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """float tensor on ``device`` from a NumPy array or tensor."""
    if isinstance(a, torch.Tensor):
        return a.to(device=device, dtype=dtype)
    return torch.as_tensor(np.asarray(a), device=device, dtype=dtype)
