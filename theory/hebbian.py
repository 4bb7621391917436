r"""Hebbian learning of principal components: Oja's subspace rule and Sanger's rule, exactly.

A single linear layer ``y = W x`` (``W``: (k, N), k <= N) sees inputs with covariance
``C = E[x x^T]`` (N x N, symmetric positive semidefinite). Oja's subspace rule and Sanger's
generalised Hebbian algorithm (GHA) update, sample by sample,

.. math::

    \Delta W = lr\,(y x^T - y y^T W)\quad\text{(Oja)},\qquad
    \Delta W = lr\,(y x^T - \mathrm{LT}(y y^T) W)\quad\text{(Sanger)},

(``LT`` keeps the lower triangle with the diagonal), whose mean flows in time ``t = lr * step`` are

.. math::

    \dot W = W C - W C W^T W,\qquad \dot W = W C - \mathrm{LT}(W C W^T) W

(Oja 1982, 1989; Sanger 1989). (docs: Local learning rules, "Hebbian learning of principal
components".)

**Oja's flow in closed form.** With ``Z(t) = W_0 e^{Ct}`` the solution is ``W(t) = K(t) Z(t)``
with a k x k matrix ``K`` (``K(0) = I``) that obeys ``K' = -K (Z C Z^T) K^T K``. Its Gram matrix
``P = K^T K`` solves the Riccati equation ``P' = -P S' P`` with ``S = Z Z^T``, hence

.. math::

    P(t) = \big(I + W_0 (e^{2Ct} - I) W_0^T\big)^{-1},\qquad
    W^T W(t) = e^{Ct} W_0^T P(t) W_0 e^{Ct}

(Yan, Helmke & Moore 1994). ``K = Q P^{1/2}`` with ``Q`` orthogonal: ``W(t)`` is the symmetric-root
formula ``P^{1/2} W_0 e^{Ct}`` times a k x k rotation ``Q(t)`` that has no closed form in general
(it is the identity when every matrix involved commutes, e.g. for k = 1 or an eigenvector start).
:func:`oja_flow` evaluates ``P`` and the Gram matrix in closed form and integrates the k x k
linear equation ``K' = -K (Z C Z^T) P`` (float64, LSODA, rtol 1e-13), then takes ``Q`` from the
polar factor of the integrated ``K`` and ``P^{1/2}`` from the closed form. The flow is autonomous,
so it is evaluated in pieces of length ``3 / lambda_max(C)`` (each restarted from the exact state
at its start), which keeps ``e^{2Ct}`` well conditioned at any time (derived here).

**Sanger's flow.** Its first row is Oja's single-unit flow, ``w_1(t) = e^{Ct} w_1(0) /
\sqrt{1 + w_1(0)^T (e^{2Ct} - I) w_1(0)}`` (k = 1 of the formula above); the later rows are driven
by the deflated covariance and have no closed form, so :func:`sanger_flow` integrates the
k x N equation in float64 (DOP853, rtol 1e-12), to the fixed point for ``t = inf``.
"""
from __future__ import annotations

import numpy as np

from .deep_linear import learning_time, mode_strength
from .validation import as_array, as_bool, as_choice, as_float, as_int, as_times

__all__ = [
    "RULES",
    "oja_flow",
    "oja_gram",
    "oja_unit_flow",
    "sanger_flow",
    "hebbian_rhs",
    "integrate_hebbian_flow",
    "principal_angles",
    "principal_subspace_error",
    "top_eigenvectors",
    "reconstruction_loss",
    "as_covariance",
    "LinearAutoencoderTheory",
]

RULES = ("oja", "sanger")

#: relative asymmetry of C allowed (C is symmetrised after the check)
SYMMETRY_RTOL = 1e-10
#: length of one closed-form piece of :func:`oja_flow` in units of 1 / lambda_max
PIECE = 3.0
#: the fixed point counts as reached when one more piece moves W by less than this (max-abs, relative)
FIXED_POINT_TOL = 1e-13
#: at most this many pieces to reach the fixed point (t = inf)
MAX_PIECES = 200_000
#: limit on N (the covariance is N x N)
MAX_N = 4096


