"""The shared task and curve tools: idealnets.theory.tasks and idealnets.theory.measures."""
from __future__ import annotations

import numpy as np
import pytest

from idealnets.theory.measures import crossing_time
from idealnets.theory.tasks import correlations, quadratic_loss, whitened_task


# -- correlations and the quadratic loss ------------------------------------------------------------
def test_quadratic_loss_is_the_mean_squared_error(rng):
    X, Y = rng.standard_normal((4, 9)), rng.standard_normal((3, 9))
    W = rng.standard_normal((5, 2, 3, 4))  # leading axes are vectorised over
    Sxx, Syx, trSyy = correlations(X, Y)
    np.testing.assert_allclose(Sxx, X @ X.T / 9, rtol=1e-14)
    np.testing.assert_allclose(Syx, Y @ X.T / 9, rtol=1e-14)
    assert trSyy == pytest.approx(np.sum(Y**2) / 9, rel=1e-14)
    direct = 0.5 * np.sum((Y - W @ X) ** 2, axis=(-2, -1)) / 9
    np.testing.assert_allclose(quadratic_loss(W, Sxx, Syx, trSyy), direct, rtol=1e-12)


def test_quadratic_loss_whitened_shortcut(rng):
    X, Y = whitened_task(4, 3, [2.0, 1.0], seed=1, n_samples=6)
    W = rng.standard_normal((7, 3, 4))
    Sxx, Syx, trSyy = correlations(X, Y)
    np.testing.assert_allclose(quadratic_loss(W, None, Syx, trSyy), quadratic_loss(W, Sxx, Syx, trSyy),
                               rtol=1e-12, atol=1e-12)


def test_quadratic_loss_checks_shapes():
    with pytest.raises(ValueError, match="N_out, N_in"):
        quadratic_loss(np.zeros((2, 2)), np.eye(3), np.zeros((2, 3)), 1.0)
    with pytest.raises(ValueError, match="Sxx"):
        quadratic_loss(np.zeros((2, 3)), np.eye(2), np.zeros((2, 3)), 1.0)
    with pytest.raises(ValueError, match="same number of samples"):
        correlations(np.zeros((2, 3)), np.zeros((2, 4)))


@pytest.mark.parametrize("inputs, n_samples", [("random", None), ("random", 7), ("identity", None)])
def test_whitened_task(inputs, n_samples):
    s = np.array([3.0, 1.0, 0.5])
    U, V = np.linalg.qr(np.arange(12.0).reshape(4, 3) ** 1.5)[0], np.eye(5)[:, :3]
    X, Y = whitened_task(5, 4, s, seed=2, n_samples=n_samples, U=U, V=V, inputs=inputs)
    Sxx, Syx, _ = correlations(X, Y)
    np.testing.assert_allclose(Sxx, np.eye(5), atol=1e-13)
    np.testing.assert_allclose(Syx, (U * s) @ V.T, atol=1e-13)
    with pytest.raises(ValueError, match="identity"):
        whitened_task(5, 4, s, n_samples=6, inputs="identity")
    with pytest.raises(ValueError, match="do not fit"):
        whitened_task(2, 4, s)


def test_whitened_task_kept_where_it_was():
    from idealnets.theory import lambda_balanced, tasks

    assert lambda_balanced.whitened_task is tasks.whitened_task


# -- crossing times ---------------------------------------------------------------------------------
def test_crossing_time_interpolates_and_says_never():
    t = np.array([0.0, 1.0, 2.0, 3.0])
    u = np.array([[0.0, 0.2], [0.4, 0.3], [0.8, 0.4], [1.0, 0.45]])
    np.testing.assert_allclose(crossing_time(t, u, 0.5), [1.25, np.nan])
    assert crossing_time(t, u[:, 0], 0.5) == pytest.approx(1.25)
    np.testing.assert_allclose(crossing_time(t, u.T, 0.5, axis=1), [1.25, np.nan])
    np.testing.assert_allclose(crossing_time(t, u, [0.5, 0.35]), [1.25, 1.5])  # one level per curve
    assert crossing_time(t, u[:, 0], 0.0) == 0.0  # already there at the start
    assert crossing_time(t, [5.0, 3.0, 1.0, 0.5], 2.0, direction="down") == pytest.approx(1.5)


