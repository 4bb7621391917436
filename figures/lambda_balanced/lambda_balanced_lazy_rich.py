"""(b) Lazy versus rich: loss curves and representation change across lambda."""
from __future__ import annotations

import numpy as np

from idealnets.theory.lambda_balanced import kernel_distance, lazy_map, ntk, representation_change, task_loss, whitened_task

from .._common import COLORS, DEFAULT_OUT, max_abs_dev, save, sim_markers, style, theory_line
from ._shared import exact_ensemble, init_ensemble, train_ensemble

NAME = "lambda_balanced_lazy_rich"
TITLE = "Lazy versus rich learning across lambda"
SECTION = "Exact dynamics from lambda-balanced initialisation (Braun et al. 2022; Dominé et al. 2025)"
CAPTION = (
    "**Lazy vs rich**: loss curves across lambda with the frozen-kernel prediction, and how far "
    "the tangent kernel and the hidden kernel W1^T W1 move, as a function of lambda; trained "
    "losses within {max_of[loss_max_abs_dev_lam*]:.1e} of the exact solution."
)
# Tolerance the test suite holds each agreement value to, and the test; read by figures/gallery.py for the
# paper's agreement table. GD (lr = 5e-4) against the flow: the maps differ by <= 2 lr s1 per entry
# (tests/test_lambda_balanced.py, GD_ERR_PER_LR), <= 4 * 2 lr s1 = 0.012 in Frobenius norm (N = 4); the loss
# L = ||W - Syx||^2 / 2 <= L(0) = 7 then moves by <= sqrt(2 L) 0.012 = 0.045. The lazy lambda = +-10
# (rates ~ 11, outside the tests' lambda) relax as linear modes: <= L(0) lr rate / (2e) = 0.008.
TOLERANCES = {
    "loss_max_abs_dev_lam*": (0.05, "tests/test_records.py::test_records_within_tolerances",
        "O(lr): |dL| <= ||W - Syx|| ||dW||_F <= 3.8 * 4 * 2 lr s1 = 0.045"),
}

N_IN = N_HIDDEN = N_OUT = 4
S = (3.0, 2.0, 1.0)
LAMS = (-10.0, -1.0, 0.0, 1.0, 10.0)
MAP_SCALE = 0.01  # initial map size, equal for every lambda: lambda sets only the layers' relative scale
T = 8.0


