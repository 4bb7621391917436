"""Random-features theory: contour convergence, limits, vs Gaussian-equivalent and trained networks."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy.integrate import quad

from idealnets.simulate.random_features import train_random_features
from idealnets.theory.generalization import LinearStudentTheory
from idealnets.theory.generalization import RandomFeaturesTheory as RFFromGeneralization
from idealnets.theory.random_features import (
    ACTIVATIONS,
    RandomFeaturesTheory,
    gaussian_equivalent_coefficients,
    gaussian_equivalent_quadrature,
)

# The trapezoid rule on the contour converges geometrically: doubling n_contour from the
# default changes the errors by < 1e-9 relative (measured 1e-14-4e-8 at 96 nodes, ~1e-15 at 384
# over 40 random parameter sets); 1e-8 leaves margin.
RTOL_CONTOUR = 1e-8
# Rounding of the closed forms at t = 0 (no contour involved).
ATOL_EXACT = 1e-12
# psi1 -> inf limits (linear activation -> LinearStudentTheory; nonlinear t = inf -> kernel ridge):
# the gap is O(1/psi1) (measured: 10x smaller per decade of psi1); require a ratio < 0.15 per
# decade and < 2e-3 absolute at psi1 = 1e3.
LIMIT_RATE = 0.15
LIMIT_ATOL = 2e-3
# Monte-Carlo comparisons: pass within Z_TOL standard errors of the seed mean (a 4-sigma band).
Z_TOL = 4.0
# Gaussian-equivalent coefficients by 160-node Gauss-Hermite (tanh: 160 vs 180 nodes differ by 6e-15;
# tanh's poles at +-i pi/2 make the rule converge geometrically, 100 nodes give only 2e-11)
# and by adaptive quadrature (relu); both far below 1e-12.
RTOL_HERMITE_SMOOTH = 1e-12
# Full-batch GD (closed form) vs GD stepped in torch: same trajectory to rounding.
RTOL_GD_STEPS = 1e-9


def _gem_errors(N, psi1, psi2, snr, t, seeds, rng, activation="relu"):
    """Exact gradient flow of the Gaussian-equivalent model (features mu1 W x + mu* z), numpy, per seed."""
    mu0, mu1, mus = gaussian_equivalent_coefficients(activation)
    K, P = int(round(psi1 * N)), int(round(psi2 * N))
    test, train = [], []
    for _ in range(seeds):
        X = rng.standard_normal((N, P)) / np.sqrt(N)
        wb = rng.standard_normal(N)
        y = X.T @ wb + rng.standard_normal(P) / np.sqrt(snr)
        W = rng.standard_normal((K, N))
        U = (mu1 * W @ X + mus * rng.standard_normal((K, P))) / np.sqrt(K)
        lam, V = np.linalg.eigh(U.T @ U)
        nz = lam > 1e-10 * lam[-1]
        g = np.where(nz, (1 / np.where(nz, lam, 1)) if np.isinf(t) else -np.expm1(-lam * t) / np.where(nz, lam, 1), 0)
        a = U @ (V @ (g * (V.T @ y)))
        c = a / np.sqrt(K)
        test.append(np.sum((wb - mu1 * W.T @ c) ** 2) / N + mus**2 * c @ c + 1 / snr)
        train.append(np.sum((y - U.T @ a) ** 2) / P)
    return np.array(test), np.array(train)


# ------------------------------------------------------------------ small formulas
def test_gaussian_equivalent_coefficients_closed_forms_match_quadrature():
    def sq(c):  # compare mu*^2: the square root amplifies rounding of a zero mu* (linear)
        return np.array([c.mu0, c.mu1, c.mu_star**2])

    for act in ("erf", "linear", "tanh"):
        exact = sq(gaussian_equivalent_coefficients(act))
        np.testing.assert_allclose(sq(gaussian_equivalent_quadrature(act)), exact, rtol=RTOL_HERMITE_SMOOTH,
                                   atol=1e-14)
    # relu: adaptive quadrature on the half line (the kink at 0 is an endpoint there)
    phi = lambda x: np.exp(-x * x / 2) / np.sqrt(2 * np.pi)  # noqa: E731
    m = [quad(lambda x, k=k: x**k * phi(x), 0, np.inf, epsabs=1e-14)[0] for k in (1, 2)]
    np.testing.assert_allclose(gaussian_equivalent_coefficients("relu"),
                               [m[0], m[1], np.sqrt(m[1] - m[0]**2 - m[1]**2)],
                               rtol=RTOL_HERMITE_SMOOTH)
    # tanh: two quadrature orders agree (the rule has converged)
    np.testing.assert_allclose(gaussian_equivalent_quadrature("tanh", 180), gaussian_equivalent_quadrature("tanh", 160),
                               rtol=RTOL_HERMITE_SMOOTH, atol=1e-14)


def test_public_name_in_generalization():
    assert RFFromGeneralization is RandomFeaturesTheory


# ------------------------------------------------------------------ numerics and limits
@pytest.mark.parametrize("psi1, psi2, act, ridge", [(0.5, 2.0, "relu", 0.0), (4.0, 2.0, "erf", 0.0),
                                                    (1.5, 0.5, "tanh", 0.1), (0.3, 3.0, "linear", 0.0),
                                                    (2.0, 2.0, "relu", 0.0)])
def test_contour_converged(psi1, psi2, act, ridge):
    t = np.array([1e-2, 1.0, 1e2, 1e4, 1e6, np.inf])
    a = RandomFeaturesTheory(psi1, psi2, act, 4.0, ridge)
    b = RandomFeaturesTheory(psi1, psi2, act, 4.0, ridge, n_contour=2 * a.n_contour)
    ea, ta = a.errors(t)
    eb, tb = b.errors(t)
    fin = np.isfinite(ea)
    np.testing.assert_allclose(ea[fin], eb[fin], rtol=RTOL_CONTOUR)
    np.testing.assert_allclose(ta, tb, rtol=RTOL_CONTOUR, atol=1e-14)


def test_time_zero_and_shapes():
    th = RandomFeaturesTheory(1.3, 0.7, "relu", 2.0)
    t = np.array([[0.0, 1.0], [10.0, np.inf]])
    e, tr = th.errors(t)
    assert e.shape == tr.shape == (2, 2)
    assert abs(e[0, 0] - 1.5) < ATOL_EXACT and abs(tr[0, 0] - 1.5) < ATOL_EXACT
    assert th.test_error(0.0).shape == ()


def test_first_moment_and_mass_identities():
    """The contour reproduces two exact finite-n identities: at t -> 0+ the train and test errors
    leave 1 + 1/snr together, and the non-zero spectrum of U^T U has mass min(1, K_eff/P)."""
    for psi1, psi2, act in ((0.5, 2.0, "relu"), (4.0, 2.0, "erf"), (3.0, 0.5, "linear")):
        th = RandomFeaturesTheory(psi1, psi2, act, 4.0)
        assert abs(th.continuous_mass - min(1.0, th.gamma_eff)) < 1e-9
        e, tr = th.errors(1e-9)
        assert abs(e - 1.25) < 1e-8 and abs(tr - 1.25) < 1e-8


def test_converged_train_error_least_squares():
    """Ridgeless t = inf: interpolation (E_train = 0) when K_eff > P, else sigma_xi^2 (1 - K/P)."""
    over = RandomFeaturesTheory(3.0, 1.0, "relu", 4.0)
    assert over.train_error(np.inf) < 1e-10
    under = RandomFeaturesTheory(0.5, 2.0, "tanh", 4.0)
    assert abs(under.train_error(np.inf) - under.sigma_xi2 * (1 - under.gamma_eff)) < 1e-9


@pytest.mark.parametrize("psi2", [0.5, 2.0])
def test_linear_activation_reduces_to_linear_student(psi2):
    """sigma(z) = z and psi1 -> inf: f = (W^T a / sqrt K).x with W^T W / K -> I, i.e. the linear student."""
    lin = LinearStudentTheory(psi2, sigma_w=1.0, sigma_eps=0.5, sigma_0=0.0)
    t = np.array([0.5, 3.0, 30.0, 1e3, np.inf])
    gaps = []
    for psi1 in (1e2, 1e3):
        th = RandomFeaturesTheory(psi1, psi2, "linear", 4.0)
        gaps.append(max(np.max(np.abs(th.test_error(t) - lin.test_error(t))),
                        np.max(np.abs(th.train_error(t) - lin.train_error(t)))))
    assert gaps[1] < LIMIT_RATE * gaps[0]
    assert gaps[1] < LIMIT_ATOL


@pytest.mark.parametrize("act", ["relu", "erf"])
def test_wide_limit_is_kernel_ridge(act):
    """psi1 -> inf, t = inf: the feature kernel tends to mu1^2 x.x' + mu*^2 delta, i.e. linear ridge
    regression with weight decay mu*^2 / mu1^2 (Mei & Montanari 2019, the psi1 -> inf limit)."""
    lin = LinearStudentTheory(2.0, sigma_w=1.0, sigma_eps=0.5, sigma_0=0.0)
    _, mu1, mus = gaussian_equivalent_coefficients(act)
    ref = lin.ridge_test_error(mus**2 / mu1**2)
    gaps = [abs(RandomFeaturesTheory(p, 2.0, act, 4.0).test_error(np.inf) - ref) for p in (1e2, 1e3)]
    assert gaps[1] < LIMIT_RATE * gaps[0] and gaps[1] < LIMIT_ATOL


def test_ridge_to_zero_and_time_to_infinity_limits():
    t = np.array([10.0, 1e3, np.inf])
    base = RandomFeaturesTheory(3.0, 2.0, "relu", 4.0)
    gaps = [np.max(np.abs(RandomFeaturesTheory(3.0, 2.0, "relu", 4.0, ridge=r).test_error(t) - base.test_error(t)))
            for r in (1e-3, 1e-5)]
    assert gaps[1] < 0.02 * gaps[0]  # linear in the ridge: 100x smaller ridge, ~100x smaller gap
    for th in (base, RandomFeaturesTheory(0.7, 2.0, "erf", 4.0, ridge=0.3)):
        np.testing.assert_allclose(th.errors(1e13), th.errors(np.inf), rtol=1e-9, atol=1e-12)


def test_threshold_is_continuous_and_diverges_only_at_infinite_time():
    t = np.array([1e2, 1e4, 1e6])
    at = RandomFeaturesTheory(2.0, 2.0, "relu", 4.0)
    near = RandomFeaturesTheory(2.0 * (1 + 1e-4), 2.0, "relu", 4.0)
    assert at.at_threshold and not near.at_threshold
    np.testing.assert_allclose(at.test_error(t), near.test_error(t), rtol=1e-3)
    assert np.isinf(at.test_error(np.inf)) and at.train_error(np.inf) == 0.0
    # the peak grows with training time ~ sqrt(t) near the threshold (E_g(1e6)/E_g(1e4) ~ 10)
    e = at.test_error(t)
    assert e[0] < e[1] < e[2] and 5 < e[2] / e[1] < 15


def test_peak_appears_late_and_early_stopping_removes_it():
    psi2 = 2.0
    ratios = np.array([0.5, 0.8, 1.0, 1.25, 2.0])  # K/P
    ths = [RandomFeaturesTheory(r * psi2, psi2, "relu", 4.0) for r in ratios]
    e = np.array([th.test_error(np.array([1e2, 1e6])) for th in ths])
    assert np.argmax(e[:, 1]) == 2 and e[2, 1] > 10 * e[0, 1]  # late: a sharp peak at K = P
    assert e[:, 0].max() < 2.0  # early: no divergence
    best = np.array([th.optimal_early_stopping_error() for th in ths])
    assert best.max() < 1.25 and np.all(best <= e.min(axis=1) + 1e-9)
    assert best[2] < 0.2 * e[2, 1]


# ------------------------------------------------------------------ against sampled models
def test_theory_matches_gaussian_equivalent_model(rng):
    """Exact GF of the Gaussian-equivalent model at N = 100 (no nonlinearity): the deterministic
    equivalents are right to Monte-Carlo accuracy."""
    for psi1, psi2, t in ((0.5, 2.0, np.inf), (4.0, 2.0, np.inf), (1.5, 1.0, 30.0)):
        th = RandomFeaturesTheory(psi1, psi2, "relu", 4.0)
        test, train = _gem_errors(100, psi1, psi2, 4.0, t, 40, rng)
        for sim, ref in ((test, th.test_error(t)), (train, th.train_error(t))):
            se = sim.std(ddof=1) / np.sqrt(sim.size)
            assert abs(sim.mean() - ref) < Z_TOL * se + 1e-3, (psi1, psi2, t, sim.mean(), ref, se)


def _gap(N, seeds, seed, psi1s=(0.5, 1.0, 4.0), psi2=2.0, t=1e2):
    P = int(round(psi2 * N))
    run = train_random_features(N, P, [int(round(p * N)) for p in psi1s], activation="relu", snr=4.0,
                                times=[t], n_networks=seeds, seed=seed)
    ref = np.array([RandomFeaturesTheory(p, psi2, "relu", 4.0).test_error(t) for p in psi1s])
    d = run.test_error[:, :, 0] - ref  # (seeds, widths)
    return d.mean(), d.mean(1).std(ddof=1) / np.sqrt(seeds)


def test_trained_relu_students_approach_theory(seed):
    """Trained ReLU random-features students (exact GF) vs theory at N = 80: the mean deviation over
    three widths is within Z_TOL standard errors (+ 0.01 of finite-size bias) of 0."""
    g, se = _gap(80, 30, seed)
    assert abs(g) < Z_TOL * se + 0.01


@pytest.mark.slow
def test_trained_relu_gap_shrinks_with_size(seed):
    """The deviation at N = 20 (measured +0.05-0.07) is larger than at N = 160 by more than two
    combined standard errors, and the N = 160 deviation is consistent with 0."""
    (g0, s0), (g1, s1) = (_gap(N, S, seed + N) for N, S in ((20, 600), (160, 60)))
    assert abs(g1) < abs(g0) - 2 * np.hypot(s0, s1)
    assert abs(g1) < Z_TOL * s1 + 0.005


def test_simulation_closed_form_is_the_gd_trajectory():
    """simulate.random_features' closed form for GD equals 60 explicit GD steps in torch."""
    N, P, K, lr, steps = 12, 20, 15, 0.05, 60
    run = train_random_features(N, P, [K], activation="erf", snr=4.0, times=[lr * steps], n_networks=2, lr=lr,
                                spherical=False, seed=3)
    g = torch.Generator().manual_seed(3)
    X = torch.randn(2, N, P, generator=g, dtype=torch.float64) / np.sqrt(N)
    wb = torch.randn(2, N, generator=g, dtype=torch.float64)
    y = (X.transpose(1, 2) @ wb.unsqueeze(-1)).squeeze(-1) + 0.5 * torch.randn(2, P, generator=g, dtype=torch.float64)
    W = torch.randn(2, K, N, generator=g, dtype=torch.float64)
    U = torch.erf(W @ X / np.sqrt(2)) / np.sqrt(K)
    a = torch.zeros(2, K, dtype=torch.float64)
    for _ in range(steps):
        res = y - (U.transpose(1, 2) @ a.unsqueeze(-1)).squeeze(-1)
        a = a + lr * (U @ res.unsqueeze(-1)).squeeze(-1)
    res = y - (U.transpose(1, 2) @ a.unsqueeze(-1)).squeeze(-1)
    np.testing.assert_allclose(run.train_error[:, 0, 0], ((res**2).sum(-1) / P).numpy(), rtol=RTOL_GD_STEPS)


