"""Benchmark: online SGD and the committee ODE against nn2pp (sgoldt/nn2pp, C++/Armadillo), side by side.

Both run in the same process tree on the same machine, interleaved, each
timing repeated ``--repeats`` times and the minimum kept (the fairest number
on a shared machine: load only ever adds time). Everything runs on one thread
(``OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=1`` for nn2pp, ``n_threads=1`` here).

SGD: N = 500, K = M = 2 erf units, first layer trained, lr = 1. nn2pp's
simulator (``nn2pp.exe``) is timed at two step counts and the difference
divided by the extra steps, so its start-up (and its 200 log-spaced analytic
eps_g evaluations) cancel; ours is ``idealnets.simulate.committee.train``'s step-loop
wall time (3 records). Per seed-step times for 1 seed and 64/256 batched
seeds, float64 and float32.

ODE (only if ``nn2pp_ode_erf.exe`` is found): nn2pp's explicit Euler at
dt = 0.01 vs ``CommitteeODE.integrate`` (DOP853, default tolerances and
rtol 1e-7) to alpha = 500 at K = M = 2 and 8 from Q = I, R ~ 1e-9, v = 1.

Usage (from the repository root)::

    python benchmarks/committee_nn2pp.py --nn2pp /work/ext/nn2pp/nn2pp.exe [--quick] [--repeats 3]

Build nn2pp outside this repository (it is not ours and never committed)::

    g++ -std=c++11 -O3 -o nn2pp.exe nn2pp.cpp -larmadillo
    g++ -std=c++11 -O3 -o nn2pp_ode_erf.exe scmpp_ode.cpp -larmadillo

Without ``--nn2pp`` (or with a path that does not exist) the nn2pp columns
are skipped with a message and only our timings are printed.
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from idealnets.simulate.committee import train  # noqa: E402
from idealnets.theory.committee import CommitteeODE  # noqa: E402

N, K, LR = 500, 2, 1.0
ENV1 = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _run_nn2pp_wall_cpu(exe: Path, steps_over_n: float, workdir: str) -> tuple[float, float]:
    """Wall time and CPU time (of the finished child process) of one nn2pp run."""
    t0, c0 = time.perf_counter(), _children_cpu()
    subprocess.run([str(exe), "--g1", "1", "--g2", "1", "--N", str(N), "--M", str(K), "--K", str(K), "--lr",
                    str(LR), "--steps", f"{steps_over_n:g}", "--init", "1", "--quiet"], cwd=workdir, env=ENV1,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0, _children_cpu() - c0


def _run_nn2pp(exe: Path, steps_over_n: float, workdir: str) -> float:
    return _run_nn2pp_wall_cpu(exe, steps_over_n, workdir)[0]


def nn2pp_per_step(exe: Path, s1: float, s2: float, workdir: str) -> float:
    """Seconds per SGD step of nn2pp: (t(s2) - t(s1)) / ((s2 - s1) N)."""
    return (_run_nn2pp(exe, s2, workdir) - _run_nn2pp(exe, s1, workdir)) / ((s2 - s1) * N)


def nn2pp_per_step_wall_cpu(exe: Path, s1: float, s2: float, workdir: str) -> tuple[float, float]:
    """Wall and CPU seconds per SGD step of nn2pp, each as (t(s2) - t(s1)) / ((s2 - s1) N)."""
    w2, c2 = _run_nn2pp_wall_cpu(exe, s2, workdir)
    w1, c1 = _run_nn2pp_wall_cpu(exe, s1, workdir)
    return (w2 - w1) / ((s2 - s1) * N), (c2 - c1) / ((s2 - s1) * N)


def ours_per_seed_step(n_networks: int, steps: int, dtype) -> float:
    run = train(N, K, K, LR, steps / N, n_networks=n_networks, init_scale=1.0, record=3, n_test=10, dtype=dtype,
                n_threads=1, progress_bar=False)
    return run.wall_s / (n_networks * steps)


def _wall_cpu(fn) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def _floor_weights(E: int, dtype, seed: int):
    """Student and teacher weights for the floor loops, pre-scaled so that ``W x = lambda / sqrt 2``
    (the argument of erf) for an unscaled Gaussian input x, and the first-layer step in those units:
    ``w <- w - (lr/sqrt N) Delta g'(lambda) x`` with ``g'(lambda) = sqrt(2/pi) exp(-lambda^2/2)`` is
    ``W <- W - lr/(N sqrt pi) Delta exp(-z^2) x`` for ``W = w / sqrt(2N)``."""
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(E, K, N, generator=g, dtype=dtype) / math.sqrt(2 * N)
    Ws = torch.randn(E, K, N, generator=g, dtype=dtype) / math.sqrt(2 * N)
    return g, W, Ws, LR / (N * math.sqrt(math.pi))


def floor_per_step(E: int, steps: int, dtype, seed: int = 0) -> tuple[float, float]:
    """The bare work of ``steps`` SGD steps of E networks (N = 500, K = M = 2 erf, v = v* = 1) as a minimal
    hand-written torch loop, one step at a time: draw the E inputs (in ``dtype``), the student and teacher
    local fields (two ``bmm``), erf of both, the error, the derivative ``exp(-z^2)`` and the rank-one
    update (``baddbmm_``); nothing else (no recording, no checks). Returns (wall, CPU) seconds per seed-step."""
    g, W, Ws, eta = _floor_weights(E, dtype, seed)

    def loop():
        for _ in range(steps):
            x = torch.randn(E, N, 1, generator=g, dtype=dtype)
            z = torch.bmm(W, x)
            delta = torch.erf(z).sum(1, keepdim=True) - torch.erf(torch.bmm(Ws, x)).sum(1, keepdim=True)
            W.baddbmm_(z.square().neg_().exp_().mul_(delta), x.transpose(1, 2), alpha=-eta)

    w, c = _wall_cpu(loop)
    return w / (E * steps), c / (E * steps)


def _floor_block_steps(W: torch.Tensor, X: torch.Tensor, Y: torch.Tensor, eta: float) -> None:
    """The sequential part of :func:`floor_block`: per step the student's fields, erf, error, derivative and update."""
    Xc = X.unsqueeze(3)
    Xr = X.unsqueeze(2)
    Yc = Y.unsqueeze(2).unsqueeze(3)
    for j in range(X.shape[0]):
        z = torch.bmm(W, Xc[j])
        delta = torch.erf(z).sum(1, keepdim=True) - Yc[j]
        W.baddbmm_(z.square().neg_().exp_().mul_(delta), Xr[j], alpha=-eta)


