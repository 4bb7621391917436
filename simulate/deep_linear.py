r"""Batched full-batch gradient descent for ensembles of deep linear networks.

All ``n_networks`` networks train at once: weights are ``(E, n_l, n_{l-1})``
tensors and every step is a handful of batched matmuls (no Python loop over
networks). The loss is the mean squared loss of docs: Conventions, "Loss and time",
``L = (1/2P) sum_mu ||y_mu - W_D...W_1 x_mu||^2``, which depends on the data
only through ``Sxx = X X^T/P``, ``Syx = Y X^T/P`` and ``tr Syy``; its gradient is
written out in closed form,

.. math::

    \partial L / \partial W_l = (W_D \cdots W_{l+1})^T (W Sxx - Syx) (W_{l-1} \cdots W_1)^T ,

so no autograd is needed. Time is ``t = lr * step`` (tau = 1).
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import torch

from idealnets.theory import validation as _v
from idealnets.theory.deep_linear import DEPTH_MAX
from idealnets.theory.tasks import correlations

from . import engine
from ._common import (
    as_input,
    as_desc,
    as_tensor,
    check_entries,
    check_finite,
    make_generator,
    progress,
    quadratic_loss,
    stable_lr_linear,
    resolve_device,
    resolve_dtype,
)
from .engine import Run

__all__ = ["DeepLinearGD", "EnsembleRun", "train", "train_from", "init_weights", "stable_lr", "pretrain_layerwise", "INITS"]

INITS = ("small", "orthogonal", "decoupled", "pretrained")


#: Deprecated name of the shared result type :class:`idealnets.simulate.Run` (kept for one release).
EnsembleRun = Run


def _widths(n_in: int, n_out: int, depth: int, width) -> list[int]:
    depth = _v.as_int(depth, "depth", low=1, high=DEPTH_MAX)
    if depth == 1:
        return [n_in, n_out]
    if isinstance(width, (int, np.integer, float, np.floating)) or width is None or isinstance(width, (str, bool)):
        hidden = [_v.as_int(width, "width", low=1)] * (depth - 1)
    else:
        hidden = [_v.as_int(w, "width", low=1) for w in width]
        if len(hidden) != depth - 1:
            raise ValueError(f"width must be an int or a list of depth-1 = {depth - 1} hidden sizes")
    if min(hidden) < 1:
        raise ValueError(f"hidden widths must be >= 1, got {hidden}")
    return [n_in, *hidden, n_out]


def _check_data(X, Y) -> tuple[np.ndarray, np.ndarray]:
    X, Y = _v.as_array(X, "X", ndim=2), _v.as_array(Y, "Y", ndim=2)
    _v.check_same("X", X.shape[1], "Y", Y.shape[1], "number of samples (columns)")
    if not np.any(X):
        raise ValueError("X is all zeros: the inputs carry no signal (and no stable learning rate exists)")
    return X, Y


def stable_lr(X, Y, depth: int) -> float:
    r"""Stable learning-rate limit near the solution, ``2 / (D lmax(Sxx)^{1/D}... )``.

    For the balanced solution of mode alpha the linearised GD rate is
    ``D c (s/c)^{2-2/D}`` on isotropic input; with a general ``Sxx`` we use its
    largest eigenvalue for c and the largest singular value of ``Syx Sxx^{-1}``
    (the least-squares map) for ``s/c``. ``lr`` above ``2 / rate`` diverges.
    """
    X, Y = _check_data(X, Y)
    depth = _v.as_int(depth, "depth", low=1)
    Sxx, Syx, _ = correlations(X, Y)
    return stable_lr_linear(Sxx, Syx, depth)


def _orthogonal(E: int, n_out: int, n_in: int, g: torch.Generator, device, dtype) -> torch.Tensor:
    """(E, n_out, n_in) random semi-orthogonal matrices (orthonormal rows or columns)."""
    A = torch.randn(E, max(n_out, n_in), min(n_out, n_in), generator=g, device=device, dtype=dtype)
    Q, R = torch.linalg.qr(A)
    Q = Q * torch.sign(torch.diagonal(R, dim1=-2, dim2=-1)).unsqueeze(-2)  # Haar measure
    return Q if n_out >= n_in else Q.transpose(-1, -2)


def init_weights(
    X,
    Y,
    *,
    depth: int,
    width,
    n_networks: int,
    init: str,
    init_scale: float,
    device=None,
    dtype: torch.dtype = torch.float64,
    seed: int = 0,
) -> list[torch.Tensor]:
    """Initial weights, a list of D tensors ``(E, n_l, n_{l-1})``.

    init:
      * ``"small"``: i.i.d. ``N(0, init_scale^2)`` entries.
      * ``"orthogonal"``: ``init_scale`` times Haar random (semi-)orthogonal matrices;
        ``init_scale = 1`` is the dynamical-isometry initialisation of Saxe et al.
      * ``"decoupled"``: ``W_l = R_l diag(a) R_{l-1}^T`` with ``R_0 = V``, ``R_D = U``
        (SVD of ``Syx``), random orthonormal hidden frames and ``a = init_scale^{1/D}``,
        so every mode starts at product strength ``u0 = init_scale``.
      * ``"pretrained"``: greedy layerwise linear-autoencoder pretraining of the hidden
        layers (:func:`pretrain_layerwise`, Gaussian autoencoder init of scale
        ``init_scale``), then the last layer ``init_scale``-small random. Call
        :func:`pretrain_layerwise` directly to choose its options and get the number
        of pretraining steps.
    """
    X, Y = _check_data(X, Y)
    init = _v.as_choice(init, "init", INITS)
    init_scale = _v.as_float(init_scale, "init_scale", low=0.0, open_low=True)
    n_networks = _v.as_int(n_networks, "n_networks", low=1)
    device = resolve_device(device)
    dtype = resolve_dtype(dtype)
    sizes = _widths(X.shape[0], Y.shape[0], depth, width)
    return _init_weights(X, Y, sizes, n_networks, init, init_scale, device, dtype, make_generator(seed, device))


def _check_ensemble(sizes: list[int], E: int) -> None:
    """Refuse an ensemble whose weights would exceed :data:`~idealnets.simulate._common.MAX_ENTRIES` entries."""
    check_entries(E * sum(a * b for a, b in zip(sizes[1:], sizes[:-1])),
                  f"the weights of n_networks = {E} networks of layer sizes {sizes if len(sizes) <= 8 else '...'}")


def _init_weights(X, Y, sizes, E, init, init_scale, device, dtype, g) -> list[torch.Tensor]:
    """:func:`init_weights` on validated arguments (``sizes`` from :func:`_widths`)."""
    _check_ensemble(sizes, E)
    depth = len(sizes) - 1
    if init == "small":
        return [init_scale * torch.randn(E, sizes[l + 1], sizes[l], generator=g, device=device, dtype=dtype)
                for l in range(depth)]
    if init == "orthogonal":
        return [init_scale * _orthogonal(E, sizes[l + 1], sizes[l], g, device, dtype) for l in range(depth)]
    if init == "decoupled":
        P = X.shape[1]
        U, _, Vt = np.linalg.svd(Y @ X.T / P, full_matrices=False)
        r = min(U.shape[1], *sizes[1:-1]) if depth > 1 else U.shape[1]
        a = init_scale ** (1.0 / depth)
        frames = [as_tensor(Vt.T[:, :r], device=device, dtype=dtype).expand(E, -1, -1)]
        for l in range(1, depth):
            frames.append(_orthogonal(E, sizes[l], r, g, device, dtype))
        frames.append(as_tensor(U[:, :r], device=device, dtype=dtype).expand(E, -1, -1))
        return [a * frames[l + 1] @ frames[l].transpose(-1, -2) for l in range(depth)]
    return _pretrained(X, sizes, E, init_scale, g, device, dtype)


def _pretrained(X, sizes, E, init_scale, g, device, dtype) -> list[torch.Tensor]:
    Ws, _ = pretrain_layerwise(X, sizes, n_networks=E, init_scale=init_scale, generator=g, device=device,
                               dtype=dtype)
    return Ws


def pretrain_layerwise(
    X,
    sizes: Sequence[int],
    *,
    n_networks: int,
    init_scale: float,
    ae_scale: float | None = None,
    ae_init: str = "gaussian",
    kappa: float = 0.5,
    tol: float = 1e-4,
    max_steps: int = 200_000,
    check_every: int = 8,
    generator: torch.Generator | None = None,
    seed: int = 0,
    device=None,
    dtype: torch.dtype = torch.float64,
) -> tuple[list[torch.Tensor], np.ndarray]:
    r"""Greedy layerwise pretraining with linear autoencoders (Saxe et al. 2014, Sec. 4).

    ``sizes = [N_in, n_1, ..., n_{D-1}, N_out]``. For l = 1..D-1 in turn, an autoencoder
    ``h -> W_dec W_enc h`` on the current representation ``h = W_{l-1}...W_1 x`` (covariance
    ``Sigma_l``, per network) is trained by full-batch GD on
    ``(1/2) tr[(I - W_dec W_enc) Sigma_l (I - W_dec W_enc)^T]`` from small weights
    (``ae_init="gaussian"``: i.i.d. ``N(0, ae_scale^2)``; ``"orthogonal"``: balanced
    ``W_enc = ae_scale O``, ``W_dec = ae_scale O^T`` with O Haar semi-orthogonal, so every
    mode starts at strength ``ae_scale^2``), at ``lr = kappa / lambda_max(Sigma_l)`` (a fraction
    ``kappa`` of the depth-2 stable limit), until every network's relative excess
    reconstruction loss is below ``tol`` (checked every ``check_every`` steps); then
    ``W_l = W_enc``. From small weights the encoder converges to unit singular values on
    the principal subspace of ``Sigma_l`` (an isometry for whitened input). The readout
    ``W_D`` is i.i.d. ``N(0, init_scale^2)``, left for supervised fine-tuning.

    All ``n_networks`` autoencoders train as one batched program. Returns the D weight
    tensors ``(E, n_l, n_{l-1})`` and the number of GD steps each stage took, shape (D-1,).
    Raises :class:`DivergenceError` if a stage diverges and RuntimeError if it does not
    converge within ``max_steps``.
    """
    X = _v.as_array(X, "X", ndim=2)
    if not np.any(X):
        raise ValueError("X is all zeros: there is nothing to reconstruct (and no autoencoder learning rate exists)")
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
        raise TypeError(f"sizes must be a sequence of layer sizes [N_in, n_1, ..., N_out], got {sizes!r:.60}")
    if len(sizes) > DEPTH_MAX + 1:
        raise ValueError(f"sizes has {len(sizes)} entries: at most DEPTH_MAX + 1 = {DEPTH_MAX + 1} layers")
    sizes = [_v.as_int(n, "sizes entry", low=1) for n in sizes]
    if len(sizes) < 2 or sizes[0] != X.shape[0]:
        raise ValueError(f"sizes must start with N_in = {X.shape[0]} and be positive, got {sizes}")
    init_scale = _v.as_float(init_scale, "init_scale", low=0.0, open_low=True)
    kappa = _v.as_float(kappa, "kappa", low=0.0, high=1.0, open_low=True, open_high=True)
    tol = _v.as_float(tol, "tol", low=0.0, open_low=True)
    max_steps = _v.as_int(max_steps, "max_steps", low=1)
    check_every = _v.as_int(check_every, "check_every", low=1, high=max_steps)  # above, max_steps was never checked
    ae_init = _v.as_choice(ae_init, "ae_init", ("gaussian", "orthogonal"))
    device = resolve_device(device)
    dtype = resolve_dtype(dtype)
    g = generator if generator is not None else make_generator(seed, device)
    ae_scale = init_scale if ae_scale is None else _v.as_float(ae_scale, "ae_scale", low=0.0, open_low=True)
    E = _v.as_int(n_networks, "n_networks", low=1)
    _check_ensemble(sizes, E)
    D = len(sizes) - 1
    P = X.shape[1]
    Sigma = as_tensor(X @ X.T / P, device=device, dtype=dtype).expand(E, -1, -1)
    Ws: list[torch.Tensor] = []
    stage_steps = np.zeros(max(D - 1, 0), dtype=int)
    with torch.no_grad():
        for l in range(D - 1):
            n_in, n_h = sizes[l], sizes[l + 1]
            if ae_init == "orthogonal":
                We = ae_scale * _orthogonal(E, n_h, n_in, g, device, dtype)
                Wd = We.transpose(-1, -2).clone()
            else:
                We = ae_scale * torch.randn(E, n_h, n_in, generator=g, device=device, dtype=dtype)
                Wd = ae_scale * torch.randn(E, n_in, n_h, generator=g, device=device, dtype=dtype)
            lmax = float(torch.linalg.eigvalsh(Sigma)[:, -1].max())
            lr = kappa / lmax
            eye = torch.eye(n_in, device=device, dtype=dtype)
            # best reconstruction keeps the top-n_h eigen-directions of Sigma
            ev = torch.linalg.eigvalsh(Sigma)  # ascending
            resid_min = ev[:, : max(n_in - n_h, 0)].sum(-1)
            total = ev.sum(-1)
            step = 0
            bar = progress(max_steps, f"pretraining layer {l + 1}/{D - 1}")
            while True:
                for _ in range(check_every):
                    G = (Wd @ We - eye) @ Sigma
                    gWe = Wd.transpose(-1, -2) @ G
                    gWd = G @ We.transpose(-1, -2)
                    We = We - lr * gWe
                    Wd = Wd - lr * gWd
                step += check_every
                Rm = eye - Wd @ We
                recon = (Rm @ Sigma * Rm).sum((-2, -1))  # tr[(I-M) S (I-M)^T]
                check_finite(recon, lr=lr, lr_max=1.0 / lmax, step=step, what="the autoencoder loss")
                rel = (recon - resid_min) / (total - resid_min).clamp_min(1e-300)
                bar.update(check_every)
                if bool((rel <= tol).all()):
                    break
                if step >= max_steps:
                    bar.close()
                    raise RuntimeError(f"autoencoder for layer {l + 1} did not converge in {max_steps} steps "
                                       f"(worst relative excess loss {float(rel.max()):.3g} > tol {tol})")
            bar.close()
            stage_steps[l] = step
            Ws.append(We)
            Sigma = We @ Sigma @ We.transpose(-1, -2)
        Ws.append(init_scale * torch.randn(E, sizes[-1], sizes[-2], generator=g, device=device, dtype=dtype))
    return Ws, stage_steps


def train(
    X,
    Y,
    depth: int,
    width,
    n_networks: int,
    init: str,
    init_scale: float,
    lr: float,
    steps: int,
    record: int | Iterable[int] = 50,
    device=None,
    dtype: torch.dtype = torch.float64,
    seed: int = 0,
    *,
    return_weights: bool = False,
    log: bool = True,
    desc: str | None = None,
) -> Run:
    """Train ``n_networks`` depth-``depth`` linear networks on (X, Y) by full-batch GD.

    X : (N_in, P), Y : (N_out, P); ``width`` an int or the list of hidden sizes;
    ``init``/``init_scale`` as in :func:`init_weights`; ``record`` the number of
    log-spaced recording points (or explicit step indices). Returns an
    :class:`~idealnets.simulate.Run` (times ``t = lr * step``; ``state["maps"]`` the total maps). Raises
    :class:`~idealnets.simulate.DivergenceError` naming ``lr`` and the stable limit if
    training blows up.
    """
    X, Y = _check_data(X, Y)
    init = _v.as_choice(init, "init", INITS)
    init_scale = _v.as_float(init_scale, "init_scale", low=0.0, open_low=True)
    n_networks = _v.as_int(n_networks, "n_networks", low=1)
    lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
    steps = _v.as_int(steps, "steps", low=0)
    device = resolve_device(device)
    dtype = resolve_dtype(dtype)
    return_weights = _v.as_bool(return_weights, "return_weights")
    sizes = _widths(X.shape[0], Y.shape[0], depth, width)
    Ws = _init_weights(X, Y, sizes, n_networks, init, init_scale, device, dtype, make_generator(seed, device))
    return _train(Ws, X, Y, lr, steps, record, return_weights, log, as_desc(desc) or f"deep linear D={depth} ({init})")


@_v.renamed_keywords(weights="W0")
def train_from(
    W0: Sequence[torch.Tensor | np.ndarray],
    X,
    Y,
    *,
    lr: float,
    steps: int,
    record: int | Iterable[int] = 50,
    return_weights: bool = False,
    log: bool = True,
    device=None,
    dtype: torch.dtype | None = None,
    desc: str = "deep linear GD",
) -> Run:
    """Full-batch GD from given initial weights ``W0``: a list of D ``(E, n_l, n_{l-1})`` arrays
    (the keyword ``weights`` is its deprecated name).

    2-D arrays are taken as a single network (E = 1). Device and dtype default
    to those of the first weight tensor.
    """
    X, Y = _check_data(X, Y)
    lr = _v.as_float(lr, "lr", low=0.0, open_low=True)
    steps = _v.as_int(steps, "steps", low=0)
    return_weights = _v.as_bool(return_weights, "return_weights")
    if W0 is None or isinstance(W0, (str, bytes, torch.Tensor, np.ndarray, dict)) or not hasattr(W0, "__len__") \
            or len(W0) < 1:
        raise TypeError(f"W0 must be a non-empty list of D arrays (E, n_l, n_(l-1)), one per layer, got "
                        f"{type(W0).__name__}")
    W0 = list(W0)
    first = W0[0]
    if device is None:
        device = first.device if isinstance(first, torch.Tensor) else resolve_device(None)
    else:
        device = resolve_device(device)
    if dtype is None:
        dtype = first.dtype if isinstance(first, torch.Tensor) and first.is_floating_point() else torch.float64
    dtype = resolve_dtype(dtype)
    Ws = []
    for l, w in enumerate(W0):
        w = as_input(w, f"W0[{l}]", device=device, dtype=dtype, ndim=(2, 3)).clone()
        if w.ndim == 2:
            w = w.unsqueeze(0)
        if w.ndim != 3:
            raise ValueError(f"each weight must be (E, n_out, n_in) or (n_out, n_in); got {tuple(w.shape)}")
        Ws.append(w)
    E = Ws[0].shape[0]
    for l in range(1, len(Ws)):
        if Ws[l].shape[0] != E:
            raise ValueError(f"W0 must hold the same number of networks in every layer: W0[{l}] has "
                             f"{Ws[l].shape[0]} (shape {tuple(Ws[l].shape)}), W0[0] has {E}")
        if Ws[l].shape[2] != Ws[l - 1].shape[1]:
            raise ValueError(f"W0[{l}] of shape {tuple(Ws[l].shape)} does not follow W0[{l - 1}] of shape "
                             f"{tuple(Ws[l - 1].shape)}: its inputs must be the previous layer's outputs")
    if Ws[0].shape[2] != X.shape[0] or Ws[-1].shape[1] != Y.shape[0]:
        raise ValueError(f"W0 maps {Ws[0].shape[2]} -> {Ws[-1].shape[1]} inputs to outputs but the data (X, Y) are "
                         f"{X.shape[0]} -> {Y.shape[0]}")
    return _train(Ws, X, Y, lr, steps, record, return_weights, log, desc)


def _train(Ws, X, Y, lr, steps, record, return_weights, log, desc) -> Run:
    """:func:`train_from` on validated arguments: ``Ws`` a list of (E, n_l, n_{l-1}) tensors (updated in place)."""
    D = len(Ws)
    device, dtype = Ws[0].device, Ws[0].dtype
    Sxx_np, Syx_np, trSyy = correlations(X, Y)
    c_mean = float(np.trace(Sxx_np) / Sxx_np.shape[0])
    c_iso = c_mean if np.max(np.abs(Sxx_np - c_mean * np.eye(Sxx_np.shape[0]))) <= 1e-12 * max(c_mean, 1e-300) else None
    model = DeepLinearGD(Ws, as_tensor(Sxx_np, device=device, dtype=dtype),
                         as_tensor(Syx_np, device=device, dtype=dtype), trSyy, lr,
                         c_iso=c_iso, record_weights=return_weights)
    run = engine.run(model, steps=steps, record=record, log=log, time_per_step=lr, time_unit="t = lr * step",
                     loss_name="training loss", lr=lr, lr_max=stable_lr_linear(Sxx_np, Syx_np, D), what="the training loss",
                     desc=desc)
    if return_weights:
        run.extras["weights"] = [run.state.pop(f"W{l + 1}") for l in range(D)]
    else:
        run.extras["weights"] = None
    return run


class DeepLinearGD:
    """Full-batch gradient descent of an ensemble of deep linear networks, as an engine model.

    State: the list of D layer weights ``(E, n_l, n_{l-1})``. One step forms the
    prefix products ``W_{l-1}...W_1``, the error ``G = M Sxx - Syx`` and updates
    every layer with one fused ``baddbmm`` (closed-form gradient, no autograd).
    Records the total map ``M`` (``"maps"``), the loss and, with
    ``record_weights``, every layer (``"W1"``, ..., ``"WD"``). After each ``step``,
    ``last_map`` holds the total map the step started from (the map at step ``k``), so a
    caller that needs the map at every step need not form the product again.
    """

    name = "deep linear GD"

    def __init__(self, Ws, Sxx, Syx, trSyy: float, lr: float, *, c_iso: float | None = None,
                 record_weights: bool = False):
        self.Ws0, self.Sxx, self.Syx, self.trSyy, self.lr = Ws, Sxx, Syx, trSyy, lr
        self.c_iso, self.record_weights = c_iso, record_weights
        self.Syx_neg = -Syx
        self.last_map = None

    def init(self):
        return list(self.Ws0)

    @staticmethod
    def total(Ws):
        M = Ws[0]
        for w in Ws[1:]:
            M = torch.bmm(w, M)
        return M

    def observe(self, Ws):
        M = self.total(Ws)
        out = {"loss": quadratic_loss(M, self.Sxx, self.Syx, self.trSyy), "maps": M}
        if self.record_weights:
            out.update({f"W{l + 1}": w for l, w in enumerate(Ws)})
        return out

    def step(self, Ws, k):
        D, lr = len(Ws), self.lr
        # prefix products below each layer: below[l] = W_{l-1}...W_1 (None for l = 0)
        below = [None] * D
        M = None
        for l in range(D):
            below[l] = M
            M = Ws[l] if M is None else torch.bmm(Ws[l], M)
        # G = M Sxx - Syx (E, N_out, N_in); an elementwise op when Sxx = c I
        self.last_map = M
        G = torch.add(self.Syx_neg, M, alpha=self.c_iso) if self.c_iso is not None \
            else torch.matmul(M, self.Sxx) - self.Syx
        above = None  # W_D ... W_{l+1}
        for l in range(D - 1, -1, -1):
            left = G if above is None else torch.bmm(above.transpose(-1, -2), G)
            if l > 0:  # the product above layer 0 is never needed
                above = Ws[l] if above is None else torch.bmm(above, Ws[l])
            # W_l <- W_l - lr * left @ below_l^T, fused
            Ws[l] = (Ws[l].add(left, alpha=-lr) if below[l] is None
                     else torch.baddbmm(Ws[l], left, below[l].transpose(-1, -2), alpha=-lr))
        return Ws
