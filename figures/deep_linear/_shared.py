"""Shared set-up of the deep-linear figures: the data sets and the theory-for-random-init rule."""
from __future__ import annotations

import numpy as np

from idealnets.theory.deep_linear import DeepLinearTheory, effective_u0_two_layer, mode_strength, u0_through

S_MODES = np.array([3.0, 2.0, 1.0, 0.5])  # singular values of Syx (figures a, b, d)
N_IN, N_OUT = 6, 4


def mode_data(seed: int = 0, s=S_MODES, n_in: int = N_IN, n_out: int = N_OUT):
    """Whitened inputs (Sxx = I, P = n_in) and targets with ``Syx = U diag(s) V^T`` (random U, V)."""
    # not theory.tasks.whitened_task: X is drawn first and all frames by plain QR (the figures' random stream)
    rng = np.random.default_rng(seed)
    P = n_in
    X = np.sqrt(P) * np.linalg.qr(rng.standard_normal((n_in, n_in)))[0]
    U = np.linalg.qr(rng.standard_normal((n_out, len(s))))[0]
    V = np.linalg.qr(rng.standard_normal((n_in, len(s))))[0]
    Y = U @ np.diag(s) @ V.T @ X  # Syx = Y X^T / P = U S V^T since X X^T / P = I
    return X, Y


def square_data(N: int, s: float, seed: int = 0):
    """Whitened square data with ``Syx = s Q`` (Q random orthogonal, det Q = +1): all modes equal."""
    # not theory.tasks.whitened_task: X drawn before Q by plain QR, and Q conditioned on det Q = +1
    rng = np.random.default_rng(seed)
    X = np.sqrt(N) * np.linalg.qr(rng.standard_normal((N, N)))[0]
    Q = np.linalg.qr(rng.standard_normal((N, N)))[0]
    if np.linalg.det(Q) < 0:
        Q[:, 0] *= -1
    return X, s * Q @ X, Q


def projections(th: DeepLinearTheory, maps: np.ndarray) -> np.ndarray:
    """Mode strengths of simulated maps, ``U_a^T W V_a``: (E, R, N_out, N_in) -> (E, R, n_modes)."""
    return np.einsum("ia,erij,ja->era", th.U, maps, th.V)


def random_init_theory(th: DeepLinearTheory, times, proj, W0=None, restart_fraction: float = 0.05):
    """Theory for each network and mode after a small *random* initialisation.

    * D = 1: exact from the initial projection (linear dynamics).
    * D = 2: from t = 0 with the effective strength of the linear phase,
      :func:`idealnets.theory.deep_linear.effective_u0_two_layer` (needs ``W0``).
    * D >= 3: the early phase is not decoupled (all modes grow along the top singular
      directions of the random middle layers) and has no closed form, so ``u0`` is fixed
      by one point: the decoupled trajectory that passes through the network's own
      projection when it first exceeds ``restart_fraction * s`` (one number per network
      and mode; everything else is predicted). NaN if it never gets there.

    Returns (E, R, n_modes) and, per network and mode, the start time.
    """
    E, R, M = proj.shape
    s = th.s / th.c
    t = np.asarray(times, float)
    if th.depth == 1:
        return mode_strength(th.c * t[None, :, None], s, proj[:, :1, :], 1), np.zeros((E, M))
    if th.depth == 2:
        u0 = effective_u0_two_layer(W0[0], W0[1], th.U, th.V)  # (E, M)
        return mode_strength(th.c * t[None, :, None], s, u0[:, None, :], 2), np.zeros((E, M))
    u0 = np.full((E, M), np.nan)
    t_start = np.full((E, M), np.nan)
    for e in range(E):
        for a in range(M):
            hit = np.nonzero(proj[e, :, a] > restart_fraction * s[a])[0]
            if hit.size == 0:
                continue
            i = hit[0]
            t_start[e, a], u1 = t[i], proj[e, i, a]
            if not u1 < 0.5 * s[a]:  # recording too coarse to catch the early rise
                continue
            u0[e, a] = u0_through(s[a], th.c * t[i], u1, th.depth)
    out = mode_strength(th.c * t[None, :, None], s, np.nan_to_num(u0)[:, None, :], th.depth)
    out[np.broadcast_to(np.isnan(u0)[:, None, :], out.shape)] = np.nan
    return out, t_start
