"""(c) What trained separate-KQ attention computes in context, stage by stage: its predictions on
new prompts against principal component regression with k components on the same context
(least squares on the top-k eigen-directions of Lambda) and against the theory's plateau predictor
``sum_{d<=k} (lambda_d / g_d)(e_d.h)(e_d.x_q)``."""
from __future__ import annotations

import numpy as np
import torch

from idealnets.simulate.attention import sample_prompts, train_linear_attention
from idealnets.theory.attention import InContextTask, SeparateKQTheory, pcr_predict

from .._common import COLORS, DEFAULT_OUT, save, style
from ._shared import LAMBDA, N_CONTEXT, SECTION

NAME = "attention_pcr"
TITLE = "Trained separate-KQ attention implements principal component regression in context"
SECTION = SECTION
CAPTION = ("**In-context predictions on the plateaus** (separate K, Q; D = {params[D]}, N = {params[N]}, "
           "H = {params[H]}, {params[n_prompts]} new prompts). On the plateau after k stages the trained network's "
           "prediction matches the theory's plateau predictor to a relative RMS {agreement[max_rel_rms_vs_theory]:.3g} "
           "(worst k) and PCR with k components to {params[rel_rms_vs_pcr]} (k = 1, 2, ...): PCR up to the "
           "context's finite-N fluctuation of its projected covariance, O(N^-1/2).")
# Untested: the gap to the plateau predictor mixes batch noise, O(lr) and the residual of the stages not yet
# complete at the sampled time; no error analysis of it is at hand.
TOLERANCES = {}

H = 4
INIT = 0.1
LR = 0.5
BATCH = 512


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    import matplotlib.pyplot as plt

    style()
    task = InContextTask(LAMBDA, N_CONTEXT)
    nh = 2 if quick else H
    init = 0.3 if quick else INIT
    th = SeparateKQTheory(task, H=nh, init_scale=init)
    ts = th.stage_times()
    T = 1.5 * ts[-1]
    times = np.concatenate([np.sqrt(ts[:-1] * ts[1:]), [T]])  # one time on each plateau after stage k
    steps = int(round(T / LR))
    rec = np.unique(np.concatenate([[0], np.round(times / LR).astype(int)]))
    run = train_linear_attention(LAMBDA, N_CONTEXT, parametrization="separate", H=nh, init_scale=init, lr=LR,
                                 steps=steps, batch_size=64 if quick else BATCH, n_networks=1, record=rec, n_test=0,
                                 seed=seed, device=device, progress_bar=False)
    P = 300 if quick else 1000
    g = torch.Generator().manual_seed(seed + 7)
    X, y, _ = sample_prompts(task, (P,), generator=g, device="cpu", dtype=torch.float64)
    X, y = X.numpy(), y.numpy()
    ctx, lab, xq = X[..., :-1], y[..., :-1], X[..., -1]
    ncol = min(nh, 2)  # two panels a row (2 x 2 at H = 4), legible at print width
    nrow = -(-nh // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.4 * ncol, 3.2 * nrow), squeeze=False)
    rms_th, rms_pcr, data = [], [], {}
    for k in range(1, nh + 1):
        r = int(np.argmin(np.abs(run.times - times[k - 1])))
        trained = task.predict(run.beta[0, r], ctx, lab, xq)
        theory = task.predict(task.predictor(k), ctx, lab, xq)
        pcr = pcr_predict(ctx, lab, xq, k, task.eigenvectors)
        scale = np.sqrt(np.mean(pcr**2))
        rms_th.append(float(np.sqrt(np.mean((trained - theory) ** 2)) / scale))
        rms_pcr.append(float(np.sqrt(np.mean((trained - pcr) ** 2)) / scale))
        ax = axes.flat[k - 1]
        ax.plot(pcr, trained, ".", ms=2.5, color=COLORS[k - 1], alpha=0.6)
        lim = np.abs(np.concatenate([pcr, trained])).max()
        ax.plot([-lim, lim], [-lim, lim], "k-", lw=0.8)
        ax.set_xlabel(f"PCR with k = {k} components")
        ax.set_title(f"plateau after stage {k} (t = {run.times[r]:.3g})", fontsize=9)
        data[f"k{k}"] = {"t": run.times[r], "trained": trained, "pcr": pcr, "theory": theory}
    for ax in axes[:, 0]:
        ax.set_ylabel("trained attention's prediction")
    fig.tight_layout()
    agreement = {"max_rel_rms_vs_theory": float(max(rms_th)), "max_rel_rms_vs_pcr": float(max(rms_pcr))}
    params = {"D": task.D, "N": N_CONTEXT, "H": nh, "init_scale": init, "lr": LR, "n_prompts": P, "seed": seed,
              "rel_rms_vs_pcr": ", ".join(f"{v:.3g}" for v in rms_pcr),
              "rel_rms_vs_theory": ", ".join(f"{v:.3g}" for v in rms_th)}
    return save(fig, {"params": params, "data": data, "agreement": agreement}, name=NAME, out=out, quick=quick)
