"""Batched full-batch gradient descent through a curriculum of tasks (continual learning).

Trains ensembles of two-layer linear networks (and, as a qualitative check, two-layer ReLU/tanh
networks) on the schedules of :mod:`idealnets.theory.continual`, shallow linear students on sequences
of regression tasks (Evron et al. 2022), and committee machines with two heads on two teachers
(Lee, Goldt & Saxe 2021). Weights are batched (E, out, in) tensors. Every trainer is a model of the
one training engine (:mod:`idealnets.simulate.engine`) and returns its :class:`~idealnets.simulate.Run`;
a curriculum's phases are part of the model (its ``advance`` looks up the phase of the step), and
every phase boundary is a recording step.
"""
from __future__ import annotations

import bisect
import dataclasses

import numpy as np
import torch

from idealnets.theory import validation as _v
from idealnets.theory.continual import (check_regression_tasks, check_schedule, check_task_order, check_tasks,
                                        mixture_correlations)

from . import engine
from ._common import as_input, make_generator, record_steps, resolve_device, resolve_dtype
from .engine import Run

__all__ = ["CurriculumRun", "ShallowRun", "TwoTeacherRun", "CurriculumGD",
           "ShallowCurriculumGD", "SequentialRegressionGD", "TwoTeacherSGD", "train_curriculum",
           "train_shallow_curriculum", "train_sequential_regression", "teacher_pair_weights", "train_two_teachers"]

#: Deprecated name of the shared result type :class:`idealnets.simulate.Run` (kept for one release).
CurriculumRun = Run
#: Deprecated name of the shared result type :class:`idealnets.simulate.Run` (kept for one release).
ShallowRun = Run
#: Deprecated name of the shared result type :class:`idealnets.simulate.Run` (kept for one release).
TwoTeacherRun = Run

#: below this many steps a curriculum shows no progress bar unless asked (``progress_bar=None``)
_QUIET_STEPS = 20000


def _check_record(record):
    """An int >= 2 (number of linearly spaced records) or an explicit sequence of step indices."""
    if isinstance(record, (bool, np.bool_)):
        raise TypeError("record must be an int (number of recording points) or a sequence of steps, got a bool")
    if isinstance(record, (int, np.integer)):
        return _v.as_int(record, "record", low=2)
    if isinstance(record, (list, tuple, np.ndarray)):
        arr = np.asarray(record)
        if arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise TypeError(f"record must be a 1-D sequence of ints, got {_v.describe(record)}")
        return arr
    raise TypeError(f"record must be an int (number of recording points) or a sequence of steps, "
                    f"got {_v.describe(record)}")


def _float64(a) -> np.ndarray:
    """A validated array (or tensor) as float64 NumPy, as :func:`idealnets.theory.validation.as_array` returns it."""
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    return np.asarray(a).astype(np.float64, copy=False)


def _task_losses_first(run: Run, names: list, total_name: str) -> Run:
    """Make ``losses`` the per-task losses (E, R, n_tasks), as earlier releases returned them.

    The engine checks divergence on the summed task loss (the model's ``"loss"``); it stays
    in ``state[total_name]``.
    """
    run.state[total_name] = run.losses
    run.losses = run.state.pop("task_losses")
    run.loss_name = f"loss of each task (last axis: {', '.join(map(str, names))})"
    return run


class _Phased:
    """Phase lookup for models whose step depends on the phase: ``bounds`` are the phase starts plus the end."""

    def _phase(self, k: int) -> int:
        return bisect.bisect_right(self.bounds, k) - 1

    def step(self, weights, k: int):
        return self.advance(weights, k, 1, _no_tick)

    def advance(self, weights, start: int, n: int, tick):
        end = start + n
        k = start
        while k < end:
            p = self._phase(k)
            m = min(end, int(self.bounds[p + 1])) - k
            weights = self._steps(weights, p, m)
            k += m
            tick(m)
        return weights


def _no_tick(_: int) -> None:
    pass


