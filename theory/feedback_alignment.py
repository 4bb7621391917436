r"""Feedback alignment (FA) in two-layer linear networks: conserved quantity, exact modes, fixed points.

Network ``yhat = W2 W1 x`` with ``W1`` (N_h, N_in), ``W2`` (N_out, N_h), whitened input
(``Sxx = X X^T/P = I``), loss ``L = (1/2P) sum ||y - yhat||^2`` and time ``t = lr * steps``
(docs: Conventions, "Loss and time"). Feedback alignment (Lillicrap, Cownden, Tweed & Akerman 2016,
Nat. Commun. 7:13276) replaces the backpropagated ``W2^T e`` by ``B e`` with a fixed
random ``B`` (N_h, N_out). With ``E = Syx - W2 W1`` the flow is

.. math::

    \tau \dot W_1 = B\, E, \qquad \tau \dot W_2 = E\, W_1^\top ,

(backprop has ``W2^T`` in place of ``B``). It is not the gradient flow of any function.

**Conserved quantity (our derivation).** ``d(W1 W1^T) = B E W1^T + W1 E^T B^T`` and
``d(B W2) = B E W1^T``, so

.. math:: Q = W_1 W_1^\top - B W_2 - W_2^\top B^\top \quad (N_h\times N_h)

is constant (for any ``Sxx``: replace ``E`` by ``Syx - W2 W1 Sxx``); :func:`fa_invariant`.
It is the FA analogue of the balancedness ``W2^T W2 - W1 W1^T`` of backprop. Its trace gives
``tr(B W2) = (||W1||_F^2 - tr Q)/2``: from small weights (``Q ~ 0``) the overlap of ``W2^T``
with ``B`` is half the squared size of the first layer, so **the top layer is pulled toward
B^T as soon as the first layer grows** (:func:`predicted_overlap`), and the alignment
``cos(vec W2^T, vec B)`` is positive. Under gradient descent with step ``lr`` the exact
one-step change is ``Q' - Q = lr^2 B E E^T B^T`` (PSD): a drift of ``O(lr)`` at fixed ``t``.

**Two exact structural facts (ours).** (i) ``W1(t) = W1(0) + B K(t)``, ``K = int_0^t E``: the
first layer only moves inside ``range(B)``. (ii) At a fixed point ``B E = 0`` and
``E W1^T = 0``; the second gives ``W2 W1 = Syx P_row(W1)`` (the least-squares map restricted
to the input directions the hidden layer represents), the first ``Pi_B E = 0`` with
``Pi_B = B^+ B`` the projector onto the output directions the feedback can see. Hence
(:func:`fa_fixed_point_map`): with ``rank B = N_out`` (needs ``N_h >= N_out``) FA learns ``Syx``
exactly; otherwise, generically (``rank(Pi_B Syx) = min(rank B, rank Syx)``) it reaches
``W* = Syx P_S`` with ``S = row(Pi_B Syx) + row((I - P_B) W1(0))``: a narrow bottleneck learns
the task as *seen through the feedback* (not its top modes, as backprop does), a mode with
zero feedback is not learned (only its slow lazy part through the frozen, small
``(I - P_B) W1(0)``, at rate ``~|W1(0)|^2``).

**Aligned modes (our derivation).** With ``Syx = U diag(s) V^T``, ``B = R diag(b) U^T``,
``W1 = R diag(a) V^T``, ``W2 = U diag(c) R^T`` (R orthonormal columns) the flow decouples:

.. math::

    \tau \dot a = b\,(s - c a), \qquad \tau \dot c = a\,(s - c a), \qquad q = a^2 - 2 b c = \text{const}.

Eliminating ``c = (a^2 - q)/(2b)`` leaves the 1-D equation ``tau da/dt = -p(a)/2`` with the
cubic ``p(a) = a^3 - q a - 2 b s``; every root ``a*`` of ``p`` is a fixed point with
``c a = s``. Its exact quadrature by partial fractions over the roots ``r_i`` of ``p``,

.. math:: t/\tau = -2 \sum_i \frac{\ln(a(t) - r_i) - \ln(a_0 - r_i)}{p'(r_i)},

is inverted for ``a(t)`` by bisection between ``a0`` and the root it flows to
(:func:`aligned_mode`: closed form in ``t(a)``, exact to rounding; 50-digit arithmetic when
two roots nearly coincide). From small weights (``q = 0``) the map ``u = c a = a^3/(2b)``
obeys ``u/s = x^3`` with ``dx/dT = 1 - x^3``, ``T = (|b| s)^{2/3} t / 2^{1/3}``: ``u`` starts
as ``b^2 s^3 t^3/2``, a **power-law onset whose length does not depend on the initial scale**,
where backprop's sigmoid ``u0 e^{2st}`` waits ``ln(s/u0)/(2s)`` on a plateau
(:func:`aligned_learning_time`, :func:`small_init_learning_time`). ``b = 0``: ``a`` never moves;
:func:`aligned_mode` refuses it.

**General B.** :class:`FeedbackAlignmentFlow` has no closed form (the flow is not a gradient
flow and ``Q`` fixes only ``N_h(N_h+1)/2`` of the weights' degrees of freedom); it integrates
the matrix ODE in float64 (DOP853, rtol 1e-12) and continues with LSODA (analytic Jacobian, rtol 1e-10) to the fixed point
(stopping when ``|dW/dt|`` falls below ``FIXED_POINT_RTOL`` of its scale), so
``t = 1e12`` costs no more than reaching the fixed point. Tests check it against
:func:`aligned_mode` (< 1e-8) and its ``t = inf`` against :func:`fa_fixed_point_map`.
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy.integrate import solve_ivp

from . import _core
from .validation import as_array, as_float, as_int, as_times, as_whitened_pair, check_same

__all__ = [
    "fa_invariant",
    "fa_flow_rhs",
    "predicted_overlap",
    "alignment",
    "aligned_mode",
    "aligned_fixed_point",
    "aligned_learning_time",
    "small_init_learning_time",
    "aligned_final_alignment",
    "feedback_projector",
    "fa_fixed_point_map",
    "bp_fixed_point_map",
    "FeedbackAlignmentFlow",
    "WHITENING_ATOL",
    "FIXED_POINT_RTOL",
]

WHITENING_ATOL = 1e-8  # max |Sxx - I| accepted as whitened
FIXED_POINT_RTOL = 1e-11  # |dW/dt| <= FIXED_POINT_RTOL * scale counts as the fixed point
_RANK_RTOL = 1e-10  # relative singular-value cut for ranks and projectors
_T_CAP = 1e16  # the tail integration never goes past this time
_MAX_TAIL_STEPS = 20000  # stiff steps allowed in the tail (t = inf)


# ----------------------------------------------------------------------------- small formulas
def _weights(W1, W2, B=None):
    W1 = as_array(W1, "W1", ndim=(2, 3, 4))
    W2 = as_array(W2, "W2", ndim=(2, 3, 4))
    if W1.shape[-2] != W2.shape[-1]:
        raise ValueError(f"W1 has {W1.shape[-2]} hidden units (rows) but W2 has {W2.shape[-1]} (columns)")
    if B is None:
        return W1, W2
    B = as_array(B, "B", ndim=(2, 3, 4))
    if B.shape[-2:] != (W1.shape[-2], W2.shape[-2]):
        raise ValueError(f"B must have shape (N_h, N_out) = ({W1.shape[-2]}, {W2.shape[-2]}) to feed the "
                         f"output error back to the hidden layer, got {B.shape}")
    return W1, W2, B


def fa_invariant(W1, W2, B) -> np.ndarray:
    r"""Conserved quantity of the FA flow, ``Q = W1 W1^T - B W2 - W2^T B^T`` (N_h, N_h).

    Our derivation (module docstring): ``tau dQ/dt = 0`` for any data and any ``Sxx``.
    Shapes ``W1 (..., N_h, N_in)``, ``W2 (..., N_out, N_h)``, ``B (..., N_h, N_out)``;
    leading (ensemble/time) axes broadcast. Under GD it changes by ``lr^2 B E E^T B^T`` a step.
    """
    W1, W2, B = _weights(W1, W2, B)
    BW2 = B @ W2
    return W1 @ np.swapaxes(W1, -1, -2) - BW2 - np.swapaxes(BW2, -1, -2)


def fa_flow_rhs(W1, W2, B, Syx, Sxx=None) -> tuple[np.ndarray, np.ndarray]:
    r"""Right-hand side of the FA flow: ``(B E, E W1^T)`` with ``E = Syx - W2 W1 Sxx``
    (``Sxx = I`` by default). Lillicrap et al. (2016), linear case; shapes as :func:`fa_invariant`."""
    W1, W2, B = _weights(W1, W2, B)
    Syx = as_array(Syx, "Syx", ndim=2, shape=(W2.shape[-2], W1.shape[-1]))
    W = W2 @ W1
    if Sxx is not None:
        W = W @ as_array(Sxx, "Sxx", ndim=2, shape=(W1.shape[-1], W1.shape[-1]))
    E = Syx - W
    return B @ E, E @ np.swapaxes(W1, -1, -2)


def predicted_overlap(W1, Q0) -> np.ndarray:
    r"""``tr(B W2) = (||W1||_F^2 - tr Q0)/2``: the overlap of ``W2^T`` with ``B`` implied by the
    invariant (our derivation). ``W1 (..., N_h, N_in)``, ``Q0 (N_h, N_h)`` -> (...)."""
    W1 = as_array(W1, "W1", ndim=(2, 3, 4))
    Q0 = as_array(Q0, "Q0", ndim=2, shape=(W1.shape[-2], W1.shape[-2]))
    return 0.5 * (np.sum(W1**2, axis=(-2, -1)) - np.trace(Q0))


def alignment(W2, B) -> np.ndarray:
    r"""Cosine between ``vec(W2^T)`` and ``vec(B)`` (Lillicrap et al. 2016, Fig. 2): ``tr(B W2)/(|W2| |B|)``.
    ``W2 (..., N_out, N_h)``, ``B (..., N_h, N_out)`` -> (...); 0 when ``W2 = 0``."""
    W2 = as_array(W2, "W2", ndim=(2, 3, 4))
    B = as_array(B, "B", ndim=(2, 3, 4))
    if B.shape[-2:] != W2.shape[-2:][::-1]:
        raise ValueError(f"B must have the shape of W2^T, {W2.shape[-2:][::-1]}, got {B.shape[-2:]}")
    num = np.sum(np.swapaxes(W2, -1, -2) * B, axis=(-2, -1))
    den = np.sqrt(np.sum(W2**2, axis=(-2, -1)) * np.sum(B**2, axis=(-2, -1)))
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


# ----------------------------------------------------------------------------- aligned modes
def _mode_args(s, b, a0, c0):
    s = as_float(s, "s", low=0.0)
    b = as_float(b, "b")
    a0 = as_float(a0, "a0")
    c0 = as_float(c0, "c0")
    if b == 0.0:
        raise ValueError(
            "b = 0: this mode gets no feedback, so its first-layer strength a stays at a0 forever and the mode "
            "can never be learned by feedback alignment (from a0 = 0 nothing moves; with a0 != 0 only the "
            "readout c relaxes to s/a0 at rate a0^2, a lazy regression on a frozen random feature). "
            "Use FeedbackAlignmentFlow to follow such a network.")
    q, k = a0 * a0 - 2.0 * b * c0, 2.0 * b * s
    if not max(abs(q) ** 1.5, abs(k)) <= _CUBIC_MAX:  # also catches q or k = inf (a0^2 or b c0 overflowed)
        raise ValueError(
            f"s = {s:g}, b = {b:g}, a0 = {a0:g}, c0 = {c0:g} are too large: the mode's cubic a^3 - q a - 2 b s "
            f"(q = a0^2 - 2 b c0) needs |q|^1.5 and |2 b s| below {_CUBIC_MAX:g} to stay in the float range")
    return s, b, a0, c0


# |q|^1.5 and |k| bound for the cubic of an aligned mode: its roots (~|q|^0.5, |k|^(1/3)) cubed stay finite
_CUBIC_MAX = 1e300


def _roots(q: float, k: float) -> np.ndarray:
    """Roots of p(a) = a^3 - q a - k (complex, Newton-polished)."""
    r = np.roots([1.0, 0.0, -q, -k]).astype(complex)
    for _ in range(3):
        p = r**3 - q * r - k
        dp = 3 * r**2 - q
        ok = np.abs(dp) > 0
        r = np.where(ok, r - p / np.where(ok, dp, 1.0), r)
    return r


def _root_scale(r: np.ndarray) -> float:
    """Size of the roots, for relative tests (the roots scale as (b s)^{1/3} and sqrt|q|)."""
    m = float(np.max(np.abs(r)))
    return m if m > 0 else 1.0


def _target_root(a0: float, q: float, k: float, r: np.ndarray) -> float:
    """The real root a0 flows to under da/dt = -p(a)/2 (a0 itself when p(a0) = 0)."""
    real = np.sort(r[np.abs(r.imag) <= 1e-12 * _root_scale(r)].real)
    p0 = a0**3 - q * a0 - k
    # a0 on a root up to the rounding of p(a0) (a start at the fixed point, e.g. a0 = 1, q = 0.95,
    # k = 0.05): it stays there; the computed root may lie a few ulps on either side of a0.
    if abs(p0) <= 16 * np.finfo(float).eps * (abs(a0) ** 3 + abs(q * a0) + abs(k)) or real.size == 0:
        return a0
    if p0 < 0:  # a increases to the first root above a0
        above = real[real > a0]
        return float(above[0]) if above.size else a0
    below = real[real < a0]
    return float(below[-1]) if below.size else a0


def _time_of_a(a, a0: float, q: float, k: float, r: np.ndarray, tau: float):
    """t(a) = -2 tau sum_i [ln(a - r_i) - ln(a0 - r_i)] / p'(r_i) (distinct roots; float64)."""
    a = np.asarray(a, dtype=float)[..., None]
    dp = 3 * r**2 - q
    is_real = np.abs(r.imag) <= 1e-12 * _root_scale(r)
    rr = np.where(is_real, r.real, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        real_terms = (np.log(np.abs(a - rr)) - np.log(np.abs(a0 - rr))) / np.where(is_real, dp.real, 1.0)
        cplx_terms = (np.log(a - r) - np.log(a0 - r)) / dp
    terms = np.where(is_real, real_terms, cplx_terms)
    return -2.0 * tau * np.real(np.sum(terms, axis=-1))


def _time_of_a_mp(a_values, a0: float, q: float, k: float, tau: float, roots=None):
    """The same quadrature in 50-digit arithmetic (for nearly repeated roots); ``roots`` from
    :func:`_mp_roots` (computed here when not given)."""
    import mpmath as mp

    with mp.workdps(50):
        r = _mp_roots(q, k) if roots is None else roots
        dps = [3 * ri**2 - mp.mpf(q) for ri in r]
        out = []
        for a in np.ravel(a_values):
            tot = mp.mpf(0)
            for ri, dp in zip(r, dps):
                tot += (mp.log(mp.mpf(a) - ri) - mp.log(mp.mpf(a0) - ri)) / dp
            out.append(float(mp.re(-2 * tau * tot)))
    return np.array(out).reshape(np.shape(a_values))


def _mp_roots(q: float, k: float):
    import mpmath as mp

    with mp.workdps(50):
        return mp.polyroots([1, 0, -mp.mpf(q), -mp.mpf(k)], maxsteps=200, extraprec=200)


def _double_root(q: float, k: float) -> float | None:
    """The double root ``r = -3k/(2q)`` of p(a) = a^3 - q a - k when its discriminant ``4q^3 - 27k^2``
    is exactly zero (q != 0; the third root is ``-2r``), else None. Exact rational arithmetic."""
    from fractions import Fraction

    if q == 0.0:
        return None
    fq, fk = Fraction(q), Fraction(k)
    if 4 * fq**3 != 27 * fk**2:
        return None
    return float(Fraction(-3, 2) * fk / fq)


def _time_of_a_double(a, a0: float, r: float, tau: float):
    """t(a) for p(a) = (a - r)^2 (a - r2), r2 = -2r (a double root; the limit of the quadrature):
    ``1/p = A/(a - r2) - A/(a - r) + C/(a - r)^2`` with ``A = 1/(r2 - r)^2``, ``C = 1/(r - r2)``, so
    ``t(a) = -2 tau [A ln|(a - r2)/(a0 - r2)| - A ln|(a - r)/(a0 - r)| - C (1/(a - r) - 1/(a0 - r))]``."""
    a = np.asarray(a, dtype=float)
    r2 = -2.0 * r
    A, C = 1.0 / (r2 - r) ** 2, 1.0 / (r - r2)
    with np.errstate(divide="ignore", invalid="ignore"):
        lin = A * (np.log(np.abs(a - r2)) - np.log(abs(a0 - r2))) - A * (np.log(np.abs(a - r)) - np.log(abs(a0 - r)))
        pole = -C * (1.0 / (a - r) - 1.0 / (a0 - r))
        out = -2.0 * tau * (lin + pole)
    return np.where(a == r, np.inf, out)


def _nearly_repeated(r: np.ndarray) -> bool:
    scale = _root_scale(r)
    d = [abs(r[i] - r[j]) for i in range(3) for j in range(i + 1, 3)]
    return min(d) < 1e-4 * scale


def _invert(t, a0, target, time_fn, n_iter: int = 64):
    """a(t) between a0 and target by bisection on the monotone t(a) (2^-64 of |target - a0|)."""
    lo = np.full(t.shape, a0)
    hi = np.full(t.shape, target)
    for _ in range(n_iter):
        mid = 0.5 * (lo + hi)
        tm = time_fn(mid)
        go = tm < t  # not yet reached: move the a0-side end
        lo = np.where(go, mid, lo)
        hi = np.where(go, hi, mid)
    return 0.5 * (lo + hi)


def aligned_mode(t, s, b, a0, c0, tau: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact FA trajectory ``(a(t), c(t))`` of one aligned mode (module docstring; our derivation).

    .. math::
        \tau \dot a = b (s - c a), \quad \tau \dot c = a (s - c a), \quad q = a^2 - 2 b c,

    solved through ``tau da/dt = -(a^3 - q a - 2 b s)/2`` by the partial-fraction quadrature
    ``t(a)`` (closed form), inverted by bisection to machine precision; ``c = (a^2 - q)/(2b)``.
    ``a`` is the input-to-hidden strength, ``c`` the hidden-to-output strength, ``b`` the
    feedback strength of the mode, ``s >= 0`` its singular value (whitened input). ``t`` any
    shape (``np.inf`` = the fixed point, a root of the cubic, where ``c a = s``).
    An exact double root of the cubic (``4q^3 = 27(2bs)^2``) uses the limit of the quadrature,
    ``1/p = A/(a - r2) - A/(a - r) + C/(a - r)^2``; a start below the double root approaches it as ``1/t``.
    Raises ValueError for ``b = 0`` (the mode gets no feedback and can never be learned).
    Returns two arrays of ``t``'s shape.
    """
    s, b, a0, c0 = _mode_args(s, b, a0, c0)
    tau = as_float(tau, "tau", low=0.0, open_low=True)
    t = as_times(t)
    q, k = a0 * a0 - 2.0 * b * c0, 2.0 * b * s
    a = _mode_a(t, a0, q, k, tau)
    return a, (a * a - q) / (2.0 * b)


def _mode_a(t: np.ndarray, a0: float, q: float, k: float, tau: float) -> np.ndarray:
    if k == 0.0 and q == 0.0:  # triple root at 0: tau da/dt = -a^3/2
        with np.errstate(over="ignore"):
            return np.where(np.isinf(t), 0.0, a0 / np.sqrt(1.0 + a0 * a0 * np.where(np.isinf(t), 0.0, t) / tau))
    rd = _double_root(q, k)
    r = _roots(q, k) if rd is None else np.array([rd, rd, -2.0 * rd], dtype=complex)
    target = _target_root(a0, q, k, r)
    if target == a0:
        return np.full(t.shape, a0)
    if rd is not None:  # exact double root: the limit of the partial fractions
        def fn(a):
            return _time_of_a_double(a, a0, rd, tau)
    elif _nearly_repeated(r):
        mp_r = _mp_roots(q, k)

        def fn(a):
            return _time_of_a_mp(a, a0, q, k, tau, mp_r)
    else:
        def fn(a):
            return _time_of_a(a, a0, q, k, r, tau)
    fin = np.isfinite(t)
    out = np.full(t.shape, target)
    if fin.any():
        out[fin] = _invert(t[fin], a0, target, fn)
    return out


def aligned_fixed_point(s, b, a0, c0) -> tuple[float, float]:
    r"""``(a*, c*)`` reached by :func:`aligned_mode`: the root of ``a^3 - q a - 2bs`` that ``a0``
    flows to, and ``c* = (a*^2 - q)/(2b)`` (``= s/a*`` when ``a* != 0``). From ``a0 = c0 = 0``:
    ``a* = (2 b s)^{1/3}``, ``c* = s^{2/3} / (2 b)^{1/3}`` (real cube roots)."""
    a, c = aligned_mode(np.inf, s, b, a0, c0)
    return float(a), float(c)


def aligned_learning_time(s, b, a0, c0, fraction: float = 0.5, tau: float = 1.0) -> float:
    r"""First time at which the mode's map ``u = c a`` reaches ``fraction * s`` (our derivation).

    ``u(a) = a (a^2 - q)/(2b)`` along the path, so ``a_f`` is the first root of
    ``a^3 - q a - 2 b fraction s`` met between ``a0`` and the fixed point, and the time is the
    exact quadrature ``t(a_f)`` of :func:`aligned_mode`. 0 if ``u(0)`` is already there; inf
    if it is never reached. Contrast: backprop from ``u0`` needs
    ``ln[f (s - u0)/(u0 (s - f s))]/(2s)`` (Saxe et al. 2014), which diverges as ``u0 -> 0``.
    """
    s, b, a0, c0 = _mode_args(s, b, a0, c0)
    f = as_float(fraction, "fraction", low=0.0, high=1.0, open_low=True, open_high=True)
    tau = as_float(tau, "tau", low=0.0, open_low=True)
    q, k = a0 * a0 - 2.0 * b * c0, 2.0 * b * s
    u0 = c0 * a0
    if s == 0:
        raise ValueError("s must be > 0 for a learning time (a mode with s = 0 has nothing to learn)")
    if u0 >= f * s:
        return 0.0
    r = _roots(q, k)
    target = _target_root(a0, q, k, r)
    rf = _roots(q, f * k)
    real = rf[np.abs(rf.imag) <= 1e-12 * _root_scale(rf)].real
    lo, hi = min(a0, target), max(a0, target)
    cand = real[(real >= lo) & (real <= hi)]
    if cand.size == 0:
        return float("inf")
    af = cand[np.argmin(np.abs(cand - a0))]
    if _nearly_repeated(r):
        return float(_time_of_a_mp(np.array([af]), a0, q, k, tau)[0])
    return float(_time_of_a(np.array(af), a0, q, k, r, tau))


def small_init_learning_time(s, b, fraction: float = 0.5, tau: float = 1.0) -> float:
    r"""Learning time of an aligned mode from ``a0 = c0 = 0`` in closed form (our derivation):

    .. math::
        t_f = \tau\, \frac{2^{1/3}}{(|b| s)^{2/3}} \int_0^{f^{1/3}} \frac{dx}{1 - x^3},\qquad
        \int_0^y \frac{dx}{1-x^3} = \frac16 \ln\frac{y^2+y+1}{(1-y)^2}
            + \frac{1}{\sqrt3}\Big[\arctan\frac{2y+1}{\sqrt3} - \frac{\pi}{6}\Big].

    Finite as the initial weights vanish (no plateau), and scaling as ``(|b| s)^{-2/3}``.
    """
    s = as_float(s, "s", low=0.0, open_low=True)
    b = as_float(b, "b")
    if b == 0:
        _mode_args(s, b, 0.0, 0.0)
    f = as_float(fraction, "fraction", low=0.0, high=1.0, open_low=True, open_high=True)
    tau = as_float(tau, "tau", low=0.0, open_low=True)
    y = f ** (1.0 / 3.0)
    integral = (np.log((y * y + y + 1) / (1 - y) ** 2) / 6
                + (np.arctan((2 * y + 1) / np.sqrt(3)) - np.pi / 6) / np.sqrt(3))
    return float(tau * 2 ** (1 / 3) * (abs(b) * s) ** (-2 / 3) * integral)


def aligned_final_alignment(s, b) -> float:
    r"""Final ``cos(vec W2^T, vec B)`` of an aligned network from ``a0 = c0 = 0`` (our derivation).

    Mode k ends at ``c_k* = sign(b_k) s_k^{2/3}/(2|b_k|)^{1/3}`` (``0`` where ``s_k = 0``), so
    ``cos = sum_k b_k c_k* / (|c*| |b|)``, 1 only when all fed-back modes have equal ``s``.
    ``s``, ``b``: (K,) arrays over the output modes (``s_k = 0`` for outputs outside the task);
    entries with ``b_k = 0`` contribute nothing (those modes are not learned).
    """
    s = as_array(s, "s", ndim=1, low=0.0)
    b = as_array(b, "b", ndim=1)
    check_same("s", s.size, "b", b.size, "length")
    if not np.any(b != 0):
        raise ValueError("b must have a non-zero entry (with no feedback at all nothing is learned)")
    c = np.where(b != 0, np.sign(b) * np.cbrt(s * s / (2 * np.abs(np.where(b != 0, b, 1.0)))), 0.0)
    nc = np.linalg.norm(c)
    return float(np.sum(b * c) / (nc * np.linalg.norm(b))) if nc > 0 else 0.0


# ----------------------------------------------------------------------------- general B: what FA reaches
def _range_basis(A: np.ndarray, rtol: float = _RANK_RTOL) -> np.ndarray:
    """Orthonormal basis (columns) of the column space of A."""
    if A.size == 0:
        return np.zeros((A.shape[0], 0))
    U, sv, _ = np.linalg.svd(A, full_matrices=False)
    r = int(np.sum(sv > rtol * max(sv[0] if sv.size else 0.0, 1e-300)))
    return U[:, :r]


def feedback_projector(B) -> np.ndarray:
    r"""``Pi_B = B^+ B`` (N_out, N_out): projector onto the output directions the feedback
    ``B`` (N_h, N_out) can see. ``I`` when ``rank B = N_out``."""
    B = as_array(B, "B", ndim=2)
    Ub = _range_basis(B.T)
    return Ub @ Ub.T


def fa_fixed_point_map(Syx, B, W1_0=None) -> np.ndarray:
    r"""Map ``W*`` that the FA flow reaches (module docstring, our derivation).

    ``W* = Syx P_S`` with ``S = row(Pi_B Syx) + row((I - P_B) W1_0)``, ``Pi_B = B^+ B`` and
    ``P_B`` the projector onto ``range(B)`` in hidden space. Exact consequence of the
    fixed-point equations ``B E = 0``, ``E W1^T = 0`` and of ``W1(t) - W1(0) in range(B)``,
    provided ``rank(Pi_B Syx) = min(rank B, rank Syx)`` (generic). Cases: ``rank B = N_out``
    -> ``Syx`` (everything); ``N_h < rank Syx`` (bottleneck) -> the task restricted to the
    input directions of the fed-back outputs; a mode with no feedback -> not learned beyond the
    lazy readout of the frozen ``(I - P_B) W1_0``. ``W1_0 = None`` means 0 (the small-init limit).
    """
    Syx = as_array(Syx, "Syx", ndim=2)
    B = as_array(B, "B", ndim=2)
    n_out, n_in = Syx.shape
    if B.shape[1] != n_out:
        raise ValueError(f"B must have N_out = {n_out} columns (shape (N_h, N_out)), got {B.shape}")
    Pi = feedback_projector(B)
    rows = [(Pi @ Syx).T]
    if W1_0 is not None:
        W1_0 = as_array(W1_0, "W1_0", ndim=2, shape=(B.shape[0], n_in))
        Ub = _range_basis(B)
        rows.append(((np.eye(B.shape[0]) - Ub @ Ub.T) @ W1_0).T)
    S = _range_basis(np.hstack(rows))
    return Syx @ S @ S.T


def bp_fixed_point_map(Syx, n_hidden: int) -> np.ndarray:
    r"""What backprop reaches from small generic weights: the best rank-``N_h`` approximation of
    ``Syx`` (Baldi & Hornik 1989; Saxe et al. 2014), for comparison with :func:`fa_fixed_point_map`."""
    Syx = as_array(Syx, "Syx", ndim=2)
    h = as_int(n_hidden, "n_hidden", low=1)
    U, s, Vt = np.linalg.svd(Syx, full_matrices=False)
    return (U[:, :h] * s[:h]) @ Vt[:h]


# ----------------------------------------------------------------------------- builder
def _check_whitened(X, Y) -> tuple[np.ndarray, np.ndarray]:
    return as_whitened_pair(X, Y, atol=WHITENING_ATOL,
                            requirement="X must be whitened (Sxx = X X^T/P = I; the FA theory here assumes it); "
                                        "whiten the inputs first")


class FeedbackAlignmentFlow:
    r"""FA flow of a two-layer linear network from ``(W1_0, W2_0)`` with fixed feedback ``B``.

    ``tau dW1/dt = B E``, ``tau dW2/dt = E W1^T``, ``E = Syx - W2 W1`` (whitened input;
    Lillicrap et al. 2016). No closed form for general ``B`` (module docstring): the matrix
    ODE is integrated in float64, DOP853 (rtol 1e-12) up to the largest finite time asked
    for or until ``|dW/dt| <= FIXED_POINT_RTOL * scale``; ``t = inf`` (and any time after the
    fixed point is reached) continues with LSODA (switches to BDF when stiff; analytic Jacobian;
    rtol 1e-10: large steps near the fixed point) to that criterion, so ``t = 1e12`` is as cheap as the fixed point. Slow directions
    (a frozen feature of size ``eps`` is read out at rate ``eps^2``) are followed to the end;
    ``.converged`` says whether the criterion was met before ``t = 1e16``.

    Any ``B`` (N_h, N_out) is accepted: any rank, hidden layer narrower than the output.
    ``X`` (N_in, P) must be whitened (else ValueError), ``Y`` (N_out, P).
    Methods take times of any shape, time on the leading axes.
    """

    def __init__(self, W1_0, W2_0, B, X, Y, tau: float = 1.0):
        X, Y = _check_whitened(X, Y)
        W1_0 = as_array(W1_0, "W1_0", ndim=2)
        W2_0 = as_array(W2_0, "W2_0", ndim=2)
        n_in, n_out = X.shape[0], Y.shape[0]
        if W1_0.shape[1] != n_in:
            raise ValueError(f"W1_0 must have N_in = {n_in} columns, got shape {W1_0.shape}")
        h = W1_0.shape[0]
        if W2_0.shape != (n_out, h):
            raise ValueError(f"W2_0 must have shape (N_out, N_h) = ({n_out}, {h}), got {W2_0.shape}")
        B = as_array(B, "B", ndim=2)
        if B.shape != (h, n_out):
            raise ValueError(f"B must have shape (N_h, N_out) = ({h}, {n_out}), got {B.shape}")
        self.tau = as_float(tau, "tau", low=0.0, open_low=True)
        _, self.Syx, self.trSyy = _core.correlations(X, Y)
        self.W1_0, self.W2_0, self.B = W1_0, W2_0, B
        self.n_in, self.n_hidden, self.n_out = n_in, h, n_out
        self.Q0 = fa_invariant(W1_0, W2_0, B)
        self._scale = (np.linalg.norm(B) + np.linalg.norm(W1_0) + np.linalg.norm(W2_0) + 1.0) * \
                      (np.linalg.norm(self.Syx) + 1.0)
        self._z0 = np.concatenate([W1_0.ravel(), W2_0.ravel()])
        # DOP853 up to ~200 intrinsic times (aligned-mode scale (|b| s)^{-2/3}), then the stiff tail
        rate = (np.linalg.norm(B, 2) * np.linalg.norm(self.Syx, 2)) ** (2 / 3) + np.linalg.norm(W1_0, 2) ** 2
        self._t_accurate = 200.0 * self.tau / max(rate, 1e-6)
        self._fp = None  # (t_reached, z)
        self.converged: bool | None = None

    # -- the ODE -------------------------------------------------------------
    def _split(self, z):
        k = self.n_hidden * self.n_in
        return z[:k].reshape(self.n_hidden, self.n_in), z[k:].reshape(self.n_out, self.n_hidden)

    def _rhs(self, _, z):
        W1, W2 = self._split(z)
        E = self.Syx - W2 @ W1
        return np.concatenate([(self.B @ E).ravel(), (E @ W1.T).ravel()]) / self.tau

    def _jac(self, _, z):
        """Analytic Jacobian of :meth:`_rhs` (row-major vec), for the stiff tail integrator."""
        W1, W2 = self._split(z)
        h, n_in, n_out = self.n_hidden, self.n_in, self.n_out
        E = self.Syx - W2 @ W1
        I_in, I_h, I_out = np.eye(n_in), np.eye(h), np.eye(n_out)
        J11 = -np.kron(self.B @ W2, I_in)                                   # d(B E)/dW1
        J12 = -np.kron(self.B, W1.T)                                        # d(B E)/dW2
        J21 = np.einsum("aj,bc->abcj", E, I_h).reshape(n_out * h, h * n_in) - np.kron(W2, W1)  # d(E W1^T)/dW1
        J22 = -np.kron(I_out, W1 @ W1.T)                                    # d(E W1^T)/dW2
        return np.block([[J11, J12], [J21, J22]]) / self.tau

    def _event_fn(self):
        def event(t, z):
            return np.linalg.norm(self._rhs(t, z)) * self.tau - FIXED_POINT_RTOL * self._scale

        event.terminal, event.direction = True, -1
        return event

    def _tail(self, z, t0: float, times: np.ndarray):
        """March with LSODA (stiff switching, analytic Jacobian, rtol 1e-10) from ``(t0, z)``: states at the sorted ``times`` > t0
        (dense output), stopping at the fixed-point criterion (later times get the fixed point)
        or after ``_MAX_TAIL_STEPS`` steps."""
        from scipy.integrate import LSODA

        ev = self._event_fn()
        out = np.empty((times.size, z.size))
        solver = LSODA(self._rhs, t0, z, _T_CAP, rtol=1e-10, atol=1e-15 * self._scale, jac=self._jac)
        k, steps = 0, 0
        while k < times.size or self._fp is None:
            if ev(solver.t, solver.y) <= 0:
                self._fp, self.converged = (float(solver.t), solver.y.copy()), True
                out[k:] = solver.y
                return out
            if steps >= _MAX_TAIL_STEPS or solver.status != "running":
                if k < times.size:
                    raise RuntimeError(
                        f"FeedbackAlignmentFlow: the integrator stopped at t = {solver.t:.4g} ({steps} stiff steps) "
                        f"before t = {times[k]:.4g}; this network relaxes too slowly for a finite-time answer there")
                self._fp, self.converged = (float(solver.t), solver.y.copy()), False
                warnings.warn(f"FeedbackAlignmentFlow: no fixed point within {_MAX_TAIL_STEPS} stiff steps "
                              f"(stopped at t = {solver.t:.4g}); t = inf returns that state", RuntimeWarning)
                return out
            t_prev = solver.t
            solver.step()
            steps += 1
            if k < times.size and times[k] <= solver.t:
                dense = solver.dense_output()
                while k < times.size and times[k] <= solver.t:
                    out[k] = dense(times[k]) if times[k] > t_prev else solver.y
                    k += 1
        return out

    def _states(self, t) -> np.ndarray:
        t = as_times(t)
        flat = t.ravel()
        Z = np.empty((flat.size, self._z0.size))
        if flat.size == 0:  # no times: empty results of the usual trailing shape
            return Z.reshape(*t.shape, self._z0.size)
        late = ~np.isfinite(flat)
        if self._fp is not None:  # the fixed point is known: every later time is it
            late |= flat >= self._fp[0]
        fin = ~late
        tt = np.unique(flat[fin])
        vals = np.empty((tt.size, self._z0.size))
        early = tt <= self._t_accurate
        z, t_end = self._z0, 0.0
        need_tail = (~early).any() or (late.any() and self._fp is None)
        if tt.size and tt[-1] == 0.0 and not need_tail:
            vals[:] = self._z0
        elif early.any() or need_tail:
            t_end = float(tt[early][-1]) if not need_tail else self._t_accurate
            t_eval = tt[early] if not need_tail else np.append(tt[early], t_end)
            n_early = int(early.sum())
            ev = self._event_fn()
            sol = solve_ivp(self._rhs, (0.0, t_end), self._z0, method="DOP853", t_eval=t_eval,
                            rtol=1e-12, atol=1e-14 * self._scale, events=ev)
            Ysol = np.asarray(sol.y).T.reshape(-1, self._z0.size)
            got = min(Ysol.shape[0], n_early)
            vals[:got] = Ysol[:got]
            if sol.status == 1:  # reached the fixed point
                self._fp, self.converged = (float(sol.t_events[0][0]), sol.y_events[0][0].copy()), True
                vals[got:] = self._fp[1]
            elif need_tail:  # continue from the end of the accurate phase
                z = Ysol[-1]
                rest = np.nonzero(~early)[0]
                vals[rest] = self._tail(z, t_end, tt[rest])
        Z[fin] = vals[np.searchsorted(tt, flat[fin])] if tt.size else Z[fin]
        if late.any():
            if self._fp is None:
                self._tail(z, t_end, np.empty(0))
            Z[late] = self._fp[1]
        return Z.reshape(*t.shape, -1)

    # -- public API ------------------------------------------------------------
    def weights(self, t) -> tuple[np.ndarray, np.ndarray]:
        r"""``(W1, W2)(t)``: shapes ``t.shape + (N_h, N_in)`` and ``t.shape + (N_out, N_h)``."""
        Z = self._states(t)
        k = self.n_hidden * self.n_in
        W1 = Z[..., :k].reshape(*Z.shape[:-1], self.n_hidden, self.n_in)
        W2 = Z[..., k:].reshape(*Z.shape[:-1], self.n_out, self.n_hidden)
        return W1, W2

    def map(self, t) -> np.ndarray:
        r"""Network map ``W2 W1 (t)``, shape ``t.shape + (N_out, N_in)``."""
        W1, W2 = self.weights(t)
        return W2 @ W1

    def loss(self, t) -> np.ndarray:
        r"""``L(t) = tr(Syy)/2 - tr(W Syx^T) + ||W||_F^2/2`` (whitened input), shape ``t.shape``."""
        return _core.quadratic_loss(self.map(t), None, self.Syx, self.trSyy)

    def alignment(self, t) -> np.ndarray:
        r"""``cos(vec W2^T, vec B)`` over time, shape ``t.shape`` (:func:`alignment`)."""
        _, W2 = self.weights(t)
        if W2.size == 0:  # no times: an empty result of t's shape
            return np.zeros(W2.shape[:-2])
        return alignment(W2, self.B)

    def invariant(self, t) -> np.ndarray:
        r"""``Q(t)`` along the integrated trajectory (constant up to the integrator's error)."""
        W1, W2 = self.weights(t)
        if W1.size == 0:  # no times: an empty result of shape t.shape + (N_h, N_h)
            return np.zeros(W1.shape[:-2] + (self.n_hidden, self.n_hidden))
        return fa_invariant(W1, W2, self.B)

    def predicted_map(self) -> np.ndarray:
        r"""The closed-form prediction :func:`fa_fixed_point_map` for this network."""
        return fa_fixed_point_map(self.Syx, self.B, self.W1_0)
