"""Build the student and instructor notebooks from the jupytext lesson sources.

Each lesson ``tutorials/NN_topic.py`` is a jupytext percent-format script (cells
start with ``# %%``). Exercise cells carry the tag ``exercise``
(``# %% tags=["exercise"]``); inside them the lines between ``# BEGIN SOLUTION``
and ``# END SOLUTION`` are the solution. From the one source this writes

* ``tutorials/build/instructor/NN_topic.ipynb``: the solutions in place (markers
  removed), every other cell as written;
* ``tutorials/build/student/NN_topic.ipynb``: the same notebook, except that in
  each exercise cell the solution is replaced by ``# YOUR CODE HERE`` and a
  ``raise NotImplementedError``, so the check cell that follows fails until the
  student has written the answer.

Usage: ``python tutorials/build.py [--out DIR]`` (``make tutorials``).
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import jupytext
import nbformat

HERE = Path(__file__).resolve().parent
OUT = HERE / "build"
BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
EXERCISE_TAG = "exercise"
STUB = "# YOUR CODE HERE"


def lessons(folder: Path = HERE) -> list[Path]:
    """The lesson sources, in order (``NN_*.py``)."""
    return sorted(p for p in folder.glob("[0-9][0-9]_*.py"))


def _split(source: str, where: str) -> list[tuple[str, list[str]]]:
    """Split a cell into ('code', lines) and ('solution', lines) blocks; check the markers pair up."""
    blocks: list[tuple[str, list[str]]] = [("code", [])]
    for ln in source.splitlines():
        s = ln.strip()
        if s == BEGIN:
            if blocks[-1][0] == "solution":
                raise ValueError(f"{where}: nested {BEGIN}")
            blocks.append(("solution", [ln]))
        elif s == END:
            if blocks[-1][0] != "solution":
                raise ValueError(f"{where}: {END} without {BEGIN}")
            blocks[-1][1].append(ln)
            blocks.append(("code", []))
        else:
            blocks[-1][1].append(ln)
    if blocks[-1][0] == "solution":
        raise ValueError(f"{where}: {BEGIN} without {END}")
    return blocks


def instructor_source(source: str, where: str = "cell") -> str:
    """The cell with its solution markers removed."""
    out = []
    for kind, lines in _split(source, where):
        out += [ln for ln in lines if ln.strip() not in (BEGIN, END)] if kind == "solution" else lines
    return "\n".join(out)


def student_source(source: str, where: str = "cell") -> str:
    """The cell with each solution replaced by a stub at the solution's indentation."""
    out = []
    blocks = _split(source, where)
    if not any(kind == "solution" for kind, _ in blocks):
        raise ValueError(f"{where}: an exercise cell needs a {BEGIN} ... {END} block")
    for kind, lines in blocks:
        if kind == "solution":
            indent = re.match(r"\s*", lines[0]).group(0)
            out += [f"{indent}{STUB}", f"{indent}raise NotImplementedError(\"exercise: write your answer here\")"]
        else:
            out += lines
    return "\n".join(out)


def build(src: Path, out: Path = OUT) -> tuple[Path, Path]:
    """Write the instructor and student notebooks of one lesson; return their paths."""
    nb = jupytext.read(src)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata.pop("jupytext", None)
    teacher = nbformat.v4.new_notebook(metadata=dict(nb.metadata))
    student = nbformat.v4.new_notebook(metadata=dict(nb.metadata))
    n_ex = 0
    for i, cell in enumerate(nb.cells):
        where = f"{src.name} cell {i}"
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.cell_type == "code" and EXERCISE_TAG in tags:
            n_ex += 1
            t_src, s_src = instructor_source(cell.source, where), student_source(cell.source, where)
        else:
            if BEGIN in cell.source or END in cell.source:
                raise ValueError(f"{where}: solution markers outside a cell tagged {EXERCISE_TAG!r}")
            t_src = s_src = cell.source
        for book, text in ((teacher, t_src), (student, s_src)):
            new = (nbformat.v4.new_code_cell if cell.cell_type == "code" else nbformat.v4.new_markdown_cell)(text)
            new.metadata = dict(cell.get("metadata", {}))
            new.id = f"c{i:03d}"
            book.cells.append(new)
    if n_ex == 0:
        raise ValueError(f"{src.name}: a lesson needs at least one cell tagged {EXERCISE_TAG!r}")
    paths = []
    for kind, book in (("instructor", teacher), ("student", student)):
        p = out / kind / f"{src.stem}.ipynb"
        p.parent.mkdir(parents=True, exist_ok=True)
        nbformat.validate(book)
        nbformat.write(book, p)
        paths.append(p)
    return paths[0], paths[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(OUT), help="output folder (instructor/ and student/ inside)")
    a = p.parse_args(argv)
    for src in lessons():
        t, s = build(src, Path(a.out))
        print(f"{src.name}: {t.relative_to(HERE.parent) if t.is_relative_to(HERE.parent) else t}, "
              f"{s.relative_to(HERE.parent) if s.is_relative_to(HERE.parent) else s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
