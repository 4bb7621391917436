r"""Online SGD of two-layer "soft committee" students, many seeds as one batched program.

Exactly the conventions of THEORY.md section 4b (and ``theory/committee.py``):
``x ~ N(0, I_N)``, one fresh sample per step,
``lambda_k = w_k.x/sqrt N``, ``phi = sum_k v_k g(lambda_k)``, teacher
``y = sum_m v*_m g(nu_m) + sigma zeta``, ``Delta = phi - y`` and

    w_k <- w_k - (lr/sqrt N) v_k Delta g'(lambda_k) x
    v_k <- v_k - (lr_v/N) Delta g(lambda_k)          (if the second layer trains)

with ``g(z) = erf(z/sqrt 2)`` or ``g(z) = z``. Every seed has its own teacher,
student and data stream; weights are ``(E, K, N)`` tensors and each step is a
few batched kernels (no Python loop over seeds). Inputs for a chunk of steps
are drawn at once, and the teacher's labels for the chunk come from one
batched matmul, so the sequential part of a step is the student only.

Recorded at log-spaced steps (``alpha = step/N``): the order parameters
``Q = W W^T/N``, ``R = W W*^T/N``, the second layer ``v``, and a test estimate
``eps_test = (1/2) mean_test (phi - phi*)^2`` on a fixed set of fresh inputs
(noise-free teacher, as the theory's eps_g).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from ._common import as_tensor, check_finite, make_generator, progress, record_steps, resolve_device

__all__ = ["CommitteeRun", "init_weights", "train", "train_from", "ACTIVATIONS"]

ACTIVATIONS = ("erf", "linear", "relu")
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_CHUNK_ELEMENTS = 2_000_000  # inputs drawn per chunk (E * N * steps), ~16 MB in float64


@dataclass
class CommitteeRun:
    """Result of :func:`train`.

    alpha : (R,) recorded times step/N; steps : (R,) recorded steps
    Q : (E, R, K, K); R : (E, R, K, M); v : (E, R, K); T : (E, M, M) teacher overlaps;
    v_star : (E, M); eps_test : (E, R) test-set estimate of eps_g (``n_test`` inputs);
    N, lr (E,), lr_v (E,), noise, activation, train_second_layer : the settings;
    wall_s : wall time of the step loop; diverged : (E,) bool.
    """

    alpha: np.ndarray
    steps: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    v: np.ndarray
    T: np.ndarray
    v_star: np.ndarray
    eps_test: np.ndarray
    N: int
    lr: np.ndarray
    lr_v: np.ndarray
    noise: float
    activation: str
    train_second_layer: bool
    wall_s: float = 0.0
    diverged: np.ndarray | None = None

    @property
    def Q0(self) -> np.ndarray:
        return self.Q[:, 0]

    @property
    def R0(self) -> np.ndarray:
        return self.R[:, 0]

    @property
    def v0(self) -> np.ndarray:
        return self.v[:, 0]


def _g(z: torch.Tensor, activation: str) -> torch.Tensor:
    if activation == "relu":
        return torch.relu(z)
    return torch.erf(z * _INV_SQRT2) if activation == "erf" else z


def _gprime(z: torch.Tensor, activation: str) -> torch.Tensor:
    if activation == "relu":
        return (z > 0).to(z.dtype)
    return _SQRT_2_OVER_PI * torch.exp(-0.5 * z * z) if activation == "erf" else torch.ones_like(z)


def init_weights(N: int, K: int, M: int, n_seeds: int, *, init_std: float = 1e-3, teacher: str = "orthonormal",
                 seed: int = 0, device=None, dtype=torch.float64):
    """Student ``W (E, K, N)`` with i.i.d. N(0, init_std^2) entries and teacher ``W* (E, M, N)``.

    teacher = ``"orthonormal"``: rows orthogonal with norm sqrt(N), so ``T = I``
    exactly; ``"gaussian"``: i.i.d. N(0, 1) entries (``T = I + O(1/sqrt N)``).
    """
    if N < max(K, M) or K < 1 or M < 1 or n_seeds < 1:
        raise ValueError(f"need N >= K, M >= 1 and n_seeds >= 1; got N={N}, K={K}, M={M}, n_seeds={n_seeds}")
    if teacher not in ("orthonormal", "gaussian"):
        raise ValueError(f"teacher must be 'orthonormal' or 'gaussian', got {teacher!r}")
    device = resolve_device(device)
    gen = make_generator(seed, device)
    Ws = torch.randn(n_seeds, M, N, generator=gen, device=device, dtype=dtype)
    if teacher == "orthonormal":
        q, _ = torch.linalg.qr(Ws.transpose(1, 2))  # (E, N, M), orthonormal columns
        Ws = q.transpose(1, 2) * math.sqrt(N)
    W = init_std * torch.randn(n_seeds, K, N, generator=gen, device=device, dtype=dtype)
    return W, Ws


def train(N: int, K: int, M: int, lr: float, alpha_max: float, *, n_seeds: int = 8, activation: str = "erf",
          train_second_layer: bool = False, lr_v: float | None = None, noise: float = 0.0, init_std: float = 1e-3,
          teacher: str = "orthonormal", v0=None, v_star=None, record: int = 50, n_test: int = 1000,
          seed: int = 0, device=None, dtype=torch.float64, raise_on_divergence: bool = True,
          lr_max: float | None = None, train_mask=None, record_linear: int = 0,
          progress_bar: bool | None = None) -> CommitteeRun:
    """Train ``n_seeds`` independent students (own teacher and data each) for ``alpha_max * N`` steps.

    v0 : (K,) or (E, K) initial second layer (default ones); v_star : (M,) teacher's (default ones).
    Other arguments as in :func:`train_from`.
    """
    W, Ws = init_weights(N, K, M, n_seeds, init_std=init_std, teacher=teacher, seed=seed, device=device, dtype=dtype)
    return train_from(W, Ws, lr, alpha_max, v0=v0, v_star=v_star, activation=activation,
                      train_second_layer=train_second_layer, lr_v=lr_v, noise=noise, record=record, n_test=n_test,
                      seed=seed + 1, raise_on_divergence=raise_on_divergence, lr_max=lr_max,
                      train_mask=train_mask, record_linear=record_linear, progress_bar=progress_bar)


@torch.no_grad()
def train_from(W0: torch.Tensor, W_star: torch.Tensor, lr: float, alpha_max: float, *, v0=None, v_star=None,
               activation: str = "erf", train_second_layer: bool = False, lr_v: float | None = None,
               noise: float = 0.0, record: int = 50, n_test: int = 1000, seed: int = 0,
               raise_on_divergence: bool = True, lr_max: float | None = None, train_mask=None,
               record_linear: int = 0, progress_bar: bool | None = None) -> CommitteeRun:
    """Online SGD from given weights ``W0 (E, K, N)`` and teachers ``W_star (E, M, N)``.

    Parameters
    ----------
    lr, lr_v : learning rates (lr_v defaults to lr; used if ``train_second_layer``); a
        float, or one value per network (E,) to scan rates in one batched run.
    train_mask : (K,) or (E, K) 0/1, which second-layer weights train (default all);
        units with v = 0 that do not train are exact padding (no output, no gradient),
        so students of different widths K <= K_max can share one batched run.
    alpha_max : training time in units of N samples (``steps = round(alpha_max N)``).
    noise : output-noise standard deviation sigma.
    record : number of log-spaced recording points, plus ``record_linear`` linearly spaced ones.
    n_test : test inputs (shared by the seeds) for ``eps_test``.

    Notes
    -----
    Divergence raises :class:`~simulate._common.DivergenceError` naming ``lr``
    and ``lr_max`` (or, with ``raise_on_divergence=False``, leaves NaN records
    and flags the seed in ``diverged``).
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    E_ = W0.shape[0]
    lr_arr = np.array(np.broadcast_to(np.asarray(lr, dtype=float), (E_,))) if np.ndim(lr) else np.full(E_, float(lr))
    if not (np.isfinite(lr_arr).all() and (lr_arr > 0).all()):
        raise ValueError(f"lr must be positive, got {lr}")
    lr_v_arr = lr_arr if lr_v is None else (
        np.array(np.broadcast_to(np.asarray(lr_v, dtype=float), (E_,))) if np.ndim(lr_v) else np.full(E_, float(lr_v)))
    if (lr_v_arr < 0).any():
        raise ValueError(f"lr_v must be non-negative, got {lr_v}")
    if noise < 0:
        raise ValueError(f"noise must be non-negative, got {noise}")
    if not alpha_max > 0:
        raise ValueError(f"alpha_max must be positive, got {alpha_max}")
    if W0.ndim != 3 or W_star.ndim != 3 or W0.shape[0] != W_star.shape[0] or W0.shape[2] != W_star.shape[2]:
        raise ValueError(f"W0 must be (E, K, N) and W_star (E, M, N); got {tuple(W0.shape)}, {tuple(W_star.shape)}")
    device, dtype = W0.device, W0.dtype
    E, K, N = W0.shape
    M = W_star.shape[1]
    W = W0.clone()
    uniform_lr = bool(np.all(lr_arr == lr_arr[0]) and np.all(lr_v_arr == lr_v_arr[0]))
    lr_t = torch.as_tensor(lr_arr / lr_arr[0], device=device, dtype=dtype)[:, None]  # relative rates (E, 1)
    lr_v_t = torch.as_tensor(lr_v_arr, device=device, dtype=dtype)[:, None] / N
    if train_mask is not None:  # which second-layer weights train (e.g. padding units stay at v = 0)
        lr_v_t = lr_v_t * as_tensor(np.array(np.broadcast_to(np.asarray(train_mask, dtype=float), (E_, W0.shape[1]))),
                                    device=device, dtype=dtype)
    Ws = W_star.to(device=device, dtype=dtype)
    v = torch.ones(E, K, device=device, dtype=dtype) if v0 is None else \
        as_tensor(v0, device=device, dtype=dtype).expand(E, K).clone()
    vs = torch.ones(E, M, device=device, dtype=dtype) if v_star is None else \
        as_tensor(v_star, device=device, dtype=dtype).expand(E, M).clone()
    steps = int(round(alpha_max * N))
    rec = record_steps(steps, record)
    if record_linear:
        rec = np.union1d(rec, record_steps(steps, int(record_linear), log=False))
    n_rec = len(rec)
    gen = make_generator(seed, device)
    sqN = math.sqrt(N)
    X_test = torch.randn(n_test, N, generator=gen, device=device, dtype=dtype)
    y_test = _g(torch.einsum("emn,pn->epm", Ws, X_test) / sqN, activation) @ vs[:, :, None]  # (E, P, 1)

    Q_r = torch.empty(n_rec, E, K, K, device=device, dtype=dtype)
    R_r = torch.empty(n_rec, E, K, M, device=device, dtype=dtype)
    v_r = torch.empty(n_rec, E, K, device=device, dtype=dtype)
    e_r = torch.empty(n_rec, E, device=device, dtype=dtype)

    def snapshot(i: int) -> None:
        Q_r[i] = W @ W.transpose(1, 2) / N
        R_r[i] = W @ Ws.transpose(1, 2) / N
        v_r[i] = v
        phi = _g(torch.einsum("ekn,pn->epk", W, X_test) / sqN, activation) @ v[:, :, None]
        e_r[i] = 0.5 * ((phi - y_test) ** 2).mean(dim=(1, 2))

    chunk = max(1, min(steps, _CHUNK_ELEMENTS // (E * N)))
    # Fold constants into the inputs: for erf we carry z = lambda/sqrt 2, so
    # g = erf(z), g' = sqrt(2/pi) exp(-z^2), and the first-layer step
    # (lr/sqrt N) v Delta g' x = lr * 2/sqrt(pi) * v Delta exp(-z^2) * (x / sqrt(2N)).
    erf_act = activation == "erf"
    relu_act = activation == "relu"
    x_scale = 1.0 / (sqN * math.sqrt(2.0)) if erf_act else 1.0 / sqN
    w_step = float(lr_arr[0]) * (2.0 / math.sqrt(math.pi) if erf_act else 1.0)
    snapshot(0)
    r_i = 1
    t0 = time.perf_counter()
    bar = progress(steps, f"committee SGD (E={E}, N={N})", disable=None if progress_bar is None else not progress_bar)
    step = 0
    while step < steps:
        c = min(chunk, steps - step)
        X = torch.randn(c, E, N, generator=gen, device=device, dtype=dtype).mul_(x_scale)
        # teacher labels of the whole chunk in one batched matmul (pre-activations nu scaled as lambda)
        Y = (_g(torch.einsum("cen,emn->cem", X, Ws) * (math.sqrt(2.0) if erf_act else 1.0), activation) * vs).sum(-1)
        if noise > 0:
            Y = Y + noise * torch.randn(c, E, generator=gen, device=device, dtype=dtype)
        Xc = X[:, :, :, None]  # (c, E, N, 1)
        Xr = X[:, :, None, :]  # (c, E, 1, N)
        for j in range(c):
            z = torch.bmm(W, Xc[j]).squeeze_(2)  # (E, K): lambda/sqrt2 (erf) or lambda (linear)
            gl = torch.erf(z) if erf_act else (torch.relu(z) if relu_act else z)
            delta = torch.linalg.vecdot(v, gl).sub_(Y[j])  # (E,)
            coef = delta[:, None] * v
            if erf_act:
                coef.mul_(torch.exp(z.square().neg_()))
            elif relu_act:  # g'(z) = 1[z > 0]
                coef.mul_((z > 0).to(dtype))
            if not uniform_lr:
                coef.mul_(lr_t)
            W.baddbmm_(coef[:, :, None], Xr[j], alpha=-w_step)
            if train_second_layer:
                v.sub_(delta[:, None] * gl * lr_v_t)
            step += 1
            if r_i < n_rec and step == rec[r_i]:
                snapshot(r_i)
                if raise_on_divergence:
                    check_finite(W, lr=float(lr_arr.max()), lr_max=lr_max, step=step)
                r_i += 1
        bar.update(c)
    bar.close()
    wall = time.perf_counter() - t0
    div = ~torch.isfinite(e_r).all(dim=0)
    tr = lambda a: a.transpose(0, 1).cpu().numpy()  # noqa: E731
    return CommitteeRun(
        alpha=rec / N, steps=rec, Q=tr(Q_r), R=tr(R_r), v=tr(v_r),
        T=(Ws @ Ws.transpose(1, 2) / N).cpu().numpy(), v_star=vs.cpu().numpy(), eps_test=tr(e_r), N=N,
        lr=lr_arr.copy(), lr_v=lr_v_arr.copy(), noise=float(noise), activation=activation, train_second_layer=bool(train_second_layer),
        wall_s=wall, diverged=div.cpu().numpy(),
    )
