"""Hidden-manifold committee ODEs (issue 25): limits, Stein's lemma by Monte Carlo, SGD on actual data.

(i) The i.i.d. limit -- linear feature map, orthogonal features (F F^T / N = I, D = N) -- is the committee
ODE term by term; (ii) the first-order drift, which rests on Stein's lemma for the latent projections
c_tau, is checked against a Monte-Carlo average over the Gaussian-equivalent fields; (iii) online SGD
on actual hidden-manifold data x = sign(F^T c / sqrt D) approaches the ODE (integrated from each
network's own spectral order parameters) with a gap shrinking like N^-1/2.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from idealnets.theory.committee import CommitteeODE
from idealnets.theory.hidden_manifold import (HiddenManifoldODE, HiddenManifoldState, coarsen, feature_map_moments,
                                              hidden_manifold_state)
from idealnets.theory.validation import DivergenceError
from idealnets.simulate.hidden_manifold import hidden_manifold_features, train_hidden_manifold


def _orthogonal_setup(K=3, M=2, N=30, seed=0):
    rng = np.random.default_rng(seed)
    F = np.linalg.qr(rng.standard_normal((N, N)))[0] * np.sqrt(N)
    return hidden_manifold_state(rng.standard_normal((K, N)), F, rng.standard_normal((M, N)))


@pytest.mark.parametrize("activation", ["erf", "linear"])
def test_iid_limit_is_the_committee_ode(activation):
    st0 = _orthogonal_setup()
    v, vs = np.array([0.5, -0.3, 0.8]), np.array([1.0, 0.7])
    hm = HiddenManifoldODE(3, 2, 0.7, 1.0, feature_map="linear", activation=activation, v_star=vs,
                           train_second_layer=True)
    Q, R, T = hm.overlaps(st0.W, st0.sigma, st0.r, st0.t, st0.weights)
    ref = CommitteeODE(3, 2, 0.7, activation=activation, train_second_layer=True, T=T, v_star=vs)
    dQ, dR, dv = ref.rates(Q, R, v)
    dW, ds, dr, dvh = hm.rates(st0.W, st0.sigma, st0.r, v, st0.t, st0.rho, st0.weights)
    np.testing.assert_allclose(st0.weights @ ds.reshape(len(ds), -1), dQ.ravel(), rtol=0, atol=1e-13)
    np.testing.assert_allclose(dW, dQ, rtol=0, atol=1e-13)
    np.testing.assert_allclose(st0.weights @ dr.reshape(len(dr), -1), dR.ravel(), rtol=0, atol=1e-13)
    np.testing.assert_allclose(dvh, dv, rtol=0, atol=1e-13)
    a = np.linspace(0, 5, 6)
    tr = hm.integrate(st0, v, alpha_eval=a)
    tr_ref = ref.integrate(Q, R, v, alpha_eval=a)
    np.testing.assert_allclose(tr.eps_g, tr_ref.eps_g, rtol=0, atol=1e-9)


def test_feature_map_moments():
    z = np.random.default_rng(0).standard_normal(1_000_000)
    for f, fn in (("sign", np.sign), ("tanh", np.tanh), ("linear", lambda x: x)):
        f1, fu2 = feature_map_moments(f)
        assert abs(f1 - np.mean(z * fn(z))) < 5e-3 and abs(fu2 - np.mean(fn(z) ** 2)) < 5e-3
    from scipy.special import erf
    f1, fu2 = feature_map_moments("erf")
    assert abs(f1 - np.mean(z * erf(z / np.sqrt(2)))) < 5e-3 and abs(fu2 - np.mean(erf(z / np.sqrt(2)) ** 2)) < 5e-3


def test_first_order_drift_by_monte_carlo():
    """The O(lr) drift of one latent direction, E[e_k psi.F x], by sampling the Gaussian-equivalent fields
    jointly with c_tau and zeta_tau, against the Stein's-lemma form the ODE uses. Stein's lemma is exact for
    jointly Gaussian variables whatever the size of the cross-covariances, so they are scaled from D^-1/2 up
    to ``eps`` (the drift is linear in them) and the only error is the Monte-Carlo one (5 standard errors)."""
    from scipy.special import erf

    K, M = 2, 1
    rng = np.random.default_rng(3)
    D, N = 20, 40
    dl = D / N
    F = rng.standard_normal((D, N))
    W, Wt = 0.8 * rng.standard_normal((K, N)), rng.standard_normal((M, D))
    st0 = hidden_manifold_state(W, F, Wt)
    rho_all, psi = np.linalg.eigh(F @ F.T / N)
    s_all, w_all = psi.T @ (F @ W.T) / np.sqrt(N), psi.T @ Wt.T
    hm = HiddenManifoldODE(K, M, 1.0, dl, feature_map="sign")
    v = np.array([0.9, 0.6])
    Q, R, T = hm.overlaps(st0.W, st0.sigma, st0.r, st0.t, st0.weights)
    tau = D - 1  # the largest eigenvalue
    rho, s_tau, w_tau = rho_all[tau], s_all[tau], w_all[tau, 0]
    f1, fs = hm.f1, np.sqrt(hm.fs2)
    eps = 0.1
    C = np.zeros((5, 5))  # (lambda_1, lambda_2, nu, c_tau, zeta_tau)
    C[:2, :2], C[:2, 2], C[2, :2], C[2, 2] = Q, R[:, 0], R[:, 0], T[0, 0]
    C[3, :2] = C[:2, 3] = eps * f1 * s_tau
    C[3, 2] = C[2, 3] = eps * w_tau
    C[4, :2] = C[:2, 4] = eps * fs * s_tau * np.sqrt(dl / rho)
    C[3, 3] = C[4, 4] = 1.0
    z = np.random.default_rng(4).multivariate_normal(np.zeros(5), C, size=1_000_000)
    delta = v @ erf(z[:, :2].T / np.sqrt(2)) - erf(z[:, 2] / np.sqrt(2))
    e = v[:, None] * np.sqrt(2 / np.pi) * np.exp(-z[:, :2].T ** 2 / 2) * delta  # (K, S)
    x = e * (f1 * rho / dl * z[:, 3] + fs * np.sqrt(rho / dl) * z[:, 4]) / eps
    mc, se = x.mean(1), x.std(1) / np.sqrt(x.shape[1])
    _, _, dr, _ = hm.rates(st0.W, st0.sigma, st0.r, v, st0.t, st0.rho, st0.weights)
    ds_ode = -dr[tau, :, 0] / w_tau  # r = s w~ with w~ constant: dr = ds w~
    assert np.all(np.abs(ds_ode - mc) < 5 * se), (ds_ode, mc, se)


def test_coarsened_spectrum_is_close_and_exact_for_equal_eigenvalues():
    """Binning directions of equal rho is exact (the equations are linear in each direction's own order
    parameters); binning a Marchenko-Pastur spectrum into 10-40 bins changes eps_g by < 2e-3 (measured 1.2e-3)."""
    N, D, K, M = 200, 100, 2, 2
    F = hidden_manifold_features(D, N, seed=1)
    rng = np.random.default_rng(2)
    st0 = hidden_manifold_state(rng.standard_normal((K, N)), F, rng.standard_normal((M, D)))
    ode = HiddenManifoldODE(K, M, 0.5, D / N)
    a = np.linspace(0, 10, 11)
    full = ode.integrate(st0, alpha_eval=a, rtol=1e-9, atol=1e-11)
    for nb in (10, 40):
        c = ode.integrate(coarsen(st0, nb), alpha_eval=a, rtol=1e-9, atol=1e-11)
        assert np.abs(c.eps_g - full.eps_g).max() < 2e-3
    flat = HiddenManifoldState(st0.W, st0.sigma, st0.r, st0.t, np.ones(D), st0.weights)
    one = ode.integrate(flat, alpha_eval=a, rtol=1e-10, atol=1e-12)
    merged = ode.integrate(coarsen(flat, 1), alpha_eval=a, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(merged.eps_g, one.eps_g, rtol=0, atol=1e-9)


def _sgd_gap(N, E, seed, delta=0.25, lr=0.5, alpha=3.0):
    K, M = 2, 2
    D = int(delta * N)
    F = hidden_manifold_features(D, N, seed=seed)
    Wt = np.random.default_rng(seed + 1).standard_normal((M, D))
    W0 = torch.randn(E, K, N, generator=torch.Generator().manual_seed(seed + 2), dtype=torch.float64)
    run = train_hidden_manifold(W0, F, Wt, lr=lr, alpha_max=alpha, record=5, seed=seed + 3)
    ode = HiddenManifoldODE(K, M, lr, D / N)
    gaps = []
    for e in range(E):
        st0 = hidden_manifold_state(W0[e].numpy(), F, Wt)
        tr = ode.integrate(st0, alpha_eval=run.times, rtol=1e-9, atol=1e-11)
        s = run.s[e]
        Q = ode.f1 ** 2 * np.einsum("rkd,rld->rkl", s, s) / D + ode.fs2 * run.W[e]
        R = ode.f1 * np.einsum("rkd,md->rkm", s, Wt) / D
        gaps.append(np.abs(ode.eps_g(Q, R, tr.T, run.v[e]) - tr.eps_g).max())
    return float(np.mean(gaps))


def test_sgd_on_hidden_manifold_data_approaches_the_ode():
    g1, g2 = _sgd_gap(100, 6, 0), _sgd_gap(400, 6, 10)
    assert g2 < g1 / 1.4, (g1, g2)  # N^-1/2: a factor 2 expected
    assert g2 < 0.03


def test_refuses_bad_input():
    with pytest.raises(ValueError, match="feature_map"):
        HiddenManifoldODE(2, 2, 0.5, 0.5, feature_map="relu")
    with pytest.raises(ValueError, match="activation"):
        HiddenManifoldODE(2, 2, 0.5, 0.5, activation="relu")
    with pytest.raises(ValueError, match="delta"):
        HiddenManifoldODE(2, 2, 0.5, 0.0)
    ode = HiddenManifoldODE(3, 2, 0.5, 1.0)
    with pytest.raises(TypeError, match="state"):
        ode.integrate({"W": 1}, alpha_max=1.0)
    st0 = _orthogonal_setup(K=2)
    with pytest.raises(ValueError, match="K = 3"):
        ode.integrate(st0, alpha_max=1.0)
    with pytest.raises(ValueError, match="shapes"):
        hidden_manifold_state(np.ones((2, 5)), np.ones((3, 4)), np.ones((1, 3)))
    with pytest.raises(DivergenceError):
        HiddenManifoldODE(2, 2, 20.0, 1.0, feature_map="linear", activation="linear").integrate(st0, alpha_max=50.0)


@given(lr=st.floats(-5, 5) | st.just(np.nan) | st.just(np.inf), delta=st.floats(-1, 4) | st.just(np.nan),
       amax=st.floats(-1, 3) | st.just(np.nan))
def test_property_error_contract(lr, delta, amax):
    st0 = _orthogonal_setup(K=2, M=1, N=6)
    try:
        tr = HiddenManifoldODE(2, 1, lr, delta, activation="linear").integrate(st0, alpha_max=amax,
                                                                                rtol=1e-8, atol=1e-10)
    except (ValueError, TypeError, DivergenceError) as e:
        assert str(e)
        return
    assert np.isfinite(tr.eps_g).all()


def test_trainer_refuses_bad_input():
    F = hidden_manifold_features(5, 10)
    W0 = torch.zeros(1, 2, 10, dtype=torch.float64)
    Wt = np.ones((1, 5))
    with pytest.raises(ValueError, match="F"):
        train_hidden_manifold(W0, F[:, :9], Wt, lr=0.5, alpha_max=1.0)
    with pytest.raises(ValueError, match="W_tilde"):
        train_hidden_manifold(W0, F, np.ones((1, 4)), lr=0.5, alpha_max=1.0)
    with pytest.raises(ValueError, match="feature_map"):
        train_hidden_manifold(W0, F, Wt, lr=0.5, alpha_max=1.0, feature_map="relu")
    with pytest.raises(ValueError, match="alpha_max"):
        train_hidden_manifold(W0, F, Wt, lr=0.5, alpha_max=0.01)
    run = train_hidden_manifold(W0 + 0.1, F, Wt, lr=0.5, alpha_max=1.0, record=3, n_test=50)
    assert run.losses.shape == (1, run.times.size) and np.isfinite(run.losses).all()


def test_batched_state_is_each_networks_own():
    """hidden_manifold_state of (E, K, N) weights: the list of the E single states, bit for bit (one eigh)."""
    rng = np.random.default_rng(7)
    F = hidden_manifold_features(30, 40, seed=1)
    Wt = rng.standard_normal((2, 30))
    W = rng.standard_normal((3, 2, 40))
    batched = hidden_manifold_state(W, F, Wt)
    assert isinstance(batched, list) and len(batched) == 3
    for e in range(3):
        one = hidden_manifold_state(W[e], F, Wt)
        for name in ("W", "sigma", "r", "t", "rho", "weights"):
            np.testing.assert_array_equal(getattr(batched[e], name), getattr(one, name))
