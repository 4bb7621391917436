"""Semantic development (Saxe, McClelland & Ganguli 2019): theory vs ODE, vs trained networks, vs limits."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from idealnets.simulate import DivergenceError
from idealnets.simulate.deep_linear import train, train_from
from idealnets.simulate.semantic import train_mlp
from idealnets.theory.datasets import one_hot
from idealnets.theory.deep_linear import integrate_gradient_flow
from idealnets.theory.semantic import (
    STRUCTURES,
    SemanticTheory,
    category_coherence,
    category_singular_value,
    crossing_times,
    effective_u0,
    hierarchical_data,
    hierarchy_spectrum,
    joint_embedding,
    living_things,
    procrustes_align,
    rsa_correlation,
    structure,
)

torch.set_num_threads(1)

# Exact identities (eigen-decompositions, closed forms evaluated in float64): rounding only.
ATOL_EXACT = 1e-10
# solve_ivp with rtol=1e-10/atol=1e-12 over t ~ 40 against the closed form: integration error ~1e-8.
ATOL_ODE = 1e-6
# Full-batch GD vs gradient flow, decoupled init: the per-step growth (1 + 2 s lr) vs e^{2 s lr}
# shifts the sigmoid by O(lr); at lr = 0.01 on living things (s_max = 0.86) the output error is a few
# percent of max|Y|. The test also checks that the error halves with lr (first order).
RTOL_GD = 0.05
# Random small init vs the decoupled theory with u0 = effective_u0: half-times shift by the GD
# factor (s lr / 2 ~ 0.5% at lr = 0.01), the chi-square spread of u0 (sqrt(2/n_h)/ln(s/(c u0)) ~ 3.5%
# per network, /sqrt(E) for the ensemble mean) and O(init) cross-mode coupling; 4% covers several s.e.
RTOL_RANDOM_INIT = 0.04
# Sampled hierarchy/structure spectra: ||Y^T Y/N - C|| ~ sqrt(P/N) ||C||, so the sorted singular values
# of Y/P deviate from the analytic ones by O(N^{-1/2}); quadrupling sqrt(N) must shrink the error > 2.5x.
SAMPLING_SHRINK = 2.5
# Category coherence: finite-size (n = 400) corrections to the large-n spike formula, O(n^{-1/2})
# ~ 5% of the gap, plus the Bernoulli block variance p(1-p) != q(1-q): 3% covers it (measured ~0.5%).
RTOL_SPIKE = 0.03


@pytest.fixture(scope="module")
def lt():
    items, feats, Y = living_things()
    return items, feats, Y


def _balanced(theory: SemanticTheory, depth: int, u0: float) -> list[np.ndarray]:
    """Decoupled weights W_l = R_l a R_{l-1}^T, R_0 = V, R_D = U, hidden frames = identity."""
    a = u0 ** (1.0 / depth)
    n = theory.n_modes
    frames = [theory.V] + [np.eye(n)] * (depth - 1) + [theory.U]
    return [a * frames[l + 1] @ frames[l].T for l in range(depth)]


def _ode(Ws0, Y, t_eval):
    """Integrate the full weight ODE tau dW_l/dt = -dL/dW_l for one-hot items (Sxx = I/P) with solve_ivp."""
    P = Y.shape[1]
    Wt = integrate_gradient_flow(Ws0, np.eye(P) / P, Y / P, t_eval)
    maps = Wt[0]
    for w in Wt[1:]:
        maps = w @ maps
    return maps


# ------------------------------------------------------------------ data
def test_living_things_shape_and_content(lt):
    items, feats, Y = lt
    assert items == ["pine", "oak", "rose", "daisy", "robin", "canary", "sunfish", "salmon"]
    assert Y.shape == (len(feats), 8) and set(np.unique(Y)) == {0.0, 1.0}
    assert all(f.split()[0] in ("ISA", "is", "can", "has") for f in feats)
    row = lambda name: Y[feats.index(name)]  # noqa: E731
    assert np.all(row("ISA living thing") == 1)
    np.testing.assert_array_equal(row("can fly"), [0, 0, 0, 0, 1, 1, 0, 0])
    np.testing.assert_array_equal(row("has roots"), [1, 1, 1, 1, 0, 0, 0, 0])
    # every item is distinguishable: Y has full column rank
    assert np.linalg.matrix_rank(Y) == 8


def test_hierarchical_data_correlations_match_q(seed):
    X, Y, tree = hierarchical_data((2, 3), n_features=40000, flip_prob=0.15, seed=seed)
    np.testing.assert_array_equal(X, np.eye(6))
    spec = hierarchy_spectrum((2, 3), 0.15, 40000)
    emp = Y.T @ Y / Y.shape[0]
    # Monte-Carlo standard error of a +-1 correlation: <= 1/sqrt(N) = 0.005; allow 5 s.e.
    np.testing.assert_allclose(emp, spec.covariance(), atol=5 / np.sqrt(40000))


# ------------------------------------------------------------------ analytic spectra
@pytest.mark.parametrize("branching,eps", [((2, 2, 2), 0.1), ((3, 2), 0.2), ((2, 2, 2, 2), 0.05), ((4,), 0.5),
                                           ((2, 3), 0.0)])
def test_hierarchy_spectrum_is_exact_for_expected_covariance(branching, eps):
    spec = hierarchy_spectrum(branching, eps, 100)
    C = spec.covariance()
    P = C.shape[0]
    np.testing.assert_allclose(spec.modes.T @ spec.modes, np.eye(P), atol=ATOL_EXACT)
    np.testing.assert_allclose(C @ spec.modes, spec.modes * spec.eig, atol=ATOL_EXACT)
    np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(C))[::-1], spec.eig, atol=ATOL_EXACT)
    assert spec.multiplicity.sum() == P
    assert np.all(np.diff(spec.eig_level) <= ATOL_EXACT)  # broad levels are the strongest
    # limits: eps = 0.5 -> independent items (C = I); eps = 0 -> all items identical (rank one)
    if eps == 0.5:
        np.testing.assert_allclose(C, np.eye(P), atol=ATOL_EXACT)
    if eps == 0.0:
        np.testing.assert_allclose(spec.eig, np.r_[P, np.zeros(P - 1)], atol=ATOL_EXACT)


def test_hierarchy_sampled_singular_values_converge(seed):
    branching, eps = (2, 2, 2), 0.1
    errs = {}
    for N in (500, 8000):
        spec = hierarchy_spectrum(branching, eps, N)
        e = []
        for k in range(6):
            _, Y, _ = hierarchical_data(branching, N, eps, seed=seed + k)
            s = np.linalg.svd(Y / Y.shape[1], compute_uv=False)
            e.append(np.max(np.abs(s - spec.s)) / spec.s[0])
        errs[N] = float(np.mean(e))
    assert errs[500] / errs[8000] > SAMPLING_SHRINK, errs
    # and the sampled item analyzers span the analytic level subspaces
    spec = hierarchy_spectrum(branching, eps, 20000)
    _, Y, _ = hierarchical_data(branching, 20000, eps, seed=seed)
    _, _, Vt = np.linalg.svd(Y, full_matrices=False)
    for k in range(spec.tree.n_levels):
        Vk = Vt[spec.level == k].T
        Mk = spec.modes[:, spec.level == k]
        overlap = np.linalg.svd(Mk.T @ Vk, compute_uv=False)
        assert overlap.min() > 0.9, (k, overlap)


@pytest.mark.parametrize("kind", STRUCTURES)
def test_structure_analytic_eigendecomposition(kind):
    kw = {"n_clusters": 4} if kind == "clusters" else {}
    st = structure(kind, 16, **kw)
    np.testing.assert_allclose(st.modes.T @ st.modes, np.eye(16), atol=ATOL_EXACT)
    np.testing.assert_allclose(st.C @ st.modes, st.modes * st.eig, atol=ATOL_EXACT)
    np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(st.C))[::-1], st.eig, atol=ATOL_EXACT)
    assert np.all(np.diff(st.eig) <= ATOL_EXACT)


def test_ring_modes_are_fourier_modes():
    st = structure("ring", 12)
    C = st.C
    # circulant: every row is a shift of the first; its eigenvalues are the DFT of that row
    for i in range(12):
        np.testing.assert_allclose(C[i], np.roll(C[0], i), atol=ATOL_EXACT)
    np.testing.assert_allclose(np.sort(np.fft.fft(C[0]).real)[::-1], st.eig, atol=ATOL_EXACT)
    # each analytic mode has a single spatial frequency
    for v, lab in zip(st.modes.T, st.label):
        k = int(lab.split("=")[1])
        power = np.abs(np.fft.fft(v)) ** 2
        assert power[sorted({k, (12 - k) % 12})].sum() == pytest.approx(power.sum(), rel=1e-9)


@pytest.mark.parametrize("kind", ["ring", "chain", "grid"])
def test_structure_sampled_spectrum_converges(kind, seed):
    st = structure(kind, 16)
    errs = []
    for N in (400, 6400):
        e = [np.max(np.abs(np.linalg.svd(st.sample(N, seed + k) / 16, compute_uv=False) - st.singular_values(N)))
             / st.singular_values(N)[0] for k in range(5)]
        errs.append(np.mean(e))
    assert errs[0] / errs[1] > SAMPLING_SHRINK, errs


# ------------------------------------------------------------------ theory vs ODE
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_semantic_theory_matches_full_weight_ode(lt, depth):
    _, _, Y = lt
    u0 = 1e-3
    th = SemanticTheory(Y, depth=depth, u0=u0)
    t = np.array([0.0, 2.0, 6.0, 10.0, 15.0, 25.0, 40.0])
    maps = _ode(_balanced(th, depth, u0), Y, t)
    np.testing.assert_allclose(maps, th.output(t), atol=ATOL_ODE * np.abs(Y).max())
    # the projection of the ODE's map on U, V recovers the mode strengths
    np.testing.assert_allclose(th.project(maps), th.mode_strengths(t), atol=ATOL_ODE * np.abs(Y).max())


def test_limits_t0_tinf_and_deep_shallow_same_final_map(lt):
    _, _, Y = lt
    finals = []
    for D in (1, 2, 3):
        th = SemanticTheory(Y, depth=D, u0=1e-3)
        np.testing.assert_allclose(th.mode_strengths(0.0), 1e-3, atol=ATOL_EXACT)
        finals.append(th.output(np.inf))
        np.testing.assert_allclose(th.loss(np.inf), 0.0, atol=ATOL_EXACT)
    for F in finals:
        np.testing.assert_allclose(F, Y, atol=ATOL_EXACT)
    # trained networks: shallow and deep reach the same map (the least-squares solution Y)
    X = one_hot(8)
    out = {}
    for D, steps in ((1, 3000), (2, 3000)):
        run = train(X, Y, D, 16, 4, "small", 0.05, 0.5, steps, record=5, seed=1)
        out[D] = run.maps[:, -1]
    np.testing.assert_allclose(out[1], out[2], atol=1e-3)
    np.testing.assert_allclose(out[2], np.broadcast_to(Y, out[2].shape), atol=1e-3)


# ------------------------------------------------------------------ theory vs trained networks
def test_decoupled_gd_matches_theory_first_order_in_lr(lt):
    _, _, Y = lt
    X = one_hot(8)
    u0 = 1e-3
    th = SemanticTheory(Y, depth=2, u0=u0)
    errs = []
    for lr in (0.02, 0.01):
        steps = int(40 / lr)
        run = train(X, Y, 2, 8, 2, "decoupled", u0, lr, steps, record=60, seed=0)
        errs.append(np.max(np.abs(run.maps - th.output(run.times))) / np.abs(Y).max())
    assert errs[1] < RTOL_GD, errs
    assert 1.6 < errs[0] / errs[1] < 2.4, errs  # first order in lr


def test_random_init_ensemble_approaches_decoupled_theory(lt, seed):
    _, _, Y = lt
    nh, u0 = 64, 1e-3
    scale = np.sqrt(2 * u0 / nh)
    th = SemanticTheory(Y, depth=2, u0=effective_u0(scale, nh))
    run = train(one_hot(8), Y, 2, nh, 24, "small", scale, 0.01, 4000, record=400, log=False, seed=seed)
    t_sim = crossing_times(run.times, th.project(run.maps), th.u_final).mean(0)
    np.testing.assert_allclose(t_sim, th.differentiation_times(), rtol=RTOL_RANDOM_INIT)


def test_rsa_matches_trained_hidden_layer(lt, seed):
    _, _, Y = lt
    nh, u0 = 64, 1e-3
    scale = np.sqrt(2 * u0 / nh)
    th = SemanticTheory(Y, depth=2, u0=effective_u0(scale, nh))
    run = train(one_hot(8), Y, 2, nh, 12, "small", scale, 0.01, 4000, record=40, seed=seed, return_weights=True)
    W1 = run.weights[0]  # (E, R, nh, P); hidden representation of item i is W1 e_i
    K_sim = np.einsum("erhi,erhj->erij", W1, W1).mean(0)
    K_th = th.similarity(run.times)
    late = run.times > th.differentiation_times()[0]
    r = rsa_correlation(K_th[late], K_sim[late])
    assert r.min() > 0.97, r
    # at the end the similarity is (Y^T Y)^{1/2}: the same for any network that fits Y from small weights
    w, E = np.linalg.eigh(Y.T @ Y)
    np.testing.assert_allclose(th.similarity(np.inf), (E * np.sqrt(w)) @ E.T, atol=1e-9)


def test_depth3_decoupled_gd_matches_theory(lt):
    _, _, Y = lt
    u0 = 1e-3
    th = SemanticTheory(Y, depth=3, u0=u0)
    run = train(one_hot(8), Y, 3, 8, 2, "decoupled", u0, 0.01, 6000, record=60, seed=0)
    assert np.max(np.abs(run.maps - th.output(run.times))) < RTOL_GD * np.abs(Y).max()


def test_differentiation_order_by_hierarchical_level(seed):
    branching, eps, N = (2, 2, 2), 0.1, 3000
    spec = hierarchy_spectrum(branching, eps, N)
    # analytic: strictly later for finer levels
    th_an = SemanticTheory(np.diag(spec.s * 8), depth=2, u0=1e-3)  # a data set with exactly the analytic s
    t_an = th_an.differentiation_times()
    for k in range(spec.tree.n_levels - 1):
        assert t_an[spec.level == k].max() < t_an[spec.level == k + 1].min()
    # sampled data and trained (random init) networks: level means ordered the same way
    _, Y, _ = hierarchical_data(branching, N, eps, seed=seed)
    nh, u0 = 32, 1e-3
    scale = np.sqrt(2 * u0 / nh)
    th = SemanticTheory(Y, depth=2, u0=effective_u0(scale, nh))
    lr = 0.2 / th.s[0]
    run = train(one_hot(8), Y, 2, nh, 8, "small", scale, lr, int(2 * th.differentiation_times()[-1] / lr),
                record=300, log=False, seed=seed)
    t_sim = crossing_times(run.times, th.project(run.maps), th.u_final).mean(0)
    level_means = [t_sim[spec.level == k].mean() for k in range(spec.tree.n_levels)]
    assert np.all(np.diff(level_means) > 0), level_means
    assert np.all(np.diff(th.differentiation_times()) >= 0)


# ------------------------------------------------------------------ phenomena
def test_illusory_correlations_deep_but_not_shallow(lt):
    items, feats, Y = lt
    t = np.geomspace(1e-2, 300, 600)
    ic2 = SemanticTheory(Y, depth=2, u0=1e-3).illusory_correlations(t)
    ic3 = SemanticTheory(Y, depth=3, u0=1e-3).illusory_correlations(t)
    ic1 = SemanticTheory(Y, depth=1, u0=1e-3).illusory_correlations(t)
    assert len(ic1) == 0
    assert len(ic2) > 0 and len(ic3) > 0 and ic2.size[0] > 0.3
    # the strongest one: pine "has leaves" like the other plants, before the pine mode is learned
    assert (feats[ic2.feature[0]], items[ic2.item[0]]) == ("has leaves", "pine")
    # trained networks: the same entry overshoots in the deep net and rises monotonically in the shallow
    m, i = ic2.feature[0], ic2.item[0]
    X = one_hot(8)
    deep = train(X, Y, 2, 8, 2, "decoupled", 1e-3, 0.02, 3000, record=200, seed=0).maps[:, :, m, i]
    shallow = train(X, Y, 1, 8, 2, "small", 1e-3, 0.5, 3000, record=200, seed=0).maps[:, :, m, i]
    assert deep.max() > 0.8 * ic2.size[0]
    d = np.diff(np.abs(shallow - Y[m, i]), axis=1)
    assert np.all(d <= 1e-12)  # monotone approach to the target


def test_inductive_projection_narrows_over_development(lt):
    items, _, Y = lt
    th = SemanticTheory(Y, depth=2, u0=1e-3)
    canary, robin, salmon, oak = (items.index(n) for n in ("canary", "robin", "salmon", "oak"))
    td = th.differentiation_times()
    early = 0.5 * (td[1] + td[2])  # animal/plant learned, bird/fish not yet
    g_early, g_late = th.inductive_projection(np.array([early, np.inf]), canary)
    assert g_early[canary] == pytest.approx(1.0) and g_late[canary] == pytest.approx(1.0)
    assert g_early[salmon] > 0.5 * g_early[robin]  # generalises to all animals ...
    assert g_early[salmon] > 2 * g_early[oak]  # ... much more than to plants
    assert g_late[robin] > 2 * g_late[salmon]  # later, mostly to birds
    # t = 0: all modes at u0, K = u0 I -> no generalisation at all
    np.testing.assert_allclose(th.inductive_projection(0.0, canary), np.eye(8)[canary], atol=ATOL_EXACT)
    # against an explicit new readout trained by GD on the frozen hidden layer of trained networks
    run = train(one_hot(8), Y, 2, 8, 1, "decoupled", 1e-3, 0.01, int(early / 0.01), record=[int(early / 0.01)],
                return_weights=True, seed=0)
    H = run.weights[0][0, -1]  # (hidden, P)
    w = np.zeros(H.shape[0])
    lr_w = 0.5 / (H[:, canary] @ H[:, canary])
    for _ in range(200):
        w += lr_w * (1.0 - w @ H[:, canary]) * H[:, canary]
    np.testing.assert_allclose(w @ H, th.inductive_projection(run.times[-1], canary), atol=RTOL_GD)
    # novel item with a familiar feature: "can fly" projects to "has wings", not to "has roots"
    _, feats, _ = living_things()
    f = th.feature_projection(np.inf, feats.index("can fly"))
    assert f[feats.index("has wings")] > 0.5 > f[feats.index("has roots")] + 0.4


def test_item_typicality_and_prototype_are_the_svd(lt):
    items, _, Y = lt
    th = SemanticTheory(Y, depth=2)
    for a in range(th.n_modes):
        np.testing.assert_allclose(th.item_typicality(a), th.V[:, a], atol=ATOL_EXACT)
        np.testing.assert_allclose(th.category_prototype(a), th.U[:, a], atol=ATOL_EXACT)
    # the animal/plant axis (mode 1): all animals on one side, all plants on the other
    v = th.item_typicality(1)
    assert len(set(np.sign(v[:4]))) == 1 and len(set(np.sign(v[4:]))) == 1 and np.sign(v[0]) != np.sign(v[4])
    # typicality is the projection of the item's features on the prototype: v = u.y / (P s)
    np.testing.assert_allclose(v, th.category_prototype(1) @ Y / (8 * th.s[1]), atol=ATOL_EXACT)


def test_category_coherence_threshold_and_singular_value(seed):
    rng = np.random.default_rng(seed)
    n, k, q = 400, 40, 0.2

    def top_sv(p):
        Y = (rng.random((n, n)) < q).astype(float)
        Y[:k, :k] = rng.random((k, k)) < p
        return np.linalg.svd(Y - q, compute_uv=False)[0]

    for p in (0.5, 0.3):  # coherence 2.25 (learnable) and 0.25 (lost in the bulk)
        C = category_coherence(p, q, k, k, n, n)
        pred = category_singular_value(p, q, k, k, n, n)
        sim = np.mean([top_sv(p) for _ in range(4)])
        assert sim == pytest.approx(pred, rel=RTOL_SPIKE), (C, sim, pred)
    edge = np.sqrt(q * (1 - q)) * 2 * np.sqrt(n)
    assert category_singular_value(0.3, q, k, k, n, n) == pytest.approx(edge)
    assert category_singular_value(0.5, q, k, k, n, n) > 1.05 * edge


def test_mds_embedding_and_alignment(lt):
    _, _, Y = lt
    th = SemanticTheory(Y, depth=2, u0=1e-3)
    t = np.geomspace(1, 60, 200)
    Z = th.mds(t, dims=2)
    assert Z.shape == (200, 8, 2)
    # a rotated copy of the same representations gives the same embedding up to rotation
    H = th.hidden(t)
    Q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((8, 8)))
    Z2 = joint_embedding(np.einsum("ab,tbi->tai", Q, H))
    _, err = procrustes_align(Z2, Z)
    assert err < 1e-9
    # progressive differentiation: dimension 1 (animal/plant) opens before dimension 2
    spread = np.ptp(Z, axis=1) / np.ptp(Z[-1], axis=0)  # (T, 2), fraction of the final spread
    t_open = [t[np.argmax(spread[:, d] >= 0.5)] for d in range(2)]
    td = th.differentiation_times()
    assert t_open[0] < t_open[1]
    assert td[0] < t_open[0] < td[2] and td[1] < t_open[1]


def test_crossing_times_interpolates():
    t = np.array([0.0, 1.0, 2.0, 3.0])
    u = np.array([[0.0, 0.0], [0.2, 0.0], [0.6, 0.1], [1.0, 0.2]])
    np.testing.assert_allclose(crossing_times(t, u, np.ones(2)), [1.75, np.nan])


# ------------------------------------------------------------------ nonlinear networks
def test_mlp_linear_activation_equals_deep_linear(lt):
    _, _, Y = lt
    X = one_hot(8)
    a = train_mlp(X, Y, hidden=16, activation="linear", n_networks=3, init_scale=0.05, lr=0.05, steps=300,
                  record=10, seed=4)
    b = train(X, Y, 2, 16, 3, "small", 0.05, 0.05, 300, record=10, seed=4)
    np.testing.assert_allclose(a.outputs, b.maps, atol=ATOL_EXACT)
    np.testing.assert_allclose(a.losses, b.losses, atol=ATOL_EXACT)


def test_mlp_returns_the_shared_run_and_old_names_still_work(lt):
    from idealnets.simulate import Run
    from idealnets.simulate import semantic

    _, _, Y = lt
    run = train_mlp(one_hot(8), Y, hidden=[6, 5], n_networks=2, lr=0.05, steps=20, record=4)
    assert isinstance(run, Run) and semantic.MLPRun is Run
    assert run.outputs.shape == (2, 4, Y.shape[0], 8) and [h.shape[2] for h in run.hidden] == [6, 5]
    assert run.hidden[1] is run.state["hidden2"]
    with pytest.warns(DeprecationWarning, match="stable_lr"):
        assert semantic.stable_lr_mlp(one_hot(8), Y, 3) == semantic.stable_lr(one_hot(8), Y, 3)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_nonlinear_networks_differentiate_broad_before_fine(lt, activation, seed):
    """Linear theory as a qualitative prediction: same final map, the broad modes in the same order.

    Measured (not asserted beyond what is stated): tanh half-times stay within ~10% of the linear
    theory; ReLU learns the broadest mode ~20% later and the finest item modes ~25% earlier.
    """
    _, _, Y = lt
    nh, u0 = 32, 1e-3
    scale = np.sqrt(2 * u0 / nh)
    th = SemanticTheory(Y, depth=2, u0=effective_u0(scale, nh))
    run = train_mlp(one_hot(8), Y, hidden=nh, activation=activation, n_networks=12, init_scale=scale, lr=0.05,
                    steps=1600, record=200, log=False, seed=seed)
    u = th.project(run.outputs)
    np.testing.assert_allclose(u[:, -1].mean(0), th.u_final, rtol=1e-3)  # fits Y
    t_sim = crossing_times(run.times, u, th.u_final).mean(0)
    assert np.all(np.diff(t_sim[:3]) > 0), t_sim  # living thing < animal/plant < bird/fish or tree/flower
    ratio = t_sim / th.differentiation_times()
    assert np.all((ratio > 0.6) & (ratio < 1.4)), ratio


def test_two_hidden_layer_networks_fit_and_differentiate(lt, seed):
    _, _, Y = lt
    th = SemanticTheory(Y, depth=3, u0=1e-3)
    for act in ("tanh", "relu"):
        run = train_mlp(one_hot(8), Y, hidden=[32, 32], activation=act, n_networks=8, init_scale=0.1, lr=0.05,
                        steps=1500, record=150, log=False, seed=seed)
        u = th.project(run.outputs)
        assert np.allclose(u[:, -1].mean(0), th.u_final, rtol=1e-2), act
        t_sim = crossing_times(run.times, u, th.u_final).mean(0)
        assert t_sim[0] < t_sim[1] < t_sim[2], (act, t_sim)


# ------------------------------------------------------------------ bad input
def test_bad_input_raises_clear_errors(lt):
    _, _, Y = lt
    with pytest.raises(ValueError, match="2-D"):
        SemanticTheory(Y[:, 0])
    with pytest.raises(ValueError, match="2-D"):
        SemanticTheory(Y[None])
    with pytest.raises(ValueError, match="item names"):
        SemanticTheory(Y, items=["a", "b"])
    with pytest.raises(ValueError, match="no hidden layer"):
        SemanticTheory(Y, depth=1).similarity(1.0)
    with pytest.raises(ValueError, match=">= 2"):
        hierarchical_data((2, 1), 10, 0.1)
    with pytest.raises(ValueError, match=">= 2"):
        hierarchy_spectrum((3, 2.5), 0.1, 10)
    with pytest.raises(ValueError, match="flip_prob"):
        hierarchical_data((2, 2), 10, 0.6)
    with pytest.raises(ValueError, match="flip_prob"):
        hierarchy_spectrum((2, 2), -0.1, 10)
    with pytest.raises(ValueError, match="kind"):
        structure("torus", 16)
    with pytest.raises(ValueError, match="perfect square"):
        structure("grid", 15)
    with pytest.raises(ValueError, match="dividing"):
        structure("clusters", 10, n_clusters=3)
    with pytest.raises(ValueError, match="k_items"):
        category_coherence(0.5, 0.2, 50, 10, 40, 40)
    with pytest.raises(ValueError, match="activation"):
        train_mlp(one_hot(8), Y, activation="gelu")
    with pytest.raises(ValueError, match="same P"):
        train_mlp(one_hot(7), Y)


def test_mlp_divergence_names_learning_rate(lt):
    _, _, Y = lt
    with pytest.raises(DivergenceError, match="lr="):
        train_mlp(one_hot(8), Y, hidden=16, activation="tanh", n_networks=2, init_scale=0.3, lr=50.0, steps=200,
                  record=50)


def test_train_from_decoupled_stays_decoupled(lt):
    """Balanced aligned weights stay aligned: the map's off-diagonal in the SVD basis stays ~0."""
    _, _, Y = lt
    th = SemanticTheory(Y, depth=2, u0=1e-3)
    run = train_from(_balanced(th, 2, 1e-3), one_hot(8), Y, lr=0.01, steps=3000, record=20)
    Mhat = np.einsum("ma,ermi,ib->erab", th.U, run.maps, th.V)  # (E, R, modes, modes)
    off = Mhat - np.einsum("erab,ab->erab", Mhat, np.eye(th.n_modes))
    assert np.abs(off).max() < 1e-8


