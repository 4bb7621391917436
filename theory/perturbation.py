r"""Learning by perturbation: exact expected learning curves of GD, node and weight perturbation.

The other end of the continuum of learning rules that runs from backpropagation to perturbation
learning (nudge the connections or the units at random and correlate the change in loss with
the nudge). Model after Werfel, Xie & Seung (2005),
"Learning curves for stochastic gradient descent in linear feedforward networks",
Neural Computation 17:2699: a linear student ``yhat = W x`` (M outputs, N inputs) learns a
linear teacher ``y = W* x`` online, one fresh ``x ~ N(0, I_N)`` per step. Per-sample loss
``l(W) = |(W - W*) x|^2 / 2``; the error is ``eps = E_x l = ||W - W*||_F^2 / 2``.
Three rules, each an unbiased estimate of the per-sample gradient ``g = (W - W*) x x^T``:

* ``"gd"`` (online gradient descent / delta rule): ``W <- W - lr g``;
* ``"node"`` perturbation: outputs ``W x + xi``, ``xi ~ N(0, sigma^2 I_M)``;
  ``W <- W - lr (dl / sigma^2) xi x^T``, ``dl = l(perturbed) - l(clean)``;
* ``"weight"`` perturbation: weights ``W + Psi``, ``Psi ~ N(0, sigma^2 I_{MN})``;
  ``W <- W - lr (dl / sigma^2) Psi``.

(The clean loss is subtracted as a baseline, as in Werfel et al.)

**Exact recursion (our derivation in these conventions; Werfel et al. normalise differently).**
With ``D = W - W*``, Gaussian moments (``E[(x^T A x)|x|^2] = (N+2) tr A``,
``E[(xi.e)^2 |xi|^2] = sigma^4 (M+2)|e|^2``, ``E|xi|^6 = sigma^6 M(M+2)(M+4)``, and for weight
perturbation ``E[|Psi x|^4 ||Psi||^2] = sigma^6 |x|^4 M(M+2)(MN+4)``) give, for every step,

.. math::

    E[\epsilon_{k+1} \mid D_k] = \rho\, \epsilon_k + \eta^2 \nu, \qquad \rho = 1 - 2\eta + \eta^2 \kappa,

with the *noise factor* ``kappa = m (N + 2)``, ``m = 1`` for GD and ``m = n_p + 2`` for
perturbation, ``n_p`` the number of perturbed quantities (``M`` outputs for node, ``MN``
weights for weight perturbation), and the
second-order floor ``nu = 0`` (GD), ``sigma^2 M(M+2)(M+4) N / 8`` (node),
``sigma^2 M(M+2)(MN+4) N(N+2) / 8`` (weight). Being linear in ``eps_k``, the recursion holds for
the ensemble mean exactly, at any N, M, lr:
``E eps_k = eps_inf + (eps_0 - eps_inf) rho^k`` with ``eps_inf = lr nu / (2 - lr kappa)``
(:func:`learning_curve`). In the small-lr limit, with ``t = lr k``,
``d eps/dt = -(2 - lr kappa) eps + lr nu``: the noise term grows with the number of
perturbed outputs or weights.

**Optimal learning rate and scaling.** ``rho`` is minimal at ``lr* = 1/kappa`` (sigma -> 0), where
``rho = 1 - 1/kappa``; stability needs ``lr < 2/kappa``. The number of steps to reduce the error
by a factor ``delta`` is ``ln(1/delta) / -ln(1 - 1/kappa) ~ kappa ln(1/delta)``
(:func:`steps_to_error`): ``~ N`` for GD, ``~ M N`` for node and ``~ M N^2`` for weight perturbation
(node perturbation is slower than GD by a factor ``M + 2``, about the number of perturbed
outputs, weight perturbation by ``MN + 2``, about the number of perturbed weights; cf. Werfel
et al. 2005).
"""
from __future__ import annotations

import math
import sys

import numpy as np

from .validation import as_choice, as_float, as_int, as_times, deprecated_alias

