"""(a) Mode strengths u_a(t) of depth 1-4 linear networks from small random initialisation.

Theory (lines) is the decoupled solution of Saxe et al. (2014) per mode; markers are the
projections ``U_a^T W(t) V_a`` of trained networks (ensemble mean, band: +-1 sd). How the
theory's initial strength is chosen for a *random* init (the honest part):

* D = 1: the dynamics are linear, so the initial projection is exact.
* D = 2: the effective strength of the linear phase,
  ``u0 = |W1(0) V_a + W2(0)^T U_a|^2 / 4`` (:func:`idealnets.theory.deep_linear.effective_u0_two_layer`),
  per network, predicted from t = 0 (the raw projection at t = 0 is random in sign and
  ~sqrt(width) too small; the curves differ only during the alignment transient).
* D >= 3: the early phase couples the modes through the random middle layers and has no
  closed form; ``u0`` is fixed by one point per network and mode, the decoupled
  trajectory through the network's projection when it first reaches 5% of ``s_a``
  (dotted lines: mean of those times); the rest of the curve is predicted.
"""
from __future__ import annotations

import numpy as np

from idealnets.simulate.deep_linear import init_weights, train_from
from idealnets.theory.deep_linear import DeepLinearTheory, learning_time

from .._common import COLORS, DEFAULT_OUT, save, sim_markers, style, theory_line
from ._shared import S_MODES, mode_data, projections, random_init_theory

NAME = "deep_linear_modes"
TITLE = "Mode strengths u_a(t), depth 1-4, small random init: theory vs trained ensembles"
SECTION = "Deep linear networks (Saxe, McClelland & Ganguli 2014)"
CAPTION = (
    "**Mode strengths** u_alpha(t) at depth 1-4 from small random initialisation: exact closed "
    "forms (depth >= 3 by inverting the time integral) vs trained ensembles; max deviation "
    "{agreement[max_dev_over_s_D1]:.2g} s (D=1), {agreement[max_dev_over_s_D2]:.2g} s (D=2), "
    "{agreement[max_dev_over_s_D3]:.2g} s (D=3) and {agreement[max_dev_over_s_D4]:.2g} s (D=4; "
    "initial strength matched at one point)."
)
# Tolerance the test suite holds each agreement value to (at the test's smaller size), and the
# test; read by figures/gallery.py for the paper's agreement table.
TOLERANCES = {
    # D = 1 is linear: the theory from each network's initial projection is exact, GD's (1 - lr)^k against
    # e^{-lr k} differs by at most 0.0075 |u0 - s| at lr = 0.04 (kappa 0.02 of the stable 2); |u0 - s| / s
    # <= 1 + 4 SE(mean u0) / s_4 = 1.17 (u0 ~ N(0, 0.3^2/6), 32 networks): 0.0088
    "max_dev_over_s_D1": (0.009, "tests/test_records.py::test_records_within_tolerances",
                          "O(lr): max|(1-lr)^k - e^(-lr k)| = 0.0075 at lr = 0.04, x (1 + 4 SE of mean u0 / s)"),
    # ensemble mean vs the sigmoid from u0_eff after t = 2/s (gain 0.1, width 24): ATOL_RANDOM + ATOL_GD
    "max_dev_over_s_D2": (0.08, "tests/test_deep_linear.py::test_random_two_layer_ensemble_vs_effective_u0",
                          "O(gain^2) linear-phase terms (0.03 s) + O(lr) GD time shift (0.05 s)"),
}

DEPTHS = (1, 2, 3, 4)
WIDTH = 32            # hidden width
GAIN = 0.3            # per-layer gain: entries N(0, GAIN^2 / fan-in)
KAPPA = 0.02  # lr = KAPPA * stable limit (quick mode: KAPPA_QUICK)
KAPPA_QUICK = 0.05
RESTART = 0.05        # D >= 3: theory starts when the projection reaches RESTART * s


