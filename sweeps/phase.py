"""Phase diagrams as parameter sweeps: the point functions and the grid sizes.

Each phase diagram is a theory grid (a heat map) and a simulation subgrid
(markers on cuts through it), both computed with :func:`idealnets.sweeps.sweep`, so
they run unchanged in one process (``processes=False``, the figures' quick
and default sizes), on a local cluster, or on a remote Dask cluster, with
every point cached and resumable. The point functions below are importable
by workers; each takes scalars and a ``seed`` and returns a dict of floats or
arrays.

The figures that draw them are ``idealnets.figures.phase.{phase_committee, phase_linear,
phase_deep_linear}``; their command line (a Dask cluster, a cache, the three sizes of
``SIZES``) is ``python -m idealnets.figures.phase NAME [--size quick|full|large]
[--scheduler ADDR] [--cache DIR] [--out DIR]``. This module computes only: it imports
neither the figures nor matplotlib.
"""
from __future__ import annotations

import math

import numpy as np

from idealnets.theory import committee as _committee
from idealnets.theory.committee_grid import CommitteeGrid
from idealnets.theory.deep_linear import learning_time
from idealnets.theory.generalization import LinearStudentTheory
from idealnets.theory.tasks import whitened_task
from idealnets.theory.validation import as_array, as_float, as_int, as_seed, as_times

__all__ = [
    "SIZES",
    "committee_initial",
    "committee_theory",
    "committee_sim",
    "linear_theory",
    "linear_sim",
    "deep_theory",
    "deep_sim",
    "escape_alpha",
]

#: Grid sizes per figure: "quick" runs in seconds in one process (the test suite), "full" is
#: ``make figures`` (well under a minute of CPU), "large" is for a cluster (minutes to hours of CPU).
SIZES = {
    "phase_committee": {
        "quick": dict(Ks=(2, 3), noises=(0.0, 0.4), n_lr=6, alpha_final=70.0, N=40, n_nets=2, sim_lr=(2, 4),
                      sim_K=(2,), K_noise=0.1, noise_K=2, sim_noise=(0.4,)),
        "full": dict(Ks=(2, 3, 4, 6), noises=(0.0, 0.15, 0.3, 0.45), n_lr=20, alpha_final=150.0, N=100,
                     n_nets=4, sim_lr=(3, 7, 11, 15), sim_K=(2, 4), K_noise=0.1, noise_K=2, sim_noise=(0.3,)),
        "large": dict(Ks=tuple(range(2, 13)), noises=tuple(np.round(np.linspace(0, 0.6, 13), 3)), n_lr=60,
                      alpha_final=500.0, N=2000, n_nets=16, sim_lr=tuple(range(4, 60, 5)), sim_K=(2, 4, 8),
                      K_noise=0.1, noise_K=2, sim_noise=(0.2, 0.5)),
    },
    "phase_linear": {
        "quick": dict(n_alpha=8, n_snr=6, N=60, n_inputs=3, sim_alpha=(0.4, 2.5), sim_snr=(1.0, 8.0)),
        "full": dict(n_alpha=24, n_snr=16, N=100, n_inputs=6, sim_alpha=(0.3, 0.6, 1.6, 2.5, 4.0),
                     sim_snr=(1.0, 4.0, 16.0)),
        "large": dict(n_alpha=80, n_snr=60, N=1000, n_inputs=32, sim_alpha=tuple(np.round(np.geomspace(0.2, 5, 12), 3)),
                      sim_snr=(0.5, 1.0, 2.0, 4.0, 8.0, 16.0)),
    },
    "phase_deep_linear": {
        "quick": dict(depths=(1, 2, 3, 4), n_scale=8, sim_depths=(1, 2, 3), sim_scales=(0.2, 0.4), n_nets=2,
                      t_cap=60.0),
        "full": dict(depths=tuple(range(1, 9)), n_scale=30, sim_depths=(1, 2, 3, 4, 5),
                     sim_scales=(0.12, 0.2, 0.3, 0.45), n_nets=4, t_cap=250.0),
        "large": dict(depths=tuple(range(1, 17)), n_scale=120, sim_depths=tuple(range(1, 11)),
                      sim_scales=tuple(np.round(np.geomspace(0.08, 0.45, 10), 4)), n_nets=16, t_cap=5000.0),
    },
}

# ---------------------------------------------------------------------------
# Committee machines: plateau length and final eps_g over (lr, K) and (lr, noise)
# ---------------------------------------------------------------------------

