"""(g) Spectra of structural forms: hierarchy, ring, chain, grid and clusters (16 items each).

Top: the analytic singular values of Syx = Y/P for Gaussian features on each
form (:func:`structure`, lines) against the SVD of sampled data (markers, mean
+- sd over samples). Bottom: the leading analytic item modes (lines: tree
wavelets, Fourier modes, cosines, products of cosines, cluster indicators)
against the sampled item analyzers V (markers), rotated onto them within the
leading (possibly degenerate) eigenspace.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from idealnets.theory.semantic import STRUCTURES, procrustes_align, structure

from .._common import COLORS, DEFAULT_OUT, save, style

NAME = "semantic_forms"
TITLE = "Structural forms and their singular value spectra (Saxe et al. 2019)"
SECTION = "Semantic development (Saxe, McClelland & Ganguli 2019; Saxe, Nelli & Summerfield 2021, Fig. 5)"
CAPTION = (
    "**Structural forms** (hierarchy, ring, chain, grid, clusters): analytic spectra and modes vs"
    " sampled data; sampled singular values within {agreement[hierarchy_s_max_rel_dev]:.0%} "
    "(hierarchy), {agreement[ring_s_max_rel_dev]:.0%} (ring), "
    "{agreement[chain_s_max_rel_dev]:.0%} (chain), {agreement[grid_s_max_rel_dev]:.0%} (grid) and"
    " {agreement[clusters_s_max_rel_dev]:.0%} (clusters)."
)
N_ITEMS = 16
N_FEATURES = 2000
N_MODES_SHOWN = 3
# sorted singular values of a sample covariance spread by +-sqrt(g/N) within a degenerate group of g modes:
# at most sqrt(P/N) = sqrt(16/2000) = 0.09; the 20-sample mean removes the rest (3 SE < 1%)
_SPREAD = "sorted values spread +-sqrt(g/N) in a g-fold group: <= sqrt(16/2000) = 0.09; 3 SE < 0.01"
TOLERANCES = {f"{kind}_s_max_rel_dev": (0.1, "tests/test_records.py::test_records_within_tolerances", _SPREAD)
              for kind in ("hierarchy", "ring", "chain", "grid", "clusters")}


def _forms():
    return [structure(k, N_ITEMS, n_clusters=4) for k in STRUCTURES]


def _leading_group(eig: np.ndarray, k_min: int) -> int:
    """Smallest k >= k_min that ends a group of (numerically) equal eigenvalues."""
    k = k_min
    while k < eig.size and abs(eig[k - 1] - eig[k]) < 1e-9 * eig[0]:
        k += 1
    return k


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    style()
    n_seeds = 4 if quick else 20
    forms = _forms()
    # three forms to a row, each as its spectrum above its modes (two blocks of two rows)
    fig = plt.figure(figsize=(11.2, 11.8))
    gs = fig.add_gridspec(4, 3, height_ratios=[1.1, 1, 1.1, 1])
    axes = np.array([[fig.add_subplot(gs[2 * (j // 3) + r, j % 3]) for j in range(len(forms))] for r in range(2)])
    agreement, data = {}, {}
    idx = np.arange(1, N_ITEMS + 1)
    for j, st in enumerate(forms):
        s_an = st.singular_values(N_FEATURES)
        Ys = [st.sample(N_FEATURES, seed=seed + 1000 * j + k) for k in range(n_seeds)]
        svds = [np.linalg.svd(Y / N_ITEMS, full_matrices=False) for Y in Ys]
        s_samp = np.array([sv[1] for sv in svds])
        ax = axes[0, j]
        ax.plot(idx, s_an, "-", color=COLORS[j], label="analytic")
        ax.errorbar(idx, s_samp.mean(0), yerr=s_samp.std(0), fmt="o", ms=3.5, mfc="white", mec=COLORS[j],
                    ecolor=COLORS[j], capsize=1.5, label="sampled")
        ax.set_ylim(0, None)
        ax.set_title(st.kind, fontsize=11)
        ax.set_xlabel("mode alpha")
        if j % 3 == 0:
            ax.set_ylabel("singular value of Y/P")
        if j == 0:
            ax.legend(fontsize=8)
        # bottom: leading modes, sampled V rotated onto the analytic leading eigenspace
        k = _leading_group(st.eig, N_MODES_SHOWN)
        Vs = svds[0][2][:k].T  # (P, k) sampled item analyzers
        R_al, err = procrustes_align(Vs @ (Vs.T @ st.modes[:, :k]), st.modes[:, :k])
        ax = axes[1, j]
        for a in range(N_MODES_SHOWN):
            c = COLORS[(a + 1) % len(COLORS)]
            ax.plot(np.arange(N_ITEMS), st.modes[:, a], "-", color=c, lw=1.5, label=st.label[a])
            ax.plot(np.arange(N_ITEMS), R_al[:, a], "o", ms=3, mfc="white", mec=c)
        ax.set_xlabel("item (row-major)" if st.kind == "grid" else "item")
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=N_MODES_SHOWN, handlelength=1.2,
                  columnspacing=1.0)  # under the panel: the modes fill it
        if j % 3 == 0:
            ax.set_ylabel("item mode (analyzer) value")
        agreement[f"{st.kind}_s_max_rel_dev"] = float(np.max(np.abs(s_samp.mean(0) / s_an - 1)))
        agreement[f"{st.kind}_leading_modes_rel_err"] = err
        data[st.kind] = {"s_analytic": s_an, "s_sampled": s_samp, "eig": st.eig, "modes": st.modes[:, :k],
                         "labels": st.label}
    fig.suptitle(TITLE + f"; {N_FEATURES} Gaussian features")
    fig.tight_layout()
    record = {"params": {"n_items": N_ITEMS, "n_features": N_FEATURES, "n_seeds": n_seeds,
                         "forms": {st.kind: st.params for st in forms}},
              "data": data, "agreement": agreement}
    return save(fig, record, name=NAME, out=out, quick=quick)
