"""Benchmark: a phase diagram's worth of committee ODEs (K = M = 2) in one vectorised integration.

Compares, for the same grid of (lr, noise) settings integrated to alpha = 500:

1. ``idealnets.theory.committee_grid.CommitteeGrid``: all members in one batched
   Dormand-Prince 5(4) integration (rtol 1e-8, and 1e-6);
2. ``idealnets.theory.committee.CommitteeODE``: one DOP853 solve per member (a sample of
   ``--n-single`` members is timed; the cost is linear in the number of
   members, so it is extrapolated), also the reference for the accuracy;
3. nn2pp's ODE integrator (Goldt et al.; C++, Armadillo, explicit Euler with
   step ``--dt``), if a build is given with ``--nn2pp-ode PATH``: a sample of
   ``--n-nn2pp`` runs (one process each, as a user runs it), extrapolated.

Timings are wall-clock and CPU seconds of this process (CPU of the child
processes for nn2pp); on a shared machine the CPU time is the fairer number.
Single-threaded on purpose (OMP_NUM_THREADS=1): the grid is vectorised, not
threaded.

Run from the repository root::

    python benchmarks/committee_grid.py [--n 1000] [--nn2pp-ode /path/to/nn2pp_ode_erf.exe] [--quick]
"""
from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from idealnets.theory.committee import CommitteeODE  # noqa: E402
from idealnets.theory.committee_grid import CommitteeGrid, default_initial  # noqa: E402

K = M = 2


def grid_settings(n: int):
    """n members on an (lr, noise) grid: lr in [0.2, 1.5] x noise in [0, 0.5] (rows of 40 lr values)."""
    n_lr = min(40, n)
    n_noise = int(np.ceil(n / n_lr))
    lr, noise = np.meshgrid(np.linspace(0.2, 1.5, n_lr), np.linspace(0.0, 0.5, n_noise), indexing="ij")
    return lr.ravel()[:n], noise.ravel()[:n]


def timed(f):
    w0, c0 = time.perf_counter(), time.process_time()
    out = f()
    return out, time.perf_counter() - w0, time.process_time() - c0


def run_nn2pp(path: str, lr: float, noise: float, alpha: float, dt: float, workdir: str) -> tuple[float, float]:
    """(wall, child CPU) seconds of one nn2pp ODE run."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.perf_counter()
    subprocess.run([path, "-K", str(K), "-M", str(M), "--lr", repr(float(lr)), "--sigma", repr(float(noise)),
                    "--dt", repr(dt), "--steps", repr(float(alpha)), "--init", "2", "--quiet"], cwd=workdir,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter() - w0, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1000, help="number of ODEs in the grid")
    p.add_argument("--alpha", type=float, default=500.0, help="integration time alpha = steps/N")
    p.add_argument("--n-single", type=int, default=10, help="CommitteeODE solves timed (extrapolated to --n)")
    p.add_argument("--nn2pp-ode", default=None, help="path of an nn2pp ODE build (scmpp_ode / nn2pp_ode_erf.exe)")
    p.add_argument("--n-nn2pp", type=int, default=20, help="nn2pp runs timed (extrapolated to --n)")
    p.add_argument("--dt", type=float, default=0.01, help="nn2pp's Euler step")
    p.add_argument("--quick", action="store_true", help="100 ODEs to alpha = 50 (a smoke test)")
    p.add_argument("--out", default=None, help="also write the Markdown table to this file")
    a = p.parse_args(argv)
    if a.quick:
        a.n, a.alpha, a.n_single, a.n_nn2pp = 100, 50.0, 3, 5
    lr, noise = grid_settings(a.n)
    alpha_eval = np.concatenate([[0.0], np.logspace(-1, np.log10(a.alpha), 60)])

    rows = []
    tr8, w8, c8 = timed(lambda: CommitteeGrid(K, M, lr, noise=noise).integrate(alpha_eval))
    tr6, w6, c6 = timed(lambda: CommitteeGrid(K, M, lr, noise=noise).integrate(alpha_eval, rtol=1e-6, atol=1e-8))

    # single solves: a spread-out sample of members
    sample = np.unique(np.linspace(0, a.n - 1, a.n_single).astype(int))
    Q0, R0, v0 = default_initial(K, M)
    ws = cs = 0.0
    dev8 = dev6 = 0.0
    for b in sample:
        ref, w, c = timed(lambda: CommitteeODE(K, M, float(lr[b]), noise=float(noise[b])).integrate(
            Q0, R0, v0, alpha_eval=alpha_eval))
        ws, cs = ws + w, cs + c
        dev8 = max(dev8, float(np.abs(tr8.eps_g[b] - ref.eps_g).max()))
        dev6 = max(dev6, float(np.abs(tr6.eps_g[b] - ref.eps_g).max()))
    single_w, single_c = ws / sample.size * a.n, cs / sample.size * a.n

    rows.append(("CommitteeGrid, one batched DP5(4) integration, rtol 1e-8", a.n, w8, c8, f"{dev8:.1e}"))
    rows.append(("CommitteeGrid, one batched DP5(4) integration, rtol 1e-6", a.n, w6, c6, f"{dev6:.1e}"))
    rows.append((f"CommitteeODE, one DOP853 solve each (extrapolated from {sample.size})", a.n, single_w, single_c,
                 "reference"))
    nn = None
    if a.nn2pp_ode:
        path = str(Path(a.nn2pp_ode).resolve())
        nsamp = np.unique(np.linspace(0, a.n - 1, a.n_nn2pp).astype(int))
        wn = cn = 0.0
        with tempfile.TemporaryDirectory() as d:
            for b in nsamp:
                w, c = run_nn2pp(path, lr[b], noise[b], a.alpha, a.dt, d)
                wn, cn = wn + w, cn + c
        nn = (wn / nsamp.size * a.n, cn / nsamp.size * a.n)
        rows.append((f"nn2pp ODE (C++, Euler dt={a.dt:g}), one process each (extrapolated from {nsamp.size})", a.n,
                     nn[0], nn[1], "not compared (own random init)"))

    lines = [
        f"## Committee ODE grid: {a.n} ODEs, K = M = 2, alpha = {a.alpha:g}",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs (load average "
        f"{os.getloadavg()[0]:.1f} at the end), single-threaded; Python {platform.python_version()}, "
        f"NumPy {np.__version__}. Grid: lr in [0.2, 1.5] x noise in [0, 0.5]; "
        f"{int(tr8.n_iterations)} batched iterations, {tr8.n_steps.mean():.0f} accepted steps per member on average "
        f"(rtol 1e-8).",
        "",
        "| method | ODEs | wall s | CPU s | max abs eps_g deviation vs CommitteeODE |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [f"| {r[0]} | {r[1]} | {r[2]:.2f} | {r[3]:.2f} | {r[4]} |" for r in rows]
    lines.append("")
    lines.append(f"Speed-up of the grid (rtol 1e-8) over single solves: {single_c / c8:.1f}x (CPU), "
                 f"{single_w / w8:.1f}x (wall).")
    if nn is not None:
        lines.append(f"Grid (rtol 1e-8) vs nn2pp: {nn[1] / c8:.2f}x (CPU), {nn[0] / w8:.2f}x (wall); "
                     f"grid (rtol 1e-6) vs nn2pp: {nn[1] / c6:.2f}x (CPU), {nn[0] / w6:.2f}x (wall) "
                     "(> 1: the grid is faster).")
    text = "\n".join(lines)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
