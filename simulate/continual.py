"""Batched full-batch gradient descent through a curriculum of tasks (continual learning).

Trains ensembles of two-layer linear networks (and, as a qualitative check, two-layer ReLU/tanh
networks) on the schedules of :mod:`idealnets.theory.continual`, and shallow linear students on sequences
of regression tasks (Evron et al. 2022). Weights are batched (E, out, in) tensors; one Python loop
over steps; recordings at chosen steps only; divergence checked there (simulate/_common.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from idealnets.theory import validation as _v
from idealnets.theory.continual import _check_order, _check_regression, _parse_schedule, _parse_tasks, mixture_correlations

from ._common import (DivergenceMonitor, as_input, make_generator, progress, record_steps, resolve_device,
                      resolve_dtype)

__all__ = ["CurriculumRun", "ShallowRun", "TwoTeacherRun", "train_curriculum", "train_shallow_curriculum",
           "train_sequential_regression", "teacher_pair_weights", "train_two_teachers"]


@dataclass
class CurriculumRun:
    """Result of :func:`train_curriculum` (NumPy arrays).

    ``times`` (R,) global time ``lr * step``; ``steps`` (R,); ``losses`` (E, R, n_tasks) the loss
    of every task (order of ``tasks``) at each record; ``W1`` (E, R, N_h, N_in), ``W2`` (E, R,
    N_out, N_h); ``task_names``; ``switch_steps`` the steps at which the phase changes; ``lr``.
    """

    times: np.ndarray
    steps: np.ndarray
    losses: np.ndarray
    W1: np.ndarray
    W2: np.ndarray
    task_names: list
    switch_steps: np.ndarray
    lr: float
    activation: str = "linear"


def _check_record(record):
    """An int >= 2 (number of linearly spaced records) or an explicit sequence of step indices."""
    if isinstance(record, (bool, np.bool_)):
        raise TypeError("record must be an int (number of recording points) or a sequence of steps, got a bool")
    if isinstance(record, (int, np.integer)):
        return _v.as_int(record, "record", low=2)
    if isinstance(record, (list, tuple, np.ndarray)):
        arr = np.asarray(record)
        if arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise TypeError(f"record steps must be a 1-D sequence of ints, got {_v.describe(record)}")
        return arr
    raise TypeError(f"record must be an int (number of recording points) or a sequence of steps, "
                    f"got {_v.describe(record)}")


def train_curriculum(tasks, schedule, W1_0, W2_0, *, lr: float, record: int = 50, activation: str = "linear",
                     gates=None, device=None, dtype=None, show_progress: bool | None = None) -> CurriculumRun:
    r"""Full-batch gradient descent of ``yhat = W2 f(W1 x)`` through a curriculum.

    ``tasks`` dict name -> (X (N_in, P), Y (N_out, P)); ``schedule`` list of (name, duration), a name
    may be a tuple of task names (their interleaved mixture: the gradient of the mean of their
    losses). Phase k runs ``round(duration_k / lr)`` steps of ``W <- W - lr dL/dW``; the global time is
    ``lr * step`` (compare with gradient flow at the same t). ``W1_0`` (E, N_h, N_in) and ``W2_0``
    (E, N_out, N_h) stack the ensemble's initial weights (2-D arrays: one network, E = 1).
    NumPy inputs train in float64 (``dtype`` overrides; a tensor keeps its dtype unless given).
    ``record``: the number of (linearly spaced) recording steps, or explicit step indices; every
    phase boundary is recorded as well. ``activation``: ``"linear"`` (the theory's network; uses the correlations
    only), ``"relu"`` or ``"tanh"`` (per-sample forward pass, qualitative comparisons).
    ``gates`` (linear only): dict task name -> boolean mask (N_h,), the context gate of each task
    (``yhat = W2 G_k W1 x`` on task k; theory.continual.GatedCurriculum); the losses are then each task's
    loss through its own gate.
    Unknown task names or negative durations raise ValueError; divergence raises DivergenceError.
    """
    names, stats, n_in, n_out = _parse_tasks(tasks)
    lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
    activation = _v.as_choice(activation, "activation", ("linear", "relu", "tanh"))
    record = _check_record(record)
    phases = _parse_schedule(schedule, names)
    if any(not np.isfinite(d) for _, d in phases):
        raise ValueError("train_curriculum needs finite durations")
    device = resolve_device(device)
    if dtype is None:
        dtype = W1_0.dtype if isinstance(W1_0, torch.Tensor) else torch.float64
    dtype = resolve_dtype(dtype)
    W1 = as_input(W1_0, "W1_0", device=device, dtype=dtype, ndim=(2, 3)).clone()
    W2 = as_input(W2_0, "W2_0", device=device, dtype=dtype, ndim=(2, 3)).clone()
    if W1.ndim != W2.ndim:
        raise ValueError(f"W1_0 and W2_0 must both be 2-D (one network) or both 3-D (an ensemble); got "
                         f"{tuple(W1.shape)}, {tuple(W2.shape)}")
    if W1.ndim == 2:
        W1, W2 = W1[None], W2[None]
    E, n_h = W1.shape[0], W1.shape[1]
    _v.check_same("W1_0", W1.shape[2], "the tasks' X", n_in, "input size")
    _v.check_same("W2_0", W2.shape[1], "the tasks' Y", n_out, "output size")
    _v.check_same("W1_0", n_h, "W2_0", W2.shape[2], "hidden size")
    _v.check_same("W1_0", E, "W2_0", W2.shape[0], "ensemble size")

    if gates is not None:
        if activation != "linear":
            raise ValueError("gates are supported for linear networks only")
        G_t = {}
        for n in names:
            if n not in gates:
                raise ValueError(f"gates has no mask for task {n!r}")
            g = np.asarray(gates[n])
            if g.shape != (n_h,) or g.dtype != bool:
                raise ValueError(f"gates[{n!r}] must be a boolean mask of shape ({n_h},)")
            G_t[n] = torch.as_tensor(g, device=device, dtype=dtype)
    steps_per = [int(round(d / lr)) for _, d in phases]
    bounds = np.concatenate([[0], np.cumsum(steps_per)]).astype(int)
    total = int(bounds[-1])
    rec = record_steps(total, record, log=False)
    rec = np.unique(np.concatenate([rec, bounds]))
    R = rec.size

    def T(a):
        return torch.as_tensor(a, device=device, dtype=dtype)

    # loss of every task from the correlations: L = trSyy/2 - <W, Syx> + <W Sxx, W>/2 (linear network)
    Sxx_t = torch.stack([T(stats[n].Sxx) for n in names])
    Syx_t = torch.stack([T(stats[n].Syx) for n in names])
    trSyy_t = T([stats[n].trSyy for n in names])
    task_data = {}
    if activation != "linear":
        for n in names:
            X, Y = tasks[n]
            task_data[n] = (T(_v.as_array(X, "X")), T(_v.as_array(Y, "Y")))
    act = {"relu": torch.relu, "tanh": torch.tanh}.get(activation)
    dact = {"relu": lambda z: (z > 0).to(z.dtype), "tanh": lambda z: 1 - torch.tanh(z) ** 2}.get(activation)

    def all_losses(W1, W2):
        if gates is not None:
            W = torch.stack([(W2 * G_t[n]) @ W1 for n in names], dim=1)  # (E, n_tasks, out, in)
            lin = torch.einsum("ekij,kij->ek", W, Syx_t)
            quad = torch.einsum("ekij,kjl,ekil->ek", W, Sxx_t, W)
            return 0.5 * trSyy_t - lin + 0.5 * quad
        if activation == "linear":
            W = W2 @ W1
            lin = torch.einsum("eij,kij->ek", W, Syx_t)
            quad = torch.einsum("eij,kjl,eil->ek", W, Sxx_t, W)
            return 0.5 * trSyy_t - lin + 0.5 * quad
        out = []
        for n in names:
            X, Y = task_data[n]
            err = W2 @ act(W1 @ X) - Y
            out.append(0.5 * (err**2).sum(dim=(1, 2)) / X.shape[1])
        return torch.stack(out, dim=1)

    losses = torch.empty((E, R, len(names)), device=device, dtype=dtype)
    W1_rec = torch.empty((E, R, n_h, n_in), device=device, dtype=dtype)
    W2_rec = torch.empty((E, R, n_out, n_h), device=device, dtype=dtype)
    monitor = DivergenceMonitor(lr=lr, what="the summed task loss")
    ri = 0

    def do_record(step):
        nonlocal ri
        L = all_losses(W1, W2)
        losses[:, ri] = L
        W1_rec[:, ri], W2_rec[:, ri] = W1, W2
        monitor(step, L.sum(dim=1))
        ri += 1

    bar = progress(total, "curriculum", disable=show_progress if show_progress is not None else total < 20000)
    step = 0
    with torch.no_grad():
        do_record(0)
        for k, (key, _) in enumerate(phases):
            if activation == "linear":
                st = mixture_correlations(stats, key)
                Sxx, Syx = T(st.Sxx), T(st.Syx)
            else:
                # mixture: each task's samples weighted 1/(n_tasks * P_task), i.e. the mean of the task losses
                Xs = [task_data[n][0] for n in key]
                Ys = [task_data[n][1] for n in key]
                wts = torch.cat([torch.full((x.shape[1],), 1.0 / (len(key) * x.shape[1]), device=device, dtype=dtype)
                                 for x in Xs])
                Xc, Yc = torch.cat(Xs, dim=1), torch.cat(Ys, dim=1)
            nxt = rec[ri] if ri < R else total + 1
            if gates is not None:
                gated = [(T(stats[n].Sxx), T(stats[n].Syx), G_t[n]) for n in key]
            for _ in range(steps_per[k]):
                if gates is not None:  # mean over the phase's tasks, each through its own gate
                    g1 = torch.zeros_like(W1)
                    g2 = torch.zeros_like(W2)
                    for Sxx_k, Syx_k, G in gated:
                        Err = Syx_k - ((W2 * G) @ W1) @ Sxx_k
                        g1 += G[:, None] * (W2.transpose(1, 2) @ Err) / len(gated)
                        g2 += (Err @ W1.transpose(1, 2)) * G / len(gated)
                elif activation == "linear":
                    Err = Syx - (W2 @ W1) @ Sxx  # -(dL/dW) for the map
                    g1 = W2.transpose(1, 2) @ Err
                    g2 = Err @ W1.transpose(1, 2)
                else:
                    Z = W1 @ Xc
                    H = act(Z)
                    D = (Yc - W2 @ H) * wts  # weighted residual
                    g2 = D @ H.transpose(1, 2)
                    g1 = ((W2.transpose(1, 2) @ D) * dact(Z)) @ Xc.transpose(0, 1)
                W1 += lr * g1
                W2 += lr * g2
                step += 1
                if step == nxt:
                    do_record(step)
                    nxt = rec[ri] if ri < R else total + 1
                bar.update(1)
    bar.close()
    return CurriculumRun(times=lr * rec.astype(float), steps=rec, losses=losses.cpu().numpy(),
                         W1=W1_rec.cpu().numpy(), W2=W2_rec.cpu().numpy(), task_names=list(names),
                         switch_steps=bounds[1:-1].copy(), lr=lr, activation=activation)


@dataclass
class ShallowRun:
    """Result of :func:`train_shallow_curriculum`: ``times`` (R,), ``steps`` (R,), ``losses`` (E, R, n_tasks),
    ``W`` (E, R, N_out, N_in), ``task_names``, ``switch_steps``, ``lr``."""

    times: np.ndarray
    steps: np.ndarray
    losses: np.ndarray
    W: np.ndarray
    task_names: list
    switch_steps: np.ndarray
    lr: float


def train_shallow_curriculum(tasks, schedule, W0, *, lr: float, record: int = 50, device=None,
                             dtype=None) -> ShallowRun:
    r"""Full-batch GD of a shallow linear network ``yhat = W x`` through a curriculum:
    ``W <- W + lr (Syx - W Sxx)`` with the phase's (mixture) correlations, ``round(duration/lr)`` steps per
    phase. ``W0`` (E, N_out, N_in) or (N_out, N_in); conventions as :func:`train_curriculum`."""
    names, stats, n_in, n_out = _parse_tasks(tasks)
    lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
    record = _check_record(record)
    phases = _parse_schedule(schedule, names)
    if any(not np.isfinite(d) for _, d in phases):
        raise ValueError("train_shallow_curriculum needs finite durations")
    device = resolve_device(device)
    dtype = resolve_dtype(W0.dtype if (dtype is None and isinstance(W0, torch.Tensor)) else (dtype or torch.float64))
    W = as_input(W0, "W0", device=device, dtype=dtype, ndim=(2, 3)).clone()
    if W.ndim == 2:
        W = W[None]
    _v.check_same("W0", W.shape[2], "the tasks' X", n_in, "input size")
    _v.check_same("W0", W.shape[1], "the tasks' Y", n_out, "output size")
    steps_per = [int(round(d / lr)) for _, d in phases]
    bounds = np.concatenate([[0], np.cumsum(steps_per)]).astype(int)
    total = int(bounds[-1])
    rec = np.unique(np.concatenate([record_steps(total, record, log=False), bounds]))

    def T(a):
        return torch.as_tensor(a, device=device, dtype=dtype)

    Sxx_t = torch.stack([T(stats[n].Sxx) for n in names])
    Syx_t = torch.stack([T(stats[n].Syx) for n in names])
    trSyy_t = T([stats[n].trSyy for n in names])
    losses = torch.empty((W.shape[0], rec.size, len(names)), device=device, dtype=dtype)
    W_rec = torch.empty((W.shape[0], rec.size, n_out, n_in), device=device, dtype=dtype)
    lam_max = max(float(np.linalg.eigvalsh(mixture_correlations(stats, key).Sxx)[-1]) for key, _ in phases)
    monitor = DivergenceMonitor(lr=lr, lr_max=2.0 / max(lam_max, 1e-300), what="the summed task loss")
    ri, step = 0, 0

    def do_record():
        nonlocal ri
        L = 0.5 * trSyy_t - torch.einsum("eij,kij->ek", W, Syx_t) + 0.5 * torch.einsum("eij,kjl,eil->ek", W, Sxx_t, W)
        losses[:, ri], W_rec[:, ri] = L, W
        monitor(step, L.sum(dim=1))
        ri += 1

    with torch.no_grad():
        do_record()
        for k, (key, _) in enumerate(phases):
            st = mixture_correlations(stats, key)
            Sxx, Syx = T(st.Sxx), T(st.Syx)
            for _ in range(steps_per[k]):
                W += lr * (Syx - W @ Sxx)
                step += 1
                if ri < rec.size and step == rec[ri]:
                    do_record()
    return ShallowRun(times=lr * rec.astype(float), steps=rec, losses=losses.cpu().numpy(), W=W_rec.cpu().numpy(),
                      task_names=list(names), switch_steps=bounds[1:-1].copy(), lr=lr)


def train_sequential_regression(Xs, ys, w0, order, *, lr: float | None = None, steps: int = 2000, device=None,
                                dtype=torch.float64) -> np.ndarray:
    r"""Gradient descent on each task of ``order`` in turn, ``steps`` full-batch steps per task on
    ``L_m = (1/2P_m)||X_m^T w - y_m||^2``, from the previous task's weights. ``w0`` (N,) or an ensemble
    (E, N) of starting weights. ``lr`` defaults to ``1/max_m lambda_max(X_m X_m^T/P_m)`` (stable: the
    limit is twice that). Returns the weights after each task, (E, len(order), N) (E = 1 for 1-D w0)."""
    w0a = np.asarray(w0)
    single = w0a.ndim == 1
    Xs_c, ys_c, _ = _check_regression(Xs, ys, w0a if single else _v.as_array(w0, "w0", ndim=2)[0])
    o = _check_order(order, len(Xs_c))
    steps = _v.as_int(steps, "steps", low=1)
    lam_max = max(float(np.linalg.eigvalsh(X @ X.T / X.shape[1])[-1]) for X in Xs_c)
    lr = 1.0 / lam_max if lr is None else _v.as_float(lr, "lr", low=0.0, open_low=True)
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    w = as_input(w0, "w0", device=device, dtype=dtype, ndim=(1, 2)).clone()
    if w.ndim == 1:
        w = w[None]
    Sxx = {m: torch.as_tensor(Xs_c[m] @ Xs_c[m].T / Xs_c[m].shape[1], device=device, dtype=dtype) for m in set(o)}
    Sxy = {m: torch.as_tensor(Xs_c[m] @ ys_c[m] / Xs_c[m].shape[1], device=device, dtype=dtype) for m in set(o)}
    yy = {m: float(ys_c[m] @ ys_c[m] / ys_c[m].size) for m in set(o)}
    out = torch.empty((w.shape[0], o.size, w.shape[1]), device=device, dtype=dtype)
    monitor = DivergenceMonitor(lr=lr, lr_max=2.0 / lam_max, what="the summed task loss")

    def total_loss(w):
        return sum(0.5 * yy[m] - w @ Sxy[m] + 0.5 * ((w @ Sxx[m]) * w).sum(dim=1) for m in Sxx)

    with torch.no_grad():
        monitor(0, total_loss(w))
        for k, m in enumerate(o):
            A, b = Sxx[int(m)], Sxy[int(m)]
            for _ in range(steps):
                w += lr * (b - w @ A)
            out[:, k] = w
            monitor(k + 1, total_loss(w))
    return out.cpu().numpy()


# ----------------------------------------------------------------------------- two teachers, two heads
def teacher_pair_weights(N: int, M: int, feature_similarity: float, E: int, *, seed: int = 0, device=None,
                         dtype=torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Teachers ``W*1, W*2`` (E, M, N) with exactly ``W*1 W*1^T/N = W*2 W*2^T/N = I`` and ``W*1 W*2^T/N = gamma I``
    (theory.continual.teacher_pair): orthonormal rows scaled by sqrt(N), ``W*2 = gamma W*1 + sqrt(1-gamma^2) W_perp``."""
    N, M, E = _v.as_int(N, "N", low=1), _v.as_int(M, "M", low=1), _v.as_int(E, "E", low=1)
    if 2 * M > N:
        raise ValueError(f"need N >= 2M for two teachers, got N = {N}, M = {M}")
    g = _v.as_float(feature_similarity, "feature_similarity", low=-1.0, high=1.0)
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    gen = make_generator(_v.as_seed(seed), device)
    A = torch.randn(E, N, 2 * M, generator=gen, device=device, dtype=dtype)
    O, _ = torch.linalg.qr(A)  # (E, N, 2M) orthonormal columns
    B = O.transpose(1, 2) * np.sqrt(N)
    W1s = B[:, :M]
    W2s = g * W1s + np.sqrt(max(1 - g * g, 0.0)) * B[:, M:]
    return W1s, W2s


