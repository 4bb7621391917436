"""The sweep runner: map a function over a parameter grid, cache every point, return an ``xarray.Dataset``.

``sweep(fn, grid, *, seeds=1, cache=None, scheduler=None, processes=True)``

* ``fn`` is any importable function (module-level, found again by its
  ``module:qualname``) called as ``fn(**point, seed=s)``; it returns a dict
  ``name -> float or array`` (the same names and shapes at every point).
* ``grid`` is a dict ``name -> list of values``; the cartesian product is
  swept. Values are scalars (bool, int, float, str); coordinates keep the
  grid's order.
* ``seeds`` is a number of seeds (``0 .. seeds-1``) or a sequence of seeds.
  The seed handed to ``fn`` is the seed coordinate itself, so the value at
  ``(point, s)`` is ``fn(**point, seed=s)`` whoever computes it, in whatever
  order: serial, local-cluster and remote runs give identical numbers (as
  long as ``fn`` itself is deterministic given its arguments).

Caching (``cache`` a directory): one entry per (point, seed) under
``cache/<module.qualname>/<key>.entry`` where ``key`` is the SHA-256 of the
function's qualified name, its version and the point's parameters and seed
(canonical JSON, so ``1`` and ``1.0`` are different points). The version is
``fn.sweep_version`` when set (see :func:`version`), else a hash of the
function's source: editing the function starts a new cache, editing a helper
it calls does not (bump the version then). Entries are written atomically
(temporary file + rename) by the calling process as each task finishes, so an
interrupted sweep leaves only complete entries and a rerun computes only
what is missing. Each entry carries the SHA-256 of its payload; an entry that
fails the check (truncated, bit-flipped, edited, or a different key) is
reported with a :class:`SweepCacheWarning`, deleted and recomputed, never
read.

Where it runs: ``processes=False`` runs every task in the calling process,
one after the other, without Dask. Otherwise ``scheduler`` (or, when it is
None, the environment variable ``IDEALNETS_SCHEDULER``) names the address of
an existing Dask scheduler, which is used as it is and never shut down; with
neither, a ``LocalCluster`` with one single-threaded worker process per
available core is started for the sweep and closed after it. A task whose
worker dies is rescheduled by Dask on another worker; the client writes each
result once (when its future first completes), so no point is lost or
duplicated. A task that raises makes :func:`sweep` raise :class:`SweepError`
naming the point's parameters and seed (entries already finished stay cached).
The local cluster's workers are started with the ``spawn`` method, so a script
that calls :func:`sweep` with the default cluster must do so under
``if __name__ == "__main__":`` (as with any multiprocessing code).
"""
from __future__ import annotations

import hashlib
import importlib
import inspect
import io
import itertools
import json
import keyword
import math
import numbers
import os
import platform
import time
import uuid
import warnings
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from idealnets.theory.validation import as_int as _as_int
from idealnets.theory.validation import as_seed as _as_seed

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

#: Environment variable read when ``scheduler`` is None (and ``processes`` is True):
#: the address of an existing Dask scheduler, e.g. ``tcp://10.0.0.5:8786``.
SCHEDULER_ENV = "IDEALNETS_SCHEDULER"

_MAGIC = b"IDEALNETS-SWEEP-ENTRY-1\n"
_DIGEST_LEN = 64  # hex SHA-256


class SweepError(RuntimeError):
    """A grid point's function raised (or its worker died repeatedly); names the point and seed.

    Attributes: ``point`` (dict of the point's parameters), ``seed``, ``function``.
    """

    def __init__(self, message: str, *, point: dict, seed: int, function: str):
        super().__init__(message)
        self.point = point
        self.seed = seed
        self.function = function


class SweepCacheWarning(UserWarning):
    """A damaged cache entry was found; it is deleted and its point recomputed."""


# ---------------------------------------------------------------------------
# Identity of a task: function, version, parameters, seed
# ---------------------------------------------------------------------------

def version(v: str) -> Callable[[Callable], Callable]:
    """Decorator pinning the cache version of a sweep function: ``@version("2")``.

    Bump it when the function's results change for reasons its own source does
    not show (a helper it calls was changed).
    """
    if not isinstance(v, str) or not v:
        raise TypeError(f"version must be a non-empty string, got {v!r}")

    def deco(fn):
        fn.sweep_version = v
        return fn

    return deco


def function_name(fn) -> str:
    """``module:qualname`` of an importable function; TypeError if it cannot be imported by that name."""
    if not callable(fn):
        raise TypeError(f"fn must be a callable, got {type(fn).__name__}")
    mod, qual = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    if not mod or not qual or "<lambda>" in qual or "<locals>" in qual:
        raise TypeError(f"fn must be an importable function (defined at module level), got {fn!r}; lambdas, "
                        "closures and partials cannot be found again by a worker or keyed in the cache")
    try:
        obj = importlib.import_module(mod)
        for part in qual.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        raise TypeError(f"fn {mod}:{qual} cannot be imported by that name; define it at module level") from None
    if obj is not fn and getattr(obj, "__wrapped__", None) is not fn and obj != fn:
        raise TypeError(f"{mod}:{qual} names a different object than fn; define fn at module level")
    return f"{mod}:{qual}"


def function_version(fn) -> str:
    """``fn.sweep_version`` if set (see :func:`version`), else the first 16 hex digits of the SHA-256 of its source."""
    v = getattr(fn, "sweep_version", None)
    if v is not None:
        if not isinstance(v, str) or not v:
            raise TypeError(f"fn.sweep_version must be a non-empty string, got {v!r}")
        return v
    try:
        src = inspect.getsource(fn).encode()
    except (OSError, TypeError):  # no source (e.g. a builtin): fall back to the byte code
        code = getattr(fn, "__code__", None)
        src = code.co_code + repr(code.co_consts).encode() if code is not None else repr(fn).encode()
    return "src-" + hashlib.sha256(src).hexdigest()[:16]


def _canon(v):
    """A JSON-able canonical form of one grid value (type-preserving: 1, 1.0 and True differ)."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        return float(v)
    if isinstance(v, str):
        return v
    raise TypeError(f"grid values must be bool, int, float or str, got {type(v).__name__} {v!r}")


def task_key(function: str, fn_version: str, point: Mapping[str, Any], seed: int) -> str:
    """SHA-256 (hex) of the canonical JSON of function name, version, parameters and seed.

    ``point`` a dict name -> bool, int, finite float or str; ``seed`` a non-negative integer."""
    if not isinstance(point, Mapping):
        raise TypeError(f"point must be a dict name -> value, got {type(point).__name__} {point!r}")
    for k, v in point.items():
        c = _canon(v.item() if isinstance(v, np.generic) else v)
        if isinstance(c, float) and not math.isfinite(c):
            raise ValueError(f"point[{k!r}] is not finite: {c!r}")
    seed = _as_seed(seed)
    doc = {"function": function, "version": fn_version, "params": {k: _canon(v) for k, v in point.items()},
           "seed": int(seed)}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# ---------------------------------------------------------------------------
# Validation of grid, seeds and results
# ---------------------------------------------------------------------------

def _check_grid(grid) -> dict[str, list]:
    if not isinstance(grid, Mapping):
        raise TypeError(f"grid must be a dict name -> list of values, got {type(grid).__name__}")
    out: dict[str, list] = {}
    for name, values in grid.items():
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(f"grid names must be valid Python identifiers (they are passed as keywords), got {name!r}")
        if name == "seed":
            raise ValueError("'seed' cannot be a grid name: use the seeds argument")
        if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
            raise TypeError(f"grid[{name!r}] must be a list of values, got {type(values).__name__} {values!r}")
        vals = list(values.tolist() if isinstance(values, np.ndarray) else values)
        if not vals:
            raise ValueError(f"grid[{name!r}] is empty: give at least one value")
        canon = []
        for v in vals:
            if isinstance(v, np.generic):
                v = v.item()
            c = _canon(v)
            if isinstance(c, float) and not math.isfinite(c):
                raise ValueError(f"grid[{name!r}] holds a non-finite value {c!r}")
            canon.append(v)
        keys = [json.dumps(_canon(v)) for v in canon]
        if len(set(keys)) != len(keys):
            dup = next(v for v, k in zip(canon, keys) if keys.count(k) > 1)
            raise ValueError(f"grid[{name!r}] repeats the value {dup!r}: coordinates must be distinct")
        out[name] = canon
    return out


#: most tasks (grid points x seeds) one sweep accepts; beyond it the task list alone exhausts memory
MAX_TASKS = 10**7


def _check_seeds(seeds) -> list[int]:
    if isinstance(seeds, (bool, np.bool_)):
        raise TypeError(f"seeds must be a number of seeds or a list of seeds, got {seeds!r}")
    if isinstance(seeds, numbers.Integral):
        if seeds < 1:
            raise ValueError(f"seeds must be >= 1, got {seeds}")
        if seeds > MAX_TASKS:
            raise ValueError(f"seeds = {seeds} is too large: a sweep takes at most MAX_TASKS = {MAX_TASKS} tasks")
        return list(range(int(seeds)))
    if isinstance(seeds, (Sequence, np.ndarray)) and not isinstance(seeds, (str, bytes)):
        out = []
        for s in list(seeds):
            if isinstance(s, (bool, np.bool_)) or not isinstance(s, numbers.Integral) or s < 0:
                raise ValueError(f"seeds must be non-negative integers, got {s!r} in {seeds!r}")
            out.append(int(s))
        if not out:
            raise ValueError("seeds is empty: give at least one seed")
        if len(set(out)) != len(out):
            raise ValueError(f"seeds repeat: {seeds!r}")
        return out
    raise TypeError(f"seeds must be a number of seeds or a list of seeds, got {type(seeds).__name__}")


def _check_cache(cache) -> Path:
    """The cache folder (created if needed); a ValueError naming ``cache`` when it cannot be one."""
    if not isinstance(cache, (str, os.PathLike)):
        raise TypeError(f"cache must be None or a folder path, got {type(cache).__name__} {cache!r}")
    path = Path(cache)
    if path.exists() and not path.is_dir():
        raise ValueError(f"cache {str(cache)!r} exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"cache {str(cache)!r} cannot be created ({e.strerror or e})") from None
    return path


def _check_result(res, function: str, point: dict, seed: int) -> dict[str, np.ndarray]:
    where = _describe(function, point, seed)
    if not isinstance(res, Mapping):
        raise TypeError(f"{where} returned {type(res).__name__}, not a dict of floats or arrays")
    out = {}
    for k, v in res.items():
        if not isinstance(k, str) or not k.isidentifier():
            raise TypeError(f"{where} returned the key {k!r}: keys must be identifier strings")
        if k == "seed" or k in point:
            raise ValueError(f"{where} returned the key {k!r}, which is also a dimension name")
        a = np.asarray(v)
        if a.dtype.kind not in "biufc":
            raise TypeError(f"{where} returned {k}={v!r} of dtype {a.dtype}: values must be numbers or numeric arrays")
        out[k] = a
    if not out:
        raise ValueError(f"{where} returned an empty dict")
    return out


def _describe(function: str, point: Mapping, seed: int) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in point.items())
    return f"{function}({args}{', ' if args else ''}seed={seed})"


def _run_task(fn, point: dict, seed: int, function: str):
    """Executed on a worker (or in the calling process): call, validate, time."""
    t0 = time.perf_counter()
    res = fn(**point, seed=seed)
    res = _check_result(res, function, point, seed)
    return res, time.perf_counter() - t0


# ---------------------------------------------------------------------------
# Cache entries: magic + SHA-256 of the payload + payload (an .npz archive)
# ---------------------------------------------------------------------------

def _entry_path(cache: Path, function: str, key: str) -> Path:
    folder = function.replace(":", ".").replace("/", "_")
    return cache / folder / f"{key}.entry"


def _write_entry(path: Path, key: str, meta: dict, res: Mapping[str, np.ndarray]) -> None:
    buf = io.BytesIO()
    arrays = {f"r_{k}": v for k, v in res.items()}
    meta = {**meta, "key": key, "names": list(res)}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(buf, **arrays)
    body = buf.getvalue()
    data = _MAGIC + hashlib.sha256(body).hexdigest().encode() + b"\n" + body
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    # No fsync: the rename is atomic, so a killed process leaves the old state or the whole entry; an
    # entry cut short by a power failure fails its checksum and is recomputed.
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _read_entry(path: Path, key: str):
    """``(results, meta)`` of a valid entry; raises ValueError (with the reason) for a damaged one."""
    data = path.read_bytes()
    head = len(_MAGIC) + _DIGEST_LEN + 1
    if len(data) < head or not data.startswith(_MAGIC) or data[head - 1:head] != b"\n":
        raise ValueError("bad header")
    digest, body = data[len(_MAGIC):head - 1].decode("ascii", "replace"), data[head:]
    if hashlib.sha256(body).hexdigest() != digest:
        raise ValueError("checksum mismatch")
    with np.load(io.BytesIO(body), allow_pickle=False) as z:
        meta = json.loads(z["meta"].tobytes().decode())
        if meta.get("key") != key:
            raise ValueError("entry belongs to another key")
        res = {k: z[f"r_{k}"] for k in meta["names"]}
    return res, meta


# ---------------------------------------------------------------------------
# Where the tasks run
# ---------------------------------------------------------------------------

def local_workers() -> int:
    """Number of cores this process may use (the size of the default LocalCluster)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _package_version() -> str:
    try:
        from importlib.metadata import version as _v

        return _v("idealnets")
    except Exception:  # not installed (running from a checkout)
        return "unknown"


