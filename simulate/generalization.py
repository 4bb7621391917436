r"""Batched full-batch GD of teacher-student ensembles (docs: Conventions, "Teacher-student generalisation").

Data are drawn exactly as in the theory: ``X`` (N, P) with i.i.d. ``N(0, 1/N)``
entries, teacher ``wbar ~ N(0, sigma_w^2 I)``, labels ``y = X^T wbar + eps``.
Each input matrix carries ``n_teachers`` independent teachers / noise draws /
initialisations (columns), so one Gram matrix serves several networks. Students
are trained by gradient descent on the **sum** loss
``L = (1/2) sum_mu (y_mu - f(x_mu))^2 (+ gamma |w|^2 / 2)`` with learning rate
``lr``; time is ``t = lr * step`` (tau = 1).

Errors are exact given the weights (no test-set noise):
``E_g = E_{x,eps}[(y - f(x))^2]`` over a fresh sample, and
``E_train = (1/P) sum_mu (y_mu - f(x_mu))^2``.

* :func:`train_linear`: ``f = w.x``; only ``C = X X^T``, ``b = X y`` and ``|y|^2`` enter.
* :func:`train_deep_linear`: depth-D linear students, either mode-diagonal in the
  eigenbasis of ``X X^T`` (``arch="diagonal"``: the architecture for which the reduced
  theory is exact) or dense two-layer ``f = w2 . (W1 x)`` (``arch="dense"``).
* :func:`train_relu`: two-layer ReLU students ``f = K^{-1/2} sum_k v_k relu(W_k . x)``
  of several hidden sizes at once (units of all sizes concatenated, one tensor program),
  first layer trained or frozen.

Every trainer is a model of the training engine (:mod:`idealnets.simulate.engine`) and
returns the shared :class:`~idealnets.simulate.Run`. Its networks are the (data set,
teacher) pairs, data set first (for :func:`train_relu`: (data set, hidden size)), so
``Run.losses`` is ``(E k, R)``: the training error ``E_train``, the quantity gradient
descent minimises and the one divergence is checked on; ``Run.state["generalization_error"]``
holds ``E_g`` in the same layout. The earlier fields read as before, with the record
axis last: ``run.train_error`` and ``run.test_error`` (``(E, k, R)`` views of the same
arrays), ``run.lr`` and ``run.lr_max``.
"""
from __future__ import annotations

import dataclasses
import math
import time as _time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from idealnets.theory import validation as _v
from idealnets.theory.deep_linear import DEPTH_MAX
from idealnets.theory.validation import deprecated_alias, renamed_keywords

from . import engine
from ._common import (DivergenceMonitor, as_desc, check_entries, make_generator, record_steps, resolve_device,
                      resolve_dtype)
from .engine import Run

__all__ = [
    "TeacherStudentData",
    "sample_data",
    "GeneralizationRun",
    "stable_lr",
    "train_linear",
    "train_deep_linear",
    "relu_test_error",
    "train_relu",
]

ARCHS = ("diagonal", "dense")


def _pos(name, v, allow_zero=False):
    return _v.as_float(v, name, low=0.0, open_low=not allow_zero)


def _datas(datas) -> list:
    """One :class:`TeacherStudentData` or a non-empty sequence of them."""
    if isinstance(datas, TeacherStudentData):
        return [datas]
    if isinstance(datas, (str, bytes)) or not hasattr(datas, "__iter__"):
        raise TypeError(f"datas must be a TeacherStudentData or a list of them, got {type(datas).__name__}")
    out = list(datas)
    if not out or not all(isinstance(d, TeacherStudentData) for d in out):
        raise TypeError("datas must be a TeacherStudentData or a non-empty list of them (see sample_data)")
    return out


@dataclass
class TeacherStudentData:
    """One batch of data sets: ``E`` input matrices, each with ``k`` teachers.

    X : (E, N, P); y : (E, P, k); w_teacher, w0 : (E, N, k); sigma_eps : (k,) tensor.
    """

    X: torch.Tensor
    y: torch.Tensor
    w_teacher: torch.Tensor
    w0: torch.Tensor
    sigma_eps: torch.Tensor

    @property
    def N(self) -> int:
        return self.X.shape[1]

    @property
    def P(self) -> int:
        return self.X.shape[2]

    @property
    def alpha(self) -> float:
        return self.P / self.N


