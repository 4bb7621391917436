r"""Ensembles of wide MLPs in the NTK parameterisation, trained by full-batch gradient descent.

The network is the one of :mod:`idealnets.theory.ntk` (neural-tangents'
``serial(*[Dense(n, W_std, b_std), Act()] * depth, Dense(N_out, W_std, b_std))``):

.. math::

    z^l = \frac{\sigma_w}{\sqrt{n_{l-1}}} W^l h^{l-1} + \sigma_b b^l,\quad h^l = \phi(z^l),\quad
    h^0 = x,\quad f = z^{L+1},

all entries of ``W, b`` standard normal at initialisation. An ensemble of E
networks is held as tensors ``W^l: (E, n_l, n_{l-1})``, ``b^l: (E, n_l)`` and every
step is a few batched matmuls (no Python loop over networks). Gradients of the
mean squared loss ``L = (1/2P) sum_mu ||f(x_mu) - y_mu||^2`` are written out by
hand (backpropagation through the batched matmuls), so no autograd is needed.

The empirical NTK of output o is computed exactly, layer by layer, from the same
quantities (no Jacobian is materialised):

.. math::

    \hat\Theta(x, x') = \sum_{l=1}^{L+1} \big(\delta^l(x)\cdot\delta^l(x')\big)
        \Big(\frac{\sigma_w^2}{n_{l-1}} h^{l-1}(x)\cdot h^{l-1}(x') + \sigma_b^2\Big),
    \qquad \delta^l = \partial f_o / \partial z^l ,

and the empirical NNGP as the readout's conditional covariance
``sigma_w^2 h^L(x).h^L(x')/n_L + sigma_b^2`` (the covariance of an output given the
hidden layers; its mean over initialisations is the NNGP kernel).

Time is ``t = lr * step`` (docs: Conventions, "Loss and time"). ``centered=True`` trains the
centred model ``f(x; theta) - f(x; theta_0)`` (same tangent kernel, output 0 at
initialisation; Chizat, Oyallon & Bach 2019), whose infinite-width trajectory is
the deterministic mean of :func:`idealnets.theory.ntk.gradient_flow_mean`.

Training is a model of the training engine (:mod:`idealnets.simulate.engine`,
:class:`NTKGD`) and returns the shared :class:`~idealnets.simulate.Run`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import torch

from idealnets.theory import validation as _v
from idealnets.theory.ntk import DEPTH_MAX
from idealnets.theory.validation import renamed_keywords

from . import engine
from ._common import as_desc, as_tensor, check_entries, make_generator, resolve_device, resolve_dtype
from .engine import Run

__all__ = ["ACTIVATIONS", "MLP", "NTKGD", "NTKRun", "init_mlp", "forward", "empirical_kernels", "train", "train_from"]

ACTIVATIONS = ("relu", "erf", "linear")
BLOWUP = 1e8  # a recorded loss this many times the initial one counts as divergence


@dataclass
class MLP:
    """An ensemble of E MLPs: ``Ws[l]`` is (E, n_{l+1}, n_l), ``bs[l]`` is (E, n_{l+1})."""

    Ws: list[torch.Tensor]
    bs: list[torch.Tensor]
    activation: str
    W_std: float
    b_std: float

    @property
    def n_networks(self) -> int:
        return self.Ws[0].shape[0]

    @property
    def depth(self) -> int:
        """Number of hidden layers."""
        return len(self.Ws) - 1

    def clone(self) -> "MLP":
        return MLP([w.clone() for w in self.Ws], [b.clone() for b in self.bs], self.activation, self.W_std, self.b_std)


#: Deprecated name of the shared result type :class:`idealnets.simulate.Run` (kept for one release).
NTKRun = Run


def _phi(z: torch.Tensor, activation: str) -> torch.Tensor:
    if activation == "relu":
        return torch.relu(z)
    if activation == "erf":
        return torch.erf(z)
    return z


def _dphi(z: torch.Tensor, activation: str) -> torch.Tensor:
    if activation == "relu":
        return (z > 0).to(z.dtype)
    if activation == "erf":
        return (2.0 / math.sqrt(math.pi)) * torch.exp(-z * z)
    return torch.ones_like(z)


def _check_x(x, name: str) -> np.ndarray:
    """(N_in, P) finite real inputs (tensors are copied to NumPy first)."""
    return _v.as_array(x, name, ndim=2)


def _check_net(net, name: str = "net", *, finite: bool = False) -> "MLP":
    """An :class:`MLP` whose layers chain (and, with ``finite``, whose weights are all finite)."""
    if not isinstance(net, MLP):
        raise TypeError(f"{name} must be an MLP (see init_mlp), got {type(net).__name__}")
    Ws, bs = net.Ws, net.bs
    if (not isinstance(Ws, (list, tuple)) or not isinstance(bs, (list, tuple)) or not Ws or len(Ws) != len(bs)
            or not all(isinstance(w, torch.Tensor) and w.ndim == 3 for w in Ws)
            or not all(isinstance(b, torch.Tensor) and b.ndim == 2 for b in bs)):
        raise ValueError(f"{name} must hold lists Ws of (E, n_out, n_in) and bs of (E, n_out) tensors, one per layer")
    E = Ws[0].shape[0]
    for l, (w, b) in enumerate(zip(Ws, bs)):
        if w.shape[0] != E or tuple(b.shape) != (E, w.shape[1]) or (l and w.shape[2] != Ws[l - 1].shape[1]):
            raise ValueError(f"{name}: layer {l} (W {tuple(w.shape)}, b {tuple(b.shape)}) does not follow the "
                             "previous layer or has another number of networks")
    if finite and not all(bool(torch.isfinite(t).all()) for t in (*Ws, *bs)):
        raise ValueError(f"{name} must have finite weights and biases (some are NaN or inf)")
    return net


def init_mlp(n_in: int, width: int, depth: int = 1, n_out: int = 1, *, n_networks: int = 1,
             activation: str = "relu", W_std: float = 1.0, b_std: float = 0.0, seed: int = 0,
             device=None, dtype: torch.dtype = torch.float64) -> MLP:
    """E = ``n_networks`` MLPs with ``depth`` hidden layers of ``width`` units, standard-normal weights."""
    return _init_mlp(*_check_mlp(n_in, width, depth, n_out, n_networks, activation, W_std, b_std, seed, device, dtype))


def _check_mlp(n_in, width, depth, n_out, n_networks, activation, W_std, b_std, seed, device, dtype) -> tuple:
    """The arguments of :func:`init_mlp`, validated, as those of :func:`_init_mlp` (``seed`` seeds the generator)."""
    if isinstance(activation, str) and activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {ACTIVATIONS}")
    activation = _v.as_choice(activation, "activation", ACTIVATIONS)
    n_in, width, depth, n_out, n_networks = (
        _v.as_int(v, name, low=lo, high=hi) for name, v, lo, hi in
        (("n_in", n_in, 1, None), ("width", width, 1, None), ("depth", depth, 0, DEPTH_MAX), ("n_out", n_out, 1, None),
         ("n_networks", n_networks, 1, None)))
    W_std = _v.as_float(W_std, "W_std", low=0.0, open_low=True)
    b_std = _v.as_float(b_std, "b_std", low=0.0)
    device = resolve_device(device)
    dtype = resolve_dtype(dtype)
    g = make_generator(seed, device)
    sizes = [int(n_in)] + [int(width)] * int(depth) + [int(n_out)]
    check_entries(int(n_networks) * sum(a * b for a, b in zip(sizes[1:], sizes[:-1])),
                  f"the weights of n_networks = {n_networks} MLPs of width {width}, depth {depth}")
    return sizes, int(n_networks), activation, float(W_std), float(b_std), g, device, dtype


def _init_mlp(sizes: list[int], E: int, activation: str, W_std: float, b_std: float, g: torch.Generator, device,
              dtype) -> MLP:
    """:func:`init_mlp` on validated arguments: ``sizes`` the widths of every layer, input first."""
    Ws = [torch.randn(E, sizes[l + 1], sizes[l], generator=g, device=device, dtype=dtype) for l in range(len(sizes) - 1)]
    bs = [torch.randn(E, sizes[l + 1], generator=g, device=device, dtype=dtype) for l in range(len(sizes) - 1)]
    return MLP(Ws, bs, activation, W_std, b_std)


def _forward(net: MLP, x: torch.Tensor):
    """Pre-activations ``zs`` (L+1 of them, (E, n_l, P)) and layer inputs ``hs`` (h^0 = x, ...)."""
    hs, zs = [x], []
    h = x
    for l, (W, b) in enumerate(zip(net.Ws, net.bs)):
        c = net.W_std / math.sqrt(W.shape[-1])
        z = c * torch.matmul(W, h) + net.b_std * b.unsqueeze(-1)
        zs.append(z)
        if l < len(net.Ws) - 1:
            h = _phi(z, net.activation)
            hs.append(h)
    return zs, hs


def forward(net: MLP, x) -> torch.Tensor:
    """Outputs ``f(x)`` of every network, shape (E, N_out, P), for inputs x of shape (N_in, P)."""
    W0 = _check_net(net).Ws[0]
    x = as_tensor(_check_x(x, "x"), device=W0.device, dtype=W0.dtype)
    if x.shape[0] != W0.shape[-1]:
        raise ValueError(f"x has {x.shape[0]} features but the networks take {W0.shape[-1]}")
    return _forward(net, x)[0][-1]


def _deltas(net: MLP, zs, output: int):
    """``delta^l = d f_output / d z^l`` for l = 1..L+1, each (E, n_l, P)."""
    E, P = zs[-1].shape[0], zs[-1].shape[-1]
    d = torch.ones(E, 1, P, device=zs[-1].device, dtype=zs[-1].dtype)
    ds = [d]
    W_out = net.Ws[-1][:, output:output + 1, :]
    for l in range(len(net.Ws) - 1, 0, -1):
        W = W_out if l == len(net.Ws) - 1 else net.Ws[l]
        c = net.W_std / math.sqrt(W.shape[-1])
        d = _dphi(zs[l - 1], net.activation) * (c * torch.matmul(W.transpose(-1, -2), d))
        ds.append(d)
    return ds[::-1]


def empirical_kernels(net: MLP, x1, x2=None, *, output: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Empirical NNGP (readout conditional covariance) and NTK of output ``output``, each (E, P1, P2).

    Exact for each finite network (module docstring); both converge to
    :func:`idealnets.theory.ntk.kernels` as the width grows, with fluctuations ~ 1/sqrt(width).
    """
    W0 = _check_net(net).Ws[0]
    output = _v.as_int(output, "output", low=0, high=net.Ws[-1].shape[1] - 1)
    x1t = as_tensor(_check_x(x1, "x1"), device=W0.device, dtype=W0.dtype)
    x2t = None if x2 is None else as_tensor(_check_x(x2, "x2"), device=W0.device, dtype=W0.dtype)
    for x in (x1t, x1t if x2t is None else x2t):
        if x.shape[0] != W0.shape[-1]:
            raise ValueError(f"inputs have {x.shape[0]} features but the networks take {W0.shape[-1]}")
    return _empirical_kernels(net, x1t, x2t, output)


