"""Phase diagram of the linear teacher-student model: test error at the optimal stopping time and at convergence.

Theory: theory.generalization.LinearStudentTheory (Advani, Saxe & Sompolinsky
2020; Marchenko-Pastur spectrum, gradient flow from zero weights) at every
point of an (alpha = P/N, SNR = sigma_w^2/sigma_eps^2) grid, swept with
:func:`idealnets.sweeps.sweep`. Simulation: full-batch GD of linear students on
sampled data sets (simulate.generalization.train_linear) on a subgrid, also
through :func:`idealnets.sweeps.sweep`: the minimum over time of the data-set mean
test error (early stopping) and its value after convergence.

The two heat maps show where overtraining appears: E_g(inf) / E_g(t*) is
large near alpha = 1 (the interpolation peak, where E_g(inf) diverges) and at
low SNR; early stopping removes the peak. Finite-N simulations agree within
their standard errors plus O(1/N) finite-size corrections.
"""
from __future__ import annotations

import numpy as np
import matplotlib.pyplot as plt
from matplotlib.colors import LogNorm

from idealnets.sweeps import sweep
from idealnets.sweeps.phase import LINEAR_ALPHA, LINEAR_SNR, SIZES, linear_sim, linear_theory

from .._common import COLORS, DEFAULT_OUT, save, style, theory_line

NAME = "phase_linear"
TITLE = "Linear teacher-student: test error at early stopping and at convergence over (alpha, SNR)"
SECTION = "Phase diagrams (parameter sweeps on Dask)"
CAPTION = (
    "**Overtraining phase diagram** of the linear student (Advani, Saxe & Sompolinsky 2020): theory heat maps of "
    "the test error at the optimal stopping time E_g(t*) and at convergence E_g(inf) over (alpha = P/N, SNR), "
    "and their ratio (overtraining); circles: gradient-descent students (N = {params[N]}, {params[n_inputs]} data "
    "sets per point) filled with their own value. Median |sim/theory - 1|: "
    "{agreement[E_stop_median_rel_dev]:.2g} (early stopping), {agreement[E_conv_median_rel_dev]:.2g} (convergence); "
    "largest deviation in standard errors {agreement[max_dev_in_se]:.2g}.")
TOLERANCES = {
    "E_stop_median_rel_dev": (0.06, "tests/test_records.py::test_records_within_tolerances",
                              "99.9% of the median of 15 |dev| (6 data sets, se ~2.3%) + O(1/N) at N = 100"),
    "E_conv_median_rel_dev": (0.08, "tests/test_records.py::test_records_within_tolerances",
                              "99.9% of the median of 15 |dev| (6 data sets, se ~4.4%) + O(1/N) at N = 100"),
    "max_dev_in_se": (9.0, "tests/test_records.py::test_records_within_tolerances",
                      "max of 30 |t_5| (se from 6 data sets): 1% family-wise quantile 8.7"),
}


def _v(ds, var):
    a = ds[var]
    return a.squeeze([d for d in a.dims if a.sizes[d] == 1 and d not in ("alpha", "snr")])


