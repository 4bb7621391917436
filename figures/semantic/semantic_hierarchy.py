"""(f) Singular values fall with hierarchical level, and learning slows with it.

Branching-diffusion data on a binary tree of 16 items (5 levels). Left: the
analytic singular value of each level (:func:`hierarchy_spectrum`, line) against
the SVD of sampled data (markers, mean +- sd over samples). Middle: the sampling
error shrinks as n_features^{-1/2}. Right: when each level is learned by deep
linear networks trained on one sample (markers: mean +- sd over networks and the
modes of the level) against the theory for that sample and for the analytic
spectrum (Saxe, Nelli & Summerfield 2021, Fig. 5d).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from idealnets.simulate import engine
from idealnets.simulate.deep_linear import DeepLinearGD, init_weights, stable_lr
from idealnets.theory.semantic import (SemanticTheory, crossing_times, effective_u0, hierarchical_data,
                             hierarchy_spectrum)
from idealnets.theory.tasks import correlations

from .._common import COLORS, DEFAULT_OUT, save, style

NAME = "semantic_hierarchy"
TITLE = "Hierarchical structure: singular value and learning time by level (Saxe, Nelli & Summerfield 2021, Fig. 5d)"
SECTION = "Semantic development (Saxe, McClelland & Ganguli 2019; Saxe, Nelli & Summerfield 2021, Fig. 5)"
CAPTION = (
    "**Singular value and learning time by hierarchical level**, analytic vs sampled "
    "({agreement[s_level_max_rel_dev_sampled]:.1%}) and trained "
    "({agreement[half_time_by_level_max_rel_dev]:.1%}); sampling error falls as "
    "N^{agreement[sampling_error_slope]:.2f} (theory: N^-1/2)."
)
BRANCHING = (2, 2, 2, 2)
FLIP = 0.1
N_FEATURES = 1000
NH, U0 = 128, 1e-3  # width 4x the items: the finite-width shift of the half-times is ~1% (vs ~5% at 32)
TOLERANCES = {
    "s_level_max_rel_dev_sampled": (0.03, "tests/test_records.py::test_records_within_tolerances",
                                    "3 SE of 20-sample level means (<= 1.2%) + eigenvalue repulsion O(P/N) = 1.6% "
                                    "at N = 1000"),
    "half_time_by_level_max_rel_dev": (0.05, "tests/test_records.py::test_records_within_tolerances",
                                       "GD shift s lr/2 = 2.5% (lr s_1 = 0.05) + finite width ~1% + 3 SE of 24 "
                                       "nets ~1%"),
    "sampling_error_slope": ((-0.55, -0.45), "tests/test_records.py::test_records_within_tolerances",
                             "N^-1/2 +- (3 SE of the fit 0.02 + the O(P/N) bend of the N = 100 point ~0.03)"),
}
BELOW = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.3)}  # legends under the panels (the data fill them)


def singular_values(Y) -> np.ndarray:
    """Singular values (descending) of a tall ``Y`` (n_features x P), from the eigenvalues of its P x P
    Gram matrix ``Y^T Y`` instead of an SVD of ``Y``: equal to rounding (relative error ~ eps (s_1/s)^2,
    < 1e-13 for the branching-diffusion spectra here, whose s_1/s_P ~ 4)."""
    return np.sqrt(np.maximum(np.linalg.eigvalsh(Y.T @ Y)[::-1], 0.0))


def train_in_span(Y, hidden: int, E: int, init_scale: float, lr: float, steps: int, record: int, device, seed: int):
    """D = 2 linear networks on one-hot items (X = I) from small random weights, trained by full-batch GD
    in the span of the data and of each network's initial output weights (an exact change of basis).

    The run of :func:`idealnets.simulate.deep_linear.train` with the same arguments (same initial weights),
    equal to rounding: the gradient of the output layer, ``G W_1^T`` with ``G = (W_2 W_1 - Y)/P``, has its
    columns in the span of ``Y`` and of ``W_2``, so ``W_2`` stays in the span ``Q_e`` (orthonormal,
    ``n_features x (P + hidden)``) of ``Y`` and of ``W_2(0)`` for network ``e``, and GD, which commutes with
    the rotation ``W_2 -> Q_e^T W_2``, runs on ``P + hidden`` output rows instead of ``n_features``.
    Returns the run (``run.maps`` the maps ``Q_e^T M``, shape ``(E, R, P + hidden, P)``) and ``Q`` (E, n_features,
    P + hidden); the full map is ``Q_e @ run.maps[e]``.
    """
    P = Y.shape[1]
    X = np.eye(P)
    W1, W2 = init_weights(X, Y, depth=2, width=hidden, n_networks=E, init="small", init_scale=init_scale,
                          device=device, seed=seed)
    Sxx, Syx, trSyy = correlations(X, Y)
    Syx = torch.as_tensor(Syx, device=W2.device, dtype=W2.dtype)
    Q = torch.linalg.qr(torch.cat([Syx.expand(E, -1, -1), W2], -1))[0]  # (E, n_features, P + hidden)
    Qt = Q.transpose(-1, -2)
    model = DeepLinearGD([W1, Qt @ W2], torch.as_tensor(Sxx, device=W2.device, dtype=W2.dtype), Qt @ Syx, trSyy,
                         lr, c_iso=float(Sxx[0, 0]))
    run = engine.run(model, steps=steps, record=record, log=False, time_per_step=lr, time_unit="t = lr * step",
                     loss_name="training loss", lr=lr, lr_max=stable_lr(X, Y, 2), what="the training loss",
                     desc="hierarchy D=2")
    return run, Q.cpu().numpy()


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    style()
    n_seeds = 4 if quick else 20
    Ns = [100, 1000, 10000] if quick else [100, 300, 1000, 3000, 10000, 30000]
    E = 6 if quick else 24
    spec = hierarchy_spectrum(BRANCHING, FLIP, N_FEATURES)
    P, L1 = spec.tree.n_items, spec.tree.n_levels
    levels = np.arange(L1)
    fig, axes = plt.subplots(1, 3, figsize=(11.2, 4.6))

    # left: s by level
    ax = axes[0]
    s_samp = np.array([singular_values(hierarchical_data(BRANCHING, N_FEATURES, FLIP, seed=seed + k).Y / P)
                       for k in range(n_seeds)])  # (seeds, P)
    ax.plot(levels, spec.s_level, "-", color=COLORS[0], label="analytic", zorder=2)
    for k in levels:
        sel = spec.level == k
        x = k + np.linspace(-0.15, 0.15, sel.sum()) if sel.sum() > 1 else np.array([k])
        ax.errorbar(x, s_samp[:, sel].mean(0), yerr=s_samp[:, sel].std(0), fmt="o", ms=4, mfc="white",
                    mec=COLORS[k], ecolor=COLORS[k], capsize=2, zorder=3)
    ax.plot([], [], "o", mfc="white", mec="0.3", label=f"sampled, {N_FEATURES} features")
    ax.set_xticks(levels, [f"{k}\n(x{m})" for k, m in zip(levels, spec.multiplicity)])
    ax.set_xlabel("hierarchical level (multiplicity)")
    ax.set_ylabel("singular value of Syx = Y/P")
    ax.set_yscale("log")
    ax.legend(**BELOW)
    ax.set_title("broad levels are the strongest modes")

    # middle: sampling error vs n_features
    ax = axes[1]
    err = []
    for N in Ns:
        sp = hierarchy_spectrum(BRANCHING, FLIP, N)
        e = [np.max(np.abs(singular_values(hierarchical_data(BRANCHING, N, FLIP, seed=seed + 100 + k).Y / P)
                           - sp.s)) / sp.s[0] for k in range(n_seeds)]
        err.append(e)
    err = np.array(err)
    ax.errorbar(Ns, err.mean(1), yerr=err.std(1), fmt="o", ms=5, mfc="white", mec=COLORS[0], ecolor=COLORS[0],
                capsize=2, label="max |s_sampled - s| / s_0")
    ref = err.mean(1)[0] * np.sqrt(Ns[0] / np.asarray(Ns, float))
    ax.plot(Ns, ref, "--", color="0.5", label="~ n_features^(-1/2)")
    slope = float(np.polyfit(np.log(Ns), np.log(err.mean(1)), 1)[0])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("number of features")
    ax.set_ylabel("relative sampling error")
    ax.set_title(f"sampling error (fitted slope {slope:.2f})")
    ax.legend(**BELOW)

    # right: learning time by level, theory vs trained
    ax = axes[2]
    _, Y, _ = hierarchical_data(BRANCHING, N_FEATURES, FLIP, seed=seed)
    scale = float(np.sqrt(2 * U0 / NH))
    th = SemanticTheory(Y, depth=2, u0=effective_u0(scale, NH))
    th_an = SemanticTheory(np.diag(spec.s * P), depth=2, u0=effective_u0(scale, NH))
    t_th, t_an = th.differentiation_times(), th_an.differentiation_times()
    lr = (0.1 if quick else 0.05) / th.s[0]
    steps = int(1.6 * t_th[-1] / lr)
    run, Q = train_in_span(Y, NH, E, scale, lr, steps, 150 if quick else 300, device, seed)
    u_sim = np.einsum("eka,erki,ia->era", np.einsum("emk,ma->eka", Q, th.U), run.maps, th.V,
                      optimize=True)  # th.project of the maps Q_e @ run.maps
    t_sim = crossing_times(run.times, u_sim, th.u_final)  # (E, modes)
    sim_lvl = np.array([t_sim[:, spec.level == k].mean() for k in levels])
    sim_sd = np.array([t_sim[:, spec.level == k].std() for k in levels])
    th_lvl = np.array([t_th[spec.level == k].mean() for k in levels])
    ax.plot(levels, t_an[[np.argmax(spec.level == k) for k in levels]], "-", color="0.6",
            label="theory, analytic spectrum")
    ax.plot(levels, th_lvl, "-", color=COLORS[0], label="theory, this sample (mode mean)")
    for k in levels:
        ax.errorbar(k, sim_lvl[k], yerr=sim_sd[k], fmt="o", ms=5, mfc="white", mec=COLORS[k], ecolor=COLORS[k],
                    capsize=2)
    ax.plot([], [], "o", mfc="white", mec="0.3", label=f"trained D=2 nets ({E})")
    ax.set_xticks(levels)
    ax.set_xlabel("hierarchical level")
    ax.set_ylabel("time to half-learn the mode, t / tau")
    ax.set_title("finer distinctions are learned later")
    ax.legend(**BELOW)
    fig.suptitle(TITLE)
    fig.tight_layout()

    agreement = {
        "s_level_max_rel_dev_sampled": float(np.max(np.abs(
            np.array([s_samp[:, spec.level == k].mean() for k in levels]) / spec.s_level - 1))),
        "sampling_error_slope": slope,
        "half_time_by_level_max_rel_dev": float(np.max(np.abs(sim_lvl / th_lvl - 1))),
        "half_time_per_mode_max_rel_dev": float(np.max(np.abs(np.nanmean(t_sim, 0) / t_th - 1))),
        "level_order_preserved": bool(np.all(np.diff(sim_lvl) > 0)),
    }
    record = {
        "params": {"branching": BRANCHING, "flip_prob": FLIP, "n_features": N_FEATURES, "n_seeds": n_seeds,
                   "Ns": Ns, "hidden": NH, "u0": U0, "n_networks": E, "lr": lr},
        "data": {"s_level": spec.s_level, "s_sampled": s_samp, "level": spec.level, "sampling_error": err,
                 "t_half_theory": t_th, "t_half_analytic": t_an, "t_half_sim": t_sim},
        "agreement": agreement,
    }
    return save(fig, record, name=NAME, out=out, quick=quick)
