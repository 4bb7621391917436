"""Committee machines: the error contract (validation, no hang, no silent divergence), the ODE's
large-alpha cost and accuracy, the SGD step against autograd, and property tests of the API.
"""
from __future__ import annotations

import contextlib
import math
import signal

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from idealnets.simulate._common import DivergenceError
from idealnets.simulate.committee import _block_loop, _block_loop_one, _step_fn, init_weights, train, train_from
from idealnets.theory.committee import (
    ODE_ATOL, ODE_RTOL, CommitteeODE, asymptotic_error, generalisation_error, linear_perceptron_error,
    stable_lr, order_parameters, plateau_escape_time, specialisation_index, symmetric_plateau,
)

# Exact linear solution vs DOP853 at the default tolerances: global error ~1e-9 (see ODE_RTOL).
LINEAR_ATOL = 1e-8
# The SGD step vs autograd of (1/2) Delta^2 in float64: rounding only.
STEP_ATOL = 1e-12
# Stated accuracy of the default ODE tolerances on plateau-escape runs (measured 4.4e-9, ODE_RTOL).
PLATEAU_TOL_ATOL = 1e-8
# float32 vs float64 from the same seeds: measured 7e-7 relative over alpha <= 40 (simulate.committee docstring);
# 1e-5 leaves room for other seeds and sizes.
FLOAT32_RTOL = 1e-5
# Any call here must return (or raise) within this many seconds: "never a hang".
NO_HANG_S = 20


@contextlib.contextmanager
def no_hang(seconds: int = NO_HANG_S):
    def handler(signum, frame):
        raise TimeoutError(f"call did not return within {seconds} s")

    old = signal.signal(signal.SIGALRM, handler)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _overlaps(rng, K, M, N=None, scale=0.5):
    N = N or (K + M + 3)
    W = scale * rng.normal(size=(K, N))
    Ws = rng.normal(size=(M, N))
    Ws = np.linalg.qr(Ws.T)[0].T * np.sqrt(N) if M <= N else Ws
    Q, R, T = order_parameters(W, Ws)
    return Q, R, T


# --------------------------------------------------------------------------- reported bugs (issue 16)

def test_nan_teacher_second_layer_is_refused_not_hung():
    with no_hang():
        with pytest.raises(ValueError, match="v_star"):
            CommitteeODE(2, 2, 0.5, v_star=[1, np.nan])


def test_alpha_eval_zero_and_message_names_alpha_max():
    ode = CommitteeODE(2, 2, 0.5)
    Q0, R0 = 0.3 * np.eye(2), 0.01 * np.eye(2)
    tr = ode.integrate(Q0, R0, alpha_eval=[0.0])
    assert tr.eps_g[0] == pytest.approx(float(ode.eps_g(Q0, R0, np.ones(2))), abs=1e-15)
    with pytest.raises(ValueError, match="alpha_max"):
        ode.integrate(Q0, R0, alpha_max=1.0, alpha_eval=[2.0])
    with pytest.raises(ValueError, match="alpha_eval"):
        ode.integrate(Q0, R0, alpha_eval=[1.0, np.nan])
    with pytest.raises(ValueError, match="alpha_max"):
        ode.integrate(Q0, R0, alpha_max=-1.0)


@pytest.mark.parametrize("kw, match", [
    (dict(K=0), "K"), (dict(M=1.5), "M"), (dict(lr=0.0), "lr"), (dict(lr=np.inf), "lr"), (dict(lr="1"), "lr"),
    (dict(lr_v=-1.0), "lr_v"), (dict(noise=np.nan), "noise"), (dict(noise=-0.1), "noise"),
    (dict(T=np.ones((2, 2))), "T"), (dict(T=np.eye(3)), "T"), (dict(v_star=[1.0]), "v_star"),
    (dict(v_star=[1.0, np.inf]), "v_star"), (dict(feedback=[1.0, np.nan]), "feedback"),
    (dict(feedback=np.ones(3)), "feedback"), (dict(activation="tanh"), "activation"),
    (dict(train_second_layer=1), "train_second_layer"),
])
def test_ode_constructor_names_the_bad_argument(kw, match):
    args = dict(K=2, M=2, lr=0.5)
    args.update(kw)
    with pytest.raises((ValueError, TypeError), match=match):
        CommitteeODE(**args)


