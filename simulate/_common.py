"""Shared machinery for batched ensemble training (torch only, no plotting).

Every simulation module trains an *ensemble* of E networks as one batched
tensor program. The helpers here fix the conventions they share: the device
(``cuda`` when available, else ``cpu``), explicit randomness through a seeded
``torch.Generator``, log-spaced recording steps, progress bars, and a loud
failure when training diverges.

**CPU threads.** Importing ``idealnets.simulate`` calls :func:`configure_threads` once:
the environment variable ``IDEALNETS_THREADS`` sets torch's intra-op thread
count; without it, an ``OMP_NUM_THREADS`` set by the user is respected, and
otherwise the count is half the visible cores (at least 1, at most 8). The
trainers here step many *small* matrices (ensembles of E networks of width
10-100), where a step costs tens of microseconds and extra threads mostly add
synchronisation; torch's default (one thread per core) oversubscribes a machine
that other jobs share. Measured on a loaded 2-core machine (numbers in
``configure_threads``'s docstring): 1 thread was ~10x faster than 2 for a
batched GD run of 64 small deep linear networks.
"""
from __future__ import annotations

import math
import os
import warnings
from typing import Iterable

import numpy as np
import torch

from idealnets.theory import validation as _validation
from idealnets.theory.validation import DivergenceError

__all__ = [
    "configure_threads",
    "DivergenceError",
    "DivergenceMonitor",
    "DIVERGENCE_FACTOR",
    "DIVERGENCE_FLOOR",
    "resolve_device",
    "resolve_dtype",
    "as_input",
    "make_generator",
    "record_steps",
    "progress",
    "check_finite",
    "as_tensor",
    "quadratic_loss",
    "stable_lr_linear",
    "check_entries",
    "as_desc",
    "MAX_ENTRIES",
    "RECORD_MAX",
]


#: A recorded loss larger than ``DIVERGENCE_FACTOR * max(first recorded loss, DIVERGENCE_FLOOR)``
#: counts as divergence. Under a stable learning rate the loss of every trainer
#: here stays within a small factor of its initial value (gradient descent
#: decreases it; online SGD fluctuates around it), so 1e6 is never reached by
#: a stable run and is reached within a few recording points by an unstable one
#: (the growth is exponential).
DIVERGENCE_FACTOR = 1e6
#: Absolute floor of the reference loss, so a run started at the solution
#: (initial loss ~ 0) is not flagged for reaching an O(1e-2) noise floor.
DIVERGENCE_FLOOR = 1e-6


THREADS_ENV = "IDEALNETS_THREADS"

#: Largest number of entries of one tensor a trainer allocates from its size arguments (an ensemble's
#: weights, a batch of data sets): 2^32, 32 GiB in float64. Larger requests are a ValueError naming the
#: sizes, before any allocation (instead of MemoryError or a raw allocator error after a long wait).
MAX_ENTRIES = 2**32
#: Most recording points a run accepts (its recorded steps are held in memory)
RECORD_MAX = 10**7


def as_desc(desc) -> str | None:
    """A progress-bar label: a string or None (a TypeError naming ``desc`` otherwise)."""
    if desc is not None and not isinstance(desc, str):
        raise TypeError(f"desc must be a string (the progress bar's label) or None, got {type(desc).__name__}")
    return desc


def check_entries(n: int, what: str) -> None:
    """Refuse an allocation of ``n`` entries above :data:`MAX_ENTRIES` (ValueError saying what and how large)."""
    if n > MAX_ENTRIES:
        raise ValueError(f"{what} would have {n:.3g} entries, more than MAX_ENTRIES = 2^32; use smaller sizes")


