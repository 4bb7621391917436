"""(c) Learning-rate dependence of online SGD, K = M = 2, including too large a rate.

Left: eps_g(alpha) for several learning rates, all trained in ONE batched run
(one rate per network). Right: eps_g at the end of training versus the rate:
ODE on a fine grid of rates (from the first network's initial overlaps) and
SGD (mean +- sd over networks); the dotted line is ``stable_lr``, the
rate above which perfect learning is linearly unstable (Saad & Solla 1995):
beyond it the student stays stuck at a high error.

The ODE of the whole grid of rates is one vectorised integration
(``CommitteeGrid``, Dormand-Prince 5(4) with each rate's own step control) at
the tolerances of a single solve (rtol 1e-11, atol 1e-13): 5x cheaper than a
DOP853 solve per rate (19 -> 3.4 CPU s), and as accurate (within 1e-4 relative of a rtol 1e-13
reference at the smallest final errors, ~1e-10, where the DOP853 solves were
off by up to 8e-4).
"""
from __future__ import annotations

import numpy as np

from idealnets.theory.committee import ODE_ATOL, ODE_RTOL, stable_lr
from idealnets.theory.committee_grid import CommitteeGrid

from ._shared import paired
from .._common import COLORS, DEFAULT_OUT, max_abs_dev, max_rel_dev, save, sim_markers, style, theory_line

NAME = "committee_learning_rate"
TITLE = "Learning-rate dependence of online SGD in a K = M = 2 erf network, ODE vs simulation"
SECTION = "Online SGD in two-layer committee machines (Saad & Solla 1995; Goldt et al. 2019)"
CAPTION = (
    "**Learning rate**: eps_g(alpha) for lr = 0.5 to 3 trained in one batched run (one rate per network, "
    "N = {params[N]}), and the final error vs lr: ODE line, SGD markers. Above max_learning_rate = "
    "{agreement[max_learning_rate]:.2f} perfect learning is unstable and the student stays at a high error. "
    "Final-error deviation {agreement[lr0.5_final_abs_dev]:.1e} (lr 0.5), {agreement[lr2_final_abs_dev]:.1e} (lr 2), "
    "{agreement[lr3_final_abs_dev]:.1e} (lr 3); diverged networks: {agreement[lr3_diverged_seeds]} at lr 3."
)

# Final-error deviations: 3 standard errors of the 4-seed mean, from the sd of the SGD finals in the record.
_RECORD_TEST = "tests/test_records.py::test_records_within_tolerances"
TOLERANCES = {
    "max_learning_rate": ((2.0, 3.0), _RECORD_TEST, "lies between the rates seen to converge (lr 2) and to stay "
                          "stuck (lr 3)"),
    "lr0.5_final_abs_dev": (0.004, _RECORD_TEST, "3 SE of the 4-seed mean (sd of the SGD finals 2.1e-3)"),
    "lr2_final_abs_dev": (7e-10, _RECORD_TEST, "3 SE of the 4-seed mean (sd of the SGD finals 4.3e-10)"),
    "lr3_final_abs_dev": (0.06, _RECORD_TEST, "3 SE of the 4-seed mean (sd of the SGD finals 0.037)"),
    "lr3_diverged_seeds": (0.5, _RECORD_TEST, "above stable_lr the student stays stuck at a high error, none "
                           "diverges"),
}

K = M = 2
LRS = (0.5, 1.0, 2.0, 3.0)
INIT_STD = 1.0
FULL = dict(N=500, seeds_per_lr=4, alpha_max=200.0, grid=np.linspace(0.1, 3.5, 35))
QUICK = dict(N=100, seeds_per_lr=2, alpha_max=40.0, grid=np.linspace(0.2, 3.4, 9))


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    import matplotlib.pyplot as plt

    style()
    P = QUICK if quick else FULL
    S = P["seeds_per_lr"]
    lrs = tuple(float(lr) for lr in np.repeat(LRS, S))
    pr = paired(P["N"], K, M, lrs, P["alpha_max"], n_networks=len(lrs), init_scale=INIT_STD, seed=seed + 7,
                device=device, raise_on_divergence=False)
    run = pr.run
    a = run.times
    m = a > 0
    lr_max = stable_lr(K)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(9.6, 3.7))
    data, agreement = {}, {}
    finals_sim = []
    for i, lr in enumerate(LRS):
        sl = slice(i * S, (i + 1) * S)
        col = COLORS[i]
        th = np.nanmean(pr.eps_ode[sl], axis=0)
        sim = run.losses[sl]
        tag = " (> max)" if lr > lr_max else ""
        theory_line(ax, a[m], th[m], color=col, label=f"lr = {lr:g}{tag}")
        sim_markers(ax, a[m], sim[:, m], color=col, ms=3.5)
        finals_sim.append(sim[:, -1])
        ok = ~run.diverged[sl] & np.isfinite(sim).all(axis=1)
        if ok.any():
            agreement[f"lr{lr:g}_max_rel_dev_floor1e-2"] = max_rel_dev(th[m], sim[ok][:, m].mean(0), floor=1e-2)
            agreement[f"lr{lr:g}_final_abs_dev"] = max_abs_dev(th[-1], sim[ok][:, -1].mean())
        agreement[f"lr{lr:g}_diverged_seeds"] = int((~ok).sum())
        data[f"lr{lr:g}"] = dict(alpha=a, eps_ode=th, eps_test=sim)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$\alpha$ = steps / N")
    ax.set_ylabel(r"$\epsilon_g$")
    ax.set_title(f"K = M = {K}, N = {P['N']} ({S} seeds per rate, one batched run)", fontsize=9.5)
    ax.legend(loc="lower left", fontsize=7.5)

    # right: final error versus learning rate
    # one vectorised integration over the grid of rates, all from the first network's start (a rate whose
    # order parameters blow up gets NaN)
    ode_final = CommitteeGrid(K, M, P["grid"]).integrate(np.array([0.0, P["alpha_max"]]), run.Q0[0], run.R0[0],
                                                         rtol=ODE_RTOL, atol=ODE_ATOL).eps_g[:, -1]
    theory_line(ax2, P["grid"], ode_final, color="0.2", label=f"ODE at $\\alpha$ = {P['alpha_max']:g}")
    for i, lr in enumerate(LRS):
        f = finals_sim[i]
        f = f[np.isfinite(f) & ~run.diverged[i * S:(i + 1) * S]]
        if f.size:
            ax2.errorbar([lr], [f.mean()], yerr=[f.std()], fmt="o", mfc="white", mec=COLORS[i], ecolor=COLORS[i],
                         mew=1.2, zorder=3)
    ax2.axvline(lr_max, color="0.4", ls=":", lw=1.2, label=f"stable_lr = {lr_max:.2f}")
    ax2.set_yscale("log")
    ax2.set_xlabel("learning rate lr")
    ax2.set_ylabel(r"$\epsilon_g$ at end of training")
    ax2.legend(loc="upper left", fontsize=7.5)
    fig.tight_layout()
    agreement["max_learning_rate"] = lr_max
    data["final_vs_lr"] = dict(lr_grid=P["grid"], eps_ode=ode_final, lrs=LRS, eps_sim=finals_sim)
    params = dict(K=K, M=M, lrs=LRS, init_std=INIT_STD, N=P["N"], seeds_per_lr=S, alpha_max=P["alpha_max"])
    return save(fig, dict(params=params, data=data, agreement=agreement), name=NAME, out=out, quick=quick)
