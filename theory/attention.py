r"""Training dynamics of in-context linear regression in multi-head linear attention.

After Zhang, Singh, Latham & Saxe (2025), "Training dynamics of in-context learning in linear
attention" (ICML 2025). Conventions, equations and derivations: (docs: Attention and in-context
learning, "Conventions"); the derivations marked there as ours are ours.

**Task** (:class:`InContextTask`). A prompt holds ``N`` context examples ``x_n ~ N(0, Lambda)``
(``D`` dimensions) with labels ``y_n = w^T x_n`` and a query ``x_q`` whose label ``y_q = w^T x_q``
is to be predicted; the task vector ``w ~ N(0, I_D)`` is drawn afresh for every prompt (the
paper's choice). Tokens are the columns ``(x_n, y_n)`` and ``(x_q, 0)`` of a ``(D+1, N+1)``
matrix ``X``. Loss: ``L = E[(yhat - y_q)^2] / 2``; times are gradient-flow times ``t = lr * step``.

**The predictor class.** On the invariant subspace where the value's ``x -> y`` block and the
key-query's ``y``-row (merged) or the key's ``y``-column (separate) vanish, every head's output
at the query's label is ``h^T M x_q`` with ``h = (1/N) sum_n y_n x_n`` and a ``D x D`` matrix
``M``, so the network computes ``yhat = h^T beta x_q`` with

* merged key-query: ``beta = sum_i v_i K_i`` (value scalar ``v_i``, key-query block ``K_i``),
  a two-layer linear network on the cubic feature ``z = h x_q^T``;
* separate key and query (rank one): ``beta = sum_i v_i k_i q_i^T``.

The population loss of ``beta`` is quadratic (ours, in these conventions):
``L(beta) = (tr Lambda - 2 <beta, Lambda^2> + <beta, G beta Lambda>) / 2`` with
``G = E[Lambda_hat^2] = (1 + 1/N) Lambda^2 + tr(Lambda) Lambda / N``. In the eigenbasis of
``Lambda`` (eigenvalues ``lambda_d``, descending) it decouples: the target is
``b_d = lambda_d^2`` on the diagonal, the curvature ``a_{dd'} = g_d lambda_{d'}`` with
``g_d = (1 + 1/N) lambda_d^2 + tr(Lambda) lambda_d / N``.

**Merged** (:class:`MergedKQTheory`): two fixed points, ``beta = 0`` (loss ``tr Lambda / 2``)
and ``beta* = G^{-1} Lambda`` (loss ``sum_d lambda_d (lambda_d + T) / ((N+1) lambda_d + T) / 2``,
``T = tr Lambda``), and a single abrupt drop from one to the other. From the aligned, balanced
initialisation every head ``v_i = init_scale``, ``K_i = init_scale * B/|B|`` (``B = Lambda^2``)
the heads stay identical and the flow reduces to one neuron ``(u, kappa)`` with
``u^2 = |kappa|^2 = s``; for isotropic ``Lambda`` the projection ``s`` is logistic (closed form),
otherwise the reduced ``(D+1)``-dimensional ODE is integrated in float64.

**Separate** (:class:`SeparateKQTheory`): heads initialised on eigenvectors of ``Lambda``
(``k_i = q_i = init_scale e_d``, ``v_i = init_scale``) stay there and decouple into scalar ODEs
``du/dt = u^2 (b_d - a_d m_d u^3)`` (``m_d`` heads on direction ``d``), solved here in closed
implicit form ``t(u)`` (ours) and inverted numerically; the loss descends a staircase whose
plateaus are the losses of principal component regression with ``k`` components
(:meth:`SeparateKQTheory.plateau_losses`), one more component per stage.
"""
from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from .validation import DivergenceError, as_array, as_float, as_int, as_times

__all__ = [
    "InContextTask",
    "MergedKQTheory",
    "SeparateKQTheory",
    "merged_parameter_flow",
    "separate_parameter_flow",
    "pcr_predict",
    "D_MAX",
    "H_MAX",
]

