r"""Context-dependent gating: a two-layer linear network whose hidden units each task switches on or off.

Task k trains only the hidden units of its gate (Masse et al. 2018; the gated deep linear network
of Saxe, Sodhani & Lewallen 2022); :class:`GatedCurriculum` solves the curriculum exactly by
reducing every phase to an ordinary two-layer network on the gated-on units
(:class:`~idealnets.theory.continual.curricula.Curriculum`, or the float64 integrator where
pathways overlap partially).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from .. import validation as _v
from ..deep_linear import integrate_gradient_flow
from .curricula import Curriculum
from .schedules import CurriculumBase, task_key

__all__ = ["overlapping_gates", "GatedCurriculum"]


def overlapping_gates(n_gate: int, n_shared: int) -> tuple[int, dict]:
    r"""Two context gates over ``N_h = 2 n_gate - n_shared`` hidden units, each switching on ``n_gate`` of them,
    ``n_shared`` in common (pathway overlap ``n_shared / n_gate``). Returns ``(N_h, {"A": mask, "B": mask})``."""
    n_gate = _v.as_int(n_gate, "n_gate", low=1, high=2**20)  # 2^20 hidden units at most
    n_shared = _v.as_int(n_shared, "n_shared", low=0, high=n_gate)
    n_h = 2 * n_gate - n_shared
    a = np.zeros(n_h, dtype=bool)
    b = np.zeros(n_h, dtype=bool)
    a[:n_gate] = True
    b[n_gate - n_shared:] = True
    return n_h, {"A": a, "B": b}


class GatedCurriculum(CurriculumBase):
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
        super().__init__(tasks, schedule, tau)
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
                sub = Curriculum({key[0]: self._tasks[key[0]]}, [(key[0], dur)], W1[g], W2[:, g], tau=self.tau)
                self.methods.append(sub.methods[0])
            else:
                sub = ("ode", W1[g], W2[:, g], self._phase_stats[len(self._subs)], self.tau)
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
        t = self._times(t)
        flat = t.ravel()
        ph = self._locate(flat)
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
        return self._map(t, self._single(task))

    def loss(self, t, task) -> np.ndarray:
        """Loss of ``task`` through its own gate at times ``t``, shape ``t.shape``."""
        key = self._single(task)
        return self._loss(self._map(t, key), key)

    def _single(self, task) -> tuple[str]:
        key = task_key(task, self.task_names, "task")
        if len(key) != 1:
            raise ValueError("map takes a single task")
        return key

    def _map(self, t, key: tuple[str]) -> np.ndarray:
        g = self.gates[key[0]]
        W1, W2 = self.weights(t)
        return W2[..., :, g] @ W1[..., g, :]
