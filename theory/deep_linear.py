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
    "integrate_gradient_flow",
    "effective_u0_two_layer",
    "u0_through",
    "balancedness",
    "depth_learning_rate",
    "pretrained_learning_time",
    "orthogonal_eigen_trajectory",
    "orthogonal_learning_time",
    "depth_learning_steps",
    "DEPTH_INITS",
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
    for _ in range(64):  # halves [a0, c] to below one ulp
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
    # a^D can overshoot s by an ulp: keep u on its side of the fixed point
    out[m] = np.where(up, np.minimum(a**D, sm), np.maximum(a**D, sm))
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
    W1, W2 = np.asarray(W1, dtype=float), np.asarray(W2, dtype=float)
    U, V = np.asarray(U, dtype=float), np.asarray(V, dtype=float)
    if W1.shape[-1] != V.shape[0] or W2.shape[-2] != U.shape[0] or W1.shape[-2] != W2.shape[-1]:
        raise ValueError(f"shapes do not chain: W1 {W1.shape}, W2 {W2.shape}, U {U.shape}, V {V.shape}")
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
    s, t1, u1 = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (s, t1, u1)))
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
        f = lambda lu: float(learning_time(si, np.exp(lu), ui, D, tau)) - ti  # noqa: E731
        lo = np.log(ui) - 1.0
        while f(lo) < 0:
            lo -= 10.0
            if lo < -700:
                raise ValueError("no positive initial strength reaches u1 by t1")
        out[i] = np.exp(brentq(f, lo, np.log(ui) - 1e-12, xtol=1e-13))
    return out


def balancedness(weights) -> list[np.ndarray]:
    r"""``W_{l+1}^T W_{l+1} - W_l W_l^T`` for l = 1..D-1: conserved by gradient flow.

    From ``tau dW_l/dt = -dL/dW_l`` with ``L`` a function of the product only,
    ``d/dt (W_{l+1}^T W_{l+1}) = d/dt (W_l W_l^T)`` (Saxe et al. 2014; Arora et al.
    2018, Thm. 1). Decoupled and orthogonal initialisations have it zero; small random
    ones have it small. ``weights``: D arrays ``(..., n_l, n_{l-1})``.
    """
    Ws = [np.asarray(w, dtype=float) for w in weights]
    return [np.swapaxes(Ws[l + 1], -1, -2) @ Ws[l + 1] - Ws[l] @ np.swapaxes(Ws[l], -1, -2)
            for l in range(len(Ws) - 1)]


# ---------------------------------------------------------------------------
# Depth and initialisation (seed review Fig. 4c; Saxe et al. 2014, Secs. 3-5)
# ---------------------------------------------------------------------------
DEPTH_INITS = ("small", "pretrained", "orthogonal")


def depth_learning_rate(s_max, depth: int, kappa: float = 0.5, tau: float = 1.0) -> float:
    r"""The learning rate prescribed at depth D: ``lr = kappa * 2 / (D s_max^{2-2/D})``.

    ``2 / (D s^{2-2/D})`` is the stable limit of full-batch GD at the balanced solution
    (:func:`mode_rate`); it scales as 1/D (Saxe et al. 2014, Sec. 3: "the optimal
    learning rate scales as O(1/N_l)"). ``kappa`` in (0, 1) is the fraction of that
    limit, held fixed across depths. Whitened input.
    """
    if not 0 < kappa < 1:
        raise ValueError(f"kappa must lie in (0, 1) (a fraction of the stable limit), got {kappa}")
    return float(kappa * 2.0 / mode_rate(float(s_max), depth, tau))


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
    from scipy.integrate import quad

    D = _check_depth(depth)
    tau = _check_tau(tau)
    s, uf, c0 = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (s, u_final, c0)))
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
    t = np.asarray(t, dtype=float)
    lam0 = np.asarray(lam0, dtype=complex)
    if np.any(t < 0):
        raise ValueError("times must be non-negative")
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

        sol = solve_ivp(rhs, (0.0, t_end), np.zeros(d.size), method="LSODA", rtol=1e-11, atol=1e-12,
                        dense_output=True)
        if not sol.success:
            raise RuntimeError(f"orthogonal_eigen_trajectory: integration failed ({sol.message})")
        log_rho[finite] = sol.sol(flat_t[finite]).T
    rho = np.exp(log_rho)
    rho[~finite] = 0.0
    lam = s + d[None, :] * rho
    return lam.reshape(t.shape + lam0.shape)


