r"""Tasks and schedules of continual learning, and the base class of the curricula.

A task is a data set ``(X, Y)`` (columns are samples) given by name in a dict; a schedule is a
list of phases ``(task, duration)``, where a task may be a tuple of names, their interleaved
mixture (the loss is the mean of theirs, so its correlations are the means:
:func:`mixture_correlations`). :class:`CurriculumBase` holds the tasks' correlations, the phases
and the time lookup that every curriculum of :mod:`idealnets.theory.continual` shares.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .. import _core
from .. import validation as _v
from ..tasks import Correlations

__all__ = [
    "check_tasks",
    "task_key",
    "mixture_correlations",
    "check_schedule",
    "blocked",
    "alternating",
    "CurriculumBase",
]


def check_tasks(tasks) -> tuple[list[str], dict[str, Correlations], int, int]:
    r"""Validate a dict of tasks ``name -> (X (N_in, P_k), Y (N_out, P_k))`` and return
    ``(names, correlations, n_in, n_out)``: the task names in order, each task's
    :class:`~idealnets.theory.tasks.Correlations` ``(Sxx, Syx, trSyy)``, and the common input and
    output sizes. Raises TypeError/ValueError naming the task for anything else."""
    if not isinstance(tasks, Mapping):
        raise TypeError(f"tasks must be a dict name -> (X, Y), got {_v.describe(tasks)}")
    if not tasks:
        raise ValueError("tasks must name at least one task")
    names, stats, n_in, n_out = [], {}, None, None
    for name, data in tasks.items():
        if not isinstance(name, str):
            raise TypeError(f"task names must be strings (a tuple in a schedule means a mixture), got {name!r}")
        try:
            X, Y = data
        except (TypeError, ValueError):
            raise ValueError(f"tasks[{name!r}] must be a pair (X, Y), got {_v.describe(data)}") from None
        X = _v.as_array(X, f"tasks[{name!r}] X", ndim=2)
        Y = _v.as_array(Y, f"tasks[{name!r}] Y", ndim=2)
        _v.check_same(f"tasks[{name!r}] X", X.shape[1], f"tasks[{name!r}] Y", Y.shape[1], "number of samples (columns)")
        if n_in is None:
            n_in, n_out = X.shape[0], Y.shape[0]
        _v.check_same(f"tasks[{name!r}] X", X.shape[0], "the first task's X", n_in, "input size (rows)")
        _v.check_same(f"tasks[{name!r}] Y", Y.shape[0], "the first task's Y", n_out, "output size (rows)")
        names.append(name)
        stats[name] = _core.correlations(X, Y)
    return names, stats, int(n_in), int(n_out)


def task_key(name, names: Sequence[str], where: str) -> tuple[str, ...]:
    r"""The canonical key of a task or an interleaved mixture: ``"A"`` -> ``("A",)``, ``("B", "A")`` ->
    ``("A", "B")`` (the order of ``names``). ValueError, naming ``where``, for an unknown task, an
    empty tuple or a task named twice."""
    key = (name,) if isinstance(name, str) else name
    if not isinstance(key, tuple) or not key:
        raise ValueError(f"{where} must be a task name or a non-empty tuple of task names, got {name!r}")
    for n in key:
        if not isinstance(n, str) or n not in names:
            raise ValueError(f"{where} names an unknown task {n!r}; the tasks are {list(names)}")
    if len(set(key)) != len(key):
        raise ValueError(f"{where} names a task twice in the mixture {name!r}; a mixture weights each task equally")
    return tuple(n for n in names if n in key)  # canonical order: ("B", "A") is the same mixture as ("A", "B")


def mixture_correlations(stats: Mapping[str, Correlations], key: tuple[str, ...]) -> Correlations:
    r"""Correlations of the interleaved mixture of the tasks in ``key``: the loss is the mean of
    their losses, so ``Sxx, Syx, tr Syy`` are the means of theirs (equal weight per task)."""
    k = len(key)
    return Correlations(sum(stats[n].Sxx for n in key) / k, sum(stats[n].Syx for n in key) / k,
                        sum(stats[n].trSyy for n in key) / k)


def check_schedule(schedule, names) -> list[tuple[tuple[str, ...], float]]:
    r"""Validate a schedule, a list of ``(task, duration)`` pairs over the tasks ``names``, and return its
    phases ``[(key, duration), ...]``: keys canonical (:func:`task_key`), zero-length phases dropped,
    consecutive phases on the same task merged. Durations are finite and >= 0; only the last may be
    ``np.inf``."""
    if isinstance(schedule, (str, bytes)) or not isinstance(schedule, Sequence):
        raise TypeError(f"schedule must be a list of (task, duration) pairs, got {_v.describe(schedule)}")
    if len(schedule) == 0:
        raise ValueError("schedule must contain at least one (task, duration) phase")
    phases = []
    for i, entry in enumerate(schedule):
        try:
            name, dur = entry
        except (TypeError, ValueError):
            raise ValueError(f"schedule[{i}] must be a pair (task, duration), got {entry!r}") from None
        key = task_key(name, names, f"schedule[{i}]")
        last = i == len(schedule) - 1
        dur = _v.as_float(dur, f"schedule[{i}] duration", low=0.0, allow_inf=last)
        if dur == 0:
            continue  # an empty phase changes nothing
        if phases and phases[-1][0] == key:
            phases[-1] = (key, phases[-1][1] + dur)  # consecutive phases on the same task are one phase
        else:
            phases.append((key, dur))
    if not phases:
        raise ValueError("every phase of the schedule has zero duration")
    return phases


def blocked(first, second, T_first: float, T_second: float) -> list:
    """Schedule: ``first`` for ``T_first``, then ``second`` for ``T_second`` (a single switch).

    ``T_first > 0`` finite, ``T_second > 0`` (``np.inf``: train ``second`` to its fixed point)."""
    T_first = _v.as_float(T_first, "T_first", low=0.0, open_low=True)
    T_second = _v.as_float(T_second, "T_second", low=0.0, open_low=True, allow_inf=True)
    return [(first, T_first), (second, T_second)]


def alternating(tasks: Sequence, tau_b: float, T: float) -> list:
    r"""Schedule alternating the tasks in blocks of length ``tau_b`` up to total time ``T``
    (the last block is cut at ``T``). ``tau_b -> 0`` approaches the interleaved mixture
    ``[(tuple(tasks), T)]`` at rate ``O(tau_b)`` (module docstring)."""
    tau_b = _v.as_float(tau_b, "tau_b", low=0.0, open_low=True)
    T = _v.as_float(T, "T", low=0.0)
    if isinstance(tasks, str) or len(tasks) == 0:
        raise ValueError(f"tasks must be a non-empty sequence of task names, got {tasks!r}")
    n = int(np.ceil(T / tau_b - 1e-9))
    if n > 10**6:
        raise ValueError(f"tau_b = {tau_b:g} makes {n} blocks in T = {T:g}; at most 1e6 are allowed")
    out, now = [], 0.0
    for i in range(n):
        d = min(tau_b, T - now)
        out.append((tasks[i % len(tasks)], d))
        now += d
    return out


# ----------------------------------------------------------------------------- the curricula's common part
class CurriculumBase:
    r"""Tasks, schedule, time lookup and losses shared by the curricula
    (:class:`~idealnets.theory.continual.curricula.ShallowCurriculum`,
    :class:`~idealnets.theory.continual.curricula.Curriculum`,
    :class:`~idealnets.theory.continual.gating.GatedCurriculum`).

    Attributes: ``task_names``, ``n_in``, ``n_out``, ``phases`` (:func:`check_schedule`), ``tau``,
    ``boundaries`` (phase start times and the end), ``end_time``, ``switch_times`` (the internal
    boundaries). A subclass defines :meth:`map`.
    """

    def __init__(self, tasks, schedule, tau):
        self.task_names, self._stats, self.n_in, self.n_out = check_tasks(tasks)
        self.phases = check_schedule(schedule, self.task_names)
        self.tau = _v.as_float(tau, "tau", low=0.0, open_low=True)
        durs = np.array([d for _, d in self.phases])
        self.boundaries = np.concatenate([[0.0], np.cumsum(durs)])
        self.end_time = float(self.boundaries[-1])
        #: times at which the schedule changes task (internal phase boundaries)
        self.switch_times = self.boundaries[1:-1].copy()
        self._phase_stats = [mixture_correlations(self._stats, key) for key, _ in self.phases]

    def _times(self, t) -> np.ndarray:
        t = _v.as_times(t, "t", allow_inf=bool(np.isinf(self.end_time)))
        slack = 1e-12 * max(self.end_time, 1.0) if np.isfinite(self.end_time) else 0.0  # rounding of sum(durations)
        if np.any(t > self.end_time + slack):
            raise ValueError(f"t must lie within the schedule, [0, {self.end_time:g}]; got max {np.max(t):g}")
        return t

    def _locate(self, flat: np.ndarray) -> np.ndarray:
        """Phase index of each time; a switch time belongs to the phase that ends there."""
        idx = np.searchsorted(self.boundaries[1:], np.minimum(flat, self.end_time), side="left")
        return np.minimum(idx, len(self.phases) - 1)

    def map(self, t) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def loss(self, t, task) -> np.ndarray:
        r"""Loss of ``task`` (a name, or a tuple = the mean over those tasks) at times ``t``, shape ``t.shape``:
        ``L = tr(Syy)/2 - tr(W Syx^T) + tr(W Sxx W^T)/2`` with the task's correlations (docs: Conventions, "Loss and time")."""
        W = self.map(t)
        return self._loss(W, task_key(task, self.task_names, "task"))

    def loss_of_map(self, W, task) -> np.ndarray:
        """The same loss for given map(s) ``W`` (..., N_out, N_in), e.g. one :meth:`map` call reused
        for several tasks (an integrated phase is integrated once)."""
        key = task_key(task, self.task_names, "task")
        W = _v.as_array(W, "W", ndim=range(2, 64))
        if W.shape[-2:] != (self.n_out, self.n_in):
            raise ValueError(f"W must end in (N_out, N_in) = {(self.n_out, self.n_in)}, got shape {W.shape}")
        return self._loss(W, key)

    def _loss(self, W: np.ndarray, key: tuple[str, ...]) -> np.ndarray:
        """:func:`idealnets.theory.tasks.quadratic_loss` of maps the caller trusts, for a canonical key."""
        st = mixture_correlations(self._stats, key)
        return _core.quadratic_loss(W, st.Sxx, st.Syx, st.trSyy)
