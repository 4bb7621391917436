r"""Learning through time: exact dynamics of linear recurrent networks (BPTT, TBPTT, RTRL).

**Model.** A linear recurrent network (Elman 1990 without the nonlinearity)

.. math::

    h_t = W_h h_{t-1} + W_x x_t \quad (t = 1..T,\ h_0 = 0), \qquad \hat y = W_y h_T ,

with ``W_x`` (N_h, N_in), ``W_h`` (N_h, N_h), ``W_y`` (N_out, N_h); inputs ``X`` of shape
(N_in, T, P) (samples last, as everywhere in the package), targets ``Y`` (N_out, P) and the
package's loss ``L = (1/2P) sum_mu ||y_mu - yhat_mu||^2`` under gradient flow
``tau dW/dt = -dL/dW`` (docs: Conventions, "Loss and time"). Unrolled, the output is a sum over *lags*
``k = T - t``:

.. math::

    \hat y = \sum_{k=0}^{T-1} M_k\, x_{T-k}, \qquad M_k = W_y W_h^k W_x .

The second readout mode (``readout="all"``) emits ``yhat_t = W_y h_t`` at every step, with
targets ``Y`` (N_out, T, P) and loss ``(1/2P) sum_mu sum_t ||y_{t,mu} - yhat_{t,mu}||^2``
(summed over steps, averaged over samples).

**Lag correlations and the loss (our derivation).** Write ``Sxx_{tt'} = (1/P) X_t X_{t'}^T``
and, for the final readout, ``C_k = (1/P) Y X_{T-k}^T``; for ``readout="all"``,
``C_k = (1/P) sum_{t>k} Y_t X_{t-k}^T``. If the inputs are *white across time and
dimension*, ``Sxx_{tt'} = delta_{tt'} I``, the loss is exactly

.. math::

    L = \tfrac{1}{2P}\|Y\|^2 - \sum_k \operatorname{tr}(M_k^\top C_k)
        + \tfrac12 \sum_k w_k \|M_k\|_F^2 ,
    \qquad w_k = 1 \text{ (final readout)}, \quad w_k = T - k \text{ (all steps)} .

**Mode reduction (condition and ODE; our derivation, cf. Proca, Dominé, Shanahan &
Mediano 2025, Sec. 3).** Suppose the lag correlations share their singular vectors,

.. math::

    C_k = U \operatorname{diag}(w_k s_{k}) V^\top \quad \text{for every lag } k ,

``U`` (N_out, r), ``V`` (N_in, r) orthonormal, ``s_k`` (r,) *signed* per-lag singular
values. Then the aligned weights ``W_x = R diag(b) V^T``, ``W_h = R diag(a) R^T``,
``W_y = U diag(c) R^T`` (``R`` (N_h, r) orthonormal, N_h >= r) stay aligned under gradient
flow (each of ``dL/dW_x``, ``dL/dW_h``, ``dL/dW_y`` is diagonal in the same frames), and
each mode alpha is three scalars (input strength b, recurrent eigenvalue a, output
strength c) descending the mode loss

.. math::

    \ell(b, a, c) = \tfrac12 \sum_{k=0}^{T-1} w_k\, (s_k - c\, a^k b)^2 , \qquad
    e_k = s_k - c a^k b ,

    \tau \dot b = c \sum_k w_k a^k e_k ,\qquad
    \tau \dot c = b \sum_k w_k a^k e_k ,\qquad
    \tau \dot a = c\, b \sum_k w_k\, k\, a^{k-1} e_k .

The prefactors are exactly these for the package's loss convention and whitened inputs
(no factor 2 or 1/P survives). ``c^2 - b^2`` is conserved (:func:`mode_balance`). The
loss is ``L = L_res + sum_alpha ell_alpha`` with the unlearnable part
``L_res = (1/2P)||Y||^2 - (1/2) sum_{k,alpha} w_k s_{k,alpha}^2``.
When the lags do **not** share singular vectors (or the inputs are not white over time),
:func:`mode_reduction` raises a ValueError saying so.

**Solution.** For ``T >= 2`` the mode flow is a three-dimensional nonlinear system with
one conserved quantity; we know no closed form, so :class:`LinearRNNTheory` integrates it
in float64 (LSODA, rtol 1e-12: the flow turns stiff near the fixed point, where fast
modes have settled and slow ones still creep, so an explicit method needs ~100x more steps)
until it reaches a fixed point (rhs below 1e-13
of the mode scale *and* the Hessian of ``ell`` positive semi-definite, so a plateau near
the saddle at the origin is not mistaken for convergence) and returns the fixed point for
every later time, ``t = inf`` included: evaluating at ``t = 1e12`` costs the same as at
the convergence time. For ``T = 1`` with balanced start ``b0 = c0 > 0`` (and ``s_0 > 0``) the mode is
Saxe et al.'s (2014) two-layer mode, ``u = cb`` with ``tau du/dt = 2u(s - u)``, and the
closed form of :func:`idealnets.theory.deep_linear.mode_strength` is used (tested against the
integrator).

**Predictions.** (i) *Order of learning*: near the origin ``tau d(cb)/dt ~ 2 cb s_0`` and
a lag-k term enters only at order ``a^k``, so modes with a large singular value at a
*short* lag (the most recent input; Proca et al.'s "later" time steps) are learned first,
and within a mode the lag maps ``c a^k b`` rise in order of k. (ii) *Learned recurrent
eigenvalue*: the fixed point is the best geometric fit ``u a^k`` of the profile ``s_k``
(:func:`optimal_geometric_fit`); it is stable as a dynamical system iff ``|a*| < 1``,
which fails when the profile weights distant lags more than recent ones
(:func:`is_stable`). (iii) *Extrapolation*: on sequences longer than trained the network
emits ``c a^k b`` at lags ``k >= T`` (:meth:`LinearRNNTheory.extrapolation_loss`);
unstable eigenvalues make that grow without bound. (iv) *T dependence*: the escape from
the origin has rate ``s_0`` for any T; T enters only through the lags ``k >= 1`` at order
``a^k`` (:meth:`LinearRNNTheory.learning_time`).

**Temporal credit assignment.** :func:`bptt_gradient` is the exact gradient
(backpropagation through time, Werbos 1990; Lillicrap & Santoro 2019 Eq. 3);
:func:`rtrl_gradient` computes the same numbers forward in time (real-time recurrent
learning, Williams & Zipser 1989) from the sensitivities ``dh_t/dW``;
:func:`tbptt_gradient` truncates BPTT to the last ``k`` steps. **Truncation convention.**
``h_{T-k}`` is treated as a constant (``.detach()`` right after step ``T-k``): the
backward pass visits steps ``t = T, ..., T-k+1`` only. The kept terms are: ``dW_y``
exactly; for ``dW_x`` the lags ``l < k``; for ``dW_h``, of the ``l`` terms
``(W_h^T)^j delta (W_h^{l-1-j} W_x x_{T-l})^T`` (j = 0..l-1) that BPTT has for lag ``l``,
the ``min(l, k)`` with ``j < k`` (the step-``(T-k+1)`` term uses the *value* of
``h_{T-k}``). The dropped terms are :func:`tbptt_bias`. In the mode frame
``tau db/dt = c sum_{l<k} w_l a^l e_l`` and ``tau da/dt = c b sum_l w_l min(l,k) a^{l-1} e_l``
(``dc/dt`` unchanged), so a task whose only signal is at lags ``>= k`` has ``db/dt <= 0``:
``b`` decays and nothing is learned (:func:`tbptt_learnable`). ``k >= T`` is BPTT. For
``k < T`` the truncated flow is no gradient flow and does not conserve ``c^2 - b^2``: where
it learns, ``u = c b`` and ``a`` settle while ``b`` grows without bound (~ sqrt(t)) and
``c = u/b`` shrinks, and ``(u, a)`` reach their limit only algebraically (our finding;
:class:`LinearRNNTheory` integrates finite times on demand and gives ``t = inf`` as the
algebraic limit, with ``b, c`` NaN there).

**Gradients through time.** ``dL/dh_{T-k} = (W_h^T)^k dL/dh_T``, so its norm is bounded
by ``||W_h^k||``, which equals ``rho^k`` for normal ``W_h`` (spectral radius rho) and
obeys ``||W_h^k||^{1/k} -> rho`` in general (Gelfand): it vanishes for rho < 1 and
explodes for rho > 1 (Bengio et al. 1994; Pascanu et al. 2013; Lillicrap & Santoro 2019).
See :func:`gradient_norm_through_time`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import _core
from .validation import as_array, as_choice, as_float, as_int, as_times, check_same, describe

__all__ = [
    "rnn_forward",
    "rnn_loss",
    "bptt_gradient",
    "tbptt_gradient",
    "tbptt_bias",
    "rtrl_gradient",
    "lag_maps",
    "lag_correlations",
    "lag_weights",
    "input_whiteness",
    "whitened_sequences",
    "lag_task",
    "delayed_copy_profile",
    "window_sum_profile",
    "leaky_integrator_profile",
    "ModeReduction",
    "mode_reduction",
    "mode_loss",
    "mode_rhs",
    "mode_balance",
    "mode_hessian",
    "optimal_geometric_fit",
    "is_stable",
    "tbptt_learnable",
    "ModeState",
    "LinearRNNTheory",
    "gradient_norm_through_time",
    "spectral_radius",
    "WHITENING_ATOL",
    "SHARED_SVD_RTOL",
]

WHITENING_ATOL = 1e-8  # max |Sxx_{tt'} - delta_{tt'} I| for the mode reduction
SHARED_SVD_RTOL = 1e-8  # max |C_k - U diag(w_k s_k) V^T| relative to max |C|
_ODE_RTOL, _ODE_ATOL = 1e-12, 1e-14
_FIX_TOL = 1e-13  # |rhs| (relative to the mode scale) below which a local minimum counts as reached
_T_CAP = 1e7  # longest integration horizon (units of tau)
_SCALE_MAX = 1e100  # largest |b0|, |a0|, |c0|, |s| of LinearRNNTheory: its tolerances scale as size^3
_READOUTS = ("final", "all")
#: largest array a size argument may ask for (entries; 2^25 float64 = 256 MiB): lags, sequence lengths,
#: samples, grids and steps beyond it are refused by name instead of exhausting memory or time
MAX_ELEMENTS = 2**25
N_GRID_MAX = 10**6  #: largest ``n_grid`` of :func:`optimal_geometric_fit` (a Python loop over the grid)


def _bounded(n: int, name: str, per: int = 1, what: str = "") -> int:
    """``n`` if ``n * per <= MAX_ELEMENTS`` (the array it sizes), else a ValueError naming ``name``."""
    if n * per > MAX_ELEMENTS:
        raise ValueError(f"{name} = {n} is too large: it asks for {n * per:.3g} entries{what}, more than "
                         f"MAX_ELEMENTS = {MAX_ELEMENTS} (2^25)")
    return n


# ----------------------------------------------------------------------------- validation helpers
def _check_weights(weights) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not isinstance(weights, (tuple, list)) or len(weights) != 3:
        raise TypeError(f"weights must be a tuple (W_x, W_h, W_y), got {describe(weights)}")
    Wx = as_array(weights[0], "W_x", ndim=2)
    Wh = as_array(weights[1], "W_h", ndim=2)
    Wy = as_array(weights[2], "W_y", ndim=2)
    n_h = Wx.shape[0]
    if Wh.shape != (n_h, n_h):
        raise ValueError(f"W_h must have shape (N_h, N_h) = ({n_h}, {n_h}) to match W_x {Wx.shape}, got {Wh.shape}")
    check_same("W_y's columns", Wy.shape[1], "N_h (rows of W_x)", n_h)
    return Wx, Wh, Wy


def _finite_or_raise(arr, what: str, culprit: str):
    """Raise FloatingPointError when a result computed from finite input overflowed to inf/NaN."""
    if not np.all(np.isfinite(arr)):
        raise FloatingPointError(f"{what} overflowed float64 (inf/NaN): {culprit}")
    return arr


def _mode_scalars(b, a, c):
    """b, a, c as finite float arrays (any shapes that broadcast)."""
    return tuple(as_array(v, n, allow_empty=True) for v, n in ((b, "b"), (a, "a"), (c, "c")))


def _check_X(X, n_in: int | None = None) -> np.ndarray:
    X = as_array(X, "X", ndim=3, allow_empty=True)
    if X.shape[1] < 1:
        raise ValueError(f"X must hold sequences of length T >= 1 (shape (N_in, T, P)), got T = {X.shape[1]}")
    if X.shape[2] < 1 or X.shape[0] < 1:
        raise ValueError(f"X must have shape (N_in, T, P) with N_in, P >= 1, got {X.shape}")
    if n_in is not None:
        check_same("X's first axis", X.shape[0], "W_x's columns (N_in)", n_in)
    return X


def _check_Y(Y, X: np.ndarray, readout: str, n_out: int | None = None) -> np.ndarray:
    if readout == "final":
        Y = as_array(Y, "Y", ndim=2)
        check_same("Y's samples (last axis)", Y.shape[-1], "X's samples (last axis)", X.shape[2])
    else:
        Y = as_array(Y, "Y", ndim=3)
        if Y.shape[1:] != X.shape[1:]:
            raise ValueError(f"with readout='all' Y must have shape (N_out, T, P) = (N_out, {X.shape[1]}, "
                             f"{X.shape[2]}), got {Y.shape}")
    if n_out is not None:
        check_same("Y's first axis", Y.shape[0], "W_y's rows (N_out)", n_out)
    return Y


# ----------------------------------------------------------------------------- forward pass and loss
def rnn_forward(weights, X) -> np.ndarray:
    r"""Hidden states ``h_t = W_h h_{t-1} + W_x x_t`` (h_0 = 0) of the linear RNN.

    ``weights = (W_x, W_h, W_y)``; ``X`` (N_in, T, P). Returns ``H`` (N_h, T+1, P) with
    ``H[:, 0] = h_0 = 0`` and ``H[:, t] = h_t``.
    """
    Wx, Wh, _ = _check_weights(weights)
    X = _check_X(X, Wx.shape[1])
    with np.errstate(over="ignore", invalid="ignore"):
        H = _forward(Wx, Wh, X)
    return _finite_or_raise(H, "rnn_forward: the hidden states",
                            f"W_h (spectral radius {spectral_radius(Wh):.3g}) amplifies over T = {X.shape[1]} steps")


def _forward(Wx, Wh, X):
    n_h, (_, T, P) = Wx.shape[0], X.shape
    H = np.zeros((n_h, T + 1, P))
    for t in range(1, T + 1):
        H[:, t] = Wh @ H[:, t - 1] + Wx @ X[:, t - 1]
    return H


def rnn_loss(weights, X, Y, *, readout: str = "final") -> float:
    r"""``L = (1/2P) sum_mu ||y_mu - W_y h_T,mu||^2`` (``readout="all"``: summed over every step)."""
    readout = as_choice(readout, "readout", _READOUTS)
    Wx, Wh, Wy = _check_weights(weights)
    X = _check_X(X, Wx.shape[1])
    Y = _check_Y(Y, X, readout, Wy.shape[0])
    H = _forward(Wx, Wh, X)
    P = X.shape[2]
    if readout == "final":
        return float(np.sum((Y - Wy @ H[:, -1]) ** 2) / (2 * P))
    return float(np.sum((Y - np.einsum("oh,htp->otp", Wy, H[:, 1:])) ** 2) / (2 * P))


# ----------------------------------------------------------------------------- BPTT / TBPTT / RTRL
def _backward(Wx, Wh, Wy, X, Y, readout: str, k: int | None):
    """Reverse-mode gradient; with ``k`` the backward pass stops after steps T..T-k+1."""
    T, P = X.shape[1], X.shape[2]
    H = _forward(Wx, Wh, X)
    if readout == "final":
        E = (Wy @ H[:, T] - Y) / P  # dL/dyhat
        gWy = E @ H[:, T].T
        g = Wy.T @ E  # dL/dh_T
    else:
        E = (np.einsum("oh,htp->otp", Wy, H[:, 1:]) - Y) / P
        gWy = np.einsum("otp,htp->oh", E, H[:, 1:])
        g = np.zeros((Wx.shape[0], P))
    gWx, gWh = np.zeros_like(Wx), np.zeros_like(Wh)
    t_stop = 1 if k is None else max(1, T - k + 1)
    for t in range(T, t_stop - 1, -1):
        if readout == "all":
            g = g + Wy.T @ E[:, t - 1]
        gWx += g @ X[:, t - 1].T
        gWh += g @ H[:, t - 1].T
        g = Wh.T @ g
    return gWx, gWh, gWy


def bptt_gradient(weights, X, Y, *, readout: str = "final") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Exact gradient ``(dL/dW_x, dL/dW_h, dL/dW_y)`` of the mean loss by backpropagation through time.

    .. math::

        \delta_T = W_y^\top (\hat y - y)/P,\quad \delta_{t-1} = W_h^\top \delta_t,\qquad
        \frac{\partial L}{\partial W_x} = \sum_t \delta_t x_t^\top,\quad
        \frac{\partial L}{\partial W_h} = \sum_t \delta_t h_{t-1}^\top,\quad
        \frac{\partial L}{\partial W_y} = (\hat y - y)\, h_T^\top / P

    (summed over samples; Werbos 1990; Lillicrap & Santoro 2019, Eq. 3). With
    ``readout="all"`` every step adds ``W_y^T (yhat_t - y_t)/P`` to ``delta_t``.
    ``weights = (W_x (N_h, N_in), W_h (N_h, N_h), W_y (N_out, N_h))``, ``X`` (N_in, T, P),
    ``Y`` (N_out, P) (``readout="all"``: (N_out, T, P)). T < 1 is a ValueError.
    """
    readout = as_choice(readout, "readout", _READOUTS)
    Wx, Wh, Wy = _check_weights(weights)
    X = _check_X(X, Wx.shape[1])
    Y = _check_Y(Y, X, readout, Wy.shape[0])
    return _backward(Wx, Wh, Wy, X, Y, readout, None)


