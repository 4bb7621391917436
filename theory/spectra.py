r"""Limiting spectra of random matrices: the Marchenko-Pastur law and its quadrature.

Shared by the teacher-student theories: :mod:`idealnets.theory.generalization` (the eigenvalues of
``X X^T`` for the linear and deep linear students) and :mod:`idealnets.theory.random_features`
(the spectrum of the random first-layer weights). Conventions of docs: Conventions,
"Teacher-student generalisation": ``X`` (N, P) with i.i.d. ``N(0, 1/N)`` entries,
``alpha = P/N``.

Quadrature: ``lambda = m - h cos(theta)`` (``m = 1 + alpha``, ``h = 2 sqrt(alpha)``) turns
``rho(lambda) dlambda`` into ``h^2 sin^2(theta) / (2 pi lambda) dtheta``, smooth on
``[0, pi]``; a tanh-sinh rule in ``theta`` clusters nodes double-exponentially at the
edges, which resolves the near-singular ``1/lambda^2`` behaviour at the lower edge for
``alpha`` near 1 and the ``e^{-lambda t}`` boundary layer at late times.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import special

from .validation import as_array, as_float

__all__ = ["MarchenkoPastur", "marchenko_pastur", "QUAD_STEP", "QUAD_SMAX", "NODES_MAX"]

QUAD_STEP = 1.0 / 64  # tanh-sinh step in the edge-clustering variable
QUAD_SMAX = 3.3  # |k h| range: weights below 1e-40 beyond it
NODES_MAX = 10**6  # most quadrature nodes (2 smax/step + 1) a call may ask for


@dataclass(frozen=True)
class MarchenkoPastur:
    r"""Limiting eigenvalue law of ``X X^T`` for ``X`` (N, P) with i.i.d. ``N(0, 1/N)`` entries.

    ``P/N -> alpha``. Continuous part on ``[lam_minus, lam_plus] = [(1 - sqrt(alpha))^2,
    (1 + sqrt(alpha))^2]`` with density

    .. math:: \rho(\lambda) = \frac{\sqrt{(\lambda_+ - \lambda)(\lambda - \lambda_-)}}{2\pi\lambda},

    of mass ``min(1, alpha)``, plus an atom of weight ``atom = max(0, 1 - alpha)`` at 0
    (Marchenko & Pastur 1967; as used by Advani & Saxe 2017, written in these conventions:
    mean eigenvalue ``tr(X X^T)/N = alpha``).
    """

    alpha: float
    lam_minus: float
    lam_plus: float
    atom: float

    @property
    def support(self) -> tuple[float, float]:
        return self.lam_minus, self.lam_plus

    @property
    def mass(self) -> float:
        """Mass of the continuous part, ``min(1, alpha)``."""
        return 1.0 - self.atom

    def density(self, lam) -> np.ndarray:
        """Continuous density ``rho(lambda)`` (0 outside the support; the atom is separate)."""
        lam = as_array(lam, "lam", allow_empty=True, allow_inf=True)
        inside = (lam > self.lam_minus) & (lam < self.lam_plus) & (lam > 0)
        out = np.zeros(lam.shape)
        li = lam[inside]
        out[inside] = np.sqrt((self.lam_plus - li) * (li - self.lam_minus)) / (2 * np.pi * li)
        return out

    def nodes(self, step: float = QUAD_STEP, smax: float = QUAD_SMAX) -> tuple[np.ndarray, np.ndarray]:
        r"""Quadrature ``(lam_k, w_k)`` with ``sum_k w_k f(lam_k) ~ int rho(lambda) f(lambda) dlambda``.

        Tanh-sinh in ``theta`` (``lambda = m - h cos theta``); edge distances are formed
        without cancellation so nodes a hair from ``lam_minus`` stay exact. ``step`` and ``smax``
        are positive with at most :data:`NODES_MAX` nodes.
        """
        step = as_float(step, "step", low=0.0, open_low=True)
        smax = as_float(smax, "smax", low=0.0, open_low=True)
        if 2 * smax / step + 1 > NODES_MAX:
            raise ValueError(f"step = {step:g} and smax = {smax:g} ask for {2 * smax / step + 1:.3g} quadrature nodes: "
                             f"at most NODES_MAX = {NODES_MAX}")
        k = np.arange(-int(np.ceil(smax / step)), int(np.ceil(smax / step)) + 1)
        x = k * step
        s = 0.5 * np.pi * np.sinh(x)
        theta = np.pi * special.expit(2 * s)  # pi (1 + tanh s)/2
        theta_c = np.pi * special.expit(-2 * s)  # pi - theta
        dtheta = 0.5 * np.pi * step * 0.5 * np.pi * np.cosh(x) / np.cosh(s) ** 2
        h = 2.0 * np.sqrt(self.alpha)
        lam = self.lam_minus + 2 * h * np.sin(0.5 * theta) ** 2
        sin_t = np.sin(np.minimum(theta, theta_c))
        keep = (dtheta > 0) & (lam > 0)  # drops underflowed weights (and lam = 0 at alpha = 1)
        lam, sin_t, dtheta = lam[keep], sin_t[keep], dtheta[keep]
        return lam, h**2 * sin_t**2 / (2 * np.pi * lam) * dtheta

    def expect(self, f: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """``int rho(lambda) f(lambda) dlambda`` (continuous part) for a vectorised ``f``
        whose last axis is the eigenvalue."""
        lam, w = self.nodes()
        return f(lam) @ w


def marchenko_pastur(alpha) -> MarchenkoPastur:
    """The Marchenko-Pastur law for ratio ``alpha = P/N`` (see :class:`MarchenkoPastur`)."""
    alpha = as_float(alpha, "alpha (= P/N)", low=0.0, open_low=True)
    r = np.sqrt(alpha)
    return MarchenkoPastur(alpha=alpha, lam_minus=(1 - r) ** 2, lam_plus=(1 + r) ** 2, atom=max(0.0, 1 - alpha))
