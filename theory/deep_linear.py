r"""Exact learning dynamics of deep linear networks (Saxe, McClelland & Ganguli 2014).

Network with ``depth`` = D weight matrices, ``yhat = W_D ... W_1 x``, trained by
gradient flow ``tau dW_l/dt = -dL/dW_l`` on the mean squared loss
``L = (1/2P) sum_mu ||y_mu - yhat_mu||^2`` (docs: Conventions, "Loss and time").

With whitened input (``Sxx = X X^T / P = I``) and the SVD
``Syx = Y X^T / P = U S V^T``, decoupled ("balanced", aligned) initial
conditions keep every mode independent. The product strength ``u`` of mode
alpha (its singular value in the total map ``W_D ... W_1``) obeys
(Saxe et al. 2014, Eqs. 6-8 and Sec. 3):

.. math::

    \tau \dot u = D\, u^{2 - 2/D} (s - u)

whose solutions are, for D = 1, ``u(t) = s + (u0 - s) e^{-t/tau}``; for D = 2 the
sigmoid ``u(t) = s e^{2st/tau} / (e^{2st/tau} - 1 + s/u0)``; for D >= 3 the
inverse of an elementary time integral (see :func:`time_integral`).

Isotropic unwhitened input ``Sxx = c I`` (e.g. one-hot items with the mean loss,
c = 1/P) is handled exactly by rescaling: ``tau du/dt = D u^{2-2/D}(s - c u)``
has fixed point ``s/c`` and is the whitened equation in time ``c t`` for
strength ``s/c`` (substitute into the ODE).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from . import _core
from .validation import as_array, as_choice, as_float, as_int, as_seed, as_times, check_same, deprecated_alias

__all__ = [
    "mode_strength",
    "learning_time",
    "time_integral",
    "mode_rate",
    "DeepLinearTheory",
    "integrate_gradient_flow",
    "effective_u0_two_layer",
    "u0_through",
    "balancedness",
    "depth_learning_rate",
    "pretrained_learning_time",
    "orthogonal_eigen_trajectory",
    "orthogonal_learning_time",
    "orthogonal_learning_times",
    "depth_learning_steps",
    "DEPTH_INITS",
]

ISOTROPY_RTOL = 1e-8  # Sxx must equal c*I to this relative accuracy
#: Largest depth accepted (the cost of a mode's trajectory is linear in D: ~0.3 s at the bound)
DEPTH_MAX = 10_000
#: Largest number of entries of the arrays :meth:`DeepLinearTheory.weights` builds (2 GiB of float64)
MAX_ENTRIES = 2**28


def _check_depth(depth) -> int:
    """The number of weight matrices D: an integer in ``[1, DEPTH_MAX]``."""
    return as_int(depth, "depth", low=1, high=DEPTH_MAX)


def _check_tau(tau) -> float:
    """A positive, finite time constant."""
    return as_float(tau, "tau", low=0.0, open_low=True)


def _check_weights(weights) -> list[np.ndarray]:
    """A non-empty sequence of finite real arrays (one per layer)."""
    if weights is None or isinstance(weights, (str, bytes)) or not hasattr(weights, "__len__") or len(weights) < 1:
        raise TypeError(f"weights must be a non-empty sequence of arrays (one per layer), got {weights!r:.60}")
    return [as_array(w, f"weights[{l}]", ndim=range(2, 64)) for l, w in enumerate(weights)]


def _check_eigenvalues(lam0) -> np.ndarray:
    """Complex eigenvalues: non-empty, finite."""
    if lam0 is None or isinstance(lam0, (str, bytes)):
        raise TypeError(f"lam0 must be an array of (complex) eigenvalues, got {lam0!r}")
    try:
        lam = np.asarray(lam0, dtype=complex)
    except (TypeError, ValueError):
        raise TypeError(f"lam0 must be an array of (complex) eigenvalues, got {type(lam0).__name__}") from None
    if lam.size == 0:
        raise ValueError("lam0 must hold at least one eigenvalue")
    if not np.isfinite(lam).all():
        raise ValueError("lam0 must be finite")
    return lam


def _check_flow_times(t) -> np.ndarray:
    """1-D, finite, non-negative, non-decreasing times for the reference integrator (repeats allowed)."""
    t = as_times(t, allow_inf=False, increasing=True)
    if t.ndim != 1:
        raise ValueError(f"t must be a 1-D array of times, got shape {t.shape}")
    return t


def time_integral(a, s, depth: int):
    r"""Antiderivative ``T(a) = \int da / (a^{D-1} (s - a^D))`` for D >= 3, s > 0.

    With ``u = a^D`` the mode ODE ``tau du/dt = D u^{2-2/D} (s-u)`` becomes
    ``tau da/dt = a^{D-1} (s - a^D)``, so ``t/tau = T(a(t)) - T(a(0))``.
    Partial fractions (``1/(a^{D-1}(s-a^D)) = (1/s)[a^{1-D} + a/(s-a^D)]``) and the
    D roots ``c w_k`` of ``s - a^D`` (``c = s^{1/D}``, ``w_k = e^{2 pi i k/D}``) give

    .. math::

        T(a) = \frac{1}{s}\Big[\frac{a^{2-D}}{2-D}
               - \frac{1}{D s}\sum_{k=0}^{D-1} (c w_k)^2 \log(a - c w_k)\Big],

    real for real ``a > 0`` (conjugate roots pair up; the k = 0 term uses
    ``log|a - c|``). The SymPy check in :mod:`idealnets.theory.symbolic` differentiates it.
    """
    D = _check_depth(depth)
    if D < 3:
        raise ValueError("time_integral is for depth >= 3; depth 1 and 2 have explicit forms")
    a = as_array(a, "a", low=0.0, open_low=True, allow_empty=True)
    s = as_array(s, "s", low=0.0, open_low=True, allow_empty=True)
    return _time_integral(a, s, D)


def _time_integral(a, s, D: int):
    """:func:`time_integral` for trusted arrays ``a, s > 0`` and ``D >= 3``."""
    c = s ** (1.0 / D)
    out = a ** (2.0 - D) / (2.0 - D)
    acc = -(c**2) * np.log(np.abs(a - c))  # k = 0
    return (out + (acc + _complex_root_terms(a, c, D)) / (D * s)) / s


def _strength_deep_s0(t, u0, D, tau):
    # s = 0: tau du/dt = -D u^{3 - 2/D}  ->  u^{-(2-2/D)} = u0^{-(2-2/D)} + (2-2/D) D t / tau
    p = 2.0 - 2.0 / D
    with np.errstate(divide="ignore"):
        return (u0 ** (-p) + p * D * t / tau) ** (-1.0 / p)


def mode_strength(t, s, u0, depth: int = 2, tau: float = 1.0):
    r"""Product strength ``u(t)`` of one mode (Saxe et al. 2014, Eq. 8 and Sec. 3).

    Solves ``tau du/dt = D u^{2-2/D} (s - u)``, ``u(0) = u0`` exactly:

    * D = 1: ``u = s + (u0 - s) e^{-t/tau}``
    * D = 2: ``u = s / (1 - (1 - s/u0) e^{-2 s t / tau})`` (the sigmoid, written stably)
    * D >= 3: inverts ``t/tau = T(a) - T(a0)``, ``u = a^D`` (:func:`time_integral`),
      by safeguarded Newton iteration on ``log|c - a|`` to machine precision.

    Parameters broadcast against each other; ``t`` of any shape, ``t = np.inf``
    gives the fixed point ``s`` (0 when ``u0 = 0``, an unstable fixed point for
    D >= 2). Requires ``s >= 0`` and, for D >= 2, ``u0 >= 0``.
    """
    D = _check_depth(depth)
    tau = _check_tau(tau)
    t = as_times(t)
    s = as_array(s, "s (singular values)", low=0.0)
    u0 = as_array(u0, "u0", low=0.0 if D >= 2 else None)
    try:
        np.broadcast_shapes(t.shape, s.shape, u0.shape)
    except ValueError:
        raise ValueError(f"t, s and u0 must broadcast together, got shapes {t.shape}, {s.shape}, {u0.shape}") from None
    return _mode_strength(t, s, u0, D, tau)


def _mode_strength(t, s, u0, D: int, tau: float, setup=None):
    """:func:`mode_strength` for trusted arrays (``t >= 0``, ``s >= 0``, ``u0 >= 0`` for D >= 2) that broadcast.
    ``setup``: an :class:`_InversionSetup` made for these ``s`` and ``u0`` (D >= 3), or None."""
    # one id per distinct (s, u0) pair of the arguments (before t is broadcast in): the entries of one mode
    # share its Newton seed table (:func:`_tabulated_guess`)
    mode = np.arange(np.broadcast(s, u0).size).reshape(np.broadcast_shapes(np.shape(s), np.shape(u0)))
    u0_arg = np.asarray(u0)
    t, s, u0, mode = np.broadcast_arrays(t, s, u0, mode)
    if D == 1:
        with np.errstate(over="ignore", invalid="ignore"):
            e = np.exp(-t / tau)
            u = np.where(np.isinf(t), s, s + (u0 - s) * e)
            if not np.isfinite(u).all():  # u0 - s overflows (|u0|, s near the float range): the same, unexpanded
                u = np.where(np.isfinite(u), u, s * (1.0 - e) + u0 * e)
            return u
    out = np.empty(t.shape)
    zero = u0 == 0
    out[zero] = 0.0
    s_zero = (s == 0) & ~zero
    out[s_zero] = _strength_deep_s0(t[s_zero], u0[s_zero], D, tau)
    m = ~zero & ~s_zero
    tm, sm, um = t[m], s[m], u0[m]
    if D == 2:
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            decay = np.exp(-2.0 * sm * tm / tau)
            ratio = sm / um
            u = sm / (1.0 - (1.0 - ratio) * decay)
            huge = np.isinf(ratio)
            if huge.any():  # s/u0 overflows (u0 ~ 1e-300 s): (s/u0 - 1) e^{-2st/tau} as one exponential
                L = np.log(sm) - np.log(um) - 2.0 * sm * tm / tau  # u = s / (1 + e^L)
                u = np.where(huge, np.exp(np.log(sm) - np.logaddexp(0.0, L)), u)
        out[m] = u
        return out
    # D >= 3: invert t/tau = T(a) - T(a0), a = u^{1/D}, by safeguarded Newton (:func:`_invert_time_integral`)
    if not m.any():
        return out
    a0 = np.broadcast_to(u0_arg ** (1.0 / D), u0.shape)[m]  # the root once per u0 given, not once per time
    a = _invert_time_integral(np.where(np.isinf(tm), np.inf, tm / tau), sm, a0, D, mode=mode[m], setup=setup)
    up = um < sm
    # a^D can overshoot s by an ulp: keep u on its side of the fixed point
    aD = a**D
    out[m] = np.where(up, np.minimum(aD, sm), np.maximum(aD, sm))
    return out


#: Newton iterations of :func:`_invert_time_integral` stop when the step in ``y = log|c - a|``
#: is below this (a relative change of ``a - c`` of ~1e-15, far below one ulp of ``a``).
NEWTON_YTOL = 1e-15
NEWTON_MAXITER = 100
NEWTON_LAST_STEP = 1e-9
_EPS = np.finfo(float).eps


def _time_integral_y(y, side, s, c, D):
    """``T(a)`` of :func:`time_integral` at ``a = c - side e^y`` with the singular term ``log|a - c| = y`` exact."""
    a = c - side * np.exp(y)
    out = a ** (2.0 - D) / (2.0 - D)
    acc = -(c**2) * y  # k = 0, log|a - c| known exactly
    return (out + (acc + _complex_root_terms(a, c, D)) / (D * s)) / s, a


def _complex_root_terms(a, c, D):
    """``-sum_{k=1}^{D-1} Re[(c w_k)^2 log(a - c w_k)]`` of :func:`time_integral`, in real arithmetic.

    Roots k and D-k are conjugate, so each pair gives twice the real part of one term,
    ``Re[r^2 log(a - r)] = Re(r^2) log|a - r| - Im(r^2) arg(a - r)``; for even D the
    root ``-c`` (k = D/2) is real and ``a + c > 0``.
    """
    acc = np.zeros(np.broadcast(a, c).shape)
    for k in range(1, (D + 1) // 2):
        th = 2.0 * np.pi * k / D
        re, im = c * np.cos(th), c * np.sin(th)
        r2re, r2im = re * re - im * im, 2.0 * re * im
        dx, dy = a - re, -im
        acc = acc - 2.0 * (r2re * 0.5 * np.log(dx * dx + dy * dy) - r2im * np.arctan2(dy, dx))
    if D % 2 == 0:
        acc = acc - c**2 * np.log(a + c)
    return acc


_GUESS_GRID = 48  # points per trajectory in the table of T that seeds Newton (see _tabulated_guess)


def _count_below(table, row, v):
    """Per entry i, how many values of ``table[row[i]]`` are ``< v[i]`` (finite ``v``), without forming
    ``table[row]``: one stable sort of the table values and the entries together, by row, then by value,
    entries before equal table values."""
    n_rows, width = table.shape
    n_tab = n_rows * width
    vals = np.concatenate([v, table.ravel()])  # entries first: a stable sort keeps them before equal values
    rows = np.concatenate([row, np.repeat(np.arange(n_rows), width)])
    order = np.argsort(vals, kind="stable")
    order = order[np.argsort(rows[order], kind="stable")]
    is_tab = order >= v.size
    tab_before = np.cumsum(is_tab)  # table values sorted before each position (of its own row and lower rows)
    pos = np.empty(v.size, dtype=np.intp)
    pos[order[~is_tab]] = np.flatnonzero(~is_tab)
    return tab_before[pos] - row * width


def _count_below_sorted(table, row, v):
    """:func:`_count_below` for a table whose rows are sorted (non-decreasing): ``searchsorted(table[row[i]],
    v[i])`` for every entry at once, by a binary search over the row's columns."""
    width = table.shape[1]
    flat = table.ravel()
    base = row * width
    lo = np.zeros(v.size, dtype=np.intp)
    hi = np.full(v.size, width, dtype=np.intp)
    for _ in range(width.bit_length()):  # the count lies in [lo, hi]
        mid = (lo + hi) >> 1
        go = (mid < hi) & (flat[base + np.minimum(mid, width - 1)] < v)
        lo = np.where(go, mid + 1, lo)
        hi = np.where(go, hi, mid)
    return lo


