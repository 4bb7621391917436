"""Property-based tests of the error contract and the invariants (issue 16).

Random *valid* inputs must give finite outputs that satisfy each module's
invariants: the initial condition at t = 0, the fixed point at t = inf (and
t = 1e12 indistinguishable from it, at the cost of t = 10), monotone losses
under gradient flow, conserved balancedness. Random *invalid* inputs must give
ValueError or TypeError -- never another exception, never NaN, never a hang
(every call runs under a watchdog that aborts the test run after
``HANG_S`` seconds, so a hang fails loudly instead of stalling CI).

The number of examples is set by the Hypothesis profile in ``conftest.py``
(small in the default suite, larger under ``make test-slow``).
"""
from __future__ import annotations

import contextlib
import faulthandler
import time

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from idealnets.theory import deep_linear as dl
from idealnets.theory import generalization as ge
from idealnets.theory import lambda_balanced as lb
from idealnets.theory import ntk as nt
from idealnets.theory import semantic as se
from idealnets.theory.validation import as_array, as_float, as_int, as_times

HANG_S = 60.0  # far above any single call here (< 1 s); only a genuine hang reaches it
# Closed forms are evaluated to ~1e-13 relative (Newton inversion, graded Riccati form); the
# invariants below hold to rounding, so 1e-9 (relative to the natural scale) leaves a wide margin.
RTOL = 1e-9
# Loss monotonicity is checked up to rounding of the loss itself.
MONO_ATOL = 1e-12


@contextlib.contextmanager
def watchdog(seconds: float = HANG_S):
    """Abort (with a traceback of every thread) if the block runs longer than ``seconds``."""
    faulthandler.dump_traceback_later(seconds, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def refuses(fn, *args, **kwargs):
    """The call must raise ValueError or TypeError (within the watchdog); returns the exception."""
    with watchdog():
        try:
            out = fn(*args, **kwargs)
        except (ValueError, TypeError) as e:
            assert str(e), "error messages must say what is wrong"
            return e
    raise AssertionError(f"{getattr(fn, '__name__', fn)} accepted bad input and returned {out!r:.80}")


# ---------------------------------------------------------------- strategies
pos = st.floats(0.05, 5.0)
small = st.floats(1e-6, 4.0)
depths = st.integers(1, 5)
times = st.lists(st.floats(0.0, 1e3), min_size=1, max_size=6)

# values that are never a valid real scalar parameter
BAD_SCALARS = st.sampled_from([np.nan, np.inf, -np.inf, "1.0", None, 1 + 1j, [1.0, 2.0], True])
# values that are never a valid array of finite reals
BAD_ARRAYS = st.sampled_from([
    np.array([[1.0, np.nan]]), np.array([[np.inf, 1.0]]), "abc", None, np.array([[True, False]]),
    np.array([[1 + 1j, 0]]), [[1.0], [1.0, 2.0]],
])


# ---------------------------------------------------------------- shared layer
@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=3), st.none(), st.booleans()))
def test_validation_returns_clean_value_or_refuses(x):
    checks = ((lambda v: as_float(v, "xval", low=0.0), "xval", True), (lambda v: as_int(v, "nval", low=1), "nval", True),
              (lambda v: as_array(v, "aval"), "aval", True), (lambda v: as_times(v, "tval"), "tval", False))
    for fn, name, finite in checks:
        try:
            out = fn(x)
        except (ValueError, TypeError) as e:
            assert name in str(e)  # the message names the argument
            continue
        out = np.asarray(out, dtype=float)
        assert np.all(np.isfinite(out)) if finite else not np.any(np.isnan(out))


# ---------------------------------------------------------------- deep linear modes
@given(s=pos, u0=small, D=depths, t=times)
def test_mode_strength_limits_and_monotone(s, u0, D, t):
    t = np.sort(np.asarray(t))
    with watchdog():
        u = dl.mode_strength(t, s, u0, D)
        u_ends = dl.mode_strength([0.0, 1e12, np.inf], s, u0, D)
    assert np.all(np.isfinite(u))
    np.testing.assert_allclose(u_ends[0], u0, rtol=RTOL)
    np.testing.assert_allclose(u_ends[2], s, rtol=RTOL)
    # u moves monotonically from u0 towards s and never crosses it
    d = np.diff(u) * np.sign(s - u0)
    assert np.all(d >= -RTOL * s)
    assert np.all((u - s) * np.sign(u0 - s) >= -RTOL * s)
    if D >= 2 or u0 > 0:
        np.testing.assert_allclose(u_ends[1], s, rtol=1e-6)


