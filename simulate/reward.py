r"""Learning from reward: batched TD agents and batched RL perceptrons.

Ensembles of agents that check :mod:`idealnets.theory.reward` (docs: Learning from reward):

* :func:`train_td`: ``n_networks`` TD(0) agents with linear features on a finite Markov chain,
  one sampled transition per agent and step, either i.i.d. from the state weights
  (``sampling="iid"``, where the exact mean recursion of
  :class:`~idealnets.theory.reward.TDLinear` holds) or along each agent's own trajectory
  (``"trajectory"``: the sampled state is correlated with the weights, so the mean recursion
  is only the small-lr approximation);
* :func:`train_cue_reward`: agents on the conditioning trial
  (:class:`~idealnets.theory.reward.CueRewardTrial`), online TD(0) step by step within each
  trial, the reward drawn with probability ``p_reward``;
* :func:`train_rl_perceptron`: RL perceptrons in ``N`` dimensions (Patel, Lee, Sarao Mannelli,
  Goldt & Saxe 2025), many seeds in one tensor program (GPU when present).
* :func:`train_rl_perceptron_batch`: several independent RL-perceptron trainings (different
  ``T``, ``N``, seeds, records) simulated in their overlaps together, each bit-identical to its own
  :func:`train_rl_perceptron` run.

Every trainer is a model of the one training engine (:mod:`idealnets.simulate.engine`) and
returns its :class:`~idealnets.simulate.engine.Run`.
"""
from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import torch

from idealnets.theory import validation as _v
from idealnets.theory.reward import CONDITIONS, CueRewardTrial, TDLinear

from . import engine
from ._common import as_input, make_generator, progress, record_steps, resolve_device, resolve_dtype
from .engine import Run

__all__ = ["SAMPLINGS", "METHODS", "train_td", "train_cue_reward", "train_rl_perceptron", "train_rl_perceptron_batch",
           "TDAgents", "CueRewardAgents",
           "RLPerceptrons", "RLPerceptronOverlaps", "N_NETWORKS_MAX"]

SAMPLINGS = ("iid", "trajectory")
#: how :func:`train_rl_perceptron` simulates: the full N-dimensional weights, or the exact
#: low-dimensional process of the overlaps (same law of (R, Q), O(T) work per episode)
METHODS = ("full", "overlaps")
#: the largest ensemble a trainer accepts
N_NETWORKS_MAX = 10**6


def _progress(steps, progress_bar):
    return (False if steps < 50000 else None) if progress_bar is None else _v.as_bool(progress_bar, "progress_bar")


def train_td(td: TDLinear, *, lr: float, steps: int, n_networks: int = 64, w0=None, sampling: str = "iid",
             record=50, log: bool = True, seed: int = 0, device=None, dtype=torch.float64,
             progress_bar: bool | None = None, raise_on_divergence: bool = True) -> Run:
    r"""Train ``n_networks`` TD(0) agents on the chain of ``td`` for ``steps`` transitions each.

    ``td``: a :class:`~idealnets.theory.reward.TDLinear` (features, transitions, rewards,
    discount, state weights ``D``). ``sampling="iid"``: each step draws ``s ~ D``,
    ``s' ~ P[s]`` afresh; ``"trajectory"``: each agent walks its own chain from ``s_0 ~ D``
    (``s <- s'``). Rewards are ``td.r[s]``. ``w0`` (d,) or (n_networks, d), default 0.
    Divergence is checked on the value error (stable limit ``td.stable_lr()`` of the mean).

    Returns a :class:`~idealnets.simulate.engine.Run`: ``losses`` (E, R) the value error
    ``sum_s D_s (Phi[s].w - V(s))^2``, ``state["w"]`` (E, R, d); ``times`` the steps.
    """
    if not isinstance(td, TDLinear):
        raise TypeError(f"td must be an idealnets.theory.reward.TDLinear, got {type(td).__name__}")
    lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
    steps = _v.as_int(steps, "steps", low=0, high=10**9)
    E = _v.as_int(n_networks, "n_networks", low=1, high=N_NETWORKS_MAX)
    sampling = _v.as_choice(sampling, "sampling", SAMPLINGS)
    seed = _v.as_seed(seed)
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    w = _initial(w0, E, td.d, device, dtype)
    model = TDAgents(td, w, lr=lr, sampling=sampling, generator=make_generator(seed, device))
    return engine.run(model, steps=steps, record=record, log=log, time_unit="step",
                      loss_name="value error sum_s D_s (V_w(s) - V(s))^2", lr=lr, lr_max=td.stable_lr(),
                      what="the value error", desc=f"TD agents ({sampling})",
                      progress_bar=_progress(steps, progress_bar), raise_on_divergence=raise_on_divergence,
                      extras={"lr": lr, "sampling": sampling, "seed": seed})


