r"""Online SGD of a committee machine on hidden-manifold inputs: order-parameter ODEs.

The hidden manifold model (Goldt, Mézard, Krzakala & Zdeborová, Phys. Rev. X 10, 041044, 2020;
docs: Structured inputs and replay, "Hidden manifold"): latent variables ``c ~ N(0, I_D)``, a fixed
feature matrix ``F`` (D, N) with ``|F_i|^2 / D = 1`` per column, inputs ``x = f(F^T c / sqrt D)`` with an
odd feature map ``f`` applied entry-wise, and a teacher acting on the latent variables,
``y = sum_m v*_m g(nu_m)``, ``nu_m = w~_m . c / sqrt D`` (M units). The student is the committee of
:mod:`idealnets.theory.committee`, ``phi = sum_k v_k g(lambda_k)``, ``lambda_k = w_k . x / sqrt N``, trained by
online SGD in the same conventions (docs: Conventions, "Online SGD in committee machines"); ``delta = D / N``.

**Gaussian equivalence** (Goldt et al. 2020). With ``f1 = E[z f(z)]``, ``f*^2 = E[f(z)^2] - f1^2``
(``z ~ N(0, 1)``, ``E f = 0``), the local fields are jointly Gaussian as if ``x = f1 F^T c / sqrt D + f* xi``,
``xi ~ N(0, I_N)``. With the projected weights ``s_k = F w_k / sqrt N`` (D,):
``Q_kl = E[lambda_k lambda_l] = f1^2 Sigma_kl + f*^2 W_kl``, ``Sigma = s_k . s_l / D``, ``W = w_k . w_l / N``;
``R_km = f1 s_k . w~_m / D``; ``T_mn = w~_m . w~_n / D``.

**Spectral order parameters.** ``F F^T / N = sum_tau rho_tau psi_tau psi_tau^T`` (D eigenpairs, weight
``1/D`` each, or any quadrature of the spectrum). Per direction: ``sigma_kl,tau = (psi.s_k)(psi.s_l)``,
``r_km,tau = (psi.s_k)(psi.w~_m)``, ``t_mn,tau = (psi.w~_m)(psi.w~_n)`` (constant), so
``Sigma = sum_tau w_tau sigma_tau``, ``R = f1 sum_tau w_tau r_tau``, ``T = sum_tau w_tau t_tau``.

**The ODE (our derivation; the peer implementation is sgoldt/hidden-manifold-model's hmm_ode.cpp).**
One step moves ``s_k`` by ``-(lr/N) e_k F x`` with ``e_k = v_k Delta g'(lambda_k)``, and
``psi_tau . F x = f1 N rho_tau c_tau / sqrt D + f* sqrt(N rho_tau) zeta_tau`` with ``c_tau = psi_tau.c`` and
``zeta_tau`` unit Gaussians whose covariances with the fields are ``O(D^-1/2)``:
``Cov(c_tau, lambda_j) = f1 s_j,tau / sqrt D``, ``Cov(c_tau, nu_m) = w~_m,tau / sqrt D``,
``Cov(zeta_tau, lambda_j) = f* s_j,tau / sqrt(N rho_tau)``. Stein's lemma, ``E[Z h(a)] = sum_a Cov(Z, a)
E[d h / d a]`` (exact for jointly Gaussian variables), then needs only

.. math::

    A_{kj} = E\Big[\frac{\partial e_k}{\partial\lambda_j}\Big] = v_k\big(\delta_{kj} E[g''(\lambda_k)\Delta]
        + v_j J_2(k, j)\big), \qquad
    B_{km} = E\Big[\frac{\partial e_k}{\partial\nu_m}\Big] = -v_k v^*_m J_2(k, m),

with ``E[g''(lambda_k) Delta] = -sum_a u_a I3(k, k, a)`` for erf (``g'' = -z g'``) and 0 for linear g
(``u = (v, -v*)``, the averages of :mod:`idealnets.theory.committee`). Per unit of ``alpha = steps / N``,
with ``c1_tau = f1^2 rho_tau / delta + f*^2`` and ``c2_tau = f1 rho_tau / delta``:

.. math::

    \dot r_{km\tau} &= -\eta\Big[c_{1\tau} \sum_j A_{kj} r_{jm\tau} + c_{2\tau} \sum_n B_{kn} t_{nm\tau}\Big] \\
    \dot\sigma_{kl\tau} &= -\eta\Big[c_{1\tau} \sum_j (A_{kj}\sigma_{jl\tau} + A_{lj}\sigma_{jk\tau})
        + c_{2\tau}\sum_n (B_{kn} r_{ln\tau} + B_{ln} r_{kn\tau})\Big]
        + \eta^2 \Big(\frac{f_1^2\rho_\tau^2}{\delta} + f_*^2\rho_\tau\Big) D_{kl} \\
    \dot W_{kl} &= -\eta\,(X_{kl} + X_{lk}) + \eta^2 E[f^2] D_{kl}, \qquad
        X_{kl} = v_k \sum_a u_a I_3(k, l, a) \\
    \dot v_k &= -\eta_v \sum_a u_a I_2(k, a)

with ``D_kl = v_k v_l sum_ab u_a u_b I4(k, l, a, b)`` (``|x|^2 / N -> E[f^2]`` in the ``W`` equation). The
generalisation error is ``(1/2) u^T I2 u`` on ``[[Q, R], [R^T, T]]``, as for i.i.d. inputs.

**The i.i.d. limit.** For linear ``f`` (``f1 = 1``, ``f* = 0``) and ``F F^T / N = I`` with ``D = N``
(``delta = rho = 1``, an orthogonal rotation of i.i.d. inputs) ``c1 = c2 = 1`` and the equations summed
over ``tau`` are term by term the committee ODE (Stein's lemma gives ``E[nu_m e_k] = sum_j A_kj R_jm +
sum_n B_kn T_nm``): tested to 1e-13 against :class:`idealnets.theory.committee.CommitteeODE`.

Activations: erf and linear (``g''`` must be a function; ReLU's is a delta function and is not
implemented). Feature maps: ``"sign"``, ``"erf"`` (``erf(z/sqrt 2)``), ``"tanh"``, ``"linear"``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from . import validation as _v
from ._gaussian import i3 as _gi3, i4 as _gi4, j2 as _gj2, pair_i2 as _gpair_i2
from .committee import ODE_ATOL, ODE_RTOL

__all__ = ["FEATURE_MAPS", "HM_ACTIVATIONS", "feature_map_moments", "HiddenManifoldState",
           "hidden_manifold_state", "coarsen", "HiddenManifoldODE", "HiddenManifoldTrajectory"]

FEATURE_MAPS = ("sign", "erf", "tanh", "linear")
HM_ACTIVATIONS = ("erf", "linear")
BLOW_UP = 1e6
MAX_DIRECTIONS = 20000


def feature_map_moments(feature_map: str) -> tuple[float, float]:
    """``(f1, E[f^2])`` of a feature map: ``f1 = E[z f(z)]``, ``z ~ N(0, 1)``.

    sign: ``(sqrt(2/pi), 1)``; erf (``erf(z/sqrt 2)``): ``(1/sqrt(pi), 1/3)`` (``(2/pi) arcsin(1/2)``);
    linear: ``(1, 1)``; tanh: Gauss-Hermite quadrature (200 nodes).
    """
    f = _v.as_choice(feature_map, "feature_map", FEATURE_MAPS)
    if f == "sign":
        return float(np.sqrt(2 / np.pi)), 1.0
    if f == "erf":
        return float(1 / np.sqrt(np.pi)), 1.0 / 3.0
    if f == "linear":
        return 1.0, 1.0
    z, w = np.polynomial.hermite_e.hermegauss(200)
    w = w / w.sum()
    return float(w @ (z * np.tanh(z))), float(w @ np.tanh(z) ** 2)


@dataclass
class HiddenManifoldState:
    """Order parameters of a student on hidden-manifold inputs (module docstring): ``W`` (K, K), ``sigma``
    (L, K, K), ``r`` (L, K, M), ``t`` (L, M, M) per spectral direction, ``rho`` (L,) and ``weights`` (L,)."""

    W: np.ndarray
    sigma: np.ndarray
    r: np.ndarray
    t: np.ndarray
    rho: np.ndarray
    weights: np.ndarray


def hidden_manifold_state(W, F, W_tilde):
    """The spectral order parameters of student weights ``W`` (K, N), features ``F`` (D, N) and latent teacher
    ``W_tilde`` (M, D): eigendecomposition of ``F F^T / N``, one direction per eigenvalue (weights 1/D).

    ``W`` may also be (E, K, N), the weights of E students on the same features: then a list of E states, the
    eigendecomposition computed once (each state equal to the one of its own ``W``)."""
    W = _v.as_array(W, "W", ndim=(2, 3))
    F = _v.as_array(F, "F", ndim=2)
    Wt = _v.as_array(W_tilde, "W_tilde", ndim=2)
    K, N = W.shape[-2:]
    D = F.shape[0]
    if F.shape[1] != N or Wt.shape[1] != D:
        raise ValueError(f"shapes must be W (K, N) or (E, K, N), F (D, N), W_tilde (M, D); got {W.shape}, "
                         f"{F.shape}, {Wt.shape}")
    if D > MAX_DIRECTIONS:
        raise ValueError(f"D = {D} exceeds MAX_DIRECTIONS = {MAX_DIRECTIONS}")
    rho, psi = np.linalg.eigh(F @ F.T / N)
    wt = psi.T @ Wt.T  # (D, M)
    t = wt[:, :, None] * wt[:, None, :]

    def one(w):
        s = psi.T @ (F @ w.T) / np.sqrt(N)  # (D, K)
        return HiddenManifoldState(w @ w.T / N, s[:, :, None] * s[:, None, :], s[:, :, None] * wt[:, None, :],
                                   t.copy(), rho.copy(), np.full(D, 1.0 / D))
    return one(W) if W.ndim == 2 else [one(w) for w in W]


def coarsen(state: HiddenManifoldState, n_bins: int) -> HiddenManifoldState:
    """Group the spectral directions into ``n_bins`` bins of consecutive eigenvalues (equal counts), summing
    their weights and averaging ``sigma``, ``r``, ``t`` and ``rho`` with them.

    The equations of a direction are linear in its own ``(sigma, r, t)`` with coefficients that depend on the
    direction only through ``rho`` (``c1``, ``c2`` and the ``rho^2`` of the second-order term; module
    docstring), so directions with equal ``rho`` merge exactly; a bin of unequal ones is approximated by its
    mean ``rho`` (error measured in tests/test_hidden_manifold.py: below 1e-3 in eps_g with 40 bins of a
    Marchenko-Pastur spectrum at delta = 0.5).
    """
    if not isinstance(state, HiddenManifoldState):
        raise TypeError(f"state must be a HiddenManifoldState, got {type(state).__name__}")
    L = state.rho.size
    n_bins = _v.as_int(n_bins, "n_bins", low=1, high=L)
    order = np.argsort(state.rho, kind="stable")
    groups = np.array_split(order, n_bins)
    w = state.weights

    def avg(a, g):
        return np.tensordot(w[g], a[g], axes=1) / w[g].sum() if w[g].sum() > 0 else a[g].mean(0)
    return HiddenManifoldState(state.W.copy(), np.array([avg(state.sigma, g) for g in groups]),
                               np.array([avg(state.r, g) for g in groups]), np.array([avg(state.t, g) for g in groups]),
                               np.array([avg(state.rho, g) for g in groups]), np.array([w[g].sum() for g in groups]))


@dataclass
class HiddenManifoldTrajectory:
    """Solution of :meth:`HiddenManifoldODE.integrate`: ``alpha`` (A,), ``Q`` (A, K, K), ``R`` (A, K, M),
    ``T`` (M, M), ``v`` (A, K), ``eps_g`` (A,), ``W`` (A, K, K), ``Sigma`` (A, K, K)."""

    alpha: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    T: np.ndarray
    v: np.ndarray
    eps_g: np.ndarray
    W: np.ndarray
    Sigma: np.ndarray


class HiddenManifoldODE:
    r"""Order-parameter ODE of online SGD of a K-unit committee on hidden-manifold inputs (module docstring).

    Parameters: ``K``, ``M``; ``lr`` (> 0); ``delta = D / N`` (> 0); ``feature_map`` (``FEATURE_MAPS``);
    ``activation`` (``"erf"`` or ``"linear"``, student and teacher); ``v_star`` (M,) (default ones);
    ``train_second_layer`` and ``lr_v``.
    """

    def __init__(self, K: int, M: int, lr: float, delta: float, *, feature_map: str = "sign",
                 activation: str = "erf", v_star=None, train_second_layer: bool = False, lr_v: float | None = None):
        self.K = _v.as_int(K, "K", low=1, high=256)
        self.M = _v.as_int(M, "M", low=1, high=256)
        self.lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
        self.delta = _v.as_float(delta, "delta", low=0.0, open_low=True)
        self.feature_map = _v.as_choice(feature_map, "feature_map", FEATURE_MAPS)
        self.activation = _v.as_choice(activation, "activation", HM_ACTIVATIONS)
        self.v_star = np.ones(self.M) if v_star is None else _v.as_array(v_star, "v_star", shape=(self.M,))
        self.train_second_layer = _v.as_bool(train_second_layer, "train_second_layer")
        self.lr_v = self.lr if lr_v is None else _v.as_float(lr_v, "lr_v", low=0.0)
        self.f1, self.fu2 = feature_map_moments(self.feature_map)
        self.fs2 = self.fu2 - self.f1 ** 2
        self._iu = np.triu_indices(self.K)

    # --- packing ----------------------------------------------------------------------------------------
    def _pack(self, W, sigma, r, v):
        iu = self._iu
        return np.concatenate([W[iu], sigma[:, iu[0], iu[1]].ravel(), r.ravel(), v])

    def _unpack(self, y, L):
        K, M, iu = self.K, self.M, self._iu
        nq = len(iu[0])
        W = np.empty((K, K))
        W[iu] = y[:nq]
        W[iu[1], iu[0]] = y[:nq]
        o = nq
        sq = y[o:o + L * nq].reshape(L, nq)
        sigma = np.empty((L, K, K))
        sigma[:, iu[0], iu[1]] = sq
        sigma[:, iu[1], iu[0]] = sq
        o += L * nq
        r = y[o:o + L * K * M].reshape(L, K, M)
        v = y[o + L * K * M:]
        return W, sigma, r, v

    def overlaps(self, W, sigma, r, t, weights):
        """``(Q, R, T)`` of spectral order parameters (module docstring)."""
        Sig = np.einsum("l,lkj->kj", weights, sigma)
        return (self.f1 ** 2 * Sig + self.fs2 * W, self.f1 * np.einsum("l,lkm->km", weights, r),
                np.einsum("l,lmn->mn", weights, t))

    # --- rates -------------------------------------------------------------------------------------------
    def rates(self, W, sigma, r, v, t, rho, weights):
        """``(dW, dsigma, dr, dv)`` at one state (module docstring)."""
        K, act, lr = self.K, self.activation, self.lr
        Q, R, T = self.overlaps(W, sigma, r, t, weights)
        Om = np.empty((K + self.M,) * 2)  # [[Q, R], [R^T, T]]
        Om[:K, :K], Om[:K, K:], Om[K:, :K], Om[K:, K:] = Q, R, R.T, T
        d = np.diag(Om)
        dk = d[:K]
        u = np.concatenate([v, -self.v_star])
        I3 = _gi3(dk[:, None, None], Om[:K, :, None], Om[:K, None, :], Om[None, :, :], d[None, None, :], act)
        J = _gj2(dk[:, None], Om[:K, :], d[None, :], act)  # (K, K+M): E[g'(lambda_k) g'(a)]
        Okl = Om[:K, :K]
        I4 = _gi4(dk[:, None, None, None], Okl[:, :, None, None], Om[:K, None, :, None], Om[:K, None, None, :],
                  dk[None, :, None, None], Om[None, :K, :, None], Om[None, :K, None, :],
                  d[None, None, :, None], Om[None, None, :, :], d[None, None, None, :], act)
        Dm = np.outer(v, v) * np.einsum("klce,c,e->kl", I4, u, u)
        Xfull = np.einsum("kbc,c->kb", I3, u)  # E[g'(lambda_k) a_b Delta]
        X = v[:, None] * Xfull[:, :K]
        G = -np.einsum("kc,c->k", I3[np.arange(K), np.arange(K)], u) if act == "erf" else np.zeros(K)
        A = v[:, None] * (np.diag(G) + v[None, :] * J[:, :K])
        B = -v[:, None] * self.v_star[None, :] * J[:, K:]
        c1 = self.f1 ** 2 * rho / self.delta + self.fs2
        c2 = self.f1 * rho / self.delta
        Ar = np.einsum("kj,tjm->tkm", A, r)
        Bt = np.einsum("kn,tnm->tkm", B, t)
        dr = -lr * (c1[:, None, None] * Ar + c2[:, None, None] * Bt)
        As = np.einsum("kj,tjl->tkl", A, sigma)
        Br = np.einsum("kn,tln->tkl", B, r)
        first = c1[:, None, None] * (As + np.swapaxes(As, 1, 2)) + c2[:, None, None] * (Br + np.swapaxes(Br, 1, 2))
        quad = (self.f1 ** 2 * rho ** 2 / self.delta + self.fs2 * rho)[:, None, None] * Dm[None]
        dsigma = -lr * first + lr ** 2 * quad
        dW = -lr * (X + X.T) + lr ** 2 * self.fu2 * Dm
        if self.train_second_layer:
            dv = -self.lr_v * (_gpair_i2(Om, act)[:K] @ u)
        else:
            dv = np.zeros(K)
        return dW, dsigma, dr, dv

    def eps_g(self, Q, R, T, v):
        """Generalisation error ``(1/2) u^T I2 u`` of (batched) ``Q``, ``R``, ``T`` (M, M), ``v``."""
        Q, R, v = (np.asarray(a, dtype=float) for a in (Q, R, v))
        lead = Q.shape[:-2]
        Tb = np.broadcast_to(T, lead + T.shape)
        Om = np.concatenate([np.concatenate([Q, R], -1), np.concatenate([np.swapaxes(R, -1, -2), Tb], -1)], -2)
        u = np.concatenate([v, np.broadcast_to(-self.v_star, lead + (self.M,))], -1)
        return 0.5 * np.einsum("...a,...ab,...b->...", u, _gpair_i2(Om, self.activation), u)

    # --- integration -----------------------------------------------------------------------------------------
    def integrate(self, state: HiddenManifoldState, v0=None, alpha_max=None, alpha_eval=None, *,
                  rtol: float = ODE_RTOL, atol: float = ODE_ATOL) -> HiddenManifoldTrajectory:
        """Integrate from ``state`` (:func:`hidden_manifold_state`, or built by hand) and second layer ``v0``
        (default ones) to the increasing times ``alpha_eval`` (default 0 and 199 log-spaced times to
        ``alpha_max``). Raises :class:`~idealnets.theory.validation.DivergenceError` if the order parameters
        blow up."""
        if not isinstance(state, HiddenManifoldState):
            raise TypeError(f"state must be a HiddenManifoldState, got {type(state).__name__}")
        K, M = self.K, self.M
        L = state.rho.size
        if state.W.shape != (K, K) or state.sigma.shape != (L, K, K) or state.r.shape != (L, K, M) \
                or state.t.shape != (L, M, M) or state.weights.shape != (L,):
            raise ValueError(f"state shapes do not match K = {K}, M = {M}, L = {L} directions")
        for name in ("W", "sigma", "r", "t", "rho", "weights"):
            _v.as_array(getattr(state, name), f"state.{name}")
        if (state.rho < -1e-12).any() or (state.weights < 0).any():
            raise ValueError("state.rho (eigenvalues of F F^T / N) and state.weights must be >= 0")
        v0 = np.ones(K) if v0 is None else _v.as_array(v0, "v0", shape=(K,))
        if alpha_eval is None:
            if alpha_max is None:
                raise ValueError("give alpha_max or alpha_eval")
            amax = _v.as_float(alpha_max, "alpha_max", low=0.0, open_low=True)
            alpha_eval = np.concatenate([[0.0], np.geomspace(min(1e-2, amax), amax, 199)])
        a = _v.as_times(alpha_eval, "alpha_eval", allow_inf=False, increasing=True)
        if a.ndim != 1 or a.size == 0:
            raise ValueError("alpha_eval must be a non-empty 1-D array of increasing times")
        rtol = _v.as_float(rtol, "rtol", low=0.0, open_low=True)
        atol = _v.as_float(atol, "atol", low=0.0, open_low=True)
        rho, w, t = np.clip(state.rho, 0.0, None), state.weights, state.t
        y0 = self._pack(state.W, state.sigma, state.r, v0)

        def rhs(alpha, y):
            out = self._pack(*self.rates(*self._unpack(y, L), t, rho, w))
            if not np.isfinite(out).all():
                raise _v.DivergenceError(f"the hidden-manifold ODE rates became non-finite at alpha = {alpha:.4g} "
                                         f"(lr = {self.lr:g})")
            return out

        def blow(alpha, y):
            return BLOW_UP - np.abs(y).max()
        blow.terminal = True
        if a[-1] > 0:
            sol = solve_ivp(rhs, (0.0, float(a[-1])), y0, method="DOP853", t_eval=a, rtol=rtol, atol=atol,
                            events=blow)
            if sol.status == 1:
                raise _v.DivergenceError(f"the order parameters exceeded {BLOW_UP:g} at alpha = "
                                         f"{sol.t_events[0][0]:.4g} (lr = {self.lr:g}): lower the learning rate")
            if not sol.success:
                raise RuntimeError(f"solve_ivp failed: {sol.message}")
            Y = sol.y.T
        else:
            Y = np.repeat(y0[None], a.size, 0)
        Ws, Sig, Rs, vs = [], [], [], []
        for y in Y:
            W, sigma, r, v = self._unpack(y, L)
            Q, R, T = self.overlaps(W, sigma, r, t, w)
            Ws.append(W)
            Sig.append(np.einsum("l,lkj->kj", w, sigma))
            Rs.append(R)
            vs.append(v)
        Ws, Sig, Rs, vs = (np.array(x) for x in (Ws, Sig, Rs, vs))
        Q = self.f1 ** 2 * Sig + self.fs2 * Ws
        T = np.einsum("l,lmn->mn", w, t)
        return HiddenManifoldTrajectory(a, Q, Rs, T, vs, self.eps_g(Q, Rs, T, vs), Ws, Sig)
