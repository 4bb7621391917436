"""Gradient norm through time vs the recurrent spectral radius: vanishing below 1, exploding above.

Linear RNNs (N_h = 32, T = 40, final readout, random inputs and targets). The backpropagated
error is ``dL/dh_{T-k} = (W_h^T)^k dL/dh_T``; markers are ``||dL/dh_{T-k}|| / ||dL/dh_T||``
measured by torch autograd (:func:`idealnets.simulate.recurrent.hidden_gradient_norms`), lines the law
``rho^k`` (:func:`idealnets.theory.recurrent.gradient_norm_through_time`).
(a) ``W_h = rho Q``, Q Haar orthogonal (normal: the law is exact);
(b) ``W_h = rho G / rho(G)``, G Gaussian (non-normal: the law holds as a rate,
``||W_h^k||^{1/k} -> rho``, with a prefactor and transient);
(c) the fitted per-step rate ``d log||dL/dh|| / dk`` over the second half of the window vs
``log rho`` (identity line = theory).
"""
from __future__ import annotations

import numpy as np

from idealnets.simulate.recurrent import hidden_gradient_norms, random_init

from .._common import COLORS, DEFAULT_OUT, save, sim_markers, style, theory_line
from ._shared import SECTION

NAME = "recurrent_gradient_norm"
TITLE = "Gradient norm through time vs spectral radius (vanishing below 1, exploding above)"
CAPTION = ("**Gradients through time**: ||dL/dh_(T-k)|| / ||dL/dh_T|| follows rho^k: exactly for "
           "orthogonal W_h (max relative deviation {agreement[max_rel_dev_orthogonal]:.1e}), and as a rate "
           "for Gaussian W_h, whose fitted per-step rate is within {agreement[max_rate_dev_gaussian]:.3f} "
           "of log rho (N_h = {params[n_hidden]}, T = {params[T]}).")

_REC = "tests/test_records.py::test_records_within_tolerances"
#: bound, test, and where the bound comes from (read by figures/gallery.py for the agreement table)
TOLERANCES = {
    # exact law for orthogonal W_h: only rounding, k <= 39 products with a Q orthogonal to ~N_h eps
    "max_rel_dev_orthogonal": (3e-13, _REC, "float64 rounding: k N_h eps = 3e-13 at k = 39, N_h = 32"),
    # the per-rho standard error of the 16 networks' fitted rates is <= 0.003 in the committed record
    "max_rate_dev_gaussian": (0.02, _REC, "4 SE of the 16-network mean rate (SE <= 0.003), fit over k = 20-39"),
}

RHOS = (0.8, 0.9, 1.0, 1.1, 1.2)
N_H, T_SEQ, N_IN, N_OUT, P = 32, 40, 4, 3, 16


def _networks(kind, rho, E, seed, device):
    Wx, Wh, Wy = random_init(N_IN, N_H, N_OUT, n_networks=E, scale=1.0, seed=seed, device=device)
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((E, N_H, N_H))
    if kind == "orthogonal":
        Q, R = np.linalg.qr(A)
        M = Q * np.sign(np.diagonal(R, axis1=-2, axis2=-1))[:, None, :]
    else:
        M = A / np.max(np.abs(np.linalg.eigvals(A)), axis=-1)[:, None, None]
    return Wx, Wh.new_tensor(rho * M), Wy


def make(*, quick: bool = False, device=None, out=DEFAULT_OUT, seed: int = 0) -> dict:
    import matplotlib.pyplot as plt

    style()
    E = 4 if quick else 16
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N_IN, T_SEQ, P))
    Y = rng.standard_normal((N_OUT, P))
    k = np.arange(T_SEQ)
    fig, axes = plt.subplots(1, 3, figsize=(11.5, 5.0))   # <= 11.5 in: legible at the text width
    data, agreement = {}, {}
    rates = {"orthogonal": [], "gaussian": []}
    rel_dev_orth = 0.0
    for i, rho in enumerate(RHOS):
        c = COLORS[i]
        for ax, kind in ((axes[0], "orthogonal"), (axes[1], "gaussian")):
            W = _networks(kind, rho, E, seed + 10 * i + (kind == "gaussian"), device)
            g = hidden_gradient_norms(W, X, Y, device=device)[:, ::-1]  # (E, T): index k = lag T - t
            ratio = g / g[:, :1]
            theory_line(ax, k, rho**k, color=c, label=f"$\\rho$ = {rho:g}" if kind == "orthogonal" else None)
            logr = np.log(ratio)
            sim_markers(ax, k[::3], np.exp(logr.mean(0))[::3], color=c, ms=3.5)  # geometric mean
            ax.fill_between(k, np.exp(logr.mean(0) - logr.std(0)), np.exp(logr.mean(0) + logr.std(0)), color=c,
                            alpha=0.18, lw=0)
            half = k >= T_SEQ // 2
            slope = np.polyfit(k[half], logr[:, half].T, 1)[0]  # (E,)
            rates[kind].append(slope)
            if kind == "orthogonal":
                rel_dev_orth = max(rel_dev_orth, float(np.max(np.abs(ratio / rho**k - 1))))
            data[f"{kind}_rho{rho:g}"] = {"k": k, "ratio_geomean": np.exp(logr.mean(0)), "theory": rho**k,
                                          "fitted_rate": slope}
    for ax, ttl in ((axes[0], "(a) $W_h = \\rho\\,Q$ (orthogonal)"), (axes[1], "(b) $W_h$ Gaussian, radius $\\rho$")):
        ax.set_yscale("log")
        ax.set_xlabel("steps back in time k")
        ax.set_title(ttl)
    axes[0].set_ylabel(r"$\|\partial L/\partial h_{T-k}\| \,/\, \|\partial L/\partial h_T\|$")
    # the legends under the panels: inside, at print size they covered the curves and markers
    axes[0].legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3, frameon=False)
    lr_ = np.log(np.array(RHOS))
    axes[2].plot(lr_, lr_, "-", color="k", label=r"theory: rate = $\log\rho$")
    for kind, m in (("orthogonal", "o"), ("gaussian", "^")):
        r = np.array(rates[kind])  # (n_rho, E)
        axes[2].errorbar(lr_, r.mean(1), yerr=r.std(1), fmt=m, mfc="white", color="C3" if m == "o" else "C0",
                         label=f"{kind} (mean $\\pm$ sd)", capsize=2)
    axes[2].axhline(0, color="0.7", lw=0.8)
    axes[2].axvline(0, color="0.7", lw=0.8)
    axes[2].set_xlabel(r"$\log \rho(W_h)$")
    axes[2].set_ylabel("fitted rate  d log-norm / dk")
    axes[2].set_title("(c) vanishing / exploding rate")
    axes[2].legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), frameon=False)
    fig.tight_layout()
    agreement["max_rel_dev_orthogonal"] = rel_dev_orth
    agreement["max_rate_dev_orthogonal"] = float(np.max(np.abs(np.array(rates["orthogonal"]).mean(1) - lr_)))
    agreement["max_rate_dev_gaussian"] = float(np.max(np.abs(np.array(rates["gaussian"]).mean(1) - lr_)))
    params = {"rhos": RHOS, "n_hidden": N_H, "T": T_SEQ, "n_networks": E, "seed": seed}
    return save(fig, {"params": params, "data": data, "agreement": agreement}, name=NAME, out=out, quick=quick)
