"""Hardening, second round (issue 27), of the modules added last round: feedback alignment,
perturbation, random features, recurrent networks, continual learning, simulate and sweeps.
Found by benchmarks/bad_inputs_r2.py; each test pins one fix (limit, named error or refusal)."""
from __future__ import annotations

import numpy as np
import pytest

from idealnets.theory import feedback_alignment as fa
from idealnets.theory import perturbation as pt
from idealnets.theory import recurrent as tr
from idealnets.theory.tasks import whitened_task


# ----------------------------------------------------------------------------- feedback alignment
@pytest.fixture(scope="module")
def flow():
    rng = np.random.default_rng(0)
    X, Y = whitened_task(3, 2, np.array([2.0, 1.0]), seed=0)
    return fa.FeedbackAlignmentFlow(0.1 * rng.standard_normal((2, 3)), 0.1 * rng.standard_normal((2, 2)),
                                    rng.standard_normal((2, 2)), X, Y)


def test_flow_alignment_and_invariant_of_no_times(flow):
    assert flow.alignment([]).shape == (0,)
    assert flow.invariant([]).shape == (0, 2, 2)
    assert flow.alignment(np.empty((0, 3))).shape == (0, 3)
    assert flow.invariant(np.empty((0, 3))).shape == (0, 3, 2, 2)
    # valid times unchanged
    t = np.array([0.0, 0.5, 2.0])
    W1, W2 = flow.weights(t)
    assert np.array_equal(flow.alignment(t), fa.alignment(W2, flow.B))
    assert np.array_equal(flow.invariant(t), fa.fa_invariant(W1, W2, flow.B))


@pytest.mark.parametrize("kw", [dict(a0=1e200), dict(c0=1e250, b=1e100), dict(s=1e300, b=1e10)])
def test_aligned_mode_too_large_is_a_named_error(kw):
    args = dict(s=1.0, b=1.0, a0=0.1, c0=0.1) | kw
    with pytest.raises(ValueError, match="too large"):
        fa.aligned_mode([0.0, 1.0, np.inf], **args)
    with pytest.raises(ValueError, match="too large"):
        fa.aligned_fixed_point(**args)


def test_aligned_mode_large_but_representable_still_works():
    a, c = fa.aligned_mode([0.0, 1.0, np.inf], 1.0, 1.0, 1e100, 0.1)
    assert np.isfinite(a).all() and np.isfinite(c).all()


# ----------------------------------------------------------------------------- perturbation
@pytest.mark.parametrize("rule", ["node", "weight"])
def test_perturbation_sigma_beyond_float_range_is_a_named_error(rule):
    lr = 0.5 * pt.stable_lr(rule, 4, 3)
    with pytest.raises(ValueError, match=r"^sigma = 1e\+200 is too large"):
        pt.noise_floor(rule, 4, 3, 1e200)
    with pytest.raises(ValueError, match=r"^sigma = 1e\+200 is too large"):
        pt.asymptotic_error(rule, 4, 3, lr, 1e200)
    with pytest.raises(ValueError, match=r"^sigma = 1e\+200 is too large"):
        pt.learning_curve([0, 10], rule=rule, n_in=4, n_out=3, lr=lr, eps0=1.0, sigma=1e200)
    # the floor lies above any target: inf, as documented (no overflow error)
    assert pt.steps_to_error(0.01, rule=rule, n_in=4, n_out=3, sigma=1e200) == np.inf
    # gd ignores sigma
    assert pt.noise_floor("gd", 4, 3, 1e200) == 0.0


def test_perturbation_valid_sigma_unchanged():
    # the formula of the module docstring, bit for bit
    s = 0.37
    assert pt.noise_floor("node", 4, 3, s) == s**2 * 3 * 5 * 7 * 4 / 8.0
    assert pt.noise_floor("weight", 4, 3, s) == s**2 * 3 * 5 * 16 * 4 * 6 / 8.0


