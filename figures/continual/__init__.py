"""Continual learning: curricula, gating, task similarity, schemas and forgetting in teacher-student
settings (Lee, Goldt & Saxe 2021; Saxe, Sodhani & Lewallen 2022).

One module per figure; :mod:`idealnets.figures` finds them (``python -m idealnets.figures --list``).
"""
