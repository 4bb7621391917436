r"""Random-features regression in high dimension: test and training error at every training time.

**Model** (the frozen-first-layer student of ``figures/generalization_relu``; docs: Conventions, "Teacher-student generalisation"
conventions). Inputs ``x ~ N(0, I_N / N)`` (columns of ``X``, shape (N, P)); a linear
teacher ``y = wbar . x + eps`` with ``wbar ~ N(0, I_N)`` (output variance 1) and label noise
``eps ~ N(0, 1/snr)`` (``snr = sigma_w^2/sigma_eps^2`` with ``sigma_w = 1``, as in
:class:`idealnets.theory.generalization.LinearStudentTheory`). The student

.. math:: f(x) = \sum_{k=1}^K v_k\, \sigma(w_k\cdot x), \qquad w_k \sim N(0, I_N)\ \text{fixed},

so every pre-activation ``w_k . x`` is ``N(0, |w_k|^2/N) ~ N(0, 1)``. Only ``v`` trains.
``psi1 = K/N``, ``psi2 = P/N``; ``K/P = psi1/psi2`` is parameters per sample.

**Time unit.** The readout is trained from ``v = 0`` by gradient flow on the *sum* loss of
section 4a in the parameterisation ``v_k = a_k / sqrt(K)`` (the ``K^{-1/2}`` scaling of
``idealnets.simulate.generalization.train_relu``):

.. math:: L = \tfrac12 \sum_\mu (y_\mu - f(x_\mu))^2 + \tfrac{\gamma}{2} |a|^2,\qquad
          \dot a = -\partial L/\partial a \quad(\text{i.e. } \dot v = -\tfrac1K \partial L/\partial v),

``gamma`` = ``ridge``. With ``U = sigma(W X)/sqrt(K)`` (K, P) and ``H = U U^T`` the solution is
``a(t) = g_t(H) U y`` with ``g_t(z) = (1 - e^{-(z+gamma) t})/(z+gamma)``; ``t = inf`` is the ridge
estimator, and for ``gamma = 0`` the minimum-norm interpolator (pseudo-inverse). Full-batch GD
with learning rate ``lr`` is compared at ``t = lr * steps``. In this unit the bulk of
``H``'s spectrum is O(1) (``H``'s entries are averages over K features), so the
``t = 10^2, 10^4, 10^6`` of the figure are the same times here.

**Gaussian equivalence** (Mei & Montanari 2019, the coefficients mu0, mu1, mu* of their main theorem;
equation numbers not cited because we did not check them against the published version;
Goldt et al. 2020, "The Gaussian equivalence of generative models"; Gerace et al. 2020).
For the errors the features behave as

.. math:: \sigma(w_k\cdot x) \;\to\; \mu_0 + \mu_1\, w_k\cdot x + \mu_*\, z_k,\quad z\sim N(0, I_K),

``mu0 = E sigma(G)``, ``mu1 = E G sigma(G)``, ``mu*^2 = E sigma(G)^2 - mu0^2 - mu1^2``
(:func:`gaussian_equivalent_coefficients`). The constant ``mu0`` is a single spike of ``H``
(eigenvalue ~ P mu0^2), learned at t ~ 1/P and irrelevant as N -> inf, so it is dropped.

**Reduction (our derivation).** Given ``W``, the equivalent features ``phi = mu1 W x + mu* z``
are Gaussian with covariance ``Omega = mu*^2 I + mu1^2 W W^T / N``, and the teacher splits into
its projection on the features plus an independent Gaussian remainder,
``y = a*^T phi / sqrt(K) + xi``, ``a* = sqrt(K) Omega^{-1} E[phi y]``, with effective noise

.. math:: \sigma_\xi^2 = 1 + \sigma_\epsilon^2 - \sum_j \tau_j,\qquad
          \tau_j = \psi_1 \mu_1^2 \rho_j s_j / \omega_j,\quad \omega_j = \mu_*^2 + \mu_1^2 s_j,

where ``s_j`` (weights ``rho_j``) discretise the spectrum of ``W W^T/N``: ``psi1`` times the
Marchenko-Pastur law of ratio ``1/psi1`` plus an atom ``(1 - 1/psi1)_+`` at 0. ``tau_j`` is the
teacher variance the features carry in that eigendirection (``sum_j tau_j = a*^T Sigma a*``).
The problem is then linear regression on P Gaussian samples in dimension K with population
covariance ``Sigma = Omega/K`` (eigenvalues ``c_j/P``, ``c_j = (psi2/psi1) omega_j``), and
with ``r_t(z) = 1 - z g_t(z)``:

.. math::
    E_g(t) &= \sigma_\xi^2 + a_*^\top r_t(H)\,\Sigma\, r_t(H) a_* + \sigma_\xi^2\,\mathrm{Tr}\,\Sigma g_t(H) H g_t(H),\\
    E_{train}(t) &= \tfrac1P\big[a_*^\top H r_t(H)^2 a_* + \sigma_\xi^2\,\mathrm{Tr}_P\, r_t(U^\top U)^2\big].

**Deterministic equivalents.** With ``Q(z) = (H - z)^{-1}`` and ``gamma_K = K/P = psi1/psi2``,
the resolvent of the sample covariance is replaced by (Silverstein & Bai 1995; Couillet &
Liao 2022, chapter 2)

.. math:: \bar Q(z) = \mathrm{diag}(q_j),\quad q_j = \frac{1}{c_j/(1+\delta) - z},\qquad
          \delta = \gamma_K \sum_j \rho_j\, c_j\, q_j(z),

and products of two resolvents by the two-point equivalent (checked against sampled
matrices to Monte-Carlo accuracy while writing this module, and end-to-end in the tests)

.. math:: \tfrac1P \mathrm{tr}\, A Q(z_1) B Q(z_2) \to \tfrac1P\mathrm{tr}\, A\bar Q_1 B \bar Q_2
          + \frac{\tfrac1P\mathrm{tr}(C\bar Q_1 B\bar Q_2)\,\tfrac1P\mathrm{tr}(A\bar Q_1 C \bar Q_2)}
                 {(1+\delta_1)(1+\delta_2) - \tfrac1P\mathrm{tr}(C\bar Q_1 C\bar Q_2)},

``C = P Sigma``. Writing functions of ``H`` as contour integrals ``f(H) = -(1/2 pi i) oint f(z) Q(z) dz``
and using that ``g_t`` is entire (so every term with a bare identity integrates to zero) gives,
with ``F_12 = (1+delta_1)(1+delta_2) / [(1+delta_1)(1+delta_2) - gamma_K sum_j rho_j c_j^2 q_1j q_2j]``,

.. math::
    E_g(t) &= \sigma_\xi^2 + \textstyle\sum_j\tau_j - 2A_1 + A_2 + \sigma_\xi^2 B_2,\\
    A_1 &= -\tfrac{1}{2\pi i}\oint g_t(z)\, z \textstyle\sum_j \tau_j q_j\, dz,\quad
    A_2 = \big(\tfrac{1}{2\pi i}\big)^2\oint\!\oint g_1 g_2\, z_1 z_2 F_{12} \textstyle\sum_j\tau_j q_{1j}q_{2j},\\
    B_2 &= \big(\tfrac{1}{2\pi i}\big)^2\oint\!\oint g_1 g_2\, \tfrac{z_1+z_2}{2} F_{12}\,
          \gamma_K\textstyle\sum_j\rho_j c_j q_{1j} q_{2j},\\
    E_{train}(t) &= -\tfrac{1}{2\pi i}\oint r_t(z)^2\big[z\textstyle\sum_j\tau_j q_j/c_j
          + \sigma_\xi^2\gamma_K\sum_j\rho_j q_j\big]dz + \sigma_\xi^2 (1 - m_c),

``m_c = min(1, K_eff/P)`` the fraction of non-zero eigenvalues (computed by the same contour
integral of ``gamma_K sum rho q``). Every integrand above is regular at ``z = 0`` (the null space
of ``H`` when K > P enters only through ``z Q(z)``), so the contour encloses the continuous
spectrum of ``H`` *and excludes 0*. This is what makes late times cheap and exact: on the
contour ``Re z > 0``, so ``|e^{-zt}| <= 1`` for every t, including ``t = 10^6`` and ``t = inf``.

**How it is evaluated.** The continuous spectrum of ``H`` lies in
``[c_min (1 - sqrt g)^2, c_max (1 + sqrt g)^2]`` (``g = K_eff/P``; from ``c_min S <= H <= c_max S``
with ``S`` the white sample covariance and its Bai-Yin edges ``(1 -/+ sqrt g)^2``). The contour is
``z = exp(w)``, ``w`` an
ellipse around ``[log lo - 0.7, log hi + 0.7]`` with imaginary half-axis 1 (so
``|arg z| <= 1 < pi/2``); the trapezoid rule on ``n_contour`` equispaced angles (offset by half a
step, so no node is on the real axis) converges geometrically (``n_contour`` doubled changes the
errors by < 1e-9, tested). ``delta(z)`` is solved at every node in the bounded variable
``m = z(1+delta)``, where the equation is explicit, ``z = m (1 - gamma_K sum_j rho_j c_j/(c_j - m))``,
by Newton's method continued along the contour from its rightmost node; the branch is the
Stieltjes one (``Im m > 0`` for ``Im z > 0``), checked at every node with a residual < 1e-10
(nodes in the lower half are the conjugates). The
population spectrum uses the tanh-sinh Marchenko-Pastur nodes of
:class:`idealnets.theory.spectra.MarchenkoPastur`. All kernels (M x M over the contour nodes) are formed
once; each time then costs one quadratic form, so ``t = 10^12`` costs what ``t = 10`` does.

At the interpolation threshold ``K_eff = P`` (``|K_eff/P - 1| < THRESHOLD_GAP``) the spectrum
touches 0; then the contour is shifted left by ``1/t_max`` (``t_max`` the largest finite time
asked for), which keeps ``|e^{-zt}| <= e`` for every ``t <= t_max``, and ``t = inf`` without ridge
returns ``inf`` (test) and ``0`` (train).

**Limits tied to tests.** ``t = 0``: both errors ``1 + 1/snr``. Linear activation
(``mu1 = 1, mu* = 0``) with ``psi1 -> inf`` is :class:`~idealnets.theory.generalization.LinearStudentTheory`
(``alpha = psi2``, ``sigma_0 = 0``) at every t; nonlinear activations with ``psi1 -> inf`` and
``t = inf`` give the linear student's ridge error at weight decay ``mu*^2/mu1^2`` (kernel
limit); ``ridge -> 0`` and ``t -> inf`` are continuous; the trained networks of
:mod:`idealnets.simulate.random_features` approach the theory as N grows.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import optimize, special

from .spectra import marchenko_pastur
from .validation import as_choice, as_float, as_int, as_times

__all__ = [
    "ACTIVATIONS",
    "activation_function",
    "GaussianEquivalent",
    "gaussian_equivalent_coefficients",
    "gaussian_equivalent_quadrature",
    "RandomFeaturesTheory",
]

ACTIVATIONS = ("relu", "erf", "tanh", "linear")

N_CONTOUR = 192  #: default trapezoid nodes on the contour (doubling changes errors by < 1e-9)
#: largest ``n_contour`` accepted: the kernels are (M, M) complex with M = 4 n_contour at the interpolation
#: threshold, so 1024 takes ~9 s and ~2.3 GB there (0.8 s off it); the errors converged long before
N_CONTOUR_MAX = 1024
CONTOUR_MARGIN = 0.7  #: contour passes e^{0.7} ~ 2x beyond each spectral bound (in log z)
CONTOUR_HEIGHT = 1.0  #: imaginary half-axis of the ellipse in w = log z (|arg z| <= 1)
THRESHOLD_GAP = 1e-6  #: |K_eff/P - 1| below this counts as the interpolation threshold
#: largest ``psi1`` and ``psi2`` accepted: beyond ~1e12 the contour integrals lose their digits (at 1e200
#: the fixed-point solver fails); the errors have long reached the ``psi -> inf`` limits there (1e8 and
#: 1e12 agree to ~1e-6)
PSI_MAX = 1e12
HERMITE_NODES = 160  #: Gauss-Hermite nodes for mu0, mu1, mu* (tanh: changes by < 1e-14 to 180 nodes)


# ---------------------------------------------------------------- activations
def activation_function(activation: str):
    """The activation ``sigma`` as a NumPy function: relu ``max(0, z)``, erf ``erf(z/sqrt 2)``
    (the committee convention of docs: Conventions, "Online SGD in committee machines"), tanh, linear ``z``."""
    activation = as_choice(activation, "activation", ACTIVATIONS)
    return {
        "relu": lambda z: np.maximum(z, 0.0),
        "erf": lambda z: special.erf(np.asarray(z) / np.sqrt(2.0)),
        "tanh": np.tanh,
        "linear": lambda z: np.asarray(z, dtype=float) * 1.0,
    }[activation]


class GaussianEquivalent(NamedTuple):
    """``mu0 = E sigma(G)``, ``mu1 = E G sigma(G)``, ``mu_star = sqrt(E sigma^2 - mu0^2 - mu1^2)``, G ~ N(0,1)."""

    mu0: float
    mu1: float
    mu_star: float


def gaussian_equivalent_quadrature(activation: str, nodes: int = HERMITE_NODES) -> GaussianEquivalent:
    """``(mu0, mu1, mu*)`` by Gauss-Hermite quadrature (probabilists' weight, ``nodes`` points).

    Exact for polynomials of degree < 2 nodes. For relu the kink at 0 limits it to first order in
    1/nodes: at the default 160 nodes the errors are 1.0e-3 in mu0 and 1.4e-3 in mu* (about
    0.16/nodes and 0.22/nodes; mu1 is exact to rounding); relu's closed forms are in
    :func:`gaussian_equivalent_coefficients`, which is what the theory uses (tanh, smooth, is the
    one activation that needs this quadrature)."""
    sig = activation_function(activation)
    nodes = as_int(nodes, "nodes", low=2, high=180)  # NumPy's weights overflow beyond ~180
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / np.sqrt(2 * np.pi)
    s = sig(x)
    mu0, mu1, m2 = w @ s, w @ (x * s), w @ (s * s)
    return GaussianEquivalent(float(mu0), float(mu1), float(np.sqrt(max(m2 - mu0**2 - mu1**2, 0.0))))


def gaussian_equivalent_coefficients(activation: str) -> GaussianEquivalent:
    r"""Coefficients of the Gaussian-equivalent feature ``mu0 + mu1 G + mu* Z`` (Mei & Montanari 2019).

    Closed forms (ours, elementary Gaussian integrals):

    * relu: ``mu0 = 1/sqrt(2 pi)``, ``mu1 = 1/2``, ``E sigma^2 = 1/2`` so ``mu*^2 = 1/4 - 1/(2 pi)``;
    * erf (``erf(z/sqrt 2)``): ``mu0 = 0``, ``mu1 = 1/sqrt(pi)``, ``E sigma^2 = (2/pi) arcsin(1/2) = 1/3``,
      ``mu*^2 = 1/3 - 1/pi``;
    * linear: ``(0, 1, 0)``;
    * tanh: Gauss-Hermite quadrature (:func:`gaussian_equivalent_quadrature`, smooth integrand).
    """
    activation = as_choice(activation, "activation", ACTIVATIONS)
    if activation == "relu":
        return GaussianEquivalent(1 / np.sqrt(2 * np.pi), 0.5, float(np.sqrt(0.25 - 0.5 / np.pi)))
    if activation == "erf":
        return GaussianEquivalent(0.0, 1 / np.sqrt(np.pi), float(np.sqrt(1 / 3 - 1 / np.pi)))
    if activation == "linear":
        return GaussianEquivalent(0.0, 1.0, 0.0)
    return gaussian_equivalent_quadrature(activation)


# ---------------------------------------------------------------- contour machinery
@dataclass
class _Contour:
    z: np.ndarray  # (M,) complex nodes
    wt: np.ndarray  # (M,) weights: sum_k wt_k f(z_k) ~ -(1/2 pi i) oint f dz
    delta: np.ndarray  # (M,)
    q: np.ndarray  # (M, L)


def _solve_delta(z: np.ndarray, c: np.ndarray, rho: np.ndarray, gam: float) -> np.ndarray:
    """``delta(z) = gam sum_j rho_j c_j / (c_j/(1+delta) - z)`` at nodes with ``Im z > 0``, ordered along the contour.

    Solved in the bounded variable ``m = z (1 + delta)``, for which the equation is explicit in z,
    ``z = m (1 - gam sum_j rho_j c_j / (c_j - m))`` (Silverstein & Choi 1995 in these variables), by
    Newton's method continued node to node from the rightmost node (where ``m ~ z``). ``m = -1/m~``
    with ``m~`` the Stieltjes transform of the limiting spectrum of ``U^T U``, so the right branch has
    ``Im m > 0``; that and a residual < 1e-10 are checked at every node."""
    rc = rho * c

    def h(m, zz):
        return m * (1.0 - gam * np.sum(rc / (c - m))) - zz

    def dh(m):
        return 1.0 - gam * np.sum(rc * c / (c - m) ** 2)

    out = np.empty(z.shape, dtype=complex)
    m = complex(z[0])
    for i, zz in enumerate(z):
        for _ in range(100):
            step = h(m, zz) / dh(m)
            m_new = m - step
            while m_new.imag <= 0:  # keep to the upper half plane (the Stieltjes branch)
                step *= 0.5
                m_new = m - step
                if abs(step) < 1e-300:
                    break
            m = m_new
            if abs(step) < 1e-15 * (1.0 + abs(m)):
                break
        out[i] = m
    res = np.array([abs(h(mi, zi)) / (1.0 + abs(zi)) for mi, zi in zip(out, z)])
    if not (np.all(np.isfinite(out)) and res.max() < 1e-10 and np.all(out.imag > 0)):
        raise RuntimeError("the deterministic-equivalent equation for delta(z) did not converge to the "
                           f"Stieltjes branch (max residual {res.max():.2g}); increase n_contour")
    return out / z - 1.0


class RandomFeaturesTheory:
    r"""Test and training error of random-features regression under gradient flow (module docstring).

    Parameters
    ----------
    psi1 : ``K/N`` features per input dimension (> 0, at most :data:`PSI_MAX` = 1e12).
    psi2 : ``P/N`` samples per input dimension (> 0, at most :data:`PSI_MAX`).
    activation : ``"relu"``, ``"erf"`` (``erf(z/sqrt 2)``), ``"tanh"`` or ``"linear"``.
    snr : ``1/sigma_eps^2`` with teacher output variance 1 (> 0; ``np.inf`` = no label noise).
    ridge : weight decay ``gamma >= 0`` on ``a = sqrt(K) v`` in the sum loss (module docstring).
    n_contour : trapezoid nodes on the contour (default :data:`N_CONTOUR`), an integer in
        ``[16, N_CONTOUR_MAX]`` (:data:`N_CONTOUR_MAX` = 1024 bounds time and memory; ValueError beyond).

    Notes
    -----
    ``test_error(t)`` / ``train_error(t)`` take times of any shape (``np.inf`` = converged) and
    return that shape. At the interpolation threshold (``K_eff = P``) without ridge the
    converged (``t = inf``) test error is ``inf``, the double-descent peak (the limit ridge -> 0),
    when the effective noise ``1 + sigma_eps^2 - explained`` (label noise plus what the features
    cannot express) is positive, else 0;
    the training error is 0 there. Asymptotic in ``N, K, P -> inf`` at fixed ratios; finite-size corrections
    are O(N^{-1/2}) per draw (measured in ``tests/test_random_features.py``).
    """

    def __init__(self, psi1, psi2, activation: str = "relu", snr=4.0, ridge=0.0, *, n_contour: int = N_CONTOUR):
        self.psi1 = as_float(psi1, "psi1 (= K/N)", low=0.0, high=PSI_MAX, open_low=True)
        self.psi2 = as_float(psi2, "psi2 (= P/N)", low=0.0, high=PSI_MAX, open_low=True)
        self.activation = as_choice(activation, "activation", ACTIVATIONS)
        self.snr = as_float(snr, "snr", low=0.0, open_low=True, allow_inf=True)
        self.ridge = as_float(ridge, "ridge", low=0.0)
        self.n_contour = as_int(n_contour, "n_contour", low=16, high=N_CONTOUR_MAX)
        self.n_contour += self.n_contour % 2
        self.sigma_eps2 = 0.0 if np.isinf(self.snr) else 1.0 / self.snr
        self.coefficients = gaussian_equivalent_coefficients(self.activation)
        _, mu1, mus = self.coefficients
        # population spectrum of W W^T / N: psi1 * MP(1/psi1) plus an atom at 0 when K > N
        mp = marchenko_pastur(1.0 / self.psi1)
        lam, wl = mp.nodes()
        s = np.concatenate([self.psi1 * lam, [0.0]])
        rho = np.concatenate([wl, [mp.atom]])
        omega = mus**2 + mu1**2 * s
        keep = (omega > 0) & (rho > 0)
        s, rho, omega = s[keep], rho[keep], omega[keep]
        self._rho = rho
        self._c = (self.psi2 / self.psi1) * omega
        self._tau = self.psi1 * mu1**2 * rho * s / omega
        self.gamma = self.psi1 / self.psi2
        #: fraction of samples that the features can span, ``min(K_eff, P)/P`` with ``K_eff = K rho_kept``
        self.gamma_eff = self.gamma * float(rho.sum())
        #: variance of y explained by the best linear readout of the (Gaussian-equivalent) features
        self.explained = float(self._tau.sum())
        #: effective noise: label noise plus the part of the teacher the features cannot express
        self.sigma_xi2 = 1.0 + self.sigma_eps2 - self.explained
        ge = self.gamma_eff
        self.spectrum_bounds = (float(self._c.min() * (1 - np.sqrt(ge)) ** 2),
                                float(self._c.max() * (1 + np.sqrt(ge)) ** 2))
        self.at_threshold = abs(ge - 1.0) < THRESHOLD_GAP
        self._main = None if self.at_threshold else self._build(0.0, *self.spectrum_bounds)
        self._cache: dict = {}

    # ------------------------------------------------------------ contours
    def _build(self, shift: float, lo: float, hi: float) -> dict:
        """Nodes, resolvent data and kernels for the contour ``z = shift + exp(w)``, ``exp(w)`` around ``[lo, hi]``."""
        M = self.n_contour if shift == 0 else 4 * self.n_contour  # threshold contours span more decades
        wl, wr = np.log(lo) - CONTOUR_MARGIN, np.log(hi) + CONTOUR_MARGIN
        a, wc = 0.5 * (wr - wl), 0.5 * (wr + wl)
        th = 2 * np.pi * (np.arange(M) + 0.5) / M
        w = wc + a * np.cos(th) + 1j * CONTOUR_HEIGHT * np.sin(th)
        ew = np.exp(w)
        z = shift + ew
        dz = ew * (-a * np.sin(th) + 1j * CONTOUR_HEIGHT * np.cos(th))
        wt = -dz / (1j * M)  # sum_k wt_k f(z_k) = -(1/2 pi i) oint f dz
        up = np.arange(M // 2)  # th in (0, pi): Im z > 0; node M-1-k is the conjugate of node k
        d_up = _solve_delta(z[up], self._c, self._rho, self.gamma)
        delta = np.concatenate([d_up, np.conj(d_up[::-1])])
        c, rho, tau, gam = self._c, self._rho, self._tau, self.gamma
        q = 1.0 / (c[None, :] / (1.0 + delta)[:, None] - z[:, None])  # (M, L)
        one = 1.0 + delta
        D = np.outer(one, one)
        F = D / (D - gam * (q * (rho * c * c)) @ q.T)
        S_tau = (q * tau) @ q.T
        S_rc = gam * (q * (rho * c)) @ q.T
        W2 = np.outer(wt, wt)
        return dict(
            z=z, wt=wt, delta=delta,
            A1=wt * z * (q @ tau),
            KA=W2 * np.outer(z, z) * F * S_tau,
            KB=W2 * 0.5 * (z[:, None] + z[None, :]) * F * S_rc,
            TR=wt * (z * (q @ (tau / c)) + self.sigma_xi2 * gam * (q @ rho)),
            mass=float(np.real(wt @ (gam * (q @ rho)))),
        )

    def _contour_for(self, t_ref: float) -> dict:
        """The fixed contour, or at the threshold one shifted left by ``1/t_ref`` (cached), valid for
        every finite ``t <= t_ref`` (there ``|e^{-zt}| <= e``)."""
        if not self.at_threshold:
            return self._main
        shift = -1.0 / t_ref if np.isfinite(t_ref) else -0.5 * self.ridge
        if shift not in self._cache:
            self._cache[shift] = self._build(shift, abs(shift), self.spectrum_bounds[1] + abs(shift))
        return self._cache[shift]

    def _g(self, z, t):
        zg = z + self.ridge
        if np.isinf(t):
            return 1.0 / zg
        return -np.expm1(-zg * t) / zg

    # ------------------------------------------------------------ errors
    def _errors(self, t, t_ref: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        t = as_times(t)
        flat = t.ravel()
        test = np.empty(flat.shape)
        train = np.empty(flat.shape)
        fin = flat[np.isfinite(flat)]
        if t_ref is None:
            t_ref = float(fin.max()) if fin.size else np.inf
        for i, ti in enumerate(flat):
            if ti == 0:
                test[i] = train[i] = 1.0 + self.sigma_eps2
                continue
            if self.at_threshold and np.isinf(ti) and self.ridge == 0:
                test[i] = np.inf if self.sigma_xi2 > 0 else 0.0
                train[i] = 0.0
                continue
            if self.at_threshold and np.isinf(ti) and self.ridge > 0:
                C = self._contour_for(np.inf)
            else:
                C = self._contour_for(t_ref)
            g = self._g(C["z"], ti)
            r = 1.0 - C["z"] * g
            A1 = np.sum(g * C["A1"])
            A2 = g @ C["KA"] @ g
            B2 = g @ C["KB"] @ g
            test[i] = np.real(self.sigma_xi2 + self.explained - 2 * A1 + A2 + self.sigma_xi2 * B2)
            train[i] = np.real(np.sum(r * r * C["TR"])) + self.sigma_xi2 * (1.0 - C["mass"])
        return test.reshape(t.shape), np.maximum(train, 0.0).reshape(t.shape)

    def test_error(self, t) -> np.ndarray:
        r"""``E_g(t) = E[(y - f(x))^2]`` on a fresh sample, label noise included; shape ``t.shape``."""
        return self._errors(t)[0]

    def train_error(self, t) -> np.ndarray:
        r"""``E_train(t) = (1/P) sum_mu (y_mu - f(x_mu))^2``; shape ``t.shape``."""
        return self._errors(t)[1]

    def errors(self, t) -> tuple[np.ndarray, np.ndarray]:
        """``(test_error(t), train_error(t))`` in one pass."""
        return self._errors(t)

    @property
    def continuous_mass(self) -> float:
        """Fraction ``min(1, K_eff/P)`` of non-zero eigenvalues of ``U^T U``, from the contour integral."""
        if self.at_threshold:
            return 1.0
        return self._main["mass"]

    def optimal_stopping_time(self, t_min: float = 1e-3, t_max: float = 1e9) -> float:
        """``argmin_t E_g(t)`` over ``[t_min, t_max]`` (log grid of 121 points, then Brent in log t)."""
        t_min = as_float(t_min, "t_min", low=0.0, open_low=True)
        t_max = as_float(t_max, "t_max", low=t_min, open_low=True)
        grid = np.logspace(np.log10(t_min), np.log10(t_max), 121)
        e = self._errors(grid, t_ref=t_max)[0]
        i = int(np.argmin(e))
        if i in (0, grid.size - 1):
            return float(grid[i])
        res = optimize.minimize_scalar(lambda lt: float(self._errors(np.exp(lt), t_ref=t_max)[0]),
                                       bracket=(np.log(grid[i - 1]), np.log(grid[i]), np.log(grid[i + 1])),
                                       tol=1e-10)
        return float(np.exp(res.x))

    def optimal_early_stopping_error(self) -> float:
        """``E_g`` at :meth:`optimal_stopping_time`."""
        return float(self.test_error(self.optimal_stopping_time()))
