"""(d) One-hidden-layer weight trajectories against the analytic W1(t), W2(t).

Small random initialisation, D = 2. Theory: ``W1(t) = F A(t)^{1/2} V^T`` and
``W2(t) = U A(t)^{1/2} F^T`` with ``A = diag(u_a(t))`` (Saxe et al. 2014, Eq. 7) and
``u_a(t)`` the sigmoid from the effective initial strength of the linear phase
(:func:`idealnets.theory.deep_linear.effective_u0_two_layer`). The hidden frame F is free (any
orthonormal frame: ``W1 -> O W1``, ``W2 -> W2 O^T`` leaves the map and the dynamics
unchanged), so each trained network is rotated by the single orthogonal O that best
aligns its whole trajectory (orthogonal Procrustes, one O per network for all times).
"""
from __future__ import annotations

import numpy as np

from idealnets.simulate.deep_linear import init_weights, train_from
from idealnets.theory.deep_linear import DeepLinearTheory, effective_u0_two_layer, learning_time, mode_strength

from .._common import COLORS, DEFAULT_OUT, save, style, theory_line
from ._shared import mode_data

NAME = "deep_linear_weights"
TITLE = "One-hidden-layer weights W1(t), W2(t): trained (Procrustes-aligned) vs analytic"
SECTION = "Deep linear networks (Saxe, McClelland & Ganguli 2014)"
CAPTION = (
    "**Weight trajectories** W1(t), W2(t) of a one-hidden-layer network against the analytic "
    "solution after Procrustes alignment of the free rotation; within "
    "{agreement[max_rel_weight_err_after_transient]:.0%} after the transient."
)

WIDTH = 16
GAIN = 0.1      # small random init: entries N(0, GAIN^2 / fan-in)
KAPPA = 0.01  # lr = KAPPA * stable limit (quick mode: KAPPA_QUICK)
KAPPA_QUICK = 0.02
N_SHOW = 5      # entries shown per matrix


def procrustes(W1, W2, B1, B2):
    """Orthogonal O (h x h) maximising sum_t tr[O^T (W1_t B1_t^T + W2_t^T B2_t)]; returns O.

    W1, B1: (R, h, N_in); W2, B2: (R, N_out, h). Aligned weights are O^T W1 and W2 O.
    """
    C = np.einsum("rij,rkj->ik", W1, B1) + np.einsum("rji,rjk->ik", W2, B2)
    u, _, vt = np.linalg.svd(C)
    return u @ vt


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    import matplotlib.pyplot as plt

    style()
    kappa = KAPPA_QUICK if quick else KAPPA
    E, R = (4, 60) if quick else (16, 120)
    X, Y = mode_data(seed=0)
    th = DeepLinearTheory(X, Y, depth=2)
    lr = kappa * th.stable_lr()
    W0 = init_weights(X, Y, depth=2, width=WIDTH, n_networks=E, init="small", init_scale=GAIN / np.sqrt(WIDTH),
                      device=device, seed=seed + 11)
    W0np = [w.cpu().numpy() for w in W0]
    u0 = effective_u0_two_layer(W0np[0], W0np[1], th.U, th.V)  # (E, modes)
    t_end = 1.2 * float(learning_time(th.s[-1], u0.min(), 0.99 * th.s[-1], 2))
    run = train_from(W0, X, Y, lr=lr, steps=int(np.ceil(t_end / lr)), record=R, return_weights=True,
                     desc="weights D=2")
    t = run.times
    r = th.n_modes
    F = np.eye(WIDTH)[:, :r]
    # per-network analytic weights in the frame F, aligned sim weights
    rel_err, aligned = [], []
    for e in range(E):
        sq = np.sqrt(mode_strength(t[:, None], th.s, u0[e], 2))
        B1 = np.einsum("ia,ra,ja->rij", F, sq, th.V)
        B2 = np.einsum("ia,ra,ja->rij", th.U, sq, F)
        O = procrustes(run.weights[0][e], run.weights[1][e], B1, B2)
        A1 = np.einsum("ki,rkj->rij", O, run.weights[0][e])
        A2 = run.weights[1][e] @ O
        num = np.sqrt(np.sum((A1 - B1) ** 2, (1, 2)) + np.sum((A2 - B2) ** 2, (1, 2)))
        den = np.sqrt(np.sum(B1**2, (1, 2)) + np.sum(B2**2, (1, 2)))
        rel_err.append(num / den)
        aligned.append((A1, A2, B1, B2))
    rel_err = np.array(rel_err)  # (E, R)
    after = t >= 2.0 / th.s[-1]  # after the alignment transient of the slowest mode
    fig, axes = plt.subplots(1, 3, figsize=(11.4, 3.9))
    A1, A2, B1, B2 = aligned[0]
    tt = np.where(t > 0, t, np.nan)
    rng = np.random.default_rng(seed)
    for ax, A, B, name in ((axes[0], A1, B1, "W_1"), (axes[1], A2, B2, "W_2")):
        flat_B = B.reshape(len(t), -1)
        idx = np.argsort(-np.abs(flat_B[-1]))[: N_SHOW]  # the largest final entries
        for k, j in enumerate(idx):
            theory_line(ax, tt, flat_B[:, j], color=COLORS[k])
            ax.plot(tt, A.reshape(len(t), -1)[:, j], "o", ms=3, mfc="white", mec=COLORS[k])
        other = np.setdiff1d(np.arange(flat_B.shape[1]), idx)
        pick = rng.choice(other, size=min(3, other.size), replace=False)
        for j in pick:
            theory_line(ax, tt, flat_B[:, j], color="0.6", lw=1.0)
            ax.plot(tt, A.reshape(len(t), -1)[:, j], ".", ms=3, color="0.5")
        ax.set_xscale("log")
        ax.set_xlabel(r"time $t/\tau$")
        ax.set_ylabel(f"entries of aligned ${name}(t)$")
        ax.set_title(f"${name}$: network 1 (lines: analytic)")
    ax = axes[2]
    ax.plot(tt, np.median(rel_err, 0), "o", ms=3, mfc="white", mec=COLORS[0], label="trained (median)")
    ax.fill_between(tt, rel_err.min(0), rel_err.max(0), color=COLORS[0], alpha=0.2, lw=0, label="min-max over networks")
    ax.axvline(2.0 / th.s[-1], color="0.5", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"time $t/\tau$")
    ax.set_ylabel(r"$\|(W_1,W_2)_{\rm aligned} - (W_1,W_2)_{\rm theory}\|$" "\n" r"$/\ \|(W_1,W_2)_{\rm theory}\|$")
    ax.set_title("relative weight error")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)  # under the panel: clear of the band
    fig.tight_layout(w_pad=1.5)
    agreement = {"max_rel_weight_err_after_transient": float(rel_err[:, after].max()),
                 "median_rel_weight_err_final": float(np.median(rel_err[:, -1]))}
    data = {"t": t, "rel_err": rel_err, "W1_aligned_net0": A1, "W1_theory_net0": B1, "W2_aligned_net0": A2,
            "W2_theory_net0": B2, "u0_eff": u0, "lr": lr}
    params = {"width": WIDTH, "gain": GAIN, "kappa": kappa, "n_networks": E, "seed": seed}
    return save(fig, {"params": params, "data": data, "agreement": agreement}, name=NAME, out=out, quick=quick)
