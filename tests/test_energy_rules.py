"""Equilibrium propagation and predictive coding in deep linear networks: the exact equilibrium vs
direct minimisation, the updates vs backprop (bias linear in beta, its slope in closed form),
limits (depth 1, beta -> 0, beta -> inf), the flow vs solve_ivp-free checks, and networks trained
with the inner relaxation run vs the mean flow (gap first order in lr)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from idealnets.simulate.energy_rules import train_energy_rule
from idealnets.theory import energy_rules as er


def _net(depth=3, seed=0, n_in=4, hidden=5, n_out=3, P=10, scale=0.5):
    rng = np.random.default_rng(seed)
    sizes = [n_in] + [hidden] * (depth - 1) + [n_out]
    Ws = [scale * rng.standard_normal((sizes[l + 1], sizes[l])) for l in range(depth)]
    X = rng.standard_normal((n_in, P))
    Y = rng.standard_normal((n_out, P))
    return Ws, X, Y


def _minimise(Ws, X, Y, beta):
    """The nudged equilibrium by solving the stationarity conditions as one dense linear system."""
    L = len(Ws)
    sizes = [w.shape[0] for w in Ws]
    offs = np.concatenate([[0], np.cumsum(sizes)])
    n = offs[-1]
    H = np.zeros((n, n))
    b = np.zeros((n, X.shape[1]))
    # F = 1/2 sum |h_l - W_l h_{l-1}|^2 + beta/2 |h_L - y|^2 ; build its Hessian and linear term
    for l in range(L):
        i = slice(offs[l], offs[l + 1])
        H[i, i] += np.eye(sizes[l])
        if l == 0:
            b[i] += Ws[0] @ X
        else:
            j = slice(offs[l - 1], offs[l])
            H[i, j] -= Ws[l]
            H[j, i] -= Ws[l].T
            H[j, j] += Ws[l].T @ Ws[l]
    iL = slice(offs[L - 1], offs[L])
    H[iL, iL] += beta * np.eye(sizes[-1])
    b[iL] += beta * Y
    z = np.linalg.solve(H, b)
    return [X] + [z[offs[l]:offs[l + 1]] for l in range(L)]


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_equilibrium_is_the_minimum(depth):
    Ws, X, Y = _net(depth, seed=depth)
    for beta in (0.0, 0.3, 5.0):
        h = er.equilibrium(Ws, X, Y, beta)
        for a, b in zip(h, _minimise(Ws, X, Y, beta)):
            np.testing.assert_allclose(a, b, atol=1e-12)
    hf = er.free_phase(Ws, X)
    assert er.energy(Ws, hf) == 0.0
    hc = er.equilibrium(Ws, X, Y, np.inf)
    np.testing.assert_array_equal(hc[-1], Y)
    h_big = er.equilibrium(Ws, X, Y, 1e9)  # beta -> inf is the clamped equilibrium
    for a, b in zip(hc, h_big):
        np.testing.assert_allclose(a, b, atol=1e-7)


def test_backprop_gradient_matches_finite_differences():
    Ws, X, Y = _net(3, seed=4)
    g = er.backprop_gradient(Ws, X, Y)
    eps = 1e-6
    for l in range(3):
        num = np.zeros_like(Ws[l])
        for idx in np.ndindex(Ws[l].shape):
            Wp = [w.copy() for w in Ws]
            Wm = [w.copy() for w in Ws]
            Wp[l][idx] += eps
            Wm[l][idx] -= eps
            num[idx] = (er.network_loss(Wp, X, Y) - er.network_loss(Wm, X, Y)) / (2 * eps)
        np.testing.assert_allclose(g[l], num, atol=1e-8)


def test_eqprop_definition_and_bias_linear_in_beta():
    Ws, X, Y = _net(3, seed=5)
    P = X.shape[1]
    bp = er.backprop_gradient(Ws, X, Y)
    S = er.eqprop_bias_slope(Ws, X, Y)
    beta = 0.05
    # the definition: -(1/beta) (dE/dW at the nudged minus at the free equilibrium), dE/dW_l = -eps_l h_{l-1}^T
    hb, hf = er.equilibrium(Ws, X, Y, beta), er.free_phase(Ws, X)
    u = er.eqprop_update(Ws, X, Y, beta)
    for l in range(3):
        dE = lambda h: -(h[l + 1] - Ws[l] @ h[l]) @ h[l].T / P  # noqa: E731
        np.testing.assert_allclose(u[l], -(dE(hb) - dE(hf)) / beta, atol=1e-12)
    devs, res = [], []
    for beta in (4e-3, 2e-3, 1e-3):
        u = er.eqprop_update(Ws, X, Y, beta)
        devs.append(max(np.linalg.norm(u[l] + bp[l]) for l in range(3)))
        res.append(max(np.linalg.norm(u[l] + bp[l] - beta * S[l]) for l in range(3)))
    r1 = np.array(devs[:-1]) / np.array(devs[1:])
    r2 = np.array(res[:-1]) / np.array(res[1:])
    np.testing.assert_allclose(r1, 2.0, rtol=0.1)  # first order in beta
    np.testing.assert_allclose(r2, 4.0, rtol=0.1)  # after the closed-form slope: second order
    for a, b in zip(er.eqprop_update(Ws, X, Y, 0.0), bp):  # beta = 0: the limit, exactly
        np.testing.assert_array_equal(a, -b)


def test_depth_one_limits():
    Ws, X, Y = _net(1, seed=6)
    bp = er.backprop_gradient(Ws, X, Y)[0]
    for beta in (0.1, 1.0, 7.0):
        np.testing.assert_allclose(er.eqprop_update(Ws, X, Y, beta)[0], -bp / (1 + beta), atol=1e-13)
    np.testing.assert_allclose(er.predictive_coding_update(Ws, X, Y)[0], -bp, atol=1e-13)  # PC = backprop
    np.testing.assert_allclose(er.eqprop_bias_slope(Ws, X, Y)[0], bp, atol=1e-13)  # d/dbeta of -bp/(1+beta)


def test_predictive_coding_differs_from_backprop_with_depth():
    Ws, X, Y = _net(2, seed=7)
    bp = er.backprop_gradient(Ws, X, Y)
    pc = er.predictive_coding_update(Ws, X, Y)
    assert max(np.linalg.norm(pc[l] + bp[l]) / np.linalg.norm(bp[l]) for l in range(2)) > 0.1
    # with tiny weights G -> I: the top layer's update approaches backprop's (its first-order part)
    small = [1e-4 * w for w in Ws]
    bps, pcs = er.backprop_gradient(small, X, Y), er.predictive_coding_update(small, X, Y)
    np.testing.assert_allclose(pcs[0], -bps[0], rtol=1e-3)
    # precision -> 0: pi times backprop
    pi = 1e-7
    for a, b in zip(er.predictive_coding_update(Ws, X, Y, pi), bp):
        np.testing.assert_allclose(a / pi, -b, rtol=1e-5, atol=1e-9)


def test_flow_decreases_loss_and_fixed_point():
    rng = np.random.default_rng(8)
    Ws, X, _ = _net(2, seed=8, n_in=3, hidden=3, n_out=2, P=8)
    Y = rng.standard_normal((2, 3)) @ X  # realisable: every rule reaches zero loss
    for rule, beta in (("backprop", 1.0), ("eqprop", 0.2), ("predictive_coding", np.inf)):
        fl = er.EnergyRuleFlow(Ws, X, Y, rule, beta)
        L = fl.loss([0.0, 1.0, 3.0, np.inf])
        assert L[1] < L[0] and L[2] < L[1]
        assert L[3] < 1e-18


def test_trained_with_relaxation_matches_flow_first_order_in_lr():
    Ws, X, _ = _net(2, seed=9, n_in=3, hidden=3, n_out=2, P=8, scale=0.4)
    Y = np.random.default_rng(9).standard_normal((2, 3)) @ X
    for rule, beta in (("eqprop", 0.1), ("predictive_coding", np.inf)):
        fl = er.EnergyRuleFlow(Ws, X, Y, rule, beta)
        gaps = []
        for lr in (0.1, 0.05):
            run = train_energy_rule(Ws, X, Y, rule=rule, beta=beta, lr=lr, steps=int(round(1.5 / lr)), record=4,
                                    log=False, return_weights=True, device="cpu")
            flow = fl.weights(run.times)
            # the weights' distance to the mean flow (the loss gap can change sign along the way)
            gaps.append(max(np.max(np.linalg.norm(run.state[f"weights_{l + 1}"][0] - flow[l], axis=(-2, -1)))
                            for l in range(2)))
        assert abs(gaps[0] / gaps[1] - 2.0) < 0.3, (rule, gaps)


@given(bad=st.sampled_from([-1.0, np.nan, "x", None, [0.1, 0.2]]))
def test_beta_contract(bad):
    Ws, X, Y = _net(2)
    with pytest.raises((ValueError, TypeError), match="beta"):
        er.eqprop_update(Ws, X, Y, bad)


def test_contract():
    Ws, X, Y = _net(2)
    with pytest.raises(ValueError, match="weights"):
        er.backprop_gradient([Ws[0], Ws[0]], X, Y)
    with pytest.raises(ValueError, match="Y"):
        er.equilibrium(Ws, X, Y[:, :3], 0.1)
    with pytest.raises(ValueError, match="beta"):
        er.EnergyRuleFlow(Ws, X, Y, "eqprop", np.inf)
    with pytest.raises(ValueError, match="rule"):
        er.EnergyRuleFlow(Ws, X, Y, "hebb", 0.1)
    with pytest.raises(ValueError, match="beta"):
        train_energy_rule(Ws, X, Y, rule="eqprop", beta=np.inf, lr=0.1, steps=1)


def test_predictive_coding_modes_match_the_full_flow_and_escape_rate():
    rng = np.random.default_rng(11)
    N, P = 3, 12
    Q, _ = np.linalg.qr(rng.standard_normal((P, N)))
    X = np.sqrt(P) * Q.T
    U, V, R = (np.linalg.qr(rng.standard_normal((N, N)))[0] for _ in range(3))
    s = np.array([2.5, 1.5, 0.7])
    Y = (U * s) @ V.T @ X
    a0, b0 = np.array([0.05, 0.1, 0.2]), np.array([0.1, 0.03, 0.2])
    fl = er.EnergyRuleFlow([(R * a0) @ V.T, (U * b0) @ R.T], X, Y, "predictive_coding", np.inf)
    t = np.array([0.0, 0.8, 2.5])
    W1, W2 = fl.weights(t)
    a, b = er.predictive_coding_modes(t, s, a0, b0)
    np.testing.assert_allclose(W1, np.einsum("ia,ta,ja->tij", R, a, V), atol=1e-9)
    np.testing.assert_allclose(W2, np.einsum("ia,ta,ja->tij", U, b, R), atol=1e-9)
    ai, bi = er.predictive_coding_modes(np.inf, s, a0, b0)
    np.testing.assert_allclose(ai * bi, s, rtol=1e-10)
    # plateau growth when the initial weights shrink 100-fold: ln(10^4) / (2 mu)
    for si in (0.8, 2.0, 3.5):
        th = []
        for w in (1e-3, 1e-5):
            tt = np.linspace(0.0, 20.0 / si, 20001)
            aa, bb = er.predictive_coding_modes(tt, si, w, w)
            th.append(tt[np.argmax(aa * bb >= 0.5 * si)])
        mu = er.predictive_coding_escape_rate(si)
        np.testing.assert_allclose(th[1] - th[0], np.log(1e4) / (2 * mu), rtol=0.01)


@given(seed=st.integers(0, 2**16), depth=st.integers(1, 4), beta=st.floats(1e-3, 1e3))
def test_equilibrium_properties(seed, depth, beta):
    """The closed-form equilibrium is stationary (zero state gradient), lies between the free and the
    clamped states' energies, and its EP update is finite; beta -> 0 recovers backprop."""
    Ws, X, Y = _net(depth, seed=seed, n_in=3, hidden=3, n_out=2, P=5)
    h = er.equilibrium(Ws, X, Y, beta)
    L = len(Ws)
    eps = [h[l + 1] - Ws[l] @ h[l] for l in range(L)]
    for l in range(L - 1):
        np.testing.assert_allclose(eps[l] - Ws[l + 1].T @ eps[l + 1], 0.0, atol=1e-9 * (1 + np.abs(Y).max()))
    np.testing.assert_allclose(eps[-1] + beta * (h[-1] - Y), 0.0, atol=1e-9 * (1 + beta) * (1 + np.abs(Y).max()))
    F = er.energy(Ws, h) + 0.5 * beta * np.sum((h[-1] - Y) ** 2)
    assert F <= 0.5 * beta * np.sum((er.free_phase(Ws, X)[-1] - Y) ** 2) * (1 + 1e-12)  # the free states are feasible
    u = er.eqprop_update(Ws, X, Y, beta)
    assert all(np.all(np.isfinite(a)) for a in u)