def _initial(w0, E, d, device, dtype):
    if w0 is None:
        return torch.zeros(E, d, device=device, dtype=dtype)
    w = as_input(w0, "w0", device=device, dtype=dtype, ndim=(1, 2))
    if w.shape[-1] != d or (w.dim() == 2 and w.shape[0] != E):
        raise ValueError(f"w0 must have shape ({d},) or ({E}, {d}), got {tuple(w.shape)}")
    return w.expand(E, d).clone()


def _sample(cum: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Indices drawn by inverse CDF: ``cum`` (..., n) cumulative probabilities, ``u`` uniform."""
    idx = torch.searchsorted(cum, u.unsqueeze(-1)).squeeze(-1)
    return idx.clamp_(max=cum.shape[-1] - 1)


class TDAgents:
    """TD(0) agents with linear features as an engine model. State: ``{"w": (E, d), "s": (E,)}``."""

    name = "td_linear"

    def __init__(self, td: TDLinear, w0: torch.Tensor, *, lr: float, sampling: str, generator: torch.Generator):
        dev, dt = w0.device, w0.dtype
        self.w0, self.lr, self.sampling, self.g = w0, lr, sampling, generator
        self.gamma = td.gamma
        self.Phi = torch.as_tensor(td.Phi, device=dev, dtype=dt)
        self.r = torch.as_tensor(td.r, device=dev, dtype=dt)
        self.V = torch.as_tensor(td.values, device=dev, dtype=dt)
        self.D = torch.as_tensor(td.D, device=dev, dtype=dt)
        self.cumD = torch.cumsum(torch.as_tensor(td.D, device=dev, dtype=torch.float64), 0)
        self.cumP = torch.cumsum(torch.as_tensor(td.P, device=dev, dtype=torch.float64), 1)

    def init(self):
        E = self.w0.shape[0]
        s = _sample(self.cumD, torch.rand(E, generator=self.g, device=self.w0.device, dtype=torch.float64))
        return {"w": self.w0.clone(), "s": s}

    def step(self, state, k):
        w, s = state["w"], state["s"]
        E = w.shape[0]
        u = torch.rand(2, E, generator=self.g, device=w.device, dtype=torch.float64)
        if self.sampling == "iid":
            s = _sample(self.cumD, u[0])
        s2 = _sample(self.cumP[s], u[1])
        phi, phi2 = self.Phi[s], self.Phi[s2]
        delta = self.r[s] + self.gamma * (phi2 * w).sum(1) - (phi * w).sum(1)
        w.add_(self.lr * delta.unsqueeze(1) * phi)
        state["s"] = s2
        return state

    def observe(self, state):
        w = state["w"]
        err = w @ self.Phi.T - self.V
        return {"loss": (err * err) @ self.D, "w": w}


def train_cue_reward(trial: CueRewardTrial, *, lr: float, trials: int, n_networks: int = 64, w0=None,
                     record=None, seed: int = 0, device=None, dtype=torch.float64,
                     progress_bar: bool | None = None) -> Run:
    r"""Train ``n_networks`` TD(0) agents on ``trials`` conditioning trials, online within each trial.

    Each trial runs the steps ``t = 0..L-1`` in order, updating ``w <- w + lr delta_t x_t`` at each
    step; the reward (``trial.reward``) arrives at ``trial.reward_time`` with probability
    ``trial.p_reward``, drawn per agent and trial. ``record``: trial counts at which to record
    (default every trial). ``lr < trial.stable_lr() = 2``.

    Returns a :class:`~idealnets.simulate.engine.Run` with ``steps`` the number of trials done;
    ``state["delta"]`` (E, R, L): the TD errors the agents experienced on the trial *just
    finished* (trial ``steps - 1``; NaN at ``steps = 0``), ``state["w"]`` (E, R, d);
    ``losses``: squared error of the values ``sum_t (V_t - V*_t)^2`` against the learned ones.
    """
    if not isinstance(trial, CueRewardTrial):
        raise TypeError(f"trial must be an idealnets.theory.reward.CueRewardTrial, got {type(trial).__name__}")
    lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
    lim = trial.stable_lr()
    if not lr < lim:
        raise ValueError(f"lr = {lr:g} is at or above the stable limit stable_lr = {lim:g} of the trial")
    trials = _v.as_int(trials, "trials", low=0, high=10**6)
    E = _v.as_int(n_networks, "n_networks", low=1, high=N_NETWORKS_MAX)
    seed = _v.as_seed(seed)
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    w = _initial(w0, E, trial.d, device, dtype)
    if record is None:
        record = np.arange(trials + 1)
    model = CueRewardAgents(trial, w, lr=lr, generator=make_generator(seed, device))
    return engine.run(model, steps=trials, record=record, log=False, time_unit="trial",
                      loss_name="value error sum_t (V_t - V*_t)^2", lr=lr, lr_max=lim, what="the value error",
                      desc="cue-reward agents", progress_bar=_progress(trials, progress_bar),
                      extras={"lr": lr, "seed": seed})


class CueRewardAgents:
    """Online TD(0) on the conditioning trial as an engine model. State: ``{"w": (E, d), "delta": (E, L)}``."""

    name = "cue_reward"

    def __init__(self, trial: CueRewardTrial, w0: torch.Tensor, *, lr: float, generator: torch.Generator):
        self.trial, self.w0, self.lr, self.g = trial, w0, lr, generator
        dev, dt = w0.device, w0.dtype
        self.w_star = torch.as_tensor(trial.fixed_point(), device=dev, dtype=dt)

    def init(self):
        E, d = self.w0.shape
        return {"w": self.w0.clone(), "delta": torch.full((E, self.trial.L), float("nan"), device=self.w0.device,
                                                          dtype=self.w0.dtype)}

    def step(self, state, k):
        tr, w, delta, lr, gamma = self.trial, state["w"], state["delta"], self.lr, self.trial.gamma
        E = w.shape[0]
        got = torch.rand(E, generator=self.g, device=w.device, dtype=torch.float64) < tr.p_reward
        rew = got.to(w.dtype) * tr.reward
        c = tr.cue_time
        zero = torch.zeros(E, device=w.device, dtype=w.dtype)
        for t in range(tr.L):
            v_now = w[:, t - c] if t >= c else zero
            v_next = w[:, t + 1 - c] if c <= t + 1 < tr.L else zero
            d = gamma * v_next - v_now
            if t == tr.reward_time:
                d = d + rew
            delta[:, t] = d
            if t >= c:
                w[:, t - c] += lr * d
        return state

    def observe(self, state):
        err = state["w"] - self.w_star
        return {"loss": (err * err).sum(1), "w": state["w"], "delta": state["delta"]}


def train_rl_perceptron(W0, w_star, *, T: int, lr_1: float, lr_2: float = 0.0, condition: str = "all",
                        n: int | None = None, alpha_max: float, record=50, log: bool = False, seed: int = 0,
                        method: str = "full", device=None, dtype=torch.float64,
                        progress_bar: bool | None = None) -> Run:
    r"""Train RL perceptrons ``W0`` (E, N) against the teacher ``w_star`` (N,) for ``alpha_max * N`` episodes.

    Per episode and network: ``T`` fresh inputs ``x_t ~ N(0, I_N)``, decisions ``y_t = sign(w.x_t)``
    (``+1`` on a tie), correct when equal to ``sign(w*.x_t)``; rewarded when all ``T`` are
    correct (``condition="all"``) or at least ``n`` (``"at_least"``); then
    ``w <- w + c/(T sqrt N) sum_t y_t x_t`` with ``c = lr_1`` if rewarded, ``-lr_2`` if not
    (conventions of :class:`~idealnets.theory.reward.RLPerceptronODE`). ``w_star`` is rescaled to
    ``|w*|^2 = N``.

    ``method="full"`` trains the ``N``-dimensional weights (``E T N`` Gaussian draws per episode).
    ``method="overlaps"`` simulates the same process exactly in law, in the overlaps only (our
    reduction; docs: Learning from reward, "Exact simulation in the overlaps"): with
    ``e_1 = w*/sqrt N`` and ``e_2`` the unit vector of ``w`` orthogonal to it, an input has
    ``nu_t = x_t.e_1``, ``z_t = x_t.e_2`` and an independent rest ``x_t^perp`` in ``N - 2``
    dimensions; ``lambda_t = R nu_t + sqrt(Q - R^2) z_t``, and since ``y_t = +-1`` does not depend
    on ``x_t^perp``, ``|sum_t y_t x_t^perp|^2 ~ T chi^2_{N-2}``. So one episode needs ``2T``
    normals and one chi-square draw:
    ``R <- R + (c/(T N)) sum_t y_t nu_t``,
    ``Q <- Q + (2c/(T N)) sum_t |lambda_t| + c^2 [(sum y nu)^2 + (sum y z)^2 + T chi^2_{N-2}] / (T^2 N^2)``.
    By rotation invariance the law of ``(R_k, Q_k)`` is that of the full simulation for every
    ``k`` and ``N`` (tested against it). ``W0`` then only sets the initial overlaps.

    Returns a :class:`~idealnets.simulate.engine.Run`, ``times`` in ``alpha = episode / N``:
    ``losses`` (E, R) the per-decision error ``arccos(R / sqrt Q) / pi``, ``state["R"]``,
    ``state["Q"]`` (E, R) the overlaps, ``state["reward_rate"]`` the fraction of rewarded episodes
    since the previous record (NaN at the first).
    """
    model, steps, kw = _rl_setup(W0, w_star, T=T, lr_1=lr_1, lr_2=lr_2, condition=condition, n=n,
                                 alpha_max=alpha_max, seed=seed, method=method, device=device, dtype=dtype)
    return engine.run(model, steps=steps, record=record, log=log, progress_bar=_progress(steps, progress_bar), **kw)


def _rl_setup(W0, w_star, *, T, lr_1, lr_2, condition, n, alpha_max, seed, method, device, dtype):
    """Validate :func:`train_rl_perceptron`'s arguments: its model, its number of episodes and the
    keywords of :func:`~idealnets.simulate.engine.run` other than ``record``, ``log`` and ``progress_bar``."""
    T = _v.as_int(T, "T", low=1, high=10**4)
    lr_1 = _v.as_float(lr_1, "lr_1", low=0.0)
    lr_2 = _v.as_float(lr_2, "lr_2", low=0.0)
    condition = _v.as_choice(condition, "condition", CONDITIONS)
    if condition == "all":
        if n is not None and _v.as_int(n, "n", low=0) != T:
            raise ValueError(f"condition 'all' means n = T = {T}; got n = {n!r}")
        n = T
    else:
        if n is None:
            raise ValueError("condition 'at_least' needs n")
        n = _v.as_int(n, "n", low=0, high=T)
    alpha_max = _v.as_float(alpha_max, "alpha_max", low=0.0)
    seed = _v.as_seed(seed)
    method = _v.as_choice(method, "method", METHODS)
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    W = as_input(W0, "W0", device=device, dtype=dtype, ndim=2)
    E, N = W.shape
    _v.as_int(E, "the number of networks (rows of W0)", low=1, high=N_NETWORKS_MAX)
    if N < 1 or E * T * N > 2**31:
        raise ValueError(f"W0 of shape {tuple(W.shape)} with T = {T}: need N >= 1 and E * T * N <= 2^31")
    ws = as_input(w_star, "w_star", device=device, dtype=dtype, shape=(N,))
    norm = float(ws.norm())
    if not norm > 0:
        raise ValueError("w_star must not be zero")
    ws = ws * (math.sqrt(N) / norm)
    steps = int(round(alpha_max * N))
    if steps > 10**9:
        raise ValueError(f"alpha_max * N = {steps} episodes is above 10^9")
    cls = RLPerceptrons if method == "full" else RLPerceptronOverlaps
    if method == "overlaps" and N < 3:
        raise ValueError(f"method 'overlaps' needs N >= 3, got N = {N}")
    model = cls(W, ws, T=T, lr_1=lr_1, lr_2=lr_2, n=n, generator=make_generator(seed, device))
    kw = dict(steps_per_time=N, time_unit="alpha = episode / N", loss_name="per-decision error arccos(R/sqrt Q)/pi",
              what="the per-decision error", lr=lr_1, divergence_factor=float("inf"), desc=f"RL perceptron T={T}",
              extras={"T": T, "lr_1": lr_1, "lr_2": lr_2, "condition": condition, "n": n, "N": N, "seed": seed,
                      "method": method})
    return model, steps, kw


#: the keywords a condition of :func:`train_rl_perceptron_batch` may hold
_BATCH_KEYS = ("W0", "w_star", "T", "lr_1", "lr_2", "condition", "n", "alpha_max", "record", "log", "seed", "method")


def train_rl_perceptron_batch(conditions, *, device=None, dtype=torch.float64,
                              progress_bar: bool | None = None) -> list[Run]:
    r"""Several independent RL-perceptron trainings (``method="overlaps"``) in one program.

    ``conditions``: a sequence of dicts of :func:`train_rl_perceptron`'s keywords (``W0``,
    ``w_star``, ``T``, ``lr_1``, ``alpha_max`` required; ``lr_2``, ``condition``, ``n``,
    ``record``, ``log``, ``seed`` optional; ``method`` only ``"overlaps"``). Returns the list of
    :class:`~idealnets.simulate.engine.Run`, one per condition, equal to
    ``[train_rl_perceptron(**c, method="overlaps", device=device, dtype=dtype) for c in conditions]``
    (the same random draws from each condition's own ``seed``, the same arithmetic on them), but on
    CPUs the episodes of all conditions advance together: one NumPy operation per episode acts on
    the rows of every condition at once (decisions of conditions with fewer than the largest ``T``
    padded with zero inputs, which add exactly zero to every sum and always count as correct), so
    the Python loop runs ``max(alpha_max * N)`` times instead of ``sum(alpha_max * N)``. Each
    Run's ``wall_s`` is the wall time of the whole batch.
    """
    conds = list(conditions)
    prepared = []
    for i, c in enumerate(conds):
        if not isinstance(c, dict):
            raise TypeError(f"conditions[{i}] must be a dict of train_rl_perceptron's keywords, got {type(c).__name__}")
        extra = sorted(set(c) - set(_BATCH_KEYS))
        if extra:
            raise TypeError(f"conditions[{i}] has unknown keywords {extra}; allowed: {list(_BATCH_KEYS)}")
        missing = [k for k in ("W0", "w_star", "T", "lr_1", "alpha_max") if k not in c]
        if missing:
            raise TypeError(f"conditions[{i}] lacks {missing}")
        if c.get("method", "overlaps") != "overlaps":
            raise ValueError(f"conditions[{i}]: train_rl_perceptron_batch runs method 'overlaps' only, "
                             f"got {c['method']!r}")
        model, steps, kw = _rl_setup(c["W0"], c["w_star"], T=c["T"], lr_1=c["lr_1"], lr_2=c.get("lr_2", 0.0),
                                     condition=c.get("condition", "all"), n=c.get("n"), alpha_max=c["alpha_max"],
                                     seed=c.get("seed", 0), method="overlaps", device=device, dtype=dtype)
        log = _v.as_bool(c.get("log", False), "log")
        rec = record_steps(steps, c.get("record", 50), log=log)
        prepared.append((model, steps, kw, rec))
    show = None if progress_bar is None else _v.as_bool(progress_bar, "progress_bar")
    joint = bool(prepared) and prepared[0][0].W0.device.type == "cpu" and prepared[0][0].W0.dtype == torch.float64
    if not joint:  # GPUs (and other dtypes): each condition by the engine, the torch loop
        return [engine.run(m, steps=steps, record=rec, progress_bar=_progress(steps, show), **kw)
                for m, steps, kw, rec in prepared]
    # NumPy reduces rows of fewer than 8 numbers left to right, so zero padding leaves their sums
    # bit-identical; larger T are batched only with the same T
    groups: dict = {}
    for i, (m, *_rest) in enumerate(prepared):
        groups.setdefault(0 if m.T < 8 else m.T, []).append(i)
    obs: list = [None] * len(prepared)
    t0 = time.perf_counter()
    total = sum(p[1] for p in prepared)
    shown = _progress(total, show)
    bar = progress(total, "RL perceptrons (batch)", disable=None if shown is None else not shown)
    for idx in groups.values():
        for i, o in zip(idx, _overlaps_jointly([prepared[i][0] for i in idx], [prepared[i][3] for i in idx],
                                               bar.update)):
            obs[i] = o
    bar.close()
    wall = time.perf_counter() - t0
    runs = []
    for (m, steps, kw, rec), o in zip(prepared, obs):
        run = engine.run(_Replay(m.name, o), steps=steps, record=rec, progress_bar=False, **kw)
        runs.append(dataclasses.replace(run, wall_s=wall))
    return runs


class _Replay:
    """An engine model that replays recorded observations (the engine then assembles the Run)."""

    def __init__(self, name, observations):
        self.name, self._obs = name, iter(observations)

    def init(self):
        return None

    def advance(self, state, start, n, tick):
        return state

    def observe(self, state):
        return next(self._obs)


def _overlaps_jointly(models, recs, tick):
    """Run :class:`RLPerceptronOverlaps` models (CPU, float64) together, each for ``recs[k][-1]``
    episodes; return each model's observations at its recording steps ``recs[k]``."""
    K = len(models)
    Tm = max(m.T for m in models)
    E = [m.W0.shape[0] for m in models]
    off = np.concatenate([[0], np.cumsum(E)]).astype(int)
    states = [m.init() for m in models]
    R = np.concatenate([s["R"].numpy() for s in states])
    Q = np.concatenate([s["Q"].numpy() for s in states])
    cnt = np.zeros(off[-1])
    since = [0] * K

    def per_row(vals):
        return np.concatenate([np.full(e, v, dtype=float) for e, v in zip(E, vals)])

    # the operands of RLPerceptronOverlaps' NumPy loop, one per row; padded decisions are always correct
    n_row = np.concatenate([np.full(e, m.n + Tm - m.T) for e, m in zip(E, models)])
    l1_row, l2_row = per_row([m.lr_1 for m in models]), per_row([-m.lr_2 for m in models])
    tn_row = per_row([2.0 * (1.0 / (m.T * m.W0.shape[1])) for m in models])
    inv_tn_row = per_row([1.0 / (m.T * m.W0.shape[1]) for m in models])
    t2n2_row = per_row([1.0 / (m.T * m.T * m.W0.shape[1] * m.W0.shape[1]) for m in models])

    def observe(k):
        sl = slice(off[k], off[k + 1])
        st = {"R": torch.from_numpy(R[sl].copy()), "Q": torch.from_numpy(Q[sl].copy()),
              "rewarded": torch.from_numpy(cnt[sl].copy()), "since": since[k]}
        o = models[k].observe(st)
        cnt[sl] = 0.0
        since[k] = 0
        return o

    def draws(m, rec):  # the blocks of random draws of RLPerceptronOverlaps.advance, in its order
        block = m._block_size(m.W0.shape[0])
        for a, b in zip(rec[:-1], rec[1:]):
            done, n = 0, int(b - a)
            while done < n:
                bb = min(block, n - done)
                nz, snu, chi = m._draw(bb, m.W0.shape[0], "cpu", torch.float64)
                yield nz.numpy(), snu.numpy(), chi.numpy()
                done += bb

    out = [[observe(k)] for k in range(K)]
    src = [draws(m, rec) for m, rec in zip(models, recs)]
    cur: list = [None] * K
    pos = [0] * K
    nxt = [1] * K
    steps = [int(rec[-1]) for rec in recs]
    t = 0
    while t < max(steps):
        act = [k for k in range(K) if steps[k] > t]
        for k in act:
            if cur[k] is None or pos[k] == cur[k][0].shape[0]:
                cur[k], pos[k] = next(src[k]), 0
        L = min(min(cur[k][0].shape[0] - pos[k], int(recs[k][nxt[k]]) - t) for k in act)
        rows = np.concatenate([np.arange(off[k], off[k + 1]) for k in act])
        ea = rows.size
        nz = np.zeros((L, 2, ea, Tm))
        snu = np.ones((L, ea, Tm))
        chi = np.empty((L, ea))
        o = 0
        for k in act:
            e, T, p = E[k], models[k].T, pos[k]
            nz[:, :, o:o + e, :T] = cur[k][0][p:p + L]
            snu[:, o:o + e, :T] = cur[k][1][p:p + L]
            chi[:, o:o + e] = cur[k][2][p:p + L]
            o += e
        R_a, Q_a, c_a = _joint_episodes(R[rows], Q[rows], cnt[rows], nz, snu, chi, n_row[rows], l1_row[rows],
                                        l2_row[rows], tn_row[rows], inv_tn_row[rows], t2n2_row[rows])
        R[rows], Q[rows], cnt[rows] = R_a, Q_a, c_a
        t += L
        for k in act:
            pos[k] += L
            since[k] += L
            if int(recs[k][nxt[k]]) == t:
                out[k].append(observe(k))
                nxt[k] += 1
        tick(L * len(act))
    return out


def _joint_episodes(R, Q, cnt, nz, snu, chi, n, l1, l2, tn2, inv_tn, inv_t2n2):
    """RLPerceptronOverlaps' episode loop in NumPy, on ``nz.shape[0]`` episodes. The constants are scalars
    (one model) or one per row (models batched by :func:`_overlaps_jointly`: the same operations in the same
    order, so each row's numbers are those of its own model's loop). ``cnt`` is updated in place."""
    add = np.add.reduce  # ndarray.sum without its Python wrapper: the same reduction
    for i in range(nz.shape[0]):
        nu, z = nz[i, 0], nz[i, 1]
        s = np.sqrt(np.maximum(Q - R * R, 0.0))
        lam = R[:, None] * nu + s[:, None] * z
        y = np.where(lam >= 0, 1.0, -1.0)
        rewarded = add(snu[i] == y, 1) >= n
        c = np.where(rewarded, l1, l2)
        ynu, yz = add(y * nz[i], 2)  # (y nu, y z) summed over the T decisions
        Q = Q + tn2 * c * add(np.abs(lam), 1) + inv_t2n2 * c * c * (ynu * ynu + yz * yz + chi[i])
        R = R + inv_tn * c * ynu
        cnt += rewarded
    return R, Q, cnt


class RLPerceptrons:
    """Batched RL perceptrons as an engine model. State: ``{"w": (E, N), "rewarded": (E,) count}``."""

    name = "rl_perceptron"

    def __init__(self, W0, w_star, *, T, lr_1, lr_2, n, generator):
        self.W0, self.w_star, self.T, self.n, self.g = W0, w_star, T, n, generator
        self.lr_1, self.lr_2 = lr_1, lr_2
        N = W0.shape[1]
        self.scale = 1.0 / (T * math.sqrt(N))

    def init(self):
        E = self.W0.shape[0]
        return {"w": self.W0.clone(), "rewarded": torch.zeros(E, device=self.W0.device, dtype=self.W0.dtype),
                "since": 0}

    def step(self, state, k):
        w = state["w"]
        E, N = w.shape
        x = torch.randn(E, self.T, N, generator=self.g, device=w.device, dtype=w.dtype)
        lam = torch.bmm(x, w.unsqueeze(2)).squeeze(2)  # (E, T), up to 1/sqrt N
        nu = x @ self.w_star
        y = torch.where(lam >= 0, 1.0, -1.0).to(w.dtype)
        correct = ((nu >= 0).to(w.dtype) * 2 - 1) == y
        rewarded = correct.sum(1) >= self.n
        c = torch.where(rewarded, self.lr_1, -self.lr_2).to(w.dtype) * self.scale
        w.add_(c.unsqueeze(1) * torch.bmm(y.unsqueeze(1), x).squeeze(1))
        state["rewarded"] += rewarded.to(w.dtype)
        state["since"] += 1
        return state

    def observe(self, state):
        w = state["w"]
        N = w.shape[1]
        R = (w @ self.w_star) / N
        Q = (w * w).sum(1) / N
        rate = state["rewarded"] / state["since"] if state["since"] else torch.full_like(R, float("nan"))
        state["rewarded"] = torch.zeros_like(state["rewarded"])
        state["since"] = 0
        # a zero student decides +1 on every input (the tie rule): error 1/2
        err = torch.where(Q > 0, torch.arccos((R / Q.clamp(min=1e-300).sqrt()).clamp(-1.0, 1.0)) / math.pi, 0.5)
        return {"loss": err, "R": R, "Q": Q, "reward_rate": rate}


def _chi2(dof: int, shape, g: torch.Generator, device, dtype) -> torch.Tensor:
    """Chi-square draws with ``dof >= 2`` degrees of freedom from ``g``: ``2 Gamma(dof/2)`` by
    Marsaglia & Tsang's (2000) exact rejection method (shape ``a = dof/2 >= 1``)."""
    a = dof / 2.0
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    size = math.prod(shape)
    out = torch.empty(size, device=device, dtype=dtype)
    todo = torch.ones(size, device=device, dtype=torch.bool)
    while bool(todo.any()):
        m = int(todo.sum())
        x = torch.randn(m, generator=g, device=device, dtype=dtype)
        u = torch.rand(m, generator=g, device=device, dtype=dtype)
        v = (1.0 + c * x) ** 3
        ok = (v > 0) & (torch.log(u) < 0.5 * x * x + d - d * v + d * torch.log(v.clamp(min=1e-300)))
        idx = torch.nonzero(todo).squeeze(1)
        out[idx[ok]] = 2.0 * d * v[ok]
        todo[idx[ok]] = False
    return out.reshape(shape)


class RLPerceptronOverlaps(RLPerceptrons):
    """The RL perceptron simulated exactly in its overlaps (``method="overlaps"`` of
    :func:`train_rl_perceptron`). State: ``{"R": (E,), "Q": (E,), ...}``; O(T) work per episode."""

    name = "rl_perceptron_overlaps"

    def init(self):
        E, N = self.W0.shape
        st = super().init()
        w = st.pop("w")
        st["R"] = (w @ self.w_star) / N
        st["Q"] = (w * w).sum(1) / N
        return st

    #: episodes whose random draws are made at once (bounded memory: BLOCK * E * (2T + 1) numbers)
    BLOCK = 2048
    #: on CPU, run the per-episode arithmetic in NumPy (same operations, far less per-call overhead)
    numpy_loop = True

    def step(self, state, k):
        return self.advance(state, k, 1, None)

    def advance(self, state, start, n, tick):
        R, Q = state["R"], state["Q"]
        E = R.shape[0]
        N = self.W0.shape[1]
        T = self.T
        inv_tn, inv_t2n2 = 1.0 / (T * N), 1.0 / (T * T * N * N)
        block = self._block_size(E)
        done = 0
        while done < n:
            b = min(block, n - done)
            nz, snu, chi = self._draw(b, E, R.device, R.dtype)
            if R.device.type == "cpu" and self.numpy_loop:  # the same arithmetic in NumPy: a fraction of torch's per-call overhead
                R, Q = self._episodes_numpy(R, Q, nz, snu, chi, state["rewarded"], inv_tn, inv_t2n2)
                done += b
                if tick is not None:
                    tick(b)
                continue
            for i in range(b):
                nu, z = nz[i, 0], nz[i, 1]
                s = (Q - R * R).clamp_(min=0.0).sqrt_()
                lam = torch.addcmul(R.unsqueeze(1) * nu, s.unsqueeze(1), z)
                y = torch.where(lam >= 0, 1.0, -1.0).to(R.dtype)
                rewarded = (snu[i] == y).sum(1) >= self.n
                c = torch.where(rewarded, self.lr_1, -self.lr_2).to(R.dtype)
                ynu, yz = (y * nu).sum(1), (y * z).sum(1)
                Q = Q + (2.0 * inv_tn) * c * lam.abs().sum(1) + inv_t2n2 * c * c * (ynu * ynu + yz * yz + chi[i])
                R = R + inv_tn * c * ynu
                state["rewarded"] += rewarded
            done += b
            if tick is not None:
                tick(b)
        state["R"], state["Q"] = R, Q
        state["since"] += n
        return state

    def _block_size(self, E: int) -> int:
        """Episodes drawn at once for ``E`` networks (bounded memory: ``BLOCK * E * (2T + 1)`` numbers)."""
        return max(1, min(self.BLOCK, (1 << 22) // max(1, E * (2 * self.T + 1))))

    def _draw(self, b: int, E: int, device, dtype):
        """The random draws of ``b`` episodes of ``E`` networks, in their order on the model's generator:
        ``nz`` (b, 2, E, T) the Gaussians (nu, z) of each decision, ``snu = sign(nu)`` (the teacher's
        decisions) and ``chi`` (b, E) the chi-square (N - 2 degrees) of the input orthogonal to w and w*."""
        nz = torch.randn(b, 2, E, self.T, generator=self.g, device=device, dtype=dtype)
        chi = _chi2(self.W0.shape[1] - 2, (b, E), self.g, device, dtype) * self.T
        snu = torch.where(nz[:, 0] >= 0, 1.0, -1.0).to(dtype)
        return nz, snu, chi

    def _episodes_numpy(self, R, Q, nz, snu, chi, count, inv_tn, inv_t2n2):
        R, Q, _ = _joint_episodes(R.numpy().copy(), Q.numpy().copy(), count.numpy(), nz.numpy(), snu.numpy(),
                                  chi.numpy(), self.n, self.lr_1, -self.lr_2, 2.0 * inv_tn, inv_tn, inv_t2n2)
        return torch.from_numpy(R), torch.from_numpy(Q)

    def observe(self, state):
        R, Q = state["R"], state["Q"]
        rate = state["rewarded"] / state["since"] if state["since"] else torch.full_like(R, float("nan"))
        state["rewarded"] = torch.zeros_like(state["rewarded"])
        state["since"] = 0
        err = torch.where(Q > 0, torch.arccos((R / Q.clamp(min=1e-300).sqrt()).clamp(-1.0, 1.0)) / math.pi, 0.5)
        return {"loss": err, "R": R, "Q": Q, "reward_rate": rate}
