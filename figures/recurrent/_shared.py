"""Shared tasks and helpers of the recurrent-network figures (theory.recurrent vs simulate.recurrent)."""
from __future__ import annotations

import numpy as np

from idealnets.simulate.recurrent import aligned_init, lag_map_strengths, random_init, train
from idealnets.theory.recurrent import LinearRNNTheory, lag_task, leaky_integrator_profile, mode_reduction

SECTION = "Learning through time: linear recurrent networks (Proca et al. 2025; Lillicrap & Santoro 2019)"

T_MODES = 6
#: Three leaky-integrator modes (gain, leak): geometric profiles s_k = g leak^k, which a mode
#: can fit exactly, so the aligned solution is also stable against spare hidden units.
MODES = ((2.0, 0.5), (1.2, 0.8), (0.6, 0.3))

# The aligned-init setting both the linear figure and its tanh twin use (same run, so they compare):
B0 = 0.05  # aligned init: b0 = c0 (balanced), a0 = 0
LR, LR_QUICK = 0.02, 0.075
T_END, T_END_QUICK = 30.0, 15.0


def modes_task(T: int = T_MODES, seed: int = 0):
    """(X, Y, reduction) for the three-mode leaky-integrator task, random frames U, V (N_in = N_out = 3)."""
    s = np.stack([leaky_integrator_profile(T, lam, g) for g, lam in MODES], axis=1)
    rng = np.random.default_rng(100 + seed)
    U = np.linalg.qr(rng.standard_normal((3, 3)))[0]
    V = np.linalg.qr(rng.standard_normal((3, 3)))[0]
    X, Y = lag_task(s, U=U, V=V, seed=seed)
    return X, Y, mode_reduction(X, Y)


def aligned_run(X, Y, red, *, b0, a0, c0, n_hidden, n_networks, lr, t_end, record, seed, device,
                activation="linear", method="bptt", k=None):
    W0 = aligned_init(b0, a0, c0, red.U, red.V, n_hidden=n_hidden, n_networks=n_networks, seed=seed,
                      device=device)
    return train(W0, X, Y, lr=lr, steps=int(round(t_end / lr)), record=record, activation=activation,
                 method=method, k=k, desc="rnn")


def random_run(X, Y, *, n_hidden, n_networks, scale, lr, t_end, record, seed, device, activation="linear"):
    W0 = random_init(X.shape[0], n_hidden, Y.shape[0], n_networks=n_networks, scale=scale, seed=seed,
                     device=device)
    run = train(W0, X, Y, lr=lr, steps=int(round(t_end / lr)), record=record, activation=activation, desc="rnn")
    return W0, run


def effective_init(W0, red):
    r"""Per network and mode: the effective balanced start of the linear phase (b0 = c0, a0).

    Near the origin ``p = W_x V_a`` and ``q = W_y^T U_a`` obey ``dp/dt ~ s_0 q``,
    ``dq/dt ~ s_0 p`` (lag terms are O(|W_h|)), so the growing part is ``(p + q)/2`` and
    the mode starts like a balanced one with ``b0 = c0 = |p + q| / 2``
    (cf. :func:`idealnets.theory.deep_linear.effective_u0_two_layer`); its recurrent eigenvalue
    starts at the Rayleigh quotient ``n^T W_h n`` of that direction. Our approximation,
    valid for small random weights; the figure says so.
    """
    Wx, Wh, Wy = (w.cpu().numpy() for w in W0)
    p = Wx @ red.V  # (E, N_h, r)
    q = np.swapaxes(Wy, 1, 2) @ red.U
    v = 0.5 * (p + q)
    b0 = np.linalg.norm(v, axis=1)  # (E, r)
    n = v / b0[:, None, :]
    a0 = np.einsum("ehr,ehg,egr->er", n, Wh, n)
    return b0, a0


def per_network_theory(red, b0, a0, times):
    """Mode maps (E, R, T, r) and eigenvalues (E, R, r) from one theory per network (random init)."""
    maps, eig = [], []
    for e in range(b0.shape[0]):
        th = LinearRNNTheory.from_profiles(red.s, b0=b0[e], a0=a0[e], c0=b0[e])
        maps.append(th.mode_maps(times))
        eig.append(th.recurrent_eigenvalues(times))
    return np.array(maps), np.array(eig)


def measured_eigenvalue(maps: np.ndarray) -> np.ndarray:
    """Effective recurrent eigenvalue ``m_1 / m_0`` of each mode from lag maps (..., T, r); equals a when aligned."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return maps[..., 1, :] / maps[..., 0, :]


__all__ = ["SECTION", "MODES", "T_MODES", "modes_task", "aligned_run", "random_run", "effective_init",
           "per_network_theory", "measured_eigenvalue", "lag_map_strengths"]