#: Largest input dimension accepted (the full parameter flow integrates H (D^2 + 1) variables).
D_MAX = 256
#: Largest number of heads accepted.
H_MAX = 4096
_N_MAX = 10**9


class InContextTask:
    r"""In-context linear regression: ``D`` dimensions, ``N`` context examples, input covariance ``Lambda``.

    ``Lambda`` is a symmetric positive-definite ``(D, D)`` matrix or its ``(D,)`` eigenvalues (then
    the eigenvectors are the standard basis). Task vectors ``w ~ N(0, I_D)``.
    (docs: Attention and in-context learning, "Conventions")

    Attributes: ``D``, ``N``, ``Lambda``, ``eigenvalues`` (descending), ``eigenvectors`` (columns),
    ``trace``, ``g`` (``E[Lambda_hat^2]`` in the eigenbasis), ``b`` (target ``lambda^2``),
    ``a`` (curvature ``g lambda`` on the diagonal), ``beta_star`` (the optimal ``D x D`` predictor).
    """

    def __init__(self, Lambda, N: int):
        L = as_array(Lambda, "Lambda", ndim=(1, 2))
        if L.ndim == 1:
            if not (L > 0).all():
                raise ValueError(f"the eigenvalues Lambda must be > 0, got min {L.min():g}")
            L = np.diag(L)
        D = L.shape[0]
        if L.shape != (D, D):
            raise ValueError(f"Lambda must be square, got shape {L.shape}")
        if D > D_MAX:
            raise ValueError(f"Lambda has D = {D} dimensions; at most D_MAX = {D_MAX}")
        if not np.allclose(L, L.T, rtol=1e-12, atol=1e-12 * np.abs(L).max()):
            raise ValueError("Lambda must be symmetric")
        lam, Q = np.linalg.eigh(0.5 * (L + L.T))
        if lam.min() <= 1e-12 * lam.max() or lam.max() <= 0:
            raise ValueError(f"Lambda must be positive definite, got eigenvalues down to {lam.min():g}")
        order = np.argsort(-lam, kind="stable")
        self.D = int(D)
        self.N = as_int(N, "N", low=1, high=_N_MAX)
        self.Lambda = 0.5 * (L + L.T)
        self.eigenvalues = lam[order]
        self.eigenvectors = Q[:, order]
        self.trace = float(lam.sum())
        lam = self.eigenvalues
        self.g = (1.0 + 1.0 / self.N) * lam**2 + self.trace * lam / self.N
        self.b = lam**2
        self.a = self.g * lam
        self.beta_star = (self.eigenvectors * (lam / self.g)) @ self.eigenvectors.T

    @property
    def isotropic(self) -> bool:
        """True when all eigenvalues of ``Lambda`` are equal (to 1e-12 relative)."""
        lam = self.eigenvalues
        return bool(lam.max() - lam.min() <= 1e-12 * lam.max())

    def loss(self, beta) -> np.ndarray:
        """Population loss ``E[(h^T beta x_q - y_q)^2]/2`` of ``beta`` (``(..., D, D)``)."""
        beta = as_array(beta, "beta", allow_empty=False)
        if beta.ndim < 2 or beta.shape[-2:] != (self.D, self.D):
            raise ValueError(f"beta must have shape (..., {self.D}, {self.D}), got {beta.shape}")
        return self._loss(beta)

    def _loss(self, beta: np.ndarray) -> np.ndarray:
        Q, lam = self.eigenvectors, self.eigenvalues
        bt = Q.T @ beta @ Q
        diag = np.diagonal(bt, axis1=-2, axis2=-1)
        curv = np.einsum("...ij,i,j->...", bt**2, self.g, lam)
        return 0.5 * (self.trace - 2.0 * (diag * self.b).sum(-1) + curv)

    def loss_at_zero(self) -> float:
        """The loss of the zero predictor (the saddle at the origin): ``tr(Lambda) / 2``."""
        return 0.5 * self.trace

    def loss_min(self) -> float:
        """The smallest loss of the predictor class (at ``beta_star``): ``(T - sum_d b_d^2 / a_d) / 2``."""
        return float(0.5 * (self.trace - (self.b**2 / self.a).sum()))

    def pcr_loss(self, k: int) -> float:
        """Loss of the best predictor on the top ``k`` principal components (the plateau with ``k`` learned)."""
        k = as_int(k, "k", low=0, high=self.D)
        return float(0.5 * (self.trace - (self.b[:k] ** 2 / self.a[:k]).sum()))

    def predictor(self, k: int | None = None) -> np.ndarray:
        """The ``D x D`` matrix of the best predictor on the top ``k`` components (``None``: all, ``beta_star``)."""
        k = self.D if k is None else as_int(k, "k", low=0, high=self.D)
        Qk = self.eigenvectors[:, :k]
        return (Qk * (self.eigenvalues[:k] / self.g[:k])) @ Qk.T

    def predict(self, beta, X, y, x_q) -> np.ndarray:
        """In-context prediction ``h^T beta x_q`` for contexts ``X`` (``(..., D, N')``, examples as
        columns), labels ``y`` (``(..., N')``) and queries ``x_q`` (``(..., D)``); ``h = X y / N'``."""
        beta = as_array(beta, "beta", shape=(self.D, self.D))
        X = as_array(X, "X")
        y = as_array(y, "y")
        x_q = as_array(x_q, "x_q")
        if X.ndim < 2 or X.shape[-2] != self.D or y.shape != X.shape[:-2] + X.shape[-1:] \
                or x_q.shape != X.shape[:-2] + (self.D,):
            raise ValueError(f"X must be (..., {self.D}, N'), y (..., N') and x_q (..., {self.D}) with the "
                             f"same leading shape; got {X.shape}, {y.shape}, {x_q.shape}")
        h = np.einsum("...dn,...n->...d", X, y) / X.shape[-1]
        return np.einsum("...i,ij,...j->...", h, beta, x_q)