def tbptt_gradient(weights, X, Y, k) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Truncated BPTT with window ``k`` for the final-step readout.

    The hidden state ``h_{T-k}`` is treated as a constant (torch: ``h = h.detach()`` right
    after computing step ``T-k``), so the backward pass visits steps ``T, ..., T-k+1``:

    .. math::

        \frac{\partial L}{\partial W_x}\Big|_k = \sum_{t=T-k+1}^{T} \delta_t x_t^\top ,\qquad
        \frac{\partial L}{\partial W_h}\Big|_k = \sum_{t=T-k+1}^{T} \delta_t h_{t-1}^\top ,

    ``dL/dW_y`` exact. By lag ``l = T - t``: ``dW_x`` keeps the lags ``l < k``; ``dW_h``
    keeps, of the ``l`` BPTT terms of lag ``l``, the ``min(l, k)`` whose backward path
    stays inside the window (the term at ``t = T-k+1`` uses the value of ``h_{T-k}``).
    ``k >= T`` equals :func:`bptt_gradient`; ``k < 1`` or ``T < 1`` is a ValueError. Same
    shapes as :func:`bptt_gradient`. Lillicrap & Santoro (2019) describe the method
    (their Fig. 2); the term bookkeeping is ours.
    """
    k = as_int(k, "k", low=1)
    Wx, Wh, Wy = _check_weights(weights)
    X = _check_X(X, Wx.shape[1])
    Y = _check_Y(Y, X, "final", Wy.shape[0])
    return _backward(Wx, Wh, Wy, X, Y, "final", k)


def tbptt_bias(weights, X, Y, k) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""The terms TBPTT(k) drops: ``tbptt_gradient - bptt_gradient`` (its bias; zero for ``k >= T``)."""
    k = as_int(k, "k", low=1)
    Wx, Wh, Wy = _check_weights(weights)
    X = _check_X(X, Wx.shape[1])
    Y = _check_Y(Y, X, "final", Wy.shape[0])
    full = _backward(Wx, Wh, Wy, X, Y, "final", None)
    trunc = _backward(Wx, Wh, Wy, X, Y, "final", k)
    return tuple(a - b for a, b in zip(trunc, full))


