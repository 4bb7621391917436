r"""Energy-based local learning rules in deep linear networks: equilibrium propagation and predictive coding, exactly.

A deep linear network with weights ``W_1 .. W_L`` (``W_l``: (n_l, n_{l-1})), inputs ``X`` (N_in, P)
and targets ``Y`` (N_out, P) (samples as columns) has the energy

.. math::

    E(h; W) = \tfrac12 \sum_{l=1}^{L} |h_l - W_l h_{l-1}|^2,\qquad h_0 = x\ \text{clamped},

and the loss ``ell = |h_L - y|^2 / 2``; the training loss is ``L = (1/2P) sum_mu |y_mu - W_L..W_1 x_mu|^2``
(docs: Conventions, "Loss and time"). The free phase (minimum of ``E``) is the feed-forward pass,
with zero prediction errors ``eps_l = h_l - W_l h_{l-1}``. The nudged phase minimises
``E + beta ell`` (Scellier & Bengio 2017); predictive coding (Whittington & Bogacz 2017) is the
same equilibrium with ``beta`` read as the output precision (``beta = inf``: the output clamped to y).

**The equilibrium in closed form** (derived here; docs: Local learning rules, "Equilibrium in
closed form"). Stationarity gives ``eps_l = W_{l+1}^T eps_{l+1}``, so ``eps_l = A_l^T eps_L`` with
``A_l = W_L ... W_{l+1}`` (``A_L = I``), and ``h_L = yhat + G eps_L`` with
``G = sum_{l=1}^{L} A_l A_l^T``. The output condition ``eps_L = beta (y - h_L)`` then gives

.. math::

    \epsilon_L = (I/\beta + G)^{-1} e,\qquad e = y - \hat y,\qquad
    h_l = W_l h_{l-1} + A_l^T \epsilon_L,

one N_out x N_out linear solve for every sample at once (``beta = inf``: ``eps_L = G^{-1} e``).

**The updates.** Equilibrium propagation moves ``W_l`` by ``-(1/beta)`` times the change of
``dE/dW_l = -eps_l h_{l-1}^T`` between the nudged and free equilibria, averaged over samples:

.. math::

    \Delta W_l^{\rm EP} = \tfrac{1}{P} A_l^T (I + \beta G)^{-1} e\, (h^\beta_{l-1})^T
    = -\partial L/\partial W_l + \beta\, S_l + O(\beta^2),

with the first-order bias ``S_l = (1/P) A_l^T (e e^T R_{l-1}^T - G e h_{l-1}^T)``,
``R_{l-1} = sum_{m<l} (W_{l-1}..W_{m+1}) A_m^T`` (derived here: :func:`eqprop_bias_slope`).
Predictive coding moves ``W_l`` by ``(1/P) eps_l h_{l-1}^T`` at its equilibrium (no ``1/beta``):
``(1/P) A_l^T (I/pi + G)^{-1} e (h_{l-1})^T`` with output precision ``pi``; at depth 1 (``G = I``) and
``pi = inf`` it equals backprop exactly; in deeper networks ``G^{-1}`` and the shifted hidden states
make it depend on depth and on the weights.

Because each rule's update is an explicit function of the weights, its mean (full-batch) learning
dynamics ``dW_l/dt = Delta W_l`` is an ODE that :class:`EnergyRuleFlow` integrates in float64.
"""
from __future__ import annotations

import numpy as np

from .validation import DivergenceError, as_array, as_choice, as_float, as_times, check_same, renamed_keywords

__all__ = [
    "RULES",
    "free_phase",
    "equilibrium",
    "energy",
    "eqprop_update",
    "eqprop_bias_slope",
    "predictive_coding_update",
    "backprop_gradient",
    "rule_update",
    "network_loss",
    "EnergyRuleFlow",
    "predictive_coding_modes",
    "predictive_coding_escape_rate",
]

RULES = ("backprop", "eqprop", "predictive_coding")
MAX_DEPTH = 64
#: a flow counts as settled when max|dW/dt| < SETTLE_RTOL * max(1, max|dW/dt| at t = 0): far above the
#: integrator's noise floor (rtol 1e-10 on O(1) weights leaves residual rates ~1e-9 * scale)
SETTLE_RTOL = 1e-8


