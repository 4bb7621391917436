"""The RL perceptron's speed-accuracy trade-off (Patel, Lee, Sarao Mannelli, Goldt & Saxe 2025): T = 8
decisions per episode, reward when at least n are correct, lr_1 = 1 and a penalty lr_2 for
unrewarded episodes. (a) Accuracy vs alpha for n = 5..8 without penalty: lenient conditions learn
fast and level off low (rewarded episodes reinforce wrong decisions too), stringent ones start
late and end high. (b) Accuracy at an early and a late alpha vs n/T, for several penalties:
the best n moves up with training time. (c) Time to 70% accuracy vs n/T: a penalty speeds
learning for lenient conditions, but for stringent ones it shrinks the student to a state at
chance (Q -> 0; a cross: 70% not reached by alpha = 200). Lines: the ODEs of :class:`idealnets.theory.reward.RLPerceptronODE`;
markers: simulated students at N = 1000 (overlap simulation,
:func:`idealnets.simulate.reward.train_rl_perceptron`, mean +- sd).
"""
from __future__ import annotations

import numpy as np

from idealnets.simulate.reward import train_rl_perceptron
from idealnets.theory.reward import RLPerceptronODE

from .._common import COLORS, DEFAULT_OUT, save, sim_markers, style, theory_line
from ._shared import SECTION, student_at_chance

NAME = "reward_tradeoff"
TITLE = "RL perceptron: the speed-accuracy trade-off set by the reward's stringency n/T, and the penalty"
CAPTION = ("**Speed vs accuracy in the RL perceptron.** T = {params[T]} decisions, reward if at least n are "
           "correct. (a) Lenient conditions learn fast and level off low; stringent ones start late and end high "
           "(ODE lines, {params[n_networks]} students at N = {params[N]}, largest deviation "
           "{agreement[max_dev_in_se]:.2g} standard errors). (b) Without penalty the best n/T is "
           "{agreement[best_frac_early]:.3g} at alpha = {params[alpha_early]} but {agreement[best_frac_late]:.3g} at "
           "alpha = {params[alpha_late]}. (c) A penalty lr$_2$ = {params[lr_2_max]} cuts the time to 70% accuracy "
           "at n/T = 6/8 from {agreement[alpha70_n6_lr2_0]:.3g} to {agreement[alpha70_n6_lr2_max]:.3g}, but traps "
           "the stringent conditions at chance (accuracy {agreement[trapped_accuracy]:.3g} at n = T).")
TOLERANCES = {
    "max_dev_in_se": (4.5, "tests/test_reward.py::test_simulation_matches_ode_and_spread_shrinks_as_inverse_sqrt_n",
                      "max of 20 |z| (4 runs x 5 records), se from 16 students (t_15): P(any > 4.5) ~ 0.01"),
    "best_frac_early": ((0.55, 0.95), "tests/test_records.py::test_records_within_tolerances",
                        "the claim: early on an intermediate n/T is best (grid 4/8 ... 8/8)"),
    "best_frac_late": ((0.95, 1.05), "tests/test_records.py::test_records_within_tolerances",
                       "the claim: late the strictest condition n = T is best"),
    "trapped_accuracy": ((0.48, 0.52), "tests/test_reward_figures.py::test_tradeoff_record",
                         "the claim: the penalty traps n = T at chance (0.5)"),
}

T = 8
NS_REWARD = (4, 5, 6, 7, 8)
LR_2S = (0.0, 0.25, 0.5)
ALPHA_EARLY, ALPHA_LATE = 20.0, 200.0
N = 1000
E = 16


def _tag(l2):
    """Agreement-key tag of a penalty: ``lr2_0`` (none), ``lr2_max`` (the largest), ``lr2_mid``."""
    return "lr2_0" if l2 == 0 else ("lr2_max" if l2 == LR_2S[-1] else "lr2_mid")