MAX_LOCAL_WORKERS = 64  #: most worker processes local_cluster starts (or 4 per core, if more)


def local_cluster(n_workers: int | None = None):
    """The LocalCluster that :func:`sweep` starts: one single-threaded worker process per core.

    Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` in its workers by default; with it glibc
    maps and unmaps every mid-sized NumPy array, which we measured to double the CPU time of
    NumPy-heavy tasks. Our workers keep only the single-thread settings (OMP/MKL/OpenBLAS = 1).
    The caller owns the returned cluster (close it, or use it as a context manager).
    """
    import dask
    from distributed import LocalCluster

    n = local_workers() if n_workers is None else _as_int(n_workers, "n_workers", low=1,
                                                           high=max(MAX_LOCAL_WORKERS, 4 * local_workers()))
    env = {k: v for k, v in (dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {}).items()
           if k != "MALLOC_TRIM_THRESHOLD_"}
    for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env.setdefault(k, 1)
    with dask.config.set({"distributed.nanny.pre-spawn-environ": env}):
        return LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                            silence_logs=40)


def _progress(total: int, initial: int, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="task", leave=False, mininterval=0.5, disable=None)


class _Executor:
    """Runs tasks; ``run(items, on_done)`` calls ``on_done(item, result, elapsed)`` as each finishes."""

    description = "serial (calling process)"

    def run(self, fn, items, function, on_done):
        for it in items:
            point, seed = it[0], it[1]
            try:
                res, elapsed = _run_task(fn, point, seed, function)
            except Exception as exc:
                raise SweepError(f"{_describe(function, point, seed)} raised {type(exc).__name__}: {exc}",
                                 point=dict(point), seed=seed, function=function) from exc
            on_done(it, res, elapsed)

    def close(self):
        pass