# --------------------------------------------------------------------------- validation
def _check_net(weights, X, Y=None):
    if weights is None or isinstance(weights, (str, bytes)) or not hasattr(weights, "__len__") or len(weights) < 1:
        raise TypeError(f"weights must be a non-empty list of 2-D arrays (layer 1 first), got {weights!r:.60}")
    if len(weights) > MAX_DEPTH:
        raise ValueError(f"weights has {len(weights)} layers > {MAX_DEPTH}")
    Ws = [as_array(w, f"weights[{l}]", ndim=2) for l, w in enumerate(weights)]
    for l in range(1, len(Ws)):
        if Ws[l].shape[1] != Ws[l - 1].shape[0]:
            raise ValueError(f"weights[{l}] has {Ws[l].shape[1]} inputs but weights[{l - 1}] has "
                             f"{Ws[l - 1].shape[0]} outputs")
    X = as_array(X, "X", ndim=2)
    check_same("X rows", X.shape[0], "weights[0] inputs", Ws[0].shape[1], "size")
    if Y is None:
        return Ws, X
    Y = as_array(Y, "Y", ndim=2)
    check_same("X", X.shape[1], "Y", Y.shape[1], "number of samples (columns)")
    check_same("Y rows", Y.shape[0], "weights[-1] outputs", Ws[-1].shape[0], "size")
    return Ws, X, Y


def _check_beta(beta, name="beta"):
    return as_float(beta, name, low=0.0, allow_inf=True)


# --------------------------------------------------------------------------- core (trusted inputs)
def _above(Ws):
    """A_l = W_L ... W_{l+1} for l = 1..L (A_L = I), as a list indexed l - 1."""
    L = len(Ws)
    A = [None] * L
    M = np.eye(Ws[-1].shape[0])
    for l in range(L, 0, -1):
        A[l - 1] = M
        M = M @ Ws[l - 1]
    return A


def _forward(Ws, X):
    h = [X]
    for W in Ws:
        h.append(W @ h[-1])
    return h


def _eps_L(Ws, X, Y, beta, A=None, h=None):
    A = _above(Ws) if A is None else A
    h = _forward(Ws, X) if h is None else h
    e = Y - h[-1]
    if beta == 0.0:
        return np.zeros_like(e), A, h, e
    G = sum(a @ a.T for a in A)
    M = G if np.isinf(beta) else G + np.eye(G.shape[0]) / beta
    return np.linalg.solve(M, e), A, h, e


def _equilibrium(Ws, X, Y, beta):
    eL, A, hf, e = _eps_L(Ws, X, Y, beta)
    h = [X]
    for l, W in enumerate(Ws):
        h.append(W @ h[-1] + A[l].T @ eL)
    if np.isinf(beta):
        h[-1] = Y.copy()  # exact clamp (equal up to rounding)
    return h, eL, A, e


def _eqprop(Ws, X, Y, beta):
    P = X.shape[1]
    if beta == 0.0:
        return [-g for g in _backprop(Ws, X, Y)]
    h, eL, A, e = _equilibrium(Ws, X, Y, beta)
    # (1/beta) eps_L = (I + beta G)^{-1} e, computed without dividing by beta
    G = sum(a @ a.T for a in A)
    u = np.linalg.solve(np.eye(G.shape[0]) + beta * G, e)
    return [A[l].T @ u @ h[l].T / P for l in range(len(Ws))]


def _pc(Ws, X, Y, precision):
    P = X.shape[1]
    h, eL, A, e = _equilibrium(Ws, X, Y, precision)
    return [A[l].T @ eL @ h[l].T / P for l in range(len(Ws))]


def _backprop(Ws, X, Y):
    P = X.shape[1]
    A = _above(Ws)
    h = _forward(Ws, X)
    e = Y - h[-1]
    return [-(A[l].T @ e @ h[l].T) / P for l in range(len(Ws))]


