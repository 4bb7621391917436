"""Running figures for ``python -m idealnets.figures``: timing each one, and worker processes.

Each figure is timed in wall and CPU seconds (user + system of its process, all threads, torch's
included) and the timing written into its JSON record as ``"timing": {"wall_s", "cpu_s"}`` (beside
``agreement``; not an agreement number). With ``--jobs N`` the figures are computed in N spawned
worker processes, slowest first, each with ``cores // N`` torch and BLAS threads; the figures of a
topic that share a per-process cache of trained ensembles (:data:`CACHE_SHARING_TOPICS`) go to
one worker together, so that each ensemble is still trained once. A figure's numbers do not depend
on N: every figure seeds its own random streams.
"""
from __future__ import annotations

import json
import os
import resource
import time
from pathlib import Path

__all__ = ["CACHE_SHARING_TOPICS", "cores", "timed_make", "add_timing", "line", "groups", "run_parallel"]

#: Topics whose figures share a per-process cache of trained ensembles (one worker computes them all).
CACHE_SHARING_TOPICS = ("committee", "semantic")


def cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def cpu_seconds() -> float:
    """User + system CPU seconds of this process (all its threads, torch's included)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed_make(mod, **kw) -> tuple[dict, dict[str, float]]:
    """``mod.make(**kw)`` and its wall and CPU seconds."""
    t0, c0 = time.perf_counter(), cpu_seconds()
    rec = mod.make(**kw)
    return rec, {"wall_s": round(time.perf_counter() - t0, 3), "cpu_s": round(cpu_seconds() - c0, 3)}


def add_timing(rec: dict, timing: dict[str, float]) -> None:
    """Write ``"timing": {"wall_s", "cpu_s"}`` into the figure's JSON record (after its ``agreement``)."""
    path = rec.get("json_path")
    if not path:
        return
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    data["timing"] = timing
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)


def line(n: str, rec: dict, timing: dict[str, float]) -> str:
    """One line of progress: the figure, its seconds, its PNG and its agreement numbers."""
    agree = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                      for k, v in rec.get("agreement", {}).items())
    return (f"[{n}] {timing['wall_s']:6.1f}s ({timing['cpu_s']:.1f} CPU s) -> {rec['png_path']}"
            f"  agreement: {agree}")


def groups(names: list[str], figs: dict, out: str) -> list[list[str]]:
    """The figures as tasks for the workers, slowest first: one task per figure, except that the
    figures of a cache-sharing topic form one task (in their listed order). "Slowest" is by the CPU
    seconds recorded in ``out/timings.json`` (figures not in it count as slowest)."""
    try:
        with open(Path(out) / "timings.json", encoding="utf-8") as f:
            last = {n: float(t["cpu_s"]) for n, t in json.load(f)["figures"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        last = {}
    tasks: dict[str, list[str]] = {}
    for n in names:
        topic = figs[n].__name__.split(".")[-2]
        key = topic if topic in CACHE_SHARING_TOPICS else n
        tasks.setdefault(key, []).append(n)
    cost = {k: sum(last.get(n, float("inf")) for n in ns) for k, ns in tasks.items()}
    return [tasks[k] for k in sorted(tasks, key=lambda k: -cost[k])]


def worker_init(threads: int) -> None:
    """Each worker: ``threads`` torch threads, unless the user set ``IDEALNETS_THREADS``."""
    from idealnets.simulate import configure_threads

    configure_threads(None if os.environ.get("IDEALNETS_THREADS", "").strip() else threads)


def run_group(group: list[str], kw: dict) -> list[tuple[str, str, dict[str, float]]]:
    """In a worker: make each figure of ``group``, timed; ``(name, progress line, timing)`` for each."""
    from . import available

    import traceback

    figs = available()
    done = []
    for n in group:
        try:
            rec, timing = timed_make(figs[n], **kw)
        except Exception:  # noqa: BLE001 -- reported, and the other figures still run
            done.append((n, f"[{n}] FAILED:\n{traceback.format_exc()}", None))
            continue
        add_timing(rec, timing)
        done.append((n, line(n, rec, timing), timing))
    return done


def run_parallel(tasks: list[list[str]], jobs: int, kw: dict, on_done) -> None:
    """Compute the figure groups in ``jobs`` fresh worker processes, slowest group first, calling
    ``on_done(name, progress line, timing)`` for each figure as its group finishes (``timing`` None:
    the figure failed, the line holds its traceback; the other figures are still made)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    threads = max(1, cores() // jobs)
    # the workers inherit these: BLAS pools sized before numpy loads, unless the user chose
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(threads))
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"),
                             initializer=worker_init, initargs=(threads,)) as pool:
        futures = [pool.submit(run_group, g, kw) for g in tasks]
        for fut in as_completed(futures):
            for n, text, timing in fut.result():
                on_done(n, text, timing)
