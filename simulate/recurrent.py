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

Time is ``t = lr * steps`` (gradient flow with tau = 1). :func:`train` is a model (:class:`RNNGD`)
of the one training engine (:mod:`idealnets.simulate.engine`: device, seeds, float64, recording
steps, divergence) and returns its :class:`~idealnets.simulate.engine.Run`.
"""
from __future__ import annotations

import numpy as np
import torch

from idealnets.theory import validation as _v
from idealnets.theory.recurrent import MAX_ELEMENTS

from . import engine
from ._common import as_input, make_generator, resolve_device, resolve_dtype
from .engine import Run

__all__ = ["RNNRun", "RNNGD", "random_init", "aligned_init", "forward", "loss", "gradients", "train",
           "hidden_gradient_norms", "lag_map_strengths", "METHODS", "ACTIVATIONS", "NONLINEARITIES"]

METHODS = ("bptt", "tbptt", "rtrl")
ACTIVATIONS = ("linear", "tanh")
#: Deprecated name of :data:`ACTIVATIONS` (kept for one release).
NONLINEARITIES = ACTIVATIONS
READOUTS = ("final", "all")

#: Deprecated name of the shared result type :class:`idealnets.simulate.Run` (kept for one release).
RNNRun = Run


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
    if E * n_hidden * (n_in + n_hidden + n_out) > MAX_WEIGHTS:
        raise ValueError(f"n_networks = {E}, n_hidden = {n_hidden} (n_in = {n_in}, n_out = {n_out}) are too large: "
                         f"{E * n_hidden * (n_in + n_hidden + n_out):.3g} weights, more than MAX_WEIGHTS = "
                         f"{MAX_WEIGHTS} (2^30)")
    scale = _v.as_float(scale, "scale", low=0.0)
    rs = scale if recurrent_scale is None else _v.as_float(recurrent_scale, "recurrent_scale", low=0.0)
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    g = make_generator(seed, device)
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
    for name, M in (("U", U), ("V", V)):  # as the theory's frames (lag_task, mode_reduction)
        if M.shape[1] != r or not np.allclose(M.T @ M, np.eye(r), atol=1e-10):
            raise ValueError(f"{name} must have {r} orthonormal columns (the mode frames), got shape {M.shape}")
    n_hidden = _v.as_int(n_hidden, "n_hidden", low=r)
    E = _v.as_int(n_networks, "n_networks", low=1)
    if E * n_hidden * (V.shape[0] + n_hidden + U.shape[0]) > MAX_WEIGHTS:
        raise ValueError(f"n_networks = {E}, n_hidden = {n_hidden} are too large: more than MAX_WEIGHTS = "
                         f"{MAX_WEIGHTS} (2^30) weights")
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
def _phi(z, activation):
    return z if activation == "linear" else torch.tanh(z)


def _forward(Wx, Wh, X, activation):
    """Hidden states H (T+1, E, N_h, P), H[0] = 0."""
    T = X.shape[1]
    E, n_h = Wx.shape[0], Wx.shape[1]
    H = X.new_zeros((T + 1, E, n_h, X.shape[2]))
    inp = torch.einsum("ehi,itp->tehp", Wx, X)
    for t in range(1, T + 1):
        H[t] = _phi(torch.bmm(Wh, H[t - 1]) + inp[t - 1], activation)
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


def _grads(Wx, Wh, Wy, X, Yt, method, k, activation, readout):
    """Batched gradients (gWx, gWh, gWy) and the current losses (E,)."""
    T, P = X.shape[1], X.shape[2]
    if method == "rtrl":
        return _rtrl(Wx, Wh, Wy, X, Yt, activation, readout)
    H = _forward(Wx, Wh, X, activation)
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
        d = g if activation == "linear" else g * (1 - H[t] ** 2)
        gWx += torch.einsum("ehp,ip->ehi", d, X[:, t - 1])
        gWh += torch.bmm(d, H[t - 1].transpose(1, 2))
        g = torch.bmm(WhT, d)
    return (gWx, gWh, gWy), L


def _rtrl(Wx, Wh, Wy, X, Yt, activation, readout):
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
        h = _phi(z, activation)
        if activation == "tanh":
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


_NO_TARGETS = object()  # Y of _check_common for forward, which has no targets
#: most weights (entries of W_x, W_h, W_y over the ensemble) random_init/aligned_init make: 2^30 (8 GiB in float64)
MAX_WEIGHTS = 2**30


def _check_common(weights, X, Y, method, k, activation, readout, device, dtype, name="weights"):
    method = _v.as_choice(method, "method", METHODS)
    activation = _v.as_choice(activation, "activation", ACTIVATIONS)
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
        raise TypeError(f"{name} must be a tuple (W_x, W_h, W_y) of (E, ., .) tensors")
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
    if Y is _NO_TARGETS:  # forward
        return (Wx, Wh, Wy), Xt, None, method, k, activation, readout
    want = (Wy.shape[1], Xn.shape[2]) if readout == "final" else (Wy.shape[1], Xn.shape[1], Xn.shape[2])
    Yt = as_input(Y, "Y", device=device, dtype=dtype, shape=want)
    return (Wx, Wh, Wy), Xt, _target(Yt, readout), method, k, activation, readout


@_v.renamed_keywords(nonlinearity="activation")
def gradients(weights, X, Y, *, method: str = "bptt", k: int | None = None, activation: str = "linear",
              readout: str = "final", device=None, dtype=torch.float64):
    r"""Batched ``(dL/dW_x, dL/dW_h, dL/dW_y)`` (each (E, ., .)) of every network's mean loss.

    ``weights`` (W_x (E, N_h, N_in), W_h (E, N_h, N_h), W_y (E, N_out, N_h)); ``X`` (N_in, T, P)
    shared by the ensemble; ``Y`` (N_out, P) (``readout="all"``: (N_out, T, P)).
    """
    W, Xt, Yt, method, k, activation, readout = _check_common(weights, X, Y, method, k, activation, readout,
                                                                device, dtype)
    with torch.no_grad():
        return _grads(*W, Xt, Yt, method, k, activation, readout)[0]


@_v.renamed_keywords(nonlinearity="activation")
def forward(weights, X, *, activation: str = "linear", device=None, dtype=torch.float64) -> torch.Tensor:
    """Hidden states (T+1, E, N_h, P) of every network (index 0 is h_0 = 0)."""
    W, Xt, _, _, _, activation, _ = _check_common(weights, X, _NO_TARGETS, "bptt", None, activation, "final", device,
                                                  dtype)
    with torch.no_grad():
        H = _forward(W[0], W[1], Xt, activation)
    if not bool(torch.isfinite(H).all()):
        raise FloatingPointError(f"forward: the hidden states overflowed {H.dtype} (inf/NaN): W_h amplifies over "
                                 f"T = {Xt.shape[1]} steps")
    return H


@_v.renamed_keywords(nonlinearity="activation")
def loss(weights, X, Y, *, activation: str = "linear", readout: str = "final", device=None,
         dtype=torch.float64) -> torch.Tensor:
    """Per-network loss (E,)."""
    W, Xt, Yt, _, _, activation, readout = _check_common(weights, X, Y, "bptt", None, activation, readout,
                                                           device, dtype)
    with torch.no_grad():
        return _loss_from(W[2], _forward(W[0], W[1], Xt, activation), Yt, readout, Xt.shape[2])


@_v.renamed_keywords(weights="W0", nonlinearity="activation")
def train(W0, X, Y, *, lr: float, steps: int, method: str = "bptt", k: int | None = None,
          activation: str = "linear", readout: str = "final", record=60, device=None, dtype=torch.float64,
          raise_on_divergence: bool = True, desc: str = "rnn", progress_bar: bool | None = None) -> Run:
    r"""Full-batch gradient descent ``W <- W - lr dL/dW`` on an ensemble, recording at log-spaced steps.

    ``W0`` the initial weights ``(W_x, W_h, W_y)`` as in :func:`gradients` (from :func:`random_init`
    or :func:`aligned_init`); ``method`` in ``("bptt", "tbptt", "rtrl")`` (``k`` the TBPTT window);
    compare with gradient flow at ``t = lr * steps``. Divergence is checked at recording steps only
    (:class:`idealnets.simulate._common.DivergenceMonitor`).

    Returns a :class:`~idealnets.simulate.engine.Run` (model :class:`RNNGD`): ``times`` (R,) =
    ``lr * steps`` (unit ``"t = lr * step"``), ``steps`` (R,), ``losses`` (E, R), ``diverged`` (E,);
    ``state``: ``W_x`` (E, R, N_h, N_in), ``W_h`` (E, R, N_h, N_h), ``W_y`` (E, R, N_out, N_h);
    ``extras``: ``weights`` (the tuple of those three arrays), ``lr``, ``method``, ``k``,
    ``activation`` (``run.nonlinearity`` is its deprecated name), ``readout``. ``progress_bar``:
    ``None`` shows it on terminals for runs of 20000 steps or more.
    """
    lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
    steps = _v.as_int(steps, "steps", low=0)
    W, Xt, Yt, method, k, activation, readout = _check_common(W0, X, Y, method, k, activation, readout,
                                                                device, dtype, name="W0")
    model = RNNGD(W, Xt, Yt, lr=lr, method=method, k=k, activation=activation, readout=readout)
    run = engine.run(model, steps=steps, record=record, time_per_step=lr, time_unit="t = lr * step",
                     loss_name="training loss", lr=lr, what="the loss", raise_on_divergence=raise_on_divergence,
                     desc=desc,
                     progress_bar=(False if steps < 20000 else None) if progress_bar is None else progress_bar,
                     extras={"lr": lr, "method": method, "k": k, "activation": activation, "readout": readout},
                     renamed={"nonlinearity": "activation"})
    run.extras["weights"] = tuple(run.state[name] for name in ("W_x", "W_h", "W_y"))
    return run


class RNNGD:
    """Full-batch gradient descent of an ensemble of RNNs, as an engine model.

    State: the list ``[W_x, W_h, W_y]`` of (E, ., .) tensors. One step computes the batched
    gradients of the chosen method (:data:`METHODS`, written out, no autograd) and updates
    the three weights in place. Records the loss (``"loss"``) and every weight
    (``"W_x"``, ``"W_h"``, ``"W_y"``).
    """

    name = "RNN GD"

    def __init__(self, W0, X, Y, *, lr: float, method: str, k: int | None, activation: str, readout: str):
        self.W0, self.X, self.Y, self.lr = W0, X, Y, lr
        self.method, self.k, self.activation, self.readout = method, k, activation, readout

    def init(self):
        return [w.clone() for w in self.W0]

    def observe(self, W):
        Wx, Wh, Wy = W
        L = _loss_from(Wy, _forward(Wx, Wh, self.X, self.activation), self.Y, self.readout, self.X.shape[2])
        return {"loss": L, "W_x": Wx, "W_h": Wh, "W_y": Wy}

    def step(self, W, k):
        Wx, Wh, Wy = W
        lr = self.lr
        (gx, gh, gy), _ = _grads(Wx, Wh, Wy, self.X, self.Y, self.method, self.k, self.activation, self.readout)
        Wx -= lr * gx
        Wh -= lr * gh
        Wy -= lr * gy
        return W


def lag_map_strengths(weights, U, V, n_lags: int) -> np.ndarray:
    r"""Mode strengths of the lag maps, ``U_alpha^T W_y W_h^k W_x V_alpha`` (..., n_lags, r), from NumPy weights.

    ``weights`` arrays with any leading axes (e.g. ``Run.weights`` of :func:`train`: (E, R, ., .)). For
    aligned networks this is ``c a^k b``, the theory's :meth:`LinearRNNTheory.mode_maps`.
    """
    if not isinstance(weights, (tuple, list)) or len(weights) != 3:
        raise TypeError(f"weights must be a tuple (W_x, W_h, W_y), got {_v.describe(weights)}")
    Wx, Wh, Wy = (_v.as_array(w, n, ndim=range(2, 64)) for w, n in zip(weights, ("W_x", "W_h", "W_y")))
    n = _v.as_int(n_lags, "n_lags", low=1)
    V = _v.as_array(V, "V", ndim=2)
    per = int(np.prod(np.broadcast_shapes(Wx.shape[:-2], Wy.shape[:-2]), dtype=np.int64)) * V.shape[1]
    if n * per > MAX_ELEMENTS:
        raise ValueError(f"n_lags = {n} is too large: it asks for {n * per:.3g} entries (n_lags x networks x "
                         f"modes), more than MAX_ELEMENTS = {MAX_ELEMENTS} (2^25)")
    out = []
    A = Wx @ V  # (..., N_h, r)
    Ut = _v.as_array(U, "U", ndim=2).T
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(n):
            out.append(np.einsum("ro,...or->...r", Ut, Wy @ A))
            A = Wh @ A
    res = np.stack(out, axis=-2)
    if not np.isfinite(res).all():
        raise FloatingPointError(f"lag_map_strengths: U^T W_y W_h^k W_x V overflowed float64 (inf/NaN): W_h raised "
                                 f"to n_lags - 1 = {n - 1}")
    return res


@_v.renamed_keywords(nonlinearity="activation")
def hidden_gradient_norms(weights, X, Y, *, activation: str = "linear", device=None,
                          dtype=torch.float64) -> np.ndarray:
    r"""``||dL/dh_t||`` (E, T) for t = 1..T by autograd (``retain_grad`` on every hidden state).

    Final readout. The linear theory: ``dL/dh_{T-k} = (W_h^T)^k dL/dh_T``
    (:func:`idealnets.theory.recurrent.gradient_norm_through_time`).
    """
    W, Xt, Yt, _, _, activation, _ = _check_common(weights, X, Y, "bptt", None, activation, "final", device,
                                                     dtype)
    Wx, Wh, Wy = W[0], W[1].detach().clone().requires_grad_(True), W[2]
    T, P = Xt.shape[1], Xt.shape[2]
    hs = []
    h = Xt.new_zeros((Wx.shape[0], Wx.shape[1], P))
    with torch.enable_grad():
        for t in range(1, T + 1):
            h = _phi(torch.bmm(Wh, h) + torch.einsum("ehi,ip->ehp", Wx, Xt[:, t - 1]), activation)
            h.retain_grad()
            hs.append(h)
        L = ((torch.bmm(Wy, h) - Yt) ** 2).sum() / (2 * P)
        L.backward()
    return torch.stack([hh.grad.flatten(1).norm(dim=1) for hh in hs], dim=1).cpu().numpy()