def run_depth(D: int, *, n_networks: int, record: int, device, seed: int, kappa: float = KAPPA):
    X, Y = mode_data(seed=0)
    th = DeepLinearTheory(X, Y, depth=D)
    lr = kappa * th.stable_lr()
    t_end = 12.0 if D == 1 else 1.25 * float(learning_time(S_MODES[-1], 0.2 * GAIN**D / 2, 0.97 * S_MODES[-1], D))
    W0 = init_weights(X, Y, depth=D, width=WIDTH, n_networks=n_networks, init="small",
                      init_scale=GAIN / np.sqrt(WIDTH), device=device, seed=seed + D)
    if D == 1:  # single layer: fan-in is N_in
        W0 = [w * np.sqrt(WIDTH / X.shape[0]) for w in W0]
    run = train_from(W0, X, Y, lr=lr, steps=int(np.ceil(t_end / lr)), record=record, desc=f"modes D={D}")
    proj = projections(th, run.maps)
    W0np = [w.cpu().numpy() for w in W0]
    u_th, t_start = random_init_theory(th, run.times, proj, W0=W0np, restart_fraction=RESTART)
    return th, lr, run, proj, u_th, t_start


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    import matplotlib.pyplot as plt

    style()
    kappa = KAPPA_QUICK if quick else KAPPA
    E, R = (8, 60) if quick else (32, 120)
    fig, axes = plt.subplots(2, 2, figsize=(9.5, 6.6), sharey=True)  # two rows: legible at print width
    axes = axes.ravel()
    data, agreement = {}, {}
    for ax, D in zip(axes, DEPTHS):
        th, lr, run, proj, u_th, t_start = run_depth(D, n_networks=E, record=R, device=device, seed=seed, kappa=kappa)
        t = run.times
        ok = ~np.isnan(u_th).any(axis=0)  # (R, M): theory defined for every network
        u_mean = np.where(ok, np.nan_to_num(u_th).mean(0), np.nan)
        # agreement after the transient: D = 2 from t >= 2/s_a (alignment), D >= 3 after the match
        mask = ok.copy()
        if D >= 3:
            mask &= t[:, None] >= np.nanmax(t_start, axis=0)[None, :]
        if D == 2:
            mask &= t[:, None] >= 2.0 / th.s[None, :]
        dev = np.abs(u_mean - proj.mean(0)) / th.s
        agreement[f"max_dev_over_s_D{D}"] = float(np.nanmax(np.where(mask, dev, np.nan)))
        tt = np.where(t > 0, t, np.nan)
        for a in range(th.n_modes):
            c = COLORS[a]
            theory_line(ax, tt, u_mean[:, a], color=c, label=f"$s_{a + 1}={th.s[a]:g}$" if D == 2 else None)
            sim_markers(ax, tt[1:], proj[:, 1:, a], color=c, ms=3.0)
            if D >= 3:
                ax.axvline(np.nanmean(t_start[:, a]), color=c, ls=":", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlim(t[1], t[-1])
        ax.set_xlabel(r"time $t/\tau$ (= lr $\times$ step)")
        ax.set_title(f"D = {D}" + ("" if D < 3 else r"  ($u_0$ matched at 5%)"))
        data[f"D{D}"] = {"t": t, "theory_mean": u_mean, "sim_mean": proj.mean(0), "sim_sd": proj.std(0),
                         "t_start": t_start, "lr": lr}
    axes[0].set_ylabel(r"mode strength $u_\alpha(t)$")
    axes[2].set_ylabel(r"mode strength $u_\alpha(t)$")
    axes[1].plot([], [], "o", mfc="white", mec="k", label="trained (mean $\\pm$ sd)")
    axes[1].plot([], [], "-", color="k", label="theory")
    axes[1].legend(loc="upper left")
    fig.tight_layout()
    params = {"depths": DEPTHS, "width": WIDTH, "gain": GAIN, "kappa": kappa, "n_networks": E,
              "s": S_MODES, "restart_fraction": RESTART, "seed": seed}
    return save(fig, {"params": params, "data": data, "agreement": agreement}, name=NAME, out=out, quick=quick)
