"""(b) Converged, early-stopped and weight-decayed test error vs alpha: the peak at alpha = 1."""
from __future__ import annotations

import numpy as np
import matplotlib.pyplot as plt

from idealnets.theory.generalization import LinearStudentTheory, converged_test_error, finite_size_errors
from idealnets.simulate.generalization import sample_data, stable_lr, train_linear

from .._common import COLORS, DEFAULT_OUT, max_rel_dev, save, sim_markers, style, theory_line
from ._shared import SIGMA_W, sigma_eps_for_snr

NAME = "generalization_alpha"
TITLE = "Test error vs alpha: divergence at alpha=1, cured by early stopping or weight decay"
SECTION = "Teacher-student generalisation: linear and random-features students (Advani & Saxe 2017; Krogh & Hertz 1992; Mei & Montanari 2019; Saxe, Nelli & Summerfield 2021, Fig. 4e-f)"
CAPTION = (
    "**Test error vs alpha = P/N**: the divergence at alpha = 1 when trained to convergence, "
    "cured by optimal early stopping (within {agreement[max_rel_dev_early_stopped]:.1%}) or "
    "Krogh-Hertz weight decay (within {agreement[max_rel_dev_weight_decay]:.1%})."
)
# Bounds for the paper's agreement table: sampling noise of the 6 data sets per alpha (relative SE of the
# mean <= 0.027 at N = 300, measured) plus the O(1/N) finite-size bias; weight decay is converged (no O(lr)).
TOLERANCES = {
    "max_rel_dev_early_stopped": (0.2, "tests/test_records.py::test_records_within_tolerances",
                                  "4 SE of the 6-data-set mean (rel. SE <= 0.027 at N = 300) + O(1/N)"),
    "max_rel_dev_weight_decay": (0.2, "tests/test_records.py::test_records_within_tolerances",
                                 "4 SE of the 6-data-set mean (rel. SE <= 0.027 at N = 300) + O(1/N)"),
}
SNR = 4.0


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    style()
    N = 80 if quick else 300
    n_inputs = 3 if quick else 6
    alphas = (0.25, 0.5, 0.8, 1.0, 1.25, 2.0, 4.0) if quick else (0.2, 0.35, 0.5, 0.65, 0.8, 0.9, 1.0, 1.1, 1.25,
                                                                   1.5, 2.0, 3.0, 4.0)
    se = sigma_eps_for_snr(SNR)
    datas = [sample_data(N, int(round(a * N)), n_inputs, n_teachers=2, sigma_w=SIGMA_W, sigma_eps=se,
                         device=device, seed=seed + 31 * i) for i, a in enumerate(alphas)]
    th_all = [LinearStudentTheory(a, sigma_w=SIGMA_W, sigma_eps=se) for a in alphas]
    gamma = th_all[0].optimal_weight_decay
    t_stop = np.array([th.optimal_stopping_time() for th in th_all])
    lr = 0.2 * stable_lr(datas, gamma)
    t_es = 8.0 * t_stop.max()
    # exact=True: closed-form GD between the recorded steps (the stepped trajectory to rounding)
    runs_es = train_linear(datas, lr=lr, steps=int(np.ceil(t_es / lr)), record=40 if quick else 70,
                           desc="early stopping", exact=True)
    t_wd = 40.0 / gamma  # e^{-40}: converged
    runs_wd = train_linear(datas, lr=lr, steps=int(np.ceil(t_wd / lr)), record=[int(np.ceil(t_wd / lr))],
                           weight_decay=gamma, desc="weight decay", exact=True)
    # simulation summaries (per data set: the ensemble over inputs x teachers)
    es_sim = [r.test_error.reshape(-1, r.times.size).mean(0).min() for r in runs_es]
    es_spread = [r.test_error.reshape(-1, r.times.size)[:, np.argmin(r.test_error.reshape(-1, r.times.size).mean(0))]
                 for r in runs_es]
    wd_sim = [r.test_error[..., -1].reshape(-1) for r in runs_wd]
    conv = []
    for d in datas:  # the exact t = inf limit of GD on each sampled data set (pseudo-inverse)
        X = d.X.cpu().numpy()[:, None]  # one input matrix for both teachers (batch axes broadcast)
        fs = finite_size_errors(X, d.y.cpu().numpy().transpose(0, 2, 1), d.w_teacher.cpu().numpy().transpose(0, 2, 1),
                                d.w0.cpu().numpy().transpose(0, 2, 1), np.inf, se)
        conv.append(fs.test.reshape(-1))
    a_line = np.concatenate([np.linspace(0.1, 0.995, 200), np.linspace(1.005, 4.2, 200)])
    th_line = [LinearStudentTheory(a, sigma_w=SIGMA_W, sigma_eps=se) for a in a_line]
    e_conv = converged_test_error(a_line, sigma_w=SIGMA_W, sigma_eps=se)
    e_es = np.array([th.optimal_early_stopping_error() for th in th_line])
    e_wd = np.array([th.optimal_ridge_test_error() for th in th_line])

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    A = np.array(alphas)
    theory_line(ax, a_line, e_conv, color=COLORS[3], label=r"converged, $t=\infty$")
    theory_line(ax, a_line, e_es, color=COLORS[0], label=r"optimal early stopping $t^*$")
    theory_line(ax, a_line, e_wd, color=COLORS[2], label=rf"weight decay $\gamma^*=\sigma_\epsilon^2/\sigma_w^2$")
    sim_markers(ax, A, np.array([c.mean() for c in conv]), color=COLORS[3], marker="D", band=False,
                label=f"finite N={N}, exact $t=\\infty$")
    sim_markers(ax, A, np.stack(es_spread, 1), color=COLORS[0], ms=7.0, label="GD, best stopping time")
    sim_markers(ax, A, np.stack(wd_sim, 1), color=COLORS[2], marker="s", ms=3.2, label="GD with weight decay")
    top = 60.0
    for a, c in zip(A, conv):
        if c.mean() > top:  # the finite-N value at alpha = 1 is finite but off scale
            ax.annotate(f"N={N}: {c.mean():.0f}", xy=(a, top * 0.97), xytext=(a + 0.25, top * 0.5), fontsize=8,
                        color=COLORS[3], arrowprops=dict(arrowstyle="->", color=COLORS[3], lw=0.8))
    ax.axvline(1.0, color="0.6", lw=0.8, ls=":")
    ax.set_yscale("log")
    ax.set_ylim(0.2, top)
    ax.set_xlabel(r"$\alpha = P/N$")
    ax.set_ylabel(r"test error $E_g$")
    ax.set_title(f"SNR = {SNR:g}, $\\sigma_0=0$", fontsize=10)
    ax.legend(loc="upper right")
    fig.tight_layout()
    th_es = np.array([th.optimal_early_stopping_error() for th in th_all])
    th_wd = np.array([th.optimal_ridge_test_error() for th in th_all])
    th_conv = converged_test_error(A, sigma_w=SIGMA_W, sigma_eps=se)
    agreement = {"max_rel_dev_early_stopped": max_rel_dev(th_es, es_sim),
                 "max_rel_dev_weight_decay": max_rel_dev(th_wd, [w.mean() for w in wd_sim]),
                 "max_rel_dev_converged_alpha_ne_1": max_rel_dev(th_conv[A != 1], [c.mean() for c, a in
                                                                                   zip(conv, A) if a != 1])}
    for a, e1, e2, w1, w2 in zip(A, th_es, es_sim, th_wd, wd_sim):
        agreement[f"rel_dev_early_stopped_alpha{a:g}"] = abs(e2 / e1 - 1)
        agreement[f"rel_dev_weight_decay_alpha{a:g}"] = abs(w2.mean() / w1 - 1)
    rec = {"params": {"N": N, "alphas": alphas, "snr": SNR, "gamma": gamma, "lr": lr, "n_inputs": n_inputs,
                      "n_teachers": 2},
           "data": {"alpha_line": a_line, "converged": e_conv, "early_stopped": e_es, "weight_decay": e_wd,
                    "sim_alpha": A, "sim_early_stopped": es_sim, "sim_weight_decay": [w.mean() for w in wd_sim],
                    "finite_N_converged": [c.mean() for c in conv], "t_stop_theory": t_stop},
           "agreement": agreement}
    return save(fig, rec, name=NAME, out=out, quick=quick)
