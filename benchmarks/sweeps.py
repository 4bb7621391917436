"""Benchmark: the sweep runner's throughput on this machine against a serial loop, and its per-task overhead.

1. Throughput: ``n`` CPU-bound tasks (``idealnets.sweeps._testing.busy``, ~``work`` x 0.1 ms
   each) run as a plain Python loop, as ``sweep(..., processes=False)`` (the
   runner in the calling process), and on a LocalCluster with one worker per
   core (the default ``sweep``), with and without the cluster's start-up.
2. Overhead per task: ``n`` tasks that return at once (``idealnets.sweeps._testing.noop``)
   through the runner, in process and on the cluster, with and without a cache
   (one checksummed entry written per task).

Speed-up = serial loop wall time / sweep wall time; overhead = (sweep wall
time - loop wall time) / tasks. On a shared machine other processes compete
for the cores: the load average is printed with the numbers.

Run from the repository root: ``python benchmarks/sweeps.py [--n 64] [--work 200] [--out FILE]``.
"""
from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from idealnets.sweeps import local_cluster, local_workers, sweep  # noqa: E402
from idealnets.sweeps._testing import busy, noop  # noqa: E402


def wall(f):
    t0 = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=64, help="CPU-bound tasks")
    p.add_argument("--work", type=int, default=200, help="work units per task (~0.1 ms each)")
    p.add_argument("--n-noop", type=int, default=400, help="empty tasks for the overhead")
    p.add_argument("--repeat", type=int, default=3, help="interleaved repetitions; the minimum is reported")
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    n_workers = local_workers()
    grid = {"i": list(range(a.n)), "work": [a.work]}
    noop_grid = {"i": list(range(a.n_noop))}
    T: dict[str, list[float]] = {}

    def rec(name, f):
        out, t = wall(f)
        T.setdefault(name, []).append(t)
        return out

    (cluster, t_start) = wall(lambda: local_cluster(n_workers))
    try:
        addr = cluster.scheduler_address
        sweep(noop, {"i": [0, 1]}, scheduler=addr)  # warm the workers (imports)
        for _ in range(a.repeat):  # interleaved, so load changes on a shared machine hit all variants alike
            rec("loop", lambda: [busy(i, seed=0, work=a.work) for i in range(a.n)])
            rec("inproc", lambda: sweep(busy, grid, processes=False))
            rec("cluster", lambda: sweep(busy, grid, scheduler=addr))
            rec("noop_loop", lambda: [noop(i, seed=0) for i in range(a.n_noop)])
            rec("noop_inproc", lambda: sweep(noop, noop_grid, processes=False))
            rec("noop_cluster", lambda: sweep(noop, noop_grid, scheduler=addr))
            with tempfile.TemporaryDirectory() as d:
                rec("noop_cache", lambda: sweep(noop, noop_grid, processes=False, cache=d))
                rec("noop_reread", lambda: sweep(noop, noop_grid, processes=False, cache=d))
            with tempfile.TemporaryDirectory() as d:
                rec("noop_cluster_cache", lambda: sweep(noop, noop_grid, scheduler=addr, cache=d))
    finally:
        cluster.close()
    rec("local", lambda: sweep(busy, grid))  # starts and stops its own LocalCluster (once)
    m = {k: min(v) for k, v in T.items()}
    t_loop, t_inproc, t_local, t_cluster = m["loop"], m["inproc"], m["local"], m["cluster"]
    t_noop_loop, t_noop_inproc, t_noop_cluster = m["noop_loop"], m["noop_inproc"], m["noop_cluster"]
    t_noop_cache, t_noop_reread, t_noop_cluster_cache = m["noop_cache"], m["noop_reread"], m["noop_cluster_cache"]
    load = os.getloadavg()
    per = lambda t: 1e3 * (t - t_noop_loop) / a.n_noop  # noqa: E731
    lines = [
        f"## Sweep runner on this machine ({os.cpu_count()} CPUs, {n_workers} workers; load average "
        f"{load[0]:.1f} / {load[1]:.1f} during the run)",
        "",
        f"Throughput: {a.n} CPU-bound tasks of ~{t_loop / a.n * 1e3:.0f} ms each; each time is the minimum of "
        f"{a.repeat} interleaved repetitions.",
        "",
        "| how | wall s | speed-up vs serial loop |",
        "|---|---:|---:|",
        f"| serial Python loop | {t_loop:.2f} | 1.00 |",
        f"| sweep(processes=False) | {t_inproc:.2f} | {t_loop / t_inproc:.2f} |",
        f"| sweep() default: LocalCluster started and stopped inside | {t_local:.2f} | {t_loop / t_local:.2f} |",
        f"| sweep(scheduler=address) on a running {n_workers}-worker cluster | {t_cluster:.2f} | "
        f"{t_loop / t_cluster:.2f} |",
        "",
        f"LocalCluster start-up: {t_start:.2f} s.",
        "",
        f"Per-task overhead ({a.n_noop} empty tasks; loop {t_noop_loop * 1e3:.1f} ms in total):",
        "",
        "| how | wall s | overhead per task, ms |",
        "|---|---:|---:|",
        f"| sweep(processes=False) | {t_noop_inproc:.2f} | {per(t_noop_inproc):.2f} |",
        f"| sweep(processes=False, cache=dir), writing entries | {t_noop_cache:.2f} | {per(t_noop_cache):.2f} |",
        f"| same, rerun reading every entry | {t_noop_reread:.2f} | {per(t_noop_reread):.2f} |",
        f"| sweep(scheduler=address) | {t_noop_cluster:.2f} | {per(t_noop_cluster):.2f} |",
        f"| sweep(scheduler=address, cache=dir) | {t_noop_cluster_cache:.2f} | {per(t_noop_cluster_cache):.2f} |",
    ]
    text = "\n".join(lines)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
