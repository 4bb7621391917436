"""The lessons' shared check helpers (idealnets.teaching): a wrong answer names the exercise,
says what was expected and what was given, and hints; a right one says so."""
from __future__ import annotations

import numpy as np
import pytest

from idealnets.teaching import ExerciseError, check, choose, reveal


def test_check_passes_and_says_so(capsys):
    check("1a", "singular values", [3.0, 2.0, 1.0], np.array([3.0, 2.0, 1.0 + 1e-9]))
    out = capsys.readouterr().out
    assert out.startswith("Exercise 1a (singular values): correct (matches the package")


def test_wrong_value_names_exercise_index_and_values():
    with pytest.raises(ExerciseError) as e:
        check("1b", "mode strengths", [3.0, 2.0, 1.5], [3.0, 2.0, 1.0], hint="use u = s / (...)")
    msg = str(e.value)
    assert "Exercise 1b (mode strengths) does not match" in msg
    assert "1 of 3 entries" in msg and "index 2" in msg and "got 1.5" in msg and "expected 1" in msg
    assert "Hint: use u = s / (...)" in msg


def test_svd_triple_instead_of_values_is_named_not_numpy_jargon():
    S = np.diag([3.0, 2.0, 1.0])
    with pytest.raises(ExerciseError) as e:
        check("1a", "singular values", np.linalg.svd(S), [3.0, 2.0, 1.0])
    msg = str(e.value)
    assert "expected an array of shape (3,)" in msg and "3 items" in msg
    assert "inhomogeneous" not in msg


def test_wrong_shape_and_transposed_answer():
    with pytest.raises(ExerciseError, match=r"expected an array of shape \(2, 3\); got shape \(3, 2\)"
                       r"\. It has the right number of entries"):
        check("2", "map", np.ones((3, 2)), np.ones((2, 3)))
    with pytest.raises(ExerciseError, match="expected a single number; got shape"):
        check("2", "loss", [1.0, 2.0], 1.0)


@pytest.mark.parametrize("bad", [None, ..., NotImplemented])
def test_missing_answer(bad):
    with pytest.raises(ExerciseError, match="Exercise 3"):
        check("3", "x", bad, 1.0)


def test_nan_answer_is_refused_even_where_close():
    with pytest.raises(ExerciseError, match="NaN or infinite"):
        check("4", "x", [1.0, np.nan], [1.0, 2.0])


def test_exercise_error_renders_without_traceback_in_ipython():
    err = ExerciseError("Exercise 1 (x): wrong")
    assert err._render_traceback_() == ["ExerciseError: Exercise 1 (x): wrong"]
    assert isinstance(err, AssertionError)


def test_reveal_compares_and_needs_a_prediction(capsys):
    assert reveal("5", "ratio", 2.0, 2.2) is True
    assert "you predicted 2; the simulation gives 2.2 (close" in capsys.readouterr().out
    assert reveal("5", "ratio", 10.0, 2.0) is False
    assert "off by a factor 5" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="write your prediction"):
        reveal("5", "ratio", None, 2.0)
    with pytest.raises(ExerciseError, match="one number"):
        reveal("5", "ratio", "big", 2.0)


def test_choose_explains_each_option(capsys):
    why = {"a": "No: the plateau is a saddle.", "b": "Yes: symmetric students."}
    choose("6", "(B)", correct="b", why=why)
    assert "Exercise 6 (interpretation): correct. (b) Yes" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="the plateau is a saddle"):
        choose("6", "a", correct="b", why=why)
    with pytest.raises(ExerciseError, match="not one of the options"):
        choose("6", "z", correct="b", why=why)


def test_interactive_falls_back_to_the_static_grid_outside_a_notebook(monkeypatch):
    from idealnets.teaching import interactive

    calls = []
    monkeypatch.setenv("IDEALNETS_STATIC", "1")
    interactive(lambda lr, ax=None: calls.append(("live", lr)), lambda: calls.append("static"),
                lr=dict(value=1.0, min=0.1, max=2.0, step=0.1, description="lr"))
    assert calls == ["static"]