def _log_ticks(ax, y: bool = True) -> None:
    from matplotlib.ticker import FixedLocator, NullLocator

    ax.xaxis.set_major_locator(FixedLocator([0.2, 0.5, 1, 2, 5]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels(["0.2", "0.5", "1", "2", "5"])
    if y:
        ax.yaxis.set_major_locator(FixedLocator([0.25, 1, 4, 16]))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.set_yticklabels(["0.25", "1", "4", "16"])


def build(*, size: str = "full", processes: bool = False, scheduler=None, cache=None, out=DEFAULT_OUT,
          seed: int = 0) -> dict:
    """Compute (through sweeps) and draw the figure at ``size`` ("quick", "full", "large")."""
    style()
    c = SIZES[NAME][size]
    kw = dict(cache=cache, scheduler=scheduler, processes=processes)
    alphas = [float(a) for a in np.geomspace(*LINEAR_ALPHA, c["n_alpha"])]
    snrs = [float(s) for s in np.geomspace(*LINEAR_SNR, c["n_snr"])]
    th = sweep(linear_theory, {"alpha": alphas, "snr": snrs}, **kw)
    sim = sweep(linear_sim, {"alpha": [float(a) for a in c["sim_alpha"]], "snr": [float(s) for s in c["sim_snr"]],
                             "N": [c["N"]], "n_inputs": [c["n_inputs"]]}, seeds=[seed], **kw)
    E_stop, E_conv = _v(th, "E_stop").values, _v(th, "E_conv").values  # (alpha, snr)
    S_stop, S_conv = _v(sim, "E_stop").values, _v(sim, "E_conv").values
    se_stop, se_conv = _v(sim, "E_stop_se").values, _v(sim, "E_conv_se").values
    sa, ss = np.array(c["sim_alpha"]), np.array(c["sim_snr"])
    at_sim = [[linear_theory(a, s) for s in ss] for a in sa]   # each point once (both errors from one call)
    th_pts = np.array([[r["E_stop"] for r in row] for row in at_sim])
    th_pts_conv = np.array([[r["E_conv"] for r in row] for row in at_sim])

    fig, axes = plt.subplots(2, 2, figsize=(11, 8.4))   # two rows: legible at the text width
    axes = axes.ravel()
    A, S = np.array(alphas), np.array(snrs)
    ratio = E_conv / E_stop
    panels = [(E_stop, S_stop, r"$E_g(t^*)$ (optimal early stopping)"),
              (E_conv, S_conv, r"$E_g(\infty)$ (converged)"),
              (ratio, S_conv / S_stop, r"overtraining $E_g(\infty)/E_g(t^*)$")]
    for ax, (mat, simv, label) in zip(axes[:3], panels):
        finite = mat[np.isfinite(mat)]
        norm = LogNorm(vmin=finite.min(), vmax=finite.max() if mat is not ratio else min(finite.max(), 30.0))
        ax.set_facecolor("0.8")
        im = ax.pcolormesh(A, S, np.ma.masked_invalid(mat).T, norm=norm, cmap="magma", shading="nearest")
        fig.colorbar(im, ax=ax, label=label)
        aa, sg = np.meshgrid(sa, ss, indexing="ij")
        ax.scatter(aa.ravel(), sg.ravel(), c=simv.ravel(), norm=norm, cmap="magma", s=70, edgecolors="w",
                   linewidths=1.8, zorder=3)
        ax.set_xscale("log")
        ax.set_yscale("log")
        _log_ticks(ax)
        ax.set_xlabel(r"$\alpha = P/N$")
        ax.set_ylabel(r"SNR $\sigma_w^2/\sigma_\epsilon^2$")
        ax.set_title(label)
    # cuts at the simulated SNRs
    ax = axes[3]
    for k, s in enumerate(ss):
        col = COLORS[k % len(COLORS)]
        a_line = np.geomspace(*LINEAR_ALPHA, 60 if size == "quick" else 160)
        cut = [linear_theory(a, s) for a in a_line]
        line_stop = np.array([r["E_stop"] for r in cut])
        line_conv = np.array([r["E_conv"] for r in cut])
        theory_line(ax, a_line, line_stop, color=col, label=f"SNR {s:g}: $E_g(t^*)$")
        ax.plot(a_line, line_conv, "--", color=col, lw=1.4, label=f"SNR {s:g}: $E_g(\\infty)$")
        ax.errorbar(sa, S_stop[:, k], yerr=se_stop[:, k], fmt="o", ms=5, mfc="white", mec=col, ecolor=col, capsize=2,
                    zorder=3)
        ax.errorbar(sa, S_conv[:, k], yerr=se_conv[:, k], fmt="s", ms=5, mfc="white", mec=col, ecolor=col,
                    capsize=2, zorder=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(top=10 * np.nanmax(S_conv))
    _log_ticks(ax, y=False)
    ax.set_xlabel(r"$\alpha = P/N$")
    ax.set_ylabel("test error")
    ax.set_title("cuts (lines: theory; o: GD at $t^*$, s: converged)")
    ax.legend(fontsize=7, ncol=1, loc="lower left")
    fig.suptitle(TITLE.replace(": ", ":\n", 1), y=1.02)
    fig.tight_layout()
    rel_stop = np.abs(S_stop / th_pts - 1)
    rel_conv = np.abs(S_conv / th_pts_conv - 1)
    dev_se = np.concatenate([(np.abs(S_stop - th_pts) / np.maximum(se_stop, 1e-12)).ravel(),
                             (np.abs(S_conv - th_pts_conv) / np.maximum(se_conv, 1e-12)).ravel()])
    agreement = {
        "E_stop_median_rel_dev": float(np.median(rel_stop)),
        "E_stop_max_rel_dev": float(np.max(rel_stop)),
        "E_conv_median_rel_dev": float(np.median(rel_conv)),
        "E_conv_max_rel_dev": float(np.max(rel_conv)),
        "max_dev_in_se": float(np.max(dev_se)),
    }
    params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in c.items()}
    params.update(size=size, alpha_range=LINEAR_ALPHA, snr_range=LINEAR_SNR,
                  sweep_attrs={n: {k: str(v) for k, v in d.attrs.items()} for n, d in (("theory", th), ("sim", sim))})
    rec = {"params": params,
           "data": {"alpha": A, "snr": S, "E_stop": E_stop, "E_conv": E_conv, "sim_alpha": sa, "sim_snr": ss,
                    "sim_E_stop": S_stop, "sim_E_conv": S_conv, "sim_E_stop_se": se_stop, "sim_E_conv_se": se_conv,
                    "theory_at_sim_E_stop": th_pts, "theory_at_sim_E_conv": th_pts_conv},
           "agreement": agreement}
    return save(fig, rec, name=NAME, out=out, quick=size == "quick")


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    """The gallery version: in this process (``processes=False``); simulations on the CPU (``device`` unused)."""
    return build(size="quick" if quick else "full", processes=False, out=out, seed=seed)