class _DaskExecutor(_Executor):
    def __init__(self, scheduler: str | None):
        from distributed import Client

        self.cluster = None
        if scheduler is None:
            self.cluster = local_cluster()
            n = len(self.cluster.workers)
            self.client = Client(self.cluster)
            self.description = f"LocalCluster ({n} worker processes x 1 thread)"
        else:
            self.client = Client(scheduler, timeout="30s")
            self.description = f"existing scheduler {scheduler}"

    def run(self, fn, items, function, on_done):
        from distributed import as_completed

        items = list(items)
        futs = self.client.map(_run_task, [fn] * len(items), [it[0] for it in items], [it[1] for it in items],
                               [function] * len(items), key=[f"sweep-{it[2]}" for it in items], pure=False)
        futures = dict(zip(futs, items))
        try:
            # results are gathered in batches as they complete (one round trip per batch, not per task)
            for fut, out in as_completed(futs, with_results=True, raise_errors=False):
                point, seed, _ = it = futures[fut]
                if fut.status != "finished":
                    exc = out if isinstance(out, BaseException) else fut.exception()
                    raise SweepError(f"{_describe(function, point, seed)} raised {type(exc).__name__}: {exc}",
                                     point=dict(point), seed=seed, function=function) from exc
                res, elapsed = out
                on_done(it, res, elapsed)
                fut.release()
        finally:
            self.client.cancel([f for f in futs if not f.done()])

    def close(self):
        # A scheduler given by address belongs to someone else: only our client is closed.
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _executor(scheduler, processes: bool) -> _Executor:
    if not processes:
        if scheduler is not None:
            raise ValueError(f"processes=False runs in the calling process; it cannot use scheduler={scheduler!r}")
        return _Executor()
    if scheduler is None:
        scheduler = os.environ.get(SCHEDULER_ENV) or None
    if scheduler is not None and not isinstance(scheduler, str):
        raise TypeError(f"scheduler must be an address string such as 'tcp://host:8786', got {scheduler!r}")
    return _DaskExecutor(scheduler)


# ---------------------------------------------------------------------------
# The sweep
# ---------------------------------------------------------------------------