# ----------------------------------------------------------------------------- curricula
@_v.renamed_keywords(show_progress="progress_bar")
def train_curriculum(tasks, schedule, W1_0, W2_0, *, lr: float, record: int = 50, activation: str = "linear",
                     gates=None, device=None, dtype=None, progress_bar: bool | None = None) -> Run:
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
    loss through its own gate. ``progress_bar``: ``None`` shows it on terminals for runs of 20000
    steps or more (the keyword ``show_progress`` of earlier releases still works, DeprecationWarning).
    Unknown task names or negative durations raise ValueError; divergence (of the summed task loss)
    raises DivergenceError.

    Returns a :class:`~idealnets.simulate.Run`: ``times`` (R,) the global time ``lr * step``,
    ``steps``; ``losses`` (E, R, n_tasks) the loss of every task (order of ``task_names``) at each
    record; ``state``: ``W1`` (E, R, N_h, N_in), ``W2`` (E, R, N_out, N_h), ``total_loss`` (E, R) their
    sum; ``extras``: ``task_names``, ``switch_steps`` (the steps at which the phase changes), ``lr``,
    ``activation``.
    """
    names, stats, n_in, n_out = check_tasks(tasks)
    lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
    activation = _v.as_choice(activation, "activation", ("linear", "relu", "tanh"))
    record = _check_record(record)
    phases = check_schedule(schedule, names)
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

    G_t = None
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
    progress_bar = _v.as_bool(progress_bar, "progress_bar") if progress_bar is not None else None
    steps_per = [int(round(d / lr)) for _, d in phases]
    bounds = np.concatenate([[0], np.cumsum(steps_per)]).astype(int)
    total = int(bounds[-1])
    rec = np.unique(np.concatenate([record_steps(total, record, log=False), bounds]))
    task_data = {}
    if activation != "linear":  # the samples themselves (check_tasks has validated them)
        for n in names:
            X, Y = tasks[n]
            task_data[n] = (_float64(X), _float64(Y))
    model = CurriculumGD(W1, W2, lr, names, stats, phases, bounds, activation=activation, gates=G_t,
                         task_data=task_data)
    run = engine.run(model, steps=total, record=rec, log=False, time_per_step=lr, time_unit="t = lr * step",
                     lr=lr, what="the summed task loss", desc="curriculum",
                     progress_bar=progress_bar if progress_bar is not None else (False if total < _QUIET_STEPS
                                                                                 else None),
                     extras=dict(task_names=list(names), switch_steps=bounds[1:-1].copy(), lr=lr,
                                 activation=activation))
    return _task_losses_first(run, names, "total_loss")


class CurriculumGD(_Phased):
    """Full-batch GD of an ensemble of two-layer networks through a curriculum, as an engine model.

    State: ``(W1, W2)``, ``(E, N_h, N_in)`` and ``(E, N_out, N_h)``, updated in place. ``phases``
    and ``bounds`` as built by :func:`train_curriculum`; the step of phase p uses the phase's
    (mixture) correlations (linear networks, optionally through per-task gates) or its samples
    (``"relu"``/``"tanh"``, each task's samples weighted ``1/(n_tasks P_task)``). Observes the loss
    of every task (``"task_losses"``), their sum (``"loss"``), ``W1`` and ``W2``.
    """

    name = "curriculum GD"

    def __init__(self, W1, W2, lr: float, names, stats, phases, bounds, *, activation: str, gates=None,
                 task_data=None):
        device, dtype = W1.device, W1.dtype
        self.W1_0, self.W2_0, self.lr, self.names, self.bounds = W1, W2, lr, list(names), [int(b) for b in bounds]
        self.activation, self.gates = activation, gates

        def T(a):
            return torch.as_tensor(a, device=device, dtype=dtype)

        # loss of every task from the correlations: L = trSyy/2 - <W, Syx> + <W Sxx, W>/2 (linear network)
        self.Sxx_t = torch.stack([T(stats[n].Sxx) for n in names])
        self.Syx_t = torch.stack([T(stats[n].Syx) for n in names])
        self.trSyy_t = T([stats[n].trSyy for n in names])
        self.task_data = {n: (T(X), T(Y)) for n, (X, Y) in (task_data or {}).items()}
        self.act = {"relu": torch.relu, "tanh": torch.tanh}.get(activation)
        self.dact = {"relu": lambda z: (z > 0).to(z.dtype), "tanh": lambda z: 1 - torch.tanh(z) ** 2}.get(activation)
        self.phase_data = []
        for key, _ in phases:
            if activation == "linear":
                st = mixture_correlations(stats, key)
                data = {"Sxx": T(st.Sxx), "Syx": T(st.Syx)}
                if gates is not None:
                    data["gated"] = [(T(stats[n].Sxx), T(stats[n].Syx), gates[n]) for n in key]
            else:
                # mixture: each task's samples weighted 1/(n_tasks * P_task), i.e. the mean of the task losses
                Xs = [self.task_data[n][0] for n in key]
                Ys = [self.task_data[n][1] for n in key]
                wts = torch.cat([torch.full((x.shape[1],), 1.0 / (len(key) * x.shape[1]), device=device, dtype=dtype)
                                 for x in Xs])
                data = {"Xc": torch.cat(Xs, dim=1), "Yc": torch.cat(Ys, dim=1), "wts": wts}
            self.phase_data.append(data)

    def init(self):
        return self.W1_0.clone(), self.W2_0.clone()

    def _all_losses(self, W1, W2):
        if self.gates is not None:
            W = torch.stack([(W2 * self.gates[n]) @ W1 for n in self.names], dim=1)  # (E, n_tasks, out, in)
            lin = torch.einsum("ekij,kij->ek", W, self.Syx_t)
            quad = torch.einsum("ekij,kjl,ekil->ek", W, self.Sxx_t, W)
            return 0.5 * self.trSyy_t - lin + 0.5 * quad
        if self.activation == "linear":
            W = W2 @ W1
            lin = torch.einsum("eij,kij->ek", W, self.Syx_t)
            quad = torch.einsum("eij,kjl,eil->ek", W, self.Sxx_t, W)
            return 0.5 * self.trSyy_t - lin + 0.5 * quad
        out = []
        for n in self.names:
            X, Y = self.task_data[n]
            err = W2 @ self.act(W1 @ X) - Y
            out.append(0.5 * (err**2).sum(dim=(1, 2)) / X.shape[1])
        return torch.stack(out, dim=1)

    def observe(self, weights) -> dict:
        W1, W2 = weights
        L = self._all_losses(W1, W2)
        return {"loss": L.sum(dim=1), "task_losses": L, "W1": W1, "W2": W2}

    def _steps(self, weights, p: int, m: int):
        W1, W2 = weights
        lr, data = self.lr, self.phase_data[p]
        if self.gates is not None:  # mean over the phase's tasks, each through its own gate
            gated = data["gated"]
            for _ in range(m):
                g1 = torch.zeros_like(W1)
                g2 = torch.zeros_like(W2)
                for Sxx_k, Syx_k, G in gated:
                    Err = Syx_k - ((W2 * G) @ W1) @ Sxx_k
                    g1 += G[:, None] * (W2.transpose(1, 2) @ Err) / len(gated)
                    g2 += (Err @ W1.transpose(1, 2)) * G / len(gated)
                W1 += lr * g1
                W2 += lr * g2
        elif self.activation == "linear":
            Sxx, Syx = data["Sxx"], data["Syx"]
            for _ in range(m):
                Err = Syx - (W2 @ W1) @ Sxx  # -(dL/dW) for the map
                g1 = W2.transpose(1, 2) @ Err
                g2 = Err @ W1.transpose(1, 2)
                W1 += lr * g1
                W2 += lr * g2
        else:
            Xc, Yc, wts, act, dact = data["Xc"], data["Yc"], data["wts"], self.act, self.dact
            for _ in range(m):
                Z = W1 @ Xc
                H = act(Z)
                D = (Yc - W2 @ H) * wts  # weighted residual
                g2 = D @ H.transpose(1, 2)
                g1 = ((W2.transpose(1, 2) @ D) * dact(Z)) @ Xc.transpose(0, 1)
                W1 += lr * g1
                W2 += lr * g2
        return weights


def train_shallow_curriculum(tasks, schedule, W0, *, lr: float, record: int = 50, device=None,
                             dtype=None) -> Run:
    r"""Full-batch GD of a shallow linear network ``yhat = W x`` through a curriculum:
    ``W <- W + lr (Syx - W Sxx)`` with the phase's (mixture) correlations, ``round(duration/lr)`` steps per
    phase. ``W0`` (E, N_out, N_in) or (N_out, N_in); conventions as :func:`train_curriculum`.

    Returns a :class:`~idealnets.simulate.Run`: ``times`` (R,) ``lr * step``, ``steps``, ``losses``
    (E, R, n_tasks) the loss of every task; ``state``: ``W`` (E, R, N_out, N_in), ``total_loss`` (E, R);
    ``extras``: ``task_names``, ``switch_steps``, ``lr``.
    """
    names, stats, n_in, n_out = check_tasks(tasks)
    lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
    record = _check_record(record)
    phases = check_schedule(schedule, names)
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
    lam_max = max(float(np.linalg.eigvalsh(mixture_correlations(stats, key).Sxx)[-1]) for key, _ in phases)
    model = ShallowCurriculumGD(W, lr, names, stats, phases, bounds)
    run = engine.run(model, steps=total, record=rec, log=False, time_per_step=lr, time_unit="t = lr * step",
                     lr=lr, lr_max=2.0 / max(lam_max, 1e-300), what="the summed task loss",
                     desc="shallow curriculum", progress_bar=False,
                     extras=dict(task_names=list(names), switch_steps=bounds[1:-1].copy(), lr=lr))
    return _task_losses_first(run, names, "total_loss")


class ShallowCurriculumGD(_Phased):
    """Full-batch GD of an ensemble of shallow linear networks ``W (E, N_out, N_in)`` through a curriculum.

    One step is ``W <- W + lr (Syx - W Sxx)`` with the phase's (mixture) correlations. Observes
    every task's loss (``"task_losses"``), their sum (``"loss"``) and ``W``.
    """

    name = "shallow curriculum GD"

    def __init__(self, W, lr: float, names, stats, phases, bounds):
        device, dtype = W.device, W.dtype

        def T(a):
            return torch.as_tensor(a, device=device, dtype=dtype)

        self.W0, self.lr, self.bounds = W, lr, [int(b) for b in bounds]
        self.Sxx_t = torch.stack([T(stats[n].Sxx) for n in names])
        self.Syx_t = torch.stack([T(stats[n].Syx) for n in names])
        self.trSyy_t = T([stats[n].trSyy for n in names])
        self.phase_data = []
        for key, _ in phases:
            st = mixture_correlations(stats, key)
            self.phase_data.append((T(st.Sxx), T(st.Syx)))

    def init(self):
        return self.W0.clone()

    def observe(self, W) -> dict:
        L = (0.5 * self.trSyy_t - torch.einsum("eij,kij->ek", W, self.Syx_t)
             + 0.5 * torch.einsum("eij,kjl,eil->ek", W, self.Sxx_t, W))
        return {"loss": L.sum(dim=1), "task_losses": L, "W": W}

    def _steps(self, W, p: int, m: int):
        Sxx, Syx = self.phase_data[p]
        lr = self.lr
        for _ in range(m):
            W += lr * (Syx - W @ Sxx)
        return W


# ----------------------------------------------------------------------------- sequential regression
@dataclasses.dataclass(repr=False)
class _LegacyArrayRun(Run):
    """The :class:`~idealnets.simulate.Run` of :func:`train_sequential_regression`.

    Earlier releases returned the array ``extras["weights_after_task"]`` (E, n_tasks, N) itself;
    indexing this run, ``np.asarray(run)``, ``run.shape`` and ``len(run)`` still act on that array,
    with a :class:`DeprecationWarning`.
    """

    def _legacy(self) -> np.ndarray:
        import warnings

        warnings.warn("train_sequential_regression returns a Run; the array of earlier releases is "
                      "run.weights_after_task (same values)", DeprecationWarning, stacklevel=3)
        return self.extras["weights_after_task"]

    def __getitem__(self, index):
        return self._legacy()[index]

    def __array__(self, dtype=None, copy=None):
        a = self._legacy()
        return a if dtype is None else a.astype(dtype)

    def __len__(self) -> int:
        return len(self._legacy())

    def __bool__(self) -> bool:  # a run is true (not the length of the legacy array)
        return True

    @property
    def shape(self) -> tuple:
        return self._legacy().shape


def train_sequential_regression(Xs, ys, w0, order, *, lr: float | None = None, steps: int = 2000, device=None,
                                dtype=torch.float64) -> Run:
    r"""Gradient descent on each task of ``order`` in turn, ``steps`` full-batch steps per task on
    ``L_m = (1/2P_m)||X_m^T w - y_m||^2``, from the previous task's weights. ``w0`` (N,) or an ensemble
    (E, N) of starting weights. ``lr`` defaults to ``1/max_m lambda_max(X_m X_m^T/P_m)`` (stable: the
    limit is twice that).

    Returns a :class:`~idealnets.simulate.Run` recorded at the start and after every task
    (``steps = k * steps``): ``times`` ``lr * step``; ``losses`` (E, R) the summed loss of the tasks in
    ``order``; ``state["w"]`` (E, R, N); ``extras``: ``weights_after_task`` (E, len(order), N) the weights
    after each task (E = 1 for 1-D w0; what earlier releases returned, and indexing the run still gives
    it, with a DeprecationWarning), ``order``, ``lr``.
    """
    if np.asarray(w0).ndim == 1:  # one network: the tasks' check validates w0
        Xs_c, ys_c, w0 = check_regression_tasks(Xs, ys, np.asarray(w0))
    else:  # an ensemble (E, N): the tasks are checked against its first row
        w0 = _v.as_array(w0, "w0", ndim=2)
        Xs_c, ys_c, _ = check_regression_tasks(Xs, ys, w0[0])
    o = check_task_order(order, len(Xs_c))
    steps = _v.as_int(steps, "steps", low=1)
    lam_max = max(float(np.linalg.eigvalsh(X @ X.T / X.shape[1])[-1]) for X in Xs_c)
    lr = 1.0 / lam_max if lr is None else _v.as_float(lr, "lr", low=0.0, open_low=True)
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    w = torch.as_tensor(w0, device=device, dtype=dtype).clone()
    if w.ndim == 1:
        w = w[None]
    model = SequentialRegressionGD(w, Xs_c, ys_c, o, lr, steps)
    rec = steps * np.arange(o.size + 1)
    run = engine.run(model, steps=int(rec[-1]), record=rec, log=False, time_per_step=lr,
                     time_unit="t = lr * step", loss_name="summed loss of the tasks in order", lr=lr,
                     lr_max=2.0 / lam_max, what="the summed task loss", desc="sequential regression",
                     progress_bar=False, extras=dict(order=o.copy(), lr=lr))
    run.extras["weights_after_task"] = run.state["w"][:, 1:].copy()
    return _LegacyArrayRun(**{f.name: getattr(run, f.name) for f in dataclasses.fields(Run)})


class SequentialRegressionGD(_Phased):
    """Full-batch GD of linear students ``w (E, N)`` on one regression task after another, as an engine model.

    Phase k (``steps`` steps) is task ``order[k]``: ``w <- w + lr (Sxy - w Sxx)``. Observes the summed
    loss of the tasks in ``order`` (``"loss"``) and ``w``.
    """

    name = "sequential regression GD"

    def __init__(self, w, Xs, ys, order, lr: float, steps: int):
        device, dtype = w.device, w.dtype
        self.w0, self.order, self.lr = w, [int(m) for m in order], lr
        self.bounds = [steps * k for k in range(len(order) + 1)]
        tasks = set(order)
        self.Sxx = {m: torch.as_tensor(Xs[m] @ Xs[m].T / Xs[m].shape[1], device=device, dtype=dtype) for m in tasks}
        self.Sxy = {m: torch.as_tensor(Xs[m] @ ys[m] / Xs[m].shape[1], device=device, dtype=dtype) for m in tasks}
        self.yy = {m: float(ys[m] @ ys[m] / ys[m].size) for m in tasks}

    def init(self):
        return self.w0.clone()

    def observe(self, w) -> dict:
        loss = sum(0.5 * self.yy[m] - w @ self.Sxy[m] + 0.5 * ((w @ self.Sxx[m]) * w).sum(dim=1) for m in self.Sxx)
        return {"loss": loss, "w": w}

    def _steps(self, w, p: int, m: int):
        A, b = self.Sxx[self.order[p]], self.Sxy[self.order[p]]
        lr = self.lr
        for _ in range(m):
            w += lr * (b - w @ A)
        return w


# ----------------------------------------------------------------------------- two teachers, two heads
@_v.renamed_keywords(E="n_networks")
def teacher_pair_weights(N: int, M: int, feature_similarity: float, n_networks: int, *, seed: int = 0, device=None,
                         dtype=torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Teachers ``W*1, W*2`` (E, M, N), E = ``n_networks``, with exactly ``W*1 W*1^T/N = W*2 W*2^T/N = I`` and
    ``W*1 W*2^T/N = gamma I`` (theory.continual.teacher_pair): orthonormal rows scaled by sqrt(N),
    ``W*2 = gamma W*1 + sqrt(1-gamma^2) W_perp``. The keyword ``E`` of earlier releases still works
    (DeprecationWarning)."""
    N, M = _v.as_int(N, "N", low=1), _v.as_int(M, "M", low=1)
    E = _v.as_int(n_networks, "n_networks", low=1)
    if E * N * 2 * M > 2**30:
        raise ValueError(f"N = {N}, M = {M}, n_networks = {E} are too large: {E * N * 2 * M:.3g} teacher weights, "
                         f"more than 2^30")
    if 2 * M > N:
        raise ValueError(f"need N >= 2M for two teachers, got N = {N}, M = {M}")
    g = _v.as_float(feature_similarity, "feature_similarity", low=-1.0, high=1.0)
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    gen = make_generator(seed, device)
    A = torch.randn(E, N, 2 * M, generator=gen, device=device, dtype=dtype)
    O, _ = torch.linalg.qr(A)  # (E, N, 2M) orthonormal columns
    B = O.transpose(1, 2) * np.sqrt(N)
    W1s = B[:, :M]
    W2s = g * W1s + np.sqrt(max(1 - g * g, 0.0)) * B[:, M:]
    return W1s, W2s


def train_two_teachers(W0, h1_0, h2_0, W_star1, W_star2, v_star1, v_star2, *, lr: float, alpha_1: float,
                       alpha_2: float, record: int = 40, activation: str = "erf", seed: int = 0, lr_v=None,
                       device=None, dtype=torch.float64) -> Run:
    r"""Online SGD of a committee with a shared first layer and two heads, on teacher 1 then teacher 2
    (Lee, Goldt & Saxe 2021). Conventions of docs: Conventions, "Online SGD in committee machines" / :mod:`idealnets.simulate.committee`: ``lambda = W x/sqrt(N)``,
    ``w_k <- w_k - (lr/sqrt N) h_k Delta g'(lambda_k) x``, ``h_k <- h_k - (lr_v/N) Delta g(lambda_k)`` for the head of
    the current task, ``Delta = phi_t(x) - y_t(x)``. ``W0`` (E, K, N), heads (E, K) or (K,), teachers (E, M, N),
    readouts (M,). Phase t runs ``round(alpha_t N)`` steps. Records the order parameters at ``record``
    log-spaced steps per phase (plus the switch). ``activation``: ``"erf"``, ``"linear"`` or ``"relu"``.

    Returns a :class:`~idealnets.simulate.Run`: ``times`` (R,) ``alpha = step / N`` (``alpha`` in earlier
    releases: still readable, DeprecationWarning), ``steps``; ``losses`` (E, R, 2) the generalisation
    error of head 1 on teacher 1 and of head 2 on teacher 2, from the recorded order parameters
    (:func:`idealnets.theory.committee.generalisation_error`); ``state``: ``Q`` (E, R, K, K), ``R``
    (E, R, K, 2M) (overlaps with teacher 1's then teacher 2's units), ``h1``, ``h2`` (E, R, K);
    ``extras``: ``alpha_switch``, ``N``, ``lr``, ``lr_v``, ``activation``. Divergence is checked on
    ``tr Q`` at the recording steps.
    """
    from idealnets.theory.committee import ACTIVATIONS, generalisation_error

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
    n1, n2 = int(round(alpha_1 * N)), int(round(alpha_2 * N))
    rec1 = record_steps(n1, record)
    rec2 = n1 + record_steps(n2, record)[1:]
    rec = np.concatenate([rec1, rec2])
    model = TwoTeacherSGD(W, heads, (Ws1, Ws2), vs, lr=lr, lr_v=lr_v, n1=n1, n2=n2, activation=activation,
                          generator=make_generator(seed, device))
    run = engine.run(model, steps=n1 + n2, record=rec, steps_per_time=N, time_unit="alpha = step / N",
                     loss_name="generalisation error of each head on its teacher (last axis: 1, 2)", lr=lr,
                     what="|Q|", desc="two-teacher SGD", progress_bar=False,
                     extras=dict(alpha_switch=n1 / N, N=N, lr=lr, lr_v=lr_v, activation=activation),
                     renamed={"alpha": "times"})
    # the error of each head on its teacher, exactly from the order parameters (noise-free teachers)
    Q, R = run.state["Q"].astype(np.float64), run.state["R"].astype(np.float64)
    eps = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for t, (Ws, v) in enumerate(zip((Ws1, Ws2), vs)):
            T = (Ws @ Ws.transpose(1, 2) / N).cpu().to(torch.float64).numpy()[:, None]  # (E, 1, M, M)
            eps.append(generalisation_error(Q, R[..., t * M:(t + 1) * M], T, run.state[f"h{t + 1}"].astype(np.float64),
                                            v.cpu().to(torch.float64).numpy(), activation))
    run.losses = np.stack(eps, axis=-1)
    return run


class TwoTeacherSGD:
    """Online SGD of committee machines with a shared first layer and two heads, as an engine model.

    State: ``{"W": (E, K, N), "h": [h1, h2] (E, K), "X", "Y", "i"}``: the weights and the current
    chunk of inputs and labels. Steps ``0 .. n1-1`` train head 1 on teacher 1, steps ``n1 .. n1+n2-1``
    head 2 on teacher 2; the inputs of each phase are drawn in chunks of 256 steps from the phase's
    start (so the random stream does not depend on the recording steps). Observes ``Q``, ``R``
    (against both teachers), ``h1``, ``h2`` and ``tr Q`` (``"loss"``, for the divergence check).
    """

    name = "two-teacher SGD"
    chunk = 256

    def __init__(self, W, heads, teachers, readouts, *, lr: float, lr_v: float, n1: int, n2: int, activation: str,
                 generator: torch.Generator):
        self.W0, self.heads0, self.teachers, self.readouts = W, heads, teachers, readouts
        self.lr, self.lr_v, self.n1, self.n2, self.gen = lr, lr_v, n1, n2, generator
        self.N = W.shape[2]
        self.Wst = torch.cat(list(teachers), dim=1)
        self.g = {"erf": lambda z: torch.erf(z / np.sqrt(2.0)), "linear": lambda z: z, "relu": torch.relu}[activation]
        self.dg = {"erf": lambda z: np.sqrt(2.0 / np.pi) * torch.exp(-0.5 * z * z), "linear": torch.ones_like,
                   "relu": lambda z: (z > 0).to(z.dtype)}[activation]

    def init(self):
        return {"W": self.W0.clone(), "h": [h.clone() for h in self.heads0], "X": None, "Y": None, "i": 0}

    def observe(self, current) -> dict:
        W, N = current["W"], self.N
        Q = W @ W.transpose(1, 2) / N
        return {"loss": torch.diagonal(Q, dim1=1, dim2=2).sum(1), "Q": Q, "R": W @ self.Wst.transpose(1, 2) / N,
                "h1": current["h"][0], "h2": current["h"][1]}

    def step(self, current, k: int):
        return self.advance(current, k, 1, _no_tick)

    def advance(self, current, start: int, n: int, tick):
        W, N, gen, g, dg = current["W"], self.N, self.gen, self.g, self.dg
        sqN = float(np.sqrt(N))
        lr, lr_v, n1 = self.lr, self.lr_v, self.n1
        X, Y, i = current["X"], current["Y"], current["i"]
        for step in range(start, start + n):
            t = 0 if step < n1 else 1
            phase_start, phase_end = (0, n1) if t == 0 else (n1, n1 + self.n2)
            if (step - phase_start) % self.chunk == 0:  # a new chunk of inputs (per phase, as before the engine)
                c = min(self.chunk, phase_end - step)
                X = torch.randn(c, W.shape[0], N, generator=gen, device=W.device, dtype=W.dtype)
                Y = (g(torch.einsum("cen,emn->cem", X, self.teachers[t]) / sqN) * self.readouts[t]).sum(-1)  # (c, E)
                i = 0
            h = current["h"][t]
            x = X[i]
            lam = torch.einsum("ekn,en->ek", W, x) / sqN
            gl = g(lam)
            delta = (h * gl).sum(-1) - Y[i]  # (E,)
            W -= (lr / sqN) * (h * delta[:, None] * dg(lam))[:, :, None] * x[:, None, :]
            h -= (lr_v / N) * delta[:, None] * gl
            i += 1
        current["X"], current["Y"], current["i"] = X, Y, i
        tick(n)
        return current
