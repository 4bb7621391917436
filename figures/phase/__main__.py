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
import sys
import time

from idealnets.sweeps import SCHEDULER_ENV, local_cluster
from idealnets.sweeps.phase import SIZES

from .._common import DEFAULT_OUT
from ..__main__ import check_out

__all__ = ["main"]

PROG = "python -m idealnets.figures.phase"


def _fail(msg: str) -> int:
    """One line on stderr, exit status 2 (a usage error), no traceback."""
    print(f"{PROG}: error: {msg}", file=sys.stderr)
    return 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is the one line of :func:`_fail` (no multi-line usage block)."""

    def error(self, message):
        raise SystemExit(_fail(f"{message} (see --help)"))


def _check_scheduler(address: str, option: str) -> str | None:
    """A Dask scheduler address (``tcp://host:port``; ``host:port`` means tcp) is well formed; no connection is tried."""
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import backends

    allowed = "an address such as 'tcp://10.0.0.5:8786'"
    text = address.strip()
    try:
        scheme, location = parse_address(text)
    except (ValueError, TypeError):
        return f"{option} {address!r} is not {allowed}"
    if scheme not in backends:
        return f"{option} {address!r} has unknown protocol {scheme!r} (known: {', '.join(sorted(backends))})"
    if scheme in ("tcp", "tls", "ws", "wss"):
        try:
            host, port = parse_host_port(location)
            port = int(port)
        except (ValueError, TypeError):
            return f"{option} {address!r} is not {allowed} (host:port with an integer port)"
        if not host or not 1 <= port <= 65535:
            return f"{option} {address!r} is not {allowed} (needs a host and a port in 1..65535)"
    elif not location:
        return f"{option} {address!r} is not {allowed} (nothing after {scheme}://)"
    return None


def main(argv=None) -> int:
    p = _Parser(prog=PROG, description="Phase diagrams on a Dask cluster.")
    p.add_argument("name", choices=sorted(SIZES), help="which phase diagram")
    p.add_argument("--size", default="large", choices=("quick", "full", "large"))
    p.add_argument("--scheduler", default=None,
                   help="address of a Dask scheduler (default: $IDEALNETS_SCHEDULER, else a LocalCluster)")
    p.add_argument("--serial", action="store_true", help="run in this process (no Dask)")
    p.add_argument("--cache", default=None, help="cache directory: reruns and interrupted runs resume from it")
    p.add_argument("--out", default=None, help="output folder for PNG + JSON (default figures/out/<size>)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    out = a.out or (str(DEFAULT_OUT) if a.size == "full" else str(DEFAULT_OUT / a.size))
    # everything that can be checked is checked before any point is computed
    if a.seed < 0:
        return _fail(f"--seed must be a non-negative integer, got {a.seed}")
    if a.serial and a.scheduler is not None:
        return _fail(f"--serial runs in this process; it cannot use --scheduler {a.scheduler!r}")
    if a.scheduler is not None:
        msg = _check_scheduler(a.scheduler, "--scheduler")
    elif not a.serial and os.environ.get(SCHEDULER_ENV, "").strip():
        msg = _check_scheduler(os.environ[SCHEDULER_ENV], f"${SCHEDULER_ENV}")
    else:
        msg = None
    msg = msg or (a.cache is not None and check_out(a.cache, "--cache")) or check_out(out, "--out")
    if msg:
        return _fail(msg)
    fig = importlib.import_module(f"{__package__}.{a.name}")

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
