"""Oja's subspace rule and Sanger's rule: closed form vs direct integration, vs online-trained
networks (gap first order in lr), limits (k = N, k = 1, t = inf), error contract."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from idealnets.simulate.hebbian import train_hebbian
from idealnets.theory import hebbian as hb


def _cov(N, seed=0, lam=None):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((N, N)))
    lam = np.linspace(3.0, 0.3, N) if lam is None else np.asarray(lam, float)
    return (Q * lam) @ Q.T, rng


def test_oja_closed_form_matches_solve_ivp():
    C, rng = _cov(6, 1)
    W0 = 0.4 * rng.standard_normal((3, 6))
    t = np.array([0.0, 0.05, 0.7, 2.0, 5.5, 20.0])
    W = hb.oja_flow(C, W0, t)
    Wr = hb.integrate_hebbian_flow(C, W0, t, "oja")
    np.testing.assert_allclose(W, Wr, atol=1e-10)
    # the Gram matrix is the Yan-Helmke-Moore formula, written out here independently
    lam, V = np.linalg.eigh(C)
    for ti, Wi in zip(t[:4], W[:4]):
        eC = (V * np.exp(lam * ti)) @ V.T
        P = np.linalg.inv(np.eye(3) + W0 @ (eC @ eC - np.eye(6)) @ W0.T)
        np.testing.assert_allclose(Wi.T @ Wi, eC @ W0.T @ P @ W0 @ eC, atol=1e-12)
    # the rotation is needed: the symmetric root alone is not the flow
    eC = (V * np.exp(lam * 2.0)) @ V.T
    P = np.linalg.inv(np.eye(3) + W0 @ (eC @ eC - np.eye(6)) @ W0.T)
    ev, Ev = np.linalg.eigh(P)
    sym = (Ev * np.sqrt(ev)) @ Ev.T @ W0 @ eC
    assert np.max(np.abs(sym - W[3])) > 1e-3


def test_oja_fixed_point_and_large_times():
    C, rng = _cov(5, 2)
    W0 = rng.standard_normal((2, 5))
    Winf, Wbig = hb.oja_flow(C, W0, [np.inf, 80.0])
    np.testing.assert_allclose(Winf @ Winf.T, np.eye(2), atol=1e-12)
    assert hb.principal_subspace_error(Winf, C) < 1e-13  # rounding of the cosines
    np.testing.assert_allclose(Winf, Wbig, atol=1e-12)
    np.testing.assert_allclose(Winf, hb.integrate_hebbian_flow(C, W0, [80.0])[0], atol=1e-10)


def test_oja_limits_k_equals_N_and_k_one():
    C, rng = _cov(4, 3)
    W0 = 0.3 * rng.standard_normal((4, 4))
    W = hb.oja_flow(C, W0, [1.0, np.inf])
    np.testing.assert_allclose(W[0], hb.integrate_hebbian_flow(C, W0, [1.0])[0], atol=1e-10)
    np.testing.assert_allclose(W[1].T @ W[1], np.eye(4), atol=1e-12)  # k = N: W(inf) orthogonal
    assert np.all(hb.principal_subspace_error(W, C) < 1e-13)  # the top-N subspace is everything
    w0 = rng.standard_normal(4)
    lam, V = np.linalg.eigh(C)
    t = 0.8
    eC = (V * np.exp(lam * t)) @ V.T
    closed = eC @ w0 / np.sqrt(1 + w0 @ (eC @ eC - np.eye(4)) @ w0)  # Oja 1982, written out
    np.testing.assert_allclose(hb.oja_unit_flow(C, w0, t), closed, atol=1e-13)
    np.testing.assert_allclose(hb.oja_flow(C, w0[None], t)[0], closed, atol=1e-13)
    v1 = V[:, -1] * np.sign(V[:, -1] @ w0)
    np.testing.assert_allclose(hb.oja_unit_flow(C, w0, np.inf), v1, atol=1e-12)


def test_sanger_orders_eigenvectors_and_first_row_is_oja():
    C, rng = _cov(5, 4)
    W0 = 0.5 * rng.standard_normal((3, 5))
    W = hb.sanger_flow(C, W0, [0.0, 1.5, np.inf])
    np.testing.assert_array_equal(W[0], W0)
    np.testing.assert_allclose(W[1, 0], hb.oja_unit_flow(C, W0[0], 1.5), atol=1e-10)
    lam, V = hb.top_eigenvectors(C, 3)
    np.testing.assert_allclose(np.abs(W[2] @ V), np.eye(3), atol=1e-14)
    W40 = hb.sanger_flow(C, W0, 60.0)
    np.testing.assert_allclose(W40, W[2], atol=1e-8)


def test_principal_angles():
    C, rng = _cov(5, 5)
    lam, V = hb.top_eigenvectors(C, 2)
    assert hb.principal_subspace_error(V.T, C) < 1e-13
    _, V5 = hb.top_eigenvectors(C, 5)
    np.testing.assert_allclose(hb.principal_angles(V5[:, 2:4].T, C, 2), [np.pi / 2] * 2, atol=1e-7)
    W = np.stack([V.T, np.zeros((2, 5))])
    np.testing.assert_allclose(hb.principal_subspace_error(W, C), [0.0, 2.0], atol=1e-12)
    A = rng.standard_normal((2, 2))
    np.testing.assert_allclose(hb.principal_angles(A @ V.T, C), 0.0, atol=1e-7)  # only the span matters
    with pytest.raises(ValueError, match="not unique"):
        hb.principal_angles(V.T, np.eye(5), 2)


def _gap(C, W0, lr, E, T, seed, rule="oja"):
    run = train_hebbian(C, np.repeat(W0[None], E, axis=0), rule=rule, lr=lr, steps=int(round(T / lr)),
                        record=9, log=False, seed=seed, device="cpu")
    flow = hb.oja_flow(C, W0, run.times) if rule == "oja" else hb.sanger_flow(C, W0, run.times)
    th = hb.principal_subspace_error(flow, C, W0.shape[0])
    dev = run.subspace_error.mean(0) - th
    se = run.subspace_error.std(0, ddof=1) / np.sqrt(E)
    return np.mean(np.abs(dev[1:])), np.mean(se[1:])


def test_online_oja_gap_first_order_in_lr():
    lamC = [5, 4, 3, 1, 0.5, 0.3, 0.2, 0.1]
    C, rng = _cov(8, 6, lamC)
    W0 = 0.5 * rng.standard_normal((3, 8))
    g1, se1 = _gap(C, W0, 0.004, 120, 3.0, 1)
    g2, se2 = _gap(C, W0, 0.002, 120, 3.0, 2)
    assert g1 > 5 * se1  # the O(lr) bias is resolved
    assert abs(g1 / g2 - 2.0) <= 0.6  # first order: halves with lr (measured ~2)


def test_online_sanger_converges_to_ordered_eigenvectors():
    C, rng = _cov(5, 7, [4, 2, 1, 0.5, 0.2])
    W0 = 0.5 * rng.standard_normal((2, 5))
    run = train_hebbian(C, np.broadcast_to(W0, (20, 2, 5)), rule="sanger", lr=0.003, steps=4000, record=3,
                        return_weights=True, seed=3, device="cpu")
    _, V = hb.top_eigenvectors(C, 2)
    ov = np.abs(run.weights[:, -1] @ V)  # (E, 2, 2)
    assert np.all(np.diagonal(ov, axis1=1, axis2=2) > 0.97)
    assert np.all(np.abs(ov[:, 0, 1]) < 0.15) and np.all(np.abs(ov[:, 1, 0]) < 0.15)


@given(bad=st.sampled_from([np.array([[1.0, 2.0], [0.0, 1.0]]), -np.eye(3), np.ones((2, 3)), np.array([[np.nan]]),
                            "C", None]))
def test_bad_covariance_refused(bad):
    with pytest.raises((ValueError, TypeError), match="C"):
        hb.oja_flow(bad, np.ones((1, 2)), 1.0)


@given(seed=st.integers(0, 2**16), k=st.integers(1, 3), t=st.floats(0.0, 4.0))
def test_oja_flow_properties(seed, k, t):
    C, rng = _cov(4, seed)
    W0 = rng.standard_normal((k, 4))
    W = hb.oja_flow(C, W0, t)
    assert np.all(np.isfinite(W))
    # the rows span the row space of W0 e^{Ct} (power iteration in continuous time)
    lam, V = np.linalg.eigh(C)
    Z = W0 @ (V * np.exp(lam * t)) @ V.T
    Qz, _ = np.linalg.qr(Z.T)
    np.testing.assert_allclose(W - (W @ Qz) @ Qz.T, 0.0, atol=1e-10)
    if k == 1:  # |w|^2 moves monotonically toward 1: d|w|^2/dt = 2 w^T C w (1 - |w|^2)
        n0, n = W0 @ W0.T, W @ W.T
        assert abs(n.item() - 1) <= abs(n0.item() - 1) + 1e-12


def test_contract():
    C, _ = _cov(3)
    with pytest.raises(ValueError, match="W0"):
        hb.oja_flow(C, np.ones((4, 3)), 1.0)
    with pytest.raises(ValueError, match="t"):
        hb.oja_flow(C, np.ones((1, 3)), -1.0)
    with pytest.raises(ValueError, match="rule"):
        hb.integrate_hebbian_flow(C, np.ones((1, 3)), [1.0], "hebb")
    with pytest.raises(ValueError, match="lr"):
        train_hebbian(C, np.ones((1, 3)), lr=0.0, steps=3)
    np.testing.assert_array_equal(hb.oja_flow(np.zeros((3, 3)), np.ones((1, 3)), [1.0, np.inf])[1], np.ones((1, 3)))


# ---------------------------------------------------------------- linear autoencoders
def _ae_data(seed=0, N=4, P=40):
    rng = np.random.default_rng(seed)
    return np.diag(np.linspace(2.0, 0.6, N)) @ rng.standard_normal((N, P))


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_autoencoder_theory_matches_integrated_gradient_flow(depth):
    from idealnets.theory.deep_linear import integrate_gradient_flow

    X = _ae_data(depth)
    th = hb.LinearAutoencoderTheory(X, depth, u0=0.02)
    a = 0.02 ** (1 / depth)
    Ws = [a * th.V.T] + [a * np.eye(4)] * (depth - 2) + [a * th.V] if depth > 1 else [0.02 * th.V @ th.V.T]
    t = np.array([0.0, 0.7, 2.5, 9.0])
    W = integrate_gradient_flow(Ws, th.C, th.C, t)
    M = W[0]
    for w in W[1:]:
        M = w @ M
    np.testing.assert_allclose(M, th.map(t), atol=1e-9)
    np.testing.assert_allclose(th.loss(t), [0.5 * np.trace((np.eye(4) - m) @ th.C @ (np.eye(4) - m).T) for m in M],
                               atol=1e-9)
    # components are learned in order of their variance
    assert np.all(np.diff(th.learning_times(0.5)) > 0)
    np.testing.assert_allclose(th.mode_strengths(np.inf), 1.0)


def test_tied_autoencoder_twice_as_fast_and_matches_solve_ivp():
    from scipy.integrate import solve_ivp

    X = _ae_data(5)
    tied = hb.LinearAutoencoderTheory(X, 2, u0=0.01, tied=True)
    untied = hb.LinearAutoencoderTheory(X, 2, u0=0.01)
    np.testing.assert_allclose(tied.learning_times(), untied.learning_times() / 2, rtol=1e-12)
    C = tied.C
    rng = np.random.default_rng(1)
    R, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    W0 = R @ (np.sqrt(0.01) * tied.V.T)  # aligned, any hidden rotation

    def rhs(_, w):
        W = w.reshape(4, 4)
        E = C - W.T @ W @ C
        return (W @ (E + E.T)).ravel()

    t = np.array([0.0, 1.0, 3.0])
    sol = solve_ivp(rhs, (0, 3.0), W0.ravel(), t_eval=t, method="DOP853", rtol=1e-11, atol=1e-13)
    maps = np.array([w.reshape(4, 4).T @ w.reshape(4, 4) for w in sol.y.T])
    np.testing.assert_allclose(maps, tied.map(t), atol=1e-8)


def test_autoencoder_trained_matches_theory():
    from idealnets.simulate.deep_linear import train
    from idealnets.simulate.hebbian import train_tied_autoencoder

    X = _ae_data(7)
    devs = []
    for lr in (0.02, 0.01):
        th = hb.LinearAutoencoderTheory(X, 2, u0=1e-3)
        run = train(X, X, depth=2, width=4, n_networks=1, init="decoupled", init_scale=1e-3, lr=lr,
                    steps=int(round(6.0 / lr)), record=[0, int(round(3.0 / lr)), int(round(6.0 / lr))], device="cpu")
        u = np.einsum("ia,erij,ja->era", th.V, run.maps, th.V)[0]
        devs.append(np.max(np.abs(u - th.mode_strengths(run.times))))
    assert devs[0] < 0.02 and 1.6 < devs[0] / devs[1] < 2.5  # O(lr), ratio ~2
    tied = hb.LinearAutoencoderTheory(X, 2, u0=1e-3, tied=True)
    run = train_tied_autoencoder(X, np.sqrt(1e-3) * tied.V.T, lr=0.005, steps=800, record=[0, 400, 800], device="cpu")
    u = np.einsum("ia,erij,ja->era", tied.V, run.maps, tied.V)[0]
    assert np.max(np.abs(u - tied.mode_strengths(run.times))) < 0.02


def test_autoencoder_limits_and_contract():
    X = _ae_data(8)
    th = hb.LinearAutoencoderTheory(X, 1, u0=0.0)
    t = np.array([0.0, 1.0])
    np.testing.assert_allclose(th.mode_strengths(t)[1], 1 - np.exp(-th.eigenvalues))  # depth 1: exponential
    narrow = hb.LinearAutoencoderTheory(X, 2, u0=1e-2, hidden=2)
    u = narrow.mode_strengths(np.inf)
    np.testing.assert_allclose(u, [1, 1, 0, 0])  # only the top 'hidden' components are learned
    np.testing.assert_allclose(narrow.loss(np.inf), 0.5 * narrow.eigenvalues[2:].sum())
    with pytest.raises(ValueError, match="tied"):
        hb.LinearAutoencoderTheory(X, 3, tied=True)
    with pytest.raises(ValueError, match="X"):
        hb.LinearAutoencoderTheory(np.zeros((3, 4)), 2)


@pytest.mark.slow
def test_online_oja_gap_first_order_full_size():
    """The figure's setting (N = 8, k = 3, t <= 4) with 400 networks at lr = 0.002 and 0.001."""
    lamC = [5, 4, 3, 1, 0.5, 0.3, 0.2, 0.1]
    C, rng = _cov(8, 6, lamC)
    W0 = 0.5 * rng.standard_normal((3, 8))
    g1, se1 = _gap(C, W0, 0.002, 400, 4.0, 11)
    g2, se2 = _gap(C, W0, 0.001, 400, 4.0, 12)
    assert g2 > 5 * se2
    assert abs(g1 / g2 - 2.0) <= 0.4


def test_huge_times_cost_what_inf_costs():
    import time

    C, rng = _cov(4, 13)
    W0 = rng.standard_normal((2, 4))
    t0 = time.perf_counter()
    Wo = hb.oja_flow(C, W0, [1e12, np.inf])
    Ws = hb.sanger_flow(C, W0, [1e12, np.inf])
    assert time.perf_counter() - t0 < 30.0  # not 1e12 / lambda pieces or steps
    np.testing.assert_allclose(Wo[0], Wo[1], atol=1e-12)
    np.testing.assert_allclose(Ws[0], Ws[1], atol=1e-9)
