r"""Continual learning in linear networks: exact dynamics through a curriculum of tasks.

**Model.** A two-layer linear network ``yhat = W2 W1 x`` (``W1`` (N_h, N_in), ``W2``
(N_out, N_h)) or a shallow one ``yhat = W x`` is trained by gradient flow
``tau dW/dt = -dL/dW`` (docs: Conventions, "Loss and time") on a *curriculum*: a list of phases
``(task, duration)``. A task is a data set ``(X, Y)`` (columns are samples) with loss
``L_k = (1/2P_k) sum_mu ||y_mu - yhat_mu||^2``; a phase may name a tuple of tasks,
their *interleaved mixture*, trained full batch on ``L = mean_k L_k`` (equal weights
per task, whatever their sample counts). The dynamics depend on the data only through
``Sxx = mean_k X_k X_k^T/P_k`` and ``Syx = mean_k Y_k X_k^T/P_k`` of the phase:

.. math::

    \tau \dot W_1 = W_2^\top (\Sigma^{yx} - W_2 W_1 \Sigma^{xx}), \qquad
    \tau \dot W_2 = (\Sigma^{yx} - W_2 W_1 \Sigma^{xx}) W_1^\top .

**Conserved quantity across switches.** ``B = W2^T W2 - W1 W1^T`` is conserved by
gradient flow on *any* data (:func:`idealnets.theory.lambda_balanced.balancedness`), hence
through every switch of task: a lambda-balanced network stays lambda-balanced for
the whole curriculum, with the same lambda. This is what makes chaining exact.

**Where chaining the closed form is exact (ours, from the equations above).** The
closed form :class:`idealnets.theory.lambda_balanced.TwoLayerExact` (Fukumizu 1998; Braun et al.
2022; Dominé et al. 2025) needs whitened input. A phase whose input correlation is
*isotropic*, ``Sxx = c I`` with ``c > 0`` (whitened tasks, ``c = 1``; the
interleaved mixture of whitened tasks; one-hot items presented all together,
``c = 1/P``), reduces to it exactly: with ``s = c t`` the ODE above becomes the
whitened one with target ``Syx / c``. So a phase is solved in closed form when (i)
its ``Sxx`` is isotropic to ``ISOTROPY_RTOL`` and (ii) the weights are
lambda-balanced (``B = lambda I``, true for the whole curriculum if at the start).
The phase restarts :class:`TwoLayerExact` from the factor ``Q = [W1^T; W2]`` reached
at the switch (:meth:`TwoLayerExact.from_factor`); the trajectory depends on ``Q``
only through ``Q Q^T``, so the hidden-layer rotation left free by the closed form
does not matter.

**Where it is not.** A phase whose inputs are not isotropic -- a task on a subspace
of the inputs, e.g. a *single new item* (``Sxx = x x^T``), or the old items without the
new one -- has no closed form here: the weight columns outside ``range(Sxx)`` are
frozen while ``W2`` keeps moving, and the pair restricted to ``range(Sxx)`` is no
longer lambda-balanced. Such phases (and every phase when the initial weights are
not lambda-balanced) are integrated numerically in float64
(:func:`idealnets.theory.deep_linear.integrate_gradient_flow`, DOP853, rtol 1e-10). The
attribute :attr:`Curriculum.methods` says which is used for each phase. The
shallow network (:class:`ShallowCurriculum`) is linear in ``W`` and has a closed
form for every phase and every ``Sxx`` (eigendecomposition of ``Sxx``).

**Limits (tests/test_continual.py).** Identical tasks -> no forgetting; tasks on
orthogonal inputs in a shallow network -> no interference, exactly (the gradient of
task B never touches ``W v_A``), while a two-layer network interferes through its shared
readout ``W2`` unless the outputs are orthogonal too; alternating blocks of length
``tau_b`` -> the interleaved mixture as ``tau_b -> 0``, with an error ``O(tau_b)``
(Lie-Trotter splitting of the two flows: ``e^{tau_b A} e^{tau_b B} = e^{tau_b (A+B)} + O(tau_b^2)``
per cycle, ``1/tau_b`` cycles); sequential regression to convergence is a chain of
projections (Evron et al. 2022).

**Also here.** Schema-consistent vs inconsistent new items in the living-things environment
(:func:`new_item_tasks`); sequential regression (:func:`sequential_regression`); teacher-student
continual learning with two teachers and two heads (:class:`TwoTeacherODE`, a reduction to the
committee ODE of :mod:`idealnets.theory.committee`); context-dependent gating (:class:`GatedCurriculum`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from . import _core
from . import validation as _v
from ._core import Correlations
from .deep_linear import integrate_gradient_flow
from .lambda_balanced import BALANCE_RTOL, TwoLayerExact, balance_parameter, balancedness

__all__ = [
    "Curriculum",
    "ShallowCurriculum",
    "ISOTROPY_RTOL",
    "blocked",
    "alternating",
    "forgetting",
    "interference",
    "item_tasks",
    "whitened_pair",
    "shallow_item_forgetting",
    "mixture_correlations",
    "sequential_regression",
    "regression_loss",
    "sequential_forgetting",
    "cyclic_order",
    "random_order",
    "new_item_tasks",
    "FEATURES_NEW_ITEM",
    "crossing_time",
    "out_of_span_fraction",
    "teacher_pair",
    "TwoTeacherODE",
    "TwoTeacherTrajectory",
    "GatedCurriculum",
    "overlapping_gates",
]

#: A phase counts as isotropic (closed form applies) when ``max|Sxx - c I| <= ISOTROPY_RTOL * c``.
ISOTROPY_RTOL = 1e-10


# ----------------------------------------------------------------------------- tasks and schedules
def _parse_tasks(tasks) -> tuple[list[str], dict[str, Correlations], int, int]:
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


def _task_key(name, names: Sequence[str], where: str) -> tuple[str, ...]:
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


def _parse_schedule(schedule, names) -> list[tuple[tuple[str, ...], float]]:
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
        key = _task_key(name, names, f"schedule[{i}]")
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
    """Schedule: ``first`` for ``T_first``, then ``second`` for ``T_second`` (a single switch)."""
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


# ----------------------------------------------------------------------------- curricula
class _CurriculumBase:
    """Tasks, schedule, time lookup and losses shared by the shallow and two-layer curricula."""

    def __init__(self, tasks, schedule, tau):
        self.task_names, self._stats, self.n_in, self.n_out = _parse_tasks(tasks)
        self.phases = _parse_schedule(schedule, self.task_names)
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
        return self.loss_of_map(self.map(t), task)

    def loss_of_map(self, W, task) -> np.ndarray:
        """The same loss for given map(s) ``W`` (..., N_out, N_in), e.g. one :meth:`map` call reused
        for several tasks (an integrated phase is integrated once)."""
        key = _task_key(task, self.task_names, "task")
        st = mixture_correlations(self._stats, key)
        W = _v.as_array(W, "W", ndim=range(2, 64), allow_empty=True)
        if W.shape[-2:] != (self.n_out, self.n_in):
            raise ValueError(f"W must end in (N_out, N_in) = {(self.n_out, self.n_in)}, got shape {W.shape}")
        return _core.quadratic_loss(W, st.Sxx, st.Syx, st.trSyy)


class ShallowCurriculum(_CurriculumBase):
    r"""Exact gradient flow of a shallow linear network ``yhat = W x`` through a curriculum.

    Per phase (correlations ``Sxx = V diag(l) V^T``, ``Syx``), ``tau dW/dt = Syx - W Sxx`` gives

    .. math::

        W(t_0 + s) = W(t_0) + (\Sigma^{yx} - W(t_0)\Sigma^{xx})\, V \,\mathrm{diag}\Big(\frac{1 - e^{-l s/\tau}}{l}\Big) V^\top ,

    with ``s/tau`` in place of ``(1 - e^{-l s/tau})/l`` where ``l = 0`` (there ``Syx V = 0``
    for data-derived correlations, so those directions stay frozen). Exact for any inputs
    (whitened or not). ``W0`` (N_out, N_in). ``t = inf`` (last phase infinite) is its fixed point.
    """

    def __init__(self, tasks, schedule, W0, *, tau: float = 1.0):
        super().__init__(tasks, schedule, tau)
        W0 = _v.as_array(W0, "W0", shape=(self.n_out, self.n_in))
        self._eig = []
        self._starts = [W0.copy()]
        for (key, dur), st in zip(self.phases, self._phase_stats):
            lam, V = np.linalg.eigh(st.Sxx)
            lam = np.where(lam > 1e-12 * max(float(lam.max()), 1e-300), lam, 0.0)
            self._eig.append((lam, V))
            self._starts.append(self._advance(len(self._eig) - 1, self._starts[-1], np.array(dur)))
        self.methods = ["closed form"] * len(self.phases)

    def _advance(self, k: int, W0: np.ndarray, s: np.ndarray) -> np.ndarray:
        lam, V = self._eig[k]
        st = self._phase_stats[k]
        pos = lam > 0
        sb = s[..., None] / self.tau
        x = np.where(pos, lam, 1.0) * sb  # lam s / tau where lam > 0 (never 0 * inf)
        # where lam = 0 the direction is frozen for data-derived correlations (Syx V = 0 there): g = s/tau
        # multiplies zero; at s = inf it is set to 0 instead of inf * 0
        g = np.where(pos, -np.expm1(-x) / np.where(pos, lam, 1.0), np.where(np.isinf(sb), 0.0, sb))
        G = (V * g[..., None, :]) @ V.T
        return W0 + (st.Syx - W0 @ st.Sxx) @ G

    def map(self, t) -> np.ndarray:
        """Map ``W(t)``, shape ``t.shape + (N_out, N_in)``."""
        t = self._times(t)
        flat = t.ravel()
        ph = self._locate(flat)
        out = np.empty((flat.size, self.n_out, self.n_in))
        for k in np.unique(ph):
            sel = ph == k
            out[sel] = self._advance(int(k), self._starts[k], flat[sel] - self.boundaries[k])
        return out.reshape(*t.shape, self.n_out, self.n_in)

    weights = map


class Curriculum(_CurriculumBase):
    r"""Exact gradient flow of a two-layer linear network through a curriculum.

    Parameters
    ----------
    tasks : dict name -> (X (N_in, P_k), Y (N_out, P_k)); every task has the same N_in, N_out.
    schedule : list of (name, duration); a name may be a tuple of task names (their interleaved
        mixture, loss = mean of their losses). Durations are finite and >= 0 (only the last may
        be ``np.inf``, when its phase has the closed form); zero-length phases are dropped and
        consecutive phases on the same task merged.
    W1_0 : (N_h, N_in), W2_0 : (N_out, N_h) initial weights.
    tau : time constant.

    Notes
    -----
    Each phase is solved by chaining :class:`TwoLayerExact` (closed form, isotropic ``Sxx`` and
    lambda-balanced weights) or by the float64 integrator otherwise (module docstring);
    :attr:`methods` lists which per phase. ``switch_times`` are the internal phase boundaries.
    """

    def __init__(self, tasks, schedule, W1_0, W2_0, *, tau: float = 1.0):
        super().__init__(tasks, schedule, tau)
        W1_0 = _v.as_array(W1_0, "W1_0", ndim=2, shape=(None, self.n_in))
        W2_0 = _v.as_array(W2_0, "W2_0", ndim=2, shape=(self.n_out, None))
        _v.check_same("W1_0", W1_0.shape[0], "W2_0", W2_0.shape[1], "hidden size")
        self.n_hidden = W1_0.shape[0]
        lam, _ = balance_parameter(W1_0, W2_0)
        self.lam = float(lam)
        self.methods: list[str] = []
        self._solvers: list = []
        self._starts = [(W1_0.copy(), W2_0.copy())]
        for k, ((key, dur), st) in enumerate(zip(self.phases, self._phase_stats)):
            W1, W2 = self._starts[-1]
            c = float(np.trace(st.Sxx)) / self.n_in
            iso = c > 0 and np.max(np.abs(st.Sxx - c * np.eye(self.n_in))) <= ISOTROPY_RTOL * c
            dev = np.max(np.abs(balancedness(W1, W2) - self.lam * np.eye(self.n_hidden)))
            bal = dev <= BALANCE_RTOL * max(float(np.sum(W1**2)), float(np.sum(W2**2)), 1.0)
            if iso and bal:
                Xw = np.sqrt(self.n_in) * np.eye(self.n_in)
                ex = TwoLayerExact.from_factor(np.vstack([W1.T, W2]), Xw, (st.Syx / c) @ Xw, self.lam, self.tau)
                self._solvers.append(("closed", ex, c))
                self.methods.append("closed form")
            else:
                if np.isinf(dur):
                    raise ValueError(f"phase {k} ({key}) has infinite duration but no closed form "
                                     "(its inputs are not isotropic or the weights not lambda-balanced)")
                self._solvers.append(("ode", None, c))
                self.methods.append("integrated")
            if np.isfinite(dur):
                W1e, W2e = self._phase_weights(k, np.array([dur]))
                self._starts.append((W1e[0], W2e[0]))

    def _phase_weights(self, k: int, s: np.ndarray):
        """Weights at local times ``s`` (1-D) of phase k."""
        kind, ex, c = self._solvers[k]
        if kind == "closed":
            Q = ex.factor(c * s)
            return np.swapaxes(Q[:, :self.n_in, :], -1, -2), Q[:, self.n_in:, :]
        st = self._phase_stats[k]
        W1s, W2s = self._starts[k]
        u, inv = np.unique(s, return_inverse=True)
        grid = u if u[0] == 0 else np.concatenate([[0.0], u])
        W1, W2 = integrate_gradient_flow([W1s, W2s], st.Sxx, st.Syx, grid, tau=self.tau, rtol=1e-10, atol=1e-12)
        off = 0 if u[0] == 0 else 1
        return W1[off:][inv], W2[off:][inv]

    def weights(self, t) -> tuple[np.ndarray, np.ndarray]:
        r"""``(W1, W2)(t)``, shapes ``t.shape + (N_h, N_in)``, ``t.shape + (N_out, N_h)``; exact up to a
        rotation of the hidden layer in closed-form phases (``W2 W1``, ``W1^T W1``, ``W2 W2^T`` are exact)."""
        t = self._times(t)
        flat = t.ravel()
        ph = self._locate(flat)
        W1 = np.empty((flat.size, self.n_hidden, self.n_in))
        W2 = np.empty((flat.size, self.n_out, self.n_hidden))
        for k in np.unique(ph):
            sel = ph == k
            W1[sel], W2[sel] = self._phase_weights(int(k), flat[sel] - self.boundaries[k])
        return W1.reshape(*t.shape, *W1.shape[1:]), W2.reshape(*t.shape, *W2.shape[1:])

    def map(self, t) -> np.ndarray:
        """Network map ``W2 W1 (t)``, shape ``t.shape + (N_out, N_in)``."""
        W1, W2 = self.weights(t)
        return W2 @ W1


# ----------------------------------------------------------------------------- interference measures
def forgetting(curriculum: _CurriculumBase, task, t_switch: float, t) -> np.ndarray:
    r"""Forgetting ``F(t) = L_task(t) - L_task(t_switch)`` (positive = interference), shape ``t.shape``."""
    t_switch = _v.as_float(t_switch, "t_switch", low=0.0)
    return curriculum.loss(t, task) - curriculum.loss(np.array(t_switch), task)


def interference(curriculum: _CurriculumBase, first, second) -> dict[str, float]:
    r"""Interference measures of a two-phase curriculum ``first`` then ``second`` (switch at ``t_s``,
    end ``T``; losses, so smaller is better):

    * ``forgetting = L_first(T) - L_first(t_s)`` (> 0: learning ``second`` undid ``first``),
    * ``backward_transfer = L_first(t_s) - L_first(T)`` (Lopez-Paz & Ranzato 2017, with losses: = -forgetting),
    * ``forward_transfer = L_second(0) - L_second(t_s)`` (how much learning ``first`` already did for ``second``),
    * ``final_loss_first``, ``final_loss_second``.
    """
    if len(curriculum.switch_times) != 1:
        raise ValueError(f"interference needs a two-phase curriculum, got {len(curriculum.phases)} phases")
    ts, T = float(curriculum.switch_times[0]), curriculum.end_time
    if not np.isfinite(T):
        raise ValueError("interference needs a finite schedule")
    t = np.array([0.0, ts, T])
    La, Lb = curriculum.loss(t, first), curriculum.loss(t, second)
    return {"forgetting": float(La[2] - La[1]), "backward_transfer": float(La[1] - La[2]),
            "forward_transfer": float(Lb[0] - Lb[1]), "final_loss_first": float(La[2]),
            "final_loss_second": float(Lb[2])}


def _frame(n: int, theta: float, which: int) -> tuple[np.ndarray, np.ndarray]:
    a = np.zeros(n)
    a[which] = 1.0
    b = np.zeros(n)
    b[which] = np.cos(theta)
    b[which + 1] = np.sin(theta)
    return a, b


def item_tasks(n_in: int, n_out: int, s_a: float, s_b: float, theta_u: float, theta_v: float) -> dict:
    r"""Two single-item tasks with controlled similarity: task k maps input ``v_k`` to output ``s_k u_k``
    (``X_k = v_k`` as one column, ``Y_k = s_k u_k``; ``Sxx_k = v_k v_k^T`` is *not* whitened).
    ``cos theta_v = v_A . v_B`` (input similarity), ``cos theta_u = u_A . u_B`` (output similarity),
    ``s_b/s_a`` the ratio of singular values. Frames: ``v_A = e_1``, ``v_B = cos e_1 + sin e_2`` (and
    the same for u). Needs ``n_in, n_out >= 2``."""
    n_in = _v.as_int(n_in, "n_in", low=2)
    n_out = _v.as_int(n_out, "n_out", low=2)
    s_a = _v.as_float(s_a, "s_a", low=0.0, open_low=True)
    s_b = _v.as_float(s_b, "s_b", low=0.0, open_low=True)
    theta_u, theta_v = _v.as_float(theta_u, "theta_u"), _v.as_float(theta_v, "theta_v")
    vA, vB = _frame(n_in, theta_v, 0)
    uA, uB = _frame(n_out, theta_u, 0)
    return {"A": (vA[:, None], s_a * uA[:, None]), "B": (vB[:, None], s_b * uB[:, None])}


def whitened_pair(n: int, s_a: float, s_b: float, theta_u: float, theta_v: float) -> dict:
    r"""Two tasks on the *same* whitened inputs (``X = sqrt(n) I``, ``Sxx = I``) with rank-one maps
    ``Syx_k = s_k u_k v_k^T`` at angles ``theta_u``, ``theta_v`` (frames as in :func:`item_tasks`).
    Every phase of every curriculum on them has the closed form: each is the
    :func:`idealnets.theory.tasks.whitened_task` with ``inputs="identity"``, ``U = u_k``, ``V = v_k``."""
    n = _v.as_int(n, "n", low=2)
    s_a = _v.as_float(s_a, "s_a", low=0.0, open_low=True)
    s_b = _v.as_float(s_b, "s_b", low=0.0, open_low=True)
    theta_u, theta_v = _v.as_float(theta_u, "theta_u"), _v.as_float(theta_v, "theta_v")
    (vA, vB), (uA, uB) = _frame(n, theta_v, 0), _frame(n, theta_u, 0)
    return {name: _core.whitened_task(n, n, np.array([s]), None, n, u[:, None], v[:, None], "identity")
            for name, s, u, v in (("A", s_a, uA, vA), ("B", s_b, uB, vB))}


def shallow_item_forgetting(s_a: float, s_b: float, cos_u, cos_v) -> np.ndarray:
    r"""Asymptotic forgetting of task A after training task B to convergence, shallow network,
    single-item tasks of :func:`item_tasks`, starting from ``W = s_a u_A v_A^T`` (A learned from zero):

    .. math:: F = \tfrac12 \cos^2\theta_v \,\| s_b u_B - s_a \cos\theta_v\, u_A \|^2
              = \tfrac12 c_v^2 (s_b^2 - 2 s_a s_b c_u c_v + s_a^2 c_v^2)

    (ours: B's gradient flow moves only ``W v_B``, by ``(s_b u_B - W v_B) v_B^T``). It vanishes for
    orthogonal inputs (``c_v = 0``) and for a *consistent* B (``s_b u_B = W_A v_B``); for fixed
    ``s_b/s_a`` it is largest at ``c_v = +-1`` with opposite outputs (``c_u c_v = -1``)."""
    s_a, s_b = _v.as_float(s_a, "s_a"), _v.as_float(s_b, "s_b")
    cu = _v.as_array(cos_u, "cos_u", ndim=None, low=-1.0, high=1.0)
    cv = _v.as_array(cos_v, "cos_v", ndim=None, low=-1.0, high=1.0)
    return 0.5 * cv**2 * (s_b**2 - 2 * s_a * s_b * cu * cv + s_a**2 * cv**2)


# ----------------------------------------------------------------------------- sequential regression
def _check_regression(Xs, ys, w0):
    if isinstance(Xs, np.ndarray) and Xs.ndim == 3:
        Xs = list(Xs)
    if isinstance(ys, np.ndarray) and ys.ndim == 2:
        ys = list(ys)
    if not isinstance(Xs, Sequence) or not isinstance(ys, Sequence):
        raise TypeError("Xs and ys must be sequences of arrays (one per task)")
    if len(Xs) == 0:
        raise ValueError("Xs must hold at least one task")
    _v.check_same("Xs", len(Xs), "ys", len(ys), "number of tasks")
    w0 = _v.as_array(w0, "w0", ndim=1)
    N = w0.size
    Xo, yo = [], []
    for m, (X, y) in enumerate(zip(Xs, ys)):
        X = _v.as_array(X, f"Xs[{m}]", ndim=2, shape=(N, None))
        y = _v.as_array(y, f"ys[{m}]", ndim=1)
        _v.check_same(f"Xs[{m}]", X.shape[1], f"ys[{m}]", y.size, "number of samples")
        Xo.append(X)
        yo.append(y)
    return Xo, yo, w0


def _check_order(order, M: int) -> np.ndarray:
    o = np.asarray(order)
    if o.ndim != 1 or o.size == 0 or o.dtype.kind not in "iu":
        raise ValueError(f"order must be a non-empty 1-D sequence of task indices, got {_v.describe(order)}")
    if o.min() < 0 or o.max() >= M:
        raise ValueError(f"order must index tasks 0..{M - 1}, got values in [{o.min()}, {o.max()}]")
    return o.astype(int)


def sequential_regression(Xs, ys, w0, order) -> np.ndarray:
    r"""Weights after each task of ``order``, each trained to convergence from the previous weights.

    Gradient flow (or GD with a stable step) on ``L_m(w) = (1/2P_m)||X_m^T w - y_m||^2`` from ``w``
    changes ``w`` only within ``range(X_m)`` and converges to the solution nearest to ``w``:

    .. math:: w \leftarrow w + X_m^{\top +} (y_m - X_m^\top w)

    (the minimum-norm change; for realisable tasks an affine projection onto ``{w: X_m^T w = y_m}``;
    Evron, Moroshko, Ward, Srebro & Soudry 2022, eq. 3). ``Xs[m]`` (N, P_m) samples as columns,
    ``ys[m]`` (P_m,), ``w0`` (N,), ``order`` task indices. Returns (len(order), N); ``w0`` is not a row.
    """
    Xs, ys, w = _check_regression(Xs, ys, w0)
    o = _check_order(order, len(Xs))
    pinvs = {m: np.linalg.pinv(Xs[m].T) for m in np.unique(o)}
    out = np.empty((o.size, w.size))
    for k, m in enumerate(o):
        w = w + pinvs[m] @ (ys[m] - Xs[m].T @ w)
        out[k] = w
    return out


def regression_loss(Xs, ys, W) -> np.ndarray:
    r"""``L_m(w) = (1/2P_m) ||X_m^T w - y_m||^2`` for every task m and every row of ``W`` (..., N)
    -> (..., M)."""
    W = np.asarray(W, dtype=float)
    return np.stack([0.5 * np.mean((W @ X - y) ** 2, axis=-1) for X, y in zip(Xs, ys)], axis=-1)


def sequential_forgetting(Xs, ys, w0, order) -> np.ndarray:
    r"""Evron et al. (2022, def. 1) forgetting after k tasks, ``F(k) = (1/k) sum_{j<=k} L_{order_j}(w_k)``
    (with our loss ``(1/2P)||.||^2``; for realisable tasks every ``L_{order_k}(w_k) = 0``).
    Shape (len(order),)."""
    W = sequential_regression(Xs, ys, w0, order)
    Xs, ys, _ = _check_regression(Xs, ys, w0)
    L = regression_loss(Xs, ys, W)  # (K, M)
    o = _check_order(order, len(Xs))
    return np.array([np.mean(L[k, o[:k + 1]]) for k in range(o.size)])


def cyclic_order(n_tasks: int, k: int) -> np.ndarray:
    """``0, 1, ..., T-1, 0, 1, ...`` of length k."""
    n_tasks, k = _v.as_int(n_tasks, "n_tasks", low=1), _v.as_int(k, "k", low=1)
    return np.arange(k) % n_tasks


def random_order(n_tasks: int, k: int, seed: int = 0) -> np.ndarray:
    """k task indices drawn uniformly with replacement (Evron et al.'s random ordering)."""
    n_tasks, k = _v.as_int(n_tasks, "n_tasks", low=1), _v.as_int(k, "k", low=1)
    return np.random.default_rng(_v.as_seed(seed)).integers(0, n_tasks, size=k)


# ----------------------------------------------------------------------------- schemas
#: Feature lists of the new items, in the vocabulary of :func:`idealnets.theory.datasets.living_things`.
FEATURES_NEW_ITEM = {
    # schema-consistent: a generic bird (every property shared by robin and canary)
    "bird": ("ISA living thing", "ISA animal", "ISA bird", "is living", "can grow", "can move", "can fly",
             "has skin", "has wings", "has feathers"),
    # schema-inconsistent: a bird that swims and does not fly
    "penguin": ("ISA living thing", "ISA animal", "ISA bird", "is living", "can grow", "can move", "can swim",
                "has skin", "has wings", "has feathers"),
}


def new_item_tasks(kind: str) -> tuple[dict, list[str], list[str]]:
    r"""The living-things environment plus one new item (McClelland, McNaughton & O'Reilly 1995;
    McClelland, McNaughton & Lampinen 2020): inputs one-hot over 9 items (the 8 old ones and the new
    one), outputs the 8 items' features (:func:`idealnets.theory.datasets.living_things`).

    Returns ``(tasks, items, features)`` with tasks ``"old"`` (the 8 old items), ``"new"`` (the new
    item alone: ``Sxx = e_9 e_9^T``, no closed form, integrated) and ``"all"`` (the 9 items together:
    ``Sxx = I/9``, isotropic, closed form). ``kind`` is ``"bird"`` (schema-consistent) or
    ``"penguin"`` (inconsistent: can swim, cannot fly).
    """
    from .datasets import living_things

    kind = _v.as_choice(kind, "kind", tuple(FEATURES_NEW_ITEM))
    items, features, Y = living_things()
    y_new = np.array([1.0 if f in FEATURES_NEW_ITEM[kind] else 0.0 for f in features])
    X = np.eye(9)
    Y_all = np.hstack([Y, y_new[:, None]])
    tasks = {"old": (X[:, :8], Y), "new": (X[:, 8:], y_new[:, None]), "all": (X, Y_all)}
    return tasks, items + [kind], features


def crossing_time(t, L, level: float) -> float:
    r"""First time at which the sampled curve ``L(t)`` falls to ``level`` (linear interpolation in
    ``log L`` between samples; ``t`` increasing). ``np.inf`` if it never does within ``t``.
    :func:`idealnets.theory.measures.crossing_time` with ``direction="down"``, ``log_values=True``
    (which returns nan, not inf, for a curve that never gets there)."""
    t = _v.as_times(t, "t", allow_inf=False, increasing=True)
    L = _v.as_array(L, "L", shape=t.shape)
    level = _v.as_float(level, "level", low=0.0, open_low=True)
    if t.ndim != 1:
        raise ValueError(f"t must be 1-D, got shape {t.shape}")
    out = float(_core.crossing_time(t, L, level, up=False, log_values=True))
    return float("inf") if np.isnan(out) else out


def out_of_span_fraction(Y, y) -> float:
    r"""``||(I - P_Y) y||^2 / ||y||^2``: the part of a new item's targets ``y`` (N_out,) outside the span of
    the old items' targets ``Y`` (N_out, P). 0 means the new item is a combination of the existing output
    modes (schema-consistent in the linear sense); what lies outside needs a new mode, learned from scratch."""
    Y = _v.as_array(Y, "Y", ndim=2)
    y = _v.as_array(y, "y", ndim=1, shape=(Y.shape[0],))
    coef = np.linalg.lstsq(Y, y, rcond=None)[0]
    r = y - Y @ coef
    return float(r @ r / (y @ y)) if y @ y > 0 else 0.0


# ----------------------------------------------------------------------------- teacher-student continual learning
def teacher_pair(M: int, feature_similarity: float, readout_similarity: float) -> tuple[np.ndarray, np.ndarray,
                                                                                         np.ndarray]:
    r"""Overlaps of two soft-committee teachers (Lee, Goldt & Saxe 2021).

    Teacher 2's first-layer weights are ``w*2_m = gamma w*1_m + sqrt(1 - gamma^2) w_perp_m`` (feature
    similarity ``gamma``), so ``T11 = T22 = I``, ``T12 = gamma I``. Readouts: ``v*1 = 1`` (ones) and
    ``v*2 = eta v*1 + sqrt(1 - eta^2) v_perp`` with ``v_perp`` orthogonal to ``v*1`` and of the same norm
    (readout similarity ``eta``; needs M >= 2 unless ``eta = +-1``).
    Returns ``(T_joint (2M, 2M), v_star1 (M,), v_star2 (M,))``.
    """
    M = _v.as_int(M, "M", low=1)
    g = _v.as_float(feature_similarity, "feature_similarity", low=-1.0, high=1.0)
    eta = _v.as_float(readout_similarity, "readout_similarity", low=-1.0, high=1.0)
    I = np.eye(M)
    T = np.block([[I, g * I], [g * I, I]])
    v1 = np.ones(M)
    if M == 1:
        if abs(abs(eta) - 1) > 1e-12:
            raise ValueError(f"with M = 1 the readout similarity must be +-1, got {eta}")
        return T, v1, eta * v1
    perp = np.ones(M)
    perp[M // 2:] = -1.0
    if M % 2:
        perp[-1] = 0.0
    perp -= (perp @ v1) / (v1 @ v1) * v1
    perp *= np.linalg.norm(v1) / np.linalg.norm(perp)
    return T, v1, eta * v1 + np.sqrt(max(1 - eta**2, 0.0)) * perp


@dataclass
class TwoTeacherTrajectory:
    """Solution of :meth:`TwoTeacherODE.integrate`: ``alpha`` (A,), ``Q`` (A, K, K), ``R`` (A, K, 2M) (overlaps
    with teacher 1's then teacher 2's units), ``h1``, ``h2`` (A, K) the two heads, ``eps1``, ``eps2`` (A,) the
    generalisation errors on the two tasks, ``alpha_switch``."""

    alpha: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    h1: np.ndarray
    h2: np.ndarray
    eps1: np.ndarray
    eps2: np.ndarray
    alpha_switch: float

    def forgetting(self) -> float:
        """``eps1(end) - eps1(switch)``."""
        i = int(np.argmin(np.abs(self.alpha - self.alpha_switch)))
        return float(self.eps1[-1] - self.eps1[i])


class TwoTeacherODE:
    r"""Order-parameter ODEs of continual learning in the teacher-student setup (Lee, Goldt & Saxe 2021).

    Student: shared first layer ``w_k`` (K units), two heads ``h1``, ``h2``: ``phi_t(x) = sum_k h_t,k g(lambda_k)``.
    Teachers t = 1, 2: ``y_t = sum_m v*_t,m g(nu_t,m)`` (M units each), joint overlaps
    ``T_joint = [[T11, T12], [T12^T, T22]]`` (:func:`teacher_pair`). Phase 1 trains ``w`` and ``h1`` on teacher 1
    by online SGD for ``alpha_1``; phase 2 trains ``w`` and ``h2`` on teacher 2.

    **Reduction (ours).** Treat the 2M units of both teachers as one teacher of width 2M whose second
    layer is ``(v*1, 0)`` in phase 1 and ``(0, v*2)`` in phase 2: the student's dynamics and the overlaps
    ``R = [R1, R2]`` with *both* teachers then obey exactly the committee ODE of
    :class:`idealnets.theory.committee.CommitteeODE` (Saad & Solla 1995; Goldt et al. 2019) with ``K`` student
    units, ``2M`` teacher units and the trained head as ``v`` (the zero-weight units are spectators:
    they enter only through the overlaps of the Gaussian averages, the I3 term of ``dR``). The
    untrained head is constant. Errors: ``eps_t = generalisation_error(Q, R, T_joint, h_t, v*_t padded)``.
    For identical teachers (``T12 = T11``, ``v*2 = v*1``) ``T_joint`` is singular (positive semi-definite),
    which the integrals allow; the one-teacher class refuses singular ``T``, so the joint ``T`` is set on
    it after construction. The Gaussian integrals are those of :mod:`idealnets.theory.committee` (not copied).
    """

    def __init__(self, K: int, M: int, lr: float, T_joint, v_star1, v_star2, *, activation: str = "erf",
                 lr_v: float | None = None):
        from .committee import CommitteeODE

        self.K, self.M = _v.as_int(K, "K", low=1), _v.as_int(M, "M", low=1)
        self.lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
        self.lr_v = self.lr if lr_v is None else _v.as_float(lr_v, "lr_v", low=0.0)
        T = _v.as_array(T_joint, "T_joint", shape=(2 * self.M, 2 * self.M))
        if np.max(np.abs(T - T.T)) > 1e-12 * max(np.abs(T).max(), 1.0) or np.linalg.eigvalsh(T).min() < -1e-10:
            raise ValueError("T_joint must be symmetric positive semi-definite (a Gram matrix of teacher weights)")
        self.T = T
        self.v_star1 = _v.as_array(v_star1, "v_star1", shape=(self.M,))
        self.v_star2 = _v.as_array(v_star2, "v_star2", shape=(self.M,))
        z = np.zeros(self.M)
        self.u1, self.u2 = np.concatenate([self.v_star1, z]), np.concatenate([z, self.v_star2])
        self.activation = activation
        self._odes = []
        for u in (self.u1, self.u2):
            ode = CommitteeODE(self.K, 2 * self.M, self.lr, activation=activation, train_second_layer=True,
                               lr_v=self.lr_v, T=np.eye(2 * self.M), v_star=u)
            ode.T = T  # PSD joint overlaps (see the class docstring)
            self._odes.append(ode)

    def errors(self, Q, R, h1, h2) -> tuple[np.ndarray, np.ndarray]:
        """``(eps1, eps2)`` of (batched) order parameters."""
        from .committee import generalisation_error

        return (generalisation_error(Q, R, self.T, h1, self.u1, self.activation),
                generalisation_error(Q, R, self.T, h2, self.u2, self.activation))

    def integrate(self, Q0, R0, h1_0, h2_0, alpha_1: float, alpha_2: float, alpha_eval=None) -> TwoTeacherTrajectory:
        r"""Phase 1 for ``alpha_1`` then phase 2 for ``alpha_2`` from ``Q0`` (K, K), ``R0`` (K, 2M), heads (K,).
        ``alpha_eval``: increasing times in ``[0, alpha_1 + alpha_2]`` (default 100 per phase, log-spaced
        from each phase's start); the switch time is always included."""
        alpha_1 = _v.as_float(alpha_1, "alpha_1", low=0.0, open_low=True)
        alpha_2 = _v.as_float(alpha_2, "alpha_2", low=0.0, open_low=True)
        Q0 = _v.as_array(Q0, "Q0", shape=(self.K, self.K))
        R0 = _v.as_array(R0, "R0", shape=(self.K, 2 * self.M))
        h1 = _v.as_array(h1_0, "h1_0", shape=(self.K,))
        h2 = _v.as_array(h2_0, "h2_0", shape=(self.K,))
        if alpha_eval is None:
            a1 = np.concatenate([[0.0], np.geomspace(1e-2, alpha_1, 99)])
            a2 = alpha_1 + np.geomspace(1e-2, alpha_2, 100)
            alpha_eval = np.concatenate([a1, a2])
        a = _v.as_times(alpha_eval, "alpha_eval", allow_inf=False, increasing=True)
        if a.ndim != 1 or a.size == 0 or a[-1] > alpha_1 + alpha_2 * (1 + 1e-12):
            raise ValueError(f"alpha_eval must be 1-D within [0, alpha_1 + alpha_2 = {alpha_1 + alpha_2:g}]")
        a = np.unique(np.concatenate([a, [alpha_1]]))
        p1, p2 = a[a <= alpha_1], a[a > alpha_1] - alpha_1
        tr1 = self._odes[0].integrate(Q0, R0, h1, alpha_max=alpha_1, alpha_eval=p1)
        Qs, Rs, h1s = tr1.Q[-1], tr1.R[-1], tr1.v[-1]
        Q, R = [tr1.Q], [tr1.R]
        H1, H2 = [tr1.v], [np.broadcast_to(h2, tr1.v.shape)]
        if p2.size:
            tr2 = self._odes[1].integrate(Qs, Rs, h2, alpha_max=float(p2[-1]), alpha_eval=p2)
            Q.append(tr2.Q)
            R.append(tr2.R)
            H1.append(np.broadcast_to(h1s, tr2.v.shape))
            H2.append(tr2.v)
        Q, R, H1, H2 = (np.concatenate(x) for x in (Q, R, H1, H2))
        e1, e2 = self.errors(Q, R, H1, H2)
        return TwoTeacherTrajectory(a, Q, R, H1, H2, e1, e2, alpha_1)


# ----------------------------------------------------------------------------- gating
def overlapping_gates(n_gate: int, n_shared: int) -> tuple[int, dict]:
    r"""Two context gates over ``N_h = 2 n_gate - n_shared`` hidden units, each switching on ``n_gate`` of them,
    ``n_shared`` in common (pathway overlap ``n_shared / n_gate``). Returns ``(N_h, {"A": mask, "B": mask})``."""
    n_gate = _v.as_int(n_gate, "n_gate", low=1)
    n_shared = _v.as_int(n_shared, "n_shared", low=0, high=n_gate)
    n_h = 2 * n_gate - n_shared
    a = np.zeros(n_h, dtype=bool)
    b = np.zeros(n_h, dtype=bool)
    a[:n_gate] = True
    b[n_gate - n_shared:] = True
    return n_h, {"A": a, "B": b}


class GatedCurriculum:
    r"""Exact dynamics of a gated two-layer linear network through a curriculum of single tasks.

    Task k switches on the hidden units of its gate ``G_k`` (context-dependent gating, Masse et al. 2018;
    the gated deep linear network of Saxe, Sodhani & Lewallen 2022): ``yhat = W2 G_k W1 x`` on task k.
    **Reduction (ours, from the gradient):** ``dL_k/dW1 = -G_k W2^T (Syx - W2 G_k W1 Sxx)`` and
    ``dL_k/dW2 = -(Syx - W2 G_k W1 Sxx) W1^T G_k``, so while task k trains only the rows ``W1[S_k]`` and the
    columns ``W2[:, S_k]`` move, and they evolve as an ordinary two-layer network with hidden layer
    ``S_k``. The map of task j at any time is ``W2[:, S_j] W1[S_j]``: it changes during task k only through
    the shared units ``S_j & S_k``, so disjoint pathways do not interfere at all.

    **Where the closed form applies.** The closed form fixes the sub-network only up to a rotation of its
    hidden units, and a gate that covers *part* of ``S_k`` can see that rotation; gating also breaks the
    conservation of the cross blocks of ``B`` between gated-on and gated-off units. So a phase uses the
    closed form (a one-phase :class:`Curriculum` on the sub-network, which also needs isotropic inputs and
    a lambda-balanced sub-network) only when every gate contains ``S_k`` or is disjoint from it (disjoint
    or identical pathways); with partially overlapping pathways it integrates the sub-network's weight ODE
    in float64 (:func:`idealnets.theory.deep_linear.integrate_gradient_flow`). :attr:`methods` says which.

    ``gates``: dict task name -> boolean mask (N_h,). Schedule phases name single tasks.
    """

    def __init__(self, tasks, schedule, gates, W1_0, W2_0, *, tau: float = 1.0):
        self._base = _CurriculumBase(tasks, schedule, tau)
        b = self._base
        self.task_names, self.phases, self.boundaries = b.task_names, b.phases, b.boundaries
        self.switch_times, self.end_time, self.n_in, self.n_out = b.switch_times, b.end_time, b.n_in, b.n_out
        W1_0 = _v.as_array(W1_0, "W1_0", ndim=2, shape=(None, self.n_in))
        W2_0 = _v.as_array(W2_0, "W2_0", ndim=2, shape=(self.n_out, None))
        _v.check_same("W1_0", W1_0.shape[0], "W2_0", W2_0.shape[1], "hidden size")
        self.n_hidden = W1_0.shape[0]
        if not isinstance(gates, Mapping):
            raise TypeError(f"gates must be a dict task name -> boolean mask, got {_v.describe(gates)}")
        self.gates = {}
        for name in self.task_names:
            if name not in gates:
                raise ValueError(f"gates has no mask for task {name!r}")
            g = np.asarray(gates[name])
            if g.shape != (self.n_hidden,) or g.dtype != bool or not g.any():
                raise ValueError(f"gates[{name!r}] must be a boolean mask of shape ({self.n_hidden},) with at "
                                 f"least one unit on, got {_v.describe(gates[name])}")
            self.gates[name] = g
        self._tasks = {n: tasks[n] for n in self.task_names}
        self._subs, self._starts, self.methods = [], [(W1_0.copy(), W2_0.copy())], []
        for key, dur in self.phases:
            if len(key) != 1:
                raise ValueError(f"GatedCurriculum phases name single tasks, got the mixture {key}")
            if np.isinf(dur):
                raise ValueError("GatedCurriculum needs finite durations")
            g = self.gates[key[0]]
            W1, W2 = self._starts[-1]
            clean = all(not (h & g).any() or (h & g).sum() == g.sum() for h in self.gates.values())
            if clean:
                sub = Curriculum({key[0]: self._tasks[key[0]]}, [(key[0], dur)], W1[g], W2[:, g], tau=tau)
                self.methods.append(sub.methods[0])
            else:
                sub = ("ode", W1[g], W2[:, g], self._base._phase_stats[len(self._subs)], tau)
                self.methods.append("integrated")
            self._subs.append(sub)
            w1e, w2e = self._sub_weights(len(self._subs) - 1, np.array([dur]))
            w1e, w2e = w1e[0], w2e[0]
            W1n, W2n = W1.copy(), W2.copy()
            W1n[g], W2n[:, g] = w1e, w2e
            self._starts.append((W1n, W2n))

    def weights(self, t) -> tuple[np.ndarray, np.ndarray]:
        """Full ``(W1, W2)(t)`` (gated-off units frozen within each phase), shapes ``t.shape + (...)``;
        the trained sub-block is exact up to a rotation of its hidden units (as :class:`Curriculum`)."""
        t = self._base._times(t)
        flat = t.ravel()
        ph = self._base._locate(flat)
        W1 = np.empty((flat.size, self.n_hidden, self.n_in))
        W2 = np.empty((flat.size, self.n_out, self.n_hidden))
        for k in np.unique(ph):
            sel = ph == k
            g = self.gates[self.phases[k][0][0]]
            a, b = self._starts[k]
            W1[sel], W2[sel] = a, b
            w1, w2 = self._sub_weights(int(k), flat[sel] - self.boundaries[k])
            W1[np.ix_(sel, g)] = w1
            W2[np.ix_(sel, np.arange(self.n_out), g)] = w2
        return W1.reshape(*t.shape, *W1.shape[1:]), W2.reshape(*t.shape, *W2.shape[1:])

    def _sub_weights(self, k: int, s: np.ndarray):
        sub = self._subs[k]
        if isinstance(sub, Curriculum):
            return sub.weights(s)
        _, W1s, W2s, st, tau = sub
        u, inv = np.unique(s, return_inverse=True)
        grid = u if u[0] == 0 else np.concatenate([[0.0], u])
        W1, W2 = integrate_gradient_flow([W1s, W2s], st.Sxx, st.Syx, grid, tau=tau, rtol=1e-10, atol=1e-12)
        off = 0 if u[0] == 0 else 1
        return W1[off:][inv], W2[off:][inv]

    def map(self, t, task) -> np.ndarray:
        """The map of ``task`` through its gate, ``W2 G W1 (t)``, shape ``t.shape + (N_out, N_in)``."""
        key = _task_key(task, self.task_names, "task")
        if len(key) != 1:
            raise ValueError("map takes a single task")
        g = self.gates[key[0]]
        W1, W2 = self.weights(t)
        return W2[..., :, g] @ W1[..., g, :]

    def loss(self, t, task) -> np.ndarray:
        """Loss of ``task`` through its own gate at times ``t``, shape ``t.shape``."""
        return self._base.loss_of_map(self.map(t, task), task)
