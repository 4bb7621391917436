"""Exact lambda-balanced two-layer dynamics: vs solve_ivp, vs trained networks, and in its limits."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import expm

from idealnets.theory.deep_linear import DeepLinearTheory, integrate_gradient_flow, mode_strength
from idealnets.theory.lambda_balanced import (
    TwoLayerExact,
    balancedness,
    free_scale,
    is_lambda_balanced,
    lambda_balanced_init,
    lazy_map,
    ntk,
    representation_change,
    riccati_matrix,
    task_loss,
    whitened_task,
)

# solve_ivp (DOP853, rtol 1e-12) and the closed form are both accurate to ~1e-11 here;
# 1e-8 relative (the target) leaves three decades of margin.
RTOL_ODE = 1e-8
# Two algebraically equal forms of the closed form (one matrix exponential vs the
# sub-stepped eigenbasis evaluation) differ only by rounding.
RTOL_FORM = 1e-10
# Gradient descent with step lr deviates from gradient flow by O(lr): measured
# max|W_GD - W_exact| / s_max = (0.2-1.4) * lr over t <= 8 on these tasks; allow 2 lr.
GD_ERR_PER_LR = 2.0
# Halving lr must halve the balancedness drift (O(lr^2) per step, O(lr) in all): ratio 2 +- 15%.
GD_RATIO = (1.7, 2.3)
# The first-order error term cancels in Richardson extrapolation; what is left, O(lr^2),
# must be far below the plain error (measured 0.2%-1.1% of it at lr = 0.002 over 4 seeds).
RICHARDSON_GAIN = 0.05
# Saxe limit: with zero-balanced *decoupled* init the two closed forms are the same
# function, equal to rounding.
RTOL_SAXE = 1e-10

S = (3.0, 2.0, 1.0)


def _ode(W1, W2, X, Y, times):
    """Full weight ODE tau dW1/dt = W2^T (Syx - W2 W1), tau dW2/dt = (Syx - W2 W1) W1^T (whitened input)."""
    P = X.shape[1]
    return tuple(integrate_gradient_flow([W1, W2], X @ X.T / P, Y @ X.T / P, times, rtol=1e-12, atol=1e-14))


SHAPES = [  # (n_in, n_hidden, n_out, lam)
    (5, 3, 3, 0.0),   # rectangular, singular F
    (3, 2, 5, 0.0),   # more outputs than inputs, bottleneck narrower than rank
    (3, 7, 2, 0.0),   # hidden layer wider than both
    (6, 2, 4, 1.0),   # lam > 0, narrow
    (6, 4, 4, -2.0),  # lam < 0
    (4, 3, 4, 0.5),   # square
    (4, 4, 6, -0.3),  # lam < 0 with n_out > n_in
]


@pytest.mark.parametrize("n_in,h,n_out,lam", SHAPES)
def test_closed_form_matches_weight_ode(n_in, h, n_out, lam, seed):
    X, Y = whitened_task(n_in, n_out, S[: min(n_in, n_out, 3)], seed=seed, n_samples=n_in + 2)
    W1, W2 = lambda_balanced_init(n_in, h, n_out, lam, 0.4, seed=seed + 1)
    times = np.array([0.0, 0.2, 1.0, 2.5, 6.0, 14.0])
    ex = TwoLayerExact(W1, W2, X, Y)
    a, b = _ode(W1, W2, X, Y, times)
    for got, want in ((ex.map(times), b @ a), (ex.w1tw1(times), np.swapaxes(a, 1, 2) @ a),
                      (ex.w2w2t(times), b @ np.swapaxes(b, 1, 2))):
        np.testing.assert_allclose(got, want, rtol=0, atol=RTOL_ODE * np.max(np.abs(want)))
    # balancedness is conserved by the ODE itself
    B = balancedness(a, b)
    np.testing.assert_allclose(B, np.broadcast_to(balancedness(W1, W2), B.shape), atol=1e-9)
    # the returned weight realisation reproduces QQ^T (it is exact up to a hidden rotation)
    W1t, W2t = ex.weights(times[1:])
    np.testing.assert_allclose(W2t @ W1t, ex.map(times[1:]), atol=1e-12 * np.max(np.abs(b @ a)))
    assert np.all(is_lambda_balanced(W1t, W2t, lam))


def test_single_matrix_exponential_form(seed):
    """M(t) = e^{Ft} Q0 [I + Q0^T G(t) Q0]^{-1} Q0^T e^{Ft}, G = (2F)^{-1}(e^{2Ft} - I), written out directly."""
    X, Y = whitened_task(4, 4, S, seed=seed)
    W1, W2 = lambda_balanced_init(4, 3, 4, 0.7, 0.5, seed=seed)
    ex = TwoLayerExact(W1, W2, X, Y)
    F = riccati_matrix(Y @ X.T / X.shape[1], 0.7)  # invertible here
    Q0 = np.vstack([W1.T, W2])
    for t in (0.3, 1.7):
        A = expm(F * t)
        G = np.linalg.solve(2 * F, expm(2 * F * t) - np.eye(8))
        M = A @ Q0 @ np.linalg.solve(np.eye(3) + Q0.T @ G @ Q0, Q0.T @ A)
        np.testing.assert_allclose(ex.qqt(t), M, atol=RTOL_FORM * np.max(np.abs(M)))


def test_initial_condition_fixed_point_and_loss(seed):
    X, Y = whitened_task(6, 4, S, seed=seed)
    W1, W2 = lambda_balanced_init(6, 4, 4, 0.3, 0.2, seed=seed)
    ex = TwoLayerExact(W1, W2, X, Y)
    Q0 = np.vstack([W1.T, W2])
    np.testing.assert_allclose(ex.qqt(0.0), Q0 @ Q0.T, atol=1e-14)
    Syx = Y @ X.T / X.shape[1]
    M_inf = ex.qqt(np.inf)
    F = ex.F
    # stationary point of the Riccati equation, reached by the finite-time solution
    np.testing.assert_allclose(F @ M_inf + M_inf @ F, M_inf @ M_inf, atol=1e-10)
    np.testing.assert_allclose(ex.map(np.inf), Syx, atol=1e-12)
    np.testing.assert_allclose(ex.qqt(60.0), M_inf, atol=1e-10)
    # lambda-balancedness survives at the fixed point: W2 W2^T has the lam eigenvalue off the task
    np.testing.assert_allclose(np.linalg.eigvalsh(ex.w2w2t(np.inf))[0], 0.3, atol=1e-10)
    # losses: from the maps, decreasing, zero residual at the fixed point (Y = Syx X exactly)
    t = np.geomspace(1e-3, 30, 40)
    L = ex.loss(t)
    np.testing.assert_allclose(L, task_loss(ex.map(t), X, Y), atol=1e-12)
    assert np.all(np.diff(L) <= 1e-12)
    assert abs(ex.loss(np.inf)) < 1e-12
    # any time-array shape, time on the leading axes
    assert ex.map(np.zeros((2, 3))).shape == (2, 3, 4, 6)


def test_narrow_hidden_layer_learns_top_modes(seed):
    """N_h < rank(Syx): the fixed point is the best rank-N_h map (top N_h modes)."""
    X, Y = whitened_task(5, 4, S, seed=seed)
    W1, W2 = lambda_balanced_init(5, 2, 4, 0.0, 0.1, seed=seed)
    ex = TwoLayerExact(W1, W2, X, Y)
    U, s, Vt = np.linalg.svd(Y @ X.T / X.shape[1])
    best = (U[:, :2] * s[:2]) @ Vt[:2]
    np.testing.assert_allclose(ex.map(np.inf), best, atol=1e-12)
    np.testing.assert_allclose(ex.map(80.0), best, atol=1e-10)


def test_singular_F_null_directions_decay_algebraically(seed):
    """lam = 0, N_in != N_out: F has a null space where the Riccati equation reads dm/dt = -m^2, so
    once the task modes have saturated the residual is exactly 1/(a t + b): 1/dev is linear in t."""
    X, Y = whitened_task(5, 3, S[:2], seed=seed)
    W1, W2 = lambda_balanced_init(5, 3, 3, 0.0, 0.3, seed=seed)
    ex = TwoLayerExact(W1, W2, X, Y)
    t = np.array([200.0, 400.0, 800.0])
    dev = np.array([np.max(np.abs(ex.qqt(tk) - ex.qqt(np.inf))) for tk in t])
    slopes = np.diff(1.0 / dev) / np.diff(t)
    assert slopes[0] > 0
    np.testing.assert_allclose(slopes[1], slopes[0], rtol=1e-6)


def test_unbalanced_initialisation_is_refused(seed):
    X, Y = whitened_task(4, 3, S[:2], seed=seed)
    W1, W2 = lambda_balanced_init(4, 3, 3, 0.5, 0.3, seed=seed)
    W1 = W1.copy()
    W1[0, 0] += 1e-3
    with pytest.raises(ValueError, match="not lambda-balanced.*max\\|W2\\^T W2 - W1 W1\\^T - lambda I\\| = "):
        TwoLayerExact(W1, W2, X, Y)
    rng = np.random.default_rng(seed)
    with pytest.raises(ValueError, match="not lambda-balanced"):
        TwoLayerExact(rng.standard_normal((3, 4)), rng.standard_normal((3, 3)), X, Y)
    with pytest.raises(ValueError, match="whitened"):
        TwoLayerExact(*lambda_balanced_init(4, 3, 3, 0.5, 0.3, seed=seed), 2 * X, Y)


def test_init_structure_and_feasibility(seed):
    for n_in, h, n_out, lam in SHAPES:
        W1, W2 = lambda_balanced_init(n_in, h, n_out, lam, 0.5, seed=seed, size=3)
        assert W1.shape == (3, h, n_in) and W2.shape == (3, n_out, h)
        assert np.all(is_lambda_balanced(W1, W2, lam))
    with pytest.raises(ValueError, match="n_hidden <= n_out"):
        lambda_balanced_init(4, 3, 2, 1.0, 0.1)
    with pytest.raises(ValueError, match="n_hidden <= n_in"):
        lambda_balanced_init(2, 3, 4, -1.0, 0.1)
    # non-aligned: the initial map's singular vectors are not those of the task
    X, Y = whitened_task(4, 4, S, seed=seed)
    W1, W2 = lambda_balanced_init(4, 4, 4, 0.0, 0.5, seed=seed)
    U, _, _ = np.linalg.svd(Y @ X.T / 4)
    Uw, _, _ = np.linalg.svd(W2 @ W1)
    assert np.max(np.abs(U[:, :3].T @ Uw[:, :3])) < 0.99


def test_lambda_zero_decoupled_is_saxe(seed):
    """Zero-balanced decoupled init: the Riccati solution is Saxe et al.'s sigmoid, mode by mode."""
    X, Y = whitened_task(5, 3, S, seed=seed)
    u0 = np.array([1e-3, 2e-3, 5e-4])
    th = DeepLinearTheory(X, Y, depth=2, u0=u0)
    W1, W2 = th.weights(0.0, hidden=3, seed=seed)
    ex = TwoLayerExact(W1, W2, X, Y)
    t = np.linspace(0, 10, 50)
    np.testing.assert_allclose(ex.map(t), th.map(t), atol=RTOL_SAXE * S[0])


