"""(b) Progressive differentiation: mode strengths over time, theory vs trained, deep vs shallow.

Each mode's strength in the trained networks' map, u_alpha = U_alpha^T Y_hat V_alpha,
normalised by its final value s_alpha/c. Deep (D = 2) networks learn the modes
one after another in sigmoidal stages, broad distinctions first; a shallow
(D = 1) network learns all of them together along one exponential.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from idealnets.theory.semantic import crossing_times

from .._common import COLORS, DEFAULT_OUT, max_abs_dev, save, sim_markers, style, theory_line
from . import _shared as S

NAME = "semantic_modes"
TITLE = "Progressive differentiation: mode strengths over learning"
SECTION = "Semantic development (Saxe, McClelland & Ganguli 2019; Saxe, Nelli & Summerfield 2021, Fig. 5)"
CAPTION = (
    "**Progressive differentiation**: deep networks learn broad distinctions first, in stages; "
    "shallow ones learn all modes in one exponential. Half-learning times within "
    "{agreement[D2_half_time_max_rel_dev]:.1%}."
)
# Tolerance the test suite holds each agreement value to (at the test's smaller size), and the
# test; read by figures/gallery.py for the paper's agreement table.
TOLERANCES = {
    # half-learning (differentiation) times of a width-64 random-init ensemble: RTOL_RANDOM_INIT
    "D2_half_time_max_rel_dev": (0.04, "tests/test_semantic.py::test_random_init_ensemble_approaches_decoupled_theory",
                                 "random vs decoupled init: u0 spread sqrt(2/n_h)/ln(s/cu0)/sqrt(E); GD shift s lr/2 "
                                 "~0.5%"),
}
LABELS = ["1 living thing", "2 animal / plant", "3 bird/fish, tree/flower", "4 (3 and 4 mixed)", "5", "6", "7",
          "8 (individual items)"]


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    style()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    agreement, data = {}, {}
    tt = np.geomspace(0.05, S.T_END, 400)
    for ax, depth in zip(axes, (2, 1)):
        th = S.lt_theory(depth)
        run = S.linear_run(depth, quick, seed, device)
        u_sim = th.project(run.maps) / th.u_final  # (E, R, modes)
        u_th = th.mode_strengths(tt) / th.u_final
        keep = run.times > 0
        for a in range(th.n_modes):
            c = COLORS[a % len(COLORS)]
            theory_line(ax, tt, u_th[:, a], color=c, label=LABELS[a] if depth == 2 else None)
            sim_markers(ax, run.times[keep][::2], u_sim[:, keep, a][:, ::2], color=c, ms=3.2)
        ax.set_xscale("log")
        ax.set_xlabel("training time t / tau  (t = lr x steps)")
        ax.set_title(f"{'deep' if depth > 1 else 'shallow'} linear network, D = {depth}")
        if depth == 1:
            ax.text(0.97, 0.3, "all 8 modes share one\nexponential (curves coincide)", transform=ax.transAxes,
                    ha="right", fontsize=9)
        dev = max_abs_dev(th.mode_strengths(run.times) / th.u_final, u_sim.mean(0))
        agreement[f"D{depth}_max_abs_dev_normalised_u"] = dev
        if depth == 2:
            t_half_sim = crossing_times(run.times, th.project(run.maps), th.u_final)
            t_half_th = th.differentiation_times()
            agreement["D2_half_time_max_rel_dev"] = float(np.max(np.abs(t_half_sim.mean(0) / t_half_th - 1)))
            data["t_half_theory"], data["t_half_sim"] = t_half_th, t_half_sim
        data[f"D{depth}"] = {"t": run.times, "u_sim_mean": u_sim.mean(0), "u_sim_sd": u_sim.std(0), "t_theory": tt,
                             "u_theory": u_th}
    axes[0].set_ylabel("mode strength u_alpha(t) / (s_alpha / c)")
    axes[0].legend(loc="upper left", title="lines: theory, markers: trained", fontsize=7.5, title_fontsize=7.5)
    fig.suptitle(TITLE)
    fig.tight_layout()
    record = {
        "params": {"hidden": S.NH, "init_scale": S.INIT_SCALE, "u0": S.U0, **S.sizes(quick)},
        "data": data,
        "agreement": agreement,
    }
    return save(fig, record, name=NAME, out=out, quick=quick)