def _empirical_kernels(net: MLP, x1t: torch.Tensor, x2t: torch.Tensor | None, output: int):
    """:func:`empirical_kernels` on validated inputs, tensors on the networks' device (``x2t = None``: x1 again)."""
    with torch.no_grad():
        z1, h1 = _forward(net, x1t)
        z2, h2 = (z1, h1) if x2t is None else _forward(net, x2t)
        d1 = _deltas(net, z1, output)
        d2 = d1 if x2t is None else _deltas(net, z2, output)
        w2, b2 = net.W_std**2, net.b_std**2

        def gram(a, b):
            return torch.matmul(a.transpose(-1, -2), b)

        ntk = 0
        for l in range(len(net.Ws)):
            n_prev = net.Ws[l].shape[-1]
            ntk = ntk + gram(d1[l], d2[l]) * (w2 / n_prev * gram(h1[l], h2[l]) + b2)
        nngp = w2 / h1[-1].shape[-2] * gram(h1[-1], h2[-1]) + b2
    return nngp, ntk


def train(x_train, y_train, *, width: int, depth: int = 1, activation: str = "relu", n_networks: int = 8,
          lr: float, steps: int, x_test=None, W_std: float = 1.0, b_std: float = 0.0, centered: bool = False,
          record: int | Iterable[int] = 50, log: bool = True, seed: int = 0, device=None,
          dtype: torch.dtype = torch.float64, desc: str | None = None) -> Run:
    """Initialise an ensemble (:func:`init_mlp`) and train it by full-batch GD (:func:`train_from`).

    x_train : (N_in, P), y_train : (N_out, P) (or (P,)), x_test : (N_in, P_test) or None.
    """
    x_train = _check_x(x_train, "x_train")
    y = _as_targets(y_train)
    init = _check_mlp(x_train.shape[0], width, depth, y.shape[0], n_networks, activation, W_std, b_std, seed, device,
                      dtype)
    _check_samples(y, x_train, np.shape(y))
    lr, steps, centered, x_test = _check_options(lr, steps, centered, x_test, x_train)
    return _train_from(_init_mlp(*init), x_train, y, lr, steps, x_test, centered, record, log,
                       as_desc(desc) or f"NTK MLP width {width}")


