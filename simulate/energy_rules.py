r"""Deep linear networks trained by equilibrium propagation and predictive coding, with the inner relaxation run.

Ensembles of deep linear networks (weights ``(E, n_l, n_{l-1})``, layer 1 first) learn a full batch
``X`` (N_in, P), ``Y`` (N_out, P) (samples as columns) with one of the rules of
:mod:`idealnets.theory.energy_rules`. Each training step *runs the network's inference*: the hidden
(and, unless clamped, output) states descend the energy

.. math::

    F(h) = \tfrac12 \sum_{l=1}^{L} |h_l - W_l h_{l-1}|^2 + \tfrac{\beta}{2} |h_L - y|^2,\qquad h_0 = x,

by gradient descent on the states (with heavy-ball inertia ``momentum``), ``h_l <- h_l - gamma dF/dh_l`` (``dF/dh_l = eps_l - W_{l+1}^T eps_{l+1}``,
``dF/dh_L = eps_L + beta (h_L - y)``), with a step ``gamma`` below the inverse of a bound on the
Hessian, until ``max |dF/dh| <= relax_tol`` (or ``max_relax`` iterations). Then:

* ``"eqprop"`` (Scellier & Bengio 2017): a free phase (``beta = 0``, warm-started from the last
  step's free states) and a nudged phase (``beta``, started from the free equilibrium);
  ``W_l <- W_l + lr (1/(beta P)) (eps^beta_l h^{beta T}_{l-1} - eps^0_l h^{0 T}_{l-1})``;
* ``"predictive_coding"`` (Whittington & Bogacz 2017): states start at the feed-forward pass, the
  output is clamped to ``y`` (``beta = inf``) or weighted by the precision ``beta``;
  ``W_l <- W_l + lr (1/P) eps_l h_{l-1}^T``;
* ``"backprop"``: the exact gradient step (no relaxation), for comparison.

Time is ``t = lr * step``; the mean dynamics is :class:`idealnets.theory.energy_rules.EnergyRuleFlow`.
The trainer is a model of the one training engine and returns its :class:`~idealnets.simulate.engine.Run`.
"""
from __future__ import annotations

import numpy as np
import torch

from idealnets.theory import validation as _v

from . import engine
from ._common import as_input, check_entries, resolve_device, resolve_dtype
from .engine import Run

__all__ = ["EnergyRuleNetworks", "train_energy_rule", "RULES"]

RULES = ("backprop", "eqprop", "predictive_coding")


