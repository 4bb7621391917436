"""Replay against forgetting: task 1 then task 2 with a replay probability p of task 1 (figure b).

A soft committee (erf, K = M = 2, one head per task) learns teacher 1 for alpha_1, then teacher 2 for
alpha_2 while a fraction p of the examples still comes from teacher 1. Predicted: the many-task ODE,
whose drift in phase 2 is the mixture (1 - p) f_2 + p f_1 of the two tasks' drifts
(theory.continual.many_teachers). Markers: online SGD at N, with the ODE integrated from each
network's own initial order parameters for the agreement numbers.
"""
from __future__ import annotations

import numpy as np

from idealnets.theory.continual.many_teachers import MultiTeacherODE, TaskSchedule, teacher_family

from .._common import COLORS, DEFAULT_OUT, save, sim_markers, style, theory_line
from ._shared import SECTION as _SECTION
from ._shared import eps_on, first_below, sgd_and_ode, typical_init

NAME = "replay_forgetting"
TITLE = "Replay against forgetting: forgetting and the cost in learning speed vs replay probability"
SECTION = _SECTION
CAPTION = ("**Replay against forgetting.** An erf committee (K = M = 2, one head per task) learns teacher 1, then "
           "teacher 2 (feature similarity $\\gamma$ = {params[gamma]}) while a fraction p of the examples replays "
           "teacher 1. The ODE's phase-2 drift is the mixture (1 - p) f_2 + p f_1. Forgetting falls from "
           "{agreement[forgetting_p0]:.3f} (p = 0) to {agreement[forgetting_pmax]:.3f} (p = {params[p_max]}), while "
           "the time for task 2's error to halve grows by a factor {agreement[slowdown_pmax]:.2f}; online SGD at N = "
           "{params[N]} (markers) agrees with the ODE from the same initial conditions to "
           "{agreement[forgetting_max_abs_dev]:.2g} in forgetting.")
TOLERANCES = {
    "forgetting_max_abs_dev": (0.05, "tests/test_records.py::test_records_within_tolerances",
                               "finite size: N^-1/2 = 0.045 at N = 500 (SGD vs ODE from the same start)"),
    "slowdown_pmax": ((1.0, float("inf")), "tests/test_records.py::test_records_within_tolerances",
                      "the caption's claim: replay slows the learning of task 2 (a factor > 1)"),
}