@pytest.mark.parametrize("call, match", [
    (lambda: order_parameters(np.full((2, 3), np.nan), np.ones((2, 3))), "W"),
    (lambda: generalisation_error(np.eye(2), np.eye(2), np.eye(2), [1.0, np.inf], np.ones(2)), "v"),
    (lambda: linear_perceptron_error(1.0, 2.5, 0.1), "lr"),
    (lambda: linear_perceptron_error([1.0, np.nan], 0.5, 0.1), "alpha"),
    (lambda: linear_perceptron_error(1.0, 0.5, 0.1, noise=-1.0), "noise"),
    (lambda: plateau_escape_time([0.0, 1.0], [1.0, np.inf], 0.1), "eps_g"),
    (lambda: plateau_escape_time([1.0, 0.0], [1.0, 0.0], 0.1), "alpha"),
    (lambda: plateau_escape_time([0.0, 1.0], [1.0, 0.0], 0.1, frac=1.5), "frac"),
    (lambda: specialisation_index(np.zeros((2, 2)), np.eye(2)), "Q"),
    (lambda: stable_lr(2, 3), "K = M"),
    (lambda: stable_lr(0), "K"),
    (lambda: symmetric_plateau(1, 1.0), "K"),
    (lambda: symmetric_plateau(2, np.nan), "lr"),
    (lambda: asymptotic_error(1, 1, 0.5, 0.1, alpha_final=np.nan), "alpha_final"),
])
def test_helpers_name_the_bad_argument(call, match):
    with no_hang():
        with pytest.raises((ValueError, TypeError), match=match):
            call()


def test_large_alpha_costs_what_convergence_costs():
    """The ODE stops at its stable fixed point: alpha_max = 1e6 costs what 1e3 does and returns the same."""
    ode = CommitteeODE(1, 1, 1.0)
    Q0, R0 = np.array([[0.5]]), np.array([[0.3]])
    t3 = ode.integrate(Q0, R0, alpha_eval=[10.0, 1e3])
    t6 = ode.integrate(Q0, R0, alpha_eval=[10.0, 1e6, np.inf])
    assert t6.nfev == t3.nfev and np.isfinite(t3.alpha_converged) and t3.alpha_converged < 1e3
    assert t6.eps_g[0] == t3.eps_g[0]
    assert t6.eps_g[1] == t3.eps_g[1] == t6.eps_g[2] and t3.eps_g[1] < 1e-12


@pytest.mark.slow
def test_plateau_saddle_does_not_stop_the_integration():
    """A start exactly on the symmetric plateau has tiny rates but a positive Jacobian eigenvalue: never 'converged'."""
    from idealnets.theory.committee import symmetric_plateau

    p = symmetric_plateau(2, 1.0)
    Qs = np.full((2, 2), p.C) + (p.Q - p.C) * np.eye(2)
    R0 = np.full((2, 2), p.R) + 1e-7 * np.array([[1.0, -1.0], [-1.0, 1.0]])
    tr = CommitteeODE(2, 2, 1.0).integrate(Qs, R0, alpha_eval=[60.0], rtol=1e-7, atol=1e-9)
    assert tr.eps_g[0] == pytest.approx(p.eps_g, rel=1e-3)  # still on the plateau at alpha = 60
    assert tr.alpha_converged == np.inf


@pytest.mark.slow
def test_default_tolerance_accuracy_on_plateau_escape():
    """The measured accuracy stated at ODE_RTOL: K = M = 2 from the plateau plus an asymmetry 1e-6,
    default vs 1e4 times tighter (rtol at scipy's floor), max |d eps_g| < PLATEAU_TOL_ATOL."""
    from idealnets.theory.committee import symmetric_plateau

    p = symmetric_plateau(2, 1.0)
    Qs = np.full((2, 2), p.C) + (p.Q - p.C) * np.eye(2) + 1e-9 * np.eye(2)
    R0 = np.full((2, 2), p.R) + 1e-6 * np.array([[1.0, -1.0], [-1.0, 1.0]])
    a = np.linspace(0, 600, 601)
    ode = CommitteeODE(2, 2, 1.0)
    t1 = ode.integrate(Qs, R0, alpha_eval=a)
    t2 = ode.integrate(Qs, R0, alpha_eval=a, rtol=max(ODE_RTOL * 1e-4, 2.3e-14), atol=ODE_ATOL * 1e-4)
    assert np.max(np.abs(t1.eps_g - t2.eps_g)) < PLATEAU_TOL_ATOL


def test_sgd_divergence_is_caught_early():
    """issue 16: train(50, 1, 1, 3.0, 200.0, activation="linear") returned eps_test ~1e265 with diverged=False."""
    with no_hang(60):
        with pytest.raises(DivergenceError, match="lr=3"):
            train(50, 1, 1, 3.0, 200.0, activation="linear", n_networks=2, progress_bar=False)