def test_lambda_zero_random_small_init_approaches_saxe(seed):
    """Random (non-aligned) zero-balanced init of scale eps -> 0: each singular value of the map follows
    Saxe's sigmoid with u0 = |r_a^perp|^2 / 2, r_a = o_a^T Q0 the projection of the init on the a-th
    positive eigenvector of F, orthogonalised against the faster modes (our derivation: once a mode
    saturates it pins its hidden direction). The error must shrink steadily with eps."""
    X, Y = whitened_task(6, 4, S, seed=seed)
    t = np.linspace(0, 12, 120)
    errs = []
    for eps in (1e-2, 1e-3, 1e-4):
        W1, W2 = lambda_balanced_init(6, 4, 4, 0.0, eps, seed=seed)
        ex = TwoLayerExact(W1, W2, X, Y)
        top = np.argsort(-ex.f)[:3]
        R = ex.O[:, top].T @ ex.Q0
        u0 = 0.5 * np.diag(np.linalg.cholesky(R @ R.T)) ** 2
        sv = np.linalg.svd(ex.map(t), compute_uv=False)[:, :3]
        errs.append(np.max(np.abs(sv - mode_strength(t[:, None], np.array(S), u0, 2))) / S[0])
    errs = np.array(errs)
    assert np.all(errs[:-1] / errs[1:] > 3.0), errs
    assert errs[-1] < 1e-3, errs


