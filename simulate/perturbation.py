r"""Online learning of a linear teacher by gradient descent, node perturbation and weight perturbation.

Batched ensembles of linear students ``yhat = W x`` (W: (E, M, N)), one fresh ``x ~ N(0, I_N)``
per network and step, teacher ``W*``; the rules and conventions of
:mod:`idealnets.theory.perturbation` (Werfel, Xie & Seung 2005):

* ``"gd"``: ``W <- W - lr e x^T``, ``e = (W - W*) x``;
* ``"node"``: ``xi ~ N(0, sigma^2 I_M)``, ``dl = xi.e + |xi|^2/2``, ``W <- W - lr (dl/sigma^2) xi x^T``;
* ``"weight"``: ``Psi ~ N(0, sigma^2 I)``, ``dl = (Psi x).e + |Psi x|^2/2``, ``W <- W - lr (dl/sigma^2) Psi``.

``dl`` is the change of the per-sample loss ``|W x - W* x|^2/2`` caused by the perturbation
(perturbed minus clean evaluation). The recorded error is ``eps = ||W - W*||_F^2/2``.

The trainer is a model of the one training engine (:mod:`idealnets.simulate.engine`) and returns
its :class:`~idealnets.simulate.engine.Run`.
"""
from __future__ import annotations

import torch

from idealnets.theory import validation as _v

from . import engine
from ._common import as_input, resolve_device, resolve_dtype
from .engine import Run

__all__ = ["PerturbationRun", "PerturbationSGD", "train_perturbation", "sigma_min", "RULES"]

RULES = ("gd", "node", "weight")

def sigma_min(dtype=torch.float64) -> float:
    """Smallest perturbation size ``sigma`` that ``"node"``/``"weight"`` accept in ``dtype``:
    ``finfo(dtype).tiny ** 0.25`` (about 1.2e-77 for float64, 3.3e-10 for float32), so that
    ``sigma^2`` and ``|xi|^2`` stay at least ``sqrt(tiny)`` and ``1/sigma^2`` at most ``1/sqrt(tiny)``."""
    return float(torch.finfo(resolve_dtype(dtype)).tiny) ** 0.25


#: Deprecated name of the shared result type :class:`idealnets.simulate.Run` (kept for one release).
PerturbationRun = Run


