"""The conditioning trial (Montague, Dayan & Sejnowski 1996; Schultz, Dayan & Montague 1997): a cue
at step 5, a reward (probability 0.8) at step 20 of a 25-step trial, a tapped-delay-line
representation of the time since the cue, TD(0) with gamma = 0.98. (a) The exact mean TD error
at every step of every trial (heat map): it starts at the reward and ends at the cue; (b) the
error at the cue and at the reward over trials, exact (lines) against 64 trained agents
(markers, mean +- sd; reward drawn per agent and trial, online updates within the trial);
(c) the error profile within a trial at a few trials.

Theory: :class:`idealnets.theory.reward.CueRewardTrial`; agents:
:func:`idealnets.simulate.reward.train_cue_reward`.
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d

from idealnets.simulate.reward import train_cue_reward
from idealnets.theory.reward import cue_reward_trial

from .._common import COLORS, DEFAULT_OUT, save, sim_markers, style, theory_line
from ._shared import SECTION

NAME = "reward_cue_trial"
TITLE = "The TD prediction error moves from the reward to the cue over trials: exact recursion vs trained agents"
CAPTION = ("**The dopamine-like prediction error moves from reward to cue.** A cue at step {params[cue_time]}, a "
           "reward (probability {params[p_reward]}) at step {params[reward_time]}, tapped-delay-line features, "
           "TD(0), gamma = {params[gamma]}, lr = {params[lr]}. (a) Exact mean TD error at every step of every trial. "
           "(b) Error at the cue and at the reward: exact (lines) vs {params[n_networks]} agents (markers): rms "
           "deviation {agreement[rms_dev_in_se]:.2g} standard errors, largest {agreement[max_dev_in_se]:.2g}; the cue "
           "response reaches half its final value "
           "at trial {agreement[half_cue_trial_exact]:.1f} (agents: {agreement[half_cue_trial_agents]:.1f}) and "
           "approaches gamma^16 p = {agreement[cue_response_learned]:.3g} "
           "(the reward response vanishes).")
TOLERANCES = {
    "max_dev_in_se": (5.0,
                      "tests/test_reward.py::test_cue_reward_agents_online_equal_exact_and_stochastic_mean_within_se",
                      "max of ~10^4 correlated |z|, se from 64 agents: P(any > 5) < 0.05"),
    "rms_dev_in_se": ((0.75, 1.25), "tests/test_reward_figures.py::test_cue_trial_record",
                      "unbiased means give rms z = 1; ~100 effectively independent z: 3 SE ~ 0.2"),
    "half_cue_trial_agents": ((103.0, 105.2), "tests/test_records.py::test_records_within_tolerances",
                              "exact 104.1 +- 4 SE; SE of the crossing = se / slope = 0.27 trials (64 agents)"),
}

L, CUE, REWARD, GAMMA, P_REWARD, LR = 25, 5, 20, 0.98, 0.8, 0.15
TRIALS = 400
E = 64
PROFILES = (0, 20, 60, 150, 399)


def _half_time(cue, learned):
    """Trial (linearly interpolated) at which the cue response first reaches half its learned value."""
    above = np.flatnonzero(cue >= 0.5 * learned)
    if not above.size:
        return float("nan")
    i = int(above[0])
    if i == 0:
        return 0.0
    return float(i - 1 + (0.5 * learned - cue[i - 1]) / (cue[i] - cue[i - 1]))


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    import matplotlib.pyplot as plt

    style()
    trials = 120 if quick else TRIALS
    n_net = 32 if quick else E
    trial = cue_reward_trial(L, CUE, REWARD, GAMMA, p_reward=P_REWARD)
    pe = trial.prediction_errors(trials, LR)
    run = train_cue_reward(trial, lr=LR, trials=trials, n_networks=n_net, seed=seed, device=device)
    d = run.delta[:, 1:]  # trial n's errors, n = 0..trials-1
    # standard errors from the variance pooled over +-5 neighbouring trials (it changes slowly from trial to
    # trial; one trial's sample variance of a Bernoulli reward among 64 agents is too noisy for a z-score)
    se = np.sqrt(uniform_filter1d(d.var(0, ddof=1), 11, axis=0, mode="nearest") / n_net)
    live = se > 1e-12
    z = np.abs(d.mean(0) - pe)[live] / se[live]
    det_dev = float(np.max(np.abs(d.mean(0) - pe)[~live])) if (~live).any() else 0.0

    fig, axes = plt.subplots(1, 3, figsize=(11.5, 5.4), gridspec_kw={"width_ratios": [1.1, 1, 1]})
    ax = axes[0]
    vmax = float(np.max(np.abs(pe)))
    im = ax.imshow(pe, aspect="auto", origin="lower", cmap="RdBu_r", vmin=-vmax, vmax=vmax,
                   extent=(-0.5, L - 0.5, -0.5, trials - 0.5))
    ax.axvline(CUE - 0.5, color="k", lw=0.8, ls="--")
    ax.axvline(REWARD, color="k", lw=0.8, ls=":")
    ax.set_xlabel("time step in the trial\n(cue: dashed, reward: dotted)")
    ax.set_ylabel("trial")
    ax.set_title("(a) exact mean TD error $\\delta_t$")
    fig.colorbar(im, ax=ax, fraction=0.05, pad=0.02)

    ax = axes[1]
    n = np.arange(trials)
    for idx, c, lab in ((CUE - 1, COLORS[0], "at the cue"), (REWARD, COLORS[3], "at the reward")):
        theory_line(ax, n, pe[:, idx], color=c, label=f"{lab}, exact")
        pick = np.unique(np.round(np.geomspace(1, trials, 25)).astype(int) - 1)
        ax.errorbar(n[pick], d[:, pick, idx].mean(0), yerr=se[pick, idx], fmt="o", ms=3.0, mfc="white", mec=c,
                    ecolor=c, elinewidth=0.8, label=f"{lab}, agents (mean $\\pm$ se)", zorder=3)
    ax.set_xscale("symlog", linthresh=10)
    ax.set_xlabel("trial")
    ax.set_ylabel("TD error")
    ax.set_title("(b) response at the cue\nand at the reward")
    # under the panel: inside, it covered the curves at print size
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), fontsize=7.5, frameon=False)

    ax = axes[2]
    t = np.arange(L)
    prof = [p for p in PROFILES if p < trials]
    cmap = plt.get_cmap("viridis")
    for i, p in enumerate(prof):
        c = cmap(i / max(1, len(prof) - 1))
        theory_line(ax, t, pe[p], color=c, label=f"trial {p}")
        sim_markers(ax, t, d[:, p], color=c, ms=2.5, band=False)
    ax.set_xlabel("time step in the trial")
    ax.set_ylabel("TD error")
    ax.set_title("(c) within-trial profiles")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, fontsize=7.5, frameon=False)
    fig.tight_layout()  # 11.5 in wide: prints at >= 7 pt at the text width

    # the agents' expected cue response: the error of their mean weights (the cue response carries no
    # reward noise, it is gamma V_cue)
    learned = float(trial.learned_errors()[CUE - 1])
    cue_m = trial.errors_of(run.w.mean(0)[:-1])[:, CUE - 1]
    agreement = {"max_dev_in_se": float(z.max()), "rms_dev_in_se": float(np.sqrt(np.mean(z**2))),
                 "deterministic_max_dev": det_dev,
                 "half_cue_trial_exact": _half_time(pe[:, CUE - 1], learned),
                 "half_cue_trial_agents": _half_time(cue_m, learned),
                 "cue_response_final": float(pe[-1, CUE - 1]), "reward_response_final": float(pe[-1, REWARD]),
                 "cue_response_learned": learned}
    params = {"L": L, "cue_time": CUE, "reward_time": REWARD, "gamma": GAMMA, "p_reward": P_REWARD, "lr": LR,
              "trials": trials, "n_networks": n_net, "seed": seed}
    data = {"exact": pe, "agents_mean": d.mean(0), "agents_se": se}
    return save(fig, {"params": params, "data": data, "agreement": agreement}, name=NAME, out=out, quick=quick)
