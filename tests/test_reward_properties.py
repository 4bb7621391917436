"""Property tests of the learning-from-reward theory's error contract (imitating tests/test_properties.py).

Random valid inputs give finite outputs with the invariants (the initial condition at k = 0, the
fixed point at k = inf, the accuracy in [0, 1]); random invalid inputs give ValueError/TypeError.
"""
from __future__ import annotations


import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from idealnets.theory import reward as tr
from idealnets.theory.validation import DivergenceError


BAD_SCALARS = st.sampled_from([np.nan, np.inf, -np.inf, "1.0", None, 1 + 1j, [1.0, 2.0], True])
BAD_ARRAYS = st.sampled_from([
    np.array([[1.0, np.nan]]), np.array([[np.inf, 1.0]]), "abc", None, np.array([[True, False]]),
    np.array([[1 + 1j, 0]]), [[1.0], [1.0, 2.0]],
])


# the watchdog and the refusal check are the ones of tests/test_properties.py (HANG_S = 60 s)
from test_properties import refuses, watchdog  # noqa: E402


def _chain(seed, n, d, gamma):
    rng = np.random.default_rng(seed)
    P = rng.random((n, n)) + 0.05
    P /= P.sum(1, keepdims=True)
    return tr.TDLinear(rng.standard_normal((n, d)), P, rng.standard_normal(n), gamma)


@given(seed=st.integers(0, 2**16), n=st.integers(2, 8), d=st.integers(1, 4), gamma=st.floats(0.0, 0.99),
       frac=st.floats(0.01, 0.99), k=st.lists(st.integers(0, 10**6), min_size=1, max_size=5))
def test_td_mean_weights_ends_and_finite(seed, n, d, gamma, frac, k):
    assume(d <= n)
    td = _chain(seed, n, d, gamma)
    assume(np.linalg.matrix_rank(td.Phi) == d)
    lim = td.stable_lr()
    assert lim > 0  # stationary weights, full-rank features
    lr = frac * lim
    w0 = np.linspace(-1, 1, d)
    with watchdog():
        w = td.mean_weights(np.array(k + [0, np.inf]), lr, w0)
        f = td.flow([0.0, 1.0, np.inf], w0)
    assert np.all(np.isfinite(w)) and np.all(np.isfinite(f))
    np.testing.assert_allclose(w[-2], w0, atol=1e-12)
    np.testing.assert_allclose(w[-1], td.fixed_point(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(f[0], w0, atol=1e-12)
    np.testing.assert_allclose(f[-1], td.fixed_point(), rtol=1e-9, atol=1e-12)


@given(bad=BAD_ARRAYS, which=st.sampled_from(["Phi", "P", "r"]))
def test_td_refuses_bad_arrays(bad, which):
    kw = dict(Phi=np.eye(2), P=np.full((2, 2), 0.5), r=np.zeros(2), gamma=0.5)
    kw[which] = bad
    refuses(tr.TDLinear, **kw)


@given(bad=BAD_SCALARS)
def test_td_refuses_bad_scalars(bad):
    td = _chain(0, 3, 2, 0.5)
    refuses(tr.TDLinear, np.eye(2), np.full((2, 2), 0.5), np.zeros(2), bad)
    refuses(td.mean_weights, 3, bad)
    refuses(tr.cue_reward_trial, 10, 2, 5, bad)


@given(T=st.integers(1, 12), lr_1=st.floats(0.0, 3.0), lr_2=st.floats(0.0, 3.0), nfrac=st.floats(0, 1),
       cond=st.sampled_from(tr.CONDITIONS), rho=st.floats(-1.0, 1.0), Q=st.floats(1e-6, 1e6))
def test_rl_perceptron_rhs_finite(T, lr_1, lr_2, nfrac, cond, rho, Q):
    n = int(round(nfrac * T)) if cond == "at_least" else None
    ode = tr.RLPerceptronODE(T, lr_1, lr_2, condition=cond, n=n)
    R = rho * np.sqrt(Q)
    dR, dQ = ode.rhs(R, Q)
    assert np.isfinite(dR) and np.isfinite(dQ)
    # the noise term keeps Q from shrinking when the student is at chance and nothing is rewarded: dQ >= -...
    acc = ode.accuracy(R, Q)
    assert 0.0 <= acc <= 1.0
    assert 0.0 <= ode.reward_probability(R, Q) <= 1.0


@given(T=st.integers(1, 6), R0=st.floats(-0.9, 0.9), alpha=st.lists(st.floats(0.0, 20.0), min_size=1, max_size=4))
def test_rl_perceptron_integrate_starts_at_initial_condition(T, R0, alpha):
    ode = tr.RLPerceptronODE(T, 1.0, 0.3)
    with watchdog():
        c = ode.integrate(R0, 1.0, [0.0] + alpha)
    assert np.all(np.isfinite(c.R)) and np.all(c.Q > 0)
    assert c.R[0] == R0 and c.Q[0] == 1.0
    assert np.all(c.R**2 <= c.Q * (1 + 1e-9))


@given(bad=BAD_SCALARS, which=st.sampled_from(["T", "lr_1", "lr_2"]))
def test_rl_perceptron_refuses_bad_parameters(bad, which):
    kw = dict(T=3, lr_1=1.0, lr_2=0.0)
    kw[which] = bad
    refuses(tr.RLPerceptronODE, **kw)


@given(bad=BAD_SCALARS, which=st.sampled_from(["R0", "Q0"]))
def test_rl_perceptron_integrate_refuses_bad_start(bad, which):
    kw = dict(R0=0.0, Q0=1.0, alpha=[1.0])
    kw[which] = bad
    refuses(tr.RLPerceptronODE(3, 1.0).integrate, **kw)


@given(seed=st.integers(0, 2**16), n=st.integers(2, 6), gamma=st.floats(0.0, 0.95), frac=st.floats(0.01, 0.5),
       k=st.integers(0, 10**4))
def test_td_weight_moments_psd_and_consistent(seed, n, gamma, frac, k):
    td = _chain(seed, n, 2, gamma)
    assume(np.linalg.matrix_rank(td.Phi) == 2)
    lr = frac * td.stable_lr()
    with watchdog():
        try:
            m, C = td.weight_moments([0, k], lr, np.ones(2))
        except DivergenceError:
            # the variance can grow below the mean's stable_lr (mean-square stability is stricter):
            # then the stationary moments are refused too
            refuses(td.weight_moments, np.inf, lr)
            return
        ev = td.expected_value_error(k, lr, np.ones(2))
    assert np.all(np.isfinite(C)) and np.abs(C[0]).max() == 0
    np.testing.assert_allclose(m, td.mean_weights([0, k], lr, np.ones(2)), rtol=1e-9, atol=1e-12)
    assert np.linalg.eigvalsh(C[1]).min() >= -1e-10 * max(1.0, np.abs(C[1]).max())
    assert ev >= td.value_error(m[1]) - 1e-10
