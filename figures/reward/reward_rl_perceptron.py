"""The RL perceptron under sparse reward (Patel, Lee, Sarao Mannelli, Goldt & Saxe 2025): a perceptron
takes T decisions per episode and is rewarded (lr_1 = 1, no penalty) only when all T are correct.
(a) Per-decision accuracy vs alpha = episodes / N for several T: the ODEs of
:class:`idealnets.theory.reward.RLPerceptronODE` (lines) against simulations at N = 1000 (circles)
and N = 4000 (squares), mean +- sd over the ensemble; learning is delayed as T grows (the initial
drift of R is 2^-(T-1) of the dense one). (b) The gap between the ensemble mean and the ODE and
the ensemble spread at the two sizes: the spread shrinks as N^-1/2.

Simulations: :func:`idealnets.simulate.reward.train_rl_perceptron` with ``method="overlaps"``
(exact in law: the same (R, Q) process as the N-dimensional weights at O(T) cost per episode; the
eight (T, N) ensembles run together by :func:`idealnets.simulate.reward.train_rl_perceptron_batch`),
checked against the N-dimensional simulation (``method="full"``, triangles) at N = 1000 for one T.
"""
from __future__ import annotations

import numpy as np

from idealnets.simulate.reward import train_rl_perceptron, train_rl_perceptron_batch
from idealnets.theory.reward import RLPerceptronODE

from .._common import COLORS, DEFAULT_OUT, save, sim_markers, style, theory_line
from ._shared import SECTION, student_at_chance

NAME = "reward_rl_perceptron"
TITLE = "RL perceptron under sparse reward: ODEs vs simulations at N = 1000 and 4000"
CAPTION = ("**The RL perceptron under sparse reward.** Reward only when all T decisions of an episode are "
           "correct (lr$_1$ = {params[lr_1]}, no penalty). (a) Per-decision accuracy: ODEs (lines) vs "
           "{params[n_networks]} simulated students at N = {params[Ns][0]} and {params[Ns][1]} (markers); learning "
           "is delayed as T grows (alpha to 70% accuracy: {agreement[alpha70_T1]:.3g} at T = 1, "
           "{agreement[alpha70_Tmax]:.3g} at T = {params[Ts][3]}). Largest deviation of the ensemble mean from the "
           "ODE: {agreement[max_dev_in_se]:.2g} standard errors. (b) The ensemble spread of the accuracy shrinks "
           "as 1/sqrt(N): ratio {agreement[spread_ratio]:.2f} between the two sizes (2 expected). "
           "The N-dimensional simulation agrees with the overlap simulation (triangles).")
TOLERANCES = {
    "max_dev_in_se": (4.5, "tests/test_reward.py::test_simulation_matches_ode_and_spread_shrinks_as_inverse_sqrt_n",
                      "max of 128 |z| (8 runs x 16 records), se from 32 students (t_31): P(any > 4.5) ~ 0.01"),
    "spread_ratio": ((1.5, 2.5), "tests/test_reward_figures.py::test_rl_perceptron_record",
                     "sqrt(4000/1000) = 2; sd ratio of 32-student ensembles, 4 T: SE ~ 9%, 3 SE"),
}