def rtrl_gradient(weights, X, Y, *, readout: str = "final") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""The BPTT gradient computed forward in time (real-time recurrent learning).

    Sensitivities ``S^x_t = dh_t/dW_x`` (N_h, N_h, N_in, P) and ``S^h_t = dh_t/dW_h``
    (N_h, N_h, N_h, P) are carried forward with the state (Williams & Zipser 1989;
    Lillicrap & Santoro 2019, "forward-mode differentiation"):

    .. math::

        S^x_t[i,a,b] = \sum_j W_h[i,j] S^x_{t-1}[j,a,b] + \delta_{ia} x_t[b],\qquad
        S^h_t[i,a,b] = \sum_j W_h[i,j] S^h_{t-1}[j,a,b] + \delta_{ia} h_{t-1}[b],

    and ``dL/dW = sum_i (dL/dh_T)_i S_T[i]`` (``readout="all"``: summed over every step's
    error). No hidden state is stored; the cost is O(N_h^2 (N_h + N_in)) memory per sample.
    Equal to :func:`bptt_gradient` to rounding. Same arguments and shapes.
    """
    readout = as_choice(readout, "readout", _READOUTS)
    Wx, Wh, Wy = _check_weights(weights)
    X = _check_X(X, Wx.shape[1])
    Y = _check_Y(Y, X, readout, Wy.shape[0])
    n_h, n_in = Wx.shape[0], Wx.shape[1]
    T, P = X.shape[1], X.shape[2]
    eye = np.eye(n_h)
    Sx = np.zeros((n_h, n_h, n_in, P))
    Sh = np.zeros((n_h, n_h, n_h, P))
    h = np.zeros((n_h, P))
    gWx, gWh, gWy = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(Wy)
    for t in range(1, T + 1):
        x = X[:, t - 1]
        Sx = np.einsum("ij,jabp->iabp", Wh, Sx) + np.einsum("ia,bp->iabp", eye, x)
        Sh = np.einsum("ij,jabp->iabp", Wh, Sh) + np.einsum("ia,bp->iabp", eye, h)
        h = Wh @ h + Wx @ x
        if readout == "all" or t == T:
            y = Y if readout == "final" else Y[:, t - 1]
            E = (Wy @ h - y) / P
            g = Wy.T @ E
            gWy += E @ h.T
            gWx += np.einsum("ip,iabp->ab", g, Sx)
            gWh += np.einsum("ip,iabp->ab", g, Sh)
    return gWx, gWh, gWy


# ----------------------------------------------------------------------------- lag structure of a task
def lag_maps(weights, n_lags) -> np.ndarray:
    r"""``M_k = W_y W_h^k W_x`` for ``k = 0..n_lags-1``: (n_lags, N_out, N_in), the network's impulse response."""
    Wx, Wh, Wy = _check_weights(weights)
    n = _bounded(as_int(n_lags, "n_lags", low=1), "n_lags", Wy.shape[0] * Wx.shape[1], " (n_lags x N_out x N_in)")
    out = np.empty((n, Wy.shape[0], Wx.shape[1]))
    A = Wx.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(n):
            out[k] = Wy @ A
            A = Wh @ A
    return _finite_or_raise(out, "lag_maps: M_k = W_y W_h^k W_x",
                            f"W_h (spectral radius {spectral_radius(Wh):.3g}) raised to n_lags - 1 = {n - 1}")


