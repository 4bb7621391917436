"""Many-task teacher-student continual learning (issue 25): MultiTeacherODE, TaskSchedule, SGD.

Three ways: (i) exact limits -- two tasks in blocks is TwoTeacherODE, one task is CommitteeODE,
replay of an identical teacher with a shared head is the single-task ODE; (ii) closed form vs the
integrator -- a linear K = M = 1 student under a replay mixture obeys a linear ODE solved by a
matrix exponential, and the threshold switch is that closed form's crossing time; (iii) online SGD,
with the gap to the ODE (integrated from each network's own initial order parameters) shrinking
as N^-1/2 between N = 100 and N = 800.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy.linalg import expm
from scipy.optimize import brentq

from idealnets.theory.committee import CommitteeODE
from idealnets.theory.continual.many_teachers import MultiTeacherODE, TaskSchedule, teacher_family
from idealnets.theory.continual.two_teachers import TwoTeacherODE, teacher_pair
from idealnets.theory.validation import DivergenceError
from idealnets.simulate.many_teachers import train_many_teachers, teacher_family_weights


def _init(K, P, N=100, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((K, N))
    Q0 = W @ W.T / N
    R0 = rng.standard_normal((K, P)) / np.sqrt(N)
    return Q0, R0


# ----------------------------------------------------------------------------------------- exact limits
@pytest.mark.parametrize("gamma,eta", [(0.5, 0.5), (1.0, 1.0), (0.0, 0.0)])
def test_two_tasks_in_blocks_is_two_teacher_ode(gamma, eta):
    """Blocks (0 for alpha_1, then 1 for alpha_2), a head per task, no replay: TwoTeacherODE's trajectory."""
    K = M = 2
    T, v1, v2 = teacher_pair(M, gamma, eta)
    rng = np.random.default_rng(1)
    Q0, R1 = _init(K, M)
    Rp = rng.standard_normal((K, M)) / 10
    R0 = np.hstack([R1, gamma * R1 + np.sqrt(1 - gamma ** 2) * Rp])
    h0 = 0.1 * np.ones(K)
    a = np.concatenate([[0.0], np.geomspace(0.01, 16.0, 40)])
    two = TwoTeacherODE(K, M, 1.0, T, v1, v2).integrate(Q0, R0, h0, h0, 8.0, 8.0, alpha_eval=a)
    many = MultiTeacherODE(K, M, 1.0, T, [v1, v2]).integrate(Q0, R0, h0, TaskSchedule.blocks([0, 1], [8.0, 8.0]),
                                                              alpha_eval=a)
    np.testing.assert_array_equal(many.alpha, two.alpha)
    for mine, theirs in ((many.Q, two.Q), (many.R, two.R), (many.H[:, 0], two.h1), (many.H[:, 1], two.h2),
                         (many.eps[:, 0], two.eps1), (many.eps[:, 1], two.eps2)):
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-9)  # measured 1.1e-12 (two integrators)


