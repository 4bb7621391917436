"""Hardening (second round) of the recurrent, continual-learning and feedback-alignment theory:
non-finite weights refused at the boundary, overflow raised by name, degenerate-but-valid input."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from idealnets.simulate import recurrent as sr
from idealnets.theory import feedback_alignment as fa
from idealnets.theory import recurrent as tr
from idealnets.theory.tasks import whitened_task

S3 = np.array([1.0, 0.5, 0.25])
EYE = np.eye(2)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("which", ["b", "a", "c"])
def test_mode_functions_refuse_non_finite(bad, which):
    args = {"b": 1.0, "a": 0.5, "c": 1.0}
    args[which] = bad
    with pytest.raises(ValueError, match=f"^{which} must be finite"):
        tr.mode_loss(args["b"], args["a"], args["c"], S3)
    with pytest.raises(ValueError, match=f"^{which} must be finite"):
        tr.mode_rhs(args["b"], args["a"], args["c"], S3)
    if which != "a":
        with pytest.raises(ValueError, match=f"^{which} must be finite"):
            tr.mode_balance(args["b"], args["c"])


def test_mode_functions_unchanged_for_valid_input():
    b, a, c = np.array([0.3, 1.0]), np.array([0.2, -0.7]), np.array([0.5, 1.1])
    e = S3 - c[:, None] * a[:, None] ** np.arange(3) * b[:, None]
    assert np.array_equal(tr.mode_loss(b, a, c, S3), 0.5 * np.sum(e**2, axis=-1))
    assert np.array_equal(tr.mode_balance(b, c), c**2 - b**2)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("i,name", [(0, "W_x"), (1, "W_h"), (2, "W_y")])
def test_lag_map_strengths_refuse_non_finite(bad, i, name):
    W = [EYE.copy(), 0.5 * EYE, EYE.copy()]
    W[i] = np.full((2, 2), bad)
    with pytest.raises(ValueError, match=f"^{name} must be finite"):
        sr.lag_map_strengths(tuple(W), EYE, EYE, 3)
    with pytest.raises(ValueError, match=f"^{name} must be finite"):
        tr.lag_maps(tuple(W), 3)
    with pytest.raises(ValueError, match="^U must be finite"):
        sr.lag_map_strengths((EYE, 0.5 * EYE, EYE), np.full((2, 2), bad), EYE, 3)


def test_lag_map_strengths_unchanged_for_valid_input():
    rng = np.random.default_rng(0)
    Wx, Wh, Wy = (rng.standard_normal((3, 2, 2)) * 0.5 for _ in range(3))
    out = sr.lag_map_strengths((Wx, Wh, Wy), EYE, EYE, 4)
    ref = np.stack([np.einsum("ro,eor->er", EYE, Wy @ np.linalg.matrix_power(Wh, k) @ Wx) for k in range(4)], -2)
    np.testing.assert_allclose(out, ref, rtol=1e-13, atol=1e-15)
    M = tr.lag_maps((Wx[0], Wh[0], Wy[0]), 4)
    np.testing.assert_allclose(np.einsum("kii->ki", M), out[0], rtol=1e-13, atol=1e-15)


def test_regression_loss_refuses_non_finite_weights():
    from idealnets.theory.continual import regression_loss

    for bad in (np.nan, np.inf):
        with pytest.raises(ValueError, match="^W must be finite"):
            regression_loss([EYE], [np.ones(2)], np.array([bad, 1.0]))


def test_overflow_is_a_named_error():
    big = (EYE, 10.0 * EYE, EYE)
    with pytest.raises(FloatingPointError, match="lag_maps.*W_h"):
        tr.lag_maps(big, 400)
    with pytest.raises(FloatingPointError, match="lag_map_strengths.*W_h"):
        sr.lag_map_strengths(big, EYE, EYE, 400)
    X = np.ones((2, 400, 3))
    with pytest.raises(FloatingPointError, match="rnn_forward.*W_h"):
        tr.rnn_forward(big, X)
    with pytest.raises(FloatingPointError, match="forward.*W_h"):
        sr.forward(tuple(w[None] for w in big), X)
    with pytest.raises(FloatingPointError, match="a_max"):
        tr.optimal_geometric_fit(S3, a_max=1e200)
    # moderate sizes still work
    assert np.isfinite(tr.lag_maps(big, 30)).all()
    assert np.isfinite(tr.rnn_forward(big, X[:, :30])).all()
    u, a, loss = tr.optimal_geometric_fit(S3, a_max=1e50)
    assert np.isfinite([u, a, loss]).all()  # a coarse grid, but no overflow


def _fa_ode(a0, c0, s, b, t):
    sol = solve_ivp(lambda _, z: [b * (s - z[1] * z[0]), z[0] * (s - z[1] * z[0])], (0.0, t[-1]), [a0, c0],
                    t_eval=t, rtol=1e-12, atol=1e-14, method="DOP853")
    return sol.y


@pytest.mark.parametrize("a0,c0", [(-1.5, -0.375), (0.0, -1.5)])
def test_aligned_mode_at_exact_double_root(a0, c0):
    # q = a0^2 - 2 b c0 = 3, 2 b s = 2: p(a) = a^3 - 3a - 2 = (a + 1)^2 (a - 2)
    t = np.array([0.0, 0.1, 1.0, 3.0, 10.0, 30.0])
    a, c = fa.aligned_mode(t, 1.0, 1.0, a0, c0)
    ref = _fa_ode(a0, c0, 1.0, 1.0, t)
    assert np.max(np.abs(a - ref[0])) < 1e-10 and np.max(np.abs(c - ref[1])) < 1e-10
    a_inf, _ = fa.aligned_mode(np.inf, 1.0, 1.0, a0, c0)
    assert float(a_inf) == (-1.0 if a0 < -1 else 2.0)


def test_aligned_mode_double_root_matches_nearby_point():
    t = np.array([0.5, 2.0, 8.0])
    a, c = fa.aligned_mode(t, 1.0, 1.0, -1.5, -0.375)
    a2, c2 = fa.aligned_mode(t, 1.0, 1.0, -1.5, -0.375 + 1e-10)
    assert np.max(np.abs(a - a2)) < 1e-8 and np.max(np.abs(c - c2)) < 1e-8


def test_feedback_alignment_flow_empty_times():
    rng = np.random.default_rng(0)
    X, Y = whitened_task(3, 2, np.array([2.0, 1.0]), seed=0)
    fl = fa.FeedbackAlignmentFlow(0.1 * rng.standard_normal((2, 3)), 0.1 * rng.standard_normal((2, 2)),
                                  rng.standard_normal((2, 2)), X, Y)
    assert fl.loss([]).shape == (0,)
    assert fl.map([]).shape == (0, 2, 3)
    W1, W2 = fl.weights(np.empty((0, 2)))
    assert W1.shape == (0, 2, 2, 3) and W2.shape == (0, 2, 2, 2)
    assert fl.loss([1.0]).shape == (1,)


def test_curriculum_empty_times():
    from idealnets.theory.continual import Curriculum, whitened_pair
    from idealnets.theory.lambda_balanced import lambda_balanced_init

    tasks = whitened_pair(3, 3.0, 2.0, 0.7, 1.2)
    W1, W2 = lambda_balanced_init(3, 2, 3, 0.0, 0.2, seed=3)
    for W1_0 in (W1, 1.5 * W1):  # closed-form and integrated phases
        cur = Curriculum(tasks, [("A", 2.0), ("B", 2.0)], W1_0, W2)
        assert cur.loss([], "A").shape == (0,)
        assert cur.map([]).shape == (0, 3, 3)
