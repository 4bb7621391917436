r"""Exact gradient flow of shallow and two-layer linear networks through a curriculum of tasks.

:class:`ShallowCurriculum` (closed form for every phase) and :class:`Curriculum` (chained
lambda-balanced closed forms where a phase's input is isotropic, the float64 integrator elsewhere);
see :mod:`idealnets.theory.continual` for the model and where the closed form is exact. Also the
interference measures of a two-phase curriculum and two-task builders with controlled similarity.
"""
from __future__ import annotations

import numpy as np

from .. import _core
from .. import validation as _v
from ..deep_linear import integrate_gradient_flow
from ..lambda_balanced import BALANCE_RTOL, TwoLayerExact
from .schedules import CurriculumBase

__all__ = [
    "ISOTROPY_RTOL",
    "ShallowCurriculum",
    "Curriculum",
    "forgetting",
    "interference",
    "item_tasks",
    "whitened_pair",
    "shallow_item_forgetting",
]

#: A phase counts as isotropic (closed form applies) when ``max|Sxx - c I| <= ISOTROPY_RTOL * c``.
ISOTROPY_RTOL = 1e-10


class ShallowCurriculum(CurriculumBase):
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


class Curriculum(CurriculumBase):
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
        self.lam = float(np.trace(_core.balancedness([W1_0, W2_0])[0]) / self.n_hidden)  # the best lambda
        self.methods: list[str] = []
        self._solvers: list = []
        self._starts = [(W1_0.copy(), W2_0.copy())]
        for k, ((key, dur), st) in enumerate(zip(self.phases, self._phase_stats)):
            W1, W2 = self._starts[-1]
            c = float(np.trace(st.Sxx)) / self.n_in
            iso = c > 0 and np.max(np.abs(st.Sxx - c * np.eye(self.n_in))) <= ISOTROPY_RTOL * c
            dev = np.max(np.abs(_core.balancedness([W1, W2])[0] - self.lam * np.eye(self.n_hidden)))
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
#: largest n of item_tasks/whitened_pair (their tasks hold n x n matrices)
MAX_N = 4096


def _check_curriculum(curriculum) -> None:
    if not isinstance(curriculum, CurriculumBase):
        raise TypeError(f"curriculum must be a Curriculum, ShallowCurriculum or GatedCurriculum, got "
                        f"{_v.describe(curriculum)}")


def forgetting(curriculum: CurriculumBase, task, t_switch: float, t) -> np.ndarray:
    r"""Forgetting ``F(t) = L_task(t) - L_task(t_switch)`` (positive = interference), shape ``t.shape``."""
    _check_curriculum(curriculum)
    t_switch = _v.as_float(t_switch, "t_switch", low=0.0)
    return curriculum.loss(t, task) - curriculum.loss(np.array(t_switch), task)


def interference(curriculum: CurriculumBase, first, second) -> dict[str, float]:
    r"""Interference measures of a two-phase curriculum ``first`` then ``second`` (switch at ``t_s``,
    end ``T``; losses, so smaller is better):

    * ``forgetting = L_first(T) - L_first(t_s)`` (> 0: learning ``second`` undid ``first``),
    * ``backward_transfer = L_first(t_s) - L_first(T)`` (Lopez-Paz & Ranzato 2017, with losses: = -forgetting),
    * ``forward_transfer = L_second(0) - L_second(t_s)`` (how much learning ``first`` already did for ``second``),
    * ``final_loss_first``, ``final_loss_second``.
    """
    _check_curriculum(curriculum)
    if len(curriculum.switch_times) != 1:
        raise ValueError(f"interference needs a two-phase curriculum, got {len(curriculum.phases)} phases")
    if first == second:
        raise ValueError(f"interference needs two different tasks, got first = second = {first!r}")
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
    n_in = _v.as_int(n_in, "n_in", low=2, high=MAX_N)
    n_out = _v.as_int(n_out, "n_out", low=2, high=MAX_N)
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
    n = _v.as_int(n, "n", low=2, high=MAX_N)
    # item_tasks maps v_k (X1, one column) to s_k u_k (Y1): U = s_k u_k with singular value 1 gives Y1 X1^T exactly
    return {name: _core.whitened_task(n, n, np.ones(1), None, n, Y1, X1, "identity")
            for name, (X1, Y1) in item_tasks(n, n, s_a, s_b, theta_u, theta_v).items()}


def shallow_item_forgetting(s_a: float, s_b: float, cos_u, cos_v) -> np.ndarray:
    r"""Asymptotic forgetting of task A after training task B to convergence, shallow network,
    single-item tasks of :func:`item_tasks`, starting from ``W = s_a u_A v_A^T`` (A learned from zero):

    .. math:: F = \tfrac12 \cos^2\theta_v \,\| s_b u_B - s_a \cos\theta_v\, u_A \|^2
              = \tfrac12 c_v^2 (s_b^2 - 2 s_a s_b c_u c_v + s_a^2 c_v^2)

    (ours: B's gradient flow moves only ``W v_B``, by ``(s_b u_B - W v_B) v_B^T``). It vanishes for
    orthogonal inputs (``c_v = 0``) and for a *consistent* B (``s_b u_B = W_A v_B``); for fixed
    ``s_b/s_a`` it is largest at ``c_v = +-1`` with opposite outputs (``c_u c_v = -1``)."""
    s_a, s_b = _v.as_float(s_a, "s_a", low=0.0), _v.as_float(s_b, "s_b", low=0.0)
    cu = _v.as_array(cos_u, "cos_u", ndim=None, low=-1.0, high=1.0)
    cv = _v.as_array(cos_v, "cos_v", ndim=None, low=-1.0, high=1.0)
    return 0.5 * cv**2 * (s_b**2 - 2 * s_a * s_b * cu * cv + s_a**2 * cv**2)