def sample_data(N: int, P: int, n_inputs: int, *, n_teachers: int = 1, sigma_w: float = 1.0,
                sigma_eps: float | Sequence[float] = 0.5, sigma_0: float = 0.0, device=None,
                dtype: torch.dtype = torch.float64, seed: int = 0) -> TeacherStudentData:
    """Draw ``n_inputs`` data sets as in docs: Conventions, "Teacher-student generalisation", each with ``n_teachers`` teachers.

    ``sigma_eps`` is a scalar or one value per teacher (e.g. two SNRs on the same inputs).
    """
    N, P, n_inputs, n_teachers = (_v.as_int(v, name, low=1) for name, v in
                                  (("N", N), ("P", P), ("n_inputs", n_inputs), ("n_teachers", n_teachers)))
    check_entries(n_inputs * N * P, f"the inputs of n_inputs = {n_inputs} data sets of N = {N}, P = {P}")
    check_entries(n_inputs * max(N, P) * n_teachers,
                  f"the teachers/labels of n_inputs = {n_inputs} data sets with n_teachers = {n_teachers}")
    sigma_w = _pos("sigma_w", sigma_w, allow_zero=True)
    sigma_0 = _pos("sigma_0", sigma_0, allow_zero=True)
    se = _v.as_array(sigma_eps, "sigma_eps", ndim=(0, 1), low=0.0)
    try:
        se = np.broadcast_to(se, (n_teachers,)).copy()
    except ValueError:
        raise ValueError(f"sigma_eps must be a scalar or one value per teacher ({n_teachers}), "
                         f"got shape {se.shape}") from None
    device = resolve_device(device)
    dtype = resolve_dtype(dtype)
    g = make_generator(seed, device)
    E, k = int(n_inputs), int(n_teachers)
    X = torch.randn(E, N, P, generator=g, device=device, dtype=dtype) / math.sqrt(N)
    wbar = sigma_w * torch.randn(E, N, k, generator=g, device=device, dtype=dtype)
    se_t = torch.as_tensor(se, device=device, dtype=dtype)
    eps = torch.randn(E, P, k, generator=g, device=device, dtype=dtype) * se_t
    y = X.transpose(1, 2) @ wbar + eps
    w0 = sigma_0 * torch.randn(E, N, k, generator=g, device=device, dtype=dtype)
    return TeacherStudentData(X=X, y=y, w_teacher=wbar, w0=w0, sigma_eps=se_t)


#: Deprecated name of the shared result type :class:`idealnets.simulate.Run` (kept for one release).
GeneralizationRun = Run

TIME_UNIT = "t = lr * step"
LOSS_NAME = "training error E_train = |y - f(X)|^2 / P"


def _stats(datas: Sequence[TeacherStudentData]):
    """Sufficient statistics of the linear problem, concatenated over data sets of equal N."""
    N = datas[0].N
    if any(d.N != N for d in datas):
        raise ValueError("all data sets trained together must share N")
    C = torch.cat([d.X @ d.X.transpose(1, 2) for d in datas])
    b = torch.cat([d.X @ d.y for d in datas])
    yy = torch.cat([(d.y**2).sum(1) for d in datas])
    wbar = torch.cat([d.w_teacher for d in datas])
    w0 = torch.cat([d.w0 for d in datas])
    se2 = torch.cat([(d.sigma_eps**2).expand(d.y.shape[0], -1) for d in datas])
    P = torch.cat([torch.full((d.X.shape[0], 1), float(d.P), dtype=C.dtype, device=C.device) for d in datas])
    return C, b, yy, wbar, w0, se2, P


def stable_lr(datas: TeacherStudentData | Sequence[TeacherStudentData], weight_decay: float = 0.0) -> float:
    """``2 / (lambda_max(X X^T) + gamma)`` over all data sets: GD diverges above it."""
    return _stable_lr(_datas(datas), _pos("weight_decay", weight_decay, allow_zero=True))


def _stable_lr(datas: list[TeacherStudentData], weight_decay: float) -> float:
    """:func:`stable_lr` on validated arguments."""
    lmax = max(float(torch.linalg.eigvalsh(d.X @ d.X.transpose(1, 2))[..., -1].max()) for d in datas)
    return 2.0 / (lmax + weight_decay)


linear_stable_lr = deprecated_alias(stable_lr, "linear_stable_lr")


def _with_old_layout(run: Run, shape: tuple[int, int], lr: float, lr_max: float) -> Run:
    """Add the fields of the earlier result class: ``(E, k, R)`` views of the errors, ``lr``, ``lr_max``."""
    R = run.times.size
    run.extras.update(train_error=run.losses.reshape(*shape, R),
                      test_error=run.state["generalization_error"].reshape(*shape, R),
                      lr=float(lr), lr_max=float(lr_max))
    return run


def _run_errors(model, *, steps: int, record, log: bool, lr: float, lr_max: float, desc: str) -> Run:
    return engine.run(model, steps=steps, record=record, log=log, time_per_step=lr, time_unit=TIME_UNIT,
                      loss_name=LOSS_NAME, lr=lr, lr_max=lr_max, what="the training error", desc=desc)


