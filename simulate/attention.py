r"""Multi-head linear self-attention trained by gradient descent on in-context linear regression.

The model of :mod:`idealnets.theory.attention` (Zhang, Singh, Latham & Saxe 2025), as an engine
model: an ensemble of ``E`` networks, each ``H`` heads acting on the tokens
``X = [[x_1 ... x_N x_q], [y_1 ... y_N 0]]`` (``(D+1, N+1)``, examples as columns),

``ATTN(X) = X + sum_i (1/N) W^V_i X X^T W^KQ_i X``, with ``W^KQ_i`` a full ``(D+1, D+1)`` matrix
(``parametrization="merged"``) or ``W^K_i^T W^Q_i`` with ``W^K_i, W^Q_i`` of shape ``(rank, D+1)``
(``"separate"``). The prediction is the last entry of the query's column; the loss
``(yhat - y_q)^2 / 2``. All weight matrices are trained (full ``(D+1) x (D+1)`` blocks), by plain
gradient descent on fresh batches of ``batch_size`` prompts per step (online), or on a fixed set of
``train_set_size`` prompts per network (full batch, the peer implementation's setting), so that
the two can be compared. Times are ``t = lr * step`` (gradient flow). (docs: Attention and
in-context learning, "Trained networks")
"""
from __future__ import annotations

import numpy as np
import torch

from idealnets.theory import validation as _v
from idealnets.theory.attention import InContextTask, MergedKQTheory, SeparateKQTheory

from . import engine
from .engine import Run

__all__ = ["train_linear_attention", "LinearAttentionGD", "sample_prompts", "PARAMETRIZATIONS", "INITS",
           "BATCH_MAX"]

PARAMETRIZATIONS = ("merged", "separate")
INITS = ("aligned", "random")
#: Largest batch (prompts per network and step) and fixed training set accepted.
BATCH_MAX = 2**20


def sample_prompts(task: InContextTask, shape, *, generator: torch.Generator, device, dtype):
    """Draw prompts: ``X`` (``shape + (D, N+1)``, the query last), ``y`` (``shape + (N+1,)``, the
    query's label included) and ``w`` (``shape + (D,)``), with ``x ~ N(0, Lambda)``, ``w ~ N(0, I)``.

    The standard normals are drawn in float32 and cast to ``dtype`` (torch's float64 sampler is
    about 8x slower on CPU, and sampling precision does not matter here); the arithmetic after
    that is in ``dtype``."""
    D, N = task.D, task.N
    chol = torch.as_tensor(np.linalg.cholesky(task.Lambda), device=device, dtype=dtype)
    f32 = dict(generator=generator, device=device, dtype=torch.float32)
    X = chol @ torch.randn(*shape, D, N + 1, **f32).to(dtype)
    w = torch.randn(*shape, D, **f32).to(dtype)
    y = torch.einsum("...d,...dn->...n", w, X)
    return X, y, w


def _sample_stats(task: InContextTask, shape, *, generator, device, dtype):
    """What the network sees of fresh prompts, drawn directly: the token second moments
    ``C = X X^T / N`` ``(shape, D+1, D+1)`` (context and query tokens, the query's label 0), the query
    token ``zq`` and its label ``y_q``. Same distribution as building them from :func:`sample_prompts`
    (``C_xx = S + x_q x_q^T/N``, ``C_xy = S w``, ``C_yy = w^T S w`` with ``S`` the context's
    ``sum x x^T / N``), without materialising the ``N`` labels."""
    D, N = task.D, task.N
    chol = torch.as_tensor(np.linalg.cholesky(task.Lambda), device=device, dtype=dtype)
    f32 = dict(generator=generator, device=device, dtype=torch.float32)
    Zc = torch.randn(*shape, D, N, **f32)
    S = chol @ (Zc @ Zc.transpose(-1, -2)).to(dtype) @ chol.T / N
    xq = (chol @ torch.randn(*shape, D, 1, **f32).to(dtype))[..., 0]
    w = torch.randn(*shape, D, **f32).to(dtype)
    Sw = (S @ w.unsqueeze(-1))[..., 0]
    C = torch.zeros(*shape, D + 1, D + 1, device=device, dtype=dtype)
    C[..., :D, :D] = S + xq.unsqueeze(-1) * xq.unsqueeze(-2) / N
    C[..., :D, D] = Sw
    C[..., D, :D] = Sw
    C[..., D, D] = (w * Sw).sum(-1)
    zq = torch.cat([xq, torch.zeros(*shape, 1, device=device, dtype=dtype)], dim=-1)
    return C, zq, (w * xq).sum(-1)