def test_divergence_flagged_per_network_without_raising():
    W, Ws = init_weights(40, 1, 1, 2, init_scale=0.5, seed=1)
    run = train_from(W, Ws, [0.5, 3.0], 100.0, activation="linear", raise_on_divergence=False, record=12, seed=2,
                     progress_bar=False)
    assert run.diverged.tolist() == [False, True]
    # the stable network is untouched by its diverging neighbour (same inputs: same E and seed)
    ref = train_from(W, Ws, [0.5, 0.7], 100.0, activation="linear", record=12, seed=2, progress_bar=False)
    assert np.array_equal(run.losses[0], ref.losses[0]) and run.losses[0, -1] < 1e-10


@pytest.mark.parametrize("kw, match", [
    (dict(N=0), "N"), (dict(K=-1), "K"), (dict(M=2.5), "M"), (dict(lr=-1.0), "lr"), (dict(lr=np.nan), "lr"),
    (dict(lr=[0.5, 0.5, 0.5]), "lr"), (dict(alpha_max=0.0), "alpha_max"), (dict(alpha_max=np.inf), "alpha_max"),
    (dict(noise=-1.0), "noise"), (dict(init_scale=np.nan), "init_scale"), (dict(v0=[1.0, np.nan]), "v0"),
    (dict(v0=np.ones(3)), "v0"), (dict(v_star=[np.inf, 1.0]), "v_star"), (dict(record=1), "record"),
    (dict(n_test=0), "n_test"), (dict(device="gpu"), "device"), (dict(device="mps"), "device"),
    (dict(dtype=torch.int64), "dtype"), (dict(activation="tanh"), "activation"),
    (dict(feedback=[1.0, np.nan]), "feedback"), (dict(seed=-1), "seed"), (dict(n_threads=0), "n_threads"),
    (dict(lr_v=-0.1), "lr_v"), (dict(train_second_layer="yes"), "train_second_layer"),
])
def test_train_names_the_bad_argument(kw, match):
    args = dict(N=20, K=2, M=2, lr=0.5, alpha_max=0.5, n_networks=2, progress_bar=False)
    args.update(kw)
    with no_hang():
        with pytest.raises((ValueError, TypeError), match=match):
            train(args.pop("N"), args.pop("K"), args.pop("M"), args.pop("lr"), args.pop("alpha_max"), **args)


def test_train_from_refuses_non_finite_weights():
    W, Ws = init_weights(20, 2, 2, 2, seed=0)
    W[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="W0"):
        train_from(W, Ws, 0.5, 1.0, progress_bar=False)


# --------------------------------------------------------------------------- the SGD step itself

@pytest.mark.parametrize("activation", ["erf", "linear", "relu"])
@pytest.mark.parametrize("fa", [False, True])
def test_block_loop_equals_autograd_steps(activation, fa, rng):
    """Each step of the fused (TorchScript) loop equals w -= lr/sqrt N * d/dw of (1/2) Delta^2
    (with v replaced by b in the backward pass for feedback alignment), v -= lr_v/N * d/dv."""
    E, K, N, c, lr, lr_v = 3, 2, 7, 4, 0.7, 0.3
    W = torch.tensor(rng.normal(size=(E, K, N)))
    v = torch.tensor(rng.normal(size=(E, K)))
    b = torch.tensor(rng.normal(size=(E, K))) if fa else v.clone()
    x = torch.tensor(rng.normal(size=(c, E, N)))
    y = torch.tensor(rng.normal(size=(c, E)))
    zs = 1 / math.sqrt(2) if activation == "erf" else 1.0
    g = {"erf": lambda a: torch.erf(a / math.sqrt(2)), "linear": lambda a: a, "relu": torch.relu}[activation]
    Wr, vr = W.clone(), v.clone()
    for j in range(c):
        lam = torch.einsum("ekn,en->ek", Wr, x[j]) / math.sqrt(N)
        lam_req = lam.clone().requires_grad_(True)
        delta = (vr * g(lam_req)).sum(1) - y[j]
        (dg,) = torch.autograd.grad(g(lam_req).sum(), lam_req)  # g'(lambda)
        back = b if fa else vr
        gW = (delta[:, None] * back * dg)[:, :, None] * x[j][:, None, :] / math.sqrt(N)
        gv = delta[:, None] * g(lam)
        Wr = Wr - lr * gW
        vr = vr - lr_v / N * gv
    w_step = lr * (2 / math.sqrt(math.pi) if activation == "erf" else 1.0)
    act = {"erf": 0, "linear": 1, "relu": 2}[activation]
    for fn in (_block_loop, _step_fn()):
        W2, v2 = W.clone(), v.clone()
        with torch.jit.optimized_execution(False):
            fn(W2, v2, b, x * zs / math.sqrt(N), y, w_step, torch.ones(E, 1, dtype=torch.float64),
               torch.full((E, 1), lr_v / N, dtype=torch.float64), act, True, fa, True)
        assert torch.allclose(W2, Wr, atol=STEP_ATOL, rtol=0) and torch.allclose(v2, vr, atol=STEP_ATOL, rtol=0)