def lag_weights(T, readout: str = "final") -> np.ndarray:
    r"""Weights ``w_k`` of lag k in the loss: 1 (final readout) or ``T - k`` (every step), k = 0..T-1."""
    return _lag_weights(_bounded(as_int(T, "T", low=1), "T"), as_choice(readout, "readout", _READOUTS))


def _lag_weights(T: int, readout: str) -> np.ndarray:
    return np.ones(T) if readout == "final" else (T - np.arange(T)).astype(float)


def lag_correlations(X, Y, *, readout: str = "final") -> np.ndarray:
    r"""``C_k`` (T, N_out, N_in): ``(1/P) Y X_{T-k}^T`` (final) or ``(1/P) sum_{t>k} Y_t X_{t-k}^T`` (all)."""
    readout = as_choice(readout, "readout", _READOUTS)
    X = _check_X(X)
    return _lag_correlations(X, _check_Y(Y, X, readout), readout)


def _lag_correlations(X: np.ndarray, Y: np.ndarray, readout: str) -> np.ndarray:
    T, P = X.shape[1], X.shape[2]
    if readout == "final":
        return np.einsum("op,itp->toi", Y, X[:, ::-1]) / P
    C = np.zeros((T, Y.shape[0], X.shape[0]))
    for k in range(T):
        C[k] = np.einsum("otp,itp->oi", Y[:, k:], X[:, : T - k]) / P
    return C


def input_whiteness(X) -> float:
    r"""``max |Sxx_{(t,i),(t',j)} - delta|``: distance of the inputs from white across time and dimension."""
    return _input_whiteness(_check_X(X))


def _input_whiteness(X: np.ndarray) -> float:
    n_in, T, P = X.shape
    Z = X.reshape(n_in * T, P)
    return float(np.max(np.abs(Z @ Z.T / P - np.eye(n_in * T))))


def whitened_sequences(n_in, T, n_samples=None, *, seed: int = 0) -> np.ndarray:
    r"""Inputs ``X`` (n_in, T, P) exactly white across time and dimension: ``Sxx_{tt'} = delta_{tt'} I``.

    Rows of the (n_in T, P) matrix are orthonormal up to ``sqrt(P)`` (QR of a Gaussian
    matrix); ``P`` defaults to ``n_in T`` (the fewest samples that allow it).
    """
    n_in = as_int(n_in, "n_in", low=1)
    T = as_int(T, "T", low=1)
    _bounded(n_in * T, "n_in * T", n_in * T, " (the (n_in T)^2 whitening)")
    P = n_in * T if n_samples is None else as_int(n_samples, "n_samples", low=n_in * T)
    _bounded(P, "n_samples", n_in * T, " (n_samples x n_in x T)")
    rng = np.random.default_rng(as_int(seed, "seed", low=0))
    Q, _ = np.linalg.qr(rng.standard_normal((P, n_in * T)))
    return (np.sqrt(P) * Q.T).reshape(n_in, T, P)


def delayed_copy_profile(T, d, gain=1.0) -> np.ndarray:
    r"""``s_k = gain * delta_{k,d}`` (k = 0..T-1): output the input from ``d`` steps before the end."""
    T = _bounded(as_int(T, "T", low=1), "T")
    d = as_int(d, "d", low=0, high=T - 1)
    s = np.zeros(T)
    s[d] = as_float(gain, "gain")
    return s


def window_sum_profile(T, w, gain=1.0) -> np.ndarray:
    r"""``s_k = gain`` for ``k < w``, else 0: the sum of the last ``w`` inputs."""
    T = _bounded(as_int(T, "T", low=1), "T")
    w = as_int(w, "w", low=1, high=T)
    return np.where(np.arange(T) < w, as_float(gain, "gain"), 0.0)


def leaky_integrator_profile(T, leak, gain=1.0) -> np.ndarray:
    r"""``s_k = gain * leak^k``: ``y = sum_k gain leak^k x_{T-k}``, an integrator with leak (usually ``abs(leak) <= 1``)."""
    T = _bounded(as_int(T, "T", low=1), "T")
    lam = as_float(leak, "leak")
    return as_float(gain, "gain") * lam ** np.arange(T)


def lag_task(profiles, *, n_samples=None, seed: int = 0, readout: str = "final", U=None, V=None):
    r"""Inputs and targets with known per-lag singular values: ``y = sum_k U diag(s_k) V^T x_{T-k}``.

    ``profiles`` (T, r): column alpha is mode alpha's lag profile ``s_{k,alpha}`` (use the
    ``*_profile`` builders). ``X`` is exactly white over time (:func:`whitened_sequences`)
    with ``N_in = N_out = r`` unless ``U`` (N_out, r), ``V`` (N_in, r) with orthonormal
    columns are given; by default ``U = V = I``. For ``readout="all"`` the target at every
    step is ``y_t = sum_{k<t} U diag(s_k) V^T x_{t-k}`` (so ``C_k = (T-k) U diag(s_k) V^T``).
    Returns ``(X, Y)``; the mode reduction then recovers ``s`` exactly.
    """
    S = as_array(profiles, "profiles", ndim=(1, 2))
    if S.ndim == 1:
        S = S[:, None]
    readout = as_choice(readout, "readout", _READOUTS)
    T, r = S.shape
    U = np.eye(r) if U is None else as_array(U, "U", ndim=2)
    V = np.eye(r) if V is None else as_array(V, "V", ndim=2)
    for name, M in (("U", U), ("V", V)):
        if M.shape[1] != r or not np.allclose(M.T @ M, np.eye(r), atol=1e-10):
            raise ValueError(f"{name} must have {r} orthonormal columns, got shape {M.shape}")
    X = whitened_sequences(V.shape[0], T, n_samples, seed=seed)
    maps = np.einsum("or,kr,ir->koi", U, S, V)
    if readout == "final":
        Y = np.einsum("koi,ikp->op", maps, X[:, ::-1])
    else:
        Y = np.zeros((U.shape[0], T, X.shape[2]))
        for t in range(T):
            Y[:, t] = np.einsum("koi,ikp->op", maps[: t + 1], X[:, t::-1])
    return X, Y


# ----------------------------------------------------------------------------- the mode reduction
@dataclass(frozen=True)
class ModeReduction:
    """Shared singular vectors of the lag correlations: ``C_k = U diag(w_k s_k) V^T``.

    ``s`` (T, r) signed per-lag singular values, ``w`` (T,) lag weights, ``U`` (N_out, r),
    ``V`` (N_in, r), ``residual_loss`` = ``(1/2P)||Y||^2 - (1/2) sum w_k s_k^2``.
    """

    s: np.ndarray
    w: np.ndarray
    U: np.ndarray
    V: np.ndarray
    residual_loss: float
    readout: str