def _stats_of(task: InContextTask, X, y):
    """``(C, zq, y_q)`` of explicit prompts ``X`` ``(..., D, N+1)``, ``y`` ``(..., N+1)``."""
    yin = y.clone()
    yin[..., -1] = 0.0
    Z = torch.cat([X, yin.unsqueeze(-2)], dim=-2)
    return Z @ Z.transpose(-1, -2) / task.N, Z[..., -1], y[..., -1]


class LinearAttentionGD:
    """Gradient descent on an ensemble of multi-head linear attention networks, as an engine model.

    State: a dict of weight tensors with the ensemble leading: ``"V"`` ``(E, H, D+1, D+1)`` and
    ``"KQ"`` ``(E, H, D+1, D+1)`` (merged) or ``"K"``, ``"Q"`` ``(E, H, rank, D+1)`` (separate).
    Records ``"loss"``: the population loss of the network's effective predictor ``beta`` (exact on
    the invariant subspace where the mixed ``x/y`` blocks vanish, held there unless ``train_mixed``;
    their size is recorded as ``"off_subspace"``); ``"test_loss"``: the network's own output on a fixed held-out set of prompts;
    ``"beta"`` ``(E, D, D)``; and with a fixed training set ``"train_loss"``.
    """

    name = "linear_attention"

    def __init__(self, task: InContextTask, W0: dict, *, parametrization: str, lr: float, batch_size: int,
                 train_set, test_set, generator: torch.Generator, train_mixed: bool = False):
        self.task, self.W0, self.kind, self.lr, self.batch = task, W0, parametrization, lr, batch_size
        self.train_mixed = train_mixed
        self.g, self.train_set, self.test_set = generator, train_set, test_set
        ref = W0["V"]
        self.Qe = torch.as_tensor(task.eigenvectors, device=ref.device, dtype=ref.dtype)
        self.lam = torch.as_tensor(task.eigenvalues, device=ref.device, dtype=ref.dtype)
        self.gvec = torch.as_tensor(task.g, device=ref.device, dtype=ref.dtype)
        self.bvec = torch.as_tensor(task.b, device=ref.device, dtype=ref.dtype)

    def init(self):
        return {k: v.clone() for k, v in self.W0.items()}

    def _kq(self, W):
        if self.kind == "merged":
            return W["KQ"]
        return W["K"].transpose(-1, -2) @ W["Q"]  # (E, H, D+1, D+1)

    def predict(self, W, X, y):
        """Prediction at the query for prompts ``X`` ``(E, B, D, N+1)``, labels ``y`` ``(E, B, N+1)``
        (the query's label, last, is not shown to the network)."""
        C, zq, _ = _stats_of(self.task, X, y)
        return self._predict(W, C, zq)

    def _predict(self, W, C, zq):
        """Prediction from the token second moments ``C = X X^T / N`` ``(E, B, D+1, D+1)`` and the
        query token ``zq`` ``(E, B, D+1)``: the last entry of ``sum_i W^V_i C W^KQ_i zq``."""
        D = self.task.D
        # sum over heads first: yhat = sum_{jkl} C_jk zq_l T_jkl, T_jkl = sum_i V_i[D, j] KQ_i[k, l]
        T = torch.einsum("ehj,ehkl->ejkl", W["V"][:, :, D, :], self._kq(W))
        E, B = C.shape[:2]
        M = C.reshape(E, B, -1) @ T.reshape(E, (D + 1) ** 2, D + 1)  # (E, B, D+1)
        return (M * zq).sum(-1)

    def _batch_loss(self, W, data):
        C, zq, yq = data
        return 0.5 * ((self._predict(W, C, zq) - yq) ** 2).mean(-1)  # (E,)

    def step(self, W, k):
        if self.train_set is not None:
            data = self.train_set
        else:
            E = W["V"].shape[0]
            data = _sample_stats(self.task, (E, self.batch), generator=self.g, device=W["V"].device,
                                 dtype=W["V"].dtype)
        params = list(W.values())
        with torch.enable_grad():
            for p in params:
                p.requires_grad_(True)
            loss = self._batch_loss(W, data).sum()
            grads = torch.autograd.grad(loss, params)
        for p, gr in zip(params, grads):
            p.requires_grad_(False)
            p.sub_(self.lr * gr)
        if not self.train_mixed:
            self._zero_mixed(W)
        return W

    def _zero_mixed(self, W):
        """Hold the mixed blocks at 0: the value's ``x -> y`` row block and the key-query's ``y``-row
        (merged) or the key's ``y``-column (separate). They form a second path to the same predictor
        class (``yhat = h^T a c^T x_q`` plus pure-noise terms); from exactly 0 gradient flow keeps them
        there, but the noise of finite batches seeds them and they grow (docs: "Trained networks")."""
        D = self.task.D
        W["V"][:, :, D, :D] = 0.0
        if self.kind == "merged":
            W["KQ"][:, :, D, :D] = 0.0
        else:
            W["K"][:, :, :, D] = 0.0

    def beta(self, W):
        """Effective predictor ``sum_i v_i M_i`` (``(E, D, D)``), ``yhat = h^T beta x_q`` on the subspace."""
        D = self.task.D
        return torch.einsum("eh,ehij->eij", W["V"][:, :, D, D], self._kq(W)[:, :, :D, :D])

    def population_loss(self, beta):
        bt = self.Qe.T @ beta @ self.Qe
        diag = torch.diagonal(bt, dim1=-2, dim2=-1)
        curv = torch.einsum("eij,i,j->e", bt**2, self.gvec, self.lam)
        return 0.5 * (self.task.trace - 2.0 * (diag * self.bvec).sum(-1) + curv)

    def observe(self, W):
        D = self.task.D
        beta = self.beta(W)
        if self.kind == "merged":
            off = W["V"][:, :, D, :D].pow(2).sum((1, 2)) + W["KQ"][:, :, D, :D].pow(2).sum((1, 2))
        else:
            off = W["V"][:, :, D, :D].pow(2).sum((1, 2)) + W["K"][:, :, :, D].pow(2).sum((1, 2))
        obs = {"loss": self.population_loss(beta), "beta": beta, "off_subspace": off.sqrt(),
               "value": W["V"][:, :, D, D]}
        if self.test_set is not None:
            obs["test_loss"] = self._batch_loss(W, self.test_set)
        if self.train_set is not None:
            obs["train_loss"] = self._batch_loss(W, self.train_set)
        return obs


