"""Forgetting of task A after learning task B, as a function of task similarity: shallow vs two-layer.

Tasks (theory.continual.item_tasks): task k maps one input direction v_k to the output s_k u_k;
similarity = the angle between the input singular vectors (theta_v), between the output singular
vectors (theta_u) and the ratio s_B/s_A. Learn A to convergence, then B to convergence.

Predicted: shallow network, the closed form F = c_v^2 |s_B u_B - s_A c_v u_A|^2 / 2 (exact,
theory.continual.shallow_item_forgetting, and ShallowCurriculum for the finite-time curve). Two-layer
network (small zero-balanced random init): these tasks do not have whitened inputs, so the "theory"
line is the float64 integration of the full weight ODE through the switch (Curriculum chooses it;
no closed form is claimed); it is the exact gradient-flow prediction the trained networks are held to.
Matched: trained ensembles (full-batch GD) with the same initial weights.
"""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import NullFormatter

from idealnets.simulate.continual import train_curriculum, train_shallow_curriculum
from idealnets.theory.continual import Curriculum, ShallowCurriculum, item_tasks, shallow_item_forgetting
from idealnets.theory.lambda_balanced import lambda_balanced_init

from .._common import COLORS, DEFAULT_OUT, max_abs_dev, save, sim_markers, style, theory_line

NAME = "continual_similarity"
TITLE = "Forgetting vs task similarity: shallow vs two-layer linear networks"
SECTION = "Continual learning: interference, interleaving and schemas"
CAPTION = ("**Interference vs similarity.** Forgetting of task A after learning task B (single-item tasks, "
           "input angle $\\theta_v$, output angle $\\theta_u$, ratio $s_B/s_A$). Shallow: closed form, zero for "
           "orthogonal inputs, largest for identical inputs with opposite outputs. Two-layer: exact ODE "
           "(lines) vs trained (markers), max deviation {agreement[deep_max_abs_dev]:.2g}; it interferes "
           "through the shared readout even for orthogonal inputs, and for orthogonal outputs forgetting peaks "
           "at an intermediate input angle ({agreement[deep_peak_angle_deg_orthogonal_outputs]:.0f} deg, "
           "F = {agreement[deep_peak_forgetting_orthogonal_outputs]:.2f} vs {agreement[deep_forgetting_identical_inputs_orthogonal_outputs]:.2f} "
           "for identical inputs).")

_REC = "tests/test_records.py::test_records_within_tolerances"
#: bound, test, and where the bound comes from (read by figures/gallery.py for the agreement table)
TOLERANCES = {
    # GD vs gradient flow through both phases: O(lr), lr x curvature 2 s x loss scale 2 = 0.02
    "deep_max_abs_dev": (0.02, _REC, "O(lr) at lr = 0.005: lr x curvature 2s x forgetting scale 2 (s = 1)"),
    # the caption's claim: for orthogonal outputs the peak lies strictly inside (0, 90) deg
    "deep_peak_angle_deg_orthogonal_outputs": ((5.0, 85.0), _REC, "claim: the peak is at an intermediate input angle"),
    "deep_peak_forgetting_orthogonal_outputs": ((1.0, float("inf")), _REC,
                                                "claim: above the identical-input forgetting |u_B - u_A|^2/2 = 1"),
    # B overwrites A: |u_B - u_A|^2 / 2 = 1, up to unconverged terms e^{-s T} = 3e-7 (T = 15) and the ODE solver
    "deep_forgetting_identical_inputs_orthogonal_outputs": (
        (0.99999, 1.00001), _REC, "overwrite: |u_B - u_A|^2/2 = 1 up to e^{-sT} = 3e-7 at T = 15 and ODE tolerance"),
}

N = 3
S_A = 1.0
THETA_US = {"same outputs ($\\theta_u$=0)": 0.0, "orthogonal outputs ($\\theta_u$=90°)": np.pi / 2,
            "opposite outputs ($\\theta_u$=180°)": np.pi}
T_A, T_B = 15.0, 15.0
SCALE = 0.1
RATIOS = (0.25, 0.5, 1.0, 2.0, 4.0)
RATIO_THETA_V = np.pi / 3
RATIO_THETA_U = np.pi / 2


