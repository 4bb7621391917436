"""Context-dependent gating: forgetting vs pathway overlap in a gated two-layer linear network.

Each task switches on n_gate hidden units (Masse et al. 2018; the gated deep linear network of
Saxe, Sodhani & Lewallen 2022); the two gates share n_shared of them. Predicted
(theory.continual.GatedCurriculum): disjoint pathways do not interfere at all, identical pathways are
the ungated network (chained closed form); partially overlapping pathways break the hidden-rotation
symmetry the closed form leaves free, so those phases are the float64 integration of the gated weight
ODE. Matched: gated networks trained by full-batch GD from the same initial weights.
"""
from __future__ import annotations

import numpy as np

from idealnets.simulate.continual import train_curriculum
from idealnets.theory.continual import GatedCurriculum, overlapping_gates, whitened_pair
from idealnets.theory.lambda_balanced import lambda_balanced_init

from .._common import COLORS, DEFAULT_OUT, max_abs_dev, save, sim_markers, style, theory_line

NAME = "continual_gating"
TITLE = "Context-dependent gating: forgetting vs pathway overlap"
SECTION = "Continual learning: interference, interleaving and schemas"
CAPTION = ("**Gating.** Forgetting of task A after task B in a gated two-layer linear network whose two context "
           "gates each switch on {params[n_gate]} hidden units, sharing a fraction of them: zero for disjoint "
           "pathways, the ungated network's forgetting ({agreement[forgetting_full_overlap_orthogonal]:.2f}, "
           "orthogonal tasks) for identical ones; for similar tasks (30 deg) it peaks at partial overlap "
           "({agreement[peak_overlap_similar]:.2f}: {agreement[peak_forgetting_similar]:.2f} vs "
           "{agreement[forgetting_full_overlap_similar]:.2f} fully shared). Exact (lines) vs trained (markers): "
           "max deviation {agreement[max_abs_dev]:.2g}.")

_REC = "tests/test_records.py::test_records_within_tolerances"
# Ungated (fully shared) network, whitened tasks of strength s = 2 at angle theta: B overwrites A, and A's
# mode orthogonal to B decays algebraically, u(T_B) = s / (1 + 2 s T_B) = 0.061, so for orthogonal tasks
# F = (s - u)^2/2 + s^2/2 = 3.881; for similar ones F -> |S_A - S_B|^2/2 = s^2 (1 - cos^2 theta) = 1.
#: bound, test, and where the bound comes from (read by figures/gallery.py for the agreement table)
TOLERANCES = {
    "max_abs_dev": (0.08, _REC, "O(lr) at lr = 0.005: lr x curvature 2s x forgetting scale 4 (s = 2)"),
    "forgetting_full_overlap_orthogonal": ((3.87, 3.89), _REC,
                                           "ungated: F = (s - u)^2/2 + s^2/2 = 3.881, u = s/(1 + 2 s T_B); +-0.01 init"),
    "forgetting_full_overlap_similar": ((0.9, 1.01), _REC, "ungated: B overwrites A, F -> |S_A - S_B|^2/2 = 1 (A's residual decays)"),
    "peak_overlap_similar": ((0.2, 0.8), _REC, "claim: for similar tasks forgetting peaks at partial overlap (0 < f < 1)"),
    "peak_forgetting_similar": ((1.0, float("inf")), _REC, "claim: above the fully shared (ungated) forgetting, 1"),
}

N = 4
N_GATE = 4
S = 2.0
T_A = T_B = 8.0
SCALE = 0.1
ANGLES = {"orthogonal tasks (90°)": np.pi / 2, "similar tasks (30°)": np.pi / 6}


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    import matplotlib.pyplot as plt

    style()
    E = 2 if quick else 6
    lr = 0.02 if quick else 0.005
    shared = (0, 2, 4) if quick else tuple(range(N_GATE + 1))
    fig, ax = plt.subplots(figsize=(5.6, 4.0))
    data, agreement, devs = {}, {}, []
    frac = np.array(shared) / N_GATE
    for j, (label, th) in enumerate(ANGLES.items()):
        tasks = whitened_pair(N, S, S, th, th)
        F_th, F_sim = [], []
        for sh in shared:
            n_h, gates = overlapping_gates(N_GATE, sh)
            W1, W2 = lambda_balanced_init(N, n_h, N, 0.0, SCALE, seed=seed + 7, size=E)
            sched = [("A", T_A), ("B", T_B)]
            f = []
            for e in range(E):
                cur = GatedCurriculum(tasks, sched, gates, W1[e], W2[e])
                L = cur.loss(np.array([T_A, T_A + T_B]), "A")
                f.append(L[1] - L[0])
            run = train_curriculum(tasks, sched, W1, W2, lr=lr, record=3, gates=gates, device=device)
            i_s = int(np.searchsorted(run.steps, run.switch_steps[0]))
            F_th.append(f)
            F_sim.append(run.losses[:, -1, 0] - run.losses[:, i_s, 0])
        F_th, F_sim = np.array(F_th), np.array(F_sim)
        theory_line(ax, frac, F_th.mean(1), color=COLORS[j], label=f"{label}: exact")
        sim_markers(ax, frac, F_sim.T, color=COLORS[j], label=f"{label}: trained")
        devs.append(max_abs_dev(F_th, F_sim))
        key = "orthogonal" if np.isclose(th, np.pi / 2) else "similar"
        agreement[f"forgetting_full_overlap_{key}"] = float(F_th[-1].mean())
        agreement[f"forgetting_no_overlap_{key}"] = float(F_th[0].mean())
        k = int(np.argmax(F_th.mean(1)))
        agreement[f"peak_overlap_{key}"] = float(frac[k])
        agreement[f"peak_forgetting_{key}"] = float(F_th.mean(1)[k])
        data[key] = {"overlap": frac, "theory_mean": F_th.mean(1), "sim_mean": F_sim.mean(1)}
    agreement["max_abs_dev"] = float(max(devs))
    ax.set_xlabel(r"pathway overlap $n_{shared}/n_{gate}$")
    ax.set_ylabel(r"forgetting $L_A(T) - L_A(t_{switch})$")
    ax.set_title(f"gated two-layer linear network, {E} inits, $\\eta={lr:g}$", fontsize=10)
    ax.legend(loc="upper left", fontsize=7.5)
    fig.tight_layout()
    rec = {"params": {"N": N, "n_gate": N_GATE, "s": S, "T_A": T_A, "T_B": T_B, "init_scale": SCALE, "E": E,
                      "lr": lr, "shared": shared, "seed": seed},
           "data": data, "agreement": agreement}
    return save(fig, rec, name=NAME, out=out, quick=quick)
