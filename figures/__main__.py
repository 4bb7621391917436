"""python -m idealnets.figures --list | NAME ... | all [--quick] [--device cpu|cuda] [--out DIR] [--seed S] [--jobs N] [--timings]

With ``--jobs N`` (default: the number of cores) the figures are computed in N worker processes,
slowest first (by the CPU seconds of the last ``--timings`` run in the same ``--out``, when there is
one), each worker with ``cores // N`` torch and BLAS threads. Figures of a topic that share a
per-process cache of trained ensembles (``CACHE_SHARING_TOPICS``) go to one worker together, so
that each ensemble is still trained once. Every figure's numbers are the same for any N: each
figure seeds its own random streams.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from . import DEFAULT_OUT, available
from ._jobs import add_timing, cores, groups, line, run_parallel, timed_make


def _fail(msg: str) -> int:
    """One line on stderr, exit status 2 (a usage error), no traceback."""
    print(f"python -m idealnets.figures: error: {msg}", file=sys.stderr)
    return 2


def check_out(out: str, option: str = "--out") -> str | None:
    """Create folder ``out`` if needed and prove it writable; an error message naming ``option``, or None when fine.

    Shared with the other command lines of the package (``python -m idealnets.figures.phase``
    checks ``--out`` and ``--cache`` with it).
    """
    path = Path(out).expanduser()
    if path.exists() and not path.is_dir():
        return f"{option} {out!r} exists and is not a directory"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return f"{option} {out!r} cannot be created ({e.strerror or e})"
    if not path.is_dir():
        return f"{option} {out!r} is not a directory"
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as e:
        return f"{option} {out!r} is not writable ({e.strerror or e})"
    return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m idealnets.figures", description="Reproduce idealnets figures.")
    p.add_argument("names", nargs="*", help="figure names, or 'all'")
    p.add_argument("--list", action="store_true", help="list the figures and exit")
    p.add_argument("--quick", action="store_true", help="small, fast version (smoke test)")
    p.add_argument("--device", default="auto", help="cpu, cuda, or auto (cuda when available)")
    p.add_argument("--out", default=str(DEFAULT_OUT), help="output folder for PNG + JSON")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=None,
                   help="worker processes (default: the number of cores; 1: all figures in this process)")
    p.add_argument("--timings", action="store_true",
                   help="print a table of wall and CPU seconds per figure and write it to OUT/timings.json")
    a = p.parse_args(argv)

    figs = available()
    if a.list or not a.names:
        for n, m in figs.items():
            print(f"{n:32s} {getattr(m, 'TITLE', '')}")
        return 0
    names = list(figs) if a.names == ["all"] else a.names
    unknown = [n for n in names if n not in figs]
    if unknown:
        return _fail(f"unknown figure(s) {', '.join(unknown)}; use --list")
    # everything that can be checked is checked before any figure is computed
    from idealnets.simulate import resolve_device

    try:
        resolve_device(a.device)
    except (ValueError, TypeError) as e:
        return _fail(f"--device: {e}")
    if a.seed < 0:
        return _fail(f"--seed must be a non-negative integer, got {a.seed}")
    jobs = cores() if a.jobs is None else a.jobs
    if jobs < 1:
        return _fail(f"--jobs must be a positive integer, got {a.jobs}")
    msg = check_out(a.out)
    if msg:
        return _fail(msg)
    device = None if a.device.strip().lower() == "auto" else a.device
    kw = dict(quick=a.quick, device=device, out=a.out, seed=a.seed)
    timings: dict[str, dict[str, float]] = {}
    failed: list[str] = []
    t_all = time.perf_counter()
    tasks = groups(names, figs, a.out)
    jobs = min(jobs, len(tasks))

    def on_done(n: str, text: str, timing: dict[str, float] | None) -> None:
        print(text, flush=True)
        if timing is None:
            failed.append(n)
            return
        timings[n] = timing
        if a.timings:  # kept up to date, so that an interrupted run still leaves its table
            _write_timings(timings, a.out, wall_total=time.perf_counter() - t_all, jobs=jobs,
                           complete=False)

    if jobs == 1:
        for n in names:
            rec, timing = timed_make(figs[n], **kw)
            add_timing(rec, timing)
            on_done(n, line(n, rec, timing), timing)
    else:
        run_parallel(tasks, jobs, kw, on_done)
        if failed:
            print(f"python -m idealnets.figures: {len(failed)} figure(s) failed: {', '.join(failed)}",
                  file=sys.stderr)
    if a.timings:
        timings = {n: timings[n] for n in names if n in timings}
        wall = time.perf_counter() - t_all
        _write_timings(timings, a.out, wall_total=wall, jobs=jobs, complete=not failed)
        _print_timings(timings, wall_total=wall, jobs=jobs)
    return 1 if failed else 0


def _print_timings(timings: dict[str, dict[str, float]], *, wall_total: float, jobs: int) -> None:
    """The per-figure table, slowest (CPU) first, with totals (wall: of the whole run; CPU: summed
    over the figures)."""
    rows = sorted(timings.items(), key=lambda kv: -kv[1]["cpu_s"])
    print(f"\n{'figure':36s} {'wall s':>8s} {'CPU s':>8s}")
    for n, t in rows:
        print(f"{n:36s} {t['wall_s']:8.1f} {t['cpu_s']:8.1f}")
    cpu_total = sum(t["cpu_s"] for t in timings.values())
    print(f"{f'total ({len(rows)} figures, {jobs} jobs)':36s} {wall_total:8.1f} {cpu_total:8.1f}")


def _write_timings(timings: dict[str, dict[str, float]], out: str, *, wall_total: float, jobs: int,
                   complete: bool) -> None:
    """``out/timings.json``: per figure (slowest CPU first) its wall and CPU seconds, and the totals."""
    rows = sorted(timings.items(), key=lambda kv: -kv[1]["cpu_s"])
    summary = {"figures": dict(rows),
               "total": {"wall_s": round(wall_total, 3), "cpu_s": round(sum(t["cpu_s"] for t in timings.values()), 3),
                         "n_figures": len(rows), "jobs": jobs, "complete": complete}}
    with open(Path(out) / "timings.json", "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