@pytest.mark.parametrize("activation", ["erf", "linear", "relu"])
@pytest.mark.parametrize("fa", [False, True])
def test_single_network_gram_loop_equals_batched_loop(activation, fa, rng):
    """The single-network CPU path (block Gram matrix, K-dimensional recurrence) takes the same steps."""
    K, N, c, lr_v = 3, 40, 24, 0.01
    W = torch.tensor(rng.normal(size=(1, K, N)))
    v = torch.tensor(rng.normal(size=(1, K)))
    b = torch.tensor(rng.normal(size=(1, K)))
    X = torch.tensor(rng.normal(size=(c, 1, N))) / math.sqrt(N)
    Y = torch.tensor(rng.normal(size=(c, 1)))
    act = {"erf": 0, "linear": 1, "relu": 2}[activation]
    W1, v1, W2, v2 = W.clone(), v.clone(), W.clone(), v.clone()
    _block_loop(W1, v1, b, X, Y, 0.6, torch.ones(1, 1, dtype=torch.float64),
                torch.full((1, 1), lr_v, dtype=torch.float64), act, True, fa, True)
    _block_loop_one(W2, v2, b, X, Y, 0.6, [lr_v] * K, act, True, fa)
    assert torch.allclose(W1, W2, atol=STEP_ATOL, rtol=0) and torch.allclose(v1, v2, atol=STEP_ATOL, rtol=0)


def test_relu_student_learns_relu_teacher(seed):
    run = train(200, 1, 1, 0.5, 20.0, activation="relu", n_networks=4, init_scale=0.5, record=8, seed=seed,
                progress_bar=False)
    assert np.all(run.losses[:, -1] < 0.05 * run.losses[:, 0])
    assert np.all(run.R[:, -1, 0, 0] > 0.9)


def test_float32_run_tracks_float64():
    """float32 (same seeds, same inputs up to rounding): eps_test agrees to FLOAT32_RTOL over a short run."""
    kw = dict(n_networks=4, init_scale=0.5, record=6, seed=3, progress_bar=False)
    r64 = train(100, 2, 2, 0.8, 5.0, **kw)
    r32 = train(100, 2, 2, 0.8, 5.0, dtype=torch.float32, **kw)
    assert r32.dtype == "float32"
    assert np.max(np.abs(r32.losses - r64.losses) / r64.losses) < FLOAT32_RTOL
    # one network takes the single-network (Gram) path in both dtypes
    kw["n_networks"] = 1
    o64 = train(100, 2, 2, 0.8, 5.0, **kw)
    o32 = train(100, 2, 2, 0.8, 5.0, dtype=torch.float32, **kw)
    assert np.max(np.abs(o32.losses - o64.losses) / o64.losses) < FLOAT32_RTOL


# --------------------------------------------------------------------------- property tests

_acts = st.sampled_from(["erf", "linear"])


@given(K=st.integers(1, 3), M=st.integers(1, 3), lr=st.floats(0.05, 1.0), act=_acts, noise=st.floats(0.0, 0.5),
       train_v=st.booleans(), seed=st.integers(0, 2 ** 16), alpha=st.floats(0.0, 3.0))
def test_property_valid_inputs_give_finite_errors(K, M, lr, act, noise, train_v, seed, alpha):
    rng = np.random.default_rng(seed)
    Q0, R0, T = _overlaps(rng, K, M)
    v0, vs = rng.normal(size=K), rng.normal(size=M)
    ode = CommitteeODE(K, M, lr, activation=act, train_second_layer=train_v, noise=noise, T=T, v_star=vs)
    with no_hang():
        try:
            tr = ode.integrate(Q0, R0, v0, alpha_eval=[0.0, alpha], rtol=1e-7, atol=1e-9)
        except FloatingPointError as e:
            # a valid setting can be unstable (linear units with a large random v0 raise the effective
            # rate above its limit): the contract is then a named error, never NaN
            assert "lr=" in str(e)
            return
    assert np.all(np.isfinite(tr.eps_g)) and np.all(tr.eps_g >= 0)
    assert tr.eps_g[0] == pytest.approx(float(generalisation_error(Q0, R0, T, v0, vs, act)), abs=1e-12)
    assert np.allclose(tr.Q[1], tr.Q[1].T)


