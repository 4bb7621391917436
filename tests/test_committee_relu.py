"""ReLU soft committee machines: Gaussian integrals vs Monte-Carlo, the ODE vs online SGD."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import idealnets.theory.committee as tc
from idealnets.simulate.committee import train
from idealnets.theory.committee import CommitteeODE, I2, I3, I4, J2, erf_integrals

# Monte-Carlo checks pass within Z_TOL standard errors (4 sigma; 16 tests x 5 integrals).
Z_TOL = 4.0
# Closed forms (I2, J2) vs a piecewise Gauss-Legendre angular quadrature (exact to ~1e-15).
ATOL_QUAD = 1e-12
# P4 quadrature (48 Gauss-Legendre nodes in v, s = 1 - v^2) vs a 400-node rule: measured 2e-15 on
# random covariances; with a near-duplicate pair (1 - r^2 ~ 1e-6-1e-9) the error rises to 3.5e-6.
ATOL_P4_GENERIC = 1e-12
ATOL_P4_NEARDUP = 1e-5
# Online SGD vs ODE at alpha <= 3, K = M = 1 (per-seed ODE from the network's own start): the
# mean |difference| is O(N^-1/2); N 4x larger must shrink it by a factor ~2 (require > 1.4).
SHRINK = 1.4

relu = lambda x: np.maximum(x, 0.0)  # noqa: E731


def _rand_cov(rng, n, dup=()):
    A = rng.standard_normal((n, n + 2))
    C = A @ A.T / (n + 2)
    for i, j in dup:  # make variable j an exact copy of variable i
        C[j, :] = C[i, :]
        C[:, j] = C[:, i]
    return C


def _mc(rng, C, f, n=150_000, reps=6):
    L = np.linalg.cholesky(C + 1e-13 * np.eye(len(C)))
    vals = [f(rng.standard_normal((n, len(C))) @ L.T).mean() for _ in range(reps)]
    return np.mean(vals), np.std(vals, ddof=1) / np.sqrt(reps)


@pytest.mark.parametrize("dup", [(), ((0, 2),), ((0, 1),), ((2, 3),), ((0, 1), (0, 3))])
def test_relu_integrals_match_monte_carlo(rng, dup):
    C4 = _rand_cov(rng, 4, dup)
    checks = [
        (I4(C4, "relu"), C4, lambda X: (X[:, 0] > 0) * (X[:, 1] > 0) * relu(X[:, 2]) * relu(X[:, 3])),
        (I3(C4[:3, :3], "relu"), C4[:3, :3], lambda X: (X[:, 0] > 0) * X[:, 1] * relu(X[:, 2])),
        (I2(C4[2:, 2:], "relu"), C4[2:, 2:], lambda X: relu(X[:, 0]) * relu(X[:, 1])),
        (J2(C4[:2, :2], "relu"), C4[:2, :2], lambda X: (X[:, 0] > 0) * (X[:, 1] > 0)),
    ]
    for value, C, f in checks:
        m, se = _mc(rng, C, f)
        assert abs(value - m) < Z_TOL * se + 1e-12, (value, m, se)


def _polar(C, h, degree):
    """E[h(X)] for X ~ N(0, C) in 2D and h positively homogeneous of ``degree``: E|z|^degree times the
    angular mean, split at the angles where a component of X changes sign (Gauss-Legendre per piece)."""
    L = np.linalg.cholesky(C)
    br = np.sort(np.mod(np.concatenate([np.arctan2(-L[i, 0], L[i, 1]) + np.array([0, np.pi]) for i in range(2)]),
                        2 * np.pi))
    br = np.concatenate([br, [br[0] + 2 * np.pi]])
    x, w = np.polynomial.legendre.leggauss(40)
    total = 0.0
    for a, b in zip(br[:-1], br[1:]):
        th = 0.5 * (b - a) * x + 0.5 * (a + b)
        X = L @ np.stack([np.cos(th), np.sin(th)])
        total += 0.5 * (b - a) * w @ h(X[0], X[1])
    return total / (2 * np.pi) * {0: 1.0, 2: 2.0}[degree]


def test_relu_closed_forms_match_quadrature(rng):
    C = _rand_cov(rng, 2)
    assert abs(I2(C, "relu") - _polar(C, lambda a, b: relu(a) * relu(b), 2)) < ATOL_QUAD
    assert abs(J2(C, "relu") - _polar(C, lambda a, b: (a > 0) * (b > 0), 0)) < ATOL_QUAD
    # I3 with b = a (a rank-2 case): E[1[a>0] a relu(c)] = E[relu(a) relu(c)]
    C3 = np.array([[C[0, 0], C[0, 0], C[0, 1]], [C[0, 0], C[0, 0], C[0, 1]], [C[0, 1], C[0, 1], C[1, 1]]])
    assert abs(I3(C3, "relu") - I2(C, "relu")) < 1e-12


def test_relu_p4_quadrature_accuracy(rng, monkeypatch):
    Cs = np.array([_rand_cov(rng, 4) for _ in range(50)])
    a = tc._relu_i4(Cs)
    monkeypatch.setattr(tc, "RELU_P4_NODES", 400)
    b = tc._relu_i4(Cs)
    assert np.abs(a - b).max() < ATOL_P4_GENERIC
    C = _rand_cov(rng, 4, ((0, 2),))
    C[0, 0] *= 1 + 1e-7  # near-duplicate: 1 - r^2 ~ 1e-7
    hi = tc._relu_i4(C[None])
    monkeypatch.setattr(tc, "RELU_P4_NODES", 48)
    assert abs(tc._relu_i4(C[None]) - hi)[0] < ATOL_P4_NEARDUP


def test_relu_limits():
    """Degenerate and symmetric cases with known values."""
    c = 1.7
    one = np.full((4, 4), c)  # all four variables identical: E[1[a>0] a^2] = c/2
    assert abs(I4(one, "relu") - c / 2) < 1e-12
    assert abs(I2(np.eye(2), "relu") - 1 / (2 * np.pi)) < 1e-15  # independent: (E relu)^2
    assert abs(J2(np.eye(2), "relu") - 0.25) < 1e-15
    # independent a, b, c, d: E[1[a>0]] E[1[b>0]] E[relu c] E[relu d] = 1/4 * 1/(2 pi)
    assert abs(I4(np.eye(4), "relu") - 1 / (8 * np.pi)) < 1e-12
    anti = np.array([[1.0, -1.0], [-1.0, 1.0]])
    assert I2(anti, "relu") < 1e-15 and J2(anti, "relu") < 1e-15
    assert erf_integrals("relu").activation == "relu"


@given(st.integers(0, 2**31 - 1))
def test_relu_integrals_properties(s):
    """Random PSD covariances: finite, non-negative where the integrand is (I2, I4, J2), and
    I4 symmetric under swapping a <-> b and c <-> d."""
    rng = np.random.default_rng(s)
    C = _rand_cov(rng, 4)
    v = I4(C, "relu")
    P = np.array([1, 0, 3, 2])
    assert np.isfinite(v) and v >= -1e-15
    assert abs(v - I4(C[P][:, P], "relu")) < 1e-12
    assert I2(C[:2, :2], "relu") >= 0 and 0 <= J2(C[:2, :2], "relu") <= 0.5 + 1e-15


def _sgd_vs_ode_gap(N, seeds, seed, alpha_max=3.0):
    run = train(N, 1, 1, 0.5, alpha_max, n_networks=seeds, activation="relu", init_scale=0.5, seed=seed, record=12,
                n_test=4000)
    gaps = []
    for e in range(seeds):
        ode = CommitteeODE(1, 1, 0.5, activation="relu", T=run.T[e])
        tr = ode.integrate(run.Q0[e], run.R0[e], run.v0[e], alpha_eval=run.times, rtol=1e-8, atol=1e-10)
        eps_op = tc.generalisation_error(run.Q[e], run.R[e], run.T[e], run.v[e], run.v_star[e], "relu")
        gaps.append(np.abs(eps_op - tr.eps_g).mean())
    return float(np.mean(gaps))


def test_relu_ode_matches_sgd_with_shrinking_gap(seed):
    g1 = _sgd_vs_ode_gap(100, 6, seed)
    g2 = _sgd_vs_ode_gap(400, 6, seed + 1)
    assert g2 < g1 / SHRINK
    assert g2 < 0.01


def test_bad_activation():
    with pytest.raises(ValueError):
        I2(np.eye(2), "softplus")
    with pytest.raises(ValueError):
        CommitteeODE(2, 2, 0.5, activation="gelu")
