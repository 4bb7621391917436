"""Every lesson in tutorials/ builds into a student and an instructor notebook, and the
instructor notebook runs top to bottom (its check cells compare the solutions with the
package's theory, so a change in the package that breaks a lesson fails here).

The student notebook must differ from the instructor notebook only in the cells tagged
``exercise``, where the solution is replaced by a stub. Execution uses nbclient with a
python3 kernel (ipykernel), from the tutorials/ folder, as a student would run it.
"""
from __future__ import annotations

import importlib.util
import json
import os
import resource
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
TUTORIALS = ROOT / "tutorials"
_spec = importlib.util.spec_from_file_location("tutorials_build", TUTORIALS / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)

LESSONS = build.lessons(TUTORIALS)
# A lesson must run well under the 90 s on a 2-core CPU; this timeout (per cell) only
# stops a hung kernel. Measured times are in the README's Teaching section.
CELL_TIMEOUT_S = 300


# Every topic of the package has a lesson (issue: teaching every topic); numbered without gaps.
TOPICS = {"01": "deep_linear", "02": "semantic", "03": "generalization", "04": "committee",
          "05": "infinite_width", "06": "learning_rules", "07": "continual", "08": "recurrent",
          "09": "random_features"}


def test_lessons_exist():
    numbers = [p.stem[:2] for p in LESSONS]
    assert numbers == [f"{k:02d}" for k in range(1, len(LESSONS) + 1)], LESSONS
    for number, topic in TOPICS.items():
        assert any(p.stem.startswith(number) and topic in p.stem for p in LESSONS), (number, topic)


KERNEL = "idealnets-test"


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    """A kernelspec running this interpreter (the venv), first on JUPYTER_PATH, so that no
    other "python3" kernel installed for the user or the system is picked up instead."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    spec.joinpath("kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "idealnets tests", "language": "python"}))
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join([str(root)] + ([old] if old else []))
    yield KERNEL
    if old is None:
        os.environ.pop("JUPYTER_PATH", None)
    else:
        os.environ["JUPYTER_PATH"] = old


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("notebooks")
    return {src.stem: build.build(src, out) for src in LESSONS}


@pytest.mark.parametrize("lesson", [p.stem for p in LESSONS])
def test_student_differs_only_in_exercise_cells(built, lesson):
    teacher_path, student_path = built[lesson]
    teacher, student = nbformat.read(teacher_path, 4), nbformat.read(student_path, 4)
    assert len(teacher.cells) == len(student.cells)
    n_ex = 0
    for t, s in zip(teacher.cells, student.cells):
        assert t.cell_type == s.cell_type and t.metadata == s.metadata
        assert build.BEGIN not in t.source and build.END not in t.source
        if "exercise" in t.metadata.get("tags", []):
            n_ex += 1
            assert t.source != s.source
            assert build.STUB in s.source and "NotImplementedError" in s.source
            # every solution line is gone from the student's cell (the lines around it stay)
            t_only = set(t.source.splitlines()) - set(s.source.splitlines())
            assert t_only and not any(line in s.source.splitlines() for line in t_only)
        else:
            assert t.source == s.source
    assert n_ex >= 2, "a lesson needs exercises"


def test_solution_markers_are_checked(tmp_path):
    bad = tmp_path / "01_bad.py"
    bad.write_text('# %% tags=["exercise"]\n# BEGIN SOLUTION\nx = 1\n')
    with pytest.raises(ValueError, match="without"):
        build.build(bad, tmp_path)
    bad.write_text("# %%\n# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n")
    with pytest.raises(ValueError, match="outside a cell tagged"):
        build.build(bad, tmp_path)


@pytest.mark.parametrize("lesson", [p.stem for p in LESSONS])
def test_instructor_notebook_runs(built, kernel, lesson):
    nb = nbformat.read(built[lesson][0], 4)
    t0, ru0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    env_static = os.environ.pop("IDEALNETS_STATIC", None)   # the test runs the widget path
    try:
        NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name=kernel,
                       resources={"metadata": {"path": str(TUTORIALS)}}).execute()
    finally:
        if env_static is not None:
            os.environ["IDEALNETS_STATIC"] = env_static
    elapsed = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)         # the kernel, once shut down and reaped
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    n_checks = sum("exercise" in c.metadata.get("tags", []) for c in nb.cells)
    # every exercise is followed by a check (idealnets.teaching: check/choose print ": correct",
    # reveal prints ": you predicted" beside the measurement)
    assert outputs.count(": correct") + outputs.count(": you predicted") >= n_checks, \
        "a check cell did not pass"
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert images >= 1, "the trained ensemble against the theory line must be plotted"
    print(f"{lesson}: {elapsed:.1f} s wall, {cpu:.1f} s CPU (kernel)")