class LinearStudentsGD:
    r"""Full-batch GD of linear students ``w <- w - lr (C w - b + gamma w)``, as an engine model.

    State: the weights ``w`` (E, N, k), one column per teacher. Observes the training
    error ``(|y|^2 - 2 w.b + w.C w)/P`` and ``E_g = |w - wbar|^2/N + sigma_eps^2`` per
    (data set, teacher), flattened to ``(E k,)``.
    """

    name = "linear students GD"

    def __init__(self, C, b, yy, wbar, w0, se2, P, N: int, lr: float, gamma: float):
        self.C, self.b, self.yy, self.wbar, self.w0, self.se2, self.P = C, b, yy, wbar, w0, se2, P
        self.N, self.lr, self.gamma = N, lr, gamma

    def init(self):
        return self.w0.clone()

    def observe(self, w):
        Cw = self.C @ w
        test = ((w - self.wbar) ** 2).sum(1) / self.N + self.se2
        train = (self.yy - 2 * (w * self.b).sum(1) + (w * Cw).sum(1)) / self.P
        return {"loss": train.reshape(-1), "generalization_error": test.reshape(-1)}

    def step(self, w, k):
        return w - self.lr * (self.C @ w - self.b + self.gamma * w)


class LinearStudentsExactGD:
    r"""GD of linear students that jumps between recording steps by its closed form, as an engine model.

    In the eigenbasis ``C = V diag(lambda) V^T`` every coordinate obeys
    ``w_i <- (1 - lr r_i) w_i + lr b_i`` (``r = lambda + gamma``, ``b = V^T X y``), so ``n``
    steps give ``w_i a_i + b_i (1 - a_i)/r_i`` with ``a_i = (1 - lr r_i)^n`` (``n lr b_i``
    at ``r_i = 0``). State: ``V^T w`` (E, N, k); it observes what :class:`LinearStudentsGD`
    observes, computed in the eigenbasis (``|w - wbar|^2`` and ``w.C w`` are invariant):
    the same trajectory as stepping, to rounding, at the cost of one eigendecomposition.
    """

    name = "linear students GD (closed form between records)"

    def __init__(self, lam, V, b, yy, wbar, w0, se2, P, N: int, lr: float, gamma: float):
        Vt = V.transpose(1, 2)
        self.lam, self.bv, self.wbv, self.w0v = lam, Vt @ b, Vt @ wbar, Vt @ w0  # lam (E, N, 1)
        self.yy, self.se2, self.P, self.N, self.lr, self.gamma = yy, se2, P, N, lr, gamma

    def init(self):
        return self.w0v.clone()

    def observe(self, wv):
        test = ((wv - self.wbv) ** 2).sum(1) / self.N + self.se2
        train = (self.yy - 2 * (wv * self.bv).sum(1) + (self.lam * wv * wv).sum(1)) / self.P
        return {"loss": train.reshape(-1), "generalization_error": test.reshape(-1)}

    def advance(self, wv, k, n, update):
        r = self.lam + self.gamma
        x = self.lr * r
        pos = x < 1.0  # 1 - lr r > 0: a = exp(n log1p(-lr r)), 1 - a = -expm1(...) without cancellation
        lx = n * torch.log1p(-torch.where(pos, x, torch.zeros_like(x)))
        a = torch.where(pos, torch.exp(lx), (1.0 - x) ** n)
        one_minus_a = torch.where(pos, -torch.expm1(lx), 1.0 - a)
        q = torch.where(r != 0, one_minus_a / torch.where(r != 0, r, torch.ones_like(r)),
                        torch.full_like(r, n * self.lr))
        update(n)
        return a * wv + q * self.bv

    def step(self, wv, k):
        return self.advance(wv, k, 1, lambda n: None)


