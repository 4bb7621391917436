"""Hardening, second round (issue 27), the older modules: degenerate but finite input gives the
mathematical limit or a named error (never NaN/inf), wrong exception kinds become ValueError or
TypeError naming the argument, and silently accepted wrong input is refused."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from idealnets.theory import deep_linear as dl
from idealnets.theory import generalization as ge
from idealnets.theory import semantic as se

Y_HIER = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 0, 0.]])


# ---------------------------------------------------------------- semantic: degenerate data and u0 = 0
def test_semantic_u0_zero_projections_are_zero_not_nan():
    th = se.SemanticTheory(Y_HIER, depth=2, u0=0.0)
    t = [0.0, 1.0, np.inf]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0/0 inside either
        g = th.inductive_projection(t, 0)
        f = th.feature_projection(t, 0)
    np.testing.assert_array_equal(g, 0.0)  # no representation: the new unit never learns
    np.testing.assert_array_equal(f, 0.0)
    np.testing.assert_array_equal(th.differentiation_times(), np.inf)  # the saddle is never left


def test_semantic_zero_item_and_zero_feature_give_zero_at_the_fixed_point():
    Y_item = Y_HIER.copy()
    Y_item[:, 3] = 0.0  # an item with no features
    g = se.SemanticTheory(Y_item, depth=2).inductive_projection([0.0, 1.0, np.inf], 3)
    assert np.isfinite(g).all()
    np.testing.assert_array_equal(g[-1], 0.0)
    Y_feat = Y_HIER.copy()
    Y_feat[3] = 0.0  # a feature no item has
    f = se.SemanticTheory(Y_feat, depth=2).feature_projection([0.0, 1.0, np.inf], 3)
    assert np.isfinite(f).all()
    np.testing.assert_array_equal(f[-1], 0.0)
    # valid entries unchanged: the familiar item/feature itself projects to 1 while it is represented
    assert g[0, 3] == 1.0 and f[0, 3] == 1.0


def test_semantic_zero_mode_typicality_is_a_named_error():
    th = se.SemanticTheory(Y_HIER, depth=3)  # rank 3: mode 3 has s = 0
    with pytest.raises(ValueError, match="mode 3 has singular value"):
        th.item_typicality(3)
    with pytest.raises(ValueError, match="mode 3 has singular value"):
        th.category_prototype(3)
    np.testing.assert_allclose(th.item_typicality(0), th.V[:, 0], atol=1e-12)


# ---------------------------------------------------------------- generalisation: no signal at all
def test_deep_student_without_teacher_and_noise_is_the_limit():
    t = [0.0, 1.0, np.inf]
    for alpha in (0.5, 2.0):
        th = ge.DeepLinearStudentTheory(alpha, sigma_w=0.0, sigma_eps=0.0)
        e, r = th.test_error(t), th.train_error(t)
        assert np.isfinite(e).all() and np.isfinite(r).all()
        near = ge.DeepLinearStudentTheory(alpha, sigma_w=1e-9, sigma_eps=1e-9).test_error(t)
        np.testing.assert_allclose(e, near, rtol=1e-5, atol=1e-15)
    assert ge.LinearStudentTheory(2.0, sigma_w=0.0, sigma_eps=0.0).snr == 0.0


@pytest.mark.parametrize("make", [
    lambda: ge.LinearStudentTheory(2.0, sigma_w=1e200),
    lambda: ge.DeepLinearStudentTheory(2.0, u0=1e200),
    lambda: ge.DeepLinearStudentTheory(2.0, sigma_w=1e200),
    lambda: ge.converged_test_error(2.0, sigma_w=1e200),
])
def test_generalisation_scales_whose_squares_overflow_are_refused(make):
    with pytest.raises(ValueError, match=r"must be .*<= 1e\+75"):
        make()


# ---------------------------------------------------------------- NTK kernels of huge inputs
def test_kernels_of_huge_inputs_are_accurate_or_a_named_error():
    from idealnets.theory import ntk as nt

    x = np.random.default_rng(0).standard_normal((3, 4))
    ref = {a: nt.kernels(x, activation=a, depth=2) for a in ("relu", "erf", "linear")}
    for scale in (1e8, 1e100):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            k_relu = nt.kernels(x * scale, activation="relu", depth=2)
            k_erf = nt.kernels(x * scale, activation="erf", depth=2)
        # relu is homogeneous of degree 2 in x; erf's NTK grows as |x| and its NNGP saturates
        np.testing.assert_allclose(k_relu.ntk / scale**2, ref["relu"].ntk, rtol=1e-9)
        assert np.isfinite(k_erf.ntk).all() and np.isfinite(k_erf.nngp).all()
    # erf at large |x|: the diagonal of the NTK grows as |x|, the off-diagonal saturates
    big = nt.kernels(x * 1e100, activation="erf", depth=2).ntk
    mid = nt.kernels(x * 1e10, activation="erf", depth=2).ntk
    off = ~np.eye(4, dtype=bool)
    np.testing.assert_allclose(np.diag(big) / 1e100, np.diag(mid) / 1e10, rtol=1e-6)
    np.testing.assert_allclose(big[off], mid[off], rtol=1e-6)
    for act in ("relu", "erf", "linear"):
        with pytest.raises(ValueError, match="overflow float64"):
            nt.kernels(x * 1e200, activation=act, depth=2)
    with pytest.raises(ValueError, match="W_std"):
        nt.kernels(x, W_std=1e200)
    with pytest.raises(ValueError, match="depth"):
        nt.kernels(x, depth=10**12)  # would hang: cost is linear in depth


def test_gaussian_expectations_refuse_what_is_not_a_covariance():
    from idealnets.theory import ntk as nt

    for fn in (nt.relu_expectations, nt.erf_expectations, nt.linear_expectations):
        with pytest.raises(TypeError, match="k11"):
            fn(None, 1.0, 0.5)
        with pytest.raises(ValueError, match="k22"):
            fn(1.0, -1.0, 0.5)
        with pytest.raises(ValueError, match="k12"):
            fn(1.0, 1.0, 3.0)
        with pytest.raises(ValueError, match="k12"):
            fn(1.0, 1.0, np.nan)
    np.testing.assert_allclose(nt.relu_expectations(1e300, 1e300, 1e300)[0], 0.5e300, rtol=1e-12)


# ---------------------------------------------------------------- values near the float range
def test_mode_strength_and_learning_time_near_the_float_range():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        u = dl.mode_strength([0.0, 1e-300, np.inf], 1e300, 1e-300, 2)  # s/u0 overflows
        np.testing.assert_allclose(u, [1e-300, 1e-300 * np.exp(2.0), 1e300], rtol=1e-12)
        u1 = dl.mode_strength([0.0, np.log(2.0), np.inf], 1.7e308, -1.7e308, 1)  # u0 - s overflows
        np.testing.assert_allclose(u1, [-1.7e308, 0.0, 1.7e308], atol=1e293)
        t1 = dl.learning_time(1.7e308, -1.7e308, 0.0, 1)
        np.testing.assert_allclose(t1, np.log(2.0), rtol=1e-12)
        t2 = dl.learning_time(1e300, 1e-300, 1e299, 2)  # the product u_f (s - u0) overflows
        expected = (np.log(1e299) - np.log(1e-300) - np.log(0.9e300)) / 2e300 + np.log(1e300) / 2e300
        np.testing.assert_allclose(t2, expected, rtol=1e-12)
        assert np.isfinite(dl.learning_time(1.7e308, 1e-300, 1e308, 2))  # 2 s overflows too
    unchanged = 1.0 / (2 * 2.0) * np.log(1.0 * (2.0 - 1e-3) / (1e-3 * 1.0))
    assert dl.learning_time(2.0, 1e-3, 1.0, 2) == unchanged


def test_crossing_time_near_the_float_range():
    from idealnets.theory.measures import crossing_time

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = crossing_time([0.0, 1.0], [-1e308, 1.7e308], 1e308)  # values - level overflowed to NaN
    assert t == pytest.approx(2.0 / 2.7, rel=1e-12)
    assert crossing_time([0.0, 1.0, 2.0], [0.0, 1.0, 2.0], 1.5) == 1.5


def test_deep_linear_sizes_are_bounded_and_modes_must_pair():
    with pytest.raises(ValueError, match="depth"):
        dl.mode_strength([0.0, 1.0], 2.0, 1e-3, 10**12)  # hung: cost linear in depth
    with pytest.raises(ValueError, match="depth"):
        ge.DeepLinearStudentTheory(2.0, depth=10**12)
    X = np.eye(3) * np.sqrt(3.0)
    th = dl.DeepLinearTheory(X, np.arange(6.0).reshape(2, 3), depth=3)
    with pytest.raises(ValueError, match="hidden"):
        th.weights(1.0, hidden=10**12)  # MemoryError before
    rng = np.random.default_rng(0)
    W1, W2 = rng.standard_normal((4, 3)), rng.standard_normal((2, 4))
    with pytest.raises(ValueError, match="U and V"):
        dl.effective_u0_two_layer(W1, W2, th.U, th.V[:, :1])  # V with one column was broadcast


# ---------------------------------------------------------------- simulate: wrong kinds, silently accepted input
def _task():
    rng = np.random.default_rng(0)
    X = np.linalg.qr(rng.standard_normal((3, 3)))[0] * np.sqrt(3.0)
    return X, rng.standard_normal((2, 3))


def test_divergence_monitor_and_engine_refuse_non_booleans():
    import torch

    from idealnets.simulate import DivergenceMonitor
    from idealnets.simulate._common import record_steps

    with pytest.raises(TypeError, match="raise_on_divergence"):
        DivergenceMonitor(lr=0.1, raise_on_divergence="no")  # bool("no") is True: it raised anyway
    with pytest.raises(ValueError, match="divergence factor"):
        DivergenceMonitor(lr=0.1, factor=-5.0)  # every check "diverged" at step 0
    with pytest.raises(TypeError, match="log"):
        record_steps(10, 5, log=torch.ones(3))  # RuntimeError (ambiguous truth value) before
    with pytest.raises(ValueError, match="record"):
        record_steps(10, 10**12)  # MemoryError before


def test_deep_linear_trainer_wrong_kinds():
    import torch

    from idealnets.simulate import deep_linear as sdl

    X, Y = _task()
    kw = dict(X=X, Y=Y, depth=2, width=4, n_networks=2, init="small", init_scale=0.1, lr=0.1, steps=5, record=3)
    with pytest.raises(TypeError, match="return_weights"):
        sdl.train(**kw, return_weights=torch.ones(3))
    with pytest.raises(TypeError, match="desc"):
        sdl.train(**kw, desc=torch.ones(3))
    for bad in ("width", "n_networks"):
        with pytest.raises(ValueError, match="MAX_ENTRIES"):
            sdl.train(**{**kw, bad: 10**12})  # allocator RuntimeError before
    with pytest.raises(ValueError, match="depth"):
        sdl.train(**{**kw, "depth": 10**12})  # MemoryError before
    W = [np.zeros((2, 4, 3)), np.zeros((2, 2, 4))]
    with pytest.raises(TypeError, match="W0"):
        sdl.train_from({0: W[0], 1: W[1]}, X, Y, lr=0.1, steps=2)  # KeyError 0 before
    with pytest.raises(ValueError, match=r"W0\[1\]"):
        sdl.train_from([W[0], W[1][:1]], X, Y, lr=0.1, steps=2)  # one network in layer 2: blamed W0, not data
    with pytest.raises(ValueError, match="W0 maps"):
        sdl.train_from([W[0][:, :, :2], np.zeros((2, 2, 4))], X, Y, lr=0.1, steps=2)
    with pytest.raises(ValueError, match="all zeros"):
        sdl.pretrain_layerwise(np.zeros((3, 3)), [3, 4, 2], n_networks=1, init_scale=0.1)  # ZeroDivisionError
    with pytest.raises(ValueError, match="check_every"):
        sdl.pretrain_layerwise(X, [3, 4, 2], n_networks=1, init_scale=0.1, check_every=10**12)  # hung


def test_other_trainers_sizes_and_kinds():
    import torch

    from idealnets.simulate import generalization as sge
    from idealnets.simulate import ntk as snt
    from idealnets.simulate import semantic as sse

    with pytest.raises(ValueError, match="MAX_ENTRIES"):
        sse.train_mlp(np.eye(4), Y_HIER, hidden=10**12, n_networks=2, steps=2)
    with pytest.raises(ValueError, match="MAX_ENTRIES"):
        sge.sample_data(8, 12, 2, n_teachers=10**12)  # MemoryError
    with pytest.raises(ValueError, match="MAX_ENTRIES"):
        sge.sample_data(10**12, 12, 2)
    d = sge.sample_data(8, 12, 2, seed=0)
    with pytest.raises(ValueError, match="depth"):
        sge.train_deep_linear(d, depth=10**12, lr=0.01, steps=2)  # hung
    with pytest.raises(ValueError, match="MAX_ENTRIES"):
        snt.init_mlp(3, 10**12)
    with pytest.raises(ValueError, match="depth"):
        snt.init_mlp(3, 8, depth=10**12)
    net = snt.init_mlp(3, 8, 1, 1, n_networks=2)
    for bad in (None, 3.0, "net", [np.zeros((3, 3))]):
        with pytest.raises(TypeError, match="net"):
            snt.forward(bad, np.ones((3, 2)))  # AttributeError before
    bad_net = net.clone()
    bad_net.Ws[0][0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="W0 must have finite"):
        snt.train_from(bad_net, np.ones((3, 4)), np.ones((1, 4)), lr=0.1, steps=2)  # DivergenceError before
    run = snt.train(np.zeros((3, 4)), np.ones((1, 4)), width=8, n_networks=2, lr=0.1, steps=2)  # ZeroDivisionError
    assert run.extras["lr_max"] == np.inf and np.isfinite(run.losses).all()
    with pytest.raises(TypeError, match="desc"):
        sge.train_linear(d, lr=0.01, steps=2, desc=torch.ones(2))


def test_stable_limits_refuse_bad_depth_and_divergent_fixed_points():
    from idealnets.simulate import deep_linear as sdl
    from idealnets.simulate import semantic as sse
    from idealnets.theory import ntk as nt

    X, Y = _task()
    for bad in (-1, 2.5, "2", 0):
        with pytest.raises((ValueError, TypeError), match="depth"):
            sdl.stable_lr(X, Y, bad)
        with pytest.raises((ValueError, TypeError), match="depth"):
            sse.stable_lr(np.eye(4), Y_HIER, bad)
    k = nt.kernels(np.random.default_rng(0).standard_normal((3, 5)), depth=2).ntk
    lr_max = nt.stable_lr(k)
    y = np.ones((1, 5))
    for t in (np.inf, 100.0):  # t = inf has no fixed point above the stable limit: refused, naming lr and the limit
        with pytest.raises(ValueError, match=r"lr=.*stable limit"):
            nt.gradient_descent_mse(k, y, lr=1.1 * lr_max)(t)
    Xf = np.random.default_rng(1).standard_normal((4, 6))
    lr_gd = 2.0 / np.linalg.eigvalsh(Xf @ Xf.T)[-1]
    with pytest.raises(ValueError, match=r"lr=.*stable limit"):
        ge.finite_size_errors(Xf, np.ones(6), np.ones(4), np.zeros(4), np.inf, 0.5, lr=1.05 * lr_gd)


# ---------------------------------------------------------------- theory: huge sizes are named errors, not MemoryError
@pytest.mark.parametrize("call, name", [
    (lambda: se.structure("ring", 10**12), "n"),
    (lambda: se.structure("ring", 6).sample(10**12), "n_features"),
    (lambda: __import__("idealnets.theory.datasets", fromlist=["x"]).hierarchical_data((2, 2), n_features=10**12),
     "n_features"),
    (lambda: __import__("idealnets.theory.datasets", fromlist=["x"]).one_hot(10**12), "n_items"),
    (lambda: ge.marchenko_pastur(2.0).nodes(step=0.0), "step"),  # ZeroDivisionError before
    (lambda: ge.marchenko_pastur(2.0).nodes(smax=1e12), "smax"),
    (lambda: __import__("idealnets.theory.tasks", fromlist=["x"]).whitened_task(3, 2, [1.0], n_samples=10**6),
     "n_samples"),
    (lambda: __import__("idealnets.theory.lambda_balanced", fromlist=["x"]).lambda_balanced_init(
        3, 2, 2, 0.5, 0.3, size=10**12), "size"),
])
def test_theory_sizes_are_bounded(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_deep_linear_stable_lr_with_nothing_to_learn_is_inf():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # was a division by zero
        assert dl.DeepLinearTheory(np.eye(3), np.zeros((2, 3)), depth=2).stable_lr() == np.inf
    assert np.isfinite(dl.DeepLinearTheory(np.eye(3), np.zeros((2, 3)), depth=1).stable_lr())


def test_overflowing_task_quantities_are_named_errors():
    from idealnets.theory import lambda_balanced as lb
    from idealnets.theory import tasks as ta

    with pytest.raises(ValueError, match="overflow"):
        ta.correlations(np.ones((3, 4)) * 1e200, np.ones((2, 4)))
    with pytest.raises(ValueError, match="overflow"):
        ta.quadratic_loss(np.ones((2, 3)) * 1e200, np.eye(3), np.ones((2, 3)), 1.0)
    with pytest.raises(ValueError, match="overflow"):
        lb.task_loss(np.ones((2, 3)) * 1e200, np.eye(3), np.ones((2, 3)))
    X, Y = lb.whitened_task(3, 2, [2.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        W = lb.lazy_map([0.0, 1.0, np.inf], np.zeros((2, 3)), np.zeros((2, 2)), X, Y)  # exp(-0 * inf) was NaN
    np.testing.assert_array_equal(W, 0.0)  # zero weights: the frozen kernel is zero, nothing moves


def test_results_beyond_float64_are_named_errors():
    with pytest.raises(ValueError, match="init_scale"):
        se.effective_u0(1e200, 10**6)  # OverflowError before
    with pytest.raises(ValueError, match="s_max"):
        dl.depth_learning_rate(1e-300, 3)  # inf before
    assert se.effective_u0(0.01, 10) == 0.5 * 0.01**2 * 10


def test_orthogonal_trajectory_of_a_stiff_flow():
    lam0 = np.exp(1j * np.array([0.3, -0.3]))
    lam = dl.orthogonal_eigen_trajectory([0.0, 1.0, np.inf], lam0, 1e12, 3)  # LSODA's RuntimeError before
    np.testing.assert_allclose(lam[0], lam0, atol=1e-4)  # lambda = s + (lam0 - s) rho: rounding of s = 1e12
    np.testing.assert_allclose(lam[1:], 1e12, rtol=1e-12)
    ref = dl.orthogonal_eigen_trajectory([0.0, 0.5, np.inf], lam0, 2.0, 3)
    assert abs(ref[1, 0] - 2.0) < 1.5 and ref[2, 0] == 2.0


def test_as_float_refuses_integers_beyond_float64_by_name():
    """An integer too large for float64 (10**400) is a ValueError naming the argument, not
    Python's OverflowError from float(); at the public boundary this is every float argument."""
    from idealnets.theory.validation import as_float
    with pytest.raises(ValueError, match="lr must be a number within the float64 range"):
        as_float(10 ** 400, "lr")
    assert as_float(10 ** 300, "lr") == 1e300
