"""Bad and edge-case inputs for the modules added in the second round (issue 27).

Feedback alignment, node/weight perturbation, continual learning, recurrent networks,
random features, the committee grid, the sweeps (Python API) and the command lines
(``python -m idealnets.figures``, ``python -m idealnets.figures.phase``). Same harness
and verdicts as ``benchmarks/bad_inputs.py`` (one valid call per function, one argument
at a time replaced by a bad value, each case in a forked child with a wall-clock limit),
with one addition: a command line must refuse a bad option with exit status 2, a short
message on stderr (no traceback), before any work.

Usage: ``python benchmarks/bad_inputs_r2.py [--timeout 10] [--verbose] [--only SUBSTR]
[--json FILE]``; prints one line per misbehaving case, a summary by kind and by module,
and (with ``--json``) writes every verdict. Runs against whatever ``idealnets`` the
repository holding this file provides (copy it into an older checkout to measure that).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)  # old names are called on purpose
warnings.filterwarnings("ignore", category=RuntimeWarning)
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _use_this_checkout():
    """Import idealnets from the checkout holding this file, even where another checkout is installed
    in editable mode (its import finder would otherwise serve idealnets.theory etc. from there)."""
    keep = []
    for f in sys.meta_path:
        mapping = getattr(sys.modules.get(getattr(f, "__module__", ""), None), "MAPPING", None)
        if isinstance(mapping, dict) and "idealnets" in mapping and \
                os.path.dirname(os.path.abspath(mapping["idealnets"])) != ROOT:
            continue
        keep.append(f)
    sys.meta_path[:] = keep
    sys.path.insert(0, ROOT)


_use_this_checkout()
if __name__ == "__main__" and len(sys.argv) > 2 and sys.argv[1] == "--run-module":  # a command line of this checkout
    import runpy

    mod = sys.argv[2]
    sys.argv = [mod, *sys.argv[3:]]
    runpy.run_module(mod, run_name="__main__", alter_sys=True)
    sys.exit(0)
sys.path.insert(0, HERE)
import bad_inputs as B  # noqa: E402  (the shared harness: case, mutate, _run, classify, value sets)

import numpy as np  # noqa: E402

NAN, INF = B.NAN, B.INF
BAD_FLOAT, BAD_POS, BAD_INT, arr_bad = B.BAD_FLOAT, B.BAD_POS, B.BAD_INT, B.arr_bad
REAL = [("nan", NAN), ("inf", INF), ("str", "a"), ("None", None), ("complex", 1 + 1j)]  # any real allowed
T_BAD = [("nan", np.array([0.0, NAN])), ("neg", -1.0), ("str", "t"), ("None", None), ("complex", 1j)]
HUGE_INT = [("huge", 10**9)]
INT_NOT_NONE = [v for v in BAD_INT if v[0] != "None"]  # for integer arguments whose None is a documented default


def bad_but(a, *drop, n=7):
    """arr_bad(a)[:n] without the labels in ``drop`` (substitutions the documented API accepts)."""
    return [(lbl, v) for lbl, v in arr_bad(a)[:n] if lbl not in drop]

MODULE = {}  # case name -> module label
EITHER = set()  # names whose substitution is valid by the documented API (NaN/inf still misbehave)
NAN_OK = set()  # names where NaN is a documented answer


def _tag(label, start):
    for name, _, _ in B.CASES[start:]:
        MODULE.setdefault(name, label)


def case(name, fn, expect="refuse"):
    B.case(name, fn, "either" if name in EITHER else expect)


def mutate(name, fn, base, bad, expect="refuse"):
    for arg, vals in bad.items():
        for label, v in vals:
            kw = dict(base)
            kw[arg] = v
            nm = f"{name}({arg}={label})"
            case(nm, (lambda kw=kw: fn(**kw)), expect)
    case(f"{name}(valid)", lambda: fn(**base), "ok")


# --------------------------------------------------------------------------------------- command lines
class CLIError(Exception):
    """A command line that misbehaved: a traceback, a wrong exit status or a long message."""


def cli(args, timeout=120, env=None):
    """Run ``python -m args``; a clean refusal (exit 2, <= 2 lines on stderr, no traceback) raises
    ValueError, success returns 0.0, anything else raises CLIError."""
    e = dict(os.environ, **(env or {}))
    e.pop("IDEALNETS_SCHEDULER", None) if not (env and "IDEALNETS_SCHEDULER" in env) else None
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--run-module", *args], capture_output=True, text=True, timeout=timeout, env=e,
                       cwd=tempfile.gettempdir())
    dt = time.perf_counter() - t0
    err = r.stderr.strip()
    lines = [ln for ln in err.splitlines() if ln.strip() and "Warning" not in ln and not ln.startswith("  ")]
    if r.returncode == 0:
        return 0.0
    if "Traceback" in err:
        raise CLIError(f"traceback, exit {r.returncode}, {len(err.splitlines())} lines after {dt:.0f}s: "
                       f"{err.splitlines()[-1][:120]}")
    if r.returncode != 2:
        raise CLIError(f"exit {r.returncode}: {err[-120:]}")
    if len(lines) > 2:
        raise CLIError(f"{len(lines)} lines: {err[-120:]}")
    raise ValueError(lines[-1] if lines else "(no message)")


def build_cli():
    tmp = tempfile.mkdtemp(prefix="bad_inputs_r2_")
    afile = os.path.join(tmp, "afile")
    open(afile, "w").write("x")
    good = os.path.join(tmp, "good")
    F, P = ["idealnets.figures"], ["idealnets.figures.phase"]
    cases = {
        "figures(name=unknown)": F + ["no_such_figure", "--quick", "--out", good],
        "figures(--out=file)": F + ["perturbation_learning", "--quick", "--out", afile],
        "figures(--out=unwritable)": F + ["perturbation_learning", "--quick", "--out", "/proc/none/out"],
        "figures(--seed=-1)": F + ["perturbation_learning", "--quick", "--seed", "-1", "--out", good],
        "figures(--seed=x)": F + ["perturbation_learning", "--quick", "--seed", "x", "--out", good],
        "figures(--device=tpu)": F + ["perturbation_learning", "--quick", "--device", "tpu", "--out", good],
        "phase(name=unknown)": P + ["no_such", "--size", "quick", "--serial", "--out", good],
        "phase(--size=huge)": P + ["phase_linear", "--size", "huge", "--serial", "--out", good],
        "phase(--out=file)": P + ["phase_linear", "--size", "quick", "--serial", "--out", afile],
        "phase(--out=unwritable)": P + ["phase_linear", "--size", "quick", "--serial", "--out", "/proc/none/out"],
        "phase(--cache=file)": P + ["phase_linear", "--size", "quick", "--serial", "--cache", afile, "--out", good],
        "phase(--seed=-1)": P + ["phase_linear", "--size", "quick", "--serial", "--seed", "-1", "--out", good],
        "phase(--seed=x)": P + ["phase_linear", "--size", "quick", "--serial", "--seed", "x", "--out", good],
        "phase(--scheduler=bad)": P + ["phase_linear", "--size", "quick", "--scheduler", "not-an-address",
                                       "--out", good],
        "phase(--scheduler=port0)": P + ["phase_linear", "--size", "quick", "--scheduler", "tcp://h:0", "--out", good],
    }
    for name, args in cases.items():
        case(f"cli.{name}", lambda args=args: cli(args))
    case("cli.figures(IDEALNETS_THREADS=abc)", lambda: cli(F + ["--list"], env={"IDEALNETS_THREADS": "abc"}), "ok")
    case("cli.figures(--list)", lambda: cli(F + ["--list"]), "ok")
    case("cli.phase(--help)", lambda: cli(P + ["--help"]), "ok")


# --------------------------------------------------------------------------------------- the API
def build():
    rng = np.random.default_rng(0)
    from idealnets.theory.tasks import whitened_task

    # ---------------------------------------------------------------- theory.feedback_alignment
    s0 = len(B.CASES)
    from idealnets.theory import feedback_alignment as fa

    X, Y = whitened_task(3, 2, np.array([2.0, 1.0]), seed=0)
    W1 = 0.1 * rng.standard_normal((2, 3))
    W2 = 0.1 * rng.standard_normal((2, 2))
    Bm = rng.standard_normal((2, 2))
    Syx = Y @ X.T / X.shape[1]
    # weights take leading stack axes (W1 (..., N_h, N_in)): a 3-d array is valid there
    mutate("fa_invariant", fa.fa_invariant, dict(W1=W1, W2=W2, B=Bm),
           {"W1": bad_but(W1, "3d"), "W2": bad_but(W2, "3d"), "B": bad_but(Bm, "3d")})
    mutate("fa_flow_rhs", fa.fa_flow_rhs, dict(W1=W1, W2=W2, B=Bm, Syx=Syx),
           {"W1": bad_but(W1, "3d"), "B": bad_but(Bm, "3d"), "Syx": arr_bad(Syx)[:7], "Sxx": bad_but(np.eye(3), "None")})
    mutate("predicted_overlap", fa.predicted_overlap, dict(W1=W1, Q0=W1 @ W1.T),
           {"W1": bad_but(W1, "3d"), "Q0": arr_bad(W1 @ W1.T)[:7]})
    mutate("fa.alignment", fa.alignment, dict(W2=W2, B=Bm), {"W2": bad_but(W2, "3d"), "B": bad_but(Bm, "3d")})
    case("fa.alignment(B=0)", lambda: fa.alignment(W2, np.zeros((2, 2))), "either")
    case("fa.alignment(W2=0)", lambda: fa.alignment(np.zeros((2, 2)), Bm), "ok")
    mutate("aligned_mode", fa.aligned_mode, dict(t=[0.0, 1.0, np.inf], s=1.0, b=1.0, a0=0.1, c0=0.1),
           {"t": T_BAD, "s": BAD_POS, "b": REAL, "a0": REAL, "c0": REAL, "tau": BAD_POS + [("0", 0.0)]})
    case("aligned_mode(b=0)", lambda: fa.aligned_mode([0.0, 1.0, np.inf], 1.0, 0.0, 0.1, 0.1), "either")
    case("aligned_mode(b<0)", lambda: fa.aligned_mode([0.0, 1.0, np.inf], 1.0, -1.0, 0.1, 0.1), "ok")
    case("aligned_mode(t=[])", lambda: fa.aligned_mode([], 1.0, 1.0, 0.1, 0.1), "ok")
    case("aligned_mode(t=1e300)", lambda: fa.aligned_mode([1e300], 1.0, 1.0, 0.1, 0.1), "ok")
    case("aligned_mode(s=0)", lambda: fa.aligned_mode([0.0, 1.0, np.inf], 0.0, 1.0, 0.1, 0.1), "ok")
    case("aligned_mode(a0=c0=0)", lambda: fa.aligned_mode([0.0, 1.0, np.inf], 1.0, 1.0, 0.0, 0.0), "ok")
    case("aligned_mode(a0=1e200)", lambda: fa.aligned_mode([0.0, 1.0, np.inf], 1.0, 1.0, 1e200, 0.1), "either")
    mutate("aligned_fixed_point", fa.aligned_fixed_point, dict(s=1.0, b=1.0, a0=0.1, c0=0.1),
           {"s": BAD_POS, "b": REAL, "a0": REAL, "c0": REAL})
    mutate("aligned_learning_time", fa.aligned_learning_time, dict(s=1.0, b=1.0, a0=0.1, c0=0.1),
           {"s": BAD_POS + [("0", 0.0)], "b": REAL, "a0": REAL,
            "fraction": BAD_FLOAT + [("0", 0.0), ("1", 1.0), ("2", 2.0)], "tau": BAD_POS})
    mutate("small_init_learning_time", fa.small_init_learning_time, dict(s=1.0, b=1.0),
           {"s": BAD_POS + [("0", 0.0)], "b": REAL, "fraction": BAD_FLOAT + [("0", 0.0), ("1", 1.0)],
            "tau": BAD_POS})
    mutate("aligned_final_alignment", fa.aligned_final_alignment, dict(s=[1.0, 0.5], b=[1.0, 2.0]),
           {"s": bad_but([1.0, 0.5], "1d") + [("neg", [-1.0, 0.5]), ("short", [1.0])],
            "b": bad_but([1.0, 2.0], "1d")})
    case("aligned_final_alignment(s=0)", lambda: fa.aligned_final_alignment([0.0, 0.0], [1.0, 1.0]), "either")
    case("aligned_final_alignment(b=0)", lambda: fa.aligned_final_alignment([1.0, 0.5], [0.0, 0.0]), "either")
    mutate("feedback_projector", fa.feedback_projector, dict(B=Bm), {"B": arr_bad(Bm)[:7]})
    case("feedback_projector(B=0)", lambda: fa.feedback_projector(np.zeros((2, 2))), "ok")
    mutate("fa_fixed_point_map", fa.fa_fixed_point_map, dict(Syx=Syx, B=Bm),
           {"Syx": arr_bad(Syx)[:7], "B": arr_bad(Bm)[:7], "W1_0": bad_but(W1, "None") + [("wrongshape", W1.T)]})
    case("fa_fixed_point_map(B=0)", lambda: fa.fa_fixed_point_map(Syx, np.zeros((2, 2))), "ok")
    mutate("bp_fixed_point_map", fa.bp_fixed_point_map, dict(Syx=Syx, n_hidden=2),
           {"Syx": arr_bad(Syx)[:7], "n_hidden": BAD_INT + [("0", 0)]})
    mutate("FeedbackAlignmentFlow", fa.FeedbackAlignmentFlow, dict(W1_0=W1, W2_0=W2, B=Bm, X=X, Y=Y),
           {"W1_0": arr_bad(W1)[:7], "W2_0": arr_bad(W2)[:7], "B": arr_bad(Bm)[:7] + [("wrongshape", np.ones((3, 2)))],
            "X": arr_bad(X)[:7], "Y": arr_bad(Y)[:7], "tau": BAD_POS + [("0", 0.0)]})
    case("FeedbackAlignmentFlow(X=0)", lambda: fa.FeedbackAlignmentFlow(W1, W2, Bm, np.zeros((3, 4)), Y[:, :4]).loss([0, 1.0]))
    case("FeedbackAlignmentFlow(B=0)", lambda: fa.FeedbackAlignmentFlow(W1, W2, np.zeros((2, 2)), X, Y).loss([0, 1.0, np.inf]), "ok")
    case("FeedbackAlignmentFlow(W=0)", lambda: fa.FeedbackAlignmentFlow(0 * W1, 0 * W2, Bm, X, Y).loss([0, 1.0, np.inf]), "ok")
    fl = fa.FeedbackAlignmentFlow(W1, W2, Bm, X, Y)
    for m in ("weights", "map", "loss", "alignment", "invariant"):
        mutate(f"FeedbackAlignmentFlow.{m}", getattr(fl, m), dict(t=[0.0, 1.0]), {"t": T_BAD})
        case(f"FeedbackAlignmentFlow.{m}(t=[])", lambda m=m: getattr(fl, m)([]), "ok")
        case(f"FeedbackAlignmentFlow.{m}(t=1e12)", lambda m=m: getattr(fl, m)([1e12]), "ok")
        case(f"FeedbackAlignmentFlow.{m}(t=inf)", lambda m=m: getattr(fl, m)([np.inf]), "ok")
    case("FeedbackAlignmentFlow.predicted_map", fl.predicted_map, "ok")
    _tag("theory.feedback_alignment", s0)

    # ---------------------------------------------------------------- theory.perturbation
    s0 = len(B.CASES)
    from idealnets.theory import perturbation as pt

    RULE = [("bad", "gradient"), ("None", None), ("int", 3)]
    for f in (pt.n_perturbed, pt.noise_factor, pt.stable_lr, pt.max_learning_rate, pt.optimal_learning_rate):
        mutate(f"perturbation.{f.__name__}", f, dict(rule="node", n_in=4, n_out=3),
               {"rule": RULE, "n_in": BAD_INT + [("0", 0)], "n_out": BAD_INT + [("0", 0)]})
    mutate("perturbation.noise_floor", pt.noise_floor, dict(rule="weight", n_in=4, n_out=3, sigma=0.01),
           {"rule": RULE, "n_in": BAD_INT, "sigma": BAD_POS})
    case("perturbation.noise_floor(sigma=1e200)", lambda: pt.noise_floor("weight", 4, 3, 1e200))
    lr = 0.5 * pt.stable_lr("node", 4, 3)
    mutate("perturbation.contraction", pt.contraction, dict(rule="node", n_in=4, n_out=3, lr=lr),
           {"rule": RULE, "lr": BAD_POS + [("0", 0.0)], "n_in": BAD_INT})
    lc_base = dict(steps=[0, 10, 100], rule="node", n_in=4, n_out=3, lr=lr, eps0=1.0, sigma=0.01)
    mutate("perturbation.learning_curve", pt.learning_curve, lc_base,
           {"steps": T_BAD, "rule": RULE, "lr": BAD_POS + [("0", 0.0)],
            "eps0": BAD_POS, "sigma": BAD_POS, "n_in": BAD_INT})
    case("perturbation.learning_curve(steps=[])", lambda: pt.learning_curve([], **{k: v for k, v in lc_base.items() if k != "steps"}), "ok")
    case("perturbation.learning_curve(steps=inf)", lambda: pt.learning_curve([np.inf], **{k: v for k, v in lc_base.items() if k != "steps"}), "ok")
    case("perturbation.learning_curve(steps=1e15)", lambda: pt.learning_curve([1e15], **{k: v for k, v in lc_base.items() if k != "steps"}), "ok")
    case("perturbation.learning_curve(sigma=1e200)", lambda: pt.learning_curve(**dict(lc_base, sigma=1e200)))
    case("perturbation.learning_curve(lr=1.1 stable)", lambda: pt.learning_curve(**dict(lc_base, lr=2.2 * lr, steps=[0, 10, np.inf])))
    lr_w = 0.5 * pt.stable_lr("weight", 4, 3)
    mutate("perturbation.asymptotic_error", pt.asymptotic_error, dict(rule="weight", n_in=4, n_out=3, lr=lr_w, sigma=0.01),
           {"rule": RULE, "lr": BAD_POS + [("0", 0.0)], "sigma": BAD_POS})
    case("perturbation.asymptotic_error(sigma=1e200)", lambda: pt.asymptotic_error("weight", 4, 3, lr_w, 1e200))
    case("perturbation.asymptotic_error(lr=1.1 stable)", lambda: pt.asymptotic_error("node", 4, 3, 2.2 * lr, 0.01))
    mutate("perturbation.steps_to_error", pt.steps_to_error, dict(fraction=0.01, rule="node", n_in=4, n_out=3),
           {"fraction": BAD_POS + [("0", 0.0), ("2", 2.0)], "rule": RULE, "lr": BAD_POS[:4] + BAD_POS[5:] + [("0", 0.0)],
            "sigma": BAD_POS, "eps0": BAD_POS + [("0", 0.0)]})
    case("perturbation.steps_to_error(sigma above floor)", lambda: pt.steps_to_error(0.01, rule="node", n_in=4, n_out=3, sigma=10.0), "either")
    _tag("theory.perturbation", s0)

    # ---------------------------------------------------------------- theory.random_features
    s0 = len(B.CASES)
    from idealnets.theory import random_features as rf

    ACT = [("bad", "gelu"), ("None", None), ("int", 3)]
    mutate("activation_function", rf.activation_function, dict(activation="relu"), {"activation": ACT})
    mutate("gaussian_equivalent_coefficients", rf.gaussian_equivalent_coefficients, dict(activation="tanh"),
           {"activation": ACT})
    mutate("gaussian_equivalent_quadrature", rf.gaussian_equivalent_quadrature, dict(activation="tanh", nodes=40),
           {"activation": ACT, "nodes": BAD_INT + [("0", 0)] + HUGE_INT})
    mutate("RandomFeaturesTheory", rf.RandomFeaturesTheory, dict(psi1=1.5, psi2=0.7, activation="relu", snr=4.0),
           {"psi1": BAD_POS + [("0", 0.0), ("1e200", 1e200)], "psi2": BAD_POS + [("0", 0.0)],
            "activation": ACT, "snr": BAD_POS[:1] + BAD_POS[2:], "ridge": BAD_POS,
            "n_contour": BAD_INT + [("0", 0)] + HUGE_INT})
    for nm, kw in (("psi2=1e-200", dict(psi2=1e-200)), ("ridge=1e200", dict(ridge=1e200)), ("snr=inf", dict(snr=np.inf))):
        case(f"RandomFeaturesTheory({nm})", lambda kw=kw: rf.RandomFeaturesTheory(**dict(dict(psi1=1.5, psi2=0.7), **kw)).test_error([0, 1.0, np.inf]), "ok")
    case("RandomFeaturesTheory(snr=0)", lambda: rf.RandomFeaturesTheory(1.5, 0.7, "relu", 0.0).test_error([0, 1.0, np.inf]), "either")
    # the interpolation peak: inf at t = inf without ridge, documented (class docstring)
    case("RandomFeaturesTheory(psi1=psi2)", lambda: rf.RandomFeaturesTheory(1.0, 1.0, "relu", 4.0).test_error([0, 1.0, np.inf]), "either")
    case("RandomFeaturesTheory(linear)", lambda: rf.RandomFeaturesTheory(1.5, 0.7, "linear", 4.0).test_error([0, 1.0, np.inf]), "ok")
    rft = rf.RandomFeaturesTheory(1.5, 0.7, "relu", 4.0)
    for m in ("test_error", "train_error", "errors"):
        mutate(f"RandomFeaturesTheory.{m}", getattr(rft, m), dict(t=[0.0, 1.0]), {"t": T_BAD})
        case(f"RandomFeaturesTheory.{m}(t=[])", lambda m=m: getattr(rft, m)([]), "ok")
        case(f"RandomFeaturesTheory.{m}(t=1e12)", lambda m=m: getattr(rft, m)([1e12, np.inf]), "ok")
    mutate("RandomFeaturesTheory.optimal_stopping_time", rft.optimal_stopping_time, {},
           {"t_min": BAD_POS + [("0", 0.0)], "t_max": BAD_POS})
    case("RandomFeaturesTheory.optimal_stopping_time(t_min>t_max)", lambda: rft.optimal_stopping_time(10.0, 1.0))
    case("RandomFeaturesTheory.optimal_early_stopping_error", rft.optimal_early_stopping_error, "ok")
    case("RandomFeaturesTheory.continuous_mass", lambda: rft.continuous_mass, "ok")
    _tag("theory.random_features", s0)

    # ---------------------------------------------------------------- theory.recurrent
    s0 = len(B.CASES)
    from idealnets.theory import recurrent as tr

    prof = np.stack([tr.delayed_copy_profile(4, 1), tr.window_sum_profile(4, 2, gain=0.5)], -1)
    Xr, Yr = tr.lag_task(prof, seed=0)
    Wr = (0.3 * rng.standard_normal((3, 2)), 0.2 * rng.standard_normal((3, 3)), 0.3 * rng.standard_normal((2, 3)))

    def wbad():
        out = []
        for i, nm in enumerate(("Wx", "Wh", "Wy")):
            w = list(Wr)
            w[i] = w[i] * NAN
            out.append((f"{nm} nan", tuple(w)))
            w = list(Wr)
            w[i] = w[i].T if i != 1 else w[i][:2]
            out.append((f"{nm} shape", tuple(w)))
        return out + [("None", None), ("two", Wr[:2]), ("str", "abc")]

    mutate("rnn_forward", tr.rnn_forward, dict(weights=Wr, X=Xr), {"weights": wbad(), "X": arr_bad(Xr)[:7]})
    mutate("rnn_loss", tr.rnn_loss, dict(weights=Wr, X=Xr, Y=Yr),
           {"weights": wbad()[:3], "Y": arr_bad(Yr)[:7], "readout": [("bad", "mean"), ("None", None)]})
    for f in (tr.bptt_gradient, tr.rtrl_gradient):
        mutate(f.__name__, f, dict(weights=Wr, X=Xr, Y=Yr),
               {"weights": wbad()[:3], "X": arr_bad(Xr)[:4], "readout": [("bad", "mean")]})
    for f in (tr.tbptt_gradient, tr.tbptt_bias):
        mutate(f.__name__, f, dict(weights=Wr, X=Xr, Y=Yr, k=2),
               {"k": BAD_INT + [("0", 0)], "weights": wbad()[:2], "Y": arr_bad(Yr)[:4]})
        case(f"{f.__name__}(k=huge)", lambda f=f: f(Wr, Xr, Yr, 10**9), "either")
    mutate("lag_maps", tr.lag_maps, dict(weights=Wr, n_lags=4), {"weights": wbad(), "n_lags": BAD_INT + HUGE_INT})
    case("lag_maps(n_lags=0)", lambda: tr.lag_maps(Wr, 0), "either")
    mutate("lag_correlations", tr.lag_correlations, dict(X=Xr, Y=Yr),
           {"X": arr_bad(Xr)[:7], "Y": arr_bad(Yr)[:7], "readout": [("bad", "mean")]})
    mutate("lag_weights", tr.lag_weights, dict(T=4), {"T": BAD_INT + [("0", 0)] + HUGE_INT, "readout": [("bad", "x")]})
    mutate("input_whiteness", tr.input_whiteness, dict(X=Xr), {"X": arr_bad(Xr)[:7]})
    case("input_whiteness(X=0)", lambda: tr.input_whiteness(np.zeros_like(Xr)), "either")
    mutate("whitened_sequences", tr.whitened_sequences, dict(n_in=2, T=4),
           {"n_in": BAD_INT + [("0", 0)] + HUGE_INT, "T": BAD_INT + [("0", 0)] + HUGE_INT,
            "n_samples": BAD_INT[:3] + BAD_INT[4:] + [("0", 0), ("1", 1)] + HUGE_INT, "seed": BAD_INT})
    mutate("lag_task", tr.lag_task, dict(profiles=prof),
           {"profiles": bad_but(prof, "1d"), "n_samples": BAD_INT[:3] + BAD_INT[4:] + HUGE_INT, "seed": BAD_INT,
            "readout": [("bad", "x")], "U": bad_but(np.eye(2), "None") + [("notortho", np.ones((2, 2)))],
            "V": [("notortho", np.ones((2, 2))), ("wrongshape", np.eye(3))]})
    case("lag_task(profiles=0)", lambda: tr.lag_task(np.zeros((4, 2))), "ok")
    for f, extra in ((tr.delayed_copy_profile, "d"), (tr.window_sum_profile, "w"), (tr.leaky_integrator_profile, "leak")):
        base = dict(T=4, gain=1.0)
        base[extra] = 0.5 if extra == "leak" else 1
        bad = {"T": BAD_INT + [("0", 0)] + HUGE_INT, "gain": REAL}
        bad[extra] = (BAD_FLOAT if extra == "leak" else BAD_INT + [("99", 99)])
        mutate(f.__name__, f, base, bad)
    mutate("mode_reduction", tr.mode_reduction, dict(X=Xr, Y=Yr),
           {"X": arr_bad(Xr)[:7], "Y": arr_bad(Yr)[:7], "readout": [("bad", "x")], "rtol": BAD_POS,
            "whitening_atol": BAD_POS})
    case("mode_reduction(Y=0)", lambda: tr.mode_reduction(Xr, np.zeros_like(Yr)), "either")
    s3 = np.array([1.0, 0.5, 0.25])
    mutate("mode_loss", tr.mode_loss, dict(b=1.0, a=0.5, c=1.0, s=s3),
           {"b": REAL, "s": bad_but(s3, "1d"), "w": bad_but(np.ones(3), "1d", "None") + [("wrongsize", np.ones(2))]})
    mutate("mode_rhs", tr.mode_rhs, dict(b=1.0, a=0.5, c=1.0, s=s3),
           {"a": REAL, "s": bad_but(s3, "1d", n=3), "k": INT_NOT_NONE + [("0", 0)]})
    mutate("mode_balance", tr.mode_balance, dict(b=1.0, c=1.0), {"b": REAL, "c": REAL})
    mutate("mode_hessian", tr.mode_hessian, dict(b=1.0, a=0.5, c=1.0, s=s3),
           {"b": REAL, "a": REAL, "c": REAL, "s": bad_but(s3, "1d")})
    mutate("optimal_geometric_fit", tr.optimal_geometric_fit, dict(s=s3),
           {"s": bad_but(s3, "1d"), "a_max": BAD_POS + [("0", 0.0), ("1e200", 1e200)],
            "n_grid": BAD_INT + [("0", 0), ("1", 1)] + HUGE_INT})
    mutate("is_stable", tr.is_stable, dict(a=[0.5, 1.5]), {"a": [("nan", [NAN]), ("str", "x"), ("None", None)]})
    mutate("tbptt_learnable", tr.tbptt_learnable, dict(s=s3, k=2),
           {"s": bad_but(s3, "1d"), "k": BAD_INT + [("0", 0)], "atol": BAD_POS})
    mutate("LinearRNNTheory", tr.LinearRNNTheory, dict(X=Xr, Y=Yr, b0=0.1, a0=0.1, c0=0.1),
           {"X": arr_bad(Xr)[:7], "Y": arr_bad(Yr)[:7], "b0": REAL + [("wrongsize", [0.1, 0.1, 0.1])],
            "a0": REAL, "c0": [v for v in REAL if v[0] != "None"], "readout": [("bad", "x")],
            "truncation": INT_NOT_NONE + [("0", 0)],
            "tau": BAD_POS + [("0", 0.0)]})
    case("LinearRNNTheory(b0=0,c0=0)", lambda: tr.LinearRNNTheory(Xr, Yr, b0=0.0, a0=0.0, c0=0.0).loss([0, 1.0, np.inf]), "ok")
    case("LinearRNNTheory(b0=1e200)", lambda: tr.LinearRNNTheory(Xr, Yr, b0=1e200, a0=0.1, c0=0.1).loss([0, 1.0]), "either")
    case("LinearRNNTheory(a0=2)", lambda: tr.LinearRNNTheory(Xr, Yr, b0=0.1, a0=2.0, c0=0.1).loss([0, 1.0, 10.0]), "either")
    rnt = tr.LinearRNNTheory(Xr, Yr, b0=0.1, a0=0.1, c0=0.1)
    tk = tr.LinearRNNTheory(Xr, Yr, b0=0.1, a0=0.1, c0=0.1, truncation=1)
    for nm, obj in (("LinearRNNTheory", rnt), ("LinearRNNTheory(tbptt)", tk)):
        for m in ("modes", "recurrent_eigenvalues", "mode_maps", "loss", "mode_losses", "weights"):
            mutate(f"{nm}.{m}", getattr(obj, m), dict(t=[0.0, 1.0]), {"t": T_BAD})
            case(f"{nm}.{m}(t=[])", lambda m=m, obj=obj: getattr(obj, m)([]), "ok")
            case(f"{nm}.{m}(t=1e12,inf)", lambda m=m, obj=obj: getattr(obj, m)([1e12, np.inf]), "ok")
        mutate(f"{nm}.learning_time", obj.learning_time, {}, {"fraction": BAD_FLOAT + [("0", 0.0), ("1", 1.0)],
                                                             "n_grid": BAD_INT + [("0", 0)] + HUGE_INT})
        mutate(f"{nm}.extrapolation_loss", obj.extrapolation_loss, dict(s_long=np.vstack([rnt.s, 0 * rnt.s[:2]])),
               {"s_long": arr_bad(np.vstack([rnt.s, 0 * rnt.s[:2]]))[:7] + [("shorter", rnt.s[:2])], "t": T_BAD})
    # TBPTT(2) on a task it can learn: a drifting mode (b grows, c shrinks); t = inf must not be NaN
    tk2 = tr.LinearRNNTheory(Xr, Yr, b0=0.1, a0=0.1, c0=0.1, truncation=2)
    case("LinearRNNTheory(tbptt2).modes(t=inf)", lambda: tk2.modes([1e3, np.inf]), "either")
    mutate("LinearRNNTheory.mode_maps(n_lags)", rnt.mode_maps, dict(t=1.0), {"n_lags": INT_NOT_NONE + [("0", 0)] + HUGE_INT})
    mutate("LinearRNNTheory.weights(R)", rnt.weights, dict(t=1.0), {"R": bad_but(np.eye(2), "None") + [("notortho", np.ones((2, 2)))]})
    mutate("gradient_norm_through_time", tr.gradient_norm_through_time, dict(W_h=Wr[1], n_steps=5),
           {"W_h": arr_bad(Wr[1])[:7] + [("nonsquare", Wr[0])], "n_steps": BAD_INT + HUGE_INT,
            "g": bad_but(np.ones(3), "1d", "None")})
    case("gradient_norm_through_time(|W_h|>1, 2000)", lambda: tr.gradient_norm_through_time(3.0 * np.eye(3), 2000))
    mutate("spectral_radius", tr.spectral_radius, dict(W_h=Wr[1]), {"W_h": arr_bad(Wr[1])[:7] + [("nonsquare", Wr[0])]})
    _tag("theory.recurrent", s0)

    # ---------------------------------------------------------------- theory.continual (but two_teachers)
    s0 = len(B.CASES)
    from idealnets.theory import continual as tc
    from idealnets.theory.lambda_balanced import lambda_balanced_init

    tasks = tc.whitened_pair(3, 3.0, 2.0, 0.7, 1.2)
    cW1, cW2 = lambda_balanced_init(3, 2, 3, 0.0, 0.2, seed=3)
    sched = [("A", 2.0), ("B", 2.0)]
    TASKS_BAD = [("None", None), ("empty", {}), ("list", [1, 2]), ("nan", {"A": (tasks["A"][0] * NAN, tasks["A"][1])}),
                 ("shape", {"A": tasks["A"], "B": (tasks["B"][0][:2], tasks["B"][1])}), ("str", "AB")]
    SCHED_BAD = [("None", None), ("empty", []), ("unknown", [("C", 1.0)]), ("negT", [("A", -1.0)]),
                 ("nanT", [("A", NAN)]), ("strT", [("A", "x")]), ("notpair", [("A",)]), ("str", "A"),
                 ("infmid", [("A", np.inf), ("B", 1.0)])]
    mutate("Curriculum", tc.Curriculum, dict(tasks=tasks, schedule=sched, W1_0=cW1, W2_0=cW2),
           {"tasks": TASKS_BAD, "schedule": SCHED_BAD, "W1_0": arr_bad(cW1)[:7] + [("wrongshape", cW1.T)],
            "W2_0": arr_bad(cW2)[:7], "tau": BAD_POS + [("0", 0.0)]})
    cur = tc.Curriculum(tasks, sched, cW1, cW2)
    mutate("Curriculum.loss", cur.loss, dict(t=[0.0, 1.0, 3.0], task="A"),
           {"t": T_BAD, "task": [("unknown", "C"), ("None", None), ("int", 0)]})
    for m in ("weights", "map"):
        mutate(f"Curriculum.{m}", getattr(cur, m), dict(t=[0.0, 1.0, 3.0]), {"t": T_BAD})
        case(f"Curriculum.{m}(t=[])", lambda m=m: getattr(cur, m)([]), "ok")
        case(f"Curriculum.{m}(t=1e12)", lambda m=m: getattr(cur, m)([1e12]))  # beyond the schedule: refused
    case("Curriculum.loss(t=[])", lambda: cur.loss([], "A"), "ok")
    curi = tc.Curriculum(tasks, sched, 1.5 * cW1, cW2)
    case("Curriculum(integrated).loss(t=[])", lambda: curi.loss([], "A"), "ok")
    case("Curriculum(integrated).weights(t=[])", lambda: curi.weights([]), "ok")
    mutate("Curriculum.loss_of_map", cur.loss_of_map, dict(W=cW2 @ cW1, task="A"),
           {"W": bad_but(cW2 @ cW1, "3d"), "task": [("unknown", "C")]})
    mutate("ShallowCurriculum", tc.ShallowCurriculum, dict(tasks=tasks, schedule=sched, W0=np.zeros((3, 3))),
           {"tasks": TASKS_BAD[:4], "schedule": SCHED_BAD, "W0": arr_bad(np.zeros((3, 3)))[:7], "tau": BAD_POS})
    sh = tc.ShallowCurriculum(tasks, sched, np.zeros((3, 3)))
    for m in ("weights", "map"):
        mutate(f"ShallowCurriculum.{m}", getattr(sh, m), dict(t=[0.0, 1.0]), {"t": T_BAD})
        case(f"ShallowCurriculum.{m}(t=[])", lambda m=m: getattr(sh, m)([]), "ok")
    case("ShallowCurriculum.loss(t=[])", lambda: sh.loss([], "A"), "ok")
    n_h, gates = tc.overlapping_gates(3, 1)
    gW1, gW2 = lambda_balanced_init(3, n_h, 3, 0.0, 0.2, seed=2)
    mutate("GatedCurriculum", tc.GatedCurriculum, dict(tasks=tasks, schedule=sched, gates=gates, W1_0=gW1, W2_0=gW2),
           {"gates": [("None", None), ("missing", {"A": gates["A"]}), ("short", {"A": gates["A"][:2], "B": gates["B"]}),
                      ("nan", {"A": gates["A"] * NAN, "B": gates["B"]}), ("str", "AB")],
            "W1_0": arr_bad(gW1)[:7], "schedule": SCHED_BAD[:4]})
    gc = tc.GatedCurriculum(tasks, sched, gates, gW1, gW2)
    for m in ("map", "loss"):
        mutate(f"GatedCurriculum.{m}", getattr(gc, m), dict(t=[0.0, 1.0], task="A"),
               {"t": T_BAD, "task": [("unknown", "C"), ("None", None)]})
        case(f"GatedCurriculum.{m}(t=[])", lambda m=m: getattr(gc, m)([], "A"), "ok")
    case("GatedCurriculum.weights(t=[])", lambda: gc.weights([]), "ok")
    mutate("overlapping_gates", tc.overlapping_gates, dict(n_gate=3, n_shared=1),
           {"n_gate": BAD_INT + [("0", 0)] + HUGE_INT, "n_shared": BAD_INT + [("4", 4)]})
    mutate("forgetting", tc.forgetting, dict(curriculum=cur, task="A", t_switch=2.0, t=[2.0, 3.0, 4.0]),
           {"curriculum": [("None", None), ("str", "x")], "task": [("unknown", "C")], "t_switch": BAD_POS,
            "t": T_BAD})
    mutate("interference", tc.interference, dict(curriculum=cur, first="A", second="B"),
           {"curriculum": [("None", None)], "first": [("unknown", "C"), ("None", None)], "second": [("same", "A")]})
    for f in (tc.item_tasks,):
        mutate("item_tasks", f, dict(n_in=3, n_out=3, s_a=1.0, s_b=1.5, theta_u=0.4, theta_v=1.1),
               {"n_in": BAD_INT + [("1", 1)] + HUGE_INT, "s_a": BAD_POS, "theta_u": REAL})
    mutate("whitened_pair", tc.whitened_pair, dict(n=3, s_a=3.0, s_b=2.0, theta_u=0.7, theta_v=1.2),
           {"n": BAD_INT + [("1", 1)] + HUGE_INT, "s_a": BAD_POS, "s_b": BAD_POS, "theta_v": REAL})
    mutate("shallow_item_forgetting", tc.shallow_item_forgetting, dict(s_a=1.0, s_b=1.5, cos_u=0.3, cos_v=0.5),
           {"s_a": BAD_POS, "cos_u": REAL + [("2", 2.0)], "cos_v": REAL + [("-2", -2.0)]})
    mutate("blocked", tc.blocked, dict(first="A", second="B", T_first=1.0, T_second=2.0),
           {"T_first": BAD_POS + [("0", 0.0)], "T_second": [v for v in BAD_POS if v[0] != "inf"]})  # inf: to the fixed point
    mutate("alternating", tc.alternating, dict(tasks=["A", "B"], tau_b=0.5, T=2.0),
           {"tasks": [("None", None), ("empty", []), ("int", 3)], "tau_b": BAD_POS + [("0", 0.0), ("1e-300", 1e-300)],
            "T": BAD_POS})
    case("alternating(T/tau_b=1e9)", lambda: tc.alternating(["A", "B"], 1e-9, 1.0))
    mutate("check_tasks", tc.check_tasks, dict(tasks=tasks), {"tasks": TASKS_BAD})
    mutate("check_schedule", tc.check_schedule, dict(schedule=sched, names=["A", "B"]), {"schedule": SCHED_BAD})
    Xs = [rng.standard_normal((6, 3)) for _ in range(3)]
    ws = rng.standard_normal(6)
    ys = [x.T @ ws for x in Xs]
    mutate("sequential_regression", tc.sequential_regression, dict(Xs=Xs, ys=ys, w0=np.zeros(6), order=[0, 1, 2, 0]),
           {"Xs": [("None", None), ("empty", []), ("nan", [Xs[0] * NAN] + Xs[1:]), ("shape", [Xs[0][:5]] + Xs[1:])],
            "ys": [("short", ys[:2]), ("nan", [ys[0] * NAN] + ys[1:])], "w0": bad_but(np.zeros(6), "1d"),
            "order": [("out", [0, 5]), ("neg", [-1]), ("float", [0.5]), ("None", None), ("str", "ab")]})
    case("sequential_regression(order=[])", lambda: tc.sequential_regression(Xs, ys, np.zeros(6), []), "either")
    case("sequential_regression(X=0)", lambda: tc.sequential_regression([np.zeros((6, 3))], [np.zeros(3)], np.zeros(6), [0]), "ok")
    mutate("regression_loss", tc.regression_loss, dict(Xs=Xs, ys=ys, W=np.zeros((2, 6))),
           {"W": bad_but(np.zeros((2, 6)), "3d") + [("wrongsize", np.zeros(5))]})
    mutate("sequential_forgetting", tc.sequential_forgetting, dict(Xs=Xs, ys=ys, w0=np.zeros(6), order=[0, 1, 2]),
           {"order": [("out", [0, 5]), ("None", None)], "w0": bad_but(np.zeros(6), "1d", n=3)})
    for f in (tc.cyclic_order, tc.random_order):
        mutate(f.__name__, f, dict(n_tasks=3, k=5), {"n_tasks": BAD_INT + [("0", 0)], "k": BAD_INT + HUGE_INT})
    mutate("new_item_tasks", tc.new_item_tasks, dict(kind="penguin"), {"kind": [("bad", "dolphin"), ("None", None)]})
    tt = np.linspace(0, 3, 7)
    mutate("continual.crossing_time", tc.crossing_time, dict(t=tt, L=np.exp(-tt), level=0.1),
           {"t": T_BAD + [("unsorted", tt[::-1])], "L": bad_but(np.exp(-tt), "1d") + [("short", np.ones(3))],
            "level": BAD_POS + [("0", 0.0)]})
    case("continual.crossing_time(t=[])", lambda: tc.crossing_time([], [], 0.1), "either")
    Yo = rng.standard_normal((4, 3))
    mutate("out_of_span_fraction", tc.out_of_span_fraction, dict(Y=Yo, y=np.ones(4)),
           {"Y": arr_bad(Yo)[:7], "y": bad_but(np.ones(4), "1d")})
    case("out_of_span_fraction(y=zero)", lambda: tc.out_of_span_fraction(Yo, np.zeros(4)), "either")
    _tag("theory.continual", s0)

    # ---------------------------------------------------------------- theory.continual.two_teachers (A's; call only)
    s0 = len(B.CASES)
    T2, v1, v2 = tc.teacher_pair(2, 0.5, 1.0)
    mutate("teacher_pair", tc.teacher_pair, dict(M=2, feature_similarity=0.5, readout_similarity=1.0),
           {"M": BAD_INT + [("0", 0)] + HUGE_INT, "feature_similarity": BAD_FLOAT + [("2", 2.0)],
            "readout_similarity": BAD_FLOAT + [("-2", -2.0)]})
    Q0 = 0.2 * np.eye(2)
    R0 = 0.01 * np.ones((2, 4))
    ode = tc.TwoTeacherODE(2, 2, 0.5, T2, v1, v2)
    mutate("TwoTeacherODE", tc.TwoTeacherODE, dict(K=2, M=2, lr=0.5, T_joint=T2, v_star1=v1, v_star2=v2),
           {"K": BAD_INT + [("0", 0)], "lr": BAD_POS + [("0", 0.0)], "T_joint": arr_bad(T2)[:7],
            "activation": [("bad", "gelu")], "lr_v": [v for v in BAD_POS if v[0] != "None"]})
    mutate("TwoTeacherODE.integrate", ode.integrate, dict(Q0=Q0, R0=R0, h1_0=0.1 * np.ones(2), h2_0=0.1 * np.ones(2),
                                                          alpha_1=1.0, alpha_2=1.0),
           {"Q0": arr_bad(Q0)[:7], "alpha_1": BAD_POS, "alpha_eval": [("nan", [0, NAN]), ("neg", [-1.0])]})
    # erf units saturate, so lr = 20 with trained heads is no divergence: the errors fall (task 1:
    # 0.334 -> 0.084 by alpha = 5), |Q| grows slowly; a finite answer is right here.
    case("TwoTeacherODE.integrate(lr=20)", lambda: tc.TwoTeacherODE(2, 2, 20.0, T2, v1, v2).integrate(
        Q0, R0, 0.1 * np.ones(2), 0.1 * np.ones(2), 5.0, 5.0), "ok")
    _tag("theory.continual.two_teachers", s0)

    # ---------------------------------------------------------------- theory.committee_grid (A's; call only)
    s0 = len(B.CASES)
    from idealnets.theory import committee_grid as cg

    mutate("CommitteeGrid", cg.CommitteeGrid, dict(K=[2, 3], M=2, lr=[0.5, 0.5]),
           {"K": [("0", [0, 2]), ("float", [2.5, 2]), ("None", None), ("str", "ab")] + [("huge", [10**6, 2])],
            "M": BAD_INT + [("0", 0)], "lr": [("neg", [-0.5, 0.5]), ("nan", [NAN, 0.5]), ("0", [0.0, 0.5])],
            "noise": [("neg", -1.0), ("nan", NAN)], "activation": [("bad", "gelu")],
            "T": bad_but(np.eye(2), "None"), "v_star": bad_but(np.ones(2), "1d", "None")})
    g = cg.CommitteeGrid([2, 2], 2, [0.5, 1.0])
    mutate("CommitteeGrid.integrate", g.integrate, dict(alpha_eval=[0.0, 1.0, 5.0]),
           {"alpha_eval": T_BAD + [("unsorted", [5.0, 1.0])], "rtol": BAD_POS, "fp_tol": BAD_POS,
            "alpha_max": BAD_POS, "max_iterations": BAD_INT + [("0", 0)]})
    case("CommitteeGrid.integrate(alpha=1e12)", lambda: g.integrate([0.0, 1e12]), "either")
    case("CommitteeGrid.integrate(alpha=inf)", lambda: g.integrate([0.0, np.inf]), "either")
    case("CommitteeGrid.integrate(lr=10 diverge)", lambda: cg.CommitteeGrid([2], 2, [10.0]).integrate([0.0, 50.0]), "either")
    _tag("theory.committee_grid", s0)

    # ---------------------------------------------------------------- simulate.*
    import torch

    s0 = len(B.CASES)
    from idealnets.simulate import feedback_alignment as sfa

    W1e, W2e, Be = W1[None].repeat(2, 0), W2[None].repeat(2, 0), Bm[None].repeat(2, 0)
    mutate("sim.fa.train_linear", sfa.train_linear, dict(W1_0=W1e, W2_0=W2e, B=Be, X=X, Y=Y, lr=0.01, steps=20, record=5),
           {"W1_0": arr_bad(W1e)[:7], "B": arr_bad(Be)[:7] + [("wrongshape", np.ones((2, 3, 2)))],
            "X": arr_bad(X)[:7], "lr": BAD_POS + [("0", 0.0)], "steps": BAD_INT,
            "record": [("str", "a"), ("0", 0), ("neg", -1)], "rule": [("bad", "dfa2"), ("None", None)],
            "log": [("str", "no")], "device": [("tpu", "tpu")], "dtype": [("int", torch.int64)]})
    case("sim.fa.train_linear(lr=huge)", lambda: sfa.train_linear(W1e, W2e, Be, X, Y, lr=50.0, steps=2000), "diverge")
    mutate("sim.fa.init_mlp", sfa.init_mlp, dict(widths=[6, 5, 3], n_networks=2),
           {"widths": [("0", [6, 0, 3]), ("float", [6, 2.5, 3]), ("one", [6]), ("None", None), ("str", "abc"),
                       ("huge", [6, 10**9, 3])],
            "n_networks": BAD_INT + [("0", 0)], "seed": BAD_INT, "gain": BAD_POS, "feedback_scale": BAD_POS,
            "dtype": [("int", torch.int64)]})
    st = sfa.init_mlp([6, 5, 3], 2, seed=1, dtype=torch.float64)
    Xm = rng.standard_normal((6, 10))
    lab = rng.integers(0, 3, 10)
    mutate("sim.fa.train_mlp", sfa.train_mlp, dict(X=Xm, labels=lab, W0=st, rule="fa", lr=0.05, steps=5, batch_size=4),
           {"X": arr_bad(Xm)[:7], "labels": [("float", lab + 0.5), ("out", lab + 5), ("neg", lab - 5), ("short", lab[:3]),
                                             ("None", None)],
            "W0": [("None", None), ("str", "x")], "rule": [("bad", "x")], "lr": BAD_POS + [("0", 0.0)],
            "steps": BAD_INT, "batch_size": INT_NOT_NONE[:3] + [("0", 0), ("big", 11)],
            "train_layers": [("short", [True]), ("str", "ab")], "seed": BAD_INT})
    mutate("sim.fa.random_binary_task", sfa.random_binary_task, dict(n_samples=20, n_in=6, n_classes=3),
           {"n_samples": BAD_INT + [("0", 0)] + HUGE_INT, "n_in": BAD_INT + [("0", 0)],
            "n_classes": BAD_INT + [("0", 0), ("1", 1)], "seed": BAD_INT})
    _tag("simulate.feedback_alignment", s0)

    s0 = len(B.CASES)
    from idealnets.simulate import perturbation as spt

    Wp0, Wps = np.zeros((2, 3, 4)), rng.standard_normal((3, 4))
    mutate("sim.train_perturbation", spt.train_perturbation, dict(W0=Wp0, W_star=Wps, rule="node", lr=0.01, steps=20),
           {"W0": arr_bad(Wp0)[:7], "W_star": arr_bad(Wps)[:7] + [("wrongshape", Wps.T)],
            "rule": [("bad", "x"), ("None", None)], "lr": BAD_POS + [("0", 0.0)], "steps": BAD_INT,
            "sigma": BAD_POS + [("0", 0.0), ("1e-300", 1e-300), ("1e200", 1e200)], "record": [("str", "a")],
            "log": [("str", "no")], "seed": BAD_INT, "device": [("tpu", "tpu")], "dtype": [("int", torch.int64)]})
    case("sim.train_perturbation(lr=3 stable)", lambda: spt.train_perturbation(
        Wp0, Wps, rule="node", lr=3 * pt.stable_lr("node", 4, 3), steps=3000), "diverge")
    if hasattr(spt, "sigma_min"):  # added in round 2
        mutate("sim.sigma_min", spt.sigma_min, {}, {"dtype": [("int", torch.int64), ("str", "x"), ("None", 3)]})
    _tag("simulate.perturbation", s0)

    s0 = len(B.CASES)
    from idealnets.simulate import random_features as srf

    EITHER.add("sim.train_random_features(valid)")  # times=(inf,) by default: run.times holds inf
    mutate("sim.train_random_features", srf.train_random_features, dict(N=8, P=12, widths=[6, 10], n_networks=2, n_test=64),
           {"N": BAD_INT + [("0", 0)] + HUGE_INT, "P": BAD_INT + [("0", 0)], "widths": [("0", [0]), ("float", [2.5]),
                                                                                     ("empty", []), ("str", "ab"),
                                                                                     ("None", None), ("huge", [10**9])],
            "activation": [("bad", "gelu"), ("None", None)], "snr": [v for v in BAD_POS if v[0] != "inf"],
            "ridge": BAD_POS, "times": [("nan", [NAN]), ("neg", [-1.0]), ("str", "t")],
            "n_networks": BAD_INT + [("0", 0)], "lr": [v for v in BAD_POS if v[0] != "None"] + [("0", 0.0)],
            "n_test": BAD_INT + [("0", 0)], "spherical": [("str", "no")], "seed": BAD_INT,
            "device": [("tpu", "tpu")], "dtype": [("int", torch.int64)]})
    case("sim.train_random_features(n_test=huge,tanh)", lambda: srf.train_random_features(
        8, 12, [6], n_networks=2, n_test=10**9, activation="tanh"))
    case("sim.train_random_features(lr=100,t=inf)", lambda: srf.train_random_features(
        8, 12, [6, 10], n_networks=2, n_test=64, lr=100.0), "diverge")
    mutate("sim.rf.activation", srf.activation, dict(name="relu"), {"name": [("bad", "gelu"), ("None", None)]})
    _tag("simulate.random_features", s0)

    s0 = len(B.CASES)
    from idealnets.simulate import recurrent as srn

    W0r = srn.random_init(2, 3, 2, n_networks=2, seed=0)
    mutate("sim.rnn.random_init", srn.random_init, dict(n_in=2, n_hidden=3, n_out=2, n_networks=2),
           {"n_in": BAD_INT + [("0", 0)], "n_hidden": BAD_INT + [("0", 0)] + HUGE_INT, "n_networks": BAD_INT + [("0", 0)],
            "scale": BAD_POS, "recurrent_scale": [v for v in BAD_POS if v[0] != "None"], "seed": BAD_INT, "dtype": [("int", torch.int64)]})
    red = tr.mode_reduction(Xr, Yr)
    mutate("sim.rnn.aligned_init", srn.aligned_init, dict(b0=0.1, a0=0.1, c0=0.1, U=red.U, V=red.V, n_hidden=3,
                                                          n_networks=2),
           {"b0": REAL, "a0": REAL, "U": arr_bad(red.U)[:7] + [("notortho", np.ones((2, 2)))],
            "n_hidden": BAD_INT + [("1", 1)], "n_networks": BAD_INT + [("0", 0)], "seed": BAD_INT})
    W0bad = [("None", None), ("nan", tuple(w * NAN for w in W0r)), ("two", W0r[:2]), ("str", "abc"),
             ("shape", (W0r[0], W0r[1][:, :2], W0r[2]))]
    mutate("sim.rnn.forward", srn.forward, dict(weights=W0r, X=Xr),
           {"weights": W0bad, "X": arr_bad(Xr)[:7], "activation": [("bad", "gelu"), ("None", None)]})
    mutate("sim.rnn.loss", srn.loss, dict(weights=W0r, X=Xr, Y=Yr),
           {"weights": W0bad, "Y": arr_bad(Yr)[:7], "readout": [("bad", "x")]})
    mutate("sim.rnn.gradients", srn.gradients, dict(weights=W0r, X=Xr, Y=Yr),
           {"weights": W0bad[:3], "method": [("bad", "x"), ("None", None)], "k": INT_NOT_NONE + [("0", 0)],
            "activation": [("bad", "gelu")]})
    case("sim.rnn.gradients(tbptt no k)", lambda: srn.gradients(W0r, Xr, Yr, method="tbptt"))
    mutate("sim.rnn.train", srn.train, dict(W0=W0r, X=Xr, Y=Yr, lr=0.05, steps=10, record=5),
           {"W0": W0bad, "X": arr_bad(Xr)[:7], "lr": BAD_POS + [("0", 0.0)], "steps": BAD_INT,
            "method": [("bad", "x")], "k": INT_NOT_NONE + [("0", 0)], "activation": [("bad", "gelu")],
            "readout": [("bad", "x")], "record": [("str", "a"), ("0", 0)],
            "raise_on_divergence": [("str", "no"), ("None", None), ("int", 2)], "desc": [("int", 3)],
            "device": [("tpu", "tpu")], "dtype": [("int", torch.int64)]})
    case("sim.rnn.train(lr=huge)", lambda: srn.train(W0r, Xr, Yr, lr=1e3, steps=2000), "diverge")
    mutate("sim.rnn.hidden_gradient_norms", srn.hidden_gradient_norms, dict(weights=W0r, X=Xr, Y=Yr),
           {"weights": W0bad[:3], "X": arr_bad(Xr)[:4], "activation": [("bad", "gelu")]})
    mutate("sim.rnn.lag_map_strengths", srn.lag_map_strengths, dict(weights=W0r, U=red.U, V=red.V, n_lags=4),
           {"weights": W0bad, "U": arr_bad(red.U)[:7], "n_lags": BAD_INT + [("0", 0)] + HUGE_INT})
    _tag("simulate.recurrent", s0)

    s0 = len(B.CASES)
    from idealnets.simulate import continual as sc

    cW1e, cW2e = cW1[None].repeat(2, 0), cW2[None].repeat(2, 0)
    sched_s = [("A", 0.2), ("B", 0.2)]
    mutate("sim.train_curriculum", sc.train_curriculum, dict(tasks=tasks, schedule=sched_s, W1_0=cW1e, W2_0=cW2e,
                                                              lr=0.02, record=5),
           {"tasks": TASKS_BAD[:5], "schedule": SCHED_BAD[:6] + [("infT", [("A", np.inf)])],
            "W1_0": arr_bad(cW1e)[:7], "lr": BAD_POS + [("0", 0.0)], "record": BAD_INT + [("0", 0)],
            "activation": [("bad", "gelu"), ("None", None)], "gates": [("str", "x"), ("missing", {"A": gates["A"]})],
            "device": [("tpu", "tpu")], "dtype": [("int", torch.int64), ("str", "x")]})
    for act in ("relu", "tanh"):
        case(f"sim.train_curriculum(activation={act})", lambda act=act: sc.train_curriculum(
            tasks, sched_s, cW1e, cW2e, lr=0.02, record=5, activation=act), "ok")
    case("sim.train_curriculum(lr=huge)", lambda: sc.train_curriculum(tasks, [("A", 200.0)], cW1e, cW2e, lr=2.0, record=5), "diverge")
    # phase lengths are rounded to whole steps, as documented (round(duration / lr))
    case("sim.train_curriculum(schedule=notmultiple)", lambda: sc.train_curriculum(
        tasks, [("A", 0.013)], cW1e, cW2e, lr=0.02, record=5), "either")
    mutate("sim.train_shallow_curriculum", sc.train_shallow_curriculum,
           dict(tasks=tasks, schedule=sched_s, W0=np.zeros((2, 3, 3)), lr=0.02, record=5),
           {"W0": arr_bad(np.zeros((2, 3, 3)))[:7], "lr": BAD_POS, "record": BAD_INT, "schedule": SCHED_BAD[:4]})
    mutate("sim.train_sequential_regression", sc.train_sequential_regression,
           dict(Xs=Xs, ys=ys, w0=np.zeros(6), order=[0, 1, 2], steps=50),
           {"Xs": [("None", None), ("nan", [Xs[0] * NAN] + Xs[1:])], "w0": bad_but(np.zeros(6), "1d", "3d"),
            "order": [("out", [0, 5]), ("None", None)], "lr": [v for v in BAD_POS if v[0] != "None"] + [("0", 0.0)],
            "steps": BAD_INT,
            "device": [("tpu", "tpu")], "dtype": [("int", torch.int64)]})
    case("sim.train_sequential_regression(lr=huge)", lambda: sc.train_sequential_regression(
        Xs, ys, np.zeros(6), [0, 1, 2], lr=10.0, steps=2000), "diverge")
    mutate("sim.teacher_pair_weights", sc.teacher_pair_weights, dict(N=20, M=2, feature_similarity=0.5, n_networks=2),
           {"N": BAD_INT + [("0", 0)] + HUGE_INT, "M": BAD_INT + [("0", 0)], "feature_similarity": BAD_FLOAT + [("2", 2.0)],
            "n_networks": BAD_INT + [("0", 0)], "seed": BAD_INT})
    W1s, W2s = sc.teacher_pair_weights(20, 2, 0.5, 2, seed=1)
    W0t = torch.randn(2, 2, 20, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    tbase = dict(W0=W0t, h1_0=0.1 * np.ones(2), h2_0=0.1 * np.ones(2), W_star1=W1s, W_star2=W2s, v_star1=v1,
                 v_star2=v2, lr=0.5, alpha_1=1.0, alpha_2=1.0, record=4)
    mutate("sim.train_two_teachers", sc.train_two_teachers, tbase,
           {"W0": arr_bad(W0t.numpy())[:7], "h1_0": bad_but(np.ones(2), "1d", "3d"), "W_star1": arr_bad(W1s.numpy())[:4],
            "lr": BAD_POS + [("0", 0.0)], "alpha_1": BAD_POS, "alpha_2": BAD_POS,
            "record": INT_NOT_NONE + [("0", 0)], "activation": [("bad", "gelu"), ("None", None)], "seed": BAD_INT,
            "lr_v": [v for v in BAD_POS if v[0] != "None"], "device": [("tpu", "tpu")], "dtype": [("int", torch.int64)]})
    for act in ("relu", "linear"):
        case(f"sim.train_two_teachers(activation={act})", lambda act=act: sc.train_two_teachers(**dict(tbase, activation=act)), "ok")
    _tag("simulate.continual", s0)

    # ---------------------------------------------------------------- sweeps (Python API)
    s0 = len(B.CASES)
    from idealnets import sweeps as sw
    from idealnets.sweeps import _testing as swt
    from idealnets.sweeps import phase as ph

    tmp = tempfile.mkdtemp(prefix="bad_inputs_r2_sweep_")
    afile = os.path.join(tmp, "afile")
    open(afile, "w").write("x")
    mutate("sweep", sw.sweep, dict(fn=swt.toy, grid={"a": [1.0, 2.0], "b": [0]}, seeds=2, processes=False),
           {"fn": [("None", None), ("str", "toy"), ("lambda", lambda a, b, seed: {"y": a})],
            "grid": [("None", None), ("empty", {}), ("unknownarg", {"a": [1.0], "b": [0], "c": [1]}),
                     ("missingarg", {"a": [1.0]}), ("emptyaxis", {"a": [], "b": [0]}), ("scalar", {"a": 1.0, "b": [0]}),
                     ("str", "ab"), ("dupes", {"a": [1.0, 1.0], "b": [0]}), ("nan", {"a": [NAN], "b": [0]})],
            "seeds": [("0", 0), ("neg", -1), ("float", 2.5), ("str", "2"), ("None", None), ("emptylist", []),
                      ("huge", 10**9)],
            "cache": [("file", afile), ("unwritable", "/proc/none/cache"), ("int", 3)],
            "scheduler": [("bad", "not-an-address"), ("int", 3)], "processes": [("str", "no")]})
    case("sweep(fn returns nonfinite)", lambda: sw.sweep(lambda a, seed: {"y": float("nan")}, {"a": [1.0]}, processes=False), "either")
    mutate("sweeps.version", sw.version, dict(v="1"), {"v": [("None", None), ("int", 3), ("empty", "")]})
    mutate("sweeps.function_name", sw.function_name, dict(fn=swt.toy), {"fn": [("None", None), ("str", "x")]})
    mutate("sweeps.task_key", sw.task_key, dict(function="f", fn_version="1", point={"a": 1.0}, seed=0),
           {"point": [("None", None), ("nan", {"a": NAN})], "seed": BAD_INT})
    mutate("sweeps.local_cluster", sw.local_cluster, dict(n_workers=1),
           {"n_workers": [("0", 0), ("neg", -1), ("float", 2.5), ("str", "2"), ("huge", 10**6)]})
    mutate("phase.committee_initial", ph.committee_initial, dict(K=2, M=2), {"K": BAD_INT + [("0", 0)] + HUGE_INT,
                                                                              "M": BAD_INT + [("0", 0)]})
    mutate("phase.committee_theory", ph.committee_theory, dict(K=2, noise=0.0, n_lr=3, alpha_final=20.0),
           {"K": BAD_INT + [("0", 0)], "noise": BAD_POS, "n_lr": BAD_INT + [("0", 0)] + HUGE_INT,
            "alpha_final": BAD_POS + [("0", 0.0), ("1e12", 1e12)]})
    mutate("phase.committee_sim", ph.committee_sim, dict(lr=0.5, K=2, noise=0.0, N=50, alpha_final=2.0, n_nets=2, seed=0),
           {"lr": BAD_POS + [("0", 0.0)], "K": BAD_INT + [("0", 0)], "N": BAD_INT + [("0", 0)] + HUGE_INT,
            "alpha_final": BAD_POS, "n_nets": BAD_INT + [("0", 0)], "seed": BAD_INT})
    mutate("phase.linear_theory", ph.linear_theory, dict(alpha=2.0, snr=4.0), {"alpha": BAD_POS + [("0", 0.0)],
                                                                                 "snr": BAD_POS})
    mutate("phase.linear_sim", ph.linear_sim, dict(alpha=2.0, snr=4.0, N=20, n_inputs=2, seed=0),
           {"alpha": BAD_POS + [("0", 0.0)], "snr": BAD_POS, "N": BAD_INT + [("0", 0)] + HUGE_INT,
            "n_inputs": BAD_INT + [("0", 0)], "seed": BAD_INT})
    mutate("phase.deep_theory", ph.deep_theory, dict(depth=2, scale=0.1), {"depth": BAD_INT + [("0", 0)] + HUGE_INT,
                                                                            "scale": BAD_POS + [("0", 0.0)]})
    mutate("phase.deep_sim", ph.deep_sim, dict(depth=2, scale=0.3, n_nets=2, t_cap=50.0, seed=0),
           {"depth": BAD_INT + [("0", 0)], "scale": BAD_POS + [("0", 0.0)], "n_nets": BAD_INT + [("0", 0)],
            "t_cap": BAD_POS + [("0", 0.0), ("1e12", 1e12)], "seed": BAD_INT})
    al = np.linspace(0, 10, 11)
    Qe = np.tile(np.eye(2), (11, 1, 1))
    mutate("phase.escape_alpha", ph.escape_alpha, dict(alpha=al, Q=Qe, R=Qe),
           {"alpha": T_BAD, "Q": arr_bad(Qe)[:7], "R": [("wrongshape", Qe[:3])]})
    _tag("sweeps", s0)


# names whose NaN output is documented (not escaped / not reached / crossing never happens)
NAN_DOCUMENTED_PREFIX = ("LinearRNNTheory(tbptt).learning_time", "phase.committee_theory", "phase.committee_sim", "phase.deep_sim", "phase.escape_alpha",
                         "CommitteeGrid.integrate", "sweep(fn returns nonfinite)")
SLOW_PREFIX = ("sim.", "phase.", "sweep", "CommitteeGrid", "TwoTeacherODE", "cli.")


def verdict_of(name: str, expect: str, res) -> str | None:
    """The harness's verdict (bad_inputs.classify), with this sweep's additions."""
    res = tuple(res)
    if res[0] == "exc" and res[1] == "FloatingPointError" and expect in ("refuse", "either"):
        return None  # overflow of a finite input, raised by name (the package's convention)
    if res[0] == "exc" and res[1] == "CLIError":
        return f"command line: {res[2]}"
    if res[0] == "exc" and res[1] == "TimeoutExpired":  # a command line still working at its limit
        return "hang"
    verdict = B.classify(expect, res, name_nan_ok=name.startswith(NAN_DOCUMENTED_PREFIX))
    if verdict == "NaN returned" and name.startswith(NAN_DOCUMENTED_PREFIX) and expect != "refuse":
        return None
    return verdict


def run_case(name, fn, expect, timeout):
    ctx = mp.get_context("fork")
    a, b = ctx.Pipe(duplex=False)
    p = ctx.Process(target=B._run, args=(fn, b))
    t0 = time.perf_counter()
    p.start()
    limit = timeout * (3 if name.startswith(SLOW_PREFIX) else 1)
    if name.startswith("cli."):
        limit = max(limit, 150.0)
    res = a.recv() if a.poll(limit) else ("timeout", "", "")
    p.kill()
    p.join()
    return dict(name=name, module=MODULE.get(name, "?"), expect=expect, result=list(res),
                verdict=verdict_of(name, expect, res), seconds=round(time.perf_counter() - t0, 2))


def summary(records, seconds):
    bad = [r for r in records if r["verdict"]]
    kinds, mods, tot = {}, {}, {}
    for r in bad:
        k = kind_of(r)
        kinds[k] = kinds.get(k, 0) + 1
        mods.setdefault(r["module"], {}).setdefault(k, 0)
        mods[r["module"]][k] += 1
    for r in records:
        tot[r["module"]] = tot.get(r["module"], 0) + 1
    print(f"\n{len(records)} inputs in {seconds:.0f}s: {len(bad)} misbehaved "
          + ", ".join(f"{k}: {n}" for k, n in sorted(kinds.items())))
    for m in sorted(tot):
        print(f"  {m:34s} {tot[m]:4d} inputs, {sum(mods.get(m, {}).values()):3d} misbehaved "
              + ", ".join(f"{k}: {n}" for k, n in sorted(mods.get(m, {}).items())))
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--only", default=None, help="substring filter on case names")
    ap.add_argument("--json", default=None, help="write every verdict to this file")
    ap.add_argument("--no-cli", action="store_true")
    ap.add_argument("--module", default=None, help="comma-separated module labels (prefixes), e.g. theory.continual")
    ap.add_argument("--recheck-hangs", type=float, default=0.0, metavar="FACTOR",
                    help="run the cases that timed out once more with FACTOR times the limit (a loaded machine)")
    ap.add_argument("--rescore", default=None, metavar="JSON",
                    help="re-judge the results of an earlier --json run with this file's expectations (no reruns "
                         "except --recheck-hangs); cases this file no longer builds are dropped")
    args = ap.parse_args()
    import idealnets
    import idealnets.theory

    print(f"idealnets from {os.path.dirname(idealnets.__file__)}, theory from "
          f"{os.path.dirname(idealnets.theory.__file__)}", flush=True)
    build()
    if not args.no_cli:
        s0 = len(B.CASES)
        build_cli()
        _tag("command lines", s0)
    cases = [c for c in B.CASES if (args.only is None or any(o in c[0] for o in args.only.split(",")))
             and (args.module is None or MODULE.get(c[0], "?").startswith(tuple(args.module.split(","))))]
    t_start = time.perf_counter()
    if args.rescore:
        by_name = {c[0]: c for c in cases}
        records = []
        for r in json.load(open(args.rescore)):
            if r["name"] in by_name:
                expect = by_name[r["name"]][2]
                records.append(dict(r, module=MODULE.get(r["name"], r["module"]), expect=expect,
                                    verdict=verdict_of(r["name"], expect, r["result"])))
    else:
        records = []
        for name, fn, expect in cases:
            rec = run_case(name, fn, expect, args.timeout)
            records.append(rec)
            if rec["verdict"]:
                print(f"MISBEHAVED [{rec['module']}] {name}: {rec['verdict']} {rec['result'][1:]}", flush=True)
            elif args.verbose:
                print(f"ok {name}: {rec['result'][1:]} ({rec['seconds']:.1f}s)", flush=True)
    if args.recheck_hangs:
        fns = {c[0]: c for c in cases}
        for i, r in enumerate(records):
            if r["verdict"] == "hang" and r["name"] in fns:
                again = run_case(r["name"], fns[r["name"]][1], r["expect"], args.timeout * args.recheck_hangs)
                again["rechecked"] = True
                print(f"recheck {r['name']}: {again['verdict'] or 'ok'} {again['result'][1:]} "
                      f"({again['seconds']:.0f}s)", flush=True)
                records[i] = again
    if args.rescore:
        for r in records:
            if r["verdict"]:
                print(f"MISBEHAVED [{r['module']}] {r['name']}: {r['verdict']} {r['result'][1:]}")
    bad = summary(records, time.perf_counter() - t_start)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f, indent=0)
    return 0 if not bad else 1


def kind_of(rec: dict) -> str:
    """The five kinds of the results table."""
    verdict = rec["verdict"]
    if rec["expect"] == "ok" and rec["result"][0] == "exc" and verdict != "hang":
        return "refused-valid"
    if verdict == "hang":
        return "hang"
    if verdict.startswith(("NaN", "inf returned", "huge returned", "silent divergence")):
        return "NaN/inf"
    if verdict.startswith("accepted"):
        return "accepted-wrong"
    if verdict.startswith("crash on valid") or verdict.startswith("DivergenceError on ok"):
        return "refused-valid"
    return "wrong exception"  # raised X, DivergenceError on bad input, command-line traceback/exit status


if __name__ == "__main__":
    sys.exit(main())