@pytest.mark.parametrize("sign", [1, -1])
def test_large_lambda_is_lazy(sign, seed):
    """|lambda| -> inf at fixed initial map size: the map follows the frozen-kernel (NTK) solution
    with error ~ lambda^-2 (t in units of 1/lambda), and the NTK stops moving (~ lambda^-4)."""
    n_in, n_out = 6, 4
    h = n_out if sign > 0 else n_in  # the big layer must have full rank for a fully lazy map
    X, Y = whitened_task(n_in, n_out, S, seed=seed)
    t = np.linspace(0, 12, 60)
    errs, dk = [], []
    lams = np.array([16.0, 64.0, 256.0])
    for lam in lams:
        W1, W2 = lambda_balanced_init(n_in, h, n_out, sign * lam, free_scale(lam, 0.1), seed=seed)
        ex = TwoLayerExact(W1, W2, X, Y)
        errs.append(np.max(np.abs(ex.map(t / lam) - lazy_map(t / lam, W1, W2, X, Y))) / S[0])
        dk.append(float(representation_change(ex)["ntk"]))
    slope = np.polyfit(np.log(lams), np.log(errs), 1)[0]
    assert slope < -1.8, (errs, slope)
    assert np.polyfit(np.log(lams), np.log(dk), 1)[0] < -3.5, dk
    assert errs[-1] < 1e-3


