"""Perturbation learning: exact expected learning curves vs simulated ensembles, optimal lr, scaling."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from idealnets.simulate.engine import Run
from idealnets.simulate.perturbation import PerturbationRun, train_perturbation
from idealnets.theory.perturbation import (
    RULES,
    asymptotic_error,
    contraction,
    learning_curve,
    stable_lr,
    noise_factor,
    noise_floor,
    optimal_learning_rate,
    steps_to_error,
)

# The recursion is exact for the ensemble mean, so the only gap is Monte-Carlo: the mean of
# E networks has standard error sd/sqrt(E). Over ~8 recording points x 3 rules a 4-SE bound
# fails by chance with probability < 1e-3.
N_SE = 4.0
E = 300


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("sigma", [1e-3, 0.3])
def test_learning_curve_matches_simulation_within_standard_errors(rule, sigma, seed):
    rng = np.random.default_rng(seed)
    M, N = 3, 6
    W_star = rng.standard_normal((M, N))
    W0 = np.zeros((E, M, N))
    lr = 0.7 * optimal_learning_rate(rule, N, M)
    steps = int(3 * noise_factor(rule, N, M))
    run = train_perturbation(W0, W_star, rule=rule, lr=lr, steps=steps, sigma=sigma, record=8, seed=seed)
    eps0 = 0.5 * np.sum(W_star**2)
    th = learning_curve(run.steps, rule=rule, n_in=N, n_out=M, lr=lr, eps0=eps0, sigma=sigma)
    mean, se = run.losses.mean(0), run.losses.std(0, ddof=1) / np.sqrt(E)
    assert mean[0] == pytest.approx(eps0, rel=1e-12)
    z = np.abs(mean[1:] - th[1:]) / se[1:]
    assert np.all(z < N_SE), z


def test_noise_floor_reached_by_simulation(seed):
    """Large sigma: the error settles at eps_inf = lr nu / (2 - lr kappa), not at 0."""
    rng = np.random.default_rng(seed)
    M, N, rule, sigma = 2, 4, "node", 0.5
    lr = optimal_learning_rate(rule, N, M)
    W_star = rng.standard_normal((M, N))
    run = train_perturbation(np.zeros((E, M, N)), W_star, rule=rule, lr=lr, steps=600, sigma=sigma,
                             record=[0, 400, 500, 600], seed=seed)
    e_inf = asymptotic_error(rule, N, M, lr, sigma)
    assert e_inf > 0
    late = run.losses[:, 1:].mean(1)  # average over the stationary part
    # ~3 nearly independent draws per network -> se of the mean of E of them
    se = late.std(ddof=1) / np.sqrt(E)
    th = learning_curve(np.array([400, 500, 600]), rule=rule, n_in=N, n_out=M, lr=lr,
                        eps0=0.5 * np.sum(W_star**2), sigma=sigma).mean()
    assert abs(th - e_inf) < 0.01 * e_inf  # the transient is over
    assert abs(late.mean() - th) < N_SE * se


def test_optimal_rate_scaling_and_limits():
    N, M = 10, 4
    for rule in RULES:
        kappa = noise_factor(rule, N, M)
        lrs = np.linspace(0.05, 1.95, 400) / kappa
        rho = [contraction(rule, N, M, lr) for lr in lrs]
        assert lrs[int(np.argmin(rho))] == pytest.approx(optimal_learning_rate(rule, N, M), rel=0.01)
        assert contraction(rule, N, M, 1 / kappa) == pytest.approx(1 - 1 / kappa, rel=1e-14)
        # steps to 1% at lr*: ln(0.01)/ln(1 - 1/kappa) ~ kappa ln 100
        k = steps_to_error(0.01, rule=rule, n_in=N, n_out=M)
        assert k == pytest.approx(np.log(0.01) / np.log(1 - 1 / kappa), rel=1e-12)
        assert k / (kappa * np.log(100)) == pytest.approx(1.0, rel=1 / kappa + 1e-3)
        # t = 0 and t = inf
        assert learning_curve(0, rule=rule, n_in=N, n_out=M, lr=1 / kappa, eps0=2.0) == pytest.approx(2.0)
        assert learning_curve(np.inf, rule=rule, n_in=N, n_out=M, lr=1 / kappa, eps0=2.0, sigma=0.1) == \
            pytest.approx(asymptotic_error(rule, N, M, 1 / kappa, 0.1))
    # GD ~ N, node ~ M N, weight ~ M N^2
    assert noise_factor("gd", N, M) == N + 2
    assert noise_factor("node", N, M) == (M + 2) * (N + 2)
    assert noise_factor("weight", N, M) == (M * N + 2) * (N + 2)
    assert noise_floor("gd", N, M, 1.0) == 0.0


def test_bad_input_raises():
    with pytest.raises(ValueError, match="sigma"):
        noise_floor("node", 3, 2, -0.1)
    with pytest.raises(ValueError, match="sigma"):
        learning_curve(10, rule="weight", n_in=3, n_out=2, lr=1e-3, eps0=1.0, sigma=-1.0)
    with pytest.raises(ValueError, match="sigma"):
        train_perturbation(np.zeros((1, 2, 3)), np.ones((2, 3)), rule="node", lr=0.01, steps=1, sigma=-0.5)
    with pytest.raises(ValueError, match="stable limit"):
        contraction("gd", 3, 2, 2 * stable_lr("gd", 3, 2))
    with pytest.raises(ValueError, match="rule"):
        noise_factor("hebb", 3, 2)
    with pytest.raises(ValueError):
        train_perturbation(np.zeros((1, 2, 3)), np.ones((3, 2)), rule="gd", lr=0.01, steps=1)


def test_run_and_deprecated_names():
    """The trainer returns the shared Run; the old field ``errors``, the old keyword ``show_progress`` and the
    old class name keep working (the first two warn)."""
    W0, W_star = np.zeros((2, 2, 3)), np.ones((2, 3))
    run = train_perturbation(W0, W_star, rule="node", lr=0.01, steps=5, sigma=0.1, record=[0, 2, 5])
    assert isinstance(run, Run) and PerturbationRun is Run
    assert run.time_unit == "step" and run.losses.shape == (2, 3) and run.rule == "node"
    np.testing.assert_array_equal(run.times, run.steps)
    with pytest.warns(DeprecationWarning, match="errors"):
        np.testing.assert_array_equal(run.errors, run.losses)
    with pytest.warns(DeprecationWarning, match="show_progress"):
        old = train_perturbation(W0, W_star, rule="node", lr=0.01, steps=5, sigma=0.1, record=[0, 2, 5],
                                 show_progress=False)
    np.testing.assert_array_equal(old.losses, run.losses)


@given(rule=st.sampled_from(RULES), N=st.integers(1, 50), M=st.integers(1, 20), frac=st.floats(0.01, 0.99),
       sigma=st.floats(0.0, 1.0), eps0=st.floats(1e-3, 1e3), k=st.lists(st.floats(0, 1e7), min_size=2, max_size=6))
def test_learning_curve_properties(rule, N, M, frac, sigma, eps0, k):
    lr = frac * stable_lr(rule, N, M)
    k = np.sort(np.array(k))
    e = learning_curve(k, rule=rule, n_in=N, n_out=M, lr=lr, eps0=eps0, sigma=sigma)
    e_inf = asymptotic_error(rule, N, M, lr, sigma)
    assert np.all(np.isfinite(e)) and np.all(e >= 0)
    # monotone approach to the floor from either side
    assert np.all(np.diff(e) * np.sign(e_inf - eps0) >= -1e-12 * max(eps0, e_inf))


@given(bad=st.sampled_from(["sigma", "lr", "rule", "N"]))
def test_invalid_inputs_property(bad):
    kw = dict(rule="node", n_in=3, n_out=2, lr=0.01, eps0=1.0, sigma=0.1)
    kw.update({"sigma": -0.1} if bad == "sigma" else {"lr": -1.0} if bad == "lr" else
              {"rule": "bp"} if bad == "rule" else {"n_in": 0})
    with pytest.raises((ValueError, TypeError)):
        learning_curve(5, **kw)


@pytest.mark.slow
@pytest.mark.parametrize("rule", RULES)
def test_steps_to_error_scaling_full_size(rule, seed):
    """Steps to 1% at the optimal lr for N = 16 and 32 (M = 4): the mean of 400 networks crosses
    within 5% of the predicted step (log-linear interpolation between recorded steps)."""
    rng = np.random.default_rng(seed)
    M = 4
    for N in (16, 32):
        kt = steps_to_error(0.01, rule=rule, n_in=N, n_out=M)
        steps = int(1.2 * kt)
        W_star = rng.standard_normal((M, N))
        run = train_perturbation(np.zeros((400, M, N)), W_star, rule=rule, lr=optimal_learning_rate(rule, N, M),
                                 steps=steps, sigma=1e-3, record=np.linspace(0, steps, 200).astype(int), seed=seed)
        m = run.losses.mean(0) / (0.5 * np.sum(W_star**2))
        j = int(np.nonzero(m <= 0.01)[0][0])
        k = run.steps[j - 1] + (np.log(0.01) - np.log(m[j - 1])) * (run.steps[j] - run.steps[j - 1]) / (
            np.log(m[j]) - np.log(m[j - 1]))
        assert abs(k - kt) < 0.05 * kt