def train_energy_rule(W0, X, Y, *, rule: str, lr: float, steps: int, beta=0.1, relax_tol: float = 1e-10,
                      max_relax: int = 100000, momentum: float = 0.8, record=50, log: bool = True, return_weights: bool = False,
                      device=None, dtype=torch.float64, progress_bar: bool | None = None) -> Run:
    r"""Train an ensemble from ``W0`` (a list of per-layer arrays ``(E, n_l, n_{l-1})`` or ``(n_l, n_{l-1})``).

    ``rule``: ``"eqprop"`` (``beta > 0`` finite), ``"predictive_coding"`` (``beta`` the output
    precision, ``np.inf`` to clamp) or ``"backprop"``. ``relax_tol``: the inference stops when every
    state gradient is at most this (absolute); ``max_relax`` iterations at most per phase and step;
    ``momentum`` in [0, 1): heavy-ball inertia of the state dynamics (0: plain gradient descent;
    the equilibrium, and so the update, does not depend on it, only the number of iterations).
    Deterministic (no random draw). Returns a :class:`~idealnets.simulate.engine.Run`: ``times =
    lr * steps`` (unit ``"t = lr * step"``), ``losses`` (E, R) the training loss
    ``(1/2P) sum |y - yhat|^2``; with ``return_weights``, ``state["weights_l"]`` (E, R, n_l, n_{l-1})
    for l = 1..L; ``extras``: ``rule``, ``beta``, ``lr``, ``relax_iterations`` (mean per phase and step).
    """
    rule = _v.as_choice(rule, "rule", RULES)
    lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
    steps = _v.as_int(steps, "steps", low=0, high=10**8)
    beta = _v.as_float(beta, "beta", low=0.0, open_low=True, allow_inf=rule != "eqprop")
    relax_tol = _v.as_float(relax_tol, "relax_tol", low=0.0, open_low=True)
    max_relax = _v.as_int(max_relax, "max_relax", low=1, high=10**7)
    momentum = _v.as_float(momentum, "momentum", low=0.0, high=1.0, open_high=True)
    return_weights = _v.as_bool(return_weights, "return_weights")
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    if W0 is None or isinstance(W0, (str, bytes)) or not hasattr(W0, "__len__") or len(W0) < 1:
        raise TypeError(f"W0 must be a non-empty list of per-layer arrays, got {W0!r:.60}")
    Ws = [as_input(w, f"W0[{l}]", device=device, dtype=dtype, ndim=(2, 3)) for l, w in enumerate(W0)]
    E = max(w.shape[0] if w.dim() == 3 else 1 for w in Ws)
    Ws = [(w if w.dim() == 3 else w[None]).expand(E, -1, -1).clone() for w in Ws]
    for l in range(1, len(Ws)):
        if Ws[l].shape[0] != E or Ws[l].shape[2] != Ws[l - 1].shape[1]:
            raise ValueError(f"W0[{l}] of shape {tuple(Ws[l].shape)} does not chain with W0[{l - 1}] "
                             f"{tuple(Ws[l - 1].shape)} (or has another ensemble size)")
    Xt = as_input(X, "X", device=device, dtype=dtype, ndim=2)
    check_entries(E * sum(w.shape[1] * (w.shape[2] + Xt.shape[1]) for w in Ws),
                  f"the weights and states of n_networks = {E} networks on P = {Xt.shape[1]} samples")
    Yt = as_input(Y, "Y", device=device, dtype=dtype, ndim=2)
    if Xt.shape[0] != Ws[0].shape[2] or Yt.shape[0] != Ws[-1].shape[1] or Xt.shape[1] != Yt.shape[1]:
        raise ValueError(f"X {tuple(Xt.shape)} / Y {tuple(Yt.shape)} do not fit the network "
                         f"{Ws[0].shape[2]} -> {Ws[-1].shape[1]} (samples as columns)")
    model = EnergyRuleNetworks(Ws, Xt, Yt, rule=rule, beta=beta, lr=lr, relax_tol=relax_tol, max_relax=max_relax,
                               return_weights=return_weights, momentum=momentum)
    return engine.run(model, steps=steps, record=record, log=log, time_per_step=lr, time_unit="t = lr * step",
                      loss_name="training loss (1/2P) sum |y - yhat|^2", lr=lr, what=f"the {rule} training loss",
                      desc=f"energy rule {rule}", progress_bar=False if progress_bar is None else progress_bar,
                      extras={"rule": rule, "beta": beta, "lr": lr},
                      finish=lambda _: {"relax_iterations": model.mean_iterations()})


