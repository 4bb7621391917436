r"""Learning from reward: exact theory of TD learning and of the RL perceptron.

Two idealised models of reward-driven learning whose average dynamics are exact
(docs: Learning from reward).

**Temporal-difference learning with linear function approximation** (Sutton 1988;
Tsitsiklis & Van Roy 1997). States ``s = 0..n-1`` with features ``Phi[s]`` (``d`` of them),
transition matrix ``P``, expected reward ``r[s]`` for leaving ``s``, discount ``gamma``. The value
estimate is ``V(s) = Phi[s] . w`` and TD(0) updates, for one sampled transition ``s -> s'``,

.. math::

    w \leftarrow w + \mathrm{lr}\,\delta\,\phi(s), \qquad \delta = r(s) + \gamma\,V(s') - V(s).

When ``s`` is drawn from the state weights ``D`` and ``s' ~ P[s]`` independently of the past
(i.i.d. transitions), the update is affine in ``w`` with a random coefficient independent of
``w``, so the ensemble mean obeys *exactly* (docs: Learning from reward, "Exact mean recursion")

.. math::

    \bar w_{k+1} = \bar w_k + \mathrm{lr}\,(b - A\,\bar w_k), \qquad
    A = \Phi^\top \mathrm{diag}(D)\,(\Phi - \gamma P \Phi), \quad b = \Phi^\top \mathrm{diag}(D)\, r,

solved in closed form, ``w_k = w_TD + (I - lr A)^k (w_0 - w_TD)``, with the gradient-flow limit
``w(t) = w_TD + exp(-A t)(w_0 - w_TD)`` in ``t = lr k``. ``w_TD = A^{-1} b`` is the TD fixed point,
which differs from the least-squares value (the ``D``-weighted projection of the true values)
unless ``gamma = 0`` (then TD is regression on the rewards). The mean recursion converges iff
every eigenvalue ``lambda`` of ``A`` satisfies ``|1 - lr lambda| < 1``, i.e.
``lr < stable_lr = min 2 Re(lambda) / |lambda|^2`` (positive when ``D`` is the stationary
distribution and ``Phi`` has full column rank, Tsitsiklis & Van Roy 1997).

**The conditioning trial** (Montague, Dayan & Sejnowski 1996; Schultz, Dayan & Montague 1997):
:func:`cue_reward_trial` builds a trial of ``L`` time steps with a cue at ``cue_time`` and a
reward at ``reward_time`` and a tapped-delay-line (complete serial compound) representation,
one unit per time since the cue; its exact mean recursion over trials shows the TD error moving
from the time of reward to the time of the cue.

**The RL perceptron** (Patel, Lee, Sarao Mannelli, Goldt & Saxe 2025): :class:`RLPerceptronODE`,
the ODEs of the overlaps ``R = w.w*/N``, ``Q = w.w/N`` of a perceptron that makes ``T`` binary
decisions per episode and is rewarded only when a condition on the episode holds (our
derivation, module docstring of the class and docs: Learning from reward, "RL perceptron ODEs").
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.integrate import solve_ivp
from scipy.linalg import expm
from scipy.special import bdtrc

from .validation import DivergenceError, as_array, as_choice, as_float, as_int, as_times, deprecated_alias

__all__ = [
    "TDLinear",
    "CueRewardTrial",
    "cue_reward_trial",
    "stationary_distribution",
    "RLPerceptronODE",
    "RLPerceptronCurves",
    "decision_accuracy",
    "CONDITIONS",
]

#: reward conditions of the RL perceptron: all ``T`` decisions correct, or at least ``n`` of ``T``
CONDITIONS = ("all", "at_least")
#: largest number of states / features / trial length accepted (dense d x d and n x n algebra)
SIZE_MAX = 4096
#: largest number of steps or trials a mean recursion is evaluated at (finite ``k``)
STEPS_MAX = 10**15
#: relative tolerance of row sums of a transition matrix
ROW_TOL = 1e-9


def stationary_distribution(P) -> np.ndarray:
    """The stationary distribution ``pi`` of a transition matrix (``pi P = pi``, ``sum pi = 1``).

    ``P`` (n, n): non-negative rows summing to 1. A chain with several stationary distributions
    (reducible) is a ValueError: pass the state weights explicitly.
    """
    P = _transition(P)
    return _stationary(P)


def _transition(P) -> np.ndarray:
    P = as_array(P, "P", ndim=2, low=0.0)
    n = P.shape[0]
    if P.shape != (n, n):
        raise ValueError(f"P must be square (n_states, n_states), got shape {P.shape}")
    if n > SIZE_MAX:
        raise ValueError(f"P has {n} states; at most SIZE_MAX = {SIZE_MAX} are supported")
    rows = P.sum(1)
    if np.max(np.abs(rows - 1.0)) > ROW_TOL * n:
        i = int(np.argmax(np.abs(rows - 1.0)))
        raise ValueError(f"every row of P must sum to 1 (a transition matrix), row {i} sums to {rows[i]:.12g}")
    return P


def _stationary(P) -> np.ndarray:
    n = P.shape[0]
    M = np.vstack([P.T - np.eye(n), np.ones((1, n))])
    rhs = np.zeros(n + 1)
    rhs[-1] = 1.0
    sv = np.linalg.svd(P.T - np.eye(n), compute_uv=False)
    if n > 1 and sv[-2] < 1e-10:
        raise ValueError("P has more than one stationary distribution (a reducible chain); "
                         "pass the state weights D explicitly")
    pi, *_ = np.linalg.lstsq(M, rhs, rcond=None)
    pi = np.clip(pi, 0.0, None)
    return pi / pi.sum()


def _affine_power(M, c, k, x0):
    """``x_k`` of ``x_{j+1} = M x_j + c`` at the integer steps ``k`` (1-D int array), by squaring."""
    d = M.shape[0]
    aug = np.zeros((d + 1, d + 1))
    aug[:d, :d], aug[:d, d], aug[d, d] = M, c, 1.0
    v0 = np.append(x0, 1.0)
    out = np.empty((k.size, d))
    with np.errstate(over="raise", invalid="raise"):
        try:
            for i, kk in enumerate(k):
                out[i] = (np.linalg.matrix_power(aug, int(kk)) @ v0)[:d]
        except FloatingPointError:
            raise DivergenceError("the mean recursion overflowed (lr at or above the stable limit?)") from None
    return out


class _AffineTD:
    """Shared closed forms of ``w_{k+1} = w_k + lr (b - A w_k)``: powers, flow, fixed point, stability."""

    A: np.ndarray
    b: np.ndarray

    def _eigs(self):
        if not hasattr(self, "_lam"):
            self._lam = np.linalg.eigvals(self.A)
        return self._lam

    def stable_lr(self) -> float:
        r"""The largest learning rate at which the mean recursion converges:
        ``min over eigenvalues lambda of A of 2 Re(lambda)/|lambda|^2``; 0.0 when some
        eigenvalue has ``Re(lambda) <= 0`` (no learning rate converges).

        Formerly ``max_learning_rate`` (that name still works, deprecated)."""
        lam = self._eigs()
        if np.any(lam.real <= 1e-14 * max(1.0, np.max(np.abs(lam)))):
            return 0.0
        return float(np.min(2.0 * lam.real / np.abs(lam) ** 2))

    max_learning_rate = deprecated_alias(stable_lr, "max_learning_rate")

    def fixed_point(self) -> np.ndarray:
        """The TD fixed point ``w_TD = A^{-1} b`` (ValueError if ``A`` is singular)."""
        if not hasattr(self, "_wfix"):
            if np.linalg.cond(self.A) > 1e12:
                raise ValueError("A is singular (features not linearly independent on the weighted states): "
                                 "the TD fixed point is not unique")
            self._wfix = np.linalg.solve(self.A, self.b)
        return self._wfix.copy()

    def _w0(self, w0):
        d = self.A.shape[0]
        if w0 is None:
            return np.zeros(d)
        return as_array(w0, "w0", shape=(d,))

    def _lr(self, lr):
        lr = as_float(lr, "lr", low=0.0, open_low=True)
        lim = self.stable_lr()
        if not lr < lim:
            raise ValueError(f"lr = {lr:g} is at or above the stable limit stable_lr = {lim:.6g}: "
                             "the mean TD weights do not converge")
        return lr

    def _recursion(self, k, lr, w0, name):
        k = as_times(k, name)
        if np.any(np.isfinite(k) & (k != np.round(k))):
            raise ValueError(f"{name} must hold whole numbers of updates (or np.inf), got {k.ravel()[0]!r}")
        if np.any(np.isfinite(k) & (k > STEPS_MAX)):
            raise ValueError(f"{name} must be at most STEPS_MAX = {STEPS_MAX:g} (or np.inf for the fixed point)")
        lr = self._lr(lr)
        w0 = self._w0(w0)
        flat = k.ravel()
        out = np.empty((flat.size, w0.size))
        fin = np.isfinite(flat)
        if fin.any():
            M = np.eye(w0.size) - lr * self.A
            out[fin] = _affine_power(M, lr * self.b, flat[fin].astype(np.int64), w0)
        if (~fin).any():
            out[~fin] = self.fixed_point()
        return out.reshape(*k.shape, w0.size)

    def _flow(self, t, w0):
        t = as_times(t, "t")
        w0 = self._w0(w0)
        flat = t.ravel()
        d = w0.size
        out = np.empty((flat.size, d))
        fin = np.isfinite(flat)
        if (~fin).any():
            lam = self._eigs()
            if np.any(lam.real <= 0):
                raise ValueError("t = inf: the TD flow has no attracting fixed point (an eigenvalue of A has "
                                 "non-positive real part)")
            out[~fin] = self.fixed_point()
        aug = np.zeros((d + 1, d + 1))
        aug[:d, :d], aug[:d, d] = -self.A, self.b
        v0 = np.append(w0, 1.0)
        for i in np.flatnonzero(fin):
            v = expm(aug * flat[i]) @ v0
            if not np.all(np.isfinite(v)):
                raise DivergenceError(f"the TD flow overflowed at t = {flat[i]:g}")
            out[i] = v[:d]
        return out.reshape(*t.shape, d)


class TDLinear(_AffineTD):
    r"""TD(0) with linear features on a finite Markov chain: exact mean weights (module docstring).

    Parameters
    ----------
    Phi : (n_states, d)
        Features, one row per state.
    P : (n_states, n_states)
        Transition matrix (rows sum to 1).
    r : (n_states,)
        Expected reward for leaving each state.
    gamma : float in [0, 1)
        Discount.
    D : (n_states,), optional
        State weights (the distribution the updates' states are drawn from), normalised to sum
        1; default the stationary distribution of ``P``.

    Attributes ``A``, ``b`` (the mean recursion's matrix and vector), ``D``, ``values`` (the true
    values ``(I - gamma P)^{-1} r``).
    (docs: Learning from reward, "Exact mean recursion")
    """

    def __init__(self, Phi, P, r, gamma, D=None):
        Phi = as_array(Phi, "Phi", ndim=2)
        P = _transition(P)
        n, d = Phi.shape
        if P.shape[0] != n:
            raise ValueError(f"P has {P.shape[0]} states but Phi has {n} rows (one per state)")
        if d > SIZE_MAX:
            raise ValueError(f"Phi has {d} features; at most SIZE_MAX = {SIZE_MAX}")
        r = as_array(r, "r", shape=(n,))
        gamma = as_float(gamma, "gamma", low=0.0, high=1.0, open_high=True)
        if D is None:
            D = _stationary(P)
        else:
            D = as_array(D, "D", shape=(n,), low=0.0)
            if not D.sum() > 0:
                raise ValueError("D (state weights) must have a positive sum")
            D = D / D.sum()
        self.Phi, self.P, self.r, self.gamma, self.D = Phi, P, r, gamma, D
        self.n_states, self.d = n, d
        PD = Phi.T * D
        self.A = PD @ (Phi - gamma * (P @ Phi))
        self.b = PD @ r
        self.values = np.linalg.solve(np.eye(n) - gamma * P, r)

    def mean_weights(self, k, lr, w0=None) -> np.ndarray:
        """Exact ensemble-mean weights after ``k`` i.i.d. TD(0) updates, shape ``(*k.shape, d)``.

        ``k``: whole numbers of updates of any shape, ``np.inf`` for the fixed point; ``lr`` below
        :meth:`stable_lr` (else ValueError); ``w0`` (d,) the initial weights (default 0).
        """
        return self._recursion(k, lr, w0, "k")

    def flow(self, t, w0=None) -> np.ndarray:
        """The small-lr limit ``w(t) = w_TD + exp(-A t)(w0 - w_TD)`` at ``t = lr k`` (any shape; inf: fixed point)."""
        return self._flow(t, w0)

    def weight_moments(self, k, lr, w0=None):
        r"""Exact mean and covariance of the weights after ``k`` i.i.d. TD(0) updates (rewards ``r[s]``).

        The second moment ``M = E[w w^T]`` also obeys an affine recursion (our derivation; docs:
        Learning from reward, "Second moments"): with ``G = I - lr phi(s)(phi(s) - gamma phi(s'))^T``
        and ``h = lr r(s) phi(s)`` drawn afresh each step,
        ``M' = E[G M G^T] + E[G m h^T] + E[h m^T G^T] + E[h h^T]``, the expectations over the
        transitions ``(s, s')`` with weight ``D_s P[s, s']``. Returns ``(mean, cov)`` of shapes
        ``(*k.shape, d)`` and ``(*k.shape, d, d)``; ``k = np.inf`` gives the stationary moments,
        a ValueError when the variance does not converge at this ``lr`` (mean-square stability
        is stricter than :meth:`stable_lr`). ``d <= 32``.
        """
        if self.d > 32:
            raise ValueError(f"weight_moments needs d <= 32 features (a (d^2 + d + 1)-dimensional recursion), "
                             f"got d = {self.d}")
        k = as_times(k, "k")
        if np.any(np.isfinite(k) & (k != np.round(k))):
            raise ValueError(f"k must hold whole numbers of updates (or np.inf), got {k.ravel()[0]!r}")
        if np.any(np.isfinite(k) & (k > STEPS_MAX)):
            raise ValueError(f"k must be at most STEPS_MAX = {STEPS_MAX:g} (or np.inf)")
        lr = self._lr(lr)
        w0 = self._w0(w0)
        d = self.d
        Z = self._moment_matrix(lr)
        z0 = np.concatenate([w0, np.outer(w0, w0).ravel()])
        flat = k.ravel()
        out = np.empty((flat.size, d + d * d))
        fin = np.isfinite(flat)
        if fin.any():
            out[fin] = _affine_power(Z[:-1, :-1], Z[:-1, -1], flat[fin].astype(np.int64), z0)
        if (~fin).any():
            B = Z[d:-1, d:-1]
            if np.max(np.abs(np.linalg.eigvals(B))) >= 1.0:
                raise ValueError(f"k = inf: at lr = {lr:g} the variance of the TD weights does not converge "
                                 "(the second-moment recursion is not contracting)")
            m = self.fixed_point()
            M = np.linalg.solve(np.eye(d * d) - B, Z[d:-1, :d] @ m + Z[d:-1, -1])
            out[~fin] = np.concatenate([m, M])
        mean = out[:, :d]
        M2 = out[:, d:].reshape(-1, d, d)
        cov = M2 - mean[:, :, None] * mean[:, None, :]
        return mean.reshape(*k.shape, d), cov.reshape(*k.shape, d, d)

    def _moment_matrix(self, lr):
        d, gamma = self.d, self.gamma
        n = d + d * d + 1
        Z = np.zeros((n, n))
        Z[:d, :d] = np.eye(d) - lr * self.A
        Z[:d, -1] = lr * self.b
        Z[-1, -1] = 1.0
        rows = slice(d, d + d * d)
        for s in range(self.n_states):
            if self.D[s] == 0:
                continue
            a = self.Phi[s]
            h = lr * self.r[s] * a
            for s2 in np.flatnonzero(self.P[s]):
                wt = self.D[s] * self.P[s, s2]
                G = np.eye(d) - lr * np.outer(a, a - gamma * self.Phi[s2])
                Z[rows, rows] += wt * np.kron(G, G)
                Z[rows, :d] += wt * (np.kron(G, h[:, None]) + np.kron(h[:, None], G))
                Z[rows, -1] += wt * np.outer(h, h).ravel()
        return Z

    def expected_value_error(self, k, lr, w0=None) -> np.ndarray:
        """Exact mean over agents of the value error after ``k`` i.i.d. updates (mean and spread of the
        weights both count): ``sum_s D_s E[(Phi[s].w - V(s))^2]``."""
        m, C = self.weight_moments(k, lr, w0)
        G = (self.Phi.T * self.D) @ self.Phi
        return self.value_error(m) + np.einsum("ij,...ji->...", G, C)

    def least_squares(self) -> np.ndarray:
        """The ``D``-weighted least-squares weights of the true values (the projection TD does not reach)."""
        G = (self.Phi.T * self.D) @ self.Phi
        return np.linalg.lstsq(G, (self.Phi.T * self.D) @ self.values, rcond=None)[0]

    def value_error(self, w) -> np.ndarray:
        """Mean squared value error ``sum_s D_s (Phi[s].w - V(s))^2`` of weights ``w`` (..., d)."""
        w = as_array(w, "w", ndim=range(1, 8))
        if w.shape[-1] != self.d:
            raise ValueError(f"w must end in the feature size d = {self.d}, got shape {w.shape}")
        err = w @ self.Phi.T - self.values
        return (err**2) @ self.D

    def td_errors(self, w) -> np.ndarray:
        """Expected TD error ``r(s) + gamma (P Phi w)(s) - (Phi w)(s)`` in every state, shape ``(..., n_states)``."""
        w = as_array(w, "w", ndim=range(1, 8))
        if w.shape[-1] != self.d:
            raise ValueError(f"w must end in the feature size d = {self.d}, got shape {w.shape}")
        return self.r + w @ (self.gamma * (self.P @ self.Phi) - self.Phi).T


class CueRewardTrial(_AffineTD):
    r"""A conditioning trial with a tapped-delay-line representation; trial-by-trial exact TD.

    Time steps ``t = 0..L-1``; the cue appears at ``cue_time``, the reward (size ``reward``,
    delivered with probability ``p_reward``) at ``reward_time``. Features: one unit per time since
    the cue, ``x_t = e_{t - cue_time}`` for ``t >= cue_time`` and ``x_t = 0`` before (the cue's
    arrival is unpredictable), ``d = L - cue_time`` units; ``V_t = w . x_t``, ``V_L = 0``. The TD
    error at step ``t`` is ``delta_t = r_t + gamma V_{t+1} - V_t`` and each trial updates
    ``w <- w + lr sum_t delta_t x_t`` (online within the trial gives the same, because each unit
    is active at one step only and the error at ``t`` reads units ``t - cue_time`` and
    ``t - cue_time + 1``). Per trial, in the mean over rewards,
    ``w_{n+1} = w_n + lr (b - A w_n)`` with ``A = I - gamma U`` (``U`` the shift) and
    ``b = p_reward * reward * e_{reward_time - cue_time}``; exact for the ensemble mean because
    ``delta`` is linear in ``w`` and in the reward. Eigenvalues of ``A`` are all 1:
    ``stable_lr() = 2``. (docs: Learning from reward, "The conditioning trial")
    """

    def __init__(self, L, cue_time, reward_time, gamma, reward=1.0, p_reward=1.0):
        L = as_int(L, "L", low=2, high=SIZE_MAX)
        cue_time = as_int(cue_time, "cue_time", low=1, high=L - 1)
        reward_time = as_int(reward_time, "reward_time", low=cue_time, high=L - 1)
        self.gamma = as_float(gamma, "gamma", low=0.0, high=1.0)
        self.reward = as_float(reward, "reward")
        self.p_reward = as_float(p_reward, "p_reward", low=0.0, high=1.0)
        self.L, self.cue_time, self.reward_time = L, cue_time, reward_time
        d = self.d = L - cue_time
        X = np.zeros((L + 1, d))  # row t: features at step t (row L: after the trial, zero)
        X[cue_time:L] = np.eye(d)
        self.X = X
        self.A = X[:L].T @ (X[:L] - self.gamma * X[1:L + 1])
        self.rewards = np.zeros(L)
        self.rewards[reward_time] = self.reward * self.p_reward
        self.b = X[:L].T @ self.rewards

    def mean_weights(self, trials, lr, w0=None) -> np.ndarray:
        """Exact mean weights before trial ``n`` for every ``n`` in ``trials`` (any shape; inf: the fixed point)."""
        return self._recursion(trials, lr, w0, "trials")

    def errors_of(self, w, rewards=None) -> np.ndarray:
        """TD errors ``delta_t`` (..., L) of weights ``w`` (..., d) on a trial with ``rewards`` (L,)
        (default the mean rewards)."""
        w = as_array(w, "w", ndim=range(1, 8))
        if w.shape[-1] != self.d:
            raise ValueError(f"w must end in d = {self.d}, got shape {w.shape}")
        rw = self.rewards if rewards is None else as_array(rewards, "rewards", shape=(self.L,))
        V = w @ self.X.T  # (..., L+1)
        return rw + self.gamma * V[..., 1:] - V[..., :-1]

    def prediction_errors(self, trials, lr, w0=None) -> np.ndarray:
        """Exact mean TD error at every step of trials ``0..trials-1``, shape ``(trials, L)``.

        Trial ``n`` uses the weights before its update; the cue response is the error at step
        ``cue_time - 1`` (the transition into the cue), the reward response the error at
        ``reward_time``. ``trials``: a whole number of trials (at most 10^6)."""
        trials = as_int(trials, "trials", low=0, high=10**6)
        w = self.mean_weights(np.arange(trials), lr, w0)
        return self.errors_of(w) if trials else np.zeros((0, self.L))

    def learned_errors(self) -> np.ndarray:
        """The errors after learning (the fixed point): only the cue response
        ``gamma^(reward_time - cue_time + 1) p r`` remains."""
        return self.errors_of(self.fixed_point())


def cue_reward_trial(L: int = 20, cue_time: int = 5, reward_time: int = 15, gamma: float = 1.0,
                     reward: float = 1.0, p_reward: float = 1.0) -> CueRewardTrial:
    """The classic conditioning trial (Montague, Dayan & Sejnowski 1996): :class:`CueRewardTrial`."""
    return CueRewardTrial(L, cue_time, reward_time, gamma, reward=reward, p_reward=p_reward)


# ------------------------------------------------------------------------------------------- RL perceptron

SQRT_2PI = np.sqrt(2.0 * np.pi)


def decision_accuracy(R, Q):
    """Probability that one decision is correct, ``1 - arccos(R / sqrt Q) / pi`` (``|w*|^2 = N``)."""
    R = as_array(R, "R")
    Q = as_array(Q, "Q", low=0.0, open_low=True)
    return _accuracy(R, Q)


def _accuracy(R, Q):
    return 1.0 - np.arccos(np.clip(R / np.sqrt(Q), -1.0, 1.0)) / np.pi


class RLPerceptronCurves(NamedTuple):
    """What :meth:`RLPerceptronODE.integrate` returns, each of the shape of ``alpha``."""

    R: np.ndarray
    Q: np.ndarray
    accuracy: np.ndarray


def _tail(k, n, p):
    """``P(X > k)`` for ``X ~ Binomial(n, p)`` (1 for ``k < 0``, 0 for ``k >= n``)."""
    return bdtrc(k, n, p)


class RLPerceptronODE:
    r"""ODEs of the RL perceptron's overlaps ``R = w.w*/N``, ``Q = w.w/N`` as ``N -> inf`` (our derivation).

    Model (Patel, Lee, Sarao Mannelli, Goldt & Saxe 2025): per episode ``T`` inputs
    ``x_t ~ N(0, I_N)``, decisions ``y_t = sign(w.x_t)``, correct when equal to
    ``sign(w*.x_t)``, ``|w*|^2 = N``. With ``C`` the number of correct decisions, the episode is
    rewarded when ``C = T`` (``condition="all"``) or ``C >= n`` (``"at_least"``), and

    .. math::

        w \leftarrow w + \frac{c(C)}{T\sqrt N}\sum_t y_t x_t, \qquad
        c(C) = \mathrm{lr}_1 \text{ if rewarded, } -\mathrm{lr}_2 \text{ otherwise}.

    **Derivation** (docs: Learning from reward, "RL perceptron ODEs"). With the local fields
    ``lambda_t = w.x_t/sqrt N``, ``nu_t = w*.x_t/sqrt N`` (Gaussian, variances ``Q``, 1,
    covariance ``R``), one episode changes ``N dR = (c/T) sum_t y_t nu_t`` and
    ``N dQ = (2c/T) sum_t |lambda_t| + c^2 |sum_t y_t x_t|^2/(T^2 N)``; the last term is
    ``c^2/T + O(N^{-1/2})``. Decisions are independent given ``w``, each correct with probability
    ``p = 1 - arccos(rho)/pi``, ``rho = R/sqrt Q``. Conditioning on whether decision ``t`` is
    correct, the other ``T - 1`` decisions give ``C' ~ Binomial(T - 1, p)``, so with
    ``c_+ = E c(1 + C')`` and ``c_- = E c(C')``,

    .. math::

        \frac{dR}{d\alpha} = \frac{(1+\rho)\,c_+ - (1-\rho)\,c_-}{\sqrt{2\pi}}, \qquad
        \frac{dQ}{d\alpha} = \frac{2\sqrt Q\,[(1+\rho)\,c_+ + (1-\rho)\,c_-]}{\sqrt{2\pi}}
            + \frac{E\,c(C)^2}{T},

    using ``E[|nu| 1(correct)] = (1 + rho)/sqrt(2 pi)``, ``E[|nu| 1(wrong)] = (1 - rho)/sqrt(2 pi)``
    and the same times ``sqrt Q`` for ``|lambda|``; ``alpha = episodes / N``. For ``T = 1``,
    ``lr_1 = 0`` this is the perceptron learning rule's ODE, for ``T = 1``, ``lr_1 = lr_2`` Hebbian
    learning (Engel & Van den Broeck 2001).
    """

    def __init__(self, T, lr_1, lr_2=0.0, condition="all", n=None):
        self.T = as_int(T, "T", low=1, high=10**4)
        self.lr_1 = as_float(lr_1, "lr_1", low=0.0)
        self.lr_2 = as_float(lr_2, "lr_2", low=0.0)
        self.condition = as_choice(condition, "condition", CONDITIONS)
        if self.condition == "all":
            if n is not None and as_int(n, "n", low=0) != self.T:
                raise ValueError(f"condition 'all' means n = T = {self.T}; got n = {n!r} (use condition='at_least')")
            self.n = self.T
        else:
            if n is None:
                raise ValueError("condition 'at_least' needs n, the number of correct decisions rewarded")
            self.n = as_int(n, "n", low=0, high=self.T)

    def reward_probability(self, R, Q):
        """Probability that an episode is rewarded at overlaps ``(R, Q)``."""
        R, Q = _overlaps(R, Q)
        return _tail(self.n - 1, self.T, _accuracy(R, Q))

    def accuracy(self, R, Q):
        """Per-decision accuracy ``1 - arccos(R / sqrt Q) / pi``."""
        R, Q = _overlaps(R, Q)
        return _accuracy(R, Q)

    def rhs(self, R, Q):
        """``(dR/dalpha, dQ/dalpha)`` at overlaps ``R``, ``Q`` (broadcast; ``Q > 0``, ``R^2 <= Q`` up to rounding)."""
        R, Q = _overlaps(R, Q)
        return self._rhs(R, Q)

    def _rhs(self, R, Q):
        T, n, l1, l2 = self.T, self.n, self.lr_1, self.lr_2
        rho = np.clip(R / np.sqrt(Q), -1.0, 1.0)
        p = 1.0 - np.arccos(rho) / np.pi
        # P(1 + C' >= n) = P(C' >= n - 1), P(C' >= n), C' ~ Bin(T - 1, p); P(C >= n), C ~ Bin(T, p)
        s_plus = _tail(n - 2, T - 1, p)
        s_minus = _tail(n - 1, T - 1, p)
        s_all = _tail(n - 1, T, p)
        c_plus = (l1 + l2) * s_plus - l2
        c_minus = (l1 + l2) * s_minus - l2
        dR = ((1.0 + rho) * c_plus - (1.0 - rho) * c_minus) / SQRT_2PI
        dQ = (2.0 * np.sqrt(Q) * ((1.0 + rho) * c_plus + (1.0 - rho) * c_minus) / SQRT_2PI
              + (l1 * l1 * s_all + l2 * l2 * (1.0 - s_all)) / T)
        return dR, dQ

    def integrate(self, R0, Q0, alpha, *, rtol: float = 1e-10, atol: float = 1e-12) -> RLPerceptronCurves:
        """``R``, ``Q`` and the per-decision accuracy at the times ``alpha`` (any shape, finite, >= 0).

        ``R0``, ``Q0``: the initial overlaps (``Q0 > 0``, ``R0^2 <= Q0``). Integrated with an
        adaptive Runge-Kutta method (DOP853). ``alpha = inf`` is refused: ``Q`` grows without bound
        (there is no fixed point of ``(R, Q)``). A trajectory that reaches ``Q = 0`` raises
        :class:`~idealnets.theory.validation.DivergenceError`.
        """
        R0 = as_float(R0, "R0")
        Q0 = as_float(Q0, "Q0", low=0.0, open_low=True)
        if R0 * R0 > Q0 * (1 + 1e-12):
            raise ValueError(f"R0^2 <= Q0 is required (|R| <= |w| |w*| / N); got R0 = {R0:g}, Q0 = {Q0:g}")
        alpha = as_times(alpha, "alpha", allow_inf=False)
        if np.any(alpha > 1e9):
            raise ValueError("alpha must be at most 1e9")
        rtol = as_float(rtol, "rtol", low=1e-14, high=1e-2)
        atol = as_float(atol, "atol", low=0.0, open_low=True)
        flat = alpha.ravel()
        ts, inv = np.unique(flat, return_inverse=True)  # sorted, without repeats (solve_ivp's t_eval)
        out = np.empty((2, flat.size))
        if flat.size and ts[-1] == 0.0:
            out[0], out[1] = R0, Q0
        elif flat.size:
            def f(_, y):
                return np.array(self._rhs(y[0], max(y[1], 1e-300)))

            def hit_zero(_, y):
                return y[1] - 1e-12 * Q0
            hit_zero.terminal = True
            sol = solve_ivp(f, (0.0, float(ts[-1])), [R0, Q0], method="DOP853", t_eval=ts, rtol=rtol, atol=atol,
                            events=hit_zero)
            if sol.status == 1 or sol.y.shape[1] < ts.size:
                raise DivergenceError("the RL perceptron's Q reached 0 (the student vanished)")
            if not sol.success:
                raise DivergenceError(f"integration failed: {sol.message}")
            out = sol.y[:, inv.ravel()]
        R, Q = out[0].reshape(alpha.shape), out[1].reshape(alpha.shape)
        return RLPerceptronCurves(R, Q, _accuracy(R, Q))


def _overlaps(R, Q):
    R = np.asarray(as_array(R, "R"))
    Q = np.asarray(as_array(Q, "Q", low=0.0, open_low=True))
    try:
        R, Q = np.broadcast_arrays(R, Q)
    except ValueError:
        raise ValueError(f"R and Q must broadcast, got shapes {np.shape(R)} and {np.shape(Q)}") from None
    if np.any(R * R > Q * (1 + 1e-9)):
        raise ValueError("R^2 <= Q is required (|R| <= sqrt(Q) since |w*|^2 = N)")
    return R, Q