def _update(Ws, X, Y, rule, beta):
    if rule == "backprop":
        return [-g for g in _backprop(Ws, X, Y)]
    if rule == "eqprop":
        return _eqprop(Ws, X, Y, beta)
    return _pc(Ws, X, Y, beta)


def _loss(Ws, X, Y):
    M = X
    for W in Ws:
        M = W @ M
    return 0.5 * float(np.sum((Y - M) ** 2)) / X.shape[1]


def _integrate_settling(rhs, z0, te, tol, rtol=1e-10, atol=1e-12):
    """``rhs`` integrated (DOP853) to the sorted times ``te`` (last > 0) or until it settles
    (``max|rhs| < tol``, far above the integrator's noise ``atol``); later times get the settled
    state, so ``t = 1e12`` costs about what the approach to the fixed point does."""
    from scipy.integrate import solve_ivp

    def settled(_, z):
        return np.max(np.abs(rhs(_, z))) - tol

    settled.terminal = True
    sol = solve_ivp(rhs, (0.0, float(te[-1])), z0, t_eval=te, method="DOP853", rtol=rtol, atol=atol,
                    events=settled)
    if sol.status == -1:
        raise RuntimeError(f"integration failed: {sol.message}")
    Z = np.empty((te.size, z0.size))
    m = len(sol.t)  # a list when the flow settled before the first output time
    if m:
        Z[:m] = np.asarray(sol.y).T
    Z[m:] = sol.y_events[0][0] if sol.status == 1 else np.asarray(sol.y)[:, -1]
    return Z


# --------------------------------------------------------------------------- public functions
def free_phase(weights, X) -> list[np.ndarray]:
    """The free equilibrium (minimum of E with only x clamped): the feed-forward states ``[h_0 = X, h_1, .., h_L]``."""
    Ws, X = _check_net(weights, X)
    return _forward(Ws, X)


def equilibrium(weights, X, Y, beta) -> list[np.ndarray]:
    r"""The nudged equilibrium ``argmin_h E(h) + beta |h_L - y|^2/2``, exactly: ``[h_0 = X, h_1, .., h_L]``.

    ``beta = 0`` is the free phase, ``beta = inf`` the output clamped to ``Y`` (predictive coding's
    inference phase). Closed form of the module docstring: one (N_out x N_out) solve.
    """
    Ws, X, Y = _check_net(weights, X, Y)
    return _equilibrium(Ws, X, Y, _check_beta(beta))[0]


def energy(weights, h) -> float:
    r"""``E(h; W) = (1/2) sum_l |h_l - W_l h_{l-1}|^2`` summed over samples (``h``: the list ``[h_0, .., h_L]``)."""
    if h is None or isinstance(h, (str, bytes)) or not hasattr(h, "__len__"):
        raise TypeError("h must be the list of layer states [h_0, .., h_L]")
    Ws, X = _check_net(weights, h[0])
    if len(h) != len(Ws) + 1:
        raise ValueError(f"h must hold L + 1 = {len(Ws) + 1} states, got {len(h)}")
    hs = [X] + [as_array(v, f"h[{l + 1}]", shape=(Ws[l].shape[0], X.shape[1])) for l, v in enumerate(h[1:])]
    return 0.5 * float(sum(np.sum((hs[l + 1] - Ws[l] @ hs[l]) ** 2) for l in range(len(Ws))))


def backprop_gradient(weights, X, Y) -> list[np.ndarray]:
    r"""The gradient ``dL/dW_l = -(1/P) A_l^T (Y - yhat) h_{l-1}^T`` of the training loss (layer 1 first)."""
    Ws, X, Y = _check_net(weights, X, Y)
    return _backprop(Ws, X, Y)