_FLOOR_SCRIPTED = None


def floor_block(E: int, steps: int, dtype, seed: int = 0, block: int | None = None,
                scripted: bool = False) -> tuple[float, float]:
    """The floor lowered by the exact shortcuts the loop may use: the inputs of a block of steps drawn at
    once as float32 Gaussians and cast (torch's float32 sampler is several times faster than its float64
    one), the teacher's fields and labels of the block in one batched product (they do not depend on the
    student), then per step only the student's fields, erf, the error, the derivative and the update.
    ``scripted``: the per-step part compiled by TorchScript (no Python between kernels).
    Returns (wall, CPU) seconds per seed-step."""
    global _FLOOR_SCRIPTED
    g, W, Ws, eta = _floor_weights(E, dtype, seed)
    block = block or max(1, min(4096, 1_000_000 // (E * N)))
    step_fn = _floor_block_steps
    if scripted:
        if _FLOOR_SCRIPTED is None:
            _FLOOR_SCRIPTED = torch.jit.script(_floor_block_steps)
        step_fn = _FLOOR_SCRIPTED

    def loop():
        done = 0
        while done < steps:
            c = min(block, steps - done)
            X = torch.randn(c, E, N, generator=g, dtype=torch.float32).to(dtype)
            Y = torch.erf(torch.einsum("cen,emn->cem", X, Ws)).sum(-1)
            with torch.jit.optimized_execution(False):
                step_fn(W, X, Y, eta)
            done += c

    w, c = _wall_cpu(loop)
    return w / (E * steps), c / (E * steps)


def ours_wall_cpu(n_networks: int, steps: int, dtype) -> tuple[float, float]:
    """``train``'s step-loop wall time and the CPU time of the whole call, per seed-step."""
    c0 = time.process_time()
    run = train(N, K, K, LR, steps / N, n_networks=n_networks, init_scale=1.0, record=3, n_test=10, dtype=dtype,
                n_threads=1, progress_bar=False)
    return run.wall_s / (n_networks * steps), (time.process_time() - c0) / (n_networks * steps)


def ode_times(exe: Path | None, Kode: int, alpha: float, workdir: str, repeats: int) -> dict:
    rng = np.random.default_rng(0)
    R0 = 1e-9 * rng.normal(size=(Kode, Kode))
    res = {}
    for name, tol in (("default", {}), ("rtol1e-7", dict(rtol=1e-7, atol=1e-9))):
        best = np.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            tr = CommitteeODE(Kode, Kode, LR).integrate(np.eye(Kode), R0, alpha_eval=[alpha], **tol)
            best = min(best, time.perf_counter() - t0)
        res[name] = (best, int(tr.nfev), float(tr.eps_g[0]))
    if exe is not None:
        best = np.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run([str(exe), "--K", str(Kode), "--M", str(Kode), "--lr", str(LR), "--steps", f"{alpha:g}",
                            "--dt", "0.01", "--quiet"], cwd=workdir, env=ENV1, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            best = min(best, time.perf_counter() - t0)
        res["nn2pp_dt0.01"] = (best, None, None)
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--nn2pp", default=None, help="path of nn2pp's simulator binary (nn2pp.exe)")
    p.add_argument("--nn2pp-ode", default=None, help="path of nn2pp's ODE binary (default: nn2pp_ode_erf.exe "
                                                     "next to --nn2pp)")
    p.add_argument("--quick", action="store_true", help="fewer steps (a smoke test, not a measurement)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no-ode", action="store_true")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    exe = Path(a.nn2pp) if a.nn2pp else None
    if exe is None or not exe.is_file():
        print(f"nn2pp binary not found ({a.nn2pp!r}): skipping the nn2pp comparison, timing ours only.")
        exe = None
    ode_exe = Path(a.nn2pp_ode) if a.nn2pp_ode else (exe.parent / "nn2pp_ode_erf.exe" if exe else None)
    if ode_exe is not None and not ode_exe.is_file():
        print(f"nn2pp ODE binary not found ({str(ode_exe)!r}): skipping the ODE comparison with nn2pp.")
        ode_exe = None
    q = a.quick
    steps = {1: 2000 if q else 20000, 64: 200 if q else 2000, 256: 60 if q else 600}
    s1, s2 = (0.2, 2.0) if q else (1.0, 21.0)
    work = tempfile.mkdtemp(prefix="nn2pp_bench_")
    best = {}
    try:
        # warm-up (TorchScript compilation, allocator)
        ours_per_seed_step(1, 200, torch.float64)
        ours_per_seed_step(2, 200, torch.float32)
        for r in range(a.repeats):
            if exe is not None:
                best["nn2pp"] = min(best.get("nn2pp", np.inf), nn2pp_per_step(exe, s1, s2, work))
            for E, st in steps.items():
                for dt in (torch.float64, torch.float32):
                    key = (E, str(dt).replace("torch.", ""))
                    best[key] = min(best.get(key, np.inf), ours_per_seed_step(E, st, dt))
            print(f"repeat {r + 1}/{a.repeats} done", flush=True)
        lines = [
            f"Machine: {platform.machine()}, {os.cpu_count()} CPU(s) visible, load average "
            f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}; torch {torch.__version__}, 1 thread everywhere; "
            f"min of {a.repeats} interleaved repeats. N = {N}, K = M = {K} erf, lr = {LR}.",
            "",
            "| seeds | dtype | ours (us / seed-step) | nn2pp (us / step) | nn2pp / ours |",
            "|---|---|---|---|---|",
        ]
        nn = best.get("nn2pp")
        for E in steps:
            for dt in ("float64", "float32"):
                t = best[(E, dt)] * 1e6
                nn_s = f"{nn * 1e6:.1f}" if nn else "n/a"
                ratio = f"{nn * 1e6 / t:.2f}x" if nn else "n/a"
                lines.append(f"| {E} | {dt} | {t:.2f} | {nn_s} | {ratio} |")
        if not a.no_ode:
            lines += ["", "| ODE, alpha = 500 | ours default (s, nfev) | ours rtol 1e-7 (s, nfev) | nn2pp Euler dt 0.01 (s) |",
                      "|---|---|---|---|"]
            for Kode in (2, 8):
                o = ode_times(ode_exe, Kode, 100.0 if q else 500.0, work, 1 if Kode == 8 else a.repeats)
                nn_o = f"{o['nn2pp_dt0.01'][0]:.3f}" if "nn2pp_dt0.01" in o else "n/a"
                lines.append(f"| K = M = {Kode} | {o['default'][0]:.3f} ({o['default'][1]}) | "
                             f"{o['rtol1e-7'][0]:.3f} ({o['rtol1e-7'][1]}) | {nn_o} |")
        print("\n".join(lines))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
