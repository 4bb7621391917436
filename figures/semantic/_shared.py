"""Shared set-up for the semantic-development figures (living things, one-hot items).

The trained ensembles are cached per process, so ``python -m idealnets.figures all``
trains each configuration once for all the figures that show it.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from idealnets.simulate import engine
from idealnets.simulate.deep_linear import train
from idealnets.simulate.semantic import MLPGD, stable_lr, train_mlp
from idealnets.theory.datasets import one_hot
from idealnets.theory.semantic import SemanticTheory, effective_u0, living_things

NH = 64  # hidden units (finite-width shift of the half-times ~2%; ~4% at 32)
U0 = 1e-3  # effective initial mode strength of the small random init
INIT_SCALE = float(np.sqrt(2 * U0 / NH))  # effective_u0(INIT_SCALE, NH) == U0
T_END = 60.0  # gradient-flow time (all eight living-things modes are half learned by t ~ 30)

ITEM_COLORS = ["#1b7837", "#5aae61", "#c51b7d", "#de77ae", "#b2182b", "#f4a582", "#2166ac", "#92c5de"]


def sizes(quick: bool) -> dict:
    """Ensemble size, learning rate and recording points (quick: smoke-test size)."""
    if quick:
        return {"E": 6, "lr": 0.05, "record": 40}
    return {"E": 32, "lr": 0.01, "record": 120}


def lt_theory(depth: int = 2) -> SemanticTheory:
    items, feats, Y = living_things()
    u0 = effective_u0(INIT_SCALE, NH) if depth == 2 else U0
    return SemanticTheory(Y, depth=depth, u0=u0, items=items, features=feats)


@lru_cache(maxsize=8)
def linear_run(depth: int, quick: bool, seed: int, device=None):
    """Living things, depth-D linear ensemble from small random weights (shallow: D = 1)."""
    _, _, Y = living_things()
    z = sizes(quick)
    lr = z["lr"] if depth > 1 else 0.5
    return train(one_hot(8), Y, depth, NH, z["E"], "small", INIT_SCALE, lr, int(round(T_END / lr)),
                 record=z["record"], device=device, seed=seed, return_weights=depth > 1,
                 desc=f"living things D={depth}")


class _OneHotMLPGD(MLPGD):
    """:class:`MLPGD` for one-hot inputs (X = I), with the same arithmetic in fewer operations.

    With X = I the first layer's pre-activation W_1 X is W_1 itself and its gradient
    delta_1 X^T is delta_1 (a product with the identity is exact in floating point), so those
    two products are skipped; the back-propagated error is masked (ReLU) or left as it is
    (linear) instead of multiplied by phi'(z) in {0, 1}, and the updates are done in place.
    Every number equals :class:`MLPGD`'s (zeros may differ in the sign of 0.0).
    """

    def __init__(self, Ws, Xt, Yt, activation: str, lr: float):
        super().__init__(Ws, Xt, Yt, *_ACTIVATIONS[activation], lr)
        self.backprop = _BACKPROP[activation]

    def _forward(self, Ws):
        zs, acts = [], [self.Xt]
        for l in range(len(Ws) - 1):
            z = Ws[0] if l == 0 else torch.bmm(Ws[l], acts[-1])
            zs.append(z)
            acts.append(self.phi(z))
        return zs, acts, torch.bmm(Ws[-1], acts[-1])

    def step(self, Ws, k):
        zs, acts, out = self._forward(Ws)
        delta = out.sub_(self.Yt).div_(self.P)  # dL/d out
        for l in range(len(Ws) - 1, -1, -1):
            grad = torch.bmm(delta, acts[l].transpose(-1, -2)) if l > 0 else delta
            if l > 0:
                delta = self.backprop(torch.bmm(Ws[l].transpose(-1, -2), delta), zs[l - 1], acts[l])
            Ws[l].sub_(grad.mul_(self.lr))
        return Ws


# phi and its derivative phi'(z) given a = phi(z), as in :func:`idealnets.simulate.semantic.train_mlp`
_ACTIVATIONS = {
    "relu": (torch.relu, lambda z, a: (z > 0).to(z.dtype)),
    "tanh": (torch.tanh, lambda z, a: 1.0 - a * a),
    "linear": (lambda z: z, lambda z, a: torch.ones_like(z)),
}

# delta * phi'(z), exactly (a product with 1 is exact; relu's zeros may carry the sign of -0.0, equal to 0.0)
_BACKPROP = {
    "relu": lambda delta, z, a: delta.masked_fill_(z <= 0, 0.0),
    "tanh": lambda delta, z, a: delta.mul_(1.0 - a * a),
    "linear": lambda delta, z, a: delta,
}


@lru_cache(maxsize=8)
def mlp_run(activation: str, hidden: tuple, quick: bool, seed: int, init_scale: float, device=None):
    """Living things, an ensemble of MLPs with hidden widths ``hidden`` trained by full-batch GD.

    The run of :func:`idealnets.simulate.semantic.train_mlp` with the same arguments, bit for bit
    (same initial weights, same arithmetic), stepped by :class:`_OneHotMLPGD` (the items are one-hot).
    """
    X, (_, _, Y) = one_hot(8), living_things()
    z = sizes(quick)
    E, lr = z["E"], z["lr"]
    ctx = engine.context(device, torch.float64, seed)
    widths = [X.shape[0], *hidden, Y.shape[0]]
    Ws = [init_scale * torch.randn(E, widths[l + 1], widths[l], generator=ctx.generator, device=ctx.device,
                                   dtype=ctx.dtype) for l in range(len(widths) - 1)]
    model = _OneHotMLPGD(Ws, ctx.tensor(X).expand(E, -1, -1), ctx.tensor(Y), activation, lr)
    run = engine.run(model, steps=int(round(T_END / lr)), record=z["record"], time_per_step=lr,
                     time_unit="t = lr * step", loss_name="training loss", lr=lr,
                     lr_max=stable_lr(X, Y, len(widths) - 1), what="the training loss",
                     desc=f"living things {activation} {list(hidden)}",
                     n_threads=1 if ctx.device.type == "cpu" else None)  # kernels too small for intra-op threads
    run.extras["hidden"] = [run.state[f"hidden{l + 1}"] for l in range(len(hidden))]
    return run
