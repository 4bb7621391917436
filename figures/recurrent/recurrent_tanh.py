"""tanh (Elman) RNNs on the linear theory's task: a qualitative check.

Same three-mode leaky-integrator task as ``recurrent_modes`` (T = 6). Networks
``h_t = tanh(W_h h_{t-1} + W_x x_t)``, ``yhat = W_y h_T`` trained by BPTT from the same aligned
small init (N_h = 3) and from small random init (N_h = 16). Lines: the *linear* mode theory;
markers: tanh networks' weight-space strengths ``U_a^T W_y W_x V_a`` (for tanh this is the
small-signal gain of the lag-0 path, not the whole function). Small weights keep tanh near
its linear regime, so the order and timing of learning follow the linear theory; once the
hidden activity grows, saturation makes the tanh network need larger weights (its strengths
overshoot the linear targets) and its loss floor stays above zero. Reported: the ratio of
each mode's half-learning time (strength first reaching s_0/2), tanh over theory.
"""
from __future__ import annotations

import numpy as np

from idealnets.theory.measures import crossing_time
from idealnets.theory.recurrent import LinearRNNTheory

from .._common import COLORS, DEFAULT_OUT, save, sim_markers, style, theory_line
from ._shared import (B0, LR, LR_QUICK, MODES, SECTION, T_END, T_END_QUICK, T_MODES, aligned_run, lag_map_strengths,
                      modes_task, random_run)

NAME = "recurrent_tanh"
TITLE = "tanh RNNs on the leaky-integrator task vs the linear mode theory (qualitative)"
CAPTION = ("**tanh RNNs** on the same task: learning order and timing follow the linear theory while "
           "weights are small (half-learning times {agreement[t_half_ratio_min]:.2f}-"
           "{agreement[t_half_ratio_max]:.2f} of the linear prediction, aligned init); saturation then bends "
           "the curves (final loss {agreement[final_loss_tanh]:.3f} vs 0 for the linear network).")

_REC = "tests/test_records.py::test_records_within_tolerances"
#: bound, test, and where the bound comes from (read by figures/gallery.py for the agreement table); a
#: qualitative check (no theory for tanh networks), so the intervals are the caption's claims
_T_HALF = ((1.0, 1.5), _REC, "claim: tanh (gain <= 1) only slows learning; timing within 50% of the linear theory")
TOLERANCES = {
    "t_half_ratio_min": _T_HALF,
    "t_half_ratio_max": _T_HALF,
    "final_loss_tanh": ((0.01, float("inf")), _REC, "claim: saturation leaves a loss floor (linear: 2e-12 at t = 30)"),
}


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    import matplotlib.pyplot as plt

    style()
    lr = LR_QUICK if quick else LR
    t_end = T_END_QUICK if quick else T_END
    E, rec = (3, 30) if quick else (12, 60)
    X, Y, red = modes_task(seed=0)
    r = red.s.shape[1]
    th = LinearRNNTheory(X, Y, b0=B0, a0=0.0, c0=B0)
    run = aligned_run(X, Y, red, b0=B0, a0=0.0, c0=B0, n_hidden=r, n_networks=E, lr=lr, t_end=t_end, record=rec,
                      seed=seed, device=device, activation="tanh")
    _, rrun = random_run(X, Y, n_hidden=16, n_networks=E, scale=0.1, lr=lr, t_end=t_end, record=rec, seed=seed + 1,
                         device=device, activation="tanh")
    t = run.times
    tt = np.where(t > 0, t, np.nan)
    ttr = np.where(rrun.times > 0, rrun.times, np.nan)
    m = lag_map_strengths(run.weights, red.U, red.V, 1)[..., 0, :]  # (E, R, r)
    mr = lag_map_strengths(rrun.weights, red.U, red.V, 1)[..., 0, :]
    m_th = th.mode_maps(t)[:, 0]
    fig, axes = plt.subplots(1, 3, figsize=(11.5, 5.0))   # <= 11.5 in: legible at the text width
    ratios = []
    for a in range(r):
        c = COLORS[a]
        g, lam = MODES[a]
        for ax, tx, mm in ((axes[0], tt, m), (axes[1], ttr, mr)):
            theory_line(ax, tx, th.mode_maps(np.nan_to_num(tx))[:, 0, a], color=c,
                        label=f"mode {a + 1}: g={g:g}, leak={lam:g}" if ax is axes[0] else None)
            sim_markers(ax, tx, mm[:, :, a], color=c, ms=3, marker="s")
        s0 = red.s[0, a]
        # first time the strength reaches s0/2 (linear interpolation), NaN if never
        ratios.append(crossing_time(t, m[:, :, a].mean(0), s0 / 2, from_other_side=True)
                      / crossing_time(t, m_th[:, a], s0 / 2, from_other_side=True))
    for ax, ttl in ((axes[0], "(a) tanh, aligned init ($N_h$ = 3)"), (axes[1], "(b) tanh, random init ($N_h$ = 16)")):
        ax.set_xscale("log")
        ax.set_xlabel(r"time $t/\tau$ (= lr $\times$ step)")
        ax.set_title(ttl)
    axes[0].set_ylabel(r"lag-0 strength $U_\alpha^\top W_y W_x V_\alpha$")
    # the legends under the panels: inside, at print size they covered the curves
    axes[0].legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), frameon=False)
    theory_line(axes[2], tt, th.loss(t), color="k", label="linear theory")
    sim_markers(axes[2], tt, run.losses, color="C3", label="tanh, aligned", marker="s", ms=3)
    sim_markers(axes[2], ttr, rrun.losses, color="C0", label="tanh, random", marker="^", ms=3)
    axes[2].set_xscale("log")
    axes[2].set_yscale("log")
    axes[2].set_xlabel(r"time $t/\tau$")
    axes[2].set_ylabel("training loss")
    axes[2].set_title("(c) loss")
    axes[2].legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), frameon=False)
    fig.tight_layout()
    ratios = np.array(ratios)
    agreement = {"t_half_ratio_min": float(np.nanmin(ratios)), "t_half_ratio_max": float(np.nanmax(ratios)),
                 "final_loss_tanh": float(run.losses[:, -1].mean()),
                 "final_loss_tanh_random": float(rrun.losses[:, -1].mean()),
                 "final_loss_linear_theory": float(th.loss(t[-1]))}
    params = {"T": T_MODES, "modes_gain_leak": MODES, "b0": B0, "lr": lr, "n_networks": E, "t_end": t_end,
              "seed": seed}
    data = {"t": t, "strength_theory": m_th, "strength_tanh_mean": m.mean(0), "t_random": rrun.times,
            "strength_tanh_random_mean": mr.mean(0), "loss_theory": th.loss(t),
            "loss_tanh_mean": run.losses.mean(0), "loss_tanh_random_mean": rrun.losses.mean(0)}
    return save(fig, {"params": params, "data": data, "agreement": agreement}, name=NAME, out=out, quick=quick)
