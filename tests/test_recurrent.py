"""Linear RNN theory: gradients (BPTT = RTRL = autograd; TBPTT = detach), the mode flow vs the full
weight ODE, its limits and predictions, and trained ensembles vs theory."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

import idealnets.simulate.recurrent as sr
from idealnets.theory.recurrent import (
    LinearRNNTheory,
    bptt_gradient,
    delayed_copy_profile,
    gradient_norm_through_time,
    lag_correlations,
    lag_maps,
    lag_task,
    leaky_integrator_profile,
    mode_balance,
    mode_hessian,
    mode_loss,
    mode_reduction,
    mode_rhs,
    optimal_geometric_fit,
    rnn_forward,
    rnn_loss,
    rtrl_gradient,
    spectral_radius,
    tbptt_bias,
    tbptt_gradient,
    tbptt_learnable,
    whitened_sequences,
    window_sum_profile,
)

# Reverse mode, forward mode and autograd sum the same O(T N) float64 products in different
# orders: they agree to ~1e-15 relative; 1e-12 leaves three decades for larger sizes.
RTOL_GRAD = 1e-12
# Mode flow (LSODA, rtol 1e-12) vs the full weight ODE (DOP853, rtol 1e-12): measured
# 2e-11..2e-10 of the weight scale; the target is 1e-8.
RTOL_ODE = 1e-8
# Two integrations of the same 3-d flow (or the T = 1 closed form vs the integrator): ~1e-11.
RTOL_FLOW = 1e-9
# GD with step lr vs gradient flow: the error is O(lr); halving lr must halve it (ratio 2 +- 20 %;
# measured 2.55 between lr = 0.02 and 0.01, where the O(lr^2) term still shows, so we use 0.01 and 0.005).
GD_RATIO = (1.6, 2.4)
# GD vs flow at lr = 0.01 on the task below: measured max |lag-map error| 0.03 (modes of
# strength 2 rising within ~1 tau); allow 0.06 (= 6 lr in units of the mode scale).
GD_ABS = 0.06
# The fixed point's residual gradient (integrator stops at rhs < 1e-13 of the mode scale).
FIX_ATOL = 1e-10

PROFILES = np.stack([leaky_integrator_profile(5, 0.7, 2.0), window_sum_profile(5, 2, 1.0),
                     delayed_copy_profile(5, 1, 0.8)], axis=1)


def _torch_grads(W, X, Y, *, k=None, readout="final", activation="linear"):
    """Autograd reference: TBPTT(k) by h.detach() right after step T - k."""
    Wt = [torch.tensor(w, requires_grad=True) for w in W]
    Xt = torch.tensor(X)
    T, P = X.shape[1], X.shape[2]
    h = torch.zeros(W[0].shape[0], P, dtype=torch.float64)
    L = 0.0
    phi = (lambda z: z) if activation == "linear" else torch.tanh
    for t in range(1, T + 1):
        h = phi(Wt[1] @ h + Wt[0] @ Xt[:, t - 1])
        if readout == "all":
            L = L + ((Wt[2] @ h - torch.tensor(Y[:, t - 1])) ** 2).sum() / (2 * P)
        if k is not None and t == T - k:
            h = h.detach()
    if readout == "final":
        L = ((Wt[2] @ h - torch.tensor(Y)) ** 2).sum() / (2 * P)
    L.backward()
    return [w.grad.numpy() for w in Wt]


def _random_problem(rng, n_in=3, n_h=4, n_out=2, T=5, P=7, scale=0.6, readout="final"):
    W = (rng.standard_normal((n_h, n_in)) * scale, rng.standard_normal((n_h, n_h)) * scale / np.sqrt(n_h),
         rng.standard_normal((n_out, n_h)) * scale)
    X = rng.standard_normal((n_in, T, P))
    Y = rng.standard_normal((n_out, P) if readout == "final" else (n_out, T, P))
    return W, X, Y


def _close(a, b, rtol):
    scale = max(np.max(np.abs(b)), 1e-300)
    np.testing.assert_allclose(a, b, rtol=0, atol=rtol * scale)


# ----------------------------------------------------------------------------- credit assignment
@pytest.mark.parametrize("readout", ["final", "all"])
def test_bptt_equals_rtrl_equals_autograd(readout, rng):
    W, X, Y = _random_problem(rng, readout=readout)
    ref = _torch_grads(W, X, Y, readout=readout)
    for got in (bptt_gradient(W, X, Y, readout=readout), rtrl_gradient(W, X, Y, readout=readout)):
        for g, r in zip(got, ref):
            _close(g, r, RTOL_GRAD)


def test_tbptt_is_detach_and_keeps_the_stated_terms(rng):
    W, X, Y = _random_problem(rng, T=6)
    Wx, Wh, Wy = W
    T, P = X.shape[1], X.shape[2]
    full = bptt_gradient(W, X, Y)
    E = (Wy @ rnn_forward(W, X)[:, -1] - Y) / P
    H = rnn_forward(W, X)
    for k in range(1, T + 3):
        got = tbptt_gradient(W, X, Y, k)
        for g, r in zip(got, _torch_grads(W, X, Y, k=k)):
            _close(g, r, RTOL_GRAD)
        # the documented bookkeeping: dW_x keeps lags l < k; dW_h keeps steps t > T - k
        gx = sum(np.linalg.matrix_power(Wh, l).T @ Wy.T @ E @ X[:, T - 1 - l].T for l in range(min(k, T)))
        gh = sum(np.linalg.matrix_power(Wh, l).T @ Wy.T @ E @ H[:, T - 1 - l].T for l in range(min(k, T)))
        _close(got[0], gx, RTOL_GRAD)
        _close(got[1], gh, RTOL_GRAD)
        _close(got[2], full[2], RTOL_GRAD)  # the readout gradient is never truncated
        if k >= T:
            for g, r in zip(got, full):
                np.testing.assert_array_equal(g, r)
            assert all(np.all(b == 0) for b in tbptt_bias(W, X, Y, k))
    assert np.max(np.abs(tbptt_bias(W, X, Y, 1)[0])) > 1e-3  # truncation really drops terms


@pytest.mark.parametrize("activation", ["linear", "tanh"])
@pytest.mark.parametrize("readout", ["final", "all"])
def test_batched_trainer_gradients_match_autograd(activation, readout, rng):
    W, X, Y = _random_problem(rng, readout=readout, scale=1.0)
    Wb = tuple(torch.tensor(np.stack([w, 0.5 * w])) for w in W)
    methods = [("bptt", None), ("rtrl", None)] + ([("tbptt", 2), ("tbptt", 9)] if readout == "final" else [])
    for method, k in methods:
        got = sr.gradients(Wb, X, Y, method=method, k=k, activation=activation, readout=readout)
        for e, scale in enumerate((1.0, 0.5)):
            ref = _torch_grads([scale * w for w in W], X, Y, k=k, readout=readout, activation=activation)
            for g, r in zip(got, ref):
                _close(g[e].numpy(), r, RTOL_GRAD)


def test_bad_input_is_refused(rng):
    W, X, Y = _random_problem(rng)
    with pytest.raises(ValueError, match="T >= 1"):
        bptt_gradient(W, np.zeros((3, 0, 7)), Y)
    with pytest.raises(ValueError, match="T >= 1"):
        tbptt_gradient(W, np.zeros((3, 0, 7)), Y, 1)
    for k in (0, -2):
        with pytest.raises(ValueError, match="k"):
            tbptt_gradient(W, X, Y, k)
    with pytest.raises(TypeError):
        tbptt_gradient(W, X, Y, 1.5j)
    with pytest.raises(ValueError):
        tbptt_gradient(W, X, Y, 2.5)
    with pytest.raises(ValueError):
        bptt_gradient(W, X, Y[:, :3])
    with pytest.raises(ValueError):
        bptt_gradient((W[0], W[1][:2], W[2]), X, Y)
    with pytest.raises(ValueError, match="finite"):
        bptt_gradient(W, np.where(X > 1, np.nan, X), Y)
    with pytest.raises(TypeError):
        bptt_gradient(W[:2], X, Y)
    Wb = tuple(torch.tensor(w[None]) for w in W)
    with pytest.raises(ValueError):
        sr.gradients(Wb, X, Y, method="tbptt", k=0)
    with pytest.raises(ValueError):
        sr.gradients(Wb, np.zeros((3, 0, 7)), Y)
    with pytest.raises(ValueError):
        sr.gradients(Wb, X, Y, method="tbptt")
    with pytest.raises(ValueError):
        sr.train(Wb, X, Y, lr=-0.1, steps=3)


# ----------------------------------------------------------------------------- the mode reduction
@pytest.mark.parametrize("readout", ["final", "all"])
def test_reduction_recovers_the_lag_profiles(readout, seed):
    rng = np.random.default_rng(seed)
    U = np.linalg.qr(rng.standard_normal((4, 3)))[0]
    V = np.linalg.qr(rng.standard_normal((5, 3)))[0]
    X, Y = lag_task(PROFILES, U=U, V=V, seed=seed, readout=readout)
    red = mode_reduction(X, Y, readout=readout)
    # modes are ordered by decreasing sum_k w_k s_k^2, signed so that the largest |s_k| is positive
    order = np.argsort(-np.sum(red.w[:, None] * PROFILES**2, axis=0))
    np.testing.assert_allclose(red.s, PROFILES[:, order], atol=1e-12)
    np.testing.assert_allclose(np.abs(red.U.T @ U[:, order]), np.eye(3), atol=1e-10)
    assert abs(red.residual_loss) < 1e-12
    C = lag_correlations(X, Y, readout=readout)
    np.testing.assert_allclose(C, np.einsum("or,kr,ir->koi", red.U, red.w[:, None] * red.s, red.V), atol=1e-12)


def test_reduction_refuses_tasks_without_shared_singular_vectors(rng):
    X = whitened_sequences(3, 4, seed=1)
    A = rng.standard_normal((4, 3, 3))  # independent random map per lag
    Y = np.einsum("koi,ikp->op", A, X[:, ::-1])
    with pytest.raises(ValueError, match="do not share singular vectors"):
        mode_reduction(X, Y)
    with pytest.raises(ValueError, match="do not share singular vectors"):
        LinearRNNTheory(X, Y)
    Xc = rng.standard_normal(X.shape)  # not white over time
    with pytest.raises(ValueError, match="white across time"):
        LinearRNNTheory(Xc, Y)


def _weight_ode(W0, X, Y, times, grad):
    shapes = [w.shape for w in W0]

    def f(_, z):
        ws, i = [], 0
        for sh in shapes:
            n = sh[0] * sh[1]
            ws.append(z[i:i + n].reshape(sh))
            i += n
        return -np.concatenate([g.ravel() for g in grad(tuple(ws))])

    z0 = np.concatenate([w.ravel() for w in W0])
    sol = solve_ivp(f, (0, times[-1]), z0, t_eval=times, method="DOP853", rtol=1e-12, atol=1e-14)
    out, i = [], 0
    for sh in shapes:
        n = sh[0] * sh[1]
        out.append(sol.y[i:i + n].T.reshape(-1, *sh))
        i += n
    return out


@pytest.mark.parametrize("case", ["bptt", "tbptt2", pytest.param("all", marks=pytest.mark.slow)])
def test_mode_flow_matches_full_weight_ode(case, seed):
    rng = np.random.default_rng(seed)
    readout = "all" if case == "all" else "final"
    X, Y = lag_task(PROFILES, seed=seed, readout=readout)
    k = 2 if case == "tbptt2" else None
    b0, a0, c0 = rng.uniform(0.05, 0.4, 3), rng.uniform(-0.4, 0.4, 3), rng.uniform(0.05, 0.4, 3)
    th = LinearRNNTheory(X, Y, b0=b0, a0=a0, c0=c0, readout=readout, truncation=k)
    R = np.linalg.qr(rng.standard_normal((3, 3)))[0]  # random hidden frame (N_h = r; see the next test for N_h > r)
    times = np.array([0.0, 0.3, 1.0, 3.0, 8.0, 20.0])
    W0 = tuple(w for w in th.weights(0.0, R=R))
    grad = ((lambda W: tbptt_gradient(W, X, Y, k)) if k else (lambda W: bptt_gradient(W, X, Y, readout=readout)))
    ode = _weight_ode(W0, X, Y, times, grad)
    for got, want in zip(th.weights(times, R=R), ode):
        _close(got, want, RTOL_ODE)
    losses = [rnn_loss(tuple(w[i] for w in ode), X, Y, readout=readout) for i in range(times.size)]
    _close(th.loss(times), np.array(losses), RTOL_ODE)
    if k is None:  # gradient flow: c^2 - b^2 conserved, loss non-increasing
        st_ = th.modes(times)
        np.testing.assert_allclose(mode_balance(st_.b, st_.c), np.broadcast_to(c0**2 - b0**2, (6, 3)), atol=1e-9)
        assert np.all(np.diff(th.loss(np.linspace(0, 30, 200))) <= 1e-12)


def test_spare_hidden_units_destabilise_non_geometric_modes(seed):
    """The aligned solution is invariant for any N_h >= r, but with spare hidden units it is transversally
    unstable when the profile is not geometric: a 1e-8 perturbation grows and the network leaves the mode
    manifold (a non-normal W_h fits the window better than any u a^k), ending below the mode fixed point.
    For a geometric profile (leaky integrator, fitted exactly) the perturbation stays small."""
    rng = np.random.default_rng(seed)
    for prof, grows in ((leaky_integrator_profile(4, 0.6, 1.5), False), (window_sum_profile(4, 2, 1.5), True)):
        X, Y = lag_task(prof, seed=seed)
        th = LinearRNNTheory(X, Y, b0=0.3, a0=0.2, c0=0.3)
        R = np.linalg.qr(rng.standard_normal((4, 1)))[0]
        W0 = tuple(w + 1e-8 * rng.standard_normal(w.shape) for w in th.weights(0.0, R=R))
        times = np.array([0.0, 40.0])
        ode = _weight_ode(W0, X, Y, times, lambda W: bptt_gradient(W, X, Y))
        dev = max(np.max(np.abs(a[-1] - b[-1])) for a, b in zip(th.weights(times, R=R), ode))
        end_loss = rnn_loss(tuple(w[-1] for w in ode), X, Y)
        if grows:
            assert dev > 1e-2 and end_loss < float(th.loss(np.inf)) - 1e-3
        else:
            assert dev < 1e-6


def test_limits_initial_fixed_point_and_closed_form(seed):
    rng = np.random.default_rng(seed)
    th = LinearRNNTheory.from_profiles(PROFILES, b0=0.1, a0=rng.uniform(0, 0.3, 3), c0=0.12)
    st0 = th.modes(0.0)
    np.testing.assert_array_equal(st0.b, np.full(3, 0.1))
    assert th.modes(np.zeros((2, 4))).a.shape == (2, 4, 3)
    inf = th.modes(np.inf)
    # t = inf is a stationary point, a local minimum, and here the global geometric best fit
    for m in range(3):
        r = mode_rhs(inf.b[m], inf.a[m], inf.c[m], PROFILES[:, m])
        assert np.max(np.abs(r)) < FIX_ATOL
        assert np.linalg.eigvalsh(mode_hessian(inf.b[m], inf.a[m], inf.c[m], PROFILES[:, m]))[0] > -1e-9
        u, a, lmin = optimal_geometric_fit(PROFILES[:, m])
        np.testing.assert_allclose(abs(inf.a[m]), abs(a), atol=1e-6)
        np.testing.assert_allclose(mode_loss(inf.b[m], inf.a[m], inf.c[m], PROFILES[:, m]), lmin, atol=1e-10)
    np.testing.assert_allclose(th.modes(1e12).a, inf.a, rtol=0, atol=0)
    # leaky integrator is geometric: learned exactly, recurrent eigenvalue = the leak
    np.testing.assert_allclose(inf.a[0], 0.7, atol=1e-8)
    # T = 1 with b0 = c0: Saxe's closed form, equal to integrating the flow
    th1 = LinearRNNTheory.from_profiles([[1.5, 0.5]], b0=0.1, a0=0.3)
    assert th1._sol.closed.all()
    t = np.array([0.0, 0.5, 2.0, 6.0])
    f = lambda _, z: np.concatenate(mode_rhs(z[:2], z[2:4], z[4:], np.array([1.0]), np.array([1.0])))
    for m, s0 in enumerate((1.5, 0.5)):
        g = lambda _, z, s0=s0: np.array(mode_rhs(z[0], z[1], z[2], np.array([s0])))
        sol = solve_ivp(g, (0, 6), [0.1, 0.3, 0.1], t_eval=t, rtol=1e-12, atol=1e-14, method="DOP853")
        np.testing.assert_allclose(th1.modes(t).b[:, m], sol.y[0], atol=RTOL_FLOW)
    del f


def test_order_of_learning_and_lags():
    """Larger s_0 first; within a mode the lag maps c a^k b rise in order of k (temporal precedence)."""
    s = np.stack([leaky_integrator_profile(6, 0.8, 2.0), leaky_integrator_profile(6, 0.8, 1.0)], axis=1)
    th = LinearRNNTheory.from_profiles(s, b0=1e-3, a0=0.0, c0=1e-3)
    t_half = th.learning_time(0.5)
    assert t_half[0] < t_half[1]
    t = np.linspace(2.0, 6.0, 20001)
    frac = th.mode_maps(t)[:, :, 0] / s[:, 0]  # (t, k): fraction of each lag learned
    first = [int(np.argmax(frac[:, k] >= 0.5)) for k in range(6)]
    t_k = [np.interp(0.5, frac[j - 1:j + 1, k], t[j - 1:j + 1]) for k, j in enumerate(first)]
    assert np.all(np.diff(t_k) > 0)  # lag k reaches half its target after lag k - 1
    # ... but a overshoots the leak while c b catches up, so distant lags transiently overshoot
    assert frac[:, 5].max() > 1.1 and th.modes(t).a[:, 0].max() > 0.85
    # T dependence: the escape from the origin has rate ~ s_0 for any T; the lags add a
    # correction that saturates like leak^(2T)
    times = np.array([LinearRNNTheory.from_profiles(leaky_integrator_profile(T, 0.5, 1.0), b0=1e-3,
                                                    c0=1e-3).learning_time(0.5)[0] for T in (1, 3, 6, 12)])
    assert 0.9 < times[-1] / times[0] < 1.2
    assert abs(times[3] - times[2]) < 1e-3 * times[3] < abs(times[2] - times[1])


def test_stability_and_extrapolation():
    # the sum over the whole sequence is a perfect integrator: a* = 1, exact on longer sequences
    th = LinearRNNTheory.from_profiles(window_sum_profile(4, 4), b0=0.2, a0=0.5, c0=0.2)
    np.testing.assert_allclose(th.recurrent_eigenvalues(np.inf), [1.0], atol=1e-7)
    assert th.extrapolation_loss(window_sum_profile(12, 12)) < 1e-10
    # a profile growing with the lag needs |a| > 1: unstable, and extrapolation error grows with T'
    th = LinearRNNTheory.from_profiles(leaky_integrator_profile(4, 1.2, 0.5), b0=0.2, a0=0.5, c0=0.2)
    a = th.recurrent_eigenvalues(np.inf)[0]
    np.testing.assert_allclose(a, 1.2, atol=1e-7)
    errs = [float(th.extrapolation_loss(np.zeros(Tp))) for Tp in (4, 8, 16)]
    assert errs[0] < errs[1] < errs[2]  # (1/2) u^2 sum_{k<T'} a^{2k}: geometric growth in T'
    np.testing.assert_allclose(errs[2] / errs[1], (a**32 - 1) / (a**16 - 1), rtol=1e-9)


def test_tbptt_cannot_learn_lags_beyond_the_window():
    d, T = 2, 5
    s = delayed_copy_profile(T, d)
    for k in range(1, T + 1):
        th = LinearRNNTheory.from_profiles(s, b0=0.05, a0=0.3, c0=0.05, truncation=k)
        l0, linf = float(th.loss(0.0)), float(th.loss(np.inf))
        assert tbptt_learnable(s, k) == (k > d)
        if k <= d:
            assert th.modes(np.inf).b[0] == pytest.approx(0.0, abs=1e-8)
            assert linf == pytest.approx(0.5, abs=1e-6)  # nothing learned: (1/2) s_d^2
            assert linf > l0 - 1e-12 or abs(linf - l0) < 1e-3
        else:
            assert linf < 0.9 * l0  # learned (one geometric mode fits a pure delay only partly: BPTT 0.4)
            if k < T:  # the truncated flow approaches its limit algebraically (b drifts, c b settles)
                l_mid, l_late = th.loss(np.array([100.0, 1000.0]))
                assert abs(l_late - linf) < 0.3 * abs(l_mid - linf) + 1e-12
                st_inf = th.modes(np.inf)  # the limits: |b| -> inf, c = u/b -> 0 (was NaN before issue 27)
                assert np.isinf(st_inf.b[0]) and st_inf.c[0] == 0.0
    # k >= T is exactly BPTT
    a = LinearRNNTheory.from_profiles(s, b0=0.05, a0=0.3, c0=0.05, truncation=T)
    b = LinearRNNTheory.from_profiles(s, b0=0.05, a0=0.3, c0=0.05)
    np.testing.assert_array_equal(a.loss(np.array([0.5, 5.0])), b.loss(np.array([0.5, 5.0])))


# ----------------------------------------------------------------------------- gradient norm through time
def test_gradient_norm_law(rng):
    n = 8
    Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    k = np.arange(21)
    for rho in (0.7, 1.0, 1.3):
        np.testing.assert_allclose(gradient_norm_through_time(rho * Q, 20), rho**k, rtol=1e-12)
        g = rng.standard_normal(n)
        np.testing.assert_allclose(gradient_norm_through_time(rho * Q, 20, g), rho**k * np.linalg.norm(g),
                                   rtol=1e-12)
    G = rng.standard_normal((n, n))
    G *= 0.9 / spectral_radius(G)
    norms = gradient_norm_through_time(G, 400)
    assert abs(np.log(norms[400] / norms[200]) / 200 - np.log(0.9)) < 0.01  # Gelfand: rate -> log rho
    # trained-code path: autograd's ||dL/dh_t|| equals the theory's ||(W_h^T)^{T-t} dL/dh_T||
    W, X, Y = _random_problem(rng, n_h=n, T=7)
    W = (W[0], 1.2 * Q, W[2])
    got = sr.hidden_gradient_norms(tuple(torch.tensor(w[None]) for w in W), X, Y)[0]
    gT = W[2].T @ (W[2] @ rnn_forward(W, X)[:, -1] - Y) / X.shape[2]
    np.testing.assert_allclose(got[::-1], gradient_norm_through_time(W[1], 6, gT), rtol=1e-12)


# ----------------------------------------------------------------------------- trained ensembles
def _gd_error(lr, X, Y, red, th, t_end=8.0):
    W0 = sr.aligned_init(th.b0, th.a0, th.c0, red.U, red.V, n_hidden=5, n_networks=4, seed=3)
    steps = int(round(t_end / lr))
    run = sr.train(W0, X, Y, lr=lr, steps=steps, record=np.arange(0, steps + 1, steps // 40))  # same times for every lr
    m = sr.lag_map_strengths(run.weights, red.U, red.V, th.T)
    return np.max(np.abs(m - th.mode_maps(run.times)[None])), run


def test_trained_ensemble_matches_theory_gap_linear_in_lr():
    X, Y = lag_task(PROFILES[:3], seed=2)
    red = mode_reduction(X, Y)
    th = LinearRNNTheory(X, Y, b0=0.1, a0=0.2, c0=0.15)
    e2, run = _gd_error(0.01, X, Y, red, th)
    e1, _ = _gd_error(0.005, X, Y, red, th)
    e1, e2 = e2, e1  # e1 at lr, e2 at lr/2
    assert e1 < GD_ABS
    assert GD_RATIO[0] < e1 / e2 < GD_RATIO[1]
    np.testing.assert_allclose(run.losses.mean(0), th.loss(run.times), atol=2 * GD_ABS)
    # the hidden frame R is arbitrary: W_h's learned eigenvalues are the theory's a (plus zeros)
    ev = np.sort(np.linalg.eigvals(run.weights[1][0, -1]).real)[::-1][:3]
    np.testing.assert_allclose(np.sort(ev), np.sort(th.recurrent_eigenvalues(run.times[-1])), atol=GD_ABS)


def test_train_returns_run_and_old_names_still_work(rng):
    """train returns the shared Run; the old keywords ``weights``/``nonlinearity``, the old field
    ``nonlinearity``, the names RNNRun/NONLINEARITIES and the re-export train_rnn keep working."""
    import idealnets.simulate as sim
    from idealnets.simulate.engine import Run

    W, X, Y = _random_problem(rng)
    Wb = tuple(torch.tensor(w[None]) for w in W)
    run = sr.train(Wb, X, Y, lr=0.05, steps=6, activation="tanh", record=[0, 3, 6])
    assert isinstance(run, Run) and sr.RNNRun is Run and sim.RNNRun is Run
    assert run.time_unit == "t = lr * step" and run.activation == "tanh" and run.method == "bptt"
    np.testing.assert_array_equal(run.times, 0.05 * run.steps)
    assert all(a is b for a, b in zip(run.weights, (run.W_x, run.W_h, run.W_y)))
    assert run.weights[1].shape == (1, 3, 4, 4)
    with pytest.warns(DeprecationWarning, match="nonlinearity"):
        assert run.nonlinearity == "tanh"
    with pytest.warns(DeprecationWarning, match="weights"):
        old = sr.train(weights=Wb, X=X, Y=Y, lr=0.05, steps=6, activation="tanh", record=[0, 3, 6])
    np.testing.assert_array_equal(old.losses, run.losses)
    with pytest.warns(DeprecationWarning, match="nonlinearity"):
        old = sr.train(Wb, X, Y, lr=0.05, steps=6, nonlinearity="tanh", record=[0, 3, 6])
    np.testing.assert_array_equal(old.losses, run.losses)
    with pytest.warns(DeprecationWarning, match="nonlinearity"):
        g = sr.gradients(Wb, X, Y, nonlinearity="tanh")
    for a, b in zip(g, sr.gradients(Wb, X, Y, activation="tanh")):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert sr.NONLINEARITIES == sr.ACTIVATIONS
    with pytest.warns(DeprecationWarning, match="simulate.recurrent.train"):
        train_rnn = sim.train_rnn
    np.testing.assert_array_equal(train_rnn(Wb, X, Y, lr=0.05, steps=6, activation="tanh",
                                            record=[0, 3, 6]).losses, run.losses)
    with pytest.raises(TypeError, match="both"):
        sr.train(Wb, X, Y, lr=0.05, steps=6, activation="tanh", nonlinearity="tanh")


# ----------------------------------------------------------------------------- properties
@given(n_in=st.integers(1, 3), n_h=st.integers(1, 4), n_out=st.integers(1, 3), T=st.integers(1, 6),
       k=st.integers(1, 8), seed=st.integers(0, 2**31 - 1))
def test_property_gradients(n_in, n_h, n_out, T, k, seed):
    rng = np.random.default_rng(seed)
    W, X, Y = _random_problem(rng, n_in, n_h, n_out, T, P=3)
    g = bptt_gradient(W, X, Y)
    r = rtrl_gradient(W, X, Y)
    tk = tbptt_gradient(W, X, Y, k)
    for a, b in zip(g, r):
        assert np.all(np.isfinite(a))
        _close(a, b, RTOL_GRAD)
    if k >= T:
        for a, b in zip(tk, g):
            np.testing.assert_array_equal(a, b)
    # lag maps reproduce the network's output
    yhat = np.einsum("koi,ikp->op", lag_maps(W, T), X[:, ::-1])
    _close(yhat, W[2] @ rnn_forward(W, X)[:, -1], 1e-12)


@given(b=st.floats(-2, 2), a=st.floats(-1.5, 1.5), c=st.floats(-2, 2),
       s=st.lists(st.floats(-3, 3), min_size=1, max_size=6))
def test_property_mode_flow_is_descent_and_balanced(b, a, c, s):
    s = np.array(s)
    db, da, dc = mode_rhs(b, a, c, s)
    assert np.isfinite([db, da, dc]).all()
    assert mode_loss(b, a, c, s) >= 0
    # the flow is minus the gradient of the mode loss (checked by central differences)
    h = 1e-6
    num = [(mode_loss(b + h, a, c, s) - mode_loss(b - h, a, c, s)) / (2 * h),
           (mode_loss(b, a + h, c, s) - mode_loss(b, a - h, c, s)) / (2 * h),
           (mode_loss(b, a, c + h, s) - mode_loss(b, a, c - h, s)) / (2 * h)]
    scale = 1 + np.sum(np.abs(s)) * 10 + (abs(b) + abs(c)) ** 2 * 2**6
    np.testing.assert_allclose([-db, -da, -dc], num, atol=1e-6 * scale**2)
    # c^2 - b^2 is conserved: d/dt (c^2 - b^2) = 2 c dc - 2 b db = 0
    assert abs(2 * c * dc - 2 * b * db) <= 1e-9 * scale**2


@given(bad=st.sampled_from([0, -1, -5]), T=st.integers(-2, 0))
def test_property_invalid_input_raises(bad, T):
    rng = np.random.default_rng(0)
    W, X, Y = _random_problem(rng)
    with pytest.raises(ValueError):
        tbptt_gradient(W, X, Y, bad)
    with pytest.raises(ValueError):
        bptt_gradient(W, np.zeros((3, max(T, 0), 7)), Y)
    with pytest.raises(ValueError):
        LinearRNNTheory.from_profiles(PROFILES, truncation=bad)
    with pytest.raises(ValueError):
        delayed_copy_profile(max(T, 0) + 3, 7)
