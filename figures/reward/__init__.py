"""Learning from reward: TD learning with linear features, the conditioning trial, and the RL perceptron
(Sutton 1988; Montague, Dayan & Sejnowski 1996; Patel, Lee, Sarao Mannelli, Goldt & Saxe 2025).

One module per figure; :mod:`idealnets.figures` finds them (``python -m idealnets.figures --list``).
"""