# ----------------------------------------------------------------------------- recurrent: TBPTT at t = inf
def test_tbptt_modes_at_infinity_are_the_limits():
    prof = np.stack([tr.delayed_copy_profile(4, 1), tr.window_sum_profile(4, 2, gain=0.5)], -1)
    X, Y = tr.lag_task(prof, seed=0)
    th = tr.LinearRNNTheory(X, Y, b0=0.1, a0=0.1, c0=0.1, truncation=2)
    st = th.modes(np.array([1e3, 1e5, np.inf]))
    assert not np.isnan(st.b).any() and not np.isnan(st.c).any()
    assert np.all(np.isinf(st.b[-1])) and np.all(np.sign(st.b[-1]) == np.sign(st.b[-2]))
    assert np.all(st.c[-1] == 0.0)
    # b grows, c shrinks towards those limits; u = c b and a converge
    assert np.all(np.abs(st.b[1]) > np.abs(st.b[0])) and np.all(np.abs(st.c[1]) < np.abs(st.c[0]))
    u_inf = th.mode_maps(np.inf)[0]
    assert np.all(np.isfinite(u_inf))
    np.testing.assert_allclose(st.c[1] * st.b[1], u_inf, rtol=1e-3)
    assert np.isfinite(th.loss(np.inf))
    with pytest.raises(ValueError, match="t = inf has no finite weights under TBPTT"):
        th.weights(np.array([1.0, np.inf]))
    assert all(np.isfinite(w).all() for w in th.weights(1.0))


# ----------------------------------------------------------------------------- recurrent: sizes and overflow
W_SMALL = (np.eye(2), 0.5 * np.eye(2), np.eye(2))


@pytest.mark.parametrize("call,name", [
    (lambda: tr.lag_maps(W_SMALL, 10**9), "n_lags"),
    (lambda: tr.lag_weights(10**9), "T"),
    (lambda: tr.whitened_sequences(2, 4, 10**9), "n_samples"),
    (lambda: tr.whitened_sequences(10**5, 10), "n_in \\* T"),
    (lambda: tr.delayed_copy_profile(10**9, 1), "T"),
    (lambda: tr.window_sum_profile(10**9, 1), "T"),
    (lambda: tr.leaky_integrator_profile(10**9, 0.5), "T"),
    (lambda: tr.lag_task(np.ones((4, 2)), n_samples=10**9), "n_samples"),
    (lambda: tr.optimal_geometric_fit([1.0, 0.5], n_grid=10**9), "n_grid"),
    (lambda: tr.gradient_norm_through_time(np.eye(3), 10**9), "n_steps"),
])
def test_recurrent_huge_sizes_are_refused_by_name(call, name):
    with pytest.raises(ValueError, match=f"^{name}"):
        call()


def test_recurrent_theory_huge_grids_are_refused():
    th = tr.LinearRNNTheory.from_profiles(tr.delayed_copy_profile(3, 1), b0=0.1, a0=0.1, c0=0.1)
    with pytest.raises(ValueError, match="^n_lags"):
        th.mode_maps(1.0, n_lags=10**9)
    with pytest.raises(ValueError, match="^n_grid"):
        th.learning_time(n_grid=10**9)


def test_gradient_norm_overflow_is_a_named_error_and_valid_values_unchanged():
    with pytest.raises(FloatingPointError, match="gradient_norm_through_time.*W_h"):
        tr.gradient_norm_through_time(3.0 * np.eye(3), 2000)
    with pytest.raises(FloatingPointError, match="gradient_norm_through_time.*W_h"):
        tr.gradient_norm_through_time(3.0 * np.eye(3), 2000, g=np.ones(3))
    assert np.array_equal(tr.gradient_norm_through_time(0.5 * np.eye(3), 5), 0.5 ** np.arange(6))
    rng = np.random.default_rng(1)
    W = 0.4 * rng.standard_normal((3, 3))
    ref, A = [], np.eye(3)
    for _ in range(8):
        ref.append(np.linalg.norm(A, 2))
        A = A @ W
    assert np.array_equal(tr.gradient_norm_through_time(W, 7), np.array(ref))


# ----------------------------------------------------------------------------- FA, random features: refusals
@pytest.mark.parametrize("bad", [2.5, -1, 0, "2", True])
def test_bp_fixed_point_map_checks_n_hidden(bad):
    with pytest.raises((ValueError, TypeError), match="n_hidden"):
        fa.bp_fixed_point_map(np.eye(2), bad)


def test_random_features_psi_bounded():
    from idealnets.theory.random_features import PSI_MAX, RandomFeaturesTheory

    for kw in (dict(psi1=1e200, psi2=0.7), dict(psi1=1.5, psi2=1e200)):
        with pytest.raises(ValueError, match="psi"):
            RandomFeaturesTheory(activation="relu", snr=4.0, **kw)
    assert PSI_MAX == 1e12


