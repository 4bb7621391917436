r"""Online SGD of committee machines on many teacher tasks, under a schedule with replay.

The network side of :mod:`idealnets.theory.continual.many_teachers` (docs: Structured inputs and
replay, "Many tasks"): a soft committee with a shared first layer ``W`` (E, K, N) and heads ``H``
(E, n_heads, K) (one per task, or one shared) learns ``n_tasks`` teachers ``W*`` (E, n_tasks M, N), readouts
``v*`` (n_tasks, M), one fresh Gaussian example a step, in the conventions of
:mod:`idealnets.simulate.committee` (docs: Conventions, "Online SGD in committee machines"):

    w_k <- w_k - (lr/sqrt N) m_k h_k Delta g'(lambda_k) x,   h_k <- h_k - (lr_v/N) Delta g(lambda_k)

with ``h`` the head of the step's task, ``Delta = phi_h(x) - y_tau(x)`` and ``m_k`` the trainable-unit mask.
The task ``tau`` of each step is drawn, independently for each network, from the schedule's mixture
(:meth:`TaskSchedule.mixture`: the current task with probability ``1 - p``, an earlier one with ``p``).
Blocks of fixed length switch at ``round(alpha N)`` steps; threshold schedules switch each network
on its own when the error of its current task, computed exactly from its order parameters, is at
or below the threshold at a check (every ``check_every`` steps).
"""
from __future__ import annotations

import bisect

import numpy as np
import torch

from idealnets.theory import validation as _v
from idealnets.theory.committee import ACTIVATIONS, generalisation_error
from idealnets.theory.continual.many_teachers import HEADS, MAX_TASKS, TaskSchedule

from . import engine
from ._common import as_input, make_generator, record_steps, resolve_device, resolve_dtype
from .engine import Run

__all__ = ["teacher_family_weights", "train_many_teachers", "ManyTeacherSGD", "task_errors"]


@_v.renamed_keywords(E="n_networks")
def teacher_family_weights(N: int, M: int, n_tasks: int, feature_similarity: float, n_networks: int, *,
                           seed: int = 0, device=None, dtype=torch.float64) -> torch.Tensor:
    r"""Teachers ``W*`` (E, n_tasks M, N) with exactly the overlaps of
    :func:`idealnets.theory.continual.many_teachers.teacher_family`: ``w*_t,m = sqrt(gamma) c_m + sqrt(1-gamma) z_t,m``
    with ``c``, ``z_t`` jointly orthonormal rows scaled by ``sqrt N``, so ``T_tt = I`` and ``T_ts = gamma I``."""
    N, M = _v.as_int(N, "N", low=1, high=10**7), _v.as_int(M, "M", low=1)
    n = _v.as_int(n_tasks, "n_tasks", low=1, high=MAX_TASKS)
    E = _v.as_int(n_networks, "n_networks", low=1, high=10**6)
    g = _v.as_float(feature_similarity, "feature_similarity", low=0.0, high=1.0)
    seed = _v.as_seed(seed)
    if (n + 1) * M > N:
        raise ValueError(f"need N >= (n_tasks + 1) M = {(n + 1) * M} for the teachers' orthonormal rows, got N = {N}")
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    gen = make_generator(seed, device)
    A = torch.randn(E, N, (n + 1) * M, generator=gen, device=device, dtype=dtype)
    O, _ = torch.linalg.qr(A)
    B = O.transpose(1, 2) * np.sqrt(N)  # (E, (n+1)M, N)
    C = B[:, :M]
    return torch.cat([np.sqrt(g) * C + np.sqrt(1 - g) * B[:, (t + 1) * M:(t + 2) * M] for t in range(n)], dim=1)


def task_errors(Q, R, H, T, v_stars, *, heads: str = "per_task", activation: str = "erf") -> np.ndarray:
    """Each task's generalisation error from (batched) order parameters: ``Q`` (..., K, K), ``R`` (..., K, n M),
    ``H`` (..., n_heads, K), ``T`` (..., n M, n M), ``v_stars`` (n, M). Returns (..., n)."""
    vs = _v.as_array(v_stars, "v_stars", ndim=2)
    n, M = vs.shape
    Q, R, H, T = (np.asarray(a, dtype=np.float64) for a in (Q, R, H, T))
    out = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for t in range(n):
            s = slice(t * M, (t + 1) * M)
            h = H[..., t if heads == "per_task" else 0, :]
            out.append(generalisation_error(Q, R[..., s], T[..., s, s], h, vs[t], activation))
    return np.stack(out, axis=-1)


