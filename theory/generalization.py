r"""Generalisation dynamics of linear teacher-student learning in high dimension.

Advani & Saxe 2017 (arXiv:1710.03667; Neural Networks 132, 2020), Krogh & Hertz 1992.
Conventions are those of docs: Conventions, "Teacher-student generalisation":

* ``P`` samples ``x_mu`` in R^N with i.i.d. ``N(0, 1/N)`` entries, ``alpha = P/N``;
  columns of ``X`` (shape ``(N, P)``) are samples.
* teacher ``y = wbar . x + eps``, ``wbar_i ~ N(0, sigma_w^2)``, ``eps ~ N(0, sigma_eps^2)``,
  ``SNR = sigma_w^2 / sigma_eps^2``; student ``yhat = w . x``, ``w_i(0) ~ N(0, sigma_0^2)``.
* gradient flow ``tau dw/dt = -dL/dw`` on the **sum** loss
  ``L = (1/2) sum_mu (y_mu - w . x_mu)^2 + (gamma/2) |w|^2`` (``gamma`` = weight decay,
  0 unless stated), i.e. ``tau dw/dt = X (y - X^T w) - gamma w``.
* ``E_g(t) = E_{x, eps}[(y - yhat)^2] = |w(t) - wbar|^2 / N + sigma_eps^2`` (noise included),
  ``E_train(t) = (1/P) sum_mu (y_mu - yhat_mu)^2``.

Derivation (done here; it agrees with Advani & Saxe's linear-student section where they
overlap; equation numbers are not cited because we could not check them against the
paper's final version).
Write ``X = V S U^T`` (SVD), ``lambda_i = s_i^2`` the eigenvalues of ``X X^T``. In the
eigenbasis, ``wbar_i``, ``w_i(0)`` and ``eps~_i = (U^T eps)_i`` are independent Gaussians
(``V``, ``U`` depend on ``X`` only), and every mode obeys

.. math::

    \tau \dot w_i = \lambda_i (\bar w_i - w_i) + \sqrt{\lambda_i}\,\tilde\epsilon_i - \gamma w_i .

With ``r = lambda + gamma`` and ``a = e^{-r t / tau}`` the mode's weight error
``e_i = w_i - wbar_i`` and train residual ``(U^T(y - X^T w))_i`` have second moments

.. math::

    \langle e^2\rangle = \sigma_w^2\Big(\frac{\gamma(1-a)}{r} + a\Big)^2
        + \sigma_\epsilon^2 \frac{\lambda (1-a)^2}{r^2} + \sigma_0^2 a^2 ,

    \langle \tilde r^2\rangle = \sigma_\epsilon^2\Big(1 - \frac{\lambda(1-a)}{r}\Big)^2
        + \lambda\sigma_w^2\Big(\frac{\gamma(1-a)}{r} + a\Big)^2 + \lambda\sigma_0^2 a^2 ,

(:func:`mode_weight_error`, :func:`mode_train_residual`); with ``gamma = 0`` the first is
Advani & Saxe's ``(sigma_w^2 + sigma_0^2) e^{-2 lambda t} + sigma_eps^2 (1 - e^{-lambda t})^2 / lambda``.
As N, P -> inf the empirical eigenvalue distribution of ``X X^T`` tends to the
Marchenko-Pastur law (:func:`marchenko_pastur`, from :mod:`idealnets.theory.spectra`), so

.. math::

    E_g(t) = \int \rho(\lambda) \langle e^2\rangle\, d\lambda
             + (1-\alpha)_+ \langle e^2\rangle_{\lambda=0} + \sigma_\epsilon^2 ,
    \qquad
    E_{train}(t) = \frac{1}{\alpha}\int \rho(\lambda) \langle \tilde r^2\rangle\, d\lambda
             + (1 - 1/\alpha)_+ \sigma_\epsilon^2 ,

where ``rho`` is the continuous part (mass ``min(1, alpha)``), the atom ``(1-alpha)_+``
at ``lambda = 0`` is the *frozen subspace* (``alpha < 1``): directions orthogonal to
every input, which keep their initial error ``sigma_w^2 + sigma_0^2`` for ever (unless
weight decay shrinks them), and the ``P - N`` residual directions without a weight
(``alpha > 1``) carry pure noise.

Closed forms at ``t = inf``, ``gamma = 0`` (from ``<1/lambda>``; Wishart inverse moments):
``E_g = sigma_eps^2 alpha/(alpha-1)`` for ``alpha > 1`` and
``E_g = sigma_eps^2/(1-alpha) + (1-alpha)(sigma_w^2 + sigma_0^2)`` for ``alpha < 1``;
both diverge at ``alpha = 1`` (:func:`converged_test_error`).

Quadrature: ``lambda = m - h cos(theta)`` (``m = 1 + alpha``, ``h = 2 sqrt(alpha)``) turns
``rho(lambda) dlambda`` into ``h^2 sin^2(theta) / (2 pi lambda) dtheta``, smooth on
``[0, pi]``; a tanh-sinh rule in ``theta`` clusters nodes double-exponentially at the
edges, which resolves the near-singular ``1/lambda^2`` behaviour at the lower edge for
``alpha`` near 1 and the ``e^{-lambda t}`` boundary layer at late times. Tested to
~1e-10 against the closed forms above.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import optimize

from .deep_linear import DEPTH_MAX, mode_strength
from .random_features import RandomFeaturesTheory
from .spectra import QUAD_SMAX, QUAD_STEP, MarchenkoPastur, marchenko_pastur  # noqa: F401 (re-exported)
from .validation import as_array, as_float, as_int, as_times

__all__ = [
    "MarchenkoPastur",
    "marchenko_pastur",
    "mode_weight_error",
    "mode_train_residual",
    "converged_test_error",
    "converged_train_error",
    "LinearStudentTheory",
    "FiniteSizeErrors",
    "finite_size_errors",
    "DeepLinearStudentTheory",
    "RandomFeaturesTheory",
]

HALF_NORMAL_NODES = 160  # Gauss-Legendre nodes for the deep student's average over s~
HALF_NORMAL_CUT = 9.0  # half-normal integrated on [0, 9] sd (tail ~ 1e-19)


# ---------------------------------------------------------------- checks (theory.validation)
#: Standard deviations, ``u0`` and weight decays above this are refused: the formulas take their squares
#: and products of two squares, which would overflow float64 (a ValueError instead of inf/NaN or OverflowError)
SCALE_MAX = 1e75


def _check_nonneg(name: str, v) -> float:
    return as_float(v, name, low=0.0, high=SCALE_MAX)


def _check_tau(tau) -> float:
    return as_float(tau, "tau", low=0.0, open_low=True)


def _check_times(t) -> np.ndarray:
    """Non-negative times of any shape, ``np.inf`` the converged value."""
    return as_times(t)


def _check_gamma(gamma, allow_inf: bool = False) -> np.ndarray:
    return as_array(gamma, "weight decay gamma", low=0.0, allow_inf=allow_inf)


# ---------------------------------------------------------------- per-mode formulas
def _decay(lam, t, gamma, tau):
    """``a = e^{-(lam+gamma) t/tau}`` and ``(1-a)/r`` written stably (``r -> 0`` gives ``t/tau``)."""
    r = lam + gamma
    with np.errstate(over="ignore", invalid="ignore"):
        x = r * t / tau
        a = np.where(np.isinf(t), np.where(r > 0, 0.0, 1.0), np.exp(-np.where(np.isinf(t), 0.0, x)))
        one_minus_a_over_r = np.where(
            r > 0,
            np.where(np.isinf(t), 1.0, -np.expm1(-np.where(np.isinf(t), 0.0, x))) / np.where(r > 0, r, 1.0),
            np.where(np.isinf(t), np.inf, t / tau),
        )
    return r, a, one_minus_a_over_r


def mode_weight_error(lam, t, *, sigma_w: float, sigma_eps: float, sigma_0: float,
                      gamma: float = 0.0, tau: float = 1.0):
    r"""``<(w_i(t) - wbar_i)^2>`` of one eigenmode ``lambda`` of ``X X^T`` (module docstring).

    .. math::
        \sigma_w^2 (\gamma(1-a)/r + a)^2 + \sigma_\epsilon^2 \lambda ((1-a)/r)^2 + \sigma_0^2 a^2,
        \quad r = \lambda + \gamma,\ a = e^{-r t/\tau}

    (Advani & Saxe 2017, linear-student mode solution, for ``gamma = 0``; the weight-decay
    terms derived here).
    ``lam`` and ``t`` broadcast. ``lam = 0``, ``gamma = 0``: the frozen value
    ``sigma_w^2 + sigma_0^2``.
    """
    lam = as_array(lam, "lam", low=0.0)
    t = _check_times(t)
    sigma_w, sigma_eps, sigma_0 = (_check_nonneg(n, v) for n, v in
                                   (("sigma_w", sigma_w), ("sigma_eps", sigma_eps), ("sigma_0", sigma_0)))
    gamma, tau = _check_nonneg("gamma", gamma), _check_tau(tau)
    return _mode_weight_error(lam, t, sigma_w, sigma_eps, sigma_0, gamma, tau)


def _mode_weight_error(lam, t, sigma_w, sigma_eps, sigma_0, gamma, tau):
    r, a, q = _decay(lam, t, gamma, tau)
    with np.errstate(invalid="ignore"):
        noise = np.where(lam > 0, lam * q**2, 0.0)
        bias = gamma * q + a if gamma > 0 else a
    return sigma_w**2 * bias**2 + sigma_eps**2 * noise + sigma_0**2 * a**2


def mode_train_residual(lam, t, *, sigma_w: float, sigma_eps: float, sigma_0: float,
                        gamma: float = 0.0, tau: float = 1.0):
    r"""``<r~_i^2>``: second moment of the train residual along mode ``lambda`` (module docstring).

    .. math::
        \sigma_\epsilon^2 (1 - \lambda(1-a)/r)^2 + \lambda \sigma_w^2 (\gamma(1-a)/r + a)^2
        + \lambda \sigma_0^2 a^2 ;

    for ``gamma = 0`` it is ``e^{-2 lambda t/tau} (sigma_eps^2 + lambda (sigma_w^2 + sigma_0^2))``.
    """
    lam = as_array(lam, "lam", low=0.0)
    t = _check_times(t)
    sigma_w, sigma_eps, sigma_0 = (_check_nonneg(n, v) for n, v in
                                   (("sigma_w", sigma_w), ("sigma_eps", sigma_eps), ("sigma_0", sigma_0)))
    gamma, tau = _check_nonneg("gamma", gamma), _check_tau(tau)
    return _mode_train_residual(lam, t, sigma_w, sigma_eps, sigma_0, gamma, tau)


def _mode_train_residual(lam, t, sigma_w, sigma_eps, sigma_0, gamma, tau):
    r, a, q = _decay(lam, t, gamma, tau)
    with np.errstate(invalid="ignore"):
        fit = np.where(lam > 0, 1.0 - lam * q, 1.0)
        bias = gamma * q + a if gamma > 0 else a
    return sigma_eps**2 * fit**2 + lam * (sigma_w**2 * bias**2 + sigma_0**2 * a**2)


def converged_test_error(alpha, *, sigma_w: float = 1.0, sigma_eps: float = 0.5, sigma_0: float = 0.0):
    r"""Closed-form ``E_g(t = inf)`` without weight decay (N, P -> inf).

    ``alpha > 1``: ``sigma_eps^2 alpha / (alpha - 1)``;
    ``alpha < 1``: ``sigma_eps^2 / (1 - alpha) + (1 - alpha)(sigma_w^2 + sigma_0^2)``;
    ``alpha = 1``: ``inf`` (Advani & Saxe 2017; derived here from ``<1/lambda>_MP = 1/(alpha-1)``
    for ``alpha > 1`` and ``alpha/(1-alpha)`` for the continuous part when ``alpha < 1``).
    Vectorised over ``alpha``.
    """
    alpha = as_array(alpha, "alpha", low=0.0, open_low=True)
    sigma_w, sigma_eps, sigma_0 = (_check_nonneg(n, v) for n, v in
                                   (("sigma_w", sigma_w), ("sigma_eps", sigma_eps), ("sigma_0", sigma_0)))
    with np.errstate(divide="ignore", invalid="ignore"):
        over = sigma_eps**2 * alpha / (alpha - 1)
        under = sigma_eps**2 / (1 - alpha) + (1 - alpha) * (sigma_w**2 + sigma_0**2)
    return np.where(alpha > 1, over, np.where(alpha < 1, under, np.inf))


def converged_train_error(alpha, *, sigma_eps: float = 0.5):
    """Closed-form ``E_train(t = inf)`` without weight decay: ``sigma_eps^2 (1 - 1/alpha)_+``."""
    alpha = as_array(alpha, "alpha", low=0.0, open_low=True)
    sigma_eps = _check_nonneg("sigma_eps", sigma_eps)
    return sigma_eps**2 * np.maximum(0.0, 1.0 - 1.0 / alpha)


# ---------------------------------------------------------------- high-dimensional theory
class LinearStudentTheory:
    r"""Train and test error of the linear student in the limit N, P -> inf at fixed alpha.

    Builds the Marchenko-Pastur quadrature once (module docstring for the equations).

    Parameters
    ----------
    alpha : P/N > 0.
    sigma_w, sigma_eps, sigma_0 : teacher, label-noise and initial-weight standard deviations
        (each in ``[0, SCALE_MAX]``; all zero is allowed: nothing to learn, error 0).
    tau : time constant of ``tau dw/dt = -dL/dw``.

    Notes
    -----
    Every method accepts times of any shape (``np.inf`` the converged value) and returns
    that shape. Accuracy ~1e-10 relative (tested), except that ``alpha = 1``, ``t = inf``,
    ``gamma = 0`` is ``inf``.
    """

    def __init__(self, alpha, sigma_w: float = 1.0, sigma_eps: float = 0.5, sigma_0: float = 0.0,
                 tau: float = 1.0):
        self.mp = marchenko_pastur(alpha)  # checks alpha (= P/N)
        self.alpha = self.mp.alpha
        self.sigma_w = _check_nonneg("sigma_w", sigma_w)
        self.sigma_eps = _check_nonneg("sigma_eps", sigma_eps)
        self.sigma_0 = _check_nonneg("sigma_0", sigma_0)
        self.tau = _check_tau(tau)
        self._lam, self._w = self.mp.nodes()

    @property
    def snr(self) -> float:
        """``sigma_w^2 / sigma_eps^2`` (``inf`` without label noise; 0 without signal, ``sigma_w = 0``)."""
        if self.sigma_w == 0:
            return 0.0
        with np.errstate(divide="ignore"):
            return self.sigma_w**2 / np.float64(self.sigma_eps**2)

    @property
    def optimal_weight_decay(self) -> float:
        r"""Krogh & Hertz 1992: ``gamma* = sigma_eps^2 / sigma_w^2`` (sum-loss convention).

        Each mode's converged error ``(gamma^2 sigma_w^2 + lambda sigma_eps^2)/(lambda+gamma)^2``
        is minimised at this ``gamma`` for every ``lambda`` (the Bayes posterior mean).
        """
        if self.sigma_w == 0:
            return np.inf
        return self.sigma_eps**2 / self.sigma_w**2

    def _params(self, gamma: float) -> tuple:
        return self.sigma_w, self.sigma_eps, self.sigma_0, gamma, self.tau

    def test_error(self, t, *, weight_decay: float = 0.0) -> np.ndarray:
        r"""``E_g(t) = int rho <e^2> + (1-alpha)_+ <e^2>_0 + sigma_eps^2`` (module docstring)."""
        return self._test_error(_check_times(t), _check_nonneg("weight decay gamma", weight_decay))

    def _test_error(self, t: np.ndarray, gamma: float) -> np.ndarray:
        kw = self._params(gamma)
        tt = t[..., None]
        bulk = _mode_weight_error(self._lam, tt, *kw) @ self._w
        frozen = self.mp.atom * _mode_weight_error(np.asarray(0.0), t, *kw)
        out = bulk + frozen + self.sigma_eps**2
        if self.alpha == 1.0 and gamma == 0 and self.sigma_eps > 0:
            out = np.where(np.isinf(t), np.inf, out)
        return out

    def train_error(self, t, *, weight_decay: float = 0.0) -> np.ndarray:
        r"""``E_train(t) = (1/alpha) int rho <r~^2> + (1 - 1/alpha)_+ sigma_eps^2`` (module docstring)."""
        t = _check_times(t)
        kw = self._params(_check_nonneg("weight decay gamma", weight_decay))
        bulk = _mode_train_residual(self._lam, t[..., None], *kw) @ self._w
        return bulk / self.alpha + max(0.0, 1.0 - 1.0 / self.alpha) * self.sigma_eps**2

    def test_error_rate(self, t) -> np.ndarray:
        r"""``dE_g/dt = (2/tau) int rho e^{-lambda t/tau}[sigma_eps^2 (1 - e^{-lambda t/tau})
        - lambda (sigma_w^2 + sigma_0^2) e^{-lambda t/tau}]`` (no weight decay)."""
        return self._test_error_rate(_check_times(t))

    def _test_error_rate(self, t: np.ndarray) -> np.ndarray:
        a = np.exp(-self._lam * t[..., None] / self.tau)
        s2 = self.sigma_w**2 + self.sigma_0**2
        return (2.0 / self.tau) * (a * (self.sigma_eps**2 * (1 - a) - self._lam * s2 * a)) @ self._w

    def optimal_stopping_time(self) -> float:
        r"""``t* = argmin_t E_g(t)`` without weight decay (global minimum over t).

        Found as the root of :meth:`test_error_rate` (sign change - to +) on a log grid,
        refined by Brent's method; all local minima are compared. ``inf`` when there is
        no label noise (E_g then decreases monotonically), 0 when there is nothing to learn.
        """
        if self.sigma_w == 0 and self.sigma_0 == 0:
            return 0.0
        if self.sigma_eps == 0:
            return np.inf
        grid = np.logspace(-4, 8, 241)
        d = self._test_error_rate(grid)
        idx = np.nonzero((d[:-1] < 0) & (d[1:] >= 0))[0]
        if idx.size == 0:
            return np.inf if d[-1] < 0 else 0.0
        f = lambda lt: float(self._test_error_rate(np.asarray(np.exp(lt))))  # noqa: E731
        roots = [np.exp(optimize.brentq(f, np.log(grid[i]), np.log(grid[i + 1]), xtol=1e-13)) for i in idx]
        errs = [float(self._test_error(np.asarray(r), 0.0)) for r in roots]
        return float(roots[int(np.argmin(errs))])

    def optimal_early_stopping_error(self) -> float:
        """``E_g(t*)`` at :meth:`optimal_stopping_time`."""
        return float(self._test_error(np.asarray(self.optimal_stopping_time()), 0.0))

    def ridge_test_error(self, gamma) -> np.ndarray:
        r"""Converged test error with weight decay ``gamma`` (vectorised over ``gamma``).

        .. math:: E_g(\gamma) = \int\rho\,\frac{\gamma^2\sigma_w^2 + \lambda\sigma_\epsilon^2}
                  {(\lambda+\gamma)^2} + (1-\alpha)_+\sigma_w^2 + \sigma_\epsilon^2

        (Krogh & Hertz 1992 in these conventions; independent of ``sigma_0``). Minimal at
        :attr:`optimal_weight_decay`; ``gamma -> 0`` gives ``test_error(inf)`` with ``sigma_0 = 0``;
        ``gamma = inf`` is its limit, the zero student: ``sigma_w^2 + sigma_eps^2``.
        """
        g = _check_gamma(gamma, allow_inf=True)
        lam = self._lam
        gg = g[..., None]
        with np.errstate(divide="ignore", invalid="ignore"):
            # gamma/(lam+gamma) and 1/(lam+gamma) written so that gamma = inf gives their limits 1 and 0
            shrink = np.where(np.isinf(gg), 1.0, gg / (lam + gg))
            inv = np.where(np.isinf(gg), 0.0, 1.0 / (lam + gg))
            bulk = (shrink**2 * self.sigma_w**2 + lam * self.sigma_eps**2 * inv**2) @ self._w
        out = bulk + self.mp.atom * self.sigma_w**2 + self.sigma_eps**2
        if self.alpha == 1.0 and self.sigma_eps > 0:
            out = np.where(g == 0, np.inf, out)
        return out

    def ridge_train_error(self, gamma) -> np.ndarray:
        r"""Converged train error with weight decay:
        ``(1/alpha) int rho gamma^2 (sigma_eps^2 + lambda sigma_w^2)/(lambda+gamma)^2 + (1-1/alpha)_+ sigma_eps^2``."""
        g = _check_gamma(gamma, allow_inf=True)
        lam = self._lam
        gg = g[..., None]
        with np.errstate(divide="ignore", invalid="ignore"):
            shrink = np.where(np.isinf(gg), 1.0, gg / (lam + gg))  # gamma = inf: the zero student
        bulk = (shrink**2 * (self.sigma_eps**2 + lam * self.sigma_w**2)) @ self._w
        return bulk / self.alpha + max(0.0, 1.0 - 1.0 / self.alpha) * self.sigma_eps**2

    def optimal_ridge_test_error(self) -> float:
        """``ridge_test_error(optimal_weight_decay)``."""
        return float(self.ridge_test_error(self.optimal_weight_decay))


# ---------------------------------------------------------------- one finite data set
class FiniteSizeErrors(NamedTuple):
    """Exact errors of gradient flow on one (or a batch of) given data set(s): ``t.shape + batch``."""

    train: np.ndarray
    test: np.ndarray


def _decay_gd(lam, t, gamma, lr):
    """Discrete-GD analogue of :func:`_decay`: ``a = (1 - lr r)^k``, ``k = t/lr``, and ``(1-a)/r``."""
    r = lam + gamma
    k = np.rint(t / lr)
    if np.any(np.abs(k * lr - t) > 1e-9 * np.maximum(t, 1.0)) and np.all(np.isfinite(t)):
        raise ValueError("with lr given, times must be whole multiples of lr (t = lr * steps)")
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        base = 1.0 - lr * r
        a = np.where(np.isinf(t), np.where(r > 0, 0.0, 1.0), np.power(base, np.where(np.isinf(k), 0.0, k)))
        q = np.where(r > 0, (1.0 - a) / np.where(r > 0, r, 1.0), np.where(np.isinf(t), np.inf, t))
    return r, a, q


def finite_size_errors(X, y, w_teacher, w0, t, sigma_eps, *, weight_decay: float = 0.0,
                       tau: float = 1.0, lr: float | None = None) -> FiniteSizeErrors:
    r"""Exact train/test error of gradient flow on a given data set, from its eigendecomposition.

    ``X`` (..., N, P), ``y`` (..., P), ``w_teacher``/``w0`` (..., N) with leading batch
    axes that broadcast (e.g. one ``X`` of shape (E, 1, N, P) for several teachers (E, k, P):
    one eigendecomposition per input matrix). With ``X X^T = V diag(lambda) V^T``, ``b = V^T X y``, each coordinate
    ``w_i = (V^T w)_i`` follows ``w_i(t) = w0_i a + b_i (1 - a)/r`` (``r = lambda + gamma``,
    ``a = e^{-r t/tau}``); eigenvalues below the rank tolerance ``max(N,P) eps lambda_max``
    are set to 0 (their ``b`` vanishes), so ``t = inf`` without decay is the
    pseudo-inverse solution plus the untouched frozen part of ``w0``. Returns

    * ``test = |w(t) - w_teacher|^2 / N + sigma_eps^2`` (exact expectation over a fresh
      ``x ~ N(0, I/N)`` and label noise), and
    * ``train = (1/P) |y - X^T w(t)|^2`` (via ``|y|^2 - 2 w.b + sum lambda w_i^2``, clipped at 0
      against rounding),

    each of shape ``t.shape + batch``. Float64.

    With ``lr`` given, the result is instead the exact trajectory of full-batch gradient
    descent ``w <- w - lr (X X^T w - X y + gamma w)`` after ``k = t/lr`` steps
    (``a = (1 - lr r)^k``); it converges to the gradient-flow result as ``lr -> 0``
    with an ``O(lr)`` gap.
    """
    X = as_array(X, "X", ndim=range(2, 64))  # finite: NaN/inf would stall LAPACK's eigh
    y = as_array(y, "y", ndim=range(1, 64))
    wbar = as_array(w_teacher, "w_teacher", ndim=range(1, 64))
    w0 = as_array(w0, "w0", ndim=range(1, 64))
    N, P = X.shape[-2:]
    try:
        batch = np.broadcast_shapes(X.shape[:-2], y.shape[:-1], wbar.shape[:-1], w0.shape[:-1])
    except ValueError:
        batch = None
    if batch is None or y.shape[-1] != P or wbar.shape[-1] != N or w0.shape[-1] != N:
        raise ValueError(f"shapes disagree: X {X.shape}, y {y.shape} (want {X.shape[:-2] + (P,)}), "
                         f"w_teacher {wbar.shape}, w0 {w0.shape} (want {X.shape[:-2] + (N,)}; "
                         "leading batch axes broadcast)")
    sigma_eps = _check_nonneg("sigma_eps", sigma_eps)
    gamma = _check_nonneg("weight decay", weight_decay)
    tau = _check_tau(tau)
    t = _check_times(t)
    lam, V = np.linalg.eigh(X @ np.swapaxes(X, -1, -2))
    tol = max(N, P) * np.finfo(float).eps * lam[..., -1:]
    zero = lam <= tol
    lam = np.where(zero, 0.0, lam)
    Xy = np.einsum("...np,...p->...n", X, y)
    b = np.where(zero, 0.0, np.einsum("...ni,...n->...i", V, Xy))
    w0v = np.einsum("...ni,...n->...i", V, w0)
    wbv = np.einsum("...ni,...n->...i", V, wbar)
    tt = t.reshape(t.shape + (1,) * len(batch) + (1,))
    if lr is None:
        _, a, q = _decay(lam, tt, gamma, tau)
    else:
        lr = as_float(lr, "lr", low=0.0, open_low=True)
        lr_max = 2.0 / (float(np.max(lam)) + gamma) if np.max(lam) + gamma > 0 else np.inf
        # "at the limit" within rounding counts as at it (|1 - lr lambda_max| = 1: no contraction); the
        # eigenvalues of X X^T and X^T X, computed either way, differ in the last bits
        if lr >= lr_max * (1.0 - 64 * np.finfo(float).eps):
            raise ValueError(f"lr={lr:.4g} is at or above the stable limit 2/(lambda_max + gamma) = {lr_max:.4g} "
                             "of gradient descent on these data: GD diverges there, at every time. Pass a smaller "
                             "lr, or lr=None for gradient flow.")
        _, a, q = _decay_gd(lam, tt, gamma, lr)
    with np.errstate(invalid="ignore"):
        w = w0v * a + np.where(b == 0, 0.0, b * q)
    test = np.sum((w - wbv) ** 2, axis=-1) / N + sigma_eps**2
    yy = np.sum(y * y, axis=-1)
    train = (yy - 2 * np.sum(w * b, axis=-1) + np.sum(lam * w**2, axis=-1)) / P
    return FiniteSizeErrors(train=np.maximum(train, 0.0), test=test)


# ---------------------------------------------------------------- deep linear student
class DeepLinearStudentTheory:
    r"""Reduced mode dynamics of a depth-D linear student (after Advani & Saxe 2017, deep-network section).

    **Reduction and its assumption.** The student's total map ``w = W_D...W_1`` (1 x N)
    is assumed to stay diagonal in the eigenbasis ``V`` of ``X X^T``, each mode carried by
    its own chain of D balanced scalar weights whose product ``z_i`` starts at
    ``sign(s~_i) u0`` (Saxe et al.'s "decoupled" initial condition, aligned with the
    data). Then with ``s~_i = (V^T X y)_i`` the sum loss is
    ``sum_i (lambda_i z_i^2/2 - s~_i z_i) + const`` and ``u_i = |z_i|`` obeys

    .. math:: \tau \dot u = D\,u^{2-2/D}\,(|\tilde s| - \lambda u),

    i.e. :func:`idealnets.theory.deep_linear.mode_strength` in time ``lambda t`` with strength
    ``|s~|/lambda`` (the isotropic rescaling documented there). This is *exact* for the
    mode-diagonal student (``idealnets.simulate.generalization.train_deep_linear(..., arch="diagonal")``)
    and only an approximation for a dense scalar-output network from small random
    weights, whose modes share one rank-one hidden direction and couple (measured in the
    figure ``generalization_deep``). The reduction is derived here independently; we could
    not check whether Advani & Saxe's deep-network section assumes exactly this decoupling,
    and where it differs this derivation is the one implemented). D = 1 with ``u0 = 0`` is :class:`LinearStudentTheory` with ``sigma_0 = 0``.

    **Average.** Given ``lambda``, ``s~ = sqrt(lambda)(sqrt(lambda) wbar_i + eps~_i)`` is
    ``N(0, lambda v)`` with ``v = lambda sigma_w^2 + sigma_eps^2``, and
    ``E[wbar|s~] = k s~`` (``k = sigma_w^2/v``), ``Var[wbar|s~] = sigma_w^2 sigma_eps^2 / v``.
    Hence

    .. math::

        \langle e^2\rangle = E_{|\tilde s|}\big[(u(|\tilde s|) - k|\tilde s|)^2\big]
            + \sigma_w^2\sigma_\epsilon^2/v, \qquad
        \langle\tilde r^2\rangle = E_{|\tilde s|}\big[(|\tilde s| - \lambda u)^2\big]/\lambda,

    averaged over the half-normal ``|s~|`` by Gauss-Legendre quadrature and over
    Marchenko-Pastur as in :class:`LinearStudentTheory`. Frozen modes (``alpha < 1``,
    ``lambda = 0``) keep ``u = u0``: error ``sigma_w^2 + u0^2``.

    Parameters
    ----------
    alpha, sigma_w, sigma_eps, tau : as in :class:`LinearStudentTheory`.
    depth : number of weight matrices D >= 1.
    u0 : initial mode strength (> 0 for D >= 2; the saddle at 0 never moves).

    ``sigma_w = sigma_eps = 0`` (no teacher, no noise) is the limit of both going to 0: the target
    is 0, every ``s~ = 0``, and the error is that of the decaying initial strength ``u0``.
    """

    def __init__(self, alpha, depth: int = 2, sigma_w: float = 1.0, sigma_eps: float = 0.5,
                 u0: float = 1e-3, tau: float = 1.0):
        self.mp = marchenko_pastur(alpha)  # checks alpha (= P/N)
        self.alpha = self.mp.alpha
        self.depth = as_int(depth, "depth", low=1, high=DEPTH_MAX)
        self.sigma_w = _check_nonneg("sigma_w", sigma_w)
        self.sigma_eps = _check_nonneg("sigma_eps", sigma_eps)
        self.u0 = _check_nonneg("u0", u0)
        if self.depth >= 2 and self.u0 == 0:
            raise ValueError("for depth >= 2 the initial strength u0 must be positive (0 is a fixed point)")
        self.tau = _check_tau(tau)
        self._lam, self._w = self.mp.nodes()
        z, wz = np.polynomial.legendre.leggauss(HALF_NORMAL_NODES)
        z = 0.5 * HALF_NORMAL_CUT * (z + 1)
        self._z = z  # |s~| in units of its sd
        self._wz = 0.5 * HALF_NORMAL_CUT * wz * 2 * np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi)

    def mode_strengths(self, t, s_abs, lam) -> np.ndarray:
        """``u(t)`` for ``|s~|`` and ``lambda`` (broadcast): :func:`mode_strength` in time ``lambda t``."""
        t, s_abs, lam = np.broadcast_arrays(_check_times(t), as_array(s_abs, "s_abs", low=0.0),
                                            as_array(lam, "lam", low=0.0, open_low=True))
        with np.errstate(invalid="ignore", divide="ignore"):
            lt = np.where(np.isinf(t), np.inf, lam * t)
        return mode_strength(lt, s_abs / lam, self.u0, self.depth, self.tau)

    def _moments(self, t):
        t = _check_times(t)
        lam = self._lam  # (L,), > 0
        v = lam * self.sigma_w**2 + self.sigma_eps**2
        sd = np.sqrt(lam * v)
        s_abs = sd[:, None] * self._z[None, :]  # (L, Z)
        with np.errstate(invalid="ignore", divide="ignore"):
            lt = np.where(np.isinf(t[..., None, None]), np.inf, lam[:, None] * t[..., None, None])
        u = mode_strength(lt, s_abs / lam[:, None], self.u0, self.depth, self.tau)  # t.shape + (L, Z)
        # v = 0 only when sigma_w = sigma_eps = 0: then s~ = 0 and wbar = 0 exactly, so E[wbar|s~] = 0 and
        # Var[wbar|s~] = 0 (the limit of both as the two scales go to 0, whatever the path)
        pos = v > 0
        v_pos = np.where(pos, v, 1.0)
        k = np.where(pos, self.sigma_w**2 / v_pos, 0.0)
        cond_var = np.where(pos, self.sigma_w**2 * self.sigma_eps**2 / v_pos, 0.0)
        err = ((u - k[:, None] * s_abs) ** 2) @ self._wz + cond_var
        res = ((s_abs - lam[:, None] * u) ** 2) @ self._wz / lam
        return t, err, res

    def test_error(self, t) -> np.ndarray:
        """``E_g(t)`` of the reduced deep student, shape ``t.shape``."""
        t, err, _ = self._moments(t)
        return err @ self._w + self.mp.atom * (self.sigma_w**2 + self.u0**2) + self.sigma_eps**2

    def train_error(self, t) -> np.ndarray:
        """``E_train(t)`` of the reduced deep student, shape ``t.shape``."""
        t, _, res = self._moments(t)
        return res @ self._w / self.alpha + max(0.0, 1.0 - 1.0 / self.alpha) * self.sigma_eps**2

