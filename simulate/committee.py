r"""Online SGD of two-layer "soft committee" students, many networks as one batched program.

Exactly the conventions of docs: Conventions, "Online SGD in committee machines" (and ``theory/committee.py``):
``x ~ N(0, I_N)``, one fresh sample per step,
``lambda_k = w_k.x/sqrt N``, ``phi = sum_k v_k g(lambda_k)``, teacher
``y = sum_m v*_m g(nu_m) + sigma zeta``, ``Delta = phi - y`` and

    w_k <- w_k - (lr/sqrt N) b_k Delta g'(lambda_k) x      (b = v: backprop; b fixed: feedback alignment)
    v_k <- v_k - (lr_v/N) Delta g(lambda_k)                (if the second layer trains)

with ``g(z) = erf(z/sqrt 2)``, ``g(z) = z`` or ``g(z) = max(0, z)`` (ReLU,
``g'(z) = 1[z > 0]``). With ``feedback=None`` the backward pass uses the
student's own second layer (backprop, ``b = v``); with a fixed vector ``b`` it
is feedback alignment (Lillicrap et al. 2016; in committee machines Refinetti,
d'Ascoli, Ohana & Goldt 2021).

How it is computed. The trainer is a model of the one training engine
(:mod:`idealnets.simulate.engine`, :class:`CommitteeSGD`); every network has its own teacher,
student and data stream; weights are ``(E, K, N)`` tensors and each step is a few batched kernels
(no Python loop over networks). The step loop (the model's ``advance``) is split into blocks that
end at the recording steps: the inputs of a block are drawn at once (as float32 Gaussians, cast to
the working dtype: torch's float32 normal sampler is ~5x faster than its float64 one, and the
rounding, relative 3e-8, is far below the O(N^-1/2) sampling noise of online SGD), the teacher's
labels of the block come from one batched matmul, and the sequential part (the student's forward
pass and fused update) runs in a TorchScript-compiled loop, so a step costs a handful of kernel
launches and no Python. A single network on the CPU, where those launches dominate, instead steps
through a K-dimensional recurrence: within a block the pre-activations are ``W_0 x_j`` corrected by
the block's earlier rank-one updates through the Gram matrix of its inputs, so a step costs K floats
of arithmetic and the N-sized work is three matmuls per block (equal to the batched loop to 1e-12,
tested). There is no host synchronisation inside a block of the batched loop: values are read back
only at recording steps, which also keeps the loop suited to a GPU. On the CPU the loop runs with
``n_threads`` torch threads (1 by default: the per-step kernels are too small for intra-op threading
to pay, and on a loaded machine torch's default thread count made this loop 3-6x slower); the
previous setting is restored afterwards.

Recorded at log-spaced steps (``times``: ``alpha = step/N``): the order parameters
``Q = W W^T/N``, ``R = W W*^T/N``, the second layer ``v``, and (``losses``) a test
estimate ``eps_test = (1/2) mean_test (phi - phi*)^2`` on a fixed set of fresh inputs
(noise-free teacher, as the theory's eps_g). Divergence is checked on
this test error at the recording steps by :class:`~idealnets.simulate._common.DivergenceMonitor`
(growth by 1e6 over the first record, or NaN/inf).

float32 (``dtype=torch.float32``): 1.1-2x faster on the CPU with batched networks. Measured
(N = 500, K = M = 2, lr = 1, init_scale = 1, 6 networks, same seeds as float64):
eps_test agrees with the float64 run to a relative 7e-7 over alpha <= 40 and
the plateau-escape times agree to 2e-4 in alpha, far below the seed-to-seed
spread (tested to 1e-5 on a short run).
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import torch

from idealnets.theory import validation as V

from . import engine
from ._common import as_input, record_steps, resolve_device, resolve_dtype
from .engine import Run

__all__ = ["CommitteeRun", "CommitteeSGD", "init_weights", "train", "train_from", "ACTIVATIONS"]

ACTIVATIONS = ("erf", "linear", "relu")
_ACT_CODE = {"erf": 0, "linear": 1, "relu": 2}
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_BLOCK_ELEMENTS = 1_000_000  # inputs drawn per block (E * N * steps), ~8 MB in float64
_MAX_BLOCK = 4096  # steps per block at most
_ONE_BLOCK = 24  # steps per block of the single-network Gram loop (its Gram matrix costs block * N per step)


#: Deprecated name of the shared result type :class:`idealnets.simulate.Run` (kept for one release).
CommitteeRun = Run


def _g(z: torch.Tensor, activation: str) -> torch.Tensor:
    """g of the *scaled* pre-activation z (z = lambda/sqrt 2 for erf, lambda otherwise)."""
    if activation == "erf":
        return torch.erf(z)
    if activation == "relu":
        return torch.relu(z)
    return z


def _z_scale(activation: str) -> float:
    return _INV_SQRT2 if activation == "erf" else 1.0


def _block_loop(W: torch.Tensor, v: torch.Tensor, b: torch.Tensor, X: torch.Tensor, Y: torch.Tensor,
                w_step: float, lr_t: torch.Tensor, lr_v_t: torch.Tensor, act: int, train_v: bool, fa: bool,
                uniform_lr: bool):
    """The sequential part of ``c = X.shape[0]`` SGD steps, in place on W (E, K, N) and v (E, K).

    X (c, E, N) scaled inputs (x/sqrt(2N) for erf, x/sqrt N otherwise), Y (c, E)
    labels; ``act`` 0 erf, 1 linear, 2 relu. A step is one forward ``bmm``, the
    error as one ``baddbmm`` (``-y + v.g``), a few element-wise kernels and one
    rank-one ``baddbmm_`` update: about eight kernels, no host synchronisation.
    """
    Xc = X.unsqueeze(3)  # (c, E, N, 1)
    Xr = X.unsqueeze(2)  # (c, E, 1, N)
    negY = Y.neg().unsqueeze(2).unsqueeze(3)  # (c, E, 1, 1)
    v_row = v.unsqueeze(1)  # (E, 1, K), a view: in-place updates of v show through
    back = (b if fa else v).unsqueeze(2)  # (E, K, 1), a view as well
    lr_col = lr_t.unsqueeze(2)
    lr_v_col = lr_v_t.unsqueeze(2)
    for j in range(X.shape[0]):
        z = torch.bmm(W, Xc[j])  # (E, K, 1) scaled pre-activations
        if act == 0:
            gl = torch.erf(z)
        elif act == 2:
            gl = torch.relu(z)
        else:
            gl = z
        delta = torch.baddbmm(negY[j], v_row, gl)  # (E, 1, 1): phi - y
        if act == 0:
            coef = torch.exp(z * z.neg()).mul_(back)
        elif act == 2:
            coef = (z > 0).to(z.dtype).mul_(back)
        else:
            coef = back
        coef = coef * delta
        if not uniform_lr:
            coef = coef * lr_col
        if train_v:
            v_row.sub_((gl * delta * lr_v_col).transpose(1, 2))
        W.baddbmm_(coef, Xr[j], alpha=-w_step)


def _block_loop_one(W: torch.Tensor, v: torch.Tensor, b: torch.Tensor, X: torch.Tensor, Y: torch.Tensor,
                    w_step: float, lr_v: list, act: int, train_v: bool, fa: bool) -> None:
    """Same steps as :func:`_block_loop` for ONE network on the CPU, with no N-sized work per step.

    Within a block of c steps ``W_j = W_0 - w_step sum_{i<j} c_i X_i^T`` (c_i the (K,) step
    coefficients), so the step-j pre-activations are ``z_j = (W_0 X^T)_j - w_step sum_{i<j}
    c_i (X X^T)_{ij}``: two matmuls per block (``W_0 X^T`` and the Gram matrix ``X X^T``),
    a K-dimensional recurrence per step in plain Python floats, and one matmul for the
    block's update of W. Equal to the batched loop up to rounding (tested to 1e-12).
    """
    Xn = X[:, 0, :].numpy()  # (c, N)
    Wn = W[0].numpy()  # (K, N), a view: updated in place below
    P = (Xn @ Wn.T).tolist()  # (c, K) pre-activations without the block's own updates
    G = Xn @ Xn.T  # (c, c)
    y = Y[:, 0].tolist()
    vv = v[0].tolist()
    bb = b[0].tolist() if fa else None
    K = len(vv)
    c = Xn.shape[0]
    C = np.zeros((c, K))
    erf, exp = math.erf, math.exp
    for j in range(c):
        if j:
            corr = (G[j, :j] @ C[:j]).tolist()
            z = [P[j][k] - w_step * corr[k] for k in range(K)]
        else:
            z = P[0]
        if act == 0:
            g = [erf(zk) for zk in z]
        elif act == 2:
            g = [zk if zk > 0 else 0.0 for zk in z]
        else:
            g = z
        delta = -y[j]
        for k in range(K):
            delta += vv[k] * g[k]
        back = bb if fa else vv
        if act == 0:
            C[j] = [delta * back[k] * exp(-z[k] * z[k]) for k in range(K)]
        elif act == 2:
            C[j] = [delta * back[k] if z[k] > 0 else 0.0 for k in range(K)]
        else:
            C[j] = [delta * back[k] for k in range(K)]
        if train_v:
            vv = [vv[k] - lr_v[k] * delta * g[k] for k in range(K)]
    Wn -= w_step * (C.T @ Xn)
    if train_v:
        v[0] = torch.as_tensor(vv, dtype=v.dtype)


_SCRIPTED = None


def _step_fn():
    """The TorchScript-compiled :func:`_block_loop` (compiled once per process; the plain
    Python function if TorchScript is unavailable: same numbers, slower)."""
    global _SCRIPTED
    if _SCRIPTED is None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _SCRIPTED = torch.jit.script(_block_loop)
        except Exception:  # pragma: no cover - TorchScript removed or source unavailable
            _SCRIPTED = _block_loop
    return _SCRIPTED


def _per_network(x, name: str, E: int, *, low=None, open_low=False, n: int | None = None) -> np.ndarray:
    """A scalar or one value per network (E,) (or (n,)/(E, n) vectors when ``n``), validated and broadcast."""
    if n is None:
        a = V.as_array(x, name, ndim=(0, 1), low=low, open_low=open_low)
        if a.ndim == 1 and a.shape != (E,):
            raise ValueError(f"{name} must be a scalar or have one value per network, shape ({E},); got {a.shape}")
        return np.array(np.broadcast_to(a, (E,)))
    a = V.as_array(x, name, ndim=(1, 2), low=low, open_low=open_low)
    if a.shape not in ((n,), (E, n)):
        raise ValueError(f"{name} must have shape ({n},) or ({E}, {n}); got {a.shape}")
    return np.array(np.broadcast_to(a, (E, n)))


@V.renamed_keywords(n_seeds="n_networks", init_std="init_scale")
def init_weights(N: int, K: int, M: int, n_networks: int, *, init_scale: float = 1e-3, teacher: str = "orthonormal",
                 seed: int = 0, device=None, dtype=torch.float64):
    """Student ``W (E, K, N)`` with i.i.d. N(0, init_scale^2) entries and teacher ``W* (E, M, N)``, E = ``n_networks``.

    teacher = ``"orthonormal"``: rows orthogonal with norm sqrt(N), so ``T = I``
    exactly (needs N >= M); ``"gaussian"``: i.i.d. N(0, 1) entries (``T = I + O(1/sqrt N)``).
    The keywords ``n_seeds`` and ``init_std`` of earlier releases still work (DeprecationWarning).
    """
    N, K, M, E, init_scale, teacher, seed, device, dtype = _check_init(N, K, M, n_networks, init_scale, teacher,
                                                                       seed, device, dtype)
    gen = torch.Generator(device=device).manual_seed(seed)
    return _init_weights(N, K, M, E, init_scale, teacher, gen, device, dtype)


def _check_init(N, K, M, n_networks, init_scale, teacher, seed, device, dtype) -> tuple:
    """The arguments of :func:`init_weights`, validated: ``(N, K, M, E, init_scale, teacher, seed, device, dtype)``."""
    N = V.as_int(N, "N", low=1)
    K = V.as_int(K, "K", low=1)
    M = V.as_int(M, "M", low=1)
    n_networks = V.as_int(n_networks, "n_networks", low=1)
    init_scale = V.as_float(init_scale, "init_scale", low=0.0, open_low=True)
    teacher = V.as_choice(teacher, "teacher", ("orthonormal", "gaussian"))
    seed = V.as_seed(seed)
    if teacher == "orthonormal" and N < M:
        raise ValueError(f"an orthonormal teacher needs N >= M; got N={N}, M={M}")
    device = resolve_device(device)
    dtype = resolve_dtype(dtype)
    return N, K, M, n_networks, init_scale, teacher, seed, device, dtype


def _init_weights(N: int, K: int, M: int, E: int, init_scale: float, teacher: str, gen: torch.Generator, device,
                  dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`init_weights` on validated arguments."""
    Ws = torch.randn(E, M, N, generator=gen, device=device, dtype=torch.float64)
    if teacher == "orthonormal":
        q, _ = torch.linalg.qr(Ws.transpose(1, 2))  # (E, N, M), orthonormal columns
        Ws = q.transpose(1, 2) * math.sqrt(N)
    W = init_scale * torch.randn(E, K, N, generator=gen, device=device, dtype=torch.float64)
    return W.to(dtype), Ws.to(dtype)


