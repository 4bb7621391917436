"""Predictive coding vs backprop in a deep linear network (Whittington & Bogacz 2017): (a) the
strength ``u = a b`` of each mode of a depth-2 network from small aligned weights, exact mode
dynamics (lines) vs networks trained by predictive coding with the inference relaxation run, and
by backprop (markers); (b) the time to learn half of a mode vs its singular value s, from several
initial scales: predictive coding escapes the plateau at the rate ``s (s + sqrt(s^2 + 4)) / 2``
instead of ``s``.

Theory: :func:`idealnets.theory.energy_rules.predictive_coding_modes`,
:func:`~idealnets.theory.energy_rules.predictive_coding_escape_rate` and the backprop modes of
:func:`idealnets.theory.deep_linear.mode_strength`; markers:
:func:`idealnets.simulate.energy_rules.train_energy_rule`.
"""
from __future__ import annotations

import numpy as np

from idealnets.simulate.energy_rules import train_energy_rule
from idealnets.theory.deep_linear import learning_time, mode_strength
from idealnets.theory.energy_rules import predictive_coding_escape_rate, predictive_coding_modes

from .._common import COLORS, DEFAULT_OUT, save, sim_markers, style, theory_line
from ._shared import SECTION

NAME = "local_rules_predictive_coding"
TITLE = "Predictive coding vs backprop in a deep linear network: a faster escape, a slower approach"
CAPTION = ("**Predictive coding changes the plateau structure.** (a) Strength $u=ab$ of the three modes "
           "(s = {params[s]}) of a depth-2 linear network from small aligned weights ($a_0=b_0=${params[w0]}): "
           "exact mode dynamics (lines) vs networks trained with the clamped-output inference run (markers, "
           "lr = {params[lr]}; largest deviation {agreement[pc_max_dev_over_s]:.2g} s). Predictive coding "
           "leaves the plateau first (top mode half-learned at t = {agreement[t_half_pc_s1]:.3g} vs "
           "{agreement[t_half_bp_s1]:.3g} for backprop) but approaches $u=s$ more slowly. (b) How much longer "
           "the plateau lasts when the initial weights shrink 100-fold (1e-3 to 1e-5): "
           "$\\ln 10^4/2\\mu$ with the escape rate mu = s(s + sqrt(s^2 + 4))/2 for predictive coding "
           "(largest relative deviation {agreement[pc_plateau_vs_escape_rate_max_rel_dev]:.2g}) instead of "
           "$\\ln 10^4/2s$ for backprop; $\\mu/s$ = {agreement[rate_ratio_s3]:.3g} at s = 3.")
TOLERANCES = {
    "pc_plateau_vs_escape_rate_max_rel_dev": (
        0.01, "tests/test_energy_rules.py::test_predictive_coding_modes_match_the_full_flow_and_escape_rate",
        "mode ODE vs the linear escape: O(w0^2) corrections; crossings on a 1/20000 time grid"),
}

S = (3.0, 2.0, 1.0)
W0_SCALE = 0.01


