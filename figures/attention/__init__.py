"""Attention and in-context learning: multi-head linear attention trained on in-context linear
regression (Zhang, Singh, Latham & Saxe 2025), merged and separate key-query.

One module per figure; :mod:`idealnets.figures` finds them (``python -m idealnets.figures --list``).
"""
