"""(a) The empirical NTK at initialisation converges to the analytic kernel as the width grows."""
from __future__ import annotations

import numpy as np
import matplotlib.pyplot as plt

from idealnets.simulate.ntk import empirical_kernels, init_mlp
from idealnets.theory.ntk import kernels

from .._common import COLORS, DEFAULT_OUT, save, sim_markers, style, theory_line
from ._shared import B_STD, W_STD, circle, guide, loglog_slope

NAME = "ntk_kernel_convergence"
TITLE = "Empirical NTK at initialisation vs the analytic infinite-width kernel"
SECTION = "Infinite width (Jacot et al. 2018; Lee et al. 2019; Saxe, Nelli & Summerfield 2021, Fig. 4d)"
CAPTION = (
    "**Empirical NTK at initialisation** converging to the analytic kernel, distance ~ "
    "width^{agreement[slope_relu_depth1]:.2f} (ReLU), ^{agreement[slope_erf_depth1]:.2f} (erf)."
)
# Tolerance the test suite holds each agreement value to (at the test's smaller size), and the
# test; read by figures/gallery.py for the paper's agreement table.
TOLERANCES = {
    # log-log slope of the empirical NTK's relative error vs width (ReLU, depth 1), -1/2 within scatter
    "slope_relu_depth1": ((-0.62, -0.38), "tests/test_ntk.py::test_empirical_ntk_fluctuation_shrinks",
                          "CLT: fluctuations O(width^-1/2), slope -1/2 within the scatter of the ensemble"),
    "slope_erf_depth1": ((-0.62, -0.38), "tests/test_records.py::test_records_within_tolerances",
                         "CLT: fluctuations O(width^-1/2), slope -1/2 within the scatter of 16 networks"),
}

WIDTHS = [64, 128, 256, 512, 1024, 2048, 4096]
N_NETWORKS = 16
CASES = [("relu", 1), ("erf", 1), ("relu", 2)]  # (activation, hidden layers)
N_ANGLES = 25


def _n_networks(width: int, depth: int, base: int) -> int:
    # depth >= 2 has width x width matrices: keep memory ~ E * width^2 * 8 B below ~650 MB
    return base if depth == 1 else max(2, min(base, int(8e7 // width**2)))


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    widths = [64, 256, 1024] if quick else WIDTHS
    base = 8 if quick else N_NETWORKS
    cases = CASES[:2] if quick else CASES
    ang = np.linspace(0, np.pi, N_ANGLES)
    x = circle(ang)  # Theta(x(angle), x(0)) as a function of the angle between inputs
    style()
    fig, (axl, axr) = plt.subplots(1, 2, figsize=(10, 3.8))
    data, agreement = {"angle": ang, "widths": widths}, {}
    for c, (act, depth) in enumerate(cases):
        arch = dict(depth=depth, activation=act, W_std=W_STD, b_std=B_STD)
        T = kernels(x, x, **arch).ntk
        errs, sds = [], []
        rows = {}
        for i, n in enumerate(widths):
            E = _n_networks(n, depth, base)
            net = init_mlp(2, n, depth, 1, n_networks=E, activation=act, W_std=W_STD, b_std=B_STD,
                           seed=seed + 1000 * c + i, device=device)
            T_mc = empirical_kernels(net, x)[1].cpu().numpy()
            e = np.linalg.norm(T_mc - T, axis=(1, 2)) / np.linalg.norm(T)
            errs.append(e.mean())
            sds.append(e.std(ddof=1) / np.sqrt(E))
            rows[n] = T_mc[:, :, 0]
            del net
        label = f"{act}, {depth} hidden"
        slope = loglog_slope(widths, errs)
        agreement[f"slope_{act}_depth{depth}"] = slope
        agreement[f"rel_err_{act}_depth{depth}_width{widths[-1]}"] = float(errs[-1])
        data[f"{act}_depth{depth}"] = {"theory_row": T[:, 0], "rel_err": errs, "rel_err_se": sds,
                                       "empirical_rows": {str(k): v for k, v in rows.items()}}
        axr.errorbar(widths, errs, yerr=sds, fmt="o", color=COLORS[c], mfc="white", mew=1.2, ms=5,
                     label=f"{label} (slope {slope:.2f})")
        if c == 0:
            theory_line(axl, ang, T[:, 0], color="k", label="analytic NTK (relu, 1 hidden)")
            for j, n in enumerate((widths[0], widths[-1])):
                sim_markers(axl, ang, rows[n], color=COLORS[3 + j], label=f"empirical, width {n} (mean $\\pm$ sd)",
                            marker="os"[j])
    guide(axr, widths, data[f"{cases[0][0]}_depth{cases[0][1]}"]["rel_err"][0] * 1.5, -0.5,
          r"$\propto n^{-1/2}$")
    axl.set_xlabel(r"angle between inputs $\angle(x, x')$ (rad)")
    axl.set_ylabel(r"$\Theta(x, x')$")
    axl.set_title("(a) NTK at initialisation")
    axl.legend(loc="upper right")
    axr.set_xscale("log")
    axr.set_yscale("log")
    axr.set_xlabel("hidden width $n$")
    axr.set_ylabel(r"$\|\hat\Theta_0 - \Theta\|_F / \|\Theta\|_F$")
    axr.set_title("distance to the analytic kernel")
    axr.legend(loc="lower left")
    params = {"widths": widths, "n_networks": base, "cases": cases, "W_std": W_STD, "b_std": B_STD, "seed": seed}
    return save(fig, {"params": params, "data": data, "agreement": agreement}, name=NAME, out=out, quick=quick)