#: Teacher width, learning-rate range of the committee diagrams, and the initial overlaps:
#: ``R0_km = R0_BASE + R0_BIAS [k mod M == m]`` (a small deterministic asymmetry, so that
#: the plateau's escape is set by the initial condition, not by rounding), ``Q0 = 0.25 I + R0 R0^T``,
#: second layer frozen at ``v = M/K`` (the teacher is realisable by K/M copies of each unit).
COMMITTEE_M = 2
COMMITTEE_LR = (0.2, 2.6)
R0_BASE, R0_BIAS = 0.02, 0.01
#: the plateau ends when the specialisation index first exceeds this value
SPEC_THRESHOLD = 0.5
#: largest sizes the point functions accept (a ValueError names the argument beyond them): student width
#: K, learning rates per row, and the entries of the simulations' largest arrays
MAX_K = 4096
MAX_N_LR = 100_000
MAX_ENTRIES = 2**27


def committee_initial(K: int, M: int = COMMITTEE_M):
    """``(Q0, R0, v0)`` of the committee phase diagrams (see ``R0_BASE``); ``1 <= K <= MAX_K``, ``M >= 1``."""
    K = as_int(K, "K", low=1, high=MAX_K)
    M = as_int(M, "M", low=1)
    R0 = R0_BASE + R0_BIAS * (np.arange(K)[:, None] % M == np.arange(M)[None, :])
    return 0.25 * np.eye(K) + R0 @ R0.T, R0, np.full(K, M / K)


def _alpha_grid(alpha_final: float) -> np.ndarray:
    return np.concatenate([[0.0], np.geomspace(0.1, alpha_final, 80)])


def escape_alpha(alpha, Q, R) -> float:
    """First alpha at which the specialisation index (theory.committee.specialisation_index)
    exceeds ``SPEC_THRESHOLD``, linearly interpolated; NaN if never (or if the curve is NaN).

    ``alpha`` (R,) non-decreasing, ``Q`` (R, K, K), ``R`` (R, K, M) (a trajectory; NaN entries allowed:
    a diverged run has no escape)."""
    alpha = as_times(alpha, "alpha", allow_inf=False, increasing=True)
    Q = as_array(Q, "Q", ndim=3, allow_nan=True, allow_inf=True)
    R = as_array(R, "R", ndim=3, allow_nan=True, allow_inf=True)
    if alpha.ndim != 1 or Q.shape[0] != alpha.size or R.shape[0] != alpha.size or Q.shape[1:] != (R.shape[1],) * 2:
        raise ValueError(f"alpha (R,), Q (R, K, K) and R (R, K, M) must agree, got {alpha.shape}, {Q.shape}, {R.shape}")
    si = _committee.specialisation_index(Q, R)
    above = np.nonzero(si > SPEC_THRESHOLD)[0]
    if above.size == 0 or not np.isfinite(si[: above[0] + 1]).all():
        return float("nan")
    i = int(above[0])
    if i == 0:
        return float(alpha[0])
    f = (SPEC_THRESHOLD - si[i - 1]) / (si[i] - si[i - 1])
    return float(alpha[i - 1] + f * (alpha[i] - alpha[i - 1]))


def committee_theory(K: int, noise: float, n_lr: int, alpha_final: float, seed: int = 0) -> dict:
    """One row of the theory heat map: ``n_lr`` learning rates at (K, noise) in ONE CommitteeGrid integration.

    Returns ``plateau`` (n_lr,) escape times (NaN: not escaped by ``alpha_final`` or diverged),
    ``eps_final`` (n_lr,) eps_g at ``alpha_final`` (NaN where the ODE diverges), ``lr`` (n_lr,).
    The seed is unused (the ODE is deterministic).
    """
    K = as_int(K, "K", low=1, high=MAX_K)
    noise = as_float(noise, "noise", low=0.0)
    n_lr = as_int(n_lr, "n_lr", low=1, high=MAX_N_LR)
    alpha_final = as_float(alpha_final, "alpha_final", low=0.1, open_low=True)
    as_seed(seed)
    lr = np.linspace(*COMMITTEE_LR, int(n_lr))
    Q0, R0, v0 = committee_initial(int(K))
    alpha = _alpha_grid(alpha_final)
    tr = CommitteeGrid(int(K), COMMITTEE_M, lr, noise=float(noise)).integrate(alpha, Q0, R0, v0)
    plateau = np.array([escape_alpha(alpha, *tr.member(b)[:2]) for b in range(lr.size)])
    return {"lr": lr, "plateau": plateau, "eps_final": tr.eps_g[:, -1]}


