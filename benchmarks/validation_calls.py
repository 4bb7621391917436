"""Validation calls per call of each public trainer of ``idealnets.simulate``, before and now.

"Validation once, at the public boundary": a public trainer checks each argument once and hands
the checked values to unchecked private cores, instead of calling other public functions that
check the same data and weights again (each finite-check of a tensor is a host synchronisation
on a GPU). This script counts, for one small call of every public trainer, how many times the
checks of :mod:`idealnets.theory.validation` (``as_float``, ``as_int``, ``as_bool``,
``as_choice``, ``as_array``, ``as_times``, ``as_seed``, ``as_probability``, ``check_same``,
``as_whitened_pair``) run, in the pre-engine module (loaded from git by
``benchmarks/_baseline.py``) and in today's, side by side.

How it counts: a profile hook (``sys.setprofile``) sees every Python call, so a check is counted
however it was imported (``V.as_float`` or a name bound by ``from ... import as_float``, in
simulate or in theory), and a check that calls another check (``as_seed`` calls ``as_int``) counts
once: only the outermost check is counted. Of today's checks, the column "theory" counts those
that run inside :mod:`idealnets.theory` (a public theory function called by the trainer, e.g. a
stable learning rate or the task correlations: the theory's own boundary), and "record" those made
by ``simulate._common.record_steps`` (``steps`` and, for an explicit list of recording steps, one
check per step: the engine makes the recording steps, so a trainer that builds its own list, e.g.
to add the phase boundaries of a curriculum, has each of them checked again there). Setup (data,
initial weights) is not counted. The last column compares the outputs: every array of the old
result must appear, bit for bit (same shape, dtype and values, NaN equal to NaN), in the new one.

Tiny sizes: the whole table takes a few seconds (plus the TorchScript compilation of the
committee loop).

    .venv/bin/python benchmarks/validation_calls.py [--detail committee.train]
"""
from __future__ import annotations

import dataclasses
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import _baseline  # noqa: E402
import idealnets.theory.validation as V  # noqa: E402
from idealnets import simulate  # noqa: E402
from idealnets.simulate._common import record_steps  # noqa: E402

CHECKS = ("as_float", "as_int", "as_bool", "as_choice", "as_array", "as_times", "as_seed", "as_probability",
          "check_same", "as_whitened_pair")
_CODES = {getattr(V, name).__code__ for name in CHECKS}
_RECORD_STEPS = record_steps.__code__

MODULES = ("deep_linear", "committee", "generalization", "ntk", "semantic", "continual", "feedback_alignment",
           "recurrent", "perturbation", "random_features")


class Counter:
    """Counts the outermost validation calls made while it is active (``with Counter() as c: ...``)."""

    def __init__(self, detail: bool = False):
        self.total = 0
        self.theory = 0
        self.record = 0
        self._depth = 0
        self.calls: list[str] | None = [] if detail else None

    def _hook(self, frame, event, arg):
        if frame.f_code not in _CODES:
            return
        if event == "call":
            if self._depth == 0:
                self.total += 1
                caller = frame.f_back.f_globals.get("__name__", "") if frame.f_back is not None else ""
                self.theory += caller.startswith("idealnets.theory")
                back = frame.f_back
                while back is not None and back.f_code is not _RECORD_STEPS and back.f_code.co_name.startswith("<"):
                    back = back.f_back  # through comprehensions
                self.record += back is not None and back.f_code is _RECORD_STEPS
                if self.calls is not None:
                    back = frame.f_back
                    name = frame.f_locals.get("name", "")
                    self.calls.append(f"{frame.f_code.co_name}({name!r}) from {caller}.{back.f_code.co_name}"
                                      f":{back.f_lineno}")
            self._depth += 1
        elif event == "return":
            self._depth -= 1

    def __enter__(self):
        sys.setprofile(self._hook)
        return self

    def __exit__(self, *exc):
        sys.setprofile(None)


