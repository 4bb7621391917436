"""(d) How far the empirical NTK moves during training, versus width."""
from __future__ import annotations

import numpy as np
import matplotlib.pyplot as plt

from idealnets.simulate.ntk import train
from idealnets.theory.ntk import kernels, stable_lr

from .._common import COLORS, DEFAULT_OUT, save, style
from ._shared import ARCH, B_STD, W_STD, guide, loglog_slope, task

NAME = "ntk_kernel_motion"
TITLE = "Relative change of the empirical NTK during training versus width"
SECTION = "Infinite width (Jacot et al. 2018; Lee et al. 2019; Saxe, Nelli & Summerfield 2021, Fig. 4d)"
CAPTION = (
    "**How far the NTK moves during training** vs width: {agreement[motion_relu_width4096]:.1%} "
    "(ReLU) and {agreement[motion_erf_width4096]:.1%} (erf) at width 4096."
)
# Bounds for the paper's agreement table: lazy training moves the NTK by O(width^-1/2) (Jacot et al. 2018;
# Lee et al. 2019): the record's motion at width 64 (+4 SE) scaled by (64/4096)^(1/2).
TOLERANCES = {
    "motion_relu_width4096": (0.03, "tests/test_records.py::test_records_within_tolerances", "O(width^-1/2) from width 64: (0.139 + 4 SE 0.013) / 8"),
    "motion_erf_width4096": (0.02, "tests/test_records.py::test_records_within_tolerances", "O(width^-1/2) from width 64: (0.093 + 4 SE 0.011) / 8"),
}

WIDTHS = [64, 128, 256, 512, 1024, 2048, 4096]
N_NETWORKS = 8
ACTIVATIONS = ["relu", "erf"]
LR_FRACTION = 0.5
STEPS = 400


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    widths = [64, 256, 1024] if quick else WIDTHS
    E = 4 if quick else N_NETWORKS
    steps = 150 if quick else STEPS
    x, y, _, _, _ = task()
    style()
    fig, ax = plt.subplots(figsize=(6.2, 4.2))
    data, agreement = {"widths": widths}, {}
    for c, act in enumerate(ACTIVATIONS):
        arch = {**ARCH, "activation": act}
        T = kernels(x, x, **arch).ntk
        lr = LR_FRACTION * stable_lr(T)
        moves, moves_se, init_err = [], [], []
        for i, n in enumerate(widths):
            r = train(x, y, width=n, n_networks=E, lr=lr, steps=steps, record=2, activation=act,
                      W_std=W_STD, b_std=B_STD, seed=seed + 100 * c + i, device=device, desc=f"{act} width {n}")
            m = np.linalg.norm(r.ntk_final - r.ntk_init, axis=(1, 2)) / np.linalg.norm(r.ntk_init, axis=(1, 2))
            moves.append(m.mean())
            moves_se.append(m.std(ddof=1) / np.sqrt(E))
            init_err.append(np.mean(np.linalg.norm(r.ntk_init - T, axis=(1, 2)) / np.linalg.norm(T)))
        s_move, s_init = loglog_slope(widths, moves), loglog_slope(widths, init_err)
        agreement[f"slope_motion_{act}"] = s_move
        agreement[f"slope_init_err_{act}"] = s_init
        agreement[f"motion_{act}_width{widths[-1]}"] = float(moves[-1])
        data[act] = {"motion": moves, "motion_se": moves_se, "init_err": init_err, "lr": lr}
        ax.errorbar(widths, moves, yerr=moves_se, fmt="o", color=COLORS[c], mfc="white", mew=1.2, ms=5,
                    label=rf"{act}: $\|\hat\Theta_T - \hat\Theta_0\| / \|\hat\Theta_0\|$ (slope {s_move:.2f})")
        ax.plot(widths, init_err, "x", color=COLORS[c], ms=6, alpha=0.7,
                label=rf"{act}: $\|\hat\Theta_0 - \Theta\| / \|\Theta\|$ at init (slope {s_init:.2f})")
    guide(ax, widths, data["relu"]["init_err"][0] * 1.6, -0.5, r"$\propto n^{-1/2}$")
    ax.plot(widths, data["erf"]["motion"][0] * 0.6 * (np.asarray(widths) / widths[0]) ** -1.0, "--",
            color="0.45", lw=1.0, label=r"$\propto n^{-1}$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("hidden width $n$")
    ax.set_ylabel("relative kernel change (Frobenius)")
    ax.set_title(f"(d) the NTK freezes as width grows (training to t = {steps * data['relu']['lr']:.0f})",
                 fontsize=10)
    ax.legend(loc="lower left", fontsize=7.5)
    params = {"widths": widths, "n_networks": E, "steps": steps, "lr_fraction": LR_FRACTION, "arch": ARCH,
              "activations": ACTIVATIONS, "seed": seed}
    return save(fig, {"params": params, "data": data, "agreement": agreement}, name=NAME, out=out, quick=quick)
