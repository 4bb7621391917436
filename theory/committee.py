r"""Online SGD in two-layer "soft committee" networks: order-parameter ODEs.

Conventions (docs: Conventions, "Online SGD in committee machines"). Input ``x ~ N(0, I_N)``; student
``phi(x) = sum_k v_k g(lambda_k)``, ``lambda_k = w_k.x/sqrt(N)`` (K units);
teacher ``y = sum_m v*_m g(nu_m) + sigma zeta``, ``nu_m = w*_m.x/sqrt(N)``
(M units, ``zeta ~ N(0,1)``); ``g(z) = erf(z/sqrt 2)`` or ``g(z) = z``.
Online SGD on ``(1/2) Delta^2``, ``Delta = phi(x) - y``, one fresh sample a step:

    w_k <- w_k - (lr/sqrt N) v_k Delta g'(lambda_k) x
    v_k <- v_k - (lr_v/N) Delta g(lambda_k)            (only if the 2nd layer trains)

The pre-activations ``(lambda, nu)`` are jointly Gaussian with covariance
``Omega = [[Q, R], [R^T, T]]``, ``Q_kl = w_k.w_l/N``, ``R_km = w_k.w*_m/N``,
``T_mn = w*_m.w*_n/N``. With ``alpha = steps/N`` and N -> infinity the order
parameters become deterministic and obey (our own derivation, in the
conventions above; it is the ODE of Saad & Solla 1995 and of Goldt et al.
2019 (main text and Supplementary Material), up to their sign
convention ``Delta -> -Delta``; equation numbers differ between versions). Write ``u = (v, -v*)`` for the K+M "output
weights" of the joint units ``a = (lambda_1..lambda_K, nu_1..nu_M)``, so that
``Delta = sum_a u_a g(a) - sigma zeta``:

.. math::

    dR_{km}/d\alpha &= -\eta\, v_k \sum_c u_c\, I_3(k, m, c) \\
    dQ_{kl}/d\alpha &= -\eta\, v_k \sum_c u_c\, I_3(k, l, c) - \eta\, v_l \sum_c u_c\, I_3(l, k, c)
        + \eta^2 v_k v_l \Big[\sum_{c,d} u_c u_d\, I_4(k, l, c, d) + \sigma^2 J_2(k, l)\Big] \\
    dv_k/d\alpha &= -\eta_v \sum_c u_c\, I_2(k, c)

with ``I2(a,b) = E[g(a)g(b)]``, ``I3(a,b,c) = E[g'(a) b g(c)]``,
``I4(a,b,c,d) = E[g'(a)g'(b)g(c)g(d)]``, ``J2(a,b) = E[g'(a)g'(b)]``.
(The ``eta^2`` term comes from ``|x|^2/N -> 1``; the second layer has no
``eta_v^2`` term because its step is O(1/N).) The generalisation error is
``eps_g = (1/2) E[(phi - phi*)^2] = (1/2) sum_{a,b} u_a u_b I2(a, b)`` (noise not
included).

Factors of two between the papers: Saad & Solla and Goldt et al. use
``g(x) = erf(x/sqrt 2)`` and ``eps_g = (1/2)E[...]`` as here; Goldt et al. scale
the first-layer step as ``lr/sqrt(N)`` and the second-layer step as ``lr/N``
exactly as the conventions page (docs: Conventions) does, so ``eta`` here is their ``eta``. Every term is
checked in ``tests/test_committee.py`` against Monte-Carlo averages and against
online SGD of the networks themselves.

Feedback alignment (``CommitteeODE(..., feedback=b)``). Feedback alignment
(Lillicrap et al. 2016) replaces, in the backward pass, the weights that carry
the error to the hidden units by a fixed vector ``b`` (K,): the first-layer step
becomes

    w_k <- w_k - (lr/sqrt N) b_k Delta g'(lambda_k) x,

while the forward pass (hence ``Delta``) still uses ``v`` and the second layer
trains as usual, ``v_k <- v_k - (lr_v/N) Delta g(lambda_k)`` (with
``train_second_layer=True``; with False v stays at v0). Derivation (ours; the
committee-machine analysis of feedback alignment is Refinetti, d'Ascoli,
Ohana & Goldt 2021, "Align, then memorise: the dynamics of learning with
feedback alignment", who treat direct feedback alignment in this
teacher-student setting). The order-parameter increments follow exactly as for
backprop, with the prefactor of each first-layer step changed from ``v_k`` to
``b_k``: ``N dR_km = -eta b_k Delta g'(lambda_k) nu_m``, and ``N dQ_kl`` has the
cross terms ``-eta b_k Delta g'(lambda_k) lambda_l`` (and k <-> l) plus
``eta^2 b_k b_l Delta^2 g'(lambda_k) g'(lambda_l) |x|^2/N``. Averaging over the
Gaussian pre-activations as before, the ``v_k`` prefactors that come from the
backward pass become ``b_k`` and the ``v`` inside ``u = (v, -v*)`` (the forward
pass, through ``Delta``) stays:

.. math::

    dR_{km}/d\alpha &= -\eta\, b_k \sum_c u_c\, I_3(k, m, c) \\
    dQ_{kl}/d\alpha &= -\eta\, b_k \sum_c u_c\, I_3(k, l, c) - \eta\, b_l \sum_c u_c\, I_3(l, k, c)
        + \eta^2 b_k b_l \Big[\sum_{c,d} u_c u_d\, I_4(k, l, c, d) + \sigma^2 J_2(k, l)\Big] \\
    dv_k/d\alpha &= -\eta_v \sum_c u_c\, I_2(k, c)   \quad\text{(unchanged)}

With ``train_second_layer=False`` and ``b = v0`` this is the backprop ODE term
by term (tested to 1e-12). The alignment ``cos(v, b)``
(:func:`feedback_alignment`, :attr:`CommitteeTrajectory.alignment`) rises first
(the "align" phase: the first layer grows along ``b``-signed teacher directions,
so ``g(lambda_k)`` and hence ``dv_k`` acquire the sign of ``b_k``), then the
error falls to the plateau and the student specialises ("memorise"), during
which cos(v, b) relaxes from near 1 to the value the task's solution allows.
Where every ``b_k != 0`` the fixed points of the FA flow with ``Delta``-stationary
first layer are those of backprop, so noise-free realisable tasks reach zero
error; with output noise the ``eta^2 sigma^2`` term carries ``b_k b_l`` instead of
``v_k v_l``, so the asymptotic error differs from backprop's (predicted by
integrating to ``alpha = inf``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq, fsolve

from . import _core, _gaussian
from ._gaussian import RELU_DUP_TOL, RELU_P4_NODES  # noqa: F401 (documented here)
from ._gaussian import i2 as _i2, i3 as _i3, j2 as _j2, pair_i2 as _pair_i2
from .validation import (DivergenceError, as_array, as_bool, as_float, as_int, as_times, deprecated_alias,
                         renamed_keywords)

__all__ = [
    "ACTIVATIONS",
    "I2",
    "I3",
    "I4",
    "J2",
    "erf_integrals",
    "generalisation_error",
    "order_parameters",
    "CommitteeODE",
    "CommitteeTrajectory",
    "NotSettledError",
    "FIXED_POINT_MAX_NFEV",
    "feedback_alignment",
    "PlateauFixedPoint",
    "symmetric_plateau",
    "plateau_escape_time",
    "specialisation_index",
    "linear_perceptron_error",
    "stable_lr",
    "max_learning_rate",
    "asymptotic_error",
    "asymptotic_error_small_lr",
]

ACTIVATIONS = ("erf", "linear", "relu")

#: default tolerances of the adaptive 8th-order Dormand-Prince integrator
#: (scipy's DOP853). Measured accuracy (issue 16; benchmarks/RESULTS_committee.md):
#: against runs with 1e4 times tighter tolerances (rtol capped at scipy's floor
#: 2.2e-14), eps_g differs by at most 4.4e-9 on plateau-escape trajectories of
#: K = M = 2 started on the symmetric plateau with an asymmetry of 1e-4 or 1e-6
#: (2.4e-10 for K = M = 3) and by 1.3e-10 from random starts (lr = 1). The
#: error concentrates at the escape, where the plateau amplifies it by
#: exp(growth_rate * plateau length). The previous default (rtol 1e-9, atol
#: 1e-11) gave 3.5e-7 there, for 25-30% fewer right-hand-side evaluations.
ODE_RTOL = 1e-11
ODE_ATOL = 1e-13


def _check_activation(activation: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    return activation


# ---------------------------------------------------------------------------
# Small formulas: Gaussian averages for g(z) = erf(z / sqrt 2) (and g(z) = z, relu)
# ---------------------------------------------------------------------------
# The entry-wise forms live in idealnets.theory._gaussian (shared with the batched grid); the
# ReLU I4 reads its quadrature size RELU_P4_NODES from this module at every call.


def _i4(c11, c12, c13, c14, c22, c23, c24, c33, c34, c44, activation="erf"):
    return _gaussian.i4(c11, c12, c13, c14, c22, c23, c24, c33, c34, c44, activation, RELU_P4_NODES)


def _relu_i4(C):
    """E[1[a>0] 1[b>0] relu(c) relu(d)] for (a, b, c, d) ~ N(0, C), C (B, 4, 4), with RELU_P4_NODES nodes."""
    return _gaussian.relu_i4(C, RELU_P4_NODES)


def _cov(C, n: int) -> np.ndarray:
    C = as_array(C, "C", ndim=range(2, 32))  # finite (NaN/inf refused by name), at least (n, n)
    if C.shape[-2:] != (n, n):
        raise ValueError(f"expected covariance matrices of shape (..., {n}, {n}), got {C.shape}")
    return C


def I2(C, activation: str = "erf"):
    r"""``I2 = E[g(a) g(b)]`` for ``(a, b) ~ N(0, C)``, C of shape (..., 2, 2).

    erf (Saad & Solla 1995, appendix; Goldt et al. 2019, Supplementary Material):

    .. math:: I_2 = \frac{2}{\pi} \arcsin \frac{C_{12}}{\sqrt{(1 + C_{11})(1 + C_{22})}}

    linear: ``I2 = C_12``. relu: the degree-1 arc-cosine kernel (Cho & Saul 2009),
    ``sqrt(C11 C22)/(2 pi) (sin t + (pi - t) cos t)``, ``cos t = C12/sqrt(C11 C22)``.
    Returns shape ``C.shape[:-2]``.
    """
    _check_activation(activation)
    C = _cov(C, 2)
    return _i2(C[..., 0, 0], C[..., 0, 1], C[..., 1, 1], activation)


def I3(C, activation: str = "erf"):
    r"""``I3 = E[g'(a) b g(c)]`` for ``(a, b, c) ~ N(0, C)``, C of shape (..., 3, 3).

    erf (Saad & Solla 1995, appendix; Goldt et al. 2019, Supplementary Material), with
    ``Lambda3 = (1 + C11)(1 + C33) - C13^2``:

    .. math:: I_3 = \frac{2}{\pi} \frac{1}{\sqrt{\Lambda_3}} \frac{C_{23}(1 + C_{11}) - C_{12} C_{13}}{1 + C_{11}}

    linear (g' = 1): ``I3 = C_23``. relu (ours, Stein's lemma on b):
    ``C12 sqrt(C33 - C13^2/C11) / (2 pi sqrt(C11)) + C23 (1/4 + arcsin(r13)/(2 pi))``,
    ``r13 = C13/sqrt(C11 C33)``. Returns shape ``C.shape[:-2]``.
    """
    _check_activation(activation)
    C = _cov(C, 3)
    return _i3(C[..., 0, 0], C[..., 0, 1], C[..., 0, 2], C[..., 1, 2], C[..., 2, 2], activation)


def I4(C, activation: str = "erf"):
    r"""``I4 = E[g'(a) g'(b) g(c) g(d)]`` for ``(a, b, c, d) ~ N(0, C)``, C (..., 4, 4).

    erf (Saad & Solla 1995, appendix; Goldt et al. 2019, Supplementary Material):

    .. math::
        I_4 = \frac{4}{\pi^2 \sqrt{\Lambda_4}} \arcsin \frac{\Lambda_0}{\sqrt{\Lambda_1 \Lambda_2}}

    with ``L4 = (1+C11)(1+C22) - C12^2``,
    ``L0 = L4 C34 - C23 C24 (1+C11) - C13 C14 (1+C22) + C12 C13 C24 + C12 C14 C23``,
    ``L1 = L4 (1+C33) - C23^2 (1+C11) - C13^2 (1+C22) + 2 C12 C13 C23``,
    ``L2 = L4 (1+C44) - C24^2 (1+C11) - C14^2 (1+C22) + 2 C12 C14 C24``.
    linear: ``I4 = C_34``. relu: no closed form; the Stein recursion of :func:`_relu_i4`
    (closed-form up to 3D orthant probabilities, the 4D one by 48-point Gauss-Legendre
    quadrature of Plackett's 1D integral: error < 1e-12 on generic covariances, < 4e-6 for
    nearly-but-not-exactly duplicated variables; exact duplicates are merged).
    Returns shape ``C.shape[:-2]``.
    """
    _check_activation(activation)
    C = _cov(C, 4)
    c = lambda i, j: C[..., i, j]  # noqa: E731
    return _i4(c(0, 0), c(0, 1), c(0, 2), c(0, 3), c(1, 1), c(1, 2), c(1, 3), c(2, 2), c(2, 3), c(3, 3), activation)


def J2(C, activation: str = "erf"):
    r"""``J2 = E[g'(a) g'(b)]`` for ``(a, b) ~ N(0, C)`` (the output-noise term).

    erf (Goldt et al. 2019, Supplementary Material; verified here by quadrature):
    ``J2 = (2/pi) / sqrt((1 + C11)(1 + C22) - C12^2)``; linear: ``J2 = 1``;
    relu: ``P(a > 0, b > 0) = 1/4 + arcsin(r12)/(2 pi)`` (Sheppard).
    """
    _check_activation(activation)
    C = _cov(C, 2)
    return _j2(C[..., 0, 0], C[..., 0, 1], C[..., 1, 1], activation)


class GaussianIntegrals(NamedTuple):
    """The four Gaussian averages of one activation, each taking covariance matrices."""

    activation: str
    I2: Callable
    I3: Callable
    I4: Callable
    J2: Callable


def erf_integrals(activation: str = "erf") -> GaussianIntegrals:
    """The averages I2, I3, I4, J2 of ``g(z) = erf(z/sqrt 2)`` (or ``g(z) = z``, or relu).

    Returns a :class:`GaussianIntegrals` whose members take covariance matrices
    of shape (..., n, n) (n = 2, 3, 4, 2); see :func:`I2`, :func:`I3`,
    :func:`I4`, :func:`J2` for the equations and sources.
    """
    _check_activation(activation)
    return GaussianIntegrals(
        activation,
        lambda C: I2(C, activation),
        lambda C: I3(C, activation),
        lambda C: I4(C, activation),
        lambda C: J2(C, activation),
    )


# ---------------------------------------------------------------------------
# Generalisation error and order parameters
# ---------------------------------------------------------------------------

def _omega(Q, R, T):
    """Joint covariance ``[[Q, R], [R^T, T]]`` of (lambda, nu); leading axes broadcast."""
    Q, R, T = (np.asarray(a, dtype=float) for a in (Q, R, T))
    lead = np.broadcast_shapes(Q.shape[:-2], R.shape[:-2], T.shape[:-2])
    K, M = R.shape[-2:]
    Q = np.broadcast_to(Q, lead + (K, K))
    R = np.broadcast_to(R, lead + (K, M))
    T = np.broadcast_to(T, lead + (M, M))
    top = np.concatenate([Q, R], axis=-1)
    bot = np.concatenate([np.swapaxes(R, -1, -2), T], axis=-1)
    return np.concatenate([top, bot], axis=-2)


def generalisation_error(Q, R, T, v, v_star, activation: str = "erf"):
    r"""``eps_g = (1/2) E[(phi(x) - phi*(x))^2]`` from the order parameters.

    .. math::
        \epsilon_g = \tfrac12 \Big[\sum_{kl} v_k v_l I_2(k,l) - 2 \sum_{km} v_k v^*_m I_2(k,m)
                     + \sum_{mn} v^*_m v^*_n I_2(m,n)\Big]

    (Saad & Solla 1995; Goldt et al. 2019). Output noise is not
    included (the test error of a noisy label is ``eps_g + sigma^2/2``).

    Q : (..., K, K), R : (..., K, M), T : (M, M) or (..., M, M), v : (..., K),
    v_star : (M,). Leading axes (e.g. time) broadcast; returns shape (...).
    """
    _check_activation(activation)
    Q, R, T = as_array(Q, "Q", ndim=range(2, 32)), as_array(R, "R", ndim=range(2, 32)), as_array(T, "T", ndim=range(2, 32))
    v = as_array(v, "v", ndim=range(1, 32))
    v_star = as_array(v_star, "v_star", ndim=range(1, 32))
    try:
        Om = _omega(Q, R, T)
    except ValueError as e:
        raise ValueError(f"Q (..., K, K), R (..., K, M) and T (M, M) do not fit together: {e}") from None
    if Om.size:
        # Q, R and T are the covariance of the local fields (lambda, nu): an impossible set (Q = -I,
        # |R| beyond sqrt(Q T)) has no generalisation error (the Gaussian integrals give NaN).
        lowest = np.linalg.eigvalsh(0.5 * (Om + np.swapaxes(Om, -1, -2))).min()
        scale = max(1.0, float(np.abs(np.diagonal(Om, axis1=-2, axis2=-1)).max()))
        if lowest < -1e-5 * scale:  # far beyond rounding (float32 Gram matrices of weights included)
            raise ValueError("Q, R and T are not the covariance of the local fields: the joint matrix "
                             f"[[Q, R], [R^T, T]] has an eigenvalue {lowest:.3g} < 0 (Q positive semi-definite "
                             "and R within sqrt(Q T) are needed)")
    return _generalisation_error(Q, R, T, v, v_star, activation)


def _generalisation_error(Q, R, T, v, v_star, activation):
    """:func:`generalisation_error` for trusted float arrays."""
    Om = _omega(Q, R, T)
    K = np.shape(R)[-2]
    v = np.broadcast_to(v, Om.shape[:-2] + (K,))
    u = np.concatenate([v, np.broadcast_to(-v_star, Om.shape[:-2] + v_star.shape[-1:])], axis=-1)
    I = _pair_i2(Om, activation)
    return 0.5 * np.einsum("...a,...ab,...b->...", u, I, u)


def order_parameters(W, W_star):
    """``Q = W W^T/N``, ``R = W W*^T/N``, ``T = W* W*^T/N`` from weights.

    W : (..., K, N) student first-layer weights; W_star : (..., M, N) teacher's.
    Returns (Q (..., K, K), R (..., K, M), T (..., M, M)) as float64 arrays.
    """
    W = as_array(W, "W", ndim=range(2, 32))
    W_star = as_array(W_star, "W_star", ndim=range(2, 32))
    if W.shape[-1] != W_star.shape[-1]:
        raise ValueError(f"student and teacher input dimensions differ: {W.shape} vs {W_star.shape}")
    N = W.shape[-1]
    tr = lambda a: np.swapaxes(a, -1, -2)  # noqa: E731
    return W @ tr(W) / N, W @ tr(W_star) / N, W_star @ tr(W_star) / N


# ---------------------------------------------------------------------------
# The ODE
# ---------------------------------------------------------------------------

@dataclass
class CommitteeTrajectory:
    """Solution of :meth:`CommitteeODE.integrate` on the requested times.

    alpha : (A,) times (flattened request); Q : (A, K, K); R : (A, K, M);
    v : (A, K); eps_g : (A,). ``shape`` is the shape of the requested
    ``alpha_eval`` (use :meth:`reshape` to put time back in that shape).
    nfev : right-hand-side evaluations used; alpha_converged : the time at
    which the integration reached a stable fixed point and stopped (every
    later requested time gets that fixed point), ``inf`` if it never did.
    feedback : the (K,) feedback vector b of a feedback-alignment ODE (None
    for backprop); then :attr:`alignment` is ``cos(v, b)`` at every time.
    """

    alpha: np.ndarray
    Q: np.ndarray
    R: np.ndarray
    v: np.ndarray
    eps_g: np.ndarray
    shape: tuple = ()
    nfev: int = 0
    alpha_converged: float = np.inf
    feedback: np.ndarray | None = None

    def reshape(self, a):
        a = np.asarray(a)
        return a.reshape(self.shape + a.shape[1:])

    @property
    def alignment(self) -> np.ndarray:
        """``cos(v, b)`` at every time, (A,); nan where ``v = 0`` (no direction yet).

        Defined only for a feedback-alignment ODE (``CommitteeODE(..., feedback=b)``): without feedback
        there is no vector b to align with, and this raises ValueError (it returned all-NaN before).
        """
        if self.feedback is None:
            raise ValueError("alignment is cos(v, b) with the feedback vector b of a feedback-alignment ODE; this "
                             "trajectory has feedback=None (backprop), so it is undefined: construct "
                             "CommitteeODE(..., feedback=b) to measure it")
        return feedback_alignment(self.v, self.feedback)


def feedback_alignment(v, b):
    r"""Alignment of the second layer with the feedback vector, ``cos(v, b) = v.b / (|v| |b|)``.

    v : (..., K) second layers (e.g. a trajectory (A, K)); b : (K,). Returns
    shape (...); nan where ``v = 0`` (no direction yet). The order parameter
    of the "align" phase of Refinetti, d'Ascoli, Ohana & Goldt (2021).
    """
    v = as_array(v, "v", allow_nan=True)
    b = as_array(b, "b", ndim=1)
    if v.shape[-1:] != b.shape:
        raise ValueError(f"v must have K = {b.size} entries on its last axis (the size of b), got shape {v.shape}")
    nb = np.linalg.norm(b)
    if nb == 0:
        raise ValueError("b must not be the zero vector (its direction defines the alignment)")
    nv = np.linalg.norm(v, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(nv > 0, (v @ b) / (np.where(nv > 0, nv, 1.0) * nb), np.nan)


def _sym_check(name: str, A, n: int) -> np.ndarray:
    A = as_array(A, name, shape=(n, n))
    if not np.allclose(A, A.T, rtol=1e-10, atol=1e-12):
        raise ValueError(f"{name} must be symmetric, got {name} - {name}^T with max entry {np.abs(A - A.T).max():.3g}")
    return 0.5 * (A + A.T)


#: Largest |state| the integrator accepts before it declares the ODE divergent.
BLOW_UP = 1e6
#: A state counts as a fixed point when the Newton step ``-J^{-1} rhs`` to the
#: root is below this or the integrator's tolerance ``atol + rtol |y|``, whichever is
#: larger (max norm), and J is stable; see :meth:`CommitteeODE.integrate`.
FIXED_POINT_TOL = 1e-11
#: Right-hand-side evaluations that the search for the fixed point (``alpha = inf``, past the last finite
#: output time) may spend before it gives up with :class:`NotSettledError`: about 20 s for erf and
#: several minutes for relu (whose rates cost ~10x more), instead of integrating on to alpha = 1e5.
FIXED_POINT_MAX_NFEV = 20_000


class NotSettledError(RuntimeError):
    """The committee ODE reached no linearly stable fixed point within its bound (``alpha_max`` or
    ``max_nfev``). A RuntimeError, as before the bound on evaluations existed."""


class _Budget(Exception):
    pass


#: Eigenvalues of the Jacobian with real part below this count as stable or neutral
#: (central differences resolve them to ~1e-9); a saddle's unstable one is >> this.
NEUTRAL_EIG = 1e-8


class CommitteeODE:
    r"""Order-parameter ODE of online SGD in a K-unit student learning an M-unit teacher.

    See the module docstring for the equations (Saad & Solla 1995;
    Goldt et al. 2019). All parameters are validated on construction; bad values
    raise ValueError/TypeError naming the argument.

    Parameters
    ----------
    K, M : student and teacher widths (integers >= 1).
    lr : first-layer learning rate eta (> 0, finite); ``lr_v`` the second
        layer's (>= 0, default ``lr``), used only when ``train_second_layer``.
    activation : ``"erf"`` (``g(z) = erf(z/sqrt 2)``), ``"linear"`` or ``"relu"``.
    train_second_layer : bool, whether v trains.
    noise : output-noise standard deviation sigma (>= 0, finite).
    T : (M, M) teacher overlaps, symmetric positive definite (default identity);
    v_star : (M,) teacher second layer (finite; default ones).
    feedback : None (backprop) or a (K,) finite vector b: feedback alignment,
        the first-layer step uses b where backprop uses the student's v
        (module docstring, "Feedback alignment"). With
        ``train_second_layer=False`` and ``feedback = v0`` this is backprop
        exactly.

    Notes
    -----
    Assumes N -> infinity (finite-N corrections are O(1/sqrt N) per sample
    path) and Gaussian i.i.d. inputs. The integrator is SciPy's adaptive
    8th-order Dormand-Prince (DOP853) with ``rtol=ODE_RTOL``, ``atol=ODE_ATOL``
    (measured accuracy: see ``ODE_RTOL``).
    """

    def __init__(self, K: int, M: int, lr: float, activation: str = "erf", train_second_layer: bool = False,
                 lr_v: float | None = None, noise: float = 0.0, T=None, v_star=None, feedback=None):
        self.K = as_int(K, "K", low=1)
        self.M = as_int(M, "M", low=1)
        self.lr = as_float(lr, "lr", low=0.0, open_low=True)
        self.lr_v = self.lr if lr_v is None else as_float(lr_v, "lr_v", low=0.0)
        self.activation = _check_activation(activation)
        self.train_second_layer = as_bool(train_second_layer, "train_second_layer")
        self.noise = as_float(noise, "noise", low=0.0)
        self.T = np.eye(self.M) if T is None else _sym_check("T", T, self.M)
        if np.linalg.eigvalsh(self.T).min() <= 0:
            raise ValueError(f"T must be positive definite (a Gram matrix of M = {self.M} independent teacher "
                             f"vectors), got smallest eigenvalue {np.linalg.eigvalsh(self.T).min():.3g}")
        self.v_star = np.ones(self.M) if v_star is None else _vector(v_star, "v_star", self.M)
        self.feedback = None if feedback is None else _vector(feedback, "feedback", self.K)
        self._iu = np.triu_indices(self.K)
        self.n_q = len(self._iu[0])
        self.n_state = self.n_q + self.K * self.M + self.K

    # --- packing --------------------------------------------------------------
    def pack(self, Q, R, v) -> np.ndarray:
        """State vector ``[triu(Q), R.ravel(), v]`` (Q symmetric: its upper triangle)."""
        return np.concatenate([np.asarray(Q, float)[self._iu], np.asarray(R, float).ravel(),
                               np.asarray(v, float).ravel()])

    def unpack(self, y):
        """Inverse of :meth:`pack`; works on (..., n_state) arrays."""
        y = np.asarray(y, dtype=float)
        K, M = self.K, self.M
        lead = y.shape[:-1]
        Q = np.zeros(lead + (K, K))
        Q[..., self._iu[0], self._iu[1]] = y[..., : self.n_q]
        Q[..., self._iu[1], self._iu[0]] = y[..., : self.n_q]
        R = y[..., self.n_q: self.n_q + K * M].reshape(lead + (K, M))
        v = y[..., self.n_q + K * M:]
        return Q, R, v

    # --- the right-hand side ------------------------------------------------------
    def rates(self, Q, R, v, *, parts: bool = False):
        r"""``(dQ/dalpha, dR/dalpha, dv/dalpha)`` at one state (module docstring).

        With ``parts=True`` returns the first-layer rates split into their
        O(eta) and O(eta^2) pieces: ``(dQ1, dQ2, dR1, dv)`` with
        ``dQ = dQ1 + dQ2``. With feedback alignment the backward-pass
        prefactors are the feedback b instead of v (module docstring).
        """
        K, act = self.K, self.activation
        Om = _omega(Q, R, self.T)
        d = np.diag(Om)
        u = np.concatenate([v, -self.v_star])
        b = v if self.feedback is None else self.feedback  # backward-pass weights
        # I3[k, b, c] = E[g'(lambda_k) a_b g(a_c)], k a student unit, b, c any unit
        dk = d[:K]
        I3 = _i3(dk[:, None, None], Om[:K, :, None], Om[:K, None, :], Om[None, :, :], d[None, None, :], act)
        A = np.einsum("kbc,c->kb", I3, u)  # E[g'(lambda_k) a_b Delta]
        # I4[k, l, c, e] = E[g'(lambda_k) g'(lambda_l) g(a_c) g(a_e)]
        Okl = Om[:K, :K]
        I4 = _i4(dk[:, None, None, None], Okl[:, :, None, None], Om[:K, None, :, None], Om[:K, None, None, :],
                 dk[None, :, None, None], Om[None, :K, :, None], Om[None, :K, None, :],
                 d[None, None, :, None], Om[None, None, :, :], d[None, None, None, :], act)
        D2 = np.einsum("klce,c,e->kl", I4, u, u)  # E[g'_k g'_l Delta_0^2]
        if self.noise > 0:
            D2 = D2 + self.noise ** 2 * _j2(dk[:, None], Okl, dk[None, :], act)
        lr = self.lr
        dR1 = -lr * b[:, None] * A[:, K:]
        dQ1 = -lr * (b[:, None] * A[:, :K] + (b[:, None] * A[:, :K]).T)
        dQ2 = lr ** 2 * np.outer(b, b) * D2
        if self.train_second_layer:
            I2 = _pair_i2(Om, act)
            dv = -self.lr_v * (I2[:K] @ u)
        else:
            dv = np.zeros(K)
        if parts:
            return dQ1, dQ2, dR1, dv
        return dQ1 + dQ2, dR1, dv

    def rhs(self, alpha, y):
        """Flat right-hand side for ``solve_ivp``."""
        Q, R, v = self.unpack(y)
        dQ, dR, dv = self.rates(Q, R, v)
        return self.pack(dQ, dR, dv)

    def eps_g(self, Q, R, v):
        """Generalisation error of (batched) order parameters; see :func:`generalisation_error`."""
        return _generalisation_error(Q, R, self.T, v, self.v_star, self.activation)

    def jacobian(self, Q, R, v, *, h: float = 1e-6) -> np.ndarray:
        """Central-difference Jacobian of :meth:`rhs` in the packed state (n_state, n_state)."""
        y0 = self.pack(Q, R, v)
        J = self._jac(y0, h)
        if not self.train_second_layer:  # v is a constant: drop its (zero) block
            n = self.n_q + self.K * self.M
            J = J[:n, :n]
        return J

    def _guarded_rhs(self, alpha, y):
        """:meth:`rhs` for the integrator: a non-finite rate raises at once (an adaptive
        integrator fed NaN would shrink its step forever instead)."""
        out = self.rhs(alpha, y)
        if not np.isfinite(out).all():
            raise DivergenceError(f"the ODE rates became non-finite at alpha = {alpha:.4g} (lr={self.lr:.4g}); "
                                  "the order parameters left the set of valid overlaps")
        return out

    def _jac(self, y0, h: float = 1e-6) -> np.ndarray:
        J = np.empty((y0.size, y0.size))
        for i in range(y0.size):
            e = np.zeros_like(y0)
            e[i] = h
            J[:, i] = (self.rhs(0.0, y0 + e) - self.rhs(0.0, y0 - e)) / (2 * h)
        return J

    def _refuse_unstable_lr(self) -> None:
        """Before a search for the long-time limit: DivergenceError naming lr and :func:`stable_lr` when
        perfect learning is linearly unstable at this lr (K = M, first layer only, backprop, no noise:
        where stable_lr is defined). The search would otherwise run to its bound (erf saturates, so
        its overlaps grow for a long time without passing BLOW_UP: 140 s for lr = 1000)."""
        if self.K != self.M or self.train_second_layer or self.feedback is not None or self.noise > 0:
            return
        try:
            limit = stable_lr(self.K, activation=self.activation, T=self.T, v_star=self.v_star)
        except RuntimeError:  # neutral directions (linear students): no limit of this kind
            return
        if self.lr > limit:
            raise DivergenceError(f"lr={self.lr:.4g} exceeds the stable learning rate stable_lr = {limit:.6g} of "
                                  f"this K = M = {self.K} {self.activation} committee: perfect learning is linearly "
                                  "unstable there, so the long-time limit (alpha = inf) is refused. Lower lr, or "
                                  "ask for finite times")

    def _newton_to_fixed_point(self, y, tol: float = FIXED_POINT_TOL):
        """If ``y`` is within ``tol`` of a linearly stable fixed point, return that point, else None.

        One Newton step on the trained block of the state: ``delta = -J^{-1} f(y)``;
        accepted when ``|delta| < tol`` and no eigenvalue of J has
        a real part above ``NEUTRAL_EIG`` (a saddle such as the symmetric
        plateau is never accepted, however small its rate; neutral directions
        of a manifold of fixed points are, and J is then solved by least squares,
        so a slow drift along such a manifold is not mistaken for convergence). Costs 2 n_state rhs calls,
        spent only once the rate is already small.
        """
        n = self.n_state if self.train_second_layer else self.n_q + self.K * self.M
        f = self.rhs(0.0, y)[:n]
        J = self._jac(y)[:n, :n]
        if not np.isfinite(J).all():
            return None
        ev = np.linalg.eigvals(J)
        if ev.real.max() >= NEUTRAL_EIG:
            return None
        delta = -np.linalg.lstsq(J, f, rcond=1e-10)[0]
        if np.abs(delta).max() >= tol or np.abs(f + J @ delta).max() > 1e-14:
            return None
        out = y.copy()
        out[:n] += delta
        return out

    # --- validation ---------------------------------------------------------------
    def check_initial(self, Q0, R0, v0=None):
        """Validate and return float arrays ``(Q0, R0, v0)``; ValueError/TypeError on bad input."""
        K, M = self.K, self.M
        Q0 = _sym_check("Q0", Q0, K)
        R0 = as_array(R0, "R0", shape=(K, M))
        v0 = np.ones(K) if v0 is None else _vector(v0, "v0", K)
        if np.linalg.eigvalsh(Q0).min() <= 0:
            raise ValueError("Q0 must be positive definite (it is a Gram matrix W W^T / N of K independent vectors)")
        Om = _omega(Q0, R0, self.T)
        scale = np.abs(Om).max()
        if np.linalg.eigvalsh(Om).min() < -1e-10 * scale:
            raise ValueError("[[Q0, R0], [R0^T, T]] is not positive semi-definite: no weights have these overlaps")
        if np.abs(self.pack(Q0, R0, v0)).max() >= BLOW_UP:
            raise ValueError(f"the initial order parameters must be below {BLOW_UP:g} in magnitude")
        return Q0, R0, v0

    # --- integration ----------------------------------------------------------------
    def integrate(self, Q0, R0, v0=None, alpha_max=None, alpha_eval=None, *, rtol: float = ODE_RTOL,
                  atol: float = ODE_ATOL, max_nfev: int = FIXED_POINT_MAX_NFEV) -> CommitteeTrajectory:
        """Integrate from ``(Q0, R0, v0)`` and return the solution at ``alpha_eval``.

        Parameters
        ----------
        alpha_eval : array of times of any shape, each >= 0 (unsorted and
            repeated times are fine); ``np.inf`` entries return the long-time
            limit. Default: 0 and 199 log-spaced points from 0.01 to ``alpha_max``.
        alpha_max : last time (default ``max(finite alpha_eval)``); must be
            >= every finite ``alpha_eval``.
        rtol, atol : tolerances of the adaptive DOP853 integrator, per
            component (defaults ``ODE_RTOL``, ``ODE_ATOL``; their measured
            accuracy is stated at ``ODE_RTOL``).
        max_nfev : right-hand-side evaluations the search for the fixed point (``inf`` requested)
            may spend past the last finite time (default ``FIXED_POINT_MAX_NFEV``); the cost of
            ``inf`` is bounded by it.

        Notes
        -----
        The integration runs in chunks of doubling length; after a chunk whose
        rates are small it tries one Newton step to the nearest root of the
        rates, and stops there when the step is below the integrator's own
        tolerance (``atol + rtol max|y|``, at least ``FIXED_POINT_TOL``) and
        the fixed point is linearly stable: every later time (and ``inf``) gets
        that fixed point, so the cost does not grow with ``alpha_max`` beyond
        convergence (``alpha_converged`` in the result). A saddle (the
        plateau) never stops it.

        Raises :class:`~idealnets.theory.validation.DivergenceError` (a FloatingPointError) naming
        lr if the order parameters blow up (lr too large), :class:`NotSettledError` (a RuntimeError)
        if ``inf`` is requested and no fixed point is reached by ``max(alpha_max, 1e5)`` or within
        ``max_nfev`` evaluations. (relu committees can take long to settle: their rates are not
        differentiable where a student unit copies a teacher unit, the perfect-learning fixed point,
        and the adaptive integrator crawls there.)
        """
        Q0, R0, v0 = self.check_initial(Q0, R0, v0)
        rtol, atol = _check_tolerances(rtol, atol)
        max_nfev = as_int(max_nfev, "max_nfev", low=1)
        if alpha_max is not None:
            alpha_max = as_float(alpha_max, "alpha_max", low=0.0)
        if alpha_eval is None:
            if alpha_max is None:
                raise ValueError("give alpha_max or alpha_eval (the times at which to report the solution)")
            if alpha_max > 0.01:
                alpha_eval = np.concatenate([[0.0], np.logspace(-2, np.log10(alpha_max), 199)[:-1], [alpha_max]])
            else:
                alpha_eval = np.linspace(0.0, alpha_max, 200)
        a = as_times(alpha_eval, "alpha_eval", allow_inf=True)
        shape = a.shape
        flat = a.ravel()
        finite = np.isfinite(flat)
        amax = float(flat[finite].max()) if finite.any() else 0.0
        if alpha_max is not None:
            if alpha_max < amax:
                raise ValueError(f"alpha_max = {alpha_max:g} must be >= every finite alpha_eval (their largest is "
                                 f"{amax:g})")
            amax = alpha_max
        want_inf = bool((~finite).any())
        if want_inf:
            self._refuse_unstable_lr()
        y0 = self.pack(Q0, R0, v0)
        ts = np.unique(flat[finite]) if finite.any() else np.zeros(0)
        Yt, y_end, alpha_conv, nfev = self._solve(y0, ts, amax, rtol, atol, to_fixed_point=want_inf,
                                                  max_nfev=max_nfev)
        Y = np.empty((flat.size, y0.size))
        if finite.any():
            Y[finite] = Yt[np.searchsorted(ts, flat[finite])]
        if want_inf:
            Y[~finite] = y_end
        Q, R, v = self.unpack(Y)
        return CommitteeTrajectory(flat, Q, R, v, self.eps_g(Q, R, v), shape, nfev, alpha_conv, self.feedback)

    def _solve(self, y0, ts, amax, rtol, atol, *, to_fixed_point=False, alpha_limit=1e5, tol_rate=1e-7,
               max_nfev=FIXED_POINT_MAX_NFEV):
        """Chunked DOP853 from alpha = 0; the states at the sorted times ``ts``.

        Returns ``(Y (len(ts), n_state), y_last, alpha_converged, nfev)``;
        with ``to_fixed_point`` it continues past ``amax`` (up to
        ``max(amax, alpha_limit)``) until a stable fixed point is reached.
        """
        Y = np.empty((ts.size, y0.size))
        y, alpha, nfev = y0.copy(), 0.0, 0
        end = max(amax, alpha_limit) if to_fixed_point else amax
        done = ts <= 0.0
        Y[done] = y0
        chunk = 10.0
        blow = lambda t, y: BLOW_UP - np.abs(y).max()  # noqa: E731
        blow.terminal = True
        count = [0, None]  # rhs evaluations past amax, and their budget (None: unbounded)

        def rhs(t, y):
            if count[1] is not None:
                count[0] += 1
                if count[0] > count[1]:
                    raise _Budget
            return self._guarded_rhs(t, y)

        while True:
            f = self.rhs(0.0, y)
            nfev += 1
            if not np.isfinite(f).all():
                raise DivergenceError(f"the ODE rates are not finite at alpha = {alpha:g} (lr={self.lr:.4g})")
            if np.abs(f).max() < tol_rate:
                # within the integrator's own tolerance of the root: the trajectory cannot be
                # resolved more finely than that, and the Newton-polished root is more accurate
                fp = self._newton_to_fixed_point(y, max(FIXED_POINT_TOL, atol + rtol * np.abs(y).max()))
                nfev += 2 * y.size
                if fp is not None:
                    Y[~done] = fp
                    return Y, fp, alpha, nfev
            if alpha >= end:
                break
            stop = min(alpha + chunk, end)
            sel = (ts > alpha) & (ts <= stop)
            te = ts[sel]
            t_eval = te if te.size and te[-1] == stop else np.append(te, stop)
            if to_fixed_point and alpha >= amax:
                count[1] = max_nfev
            try:
                sol = solve_ivp(rhs, (alpha, stop), y, method="DOP853", t_eval=t_eval, rtol=rtol, atol=atol,
                                events=blow)
            except _Budget:
                raise NotSettledError(
                    f"no fixed point reached within max_nfev = {max_nfev} right-hand-side evaluations past "
                    f"alpha = {amax:g} (from alpha = {alpha:g}; |rate| = {np.abs(self.rhs(0.0, y)).max():.2e} "
                    f"there, activation={self.activation!r}, lr={self.lr:.4g}); ask for finite times instead of "
                    "inf, or raise max_nfev") from None
            nfev += sol.nfev
            if sol.status == 1 or not np.isfinite(sol.y).all():
                where = sol.t_events[0][0] if sol.status == 1 and len(sol.t_events[0]) else sol.t[-1]
                raise DivergenceError(
                    f"the order parameters diverge (|state| > {BLOW_UP:g}) at alpha ~ {where:.3g} with "
                    f"lr={self.lr:.4g}; lower the learning rate (for K = M see stable_lr)")
            if not sol.success:
                raise RuntimeError(f"solve_ivp failed: {sol.message}")
            Y[sel] = sol.y.T[: te.size]
            done |= sel
            y = sol.y[:, -1]
            alpha = stop
            chunk *= 2.0
        if to_fixed_point:
            raise NotSettledError(f"no fixed point reached by alpha = {end:g} (|rate| = "
                               f"{np.abs(self.rhs(0.0, y)).max():.2e})")
        return Y, y, np.inf, nfev

    @renamed_keywords(max_alpha="alpha_max")
    def fixed_point(self, Q0, R0, v0=None, *, alpha_max: float = 1e5, rtol: float = ODE_RTOL,
                    atol: float = ODE_ATOL, max_nfev: int = FIXED_POINT_MAX_NFEV):
        """Long-time limit reached from ``(Q0, R0, v0)``: integrate until a linearly stable
        fixed point is reached (see :meth:`integrate`), at most to ``alpha_max``. Returns ``(Q, R, v)``.

        (Which fixed point is reached depends on the initial condition: this is
        the one the dynamics selects, not a root search.) :class:`NotSettledError` (a RuntimeError)
        if none is reached by ``alpha_max`` or within ``max_nfev`` right-hand-side evaluations. The former keyword ``max_alpha`` still works (deprecated).
        """
        Q0, R0, v0 = self.check_initial(Q0, R0, v0)
        alpha_max = as_float(alpha_max, "alpha_max", low=0.0, open_low=True)
        rtol, atol = _check_tolerances(rtol, atol)
        max_nfev = as_int(max_nfev, "max_nfev", low=1)
        self._refuse_unstable_lr()
        _, y, _, _ = self._solve(self.pack(Q0, R0, v0), np.zeros(0), 0.0, rtol, atol, to_fixed_point=True,
                                 alpha_limit=alpha_max, max_nfev=max_nfev)
        return self.unpack(y)


def _check_tolerances(rtol, atol) -> tuple[float, float]:
    return as_float(rtol, "rtol", low=0.0, open_low=True), as_float(atol, "atol", low=0.0, open_low=True)


def _vector(x, name: str, n: int) -> np.ndarray:
    """A finite float vector of exactly n entries (a scalar or any 1-entry-per-unit array)."""
    a = as_array(x, name, ndim=(0, 1, 2))
    if a.size != n or (a.ndim == 2 and 1 not in a.shape):
        raise ValueError(f"{name} must have shape ({n},), got {a.shape}")
    return a.reshape(n).copy()


# ---------------------------------------------------------------------------
# Predictions: plateau, escape, specialisation, learning-rate limit, asymptotics
# ---------------------------------------------------------------------------

@dataclass
class PlateauFixedPoint:
    """The unspecialised ("symmetric") fixed point of a K = M student, T = I, v = v* = 1.

    Q, C : diagonal and off-diagonal student overlaps; R : the common
    student-teacher overlap; eps_g : plateau height; growth_rate : the largest
    eigenvalue of the ODE's Jacobian there (the rate at which a small
    asymmetry grows, ``d(alpha) ~ d0 exp(growth_rate alpha)``);
    lr_small : the eta -> 0 values ``(Q, C, R) = (1/(2K-1), 1/(2K-1), 1/sqrt(K(2K-1)))``.
    """

    K: int
    lr: float
    Q: float
    C: float
    R: float
    eps_g: float
    growth_rate: float
    lr_small: tuple = field(default=())

    def escape_alpha(self, d0, d1: float = 1.0):
        """Time for an asymmetry to grow from ``d0`` to ``d1``: ``ln(d1/d0) / growth_rate``."""
        return np.log(d1 / np.asarray(d0, dtype=float)) / self.growth_rate


def _sym_state(K, q, c, r):
    Q = np.full((K, K), c) + (q - c) * np.eye(K)
    R = np.full((K, K), r)
    return Q, R


#: :func:`symmetric_plateau` stops following the symmetric flow once its rates are below this; ``fsolve``
#: then polishes the root to 1e-13
PLATEAU_SETTLE_RATE = 1e-9


def symmetric_plateau(K: int, lr: float, *, activation: str = "erf", noise: float = 0.0,
                      alpha_settle: float | None = None) -> PlateauFixedPoint:
    r"""Plateau of Saad & Solla (1995): the symmetric fixed point of K = M, T = I, v = v* = 1.

    On the symmetric subspace ``Q_kk = Q``, ``Q_{k != l} = C``, ``R_km = R``
    the ODE closes on three variables; the plateau is the fixed point that the
    flow inside this subspace reaches from a small initialisation (polished by
    ``fsolve``). For eta -> 0 it tends to ``Q = C = 1/(2K-1)``,
    ``R = 1/sqrt(K(2K-1))`` (Saad & Solla 1995; stored as ``lr_small``). Its height is ``eps_g`` there and its
    escape rate the largest eigenvalue of the full Jacobian (an unstable
    direction breaking the permutation symmetry; Saad & Solla 1995).
    Requires K >= 2 (for K = 1 there is no plateau).
    """
    K = as_int(K, "K", low=2)
    ode = CommitteeODE(K, K, lr, activation=activation, noise=noise)
    v = np.ones(K)

    def f(p):
        Q, R = _sym_state(K, *p)
        dQ, dR, _ = ode.rates(Q, R, v)
        return [dQ[0, 0], dQ[0, 1], dR[0, 0]]

    q0 = 1.0 / (2 * K - 1)
    r0 = 1.0 / np.sqrt(K * (2 * K - 1))
    # The symmetric subspace is invariant: follow the dynamics inside it from a
    # small start (Q = 0.2 I, R = 0.01) to the plateau it reaches, then polish
    # with a root search. (At finite eta the plateau has Q > C; the eta -> 0
    # value Q = C is a degenerate, rank-one Q and is approached only slowly.)
    alpha_settle = 2000.0 / ode.lr if alpha_settle is None else as_float(alpha_settle, "alpha_settle", low=0.0,
                                                                                open_low=True)
    # in chunks of doubling length, stopping once the symmetric rates are below PLATEAU_SETTLE_RATE (the
    # root search polishes from there): the flow stalls at the integrator's own floor (|rate| ~ 1e-10) long
    # before alpha_settle, and a relu rate costs ~10x an erf one (96 s -> seconds for relu)
    p, a0, chunk = np.array([0.2, 0.0, 0.01]), 0.0, 10.0
    while a0 < alpha_settle and np.abs(f(p)).max() >= PLATEAU_SETTLE_RATE:
        a1 = min(a0 + chunk, alpha_settle)
        p = solve_ivp(lambda a, p: f(p), (a0, a1), p, method="DOP853", rtol=1e-10, atol=1e-12).y[:, -1]
        a0, chunk = a1, 2.0 * chunk
    p_root, info, ier, msg = fsolve(f, p, full_output=True, xtol=1e-13)
    if ier == 1 and np.abs(f(p_root)).max() < 1e-10 and np.abs(p_root - p).max() < 1e-3:
        p = p_root
    elif np.abs(f(p)).max() > 1e-6 * lr:
        raise RuntimeError(f"the symmetric flow has not settled by alpha={alpha_settle:g} for K={K}, lr={lr}: "
                           f"|rate| = {np.abs(f(p)).max():.2e}")
    Q, R = _sym_state(K, *p)
    J = ode.jacobian(Q, R, v)
    growth = float(np.linalg.eigvals(J).real.max())
    return PlateauFixedPoint(K, float(lr), float(p[0]), float(p[1]), float(p[2]), float(ode.eps_g(Q, R, v)), growth,
                             (q0, q0, r0))


def plateau_escape_time(alpha, eps_g, eps_plateau: float, frac: float = 0.5) -> float:
    """First time after the plateau at which ``eps_g`` falls below ``frac * eps_plateau``.

    alpha : (A,) increasing times; eps_g : (A,) or (A, E) curves (one escape
    time per column, linearly interpolated in log alpha). Returns nan where the
    curve never escapes. A curve must first be above the level (on the plateau):
    :func:`idealnets.theory.measures.crossing_time` with ``direction="down"``,
    ``log_times=True``, ``from_other_side=True``.
    """
    alpha = as_times(alpha, "alpha", allow_inf=False, increasing=True)
    if alpha.ndim != 1:
        raise ValueError(f"alpha must be 1-dimensional, got shape {alpha.shape}")
    e = as_array(eps_g, "eps_g", ndim=(1, 2), allow_nan=True)
    if e.shape[0] != alpha.size:
        raise ValueError(f"eps_g must have len(alpha) = {alpha.size} rows, got shape {e.shape}")
    eps_plateau = as_float(eps_plateau, "eps_plateau", low=0.0, open_low=True)
    frac = as_float(frac, "frac", low=0.0, high=1.0, open_low=True, open_high=True)
    out = _core.crossing_time(alpha, e, frac * eps_plateau, up=False, log_times=True, from_other_side=True)
    return out if e.ndim > 1 else float(out)


def specialisation_index(Q, R, T=None):
    r"""How much each teacher unit is matched by one student unit, in [0, 1] (K >= 2).

    With normalised overlaps ``r_km = R_km / sqrt(Q_kk T_mm)``, the index is
    the mean over teacher units m of ``max_k r_km - mean_{k != argmax} r_km``:
    0 on the symmetric plateau (all students alike), close to 1 when each
    teacher unit has its own student unit. Q (..., K, K), R (..., K, M).
    """
    Q, R = as_array(Q, "Q", ndim=range(2, 32)), as_array(R, "R", ndim=range(2, 32))
    K, M = R.shape[-2:]
    if K < 2:
        raise ValueError("the specialisation index needs K >= 2")
    T = np.eye(M) if T is None else as_array(T, "T", ndim=range(2, 32))
    if Q.shape[-2:] != (K, K) or T.shape[-2:] != (M, M):
        raise ValueError(f"Q must be (..., {K}, {K}) and T (..., {M}, {M}) for R of shape {R.shape}")
    if (np.diagonal(Q, axis1=-2, axis2=-1) <= 0).any():
        raise ValueError("the diagonal of Q must be positive (norms of the student vectors)")
    qd = np.sqrt(np.diagonal(Q, axis1=-2, axis2=-1))
    r = R / (qd[..., :, None] * np.sqrt(np.diagonal(T, axis1=-2, axis2=-1))[..., None, :])
    rmax = r.max(axis=-2)
    rest = (r.sum(axis=-2) - rmax) / (K - 1)
    return (rmax - rest).mean(axis=-1)


def linear_perceptron_error(alpha, lr: float, eps0: float, noise: float = 0.0):
    r"""Exact eps_g(alpha) of a linear student learning a linear teacher, K = M = 1, v = v* = 1.

    With ``g(z) = z`` the ODE closes on ``e = Q - 2R + T = 2 eps_g``:
    ``de/dalpha = -(2 eta - eta^2) e + eta^2 sigma^2``, hence

    .. math::
        \epsilon_g(\alpha) = \epsilon_\infty + (\epsilon_0 - \epsilon_\infty) e^{-\eta(2-\eta)\alpha},
        \qquad \epsilon_\infty = \frac{\eta \sigma^2}{2 (2 - \eta)}

    (the classic online-perceptron result; e.g. Biehl & Schwarze 1995).
    Stable for ``0 < eta < 2``. ``alpha`` any shape; ``alpha = inf`` gives eps_inf.
    """
    lr = as_float(lr, "lr", low=0.0, high=2.0, open_low=True, open_high=True)
    noise = as_float(noise, "noise", low=0.0)
    eps0 = as_array(eps0, "eps0", low=0.0)
    a = as_times(alpha, "alpha", allow_inf=True)
    e_inf = lr * noise ** 2 / (2.0 * (2.0 - lr))
    with np.errstate(over="ignore"):
        return e_inf + (eps0 - e_inf) * np.exp(-lr * (2.0 - lr) * a)


def _perfect_learning_jacobians(ode: "CommitteeODE", h: float = 1e-6):
    """Central-difference Jacobians of the O(eta) and O(eta^2) rate parts at Q = R = T, v = v*.

    Returns ``(A, B, y0)`` in the packed (Q upper triangle, R) state: ``A`` is minus
    the Jacobian of the O(eta) terms of dQ and dR, ``B`` that of the O(eta^2) term
    of dQ (dR has none). Shared by :func:`stable_lr` and
    :func:`asymptotic_error_small_lr`.
    """
    K, M = ode.K, ode.M
    y0 = ode.pack(ode.T.copy(), ode.T.copy(), ode.v_star.copy())
    n = ode.n_q + K * M
    A = np.empty((n, n))
    B = np.empty((n, n))
    for i in range(n):
        e = np.zeros_like(y0)
        e[i] = h
        rp, rm = ode.rates(*ode.unpack(y0 + e), parts=True), ode.rates(*ode.unpack(y0 - e), parts=True)
        A[:, i] = -np.concatenate([((rp[0] - rm[0]) / (2 * h))[ode._iu], ((rp[2] - rm[2]) / (2 * h)).ravel()])
        B[:, i] = np.concatenate([((rp[1] - rm[1]) / (2 * h))[ode._iu], np.zeros(K * M)])
    return A, B, y0


def stable_lr(K: int, M: int | None = None, *, activation: str = "erf", T=None, v_star=None,
              lr_hi: float = 50.0) -> float:
    r"""The stable learning rate: the largest eta for which perfect learning (student = teacher) is linearly stable.

    At ``Q = R = T``, ``v = v*`` (K = M, first layer trained, no noise) the
    Jacobian of the ODE is ``eta (-A + eta B)``: ``A`` from the O(eta)
    gradient terms, ``B`` from the O(eta^2) term ``E[g'g' Delta^2]``, which is
    linear in the deviations of the "second-order" combination
    ``Q - 2R + T``. The returned ``eta_max`` is where the largest real part of
    ``eig(-A + eta B)`` crosses zero (cf. Saad & Solla 1995 on the maximal
    learning rate of the asymptotic phase). Linear K = M = 1 gives exactly 2. Formerly
    ``max_learning_rate`` (that name still works, deprecated).
    """
    K = as_int(K, "K", low=1)
    M = K if M is None else as_int(M, "M", low=1)
    lr_hi = as_float(lr_hi, "lr_hi", low=0.0, open_low=True)
    if K != M:
        raise ValueError(f"stable_lr is defined at the perfect-learning fixed point, K = M; got K={K}, M={M}")
    ode = CommitteeODE(K, M, 1.0, activation=activation, T=T, v_star=v_star)
    A, B, _ = _perfect_learning_jacobians(ode)

    def top(eta):
        return np.linalg.eigvals(-A + eta * B).real.max()

    if top(1e-9) >= 0:
        raise RuntimeError("perfect learning is not stable even at small eta")
    if top(lr_hi) < 0:
        return np.inf
    return float(brentq(top, 1e-9, lr_hi, xtol=1e-12))


max_learning_rate = deprecated_alias(stable_lr, "max_learning_rate")


def asymptotic_error(K: int, M: int, lr: float, noise: float, *, train_second_layer: bool = False,
                     lr_v: float | None = None, activation: str = "erf", Q0=None, R0=None, v0=None, T=None,
                     v_star=None, alpha_final: float | None = None, **kw) -> float:
    """Final generalisation error of online SGD from a given start (Goldt et al. 2019).

    Integrates the ODE to its fixed point (:meth:`CommitteeODE.fixed_point`),
    or to ``alpha_final`` if given. Note: an over-parameterised student whose
    second layer is frozen (v = 1, K > M) can reach zero noise-free error only
    with its surplus units silent (w = 0) or cancelling in pairs (g is odd,
    g(a) + g(-a) = 0); we observe the pairs, whose norms then drift slowly under noise, so eps_g keeps decreasing for very
    long times and no fixed point is reached: use ``alpha_final`` there.
    Default start: ``Q0 = 0.25 I``, a small asymmetric
    ``R0_km = 0.01 (1 + k + 2m)/(K + M)``, ``v0 = 1``.
    With output noise sigma the asymptotic error is O(eta sigma^2) (Goldt et
    al. 2019): it grows with K when only the first layer trains and
    stays at or below its K = M value when both layers train.
    """
    ode = CommitteeODE(K, M, lr, activation=activation, train_second_layer=train_second_layer, lr_v=lr_v,
                       noise=noise, T=T, v_star=v_star)
    if Q0 is None:
        Q0 = 0.25 * np.eye(K)
    if R0 is None:
        R0 = 1e-2 * (1.0 + np.add.outer(np.arange(K), 2 * np.arange(M))) / (K + M)
    if alpha_final is not None:
        alpha_final = as_float(alpha_final, "alpha_final", low=0.0, allow_inf=True)
        return float(ode.integrate(Q0, R0, v0, alpha_eval=[alpha_final]).eps_g[0])
    Q, R, v = ode.fixed_point(Q0, R0, v0, **kw)
    return float(ode.eps_g(Q, R, v))


def asymptotic_error_small_lr(K: int, *, activation: str = "erf", T=None, v_star=None) -> float:
    r"""Leading-order coefficient ``c`` in ``eps_g(inf) = c eta sigma^2 + O(eta^2)``, K = M, first layer.

    Linear response about perfect learning: the fixed point of
    ``0 = -eta A delta + eta^2 (B delta + sigma^2 b)`` with ``b`` the noise
    term ``J2(k, l)`` at ``Q = T`` is ``delta = eta sigma^2 A^{-1} b + O(eta^2)``;
    eps_g is linear in delta to leading order, ``eps = grad(eps_g) . delta``.
    For the linear K = 1 student this gives ``c = 1/4``, the small-eta limit of
    :func:`linear_perceptron_error`.
    """
    ode = CommitteeODE(K, K, 1.0, activation=activation, T=T, v_star=v_star)
    A, _, y0 = _perfect_learning_jacobians(ode)
    h = 1e-6
    geps = np.empty(A.shape[0])
    for i in range(geps.size):
        e = np.zeros_like(y0)
        e[i] = h
        geps[i] = (ode.eps_g(*ode.unpack(y0 + e)) - ode.eps_g(*ode.unpack(y0 - e))) / (2 * h)
    d = np.diag(ode.T)
    Jn = np.outer(ode.v_star, ode.v_star) * _j2(d[:, None], ode.T, d[None, :], activation)
    b = np.concatenate([Jn[ode._iu], np.zeros(K * K)])
    return float(geps @ np.linalg.solve(A, b))
