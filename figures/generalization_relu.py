"""(e) Two-layer ReLU students: test error vs parameters/samples, peaking where they match."""
from __future__ import annotations

import numpy as np
import matplotlib.pyplot as plt

from simulate.generalization import sample_data, train_relu

from ._common import COLORS, DEFAULT_OUT, save, sim_markers, style
from ._generalization import SIGMA_W, log_argmin, sigma_eps_for_snr

NAME = "generalization_relu"
TITLE = "Two-layer ReLU students: test-error peak where parameters match samples"
SECTION = "Teacher-student generalisation, linear students (Advani & Saxe 2017; Krogh & Hertz 1992; seed review Fig. 4e-f)"
CAPTION = (
    "**Two-layer ReLU students**: test error vs parameters/samples, peaking where they match (at "
    "{min_of[peak_params_per_sample_frozen_*]:.2f}-{max_of[peak_params_per_sample_frozen_*]:.2f} "
    "with the first layer frozen, predicted {agreement[predicted_peak]:.2f}; at about "
    "{agreement[peak_params_per_sample_trained]:.1f} with both layers trained)."
)
SNR = 4.0


def _peak_ratio(ratio: np.ndarray, err: np.ndarray) -> float:
    """Parameters/samples at the largest ensemble-mean test error, interpolated in log(ratio)."""
    return log_argmin(ratio, -np.asarray(err))


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    style()
    se = sigma_eps_for_snr(SNR)
    n_seeds = 3 if quick else 8
    # (1) frozen first layer: random-features regression, K parameters; GD solved exactly per step count
    N1, P1 = (25, 50) if quick else (50, 100)
    ratios = np.array([0.1, 0.3, 0.5, 0.7, 0.85, 0.95, 1.0, 1.05, 1.2, 1.5, 2.0, 4.0, 10.0])
    K1 = sorted({max(1, int(round(r * P1))) for r in ratios})
    d1 = sample_data(N1, P1, n_seeds, sigma_w=SIGMA_W, sigma_eps=se, device=device, seed=seed)
    times1 = (1e2, 1e4, 1e6)
    lr_probe = train_relu(d1, K1, train_first_layer=False, steps=0, record=[0], init_scale=1e-3, seed=seed + 1).lr
    steps1 = [int(np.ceil(t / lr_probe)) for t in times1]
    run1 = train_relu(d1, K1, train_first_layer=False, steps=steps1[-1], record=steps1, init_scale=1e-3,
                      seed=seed + 1)
    # (2) both layers trained: K (N + 1) parameters
    N2, P2 = (8, 60) if quick else (10, 100)
    K2 = sorted({max(1, int(round(r * P2 / (N2 + 1)))) for r in ratios})
    d2 = sample_data(N2, P2, n_seeds, sigma_w=SIGMA_W, sigma_eps=se, device=device, seed=seed + 2)
    t2 = 30.0 if quick else 100.0
    probe2 = train_relu(d2, K2, train_first_layer=True, steps=0, record=[0], seed=seed + 3).lr
    steps2 = int(np.ceil(t2 / probe2))
    run2 = train_relu(d2, K2, train_first_layer=True, steps=steps2, record=[steps2], seed=seed + 3)

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.9), sharey=True)
    ax = axes[0]
    r1 = np.array(K1) / P1
    peaks = {}
    for j, (t, color) in enumerate(zip(times1, (COLORS[0], COLORS[1], COLORS[3]))):
        err = run1.test_error[:, :, j + 1]
        sim_markers(ax, r1, err, color=color, label=rf"$t = 10^{{{int(np.log10(t))}}}$")
        ax.plot(r1, err.mean(0), "-", color=color, lw=0.8, alpha=0.6)
        peaks[f"frozen_t1e{int(np.log10(t))}"] = _peak_ratio(r1, err.mean(0))
    ax.set_title(f"first layer frozen (random features), N={N1}, P={P1}")
    ax.set_xlabel(r"parameters / samples $= K/P$")
    ax.set_ylabel(r"test error $E_g$")
    ax.legend(loc="upper right", title="GD training time")
    ax = axes[1]
    r2 = np.array(K2) * (N2 + 1) / P2
    err2 = run2.test_error[:, :, -1]
    sim_markers(ax, r2, err2, color=COLORS[2], label=rf"$t = {t2:g}$")
    ax.plot(r2, err2.mean(0), "-", color=COLORS[2], lw=0.8, alpha=0.6)
    peaks["trained"] = _peak_ratio(r2, err2.mean(0))
    ax.set_title(f"both layers trained, N={N2}, P={P2}")
    ax.set_xlabel(r"parameters / samples $= K(N+1)/P$")
    ax.legend(loc="upper right")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.axvline(1.0, color="0.5", ls=":", lw=1.0)
        ax.axhline(se**2, color="0.7", ls="--", lw=0.8)
        ax.text(0.11, se**2 * 1.08, r"noise floor $\sigma_\epsilon^2$", fontsize=8, color="0.4")
    fig.suptitle(r"Two-layer ReLU students $f=K^{-1/2}\sum_k v_k\,\mathrm{relu}(w_k\cdot x)$ on a linear teacher"
                 f" (SNR {SNR:g}); {n_seeds} data sets, mean ± sd", fontsize=10)
    fig.tight_layout()
    agreement = {f"peak_params_per_sample_{k}": v for k, v in peaks.items()}
    agreement["predicted_peak"] = 1.0
    rec = {"params": {"frozen": {"N": N1, "P": P1, "K": K1, "times": times1, "lr": run1.lr},
                      "trained": {"N": N2, "P": P2, "K": K2, "t": t2, "lr": run2.lr}, "snr": SNR,
                      "n_seeds": n_seeds},
           "data": {"frozen_ratio": r1, "frozen_test": run1.test_error, "frozen_train": run1.train_error,
                    "trained_ratio": r2, "trained_test": err2, "trained_train": run2.train_error[:, :, -1]},
           "agreement": agreement}
    return save(fig, rec, name=NAME, out=out, quick=quick)
