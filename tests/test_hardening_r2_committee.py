"""Hardening, second round (issue 27): committee ODEs, their cost, divergence and undefined quantities."""
import numpy as np
import pytest

from idealnets.theory import _gaussian
from idealnets.theory.committee import I3, CommitteeODE


# ---------------------------------------------------------------- relu I3 at duplicated variables
def test_relu_i3_has_no_rounding_jitter_at_a_duplicate():
    # I3(k, b, k): c is a copy of a. The Stein term vanishes exactly there; the former form
    # sqrt(C33 - C13^2/C11) left sqrt(rounding) ~ 1e-8 in it, a jitter that stalled the relu ODE
    rng = np.random.default_rng(0)
    for _ in range(200):
        c = rng.uniform(0.1, 3.0)
        b = rng.uniform(-1, 1)
        C = np.array([[c, b, c], [b, 2.0, b], [c, b, c]])
        assert I3(C, "relu") == pytest.approx(b * 0.5, rel=0, abs=1e-15)  # C23 (1/4 + arcsin(1)/(2 pi))


def test_relu_ode_rates_are_smooth():
    ode = CommitteeODE(2, 2, 0.5, "relu")
    y = np.array([0.78367556, 0.3463211, 0.79099422, 0.51568573, 0.51582742, 0.51940192, 0.51944829, 1, 1])
    d = ode.rhs(0, y)
    F = np.array([ode.rhs(0, y + s * d) for s in np.linspace(0, 1e-3, 21)])
    assert np.abs(F[2:] - 2 * F[1:-1] + F[:-2]).max() < 1e-13  # was 3e-9 (sqrt of rounding)


# ---------------------------------------------------------------- symmetric_plateau(relu) cost
def test_symmetric_plateau_relu_is_fast_and_a_fixed_point():
    import time

    from idealnets.theory.committee import _sym_state, symmetric_plateau
    t = time.perf_counter()
    p = symmetric_plateau(2, 0.5, activation="relu")
    assert time.perf_counter() - t < 60  # was 96 s (unloaded ~ 3 s now)
    ode = CommitteeODE(2, 2, 0.5, "relu")
    Q, R = _sym_state(2, p.Q, p.C, p.R)
    assert np.abs(np.concatenate([a.ravel() for a in ode.rates(Q, R, np.ones(2))])).max() < 1e-10
    assert p.growth_rate > 0  # a saddle: the plateau


# ---------------------------------------------------------------- divergence and the bounded fixed-point search
Q0, R0 = 0.25 * np.eye(2), 1e-2 * (1.0 + np.add.outer(np.arange(2), 2 * np.arange(2))) / 4


@pytest.mark.parametrize("lr", [10.0, 1e3])
def test_inf_above_the_stable_lr_is_a_named_divergence(lr):
    from idealnets.theory.committee import asymptotic_error
    from idealnets.theory.validation import DivergenceError
    with pytest.raises(DivergenceError, match=r"lr=.*stable_lr"):  # was: 20 000+ evaluations, 1-2 min
        CommitteeODE(2, 2, lr, "erf").integrate(Q0, R0, alpha_eval=[0, np.inf])
    with pytest.raises(FloatingPointError, match="lr="):  # old catches still work
        asymptotic_error(2, 2, lr, 0.0)


@pytest.mark.parametrize("act", ["linear"])  # relu too (5 s)
def test_blow_up_is_divergence_error_naming_lr(act):
    from idealnets.simulate import DivergenceError as SimDivergenceError
    from idealnets.theory.validation import DivergenceError
    assert SimDivergenceError is DivergenceError
    with pytest.raises(DivergenceError, match="lr=1000"):
        CommitteeODE(2, 2, 1000.0, act).integrate(Q0, R0, alpha_eval=[0, 10])


def test_fixed_point_search_is_bounded_by_max_nfev():
    from idealnets.theory.committee import NotSettledError
    ode = CommitteeODE(2, 2, 0.5, "relu")  # relu crawls towards perfect learning (a kink of its rates)
    with pytest.raises(NotSettledError, match="max_nfev = 50"):
        ode.integrate(Q0, R0, alpha_eval=[0, 1.0, np.inf], max_nfev=50)
    with pytest.raises(RuntimeError):  # NotSettledError is a RuntimeError, as before
        ode.fixed_point(Q0, R0, max_nfev=50)
    with pytest.raises(ValueError, match="max_nfev"):
        ode.integrate(Q0, R0, alpha_eval=[0, np.inf], max_nfev=0)


# ---------------------------------------------------------------- I4 and undefined quantities
@pytest.mark.parametrize("fn", ["I2", "I3", "I4", "J2"])
def test_integrals_refuse_nan_covariance_by_name(fn):
    import idealnets.theory.committee as c
    n = {"I2": 2, "I3": 3, "I4": 4, "J2": 2}[fn]
    C = np.eye(n)
    C[0, 1] = C[1, 0] = np.nan
    with pytest.raises(ValueError, match="C"):
        getattr(c, fn)(C)


