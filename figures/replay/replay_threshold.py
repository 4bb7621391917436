"""A sequence of tasks with threshold switching, with and without replay (figure c).

Four teachers (feature similarity gamma, equal readouts) are learned in turn, twice round, by an erf
committee with one head per task; the student moves on to the next task as soon as the current
task's error falls to a threshold. Predicted: the many-task ODE, whose switches are the roots of
eps_current(alpha) - threshold located by the integrator's event finder
(theory.continual.many_teachers). Markers: online SGD, each network switching on its own when its
error (computed exactly from its order parameters every N/100 steps) reaches the threshold; the ODE
integrated from each network's own initial order parameters gives the agreement numbers.
"""
from __future__ import annotations

import numpy as np

from idealnets.theory.continual.many_teachers import MultiTeacherODE, TaskSchedule, teacher_family

from .._common import COLORS, DEFAULT_OUT, save, sim_markers, style, theory_line
from ._shared import SECTION as _SECTION
from ._shared import eps_on, sgd_and_ode, typical_init

NAME = "replay_threshold"
TITLE = "A sequence of tasks with threshold switching: errors of all tasks over time"
SECTION = _SECTION
CAPTION = ("**Threshold switching through {params[n_tasks]} tasks.** An erf committee (K = M = 2, one head per "
           "task) moves to the next teacher (feature similarity $\\gamma$ = {params[gamma]}) when the current "
           "task's error falls to {params[threshold]}, twice round the tasks. Without replay each switch "
           "undoes the previous tasks; with replay p = {params[p_replay]} they stay at "
           "{agreement[final_mean_eps_replay]:.3f} on average at the end instead of "
           "{agreement[final_mean_eps_no_replay]:.3f}, and the first round takes {agreement[round_time_replay]:.1f} "
           "instead of {agreement[round_time_no_replay]:.1f}. Online SGD at N = {params[N]} (markers) switches "
           "within {agreement[switch_alpha_max_abs_dev]:.2g} (in $\\alpha$) of the ODE from the same initial "
           "conditions.")
# Untested: the quoted ODE values state no numeric claim, and the switch-time gap's finite-size scale,
# N^-1/2 / |d eps/d alpha| at the switch (0.045 / 0.0032 = 14 in alpha at the flattest switch with replay,
# accumulated over seven switches), bounds nothing useful.
TOLERANCES = {}

K = M = 2
N_TASKS = 4
LR = 1.0
H0 = 1.0
GAMMA = 0.3
THRESHOLD = 0.05
P_REPLAY = 0.2


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    import matplotlib.pyplot as plt

    style()
    N = 50 if quick else 500
    E = 1 if quick else 3
    amax = 10.0 if quick else 60.0
    order = tuple(range(N_TASKS)) * 2
    T, vs = teacher_family(N_TASKS, M, GAMMA, 1.0)
    ode = MultiTeacherODE(K, M, LR, T, vs)
    Q0, R0 = typical_init(K, N_TASKS * M, 1000, seed)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    agreement, data, sw_devs, eps_devs = {}, {}, [], []
    for j, (p, key) in enumerate(((0.0, "no_replay"), (P_REPLAY, "replay"))):
        s = TaskSchedule.until_threshold(order, 0.2 if quick else THRESHOLD, amax, replay=p)
        tr = ode.integrate(Q0, R0, H0 * np.ones(K), s, alpha_eval=np.linspace(0, amax, 61 if quick else 601))
        ax = axes[j]
        for t in range(N_TASKS):
            theory_line(ax, tr.alpha, tr.eps[:, t], color=COLORS[t], label=f"task {t + 1}: ODE")
        for a in tr.switch_alpha[1:]:
            ax.axvline(a, color="0.75", lw=0.6, zorder=0)
        agreement[f"final_mean_eps_{key}"] = float(tr.eps[-1].mean())
        # time of the first round (alpha_max if it did not finish: only in the quick mode's short run)
        agreement[f"round_time_{key}"] = float(tr.switch_alpha[N_TASKS]) if tr.switch_alpha.size > N_TASKS else amax
        data[key] = {"alpha": tr.alpha, "eps_ode": tr.eps, "switch_alpha_ode": tr.switch_alpha}
        run, trs = sgd_and_ode(K=K, M=M, n_tasks=N_TASKS, gamma=GAMMA, schedule=s, N=N, E=E, seed=seed + 10 * j,
                               lr=LR, h0=H0, device=device, record=20 if quick else 60)
        for t in range(N_TASKS):
            sim_markers(ax, run.times, run.losses[:, :, t], color=COLORS[t], ms=3,
                        label=f"task {t + 1}: SGD, N = {N}" if t == 0 else None)
        e_ode = np.stack([eps_on(x, run.times) for x in trs])
        eps_devs.append(float(np.abs(e_ode - run.losses).max()))
        for e, x in enumerate(trs):
            nb = min(x.switch_alpha.size, np.isfinite(run.switch_alpha[e]).sum())
            if nb > 1:
                sw_devs.append(float(np.abs(x.switch_alpha[1:nb] - run.switch_alpha[e, 1:nb]).max()))
        data[key].update({"alpha_sim": run.times, "eps_sim": run.losses.mean(0), "switch_alpha_sim":
                          run.switch_alpha})
        ax.set_yscale("log")
        ax.set_xlabel(r"$\alpha$ = steps / N")
        ax.set_title(f"replay p = {p:g}" + ("" if p else " (no replay)"), fontsize=10)
    agreement["switch_alpha_max_abs_dev"] = float(max(sw_devs)) if sw_devs else float("nan")
    agreement["eps_max_abs_dev"] = float(max(eps_devs))
    axes[0].set_ylabel(r"generalisation error $\epsilon_t$")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=5,
               fontsize=7)
    fig.suptitle(TITLE + f" (threshold {THRESHOLD:g}, $\\gamma$ = {GAMMA:g})", fontsize=10)
    fig.tight_layout()
    rec = {"params": {"K": K, "M": M, "n_tasks": N_TASKS, "N": N, "E": E, "lr": LR, "h0": H0, "gamma": GAMMA,
                      "threshold": THRESHOLD, "p_replay": P_REPLAY, "alpha_max": amax, "order": order, "seed": seed},
           "data": data, "agreement": agreement}
    return save(fig, rec, name=NAME, out=out, quick=quick)
