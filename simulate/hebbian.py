r"""Online Hebbian learning of principal components: batched Oja and Sanger networks.

``n_networks`` single-layer networks ``y = W x`` (W: (E, k, N)) learn at once, one fresh input
``x ~ N(0, C)`` per network and step (sample by sample, no batching over inputs):

* ``"oja"`` (subspace rule): ``W <- W + lr (y x^T - y y^T W)``;
* ``"sanger"`` (GHA): ``W <- W + lr (y x^T - LT(y y^T) W)``.

Time is ``t = lr * step``; the mean flow is :mod:`idealnets.theory.hebbian` (Oja 1982, 1989;
Sanger 1989). Records the reconstruction loss ``tr((I - W^T W) C (I - W^T W))/2`` (``"loss"``), the
principal subspace error ``sum_i sin^2 theta_i`` to the top-k eigenspace (``"subspace_error"``)
and, with ``return_weights``, the weights (``"weights"``, (E, R, k, N)). The trainer is a model of
the one training engine (:mod:`idealnets.simulate.engine`) and returns its
:class:`~idealnets.simulate.engine.Run`.
"""
from __future__ import annotations

import numpy as np
import torch

from idealnets.theory import hebbian as _hb
from idealnets.theory import validation as _v

from . import engine
from ._common import as_input, check_entries, resolve_device, resolve_dtype
from .engine import Run

__all__ = ["HebbianOnline", "train_hebbian", "stable_lr", "RULES", "TiedAutoencoderGD", "train_tied_autoencoder"]

RULES = _hb.RULES


def stable_lr(C) -> float:
    r"""The scale of the learning rate above which online updates overshoot: ``1 / tr(C)``.

    One Oja step along a normalised row changes it by ``lr |x|^2`` relative to its size, and
    ``E|x|^2 = tr(C)``; well below this (``lr tr(C) << 1``) the run follows the mean flow with
    an O(lr) gap. Not a sharp threshold: the divergence monitor quotes it.
    """
    C = _hb.as_covariance(C)
    tr = float(np.trace(C))
    if not tr > 0:
        raise ValueError("C has zero trace: the inputs carry no signal")
    return 1.0 / tr


def train_hebbian(C, W0, *, rule: str = "oja", lr: float, steps: int, record=50, log: bool = True,
                  return_weights: bool = False, seed: int = 0, device=None, dtype=torch.float64,
                  progress_bar: bool | None = None) -> Run:
    r"""Train ``n_networks`` Oja or Sanger networks online from ``W0`` ((E, k, N) or (k, N), then E = 1).

    ``C``: the (N, N) input covariance (inputs ``x = C^{1/2} z``, ``z ~ N(0, I)``); ``lr > 0``;
    ``steps`` updates. Returns a :class:`~idealnets.simulate.engine.Run`: ``times = lr * steps``
    (unit ``"t = lr * step"``), ``losses`` (E, R) the reconstruction loss, ``state["subspace_error"]``
    (E, R) and, with ``return_weights``, ``state["weights"]`` (E, R, k, N); ``extras``: ``rule``,
    ``lr``, ``seed``.
    """
    rule = _v.as_choice(rule, "rule", RULES)
    Cn = _hb.as_covariance(C)
    lam, V = np.linalg.eigh(Cn)
    lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
    steps = _v.as_int(steps, "steps", low=0, high=10**9)
    return_weights = _v.as_bool(return_weights, "return_weights")
    seed = _v.as_seed(seed)
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    W = as_input(W0, "W0", device=device, dtype=dtype, ndim=(2, 3))
    if W.dim() == 2:
        W = W[None]
    E, k, N = W.shape
    check_entries(E * (k * N + N * N), f"n_networks = {E} Oja/Sanger networks of shape ({k}, {N})")
    if N != Cn.shape[0] or k > N:
        raise ValueError(f"W0 must have shape (E, k, N) with N = {Cn.shape[0]} and k <= N, got {tuple(W.shape)}")
    order = np.argsort(lam)[::-1]
    lam, V = np.clip(lam[order], 0.0, None), V[:, order]
    root = (V * np.sqrt(lam)) @ V.T
    unique = k == N or lam[k - 1] - lam[k] > 1e-12 * max(lam[0], np.finfo(float).tiny)
    model = HebbianOnline(W, torch.as_tensor(root, device=device, dtype=dtype),
                          torch.as_tensor(Cn, device=device, dtype=dtype),
                          torch.as_tensor(V[:, :k], device=device, dtype=dtype) if unique else None,
                          rule=rule, lr=lr, return_weights=return_weights,
                          generator=torch.Generator(device=device).manual_seed(seed))
    return engine.run(model, steps=steps, record=record, log=log, time_per_step=lr, time_unit="t = lr * step",
                      loss_name="reconstruction loss tr((I - W^T W) C (I - W^T W))/2", lr=lr,
                      lr_max=stable_lr(Cn), what=f"the {rule} reconstruction loss", desc=f"hebbian {rule}",
                      progress_bar=(False if steps < 50000 else None) if progress_bar is None else progress_bar,
                      extras={"rule": rule, "lr": lr, "seed": seed})


