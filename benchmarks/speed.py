"""Issue 26's three speed ratios, measured side by side in one run of one script.

1. **The committee SGD loop against its floor.** ``idealnets.simulate.committee.train``
   (N = 500, K = M = 2 erf, lr = 1, one torch thread) per seed-step, for 1 and 64 networks,
   float64 and float32, against the bare work of the same steps as minimal hand-written torch
   loops (``benchmarks/committee_nn2pp.py``): the *per-step floor* (each step draws its inputs in
   the working dtype, both local fields, erf and its derivative, the rank-one update) and the
   *block floor* (the same work with the exact shortcuts the loop may take: the inputs of a block
   of steps drawn at once as float32 Gaussians and cast, the teacher's labels of the block in one
   batched product; its per-step part in Python and compiled by TorchScript, the lower counted).
   Ratios loop / floor: below 1 means the loop does less than the floor's work per step (one
   network on the CPU takes no N-sized kernel per step, see ``simulate/committee.py``).
2. **The loop against nn2pp** (sgoldt/nn2pp's C++ simulator, built outside the repository):
   nn2pp's time per step / ours per seed-step (the difference of two nn2pp runs, so its start-up
   cancels).
3. **Depth >= 3 theory against the simulation it predicts** (``benchmarks/deep_linear_inversion.py``):
   ``DeepLinearTheory.map`` at 99 times for 32 modes vs full-batch GD of one depth-4 network of
   width 32 to the same final time.

Every time is the minimum over ``--repeats`` interleaved repeats, wall and CPU (process) time
both; on a shared machine the CPU time is the steadier number and the ratios are taken from it
(wall ratios are printed too). The load average is printed with the results.

    .venv/bin/python benchmarks/speed.py [--nn2pp /tmp/peer_nn2pp/nn2pp.exe] [--repeats 3] [--quick] [--write]
    .venv/bin/python benchmarks/speed.py --depth-only [--write]   # ratio 3 alone

``--write`` writes the tables to ``benchmarks/RESULTS_speed.md`` (the text after its
``<!-- reading: kept by --write -->`` line is kept).
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import committee_nn2pp as cb  # noqa: E402
import deep_linear_inversion as dl  # noqa: E402

DTYPES = {"float64": torch.float64, "float32": torch.float32}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--nn2pp", default="/tmp/peer_nn2pp/nn2pp.exe", help="nn2pp's simulator binary")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="fewer steps (a smoke test, not a measurement)")
    p.add_argument("--write", action="store_true", help="write benchmarks/RESULTS_speed.md")
    p.add_argument("--depth-only", action="store_true",
                   help="only ratio 3 (depth >= 3 theory vs simulation); --write then replaces only its table")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    load0 = os.getloadavg()
    q = a.quick
    ours_steps = {1: 2000 if q else 20000, 64: 100 if q else 1000}
    floor_steps = {1: 200 if q else 2000, 64: 50 if q else 500}
    exe = Path(a.nn2pp) if a.nn2pp and not a.depth_only else None
    if not a.depth_only and (exe is None or not exe.is_file()):
        print(f"nn2pp binary not found ({a.nn2pp!r}): the nn2pp column is skipped")
        exe = None
    s1, s2 = (0.2, 2.0) if q else (1.0, 21.0)
    work = tempfile.mkdtemp(prefix="speed_nn2pp_")
    inf2 = (np.inf, np.inf)
    best: dict = {}

    def keep(key, wc):
        old = best.get(key, inf2)
        best[key] = (min(old[0], wc[0]), min(old[1], wc[1]))

    try:
        for dt in DTYPES.values() if not a.depth_only else ():  # warm-up: TorchScript compilation, allocator
            cb.ours_wall_cpu(2, 50, dt)
            cb.floor_block(2, 20, dt, scripted=True)
        for r in range(a.repeats):
            if exe is not None:
                keep("nn2pp", cb.nn2pp_per_step_wall_cpu(exe, s1, s2, work))  # its CPU time: of the child
            for E in (1, 64) if not a.depth_only else ():
                for name, dt in DTYPES.items():
                    keep(("ours", E, name), cb.ours_wall_cpu(E, ours_steps[E], dt))
                    keep(("per-step", E, name), cb.floor_per_step(E, floor_steps[E], dt))
                    keep(("block py", E, name), cb.floor_block(E, floor_steps[E], dt))
                    keep(("block ts", E, name), cb.floor_block(E, floor_steps[E], dt, scripted=True))
            rng = np.random.default_rng(0)
            times = np.concatenate([[0.0], np.logspace(-2, np.log10(dl.T_END), 98), [np.inf]])
            s = np.linspace(3.0, 0.3, dl.N_MODES)
            rng.uniform(-6, 0, dl.N_MODES)  # the initial strengths of deep_linear_inversion's first part
            d = dl.theory_vs_simulation(rng, s, times, repeats=5, sim_repeats=1)
            keep("theory", (d["theory_s"], d["theory_cpu_s"]))
            keep("theory cold", (d["theory_cold_s"], d["theory_cold_cpu_s"]))
            keep("simulation", (d["simulation_s"], d["simulation_cpu_s"]))
            print(f"repeat {r + 1}/{a.repeats} done (load average {os.getloadavg()[0]:.1f})", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load1 = os.getloadavg()
    us = lambda x: f"{1e6 * x:.2f}"  # noqa: E731
    machine = (
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU(s) visible; torch {torch.__version__}, one torch "
        f"thread; min of {a.repeats} interleaved repeats{' (--quick: not a measurement)' if q else ''}. "
        f"Load average at the start {load0[0]:.1f} (1 min), {load0[1]:.1f} (5 min); at the end {load1[0]:.1f}, "
        f"{load1[1]:.1f}. Times are CPU time (wall time in brackets); ratios from CPU time.")
    lines = [
        machine,
        "",
        f"### Committee SGD loop vs its floor and nn2pp (N = {cb.N}, K = M = {cb.K} erf, lr = {cb.LR})",
        "",
        "| networks | dtype | loop (us / seed-step) | per-step floor | block floor (Python / TorchScript) "
        "| loop / per-step floor | loop / block floor | nn2pp (us / step) | nn2pp / loop |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    nn = best.get("nn2pp")
    for E in (1, 64) if not a.depth_only else ():
        for name in DTYPES:
            o, f1, fp, fs = (best[(k, E, name)] for k in ("ours", "per-step", "block py", "block ts"))
            fb = min(fp[1], fs[1])
            lines.append(
                f"| {E} | {name} | {us(o[1])} ({us(o[0])}) | {us(f1[1])} ({us(f1[0])}) | {us(fp[1])} / {us(fs[1])} "
                f"({us(fp[0])} / {us(fs[0])}) | {o[1] / f1[1]:.2f}x | {o[1] / fb:.2f}x | "
                + (f"{us(nn[1])} ({us(nn[0])}) | {nn[1] / o[1]:.2f}x (wall {nn[0] / o[0]:.2f}x) |" if nn
                   else "n/a | n/a |"))
    th, cold, sim = best["theory"], best["theory cold"], best["simulation"]
    depth = [
        f"### Depth >= 3 theory vs the simulation it predicts (depth {dl.D}, {dl.N_MODES} modes, 99 times)",
        "",
        "| theory: DeepLinearTheory.map (ms) | theory, cold: new object + first map (ms) "
        "| simulation: GD, width 32, to t = 20 (ms) | simulation / theory | simulation / cold theory |",
        "|---|---|---|---|---|",
        f"| {1e3 * th[1]:.2f} ({1e3 * th[0]:.2f}) | {1e3 * cold[1]:.2f} ({1e3 * cold[0]:.2f}) | {1e3 * sim[1]:.1f} "
        f"({1e3 * sim[0]:.1f}) | {sim[1] / th[1]:.0f}x (wall {sim[0] / th[0]:.0f}x) | {sim[1] / cold[1]:.0f}x "
        f"(wall {sim[0] / cold[0]:.0f}x) |",
    ]
    if a.depth_only:
        depth.insert(1, "\n" + machine.replace("Machine:", "Measured alone (`--depth-only`). Machine:"))
        lines = depth
    else:
        lines += [""] + depth
    text = "\n".join(lines)
    print(text)
    if a.write:
        out = ROOT / "benchmarks" / "RESULTS_speed.md"
        marker = "<!-- reading: kept by --write -->"
        old = out.read_text() if out.is_file() else ""
        kept = old[old.index(marker):] if marker in old else marker + "\n"
        head = "# Speed ratios (issue 26): `benchmarks/speed.py`\n\n"
        if a.depth_only:  # keep everything else: replace the depth table (up to the marker) only
            before = old[:old.index(marker)] if marker in old else head
            start = before.find("### Depth >= 3")
            body = (before[:start] if start >= 0 else before.rstrip() + "\n\n") + text
            out.write_text(body + "\n\n" + kept)
        else:
            out.write_text(head + text + "\n\n" + kept)
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