def test_representation_change_lazy_to_rich(seed):
    """Rich (lam ~ 0): the NTK and the hidden kernel change by O(1). Lazy NTK for |lam| large;
    the hidden kernel freezes only for lam < 0 (big first layer): for lam > 0 the small first
    layer still rotates onto the task although the function-space kernel is frozen."""
    X, Y = whitened_task(4, 4, S, seed=seed)

    def change(lam):
        W1, W2 = lambda_balanced_init(4, 4, 4, lam, free_scale(lam, 0.01), seed=seed)
        return representation_change(TwoLayerExact(W1, W2, X, Y))

    rich, lazy_pos, lazy_neg = change(0.0), change(100.0), change(-100.0)
    # kernels of PSD matrices always overlap, so O(1) here means >~ 0.1 (measured 0.19-0.72 over seeds)
    assert rich["ntk"] > 0.1 and rich["hidden"] > 0.1
    assert lazy_pos["ntk"] < 1e-4 and lazy_neg["ntk"] < 1e-4
    assert lazy_neg["hidden"] < 1e-4
    assert lazy_pos["hidden"] > 0.1
    # the closed-form NTK distance equals the one from the explicit Kronecker kernels
    W1, W2 = lambda_balanced_init(4, 4, 4, 0.5, 0.3, seed=seed)
    ex = TwoLayerExact(W1, W2, X, Y)
    W1t, W2t = ex.weights(np.array(3.0))
    K0, K1 = ntk(W1, W2), ntk(W1t, W2t)
    d = 1 - np.sum(K0 * K1) / np.sqrt(np.sum(K0**2) * np.sum(K1**2))
    np.testing.assert_allclose(representation_change(ex, 3.0)["ntk"], d, atol=1e-12)


def test_switching_task_matches_ode(seed):
    """Prior knowledge: learn A, switch to B at t_s; the exact continuation matches the weight ODE."""
    X, YA = whitened_task(4, 3, S, seed=seed)
    U, _, Vt = np.linalg.svd(YA @ X.T / X.shape[1])
    YB = (U[:, :3] * np.array([3.0, -2.0, 1.0])) @ Vt[:3] @ X  # reversal of the second mode
    W1, W2 = lambda_balanced_init(4, 3, 3, 0.2, 0.1, seed=seed)
    t_s = 6.0
    exA = TwoLayerExact(W1, W2, X, YA)
    exB = exA.then(X, YB, t_s)
    a, b = _ode(W1, W2, X, YA, np.array([0.0, t_s]))
    t2 = np.array([0.0, 0.5, 2.0, 5.0])
    a2, b2 = _ode(a[-1], b[-1], X, YB, t2)
    np.testing.assert_allclose(exB.map(t2), b2 @ a2, atol=RTOL_ODE * S[0])
    assert abs(exB.lam - 0.2) < 1e-10