def _unique_rows(key):
    """The distinct rows of a 2-D float array and the row of each input row among them (``np.unique(key,
    axis=0, return_inverse=True)`` up to the order of the distinct rows, by a lexical sort of the columns)."""
    order = np.lexsort(key.T[::-1])
    sk = key[order]
    new = np.ones(key.shape[0], dtype=bool)
    new[1:] = np.any(sk[1:] != sk[:-1], axis=1)
    inv = np.empty(key.shape[0], dtype=np.intp)
    inv[order] = np.cumsum(new) - 1
    return sk[new], inv


def _seed_table(us, uside, uT0, uhi, ulo, D):
    """The seed table of :func:`_tabulated_guess` for modes ``(s, side, T0, y_hi, y_lo)`` (one row each): the
    points ``yg`` (decreasing), ``T`` there and the slopes ``dy/dT``, each ``(n_rows, _GUESS_GRID - 1)``."""
    uc = us ** (1.0 / D)
    half = _GUESS_GRID // 2
    gap = np.exp(uhi)  # |c - a0|
    frac = np.linspace(0.0, 1.0, half + 1)[:-1]  # a from a0 towards c, in equal steps of a
    y_a = np.log(gap[:, None] * (1.0 - frac[None, :] * 0.9))
    y_y = np.linspace(0.0, 1.0, _GUESS_GRID - half)[None, :] * (ulo - y_a[:, -1])[:, None] + y_a[:, -1:]
    yg = np.concatenate([y_a, y_y[:, 1:]], axis=1)  # decreasing in y, (n_uniq, G - 1)
    Tg, ag = _time_integral_y(yg, uside[:, None], us[:, None], uc[:, None], D)
    # slopes dy/dT = -a^{D-1} sum_k c^{D-1-k} a^k (the Newton step's dT/dy, inverted) for the cubic seed
    ag_pow = [ag**k for k in range(D)]
    dydT = -(ag_pow[D - 1] * sum(uc[:, None] ** (D - 1 - k) * ag_pow[k] for k in range(D)))
    return yg, Tg, dydT


def _tabulated_guess(lo, hi, key, mode, v, D, table=None):
    """Seed Newton from a table of ``T(y)`` per distinct mode (many times share one mode).

    ``key`` holds one row ``(s, side, T0, y_hi, y_lo)`` per mode, ``mode`` the row of each
    entry and ``v = T0 + target`` its target value of ``T``. For each distinct key the time
    integral is tabulated at ``_GUESS_GRID`` points of ``y``: half equally spaced in ``a`` from
    ``a0`` towards ``c`` (the plateau, where ``T`` is steep in ``y``) and half equally spaced in
    ``y`` down to ``lo`` (the approach to the fixed point, where ``T`` is linear in ``y``).
    Each target then gets the bracket of its two neighbouring table points and the cubic (Hermite)
    interpolation of ``y(T)`` between them as first guess. Pure speed: the bracket is exact (``T``
    is monotone), so Newton's result does not depend on it beyond rounding (a relative 1e-13 in
    ``u``). Returns the guess, the narrowed bracket ``lo, hi`` and ``ok`` (the entries the table
    brackets; elsewhere the guess is meaningless and the bracket unchanged), or None when there are
    fewer than 4 entries per distinct mode (a table would not pay).

    ``table`` (optional): the seed table of every mode, from :class:`_InversionSetup`; ``mode`` then holds the
    mode id of each entry (``key`` is unused).
    """
    if table is None:
        uniq, inv = _unique_rows(key)
        if uniq.shape[0] * 4 > v.size:
            return None
        inv = inv.ravel()[mode]
        yg, Tg, dydT = _seed_table(*uniq.T, D)
        sorted_rows = None
    else:  # rows for every mode (rows of equal keys are equal): the same values as the table of the distinct keys
        yg, Tg, dydT, row_sorted, uid = table
        present = np.zeros(uid.size, dtype=bool)
        present[mode] = True
        if np.unique(uid[present]).size * 4 > v.size:
            return None
        inv = mode
        sorted_rows = bool(np.all(row_sorted[present]))
    # F = T - v increases along the table (T decreases with y); j: the first table point with F >= 0
    if np.isfinite(v).all():
        if sorted_rows is None:
            sorted_rows = np.all(Tg[:, 1:] >= Tg[:, :-1])  # (T decreases with y) up to rounding: then a binary search
        below = _count_below_sorted(Tg, inv, v) if sorted_rows else _count_below(Tg, inv, v)
    else:  # pragma: no cover - T0 + target is finite for every entry that reaches Newton
        below = np.sum(Tg[inv] - v[:, None] < 0, axis=1)
    j = np.clip(below, 1, yg.shape[1] - 1)
    y_hi_b, y_lo_b = yg[inv, j - 1], yg[inv, j]
    F_hi, F_lo = Tg[inv, j - 1] - v, Tg[inv, j] - v
    ok = (F_hi < 0) & (F_lo >= 0)
    w = np.where(ok, -F_hi / np.where(ok, F_lo - F_hi, 1.0), 0.5)
    # cubic Hermite interpolation of the inverse y(T) between the two table points, from their values and
    # slopes dy/dT = -a^{D-1} sum_k c^{D-1-k} a^k (the Newton step's dT/dy, inverted): its error is fourth
    # order in the table's spacing, so Newton needs one step fewer than from the linear interpolation
    # (which stays the guess where the cubic leaves the bracket)
    h = np.where(ok, F_lo - F_hi, 1.0)
    w2 = w * w
    w3 = w2 * w
    guess = ((2 * w3 - 3 * w2 + 1) * y_hi_b + (w3 - 2 * w2 + w) * h * dydT[inv, j - 1]
             + (3 * w2 - 2 * w3) * y_lo_b + (w3 - w2) * h * dydT[inv, j])
    linear = y_hi_b + w * (y_lo_b - y_hi_b)
    guess = np.where((guess <= y_hi_b) & (guess >= y_lo_b), guess, linear)
    hi = np.where(ok, np.minimum(hi, y_hi_b), hi)
    lo = np.where(ok, np.maximum(lo, y_lo_b), lo)
    return guess, lo, hi, ok


