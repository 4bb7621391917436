"""Shared pieces of the committee-machine figures: one simulation + its per-seed ODE.

The theory curve for an ensemble is the ODE integrated from *each* network's
own initial order parameters (Q0, R0, v0, T measured on its weights) and then
averaged over seeds, exactly as the simulation is averaged; both are recorded
at the same alpha. Runs are memoised so that figures sharing a run (the
learning curves and the order parameters) train it once per process.

For backprop runs (no feedback vector) whose networks share their teacher
(T and v* equal to rounding, as for the orthonormal teacher), :func:`paired`
integrates all the networks' ODEs together (:func:`per_seed_ode_grid`:
``CommitteeGrid``, one vectorised Dormand-Prince 5(4) solve with each network's
own step control, rtol 1e-8): on the learning curves' four runs 1.5x cheaper
than one DOP853 solve per network at rtol 1e-7 (6.2 -> 4.2 CPU s), and more
accurate (those were off by up to 1e-5 in eps_g; the grid is within 5e-9 of a
rtol 1e-11 reference).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from idealnets.simulate.committee import train
from idealnets.simulate.engine import Run
from idealnets.theory.committee import CommitteeODE, PlateauFixedPoint, generalisation_error, symmetric_plateau
from idealnets.theory.committee_grid import CommitteeGrid

ODE_RTOL, ODE_ATOL = 1e-7, 1e-9
GRID_RTOL, GRID_ATOL = 1e-8, 1e-10  # CommitteeGrid's defaults (tested against single DOP853 solves)


@dataclass
class Paired:
    run: Run
    Q: np.ndarray  # (E, R, K, K) ODE
    R: np.ndarray  # (E, R, K, M) ODE
    v: np.ndarray  # (E, R, K) ODE
    eps_ode: np.ndarray  # (E, R)
    eps_sim_op: np.ndarray  # (E, R) eps_g of the simulated order parameters


def per_seed_ode(run: Run, *, K_eff=None, rtol: float = ODE_RTOL, atol: float = ODE_ATOL) -> tuple:
    """Integrate the ODE from each seed's initial order parameters; returns (Q, R, v, eps) per seed.

    K_eff : (E,) number of real (unpadded) units per seed (default: all K).
    rtol, atol : integrator tolerances. The figures use 1e-7/1e-9: three orders
    of magnitude below the finite-N deviations they show, at a third of the cost.
    """
    E, _, K, M = run.R.shape
    K_eff = np.full(E, K) if K_eff is None else np.asarray(K_eff)
    out_Q = np.full(run.Q.shape, np.nan)
    out_R = np.full(run.R.shape, np.nan)
    out_v = np.full(run.v.shape, np.nan)
    eps = np.full((E, len(run.times)), np.nan)
    for e in range(E):
        k = int(K_eff[e])
        ode = CommitteeODE(k, M, float(run.lr[e]), activation=run.activation,
                           train_second_layer=run.train_second_layer, lr_v=float(run.lr_v[e]),
                           noise=run.noise, T=run.T[e], v_star=run.v_star[e],
                           feedback=None if run.feedback is None else run.feedback[e][:k])
        try:
            tr = ode.integrate(run.Q0[e][:k, :k], run.R0[e][:k], run.v0[e][:k], alpha_eval=run.times, rtol=rtol,
                               atol=atol)
        except FloatingPointError:
            continue  # the ODE blows up (too large a learning rate): leave NaN
        out_Q[e, :, :k, :k], out_R[e, :, :k], out_v[e, :, :k] = tr.Q, tr.R, tr.v
        eps[e] = tr.eps_g
    return out_Q, out_R, out_v, eps


def shares_teacher(run: Run) -> bool:
    """Whether the networks of ``run`` share their teacher (T and v* equal to rounding) and train by backprop,
    so that :func:`per_seed_ode_grid` applies."""
    return (run.feedback is None and np.allclose(run.T, run.T[0], rtol=0.0, atol=1e-12)
            and np.array_equal(run.v_star, np.broadcast_to(run.v_star[0], run.v_star.shape)))


def per_seed_ode_grid(run: Run, *, rtol: float = GRID_RTOL, atol: float = GRID_ATOL) -> tuple:
    """:func:`per_seed_ode` for a backprop run whose networks share their teacher (:func:`shares_teacher`), all
    networks in one vectorised integration (``CommitteeGrid``: Dormand-Prince 5(4), each network with its own
    step control, its own lr and start). Returns ``(Q, R, v, eps)`` per seed; a network whose ODE blows up
    is NaN from there on."""
    grid = CommitteeGrid(np.full(run.Q.shape[0], run.Q.shape[-1]), run.R.shape[-1], run.lr, noise=run.noise,
                         activation=run.activation, train_second_layer=run.train_second_layer, lr_v=run.lr_v,
                         T=run.T[0], v_star=run.v_star[0])
    tr = grid.integrate(run.times, list(run.Q0), list(run.R0), list(run.v0), rtol=rtol, atol=atol)
    return tr.Q, tr.R, tr.v, tr.eps_g


@lru_cache(maxsize=16)
def paired(N: int, K: int, M: int, lr, alpha_max: float, *, n_networks: int, init_scale: float, seed: int,
           device, noise: float = 0.0, train_second_layer: bool = False, record: int = 40,
           n_test: int = 2000, raise_on_divergence: bool = True, record_linear: int = 0, v0=None,
           feedback=None, dtype: str = "float64") -> Paired:
    """Train ``n_networks`` networks and integrate the ODE from each one's start (memoised).

    ``lr`` may be a tuple with one rate per network; ``v0`` and ``feedback`` tuples of K values; ``dtype``
    the simulation's (``"float64"`` or ``"float32"``; the records are float64 either way).
    Backprop runs with a shared teacher integrate their ODEs together (:func:`per_seed_ode_grid`), others
    one DOP853 solve per network (:func:`per_seed_ode`).
    """
    lr_arg = np.asarray(lr, dtype=float) if isinstance(lr, tuple) else lr
    run = train(N, K, M, lr_arg, alpha_max, n_networks=n_networks, init_scale=init_scale, seed=seed, device=device,
                noise=noise, train_second_layer=train_second_layer, record=record, n_test=n_test,
                raise_on_divergence=raise_on_divergence, record_linear=record_linear,
                v0=None if v0 is None else np.asarray(v0, dtype=float),
                feedback=None if feedback is None else np.asarray(feedback, dtype=float), dtype=dtype)
    Q, R, v, eps = per_seed_ode_grid(run) if shares_teacher(run) else per_seed_ode(run)
    eps_op = generalisation_error(run.Q, run.R, run.T[:, None], run.v, run.v_star[:, None], run.activation)
    return Paired(run, Q, R, v, eps, eps_op)


@lru_cache(maxsize=8)
def plateau(K: int, lr: float) -> PlateauFixedPoint:
    """``symmetric_plateau(K, lr)``, memoised: the learning curves and the order parameters draw the same one
    (read-only)."""
    return symmetric_plateau(K, lr)


def sort_students(R: np.ndarray) -> np.ndarray:
    """Permutation per seed putting, for K = M, the student that best matches teacher m at index m.

    R : (E, A, K, M) overlaps over time; uses the final time. Returns (E, K) indices.
    """
    E, _, K, M = R.shape
    perms = np.tile(np.arange(K), (E, 1))
    for e in range(E):
        fin = R[e, -1]
        if not np.isfinite(fin).all():
            continue
        order, free = [], list(range(K))
        for m in range(min(K, M)):
            k = max(free, key=lambda i: fin[i, m])
            order.append(k)
            free.remove(k)
        perms[e] = order + free
    return perms


def permute(Q: np.ndarray, R: np.ndarray, perms: np.ndarray):
    """Apply per-seed student permutations to Q (E, A, K, K) and R (E, A, K, M)."""
    Qp = np.stack([Q[e][:, p][:, :, p] for e, p in enumerate(perms)])
    Rp = np.stack([R[e][:, p] for e, p in enumerate(perms)])
    return Qp, Rp
