r"""Batched ensembles of small nonlinear networks trained on item-feature data.

The semantic theory (:mod:`idealnets.theory.semantic`) is exact for deep *linear*
networks, which :mod:`idealnets.simulate.deep_linear` trains. Here the same experiment is
run with nonlinear hidden layers -- ReLU or tanh, one or two of them -- so that
the linear theory can be held against them as a qualitative prediction:

.. math::

    h^{(0)} = x, \quad h^{(l)} = \phi(W_l h^{(l-1)}) \ (l < D), \quad \hat y = W_D h^{(D-1)},

no biases (as in the linear theory), trained by full-batch gradient descent on
the mean squared loss ``L = (1/2P) sum_mu ||y_mu - yhat_mu||^2`` with time
``t = lr * step``. ``activation="linear"`` reproduces the deep linear network.

All ``n_networks`` networks train as one batched program: weights are
``(E, n_l, n_{l-1})`` tensors, the forward and backward passes are written out
(no autograd). The trainer is a model of the training engine
(:mod:`idealnets.simulate.engine`), which records outputs and hidden
representations at log-spaced steps and returns the shared
:class:`~idealnets.simulate.Run`.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import torch

from idealnets.theory import validation as _v
from idealnets.theory.deep_linear import DEPTH_MAX
from idealnets.theory.tasks import correlations
from idealnets.theory.validation import deprecated_alias

from . import engine
from ._common import as_desc, as_tensor, check_entries, make_generator, resolve_device, resolve_dtype, stable_lr_linear
from .deep_linear import stable_lr as _deep_linear_stable_lr
from .engine import Run

__all__ = ["ACTIVATIONS", "MLPGD", "MLPRun", "train_mlp", "stable_lr"]

ACTIVATIONS = ("relu", "tanh", "linear")

#: Deprecated name of the shared result type :class:`idealnets.simulate.Run` (kept for one release).
MLPRun = Run


def _act(name: str):
    if name == "relu":
        return torch.relu, lambda z, a: (z > 0).to(z.dtype)
    if name == "tanh":
        return torch.tanh, lambda z, a: 1.0 - a * a
    return (lambda z: z), (lambda z, a: torch.ones_like(z))


def stable_lr(X, Y, depth: int) -> float:
    r"""Rough stable learning-rate limit, that of the deep linear network on the same data.

    ``2 / (D lmax(Sxx) smax^{2 - 2/D})`` with ``smax`` the top singular value of the
    least-squares map (see :func:`idealnets.simulate.deep_linear.stable_lr`). ReLU and tanh
    have slope <= 1, so this is a conservative guide, used to name the limit when
    training diverges.
    """
    return _deep_linear_stable_lr(X, Y, depth)


def _stable_lr(X: np.ndarray, Y: np.ndarray, depth: int) -> float:
    """:func:`stable_lr` on validated arrays."""
    Sxx, Syx, _ = correlations(X, Y)
    return stable_lr_linear(Sxx, Syx, depth)


stable_lr_mlp = deprecated_alias(stable_lr, "stable_lr_mlp")


class MLPGD:
    r"""Full-batch GD of an ensemble of bias-free MLPs ``x -> W_D phi(... phi(W_1 x))``, as an engine model.

    State: the list of D layer weights ``(E, n_l, n_{l-1})``. Forward and backward passes
    are written out (no autograd) on the mean squared loss. Records the loss, the outputs
    (``"outputs"``, ``(E, N_out, P)``) and every hidden layer's post-activation
    representation (``"hidden1"``, ...; ``(E, n_l, P)``).
    """

    name = "MLP GD"

    def __init__(self, Ws, Xt, Yt, phi, dphi, lr: float):
        self.Ws0, self.Xt, self.Yt, self.phi, self.dphi, self.lr = Ws, Xt, Yt, phi, dphi, lr
        self.P = Xt.shape[-1]

    def init(self):
        return list(self.Ws0)

    def _forward(self, Ws):
        zs, acts = [], [self.Xt]
        for l in range(len(Ws) - 1):
            z = torch.bmm(Ws[l], acts[-1])
            zs.append(z)
            acts.append(self.phi(z))
        out = torch.bmm(Ws[-1], acts[-1])
        return zs, acts, out

    def observe(self, Ws):
        _, acts, out = self._forward(Ws)
        err = out - self.Yt
        obs = {"loss": 0.5 * (err * err).sum((-2, -1)) / self.P, "outputs": out}
        obs.update({f"hidden{l}": acts[l] for l in range(1, len(acts))})
        return obs

    def step(self, Ws, k):
        zs, acts, out = self._forward(Ws)
        delta = (out - self.Yt) / self.P  # dL/d out
        for l in range(len(Ws) - 1, -1, -1):
            grad = torch.bmm(delta, acts[l].transpose(-1, -2))
            if l > 0:
                delta = torch.bmm(Ws[l].transpose(-1, -2), delta) * self.dphi(zs[l - 1], acts[l])
            Ws[l] = Ws[l] - self.lr * grad
        return Ws


def train_mlp(
    X,
    Y,
    *,
    hidden: int | Sequence[int] = 64,
    activation: str = "relu",
    n_networks: int = 16,
    init_scale: float = 0.01,
    lr: float = 0.1,
    steps: int = 1000,
    record: int | Iterable[int] = 50,
    device=None,
    dtype: torch.dtype = torch.float64,
    seed: int = 0,
    log: bool = True,
    desc: str | None = None,
) -> Run:
    """Train ``n_networks`` MLPs ``x -> W_D phi(... phi(W_1 x))`` on (X, Y) by full-batch GD.

    X : (N_in, P), Y : (N_out, P) (one-hot items: ``X = I``). ``hidden`` an int (one
    hidden layer) or a list of widths (one per hidden layer); ``activation`` in
    :data:`ACTIVATIONS`; weights i.i.d. ``N(0, init_scale^2)``; ``record`` the number of
    log-spaced recording points or explicit steps. Returns a :class:`~idealnets.simulate.Run`
    (times ``t = lr * step``): ``losses`` (E, R) the training loss, ``state["outputs"]``
    (E, R, N_out, P) the outputs on every training sample, ``state["hidden1"]``, ... the
    post-activation representations (E, R, n_l, P), also listed (layer 1 first) in
    ``run.hidden``. Raises ValueError on bad input and
    :class:`~idealnets.simulate.DivergenceError` (naming lr and the linear stable limit) on blow-up.
    """
    X, Y = _v.as_array(X, "X", ndim=2), _v.as_array(Y, "Y", ndim=2)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"X (N_in, P) and Y (N_out, P) must have the same P (samples, columns); "
                         f"got {X.shape} and {Y.shape}")
    if not np.any(X):
        raise ValueError("X is all zeros: the inputs carry no signal (and no stable learning rate exists)")
    activation = _v.as_choice(activation, "activation", ACTIVATIONS)
    if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
        widths = [_v.as_int(hidden, "hidden", low=1)]
    else:
        widths = [_v.as_int(h, "hidden entry", low=1) for h in hidden]
    if not widths:
        raise ValueError(f"hidden must be a positive int or a non-empty list of them, got {hidden!r}")
    if len(widths) >= DEPTH_MAX:
        raise ValueError(f"hidden lists {len(widths)} hidden layers: at most DEPTH_MAX - 1 = {DEPTH_MAX - 1}")
    n_networks = _v.as_int(n_networks, "n_networks", low=1)
    init_scale = _v.as_float(init_scale, "init_scale", low=0.0, open_low=True)
    lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
    steps = _v.as_int(steps, "steps", low=0)
    device = resolve_device(device)
    dtype = resolve_dtype(dtype)
    g = make_generator(seed, device)
    E = int(n_networks)
    sizes = [X.shape[0], *widths, Y.shape[0]]
    D = len(sizes) - 1
    check_entries(E * sum(a * b for a, b in zip(sizes[1:], sizes[:-1])),
                  f"the weights of n_networks = {E} MLPs of hidden widths {widths if D <= 8 else '...'}")
    Ws = [init_scale * torch.randn(E, sizes[l + 1], sizes[l], generator=g, device=device, dtype=dtype)
          for l in range(D)]
    Xt = as_tensor(X, device=device, dtype=dtype).expand(E, -1, -1)
    Yt = as_tensor(Y, device=device, dtype=dtype)
    phi, dphi = _act(activation)
    model = MLPGD(Ws, Xt, Yt, phi, dphi, lr)
    run = engine.run(model, steps=steps, record=record, log=log, time_per_step=lr, time_unit="t = lr * step",
                     loss_name="training loss", lr=lr, lr_max=_stable_lr(X, Y, D), what="the training loss",
                     desc=as_desc(desc) or f"MLP {activation} {widths}")
    run.extras["hidden"] = [run.state[f"hidden{l + 1}"] for l in range(D - 1)]
    return run