@given(s=pos, frac=st.floats(0.05, 0.95), D=st.integers(2, 5), t1=st.floats(0.1, 50.0))
def test_learning_time_inverts_mode_strength(s, frac, D, t1):
    u0 = 1e-3 * s
    u1 = float(dl.mode_strength(t1, s, u0, D))
    assume(u0 * 1.001 < u1 < s * (1 - 1e-6))
    np.testing.assert_allclose(dl.learning_time(s, u0, u1, D), t1, rtol=1e-7)


@given(D=depths, seed=st.integers(0, 2**16), u0=st.floats(1e-4, 0.5))
def test_deep_linear_theory_loss_monotone(D, seed, u0):
    rng = np.random.default_rng(seed)
    X = np.sqrt(3.0) * np.linalg.qr(rng.standard_normal((3, 3)))[0]
    Y = rng.standard_normal((2, 3))
    th = dl.DeepLinearTheory(X, Y, depth=D, u0=u0)
    t = np.concatenate([[0.0], np.logspace(-2, 3, 30), [1e12, np.inf]])
    with watchdog():
        L = th.loss(t)
    assert np.all(np.isfinite(L))
    assert np.all(np.diff(L) <= MONO_ATOL * max(1.0, L[0]))
    np.testing.assert_allclose(th.map(0.0), th.U @ np.diag(th.u0) @ th.V.T, atol=1e-12)


@given(bad=BAD_SCALARS, which=st.sampled_from(["s", "u0", "tau"]), D=depths)
def test_mode_strength_refuses_bad_parameters(bad, which, D):
    kw = dict(t=[0.0, 1.0], s=1.0, u0=0.1, depth=D)
    kw[which] = bad
    assume(not (which == "u0" and isinstance(bad, list)))  # a list of u0 broadcasts: valid
    assume(not (which == "s" and isinstance(bad, list)))
    refuses(dl.mode_strength, **kw)


@given(bad=BAD_ARRAYS, which=st.sampled_from(["X", "Y"]))
def test_deep_linear_theory_refuses_bad_data(bad, which):
    X = np.sqrt(2.0) * np.eye(2)
    kw = dict(X=X, Y=np.ones((2, 2)))
    kw[which] = bad
    refuses(dl.DeepLinearTheory, **kw)


@given(bad=st.sampled_from([np.nan, np.inf, -1.0]), where=st.sampled_from(["t", "Sxx", "Syx"]))
def test_integrate_gradient_flow_refuses_nonfinite(bad, where):
    W = [0.1 * np.ones((2, 2)), 0.1 * np.ones((1, 2))]
    kw = dict(weights=W, Sxx=np.eye(2), Syx=np.ones((1, 2)), t=[0.0, 1.0])
    if where == "t":
        kw["t"] = [0.0, bad]
    else:
        a = np.array(kw[where], dtype=float)
        a.flat[0] = bad if bad != -1.0 else np.nan
        kw[where] = a
    refuses(dl.integrate_gradient_flow, **kw)


def test_integrate_gradient_flow_repeated_times():
    W = [0.1 * np.ones((2, 2)), 0.1 * np.ones((1, 2))]
    out = dl.integrate_gradient_flow(W, np.eye(2), np.ones((1, 2)), [0.0, 1.0, 1.0, 2.0])
    assert out[0].shape == (4, 2, 2)
    np.testing.assert_array_equal(out[0][1], out[0][2])


def test_newton_inversion_matches_ode():
    # the depth >= 3 closed form against solve_ivp of tau du/dt = D u^{2-2/D}(s - u)
    from scipy.integrate import solve_ivp

    s, u0, D = 2.0, 1e-3, 4
    t = np.linspace(0.0, 30.0, 61)
    sol = solve_ivp(lambda _, u: D * u ** (2 - 2 / D) * (s - u), (0, 30), [u0], t_eval=t, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dl.mode_strength(t, s, u0, D), sol.y[0], rtol=1e-8, atol=1e-12)


