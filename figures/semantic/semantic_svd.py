"""(a) The SVD of the living-things data: modes as feature and item patterns, and what trained networks learn.

Y (features x items) = U S V^T: each mode pairs a feature pattern (column of U)
with an item pattern (row of V^T). Bars: singular values of Y, the final mode
strengths s/c of the theory; markers: singular values of the trained deep
linear networks' final maps (ensemble mean +- sd).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import _shared as S
from .._common import COLORS, DEFAULT_OUT, max_rel_dev, save, sim_markers, style

NAME = "semantic_svd"
TITLE = "SVD of the living-things environment (Saxe et al. 2019, Fig. 2)"
SECTION = "Semantic development (Saxe, McClelland & Ganguli 2019; Saxe, Nelli & Summerfield 2021, Fig. 5)"
CAPTION = (
    "**SVD of the living-things data**: feature and item patterns of each mode; trained networks "
    "recover the singular values to {agreement[final_singular_values_max_rel_dev]:.1e} "
    "(relative)."
)
N_SHOW = 5  # modes drawn as patterns
TOLERANCES = {
    "final_singular_values_max_rel_dev": (2e-4, "tests/test_records.py::test_records_within_tolerances",
                                          "finest mode not yet converged at t = 60: theory 1.3e-4, 1.7e-4 if its "
                                          "half-time is 4% late"),
}


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    style()
    th = S.lt_theory(2)
    run = S.linear_run(2, quick, seed, device)
    final = run.maps[:, -1]  # (E, features, items)
    s_sim = np.linalg.svd(final, compute_uv=False)  # (E, 8)
    # alignment of the learned singular vectors with U, V (mode by mode, |cos|)
    Us, _, Vts = np.linalg.svd(final.mean(0), full_matrices=False)
    cos_u = np.abs(np.sum(Us * th.U, axis=0))
    cos_v = np.abs(np.sum(Vts.T * th.V, axis=0))

    # tall enough that the 36 feature names read at print size (one per row of Y)
    fig = plt.figure(figsize=(11.2, 9.8))
    gs = fig.add_gridspec(2, 4, width_ratios=[8, N_SHOW + 0.6, 8, 8], height_ratios=[1, 0.8],
                          wspace=0.6, hspace=0.35)
    feats = th.features
    ax = fig.add_subplot(gs[:, 0])
    ax.imshow(th.Y, aspect="auto", cmap="Greys", vmin=0, vmax=1)
    ax.set_yticks(range(len(feats)), feats, fontsize=6.5)
    ax.set_xticks(range(8), th.items, rotation=90, fontsize=8)
    ax.set_title("Y: features x items")
    lim = np.abs(th.U[:, :N_SHOW]).max()
    ax = fig.add_subplot(gs[:, 1])
    ax.imshow(th.U[:, :N_SHOW], aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_yticks([])
    ax.set_xticks(range(N_SHOW), [str(a + 1) for a in range(N_SHOW)])
    ax.set_xlabel("mode")
    ax.set_title("U: feature\npatterns")
    ax = fig.add_subplot(gs[0, 2:])
    lim = np.abs(th.V[:, :N_SHOW]).max()
    ax.imshow(th.V[:, :N_SHOW].T, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_xticks(range(8), th.items, fontsize=8, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(N_SHOW), [f"mode {a + 1}" for a in range(N_SHOW)], fontsize=8)
    ax.set_title("V^T: item patterns\n(modes 3, 4 mix bird/fish with tree/flower)", fontsize=10)
    ax = fig.add_subplot(gs[1, 2:])
    modes = np.arange(1, th.n_modes + 1)
    ax.bar(modes, th.u_final, color=COLORS[0], alpha=0.35, label="theory: singular values of Y")
    sim_markers(ax, modes, s_sim, color=COLORS[0], label=f"trained D=2 linear nets (n={s_sim.shape[0]})",
                band=False)
    ax.errorbar(modes, s_sim.mean(0), yerr=s_sim.std(0), fmt="none", ecolor=COLORS[0], capsize=2)
    ax.set_xticks(modes)
    ax.set_xlabel("mode alpha")
    ax.set_ylabel("singular value s_alpha / c")
    ax.legend(loc="upper right")
    fig.suptitle(TITLE, y=0.99)
    agreement = {
        "final_singular_values_max_rel_dev": max_rel_dev(th.u_final, s_sim.mean(0)),
        "min_abs_cos_U": float(cos_u.min()),
        "min_abs_cos_V": float(cos_v.min()),
    }
    record = {
        "params": {"depth": 2, "hidden": S.NH, "init_scale": S.INIT_SCALE, "n_networks": int(s_sim.shape[0]),
                   "t_end": float(run.times[-1])},
        "data": {"items": th.items, "features": feats, "Y": th.Y, "s_theory": th.u_final, "s_sim": s_sim,
                 "U": th.U, "V": th.V},
        "agreement": agreement,
    }
    return save(fig, record, name=NAME, out=out, quick=quick)