def pcr_predict(X, y, x_q, k: int, components) -> np.ndarray:
    r"""Principal component regression in context: least squares of ``y`` on the projections of the
    context ``X`` (``(..., D, N')``, examples as columns) onto the first ``k`` columns of
    ``components`` (``(D, >=k)``, orthonormal), evaluated at ``x_q`` (``(..., D)``).

    ``k = 0`` predicts 0. A context whose projected Gram matrix is singular (``N' < k``) gets the
    minimum-norm solution.
    """
    X = as_array(X, "X")
    y = as_array(y, "y")
    x_q = as_array(x_q, "x_q")
    V = as_array(components, "components", ndim=2)
    if X.ndim < 2 or X.shape[-2] != V.shape[0]:
        raise ValueError(f"X must be (..., D, N') with D = {V.shape[0]} rows (components' rows), got {X.shape}")
    k = as_int(k, "k", low=0, high=V.shape[1])
    if k == 0:
        return np.zeros(X.shape[:-2])
    Vk = V[:, :k]
    P = np.einsum("dk,...dn->...nk", Vk, X)  # (..., N', k)
    coef = np.linalg.pinv(P) @ y[..., None]  # (..., k, 1)
    return np.einsum("...d,dk,...k->...", x_q, Vk, coef[..., 0])


def _check_task(task) -> InContextTask:
    if not isinstance(task, InContextTask):
        raise TypeError(f"task must be an InContextTask, got {type(task).__name__}")
    return task


