"""A grid of committee ODEs in one vectorised integration (theory.committee_grid).

Checked against: the single-solve integrator theory.committee.CommitteeODE
(DOP853) member by member over lr, K (padded), noise, second-layer training
and initial conditions; the exact linear-perceptron solution; padding (a
padded member equals the same member integrated alone); the fixed point at
alpha = inf; the Dormand-Prince tableau's order conditions.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from idealnets.theory.committee import CommitteeODE, generalisation_error, linear_perceptron_error
from idealnets.theory.committee_grid import DP5_TABLEAU, GRID_VS_SINGLE_ATOL, CommitteeGrid, default_initial

# Grid (DP5(4), rtol 1e-8, atol 1e-10 per member) vs CommitteeODE (DOP853, rtol 1e-9): both global
# errors are ~1e-8 on these curves; measured max deviation ~1e-7, so 1e-6 is 10x headroom.
ATOL = GRID_VS_SINGLE_ATOL
# The exact linear solution: the grid's own global error (~1e-9 at rtol 1e-8).
EXACT_ATOL = 1e-7
# A padded member vs the same member alone: the step sequences are identical (the error norm
# ignores padding) and the right-hand sides differ only by additions of exact zeros.
PAD_ATOL = 1e-12
ALPHA = np.concatenate([[0.0], np.logspace(-1, np.log10(60.0), 25)])


def test_members_agree_with_single_solves():
    K = np.array([1, 2, 3, 2])
    lr = np.array([0.5, 1.2, 0.8, 0.3])
    noise = np.array([0.0, 0.2, 0.0, 0.5])
    rng = np.random.default_rng(1)
    Q0, R0 = [], []
    for k in K:  # random valid initial conditions, one per member
        W = rng.normal(size=(k, 40)) * 0.5
        Ws = np.linalg.qr(rng.normal(size=(40, 2)))[0].T * np.sqrt(40)
        Q0.append(W @ W.T / 40)
        R0.append(W @ Ws.T / 40)
    grid = CommitteeGrid(K, 2, lr, noise=noise)
    tr = grid.integrate(ALPHA, Q0, R0)
    assert not tr.diverged.any()
    for b in range(len(K)):
        ode = CommitteeODE(int(K[b]), 2, float(lr[b]), noise=float(noise[b]))
        ref = ode.integrate(Q0[b], R0[b], alpha_eval=ALPHA)
        Q, R, v = tr.member(b)
        assert np.abs(Q - ref.Q).max() < ATOL
        assert np.abs(R - ref.R).max() < ATOL
        assert np.abs(tr.eps_g[b] - ref.eps_g).max() < ATOL
    # padding entries are NaN, never silently zero
    assert np.isnan(tr.Q[0, :, 1:, :]).all() and np.isnan(tr.v[0, :, 1:]).all()


def test_second_layer_training_agrees_with_single_solve():
    K = np.array([2, 3])
    grid = CommitteeGrid(K, 2, [0.7, 0.5], train_second_layer=True, lr_v=[0.7, 0.2], noise=0.1)
    v0 = [np.array([0.3, 0.6]), np.array([0.2, 0.5, 0.1])]
    tr = grid.integrate(ALPHA, v0=v0)
    for b, k in enumerate(K):
        ode = CommitteeODE(int(k), 2, grid.lr[b], train_second_layer=True, lr_v=grid.lr_v[b], noise=0.1)
        Q0, R0, _ = default_initial(int(k), 2)
        ref = ode.integrate(Q0, R0, v0[b], alpha_eval=ALPHA)
        Q, R, v = tr.member(b)
        assert np.abs(v - ref.v).max() < ATOL
        assert np.abs(tr.eps_g[b] - ref.eps_g).max() < ATOL


def test_relu_members_agree_with_single_solves():
    """ReLU integrals come from theory.committee (issue 15); the grid uses them unchanged."""
    grid = CommitteeGrid(2, 2, [0.5, 1.0], activation="relu")
    Q0, R0, v0 = default_initial(2, 2)
    tr = grid.integrate([0.0, 1.0, 5.0], Q0, R0)
    for b, lr in enumerate([0.5, 1.0]):
        ref = CommitteeODE(2, 2, lr, activation="relu").integrate(Q0, R0, alpha_eval=[0.0, 1.0, 5.0])
        assert np.abs(tr.eps_g[b] - ref.eps_g).max() < ATOL


def test_linear_perceptron_exact():
    lr = np.array([0.1, 0.5, 1.0, 1.5])
    noise = np.array([0.0, 0.3, 0.5, 0.2])
    Q0, R0 = np.array([[0.5]]), np.array([[0.1]])
    tr = CommitteeGrid(1, 1, lr, noise=noise, activation="linear").integrate(ALPHA, Q0, R0)
    eps0 = 0.5 * (0.5 - 2 * 0.1 + 1.0)
    for b in range(lr.size):
        exact = linear_perceptron_error(ALPHA, lr[b], eps0, noise[b])
        assert np.abs(tr.eps_g[b] - exact).max() < EXACT_ATOL


def test_padding_is_exact():
    alone = CommitteeGrid(2, 2, 0.9, noise=0.1).integrate(ALPHA)
    padded = CommitteeGrid([2, 5, 1], 2, [0.9, 0.4, 1.0], noise=[0.1, 0.0, 0.2]).integrate(ALPHA)
    Q, R, v = padded.member(0)
    assert np.array_equal(alone.n_steps[:1], padded.n_steps[:1])
    assert np.abs(Q - alone.Q[0]).max() < PAD_ATOL
    assert np.abs(R - alone.R[0]).max() < PAD_ATOL
    assert np.abs(padded.eps_g[0] - alone.eps_g[0]).max() < PAD_ATOL


def test_fixed_point_at_infinity():
    lr = np.array([0.2, 0.8])
    noise = np.array([0.3, 0.5])
    tr = CommitteeGrid(1, 1, lr, noise=noise, activation="linear").integrate([0.0, 10.0, np.inf])
    exact = lr * noise ** 2 / (2 * (2 - lr))
    assert np.abs(tr.eps_g[:, -1] - exact).max() < EXACT_ATOL


def test_divergent_member_is_flagged_and_others_unaffected():
    tr = CommitteeGrid(1, 1, [0.5, 2.5], activation="linear").integrate(ALPHA)
    assert tr.diverged.tolist() == [False, True]
    assert np.isfinite(tr.eps_g[0]).all() and np.isnan(tr.eps_g[1, -1])


def test_dormand_prince_order_conditions():
    c, a, b, bh = DP5_TABLEAU["c"], DP5_TABLEAU["a"], DP5_TABLEAU["b"], DP5_TABLEAU["b_hat"]
    for s in range(1, len(c)):
        assert abs(sum(a[s]) - c[s]) < 1e-14
    for q in range(5):  # quadrature conditions: sum b c^q = 1/(q+1), q = 0..4 (5th order), 0..3 for b_hat
        assert abs(b @ c ** q - 1 / (q + 1)) < 1e-14
        if q < 4:
            assert abs(bh @ c ** q - 1 / (q + 1)) < 1e-14


@given(K=st.lists(st.integers(1, 3), min_size=1, max_size=3), lr=st.floats(0.05, 1.5), noise=st.floats(0.0, 0.5),
       M=st.integers(1, 2))
def test_property_finite_and_starts_at_initial_error(K, lr, noise, M):
    tr = CommitteeGrid(K, M, lr, noise=noise).integrate([0.0, 0.5, 2.0])
    assert np.isfinite(tr.eps_g).all() and (tr.eps_g >= -1e-12).all()
    for b, k in enumerate(K):
        Q0, R0, v0 = default_initial(k, M)
        assert abs(tr.eps_g[b, 0] - generalisation_error(Q0, R0, np.eye(M), v0, np.ones(M))) < 1e-14


@pytest.mark.parametrize("kw, err", [
    (dict(K=0, M=1, lr=1.0), ValueError),
    (dict(K=1.5, M=1, lr=1.0), TypeError),
    (dict(K=1, M=0, lr=1.0), ValueError),
    (dict(K=1, M=1, lr=-1.0), ValueError),
    (dict(K=1, M=1, lr=float("nan")), ValueError),
    (dict(K=1, M=1, lr=1.0, noise=-0.1), ValueError),
    (dict(K=[1, 2], M=1, lr=[1.0, 2.0, 3.0]), ValueError),
    (dict(K=1, M=1, lr=1.0, activation="tanh"), ValueError),
])
def test_invalid_construction(kw, err):
    with pytest.raises(err):
        CommitteeGrid(**kw)


@given(bad=st.sampled_from([[1.0, 0.5], [-1.0], [float("nan")], [], [[0.0, 1.0]]]))
def test_property_invalid_times(bad):
    with pytest.raises((ValueError, TypeError)):
        CommitteeGrid(1, 1, 0.5).integrate(bad)


def test_invalid_initial_conditions():
    g = CommitteeGrid([1, 2], 1, 0.5)
    with pytest.raises(ValueError):
        g.integrate([0.0, 1.0], Q0=np.eye(2))  # one array for members of different K
    with pytest.raises(ValueError):
        g.integrate([0.0, 1.0], Q0=[np.array([[-1.0]]), np.eye(2)])
    with pytest.raises(ValueError):
        g.integrate([0.0, 1.0], R0=[np.array([[5.0]]), np.zeros((2, 1))])  # [[Q, R], [R, T]] not PSD


def test_figures_per_seed_ode_grid_equals_one_solve_per_network():
    """The committee figures' vectorised per-network ODE (figures.committee._shared.per_seed_ode_grid: all networks
    of a run, each from its own start and with its own lr, in one CommitteeGrid solve) against one DOP853 solve per
    network at tight tolerances; and paired() uses it for backprop runs with a shared (orthonormal) teacher."""
    from idealnets.figures.committee import _shared
    from idealnets.simulate.committee import train

    lr = np.array([0.5, 1.0, 2.0, 3.0])
    run = train(60, 2, 2, lr, 15.0, n_networks=4, init_scale=0.8, record=12, record_linear=6, seed=3,
                raise_on_divergence=False, progress_bar=False)
    assert _shared.shares_teacher(run)
    Q, R, v, eps = _shared.per_seed_ode_grid(run)
    Qs, Rs, vs, eps_s = _shared.per_seed_ode(run, rtol=1e-11, atol=1e-13)
    assert eps.shape == eps_s.shape == run.losses.shape and Q.shape == run.Q.shape and R.shape == run.R.shape
    # grid at rtol 1e-8 vs DOP853 at rtol 1e-11: the grid's own global error (~1e-8), 10x headroom as above
    for a, b in ((Q, Qs), (R, Rs), (v, vs), (eps, eps_s)):
        assert np.abs(a - b).max() < ATOL
    # a feedback-alignment run is not a grid run (the grid has no feedback): paired falls back to DOP853
    fa = train(60, 2, 2, 1.0, 2.0, n_networks=2, init_scale=0.8, record=5, seed=3, feedback=[1.0, 0.5],
               progress_bar=False)
    assert not _shared.shares_teacher(fa)