def train_many_teachers(W0, H0, W_star, v_stars, schedule: TaskSchedule, *, lr: float, lr_v: float | None = None,
                        heads: str = "per_task", activation: str = "erf", noise: float = 0.0, frozen=None,
                        train_first_layer: bool = True, train_heads: bool = True, record: int = 40,
                        check_every: int | None = None, seed: int = 0, device=None, dtype=torch.float64) -> Run:
    r"""Online SGD of committees with a shared first layer on the teachers ``W_star`` under ``schedule``
    (module docstring).

    ``W0`` (E, K, N); ``H0`` (E, n_heads, K), (n_heads, K) or (K,); ``W_star`` (E, n_tasks M, N) or
    (n_tasks M, N) (teacher 0's units first); ``v_stars`` (n_tasks, M). Options as
    :class:`~idealnets.theory.continual.many_teachers.MultiTeacherODE`. ``record``: points per block
    (log-spaced within each block) for block schedules, linearly spaced over ``alpha_max`` for
    threshold schedules, or explicit steps. ``check_every`` (threshold schedules): steps between checks of
    the current task's error (default ``max(1, N // 100)``).

    Returns a :class:`~idealnets.simulate.Run`: ``times`` (``alpha = step / N``), ``losses`` (E, R, n_tasks) the
    error of every task with its head, exactly from the recorded order parameters; ``state``: ``Q``, ``R``
    (E, R, K, n_tasks M), ``H`` (E, R, n_heads, K), ``current`` (E, R) the task of the block each network is in;
    ``extras``: ``T`` (E, n M, n M), ``switch_alpha`` (E, B) the start of each block (nan if not reached),
    ``N``, ``lr``, ``lr_v``, ``heads``, ``activation``. Divergence is checked on ``tr Q``.
    """
    if not isinstance(schedule, TaskSchedule):
        raise TypeError(f"schedule must be a TaskSchedule, got {type(schedule).__name__}")
    activation = _v.as_choice(activation, "activation", ACTIVATIONS)
    heads = _v.as_choice(heads, "heads", HEADS)
    lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
    lr_v = lr if lr_v is None else _v.as_float(lr_v, "lr_v", low=0.0)
    noise = _v.as_float(noise, "noise", low=0.0)
    train_first_layer = _v.as_bool(train_first_layer, "train_first_layer")
    train_heads = _v.as_bool(train_heads, "train_heads")
    seed = _v.as_seed(seed)
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    W = as_input(W0, "W0", device=device, dtype=dtype, ndim=3).clone()
    E, K, N = W.shape
    vs = _v.as_array(v_stars, "v_stars", ndim=2)
    n, M = vs.shape
    if n > MAX_TASKS or schedule.n_tasks_used > n:
        raise ValueError(f"the schedule refers to task {schedule.n_tasks_used - 1} but v_stars has {n} rows")
    Ws = as_input(W_star, "W_star", device=device, dtype=dtype, ndim=(2, 3))
    Ws = Ws.expand(E, *Ws.shape) if Ws.ndim == 2 else Ws
    if tuple(Ws.shape) != (E, n * M, N):
        raise ValueError(f"W_star must be (E, n_tasks M, N) = ({E}, {n * M}, {N}), got {tuple(Ws.shape)}")
    n_heads = n if heads == "per_task" else 1
    Hh = as_input(H0, "H0", device=device, dtype=dtype, ndim=(1, 2, 3))
    try:
        Hh = Hh.expand(E, n_heads, K).clone()
    except RuntimeError:
        raise ValueError(f"H0 must be (E, n_heads, K), (n_heads, K) or (K,) with n_heads = {n_heads}, K = {K}, "
                         f"got {tuple(Hh.shape)}") from None
    mask = torch.ones(K, device=device, dtype=dtype)
    if frozen is not None:
        f = np.asarray(frozen)
        if f.dtype == bool:
            if f.shape != (K,):
                raise ValueError(f"frozen as a mask must have shape ({K},), got {f.shape}")
            mask[torch.as_tensor(f, device=device)] = 0.0
        else:
            for k in np.atleast_1d(f).tolist():
                mask[_v.as_int(k, "frozen unit", low=0, high=K - 1)] = 0.0
    if not train_first_layer:
        mask[:] = 0.0
    steps = int(round(schedule.alpha_max * N))
    if steps < 1:
        raise ValueError(f"alpha_max * N = {schedule.alpha_max * N:g} is less than one step")
    if check_every is None:
        check_every = max(1, N // 100)
    check_every = _v.as_int(check_every, "check_every", low=1)
    T = (Ws @ Ws.transpose(1, 2) / N).cpu().to(torch.float64).numpy()
    if schedule.durations is not None:
        bounds = [int(round(x * N)) for x in np.cumsum((0.0,) + schedule.durations[:-1])]
        if isinstance(record, (int, np.integer)):
            ends = bounds[1:] + [steps]
            rec = np.unique(np.concatenate([b + record_steps(max(e - b, 0), record) for b, e in zip(bounds, ends)
                                            if e > b] + [[steps]]))
        else:
            rec = record
    else:
        bounds = None
        rec = record_steps(steps, record, log=False) if isinstance(record, (int, np.integer)) else record
    Pi = np.stack([schedule.mixture(b, n) for b in range(len(schedule.order))])
    model = ManyTeacherSGD(W, Hh, Ws, torch.as_tensor(vs, device=device, dtype=dtype), mask, Pi, schedule, bounds,
                           T, lr=lr, lr_v=lr_v if train_heads else 0.0, noise=noise, heads=heads,
                           activation=activation, check_every=check_every, generator=make_generator(seed, device))
    run = engine.run(model, steps=steps, record=rec, steps_per_time=N, time_unit="alpha = step / N",
                     loss_name="generalisation error of every task with its head (last axis: task)", lr=lr,
                     what="tr Q", desc="many-teacher SGD", progress_bar=False,
                     extras=dict(N=N, lr=lr, lr_v=lr_v, heads=heads, activation=activation, T=T),
                     finish=model.finish)
    run.losses = task_errors(run.state["Q"], run.state["R"], run.state["H"], T[:, None], vs, heads=heads,
                             activation=activation)
    return run


class ManyTeacherSGD:
    """Online SGD of committees with a shared first layer on many teachers, as an engine model.

    State: ``W`` (E, K, N), ``H`` (E, n_heads, K), ``block`` (E,) each network's block, and the current chunk of
    inputs, all teachers' labels and uniforms for the task draws (chunks of 256 steps at multiples of 256, so the
    random stream does not depend on the schedule or the recording steps). Observes ``Q``, ``R``, ``H``,
    ``current`` and ``tr Q`` (``"loss"``, for the divergence check).
    """

    name = "many-teacher SGD"
    chunk = 256

    def __init__(self, W, H, Ws, vs, mask, Pi, schedule, bounds, T, *, lr, lr_v, noise, heads, activation,
                 check_every, generator):
        self.W0, self.H0, self.Ws, self.vs, self.mask = W, H, Ws, vs, mask
        self.E, self.K, self.N = W.shape
        self.n, self.M = vs.shape
        self.cumPi = torch.as_tensor(np.cumsum(Pi, axis=1), device=W.device, dtype=W.dtype)
        self.cumPi[:, -1] = 2.0  # never above
        self.order = torch.as_tensor(schedule.order, device=W.device)
        self.n_blocks = len(schedule.order)
        self.schedule, self.bounds, self.T = schedule, bounds, T
        self.lr, self.lr_v, self.noise, self.heads, self.activation = lr, lr_v, noise, heads, activation
        self.check_every, self.gen = check_every, generator
        self.head_of = torch.arange(self.n, device=W.device) if heads == "per_task" else torch.zeros(
            self.n, dtype=torch.long, device=W.device)
        self.g = {"erf": lambda z: torch.erf(z / np.sqrt(2.0)), "linear": lambda z: z, "relu": torch.relu}[activation]
        self.dg = {"erf": lambda z: np.sqrt(2.0 / np.pi) * torch.exp(-0.5 * z * z), "linear": torch.ones_like,
                   "relu": lambda z: (z > 0).to(z.dtype)}[activation]
        n_heads = H.shape[1]
        self.onehot = torch.eye(n_heads, device=W.device, dtype=W.dtype)
        self.e_idx = torch.arange(self.E, device=W.device)
        self.order_np = np.asarray(schedule.order)
        self.head_of_np = self.head_of.cpu().numpy()
        self.vs_np = vs.cpu().to(torch.float64).numpy()
        self.switch_step = np.full((self.E, self.n_blocks), np.nan)
        self.switch_step[:, 0] = 0.0

    def init(self):
        self.switch_step[:, 1:] = np.nan
        return {"W": self.W0.clone(), "H": self.H0.clone(),
                "block": torch.zeros(self.E, dtype=torch.long, device=self.W0.device), "b": 0, "X": None}

    def observe(self, st) -> dict:
        W, N = st["W"], self.N
        Q = W @ W.transpose(1, 2) / N
        return {"loss": torch.diagonal(Q, dim1=1, dim2=2).sum(1), "Q": Q, "R": W @ self.Ws.transpose(1, 2) / N,
                "H": st["H"].clone(), "current": self.order[st["block"]]}

    def finish(self, st) -> dict:
        return {"switch_alpha": self.switch_step / self.N}

    def step(self, st, k: int):
        return self.advance(st, k, 1, lambda m: None)

    def _current_errors(self, Q, R, H, b):
        """The error of each network's task in block ``b`` (E,): :func:`task_errors` for that task alone (the
        same arithmetic, one call for all networks instead of one per task)."""
        tasks = self.order_np[b]
        idx = tasks[:, None] * self.M + np.arange(self.M)  # (E, M): the units of each network's task
        e = np.arange(self.E)
        Rs = R[e[:, None, None], np.arange(self.K)[None, :, None], idx[:, None, :]]
        Ts = self.T[e[:, None, None], idx[:, :, None], idx[:, None, :]]
        with np.errstate(invalid="ignore", divide="ignore"):
            return generalisation_error(Q, Rs, Ts, H[e, self.head_of_np[tasks]], self.vs_np[tasks], self.activation)

    def _check_threshold(self, st, step: int):
        blk = st["block"]
        b0 = blk.cpu().numpy()
        b = b0.copy()
        # advance each network past every task already at or below the threshold (the last block never ends)
        go = b < self.n_blocks - 1
        if not go.any():
            return False
        W, N = st["W"], self.N
        Q = (W @ W.transpose(1, 2) / N).cpu().to(torch.float64).numpy()
        R = (W @ self.Ws.transpose(1, 2) / N).cpu().to(torch.float64).numpy()
        H = st["H"].cpu().to(torch.float64).numpy()
        while go.any():
            eps = self._current_errors(Q, R, H, b)
            go &= eps <= self.schedule.threshold
            b[go] += 1
            self.switch_step[go, b[go]] = step
            go &= b < self.n_blocks - 1
        changed = bool((b != b0).any())
        st["block"] = torch.as_tensor(b, device=blk.device)
        return changed

    def advance(self, st, start: int, n: int, tick):
        W, H, N, gen, g, dg = st["W"], st["H"], self.N, self.gen, self.g, self.dg
        sqN = float(np.sqrt(N))
        E = self.E
        lr, lr_v, mask = self.lr, self.lr_v, self.mask
        for step in range(start, start + n):
            fresh = False
            if self.bounds is not None:
                b = bisect.bisect_right(self.bounds, step) - 1
                if b != st["b"]:
                    st["block"] = torch.full((E,), b, dtype=torch.long, device=W.device)
                    st["b"] = b
                    self.switch_step[:, b] = step
                    fresh = True
            elif step % self.check_every == 0:
                fresh = self._check_threshold(st, step)
            if step % self.chunk == 0 or st["X"] is None:
                c = self.chunk
                X = torch.randn(c, E, N, generator=gen, device=W.device, dtype=W.dtype)
                nu = torch.einsum("cen,ejn->cej", X, self.Ws) / sqN
                Y = (g(nu).reshape(c, E, self.n, self.M) * self.vs).sum(-1)  # (c, E, n)
                if self.noise > 0:
                    Y = Y + self.noise * torch.randn(c, E, 1, generator=gen, device=W.device, dtype=W.dtype)
                U = torch.rand(c, E, generator=gen, device=W.device, dtype=W.dtype)
                st["X"], st["Y"], st["U"] = X, Y, U
                # per-step views, split once per chunk: x as a column (E, N, 1) and as a row (E, 1, N)
                st["x_col"], st["x_row"] = X[:, :, :, None].unbind(0), X[:, :, None, :].unbind(0)
                fresh = True
            if fresh:  # the task, label and head of every step of the chunk, for the current blocks
                task = (st["U"][:, :, None] > self.cumPi[st["block"]][None]).sum(-1)  # (c, E)
                head = self.head_of[task]  # (c, E)
                st["y"] = st["Y"].gather(2, task[:, :, None])[:, :, 0].unbind(0)
                st["head"] = head.unbind(0)
                st["oh"] = self.onehot[head][:, :, :, None].unbind(0)  # (E, n_heads, 1) one-hot of the head
            i = step % self.chunk
            h = H[self.e_idx, st["head"][i]]  # each network's head of the step's task
            lam = torch.bmm(W, st["x_col"][i])[:, :, 0] / sqN
            gl = g(lam)
            delta = (h * gl).sum(-1) - st["y"][i]
            W -= (lr / sqN) * (mask * h * delta[:, None] * dg(lam))[:, :, None] * st["x_row"][i]
            if lr_v > 0:
                H -= (lr_v / N) * st["oh"][i] * (delta[:, None] * gl)[:, None, :]
        tick(n)
        return st