# ----------------------------------------------------------------------------- vs trained networks
def _trained_vs_exact(lam, lr, seed, E=6, T=8.0):
    torch = pytest.importorskip("torch")
    from idealnets.simulate.deep_linear import train_from

    torch.set_num_threads(1)
    X, Y = whitened_task(6, 4, S, seed=seed)
    W1, W2 = lambda_balanced_init(6, 4, 4, lam, free_scale(lam, 0.05), seed=seed, size=E)
    steps = int(round(T / lr))
    run = train_from([W1, W2], X, Y, lr=lr, steps=steps, record=np.linspace(0, steps, 17).round().astype(int),
                     return_weights=True, device="cpu")
    exact = np.stack([TwoLayerExact(W1[e], W2[e], X, Y).map(run.times) for e in range(E)])
    drift = np.max(np.abs(balancedness(run.weights[0], run.weights[1]) - lam * np.eye(4)))
    return run.maps, exact, drift


@pytest.mark.parametrize("lam", [0.0, 2.0, -2.0])
def test_trained_networks_follow_exact_trajectories(lam, seed):
    """Entry by entry, every network of the ensemble against its own exact trajectory. GD is a
    first-order scheme: its gap is lr * D(t) + O(lr^2), so the Richardson combination
    2 W(lr/2) - W(lr) is much closer to the flow, and the balancedness drift halves with lr."""
    lr = 0.004
    maps1, exact, drift1 = _trained_vs_exact(lam, lr, seed)
    maps2, _, drift2 = _trained_vs_exact(lam, lr / 2, seed)
    err2 = np.max(np.abs(maps2 - exact)) / S[0]
    err_rich = np.max(np.abs(2 * maps2 - maps1 - exact)) / S[0]
    assert err2 < GD_ERR_PER_LR * lr / 2, err2
    assert err_rich < RICHARDSON_GAIN * err2, (err_rich, err2)
    assert GD_RATIO[0] < drift1 / drift2 < GD_RATIO[1], (drift1, drift2)


@pytest.mark.slow
@pytest.mark.parametrize("lam", [0.0, 0.5, -0.5])
def test_full_size_exact_vs_ode_and_trained_ensemble(lam, seed):
    """Larger rectangular network (24 -> 12 -> 16, rank-8 task with spread singular values):
    the closed form against solve_ivp and against a 32-network trained ensemble."""
    pytest.importorskip("torch")
    from idealnets.simulate.deep_linear import train_from

    n_in, h, n_out = 24, 12, 16
    s = np.geomspace(4.0, 0.5, 8)
    X, Y = whitened_task(n_in, n_out, s, seed=seed, n_samples=40)
    W1, W2 = lambda_balanced_init(n_in, h, n_out, lam, free_scale(lam, 0.05), seed=seed, size=32)
    times = np.array([0.0, 0.5, 2.0, 5.0, 10.0])
    ex0 = TwoLayerExact(W1[0], W2[0], X, Y)
    a, b = _ode(W1[0], W2[0], X, Y, times)
    np.testing.assert_allclose(ex0.map(times), b @ a, atol=RTOL_ODE * np.max(np.abs(b @ a)))
    lr = 1e-3
    steps = int(round(times[-1] / lr))
    run = train_from([W1, W2], X, Y, lr=lr, steps=steps, record=(times / lr).round().astype(int), device="cpu")
    exact = np.stack([TwoLayerExact(W1[e], W2[e], X, Y).map(run.times) for e in range(32)])
    assert np.max(np.abs(run.maps - exact)) / s[0] < GD_ERR_PER_LR * lr


def test_from_factor_checks_balance(seed):
    X, Y = whitened_task(4, 3, S[:2], seed=seed)
    W1, W2 = lambda_balanced_init(4, 3, 3, 0.5, 0.3, seed=seed)
    Q0 = np.vstack([W1.T, W2])
    ex = TwoLayerExact.from_factor(Q0, X, Y, 0.5)
    np.testing.assert_allclose(ex.map(2.0), TwoLayerExact(W1, W2, X, Y).map(2.0), atol=1e-13)
    with pytest.raises(ValueError, match="not 0.2-balanced"):
        TwoLayerExact.from_factor(Q0, X, Y, 0.2)
