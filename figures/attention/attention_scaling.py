"""(d) How the timescales depend on the spectrum of Lambda and on the number of heads H: separate-KQ
stage times against the eigenvalue they learn (exact closed form, the estimate
``1/(lambda^2 init)``, trained); merged-KQ drop time against H (only ``s0 = H init^2`` enters:
``ln(s*/s0)/(2|Lambda^2|_F)``, trained); and the final loss against H (separate: PCR with
``min(H, D)`` components; merged: the global minimum for every H)."""
from __future__ import annotations

import numpy as np

from idealnets.simulate.attention import train_linear_attention
from idealnets.theory.attention import InContextTask, MergedKQTheory, SeparateKQTheory

from .._common import COLORS, DEFAULT_OUT, save, style, theory_line
from ._shared import LAMBDA, N_CONTEXT, SECTION, crossing_down
from .attention_separate import stage_crossings

NAME = "attention_scaling"
TITLE = "Stage times against the eigenvalues of Lambda, drop time and final loss against the number of heads"
SECTION = SECTION
CAPTION = ("**Dependence on Lambda and H** (N = {params[N]}). (a) Separate K, Q: the stage that learns eigen-direction "
           "d ends at about 1/(lambda_d^2 init) (closed form exact; trained relative gap at most "
           "{agreement[stage_time_rel_gap]:.3g}), so the spectrum sets the spacing of the staircase. (b) Merged KQ: "
           "H heads act as one head with s0 = H init^2, so the drop comes earlier by ln(H)/(2|Lambda^2|_F) "
           "(trained relative gap at most {agreement[drop_time_rel_gap]:.3g}). (c) Final loss: separate heads learn "
           "min(H, D) components (PCR), merged attention reaches the global minimum with one head.")
TOLERANCES = {
    "stage_time_rel_gap": (0.2, "tests/test_records.py::test_records_within_tolerances",
                           "crossings between records 8.4% apart + Euler delay lr / (2 t_1) = 0.018"),
    "drop_time_rel_gap": (0.04, "tests/test_records.py::test_records_within_tolerances",
                          "Euler delay of the escape lr |B| / 2 = 0.019 at lr 0.2, within a factor 2"),
}

