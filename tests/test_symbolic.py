"""SymPy checks of the deep-linear closed forms (theory/symbolic.py)."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from idealnets.theory import symbolic
from idealnets.theory.deep_linear import time_integral


def test_every_symbolic_check_passes():
    res = symbolic.check_all()
    assert res and all(res.values()), {k: v for k, v in res.items() if not v}


def test_a_wrong_closed_form_is_caught():
    # the check machinery must be able to fail: a sigmoid with the wrong rate does not solve the ODE
    t, tau, s, u0 = symbolic.t, symbolic.tau, symbolic.s, symbolic.u0
    E = sp.exp(s * t / tau)  # should be 2 s t / tau
    wrong = s * E / (E - 1 + s / u0)
    assert sp.simplify(sp.diff(wrong, t) - 2 * wrong * (s - wrong) / tau) != 0


@pytest.mark.parametrize("D", [3, 4, 5])
def test_symbolic_time_integral_matches_numpy(D):
    """The derived T(a) and theory.deep_linear.time_integral differ by a constant (real part)."""
    T = symbolic.derive_time_integral(D)["T"]
    s_val = 1.7
    f = sp.lambdify(symbolic.a, T.subs(symbolic.s, s_val), "mpmath")
    a_vals = np.array([0.2, 0.5, 0.9, 1.05])  # below and above c = s^{1/D} ~ 1.1-1.2
    a_vals = a_vals[np.abs(a_vals - s_val ** (1 / D)) > 1e-3]
    sym = np.array([float(complex(f(v)).real) for v in a_vals])
    num = time_integral(a_vals, s_val, D)
    diff = sym - num
    assert np.ptp(diff) < 1e-10 * np.max(np.abs(num))