@V.renamed_keywords(n_seeds="n_networks", init_std="init_scale")
def train(N: int, K: int, M: int, lr, alpha_max: float, *, n_networks: int = 8, activation: str = "erf",
          train_second_layer: bool = False, lr_v=None, noise: float = 0.0, init_scale: float = 1e-3,
          teacher: str = "orthonormal", v0=None, v_star=None, feedback=None, record=50, n_test: int = 1000,
          seed: int = 0, device=None, dtype=torch.float64, raise_on_divergence: bool = True,
          lr_max: float | None = None, train_mask=None, record_linear: int = 0, n_threads: int | None = 1,
          progress_bar: bool | None = None) -> Run:
    """Train ``n_networks`` independent students (own teacher and data each) for ``alpha_max * N`` steps.

    N, K, M : input dimension and widths (integers >= 1). init_scale : std of
    the student's initial first-layer entries (> 0). v0 : (K,) or (E, K)
    initial second layer (default ones); v_star : (M,) or (E, M) the teacher's
    (default ones). Other arguments and the result as in :func:`train_from`
    (whose data stream is seeded with ``seed + 1``).
    The keywords ``n_seeds`` and ``init_std`` of earlier releases still work (DeprecationWarning).
    """
    N, K, M, E, init_scale, teacher, seed, device, dtype = _check_init(N, K, M, n_networks, init_scale, teacher,
                                                                       seed, device, dtype)
    options = _check_options(E, K, M, N, lr, alpha_max, v0=v0, v_star=v_star, activation=activation,
                             train_second_layer=train_second_layer, lr_v=lr_v, noise=noise, feedback=feedback,
                             record=record, n_test=n_test, raise_on_divergence=raise_on_divergence, lr_max=lr_max,
                             train_mask=train_mask, record_linear=record_linear, n_threads=n_threads)
    W, Ws = _init_weights(N, K, M, E, init_scale, teacher, torch.Generator(device=device).manual_seed(seed), device,
                          dtype)
    return _train_from(W, Ws, torch.Generator(device=device).manual_seed(seed + 1), progress_bar=progress_bar,
                       **options)