def test_random_init_deviation_shrinks_with_width(lt, seed):
    """Random small init approaches the decoupled theory as the hidden layer widens.

    At width ~ P the half-times run late by several percent (the random init's hidden
    directions are shared among modes); the effective-u0 picture becomes exact as width grows.
    """
    _, _, Y = lt
    devs = []
    for nh in (16, 128):
        scale = np.sqrt(2e-3 / nh)
        th = SemanticTheory(Y, depth=2, u0=effective_u0(scale, nh))
        run = train(one_hot(8), Y, 2, nh, 12, "small", scale, 0.02, 2000, record=300, log=False, seed=seed)
        t_sim = crossing_times(run.times, th.project(run.maps), th.u_final).mean(0)
        devs.append(np.max(np.abs(t_sim / th.differentiation_times() - 1)))
    assert devs[1] < devs[0] / 2.5, devs


@pytest.mark.slow
def test_wide_random_init_matches_theory_per_mode_on_hierarchy(seed):
    """Full size: 16-item hierarchy, width 512, small lr -- every mode's half-time within 1.5%.

    Residual budget: GD vs flow s lr / 2 ~ 0.6%, u0 chi-square spread sqrt(2/512)/ln(s/(c u0))/sqrt(E)
    ~ 0.2%, finite width (~1/width, measured 0.3-0.6%).
    """
    _, Y, _ = hierarchical_data((2, 2, 2, 2), 64, 0.1, seed=seed)  # few features: the cost is in W2
    nh = 512
    scale = np.sqrt(2e-3 / nh)
    th = SemanticTheory(Y, depth=2, u0=effective_u0(scale, nh))
    t_th = th.differentiation_times()
    lr = 0.0125 / th.s[0]
    run = train(one_hot(16), Y, 2, nh, 12, "small", scale, lr, int(1.3 * t_th[-1] / lr), record=600, log=False,
                seed=seed)
    t_sim = crossing_times(run.times, th.project(run.maps), th.u_final).mean(0)
    np.testing.assert_allclose(t_sim, t_th, rtol=0.015)


def test_deep_similarity_per_layer_matches_trained(lt):
    """D = 3: K_l(t) = V A^{2l/3} V^T for both hidden layers of decoupled networks trained by GD."""
    _, _, Y = lt
    th = SemanticTheory(Y, depth=3, u0=1e-3)
    run = train(one_hot(8), Y, 3, 8, 2, "decoupled", 1e-3, 0.005, 12000, record=30, seed=0, return_weights=True)
    W1, W2 = run.weights[0], run.weights[1]
    H1 = W1
    H2 = np.einsum("erab,erbi->erai", W2, W1)
    for layer, H in ((1, H1), (2, H2)):
        K_sim = np.einsum("erhi,erhj->erij", H, H)
        K_th = th.similarity(run.times, layer=layer)
        scale = np.abs(K_th[-1]).max()
        assert np.max(np.abs(K_sim - K_th)) < RTOL_GD * scale, layer
