"""(c) MDS trajectories of the hidden representations: theory vs trained deep linear networks.

The eight items' hidden representations h_i(t) = W1(t) e_i, embedded jointly over
all times (classical MDS with each time's item centroid removed). Lines: theory
(A(t)^{1/2} V^T, up to the free hidden rotation); markers: each trained network's
own embedding, aligned to the theory by an orthogonal Procrustes rotation and
averaged over the ensemble.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from idealnets.theory.semantic import joint_embedding, procrustes_align

from .._common import DEFAULT_OUT, save, style
from . import _shared as S

NAME = "semantic_mds"
TITLE = "MDS of hidden representations over learning (Saxe, Nelli & Summerfield 2021, Fig. 5b)"
SECTION = "Semantic development (Saxe, McClelland & Ganguli 2019; Saxe, Nelli & Summerfield 2021, Fig. 5)"
CAPTION = (
    "**MDS trajectories** of hidden representations, theory vs aligned trained networks "
    "({agreement[ensemble_mean_rel_err]:.1%} for the ensemble mean)."
)

TOLERANCES = {
    "ensemble_mean_rel_err": (0.04, "tests/test_records.py::test_records_within_tolerances",
                              "3 SE of the 32-net mean (per-net error ~5%, /sqrt 32) + O(lr) timing ~0.5% at "
                              "lr = 0.01"),
}


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    style()
    th = S.lt_theory(2)
    run = S.linear_run(2, quick, seed, device)
    t = run.times
    Z_th = th.mds(t, dims=2)  # (T, P, 2)
    W1 = run.weights[0]  # (E, T, NH, P)
    aligned, errs = [], []
    for e in range(W1.shape[0]):
        Z, err = procrustes_align(joint_embedding(W1[e], 2), Z_th)
        aligned.append(Z)
        errs.append(err)
    Z_sim = np.mean(aligned, axis=0)

    fig = plt.figure(figsize=(11.5, 5.4))
    gs = fig.add_gridspec(2, 2, width_ratios=[1.3, 1], hspace=0.15)
    ax = fig.add_subplot(gs[:, 0])
    step = max(1, len(t) // 30)
    for i, name in enumerate(th.items):
        c = S.ITEM_COLORS[i]
        ax.plot(Z_th[:, i, 0], Z_th[:, i, 1], "-", color=c, lw=1.6, zorder=2)
        ax.plot(Z_sim[::step, i, 0], Z_sim[::step, i, 1], "o", ms=3.5, mfc="white", mec=c, mew=1.0, zorder=3)
        ax.annotate(name, Z_th[-1, i], textcoords="offset points", xytext=(6, -3), color=c, fontsize=9)
    ax.plot([], [], "-", color="0.3", label="theory")
    ax.plot([], [], "o", mfc="white", mec="0.3", label=f"trained D=2 nets\n(mean of {W1.shape[0]}, aligned)")
    ax.set_xlabel("MDS dimension 1 (animal / plant)")
    ax.set_ylabel("MDS dimension 2")
    ax.set_title("item trajectories (all start at the centre)")
    ax.legend(loc="upper center", fontsize=8)
    ax.set_aspect("equal", adjustable="datalim")
    ax.margins(0.12)
    # right: each coordinate over time -- the first split precedes the second
    pos = t > 0
    for d in range(2):
        ax = fig.add_subplot(gs[d, 1])
        for i in range(len(th.items)):
            c = S.ITEM_COLORS[i]
            ax.plot(t[pos], Z_th[pos, i, d], "-", color=c)
            ax.plot(t[pos][::step], Z_sim[pos][::step, i, d], "o", ms=3, mfc="white", mec=c)
        ax.set_xscale("log")
        ax.set_xlim(1.0, t[-1])
        ax.set_ylabel(f"MDS dim {d + 1}")
        if d == 0:
            ax.set_title("stages: dim 1 splits, then dim 2")
            ax.tick_params(labelbottom=False)
        else:
            ax.set_xlabel("training time t / tau")
    fig.suptitle(TITLE)
    agreement = {
        "procrustes_rel_err_mean": float(np.mean(errs)),
        "procrustes_rel_err_max": float(np.max(errs)),
        "ensemble_mean_rel_err": float(np.linalg.norm(Z_sim - Z_th) / np.linalg.norm(Z_th)),
    }
    record = {
        "params": {"hidden": S.NH, "init_scale": S.INIT_SCALE, **S.sizes(quick)},
        "data": {"t": t, "Z_theory": Z_th, "Z_sim_mean": Z_sim, "items": th.items},
        "agreement": agreement,
    }
    return save(fig, record, name=NAME, out=out, quick=quick)
