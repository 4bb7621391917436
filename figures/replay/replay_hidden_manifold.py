"""Hidden-manifold inputs vs i.i.d. inputs: learning curves and the dependence on D/N (figure a).

An erf committee (K = M = 2, first layer trained) learns a teacher acting on D latent variables from
inputs x = sign(F^T c / sqrt D) (the hidden manifold model of Goldt, Mezard, Krzakala & Zdeborova 2020).
Predicted: the spectral order-parameter ODE of theory.hidden_manifold (Gaussian equivalence), integrated
from each network's own initial order parameters on the eigenvectors of F F^T / N; markers: online SGD on
actual hidden-manifold data, its test error measured on fresh samples. Reference: the committee ODE of
i.i.d. Gaussian inputs (theory.committee) from the same initial Q, R, T.
"""
from __future__ import annotations

import numpy as np
import torch

from idealnets.simulate.hidden_manifold import hidden_manifold_features, train_hidden_manifold
from idealnets.theory.committee import CommitteeODE
from idealnets.theory.hidden_manifold import HiddenManifoldODE, hidden_manifold_state

from .._common import COLORS, DEFAULT_OUT, save, sim_markers, style, theory_line
from ._shared import SECTION as _SECTION

NAME = "replay_hidden_manifold"
TITLE = "Hidden-manifold vs i.i.d. inputs: learning curves and the dependence on D/N"
SECTION = _SECTION
CAPTION = ("**Hidden-manifold inputs.** An erf committee (K = M = 2) learns a teacher on D latent variables "
           "from inputs x = sign(F^T c / sqrt D). Left: the spectral ODE (lines, from each network's own initial "
           "conditions) vs online SGD on actual data (markers, test error on {params[n_test]} fresh samples) at "
           "D/N = {params[delta]}: largest deviation {agreement[dev_N500]:.3f} at N = 500 and "
           "{agreement[dev_N2000]:.3f} at N = 2000 (test-set noise and finite-D corrections of Gaussian "
           "equivalence); the error of the networks' own order parameters deviates by "
           "{agreement[dev_order_parameters_N500]:.3f} and {agreement[dev_order_parameters_N2000]:.3f}. The i.i.d. "
           "committee ODE from the same Q, R (dashed) learns differently. Right: the error at "
           "alpha = {params[alpha_max]} against D/N, from {agreement[eps_end_min]:.3f} to "
           "{agreement[eps_end_max]:.3f} (ODE) with SGD at N = {params[N_delta]} within "
           "{agreement[dev_delta_max]:.3f}.")
TOLERANCES = {
    # test error on n_test = 2000 fresh samples: SE = eps sqrt(2 / 2000) <= 0.023 (eps <= 0.74); finite size
    # N^-1/2; finite-D corrections of Gaussian equivalence O(D^-1/2) (D = N / 2)
    "dev_N500": (0.2, "tests/test_records.py::test_records_within_tolerances",
                 "3 SE test noise 0.07 + N^-1/2 0.045 + D^-1/2 0.063 (N = 500, D = 250)"),
    "dev_N2000": (0.2, "tests/test_records.py::test_records_within_tolerances",
                  "3 SE test noise 0.07 + N^-1/2 0.022 + D^-1/2 0.032 (N = 2000, D = 1000)"),
    "dev_order_parameters_N500": (0.05, "tests/test_records.py::test_records_within_tolerances",
                                  "finite size: N^-1/2 = 0.045 at N = 500 (no test noise)"),
    "dev_order_parameters_N2000": (0.03, "tests/test_records.py::test_records_within_tolerances",
                                   "finite size: N^-1/2 = 0.022 at N = 2000 (no test noise)"),
    "dev_delta_max": (0.3, "tests/test_records.py::test_records_within_tolerances",
                      "3 SE test noise 0.04 + N^-1/2 0.045 + D^-1/2 0.14 (N = 500, D >= 50)"),
}

K = M = 2
LR = 1.0
DELTA = 0.5


