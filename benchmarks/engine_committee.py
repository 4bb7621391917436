"""The committee and continual trainers before and after they moved onto the one training engine.

Two parts, both comparing the pre-engine module (``benchmarks/_baseline.py``) with today's:

* ``--identity``: every trainer of ``simulate/committee.py`` (ensemble and one-network code
  paths; erf, relu and linear units; backprop and feedback alignment; second layer trained or
  not; output noise; per-network learning rates; float64 and float32; a diverging network
  flagged) and of ``simulate/continual.py`` (curricula of linear, ReLU, tanh and gated
  networks; shallow curricula; sequential regression; two teachers) is run with the same
  arguments by both, and every recorded array is compared with ``np.array_equal``.
* ``--speed`` (the default): the committee SGD loop, old and new side by side in one process,
  alternating old/new, best of ``--repeats``: (a) one network, N = 500, K = M = 2, erf (the
  Gram-matrix loop), (b) 64 networks in float64 and float32 (the TorchScript block loop), one
  thread, on the CPU. Prints seed-steps per second and the ratio new/old, by wall time and by the
  CPU time of the process (steadier on a shared machine). The time is the whole ``train`` call
  (3 records, 10 test inputs, so the step loop dominates).

    .venv/bin/python benchmarks/engine_committee.py [--identity] [--speed] [--repeats 3] [--quick]
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import _baseline  # noqa: E402
from idealnets.simulate import committee as new_committee  # noqa: E402
from idealnets.simulate import continual as new_continual  # noqa: E402

N, K, LR = 500, 2, 1.0


# --------------------------------------------------------------------------- committee
def committee_train(mod, new: bool, N, K, M, lr, alpha_max, *, E, init, **kw):
    """``mod.train`` with the keyword names of its release (n_seeds/init_std before the engine)."""
    names = dict(n_networks=E, init_scale=init) if new else dict(n_seeds=E, init_std=init)
    return mod.train(N, K, M, lr, alpha_max, progress_bar=False, **names, **kw)


def committee_arrays(run, new: bool) -> dict:
    if new:
        out = dict(alpha=run.times, eps_test=run.losses, **run.state)
        out.update({k: run.extras[k] for k in ("T", "v_star", "lr", "lr_v", "feedback", "Q0", "R0", "v0",
                                               "alignment", "N", "noise", "activation", "train_second_layer",
                                               "dtype")})
    else:
        out = {k: getattr(run, k) for k in ("alpha", "eps_test", "Q", "R", "v", "T", "v_star", "lr", "lr_v",
                                            "feedback", "Q0", "R0", "v0", "alignment", "N", "noise",
                                            "activation", "train_second_layer", "dtype")}
    out.update(steps=run.steps, diverged=run.diverged)
    return out


COMMITTEE_CASES = {
    "ensemble erf": dict(args=(60, 2, 2, 1.0, 3.0), E=3, init=0.5, record=10),
    "ensemble erf, v trained, noise, per-network lr, record_linear": dict(
        args=(60, 2, 2, [0.5, 1.0, 1.5], 3.0), E=3, init=0.5, record=8, train_second_layer=True, noise=0.1,
        record_linear=5, lr_v=0.3),
    "ensemble relu": dict(args=(60, 3, 2, 0.5, 3.0), E=3, init=0.5, record=10, activation="relu"),
    "ensemble linear, v trained": dict(args=(60, 2, 1, 0.3, 3.0), E=2, init=0.5, record=10, activation="linear",
                                       train_second_layer=True),
    "ensemble feedback alignment": dict(args=(60, 2, 2, 1.0, 3.0), E=3, init=0.5, record=10,
                                        train_second_layer=True, feedback=[1.0, -0.5], v0=[0.3, 0.2]),
    "ensemble float32": dict(args=(60, 2, 2, 1.0, 3.0), E=3, init=0.5, record=10, dtype=torch.float32),
    "ensemble train_mask, explicit record": dict(args=(60, 3, 2, 1.0, 2.0), E=2, init=0.5,
                                                 record=[0, 7, 30, 61, 120], train_second_layer=True,
                                                 v0=[1.0, 1.0, 0.0], train_mask=[1, 1, 0]),
    "ensemble diverging network flagged": dict(args=(40, 1, 1, [0.5, 3.0], 30.0), E=2, init=0.5, record=12,
                                               activation="linear", raise_on_divergence=False),
    "one network erf": dict(args=(80, 2, 2, 1.0, 4.0), E=1, init=0.5, record=10),
    "one network erf, v trained, noise": dict(args=(80, 2, 2, 1.0, 4.0), E=1, init=0.5, record=10,
                                              train_second_layer=True, noise=0.2),
    "one network relu": dict(args=(80, 2, 2, 0.5, 4.0), E=1, init=0.5, record=10, activation="relu"),
    "one network linear": dict(args=(80, 1, 1, 0.3, 4.0), E=1, init=0.5, record=10, activation="linear"),
    "one network feedback alignment": dict(args=(80, 2, 2, 1.0, 4.0), E=1, init=0.5, record=10,
                                           train_second_layer=True, feedback=[1.0, -0.5], v0=[0.3, 0.2]),
    "one network float32": dict(args=(80, 2, 2, 1.0, 4.0), E=1, init=0.5, record=10, dtype=torch.float32),
}


def _run_committee_case(mod, new: bool, case: dict) -> dict:
    kw = dict(case)
    args = kw.pop("args")
    return committee_arrays(committee_train(mod, new, *args, **kw), new)


def _run_train_from_case(mod, new: bool) -> dict:
    """``train_from`` directly (own weights, seed) with feedback alignment and a trained second layer."""
    W, Ws = mod.init_weights(50, 2, 2, 2, **({"init_scale": 0.4} if new else {"init_std": 0.4}), seed=7)
    run = mod.train_from(W, Ws, 0.8, 2.0, feedback=[[1.0, 0.5], [0.5, 1.0]], train_second_layer=True, seed=9,
                         record=9, progress_bar=False)
    return committee_arrays(run, new)


# --------------------------------------------------------------------------- continual
def _whitened(n: int, seed: int, n_out: int = 3):
    rng = np.random.default_rng(seed)
    X = np.sqrt(n) * np.linalg.qr(rng.standard_normal((n, n)))[0]
    return X, rng.standard_normal((n_out, n)) @ X / n


def _tasks():
    return {"A": _whitened(4, 0), "B": _whitened(4, 1)}


def _W12(E=2, h=5, seed=3):
    rng = np.random.default_rng(seed)
    return 0.2 * rng.standard_normal((E, h, 4)), 0.2 * rng.standard_normal((E, 3, h))


SCHED = [("A", 0.6), ("B", 0.4), (("A", "B"), 0.3), ("A", 0.1), ("B", 0.1)]


def _curriculum(mod, new, **kw):
    W1, W2 = kw.pop("W", _W12())
    run = mod.train_curriculum(kw.pop("tasks", _tasks()), kw.pop("sched", SCHED), W1, W2, **kw)
    return dict(times=run.times, steps=run.steps, losses=run.losses, W1=run.W1, W2=run.W2,
                switch_steps=run.switch_steps, task_names=np.array(run.task_names), lr=run.lr,
                activation=run.activation)


def _shallow(mod, new):
    W0 = 0.1 * np.random.default_rng(4).standard_normal((3, 3, 4))
    run = mod.train_shallow_curriculum(_tasks(), SCHED, W0, lr=0.01, record=12)
    return dict(times=run.times, steps=run.steps, losses=run.losses, W=run.W, switch_steps=run.switch_steps,
                task_names=np.array(run.task_names), lr=run.lr)


def _sequential(mod, new, ensemble: bool):
    rng = np.random.default_rng(5)
    Xs = [rng.standard_normal((8, 5)) for _ in range(3)]
    w_star = rng.standard_normal(8)
    ys = [X.T @ w_star for X in Xs]
    w0 = 0.1 * rng.standard_normal((2, 8)) if ensemble else np.zeros(8)
    out = mod.train_sequential_regression(Xs, ys, w0, [0, 1, 2, 0, 2], steps=40)
    return dict(weights=out.weights_after_task if new else out)


def _two_teachers(mod, new, activation: str):
    E, Kt, M, Nt = 3, 2, 2, 40
    W1s, W2s = mod.teacher_pair_weights(Nt, M, 0.5, E, seed=1)
    W0 = torch.randn(E, Kt, Nt, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    run = mod.train_two_teachers(W0, 0.1 * np.ones(Kt), 0.2 * np.ones(Kt), W1s, W2s, np.ones(M), np.ones(M),
                                 lr=0.5, alpha_1=2.0, alpha_2=1.5, record=8, activation=activation, seed=4)
    alpha = run.times if new else run.alpha
    return dict(alpha=alpha, steps=run.steps, Q=run.Q, R=run.R, h1=run.h1, h2=run.h2,
                alpha_switch=run.alpha_switch, N=run.N, lr=run.lr, W1s=W1s.numpy(), W2s=W2s.numpy())


CONTINUAL_CASES = {
    "curriculum linear ensemble": lambda m, n: _curriculum(m, n, lr=0.01, record=30),
    "curriculum linear one network, explicit record": lambda m, n: _curriculum(
        m, n, W=tuple(w[0] for w in _W12()), lr=0.02, record=[0, 3, 17, 40, 75]),
    "curriculum linear float32": lambda m, n: _curriculum(m, n, lr=0.01, record=10, dtype=torch.float32),
    "curriculum relu": lambda m, n: _curriculum(m, n, lr=0.01, record=10, activation="relu"),
    "curriculum tanh": lambda m, n: _curriculum(m, n, lr=0.01, record=10, activation="tanh"),
    "curriculum gated": lambda m, n: _curriculum(
        m, n, W=_W12(h=4), sched=[("A", 0.5), ("B", 0.5), (("A", "B"), 0.2)], lr=0.01, record=10,
        gates={"A": np.array([1, 1, 1, 0], bool), "B": np.array([0, 1, 1, 1], bool)}),
    "shallow curriculum": _shallow,
    "sequential regression, one network": lambda m, n: _sequential(m, n, False),
    "sequential regression, ensemble": lambda m, n: _sequential(m, n, True),
    "two teachers erf": lambda m, n: _two_teachers(m, n, "erf"),
    "two teachers linear": lambda m, n: _two_teachers(m, n, "linear"),
}


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, (str, bool, int, float)):
        return a == b or (isinstance(a, float) and np.isnan(a) and np.isnan(b))
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


def identity(old_committee=None, old_continual=None) -> bool:
    """Run every case with the old and the new module; print and return whether all arrays are equal."""
    old_committee = old_committee or _baseline.load("simulate/committee.py")
    ok = True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        cases = [(name, lambda m, n, c=c: _run_committee_case(m, n, c)) for name, c in COMMITTEE_CASES.items()]
        cases.append(("train_from, feedback alignment per network", _run_train_from_case))
        for name, fn in cases:
            o, n = fn(old_committee, False), fn(new_committee, True)
            bad = [k for k in o if not _same(o[k], n[k])]
            ok &= not bad
            print(f"committee  {name:62s} {'identical' if not bad else 'DIFFERS in ' + ', '.join(bad)}")
        if old_continual is None:
            try:
                old_continual = _baseline.load("simulate/continual.py")
            except ImportError as e:  # the pre-engine module imports helpers that theory may have renamed
                print(f"continual: pre-engine module not loadable ({e}); skipped")
                return ok
        for name, fn in CONTINUAL_CASES.items():
            o, n = fn(old_continual, False), fn(new_continual, True)
            bad = [k for k in o if not _same(o[k], n[k])]
            ok &= not bad
            print(f"continual  {name:62s} {'identical' if not bad else 'DIFFERS in ' + ', '.join(bad)}")
    print("ALL IDENTICAL" if ok else "SOME DIFFER")
    return ok


# --------------------------------------------------------------------------- speed
def _time_call(mod, new: bool, E: int, steps: int, dtype) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one ``train`` call."""
    t0, c0 = time.perf_counter(), time.process_time()
    committee_train(mod, new, N, K, K, LR, steps / N, E=E, init=1.0, record=3, n_test=10, dtype=dtype,
                    n_threads=1, device="cpu")
    return time.perf_counter() - t0, time.process_time() - c0


