"""(d) Representational similarity (RSA) of the hidden layer at early, middle and late times.

Theory: K(t) = V A(t) V^T (item x item inner products of hidden representations,
D = 2). Trained: the ensemble mean of W1(t)^T W1(t) over deep linear networks
from small random weights. Each column shares one colour scale; the Pearson
correlation between theory and trained (upper triangle) is printed above.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from idealnets.theory.semantic import rsa_correlation

from .._common import DEFAULT_OUT, save, style
from . import _shared as S

NAME = "semantic_rsa"
TITLE = "Hidden-layer similarity (RSA): theory (top) vs trained deep linear networks (bottom)"
SECTION = "Semantic development (Saxe, McClelland & Ganguli 2019; Saxe, Nelli & Summerfield 2021, Fig. 5)"
CAPTION = (
    "**Representational similarity** at early, middle and late times, theory vs trained "
    "(correlation >= {agreement[corr_min_after_first_mode]:.4f} once the first mode is learned)."
)

TOLERANCES = {
    "corr_min_after_first_mode": ((0.97, 1.0), "tests/test_semantic.py::test_rsa_matches_trained_hidden_layer",
                                  "that test's bound, at 12 networks (here 32, same lr): the mean is the theory's "
                                  "pattern"),
}


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    style()
    th = S.lt_theory(2)
    run = S.linear_run(2, quick, seed, device)
    W1 = run.weights[0]  # (E, T, NH, P)
    K_sim = np.einsum("erhi,erhj->erij", W1, W1)  # (E, T, P, P)
    K_sim_mean = K_sim.mean(0)
    K_th = th.similarity(run.times)
    td = th.differentiation_times()
    # early: only "living thing" learned; middle: + animal/plant; late: everything
    targets = {"early": 0.5 * (td[0] + td[1]), "middle": 0.5 * (td[1] + td[2]), "late": run.times[-1]}
    idx = {k: int(np.argmin(np.abs(run.times - v))) for k, v in targets.items()}
    corr_all = rsa_correlation(K_th, K_sim_mean)
    after = run.times >= td[0]

    fig, axes = plt.subplots(2, 3, figsize=(10, 7.2), constrained_layout=True)
    for col, (name, k) in enumerate(idx.items()):
        scale = np.abs(K_th[k]).max()  # each time on its own scale: the pattern is what matters
        r = float(corr_all[k])
        for row, K in enumerate((K_th[k], K_sim_mean[k])):
            ax = axes[row, col]
            im = ax.imshow(K / scale, cmap="RdBu_r", vmin=-1, vmax=1)
            ax.set_xticks(range(8), th.items, rotation=90, fontsize=7.5)
            ax.set_yticks(range(8), th.items if col == 0 else [], fontsize=7.5)
        axes[0, col].set_title(f"{name}: t = {run.times[k]:.1f}  (max {scale:.2f})\n"
                               f"corr(theory, trained) = {r:.4f}", fontsize=9.5)
    fig.colorbar(im, ax=axes, shrink=0.5, label="h_i . h_j / max (theory)")
    axes[0, 0].set_ylabel("theory  V A(t) V^T")
    axes[1, 0].set_ylabel(f"trained (mean of {W1.shape[0]})")
    fig.suptitle(TITLE, fontsize=11)
    agreement = {
        **{f"corr_{k}": float(corr_all[v]) for k, v in idx.items()},
        "corr_min_after_first_mode": float(corr_all[after].min()),
        "rel_frobenius_err_late": float(np.linalg.norm(K_sim_mean[-1] - K_th[-1]) / np.linalg.norm(K_th[-1])),
    }
    record = {
        "params": {"hidden": S.NH, "init_scale": S.INIT_SCALE, **S.sizes(quick), "times": {k: run.times[v] for k, v
                                                                                          in idx.items()}},
        "data": {"t": run.times, "corr": corr_all, "K_theory": K_th[list(idx.values())],
                 "K_sim_mean": K_sim_mean[list(idx.values())], "items": th.items},
        "agreement": agreement,
    }
    return save(fig, record, name=NAME, out=out, quick=quick)
