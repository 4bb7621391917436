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
(no autograd), and outputs and hidden representations are recorded at
log-spaced steps into preallocated tensors.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import torch

from idealnets.theory import validation as _v

from ._common import DivergenceMonitor, as_tensor, make_generator, progress, record_steps, resolve_device, resolve_dtype

__all__ = ["ACTIVATIONS", "MLPRun", "train_mlp", "stable_lr_mlp"]

ACTIVATIONS = ("relu", "tanh", "linear")


@dataclass
class MLPRun:
    """Result of :func:`train_mlp`.

    times : (R,) gradient-flow times ``lr * step``; steps : (R,) recorded steps
    outputs : (E, R, N_out, P) network outputs for every training sample
    hidden : per hidden layer, (E, R, n_l, P) post-activation representations
    losses : (E, R) training losses
    """

    times: np.ndarray
    steps: np.ndarray
    outputs: np.ndarray
    hidden: list[np.ndarray]
    losses: np.ndarray


def _act(name: str):
    if name == "relu":
        return torch.relu, lambda z, a: (z > 0).to(z.dtype)
    if name == "tanh":
        return torch.tanh, lambda z, a: 1.0 - a * a
    return (lambda z: z), (lambda z, a: torch.ones_like(z))


def stable_lr_mlp(X, Y, depth: int) -> float:
    r"""Rough stable learning-rate limit, that of the deep linear network on the same data.

    ``2 / (D lmax(Sxx) smax^{2 - 2/D})`` with ``smax`` the top singular value of the
    least-squares map (see :func:`idealnets.simulate.deep_linear.stable_lr`). ReLU and tanh
    have slope <= 1, so this is a conservative guide, used to name the limit when
    training diverges.
    """
    from .deep_linear import stable_lr

    return stable_lr(X, Y, depth)


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
) -> MLPRun:
    """Train ``n_networks`` MLPs ``x -> W_D phi(... phi(W_1 x))`` on (X, Y) by full-batch GD.

    X : (N_in, P), Y : (N_out, P) (one-hot items: ``X = I``). ``hidden`` an int (one
    hidden layer) or a list of widths (one per hidden layer); ``activation`` in
    :data:`ACTIVATIONS`; weights i.i.d. ``N(0, init_scale^2)``; ``record`` the number of
    log-spaced recording points or explicit steps. Raises ValueError on bad input and
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
    n_networks = _v.as_int(n_networks, "n_networks", low=1)
    init_scale = _v.as_float(init_scale, "init_scale", low=0.0, open_low=True)
    lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
    steps = _v.as_int(steps, "steps", low=0)
    device = resolve_device(device)
    dtype = resolve_dtype(dtype)
    g = make_generator(seed, device)
    E, P = int(n_networks), X.shape[1]
    sizes = [X.shape[0], *widths, Y.shape[0]]
    D = len(sizes) - 1
    Ws = [init_scale * torch.randn(E, sizes[l + 1], sizes[l], generator=g, device=device, dtype=dtype)
          for l in range(D)]
    Xt = as_tensor(X, device=device, dtype=dtype).expand(E, -1, -1)
    Yt = as_tensor(Y, device=device, dtype=dtype)
    phi, dphi = _act(activation)
    lr_max = stable_lr_mlp(X, Y, D)

    rec = record_steps(int(steps), record, log=log)
    R = rec.size
    outputs = torch.empty(E, R, Y.shape[0], P, device=device, dtype=dtype)
    hid = [torch.empty(E, R, w, P, device=device, dtype=dtype) for w in widths]
    losses = torch.empty(E, R, device=device, dtype=dtype)
    monitor = DivergenceMonitor(lr=lr, lr_max=lr_max, what="the training loss")
    r_i = 0
    bar = progress(int(steps), desc or f"MLP {activation} {widths}")
    with torch.no_grad():
        for step in range(int(steps) + 1):
            zs, acts = [], [Xt]
            for l in range(D - 1):
                z = torch.bmm(Ws[l], acts[-1])
                zs.append(z)
                acts.append(phi(z))
            out = torch.bmm(Ws[-1], acts[-1])
            err = out - Yt
            if step == rec[r_i]:
                outputs[:, r_i] = out
                for l in range(D - 1):
                    hid[l][:, r_i] = acts[l + 1]
                losses[:, r_i] = 0.5 * (err * err).sum((-2, -1)) / P
                monitor(step, losses[:, r_i])  # recording steps only
                r_i += 1
                if r_i == R:
                    break
            delta = err / P  # dL/d out
            for l in range(D - 1, -1, -1):
                grad = torch.bmm(delta, acts[l].transpose(-1, -2))
                if l > 0:
                    delta = torch.bmm(Ws[l].transpose(-1, -2), delta) * dphi(zs[l - 1], acts[l])
                Ws[l] = Ws[l] - lr * grad
            if (step & 1023) == 1023:
                bar.update(1024)
        bar.close()
    return MLPRun(times=lr * rec.astype(float), steps=rec, outputs=outputs.cpu().numpy(),
                  hidden=[h.cpu().numpy() for h in hid], losses=losses.cpu().numpy())
