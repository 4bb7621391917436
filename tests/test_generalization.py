"""Tests of theory.generalization against closed forms, direct integration, exact finite-N
solutions and trained students (docs: Conventions, "Teacher-student generalisation")."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import integrate

from idealnets.theory.generalization import (
    DeepLinearStudentTheory,
    LinearStudentTheory,
    converged_test_error,
    converged_train_error,
    finite_size_errors,
    marchenko_pastur,
    mode_weight_error,
)
from idealnets.simulate._common import DivergenceError
from idealnets.simulate.generalization import (
    sample_data,
    stable_lr,
    train_deep_linear,
    train_linear,
    train_relu,
)

# Quadrature: tanh-sinh on the Marchenko-Pastur law is exact to rounding for these smooth
# integrands; 1e-9 leaves room for the near-singular 1/lambda^2 at alpha = 1 +- 0.01.
RTOL_QUAD = 1e-9
# Exact GD solution vs stepped GD: the same arithmetic up to float64 rounding.
RTOL_EXACT = 1e-10
# Finite-N fluctuations: measured sd of E_g over data sets at N = 200 is <= 0.06 relative
# (frozen-subspace and noise projections fluctuate ~ sqrt(2/N)); averaged over 12 draws the
# mean is within ~0.02, finite-N bias is O(1/N) ~ 0.01. Tolerance = 4 standard errors.
RTOL_FINITE_N = 0.07
# Monte-Carlo eigenvalue moments of 20 matrices N = 300: relative standard error < 0.01.
RTOL_MP_MOMENTS = 0.03
# Large-N check: deviation of the mean of 8 draws within N_SEM measured standard errors,
# plus RTOL_BIAS_LARGE_N for the O(1/N) bias.
N_SEM = 4.0
RTOL_BIAS_LARGE_N = 0.01
# Kolmogorov distance of 20 x 300 sampled eigenvalues from the MP CDF (edge effects O(N^-2/3)).
ATOL_MP_CDF = 0.02

SE = 0.5
ALPHAS = (0.5, 2.0)


# ------------------------------------------------------------------ Marchenko-Pastur
@pytest.mark.parametrize("alpha", [0.3, 0.9, 0.99, 1.0, 1.01, 2.0, 4.0])
def test_mp_quadrature_moments(alpha):
    mp = marchenko_pastur(alpha)
    lam, w = mp.nodes()
    # mass min(1, alpha); mean tr(XX^T)/N = alpha; second moment alpha + alpha^2
    np.testing.assert_allclose(w.sum(), min(1.0, alpha), rtol=RTOL_QUAD)
    np.testing.assert_allclose(w @ lam, alpha, rtol=RTOL_QUAD)
    np.testing.assert_allclose(w @ lam**2, alpha + alpha**2, rtol=RTOL_QUAD)
    if alpha != 1.0:  # <1/lambda>: 1/(alpha-1) above, alpha/(1-alpha) (continuous part) below
        expect = 1 / (alpha - 1) if alpha > 1 else alpha / (1 - alpha)
        np.testing.assert_allclose(w @ (1 / lam), expect, rtol=1e-8)


def test_mp_density_vs_scipy_quad():
    mp = marchenko_pastur(0.6)
    f = lambda l: np.exp(-3 * l) / (l + 0.1)  # noqa: E731
    ref, _ = integrate.quad(lambda l: mp.density(l) * f(l), mp.lam_minus, mp.lam_plus, epsabs=1e-13, limit=200)
    np.testing.assert_allclose(mp.expect(f), ref, rtol=1e-9)


def test_mp_against_sampled_eigenvalues(rng):
    N, alpha = 300, 0.5
    P = int(alpha * N)
    ev = np.concatenate([np.linalg.eigvalsh(X @ X.T) for X in rng.standard_normal((20, N, P)) / np.sqrt(N)])
    mp = marchenko_pastur(alpha)
    frac_zero = np.mean(ev < 1e-8)
    assert abs(frac_zero - mp.atom) < 1e-12  # exactly N - P zero eigenvalues
    nz = np.sort(ev[ev > 1e-8])
    lam, w = mp.nodes()
    np.testing.assert_allclose(nz.mean() * (1 - frac_zero), w @ lam, rtol=RTOL_MP_MOMENTS)
    np.testing.assert_allclose(np.mean(nz**2) * (1 - frac_zero), w @ lam**2, rtol=RTOL_MP_MOMENTS)
    grid = np.linspace(mp.lam_minus, mp.lam_plus, 60)
    cdf = np.array([integrate.quad(mp.density, mp.lam_minus, g)[0] for g in grid]) / mp.mass
    emp = np.searchsorted(nz, grid) / nz.size
    assert np.max(np.abs(emp - cdf)) < ATOL_MP_CDF
    assert nz.min() > 0.8 * mp.lam_minus and nz.max() < 1.1 * mp.lam_plus


# ------------------------------------------------------------------ limits and closed forms
@pytest.mark.parametrize("alpha", [0.3, 0.8, 0.99, 1.01, 1.5, 4.0])
@pytest.mark.parametrize("sigma_0", [0.0, 0.4])
def test_converged_limits(alpha, sigma_0):
    th = LinearStudentTheory(alpha, sigma_eps=SE, sigma_0=sigma_0)
    ref = converged_test_error(alpha, sigma_eps=SE, sigma_0=sigma_0)
    np.testing.assert_allclose(th.test_error(np.inf), ref, rtol=RTOL_QUAD)
    np.testing.assert_allclose(th.train_error(np.inf), converged_train_error(alpha, sigma_eps=SE), atol=1e-12)
    # the integrated dynamics approach the closed form (t -> inf limit, not only the t = inf branch)
    t_late = 1e4 / max(1e-12, (1 - np.sqrt(alpha)) ** 2)
    np.testing.assert_allclose(th.test_error(t_late), ref, rtol=1e-6)


def test_initial_values_and_alpha_one_divergence():
    for a in (0.5, 1.0, 3.0):
        th = LinearStudentTheory(a, sigma_w=1.2, sigma_eps=SE, sigma_0=0.3)
        np.testing.assert_allclose(th.test_error(0.0), 1.44 + 0.09 + SE**2, rtol=RTOL_QUAD)
        np.testing.assert_allclose(th.train_error(0.0), 1.44 + 0.09 + SE**2, rtol=RTOL_QUAD)
    th = LinearStudentTheory(1.0, sigma_eps=SE)
    assert np.isinf(th.test_error(np.inf))
    e = th.test_error(np.logspace(1, 6, 6))
    assert np.all(np.diff(e) > 0) and e[-1] > 10 * e[0]  # grows without bound ~ sqrt(t)
    # sqrt(t) growth: the lower MP edge rho ~ lambda^{-1/2} gives int rho/lambda (1-e^{-lt})^2 ~ sqrt(t)
    slope = np.diff(np.log(e - SE**2))[-2:] / np.log(10)
    np.testing.assert_allclose(slope, 0.5, atol=0.02)


def test_time_shapes_and_bad_input():
    th = LinearStudentTheory(2.0)
    t = np.ones((3, 4))
    assert th.test_error(t).shape == (3, 4) and th.train_error(t).shape == (3, 4)
    assert np.ndim(th.test_error(1.0)) == 0
    for bad in (0.0, -1.0, np.nan, np.inf):
        with pytest.raises(ValueError, match="alpha"):
            LinearStudentTheory(bad)
    for kw in ({"sigma_w": -1}, {"sigma_eps": -0.1}, {"sigma_0": -1}, {"tau": 0}):
        with pytest.raises(ValueError):
            LinearStudentTheory(1.5, **kw)
    with pytest.raises(ValueError, match="non-negative"):
        th.test_error(-1.0)
    with pytest.raises(ValueError):
        th.ridge_test_error(-0.1)
    with pytest.raises(ValueError):
        marchenko_pastur(-2)
    with pytest.raises(ValueError):
        DeepLinearStudentTheory(1.0, depth=0)
    with pytest.raises(ValueError, match="u0"):
        DeepLinearStudentTheory(1.0, depth=2, u0=0.0)


# ------------------------------------------------------------------ direct integration of the mode ODE
def test_mode_error_vs_solve_ivp():
    """Mean-square weight error of one mode, integrating the 2nd-moment ODEs of
    tau de/dt = -(lam+gamma) e - gamma wbar + sqrt(lam) eps~ (e = w - wbar)."""
    lam, gamma, sw, se, s0 = 0.7, 0.3, 1.1, 0.6, 0.4
    r = lam + gamma

    def rhs(t, m):  # m = <e^2>, <e wbar>, <e eps>
        ee, ew, eps = m
        return [2 * (-r * ee - gamma * ew + np.sqrt(lam) * eps), -r * ew - gamma * sw**2, -r * eps + np.sqrt(lam) * se**2]

    ts = np.array([0.1, 0.5, 2.0, 7.0])
    sol = integrate.solve_ivp(rhs, (0, ts[-1]), [sw**2 + s0**2, -sw**2, 0.0], t_eval=ts, rtol=1e-11, atol=1e-13)
    ref = mode_weight_error(lam, ts, sigma_w=sw, sigma_eps=se, sigma_0=s0, gamma=gamma)
    np.testing.assert_allclose(sol.y[0], ref, rtol=1e-8)


def test_test_error_vs_direct_integration():
    """The whole E_g(t) against scipy.quad of the MP density times the mode error."""
    alpha, t = 0.7, np.array([0.3, 3.0, 40.0])
    th = LinearStudentTheory(alpha, sigma_eps=SE, sigma_0=0.2)
    mp = th.mp
    for ti, e in zip(t, th.test_error(t)):
        f = lambda l: mp.density(l) * mode_weight_error(l, ti, sigma_w=1.0, sigma_eps=SE, sigma_0=0.2)  # noqa
        bulk = integrate.quad(f, mp.lam_minus, mp.lam_plus, limit=400, epsabs=1e-13)[0]
        np.testing.assert_allclose(e, bulk + mp.atom * (1 + 0.04) + SE**2, rtol=1e-8)


# ------------------------------------------------------------------ early stopping and weight decay
@pytest.mark.parametrize("alpha", [0.4, 1.0, 2.5])
def test_optimal_stopping_time_is_the_minimum(alpha):
    th = LinearStudentTheory(alpha, sigma_eps=SE)
    ts = th.optimal_stopping_time()
    grid = np.logspace(-2, 4, 2000)
    e = th.test_error(grid)
    assert th.optimal_early_stopping_error() <= e.min() + 1e-12
    np.testing.assert_allclose(ts, grid[np.argmin(e)], rtol=0.01)
    assert th.optimal_ridge_test_error() <= th.optimal_early_stopping_error() + 1e-12  # ridge is Bayes-optimal
    assert LinearStudentTheory(alpha, sigma_eps=0.0).optimal_stopping_time() == np.inf


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0])
def test_ridge_optimum_is_krogh_hertz(alpha):
    th = LinearStudentTheory(alpha, sigma_w=1.3, sigma_eps=0.7)
    res = __import__("scipy.optimize", fromlist=["x"]).minimize_scalar(
        lambda lg: float(th.ridge_test_error(np.exp(lg))), bounds=(-6, 4), method="bounded",
        options={"xatol": 1e-10})
    np.testing.assert_allclose(np.exp(res.x), 0.7**2 / 1.3**2, rtol=1e-4)


@pytest.mark.parametrize("alpha", [0.5, 3.0])
def test_weight_decay_to_zero_recovers_unregularised(alpha):
    th = LinearStudentTheory(alpha, sigma_eps=SE, sigma_0=0.0)
    g = np.array([1e-4, 1e-6, 1e-8])
    dev = np.abs(th.ridge_test_error(g) - th.test_error(np.inf))
    assert dev[-1] < 1e-7 and np.all(np.diff(dev) < 0)  # -> 0 linearly in gamma
    np.testing.assert_allclose(dev[0] / dev[1], 100, rtol=0.05)
    # the time-dependent weight-decay dynamics converge to ridge_test_error
    np.testing.assert_allclose(th.test_error(np.inf, weight_decay=0.1), th.ridge_test_error(0.1), rtol=RTOL_QUAD)
    np.testing.assert_allclose(th.test_error(1e4, weight_decay=0.1), th.ridge_test_error(0.1), rtol=1e-9)
    np.testing.assert_allclose(th.train_error(1e4, weight_decay=0.1), th.ridge_train_error(0.1), rtol=1e-9)


# ------------------------------------------------------------------ finite N
def _np(d, j=0):
    return (d.X.numpy(), d.y[..., j].numpy(), d.w_teacher[..., j].numpy(), d.w0[..., j].numpy())


def test_finite_size_errors_exact_against_trained_students(seed):
    d = sample_data(60, 90, 3, n_teachers=2, sigma_eps=[0.3, 0.8], sigma_0=0.2, seed=seed)
    lr = 0.4 * stable_lr(d)
    for gamma in (0.0, 0.2):
        run = train_linear(d, lr=lr, steps=400, record=12, weight_decay=gamma)
        for j, se in enumerate((0.3, 0.8)):
            fs = finite_size_errors(*_np(d, j), run.times, se, lr=lr, weight_decay=gamma)
            np.testing.assert_allclose(run.test_error[:, j].T, fs.test, rtol=RTOL_EXACT)
            np.testing.assert_allclose(run.train_error[:, j].T, fs.train, rtol=1e-8, atol=1e-12)


def test_linear_exact_gd_matches_stepping(seed):
    # the closed form between records is the stepped trajectory to rounding, with and without decay,
    # below, at and above alpha = 1 (alpha < 1: exact zero modes), and at lr r > 1 (a negative base)
    datas = [sample_data(40, P, 2, n_teachers=2, sigma_eps=[0.3, 0.8], sigma_0=0.2, seed=seed + i)
             for i, P in enumerate((20, 40, 90))]
    for gamma in (0.0, 0.2):
        lr = 0.9 * stable_lr(datas, gamma)
        a = train_linear(datas, lr=lr, steps=600, record=[0, 1, 7, 50, 333, 600], weight_decay=gamma)
        b = train_linear(datas, lr=lr, steps=600, record=[0, 1, 7, 50, 333, 600], weight_decay=gamma, exact=True)
        for ra, rb in zip(a, b):
            np.testing.assert_array_equal(ra.times, rb.times)
            np.testing.assert_allclose(rb.test_error, ra.test_error, rtol=1e-9)
            np.testing.assert_allclose(rb.train_error, ra.train_error, rtol=1e-8, atol=1e-12)
    with pytest.raises(TypeError):
        train_linear(datas, lr=0.01, steps=5, exact="yes")


def test_gradient_descent_approaches_gradient_flow_linearly(seed):
    d = sample_data(50, 100, 2, sigma_eps=0.5, seed=seed)
    X, y, wb, w0 = _np(d)
    lr0 = 0.4 * stable_lr(d)
    t = np.array([10 * lr0])  # a whole number of steps at lr0, lr0/2, lr0/4
    flow = finite_size_errors(X, y, wb, w0, t, 0.5).test
    gaps = [np.abs(finite_size_errors(X, y, wb, w0, t, 0.5, lr=lr0 / m).test - flow).max() for m in (1, 2, 4)]
    np.testing.assert_allclose(np.array(gaps[:-1]) / np.array(gaps[1:]), 2.0, rtol=0.1)  # O(lr)


def test_finite_size_errors_broadcast_batch(seed):
    # one X for several teachers (leading axes broadcast) equals the repeated X
    d = sample_data(30, 45, 3, n_teachers=2, sigma_eps=0.5, sigma_0=0.2, seed=seed)
    X = d.X.numpy()
    y, wb, w0 = (a.numpy().transpose(0, 2, 1) for a in (d.y, d.w_teacher, d.w0))
    t = np.array([0.5, 3.0, np.inf])
    one = finite_size_errors(X[:, None], y, wb, w0, t, 0.5)
    rep = finite_size_errors(np.repeat(X[:, None], 2, 1), y, wb, w0, t, 0.5)
    assert one.test.shape == rep.test.shape == (3, 3, 2)
    np.testing.assert_allclose(one.test, rep.test, rtol=1e-12)
    np.testing.assert_allclose(one.train, rep.train, rtol=1e-9, atol=1e-13)
    with pytest.raises(ValueError, match="shapes"):
        finite_size_errors(X[:, None], y[:2], wb, w0, 1.0, 0.5)


def test_finite_size_pseudo_inverse_limit(seed):
    d = sample_data(40, 20, 1, sigma_eps=0.5, sigma_0=0.3, seed=seed)
    X, y, wb, w0 = (a[0] for a in _np(d))
    w_inf = w0 + np.linalg.pinv(X.T) @ (y - X.T @ w0)  # min-distance interpolant from w0
    fs = finite_size_errors(X, y, wb, w0, np.inf, 0.5)
    np.testing.assert_allclose(fs.test, np.sum((w_inf - wb) ** 2) / 40 + 0.25, rtol=1e-9)
    assert fs.train < 1e-12
    with pytest.raises(ValueError, match="shapes"):
        finite_size_errors(X, y[:-1], wb, w0, 1.0, 0.5)


@pytest.mark.parametrize("alpha", ALPHAS)
def test_theory_vs_finite_size_average(alpha, seed):
    """High-dimensional theory vs the exact errors averaged over 12 data sets at N = 200."""
    N = 200
    d = sample_data(N, int(alpha * N), 12, sigma_eps=SE, sigma_0=0.2, seed=seed)
    t = np.array([0.5, 2.0, 10.0, 100.0, np.inf])
    fs = finite_size_errors(*_np(d), t, SE)
    th = LinearStudentTheory(alpha, sigma_eps=SE, sigma_0=0.2)
    np.testing.assert_allclose(fs.test.mean(-1), th.test_error(t), rtol=RTOL_FINITE_N)
    np.testing.assert_allclose(fs.train.mean(-1), th.train_error(t), rtol=RTOL_FINITE_N, atol=0.005)


def test_finite_size_deviation_shrinks_with_N(seed):
    """Typical |E_g(one data set) - theory| shrinks like 1/sqrt(N) (measured exponent)."""
    alpha, t = 0.5, np.array([1.0, 10.0])
    th = LinearStudentTheory(alpha, sigma_eps=SE)
    Ns = (50, 200)
    rms = []
    for N in Ns:
        d = sample_data(N, int(alpha * N), 24, sigma_eps=SE, seed=seed + N)
        fs = finite_size_errors(*_np(d), t, SE)
        rms.append(np.sqrt(np.mean((fs.test - th.test_error(t)[:, None]) ** 2)))
    exponent = np.log(rms[0] / rms[1]) / np.log(Ns[1] / Ns[0])
    assert 0.3 < exponent < 0.75, exponent  # 1/2 with Monte-Carlo error ~ 0.1 from 24 draws


# ------------------------------------------------------------------ trained students vs theory
def test_trained_linear_students_vs_theory(seed):
    N = 200
    datas = [sample_data(N, int(a * N), 4, n_teachers=2, sigma_eps=SE, seed=seed + i) for i, a in enumerate(ALPHAS)]
    lr = 0.1 * stable_lr(datas)  # O(lr) discretisation < 1% at t >= 1
    runs = train_linear(datas, lr=lr, steps=int(20 / lr), record=8)
    for a, run in zip(ALPHAS, runs):
        th = LinearStudentTheory(a, sigma_eps=SE)
        m = run.times >= 1.0
        np.testing.assert_allclose(run.test_error.reshape(-1, run.times.size).mean(0)[m], th.test_error(run.times[m]),
                                   rtol=RTOL_FINITE_N)


def test_divergence_names_learning_rate(seed):
    d = sample_data(30, 60, 1, seed=seed)
    with pytest.raises(DivergenceError, match="lr="):
        train_linear(d, lr=3 * stable_lr(d), steps=400, record=5)


# ------------------------------------------------------------------ deep linear students
def test_deep_depth_one_is_linear_student():
    for a in (0.5, 2.0):
        t = np.array([0.0, 0.3, 3.0, 300.0, np.inf])
        d = DeepLinearStudentTheory(a, depth=1, u0=0.0, sigma_eps=SE)
        lin = LinearStudentTheory(a, sigma_eps=SE)
        np.testing.assert_allclose(d.test_error(t), lin.test_error(t), rtol=1e-10)
        np.testing.assert_allclose(d.train_error(t), lin.train_error(t), rtol=1e-9, atol=1e-14)


def test_deep_quadrature_converged():
    import idealnets.theory.generalization as g
    a, t = 2.0, np.array([0.5, 3.0, 30.0])
    e = DeepLinearStudentTheory(a, depth=2, sigma_eps=SE).test_error(t)
    old = g.HALF_NORMAL_NODES
    try:
        g.HALF_NORMAL_NODES = 2 * old
        e2 = DeepLinearStudentTheory(a, depth=2, sigma_eps=SE).test_error(t)
    finally:
        g.HALF_NORMAL_NODES = old
    np.testing.assert_allclose(e, e2, rtol=1e-7)


def test_deep_converged_value():
    """At t = inf every mode reaches |s~|/lambda: same error as the shallow student (sigma_0 = 0)
    except the frozen subspace keeps u0."""
    for a in (0.5, 2.0):
        d = DeepLinearStudentTheory(a, depth=2, sigma_eps=SE, u0=1e-3)
        ref = converged_test_error(a, sigma_eps=SE) + max(0, 1 - a) * 1e-6
        np.testing.assert_allclose(d.test_error(np.inf), ref, rtol=1e-8)


@pytest.mark.parametrize("alpha", ALPHAS)
def test_deep_diagonal_students_vs_theory(alpha, seed):
    N = 300
    d = sample_data(N, int(alpha * N), 6, n_teachers=2, sigma_eps=SE, seed=seed)
    th = DeepLinearStudentTheory(alpha, depth=2, sigma_eps=SE, u0=1e-3)
    run = train_deep_linear(d, depth=2, lr=0.01, steps=3000, record=10, init_scale=1e-3)
    m = run.times >= 0.5
    sim = run.test_error.reshape(-1, run.times.size).mean(0)
    np.testing.assert_allclose(sim[m], th.test_error(run.times[m]), rtol=RTOL_FINITE_N)
    simtr = run.train_error.reshape(-1, run.times.size).mean(0)
    np.testing.assert_allclose(simtr[m], th.train_error(run.times[m]), rtol=RTOL_FINITE_N, atol=0.01)


def test_deep_diagonal_depth_one_equals_linear_gd(seed):
    d = sample_data(40, 80, 2, sigma_eps=SE, seed=seed)
    d.w0.zero_()
    lr = 0.3 * stable_lr(d)
    a = train_linear(d, lr=lr, steps=200, record=6)
    b = train_deep_linear(d, depth=1, lr=lr, steps=200, record=6, init_scale=1e-300)
    np.testing.assert_allclose(a.test_error, b.test_error, rtol=1e-9)


# ------------------------------------------------------------------ ReLU students
def test_relu_exact_readout_gd_matches_stepping(seed):
    d = sample_data(10, 40, 2, sigma_eps=SE, seed=seed)
    kw = dict(train_first_layer=False, steps=200, record=[0, 1, 9, 200], seed=seed)
    a = train_relu(d, [5, 40, 80], exact=False, **kw)
    b = train_relu(d, [5, 40, 80], exact=True, **kw)
    np.testing.assert_allclose(a.test_error, b.test_error, rtol=1e-9)
    np.testing.assert_allclose(a.train_error, b.train_error, rtol=1e-8, atol=1e-12)


def test_relu_test_error_formula_vs_monte_carlo(seed):
    from idealnets.simulate.generalization import relu_test_error
    g = torch.Generator().manual_seed(seed)
    N, K = 12, 7
    W = torch.randn(1, K, N, generator=g, dtype=torch.float64)
    v = torch.randn(1, K, generator=g, dtype=torch.float64)
    wb = torch.randn(1, N, generator=g, dtype=torch.float64)
    scale = torch.full((K,), K**-0.5, dtype=torch.float64)
    exact = float(relu_test_error(W, v, scale, torch.zeros(K, dtype=torch.long), 1, wb, 0.5))
    x = torch.randn(400_000, N, generator=g, dtype=torch.float64) / N**0.5
    f = torch.relu(x @ W[0].T) @ (v[0] * scale)
    mc = ((x @ wb[0] - f) ** 2)
    est, se = float(mc.mean()) + 0.25, float(mc.std()) / 400_000**0.5
    assert abs(est - exact) < 4 * se


def test_runs_share_the_engine_result_and_old_names_still_work(seed):
    """Run layout (networks = (data set, teacher) pairs) and the earlier names (E, k, R) read the same values."""
    from idealnets.simulate import Run
    from idealnets.simulate import generalization as gen

    d = sample_data(20, 30, 3, n_teachers=2, seed=seed)
    run = train_linear(d, lr=0.3 * stable_lr(d), steps=50, record=5)
    assert isinstance(run, Run) and gen.GeneralizationRun is Run
    assert run.losses.shape == (6, run.times.size) and run.state["generalization_error"].shape == run.losses.shape
    np.testing.assert_array_equal(run.train_error, run.losses.reshape(3, 2, -1))
    np.testing.assert_array_equal(run.test_error, run.state["generalization_error"].reshape(3, 2, -1))
    assert run.lr_max == stable_lr(d) and run.time_unit == "t = lr * step"
    with pytest.warns(DeprecationWarning, match="stable_lr"):
        assert gen.linear_stable_lr(d) == stable_lr(d)
    W = torch.randn(1, 4, 20, dtype=torch.float64)
    args = (W, torch.ones(1, 4, dtype=torch.float64), torch.full((4,), 0.5, dtype=torch.float64),
            torch.zeros(4, dtype=torch.long))
    wb = torch.ones(1, 20, dtype=torch.float64)
    with pytest.warns(DeprecationWarning, match="n_nets"):
        old = gen.relu_test_error(*args, n_nets=1, w_teacher=wb, sigma_eps=0.5)
    assert torch.equal(old, gen.relu_test_error(*args, 1, wb, 0.5))


def test_relu_trained_first_layer_reduces_training_error(seed):
    d = sample_data(8, 40, 2, sigma_eps=SE, seed=seed)
    run = train_relu(d, [2, 20], train_first_layer=True, steps=300, record=[0, 300], seed=seed)
    assert np.all(run.train_error[:, :, -1] < run.train_error[:, :, 0])
    assert np.all(run.train_error[:, 1, -1] < run.train_error[:, 0, -1])  # more units fit better


# ------------------------------------------------------------------ full size (make test-slow)
@pytest.mark.slow
@pytest.mark.parametrize("alpha", [0.5, 0.9, 1.5, 4.0])
def test_theory_vs_finite_size_large_N(alpha, seed):
    """N = 1000, 8 draws: |mean - theory| within 4 measured standard errors plus a 1% allowance
    for the O(1/N) finite-size bias (edge corrections near alpha = 1 included)."""
    N = 1000
    d = sample_data(N, int(alpha * N), 8, sigma_eps=SE, sigma_0=0.2, seed=seed)
    t = np.array([0.5, 2.0, 10.0, 100.0])
    fs = finite_size_errors(*_np(d), t, SE)
    th = LinearStudentTheory(alpha, sigma_eps=SE, sigma_0=0.2)
    for sim, ref in ((fs.test, th.test_error(t)), (fs.train, th.train_error(t))):
        sem = sim.std(-1, ddof=1) / np.sqrt(sim.shape[-1])  # measured standard error of the mean
        assert np.all(np.abs(sim.mean(-1) - ref) < N_SEM * sem + RTOL_BIAS_LARGE_N * ref), (sim.mean(-1), ref, sem)
