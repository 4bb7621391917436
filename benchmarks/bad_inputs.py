"""Throw bad and edge-case inputs at the public API of theory/ and simulate/ (issue 16).

Each case runs in a forked child with a wall-clock limit, so a hang is seen as a
hang. A case *misbehaves* when it

* hangs (no answer within ``--timeout`` seconds),
* returns NaN (or inf where inf is not a documented answer),
* raises anything but ValueError/TypeError (DivergenceError is the right answer
  only for the cases marked ``diverge``),
* returns a value for an input it should refuse (``refuse``), or refuses one it
  should accept (``ok``).

Usage: ``python benchmarks/bad_inputs.py [--timeout 10] [--verbose]``; prints one
line per misbehaving case and a summary count. The committee modules are left
to their own sweep. Cases are built from one valid call per function with one
argument at a time replaced by a bad value.
"""
from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import sys
import traceback

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CASES: list[tuple[str, object, str]] = []  # (name, thunk, expect) expect: refuse | ok | either | diverge


def case(name, fn, expect="refuse"):
    CASES.append((name, fn, "either" if name in VALID_BY_API else expect))


NAN, INF = float("nan"), float("inf")
BAD_FLOAT = [("nan", NAN), ("inf", INF), ("-inf", -INF), ("str", "a"), ("None", None), ("list", [1.0, 2.0]),
             ("complex", 1 + 1j)]
BAD_POS = BAD_FLOAT + [("neg", -1.0)]
BAD_INT = [("float", 2.5), ("neg", -1), ("str", "3"), ("None", None), ("bool", True), ("nan", NAN)]


def arr_bad(a):
    a = np.asarray(a, dtype=float)
    n = a.copy(); n.flat[0] = NAN
    i = a.copy(); i.flat[0] = INF
    return [("nan", n), ("inf", i), ("1d", a.ravel()), ("3d", a[None]), ("empty", np.zeros((0,) * a.ndim)),
            ("str", "abc"), ("None", None), ("bool", a > 0), ("complex", a + 0j)]


# (case name) -> expectation for substitutions that look bad but are valid by the documented API:
# vectorised arguments take lists (they broadcast), None is a documented default, a (P,) target
# vector is one output, a stack of matrices broadcasts in rsa_correlation, device names are
# case-insensitive, crossing_times documents NaN for a level that is never reached, and runs just
# above an *approximate* stable limit may converge (deep linear networks find flatter minima; wide
# finite networks "catapult", Lewkowycz et al. 2020) -- they must not return NaN, but need not raise.
VALID_BY_API = {
    "learning_time(s=list)", "learning_time(u_final=list)", "time_integral(a=list)", "time_integral(s=list)",
    "mode_rate(s=list)", "DeepLinearTheory(u0=list)", "DeepLinearTheory.weights(hidden=None)",
    "u0_through(t1=list)", "whitened_task(n_samples=None)", "converged_test_error(alpha=list)",
    "converged_train_error(alpha=list)", "finite_size_errors(y=1d)", "finite_size_errors(w0=1d)",
    "finite_size_errors(lr=None)", "rsa_correlation(K1=3d)", "crossing_times(u_final=zero)",
    "SemanticTheory.inductive_projection(item)(layer=None)", "gradient_descent_mse(y_train=1d)",
    "gradient_flow_mean(y_train=1d)", "sim.deep_linear.train(device=CPU)", "sim.sample_data(device=CPU)",
    "sim.train_deep_linear(hidden=None)", "sim.train_relu(lr=None)", "sim.ntk.train(y_train=1d)",
    "sim.deep_linear.train(lr=1.1 stable)", "sim.ntk.train(lr=1.5 max)",
}


def mutate(name, fn, base: dict, bad: dict[str, list], expect="refuse"):
    """One case per (argument, bad value): fn(**base with that argument replaced)."""
    for arg, vals in bad.items():
        for label, v in vals:
            kw = dict(base)
            kw[arg] = v
            case(f"{name}({arg}={label})", (lambda kw=kw: fn(**kw)), expect)