def _as_targets(y_train) -> np.ndarray:
    """``y_train`` as a finite (N_out, P) array ((P,) is one output)."""
    y = _v.as_array(y_train, "y_train", ndim=(1, 2))
    return y[None, :] if y.ndim == 1 else y


def _check_samples(y: np.ndarray, x_train: np.ndarray, shown) -> None:
    if y.shape[1] != x_train.shape[1]:
        raise ValueError(f"y_train must be (N_out, P) with P = {x_train.shape[1]}, got shape {shown}")


def _check_options(lr, steps, centered, x_test, x_train: np.ndarray) -> tuple:
    """``lr``, ``steps``, ``centered`` and ``x_test`` (None or (N_in, P_test) like ``x_train``), validated."""
    lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
    steps = _v.as_int(steps, "steps", low=0)
    centered = _v.as_bool(centered, "centered")
    if x_test is not None:
        x_test = _check_x(x_test, "x_test")
        if x_test.shape[0] != x_train.shape[0]:
            raise ValueError(f"x_test has {x_test.shape[0]} features but x_train has {x_train.shape[0]}")
    return lr, steps, centered, x_test


class NTKGD:
    r"""Full-batch GD of an ensemble of NTK-parameterised MLPs on the mean squared loss, as an engine model.

    State: the :class:`MLP` itself, updated in place (backpropagation written out). Records the
    loss, the outputs on the training inputs (``"f_train"``) and, with test inputs, on those
    (``"f_test"``); ``f0_train``/``f0_test`` are subtracted (the centred model) when given.
    :func:`train_from` runs it with divergence at ``BLOWUP`` times the initial loss (a wider
    margin than the engine's default, so that transient growth of a wide network's loss is not
    taken for divergence).
    """

    name = "NTK MLP GD"

    def __init__(self, net: MLP, xt, yt, xs, f0_train, f0_test, lr: float):
        self.net, self.xt, self.yt, self.xs, self.f0_train, self.f0_test = net, xt, yt, xs, f0_train, f0_test
        self.lr, self.P = lr, xt.shape[-1]

    def init(self):
        return self.net

    def observe(self, net):
        f = _forward(net, self.xt)[0][-1] - self.f0_train
        res = f - self.yt  # (E, N_out, P)
        loss = 0.5 * (res * res).sum((-2, -1)) / self.P
        out = {"loss": loss, "f_train": f}
        if self.xs is not None:
            out["f_test"] = _forward(net, self.xs)[0][-1] - self.f0_test
        return out

    def step(self, net, k):
        zs, hs = _forward(net, self.xt)
        res = (zs[-1] - self.f0_train) - self.yt
        g = res / self.P  # dL/df
        lr = self.lr
        for l in range(len(net.Ws) - 1, -1, -1):
            W = net.Ws[l]
            c = net.W_std / math.sqrt(W.shape[-1])
            gW = c * torch.matmul(g, hs[l].transpose(-1, -2))
            gb = net.b_std * g.sum(-1)
            if l > 0:
                g = _dphi(zs[l - 1], net.activation) * (c * torch.matmul(W.transpose(-1, -2), g))
            net.Ws[l] = W - lr * gW
            net.bs[l] = net.bs[l] - lr * gb
        return net