def eqprop_update(weights, X, Y, beta) -> list[np.ndarray]:
    r"""Equilibrium propagation's update ``-(1/beta) (dE/dW_l|_beta - dE/dW_l|_0)``, averaged over samples.

    Exact (module docstring): ``(1/P) A_l^T (I + beta G)^{-1} e (h^beta_{l-1})^T``. It tends to the
    gradient-descent direction ``-dL/dW_l`` as ``beta -> 0`` with a bias linear in ``beta``
    (:func:`eqprop_bias_slope`); ``beta = 0`` returns that limit. ``beta > 0`` finite or 0.
    """
    Ws, X, Y = _check_net(weights, X, Y)
    beta = as_float(beta, "beta", low=0.0)
    return _eqprop(Ws, X, Y, beta)


def eqprop_bias_slope(weights, X, Y) -> list[np.ndarray]:
    r"""``d/dbeta`` of :func:`eqprop_update` at ``beta = 0``: ``S_l = (1/P) A_l^T (e e^T R_{l-1}^T - G e h_{l-1}^T)``.

    ``R_{l-1} = sum_{m=1}^{l-1} (W_{l-1} .. W_{m+1}) A_m^T`` (zero for l = 1), so that the nudged
    hidden state is ``h^beta_{l-1} = h_{l-1} + beta R_{l-1} e + O(beta^2)``. Derived here (docs: Local
    learning rules, "The bias of equilibrium propagation"). Depth 1: ``S_1 = -(1/P) e x^T``.
    """
    Ws, X, Y = _check_net(weights, X, Y)
    P = X.shape[1]
    A = _above(Ws)
    h = _forward(Ws, X)
    e = Y - h[-1]
    G = sum(a @ a.T for a in A)
    out = []
    R = np.zeros((X.shape[0], e.shape[0]))  # R_0 = 0 (the input is clamped)
    for l in range(len(Ws)):
        out.append(A[l].T @ (e @ e.T @ R.T - G @ e @ h[l].T) / P)
        R = Ws[l] @ R + A[l].T  # R_l = W_l R_{l-1} + A_l^T
    return out


def predictive_coding_update(weights, X, Y, precision=np.inf) -> list[np.ndarray]:
    r"""Predictive coding's update ``(1/P) eps_l h_{l-1}^T`` at the equilibrium with output precision ``precision``.

    ``precision = inf`` (default): the output clamped to ``Y`` (Whittington & Bogacz 2017), exactly
    ``(1/P) A_l^T G^{-1} e (h_{l-1})^T`` at the clamped states. A finite ``precision`` pi weighs the
    output error by pi relative to the hidden errors: the update equals ``pi`` times
    :func:`eqprop_update` at ``beta = pi``, so ``pi -> 0`` gives ``pi`` times backprop.
    """
    Ws, X, Y = _check_net(weights, X, Y)
    precision = as_float(precision, "precision", low=0.0, allow_inf=True)
    return _pc(Ws, X, Y, precision)


def rule_update(weights, X, Y, rule: str, beta=np.inf) -> list[np.ndarray]:
    """The update (descent direction) of ``rule``: ``"backprop"`` (``-dL/dW``), ``"eqprop"``
    (:func:`eqprop_update` at ``beta``) or ``"predictive_coding"`` (:func:`predictive_coding_update`,
    ``beta`` the output precision)."""
    rule = as_choice(rule, "rule", RULES)
    Ws, X, Y = _check_net(weights, X, Y)
    beta = _check_beta(beta)
    if rule == "eqprop" and np.isinf(beta):
        raise ValueError("eqprop needs a finite beta >= 0 (beta = inf is predictive coding)")
    return _update(Ws, X, Y, rule, beta)


def network_loss(weights, X, Y) -> float:
    """``L = (1/2P) sum_mu |y_mu - W_L..W_1 x_mu|^2``."""
    Ws, X, Y = _check_net(weights, X, Y)
    return _loss(Ws, X, Y)


