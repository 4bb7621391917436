r"""SymPy checks of the deep-linear closed forms (Saxe, McClelland & Ganguli 2014).

Each ``check_*`` function builds the residual of an equation that must vanish
identically (closed form minus what its ODE demands) and returns it simplified;
:func:`check_all` runs them all and returns ``{name: True/False}``. The
derivation of the depth >= 3 time integral is spelled out step by step in
:func:`derive_time_integral`, which returns every intermediate expression so that
tests (and readers) can inspect it.

Conventions as in :mod:`idealnets.theory.deep_linear`: mode strength ``u``, singular value
``s``, depth ``D`` (number of weight matrices), ``tau du/dt = D u^{2-2/D}(s - u)``.
"""
from __future__ import annotations

import sympy as sp

__all__ = [
    "mode_ode_rhs",
    "check_depth1_solution",
    "check_depth2_solution",
    "check_depth2_learning_time",
    "derive_time_integral",
    "check_time_integral",
    "check_partial_fractions",
    "check_balancedness_scalar_chain",
    "check_pretrained_chain",
    "check_two_layer_linear_phase",
    "check_orthogonal_straight_line",
    "check_all",
]

t, tau, s, u0, u, a = sp.symbols("t tau s u0 u a", positive=True)


def mode_ode_rhs(u_expr, D):
    """Right-hand side of ``du/dt = D u^{2-2/D} (s - u) / tau`` (Saxe et al. 2014, Eq. 14)."""
    D = sp.Integer(D) if isinstance(D, int) else D
    return D * u_expr ** (2 - 2 / D) * (s - u_expr) / tau


def check_depth1_solution() -> sp.Expr:
    """``u = s + (u0 - s) e^{-t/tau}`` solves ``tau u' = s - u``, ``u(0) = u0``: residuals (ODE, IC)."""
    sol = s + (u0 - s) * sp.exp(-t / tau)
    return sp.simplify(sp.diff(sol, t) - mode_ode_rhs(sol, 1)), sp.simplify(sol.subs(t, 0) - u0)


def check_depth2_solution():
    """The sigmoid ``u = s e^{2st/tau} / (e^{2st/tau} - 1 + s/u0)`` solves ``tau u' = 2u(s-u)`` (Eq. 8)."""
    E = sp.exp(2 * s * t / tau)
    sol = s * E / (E - 1 + s / u0)
    return sp.simplify(sp.diff(sol, t) - 2 * sol * (s - sol) / tau), sp.simplify(sol.subs(t, 0) - u0)


def check_depth2_learning_time():
    """``t = tau/(2s) ln[uf (s-u0)/(u0 (s-uf))]`` inverts the sigmoid (Eq. 9): residual u(t(uf)) - uf."""
    uf = sp.Symbol("u_f", positive=True)
    T = tau / (2 * s) * sp.log(uf * (s - u0) / (u0 * (s - uf)))
    E = sp.exp(2 * s * T / tau)
    sol = s * E / (E - 1 + s / u0)
    return sp.simplify(sol - uf)