def test_flow_keyword_alias_and_divergence():
    Ws, X, Y = _net(2, seed=12)
    with pytest.warns(DeprecationWarning, match="weights0"):
        fl = er.EnergyRuleFlow(weights0=Ws, X=X, Y=Y, rule="backprop")
    assert np.isfinite(fl.loss([0.0, 0.5])).all()
    from idealnets.theory.validation import DivergenceError

    huge = [np.full((1, 1), 1e200), np.full((1, 1), 1e200)]  # the product overflows: a named error, not NaN
    with pytest.raises(DivergenceError, match="diverged"):
        er.EnergyRuleFlow(huge, np.ones((1, 2)), np.ones((1, 2)), "backprop").weights([0.0, 1.0])


def test_huge_times_settle():
    rng = np.random.default_rng(14)
    Ws, X, _ = _net(2, seed=14, n_in=3, hidden=3, n_out=2, P=8, scale=0.4)
    Y = rng.standard_normal((2, 3)) @ X
    fl = er.EnergyRuleFlow(Ws, X, Y, "eqprop", 0.2)
    L = fl.loss([1e12, np.inf])
    assert L[0] < 1e-12 * fl.loss(0.0)[0] and L[1] < 1e-18
    a, b = er.predictive_coding_modes([1e12, np.inf], 2.0, 0.01, 0.01)
    np.testing.assert_allclose(a * b, 2.0, rtol=1e-8)
