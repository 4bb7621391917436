r"""A whole grid of committee-machine ODEs in one vectorised integration.

The model and the ODE are those of :mod:`idealnets.theory.committee` (Saad & Solla
1995; Goldt et al. 2019; conventions of docs: Conventions, "Online SGD in committee machines"): online SGD of a
K-unit soft committee learning an M-unit teacher, order parameters
``Q (K, K)``, ``R (K, M)``, second layer ``v (K,)`` as functions of
``alpha = steps / N``. A phase diagram needs this ODE at hundreds or thousands
of settings (learning rate, student width K, output noise, initial
condition). Solving them one at a time costs one adaptive SciPy integration
each, whose per-step Python overhead dominates at small K. Here the B
members are stacked on a leading axis and advanced together:

* **Padding to ``K_max`` is exact** (our observation): a student unit ``j``
  with second-layer weight ``v_j = 0`` that does not train, uncorrelated with
  every other unit (``Q_jl = 0`` for ``l != j``, ``R_jm = 0``), has zero
  output and zero gradient, and every rate that involves it vanishes
  identically -- ``dQ_jl`` and ``dR_jm`` are proportional to ``v_j`` or to
  ``E[g'(lambda_l) lambda_j Delta] = 0`` (``lambda_j`` independent of all
  other pre-activations, zero mean) -- so it stays uncorrelated forever and
  the K real units obey exactly their own K-unit ODE. A member with ``K < K_max``
  is padded with such units (``Q_jj = 1``); the teacher width M is shared.
* **Per-member adaptive steps**: the integrator is the explicit Runge-Kutta
  pair of Dormand & Prince (1980), 5th order with an embedded 4th-order error
  estimate, with *each member's own* step size and error control (mixed
  absolute/relative tolerance, RMS norm over the member's state). At every
  iteration all members still running take one step of their own size in
  one batched evaluation of the right-hand side; a member whose step is
  rejected retries with a smaller step while the others move on. So a fast
  member (large lr) does not force small steps on a slow one.
* Every member lands exactly on the shared output times ``alpha_eval``
  (steps are shortened to hit them); ``alpha = inf`` is the long-time limit,
  reached by integrating on until ``max |d state / d alpha| < fp_tol``
  (as :meth:`idealnets.theory.committee.CommitteeODE.fixed_point`).
* A member whose order parameters blow up (lr beyond the stable range) or
  whose integration fails is flagged in ``diverged`` and gets NaN from there
  on; the others are unaffected. A phase diagram can cross the stability edge.

Accuracy: with the default ``rtol = 1e-8, atol = 1e-10`` every member agrees
with :class:`idealnets.theory.committee.CommitteeODE` (DOP853, rtol 1e-9) to better than
``GRID_VS_SINGLE_ATOL`` in every order parameter and in eps_g (tested in
``tests/test_committee_grid.py`` over lr, K, noise, second-layer training and
initial conditions).

The Gaussian integrals and the generalisation error are imported from
:mod:`idealnets.theory.committee` (one implementation; nothing is copied).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import validation as V
from . import committee as _committee
from ._gaussian import i3 as _i3, i4, j2 as _j2, pair_i2 as _pair_i2
from .committee import ACTIVATIONS

__all__ = ["CommitteeGrid", "GridTrajectory", "default_initial", "GRID_VS_SINGLE_ATOL", "DP5_TABLEAU", "WIDTH_MAX"]

#: Tested agreement of every member with a single DOP853 CommitteeODE solve (default tolerances).
GRID_VS_SINGLE_ATOL = 1e-6
#: Largest student width K and teacher width M of a grid member (the state holds (K + M)^2 order
#: parameters per member and the rates pairwise integrals over them; beyond this the arrays
#: exhaust memory long before an answer).
WIDTH_MAX = 4096

# Dormand & Prince (1980), "A family of embedded Runge-Kutta formulae", J. Comput. Appl. Math. 6:19, Table 2:
# nodes c, stage matrix a, 5th-order weights b (= last stage row: FSAL), 4th-order weights b_hat.
_C = np.array([0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0])
_A = [
    [],
    [1 / 5],
    [3 / 40, 9 / 40],
    [44 / 45, -56 / 15, 32 / 9],
    [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
    [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
    [35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
]
_B = np.array([35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0])
_BHAT = np.array([5179 / 57600, 0.0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40])
DP5_TABLEAU = {"c": _C, "a": _A, "b": _B, "b_hat": _BHAT}

_SAFETY, _FAC_MIN, _FAC_MAX = 0.9, 0.2, 5.0
_BLOWUP = 1e6  # |state| beyond this counts as divergence (as in CommitteeODE.integrate)


def default_initial(K: int, M: int):
    """The default start of :func:`idealnets.theory.committee.asymptotic_error`: ``Q0 = 0.25 I``,
    ``R0_km = 0.01 (1 + k + 2m)/(K + M)``, ``v0 = 1``. Returns ``(Q0, R0, v0)``."""
    K = V.as_int(K, "K", low=1)
    M = V.as_int(M, "M", low=1)
    return 0.25 * np.eye(K), 1e-2 * (1.0 + np.add.outer(np.arange(K), 2 * np.arange(M))) / (K + M), np.ones(K)


@dataclass
class GridTrajectory:
    """Solution of :meth:`CommitteeGrid.integrate`.

    alpha : (A,) output times; K : (B,) widths; Q : (B, A, K_max, K_max);
    R : (B, A, K_max, M); v : (B, A, K_max) (entries of padding units are NaN);
    eps_g : (B, A); diverged : (B,) bool (NaN from the divergence on);
    n_steps : (B,) accepted steps per member; n_rejected : (B,); n_iterations :
    batched iterations (each one right-hand-side evaluation of 6 stages);
    n_rhs_members : member-stage evaluations in total; settled : (B,) bool, True where the
    member reached its long-time limit (``max|rate| < fp_tol``) for a long-time output
    (``alpha = inf``, or finite times at or beyond ``alpha_max``).

    Undefined by design: the ``alpha = inf`` output of a member that neither settles by
    ``alpha_max`` nor diverges is NaN, flagged by ``settled = False`` and ``diverged = False``
    (no long-time limit was reached, so none is reported); a diverged member is NaN from its
    divergence on (``diverged = True``); padding units (beyond the member's K) are NaN.
    """

    alpha: np.ndarray
    K: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    v: np.ndarray
    eps_g: np.ndarray
    diverged: np.ndarray
    n_steps: np.ndarray
    n_rejected: np.ndarray
    n_iterations: int
    n_rhs_members: int
    settled: np.ndarray | None = None

    def member(self, b: int):
        """``(Q (A, K, K), R (A, K, M), v (A, K))`` of member ``b`` without its padding."""
        k = int(self.K[b])
        return self.Q[b, :, :k, :k], self.R[b, :, :k, :], self.v[b, :, :k]


class CommitteeGrid:
    r"""B committee-machine ODEs (module docstring) sharing the teacher (M, T, v*) and the activation.

    Per member (each a scalar or an array of B values, broadcast together):
    K : student width (>= 1), lr : first-layer learning rate (> 0),
    noise : output-noise standard deviation (>= 0), lr_v : second-layer rate
    (default lr; used when ``train_second_layer``). Shared: M, activation,
    ``train_second_layer``, T (M, M) (default I), v_star (M,) (default ones).

    The right-hand side is exactly :meth:`idealnets.theory.committee.CommitteeODE.rates`
    evaluated for all members at once (same Gaussian integrals, imported).
    """

    def __init__(self, K, M: int, lr, *, noise=0.0, activation: str = "erf", train_second_layer: bool = False,
                 lr_v=None, T=None, v_star=None):
        K_arr = np.atleast_1d(np.asarray(K))
        if K_arr.dtype.kind not in "iu" and not (K_arr.dtype.kind == "f" and np.all(K_arr == np.round(K_arr))):
            raise TypeError(f"K must be integers, got {V.describe(K)}")
        K_arr = K_arr.astype(int)
        lr_arr = np.atleast_1d(V.as_array(lr, "lr", low=0.0, open_low=True))
        noise_arr = np.atleast_1d(V.as_array(noise, "noise", low=0.0))
        lr_v_arr = lr_arr if lr_v is None else np.atleast_1d(V.as_array(lr_v, "lr_v", low=0.0))
        try:
            K_arr, lr_arr, noise_arr, lr_v_arr = np.broadcast_arrays(K_arr, lr_arr, noise_arr, lr_v_arr)
        except ValueError:
            raise ValueError(f"K, lr, noise and lr_v must broadcast to one shape (B,), got shapes {np.shape(K)}, "
                             f"{np.shape(lr)}, {np.shape(noise)}, {np.shape(lr_v)}") from None
        if K_arr.ndim != 1:
            raise ValueError(f"K, lr, noise and lr_v must be scalars or 1-d arrays, got shape {K_arr.shape}")
        if (K_arr < 1).any():
            raise ValueError(f"every K must be >= 1, got {K_arr.min()}")
        if (K_arr > WIDTH_MAX).any():
            raise ValueError(f"every K must be <= WIDTH_MAX = {WIDTH_MAX}, got {K_arr.max()}")
        self.K = K_arr.copy()
        self.lr = lr_arr.astype(float).copy()
        self.noise = noise_arr.astype(float).copy()
        self.lr_v = lr_v_arr.astype(float).copy()
        self.B = self.K.size
        self.K_max = int(self.K.max())
        self.M = V.as_int(M, "M", low=1, high=WIDTH_MAX)
        self.activation = V.as_choice(activation, "activation", ACTIVATIONS)
        self.train_second_layer = V.as_bool(train_second_layer, "train_second_layer")
        self.T = np.eye(self.M) if T is None else V.as_array(T, "T", shape=(self.M, self.M))
        if not np.allclose(self.T, self.T.T) or np.linalg.eigvalsh(self.T).min() <= 0:
            raise ValueError("T must be symmetric positive definite")
        self.v_star = np.ones(self.M) if v_star is None else V.as_array(v_star, "v_star", shape=(self.M,))
        self.real = np.arange(self.K_max)[None, :] < self.K[:, None]  # (B, K_max) real (not padding) units
        Km = self.K_max
        kk, ll = np.triu_indices(Km)
        cc, ee = np.triu_indices(Km + self.M)
        self._pairs = (kk, ll, cc, ee, np.where(cc == ee, 1.0, 2.0))
        self.n_state = Km * Km + Km * self.M + Km
        # which state components belong to real units (the error norm uses only those, so a padded
        # member takes exactly the steps it would take alone)
        r = self.real
        self._real_state = np.concatenate([(r[:, :, None] & r[:, None, :]).reshape(self.B, -1),
                                           np.repeat(r, self.M, axis=1), r], axis=1)
        self._n_real_state = self._real_state.sum(axis=1)

    # --- state --------------------------------------------------------------------
    def _pack(self, Q, R, v):
        B = Q.shape[0]
        return np.concatenate([Q.reshape(B, -1), R.reshape(B, -1), v.reshape(B, -1)], axis=1)

    def _unpack(self, y):
        Km, M = self.K_max, self.M
        n = y.shape[0]
        Q = y[:, : Km * Km].reshape(n, Km, Km)
        R = y[:, Km * Km: Km * Km + Km * M].reshape(n, Km, M)
        v = y[:, Km * Km + Km * M:]
        return Q, R, v

    def initial_state(self, Q0=None, R0=None, v0=None) -> np.ndarray:
        """Padded state (B, n_state) from per-member initial conditions.

        Q0, R0, v0 : one array for all members (when all K are equal), or a
        list of B arrays of shapes (K_b, K_b), (K_b, M), (K_b,). Default:
        :func:`default_initial`. Each is validated as by CommitteeODE.check_initial
        (symmetric positive-definite Q0, [[Q0, R0], [R0^T, T]] PSD, finite).
        """
        B, Km, M = self.B, self.K_max, self.M

        def member_list(a, name, shape_of):
            if a is None:
                return [None] * B
            if isinstance(a, (list, tuple)) and len(a) == B and all(np.ndim(x) >= 1 for x in a):
                return list(a)
            if np.ndim(a) >= 1 and len(set(self.K.tolist())) == 1:
                arr = np.asarray(a, dtype=float)
                want = shape_of(int(self.K[0]))
                if arr.shape == want:
                    return [arr] * B
                if arr.shape == (B,) + want:
                    return list(arr)
            raise ValueError(f"{name} must be one array (members of equal K) or a list of {B} arrays, one per member")

        Q0s = member_list(Q0, "Q0", lambda k: (k, k))
        R0s = member_list(R0, "R0", lambda k: (k, M))
        v0s = member_list(v0, "v0", lambda k: (k,))
        Q = np.zeros((B, Km, Km))
        Q[:, np.arange(Km), np.arange(Km)] = 1.0  # padding units: unit norm, uncorrelated
        R = np.zeros((B, Km, M))
        v = np.zeros((B, Km))
        for b in range(B):
            k = int(self.K[b])
            dq, dr, dv = default_initial(k, M)
            q = V.as_array(dq if Q0s[b] is None else Q0s[b], f"Q0[{b}]", shape=(k, k))
            r = V.as_array(dr if R0s[b] is None else R0s[b], f"R0[{b}]", shape=(k, M))
            vv = V.as_array(dv if v0s[b] is None else v0s[b], f"v0[{b}]", shape=(k,))
            if not np.allclose(q, q.T, rtol=1e-10, atol=1e-12):
                raise ValueError(f"Q0[{b}] must be symmetric")
            if np.linalg.eigvalsh(q).min() <= 0:
                raise ValueError(f"Q0[{b}] must be positive definite")
            om = np.block([[q, r], [r.T, self.T]])
            if np.linalg.eigvalsh(om).min() < -1e-10 * np.abs(om).max():
                raise ValueError(f"[[Q0, R0], [R0^T, T]] of member {b} is not positive semi-definite")
            Q[b, :k, :k] = 0.5 * (q + q.T)
            R[b, :k] = r
            v[b, :k] = vv
        return self._pack(Q, R, v)

    # --- right-hand side ------------------------------------------------------------
    def rhs(self, y, members=None) -> np.ndarray:
        """d state / d alpha for the members ``members`` (indices; default all) at states ``y`` (n, n_state)."""
        members = np.arange(self.B) if members is None else np.asarray(members)
        Q, R, v = self._unpack(y)
        Km, act = self.K_max, self.activation
        n = y.shape[0]
        T = np.broadcast_to(self.T, (n, self.M, self.M))
        Om = np.concatenate([np.concatenate([Q, R], axis=2),
                             np.concatenate([np.swapaxes(R, 1, 2), T], axis=2)], axis=1)
        d = np.diagonal(Om, axis1=1, axis2=2)
        u = np.concatenate([v, np.broadcast_to(-self.v_star, (n, self.M))], axis=1)
        dk = d[:, :Km]
        # I3[b, k, j, c] = E[g'(lambda_k) a_j g(a_c)]; A[b, k, j] = E[g'(lambda_k) a_j Delta]
        I3 = _i3(dk[:, :, None, None], Om[:, :Km, :, None], Om[:, :Km, None, :], Om[:, None, :, :],
                 d[:, None, None, :], act)
        A = np.einsum("bkjc,bc->bkj", I3, u)
        Okl = Om[:, :Km, :Km]
        # D2[b, k, l] = sum_{c,e} u_c u_e I4(k, l, c, e): I4 is symmetric under (k <-> l) and under
        # (c <-> e), so it is evaluated on the pairs k <= l, c <= e only (weight 2 off the diagonal).
        kk, ll, cc, ee, w = self._pairs
        Okc = Om[:, :Km]
        I4 = i4(dk[:, kk, None], Okl[:, kk, ll][:, :, None], Okc[:, kk[:, None], cc[None, :]],
                 Okc[:, kk[:, None], ee[None, :]], dk[:, ll, None], Okc[:, ll[:, None], cc[None, :]],
                 Okc[:, ll[:, None], ee[None, :]], d[:, None, cc], Om[:, cc, ee][:, None, :], d[:, None, ee], act,
                 _committee.RELU_P4_NODES)
        D2p = np.einsum("bpq,bq->bp", I4, u[:, cc] * u[:, ee] * w)
        D2 = np.empty((n, Km, Km))
        D2[:, kk, ll] = D2p
        D2[:, ll, kk] = D2p
        noise = self.noise[members]
        if (noise > 0).any():
            D2 = D2 + (noise ** 2)[:, None, None] * _j2(dk[:, :, None], Okl, dk[:, None, :], act)
        lr = self.lr[members][:, None, None]
        S = v[:, :, None] * A[:, :, :Km]
        dQ = -lr * (S + np.swapaxes(S, 1, 2)) + lr ** 2 * v[:, :, None] * v[:, None, :] * D2
        dQ = 0.5 * (dQ + np.swapaxes(dQ, 1, 2))
        dR = -lr * v[:, :, None] * A[:, :, Km:]
        if self.train_second_layer:
            I2 = _pair_i2(Om, act)
            dv = -(self.lr_v[members] * 1.0)[:, None] * self.real[members] * np.einsum("bkc,bc->bk", I2[:, :Km], u)
        else:
            dv = np.zeros_like(v)
        return self._pack(dQ, dR, dv)

    def eps_g(self, y) -> np.ndarray:
        """Generalisation error (module :func:`idealnets.theory.committee.generalisation_error`) of states (n, n_state)."""
        Q, R, v = self._unpack(y)
        n = y.shape[0]
        T = np.broadcast_to(self.T, (n, self.M, self.M))
        Om = np.concatenate([np.concatenate([Q, R], axis=2),
                             np.concatenate([np.swapaxes(R, 1, 2), T], axis=2)], axis=1)
        u = np.concatenate([v, np.broadcast_to(-self.v_star, (n, self.M))], axis=1)
        with np.errstate(invalid="ignore"):
            return 0.5 * np.einsum("na,nac,nc->n", u, _pair_i2(Om, self.activation), u)

    # --- integration ------------------------------------------------------------------
    @V.renamed_keywords(max_alpha="alpha_max")
    def integrate(self, alpha_eval, Q0=None, R0=None, v0=None, *, rtol: float = 1e-8, atol: float = 1e-10,
                  h0: float = 1e-2, fp_tol: float = 1e-8, alpha_max: float = 1e5,
                  max_iterations: int = 1_000_000) -> GridTrajectory:
        """Integrate every member from its initial condition to the times ``alpha_eval``.

        Parameters
        ----------
        alpha_eval : 1-d increasing non-negative times shared by all members; a
            final ``np.inf`` asks for the long-time limit (integrate on until
            ``max|rate| < fp_tol``, at most to ``alpha_max``; a member that
            does not settle gets NaN there, is *not* flagged as diverged, and has
            ``settled = False`` in the result).
            Finite times at or beyond ``alpha_max`` (allowed only without a final
            ``np.inf``) are long-time outputs: a member that settles (``max|rate| < fp_tol``)
            while heading for one returns that settled state there and at every later time
            -- the value ``alpha = inf`` gives -- so their cost does not grow with alpha;
            a member that has not settled integrates on. Outputs before ``alpha_max`` do
            not depend on ``fp_tol``.
            (``alpha_max`` was called ``max_alpha``; the old keyword still works, deprecated.)
        rtol, atol : per-member error control of the Dormand-Prince 5(4) pair.

        Returns
        -------
        GridTrajectory
        """
        a_eval = V.as_times(alpha_eval, "alpha_eval", increasing=True, strictly=True)
        if a_eval.ndim != 1 or a_eval.size == 0:
            raise ValueError(f"alpha_eval must be a non-empty 1-d array, got shape {a_eval.shape}")
        rtol = V.as_float(rtol, "rtol", low=0.0, open_low=True)
        atol = V.as_float(atol, "atol", low=0.0, open_low=True)
        h0 = V.as_float(h0, "h0", low=0.0, open_low=True)
        fp_tol = V.as_float(fp_tol, "fp_tol", low=0.0, open_low=True)
        alpha_max = V.as_float(alpha_max, "alpha_max", low=0.0, open_low=True)
        max_iterations = V.as_int(max_iterations, "max_iterations", low=1)
        want_inf = bool(np.isinf(a_eval[-1]))
        finite_t = a_eval[:-1] if want_inf else a_eval
        if want_inf and finite_t.size and finite_t[-1] >= alpha_max:
            raise ValueError(f"alpha_max = {alpha_max:g} must exceed the last finite time {finite_t[-1]:g}")
        B, A = self.B, a_eval.size
        y = self.initial_state(Q0, R0, v0)
        out = np.full((B, A, self.n_state), np.nan)
        alpha = np.zeros(B)
        nxt = np.zeros(B, dtype=int)  # index of the next output time per member
        h = np.full(B, h0)
        n_steps = np.zeros(B, dtype=int)
        n_rej = np.zeros(B, dtype=int)
        diverged = np.zeros(B, dtype=bool)
        settled_flag = np.zeros(B, dtype=bool)
        done = np.zeros(B, dtype=bool)
        # outputs at alpha = 0
        if finite_t.size and finite_t[0] == 0.0:
            out[:, 0] = y
            nxt[:] = 1
        n_fin = finite_t.size
        done |= (nxt >= n_fin) & (not want_inf)
        k1 = np.full_like(y, np.nan)
        have_k1 = np.zeros(B, dtype=bool)
        iters = 0
        n_rhs = 0
        stages = len(_C)
        while not done.all():
            iters += 1
            if iters > max_iterations:
                raise RuntimeError(f"CommitteeGrid.integrate: no end after {max_iterations} iterations")
            idx = np.nonzero(~done)[0]
            yi, ai, hi = y[idx], alpha[idx], h[idx]
            past = nxt[idx] >= n_fin  # heading for the fixed point
            target = np.where(past, alpha_max, finite_t[np.minimum(nxt[idx], n_fin - 1)] if n_fin else alpha_max)
            hit = ai + hi >= target
            hi = np.where(hit, target - ai, hi)
            need = ~have_k1[idx]
            if need.any():
                k1[idx[need]] = self.rhs(yi[need], idx[need])
                n_rhs += int(need.sum())
            ks = [k1[idx]]
            for s in range(1, stages):
                ys = yi + hi[:, None] * sum(a * k for a, k in zip(_A[s], ks) if a != 0.0)
                with np.errstate(all="ignore"):
                    ks.append(self.rhs(ys, idx))
            n_rhs += (stages - 1) * idx.size
            y_new = ys  # the last stage point is the 5th-order solution (FSAL)
            err = hi[:, None] * sum((b - bh) * k for b, bh, k in zip(_B, _BHAT, ks) if b != bh)
            scale = atol + rtol * np.maximum(np.abs(yi), np.abs(y_new))
            with np.errstate(all="ignore"):
                en = np.sqrt(np.sum(np.where(self._real_state[idx], err / scale, 0.0) ** 2, axis=1)
                             / self._n_real_state[idx])
            finite = np.isfinite(en) & np.isfinite(y_new).all(axis=1)
            ok = finite & (en <= 1.0)
            # step-size update (elementary controller)
            with np.errstate(divide="ignore"):
                fac = np.where(finite, _SAFETY * np.maximum(en, 1e-10) ** -0.2, _FAC_MIN)
            fac = np.clip(fac, _FAC_MIN, np.where(ok, _FAC_MAX, 1.0))
            acc = idx[ok]
            y[acc] = y_new[ok]
            alpha[acc] = np.where(hit[ok], target[ok], ai[ok] + hi[ok])
            k1[acc] = ks[-1][ok]
            have_k1[acc] = True
            n_steps[acc] += 1
            n_rej[idx[~ok]] += 1
            # a clipped (hit) step keeps the step size it would have taken
            h[idx] = np.where(hit & ok, np.maximum(h[idx], hi) * fac, hi * fac)
            # divergence: blow-up or a step size that collapsed
            blow = ok & (np.abs(y_new).max(axis=1) > _BLOWUP)
            tiny = ~ok & (h[idx] < 1e-12 * np.maximum(1.0, ai))
            bad = idx[blow | tiny]
            if bad.size:
                diverged[bad] = True
                done[bad] = True
            # outputs
            rec = acc[hit[ok] & ~past[ok] & ~diverged[acc]]
            if rec.size:
                out[rec, nxt[rec]] = y[rec]
                nxt[rec] += 1
                done[rec[(nxt[rec] >= n_fin) & (not want_inf)]] = True
            # long-time outputs (alpha >= alpha_max): a member heading for one that has settled
            # (max|rate| < fp_tol, the criterion of alpha = inf) returns the settled state there and at
            # every later output, so alpha_eval = 1e12 costs what the fixed point does; outputs before
            # alpha_max are computed as before (bit for bit)
            run_on = acc[~past[ok] & ~diverged[acc]]
            run_on = run_on[nxt[run_on] < n_fin]
            run_on = run_on[finite_t[nxt[run_on]] >= alpha_max]
            if run_on.size:
                calm = run_on[np.abs(k1[run_on]).max(axis=1) < fp_tol]
                for m in calm:  # (no final inf here: finite times >= alpha_max exclude it)
                    out[m, nxt[m]:n_fin] = y[m]
                nxt[calm] = n_fin
                done[calm] = True
                settled_flag[calm] = True
            if want_inf:
                fp = acc[past[ok] & ~diverged[acc]]
                if fp.size:
                    rate = np.abs(k1[fp]).max(axis=1)
                    settled = fp[rate < fp_tol]
                    out[settled, A - 1] = y[settled]
                    settled_flag[settled] = True
                    stop = fp[(rate < fp_tol) | (alpha[fp] >= alpha_max)]
                    done[stop] = True
        Q, R, v = self._unpack(out.reshape(B * A, -1))
        eps = self.eps_g(out.reshape(B * A, -1)).reshape(B, A)
        Q = Q.reshape(B, A, self.K_max, self.K_max).copy()
        R = R.reshape(B, A, self.K_max, self.M).copy()
        v = v.reshape(B, A, self.K_max).copy()
        pad = ~self.real
        Q[np.broadcast_to(pad[:, None, :, None], Q.shape)] = np.nan
        Q[np.broadcast_to(pad[:, None, None, :], Q.shape)] = np.nan
        R[np.broadcast_to(pad[:, None, :, None], R.shape)] = np.nan
        v[np.broadcast_to(pad[:, None, :], v.shape)] = np.nan
        return GridTrajectory(a_eval, self.K.copy(), Q, R, v, eps, diverged, n_steps, n_rej, iters, n_rhs,
                              settled_flag)