@torch.no_grad()
def train_from(W0, W_star, lr, alpha_max: float, *, v0=None, v_star=None, activation: str = "erf",
               train_second_layer: bool = False, lr_v=None, noise: float = 0.0, feedback=None, record=50,
               n_test: int = 1000, seed: int = 0, raise_on_divergence: bool = True, lr_max: float | None = None,
               train_mask=None, record_linear: int = 0, n_threads: int | None = 1,
               progress_bar: bool | None = None) -> Run:
    """Online SGD from given weights ``W0 (E, K, N)`` and teachers ``W_star (E, M, N)``.

    The run uses W0's device and dtype (float64 or float32).

    Parameters
    ----------
    lr, lr_v : learning rates (> 0, and >= 0 for lr_v, which defaults to lr and is used if
        ``train_second_layer``); a float, or one value per network (E,) to scan rates in one batched run.
    feedback : None (backprop) or the fixed feedback vector b, (K,) or (E, K):
        the first-layer step uses b where backprop uses v (feedback alignment).
    train_mask : (K,) or (E, K) 0/1, which second-layer weights train (default all);
        units with v = 0 that do not train are exact padding (no output, no gradient),
        so students of different widths K <= K_max can share one batched run.
    alpha_max : training time in units of N samples (``steps = round(alpha_max N)`` >= 1).
    noise : output-noise standard deviation sigma (>= 0).
    record : number of log-spaced recording points (>= 2) or explicit steps, plus
        ``record_linear`` linearly spaced ones.
    n_test : test inputs (shared by the seeds) for the test estimate of eps_g.
    n_threads : torch CPU threads for the step loop (default 1; None keeps torch's setting).

    Returns
    -------
    Run
        ``times`` the recorded ``alpha = step / N``, ``steps``; ``losses`` (E, R) the
        test-set estimate of eps_g (``n_test`` inputs, noise-free teacher); ``state``:
        ``Q`` (E, R, K, K), ``R`` (E, R, K, M), ``v`` (E, R, K); ``extras``: ``T``
        (E, M, M) teacher overlaps, ``v_star`` (E, M), ``N``, ``lr`` (E,), ``lr_v`` (E,),
        ``noise``, ``activation``, ``train_second_layer``, ``feedback`` ((E, K) vectors b,
        None for backprop), ``dtype``, the initial order parameters ``Q0``, ``R0``, ``v0``
        and ``alignment`` (E, R), ``cos(v, b)`` (nan for backprop or where v = 0).
        ``diverged`` (E,) flags the networks whose error grew past the divergence threshold
        (only with ``raise_on_divergence=False``; their later records may be huge or NaN).
        Every array is float64 whatever the run's dtype. The names ``alpha`` and
        ``eps_test`` of earlier releases still read ``times`` and ``losses`` (DeprecationWarning).

    Notes
    -----
    Divergence (the test error growing by 1e6 over its first record, or NaN/inf, checked at
    the recording steps) raises :class:`~idealnets.simulate._common.DivergenceError` naming
    ``lr`` and ``lr_max``; with ``raise_on_divergence=False`` the networks are flagged
    in ``diverged`` and the others are unaffected.
    """
    if not isinstance(W0, torch.Tensor) or not isinstance(W_star, torch.Tensor):
        raise TypeError("W0 and W_star must be torch tensors (see init_weights)")
    if W0.dtype not in (torch.float64, torch.float32):
        raise TypeError(f"W0 must be float64 or float32, got {W0.dtype}")
    device, dtype = W0.device, W0.dtype
    W0 = as_input(W0, "W0", device=device, dtype=dtype, ndim=3)
    W_star = as_input(W_star, "W_star", device=device, dtype=dtype, ndim=3)
    E, K, N = W0.shape
    M = W_star.shape[1]
    if W_star.shape[0] != E or W_star.shape[2] != N:
        raise ValueError(f"W0 must be (E, K, N) and W_star (E, M, N) with the same E and N; got {tuple(W0.shape)}, "
                         f"{tuple(W_star.shape)}")
    if E < 1 or K < 1 or M < 1 or N < 1:
        raise ValueError(f"W0 and W_star must be non-empty, got shapes {tuple(W0.shape)}, {tuple(W_star.shape)}")
    options = _check_options(E, K, M, N, lr, alpha_max, v0=v0, v_star=v_star, activation=activation,
                             train_second_layer=train_second_layer, lr_v=lr_v, noise=noise, feedback=feedback,
                             record=record, n_test=n_test, raise_on_divergence=raise_on_divergence, lr_max=lr_max,
                             train_mask=train_mask, record_linear=record_linear, n_threads=n_threads, seed=seed)
    gen = torch.Generator(device=device).manual_seed(options.pop("seed"))
    return _train_from(W0, W_star, gen, progress_bar=progress_bar, **options)


