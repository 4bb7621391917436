r"""Exact dynamics of two-layer linear networks from lambda-balanced initialisation.

Network ``yhat = W2 W1 x`` with ``W1`` (N_h, N_in), ``W2`` (N_out, N_h), whitened
input (``Sxx = X X^T/P = I``), mean squared loss and gradient flow
``tau dW/dt = -dL/dW`` (docs: Conventions, "Loss and time"):

.. math::

    \tau \dot W_1 = W_2^\top (\Sigma^{yx} - W_2 W_1), \qquad
    \tau \dot W_2 = (\Sigma^{yx} - W_2 W_1) W_1^\top .

**Conserved quantity.** The balancedness ``B = W2^T W2 - W1 W1^T`` (N_h, N_h)
obeys ``tau dB/dt = 0``. An initialisation is *lambda-balanced* when
``B = lambda I`` (Dominé et al. 2025; lambda = 0 is the zero-balanced case of
Fukumizu 1998 and Braun et al. 2022).

**Riccati equation (our derivation).** Stack ``Q = [W1^T ; W2]`` (N_in+N_out, N_h)
and ``J = diag(I_in, -I_out)``. Then ``Q^T Q = W1 W1^T + W2^T W2`` and
``Q^T J Q = -B``. Substituting ``B = lambda I`` into the weight ODE gives

.. math::

    \tau \dot Q = F_\lambda Q - \tfrac12 Q Q^\top Q, \qquad
    F_\lambda = \begin{pmatrix} -\tfrac{\lambda}{2} I & \Sigma^{yx\top} \\
                                \Sigma^{yx} & \tfrac{\lambda}{2} I \end{pmatrix},

so ``M = Q Q^T = [[W1^T W1, W1^T W2^T], [W2 W1, W2 W2^T]]`` obeys the matrix
Riccati equation ``tau dM/dt = F_l M + M F_l - M^2``. Its solution is

.. math::

    M(t) = e^{F_\lambda t/\tau} Q_0 \Big[I + Q_0^\top G(t)\, Q_0\Big]^{-1} Q_0^\top e^{F_\lambda t/\tau},
    \qquad G(t) = \int_0^{t/\tau} e^{2F_\lambda s}\, ds ,

(differentiate: ``tau dK/dt = Q0^T e^{2 F t/tau} Q0`` for the bracket K, and the
``-M^2`` term appears). With the eigendecomposition ``F_l = O diag(f) O^T``,
``G = O diag((e^{2 f t/tau} - 1)/(2 f)) O^T`` and the ``f = 0`` entries are
``t/tau`` exactly. This is the form of Fukumizu (1998) and Braun et al. (2022,
their main theorem) written without inverting ``F``, so it holds when ``F`` is
singular (``N_in != N_out`` at lambda = 0: the null directions of ``Syx`` decay
algebraically, ``m(t) = m0/(1 + m0 t/tau)``, not exponentially) and for hidden
layers narrower or wider than ``min(N_in, N_out)``. Where a paper writes the
lambda term with another sign, the sign here follows from ``B = W2^T W2 - W1 W1^T``
and is checked against ``solve_ivp`` of the weight ODE in the tests.

**Evaluation.** :class:`TwoLayerExact` evaluates the closed form at each time
on its own, in O(1) operations (``t = 1e12`` costs what ``t = 10`` does). Up to
``max|f| t/tau = 2`` the formula above is used as written (one Cholesky solve,
well conditioned). Beyond, ``e^{2 f t}`` would overflow and the solve lose all
precision, so the same formula is rearranged (ours): ``M = diag(r) B B^T diag(r)``
with bounded ``r = e^{f t/tau} / g^{1/2}`` and ``B`` the lower block of an
orthonormal basis of ``range([I; diag(g)^{1/2} Q_0])``, built level by level of
``g`` in the log domain (:meth:`TwoLayerExact._graded_basis`); it agrees with
composing short steps of the semigroup to ~1e-14 (tested). ``t = inf`` is the fixed point
``M* = 2 F_l P`` with ``P`` the projector onto the limit of ``range(e^{F t} Q0)``
within the eigenvectors of positive ``f`` (the top ``N_h`` of them generically).

**Limits.** lambda -> 0 with small weights gives Saxe et al.'s (2014) sigmoidal
modes; ``|lambda| -> inf`` gives lazy (kernel) dynamics with the frozen kernels
of :func:`lazy_map` (tested in ``tests/test_lambda_balanced.py``).
"""
from __future__ import annotations

import numpy as np
from scipy import linalg

from . import _core
from .deep_linear import MAX_ENTRIES, balancedness
from .tasks import SIZE_MAX, whitened_task
from .validation import as_array, as_float, as_int, as_seed, as_times, as_whitened_pair, check_same

