"""Property-based tests (issue 27) of the committee grid, the feedback-alignment committee ODE and the
two-teacher ODE: random invalid input gives ValueError or TypeError (never NaN, another exception or a
hang, under the watchdog of tests/test_properties.py); random valid input gives finite results that
satisfy the invariants below. Linear and erf activations on short horizons keep each example fast."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from idealnets.theory.committee import CommitteeODE, generalisation_error
from idealnets.theory.committee_grid import CommitteeGrid, default_initial
from idealnets.theory.continual.two_teachers import TwoTeacherODE, teacher_pair
from idealnets.theory.validation import DivergenceError

from test_properties import refuses, watchdog

BAD_POSITIVE = st.sampled_from([0.0, -1.0, np.nan, np.inf, -np.inf, "1", None, [1.0, np.nan]])
lrs = st.floats(0.05, 1.5)
acts = st.sampled_from(["linear", "erf"])


# ---------------------------------------------------------------- CommitteeGrid
@given(bad=BAD_POSITIVE)
def test_grid_refuses_bad_lr(bad):
    refuses(CommitteeGrid, 2, 2, bad)


@given(bad=st.sampled_from([np.nan, -1.0, [1.0, 0.5], [[0.0, 1.0]], "x"]))
def test_grid_refuses_bad_times(bad):
    refuses(CommitteeGrid(1, 1, 0.5).integrate, bad)


@given(K=st.lists(st.integers(1, 3), min_size=1, max_size=3), lr=lrs, act=acts)
def test_grid_starts_at_the_initial_state_and_stays_finite(K, lr, act):
    with watchdog():
        g = CommitteeGrid(K, 2, lr, activation=act)
        tr = g.integrate([0.0, 0.5])
    assert np.isfinite(tr.eps_g).all() and (tr.eps_g >= -1e-15).all()
    for b, k in enumerate(K):
        Q0, R0, v0 = default_initial(k, 2)
        Q, R, v = tr.member(b)
        assert np.array_equal(Q[0], Q0) and np.array_equal(R[0], R0) and np.array_equal(v[0], v0)
        assert abs(tr.eps_g[b, 0] - generalisation_error(Q0, R0, np.eye(2), v0, np.ones(2), act)) < 1e-14
    assert not tr.diverged.any() and not tr.settled.any()  # finite horizon: no long-time output


# ---------------------------------------------------------------- feedback-alignment committee ODE
@given(bad=st.sampled_from([[np.nan, 1.0], [1.0], [1.0, 2.0, 3.0], "ab", [np.inf, 0.0]]))
def test_fa_ode_refuses_bad_feedback(bad):
    refuses(CommitteeODE, 2, 2, 0.5, feedback=bad)


@given(lr=lrs, act=acts, v0=st.lists(st.floats(0.2, 2.0), min_size=2, max_size=2))
def test_fa_with_feedback_v0_and_frozen_second_layer_is_backprop(lr, act, v0):
    Q0, R0, _ = default_initial(2, 2)
    with watchdog():
        try:
            bp = CommitteeODE(2, 2, lr, act).integrate(Q0, R0, v0, alpha_eval=[0.0, 0.3, 1.0])
        except DivergenceError:
            # a genuine blow-up (linear units, large v0 at lr = 1): then FA, the same flow, diverges too
            with pytest.raises(DivergenceError, match="lr"):
                CommitteeODE(2, 2, lr, act, feedback=v0).integrate(Q0, R0, v0, alpha_eval=[0.0, 0.3, 1.0])
            return
        fa = CommitteeODE(2, 2, lr, act, feedback=v0).integrate(Q0, R0, v0, alpha_eval=[0.0, 0.3, 1.0])
    assert np.allclose(fa.Q, bp.Q, rtol=0, atol=1e-10) and np.allclose(fa.R, bp.R, rtol=0, atol=1e-10)
    assert np.allclose(fa.alignment, 1.0, atol=1e-12)  # v stays at v0 = b


# ---------------------------------------------------------------- two teachers
@given(bad=BAD_POSITIVE)
def test_two_teachers_refuse_bad_lr(bad):
    T, v1, v2 = teacher_pair(2, 0.5, 0.5)
    refuses(TwoTeacherODE, 2, 2, bad, T, v1, v2)


@given(bad=st.sampled_from([0.0, -1.0, np.nan, np.inf, "3"]))
def test_two_teachers_refuse_bad_phase_length(bad):
    T, v1, v2 = teacher_pair(2, 0.5, 0.5)
    ode = TwoTeacherODE(2, 2, 0.5, T, v1, v2)
    refuses(ode.integrate, 0.25 * np.eye(2), 0.01 * np.ones((2, 4)), np.ones(2), np.ones(2), bad, 1.0)


# |g| < 1: at g = +-1 the second teacher is +-the first, and the fixed initial R0 below (equal
# overlaps with all four teacher units) is no longer a possible set of overlaps (refused by name)
@given(lr=lrs, act=acts, g=st.floats(-0.99, 0.99), eta=st.floats(-1.0, 1.0))
def test_two_teachers_heads_and_switch(lr, act, g, eta):
    T, v1, v2 = teacher_pair(2, g, eta)
    ode = TwoTeacherODE(2, 2, lr, T, v1, v2, activation=act)
    h0 = np.array([0.5, -0.3])
    with watchdog():
        tr = ode.integrate(0.25 * np.eye(2), 0.01 * np.ones((2, 4)), h0, h0, 0.5, 0.5,
                           alpha_eval=[0.0, 0.25, 0.5, 0.75, 1.0])
    assert np.isfinite(tr.eps1).all() and np.isfinite(tr.eps2).all()
    assert tr.eps1[0] == tr.eps2[0] if np.allclose(v1, v2) and g == 1.0 else True
    ph1, ph2 = tr.alpha <= 0.5, tr.alpha > 0.5
    assert np.array_equal(tr.h2[ph1], np.broadcast_to(h0, tr.h2[ph1].shape))  # untrained head is constant
    assert np.array_equal(tr.h1[ph2], np.broadcast_to(tr.h1[ph1][-1], tr.h1[ph2].shape))
    assert (tr.eps1 >= -1e-15).all() and (tr.eps2 >= -1e-15).all()