class EnergyRuleNetworks:
    """Deep linear networks learning by an energy-based rule with explicit inference, as an engine model.

    State: a dict with the weights ``"W"`` (list of (E, n_l, n_{l-1})) and the persistent free states
    ``"h"`` (list of (E, n_l, P), l = 1..L) that warm-start equilibrium propagation's free phase.
    """

    name = "energy_rules"

    def __init__(self, W0, X, Y, *, rule, beta, lr, relax_tol, max_relax, return_weights, momentum=0.0):
        self.W0, self.X, self.Y = W0, X, Y
        self.rule, self.beta, self.lr = rule, beta, lr
        self.tol, self.max_relax, self.rw = relax_tol, max_relax, return_weights
        self.momentum = momentum
        self.P = X.shape[1]
        self.iters, self.phases = 0, 0

    def mean_iterations(self) -> float:
        return self.iters / max(self.phases, 1)

    def _forward(self, W):
        h = [self.X.expand(W[0].shape[0], -1, -1)]
        for w in W:
            h.append(w @ h[-1])
        return h

    def init(self):
        W = [w.clone() for w in self.W0]
        return {"W": W, "h": self._forward(W)[1:]}

    def observe(self, s):
        yhat = self._forward(s["W"])[-1]
        out = {"loss": 0.5 * ((self.Y - yhat) ** 2).sum((-2, -1)) / self.P}
        if self.rw:
            for l, w in enumerate(s["W"]):
                out[f"weights_{l + 1}"] = w.clone()
        return out

    def _relax(self, W, h, beta, clamp: bool):
        """Gradient descent of F on the states h (list l = 1..L, modified in place); returns the errors."""
        L = len(W)
        X, Y = self.X, self.Y
        # step: below 1 / (a Gershgorin-type bound on the Hessian of F), per network
        s = [torch.linalg.matrix_norm(w, ord=2) for w in W]  # spectral norms
        bound = torch.zeros_like(s[0])
        for l in range(L):
            above = s[l + 1] if l + 1 < L else (torch.full_like(s[0], beta) if not clamp and np.isfinite(beta)
                                                else torch.zeros_like(s[0]))
            b = 1.0 + (s[l + 1] ** 2 + s[l + 1] if l + 1 < L else above) + s[l]
            bound = torch.maximum(bound, b)
        gamma = (1.0 / bound)[:, None, None]
        free = L - 1 if clamp else L  # states that move
        mom = self.momentum
        vel = [torch.zeros_like(h[l]) for l in range(free)] if mom > 0 else None
        for it in range(self.max_relax):
            prev = [X.expand(W[0].shape[0], -1, -1)] + h[:-1]
            eps = [h[l] - W[l] @ prev[l] for l in range(L)]
            g = []
            for l in range(free):
                gl = eps[l]
                if l + 1 < L:
                    gl = gl - W[l + 1].transpose(-1, -2) @ eps[l + 1]
                elif beta > 0:
                    gl = gl + beta * (h[l] - Y)
                g.append(gl)
            gmax = max(float(gl.abs().max()) for gl in g) if g else 0.0
            if gmax <= self.tol:
                break
            for l in range(free):
                if vel is None:
                    h[l] = h[l] - gamma * g[l]
                else:  # heavy-ball relaxation: inertia on the states
                    vel[l] = mom * vel[l] - gamma * g[l]
                    h[l] = h[l] + vel[l]
        else:
            it = self.max_relax
        self.iters += it
        self.phases += 1
        prev = [X.expand(W[0].shape[0], -1, -1)] + h[:-1]
        return [h[l] - W[l] @ prev[l] for l in range(L)], prev

    def step(self, s, k):
        W, P, lr = s["W"], self.P, self.lr
        L = len(W)
        if self.rule == "backprop":
            h = self._forward(W)
            e = self.Y - h[-1]
            delta = e
            for l in range(L - 1, -1, -1):
                upd = delta @ h[l].transpose(-1, -2) / P
                delta = W[l].transpose(-1, -2) @ delta
                W[l] += lr * upd
            return s
        if self.rule == "eqprop":
            hf = s["h"]
            eps0, prev0 = self._relax(W, hf, 0.0, clamp=False)
            hn = [v.clone() for v in hf]
            epsb, prevb = self._relax(W, hn, self.beta, clamp=False)
            for l in range(L):
                upd = (epsb[l] @ prevb[l].transpose(-1, -2) - eps0[l] @ prev0[l].transpose(-1, -2)) / (self.beta * P)
                W[l] += lr * upd
            return s
        # predictive coding: start from the feed-forward pass, output clamped (or weighted by the precision)
        h = self._forward(W)[1:]
        clamp = not np.isfinite(self.beta)
        if clamp:
            h[-1] = self.Y.expand_as(h[-1]).clone()
        eps, prev = self._relax(W, h, 0.0 if clamp else self.beta, clamp=clamp)
        for l in range(L):
            W[l] += lr * (eps[l] @ prev[l].transpose(-1, -2)) / P
        return s
