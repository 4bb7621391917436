"""Sequential linear regression (Evron et al. 2022): forgetting after k tasks, exact projections vs GD.

Each task is a realisable regression problem (y = X^T w*, fewer samples than dimensions); training
to convergence from the previous weights is the projection onto the task's solution set
(theory.continual.sequential_regression). Predicted: the forgetting F(k) = mean over the tasks seen
so far of their losses, for cyclic and random orderings; and, for two one-sample tasks at angle
theta, the expected forgetting E F = cos^2 theta sin^2 theta / 2 (ours, averaging the projection
over w* ~ N(0, I)), which vanishes for identical and orthogonal tasks and is largest at 45 deg.
Matched: shallow students trained by full-batch GD on each task in turn (simulate.continual).
"""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import NullFormatter

from idealnets.simulate.continual import train_sequential_regression
from idealnets.theory.continual import cyclic_order, random_order, sequential_forgetting, sequential_regression

from .._common import COLORS, DEFAULT_OUT, max_abs_dev, save, sim_markers, style, theory_line

NAME = "continual_sequential_regression"
TITLE = "Sequential linear regression: forgetting after k tasks (Evron et al. 2022)"
SECTION = "Continual learning: interference, interleaving and schemas"
CAPTION = ("**Sequential regression.** Forgetting after k tasks ({params[n_tasks]} realisable tasks, N = "
           "{params[N]}, {params[P]} samples each) for cyclic and random orderings: exact projections (lines) vs "
           "students trained by GD on each task in turn (markers); max deviation "
           "{agreement[forgetting_max_abs_dev]:.1e}. Right: two one-sample tasks at angle $\\theta$; forgetting "
           "is zero for identical and orthogonal tasks and largest at 45 deg (theory $\\cos^2\\theta\\sin^2\\theta/2$, "
           "trained students within {agreement[angle_max_abs_dev_over_sem]:.1f} standard errors).")

# Tolerance the test suite holds each agreement value to (at the test's smaller size), and the
# test; read by figures/gallery.py for the paper's agreement table.
TOLERANCES = {
    # GD to convergence on each task equals the Evron projections: ATOL_PROJ
    "forgetting_max_abs_dev": (1e-8, "tests/test_continual.py::test_sequential_regression_equals_gd_to_convergence",
                               "GD to convergence is the projection: 300 steps contract the error by <= 0.71^300"),
    # the trained students' mean forgetting vs cos^2 sin^2 / 2, in standard errors of the mean over the 300 w*
    "angle_max_abs_dev_over_sem": (4.0, "tests/test_records.py::test_records_within_tolerances",
                                   "4 SE of the mean over 300 teachers w* (max over 5 angles)"),
}

N = 20
N_TASKS = 5
P = 3
K = 60
STEPS = 300