def train_linear(datas: TeacherStudentData | Sequence[TeacherStudentData], *, lr: float, steps: int,
                 record=50, weight_decay: float = 0.0, log: bool = True,
                 desc: str = "linear students", exact: bool = False) -> Run | list[Run]:
    r"""Full-batch GD of linear students ``w <- w - lr (X X^T w - X y + gamma w)``.

    ``datas``: one :class:`TeacherStudentData` or a list sharing N (different P, i.e.
    different alpha, are trained together as one batch). Returns a
    :class:`~idealnets.simulate.Run` (or a list of them, one per data set): ``losses``
    the training error ``|y - X^T w|^2/P`` and ``state["generalization_error"]`` the test
    error ``|w - wbar|^2/N + sigma_eps^2``, both ``(E k, R)``; ``train_error`` and
    ``test_error`` the same as ``(E, k, R)``.

    ``exact=True`` goes from one recording step to the next by the closed form of GD in
    the eigenbasis of ``X X^T`` (:class:`LinearStudentsExactGD`) instead of stepping: the
    same trajectory to rounding (checked in the tests), at the cost of one
    eigendecomposition per data set however many steps are taken.
    """
    single = isinstance(datas, TeacherStudentData)
    datas = _datas(datas)
    lr = _pos("lr", lr)
    steps = _v.as_int(steps, "steps", low=0)
    gamma = _pos("weight_decay", weight_decay, allow_zero=True)
    exact = _v.as_bool(exact, "exact")
    C, b, yy, wbar, w0, se2, P = _stats(datas)
    E, _, k = w0.shape
    if exact:
        lam, V = torch.linalg.eigh(C)
        lr_max = 2.0 / (float(lam[:, -1].max()) + gamma)
        model = LinearStudentsExactGD(lam.unsqueeze(-1), V, b, yy, wbar, w0, se2, P, datas[0].N, lr, gamma)
    else:
        lr_max = _stable_lr(datas, gamma)
        model = LinearStudentsGD(C, b, yy, wbar, w0, se2, P, datas[0].N, lr, gamma)
    run = _run_errors(model, steps=steps, record=record, log=log, lr=lr, lr_max=lr_max, desc=desc)
    if single:
        return _with_old_layout(run, (E, k), lr, lr_max)
    runs, start = [], 0
    for d in datas:  # one Run per data set: its networks are a contiguous block
        sl = slice(start * k, (start + d.X.shape[0]) * k)
        start += d.X.shape[0]
        part = dataclasses.replace(run, losses=run.losses[sl], state={key: a[sl] for key, a in run.state.items()},
                                   extras=dict(run.extras), diverged=run.diverged[sl], renamed=dict(run.renamed))
        runs.append(_with_old_layout(part, (d.X.shape[0], k), lr, lr_max))
    return runs


class DiagonalDeepStudentsGD:
    r"""GD of mode-diagonal depth-D linear students in the eigenbasis of ``X X^T``, as an engine model.

    State: the D vectors ``a_l`` (E, N, k); the student is ``z = a_D * ... * a_1`` (elementwise)
    and ``dL/da_l = (Lambda z - s~) prod_{m != l} a_m``. This is not
    :class:`~idealnets.simulate.deep_linear.DeepLinearGD` on diagonal matrices: GD on full
    matrices leaves the diagonal (the gradient of an inner layer is an outer product), so the
    architecture on which the reduced theory is exact needs its own parameterisation.
    """

    name = "diagonal deep linear students GD"

    def __init__(self, a0, lam, st, wbv, yy, se2, P, N: int, lr: float):
        self.a0, self.lam, self.st, self.wbv, self.yy, self.se2, self.P = a0, lam, st, wbv, yy, se2, P
        self.N, self.lr = N, lr

    def init(self):
        return list(self.a0)

    @staticmethod
    def _z(a):
        z = a[0]
        for al in a[1:]:
            z = z * al
        return z

    def observe(self, a):
        z = self._z(a)
        test = ((z - self.wbv) ** 2).sum(1) / self.N + self.se2
        train = (self.yy - 2 * (z * self.st).sum(1) + (self.lam * z * z).sum(1)) / self.P
        return {"loss": train.reshape(-1), "generalization_error": test.reshape(-1)}

    def step(self, a, k):
        D, lr = len(a), self.lr
        z = self._z(a)
        g = self.lam * z - self.st
        if D == 1:
            a[0] = a[0] - lr * g
            return a
        new = []
        for l in range(D):
            others = torch.ones_like(z)
            for m in range(D):
                if m != l:
                    others = others * a[m]
            new.append(a[l] - lr * g * others)
        return new


class DenseTwoLayerStudentsGD:
    r"""GD of dense two-layer linear students ``f = w2 . (W1 x)`` on the sum loss, as an engine model.

    State: ``(W1, w2)`` of shapes (E, k, H, N) and (E, k, H), one network per (data set,
    teacher); ``dL/dW1 = w2 g^T``, ``dL/dw2 = W1 g`` with ``g = C w - X y``. The same
    update as :class:`~idealnets.simulate.deep_linear.DeepLinearGD` at depth 2 in exact
    arithmetic, but not to the bit: that model forms ``w`` by a batched matmul and fuses the
    update (``baddbmm``), which rounds differently from the elementwise products here that
    the published records were made with.
    """

    name = "dense two-layer linear students GD"

    def __init__(self, W1, w2, Ck, bk, wbk, yy, se2, P, N: int, lr: float):
        self.W1, self.w2, self.Ck, self.bk, self.wbk = W1, w2, Ck, bk, wbk
        self.yy, self.se2, self.P, self.N, self.lr = yy, se2, P, N, lr

    def init(self):
        return self.W1, self.w2

    def _w_Cw(self, W1, w2):
        w = (W1 * w2.unsqueeze(-1)).sum(2)  # (E, k, N)
        return w, (self.Ck @ w.unsqueeze(-1)).squeeze(-1)

    def observe(self, state):
        w, Cw = self._w_Cw(*state)
        test = ((w - self.wbk) ** 2).sum(-1) / self.N + self.se2
        train = (self.yy - 2 * (w * self.bk).sum(-1) + (w * Cw).sum(-1)) / self.P
        return {"loss": train.reshape(-1), "generalization_error": test.reshape(-1)}

    def step(self, state, k):
        W1, w2 = state
        _, Cw = self._w_Cw(W1, w2)
        g = Cw - self.bk
        gW1 = w2.unsqueeze(-1) * g.unsqueeze(-2)
        gw2 = (W1 @ g.unsqueeze(-1)).squeeze(-1)
        return W1 - self.lr * gW1, w2 - self.lr * gw2