def _setup(seed: int):
    rng = np.random.default_rng(seed)
    N, P = 3, 24
    Q, _ = np.linalg.qr(rng.standard_normal((P, N)))
    X = np.sqrt(P) * Q.T
    U, _ = np.linalg.qr(rng.standard_normal((N, N)))
    V, _ = np.linalg.qr(rng.standard_normal((N, N)))
    R, _ = np.linalg.qr(rng.standard_normal((N, N)))
    s = np.asarray(S)
    Y = (U * s) @ V.T @ X
    a0 = np.full(N, W0_SCALE)
    return X, Y, U, V, R, s, a0


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    import matplotlib.pyplot as plt

    style()
    X, Y, U, V, R, s, a0 = _setup(seed)
    lr = 0.04 if quick else 0.02
    T = 3.0 if quick else 7.0
    W0 = [(R * a0) @ V.T, (U * a0) @ R.T]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.0))
    data, agreement = {}, {}
    t_line = np.linspace(0.0, T, 300)
    ax = axes[0]
    a, b = predictive_coding_modes(t_line, s, a0, a0)
    u_bp = mode_strength(t_line[:, None], s, a0 * a0, 2)  # balanced a0 = b0: the sigmoid of Saxe et al.
    steps = int(round(T / lr))
    rec = np.linspace(0, steps, 16 if quick else 29).round().astype(int)
    runs = {}
    for rule in ("predictive_coding", "backprop"):
        runs[rule] = train_energy_rule(W0, X, Y, rule=rule, beta=np.inf, lr=lr, steps=steps, record=rec,
                                       return_weights=True, device=device)
    max_dev = 0.0
    for i in range(3):
        theory_line(ax, t_line, a[:, i] * b[:, i] / s[i], color=COLORS[i], label=f"s = {s[i]:g}")
        ax.plot(t_line, u_bp[:, i] / s[i], ":", color=COLORS[i], zorder=2)
    for rule, mk in (("predictive_coding", "o"), ("backprop", "s")):
        run = runs[rule]
        M = run.state["weights_2"][0] @ run.state["weights_1"][0]
        u_sim = np.einsum("ia,rij,ja->ra", U, M, V)
        if rule == "predictive_coding":
            ar, br = predictive_coding_modes(run.times, s, a0, a0)
            u_th = ar * br
        else:
            u_th = mode_strength(run.times[:, None], s, a0 * a0, 2)
        max_dev_rule = float(np.max(np.abs(u_sim - u_th) / s))
        agreement[f"{'pc' if rule == 'predictive_coding' else 'bp'}_max_dev_over_s"] = max_dev_rule
        for i in range(3):
            sim_markers(ax, run.times, u_sim[:, i] / s[i], color=COLORS[i], marker=mk, ms=3.5)
        data[rule] = {"t": run.times, "theory": u_th, "sim": u_sim,
                      "relax_iterations": run.extras.get("relax_iterations", 0.0)}
    ax.set_xlabel("t = lr x step")
    ax.set_ylabel("mode strength u / s")
    ax.set_title("(a) PC (solid, o) vs backprop (dotted, squares)")
    ax.legend(fontsize=7, loc="upper left")
    # half-learning times of the top mode (theory)
    th_half = {}
    for i in range(3):
        tt = np.linspace(0, 3 * T, 3000)
        ai, bi = predictive_coding_modes(tt, s[i], a0[i], a0[i])
        th_half[i] = float(tt[np.argmax(ai * bi >= 0.5 * s[i])])
    agreement["t_half_pc_s1"] = th_half[0]
    agreement["t_half_bp_s1"] = float(learning_time(s[0], a0[0] ** 2, 0.5 * s[0], 2))

    ax = axes[1]
    s_line = np.linspace(0.5, 4.0, 12 if quick else 30)
    t_half = {}
    for w in (1e-3, 1e-5):
        t_pc = []
        for si in s_line:
            tt = np.linspace(0.0, 1.5 * float(learning_time(si, w * w, 0.5 * si, 2)), 20001)
            ai, bi = predictive_coding_modes(tt, si, w, w)
            t_pc.append(float(tt[np.argmax(ai * bi >= 0.5 * si)]))
        t_half[w] = (np.asarray(learning_time(s_line, w * w, 0.5 * s_line, 2)), np.array(t_pc))
    # the plateau's growth when the initial strength shrinks 10^4-fold: ln(10^4) / (2 x escape rate)
    d_bp = t_half[1e-5][0] - t_half[1e-3][0]
    d_pc = t_half[1e-5][1] - t_half[1e-3][1]
    mu = predictive_coding_escape_rate(s_line)
    theory_line(ax, s_line, d_bp, color="k", label="backprop (exact)")
    ax.plot(s_line, np.log(1e4) / (2 * s_line), "--", color="k", lw=1.0, label=r"$\ln 10^4 / 2s$")
    theory_line(ax, s_line, d_pc, color=COLORS[3], label="predictive coding (mode ODE)")
    ax.plot(s_line, np.log(1e4) / (2 * mu), "--", color=COLORS[3], lw=1.0,
            label=r"$\ln 10^4 / 2\mu$, $\mu = s(s+\sqrt{s^2+4})/2$")
    agreement["pc_plateau_vs_escape_rate_max_rel_dev"] = float(np.max(np.abs(d_pc * 2 * mu / np.log(1e4) - 1)))
    data["plateau"] = {"s": s_line, "backprop": d_bp, "predictive_coding": d_pc, "escape_rate": mu,
                       "t_half_w0.001": t_half[1e-3], "t_half_w1e-05": t_half[1e-5]}
    agreement["rate_ratio_s3"] = float(predictive_coding_escape_rate(3.0) / 3.0)
    ax.set_yscale("log")
    ax.set_xlabel("singular value s of the mode")
    ax.set_ylabel(r"$t_{1/2}(w_0 = 10^{-5}) - t_{1/2}(w_0 = 10^{-3})$")
    ax.set_title("(b) plateau growth vs s: the escape rate")
    ax.legend(fontsize=7)
    fig.tight_layout()
    params = {"s": S, "w0": W0_SCALE, "lr": lr, "t_end": T, "depth": 2, "P": 24, "seed": seed}
    return save(fig, {"params": params, "data": data, "agreement": agreement}, name=NAME, out=out, quick=quick)