K = M = 2
LR = 1.0
H0 = 1.0
GAMMA = 0.5
LEVEL = 0.5  # task 2 "learned" when its error falls to this fraction of its value at the switch


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    import matplotlib.pyplot as plt

    style()
    N = 100 if quick else 500
    E = 2 if quick else 4
    a1 = a2 = 6.0 if quick else 12.0
    ps_line = np.linspace(0.0, 0.6, 3 if quick else 13)
    ps_mark = (0.4,) if quick else (0.0, 0.2, 0.4, 0.6)
    T, vs = teacher_family(2, M, GAMMA, 1.0)
    ode = MultiTeacherODE(K, M, LR, T, vs)
    Q0, R0 = typical_init(K, 2 * M, 1000, seed)
    alpha = np.linspace(0, a1 + a2, 41 if quick else 241)
    F, L, curves = [], [], {}
    for p in ps_line:
        tr = ode.integrate(Q0, R0, H0 * np.ones(K), TaskSchedule.blocks([0, 1], [a1, a2], replay=p), alpha_eval=alpha)
        i1 = tr.at(a1)
        F.append(tr.eps[-1, 0] - tr.eps[i1, 0])
        L.append(first_below(tr.alpha[i1:] - a1, tr.eps[i1:, 1], LEVEL * tr.eps[i1, 1]))
        curves[f"{p:.2f}"] = tr.eps
    F, L = np.array(F), np.array(L)
    fig, axes = plt.subplots(1, 3, figsize=(11.2, 4.0))
    theory_line(axes[0], ps_line, F, color=COLORS[0], label="ODE")
    theory_line(axes[1], ps_line, L / L[0], color=COLORS[1], label="ODE")
    agreement = {"forgetting_p0": float(F[0]), "forgetting_pmax": float(F[-1]),
                 "slowdown_pmax": float(L[-1] / L[0])}
    F_sim, F_ode, L_sim, devs = [], [], [], []
    for j, p in enumerate(ps_mark):
        s = TaskSchedule.blocks([0, 1], [a1, a2], replay=p)
        run, trs = sgd_and_ode(K=K, M=M, n_tasks=2, gamma=GAMMA, schedule=s, N=N, E=E, seed=seed + 10 * j, lr=LR,
                               h0=H0, device=device, record=12 if quick else 30)
        i1 = int(np.searchsorted(run.times, a1))
        e_ode = np.stack([eps_on(tr, run.times) for tr in trs])  # (E, R, 2)
        F_sim.append(run.losses[:, -1, 0] - run.losses[:, i1, 0])
        F_ode.append(e_ode[:, -1, 0] - e_ode[:, i1, 0])
        m = run.losses[:, i1:, 1].mean(0)
        L_sim.append(first_below(run.times[i1:] - a1, m, LEVEL * m[0]))
        devs.append(float(np.abs(run.losses - e_ode).max()))
        if p in (ps_mark[0], ps_mark[-1]):
            for t in range(2):
                col = COLORS[2 + t] if p == 0.0 else COLORS[4 + t]
                theory_line(axes[2], run.times[1:], e_ode[:, 1:, t].mean(0), color=col,
                            label=f"task {t + 1}, p = {p:g}: ODE")
                sim_markers(axes[2], run.times[1:], run.losses[:, 1:, t], color=col, ms=3,
                            label=f"task {t + 1}, p = {p:g}: SGD")
    F_sim, F_ode = np.array(F_sim), np.array(F_ode)
    sim_markers(axes[0], np.array(ps_mark), F_sim.T, color=COLORS[0], label=f"SGD, N = {N}")
    axes[1].plot(ps_mark, np.array(L_sim) / L[0], "o", mfc="white", mec=COLORS[1], label=f"SGD, N = {N} (mean)")
    agreement["forgetting_max_abs_dev"] = float(np.abs(F_sim - F_ode).max())
    agreement["eps_max_abs_dev"] = float(max(devs))
    agreement["learning_time_p0"] = float(L[0])
    ax = axes[0]
    ax.set_xlabel("replay probability p")
    ax.set_ylabel(r"forgetting $\epsilon_1(\alpha_1+\alpha_2) - \epsilon_1(\alpha_1)$")
    ax.set_title(f"K = M = {K}, $\\gamma$ = {GAMMA:g}, $\\alpha_1 = \\alpha_2$ = {a1:g}", fontsize=10)
    ax.legend()
    ax = axes[1]
    ax.set_xlabel("replay probability p")
    ax.set_ylabel("time for $\\epsilon_2$ to halve / its p = 0 value")
    ax.legend()
    ax = axes[2]
    ax.set_yscale("log")
    ax.axvline(a1, color="0.6", lw=0.8)
    ax.set_xlabel(r"$\alpha$ = steps / N")
    ax.set_ylabel(r"generalisation error $\epsilon_t$")
    fig.legend(*ax.get_legend_handles_labels(), loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=4,
               fontsize=7, title="right panel")
    fig.suptitle(TITLE, fontsize=10)
    fig.tight_layout()
    rec = {"params": {"K": K, "M": M, "N": N, "E": E, "lr": LR, "h0": H0, "gamma": GAMMA, "alpha_1": a1,
                      "alpha_2": a2, "level": LEVEL, "p_max": float(ps_line[-1]), "seed": seed},
           "data": {"p": ps_line, "forgetting_ode": F, "learning_time_ode": L, "p_sim": ps_mark,
                    "forgetting_sim": F_sim.mean(1), "forgetting_ode_same_init": F_ode.mean(1),
                    "learning_time_sim": L_sim, "alpha": alpha, "eps_ode": curves},
           "agreement": agreement}
    return save(fig, rec, name=NAME, out=out, quick=quick)