def test_crossing_time_variants():
    t = np.array([0.0, 1.0, 2.0])
    # exponential decay e^{-t}: interpolating log values finds the exact time
    assert crossing_time(t, np.exp(-t), np.exp(-1.3), direction="down", log_values=True) == pytest.approx(1.3)
    # power law t^-1 on a log grid: interpolating in log t and log values is exact
    tl = np.array([0.1, 1.0, 10.0])
    assert crossing_time(tl, 1.0 / tl, 1.0 / 3.0, direction="down", log_times=True,
                         log_values=True) == pytest.approx(3.0)
    # from_other_side: a curve that starts below the level must rise above it first
    curve = np.array([1.0, 3.0, 1.0])
    assert crossing_time(t, curve, 2.0, direction="down") == 0.0
    assert crossing_time(t, curve, 2.0, direction="down", from_other_side=True) == pytest.approx(1.5)
    assert np.isnan(crossing_time(t, [1.0, 1.5, 1.0], 2.0, direction="down", from_other_side=True))
    # NaN samples never count as reached; a NaN just before the crossing leaves it unknown
    assert crossing_time(t, [0.0, 1.0, np.nan], 0.5) == pytest.approx(0.5)
    assert np.isnan(crossing_time(t, [0.0, np.nan, 1.0], 0.5))


def test_crossing_time_validates():
    t = np.array([0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="increasing"):
        crossing_time([0.0, 2.0, 1.0], [1, 2, 3], 1.5)
    with pytest.raises(ValueError, match="samples on axis"):
        crossing_time(t, np.zeros((2, 4)), 1.0)
    with pytest.raises(ValueError, match="direction"):
        crossing_time(t, [1, 2, 3], 1.5, direction="sideways")
    with pytest.raises(ValueError, match="level"):
        crossing_time(t, [3, 2, 1], 0.0, direction="down", log_values=True)
    with pytest.raises(ValueError, match="broadcast"):
        crossing_time(t, np.zeros((3, 2)), [1.0, 2.0, 3.0])


def test_crossing_time_is_the_one_the_theory_modules_use(rng):
    from idealnets.theory.committee import plateau_escape_time
    from idealnets.theory.continual import crossing_time as loss_crossing
    from idealnets.theory.semantic import crossing_times

    t = np.linspace(0.0, 10.0, 41)
    u = np.cumsum(rng.random((41, 3, 2)), axis=0)
    uf = np.array([8.0, 12.0])
    np.testing.assert_array_equal(crossing_times(t, np.moveaxis(u, 0, -2), uf),
                                  crossing_time(t, u / uf, 0.5))
    L = np.exp(-t) * (1 + 0.1 * rng.random(41))
    assert loss_crossing(t, L, 0.05) == crossing_time(t, L, 0.05, direction="down", log_values=True)
    assert loss_crossing(t, L, 1e-9) == np.inf  # the continual form keeps inf for "never"
    a = np.geomspace(1e-2, 1e3, 200)
    e = 0.05 + 0.3 * np.exp(-a / 50)
    assert plateau_escape_time(a, e, 0.2) == crossing_time(a, e, 0.1, direction="down", log_times=True,
                                                           from_other_side=True)


# -- renamed names keep working (docs: Conventions, "Glossary") -------------------------------------
def test_old_names_warn_and_agree():
    from idealnets.theory import committee, deep_linear, lambda_balanced, ntk, perturbation

    X, Y = whitened_task(4, 3, [2.0, 1.0], seed=0)
    th = deep_linear.DeepLinearTheory(X, Y, depth=2)
    K = np.array([[2.0, 0.5], [0.5, 1.0]])
    for old, new in [(th.max_learning_rate, th.stable_lr),
                     (lambda: ntk.max_learning_rate(K), lambda: ntk.stable_lr(K)),
                     (lambda: perturbation.max_learning_rate("node", 5, 3), lambda: perturbation.stable_lr("node", 5, 3)),
                     (lambda: committee.max_learning_rate(1, activation="linear"),
                      lambda: committee.stable_lr(1, activation="linear"))]:
        with pytest.warns(DeprecationWarning, match="stable_lr"):
            assert old() == new()
    # one balancedness, two forms: the chain (a list) and the two-layer shorthand (one array)
    W1, W2 = lambda_balanced.lambda_balanced_init(4, 3, 3, 0.5, 0.3, seed=1)
    assert lambda_balanced.balancedness is deep_linear.balancedness
    np.testing.assert_array_equal(deep_linear.balancedness(W1, W2), deep_linear.balancedness([W1, W2])[0])
    with pytest.raises(ValueError, match="hidden units"):
        deep_linear.balancedness(W1, W2[:, :2])


def test_renamed_keyword_alpha_max():
    from idealnets.theory.committee import CommitteeODE

    ode = CommitteeODE(1, 1, 0.5, activation="linear")
    Q, R, v = ode.fixed_point(np.eye(1) * 0.5, np.eye(1) * 0.1, alpha_max=1e4)
    with pytest.warns(DeprecationWarning, match="max_alpha"):
        Q2, R2, v2 = ode.fixed_point(np.eye(1) * 0.5, np.eye(1) * 0.1, max_alpha=1e4)
    np.testing.assert_array_equal(Q, Q2)