# ----------------------------------------------------------------------------- simulate: FA and RNN boundaries
def test_train_mlp_labels_checked_not_truncated():
    import torch

    from idealnets.simulate import feedback_alignment as sfa

    st = sfa.init_mlp([6, 5, 3], 2, seed=1, dtype=torch.float64)
    X = np.random.default_rng(0).standard_normal((6, 10))
    lab = np.random.default_rng(1).integers(0, 3, 10)
    kw = dict(rule="fa", lr=0.05, steps=3, batch_size=4, seed=3)
    with pytest.raises(ValueError, match="^labels.*fractional"):
        sfa.train_mlp(X, lab + 0.5, st, **kw)
    for bad in (None, "abc", [True] * 10):
        with pytest.raises(TypeError, match="^labels"):
            sfa.train_mlp(X, bad, st, **kw)
    with pytest.raises(ValueError, match="^labels.*shape"):
        sfa.train_mlp(X, lab[:3], st, **kw)
    ref = sfa.train_mlp(X, lab, st, **kw).losses
    for same in (lab.astype(float), torch.as_tensor(lab), list(lab)):
        assert np.array_equal(sfa.train_mlp(X, same, st, **kw).losses, ref)


def test_simulate_huge_sizes_refused_by_name():
    from idealnets.simulate import feedback_alignment as sfa
    from idealnets.simulate import recurrent as srn

    with pytest.raises(ValueError, match="widths .* too large"):
        sfa.init_mlp([6, 10**9, 3], 2)
    with pytest.raises(ValueError, match="^n_samples .* too large"):
        sfa.random_binary_task(10**9, 6, 3)
    with pytest.raises(ValueError, match="n_hidden = 1000000000 .* too large"):
        srn.random_init(2, 10**9, 2, n_networks=2)
    W = tuple(w.numpy() for w in srn.random_init(2, 3, 2, n_networks=2))
    with pytest.raises(ValueError, match="^n_lags = 1000000000 is too large"):
        srn.lag_map_strengths(W, np.eye(2), np.eye(2), 10**9)


def test_rnn_forward_checks_before_indexing():
    from idealnets.simulate import recurrent as srn

    W0 = srn.random_init(2, 3, 2, n_networks=2, seed=0)
    X = np.random.default_rng(0).standard_normal((2, 4, 8))
    for bad in (W0[:2], "abc", None):
        with pytest.raises(TypeError, match="^weights"):
            srn.forward(bad, X)
    with pytest.raises(ValueError, match="^X must be a 3-D array"):
        srn.forward(W0, X[0])
    for bad in (None, "abc"):
        with pytest.raises(TypeError, match="^X"):
            srn.forward(W0, bad)
    with pytest.raises(TypeError, match="^Y"):
        srn.loss(W0, X, None)
    assert srn.forward(W0, X).shape == (5, 2, 3, 8)


def test_aligned_init_needs_orthonormal_frames():
    from idealnets.simulate import recurrent as srn

    with pytest.raises(ValueError, match="^U must have 2 orthonormal columns"):
        srn.aligned_init(0.1, 0.1, 0.1, np.ones((2, 2)), np.eye(2), n_hidden=3, n_networks=2)
    with pytest.raises(ValueError, match="^V must have 2 orthonormal columns"):
        srn.aligned_init(0.1, 0.1, 0.1, np.eye(2), np.eye(3)[:, :1], n_hidden=3, n_networks=2)