@renamed_keywords(net="W0")
def train_from(W0: MLP, x_train, y_train, *, lr: float, steps: int, x_test=None, centered: bool = False,
               record: int | Iterable[int] = 50, log: bool = True, desc: str = "NTK MLP") -> Run:
    """Full-batch GD on ``L = (1/2P) sum_mu ||f(x_mu) - y_mu||^2`` for every network of ``W0`` at once.

    ``W0``: the initial ensemble (an :class:`MLP`, see :func:`init_mlp`; the keyword ``net``
    is its deprecated name). It is modified in place (it holds the final weights afterwards).
    Records outputs and losses at ``record`` log-spaced steps (or the given step indices).
    Returns a :class:`~idealnets.simulate.Run` (times ``t = lr * step``): ``losses`` (E, R)
    the training loss (``loss`` is its deprecated name), ``f_train`` (E, R, N_out, P) and
    ``f_test`` (E, R, N_out, P_test; None without ``x_test``) the outputs, ``ntk_init`` and
    ``ntk_final`` (E, P, P) the empirical NTK (output 0) on the training inputs at
    initialisation and after the last step, ``lr`` and ``lr_max``.
    Raises :class:`~idealnets.simulate.DivergenceError`, naming ``lr`` and the stable limit
    ``2P/lambda_max`` of the mean empirical NTK at initialisation, when a recorded
    output is not finite or the loss exceeds ``BLOWUP`` times its initial value.
    """
    net = _check_net(W0, "W0", finite=True)
    W_first = net.Ws[0]
    x_train = _check_x(x_train, "x_train")
    y = _as_targets(y_train)
    _check_samples(y, x_train, np.shape(y_train))
    if x_train.shape[0] != W_first.shape[-1] or y.shape[0] != net.Ws[-1].shape[1]:
        raise ValueError(f"the networks map {W_first.shape[-1]} -> {net.Ws[-1].shape[1]} but the data are "
                         f"{x_train.shape[0]} -> {y.shape[0]}")
    lr, steps, centered, x_test = _check_options(lr, steps, centered, x_test, x_train)
    return _train_from(net, x_train, y, lr, steps, x_test, centered, record, log, desc)


