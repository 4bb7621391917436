"""Semantic development in deep linear networks: hierarchy, modes, illusory correlations, MDS and RSA
(Saxe, McClelland & Ganguli 2019).

One module per figure; :mod:`idealnets.figures` finds them (``python -m idealnets.figures --list``).
"""
