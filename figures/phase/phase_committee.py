"""Phase diagram of online SGD in committee machines: plateau length and final eps_g over (lr, K) and (lr, noise).

Theory: the order-parameter ODE (Saad & Solla 1995; Goldt et al. 2019),
one row of learning rates per task, each row ONE vectorised integration
(theory.committee_grid), swept with :func:`idealnets.sweeps.sweep`. Simulation: online
SGD of N-dimensional students (simulate.committee) started exactly at the
theory's initial overlaps, at a subgrid of (lr, K) and (lr, noise), also
through :func:`idealnets.sweeps.sweep`; they are drawn as circles filled with their
own value on the heat map (same colour scale) and as markers on cuts.

Setting (sweeps.phase): teacher M = 2 units (T = I, v* = 1), student K >= M
units with the second layer frozen at v = M/K (realisable by K/M copies of
each teacher unit), start Q0 = 0.25 I + R0 R0^T with a small deterministic
asymmetry in R0. Plateau length: the alpha at which the specialisation index
(theory.committee.specialisation_index) first exceeds 1/2 (grey: no escape by
alpha_final, or divergence). Final error: eps_g at alpha_final.

What is matched, honestly: the final error agrees within the finite-N
fluctuations (O(N^-1/2)). The plateau's end is an instability of the
symmetric fixed point; at finite N the SGD noise adds O(N^-1/2) asymmetry
every step, so simulated plateaus end earlier than the N -> infinity ODE
predicts (the measured log-ratio is recorded, and it shrinks with N).
"""
from __future__ import annotations

import numpy as np
import matplotlib.pyplot as plt
from matplotlib.colors import LogNorm

from idealnets.sweeps import sweep
from idealnets.sweeps.phase import COMMITTEE_LR, COMMITTEE_M, SIZES, committee_sim, committee_theory

from .._common import COLORS, DEFAULT_OUT, save, style, theory_line

NAME = "phase_committee"
TITLE = "Committee machines: plateau length and final error over (lr, K) and (lr, noise)"
SECTION = "Phase diagrams (parameter sweeps on Dask)"
CAPTION = (
    "**Online SGD phase diagram** of a K-unit committee learning an M = 2 teacher: ODE heat maps (one vectorised "
    "integration per row, swept with `idealnets.sweeps.sweep`) of the plateau length (alpha at which the specialisation "
    "index passes 1/2) and the final eps_g at alpha = {params[alpha_final]:g}, over (lr, K) at noise "
    "{params[K_noise]:g} (top) and over (lr, noise) at K = {params[noise_K]} (bottom); circles: online SGD at "
    "N = {params[N]} ({params[n_nets]} students per point), filled with their own value. Final error: median "
    "|log(sim/theory)| = {agreement[eps_final_median_abs_log_ratio]:.2g}; plateau length: median "
    "log(sim/theory) = {agreement[plateau_median_log_ratio]:.2g} (finite-N noise shortens the plateau).")
TOLERANCES = {
    "plateau_median_log_ratio": ((-10.0, 0.0), "tests/test_records.py::test_records_within_tolerances",
                                 "the claim: finite-N noise shortens the plateau (log ratio < 0)"),
}


def _v(ds, var):
    """ds[var] with every size-1 grid dimension dropped."""
    a = ds[var]
    return a.squeeze([d for d in a.dims if a.sizes[d] == 1 and not d.startswith(var + "_")])


def _compute(size, processes, scheduler, cache, seed):
    c = SIZES[NAME][size]
    kw = dict(cache=cache, scheduler=scheduler, processes=processes)
    common = {"n_lr": [c["n_lr"]], "alpha_final": [c["alpha_final"]]}
    th_K = sweep(committee_theory, {"K": list(c["Ks"]), "noise": [c["K_noise"]], **common}, **kw)
    th_n = sweep(committee_theory, {"K": [c["noise_K"]], "noise": list(c["noises"]), **common}, **kw)
    lr = np.linspace(*COMMITTEE_LR, c["n_lr"])
    sim_lr = [float(lr[i]) for i in c["sim_lr"]]
    sim_common = {"N": [c["N"]], "alpha_final": [c["alpha_final"]], "n_nets": [c["n_nets"]]}
    sim_K = sweep(committee_sim, {"lr": sim_lr, "K": list(c["sim_K"]), "noise": [c["K_noise"]], **sim_common},
                  seeds=[seed], **kw)
    sim_n = sweep(committee_sim, {"lr": sim_lr, "K": [c["noise_K"]], "noise": list(c["sim_noise"]), **sim_common},
                  seeds=[seed], **kw)
    return c, lr, sim_lr, th_K, th_n, sim_K, sim_n


