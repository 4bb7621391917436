"""Load a module of ``idealnets.simulate`` as it was at an earlier commit, to measure old and new side by side.

``load("simulate/committee.py", rev)`` reads the file from git at ``rev`` and imports it as
``idealnets.simulate._baseline_committee`` (its relative imports resolve against today's
``idealnets.simulate``, whose shared helpers kept their names). Used by the benchmarks that
compare the trainers before and after they moved onto the one training engine.
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: the last commit before the trainers moved onto simulate/engine.py
PRE_ENGINE = "2eecb06"


def load(path: str, rev: str = PRE_ENGINE):
    src = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{path}"], check=True, capture_output=True,
                         text=True).stdout
    name = f"idealnets.simulate._baseline_{Path(path).stem}"
    tmp = Path(tempfile.mkdtemp()) / f"{Path(path).stem}.py"
    tmp.write_text(src)
    spec = importlib.util.spec_from_file_location(name, tmp)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod
