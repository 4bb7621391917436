"""Parameter sweeps on Dask with resumable, checksummed results: ``from idealnets.sweeps import sweep``.

Its own layer above ``idealnets.theory`` and ``idealnets.simulate`` (neither imports it) and below
``idealnets.figures`` (which imports it; it never imports the figures). See :mod:`idealnets.sweeps.runner`
for the contract and :mod:`idealnets.sweeps.phase` for the phase-diagram computations; the figures
draw them, also on a Dask cluster (``python -m idealnets.figures.phase NAME --size large
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
