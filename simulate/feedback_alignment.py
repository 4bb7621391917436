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
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

from idealnets.theory import validation as _v

from ._common import DivergenceMonitor, as_input, make_generator, progress, record_steps, resolve_device, resolve_dtype

__all__ = ["LinearRun", "train_linear", "MLPState", "MLPRun", "init_mlp", "train_mlp", "random_binary_task",
           "RULES"]

RULES = ("bp", "fa", "dfa")


@dataclass
class LinearRun:
    """Result of :func:`train_linear`: ``times`` (R,) = lr * steps, ``steps`` (R,),
    ``W1`` (E, R, N_h, N_in), ``W2`` (E, R, N_out, N_h), ``losses`` (E, R)."""

    times: np.ndarray
    steps: np.ndarray
    W1: np.ndarray
    W2: np.ndarray
    losses: np.ndarray


def _batched(a, name, device, dtype, ndim_single):
    t = as_input(a, name, device=device, dtype=dtype, ndim=(ndim_single, ndim_single + 1))
    return t.unsqueeze(0) if t.dim() == ndim_single else t


def train_linear(W1_0, W2_0, B, X, Y, *, lr: float, steps: int, record=50, rule: str = "fa",
                 log: bool = True, device=None, dtype=torch.float64, show_progress: bool | None = None) -> LinearRun:
    r"""Full-batch FA (or BP) training of an ensemble of two-layer linear networks.

    ``W1_0`` (E, N_h, N_in) or (N_h, N_in), ``W2_0`` (E, N_out, N_h) or (N_out, N_h),
    ``B`` (E, N_h, N_out) or (N_h, N_out) (ignored for ``rule="bp"``), ``X`` (N_in, P),
    ``Y`` (N_out, P). ``record``: a number of (log-spaced, or linear with ``log=False``)
    points or explicit steps. Divergence is checked at recording steps only
    (:class:`idealnets.simulate._common.DivergenceMonitor`).
    """
    rule = _v.as_choice(rule, "rule", ("fa", "bp"))
    lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
    steps = _v.as_int(steps, "steps", low=0)
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    Xt = as_input(X, "X", device=device, dtype=dtype, ndim=2)
    Yt = as_input(Y, "Y", device=device, dtype=dtype, ndim=2)
    _v.check_same("X", Xt.shape[1], "Y", Yt.shape[1], "number of samples (columns)")
    W1 = _batched(W1_0, "W1_0", device, dtype, 2).clone()
    W2 = _batched(W2_0, "W2_0", device, dtype, 2).clone()
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
    rec = record_steps(steps, record, log=log)
    R = rec.size
    W1s = torch.empty(E_, R, h, n_in, device=device, dtype=dtype)
    W2s = torch.empty(E_, R, n_out, h, device=device, dtype=dtype)
    losses = torch.empty(E_, R, device=device, dtype=dtype)
    monitor = DivergenceMonitor(lr=lr, what=f"the {rule.upper()} training loss")

    def loss_of(W):
        return 0.5 * trSyy - (W * Syx).sum((-2, -1)) + 0.5 * ((W @ Sxx) * W).sum((-2, -1))

    bar = progress(steps, f"linear {rule}", disable=show_progress if show_progress is not None else steps < 20000)
    r = 0
    with torch.no_grad():
        for k in range(steps + 1):
            if r < R and k == rec[r]:
                W1s[:, r], W2s[:, r] = W1, W2
                losses[:, r] = loss_of(W2 @ W1)
                monitor(k, losses[:, r])
                r += 1
            if k == steps:
                break
            E = Syx - W2 @ W1 @ Sxx
            F = Bt if rule == "fa" else W2.transpose(-1, -2)
            dW1 = F @ E
            W2 = W2 + lr * E @ W1.transpose(-1, -2)
            W1 = W1 + lr * dW1
            bar.update(1)
    bar.close()
    return LinearRun(rec * lr, rec, W1s.cpu().numpy(), W2s.cpu().numpy(), losses.cpu().numpy())


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


@dataclass
class MLPRun:
    """Result of :func:`train_mlp`: ``steps`` (R,), ``losses``/``accuracy`` (E, R) on the full
    training set, ``angle`` (E, R) in degrees between ``vec(W_top^T)`` and ``vec(B_top)``,
    and the final ``state``."""

    steps: np.ndarray
    losses: np.ndarray
    accuracy: np.ndarray
    angle: np.ndarray
    state: MLPState = field(repr=False)


def random_binary_task(n_samples: int = 1000, n_in: int = 784, n_classes: int = 10, *, seed: int = 0,
                       device=None, dtype=torch.float32):
    """The lecture's "extreme example": ``n_samples`` random binary (0/1) input vectors, each
    assigned to one of ``n_classes`` classes at random. Returns X (P, n_in), labels (P,)."""
    n_samples = _v.as_int(n_samples, "n_samples", low=1)
    n_in = _v.as_int(n_in, "n_in", low=1)
    n_classes = _v.as_int(n_classes, "n_classes", low=2)
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    g = make_generator(_v.as_seed(seed), device)
    X = torch.randint(0, 2, (n_samples, n_in), generator=g, device=device).to(dtype)
    labels = torch.randint(0, n_classes, (n_samples,), generator=g, device=device)
    return X, labels


