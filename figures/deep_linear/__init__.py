"""Deep linear networks: mode-by-mode learning, weights, and the effect of depth (Saxe, McClelland &
Ganguli 2014).

One module per figure; :mod:`idealnets.figures` finds them (``python -m idealnets.figures --list``).
"""