# --------------------------------------------------------------------------- the calls
# Each case is ``case(mod, new) -> thunk``: the setup (data, initial weights; not counted) runs in
# ``case`` with the module's own helpers (its result classes), the counted call in ``thunk``.
# ``new`` selects the keyword names of the release (n_seeds/init_std, nonlinearity, ... before).
def _rng(seed=0):
    return np.random.default_rng(seed)


def _whitened(n, n_out, seed):
    rng = _rng(seed)
    X = np.sqrt(n) * np.linalg.qr(rng.standard_normal((n, n)))[0]
    return X, rng.standard_normal((n_out, n)) @ X / n


def deep_linear_train(m, new):
    X, Y = _whitened(6, 4, 0)
    return lambda: m.train(X, Y, depth=3, width=8, n_networks=4, init="small", init_scale=1e-2, lr=0.01, steps=50,
                           record=10)


def deep_linear_train_from(m, new):
    X, Y = _whitened(6, 4, 0)
    W0 = simulate.deep_linear.init_weights(X, Y, depth=3, width=8, n_networks=4, init="small", init_scale=1e-2)
    return lambda: m.train_from(W0, X, Y, lr=0.01, steps=50, record=10)


def committee_train(m, new):
    names = {"n_networks": 2} if new else {"n_seeds": 2}
    return lambda: m.train(50, 2, 2, 0.5, 1.0, record=5, seed=1, progress_bar=False, **names)


def committee_train_from(m, new):
    W, Ws = simulate.committee.init_weights(50, 2, 2, 2, init_scale=0.4, seed=7)
    return lambda: m.train_from(W, Ws, 0.8, 1.0, train_second_layer=True, feedback=[1.0, 0.5], seed=9, record=5,
                                progress_bar=False)


def _data(m):
    return m.sample_data(20, 30, 2, n_teachers=2, seed=0)


def generalization_train_linear(m, new):
    data = _data(m)
    return lambda: m.train_linear(data, lr=0.01, steps=50, record=5)


def generalization_train_linear_list(m, new):
    datas = [m.sample_data(20, P, 2, seed=s) for s, P in enumerate((10, 30))]
    return lambda: m.train_linear(datas, lr=0.01, steps=50, record=5)


def generalization_train_deep_linear(m, new, arch="diagonal"):
    data = _data(m)
    return lambda: m.train_deep_linear(data, depth=2, lr=0.01, steps=50, record=5, arch=arch, hidden=6, seed=1)


def generalization_train_relu(m, new, train_first_layer=True):
    data = _data(m)
    return lambda: m.train_relu(data, [4, 8], train_first_layer=train_first_layer, steps=20, record=5)


def _ntk_data():
    rng = _rng(1)
    return rng.standard_normal((3, 5)), rng.standard_normal(5), rng.standard_normal((3, 4))


def ntk_train(m, new):
    x, y, xt = _ntk_data()
    return lambda: m.train(x, y, width=16, n_networks=2, lr=0.1, steps=20, record=5, x_test=xt, centered=True)


def ntk_train_from(m, new):
    x, y, xt = _ntk_data()
    net = m.init_mlp(3, 16, n_networks=2, seed=3)
    return lambda: m.train_from(net, x, y, lr=0.1, steps=20, record=5, x_test=xt)


def semantic_train_mlp(m, new):
    X, Y = np.eye(4), _rng(2).standard_normal((3, 4))
    return lambda: m.train_mlp(X, Y, hidden=[6, 5], activation="tanh", n_networks=2, lr=0.1, steps=20, record=5)


def _tasks():
    return {"A": _whitened(4, 3, 0), "B": _whitened(4, 3, 1)}


SCHED = [("A", 0.2), ("B", 0.2), (("A", "B"), 0.1)]


def continual_train_curriculum(m, new):
    rng = _rng(3)
    W1, W2 = 0.2 * rng.standard_normal((2, 5, 4)), 0.2 * rng.standard_normal((2, 3, 5))
    return lambda: m.train_curriculum(_tasks(), SCHED, W1, W2, lr=0.01, record=10)