def _mode_setup(sm, am, D):
    """What :func:`_invert_time_integral` needs of each mode ``(s, a0)`` alone: ``c``, the side of approach,
    whether ``a0 = c``, the bracket ``[lo, y_hi]``, ``T(a0)``, ``T(lo)`` and the first guess's constants."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        c = sm ** (1.0 / D)
        side = np.where(am < c, 1.0, -1.0)
        fixed = am == c  # already at the fixed point
        y_hi = np.log(np.where(fixed, 1.0, np.abs(c - am)))
        y_lo = np.log(c) - 60.0 * np.log(2.0)
        T0 = _time_integral(am, sm, D)  # a0 = c gives -inf (never used)
        lo = np.minimum(y_lo, y_hi)  # F(lo) >= 0 or a = c to machine precision; F(y_hi) = -target <= 0
        Tlo, _ = _time_integral_y(lo, side, sm, c, D)
        # First guess from the two asymptotic regimes of tau da/dt = a^{D-1}(s - a^D): far below c,
        # a^{2-D} = a0^{2-D} - (D-2) s t; near c, y = log|c - a| falls at the rate D s^2/c^2.
        rate = D * sm * sm / (c * c)
        half = np.where(side > 0, np.maximum(am, 0.5 * c), am)
        a0_pow = am ** (2.0 - D)
        t_half = np.where(side > 0, (a0_pow - half ** (2.0 - D)) / ((D - 2.0) * sm), 0.0)
        y_half = np.log(np.abs(c - half))
        c_pow = [c ** (D - 1 - k) for k in range(D)]
    return c, side, fixed, y_hi, lo, T0, Tlo, rate, y_half, a0_pow, t_half, c_pow


class _InversionSetup:
    """The part of the depth >= 3 inversion (:func:`mode_strength`) that depends on the modes alone, for a
    fixed set of modes ``(s, u0)`` evaluated at many times, as :class:`DeepLinearTheory` does: per mode
    ``c = s^{1/D}``, ``T(a0)``, the bracket and the first guess's constants, and the Newton seed table of
    every mode. Computed once; each evaluation then does only the per-time work. The results are the
    same, bit for bit, as without it (the same operations on the same values)."""

    def __init__(self, s, u0, D: int):
        self.D = D
        self.s_key, self.u0_key = np.array(s, dtype=float), np.array(u0, dtype=float)
        sb, ub = np.broadcast_arrays(self.s_key, self.u0_key)
        self.s = sb.ravel()
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            a0 = ub.ravel() ** (1.0 / D)
            self.per_mode = _mode_setup(self.s, a0, D)
            c, side, fixed, y_hi, lo, T0 = self.per_mode[:6]
            key = np.stack([self.s, side, T0, y_hi, lo], axis=1)
            _, uid = _unique_rows(key)
            yg, Tg, dydT = _seed_table(*key.T, D)
            row_sorted = np.all(Tg[:, 1:] >= Tg[:, :-1], axis=1)
        self.table = (yg, Tg, dydT, row_sorted, uid.ravel())

    def fits(self, s, u0, D: int) -> bool:
        """Whether this setup was made for these modes ``(s, u0)`` and this depth."""
        return (D == self.D and np.shape(s) == self.s_key.shape and np.shape(u0) == self.u0_key.shape
                and np.array_equal(s, self.s_key) and np.array_equal(u0, self.u0_key))


def _invert_time_integral(target, s, a0, D, mode=None, setup=None):
    r"""Solve ``T(a) - T(a0) = target`` for ``a`` between ``a0`` and ``c = s^{1/D}`` (D >= 3), vectorised.

    Works in ``y = log|c - a|``: near the fixed point ``T ~ -(c^2/(D s^2)) y`` is linear in
    ``y``, so Newton converges fast at every time, and far from it the iteration is
    kept inside a bracket ``[y_lo, y_hi]`` (bisection whenever a Newton step leaves it).
    ``y_hi = log|c - a0|`` (t = 0); ``y_lo = log c - 60 ln 2`` (``a`` equals ``c`` to
    double precision below it). ``dT/dy = -side e^y / (a^{D-1} (s - a^D))`` is negative
    in both directions of approach (``side = +1`` from below, ``-1`` from above), so
    ``F(y) = T - T0 - target`` decreases with ``y`` and the bracket update is one rule.
    Returns ``a`` (same shape); ``target = inf`` gives ``c``; ``a0 = c`` stays there.

    ``mode`` (optional, integers >= 0 of the same shape): entries with the same id have the same
    ``(s, a0)`` (one mode at several times). What depends on the mode alone (``c``, ``T(a0)``,
    the bracket, the seed table) is then computed once per mode, not once per entry.
    ``setup`` (optional, with ``mode``): an :class:`_InversionSetup` of the modes the ids index, whose
    per-mode values are used instead of computing them here (the same values, bit for bit).
    """
    target, s, a0 = np.broadcast_arrays(target, s, a0)
    shape = s.shape
    target, s, a0 = target.ravel(), s.ravel(), a0.ravel()
    if mode is None:  # every entry its own mode
        first = inv = np.arange(s.size)
    else:  # the ids (integers >= 0) present, renumbered 0, 1, ...; first: one entry of each
        mode = np.ravel(mode)
        present = np.zeros(int(mode.max()) + 1 if mode.size else 0, dtype=bool)
        present[mode] = True
        inv = (np.cumsum(present) - 1)[mode]
        first = np.empty(int(present.sum()), dtype=np.intp)
        first[inv] = np.arange(mode.size)
    if setup is None:
        sm = s[first]
        per_mode = _mode_setup(sm, a0[first], D)
    else:  # the modes' part computed once (:class:`_InversionSetup`), for the ids present here, in the same order
        ids = np.flatnonzero(present)
        sm = setup.s[ids]
        per_mode = tuple(x[ids] for x in setup.per_mode[:-1]) + ([x[ids] for x in setup.per_mode[-1]],)
    c, side, fixed, y_hi, lo, T0, Tlo, rate, y_half, a0_pow, t_half, c_pow = per_mode
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        # per entry: Newton on the entries that are neither at c, at t = 0 nor closer to c than one ulp
        tgt = np.where(np.isinf(target), 0.0, target)
        active = ~(fixed[inv] | np.isinf(target)) & (tgt > 0)
        beyond = active & (Tlo[inv] - T0[inv] - tgt < 0)  # the solution is closer to c than one ulp
        active &= ~beyond
        idx = np.flatnonzero(active)
        g = inv[idx]  # the mode of each unconverged entry
        tgtf, sf, cf, sidef, T0f = tgt[idx], sm[g], c[g], side[g], T0[g]
        hif, lof = y_hi[g], lo[g]

        def asymptotic(sel):  # the first guess of the entries idx[sel], clipped into their bracket
            tg, gs = tgtf[sel], g[sel]
            base = a0_pow[gs] - (D - 2.0) * sf[sel] * tg
            a_far = np.where(base > 0, base, np.inf) ** (1.0 / (2.0 - D))
            y_far = np.log(np.abs(cf[sel] - a_far))
            th = t_half[gs]
            y_near = y_half[gs] - rate[gs] * (tg - th)
            y0 = np.where((sidef[sel] > 0) & (tg < th), y_far, y_near)
            return np.clip(np.where(np.isfinite(y0), y0, hif[sel]), lof[sel], hif[sel])

        seeded = None
        if idx.size >= 4 * _GUESS_GRID and setup is not None:
            seeded = _tabulated_guess(lof, hif, None, ids[g], T0f + tgtf, D, table=setup.table)
        elif idx.size >= 4 * _GUESS_GRID:
            present = np.zeros(sm.size, dtype=bool)
            present[g] = True
            rows = np.cumsum(present) - 1  # the row of each present mode in the key table
            key = np.stack([sm, side, T0, y_hi, lo], axis=1)[present]
            seeded = _tabulated_guess(lof, hif, key, rows[g], T0f + tgtf, D)
        if seeded is None:  # no table: every entry starts from the asymptotic guess
            yf = asymptotic(slice(None))
        else:  # the table's guess where it brackets the target, else the asymptotic one (its bracket unchanged)
            yf, lo_t, hi_t, ok = seeded
            miss = np.flatnonzero(~ok)
            if miss.size:
                yf[miss] = asymptotic(miss)
            lof, hif = lo_t, hi_t
        # iterate on the unconverged entries only, so the cost follows the hard ones
        y = np.empty(idx.size)
        at = np.arange(idx.size)  # position of each unconverged entry in y
        for _ in range(NEWTON_MAXITER):
            if at.size == 0:
                break
            T, a = _time_integral_y(yf, sidef, sf, cf, D)
            F = T - T0f - tgtf
            # dT/dy = -side e^y / (a^{D-1} (s - a^D)), with s - a^D = (c - a) sum_k c^{D-1-k} a^k
            # written without the cancellation of s - a^D near the fixed point
            a_pow = [a**k for k in range(D)]
            dF = -1.0 / (a_pow[D - 1] * sum(c_pow[k][g] * a_pow[k] for k in range(D)))
            hif = np.where(F < 0, yf, hif)
            lof = np.where(F > 0, yf, lof)
            step = F / dF
            # converged when the Newton step is below rounding of y (checked before the
            # safeguard: at the root a step of rounding size may point just outside the bracket)
            scale = np.maximum(1.0, np.abs(yf))
            noise = np.abs(F) <= 16 * _EPS * (np.abs(T) + np.abs(T0f) + tgtf)  # F is rounding noise
            y_new = yf - step
            bad = ~np.isfinite(y_new) | (y_new <= lof) | (y_new >= hif)
            # Newton converges quadratically: after a step below NEWTON_LAST_STEP the error is
            # ~ (curvature) * step^2 < 1e-15, so that step is taken and the entry is done
            last = ~bad & (np.abs(step) <= NEWTON_LAST_STEP * scale)
            done = noise | last | (hif - lof <= NEWTON_YTOL * scale)
            yf = np.where(noise, yf, np.where(bad & ~done, 0.5 * (lof + hif), np.where(bad, yf, y_new)))
            y[at[done]] = yf[done]
            keep = ~done
            at, g, yf, lof, hif = at[keep], g[keep], yf[keep], lof[keep], hif[keep]
            sf, cf, sidef, T0f, tgtf = sf[keep], cf[keep], sidef[keep], T0f[keep], tgtf[keep]
    if at.size:  # cannot happen for finite input (the bracket halves at least every other step)
        raise RuntimeError("time-integral inversion did not converge")
    c_e = c[inv]
    fixed_e = fixed[inv]
    out = np.where(np.isinf(target) | beyond | fixed_e, np.where(fixed_e, a0, c_e), a0)
    out[idx] = c_e[idx] - side[inv[idx]] * np.exp(y)
    return out.reshape(shape)


def learning_time(s, u0, u_final, depth: int = 2, tau: float = 1.0):
    r"""Time for one mode to go from ``u0`` to ``u_final`` (Saxe et al. 2014, Eq. 9).

    * D = 1: ``t = tau ln[(s - u0)/(s - u_final)]``
    * D = 2: ``t = tau/(2s) ln[u_final (s - u0) / (u0 (s - u_final))]``
    * D >= 3: ``t = tau [T(a_f) - T(a_0)]`` with ``a = u^{1/D}`` (:func:`time_integral`).

    ``u_final`` must lie between ``u0`` and ``s`` (inclusive of ``u0``; ``u_final = s``
    gives ``inf``); otherwise it is never reached and a ValueError is raised.
    """
    D = _check_depth(depth)
    tau = _check_tau(tau)
    s = as_array(s, "s", low=0.0, open_low=True)
    u0 = as_array(u0, "u0")
    uf = as_array(u_final, "u_final")
    try:
        s, u0, uf = np.broadcast_arrays(s, u0, uf)
    except ValueError:
        raise ValueError(f"s, u0 and u_final must broadcast together, got shapes {s.shape}, {u0.shape}, "
                         f"{uf.shape}") from None
    _check_reachable(s, u0, uf, D)
    return _learning_time(s, u0, uf, D, tau)


def _check_reachable(s, u0, uf, D: int) -> None:
    """The domain of :func:`learning_time`: ``s > 0``, ``u0 > 0`` (D >= 2) and ``u_final`` between ``u0`` and ``s``."""
    if np.any(s <= 0):
        raise ValueError("learning_time needs positive singular values s")
    if D >= 2 and np.any(u0 <= 0):
        raise ValueError("for depth >= 2, u0 must be positive (u0 = 0 is a fixed point)")
    between = ((u0 <= uf) & (uf <= s)) | ((s <= uf) & (uf <= u0))
    if not np.all(between):
        raise ValueError("u_final must lie between u0 and s; other values are never reached")


def _learning_time(s, u0, uf, D: int, tau: float):
    """:func:`learning_time` for trusted arrays of one shape in its domain (:func:`_check_reachable`)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if D == 1:
            t = tau * np.log((s - u0) / (s - uf))
        elif D == 2:
            t = tau / (2 * s) * np.log(uf * (s - u0) / (u0 * (s - uf)))
        else:
            t = tau * (_time_integral(uf ** (1.0 / D), s, D) - _time_integral(u0 ** (1.0 / D), s, D))
        bad = ~np.isfinite(t) & (uf != s) & (uf != u0)
        if D <= 2 and bad.any():  # a product or difference overflowed (values near the float range): in logs
            if D == 1:
                t_log = tau * (np.log(0.5 * s - 0.5 * u0) - np.log(0.5 * s - 0.5 * uf))
            else:
                t_log = (0.5 * tau / s) * (np.log(uf) + np.log(s - u0) - np.log(u0) - np.log(s - uf))
            t = np.where(bad, t_log, t)
    t = np.where(uf == u0, 0.0, np.where(uf == s, np.inf, t))
    return t


def mode_rate(s, depth: int = 2, tau: float = 1.0):
    r"""Linearised relaxation rate at the fixed point: ``D s^{2-2/D} / tau``.

    Near ``u = s``, ``tau d(u-s)/dt = -D s^{2-2/D} (u - s)``. Full-batch gradient
    descent on a decoupled mode is stable for ``lr * rate < 2``.
    """
    D = _check_depth(depth)
    return _mode_rate(as_array(s, "s", low=0.0), D, _check_tau(tau))


def _mode_rate(s, D: int, tau: float):
    return D * s ** (2.0 - 2.0 / D) / tau


@dataclass(frozen=True)
class _Whitening:
    c: float


def _isotropy(Sxx: np.ndarray) -> float:
    c = float(np.trace(Sxx) / Sxx.shape[0])
    if not c > 0:
        raise ValueError("X is all zeros (Sxx = 0): there is nothing to learn from; DeepLinearTheory needs "
                         "whitened (Sxx = I) or isotropic (Sxx = c I, c > 0) input")
    dev = np.max(np.abs(Sxx - c * np.eye(Sxx.shape[0])))
    if not np.isfinite(c) or dev > ISOTROPY_RTOL * c:
        raise ValueError(
            "DeepLinearTheory needs whitened (Sxx = X X^T/P = I) or isotropic (Sxx = c I) input; "
            f"here max|Sxx - cI| = {dev:.3g} with c = {c:.3g}. Whiten first: with "
            "Sxx = E diag(l) E^T, use X_w = diag(l)^{-1/2} E^T X (needs P >= N_in), "
            "and fit Y against X_w."
        )
    return c