def _tasks(rng):
    w_star = rng.standard_normal(N)
    Xs = [rng.standard_normal((N, P)) for _ in range(N_TASKS)]
    return Xs, [X.T @ w_star for X in Xs]


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    import matplotlib.pyplot as plt

    style()
    E = 3 if quick else 12
    k_max = 20 if quick else K
    steps = 100 if quick else STEPS
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.0))
    data, agreement = {}, {}
    ks = np.arange(1, k_max + 1)
    devs = []
    sets = [_tasks(rng) for _ in range(E)]
    for j, ordering in enumerate(("cyclic", "random")):
        F_th, F_sim = [], []
        for e, (Xs, ys) in enumerate(sets):
            o = cyclic_order(N_TASKS, k_max) if ordering == "cyclic" else random_order(N_TASKS, k_max, seed=seed + e)
            F_th.append(sequential_forgetting(Xs, ys, np.zeros(N), o))
            W = train_sequential_regression(Xs, ys, np.zeros(N), o, steps=steps, device=device).weights_after_task[0]
            L = np.stack([0.5 * np.mean((W @ X - y) ** 2, axis=-1) for X, y in zip(Xs, ys)], -1)
            F_sim.append([np.mean(L[k, o[:k + 1]]) for k in range(k_max)])
            devs.append(np.max(np.abs(W - sequential_regression(Xs, ys, np.zeros(N), o))))
        F_th, F_sim = np.array(F_th), np.array(F_sim)
        # F(1) = 0 exactly (realisable tasks): plot from k = 2 on log axes; spread over task sets as error bars
        theory_line(axes[0], ks[1:], F_th.mean(0)[1:], color=COLORS[j], label=f"{ordering}: exact projections")
        sim_markers(axes[0], ks[1:], F_sim[:, 1:], color=COLORS[j], band=False,
                    label=f"{ordering}: GD, {steps} steps/task")
        agreement[f"{ordering}_forgetting_at_k{k_max}"] = float(F_th.mean(0)[-1])
        agreement[f"{ordering}_forgetting_max"] = float(F_th.mean(0).max())
        devs.append(max_abs_dev(F_th, F_sim))
        data[ordering] = {"k": ks, "theory_mean": F_th.mean(0), "sim_mean": F_sim.mean(0)}
    agreement["forgetting_max_abs_dev"] = float(max(devs))
    ax = axes[0]
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("number of tasks trained, k")
    ax.set_ylabel(r"forgetting $F(k) = \frac{1}{k}\sum_{j\leq k} L_{\tau_j}(w_k)$")
    ax.set_title(f"{N_TASKS} tasks, N = {N}, P = {P} samples each", fontsize=10)
    ax.legend(loc="lower left")

    # two one-sample tasks at angle theta: forgetting of task 1 after task 2
    ax = axes[1]
    th_line = np.linspace(0, np.pi / 2, 100)
    theory_line(ax, np.rad2deg(th_line), np.cos(th_line) ** 2 * np.sin(th_line) ** 2 / 2, color=COLORS[2],
                label=r"$E\,F = \cos^2\theta \sin^2\theta / 2$")
    th_mark = np.linspace(0, np.pi / 2, 7)
    n_w = 20 if quick else 300
    W_star = rng.standard_normal((n_w, N))
    x1 = np.zeros(N)
    x1[0] = 1.0
    F_gd, F_proj = [], []
    for th in th_mark:
        x2 = np.zeros(N)
        x2[0], x2[1] = np.cos(th), np.sin(th)
        Xs = [x1[:, None], x2[:, None]]
        f_gd, f_pr = [], []
        for w in W_star:  # one GD-trained student per teacher w*
            ys = [X.T @ w for X in Xs]
            G = train_sequential_regression(Xs, ys, np.zeros(N), [0, 1], steps=20, device=device).weights_after_task[0]
            f_gd.append(0.5 * float((x1 @ G[1] - ys[0][0]) ** 2))
            f_pr.append(0.5 * float((x1 @ sequential_regression(Xs, ys, np.zeros(N), [0, 1])[1] - ys[0][0]) ** 2))
        F_gd.append(f_gd)
        F_proj.append(f_pr)
    F_gd, F_proj = np.array(F_gd), np.array(F_proj)
    pred = np.cos(th_mark) ** 2 * np.sin(th_mark) ** 2 / 2  # w* ~ N(0, I)
    sem = F_gd.std(1) / np.sqrt(n_w)
    sim_markers(ax, np.rad2deg(th_mark), F_gd.mean(1), color=COLORS[2], label=f"GD students, mean over {n_w} $w^*$")
    ax.errorbar(np.rad2deg(th_mark), F_gd.mean(1), yerr=sem, fmt="none", ecolor=COLORS[2], lw=1)
    mask = pred > 0
    agreement["angle_max_rel_dev_mean"] = float(np.max(np.abs(F_gd.mean(1)[mask] - pred[mask]) / pred[mask]))
    agreement["angle_max_abs_dev_over_sem"] = float(np.max(np.abs(F_gd.mean(1) - pred)[mask] / sem[mask]))
    agreement["angle_gd_vs_projection_max_abs_dev"] = float(np.max(np.abs(F_gd - F_proj)))
    ax.set_xlabel(r"angle between the two tasks' inputs $\theta$ (deg)")
    ax.set_ylabel("forgetting of task 1 after task 2")
    ax.set_xticks([0, 15, 30, 45, 60, 75, 90])
    ax.set_title("two one-sample tasks", fontsize=10)
    ax.legend(loc="lower center")
    data["angle"] = {"theta_deg": np.rad2deg(th_mark), "gd_mean": F_gd.mean(1), "theory": pred}
    fig.suptitle(TITLE, fontsize=10)
    fig.tight_layout()
    rec = {"params": {"N": N, "n_tasks": N_TASKS, "P": P, "k_max": k_max, "steps_per_task": steps, "E": E,
                      "n_w_star": n_w, "seed": seed},
           "data": data, "agreement": agreement}
    return save(fig, rec, name=NAME, out=out, quick=quick)