def committee_sim(lr: float, K: int, noise: float, N: int, alpha_final: float, n_nets: int, seed: int) -> dict:
    """Online SGD (simulate.committee.train_from) of ``n_nets`` students started exactly at the
    theory's ``(Q0, R0)`` (orthonormal teacher, ``W0 = R0 W*  + sqrt(N) 0.5 * orthonormal complement``).

    Returns per network: ``plateau`` (escape time of the specialisation index, NaN if none),
    ``eps_final`` (eps_g at ``alpha_final`` from its measured order parameters) and ``diverged``.
    """
    import torch

    from idealnets.simulate.committee import train_from

    lr = as_float(lr, "lr", low=0.0, open_low=True)
    K = as_int(K, "K", low=1, high=MAX_K)
    noise = as_float(noise, "noise", low=0.0)
    N = as_int(N, "N", low=1)
    alpha_final = as_float(alpha_final, "alpha_final", low=0.0, open_low=True)
    E = as_int(n_nets, "n_nets", low=1)
    seed = as_seed(seed)
    M = COMMITTEE_M
    if E * N * (M + K) > MAX_ENTRIES:
        raise ValueError(f"n_nets = {E}, N = {N}, K = {K} are too large: {E * N * (M + K):.3g} weights, more than "
                         f"MAX_ENTRIES = {MAX_ENTRIES} (2^27)")
    Q0, R0, v0 = committee_initial(K)
    g = torch.Generator().manual_seed(int(seed))
    A = torch.randn(E, N, M + K, generator=g, dtype=torch.float64)
    basis, _ = torch.linalg.qr(A)  # (E, N, M+K) orthonormal columns
    Ws = basis[:, :, :M].transpose(1, 2) * math.sqrt(N)  # T = I exactly
    comp = basis[:, :, M:].transpose(1, 2) * math.sqrt(N)  # orthogonal to the teacher and to each other
    R0_t = torch.as_tensor(R0)
    W0 = R0_t @ Ws + 0.5 * comp  # Q0 = R0 R0^T + 0.25 I, R = R0 exactly
    run = train_from(W0, Ws, float(lr), float(alpha_final), v0=v0, noise=float(noise), record=60, n_test=10,
                     seed=int(seed) + 1, raise_on_divergence=False, progress_bar=False)
    plateau = np.array([escape_alpha(run.times, run.Q[e], run.R[e]) for e in range(E)])
    eps = _committee.generalisation_error(run.Q[:, -1], run.R[:, -1], np.eye(M), run.v[:, -1], np.ones(M))
    return {"plateau": plateau, "eps_final": np.asarray(eps, dtype=float), "diverged": run.diverged.astype(float)}


# ---------------------------------------------------------------------------
# Linear teacher-student: test error at the optimal stopping time and at convergence over (alpha, SNR)
# ---------------------------------------------------------------------------

LINEAR_ALPHA = (0.15, 5.0)
LINEAR_SNR = (0.25, 32.0)


def linear_theory(alpha: float, snr: float, seed: int = 0) -> dict:
    """``E_g(t*)``, ``E_g(inf)`` and ``t*`` of theory.generalization.LinearStudentTheory
    (sigma_w = 1, sigma_eps = 1/sqrt(SNR), sigma_0 = 0)."""
    alpha = as_float(alpha, "alpha", low=0.0, open_low=True)
    snr = as_float(snr, "snr", low=0.0, open_low=True)
    as_seed(seed)
    th = LinearStudentTheory(float(alpha), sigma_w=1.0, sigma_eps=1.0 / math.sqrt(float(snr)))
    t_star = th.optimal_stopping_time()
    return {"E_stop": float(th.test_error(t_star)), "E_conv": float(th.test_error(np.inf)), "t_stop": float(t_star)}


def linear_sim(alpha: float, snr: float, N: int, n_inputs: int, seed: int) -> dict:
    """Full-batch GD of linear students (simulate.generalization.train_linear) on ``n_inputs`` data sets.

    Returns the data-set mean test error at its minimum over time (``E_stop``, the best early-stopping
    error of the mean curve, comparable with theory's E_g(t*)) and at convergence (``E_conv``: trained
    to t = 20 / smallest non-zero eigenvalue of X X^T, where every mode has converged to < e^-20),
    with their standard errors over data sets.
    """
    import torch

    from idealnets.simulate.generalization import sample_data, stable_lr, train_linear

    alpha = as_float(alpha, "alpha", low=0.0, open_low=True)
    snr = as_float(snr, "snr", low=0.0, open_low=True)
    N = as_int(N, "N", low=1)
    n_inputs = as_int(n_inputs, "n_inputs", low=1)
    seed = as_seed(seed)
    if N * max(1.0, alpha * N) * n_inputs > MAX_ENTRIES:
        raise ValueError(f"N = {N}, alpha = {alpha:g}, n_inputs = {n_inputs} are too large: N x P x n_inputs = "
                         f"{N * max(1.0, alpha * N) * n_inputs:.3g} inputs, more than MAX_ENTRIES = {MAX_ENTRIES} "
                         "(2^27)")
    P = max(1, int(round(float(alpha) * N)))
    data = sample_data(N, P, int(n_inputs), sigma_w=1.0, sigma_eps=1.0 / math.sqrt(float(snr)), device="cpu",
                       seed=int(seed))
    ev = torch.linalg.eigvalsh(data.X @ data.X.transpose(1, 2))
    lam_min = float(ev[ev > 1e-9 * ev.max()].min())
    lr = 0.25 * stable_lr(data)  # lr * lambda_max = 0.5: GD's minimum over t within ~1% of gradient flow's
    steps = int(min(60_000, math.ceil(20.0 / lam_min / lr)))
    run = train_linear(data, lr=lr, steps=steps, record=120)
    curves = run.test_error[:, 0, :]  # (n_inputs, R)
    mean = curves.mean(0)
    i = int(np.argmin(mean))
    se = lambda x: float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else 0.0  # noqa: E731
    return {"E_stop": float(mean[i]), "E_stop_se": se(curves[:, i]), "E_conv": float(mean[-1]),
            "E_conv_se": se(curves[:, -1]), "t_stop": float(run.times[i])}


