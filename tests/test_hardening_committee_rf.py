"""Hardening, second round: random-features size bound, tiny perturbation sizes, committee grid at huge alpha."""
import numpy as np
import pytest
import torch

from idealnets.simulate.perturbation import sigma_min, train_perturbation
from idealnets.theory.perturbation import asymptotic_error, learning_curve, steps_to_error
from idealnets.theory.random_features import N_CONTOUR_MAX, RandomFeaturesTheory


# ---------------------------------------------------------------- item 1: n_contour bound
@pytest.mark.parametrize("n", [10**7, N_CONTOUR_MAX + 1])
def test_random_features_n_contour_upper_bound(n):
    with pytest.raises(ValueError, match="n_contour"):
        RandomFeaturesTheory(2.0, 1.0, n_contour=n)


def test_random_features_n_contour_at_bound_accepted():
    assert RandomFeaturesTheory(2.0, 1.0, n_contour=N_CONTOUR_MAX).n_contour == N_CONTOUR_MAX


# ---------------------------------------------------------------- item 2: tiny sigma
@pytest.mark.parametrize("sigma", [1e-160, 1e-200, 1e-320])
def test_perturbation_theory_tiny_sigma_is_the_sigma0_limit(sigma):
    kw = dict(rule="weight", n_in=5, n_out=2, lr=0.01)
    k = [0, 10, np.inf]
    np.testing.assert_allclose(learning_curve(k, eps0=1.0, sigma=sigma, **kw),
                               learning_curve(k, eps0=1.0, sigma=0.0, **kw), rtol=0, atol=1e-300)
    assert np.isfinite(asymptotic_error(sigma=sigma, **kw))
    assert steps_to_error(0.01, sigma=sigma, **kw) == steps_to_error(0.01, sigma=0.0, **kw)


@pytest.mark.parametrize("rule", ["node", "weight"])
@pytest.mark.parametrize("dtype,sigma", [(torch.float64, 1e-160), (torch.float64, 1e-200),
                                         (torch.float32, 1e-20), (torch.float32, 1e-12)])
def test_perturbation_simulation_refuses_sigma_below_bound(rule, dtype, sigma):
    with pytest.raises(ValueError, match="sigma"):
        train_perturbation(np.zeros((2, 2, 5)), np.ones((2, 5)), rule=rule, lr=0.001, steps=5, sigma=sigma,
                           dtype=dtype)


@pytest.mark.parametrize("rule", ["node", "weight"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_perturbation_simulation_at_sigma_min_is_finite(rule, dtype):
    run = train_perturbation(np.zeros((2, 2, 5)), np.ones((2, 5)), rule=rule, lr=0.001, steps=20,
                             sigma=sigma_min(dtype), dtype=dtype, record=10)
    assert np.all(np.isfinite(np.asarray(run.losses)))


def test_perturbation_gd_ignores_tiny_sigma():
    a = train_perturbation(np.zeros((2, 2, 5)), np.ones((2, 5)), rule="gd", lr=0.01, steps=20, sigma=1e-300)
    b = train_perturbation(np.zeros((2, 2, 5)), np.ones((2, 5)), rule="gd", lr=0.01, steps=20, sigma=0.1)
    np.testing.assert_array_equal(np.asarray(a.losses), np.asarray(b.losses))


# ---------------------------------------------------------------- item 3: committee grid at huge alpha
def _grid():
    from idealnets.theory.committee_grid import CommitteeGrid
    return CommitteeGrid([2, 2, 1], 2, [1.0, 0.5, 0.8], noise=[0.1, 0.0, 0.0])


def test_committee_grid_huge_alpha_costs_the_fixed_point():
    import time
    g = _grid()
    inf = g.integrate([np.inf])
    t0 = time.perf_counter()
    far = g.integrate([1e12])
    assert time.perf_counter() - t0 < 10.0  # was linear in alpha (1e5: 14 s)
    assert not far.diverged.any() and np.isfinite(far.eps_g).all()
    np.testing.assert_array_equal(far.eps_g, inf.eps_g)  # same steps, same settling criterion
    np.testing.assert_array_equal(far.Q, inf.Q)
    np.testing.assert_array_equal(far.R, inf.R)


@pytest.mark.parametrize("K,lr,noise", [(2, 1.0, 0.1), (2, 0.5, 0.0), (1, 0.8, 0.0)])
def test_committee_grid_outputs_before_alpha_max_are_unchanged(K, lr, noise):
    # one member per grid: in a batch, members leaving at different iterations change the others'
    # right-hand sides by an ulp (so it was before this change too)
    from idealnets.theory.committee_grid import CommitteeGrid
    g = CommitteeGrid(K, 2, lr, noise=noise)
    a = [0.0, 1.0, 10.0, 100.0]
    ref = g.integrate(a)
    tr = g.integrate(a + [1e5, 1e12])
    for name in ("Q", "R", "v", "eps_g"):
        np.testing.assert_array_equal(getattr(tr, name)[:, :4], getattr(ref, name))
    inf = g.integrate(a + [np.inf])
    np.testing.assert_array_equal(tr.eps_g[:, 4], tr.eps_g[:, 5])  # settled: one state for all later times
    np.testing.assert_allclose(tr.eps_g[:, -1], inf.eps_g[:, -1], rtol=1e-4, atol=1e-9)