def test_gd_approaches_gradient_flow_linearly_in_lr():
    kw = dict(activation="relu", snr=4.0, times=[2.0], n_networks=2, seed=5)
    flow = train_random_features(20, 40, [30], **kw).test_error
    d = [np.abs(train_random_features(20, 40, [30], lr=lr, **kw).test_error - flow).max() for lr in (0.02, 0.01)]
    assert 1.7 < d[0] / d[1] < 2.3


def test_simulation_returns_the_shared_run_and_old_names_still_work():
    """The closed form's Run: networks = (data set, width) pairs; earlier names read the same values."""
    from idealnets.simulate import Run
    from idealnets.simulate import random_features as rf

    kw = dict(activation="erf", times=[0.0, 0.5, np.inf], lr=0.05, seed=1)
    run = train_random_features(8, 12, [4, 9], n_networks=3, **kw)
    assert isinstance(run, Run) and rf.RandomFeaturesRun is Run
    assert run.losses.shape == (6, 3) and run.n_networks == 6
    np.testing.assert_array_equal(run.test_error, run.state["generalization_error"].reshape(3, 2, 3))
    np.testing.assert_array_equal(run.train_error, run.losses.reshape(3, 2, 3))
    np.testing.assert_array_equal(run.steps, [0, 10, -1])
    assert list(run.widths) == [4, 9] and run.lr == 0.05 and not run.diverged.any()
    with pytest.warns(DeprecationWarning, match="n_seeds"):
        old = train_random_features(8, 12, [4, 9], n_seeds=3, **kw)
    np.testing.assert_array_equal(old.test_error, run.test_error)


