"""Structured inputs and replay: many-task teacher-student continual learning with switching
schedules and replay (theory.continual.many_teachers), and committee machines on hidden-manifold
inputs (theory.hidden_manifold).

One module per figure; :mod:`idealnets.figures` finds them (``python -m idealnets.figures --list``).
"""