__all__ = [
    "RULES",
    "n_perturbed",
    "noise_factor",
    "noise_floor",
    "stable_lr",
    "max_learning_rate",
    "optimal_learning_rate",
    "contraction",
    "learning_curve",
    "asymptotic_error",
    "steps_to_error",
]

RULES = ("gd", "node", "weight")


def _sizes(rule, n_in, n_out):
    rule = as_choice(rule, "rule", RULES)
    N = as_int(n_in, "n_in", low=1)
    M = as_int(n_out, "n_out", low=1)
    return rule, N, M


def n_perturbed(rule: str, n_in: int, n_out: int) -> int:
    """Number of perturbed quantities ``n_p``: 0 (gd, nothing is perturbed), M (node), M N (weight)."""
    return _n_perturbed(*_sizes(rule, n_in, n_out))


def _n_perturbed(rule, N, M) -> int:
    return {"gd": 0, "node": M, "weight": M * N}[rule]


def noise_factor(rule: str, n_in: int, n_out: int) -> float:
    r"""``kappa``, the coefficient of ``lr^2 eps`` in the error recursion: ``N + 2`` (gd),
    ``(M + 2)(N + 2)`` (node), ``(MN + 2)(N + 2)`` (weight) (module docstring; our derivation
    after Werfel et al. 2005)."""
    return _noise_factor(*_sizes(rule, n_in, n_out))


def _noise_factor(rule, N, M) -> float:
    m = 1 if rule == "gd" else _n_perturbed(rule, N, M) + 2
    return float(m * (N + 2))


def noise_floor(rule: str, n_in: int, n_out: int, sigma: float) -> float:
    r"""``nu``, the error-independent ``lr^2`` term from the perturbation's second-order effect:
    0 (gd), ``sigma^2 M(M+2)(M+4) N/8`` (node), ``sigma^2 M(M+2)(MN+4) N(N+2)/8`` (weight).
    ``sigma >= 0`` (the perturbation size; negative is a ValueError)."""
    rule, N, M = _sizes(rule, n_in, n_out)
    sigma = as_float(sigma, "sigma", low=0.0)
    return _finite_in_range(_noise_floor(rule, N, M, sigma), sigma, "noise floor")


def _noise_floor(rule, N, M, sigma) -> float:
    if rule == "gd":
        return 0.0
    try:
        if rule == "node":
            return sigma**2 * M * (M + 2) * (M + 4) * N / 8.0
        return sigma**2 * M * (M + 2) * (M * N + 4) * N * (N + 2) / 8.0
    except OverflowError:  # sigma**2 beyond the float range (a product overflows to inf instead)
        return float("inf")


def _finite_in_range(value: float, sigma: float, what: str) -> float:
    """``value`` if finite, else a ValueError naming sigma: the floor is finite but beyond the float range."""
    if not math.isfinite(value):
        raise ValueError(f"sigma = {sigma:g} is too large: the {what} (~ sigma^2 times the rule's size factor) "
                         f"overflows the float range (max {sys.float_info.max:.3g}); use a smaller sigma")
    return value


def stable_lr(rule: str, n_in: int, n_out: int) -> float:
    r"""The stable learning rate: the limit ``2/kappa`` below which the expected error decays (``rho < 1``).

    Formerly ``max_learning_rate`` (that name still works, deprecated)."""
    return 2.0 / noise_factor(rule, n_in, n_out)


max_learning_rate = deprecated_alias(stable_lr, "max_learning_rate")


def optimal_learning_rate(rule: str, n_in: int, n_out: int) -> float:
    r"""``lr* = 1/kappa``: the fastest decay ``rho = 1 - 1/kappa`` (exact for sigma -> 0)."""
    return 1.0 / noise_factor(rule, n_in, n_out)


def _lr(lr, rule, N, M):
    lr = as_float(lr, "lr", low=0.0, open_low=True)
    lim = 2.0 / _noise_factor(rule, N, M)
    if not lr < lim:
        raise ValueError(f"lr = {lr:g} is at or above the stable limit 2/kappa = {lim:.4g} for rule {rule!r} "
                         f"with N = {N}, M = {M}: the expected error does not decay")
    return lr