def _train_from(net: MLP, x_train: np.ndarray, y: np.ndarray, lr: float, steps: int, x_test: np.ndarray | None,
                centered: bool, record, log: bool, desc: str) -> Run:
    """:func:`train_from` on validated arguments (``y`` (N_out, P); ``net`` is trained in place)."""
    W_first = net.Ws[0]
    device, dtype = W_first.device, W_first.dtype
    P = x_train.shape[1]
    xt = as_tensor(x_train, device=device, dtype=dtype)
    yt = as_tensor(y, device=device, dtype=dtype)
    xs = None if x_test is None else as_tensor(x_test, device=device, dtype=dtype)

    _, ntk0 = _empirical_kernels(net, xt, None, 0)
    lam_max = float(torch.linalg.eigvalsh(ntk0.mean(0))[-1])
    lr_max = 2.0 * P / lam_max if lam_max > 0 else float("inf")  # a zero kernel (e.g. zero inputs): nothing moves
    with torch.no_grad():
        f0_tr = _forward(net, xt)[0][-1] if centered else 0.0
        f0_te = _forward(net, xs)[0][-1] if (centered and xs is not None) else 0.0
    model = NTKGD(net, xt, yt, xs, f0_tr, f0_te, lr)
    run = engine.run(model, steps=steps, record=record, log=log, time_per_step=lr, time_unit="t = lr * step",
                     loss_name="training loss", lr=lr, lr_max=lr_max, what="the training loss",
                     divergence_factor=BLOWUP, desc=desc, renamed={"loss": "losses"})
    _, ntk1 = _empirical_kernels(net, xt, None, 0)
    run.extras.update(ntk_init=ntk0.cpu().numpy(), ntk_final=ntk1.cpu().numpy(), lr=float(lr), lr_max=lr_max)
    if xs is None:
        run.extras["f_test"] = None
    return run