def test_task_rates_are_the_committee_rates():
    """The drift of task t is CommitteeODE's with teacher t's readout padded by zeros (bit for bit)."""
    K, M, n = 3, 2, 3
    T, vs = teacher_family(n, M, 0.4, 0.3)
    Q0, R0 = _init(K, n * M, seed=3)
    H = np.random.default_rng(4).standard_normal((n, K))
    ode = MultiTeacherODE(K, M, 0.7, T, vs, lr_v=0.3, noise=0.2)
    for t in range(n):
        u = np.zeros(n * M)
        u[t * M:(t + 1) * M] = vs[t]
        c = CommitteeODE(K, n * M, 0.7, train_second_layer=True, lr_v=0.3, noise=0.2, T=np.eye(n * M), v_star=u)
        c.T = T
        dQ, dR, dv = c.rates(Q0, R0, H[t])
        mQ, mR, mH = ode.task_rates(Q0, R0, H, t)
        np.testing.assert_allclose(mQ, dQ, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(mR, dR, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(mH[t], dv, rtol=1e-13, atol=1e-15)
        assert not np.delete(mH, t, axis=0).any()  # the other heads do not move
    pi = np.array([0.2, 0.5, 0.3])
    mix = ode.rates(Q0, R0, H, pi)
    sep = [ode.task_rates(Q0, R0, H, t) for t in range(n)]
    for j in range(3):
        np.testing.assert_allclose(mix[j], sum(p * s[j] for p, s in zip(pi, sep)), rtol=1e-12, atol=1e-15)


def test_one_task_is_committee_ode():
    K, M = 2, 3
    Q0, R0 = _init(K, M, seed=5)
    v0 = np.array([0.3, -0.2])
    a = np.linspace(0, 20, 21)
    ref = CommitteeODE(K, M, 0.8, train_second_layer=True, lr_v=0.5).integrate(Q0, R0, v0, alpha_eval=a)
    tr = MultiTeacherODE(K, M, 0.8, np.eye(M), np.ones((1, M)), lr_v=0.5).integrate(
        Q0, R0, v0, TaskSchedule.blocks([0], [20.0]), alpha_eval=a)
    np.testing.assert_allclose(tr.eps[:, 0], ref.eps_g, rtol=0, atol=1e-9)
    np.testing.assert_allclose(tr.H[:, 0], ref.v, rtol=0, atol=1e-9)


def test_replaying_an_identical_teacher_changes_nothing():
    """Two identical teachers, one shared head: any replay probability gives the single-task trajectory."""
    K, M = 2, 2
    T = np.kron(np.ones((2, 2)), np.eye(M))
    vs = np.ones((2, M))
    Q0, R1 = _init(K, M, seed=6)
    R0 = np.hstack([R1, R1])
    h0 = 0.2 * np.ones(K)
    ode = MultiTeacherODE(K, M, 1.0, T, vs, heads="shared")
    a = np.linspace(0, 12, 13)
    base = ode.integrate(Q0, R0, h0, TaskSchedule.blocks([0, 1], [4.0, 8.0]), alpha_eval=a)
    rep = ode.integrate(Q0, R0, h0, TaskSchedule.blocks([0, 1], [4.0, 8.0], replay=0.6), alpha_eval=a)
    one = CommitteeODE(K, M, 1.0, train_second_layer=True).integrate(Q0, R1, h0, alpha_eval=a)
    np.testing.assert_allclose(rep.eps[:, 1], base.eps[:, 1], atol=1e-9)
    np.testing.assert_allclose(rep.eps[:, 0], one.eps_g, atol=1e-9)


def test_heads_only_and_frozen_units():
    K, M, n = 3, 2, 2
    T, vs = teacher_family(n, M, 0.3, 1.0)
    Q0, R0 = _init(K, n * M, seed=7)
    H = np.full((n, K), 0.3)
    dQ, dR, dH = MultiTeacherODE(K, M, 1.0, T, vs, train_first_layer=False).task_rates(Q0, R0, H, 0)
    assert not dQ.any() and not dR.any() and dH[0].any()
    dQ, dR, dH = MultiTeacherODE(K, M, 1.0, T, vs, frozen=[1]).task_rates(Q0, R0, H, 1)
    assert not dR[1].any() and dR[0].any() and dR[2].any()
    full = MultiTeacherODE(K, M, 1.0, T, vs).task_rates(Q0, R0, H, 1)
    np.testing.assert_allclose(dQ[np.ix_([0, 2], [0, 2])], full[0][np.ix_([0, 2], [0, 2])], rtol=1e-14)
    assert not dH[0].any() and dH[1].any()
    _, _, dH = MultiTeacherODE(K, M, 1.0, T, vs, train_heads=False).task_rates(Q0, R0, H, 1)
    assert not dH.any()


# ----------------------------------------------------------------------------------- closed form vs ODE
def _linear_closed_form(pi, lr, alpha, q0, r0, gamma):
    """Linear K = M = 1 student, head fixed at 1, two teachers with T = [[1, g], [g, 1]], mixture pi:
    d(Q, R0, R1)/dalpha = A (Q, R0, R1) + b (derived by hand from E[lambda nu] etc.)."""
    Tm = np.array([[1.0, gamma], [gamma, 1.0]])
    A = np.zeros((3, 3))
    b = np.zeros(3)
    for t, p in enumerate(pi):
        # dQ = -2 lr (Q - R_t) + lr^2 (Q - 2 R_t + T_tt)
        A[0, 0] += p * (-2 * lr + lr ** 2)
        A[0, 1 + t] += p * (2 * lr - 2 * lr ** 2)
        b[0] += p * lr ** 2 * Tm[t, t]
        # dR_s = -lr (R_s - T_st)
        for s in range(2):
            A[1 + s, 1 + s] += -p * lr
            b[1 + s] += p * lr * Tm[s, t]
    Aug = np.zeros((4, 4))
    Aug[:3, :3], Aug[:3, 3] = A, b
    y0 = np.array([q0, *r0, 1.0])
    return np.array([(expm(Aug * a) @ y0)[:3] for a in np.atleast_1d(alpha)])


def test_linear_mixture_matches_closed_form():
    gamma, lr, p = 0.3, 0.6, 0.25
    T = np.array([[1.0, gamma], [gamma, 1.0]])
    ode = MultiTeacherODE(1, 1, lr, T, np.ones((2, 1)), activation="linear", train_heads=False)
    q0, r0 = 0.5, np.array([0.1, -0.05])
    sched = TaskSchedule.blocks([0, 1], [3.0, 5.0], replay=p)
    a = np.linspace(0, 8, 17)
    tr = ode.integrate([[q0]], r0[None], [1.0], sched, alpha_eval=a)
    y1 = _linear_closed_form([1.0, 0.0], lr, a[a <= 3], q0, r0, gamma)
    y3 = y1[-1]
    y2 = _linear_closed_form([p, 1 - p], lr, a[a > 3] - 3, y3[0], y3[1:], gamma)
    y = np.vstack([y1, y2])
    np.testing.assert_allclose(tr.Q[:, 0, 0], y[:, 0], rtol=0, atol=1e-10)
    np.testing.assert_allclose(tr.R[:, 0, :], y[:, 1:], rtol=0, atol=1e-10)
    # eps_t = (Q - 2 R_t + 1)/2
    np.testing.assert_allclose(tr.eps, 0.5 * (y[:, :1] - 2 * y[:, 1:] + 1.0), rtol=0, atol=1e-10)


def test_threshold_switch_is_located_exactly():
    gamma, lr, thr = 0.3, 0.6, 0.05
    T = np.array([[1.0, gamma], [gamma, 1.0]])
    ode = MultiTeacherODE(1, 1, lr, T, np.ones((2, 1)), activation="linear", train_heads=False)
    q0, r0 = 0.5, np.array([0.1, -0.05])
    tr = ode.integrate([[q0]], r0[None], [1.0], TaskSchedule.until_threshold([0, 1, 0], thr, 40.0))

    def eps0(a):
        y = _linear_closed_form([1.0, 0.0], lr, a, q0, r0, gamma)[0]
        return 0.5 * (y[0] - 2 * y[1] + 1.0) - thr
    a_sw = brentq(eps0, 0.0, 40.0, xtol=1e-14)
    assert tr.block_task.tolist()[:2] == [0, 1]
    assert abs(tr.switch_alpha[1] - a_sw) < 1e-8
    i = int(np.searchsorted(tr.alpha, tr.switch_alpha[1]))
    assert tr.alpha[i] == tr.switch_alpha[1] and abs(tr.eps[i, 0] - thr) < 1e-10
    assert tr.current[i - 1] == 0 and tr.current[i] == 1
    # the second switch: task 1 down to the threshold, then back to task 0
    i2 = int(np.searchsorted(tr.alpha, tr.switch_alpha[2]))
    assert abs(tr.eps[i2, 1] - thr) < 1e-10


def test_periodic_schedule_and_passing_over_learned_tasks():
    s = TaskSchedule.periodic([0, 1], 3.0, 10.0)
    assert s.order == (0, 1, 0, 1) and s.durations == (3.0, 3.0, 3.0, 1.0)
    assert TaskSchedule.blocks([0, 1, 2], [1, 1, 1], replay=0.4).mixture(2, 3).tolist() == [0.2, 0.2, 0.6]
    assert TaskSchedule.blocks([0, 1, 0], [1, 1, 1], replay=0.4).mixture(2, 3).tolist() == [0.6, 0.4, 0.0]
    # identical teachers: once task 0 is learned, task 1 is already below the threshold and passed over
    T = np.kron(np.ones((3, 3)), np.eye(1)) * 1.0 + 0.0
    T[2, :2] = T[:2, 2] = 0.0
    ode = MultiTeacherODE(1, 1, 0.5, T, np.ones((3, 1)), activation="linear", heads="shared", train_heads=False)
    tr = ode.integrate([[0.3]], [[0.0, 0.0, 0.0]], [1.0], TaskSchedule.until_threshold([0, 1, 2], 0.01, 30.0))
    assert tr.block_task.tolist() == [0, 1, 2]
    assert tr.switch_alpha[1] == tr.switch_alpha[2]


# ---------------------------------------------------------------------------------------- vs online SGD
def _sgd_gap(N, E, seed):
    K, M, n = 2, 1, 2
    T, vs = teacher_family(n, M, 0.5, 1.0)
    Ws = teacher_family_weights(N, M, n, 0.5, E, seed=seed)
    W0 = torch.randn(E, K, N, generator=torch.Generator().manual_seed(seed + 1), dtype=torch.float64)
    s = TaskSchedule.blocks([0, 1], [2.0, 2.0], replay=0.3)
    run = train_many_teachers(W0, 0.5 * np.ones(K), Ws, vs, s, lr=1.0, record=5, seed=seed + 2)
    ode = MultiTeacherODE(K, M, 1.0, T, vs)
    gaps = []
    for e in range(E):
        tr = ode.integrate(run.Q[e, 0], run.R[e, 0], run.H[e, 0], s, alpha_eval=run.times)
        gaps.append(np.abs(tr.eps - run.losses[e]).max())
    return float(np.mean(gaps))


def test_sgd_gap_shrinks_like_inverse_sqrt_N():
    """Mean over networks of the largest |eps_SGD - eps_ODE| (ODE from each network's own start): N^-1/2."""
    g1, g2 = _sgd_gap(100, 12, 0), _sgd_gap(400, 12, 10)
    assert g2 < g1 / 1.4, (g1, g2)  # sqrt(4) = 2 expected
    assert g2 < 0.03


def test_sgd_threshold_frozen_and_heads_only():
    N, E, K, M, n = 100, 4, 2, 1, 2
    T, vs = teacher_family(n, M, 0.0, 1.0)
    Ws = teacher_family_weights(N, M, n, 0.0, E, seed=0)
    W0 = torch.randn(E, K, N, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    s = TaskSchedule.until_threshold([0, 1], 0.05, 14.0)
    run = train_many_teachers(W0, 0.5 * np.ones(K), Ws, vs, s, lr=1.0, record=30, seed=2, frozen=[1])
    W_last = run.R[:, -1]
    np.testing.assert_allclose(W_last[:, 1], run.R[:, 0, 1], rtol=0, atol=1e-12)  # frozen unit: R row fixed
    sw = run.switch_alpha[:, 1]
    assert np.isfinite(sw).all()
    i = np.searchsorted(run.times, sw)
    eps0_at = run.losses[np.arange(E), i, 0]
    assert (eps0_at < 0.06).all()  # switched once below the threshold (checked every N/100 steps)
    assert (run.current[np.arange(E), i] == 1).all() and (run.current[np.arange(E), i - 1] == 0).all()
    run = train_many_teachers(W0, 0.5 * np.ones(K), Ws, vs, TaskSchedule.blocks([0], [1.0]), lr=1.0,
                              train_first_layer=False, record=3)
    np.testing.assert_array_equal(run.Q[:, -1], run.Q[:, 0])


# ---------------------------------------------------------------------------------------- error contract
def test_refuses_bad_input():
    T, vs = teacher_family(2, 2, 0.5)
    with pytest.raises(ValueError, match="T"):
        MultiTeacherODE(2, 2, 1.0, -np.eye(4), vs)
    with pytest.raises(ValueError, match="heads"):
        MultiTeacherODE(2, 2, 1.0, T, vs, heads="two")
    with pytest.raises(ValueError, match="lr"):
        MultiTeacherODE(2, 2, 0.0, T, vs)
    ode = MultiTeacherODE(2, 2, 1.0, T, vs)
    Q0, R0 = _init(2, 4)
    with pytest.raises(ValueError, match="task"):
        ode.integrate(Q0, R0, np.ones(2), TaskSchedule.blocks([0, 2], [1, 1]))
    with pytest.raises(TypeError, match="schedule"):
        ode.integrate(Q0, R0, np.ones(2), [(0, 1.0)])
    with pytest.raises(ValueError, match="alpha_eval"):
        ode.integrate(Q0, R0, np.ones(2), TaskSchedule.blocks([0], [1]), alpha_eval=[0.0, 2.0])
    with pytest.raises(ValueError, match="replay"):
        TaskSchedule.blocks([0, 1], [1, 1], replay=1.0)
    with pytest.raises(ValueError, match="durations"):
        TaskSchedule.blocks([0, 1], [1, 0])
    T1, v1 = teacher_family(2, 1, 0.5)
    Q1, R1 = _init(1, 2)
    with pytest.raises(DivergenceError, match="lr"):  # linear K = M = 1 is stable only for lr < 2
        MultiTeacherODE(1, 1, 3.0, T1, v1, activation="linear", train_heads=False).integrate(Q1, R1, [1.0],
                                                                             TaskSchedule.blocks([0], [50.0]))


@given(lr=st.floats(-10, 10) | st.just(np.nan) | st.just(np.inf), replay=st.floats(-1, 2) | st.just(np.nan),
       thr=st.floats(-1, 1) | st.just(np.nan), dur=st.floats(-5, 5) | st.just(np.nan) | st.just(np.inf))
def test_property_error_contract(lr, replay, thr, dur):
    """Any input: either a valid result (finite errors) or ValueError/TypeError/DivergenceError, never NaN."""
    T, vs = teacher_family(2, 1, 0.5)
    Q0, R0 = _init(1, 2)
    try:
        ode = MultiTeacherODE(1, 1, lr, T, vs, activation="linear")
        s = (TaskSchedule.blocks([0, 1], [dur, 1.0], replay=replay) if thr <= 0
             else TaskSchedule.until_threshold([0, 1], thr, 2.0, replay=replay))
        tr = ode.integrate(Q0, R0, [1.0], s, alpha_eval=[0.0, s.alpha_max])
    except (ValueError, TypeError, DivergenceError) as e:
        assert str(e)
        return
    assert np.isfinite(tr.eps).all()


def test_trainer_refuses_bad_input():
    T, vs = teacher_family(2, 1, 0.5)
    Ws = teacher_family_weights(20, 1, 2, 0.5, 2)
    W0 = torch.zeros(2, 2, 20, dtype=torch.float64)
    s = TaskSchedule.blocks([0, 1], [1.0, 1.0])
    with pytest.raises(TypeError, match="schedule"):
        train_many_teachers(W0, np.ones(2), Ws, vs, [(0, 1.0)], lr=1.0)
    with pytest.raises(ValueError, match="lr"):
        train_many_teachers(W0, np.ones(2), Ws, vs, s, lr=-1.0)
    with pytest.raises(ValueError, match="W_star"):
        train_many_teachers(W0, np.ones(2), Ws[:, :1], vs, s, lr=1.0)
    with pytest.raises(ValueError, match="H0"):
        train_many_teachers(W0, np.ones(3), Ws, vs, s, lr=1.0)
    with pytest.raises(ValueError, match="heads"):
        train_many_teachers(W0, np.ones(2), Ws, vs, s, lr=1.0, heads="both")
    with pytest.raises(ValueError, match="N >="):
        teacher_family_weights(3, 1, 3, 0.5, 1)