def build(*, size: str = "full", processes: bool = False, scheduler=None, cache=None, out=DEFAULT_OUT,
          seed: int = 0) -> dict:
    """Compute (through sweeps) and draw the figure at ``size`` ("quick", "full", "large")."""
    style()
    c, lr, sim_lr, th_K, th_n, sim_K, sim_n = _compute(size, processes, scheduler, cache, seed)
    # theory (rows: K or noise; columns: lr); simulation (lr, K or noise, net)
    rows = [
        ("K", np.array(c["Ks"]), _v(th_K, "plateau").values.reshape(len(c["Ks"]), -1),
         _v(th_K, "eps_final").values.reshape(len(c["Ks"]), -1), np.array(c["sim_K"]),
         _v(sim_K, "plateau").values.reshape(len(sim_lr), len(c["sim_K"]), -1),
         _v(sim_K, "eps_final").values.reshape(len(sim_lr), len(c["sim_K"]), -1),
         f"noise $\\sigma$ = {c['K_noise']:g}"),
        ("noise", np.array(c["noises"]), _v(th_n, "plateau").values.reshape(len(c["noises"]), -1),
         _v(th_n, "eps_final").values.reshape(len(c["noises"]), -1), np.array(c["sim_noise"]),
         _v(sim_n, "plateau").values.reshape(len(sim_lr), len(c["sim_noise"]), -1),
         _v(sim_n, "eps_final").values.reshape(len(sim_lr), len(c["sim_noise"]), -1),
         f"K = {c['noise_K']}"),
    ]
    # four rows of two (heat maps above their cuts): legible at the text width; panel (r, j) of the
    # 2 x 4 layout (r: the K or the noise sweep; j: two heat maps, then two cuts) is grid[2r + j // 2, j % 2]
    fig, grid = plt.subplots(4, 2, figsize=(10.5, 13), layout="constrained")  # room for colour bars
    axes = np.empty((2, 4), dtype=object)
    for r in range(2):
        for j in range(4):
            axes[r, j] = grid[2 * r + j // 2, j % 2]
    log_ratio_p, log_ratio_e = [], []
    data = {"lr": lr, "sim_lr": sim_lr}
    for r, (yname, yv, plat, epsf, sim_y, sp, se, fixed) in enumerate(rows):
        ylab = "student width K" if yname == "K" else r"output noise $\sigma$"
        for j, (mat, simv, label) in enumerate([(plat, sp, r"plateau length $\alpha_{esc}$"),
                                               (epsf, se, r"final $\epsilon_g$")]):
            ax = axes[r, j]
            finite = mat[np.isfinite(mat) & (mat > 0)]
            norm = LogNorm(vmin=finite.min(), vmax=finite.max()) if finite.size else None
            ax.set_facecolor("0.8")
            yi = np.arange(len(yv))
            im = ax.pcolormesh(lr, yi, np.ma.masked_invalid(mat), norm=norm, cmap="viridis", shading="nearest")
            fig.colorbar(im, ax=ax, label=label)
            for k, yval in enumerate(sim_y):
                row = int(np.nonzero(np.isclose(yv, yval))[0][0])
                with np.errstate(all="ignore"):
                    m = np.nanmean(simv[:, k, :], axis=1)
                ax.scatter(sim_lr, np.full(len(sim_lr), row), c=m, norm=norm, cmap="viridis", s=70,
                           edgecolors="k", linewidths=1.0, zorder=3)
            ax.set_yticks(yi)
            ax.set_yticklabels([f"{v:g}" for v in yv])
            ax.set_xlabel(r"learning rate $\eta$")
            ax.set_ylabel(ylab)
            ax.set_title(f"{label}, {fixed}" + (" (grey: none)" if j == 0 else " (grey: diverged)"))
        # cuts: theory lines, simulation markers (mean +- sd over students)
        for j, (mat, simv, label) in enumerate([(plat, sp, r"plateau length $\alpha_{esc}$"),
                                               (epsf, se, r"final $\epsilon_g$")]):
            ax = axes[r, 2 + j]
            for k, yval in enumerate(sim_y):
                row = int(np.nonzero(np.isclose(yv, yval))[0][0])
                col = COLORS[k % len(COLORS)]
                lab = f"K = {yval:g}" if yname == "K" else f"$\\sigma$ = {yval:g}"
                theory_line(ax, lr, mat[row], color=col, label=f"ODE, {lab}")
                with np.errstate(all="ignore"):
                    m, sd = np.nanmean(simv[:, k, :], axis=1), np.nanstd(simv[:, k, :], axis=1)
                ax.errorbar(sim_lr, m, yerr=sd, fmt="o", ms=5, mfc="white", mec=col, ecolor=col, capsize=2,
                            label=f"SGD N={c['N']}, {lab}", zorder=3)
                th_at = np.array([mat[row][int(np.argmin(np.abs(lr - x)))] for x in sim_lr])
                ok = np.isfinite(th_at) & np.isfinite(m) & (th_at > 0) & (m > 0)
                (log_ratio_p if j == 0 else log_ratio_e).extend(np.log(m[ok] / th_at[ok]).tolist())
                data[f"{yname}{yval:g}_{'plateau' if j == 0 else 'eps_final'}"] = {
                    "theory": mat[row], "sim_mean": m, "sim_sd": sd}
            ax.set_yscale("log")
            ax.set_xlabel(r"learning rate $\eta$")
            ax.set_ylabel(label)
            ax.set_title(f"cuts, {fixed}")
            ax.legend(loc="best", fontsize=7.5)
        data[f"theory_{yname}"] = {"y": yv, "plateau": plat, "eps_final": epsf}
    fig.suptitle(TITLE.replace(": ", ":\n", 1))
    lp, le = np.array(log_ratio_p), np.array(log_ratio_e)
    agreement = {
        "eps_final_median_abs_log_ratio": float(np.median(np.abs(le))) if le.size else float("nan"),
        "eps_final_max_abs_log_ratio": float(np.max(np.abs(le))) if le.size else float("nan"),
        "plateau_median_log_ratio": float(np.median(lp)) if lp.size else float("nan"),
        "n_plateau_compared": int(lp.size),
        "n_eps_compared": int(le.size),
    }
    params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in c.items()}
    params.update(size=size, M=COMMITTEE_M, lr_range=COMMITTEE_LR,
                  sweep_attrs={n: {k: str(v) for k, v in d.attrs.items()} for n, d in
                               (("theory_K", th_K), ("theory_noise", th_n), ("sim_K", sim_K), ("sim_noise", sim_n))})
    rec = {"params": params, "data": data, "agreement": agreement}
    return save(fig, rec, name=NAME, out=out, quick=size == "quick")


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    """The gallery version: in this process (``processes=False``); simulations on the CPU (``device`` unused)."""
    return build(size="quick" if quick else "full", processes=False, out=out, seed=seed)