@_v.renamed_keywords(show_progress="progress_bar")
def train_perturbation(W0, W_star, *, rule: str, lr: float, steps: int, sigma: float = 1e-3, record=50,
                       log: bool = False, seed: int = 0, device=None, dtype=torch.float64,
                       progress_bar: bool | None = None) -> Run:
    r"""Train an ensemble from ``W0`` (E, M, N) toward the teacher ``W_star`` (M, N) or (E, M, N).

    ``sigma > 0`` is the perturbation size (ignored by ``"gd"``); ``lr > 0``. For ``"node"`` and
    ``"weight"`` the update divides by ``sigma^2``, so ``sigma`` must be at least
    :func:`sigma_min` of ``dtype`` (``finfo(dtype).tiny ** 0.25``: about 1.2e-77 in float64,
    3.3e-10 in float32), which keeps ``sigma^2``, the squared perturbation and ``1/sigma^2``
    far inside the normal range; a smaller ``sigma`` is a ValueError (its ``sigma^2``
    underflows and the update would be NaN/inf), and so is one above ``1/sigma_min`` (its
    ``sigma^2`` overflows). The ``sigma -> 0`` limit of the expected
    error is :mod:`idealnets.theory.perturbation` at ``sigma = 0``. Divergence is
    checked at the recording steps (stable limit ``2/kappa`` of :mod:`idealnets.theory.perturbation`).

    Returns a :class:`~idealnets.simulate.engine.Run`: ``steps`` (R,) the recorded steps,
    ``times`` the same (unit ``"step"``), ``losses`` (E, R) the error ``||W - W*||_F^2/2``
    (``run.errors`` is its deprecated name); ``extras``: ``rule``, ``lr``, ``sigma``, ``seed``.
    ``progress_bar``: ``None`` shows it on terminals for runs of 50000 steps or more.
    """
    from idealnets.theory.perturbation import stable_lr

    rule = _v.as_choice(rule, "rule", RULES)
    lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
    sigma = _v.as_float(sigma, "sigma", low=0.0, open_low=True)
    steps = _v.as_int(steps, "steps", low=0)
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    if rule != "gd" and sigma < sigma_min(dtype):
        raise ValueError(f"sigma = {sigma!r} is below sigma_min = {sigma_min(dtype):.3g} for {dtype} "
                         f"(rule {rule!r} divides by sigma^2, which would underflow); use sigma >= sigma_min")
    if rule != "gd" and sigma > 1.0 / sigma_min(dtype):
        raise ValueError(f"sigma = {sigma!r} is above 1/sigma_min = {1.0 / sigma_min(dtype):.3g} for {dtype} "
                         f"(rule {rule!r} squares sigma, which would overflow); use sigma <= 1/sigma_min")
    W = as_input(W0, "W0", device=device, dtype=dtype, ndim=3)
    E, M, N = W.shape
    Ws = as_input(W_star, "W_star", device=device, dtype=dtype, ndim=(2, 3))
    if Ws.shape[-2:] != (M, N) or (Ws.dim() == 3 and Ws.shape[0] != E):
        raise ValueError(f"W_star must have shape ({M}, {N}) or ({E}, {M}, {N}), got {tuple(Ws.shape)}")
    seed = _v.as_seed(seed)  # kept in the run's extras; the generator takes it as checked
    model = PerturbationSGD(W, Ws, rule=rule, lr=lr, sigma=sigma,
                            generator=torch.Generator(device=device).manual_seed(seed))
    return engine.run(model, steps=steps, record=record, log=log, time_per_step=1.0, time_unit="step",
                      loss_name="error ||W - W*||_F^2 / 2", lr=lr, lr_max=stable_lr(rule, N, M),
                      what=f"the {rule} error", desc=f"perturbation {rule}",
                      progress_bar=(False if steps < 50000 else None) if progress_bar is None else progress_bar,
                      extras={"rule": rule, "lr": lr, "sigma": sigma, "seed": seed},
                      renamed={"errors": "losses"})


class PerturbationSGD:
    """Online learning of a linear teacher by one rule of :data:`RULES`, as an engine model.

    State: the students ``W`` (E, M, N). One step draws a fresh input per network (and the
    perturbation for ``"node"``/``"weight"``) from ``generator`` and applies the rule's update
    in place. Records the error ``||W - W*||_F^2/2`` (``"loss"``).
    """

    name = "perturbation"

    def __init__(self, W0: torch.Tensor, W_star: torch.Tensor, *, rule: str, lr: float, sigma: float,
                 generator: torch.Generator):
        self.W0, self.W_star, self.rule, self.lr, self.g = W0, W_star, rule, lr, generator
        self.inv_s2 = None if rule == "gd" else 1.0 / sigma**2  # gd ignores sigma (any sigma > 0)
        self.sigma = sigma

    def init(self):
        return self.W0.clone()

    def observe(self, W):
        return {"loss": 0.5 * ((W - self.W_star) ** 2).sum((-2, -1))}

    def step(self, W, k):
        E, M, N = W.shape
        g, lr, sigma, inv_s2 = self.g, self.lr, self.sigma, self.inv_s2
        x = torch.randn(E, N, 1, generator=g, device=W.device, dtype=W.dtype)
        e = (W - self.W_star) @ x  # (E, M, 1)
        if self.rule == "gd":
            W -= lr * e @ x.transpose(-1, -2)
        elif self.rule == "node":
            xi = sigma * torch.randn(E, M, 1, generator=g, device=W.device, dtype=W.dtype)
            dl = (xi * e).sum((-2, -1), keepdim=True) + 0.5 * (xi * xi).sum((-2, -1), keepdim=True)
            W -= (lr * inv_s2) * dl * (xi @ x.transpose(-1, -2))
        else:
            Psi = sigma * torch.randn(E, M, N, generator=g, device=W.device, dtype=W.dtype)
            px = Psi @ x
            dl = (px * e).sum((-2, -1), keepdim=True) + 0.5 * (px * px).sum((-2, -1), keepdim=True)
            W -= (lr * inv_s2) * dl * Psi
        return W