# ----------------------------------------------------------------------------- sweeps
def test_sweep_runner_refuses_by_name(tmp_path):
    from idealnets import sweeps as sw
    from idealnets.sweeps import _testing as swt

    afile = tmp_path / "afile"
    afile.write_text("x")
    grid = {"a": [1.0], "b": [0]}
    with pytest.raises(ValueError, match="^seeds = 1000000000 is too large"):
        sw.sweep(swt.toy, grid, seeds=10**9, processes=False)
    with pytest.raises(ValueError, match="^cache .* exists and is not a directory"):
        sw.sweep(swt.toy, grid, cache=afile, processes=False)
    with pytest.raises(ValueError, match="^cache .* cannot be created"):
        sw.sweep(swt.toy, grid, cache=str(afile / "sub"), processes=False)
    with pytest.raises(TypeError, match="^cache"):
        sw.sweep(swt.toy, grid, cache=3, processes=False)
    with pytest.raises(TypeError, match="^point"):
        sw.task_key("f", "1", None, 0)
    with pytest.raises(ValueError, match="not finite"):
        sw.task_key("f", "1", {"a": float("nan")}, 0)
    for bad in (2.5, -1, "1", True):
        with pytest.raises((ValueError, TypeError), match="^seed"):
            sw.task_key("f", "1", {"a": 1.0}, bad)
    for bad in (0, -1, 2.5, "2", 10**6):
        with pytest.raises((ValueError, TypeError), match="^n_workers"):
            sw.local_cluster(bad)
    # keys unchanged for valid input (the caches stay valid)
    import hashlib
    import json

    doc = {"function": "f", "version": "1", "params": {"a": 1.0, "b": 2}, "seed": 3}
    ref = hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert sw.task_key("f", "1", {"a": 1.0, "b": np.int64(2)}, np.int64(3)) == ref


@pytest.mark.parametrize("call,name", [
    (lambda ph: ph.committee_initial(0), "K"),
    (lambda ph: ph.committee_initial(10**9), "K"),
    (lambda ph: ph.committee_initial(2, M=2.5), "M"),
    (lambda ph: ph.committee_theory(2, -0.1, 4, 20.0), "noise"),
    (lambda ph: ph.committee_theory(2, 0.0, 2.5, 20.0), "n_lr"),
    (lambda ph: ph.committee_sim(0.5, 2, 0.0, 10**9, 2.0, 2, 0), "n_nets = 2, N = 1000000000"),
    (lambda ph: ph.committee_sim(0.5, 2, 0.0, 40, 2.0, 2, "1"), "seed"),
    (lambda ph: ph.linear_theory(0.0, 4.0), "alpha"),
    (lambda ph: ph.linear_sim(2.0, 4.0, 10**6, 2, 0), "N = 1000000"),
    (lambda ph: ph.linear_sim(2.0, np.nan, 20, 2, 0), "snr"),
    (lambda ph: ph.deep_theory(0, 0.3), "depth"),
    (lambda ph: ph.deep_sim(2, 0.3, 2, 1e12, 0), "t_cap"),
    (lambda ph: ph.deep_sim(2.5, 0.3, 2, 30.0, 0), "depth"),
    (lambda ph: ph.escape_alpha([0.0, np.nan], np.ones((2, 2, 2)), np.ones((2, 2, 2))), "alpha"),
    (lambda ph: ph.escape_alpha([0.0, 1.0], np.ones((1, 2, 2, 2)), np.ones((2, 2, 2))), "Q"),
])
def test_phase_point_functions_check_their_arguments(call, name):
    from idealnets.sweeps import phase as ph

    with pytest.raises((ValueError, TypeError), match=f"^{name}"):
        call(ph)


def test_simulate_perturbation_rf_continual_bounds():
    from idealnets.simulate import continual as sc
    from idealnets.simulate import perturbation as spt
    from idealnets.simulate import random_features as srf

    W0, Ws = np.zeros((2, 3, 4)), np.ones((3, 4))
    with pytest.raises(ValueError, match=r"^sigma = 1e\+200 is above 1/sigma_min"):
        spt.train_perturbation(W0, Ws, rule="node", lr=0.01, steps=2, sigma=1e200)
    spt.train_perturbation(W0, Ws, rule="gd", lr=0.01, steps=2, sigma=1e200)  # gd ignores sigma
    for kw in (dict(N=10**9), dict(widths=[10**9]), dict(n_test=10**9, activation="tanh")):
        args = dict(N=8, P=12, widths=[6], n_networks=2, n_test=64) | kw
        with pytest.raises(ValueError, match="too large"):
            srf.train_random_features(**args)
    with pytest.raises(ValueError, match="^N = 1000000000, M = 2, n_networks = 2 are too large"):
        sc.teacher_pair_weights(10**9, 2, 0.5, 2)