def build():
    from idealnets.theory import deep_linear as dl, lambda_balanced as lb, generalization as ge, semantic as se
    from idealnets.theory import ntk as nt, datasets as ds

    rng = np.random.default_rng(0)
    X = np.eye(3) * np.sqrt(3.0)
    X = np.linalg.qr(rng.standard_normal((3, 3)))[0] * np.sqrt(3.0)
    Y = rng.standard_normal((2, 3))
    T_BAD = [("nan", np.array([0.0, NAN])), ("neg", -1.0), ("str", "t"), ("None", None), ("complex", 1j)]

    # ---- theory.deep_linear
    mutate("mode_strength", dl.mode_strength, dict(t=[0, 1, np.inf], s=2.0, u0=1e-3, depth=3),
           {"t": T_BAD, "s": BAD_POS, "u0": BAD_POS, "depth": BAD_INT + [("zero", 0)], "tau": BAD_POS + [("0", 0.0)]})
    for D in (1, 2, 3, 4):
        case(f"mode_strength(s=0,D={D})", lambda D=D: dl.mode_strength([0, 1, np.inf], 0.0, 0.5, D), "ok")
        case(f"mode_strength(u0=0,D={D})", lambda D=D: dl.mode_strength([0, 1, np.inf], 1.0, 0.0, D), "ok")
        case(f"mode_strength(t=1e12,D={D})", lambda D=D: dl.mode_strength(1e12, 1.0, 1e-3, D), "ok")
        case(f"mode_strength(u0>s,D={D})", lambda D=D: dl.mode_strength([0, 1, np.inf], 1.0, 3.0, D), "ok")
    mutate("learning_time", dl.learning_time, dict(s=2.0, u0=1e-3, u_final=1.0, depth=3),
           {"s": BAD_POS + [("0", 0.0)], "u0": BAD_POS, "u_final": BAD_FLOAT, "depth": BAD_INT, "tau": BAD_POS})
    mutate("time_integral", dl.time_integral, dict(a=0.5, s=1.0, depth=3),
           {"a": BAD_POS, "s": BAD_POS + [("0", 0.0)], "depth": BAD_INT + [("2", 2)]})
    mutate("mode_rate", dl.mode_rate, dict(s=1.0, depth=2), {"s": BAD_POS, "depth": BAD_INT, "tau": BAD_POS})
    mutate("DeepLinearTheory", dl.DeepLinearTheory, dict(X=X, Y=Y, depth=2),
           {"X": arr_bad(X), "Y": arr_bad(Y), "depth": BAD_INT + [("0", 0)], "u0": BAD_POS + [("wrongsize", [1, 2, 3, 4])],
            "tau": BAD_POS})
    case("DeepLinearTheory(X=zeros)", lambda: dl.DeepLinearTheory(np.zeros((3, 3)), Y))
    case("DeepLinearTheory(Y=zeros)", lambda: dl.DeepLinearTheory(X, np.zeros((2, 3))).loss([0, 1, np.inf]), "ok")
    case("DeepLinearTheory(Y=rank1,D=3)", lambda: dl.DeepLinearTheory(X, np.outer([1, 2], [1, 0, 0.]), depth=3).map([0, 5, np.inf]), "ok")
    case("DeepLinearTheory(P mismatch)", lambda: dl.DeepLinearTheory(X, Y[:, :2]))
    th = dl.DeepLinearTheory(X, Y, depth=3)
    for m in ("map", "loss", "mode_strengths"):
        mutate(f"DeepLinearTheory.{m}", getattr(th, m), dict(t=[0.0, 1.0]), {"t": T_BAD})
        case(f"DeepLinearTheory.{m}(t=1e12)", lambda m=m: getattr(th, m)([1e12, np.inf]), "ok")
    mutate("DeepLinearTheory.weights", th.weights, dict(t=1.0), {"t": T_BAD, "hidden": BAD_INT + [("1", 1)],
                                                                "seed": BAD_INT})
    mutate("DeepLinearTheory.learning_times", th.learning_times, dict(fraction=0.5),
           {"fraction": BAD_FLOAT + [("0", 0.0), ("1", 1.0), ("2", 2.0)]})
    W = [rng.standard_normal((4, 3)) * 0.1, rng.standard_normal((2, 4)) * 0.1]
    Sxx, Syx = X @ X.T / 3, Y @ X.T / 3
    mutate("integrate_gradient_flow", dl.integrate_gradient_flow, dict(weights=W, Sxx=Sxx, Syx=Syx, t=[0, 1.0]),
           {"t": T_BAD + [("inf", [0, np.inf]), ("unsorted", [1.0, 0.0])], "Sxx": arr_bad(Sxx), "Syx": arr_bad(Syx),
            "tau": BAD_POS, "rtol": BAD_POS, "weights": [("empty", []), ("nan", [W[0] * NAN, W[1]]), ("None", None)]})
    case("integrate_gradient_flow(t=[0,1,1])", lambda: dl.integrate_gradient_flow(W, Sxx, Syx, [0, 1, 1]), "ok")
    case("integrate_gradient_flow(t=[])", lambda: dl.integrate_gradient_flow(W, Sxx, Syx, []), "ok")
    mutate("effective_u0_two_layer", dl.effective_u0_two_layer, dict(W1=W[0], W2=W[1], U=th.U, V=th.V),
           {"W1": arr_bad(W[0])[:2], "W2": arr_bad(W[1])[:2]})
    mutate("u0_through", dl.u0_through, dict(s=2.0, t1=3.0, u1=1.0, depth=3),
           {"s": BAD_POS, "t1": BAD_POS, "u1": BAD_POS, "depth": BAD_INT})
    mutate("balancedness", dl.balancedness, dict(weights=W), {"weights": [("None", None), ("str", "ab"),
                                                                           ("nan", [W[0] * NAN, W[1]])]})
    mutate("depth_learning_rate", dl.depth_learning_rate, dict(s_max=2.0, depth=3),
           {"s_max": BAD_POS + [("0", 0.0)], "depth": BAD_INT, "kappa": BAD_FLOAT, "tau": BAD_POS})
    mutate("pretrained_learning_time", dl.pretrained_learning_time, dict(s=2.0, u_final=1.0, depth=3),
           {"s": BAD_POS, "u_final": BAD_POS, "depth": BAD_INT, "c0": BAD_FLOAT, "b0": BAD_POS})
    mutate("orthogonal_eigen_trajectory", dl.orthogonal_eigen_trajectory,
           dict(t=[0, 1.0, np.inf], lam0=np.exp(1j * np.array([0.3, -0.3])), s=2.0, depth=3),
           {"t": T_BAD, "s": BAD_POS + [("0", 0.0)], "depth": BAD_INT, "lam0": [("nan", [NAN]), ("None", None)]})
    mutate("orthogonal_learning_time", dl.orthogonal_learning_time,
           dict(lam0=np.exp(1j * np.array([0.3, -0.3])), s=2.0, depth=3),
           {"s": BAD_POS + [("0", 0.0)], "depth": BAD_INT, "delta": BAD_FLOAT + [("0", 0.0)],
            "lam0": [("nan", [NAN]), ("None", None), ("empty", [])]})
    mutate("depth_learning_steps", dl.depth_learning_steps, dict(depths=[1, 2, 3], init="small", s=2.0),
           {"depths": [("0", [0]), ("float", [2.5]), ("str", "ab"), ("nan", [NAN])], "init": [("bad", "big"), ("None", None)],
            "s": BAD_POS, "delta": BAD_FLOAT, "kappa": BAD_FLOAT, "gain": BAD_POS})

    # ---- theory.lambda_balanced
    Xw, Yw = lb.whitened_task(3, 2, [2.0, 1.0], seed=0)
    W1, W2 = lb.lambda_balanced_init(3, 2, 2, 0.5, 0.3, seed=0)
    mutate("lambda_balanced_init", lb.lambda_balanced_init, dict(n_in=3, n_hidden=2, n_out=2, lam=0.5, scale=0.3),
           {"n_in": BAD_INT, "n_hidden": BAD_INT, "lam": BAD_FLOAT, "scale": BAD_POS, "seed": BAD_INT,
            "size": [("neg", -1), ("float", 2.5)]})
    mutate("whitened_task", lb.whitened_task, dict(n_in=3, n_out=2, s=[2.0, 1.0]),
           {"n_in": BAD_INT, "s": [("nan", [NAN]), ("neg", [-1.0]), ("str", "a")], "n_samples": BAD_INT})
    mutate("TwoLayerExact", lb.TwoLayerExact, dict(W1_0=W1, W2_0=W2, X=Xw, Y=Yw),
           {"W1_0": arr_bad(W1), "X": arr_bad(Xw)[:3], "Y": arr_bad(Yw)[:3], "tau": BAD_POS})
    ex = lb.TwoLayerExact(W1, W2, Xw, Yw)
    for m in ("map", "loss", "qqt"):
        mutate(f"TwoLayerExact.{m}", getattr(ex, m), dict(t=[0.0, 1.0]), {"t": T_BAD})
        case(f"TwoLayerExact.{m}(t=1e12)", lambda m=m: getattr(ex, m)([1e12, np.inf]), "ok")
    mutate("TwoLayerExact.then", ex.then, dict(X=Xw, Y=Yw, t_switch=1.0), {"t_switch": BAD_POS})
    mutate("lazy_map", lb.lazy_map, dict(t=[0, 1.0], W1_0=W1, W2_0=W2, X=Xw, Y=Yw),
           {"t": T_BAD, "W1_0": arr_bad(W1)[:3], "tau": BAD_POS})
    mutate("free_scale", lb.free_scale, dict(lam=0.5, map_scale=1.0), {"lam": BAD_FLOAT, "map_scale": BAD_POS})
    mutate("balance_parameter", lb.balance_parameter, dict(W1=W1, W2=W2), {"W1": arr_bad(W1)[:3]})
    mutate("ntk(lb)", lb.ntk, dict(W1=W1, W2=W2), {"W1": arr_bad(W1)[:3]})
    mutate("kernel_distance", lb.kernel_distance, dict(K0=np.eye(2), K1=np.eye(2)), {"K0": arr_bad(np.eye(2))[:3]})
    mutate("task_loss", lb.task_loss, dict(W=W2 @ W1, X=Xw, Y=Yw), {"W": arr_bad(W2 @ W1)[:3], "X": arr_bad(Xw)[:3]})
    mutate("riccati_matrix", lb.riccati_matrix, dict(Syx=Yw @ Xw.T / 3, lam=0.5), {"lam": BAD_FLOAT,
                                                                                   "Syx": arr_bad(Yw @ Xw.T)[:3]})

    # ---- theory.generalization
    mutate("LinearStudentTheory", ge.LinearStudentTheory, dict(alpha=2.0),
           {"alpha": BAD_POS + [("0", 0.0)], "sigma_w": BAD_POS, "sigma_eps": BAD_POS, "sigma_0": BAD_POS,
            "tau": BAD_POS})
    lst = ge.LinearStudentTheory(2.0)
    for m in ("test_error", "train_error", "test_error_rate"):
        mutate(f"LinearStudentTheory.{m}", getattr(lst, m), dict(t=[0.0, 1.0]), {"t": T_BAD})
        case(f"LinearStudentTheory.{m}(t=1e12)", lambda m=m: getattr(lst, m)([1e12]), "ok")
    case("LinearStudentTheory(2).ridge_test_error(inf)", lambda: lst.ridge_test_error(np.inf), "ok")
    case("LinearStudentTheory(2).ridge_train_error(inf)", lambda: lst.ridge_train_error(np.inf), "ok")
    case("LinearStudentTheory(2,sigma_w=0).optimal_ridge", lambda: ge.LinearStudentTheory(2.0, sigma_w=0).optimal_ridge_test_error(), "ok")
    case("LinearStudentTheory(0.5,eps=0).optimal_stopping", lambda: ge.LinearStudentTheory(0.5, sigma_eps=0).optimal_early_stopping_error(), "ok")
    mutate("LinearStudentTheory.ridge_test_error", lst.ridge_test_error, dict(gamma=0.1), {"gamma": T_BAD})
    mutate("LinearStudentTheory.test_error(wd)", lst.test_error, dict(t=1.0), {"weight_decay": BAD_POS})
    mutate("converged_test_error", ge.converged_test_error, dict(alpha=2.0),
           {"alpha": BAD_POS, "sigma_w": BAD_POS, "sigma_eps": BAD_POS})
    mutate("converged_train_error", ge.converged_train_error, dict(alpha=2.0), {"alpha": BAD_POS, "sigma_eps": BAD_POS})
    mutate("mode_weight_error", ge.mode_weight_error, dict(lam=[0.0, 1.0], t=1.0, sigma_w=1.0, sigma_eps=0.5, sigma_0=0.0),
           {"lam": T_BAD, "t": T_BAD, "sigma_w": BAD_POS, "gamma": BAD_POS, "tau": BAD_POS})
    mutate("mode_train_residual", ge.mode_train_residual, dict(lam=[0.0, 1.0], t=1.0, sigma_w=1.0, sigma_eps=0.5, sigma_0=0.0),
           {"lam": T_BAD, "t": T_BAD, "sigma_eps": BAD_POS, "gamma": BAD_POS})
    mutate("marchenko_pastur", ge.marchenko_pastur, dict(alpha=2.0), {"alpha": BAD_POS + [("0", 0.0)]})
    Xf = rng.standard_normal((4, 6)) / 2
    yf, wb, w0 = rng.standard_normal(6), rng.standard_normal(4), np.zeros(4)
    lr_gd = 2.0 / np.linalg.eigvalsh(Xf @ Xf.T)[-1]
    mutate("finite_size_errors", ge.finite_size_errors, dict(X=Xf, y=yf, w_teacher=wb, w0=w0, t=[0, 1.0], sigma_eps=0.5),
           {"X": arr_bad(Xf), "y": arr_bad(yf)[:3], "w0": arr_bad(w0)[:3], "t": T_BAD, "sigma_eps": BAD_POS,
            "weight_decay": BAD_POS, "tau": BAD_POS, "lr": BAD_POS + [("0", 0.0)]})
    for tt in (10 * lr_gd * 1.05, np.inf):
        case(f"finite_size_errors(lr=1.05 lr_max, t={tt:g})",
             lambda tt=tt: ge.finite_size_errors(Xf, yf, wb, w0, tt, 0.5, lr=1.05 * lr_gd))
    case("finite_size_errors(X=0)", lambda: ge.finite_size_errors(np.zeros((4, 6)), yf, wb, w0, [0, 1, np.inf], 0.5), "ok")
    mutate("DeepLinearStudentTheory", ge.DeepLinearStudentTheory, dict(alpha=2.0, depth=2),
           {"alpha": BAD_POS, "depth": BAD_INT + [("0", 0)], "u0": BAD_POS + [("0", 0.0)], "sigma_w": BAD_POS})
    dst = ge.DeepLinearStudentTheory(2.0, depth=3)
    mutate("DeepLinearStudentTheory.test_error", dst.test_error, dict(t=1.0), {"t": T_BAD})
    case("DeepLinearStudentTheory.test_error(1e12)", lambda: dst.test_error([1e12, np.inf]), "ok")
    case("DeepLinearStudentTheory(0.5).train_error", lambda: ge.DeepLinearStudentTheory(0.5).train_error([0, 1, np.inf]), "ok")

    # ---- theory.semantic / datasets
    Ys = ds.hierarchical_data((2, 2), n_features=20, flip_prob=0.1, seed=0).Y if hasattr(ds.hierarchical_data((2, 2), n_features=20), "Y") else None
    mutate("hierarchical_data", ds.hierarchical_data, dict(branching=(2, 2), n_features=20),
           {"branching": [("1", (1,)), ("float", (2.5,)), ("str", "ab"), ("empty", ()), ("None", None), ("nan", (NAN,))],
            "n_features": BAD_INT + [("0", 0)], "flip_prob": BAD_FLOAT + [("0.7", 0.7)], "seed": BAD_INT})
    mutate("one_hot", ds.one_hot, dict(n_items=3), {"n_items": BAD_INT + [("0", 0)]})
    mutate("hierarchy_spectrum", se.hierarchy_spectrum, dict(branching=(2, 2), flip_prob=0.1, n_features=100),
           {"branching": [("1", (1,)), ("str", "ab")], "flip_prob": BAD_FLOAT, "n_features": BAD_INT})
    mutate("structure", se.structure, dict(kind="ring", n=6), {"kind": [("bad", "tree2"), ("None", None)],
                                                                 "n": BAD_INT + [("1", 1)], "sigma2": BAD_POS})
    for kind, n in (("chain", 5), ("clusters", 6), ("grid", 9), ("hierarchy", 8), ("ring", 6)):
        case(f"structure({kind}).sample", lambda kind=kind, n=n: se.structure(kind, n, n_clusters=2 if kind == "clusters" else None).sample(50), "ok")
    mutate("category_coherence", se.category_coherence, dict(p=0.9, q=0.1, k_items=2, k_features=3, n_items=8, n_features=12),
           {"p": BAD_FLOAT, "q": BAD_FLOAT, "k_items": BAD_INT, "n_items": BAD_INT})
    mutate("effective_u0", se.effective_u0, dict(init_scale=0.01, hidden=10), {"init_scale": BAD_POS, "hidden": BAD_INT})
    K = np.cov(rng.standard_normal((4, 10)))
    mutate("rsa_correlation", se.rsa_correlation, dict(K1=K, K2=K), {"K1": arr_bad(K)[:5]})
    case("rsa_correlation(constant)", lambda: se.rsa_correlation(np.ones((4, 4)), K), "either")
    case("rsa_correlation(zeros)", lambda: se.rsa_correlation(np.zeros((4, 4)), np.zeros((4, 4))), "either")
    mutate("procrustes_align", se.procrustes_align, dict(A=K, B=K), {"A": arr_bad(K)[:5]})
    case("procrustes_align(zeros)", lambda: se.procrustes_align(np.zeros((4, 4)), np.zeros((4, 4))), "either")
    H = rng.standard_normal((3, 5, 4))
    mutate("joint_embedding", se.joint_embedding, dict(H=H), {"H": arr_bad(H)[:5], "dims": BAD_INT + [("0", 0)],
                                                               "center": [("bad", "x"), ("None", None)]})
    uu = np.linspace(0, 1, 5)[:, None] * np.ones((5, 2))
    mutate("crossing_times", se.crossing_times, dict(t=np.arange(5.0), u=uu, u_final=np.ones(2)),
           {"t": T_BAD, "u": arr_bad(uu)[:3], "u_final": [("nan", [NAN, 1.0]), ("zero", [0.0, 0.0])],
            "fraction": BAD_FLOAT})
    Yh = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 0, 0.]])
    mutate("SemanticTheory", se.SemanticTheory, dict(Y=Yh, depth=2),
           {"Y": arr_bad(Yh), "depth": BAD_INT + [("0", 0)], "u0": BAD_POS, "tau": BAD_POS})
    case("SemanticTheory(Y=zeros).similarity", lambda: se.SemanticTheory(np.zeros((3, 4))).similarity([0, 1]), "either")
    case("SemanticTheory(Y=const).similarity", lambda: se.SemanticTheory(np.ones((3, 4))).similarity([0, 1, np.inf]), "ok")
    st = se.SemanticTheory(Yh, depth=3)
    for m, kw in (("output", {}), ("loss", {}), ("hidden", {}), ("similarity", {}), ("mds", {}),
                  ("illusory_correlations", {}), ("inductive_projection", {"item": 0}),
                  ("feature_projection", {"feature": 0})):
        mutate(f"SemanticTheory.{m}", getattr(st, m), dict(t=[0.0, 1.0, 2.0], **kw), {"t": T_BAD})
        case(f"SemanticTheory.{m}(1e12)", lambda m=m, kw=kw: getattr(st, m)([0.0, 1e6, 1e12], **kw), "ok")
    mutate("SemanticTheory.inductive_projection(item)", st.inductive_projection, dict(t=1.0, item=0),
           {"item": BAD_INT + [("99", 99)], "layer": BAD_INT + [("9", 9)]})
    mutate("SemanticTheory.differentiation_times", st.differentiation_times, dict(fraction=0.5),
           {"fraction": BAD_FLOAT + [("0", 0.0), ("1", 1.0)]})
    mutate("SemanticTheory.item_typicality", st.item_typicality, dict(mode=0), {"mode": BAD_INT + [("99", 99)]})

    # ---- theory.ntk
    xk = rng.standard_normal((3, 5))
    yk = rng.standard_normal((1, 5))
    mutate("kernels", nt.kernels, dict(x1=xk), {"x1": arr_bad(xk), "depth": BAD_INT, "activation": [("bad", "tanh"), ("None", None)],
                                                "W_std": BAD_POS + [("0", 0.0)], "b_std": BAD_POS})
    case("kernels(x=0,erf)", lambda: nt.kernels(np.zeros((3, 4)), activation="erf", depth=3), "ok")
    case("kernels(x=0,relu)", lambda: nt.kernels(np.zeros((3, 4)), activation="relu", depth=3), "ok")
    kk = nt.kernels(xk, depth=2)
    lrm = nt.stable_lr(kk.ntk)
    mutate("stable_lr", nt.stable_lr, dict(ntk_train_train=kk.ntk), {"ntk_train_train": arr_bad(kk.ntk)})
    case("stable_lr(zeros)", lambda: nt.stable_lr(np.zeros((3, 3))), "either")
    mutate("gradient_descent_mse", nt.gradient_descent_mse, dict(ntk_train_train=kk.ntk, y_train=yk),
           {"ntk_train_train": arr_bad(kk.ntk)[:5], "y_train": arr_bad(yk)[:3], "lr": BAD_POS,
            "ntk_test_train": arr_bad(kk.ntk)[:3], "f0_train": [("nan", yk * NAN)]})
    gd = nt.gradient_descent_mse(kk.ntk, yk, lr=0.5 * lrm)
    mutate("GradientDescentMSE.__call__", gd, dict(t=[0.0, 1.0]), {"t": T_BAD})
    for tt in (lrm * 1.1 * 100, np.inf):
        case(f"gradient_descent_mse(lr>max,t={tt:g})", lambda tt=tt: nt.gradient_descent_mse(kk.ntk, yk, lr=1.1 * lrm)(tt))
        case(f"expected_loss(lr>max,t={tt:g})", lambda tt=tt: nt.expected_loss(kk.nngp, kk.ntk, yk, tt, lr=1.1 * lrm))
        case(f"gradient_flow_mean(lr>max,t={tt:g})", lambda tt=tt: nt.gradient_flow_mean(xk, yk, xk, tt, lr=1.1 * lrm, depth=2))
    mutate("gradient_flow_mean", nt.gradient_flow_mean, dict(x_train=xk, y_train=yk, x_test=xk, t=[0, 1.0], lr=0.0),
           {"x_train": arr_bad(xk)[:3], "y_train": arr_bad(yk)[:3], "t": T_BAD, "lr": BAD_POS, "depth": BAD_INT})
    mutate("expected_loss", nt.expected_loss, dict(nngp_train_train=kk.nngp, ntk_train_train=kk.ntk, y_train=yk, t=[0, 1.0]),
           {"nngp_train_train": arr_bad(kk.nngp)[:3], "t": T_BAD, "lr": BAD_POS, "centered": [("str", "yes"), ("None", None)]})
    case("gradient_flow_mean(x_train repeated)", lambda: nt.gradient_flow_mean(np.hstack([xk, xk[:, :1]]), np.hstack([yk, yk[:, :1]]), xk, [0, 1, np.inf], lr=0.0), "ok")

    # ---- simulate
    import torch
    from idealnets.simulate import deep_linear as sdl, generalization as sge, semantic as sse, ntk as snt

    kw = dict(X=X, Y=Y, depth=2, width=4, n_networks=2, init="small", init_scale=0.1, lr=0.1, steps=20, record=5)
    mutate("sim.deep_linear.train", sdl.train, kw,
           {"X": arr_bad(X)[:6], "Y": arr_bad(Y)[:3], "depth": BAD_INT + [("0", 0)], "width": BAD_INT + [("0", 0)],
            "n_networks": BAD_INT + [("0", 0)], "init": [("bad", "zeros"), ("None", None)], "init_scale": BAD_POS,
            "lr": BAD_POS + [("0", 0.0)], "steps": BAD_INT, "record": [("1", 1), ("str", "a")],
            "device": [("gpu", "gpu"), ("mps", "mps"), ("CPU", "CPU"), ("int", 3), ("tpu", "tpu")],
            "dtype": [("int", torch.int64), ("half", torch.float16), ("str", "float128"), ("complex", torch.complex64)],
            "seed": BAD_INT})
    case("sim.deep_linear.train(X=0)", lambda: sdl.train(np.zeros((3, 3)), Y, 2, 4, 2, "small", 0.1, 0.1, 20), "either")
    lrs = sdl.stable_lr(X, Y, 2)
    case("sim.deep_linear.train(lr=1.1 stable)", lambda: sdl.train(X, Y, 2, 4, 2, "small", 0.5, 1.1 * lrs, 3000), "diverge")
    case("sim.deep_linear.train_from(W nan)", lambda: sdl.train_from([W[0] * NAN, W[1]], X, Y, lr=0.1, steps=5))
    case("sim.deep_linear.train_from(W bad shape)", lambda: sdl.train_from([W[0].T, W[1]], X, Y, lr=0.1, steps=5))
    case("sim.deep_linear.train_from(W int tensor)", lambda: sdl.train_from([torch.ones(4, 3, dtype=torch.int64), torch.ones(2, 4, dtype=torch.int64)], X, Y, lr=0.01, steps=5), "either")
    d = sge.sample_data(8, 12, 2, seed=0)
    mutate("sim.sample_data", sge.sample_data, dict(N=8, P=12, n_inputs=2),
           {"N": BAD_INT + [("0", 0)], "P": BAD_INT, "n_inputs": BAD_INT, "sigma_w": BAD_POS, "sigma_eps": BAD_POS,
            "device": [("gpu", "gpu"), ("CPU", "CPU")], "dtype": [("int", torch.int64)], "seed": BAD_INT})
    lrl = sge.stable_lr(d)
    mutate("sim.train_linear", sge.train_linear, dict(datas=d, lr=0.5 * lrl, steps=20, record=5),
           {"lr": BAD_POS + [("0", 0.0)], "steps": BAD_INT, "weight_decay": BAD_POS, "datas": [("None", None), ("str", "x")]})
    case("sim.train_linear(lr=1.05 stable)", lambda: sge.train_linear(d, lr=1.05 * lrl, steps=3000), "diverge")
    mutate("sim.train_deep_linear", sge.train_deep_linear, dict(data=d, depth=2, lr=0.01, steps=20, record=5),
           {"depth": BAD_INT + [("0", 0)], "lr": BAD_POS, "steps": BAD_INT, "arch": [("bad", "wide")],
            "init_scale": BAD_POS, "hidden": BAD_INT})
    mutate("sim.train_relu", sge.train_relu, dict(data=d, hidden_sizes=[4], train_first_layer=False, steps=20, record=5),
           {"hidden_sizes": [("0", [0]), ("float", [2.5]), ("str", "ab"), ("empty", [])], "steps": BAD_INT,
            "lr": BAD_POS, "init_scale": BAD_POS})
    case("sim.train_relu(one size, 2 sets)", lambda: sge.train_relu(d, [4], train_first_layer=False, steps=20, record=5), "ok")
    case("sim.train_relu(one size, 2 sets, both)", lambda: sge.train_relu(d, [4], train_first_layer=True, steps=20, record=5), "ok")
    Xs, Ys = np.eye(4), Yh
    mutate("sim.train_mlp", sse.train_mlp, dict(X=Xs, Y=Ys, hidden=8, n_networks=2, steps=20, record=5),
           {"X": arr_bad(Xs)[:6], "hidden": BAD_INT + [("0", 0)], "activation": [("bad", "gelu")],
            "n_networks": BAD_INT, "init_scale": BAD_POS, "lr": BAD_POS, "steps": BAD_INT,
            "device": [("gpu", "gpu")], "dtype": [("int", torch.int32)]})
    lrm2 = sse.stable_lr(Xs, Ys, 2)
    case("sim.train_mlp(lr=1.2 stable, linear)", lambda: sse.train_mlp(Xs, Ys, hidden=8, activation="linear", init_scale=0.5, lr=1.2 * lrm2, steps=5000), "diverge")
    mutate("sim.ntk.train", snt.train, dict(x_train=xk, y_train=yk, width=16, n_networks=2, lr=0.5, steps=20, record=5),
           {"x_train": arr_bad(xk)[:6], "y_train": arr_bad(yk)[:3], "width": BAD_INT + [("0", 0)], "depth": BAD_INT,
            "lr": BAD_POS, "steps": BAD_INT, "W_std": BAD_POS, "device": [("gpu", "gpu"), ("mps", "mps")],
            "dtype": [("int", torch.int64)], "activation": [("bad", "tanh")]})
    case("sim.ntk.train(lr=1.5 max)", lambda: snt.train(xk, yk, width=256, n_networks=2, lr=1.5 * lrm, steps=3000, depth=2), "diverge")
    net = snt.init_mlp(3, 8, 1, 1, n_networks=2)
    mutate("sim.ntk.empirical_kernels", snt.empirical_kernels, dict(net=net, x1=xk),
           {"x1": arr_bad(xk)[:6], "output": BAD_INT + [("5", 5)]})
    mutate("sim.ntk.forward", snt.forward, dict(net=net, x=xk), {"x": arr_bad(xk)[:6]})