def _ntk_distance(W1a, W2a, W1b, W2b):
    return np.array([float(kernel_distance(ntk(W1a[e], W2a[e]), ntk(W1b[e], W2b[e]))) for e in range(W1a.shape[0])])


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    import matplotlib.pyplot as plt

    style()
    E = 4 if quick else 16
    lr = 0.004 if quick else 0.0005
    n_rec = 20 if quick else 30
    lam_grid = np.concatenate([-np.geomspace(100, 0.01, 15 if quick else 41), [0.0],
                               np.geomspace(0.01, 100, 15 if quick else 41)])
    X, Y = whitened_task(N_IN, N_OUT, S, seed=seed)
    fig, (ax_l, ax_r) = plt.subplots(1, 2, figsize=(11, 4))
    data, agreement = {"loss": {}}, {}
    # one colour per |lambda|: on this square task lambda and -lambda give the same loss curve
    # (transposing the problem swaps W1 <-> W2^T and lambda <-> -lambda); circles lambda >= 0, squares < 0
    colors = {0.0: COLORS[3], 1.0: COLORS[1], 10.0: COLORS[2]}
    t_line = np.geomspace(lr, T, 200)
    rc_sim = {"ntk": [], "hidden": []}
    for k, lam in enumerate(LAMS):
        W1, W2 = init_ensemble(N_IN, N_HIDDEN, N_OUT, lam, MAP_SCALE, E, seed + 1000)  # same frames for all lambda
        exact = exact_ensemble(W1, W2, X, Y)
        run = train_ensemble(W1, W2, X, Y, lr=lr, T=T, n_rec=n_rec, log=True, device=device)
        L_line = np.mean([ex.loss(t_line) for ex in exact], axis=0)
        L_th = np.stack([ex.loss(run.times) for ex in exact])
        col = colors[abs(lam)]
        if lam >= 0:
            theory_line(ax_l, t_line, L_line, color=col, label=fr"$\lambda=\pm{lam:g}$" if lam else r"$\lambda=0$")
        else:
            theory_line(ax_l, t_line, L_line, color=col, lw=0.8)
        sim_markers(ax_l, run.times[1:], run.losses[:, 1:], color=col, marker="o" if lam >= 0 else "s", band=False,
                    ms=4.0 if lam >= 0 else 3.0)
        if abs(lam) >= 10:
            L_lazy = np.mean([task_loss(lazy_map(t_line, W1[e], W2[e], X, Y), X, Y) for e in range(E)], axis=0)
            ax_l.plot(t_line, L_lazy, ":", color="k", lw=1.2, label="lazy (frozen NTK)" if lam > 0 else None)
            agreement[f"loss_exact_vs_lazy_max_abs_lam{lam:g}"] = max_abs_dev(L_lazy, L_line)
        agreement[f"loss_max_abs_dev_lam{lam:g}"] = max_abs_dev(L_th, run.losses)
        data["loss"][f"lam{lam:g}"] = {"t": run.times, "theory": L_th.mean(0), "sim_mean": run.losses.mean(0)}
        W1T, W2T = run.weights[0][:, -1], run.weights[1][:, -1]
        rc_sim["ntk"].append(_ntk_distance(W1, W2, W1T, W2T))
        rc_sim["hidden"].append(np.array([float(kernel_distance(W1[e].T @ W1[e], W1T[e].T @ W1T[e]))
                                          for e in range(E)]))
    ax_l.set_xscale("log")
    ax_l.set_yscale("log")
    ax_l.set_ylim(1e-4, None)
    ax_l.set_xlabel(r"time $t/\tau$")
    ax_l.set_ylabel("training loss")
    ax_l.set_title("loss: larger $|\\lambda|$ learns faster and without plateaus")
    ax_l.legend(loc="lower left")

    # representation change at t = T, theory over a fine lambda grid (same E seeds per point)
    rc_th = {"ntk": np.zeros((lam_grid.size, E)), "hidden": np.zeros((lam_grid.size, E))}
    for i, lam in enumerate(lam_grid):
        W1, W2 = init_ensemble(N_IN, N_HIDDEN, N_OUT, lam, MAP_SCALE, E, seed + 1000)
        for e, ex in enumerate(exact_ensemble(W1, W2, X, Y)):
            r = representation_change(ex, T)
            rc_th["ntk"][i, e], rc_th["hidden"][i, e] = float(r["ntk"]), float(r["hidden"])
    labels = {"ntk": "tangent kernel $\\Theta$", "hidden": "hidden kernel $W_1^\\top W_1$"}
    for j, key in enumerate(("ntk", "hidden")):
        col = COLORS[4 + j]
        theory_line(ax_r, lam_grid, rc_th[key].mean(1), color=col, label=labels[key])
        ax_r.fill_between(lam_grid, *np.percentile(rc_th[key], [16, 84], axis=1), color=col, alpha=0.12, lw=0)
        sims = np.stack(rc_sim[key], axis=1)  # (E, n_lams)
        sim_markers(ax_r, np.array(LAMS), sims, color=col, band=False)
        ax_r.errorbar(LAMS, sims.mean(0), yerr=sims.std(0), fmt="none", ecolor=col, elinewidth=1)
        # theory for the very same initialisations as the trained networks
        th_same = []
        for k, lam in enumerate(LAMS):
            W1, W2 = init_ensemble(N_IN, N_HIDDEN, N_OUT, lam, MAP_SCALE, E, seed + 1000)
            th_same.append([float(representation_change(ex, T)[key]) for ex in exact_ensemble(W1, W2, X, Y)])
        agreement[f"rep_change_{key}_max_abs_dev"] = max_abs_dev(np.array(th_same).T, sims)
        data[f"rep_change_{key}"] = {"lam": lam_grid, "theory_mean": rc_th[key].mean(1), "sim_lams": LAMS,
                                     "sim_mean": sims.mean(0)}
    ax_r.set_xscale("symlog", linthresh=0.01)
    ax_r.set_xticks([-100, -10, -1, -0.1, 0, 0.1, 1, 10, 100])
    ax_r.set_xticklabels(["$-10^2$", "$-10$", "$-1$", "$-0.1$", "0", "0.1", "1", "10", "$10^2$"])
    ax_r.set_xlabel(r"balance $\lambda$  ($W_2^\top W_2 - W_1W_1^\top = \lambda I$)")
    ax_r.set_ylabel(f"kernel distance, $t=0 \\to {T:g}$")
    ax_r.set_title("representation change: $\\Theta$ freezes for $|\\lambda|\\gg s$, $W_1^\\top W_1$ only for $\\lambda<0$",
                   fontsize=10)
    ax_r.legend(loc="upper left")
    fig.suptitle(f"{TITLE}: lines = exact (mean of {E} random inits), markers = trained ($\\eta={lr:g}$)",
                 fontsize=10)
    fig.tight_layout()
    rec = {"params": {"N": N_IN, "s": S, "lams": LAMS, "map_scale": MAP_SCALE, "E": E, "lr": lr, "T": T,
                      "seed": seed}, "data": data, "agreement": agreement}
    return save(fig, rec, name=NAME, out=out, quick=quick)
