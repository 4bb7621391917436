"""(e) Feedback alignment in a K = M = 2 erf committee machine: align, then memorise; ODE vs online SGD.

The first-layer step uses a fixed feedback vector b where backprop uses the
student's second layer v; v trains as usual from a small start (Refinetti,
d'Ascoli, Ohana & Goldt 2021; the ODE is ours, module docstring of
``idealnets.theory.committee``). Left: eps_g(alpha); right: the alignment cos(v, b).
Lines: the FA ODE integrated from each network's own initial overlaps and
averaged over networks; markers: online SGD (mean, band = 1 sd) at N = 500
and N = 2000; dashed: backprop's ODE from the same mean start at the same lr.

What is predicted and what is matched. The ODE predicts the two phases: v
aligns with b within alpha ~ 1, before eps_g has moved ("align"); then the
error falls to a plateau and the student specialises, eps_g -> 0, while
cos(v, b) relaxes to the value the solution allows ("memorise"). The
finite-N gap (RMS over networks and recorded times alpha <= ALPHA_GAP, where
both sizes are recorded) is measured at both sizes: it should shrink as
N^-1/2, a ratio of 2 for 4x N. Noise-free, FA and backprop both reach zero
error; the JSON also records, from a common start, the asymptotic errors
with output noise sigma = 0.1 (FA's eta^2 sigma^2 floor carries b_k b_l
instead of v_k v_l) and the time each needs to reach eps_g = 1e-3.

The students train in float32 (``SIM_DTYPE``; the inputs are drawn in float32 either way, so the
data stream is the same, and the records are float64): about 20% cheaper than float64. Its rounding
moves the agreement values by <= 2.5e-6 relative and the plotted test errors by <= 3.4e-7 absolute,
far below the finite-N gaps (~1e-3 in eps_g, ~0.07 in cos(v, b)) the figure shows.
"""
from __future__ import annotations

import numpy as np

from idealnets.theory.committee import CommitteeODE, feedback_alignment

from ._shared import paired
from .._common import COLORS, DEFAULT_OUT, save, sim_markers, style, theory_line

NAME = "committee_feedback_alignment"
TITLE = "Feedback alignment in a two-layer erf network: eps_g and cos(v, b), ODE vs online SGD"
SECTION = "Online SGD in two-layer committee machines (Saad & Solla 1995; Goldt et al. 2019)"
CAPTION = (
    "**Feedback alignment** in a K = M = 2 erf committee machine (lr = {params[lr]:g}, b = {params[b]}): "
    "v first aligns with the fixed feedback b (cos(v, b) > 0.9 by alpha = {agreement[alpha_align_0.9]:.2g}), "
    "then the error falls and the student specialises. Lines: FA order-parameter ODE (ours) from each network's "
    "start; markers: online SGD at N = 500 and 2000. RMS gap in eps_g {agreement[rms_gap_eps_N500]:.2g} -> "
    "{agreement[rms_gap_eps_N2000]:.2g} (ratio {agreement[gap_ratio_eps]:.2f}; N^-1/2 predicts 2), in cos(v, b) "
    "{agreement[rms_gap_cos_N500]:.2g} -> {agreement[rms_gap_cos_N2000]:.2g} (ratio "
    "{agreement[gap_ratio_cos]:.2f}). Time to eps_g = 1e-3: FA {agreement[alpha_1e-3_fa]:.0f}, backprop "
    "{agreement[alpha_1e-3_bp]:.0f}."
)
# Tolerance the test suite holds each agreement value to (at the test's smaller size), and the
# test; read by figures/gallery.py for the paper's agreement table.
TOLERANCES = {
    # RMS gap of eps_g shrinks with 4x N by more than GAP_RATIO_MIN (N = 100 -> 400, alpha <= 6)
    "gap_ratio_eps": ((1.4, float("inf")), "tests/test_committee_fa.py::test_fa_sgd_matches_ode_and_gap_shrinks_with_N",
                      "N^-1/2 finite size predicts 2 for 4x N; the test's lower bound (N = 100 -> 400)"),
    # finite size O(N^-1/2): the constants the test holds at N = 400 (0.02 in eps_g, 0.25 in cos), times
    # sqrt(400 / N), rounded up
    "rms_gap_eps_N500": (0.02, "tests/test_records.py::test_records_within_tolerances",
                         "finite size 0.4/sqrt(N) at N = 500: the test's 0.02 at N = 400"),
    "rms_gap_eps_N2000": (0.009, "tests/test_records.py::test_records_within_tolerances",
                          "finite size 0.4/sqrt(N) at N = 2000: the test's 0.02 at N = 400"),
    "rms_gap_cos_N500": (0.3, "tests/test_records.py::test_records_within_tolerances",
                         "finite size 5/sqrt(N) at N = 500: the test's 0.25 at N = 400"),
    "rms_gap_cos_N2000": (0.2, "tests/test_records.py::test_records_within_tolerances",
                          "finite size 5/sqrt(N) at N = 2000: the test's 0.25 at N = 400"),
    # gap_ratio_cos (1.34 in the record) is below the test's 1.4: reported, no entry
    "alpha_align_0.9": ((0.0, 1.0), "tests/test_records.py::test_records_within_tolerances",
                        "claim: v aligns with b within alpha ~ 1, before eps_g moves (ODE)"),
}