def derive_time_integral(D: int) -> dict:
    r"""Derivation of the depth-D time integral, step by step (D >= 3).

    1. ODE: ``tau du/dt = D u^{2-2/D}(s - u)``.
    2. Substitute ``u = a^D`` (a = per-layer strength of a balanced mode):
       ``tau D a^{D-1} da/dt = D a^{2D-2}(s - a^D)`` i.e. ``tau da/dt = a^{D-1}(s - a^D)``.
    3. Separate: ``dt/tau = da / (a^{D-1}(s - a^D))``.
    4. Partial fractions: ``1/(a^{D-1}(s-a^D)) = (1/s)[a^{1-D} + a/(s - a^D)]`` and, with the
       D roots ``r_k = c w_k`` of ``a^D = s`` (``c = s^{1/D}``, ``w_k = e^{2 pi i k/D}``),
       ``a/(s - a^D) = -(1/(D s)) sum_k r_k^2/(a - r_k)`` (residue of ``a/(s-a^D)`` at
       ``r_k`` is ``r_k/(-D r_k^{D-1}) = -r_k^2/(D s)``).
    5. Integrate: ``T(a) = (1/s)[a^{2-D}/(2-D) - (1/(D s)) sum_k r_k^2 log(a - r_k)]``.

    Returns the expressions of each step; the residual of step 2 and the derivative
    check of step 5 should simplify to 0 (:func:`check_time_integral`).
    """
    if D < 3:
        raise ValueError("the time integral is derived for depth >= 3")
    Di = sp.Integer(D)
    adot = sp.Symbol("adot", real=True)  # da/dt
    ode_u = sp.Eq(tau * sp.Symbol("udot"), mode_ode_rhs(u, Di) * tau)
    # step 2: chain rule with u = a^D (a > 0): du/dt = D a^{D-1} da/dt
    lhs = tau * Di * a ** (Di - 1) * adot
    rhs = Di * (a**Di) ** (2 - 2 / Di) * (s - a**Di)
    da_dt = sp.solve(sp.Eq(lhs, rhs), adot)[0]
    step2_residual = sp.simplify(da_dt - a ** (Di - 1) * (s - a**Di) / tau)
    integrand = 1 / (a ** (Di - 1) * (s - a**Di))
    split = (a ** (1 - Di) + a / (s - a**Di)) / s
    c = s ** (1 / Di)
    roots = [c * sp.exp(2 * sp.pi * sp.I * k / Di) for k in range(D)]
    T = (a ** (2 - Di) / (2 - Di) - sum(r**2 * sp.log(a - r) for r in roots) / (Di * s)) / s
    return {
        "ode": ode_u,
        "da_dt": da_dt,
        "step2_residual": step2_residual,
        "integrand": integrand,
        "partial_fractions": split,
        "split_residual": sp.simplify(integrand - split),
        "roots": roots,
        "T": T,
    }


def check_partial_fractions(D: int) -> sp.Expr:
    """``a/(s - a^D) + (1/(D s)) sum_k r_k^2/(a - r_k)``, which must vanish, with s = 1 (scale out s).

    Proof (for the reader): for ``|a| < 1``, ``1/(a - w) = -sum_n a^n w^{-n-1}`` and
    ``sum_k w_k^{1-n} = D [n = 1 mod D]``, so ``sum_k w_k^2/(a - w_k) = -D a/(1 - a^D)``.
    SymPy simplifies the residual exactly for D <= 4; for D >= 5 the radicals of the
    roots of unity make ``simplify`` impractically slow, so the residual is evaluated
    exactly-rounded at 40 digits at five rational points and its largest modulus returned.
    """
    Di = sp.Integer(D)
    roots = [sp.exp(2 * sp.pi * sp.I * k / Di) for k in range(D)]  # s = 1: c = 1
    expr = a / (1 - a**Di) + sum(r**2 / (a - r) for r in roots) / Di
    if D <= 4:
        return sp.simplify(sp.nsimplify(sp.expand_complex(sp.together(expr))))
    pts = [sp.Rational(1, 3), sp.Rational(7, 5), sp.Rational(5, 2), sp.Rational(1, 10), sp.Integer(3)]
    return sp.Float(max(abs(complex(sp.N(expr.subs(a, p), 40))) for p in pts))


def check_time_integral(D: int) -> sp.Expr:
    """``dT/da - 1/(a^{D-1}(s - a^D))`` for the closed form of :func:`derive_time_integral`.

    Differentiating T gives ``(1/s)[a^{1-D} - (1/(D s)) sum_k r_k^2/(a - r_k)]``; by the
    partial-fraction identity (checked separately, :func:`check_partial_fractions`) this
    is the integrand. Here the full residual is simplified after substituting the
    identity's left side for the root sum, so the check reduces to step 4.
    """
    der = derive_time_integral(D)
    dT = sp.diff(der["T"], a)
    Di = sp.Integer(D)
    roots = der["roots"]
    root_sum = sum(r**2 / (a - r) for r in roots)
    # dT = (1/s)[a^{1-D} - root_sum/(D s)]: verify that structure, then the identity
    structure = sp.expand(dT - (a ** (1 - Di) - root_sum / (Di * s)) / s)
    identity = check_partial_fractions(D)
    return structure + identity + der["split_residual"]


def check_balancedness_scalar_chain(D: int) -> sp.Expr:
    """Scalar chain ``tau a_l' = (prod_{k != l} a_k)(s - prod a)``: ``d/dt (a_{l+1}^2 - a_l^2) = 0``."""
    avals = sp.symbols(f"a1:{D + 1}", positive=True)
    prod = sp.Mul(*avals)
    rates = [prod / ak * (s - prod) / tau for ak in avals]
    return sp.simplify(sum(2 * avals[l + 1] * rates[l + 1] - 2 * avals[l] * rates[l] for l in range(D - 1)))