def continual_train_shallow_curriculum(m, new):
    W0 = 0.1 * _rng(4).standard_normal((2, 3, 4))
    return lambda: m.train_shallow_curriculum(_tasks(), SCHED, W0, lr=0.01, record=10)


def continual_train_sequential_regression(m, new):
    rng = _rng(5)
    Xs = [rng.standard_normal((8, 5)) for _ in range(3)]
    w_star = rng.standard_normal(8)
    ys = [X.T @ w_star for X in Xs]
    w0 = 0.1 * rng.standard_normal((2, 8))
    return lambda: m.train_sequential_regression(Xs, ys, w0, [0, 1, 2, 0], steps=20)


def continual_train_two_teachers(m, new):
    E, K, M, N = 2, 2, 2, 20
    W1s, W2s = simulate.continual.teacher_pair_weights(N, M, 0.5, E, seed=1)
    W0 = torch.randn(E, K, N, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    return lambda: m.train_two_teachers(W0, 0.1 * np.ones(K), 0.2 * np.ones(K), W1s, W2s, np.ones(M), np.ones(M),
                                        lr=0.5, alpha_1=1.0, alpha_2=1.0, record=5, seed=4)


def fa_train_linear(m, new):
    rng = _rng(6)
    X, Y = _whitened(4, 3, 6)
    W1, W2, B = (0.1 * rng.standard_normal(s) for s in ((2, 5, 4), (2, 3, 5), (5, 3)))
    return lambda: m.train_linear(W1, W2, B, X, Y, lr=0.05, steps=50, record=5)


def fa_train_mlp(m, new):
    X, labels = m.random_binary_task(30, 6, 3, seed=0, dtype=torch.float64)  # (n_in, P) now, (P, n_in) before
    state = m.init_mlp([6, 8, 3], 2, seed=1, dtype=torch.float64)
    return lambda: m.train_mlp(X, labels, state, rule="fa", lr=0.1, steps=20, batch_size=10, record=5)


def recurrent_train(m, new, method="bptt"):
    rng = _rng(7)
    W = simulate.recurrent.random_init(3, 4, 2, n_networks=2, scale=0.5, seed=0)
    X, Y = rng.standard_normal((3, 5, 6)), rng.standard_normal((2, 6))
    kw = {"activation": "tanh"} if new else {"nonlinearity": "tanh"}
    if method == "tbptt":
        kw["k"] = 2
    return lambda: m.train(W, X, Y, lr=0.05, steps=20, record=5, method=method, **kw)


def perturbation_train(m, new):
    rng = _rng(8)
    W0, W_star = 0.1 * rng.standard_normal((2, 2, 10)), rng.standard_normal((2, 10))
    return lambda: m.train_perturbation(W0, W_star, rule="node", lr=0.05, sigma=0.01, steps=50, record=5, seed=2)


def random_features_train(m, new, lr=None):
    names = {"n_networks": 2} if new else {"n_seeds": 2}
    times = [0.5, 1.0, np.inf] if lr is None else [0.5, 1.0]
    return lambda: m.train_random_features(10, 20, [5, 10], times=times, lr=lr, seed=3, **names)


CASES = [
    ("deep_linear.train", "deep_linear", deep_linear_train),
    ("deep_linear.train_from", "deep_linear", deep_linear_train_from),
    ("committee.train", "committee", committee_train),
    ("committee.train_from", "committee", committee_train_from),
    ("generalization.train_linear", "generalization", generalization_train_linear),
    ("generalization.train_linear (2 data sets)", "generalization", generalization_train_linear_list),
    ("generalization.train_deep_linear", "generalization", generalization_train_deep_linear),
    ("generalization.train_deep_linear dense", "generalization",
     lambda m, n: generalization_train_deep_linear(m, n, "dense")),
    ("generalization.train_relu", "generalization", generalization_train_relu),
    ("generalization.train_relu frozen", "generalization", lambda m, n: generalization_train_relu(m, n, False)),
    ("ntk.train", "ntk", ntk_train),
    ("ntk.train_from", "ntk", ntk_train_from),
    ("semantic.train_mlp", "semantic", semantic_train_mlp),
    ("continual.train_curriculum", "continual", continual_train_curriculum),
    ("continual.train_shallow_curriculum", "continual", continual_train_shallow_curriculum),
    ("continual.train_sequential_regression", "continual", continual_train_sequential_regression),
    ("continual.train_two_teachers", "continual", continual_train_two_teachers),
    ("feedback_alignment.train_linear", "feedback_alignment", fa_train_linear),
    ("feedback_alignment.train_mlp", "feedback_alignment", fa_train_mlp),
    ("recurrent.train", "recurrent", recurrent_train),
    ("recurrent.train tbptt", "recurrent", lambda m, n: recurrent_train(m, n, "tbptt")),
    ("perturbation.train_perturbation", "perturbation", perturbation_train),
    ("random_features.train_random_features", "random_features", random_features_train),
    ("random_features.train_random_features GD", "random_features", lambda m, n: random_features_train(m, n, 0.05)),
]


# --------------------------------------------------------------------------- outputs old vs new
def _arrays(obj, out: list, depth: int = 0) -> list:
    """Every non-empty array (NumPy or torch) reachable from a result: fields, dicts, lists."""
    if depth > 6 or obj is None or isinstance(obj, (str, bytes, int, float, bool, np.generic)):
        return out
    if isinstance(obj, torch.Tensor):
        obj = obj.detach().cpu().numpy()
    if isinstance(obj, np.ndarray):
        if obj.size and obj.dtype != object:
            out.append(obj)
        return out
    if isinstance(obj, dict):
        items = obj.values()
    elif isinstance(obj, (list, tuple)):
        items = obj
    elif dataclasses.is_dataclass(obj):
        items = [getattr(obj, f.name) for f in dataclasses.fields(obj)]
    else:
        return out
    for item in items:
        _arrays(item, out, depth + 1)
    return out


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")


def compare(old, new) -> str:
    """'identical' when every array of the old result appears bit for bit in the new one."""
    old_arrays, new_arrays = _arrays(old, []), _arrays(new, [])
    missing = sum(not any(_same(a, b) for b in new_arrays) for a in old_arrays)
    if not old_arrays:
        return "no arrays"
    return "identical" if not missing else f"DIFFERS ({missing} of {len(old_arrays)} arrays)"


def table(detail: str | None = None) -> list[tuple]:
    old_mods = {name: _baseline.load(f"simulate/{name}.py") for name in MODULES}
    new_mods = {name: getattr(simulate, name) for name in MODULES}
    rows = []
    print(f"{'public call':44s} {'before':>7s} {'now':>5s} {'theory':>7s} {'record':>7s}  outputs")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for label, mod, case in CASES:
            results, counts = [], []
            if detail is not None and detail != label:
                continue
            for m, new in ((old_mods[mod], False), (new_mods[mod], True)):
                thunk = case(m, new)
                with Counter(detail is not None) as c:
                    results.append(thunk())
                counts.append(c)
                if detail is not None:
                    print(f"--- {'now' if new else 'before'}:", *c.calls, sep="\n    ")
            same = compare(*results)
            rows.append((label, counts[0].total, counts[1].total, counts[1].theory, counts[1].record, same))
            print(f"{label:44s} {counts[0].total:7d} {counts[1].total:5d} {counts[1].theory:7d} {counts[1].record:7d}  "
                  f"{same}", flush=True)
    print(f"{'total':44s}", *(f"{sum(r[i] for r in rows):{w}d}" for i, w in ((1, 7), (2, 5), (3, 7), (4, 7))))
    return rows


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--detail", metavar="CALL", help="list every counted check of one row (e.g. committee.train)")
    table(p.parse_args().detail)
