"""Lambda-balanced two-layer linear networks: exact trajectories, lazy and rich regimes, transfer
(Braun et al. 2022; Kunin et al. 2024).

One module per figure; :mod:`idealnets.figures` finds them (``python -m idealnets.figures --list``).
"""