__all__ = [
    "balancedness",
    "balance_parameter",
    "is_lambda_balanced",
    "lambda_balanced_init",
    "free_scale",
    "whitened_task",
    "task_loss",
    "riccati_matrix",
    "TwoLayerExact",
    "lazy_map",
    "ntk",
    "kernel_distance",
    "representation_change",
    "BALANCE_RTOL",
    "WHITENING_ATOL",
]

BALANCE_RTOL = 1e-8  # |B - lambda I| allowed, relative to the weights' squared scale
WHITENING_ATOL = 1e-8  # max |Sxx - I| allowed
_STEP = 2.0  # max |f| t up to which the plain closed form is used (its solve has cond <~ e^4 |M|)
_RANK_TOL = 1e-12  # singular values below this * max|q0| count as zero in the graded evaluation


# ----------------------------------------------------------------------------- small formulas
def _pair(W1, W2) -> tuple[np.ndarray, np.ndarray]:
    """Finite weight matrices (or stacks of them), W1 (..., N_h, N_in) and W2 (..., N_out, N_h), that chain."""
    W1, W2 = as_array(W1, "W1", ndim=range(2, 64)), as_array(W2, "W2", ndim=range(2, 64))
    if W1.shape[-2] != W2.shape[-1]:
        raise ValueError(f"W1 has {W1.shape[-2]} hidden units but W2 has {W2.shape[-1]}")
    return W1, W2


def balance_parameter(W1, W2) -> tuple[np.ndarray, np.ndarray]:
    r"""Best ``lambda = tr(B)/N_h`` and the deviation ``max|B - lambda I|`` (per leading index),
    ``B = W2^T W2 - W1 W1^T`` the :func:`balancedness`."""
    return _balance_parameter(*_pair(W1, W2))


def _balance_parameter(W1, W2):
    B = _core.balancedness([W1, W2])[0]
    h = B.shape[-1]
    lam = np.trace(B, axis1=-2, axis2=-1) / h
    dev = np.max(np.abs(B - lam[..., None, None] * np.eye(h)), axis=(-2, -1))
    return lam, dev


def _weight_scale(W1, W2) -> np.ndarray:
    return np.maximum(np.sum(W1**2, axis=(-2, -1)), np.sum(W2**2, axis=(-2, -1)))


def is_lambda_balanced(W1, W2, lam: float | None = None, atol: float | None = None):
    r"""Whether ``W2^T W2 - W1 W1^T = lambda I`` (for the given ``lambda``, or for some lambda).

    ``atol`` defaults to ``BALANCE_RTOL * max(||W1||_F^2, ||W2||_F^2, 1)``.
    Returns a bool (or a bool array over leading ensemble axes).
    """
    W1, W2 = _pair(W1, W2)
    if lam is None:
        _, dev = _balance_parameter(W1, W2)
    else:
        B = _core.balancedness([W1, W2])[0]
        dev = np.max(np.abs(B - as_float(lam, "lam") * np.eye(W1.shape[-2])), axis=(-2, -1))
    tol = BALANCE_RTOL * np.maximum(_weight_scale(W1, W2), 1.0) if atol is None else as_float(atol, "atol", low=0.0)
    out = dev <= tol
    return bool(out) if np.ndim(out) == 0 else out