class DeepLinearTheory:
    r"""Exact learning dynamics of a depth-D linear network on data (X, Y).

    Does the SVD ``Syx = U diag(s) V^T`` once. Every mode starts at strength ``u0``
    (scalar or one per mode) and follows :func:`mode_strength`; with
    ``Sxx = c I`` strength ``s`` becomes ``s/c`` and time ``c t`` (module docstring).

    Parameters
    ----------
    X : (N_in, P) inputs, columns are samples; Sxx must be c*I.
    Y : (N_out, P) targets.
    depth : number of weight matrices D >= 1.
    u0 : initial strength of every mode (scalar) or of each mode (shape (n_modes,)),
        ``n_modes = min(N_in, N_out)``. Small ``u0`` approximates small random init.
    tau : time constant.

    Attributes
    ----------
    U : (N_out, n_modes), s : (n_modes,) singular values of Syx (descending),
    V : (N_in, n_modes), c : the isotropic input variance (1 for whitened input).
    """

    def __init__(self, X, Y, depth: int = 2, u0=1e-3, tau: float = 1.0):
        X = as_array(X, "X", ndim=2)  # finite: a NaN/inf here would hang LAPACK's SVD
        Y = as_array(Y, "Y", ndim=2)
        check_same("X", X.shape[1], "Y", Y.shape[1], "number of samples (columns)")
        self.depth = _check_depth(depth)
        self.tau = _check_tau(tau)
        Sxx, self.Syx, self.trSyy = _core.correlations(X, Y)
        self.c = _isotropy(Sxx)
        self.X, self.Y, self.P = X, Y, X.shape[1]
        U, s, Vt = np.linalg.svd(self.Syx, full_matrices=False)
        self.U, self.s, self.V = U, s, Vt.T
        self.n_modes = s.size
        u0 = as_array(u0, "u0", ndim=(0, 1), low=0.0 if self.depth >= 2 else None)
        if u0.ndim == 1 and u0.size != self.n_modes:
            raise ValueError(f"u0 must be a scalar or have one entry per mode ({self.n_modes}), got {u0.size}")
        self.u0 = np.broadcast_to(u0, (self.n_modes,)).copy()

    @property
    def Syy_trace(self) -> float:
        """Former name of :attr:`trSyy` (``tr(Y Y^T)/P``, as in :func:`idealnets.theory.tasks.correlations`)."""
        return self.trSyy

    # -- mode level -------------------------------------------------------
    @property
    def u_final(self) -> np.ndarray:
        """Fixed point of each mode strength, ``s / c``."""
        return self.s / self.c

    def mode_strengths(self, t) -> np.ndarray:
        """``u_alpha(t)``, shape ``t.shape + (n_modes,)`` (:func:`mode_strength`, rescaled by c)."""
        t = as_times(t)
        s = self.s / self.c
        setup = None
        if self.depth >= 3:  # the modes' part of the inversion, once per object (rebuilt if u0 was changed)
            setup = getattr(self, "_inversion", None)
            if setup is None or not setup.fits(s, self.u0, self.depth):
                setup = self._inversion = _InversionSetup(s, self.u0, self.depth)
        return _mode_strength(self.c * t[..., None], s, self.u0, self.depth, self.tau, setup=setup)

    def learning_times(self, fraction: float = 0.5) -> np.ndarray:
        """Time for each mode to reach ``fraction`` of its final strength (:func:`learning_time`)."""
        fraction = as_float(fraction, "fraction", low=0.0, high=1.0, open_low=True, open_high=True)
        s, u0, uf = np.broadcast_arrays(self.s / self.c, self.u0, fraction * self.u_final)
        _check_reachable(s, u0, uf, self.depth)
        return _learning_time(s, u0, uf, self.depth, self.tau) / self.c

    def stable_lr(self) -> float:
        """The stable learning rate: the largest full-batch GD learning rate that is stable near convergence,
        ``2 / (c * rate(s_max/c))`` (:func:`mode_rate`). Formerly ``max_learning_rate`` (deprecated alias).
        ``inf`` for D >= 2 when ``Syx = 0`` (every mode's rate is 0 at its fixed point 0)."""
        rate = self.c * _mode_rate(self.s[0] / self.c, self.depth, self.tau)
        return float(2.0 / rate) if rate > 0 else float("inf")

    max_learning_rate = deprecated_alias(stable_lr, "max_learning_rate")

    # -- builders ---------------------------------------------------------
    def map(self, t) -> np.ndarray:
        """Total map ``W_D...W_1(t) = U diag(u(t)) V^T``, shape ``t.shape + (N_out, N_in)``."""
        u = self.mode_strengths(t)
        return (self.U * u[..., None, :]) @ self.V.T

    def loss(self, t) -> np.ndarray:
        r"""Training loss ``L(t) = tr(Syy)/2 - sum_a s_a u_a + (c/2) sum_a u_a^2`` (exact for W = U A V^T)."""
        u = self.mode_strengths(t)
        return 0.5 * self.trSyy - u @ self.s + 0.5 * self.c * np.sum(u**2, axis=-1)

    def weights(self, t, hidden: int | None = None, seed: int = 0) -> list[np.ndarray]:
        r"""Balanced layer weights ``W_l(t) = R_l A(t)^{1/D} R_{l-1}^T`` (``R_0 = V``, ``R_D = U``).

        ``R_1..R_{D-1}`` are random (hidden x n_modes) orthonormal frames, the free
        rotations of the hidden layers (``hidden >= n_modes``, default n_modes).
        Returns D arrays of shape ``t.shape + (n_l, n_{l-1})``.
        """
        hidden = self.n_modes if hidden is None else as_int(hidden, "hidden", low=1)
        if hidden < self.n_modes:
            raise ValueError(f"hidden width {hidden} < number of modes {self.n_modes}")
        t_size = np.size(as_times(t))
        sizes = [self.V.shape[0]] + [hidden] * (self.depth - 1) + [self.U.shape[0]]
        entries = t_size * sum(a * b for a, b in zip(sizes[1:], sizes[:-1])) + hidden * self.n_modes
        if entries > MAX_ENTRIES:
            raise ValueError(f"hidden = {hidden} with depth {self.depth} and {t_size} times would make weight arrays "
                             f"of {entries:.3g} entries in all, more than MAX_ENTRIES = {MAX_ENTRIES}; use a smaller "
                             "hidden width or fewer times")
        rng = np.random.default_rng(as_seed(seed))
        frames = [self.V]
        for _ in range(self.depth - 1):
            q, _ = np.linalg.qr(rng.standard_normal((hidden, self.n_modes)))
            frames.append(q)
        frames.append(self.U)
        a = self.mode_strengths(t) ** (1.0 / self.depth)
        return [np.einsum("ia,...a,ja->...ij", frames[l + 1], a, frames[l]) for l in range(self.depth)]


# ---------------------------------------------------------------------------
# Small random initialisation: the effective initial strength (depth 2)
# ---------------------------------------------------------------------------
def effective_u0_two_layer(W1, W2, U, V):
    r"""Effective initial strength of each mode for a *random* two-layer initialisation.

    For small weights the cubic terms of the gradient flow are negligible and, with
    ``Syx = sum_a s_a U_a V_a^T``, the vectors ``p_a = W1 V_a`` and ``q_a = W2^T U_a``
    (both in hidden space) obey the linear system (derived here; cf. Saxe et al. 2014,
    Sec. 2, and Saxe et al. 2019, SI)

    .. math::

        \tau \dot p_a = s_a q_a, \qquad \tau \dot q_a = s_a p_a
        \;\Rightarrow\; p_a + q_a \propto e^{s_a t/\tau},\; p_a - q_a \propto e^{-s_a t/\tau},

    so ``u_a = q_a . p_a = (|p_a+q_a|^2 - |p_a-q_a|^2)/4`` approaches
    ``|p_a(0)+q_a(0)|^2/4 * e^{2 s_a t/tau}``: the small-``u0`` limit of the sigmoid
    (:func:`mode_strength`, D = 2) with

    .. math:: u_0^{\rm eff} = \tfrac14 |W_1(0) V_a + W_2(0)^T U_a|^2 .

    This is *not* the initial projection ``U_a^T W_2 W_1 V_a = q_a . p_a``, which has a
    random sign and is smaller by a factor ~ sqrt(hidden width): the hidden
    representation first aligns (the decaying ``p - q`` part) and only the aligned part
    grows. Valid for ``u0_eff << s_a`` and isotropic input (c cancels: ``Syx`` enters
    directly). Modes are independent in this phase because the ``V_a`` (``U_a``) are
    orthonormal.

    Shapes: ``W1 (..., h, N_in)``, ``W2 (..., N_out, h)``, ``U (N_out, r)``, ``V (N_in, r)``;
    returns ``(..., r)``.
    """
    W1, W2 = as_array(W1, "W1", ndim=range(2, 64)), as_array(W2, "W2", ndim=range(2, 64))
    U, V = as_array(U, "U", ndim=2), as_array(V, "V", ndim=2)
    if W1.shape[-1] != V.shape[0] or W2.shape[-2] != U.shape[0] or W1.shape[-2] != W2.shape[-1]:
        raise ValueError(f"shapes do not chain: W1 {W1.shape}, W2 {W2.shape}, U {U.shape}, V {V.shape}")
    check_same("U", U.shape[1], "V", V.shape[1], "number of modes (columns)")  # else one would broadcast
    p = W1 @ V  # (..., h, r)
    q = np.swapaxes(W2, -1, -2) @ U  # (..., h, r)
    return 0.25 * np.sum((p + q) ** 2, axis=-2)


def u0_through(s, t1, u1, depth: int, tau: float = 1.0):
    r"""Initial strength of the decoupled trajectory that passes through ``u1`` at time ``t1``.

    Solves ``learning_time(s, u0, u1, D) = t1`` for ``u0`` (monotone in ``u0``; bracketing
    root search in ``log u0``). Used to match one point of a trajectory whose early phase
    the decoupled theory does not describe (small random init at D >= 3), so that the rest
    is a prediction. Needs ``0 < u1 < s`` and ``t1 >= 0``; broadcasts over its arguments.
    """
    from scipy.optimize import brentq

    D = _check_depth(depth)
    tau = _check_tau(tau)
    s, t1, u1 = np.broadcast_arrays(as_array(s, "s", low=0.0, open_low=True), as_times(t1, "t1", allow_inf=False),
                                    as_array(u1, "u1"))
    if np.any(u1 <= 0) or np.any(u1 >= s) or np.any(t1 < 0):
        raise ValueError("u0_through needs 0 < u1 < s and t1 >= 0")
    out = np.empty(s.shape)
    for i in np.ndindex(s.shape):
        si, ti, ui = float(s[i]), float(t1[i]), float(u1[i])
        if ti == 0:
            out[i] = ui
            continue
        if D == 1:
            out[i] = si - (si - ui) * np.exp(ti / tau)  # may be negative: linear dynamics
            continue
        s_a, u_a = np.asarray(si), np.asarray(ui)  # 0 < exp(lu) < u1 < s: inside learning_time's domain
        f = lambda lu: float(_learning_time(s_a, np.asarray(np.exp(lu)), u_a, D, tau)) - ti  # noqa: E731
        lo = np.log(ui) - 1.0
        while f(lo) < 0:
            lo -= 10.0
            if lo < -700:
                raise ValueError("no positive initial strength reaches u1 by t1")
        out[i] = np.exp(brentq(f, lo, np.log(ui) - 1e-12, xtol=1e-13))
    return out


