"""Property-based tests (issue 27) of the modules added in the second round: feedback alignment,
perturbation learning, recurrent networks, continual learning and random features.

As in ``tests/test_properties.py``: random *valid* inputs give finite outputs that satisfy the
module's invariants (initial condition at t = 0, fixed point at t = inf and t = 1e12
indistinguishable from it, monotone losses under gradient flow, conserved quantities); random
*invalid* inputs give ValueError or TypeError, never another exception, NaN or a hang (every
call runs under the same watchdog). The Hypothesis profile in ``conftest.py`` sets the number
of examples.
"""
from __future__ import annotations


import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from idealnets.theory import continual as tc
from idealnets.theory import feedback_alignment as fa
from idealnets.theory import perturbation as pt
from idealnets.theory import random_features as rf
from idealnets.theory import recurrent as tr

MONO_ATOL = 1e-12  # loss monotonicity up to rounding of the loss itself


# the watchdog and the refusal check are the ones of tests/test_properties.py (HANG_S = 60 s)
from test_properties import refuses, watchdog  # noqa: E402

pos = st.floats(0.05, 5.0)
real = st.floats(-2.0, 2.0)
bad_scalar = st.sampled_from([np.nan, np.inf, -np.inf, None, "x", 1j, [1.0, 2.0]])


# ----------------------------------------------------------------------------- feedback alignment
@given(s=pos, b=st.floats(0.1, 3.0) | st.floats(-3.0, -0.1), a0=real, c0=real)
def test_aligned_mode_invariants(s, b, a0, c0):
    t = np.array([0.0, 0.3, 2.0, 1e12, np.inf])
    with watchdog():
        a, c = fa.aligned_mode(t, s, b, a0, c0)
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(c))
    scale = max(1.0, a0 * a0, abs(2 * b * c0), abs(2 * b * s) ** (2 / 3))
    assert abs(a[0] - a0) <= 1e-9 * max(1.0, abs(a0)) and abs(c[0] - c0) <= 1e-9 * scale / abs(b)
    q = a * a - 2 * b * c  # conserved: q = a^2 - 2 b c (the FA mode's invariant)
    assert np.all(np.abs(q - (a0 * a0 - 2 * b * c0)) <= 1e-8 * scale)
    # the fixed point is a root of a^3 - q a - 2 b s, and 1e12 is already there
    a_inf = a[-1]
    assert abs(a_inf**3 - q[-1] * a_inf - 2 * b * s) <= 1e-7 * scale ** 1.5
    assert abs(a[-2] - a_inf) <= 1e-6 * max(1.0, abs(a_inf))


@given(bad=bad_scalar, which=st.sampled_from(["s", "b", "a0", "c0", "tau"]))
def test_aligned_mode_refuses(bad, which):
    args = dict(s=1.0, b=1.0, a0=0.1, c0=0.1, tau=1.0)
    args[which] = bad
    refuses(fa.aligned_mode, [0.0, 1.0], **args)


@given(n=st.integers(0, 4), k=st.integers(2, 5))
def test_flow_methods_take_any_number_of_times(n, k):
    rng = np.random.default_rng(k)
    X = np.sqrt(3.0) * np.eye(3)
    Y = rng.standard_normal((2, 3))
    fl = fa.FeedbackAlignmentFlow(0.1 * rng.standard_normal((2, 3)), 0.1 * rng.standard_normal((2, 2)),
                                  rng.standard_normal((2, 2)), X, Y)
    t = np.linspace(0.0, 2.0, n)
    with watchdog():
        assert fl.loss(t).shape == (n,) and fl.alignment(t).shape == (n,)
        assert fl.invariant(t).shape == (n, 2, 2) and fl.map(t).shape == (n, 2, 3)
        if n:  # the invariant of the flow is conserved (to the integrator's tolerance)
            Q = fl.invariant(t)
            assert np.max(np.abs(Q - Q[0])) <= 1e-6 * max(1.0, np.max(np.abs(Q[0])))