def _alpha_to(acc, alpha, level):
    i = np.flatnonzero(acc >= level)
    if not i.size:
        return float("nan")
    i = int(i[0])
    return float(alpha[i - 1] + (level - acc[i - 1]) / (acc[i] - acc[i - 1]) * (alpha[i] - alpha[i - 1]))


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    import matplotlib.pyplot as plt

    style()
    n_dim = 300 if quick else N
    n_net = 8 if quick else E
    a_sim = 4.0 if quick else ALPHA_EARLY
    sims_n = (5, 8) if quick else NS_REWARD[1:]
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(1, 3, figsize=(11.5, 4.8))
    alpha_late = 60.0 if quick else ALPHA_LATE
    alpha = np.concatenate([[0.0], np.geomspace(0.25, alpha_late, 500)])
    alpha[np.argmin(np.abs(alpha - ALPHA_EARLY))] = ALPHA_EARLY
    ns = (5, 6, 8) if quick else NS_REWARD
    lr2s = (0.0, 0.5) if quick else LR_2S
    curves = {(n, l2): RLPerceptronODE(T, 1.0, l2, "at_least", n).integrate(0.0, 1.0, alpha).accuracy
              for n in ns for l2 in lr2s}
    data, agreement = {"alpha": alpha}, {}

    ax = axes[0]
    z_max = 0.0
    for i, n in enumerate(ns):
        if n == NS_REWARD[0]:
            continue
        c = COLORS[i]
        theory_line(ax, alpha[1:], curves[(n, 0.0)][1:], color=c, label=f"n = {n}")
        if n in sims_n:
            W0, ws = student_at_chance(n_net, n_dim, rng)
            run = train_rl_perceptron(W0, ws, T=T, lr_1=1.0, condition="at_least", n=n, alpha_max=a_sim,
                                      record=np.linspace(0, a_sim * n_dim, 6).round().astype(int), seed=seed + n,
                                      method="overlaps", device=device)
            acc = 1.0 - run.losses
            th = RLPerceptronODE(T, 1.0, 0.0, "at_least", n).integrate(0.0, 1.0, run.times).accuracy
            se = acc.std(0, ddof=1) / np.sqrt(n_net)
            z_max = max(z_max, float(np.max(np.abs(acc.mean(0) - th)[1:] / se[1:])))
            sim_markers(ax, run.times[1:], acc[:, 1:], color=c, ms=3.5)
            data[f"sim_n{n}"] = {"alpha": run.times, "theory": th, "sim_mean": acc.mean(0), "sim_sd": acc.std(0)}
    ax.set_xscale("log")
    ax.set_xlim(0.25, alpha_late)
    ax.axvline(ALPHA_EARLY, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel(r"$\alpha$ = episodes / N")
    ax.set_ylabel("per-decision accuracy")
    ax.set_title(f"(a) reward if at least n\nof T = {T} correct")
    ax.legend(loc="upper left", fontsize=7.5)

    i_early, i_late = np.argmin(np.abs(alpha - ALPHA_EARLY)), len(alpha) - 1
    frac = np.array(ns) / T
    ax = axes[1]
    for j, l2 in enumerate(lr2s):
        c = COLORS[j + 4]
        early = [curves[(n, l2)][i_early] for n in ns]
        late = [curves[(n, l2)][i_late] for n in ns]
        ax.plot(frac, early, "o--", color=c, mfc="white", label=rf"lr$_2$ = {l2}, $\alpha$ = {ALPHA_EARLY:g}")
        ax.plot(frac, late, "o-", color=c, label=rf"lr$_2$ = {l2}, $\alpha$ = {alpha_late:g}")
        data[f"accuracy_{_tag(l2)}"] = {"early": early, "late": late}
        if l2 == 0.0:
            agreement["best_frac_early"] = float(frac[int(np.argmax(early))])
            agreement["best_frac_late"] = float(frac[int(np.argmax(late))])
    ax.set_xlabel("stringency n / T")
    ax.set_ylabel("per-decision accuracy")
    ax.set_title("(b) best stringency\nvs training time")
    # below the panel: off the curves at print size
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, fontsize=7, columnspacing=0.8, handlelength=1.5)

    ax = axes[2]
    for j, l2 in enumerate(lr2s):
        c = COLORS[j + 4]
        a70 = np.array([_alpha_to(curves[(n, l2)], alpha, 0.7) for n in ns])
        ax.plot(frac, a70, "o-", color=c, label=rf"lr$_2$ = {l2}")
        never = np.isnan(a70)
        ax.plot(frac[never], np.full(never.sum(), 1.6 * alpha_late), "x", color=c, ms=8, clip_on=False)
        data[f"alpha70_{_tag(l2)}"] = a70
        for n, a in zip(ns, a70):
            agreement[f"alpha70_n{n}_{_tag(l2)}"] = float(a) if np.isfinite(a) else None
    ax.set_yscale("log")
    ax.set_ylim(2, 2.2 * alpha_late)
    ax.set_xlabel("stringency n / T")
    ax.set_ylabel(rf"$\alpha$ to 70% accuracy" "\n" rf"($\times$: not by $\alpha$ = {alpha_late:g})")
    ax.set_title("(c) the penalty: faster,\nuntil it traps")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), fontsize=7.5)  # below: inside, it covered the curves
    fig.tight_layout(w_pad=0.6)  # 11.5 in wide: prints at >= 7 pt at the text width
    agreement.update({"max_dev_in_se": z_max, "trapped_accuracy": float(curves[(T, lr2s[-1])][-1])})
    agreement = {k: v for k, v in agreement.items() if v is not None}
    params = {"T": T, "ns": ns, "lr_1": 1.0, "lr_2s": lr2s, "lr_2_max": lr2s[-1], "alpha_early": ALPHA_EARLY,
              "alpha_late": alpha_late, "N": n_dim, "n_networks": n_net, "alpha_sim": a_sim, "seed": seed}
    return save(fig, {"params": params, "data": data, "agreement": agreement}, name=NAME, out=out, quick=quick)
