r"""Exact learning dynamics of deep linear networks (Saxe, McClelland & Ganguli 2014).

Network with ``depth`` = D weight matrices, ``yhat = W_D ... W_1 x``, trained by
gradient flow ``tau dW_l/dt = -dL/dW_l`` on the mean squared loss
``L = (1/2P) sum_mu ||y_mu - yhat_mu||^2`` (THEORY.md section 0).

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

from dataclasses import dataclass

import numpy as np

__all__ = [
    "mode_strength",
    "learning_time",
    "time_integral",
    "mode_rate",
    "DeepLinearTheory",
]

ISOTROPY_RTOL = 1e-8  # Sxx must equal c*I to this relative accuracy


def _check_depth(depth) -> int:
    if not isinstance(depth, (int, np.integer)) or isinstance(depth, bool) or depth < 1:
        raise ValueError(f"depth must be an integer >= 1 (number of weight matrices), got {depth!r}")
    return int(depth)


def _check_tau(tau) -> float:
    tau = float(tau)
    if not tau > 0:
        raise ValueError(f"tau must be positive, got {tau}")
    return tau


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
    ``log|a - c|``). The SymPy check in :mod:`theory.symbolic` differentiates it.
    """
    D = _check_depth(depth)
    if D < 3:
        raise ValueError("time_integral is for depth >= 3; depth 1 and 2 have explicit forms")
    a = np.asarray(a, dtype=float)
    s = np.asarray(s, dtype=float)
    c = s ** (1.0 / D)
    out = a ** (2.0 - D) / (2.0 - D)
    acc = -(c**2) * np.log(np.abs(a - c))  # k = 0
    for k in range(1, D):
        root = c * np.exp(2j * np.pi * k / D)
        acc = acc - np.real(root**2 * np.log(a - root + 0j))
    return (out + acc / (D * s)) / s


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
      by bisection on the monotone ``a`` to machine precision.

    Parameters broadcast against each other; ``t`` of any shape, ``t = np.inf``
    gives the fixed point ``s`` (0 when ``u0 = 0``, an unstable fixed point for
    D >= 2). Requires ``s >= 0`` and, for D >= 2, ``u0 >= 0``.
    """
    D = _check_depth(depth)
    tau = _check_tau(tau)
    t, s, u0 = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (t, s, u0)))
    if np.any(t < 0) or np.any(np.isnan(t)):
        raise ValueError("times must be non-negative")
    if np.any(s < 0):
        raise ValueError("singular values s must be non-negative")
    if D >= 2 and np.any(u0 < 0):
        raise ValueError("for depth >= 2 the initial mode strength u0 must be non-negative")
    if D == 1:
        with np.errstate(over="ignore", invalid="ignore"):
            return np.where(np.isinf(t), s, s + (u0 - s) * np.exp(-t / tau))
    out = np.empty(t.shape)
    zero = u0 == 0
    out[zero] = 0.0
    s_zero = (s == 0) & ~zero
    out[s_zero] = _strength_deep_s0(t[s_zero], u0[s_zero], D, tau)
    m = ~zero & ~s_zero
    tm, sm, um = t[m], s[m], u0[m]
    if D == 2:
        with np.errstate(over="ignore", under="ignore"):
            decay = np.exp(-2.0 * sm * tm / tau)
        out[m] = sm / (1.0 - (1.0 - sm / um) * decay)
        return out
    # D >= 3: bisection on a = u^{1/D} between a0 and c = s^{1/D}
    c, a0 = sm ** (1.0 / D), um ** (1.0 / D)
    target = np.where(np.isinf(tm), 0.0, tm / tau)
    T0 = time_integral(a0, sm, D)
    lo, hi = np.minimum(a0, c), np.maximum(a0, c)
    up = a0 < c  # a increases towards c
    for _ in range(120):
        mid = 0.5 * (lo + hi)
        with np.errstate(divide="ignore"):
            elapsed = time_integral(mid, sm, D) - T0
        # for up: elapsed increases with mid; for down: elapsed increases as mid decreases
        too_far = np.where(up, elapsed > target, elapsed > target)
        go_low = np.where(up, too_far, ~too_far)
        hi = np.where(go_low, mid, hi)
        lo = np.where(go_low, lo, mid)
    a = 0.5 * (lo + hi)
    a = np.where(np.isinf(tm) | (a0 == c), np.where(np.isinf(tm), c, a0), a)
    out[m] = a**D
    return out


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
    s, u0, uf = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (s, u0, u_final)))
    if np.any(s <= 0):
        raise ValueError("learning_time needs positive singular values s")
    if D >= 2 and np.any(u0 <= 0):
        raise ValueError("for depth >= 2, u0 must be positive (u0 = 0 is a fixed point)")
    between = ((u0 <= uf) & (uf <= s)) | ((s <= uf) & (uf <= u0))
    if not np.all(between):
        raise ValueError("u_final must lie between u0 and s; other values are never reached")
    with np.errstate(divide="ignore", invalid="ignore"):
        if D == 1:
            t = tau * np.log((s - u0) / (s - uf))
        elif D == 2:
            t = tau / (2 * s) * np.log(uf * (s - u0) / (u0 * (s - uf)))
        else:
            t = tau * (time_integral(uf ** (1.0 / D), s, D) - time_integral(u0 ** (1.0 / D), s, D))
    t = np.where(uf == u0, 0.0, np.where(uf == s, np.inf, t))
    return t


def mode_rate(s, depth: int = 2, tau: float = 1.0):
    r"""Linearised relaxation rate at the fixed point: ``D s^{2-2/D} / tau``.

    Near ``u = s``, ``tau d(u-s)/dt = -D s^{2-2/D} (u - s)``. Full-batch gradient
    descent on a decoupled mode is stable for ``lr * rate < 2``.
    """
    D = _check_depth(depth)
    return D * np.asarray(s, dtype=float) ** (2.0 - 2.0 / D) / _check_tau(tau)


@dataclass(frozen=True)
class _Whitening:
    c: float


def _isotropy(X: np.ndarray) -> float:
    P = X.shape[1]
    Sxx = X @ X.T / P
    c = float(np.trace(Sxx) / Sxx.shape[0])
    dev = np.max(np.abs(Sxx - c * np.eye(Sxx.shape[0])))
    if not c > 0 or dev > ISOTROPY_RTOL * c:
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
        X = np.asarray(X, dtype=float)
        Y = np.asarray(Y, dtype=float)
        if X.ndim != 2 or Y.ndim != 2:
            raise ValueError(f"X and Y must be 2-D (features x samples); got {X.shape} and {Y.shape}")
        if X.shape[1] != Y.shape[1]:
            raise ValueError(f"X has {X.shape[1]} samples (columns) but Y has {Y.shape[1]}")
        self.depth = _check_depth(depth)
        self.tau = _check_tau(tau)
        self.c = _isotropy(X)
        P = X.shape[1]
        self.X, self.Y, self.P = X, Y, P
        self.Syx = Y @ X.T / P
        self.Syy_trace = float(np.sum(Y * Y) / P)
        U, s, Vt = np.linalg.svd(self.Syx, full_matrices=False)
        self.U, self.s, self.V = U, s, Vt.T
        self.n_modes = s.size
        u0 = np.asarray(u0, dtype=float)
        if u0.ndim > 1 or (u0.ndim == 1 and u0.size != self.n_modes):
            raise ValueError(f"u0 must be a scalar or have one entry per mode ({self.n_modes})")
        self.u0 = np.broadcast_to(u0, (self.n_modes,)).copy()

    # -- mode level -------------------------------------------------------
    @property
    def u_final(self) -> np.ndarray:
        """Fixed point of each mode strength, ``s / c``."""
        return self.s / self.c

    def mode_strengths(self, t) -> np.ndarray:
        """``u_alpha(t)``, shape ``t.shape + (n_modes,)`` (:func:`mode_strength`, rescaled by c)."""
        t = np.asarray(t, dtype=float)
        return mode_strength(self.c * t[..., None], self.s / self.c, self.u0, self.depth, self.tau)

    def learning_times(self, fraction: float = 0.5) -> np.ndarray:
        """Time for each mode to reach ``fraction`` of its final strength (:func:`learning_time`)."""
        uf = fraction * self.u_final
        return learning_time(self.s / self.c, self.u0, uf, self.depth, self.tau) / self.c

    def max_learning_rate(self) -> float:
        """Stable full-batch GD learning rate near convergence: ``2 / (c * rate(s_max/c))``."""
        return float(2.0 / (self.c * mode_rate(self.s[0] / self.c, self.depth, self.tau)))

    # -- builders ---------------------------------------------------------
    def map(self, t) -> np.ndarray:
        """Total map ``W_D...W_1(t) = U diag(u(t)) V^T``, shape ``t.shape + (N_out, N_in)``."""
        u = self.mode_strengths(t)
        return np.einsum("ia,...a,ja->...ij", self.U, u, self.V)

    def loss(self, t) -> np.ndarray:
        r"""Training loss ``L(t) = tr(Syy)/2 - sum_a s_a u_a + (c/2) sum_a u_a^2`` (exact for W = U A V^T)."""
        u = self.mode_strengths(t)
        return 0.5 * self.Syy_trace - u @ self.s + 0.5 * self.c * np.sum(u**2, axis=-1)

    def weights(self, t, hidden: int | None = None, seed: int = 0) -> list[np.ndarray]:
        r"""Balanced layer weights ``W_l(t) = R_l A(t)^{1/D} R_{l-1}^T`` (``R_0 = V``, ``R_D = U``).

        ``R_1..R_{D-1}`` are random (hidden x n_modes) orthonormal frames, the free
        rotations of the hidden layers (``hidden >= n_modes``, default n_modes).
        Returns D arrays of shape ``t.shape + (n_l, n_{l-1})``.
        """
        hidden = self.n_modes if hidden is None else int(hidden)
        if hidden < self.n_modes:
            raise ValueError(f"hidden width {hidden} < number of modes {self.n_modes}")
        rng = np.random.default_rng(seed)
        frames = [self.V]
        for _ in range(self.depth - 1):
            q, _ = np.linalg.qr(rng.standard_normal((hidden, self.n_modes)))
            frames.append(q)
        frames.append(self.U)
        a = self.mode_strengths(t) ** (1.0 / self.depth)
        return [np.einsum("ia,...a,ja->...ij", frames[l + 1], a, frames[l]) for l in range(self.depth)]