class EnergyRuleFlow:
    r"""The mean learning dynamics ``dW_l/dt = Delta W_l`` of one rule from ``W0`` (list, layer 1 first), in float64.

    ``rule``: ``"backprop"``, ``"eqprop"`` (nudging ``beta``, finite) or ``"predictive_coding"``
    (``beta`` is the output precision; ``inf`` clamps). Time is ``t = lr * step`` of full-batch
    training (``weights0``, the issue's name for ``W0``, still works with a DeprecationWarning).
    :meth:`weights` integrates with SciPy's DOP853 (rtol 1e-10, atol 1e-12) until the flow settles
    (``max |dW/dt| < 1e-8`` times its initial size, at least 1e-8: :data:`SETTLE_RTOL`; later times
    get the settled state, so huge times are cheap); ``t = inf`` integrates (LSODA, stiff steps)
    until ``max |dW/dt| < 1e-12`` (at most ``t = 1e7``), else a RuntimeError.
    There is no closed form for the weights in general (docs: Local learning rules, "Learning dynamics").
    """

    @renamed_keywords(weights0="W0")
    def __init__(self, W0, X, Y, rule: str = "eqprop", beta=0.1):
        self.rule = as_choice(rule, "rule", RULES)
        self.Ws0, self.X, self.Y = _check_net(W0, X, Y)
        self.beta = _check_beta(beta)
        if self.rule == "eqprop" and np.isinf(self.beta):
            raise ValueError("eqprop needs a finite beta >= 0 (beta = inf is predictive coding)")
        self.shapes = [w.shape for w in self.Ws0]
        self._splits = np.cumsum([w.size for w in self.Ws0])[:-1]

    def _unpack(self, z):
        return [p.reshape(s) for p, s in zip(np.split(z, self._splits), self.shapes)]

    def rate(self, weights) -> list[np.ndarray]:
        """``dW_l/dt`` at ``weights``."""
        Ws, _, _ = _check_net(weights, self.X, self.Y)
        return _update(Ws, self.X, self.Y, self.rule, self.beta)

    def _rhs(self, _, z):
        return np.concatenate([u.ravel() for u in _update(self._unpack(z), self.X, self.Y, self.rule, self.beta)])

    def weights(self, t) -> list[np.ndarray]:
        """The weights at times ``t`` (non-decreasing, ``inf`` allowed last): L arrays ``(len(t), n_l, n_{l-1})``."""
        from scipy.integrate import solve_ivp

        t = as_times(t, increasing=True)
        flat = np.atleast_1d(t).ravel()
        z0 = np.concatenate([w.ravel() for w in self.Ws0])
        Z = np.empty((flat.size, z0.size))
        fin = np.isfinite(flat)
        te, back = np.unique(flat[fin], return_inverse=True)
        if te.size:
            if te[-1] == 0.0:
                Z[fin] = z0
            else:
                with np.errstate(over="raise", invalid="raise"):
                    try:
                        Zs = _integrate_settling(self._rhs, z0, te, SETTLE_RTOL * self._scale(z0))
                    except FloatingPointError:
                        raise DivergenceError(f"EnergyRuleFlow: the {self.rule} flow diverged (the weights "
                                              "overflowed) from these initial weights and data") from None
                Z[fin] = Zs[back.ravel()]
        if (~fin).any():
            Z[~fin] = self._fixed_point(z0)
        return [p.T.reshape(-1, *s) for p, s in zip(np.split(Z.T, self._splits, axis=0), self.shapes)]

    def _scale(self, z0) -> float:
        return max(1.0, float(np.max(np.abs(self._rhs(0.0, z0)))))

    def _fixed_point(self, z0):
        from scipy.integrate import solve_ivp

        def settled(_, z):
            return np.max(np.abs(self._rhs(_, z))) - 1e-12

        settled.terminal = True
        sol = solve_ivp(self._rhs, (0.0, 1e7), z0, method="LSODA", rtol=1e-11, atol=1e-13, events=settled)
        if sol.status != 1:
            raise RuntimeError("EnergyRuleFlow: no fixed point reached by t = 1e7")
        return sol.y[:, -1]

    def loss(self, t) -> np.ndarray:
        """The training loss along the flow at times ``t``."""
        Ws = self.weights(t)
        return np.array([_loss([w[i] for w in Ws], self.X, self.Y) for i in range(Ws[0].shape[0])])


