r"""Infinite-width networks: NNGP and neural tangent kernels and their training dynamics.

Architecture and parameterisation
---------------------------------
An MLP with ``depth`` = L hidden layers of width n and a linear readout, in the
NTK parameterisation (the same as neural-tangents'
``stax.serial(*[Dense(n, W_std, b_std), Act()] * L, Dense(N_out, W_std, b_std))``):

.. math::

    z^1 = \frac{\sigma_w}{\sqrt{N_{in}}} W^1 x + \sigma_b b^1,\qquad
    z^{l+1} = \frac{\sigma_w}{\sqrt{n}} W^{l+1} \phi(z^l) + \sigma_b b^{l+1},\qquad
    f(x) = z^{L+1},

with ``sigma_w = W_std``, ``sigma_b = b_std`` and every entry of every ``W, b``
standard normal. ``depth = 0`` is the linear model ``f = z^1``.

Kernels (Neal 1996; Lee et al. 2018; Jacot, Gabriel & Hongler 2018, Thm. 1;
Lee et al. 2019, Eqs. 7-8 and App. C). As n -> infinity every pre-activation is a
Gaussian process with covariance ``K^l`` (the NNGP kernel) and the tangent kernel
``Theta^l = sum_params d z^l/d theta . d z^l/d theta`` is deterministic:

.. math::

    K^1 = \sigma_w^2\, \frac{x\cdot x'}{N_{in}} + \sigma_b^2,\qquad \Theta^1 = K^1,\\
    K^{l+1} = \sigma_w^2\, \mathbb E[\phi(u)\phi(v)] + \sigma_b^2,\qquad
    \Theta^{l+1} = K^{l+1} + \sigma_w^2\, \mathbb E[\phi'(u)\phi'(v)]\; \Theta^l,

the expectations over ``(u, v) ~ N(0, [[K^l(x,x), K^l(x,x')], [K^l(x,x'), K^l(x',x')]])``.
The returned kernels are those of the output ``z^{L+1}`` (one output unit; the
outputs are independent and identically distributed, so the kernel of N_out
outputs is ``Theta (x) I``). The Gaussian expectations are closed forms: the
arc-cosine kernels for ReLU (Cho & Saul 2009), Williams' (1997) arcsine kernel for
erf, and the identity for the linear activation (:func:`relu_expectations`,
:func:`erf_expectations`).

Training dynamics (Lee et al. 2019, Eqs. 9-11, and Sec. 2.3). With the loss of
docs: Conventions, "Loss and time", ``L = (1/2P) sum_mu ||f(x_mu) - y_mu||^2`` (mean over the P
samples), gradient flow ``d theta/dt = -dL/d theta`` moves the outputs as
``df(x)/dt = -Theta(x, X) (f(X) - Y)/P`` (the unnormalised kernel divided by P,
from the 1/P in the loss). In the infinite-width limit Theta is constant and the
mean output over initialisations obeys (``E f_0 = 0``)

.. math::

    \mu_t(x) = \Theta(x, X)\, \Theta^{-1} \big(I - e^{-\Theta t / P}\big)\, Y,
    \qquad t = \mathrm{lr}\cdot\mathrm{steps}.

docs: Conventions, "Infinite width" writes the exponent as ``-lr Theta t / P``; that is the same
expression when ``t`` counts steps (as in neural-tangents' ``predict``), and
double-counts ``lr`` with the project's time ``t = lr * steps``: here the exponent
is ``-Theta t / P`` (derived above). Full-batch gradient descent with learning rate
``lr`` on the linearised network replaces ``e^{-Theta t/P}`` by
``(I - lr Theta/P)^{t/lr}`` exactly (:func:`gradient_descent_mse`), which is stable
iff ``lr < 2P / lambda_max(Theta)`` (:func:`stable_lr`).

Shapes follow docs: Conventions, "Loss and time": inputs ``x`` are ``(N_in, P)`` with samples as
columns, targets ``(N_out, P)``; kernels are ``(P1, P2)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

from .validation import as_array, as_bool, as_choice, as_float, as_int, as_times, deprecated_alias

__all__ = [
    "ACTIVATIONS",
    "Kernels",
    "relu_expectations",
    "erf_expectations",
    "linear_expectations",
    "kernels",
    "stable_lr",
    "max_learning_rate",
    "gradient_descent_mse",
    "GradientDescentMSE",
    "gradient_flow_mean",
    "expected_loss",
]

ACTIVATIONS = ("relu", "erf", "linear")


class Kernels(NamedTuple):
    """The infinite-width kernels between two sets of inputs, each ``(P1, P2)`` float64."""

    nngp: np.ndarray
    ntk: np.ndarray


# ---------------------------------------------------------------------------
# Small formulas: Gaussian expectations of phi(u) phi(v) and phi'(u) phi'(v)
# ---------------------------------------------------------------------------
def relu_expectations(k11, k22, k12):
    r"""ReLU Gaussian expectations (arc-cosine kernels of degree 1 and 0; Cho & Saul 2009, Eq. 6).

    For ``(u, v) ~ N(0, [[k11, k12], [k12, k22]])`` and ``cos(theta) = k12 / sqrt(k11 k22)``:

    .. math::

        \mathbb E[\mathrm{relu}(u)\mathrm{relu}(v)] = \frac{\sqrt{k_{11}k_{22}}}{2\pi}
            \big(\sin\theta + (\pi - \theta)\cos\theta\big),\qquad
        \mathbb E[\mathrm{step}(u)\,\mathrm{step}(v)] = \frac{\pi - \theta}{2\pi}.

    Arrays broadcast; returns ``(E[phi phi], E[phi' phi'])``. Zero-variance inputs
    (``k11 k22 = 0``) give 0 and 1/2 (the step of a degenerate Gaussian is taken as 1/2).
    """
    return _relu_expectations(*_check_covariance(k11, k22, k12))


def _relu_expectations(k11, k22, k12):
    """:func:`relu_expectations` on trusted float arrays."""
    with np.errstate(over="ignore", invalid="ignore"):
        prod = k11 * k22
        norm = np.sqrt(prod)
        # theta = atan2(sqrt(k11 k22 - k12^2), k12): exact 0 on the diagonal, where arccos(k12/norm)
        # turns one rounding error in the cosine into a sqrt(eps) ~ 1e-8 error of the angle
        k12_sq = k12**2
        sin_norm = np.sqrt(np.maximum(prod - k12_sq, 0.0))
    big = ~np.isfinite(prod) | ~np.isfinite(k12_sq)
    if np.any(big):  # k11 k22 overflows (variances ~1e154 and up): the same formulas scaled by m = max(k11, k22)
        m = np.where(big, np.maximum(k11, k22), 1.0)
        a, b, c = k11 / m, k22 / m, k12 / m
        norm = np.where(big, m * np.sqrt(a * b), norm)
        sin_norm = np.where(big, m * np.sqrt(np.maximum(a * b - c * c, 0.0)), sin_norm)
    theta = np.arctan2(sin_norm, k12)
    e_phi = (sin_norm + (np.pi - theta) * k12) / (2 * np.pi)
    e_dphi = np.where(norm > 0, (np.pi - theta) / (2 * np.pi), 0.5)
    return e_phi, e_dphi


def erf_expectations(k11, k22, k12):
    r"""erf Gaussian expectations (Williams 1997, Eq. 11; Lee et al. 2019, App. C).

    For ``(u, v) ~ N(0, [[k11, k12], [k12, k22]])``:

    .. math::

        \mathbb E[\mathrm{erf}(u)\,\mathrm{erf}(v)] = \frac{2}{\pi}\arcsin
            \frac{2k_{12}}{\sqrt{(1 + 2k_{11})(1 + 2k_{22})}},\qquad
        \mathbb E[\mathrm{erf}'(u)\,\mathrm{erf}'(v)] = \frac{4}{\pi}
            \frac{1}{\sqrt{(1 + 2k_{11})(1 + 2k_{22}) - 4k_{12}^2}},

    the second from ``erf'(z) = (2/sqrt(pi)) e^{-z^2}`` and the Gaussian integral
    ``E[e^{-u^2 - v^2}] = det(I + 2 Sigma)^{-1/2}``. Returns ``(E[phi phi], E[phi' phi'])``.
    """
    return _erf_expectations(*_check_covariance(k11, k22, k12))


#: erf: where ``det = (1 + 2k11)(1 + 2k22) - 4k12^2`` is below this fraction of the product (variances
#: above ~1e6, where the subtraction has lost six or more digits) or overflows, it is computed as
#: ``1 + 2k11 + 2k22 + 4(k11 k22 - k12^2)``, scaled, instead
ERF_CANCELLATION = 1e-6


def _erf_expectations(k11, k22, k12):
    """:func:`erf_expectations` on trusted float arrays."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        prod = (1.0 + 2.0 * k11) * (1.0 + 2.0 * k22)
        det = prod - 4.0 * k12**2
        e_phi = 2.0 / np.pi * np.arcsin(np.clip(2.0 * k12 / np.sqrt(prod), -1.0, 1.0))
        e_dphi = 4.0 / np.pi / np.sqrt(det)
    bad = ~np.isfinite(prod) | ~np.isfinite(det) | ~(det > ERF_CANCELLATION * prod)
    if np.any(bad):
        # scaled by m = max(k11, k22, 1): det = m^2 [1/m^2 + 2(a + b)/m + 4(a b - c^2)] with a = k11/m, ...,
        # where a b - c^2 >= 0 is the (scaled) Gram determinant, exactly 0 on the diagonal
        m = np.where(bad, np.maximum(np.maximum(k11, k22), 1.0), 1.0)
        a, b, c = k11 / m, k22 / m, k12 / m
        d_s = 1.0 / m / m + 2.0 * (a + b) / m + 4.0 * np.maximum(a * b - c * c, 0.0)
        root = np.sqrt((1.0 / m + 2.0 * a) * (1.0 / m + 2.0 * b))
        phi_s = 2.0 / np.pi * np.arcsin(np.clip(2.0 * c / root, -1.0, 1.0))
        e_phi = np.where(bad, phi_s, e_phi)
        e_dphi = np.where(bad, 4.0 / np.pi / (m * np.sqrt(d_s)), e_dphi)
    return e_phi, e_dphi


