r"""Online SGD of committee machines on actual hidden-manifold data (Goldt, Mézard, Krzakala & Zdeborová 2020).

The network side of :mod:`idealnets.theory.hidden_manifold` (docs: Structured inputs and replay, "Hidden
manifold"): each step draws latent variables ``c ~ N(0, I_D)`` per network, forms the input
``x = f(F^T c / sqrt D)`` with the fixed features ``F`` (D, N), labels it with the latent teacher
``y = sum_m v*_m g(w~_m . c / sqrt D)`` and takes one SGD step in the conventions of
:mod:`idealnets.simulate.committee` (``w_k <- w_k - (lr/sqrt N) v_k Delta g'(lambda_k) x``,
``v_k <- v_k - (lr_v/N) Delta g(lambda_k)`` when the second layer trains).
"""
from __future__ import annotations

import numpy as np
import torch

from idealnets.theory import validation as _v
from idealnets.theory.hidden_manifold import FEATURE_MAPS, HM_ACTIVATIONS

from . import engine
from ._common import as_input, make_generator, resolve_device, resolve_dtype
from .engine import Run

__all__ = ["hidden_manifold_features", "train_hidden_manifold", "HiddenManifoldSGD"]

_F = {"sign": torch.sign, "erf": lambda z: torch.erf(z / np.sqrt(2.0)), "tanh": torch.tanh, "linear": lambda z: z}


def hidden_manifold_features(D: int, N: int, *, seed: int = 0) -> np.ndarray:
    """Gaussian features ``F`` (D, N), i.i.d. N(0, 1) entries (so ``|F_i|^2 / D ~ 1``), drawn with NumPy's
    generator ``seed``."""
    D = _v.as_int(D, "D", low=1, high=20000)
    N = _v.as_int(N, "N", low=1, high=10**6)
    return np.random.default_rng(_v.as_seed(seed)).standard_normal((D, N))


def train_hidden_manifold(W0, F, W_tilde, *, lr: float, alpha_max: float, v0=None, v_star=None,
                          feature_map: str = "sign", activation: str = "erf", train_second_layer: bool = False,
                          lr_v: float | None = None, record: int = 30, n_test: int = 0, seed: int = 0,
                          device=None, dtype=torch.float64) -> Run:
    r"""Online SGD of E committees (``W0`` (E, K, N)) on hidden-manifold data with features ``F`` (D, N) and the
    latent teacher ``W_tilde`` (M, D) (module docstring), for ``round(alpha_max N)`` steps.

    Returns a :class:`~idealnets.simulate.Run`: ``times`` (``alpha = step / N``); ``losses`` (E, R) the test error
    ``(1/2) mean (phi - y)^2`` on ``n_test`` fresh samples drawn once (nan with ``n_test = 0``); ``state``:
    ``s`` (E, R, K, D) the projected weights ``F w_k / sqrt N``, ``W`` (E, R, K, K) ``= w_k.w_l / N``,
    ``v`` (E, R, K); ``extras``: ``N``, ``D``, ``lr``, ``feature_map``, ``activation``. The spectral order
    parameters of :func:`idealnets.theory.hidden_manifold.hidden_manifold_state` follow from ``s``.
    """
    feature_map = _v.as_choice(feature_map, "feature_map", FEATURE_MAPS)
    activation = _v.as_choice(activation, "activation", HM_ACTIVATIONS)
    lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
    lr_v = lr if lr_v is None else _v.as_float(lr_v, "lr_v", low=0.0)
    alpha_max = _v.as_float(alpha_max, "alpha_max", low=0.0, open_low=True)
    train_second_layer = _v.as_bool(train_second_layer, "train_second_layer")
    n_test = _v.as_int(n_test, "n_test", low=0, high=10**6)
    seed = _v.as_seed(seed)
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    W = as_input(W0, "W0", device=device, dtype=dtype, ndim=3).clone()
    E, K, N = W.shape
    Fm = as_input(F, "F", device=device, dtype=dtype, ndim=2)
    D = Fm.shape[0]
    if Fm.shape[1] != N:
        raise ValueError(f"F must be (D, N = {N}), got {tuple(Fm.shape)}")
    Wt = as_input(W_tilde, "W_tilde", device=device, dtype=dtype, ndim=2)
    if Wt.shape[1] != D:
        raise ValueError(f"W_tilde must be (M, D = {D}), got {tuple(Wt.shape)}")
    M = Wt.shape[0]
    vs = torch.ones(M, device=device, dtype=dtype) if v_star is None else as_input(v_star, "v_star", device=device,
                                                                                     dtype=dtype, shape=(M,))
    v = torch.ones(E, K, device=device, dtype=dtype) if v0 is None else as_input(
        v0, "v0", device=device, dtype=dtype, ndim=(1, 2)).expand(E, K).clone()
    steps = int(round(alpha_max * N))
    if steps < 1:
        raise ValueError(f"alpha_max * N = {alpha_max * N:g} is less than one step")
    model = HiddenManifoldSGD(W, v, Fm, Wt, vs, lr=lr, lr_v=lr_v if train_second_layer else 0.0,
                              feature_map=feature_map, activation=activation, n_test=n_test,
                              generator=make_generator(seed, device))
    run = engine.run(model, steps=steps, record=record, steps_per_time=N, time_unit="alpha = step / N",
                     loss_name="test error on fresh hidden-manifold samples", lr=lr, what="tr W",
                     desc="hidden-manifold SGD", progress_bar=False,
                     extras=dict(N=N, D=D, lr=lr, feature_map=feature_map, activation=activation))
    run.losses = run.state.pop("test_error")
    return run


