r"""Batched recurrent networks (Elman 1990) trained by BPTT, truncated BPTT and RTRL.

Ensembles of E networks ``h_t = phi(W_h h_{t-1} + W_x x_t)`` (h_0 = 0; ``phi`` identity or
tanh), output ``yhat = W_y h_T`` (``readout="final"``) or ``yhat_t = W_y h_t`` at every step
(``readout="all"``), trained by full-batch gradient descent on the package's loss
``(1/2P) sum_mu ||y_mu - yhat_mu||^2`` (summed over steps for ``readout="all"``), with
weights kept as batched tensors ``W_x`` (E, N_h, N_in), ``W_h`` (E, N_h, N_h), ``W_y``
(E, N_out, N_h): one Python loop over steps, none over networks.

Gradients are written out by hand (no autograd in the step loop):

* ``"bptt"``: reverse mode through all T steps (:func:`idealnets.theory.recurrent.bptt_gradient`
  for the linear case);
* ``"tbptt"``: the backward pass stops after the last ``k`` steps, i.e. ``h_{T-k}`` is a
  constant (torch: ``h.detach()`` after step ``T-k``), the convention of
  :func:`idealnets.theory.recurrent.tbptt_gradient`;
* ``"rtrl"``: forward-mode sensitivities ``dh_t/dW`` carried with the state (Williams &
  Zipser 1989), equal to BPTT to rounding; memory O(E N_h^2 (N_h + N_in) P), so use it at
  small sizes.

Time is ``t = lr * steps`` (gradient flow with tau = 1). Conventions (device, seeds,
float64, recording steps, divergence) are those of :mod:`idealnets.simulate._common`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from idealnets.theory import validation as _v

from ._common import (
    DivergenceMonitor,
    as_input,
    make_generator,
    progress,
    record_steps,
    resolve_device,
    resolve_dtype,
)

__all__ = ["RNNRun", "random_init", "aligned_init", "forward", "loss", "gradients", "train",
           "hidden_gradient_norms", "lag_map_strengths", "METHODS", "NONLINEARITIES"]

METHODS = ("bptt", "tbptt", "rtrl")
NONLINEARITIES = ("linear", "tanh")
READOUTS = ("final", "all")


@dataclass
class RNNRun:
    """Recorded training run of an ensemble.

    ``times`` (R,) = lr * steps; ``steps`` (R,); ``losses`` (E, R); ``weights`` a tuple
    ``(W_x (E, R, N_h, N_in), W_h (E, R, N_h, N_h), W_y (E, R, N_out, N_h))`` as NumPy
    arrays; ``diverged`` (E,) flags.
    """

    times: np.ndarray
    steps: np.ndarray
    losses: np.ndarray
    weights: tuple
    lr: float
    method: str
    k: int | None
    nonlinearity: str
    readout: str
    diverged: np.ndarray


# ----------------------------------------------------------------------------- initialisation
def random_init(n_in: int, n_hidden: int, n_out: int, *, n_networks: int, scale: float = 0.1,
                recurrent_scale: float | None = None, seed: int = 0, device=None, dtype=torch.float64):
    r"""I.i.d. Gaussian weights: ``W_x, W_y`` entries ``N(0, scale^2 / fan_in)``, ``W_h`` entries
    ``N(0, recurrent_scale^2 / N_h)`` (spectral radius about ``recurrent_scale``; default ``scale``).

    Returns a tuple of (E, ., .) tensors on ``device``.
    """
    n_in, n_hidden, n_out = (_v.as_int(v, n, low=1) for v, n in ((n_in, "n_in"), (n_hidden, "n_hidden"),
                                                                 (n_out, "n_out")))
    E = _v.as_int(n_networks, "n_networks", low=1)
    scale = _v.as_float(scale, "scale", low=0.0)
    rs = scale if recurrent_scale is None else _v.as_float(recurrent_scale, "recurrent_scale", low=0.0)
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    g = make_generator(_v.as_seed(seed), device)
    kw = dict(generator=g, device=device, dtype=dtype)
    Wx = torch.randn(E, n_hidden, n_in, **kw) * scale / np.sqrt(n_in)
    Wh = torch.randn(E, n_hidden, n_hidden, **kw) * rs / np.sqrt(n_hidden)
    Wy = torch.randn(E, n_out, n_hidden, **kw) * scale / np.sqrt(n_hidden)
    return Wx, Wh, Wy


def aligned_init(b0, a0, c0, U, V, *, n_hidden: int, n_networks: int, seed: int = 0, device=None,
                 dtype=torch.float64):
    r"""Mode-aligned weights ``W_x = R diag(b0) V^T``, ``W_h = R diag(a0) R^T``, ``W_y = U diag(c0) R^T``.

    ``b0, a0, c0`` scalars, (r,) or (n_networks, r) (one start per network). A Haar-random
    ``R`` (N_h, r) with orthonormal columns per network (the theory does not depend on it); ``U`` (N_out, r), ``V`` (N_in, r) from :func:`idealnets.theory.recurrent.mode_reduction`.
    """
    U = _v.as_array(U, "U", ndim=2)
    V = _v.as_array(V, "V", ndim=2)
    r = U.shape[1]
    n_hidden = _v.as_int(n_hidden, "n_hidden", low=r)
    E = _v.as_int(n_networks, "n_networks", low=1)
    try:
        b0, a0, c0 = (np.broadcast_to(_v.as_array(v, n, ndim=(0, 1, 2)), (E, r)) for v, n in
                      ((b0, "b0"), (a0, "a0"), (c0, "c0")))
    except ValueError as err:
        raise ValueError(f"b0, a0, c0 must broadcast to (n_networks, r) = ({E}, {r}): {err}") from None
    rng = np.random.default_rng(_v.as_seed(seed))
    Q, Rr = np.linalg.qr(rng.standard_normal((E, n_hidden, r)))
    R = Q * np.sign(np.diagonal(Rr, axis1=-2, axis2=-1))[:, None, :]
    Wx = np.einsum("ehr,er,ir->ehi", R, b0, V)
    Wh = np.einsum("ehr,er,egr->ehg", R, a0, R)
    Wy = np.einsum("or,er,ehr->eoh", U, c0, R)
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    return tuple(torch.as_tensor(w, device=device, dtype=dtype) for w in (Wx, Wh, Wy))


# ----------------------------------------------------------------------------- forward / loss / gradients
def _phi(z, nonlinearity):
    return z if nonlinearity == "linear" else torch.tanh(z)


def _forward(Wx, Wh, X, nonlinearity):
    """Hidden states H (T+1, E, N_h, P), H[0] = 0."""
    T = X.shape[1]
    E, n_h = Wx.shape[0], Wx.shape[1]
    H = X.new_zeros((T + 1, E, n_h, X.shape[2]))
    inp = torch.einsum("ehi,itp->tehp", Wx, X)
    for t in range(1, T + 1):
        H[t] = _phi(torch.bmm(Wh, H[t - 1]) + inp[t - 1], nonlinearity)
    return H


def _outputs(Wy, H, readout):
    if readout == "final":
        return torch.bmm(Wy, H[-1])  # (E, N_out, P)
    return torch.einsum("eoh,tehp->teop", Wy, H[1:])  # (T, E, N_out, P)


def _target(Y, readout):
    return Y if readout == "final" else Y.permute(1, 0, 2)[:, None]  # (N_out, P) or (T, 1, N_out, P)


def _loss_from(Wy, H, Yt, readout, P):
    R = _outputs(Wy, H, readout) - Yt
    return (R**2).sum(dim=(-2, -1) if readout == "final" else (0, -2, -1)) / (2 * P)


def _grads(Wx, Wh, Wy, X, Yt, method, k, nonlinearity, readout):
    """Batched gradients (gWx, gWh, gWy) and the current losses (E,)."""
    T, P = X.shape[1], X.shape[2]
    if method == "rtrl":
        return _rtrl(Wx, Wh, Wy, X, Yt, nonlinearity, readout)
    H = _forward(Wx, Wh, X, nonlinearity)
    out = _outputs(Wy, H, readout)
    Err = (out - Yt) / P
    L = (Err**2).sum(dim=(-2, -1) if readout == "final" else (0, -2, -1)) * (P / 2)
    WyT, WhT = Wy.transpose(1, 2), Wh.transpose(1, 2)
    if readout == "final":
        gWy = torch.bmm(Err, H[-1].transpose(1, 2))
        g = torch.bmm(WyT, Err)
    else:
        gWy = torch.einsum("teop,tehp->eoh", Err, H[1:])
        g = torch.zeros_like(H[0])
    gWx, gWh = torch.zeros_like(Wx), torch.zeros_like(Wh)
    t_stop = 1 if (method == "bptt" or k is None) else max(1, T - k + 1)
    for t in range(T, t_stop - 1, -1):
        if readout == "all":
            g = g + torch.bmm(WyT, Err[t - 1])
        d = g if nonlinearity == "linear" else g * (1 - H[t] ** 2)
        gWx += torch.einsum("ehp,ip->ehi", d, X[:, t - 1])
        gWh += torch.bmm(d, H[t - 1].transpose(1, 2))
        g = torch.bmm(WhT, d)
    return (gWx, gWh, gWy), L


def _rtrl(Wx, Wh, Wy, X, Yt, nonlinearity, readout):
    """Forward-mode sensitivities Sx (E, N_h, N_h, N_in, P), Sh (E, N_h, N_h, N_h, P)."""
    E, n_h, n_in = Wx.shape
    T, P = X.shape[1], X.shape[2]
    eye = torch.eye(n_h, dtype=X.dtype, device=X.device)
    Sx = X.new_zeros((E, n_h, n_h, n_in, P))
    Sh = X.new_zeros((E, n_h, n_h, n_h, P))
    h = X.new_zeros((E, n_h, P))
    gWx, gWh, gWy = torch.zeros_like(Wx), torch.zeros_like(Wh), torch.zeros_like(Wy)
    L = X.new_zeros(E)
    for t in range(1, T + 1):
        x = X[:, t - 1]
        z = torch.bmm(Wh, h) + torch.einsum("ehi,ip->ehp", Wx, x)
        Sx = torch.einsum("eij,ejabp->eiabp", Wh, Sx) + torch.einsum("ia,bp->iabp", eye, x)[None]
        Sh = torch.einsum("eij,ejabp->eiabp", Wh, Sh) + torch.einsum("ia,ebp->eiabp", eye, h)
        h = _phi(z, nonlinearity)
        if nonlinearity == "tanh":
            dphi = (1 - h**2)[:, :, None, None, :]
            Sx, Sh = Sx * dphi, Sh * dphi
        if readout == "all" or t == T:
            y = Yt if readout == "final" else Yt[t - 1]
            Err = (torch.bmm(Wy, h) - y) / P
            L = L + (Err**2).sum(dim=(-2, -1)) * (P / 2)
            g = torch.bmm(Wy.transpose(1, 2), Err)
            gWy += torch.bmm(Err, h.transpose(1, 2))
            gWx += torch.einsum("eip,eiabp->eab", g, Sx)
            gWh += torch.einsum("eip,eiabp->eab", g, Sh)
    return (gWx, gWh, gWy), L


def _check_common(weights, X, Y, method, k, nonlinearity, readout, device, dtype):
    method = _v.as_choice(method, "method", METHODS)
    nonlinearity = _v.as_choice(nonlinearity, "nonlinearity", NONLINEARITIES)
    readout = _v.as_choice(readout, "readout", READOUTS)
    if method == "tbptt":
        if k is None:
            raise ValueError("method='tbptt' needs a truncation window k >= 1")
        k = _v.as_int(k, "k", low=1)
        if readout != "final":
            raise ValueError("method='tbptt' is implemented for readout='final' only")
    elif k is not None:
        raise ValueError(f"k is the TBPTT window; it is only used with method='tbptt', got method={method!r}")
    if not isinstance(weights, (tuple, list)) or len(weights) != 3:
        raise TypeError("weights must be a tuple (W_x, W_h, W_y) of (E, ., .) tensors")
    device = resolve_device(device if device is not None else
                            (weights[0].device if isinstance(weights[0], torch.Tensor) else None))
    dtype = resolve_dtype(dtype)
    Wx = as_input(weights[0], "W_x", device=device, dtype=dtype, ndim=3)
    E, n_h, n_in = Wx.shape
    Wh = as_input(weights[1], "W_h", device=device, dtype=dtype, shape=(E, n_h, n_h))
    Wy = as_input(weights[2], "W_y", device=device, dtype=dtype, shape=(E, None, n_h))
    Xn = _v.as_array(X.detach().cpu().numpy() if isinstance(X, torch.Tensor) else X, "X", ndim=3, allow_empty=True)
    if Xn.shape[1] < 1:
        raise ValueError(f"X must hold sequences of length T >= 1 (shape (N_in, T, P)), got T = {Xn.shape[1]}")
    if Xn.shape[0] != n_in or Xn.shape[2] < 1:
        raise ValueError(f"X must have shape (N_in={n_in}, T, P), got {Xn.shape}")
    Xt = torch.as_tensor(Xn, device=device, dtype=dtype)
    want = (Wy.shape[1], Xn.shape[2]) if readout == "final" else (Wy.shape[1], Xn.shape[1], Xn.shape[2])
    Yt = as_input(Y, "Y", device=device, dtype=dtype, shape=want)
    return (Wx, Wh, Wy), Xt, _target(Yt, readout), method, k, nonlinearity, readout


def gradients(weights, X, Y, *, method: str = "bptt", k: int | None = None, nonlinearity: str = "linear",
              readout: str = "final", device=None, dtype=torch.float64):
    r"""Batched ``(dL/dW_x, dL/dW_h, dL/dW_y)`` (each (E, ., .)) of every network's mean loss.

    ``weights`` (W_x (E, N_h, N_in), W_h (E, N_h, N_h), W_y (E, N_out, N_h)); ``X`` (N_in, T, P)
    shared by the ensemble; ``Y`` (N_out, P) (``readout="all"``: (N_out, T, P)).
    """
    W, Xt, Yt, method, k, nonlinearity, readout = _check_common(weights, X, Y, method, k, nonlinearity, readout,
                                                                device, dtype)
    with torch.no_grad():
        return _grads(*W, Xt, Yt, method, k, nonlinearity, readout)[0]


def forward(weights, X, *, nonlinearity: str = "linear", device=None, dtype=torch.float64) -> torch.Tensor:
    """Hidden states (T+1, E, N_h, P) of every network (index 0 is h_0 = 0)."""
    Y = np.zeros((weights[2].shape[1], np.shape(X)[2]))
    W, Xt, _, _, _, nonlinearity, _ = _check_common(weights, X, Y, "bptt", None, nonlinearity, "final", device, dtype)
    with torch.no_grad():
        return _forward(W[0], W[1], Xt, nonlinearity)


def loss(weights, X, Y, *, nonlinearity: str = "linear", readout: str = "final", device=None,
         dtype=torch.float64) -> torch.Tensor:
    """Per-network loss (E,)."""
    W, Xt, Yt, _, _, nonlinearity, readout = _check_common(weights, X, Y, "bptt", None, nonlinearity, readout,
                                                           device, dtype)
    with torch.no_grad():
        return _loss_from(W[2], _forward(W[0], W[1], Xt, nonlinearity), Yt, readout, Xt.shape[2])


def train(weights, X, Y, *, lr: float, steps: int, method: str = "bptt", k: int | None = None,
          nonlinearity: str = "linear", readout: str = "final", record=60, device=None, dtype=torch.float64,
          raise_on_divergence: bool = True, desc: str = "rnn") -> RNNRun:
    r"""Full-batch gradient descent ``W <- W - lr dL/dW`` on an ensemble, recording at log-spaced steps.

    ``weights`` as in :func:`gradients` (from :func:`random_init` or :func:`aligned_init`);
    ``method`` in ``("bptt", "tbptt", "rtrl")`` (``k`` the TBPTT window); compare with
    gradient flow at ``t = lr * steps``. Divergence is checked at recording steps only
    (:class:`idealnets.simulate._common.DivergenceMonitor`).
    """
    lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
    steps = _v.as_int(steps, "steps", low=0)
    W, Xt, Yt, method, k, nonlinearity, readout = _check_common(weights, X, Y, method, k, nonlinearity, readout,
                                                                device, dtype)
    Wx, Wh, Wy = (w.clone() for w in W)
    rec = record_steps(steps, record)
    R = rec.size
    E = Wx.shape[0]
    P = Xt.shape[2]
    losses = Xt.new_empty((E, R))
    hist = [Xt.new_empty((E, R, *w.shape[1:])) for w in (Wx, Wh, Wy)]
    monitor = DivergenceMonitor(lr=lr, raise_on_divergence=raise_on_divergence)
    rec_set = {int(s): i for i, s in enumerate(rec)}
    bar = progress(steps, desc, disable=steps < 20000)
    with torch.no_grad():
        for step in range(steps + 1):
            if step in rec_set:
                i = rec_set[step]
                losses[:, i] = _loss_from(Wy, _forward(Wx, Wh, Xt, nonlinearity), Yt, readout, P)
                for h, w in zip(hist, (Wx, Wh, Wy)):
                    h[:, i] = w
                monitor(step, losses[:, i])
            if step == steps:
                break
            (gx, gh, gy), _ = _grads(Wx, Wh, Wy, Xt, Yt, method, k, nonlinearity, readout)
            Wx -= lr * gx
            Wh -= lr * gh
            Wy -= lr * gy
            bar.update(1)
    bar.close()
    return RNNRun(times=lr * rec.astype(float), steps=rec, losses=losses.cpu().numpy(),
                  weights=tuple(h.cpu().numpy() for h in hist), lr=lr, method=method, k=k,
                  nonlinearity=nonlinearity, readout=readout, diverged=monitor.diverged_numpy(E))


def lag_map_strengths(weights, U, V, n_lags: int) -> np.ndarray:
    r"""Mode strengths of the lag maps, ``U_alpha^T W_y W_h^k W_x V_alpha`` (..., n_lags, r), from NumPy weights.

    ``weights`` arrays with any leading axes (e.g. ``RNNRun.weights``: (E, R, ., .)). For
    aligned networks this is ``c a^k b``, the theory's :meth:`LinearRNNTheory.mode_maps`.
    """
    Wx, Wh, Wy = (np.asarray(w, dtype=float) for w in weights)
    n = _v.as_int(n_lags, "n_lags", low=1)
    out = []
    A = Wx @ np.asarray(V, dtype=float)  # (..., N_h, r)
    Ut = np.asarray(U, dtype=float).T
    for _ in range(n):
        out.append(np.einsum("ro,...or->...r", Ut, Wy @ A))
        A = Wh @ A
    return np.stack(out, axis=-2)


def hidden_gradient_norms(weights, X, Y, *, nonlinearity: str = "linear", device=None,
                          dtype=torch.float64) -> np.ndarray:
    r"""``||dL/dh_t||`` (E, T) for t = 1..T by autograd (``retain_grad`` on every hidden state).

    Final readout. The linear theory: ``dL/dh_{T-k} = (W_h^T)^k dL/dh_T``
    (:func:`idealnets.theory.recurrent.gradient_norm_through_time`).
    """
    W, Xt, Yt, _, _, nonlinearity, _ = _check_common(weights, X, Y, "bptt", None, nonlinearity, "final", device,
                                                     dtype)
    Wx, Wh, Wy = W[0], W[1].detach().clone().requires_grad_(True), W[2]
    T, P = Xt.shape[1], Xt.shape[2]
    hs = []
    h = Xt.new_zeros((Wx.shape[0], Wx.shape[1], P))
    with torch.enable_grad():
        for t in range(1, T + 1):
            h = _phi(torch.bmm(Wh, h) + torch.einsum("ehi,ip->ehp", Wx, Xt[:, t - 1]), nonlinearity)
            h.retain_grad()
            hs.append(h)
        L = ((torch.bmm(Wy, h) - Yt) ** 2).sum() / (2 * P)
        L.backward()
    return torch.stack([hh.grad.flatten(1).norm(dim=1) for hh in hs], dim=1).cpu().numpy()