def _check_options(E: int, K: int, M: int, N: int, lr, alpha_max, *, v0, v_star, activation, train_second_layer,
                   lr_v, noise, feedback, record, n_test, raise_on_divergence, lr_max, train_mask, record_linear,
                   n_threads, seed=None) -> dict:
    """The training options of :func:`train_from` for E networks of sizes (K, M, N), validated (in the order
    :func:`train_from` has always checked them), as the keywords of :func:`_train_from` (and ``seed`` if given)."""
    activation = V.as_choice(activation, "activation", ACTIVATIONS)
    train_second_layer = V.as_bool(train_second_layer, "train_second_layer")
    raise_on_divergence = V.as_bool(raise_on_divergence, "raise_on_divergence")
    lr_arr = _per_network(lr, "lr", E, low=0.0, open_low=True)
    lr_v_arr = lr_arr.copy() if lr_v is None else _per_network(lr_v, "lr_v", E, low=0.0)
    noise = V.as_float(noise, "noise", low=0.0)
    alpha_max = V.as_float(alpha_max, "alpha_max", low=0.0, open_low=True)
    n_test = V.as_int(n_test, "n_test", low=1)
    out = {}
    if seed is not None:
        out["seed"] = V.as_seed(seed)
    record_linear = V.as_int(record_linear, "record_linear", low=0)
    if lr_max is not None:
        lr_max = V.as_float(lr_max, "lr_max", low=0.0, open_low=True, allow_inf=True)
    if n_threads is not None:
        n_threads = V.as_int(n_threads, "n_threads", low=1)
    steps = int(round(alpha_max * N))
    if steps < 1:
        raise ValueError(f"alpha_max * N must give at least one step; got alpha_max={alpha_max:g}, N={N}")
    if not (isinstance(record, (int, np.integer)) and not isinstance(record, bool)):
        record = [V.as_int(r, "record step", low=0, high=steps) for r in V.as_array(record, "record", ndim=1)]
    else:
        record = V.as_int(record, "record", low=2)
    v0_arr = np.ones((E, K)) if v0 is None else _per_network(v0, "v0", E, n=K)
    vs_arr = np.ones((E, M)) if v_star is None else _per_network(v_star, "v_star", E, n=M)
    b_arr = None if feedback is None else _per_network(feedback, "feedback", E, n=K)
    mask = None if train_mask is None else _per_network(train_mask, "train_mask", E, n=K)
    if mask is not None and not np.isin(mask, (0.0, 1.0)).all():
        raise ValueError("train_mask must hold only 0 and 1")
    out.update(lr=lr_arr, lr_v=lr_v_arr, v0=v0_arr, v_star=vs_arr, feedback=b_arr, mask=mask, activation=activation,
               train_second_layer=train_second_layer, noise=noise, n_test=n_test, steps=steps, record=record,
               record_linear=record_linear, lr_max=lr_max, raise_on_divergence=raise_on_divergence,
               n_threads=n_threads)
    return out