# ---------------------------------------------------------------- two-layer exact solution
@given(lam=st.floats(-1.0, 1.0), scale=st.floats(0.05, 1.0), h=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_two_layer_exact_invariants(lam, scale, h, seed):
    n_in, n_out = 3, 2
    if lam > 0:
        h = min(h, n_out)
    elif lam < 0:
        h = min(h, n_in)
    X, Y = lb.whitened_task(n_in, n_out, [2.0, 0.7], seed=seed)
    W1, W2 = lb.lambda_balanced_init(n_in, h, n_out, lam, scale, seed=seed)
    ex = lb.TwoLayerExact(W1, W2, X, Y)
    t = np.concatenate([[0.0], np.logspace(-2, 3, 25), [1e6, 1e12, np.inf]])
    with watchdog():
        Q = ex.factor(t)
        L = ex.loss(t)
    assert np.all(np.isfinite(Q)) and np.all(np.isfinite(L))
    # t = 0: the initial weights; conserved balancedness Q^T J Q = -lambda I at every t
    np.testing.assert_allclose(Q[0] @ Q[0].T, ex.Q0 @ ex.Q0.T, atol=1e-12)
    J = np.diag(np.r_[np.ones(n_in), -np.ones(n_out)])
    B = np.swapaxes(Q, -1, -2) @ J @ Q
    np.testing.assert_allclose(B[:-1], np.broadcast_to(-lam * np.eye(h), B[:-1].shape), atol=1e-9)
    # gradient flow: the loss never increases; t = 1e12 is the fixed point
    assert np.all(np.diff(L) <= 1e-10 * max(1.0, L[0]))
    np.testing.assert_allclose(ex.map(1e12), ex.map(np.inf), atol=1e-8)


def test_two_layer_exact_graded_form_matches_semigroup_steps():
    # the O(1) evaluation against composing short exact steps (the former evaluation)
    X, Y = lb.whitened_task(4, 3, [2.0, 1.0, 0.5], seed=1)
    for lam, h in ((0.5, 3), (0.0, 5), (-0.3, 3)):
        W1, W2 = lb.lambda_balanced_init(4, h, 3, lam, 0.3, seed=2)
        ex = lb.TwoLayerExact(W1, W2, X, Y)
        t = np.array([0.3, 3.0, 10.0, 40.0])
        marched = np.empty((t.size, 7, 7))
        for k, q in ex._march(t):
            marched[k] = (ex.O @ q) @ (ex.O @ q).T
        np.testing.assert_allclose(ex.qqt(t), marched, atol=1e-12)


def test_two_layer_exact_cost_independent_of_t():
    X, Y = lb.whitened_task(4, 3, [2.0, 1.0, 0.5], seed=0)
    W1, W2 = lb.lambda_balanced_init(4, 3, 3, 0.2, 0.3, seed=0)
    ex = lb.TwoLayerExact(W1, W2, X, Y)

    def cost(t):
        best = np.inf
        for _ in range(3):
            t0 = time.perf_counter()
            ex.map(t)
            best = min(best, time.perf_counter() - t0)
        return best

    # was linear in t (1e12 would take years); now a fixed number of small SVDs per time
    assert cost(1e12) < 20 * cost(10.0) + 0.05


# ---------------------------------------------------------------- generalization
@given(alpha=st.floats(0.2, 4.0), sw=st.floats(0.0, 2.0), se_=st.floats(0.0, 1.0))
def test_linear_student_train_error_monotone(alpha, sw, se_):
    th = ge.LinearStudentTheory(alpha, sigma_w=sw, sigma_eps=se_)
    t = np.concatenate([[0.0], np.logspace(-2, 4, 25), [1e12]])
    with watchdog():
        tr, te = th.train_error(t), th.test_error(t)
    assert np.all(np.isfinite(tr)) and np.all(np.isfinite(te))
    assert np.all(np.diff(tr) <= 1e-10 * max(1.0, tr[0]))
    # infinite weight decay is the zero student
    np.testing.assert_allclose(th.ridge_test_error(np.inf), sw**2 + se_**2, rtol=1e-9, atol=1e-15)


@given(seed=st.integers(0, 2**16), N=st.integers(1, 6), P=st.integers(1, 8), factor=st.floats(1.0, 3.0))
def test_finite_size_errors_refuse_unstable_lr_at_every_t(seed, N, P, factor):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, P)) / np.sqrt(N)
    y, wb, w0 = rng.standard_normal(P), rng.standard_normal(N), np.zeros(N)
    lam_max = np.linalg.eigvalsh(X @ X.T)[-1]
    assume(lam_max > 1e-6)
    lr = factor * 2.0 / lam_max
    for t in (0.0, lr * 10, np.inf):
        refuses(ge.finite_size_errors, X, y, wb, w0, t, 0.5, lr=lr)
    fs = ge.finite_size_errors(X, y, wb, w0, np.linspace(0, 50, 20), 0.5)
    assert np.all(np.diff(fs.train) <= 1e-10 * max(1.0, fs.train[0]))