def train_deep_linear(data: TeacherStudentData, *, depth: int, lr: float, steps: int, record=50,
                      arch: str = "diagonal", init_scale: float = 1e-3, hidden: int | None = None,
                      seed: int = 0, log: bool = True, desc: str | None = None) -> Run:
    r"""Full-batch GD of depth-D linear students on the sum loss.

    ``arch="diagonal"``: ``w = V (a_D * ... * a_1)`` with ``V`` the eigenvectors of
    ``X X^T`` (a fixed input rotation) and trainable vectors ``a_l`` in R^N, started
    balanced and sign-aligned with ``s~ = V^T X y``: ``a_l = init_scale^{1/D}``, the last
    one times ``sign(s~)``, so every mode starts at ``|z| = init_scale`` (the decoupled
    initial condition of :class:`idealnets.theory.generalization.DeepLinearStudentTheory`). GD is
    done on the ``a_l`` themselves (``dL/da_l = (Lambda z - s~) prod_{m != l} a_m``),
    which in this eigenbasis is elementwise.

    ``arch="dense"`` (``depth = 2`` only): ``f = w2 . (W1 x)``, ``W1`` (hidden, N), ``w2``
    (hidden,), i.i.d. ``N(0, init_scale^{2/D}/...)``-small so that ``|w|`` starts near
    ``init_scale``; gradients ``dL/dW1 = w2 g^T``, ``dL/dw2 = W1 g`` with ``g = C w - X y``.

    Returns a :class:`~idealnets.simulate.Run` with the training error in ``losses`` and
    the test error in ``state["generalization_error"]`` (``(E k, R)``); ``train_error`` and
    ``test_error`` the same as ``(E, k, R)``.
    """
    if not isinstance(data, TeacherStudentData):
        raise TypeError(f"data must be a TeacherStudentData (see sample_data), got {type(data).__name__}")
    depth = _v.as_int(depth, "depth", low=1, high=DEPTH_MAX)
    arch = _v.as_choice(arch, "arch", ARCHS)
    lr = _pos("lr", lr)
    steps = _v.as_int(steps, "steps", low=0)
    init_scale = _pos("init_scale", init_scale)
    hidden = None if hidden is None else _v.as_int(hidden, "hidden", low=1)
    D = int(depth)
    C, b, yy, wbar, _, se2, P = _stats([data])
    N = data.N
    E, _, k = b.shape
    dtype, device = C.dtype, C.device
    lam, V = torch.linalg.eigh(C)
    lam = lam.unsqueeze(-1)  # (E, N, 1)
    st = V.transpose(1, 2) @ b  # s~ (E, N, k)
    wbv = V.transpose(1, 2) @ wbar
    # fixed-point rate of each mode, D lam u*^{2-2/D} with u* = |s~|/lam (GD stable below 2/rate)
    with torch.no_grad():
        ustar = st.abs() / lam.clamp_min(1e-300)
        rate = D * lam * ustar ** (2.0 - 2.0 / D) if D > 1 else lam.expand_as(st)
        lr_max = float(2.0 / rate.max())
    if arch == "diagonal":
        a = [torch.full_like(st, init_scale ** (1.0 / D)) for _ in range(D)]
        a[-1] = a[-1] * torch.where(st >= 0, 1.0, -1.0)
        model = DiagonalDeepStudentsGD(a, lam, st, wbv, yy, se2, P, N, lr)
    else:
        if D != 2:
            raise ValueError("arch='dense' is implemented for depth 2 (one hidden layer)")
        H = int(hidden) if hidden is not None else N
        check_entries(E * k * H * N, f"the first layers of {E * k} dense students of hidden = {H}, N = {N}")
        gen = make_generator(seed, device)
        # W1 entries sd c/sqrt(N), w2 entries sd c/sqrt(H): |w| = |W1^T w2| ~ c^2
        c = math.sqrt(init_scale)
        W1 = c / math.sqrt(N) * torch.randn(E, k, H, N, generator=gen, device=device, dtype=dtype)
        w2 = c / math.sqrt(H) * torch.randn(E, k, H, generator=gen, device=device, dtype=dtype)
        model = DenseTwoLayerStudentsGD(W1, w2, C.unsqueeze(1), b.transpose(1, 2), wbar.transpose(1, 2), yy, se2, P,
                                        N, lr)
    run = _run_errors(model, steps=steps, record=record, log=log, lr=lr, lr_max=lr_max,
                      desc=as_desc(desc) or f"deep linear students D={D} ({arch})")
    return _with_old_layout(run, (E, k), lr, lr_max)


