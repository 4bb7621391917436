"""Soft committee machines in the online teacher-student setting (Saad & Solla 1995; Goldt et al.
2019).

One module per figure; :mod:`idealnets.figures` finds them (``python -m idealnets.figures --list``).
"""