def test_alignment_without_feedback_is_a_named_error():
    tr = CommitteeODE(2, 2, 0.5, "linear").integrate(Q0, R0, alpha_eval=[0, 1.0])
    with pytest.raises(ValueError, match="feedback"):
        tr.alignment
    fa = CommitteeODE(2, 2, 0.5, "linear", feedback=[1.0, 1.0]).integrate(Q0, R0, alpha_eval=[0, 1.0])
    assert np.allclose(fa.alignment, 1.0)  # v stays at v0 = (1, 1) = b


def test_grid_flags_members_that_do_not_settle():
    from idealnets.theory.committee_grid import CommitteeGrid
    g = CommitteeGrid(1, 1, [0.5, 0.5], activation="linear")
    ok = g.integrate([0.0, np.inf])
    assert ok.settled.tolist() == [True, True] and np.isfinite(ok.eps_g).all()
    short = g.integrate([0.0, np.inf], alpha_max=0.5)  # cannot settle by alpha = 0.5
    assert short.settled.tolist() == [False, False] and not short.diverged.any()
    assert np.isnan(short.eps_g[:, -1]).all() and np.isfinite(short.eps_g[:, 0]).all()
    fin = g.integrate([0.0, 1.0])
    assert not fin.settled.any()


# ---------------------------------------------------------------- the stated accuracy of the relu quadrature
def test_relu_gaussian_equivalent_quadrature_accuracy_is_as_documented():
    from idealnets.theory.random_features import gaussian_equivalent_coefficients, gaussian_equivalent_quadrature
    exact = gaussian_equivalent_coefficients("relu")  # closed forms: 1/sqrt(2 pi), 1/2, sqrt(1/4 - 1/(2 pi))
    assert exact == (1 / np.sqrt(2 * np.pi), 0.5, np.sqrt(0.25 - 0.5 / np.pi))
    q = gaussian_equivalent_quadrature("relu")
    err = [abs(a - b) for a, b in zip(q, exact)]
    assert 0.9e-3 < err[0] < 1.1e-3 and err[1] < 1e-15 and 1.3e-3 < err[2] < 1.5e-3
    for n in (20, 80, 180):
        e = [abs(a - b) for a, b in zip(gaussian_equivalent_quadrature("relu", n), exact)]
        assert e[0] < 0.17 / n and e[2] < 0.23 / n


def test_two_teacher_divergence_is_divergence_error_naming_lr():
    from idealnets.theory.continual.two_teachers import TwoTeacherODE, teacher_pair
    from idealnets.theory.validation import DivergenceError
    T, v1, v2 = teacher_pair(2, 0.5, 0.5)
    ode = TwoTeacherODE(2, 2, 5.0, T, v1, v2, activation="linear", lr_v=0.0)  # frozen heads: lr = 5 > 2 diverges
    with pytest.raises(DivergenceError, match="lr=5"):
        ode.integrate(0.25 * np.eye(2), 0.01 * np.ones((2, 4)), np.ones(2), np.ones(2), 10, 10)


def test_impossible_order_parameters_are_refused_by_name():
    """Q = -I (or |R| beyond sqrt(Q T)) is no covariance of the local fields: a named ValueError,
    not the NaN of the Gaussian integrals; a valid (even singular) set is still answered."""
    from idealnets.theory.committee import generalisation_error
    T, vs = np.eye(2), np.ones(2)
    with pytest.raises(ValueError, match="not the covariance of the local fields"):
        generalisation_error(-np.eye(2), np.zeros((2, 2)), T, np.ones(2), vs)
    with pytest.raises(ValueError, match="not the covariance"):
        generalisation_error(np.eye(2), 2 * np.eye(2), T, np.ones(2), vs)
    # perfect learning: the joint matrix is singular, the error is exactly 0
    assert abs(generalisation_error(np.eye(2), np.eye(2), T, np.ones(2), vs)) < 1e-12


def test_grid_and_teacher_sizes_and_iterations_are_checked():
    from idealnets.theory.committee_grid import WIDTH_MAX, CommitteeGrid
    from idealnets.theory.continual.two_teachers import M_MAX, teacher_pair
    with pytest.raises(ValueError, match="WIDTH_MAX"):
        CommitteeGrid(WIDTH_MAX + 1, 2, 0.5)
    with pytest.raises(ValueError, match="M must be"):
        CommitteeGrid(2, WIDTH_MAX + 1, 0.5)
    with pytest.raises(ValueError, match="M must be"):
        teacher_pair(M_MAX + 1, 0.5, 0.5)
    grid = CommitteeGrid(2, 2, 0.5)
    for bad in (0, -1):
        with pytest.raises(ValueError, match="max_iterations"):
            grid.integrate([0.0, 1.0], max_iterations=bad)
    for bad in (2.5, True, float("nan")):
        with pytest.raises((TypeError, ValueError), match="max_iterations"):
            grid.integrate([0.0, 1.0], max_iterations=bad)