def mode_reduction(X, Y, *, readout: str = "final", rtol: float = SHARED_SVD_RTOL,
                   whitening_atol: float = WHITENING_ATOL) -> ModeReduction:
    r"""Find ``U, V, s_k`` with ``C_k = U diag(w_k s_k) V^T`` for all lags, or say why not.

    Modes come ordered by decreasing ``sum_k w_k s_k^2``, each signed so that its largest
    ``|s_k|`` is positive.

    Conditions (our derivation, see the module docstring): (1) inputs white across time and
    dimension, ``Sxx_{tt'} = delta_{tt'} I`` (checked to ``whitening_atol``); (2) the lag
    correlations share singular vectors (checked to ``rtol * max|C|``). The common frame is
    that of a generic linear combination ``sum_k r_k C_k`` (fixed pseudo-random ``r_k``),
    which separates modes unless two have identical profiles (then any frame serves).
    Raises ValueError naming the failed condition.
    """
    readout = as_choice(readout, "readout", _READOUTS)
    rtol = as_float(rtol, "rtol", low=0.0)
    whitening_atol = as_float(whitening_atol, "whitening_atol", low=0.0)
    X = _check_X(X)
    Y = _check_Y(Y, X, readout)
    dev = _input_whiteness(X)
    if dev > whitening_atol:
        raise ValueError(
            f"the mode reduction needs inputs white across time and dimension (Sxx_tt' = delta_tt' I); "
            f"max deviation is {dev:.3g} > {whitening_atol:g} (use whitened_sequences)")
    C = _lag_correlations(X, Y, readout)
    T = C.shape[0]
    w = _lag_weights(T, readout)
    scale = max(float(np.max(np.abs(C))), 1e-300)
    best = np.inf
    for trial in range(3):
        coef = np.random.default_rng(1234 + trial).uniform(0.5, 1.5, T) * np.where(np.arange(T) % 2, -1, 1)
        Uf, sv, Vft = np.linalg.svd(np.tensordot(coef, C, axes=1), full_matrices=False)
        r = int(np.sum(sv > 1e-10 * max(sv[0], 1e-300))) if sv.size else 0
        U, V = Uf[:, :r], Vft[:r].T
        D = np.einsum("or,koi,is->krs", U, C, V)  # (T, r, r)
        s = np.einsum("krr->kr", D)
        rebuilt = np.einsum("or,kr,ir->koi", U, s, V)
        err = float(np.max(np.abs(C - rebuilt))) / scale
        best = min(best, err)
        if err <= rtol:
            s = s / w[:, None]
            # canonical frame: modes by decreasing sum_k w_k s_k^2, sign so the largest |s_k| is positive
            order = np.argsort(-np.sum(w[:, None] * s**2, axis=0), kind="stable")
            s, U, V = s[:, order], U[:, order], V[:, order]
            sign = np.sign(s[np.argmax(np.abs(s), axis=0), np.arange(r)])
            sign[sign == 0] = 1.0
            s, U = s * sign, U * sign
            resid = float(np.sum(Y**2) / (2 * X.shape[2]) - 0.5 * np.sum(w[:, None] * s**2))
            return ModeReduction(s=s, w=w, U=U, V=V, residual_loss=resid, readout=readout)
    raise ValueError(
        "the lag correlations C_k do not share singular vectors, so the dynamics do not split into "
        f"independent modes (best common-frame residual {best:.3g} of max|C| > rtol = {rtol:g}); the mode "
        "reduction needs C_k = U diag(w_k s_k) V^T for every lag k")


# ----------------------------------------------------------------------------- one mode: small formulas
def _powers(a, T):
    k = np.arange(T)
    a = np.asarray(a, dtype=float)[..., None]
    pk = a ** k
    with np.errstate(divide="ignore", invalid="ignore"):
        pkm1 = np.where(k > 0, a ** np.maximum(k - 1, 0), 0.0)
    return k, pk, pkm1


def _profile(s, w=None):
    s = as_array(s, "s", ndim=1)
    w = np.ones_like(s) if w is None else as_array(w, "w", shape=(s.size,), low=0.0)
    return s, w


def mode_loss(b, a, c, s, w=None) -> np.ndarray:
    r"""``ell = (1/2) sum_k w_k (s_k - c a^k b)^2`` (our derivation; b, a, c broadcast, s (T,))."""
    s, w = _profile(s, w)
    b, a, c = np.broadcast_arrays(*_mode_scalars(b, a, c))
    _, pk, _ = _powers(a, s.size)
    e = s - c[..., None] * pk * b[..., None]
    return 0.5 * np.sum(w * e**2, axis=-1)


def mode_rhs(b, a, c, s, w=None, *, k=None):
    r"""Right-hand side ``tau (db/dt, da/dt, dc/dt)`` of the mode flow (our derivation).

    .. math::

        \tau\dot b = c\sum_{l<k} w_l a^l e_l,\quad
        \tau\dot a = cb\sum_l w_l \min(l,k)\, a^{l-1} e_l,\quad
        \tau\dot c = b\sum_l w_l a^l e_l,\qquad e_l = s_l - c a^l b ;

    ``k=None`` (or ``k >= T``) is BPTT (``min(l, k) = l``), a finite ``k`` is TBPTT(k).
    """
    s, w = _profile(s, w)
    T = s.size
    kk = T if k is None else min(as_int(k, "k", low=1), T)
    b, a, c = np.broadcast_arrays(*_mode_scalars(b, a, c))
    lag, pk, pkm1 = _powers(a, T)
    e = w * (s - c[..., None] * pk * b[..., None])
    db = c * np.sum(np.where(lag < kk, pk * e, 0.0), axis=-1)
    dc = b * np.sum(pk * e, axis=-1)
    da = c * b * np.sum(np.minimum(lag, kk) * pkm1 * e, axis=-1)
    return db, da, dc


def mode_balance(b, c) -> np.ndarray:
    r"""``c^2 - b^2``, conserved by the mode flow (BPTT): ``d(c^2)/dt = d(b^2)/dt = 2bc sum_k w_k a^k e_k``."""
    return as_array(c, "c", allow_empty=True) ** 2 - as_array(b, "b", allow_empty=True) ** 2


def mode_hessian(b, a, c, s, w=None) -> np.ndarray:
    r"""Hessian of ``ell`` in ``(b, a, c)`` (3, 3) at one point: PSD at a stable fixed point of the flow."""
    s, w = _profile(s, w)
    b, a, c = (as_float(v, n) for v, n in ((b, "b"), (a, "a"), (c, "c")))
    return _mode_hessian(b, a, c, s, w)


def _mode_hessian(b: float, a: float, c: float, s: np.ndarray, w: np.ndarray) -> np.ndarray:
    T = s.size
    k = np.arange(T)
    p = a ** k
    p1 = np.where(k > 0, k * a ** np.maximum(k - 1, 0), 0.0)
    p2 = np.where(k > 1, k * (k - 1) * a ** np.maximum(k - 2, 0), 0.0)
    m = c * p * b
    e = s - m
    J = np.stack([c * p, c * b * p1, p * b])  # dm/d(b, a, c)
    H = (J * w) @ J.T
    # - sum w e d^2 m
    d2 = np.zeros((3, 3, T))
    d2[0, 1] = d2[1, 0] = c * p1
    d2[0, 2] = d2[2, 0] = p
    d2[1, 1] = c * b * p2
    d2[1, 2] = d2[2, 1] = b * p1
    return H - np.einsum("ijk,k->ij", d2, w * e)


