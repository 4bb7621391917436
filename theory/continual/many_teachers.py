r"""Teacher-student continual learning with many tasks, switching schedules and replay.

A soft-committee student (K units, shared first layer ``w_k``) learns ``n_tasks`` soft-committee
teachers (M units each) by online SGD, one example a step (docs: Structured inputs and replay,
"Many tasks"). Heads: one per task (``heads="per_task"``, Lee, Goldt & Saxe 2021) or a single
shared head (``heads="shared"``). Which teacher labels the example of step ``mu`` is decided by a
:class:`TaskSchedule`: blocks of fixed lengths, periodic switching, or switching when the current
task's error falls below a threshold; with replay probability ``p`` the example comes instead from
an earlier task (uniformly among the distinct tasks trained before the current block).

**Order parameters.** ``Q = W W^T/N`` (K, K), ``R = W W*^T/N`` (K, n_tasks M) with the units of all
teachers side by side, the heads ``H`` (n_heads, K), and the constant ``T = W* W*^T/N`` of all
teachers (positive semi-definite). For task ``t`` write ``u_t = (h_{j(t)}, -v*_t`` padded with zeros
on the other teachers' units``)``, ``j(t)`` its head; the task's error is
``eps_t = (1/2) u_t^T I2(Omega) u_t`` (:func:`idealnets.theory.committee.generalisation_error`).

**Drift of one task (the committee ODE, Saad & Solla 1995; Goldt et al. 2019).** Training on task
``t`` is the committee ODE of :mod:`idealnets.theory.committee` for a teacher of width ``n_tasks M``
whose second layer is ``v*_t`` on its own units and zero on the others (the reduction that
:class:`idealnets.theory.continual.two_teachers.TwoTeacherODE` makes for two tasks). With the
trainable-unit mask ``m_k`` (0 for a frozen unit; all 0 for heads-only training) the backward-pass
prefactors are ``b_k = m_k h_{j(t),k}``:

.. math::

    f^R_{t,km} = -\eta\, b_k \sum_c u_{t,c} I_3(k, m, c), \qquad
    f^Q_{t,kl} = -\eta\, b_k \sum_c u_{t,c} I_3(k, l, c) - \eta\, b_l \sum_c u_{t,c} I_3(l, k, c)
        + \eta^2 b_k b_l \Big[\sum_{c,e} u_{t,c} u_{t,e} I_4(k, l, c, e) + \sigma^2 J_2(k, l)\Big],

    f^{h_{j(t)}}_{t,k} = -\eta_v \sum_c u_{t,c} I_2(k, c)

(zero for the other heads). A frozen unit keeps ``w_k``: its rows of ``dR`` and the terms of
``dQ`` that come from its own update vanish, which is what ``m_k = 0`` does (ours).

**Replay: the drift is a mixture (ours).** At each step the task is drawn independently of the
past with probabilities ``pi_t(alpha)``: ``1 - p`` for the current task and ``p / n_earlier`` for each
earlier one (``pi`` = the current task alone when there is no earlier task or ``p = 0``). The
increment of any order parameter over one step, ``N d Q = F_Q(x, tau)``, has conditional mean
``E[F_Q | state] = sum_t pi_t E[F_Q | state, tau = t] = sum_t pi_t f^Q_t`` (the law of total
expectation over the task ``tau``, which is independent of the input ``x`` and of the state);
the fluctuations stay O(N^-1/2) per unit of ``alpha`` exactly as for one task (their variance is
bounded by the largest single-task variance). Hence, for ``N -> inf``,

.. math:: \frac{d(Q, R, H)}{d\alpha} = \sum_t \pi_t(\alpha)\, f_t(Q, R, H).

The ``eta^2`` term mixes the same way (it is part of ``E[F_Q | tau = t]``): the mixture of the
second moments, not the second moment of the mixed gradient. With a shared head every task's
drift moves the same head. The Gaussian averages ``I3``, ``I4`` of the joint covariance are
computed once per right-hand-side evaluation and contracted with each task's ``u_t``, so replay
costs no more integrals than a single task.

**Schedules.** Within a block ``pi`` is constant and the ODE is integrated with SciPy's DOP853 at
the tolerances of :data:`idealnets.theory.committee.ODE_RTOL`; switches at fixed times end a block
exactly there; threshold switching ends a block at the root of ``eps_current(alpha) - threshold``,
located by the integrator's event finder on its dense output (to the integrator's own accuracy,
not to the resolution of the output grid). A task already below the threshold when its block
begins is passed over at once (a block of length zero).

**Limits (tests/test_many_teachers.py).** Two tasks in blocks, one head each, no replay, all units
trained: :class:`TwoTeacherODE` (rates equal to 1e-13, trajectories to the integrators'
tolerance); one task: :class:`idealnets.theory.committee.CommitteeODE`; replay ``p`` with identical
teachers: the single-task ODE; the mixture drift vs its definition (the average of separate rates).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from .. import validation as _v
from .._gaussian import i3 as _gi3, i4 as _gi4, j2 as _gj2, pair_i2 as _gpair_i2
from ..committee import ACTIVATIONS, ODE_ATOL, ODE_RTOL

__all__ = ["TaskSchedule", "MultiTeacherODE", "MultiTeacherTrajectory", "teacher_family", "MAX_TASKS",
           "MAX_BLOCKS"]

#: largest number of tasks (and of blocks in a schedule) accepted
MAX_TASKS = 64
MAX_BLOCKS = 100_000
#: largest |order parameter| before the integration is declared divergent
BLOW_UP = 1e6
HEADS = ("per_task", "shared")


# ---------------------------------------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TaskSchedule:
    r"""Which task trains when, and how often earlier tasks are replayed.

    Build with :meth:`blocks`, :meth:`periodic` or :meth:`until_threshold`. Fields: ``order`` (the task of
    each block, in turn), ``durations`` (the length in ``alpha`` of each block, or None for
    threshold switching), ``threshold`` (switch when the current task's error falls to it, or
    None), ``alpha_max`` (total length), ``replay`` (probability ``p`` in [0, 1) that a step's example
    comes from an earlier task instead of the current one).
    """

    order: tuple
    durations: tuple | None
    threshold: float | None
    alpha_max: float
    replay: float = 0.0

    @classmethod
    def blocks(cls, order, durations, *, replay: float = 0.0) -> "TaskSchedule":
        """Block ``i`` trains task ``order[i]`` for ``durations[i]`` (alpha units); ends at their sum."""
        order = _order(order)
        d = _v.as_array(durations, "durations", ndim=1, low=0.0)
        if d.size != len(order):
            raise ValueError(f"durations must have one entry per block ({len(order)}), got {d.size}")
        if not (d > 0).all():
            raise ValueError(f"durations must all be > 0, got {d.tolist()}")
        return cls(order, tuple(float(x) for x in d), None, float(d.sum()),
                   _v.as_float(replay, "replay", low=0.0, high=1.0, open_high=True))

    @classmethod
    def periodic(cls, tasks, period: float, alpha_max: float, *, replay: float = 0.0) -> "TaskSchedule":
        """Cycle through ``tasks`` (e.g. ``(0, 1)``: back and forth) in blocks of length ``period`` until
        ``alpha_max`` (the last block is cut there)."""
        tasks = _order(tasks)
        period = _v.as_float(period, "period", low=0.0, open_low=True)
        alpha_max = _v.as_float(alpha_max, "alpha_max", low=0.0, open_low=True)
        n = int(np.ceil(alpha_max / period - 1e-12))
        if n > MAX_BLOCKS:
            raise ValueError(f"alpha_max / period = {alpha_max / period:g} blocks exceeds MAX_BLOCKS = {MAX_BLOCKS}")
        order = tuple(tasks[i % len(tasks)] for i in range(n))
        d = [period] * n
        d[-1] = alpha_max - period * (n - 1)
        return cls(order, tuple(d), None, alpha_max, _v.as_float(replay, "replay", low=0.0, high=1.0,
                                                                  open_high=True))

    @classmethod
    def until_threshold(cls, order, threshold: float, alpha_max: float, *, replay: float = 0.0) -> "TaskSchedule":
        """Train ``order[0]`` until its error falls to ``threshold``, then ``order[1]``, ...; the last task
        trains until ``alpha_max``. A task already at or below the threshold is passed over."""
        order = _order(order)
        thr = _v.as_float(threshold, "threshold", low=0.0, open_low=True)
        alpha_max = _v.as_float(alpha_max, "alpha_max", low=0.0, open_low=True)
        return cls(order, None, thr, alpha_max, _v.as_float(replay, "replay", low=0.0, high=1.0, open_high=True))

    @property
    def n_tasks_used(self) -> int:
        """``max(order) + 1``: the tasks the schedule refers to."""
        return max(self.order) + 1

    def mixture(self, block: int, n_tasks: int) -> np.ndarray:
        r"""Probabilities ``pi`` (n_tasks,) of the task of a step in block ``block``: ``1 - p`` for the current
        task, ``p / n_earlier`` for each distinct task trained in an earlier block (other than the current)."""
        cur = self.order[block]
        earlier = sorted({t for t in self.order[:block]} - {cur})
        pi = np.zeros(n_tasks)
        if earlier and self.replay > 0:
            pi[cur] = 1.0 - self.replay
            pi[earlier] += self.replay / len(earlier)
        else:
            pi[cur] = 1.0
        return pi


def _order(order) -> tuple:
    a = np.asarray(order)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"the task order must be a non-empty 1-D sequence of task indices, got {order!r}")
    if a.size > MAX_BLOCKS:
        raise ValueError(f"at most MAX_BLOCKS = {MAX_BLOCKS} blocks, got {a.size}")
    out = tuple(_v.as_int(x, "task index", low=0, high=MAX_TASKS - 1) for x in a.tolist())
    return out


# ---------------------------------------------------------------------------------------------------------
# Teachers
# ---------------------------------------------------------------------------------------------------------

def teacher_family(n_tasks: int, M: int, feature_similarity: float, readout_similarity: float = 1.0):
    r"""Overlaps of ``n_tasks`` teachers with pairwise feature similarity ``gamma`` and readout similarity ``eta``.

    ``w*_t,m = sqrt(gamma) c_m + sqrt(1 - gamma) z_t,m`` (a common part ``c`` and a private one), so
    ``T_tt = I`` and ``T_ts = gamma I`` for ``t != s`` (needs ``gamma >= 0``; for two tasks this is
    :func:`idealnets.theory.continual.teacher_pair`'s ``T``). Readouts: ``v*_t = eta 1 + sqrt(1 - eta^2)
    v_perp,t`` where ``v_perp,t`` is a different unit-norm-times-sqrt(M) vector orthogonal to ``1`` for each
    task (the task-2 readout of :func:`teacher_pair` for two tasks). Returns ``(T (nM, nM), v_stars (n, M))``.
    """
    from .two_teachers import teacher_pair

    n = _v.as_int(n_tasks, "n_tasks", low=1, high=MAX_TASKS)
    M = _v.as_int(M, "M", low=1)
    g = _v.as_float(feature_similarity, "feature_similarity", low=0.0, high=1.0)
    eta = _v.as_float(readout_similarity, "readout_similarity", low=-1.0, high=1.0)
    T = np.kron(g * np.ones((n, n)) + (1 - g) * np.eye(n), np.eye(M))
    _, v1, v2 = teacher_pair(M, 0.0, eta)
    vs = [v1] + [v2] * (n - 1)
    if n > 2 and abs(eta) < 1 and M >= 3:  # rotate the orthogonal part among tasks (a different one per task)
        rng = np.random.default_rng(12345)
        perp = v2 - eta * v1
        basis = np.linalg.qr(np.column_stack([v1, rng.standard_normal((M, M - 1))]))[0][:, 1:]
        vs = [v1]
        for t in range(1, n):
            d = basis @ rng.standard_normal(M - 1)
            d *= np.linalg.norm(perp) / max(np.linalg.norm(d), 1e-300)
            vs.append(eta * v1 + d)
    return T, np.array(vs)


# ---------------------------------------------------------------------------------------------------------
# The ODE
# ---------------------------------------------------------------------------------------------------------

@dataclass
class MultiTeacherTrajectory:
    """Solution of :meth:`MultiTeacherODE.integrate`.

    ``alpha`` (A,); ``Q`` (A, K, K); ``R`` (A, K, n_tasks M) (teacher 0's units first); ``H`` (A, n_heads, K);
    ``eps`` (A, n_tasks) the error of each task with its head; ``current`` (A,) the task trained at each
    time (the new one at a switch); ``switch_alpha`` (B,) the start of each block and ``block_task`` (B,)
    its task (threshold schedules: the blocks that were reached).
    """

    alpha: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    H: np.ndarray
    eps: np.ndarray
    current: np.ndarray
    switch_alpha: np.ndarray
    block_task: np.ndarray

    def at(self, alpha: float) -> int:
        """Index of the output time nearest ``alpha``."""
        return int(np.argmin(np.abs(self.alpha - float(alpha))))

    def forgetting(self, task: int, alpha_from: float, alpha_to: float | None = None) -> float:
        """``eps_task(alpha_to) - eps_task(alpha_from)`` at the nearest output times (``alpha_to``: the end)."""
        j = self.alpha.size - 1 if alpha_to is None else self.at(alpha_to)
        return float(self.eps[j, task] - self.eps[self.at(alpha_from), task])


class MultiTeacherODE:
    r"""Order-parameter ODE of online SGD on many teacher tasks under a :class:`TaskSchedule` (module docstring).

    Parameters
    ----------
    K, M : student and teacher widths; ``lr`` (> 0) the first layer's learning rate, ``lr_v`` (>= 0, default
        ``lr``) the heads'.
    T : (n_tasks M, n_tasks M) overlaps of all teachers' units (symmetric positive semi-definite; teacher 0's
        units first). ``v_stars`` : (n_tasks, M) the teachers' readouts.
    heads : ``"per_task"`` (head t for task t) or ``"shared"`` (one head for every task).
    activation : ``"erf"``, ``"linear"`` or ``"relu"``; ``noise`` the label-noise standard deviation.
    frozen : None or a (K,) boolean mask (or a list of unit indices) of first-layer units that do not train.
    train_first_layer : False trains the heads only (every unit frozen).
    train_heads : False keeps the heads fixed.
    """

    def __init__(self, K: int, M: int, lr: float, T, v_stars, *, heads: str = "per_task", activation: str = "erf",
                 lr_v: float | None = None, noise: float = 0.0, frozen=None, train_first_layer: bool = True,
                 train_heads: bool = True):
        self.K = _v.as_int(K, "K", low=1, high=4096)
        self.M = _v.as_int(M, "M", low=1, high=4096)
        self.lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
        self.lr_v = self.lr if lr_v is None else _v.as_float(lr_v, "lr_v", low=0.0)
        self.activation = _v.as_choice(activation, "activation", ACTIVATIONS)
        self.heads = _v.as_choice(heads, "heads", HEADS)
        self.noise = _v.as_float(noise, "noise", low=0.0)
        vs = _v.as_array(v_stars, "v_stars", ndim=(1, 2))
        vs = vs.reshape(1, -1) if vs.ndim == 1 else vs
        if vs.shape[1] != self.M or not 1 <= vs.shape[0] <= MAX_TASKS:
            raise ValueError(f"v_stars must be (n_tasks, M = {self.M}) with 1 <= n_tasks <= {MAX_TASKS}, "
                             f"got shape {vs.shape}")
        self.v_stars = vs
        self.n_tasks = n = vs.shape[0]
        T = _v.as_array(T, "T", shape=(n * self.M, n * self.M))
        scale = max(np.abs(T).max(), 1.0)
        if np.max(np.abs(T - T.T)) > 1e-12 * scale or np.linalg.eigvalsh(T).min() < -1e-10 * scale:
            raise ValueError("T must be symmetric positive semi-definite (the Gram matrix of all teachers' units), "
                             f"shape ({n * self.M}, {n * self.M})")
        self.T = 0.5 * (T + T.T)
        self.train_first_layer = _v.as_bool(train_first_layer, "train_first_layer")
        self.train_heads = _v.as_bool(train_heads, "train_heads")
        mask = np.ones(self.K)
        if frozen is not None:
            f = np.asarray(frozen)
            if f.dtype == bool:
                if f.shape != (self.K,):
                    raise ValueError(f"frozen as a mask must have shape ({self.K},), got {f.shape}")
                mask[f] = 0.0
            else:
                for k in np.atleast_1d(f).tolist():
                    mask[_v.as_int(k, "frozen unit", low=0, high=self.K - 1)] = 0.0
        if not self.train_first_layer:
            mask[:] = 0.0
        self.mask = mask
        self.n_heads = n if self.heads == "per_task" else 1
        self.head_of = np.arange(n) if self.heads == "per_task" else np.zeros(n, dtype=int)
        self.U_star = np.zeros((n, n * self.M))  # padded teacher readouts
        for t in range(n):
            self.U_star[t, t * self.M:(t + 1) * self.M] = vs[t]
        self._iu = np.triu_indices(self.K)
        self.n_q = len(self._iu[0])
        self.n_state = self.n_q + self.K * n * self.M + self.n_heads * self.K

    # --- packing ------------------------------------------------------------------------------------------
    def pack(self, Q, R, H) -> np.ndarray:
        """State vector ``[triu(Q), R.ravel(), H.ravel()]``."""
        return np.concatenate([np.asarray(Q, float)[self._iu], np.asarray(R, float).ravel(),
                               np.asarray(H, float).ravel()])

    def unpack(self, y):
        """Inverse of :meth:`pack`, on (..., n_state) arrays: ``(Q, R, H)``."""
        y = np.asarray(y, dtype=float)
        K, P = self.K, self.n_tasks * self.M
        lead = y.shape[:-1]
        Q = np.zeros(lead + (K, K))
        Q[..., self._iu[0], self._iu[1]] = y[..., :self.n_q]
        Q[..., self._iu[1], self._iu[0]] = y[..., :self.n_q]
        R = y[..., self.n_q:self.n_q + K * P].reshape(lead + (K, P))
        H = y[..., self.n_q + K * P:].reshape(lead + (self.n_heads, K))
        return Q, R, H

    def _omega(self, Q, R):  # [[Q, R], [R^T, T]], assembled in place (np.block's value, at less cost)
        K = self.K
        Om = np.empty((K + self.T.shape[0],) * 2)
        Om[:K, :K], Om[:K, K:], Om[K:, :K], Om[K:, K:] = Q, R, R.T, self.T
        return Om

    def _u(self, H, t):
        return np.concatenate([H[self.head_of[t]], -self.U_star[t]])

    # --- rates ----------------------------------------------------------------------------------------------
    def task_rates(self, Q, R, H, task: int):
        """``(dQ, dR, dH)`` of training on ``task`` alone (one state, no validation)."""
        return self.rates(Q, R, H, np.eye(self.n_tasks)[int(task)])

    def rates(self, Q, R, H, pi):
        r"""``(dQ, dR, dH)`` of the mixture ``pi`` (n_tasks,) of the tasks' drifts (module docstring)."""
        K, act = self.K, self.activation
        Om = self._omega(Q, R)
        d = np.diag(Om)
        dk = d[:K]
        I3 = _gi3(dk[:, None, None], Om[:K, :, None], Om[:K, None, :], Om[None, :, :], d[None, None, :], act)
        Okl = Om[:K, :K]
        active = [t for t in range(self.n_tasks) if pi[t] > 0]
        dQ = np.zeros((K, K))
        dR = np.zeros((K, R.shape[1]))
        dH = np.zeros_like(H)
        need_i4 = self.mask.any()
        if need_i4:
            I4 = _gi4(dk[:, None, None, None], Okl[:, :, None, None], Om[:K, None, :, None], Om[:K, None, None, :],
                      dk[None, :, None, None], Om[None, :K, :, None], Om[None, :K, None, :],
                      d[None, None, :, None], Om[None, None, :, :], d[None, None, None, :], act)
            J2n = self.noise ** 2 * _gj2(dk[:, None], Okl, dk[None, :], act) if self.noise > 0 else 0.0
        I2 = _gpair_i2(Om, act)[:K] if self.train_heads and self.lr_v > 0 else None
        lr = self.lr
        for t in active:
            u = self._u(H, t)
            j = self.head_of[t]
            if need_i4:
                b = self.mask * H[j]
                A = np.einsum("kbc,c->kb", I3, u)
                D2 = np.einsum("klce,c,e->kl", I4, u, u) + J2n
                X = b[:, None] * A[:, :K]
                dR += pi[t] * (-lr * b[:, None] * A[:, K:])
                dQ += pi[t] * (-lr * (X + X.T) + lr ** 2 * np.outer(b, b) * D2)
            if I2 is not None:
                dH[j] += pi[t] * (-self.lr_v * (I2 @ u))
        return dQ, dR, dH

    def errors(self, Q, R, H) -> np.ndarray:
        """``eps`` (..., n_tasks): each task's generalisation error with its head, for (batched) order
        parameters ``Q`` (..., K, K), ``R`` (..., K, n_tasks M), ``H`` (..., n_heads, K)."""
        Q, R, H = (np.asarray(a, dtype=float) for a in (Q, R, H))
        lead = Q.shape[:-2]
        K, P = self.K, self.n_tasks * self.M
        T = np.broadcast_to(self.T, lead + (P, P))
        Om = np.concatenate([np.concatenate([Q, R], -1), np.concatenate([np.swapaxes(R, -1, -2), T], -1)], -2)
        I2 = _gpair_i2(Om, self.activation)
        out = np.empty(lead + (self.n_tasks,))
        for t in range(self.n_tasks):
            u = np.concatenate([H[..., self.head_of[t], :], np.broadcast_to(-self.U_star[t], lead + (P,))], -1)
            out[..., t] = 0.5 * np.einsum("...a,...ab,...b->...", u, I2, u)
        return out

    def _eps_task(self, y, t):
        Q, R, H = self.unpack(y)
        u = self._u(H, t)
        return 0.5 * u @ _gpair_i2(self._omega(Q, R), self.activation) @ u

    # --- validation ------------------------------------------------------------------------------------------
    def check_initial(self, Q0, R0, H0):
        """Validate ``Q0`` (K, K), ``R0`` (K, n_tasks M), ``H0`` (n_heads, K) or (K,) (every head the same)."""
        K, P = self.K, self.n_tasks * self.M
        Q0 = _v.as_array(Q0, "Q0", shape=(K, K))
        if np.max(np.abs(Q0 - Q0.T)) > 1e-10 * max(np.abs(Q0).max(), 1.0):
            raise ValueError("Q0 must be symmetric")
        Q0 = 0.5 * (Q0 + Q0.T)
        R0 = _v.as_array(R0, "R0", shape=(K, P))
        H0 = _v.as_array(H0, "H0", ndim=(1, 2))
        if H0.ndim == 1:
            if H0.shape != (K,):
                raise ValueError(f"H0 must be (n_heads = {self.n_heads}, K = {K}) or (K,), got {H0.shape}")
            H0 = np.tile(H0, (self.n_heads, 1))
        elif H0.shape != (self.n_heads, K):
            raise ValueError(f"H0 must be (n_heads = {self.n_heads}, K = {K}) or (K,), got {H0.shape}")
        if np.linalg.eigvalsh(Q0).min() <= 0:
            raise ValueError("Q0 must be positive definite (a Gram matrix W W^T / N of K independent vectors)")
        Om = self._omega(Q0, R0)
        if np.linalg.eigvalsh(Om).min() < -1e-10 * max(np.abs(Om).max(), 1.0):
            raise ValueError("[[Q0, R0], [R0^T, T]] is not positive semi-definite: no weights have these overlaps")
        if max(np.abs(Q0).max(), np.abs(R0).max(), np.abs(H0).max()) >= BLOW_UP:
            raise ValueError(f"the initial order parameters must be below {BLOW_UP:g} in magnitude")
        return Q0, R0, H0

    # --- integration -------------------------------------------------------------------------------------------
    def integrate(self, Q0, R0, H0, schedule: TaskSchedule, alpha_eval=None, *, rtol: float = ODE_RTOL,
                  atol: float = ODE_ATOL) -> MultiTeacherTrajectory:
        """Integrate from ``(Q0, R0, H0)`` through ``schedule``; the state at ``alpha_eval`` (increasing times in
        ``[0, schedule.alpha_max]``; default 0 and 300 log-spaced times to ``alpha_max``). Every block start is
        added to the output times. Raises :class:`~idealnets.theory.validation.DivergenceError` when the order
        parameters blow up (lr too large)."""
        if not isinstance(schedule, TaskSchedule):
            raise TypeError(f"schedule must be a TaskSchedule, got {type(schedule).__name__}")
        if schedule.n_tasks_used > self.n_tasks:
            raise ValueError(f"the schedule refers to task {schedule.n_tasks_used - 1}, but there are only "
                             f"{self.n_tasks} teachers")
        Q0, R0, H0 = self.check_initial(Q0, R0, H0)
        rtol = _v.as_float(rtol, "rtol", low=0.0, open_low=True)
        atol = _v.as_float(atol, "atol", low=0.0, open_low=True)
        amax = schedule.alpha_max
        if alpha_eval is None:
            alpha_eval = np.concatenate([[0.0], np.geomspace(min(1e-2, amax), amax, 300)])
        a = _v.as_times(alpha_eval, "alpha_eval", allow_inf=False, increasing=True)
        if a.ndim != 1 or a.size == 0 or a[-1] > amax * (1 + 1e-12):
            raise ValueError(f"alpha_eval must be 1-D, increasing, within [0, alpha_max = {amax:g}]")
        a = np.minimum(a, amax)
        if schedule.durations is not None:  # the block starts are output times too
            a = np.unique(np.concatenate([a, np.minimum(np.cumsum((0.0,) + schedule.durations[:-1]), amax)]))
        y = self.pack(Q0, R0, H0)
        outs_t, outs_y, outs_c = [], [], []
        starts, tasks = [], []
        alpha, block = 0.0, 0
        n_blocks = len(schedule.order)
        while True:
            t = schedule.order[block]
            pi = schedule.mixture(block, self.n_tasks)
            last = block == n_blocks - 1
            event = None
            if schedule.durations is not None:
                end = amax if last else min(alpha + schedule.durations[block], amax)
            else:
                end = amax
                if not last:
                    event = self._threshold_event(t, schedule.threshold)
                    if self._eps_task(y, t) <= schedule.threshold:
                        starts.append(alpha)
                        tasks.append(t)
                        block += 1
                        continue  # already learned: passed over (a block of length zero)
            starts.append(alpha)
            tasks.append(t)
            sel = (a >= alpha) & ((a <= end) if (last or end >= amax) else (a < end))
            te = a[sel]
            y_end, t_stop, Yt, done = self._segment(y, alpha, end, te, pi, event, rtol, atol)
            outs_t.append(te[done])
            outs_y.append(Yt)
            outs_c.append(np.full(int(done.sum()), t))
            if t_stop < end:  # a threshold switch: its time and state are an output too
                outs_t.append(np.array([t_stop]))
                outs_y.append(y_end[None])
                outs_c.append(np.array([schedule.order[block + 1]]))
            y, alpha = y_end, t_stop
            if last or alpha >= amax:
                break
            block += 1
        tt = np.concatenate(outs_t)
        YY = np.concatenate(outs_y)
        cc = np.concatenate(outs_c).astype(int)
        o = np.argsort(tt, kind="stable")
        tt, YY, cc = tt[o], YY[o], cc[o]
        Q, R, H = self.unpack(YY)
        return MultiTeacherTrajectory(tt, Q, R, H, self.errors(Q, R, H), cc, np.array(starts),
                                      np.array(tasks, dtype=int))

    def _threshold_event(self, t, thr):
        def ev(alpha, y):
            return self._eps_task(y, t) - thr
        ev.terminal = True
        ev.direction = -1
        return ev

    def _segment(self, y, a0, a1, te, pi, event, rtol, atol):
        """Integrate one block from ``a0`` towards ``a1`` (stopping at ``event``). Returns the end state, the
        end time, the states at the output times reached and a mask of which of ``te`` were reached."""
        def rhs(alpha, yy):
            Q, R, H = self.unpack(yy)
            dQ, dR, dH = self.rates(Q, R, H, pi)
            out = self.pack(dQ, dR, dH)
            if not np.isfinite(out).all():
                raise _v.DivergenceError(f"the ODE rates became non-finite at alpha = {alpha:.4g} (lr = {self.lr:g})")
            return out

        def blow(alpha, yy):
            return BLOW_UP - np.abs(yy).max()
        blow.terminal = True
        events = [blow] + ([event] if event is not None else [])
        if a1 <= a0:
            return y, a0, np.repeat(y[None], te.size, 0), np.ones(te.size, bool)
        t_eval = np.unique(np.concatenate([te, [a1]]))
        t_eval = t_eval[(t_eval >= a0) & (t_eval <= a1)]
        sol = solve_ivp(rhs, (a0, a1), y, method="DOP853", t_eval=t_eval, rtol=rtol, atol=atol, events=events,
                        dense_output=False)
        if sol.status == 1 and len(sol.t_events[0]):
            raise _v.DivergenceError(f"the order parameters exceeded {BLOW_UP:g} at alpha = {sol.t_events[0][0]:.4g}"
                                     f" (lr = {self.lr:g}): lower the learning rate")
        if not sol.success:
            raise RuntimeError(f"solve_ivp failed: {sol.message}")
        if sol.status == 1:  # threshold reached
            t_stop = float(sol.t_events[1][0])
            y_end = sol.y_events[1][0]
        else:
            t_stop, y_end = a1, sol.y[:, -1]
        done = te < t_stop if sol.status == 1 else te <= a1
        idx = np.searchsorted(sol.t, te[done])
        if idx.size and (idx.max() >= sol.t.size or not np.array_equal(sol.t[idx], te[done])):
            raise RuntimeError("internal error: the integrator's output times do not match the requested ones")
        return y_end, t_stop, sol.y.T[idx], done
