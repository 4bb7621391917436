r"""Online learning of a linear teacher by gradient descent, node perturbation and weight perturbation.

Batched ensembles of linear students ``yhat = W x`` (W: (E, M, N)), one fresh ``x ~ N(0, I_N)``
per network and step, teacher ``W*``; the rules and conventions of
:mod:`idealnets.theory.perturbation` (Werfel, Xie & Seung 2005):

* ``"gd"``: ``W <- W - lr e x^T``, ``e = (W - W*) x``;
* ``"node"``: ``xi ~ N(0, sigma^2 I_M)``, ``dl = xi.e + |xi|^2/2``, ``W <- W - lr (dl/sigma^2) xi x^T``;
* ``"weight"``: ``Psi ~ N(0, sigma^2 I)``, ``dl = (Psi x).e + |Psi x|^2/2``, ``W <- W - lr (dl/sigma^2) Psi``.

``dl`` is the change of the per-sample loss ``|W x - W* x|^2/2`` caused by the perturbation
(perturbed minus clean evaluation). The recorded error is ``eps = ||W - W*||_F^2/2``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from idealnets.theory import validation as _v

from ._common import DivergenceMonitor, as_input, make_generator, progress, record_steps, resolve_device, resolve_dtype

__all__ = ["PerturbationRun", "train_perturbation", "RULES"]

RULES = ("gd", "node", "weight")


@dataclass
class PerturbationRun:
    """``steps`` (R,) recorded step indices, ``errors`` (E, R) = ``||W - W*||_F^2/2``."""

    steps: np.ndarray
    errors: np.ndarray


def train_perturbation(W0, W_star, *, rule: str, lr: float, steps: int, sigma: float = 1e-3, record=50,
                       log: bool = False, seed: int = 0, device=None, dtype=torch.float64,
                       show_progress: bool | None = None) -> PerturbationRun:
    r"""Train an ensemble from ``W0`` (E, M, N) toward the teacher ``W_star`` (M, N) or (E, M, N).

    ``sigma > 0`` is the perturbation size (ignored by ``"gd"``); ``lr > 0``. Divergence is
    checked at the recording steps (stable limit ``2/kappa`` of :mod:`idealnets.theory.perturbation`).
    """
    from idealnets.theory.perturbation import max_learning_rate

    rule = _v.as_choice(rule, "rule", RULES)
    lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
    sigma = _v.as_float(sigma, "sigma", low=0.0, open_low=True)
    steps = _v.as_int(steps, "steps", low=0)
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    W = as_input(W0, "W0", device=device, dtype=dtype, ndim=3).clone()
    E, M, N = W.shape
    Ws = as_input(W_star, "W_star", device=device, dtype=dtype, ndim=(2, 3))
    if Ws.shape[-2:] != (M, N) or (Ws.dim() == 3 and Ws.shape[0] != E):
        raise ValueError(f"W_star must have shape ({M}, {N}) or ({E}, {M}, {N}), got {tuple(Ws.shape)}")
    g = make_generator(_v.as_seed(seed), device)
    rec = record_steps(steps, record, log=log)
    R = rec.size
    errs = torch.empty(E, R, device=device, dtype=dtype)
    monitor = DivergenceMonitor(lr=lr, lr_max=max_learning_rate(rule, N, M), what=f"the {rule} error")
    bar = progress(steps, f"perturbation {rule}", disable=show_progress if show_progress is not None else steps < 50000)
    inv_s2 = 1.0 / sigma**2
    r = 0
    with torch.no_grad():
        for k in range(steps + 1):
            if r < R and k == rec[r]:
                errs[:, r] = 0.5 * ((W - Ws) ** 2).sum((-2, -1))
                monitor(k, errs[:, r])
                r += 1
            if k == steps:
                break
            x = torch.randn(E, N, 1, generator=g, device=device, dtype=dtype)
            e = (W - Ws) @ x  # (E, M, 1)
            if rule == "gd":
                W -= lr * e @ x.transpose(-1, -2)
            elif rule == "node":
                xi = sigma * torch.randn(E, M, 1, generator=g, device=device, dtype=dtype)
                dl = (xi * e).sum((-2, -1), keepdim=True) + 0.5 * (xi * xi).sum((-2, -1), keepdim=True)
                W -= (lr * inv_s2) * dl * (xi @ x.transpose(-1, -2))
            else:
                Psi = sigma * torch.randn(E, M, N, generator=g, device=device, dtype=dtype)
                px = Psi @ x
                dl = (px * e).sum((-2, -1), keepdim=True) + 0.5 * (px * px).sum((-2, -1), keepdim=True)
                W -= (lr * inv_s2) * dl * Psi
            bar.update(1)
    bar.close()
    return PerturbationRun(rec, errs.cpu().numpy())