@torch.no_grad()
def _train_from(W0: torch.Tensor, W_star: torch.Tensor, gen: torch.Generator, *, lr, lr_v, v0, v_star, feedback, mask,
                activation: str, train_second_layer: bool, noise: float, n_test: int, steps: int, record,
                record_linear: int, lr_max, raise_on_divergence: bool, n_threads, progress_bar) -> Run:
    """:func:`train_from` on validated arguments (:func:`_check_options`); ``gen`` seeds the data stream."""
    device, dtype = W0.device, W0.dtype
    E, _, N = W0.shape
    # without linear points the engine takes the count as it is (the same log-spaced steps)
    rec = np.union1d(record_steps(steps, record), record_steps(steps, record_linear, log=False)) if record_linear \
        else record
    uniform_lr = bool(np.all(lr == lr[0]))
    model = CommitteeSGD(W0, W_star, lr, lr_v, v0, v_star, feedback, mask, activation=activation,
                         train_second_layer=train_second_layer, noise=noise, n_test=n_test, generator=gen)
    run = engine.run(model, steps=steps, record=rec, steps_per_time=N, time_unit="alpha = step / N",
                     loss_name="test estimate of eps_g", lr=lr if not uniform_lr else float(lr[0]),
                     lr_max=lr_max, what="the test error eps_test", raise_on_divergence=raise_on_divergence,
                     desc=f"committee SGD (E={E}, N={N})", progress_bar=progress_bar,
                     n_threads=n_threads if device.type == "cpu" else None,
                     renamed={"alpha": "times", "eps_test": "losses"})
    # float64 records whatever the dtype (exact: float32 -> float64 is lossless)
    run.losses = run.losses.astype(np.float64)
    run.state = {key: run.state[key].astype(np.float64) for key in ("Q", "R", "v")}
    v_rec = run.state["v"]
    run.extras.update(
        T=(W_star @ W_star.transpose(1, 2) / N).cpu().to(torch.float64).numpy(), v_star=v_star.copy(), N=N,
        lr=lr.copy(), lr_v=lr_v.copy(), noise=float(noise), activation=activation,
        train_second_layer=bool(train_second_layer), feedback=None if feedback is None else feedback.copy(),
        dtype=str(dtype).replace("torch.", ""), Q0=run.state["Q"][:, 0], R0=run.state["R"][:, 0], v0=v_rec[:, 0],
        alignment=_alignment(v_rec, feedback, run.losses.shape))
    return run