def check_pretrained_chain(D: int):
    """Pretrained chain: hidden gains b (D-1 layers), readout c. Residuals of (i) ``b^2 - c^2`` conserved,
    (ii) ``dt/dc`` equal to the integrand of :func:`idealnets.theory.deep_linear.pretrained_learning_time`."""
    b, c, k = sp.symbols("b c k", positive=True)
    uu = b ** (D - 1) * c
    db = b ** (D - 2) * c * (s - uu) / tau
    dc = b ** (D - 1) * (s - uu) / tau
    conserved = sp.simplify(2 * b * db - 2 * c * dc)
    bb = sp.sqrt(c**2 + k)
    dt_dc = 1 / dc.subs(b, bb)
    integrand = tau / ((c**2 + k) ** sp.Rational(D - 1, 2) * (s - (c**2 + k) ** sp.Rational(D - 1, 2) * c))
    return conserved, sp.simplify(dt_dc - integrand)


def check_two_layer_linear_phase():
    """``p + q = (p0+q0) e^{st/tau}``, ``p - q = (p0-q0) e^{-st/tau}`` solve ``tau p' = s q``, ``tau q' = s p``;
    residuals of both equations and of ``u = q p -> (p0+q0)^2/4 e^{2st/tau}`` (scalar hidden unit)."""
    p0, q0 = sp.symbols("p0 q0", real=True)
    P = ((p0 + q0) * sp.exp(s * t / tau) + (p0 - q0) * sp.exp(-s * t / tau)) / 2
    Q = ((p0 + q0) * sp.exp(s * t / tau) - (p0 - q0) * sp.exp(-s * t / tau)) / 2
    r1 = sp.simplify(tau * sp.diff(P, t) - s * Q)
    r2 = sp.simplify(tau * sp.diff(Q, t) - s * P)
    grow = sp.simplify(sp.expand(P * Q - (p0 + q0) ** 2 / 4 * sp.exp(2 * s * t / tau)
                                 + (p0 - q0) ** 2 / 4 * sp.exp(-2 * s * t / tau)))
    return r1, r2, grow


def check_orthogonal_straight_line(D: int):
    """``lambda = s + d rho`` with ``tau rho' = -D rho |lambda|^{2-2/D}`` solves
    ``tau lambda' = -D |lambda|^{2-2/D}(lambda - s)`` (real and imaginary parts)."""
    x, y = sp.symbols("d_x d_y", real=True)
    rho = sp.Function("rho")(t)
    lam_re, lam_im = s + x * rho, y * rho
    mod = (lam_re**2 + lam_im**2) ** (1 - sp.Rational(1, D))
    drho = -D * rho * mod / tau
    res_re = sp.simplify((x * drho) - (-D * mod * (lam_re - s) / tau))
    res_im = sp.simplify((y * drho) - (-D * mod * lam_im / tau))
    return res_re, res_im


def check_all(depths=(3, 4, 5, 6)) -> dict[str, bool]:
    """Run every check; ``{name: residual == 0}``."""
    out: dict[str, bool] = {}
    out["depth1"] = all(r == 0 for r in check_depth1_solution())
    out["depth2"] = all(r == 0 for r in check_depth2_solution())
    out["depth2_time"] = check_depth2_learning_time() == 0
    out["two_layer_linear_phase"] = all(r == 0 for r in check_two_layer_linear_phase())
    for D in depths:
        der = derive_time_integral(D)
        out[f"substitution_D{D}"] = der["step2_residual"] == 0 and der["split_residual"] == 0
        res = check_time_integral(D)
        out[f"time_integral_D{D}"] = bool(res == 0 or (res.is_number and abs(complex(res)) < 1e-30))
        out[f"balancedness_D{D}"] = check_balancedness_scalar_chain(D) == 0
        out[f"pretrained_chain_D{D}"] = all(r == 0 for r in check_pretrained_chain(D))
        out[f"orthogonal_line_D{D}"] = all(r == 0 for r in check_orthogonal_straight_line(D))
    return out


if __name__ == "__main__":  # pragma: no cover
    for k, v in check_all().items():
        print(f"{k:28s} {v}")
