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