def configure_threads(n: int | None = None) -> int:
    """Set torch's CPU intra-op thread count deliberately; returns the count in use.

    ``n`` given: use it. Otherwise the environment variable ``IDEALNETS_THREADS``
    (an integer >= 1) wins; else, when the user set ``OMP_NUM_THREADS``, torch
    already follows it and nothing is changed; else ``max(1, min(8, cores // 2))``.
    A bad ``n`` or ``IDEALNETS_THREADS`` is a ValueError here; the call made when
    ``idealnets.simulate`` is imported turns a bad ``IDEALNETS_THREADS`` into a
    RuntimeWarning and uses the policy without it, so that no import fails on it.

    Why not torch's default (one thread per core): every trainer here steps an
    ensemble of small matrices, a few to a few hundred microseconds of work per
    step, so extra threads buy little and cost a barrier per operation -- and
    when the cores are shared with other jobs, a barrier waits for a descheduled
    thread. Measured (``python benchmarks/threads.py``, full-batch GD of 64 depth-4 linear networks of width
    32 on N = 8 whitened inputs, 400 steps, best of 3) on the 2-core development
    machine while other jobs ran (load average ~10): 1 thread 2.6-3.0 s, 2 threads
    28-31 s, i.e. torch's default was ~10x slower there. Call it again (or set
    ``IDEALNETS_THREADS``) for large batched problems on an idle many-core machine,
    where more threads pay.
    """
    if n is None:
        env = os.environ.get(THREADS_ENV)
        if env is not None and env.strip():
            try:
                n = int(env)
            except ValueError:
                n = 0
            if n < 1:
                raise ValueError(f"{THREADS_ENV} must be an integer >= 1, got {env!r}")
        elif os.environ.get("OMP_NUM_THREADS"):
            return torch.get_num_threads()
        else:
            n = max(1, min(8, (os.cpu_count() or 1) // 2))
    n = _validation.as_int(n, "n (threads)", low=1)
    torch.set_num_threads(n)
    return n


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None`` or ``"auto"`` -> ``cuda`` when available, else ``cpu``.

    Accepts ``"cpu"``, ``"cuda"``, ``"cuda:i"`` (any case) or a ``torch.device``
    of those types; anything else is a ValueError listing what is allowed.
    """
    allowed = "'auto', 'cpu', 'cuda' or 'cuda:<index>'"
    if device is None:
        device = "auto"
    if isinstance(device, str):
        d = device.strip().lower()
        if d == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if d == "gpu":
            raise ValueError(f"device must be {allowed}; got 'gpu' (did you mean 'cuda'?)")
        try:
            device = torch.device(d)
        except (RuntimeError, ValueError):
            raise ValueError(f"device must be {allowed}; got {device!r}") from None
    elif not isinstance(device, torch.device):
        raise TypeError(f"device must be a string ({allowed}) or a torch.device, got {type(device).__name__}")
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be {allowed}; got {str(device)!r} (only CPU and CUDA are supported)")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={str(device)!r} was requested but torch sees no CUDA device; use 'cpu' or 'auto'")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"device={str(device)!r}: torch sees only {torch.cuda.device_count()} CUDA device(s)")
    return device


_DTYPES = {"float64": torch.float64, "double": torch.float64, "float32": torch.float32, "float": torch.float32}


def resolve_dtype(dtype) -> torch.dtype:
    """``torch.float64``/``torch.float32`` (or ``"float64"``/``"float32"``, NumPy's float types).

    Integer, half and complex dtypes are refused: gradient descent needs real
    floating point with enough precision for the comparisons with theory.
    """
    if isinstance(dtype, torch.dtype):
        if dtype in (torch.float64, torch.float32):
            return dtype
        raise ValueError(f"dtype must be torch.float64 or torch.float32, got {dtype}")
    if isinstance(dtype, str) and dtype in _DTYPES:
        return _DTYPES[dtype]
    try:
        nd = np.dtype(dtype)
    except TypeError:
        nd = None
    if nd is not None and nd in (np.dtype(np.float64), np.dtype(np.float32)) and not isinstance(dtype, str):
        return torch.float64 if nd == np.float64 else torch.float32
    raise ValueError(f"dtype must be torch.float64 or torch.float32 (or 'float64'/'float32'), got {dtype!r}")


def as_input(a, name: str, *, device: torch.device, dtype: torch.dtype, ndim=None, shape=None) -> torch.Tensor:
    """Validate an array argument (finite, real, shape) with :func:`idealnets.theory.validation.as_array`, then move it.

    Use this for every user-given array (initial weights, data, teachers), so
    NaN or inf inputs are refused up front with the argument's name instead of
    surfacing later as a "divergence".
    """
    if isinstance(a, torch.Tensor):
        if a.is_complex() or not (a.is_floating_point() or a.dtype in (torch.int32, torch.int64)):
            raise TypeError(f"{name} must hold real numbers, got a tensor of dtype {a.dtype}")
        if tuple(a.shape) and a.numel() and not bool(torch.isfinite(a).all()):
            bad = int((~torch.isfinite(a)).sum())
            raise ValueError(f"{name} must be finite, but {bad} of its {a.numel()} entries are NaN or inf")
        if ndim is not None or shape is not None:
            _validation.as_array(np.empty(tuple(a.shape)) if a.numel() == 0 else np.zeros(tuple(a.shape)), name,
                                 ndim=ndim, shape=shape, allow_empty=True)
        return a.to(device=device, dtype=dtype)
    arr = _validation.as_array(a, name, ndim=ndim, shape=shape)
    return torch.as_tensor(arr, device=device, dtype=dtype)


def make_generator(seed: int, device: torch.device) -> torch.Generator:
    """A seeded generator on ``device`` (randomness is always explicit); ``seed`` a non-negative int."""
    seed = _validation.as_seed(seed)
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g


def record_steps(steps: int, record: int | Iterable[int] | None = 50, *, log: bool = True) -> np.ndarray:
    """Sorted unique step indices at which to record, always including 0 and ``steps``.

    ``record`` is either a number of (log-spaced, or linear with ``log=False``)
    points, or an explicit iterable of step indices in ``[0, steps]``.
    """
    steps = _validation.as_int(steps, "steps", low=0)
    log = _validation.as_bool(log, "log")
    if record is None:
        record = 50
    if isinstance(record, (bool, np.bool_, str, bytes, float)):
        raise TypeError(f"record must be a number of points (int >= 2) or an iterable of steps, got {record!r}")
    if isinstance(record, (int, np.integer)):
        if record < 2:
            raise ValueError(f"record must ask for at least 2 points, got {record}")
        if record > RECORD_MAX:
            raise ValueError(f"record must ask for at most RECORD_MAX = {RECORD_MAX} points, got {record}")
        if log and steps > 0:
            pts = np.unique(np.round(np.logspace(0, math.log10(max(steps, 1)), int(record) - 1)).astype(int))
            pts = np.concatenate([[0], pts])
        else:
            pts = np.round(np.linspace(0, steps, int(record))).astype(int)
    elif isinstance(record, np.ndarray) and record.ndim == 1 and np.issubdtype(record.dtype, np.integer):
        pts = record.astype(int)  # an integer array (e.g. the engine's own record steps): one vectorised check
        if pts.size and (pts.min() < 0 or pts.max() > steps):
            raise ValueError(f"record steps must lie in [0, {steps}]")
    else:
        try:
            pts = np.asarray([_validation.as_int(r, "record step") for r in record], dtype=int)
        except TypeError:
            raise TypeError(f"record must be a number of points (int >= 2) or an iterable of steps, "
                            f"got {record!r}") from None
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


class DivergenceMonitor:
    """Early, named divergence detection for a trainer, checked at its recording steps only.

    Call ``monitor(step, loss)`` with the recorded loss of each network (a
    tensor of shape ``(E,)`` or a scalar). A network has diverged when its loss
    is NaN/inf or exceeds ``factor * max(first recorded loss, floor)``; with
    ``raise_on_divergence`` (the default) the first such check raises
    :class:`DivergenceError` naming the learning rate and the stable limit,
    else the networks are flagged in ``.diverged`` (their later records may
    be NaN or huge). Non-finite values at the *first* check are blamed on the
    inputs (initial weights, data), not on the learning rate.

    One host synchronisation per call (only when raising), so checking at
    recording steps keeps the step loop free of synchronisations.
    """

    def __init__(self, *, lr, lr_max: float | None = None, what: str = "the loss",
                 raise_on_divergence: bool = True, factor: float = DIVERGENCE_FACTOR,
                 floor: float = DIVERGENCE_FLOOR):
        self.lr = lr
        self.lr_max = lr_max
        self.what = what
        # as_bool: a string such as "no" is refused (bool("no") is True)
        self.raise_on_divergence = _validation.as_bool(raise_on_divergence, "raise_on_divergence")
        self.factor = _validation.as_float(factor, "divergence factor", low=1.0, open_low=True, allow_inf=True)
        self.floor = _validation.as_float(floor, "divergence floor", low=0.0)
        self.ref: torch.Tensor | None = None
        self.diverged: torch.Tensor | None = None
        self.first_step: torch.Tensor | None = None
        self._threshold: torch.Tensor | None = None

    def _lr_text(self) -> str:
        lr = np.asarray(self.lr, dtype=float)
        lr_s = f"{float(lr):.4g}" if lr.ndim == 0 else f"up to {float(lr.max()):.4g}"
        limit = (f"the stable limit is about {self.lr_max:.4g}" if self.lr_max is not None
                 else "no stable limit was computed for this setting")
        return f"lr={lr_s} ({limit})"

    def __call__(self, step: int, loss) -> torch.Tensor:
        v = loss if isinstance(loss, torch.Tensor) else torch.as_tensor(np.asarray(loss, dtype=float))
        v = v.detach().reshape(-1).to(torch.float64)
        if self.ref is None:
            if not bool(torch.isfinite(v).all()):
                raise DivergenceError(
                    f"{self.what} is already NaN/inf at step {step}, before any update: the initial weights or "
                    "the data are not finite (or overflow in this dtype); this is not a learning-rate problem")
            self.ref = torch.clamp(v, min=self.floor)
            self._threshold = self.factor * self.ref
            self.diverged = torch.zeros_like(v, dtype=torch.bool)
            self.first_step = torch.full_like(v, -1, dtype=torch.int64)
        # Fast path (one comparison, one reduction, one sync: ~8 us instead of ~60 us, which
        # matters for trainers that record every step): NaN and +inf fail ``<=``; losses are >= 0.
        if bool((v <= self._threshold).all()):
            return self.diverged
        bad = ~torch.isfinite(v) | (v > self._threshold)
        new = bad & ~self.diverged
        if bool(new.any()):
            self.first_step[new] = int(step)
            self.diverged |= new
            if self.raise_on_divergence:
                idx = int(torch.nonzero(new)[0])
                val = float(v[idx])
                grew = ("became NaN/inf" if not np.isfinite(val) else
                        f"grew to {val:.3g}, more than {self.factor:.0e} times its initial {float(self.ref[idx]):.3g}")
                n = int(new.sum())
                who = f" in {n} of {v.numel()} networks" if v.numel() > 1 else ""
                raise DivergenceError(
                    f"training diverged at step {step}: {self.what} {grew}{who} with {self._lr_text()}. "
                    "Lower the learning rate.")
        return self.diverged

    def diverged_numpy(self, n: int | None = None) -> np.ndarray:
        """The per-network flags as a NumPy bool array (all False before the first check)."""
        if self.diverged is None:
            return np.zeros(n or 0, dtype=bool)
        return self.diverged.cpu().numpy()


def quadratic_loss(M: torch.Tensor, Sxx: torch.Tensor, Syx: torch.Tensor, trSyy: float,
                   Sxx_scale: float | None = None) -> torch.Tensor:
    r"""The mean squared loss of a linear map through the task correlations, per leading index.

    ``L = tr(Syy)/2 - tr(M Syx^T) + tr(M Sxx M^T)/2`` (docs: Conventions, "Loss and time"), for
    maps ``M`` of shape ``(..., N_out, N_in)``; ``Sxx_scale = c`` uses ``Sxx = c I`` (one
    elementwise product instead of a matmul). The torch twin of
    :func:`idealnets.theory.tasks.quadratic_loss`.
    """
    MS = M * Sxx_scale if Sxx_scale is not None else torch.matmul(M, Sxx)
    return 0.5 * trSyy - (M * Syx).sum((-2, -1)) + 0.5 * (MS * M).sum((-2, -1))


def stable_lr_linear(Sxx: np.ndarray, Syx: np.ndarray, depth: int) -> float:
    r"""Largest stable full-batch GD learning rate of a depth-``depth`` linear network near its solution.

    For the balanced solution of a mode the linearised GD rate is ``D c (s/c)^{2-2/D}`` on
    isotropic input (docs: Conventions, "Deep linear networks"); with a general ``Sxx`` we use its
    largest eigenvalue for c and the largest singular value of the least-squares map
    ``Syx Sxx^{-1}`` for ``s/c``: ``lr`` above ``2 / rate`` diverges. Unchecked: the public
    boundary is :func:`idealnets.simulate.deep_linear.stable_lr`.
    """
    lmax = float(np.linalg.eigvalsh(Sxx)[-1])
    w_star = np.linalg.lstsq(Sxx, Syx.T, rcond=None)[0].T
    smax = float(np.linalg.norm(w_star, 2))
    if depth == 1 or smax == 0:
        return 2.0 / lmax
    return 2.0 / (depth * lmax * smax ** (2.0 - 2.0 / depth))


def as_tensor(a, *, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """float tensor on ``device`` from a NumPy array or tensor."""
    if isinstance(a, torch.Tensor):
        return a.to(device=device, dtype=dtype)
    return torch.as_tensor(np.asarray(a), device=device, dtype=dtype)


try:
    configure_threads()
except ValueError as _bad_env:
    # A bad IDEALNETS_THREADS must not make every import (and so every command) fail: warn, use the default policy.
    warnings.warn(f"{_bad_env}; ignoring it and using the default thread policy", RuntimeWarning)
    _saved_env = os.environ.pop(THREADS_ENV)
    try:
        configure_threads()
    finally:
        os.environ[THREADS_ENV] = _saved_env
    del _bad_env, _saved_env