class MergedKQTheory:
    r"""Gradient flow of multi-head linear attention with merged key-query (Zhang et al. 2025).

    Built from the task, the number of heads ``H`` and the ``init_scale`` of the aligned, balanced
    initialisation (every head ``v_i = init_scale``, ``K_i = init_scale * Lambda^2 / |Lambda^2|_F``):
    all heads then stay equal and ``beta(t) = s(t) n(t)`` with ``s = H v^2`` and a unit ``n``.
    Only ``s0 = H init_scale^2`` matters; :meth:`from_weights` takes it from any initial weights
    through their growing mode (for small random weights, the leading order).

    ``loss(t)``: for isotropic ``Lambda`` the closed form (``s`` logistic with rate ``2 |B|``,
    ``|B| = |Lambda^2|_F``); otherwise the reduced ODE ``dkappa/dt = u r``, ``du/dt = kappa . r``,
    ``r = b - a (u kappa)`` (eigenbasis, ``D + 1`` variables) integrated in float64
    (``solve_ivp``, LSODA, rtol 1e-11). ``t = inf`` is the global minimum (or the origin when
    ``init_scale = 0``). (docs: Attention and in-context learning, "Merged key and query")
    """

    def __init__(self, task: InContextTask, *, H: int = 1, init_scale: float):
        self.task = _check_task(task)
        self.H = as_int(H, "H", low=1, high=H_MAX)
        self.init_scale = as_float(init_scale, "init_scale", low=0.0, high=1e6)
        self._setup(self.H * self.init_scale**2)

    @classmethod
    def from_weights(cls, task: InContextTask, v0, K0) -> "MergedKQTheory":
        """Theory for the initial values ``v0`` (``(H,)``) and key-query blocks ``K0`` (``(H, D, D)``,
        ``yhat = h^T K x_q``): ``s0 = sum_i ((v_i + <K_i, B/|B|>) / 2)^2``, the amplitude of the
        growing mode of the linearised flow at the origin (leading order for small weights)."""
        task = _check_task(task)
        v0 = as_array(v0, "v0", ndim=1)
        K0 = as_array(K0, "K0", shape=(v0.size, task.D, task.D))
        Bhat = task.Lambda @ task.Lambda
        Bhat = Bhat / np.linalg.norm(Bhat)
        c = 0.5 * (v0 + np.einsum("hij,ij->h", K0, Bhat))
        self = cls.__new__(cls)
        self.task, self.H = task, int(v0.size)
        self.init_scale = float(np.sqrt((c**2).sum() / v0.size))
        self._setup(float((c**2).sum()))
        return self

    def _setup(self, s0: float):
        t = self.task
        self.s0 = float(s0)
        self.B_norm = float(np.linalg.norm(t.b))  # |Lambda^2|_F
        self.b_hat = t.b / self.B_norm
        a_eff = float((t.a * self.b_hat**2).sum())
        self._a_iso = a_eff  # the curvature along b_hat (exact for isotropic Lambda)
        self.s_star = self.B_norm / a_eff  # isotropic: the fixed point of s
        self.method = "LSODA"

    # -- fixed points -------------------------------------------------------------------------
    def fixed_points(self) -> dict:
        """The two fixed points of the predictor: ``{"zero": (beta, loss), "global": (beta*, loss*)}``."""
        t = self.task
        return {"zero": (np.zeros((t.D, t.D)), t.loss_at_zero()), "global": (t.beta_star.copy(), t.loss_min())}

    def stable_lr(self) -> float:
        """Largest stable learning rate near the global minimum, estimated as ``1 / (|beta*|_F a_max)``
        (the Hessian's top eigenvalue is at most ``2 |beta*| a_max``, ``a_max = max_{d,d'} g_d lambda_d'``)."""
        t = self.task
        return float(1.0 / (np.linalg.norm(t.beta_star) * t.g.max() * t.eigenvalues.max()))

    # -- trajectory ---------------------------------------------------------------------------
    def loss(self, t) -> np.ndarray:
        """The loss at times ``t`` (any shape, ``>= 0``, ``np.inf`` allowed: the fixed point reached)."""
        t = as_times(t, "t")
        out = np.empty(t.shape)
        flat, res = t.ravel(), out.ravel()
        task = self.task
        if self.s0 == 0.0:
            res[:] = task.loss_at_zero()
            return out
        inf = np.isinf(flat)
        res[inf] = task.loss_min()
        fin = ~inf
        if fin.any():
            res[fin] = self._loss_finite(flat[fin])
        return out

    def _loss_finite(self, t: np.ndarray) -> np.ndarray:
        task = self.task
        if task.isotropic:
            s = self._s_iso(t)
            return 0.5 * (task.trace - 2.0 * s * self.B_norm + self._a_iso * s**2)
        beta = self._beta_diag(t)
        return 0.5 * (task.trace - 2.0 * beta @ task.b + (beta**2) @ task.a)

    def _s_iso(self, t):
        s0, ss, r = self.s0, self.s_star, 2.0 * self.B_norm
        e = np.exp(-r * np.asarray(t, dtype=float))
        return ss * s0 / (s0 + (ss - s0) * e)

    def _beta_diag(self, t: np.ndarray) -> np.ndarray:
        """Diagonal of ``beta`` in the eigenbasis at the (finite) times ``t``: ``(len(t), D)``."""
        task = self.task
        ts, inverse = np.unique(t, return_inverse=True)
        u0 = np.sqrt(self.s0)
        y0 = np.concatenate([[u0], u0 * self.b_hat])

        def rhs(_, y):
            u, kap = y[0], y[1:]
            r = task.b - task.a * (u * kap)
            return np.concatenate([[kap @ r], u * r])

        # times below 1e-13 of the escape time 1/|B| leave the state unchanged to rounding (the rate
        # of change is O(|B|)); they are not integrated (LSODA stalls on subnormal end times)
        tiny = ts < 1e-13 / self.B_norm
        sol_y = np.repeat(y0[:, None], ts.size, axis=1)
        if not tiny.all():
            sol = solve_ivp(rhs, (0.0, float(ts[-1])), y0, method=self.method, t_eval=ts[~tiny], rtol=1e-11,
                            atol=1e-14 * max(u0, 1e-300))
            if not sol.success or not np.isfinite(sol.y).all():
                raise DivergenceError(f"the reduced merged-KQ ODE failed: {sol.message}")
            sol_y[:, ~tiny] = sol.y
        beta = (sol_y[0][None, :] * sol_y[1:]).T
        return beta[inverse.ravel()]

    def beta(self, t) -> np.ndarray:
        """The predictor matrix ``beta(t)`` (``(len(t), D, D)``, original basis) at finite times ``t`` (1-D)."""
        t = as_times(t, "t", allow_inf=True)
        t = np.atleast_1d(t).ravel()
        task = self.task
        diag = np.empty((t.size, task.D))
        inf = np.isinf(t)
        diag[inf] = task.eigenvalues / task.g if self.s0 > 0 else 0.0
        if (~inf).any():
            if self.s0 == 0.0:
                diag[~inf] = 0.0
            elif task.isotropic:
                diag[~inf] = self._s_iso(t[~inf])[:, None] * self.b_hat
            else:
                diag[~inf] = self._beta_diag(t[~inf])
        Q = task.eigenvectors
        return np.einsum("ij,tj,kj->tik", Q, diag, Q)

    def drop_time(self) -> float:
        """Time at which the loss is halfway between its initial value and the global minimum.

        Isotropic ``Lambda``: exactly ``ln(1 + (sqrt 2 - 1) s*/s0) / (2|B|)`` (ours); else
        found on the reduced ODE (float64; a grid, then a finer grid around the crossing, linear
        interpolation: relative error below 1e-6). ``inf`` for ``init_scale = 0``.
        """
        if self.s0 == 0.0:
            return float("inf")
        task = self.task
        if task.isotropic:
            return float(np.log1p((np.sqrt(2.0) - 1.0) * self.s_star / self.s0) / (2 * self.B_norm))
        L0, Lm = float(self.loss(0.0)), float(self.loss(np.inf))
        mid = 0.5 * (L0 + Lm)
        T = self.drop_time_estimate() * 3.0 + 20.0 / self.B_norm
        ts = np.linspace(0.0, T, 4001)
        L = self.loss(ts)
        j = int(np.argmax(L <= mid))
        if L[j] > mid:
            raise DivergenceError("the merged-KQ loss did not cross its midpoint within the integration horizon")
        if j == 0:
            return 0.0
        fine = np.linspace(ts[j - 1], ts[j], 2001)
        Lf = self.loss(fine)
        i = int(np.argmax(Lf <= mid))
        if i == 0:
            return float(fine[0])
        # linear interpolation on a grid of spacing T / 8e6: a relative error below 1e-6
        return float(fine[i - 1] + (fine[i] - fine[i - 1]) * (Lf[i - 1] - mid) / (Lf[i - 1] - Lf[i]))

    def drop_time_estimate(self) -> float:
        """Small-initialisation estimate of the drop time, ``ln(s*/s0) / (2 |B|)``: the escape from the
        origin along the growing mode, rate ``|B| = |Lambda^2|_F`` per weight (``s*`` as for isotropic)."""
        if self.s0 == 0.0:
            return float("inf")
        return float(max(np.log(self.s_star / self.s0), 0.0) / (2.0 * self.B_norm))