def contraction(rule: str, n_in: int, n_out: int, lr: float) -> float:
    r"""``rho = 1 - 2 lr + lr^2 kappa``, the per-step factor of the expected error."""
    rule, N, M = _sizes(rule, n_in, n_out)
    return _contraction(rule, N, M, _lr(lr, rule, N, M))


def _contraction(rule, N, M, lr) -> float:
    return 1.0 - 2.0 * lr + lr * lr * _noise_factor(rule, N, M)


def asymptotic_error(rule: str, n_in: int, n_out: int, lr: float, sigma: float = 0.0) -> float:
    r"""``eps_inf = lr nu / (2 - lr kappa)``: the floor set by the perturbation size (0 for GD)."""
    rule, N, M = _sizes(rule, n_in, n_out)
    lr = _lr(lr, rule, N, M)
    sigma = as_float(sigma, "sigma", low=0.0)
    return _finite_in_range(_asymptotic_error(rule, N, M, lr, sigma), sigma, "asymptotic error")


def _asymptotic_error(rule, N, M, lr, sigma) -> float:
    return lr * _noise_floor(rule, N, M, sigma) / (2.0 - lr * _noise_factor(rule, N, M))


def learning_curve(steps, *, rule: str, n_in: int, n_out: int, lr: float, eps0: float, sigma: float = 0.0):
    r"""Expected error ``E eps_k = eps_inf + (eps0 - eps_inf) rho^k`` after ``k = steps`` updates.

    Exact for the ensemble mean (module docstring). ``steps``: any shape of non-negative
    numbers (``np.inf`` gives ``eps_inf``); ``eps0 = ||W0 - W*||_F^2/2 >= 0``; ``lr < 2/kappa``.
    """
    rule, N, M = _sizes(rule, n_in, n_out)
    k = as_times(steps, "steps")
    eps0 = as_float(eps0, "eps0", low=0.0)
    lr = _lr(lr, rule, N, M)
    sigma = as_float(sigma, "sigma", low=0.0)
    rho = _contraction(rule, N, M, lr)
    e_inf = _finite_in_range(_asymptotic_error(rule, N, M, lr, sigma), sigma, "asymptotic error")
    with np.errstate(under="ignore"):
        decay = np.where(np.isinf(k), 0.0, np.power(rho, np.where(np.isinf(k), 0.0, k)))
    return e_inf + (eps0 - e_inf) * decay


def steps_to_error(fraction: float, *, rule: str, n_in: int, n_out: int, lr: float | None = None,
                   sigma: float = 0.0, eps0: float = 1.0) -> float:
    r"""Steps ``k`` at which the expected error falls to ``fraction * eps0`` (fractional steps).

    ``k = ln[(f eps0 - eps_inf)/(eps0 - eps_inf)] / ln rho``; at the
    optimal ``lr = 1/kappa`` and sigma -> 0, ``k = ln f / ln(1 - 1/kappa) ~ kappa ln(1/f)``.
    ``lr = None`` uses :func:`optimal_learning_rate`. inf if the floor lies above the target.
    """
    rule, N, M = _sizes(rule, n_in, n_out)
    f = as_float(fraction, "fraction", low=0.0, high=1.0, open_low=True, open_high=True)
    eps0 = as_float(eps0, "eps0", low=0.0, open_low=True)
    lr = 1.0 / _noise_factor(rule, N, M) if lr is None else _lr(lr, rule, N, M)
    sigma = as_float(sigma, "sigma", low=0.0)
    rho = _contraction(rule, N, M, lr)
    e_inf = _asymptotic_error(rule, N, M, lr, sigma)  # inf past the float range: still above the target
    if e_inf >= f * eps0:
        return float("inf")
    return float(np.log((f * eps0 - e_inf) / (eps0 - e_inf)) / np.log(rho))