class HiddenManifoldSGD:
    """Online SGD on hidden-manifold data as an engine model (latent samples drawn in chunks of 256 steps)."""

    name = "hidden-manifold SGD"
    chunk = 256

    def __init__(self, W, v, F, Wt, vs, *, lr, lr_v, feature_map, activation, n_test, generator):
        self.W0, self.v0, self.F, self.Wt, self.vs = W, v, F, Wt, vs
        self.E, self.K, self.N = W.shape
        self.D = F.shape[0]
        self.lr, self.lr_v, self.gen = lr, lr_v, generator
        self.f = _F[feature_map]
        self.g = {"erf": lambda z: torch.erf(z / np.sqrt(2.0)), "linear": lambda z: z}[activation]
        self.dg = {"erf": lambda z: np.sqrt(2.0 / np.pi) * torch.exp(-0.5 * z * z), "linear": torch.ones_like}[
            activation]
        self.test = None
        if n_test:
            c = torch.randn(n_test, self.D, generator=generator, device=W.device, dtype=W.dtype)
            self.test = self._sample(c)

    def _sample(self, c):
        """Inputs and labels of latent samples ``c`` (..., D)."""
        sqD = float(np.sqrt(self.D))
        x = self.f(c @ self.F / sqD)
        y = (self.g(c @ self.Wt.T / sqD) * self.vs).sum(-1)
        return x, y

    def init(self):
        return {"W": self.W0.clone(), "v": self.v0.clone(), "X": None}

    def observe(self, st) -> dict:
        W, v, N = st["W"], st["v"], self.N
        out = {"loss": torch.diagonal(W @ W.transpose(1, 2), dim1=1, dim2=2).sum(1) / N,
               "s": W @ self.F.T / float(np.sqrt(N)), "W": W @ W.transpose(1, 2) / N, "v": v.clone()}
        if self.test is not None:
            x, y = self.test
            phi = (self.g(torch.einsum("ekn,pn->epk", W, x) / float(np.sqrt(N))) * v[:, None, :]).sum(-1)
            out["test_error"] = 0.5 * ((phi - y) ** 2).mean(-1)
        else:
            out["test_error"] = torch.full((self.E,), float("nan"), dtype=W.dtype, device=W.device)
        return out

    def step(self, st, k: int):
        return self.advance(st, k, 1, lambda m: None)

    def advance(self, st, start: int, n: int, tick):
        W, v, N, g, dg = st["W"], st["v"], self.N, self.g, self.dg
        sqN = float(np.sqrt(N))
        lr, lr_v = self.lr, self.lr_v
        for step in range(start, start + n):
            if step % self.chunk == 0 or st["X"] is None:
                c = torch.randn(self.chunk, self.E, self.D, generator=self.gen, device=W.device, dtype=W.dtype)
                st["X"], st["Y"] = self._sample(c)  # (c, E, N), (c, E)
            i = step % self.chunk
            x, y = st["X"][i], st["Y"][i]
            lam = torch.bmm(W, x[:, :, None])[:, :, 0] / sqN
            gl = g(lam)
            delta = (v * gl).sum(-1) - y
            W -= (lr / sqN) * (v * delta[:, None] * dg(lam))[:, :, None] * x[:, None, :]
            if lr_v > 0:
                v -= (lr_v / N) * delta[:, None] * gl
        tick(n)
        return st
