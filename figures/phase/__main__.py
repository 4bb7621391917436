"""Phase diagrams on a Dask cluster: ``python -m idealnets.figures.phase NAME [options]``.

    python -m idealnets.figures.phase NAME [--size quick|full|large] [--scheduler ADDR] [--cache DIR] [--out DIR]
                                           [--serial] [--seed S]

with NAME one of ``phase_committee``, ``phase_linear``, ``phase_deep_linear``.
``--scheduler`` (or the environment variable ``IDEALNETS_SCHEDULER``) runs on
an existing Dask cluster; without it a LocalCluster sized to the machine is
started (``--serial`` runs in this process instead). ``--cache DIR`` makes a
rerun (or a resumed, interrupted run) read every finished point from DIR.
The figure is written as PNG + JSON into ``--out`` (default ``figures/out/`` for
``--size full``, ``figures/out/<size>/`` otherwise).
"""
from __future__ import annotations

import argparse
import importlib
import os
import time

from idealnets.sweeps import SCHEDULER_ENV, local_cluster
from idealnets.sweeps.phase import SIZES

from .._common import DEFAULT_OUT

__all__ = ["main"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m idealnets.figures.phase", description="Phase diagrams on a Dask cluster.")
    p.add_argument("name", choices=sorted(SIZES), help="which phase diagram")
    p.add_argument("--size", default="large", choices=("quick", "full", "large"))
    p.add_argument("--scheduler", default=None,
                   help="address of a Dask scheduler (default: $IDEALNETS_SCHEDULER, else a LocalCluster)")
    p.add_argument("--serial", action="store_true", help="run in this process (no Dask)")
    p.add_argument("--cache", default=None, help="cache directory: reruns and interrupted runs resume from it")
    p.add_argument("--out", default=None, help="output folder for PNG + JSON (default figures/out/<size>)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    fig = importlib.import_module(f"{__package__}.{a.name}")
    out = a.out or (str(DEFAULT_OUT) if a.size == "full" else str(DEFAULT_OUT / a.size))

    t0 = time.perf_counter()
    scheduler, cluster = a.scheduler, None
    if not a.serial and scheduler is None and not os.environ.get(SCHEDULER_ENV):
        cluster = local_cluster()  # one cluster for all the sweeps of the figure
        scheduler = cluster.scheduler_address
    try:
        rec = fig.build(size=a.size, processes=not a.serial, scheduler=scheduler, cache=a.cache, out=out,
                        seed=a.seed)
    finally:
        if cluster is not None:
            cluster.close()
    agree = ", ".join(f"{k}={v:.3g}" for k, v in rec["agreement"].items() if isinstance(v, float))
    print(f"[{a.name} {a.size}] {time.perf_counter() - t0:.1f}s -> {rec['png_path']}  agreement: {agree}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
