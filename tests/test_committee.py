"""Online SGD in soft committee machines: integrals, ODE, predictions, simulations.

Each closed form is checked against Monte-Carlo / quadrature, the ODE
against its exactly solvable (linear) case, against tighter-tolerance runs and
against online SGD of the networks themselves, and the predictions in their
limits.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import erf

from idealnets.simulate._common import DivergenceError
from idealnets.simulate.committee import init_weights, train, train_from
from idealnets.theory.committee import (
    I2, I3, I4, J2, CommitteeODE, asymptotic_error, asymptotic_error_small_lr, erf_integrals, generalisation_error,
    linear_perceptron_error, stable_lr, order_parameters, plateau_escape_time, specialisation_index,
    symmetric_plateau,
)

# Monte-Carlo checks: |closed form - sample mean| < MC_SIGMAS standard errors
# (two-sided 4-sigma: a false alarm once in ~16000 comparisons).
MC_SIGMAS = 4.0
# Gauss-Hermite quadrature (30 nodes/dim) of smooth integrands (erf, Gaussians)
# is exact to ~1e-12; 1e-9 leaves room for the conditioning of the Cholesky map.
QUAD_ATOL = 1e-9
# DOP853 at the default rtol=1e-11/atol=1e-13 vs the exact linear solution: global error ~1e-10.
ODE_ATOL = 1e-8
# Default vs 100x tighter tolerances: the default's measured accuracy is <= 4.4e-9 even on
# plateau-escape trajectories (theory.committee.ODE_RTOL); this trajectory has no long plateau.
ODE_SELF_ATOL = 1e-8
# Escape time slope d alpha_esc / d ln(1/d0) vs 1/growth_rate: the linearised
# escape holds up to O(d0) corrections; the d0 used (1e-4..1e-6) give < 2%.
ESCAPE_RTOL = 0.03
# eps_inf / (eta sigma^2) - c is O(eta): halving eta halves it (ratio 2 +- 0.3,
# the O(eta^2) remainder at eta = 0.02..0.04).
RATE_RATIO_TOL = 0.3


def _g(z):
    return erf(z / np.sqrt(2))


def _gp(z):
    return np.sqrt(2 / np.pi) * np.exp(-z ** 2 / 2)


def _random_cov(rng, n):
    A = rng.normal(size=(n, n))
    return A @ A.T / n + 0.2 * np.eye(n)


def _gh_expect(C, f, n_nodes=30):
    """E[f(z)] for z ~ N(0, C) by tensor Gauss-Hermite quadrature."""
    x, w = np.polynomial.hermite_e.hermegauss(n_nodes)
    w = w / w.sum()
    n = C.shape[0]
    grids = np.meshgrid(*([x] * n), indexing="ij")
    xi = np.stack([g.ravel() for g in grids])
    wt = np.prod(np.stack(np.meshgrid(*([w] * n), indexing="ij")).reshape(n, -1), axis=0)
    z = np.linalg.cholesky(C) @ xi
    return float(np.sum(wt * f(z)))


INTEGRANDS = {
    "I2": (2, lambda z: _g(z[0]) * _g(z[1])),
    "I3": (3, lambda z: _gp(z[0]) * z[1] * _g(z[2])),
    "I4": (4, lambda z: _gp(z[0]) * _gp(z[1]) * _g(z[2]) * _g(z[3])),
    "J2": (2, lambda z: _gp(z[0]) * _gp(z[1])),
}
FUNCS = {"I2": I2, "I3": I3, "I4": I4, "J2": J2}


@pytest.mark.parametrize("name", list(INTEGRANDS))
def test_integrals_vs_monte_carlo(name, rng):
    n, f = INTEGRANDS[name]
    for _ in range(3):
        C = _random_cov(rng, n)
        z = np.linalg.cholesky(C) @ rng.normal(size=(n, 400_000))
        s = f(z)
        se = s.std() / math.sqrt(s.size)
        assert abs(FUNCS[name](C) - s.mean()) < MC_SIGMAS * se, (name, C)


@pytest.mark.parametrize("name", list(INTEGRANDS))
def test_integrals_vs_quadrature(name, rng):
    n, f = INTEGRANDS[name]
    C = _random_cov(rng, n)
    nodes = 30 if n <= 3 else 18
    assert FUNCS[name](C) == pytest.approx(_gh_expect(C, f, nodes), abs=QUAD_ATOL if n <= 3 else 1e-7)


def test_integrals_linear_and_batched(rng):
    C = np.stack([_random_cov(rng, 4) for _ in range(5)])
    ints = erf_integrals("linear")
    assert np.allclose(ints.I2(C[:, :2, :2]), C[:, 0, 1])
    assert np.allclose(ints.I3(C[:, :3, :3]), C[:, 1, 2])
    assert np.allclose(ints.I4(C), C[:, 2, 3])
    assert np.allclose(ints.J2(C[:, :2, :2]), 1.0)
    # batched erf forms equal the one-at-a-time forms
    e = erf_integrals("erf")
    assert np.allclose(e.I4(C), [I4(c) for c in C])
    # g(z) = erf(z/sqrt2) has E[g(z)^2] = (2/pi) arcsin(q/(1+q)): q -> inf gives 1
    assert I2(np.full((2, 2), 1e12)) == pytest.approx(1.0, abs=1e-5)


def test_generalisation_error_vs_networks(rng):
    """eps_g(Q, R, T, v, v*) equals a Monte-Carlo average over inputs of actual networks."""
    K, M, N = 3, 2, 60
    W, Ws = rng.normal(size=(K, N)), rng.normal(size=(M, N))
    v, vs = rng.normal(size=K), rng.normal(size=M)
    Q, R, T = order_parameters(W, Ws)
    X = rng.normal(size=(N, 200_000))
    d = _g(W @ X / np.sqrt(N)).T @ v - _g(Ws @ X / np.sqrt(N)).T @ vs
    s = 0.5 * d ** 2
    assert abs(generalisation_error(Q, R, T, v, vs) - s.mean()) < MC_SIGMAS * s.std() / math.sqrt(s.size)


@pytest.mark.parametrize("train_v", [False, True])
def test_ode_rates_vs_monte_carlo(train_v, rng):
    """Each ODE term: the expected one-step change (times N) of Q, R, v from sampled pre-activations."""
    K, M, lr, lr_v, sigma = 2, 2, 0.7, 0.4, 0.5
    A = rng.normal(size=(K + M, K + M))
    Om = A @ A.T / (K + M) + 0.3 * np.eye(K + M)
    Q, R, T = Om[:K, :K], Om[:K, K:], Om[K:, K:]
    v, vs = rng.normal(size=K), rng.normal(size=M)
    ode = CommitteeODE(K, M, lr, train_second_layer=train_v, lr_v=lr_v, noise=sigma, T=T, v_star=vs)
    dQ, dR, dv = ode.rates(Q, R, v)
    n = 1_000_000
    a = np.linalg.cholesky(Om) @ rng.normal(size=(K + M, n))
    lam, nu = a[:K], a[K:]
    delta = v @ _g(lam) - vs @ _g(nu) - sigma * rng.normal(size=n)
    dk = v[:, None] * delta * _gp(lam)  # (K, n)
    samples = {
        "R": -lr * dk[:, None, :] * nu[None, :, :],
        "Q": -lr * (dk[:, None] * lam[None] + dk[None] * lam[:, None]) + lr ** 2 * dk[:, None] * dk[None],
        "v": -lr_v * delta * _g(lam) if train_v else np.zeros((K, n)),
    }
    for key, th in (("R", dR), ("Q", dQ), ("v", dv)):
        s = samples[key]
        se = s.std(axis=-1) / math.sqrt(n) + 1e-15
        assert np.all(np.abs(s.mean(axis=-1) - th) < MC_SIGMAS * se), key


def test_linear_activation_exact_solution():
    lr, sigma = 0.6, 0.4
    ode = CommitteeODE(1, 1, lr, activation="linear", noise=sigma)
    Q0, R0 = np.array([[0.7]]), np.array([[0.2]])
    alpha = np.array([[0.0, 0.5], [3.0, 20.0]])  # any shape, time leading
    tr = ode.integrate(Q0, R0, alpha_eval=alpha)
    eps0 = 0.5 * (0.7 - 0.4 + 1.0)
    assert np.allclose(tr.reshape(tr.eps_g), linear_perceptron_error(alpha, lr, eps0, sigma), atol=ODE_ATOL, rtol=0)
    # alpha = inf is the fixed point eta sigma^2 / (2 (2 - eta))
    inf = ode.integrate(Q0, R0, alpha_eval=[np.inf])
    assert inf.eps_g[0] == pytest.approx(lr * sigma ** 2 / (2 * (2 - lr)), abs=1e-8)
    assert stable_lr(1, activation="linear") == pytest.approx(2.0, abs=1e-8)
    assert asymptotic_error_small_lr(1, activation="linear") == pytest.approx(0.25, abs=1e-6)


def test_integrator_accuracy_vs_tighter_run():
    ode = CommitteeODE(3, 2, 0.8, train_second_layer=True, noise=0.1)
    Q0 = 0.3 * np.eye(3) + 0.02
    R0 = 0.01 * np.arange(6).reshape(3, 2) - 0.02
    a = np.logspace(-1, 2.5, 20)
    t1 = ode.integrate(Q0, R0, [1.0, 0.5, -0.2], alpha_eval=a)
    t2 = ode.integrate(Q0, R0, [1.0, 0.5, -0.2], alpha_eval=a, rtol=1e-13, atol=1e-15)
    for x, y in ((t1.Q, t2.Q), (t1.R, t2.R), (t1.v, t2.v), (t1.eps_g, t2.eps_g)):
        assert np.max(np.abs(x - y)) < ODE_SELF_ATOL
    assert np.allclose(t1.Q[0], t1.Q[0].T)


def test_bad_input():
    with pytest.raises(ValueError, match="K must be"):
        CommitteeODE(0, 1, 0.1)
    with pytest.raises(ValueError, match="lr must be"):
        CommitteeODE(2, 2, -0.1)
    with pytest.raises(ValueError, match="activation"):
        CommitteeODE(2, 2, 0.1, activation="relu6")
    ode = CommitteeODE(2, 2, 0.5)
    with pytest.raises(ValueError, match="positive definite"):
        ode.integrate(np.array([[1.0, 2.0], [2.0, 1.0]]), np.zeros((2, 2)), alpha_max=1.0)
    with pytest.raises(ValueError, match="semi-definite"):
        ode.integrate(0.1 * np.eye(2), np.ones((2, 2)), alpha_max=1.0)
    with pytest.raises(ValueError, match="shape"):
        ode.integrate(np.eye(2), np.zeros((2, 3)), alpha_max=1.0)
    with pytest.raises(ValueError, match="lr"):
        train(50, 2, 2, -1.0, 1.0, n_networks=2)


def test_ode_blow_up_and_sim_divergence_are_loud():
    lr = 3.0 * stable_lr(1, activation="linear")
    with pytest.raises(FloatingPointError, match="lr="):
        CommitteeODE(1, 1, lr, activation="linear").integrate([[0.5]], [[0.1]], alpha_max=200.0)
    with pytest.raises(DivergenceError, match="lr=6"):
        # the error grows by (lr - 1)^2 = 25 per unit alpha: float64 overflows well before alpha = 600
        train(20, 1, 1, lr, 600.0, n_networks=2, activation="linear", init_scale=0.5, lr_max=2.0, progress_bar=False)


def _per_seed_ode(run, ode):
    return np.stack([ode.integrate(run.Q0[e], run.R0[e], run.v0[e], alpha_eval=run.times).eps_g
                     for e in range(run.Q.shape[0])])


def test_simulation_matches_ode_and_deviation_shrinks_with_N(seed):
    """Per-seed ODE (from each network's own initial overlaps) vs SGD; the gap is O(1/sqrt N)."""
    torch.set_num_threads(1)
    K = M = 2
    lr, alpha_max = 0.8, 12.0
    ode = CommitteeODE(K, M, lr)
    devs = {}
    for N in (100, 400):
        run = train(N, K, M, lr, alpha_max, n_networks=16, init_scale=0.4, record=15, seed=seed, progress_bar=False)
        eps_ode = _per_seed_ode(run, ode)
        eps_sim = generalisation_error(run.Q, run.R, run.T[:, None], run.v, run.v_star[:, None])
        devs[N] = np.sqrt(np.mean((eps_sim - eps_ode) ** 2))
        # the test-set estimate agrees with eps_g of the recorded overlaps (test-set error ~ eps/sqrt(n_test))
        assert np.max(np.abs(run.losses - eps_sim) / (eps_sim + 1e-3)) < 0.3
    # 1/sqrt(N) predicts a ratio of 2 for 4x N; allow down to 1.4 (16 seeds)
    assert devs[100] / devs[400] > 1.4, devs
    assert devs[400] < 0.02, devs


def test_linear_student_simulation_vs_exact(seed):
    torch.set_num_threads(1)
    N, lr, sigma, E = 400, 0.5, 0.5, 32
    run = train(N, 1, 1, lr, 8.0, n_networks=E, activation="linear", noise=sigma, init_scale=0.5, record=10,
                seed=seed, progress_bar=False)
    eps = generalisation_error(run.Q, run.R, run.T[:, None], run.v, run.v_star[:, None], activation="linear")
    th = linear_perceptron_error(run.times[None], lr, eps[:, :1], sigma)
    # mean over seeds within MC_SIGMAS standard errors plus an O(1/N) finite-size bias
    se = eps.std(axis=0) / math.sqrt(E)
    assert np.all(np.abs(eps.mean(0) - th.mean(0)) < MC_SIGMAS * se + 2.0 / N)


def test_plateau_and_escape():
    K, lr = 2, 1.0
    p = symmetric_plateau(K, lr)
    ode = CommitteeODE(K, K, lr)
    Qs = np.full((K, K), p.C) + (p.Q - p.C) * np.eye(K)
    # the plateau is a fixed point of the full ODE, and its height is eps_g there
    dQ, dR, _ = ode.rates(Qs, np.full((K, K), p.R), np.ones(K))
    assert np.abs(dQ).max() < 1e-9 and np.abs(dR).max() < 1e-9
    assert p.eps_g == pytest.approx(ode.eps_g(Qs, np.full((K, K), p.R), np.ones(K)))
    # escape: from the plateau plus an asymmetry d0, alpha_esc = ln(1/d0)/growth + const
    alpha = np.linspace(0, 800, 4001)
    times = []
    d0s = np.array([1e-4, 1e-5, 1e-6])
    for d0 in d0s:
        R0 = np.full((K, K), p.R) + d0 * np.array([[1.0, -1.0], [-1.0, 1.0]])
        tr = ode.integrate(Qs + 1e-9 * np.eye(K), R0, alpha_eval=alpha, rtol=1e-9, atol=1e-11)  # ESCAPE_RTOL >> 1e-7
        times.append(plateau_escape_time(alpha, tr.eps_g, p.eps_g))
        assert specialisation_index(tr.Q[-1], tr.R[-1]) > 0.9
    slope = np.polyfit(np.log(1 / d0s), times, 1)[0]
    assert slope == pytest.approx(1 / p.growth_rate, rel=ESCAPE_RTOL)


def test_max_learning_rate_separates_convergence():
    K = 2
    lr_max = stable_lr(K)
    start = dict(Q0=0.9 * np.eye(K), R0=np.diag([0.9, 0.85]))
    eps_lo = CommitteeODE(K, K, 0.8 * lr_max).integrate(start["Q0"], start["R0"], alpha_eval=[400.0]).eps_g[0]
    assert eps_lo < 1e-6
    try:
        eps_hi = CommitteeODE(K, K, 1.2 * lr_max).integrate(start["Q0"], start["R0"], alpha_eval=[400.0]).eps_g[0]
    except FloatingPointError:
        eps_hi = np.inf
    assert eps_hi > 1e-3


def test_asymptotic_error_small_lr_limit():
    sigma = 0.5
    c = asymptotic_error_small_lr(1)
    # Goldt et al. 2019's K = M = 1 erf result eps_inf = eta sigma^2 / (2 sqrt(3) pi) to leading order
    assert c == pytest.approx(1 / (2 * math.sqrt(3) * math.pi), rel=1e-6)
    assert asymptotic_error_small_lr(2) == pytest.approx(2 * c, rel=1e-6)
    gaps = [asymptotic_error(1, 1, lr, sigma) / (lr * sigma ** 2) - c for lr in (0.04, 0.02)]
    assert gaps[0] / gaps[1] == pytest.approx(2.0, abs=RATE_RATIO_TOL)


def test_overparameterised_both_layers_beat_first_layer_only():
    """Goldt et al. 2019: with noise, extra units raise eps_inf of the SCM; training v as well keeps it low."""
    M, lr, sigma = 1, 0.2, 0.5
    # at a long but finite time: the frozen-v K > M student has no fixed point (see asymptotic_error)
    e_scm = [asymptotic_error(K, M, lr, sigma, alpha_final=1000.0) for K in (1, 3)]
    e_both = asymptotic_error(3, M, lr, sigma, train_second_layer=True, alpha_final=1000.0)
    assert e_scm[1] > 1.5 * e_scm[0]
    assert e_both < e_scm[1]


def test_train_from_matches_train_and_records_initial_overlaps():
    W, Ws = init_weights(80, 2, 2, 3, init_scale=0.5, seed=3)
    run = train_from(W, Ws, 0.5, 1.0, record=5, seed=4, progress_bar=False)
    Q, R, T = order_parameters(W.numpy(), Ws.numpy())
    assert np.allclose(run.Q0, Q) and np.allclose(run.R0, R) and np.allclose(run.T, np.eye(2), atol=1e-12)
    assert run.times[0] == 0 and run.times[-1] == 1.0



def test_result_is_the_shared_run_and_old_names_still_work():
    """train returns the engine's Run; the names of earlier releases (CommitteeRun, n_seeds, init_std,
    run.alpha, run.eps_test) keep working with a DeprecationWarning and give the same numbers."""
    from idealnets.simulate import Run
    from idealnets.simulate.committee import CommitteeRun

    assert CommitteeRun is Run
    new = train(40, 2, 2, 0.5, 1.0, n_networks=2, init_scale=0.5, record=4, seed=1, progress_bar=False)
    assert isinstance(new, Run) and new.time_unit == "alpha = step / N" and new.losses.shape == (2, new.times.size)
    with pytest.warns(DeprecationWarning, match="n_seeds"):
        old = train(40, 2, 2, 0.5, 1.0, n_seeds=2, init_scale=0.5, record=4, seed=1, progress_bar=False)
    with pytest.warns(DeprecationWarning, match="init_std"):
        old2 = train(40, 2, 2, 0.5, 1.0, n_networks=2, init_std=0.5, record=4, seed=1, progress_bar=False)
    assert np.array_equal(old.Q, new.Q) and np.array_equal(old2.losses, new.losses)
    with pytest.warns(DeprecationWarning, match="times"):
        assert np.array_equal(new.alpha, new.times)
    with pytest.warns(DeprecationWarning, match="losses"):
        assert np.array_equal(new.eps_test, new.losses)
    with pytest.warns(DeprecationWarning, match="n_seeds"):
        W_old, _ = init_weights(30, 2, 2, n_seeds=2, init_scale=0.5, seed=3)
    with pytest.warns(DeprecationWarning, match="init_std"):
        W_old2, _ = init_weights(30, 2, 2, 2, init_std=0.5, seed=3)
    W, _ = init_weights(30, 2, 2, 2, init_scale=0.5, seed=3)
    assert torch.equal(W, W_old) and torch.equal(W, W_old2)
    with pytest.raises(TypeError, match="both"):
        train(40, 2, 2, 0.5, 1.0, n_seeds=2, n_networks=2)

def test_padding_units_are_exact_and_lr_scan_matches_single_rate():
    """A K-unit student padded with frozen v = 0 units trains exactly like the K-unit student;
    a per-network learning rate equals running that rate alone (same inputs)."""
    N, E = 60, 2
    W, Ws = init_weights(N, 3, 2, E, init_scale=0.5, seed=5)
    base = train_from(W[:, :2], Ws, 0.7, 2.0, noise=0.1, train_second_layer=True, record=4, seed=9,
                      progress_bar=False)
    mask = np.array([1.0, 1.0, 0.0])
    pad = train_from(W, Ws, 0.7, 2.0, v0=mask, noise=0.1, train_second_layer=True, train_mask=mask, record=4,
                     seed=9, progress_bar=False)
    assert np.allclose(pad.Q[:, :, :2, :2], base.Q, atol=1e-12) and np.allclose(pad.v[:, :, 2], 0.0)
    assert np.allclose(pad.losses, base.losses, atol=1e-12)
    scan = train_from(W[:, :2], Ws, [0.7, 0.3], 2.0, record=4, seed=9, progress_bar=False)
    one = train_from(W[:, :2], Ws, 0.3, 2.0, record=4, seed=9, progress_bar=False)
    assert np.allclose(scan.Q[1], one.Q[1], atol=1e-12)


@pytest.mark.slow
def test_full_size_deviation_shrinks_before_escape(seed):
    """K = M = 3 at N = 500 and 2000 (alpha <= 40, before the plateau escape): ~1/sqrt(N)."""
    torch.set_num_threads(1)
    ode = CommitteeODE(3, 3, 1.0)
    devs = {}
    for N in (500, 2000):
        run = train(N, 3, 3, 1.0, 40.0, n_networks=8, init_scale=1.0, record=20, seed=seed, progress_bar=False)
        eps_sim = generalisation_error(run.Q, run.R, run.T[:, None], run.v, run.v_star[:, None])
        devs[N] = np.sqrt(np.mean((eps_sim - _per_seed_ode(run, ode)) ** 2))
    assert devs[500] / devs[2000] > 1.4, devs


@pytest.mark.slow
def test_plateau_small_lr_limit():
    """eta -> 0: the plateau tends to Q = C = 1/(2K-1), R = 1/sqrt(K(2K-1)); the gap is O(eta)."""
    gaps = []
    for lr in (0.1, 0.05):
        p = symmetric_plateau(2, lr)
        gaps.append(max(abs(p.Q - p.lr_small[0]), abs(p.C - p.lr_small[1]), abs(p.R - p.lr_small[2])))
    assert gaps[1] < 0.7 * gaps[0] and gaps[1] < 0.02
