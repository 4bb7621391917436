"""Benchmark: throughput of the batched trainers on CPU and CUDA, and their CPU/CUDA agreement.

* Ensemble trainers (networks x steps per second, full-batch GD):
  ``idealnets.simulate.deep_linear.train_from`` (depth 3, width 16, 8 -> 8 whitened task),
  ``idealnets.simulate.semantic.train_mlp`` (ReLU, one hidden layer of 32, 8 one-hot items),
  ``idealnets.simulate.generalization.train_linear`` (N = 100 linear students, P = 200),
  ``idealnets.simulate.generalization.train_deep_linear`` (diagonal depth-3 students, N = 100, P = 200).
* Online SGD (seeds x steps per second): ``idealnets.simulate.committee.train`` at N = 500,
  K = M = 2, from 1 to 4096 seeds in one batched run.

Agreement (float64, same seed): where the trainer takes its initial state and
data from the caller (deep_linear.train_from, train_linear,
train_deep_linear), both devices start from the same CPU-drawn tensors and the
recorded trajectories are compared entry by entry (max relative deviation).
Where the trainer draws its own randomness on the device (train_mlp's
weights, committee's input stream), CPU and CUDA generators give different
streams, so the agreement is statistical: the ensemble means of the final
loss / eps_g differ by the number of standard errors reported.

Timings are wall-clock around the call with ``torch.cuda.synchronize()``
before and after; each configuration is run once untimed first (warm-up,
CUDA context and kernel caches). The number of steps per configuration
scales as ``budget / networks`` within [min, max] steps so every size costs
about the same.

Sizes: ``--size quick`` (a CPU smoke test, seconds), ``--size medium`` (the
default; on one GPU plus its host's CPU about 3-4 minutes), ``--size large``.
Run from the repository root::

    python benchmarks/gpu.py [--size medium] [--devices cpu,cuda] [--out benchmarks/RESULTS_gpu.md]

Prints a Markdown table (and writes it to ``--out`` if given).
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from idealnets.simulate import committee as sim_committee  # noqa: E402
from idealnets.simulate import deep_linear as sim_deep  # noqa: E402
from idealnets.simulate import generalization as sim_gen  # noqa: E402
from idealnets.simulate import semantic as sim_sem  # noqa: E402

SIZES = {
    #            network counts           committee seeds                        budget (net-steps) per point, steps range
    "quick": dict(E=(1, 16), seeds=(1, 16), budget_cpu=2e4, budget_cuda=2e5, min_steps=50, max_steps=400),
    "medium": dict(E=(1, 16, 256, 4096), seeds=(1, 4, 16, 64, 256, 1024, 4096), budget_cpu=4e5, budget_cuda=4e6,
                   min_steps=100, max_steps=2000),
    "large": dict(E=(1, 16, 256, 4096, 16384), seeds=(1, 4, 16, 64, 256, 1024, 4096, 16384), budget_cpu=2e6,
                  budget_cuda=4e7, min_steps=200, max_steps=20000),
}


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _steps(size: dict, device: str, E: int) -> int:
    budget = size["budget_cuda"] if device.startswith("cuda") else size["budget_cpu"]
    return int(min(size["max_steps"], max(size["min_steps"], budget // E)))


def _timed(fn, device):
    _sync(device)
    t0 = time.perf_counter()
    out = fn()
    _sync(device)
    return out, time.perf_counter() - t0


# --- the trainers, each as fn(device, E, steps, seed) -> (result arrays for comparison) ----------------------

def _deep_task():
    rng = np.random.default_rng(0)
    P = 8
    X = math.sqrt(P) * np.eye(P)
    Y = rng.normal(size=(8, P))
    return X, Y


def run_deep_linear(device, E, steps, seed=0):
    X, Y = _deep_task()
    W0 = sim_deep.init_weights(X, Y, depth=3, width=16, n_networks=E, init="small", init_scale=0.1, device="cpu",
                               seed=seed)
    lr = 0.2 * sim_deep.stable_lr(X, Y, 3)
    run = sim_deep.train_from([w.to(device) for w in W0], X, Y, lr=lr, steps=steps, record=10, device=device)
    return {"maps": run.maps, "losses": run.losses}


def run_mlp(device, E, steps, seed=0):
    X = np.eye(8)
    Y = np.random.default_rng(1).normal(size=(6, 8))
    run = sim_sem.train_mlp(X, Y, hidden=32, activation="relu", n_networks=E, init_scale=0.1, lr=0.5, steps=steps,
                            record=10, device=device, seed=seed)
    return {"losses": run.losses}


def _gen_data(E, seed):
    return sim_gen.sample_data(100, 200, E, sigma_eps=0.5, device="cpu", seed=seed)


def _to(data, device):
    return sim_gen.TeacherStudentData(*(getattr(data, f).to(device) for f in
                                        ("X", "y", "w_teacher", "w0", "sigma_eps")))


def run_linear(device, E, steps, seed=0):
    data = _gen_data(E, seed)
    lr = 0.2 * sim_gen.stable_lr(data)
    run = sim_gen.train_linear(_to(data, device), lr=lr, steps=steps, record=10)
    return {"test": run.test_error, "train": run.train_error}


def run_deep_students(device, E, steps, seed=0):
    data = _gen_data(E, seed)
    run = sim_gen.train_deep_linear(_to(data, device), depth=3, lr=0.02, steps=steps, record=10, init_scale=1e-2)
    return {"test": run.test_error, "train": run.train_error}


def run_committee(device, E, steps, seed=0):
    N = 500
    run = sim_committee.train(N, 2, 2, 1.0, steps / N, n_networks=E, init_scale=1.0, record=3, n_test=200, seed=seed,
                              device=device, progress_bar=False)
    return {"eps": run.losses[:, -1], "wall": run.wall_s}


TRAINERS = [
    ("deep_linear.train_from (D=3, width 16)", run_deep_linear, "pathwise"),
    ("semantic.train_mlp (ReLU, 32 hidden)", run_mlp, "statistical"),
    ("generalization.train_linear (N=100, P=200)", run_linear, "pathwise"),
    ("generalization.train_deep_linear (D=3, diagonal)", run_deep_students, "pathwise"),
]


def agreement(kind: str, a: dict, b: dict) -> str:
    """Max relative deviation (pathwise) or the difference of final ensemble means in standard errors."""
    if kind == "pathwise":
        dev = 0.0
        for k in a:
            x, y = np.asarray(a[k], float), np.asarray(b[k], float)
            dev = max(dev, float(np.max(np.abs(x - y)) / max(np.max(np.abs(x)), 1e-300)))
        return f"max rel dev {dev:.1e}"
    key = "losses" if "losses" in a else "eps"
    x = np.asarray(a[key], float).reshape(np.shape(a[key])[0], -1)[:, -1]
    y = np.asarray(b[key], float).reshape(np.shape(b[key])[0], -1)[:, -1]
    se = math.sqrt(x.var(ddof=1) / x.size + y.var(ddof=1) / y.size)
    return f"means differ by {abs(x.mean() - y.mean()) / max(se, 1e-300):.1f} SE (different random streams)"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", default="medium", choices=sorted(SIZES))
    p.add_argument("--devices", default=None, help="comma-separated: cpu,cuda (default: cpu, and cuda if present)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: torch's choice; on a shared machine set it to the free cores)")
    p.add_argument("--out", default=None, help="also write the Markdown to this file")
    a = p.parse_args(argv)
    size = SIZES[a.size]
    devices = a.devices.split(",") if a.devices else (["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    if any(d.startswith("cuda") for d in devices) and not torch.cuda.is_available():
        p.error("CUDA was requested but torch sees no CUDA device")
    if a.threads:
        torch.set_num_threads(a.threads)
    card = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    lines = [
        f"## Trainer throughput on CPU and CUDA (`benchmarks/gpu.py --size {a.size}`)",
        "",
        f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads "
        f"{torch.get_num_threads()}; GPU: {card}; torch {torch.__version__}; float64 throughout.",
        "",
        "| trainer | device | networks | steps | wall s | networks x steps / s |",
        "|---|---|---:|---:|---:|---:|",
    ]
    t_start = time.perf_counter()
    agree_lines = []
    for name, fn, kind in TRAINERS:
        for dev in devices:
            fn(dev, 2, size["min_steps"] // 2)  # warm-up
            for E in size["E"]:
                steps = _steps(size, dev, E)
                _, wall = _timed(lambda: fn(dev, E, steps), dev)
                lines.append(f"| {name} | {dev} | {E} | {steps} | {wall:.3f} | {E * steps / wall:.3g} |")
                print(lines[-1], flush=True)
        if len(devices) > 1:
            E_cmp = 64 if kind == "statistical" else 8
            res = [fn(dev, E_cmp, size["min_steps"]) for dev in devices[:2]]
            agree_lines.append(f"| {name} | {kind} | {agreement(kind, *res)} |")
    # online SGD: seeds x steps per second (the step loop's own wall time)
    lines += ["", "| online SGD, committee.train N=500 K=M=2 | device | seeds | steps | loop wall s | "
              "seeds x steps / s |", "|---|---|---:|---:|---:|---:|"]
    for dev in devices:
        run_committee(dev, 2, 100)
        for E in size["seeds"]:
            steps = _steps(size, dev, E)
            out, wall = _timed(lambda: run_committee(dev, E, steps), dev)
            lines.append(f"| committee.train | {dev} | {E} | {steps} | {out['wall']:.3f} | "
                         f"{E * steps / out['wall']:.3g} |")
            print(lines[-1], flush=True)
    if len(devices) > 1:
        res = [run_committee(dev, 256, 2000) for dev in devices[:2]]
        agree_lines.append(f"| committee.train (256 seeds, alpha = 4) | statistical | {agreement('statistical', *res)} |")
    if agree_lines:
        lines += ["", f"CPU ({devices[0]}) vs {devices[1]} agreement, float64, same seeds:", "",
                  "| trainer | comparison | agreement |", "|---|---|---|", *agree_lines]
    lines += ["", f"Total benchmark wall time {time.perf_counter() - t_start:.0f} s."]
    text = "\n".join(lines)
    print("\n" + text)
    if a.out:
        Path(a.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