def _initial_weights(task, parametrization, H, rank, init, init_scale, E, generator, device, dtype):
    D = task.D
    s = init_scale
    kw = dict(device=device, dtype=dtype)
    if init == "random":
        V = s * torch.randn(E, H, D + 1, D + 1, generator=generator, **kw)
        V[:, :, D, :D] = 0.0
        if parametrization == "merged":
            KQ = s * torch.randn(E, H, D + 1, D + 1, generator=generator, **kw)
            KQ[:, :, D, :D] = 0.0
            return {"V": V, "KQ": KQ}
        K = s * torch.randn(E, H, rank, D + 1, generator=generator, **kw)
        Q = s * torch.randn(E, H, rank, D + 1, generator=generator, **kw)
        K[:, :, :, D] = 0.0
        return {"V": V, "K": K, "Q": Q}
    V = torch.zeros(E, H, D + 1, D + 1, **kw)
    V[:, :, D, D] = s
    if parametrization == "merged":
        B = task.Lambda @ task.Lambda
        KQ = torch.zeros(E, H, D + 1, D + 1, **kw)
        KQ[:, :, :D, :D] = torch.as_tensor(s * B / np.linalg.norm(B), **kw)
        return {"V": V, "KQ": KQ}
    vecs = torch.as_tensor(task.eigenvectors, **kw)  # columns
    K = torch.zeros(E, H, rank, D + 1, **kw)
    for i in range(H):
        K[:, i, 0, :D] = s * vecs[:, i % D]
    return {"V": V, "K": K, "Q": K.clone()}


