"""Feedback alignment: invariant, exact aligned modes, fixed points, trained ensembles, MLP rules."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from idealnets.simulate.feedback_alignment import init_mlp, train_linear, train_mlp
from idealnets.theory.feedback_alignment import (
    FeedbackAlignmentFlow,
    aligned_final_alignment,
    aligned_fixed_point,
    aligned_learning_time,
    aligned_mode,
    alignment,
    bp_fixed_point_map,
    fa_fixed_point_map,
    fa_flow_rhs,
    fa_invariant,
    predicted_overlap,
    small_init_learning_time,
)
from idealnets.theory.lambda_balanced import whitened_task

# DOP853 at rtol 1e-12 on these O(1) problems is accurate to ~1e-11 (measured 3e-12 for the
# aligned matrix case); the target is 1e-8.
RTOL_ODE = 1e-8
# the partial-fraction quadrature inverted by bisection is exact to rounding; against
# solve_ivp (rtol 1e-12) measured <= 2e-12.
ATOL_MODE = 1e-9
# dQ/dt from the right-hand side vanishes identically: only rounding is left.
ATOL_RHS = 1e-12
# The integrated invariant drifts only by the integrator's error (rtol 1e-12 per step).
ATOL_INVARIANT = 1e-9
# GD vs flow: first-order error, so halving lr halves the gap and the invariant drift
# (measured ratios 1.97-2.02); +-10% allows for the O(lr^2) remainder.
LR_RATIO = (1.8, 2.2)
# The LSODA tail (rtol 1e-10) leaves ~1e-9 on the fixed point of slow networks.
ATOL_FIXED = 1e-7

S = (3.0, 2.0, 1.0)


def _aligned_network(n_in, h, n_out, b, a0, c0, seed):
    """Task with s = S[:r] and weights/feedback sharing its singular frames."""
    r = len(b)
    X, Y = whitened_task(n_in, n_out, S[:r], seed=seed)
    U, _, Vt = np.linalg.svd(Y @ X.T / X.shape[1])
    R = np.linalg.qr(np.random.default_rng(seed + 1).standard_normal((h, r)))[0]
    B = (R * np.asarray(b)) @ U[:, :r].T
    W1 = (R * np.asarray(a0)) @ Vt[:r]
    W2 = (U[:, :r] * np.asarray(c0)) @ R.T
    return X, Y, U[:, :r], Vt[:r], W1, W2, B


# ----------------------------------------------------------------------------- invariant
def test_invariant_rhs_vanishes_any_input_correlation(rng):
    W1, W2, B = rng.standard_normal((4, 5)), rng.standard_normal((3, 4)), rng.standard_normal((4, 3))
    A = rng.standard_normal((5, 5))
    Sxx, Syx = A @ A.T, rng.standard_normal((3, 5))
    d1, d2 = fa_flow_rhs(W1, W2, B, Syx, Sxx)
    dQ = d1 @ W1.T + W1 @ d1.T - B @ d2 - d2.T @ B.T
    assert np.max(np.abs(dQ)) < ATOL_RHS * np.max(np.abs(W1 @ d1.T))


@pytest.mark.parametrize("n_in,h,n_out", [(5, 4, 3), (4, 2, 5), (3, 6, 2)])
def test_invariant_conserved_by_flow_and_overlap_identity(n_in, h, n_out, seed):
    rng = np.random.default_rng(seed)
    X, Y = whitened_task(n_in, n_out, S[: min(n_in, n_out, 3)], seed=seed)
    W1, W2, B = 0.3 * rng.standard_normal((h, n_in)), 0.3 * rng.standard_normal((n_out, h)), rng.standard_normal((h, n_out))
    fl = FeedbackAlignmentFlow(W1, W2, B, X, Y)
    t = np.array([0.0, 0.3, 1.0, 4.0, 15.0])
    np.testing.assert_allclose(fl.invariant(t), np.broadcast_to(fl.Q0, (t.size, h, h)), atol=ATOL_INVARIANT)
    W1t, W2t = fl.weights(t)
    np.testing.assert_allclose(np.trace(B @ W2t, axis1=-2, axis2=-1), predicted_overlap(W1t, fl.Q0), atol=1e-9)
    # W1(t) - W1(0) lies in range(B)
    Pb = B @ np.linalg.pinv(B)
    np.testing.assert_allclose((np.eye(h) - Pb) @ (W1t - W1), 0.0, atol=1e-9)


def test_invariant_drift_under_gd_is_order_lr(seed):
    rng = np.random.default_rng(seed)
    X, Y = whitened_task(5, 3, S, seed=seed)
    W1, W2, B = 0.1 * rng.standard_normal((3, 4, 5)), 0.1 * rng.standard_normal((3, 3, 4)), rng.standard_normal((3, 4, 3))
    T = 2.0
    drift = []
    for lr in (0.01, 0.005):
        run = train_linear(W1, W2, B, X, Y, lr=lr, steps=int(round(T / lr)), record=[int(round(T / lr))])
        dQ = fa_invariant(run.W1[:, -1], run.W2[:, -1], B) - fa_invariant(W1, W2, B)
        assert np.all(np.linalg.eigvalsh(dQ) > -1e-12)  # lr^2 B E E^T B^T summed: PSD
        drift.append(np.max(np.abs(dQ)))
    assert drift[0] > 0 and LR_RATIO[0] < drift[0] / drift[1] < LR_RATIO[1]


# ----------------------------------------------------------------------------- aligned modes
MODE_CASES = [  # (s, b, a0, c0): small init, negative b, large q > 0, q < 0, s = 0, triple root
    (2.0, 1.0, 0.0, 0.0), (1.5, -0.7, 0.3, -0.2), (2.0, 0.5, 2.0, 0.1), (3.0, 0.2, -1.0, 2.0),
    (0.0, 1.0, 0.3, 0.2), (0.0, 1.0, 0.0, 0.0), (1.0, 2.0, 1e-3, 0.0), (0.0, 0.5, 0.7, 0.1),
]


@pytest.mark.parametrize("s,b,a0,c0", MODE_CASES)
def test_aligned_mode_matches_solve_ivp(s, b, a0, c0):
    t = np.array([0.0, 0.05, 0.5, 2.0, 7.0, 30.0])
    a, c = aligned_mode(t, s, b, a0, c0)
    sol = solve_ivp(lambda _, y: [b * (s - y[0] * y[1]), y[0] * (s - y[0] * y[1])], (0, t[-1]), [a0, c0],
                    t_eval=t, method="DOP853", rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a, sol.y[0], atol=ATOL_MODE)
    np.testing.assert_allclose(c, sol.y[1], atol=ATOL_MODE)
    np.testing.assert_allclose(a * a - 2 * b * c, a0 * a0 - 2 * b * c0, atol=1e-12)
    assert (a[0], c[0]) == pytest.approx((a0, c0), abs=1e-14)


def test_aligned_mode_nearly_repeated_roots_use_high_precision():
    """q^3 = 27 b^2 s^2 (double root of the cubic) up to 1e-9: the 50-digit branch is exact too."""
    s, b = 1.0, 0.5
    q = 3 * (b * s) ** (2 / 3) * (1 + 1e-9)
    c0 = -0.1
    a0 = np.sqrt(q + 2 * b * c0)
    t = np.array([0.1, 1.0, 5.0])
    a, c = aligned_mode(t, s, b, a0, c0)
    sol = solve_ivp(lambda _, y: [b * (s - y[0] * y[1]), y[0] * (s - y[0] * y[1])], (0, 5), [a0, c0], t_eval=t,
                    method="DOP853", rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a, sol.y[0], atol=1e-8)


def test_aligned_fixed_point_and_limits():
    s, b = 2.0, 0.8
    a_inf, c_inf = aligned_fixed_point(s, b, 0.0, 0.0)
    assert a_inf == pytest.approx((2 * b * s) ** (1 / 3), rel=1e-12)
    assert a_inf * c_inf == pytest.approx(s, rel=1e-12)
    a, c = aligned_mode(np.array([1e12]), s, b, 0.0, 0.0)
    assert a[0] * c[0] == pytest.approx(s, rel=1e-12)
    # small-init onset: a = b s t, u = c a = b^2 s^3 t^3 / 2 at t -> 0 (no exponential plateau)
    t = 1e-3
    a, c = aligned_mode(t, s, b, 0.0, 0.0)
    assert float(a * c) == pytest.approx(b**2 * s**3 * t**3 / 2, rel=1e-5)
    # closed-form learning time from zero init equals the general quadrature
    for f in (0.1, 0.5, 0.9):
        assert aligned_learning_time(s, b, 0.0, 0.0, f) == pytest.approx(small_init_learning_time(s, b, f), rel=1e-10)
        a, c = aligned_mode(small_init_learning_time(s, b, f), s, b, 0.0, 0.0)
        assert float(a * c) == pytest.approx(f * s, rel=1e-9)
    # FA's learning time converges as the init shrinks (backprop's grows as ln(1/u0)/(2s))
    gaps = [abs(aligned_learning_time(s, b, e, e) - small_init_learning_time(s, b)) for e in (1e-2, 1e-3, 1e-4)]
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 1e-3
    # (|b| s)^{-2/3} scaling and sign symmetry
    assert small_init_learning_time(s, 8 * b) == pytest.approx(small_init_learning_time(s, b) / 4, rel=1e-12)
    assert small_init_learning_time(s, -b) == small_init_learning_time(s, b)


@pytest.mark.parametrize("n_in,h,n_out,b", [(5, 3, 3, (1.0, 0.5, -0.8)), (6, 5, 3, (0.7, 0.7, 0.7)),
                                             (4, 3, 4, (1.5, -0.3, 0.9))])
def test_aligned_closed_form_matches_matrix_integrator(n_in, h, n_out, b, seed):
    a0, c0 = (0.01, 0.02, 0.0), (0.0, 0.01, 0.02)
    X, Y, U, Vt, W1, W2, B = _aligned_network(n_in, h, n_out, b, a0, c0, seed)
    fl = FeedbackAlignmentFlow(W1, W2, B, X, Y)
    t = np.array([0.0, 0.5, 2.0, 5.0, 20.0, np.inf])
    ac = np.array([aligned_mode(t, S[k], b[k], a0[k], c0[k]) for k in range(3)])  # (3, 2, T)
    u = ac[:, 0] * ac[:, 1]
    want = np.einsum("ik,kt,kj->tij", U, u, Vt)
    np.testing.assert_allclose(fl.map(t), want, atol=RTOL_ODE * S[0])
    # the weights themselves: a_k = R_k^T W1 V_k, c_k = U_k^T W2 R_k with R = B U diag(1/b)
    W1t, W2t = fl.weights(t)
    R = B @ U / np.asarray(b)
    np.testing.assert_allclose(np.einsum("ik,tij,jk->tk", R, W1t, Vt.T), ac[:, 0].T, atol=RTOL_ODE * S[0])
    np.testing.assert_allclose(np.einsum("ik,tij,jk->tk", U, W2t, R), ac[:, 1].T, atol=RTOL_ODE * S[0])


def test_final_alignment_from_small_init_matches_closed_form(seed):
    """B = beta x (orthonormal columns), tiny random init: effectively aligned with b = beta for every
    output mode, so the final cos(W2^T, B) is the closed form (deviation O(init scale))."""
    rng = np.random.default_rng(seed)
    n_in, h, n_out = 5, 6, 3
    X, Y = whitened_task(n_in, n_out, S, seed=seed)
    B = 0.8 * np.linalg.qr(rng.standard_normal((h, n_out)))[0]
    devs = []
    for eps in (1e-3, 1e-4):
        fl = FeedbackAlignmentFlow(eps * rng.standard_normal((h, n_in)), eps * rng.standard_normal((n_out, h)), B, X, Y)
        devs.append(abs(float(fl.alignment(np.array([60.0]))[0]) - aligned_final_alignment(np.array(S), 0.8 * np.ones(3))))
    # measured 4e-6 and 7e-6: the leftover is the O(eps) random part of the top layer, whose
    # norm relative to the learned one (~1) does not matter below ~1e-5 in the cosine.
    # (At t = inf, not 60, the frozen eps-features outside range(B) would be read out on the
    # 1/eps^2 timescale; 60 is the plateau after all fed-back modes are learned.)
    assert max(devs) < 1e-4
    assert aligned_final_alignment(np.ones(3), np.ones(3)) == pytest.approx(1.0)
    # output directions with feedback but no task lower the alignment
    assert aligned_final_alignment(np.array([1.0, 0.0]), np.ones(2)) == pytest.approx(1 / np.sqrt(2))


# ----------------------------------------------------------------------------- what FA reaches
@pytest.mark.parametrize("case", ["full_rank", "bottleneck", "rank_deficient", "zero_feedback_mode"])
def test_fixed_point_map(case, seed):
    rng = np.random.default_rng(seed)
    n_in, n_out = 6, 4
    X, Y = whitened_task(n_in, n_out, (3.0, 2.0, 1.5, 1.0), seed=seed)
    Syx = Y @ X.T / X.shape[1]
    eps = 1e-2
    if case == "full_rank":
        h, B = 5, rng.standard_normal((5, n_out))
    elif case == "bottleneck":
        h, B = 2, rng.standard_normal((2, n_out))
    elif case == "rank_deficient":
        h, B = 6, rng.standard_normal((6, 2)) @ rng.standard_normal((2, n_out))
    else:  # aligned feedback that misses the second mode
        h = 4
        U = np.linalg.svd(Syx)[0]
        R = np.linalg.qr(rng.standard_normal((h, h)))[0]
        B = (R * np.array([1.0, 0.0, 0.8, 1.2])) @ U.T
    W1, W2 = eps * rng.standard_normal((h, n_in)), eps * rng.standard_normal((n_out, h))
    fl = FeedbackAlignmentFlow(W1, W2, B, X, Y)
    M_inf = fl.map(np.inf)
    assert fl.converged
    np.testing.assert_allclose(M_inf, fl.predicted_map(), atol=ATOL_FIXED)
    np.testing.assert_allclose(fl.map(1e12), M_inf, atol=1e-14)
    if case == "full_rank":
        np.testing.assert_allclose(M_inf, Syx, atol=ATOL_FIXED)
    if case == "bottleneck":  # FA's loss exceeds the best rank-2 loss that backprop reaches
        L_bp = 0.5 * np.sum((Syx - bp_fixed_point_map(Syx, 2)) ** 2)
        assert fl.loss(np.inf) > L_bp + 1e-3
        # the map is the task seen through the feedback: Pi_B W* = Pi_B Syx
        Pi = np.linalg.pinv(B) @ B
        np.testing.assert_allclose(Pi @ M_inf, Pi @ Syx, atol=ATOL_FIXED)
    if case == "zero_feedback_mode":  # from W1_0 = 0 the unfed mode stays unlearned
        U, s, Vt = np.linalg.svd(Syx)
        W0map = fa_fixed_point_map(Syx, B)
        assert abs(U[:, 1] @ W0map @ Vt[1]) < 1e-12
        np.testing.assert_allclose(U[:, 0] @ W0map @ Vt[0], s[0], rtol=1e-12)


# ----------------------------------------------------------------------------- trained ensembles
def test_trained_ensemble_matches_flow_gap_linear_in_lr(seed):
    rng = np.random.default_rng(seed)
    E, n_in, h, n_out = 4, 5, 4, 3
    X, Y = whitened_task(n_in, n_out, S, seed=seed)
    W1, W2 = 0.05 * rng.standard_normal((E, h, n_in)), 0.05 * rng.standard_normal((E, n_out, h))
    B = rng.standard_normal((E, h, n_out)) / np.sqrt(n_out)
    T = 6.0
    flows = [FeedbackAlignmentFlow(W1[e], W2[e], B[e], X, Y) for e in range(E)]
    gaps = []
    for lr in (0.004, 0.002):
        steps = int(round(T / lr))
        run = train_linear(W1, W2, B, X, Y, lr=lr, steps=steps, record=np.linspace(0, steps, 7).astype(int))
        want = np.stack([f.map(run.times) for f in flows])
        gaps.append(np.max(np.abs(run.W2 @ run.W1 - want)) / S[0])
        np.testing.assert_allclose(run.losses, np.stack([f.loss(run.times) for f in flows]), atol=0.02)
    assert gaps[1] < 2 * 0.002 * 10  # O(lr), constant measured ~1-3
    assert LR_RATIO[0] < gaps[0] / gaps[1] < LR_RATIO[1]


def test_bp_rule_conserves_balancedness_to_order_lr(seed):
    rng = np.random.default_rng(seed)
    X, Y = whitened_task(4, 3, S, seed=seed)
    W1, W2 = 0.1 * rng.standard_normal((2, 3, 4)), 0.1 * rng.standard_normal((2, 3, 3))
    run = train_linear(W1, W2, np.zeros((3, 3)), X, Y, lr=0.002, steps=2000, record=3, rule="bp")
    Bal = lambda a, b: np.swapaxes(b, -1, -2) @ b - a @ np.swapaxes(a, -1, -2)  # noqa: E731
    assert np.max(np.abs(Bal(run.W1[:, -1], run.W2[:, -1]) - Bal(W1, W2))) < 0.01
    assert np.all(run.losses[:, -1] < 0.05 * run.losses[:, 0])  # BP learns (the s = 1 mode still rising at t = 4)


# ----------------------------------------------------------------------------- MLP rules
def test_mlp_bp_gradient_matches_autograd():
    torch.manual_seed(0)
    st = init_mlp([6, 5, 4, 3], 2, seed=1, dtype=torch.float64)
    X = torch.randn(10, 6, dtype=torch.float64).T  # (n_in, P): samples are columns
    lab = torch.randint(0, 3, (10,))
    run = train_mlp(X, lab, st, rule="bp", lr=0.1, steps=1, batch_size=None, record=[0, 1])
    Ws = [w.clone().requires_grad_(True) for w in st.Ws]
    bs = [b.clone().requires_grad_(True) for b in st.bs]
    h = X.T
    for l, (W, b) in enumerate(zip(Ws, bs)):
        z = torch.matmul(h, W.transpose(-1, -2)) + b.unsqueeze(-2)
        h = torch.tanh(z) if l < 2 else z
    loss = torch.nn.functional.cross_entropy(h.reshape(-1, 3), lab.repeat(2), reduction="sum") / 10
    loss.backward()
    for W, W_new in zip(Ws, run.final_state.Ws):
        np.testing.assert_allclose((W - 0.1 * W.grad).detach().numpy(), W_new.numpy(), atol=1e-12)


def test_mlp_fa_equals_dfa_for_one_hidden_layer_and_freezing():
    st = init_mlp([8, 6, 3], 3, seed=2, dtype=torch.float64)
    X = torch.randint(0, 2, (20, 8)).double().T
    lab = torch.randint(0, 3, (20,))
    r1 = train_mlp(X, lab, st, rule="fa", lr=0.05, steps=5, batch_size=4, seed=3)
    r2 = train_mlp(X, lab, st, rule="dfa", lr=0.05, steps=5, batch_size=4, seed=3)
    for a, b in zip(r1.final_state.Ws, r2.final_state.Ws):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-14)
    r3 = train_mlp(X, lab, st, rule="fa", lr=0.05, steps=5, batch_size=4, train_layers=[True, False])
    torch.testing.assert_close(r3.final_state.Ws[1], st.Ws[1], rtol=0, atol=0)
    assert not torch.equal(r3.final_state.Ws[0], st.Ws[0])
    # phases chain: the step counter and the recorded steps continue
    r4 = train_mlp(X, lab, r3.final_state, rule="fa", lr=0.05, steps=5, batch_size=4, record=2)
    assert r4.steps[0] == 5 and r4.steps[-1] == 10


def test_trainers_return_run_and_old_names_still_work():
    """Both trainers return the shared Run; samples are columns (random_binary_task returns X (n_in, P));
    the old row layout of X, the old keywords state/show_progress, the final weights read through
    run.state, the class names LinearRun/MLPRun and the re-export train_linear_fa keep working (with a
    DeprecationWarning where the name is deprecated) and give the same numbers."""
    import idealnets.simulate as sim
    from idealnets.simulate.engine import Run
    from idealnets.simulate.feedback_alignment import LinearRun, MLPRun, random_binary_task

    assert LinearRun is Run and MLPRun is Run
    X, Y = whitened_task(4, 3, S, seed=0)
    W1, W2, B = 0.1 * np.ones((2, 4)), 0.1 * np.ones((3, 2)), np.ones((2, 3))
    lin = train_linear(W1, W2, B, X, Y, lr=0.01, steps=4, record=[0, 2, 4])
    assert isinstance(lin, Run) and lin.time_unit == "t = lr * step" and lin.W1.shape == (1, 3, 2, 4)
    np.testing.assert_array_equal(lin.times, 0.01 * lin.steps)
    with pytest.warns(DeprecationWarning, match="feedback_alignment.train_linear"):
        train_linear_fa = sim.train_linear_fa
    np.testing.assert_array_equal(train_linear_fa(W1, W2, B, X, Y, lr=0.01, steps=4, record=[0, 2, 4]).W2, lin.W2)
    with pytest.warns(DeprecationWarning, match="show_progress"):
        train_linear(W1, W2, B, X, Y, lr=0.01, steps=4, show_progress=False)

    Xb, lab = random_binary_task(30, 8, 3, seed=0, dtype=torch.float64)
    assert Xb.shape == (8, 30) and lab.shape == (30,)
    st0 = init_mlp([8, 5, 3], 2, seed=1, dtype=torch.float64)
    run = train_mlp(Xb, lab, st0, rule="fa", lr=0.1, steps=6, batch_size=5, record=[0, 3, 6])
    assert isinstance(run, Run) and run.losses.shape == run.accuracy.shape == run.angle.shape == (2, 3)
    assert run.final_state.step == 6 and run.rule == "fa"
    with pytest.warns(DeprecationWarning, match="rows"):
        rows = train_mlp(Xb.T.contiguous(), lab, st0, rule="fa", lr=0.1, steps=6, batch_size=5, record=[0, 3, 6])
    np.testing.assert_array_equal(rows.losses, run.losses)
    with pytest.warns(DeprecationWarning, match="final_state"):
        Ws = run.state.Ws
    assert Ws is run.final_state.Ws
    with pytest.warns(DeprecationWarning):
        old = train_mlp(Xb, lab, state=st0, rule="fa", lr=0.1, steps=6, batch_size=5, record=[0, 3, 6],
                        show_progress=False)
    np.testing.assert_array_equal(old.angle, run.angle)
    with pytest.warns(DeprecationWarning, match="final_state"):
        more = train_mlp(Xb, lab, run.state, rule="fa", lr=0.1, steps=2, batch_size=5, record=2)
    np.testing.assert_array_equal(more.steps, [6, 8])
    with pytest.raises(TypeError, match="MLPState"):
        train_mlp(Xb, lab, st0.Ws, rule="fa", lr=0.1, steps=1)
    with pytest.raises(ValueError, match="input features"):
        train_mlp(torch.zeros(5, 30), lab, st0, rule="fa", lr=0.1, steps=1)


# ----------------------------------------------------------------------------- bad input
def test_bad_input_raises():
    X, Y = whitened_task(4, 3, S, seed=0)
    W1, W2 = np.zeros((2, 4)), np.zeros((3, 2))
    with pytest.raises(ValueError, match="B must have shape"):
        FeedbackAlignmentFlow(W1, W2, np.ones((3, 2)), X, Y)
    with pytest.raises(ValueError, match="whitened"):
        FeedbackAlignmentFlow(W1, W2, np.ones((2, 3)), 2 * X, Y)
    with pytest.raises(ValueError, match="never be learned"):
        aligned_mode(1.0, 1.0, 0.0, 0.1, 0.1)
    with pytest.raises(ValueError, match="s must be"):
        aligned_mode(1.0, -1.0, 1.0, 0.0, 0.0)
    with pytest.raises(ValueError):
        aligned_mode(-1.0, 1.0, 1.0, 0.0, 0.0)
    with pytest.raises(ValueError):
        FeedbackAlignmentFlow(W1, W2, np.full((2, 3), np.nan), X, Y)
    with pytest.raises(ValueError, match="B must have shape"):
        train_linear(W1, W2, np.ones((3, 3)), X, Y, lr=0.1, steps=2)
    with pytest.raises(ValueError):
        fa_invariant(W1, W2, np.ones((3, 3)))
    with pytest.raises(ValueError):
        train_mlp(torch.zeros(3, 4), torch.tensor([0, 1, 2, 5]), init_mlp([3, 2, 3], 1), rule="fa", lr=0.1, steps=1)
    with pytest.raises(ValueError):
        train_mlp(torch.zeros(3, 4), torch.tensor([0, 1, 2, 0]), init_mlp([3, 2, 3], 1), rule="xx", lr=0.1, steps=1)


# ----------------------------------------------------------------------------- properties
finite = st.floats(-2.0, 2.0, allow_nan=False)


@given(s=st.floats(0.0, 4.0), b=finite.filter(lambda v: abs(v) > 1e-3), a0=finite, c0=finite,
       t=st.lists(st.floats(0.0, 1e6), min_size=1, max_size=5))
def test_aligned_mode_properties(s, b, a0, c0, t):
    t = np.sort(np.array(t))
    a, c = aligned_mode(t, s, b, a0, c0)
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(c))
    q = a0 * a0 - 2 * b * c0
    np.testing.assert_allclose(a * a - 2 * b * c, q, atol=1e-9 * max(1.0, abs(q), np.max(a * a)))
    d = np.diff(np.concatenate([[a0], a]))  # monotone in time
    assert np.all(d >= -1e-12 * max(1.0, np.max(np.abs(a)))) or np.all(d <= 1e-12 * max(1.0, np.max(np.abs(a))))


@given(h=st.integers(1, 4), n_out=st.integers(1, 4), seed=st.integers(0, 10**6))
def test_flow_properties_random_shapes(h, n_out, seed):
    rng = np.random.default_rng(seed)
    n_in = 3
    X, Y = whitened_task(n_in, n_out, np.linspace(2, 1, min(n_in, n_out)), seed=seed % 1000)
    B = rng.standard_normal((h, n_out))
    fl = FeedbackAlignmentFlow(0.1 * rng.standard_normal((h, n_in)), 0.1 * rng.standard_normal((n_out, h)), B, X, Y)
    t = np.array([0.0, 1.0, 5.0])
    L = fl.loss(t)
    assert np.all(np.isfinite(L)) and np.all(np.isfinite(fl.alignment(t)))
    assert np.all(np.abs(fl.alignment(t)) <= 1 + 1e-12)
    np.testing.assert_allclose(fl.invariant(t), np.broadcast_to(fl.Q0, (3, h, h)), atol=1e-8)


@given(bad=st.sampled_from(["shape", "nan", "not_whitened", "b0"]))
def test_invalid_inputs_property(bad):
    X, Y = whitened_task(3, 2, (1.0, 0.5), seed=0)
    W1, W2, B = np.zeros((2, 3)), np.zeros((2, 2)), np.ones((2, 2))
    with pytest.raises((ValueError, TypeError)):
        if bad == "shape":
            FeedbackAlignmentFlow(W1, W2, np.ones((2, 3)), X, Y)
        elif bad == "nan":
            FeedbackAlignmentFlow(W1 * np.nan, W2, B, X, Y)
        elif bad == "not_whitened":
            FeedbackAlignmentFlow(W1, W2, B, X + 1.0, Y)
        else:
            aligned_learning_time(1.0, 0.0, 0.0, 0.0)


# ----------------------------------------------------------------------------- full size (slow)
@pytest.mark.slow
def test_lecture_experiment_full_size():
    """784-400-10 tanh on 1000 random binary patterns: frozen top layer -> the loss does not go down;
    both layers under FA -> it does, and the top layer turns toward B (angle well below 90 deg)."""
    from idealnets.simulate.feedback_alignment import random_binary_task

    X, lab = random_binary_task(1000, 784, 10, seed=0)
    st0 = init_mlp([784, 400, 10], 2, seed=1)
    frozen = train_mlp(X, lab, st0, rule="fa", lr=0.02, steps=400, batch_size=50, train_layers=[True, False], record=2)
    assert np.all(frozen.losses[:, -1] > frozen.losses[:, 0] - 0.1)
    assert np.all(np.abs(frozen.angle[:, -1] - 90) < 3)
    both = train_mlp(X, lab, st0, rule="fa", lr=0.02, steps=400, batch_size=50, record=2)
    assert np.all(both.losses[:, -1] < 0.5 * both.losses[:, 0])
    assert np.all(both.angle[:, -1] < 70)


@pytest.mark.slow
def test_gap_to_flow_linear_in_lr_three_rates(seed):
    rng = np.random.default_rng(seed)
    X, Y = whitened_task(6, 4, (3.0, 2.0, 1.5, 1.0), seed=seed)
    W1, W2 = 0.02 * rng.standard_normal((3, 8, 6)), 0.02 * rng.standard_normal((3, 4, 8))
    B = rng.standard_normal((3, 8, 4)) / 2
    flows = [FeedbackAlignmentFlow(W1[e], W2[e], B[e], X, Y) for e in range(3)]
    gaps = []
    for lr in (0.004, 0.002, 0.001):
        steps = int(round(10 / lr))
        run = train_linear(W1, W2, B, X, Y, lr=lr, steps=steps, record=np.linspace(0, steps, 11).astype(int))
        gaps.append(np.max(np.abs(run.W2 @ run.W1 - np.stack([f.map(run.times) for f in flows]))))
    for g0, g1 in zip(gaps, gaps[1:]):
        assert LR_RATIO[0] < g0 / g1 < LR_RATIO[1]