@given(lr=st.floats(0.05, 1.9), noise=st.floats(0.0, 1.0), q=st.floats(0.1, 3.0), r=st.floats(-0.9, 0.9),
       alpha=st.floats(0.0, 20.0))
def test_property_linear_k1_limit(lr, noise, q, r, alpha):
    """K = M = 1 linear: the ODE is the exact online-perceptron curve (linear_perceptron_error)."""
    R0 = r * math.sqrt(q)  # |R| < sqrt(Q T): a valid overlap
    ode = CommitteeODE(1, 1, lr, activation="linear", noise=noise)
    tr = ode.integrate([[q]], [[R0]], alpha_eval=[alpha])
    eps0 = 0.5 * (q - 2 * R0 + 1.0)
    assert tr.eps_g[0] == pytest.approx(float(linear_perceptron_error(alpha, lr, eps0, noise)), abs=LINEAR_ATOL)


_bad_scalars = st.sampled_from([np.nan, np.inf, -np.inf, -1.0, 0.0, "0.5", None, True, [0.1, 0.2, 0.3], 1e400])


@given(field=st.sampled_from(["K", "M", "lr", "noise", "lr_v", "v_star", "T", "feedback", "activation"]),
       bad=_bad_scalars)
def test_property_invalid_constructor_inputs_raise(field, bad):
    args = dict(K=2, M=2, lr=0.5)
    if field in ("lr_v", "noise") and isinstance(bad, float) and bad == 0.0:
        return  # zero is a valid second-layer rate and a valid noise level
    if bad is None and field in ("lr_v", "v_star", "T", "feedback"):
        return  # None selects the documented default
    args[field] = bad
    with no_hang():
        with pytest.raises((ValueError, TypeError)):
            CommitteeODE(**args)


@given(what=st.sampled_from(["Q0", "R0", "v0", "alpha"]), bad=st.sampled_from([np.nan, np.inf, -1.0, "x", 1e300]))
def test_property_invalid_initial_conditions_raise(what, bad):
    ode = CommitteeODE(2, 2, 0.5)
    Q0, R0, v0, alpha = 0.3 * np.eye(2), 0.01 * np.eye(2), np.ones(2), [1.0]
    if what == "Q0":
        Q0 = Q0.astype(object) if isinstance(bad, str) else Q0 * np.array([[1.0, 1.0], [1.0, bad]])
    elif what == "R0":
        R0 = [[bad, 0.0], [0.0, 0.01]]
    elif what == "v0":
        v0 = [1.0, bad]
        if bad == -1.0:
            return  # a negative second-layer weight is valid
    else:
        alpha = [bad]
        if bad in (1e300, np.inf):
            return  # a huge time and inf are valid (the ODE's fixed point)
    with no_hang():
        with pytest.raises((ValueError, TypeError)):
            ode.integrate(Q0, R0, v0, alpha_eval=alpha)


@given(N=st.integers(5, 30), K=st.integers(1, 3), M=st.integers(1, 3), lr=st.floats(0.05, 1.0),
       act=st.sampled_from(["erf", "linear", "relu"]), train_v=st.booleans(), fa=st.booleans(),
       seed=st.integers(0, 1000))
def test_property_sgd_valid_inputs_finite(N, K, M, lr, act, train_v, fa, seed):
    fb = np.linspace(-1.0, 1.5, K) if fa else None
    with no_hang():
        try:
            run = train(N, K, M, lr, 1.0, n_networks=2, activation=act, train_second_layer=train_v, feedback=fb,
                        init_scale=0.3, record=4, n_test=50, seed=seed, progress_bar=False)
        except DivergenceError as e:
            # at N as small as 5 a learning rate of O(1) can be unstable: then a named error, never NaN
            assert "lr=" in str(e) and "diverged" in str(e)
            return
    assert np.all(np.isfinite(run.losses)) and np.all(run.losses >= 0)
    assert run.losses.shape == (2, len(run.times)) and not run.diverged.any()