def _deep_forgetting(tasks, W1A, W2A):
    """Forgetting from the weights reached after task A (one Curriculum phase on B)."""
    cur = Curriculum(tasks, [("B", T_B)], W1A, W2A)
    L = cur.loss(np.array([0.0, T_B]), "A")
    return L[1] - L[0]


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    import matplotlib.pyplot as plt

    style()
    E = 1 if quick else 4
    lr = 0.02 if quick else 0.005
    n_line = 3 if quick else 13
    n_mark = 2 if quick else 5
    W1, W2 = lambda_balanced_init(N, N, N, 0.0, SCALE, seed=seed + 3, size=E)
    # task A is the same in every condition: learn it once per init (exact), then branch
    base = item_tasks(N, N, S_A, S_A, 0.0, 0.0)
    WA = [Curriculum(base, [("A", T_A)], W1[e], W2[e]).weights(T_A) for e in range(E)]
    W1A, W2A = np.stack([w[0] for w in WA]), np.stack([w[1] for w in WA])
    runA = train_curriculum(base, [("A", T_A)], W1, W2, lr=lr, record=3, device=device)
    W1A_gd, W2A_gd = runA.W1[:, -1], runA.W2[:, -1]

    fig, axes = plt.subplots(1, 3, figsize=(11.5, 5.2))   # <= 11.5 in: legible at the text width
    tv_line = np.linspace(0, np.pi / 2, 60)
    tv_deep = np.linspace(0, np.pi / 2, n_line)
    tv_mark = np.linspace(0, np.pi / 2, n_mark)
    data, agreement, devs_sh, devs_deep = {}, {}, [], []
    for j, (label, tu) in enumerate(THETA_US.items()):
        col = COLORS[j]
        # shallow: closed form line, trained markers (W0 = 0: A is learned exactly to s_A u_A v_A^T)
        theory_line(axes[0], np.rad2deg(tv_line), shallow_item_forgetting(S_A, S_A, np.cos(tu), np.cos(tv_line)),
                    color=col, label=label)
        Fs_sim = []
        for tv in tv_mark:
            tasks = item_tasks(N, N, S_A, S_A, tu, tv)
            run = train_shallow_curriculum(tasks, [("A", T_A), ("B", T_B)], np.zeros((E, N, N)), lr=lr, record=3,
                                           device=device)
            i_s = np.searchsorted(run.steps, run.switch_steps[0])
            Fs_sim.append(run.losses[:, -1, 0] - run.losses[:, i_s, 0])
            cur = ShallowCurriculum(tasks, [("A", T_A), ("B", T_B)], np.zeros((N, N)))
            devs_sh.append(abs(float(cur.loss(T_A + T_B, "A") - cur.loss(T_A, "A")) - float(np.mean(Fs_sim[-1]))))
        sim_markers(axes[0], np.rad2deg(tv_mark), np.array(Fs_sim).T, color=col)
        # two-layer: integrated exact ODE line, trained markers
        Fd = np.array([[_deep_forgetting(item_tasks(N, N, S_A, S_A, tu, tv), W1A[e], W2A[e]) for e in range(E)]
                       for tv in tv_deep])
        theory_line(axes[1], np.rad2deg(tv_deep), Fd.mean(1), color=col, label=label)
        Fd_sim, Fd_th = [], []
        for tv in tv_mark:
            tasks = item_tasks(N, N, S_A, S_A, tu, tv)
            run = train_curriculum(tasks, [("B", T_B)], W1A_gd, W2A_gd, lr=lr, record=3, device=device)
            Fd_sim.append(run.losses[:, -1, 0] - run.losses[:, 0, 0])
            Fd_th.append([_deep_forgetting(tasks, W1A[e], W2A[e]) for e in range(E)])
        sim_markers(axes[1], np.rad2deg(tv_mark), np.array(Fd_sim).T, color=col)
        devs_deep.append(max_abs_dev(np.array(Fd_th), np.array(Fd_sim)))
        data[f"theta_u_{np.rad2deg(tu):.0f}"] = {"theta_v_deg": np.rad2deg(tv_deep), "deep_theory": Fd.mean(1),
                                                 "theta_v_mark_deg": np.rad2deg(tv_mark),
                                                 "deep_sim": np.array(Fd_sim).mean(1),
                                                 "shallow_sim": np.array(Fs_sim).mean(1)}
        if np.isclose(tu, np.pi / 2):
            k = int(np.argmax(Fd.mean(1)))
            agreement["deep_peak_angle_deg_orthogonal_outputs"] = float(np.rad2deg(tv_deep[k]))
            agreement["deep_peak_forgetting_orthogonal_outputs"] = float(Fd.mean(1)[k])
            agreement["deep_forgetting_identical_inputs_orthogonal_outputs"] = float(Fd.mean(1)[0])
        if np.isclose(tu, 0.0):
            agreement["deep_forgetting_orthogonal_inputs_same_outputs"] = float(Fd.mean(1)[-1])
    agreement["shallow_max_abs_dev"] = float(max(devs_sh))
    agreement["deep_max_abs_dev"] = float(max(devs_deep))
    for ax, title in zip(axes[:2], ("shallow network (closed form)", "two-layer network (exact ODE)")):
        ax.set_xlabel(r"input angle $\theta_v$ (deg)")
        ax.set_title(title, fontsize=10)
        ax.set_xticks([0, 30, 60, 90])
    axes[0].set_ylabel(r"forgetting $L_A(T) - L_A(t_{switch})$")
    # the legends under the panels: inside, at print size they covered the curves
    axes[0].legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)

    # ratio of singular values at fixed angles
    ax = axes[2]
    rho_line = np.geomspace(RATIOS[0], RATIOS[-1], 60)
    F_sh = [float(shallow_item_forgetting(S_A, r * S_A, np.cos(RATIO_THETA_U), np.cos(RATIO_THETA_V))) for r in rho_line]
    theory_line(ax, rho_line, F_sh, color=COLORS[3], label="shallow (closed form)")
    ratios = RATIOS[::4] if quick else RATIOS
    Fr_th, Fr_sim = [], []
    for r in ratios:
        tasks = item_tasks(N, N, S_A, r * S_A, RATIO_THETA_U, RATIO_THETA_V)
        Fr_th.append([_deep_forgetting(tasks, W1A[e], W2A[e]) for e in range(E)])
        run = train_curriculum(tasks, [("B", T_B)], W1A_gd, W2A_gd, lr=lr, record=3, device=device)
        Fr_sim.append(run.losses[:, -1, 0] - run.losses[:, 0, 0])
    Fr_th, Fr_sim = np.array(Fr_th), np.array(Fr_sim)
    theory_line(ax, ratios, Fr_th.mean(1), color=COLORS[4], label="two-layer (exact ODE)")
    sim_markers(ax, ratios, Fr_sim.T, color=COLORS[4], label="two-layer (trained)")
    agreement["ratio_deep_max_abs_dev"] = max_abs_dev(Fr_th, Fr_sim)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks(list(RATIOS))
    ax.set_xticklabels([f"{r:g}" for r in RATIOS])
    ax.set_xlabel(r"ratio of singular values $s_B/s_A$")
    ax.set_title(fr"$\theta_v$={np.rad2deg(RATIO_THETA_V):.0f}°, $\theta_u$={np.rad2deg(RATIO_THETA_U):.0f}°",
                 fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    data["ratio"] = {"ratios": ratios, "deep_theory": Fr_th.mean(1), "deep_sim": Fr_sim.mean(1)}
    fig.suptitle(f"{TITLE}\nA then B, each for t = {T_A:g}; lines = theory (mean of {E} inits), "
                 f"markers = trained ($\\eta={lr:g}$)", fontsize=10)
    fig.tight_layout()
    rec = {"params": {"N": N, "s_A": S_A, "T_A": T_A, "T_B": T_B, "init_scale": SCALE, "E": E, "lr": lr,
                      "ratios": ratios, "ratio_theta_v_deg": 60.0, "ratio_theta_u_deg": 90.0, "seed": seed},
           "data": data, "agreement": agreement}
    return save(fig, rec, name=NAME, out=out, quick=quick)
