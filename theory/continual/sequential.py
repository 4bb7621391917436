r"""Sequential linear regression: tasks learned one after another, each to convergence.

Evron, Moroshko, Ward, Srebro & Soudry (2022): gradient flow on task m from the previous weights
converges to the solution nearest to them, so a sequence of tasks is a sequence of (affine)
projections (:func:`sequential_regression`); forgetting is the mean loss over the tasks seen so far
(:func:`sequential_forgetting`) under cyclic or random task orders.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .. import validation as _v

__all__ = [
    "check_regression_tasks",
    "check_task_order",
    "sequential_regression",
    "regression_loss",
    "sequential_forgetting",
    "cyclic_order",
    "random_order",
]


def _task_lists(Xs, ys) -> tuple[Sequence, Sequence]:
    """``Xs``, ``ys`` as sequences of one entry per task (a 3-D ``Xs`` / 2-D ``ys`` split along axis 0)."""
    if isinstance(Xs, np.ndarray) and Xs.ndim == 3:
        Xs = list(Xs)
    if isinstance(ys, np.ndarray) and ys.ndim == 2:
        ys = list(ys)
    if not isinstance(Xs, Sequence) or not isinstance(ys, Sequence):
        raise TypeError("Xs and ys must be sequences of arrays (one per task)")
    if len(Xs) == 0:
        raise ValueError("Xs must hold at least one task")
    _v.check_same("Xs", len(Xs), "ys", len(ys), "number of tasks")
    return Xs, ys


def _task_arrays(Xs, ys, N: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Every ``Xs[m]`` (N, P_m) and ``ys[m]`` (P_m,) as float arrays."""
    Xo, yo = [], []
    for m, (X, y) in enumerate(zip(Xs, ys)):
        X = _v.as_array(X, f"Xs[{m}]", ndim=2, shape=(N, None))
        y = _v.as_array(y, f"ys[{m}]", ndim=1)
        _v.check_same(f"Xs[{m}]", X.shape[1], f"ys[{m}]", y.size, "number of samples")
        Xo.append(X)
        yo.append(y)
    return Xo, yo


def check_regression_tasks(Xs, ys, w0) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    r"""Validate a sequence of regression tasks and return ``(Xs, ys, w0)`` as float arrays:
    ``Xs[m]`` (N, P_m) inputs (samples as columns; a 3-D array is split along its first axis),
    ``ys[m]`` (P_m,) targets (a 2-D array is split by rows), ``w0`` (N,) the initial weights."""
    Xs, ys = _task_lists(Xs, ys)
    w0 = _v.as_array(w0, "w0", ndim=1)
    Xo, yo = _task_arrays(Xs, ys, w0.size)
    return Xo, yo, w0


def check_task_order(order, M: int) -> np.ndarray:
    """Validate an order of tasks: a non-empty 1-D integer sequence of indices in ``0..M-1``; returns it as ints."""
    o = np.asarray(order)
    if o.ndim != 1 or o.size == 0 or o.dtype.kind not in "iu":
        raise ValueError(f"order must be a non-empty 1-D sequence of task indices, got {_v.describe(order)}")
    if o.min() < 0 or o.max() >= M:
        raise ValueError(f"order must index tasks 0..{M - 1}, got values in [{o.min()}, {o.max()}]")
    return o.astype(int)


def _sequential_regression(Xs, ys, w, o) -> np.ndarray:
    pinvs = {m: np.linalg.pinv(Xs[m].T) for m in np.unique(o)}
    out = np.empty((o.size, w.size))
    for k, m in enumerate(o):
        w = w + pinvs[m] @ (ys[m] - Xs[m].T @ w)
        out[k] = w
    return out


def _regression_loss(Xs, ys, W) -> np.ndarray:
    return np.stack([0.5 * np.mean((W @ X - y) ** 2, axis=-1) for X, y in zip(Xs, ys)], axis=-1)


def sequential_regression(Xs, ys, w0, order) -> np.ndarray:
    r"""Weights after each task of ``order``, each trained to convergence from the previous weights.

    Gradient flow (or GD with a stable step) on ``L_m(w) = (1/2P_m)||X_m^T w - y_m||^2`` from ``w``
    changes ``w`` only within ``range(X_m)`` and converges to the solution nearest to ``w``:

    .. math:: w \leftarrow w + X_m^{\top +} (y_m - X_m^\top w)

    (the minimum-norm change; for realisable tasks an affine projection onto ``{w: X_m^T w = y_m}``;
    Evron, Moroshko, Ward, Srebro & Soudry 2022, eq. 3). ``Xs[m]`` (N, P_m) samples as columns,
    ``ys[m]`` (P_m,), ``w0`` (N,), ``order`` task indices. Returns (len(order), N); ``w0`` is not a row.
    """
    Xs, ys, w = check_regression_tasks(Xs, ys, w0)
    return _sequential_regression(Xs, ys, w, check_task_order(order, len(Xs)))


def regression_loss(Xs, ys, W) -> np.ndarray:
    r"""``L_m(w) = (1/2P_m) ||X_m^T w - y_m||^2`` for every task m and every row of ``W`` (..., N)
    -> (..., M)."""
    Xs, ys = _task_lists(Xs, ys)
    W = _v.as_array(W, "W", ndim=range(1, 64))
    Xs, ys = _task_arrays(Xs, ys, W.shape[-1])
    return _regression_loss(Xs, ys, W)


def sequential_forgetting(Xs, ys, w0, order) -> np.ndarray:
    r"""Evron et al. (2022, def. 1) forgetting after k tasks, ``F(k) = (1/k) sum_{j<=k} L_{order_j}(w_k)``
    (with our loss ``(1/2P)||.||^2``; for realisable tasks every ``L_{order_k}(w_k) = 0``).
    Shape (len(order),)."""
    Xs, ys, w = check_regression_tasks(Xs, ys, w0)
    o = check_task_order(order, len(Xs))
    L = _regression_loss(Xs, ys, _sequential_regression(Xs, ys, w, o))  # (K, M)
    return np.array([np.mean(L[k, o[:k + 1]]) for k in range(o.size)])


#: longest task order cyclic_order/random_order make (2^25 visits)
MAX_ORDER = 2**25


def cyclic_order(n_tasks: int, k: int) -> np.ndarray:
    """``0, 1, ..., T-1, 0, 1, ...`` of length k."""
    n_tasks, k = _v.as_int(n_tasks, "n_tasks", low=1), _v.as_int(k, "k", low=1, high=MAX_ORDER)
    return np.arange(k) % n_tasks


def random_order(n_tasks: int, k: int, seed: int = 0) -> np.ndarray:
    """k task indices drawn uniformly with replacement (Evron et al.'s random ordering)."""
    n_tasks, k = _v.as_int(n_tasks, "n_tasks", low=1), _v.as_int(k, "k", low=1, high=MAX_ORDER)
    return np.random.default_rng(_v.as_seed(seed)).integers(0, n_tasks, size=k)