@given(bad=BAD_SCALARS, which=st.sampled_from(["alpha", "sigma_w", "sigma_eps", "sigma_0", "tau"]))
def test_linear_student_refuses_bad_parameters(bad, which):
    kw = dict(alpha=2.0)
    kw[which] = bad
    refuses(ge.LinearStudentTheory, **kw)


# ---------------------------------------------------------------- NTK
@given(seed=st.integers(0, 2**16), P=st.integers(2, 6), factor=st.floats(1.0, 4.0))
def test_ntk_refuses_unstable_lr_and_flow_is_monotone(seed, P, factor):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, P))
    y = rng.standard_normal((1, P))
    k = nt.kernels(x, depth=1)
    lm = nt.stable_lr(k.ntk)
    for t in (0.0, np.inf):
        refuses(nt.gradient_flow_mean, x, y, x, t, lr=factor * lm)
        refuses(nt.expected_loss, k.nngp, k.ntk, y, t, lr=factor * lm)
    L = nt.expected_loss(k.nngp, k.ntk, y, np.concatenate([[0.0], np.logspace(-2, 4, 20), [np.inf]]))
    assert np.all(np.isfinite(L)) and np.all(np.diff(L) <= 1e-10 * max(1.0, L[0]))


@given(bad=BAD_ARRAYS)
def test_ntk_kernels_refuse_bad_inputs(bad):
    refuses(nt.kernels, bad)


# ---------------------------------------------------------------- semantic
@given(seed=st.integers(0, 2**16), D=st.integers(1, 4))
def test_semantic_similarity_and_rsa(seed, D):
    rng = np.random.default_rng(seed)
    Y = rng.standard_normal((5, 4))
    th = se.SemanticTheory(Y, depth=max(D, 2))
    K = th.similarity([1.0, 1e12, np.inf])
    assert np.all(np.isfinite(K))
    np.testing.assert_allclose(K[1], K[2], atol=1e-8)
    refuses(se.rsa_correlation, np.ones((4, 4)), K[2])


# ---------------------------------------------------------------- simulate: early, named divergence
def test_trainers_name_divergence_just_above_stable_lr():
    from idealnets.simulate import generalization as sg
    from idealnets.simulate._common import DivergenceError

    d = sg.sample_data(20, 40, 2, seed=0)
    lr_max = sg.stable_lr(d)
    with watchdog(), pytest.raises(DivergenceError, match="lr="):
        sg.train_linear(d, lr=1.05 * lr_max, steps=3000, record=40)


def test_divergence_blames_inputs_not_lr():
    import torch

    from idealnets.simulate import deep_linear as sdl

    X = np.sqrt(2.0) * np.eye(2)
    with pytest.raises(ValueError, match=r"W0\[0\]"):
        sdl.train_from([np.full((2, 2), np.nan), np.ones((1, 2))], X, np.ones((1, 2)), lr=0.1, steps=5)
    with pytest.raises(ValueError, match="dtype"):
        sdl.train(X, np.ones((1, 2)), 2, 3, 2, "small", 0.1, 0.1, 5, dtype=torch.int64)
    with pytest.raises(ValueError, match="device"):
        sdl.train(X, np.ones((1, 2)), 2, 3, 2, "small", 0.1, 0.1, 5, device="gpu")


def test_train_relu_one_size_several_data_sets():
    from idealnets.simulate import generalization as sg

    d = sg.sample_data(6, 10, 3, seed=0)
    for first in (False, True):
        run = sg.train_relu(d, [4], train_first_layer=first, steps=10, record=3)
        assert run.test_error.shape[:2] == (3, 1) and np.all(np.isfinite(run.test_error))


def test_thread_policy_env_override(monkeypatch):
    import torch

    from idealnets.simulate._common import configure_threads

    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("IDEALNETS_THREADS", "1")
        assert configure_threads() == 1 and torch.get_num_threads() == 1
        monkeypatch.setenv("IDEALNETS_THREADS", "many")
        with pytest.raises(ValueError, match="IDEALNETS_THREADS"):
            configure_threads()
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("args", [["deep_linear_modes", "--device", "gpu"],
                                  ["deep_linear_modes", "--out", "/proc/not-here"]])
def test_cli_refuses_bad_device_and_out_in_one_line(args, capsys):
    from idealnets.figures.__main__ import main

    assert main(args) == 2  # before any figure is computed
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