def lambda_balanced_init(n_in: int, n_hidden: int, n_out: int, lam: float, scale: float, seed: int = 0,
                         *, size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""Random ``(W1, W2)`` with ``W2^T W2 - W1 W1^T = lam I`` exactly, in random (Haar) frames.

    Construction: ``W1 = A diag(d1) B^T``, ``W2 = O diag(d2) A^T`` with Haar
    orthogonal ``A`` (N_h), ``B`` (N_in), ``O`` (N_out) and per hidden direction
    ``d2_i^2 - d1_i^2 = lam`` (``d1_i = 0`` for ``i >= N_in``, ``d2_i = 0`` for
    ``i >= N_out``). The free singular values (``d1`` for lam >= 0, ``d2`` for
    lam < 0) are those of a k x k matrix with i.i.d. ``N(0, scale^2/k)`` entries
    (typical size ``scale``), k = the number of free slots. The frames are not
    aligned with any task: the init is generic (non-decoupled).

    Feasibility: lam > 0 needs ``n_hidden <= n_out`` (``W2^T W2 >= lam I`` has full
    rank), lam < 0 needs ``n_hidden <= n_in``; lam = 0 allows any width.
    ``size`` = E returns stacked (E, ...) arrays. Returns ``W1`` (N_h, N_in), ``W2`` (N_out, N_h).
    """
    n_in, n_hidden, n_out = (as_int(v, name, low=1, high=SIZE_MAX) for name, v in
                             (("n_in", n_in), ("n_hidden", n_hidden), ("n_out", n_out)))
    lam = as_float(lam, "lam")
    scale = as_float(scale, "scale", low=0.0)
    seed = as_seed(seed)
    size = None if size is None else as_int(size, "size", low=1)
    per_net = n_hidden * (n_in + n_out) + n_hidden**2 + n_in**2 + n_out**2  # the weights and the Haar frames
    if (size or 1) * per_net > MAX_ENTRIES:
        raise ValueError(f"size = {size} networks of sizes ({n_in}, {n_hidden}, {n_out}) need "
                         f"{(size or 1) * per_net:.3g} array entries: at most MAX_ENTRIES = {MAX_ENTRIES}")
    if lam > 0 and n_hidden > n_out:
        raise ValueError(f"lam = {lam} > 0 needs n_hidden <= n_out (W2^T W2 = W1 W1^T + lam I has full rank "
                         f"{n_hidden}), got n_hidden = {n_hidden}, n_out = {n_out}")
    if lam < 0 and n_hidden > n_in:
        raise ValueError(f"lam = {lam} < 0 needs n_hidden <= n_in, got n_hidden = {n_hidden}, n_in = {n_in}")
    rng = np.random.default_rng(seed)
    E = () if size is None else (int(size),)
    h = n_hidden
    if lam > 0:
        k = min(h, n_in)
    elif lam < 0:
        k = min(h, n_out)
    else:
        k = min(h, n_in, n_out)
    free = np.zeros((*E, h))
    if k > 0:
        G = rng.standard_normal((*E, k, k)) * scale / np.sqrt(k)
        free[..., :k] = np.linalg.svd(G, compute_uv=False)
    if lam >= 0:
        d1sq, d2sq = free**2, free**2 + lam
    else:
        d2sq, d1sq = free**2, free**2 - lam
    d1, d2 = np.sqrt(d1sq), np.sqrt(d2sq)
    A, B, O = _core.haar(h, rng, E), _core.haar(n_in, rng, E), _core.haar(n_out, rng, E)
    m1, m2 = min(h, n_in), min(h, n_out)
    W1 = (A[..., :, :m1] * d1[..., None, :m1]) @ np.swapaxes(B[..., :, :m1], -1, -2)
    W2 = (O[..., :, :m2] * d2[..., None, :m2]) @ np.swapaxes(A[..., :, :m2], -1, -2)
    return W1, W2


def free_scale(lam: float, map_scale: float) -> float:
    r"""Free singular value ``d`` for which a lambda-balanced pair has product singular value
    ``d sqrt(d^2 + |lam|) = map_scale``: ``d^2 = (sqrt(lam^2 + 4 map_scale^2) - |lam|)/2``.

    Passing it as ``scale`` to :func:`lambda_balanced_init` keeps the initial function
    the same size for every lambda, so that lambda only sets the *relative* scale of the
    layers (the lazy limit is then clean: see ``tests/test_lambda_balanced.py``).
    """
    lam = abs(as_float(lam, "lam"))
    map_scale = as_float(map_scale, "map_scale", low=0.0)
    return float(np.sqrt(2 * map_scale**2 / (np.sqrt(lam**2 + 4 * map_scale**2) + lam))) if map_scale else 0.0


def task_loss(W, X, Y) -> np.ndarray:
    r"""Mean squared loss of map(s) ``W`` (..., N_out, N_in) on (X, Y):
    ``L = tr(Syy)/2 - tr(W Syx^T) + tr(W Sxx W^T)/2`` (docs: Conventions, "Loss and time");
    :func:`idealnets.theory.tasks.quadratic_loss` of the task's :func:`~idealnets.theory.tasks.correlations`."""
    W = as_array(W, "W", ndim=range(2, 64))
    X, Y = as_array(X, "X", ndim=2), as_array(Y, "Y", ndim=2)
    check_same("X", X.shape[1], "Y", Y.shape[1], "number of samples (columns)")
    if W.shape[-2:] != (Y.shape[0], X.shape[0]):
        raise ValueError(f"W must end in (N_out, N_in) = {(Y.shape[0], X.shape[0])}, got shape {W.shape}")
    with np.errstate(over="ignore", invalid="ignore"):
        loss = _core.quadratic_loss(W, *_core.correlations(X, Y))
    if not np.isfinite(loss).all():
        raise ValueError(f"the loss overflows float64 (max|W| = {np.max(np.abs(W)):.3g}, max|X| = "
                         f"{np.max(np.abs(X)):.3g}, max|Y| = {np.max(np.abs(Y)):.3g}): rescale")
    return loss


def riccati_matrix(Syx, lam: float) -> np.ndarray:
    r"""``F_lambda = [[-lam/2 I_in, Syx^T], [Syx, lam/2 I_out]]`` (module docstring), shape (N_in+N_out,)*2."""
    return _riccati_matrix(as_array(Syx, "Syx", ndim=2), as_float(lam, "lam"))


def _riccati_matrix(Syx: np.ndarray, lam: float) -> np.ndarray:
    n_out, n_in = Syx.shape
    F = np.zeros((n_in + n_out, n_in + n_out))
    F[:n_in, n_in:] = Syx.T
    F[n_in:, :n_in] = Syx
    F[:n_in, :n_in] = -0.5 * lam * np.eye(n_in)
    F[n_in:, n_in:] = 0.5 * lam * np.eye(n_out)
    return F


def _check_whitened(X, Y) -> tuple[np.ndarray, np.ndarray]:
    return as_whitened_pair(X, Y, atol=WHITENING_ATOL,
                            requirement="the exact solution needs whitened input Sxx = X X^T/P = I")


# ----------------------------------------------------------------------------- builder
class TwoLayerExact:
    r"""Closed-form gradient-flow trajectory of a two-layer linear network from (W1_0, W2_0).

    Solves ``tau dM/dt = F_l M + M F_l - M^2`` for ``M = Q Q^T``, ``Q = [W1^T; W2]``
    (module docstring; Fukumizu 1998, Braun et al. 2022, Dominé et al. 2025).
    The eigendecomposition of ``F_l`` is done once here.

    Parameters
    ----------
    W1_0 : (N_h, N_in), W2_0 : (N_out, N_h) initial weights, lambda-balanced:
        ``W2^T W2 - W1 W1^T = lambda I`` to ``BALANCE_RTOL`` (relative to the weights'
        squared Frobenius norm); otherwise ValueError stating the deviation.
    X : (N_in, P) whitened inputs (``Sxx = I``), Y : (N_out, P) targets.
    tau : time constant.

    Attributes: ``lam``, ``Syx``, ``F`` (the Riccati matrix), ``f``/``O`` its eigenpairs.
    Every method takes times ``t`` of any shape (``np.inf`` = fixed point) and puts
    them on the leading axes.
    """

    def __init__(self, W1_0, W2_0, X, Y, tau: float = 1.0):
        W1_0, W2_0 = as_array(W1_0, "W1_0", ndim=2), as_array(W2_0, "W2_0", ndim=2)
        X, Y = _check_whitened(X, Y)
        if W1_0.shape[1] != X.shape[0] or W2_0.shape[0] != Y.shape[0] or W1_0.shape[0] != W2_0.shape[1]:
            raise ValueError(f"weights {W1_0.shape}, {W2_0.shape} do not fit data {X.shape[0]} -> {Y.shape[0]}")
        lam, dev = _balance_parameter(W1_0, W2_0)
        tol = BALANCE_RTOL * max(float(_weight_scale(W1_0, W2_0)), 1.0)
        if dev > tol:
            raise ValueError(
                f"initial weights are not lambda-balanced: max|W2^T W2 - W1 W1^T - lambda I| = {dev:.3g} "
                f"for the best lambda = {float(lam):.6g} (allowed {tol:.3g}). The closed form would be wrong; "
                "use lambda_balanced_init or integrate the weight ODE numerically.")
        _, Syx, trSyy = _core.correlations(X, Y)
        self._setup(Syx, trSyy, np.vstack([W1_0.T, W2_0]), float(lam), as_float(tau, "tau", low=0.0, open_low=True))

    def _setup(self, Syx, trSyy, Q0, lam, tau):
        """Everything else from trusted input: the Riccati matrix, its eigenpairs, the factor in its eigenbasis."""
        self.tau, self.lam, self.Syx, self.trSyy = tau, lam, Syx, trSyy
        self.n_out, self.n_in = Syx.shape
        self.n_hidden = Q0.shape[1]
        self.F = _riccati_matrix(Syx, lam)
        self.f, self.O = np.linalg.eigh(self.F)
        self.Q0 = Q0
        self._q0 = self.O.T @ Q0  # factor in the eigenbasis
        self._dt = _STEP * tau / max(float(np.max(np.abs(self.f))), 1e-300)
        self._Minf = None

    @classmethod
    def from_factor(cls, Q0, X, Y, lam: float, tau: float = 1.0) -> "TwoLayerExact":
        r"""Start from any factor ``Q0`` (N_in+N_out, N_h) with ``Q0^T J Q0 = -lam I``
        (the trajectory depends on the weights only through ``Q0 Q0^T``)."""
        X, Y = _check_whitened(X, Y)
        Q0 = as_array(Q0, "Q0", ndim=2)
        lam = as_float(lam, "lam")
        tau = as_float(tau, "tau", low=0.0, open_low=True)
        n_in = X.shape[0]
        if Q0.shape[0] != n_in + Y.shape[0]:
            raise ValueError(f"Q0 must be (N_in + N_out, N_h) = ({n_in + Y.shape[0]}, N_h), got {Q0.shape}")
        W1, W2 = Q0[:n_in].T, Q0[n_in:]
        dev = float(np.max(np.abs(_core.balancedness([W1, W2])[0] - float(lam) * np.eye(Q0.shape[1]))))
        tol = BALANCE_RTOL * max(float(_weight_scale(W1, W2)), 1.0)
        if dev > tol:
            raise ValueError(f"Q0 is not {lam}-balanced: max|W2^T W2 - W1 W1^T - lambda I| = {dev:.3g} (allowed {tol:.3g})")
        _, Syx, trSyy = _core.correlations(X, Y)
        obj = cls.__new__(cls)
        obj._setup(Syx, trSyy, Q0, lam, tau)
        return obj

    # -- the closed form ------------------------------------------------------
    def _step(self, q, dt):
        """Exact propagator over ``dt`` for a factor ``q`` in the eigenbasis (module docstring)."""
        x = self.f * dt / self.tau
        a = np.exp(x)
        g = np.where(self.f == 0, dt / self.tau, np.expm1(2 * x) / np.where(self.f == 0, 1.0, 2 * self.f))
        K = np.eye(q.shape[1]) + q.T @ (g[:, None] * q)
        L = np.linalg.cholesky(K)
        return a[:, None] * linalg.solve_triangular(L, q.T, lower=True).T

    def _fixed_point(self) -> np.ndarray:
        """A factor of ``M(inf)`` in the eigenbasis, (n, N_h): ``M(inf) = 2 diag(f) P`` with P the
        projector onto the limit of ``range(e^{Ft} Q0)`` within the eigenvectors of positive f,
        found group by group of equal f, fastest first (columns padded with zeros)."""
        if self._Minf is None:
            order = np.argsort(-self.f, kind="stable")
            R = self._q0.copy()
            n = self.f.size
            cols = []
            tol = 1e-10 * max(np.max(np.abs(R)), 1e-300)
            i = 0
            while i < n and R.shape[1] > 0 and self.f[order[i]] > 0:
                j = i
                while j < n and abs(self.f[order[j]] - self.f[order[i]]) <= 1e-10 * max(abs(self.f[order[i]]), 1):
                    j += 1
                idx = order[i:j]
                Uu, sv, Vt = np.linalg.svd(R[idx], full_matrices=True)
                r = int(np.sum(sv > tol))
                if r:
                    basis = np.zeros((n, r))
                    basis[idx] = Uu[:, :r] * np.sqrt(2 * self.f[order[i]])
                    cols.append(basis)
                R = R @ Vt[r:].T  # column combinations not yet pinned down
                i = j
            factor = np.zeros((n, self.n_hidden))
            if cols:
                c = np.hstack(cols)
                factor[:, :c.shape[1]] = c
            self._Minf = factor
        return self._Minf

    def _graded_basis(self, L: np.ndarray) -> np.ndarray:
        r"""Rows ``A`` of an orthonormal basis of ``range([I_h; diag(e^L) q0])``, for any ``L`` (log domain).

        Rows are processed in levels of equal ``L``, largest first. A level pins the
        column directions its rows see (SVD of its rows restricted to the directions
        not pinned yet; singular values below ``_RANK_TOL * max|q0|`` count as zero);
        the remaining directions pass to lower levels. The basis is then built from the
        lowest level up: each level's columns ``[V1 e^{-L_k}; e^{L - L_k} q0 V1]`` (rows
        of higher levels exactly 0) are orthogonalised against those below, so every
        number formed is at most O(max|q0|) and no ``e^{L}`` overflows, whatever ``t``.
        """
        q = self._q0
        n, h = q.shape
        order = np.argsort(-L, kind="stable")
        levels, i = [], 0
        while i < n:
            j = i + 1
            while j < n and L[order[i]] - L[order[j]] <= 1e-13 * max(1.0, abs(L[order[i]])):
                j += 1
            levels.append(order[i:j])
            i = j
        tol = _RANK_TOL * max(float(np.max(np.abs(q))), 1e-300)
        C = np.eye(h)
        pinned = []
        for rows in levels:
            if C.shape[1] == 0:
                break
            Lk = float(np.max(L[rows]))
            S = np.exp(L[rows] - Lk)[:, None] * (q[rows] @ C)
            _, sv, Vt = np.linalg.svd(S, full_matrices=True)
            r = int(np.sum(sv > tol))
            if r:
                pinned.append((Lk, C @ Vt[:r].T))
            C = C @ Vt[r:].T
        BI, BA = C, np.zeros((n, C.shape[1]))
        for Lk, V1 in reversed(pinned):
            XI = V1 * np.exp(-Lk)
            with np.errstate(under="ignore"):
                XA = np.where((L > Lk)[:, None], 0.0, np.exp(np.minimum(L - Lk, 0.0))[:, None] * (q @ V1))
            for _ in range(2):  # twice is enough (Kahan): orthogonal to the lower levels' columns
                coef = BI.T @ XI + BA.T @ XA
                XI, XA = XI - BI @ coef, XA - BA @ coef
            Qx, _ = np.linalg.qr(np.vstack([XI, XA]))
            BI, BA = np.hstack([BI, Qx[:h]]), np.hstack([BA, Qx[h:]])
        return BA

    def _at(self, t: float) -> np.ndarray:
        r"""The factor ``q(t)`` in the eigenbasis at one finite time, in O(1) operations.

        Up to ``max|f| t/tau = _STEP`` it is one step of :meth:`_step` from ``q0``. Beyond,
        the same closed form is evaluated in the stable (graded) way: with
        ``g = (e^{2 f t/tau} - 1)/(2 f)`` (``t/tau`` where ``f = 0``) and ``A = diag(g)^{1/2} q0``,
        ``M(t) = diag(e^{f t/tau}) q0 (I + A^T A)^{-1} q0^T diag(e^{f t/tau})
        = diag(r) P diag(r)``, where ``r = e^{f t/tau}/g^{1/2}`` (bounded: -> sqrt(2f) for f > 0,
        -> 0 for f < 0, ``(tau/t)^{1/2}`` for f = 0) and ``P = A (I + A^T A)^{-1} A^T`` is the
        ``A``-block of the projector onto ``range([I; A])``, i.e. ``B B^T`` with ``B`` from
        :meth:`_graded_basis` (derived here). So ``q(t) = diag(r) B``.
        """
        if t == 0:
            return self._q0
        if np.max(np.abs(self.f)) * t / self.tau <= _STEP:
            return self._step(self._q0, t)
        f = self.f
        x = f * t / self.tau
        with np.errstate(over="ignore", divide="ignore", invalid="ignore", under="ignore"):
            pos = np.where(f > 0, f, 1.0)
            neg = np.where(f < 0, -f, 1.0)
            logg = np.where(f > 0, 2.0 * x + np.log(-np.expm1(-2.0 * np.abs(x))) - np.log(2.0 * pos),
                            np.where(f < 0, np.log(-np.expm1(-2.0 * np.abs(x))) - np.log(2.0 * neg),
                                     np.log(t / self.tau)))
            L = 0.5 * logg
            # log r = x - L, written without the cancellation of two O(f t) numbers for f > 0
            log_r = np.where(f > 0, 0.5 * (np.log(2.0 * pos) - np.log(-np.expm1(-2.0 * np.abs(x)))), x - L)
            r = np.exp(log_r)
        return r[:, None] * self._graded_basis(L)

    def _march(self, t: np.ndarray):
        """Yield ``(k, q(t_k))`` for the finite times of the flat array ``t`` in increasing order,
        composing exact sub-steps (each time is reached exactly, never overshot)."""
        q, now = self._q0, 0.0
        for k in np.argsort(t, kind="stable"):
            tk = t[k]
            if np.isinf(tk):
                continue
            while tk - now > 0:
                dt = min(self._dt, tk - now)
                q = self._step(q, dt)
                now = now + dt if dt < tk - now else tk
            yield k, q

    def factor(self, t) -> np.ndarray:
        r"""A factor ``Q(t)`` (``t.shape + (N_in+N_out, N_h)``) with ``Q Q^T = M(t)``: the stacked
        ``[W1^T; W2]`` up to a rotation of the hidden layer. ``t = inf`` gives a factor of the
        fixed point. All blocks below are products of its slices, so no (n x n) matrix is formed."""
        return self._factor(as_times(t))

    def _factor(self, t: np.ndarray) -> np.ndarray:
        flat = t.ravel()
        Q = np.empty((flat.size, self.f.size, self.n_hidden))
        if np.any(np.isinf(flat)):
            Q[np.isinf(flat)] = self.O @ self._fixed_point()
        for k in np.flatnonzero(np.isfinite(flat)):  # each time on its own: cost independent of t
            Q[k] = self.O @ self._at(float(flat[k]))
        return Q.reshape(*t.shape, *Q.shape[1:])

    def _blocks(self, t, rows: slice, cols: slice) -> np.ndarray:
        return self._block(self.factor(t), rows, cols)

    @staticmethod
    def _block(Q, rows: slice, cols: slice) -> np.ndarray:
        return Q[..., rows, :] @ np.swapaxes(Q[..., cols, :], -1, -2)

    def qqt(self, t) -> np.ndarray:
        r"""``Q Q^T (t) = [[W1^T W1, W1^T W2^T], [W2 W1, W2 W2^T]]``, shape ``t.shape + (n, n)``, n = N_in+N_out."""
        return self._blocks(t, slice(None), slice(None))

    def map(self, t) -> np.ndarray:
        r"""Network map ``W2 W1 (t)`` (lower-left block of QQ^T), shape ``t.shape + (N_out, N_in)``."""
        return self._blocks(t, slice(self.n_in, None), slice(0, self.n_in))

    def w1tw1(self, t) -> np.ndarray:
        r"""Hidden-representation kernel ``W1^T W1 (t)`` (upper-left block), ``t.shape + (N_in, N_in)``.
        Entry (i, j) is the overlap ``h(e_i) . h(e_j)`` of hidden representations of whitened inputs."""
        return self._blocks(t, slice(0, self.n_in), slice(0, self.n_in))

    def w2w2t(self, t) -> np.ndarray:
        r"""Readout kernel ``W2 W2^T (t)`` (lower-right block), ``t.shape + (N_out, N_out)``."""
        return self._blocks(t, slice(self.n_in, None), slice(self.n_in, None))

    def weights(self, t) -> tuple[np.ndarray, np.ndarray]:
        r"""One weight realisation ``(W1, W2)(t)``, exact up to a rotation of the hidden layer
        (``W1 -> R W1``, ``W2 -> W2 R^T``), which the trajectory of QQ^T cannot see.
        Finite ``t`` only; shapes ``t.shape + (N_h, N_in)``, ``t.shape + (N_out, N_h)``."""
        t = as_times(t)
        if np.any(np.isinf(t)):
            raise ValueError("weights(t) needs finite times")
        return self._weights(t)

    def _weights(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Q = self._factor(t)
        return np.swapaxes(Q[..., :self.n_in, :], -1, -2), Q[..., self.n_in:, :]

    def loss(self, t) -> np.ndarray:
        r"""Training loss ``L(t) = tr(Syy)/2 - tr(W Syx^T) + ||W||_F^2/2`` (Sxx = I), shape ``t.shape``."""
        return _core.quadratic_loss(self.map(t), None, self.Syx, self.trSyy)

    def then(self, X, Y, t_switch: float) -> "TwoLayerExact":
        r"""The trajectory after switching, at time ``t_switch``, to a new task (X, Y)
        (prior knowledge / transfer, Braun et al. 2022): the new solution starts from
        ``Q(t_switch)``, lambda is conserved. Its clock restarts at 0."""
        t_switch = as_float(t_switch, "t_switch", low=0.0)
        W1, W2 = self._weights(np.array(t_switch))
        return TwoLayerExact.from_factor(np.vstack([W1.T, W2]), X, Y, self.lam, self.tau)

    def ntk(self, t) -> tuple[np.ndarray, np.ndarray]:
        r"""The network's tangent kernel at ``t`` as the pair ``(W2 W2^T, W1^T W1)``: under gradient
        flow ``tau dW/dt = W2 W2^T (Syx - W) + (Syx - W) W1^T W1`` (see :func:`ntk`)."""
        return self._ntk(as_times(t))

    def _ntk(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Q = self._factor(t)
        n = self.n_in
        return self._block(Q, slice(n, None), slice(n, None)), self._block(Q, slice(0, n), slice(0, n))


# ----------------------------------------------------------------------------- limits and measures
def lazy_map(t, W1_0, W2_0, X, Y, tau: float = 1.0) -> np.ndarray:
    r"""Lazy (frozen-kernel, linearised) prediction of the map ``W(t)``.

    Freezing ``A = W2 W2^T(0)`` and ``C = W1^T W1(0)`` in the exact map equation
    ``tau dW/dt = A (Syx - W) + (Syx - W) C`` (whitened input) gives the linear ODE
    ``tau dE/dt = -(A E + E C)`` for ``E = W - Syx``, solved by
    ``E(t) = e^{-A t/tau} E(0) e^{-C t/tau}``. Exact trajectories approach it as
    ``|lambda| -> inf`` (tests measure the rate). Shape ``t.shape + (N_out, N_in)``; at
    ``t = inf`` directions with zero rate (zero initial weights) keep their initial error.
    """
    t = as_times(t)
    X, Y = _check_whitened(X, Y)
    W1_0, W2_0 = as_array(W1_0, "W1_0", ndim=2), as_array(W2_0, "W2_0", ndim=2)
    tau = as_float(tau, "tau", low=0.0, open_low=True)
    if W1_0.shape[1] != X.shape[0] or W2_0.shape[0] != Y.shape[0] or W1_0.shape[0] != W2_0.shape[1]:
        raise ValueError(f"weights {W1_0.shape}, {W2_0.shape} do not fit data {X.shape[0]} -> {Y.shape[0]}")
    Syx = _core.correlations(X, Y).Syx
    a, Ua = np.linalg.eigh(W2_0 @ W2_0.T)
    c, Uc = np.linalg.eigh(W1_0.T @ W1_0)
    E0 = Ua.T @ (W2_0 @ W1_0 - Syx) @ Uc
    rate = a[:, None] + c[None, :]
    tt = t[..., None, None]
    with np.errstate(under="ignore", invalid="ignore", over="ignore"):
        decay = np.exp(-rate * tt / tau)
    if np.isinf(t).any():
        # t = inf: directions with a positive rate have decayed, frozen ones (rate 0 up to rounding, e.g. zero
        # initial weights) keep their initial error (exp(-0 * inf) would be NaN)
        frozen = rate <= max(rate.shape) * np.finfo(float).eps * max(float(np.max(np.abs(rate))), 1e-300)
        decay = np.where(np.isinf(tt), np.where(frozen, 1.0, 0.0), decay)
    return Syx + Ua @ (decay * E0) @ Uc.T


def ntk(W1, W2) -> np.ndarray:
    r"""Neural tangent kernel of ``x -> W2 W1 x`` on whitened inputs as a (N_out N_in)^2 matrix:
    ``Theta = W2 W2^T (x) I_in + I_out (x) W1^T W1`` (row-major vec of the map), so that
    ``tau d vec(W)/dt = Theta vec(Syx - W)``. Single networks: W1 (N_h, N_in), W2 (N_out, N_h)."""
    W1, W2 = as_array(W1, "W1", ndim=2), as_array(W2, "W2", ndim=2)
    if W1.shape[0] != W2.shape[1]:
        raise ValueError(f"W1 has {W1.shape[0]} hidden units but W2 has {W2.shape[1]}")
    return np.kron(W2 @ W2.T, np.eye(W1.shape[1])) + np.kron(np.eye(W2.shape[0]), W1.T @ W1)


def kernel_distance(K0, K1) -> np.ndarray:
    r"""``1 - <K0, K1>_F / (||K0||_F ||K1||_F)`` (Fort et al. 2020): 0 when the kernel keeps its
    shape, up to 1 when it turns orthogonal. Broadcasts over leading axes; 0 for a zero kernel."""
    K0, K1 = as_array(K0, "K0", ndim=range(2, 64)), as_array(K1, "K1", ndim=range(2, 64))
    num = np.sum(K0 * K1, axis=(-2, -1))
    den = np.sqrt(np.sum(K0**2, axis=(-2, -1)) * np.sum(K1**2, axis=(-2, -1)))
    return np.where(den > 0, 1.0 - num / np.where(den > 0, den, 1.0), 0.0)


def representation_change(exact: TwoLayerExact, t=np.inf) -> dict[str, np.ndarray]:
    r"""How far learning moves the network's kernels from their initial values (lazy vs rich).

    Returns ``{"hidden": d(W1^T W1(0), W1^T W1(t)), "ntk": d(Theta(0), Theta(t))}`` with
    ``d`` the :func:`kernel_distance`. ``hidden`` is the change of the hidden
    representation's similarity structure (RSA); ``ntk`` the change of the tangent
    kernel. Both are 0 in the lazy regime and O(1) in the rich one; the NTK
    distance uses the closed form ``<A(x)I + I(x)C, A'(x)I + I(x)C'> =
    N_in tr(AA') + tr(A) tr(C') + tr(C) tr(A') + N_out tr(CC')``.
    """
    if not isinstance(exact, TwoLayerExact):
        raise TypeError(f"exact must be a TwoLayerExact, got {type(exact).__name__}")
    t = as_times(t)
    A0, C0 = exact._ntk(np.asarray(0.0))
    A, C = exact._ntk(t)
    n_in, n_out = exact.n_in, exact.n_out

    def inner(A1, C1, A2, C2):
        return (n_in * np.sum(A1 * A2, axis=(-2, -1)) + np.trace(A1, axis1=-2, axis2=-1) * np.trace(C2, axis1=-2, axis2=-1)
                + np.trace(C1, axis1=-2, axis2=-1) * np.trace(A2, axis1=-2, axis2=-1)
                + n_out * np.sum(C1 * C2, axis=(-2, -1)))

    ntk_d = 1.0 - inner(A0, C0, A, C) / np.sqrt(inner(A0, C0, A0, C0) * inner(A, C, A, C))
    return {"hidden": kernel_distance(C0, C), "ntk": ntk_d}