# ---------------------------------------------------------------- two-layer ReLU students
def _arccos1(Qab, Qaa, Qbb):
    """``E[relu(a) relu(b)]`` for centred Gaussians with covariances Qab, Qaa, Qbb (Cho & Saul)."""
    norm = torch.sqrt(Qaa * Qbb).clamp_min(1e-300)
    cos = (Qab / norm).clamp(-1.0, 1.0)
    theta = torch.arccos(cos)
    return norm / (2 * math.pi) * (torch.sin(theta) + (math.pi - theta) * cos)


@renamed_keywords(n_nets="n_networks")
def relu_test_error(W, v, scale, seg, n_networks: int, w_teacher, sigma_eps: float) -> torch.Tensor:
    r"""Exact ``E_{x,eps}[(wbar.x + eps - f(x))^2]`` for ``f = sum_k scale_k v_k relu(W_k.x)``.

    ``x ~ N(0, I/N)``: with ``Q = W W^T/N`` and ``R = W wbar / N``,
    ``E[f^2] = sum_kl c_k c_l kappa(Q_kl, Q_kk, Q_ll)`` (arc-cosine kernel),
    ``E[f wbar.x] = sum_k c_k R_k / 2`` (Stein's lemma, ``E[relu'] = 1/2``), where
    ``c_k = scale_k v_k``; units are grouped into ``n_networks`` networks by ``seg``.
    W : (S, U, N), v : (S, U), scale : (U,), seg : (U,) long, w_teacher : (S, N).
    Returns (S, n_networks).
    """
    S, U, N = W.shape
    Q = W @ W.transpose(1, 2) / N
    d = torch.diagonal(Q, dim1=1, dim2=2)
    same = (seg[:, None] == seg[None, :]).to(W.dtype)
    Kmat = _arccos1(Q, d[:, :, None], d[:, None, :]) * same
    c = v * scale
    M = torch.zeros(n_networks, U, dtype=W.dtype, device=W.device)
    M[seg, torch.arange(U, device=W.device)] = 1.0
    ff = torch.einsum("su,suv,sv->s", c, Kmat, c)[:, None] if n_networks == 1 else \
        torch.einsum("nu,su,suv,sv->sn", M, c, Kmat, c)  # (S, n_networks) either way
    R = (W @ w_teacher.unsqueeze(-1)).squeeze(-1) / N
    fy = (c * R / 2) @ M.T
    yy = (w_teacher**2).sum(-1, keepdim=True) / N
    return yy - 2 * fy + ff + sigma_eps**2


class ReluStudentsGD:
    r"""Full-batch GD of two-layer ReLU students of several hidden sizes at once, as an engine model.

    State: ``{"W": (S, U, N), "v": (S, U), "H": W X, "A": relu(H)}`` with the units of every
    size concatenated (``seg`` names each unit's network, ``scale = K^{-1/2}``). The first layer
    is frozen unless ``train_first_layer``; the test error is exact
    (:func:`relu_test_error`, or the fixed unit kernel ``Kfix`` of a frozen layer).
    """

    name = "ReLU students GD"

    def __init__(self, W, v, H, A, X, y, wbar, se: float, seg, scale, M, lr: float, train_first_layer: bool,
                 fixed=None):
        self.W0, self.v0, self.H0, self.A0 = W, v, H, A
        self.X, self.y, self.wbar, self.se, self.seg, self.scale, self.M = X, y, wbar, se, seg, scale, M
        self.lr, self.train_first_layer, self.fixed = lr, train_first_layer, fixed
        self.P = X.shape[-1]
        self.n = M.shape[0]

    def init(self):
        return {"W": self.W0, "v": self.v0, "H": self.H0, "A": self.A0}

    def _residual(self, s):
        c = s["v"] * self.scale
        F = torch.einsum("nu,su,sup->snp", self.M, c, s["A"])  # (S, n, P)
        return c, self.y.unsqueeze(1) - F

    def observe(self, s):
        c, r = self._residual(s)
        train = (r**2).sum(-1) / self.P
        if self.train_first_layer:
            test = relu_test_error(s["W"], s["v"], self.scale, self.seg, self.n, self.wbar, self.se)
        else:
            Kfix, Rfix, yyN = self.fixed
            ff = torch.einsum("su,suv,sv->su", c, Kfix, c) @ self.M.T
            test = yyN - 2 * (c * Rfix) @ self.M.T + ff + self.se**2
        return {"loss": train.reshape(-1), "generalization_error": test.reshape(-1)}

    def step(self, s, k):
        c, r = self._residual(s)
        A, lr = s["A"], self.lr
        ru = r[:, self.seg, :]  # residual of each unit's network, (S, U, P)
        gv = -(A * ru).sum(-1) * self.scale
        if self.train_first_layer:
            G = ((s["H"] > 0).to(A.dtype) * ru) * c[..., None]
            W = s["W"] + lr * (G @ self.X.transpose(1, 2))
            H = W @ self.X
            return {"W": W, "v": s["v"] - lr * gv, "H": H, "A": torch.relu(H)}
        return {"W": s["W"], "v": s["v"] - lr * gv, "H": s["H"], "A": A}