# ------------------------------------------------------------------ properties and bad input
@given(psi1=st.floats(0.05, 20.0), psi2=st.floats(0.05, 20.0), act=st.sampled_from(ACTIVATIONS),
       snr=st.floats(0.1, 100.0), ridge=st.sampled_from([0.0, 1e-3, 0.1, 1.0]))
def test_property_valid_inputs(psi1, psi2, act, snr, ridge):
    th = RandomFeaturesTheory(psi1, psi2, act, snr, ridge)
    t = np.array([0.0, 0.1, 10.0, 1e3, 1e6])
    e, tr = th.errors(t)
    assert np.all(np.isfinite(e)) and np.all(np.isfinite(tr))
    assert np.all(e >= th.sigma_xi2 - 1e-9)  # the best readout of the features is a floor
    assert np.all(tr >= 0)
    if ridge == 0:
        assert np.all(np.diff(tr) <= 1e-9)  # gradient flow decreases the training loss


@pytest.mark.parametrize("kwargs, err", [
    (dict(psi1=0.0, psi2=1.0), ValueError), (dict(psi1=1.0, psi2=-2.0), ValueError),
    (dict(psi1=np.nan, psi2=1.0), ValueError), (dict(psi1=1.0, psi2=1.0, activation="sigmoid"), ValueError),
    (dict(psi1=1.0, psi2=1.0, ridge=-0.1), ValueError), (dict(psi1=1.0, psi2=1.0, snr=0.0), ValueError),
    (dict(psi1="1", psi2=1.0), TypeError), (dict(psi1=1.0, psi2=1.0, activation=3), TypeError),
])
def test_bad_input(kwargs, err):
    with pytest.raises(err):
        RandomFeaturesTheory(**kwargs)


def test_bad_times_and_simulation_input():
    th = RandomFeaturesTheory(1.0, 2.0)
    for t in (-1.0, np.nan, [1.0, np.nan]):
        with pytest.raises(ValueError):
            th.test_error(t)
    with pytest.raises(ValueError):
        train_random_features(10, 20, [0])
    with pytest.raises(ValueError):
        train_random_features(10, 20, [5], activation="softplus")
    with pytest.raises(ValueError):
        train_random_features(10, 20, [5], times=[0.15], lr=0.1)
