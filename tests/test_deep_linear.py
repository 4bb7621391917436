"""Deep linear networks: closed forms vs the full matrix gradient flow, vs trained ensembles, limits, bad input."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from idealnets.simulate import DivergenceError
from idealnets.simulate.deep_linear import init_weights, pretrain_layerwise, train, train_from
from idealnets.theory.deep_linear import (
    DeepLinearTheory,
    integrate_gradient_flow,
    balancedness,
    depth_learning_steps,
    effective_u0_two_layer,
    learning_time,
    mode_strength,
    orthogonal_eigen_trajectory,
    orthogonal_learning_time,
    orthogonal_learning_times,
    pretrained_learning_time,
)

# Closed form vs solve_ivp of the full matrix flow from decoupled init: both are exact, the
# only error is the integrator's (rtol 1e-10, atol 1e-12 over O(10) time units) -> 1e-6.
RTOL_FLOW = 1e-6
# Small random init (D = 2, gain g, hidden h): after the alignment transient the remaining
# error comes from the neglected cubic terms during the linear phase and from the
# non-aligned part of the weights, both O(g^2) = O(1e-2) relative to s -> 0.03 s.
ATOL_RANDOM = 0.03
# Discrete GD vs gradient flow: the gap is first order in lr, so halving lr must halve it;
# the ratio equals 2 up to O(lr) corrections -> accept [1.7, 2.3].
GAP_RATIO = (1.7, 2.3)
# Ensemble mean vs theory at the smallest lr used (kappa = 0.01 of the stable limit): the
# O(lr) time shift of a sigmoid with slope ~ s^2/2 gives ~ kappa * ln(s/u0) ~ 0.1 s; we ask 0.05 s.
ATOL_GD = 0.05
# Pretraining: autoencoders stop at relative excess loss 1e-8 -> singular values within 1e-3 of 1.
ATOL_ISOMETRY = 1e-3


def whitened_data(rng, n_in=5, n_out=3, s=(2.5, 1.5, 0.7)):
    P = n_in
    X = np.sqrt(P) * np.linalg.qr(rng.standard_normal((n_in, n_in)))[0]
    U = np.linalg.qr(rng.standard_normal((n_out, len(s))))[0]
    V = np.linalg.qr(rng.standard_normal((n_in, len(s))))[0]
    return X, U @ np.diag(s) @ V.T @ X


def full_flow(weights, Sxx, Syx, times):
    """solve_ivp of tau dW_l/dt = -dL/dW_l for all layers (the full matrix ODE): maps and weights at times."""
    Wt = integrate_gradient_flow(weights, Sxx, Syx, times)
    maps = Wt[0]
    for w in Wt[1:]:
        maps = w @ maps
    return maps, [[w[k] for w in Wt] for k in range(len(times))]


# -- closed forms vs the full matrix gradient flow ------------------------------------------------
@pytest.mark.parametrize("D", [1, 2, 3, 4])
def test_decoupled_init_matches_full_matrix_flow(D, rng):
    X, Y = whitened_data(rng)
    th = DeepLinearTheory(X, Y, depth=D, u0=0.05)
    W0 = [w[0].numpy() for w in init_weights(X, Y, depth=D, width=4, n_networks=1, init="decoupled",
                                              init_scale=0.05, seed=int(rng.integers(1 << 30)))]
    t = np.linspace(0, 12 if D < 4 else 20, 25)
    maps, _ = full_flow(W0, X @ X.T / X.shape[1], Y @ X.T / X.shape[1], t)
    ref = th.map(t)
    assert np.max(np.abs(maps - ref)) <= RTOL_FLOW * np.max(np.abs(ref))


def test_isotropic_input_rescaling_matches_full_flow(rng):
    X, Y = whitened_data(rng)
    c = 0.3
    Xc = np.sqrt(c) * X  # Sxx = c I
    th = DeepLinearTheory(Xc, Y, depth=2, u0=0.05)
    assert th.c == pytest.approx(c)
    W0 = [w[0].numpy() for w in init_weights(Xc, Y, depth=2, width=3, n_networks=1, init="decoupled",
                                              init_scale=0.05, seed=1)]
    # decoupled init uses the SVD of Syx: the product starts at 0.05 U V^T, i.e. u0 = 0.05
    t = np.linspace(0, 30, 16)
    maps, _ = full_flow(W0, Xc @ Xc.T / Xc.shape[1], Y @ Xc.T / Xc.shape[1], t)
    assert np.max(np.abs(maps - th.map(t))) <= RTOL_FLOW * np.max(np.abs(th.map(np.inf)))
    assert np.allclose(th.map(np.inf) @ (Xc @ Xc.T / Xc.shape[1]), Y @ Xc.T / Xc.shape[1])


def test_small_random_init_two_layer_after_transient(rng):
    X, Y = whitened_data(rng)
    th = DeepLinearTheory(X, Y, depth=2)
    h, g = 24, 0.1
    W0 = [rng.standard_normal((h, 5)) * g / np.sqrt(h), rng.standard_normal((3, h)) * g / np.sqrt(h)]
    u0 = effective_u0_two_layer(W0[0], W0[1], th.U, th.V)
    t = np.linspace(0, 14, 57)
    maps, _ = full_flow(W0, np.eye(5), Y @ X.T / 5, t)
    proj = np.einsum("ia,rij,ja->ra", th.U, maps, th.V)
    pred = mode_strength(t[:, None], th.s, u0, 2)
    after = t[:, None] >= 2.0 / th.s[None, :]
    err = np.abs(pred - proj) / th.s
    assert np.max(err[after]) < ATOL_RANDOM
    # and the raw initial projection would be a much worse prescription
    naive = mode_strength(t[:, None], th.s, np.abs(proj[0]), 2)
    assert np.max((np.abs(naive - proj) / th.s)[after]) > 3 * np.max(err[after])


# Small random init at D = 3 (gain 0.1, width 16), decoupled solution matched at the 5% point:
# the strongest mode has no competitor and follows it within 0.05 s over 8 seeds (measured
# <= 0.049); weaker modes can transiently *lose* strength while a stronger mode takes over the
# shared random middle layer (a coupling the decoupled theory ignores; e.g. 0.12 -> 0.07 for
# s = 1.5 while s = 2.5 is learned), so for them we only require the median error.
ATOL_RANDOM_DEEP_TOP = 0.06
ATOL_RANDOM_DEEP_MEDIAN = 0.02


def test_small_random_init_depth3_after_matching():
    from idealnets.theory.deep_linear import u0_through

    top, rest = [], []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        X, Y = whitened_data(rng)
        th = DeepLinearTheory(X, Y, depth=3)
        h, g = 16, 0.1
        W0 = [rng.standard_normal((h, 5)) * g / np.sqrt(5), rng.standard_normal((h, h)) * g / np.sqrt(h),
              rng.standard_normal((3, h)) * g / np.sqrt(h)]
        t = np.linspace(0, 60, 3001)
        maps, _ = full_flow(W0, np.eye(5), Y @ X.T / 5, t)
        proj = np.einsum("ia,rij,ja->ra", th.U, maps, th.V)
        for a in range(th.n_modes):
            i = np.argmax(proj[:, a] > 0.05 * th.s[a])
            pred = mode_strength(t[i:] - t[i], th.s[a], proj[i, a], 3)
            err = np.max(np.abs(pred - proj[i:, a])) / th.s[a]
            # u0_through gives the same trajectory started from t = 0
            assert np.allclose(mode_strength(t[i:], th.s[a], u0_through(th.s[a], t[i], proj[i, a], 3), 3), pred,
                               atol=1e-9 * th.s[a])
            (top if a == 0 else rest).append(err)
    assert max(top) < ATOL_RANDOM_DEEP_TOP
    assert np.median(rest) < ATOL_RANDOM_DEEP_MEDIAN


def test_orthogonal_eigenvalue_theory_matches_full_flow(rng):
    N, D, s = 4, 3, 1.5
    X = np.sqrt(N) * np.linalg.qr(rng.standard_normal((N, N)))[0]
    Q = np.linalg.qr(rng.standard_normal((N, N)))[0]
    Ws = [np.linalg.qr(rng.standard_normal((N, N)))[0] for _ in range(D)]
    M0 = Ws[2] @ Ws[1] @ Ws[0]
    if np.linalg.det(Q.T @ M0) < 0:
        Ws[0][0] *= -1
        M0 = Ws[2] @ Ws[1] @ Ws[0]
    t = np.linspace(0, 6, 13)
    maps, _ = full_flow(Ws, np.eye(N), s * Q, t)
    lam = orthogonal_eigen_trajectory(t, np.linalg.eigvals(Q.T @ M0), s, D)
    loss_th = 0.5 * np.sum(np.abs(lam - s) ** 2, axis=-1)
    loss_flow = 0.5 * np.sum((maps - s * Q) ** 2, axis=(1, 2))
    assert np.allclose(loss_flow, loss_th, rtol=1e-6, atol=1e-9)


def _haar_eigenvalues(rng, n, N):
    out = []
    while len(out) < n:
        q, r = np.linalg.qr(rng.standard_normal((N, N)))
        q = q * np.sign(np.diag(r))
        if np.linalg.det(q) > 0:
            out.append(np.linalg.eigvals(q))
    return np.array(out)


@pytest.mark.parametrize("D", [1, 3, 6])
def test_orthogonal_learning_times_stacked_equal_one_network_at_a_time(D, rng):
    # the stacked solve of many networks gives each network's own learning time to the integrator's
    # tolerance (rtol 1e-10; one solve per network differs from an rtol-1e-13 solve by up to ~1e-8)
    from scipy.integrate import solve_ivp

    s, delta, N = 2.0, 0.01, 4
    lam = _haar_eigenvalues(rng, 12, N)
    lam[3] = [1.9, 1.9, 1.9, 1.9]  # starts below the criterion: 0
    lam[5] = [-1.0, 1j, -1j, 1.0]  # for D >= 2 an eigenvalue at -1 is never learned: inf (1/N > delta)
    t = orthogonal_learning_times(lam, s, D, delta)
    assert t.shape == (12,) and t[3] == 0.0 and np.isinf(t[5]) == (D >= 2)
    assert orthogonal_learning_times(lam.reshape(3, 4, N), s, D, delta).shape == (3, 4)
    for k in (0, 7, 11):
        d = lam[k] - s
        rhs = lambda _, y, d=d: -D * np.abs(s + d * np.exp(y)) ** (2 - 2 / D)  # noqa: E731
        ev = lambda _, y, d=d: np.log(np.sum(np.abs(d) ** 2 * np.exp(2 * y)) / (N * s * s) / delta)  # noqa: E731
        ev.terminal = True
        ref = solve_ivp(rhs, (0, 1e3), np.zeros(N), method="DOP853", rtol=1e-13, atol=1e-15, events=ev).t_events[0][0]
        assert t[k] == pytest.approx(ref, rel=1e-9)
        assert orthogonal_learning_time(lam[k], s, D, delta) == pytest.approx(ref, rel=1e-9)
        # the eigenvalue trajectory at the learning time sits on the criterion
        lam_t = orthogonal_eigen_trajectory(t[k], lam[k], s, D)
        assert np.sum(np.abs(lam_t - s) ** 2) / (N * s * s) == pytest.approx(delta, rel=1e-7)


def test_pretrained_chain_matches_full_flow(rng):
    """Isometric hidden layers + a zero-gain aligned readout: the unbalanced chain quadrature is exact."""
    N, D, s = 3, 4, 2.0
    Q = np.linalg.qr(rng.standard_normal((N, N)))[0]
    Ws = [np.linalg.qr(rng.standard_normal((N, N)))[0] for _ in range(D - 1)]
    H = Ws[2] @ Ws[1] @ Ws[0]
    c0 = 0.01
    Ws.append(c0 * Q @ H.T)  # readout aligned with the target: M0 = c0 Q
    t_half = float(pretrained_learning_time(s, s / 2, D, c0=c0))
    maps, _ = full_flow(Ws, np.eye(N), s * Q, np.array([0.0, t_half]))
    u = np.trace(Q.T @ maps[-1]) / N
    assert u == pytest.approx(s / 2, rel=1e-6)


# -- trained ensembles ------------------------------------------------------------------------------
def test_gd_gap_shrinks_linearly_with_lr(rng):
    X, Y = whitened_data(rng)
    th = DeepLinearTheory(X, Y, depth=2, u0=1e-3)
    t_end = 6.0
    gaps = []
    for kappa in (0.04, 0.02, 0.01):
        lr = kappa * th.stable_lr()
        steps = int(round(t_end / lr))
        run = train(X, Y, 2, 4, 4, "decoupled", 1e-3, lr, steps, record=range(0, steps + 1, max(steps // 60, 1)),
                    device="cpu", seed=int(rng.integers(1 << 30)))
        ref = th.map(run.times)
        gaps.append(np.max(np.abs(run.maps.mean(0) - ref)))
    r1, r2 = gaps[0] / gaps[1], gaps[1] / gaps[2]
    assert GAP_RATIO[0] < r1 < GAP_RATIO[1] and GAP_RATIO[0] < r2 < GAP_RATIO[1], gaps
    assert gaps[-1] < ATOL_GD * th.s[0]


def test_balancedness_conserved_in_training(rng):
    X, Y = whitened_data(rng)
    run = train(X, Y, 3, 6, 3, "small", 0.1, 0.01, 400, record=5, device="cpu", seed=3, return_weights=True)
    B0 = balancedness([w[:, 0] for w in run.weights])
    B1 = balancedness([w[:, -1] for w in run.weights])
    scale = max(np.max(np.abs(w[:, -1])) for w in run.weights) ** 2
    # GD changes the conserved quantity only at O(lr^2) per step: 400 * 1e-4 * O(1)
    assert all(np.max(np.abs(a - b)) < 400 * 0.01**2 * 10 * scale for a, b in zip(B0, B1))


def test_pretraining_gives_isometries(rng):
    X, _ = whitened_data(rng)
    Ws, stages = pretrain_layerwise(X, [5, 5, 5, 3], n_networks=3, init_scale=0.01, tol=1e-8, seed=2)
    assert len(Ws) == 3 and stages.shape == (2,) and np.all(stages > 0)
    for W in Ws[:-1]:
        sv = torch.linalg.svdvals(W).numpy()
        assert np.max(np.abs(sv - 1)) < ATOL_ISOMETRY
    assert float(Ws[-1].abs().max()) < 0.1  # readout left small


def test_depth_theory_shapes_of_fig4c():
    D = np.arange(2, 9)
    small = depth_learning_steps(D, "small", s=2.0, gain=0.4)
    pre = depth_learning_steps(D, "pretrained", s=2.0, ae_u0=1e-3)
    pre_ft = depth_learning_steps(D, "pretrained", s=2.0, count_pretraining=False)
    # small: exponential, rate -> ln(1/gain) per layer
    assert np.log(small[-1] / small[-2]) == pytest.approx(np.log(1 / 0.4), rel=0.15)
    # pretraining: linear once the pretraining stages are counted
    assert np.allclose(np.diff(pre, 2), 0, atol=0.1 * np.diff(pre).mean())
    assert np.all(pre_ft < pre)


# -- limits -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("D", [1, 2, 3, 5])
def test_limits_t0_tinf_and_roundtrip(D):
    s = np.array([0.5, 1.0, 3.0])
    u0 = 1e-2
    assert np.allclose(mode_strength(0.0, s, u0, D), u0)
    assert np.allclose(mode_strength(np.inf, s, u0, D), s)
    t = np.array([0.1, 1.0, 4.0])
    u = mode_strength(t[:, None], s, u0, D)
    ok = u < (1 - 1e-6) * s  # near saturation t(u) is ill-conditioned (dt/du ~ 1/(s - u))
    tt = np.broadcast_to(t[:, None], u.shape)
    assert np.allclose(learning_time(s, u0, u, D)[ok], tt[ok], rtol=1e-9)


def test_depth1_is_the_exponential_and_pretrained_chain_reduces_to_it():
    t = np.linspace(0, 5, 11)
    assert np.allclose(mode_strength(t, 2.0, -0.5, 1), 2.0 + (-0.5 - 2.0) * np.exp(-t))
    assert pretrained_learning_time(2.0, 1.5, 1, c0=0.1) == pytest.approx(float(learning_time(2.0, 0.1, 1.5, 1)))


def test_theory_object_limits(rng):
    X, Y = whitened_data(rng)
    th = DeepLinearTheory(X, Y, depth=3, u0=0.01)
    assert np.allclose(th.map(np.inf), Y @ X.T / X.shape[1])
    assert th.loss(np.inf) == pytest.approx(0.5 * np.sum((Y - th.map(np.inf) @ X) ** 2) / X.shape[1], abs=1e-12)
    assert th.mode_strengths(np.zeros((2, 3))).shape == (2, 3, th.n_modes)


# -- bad input ----------------------------------------------------------------------------------------
def test_non_isotropic_input_raises_with_whitening_advice(rng):
    X = rng.standard_normal((4, 50))
    with pytest.raises(ValueError, match="[Ww]hiten"):
        DeepLinearTheory(X, rng.standard_normal((2, 50)))


@pytest.mark.parametrize("bad", [
    dict(X=np.ones(5), Y=np.ones((2, 5))),
    dict(X=np.ones((3, 5)), Y=np.ones((2, 4))),
])
def test_bad_shapes_raise(bad):
    with pytest.raises(ValueError):
        DeepLinearTheory(bad["X"], bad["Y"])
    with pytest.raises(ValueError):
        train(bad["X"], bad["Y"], 2, 3, 2, "small", 0.1, 0.1, 10, device="cpu")


def test_bad_arguments_raise(rng):
    X, Y = whitened_data(rng)
    with pytest.raises(ValueError, match="init"):
        train(X, Y, 2, 3, 2, "bogus", 0.1, 0.1, 10, device="cpu")
    with pytest.raises(ValueError, match="depth"):
        DeepLinearTheory(X, Y, depth=0)
    with pytest.raises(ValueError):
        mode_strength(1.0, -1.0, 0.1)
    with pytest.raises(ValueError):
        learning_time(1.0, 0.1, 2.0)  # beyond s: never reached
    with pytest.raises(ValueError, match="does not follow"):
        train_from([np.ones((3, 5)), np.ones((3, 4)), np.ones((3, 3))], X, Y, lr=0.1, steps=2)


def test_diverging_lr_raises_naming_lr_and_limit(rng):
    X, Y = whitened_data(rng)
    lr = 5 * DeepLinearTheory(X, Y, depth=2).stable_lr()
    with pytest.raises(DivergenceError, match=r"lr=.*stable limit"):
        train(X, Y, 2, 4, 2, "decoupled", 1.0, lr, 2000, device="cpu")


# -- depth study: trained networks vs theory ------------------------------------------------------
# Steps to criterion at kappa = 0.05: the O(lr) time shift is ~ kappa in log(steps) (measured
# 0.052 at kappa = 0.05 and 0.109 at kappa = 0.1 in the depth figure) -> accept 0.1 in log.
LOG_STEPS_TOL = 0.1


def _steps_to(maps, steps, Syx, delta):
    err = np.sum((maps - Syx) ** 2, axis=(-2, -1)) / np.sum(Syx**2)
    return np.array([steps[np.argmax(e <= delta)] if np.any(e <= delta) else np.nan for e in err])


@pytest.mark.parametrize("init", ["small", "pretrained"])
def test_depth_steps_trained_vs_theory(init):
    from idealnets.figures.deep_linear._shared import square_data
    from idealnets.theory.deep_linear import depth_learning_rate

    N, s, D, kappa, delta, gain, readout = 4, 2.0, 3, 0.05, 0.01, 0.4, 0.01
    X, Y, Q = square_data(N, s, seed=0)
    lr = depth_learning_rate(s, D, kappa)
    if init == "small":
        W0 = init_weights(X, Y, depth=D, width=N, n_networks=4, init="decoupled", init_scale=gain**D, seed=1)
        th = depth_learning_steps([D], "small", s=s, delta=delta, kappa=kappa, gain=gain)[0]
        extra = 0
    else:
        W0, stages = pretrain_layerwise(X, [N] * (D + 1), n_networks=4, init_scale=readout, ae_init="orthogonal",
                                        kappa=kappa, tol=delta, check_every=1, seed=1)
        th = depth_learning_steps([D], "pretrained", s=s, delta=delta, kappa=kappa, ae_u0=readout**2,
                                  ae_fraction=1 - np.sqrt(delta))[0]
        extra = stages.sum()
    n = int(2 * th)
    run = train_from(W0, X, Y, lr=lr, steps=n, record=range(n + 1))
    sim = np.median(_steps_to(run.maps, run.steps, s * Q, delta)) + extra
    assert abs(np.log(sim / th)) < LOG_STEPS_TOL


def test_random_two_layer_ensemble_vs_effective_u0(rng):
    """Trained ensemble from small random init vs the sigmoid from u0_eff (after the transient)."""
    X, Y = whitened_data(rng)
    th = DeepLinearTheory(X, Y, depth=2)
    h, g, kappa = 24, 0.1, 0.01
    W0 = init_weights(X, Y, depth=2, width=h, n_networks=8, init="small", init_scale=g / np.sqrt(h),
                      seed=int(rng.integers(1 << 30)))
    u0 = effective_u0_two_layer(W0[0].numpy(), W0[1].numpy(), th.U, th.V)
    lr = kappa * th.stable_lr()
    run = train_from(W0, X, Y, lr=lr, steps=int(14 / lr), record=80)
    proj = np.einsum("ia,erij,ja->era", th.U, run.maps, th.V)
    pred = mode_strength(run.times[None, :, None], th.s, u0[:, None, :], 2)
    after = run.times[:, None] >= 2.0 / th.s[None, :]
    err = np.abs(pred.mean(0) - proj.mean(0)) / th.s
    # ATOL_RANDOM (cubic terms, non-aligned part) plus the O(lr) shift ATOL_GD * kappa/0.01
    assert np.max(err[after]) < ATOL_RANDOM + ATOL_GD


@pytest.mark.slow
@pytest.mark.parametrize("D", [2, 3, 4])
def test_full_size_ensemble_matches_theory_at_small_lr(D, rng):
    """32 networks, width 32, kappa = 0.005: the ensemble mean follows the closed form within 1% of s.

    The O(lr) gap at kappa = 0.005 measured 0.4%, 0.4%, 0.2% of s for D = 2, 3, 4 (and about
    twice that at kappa = 0.01), so 1% leaves room for other seeds without hiding a factor 2.
    """
    X, Y = whitened_data(rng, n_in=10, n_out=5, s=(3.0, 2.0, 1.2, 0.8, 0.5))
    th = DeepLinearTheory(X, Y, depth=D, u0=1e-3)
    lr = 0.005 * th.stable_lr()
    t_end = 1.2 * float(learning_time(0.5, 1e-3, 0.99 * 0.5, D))
    run = train(X, Y, D, 32, 32, "decoupled", 1e-3, lr, int(t_end / lr), record=100, device="cpu", seed=5)
    proj = np.einsum("ia,erij,ja->era", th.U, run.maps, th.V)
    assert np.max(np.abs(proj.mean(0) - th.mode_strengths(run.times)) / th.s) < 0.01


@pytest.mark.parametrize("isotropic", [True, False])
def test_closed_form_gd_step_matches_autograd(isotropic, rng):
    """One batched GD step equals W - lr * autograd gradient of the mean squared loss (both Sxx paths)."""
    X, Y = whitened_data(rng)
    if not isotropic:
        X = rng.standard_normal((5, 40))
        Y = rng.standard_normal((3, 40))
    W0 = init_weights(X, Y, depth=3, width=4, n_networks=2, init="small", init_scale=0.5, seed=4)
    lr = 0.01
    run = train_from(W0, X, Y, lr=lr, steps=1, record=[0, 1], return_weights=True)
    Xt, Yt = torch.as_tensor(X), torch.as_tensor(Y)
    for e in range(2):
        Ws = [w[e].clone().requires_grad_(True) for w in W0]
        M = Ws[2] @ Ws[1] @ Ws[0]
        loss = 0.5 * ((Yt - M @ Xt) ** 2).sum() / X.shape[1]
        loss.backward()
        assert run.losses[e, 0] == pytest.approx(float(loss.detach()), rel=1e-12)
        for l in range(3):
            expected = (Ws[l] - lr * Ws[l].grad).detach().numpy()
            assert np.allclose(run.weights[l][e, 1], expected, rtol=1e-12, atol=1e-14)


def test_integrate_gradient_flow_depth1_is_exact_exponential(rng):
    # D = 1: tau dW/dt = Syx - W Sxx, so W(t) - W* = (W0 - W*) expm(-Sxx t), W* = Syx Sxx^{-1}.
    from scipy.linalg import expm

    A = rng.standard_normal((4, 4))
    Sxx, Syx, W0 = A @ A.T / 4 + 0.5 * np.eye(4), rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    t = np.array([0.0, 0.3, 2.0])
    (W,) = integrate_gradient_flow([W0], Sxx, Syx, t)
    W_star = Syx @ np.linalg.inv(Sxx)
    exact = np.array([W_star + (W0 - W_star) @ expm(-Sxx * tk) for tk in t])
    np.testing.assert_allclose(W, exact, rtol=0, atol=1e-9)
    with pytest.raises(ValueError, match="increasing"):
        integrate_gradient_flow([W0], Sxx, Syx, [1.0, 0.5])


# Newton's result for one entry does not depend on its seed beyond rounding of y = log|c - a|
# (a relative 1e-15 step criterion): a mode solved with the others (its quantities computed once per
# mode, seeded from the shared table) and the same entry solved alone agree far below 1e-12.
RTOL_GROUPED = 1e-12


@pytest.mark.parametrize("D", [3, 4, 7])
def test_many_modes_and_times_equal_each_entry_alone(D):
    """mode_strength over (times x modes), with repeated modes, a start above the fixed point, a start at it,
    t = 0 and t = inf, equals every entry computed on its own (issue 26: per-mode work, shared seed table)."""
    rng = np.random.default_rng(3)
    times = np.concatenate([[0.0], np.logspace(-3, 2, 60), [np.inf]])
    s = np.concatenate([rng.uniform(0.3, 3.0, 10), [1.5, 1.5, 0.8, 2.0]])
    u0 = np.concatenate([10 ** rng.uniform(-6, 0, 10), [1e-3, 1e-3, 2.5, 2.0]])  # 2.5 > s; 2.0 = s
    together = mode_strength(times[:, None], s, u0, D)
    alone = np.array([[mode_strength(t, si, ui, D) for si, ui in zip(s, u0)] for t in times])
    np.testing.assert_allclose(together, alone, rtol=RTOL_GROUPED, atol=0)
    # the same entries with s and u0 given per entry (no mode shared by several times) agree as well
    full = mode_strength(times[:, None], np.broadcast_to(s, together.shape), np.broadcast_to(u0, together.shape), D)
    np.testing.assert_allclose(full, together, rtol=RTOL_GROUPED, atol=0)


def test_map_of_many_times_equals_one_time_at_a_time(rng):
    """DeepLinearTheory.map over an array of times (one matrix product for all) equals its value at each time."""
    X, Y = whitened_data(rng)
    th = DeepLinearTheory(X, Y, depth=4, u0=1e-2)
    t = np.array([[0.0, 0.5, 3.0], [10.0, 40.0, 100.0]])
    maps = th.map(t)
    assert maps.shape == (2, 3, Y.shape[0], X.shape[0])
    for i in np.ndindex(t.shape):
        np.testing.assert_allclose(maps[i], th.map(t[i]), rtol=RTOL_GROUPED, atol=1e-15)


@pytest.mark.parametrize("D", [3, 4, 6])
def test_theory_object_reuses_the_modes_setup_bit_for_bit(D, rng):
    """DeepLinearTheory computes the modes' part of the depth >= 3 inversion once and reuses
    it at every call: the strengths equal mode_strength's, bit for bit, and a changed u0 rebuilds it."""
    X, Y = whitened_data(rng, n_in=6, n_out=5, s=(3.0, 2.0, 2.0, 1.0, 0.4))
    u0 = np.array([1e-2, 1e-5, 1e-5, 0.3, 2.0])  # a repeated mode, and one above its fixed point
    th = DeepLinearTheory(X, Y, depth=D, u0=u0)
    t = np.concatenate([[0.0], np.logspace(-2, 2, 60), [np.inf]])

    def alone(t, u0):  # the module function, without the object's setup
        return mode_strength(th.c * t[:, None], th.s / th.c, u0, D)

    for _ in range(2):
        assert np.array_equal(th.mode_strengths(t), alone(t, u0))
    assert np.array_equal(th.mode_strengths(t[:3]), alone(t[:3], u0))
    th.u0[1] = 1e-3
    assert np.array_equal(th.mode_strengths(t), alone(t, th.u0))