@dataclass
class TwoTeacherRun:
    """Result of :func:`train_two_teachers` (NumPy): ``alpha`` (R,), ``steps`` (R,), ``Q`` (E, R, K, K),
    ``R`` (E, R, K, 2M) (overlaps with teacher 1's then teacher 2's units), ``h1``, ``h2`` (E, R, K),
    ``alpha_switch``, ``N``, ``lr``."""

    alpha: np.ndarray
    steps: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    h1: np.ndarray
    h2: np.ndarray
    alpha_switch: float
    N: int
    lr: float


def train_two_teachers(W0, h1_0, h2_0, W_star1, W_star2, v_star1, v_star2, *, lr: float, alpha_1: float,
                       alpha_2: float, record: int = 40, activation: str = "erf", seed: int = 0, lr_v=None,
                       device=None, dtype=torch.float64) -> TwoTeacherRun:
    r"""Online SGD of a committee with a shared first layer and two heads, on teacher 1 then teacher 2
    (Lee, Goldt & Saxe 2021). Conventions of docs: Conventions, "Online SGD in committee machines" / :mod:`idealnets.simulate.committee`: ``lambda = W x/sqrt(N)``,
    ``w_k <- w_k - (lr/sqrt N) h_k Delta g'(lambda_k) x``, ``h_k <- h_k - (lr_v/N) Delta g(lambda_k)`` for the head of
    the current task, ``Delta = phi_t(x) - y_t(x)``. ``W0`` (E, K, N), heads (E, K) or (K,), teachers (E, M, N),
    readouts (M,). Phase t runs ``round(alpha_t N)`` steps. Records the order parameters at ``record``
    log-spaced steps per phase (plus the switch)."""
    from idealnets.theory.committee import ACTIVATIONS

    activation = _v.as_choice(activation, "activation", ACTIVATIONS)
    lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
    lr_v = lr if lr_v is None else _v.as_float(lr_v, "lr_v", low=0.0)
    alpha_1 = _v.as_float(alpha_1, "alpha_1", low=0.0, open_low=True)
    alpha_2 = _v.as_float(alpha_2, "alpha_2", low=0.0, open_low=True)
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    W = as_input(W0, "W0", device=device, dtype=dtype, ndim=3).clone()
    E, K, N = W.shape
    Ws1 = as_input(W_star1, "W_star1", device=device, dtype=dtype, ndim=3)
    Ws2 = as_input(W_star2, "W_star2", device=device, dtype=dtype, ndim=3)
    if Ws1.shape[0] != E or Ws1.shape[2] != N or Ws2.shape != Ws1.shape:
        raise ValueError(f"teachers must be (E, M, N) = ({E}, M, {N}) and equal in shape, got "
                         f"{tuple(Ws1.shape)}, {tuple(Ws2.shape)}")
    M = Ws1.shape[1]
    heads = [as_input(h, name, device=device, dtype=dtype, ndim=(1, 2)).expand(E, K).clone()
             for h, name in ((h1_0, "h1_0"), (h2_0, "h2_0"))]
    vs = [as_input(v, name, device=device, dtype=dtype, shape=(M,)) for v, name in ((v_star1, "v_star1"),
                                                                                     (v_star2, "v_star2"))]
    g = {"erf": lambda z: torch.erf(z / np.sqrt(2.0)), "linear": lambda z: z}[activation]
    dg = {"erf": lambda z: np.sqrt(2.0 / np.pi) * torch.exp(-0.5 * z * z), "linear": torch.ones_like}[activation]
    n1, n2 = int(round(alpha_1 * N)), int(round(alpha_2 * N))
    rec1 = record_steps(n1, record)
    rec2 = n1 + record_steps(n2, record)[1:]
    rec = np.concatenate([rec1, rec2])
    Wst = torch.cat([Ws1, Ws2], dim=1)
    Q_r = torch.empty(E, rec.size, K, K, device=device, dtype=dtype)
    R_r = torch.empty(E, rec.size, K, 2 * M, device=device, dtype=dtype)
    h_r = [torch.empty(E, rec.size, K, device=device, dtype=dtype) for _ in range(2)]
    gen = make_generator(_v.as_seed(seed), device)
    sqN = float(np.sqrt(N))
    monitor = DivergenceMonitor(lr=lr, what="|Q|")
    ri = 0

    def snap(step):
        nonlocal ri
        Q_r[:, ri] = W @ W.transpose(1, 2) / N
        R_r[:, ri] = W @ Wst.transpose(1, 2) / N
        h_r[0][:, ri], h_r[1][:, ri] = heads[0], heads[1]
        monitor(step, torch.diagonal(Q_r[:, ri], dim1=1, dim2=2).sum(1))
        ri += 1

    chunk = 256
    step = 0
    with torch.no_grad():
        snap(0)
        for t, (n_steps, Ws) in enumerate(((n1, Ws1), (n2, Ws2))):
            h, v = heads[t], vs[t]
            end = step + n_steps
            while step < end:
                c = min(chunk, end - step)
                X = torch.randn(c, E, N, generator=gen, device=device, dtype=dtype)
                Y = (g(torch.einsum("cen,emn->cem", X, Ws) / sqN) * v).sum(-1)  # (c, E)
                for i in range(c):
                    x = X[i]
                    lam = torch.einsum("ekn,en->ek", W, x) / sqN
                    gl = g(lam)
                    delta = (h * gl).sum(-1) - Y[i]  # (E,)
                    W -= (lr / sqN) * (h * delta[:, None] * dg(lam))[:, :, None] * x[:, None, :]
                    h -= (lr_v / N) * delta[:, None] * gl
                    step += 1
                    if ri < rec.size and step == rec[ri]:
                        snap(step)
    return TwoTeacherRun(alpha=rec / N, steps=rec, Q=Q_r.cpu().numpy(), R=R_r.cpu().numpy(),
                         h1=h_r[0].cpu().numpy(), h2=h_r[1].cpu().numpy(), alpha_switch=n1 / N, N=N, lr=lr)
