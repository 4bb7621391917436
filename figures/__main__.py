"""python -m figures --list | NAME ... | all [--quick] [--device cpu|cuda] [--out DIR] [--seed S]"""
from __future__ import annotations

import argparse
import sys
import time

from . import DEFAULT_OUT, available


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m figures", description="Reproduce idealnets figures.")
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
        p.error(f"unknown figure(s) {', '.join(unknown)}; use --list")
    device = None if a.device == "auto" else a.device
    for n in names:
        t0 = time.perf_counter()
        rec = figs[n].make(quick=a.quick, device=device, out=a.out, seed=a.seed)
        agree = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in rec.get("agreement", {}).items())
        print(f"[{n}] {time.perf_counter() - t0:6.1f}s -> {rec['png_path']}  agreement: {agree}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