def _one(N, D, E, seed, alpha_max, record, device, n_test):
    F = hidden_manifold_features(D, N, seed=seed)
    Wt = np.random.default_rng(seed + 1).standard_normal((M, D))
    W0 = torch.randn(E, K, N, generator=torch.Generator().manual_seed(seed + 2), dtype=torch.float64)
    run = train_hidden_manifold(W0, F, Wt, lr=LR, alpha_max=alpha_max, record=record, n_test=n_test,
                                seed=seed + 3, device=device)
    ode = HiddenManifoldODE(K, M, LR, D / N)
    trs, iid, op = [], [], []
    for e, st in enumerate(hidden_manifold_state(W0.numpy(), F, Wt)):  # one eigendecomposition of F F^T / N
        tr = ode.integrate(st, alpha_eval=run.times, rtol=1e-9, atol=1e-11)
        trs.append(tr.eps_g)
        s = run.s[e]  # the network's own Q, R (Gaussian equivalence), for the N^-1/2 gap of the order parameters
        Q = ode.f1 ** 2 * np.einsum("rkd,rld->rkl", s, s) / D + ode.fs2 * run.W[e]
        R = ode.f1 * np.einsum("rkd,md->rkm", s, Wt) / D
        op.append(np.abs(ode.eps_g(Q, R, tr.T, run.v[e]) - tr.eps_g).max())
        c = CommitteeODE(K, M, LR, T=tr.T)
        iid.append(c.integrate(tr.Q[0], tr.R[0], alpha_eval=run.times).eps_g)
    return run, np.array(trs), np.array(iid), float(np.mean(op))


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    import matplotlib.pyplot as plt

    style()
    E = 1 if quick else 2
    amax = 2.0 if quick else 10.0
    sizes = (100, 200) if quick else (500, 2000)
    n_test = 200 if quick else 2000
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.0))
    agreement, data = {}, {}
    for j, N in enumerate(sizes):
        run, ode, iid, op = _one(N, int(DELTA * N), 2 * E, seed + 100 * j, amax, 12 if quick else 30, device,
                                 n_test)
        col = COLORS[j]
        theory_line(axes[0], run.times, ode.mean(0), color=col, label=f"hidden-manifold ODE (N = {N} draws)")
        axes[0].plot(run.times, iid.mean(0), "--", color=col, lw=1.2, label="i.i.d. committee ODE, same Q, R")
        sim_markers(axes[0], run.times, run.losses, color=col, label=f"SGD, N = {N}")
        tag = N if not quick else ("500" if j == 0 else "2000")
        agreement[f"dev_N{tag}"] = float(np.mean(np.abs(run.losses - ode).max(axis=1)))
        agreement[f"dev_order_parameters_N{tag}"] = op
        data[f"N{N}"] = {"alpha": run.times, "eps_ode": ode, "eps_iid": iid, "eps_sim": run.losses}
    N_d = 100 if quick else 500
    deltas = (0.2, 1.0) if quick else (0.1, 0.2, 0.5, 1.0, 2.0)
    ends_ode, ends_sim, ends_iid = [], [], []
    for i, dl in enumerate(deltas):
        run, ode, iid, _ = _one(N_d, int(round(dl * N_d)), E, seed + 1000 + 10 * i, amax, 4, device, n_test)
        ends_ode.append(ode[:, -1].mean())
        ends_sim.append(run.losses[:, -1])
        ends_iid.append(iid[:, -1].mean())
    ends_ode, ends_sim = np.array(ends_ode), np.array(ends_sim)
    theory_line(axes[1], deltas, ends_ode, color=COLORS[2], marker=".", label="hidden-manifold ODE")
    axes[1].plot(deltas, ends_iid, "--", color=COLORS[2], lw=1.2, label="i.i.d. committee ODE, same Q, R")
    sim_markers(axes[1], np.array(deltas), ends_sim.T, color=COLORS[2], label=f"SGD, N = {N_d}")
    agreement.update({"eps_end_min": float(ends_ode.min()), "eps_end_max": float(ends_ode.max()),
                      "dev_delta_max": float(np.abs(ends_sim.mean(1) - ends_ode).max())})
    data["delta"] = {"delta": deltas, "eps_end_ode": ends_ode, "eps_end_sim": ends_sim.mean(1),
                     "eps_end_iid": ends_iid}
    ax = axes[0]
    ax.set_yscale("log")
    ax.set_xlabel(r"$\alpha$ = steps / N")
    ax.set_ylabel(r"test error $\epsilon_g$")
    ax.set_title(f"D/N = {DELTA:g}, sign features, learning rate {LR:g}", fontsize=10)
    ax.legend(fontsize=7)
    ax = axes[1]
    ax.set_xscale("log")
    ax.set_xlabel("D / N (latent dimension / input dimension)")
    ax.set_ylabel(f"$\\epsilon_g$ at $\\alpha$ = {amax:g}")
    ax.legend(fontsize=7)
    fig.suptitle(TITLE, fontsize=10)
    fig.tight_layout()
    rec = {"params": {"K": K, "M": M, "lr": LR, "delta": DELTA, "sizes": sizes, "E": E, "E_curves": 2 * E,
                      "alpha_max": amax,
                      "N_delta": N_d, "n_test": n_test, "feature_map": "sign", "seed": seed},
           "data": data, "agreement": agreement}
    return save(fig, rec, name=NAME, out=out, quick=quick)
