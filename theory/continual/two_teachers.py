r"""Continual learning in the teacher-student setup: two teachers, one student with two heads.

Lee, Goldt & Saxe (2021): a soft-committee student learns teacher 1 with head 1, then teacher 2
with head 2, by online SGD; :class:`TwoTeacherODE` reduces it exactly to the committee ODE of
:mod:`idealnets.theory.committee`, whose Gaussian integrals it reuses.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import validation as _v
from ..committee import CommitteeODE, generalisation_error

__all__ = ["teacher_pair", "TwoTeacherODE", "TwoTeacherTrajectory", "M_MAX"]

#: Largest teacher width of teacher_pair (its joint overlap matrix is 2M x 2M).
M_MAX = 4096


def teacher_pair(M: int, feature_similarity: float, readout_similarity: float) -> tuple[np.ndarray, np.ndarray,
                                                                                         np.ndarray]:
    r"""Overlaps of two soft-committee teachers (Lee, Goldt & Saxe 2021).

    Teacher 2's first-layer weights are ``w*2_m = gamma w*1_m + sqrt(1 - gamma^2) w_perp_m`` (feature
    similarity ``gamma``), so ``T11 = T22 = I``, ``T12 = gamma I``. Readouts: ``v*1 = 1`` (ones) and
    ``v*2 = eta v*1 + sqrt(1 - eta^2) v_perp`` with ``v_perp`` orthogonal to ``v*1`` and of the same norm
    (readout similarity ``eta``; needs M >= 2 unless ``eta = +-1``).
    Returns ``(T_joint (2M, 2M), v_star1 (M,), v_star2 (M,))``.
    """
    M = _v.as_int(M, "M", low=1, high=M_MAX)
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
