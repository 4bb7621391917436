r"""Unchecked numerical cores shared by the modules of ``idealnets.theory``.

Every function here trusts its caller: arguments are float64 arrays that a public entry
point has already validated (``idealnets.theory.validation``). The public, validated forms
are :mod:`idealnets.theory.tasks` (correlations, the quadratic loss, whitened tasks) and
:mod:`idealnets.theory.measures` (crossing times); theory modules that have validated their
own input call these cores directly, so each argument is checked once (docs: Conventions,
"Validation").
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

#: values at or below 0 count as this in log-interpolation (and times at 0 in log-time interpolation)
LOG_FLOOR = 1e-300


class Correlations(NamedTuple):
    r"""Second moments of a data set (docs: Conventions, "Data"): ``Sxx = X X^T/P`` (N_in, N_in),
    ``Syx = Y X^T/P`` (N_out, N_in) and ``trSyy = tr(Y Y^T)/P``, everything the mean squared loss
    of a linear map depends on."""

    Sxx: np.ndarray
    Syx: np.ndarray
    trSyy: float


def correlations(X: np.ndarray, Y: np.ndarray) -> Correlations:
    """``(Sxx, Syx, trSyy)`` of inputs ``X`` (N_in, P) and targets ``Y`` (N_out, P), samples as columns."""
    P = X.shape[1]
    return Correlations(X @ X.T / P, Y @ X.T / P, float(np.sum(Y * Y) / P))


def quadratic_loss(W: np.ndarray, Sxx: np.ndarray | None, Syx: np.ndarray, trSyy: float) -> np.ndarray:
    r"""``L = trSyy/2 - tr(W Syx^T) + tr(W Sxx W^T)/2`` for maps ``W`` (..., N_out, N_in).

    ``Sxx = None`` means whitened input (``Sxx = I``): the last term is then ``||W||_F^2/2``.
    """
    lin = np.einsum("...ij,ij->...", W, Syx)
    if Sxx is None:
        return 0.5 * trSyy - lin + 0.5 * np.sum(W**2, axis=(-2, -1))
    return 0.5 * trSyy - lin + 0.5 * np.einsum("...ij,jk,...ik->...", W, Sxx, W)


def balancedness(weights) -> list[np.ndarray]:
    r"""``W_{l+1}^T W_{l+1} - W_l W_l^T`` for consecutive layers of ``weights`` (layer 1 first, each (..., n_l, n_{l-1}))."""
    return [np.swapaxes(weights[l + 1], -1, -2) @ weights[l + 1] - weights[l] @ np.swapaxes(weights[l], -1, -2)
            for l in range(len(weights) - 1)]


def crossing_time(t: np.ndarray, v: np.ndarray, level, *, up: bool, log_times: bool = False,
                  log_values: bool = False, from_other_side: bool = False) -> np.ndarray:
    r"""First time at which the sampled curves ``v`` reach ``level``; ``nan`` where they never do.

    ``t`` (T,) increasing; ``v`` (T, ...) with time on axis 0 (NaN samples never count as
    reached); ``level`` broadcasts against ``v.shape[1:]``. Reached means ``v >= level``
    (``up``) or ``v <= level`` (not ``up``). Between the last sample before and the first
    sample at or past the level the curve is linear in ``t`` (in ``log t`` with
    ``log_times``) with ``v`` (``log v`` with ``log_values``; ``level > 0`` then). A curve
    already there at ``t[0]`` gives ``t[0]``, unless ``from_other_side``: then only a crossing
    counts, the curve must first be strictly on the other side of the level.
    Returns shape ``v.shape[1:]``.
    """
    level = np.asarray(level, dtype=float)
    if log_values:
        v = np.log(np.maximum(v, LOG_FLOOR))
        level = np.log(level)
    x = v - level if up else level - v  # >= 0 where the level is reached
    reached = x >= 0
    if from_other_side:
        reached &= np.logical_or.accumulate(x < 0, axis=0)
    k = np.argmax(reached, axis=0)  # first index at or past the level
    hit = np.any(reached, axis=0)
    km = np.maximum(k - 1, 0)
    x1 = np.take_along_axis(x, k[None], 0)[0]
    x0 = np.take_along_axis(x, km[None], 0)[0]
    s = np.log(np.maximum(t, LOG_FLOOR)) if log_times else t
    s1, s0 = s[k], s[km]
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(x1 != x0, -x0 / (x1 - x0), 0.0)
    inner = s0 + np.clip(w, 0, 1) * (s1 - s0)
    if log_times:
        inner = np.exp(inner)
    out = np.where(k == 0, t[0], inner)
    return np.where(hit, out, np.nan)


def haar(n: int, rng: np.random.Generator, size=()) -> np.ndarray:
    """Haar-distributed orthogonal (n, n) matrices (QR of a Gaussian with the signs of R fixed)."""
    A = rng.standard_normal((*size, n, n))
    Q, R = np.linalg.qr(A)
    return Q * np.sign(np.diagonal(R, axis1=-2, axis2=-1))[..., None, :]


def whitened_task(n_in: int, n_out: int, s: np.ndarray, rng: np.random.Generator | None, P: int,
                  U: np.ndarray | None, V: np.ndarray | None, inputs: str) -> tuple[np.ndarray, np.ndarray]:
    r"""``(X, Y)`` with ``X X^T/P = I`` and ``Y X^T/P = U diag(s) V^T`` (see :func:`idealnets.theory.tasks.whitened_task`).

    Random draws, in this order, from ``rng``: ``U`` and ``V`` where not given, then the
    input frame (``inputs = "random"``); ``inputs = "identity"`` uses ``X = sqrt(n_in) I`` (P = n_in).
    """
    r = s.size
    U = haar(n_out, rng)[:, :r] if U is None else U
    V = haar(n_in, rng)[:, :r] if V is None else V
    X = np.sqrt(P) * haar(P, rng)[:n_in] if inputs == "random" else np.sqrt(n_in) * np.eye(n_in)
    return X, (U * s) @ V.T @ X
