"""One shared head vs one head per task (figure d).

An erf committee (K = M = 2) learns teacher 1 then teacher 2 (feature similarity gamma, equal readouts),
either with a single readout shared by both tasks or with a new readout for task 2 (Lee, Goldt & Saxe
2021). Predicted: the many-task ODE (theory.continual.many_teachers) with ``heads="shared"`` or
``"per_task"``; markers: online SGD, with the ODE from each network's own initial order parameters
for the agreement numbers.
"""
from __future__ import annotations

import numpy as np

from idealnets.theory.continual.many_teachers import MultiTeacherODE, TaskSchedule, teacher_family

from .._common import COLORS, DEFAULT_OUT, save, sim_markers, style, theory_line
from ._shared import SECTION as _SECTION
from ._shared import eps_on, sgd_and_ode, typical_init

NAME = "replay_heads"
TITLE = "One shared head vs one head per task: forgetting vs feature similarity"
SECTION = _SECTION
CAPTION = ("**Shared vs separate heads.** Forgetting of task 1 after learning task 2 (erf committee, K = M = 2, "
           "equal teacher readouts) vs the feature similarity $\\gamma$: largest at $\\gamma$ = "
           "{agreement[peak_gamma_per_task]:.2f} with one head per task ({agreement[peak_forgetting_per_task]:.3f}) "
           "and at $\\gamma$ = {agreement[peak_gamma_shared]:.2f} with a shared head "
           "({agreement[peak_forgetting_shared]:.3f}), zero for identical teachers. "
           "ODE (lines) vs online SGD at N = {params[N]} (markers): max deviation in forgetting "
           "{agreement[forgetting_max_abs_dev]:.2g}.")
TOLERANCES = {
    "forgetting_max_abs_dev": (0.05, "tests/test_records.py::test_records_within_tolerances",
                               "finite size: N^-1/2 = 0.045 at N = 500 (SGD vs ODE from the same start)"),
}

K = M = 2
LR = 1.0
H0 = 1.0
HEADS = ("per_task", "shared")


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    import matplotlib.pyplot as plt

    style()
    N = 50 if quick else 500
    E = 1 if quick else 3
    a1 = a2 = 5.0 if quick else 12.0
    gammas_line = np.linspace(0, 1, 3 if quick else 11)
    gammas_mark = (0.5,) if quick else (0.0, 0.5, 0.9)
    sched = TaskSchedule.blocks([0, 1], [a1, a2])
    alpha = np.linspace(0, a1 + a2, 25 if quick else 97)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.0))
    agreement, data, devs = {}, {}, []
    for j, heads in enumerate(HEADS):
        F = []
        for g in gammas_line:
            T, vs = teacher_family(2, M, g, 1.0)
            Q0, R0 = typical_init(K, 2 * M, 1000, seed, T)
            tr = MultiTeacherODE(K, M, LR, T, vs, heads=heads).integrate(Q0, R0, H0 * np.ones(K), sched,
                                                                         alpha_eval=alpha)
            F.append(tr.forgetting(0, a1))
        F = np.array(F)
        label = "one head per task" if heads == "per_task" else "one shared head"
        theory_line(axes[0], gammas_line, F, color=COLORS[j], label=f"ODE, {label}")
        k = int(np.argmax(F))
        agreement[f"peak_gamma_{heads}"] = float(gammas_line[k])
        agreement[f"peak_forgetting_{heads}"] = float(F[k])
        data[heads] = {"gamma": gammas_line, "forgetting_ode": F}
        F_sim, F_ode = [], []
        for i, g in enumerate(gammas_mark):
            run, trs = sgd_and_ode(K=K, M=M, n_tasks=2, gamma=g, schedule=sched, N=N, E=E, seed=seed + 10 * i,
                                   lr=LR, h0=H0, device=device, record=10 if quick else 25, heads=heads)
            i1 = int(np.searchsorted(run.times, a1))
            e_ode = np.stack([eps_on(x, run.times) for x in trs])
            F_sim.append(run.losses[:, -1, 0] - run.losses[:, i1, 0])
            F_ode.append(e_ode[:, -1, 0] - e_ode[:, i1, 0])
            if g == gammas_mark[min(1, len(gammas_mark) - 1)]:
                for t in range(2):
                    col = COLORS[2 + 2 * j + t]
                    theory_line(axes[1], run.times[1:], e_ode[:, 1:, t].mean(0), color=col,
                                label=f"task {t + 1}, {label}: ODE")
                    sim_markers(axes[1], run.times[1:], run.losses[:, 1:, t], color=col, ms=3)
                axes[1].set_title(f"errors over time, $\\gamma$ = {g:g} (markers: SGD)", fontsize=10)
        F_sim, F_ode = np.array(F_sim), np.array(F_ode)
        sim_markers(axes[0], np.array(gammas_mark), F_sim.T, color=COLORS[j], label=f"SGD, N = {N}, {label}")
        devs.append(float(np.abs(F_sim - F_ode).max()))
        data[heads].update({"gamma_sim": gammas_mark, "forgetting_sim": F_sim.mean(1),
                            "forgetting_ode_same_init": F_ode.mean(1)})
    agreement["forgetting_max_abs_dev"] = float(max(devs))
    ax = axes[0]
    ax.set_xlabel(r"feature similarity $\gamma$")
    ax.set_ylabel(r"forgetting $\epsilon_1(\alpha_1+\alpha_2) - \epsilon_1(\alpha_1)$")
    ax.set_title(f"K = M = {K}, $\\alpha_1 = \\alpha_2$ = {a1:g}, equal readouts", fontsize=10)
    ax.legend()
    ax = axes[1]
    ax.set_yscale("log")
    ax.axvline(a1, color="0.6", lw=0.8)
    ax.set_xlabel(r"$\alpha$ = steps / N")
    ax.set_ylabel(r"generalisation error $\epsilon_t$")
    ax.legend(fontsize=7, loc="lower left")
    fig.suptitle(TITLE, fontsize=10)
    fig.tight_layout()
    rec = {"params": {"K": K, "M": M, "N": N, "E": E, "lr": LR, "h0": H0, "alpha_1": a1, "alpha_2": a2,
                      "seed": seed},
           "data": data, "agreement": agreement}
    return save(fig, rec, name=NAME, out=out, quick=quick)