class HebbianOnline:
    """Online Oja / Sanger learning of an ensemble, as an engine model (state: W (E, k, N))."""

    name = "hebbian"

    def __init__(self, W0: torch.Tensor, root: torch.Tensor, C: torch.Tensor, Vk: torch.Tensor | None, *,
                 rule: str, lr: float, return_weights: bool, generator: torch.Generator):
        self.W0, self.root, self.C, self.Vk = W0, root, C, Vk
        self.rule, self.lr, self.rw, self.g = rule, lr, return_weights, generator
        k = W0.shape[1]
        self.tril = torch.tril(torch.ones(k, k, device=W0.device, dtype=W0.dtype))

    def init(self):
        return self.W0.clone()

    def observe(self, W):
        E, k, N = W.shape
        R = torch.eye(N, device=W.device, dtype=W.dtype) - W.transpose(-1, -2) @ W
        out = {"loss": 0.5 * torch.einsum("eij,jk,eik->e", R, self.C, R)}
        if self.Vk is not None:
            # sum sin^2 = k - ||B^T Vk||_F^2 with B an orthonormal basis of the row space
            Q, _ = torch.linalg.qr(W.transpose(-1, -2))
            out["subspace_error"] = k - ((Q.transpose(-1, -2) @ self.Vk) ** 2).sum((-2, -1))
        if self.rw:
            out["weights"] = W.clone()
        return out

    def step(self, W, k):
        E, kk, N = W.shape
        z = torch.randn(E, N, 1, generator=self.g, device=W.device, dtype=W.dtype)
        x = self.root @ z  # (E, N, 1)
        y = W @ x  # (E, k, 1)
        yy = y @ y.transpose(-1, -2)
        if self.rule == "sanger":
            yy = yy * self.tril
        W += self.lr * (y @ x.transpose(-1, -2) - yy @ W)
        return W


def train_tied_autoencoder(X, W0, *, lr: float, steps: int, record=50, log: bool = True,
                           device=None, dtype=torch.float64) -> Run:
    r"""Full-batch gradient descent on a tied linear autoencoder ``xhat = W^T W x`` (W: (E, k, N) or (k, N)).

    The loss ``L = (1/2P) sum |x - W^T W x|^2`` depends on the data through ``C = X X^T/P``; its
    descent direction is ``W (E + E^T)`` with ``E = C - W^T W C`` (docs: Local learning rules, "Linear
    autoencoders"). Time ``t = lr * step``. Returns a :class:`~idealnets.simulate.engine.Run` with
    ``losses`` the reconstruction loss and ``state["maps"]`` the total maps ``W^T W`` (E, R, N, N).
    """
    X = _v.as_array(X, "X", ndim=2)
    C = X @ X.T / X.shape[1]
    lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
    steps = _v.as_int(steps, "steps", low=0, high=10**9)
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    W = as_input(W0, "W0", device=device, dtype=dtype, ndim=(2, 3))
    if W.dim() == 2:
        W = W[None]
    if W.shape[-1] != C.shape[0]:
        raise ValueError(f"W0 must have N = {C.shape[0]} columns (the rows of X), got {tuple(W.shape)}")
    lmax = float(np.linalg.eigvalsh(C)[-1])
    if not lmax > 0:
        raise ValueError("X is all zeros: there is nothing to reconstruct")
    model = TiedAutoencoderGD(W, torch.as_tensor(C, device=device, dtype=dtype), lr)
    return engine.run(model, steps=steps, record=record, log=log, time_per_step=lr, time_unit="t = lr * step",
                      loss_name="reconstruction loss (1/2P) sum |x - W^T W x|^2", lr=lr, lr_max=1.0 / (2 * lmax),
                      what="the tied autoencoder loss", desc="tied autoencoder", progress_bar=False,
                      extras={"lr": lr})


class TiedAutoencoderGD:
    """Full-batch GD of tied linear autoencoders ``W^T W`` (state W (E, k, N)), as an engine model."""

    name = "tied_autoencoder"

    def __init__(self, W0: torch.Tensor, C: torch.Tensor, lr: float):
        self.W0, self.C, self.lr = W0, C, lr

    def init(self):
        return self.W0.clone()

    def observe(self, W):
        M = W.transpose(-1, -2) @ W
        R = torch.eye(M.shape[-1], device=W.device, dtype=W.dtype) - M
        return {"loss": 0.5 * torch.einsum("eij,jk,eik->e", R, self.C, R), "maps": M}

    def step(self, W, k):
        M = W.transpose(-1, -2) @ W
        Er = self.C - M @ self.C
        W += self.lr * W @ (Er + Er.transpose(-1, -2))
        return W