def sweep(fn: Callable, grid: Mapping[str, Sequence], *, seeds=1, cache=None, scheduler: str | None = None,
          processes: bool = True):
    """Map ``fn(**point, seed=s)`` over the cartesian product of ``grid`` and the seeds; see the module docstring.

    Returns an ``xarray.Dataset`` with dimensions ``(*grid, "seed")`` (coordinates
    in the grid's order; the seed coordinate holds the seeds passed to ``fn``),
    one data variable per key returned by ``fn`` (array results add trailing
    dimensions ``<key>_0, <key>_1, ...``) and nothing else: the function, its
    version, counts (computed, read from cache, damaged), timings and the
    scheduler go in ``attrs``.
    """
    import xarray as xr

    t_start = time.perf_counter()
    function = function_name(fn)
    fn_version = function_version(fn)
    grid = _check_grid(grid)
    seed_list = _check_seeds(seeds)
    if not isinstance(processes, (bool, np.bool_)):
        raise TypeError(f"processes must be True or False, got {processes!r}")
    if scheduler is not None and not isinstance(scheduler, str):
        raise TypeError(f"scheduler must be None or an address string, got {type(scheduler).__name__}")
    cache_dir = None if cache is None else _check_cache(cache)

    names = list(grid)
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # no signature to check (some builtins)
        sig = None
    if sig is not None:
        try:
            sig.bind(**{n: grid[n][0] for n in names}, seed=seed_list[0])
        except TypeError as exc:
            raise TypeError(f"{function} cannot be called as fn({', '.join(names + ['seed'])}=...): {exc}") from None
    shape = tuple(len(grid[n]) for n in names) + (len(seed_list),)
    if math.prod(shape) > MAX_TASKS:
        raise ValueError(f"grid x seeds = {' x '.join(map(str, shape))} = {math.prod(shape)} tasks is too large: "
                         f"a sweep takes at most MAX_TASKS = {MAX_TASKS}")
    tasks = []  # (index tuple, point, seed, key)
    for idx in itertools.product(*(range(s) for s in shape[:-1])):
        point = {n: grid[n][i] for n, i in zip(names, idx)}
        for j, s in enumerate(seed_list):
            tasks.append((idx + (j,), point, s, task_key(function, fn_version, point, s)))

    results: dict[tuple, dict[str, np.ndarray]] = {}
    elapsed: list[float] = []
    n_damaged = 0
    todo = []
    for idx, point, s, key in tasks:
        if cache_dir is not None:
            path = _entry_path(cache_dir, function, key)
            if path.exists():
                try:
                    res, meta = _read_entry(path, key)
                except Exception as exc:  # damaged: never read, recompute
                    n_damaged += 1
                    warnings.warn(f"sweep cache entry {path} for {_describe(function, point, s)} is damaged "
                                  f"({exc}); recomputing it", SweepCacheWarning, stacklevel=2)
                    path.unlink(missing_ok=True)
                else:
                    results[idx] = res
                    continue
        todo.append((idx, point, s, key))
    n_cached = len(results)

    by_key = {key: idx for idx, _, _, key in todo}
    description = "nothing to compute (all cached)"
    if todo:
        bar = _progress(len(tasks), n_cached, f"sweep {function.split(':')[-1]}")

        def on_done(item, res, dt):
            point, s, key = item
            if cache_dir is not None:
                meta = {"function": function, "version": fn_version, "params": {k: _canon(v) for k, v in point.items()},
                        "seed": s, "elapsed_s": dt, "written": time.time()}
                _write_entry(_entry_path(cache_dir, function, key), key, meta, res)
            results[by_key[key]] = res
            elapsed.append(dt)
            bar.update(1)

        ex = _executor(scheduler, bool(processes))
        description = ex.description
        try:
            ex.run(fn, [(point, s, key) for _, point, s, key in todo], function, on_done)
        finally:
            bar.close()
            ex.close()

    # --- assemble the Dataset -----------------------------------------------------
    first_idx = tasks[0][0]
    ref = results[first_idx]
    variables = {}
    for k, a0 in ref.items():
        dims = tuple(names) + ("seed",) + tuple(f"{k}_{i}" for i in range(a0.ndim))
        dtype = np.result_type(*(results[t[0]][k].dtype for t in tasks if k in results[t[0]]))
        arr = np.empty(shape + a0.shape, dtype=dtype)
        for idx, point, s, _ in tasks:
            r = results[idx]
            if set(r) != set(ref):
                raise ValueError(f"{_describe(function, point, s)} returned keys {sorted(r)}, but "
                                 f"{_describe(function, tasks[0][1], tasks[0][2])} returned {sorted(ref)}")
            if r[k].shape != a0.shape:
                raise ValueError(f"{_describe(function, point, s)} returned {k} of shape {r[k].shape}, but "
                                 f"{_describe(function, tasks[0][1], tasks[0][2])} returned shape {a0.shape}")
            arr[idx] = r[k]
        variables[k] = (dims, arr)
    coords = {n: list(grid[n]) for n in names}
    coords["seed"] = seed_list
    attrs = {
        "function": function,
        "version": fn_version,
        "n_tasks": len(tasks),
        "n_computed": len(elapsed),
        "n_from_cache": n_cached,
        "n_damaged": n_damaged,
        "wall_s": time.perf_counter() - t_start,
        "task_s_total": float(np.sum(elapsed)) if elapsed else 0.0,
        "task_s_max": float(np.max(elapsed)) if elapsed else 0.0,
        "scheduler": description,
        "cache": "" if cache_dir is None else str(cache_dir),
        "python": platform.python_version(),
        "idealnets": _package_version(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return xr.Dataset(variables, coords=coords, attrs=attrs)