def _heads_per_direction(D: int, H: int) -> np.ndarray:
    """Heads assigned round-robin to the eigen-directions: head i on direction i mod D."""
    return np.bincount(np.arange(H) % D, minlength=D)


class SeparateKQTheory:
    r"""Gradient flow of multi-head linear attention with separate rank-one key and query (Zhang et al. 2025).

    Aligned initialisation: head ``i`` sits on eigenvector ``d = i mod D`` of ``Lambda`` (largest
    first) with ``k_i = q_i = init_scale e_d`` and value ``v_i = init_scale``. Each direction with
    ``m_d >= 1`` heads then follows the scalar ODE ``du/dt = u^2 (b_d - a_d m_d u^3)``,
    ``beta_dd = m_d u^3``, solved in closed implicit form (ours):
    ``t(u) = F_d(u) - F_d(u0)``,
    ``F(u) = -1/(b u) + [ln((u^2 + r u + r^2)/(r - u)^2)/(6 r) - arctan((2u + r)/(sqrt3 r))/(sqrt3 r)] / b``,
    ``r = (b / (a m))^{1/3}``, inverted by bisection in float64. Directions with no head stay at 0.
    (docs: Attention and in-context learning, "Separate key and query")
    """

    def __init__(self, task: InContextTask, *, H: int = 1, init_scale: float):
        self.task = _check_task(task)
        self.H = as_int(H, "H", low=1, high=H_MAX)
        self.init_scale = as_float(init_scale, "init_scale", low=0.0, high=1e6)
        t = self.task
        self.heads_per_direction = _heads_per_direction(t.D, self.H)
        m = self.heads_per_direction
        self.active = m > 0
        self.r = np.where(self.active, (t.b / (t.a * np.maximum(m, 1))) ** (1.0 / 3.0), np.nan)
        if 0 < self.init_scale and (self.init_scale >= self.r[self.active]).any():
            raise ValueError(f"init_scale = {self.init_scale:g} is at or above a fixed point u* = "
                             f"{np.nanmin(self.r):.4g} of the scalar ODE; use a smaller init_scale (no plateau)")

    def _F(self, u, d):
        b, r = self.task.b[d], self.r[d]
        s3 = np.sqrt(3.0)
        return (-1.0 / (b * u) + (np.log((u * u + r * u + r * r) / (r - u) ** 2) / (6 * r)
                                  - np.arctan((2 * u + r) / (s3 * r)) / (s3 * r)) / b)

    def time_to(self, u, d: int) -> np.ndarray:
        """Time for direction ``d`` to reach amplitude ``u`` (each head's ``v = |k| = |q|``), ``u0 <= u < u*``."""
        d = as_int(d, "d", low=0, high=self.task.D - 1)
        u = as_array(u, "u", low=self.init_scale)
        if not self.active[d] or self.init_scale == 0:
            return np.full(u.shape, np.inf)
        if (u >= self.r[d]).any():
            raise ValueError(f"u must be below the fixed point u* = {self.r[d]:.6g} of direction {d}")
        return self._F(u, d) - self._F(self.init_scale, d)

    def _u(self, t: np.ndarray, d: int) -> np.ndarray:
        """Amplitude of direction ``d`` at finite times ``t`` (bisection on the closed form ``t(u)``)."""
        u0, r = self.init_scale, self.r[d]
        F0 = self._F(u0, d)
        lo = np.full(t.shape, u0)
        hi = np.full(t.shape, r)
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if not ((mid > lo) & (mid < hi)).any():
                break
            with np.errstate(divide="ignore"):
                f = self._F(mid, d) - F0
            below = f < t
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        return 0.5 * (lo + hi)

    def beta_diag(self, t) -> np.ndarray:
        """Diagonal of ``beta`` in the eigenbasis, ``(len(t), D)``, at times ``t`` (1-D, inf allowed)."""
        t = np.atleast_1d(as_times(t, "t")).ravel()
        task = self.task
        out = np.zeros((t.size, task.D))
        if self.init_scale == 0:
            return out
        m = self.heads_per_direction
        inf = np.isinf(t)
        for d in range(task.D):
            if not self.active[d]:
                continue
            out[inf, d] = task.b[d] / task.a[d]
            if (~inf).any():
                out[~inf, d] = m[d] * self._u(t[~inf], d) ** 3
        return out

    def beta(self, t) -> np.ndarray:
        """The predictor matrix ``beta(t)`` (``(len(t), D, D)``, original basis)."""
        diag = self.beta_diag(t)
        Q = self.task.eigenvectors
        return np.einsum("ij,tj,kj->tik", Q, diag, Q)

    def loss(self, t) -> np.ndarray:
        """The loss at times ``t`` (any shape; ``np.inf``: every direction with a head learned)."""
        t = as_times(t, "t")
        task = self.task
        diag = self.beta_diag(t.ravel())
        L = 0.5 * (task.trace - 2.0 * diag @ task.b + (diag**2) @ task.a)
        return L.reshape(t.shape)

    def n_stages(self) -> int:
        """Number of stages (directions with at least one head): ``min(H, D)``."""
        return int(self.active.sum())

    def plateau_losses(self) -> np.ndarray:
        """Loss on each plateau, ``(n_stages + 1,)``: the loss of PCR with ``k = 0, 1, ...`` components
        (in the order the stages happen; the top eigen-directions first at equal ``init_scale``)."""
        task = self.task
        order = self.stage_order()
        gains = task.b[order] ** 2 / task.a[order]
        return 0.5 * (task.trace - np.concatenate([[0.0], np.cumsum(gains)]))

    def stage_order(self) -> np.ndarray:
        """Eigen-directions in the order they are learned (by stage time)."""
        act = np.nonzero(self.active)[0]
        return act[np.argsort(self.stage_times_by_direction()[act], kind="stable")]

    def stage_times_by_direction(self) -> np.ndarray:
        """Time at which direction ``d`` reaches half of its final ``beta_dd`` (``inf`` without a head)."""
        out = np.full(self.task.D, np.inf)
        if self.init_scale == 0:
            return out
        for d in np.nonzero(self.active)[0]:
            uh = self.r[d] * 0.5 ** (1.0 / 3.0)
            out[d] = 0.0 if uh <= self.init_scale else float(self._F(uh, d) - self._F(self.init_scale, d))
        return out

    def stage_times(self) -> np.ndarray:
        """Stage times in the order of the stages (``(n_stages,)``)."""
        return self.stage_times_by_direction()[self.stage_order()]

    def stage_times_estimate(self) -> np.ndarray:
        """Small-initialisation estimate ``1 / (lambda_d^2 init_scale)`` (escape time of ``du/dt = b u^2``),
        in the order of the stages."""
        return 1.0 / (self.task.b[self.stage_order()] * self.init_scale)

    def stable_lr(self) -> float:
        """Largest stable learning rate near the end of training, estimated as ``2 / max_d 3 m_d a_d u*_d^4``
        (the top Hessian eigenvalue of one direction's balanced three-factor product at its fixed point)."""
        task, m = self.task, self.heads_per_direction
        act = self.active
        return float(2.0 / (3.0 * m[act] * task.a[act] * self.r[act] ** 4).max())