def optimal_geometric_fit(s, w=None, *, a_max: float = 4.0, n_grid: int = 4001):
    r"""Best geometric impulse response ``u a^k`` for the profile ``s_k``: the flow's global minimum.

    ``min_{u,a} (1/2) sum_k w_k (s_k - u a^k)^2``; for fixed ``a`` the optimal
    ``u = sum w s a^k / sum w a^{2k}``, leaving the profile loss
    ``(1/2)[sum w s^2 - (sum w s a^k)^2 / sum w a^{2k}]``, minimised over ``|a| <= a_max``
    on a grid and refined by bounded Brent. Returns ``(u, a, loss)``. ``a`` on the
    boundary means the optimum runs off to ``|a| -> inf`` (profile weighted to the most
    distant lag). Our derivation.
    """
    from scipy.optimize import minimize_scalar

    s, w = _profile(s, w)
    a_max = as_float(a_max, "a_max", low=0.0, open_low=True)
    k = np.arange(s.size)
    tot = 0.5 * np.sum(w * s**2)

    def prof(a):
        p = a ** k
        den = np.sum(w * p * p)
        return tot - 0.5 * np.sum(w * s * p) ** 2 / den if den > 0 else tot

    grid = np.linspace(-a_max, a_max, as_int(n_grid, "n_grid", low=11, high=N_GRID_MAX))
    with np.errstate(over="ignore", invalid="ignore"):
        vals = np.array([prof(a) for a in grid])
    if not np.isfinite(vals).all():
        raise FloatingPointError(
            f"optimal_geometric_fit: a_max = {a_max:g} is too large for a profile of T = {s.size} lags "
            f"(a^(2(T-1)) overflows float64 on the grid); use a smaller a_max")
    i = int(np.argmin(vals))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    res = minimize_scalar(prof, bounds=(lo, hi), method="bounded", options={"xatol": 1e-13})
    a = float(res.x) if res.fun <= vals[i] else float(grid[i])
    p = a ** k
    u = float(np.sum(w * s * p) / np.sum(w * p * p))
    return u, a, float(prof(a))


def is_stable(a) -> np.ndarray:
    r"""Whether the learned recurrent eigenvalue gives stable dynamics, ``|a| < 1`` (elementwise; ``a`` real,
    ``+-inf`` allowed: unstable)."""
    return np.abs(as_array(a, "a", allow_inf=True, allow_empty=True)) < 1.0


def tbptt_learnable(s, k, *, atol: float = 0.0) -> bool:
    r"""Whether TBPTT(k) can learn a mode at all from small weights: some ``|s_l| > atol`` at a lag ``l < k``.

    If every lag inside the window has ``s_l = 0``, then ``tau db/dt = -c^2 b sum_{l<k} w_l a^{2l} <= 0``:
    the input strength decays and the mode is never learned, whatever the signal at lags
    ``>= k`` (our derivation from :func:`mode_rhs`).
    """
    s, _ = _profile(s)
    k = as_int(k, "k", low=1)
    return bool(np.any(np.abs(s[: min(k, s.size)]) > as_float(atol, "atol", low=0.0)))


# ----------------------------------------------------------------------------- the mode solution
class ModeState(NamedTuple):
    """Per-mode scalars, each of shape ``(*t.shape, r)``."""

    b: np.ndarray
    a: np.ndarray
    c: np.ndarray


def _fast_rhs(S, w, k):
    """``mode_rhs`` for all modes at once, without validation (the integrator calls it thousands of times).

    ``S`` (T, r); the state is ``z = [b (r), a (r), c (r)]``.
    """
    T, r = S.shape
    lag = np.arange(T, dtype=float)[:, None]
    kk = T if k is None else min(k, T)
    inside = (lag < kk).astype(float)
    mult = np.minimum(lag, kk)
    lagm1 = np.maximum(lag - 1, 0)
    w = w[:, None]

    def f(_, z):
        b, a, c = z[:r], z[r:2 * r], z[2 * r:]
        pk = a**lag
        pkm1 = a**lagm1
        pkm1[0] = 0.0
        e = w * (S - c * b * pk)
        pe = pk * e
        return np.concatenate([c * (inside * pe).sum(0), c * b * (mult * pkm1 * e).sum(0), b * pe.sum(0)])

    return f


class _ModeSolution:
    """All modes integrated together until each is at rest (or ``_T_CAP``); dense output per chunk.

    Under TBPTT (k < T) a mode that learns has no rest point in ``(b, a, c)``: the truncated
    ``db/dt`` breaks the conservation of ``c^2 - b^2``, ``b`` grows without bound and
    ``c = u/b`` shrinks, and ``(u = c b, a)`` approach their limit only algebraically (the
    weight ``c^2/b^2`` of the truncated sum in ``du/dt = c^2 sum_{l<k} + b^2 sum_l`` decays).
    Such a mode is integrated until ``c^2 < 1e-4 b^2`` ("drift regime"); later finite times
    are integrated on demand, and ``t = inf`` is the algebraic limit: the root of
    ``sum_l w_l a^l e_l = 0`` (exact c-gradient) and ``sum_l w_l min(l,k) a^{l-1} e_l = 0``
    (our derivation), with the limits ``b = +-inf`` (the sign ``b`` grows with) and ``c = 0`` there.
    """

    def __init__(self, z0, S, w, k, closed):
        self.S, self.w, self.k = S, w, k
        self.r = S.shape[1]
        self.z0 = np.asarray(z0, dtype=float).reshape(3, self.r)
        self.closed = np.asarray(closed, dtype=bool)
        self.truncated = k is not None and k < S.shape[0]
        self.scale = max(float(np.max(np.abs(S))), float(np.max(np.abs(self.z0))), 1e-300)
        self.f = _fast_rhs(S, w, k)
        self.chunks = []  # (t0, t1, dense)
        self.t_end, self.z_end = 0.0, self.z0.copy()
        horizon = 1.0
        self.converged = False
        while True:
            rest, drift = self._status(self.z_end)
            if np.all(rest | drift | self.closed):
                self.converged = True
                break
            if self.t_end >= _T_CAP or not self._advance(min(self.t_end + horizon, _T_CAP)):
                break
            horizon *= 2.0
        self.drift = drift & ~rest
        self.limit = self._drift_limit() if self.drift.any() else None

    def _advance(self, t1) -> bool:
        from scipy.integrate import solve_ivp

        sol = solve_ivp(self.f, (self.t_end, t1), self.z_end.ravel(), method="LSODA", rtol=_ODE_RTOL,
                        atol=_ODE_ATOL * self.scale, dense_output=True)
        if not sol.success or not np.all(np.isfinite(sol.y[:, -1])):
            return False
        self.chunks.append((self.t_end, t1, sol.sol))
        self.t_end, self.z_end = t1, sol.y[:, -1].reshape(3, self.r)
        return True

    def _status(self, zz):
        d = self.f(0, zz.ravel()).reshape(3, self.r)
        if self.truncated:  # only u = c b and a matter for the function
            rn = np.maximum(np.abs(zz[2] * d[0] + zz[0] * d[2]), np.abs(d[1]))
            drift = (zz[2] ** 2 < 1e-4 * zz[0] ** 2) & (zz[0] * d[0] > 0)
        else:
            rn = np.max(np.abs(d), axis=0)
            drift = np.zeros(self.r, dtype=bool)
        rest = (rn == 0.0) | ((rn < _FIX_TOL * self.scale**3) & self._is_min(zz))
        return rest, drift

    def _is_min(self, zz):
        if self.truncated:  # TBPTT is no gradient flow: any rest point
            return np.ones(self.r, dtype=bool)
        return np.array([np.linalg.eigvalsh(_mode_hessian(float(zz[0, m]), float(zz[1, m]), float(zz[2, m]), self.S[:, m],
                                                          self.w))[0]
                         >= -1e-9 for m in range(self.r)])

    def _drift_limit(self):
        from scipy.optimize import root_scalar

        T = self.S.shape[0]
        lag = np.arange(T)
        out = np.full((2, self.r), np.nan)  # (u, a)
        for m in np.flatnonzero(self.drift):
            s = self.S[:, m]

            def u_of(a):
                p = a**lag
                return np.sum(self.w * s * p) / np.sum(self.w * p * p)

            def g(a):
                e = s - u_of(a) * a**lag
                return np.sum(self.w * np.minimum(lag, self.k) * np.where(lag > 0, a ** np.maximum(lag - 1, 0), 0) * e)

            a_end = float(self.z_end[1, m])
            sol = root_scalar(g, x0=a_end, x1=a_end * (1 + 1e-3) + 1e-4, method="secant", xtol=1e-15, maxiter=200)
            if sol.converged:
                out[:, m] = u_of(sol.root), sol.root
        return out

    def __call__(self, t: np.ndarray) -> np.ndarray:
        """State ``(b, a, c, u = c b)`` (4, *t.shape, r) at times t (in units of tau)."""
        flat = t.ravel()
        fin = flat[np.isfinite(flat)]
        if self.drift.any() and fin.size and fin.max() > self.t_end:
            if not self._advance(float(fin.max())):
                raise ValueError(f"the TBPTT mode flow failed to integrate to t = {fin.max():.3g}")
        if (flat > self.t_end).any() and not self.converged:
            raise ValueError(
                f"the mode flow has not reached a fixed point by t = {self.t_end:.3g} tau (a recurrent eigenvalue "
                "keeps growing: the profile's best geometric fit has |a| -> inf); ask for earlier times")
        res = np.empty((4, flat.size, self.r))
        late = flat >= self.t_end
        res[:3, late] = self.z_end[:, None, :]
        for (c0, c1, dense) in self.chunks:
            sel = ~late & (flat >= c0) & (flat <= c1)
            if sel.any():
                res[:3, sel] = dense(flat[sel]).reshape(3, self.r, -1).transpose(0, 2, 1)
        res[:3, flat == 0.0] = self.z0[:, None, :]
        res[3] = res[0] * res[2]
        if self.drift.any():
            inf = np.isinf(flat)
            m = np.flatnonzero(self.drift)
            # the limits of a drifting mode: |b| -> inf in the direction it grows, c = u/b -> 0 (u finite)
            res[0][np.ix_(inf, m)] = np.copysign(np.inf, self.z_end[0, m])
            res[2][np.ix_(inf, m)] = np.copysign(0.0, self.limit[0, m] * self.z_end[0, m])
            res[3][np.ix_(inf, m)] = self.limit[0, m]
            res[1][np.ix_(inf, m)] = self.limit[1, m]
        if self.closed.any():  # T = 1, b0 = c0 > 0, s_0 > 0: Saxe's two-layer mode, b = c = sqrt(u)
            from .deep_linear import mode_strength

            m = np.flatnonzero(self.closed)
            u = mode_strength(flat[:, None], self.S[0, m], self.z0[0, m] * self.z0[2, m], depth=2)
            res[0][:, m] = res[2][:, m] = np.sqrt(u)
            res[1][:, m] = self.z0[1, m]
            res[3][:, m] = u
        return res.reshape(4, *t.shape, self.r)