SLOW = {"sim.ntk.train(lr=1.5 max)", "sim.deep_linear.train(lr=1.1 stable)"}


def _run(fn, conn):
    try:
        out = fn()
        leaves = []

        def walk(o):
            if isinstance(o, dict):
                for v in o.values():
                    walk(v)
            elif isinstance(o, (list, tuple)):
                for v in o:
                    walk(v)
            elif hasattr(o, "__dataclass_fields__"):
                for k in o.__dataclass_fields__:
                    walk(getattr(o, k))
            elif hasattr(o, "detach"):
                leaves.append(o.detach().cpu().numpy())
            elif isinstance(o, (np.ndarray, float, int, np.floating)) and not isinstance(o, bool):
                leaves.append(np.asarray(o))

        walk(out)
        nan = any(np.isnan(a).any() for a in leaves if a.dtype.kind in "fc")
        inf = any(np.isinf(a).any() for a in leaves if a.dtype.kind in "fc")
        big = any((np.abs(a[np.isfinite(a)]) > 1e12).any() for a in leaves if a.dtype.kind in "f" and a.size)
        conn.send(("ret", "nan" if nan else ("inf" if inf else ("huge" if big else "finite")), ""))
    except BaseException as e:  # noqa: BLE001
        conn.send(("exc", type(e).__name__, str(e).splitlines()[0][:200] if str(e) else ""))