# --------------------------------------------------------------------------- validation
def as_covariance(C) -> np.ndarray:
    """``C`` checked as an (N, N) covariance (finite, symmetric to 1e-10 relative, positive
    semidefinite) and symmetrised; ValueError/TypeError naming ``C`` otherwise."""
    return _check_cov(C)


def _check_cov(C) -> np.ndarray:
    C = as_array(C, "C", ndim=2)
    N = C.shape[0]
    if C.shape != (N, N):
        raise ValueError(f"C must be a square (N, N) covariance, got shape {C.shape}")
    if N > MAX_N:
        raise ValueError(f"C has N = {N} > {MAX_N} inputs (the largest size handled)")
    scale = max(float(np.max(np.abs(C))), np.finfo(float).tiny)
    if np.max(np.abs(C - C.T)) > SYMMETRY_RTOL * scale:
        raise ValueError(f"C must be symmetric; max|C - C^T| = {np.max(np.abs(C - C.T)):.3g}")
    C = 0.5 * (C + C.T)
    lam = np.linalg.eigvalsh(C)
    if lam[0] < -1e-10 * scale:
        raise ValueError(f"C must be positive semidefinite (a covariance); its smallest eigenvalue is {lam[0]:.3g}")
    return C


def _check_W0(W0, N: int, name: str = "W0") -> np.ndarray:
    W0 = as_array(W0, name, ndim=2)
    k = W0.shape[0]
    if W0.shape[1] != N:
        raise ValueError(f"{name} must have shape (k, N) with N = {N} (the size of C), got {W0.shape}")
    if k > N:
        raise ValueError(f"{name} has k = {k} rows > N = {N}: at most N principal components exist")
    return W0


def _eig_desc(C: np.ndarray):
    lam, V = np.linalg.eigh(C)
    lam = np.clip(lam[::-1], 0.0, None)
    return lam, V[:, ::-1]


# --------------------------------------------------------------------------- measures
def top_eigenvectors(C, k: int):
    """The top-``k`` eigenvalues (descending) and eigenvectors (N, k) of the covariance ``C``."""
    C = _check_cov(C)
    k = as_int(k, "k", low=1, high=C.shape[0])
    lam, V = _eig_desc(C)
    return lam[:k], V[:, :k]