def _alignment(v: np.ndarray, b: np.ndarray | None, shape) -> np.ndarray:
    """``cos(v, b)`` per network and record, (E, R) (nan for backprop, b = None, or where v = 0)."""
    if b is None:
        return np.full(shape, np.nan)
    nv = np.linalg.norm(v, axis=-1)
    nb = np.linalg.norm(b, axis=-1)[:, None]
    dot = np.einsum("erk,ek->er", v, b)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(nv > 0, dot / (np.where(nv > 0, nv, 1.0) * nb), np.nan)


class CommitteeSGD:
    """Online SGD of an ensemble of soft committee machines, as an engine model (module docstring).

    State: ``(W, v)``, the first layers ``(E, K, N)`` and second layers ``(E, K)``, updated in
    place. The test set (``n_test`` inputs, drawn first from ``generator``) and its noise-free
    teacher labels are fixed at construction. :meth:`advance` draws the inputs of up to
    ``block`` steps at once and runs the TorchScript block loop (or, for one network on the
    CPU, the Gram-matrix loop), so the random stream depends on the block boundaries: the
    engine's recording steps, exactly as before the engine. :meth:`step` is one step drawn on
    its own (a different split of the stream). :meth:`observe` records ``Q``, ``R``, ``v`` and
    the test error (``"loss"``).
    """

    name = "committee SGD"

    def __init__(self, W0: torch.Tensor, W_star: torch.Tensor, lr, lr_v, v0, v_star, feedback, mask, *,
                 activation: str, train_second_layer: bool, noise: float, n_test: int,
                 generator: torch.Generator):
        device, dtype = W0.device, W0.dtype
        E, K, N = W0.shape
        self.W0, self.Ws, self.N, self.E, self.K = W0, W_star, N, E, K
        self.device, self.dtype, self.gen = device, dtype, generator
        self.activation, self.act_code = activation, _ACT_CODE[activation]
        self.train_v, self.fa, self.noise = train_second_layer, feedback is not None, noise
        tt = lambda a: torch.as_tensor(np.asarray(a, dtype=float), device=device, dtype=dtype)  # noqa: E731
        self.uniform_lr = bool(np.all(lr == lr[0]))
        self.lr_t = tt(lr / lr[0])[:, None]  # relative rates (E, 1)
        lr_v_t = tt(lr_v)[:, None] / N
        self.lr_v_t = lr_v_t * tt(mask) if mask is not None else lr_v_t
        self.lr_v_one = self.lr_v_t.expand(E, K)[0].tolist()  # (K,) second-layer rates / N (train_mask included)
        self.v0 = tt(v0).contiguous()
        self.vs = tt(v_star)
        self.b = None if feedback is None else tt(feedback).contiguous()
        # inputs are carried pre-scaled so that W x = z (docstring of _block_loop)
        self.x_scale = _z_scale(activation) / math.sqrt(N)
        # the first-layer step (lr/sqrt N) b Delta g'(lambda) x in terms of z and the scaled input:
        # erf: g'(lambda) = sqrt(2/pi) exp(-z^2), x/sqrt N = sqrt 2 * X  ->  lr * (2/sqrt pi) * b Delta exp(-z^2) X
        self.w_step = float(lr[0]) * (2.0 / math.sqrt(math.pi) if activation == "erf" else 1.0)
        # drawn in float64 whatever the dtype, so float32 and float64 runs share their test set
        self.X_test = torch.randn(n_test, N, generator=generator, device=device,
                                  dtype=torch.float64).to(dtype).mul_(self.x_scale)
        self.y_test = _g(torch.einsum("emn,pn->epm", W_star, self.X_test), activation) @ self.vs[:, :, None]
        # one network on the CPU: the Gram-matrix block loop (no N-sized kernel per step; in float32 the
        # weights, inputs and Gram matrix stay float32, the K-dimensional recurrence runs in Python floats)
        self.one_cpu = E == 1 and device.type == "cpu" and W0.is_contiguous()
        block = max(1, min(_MAX_BLOCK, _BLOCK_ELEMENTS // (E * N)))
        self.block = min(block, _ONE_BLOCK) if self.one_cpu else block
        self.step_fn = _step_fn()

    def init(self):
        v = self.v0.clone()
        return self.W0.clone(), v, (v.clone() if self.b is None else self.b)

    def observe(self, weights) -> dict:
        W, v, _ = weights
        N = self.N
        phi = _g(torch.einsum("ekn,pn->epk", W, self.X_test), self.activation) @ v[:, :, None]
        return {"loss": 0.5 * ((phi - self.y_test) ** 2).mean(dim=(1, 2)),
                "Q": W @ W.transpose(1, 2) / N, "R": W @ self.Ws.transpose(1, 2) / N, "v": v}

    def step(self, weights, k: int):
        return self.advance(weights, k, 1, _no_tick)

    def advance(self, weights, start: int, n: int, tick):
        """``n`` steps in blocks of at most ``block``: inputs and teacher labels drawn per block."""
        W, v, b = weights
        gen, device, dtype, E, N, Ws, vs = self.gen, self.device, self.dtype, self.E, self.N, self.Ws, self.vs
        x_scale, activation, noise, block = self.x_scale, self.activation, self.noise, self.block
        w_step, act_code, train_v, fa = self.w_step, self.act_code, self.train_v, self.fa
        to_dtype = dtype != torch.float32
        if self.one_cpu:
            lr_v_one = self.lr_v_one
            loop_one = _block_loop_one
        else:
            step_fn, lr_t, lr_v_t, uniform_lr = self.step_fn, self.lr_t, self.lr_v_t, self.uniform_lr
        done = 0
        while done < n:
            c = min(block, n - done)
            X = torch.randn(c, E, N, generator=gen, device=device, dtype=torch.float32)
            X = X.to(dtype).mul_(x_scale) if to_dtype else X.mul_(x_scale)
            Y = (_g(torch.einsum("cen,emn->cem", X, Ws), activation) * vs).sum(-1)  # teacher labels (c, E)
            if noise > 0:
                Y.add_(torch.randn(c, E, generator=gen, device=device, dtype=dtype), alpha=noise)
            if self.one_cpu:
                loop_one(W, v, b, X, Y, w_step, lr_v_one, act_code, train_v, fa)
            else:
                with torch.jit.optimized_execution(False):  # no re-specialisation for every new block length
                    step_fn(W, v, b, X, Y, w_step, lr_t, lr_v_t, act_code, train_v, fa, uniform_lr)
            done += c
            tick(c)
        return weights


def _no_tick(_: int) -> None:
    pass
