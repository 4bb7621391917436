"""Benchmark: batched online SGD of soft committee machines, and ODE vs simulation cost.

1. Simulated SGD throughput (network-steps per second) for 64 seeds trained as
   one batched tensor program vs the same 64 seeds one at a time.
2. Wall time of the order-parameter ODE (DOP853, default tolerances) vs the
   simulation for the same eps_g(alpha) curve.

Run from the repository root: ``python benchmarks/committee.py [--device cpu|cuda] [--quick]``.
Writes ``benchmarks/RESULTS_committee.md``.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from idealnets.simulate._common import resolve_device  # noqa: E402
from idealnets.simulate.committee import train  # noqa: E402
from idealnets.theory.committee import CommitteeODE  # noqa: E402

K = M = 2
LR = 1.0


def throughput(N: int, steps: int, n_networks: int, device) -> tuple[float, float]:
    """(batched network-steps/s with n_networks at once, one-at-a-time network-steps/s)."""
    alpha = steps / N
    run = train(N, K, M, LR, alpha, n_networks=n_networks, init_scale=1.0, record=3, n_test=10, device=device,
                progress_bar=False)
    batched = n_networks * steps / run.wall_s
    n_single = min(n_networks, 8)  # time a subset one at a time and extrapolate linearly (same cost per seed)
    t = 0.0
    for s in range(n_single):
        r = train(N, K, M, LR, alpha, n_networks=1, init_scale=1.0, record=3, n_test=10, seed=s, device=device,
                  progress_bar=False)
        t += r.wall_s
    single = n_single * steps / t
    return batched, single


def ode_vs_sim(N: int, alpha_max: float, n_networks: int, device) -> dict:
    run = train(N, K, M, LR, alpha_max, n_networks=n_networks, init_scale=1.0, record=40, n_test=1000, device=device,
                progress_bar=False)
    ode = CommitteeODE(K, M, LR)
    t0 = time.perf_counter()
    tr = ode.integrate(run.Q0[0], run.R0[0], run.v0[0], alpha_eval=run.times)
    t_ode = time.perf_counter() - t0
    return dict(sim_s=run.wall_s, ode_s=t_ode, nfev=tr.nfev, steps=int(alpha_max * N))


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="auto")
    p.add_argument("--quick", action="store_true")
    a = p.parse_args(argv)
    device = resolve_device(None if a.device == "auto" else a.device)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    steps = 300 if a.quick else 2000
    rows = []
    for N in ((200,) if a.quick else (500, 2000)):
        b, s = throughput(N, steps, 64, device)
        rows.append((N, b, s))
        print(f"N={N}: batched 64 seeds {b:,.0f} network-steps/s, one at a time {s:,.0f} -> x{b / s:.1f}", flush=True)
    N_c, alpha_c = (200, 10.0) if a.quick else (500, 60.0)
    c = ode_vs_sim(N_c, alpha_c, 8, device)
    print(f"ODE {c['ode_s']:.2f}s vs simulation {c['sim_s']:.1f}s (8 seeds, N={N_c}, alpha={alpha_c:g})", flush=True)

    lines = [
        "# Benchmark: committee-machine online SGD (`benchmarks/committee.py`)",
        "",
        f"Machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, device `{device}`, "
        f"torch threads {torch.get_num_threads()}, float64. K = M = 2 erf units, lr = {LR}.",
        "No GPU was lent this session: all numbers are CPU numbers on a shared 2-core machine "
        "(other jobs were running; treat them as rough).",
        "",
        "## SGD throughput, 64 seeds batched vs one at a time",
        "",
        "| N | steps | batched (network-steps/s) | one at a time (network-steps/s) | speed-up |",
        "|---|---|---|---|---|",
    ]
    for N, b, s in rows:
        lines.append(f"| {N} | {steps} | {b:,.0f} | {s:,.0f} | {b / s:.1f}x |")
    lines += [
        "",
        "## ODE vs simulation for the same curve",
        "",
        f"eps_g(alpha) up to alpha = {alpha_c:g} at N = {N_c}: simulation of 8 seeds "
        f"({c['steps']:,} steps each, batched) {c['sim_s']:.2f} s; ODE (DOP853, rtol 1e-9, {c['nfev']} "
        f"right-hand-side evaluations) {c['ode_s']:.3f} s -> the ODE is {c['sim_s'] / c['ode_s']:.0f}x faster, "
        "and its cost does not grow with N.",
        "",
    ]
    out = ROOT / "benchmarks" / ("RESULTS_committee_quick.md" if a.quick else "RESULTS_committee.md")
    out.write_text("\n".join(lines))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