K = M = 2
LR = 1.0
B = (0.6, 1.3)
V0 = (0.02, -0.01)
INIT_STD = 0.5
NOISE_FLOOR = 0.1  # output noise for the asymptotic-error comparison (theory only)
FULL = dict(runs={500: dict(seeds=8, alpha_max=300.0), 2000: dict(seeds=4, alpha_max=60.0)}, alpha_gap=60.0,
            alpha_theory=600.0, floor=True)
QUICK = dict(runs={100: dict(seeds=3, alpha_max=20.0), 400: dict(seeds=2, alpha_max=8.0)}, alpha_gap=8.0,
             alpha_theory=400.0, floor=False)
ODE_TOL = dict(rtol=1e-7, atol=1e-9)
SIM_DTYPE = "float32"  # the SGD's dtype (records are float64): module docstring


def _first_below(alpha, y, thr):
    i = np.nonzero(y < thr)[0]
    return float(alpha[i[0]]) if i.size else float("nan")


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    import matplotlib.pyplot as plt

    style()
    P = QUICK if quick else FULL
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(9.6, 3.7))
    data, agreement, gaps = {}, {}, {}
    Q0s, R0s = [], []
    for i, (N, rp) in enumerate(P["runs"].items()):
        pr = paired(N, K, M, LR, rp["alpha_max"], n_networks=rp["seeds"], init_scale=INIT_STD, seed=seed + 31 + i,
                    device=device, train_second_layer=True, record=36, v0=V0, feedback=B, dtype=SIM_DTYPE)
        run = pr.run
        a = run.times
        m = a > 0
        col = COLORS[i]
        cos_ode = feedback_alignment(pr.v, np.asarray(B))
        cos_sim = run.alignment
        theory_line(ax, a[m], np.nanmean(pr.eps_ode, 0)[m], color=col, label=f"FA ODE, N = {N} starts")
        sim_markers(ax, a[m], run.losses[:, m], color=col, label=f"FA SGD, N = {N} ({rp['seeds']} seeds)", ms=3.5)
        theory_line(ax2, a[m], np.nanmean(cos_ode, 0)[m], color=col, label=f"FA ODE, N = {N} starts")
        sim_markers(ax2, a[m], cos_sim[:, m], color=col, ms=3.5, label=f"SGD, N = {N}")
        g = m & (a <= P["alpha_gap"])
        gaps[N] = (float(np.sqrt(np.nanmean((pr.eps_sim_op - pr.eps_ode)[:, g] ** 2))),
                   float(np.sqrt(np.nanmean((cos_sim - cos_ode)[:, g] ** 2))))
        agreement[f"rms_gap_eps_N{N}"] = gaps[N][0]
        agreement[f"rms_gap_cos_N{N}"] = gaps[N][1]
        data[f"N{N}"] = dict(alpha=a, eps_ode=pr.eps_ode, eps_test=run.losses, eps_sim_op=pr.eps_sim_op,
                             cos_ode=cos_ode, cos_sim=cos_sim)
        Q0s.append(run.Q0)
        R0s.append(run.R0)
    n_small, n_big = sorted(P["runs"])
    agreement["gap_ratio_eps"] = gaps[n_small][0] / gaps[n_big][0]
    agreement["gap_ratio_cos"] = gaps[n_small][1] / gaps[n_big][1]
    agreement["N_ratio_sqrt"] = float(np.sqrt(n_big / n_small))

    # long-time theory from the mean start of all networks: FA and backprop at the same lr
    Q0, R0 = np.concatenate(Q0s).mean(0), np.concatenate(R0s).mean(0)
    at = np.concatenate([[0.0], np.logspace(-2, np.log10(P["alpha_theory"]), 120)])
    fa = CommitteeODE(K, M, LR, train_second_layer=True, feedback=B).integrate(Q0, R0, V0, alpha_eval=at, **ODE_TOL)
    bp = CommitteeODE(K, M, LR, train_second_layer=True).integrate(Q0, R0, V0, alpha_eval=at, **ODE_TOL)
    mt = at > 0
    ax.plot(at[mt], fa.eps_g[mt], ":", color="0.35", lw=1.3, label="FA ODE, mean start (long time)")
    ax.plot(at[mt], bp.eps_g[mt], "--", color="0.35", lw=1.3, label="backprop ODE, same start and lr")
    ax2.plot(at[mt], fa.alignment[mt], ":", color="0.35", lw=1.3, label="FA ODE, mean start")
    agreement["alpha_align_0.9"] = float(at[np.nonzero(fa.alignment > 0.9)[0][0]])
    agreement["alpha_1e-3_fa"] = _first_below(at, fa.eps_g, 1e-3)
    agreement["alpha_1e-3_bp"] = _first_below(at, bp.eps_g, 1e-3)
    agreement["eps_fa_final"] = float(fa.eps_g[-1])
    agreement["eps_bp_final"] = float(bp.eps_g[-1])
    agreement["cos_final"] = float(fa.alignment[-1])
    data["mean_start"] = dict(alpha=at, eps_fa=fa.eps_g, eps_bp=bp.eps_g, cos_fa=fa.alignment)
    if P["floor"]:  # asymptotic errors with output noise, from perfect-ish learning (theory only)
        start = (0.8 * np.eye(K), 0.7 * np.eye(K), np.ones(K))
        for name, fb in (("fa", B), ("bp", None)):
            ode = CommitteeODE(K, M, LR, train_second_layer=True, noise=NOISE_FLOOR, feedback=fb)
            agreement[f"eps_inf_noise_{name}"] = float(ode.integrate(*start, alpha_eval=[np.inf], **ODE_TOL).eps_g[0])

    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$\alpha$ = steps / N")
    ax.set_ylabel(r"$\epsilon_g$")
    ax.set_ylim(bottom=1e-5)
    ax.set_title(f"feedback alignment, K = M = {K}, lr = {LR:g}, b = {B}", fontsize=9.5)
    ax.legend(loc="lower left", fontsize=7)
    ax2.set_xscale("log")
    ax2.set_xlabel(r"$\alpha$ = steps / N")
    ax2.set_ylabel(r"alignment cos(v, b)")
    ax2.set_ylim(-0.3, 1.05)
    ax2.legend(loc="lower right", fontsize=7.5)
    ax2.set_title("align, then memorise", fontsize=9.5)
    fig.tight_layout()
    params = dict(K=K, M=M, lr=LR, b=B, v0=V0, init_std=INIT_STD, runs=P["runs"], alpha_gap=P["alpha_gap"],
                  noise_floor=NOISE_FLOOR)
    return save(fig, dict(params=params, data=data, agreement=agreement), name=NAME, out=out, quick=quick)