class LinearRNNTheory:
    r"""Mode solution of a linear RNN for a task and an aligned initialisation.

    Build it from data, ``LinearRNNTheory(X, Y, b0=..., a0=..., c0=...)`` (the reduction
    of :func:`mode_reduction`; a ValueError when the lags do not share singular vectors),
    or from profiles, ``LinearRNNTheory.from_profiles(s, ...)``. ``b0, a0, c0`` are the
    initial input strength, recurrent eigenvalue and output strength of each mode (scalars
    or (r,)); ``truncation=k`` gives the TBPTT(k) flow (final readout only). Time is in
    units of ``tau`` (``t = lr * steps`` for gradient descent).

    Methods take times of any shape (time on the leading axes; ``np.inf`` = fixed point):
    :meth:`modes` -> :class:`ModeState`, :meth:`recurrent_eigenvalues` (..., r),
    :meth:`mode_maps` (..., T, r) = ``c a^k b``, :meth:`loss`, :meth:`weights` (the
    aligned weight matrices, exact for aligned init), :meth:`learning_time`,
    :meth:`extrapolation_loss`. See the module docstring for the equations and which
    cases use the closed form.
    """

    def __init__(self, X, Y, *, b0=1e-2, a0=0.0, c0=None, readout: str = "final", truncation=None,
                 tau: float = 1.0):
        red = mode_reduction(X, Y, readout=readout)
        self._setup(red.s, red.w, b0, a0, c0, truncation, tau, red.U, red.V, red.residual_loss, red.readout)

    @classmethod
    def from_profiles(cls, s, *, b0=1e-2, a0=0.0, c0=None, w=None, truncation=None, tau: float = 1.0,
                      residual_loss: float = 0.0) -> "LinearRNNTheory":
        r"""From per-lag singular values ``s`` (T, r) (or (T,)) directly; frames U = V = I."""
        S = as_array(s, "s", ndim=(1, 2))
        if S.ndim == 1:
            S = S[:, None]
        T, r = S.shape
        w = np.ones(T) if w is None else as_array(w, "w", shape=(T,), low=0.0)
        self = cls.__new__(cls)
        self._setup(S, w, b0, a0, c0, truncation, tau, np.eye(r), np.eye(r), as_float(residual_loss, "residual_loss"),
                    "final" if np.all(w == 1) else "all")
        return self

    def _setup(self, S, w, b0, a0, c0, truncation, tau, U, V, resid, readout):
        self.s, self.w, self.U, self.V = S, w, U, V
        self.T, self.n_modes = S.shape
        self.readout = readout
        self.tau = as_float(tau, "tau", low=0.0, open_low=True)
        self.residual_loss = resid
        if truncation is not None:
            truncation = as_int(truncation, "truncation", low=1)
            if readout != "final":
                raise ValueError("truncation (TBPTT) is implemented for the final-step readout only")
        self.truncation = truncation
        r = self.n_modes

        def per_mode(v, name):
            arr = as_array(v, name, ndim=(0, 1))
            if arr.ndim == 0:
                arr = np.full(r, float(arr))
            if arr.shape != (r,):
                raise ValueError(f"{name} must be a scalar or have shape ({r},) (one per mode), got {arr.shape}")
            return arr

        self.b0 = per_mode(b0, "b0")
        self.a0 = per_mode(a0, "a0")
        self.c0 = self.b0.copy() if c0 is None else per_mode(c0, "c0")
        big = max(float(np.max(np.abs(S))), *(float(np.max(np.abs(v))) for v in (self.b0, self.a0, self.c0)))
        if big > _SCALE_MAX:
            raise ValueError(f"b0, a0, c0 and the task's singular values must be at most {_SCALE_MAX:g} in size (the "
                             f"mode flow is cubic in them and would overflow float64), got {big:g}")
        k_eff = None if truncation is None or truncation >= self.T else truncation
        closed = (self.T == 1) & (self.b0 == self.c0) & (self.b0 > 0) & (S[0] > 0) & (w[0] == 1)
        self._sol = _ModeSolution(np.stack([self.b0, self.a0, self.c0]), S, w, k_eff, closed)
        self.converged = self._sol.converged
        self.t_converged = self._sol.t_end * self.tau

    # -- evaluation
    def modes(self, t) -> ModeState:
        """``(b, a, c)`` per mode, each ``(*t.shape, r)``.

        Under TBPTT(k) a mode that learns has no rest point in ``(b, a, c)``: ``|b|`` grows
        without bound while ``c = u/b`` shrinks (``u = c b`` and ``a`` converge). At ``t = inf``
        such a mode gets the limits ``b = +-inf`` (the sign it grows with) and ``c = 0``;
        :meth:`mode_maps` and :meth:`loss` use the finite limit of ``u``.
        """
        t = as_times(t) / self.tau
        z = self._sol(t)  # (4, *t.shape, r)
        return ModeState(z[0], z[1], z[2])

    def recurrent_eigenvalues(self, t) -> np.ndarray:
        """The learned recurrent eigenvalue ``a_alpha(t)`` (..., r)."""
        return self.modes(t).a

    def mode_maps(self, t, n_lags=None) -> np.ndarray:
        """Lag-map strengths ``c a^k b`` (..., n_lags, r), ``n_lags`` defaulting to T."""
        t = as_times(t)
        n = self.T if n_lags is None else _bounded(as_int(n_lags, "n_lags", low=1), "n_lags",
                                                   max(t.size, 1) * self.n_modes, " (n_lags x times x modes)")
        _, a, _, u = self._sol(t / self.tau)
        k = np.arange(n)[:, None]
        return u[..., None, :] * a[..., None, :] ** k

    def loss(self, t) -> np.ndarray:
        """``L(t) = L_res + sum_alpha ell_alpha(t)`` (shape of t)."""
        m = self.mode_maps(t)
        return self.residual_loss + 0.5 * np.sum(self.w[:, None] * (self.s - m) ** 2, axis=(-2, -1))

    def mode_losses(self, t) -> np.ndarray:
        """``ell_alpha(t)`` (..., r)."""
        m = self.mode_maps(t)
        return 0.5 * np.sum(self.w[:, None] * (self.s - m) ** 2, axis=-2)

    def weights(self, t, R=None):
        """Aligned weights ``(W_x, W_h, W_y)`` at times t: ``R diag(b) V^T, R diag(a) R^T, U diag(c) R^T``.

        ``R`` (N_h, r) orthonormal columns; default ``I_r`` (N_h = r).
        """
        R = np.eye(self.n_modes) if R is None else as_array(R, "R", ndim=2)
        if R.shape[1] != self.n_modes or not np.allclose(R.T @ R, np.eye(self.n_modes), atol=1e-10):
            raise ValueError(f"R must have {self.n_modes} orthonormal columns, got shape {R.shape}")
        st = self.modes(t)
        if np.isinf(st.b).any():
            drifting = [int(i) for i in np.flatnonzero(np.isinf(st.b).reshape(-1, self.n_modes).any(axis=0))]
            raise ValueError(
                "t = inf has no finite weights under TBPTT: a learning mode's input strength b grows without bound "
                f"(c = u/b -> 0; modes {drifting}); ask for finite times, or use mode_maps/loss, which have the "
                "finite limit of u = c b")
        Wx = np.einsum("hr,...r,ir->...hi", R, st.b, self.V)
        Wh = np.einsum("hr,...r,gr->...hg", R, st.a, R)
        Wy = np.einsum("or,...r,hr->...oh", self.U, st.c, R)
        return Wx, Wh, Wy

    def learning_time(self, fraction: float = 0.5, *, n_grid: int = 4000) -> np.ndarray:
        r"""Time at which each mode's loss ``ell_alpha`` has fallen by ``fraction`` of its total drop (r,).

        The drop is from ``ell(0)`` to the fixed point ``ell(inf)``; NaN for a mode that never
        learns (no drop). Found on a log grid up to the convergence time, refined linearly.
        """
        fraction = as_float(fraction, "fraction", low=0.0, high=1.0, open_low=True, open_high=True)
        out = np.full(self.n_modes, np.nan)
        t_end = self._sol.t_end
        if self._sol.closed.any():
            t_end = max(t_end, 60.0 / float(np.min(self.s[0, self._sol.closed])))
        n_grid = _bounded(as_int(n_grid, "n_grid", low=10), "n_grid", self.T * self.n_modes, " (n_grid x T x modes)")
        tt = np.concatenate([[0.0], np.geomspace(1e-6, max(t_end, 1e-5), n_grid)])
        lm = self.mode_losses(tt * self.tau)
        drop = lm[0] - lm[-1]
        learns = drop > 1e-12 * np.maximum(lm[0], 1e-300)
        target = lm[0] - fraction * drop
        t_cross = _core.crossing_time(tt, lm, target, up=False)  # (r,), tt on the leading axis
        return np.where(learns, t_cross * self.tau, out)

    def extrapolation_loss(self, s_long, t=np.inf) -> np.ndarray:
        r"""Loss ``(1/2) sum_{k<T'} w'_k (s'_k - c a^k b)^2`` on a longer task (T' >= T; final readout).

        ``s_long`` (T', r): the task's per-lag singular values on sequences of length T'.
        The network trained at length T emits ``c a^k b`` at every lag; unstable ``|a| > 1``
        makes the error grow like ``a^{2T'}``. Returns shape of ``t``.
        """
        S = as_array(s_long, "s_long", ndim=(1, 2))
        if S.ndim == 1:
            S = S[:, None]
        if S.shape[1] != self.n_modes or S.shape[0] < self.T:
            raise ValueError(f"s_long must be (T', {self.n_modes}) with T' >= T = {self.T} (a task at least as long as "
                             f"the one trained on), got {S.shape}")
        m = self.mode_maps(t, n_lags=S.shape[0])
        return 0.5 * np.sum((S - m) ** 2, axis=(-2, -1))