def merged_parameter_flow(task: InContextTask, v0, K0, t) -> dict:
    r"""Integrate the full gradient flow of the merged model's parameters (float64, ``solve_ivp``).

    ``v0`` ``(H,)`` value scalars, ``K0`` ``(H, D, D)`` key-query blocks in the original basis
    (``yhat = sum_i v_i h^T K_i x_q``); ``dK_i/dt = v_i R``, ``dv_i/dt = <K_i, R>`` with
    ``R = Lambda^2 - G beta Lambda``. Returns ``{"t", "loss", "v", "K", "beta"}`` at the (finite,
    increasing) times ``t``. For tests of the reduction.
    """
    task = _check_task(task)
    v0 = as_array(v0, "v0", ndim=1)
    H, D = v0.size, task.D
    K0 = as_array(K0, "K0", shape=(H, D, D))
    t = as_times(t, "t", allow_inf=False, increasing=True, strictly=True)
    Q, lam = task.eigenvectors, task.eigenvalues
    Lam = task.Lambda
    G = (Q * task.g) @ Q.T
    B = Lam @ Lam

    def rhs(_, y):
        v, K = y[:H], y[H:].reshape(H, D, D)
        beta = np.einsum("h,hij->ij", v, K)
        R = B - G @ beta @ Lam
        return np.concatenate([np.einsum("hij,ij->h", K, R), (v[:, None, None] * R).ravel()])

    y0 = np.concatenate([v0, K0.ravel()])
    sol = solve_ivp(rhs, (0.0, float(t[-1])), y0, method="DOP853", t_eval=t, rtol=1e-11, atol=1e-15)
    if not sol.success:
        raise DivergenceError(f"merged_parameter_flow failed: {sol.message}")
    v, K = sol.y[:H].T, sol.y[H:].T.reshape(-1, H, D, D)
    beta = np.einsum("th,thij->tij", v, K)
    return {"t": t, "loss": task._loss(beta), "v": v, "K": K, "beta": beta}


