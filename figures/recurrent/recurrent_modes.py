"""Linear RNN modes: theory vs trained ensembles, aligned and random initialisation.

Task: three leaky-integrator modes, ``y = sum_k U diag(g leak^k) V^T x_{T-k}`` (T = 6) with
(g, leak) = (2, 0.5), (1.2, 0.8), (0.6, 0.3), inputs exactly white over time and dimension.

* (a) aligned init (``W_x = R diag(b0) V^T``, ``W_h = R diag(a0) R^T``, ``W_y = U diag(c0) R^T``,
  random R, N_h = r = 3): the integrated mode flow of :class:`idealnets.theory.recurrent.LinearRNNTheory`
  is exact; the trained strengths ``U_a^T W_y W_x V_a = c b`` differ by the O(lr) of GD.
* (b) small random init, N_h = 16: no exact theory. The theory curve for each network starts
  from its effective balanced mode (``b0 = c0 = |W_x V_a + W_y^T U_a|/2``, ``a0`` the Rayleigh
  quotient of ``W_h`` on that direction; :func:`idealnets.figures.recurrent._shared.effective_init`, our
  approximation of the early linear phase), then follows the aligned flow; deviations are
  reported after the escape from the origin (t >= 0.6 t_half).
* (c) learning order across lags: the lag maps ``c a^k b / s_k`` of mode 2 rise in order of k.
* (d) the learned recurrent eigenvalue ``a_alpha(t)`` (trained: ``m_1/m_0``, the ratio of the
  lag-1 and lag-0 maps, which is ``a`` for aligned weights) converging to each leak.
"""
from __future__ import annotations

import numpy as np

from idealnets.theory.recurrent import LinearRNNTheory

from .._common import COLORS, DEFAULT_OUT, save, sim_markers, style, theory_line
from ._shared import (
    B0,
    LR,
    LR_QUICK,
    T_END,
    T_END_QUICK,
    MODES,
    SECTION,
    T_MODES,
    aligned_run,
    effective_init,
    lag_map_strengths,
    measured_eigenvalue,
    modes_task,
    per_network_theory,
    random_run,
)

NAME = "recurrent_modes"
TITLE = "Linear RNN modes: mode strengths, lag order and recurrent eigenvalues, theory vs trained"
CAPTION = ("**Linear RNN modes** (three leaky-integrator modes, T = 6): mode strengths c b from aligned "
           "init (max deviation of the lag maps {agreement[max_dev_aligned]:.2g}, targets up to 2, at lr = {params[lr]:g}; "
           "{agreement[gd_ratio]:.2f}x smaller at lr/2) and from small random init with 16 hidden units "
           "(within {agreement[max_dev_random]:.2g} after the escape); lag maps rise in order of the lag; "
           "learned recurrent eigenvalues reach the leaks 0.5, 0.8, 0.3 (error {agreement[max_dev_eigenvalue]:.2g}).")

# Tolerance the test suite holds each agreement value to (at the test's smaller size), and the
# test; read by figures/gallery.py for the paper's agreement table.
# max_dev_random (small random init vs the per-network effective-init theory, our approximation) has no
# error analysis to bound it: untested.
_REC = "tests/test_records.py::test_records_within_tolerances"
TOLERANCES = {
    # GD-vs-flow gap ratio when lr halves: GD_RATIO
    "gd_ratio": ((1.6, 2.4), "tests/test_recurrent.py::test_trained_ensemble_matches_theory_gap_linear_in_lr",
                 "O(lr): halving lr halves the GD-vs-flow gap (ratio 2 +- 20%)"),
    # the test holds the same lag-map gap below GD_ABS = 0.06 = 6 lr at lr = 0.01 (modes of strength 2)
    "max_dev_aligned": (0.2, _REC, "O(lr) at lr = 0.02: 6 lr = 0.12, the test's bound per unit lr (modes of strength 2)"),
    "max_dev_eigenvalue": (0.2, _REC, "O(lr) at lr = 0.02: 6 lr = 0.12, as the lag maps (test: 0.06 at lr = 0.01)"),
}

