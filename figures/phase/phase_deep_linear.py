"""Phase diagram of deep linear networks: learning time over (depth, initial scale), theory vs trained networks.

Theory: the time for the top mode of a whitened task to reach half its final
strength from a decoupled, balanced start with per-layer scale a, i.e.
product strength u0 = a^D (Saxe, McClelland & Ganguli 2014, Eq. 9 for
D = 1, 2 and the closed-form time integral for D >= 3;
theory.deep_linear.learning_time), at every (D, a) of a grid swept with
:func:`idealnets.sweeps.sweep`. Simulation: full-batch GD of width-2 networks from the
same ("decoupled") initial condition (simulate.deep_linear.train), the time
at which the measured top-mode strength crosses s/2, on a subgrid (points
whose predicted time exceeds the simulation budget t_cap are not trained).

What it shows: at small initial scale the learning time grows without bound
with depth (u0 = a^D vanishes), while at a ~ 1/2 it stays of order one --
the phase diagram behind "small random weights make deep nets slow".
GD is compared at t = lr * steps with lr = 0.05; the O(lr) discretisation
gap is the measured deviation.
"""
from __future__ import annotations

import numpy as np
import matplotlib.pyplot as plt
from matplotlib.colors import LogNorm

from idealnets.sweeps import sweep
from idealnets.sweeps.phase import DEEP_LR, DEEP_S, DEEP_SCALE, SIZES, deep_sim, deep_theory

from .._common import COLORS, DEFAULT_OUT, save, style, theory_line

NAME = "phase_deep_linear"
TITLE = "Deep linear networks: learning time over (depth, initial scale)"
SECTION = "Phase diagrams (parameter sweeps on Dask)"
CAPTION = (
    "**Learning-time phase diagram** of deep linear networks (Saxe et al. 2014): theory heat map of the time for "
    "the top mode (s = {params[s_top]:g}) to reach s/2 from a balanced start with per-layer scale a "
    "(u0 = a^D), over depth D and a; circles: gradient descent (lr = {params[lr]:g}, {params[n_nets]} networks per "
    "point), filled with their own value, and the same on cuts. Max |t_sim/t_theory - 1| = "
    "{agreement[max_rel_dev]:.2g} over {agreement[n_compared]} points.")
TOLERANCES = {
    "max_rel_dev": (0.09, "tests/test_records.py::test_records_within_tolerances",
                    "GD at lr = 0.05: rate shift lr s/2 = 2.5%; log-t interpolation in a step at t ~ 2 lr: 6%"),
}


def _v(ds, var):
    a = ds[var]
    return a.squeeze([d for d in a.dims if a.sizes[d] == 1 and d not in ("depth", "scale")])


