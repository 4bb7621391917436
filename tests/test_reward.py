"""Learning from reward: exact TD mean recursion, the conditioning trial, the RL perceptron ODEs.

Three ways: closed forms against direct numerical integration / iteration (and Monte-Carlo
estimates of the ODE drift at fixed overlaps); against trained agents with the gap shrinking
as 1/sqrt(ensemble) or N^-1/2; and in their limits (gamma = 0 is regression, tabular features
give the true values, T = 1 is the perceptron / Hebb rule).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from idealnets.simulate import reward as sr
from idealnets.theory import reward as tr
from idealnets.theory.validation import DivergenceError


def chain(seed=0, n=7, d=3, gamma=0.9):
    rng = np.random.default_rng(seed)
    P = rng.random((n, n)) ** 3
    P /= P.sum(1, keepdims=True)
    return tr.TDLinear(rng.standard_normal((n, d)), P, rng.standard_normal(n), gamma)


# ------------------------------------------------------------------------------ TD: closed form vs direct


def test_mean_recursion_matches_direct_iteration_and_limits():
    td = chain()
    lr = 0.7 * td.stable_lr()
    w0 = np.array([0.3, -1.0, 2.0])
    k = np.array([0, 1, 2, 7, 50, 400])
    w, ws = w0.copy(), {}
    for j in range(401):
        ws[j] = w.copy()
        w = w + lr * (td.b - td.A @ w)
    np.testing.assert_allclose(td.mean_weights(k, lr, w0), np.array([ws[j] for j in k]), rtol=1e-10, atol=1e-12)
    # k = inf is the TD fixed point; the fixed point solves A w = b
    np.testing.assert_allclose(td.mean_weights(np.inf, lr, w0), td.fixed_point(), rtol=1e-12)
    np.testing.assert_allclose(td.A @ td.fixed_point(), td.b, atol=1e-12)
    np.testing.assert_allclose(td.mean_weights(10**12, lr, w0), td.fixed_point(), rtol=1e-9)


def test_flow_matches_solve_ivp_and_is_the_small_lr_limit():
    td = chain(1)
    w0 = np.array([1.0, 0.0, -0.5])
    t = np.array([0.0, 0.3, 2.0, 10.0])
    sol = solve_ivp(lambda _, w: td.b - td.A @ w, (0, 10.0), w0, t_eval=t, rtol=1e-12, atol=1e-14, method="DOP853")
    np.testing.assert_allclose(td.flow(t, w0), sol.y.T, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(td.flow(np.inf, w0), td.fixed_point(), rtol=1e-12)
    # w_k at k = t/lr tends to w(t) with a gap O(lr): halving lr halves the gap
    gaps = []
    for lr in (0.02, 0.01, 0.005):
        k = np.round(t / lr)
        gaps.append(np.abs(td.mean_weights(k, lr, w0) - td.flow(t, w0)).max())
    assert gaps[2] < gaps[1] < gaps[0]
    np.testing.assert_allclose(gaps[0] / gaps[1], 2.0, rtol=0.1)
    np.testing.assert_allclose(gaps[1] / gaps[2], 2.0, rtol=0.1)


def test_stable_lr_is_the_spectral_limit():
    td = chain(2)
    lim = td.stable_lr()
    lam = np.linalg.eigvals(td.A)
    assert np.all(lam.real > 0)  # stationary weights, full-rank features (Tsitsiklis & Van Roy 1997)
    rad = lambda lr: np.max(np.abs(np.linalg.eigvals(np.eye(td.d) - lr * td.A)))  # noqa: E731
    assert rad(0.999 * lim) < 1 < rad(1.001 * lim)
    with pytest.raises(ValueError, match="stable limit"):
        td.mean_weights(3, 1.001 * lim)
    with pytest.warns(DeprecationWarning):
        assert td.max_learning_rate() == lim


def test_off_policy_weights_can_leave_no_stable_lr():
    # the classic two-state counterexample (Tsitsiklis & Van Roy 1997): features 1 and 2, s0 -> s1 -> s1,
    # weights all on the first state make A = phi0 (phi0 - gamma phi1) = 1 - 2 gamma < 0 for gamma > 1/2
    td = tr.TDLinear([[1.0], [2.0]], [[0.0, 1.0], [0.0, 1.0]], [0.0, 0.0], 0.9, D=[1.0, 0.0])
    assert td.A[0, 0] < 0 and td.stable_lr() == 0.0
    with pytest.raises(ValueError, match="stable limit"):
        td.mean_weights([1], 1e-6)


# ------------------------------------------------------------------------------ TD: limits


def test_gamma_zero_is_regression_and_tabular_td_finds_the_values():
    td0 = chain(3, gamma=0.0)
    G = (td0.Phi.T * td0.D) @ td0.Phi
    np.testing.assert_allclose(td0.fixed_point(), np.linalg.solve(G, (td0.Phi.T * td0.D) @ td0.r), rtol=1e-10)
    np.testing.assert_allclose(td0.fixed_point(), td0.least_squares(), rtol=1e-10)
    td = chain(3, gamma=0.95)
    tab = tr.TDLinear(np.eye(td.n_states), td.P, td.r, td.gamma)
    np.testing.assert_allclose(tab.fixed_point(), tab.values, rtol=1e-10)
    assert np.max(np.abs(tab.td_errors(tab.fixed_point()))) < 1e-10


def test_td_fixed_point_is_not_least_squares_but_within_the_bound():
    for s in range(5):
        td = chain(s, gamma=0.9)
        e_td, e_ls = td.value_error(td.fixed_point()), td.value_error(td.least_squares())
        assert e_td > e_ls * (1 + 1e-6)  # differs from the least-squares value
        # Tsitsiklis & Van Roy (1997): ||Phi w_TD - V||_D <= ||Pi V - V||_D / sqrt(1 - gamma^2)
        assert e_td <= e_ls / (1 - td.gamma**2) * (1 + 1e-12)


# ------------------------------------------------------------------------------ TD: trained agents


def test_td_agents_iid_match_exact_mean_and_gap_shrinks_with_ensemble():
    td = chain(0)
    lr, steps = 0.05, 1000
    gaps, zs = [], []
    for E, seed in ((64, 11), (1024, 12)):
        run = sr.train_td(td, lr=lr, steps=steps, n_networks=E, record=8, seed=seed, device="cpu")
        ex = td.mean_weights(run.steps, lr)
        m, se = run.w.mean(0), run.w.std(0, ddof=1) / np.sqrt(E)
        gaps.append(np.abs(m - ex)[1:].max())
        zs.append((np.abs(m - ex)[1:] / se[1:]).max())
        np.testing.assert_allclose(run.losses[:, -1], td.value_error(run.w[:, -1]), rtol=1e-10)
    assert max(zs) < 4.5  # 24 weights-times compared per size
    assert gaps[1] < gaps[0] / 2.0  # 1/4 expected


def test_weight_moments_exact_one_step_and_against_agents():
    td = chain(0)
    lr, w0 = 0.05, np.array([0.3, -1.0, 2.0])
    # one step by enumerating every transition (s, s') with its probability D_s P[s, s']
    ws, wt = [], []
    for s in range(td.n_states):
        for s2 in range(td.n_states):
            delta = td.r[s] + td.gamma * td.Phi[s2] @ w0 - td.Phi[s] @ w0
            ws.append(w0 + lr * delta * td.Phi[s])
            wt.append(td.D[s] * td.P[s, s2])
    ws, wt = np.array(ws), np.array(wt)
    m1, C1 = td.weight_moments(1, lr, w0)
    np.testing.assert_allclose(m1, wt @ ws, atol=1e-14)
    np.testing.assert_allclose(C1, (ws - wt @ ws).T @ ((ws - wt @ ws) * wt[:, None]), atol=1e-14)
    m, C = td.weight_moments([0, 40, np.inf], lr, w0)
    np.testing.assert_allclose(m, td.mean_weights([0, 40, np.inf], lr, w0), atol=1e-12)
    assert np.abs(C[0]).max() == 0 and np.all(np.linalg.eigvalsh(C[2]) > 0)
    np.testing.assert_allclose(td.weight_moments(10**9, lr, w0)[1], C[2], rtol=1e-8)
    # the agents' mean value error (spread included) against the exact one
    run = sr.train_td(td, lr=lr, steps=600, n_networks=2048, record=5, seed=21, device="cpu")
    ev = td.expected_value_error(run.steps, lr)
    se = run.losses.std(0, ddof=1) / np.sqrt(2048)
    assert (np.abs(run.losses.mean(0) - ev)[1:] / se[1:]).max() < 4.5
    sd = np.sqrt(np.diagonal(td.weight_moments(run.steps[-1], lr)[1]))
    np.testing.assert_allclose(run.w[:, -1].std(0, ddof=1), sd, rtol=0.12)  # sd of an sd: ~1/sqrt(2E)


def test_td_agents_along_trajectories_are_biased():
    # along a trajectory the sampled state is correlated with w: the mean recursion is no longer exact
    td = chain(0)
    run = sr.train_td(td, lr=0.1, steps=400, n_networks=4096, record=5, seed=3, sampling="trajectory", device="cpu")
    ex = td.mean_weights(run.steps, 0.1)
    se = run.w.std(0, ddof=1) / np.sqrt(4096)
    assert (np.abs(run.w.mean(0) - ex)[1:] / se[1:]).max() > 8.0


# ------------------------------------------------------------------------------ the conditioning trial


def test_cue_reward_errors_move_from_reward_to_cue():
    trial = tr.cue_reward_trial(L=20, cue_time=5, reward_time=15, gamma=0.95, p_reward=0.8)
    pe = trial.prediction_errors(400, 0.3)
    assert np.argmax(pe[0]) == 15 and np.isclose(pe[0, 15], 0.8) and np.abs(np.delete(pe[0], 15)).max() == 0
    assert np.argmax(pe[-1]) == 4  # the transition into the cue
    np.testing.assert_allclose(pe[-1, 4], 0.95**11 * 0.8, rtol=1e-6)
    assert abs(pe[-1, 15]) < 1e-6
    np.testing.assert_allclose(trial.learned_errors(), np.where(np.arange(20) == 4, 0.95**11 * 0.8, 0.0),
                               atol=1e-12)
    # the trial recursion against a direct loop, and the stable limit 2
    w = np.zeros(trial.d)
    for _ in range(37):
        w = w + 0.3 * trial.X[:20].T @ trial.errors_of(w)
    np.testing.assert_allclose(trial.mean_weights(37, 0.3), w, atol=1e-12)
    assert trial.stable_lr() == pytest.approx(2.0)


def test_cue_reward_agents_online_equal_exact_and_stochastic_mean_within_se():
    # deterministic reward: online updates within the trial are the exact trial recursion
    trial = tr.cue_reward_trial(L=12, cue_time=3, reward_time=9, gamma=0.9)
    run = sr.train_cue_reward(trial, lr=0.4, trials=60, n_networks=2, seed=0, device="cpu")
    np.testing.assert_allclose(run.delta[0, 1:], trial.prediction_errors(60, 0.4), atol=1e-12)
    # stochastic reward: the mean over agents is exact, with 1/sqrt(E) spread
    trial = tr.cue_reward_trial(L=12, cue_time=3, reward_time=9, gamma=0.9, p_reward=0.6)
    gaps = []
    for E, seed in ((64, 5), (1024, 6)):
        run = sr.train_cue_reward(trial, lr=0.3, trials=80, n_networks=E, seed=seed, device="cpu")
        d = run.delta[:, 1:]
        ex = trial.prediction_errors(80, 0.3)
        se = d.std(0, ddof=1) / np.sqrt(E)
        live = se > 1e-9
        assert np.abs(d.mean(0) - ex)[~live].max() < 1e-12
        assert (np.abs(d.mean(0) - ex)[live] / se[live]).max() < 5.0  # ~900 entries
        gaps.append(np.sqrt(np.mean((d.mean(0) - ex)[live] ** 2)))
    assert gaps[1] < gaps[0] / 2.5  # 1/4 expected


# ------------------------------------------------------------------------------ RL perceptron ODEs


def mc_drift(ode, R, Q, episodes, rng):
    """Monte-Carlo estimates of (dR/dalpha, dQ/dalpha) at fixed (R, Q), N -> inf: per episode
    (c/T) sum y nu and (2c/T) sum |lambda| + c^2/T, with Gaussian local fields."""
    T = ode.T
    nu = rng.standard_normal((episodes, T))
    lam = R * nu + np.sqrt(Q - R * R) * rng.standard_normal((episodes, T))
    y = np.where(lam >= 0, 1.0, -1.0)
    C = (y == np.sign(nu)).sum(1)
    c = np.where(C >= ode.n, ode.lr_1, -ode.lr_2)
    dR = c / T * (y * nu).sum(1)
    dQ = 2 * c / T * np.abs(lam).sum(1) + c * c / T
    return (dR.mean(), dR.std() / np.sqrt(episodes)), (dQ.mean(), dQ.std() / np.sqrt(episodes))


@pytest.mark.parametrize("T, lr_1, lr_2, condition, n", [(4, 1.0, 0.0, "all", None), (5, 1.0, 0.4, "all", None),
                                                        (6, 0.7, 0.3, "at_least", 4), (3, 1.0, 1.0, "at_least", 1)])
def test_rhs_matches_monte_carlo_drift(T, lr_1, lr_2, condition, n, rng):
    ode = tr.RLPerceptronODE(T, lr_1, lr_2, condition=condition, n=n)
    for R, Q in ((0.1, 1.0), (0.8, 1.3), (-0.3, 0.5)):
        (mR, sR), (mQ, sQ) = mc_drift(ode, R, Q, 200_000, rng)
        dR, dQ = ode.rhs(R, Q)
        assert abs(dR - mR) < 4.5 * sR and abs(dQ - mQ) < 4.5 * sQ


def test_finite_n_episode_drift_matches_rhs():
    # the actual N-dimensional update, averaged over episodes at one fixed student (N = 400)
    rng = np.random.default_rng(7)
    N, T, ep = 400, 3, 16_000
    ode = tr.RLPerceptronODE(T, 1.0, 0.5)
    ws = rng.standard_normal(N)
    ws *= np.sqrt(N) / np.linalg.norm(ws)
    w = 0.6 * ws + 0.9 * rng.standard_normal(N)
    R, Q = w @ ws / N, w @ w / N
    dR, dQ = [], []
    for _ in range(ep // 2000):
        x = rng.standard_normal((2000, T, N))
        lam, nu = x @ w / np.sqrt(N), x @ ws / np.sqrt(N)
        y = np.where(lam >= 0, 1.0, -1.0)
        c = np.where((y == np.sign(nu)).all(1), 1.0, -0.5)
        dw = (c / (T * np.sqrt(N)))[:, None] * np.einsum("et,etn->en", y, x)
        dR.append(N * (dw @ ws) / N)
        dQ.append(N * ((2 * dw @ w + (dw * dw).sum(1)) / N))
    dR, dQ = np.concatenate(dR), np.concatenate(dQ)
    eR, eQ = ode.rhs(R, Q)
    assert abs(dR.mean() - eR) < 4.5 * dR.std() / np.sqrt(ep)
    assert abs(dQ.mean() - eQ) < 4.5 * dQ.std() / np.sqrt(ep)


def test_ode_limits_perceptron_and_hebb_rules():
    R, Q = np.array([0.0, 0.4, -0.2, 0.9]), np.array([1.0, 0.5, 2.0, 0.82])
    rho, k = R / np.sqrt(Q), 1 / np.sqrt(2 * np.pi)
    eta = 0.7
    # T = 1, update on errors only: the perceptron rule (Engel & Van den Broeck 2001)
    dR, dQ = tr.RLPerceptronODE(1, 0.0, eta).rhs(R, Q)
    np.testing.assert_allclose(dR, eta * k * (1 - rho), rtol=1e-13)
    np.testing.assert_allclose(dQ, -2 * eta * k * (np.sqrt(Q) - R) + eta**2 * np.arccos(rho) / np.pi, rtol=1e-12)
    # T = 1, lr_1 = lr_2: Hebbian learning on the teacher's label
    dR, dQ = tr.RLPerceptronODE(1, eta, eta).rhs(R, Q)
    np.testing.assert_allclose(dR, eta * np.sqrt(2 / np.pi) * np.ones_like(R), rtol=1e-13)
    np.testing.assert_allclose(dQ, 2 * eta * np.sqrt(2 / np.pi) * R + eta**2, rtol=1e-12)
    # "at least T" is "all"; "at least 0" reinforces every decision
    a, b = tr.RLPerceptronODE(5, 1.0, 0.3).rhs(R, Q), tr.RLPerceptronODE(5, 1.0, 0.3, "at_least", 5).rhs(R, Q)
    np.testing.assert_allclose(a, b, rtol=1e-14)
    dR, dQ = tr.RLPerceptronODE(4, eta, 0.0, "at_least", 0).rhs(R, Q)
    np.testing.assert_allclose(dR, eta * rho * np.sqrt(2 / np.pi), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dQ, 2 * eta * np.sqrt(Q) * np.sqrt(2 / np.pi) + eta**2 / 4, rtol=1e-12)
    # sparse reward: the initial drift of R is 2^-(T-1) of the dense one at R = 0
    for T in (2, 5, 8):
        np.testing.assert_allclose(tr.RLPerceptronODE(T, 1.0).rhs(0.0, 1.0)[0], k * 0.5 ** (T - 1), rtol=1e-13)


def test_integrate_matches_fixed_step_rk4():
    ode = tr.RLPerceptronODE(4, 1.0, 0.2, "at_least", 3)
    alpha = np.array([0.0, 0.5, 3.0, 12.0])
    cur = ode.integrate(0.05, 1.0, alpha)
    y, h, out = np.array([0.05, 1.0]), 1e-2, []
    f = lambda y: np.array(ode.rhs(y[0], y[1]))  # noqa: E731
    for j in range(1201):
        if np.any(np.isclose(j * h, alpha)):
            out.append(y.copy())
        k1 = f(y); k2 = f(y + h / 2 * k1); k3 = f(y + h / 2 * k2); k4 = f(y + h * k3)  # noqa: E702
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    out = np.array(out)
    # RK4's global error at h = 0.01 is ~1e-9 here
    np.testing.assert_allclose(cur.R, out[:, 0], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(cur.Q, out[:, 1], rtol=1e-7)
    np.testing.assert_allclose(cur.accuracy, tr.decision_accuracy(cur.R, cur.Q), rtol=1e-14)
    # unsorted and repeated times
    np.testing.assert_allclose(ode.integrate(0.05, 1.0, alpha[::-1]).R, cur.R[::-1], rtol=1e-8)


# ------------------------------------------------------------------------------ RL perceptron: simulation


def test_overlap_simulation_has_the_law_of_the_full_one():
    rng = np.random.default_rng(0)
    N, E = 120, 384
    W0, ws = rng.standard_normal((E, N)), rng.standard_normal(N)
    runs = {m: sr.train_rl_perceptron(W0, ws, T=3, lr_1=1.0, lr_2=0.5, alpha_max=2.0, record=3, seed=s, method=m,
                                      device="cpu")
            for m, s in (("full", 1), ("overlaps", 2))}
    for key in ("R", "Q"):
        a, b = runs["full"].state[key][:, -1], runs["overlaps"].state[key][:, -1]
        se = np.hypot(a.std(ddof=1), b.std(ddof=1)) / np.sqrt(E)
        assert abs(a.mean() - b.mean()) < 4.0 * se
        assert 0.75 < a.std() / b.std() < 1.33  # same spread (F-test scale for E = 384)
    np.testing.assert_allclose(runs["full"].R[:, 0], W0 @ (ws * np.sqrt(N) / np.linalg.norm(ws)) / N, rtol=1e-12)


def test_simulation_matches_ode_and_spread_shrinks_as_inverse_sqrt_n():
    T, lr_1, alpha_max = 2, 1.0, 3.0
    ode = tr.RLPerceptronODE(T, lr_1)
    sd = {}
    for N in (250, 2000):
        rng = np.random.default_rng(N)
        E = 96
        ws = rng.standard_normal(N)
        W0 = rng.standard_normal((E, N))
        W0 -= np.outer(W0 @ ws / (ws @ ws), ws)  # R0 = 0
        W0 *= np.sqrt(N) / np.linalg.norm(W0, axis=1, keepdims=True)  # Q0 = 1
        run = sr.train_rl_perceptron(W0, ws, T=T, lr_1=lr_1, alpha_max=alpha_max, record=4, seed=1,
                                     method="overlaps", device="cpu")
        th = ode.integrate(0.0, 1.0, run.times)
        for key, ref in (("R", th.R), ("Q", th.Q)):
            v = run.state[key][:, 1:]
            se = v.std(0, ddof=1) / np.sqrt(E)
            assert (np.abs(v.mean(0) - ref[1:]) / se).max() < 4.5
        sd[N] = run.R[:, -1].std(ddof=1)
    # fluctuations ~ N^-1/2: the ratio of spreads is sqrt(8) ~ 2.83 (sampling spread of sd ratios ~ 0.2)
    assert 2.0 < sd[250] / sd[2000] < 4.0


def test_sparse_reward_delays_learning():
    # the ODE: the time to 75% accuracy grows with T (reward needs all T decisions correct)
    alpha = np.linspace(0, 60, 601)
    t75 = []
    for T in (1, 2, 3, 4):
        acc = tr.RLPerceptronODE(T, 1.0).integrate(0.0, 1.0, alpha).accuracy
        t75.append(alpha[np.argmax(acc >= 0.75)])
    assert all(a < b for a, b in zip(t75, t75[1:]))


# ------------------------------------------------------------------------------ contracts


def test_bad_inputs_are_refused_by_name():
    td = chain()
    cases = [
        (lambda: tr.TDLinear(np.eye(3), np.eye(2), np.zeros(3), 0.9), "P"),
        (lambda: tr.TDLinear(np.eye(2), [[0.5, 0.6], [0.5, 0.5]], np.zeros(2), 0.9), "P"),
        (lambda: tr.TDLinear(np.eye(2), np.eye(2), np.zeros(2), 1.0), "gamma"),
        (lambda: tr.TDLinear(np.eye(2), np.eye(2), np.zeros(2), 0.5), "stationary"),
        (lambda: tr.TDLinear(np.eye(2), np.full((2, 2), 0.5), np.zeros(3), 0.5), "r"),
        (lambda: td.mean_weights(1.5, 0.01), "whole"),
        (lambda: td.mean_weights(-1, 0.01), "k"),
        (lambda: td.mean_weights(3, 0.01, w0=np.zeros(2)), "w0"),
        (lambda: td.mean_weights(3, np.nan), "lr"),
        (lambda: td.flow([1.0, np.nan]), "t"),
        (lambda: tr.cue_reward_trial(10, 0, 5, 0.9), "cue_time"),
        (lambda: tr.cue_reward_trial(10, 6, 5, 0.9), "reward_time"),
        (lambda: tr.cue_reward_trial(10, 2, 5, 0.9).prediction_errors(10, 2.0), "lr"),
        (lambda: tr.RLPerceptronODE(0, 1.0), "T"),
        (lambda: tr.RLPerceptronODE(3, -1.0), "lr_1"),
        (lambda: tr.RLPerceptronODE(3, 1.0, condition="most"), "condition"),
        (lambda: tr.RLPerceptronODE(3, 1.0, condition="at_least"), "n"),
        (lambda: tr.RLPerceptronODE(3, 1.0, condition="at_least", n=4), "n"),
        (lambda: tr.RLPerceptronODE(3, 1.0).rhs(1.5, 1.0), "R"),
        (lambda: tr.RLPerceptronODE(3, 1.0).rhs(0.1, 0.0), "Q"),
        (lambda: tr.RLPerceptronODE(3, 1.0).integrate(0.0, 1.0, [1.0, np.inf]), "alpha"),
        (lambda: tr.RLPerceptronODE(3, 1.0).integrate(2.0, 1.0, [1.0]), "R0"),
        (lambda: sr.train_td(td, lr=0.1, steps=10, sampling="markov"), "sampling"),
        (lambda: sr.train_td(td, lr=0.1, steps=10, n_networks=0), "n_networks"),
        (lambda: sr.train_td("td", lr=0.1, steps=10), "td"),
        (lambda: sr.train_rl_perceptron(np.ones((2, 5)), np.zeros(5), T=2, lr_1=1.0, alpha_max=1.0), "w_star"),
        (lambda: sr.train_rl_perceptron(np.ones((2, 5)), np.ones(4), T=2, lr_1=1.0, alpha_max=1.0), "w_star"),
        (lambda: sr.train_rl_perceptron(np.ones((2, 5)), np.ones(5), T=2, lr_1=1.0, alpha_max=1.0,
                                        method="fast"), "method"),
        (lambda: sr.train_cue_reward(tr.cue_reward_trial(), lr=2.5, trials=3), "lr"),
    ]
    for fn, word in cases:
        with pytest.raises((ValueError, TypeError)) as e:
            fn()
        assert word in str(e.value), (word, str(e.value))


def test_td_divergence_is_named():
    td = chain()
    with pytest.raises(DivergenceError, match="lr"):
        sr.train_td(td, lr=3.0 * td.stable_lr(), steps=3000, n_networks=4, record=20, seed=0, device="cpu")


def test_run_fields():
    td = chain()
    run = sr.train_td(td, lr=0.05, steps=20, n_networks=3, record=4, seed=0, device="cpu")
    assert run.losses.shape == (3, run.steps.size) and run.w.shape == (3, run.steps.size, td.d)
    assert run.model == "td_linear" and run.n_networks == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r2 = sr.train_rl_perceptron(np.ones((2, 6)), np.arange(6.0), T=2, lr_1=1.0, alpha_max=1.0, record=3)
    assert r2.time_unit.startswith("alpha") and r2.times[-1] == 1.0 and np.isnan(r2.reward_rate[:, 0]).all()


# ------------------------------------------------------------------------------ full size (make test-slow)


@pytest.mark.slow
def test_full_n_dimensional_simulation_matches_ode_and_spread_scales():
    ode = tr.RLPerceptronODE(3, 1.0, 0.25)
    sd = {}
    for N in (250, 1000):
        rng = np.random.default_rng(N)
        ws = rng.standard_normal(N)
        W0 = rng.standard_normal((48, N))
        W0 -= np.outer(W0 @ ws / (ws @ ws), ws)
        W0 *= np.sqrt(N) / np.linalg.norm(W0, axis=1, keepdims=True)
        run = sr.train_rl_perceptron(W0, ws, T=3, lr_1=1.0, lr_2=0.25, alpha_max=4.0, record=5, seed=2,
                                     method="full", device="cpu")
        th = ode.integrate(0.0, 1.0, run.times)
        for key, ref in (("R", th.R), ("Q", th.Q)):
            v = run.state[key][:, 1:]
            assert (np.abs(v.mean(0) - ref[1:]) / (v.std(0, ddof=1) / np.sqrt(48))).max() < 4.5
        sd[N] = run.R[:, -1].std(ddof=1)
    assert 1.4 < sd[250] / sd[1000] < 2.8  # 2 expected


@pytest.mark.slow
def test_td_gap_keeps_shrinking_to_large_ensembles():
    td = chain(4)
    lr, gaps = 0.05, []
    for E, seed in ((256, 1), (4096, 2), (65536, 3)):
        run = sr.train_td(td, lr=lr, steps=1000, n_networks=E, record=6, seed=seed, device="cpu")
        gaps.append(np.sqrt(np.mean((run.w.mean(0) - td.mean_weights(run.steps, lr))[1:] ** 2)))
    np.testing.assert_allclose(np.log(gaps[0] / gaps[2]) / np.log(256), 0.5, atol=0.12)


def test_overlap_simulation_torch_loop_equals_numpy_loop():
    # the torch loop (used on GPUs) and the NumPy loop (CPU) do the same arithmetic on the same draws
    from idealnets.simulate import engine
    rng = np.random.default_rng(1)
    W0, ws = rng.standard_normal((6, 50)), rng.standard_normal(50)
    ws *= np.sqrt(50) / np.linalg.norm(ws)
    out = {}
    for flag in (True, False):
        ctx = engine.context("cpu", seed=3)
        m = sr.RLPerceptronOverlaps(ctx.tensor(W0), ctx.tensor(ws), T=3, lr_1=1.0, lr_2=0.5, n=3,
                                    generator=ctx.generator)
        m.numpy_loop = flag
        out[flag] = engine.run(m, steps=300, record=4, log=False)
    np.testing.assert_allclose(out[True].state["R"], out[False].state["R"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out[True].state["Q"], out[False].state["Q"], rtol=1e-12)
    np.testing.assert_array_equal(out[True].state["reward_rate"][:, 1:], out[False].state["reward_rate"][:, 1:])


def test_batched_overlap_simulations_equal_separate_runs():
    # conditions of different T (padded to the largest below 8; T >= 8 batched by equal T), N, E, records and
    # reward conditions advance together, each on its own draws: bit-identical to separate runs
    rng = np.random.default_rng(5)
    spec = [(1, 40, 5, "all", None, 0.0, 7, 3.0), (3, 60, 4, "at_least", 2, 0.5, 5, 2.0),
            (6, 30, 3, "all", None, 0.0, np.array([0, 1, 17, 30, 90]), 3.0), (2, 50, 6, "all", None, 0.25, 4, 0.0),
            (10, 20, 3, "at_least", 7, 0.3, 6, 4.0), (10, 25, 2, "all", None, 0.0, 5, 2.0)]
    conds = [dict(W0=rng.standard_normal((E, N)), w_star=rng.standard_normal(N), T=T, lr_1=1.0, lr_2=lr_2,
                  condition=cond, n=n, alpha_max=a, record=rec, seed=10 + i)
             for i, (T, N, E, cond, n, lr_2, rec, a) in enumerate(spec)]
    for dtype in ("float64", "float32"):  # float32: each condition by the engine
        runs = sr.train_rl_perceptron_batch(conds, device="cpu", dtype=dtype)
        for c, run in zip(conds, runs):
            ref = sr.train_rl_perceptron(**c, method="overlaps", device="cpu", dtype=dtype)
            for key in ("R", "Q", "reward_rate"):
                np.testing.assert_array_equal(run.state[key], ref.state[key])
            np.testing.assert_array_equal(run.losses, ref.losses)
            np.testing.assert_array_equal(run.times, ref.times)
            assert run.extras == ref.extras and run.model == ref.model and run.loss_name == ref.loss_name
    with pytest.raises(ValueError, match="overlaps"):
        sr.train_rl_perceptron_batch([dict(conds[0], method="full")])
    with pytest.raises(TypeError, match="unknown"):
        sr.train_rl_perceptron_batch([dict(conds[0], lr=0.1)])