# ----------------------------------------------------------------------------- perturbation
@given(rule=st.sampled_from(["gd", "node", "weight"]), n_in=st.integers(1, 6), n_out=st.integers(1, 4),
       frac=st.floats(0.05, 0.95), eps0=st.floats(0.1, 10.0), log_sigma=st.floats(-6.0, 0.0))
def test_learning_curve_invariants(rule, n_in, n_out, frac, eps0, log_sigma):
    lr = frac * pt.stable_lr(rule, n_in, n_out)
    sigma = 10.0**log_sigma
    k = np.array([0.0, 1.0, 10.0, 100.0, 1e15, np.inf])
    with watchdog():
        e = pt.learning_curve(k, rule=rule, n_in=n_in, n_out=n_out, lr=lr, eps0=eps0, sigma=sigma)
        e_inf = pt.asymptotic_error(rule, n_in, n_out, lr, sigma)
    assert np.all(np.isfinite(e)) and e[-1] == e_inf and e_inf >= 0
    assert abs(e[0] - eps0) <= 1e-12 * max(eps0, e_inf)  # eps_inf + (eps0 - eps_inf) * 1, rounded
    # monotone from eps0 towards the floor (rho in [0, 1))
    d = np.diff(e)
    assert np.all(d <= MONO_ATOL * eps0) if eps0 >= e_inf else np.all(d >= -MONO_ATOL * e_inf)
    assert abs(e[-2] - e_inf) <= 1e-12 * max(eps0, e_inf)
    f = 0.5
    with watchdog():
        ks = pt.steps_to_error(f, rule=rule, n_in=n_in, n_out=n_out, lr=lr, sigma=sigma, eps0=eps0)
    if np.isfinite(ks):
        val = pt.learning_curve(ks, rule=rule, n_in=n_in, n_out=n_out, lr=lr, eps0=eps0, sigma=sigma)
        assert abs(val - f * eps0) <= 1e-8 * eps0
    else:
        assert e_inf >= f * eps0


@given(rule=st.sampled_from(["node", "weight"]), over=st.floats(1.0, 10.0), sigma=st.floats(1e160, 1e300))
def test_perturbation_refuses(rule, over, sigma):
    refuses(pt.contraction, rule, 3, 2, over * pt.stable_lr(rule, 3, 2))
    refuses(pt.asymptotic_error, rule, 3, 2, 0.5 * pt.stable_lr(rule, 3, 2), sigma)
    refuses(pt.noise_floor, rule, 3, 2, -sigma)


# ----------------------------------------------------------------------------- recurrent networks
@given(gain=st.floats(0.2, 2.0), leak=st.floats(-0.8, 0.8), T=st.integers(2, 4), b0=st.floats(0.05, 0.5),
       a0=st.floats(-0.5, 0.5))
def test_rnn_mode_loss_monotone_under_bptt(gain, leak, T, b0, a0):
    prof = tr.leaky_integrator_profile(T, leak, gain)  # a fixed point with |a| < 1 exists (fast to reach)
    th = tr.LinearRNNTheory.from_profiles(prof, b0=b0, a0=a0, c0=b0)
    t = np.array([0.0, 0.5, 2.0, 8.0, 32.0])
    with watchdog():
        L = th.loss(t)
    assert np.all(np.isfinite(L))
    assert L[0] == pytest.approx(0.5 * np.sum((prof - b0 * b0 * a0 ** np.arange(prof.size)) ** 2), rel=1e-12, abs=1e-15)
    assert np.all(np.diff(L) <= MONO_ATOL * max(1.0, L[0]))  # BPTT is gradient flow on L


@given(k=st.sampled_from([1, 2]), b0=st.sampled_from([0.1, 0.3]))  # few examples: each integrates the drift
def test_tbptt_limits_are_not_nan(k, b0):
    th = tr.LinearRNNTheory.from_profiles(tr.window_sum_profile(4, 2), b0=b0, a0=0.2, c0=b0, truncation=k)
    with watchdog():
        st_inf = th.modes(np.inf)
        L = th.loss(np.array([0.0, 10.0, np.inf]))
    assert not np.isnan(st_inf.b).any() and not np.isnan(st_inf.c).any() and np.all(np.isfinite(st_inf.a))
    assert np.all(np.isfinite(L))


