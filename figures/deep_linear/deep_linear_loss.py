"""(b) Training loss of depth 1-4 linear networks: plateaus and sudden drops.

Decoupled initialisation (every mode at product strength ``U0``, random hidden frames),
for which the closed form is exact from t = 0: ``L(t) = tr(Syy)/2 - sum_a s_a u_a(t)
+ sum_a u_a(t)^2 / 2`` built from :meth:`idealnets.theory.deep_linear.DeepLinearTheory.loss`.
Shallow networks (D = 1) learn every mode at once; deeper ones sit on plateaus and drop
suddenly, one mode at a time, strongest first (Saxe et al. 2014, Fig. 2).
"""
from __future__ import annotations

import numpy as np

from idealnets.simulate.deep_linear import train
from idealnets.theory.deep_linear import DeepLinearTheory, learning_time

from .._common import COLORS, DEFAULT_OUT, max_rel_dev, save, sim_markers, style, theory_line
from ._shared import S_MODES, mode_data

NAME = "deep_linear_loss"
TITLE = "Training loss: plateaus and sudden drops, depth 1-4 (decoupled init)"
SECTION = "Deep linear networks (Saxe, McClelland & Ganguli 2014)"
CAPTION = (
    "**Training loss** with plateaus and sudden drops, one per mode; within "
    "{agreement[max_rel_dev_D2]:.1%} (D=2), {agreement[max_rel_dev_D3]:.1%} (D=3) and "
    "{agreement[max_rel_dev_D4]:.1%} (D=4); {agreement[max_rel_dev_D1]:.1%} for D=1, a "
    "discretisation error at late times."
)
# Tolerance the test suite holds each agreement value to, and the test; read by figures/gallery.py for the
# paper's agreement table. D = 1: every mode relaxes at rate 1, GD's excess loss (1 - lr)^{2k} against
# e^{-2t} differs by the relative 1 - e^{-k lr^2} ~ lr t, largest where the comparison stops (the floor at 1%
# of the initial loss, t = ln(100)/2 = 2.3): 0.04 * 2.3 = 0.092 at lr = 0.04 (kappa 0.02 of the stable 2).
TOLERANCES = {
    "max_rel_dev_D1": (0.1, "tests/test_records.py::test_records_within_tolerances",
        "O(lr): relative lr t = 0.092 at the 1% floor (t = 2.3), lr = 0.04"),
}

DEPTHS = (1, 2, 3, 4)
U0 = 1e-3     # initial product strength of every mode
WIDTH = 8
KAPPA = 0.02  # lr = KAPPA * stable limit (quick mode: KAPPA_QUICK)
KAPPA_QUICK = 0.05


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    import matplotlib.pyplot as plt

    style()
    kappa = KAPPA_QUICK if quick else KAPPA
    E, R = (4, 80) if quick else (16, 160)
    X, Y = mode_data(seed=0)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    data, agreement = {}, {}
    for k, D in enumerate(DEPTHS):
        th = DeepLinearTheory(X, Y, depth=D, u0=U0)
        lr = kappa * th.stable_lr()
        t_end = 1.3 * float(learning_time(S_MODES[-1], U0, 0.99 * S_MODES[-1], D))
        run = train(X, Y, D, WIDTH, E, "decoupled", U0, lr, int(np.ceil(t_end / lr)), record=R,
                    device=device, seed=seed + D, desc=f"loss D={D}")
        t = run.times
        L_th = th.loss(t)
        L_min = th.loss(np.inf)
        c = COLORS[k]
        tt = np.where(t > 0, t, np.nan)
        theory_line(ax, tt, L_th - L_min, color=c, label=f"D = {D}")
        sim_markers(ax, tt, run.losses - L_min, color=c, ms=3.0)
        agreement[f"max_rel_dev_D{D}"] = max_rel_dev(L_th - L_min, run.losses - L_min, floor=1e-2 * L_th[0])
        data[f"D{D}"] = {"t": t, "theory": L_th, "sim_mean": run.losses.mean(0), "sim_sd": run.losses.std(0),
                         "lr": lr, "L_min": L_min}
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-3 * (0.5 * np.sum(S_MODES**2)), 1.3 * 0.5 * np.sum(S_MODES**2))
    ax.set_xlabel(r"time $t/\tau$ (= lr $\times$ step)")
    ax.set_ylabel(r"excess training loss $L(t) - L^*$")
    ax.plot([], [], "o", mfc="white", mec="k", label="trained (mean $\\pm$ sd)")
    ax.legend(loc="lower left", ncol=1)
    ax.set_title(f"modes $s$ = {', '.join(f'{v:g}' for v in S_MODES)}; $u_0$ = {U0:g}")
    fig.tight_layout()
    params = {"depths": DEPTHS, "u0": U0, "width": WIDTH, "kappa": kappa, "n_networks": E, "s": S_MODES,
              "seed": seed}
    return save(fig, {"params": params, "data": data, "agreement": agreement}, name=NAME, out=out, quick=quick)