# ---------------------------------------------------------------------------
# Deep linear networks: learning time over (depth, initial scale)
# ---------------------------------------------------------------------------

#: singular values of the task (whitened input, Syx = diag(S)); the learning time is that of the top mode
DEEP_S = (1.0, 0.5)
DEEP_SCALE = (0.05, 0.45)
#: gradient-descent learning rate of the trained networks (time t = lr * steps): small against the
#: stable limit, so GD follows gradient flow to O(lr) (checked in tests/test_deep_linear.py)
DEEP_LR = 0.05
MAX_DEPTH = 1000  #: deepest network of the deep-linear diagram's point functions
MAX_DEEP_STEPS = 10**7  #: most gradient-descent steps deep_sim takes (t_cap / DEEP_LR at most)


def deep_theory(depth: int, scale: float, seed: int = 0) -> dict:
    """Time for the top mode (s = DEEP_S[0]) to reach half its final strength from u0 = scale^depth
    (theory.deep_linear.learning_time; decoupled, balanced initial condition with per-layer scale ``scale``)."""
    depth = as_int(depth, "depth", low=1, high=MAX_DEPTH)
    scale = as_float(scale, "scale", low=0.0, open_low=True)
    as_seed(seed)
    s = DEEP_S[0]
    u0 = float(scale) ** int(depth)
    return {"t_learn": float(learning_time(s, u0, 0.5 * s, depth=int(depth)))}


def deep_sim(depth: int, scale: float, n_nets: int, t_cap: float, seed: int) -> dict:
    """Full-batch GD (simulate.deep_linear.train, ``init="decoupled"``, product strength scale^depth) of
    ``n_nets`` depth-``depth`` networks of width 2 on a whitened 2-mode task; the time at which the
    top mode's strength ``U_1^T W_D...W_1 V_1`` first reaches s/2 (interpolated in log t). Trained to
    1.5 times the predicted time plus 1 (at most ``t_cap``); NaN if the crossing is not reached.
    """
    from idealnets.simulate.deep_linear import train

    D = as_int(depth, "depth", low=1, high=MAX_DEPTH)
    scale = as_float(scale, "scale", low=0.0, open_low=True)
    n_nets = as_int(n_nets, "n_nets", low=1)
    t_cap = as_float(t_cap, "t_cap", low=0.0, open_low=True, high=MAX_DEEP_STEPS * DEEP_LR)
    seed = as_seed(seed)
    P = len(DEEP_S)
    rng = np.random.default_rng(int(seed) + 1000)
    U = np.linalg.qr(rng.normal(size=(P, P)))[0]  # drawn here (plain QR): the points' random stream
    X, Y = whitened_task(P, P, DEEP_S, U=U, V=np.eye(P), inputs="identity")  # Sxx = I, Syx = U diag(S) I
    # run to 1.5x the predicted time (+1), at most t_cap: the crossing itself is measured, not assumed
    t_run = min(float(t_cap), 1.5 * deep_theory(D, scale)["t_learn"] + 1.0)
    steps = int(math.ceil(t_run / DEEP_LR))
    run = train(X, Y, D, P, int(n_nets), "decoupled", float(scale) ** D, DEEP_LR, steps, record=200, seed=int(seed))
    u = np.einsum("i,erij,j->er", U[:, 0], run.maps, np.eye(P)[:, 0])  # (E, R)
    half = 0.5 * DEEP_S[0]
    t_learn = np.full(u.shape[0], np.nan)
    # not theory.measures.crossing_time(log_times=True): linear in t when t0 = 0, and its digits differ
    for e in range(u.shape[0]):
        above = np.nonzero(u[e] >= half)[0]
        if above.size and above[0] > 0:
            i = int(above[0])
            t0, t1 = run.times[i - 1], run.times[i]
            f = (half - u[e, i - 1]) / (u[e, i] - u[e, i - 1])
            t_learn[e] = t0 + f * (t1 - t0) if t0 == 0 else math.exp(math.log(t0) + f * math.log(t1 / t0))
    return {"t_learn": t_learn}