def classify(expect, res, name_nan_ok=False):
    kind, what, msg = res
    if kind == "timeout":
        return "hang"
    if kind == "exc":
        if what in ("ValueError", "TypeError"):
            return "crash on valid input" if expect == "ok" else None
        if what == "DivergenceError":
            return None if expect == "diverge" else f"DivergenceError on {expect} input"
        return f"raised {what}"
    if what == "nan" and not (expect == "either" and name_nan_ok):
        return "NaN returned"
    if expect == "refuse":
        return f"accepted bad input ({what})"
    if expect == "diverge":
        return f"silent divergence ({what})"
    if what in ("inf", "huge") and expect != "either":
        return f"{what} returned"
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--only", default=None, help="substring filter on case names")
    args = ap.parse_args()
    build()
    ctx = mp.get_context("fork")
    bad = []
    cases = [c for c in CASES if args.only is None or args.only in c[0]]
    for name, fn, expect in cases:
        a, b = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_run, args=(fn, b))
        p.start()
        if a.poll(args.timeout * (8 if name in SLOW else 1)):
            res = a.recv()
        else:
            res = ("timeout", "", "")
        p.kill()
        p.join()
        verdict = classify(expect, res, name_nan_ok=name.startswith("crossing_times"))
        if verdict:
            bad.append((name, verdict, res))
            print(f"MISBEHAVED {name}: {verdict} [{res[1]}: {res[2]}]", flush=True)
        elif args.verbose:
            print(f"ok {name}: {res[1]} {res[2]}", flush=True)
    kinds = {}
    for _, v, _ in bad:
        k = v.split(" (")[0]
        kinds[k] = kinds.get(k, 0) + 1
    print(f"\n{len(cases)} inputs: {len(bad)} misbehaved " + ", ".join(f"{k}: {n}" for k, n in sorted(kinds.items())))
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
