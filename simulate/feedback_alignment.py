r"""Batched training with feedback alignment: linear networks and tanh MLPs (bp / fa / dfa).

Linear networks (:func:`train_linear`): full-batch gradient descent on
``L = (1/2P) sum ||y - W2 W1 x||^2`` with the backward pass of the chosen rule,

.. math::

    W_1 \leftarrow W_1 + \eta\, F\, E, \qquad W_2 \leftarrow W_2 + \eta\, E\, W_1^\top,
    \qquad E = \Sigma^{yx} - W_2 W_1 \Sigma^{xx},

with ``F = B`` (feedback alignment, Lillicrap et al. 2016) or ``F = W2^T`` (backprop); time
``t = lr * step``, compared with :class:`idealnets.theory.feedback_alignment.FeedbackAlignmentFlow`.

MLPs (:func:`train_mlp`): ``h_l = tanh(W_l h_{l-1} + b_l)``, softmax cross-entropy on the
last layer, mini-batch SGD; the error reaching hidden layer ``l`` is
``delta_l = (W_{l+1}^T delta_{l+1}) * f'`` (``"bp"``), ``(B_{l+1} delta_{l+1}) * f'`` (``"fa"``,
fixed random ``B_{l+1}`` of the shape of ``W_{l+1}^T``) or ``(D_l e) * f'`` with the output
error ``e`` sent directly by a fixed random ``D_l`` (n_l, n_out) (``"dfa"``, Nokland 2016).
With one hidden layer ``"fa"`` and ``"dfa"`` coincide. Gradients are written out (no
autograd); an ensemble of E networks is one batched program.

Samples are columns, as everywhere in the package: ``X`` is ``(n_in, P)``
(:func:`random_binary_task` returns it so, :func:`train_mlp` takes it so). Inside the MLP's step
the activations keep the samples on their row axis, ``(E, P, n_l)``, the layout of earlier
releases: the results are then bit-identical to theirs, while computing with samples as columns
changes the summation order of the BLAS products and of the reductions over samples and classes
(measured: up to 6e-8 in float32 and 1e-16 in float64 on the weights after 20 steps).

Both trainers are models of the one training engine (:mod:`idealnets.simulate.engine`:
:class:`LinearFA`, :class:`MLPSGD`) and return its :class:`~idealnets.simulate.engine.Run`.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from idealnets.theory import validation as _v

from . import engine
from ._common import as_input, make_generator, quadratic_loss, resolve_device, resolve_dtype
from .engine import Run

__all__ = ["LinearRun", "LinearFA", "train_linear", "MLPState", "MLPRun", "MLPSGD", "init_mlp", "train_mlp",
           "random_binary_task", "RULES"]

RULES = ("bp", "fa", "dfa")


#: Deprecated name of the shared result type :class:`idealnets.simulate.Run` (kept for one release).
LinearRun = Run


def _batched(a, name, device, dtype, ndim_single):
    t = as_input(a, name, device=device, dtype=dtype, ndim=(ndim_single, ndim_single + 1))
    return t.unsqueeze(0) if t.dim() == ndim_single else t


@_v.renamed_keywords(show_progress="progress_bar")
def train_linear(W1_0, W2_0, B, X, Y, *, lr: float, steps: int, record=50, rule: str = "fa",
                 log: bool = True, device=None, dtype=torch.float64, progress_bar: bool | None = None) -> Run:
    r"""Full-batch FA (or BP) training of an ensemble of two-layer linear networks.

    ``W1_0`` (E, N_h, N_in) or (N_h, N_in), ``W2_0`` (E, N_out, N_h) or (N_out, N_h),
    ``B`` (E, N_h, N_out) or (N_h, N_out) (ignored for ``rule="bp"``), ``X`` (N_in, P),
    ``Y`` (N_out, P). ``record``: a number of (log-spaced, or linear with ``log=False``)
    points or explicit steps. Divergence is checked at recording steps only
    (:class:`idealnets.simulate._common.DivergenceMonitor`).

    Returns a :class:`~idealnets.simulate.engine.Run` (model :class:`LinearFA`): ``times`` (R,)
    = ``lr * steps`` (unit ``"t = lr * step"``), ``steps`` (R,), ``losses`` (E, R) the training
    loss; ``state``: ``W1`` (E, R, N_h, N_in), ``W2`` (E, R, N_out, N_h); ``extras``: ``rule``,
    ``lr``. ``progress_bar``: ``None`` shows it on terminals for runs of 20000 steps or more.
    """
    rule = _v.as_choice(rule, "rule", ("fa", "bp"))
    lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
    steps = _v.as_int(steps, "steps", low=0)
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    Xt = as_input(X, "X", device=device, dtype=dtype, ndim=2)
    Yt = as_input(Y, "Y", device=device, dtype=dtype, ndim=2)
    _v.check_same("X", Xt.shape[1], "Y", Yt.shape[1], "number of samples (columns)")
    W1 = _batched(W1_0, "W1_0", device, dtype, 2)
    W2 = _batched(W2_0, "W2_0", device, dtype, 2)
    Bt = _batched(B, "B", device, dtype, 2)
    E_, h, n_in = W1.shape
    n_out = Yt.shape[0]
    if n_in != Xt.shape[0]:
        raise ValueError(f"W1_0 has {n_in} inputs but X has {Xt.shape[0]} rows")
    if W2.shape[1:] != (n_out, h):
        raise ValueError(f"W2_0 must have shape (E, N_out, N_h) = (E, {n_out}, {h}), got {tuple(W2.shape)}")
    if Bt.shape[1:] != (h, n_out):
        raise ValueError(f"B must have shape (N_h, N_out) = ({h}, {n_out}) (or with an ensemble axis), "
                         f"got {tuple(Bt.shape)}")
    if W2.shape[0] != E_ or Bt.shape[0] not in (1, E_):
        raise ValueError(f"ensemble sizes differ: W1_0 {E_}, W2_0 {W2.shape[0]}, B {Bt.shape[0]}")
    P = Xt.shape[1]
    Sxx, Syx, trSyy = Xt @ Xt.T / P, Yt @ Xt.T / P, float((Yt * Yt).sum() / P)
    model = LinearFA(W1, W2, Bt, Sxx, Syx, trSyy, lr=lr, rule=rule)
    return engine.run(model, steps=steps, record=record, log=log, time_per_step=lr, time_unit="t = lr * step",
                      loss_name="training loss", lr=lr, what=f"the {rule.upper()} training loss",
                      desc=f"linear {rule}",
                      progress_bar=(False if steps < 20000 else None) if progress_bar is None else progress_bar,
                      extras={"rule": rule, "lr": lr})


class LinearFA:
    """Full-batch FA (or BP) gradient descent of two-layer linear networks, as an engine model.

    State: the pair ``(W1, W2)`` of (E, ., .) tensors (new tensors every step). One step forms
    the error ``E = Syx - W2 W1 Sxx`` and updates ``W1 += lr F E`` (``F = B`` for ``"fa"``,
    ``W2^T`` for ``"bp"``) and ``W2 += lr E W1^T``. Records the loss (``"loss"``), ``"W1"`` and ``"W2"``.
    """

    name = "linear feedback alignment"

    def __init__(self, W1, W2, B, Sxx, Syx, trSyy: float, *, lr: float, rule: str):
        self.W1, self.W2, self.B, self.Sxx, self.Syx, self.trSyy = W1, W2, B, Sxx, Syx, trSyy
        self.lr, self.rule = lr, rule

    def init(self):
        return self.W1.clone(), self.W2.clone()

    def observe(self, W):
        W1, W2 = W
        return {"loss": quadratic_loss(W2 @ W1, self.Sxx, self.Syx, self.trSyy), "W1": W1, "W2": W2}

    def step(self, W, k):
        W1, W2 = W
        lr, Syx, Sxx = self.lr, self.Syx, self.Sxx
        E = Syx - W2 @ W1 @ Sxx
        F = self.B if self.rule == "fa" else W2.transpose(-1, -2)
        dW1 = F @ E
        W2 = W2 + lr * E @ W1.transpose(-1, -2)
        W1 = W1 + lr * dW1
        return W1, W2


# ----------------------------------------------------------------------------- MLPs
@dataclass
class MLPState:
    """Weights of an ensemble of MLPs: ``Ws[l]`` (E, n_{l+1}, n_l), ``bs[l]`` (E, n_{l+1}),
    feedback ``Bs[l]`` (E, n_l, n_{l+1}) for FA (the shape of ``W_l^T``; ``Bs[0]`` unused) and
    direct feedback ``Ds[l]`` (E, n_{l+1}, n_out) for DFA; ``step`` counts updates so far."""

    Ws: list
    bs: list
    Bs: list
    Ds: list
    step: int = 0


#: Deprecated name of the shared result type :class:`idealnets.simulate.Run` (kept for one release).
MLPRun = Run


class _Records(dict):
    """``Run.state`` of :func:`train_mlp`: the records, and (deprecated) the final :class:`MLPState`.

    Earlier releases returned the final weights as ``run.state``; reading them through it
    (``run.state.Ws``) or passing ``run.state`` on to :func:`train_mlp` keeps working for one
    release with a DeprecationWarning. They are ``run.final_state`` now.
    """

    def __init__(self, records: dict, final: MLPState):
        super().__init__(records)
        self._final = final

    def __getattr__(self, name: str):
        if name.startswith("_") or name not in MLPState.__dataclass_fields__:
            raise AttributeError(name)
        warnings.warn(f"Run.state.{name} is deprecated: Run.state holds the records; the final weights are "
                      f"Run.final_state (use Run.final_state.{name})", DeprecationWarning, stacklevel=2)
        return getattr(self._final, name)


def random_binary_task(n_samples: int = 1000, n_in: int = 784, n_classes: int = 10, *, seed: int = 0,
                       device=None, dtype=torch.float32):
    """The random-patterns example of feedback alignment (after Lillicrap et al. 2016): ``n_samples`` random binary (0/1) input vectors, each
    assigned to one of ``n_classes`` classes at random. Returns X (n_in, P) with the samples as
    columns, and labels (P,).

    (Earlier releases returned X as (P, n_in); the values are the same, transposed.)
    """
    n_samples = _v.as_int(n_samples, "n_samples", low=1)
    n_in = _v.as_int(n_in, "n_in", low=1)
    n_classes = _v.as_int(n_classes, "n_classes", low=2)
    if n_samples * n_in > MAX_WEIGHTS:
        raise ValueError(f"n_samples = {n_samples} with n_in = {n_in} is too large: {n_samples * n_in:.3g} inputs, "
                         f"more than {MAX_WEIGHTS} (2^30)")
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    g = make_generator(seed, device)
    X = torch.randint(0, 2, (n_samples, n_in), generator=g, device=device).to(dtype)
    labels = torch.randint(0, n_classes, (n_samples,), generator=g, device=device)
    return X.T.contiguous(), labels


def _check_labels(labels, P: int, n_out: int, device) -> torch.Tensor:
    """Class labels (P,) as a long tensor: integers (any integer dtype, or whole floats) in ``[0, n_out)``."""
    want = f"labels must be {P} integers in [0, {n_out})"
    raw = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else labels
    try:
        lab = np.asarray(raw)
    except (TypeError, ValueError):
        raise TypeError(f"{want}, got {_v.describe(labels)}") from None
    if lab.dtype.kind not in "iuf" or lab.dtype == bool:
        raise TypeError(f"{want}, got {_v.describe(labels)}")
    if lab.shape != (P,):
        raise ValueError(f"{want}, got shape {lab.shape}")
    if lab.dtype.kind == "f" and not (np.isfinite(lab).all() and np.all(lab == np.round(lab))):
        raise ValueError(f"{want}; got fractional or non-finite values (they would be truncated)")
    if P and (lab.min() < 0 or lab.max() >= n_out):
        raise ValueError(f"{want}, got values in [{lab.min():g}, {lab.max():g}]")
    return torch.as_tensor(labels, device=device).long()


#: most weights (entries of W, B and D over the ensemble) an MLP may have: 2^30 (8 GiB in float64)
MAX_WEIGHTS = 2**30


def init_mlp(widths: Sequence[int], n_networks: int, *, seed: int = 0, gain: float = 1.0,
             feedback_scale: float = 1.0, device=None, dtype=torch.float32) -> MLPState:
    """Gaussian init ``W_l ~ N(0, gain^2/n_l)``, zero biases; feedback matrices ``B_l`` with
    i.i.d. ``N(0, feedback_scale^2/n_{l+1})`` entries (the scale ``W_l^T`` has at init when
    ``feedback_scale = gain``), ``D_l`` with ``N(0, feedback_scale^2/n_out)``."""
    widths = [_v.as_int(w, "widths entry", low=1) for w in widths]
    if len(widths) < 2:
        raise ValueError(f"widths needs at least input and output sizes, got {widths}")
    E = _v.as_int(n_networks, "n_networks", low=1)
    n_weights = E * sum(a * b * 2 + b * widths[-1] for a, b in zip(widths[:-1], widths[1:]))
    if n_weights > MAX_WEIGHTS:
        raise ValueError(f"widths {widths} with n_networks = {E} are too large: {n_weights:.3g} weights (W, B, D), "
                         f"more than MAX_WEIGHTS = {MAX_WEIGHTS} (2^30)")
    gain = _v.as_float(gain, "gain", low=0.0, open_low=True)
    fs = _v.as_float(feedback_scale, "feedback_scale", low=0.0, open_low=True)
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    g = make_generator(seed, device)
    Ws, bs, Bs, Ds = [], [], [], []
    n_out = widths[-1]
    for a, b in zip(widths[:-1], widths[1:]):
        Ws.append(torch.randn(E, b, a, generator=g, device=device, dtype=dtype) * (gain / np.sqrt(a)))
        bs.append(torch.zeros(E, b, device=device, dtype=dtype))
        Bs.append(torch.randn(E, a, b, generator=g, device=device, dtype=dtype) * (fs / np.sqrt(b)))
        Ds.append(torch.randn(E, b, n_out, generator=g, device=device, dtype=dtype) * (fs / np.sqrt(n_out)))
    if len(widths) > 2:  # the last hidden layer gets the same feedback under FA and DFA
        Ds[-2] = Bs[-1]
    return MLPState(Ws, bs, Bs, Ds)


def _forward(state: MLPState, X):
    """Activations of every layer; ``X`` (P, n_in) holds the samples as rows here (see the module docstring)."""
    hs = [X]
    h = X
    L = len(state.Ws)
    for l, (W, b) in enumerate(zip(state.Ws, state.bs)):
        z = torch.matmul(h, W.transpose(-1, -2)) + b.unsqueeze(-2)
        h = torch.tanh(z) if l < L - 1 else z
        hs.append(h)
    return hs  # hs[-1]: logits (E, P, n_out)


def _metrics(state: MLPState, X, labels):
    logits = _forward(state, X)[-1]
    logp = torch.log_softmax(logits, dim=-1)
    loss = -logp.gather(-1, labels.expand(logp.shape[0], -1).unsqueeze(-1)).squeeze(-1).mean(-1)
    acc = (logits.argmax(-1) == labels).to(logits.dtype).mean(-1)
    W, B = state.Ws[-1], state.Bs[-1]
    cos = (W.transpose(-1, -2) * B).sum((-2, -1)) / (W.norm(dim=(-2, -1)) * B.norm(dim=(-2, -1)))
    angle = torch.rad2deg(torch.arccos(cos.clamp(-1.0, 1.0)))
    return loss, acc, angle


@_v.renamed_keywords(state="W0", show_progress="progress_bar")
def train_mlp(X, labels, W0: MLPState, *, rule: str, lr: float, steps: int, batch_size: int | None = 100,
              train_layers: Sequence[bool] | None = None, record=50, log: bool = False, seed: int = 0,
              progress_bar: bool | None = None) -> Run:
    r"""Mini-batch SGD of an ensemble of tanh MLPs with backward rule ``"bp"``, ``"fa"`` or ``"dfa"``.

    ``X`` (n_in, P) shared by the ensemble, samples as columns (as :func:`random_binary_task`
    returns it), ``labels`` (P,) ints in ``[0, n_out)``; ``W0`` the initial :class:`MLPState` from
    :func:`init_mlp`, or the ``final_state`` of an earlier run (it is not modified: modified
    copies are returned in ``run.final_state``, so phases chain: train with the top layer frozen,
    then pass ``run.final_state`` on with both layers learning).
    ``train_layers``: one bool per layer (default all True; a frozen layer still passes
    errors backward). Each step draws ``batch_size`` samples (all of them with ``None``) from a
    generator seeded by ``seed`` and ``W0.step``. Metrics on the whole training set at the
    recording steps; divergence is checked there.

    Returns a :class:`~idealnets.simulate.engine.Run` (model :class:`MLPSGD`): ``steps`` (R,) the
    recorded steps counted from the first phase (``W0.step`` plus the steps of this call),
    ``times`` the same (unit ``"SGD step"``), ``losses`` (E, R) the cross-entropy on the full
    training set; ``state``: ``accuracy`` (E, R) on it and ``angle`` (E, R) in degrees between
    ``vec(W_top^T)`` and ``vec(B_top)``; ``extras``: ``final_state`` (the trained
    :class:`MLPState`), ``rule``, ``lr``, ``batch_size``, ``train_layers``, ``seed``.
    ``progress_bar``: ``None`` shows it on terminals for runs of 2000 steps or more.

    Earlier releases took ``X`` as (P, n_in): that layout is still accepted, with a
    DeprecationWarning, where it is unambiguous (P != n_in); and they returned the final weights
    as ``run.state`` (reading them through ``run.state.Ws`` or passing ``run.state`` as ``W0``
    still works, with a DeprecationWarning).
    """
    rule = _v.as_choice(rule, "rule", RULES)
    lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
    steps = _v.as_int(steps, "steps", low=0)
    if isinstance(W0, _Records):
        warnings.warn("train_mlp(): passing run.state as W0 is deprecated; pass run.final_state",
                      DeprecationWarning, stacklevel=3)
        W0 = W0._final
    if not isinstance(W0, MLPState):
        raise TypeError(f"W0 must be an MLPState (from init_mlp, or a run's final_state), got {_v.describe(W0)}")
    Wfirst = W0.Ws[0]
    device, dtype = Wfirst.device, Wfirst.dtype
    n_in = Wfirst.shape[-1]
    X = as_input(X, "X", device=device, dtype=dtype, ndim=2)
    if X.shape[0] == n_in:
        Xr = X.T.contiguous()  # samples on the row axis inside the step (module docstring)
    elif X.shape[1] == n_in:
        warnings.warn(f"train_mlp(): X of shape {tuple(X.shape)} holds the samples as rows, which is deprecated; "
                      f"pass X as (n_in, P) = ({n_in}, {X.shape[0]}) with the samples as columns",
                      DeprecationWarning, stacklevel=3)
        Xr = X
    else:
        raise ValueError(f"X has {X.shape[0]} rows (input features) but the network takes {n_in}; "
                         f"X must be (n_in, P) with the samples as columns")
    n_out = W0.Ws[-1].shape[1]
    P = Xr.shape[0]
    labels = _check_labels(labels, P, n_out, device)
    L = len(W0.Ws)
    train_layers = [True] * L if train_layers is None else [_v.as_bool(b, "train_layers entry") for b in train_layers]
    if len(train_layers) != L:
        raise ValueError(f"train_layers needs one flag per layer ({L}), got {len(train_layers)}")
    bsz = P if batch_size is None else _v.as_int(batch_size, "batch_size", low=1, high=P)
    seed = _v.as_seed(seed)
    g = make_generator(seed + 1_000_003 * W0.step, device)
    model = MLPSGD(W0, Xr, labels, rule=rule, lr=lr, batch_size=bsz, train_layers=train_layers, generator=g)
    run = engine.run(model, steps=steps, record=record, log=log, time_unit="SGD step", loss_name="cross-entropy",
                     lr=lr, what=f"the {rule.upper()} cross-entropy", desc=f"MLP {rule}",
                     progress_bar=(False if steps < 2000 else None) if progress_bar is None else progress_bar,
                     extras={"rule": rule, "lr": lr, "batch_size": bsz, "train_layers": train_layers, "seed": seed},
                     finish=lambda st: {"final_state": st})
    run.steps = run.steps + W0.step
    run.times = run.steps.astype(float)
    run.state = _Records(run.state, run.extras["final_state"])
    return run


class MLPSGD:
    """Mini-batch SGD of an ensemble of tanh MLPs under a backward rule of :data:`RULES`, as an engine model.

    State: an :class:`MLPState` (its weights and biases copied from ``W0``, updated in place; the
    feedback matrices shared; ``step`` counts updates). One step draws a mini-batch from
    ``generator``, runs the forward pass, sends the output error back by the rule and updates the
    trainable layers. Records the cross-entropy (``"loss"``), the ``"accuracy"`` on the whole
    training set and the ``"angle"`` (degrees) between ``vec(W_top^T)`` and ``vec(B_top)``.
    """

    name = "MLP feedback alignment"

    def __init__(self, W0: MLPState, X, labels, *, rule: str, lr: float, batch_size: int,
                 train_layers: Sequence[bool], generator: torch.Generator):
        self.W0, self.X, self.labels, self.rule, self.lr = W0, X, labels, rule, lr
        self.bsz, self.train_layers, self.g = batch_size, list(train_layers), generator
        self.P = X.shape[0]
        self.onehot = torch.nn.functional.one_hot(labels, W0.Ws[-1].shape[1]).to(X.dtype)

    def init(self):
        s = self.W0
        return MLPState([w.clone() for w in s.Ws], [b.clone() for b in s.bs], s.Bs, s.Ds, s.step)

    def observe(self, st):
        loss, acc, angle = _metrics(st, self.X, self.labels)
        return {"loss": loss, "accuracy": acc, "angle": angle}

    def step(self, st, k):
        P, bsz, lr, rule = self.P, self.bsz, self.lr, self.rule
        L = len(st.Ws)
        idx = torch.randint(0, P, (bsz,), generator=self.g, device=self.X.device) if bsz < P else slice(None)
        xb, yb = self.X[idx], self.onehot[idx]
        hs = _forward(st, xb)
        e = (torch.softmax(hs[-1], dim=-1) - yb) / bsz  # dLoss/dlogits, (E, b, n_out)
        delta = e
        grads = [None] * L
        for l in range(L - 1, -1, -1):
            grads[l] = (torch.matmul(delta.transpose(-1, -2), hs[l]), delta.sum(-2))
            if l == 0:
                break
            fprime = 1.0 - hs[l] ** 2
            if rule == "bp":
                back = torch.matmul(delta, st.Ws[l])
            elif rule == "fa":
                back = torch.matmul(delta, st.Bs[l].transpose(-1, -2))
            else:
                back = torch.matmul(e, st.Ds[l - 1].transpose(-1, -2))
            delta = back * fprime
        for l in range(L):
            if self.train_layers[l]:
                st.Ws[l] -= lr * grads[l][0]
                st.bs[l] -= lr * grads[l][1]
        st.step += 1
        return st