N_HIDDEN_RANDOM = 16
SCALE_RANDOM = 0.1


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    import matplotlib.pyplot as plt

    style()
    lr = LR_QUICK if quick else LR
    t_end = T_END_QUICK if quick else T_END
    E, rec = (3, 30) if quick else (12, 60)
    X, Y, red = modes_task(seed=0)
    r = red.s.shape[1]
    th = LinearRNNTheory(X, Y, b0=B0, a0=0.0, c0=B0)
    run = aligned_run(X, Y, red, b0=B0, a0=0.0, c0=B0, n_hidden=r, n_networks=E, lr=lr, t_end=t_end,
                      record=rec, seed=seed, device=device)
    t = run.times
    m_sim = lag_map_strengths(run.weights, red.U, red.V, T_MODES)  # (E, R, T, r)
    m_th = th.mode_maps(t)  # (R, T, r)
    dev_aligned = float(np.max(np.abs(m_sim - m_th[None])))
    run2 = aligned_run(X, Y, red, b0=B0, a0=0.0, c0=B0, n_hidden=r, n_networks=1, lr=lr / 2, t_end=t_end,
                       record=np.round(t / (lr / 2)).astype(int), seed=seed, device=device)
    dev_half = float(np.max(np.abs(lag_map_strengths(run2.weights, red.U, red.V, T_MODES) - th.mode_maps(run2.times))))

    W0, rrun = random_run(X, Y, n_hidden=N_HIDDEN_RANDOM, n_networks=E, scale=SCALE_RANDOM, lr=lr, t_end=t_end,
                          record=rec, seed=seed + 1, device=device)
    mr_sim = lag_map_strengths(rrun.weights, red.U, red.V, T_MODES)
    b0r, a0r = effective_init(W0, red)
    mr_th, _ = per_network_theory(red, b0r, a0r, rrun.times)
    t_half = np.array([LinearRNNTheory.from_profiles(red.s, b0=b0r[e], a0=a0r[e], c0=b0r[e]).learning_time(0.5)
                       for e in range(E)])  # (E, r)
    after = rrun.times[None, :, None] >= 0.6 * t_half[:, None, :]
    dev_random = float(np.max(np.where(after, np.abs(mr_sim[:, :, 0] - mr_th[:, :, 0]), 0.0)))

    fig, axes = plt.subplots(2, 2, figsize=(10, 7.6))   # two rows: legible at the text width
    axes = axes.ravel()
    tt = np.where(t > 0, t, np.nan)
    ttr = np.where(rrun.times > 0, rrun.times, np.nan)
    for a in range(r):
        g, lam = MODES[a]
        c = COLORS[a]
        theory_line(axes[0], tt, m_th[:, 0, a], color=c, label=f"mode {a + 1}: g={g:g}, leak={lam:g}")
        sim_markers(axes[0], tt, m_sim[:, :, 0, a], color=c, ms=3)
        theory_line(axes[1], ttr, mr_th[:, :, 0, a].mean(0), color=c)
        sim_markers(axes[1], ttr, mr_sim[:, :, 0, a], color=c, ms=3)
    for ax, ttl in ((axes[0], "(a) aligned init: strength $cb$"), (axes[1], f"(b) random init, $N_h$={N_HIDDEN_RANDOM}")):
        ax.set_xscale("log")
        ax.set_xlabel(r"time $t/\tau$ (= lr $\times$ step)")
        ax.set_title(ttl)
    axes[0].set_ylabel(r"lag-0 map $U_\alpha^\top W_y W_x V_\alpha$")
    axes[0].legend(loc="upper left")
    # (c) lag order of mode 2
    a2 = 1
    cmap = plt.get_cmap("viridis")
    t_dense = np.linspace(1.0, 4.5, 400)
    m_dense = th.mode_maps(t_dense)
    for k in range(T_MODES):
        c = cmap(k / (T_MODES - 1))
        sk = red.s[k, a2]
        theory_line(axes[2], t_dense, m_dense[:, k, a2] / sk, color=c, label=f"lag {k}")
        sim_markers(axes[2], tt, m_sim[:, :, k, a2] / sk, color=c, ms=3, band=False)
    axes[2].set_xlim(1.0, 4.5)  # linear zoom on the transition, where the lags separate
    axes[2].set_xlabel(r"time $t/\tau$ (linear scale)")
    axes[2].set_ylabel(r"$c\,a^k b / s_k$ (mode 2)")
    axes[2].set_title("(c) learning order across lags")
    axes[2].legend(loc="upper left", ncol=2)
    # (d) eigenvalues
    eig_th = th.recurrent_eigenvalues(t)
    eig_sim = measured_eigenvalue(m_sim)
    eig_rand = measured_eigenvalue(mr_sim)
    late = t >= 0.5 * t_end
    dev_eig = float(np.max(np.abs(eig_sim[:, late] - eig_th[None, late])))
    dev_eig_random = float(np.max(np.abs(np.nanmedian(eig_rand[:, rrun.times >= 0.5 * t_end], axis=0)
                                         - np.array([lam for _, lam in MODES])[None])))
    for a in range(r):
        c = COLORS[a]
        theory_line(axes[3], tt, eig_th[:, a], color=c)
        axes[3].axhline(MODES[a][1], color=c, ls=":", lw=0.8)
        sim_markers(axes[3], tt[1:], eig_sim[:, 1:, a], color=c, ms=3)
        sim_markers(axes[3], ttr[1:], np.nanmedian(eig_rand[:, 1:, a], axis=0), color=c, ms=3, marker="^")
    axes[3].plot([], [], "o", mfc="white", mec="k", label="aligned (mean $\\pm$ sd)")
    axes[3].plot([], [], "^", mfc="white", mec="k", label="random init (median)")
    axes[3].plot([], [], "-", color="k", label="theory (aligned)")
    axes[3].set_xscale("log")
    axes[3].set_ylim(-0.2, 1.15)
    axes[3].set_xlabel(r"time $t/\tau$")
    axes[3].set_ylabel(r"recurrent eigenvalue $a_\alpha$ ($m_1/m_0$)")
    axes[3].set_title("(d) learned recurrent eigenvalue")
    axes[3].legend(loc="upper left")
    fig.tight_layout()
    agreement = {"max_dev_aligned": dev_aligned, "max_dev_aligned_half_lr": dev_half,
                 "gd_ratio": dev_aligned / dev_half, "max_dev_random": dev_random,
                 "max_dev_eigenvalue": dev_eig, "max_dev_eigenvalue_random": dev_eig_random}
    params = {"T": T_MODES, "modes_gain_leak": MODES, "b0": B0, "lr": lr, "n_networks": E,
              "n_hidden_random": N_HIDDEN_RANDOM, "scale_random": SCALE_RANDOM, "t_end": t_end, "seed": seed}
    data = {"t": t, "maps_theory": m_th, "maps_sim_mean": m_sim.mean(0), "t_random": rrun.times,
            "maps_random_theory_mean": mr_th.mean(0), "maps_random_sim_mean": mr_sim.mean(0),
            "eig_theory": eig_th, "eig_sim_mean": eig_sim.mean(0)}
    return save(fig, {"params": params, "data": data, "agreement": agreement}, name=NAME, out=out, quick=quick)