# ----------------------------------------------------------------------------- gradients through time
def spectral_radius(W_h) -> float:
    """``rho(W_h) = max |eig(W_h)|``."""
    W = as_array(W_h, "W_h", ndim=2)
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"W_h must be square, got {W.shape}")
    return float(np.max(np.abs(np.linalg.eigvals(W))))


def gradient_norm_through_time(W_h, n_steps, g=None) -> np.ndarray:
    r"""Norm of the gradient carried ``k`` steps back: ``||(W_h^T)^k g||`` for k = 0..n_steps.

    ``dL/dh_{T-k} = (W_h^T)^k dL/dh_T`` for the linear RNN (Lillicrap & Santoro 2019,
    Eq. 3; Pascanu et al. 2013). With ``g=None`` returns the operator norm ``||W_h^k||_2``,
    the worst case over ``g``. Law: ``= rho^k`` exactly for normal ``W_h``;
    ``||W_h^k||^{1/k} -> rho`` for any ``W_h`` (Gelfand's formula), so the gradient vanishes
    geometrically for ``rho < 1`` and explodes for ``rho > 1``. ``g`` (N_h,) or (N_h, P)
    (norm over all entries). Returns (n_steps + 1,).
    """
    W = as_array(W_h, "W_h", ndim=2)
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"W_h must be square, got {W.shape}")
    n = as_int(n_steps, "n_steps", low=0)
    _bounded(n, "n_steps", W.shape[0] ** 2, " (steps x N_h^2, one matrix product a step)")
    out = np.empty(n + 1)
    culprit = f"W_h (spectral radius {spectral_radius(W):.3g}) raised to n_steps = {n}"
    if g is None:
        A = np.eye(W.shape[0])
        with np.errstate(over="ignore", invalid="ignore"):
            for k in range(n + 1):
                out[k] = np.linalg.norm(A, 2) if np.isfinite(A).all() else np.inf
                A = A @ W
        return _finite_or_raise(out, "gradient_norm_through_time: ||W_h^k||", culprit)
    v = as_array(g, "g", ndim=(1, 2))
    if v.shape[0] != W.shape[0]:
        raise ValueError(f"g must have N_h = {W.shape[0]} rows, got {v.shape}")
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(n + 1):
            out[k] = np.linalg.norm(v)
            v = W.T @ v
    return _finite_or_raise(out, "gradient_norm_through_time: ||(W_h^T)^k g||", culprit)