def balancedness(weights, W2=None):
    r"""The balancedness ``W_{l+1}^T W_{l+1} - W_l W_l^T``, conserved by gradient flow.

    From ``tau dW_l/dt = -dL/dW_l`` with ``L`` a function of the product only,
    ``d/dt (W_{l+1}^T W_{l+1}) = d/dt (W_l W_l^T)`` for any data and any ``Sxx`` (Fukumizu 1998;
    Saxe et al. 2014; Du et al. 2018; Arora et al. 2018, Thm. 1). Decoupled and orthogonal
    initialisations have it zero; small random ones have it small; a lambda-balanced pair has
    ``B = lambda I`` (:mod:`idealnets.theory.lambda_balanced`). Under gradient *descent* with
    step ``lr`` it drifts by ``O(lr^2)`` per step.

    Two forms:

    * ``balancedness(weights)``: D layers as one sequence ``[W_1, ..., W_D]`` (layer 1 first,
      each ``(..., n_l, n_{l-1})``) -> the list of the D-1 arrays ``(..., n_l, n_l)``, l = 1..D-1;
    * ``balancedness(W1, W2)``: a two-layer network, ``W1`` (..., N_h, N_in), ``W2``
      (..., N_out, N_h) -> the one array ``B = W2^T W2 - W1 W1^T`` (..., N_h, N_h)
      (``= balancedness([W1, W2])[0]``).

    Leading (ensemble, time) axes broadcast.
    """
    if W2 is None:
        Ws = _check_weights(weights)
        for l in range(len(Ws) - 1):
            if Ws[l + 1].shape[-1] != Ws[l].shape[-2]:
                raise ValueError(f"weights[{l + 1}] has {Ws[l + 1].shape[-1]} inputs but weights[{l}] has "
                                 f"{Ws[l].shape[-2]} outputs")
        return _core.balancedness(Ws)
    W1, W2 = as_array(weights, "W1", ndim=range(2, 64)), as_array(W2, "W2", ndim=range(2, 64))
    if W1.shape[-2] != W2.shape[-1]:
        raise ValueError(f"W1 has {W1.shape[-2]} hidden units but W2 has {W2.shape[-1]}")
    return _core.balancedness([W1, W2])[0]


# ---------------------------------------------------------------------------
# Depth and initialisation (Saxe, Nelli & Summerfield 2021, Fig. 4c; Saxe et al. 2014, Secs. 3-5)
# ---------------------------------------------------------------------------
DEPTH_INITS = ("small", "pretrained", "orthogonal")


def depth_learning_rate(s_max, depth: int, kappa: float = 0.5, tau: float = 1.0) -> float:
    r"""The learning rate prescribed at depth D: ``lr = kappa * 2 / (D s_max^{2-2/D})``.

    ``2 / (D s^{2-2/D})`` is the stable limit of full-batch GD at the balanced solution
    (:func:`mode_rate`); it scales as 1/D (Saxe et al. 2014, Sec. 3: "the optimal
    learning rate scales as O(1/N_l)"). ``kappa`` in (0, 1) is the fraction of that
    limit, held fixed across depths. Whitened input.
    """
    kappa = as_float(kappa, "kappa (a fraction of the stable limit)", low=0.0, high=1.0, open_low=True,
                     open_high=True)
    s_max = as_float(s_max, "s_max", low=0.0, open_low=True)
    with np.errstate(over="ignore", divide="ignore"):
        lr = _depth_learning_rate(s_max, _check_depth(depth), kappa, _check_tau(tau))
    if not np.isfinite(lr):
        raise ValueError(f"s_max = {s_max:g} is so small that the learning rate 2 kappa / (D s_max^(2-2/D)) overflows "
                         "float64")
    return lr


def _depth_learning_rate(s_max: float, D: int, kappa: float, tau: float) -> float:
    return float(kappa * 2.0 / _mode_rate(np.asarray(s_max), D, tau))


def _chain_final_c(u_final: float, D: int, k: float) -> float:
    from scipy.optimize import brentq

    f = lambda c: (c * c + k) ** ((D - 1) / 2.0) * c - u_final  # noqa: E731
    hi = max(1.0, u_final)
    while f(hi) < 0:
        hi *= 2
    return brentq(f, -1.0 if u_final < 0 else 0.0, hi, xtol=1e-15, rtol=1e-14)


def pretrained_learning_time(s, u_final, depth: int, c0=0.0, b0: float = 1.0, tau: float = 1.0):
    r"""Fine-tuning time of one mode after greedy layerwise pretraining (unbalanced chain).

    After linear-autoencoder pretraining on whitened input every hidden layer is an
    isometry (gain ``b0 = 1`` along each mode) and the freshly initialised readout has
    a small gain ``c0`` (Saxe et al. 2014, Sec. 4, with the readout left untrained).
    Along one mode the D-1 hidden gains stay equal (``b``), the readout gain is ``c``,
    ``u = b^{D-1} c``, and gradient flow conserves ``b^2 - c^2 = b0^2 - c0^2 =: k``
    (:func:`balancedness`). Hence

    .. math::

        \tau \dot c = b^{D-1}(s - b^{D-1} c),\quad b = \sqrt{c^2 + k},\qquad
        t = \tau \int_{c_0}^{c_f} \frac{dc}{(c^2+k)^{(D-1)/2}\,(s - (c^2+k)^{(D-1)/2} c)},

    with ``c_f`` the root of ``(c^2+k)^{(D-1)/2} c = u_final`` (derived here; a 1-D
    quadrature, exact for this chain). D = 1 reduces to the exponential,
    ``t = tau ln[(s - c0)/(s - u_final)]``. Requires ``u(0) < u_final < s``.
    Broadcasts over ``s``, ``u_final``, ``c0``.
    """
    D = _check_depth(depth)
    tau = _check_tau(tau)
    b0 = as_float(b0, "b0", low=0.0, open_low=True)
    s, uf, c0 = np.broadcast_arrays(as_array(s, "s", low=0.0, open_low=True), as_array(u_final, "u_final"),
                                    as_array(c0, "c0"))
    return _pretrained_learning_time(s, uf, c0, D, b0, tau)


def _pretrained_learning_time(s, uf, c0, D: int, b0: float, tau: float):
    """:func:`pretrained_learning_time` for trusted arrays of one shape (its domain is checked here, per entry)."""
    from scipy.integrate import quad

    out = np.empty(s.shape)
    for i in np.ndindex(s.shape):
        si, ufi, ci = float(s[i]), float(uf[i]), float(c0[i])
        k = b0 * b0 - ci * ci
        if D >= 2 and k <= 0:
            raise ValueError("pretrained_learning_time needs hidden gain b0 > |c0|")
        u_init = (ci * ci + k) ** ((D - 1) / 2.0) * ci if D >= 2 else ci
        if not (si > 0 and u_init <= ufi < si):
            raise ValueError(f"need u(0) = {u_init:.4g} <= u_final = {ufi:.4g} < s = {si:.4g}")
        if D == 1:
            out[i] = tau * np.log((si - ci) / (si - ufi))
            continue
        cf = _chain_final_c(ufi, D, k)
        g = lambda c: 1.0 / ((c * c + k) ** ((D - 1) / 2.0) * (si - (c * c + k) ** ((D - 1) / 2.0) * c))  # noqa: E731
        val, _ = quad(g, ci, cf, epsabs=0.0, epsrel=1e-11, limit=200)
        out[i] = tau * val
    return out