INIT_S = 0.2
INIT_M = 1e-3
HS = (1, 4, 16)


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    import matplotlib.pyplot as plt
    import matplotlib.ticker as mticker

    style()
    fig, axes = plt.subplots(1, 3, figsize=(11.2, 4.0))
    data = {}
    # (a) separate stage times vs eigenvalue, two spectra
    ax = axes[0]
    spectra = {"linear (peer)": LAMBDA, "geometric": np.array([0.5, 0.25, 0.125, 0.0625]) / 0.9375}
    lam_grid = np.geomspace(0.05, 0.6, 50)
    theory_line(ax, lam_grid, 1.0 / (lam_grid**2 * INIT_S), color="0.5", label=r"$1/(\lambda^2\,$init$)$")
    for j, (name, lam) in enumerate(spectra.items()):
        task = InContextTask(lam, N_CONTEXT)
        th = SeparateKQTheory(task, H=4, init_scale=INIT_S)
        ax.plot(task.eigenvalues, th.stage_times_by_direction(), "s", color=COLORS[j], ms=6, label=f"theory, {name}")
        data[f"separate_{name}"] = {"lambda": task.eigenvalues, "stage_times": th.stage_times_by_direction()}
    task = InContextTask(LAMBDA, N_CONTEXT)
    nh = 2 if quick else 4
    th = SeparateKQTheory(task, H=nh, init_scale=INIT_S)
    T = 1.3 * th.stage_times()[-1]
    lr = 1.0
    steps = int(round(T / lr))
    rec = np.unique(np.round(np.geomspace(1, steps, 20 if quick else 80)).astype(int))
    run = train_linear_attention(LAMBDA, N_CONTEXT, parametrization="separate", H=nh, init_scale=INIT_S, lr=lr,
                                 steps=steps, batch_size=64 if quick else 256, n_networks=2, record=np.r_[0, rec],
                                 n_test=0, seed=seed, device=device, progress_bar=False)
    meas = np.nanmean(stage_crossings(run, task)[:, :nh], axis=0)
    ax.plot(task.eigenvalues[:nh], meas, "o", mfc="white", mec=COLORS[3], mew=1.3, ms=7, label="trained")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"eigenvalue $\lambda_d$")
    ax.set_ylabel("stage time")
    ax.set_xticks([0.05, 0.1, 0.2, 0.5])  # plain labels, no colliding minor ones
    ax.xaxis.set_major_formatter(mticker.FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(mticker.NullFormatter())
    ax.set_title("(a) separate: stage time ~ 1/lambda^2")
    ax.legend(fontsize=7.5, loc="upper right")
    st_gap = float(np.nanmax(np.abs(meas / th.stage_times_by_direction()[:nh] - 1)))
    data["separate_trained"] = {"lambda": task.eigenvalues[:nh], "stage_times": meas}

    # (b) merged drop time vs H
    ax = axes[1]
    Hgrid = np.unique(np.round(np.geomspace(1, 64, 20)).astype(int))
    exact = [MergedKQTheory(task, H=int(h), init_scale=INIT_M).drop_time() for h in Hgrid]
    est = [MergedKQTheory(task, H=int(h), init_scale=INIT_M).drop_time_estimate() for h in Hgrid]
    theory_line(ax, Hgrid, exact, color="k", label="theory")
    ax.plot(Hgrid, est, "--", color="0.5", lw=1.2, label=r"$\ln(s^*/(H\,$init$^2))/(2|\Lambda^2|_F)$")
    hs = HS[-1:] if quick else HS
    dm, dp = [], []
    for i, h in enumerate(hs):
        thm = MergedKQTheory(task, H=h, init_scale=INIT_M)
        Tm = 1.5 * thm.drop_time()
        lrm = 0.2
        r = train_linear_attention(LAMBDA, N_CONTEXT, H=h, init_scale=INIT_M, lr=lrm, steps=int(round(Tm / lrm)),
                                   batch_size=64 if quick else 256, n_networks=2, record=15 if quick else 40,
                                   n_test=0, seed=seed + 10 + i, device=device, progress_bar=False)
        mid = 0.5 * (thm.loss(0.0) + task.loss_min())
        dm.append(float(np.mean(crossing_down(r.times, r.losses, mid))))
        dp.append(thm.drop_time())
    ax.plot(hs, dm, "o", mfc="white", mec=COLORS[3], mew=1.3, ms=7, label="trained")
    ax.set_xscale("log")
    ax.set_xlabel("heads H")
    ax.set_ylabel("drop time")
    ax.set_title(f"(b) merged: drop time vs H (init {INIT_M:g})")
    ax.legend(fontsize=7.5, loc="upper right")
    data["merged_drop"] = {"H": Hgrid, "theory": exact, "estimate": est, "H_trained": list(hs), "trained": dm}

    # (c) final loss vs H
    ax = axes[2]
    Hs = np.arange(1, 7)
    sep = [SeparateKQTheory(task, H=int(h), init_scale=INIT_S).loss(np.inf) for h in Hs]
    ax.plot(Hs, sep, "s-", color=COLORS[0], label="separate: PCR with\nmin(H, D) components")
    ax.plot(Hs, np.full(Hs.size, task.loss_min()), "--", color=COLORS[1], label="merged: global minimum")
    ax.plot([nh], [run.losses[:, -1].mean()], "o", mfc="white", mec=COLORS[3], mew=1.3, ms=7,
            label="trained (separate)")
    ax.set_xlabel("heads H")
    ax.set_ylabel("final loss")
    ax.set_title(f"(c) final loss (D = {task.D})")
    ax.legend(fontsize=7.5, loc="upper right")
    data["final_loss"] = {"H": Hs, "separate": sep, "merged": task.loss_min()}
    fig.tight_layout()
    agreement = {"stage_time_rel_gap": st_gap,
                 "drop_time_rel_gap": float(np.max(np.abs(np.array(dm) / np.array(dp) - 1)))}
    params = {"N": N_CONTEXT, "D": task.D, "init_separate": INIT_S, "init_merged": INIT_M, "H_trained": list(hs),
              "seed": seed}
    return save(fig, {"params": params, "data": data, "agreement": agreement}, name=NAME, out=out, quick=quick)
