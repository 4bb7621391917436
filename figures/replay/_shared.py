"""Shared pieces of the replay and hidden-manifold figures."""
from __future__ import annotations

import numpy as np
import torch

from idealnets.simulate.many_teachers import teacher_family_weights, train_many_teachers
from idealnets.theory.continual.many_teachers import MultiTeacherODE, teacher_family

__all__ = ["SECTION", "typical_init", "sgd_and_ode", "eps_on", "first_below"]

SECTION = "Structured inputs and replay: many tasks, switching schedules, replay and hidden manifolds"


def typical_init(K: int, P: int, N: int, seed: int, T=None):
    """Order parameters of one random student (``W ~ N(0, 1)``) against P teacher units with overlaps ``T``
    (default identity) at size N: ``R0 = Z T^(1/2)`` with ``Z ~ N(0, 1/N)``, consistent with a singular ``T``."""
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((K, N))
    Z = rng.standard_normal((K, P)) / np.sqrt(N)
    if T is None:
        return W @ W.T / N, Z
    d, V = np.linalg.eigh(T)
    return W @ W.T / N, Z @ (V * np.sqrt(np.clip(d, 0.0, None))) @ V.T


def sgd_and_ode(*, K, M, n_tasks, gamma, schedule, N, E, seed, lr, h0, device=None, record=30, **opts):
    """Online SGD of E networks (teachers with feature similarity gamma, readouts equal) and the ODE integrated
    from each network's own initial order parameters at the recorded times. Returns ``(run, [trajectories])``."""
    T, vs = teacher_family(n_tasks, M, gamma, 1.0)
    Ws = teacher_family_weights(N, M, n_tasks, gamma, E, seed=seed + 1, device=device)
    W0 = torch.randn(E, K, N, generator=torch.Generator().manual_seed(seed + 2), dtype=torch.float64)
    run = train_many_teachers(W0, h0 * np.ones(K), Ws, vs, schedule, lr=lr, record=record, seed=seed + 3,
                              device=device, **opts)
    ode = MultiTeacherODE(K, M, lr, T, vs, **opts)
    trs = [ode.integrate(run.Q[e, 0], run.R[e, 0], run.H[e, 0], schedule, alpha_eval=run.times) for e in range(E)]
    return run, trs


def eps_on(tr, times) -> np.ndarray:
    """A trajectory's errors (len(times), n_tasks) at ``times`` (each an output time of ``tr``; the ODE adds
    its threshold-switch times to the output, which this drops)."""
    idx = np.searchsorted(tr.alpha, times)
    assert np.array_equal(tr.alpha[idx], times)
    return tr.eps[idx]


def first_below(alpha, eps, level: float) -> float:
    """First time at which ``eps`` falls to ``level`` (linear interpolation); nan if never."""
    alpha, eps = np.asarray(alpha, float), np.asarray(eps, float)
    below = np.nonzero(eps <= level)[0]
    if below.size == 0:
        return float("nan")
    i = below[0]
    if i == 0:
        return float(alpha[0])
    f = (eps[i - 1] - level) / (eps[i - 1] - eps[i])
    return float(alpha[i - 1] + f * (alpha[i] - alpha[i - 1]))