def separate_parameter_flow(task: InContextTask, v0, k0, q0, t) -> dict:
    r"""Integrate the full gradient flow of the separate (rank-one) model's parameters (float64).

    ``v0`` ``(H,)``, keys ``k0`` and queries ``q0`` ``(H, D)`` (``yhat = sum_i v_i (h.k_i)(q_i.x_q)``);
    ``dv_i = k_i^T R q_i``, ``dk_i = v_i R q_i``, ``dq_i = v_i R^T k_i``. Returns
    ``{"t", "loss", "v", "k", "q", "beta"}``.
    """
    task = _check_task(task)
    v0 = as_array(v0, "v0", ndim=1)
    H, D = v0.size, task.D
    k0 = as_array(k0, "k0", shape=(H, D))
    q0 = as_array(q0, "q0", shape=(H, D))
    t = as_times(t, "t", allow_inf=False, increasing=True, strictly=True)
    Q = task.eigenvectors
    Lam = task.Lambda
    G = (Q * task.g) @ Q.T
    B = Lam @ Lam

    def rhs(_, y):
        v, k, q = y[:H], y[H:H + H * D].reshape(H, D), y[H + H * D:].reshape(H, D)
        beta = np.einsum("h,hi,hj->ij", v, k, q)
        R = B - G @ beta @ Lam
        Rq = q @ R.T  # (H, D): R q_i
        RTk = k @ R  # R^T k_i
        return np.concatenate([(k * Rq).sum(1), (v[:, None] * Rq).ravel(), (v[:, None] * RTk).ravel()])

    y0 = np.concatenate([v0, k0.ravel(), q0.ravel()])
    sol = solve_ivp(rhs, (0.0, float(t[-1])), y0, method="DOP853", t_eval=t, rtol=1e-11, atol=1e-15)
    if not sol.success:
        raise DivergenceError(f"separate_parameter_flow failed: {sol.message}")
    Y = sol.y.T
    v, k, q = Y[:, :H], Y[:, H:H + H * D].reshape(-1, H, D), Y[:, H + H * D:].reshape(-1, H, D)
    beta = np.einsum("th,thi,thj->tij", v, k, q)
    return {"t": t, "loss": task._loss(beta), "v": v, "k": k, "q": q, "beta": beta}