TS = (1, 2, 4, 6)
NS = (1000, 4000)
LR_1 = 1.0
ALPHA_MAX = 40.0
E = 32


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    import matplotlib.pyplot as plt

    style()
    Ts = TS
    Ns = (200, 800) if quick else NS
    alpha_max = 3.0 if quick else ALPHA_MAX
    n_net = 16 if quick else E
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.0), gridspec_kw={"width_ratios": [1.5, 1]})
    a_line = np.linspace(0, alpha_max, 400)
    data, agreement = {}, {}
    z_max, sd = 0.0, {N: [] for N in Ns}
    gap = {N: [] for N in Ns}
    # the 8 (T, N) ensembles are independent: one batched simulation (bit-identical to 8 separate runs)
    conditions = []
    for i, T in enumerate(Ts):
        for j, N in enumerate(Ns):
            W0, ws = student_at_chance(n_net, N, rng)
            conditions.append(dict(W0=W0, w_star=ws, T=T, lr_1=LR_1, alpha_max=alpha_max, seed=seed + 10 * i + j,
                                   record=np.linspace(0, alpha_max * N, 17).round().astype(int)))
    runs = iter(train_rl_perceptron_batch(conditions, device=device))
    for i, T in enumerate(Ts):
        ode = RLPerceptronODE(T, LR_1)
        c = COLORS[i]
        theory_line(axes[0], a_line, ode.integrate(0.0, 1.0, a_line).accuracy, color=c, label=f"T = {T}")
        acc70 = ode.integrate(0.0, 1.0, np.linspace(0, 200, 4001)).accuracy
        agreement[f"alpha70_T{T}"] = float(np.linspace(0, 200, 4001)[np.argmax(acc70 >= 0.7)])
        for j, N in enumerate(Ns):
            run = next(runs)
            acc = 1.0 - run.losses
            th = ode.integrate(0.0, 1.0, run.times).accuracy
            se = acc.std(0, ddof=1) / np.sqrt(n_net)
            z_max = max(z_max, float(np.max(np.abs(acc.mean(0) - th)[1:] / se[1:])))
            sd[N].append(float(acc[:, -1].std(ddof=1)))
            gap[N].append(float(np.sqrt(np.mean((acc.mean(0) - th)[1:] ** 2))))
            sim_markers(axes[0], run.times, acc, color=c, marker="os"[j], ms=3.5, band=(j == 1))
            data[f"T{T}_N{N}"] = {"alpha": run.times, "theory": th, "sim_mean": acc.mean(0), "sim_sd": acc.std(0)}
    # one N-dimensional check at the smaller N
    T_full = 2
    N_full = Ns[0]
    a_full = 1.0 if quick else 10.0
    W0, ws = student_at_chance(8, N_full, rng)
    full = train_rl_perceptron(W0, ws, T=T_full, lr_1=LR_1, alpha_max=a_full, record=np.linspace(
        0, a_full * N_full, 6).round().astype(int), seed=seed + 99, method="full", device=device)
    acc_f = 1.0 - full.losses
    th_f = RLPerceptronODE(T_full, LR_1).integrate(0.0, 1.0, full.times).accuracy
    se_f = acc_f.std(0, ddof=1) / np.sqrt(acc_f.shape[0])
    agreement["full_max_dev_in_se"] = float(np.max(np.abs(acc_f.mean(0) - th_f)[1:] / se_f[1:]))
    sim_markers(axes[0], full.times, acc_f, color=COLORS[Ts.index(T_full)], marker="^", ms=5, band=False)
    axes[0].plot([], [], "ko", mfc="white", ms=4, label=f"N = {Ns[0]}")
    axes[0].plot([], [], "ks", mfc="white", ms=4, label=f"N = {Ns[1]}")
    axes[0].plot([], [], "k^", mfc="white", ms=5, label=f"N = {N_full}, full weights")
    axes[0].set_xlabel(r"$\alpha$ = episodes / N")
    axes[0].set_ylabel("per-decision accuracy")
    axes[0].set_title("(a) reward only if all T decisions are correct")
    axes[0].legend(loc="lower right", fontsize=7.5, ncol=2)

    ax = axes[1]
    x = np.arange(len(Ts))
    for j, N in enumerate(Ns):
        ax.bar(x + (j - 0.5) * 0.38, sd[N], width=0.36, color=COLORS[j + 4], label=f"spread (sd), N = {N}")
        ax.plot(x + (j - 0.5) * 0.38, gap[N], "k" + "os"[j], mfc="white", ms=5,
                label=f"rms |mean $-$ ODE|, N = {N}")
    ax.set_xticks(x, [f"T = {T}" for T in Ts])
    ax.set_ylabel(rf"accuracy: sd at $\alpha$ = {alpha_max:g}; rms gap over $\alpha$")
    ax.set_title(r"(b) fluctuations shrink as $N^{-1/2}$")
    ax.legend(loc="upper left", fontsize=7.5)
    fig.tight_layout()
    ratio = np.array(sd[Ns[0]]) / np.array(sd[Ns[1]])
    agreement.update({"max_dev_in_se": z_max, "spread_ratio": float(np.exp(np.mean(np.log(ratio)))),
                      "gap_rms_small_N": float(np.mean(gap[Ns[0]])), "gap_rms_large_N": float(np.mean(gap[Ns[1]])),
                      "alpha70_Tmax": agreement[f"alpha70_T{Ts[-1]}"]})
    params = {"Ts": Ts, "Ns": Ns, "lr_1": LR_1, "lr_2": 0.0, "alpha_max": alpha_max, "n_networks": n_net,
              "seed": seed, "full_check": {"T": T_full, "N": N_full, "alpha_max": a_full, "n_networks": 8}}
    return save(fig, {"params": params, "data": data, "agreement": agreement}, name=NAME, out=out, quick=quick)