def _scale_ticks(ax) -> None:
    from matplotlib.ticker import FixedLocator, NullLocator

    ax.xaxis.set_major_locator(FixedLocator([0.05, 0.1, 0.2, 0.4]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels(["0.05", "0.1", "0.2", "0.4"])


def build(*, size: str = "full", processes: bool = False, scheduler=None, cache=None, out=DEFAULT_OUT,
          seed: int = 0) -> dict:
    """Compute (through sweeps) and draw the figure at ``size`` ("quick", "full", "large")."""
    style()
    c = SIZES[NAME][size]
    kw = dict(cache=cache, scheduler=scheduler, processes=processes)
    depths = [int(d) for d in c["depths"]]
    scales = [float(a) for a in np.geomspace(*DEEP_SCALE, c["n_scale"])]
    th = sweep(deep_theory, {"depth": depths, "scale": scales}, **kw)
    T = _v(th, "t_learn").values  # (depth, scale)
    # simulate only where the predicted time fits the budget
    sim_d, sim_a = list(c["sim_depths"]), [float(a) for a in c["sim_scales"]]
    pred = np.array([[deep_theory(d, a)["t_learn"] for a in sim_a] for d in sim_d])
    sim = sweep(deep_sim, {"depth": sim_d, "scale": sim_a, "n_nets": [c["n_nets"]], "t_cap": [c["t_cap"]]},
                seeds=[seed], **kw)
    ts = _v(sim, "t_learn").values  # (depth, scale, net)
    ok_pred = pred < c["t_cap"] / 1.2
    with np.errstate(all="ignore"):
        t_mean, t_sd = np.nanmean(ts, axis=-1), np.nanstd(ts, axis=-1)
    t_mean = np.where(ok_pred, t_mean, np.nan)

    fig, axes = plt.subplots(1, 3, figsize=(11.2, 5.4), layout="constrained")
    ax = axes[0]
    finite = T[np.isfinite(T)]
    norm = LogNorm(vmin=finite.min(), vmax=finite.max())
    im = ax.pcolormesh(scales, np.arange(len(depths)), T, norm=norm, cmap="cividis", shading="nearest")
    fig.colorbar(im, ax=ax, label=r"learning time $t_{1/2}/\tau$")
    for i, d in enumerate(sim_d):
        row = depths.index(d)
        m = t_mean[i]
        keep = np.isfinite(m)
        ax.scatter(np.array(sim_a)[keep], np.full(keep.sum(), row), c=m[keep], norm=norm, cmap="cividis", s=70,
                   edgecolors="w", linewidths=1.8, zorder=3)
    cs = ax.contour(scales, np.arange(len(depths)), T, levels=[10, 100, 1000, 1e4], colors="w", linewidths=0.8)
    ax.clabel(cs, fmt=lambda v: f"t={v:g}", fontsize=7)
    ax.set_xscale("log")
    _scale_ticks(ax)
    ax.set_yticks(np.arange(len(depths)))
    ax.set_yticklabels([str(d) for d in depths])
    ax.set_xlabel("per-layer initial scale $a$\n($u_0 = a^D$)")
    ax.set_ylabel("depth D")
    ax.set_title("theory heat map, GD circles")
    # cuts: t vs a at each simulated depth; t vs D at each simulated scale
    ax = axes[1]
    a_line = np.geomspace(*DEEP_SCALE, 100)
    for i, d in enumerate(sim_d):
        col = COLORS[i % len(COLORS)]
        theory_line(ax, a_line, [deep_theory(d, a)["t_learn"] for a in a_line], color=col, label=f"D = {d}")
        ax.errorbar(sim_a, t_mean[i], yerr=t_sd[i], fmt="o", ms=5, mfc="white", mec=col, ecolor=col, capsize=2,
                    zorder=3)
    ax.set_xscale("log")
    _scale_ticks(ax)
    ax.set_yscale("log")
    ax.set_ylim(top=10 * c["t_cap"])
    ax.set_xlabel("per-layer initial scale $a$")
    ax.set_ylabel(r"learning time $t_{1/2}/\tau$")
    ax.set_title("cuts at fixed depth\n(lines: theory, o: GD)")
    # legends under the panels: inside, they covered the curves at print size
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=3, fontsize=8, frameon=False)
    ax = axes[2]
    d_line = np.array(depths)
    for j, a in enumerate(sim_a):
        col = COLORS[j % len(COLORS)]
        theory_line(ax, d_line, [deep_theory(d, a)["t_learn"] for d in d_line], color=col, label=f"a = {a:g}",
                    marker=".")
        ax.errorbar(sim_d, t_mean[:, j], yerr=t_sd[:, j], fmt="o", ms=5, mfc="white", mec=col, ecolor=col,
                    capsize=2, zorder=3)
    ax.set_yscale("log")
    ax.set_ylim(top=10 * c["t_cap"])
    ax.set_xlabel("depth D")
    ax.set_ylabel(r"learning time $t_{1/2}/\tau$")
    ax.set_title("cuts at fixed scale")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, fontsize=8, frameon=False)
    fig.suptitle(TITLE)
    # 11.5 in wide: prints at >= 7 pt at the text width; the constrained layout keeps the colour bar's
    # label clear of the next panel's axis label
    fig.get_layout_engine().set(w_pad=0.06, wspace=0.08)
    good = np.isfinite(t_mean)
    rel = np.abs(t_mean[good] / pred[good] - 1)
    agreement = {"max_rel_dev": float(rel.max()), "median_rel_dev": float(np.median(rel)),
                 "n_compared": int(good.sum())}
    params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in c.items()}
    params.update(size=size, s_top=DEEP_S[0], s=list(DEEP_S), lr=DEEP_LR, scale_range=DEEP_SCALE,
                  sweep_attrs={n: {k: str(v) for k, v in d.attrs.items()} for n, d in (("theory", th), ("sim", sim))})
    rec = {"params": params,
           "data": {"depths": depths, "scales": scales, "t_theory": T, "sim_depths": sim_d, "sim_scales": sim_a,
                    "t_sim_mean": t_mean, "t_sim_sd": t_sd, "t_theory_at_sim": pred},
           "agreement": agreement}
    return save(fig, rec, name=NAME, out=out, quick=size == "quick")


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    """The gallery version: in this process (``processes=False``); simulations on the CPU (``device`` unused)."""
    return build(size="quick" if quick else "full", processes=False, out=out, seed=seed)