@given(bad=st.sampled_from([np.nan, np.inf, -np.inf, None, "x", 1j]), which=st.sampled_from(["b", "a", "c"]))
def test_mode_functions_refuse(bad, which):  # (lists are valid there: one value per mode)
    args = dict(b=1.0, a=0.5, c=1.0)
    args[which] = bad
    refuses(tr.mode_loss, args["b"], args["a"], args["c"], np.array([1.0, 0.5]))


@given(n=st.sampled_from([10**8, 10**9, 2**40]))
def test_recurrent_sizes_bounded(n):
    refuses(tr.lag_weights, n)
    refuses(tr.delayed_copy_profile, n, 1)
    refuses(tr.lag_maps, (np.eye(2), np.eye(2), np.eye(2)), n)


# ----------------------------------------------------------------------------- continual learning
@given(s_a=pos, s_b=pos, tu=st.floats(0.0, np.pi), tv=st.floats(0.0, np.pi), TA=st.floats(0.2, 4.0),
       TB=st.floats(0.2, 4.0))
def test_shallow_curriculum_losses_monotone_in_their_phase(s_a, s_b, tu, tv, TA, TB):
    tasks = tc.whitened_pair(3, s_a, s_b, tu, tv)
    cur = tc.ShallowCurriculum(tasks, [("A", TA), ("B", TB)], np.zeros((3, 3)))
    ta = np.linspace(0.0, TA, 6)
    tb = np.linspace(TA, TA + TB, 6)
    with watchdog():
        LA, LB = cur.loss(ta, "A"), cur.loss(tb, "B")
        empty = cur.loss([], "A")
    assert empty.shape == (0,)
    assert np.all(np.isfinite(LA)) and np.all(np.isfinite(LB))
    assert np.all(np.diff(LA) <= MONO_ATOL * max(1.0, LA[0]))
    assert np.all(np.diff(LB) <= MONO_ATOL * max(1.0, LB[0]))


@given(bad=st.sampled_from([-1.0, np.nan, np.inf, "x", None]), where=st.sampled_from([0, 1]))
def test_curriculum_refuses_bad_durations(bad, where):
    tasks = tc.whitened_pair(3, 2.0, 1.0, 0.5, 0.5)
    sched = [("A", 1.0), ("B", 1.0)]
    sched[where] = (sched[where][0], bad)
    if bad == np.inf and where == 1:  # an infinite last phase is the fixed point (documented)
        return
    refuses(tc.ShallowCurriculum, tasks, sched, np.zeros((3, 3)))


# ----------------------------------------------------------------------------- random features
@given(psi1=st.floats(0.3, 4.0), psi2=st.floats(0.3, 4.0), snr=st.floats(0.5, 20.0),
       act=st.sampled_from(["relu", "erf", "linear"]))
def test_random_features_errors(psi1, psi2, snr, act):
    assume(abs(psi1 - psi2) > 0.05)  # away from the interpolation peak (its inf is documented)
    th = rf.RandomFeaturesTheory(psi1, psi2, act, snr, n_contour=64)
    t = np.array([0.0, 0.5, 5.0, 50.0])
    with watchdog():
        test, train = th.errors(t)
    assert np.all(np.isfinite(test)) and np.all(np.isfinite(train))
    assert test[0] == pytest.approx(1.0 + 1.0 / snr) and train[0] == pytest.approx(1.0 + 1.0 / snr)
    assert np.all(np.diff(train) <= 1e-8 * train[0])  # gradient flow on the training loss
    assert np.all(test >= 0) and np.all(train >= -1e-12)


@given(bad=st.sampled_from([0.0, -1.0, np.nan, np.inf, 1e200, "x", None]), which=st.sampled_from(["psi1", "psi2"]))
def test_random_features_refuses(bad, which):
    args = dict(psi1=1.5, psi2=0.7)
    args[which] = bad
    refuses(rf.RandomFeaturesTheory, activation="relu", snr=4.0, **args)