def orthogonal_eigen_trajectory(t, lam0, s: float, depth: int, tau: float = 1.0):
    r"""Exact dynamics of a square deep linear network from balanced orthogonal layers, ``Syx = s Q``.

    If every layer is square and orthogonal, the init is balanced and the total map obeys
    (Arora, Cohen & Hazan 2018, Thm. 1)
    ``tau dM/dt = -sum_j (MM^T)^{(j-1)/D} (M - Syx) (M^T M)^{(D-j)/D}``. For a target
    ``Syx = s Q`` (Q orthogonal, all singular values equal; whitened input) the matrix
    ``N = Q^T M`` starts orthogonal, hence normal, stays normal, and each complex
    eigenvalue evolves alone (derived here):

    .. math::

        \tau \dot\lambda = -D |\lambda|^{2-2/D} (\lambda - s),\qquad
        \lambda(t) = s + (\lambda_0 - s)\rho(t),\quad
        \tau\dot\rho = -D \rho\, |s + (\lambda_0 - s)\rho|^{2-2/D},

    a straight line from ``lambda0 = e^{i theta}`` to ``s``. ``rho`` is integrated in
    ``log rho`` to 1e-11 relative accuracy (a 1-D ODE per eigenvalue; there is no
    elementary antiderivative). An eigenvalue at exactly -1 (``det Q^T M < 0`` forces
    one) moves along the real axis into the fixed point 0 and is never learned for D >= 2.

    ``t`` any shape (non-negative, ``inf`` allowed), ``lam0`` complex of any shape;
    returns complex ``t.shape + lam0.shape``.
    """
    from scipy.integrate import solve_ivp

    D = _check_depth(depth)
    tau = _check_tau(tau)
    t = as_times(t)
    lam0 = _check_eigenvalues(lam0)
    s = as_float(s, "s", low=0.0, open_low=True)
    d = (lam0 - s).ravel()
    p = 2.0 - 2.0 / D
    tf = t[np.isfinite(t)]
    t_end = float(tf.max()) if tf.size else 0.0
    log_rho = np.zeros((t.size, d.size))
    flat_t = t.ravel()
    finite = np.isfinite(flat_t)
    if t_end > 0:
        def rhs(_, y):
            return -D * np.abs(s + d * np.exp(y)) ** p / tau

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # LSODA's "repeated convergence failures": handled below
            sol = solve_ivp(rhs, (0.0, t_end), np.zeros(d.size), method="LSODA", rtol=1e-11, atol=1e-12,
                            dense_output=True)
        if sol.success:
            log_rho[finite] = sol.sol(flat_t[finite]).T
        else:
            # LSODA fails on very stiff flows (s ~ 1e12: rates ~ 1e16). BDF, stopped once every rho has
            # underflowed (log rho < -800: lambda = s exactly from there on), handles them
            def done(_, y):
                return np.max(y) + 800.0

            done.terminal, done.direction = True, -1
            sol = solve_ivp(rhs, (0.0, t_end), np.zeros(d.size), method="BDF", rtol=1e-11, atol=1e-12,
                            dense_output=True, events=done)
            if not sol.success:
                raise ValueError(f"s = {s:g} makes the eigenvalue flow too stiff to integrate (initial rate "
                                 f"~ D s^(2-2/D) / tau = {D * s ** p / tau:.3g}; {sol.message}); use a smaller s")
            tf_ = flat_t[finite]
            y = np.where((tf_ == 0)[:, None], 0.0, sol.sol(np.minimum(tf_, sol.t[-1])).T)
            log_rho[finite] = np.where((tf_ > sol.t[-1])[:, None], -np.inf, y)
    rho = np.exp(log_rho)
    rho[~finite] = 0.0
    lam = s + d[None, :] * rho
    return lam.reshape(t.shape + lam0.shape)


def orthogonal_learning_time(lam0, s: float, depth: int, delta: float = 0.01, tau: float = 1.0) -> float:
    r"""Time until the relative excess loss ``sum_k |lambda_k - s|^2 / (N s^2)`` reaches ``delta``.

    ``lam0`` holds the N eigenvalues of ``Q^T M(0)`` of one network
    (:func:`orthogonal_eigen_trajectory`). For D >= 2 an eigenvalue on the negative real axis (e.g. at -1)
    or at 0 moves into, or stays at, the fixed point 0 and is never learned; ``inf`` if there are at least
    ``delta N`` of them (the excess loss then stays above ``delta``). Integrated with LSODA (rtol 1e-10);
    many networks at once: :func:`orthogonal_learning_times`.
    """
    D = _check_depth(depth)
    tau = _check_tau(tau)
    s = as_float(s, "s", low=0.0, open_low=True)
    delta = as_float(delta, "delta", low=0.0, high=1.0, open_low=True, open_high=True)
    return _orthogonal_learning_time(_check_eigenvalues(lam0), s, D, delta, tau)


def orthogonal_learning_times(lam0, s: float, depth: int, delta: float = 0.01, tau: float = 1.0) -> np.ndarray:
    r""":func:`orthogonal_learning_time` of many networks at once: ``lam0`` of shape ``(..., N)`` holds the N
    eigenvalues of ``Q^T M(0)`` of each network; returns the learning times, shape ``lam0.shape[:-1]``.

    The eigenvalue flows of all networks are integrated as one stacked ODE (one LSODA solve, same
    tolerances as :func:`orthogonal_learning_time`) and each network's crossing of ``delta`` is located
    on its dense output, as the single solve's event is; the times agree with one solve per network to
    the integrator's tolerance (the stacked solve's steps are at most as long as each network's own).
    """
    D = _check_depth(depth)
    tau = _check_tau(tau)
    s = as_float(s, "s", low=0.0, open_low=True)
    delta = as_float(delta, "delta", low=0.0, high=1.0, open_low=True, open_high=True)
    lam = _check_eigenvalues(lam0)
    if lam.ndim < 1:
        raise ValueError("lam0 must have a last axis of eigenvalues (one row per network)")
    return _orthogonal_learning_times(lam.reshape(-1, lam.shape[-1]), s, D, delta, tau).reshape(lam.shape[:-1])


def _orthogonal_learning_time(lam0: np.ndarray, s: float, D: int, delta: float, tau: float) -> float:
    return float(_orthogonal_learning_times(lam0.reshape(1, -1), s, D, delta, tau)[0])


#: Largest time :func:`orthogonal_learning_time` integrates to (``inf`` when the criterion is not met by then)
_ORTHOGONAL_T_MAX = 1e6


def _orthogonal_learning_times(lam: np.ndarray, s: float, D: int, delta: float, tau: float) -> np.ndarray:
    """:func:`orthogonal_learning_times` for trusted ``lam`` of shape ``(n_networks, N)``: one LSODA solve of all
    the networks' flows ``tau d(log rho)/dt = -D |s + d rho|^{2-2/D}`` (``d = lambda0 - s``) stacked, stopped
    once every network has met the criterion; each network's first crossing is then found by root search on
    the solve's dense output within the step in which it crosses."""
    n, N = lam.shape
    d = lam - s
    a2 = np.abs(d) ** 2
    log_target = np.log(delta)
    out = np.zeros(n)
    todo = ~(np.sum(a2, axis=1) / (N * s * s) <= delta)
    # for D >= 2 an eigenvalue on the negative real axis (or at 0) moves into the fixed point 0 and never past it,
    # so it adds more than s^2 to the excess loss for ever: with n_0 of them the criterion is never met if
    # n_0 / N >= delta (inf); networks with such eigenvalues are solved apart, so that the others' solve stops
    # when they cross
    n0 = np.sum((lam.imag == 0) & (lam.real <= 0), axis=1) if D >= 2 else np.zeros(n, dtype=int)
    never = todo & (n0 >= delta * N)
    out[never] = np.inf
    todo &= ~never
    stuck = n0 > 0
    for rows in (np.flatnonzero(todo & ~stuck), np.flatnonzero(todo & stuck)):
        if rows.size:
            out[rows] = _orthogonal_crossings(d[rows], a2[rows], s, D, log_target, tau)
    return out


def _orthogonal_crossings(d, a2, s: float, D: int, log_target: float, tau: float) -> np.ndarray:
    """The first time at which ``log(sum_k a2_k rho_k^2 / (N s^2)) = log_target``, per row (networks that start
    above the criterion), of the stacked flows of :func:`_orthogonal_learning_times`; ``inf`` if not met by
    ``_ORTHOGONAL_T_MAX * tau``."""
    from scipy.integrate import solve_ivp
    from scipy.optimize import brentq

    m, N = d.shape
    out = np.empty(m)
    p = 2.0 - 2.0 / D
    dt, at = d.ravel(), a2

    def rhs(_, y):
        return -D * np.abs(s + dt * np.exp(y)) ** p / tau

    def crit(y):  # (m, ...) log relative excess loss minus log delta, per network
        y = y.reshape((m, N) + y.shape[1:])
        ex = at.reshape((m, N) + (1,) * (y.ndim - 2)) * np.exp(2 * y)
        with np.errstate(divide="ignore"):  # -inf once every rho of a network has underflowed
            return np.log(np.sum(ex, axis=1) / (N * s * s)) - log_target

    def event(_, y):  # every network has met the criterion
        return np.max(crit(y))

    event.terminal = True
    # the Jacobian is diagonal (the flows are independent): banded with no off-diagonals, should LSODA switch to BDF
    sol = solve_ivp(rhs, (0.0, _ORTHOGONAL_T_MAX * tau), np.zeros(m * N), method="LSODA", rtol=1e-10, atol=1e-12,
                    events=event, dense_output=True, lband=0, uband=0)
    G = crit(sol.y)  # (m, n_steps) at the solver's step ends
    for r in range(m):
        hit = np.flatnonzero(G[r] <= 0)
        if hit.size:
            i = hit[0]
        elif sol.status == 1:  # the last network to cross stopped the solve: at its end, up to rounding
            i = sol.t.size - 1
        else:
            out[r] = np.inf
            continue
        if G[r, i] == 0 or i == 0:
            out[r] = sol.t[i]
            continue
        interp = sol.sol.interpolants[i - 1]  # the step (t_{i-1}, t_i] in which network r crosses
        cols = slice(r * N, (r + 1) * N)

        def g(t, interp=interp, cols=cols, r=r):
            y = interp(t)[cols]
            return np.log(np.sum(at[r] * np.exp(2 * y)) / (N * s * s)) - log_target

        lo, hi = sol.t[i - 1], sol.t[i]
        g_lo, g_hi = g(lo), g(hi)
        if g_hi > 0:  # the interpolant at the step's end misses the crossing by rounding: take the step's end
            out[r] = hi
        elif g_lo <= 0:
            out[r] = lo
        else:
            out[r] = brentq(g, lo, hi, xtol=4 * _EPS, rtol=4 * _EPS)
    return out


