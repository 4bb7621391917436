"""(a) Train and test error over time: theory (N -> inf) vs trained linear students."""
from __future__ import annotations

import numpy as np
import matplotlib.pyplot as plt

from idealnets.theory.generalization import LinearStudentTheory
from idealnets.simulate.generalization import sample_data, stable_lr, train_linear

from .._common import COLORS, DEFAULT_OUT, max_rel_dev, save, sim_markers, style, theory_line
from ._shared import SIGMA_W, sigma_eps_for_snr

NAME = "generalization_dynamics"
TITLE = "Linear student: train/test error over time (overtraining), theory vs GD"
SECTION = "Teacher-student generalisation: linear and random-features students (Advani & Saxe 2017; Krogh & Hertz 1992; Mei & Montanari 2019; Saxe, Nelli & Summerfield 2021, Fig. 4e-f)"
CAPTION = (
    "**Train and test error over time** at alpha = 0.5, 1, 2, 4 and two SNRs: N -> infinity "
    "theory (Marchenko-Pastur averaged) vs gradient descent at N = {params[N]}; overtraining, and"
    " unbounded growth at alpha = 1. Test error within "
    "{min_of[rel_dev_test_*]:.1%}-{max_of[rel_dev_test_*]:.1%}."
)
# Tolerance the test suite holds each agreement value to (at the test's smaller size), and the
# test; read by figures/gallery.py for the paper's agreement table.
TOLERANCES = {
    # theory vs the exact finite-size errors (= GD to 1e-15) averaged over data sets: RTOL_FINITE_N
    "rel_dev_test_*": (0.07, "tests/test_generalization.py::test_theory_vs_finite_size_average"),
}
ALPHAS = (0.5, 1.0, 2.0, 4.0)
SNRS = (4.0, 1.0)


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    style()
    N = 100 if quick else 500
    n_inputs = 2 if quick else 3
    t_max = 100.0 if quick else 300.0
    ses = [sigma_eps_for_snr(s) for s in SNRS]
    datas = [sample_data(N, int(round(a * N)), n_inputs, n_teachers=len(SNRS), sigma_w=SIGMA_W, sigma_eps=ses,
                         device=device, seed=seed + 17 * i) for i, a in enumerate(ALPHAS)]
    lr = 0.2 * stable_lr(datas)  # lr * lambda_max = 0.4: O(lr) gap to gradient flow visible only at t < 1
    steps = int(np.ceil(t_max / lr))
    runs = train_linear(datas, lr=lr, steps=steps, record=24 if quick else 32, exact=True)  # closed form between records
    t_line = np.logspace(-2, np.log10(t_max * 30), 300)
    fig, axes = plt.subplots(1, len(SNRS), figsize=(10, 3.9), sharey=True)
    agreement, data = {}, {}
    for j, (snr, se) in enumerate(zip(SNRS, ses)):
        ax = axes[j]
        for i, (a, run) in enumerate(zip(ALPHAS, runs)):
            th = LinearStudentTheory(a, sigma_w=SIGMA_W, sigma_eps=se)
            c = COLORS[i]
            theory_line(ax, t_line, th.test_error(t_line), color=c, label=rf"$\alpha={a:g}$")
            ax.plot(t_line, th.train_error(t_line), "--", color=c, lw=1.2)
            tt = run.times[1:]
            te, tr = run.test_error[:, j, 1:], run.train_error[:, j, 1:]
            sim_markers(ax, tt, te, color=c)
            sim_markers(ax, tt, tr, color=c, marker="s", ms=3.0, band=False)
            agreement[f"rel_dev_test_alpha{a:g}_snr{snr:g}"] = max_rel_dev(th.test_error(tt), te.mean(0))
            agreement[f"rel_dev_train_alpha{a:g}_snr{snr:g}"] = max_rel_dev(th.train_error(tt), tr.mean(0),
                                                                            floor=0.05)
            data[f"alpha{a:g}_snr{snr:g}"] = {"t": tt, "test_sim": te, "train_sim": tr,
                                             "test_theory": th.test_error(tt), "train_theory": th.train_error(tt)}
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(2e-3 if snr > 2 else 2e-2, 6)
        ax.set_xlabel(r"training time $t/\tau$")
        ax.set_title(rf"SNR $=\sigma_w^2/\sigma_\epsilon^2={snr:g}$")
    axes[0].set_ylabel("error (test: solid/circles, train: dashed/squares)")
    axes[0].legend(loc="lower left", ncol=2)
    fig.suptitle(f"Linear student, lines N→∞ theory, markers GD at N={N} ({n_inputs} data sets)", fontsize=10)
    fig.tight_layout()
    rec = {"params": {"N": N, "alphas": ALPHAS, "snrs": SNRS, "sigma_w": SIGMA_W, "sigma_0": 0.0, "lr": lr,
                      "steps": steps, "n_inputs": n_inputs},
           "data": data, "agreement": agreement}
    return save(fig, rec, name=NAME, out=out, quick=quick)