def orthogonal_learning_time(lam0, s: float, depth: int, delta: float = 0.01, tau: float = 1.0) -> float:
    r"""Time until the relative excess loss ``sum_k |lambda_k - s|^2 / (N s^2)`` reaches ``delta``.

    ``lam0`` holds the N eigenvalues of ``Q^T M(0)`` of one network
    (:func:`orthogonal_eigen_trajectory`). ``inf`` if an eigenvalue sits at -1.
    """
    from scipy.integrate import solve_ivp

    D = _check_depth(depth)
    tau = _check_tau(tau)
    d = np.asarray(lam0, dtype=complex).ravel() - s
    N = d.size
    if np.sum(np.abs(d) ** 2) / (N * s * s) <= delta:
        return 0.0
    p = 2.0 - 2.0 / D

    def rhs(_, y):
        return -D * np.abs(s + d * np.exp(y)) ** p / tau

    def event(_, y):
        return np.log(np.sum(np.abs(d) ** 2 * np.exp(2 * y)) / (N * s * s)) - np.log(delta)

    event.terminal = True
    t_max = 1e6 * tau
    sol = solve_ivp(rhs, (0.0, t_max), np.zeros(N), method="LSODA", rtol=1e-10, atol=1e-12, events=event)
    return float(sol.t_events[0][0]) if sol.t_events[0].size else np.inf


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
    r"""Learning time in GD *steps* versus depth for three initialisations (seed review Fig. 4c).

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
    if init not in DEPTH_INITS:
        raise ValueError(f"init must be one of {DEPTH_INITS}, got {init!r}")
    if not 0 < delta < 1:
        raise ValueError(f"delta must lie in (0, 1), got {delta}")
    depths = [_check_depth(int(D)) for D in np.atleast_1d(depths)]
    uf = (1.0 - np.sqrt(delta)) * s
    out = []
    for D in depths:
        lr = depth_learning_rate(s, D, kappa, tau)
        if init == "small":
            t = float(learning_time(s, gain**D, uf, D, tau))
            steps = t / lr
        elif init == "pretrained":
            # a balanced autoencoder stopped at strength ae_fraction has encoder gain sqrt(ae_fraction)
            b0 = float(np.sqrt(ae_fraction)) if D >= 2 else 1.0
            steps = float(pretrained_learning_time(s, uf, D, c0=c0, b0=b0, tau=tau)) / lr
            if count_pretraining and D >= 2:
                lr_ae = depth_learning_rate(1.0, 2, kappa, tau)
                steps += (D - 1) * float(learning_time(1.0, ae_u0, ae_fraction, 2, tau)) / lr_ae
        else:
            if lam0 is None:
                if uf <= 1.0:
                    raise ValueError("the aligned proxy needs (1 - sqrt(delta)) s > 1")
                steps = float(learning_time(s, 1.0, uf, D, tau)) / lr
            else:
                lam = np.atleast_2d(np.asarray(lam0, dtype=complex))
                ts = np.array([orthogonal_learning_time(l, s, D, delta, tau) for l in lam])
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
    package (here, :mod:`theory.semantic`, :mod:`theory.lambda_balanced`) are checked
    against. ``weights``: D arrays ``(n_l, n_{l-1})``; ``Sxx`` (N_in, N_in), ``Syx``
    (N_out, N_in); ``t`` increasing non-negative times. Returns D arrays
    ``(len(t), n_l, n_{l-1})``.
    """
    from scipy.integrate import solve_ivp

    Ws0 = [np.asarray(w, dtype=float) for w in weights]
    Sxx, Syx = np.asarray(Sxx, dtype=float), np.asarray(Syx, dtype=float)
    t = np.asarray(t, dtype=float)
    tau = _check_tau(tau)
    if t.ndim != 1 or np.any(t < 0) or np.any(np.diff(t) < 0):
        raise ValueError("t must be a 1-D array of increasing non-negative times")
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
    sol = solve_ivp(rhs, (0.0, float(t[-1]) if t.size else 0.0), z0, t_eval=t, method="DOP853",
                    rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    return [p.T.reshape(-1, *sh) for p, sh in zip(np.split(sol.y, splits, axis=0), shapes)]