def linear_expectations(k11, k22, k12):
    """Linear activation ``phi(z) = z``: ``E[uv] = k12`` and ``E[phi' phi'] = 1``."""
    return _linear_expectations(*_check_covariance(k11, k22, k12))


def _linear_expectations(k11, k22, k12):
    """:func:`linear_expectations` on trusted float arrays."""
    return k12, np.ones_like(np.broadcast_to(k12, np.broadcast_shapes(np.shape(k11), np.shape(k22), k12.shape)))


_EXPECTATIONS: dict[str, Callable] = {
    "relu": _relu_expectations,
    "erf": _erf_expectations,
    "linear": _linear_expectations,
}


# ---------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------
#: Most hidden layers :func:`kernels` (and the functions built on it) accept: its cost is linear in depth
DEPTH_MAX = 10_000
#: Largest ``W_std``/``b_std``: their squares must be floats
STD_MAX = 1e150


def _check_covariance(k11, k22, k12) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Variances ``k11, k22 >= 0`` and covariance ``k12`` (finite, broadcasting) of a Gaussian pair,
    with ``k12^2 <= k11 k22`` up to rounding (else the expectations are undefined: NaN)."""
    k11 = as_array(k11, "k11", low=0.0, allow_empty=True)
    k22 = as_array(k22, "k22", low=0.0, allow_empty=True)
    k12 = as_array(k12, "k12", allow_empty=True)
    try:
        np.broadcast_shapes(k11.shape, k22.shape, k12.shape)
    except ValueError:
        raise ValueError(f"k11, k22 and k12 must broadcast together, got shapes {k11.shape}, {k22.shape}, "
                         f"{k12.shape}") from None
    with np.errstate(over="ignore"):
        excess = np.abs(k12) > np.sqrt(k11) * np.sqrt(k22) * (1.0 + 1e-9)
    if np.any(excess):
        raise ValueError("k12 must satisfy k12^2 <= k11 k22 (a covariance of two Gaussians), got "
                         f"{float(np.broadcast_to(k12, excess.shape)[excess].ravel()[0]):g}")
    return k11, k22, k12

def _check_activation(activation) -> str:
    if isinstance(activation, str) and activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {ACTIVATIONS}")
    return as_choice(activation, "activation", ACTIVATIONS)


def _check_depth(depth) -> int:
    """The number of hidden layers L >= 0."""
    return as_int(depth, "depth (number of hidden layers)", low=0, high=DEPTH_MAX)


def _check_inputs(x, name: str) -> np.ndarray:
    """(N_in, P) finite inputs with at least one feature and one sample."""
    return as_array(x, name, ndim=2)


def _check_std(W_std, b_std) -> tuple[float, float]:
    return (as_float(W_std, "W_std", low=0.0, open_low=True, high=STD_MAX),
            as_float(b_std, "b_std", low=0.0, high=STD_MAX))


# ---------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------
def kernels(x1, x2=None, depth: int = 1, activation: str = "relu", W_std: float = 1.0,
            b_std: float = 0.0) -> Kernels:
    r"""Infinite-width NNGP ``K`` and NTK ``Theta`` of the MLP of the module docstring.

    Runs the layer recursion of the module docstring (Jacot et al. 2018, Thm. 1;
    Lee et al. 2019, Eqs. 7-8) from ``K^1 = Theta^1 = W_std^2 x.x'/N_in + b_std^2``
    through ``depth`` hidden layers and the linear readout, tracking the
    diagonals ``K(x, x)`` and ``K(x', x')`` needed by the Gaussian expectations.

    Parameters
    ----------
    x1 : (N_in, P1) inputs, samples as columns.
    x2 : (N_in, P2) inputs, or None for ``x1``.
    depth : number of hidden layers L >= 0 (the readout Dense layer is extra;
        neural-tangents' ``serial(*[Dense, Act] * L, Dense)``).
    activation : ``"relu"``, ``"erf"`` or ``"linear"``.
    W_std, b_std : the standard deviations of the NTK parameterisation, shared by all layers
        (at most :data:`STD_MAX`).

    Inputs so large that a kernel overflows float64 (relu and linear kernels grow as
    ``|x|^2``, e.g. entries ~1e154) are a ValueError naming the inputs; erf kernels stay
    accurate for large inputs (its ``det(I + 2 Sigma)`` is then computed without cancellation).

    Returns
    -------
    :class:`Kernels` ``(nngp, ntk)``, each ``(P1, P2)`` float64: the covariance of one
    output over initialisations and the (deterministic) tangent kernel of that output.
    """
    x1 = _check_inputs(x1, "x1")
    x2 = x1 if x2 is None else _check_inputs(x2, "x2")
    if x1.shape[0] != x2.shape[0]:
        raise ValueError(f"x1 has {x1.shape[0]} features (rows) but x2 has {x2.shape[0]}")
    depth = _check_depth(depth)
    expect = _EXPECTATIONS[_check_activation(activation)]
    W_std, b_std = _check_std(W_std, b_std)
    n_in = x1.shape[0]
    w2, b2 = W_std**2, b_std**2
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is refused below, by name
        k12 = w2 * (x1.T @ x2) / n_in + b2
        k11 = w2 * np.sum(x1 * x1, axis=0)[:, None] / n_in + b2  # (P1, 1)
        k22 = w2 * np.sum(x2 * x2, axis=0)[None, :] / n_in + b2  # (1, P2)
        ntk = k12.copy()
        for _ in range(depth):
            e12, de12 = expect(k11, k22, k12)
            e11, _ = expect(k11, k11, k11)
            e22, _ = expect(k22, k22, k22)
            k12 = w2 * e12 + b2
            k11 = w2 * e11 + b2
            k22 = w2 * e22 + b2
            ntk = k12 + w2 * de12 * ntk
    if not (np.isfinite(k12).all() and np.isfinite(ntk).all()):
        big = max(float(np.max(np.abs(x1))), float(np.max(np.abs(x2))))
        raise ValueError(f"the kernels of these inputs overflow float64 (max|x| = {big:.3g}, W_std = {W_std:g}, "
                         f"b_std = {b_std:g}): relu and linear kernels grow as W_std^2 |x|^2 / N_in per layer; "
                         "rescale x1/x2 (or W_std)")
    return Kernels(np.ascontiguousarray(k12), np.ascontiguousarray(ntk))


def stable_lr(ntk_train_train) -> float:
    r"""The stable learning rate: the largest stable full-batch GD learning rate on the mean squared loss,
    ``2P / lambda_max(Theta)`` (formerly ``max_learning_rate``; that name still works, deprecated).

    Gradient descent on the linearised network moves the training residual as
    ``r_{k+1} = (I - lr Theta / P) r_k`` (module docstring), so every mode
    contracts iff ``|1 - lr lambda_i / P| < 1``, i.e. ``lr < 2P / lambda_max``
    (Lee et al. 2019, Sec. 2.3 and App. D; the 1/P comes from the mean over
    samples in the package's loss (docs: Conventions)). Above it the top mode grows by
    ``|1 - lr lambda_max / P|`` per step. Exact for infinite width; finite networks
    have a slightly different kernel (and, slightly above the threshold, can
    "catapult" to a flatter region instead of diverging; Lewkowycz et al. 2020).

    ntk_train_train : (P, P) symmetric positive semi-definite NTK on the training inputs.
    """
    return _stable_lr(_check_gram(ntk_train_train, "ntk_train_train"))


def _stable_lr(theta: np.ndarray) -> float:
    lam_max = float(np.linalg.eigvalsh(theta)[-1])
    if not lam_max > 0:
        raise ValueError("the kernel has no positive eigenvalue; every learning rate is stable")
    return 2.0 * theta.shape[0] / lam_max


max_learning_rate = deprecated_alias(stable_lr, "max_learning_rate")


def _check_gram(theta, name: str) -> np.ndarray:
    theta = as_array(theta, name, ndim=2)
    if theta.shape[0] != theta.shape[1]:
        raise ValueError(f"{name} must be a square (P, P) matrix, got shape {theta.shape}")
    if not np.allclose(theta, theta.T, rtol=1e-10, atol=1e-12 * np.abs(theta).max()):
        raise ValueError(f"{name} must be symmetric")
    return 0.5 * (theta + theta.T)


@dataclass(frozen=True)
class GradientDescentMSE:
    r"""Mean outputs of an infinitely wide network trained on the mean squared loss.

    Built by :func:`gradient_descent_mse`, which diagonalises ``Theta = V diag(lam) V^T``
    once. Calling it with times ``t`` (any shape; gradient-flow time ``t = lr * steps``)
    returns ``(f_train, f_test)`` of shapes ``t.shape + (N_out, P)`` and
    ``t.shape + (N_out, P_test)``:

    .. math::

        f_{\rm train}(t) = Y - (Y - f_0) V g(t) V^\top,\qquad
        f_{\rm test}(t) = f_{0,\rm test} + \Theta_{\rm test, train} V \frac{1 - g(t)}{\lambda} V^\top (Y - f_0)

    (residual factors acting from the right on rows of Y), with
    ``g(t) = e^{-lam t / P}`` for gradient flow (``lr = 0``) and
    ``g(t) = (1 - lr lam / P)^{t / lr}`` for full-batch GD (``t/lr`` must then be an
    integer number of steps wherever ``1 - lr lam / P < 0``). ``t = np.inf`` gives kernel
    regression ``Theta_test,train Theta^{-1} Y`` (the fixed point, when ``lr`` is stable).
    Zero eigenvalues (e.g. repeated inputs) contribute nothing: for a null vector v of
    ``Theta(X, X)`` the function ``Theta(., X) v`` has zero RKHS norm, so
    ``Theta_test,train v = 0``. ``f0`` is the initial output (zero for the mean over
    initialisations, or for networks centred as ``f - f_0``).
    """

    evals: np.ndarray
    evecs: np.ndarray
    y_train: np.ndarray
    ntk_test_train: np.ndarray | None
    lr: float
    f0_train: np.ndarray
    f0_test: np.ndarray | None

    @property
    def P(self) -> int:
        return self.evals.size

    def residual_factors(self, t) -> np.ndarray:
        """``g(t)`` per eigenmode, shape ``t.shape + (P,)``; 0 at ``t = inf`` for positive eigenvalues."""
        t = as_times(t)
        lam = self.evals
        tt = t[..., None]
        if self.lr == 0.0:
            with np.errstate(over="ignore", under="ignore", invalid="ignore"):
                g = np.exp(-lam * tt / self.P)
            g = np.where(np.isinf(tt), np.where(lam > 0, 0.0, 1.0), g)
            return g
        base = 1.0 - self.lr * lam / self.P
        base = np.where(np.abs(base) < 1e-12, 0.0, base)  # lr = P/lam exactly: one-step convergence, not a sign flip
        k = tt / self.lr
        finite = np.isfinite(k)
        kf = np.where(finite, k, 0.0)
        if np.any((base < 0) & ~np.isclose(kf, np.round(kf), rtol=0, atol=1e-9)):
            raise ValueError("with lr > P/lambda some modes oscillate in sign: t/lr must be integer steps")
        kf = np.where(base < 0, np.round(kf), kf)
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            g = np.sign(base) ** kf * np.abs(base) ** kf
        stable = np.abs(base) < 1
        g_inf = np.where(stable, 0.0, np.where(base == 1.0, 1.0, np.inf))
        return np.where(finite, g, g_inf)

    def __call__(self, t) -> tuple[np.ndarray, np.ndarray | None]:
        g = self.residual_factors(t)  # t.shape + (P,)
        V, lam = self.evecs, self.evals
        r0 = (self.y_train - self.f0_train) @ V  # (N_out, P) residual in the eigenbasis
        with np.errstate(over="ignore", invalid="ignore"):
            f_train = self.y_train - np.einsum("op,...p,qp->...oq", r0, g, V)
            f_test = None
            if self.ntk_test_train is not None:
                # (1 - g)/lam, with its lam -> 0 limit 0 (the mode is never learned)
                pos = lam > 0
                w = np.where(pos, (1.0 - g) / np.where(pos, lam, 1.0), 0.0)
                B = self.ntk_test_train @ V  # (P_test, P)
                f_test = self.f0_test + np.einsum("op,...p,qp->...oq", r0, w, B)
        return f_train, f_test


def gradient_descent_mse(ntk_train_train, y_train, ntk_test_train=None, *, lr: float = 0.0,
                         f0_train=None, f0_test=None, allow_unstable: bool = False) -> GradientDescentMSE:
    r"""Factory for the linearised training dynamics on the mean squared loss (Lee et al. 2019, Eqs. 9-11).

    Parameters
    ----------
    ntk_train_train : (P, P) NTK on the training inputs.
    y_train : (N_out, P) targets (a (P,) vector is taken as one output).
    ntk_test_train : (P_test, P) NTK between test and training inputs, or None.
    lr : 0 for gradient flow; > 0 for full-batch GD with that learning rate (the
        exact discrete dynamics of the linearised network, compared at ``t = lr * steps``).
    f0_train, f0_test : initial outputs ``(N_out, P)`` / ``(N_out, P_test)``; default 0
        (the mean over initialisations, or a centred network ``f - f_0``).
    allow_unstable : ``lr`` at or above :func:`stable_lr` is refused (a ValueError,
        at every ``t``: gradient descent diverges there, and ``t = inf`` has no fixed point),
        unless this is True, which returns the exact but growing discrete dynamics
        (e.g. to show the growth past the threshold); ``t = inf`` is then inf.

    Returns
    -------
    GradientDescentMSE
        The factory; see it for the formulas.
    """
    theta = _check_gram(ntk_train_train, "ntk_train_train")
    P = theta.shape[0]
    y = as_array(y_train, "y_train", ndim=(1, 2))
    if y.ndim == 1:
        y = y[None, :]
    if y.shape[1] != P:
        raise ValueError(f"y_train must be (N_out, P) with P = {P} samples, got shape {np.shape(y_train)}")
    if ntk_test_train is not None:
        ntk_test_train = as_array(ntk_test_train, "ntk_test_train", ndim=2)
        if ntk_test_train.shape[1] != P:
            raise ValueError(f"ntk_test_train must be (P_test, {P}), got shape {ntk_test_train.shape}")
    lr = as_float(lr, "lr (0 = gradient flow)", low=0.0)
    allow_unstable = as_bool(allow_unstable, "allow_unstable")
    evals, evecs = np.linalg.eigh(theta)
    tol = P * np.finfo(float).eps * max(abs(evals).max(), 1e-300)
    evals = np.where(np.abs(evals) < tol, 0.0, evals)
    if np.any(evals < 0):
        raise ValueError("ntk_train_train must be positive semi-definite")
    if lr > 0 and evals[-1] > 0 and not allow_unstable:
        lr_max = 2.0 * P / evals[-1]
        # "at the limit" within rounding counts as at it (|1 - lr lambda_max / P| = 1: no contraction)
        if lr >= lr_max * (1.0 - 64 * np.finfo(float).eps):
            raise ValueError(f"lr={lr:.4g} is at or above the stable limit 2P/lambda_max = {lr_max:.4g} of this "
                             "kernel: gradient descent diverges there, at every time. Pass a smaller lr, or lr=0 "
                             "for gradient flow.")
    f0_train = (np.zeros_like(y) if f0_train is None
                else np.broadcast_to(as_array(f0_train, "f0_train", ndim=(1, 2)), y.shape))
    if ntk_test_train is None:
        f0_test = None
    else:
        shape = (y.shape[0], ntk_test_train.shape[0])
        f0_test = (np.zeros(shape) if f0_test is None
                   else np.broadcast_to(as_array(f0_test, "f0_test", ndim=(1, 2)), shape))
    return GradientDescentMSE(evals, evecs, y, ntk_test_train, lr, np.array(f0_train), f0_test)


def gradient_flow_mean(x_train, y_train, x_test, t, lr: float = 1.0, *, depth: int = 1,
                       activation: str = "relu", W_std: float = 1.0, b_std: float = 0.0):
    r"""Mean train and test outputs of infinitely wide networks trained by full-batch GD / gradient flow.

    .. math::

        \mu_t(x) = \Theta(x, X)\,\Theta^{-1}\big(I - g(t)\big) Y,\qquad
        g(t) = (I - \mathrm{lr}\,\Theta/P)^{t/\mathrm{lr}} \xrightarrow{\mathrm{lr}\to 0} e^{-\Theta t/P}

    (Lee et al. 2019, Eqs. 9-11, in the package's mean-over-samples loss (docs: Conventions)), with the
    analytic NTK of :func:`kernels` and one eigendecomposition of ``Theta(X, X)``
    (:func:`gradient_descent_mse`). Time is gradient-flow time ``t = lr * steps``
    (docs: Conventions, "Loss and time"). ``lr`` is the learning rate of the gradient descent being
    described: with ``lr > 0`` the result is the exact mean of GD on the
    linearised network at step ``t / lr`` (which differs from the flow by O(lr));
    ``lr = 0`` gives gradient flow itself. ``t = np.inf`` gives kernel regression
    ``Theta(x, X) Theta^{-1} Y`` (for ``lr`` below :func:`stable_lr`).

    Parameters
    ----------
    x_train : (N_in, P)
        Training inputs.
    y_train : (N_out, P) or (P,)
        Targets.
    x_test : (N_in, P_test)
        Test inputs.
    t : times of any shape.
    depth, activation, W_std, b_std : the architecture, as in :func:`kernels`.

    Returns
    -------
    (f_train, f_test)
        Shapes ``t.shape + (N_out, P)`` and ``t.shape + (N_out, P_test)``.
    """
    x_train = _check_inputs(x_train, "x_train")
    x_test = _check_inputs(x_test, "x_test")
    if x_train.shape[0] != x_test.shape[0]:
        raise ValueError(f"x_train has {x_train.shape[0]} features (rows) but x_test has {x_test.shape[0]}")
    kw = dict(depth=depth, activation=activation, W_std=W_std, b_std=b_std)
    lr = as_float(lr, "lr (0 = gradient flow)", low=0.0)
    theta = kernels(x_train, x_train, **kw).ntk
    theta_test = kernels(x_test, x_train, **kw).ntk
    lr_max = _stable_lr(theta)
    if lr >= lr_max:
        raise ValueError(f"lr={lr:.4g} is at or above the stable limit 2P/lambda_max = {lr_max:.4g} of this "
                         "kernel: gradient descent diverges there. Pass a smaller lr, or lr=0 for gradient flow.")
    return gradient_descent_mse(theta, y_train, theta_test, lr=lr)(t)


def expected_loss(nngp_train_train, ntk_train_train, y_train, t, *, lr: float = 0.0, centered: bool = False):
    r"""Expected training loss over initialisations of infinitely wide networks.

    The training residual is ``r_t = (f_0 - Y) g(t)`` with ``g`` of
    :class:`GradientDescentMSE`, and ``f_0 ~ N(0, K)`` independently for each of the
    N_out outputs (K the NNGP kernel), so

    .. math::

        \mathbb E L_t = \frac{1}{2P}\sum_i g_i(t)^2\Big(\|Y v_i\|^2 + N_{out}\, v_i^\top K v_i\Big)

    in the eigenbasis ``Theta v_i = lam_i v_i``. With ``centered=True`` (networks
    trained as ``f - f_0``, which start at 0) the K term is absent and the loss is
    deterministic. Returns an array of shape ``t.shape``.
    """
    K = _check_gram(nngp_train_train, "nngp_train_train")
    centered = as_bool(centered, "centered")
    gd = gradient_descent_mse(ntk_train_train, y_train, lr=lr)
    if K.shape != (gd.P, gd.P):
        raise ValueError("nngp_train_train and ntk_train_train must have the same shape")
    g = gd.residual_factors(t)
    V = gd.evecs
    weight = np.sum((gd.y_train @ V) ** 2, axis=0)
    if not centered:
        weight = weight + gd.y_train.shape[0] * np.einsum("pi,pq,qi->i", V, K, V)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.sum(g**2 * weight, axis=-1) / (2 * gd.P)