def train_linear_attention(Lambda, N: int, *, parametrization: str = "merged", H: int = 1, rank: int = 1,
                           init_scale: float, init: str = "aligned", lr: float, steps: int,
                           batch_size: int = 1024, train_set_size: int | None = None, n_test: int = 4096,
                           train_mixed: bool = False,
                           n_networks: int = 1, record=50, log: bool = False, seed: int = 0, device=None,
                           dtype=torch.float64, progress_bar: bool | None = None) -> Run:
    r"""Train ``n_networks`` multi-head linear attention networks on in-context linear regression.

    ``Lambda`` (``(D, D)`` or its eigenvalues ``(D,)``) and ``N`` define the task
    (:class:`idealnets.theory.attention.InContextTask`). ``parametrization``: ``"merged"`` key-query
    or ``"separate"`` key and query of rank ``rank``. ``init``: ``"aligned"`` (the theory's
    initialisation: merged heads ``v = init_scale``, ``K = init_scale Lambda^2/|Lambda^2|``; separate
    head ``i`` on eigenvector ``i mod D``, ``v = |k| = |q| = init_scale``; all other entries 0) or
    ``"random"`` (i.i.d. ``N(0, init_scale^2)`` entries, with the mixed blocks that would couple
    ``x`` and ``y`` at the output set to 0 as in the paper). ``lr`` per step; ``steps`` updates on
    fresh batches of ``batch_size`` prompts, or full-batch on a fixed set of ``train_set_size``
    prompts per network when given. ``n_test`` held-out prompts (shared by the ensemble) estimate
    each network's own loss (``0``: none). ``train_mixed``: also train the mixed blocks (the value's
    ``x -> y`` block and the key-query's ``y``-row, or the key's ``y``-column), which the paper's
    analysis sets to 0; by default they are held at 0, so that ``losses`` is exactly each network's
    population loss. When trained, noise of finite batches seeds them and they open a second path
    to the predictor; then only ``"test_loss"`` measures the network, ``losses`` ignores that path.

    Returns a :class:`~idealnets.simulate.engine.Run`: ``times = lr * steps`` (``"t = lr * step"``),
    ``losses`` (E, R) the population loss of each network's effective predictor; ``state``:
    ``"beta"`` (E, R, D, D), ``"test_loss"``, ``"off_subspace"``, ``"value"`` (E, R, H) and
    ``"train_loss"`` with a fixed set; ``extras``: the settings and ``"task"``.
    """
    task = InContextTask(Lambda, N)
    parametrization = _v.as_choice(parametrization, "parametrization", PARAMETRIZATIONS)
    init = _v.as_choice(init, "init", INITS)
    H = _v.as_int(H, "H", low=1, high=4096)
    rank = _v.as_int(rank, "rank", low=1, high=task.D + 1)
    init_scale = _v.as_float(init_scale, "init_scale", low=0.0, high=1e3)
    lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
    steps = _v.as_int(steps, "steps", low=0, high=10**9)
    batch_size = _v.as_int(batch_size, "batch_size", low=1, high=BATCH_MAX)
    if train_set_size is not None:
        train_set_size = _v.as_int(train_set_size, "train_set_size", low=1, high=BATCH_MAX)
    n_test = _v.as_int(n_test, "n_test", low=0, high=BATCH_MAX)
    E = _v.as_int(n_networks, "n_networks", low=1, high=4096)
    train_mixed = _v.as_bool(train_mixed, "train_mixed")
    seed = _v.as_seed(seed)
    if parametrization == "merged" and rank != 1:
        raise ValueError(f"rank = {rank} applies to the separate parametrization only (merged has full W^KQ)")
    if init == "aligned" and parametrization == "separate" and rank != 1:
        raise ValueError(f"init='aligned' is defined for rank = 1 (got rank = {rank}); use init='random'")
    ctx = engine.context(device, dtype, seed)
    W0 = _initial_weights(task, parametrization, H, rank, init, init_scale, E, ctx.generator, ctx.device, ctx.dtype)
    tg = torch.Generator(device=ctx.device).manual_seed(seed + 1_000_003)
    test_set = None
    if n_test:
        C, zq, yq = _sample_stats(task, (1, n_test), generator=tg, device=ctx.device, dtype=ctx.dtype)
        test_set = (C.expand(E, -1, -1, -1), zq.expand(E, -1, -1), yq.expand(E, -1))
    train_set = None
    if train_set_size is not None:
        train_set = _sample_stats(task, (E, train_set_size), generator=ctx.generator, device=ctx.device,
                                  dtype=ctx.dtype)
    theory = (MergedKQTheory(task, H=H, init_scale=max(init_scale, 1e-300)) if parametrization == "merged"
              else SeparateKQTheory(task, H=H, init_scale=0.0))
    model = LinearAttentionGD(task, W0, parametrization=parametrization, lr=lr, batch_size=batch_size,
                              train_set=train_set, test_set=test_set, generator=ctx.generator,
                              train_mixed=train_mixed)
    extras = {"task": task, "parametrization": parametrization, "H": H, "rank": rank, "init": init,
              "init_scale": init_scale, "train_mixed": train_mixed, "lr": lr, "batch_size": batch_size, "train_set_size": train_set_size,
              "seed": seed, "W0": {k: v.cpu().numpy() for k, v in W0.items()}}
    return engine.run(model, steps=steps, record=record, log=log, time_per_step=lr, time_unit="t = lr * step",
                      loss_name="population loss of the effective predictor", lr=lr, lr_max=theory.stable_lr(),
                      what="the in-context regression loss", desc=f"linear attention ({parametrization})",
                      progress_bar=(False if steps < 20000 else None) if progress_bar is None else progress_bar,
                      extras=extras,
                      finish=lambda W: {"final_weights": {k: v.cpu().numpy() for k, v in W.items()}})
