"""The sweep runner: API contract, determinism, caching, and reliability on a 2-worker local cluster.

Reliability (issue 14, item 3), each on a real 2-process ``LocalCluster``:
distributed == serial bit for bit; a worker killed (SIGKILL) in the middle of
a task loses no grid point and duplicates none; a sweep killed mid-way
resumes from its cache; a corrupted cache entry is detected by its checksum
and recomputed.

There are no numerical tolerances in this file: every comparison is exact
(bit for bit), because the runner must not change a single number.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from idealnets.sweeps import SCHEDULER_ENV, SweepCacheWarning, SweepError, sweep, task_key
from idealnets.sweeps import _testing as T

ROOT = Path(__file__).resolve().parents[1]
#: seconds to wait for a sweep subprocess to write its first entries before giving up
SUBPROCESS_WAIT_S = 60.0


def serial_reference(fn, grid, seeds, **fixed):
    """The values a sweep must return: a plain loop calling fn(**point, seed=s)."""
    import itertools

    names = list(grid)
    out = {}
    for vals in itertools.product(*(grid[n] for n in names)):
        point = dict(zip(names, vals))
        for s in seeds:
            out[tuple(vals) + (s,)] = fn(**point, seed=s)
    return out


def assert_matches(ds, ref, grid):
    names = list(grid)
    for key, res in ref.items():
        sel = dict(zip(names + ["seed"], key))
        for k, v in res.items():
            got = ds[k].sel(sel).values
            assert np.array_equal(got, np.asarray(v)), (key, k, got, v)
            assert got.dtype == np.asarray(v).dtype


def entries(cache: Path) -> list[Path]:
    return sorted(p for p in cache.rglob("*.entry"))


# ---------------------------------------------------------------------------
# The contract (serial path, processes=False: fast)
# ---------------------------------------------------------------------------

def test_dataset_layout_and_values():
    grid = {"a": [0.5, 0.25, 2.0], "b": [3, 1]}
    ds = sweep(T.toy, grid, seeds=2, processes=False)
    assert list(ds.dims)[:3] == ["a", "b", "seed"]
    assert list(ds["y"].dims) == ["a", "b", "seed"]
    assert list(ds["curve"].dims) == ["a", "b", "seed", "curve_0"]
    assert ds["a"].values.tolist() == [0.5, 0.25, 2.0]  # the grid's order, not sorted
    assert ds["b"].values.tolist() == [3, 1]
    assert ds["seed"].values.tolist() == [0, 1]
    assert set(ds.data_vars) == {"y", "curve"}
    assert ds.attrs["n_tasks"] == 12 and ds.attrs["n_computed"] == 12 and ds.attrs["n_from_cache"] == 0
    assert_matches(ds, serial_reference(T.toy, grid, [0, 1]), grid)


def test_explicit_seeds_are_the_seed_coordinate():
    ds = sweep(T.toy, {"a": [1.0], "b": [0]}, seeds=[7, 3], processes=False)
    assert ds["seed"].values.tolist() == [7, 3]
    assert ds["y"].sel(a=1.0, b=0, seed=3).item() == T.toy(1.0, 0, seed=3)["y"]


def test_cache_rerun_computes_nothing(tmp_path):
    grid = {"a": [1.0, 2.0], "b": [0, 1, 2]}
    first = sweep(T.toy, grid, seeds=2, cache=tmp_path, processes=False)
    assert len(entries(tmp_path)) == 12
    again = sweep(T.toy, grid, seeds=2, cache=tmp_path, processes=False)
    assert again.attrs["n_computed"] == 0 and again.attrs["n_from_cache"] == 12
    assert again.drop_attrs().identical(first.drop_attrs())
    # a larger grid reuses the 12 entries and computes only the new ones
    bigger = sweep(T.toy, {"a": [1.0, 2.0, 3.0], "b": [0, 1, 2]}, seeds=2, cache=tmp_path, processes=False)
    assert bigger.attrs["n_from_cache"] == 12 and bigger.attrs["n_computed"] == 6


def test_key_depends_on_function_version_params_and_seed():
    k = task_key("m:f", "1", {"a": 1.0}, 0)
    assert k != task_key("m:g", "1", {"a": 1.0}, 0)
    assert k != task_key("m:f", "2", {"a": 1.0}, 0)
    assert k != task_key("m:f", "1", {"a": 2.0}, 0)
    assert k != task_key("m:f", "1", {"a": 1}, 0)  # int and float are different points
    assert k != task_key("m:f", "1", {"a": 1.0}, 1)
    assert k == task_key("m:f", "1", {"a": np.float64(1.0)}, 0)


def test_raising_point_names_its_parameters(tmp_path):
    with pytest.raises(SweepError, match=r"fail_at\(a=2\.0, bad=2\.0, seed=0\).*ValueError") as info:
        sweep(T.fail_at, {"a": [1.0, 2.0, 3.0], "bad": [2.0]}, cache=tmp_path, processes=False)
    assert info.value.point == {"a": 2.0, "bad": 2.0} and info.value.seed == 0
    assert len(entries(tmp_path)) == 1  # the point before the failure is kept


@pytest.mark.parametrize("grid, err", [
    ({"seed": [1]}, ValueError),
    ({"a": []}, ValueError),
    ({"a": [1.0, 1.0]}, ValueError),
    ({"a": [float("nan")]}, ValueError),
    ({"a": 1.0}, TypeError),
    ({"a": "abc"}, TypeError),
    ({"1a": [1]}, ValueError),
    ({"a": [[1, 2]]}, TypeError),
    ([("a", [1])], TypeError),
])
def test_invalid_grids(grid, err):
    with pytest.raises(err):
        sweep(T.noop, grid, processes=False)


@pytest.mark.parametrize("kw, err", [
    (dict(seeds=0), ValueError),
    (dict(seeds=[1, 1]), ValueError),
    (dict(seeds=[-1]), ValueError),
    (dict(seeds=True), TypeError),
    (dict(seeds=1.5), TypeError),
    (dict(processes="yes"), TypeError),
    (dict(processes=False, scheduler="tcp://127.0.0.1:1"), ValueError),
])
def test_invalid_arguments(kw, err):
    with pytest.raises(err):
        sweep(T.noop, {"i": [1]}, **kw)


def test_grid_names_must_match_the_signature():
    with pytest.raises(TypeError, match="noop"):
        sweep(T.noop, {"j": [1]}, processes=False)
    with pytest.raises(TypeError, match="noop"):
        sweep(T.noop, {}, processes=False)


def test_unimportable_functions_are_refused():
    with pytest.raises(TypeError, match="importable"):
        sweep(lambda i, seed: {"y": i}, {"i": [1]}, processes=False)

    def inner(i, seed):
        return {"y": i}

    with pytest.raises(TypeError, match="importable"):
        sweep(inner, {"i": [1]}, processes=False)


@given(
    values=st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=1, max_size=4, unique=True),
    bs=st.lists(st.integers(-5, 5), min_size=1, max_size=3, unique=True),
    n_seeds=st.integers(1, 3),
)
def test_property_serial_sweep_equals_loop(values, bs, n_seeds):
    grid = {"a": values, "b": bs}
    ds = sweep(T.toy, grid, seeds=n_seeds, processes=False)
    assert ds["y"].shape == (len(values), len(bs), n_seeds)
    assert np.isfinite(ds["y"].values).all()
    assert_matches(ds, serial_reference(T.toy, grid, range(n_seeds)), grid)


@given(bad=st.one_of(st.just({"x": []}), st.dictionaries(st.just("seed"), st.lists(st.integers(), min_size=1), min_size=1),
                     st.builds(lambda v: {"x": [v, v]}, st.integers())))
def test_property_invalid_grids_raise(bad):
    with pytest.raises((ValueError, TypeError)):
        sweep(T.noop, bad, processes=False)


# ---------------------------------------------------------------------------
# Reliability on a 2-worker LocalCluster
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("distributed")
    from idealnets.sweeps import local_cluster

    with local_cluster(2) as c:
        yield c


def test_distributed_equals_serial_bit_for_bit(cluster, tmp_path):
    grid = {"a": [0.1, 1.7, -3.3], "b": [0, 5]}
    serial = sweep(T.toy, grid, seeds=3, processes=False)
    dist = sweep(T.toy, grid, seeds=3, scheduler=cluster.scheduler_address, cache=tmp_path)
    assert "existing scheduler" in dist.attrs["scheduler"]
    assert dist.drop_attrs().identical(serial.drop_attrs())
    # the scheduler given by address is not shut down: it still runs work
    from distributed import Client

    with Client(cluster.scheduler_address) as c:
        assert c.submit(sum, [1, 2]).result() == 3
        assert len(c.scheduler_info()["workers"]) == 2


def test_default_local_cluster_equals_serial(tmp_path, monkeypatch):
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    grid = {"a": [0.3, 0.7], "b": [1]}
    ds = sweep(T.toy, grid, seeds=2)
    assert ds.attrs["scheduler"].startswith("LocalCluster")
    assert ds.drop_attrs().identical(sweep(T.toy, grid, seeds=2, processes=False).drop_attrs())


def test_scheduler_from_environment(cluster, monkeypatch):
    monkeypatch.setenv(SCHEDULER_ENV, cluster.scheduler_address)
    ds = sweep(T.noop, {"i": [1, 2]})
    assert cluster.scheduler_address in ds.attrs["scheduler"]


def test_raising_point_on_cluster_names_it(cluster):
    with pytest.raises(SweepError, match=r"a=2\.0") as info:
        sweep(T.fail_at, {"a": [1.0, 2.0, 3.0]}, scheduler=cluster.scheduler_address)
    assert info.value.point == {"a": 2.0}


def test_killed_worker_loses_and_duplicates_nothing(cluster, tmp_path):
    marker = str(tmp_path / "killed")
    grid = {"a": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "marker": [marker]}
    ds = sweep(T.die_once, grid, seeds=2, scheduler=cluster.scheduler_address, cache=tmp_path / "cache")
    assert Path(marker).exists(), "the worker was not killed: the test did not test anything"
    calls = Path(marker + ".calls").read_text().split("\n")[:-1]
    killed_pid = Path(marker).read_text()
    assert any(c.endswith(killed_pid) for c in calls)
    assert len(calls) >= 13  # 12 tasks + the one that died (+ any lost with the dead worker)
    # every (point, seed) present once, with the serial value, one cache entry each
    assert ds.attrs["n_computed"] == 12
    assert len(entries(tmp_path / "cache")) == 12
    for a in grid["a"]:
        for s in (0, 1):
            assert ds["y"].sel(a=a, marker=marker, seed=s).item() == a * (s + 1.0)
            assert np.array_equal(ds["pid_independent"].sel(a=a, marker=marker, seed=s).values, np.arange(3) * a)
    # the cluster healed: both workers are back
    from distributed import Client

    with Client(cluster.scheduler_address) as c:
        c.wait_for_workers(2, timeout=30)


def test_interrupted_sweep_resumes(cluster, tmp_path):
    cache = tmp_path / "cache"
    grid = {"a": [float(i) for i in range(16)]}
    code = ("import sys; from idealnets.sweeps import sweep; from idealnets.sweeps._testing import sleepy; "
            f"sweep(sleepy, {grid!r}, seeds=1, cache={str(cache)!r}, processes=False)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        t0 = time.monotonic()
        while len(entries(cache)) < 3 if cache.exists() else True:
            if proc.poll() is not None or time.monotonic() - t0 > SUBPROCESS_WAIT_S:
                pytest.fail("the sweep subprocess ended or stalled before it could be interrupted")
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)  # the hardest interruption: no cleanup at all
    finally:
        proc.wait()
    done = len(entries(cache))
    assert 3 <= done < 16, done
    ds = sweep(T.sleepy, grid, cache=cache, scheduler=cluster.scheduler_address)
    assert ds.attrs["n_from_cache"] == done and ds.attrs["n_computed"] == 16 - done
    assert ds.attrs["n_damaged"] == 0
    assert np.array_equal(ds["y"].sel(seed=0).values, np.arange(16.0))
    assert len(entries(cache)) == 16


def test_corrupted_cache_entry_is_recomputed(cluster, tmp_path):
    grid = {"a": [0.5, 1.5, 2.5], "b": [2]}
    first = sweep(T.toy, grid, seeds=2, cache=tmp_path, scheduler=cluster.scheduler_address)
    files = entries(tmp_path)
    # 1: a flipped bit in the payload; 2: a truncated file; 3: a valid-looking payload with a wrong number
    data = bytearray(files[0].read_bytes())
    data[-20] ^= 0x01
    files[0].write_bytes(bytes(data))
    files[1].write_bytes(files[1].read_bytes()[:100])
    raw = files[2].read_bytes()
    import hashlib

    head = raw.index(b"\n", raw.index(b"\n") + 1) + 1
    body = raw[head:]
    forged = raw[:head] + body.replace(b"r_y", b"r_z", 1)  # edit the payload, keep the old checksum
    files[2].write_bytes(forged)
    assert hashlib.sha256(forged[head:]).hexdigest().encode() not in forged[:head]
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        again = sweep(T.toy, grid, seeds=2, cache=tmp_path, scheduler=cluster.scheduler_address)
    assert sum(issubclass(x.category, SweepCacheWarning) for x in w) == 3
    assert again.attrs["n_damaged"] == 3 and again.attrs["n_computed"] == 3 and again.attrs["n_from_cache"] == 3
    assert again.drop_attrs().identical(first.drop_attrs())
    # the recomputed entries are valid again
    third = sweep(T.toy, grid, seeds=2, cache=tmp_path, processes=False)
    assert third.attrs["n_from_cache"] == 6 and third.attrs["n_damaged"] == 0


def test_lower_layers_do_not_import_the_runner():
    """sweeps is a layer above theory and simulate: neither names sweeps, dask, distributed or xarray in an import."""
    import re

    pat = re.compile(r"^\s*(from|import)\s+((idealnets\.)?sweeps|dask|distributed|xarray)\b", re.M)
    bad = [str(p) for pkg in ("theory", "simulate") for p in (ROOT / pkg).glob("*.py") if pat.search(p.read_text())]
    assert not bad, bad


@pytest.mark.slow
def test_phase_cli_runs_and_resumes_from_cache(tmp_path, monkeypatch):
    """The phase-diagram command (quick size, in process) writes its figure; a rerun reads every point from cache."""
    import json

    from idealnets.figures.phase.__main__ import main

    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    args = ["phase_deep_linear", "--size", "quick", "--serial", "--cache", str(tmp_path / "c"), "--out", str(tmp_path)]
    assert main(args) == 0
    first = json.loads((tmp_path / "phase_deep_linear.json").read_text())
    assert int(first["params"]["sweep_attrs"]["theory"]["n_computed"]) > 0
    assert main(args) == 0
    again = json.loads((tmp_path / "phase_deep_linear.json").read_text())
    for part in ("theory", "sim"):
        assert int(again["params"]["sweep_attrs"][part]["n_computed"]) == 0
    assert again["agreement"] == first["agreement"]