def init_mlp(widths: Sequence[int], n_networks: int, *, seed: int = 0, gain: float = 1.0,
             feedback_scale: float = 1.0, device=None, dtype=torch.float32) -> MLPState:
    """Gaussian init ``W_l ~ N(0, gain^2/n_l)``, zero biases; feedback matrices ``B_l`` with
    i.i.d. ``N(0, feedback_scale^2/n_{l+1})`` entries (the scale ``W_l^T`` has at init when
    ``feedback_scale = gain``), ``D_l`` with ``N(0, feedback_scale^2/n_out)``."""
    widths = [_v.as_int(w, "widths entry", low=1) for w in widths]
    if len(widths) < 2:
        raise ValueError(f"widths needs at least input and output sizes, got {widths}")
    E = _v.as_int(n_networks, "n_networks", low=1)
    gain = _v.as_float(gain, "gain", low=0.0, open_low=True)
    fs = _v.as_float(feedback_scale, "feedback_scale", low=0.0, open_low=True)
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    g = make_generator(_v.as_seed(seed), device)
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


def train_mlp(X, labels, state: MLPState, *, rule: str, lr: float, steps: int, batch_size: int | None = 100,
              train_layers: Sequence[bool] | None = None, record=50, log: bool = False, seed: int = 0,
              show_progress: bool | None = None) -> MLPRun:
    r"""Mini-batch SGD of an ensemble of tanh MLPs with backward rule ``"bp"``, ``"fa"`` or ``"dfa"``.

    ``X`` (P, n_in) shared by the ensemble, ``labels`` (P,) ints in ``[0, n_out)``; ``state``
    from :func:`init_mlp` (modified copies are returned in ``run.state``, so phases chain:
    train with the top layer frozen, then pass ``run.state`` on with both layers learning).
    ``train_layers``: one bool per layer (default all True; a frozen layer still passes
    errors backward). Each step draws ``batch_size`` samples (all of them with ``None``) from a
    generator seeded by ``seed`` and ``state.step``. Metrics on the whole training set at the
    recording steps; divergence is checked there.
    """
    rule = _v.as_choice(rule, "rule", RULES)
    lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
    steps = _v.as_int(steps, "steps", low=0)
    W0 = state.Ws[0]
    device, dtype = W0.device, W0.dtype
    X = as_input(X, "X", device=device, dtype=dtype, ndim=2)
    if X.shape[1] != W0.shape[-1]:
        raise ValueError(f"X has {X.shape[1]} features but the network takes {W0.shape[-1]}")
    labels = torch.as_tensor(labels, device=device).long()
    n_out = state.Ws[-1].shape[1]
    if labels.shape != (X.shape[0],) or labels.min() < 0 or labels.max() >= n_out:
        raise ValueError(f"labels must be {X.shape[0]} integers in [0, {n_out})")
    L = len(state.Ws)
    train_layers = [True] * L if train_layers is None else [_v.as_bool(b, "train_layers entry") for b in train_layers]
    if len(train_layers) != L:
        raise ValueError(f"train_layers needs one flag per layer ({L}), got {len(train_layers)}")
    P = X.shape[0]
    bsz = P if batch_size is None else _v.as_int(batch_size, "batch_size", low=1, high=P)
    g = make_generator(_v.as_seed(seed) + 1_000_003 * state.step, device)
    st = MLPState([w.clone() for w in state.Ws], [b.clone() for b in state.bs], state.Bs, state.Ds, state.step)
    onehot = torch.nn.functional.one_hot(labels, n_out).to(dtype)
    rec = record_steps(steps, record, log=log)
    R = rec.size
    E = W0.shape[0]
    losses = torch.empty(E, R, device=device, dtype=dtype)
    accs, angles = torch.empty_like(losses), torch.empty_like(losses)
    monitor = DivergenceMonitor(lr=lr, what=f"the {rule.upper()} cross-entropy")
    bar = progress(steps, f"MLP {rule}", disable=show_progress if show_progress is not None else steps < 2000)
    r = 0
    with torch.no_grad():
        for k in range(steps + 1):
            if r < R and k == rec[r]:
                losses[:, r], accs[:, r], angles[:, r] = _metrics(st, X, labels)
                monitor(st.step, losses[:, r])
                r += 1
            if k == steps:
                break
            idx = torch.randint(0, P, (bsz,), generator=g, device=device) if bsz < P else slice(None)
            xb, yb = X[idx], onehot[idx]
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
                if train_layers[l]:
                    st.Ws[l] -= lr * grads[l][0]
                    st.bs[l] -= lr * grads[l][1]
            st.step += 1
            bar.update(1)
    bar.close()
    return MLPRun(rec + state.step, losses.cpu().numpy(), accs.cpu().numpy(), angles.cpu().numpy(), st)