def test_recurrent_theory_scalars_checked():
    prof = np.stack([tr.delayed_copy_profile(4, 1), tr.window_sum_profile(4, 2, gain=0.5)], -1)
    X, Y = tr.lag_task(prof, seed=0)
    with pytest.raises(ValueError, match="^b0, a0, c0 .* at most 1e\\+100"):
        tr.LinearRNNTheory(X, Y, b0=1e200, a0=0.1, c0=0.1)
    with pytest.raises(TypeError, match="^a must be"):
        tr.is_stable(None)
    with pytest.raises(ValueError, match="^a must be finite"):
        tr.is_stable([np.nan])
    assert np.array_equal(tr.is_stable([0.5, 1.5, np.inf]), [True, False, False])
    with pytest.raises(ValueError, match="^whitening_atol"):
        tr.mode_reduction(X, Y, whitening_atol=np.nan)
    with pytest.raises(TypeError, match="^rtol"):
        tr.mode_reduction(X, Y, rtol="a")


def test_extrapolation_needs_a_task_at_least_as_long():
    th = tr.LinearRNNTheory.from_profiles(tr.window_sum_profile(4, 4), b0=0.2, a0=0.5, c0=0.2)
    with pytest.raises(ValueError, match="^s_long must be .* T' >= T = 4"):
        th.extrapolation_loss(np.ones(3))
    assert np.isfinite(th.extrapolation_loss(tr.window_sum_profile(6, 6)))


def test_random_features_unstable_lr_diverges_at_infinity_too():
    from idealnets.simulate import DivergenceError
    from idealnets.simulate import random_features as srf

    with pytest.raises(DivergenceError, match="lr=100"):
        srf.train_random_features(8, 12, [6, 10], n_networks=2, n_test=64, lr=100.0)  # times = (inf,)
    with pytest.raises(DivergenceError, match="lr=100"):
        srf.train_random_features(8, 12, [6, 10], n_networks=2, n_test=64, lr=100.0, times=[0.0, np.inf])
    a = srf.train_random_features(8, 12, [6, 10], n_networks=2, n_test=64, lr=0.01)
    b = srf.train_random_features(8, 12, [6, 10], n_networks=2, n_test=64)
    assert np.array_equal(a.test_error, b.test_error)  # t = inf: the same ridge limit for a stable lr


# ----------------------------------------------------------------------------- continual learning
def test_continual_helpers_check_their_arguments():
    from idealnets.theory import continual as tc

    tasks = tc.whitened_pair(3, 2.0, 1.0, 0.5, 0.5)
    cur = tc.ShallowCurriculum(tasks, [("A", 1.0), ("B", 1.0)], np.zeros((3, 3)))
    for bad in (np.nan, -1.0, "x", None, 0.0):
        with pytest.raises((ValueError, TypeError), match="^T_first"):
            tc.blocked("A", "B", bad, 1.0)
    assert tc.blocked("A", "B", 1.0, np.inf) == [("A", 1.0), ("B", np.inf)]
    with pytest.raises(TypeError, match="^curriculum"):
        tc.forgetting(None, "A", 1.0, [1.0])
    with pytest.raises(TypeError, match="^curriculum"):
        tc.interference("x", "A", "B")
    with pytest.raises(ValueError, match="two different tasks"):
        tc.interference(cur, "A", "A")
    with pytest.raises(ValueError, match="^n must be"):
        tc.whitened_pair(10**9, 1.0, 1.0, 0.1, 0.1)
    with pytest.raises(ValueError, match="^n_in must be"):
        tc.item_tasks(10**9, 3, 1.0, 1.0, 0.1, 0.1)
    for f in (tc.cyclic_order, tc.random_order):
        with pytest.raises(ValueError, match="^k must be"):
            f(3, 10**9)
    with pytest.raises(ValueError, match="^n_gate"):
        tc.overlapping_gates(10**9, 1)
    with pytest.raises(ValueError, match="^s_a"):
        tc.shallow_item_forgetting(-1.0, 1.0, 0.3, 0.3)
    m = tc.interference(cur, "A", "B")
    assert m["backward_transfer"] == -m["forgetting"]


def test_aligned_mode_started_on_its_fixed_point_stays_there():
    """a0 = 1 is a root of a^3 - 0.95 a - 0.05 (s = 0.1, b = 0.25, c0 = 0.1) up to rounding; the
    mode must stay at (1, 0.1), not jump to the next root -0.0528 (found by make test-slow)."""
    from idealnets.theory import feedback_alignment as fa
    a, c = fa.aligned_mode(np.array([0.0, 0.3, 2.0, np.inf]), 0.1, 0.25, 1.0, 0.1)
    assert np.allclose(a, 1.0, rtol=0, atol=1e-12) and np.allclose(c, 0.1, rtol=0, atol=1e-12)