def depth_learning_steps(
    depths,
    init: str,
    *,
    s: float,
    delta: float = 0.01,
    kappa: float = 0.5,
    gain: float = 0.5,
    c0: float = 0.0,
    ae_u0: float = 1e-3,
    ae_fraction: float = 0.99,
    lam0=None,
    count_pretraining: bool = True,
    tau: float = 1.0,
) -> np.ndarray:
    r"""Learning time in GD *steps* versus depth for three initialisations (Saxe, Nelli & Summerfield 2021, Fig. 4c).

    Held fixed across depths: whitened square data with ``Syx = s Q`` (every mode has
    strength ``s``); the criterion, relative excess loss ``||M - Syx||^2 / ||Syx||^2 <=
    delta`` (for a decoupled mode ``u >= (1 - sqrt(delta)) s``); the learning rate as a
    fixed fraction ``kappa`` of the depth-D stable limit, ``lr(D) =``
    :func:`depth_learning_rate` ``~ 1/D``; and per initialisation

    * ``"small"``: decoupled balanced modes with a fixed per-layer gain ``gain``,
      ``u0 = gain^D`` (Saxe et al. 2014, Sec. 3). Steps ~ ``gain^{-(D-2)}``: exponential in D.
    * ``"pretrained"``: greedy layerwise linear-autoencoder pretraining of the D-1 hidden
      layers, readout gain ``c0``; fine-tuning time from :func:`pretrained_learning_time`
      with hidden gain ``b0 = sqrt(ae_fraction)`` (a balanced autoencoder stopped at
      strength ``ae_fraction``; 1 for a fully converged one). With ``count_pretraining`` the D-1
      autoencoder stages are added, each a depth-2 network learning the identity from
      ``ae_u0`` to ``ae_fraction`` at ``lr = depth_learning_rate(1, 2, kappa)``:
      cost linear in D.
    * ``"orthogonal"``: balanced Haar-orthogonal layers, exact eigenvalue dynamics
      (:func:`orthogonal_learning_time`); ``lam0`` (n_samples, N) are the eigenvalues of
      ``Q^T M(0)`` (the product of Haar matrices is Haar, so their law is D independent);
      returns the median over samples. Depth independent. Without ``lam0`` it uses
      Saxe's aligned proxy, every mode at ``u0 = 1``.

    Returns an array of steps, one per depth (``t / lr(D)``).
    """
    init = as_choice(init, "init", DEPTH_INITS)
    delta = as_float(delta, "delta", low=0.0, high=1.0, open_low=True, open_high=True)
    s = as_float(s, "s", low=0.0, open_low=True)
    kappa = as_float(kappa, "kappa", low=0.0, high=1.0, open_low=True, open_high=True)
    gain = as_float(gain, "gain", low=0.0, open_low=True)
    c0 = as_float(c0, "c0")
    ae_u0 = as_float(ae_u0, "ae_u0", low=0.0, open_low=True)
    ae_fraction = as_float(ae_fraction, "ae_fraction", low=0.0, high=1.0, open_low=True, open_high=True)
    dep = as_array(depths, "depths", ndim=(0, 1))
    depths = [_check_depth(D) for D in np.atleast_1d(dep)]
    tau = _check_tau(tau)
    if init == "orthogonal" and lam0 is not None:
        lam = np.atleast_2d(_check_eigenvalues(lam0))
    uf = (1.0 - np.sqrt(delta)) * s
    a = np.asarray  # 0-d float64 arrays for the learning-time cores

    def time_to(s_mode, u0, u_final, D):  # learning_time of one mode
        s_, u0_, uf_ = a(s_mode), a(u0), a(u_final)
        _check_reachable(s_, u0_, uf_, D)
        return float(_learning_time(s_, u0_, uf_, D, tau))

    out = []
    for D in depths:
        lr = _depth_learning_rate(s, D, kappa, tau)
        if init == "small":
            t = time_to(s, gain**D, uf, D)
            steps = t / lr
        elif init == "pretrained":
            # a balanced autoencoder stopped at strength ae_fraction has encoder gain sqrt(ae_fraction)
            b0 = float(np.sqrt(ae_fraction)) if D >= 2 else 1.0
            steps = float(_pretrained_learning_time(a(s), a(uf), a(c0), D, b0, tau)) / lr
            if count_pretraining and D >= 2:
                lr_ae = _depth_learning_rate(1.0, 2, kappa, tau)
                steps += (D - 1) * time_to(1.0, ae_u0, ae_fraction, 2) / lr_ae
        else:
            if lam0 is None:
                if uf <= 1.0:
                    raise ValueError("the aligned proxy needs (1 - sqrt(delta)) s > 1")
                steps = time_to(s, 1.0, uf, D) / lr
            else:
                ts = _orthogonal_learning_times(lam.reshape(lam.shape[0], -1), s, D, delta, tau)
                steps = float(np.median(ts)) / lr
        out.append(steps)
    return np.asarray(out)


def integrate_gradient_flow(weights, Sxx, Syx, t, *, tau: float = 1.0, rtol: float = 1e-10,
                            atol: float = 1e-12) -> list[np.ndarray]:
    r"""Reference solution of the *full* weight ODE by direct numerical integration.

    .. math::

        \tau \dot W_l = (W_D\cdots W_{l+1})^T (\Sigma^{yx} - W \Sigma^{xx}) (W_{l-1}\cdots W_1)^T,
        \qquad W = W_D \cdots W_1,

    i.e. gradient flow on ``L = tr(Syy)/2 - tr(W Syx^T) + tr(W Sxx W^T)/2`` for any
    depth, any initial weights and any input correlation, with SciPy's DOP853
    (``rtol``, ``atol``). This is no closed form: it is what the closed forms of this
    package (here, :mod:`idealnets.theory.semantic`, :mod:`idealnets.theory.lambda_balanced`) are checked
    against. ``weights``: D arrays ``(n_l, n_{l-1})``; ``Sxx`` (N_in, N_in), ``Syx``
    (N_out, N_in); ``t`` increasing non-negative times. Returns D arrays
    ``(len(t), n_l, n_{l-1})``.
    """
    from scipy.integrate import solve_ivp

    Ws0 = _check_weights(weights)
    if any(w.ndim != 2 for w in Ws0):
        raise ValueError(f"weights must be 2-D matrices (n_l, n_(l-1)), got shapes {[w.shape for w in Ws0]}")
    Sxx = as_array(Sxx, "Sxx", ndim=2)  # finite: NaN/inf would make the integrator step forever
    Syx = as_array(Syx, "Syx", ndim=2)
    t = _check_flow_times(t)
    tau = _check_tau(tau)
    rtol = as_float(rtol, "rtol", low=0.0, high=1.0, open_low=True)
    atol = as_float(atol, "atol", low=0.0, open_low=True)
    if Syx.shape != (Ws0[-1].shape[0], Ws0[0].shape[1]) or Sxx.shape != (Ws0[0].shape[1],) * 2:
        raise ValueError(f"Sxx {Sxx.shape} / Syx {Syx.shape} do not fit weights mapping "
                         f"{Ws0[0].shape[1]} -> {Ws0[-1].shape[0]}")
    shapes = [w.shape for w in Ws0]
    splits = np.cumsum([w.size for w in Ws0])[:-1]

    def unpack(z):
        return [p.reshape(sh) for p, sh in zip(np.split(z, splits), shapes)]

    def rhs(_, z):
        Ws = unpack(z)
        below, M = [], np.eye(shapes[0][1])
        for w in Ws:
            below.append(M)
            M = w @ M
        E = Syx - M @ Sxx
        grads, above = [None] * len(Ws), np.eye(shapes[-1][0])
        for l in range(len(Ws) - 1, -1, -1):
            grads[l] = above.T @ E @ below[l].T
            above = above @ Ws[l]
        return np.concatenate([g.ravel() for g in grads]) / tau

    z0 = np.concatenate([w.ravel() for w in Ws0])
    # repeated times are allowed: integrate to the distinct ones, then index back
    t_eval, back = np.unique(t, return_inverse=True)
    if t_eval.size == 0 or t_eval[-1] == 0:
        Z = np.repeat(z0[:, None], t.size, axis=1)
    else:
        with np.errstate(over="raise", invalid="raise"):
            try:
                sol = solve_ivp(rhs, (0.0, float(t_eval[-1])), z0, t_eval=t_eval, method="DOP853",
                                rtol=rtol, atol=atol)
            except FloatingPointError:
                raise FloatingPointError("integrate_gradient_flow: the weights overflowed (the flow diverges "
                                         "from these initial weights and data)") from None
        if not sol.success:
            raise RuntimeError(f"solve_ivp failed: {sol.message}")
        Z = sol.y[:, back.ravel()]
    return [p.T.reshape(-1, *sh) for p, sh in zip(np.split(Z, splits, axis=0), shapes)]
