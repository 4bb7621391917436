r"""The one training engine: every trainer in :mod:`idealnets.simulate` is a model run by :func:`run`.

A *model* is a small object with three methods (the shape jax-md gives its
simulations, ``init_fn`` / ``step_fn``):

``init() -> state``
    the initial state (any Python structure of tensors: a tensor, a list of
    layer weights, a dict);
``step(state, k) -> state``
    one update, the ``k``-th (``k = 0, 1, ...``); may update in place and return
    the same object;
``observe(state) -> dict``
    what is recorded, a dict of tensors with the ensemble on the leading axis,
    shape ``(E, ...)``. The key ``"loss"`` (shape ``(E,)``) is required: it is
    the quantity the run's ``losses`` hold and the one divergence is checked on.

Optionally ``advance(state, start, n, tick) -> state`` takes ``n`` updates at
once (from update ``start``), for models that fuse steps (the committee
machine draws a block of inputs at a time); ``tick(m)`` reports ``m`` finished
updates to the progress bar. Without it the engine calls ``step`` ``n`` times.

:func:`run` does the rest, once for every model: the recording steps
(log-spaced by default, always including 0 and ``steps``), preallocated record
buffers on the device (no host synchronisation between recording steps), the
divergence monitor (:class:`~idealnets.simulate._common.DivergenceMonitor`,
a named :class:`~idealnets.simulate._common.DivergenceError` that states the
learning rate and the stable limit), the CPU thread count for the loop, the
progress bar, the wall time, and the conversion of every record to NumPy. It
returns a :class:`Run`, the one result type of every trainer.

Devices, dtypes and random generators are resolved once by :func:`context`
(``cuda`` when available, float64 by default, a seeded ``torch.Generator``),
which trainers call at their public boundary.
"""
from __future__ import annotations

import contextlib
import dataclasses
import time as _time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np
import torch

from ._common import (
    DIVERGENCE_FACTOR,
    DivergenceMonitor,
    as_desc,
    make_generator,
    progress,
    record_steps,
    resolve_device,
    resolve_dtype,
)

__all__ = ["Run", "Context", "context", "run", "threads"]


@dataclass
class Run:
    """The result of every trainer: one field per concept, the same names for every model.

    Attributes
    ----------
    times : (R,) float
        The recorded times, in the model's own unit (``time_unit``).
    time_unit : str
        What ``times`` measures, e.g. ``"t = lr * step"`` (gradient descent,
        compared with gradient flow) or ``"alpha = step / N"`` (online SGD).
    steps : (R,) int
        The recorded step indices.
    losses : (E, R) float
        Per network and record, the quantity named by ``loss_name`` (a training
        loss, or an estimate of the generalisation error); models that learn
        several tasks at once add a trailing task axis, ``(E, R, n_tasks)``.
    loss_name : str
        What ``losses`` measures.
    state : dict of arrays
        Other recorded quantities, each ``(E, R, ...)`` (e.g. ``"maps"``,
        ``"Q"``); also readable as attributes (``run.maps``).
    extras : dict
        Model-specific results that are not records (settings, teachers,
        final weights, derived curves); also readable as attributes.
    diverged : (E,) bool
        Networks whose loss grew past the divergence threshold (only with
        ``raise_on_divergence=False``; else the run raised).
    wall_s : float
        Wall time of the step loop in seconds.
    model : str
        The model's name.

    Names that earlier releases used for the same things (``alpha``,
    ``eps_test``, ``errors``, ``loss``, ...) keep working for this release and
    emit a :class:`DeprecationWarning` naming the new one.
    """

    times: np.ndarray
    time_unit: str
    steps: np.ndarray
    losses: np.ndarray
    loss_name: str = "training loss"
    state: dict[str, np.ndarray] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    diverged: np.ndarray | None = None
    wall_s: float = 0.0
    model: str = ""
    #: old attribute name -> the name it now has (a field, or a key of state/extras)
    renamed: dict[str, str] = field(default_factory=dict, repr=False)

    def __getattr__(self, name: str):
        # only called when normal lookup fails; guard the fields (unpickling, copy)
        if name.startswith("__") or name in ("state", "extras", "renamed"):
            raise AttributeError(name)
        d = self.__dict__
        for store in ("state", "extras"):
            if name in d.get(store, {}):
                return d[store][name]
        new = d.get("renamed", {}).get(name)
        if new is not None:
            warnings.warn(f"Run.{name} is deprecated; use Run.{new} (same values)", DeprecationWarning,
                          stacklevel=2)
            return getattr(self, new)
        raise AttributeError(f"{type(self).__name__} of model {d.get('model', '?')!r} has no field {name!r}; "
                             f"fields: {', '.join(self.fields())}")

    def fields(self) -> list[str]:
        """Every name readable on this run (the fields, the recorded state and the extras)."""
        own = [f.name for f in dataclasses.fields(self) if f.name not in ("state", "extras", "renamed")]
        return own + list(self.state) + list(self.extras)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self.state) | set(self.extras))

    @property
    def n_networks(self) -> int:
        """E, the number of networks in the ensemble."""
        return int(self.losses.shape[0])


