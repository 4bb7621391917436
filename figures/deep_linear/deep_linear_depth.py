"""(c) Learning time versus depth for three initialisations (Saxe, Nelli & Summerfield 2021, Fig. 4c).

Held fixed across depth D: whitened square data with ``Syx = s Q`` (N modes of equal
strength s), the criterion (relative excess loss ``||W - Syx||^2/||Syx||^2 <= DELTA``),
and the learning rate as a fixed fraction KAPPA of the depth-D stable limit,
``lr(D) = KAPPA * 2/(D s^{2-2/D}) ~ 1/D`` (:func:`idealnets.theory.deep_linear.depth_learning_rate`).
Learning time is counted in GD steps. Lines: theory
(:func:`idealnets.theory.deep_linear.depth_learning_steps`); markers: trained networks (median,
bar: interquartile range).

* small: decoupled modes with per-layer gain GAIN (theory exact), and i.i.d. Gaussian
  square layers with the same rms gain (filled circles): also exponential, but steeper,
  because the product of random square matrices spreads the mode strengths and the
  weakest mode sets the time (no closed form; shown, not fitted).
* pretrained: greedy layerwise linear-autoencoder pretraining of the D-1 hidden layers
  (simulate.deep_linear.pretrain_layerwise; each autoencoder starts balanced at strength
  READOUT^2), small random readout; steps include the pretraining stages (lighter
  markers and dashed line: fine-tuning only).
* orthogonal: Haar-orthogonal square layers; exact theory from the initial eigenvalues of
  ``Q^T W(0)`` (line: median over Haar draws; agreement: per network). Networks with ``det(Q^T W(0)) < 0`` cannot learn (an
  eigenvalue is stuck at -1 -> 0); we flip the sign of the first row of W1 there.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch

from idealnets.simulate import DivergenceError
from idealnets.simulate.deep_linear import DeepLinearGD, init_weights, pretrain_layerwise
from idealnets.theory.deep_linear import depth_learning_rate, depth_learning_steps, orthogonal_learning_times
from idealnets.theory.measures import crossing_time
from idealnets.theory.tasks import correlations

from .._common import COLORS, DEFAULT_OUT, save, style
from ._shared import square_data

NAME = "deep_linear_depth"
TITLE = "Learning time vs depth: small random, layerwise pretraining, orthogonal (seed Fig. 4c)"
SECTION = "Deep linear networks (Saxe, McClelland & Ganguli 2014)"
CAPTION = (
    "**Learning time vs depth** (Saxe, Nelli & Summerfield 2021, Fig. 4c): exponential slow-down from small "
    "initialisation, linear growth with greedy layerwise pretraining, depth independence with "
    "scaled orthogonal initialisation, at learning rates scaled as 1/D; steps to criterion within"
    " |ln(sim/theory)| <= {max_of[max_abs_log_ratio_*]:.2f} of theory."
)
# Tolerance the test suite holds each agreement value to (at the test's smaller size), and the
# test; read by figures/gallery.py for the paper's agreement table.
TOLERANCES = {
    # |log(median steps trained / theory)| < LOG_STEPS_TOL at D = 3
    "max_abs_log_ratio_small": (0.1, "tests/test_deep_linear.py::test_depth_steps_trained_vs_theory",
                                "O(lr): GD steps vs flow time t/lr at kappa = 0.05, ~kappa; test at D = 3"),
    "max_abs_log_ratio_pretrained": (0.1, "tests/test_deep_linear.py::test_depth_steps_trained_vs_theory",
                                     "O(lr): GD steps vs flow time t/lr at kappa = 0.05, ~kappa; test at D = 3"),
    # GD at lr = kappa * 2/rate against the flow: at the fixed point's rate (the fastest) the step count is
    # -ln(1 - 2 kappa)/(2 kappa) = 1.054 times t/lr, log 0.052 at kappa = 0.05; slower phases err less
    "max_abs_log_ratio_pretrained_finetune": (0.06, "tests/test_records.py::test_records_within_tolerances",
                                              "O(lr): ln[-ln(1-2 kappa)/(2 kappa)] = 0.052 at kappa = 0.05"),
    "max_abs_log_ratio_orthogonal_per_network": (0.06, "tests/test_records.py::test_records_within_tolerances",
                                                 "O(lr): ln[-ln(1-2 kappa)/(2 kappa)] = 0.052 at kappa = 0.05"),
}

N = 4          # input = hidden = output width
S = 2.0        # every singular value of Syx
DELTA = 0.01   # relative excess-loss criterion (u >= 0.9 s for a decoupled mode)
KAPPA = 0.05  # lr = KAPPA * stable limit (quick mode: KAPPA_QUICK)
KAPPA_QUICK = 0.1
GAIN = 0.4     # per-layer gain of the small initialisation
READOUT = 0.01  # scale of the readout (and autoencoder) init after pretraining
AE_TOL = DELTA  # autoencoder stages stop at relative excess loss <= AE_TOL


CHUNK = 256  # steps between checks of the criterion (maps are kept for one chunk at a time)


def _steps_to_criterion_batched(groups, X, Y, Syx, lr, delta):
    """Steps to criterion: the first (fractional, by log-linear interpolation) GD step at which
    ``||W - Syx||^2/||Syx||^2 <= delta``, of full-batch GD at ``lr`` from ``W0`` for at most
    ``n_steps`` steps (nan if not met), for every ``(W0, n_steps)`` in ``groups``; all groups train
    as one batched ensemble (the same update, network by network, as
    :func:`idealnets.simulate.deep_linear.train_from`). The total map of every step is taken
    from the update itself (``DeepLinearGD.last_map``) rather than formed again, and every
    CHUNK steps the networks that have met the criterion or passed their group's step budget
    leave the ensemble (the first crossing depends only on the steps before it). Returns one
    (E_g,) array per group.
    """
    state = [torch.cat([W0[l] for W0, _ in groups]) for l in range(len(groups[0][0]))]
    budgets = np.concatenate([np.full(W0[0].shape[0], int(n)) for W0, n in groups])
    n_max = int(budgets.max())
    device, dtype = state[0].device, state[0].dtype
    Sxx_np, Syx_np, trSyy = correlations(X, Y)
    c_mean = float(np.trace(Sxx_np) / Sxx_np.shape[0])  # as train_from: elementwise G when Sxx = c I
    c_iso = c_mean if np.max(np.abs(Sxx_np - c_mean * np.eye(Sxx_np.shape[0]))) <= 1e-12 * max(c_mean, 1e-300) else None
    model = DeepLinearGD(state, torch.as_tensor(Sxx_np, device=device, dtype=dtype),
                         torch.as_tensor(Syx_np, device=device, dtype=dtype), trSyy, lr, c_iso=c_iso)
    norm = np.sum(Syx**2)
    err = np.full((n_max + 1, budgets.size), np.nan)  # err[k]: relative excess loss at step k
    met = np.zeros(budgets.size, dtype=bool)  # criterion met at a recorded step
    active = np.arange(budgets.size)  # the networks still training, in state order
    step, k = model.step, 0
    with torch.no_grad():
        while k < n_max:
            c = min(CHUNK, n_max - k)
            maps = []
            for j in range(k, k + c):
                state = step(state, j)
                maps.append(model.last_map)  # the map at step j
            e = np.sum((torch.stack(maps).cpu().numpy() - Syx) ** 2, axis=(-2, -1)) / norm
            if not np.all(np.isfinite(e)):
                raise DivergenceError(f"deep linear GD diverged at lr = {lr:.4g} (depth {len(state)})")
            err[k:k + c, active] = e
            met[active] |= (e <= delta).any(0)
            k += c
            keep = ~(met[active] | (budgets[active] < k))
            if not keep.all():
                active = active[keep]
                if active.size == 0:
                    break
                idx = torch.as_tensor(np.flatnonzero(keep), device=device)
                state = [w.index_select(0, idx) for w in state]
        else:
            err[n_max, active] = np.sum((model.total(state).cpu().numpy() - Syx) ** 2, axis=(-2, -1)) / norm
    out, e0 = [], 0
    for W0, n in groups:
        E = W0[0].shape[0]
        out.append(crossing_time(np.arange(int(n) + 1), err[:int(n) + 1, e0:e0 + E], delta, direction="down", axis=0,
                                 log_values=True))
        e0 += E
    return out


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    with warnings.catch_warnings():  # Gaussian nets that never reach the criterion give all-NaN medians
        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
        return _make(quick=quick, device=device, out=out, seed=seed)


def _make(*, quick: bool, device, out, seed: int) -> dict:
    import matplotlib.pyplot as plt

    style()
    kappa = KAPPA_QUICK if quick else KAPPA
    depths = np.arange(1, 7) if quick else np.arange(1, 9)
    E = 6 if quick else 24
    X, Y, Q = square_data(N, S, seed=0)
    Syx = S * Q
    th = {k: depth_learning_steps(depths, k, s=S, delta=DELTA, kappa=kappa, gain=GAIN, c0=0.0,
                                  ae_u0=READOUT**2, ae_fraction=1 - np.sqrt(AE_TOL))
          for k in ("small", "pretrained")}
    th["pretrained_finetune"] = depth_learning_steps(depths, "pretrained", s=S, delta=DELTA, kappa=kappa,
                                                     ae_fraction=1 - np.sqrt(AE_TOL), count_pretraining=False)
    sim = {k: [] for k in ("small", "gaussian", "pretrained", "pretrained_finetune", "orthogonal")}
    th_orth, th_orth_net = [], []  # per-network exact theory for the trained orthogonal nets
    for D in depths:
        D = int(D)
        lr = depth_learning_rate(S, D, kappa)
        budget = 3 * th["small"][D - 1] + 200
        # small: decoupled, per-layer gain GAIN
        W0_small = init_weights(X, Y, depth=D, width=N, n_networks=E, init="decoupled", init_scale=GAIN**D,
                                device=device, seed=seed + 100 * D)
        # small random Gaussian with the same per-layer gain
        W0_gauss = init_weights(X, Y, depth=D, width=N, n_networks=E, init="small", init_scale=GAIN / np.sqrt(N),
                                device=device, seed=seed + 100 * D + 1)
        # pretrained
        W0_pre, stage = pretrain_layerwise(X, [N] * (D + 1), n_networks=E, init_scale=READOUT,
                                           ae_init="orthogonal", kappa=kappa, tol=AE_TOL, check_every=1,
                                           device=device,
                                           seed=seed + 100 * D + 2)
        # orthogonal (Haar), det(Q^T W) > 0
        W0 = init_weights(X, Y, depth=D, width=N, n_networks=E, init="orthogonal", init_scale=1.0,
                          device=device, seed=seed + 100 * D + 3)
        M0 = W0[0]
        for w in W0[1:]:
            M0 = w @ M0
        Qt = torch.as_tensor(Q.T, dtype=M0.dtype, device=M0.device)
        flip = torch.linalg.det(Qt @ M0) < 0
        W0[0][flip, 0, :] *= -1
        M0 = W0[0]
        for w in W0[1:]:
            M0 = w @ M0
        lam0 = np.linalg.eigvals(Q.T @ M0.cpu().numpy())  # (E, N)
        per_net = orthogonal_learning_times(lam0, S, D, DELTA) / lr  # one stacked solve for the E networks
        th_orth_net.append(per_net)
        th_orth.append(np.median(per_net))
        # the four initialisations share lr: one batched ensemble, each with its own step budget
        small, gauss, ft, orth = _steps_to_criterion_batched(
            [(W0_small, budget), (W0_gauss, 10 * budget),
             (W0_pre, 3 * th["pretrained_finetune"][D - 1] + 50), (W0, 3 * per_net.max() + 50)],
            X, Y, Syx, lr, DELTA)
        sim["small"].append(small)
        sim["gaussian"].append(gauss)
        sim["pretrained_finetune"].append(ft)
        sim["pretrained"].append(ft + stage.sum())
        sim["orthogonal"].append(orth)
    # theory line: median over Haar draws (the product of Haar layers is Haar, so one draw per
    # sample serves every depth), conditioned on det(Q^T W) = +1 as in the simulations
    rng = np.random.default_rng(seed + 7)
    n_mc = 48 if quick else 200
    lam_mc = []
    while len(lam_mc) < n_mc:
        A = rng.standard_normal((N, N))
        q, r = np.linalg.qr(A)
        q = q * np.sign(np.diag(r))
        if np.linalg.det(q) > 0:
            lam_mc.append(np.linalg.eigvals(q))
    th["orthogonal"] = depth_learning_steps(depths, "orthogonal", s=S, delta=DELTA, kappa=kappa, lam0=np.array(lam_mc))
    th["orthogonal_sampled_networks"] = np.array(th_orth)
    sim = {k: np.array(v) for k, v in sim.items()}  # (n_depths, E)

    fig, ax = plt.subplots(figsize=(6.6, 4.4))
    spec = [("small", "small (decoupled, gain %.2g)" % GAIN, COLORS[3], "o"),
            ("pretrained", "layerwise pretraining (incl. pretraining)", COLORS[0], "s"),
            ("orthogonal", "orthogonal (Haar; line: median over Haar)", COLORS[2], "D")]
    for key, label, c, m in spec:
        ax.plot(depths, th[key], "-", color=c, label=label, zorder=2)
        med = np.nanmedian(sim[key], 1)
        lo, hi = np.nanpercentile(sim[key], 25, 1), np.nanpercentile(sim[key], 75, 1)
        ax.errorbar(depths, med, yerr=[med - lo, hi - med], fmt=m, mfc="white", mec=c, ecolor=c, ms=6, zorder=3)
    ax.plot(depths, th["pretrained_finetune"], "--", color=COLORS[0], lw=1.2, label="pretraining: fine-tuning only")
    ax.plot(depths, np.nanmedian(sim["pretrained_finetune"], 1), "s", color=COLORS[0], ms=4, alpha=0.5)
    ax.plot(depths, np.nanmedian(sim["gaussian"], 1), "o", ms=6, color=COLORS[3], alpha=0.45,
            label="small i.i.d. Gaussian, same gain (trained)")
    ax.set_yscale("log")
    ax.set_xlabel("depth D (number of weight matrices)")
    ax.set_ylabel(r"GD steps to $\|W-\Sigma^{yx}\|^2 \leq %g\,\|\Sigma^{yx}\|^2$" % DELTA)
    ax.set_title(r"lr$(D) = %g\times 2/(D s^{2-2/D})$, $s = %g$, N = %d" % (kappa, S, N))
    ax.legend(loc="upper left", fontsize=7.5)
    fig.tight_layout()

    def logdev(a, b):
        return float(np.nanmax(np.abs(np.log(np.asarray(a) / np.asarray(b)))))

    g_med = np.nanmedian(sim["gaussian"], 1)
    ok = (depths >= 2) & np.isfinite(g_med)
    slope_sim = np.polyfit(depths[ok], np.log(g_med[ok]), 1)[0]
    slope_th = np.polyfit(depths[ok], np.log(th["small"][ok]), 1)[0]
    agreement = {
        "max_abs_log_ratio_small": logdev(np.nanmedian(sim["small"], 1), th["small"]),
        "max_abs_log_ratio_pretrained": logdev(np.nanmedian(sim["pretrained"], 1), th["pretrained"]),
        "max_abs_log_ratio_pretrained_finetune": logdev(np.nanmedian(sim["pretrained_finetune"], 1),
                                                        th["pretrained_finetune"]),
        "max_abs_log_ratio_orthogonal_per_network": logdev(sim["orthogonal"], np.array(th_orth_net)),
        "gaussian_log_slope_sim": float(slope_sim),
        "small_log_slope_theory": float(slope_th),
    }
    data = {"depths": depths, "theory": th, "sim": sim, "theory_orthogonal_per_network": np.array(th_orth_net)}
    params = {"N": N, "s": S, "delta": DELTA, "kappa": kappa, "gain": GAIN, "readout": READOUT,
              "ae_tol": AE_TOL, "n_networks": E, "seed": seed}
    return save(fig, {"params": params, "data": data, "agreement": agreement}, name=NAME, out=out, quick=quick)