def _row_basis(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal bases (..., N, k) of the row spaces of W (..., k, N) and a mask of the used columns."""
    U, s, Vt = np.linalg.svd(W, full_matrices=False)
    tol = np.max(s, axis=-1, keepdims=True) * max(W.shape[-2:]) * np.finfo(float).eps
    used = s > tol
    return np.swapaxes(Vt, -1, -2) * used[..., None, :], used


def principal_angles(W, C, k: int | None = None) -> np.ndarray:
    r"""Principal angles (radians, ascending) between the row space of ``W`` and the top-k eigenspace of ``C``.

    ``W``: (..., k_W, N) (leading axes batch), ``k`` defaults to k_W. A row space of rank
    r < k (e.g. ``W = 0``) has ``k - r`` angles of ``pi/2``. The top-k eigenspace must be unique
    (``lambda_k > lambda_{k+1}``), else a ValueError. Returns (..., k).
    """
    C = _check_cov(C)
    W = as_array(W, "W", ndim=range(2, 64))
    N = C.shape[0]
    if W.shape[-1] != N:
        raise ValueError(f"W must have N = {N} columns (the size of C), got shape {W.shape}")
    k = W.shape[-2] if k is None else as_int(k, "k", low=1, high=N)
    if k > W.shape[-2] and k > 0:
        pass  # missing rows count as angles of pi/2
    lam, V = _eig_desc(C)
    if k < N and not lam[k - 1] - lam[k] > 1e-12 * max(lam[0], np.finfo(float).tiny):
        raise ValueError(f"the top-{k} principal subspace of C is not unique (lambda_{k} = lambda_{k + 1} = "
                         f"{lam[k - 1]:.6g}); principal angles to it are undefined")
    return np.arccos(_principal_cosines(W, V[:, :k], k))


def _principal_cosines(W: np.ndarray, Vk: np.ndarray, k: int) -> np.ndarray:
    B, _ = _row_basis(W)  # (..., N, kW)
    cos = np.linalg.svd(np.swapaxes(B, -1, -2) @ Vk, compute_uv=False)  # (..., min(kW, k)) descending
    cos = np.clip(cos, 0.0, 1.0)
    m = cos.shape[-1]
    if m < k:
        cos = np.concatenate([cos, np.zeros(cos.shape[:-1] + (k - m,))], axis=-1)
    return cos[..., :k]


def principal_subspace_error(W, C, k: int | None = None) -> np.ndarray:
    r"""``sum_i sin^2 theta_i`` over the k principal angles of :func:`principal_angles`.

    Equals ``||P_W - P_k||_F^2 / 2`` for a rank-k ``W`` (``P`` the orthogonal projectors); 0 on the
    top-k principal subspace, ``k`` when orthogonal to it. Shape: the leading axes of ``W``.
    """
    th = principal_angles(W, C, k)  # validates
    return np.sum(np.sin(th) ** 2, axis=-1)


def reconstruction_loss(W, C) -> np.ndarray:
    r"""Mean reconstruction loss ``E|x - W^T W x|^2 / 2 = tr((I - W^T W) C (I - W^T W)) / 2`` (tied weights)."""
    C = _check_cov(C)
    W = as_array(W, "W", ndim=range(2, 64))
    if W.shape[-1] != C.shape[0]:
        raise ValueError(f"W must have N = {C.shape[0]} columns, got shape {W.shape}")
    R = np.eye(C.shape[0]) - np.swapaxes(W, -1, -2) @ W
    return 0.5 * np.einsum("...ij,jk,...ik->...", R, C, R)


# --------------------------------------------------------------------------- Oja: closed form
def oja_gram(C, W0, t) -> np.ndarray:
    r"""``W^T W(t)`` of Oja's subspace flow in closed form (Yan, Helmke & Moore 1994), shape ``t.shape + (N, N)``.

    ``W^T W = e^{Ct} W_0^T (I + W_0 (e^{2Ct} - I) W_0^T)^{-1} W_0 e^{Ct}``; ``t = inf`` gives the limit
    (the projector onto the top-k principal subspace for a generic start). Evaluated through
    :func:`oja_flow` (pieces of bounded length), so it is exact to rounding at every time.
    """
    W = oja_flow(C, W0, t)
    return np.swapaxes(W, -1, -2) @ W


def oja_unit_flow(C, w0, t) -> np.ndarray:
    r"""Oja's single-unit flow ``w' = C w - (w^T C w) w`` in closed form (Oja 1982):
    ``w(t) = e^{Ct} w_0 / sqrt(1 + w_0^T (e^{2Ct} - I) w_0)``. ``w0``: (N,); returns ``t.shape + (N,)``.

    ``t = inf`` gives ``v_1 sign(v_1.w_0)`` (the top eigenvector) when ``v_1.w_0 != 0`` and the
    top eigenvalue is simple; else the limit along the top eigenspace that ``w_0`` reaches."""
    C = _check_cov(C)
    w0 = as_array(w0, "w0", ndim=1)
    W = _check_W0(w0[None, :], C.shape[0], "w0")
    t = as_times(t)
    return _oja_flow(C, W, t)[..., 0, :]


def oja_flow(C, W0, t) -> np.ndarray:
    r"""Oja's subspace flow ``W' = W C - W C W^T W`` from ``W0`` (k, N): the actual ``W(t)``, shape ``t.shape + (k, N)``.

    Closed-form Gram matrix and symmetric root, times the k x k rotation integrated in float64
    (module docstring). Any ``t >= 0`` including ``np.inf`` (the fixed point: rows spanning the
    top-k principal subspace, orthonormal, for a full-rank start not orthogonal to it). The cost
    grows with ``lambda_max t`` (pieces of length ``3/lambda_max``) until the fixed point: once one
    piece moves ``W`` by less than 1e-13 (relative) every later time, and ``t = inf``, gets that ``W``
    (so ``t = 1e12`` costs what ``t = inf`` does); at most 200000 pieces.
    """
    C = _check_cov(C)
    W0 = _check_W0(W0, C.shape[0])
    t = as_times(t)
    return _oja_flow(C, W0, t)


def _oja_piece(lam: np.ndarray, V: np.ndarray, Wa: np.ndarray, taus: np.ndarray, with_end: float | None):
    """W at the offsets ``taus`` (sorted, within one piece) from ``Wa`` (exact state), and at ``with_end``."""
    from scipy.integrate import odeint

    k = Wa.shape[0]
    B = Wa @ V  # (k, N) in the eigenbasis
    I = np.eye(k)
    BBt = B @ B.T

    def F_of(tau):
        return B * np.exp(lam * tau)[None, :]

    def P_of(F):
        return np.linalg.inv(I - BBt + F @ F.T)

    targets = list(taus) + ([with_end] if with_end is not None else [])
    tmax = max(targets) if targets else 0.0
    if k == 1 or tmax == 0.0:
        Ks = None
    else:
        def rhs(y, tau):
            F = F_of(tau)
            return (-y.reshape(k, k) @ ((F * lam[None, :]) @ F.T) @ P_of(F)).ravel()

        # below tau lambda_max = 1e-7 the rotation differs from I by O(tau^2): rounding
        grid = np.unique(np.concatenate([[0.0], [x for x in targets if x * lam[0] >= 1e-7]]))
        Y, info = (I.ravel()[None], {"message": "Integration successful."}) if grid.size == 1 else \
            odeint(rhs, I.ravel(), grid, rtol=1e-13, atol=1e-15, full_output=True, mxstep=100000)
        if info["message"] != "Integration successful.":
            raise RuntimeError(f"oja_flow: integration of the rotation failed ({info['message']})")
        Ks = {float(tt): Y[i].reshape(k, k) for i, tt in enumerate(grid)}
    out = []
    for tau in targets:
        F = F_of(tau)
        P = P_of(F)
        P = 0.5 * (P + P.T)
        ev, Ev = np.linalg.eigh(P)
        Ph = (Ev * np.sqrt(np.clip(ev, 0.0, None))) @ Ev.T  # P^{1/2}, closed form
        if Ks is None or float(tau) not in Ks:
            Q = I
        else:
            Uk, _, Vk = np.linalg.svd(Ks[float(tau)])
            Q = Uk @ Vk  # polar factor of the integrated K = Q P^{1/2}
        out.append(Q @ Ph @ F @ V.T)
    return out


def _oja_flow(C: np.ndarray, W0: np.ndarray, t: np.ndarray) -> np.ndarray:
    lam, V = _eig_desc(C)
    k, N = W0.shape
    flat = t.ravel()
    res = np.empty((flat.size, k, N))
    if lam[0] == 0.0:  # C = 0: every W is a fixed point
        res[:] = W0
        return res.reshape(t.shape + (k, N))
    h = PIECE / lam[0]
    finite = np.isfinite(flat)
    order = np.argsort(np.where(finite, flat, np.inf), kind="stable")
    Wa, ta = W0.copy(), 0.0
    i, n = 0, flat.size
    n_fin = int(finite.sum())
    for _ in range(MAX_PIECES + int(np.max(flat[finite], initial=0.0) / h) + 1):
        if i == n:
            return res.reshape(t.shape + (k, N))
        # the finite times inside the current piece [ta, ta + h]
        j = i
        while j < n_fin and flat[order[j]] <= ta + h:
            j += 1
        taus = [float(flat[order[m]] - ta) for m in range(i, j)]
        last = j == n  # no later time (finite or inf) to reach
        outs = _oja_piece(lam, V, Wa, taus, None if last else h)
        for m in range(i, j):
            res[order[m]] = outs[m - i]
        i = j
        if not last:
            Wn = outs[-1]
            moved = np.max(np.abs(Wn - Wa)) / max(1.0, float(np.max(np.abs(Wn))))
            Wa, ta = Wn, ta + h
            if moved < FIXED_POINT_TOL:  # the fixed point: every later time (and t = inf) has this W
                res[order[i:]] = Wa
                return res.reshape(t.shape + (k, N))
    raise RuntimeError(f"oja_flow: the fixed point was not reached within {MAX_PIECES} pieces "
                       f"(eigenvalue gap too small relative to lambda_max)")


# --------------------------------------------------------------------------- reference integration
def hebbian_rhs(W, C, rule: str = "oja") -> np.ndarray:
    r"""The mean flow ``dW/dt`` of ``rule`` at ``W`` (k, N): ``W C - W C W^T W`` (Oja) or
    ``W C - LT(W C W^T) W`` (Sanger)."""
    rule = as_choice(rule, "rule", RULES)
    C = _check_cov(C)
    W = _check_W0(W, C.shape[0], "W")
    return _rhs(W, C, rule)


def _rhs(W: np.ndarray, C: np.ndarray, rule: str) -> np.ndarray:
    WC = W @ C
    M = WC @ W.T
    if rule == "sanger":
        M = np.tril(M)
    return WC - M @ W


def integrate_hebbian_flow(C, W0, t, rule: str = "oja", *, rtol: float = 1e-12, atol: float = 1e-14) -> np.ndarray:
    r"""Reference solution of the mean flow of ``rule`` by direct integration (SciPy DOP853, float64).

    No closed form: what :func:`oja_flow` is checked against, and how :func:`sanger_flow` is
    computed. ``t``: finite, non-decreasing times; returns ``t.shape + (k, N)``.
    """
    from scipy.integrate import solve_ivp

    rule = as_choice(rule, "rule", RULES)
    C = _check_cov(C)
    W0 = _check_W0(W0, C.shape[0])
    t = as_times(t, allow_inf=False, increasing=True)
    rtol = as_float(rtol, "rtol", low=0.0, high=1.0, open_low=True)
    atol = as_float(atol, "atol", low=0.0, open_low=True)
    k, N = W0.shape
    flat = t.ravel()
    if flat.size == 0 or flat[-1] == 0.0:
        return np.broadcast_to(W0, t.shape + (k, N)).copy()
    te, back = np.unique(flat, return_inverse=True)
    sol = solve_ivp(lambda _, y: _rhs(y.reshape(k, N), C, rule).ravel(), (0.0, float(te[-1])), W0.ravel(),
                    method="DOP853", t_eval=te, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"integrate_hebbian_flow: {sol.message}")
    return sol.y[:, back.ravel()].T.reshape(t.shape + (k, N))


def sanger_flow(C, W0, t) -> np.ndarray:
    r"""Sanger's flow ``W' = W C - LT(W C W^T) W`` from ``W0`` (k, N), shape ``t.shape + (k, N)``.

    Row 1 is Oja's single-unit flow (closed form, :func:`oja_unit_flow`); the flow as a whole has
    no closed form and is integrated in float64 (DOP853, rtol 1e-12). ``t = inf``: the fixed
    point, reached by integrating until ``max|dW/dt| < 1e-12 lambda_max`` and then, when the top
    k + 1 eigenvalues are distinct, snapped to the exact eigenvectors: row i becomes
    ``sign(w_i . v_i) v_i`` (the ordered top-k eigenvectors, Sanger 1989).
    """
    C = _check_cov(C)
    W0 = _check_W0(W0, C.shape[0])
    t = as_times(t)
    k, N = W0.shape
    flat = t.ravel()
    finite = np.isfinite(flat)
    out = np.empty((flat.size, k, N))
    if finite.any():
        out[finite] = _settling_integration(C, W0, flat[finite], "sanger")
    if (~finite).any():
        out[~finite] = _sanger_fixed_point(C, W0)
    return out.reshape(t.shape + (k, N))


def _settling_integration(C: np.ndarray, W0: np.ndarray, times: np.ndarray, rule: str) -> np.ndarray:
    """The flow at ``times`` (any order), integrated (DOP853, rtol 1e-12) until it settles
    (``max|dW/dt| < 1e-12 lambda_max``); later times get the settled state, so huge times cost little."""
    from scipy.integrate import solve_ivp

    k, N = W0.shape
    lam0 = float(np.linalg.eigvalsh(C)[-1])
    te, back = np.unique(times, return_inverse=True)
    if te[-1] == 0.0 or lam0 == 0.0:
        return np.broadcast_to(W0, (times.size, k, N)).copy()

    def rhs(_, y):
        return _rhs(y.reshape(k, N), C, rule).ravel()

    def settled(_, y):
        return np.max(np.abs(rhs(_, y))) - 1e-12 * lam0

    settled.terminal = True
    sol = solve_ivp(rhs, (0.0, float(te[-1])), W0.ravel(), method="DOP853", t_eval=te, rtol=1e-12, atol=1e-14,
                    events=settled)
    if sol.status == -1:
        raise RuntimeError(f"{rule} flow integration failed: {sol.message}")
    Y = np.empty((te.size, k * N))
    m = len(sol.t)  # a list when the flow settled before the first output time
    if m:
        Y[:m] = np.asarray(sol.y).T
    Y[m:] = sol.y_events[0][0] if sol.status == 1 else np.asarray(sol.y)[:, -1]
    return Y[back.ravel()].reshape(times.size, k, N)


def _sanger_fixed_point(C: np.ndarray, W0: np.ndarray) -> np.ndarray:
    lam, V = _eig_desc(C)
    k, N = W0.shape
    if lam[0] == 0.0:
        return W0.copy()
    W, T = W0.copy(), 0.0
    h = 20.0 / lam[0]
    for _ in range(MAX_PIECES // 100):
        W = integrate_hebbian_flow(C, W, np.array([h]), "sanger")[0]
        T += h
        if np.max(np.abs(_rhs(W, C, "sanger"))) < 1e-12 * lam[0]:
            break
    else:
        raise RuntimeError("sanger_flow: the fixed point was not reached (eigenvalue gaps too small)")
    gaps = -np.diff(lam[: min(k + 1, N)])
    if np.all(gaps > 1e-9 * lam[0]):
        ov = np.einsum("in,ni->i", W, V[:, :k])
        if np.all(np.abs(ov) > 0.5):
            return np.sign(ov)[:, None] * V[:, :k].T
    return W


# --------------------------------------------------------------------------- linear autoencoders
class LinearAutoencoderTheory:
    r"""Exact learning dynamics of a deep linear autoencoder (``Y = X``), mode by mode.

    A depth-D linear network trained by gradient flow on ``L = (1/2P) sum_mu |x_mu - W_D..W_1 x_mu|^2``
    is the deep linear theory (Saxe, McClelland & Ganguli 2014) with ``Sigma^{yx} = Sigma^{xx} = C``
    (``C = X X^T / P``, eigenvalues ``lambda_a``, eigenvectors ``v_a``): from decoupled (aligned,
    balanced) initial conditions ``W = sum_a u_a v_a v_a^T`` and each strength obeys
    ``tau du/dt = D u^{2-2/D} lambda (1 - u)`` -- the whitened mode equation with strength 1 in time
    ``lambda t`` (docs: Local learning rules, "Linear autoencoders"), so

    .. math::  u_a(t) = u_{\rm mode}(\lambda_a t;\ s = 1,\ u_0,\ D)

    (:func:`idealnets.theory.deep_linear.mode_strength`): principal components are learned one by one,
    largest eigenvalue first, after the depth-dependent plateau (none at D = 1). With ``tied=True``
    (depth 2, decoder ``W_2 = W_1^T``, gradient with respect to the shared ``W_1``),
    ``tau du/dt = 4 lambda u (1 - u)``: the untied D = 2 sigmoid at twice the speed (derived here).
    A network with ``hidden < N`` units learns the top ``hidden`` modes; the others stay at 0.

    Parameters
    ----------
    X : (N, P) inputs (samples as columns; not centred here).
    depth : D >= 1 (``tied`` needs D = 2).
    u0 : initial strength of every mode (scalar) or per mode ((N,), eigenvalue order, descending).
    tied : decoder tied to the encoder's transpose.
    hidden : the narrowest layer's width (default N).
    tau : time constant.
    """

    def __init__(self, X, depth: int = 2, u0=1e-3, tied: bool = False, hidden: int | None = None,
                 tau: float = 1.0):
        X = as_array(X, "X", ndim=2)
        self.depth = as_int(depth, "depth", low=1, high=64)
        self.tied = as_bool(tied, "tied")
        if self.tied and self.depth != 2:
            raise ValueError(f"tied weights are defined for depth 2 (encoder and its transpose), got depth {self.depth}")
        self.tau = as_float(tau, "tau", low=0.0, open_low=True)
        N, P = X.shape
        self.C = X @ X.T / P
        lam, V = _eig_desc(self.C)
        if not lam[0] > 0:
            raise ValueError("X is all zeros: there is nothing to reconstruct")
        self.eigenvalues, self.V = lam, V
        self.hidden = N if hidden is None else as_int(hidden, "hidden", low=1)
        self.n_modes = min(self.hidden, N)
        u0 = as_array(u0, "u0", ndim=(0, 1), low=0.0 if self.depth >= 2 else None)
        if u0.ndim == 1 and u0.size != N:
            raise ValueError(f"u0 must be a scalar or have one entry per mode ({N}), got {u0.size}")
        self.u0 = np.broadcast_to(u0, (N,)).copy()
        self.u0[self.n_modes:] = 0.0

    def _rate(self):
        return (2.0 if self.tied else 1.0) * self.eigenvalues

    def mode_strengths(self, t) -> np.ndarray:
        """``u_a(t)``, shape ``t.shape + (N,)`` (modes in descending eigenvalue order; 0 beyond ``hidden``)."""
        t = as_times(t)
        with np.errstate(invalid="ignore"):
            tt = np.where(np.isinf(t[..., None]), np.inf, t[..., None] * self._rate())
        tt = np.where(np.isnan(tt), 0.0, tt)  # 0 * inf for a zero eigenvalue: that mode never moves
        u = mode_strength(tt, 1.0, self.u0, self.depth, self.tau)
        zero = self.eigenvalues == 0
        return np.where(zero, self.u0, u)

    def map(self, t) -> np.ndarray:
        """The total map ``sum_a u_a(t) v_a v_a^T``, shape ``t.shape + (N, N)``."""
        u = self.mode_strengths(t)
        return (self.V * u[..., None, :]) @ self.V.T

    def loss(self, t) -> np.ndarray:
        r"""Reconstruction loss ``L(t) = (1/2) sum_a lambda_a (1 - u_a)^2``."""
        u = self.mode_strengths(t)
        return 0.5 * np.sum(self.eigenvalues * (1.0 - u) ** 2, axis=-1)

    def learning_times(self, fraction: float = 0.5) -> np.ndarray:
        """Time for each learned mode (the top ``hidden``) to reach ``fraction`` of full strength."""
        fraction = as_float(fraction, "fraction", low=0.0, high=1.0, open_low=True, open_high=True)
        m = self.n_modes
        lam = self._rate()[:m]
        u0 = self.u0[:m]
        if np.any(u0 >= fraction):
            raise ValueError(f"u0 must be below fraction = {fraction} for every learned mode")
        with np.errstate(divide="ignore"):
            t = learning_time(1.0, np.maximum(u0, np.finfo(float).tiny) if self.depth >= 2 else u0, fraction,
                              self.depth, self.tau) / lam
        return np.where((u0 == 0) & (self.depth >= 2), np.inf, t)