def train_relu(data: TeacherStudentData, hidden_sizes: Sequence[int], *, train_first_layer: bool,
               steps: int, lr: float | None = None, record=30, init_scale: float = 1.0, seed: int = 0,
               exact: bool | None = None, log: bool = True, desc: str | None = None) -> Run:
    r"""Two-layer ReLU students ``f(x) = K^{-1/2} sum_k v_k relu(W_k . x)`` of every size in
    ``hidden_sizes`` at once, on each of ``data``'s E data sets (teacher column 0).

    ``W_k`` i.i.d. ``N(0, 1)`` entries (pre-activations O(1) since ``x ~ N(0, I/N)``),
    ``v_k ~ N(0, init_scale^2)``. The units of all sizes are concatenated into one hidden
    layer and summed per network, so all sizes train in one tensor program. GD on the sum
    loss; ``train_first_layer=False`` freezes ``W`` (random-features regression, ``K``
    parameters), otherwise both layers train (``K (N + 1)`` parameters).
    Default ``lr = 1/lambda_max`` of the initial neural-tangent Gram matrix (GD on the
    linearised model is stable below ``2/lambda_max``). Test error exact
    (:func:`relu_test_error`). Returns a :class:`~idealnets.simulate.Run` whose networks
    are the (data set, hidden size) pairs: ``losses`` the training error and
    ``state["generalization_error"]`` the test error, ``(E len(hidden_sizes), R)``;
    ``train_error`` and ``test_error`` the same as ``(E, len(hidden_sizes), R)``.

    With a frozen first layer the model is linear in ``v`` and GD has a closed form:
    with ``F`` the (K, P) scaled features and ``F^T F = V diag(mu) V^T``, the residual after
    k steps is ``(1 - lr mu)^k`` times the initial one and
    ``v_k = v_0 + F V diag((1 - (1 - lr mu)^k)/mu) V^T r_0``. ``exact=True`` (the default
    for a frozen first layer) evaluates this instead of stepping, so very long training
    (``steps`` ~ 1e6, needed near the interpolation threshold) costs nothing extra; it is
    the same trajectory to rounding (checked in the tests). Its :class:`Run` is built
    directly (every record at once), with the same fields.
    """
    if not isinstance(data, TeacherStudentData):
        raise TypeError(f"data must be a TeacherStudentData (see sample_data), got {type(data).__name__}")
    if isinstance(hidden_sizes, (str, bytes)) or not hasattr(hidden_sizes, "__iter__"):
        raise TypeError(f"hidden_sizes must be a sequence of positive ints, got {hidden_sizes!r}")
    sizes = [_v.as_int(K, "hidden_sizes entry", low=1) for K in hidden_sizes]
    if not sizes:
        raise ValueError("hidden_sizes must name at least one hidden size")
    check_entries(data.X.shape[0] * sum(sizes) * data.X.shape[1],
                  f"the first layers of {data.X.shape[0]} x {sum(sizes)} ReLU units (hidden_sizes summed) on N inputs")
    train_first_layer = _v.as_bool(train_first_layer, "train_first_layer")
    steps = _v.as_int(steps, "steps", low=0)
    init_scale = _pos("init_scale", init_scale)
    X, y, wbar = data.X, data.y[..., 0], data.w_teacher[..., 0]
    se = float(data.sigma_eps[0])
    S, N, P = X.shape
    dtype, device = X.dtype, X.device
    U = sum(sizes)
    n = len(sizes)
    seg = torch.cat([torch.full((K,), i, dtype=torch.long, device=device) for i, K in enumerate(sizes)])
    scale = torch.cat([torch.full((K,), 1.0 / math.sqrt(K), dtype=dtype, device=device) for K in sizes])
    M = torch.zeros(n, U, dtype=dtype, device=device)
    M[seg, torch.arange(U, device=device)] = 1.0
    gen = make_generator(seed, device)
    W = torch.randn(S, U, N, generator=gen, device=device, dtype=dtype)
    v = init_scale * torch.randn(S, U, generator=gen, device=device, dtype=dtype)
    with torch.no_grad():
        H = W @ X  # (S, U, P)
        A = torch.relu(H)
        # initial NTK Gram per network: (1/K)[A^T A + (X^T X) * (B^T B)], B = v relu'(H)
        sA = A * scale[:, None]
        theta = torch.einsum("nu,sup,suq->snpq", M, sA, sA)
        if train_first_layer:
            B = (H > 0).to(dtype) * (v * scale)[..., None]
            theta = theta + torch.einsum("nu,sup,suq->snpq", M, B, B) * (X.transpose(1, 2) @ X).unsqueeze(1)
        lmax = float(torch.linalg.eigvalsh(theta)[..., -1].max())
        del theta
    lr_max = 2.0 / lmax
    lr = 1.0 / lmax if lr is None else _pos("lr", lr)
    exact = (not train_first_layer) if exact is None else _v.as_bool(exact, "exact")
    if exact and train_first_layer:
        raise ValueError("exact=True needs a frozen first layer (train_first_layer=False)")
    fixed = None
    if not train_first_layer:  # frozen features: the unit kernel is fixed
        Q = W @ W.transpose(1, 2) / N
        dq = torch.diagonal(Q, dim1=1, dim2=2)
        same = (seg[:, None] == seg[None, :]).to(dtype)
        Kfix = _arccos1(Q, dq[:, :, None], dq[:, None, :]) * same
        Rfix = (W @ wbar.unsqueeze(-1)).squeeze(-1) / N / 2
        yyN = (wbar**2).sum(-1, keepdim=True) / N
        fixed = (Kfix, Rfix, yyN)
        del Q
    if exact:  # every record at once: the recording steps are needed here (else the engine makes them)
        rec = record_steps(int(steps), record, log=log)
        R = rec.size
        t0 = _time.perf_counter()
        with torch.no_grad():
            Fs = A * scale[:, None]  # (S, U, P)
            r0 = y.unsqueeze(1) - torch.einsum("nu,su,sup->snp", M, v, Fs)  # (S, n, P)
            Mmat = torch.einsum("nu,sup,suq->snpq", M, Fs, Fs)  # F^T F per network
            mu, Vm = torch.linalg.eigh(Mmat)
            mu = mu.clamp_min(0.0)
            kk = torch.as_tensor(rec, dtype=dtype, device=device)  # (R,)
            base = (1.0 - lr * mu).unsqueeze(-2)  # (S, n, 1, P)
            a = base ** kk[:, None]  # (S, n, R, P)
            q = torch.where(mu.unsqueeze(-2) > 0, (1.0 - a) / mu.unsqueeze(-2).clamp_min(1e-300),
                            lr * kk[:, None].expand_as(a))
            r0v = (Vm.transpose(-1, -2) @ r0.unsqueeze(-1)).squeeze(-1)  # (S, n, P)
            h = torch.einsum("snpj,snrj->snrp", Vm, q * r0v.unsqueeze(-2))  # (S, n, R, P)
            # v_k = v0 + F h for each unit's own network
            dv = torch.einsum("sup,surp->sru", Fs, h[:, seg])  # (S, R, U)
            vk = v.unsqueeze(1) + dv
            res = torch.einsum("snpj,snrj->snrp", Vm, a * r0v.unsqueeze(-2))
            train = (res**2).sum(-1) / P
            ck = vk * scale
            ff = torch.einsum("sru,suv,srv->sru", ck, Kfix, ck) @ M.T  # (S, R, n)
            test = (yyN.unsqueeze(1) - 2 * (ck * Rfix.unsqueeze(1)) @ M.T + ff + se**2).transpose(1, 2)
        monitor = DivergenceMonitor(lr=lr, lr_max=lr_max, what="the training error")
        for r_i in range(R):  # the closed form gives every record at once; check them in order
            monitor(int(rec[r_i]), train[:, :, r_i])
        run = Run(times=lr * rec.astype(float), time_unit=TIME_UNIT, steps=rec,
                  losses=train.cpu().numpy().reshape(S * n, R), loss_name=LOSS_NAME,
                  state={"generalization_error": test.cpu().numpy().reshape(S * n, R)},
                  diverged=monitor.diverged_numpy(S * n), wall_s=_time.perf_counter() - t0,
                  model="ReLU students GD (closed form, frozen first layer)")
        return _with_old_layout(run, (S, n), lr, lr_max)
    model = ReluStudentsGD(W, v, H, A, X, y, wbar, se, seg, scale, M, lr, train_first_layer, fixed)
    run = _run_errors(model, steps=steps, record=record, log=log, lr=lr, lr_max=lr_max,
                      desc=as_desc(desc) or f"ReLU students ({'both layers' if train_first_layer else 'readout only'})")
    return _with_old_layout(run, (S, n), lr, lr_max)
