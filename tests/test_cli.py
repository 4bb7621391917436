"""Command lines fail in one line on stderr with exit status 2, before any work (issue 27)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

PHASE = [sys.executable, "-m", "idealnets.figures.phase"]


def _run(args, env=None, timeout=60):
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=full_env)


def _one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


# Subprocesses (~2-4 s each on a loaded machine): two representative cases, end to end.
@pytest.mark.parametrize("case", ["out_is_file", "bad_scheduler"])
def test_phase_cli_fails_in_one_line_before_work(case, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    out = tmp_path / "out"
    args = {"out_is_file": ["--out", str(afile)],
            "bad_scheduler": ["--scheduler", "not-an-address", "--out", str(out)]}[case]
    option = args[0]
    r = _run(PHASE + ["phase_linear", "--size", "quick", *args])
    assert r.returncode == 2, r.stderr
    line = _one_line(r.stderr)
    assert option in line and "python -m idealnets.figures.phase: error:" in line
    assert not out.exists()  # nothing computed, nothing written
    assert r.stdout == ""


# In process (fast): the remaining cases, with the figure's build replaced by a tripwire.
@pytest.fixture
def tripwire(monkeypatch):
    import idealnets.figures.phase.phase_linear as fig

    def build(**kw):
        raise AssertionError("work was started")

    monkeypatch.setattr(fig, "build", build)
    monkeypatch.delenv("IDEALNETS_SCHEDULER", raising=False)


@pytest.mark.parametrize("args,option", [
    (["nonexistent_figure"], "name"),
    (["phase_linear", "--size", "huge"], "--size"),
    (["phase_linear", "--seed", "x"], "--seed"),
    (["phase_linear", "--seed", "-3"], "--seed"),
    (["phase_linear", "--out", "/proc/not-here/out"], "--out"),
    (["phase_linear", "--cache", "FILE"], "--cache"),
    (["phase_linear", "--cache", "/proc/not-here/cache"], "--cache"),
    (["phase_linear", "--scheduler", "tcp://host:notaport"], "--scheduler"),
    (["phase_linear", "--scheduler", "tcp://"], "--scheduler"),
    (["phase_linear", "--scheduler", "foo://host:8786"], "--scheduler"),
    (["phase_linear", "--serial", "--scheduler", "tcp://10.0.0.5:8786"], "--scheduler"),
])
def test_phase_cli_refuses_in_process(args, option, tripwire, tmp_path, capsys):
    from idealnets.figures.phase.__main__ import main

    afile = tmp_path / "afile"
    afile.write_text("x")
    args = [str(afile) if a == "FILE" else a for a in args]
    if "--out" not in args:
        args = args + ["--out", str(tmp_path / "out")]
    try:
        rc = main(args)
    except SystemExit as e:  # argparse's own errors exit from parse_args
        rc = e.code
    assert rc == 2
    line = _one_line(capsys.readouterr().err)
    assert option in line
    assert not (tmp_path / "out").exists()


def test_phase_cli_checks_scheduler_from_environment(tripwire, tmp_path, capsys, monkeypatch):
    from idealnets.figures.phase.__main__ import main

    monkeypatch.setenv("IDEALNETS_SCHEDULER", "nonsense")
    assert main(["phase_linear", "--out", str(tmp_path / "out")]) == 2
    assert "$IDEALNETS_SCHEDULER" in _one_line(capsys.readouterr().err)


def test_bad_threads_env_warns_at_import_instead_of_failing():
    # one subprocess: import with 'abc', then re-run the import-time call with '0' and '-3'
    code = ("import importlib, os, torch, idealnets.simulate._common as c\n"
            "for v in ('0', '-3'):\n"
            "    os.environ['IDEALNETS_THREADS'] = v\n"
            "    importlib.reload(c)\n"
            "print(torch.get_num_threads())\n")
    r = _run([sys.executable, "-W", "default", "-c", code], env={"IDEALNETS_THREADS": "abc"})
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    warnings = [ln for ln in r.stderr.splitlines() if ": RuntimeWarning: " in ln]
    assert len(warnings) == 3, r.stderr
    for line, value in zip(warnings, ("abc", "0", "-3")):
        assert "IDEALNETS_THREADS" in line and repr(value) in line and "integer >= 1" in line
    assert int(r.stdout) >= 1


@pytest.mark.parametrize("value", ["abc", "0", "-3"])
def test_bad_threads_env_still_raises_on_explicit_call(value, monkeypatch):
    import torch

    from idealnets.simulate import configure_threads

    before = torch.get_num_threads()
    monkeypatch.setenv("IDEALNETS_THREADS", value)
    try:
        with pytest.raises(ValueError, match="IDEALNETS_THREADS"):
            configure_threads()
        for n in (0, -3):
            with pytest.raises(ValueError, match="n"):
                configure_threads(n)
        with pytest.raises((TypeError, ValueError)):
            configure_threads("abc")
    finally:
        torch.set_num_threads(before)
