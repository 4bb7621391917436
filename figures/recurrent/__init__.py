"""Linear and tanh recurrent networks trained by backpropagation through time.

One module per figure; :mod:`idealnets.figures` finds them (``python -m idealnets.figures --list``).
"""
