"""Parameter sweeps on Dask with resumable, checksummed results: ``from sweeps import sweep``.

Its own layer above ``theory`` and ``simulate`` (neither imports it; ``figures``
may). See :mod:`sweeps.runner` for the contract and :mod:`sweeps.phase` for the
phase-diagram command line (``python -m sweeps.phase NAME --size large
--scheduler ADDR``).
"""
from .runner import (
    SCHEDULER_ENV,
    SweepCacheWarning,
    SweepError,
    function_name,
    function_version,
    local_cluster,
    local_workers,
    sweep,
    task_key,
    version,
)

__all__ = [
    "sweep",
    "SweepError",
    "SweepCacheWarning",
    "SCHEDULER_ENV",
    "version",
    "function_name",
    "function_version",
    "task_key",
    "local_workers",
    "local_cluster",
]
