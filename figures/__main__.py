"""python -m idealnets.figures --list | NAME ... | all [--quick] [--device cpu|cuda] [--out DIR] [--seed S]"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from . import DEFAULT_OUT, available


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
    msg = check_out(a.out)
    if msg:
        return _fail(msg)
    device = None if a.device.strip().lower() == "auto" else a.device
    for n in names:
        t0 = time.perf_counter()
        rec = figs[n].make(quick=a.quick, device=device, out=a.out, seed=a.seed)
        agree = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in rec.get("agreement", {}).items())
        print(f"[{n}] {time.perf_counter() - t0:6.1f}s -> {rec['png_path']}  agreement: {agree}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