@dataclass(frozen=True)
class Context:
    """Where and how a trainer computes: a device, a dtype and a seeded generator."""

    device: torch.device
    dtype: torch.dtype
    generator: torch.Generator | None

    def tensor(self, a) -> torch.Tensor:
        """``a`` (array or tensor) as a tensor on this device and dtype."""
        if isinstance(a, torch.Tensor):
            return a.to(device=self.device, dtype=self.dtype)
        return torch.as_tensor(np.asarray(a), device=self.device, dtype=self.dtype)


def context(device=None, dtype=torch.float64, seed: int | None = 0) -> Context:
    """Resolve ``device`` (``None``/``"auto"``: ``cuda`` when available), ``dtype`` and a seeded generator.

    ``seed=None`` gives no generator (deterministic models).
    """
    dev = resolve_device(device)
    return Context(dev, resolve_dtype(dtype), None if seed is None else make_generator(seed, dev))


@contextlib.contextmanager
def threads(n: int | None):
    """Run a block with ``n`` torch CPU threads (``None``: leave the setting), restoring it afterwards."""
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _store(bufs: dict, obs: dict, r: int, R: int) -> None:
    for key, val in obs.items():
        val = val if isinstance(val, torch.Tensor) else torch.as_tensor(val)
        buf = bufs.get(key)
        if buf is None:
            val = val.detach()
            shape = (val.shape[0], R, *val.shape[1:]) if val.ndim else (R,)
            buf = bufs[key] = torch.empty(shape, device=val.device, dtype=val.dtype)
        if buf.ndim == 1 and val.ndim == 0:
            buf[r] = val
        else:
            buf[:, r] = val


def run(
    model,
    *,
    steps: int,
    record: int | Iterable[int] | None = 50,
    log: bool = True,
    time_per_step: float = 1.0,
    steps_per_time: float | None = None,
    time_unit: str = "step",
    loss_name: str = "training loss",
    lr=None,
    lr_max: float | None = None,
    what: str = "the training loss",
    raise_on_divergence: bool = True,
    divergence_factor: float = DIVERGENCE_FACTOR,
    desc: str | None = None,
    progress_bar: bool | None = None,
    n_threads: int | None = None,
    extras: dict | None = None,
    renamed: dict | None = None,
    finish: Callable[[Any], dict] | None = None,
) -> Run:
    """Train ``model`` for ``steps`` updates, recording at ``record`` steps, and return a :class:`Run`.

    Parameters
    ----------
    model
        An object with ``init``, ``step`` and ``observe`` (optionally
        ``advance``), as in this module's docstring; ``model.name`` names it.
    steps, record, log
        Number of updates; recording points (a count, log-spaced with
        ``log=True``, or explicit step indices), always including 0 and ``steps``.
    time_per_step, steps_per_time, time_unit
        ``times = time_per_step * steps_recorded`` (or, exactly, ``steps_recorded / steps_per_time``
        when given: online SGD's ``alpha = step / N``), in the unit ``time_unit``.
    lr, lr_max, what, raise_on_divergence, divergence_factor
        For the divergence monitor's message (``what`` names the loss), whether
        divergence raises or only flags networks in ``Run.diverged``, and the growth
        of the loss over its first record that counts as divergence.
    desc, progress_bar
        Progress bar label; ``None`` shows it on terminals only.
    n_threads
        torch CPU threads for the loop (restored afterwards); ``None`` keeps the setting.
    extras, renamed
        Passed to the :class:`Run`; ``finish(state)``, if given, returns more extras
        computed from the final state.

    Inputs are validated by the trainers (the public boundary); the engine trusts them.
    """
    desc = as_desc(desc)
    rec = record_steps(int(steps), record, log=log)
    R = int(rec.size)
    monitor = DivergenceMonitor(lr=lr if lr is not None else float("nan"), lr_max=lr_max, what=what,
                                raise_on_divergence=raise_on_divergence, factor=divergence_factor)
    bufs: dict[str, torch.Tensor] = {}
    bar = progress(int(steps), desc or getattr(model, "name", "training"),
                   disable=None if progress_bar is None else not progress_bar)
    advance = getattr(model, "advance", None)
    t0 = _time.perf_counter()
    with threads(n_threads), torch.no_grad():
        state = model.init()
        k = 0
        for r in range(R):
            target = int(rec[r])
            if target > k:
                if advance is not None:
                    state = advance(state, k, target - k, bar.update)
                else:
                    step = model.step
                    for j in range(k, target):
                        state = step(state, j)
                        if (j & 1023) == 1023:
                            bar.update(1024)
                k = target
            obs = model.observe(state)
            _store(bufs, obs, r, R)
            monitor(k, bufs["loss"][:, r] if bufs["loss"].ndim > 1 else bufs["loss"][r])
    bar.close()
    wall = _time.perf_counter() - t0
    out = {key: val.cpu().numpy() for key, val in bufs.items()}
    losses = out.pop("loss")
    if losses.ndim == 1:
        losses = losses[None, :]
    more = dict(extras or {})
    if finish is not None:
        more.update(finish(state))
    if steps_per_time is not None:
        times = rec / float(steps_per_time)
    else:
        times = np.asarray(time_per_step, dtype=float) * rec.astype(float)
    return Run(
        times=times,
        time_unit=time_unit,
        steps=rec,
        losses=losses,
        loss_name=loss_name,
        state=out,
        extras=more,
        diverged=monitor.diverged_numpy(losses.shape[0]),
        wall_s=wall,
        model=getattr(model, "name", type(model).__name__),
        renamed=dict(renamed or {}),
    )