# --------------------------------------------------------------------------- aligned modes (depth 2)
def predictive_coding_escape_rate(s):
    r"""Growth rate of a mode of predictive coding (clamped output, depth 2) near zero weights:
    ``mu = s (s + sqrt(s^2 + 4)) / 2`` for each of ``a, b`` (so ``u = ab ~ e^{2 mu t}``), against ``s``
    for backprop. Derived here: the linearisation of :func:`predictive_coding_modes` at ``a = b = 0`` is
    ``a' = s b, b' = s a + s^2 b``, whose growing eigenvalue is ``mu`` (docs: Local learning rules,
    "Predictive coding in a deep linear network")."""
    s = as_array(s, "s", low=0.0)
    return s * (s + np.sqrt(s * s + 4.0)) / 2.0


def predictive_coding_modes(t, s, a0, b0):
    r"""Exact dynamics of the aligned modes of a depth-2 linear network learning by predictive coding.

    Whitened inputs, a realisable teacher ``Y = T X`` with ``T = U diag(s) V^T``, and aligned weights
    ``W_1 = R diag(a) V^T``, ``W_2 = U diag(b) R^T`` (R orthonormal): the clamped-output update of
    :func:`predictive_coding_update` keeps the alignment and each mode obeys (derived here; docs: Local
    learning rules, "Predictive coding in a deep linear network")

    .. math::

        \dot a = \frac{b (s - ab)}{1 + b^2},\qquad
        \dot b = \frac{(s - ab)}{1 + b^2}\Big(a + \frac{b (s - ab)}{1 + b^2}\Big),

    against backprop's ``a' = b (s - ab)``, ``b' = a (s - ab)``: the hidden state's shift toward the
    target adds the term ``b (s-ab)^2/(1+b^2)^2`` (a faster escape from small weights, rate
    :func:`predictive_coding_escape_rate`) and ``G^{-1} = 1/(1+b^2)`` slows the approach to
    ``ab = s``; balancedness ``a^2 - b^2`` is not conserved. There is no elementary closed form; the
    2-D equation of every mode is integrated in float64 (DOP853, rtol 1e-11; times after the flow
    settles, ``max|rate| < 1e-10`` times its initial size, get the settled state). ``t``: non-decreasing
    times (``inf``: the fixed point, ``ab = s`` reached along the flow, at most ``t = 1e6``);
    ``s, a0, b0`` broadcast (one entry per mode). Returns ``(a, b)``, each ``t.shape + modes.shape``.
    """
    from scipy.integrate import solve_ivp

    t = as_times(t, increasing=True)
    s, a0, b0 = np.broadcast_arrays(as_array(s, "s", low=0.0), as_array(a0, "a0"), as_array(b0, "b0"))
    shape = s.shape
    s, a0, b0 = s.ravel(), a0.ravel(), b0.ravel()
    m = s.size

    def rhs(_, z):
        a, b = z[:m], z[m:]
        e = s - a * b
        g = 1.0 / (1.0 + b * b)
        return np.concatenate([g * b * e, g * e * (a + g * b * e)])

    flat = np.atleast_1d(t).ravel()
    fin = np.isfinite(flat)
    Z = np.empty((flat.size, 2 * m))
    z0 = np.concatenate([a0, b0])
    te, back = np.unique(flat[fin], return_inverse=True)
    if te.size:
        if te[-1] == 0:
            Z[fin] = z0
        else:
            Z[fin] = _integrate_settling(rhs, z0, te, 1e-10 * max(1.0, float(np.max(np.abs(rhs(0.0, z0))))),
                                          rtol=1e-11, atol=1e-13)[back.ravel()]
    if (~fin).any():
        def settled(_, z):
            return np.max(np.abs(rhs(_, z))) - 1e-13

        settled.terminal = True
        sol = solve_ivp(rhs, (0.0, 1e6), z0, method="LSODA", rtol=1e-11, atol=1e-13, events=settled)
        if sol.status != 1:
            raise RuntimeError("predictive_coding_modes: no fixed point reached by t = 1e6")
        Z[~fin] = sol.y[:, -1]
    out_shape = t.shape + shape
    return Z[:, :m].reshape(out_shape), Z[:, m:].reshape(out_shape)