def speed(repeats: int = 3, quick: bool = False) -> list[tuple]:
    """Seed-steps per second, old and new, best of ``repeats`` (alternating which goes first).

    Both the wall time and the CPU time of this process are kept: on a machine shared with other
    jobs the CPU time (one torch thread) is the steadier measure of the loop's own cost.
    """
    old = _baseline.load("simulate/committee.py")
    seed_steps = 30_000 if quick else 300_000
    configs = [("one network, float64", 1, torch.float64), ("64 networks, float64", 64, torch.float64),
               ("64 networks, float32", 64, torch.float32)]
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for label, E, dtype in configs:
            steps = max(1, seed_steps // E)
            _time_call(old, False, E, min(steps, 2000), dtype)  # warm-up (TorchScript compilation)
            _time_call(new_committee, True, E, min(steps, 2000), dtype)
            best = {(tag, kind): np.inf for tag in ("old", "new") for kind in (0, 1)}
            for r in range(repeats):
                order = (("old", old, False), ("new", new_committee, True))
                for tag, mod, is_new in (order if r % 2 == 0 else order[::-1]):
                    t = _time_call(mod, is_new, E, steps, dtype)
                    for kind in (0, 1):
                        best[tag, kind] = min(best[tag, kind], t[kind])
            n = E * steps
            row = (label, n, n / best["old", 0], n / best["new", 0], n / best["old", 1], n / best["new", 1])
            rows.append(row)
            print(f"{label:22s} {n:7d} seed-steps | wall: old {row[2]:9,.0f}/s new {row[3]:9,.0f}/s "
                  f"new/old {row[3] / row[2]:.3f} | CPU: old {row[4]:9,.0f}/s new {row[5]:9,.0f}/s "
                  f"new/old {row[5] / row[4]:.3f}", flush=True)
    return rows


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--identity", action="store_true", help="check old == new bit for bit")
    p.add_argument("--speed", action="store_true", help="time the committee SGD loop, old vs new")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quick", action="store_true")
    a = p.parse_args()
    if a.identity:
        identity()
    if a.speed or not a.identity:
        speed(a.repeats, a.quick)
